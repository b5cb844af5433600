//! Units: dispatch to a card (and ДСОГ), a unit's steps on a card, units' status, the post
//! roster (R20) and which unit a patrol account acts for.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use server_kit::clock::now_ms;
use server_kit::web::{ApiError, ApiErrorBody, ApiJson, ApiResult, Auth};
use sync::{Card, Role, RosterCreate, RosterEntry, Unit, UnitStep};
use utoipa::ToSchema;

use crate::accounts::User;
use crate::warnings::FoundWarning;

use super::state::{AppState, SharedState, STAFF};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnitRequest {
    unit_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct DispatchResponse {
    card: Card,
    /// Address warnings handed to the patrol (R08).
    warnings: Vec<FoundWarning>,
}

#[utoipa::path(post, path = "/api/v1/cards/{id}/dispatch", request_body = UnitRequest, responses((status = 200, body = DispatchResponse), (status = 409, body = ApiErrorBody)))]
async fn dispatch_unit(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<UnitRequest>,
) -> ApiResult<Json<DispatchResponse>> {
    auth.require(&[Role::Dispatcher])?;
    let (card, warnings) = s
        .service
        .dispatch(&auth.user.login, &id, &req.unit_id, false, now_ms())
        .await?;
    Ok(Json(DispatchResponse { card, warnings }))
}

#[utoipa::path(post, path = "/api/v1/cards/{id}/dsog", request_body = UnitRequest, responses((status = 200, body = DispatchResponse)))]
async fn dispatch_dsog(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<UnitRequest>,
) -> ApiResult<Json<DispatchResponse>> {
    auth.require(&[Role::Dispatcher, Role::DutyOfficer])?;
    let (card, warnings) = s
        .service
        .dispatch(&auth.user.login, &id, &req.unit_id, true, now_ms())
        .await?;
    Ok(Json(DispatchResponse { card, warnings }))
}

/// A patrol account acts only for its own unit (R20): the unit of its current roster shift, or
/// the one an admin or dispatcher bound it to. Dispatchers and supervisors act for any unit.
fn require_own_unit(s: &AppState, auth: &Auth, unit_id: &str) -> ApiResult<()> {
    if auth.user.has_role(Role::Dispatcher) || auth.user.has_role(Role::Supervisor) {
        return Ok(());
    }
    let own = patrol_unit(s, &auth.user)?;
    if own != unit_id {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "not_your_unit",
            format!("your account acts for unit {own} only"),
        ));
    }
    Ok(())
}

/// The unit a patrol account acts for now.
pub(super) fn patrol_unit(s: &AppState, user: &User) -> ApiResult<String> {
    s.service
        .unit_of_patrol(&user.login, user.unit_id.as_deref(), now_ms())?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::FORBIDDEN,
                "no_unit",
                "your account is on no roster entry of the current shift and bound to no unit; ask the dispatcher",
            )
        })
}

async fn unit_step_common(
    s: &AppState,
    auth: &Auth,
    id: &str,
    unit_id: &str,
    step: UnitStep,
) -> ApiResult<Json<Card>> {
    auth.require(&[Role::Dispatcher, Role::Patrol])?;
    require_own_unit(s, auth, unit_id)?;
    Ok(Json(
        s.service
            .unit_step(&auth.user.login, id, unit_id, step, now_ms())
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/cards/{id}/units/{unit_id}/en-route", responses((status = 200, body = Card)))]
async fn unit_en_route(
    State(s): State<SharedState>,
    auth: Auth,
    Path((id, unit_id)): Path<(String, String)>,
) -> ApiResult<Json<Card>> {
    unit_step_common(&s, &auth, &id, &unit_id, UnitStep::EnRoute).await
}

#[utoipa::path(post, path = "/api/v1/cards/{id}/units/{unit_id}/on-scene", responses((status = 200, body = Card)))]
async fn unit_on_scene(
    State(s): State<SharedState>,
    auth: Auth,
    Path((id, unit_id)): Path<(String, String)>,
) -> ApiResult<Json<Card>> {
    unit_step_common(&s, &auth, &id, &unit_id, UnitStep::OnScene).await
}

#[utoipa::path(post, path = "/api/v1/cards/{id}/units/{unit_id}/clear", responses((status = 200, body = Card)))]
async fn unit_clear(
    State(s): State<SharedState>,
    auth: Auth,
    Path((id, unit_id)): Path<(String, String)>,
) -> ApiResult<Json<Card>> {
    unit_step_common(&s, &auth, &id, &unit_id, UnitStep::Clear).await
}

#[utoipa::path(delete, path = "/api/v1/cards/{id}/units/{unit_id}", responses((status = 200, body = Card)))]
async fn unit_unassign(
    State(s): State<SharedState>,
    auth: Auth,
    Path((id, unit_id)): Path<(String, String)>,
) -> ApiResult<Json<Card>> {
    auth.require(&[Role::Dispatcher])?;
    Ok(Json(
        s.service
            .unassign(&auth.user.login, &id, &unit_id, now_ms())
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/units", responses((status = 200, body = [Unit])))]
async fn list_units(State(s): State<SharedState>, auth: Auth) -> ApiResult<Json<Vec<Unit>>> {
    auth.require(STAFF)?;
    Ok(Json(s.service.units(now_ms())?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnitStatusRequest {
    /// `available` (on duty) or `off_duty`.
    status: String,
}

#[utoipa::path(post, path = "/api/v1/units/{id}/status", request_body = UnitStatusRequest, responses((status = 200, body = Unit)))]
async fn set_unit_status(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<UnitStatusRequest>,
) -> ApiResult<Json<Unit>> {
    auth.require(&[Role::Dispatcher, Role::Supervisor, Role::Patrol])?;
    require_own_unit(&s, &auth, &id)?;
    let on_duty = match req.status.as_str() {
        "available" => true,
        "off_duty" => false,
        _ => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                "status must be 'available' or 'off_duty'; other statuses follow from dispatch",
            )
            .with_field(Some("status".into())))
        }
    };
    Ok(Json(
        s.service
            .set_unit_duty(&auth.user.login, &id, on_duty, now_ms())
            .await?,
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RosterQuery {
    /// `YYYY-MM-DD`
    date: String,
}

#[utoipa::path(get, path = "/api/v1/roster", params(RosterQuery), responses((status = 200, body = [RosterEntry])))]
async fn get_roster(
    State(s): State<SharedState>,
    auth: Auth,
    Query(q): Query<RosterQuery>,
) -> ApiResult<Json<Vec<RosterEntry>>> {
    auth.require(STAFF)?;
    Ok(Json(s.service.roster(&q.date)?))
}

#[utoipa::path(post, path = "/api/v1/roster", request_body = RosterCreate, responses((status = 201, body = RosterEntry)))]
async fn add_roster(
    State(s): State<SharedState>,
    auth: Auth,
    ApiJson(req): ApiJson<RosterCreate>,
) -> ApiResult<(StatusCode, Json<RosterEntry>)> {
    auth.require(&[Role::Supervisor, Role::Dispatcher])?;
    for login in &req.crew {
        let is_patrol = s
            .accounts
            .get(login.trim())
            .is_ok_and(|u| u.has_role(Role::Patrol) && !u.disabled);
        if !is_patrol {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                format!(
                    "{} is not an enabled patrol account",
                    login.chars().take(32).collect::<String>()
                ),
            )
            .with_field(Some("crew".into())));
        }
    }
    Ok((
        StatusCode::CREATED,
        Json(
            s.service
                .add_roster_entry(&auth.user.login, &req, now_ms())
                .await?,
        ),
    ))
}

/// The shift running now and its roster.
#[derive(Serialize, ToSchema)]
pub struct CurrentShift {
    /// `YYYY-MM-DD`: the roster date (a night shift after midnight belongs to the day before).
    date: String,
    shift: sync::Shift,
    entries: Vec<RosterEntry>,
}

#[utoipa::path(get, path = "/api/v1/roster/current",
    responses((status = 200, body = CurrentShift), (status = 401, body = ApiErrorBody), (status = 403, body = ApiErrorBody)))]
async fn current_roster(State(s): State<SharedState>, auth: Auth) -> ApiResult<Json<CurrentShift>> {
    auth.require(STAFF)?;
    let (date, shift) = s.service.reference().shift_at(now_ms());
    let entries = s
        .service
        .roster(&date)?
        .into_iter()
        .filter(|e| e.shift == shift)
        .collect();
    Ok(Json(CurrentShift {
        date,
        shift,
        entries,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatrolUnitRequest {
    /// The unit the patrol account acts for when no roster entry names it; `null` unbinds.
    unit_id: Option<String>,
}

#[utoipa::path(put, path = "/api/v1/patrols/{login}/unit", request_body = PatrolUnitRequest,
    responses((status = 200, body = User), (status = 400, body = ApiErrorBody), (status = 401, body = ApiErrorBody),
        (status = 403, body = ApiErrorBody), (status = 404, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
async fn bind_patrol_unit(
    State(s): State<SharedState>,
    auth: Auth,
    Path(login): Path<String>,
    ApiJson(req): ApiJson<PatrolUnitRequest>,
) -> ApiResult<Json<User>> {
    auth.require(&[Role::Admin, Role::Dispatcher, Role::Supervisor])?;
    if let Some(u) = req.unit_id.as_deref() {
        if !s.service.has_unit(u) {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                format!(
                    "there is no unit {}",
                    u.chars().take(32).collect::<String>()
                ),
            )
            .with_field(Some("unit_id".into())));
        }
    }
    Ok(Json(
        s.accounts
            .bind_unit(&auth.user.login, &login, req.unit_id.as_deref(), now_ms())
            .await?,
    ))
}

/// Routes under `/api/v1`.
pub(super) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/cards/{id}/dispatch", post(dispatch_unit))
        .route("/cards/{id}/dsog", post(dispatch_dsog))
        .route("/cards/{id}/units/{unit_id}", delete(unit_unassign))
        .route("/cards/{id}/units/{unit_id}/en-route", post(unit_en_route))
        .route("/cards/{id}/units/{unit_id}/on-scene", post(unit_on_scene))
        .route("/cards/{id}/units/{unit_id}/clear", post(unit_clear))
        .route("/units", get(list_units))
        .route("/units/{id}/status", post(set_unit_status))
        .route("/roster", get(get_roster).post(add_roster))
        .route("/roster/current", get(current_roster))
        .route(
            "/patrols/{login}/unit",
            axum::routing::put(bind_patrol_unit),
        )
}
