//! The intake of the citizens' apps ("102", "Закон и Порядок"): a written appeal with its
//! attachments, location and the applicant's identity comes in and is stored before it is
//! acknowledged; the app gets the appeal's id and an access token, follows the status with it
//! (the талон once registered: number, date and time, who registered it) and downloads the
//! answer sent (R01, R11, R12). No staff login: the token is the citizen's key to this one
//! appeal, and the node keeps only its hash.

use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use server_kit::clock::now_ms;
use server_kit::web::{ApiError, ApiErrorBody, ApiJson, ApiResult};
use sync::appeal::{AppealStatus, Decision};
use sync::calendar::Day;
use sync::Language;
use utoipa::ToSchema;

use crate::appeals::{AppealInput, Receipt, APPEAL_REQUEST_BYTES_MAX};

use super::appeals::{answer_file_name, docx_response, stored_answer};
use super::state::SharedState;

/// The login the audit names for what citizens' apps send.
const CITIZEN_ACTOR: &str = "citizen";

/// The receipt (талон) of a registered appeal.
#[derive(Serialize, ToSchema)]
pub struct Talon {
    pub number: String,
    pub registered_at: i64,
    pub registered_by_name: Option<String>,
    pub region_name_kk: String,
    pub region_name_ru: String,
}

/// The answer, as the app shows it.
#[derive(Serialize, ToSchema)]
pub struct CitizenAnswer {
    pub decision: Decision,
    pub language: Language,
    pub sent_at: i64,
    pub sha256: String,
}

/// An extension of the review term, as the applicant is told of it (R11).
#[derive(Serialize, ToSchema)]
pub struct CitizenExtension {
    #[schema(value_type = String)]
    pub until: Day,
    pub reason: String,
    pub at: i64,
}

/// What a citizen sees of their appeal.
#[derive(Serialize, ToSchema)]
pub struct CitizenAppeal {
    pub id: String,
    pub status: AppealStatus,
    pub received_at: i64,
    pub talon: Option<Talon>,
    #[schema(value_type = Option<String>)]
    pub deadline: Option<Day>,
    /// Extensions of the term by the head, with the reasons (R11).
    pub extensions: Vec<CitizenExtension>,
    pub answer: Option<CitizenAnswer>,
}

#[utoipa::path(post, path = "/citizen/v1/appeals", request_body = AppealInput,
    responses((status = 201, body = Receipt), (status = 400, body = ApiErrorBody, description = "The body is not JSON"),
        (status = 413, body = ApiErrorBody, description = "Larger than 16 MiB"),
        (status = 415, body = ApiErrorBody, description = "Not Content-Type: application/json"),
        (status = 422, body = ApiErrorBody)))]
async fn citizen_submit_appeal(
    State(s): State<SharedState>,
    ApiJson(input): ApiJson<AppealInput>,
) -> ApiResult<(StatusCode, Json<Receipt>)> {
    if !input.channel.is_app() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "channel_not_an_app",
            "this intake takes appeals of the \"102\" and \"Закон и Порядок\" apps",
        )
        .with_field(Some("channel".into())));
    }
    let (a, token) = s
        .service
        .appeals()
        .intake(CITIZEN_ACTOR, input, now_ms())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(Receipt {
            appeal_id: a.id,
            access_token: token,
            status: a.status,
            received_at: a.received_at,
        }),
    ))
}

/// The appeal `id` when `Authorization: Bearer <token>` is its citizen's token; one answer for
/// a wrong token and an unknown id, so neither can be probed.
fn citizen_appeal(
    s: &SharedState,
    headers: &HeaderMap,
    id: &str,
) -> ApiResult<sync::appeal::Appeal> {
    let denied = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "appeal_not_found",
            "no appeal with this id and token",
        )
    };
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(denied)?;
    if uuid::Uuid::parse_str(id).is_err() || !s.service.appeals().token_matches(id, token.trim())? {
        return Err(denied());
    }
    let cal = s.service.work_calendar()?;
    Ok(s.service.appeals().get(id, &cal, now_ms())?)
}

#[utoipa::path(get, path = "/citizen/v1/appeals/{id}", params(("id" = String, Path), ("Authorization" = String, Header, description = "Bearer <access_token>")),
    responses((status = 200, body = CitizenAppeal), (status = 404, body = ApiErrorBody)))]
async fn citizen_appeal_status(
    State(s): State<SharedState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<CitizenAppeal>> {
    let a = citizen_appeal(&s, &headers, &id)?;
    let region = &s.service.reference().region;
    Ok(Json(CitizenAppeal {
        id: a.id,
        status: a.status,
        received_at: a.received_at,
        talon: match (a.number, a.registered_at) {
            (Some(number), Some(registered_at)) => Some(Talon {
                number,
                registered_at,
                registered_by_name: a.registered_by_name,
                region_name_kk: region.name_kk.clone(),
                region_name_ru: region.name_ru.clone(),
            }),
            _ => None,
        },
        deadline: a.deadline,
        extensions: a
            .extensions
            .iter()
            .map(|x| CitizenExtension {
                until: x.until,
                reason: x.reason.clone(),
                at: x.at,
            })
            .collect(),
        answer: a.answer.map(|x| CitizenAnswer {
            decision: x.decision,
            language: x.language,
            sent_at: x.sent_at,
            sha256: x.sha256,
        }),
    }))
}

#[utoipa::path(get, path = "/citizen/v1/appeals/{id}/answer.docx", params(("id" = String, Path), ("Authorization" = String, Header, description = "Bearer <access_token>")),
    responses((status = 200, description = "The answer sent, as stored"), (status = 404, body = ApiErrorBody)))]
async fn citizen_answer_docx(
    State(s): State<SharedState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let a = citizen_appeal(&s, &headers, &id)?;
    let bytes = stored_answer(&s, &a)?;
    Ok(docx_response(bytes, &answer_file_name(&a)))
}

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route(
            "/citizen/v1/appeals",
            post(citizen_submit_appeal).layer(DefaultBodyLimit::max(APPEAL_REQUEST_BYTES_MAX)),
        )
        .route("/citizen/v1/appeals/{id}", get(citizen_appeal_status))
        .route(
            "/citizen/v1/appeals/{id}/answer.docx",
            get(citizen_answer_docx),
        )
}
