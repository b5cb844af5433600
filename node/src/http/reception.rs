//! Personal reception (R31, [`crate::reception`]): the schedule, a day's queue, booking, the
//! record of a reception (held or not held) and its ЛП-1 card as JSON.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use server_kit::clock::now_ms;
use server_kit::web::{ApiError, ApiErrorBody, ApiJson, ApiResult, Auth};
use sync::calendar::Day;
use sync::reception::lp1::{Lp1Field, LP1};
use sync::reception::{Booking, BookingInput, Lp1Card, ReceptionReference, Schedule};
use sync::Role;
use utoipa::ToSchema;

use super::state::SharedState;
use crate::kinds::reception::BookingSummary;

/// Who keeps the schedule, books and records receptions: the document-control registrar (the
/// official responsible for organising reception, p.23), heads and responsible managers.
const RECEPTION_STAFF: &[Role] = &[Role::Registrar, Role::Head, Role::AppealManager];

/// The schedule, if one is set.
#[derive(Serialize, ToSchema)]
pub struct ScheduleAnswer {
    pub schedule: Option<Schedule>,
}

#[utoipa::path(get, path = "/api/v1/reception/schedule",
    responses((status = 200, description = "The region's reception schedule (null when none is set; `sample`: demo data)", body = ScheduleAnswer)))]
async fn reception_schedule(
    State(s): State<SharedState>,
    auth: Auth,
) -> ApiResult<Json<ScheduleAnswer>> {
    auth.require(RECEPTION_STAFF)?;
    Ok(Json(ScheduleAnswer {
        schedule: s.service.reception().schedule()?,
    }))
}

#[utoipa::path(put, path = "/api/v1/reception/schedule", request_body = Schedule,
    responses((status = 200, body = Schedule),
        (status = 422, description = "A session names an unknown official or place, times out of a day (`reception_schedule_invalid`), a place's КАТО code is unknown (`kato_unknown`)", body = ApiErrorBody)))]
async fn reception_set_schedule(
    State(s): State<SharedState>,
    auth: Auth,
    ApiJson(schedule): ApiJson<Schedule>,
) -> ApiResult<Json<Schedule>> {
    auth.require(RECEPTION_STAFF)?;
    let saved = s
        .service
        .reception()
        .set_schedule(schedule, &auth.user.login, now_ms())
        .await?;
    // Requests from the hub that waited for a schedule are settled now.
    let calendar = s.service.work_calendar()?;
    s.service
        .reception()
        .settle_waiting(&calendar, now_ms())
        .await?;
    Ok(Json(saved))
}

/// The ЛП-1 form and the reference lists its fields use.
#[derive(Serialize, ToSchema)]
pub struct ReceptionForm {
    /// The 36 fields, numbered and named as the seed (ru verbatim, kk our translation).
    #[schema(value_type = Vec<Object>)]
    pub lp1: &'static [Lp1Field],
    pub reference: ReceptionReference,
}

#[utoipa::path(get, path = "/api/v1/reception/form",
    responses((status = 200, description = "The ЛП-1 fields and the reference lists (`reference.sample`: demo data)", body = ReceptionForm)))]
async fn reception_form(
    State(s): State<SharedState>,
    auth: Auth,
) -> ApiResult<Json<ReceptionForm>> {
    auth.require(RECEPTION_STAFF)?;
    Ok(Json(ReceptionForm {
        lp1: &LP1,
        reference: (*s.service.reception().reference()).clone(),
    }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    /// `YYYY-MM-DD`; today (the region's local date) when absent.
    date: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/reception/queue", params(QueueQuery),
    responses((status = 200, description = "The day's reception records by session and slot", body = [BookingSummary]),
        (status = 400, description = "Not a date (`invalid_field`)", body = ApiErrorBody)))]
async fn reception_queue(
    State(s): State<SharedState>,
    auth: Auth,
    Query(q): Query<QueueQuery>,
) -> ApiResult<Json<Vec<BookingSummary>>> {
    auth.require(RECEPTION_STAFF)?;
    let day = match q.date.as_deref() {
        None | Some("") => Day::from_ms(now_ms(), s.service.reference().shifts.utc_offset_min),
        Some(d) => Day::parse(d).map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_field",
                "the date is YYYY-MM-DD",
            )
            .with_field(Some("date".into()))
        })?,
    };
    Ok(Json(s.service.reception().day(&day.to_string())?))
}

#[utoipa::path(post, path = "/api/v1/reception/bookings", request_body = BookingInput,
    responses((status = 201, description = "Booked; durable", body = Booking),
        (status = 422, description = "A mandatory ЛП-1 field missing (`lp1_field_missing`), a value not allowed (`lp1_field_invalid`, `lp1_field_not_editable`), an invalid ИИН (`iin_invalid`), an unknown КАТО code (`kato_unknown`), a slot the schedule lacks (`reception_slot_unknown`) or already booked (`reception_slot_taken`), a non-working day (`reception_non_working_day`); nothing stored", body = ApiErrorBody)))]
async fn reception_book(
    State(s): State<SharedState>,
    auth: Auth,
    ApiJson(input): ApiJson<BookingInput>,
) -> ApiResult<(StatusCode, Json<Booking>)> {
    auth.require(RECEPTION_STAFF)?;
    let calendar = s.service.work_calendar()?;
    let offset = s.service.reference().shifts.utc_offset_min;
    let b = s
        .service
        .reception()
        .book(&input, &calendar, offset, &auth.user.login, now_ms())
        .await?;
    Ok((StatusCode::CREATED, Json(b)))
}

#[utoipa::path(get, path = "/api/v1/reception/bookings/{id}",
    responses((status = 200, body = Booking), (status = 404, body = ApiErrorBody)))]
async fn reception_booking(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Booking>> {
    auth.require(RECEPTION_STAFF)?;
    Ok(Json(s.service.reception().get(&id)?))
}

#[utoipa::path(get, path = "/api/v1/reception/bookings/{id}/lp1",
    responses((status = 200, description = "The ЛП-1 card: 36 fields with values, names in kk and ru, which were filled automatically, and the mandatory ones missing", body = Lp1Card),
        (status = 404, body = ApiErrorBody)))]
async fn reception_lp1(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Lp1Card>> {
    auth.require(RECEPTION_STAFF)?;
    Ok(Json(s.service.reception().lp1(&id)?))
}

/// ЛП-1 fields recorded after the reception, by number.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordInput {
    /// Held: 25, 30–35 (31 defaults to the presiding official). Not held: 36 (the reason,
    /// required) and any of 30–35.
    #[schema(value_type = BTreeMap<String, String>)]
    pub fields: BTreeMap<u8, String>,
}

#[utoipa::path(post, path = "/api/v1/reception/bookings/{id}/held", request_body = RecordInput,
    responses((status = 200, body = Booking),
        (status = 409, description = "Not a booked reception (`invalid_transition`)", body = ApiErrorBody),
        (status = 422, description = "A mandatory field missing (`lp1_field_missing`) or a value not allowed", body = ApiErrorBody)))]
async fn reception_held(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<RecordInput>,
) -> ApiResult<Json<Booking>> {
    auth.require(RECEPTION_STAFF)?;
    let b = s
        .service
        .reception()
        .record(&id, true, input.fields, &auth.user.login, now_ms())
        .await?;
    Ok(Json(b))
}

#[utoipa::path(post, path = "/api/v1/reception/bookings/{id}/not-held", request_body = RecordInput,
    responses((status = 200, body = Booking),
        (status = 409, description = "Not a booked reception (`invalid_transition`)", body = ApiErrorBody),
        (status = 422, description = "No reason (field 36, `lp1_field_missing`) or a value not allowed", body = ApiErrorBody)))]
async fn reception_not_held(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<RecordInput>,
) -> ApiResult<Json<Booking>> {
    auth.require(RECEPTION_STAFF)?;
    let b = s
        .service
        .reception()
        .record(&id, false, input.fields, &auth.user.login, now_ms())
        .await?;
    Ok(Json(b))
}

pub(super) fn routes() -> Router<SharedState> {
    Router::new()
        .route(
            "/reception/schedule",
            get(reception_schedule).put(reception_set_schedule),
        )
        .route("/reception/form", get(reception_form))
        .route("/reception/queue", get(reception_queue))
        .route("/reception/bookings", post(reception_book))
        .route("/reception/bookings/{id}", get(reception_booking))
        .route("/reception/bookings/{id}/lp1", get(reception_lp1))
        .route("/reception/bookings/{id}/held", post(reception_held))
        .route(
            "/reception/bookings/{id}/not-held",
            post(reception_not_held),
        )
}
