//! Where things are: geocoding a typed address, the closest units for a card (R20) and a
//! unit's route to a card.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use server_kit::clock::now_ms;
use server_kit::web::{ApiError, ApiErrorBody, ApiResult, Auth};
use sync::closest::Ranking;
use sync::{Location, Role};

use crate::geo::geocode::{Geocoded, GEOCODE_ADDRESS_CHARS_MAX};
use crate::geo::RouteAnswer;

use super::state::{SharedState, STAFF};

/// Who sees units on the map: the ГУСС dispatcher, the duty officer, the supervisor.
const SEES_UNITS: &[Role] = &[Role::Dispatcher, Role::DutyOfficer, Role::Supervisor];

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct GeocodeQuery {
    /// The address as typed.
    address: String,
}

#[utoipa::path(get, path = "/api/v1/geocode", params(GeocodeQuery),
    responses((status = 200, body = Geocoded),
        (status = 400, body = ApiErrorBody, description = "`invalid_field`: no address, or too long"),
        (status = 404, body = ApiErrorBody, description = "`address_not_found`, or `address_register_not_configured`")))]
async fn geocode(
    State(s): State<SharedState>,
    auth: Auth,
    Query(q): Query<GeocodeQuery>,
) -> ApiResult<Json<Geocoded>> {
    auth.require(STAFF)?;
    let address = q.address.trim();
    if address.is_empty() || address.chars().count() > GEOCODE_ADDRESS_CHARS_MAX {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_field",
            format!("give an address of 1 to {GEOCODE_ADDRESS_CHARS_MAX} characters"),
        )
        .with_field(Some("address".into())));
    }
    if !s.geo.has_address_register() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "address_register_not_configured",
            "this node has no address register ([map] addresses)",
        ));
    }
    s.geo.geocode(address).map(Json).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "address_not_found",
            "the address register has no building that is surely this address",
        )
    })
}

/// The card's point, or 409 `card_has_no_point`.
fn card_point(s: &SharedState, id: &str) -> ApiResult<(f64, f64)> {
    let card = s.service.get_card(id)?;
    card.location
        .as_ref()
        .and_then(Location::point)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::CONFLICT,
                "card_has_no_point",
                "the card has no point on the map: give coordinates or an address the register knows",
            )
        })
}

#[utoipa::path(get, path = "/api/v1/cards/{id}/closest-units",
    params(("id" = String, Path, description = "UUID or number")),
    responses((status = 200, body = Ranking, description = "Available units, fastest first, then those with no position"),
        (status = 404, body = ApiErrorBody), (status = 409, body = ApiErrorBody, description = "`card_has_no_point`")))]
async fn closest_units(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Ranking>> {
    auth.require(SEES_UNITS)?;
    let point = card_point(&s, &id)?;
    let now = now_ms();
    let units = s.service.units(now)?;
    Ok(Json(s.geo.closest(&units, point, now)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RouteQuery {
    /// The unit's id (`p01`).
    unit: String,
}

#[utoipa::path(get, path = "/api/v1/cards/{id}/route",
    params(("id" = String, Path, description = "UUID or number"), RouteQuery),
    responses((status = 200, body = RouteAnswer),
        (status = 404, body = ApiErrorBody, description = "`not_found` (card) or `unknown_unit`"),
        (status = 409, body = ApiErrorBody, description = "`card_has_no_point` or `unit_position_unknown`")))]
async fn card_route(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
    Query(q): Query<RouteQuery>,
) -> ApiResult<Json<RouteAnswer>> {
    auth.require(SEES_UNITS)?;
    let to = card_point(&s, &id)?;
    if !s.service.has_unit(&q.unit) {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_unit",
            format!(
                "unit '{}' does not exist",
                q.unit.chars().take(64).collect::<String>()
            ),
        )
        .with_field(Some("unit".into())));
    }
    let from = s.geo.unit_position(&q.unit).ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            "unit_position_unknown",
            "the unit has reported no position",
        )
    })?;
    Ok(Json(s.geo.route((from.lat, from.lon), to)))
}

pub(super) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/geocode", get(geocode))
        .route("/cards/{id}/closest-units", get(closest_units))
        .route("/cards/{id}/route", get(card_route))
}
