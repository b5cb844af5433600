//! Field units on the map (R20): where every unit is (AVL from its terminal), how far from its
//! post, its track for replay, the roster's posts and routes with their geometry, report
//! photos, and the printable reference on how an incident was handled.

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use server_kit::clock::now_ms;
use server_kit::web::{ApiError, ApiErrorBody, ApiResult, Auth};
use sync::field::{CardPatrolReport, UnitPosition};
use sync::reference::PatrolPost;
use sync::{Card, Role, UnitKind, UnitStatus};
use utoipa::ToSchema;

use super::state::SharedState;

/// Who sees units on the map: the ГУСС dispatcher, the duty unit and the shift supervisor.
const MAP_ROLES: &[Role] = &[Role::Dispatcher, Role::DutyOfficer, Role::Supervisor];

#[derive(Serialize, ToSchema)]
pub struct UnitPost {
    pub code: String,
    /// Distance from the unit's latest position to its post or route, metres.
    pub distance_m: Option<f64>,
    /// Farther than the post's radius.
    pub off_post: bool,
}

#[derive(Serialize, ToSchema)]
pub struct MapUnit {
    pub unit_id: String,
    pub call_sign: String,
    pub kind: UnitKind,
    pub status: UnitStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card_id: Option<String>,
    /// The latest position its terminal reported; absent when none has.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<UnitPosition>,
    /// Its post of the current shift (R20), if the roster gives it one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub post: Option<UnitPost>,
}

#[utoipa::path(get, path = "/api/v1/map/units", tag = "field",
    responses((status = 200, body = [MapUnit])))]
async fn map_units(State(s): State<SharedState>, auth: Auth) -> ApiResult<Json<Vec<MapUnit>>> {
    auth.require(MAP_ROLES)?;
    let now = now_ms();
    let reference = s.service.reference();
    let (date, shift) = reference.shift_at(now);
    let roster = s.service.roster(&date)?;
    let latest = s.service.field().latest_positions();
    let units = s.service.units(now)?;
    Ok(Json(
        units
            .into_iter()
            .map(|u| {
                let position = latest.get(&u.id).copied();
                let post = roster
                    .iter()
                    .find(|e| e.unit_id == u.id && e.shift == shift)
                    .and_then(|e| reference.posts.iter().find(|p| p.is_named(&e.post)))
                    .map(|p| {
                        let distance_m = position.and_then(|q| p.distance_m(q.lat, q.lon));
                        UnitPost {
                            code: p.code.clone(),
                            distance_m,
                            off_post: distance_m.is_some_and(|d| d > p.radius_m),
                        }
                    });
                MapUnit {
                    unit_id: u.id,
                    call_sign: u.call_sign,
                    kind: u.kind,
                    status: u.status,
                    card_id: u.card_id,
                    position,
                    post,
                }
            })
            .collect(),
    ))
}

/// A post or route of the roster with its geometry (the reference's `PatrolPost`) and the units
/// holding it in the current shift.
#[derive(Serialize, ToSchema)]
pub struct MapPost {
    pub code: String,
    pub name_kk: String,
    pub name_ru: String,
    /// `[lat, lon]` of a fixed post.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub point: Option<[f64; 2]>,
    /// The route's polyline, `[lat, lon]` each.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub route: Vec<[f64; 2]>,
    /// A unit farther than this is off post, metres.
    pub radius_m: f64,
    /// Units holding it in the current shift.
    pub units: Vec<String>,
}

impl MapPost {
    fn of(p: &PatrolPost, units: Vec<String>) -> MapPost {
        MapPost {
            code: p.code.clone(),
            name_kk: p.name_kk.clone(),
            name_ru: p.name_ru.clone(),
            point: p.point,
            route: p.route.clone(),
            radius_m: p.radius_m,
            units,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/map/posts", tag = "field",
    responses((status = 200, body = [MapPost])))]
async fn map_posts(State(s): State<SharedState>, auth: Auth) -> ApiResult<Json<Vec<MapPost>>> {
    auth.require(MAP_ROLES)?;
    let reference = s.service.reference();
    let (date, shift) = reference.shift_at(now_ms());
    let roster = s.service.roster(&date)?;
    Ok(Json(
        reference
            .posts
            .iter()
            .map(|p| {
                let units = roster
                    .iter()
                    .filter(|e| e.shift == shift && p.is_named(&e.post))
                    .map(|e| e.unit_id.clone())
                    .collect();
                MapPost::of(p, units)
            })
            .collect(),
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TrackQuery {
    /// From, ms since the epoch.
    from_ms: i64,
    /// To, ms since the epoch (at most 31 days after `from_ms`).
    to_ms: i64,
}

#[utoipa::path(get, path = "/api/v1/units/{id}/track", tag = "field", params(TrackQuery),
    responses((status = 200, body = [UnitPosition]), (status = 422, body = ApiErrorBody)))]
async fn unit_track(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
    Query(q): Query<TrackQuery>,
) -> ApiResult<Json<Vec<UnitPosition>>> {
    auth.require(MAP_ROLES)?;
    if !s.service.has_unit(&id) {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no unit {id}"),
        ));
    }
    Ok(Json(s.service.field().track(&id, q.from_ms, q.to_ms)?))
}

#[utoipa::path(get, path = "/api/v1/units/{id}/photos/{sha256}", tag = "field",
    responses((status = 200, content_type = "image/jpeg", body = [u8]), (status = 404, body = ApiErrorBody)))]
async fn unit_photo(
    State(s): State<SharedState>,
    auth: Auth,
    Path((id, sha)): Path<(String, String)>,
) -> ApiResult<Response> {
    auth.require(MAP_ROLES)?;
    if !s.service.has_unit(&id) {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no unit {id}"),
        ));
    }
    let bytes = s.service.field().photo(&id, &sha)?.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such photo (it may still be on its way from the terminal)",
        )
    })?;
    Ok(([(header::CONTENT_TYPE, "image/jpeg")], bytes).into_response())
}

#[derive(Serialize, ToSchema)]
pub struct ReferenceUnit {
    pub unit_id: String,
    pub call_sign: String,
    pub assigned_at: i64,
    pub assigned_by: String,
    pub en_route_at: Option<i64>,
    pub on_scene_at: Option<i64>,
    pub cleared_at: Option<i64>,
    /// From dispatch to arrival, seconds (R20: arrival control).
    pub arrival_s: Option<i64>,
}

/// The reference on how an incident was handled (R20): what the card says, every unit with its
/// times, the patrols' reports; the console prints it in Kazakh or Russian.
#[derive(Serialize, ToSchema)]
pub struct IncidentReference {
    pub card: Card,
    pub units: Vec<ReferenceUnit>,
    pub reports: Vec<CardPatrolReport>,
    pub region_name_kk: String,
    pub region_name_ru: String,
    pub generated_at: i64,
    pub generated_by: String,
}

#[utoipa::path(get, path = "/api/v1/cards/{id}/incident-reference", tag = "field",
    responses((status = 200, body = IncidentReference), (status = 404, body = ApiErrorBody)))]
async fn incident_reference(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<IncidentReference>> {
    auth.require(MAP_ROLES)?;
    let card = s.service.get_card(&id)?;
    let region = &s.service.reference().region;
    Ok(Json(IncidentReference {
        units: card
            .units
            .iter()
            .map(|u| ReferenceUnit {
                unit_id: u.unit_id.clone(),
                call_sign: u.call_sign.clone(),
                assigned_at: u.assigned_at,
                assigned_by: u.assigned_by.clone(),
                en_route_at: u.en_route_at,
                on_scene_at: u.on_scene_at,
                cleared_at: u.cleared_at,
                arrival_s: u.on_scene_at.map(|t| (t - u.assigned_at) / 1000),
            })
            .collect(),
        reports: card.patrol_reports.clone(),
        region_name_kk: region.name_kk.clone(),
        region_name_ru: region.name_ru.clone(),
        generated_at: now_ms(),
        generated_by: auth.user.login.clone(),
        card,
    }))
}

pub(super) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/map/units", get(map_units))
        .route("/map/posts", get(map_posts))
        .route("/units/{id}/track", get(unit_track))
        .route("/units/{id}/photos/{sha256}", get(unit_photo))
        .route("/cards/{id}/incident-reference", get(incident_reference))
}
