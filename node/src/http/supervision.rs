//! Supervisors' reads: R36 timeliness per shift, the shift summary, and who read a person's
//! data.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use server_kit::clock::now_ms;
use server_kit::web::{ApiError, ApiErrorBody, ApiResult, Auth};
use sync::Role;

use crate::service::ServiceError;

use super::state::SharedState;

/// How far back "who read this person's data" looks by default, ms (one year).
pub const PERSONAL_DATA_READS_LOOKBACK_MS: i64 = 366 * 24 * 60 * 60 * 1000;

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TimelinessQuery {
    /// The roster date, `YYYY-MM-DD` (default: the current shift's).
    date: Option<String>,
    /// `day` or `night` (default: the current shift).
    shift: Option<sync::Shift>,
}

#[utoipa::path(get, path = "/api/v1/supervision/timeliness", params(TimelinessQuery),
    responses((status = 200, body = crate::supervision::ShiftTimeliness, description = "R36: per operator and dispatcher, time to answer, to send for processing, to dispatch"),
        (status = 400, body = ApiErrorBody), (status = 401, body = ApiErrorBody), (status = 403, body = ApiErrorBody),
        (status = 422, body = ApiErrorBody)))]
async fn timeliness(
    State(s): State<SharedState>,
    auth: Auth,
    Query(q): Query<TimelinessQuery>,
) -> ApiResult<Json<crate::supervision::ShiftTimeliness>> {
    auth.require(&[Role::Supervisor])?;
    let (date, shift, window) = shift_of(&s, q)?;
    let calls = s
        .calls
        .calls_between(window.0, window.1, crate::supervision::SHIFT_CALLS_MAX)
        .map_err(ServiceError::from)?;
    let cards =
        s.service
            .cards_created_between(window.0, window.1, crate::supervision::SHIFT_CARDS_MAX)?;
    Ok(Json(crate::supervision::timeliness(
        &date, shift, window, &calls, &cards,
    )))
}

/// The shift asked for (the current one by default) and when it runs.
fn shift_of(s: &SharedState, q: TimelinessQuery) -> ApiResult<(String, sync::Shift, (i64, i64))> {
    let (current_date, current_shift) = s.service.reference().shift_at(now_ms());
    let date = q.date.unwrap_or(current_date);
    let shift = q.shift.unwrap_or(current_shift);
    let window = s
        .service
        .reference()
        .shift_window(&date, shift)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                "date must be YYYY-MM-DD",
            )
            .with_field(Some("date".into()))
        })?;
    Ok((date, shift, window))
}

#[utoipa::path(get, path = "/api/v1/supervision/shift-summary", params(TimelinessQuery),
    responses((status = 200, body = crate::supervision::ShiftSummary, description = "The shift's cards by category and outcome, by channel, and the units' utilisation"),
        (status = 400, body = ApiErrorBody), (status = 401, body = ApiErrorBody), (status = 403, body = ApiErrorBody),
        (status = 422, body = ApiErrorBody)))]
async fn shift_summary(
    State(s): State<SharedState>,
    auth: Auth,
    Query(q): Query<TimelinessQuery>,
) -> ApiResult<Json<crate::supervision::ShiftSummary>> {
    auth.require(&[Role::Supervisor])?;
    let (date, shift, window) = shift_of(&s, q)?;
    let now = now_ms();
    // Cards opened somewhat before the shift may have kept units busy in it.
    let cards = s.service.cards_created_between(
        window.0 - crate::supervision::UNIT_BUSY_LOOKBACK_MS,
        window.1,
        crate::supervision::SHIFT_CARDS_MAX,
    )?;
    let units = s.service.units(now)?;
    Ok(Json(crate::supervision::shift_summary(
        (s.service.region(), &date, shift),
        window,
        now,
        &cards,
        &units,
    )))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PersonalDataQuery {
    /// A caller's phone, as stored (E.164) or as written.
    phone: Option<String>,
    /// A card id.
    card: Option<String>,
    /// A person's name as on a card or in the address warnings.
    person: Option<String>,
    /// An address as it was looked up.
    address: Option<String>,
    /// Reads since this time, ms since the Unix epoch (default: one year ago).
    since_ms: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/audit/personal-data", params(PersonalDataQuery),
    responses((status = 200, body = [crate::privacy::PersonalDataRead], description = "Who read this person's data, newest first"),
        (status = 400, body = ApiErrorBody), (status = 401, body = ApiErrorBody), (status = 403, body = ApiErrorBody),
        (status = 422, body = ApiErrorBody, description = "give exactly one of phone, card, person, address")))]
async fn personal_data_reads(
    State(s): State<SharedState>,
    auth: Auth,
    Query(q): Query<PersonalDataQuery>,
) -> ApiResult<Json<Vec<crate::privacy::PersonalDataRead>>> {
    auth.require(&[Role::Supervisor])?;
    let given: Vec<Option<String>> = vec![
        q.phone.as_deref().map(|p| {
            let normalized = sync::normalize_phone(p).unwrap_or_else(|| p.to_string());
            crate::privacy::subject("phone", &normalized).unwrap_or_default()
        }),
        q.card
            .as_deref()
            .and_then(|c| crate::privacy::subject("card", c)),
        q.person
            .as_deref()
            .and_then(|p| crate::privacy::subject("person", p)),
        q.address
            .as_deref()
            .and_then(|a| crate::privacy::subject("address", a)),
    ];
    let subjects: Vec<String> = given.into_iter().flatten().collect();
    let [subject] = subjects.as_slice() else {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            "give exactly one of phone, card, person or address",
        ));
    };
    let since = q
        .since_ms
        .unwrap_or_else(|| now_ms() - PERSONAL_DATA_READS_LOOKBACK_MS);
    Ok(Json(
        s.reads
            .reads_of(subject, since)
            .map_err(ServiceError::from)?,
    ))
}

/// Routes under `/api/v1`.
pub(super) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/audit/personal-data", get(personal_data_reads))
        .route("/supervision/timeliness", get(timeliness))
        .route("/supervision/shift-summary", get(shift_summary))
}
