//! Operators' HTTP API for calls (`/api/v1/calls/...`); recordings are in [`super::recordings`].
//!
//! Operators signal over plain HTTP: the console gathers its ICE candidates first and posts a
//! complete SDP offer with `accept`, receiving a complete answer. Queue changes reach the console
//! over the node's SSE stream (`call` events).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use sync::{Card, Role};
use utoipa::ToSchema;

use server_kit::clock::now_ms;
use server_kit::web::{ApiError, ApiErrorBody, ApiJson, ApiResult, Auth};

use super::state::SharedState;
use crate::calls::ice::IceConfig;
use crate::calls::missed::MissedCall;
use crate::calls::{Call, CallError, CallPhase, CallRecord, CallServiceError, EndReason};

/// Who answers calls.
const ANSWER: &[Role] = &[Role::CallTaker];
/// Who sees the call queue.
const SEE_CALLS: &[Role] = &[Role::CallTaker, Role::Supervisor];

/// Named limits of the operators' call API.
pub mod limits {
    /// Calls of the call history returned at once.
    pub const HISTORY_LIST_MAX: usize = 500;
}

pub fn media_error_code(e: &media::MediaError) -> &'static str {
    use media::MediaError as M;
    match e {
        M::InvalidCallId => "invalid_call_id",
        M::UnknownCall => "not_found",
        M::CallExists => "call_exists",
        M::MalformedSdp(_) => "malformed_sdp",
        M::UnsupportedCodecs(_) => "unsupported_codecs",
        M::SdpTooLarge { .. } => "sdp_too_large",
        M::PortsExhausted => "media_ports_exhausted",
        M::CandidateTooLarge { .. } => "candidate_too_large",
        M::TooManyCalls => "too_many_calls",
        M::NoSuchLeg => "no_such_leg",
        _ => "media_error",
    }
}

impl From<CallServiceError> for ApiError {
    fn from(e: CallServiceError) -> Self {
        let msg = e.to_string();
        match e {
            CallServiceError::Call(c) => {
                let status = match &c {
                    CallError::NotFound(_) => StatusCode::NOT_FOUND,
                    CallError::AlreadyTaken { .. }
                    | CallError::Ended(_)
                    | CallError::OperatorBusy(_)
                    | CallError::OfferedToOther { .. }
                    | CallError::Exists(_) => StatusCode::CONFLICT,
                    CallError::NotYours(_) => StatusCode::FORBIDDEN,
                    CallError::QueueFull => StatusCode::SERVICE_UNAVAILABLE,
                    _ => StatusCode::UNPROCESSABLE_ENTITY,
                };
                ApiError::new(status, c.code(), msg)
            }
            CallServiceError::Media(m) => {
                let status = match &m {
                    media::MediaError::UnknownCall => StatusCode::NOT_FOUND,
                    media::MediaError::PortsExhausted | media::MediaError::TooManyCalls => {
                        StatusCode::SERVICE_UNAVAILABLE
                    }
                    media::MediaError::NoSuchLeg => StatusCode::CONFLICT,
                    media::MediaError::CandidateTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
                    media::MediaError::MalformedSdp(_)
                    | media::MediaError::UnsupportedCodecs(_)
                    | media::MediaError::InvalidCallId => StatusCode::UNPROCESSABLE_ENTITY,
                    media::MediaError::SdpTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
                    media::MediaError::CallExists => StatusCode::CONFLICT,
                    _ => StatusCode::INTERNAL_SERVER_ERROR,
                };
                ApiError::new(status, media_error_code(&m), msg)
            }
            CallServiceError::Service(s) => s.into(),
            CallServiceError::Store(_) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "storage_error",
                "the change could not be saved; try again",
            ),
            CallServiceError::NoSuchFile { .. } => {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", msg)
            }
            CallServiceError::Expired(_) => ApiError::new(StatusCode::GONE, "expired", msg),
            CallServiceError::Refused(r) => {
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, r.code(), msg)
            }
            CallServiceError::NoSuchMissed(_) => {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", msg)
            }
            CallServiceError::CallbackRecorded(_) => {
                ApiError::new(StatusCode::CONFLICT, "callback_recorded", msg)
            }
            CallServiceError::InvalidField { field, .. } => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", msg)
                    .with_field(Some(field.to_string()))
            }
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptRequest {
    /// The console's SDP offer with its ICE candidates gathered (receives the caller's audio and
    /// video, sends the operator's audio and optionally video).
    pub sdp: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AcceptResponse {
    /// SDP answer of the node's media server.
    pub sdp: String,
    pub call: Call,
    /// The card opened for this call, pre-filled with the caller and location (R03).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card: Option<Card>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    /// Login of the operator who takes the call over.
    pub to: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OperatorInfo {
    pub login: String,
    pub full_name: String,
    /// Holds a call now.
    pub busy: bool,
}

#[utoipa::path(get, path = "/api/v1/calls",
    responses((status = 200, body = [Call]), (status = 401, body = ApiErrorBody), (status = 403, body = ApiErrorBody)))]
pub async fn list_calls(State(s): State<SharedState>, auth: Auth) -> ApiResult<Json<Vec<Call>>> {
    auth.require(SEE_CALLS)?;
    Ok(Json(s.calls.list()))
}

#[utoipa::path(get, path = "/api/v1/calls/{id}", params(("id" = String, Path)),
    responses((status = 200, body = CallRecord), (status = 404, body = ApiErrorBody)))]
pub async fn get_call(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<CallRecord>> {
    auth.require(SEE_CALLS)?;
    let stored = stored_record(&s, &id);
    let record = match s.calls.get(&id) {
        // The live state is fresher than the stored record; the recording comes from the store.
        Some(call) => {
            let stored = stored.ok();
            CallRecord {
                call,
                source: stored.as_ref().and_then(|r| r.source.clone()),
                recording: stored.and_then(|r| r.recording),
            }
        }
        None => stored?,
    };
    let subjects =
        crate::privacy::caller_subjects(&record.call.caller, record.call.card_id.as_deref());
    s.reads
        .record(
            &auth.user.login,
            "call.read",
            &record.call.id,
            subjects,
            serde_json::json!({}),
            now_ms(),
        )
        .await
        .map_err(CallServiceError::from)?;
    Ok(Json(record))
}

/// The stored record of a call, or a 404 naming it.
fn stored_record(s: &SharedState, id: &str) -> ApiResult<CallRecord> {
    Ok(s.calls
        .record(id)
        .map_err(CallServiceError::from)?
        .ok_or_else(|| CallServiceError::Call(CallError::NotFound(id.to_string())))?)
}

/// `GET /api/v1/calls/ice-config`: the STUN and TURN servers (with fresh TURN credentials) the
/// console uses for the operator's leg of the next call it answers.
#[utoipa::path(get, path = "/api/v1/calls/ice-config",
    responses((status = 200, body = IceConfig), (status = 401, body = ApiErrorBody), (status = 403, body = ApiErrorBody)))]
pub async fn ice_config(State(s): State<SharedState>, auth: Auth) -> ApiResult<Json<IceConfig>> {
    auth.require(ANSWER)?;
    Ok(Json(s.calls.ice_config(&auth.user.login, now_ms())))
}

#[utoipa::path(get, path = "/api/v1/calls/operators",
    responses((status = 200, body = [OperatorInfo]), (status = 403, body = ApiErrorBody)))]
pub async fn operators(
    State(s): State<SharedState>,
    auth: Auth,
) -> ApiResult<Json<Vec<OperatorInfo>>> {
    auth.require(SEE_CALLS)?;
    let calls = s.calls.list();
    let list = s
        .accounts
        .list()?
        .into_iter()
        .filter(|u| !u.disabled && u.has_role(Role::CallTaker))
        .map(|u| OperatorInfo {
            busy: calls
                .iter()
                .any(|c| c.phase == CallPhase::Answered && c.operator.as_deref() == Some(&u.login)),
            login: u.login,
            full_name: u.full_name,
        })
        .collect();
    Ok(Json(list))
}

#[utoipa::path(post, path = "/api/v1/calls/{id}/accept", params(("id" = String, Path)), request_body = AcceptRequest,
    responses((status = 200, body = AcceptResponse), (status = 409, body = ApiErrorBody, description = "taken by someone else, ended, or you hold another call"),
        (status = 422, body = ApiErrorBody, description = "malformed SDP or no supported codec")))]
pub async fn accept(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<AcceptRequest>,
) -> ApiResult<Json<AcceptResponse>> {
    auth.require(ANSWER)?;
    let (call, sdp) = s
        .calls
        .accept(&id, &auth.user.login, &req.sdp, now_ms())
        .await?;
    let card = match &call.card_id {
        Some(c) => s.service.get_card(c).ok(),
        None => None,
    };
    Ok(Json(AcceptResponse { sdp, call, card }))
}

#[utoipa::path(post, path = "/api/v1/calls/{id}/transfer", params(("id" = String, Path)), request_body = TransferRequest,
    responses((status = 200, body = Call), (status = 403, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
pub async fn transfer(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<TransferRequest>,
) -> ApiResult<Json<Call>> {
    auth.require(ANSWER)?;
    s.calls.check_owner(&id, &auth.user.login)?;
    let target = s.accounts.get(&req.to).map_err(|_| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            format!("there is no operator {}", req.to),
        )
    })?;
    if target.disabled || !target.has_role(Role::CallTaker) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            format!("{} cannot answer calls", req.to),
        ));
    }
    Ok(Json(
        s.calls
            .transfer(&id, &auth.user.login, &target.login, now_ms())
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/calls/{id}/decline", params(("id" = String, Path)),
    responses((status = 200, body = Call), (status = 403, body = ApiErrorBody)))]
pub async fn decline(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Call>> {
    auth.require(ANSWER)?;
    Ok(Json(s.calls.decline(&id, &auth.user.login)?))
}

#[utoipa::path(post, path = "/api/v1/calls/{id}/hangup", params(("id" = String, Path)),
    responses((status = 200, body = CallRecord), (status = 403, body = ApiErrorBody)))]
pub async fn hangup(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<CallRecord>> {
    auth.require(ANSWER)?;
    s.calls.check_owner(&id, &auth.user.login)?;
    s.calls
        .end(&id, EndReason::OperatorHungUp, &auth.user.login, now_ms())
        .await;
    Ok(Json(stored_record(&s, &id)?))
}

#[utoipa::path(get, path = "/api/v1/calls/missed",
    responses((status = 200, body = [MissedCall], description = "Open missed calls, SOS first, then newest first (at most 500)"),
        (status = 401, body = ApiErrorBody), (status = 403, body = ApiErrorBody)))]
pub async fn list_missed(
    State(s): State<SharedState>,
    auth: Auth,
) -> ApiResult<Json<Vec<MissedCall>>> {
    auth.require(SEE_CALLS)?;
    Ok(Json(s.calls.missed().map_err(CallServiceError::from)?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallbackRequest {
    /// `reached`, `no_answer` or `false_alarm`.
    pub outcome: String,
    #[serde(default)]
    #[schema(max_length = 1000)]
    pub note: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/calls/missed/{id}/callback", params(("id" = String, Path)), request_body = CallbackRequest,
    responses((status = 200, body = MissedCall), (status = 401, body = ApiErrorBody), (status = 403, body = ApiErrorBody),
        (status = 404, body = ApiErrorBody), (status = 409, body = ApiErrorBody, description = "the callback was already recorded"),
        (status = 422, body = ApiErrorBody)))]
pub async fn record_callback(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<CallbackRequest>,
) -> ApiResult<Json<MissedCall>> {
    auth.require(ANSWER)?;
    let outcome = sync::CallbackOutcome::parse(&req.outcome).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            "outcome must be reached, no_answer or false_alarm",
        )
        .with_field(Some("outcome".into()))
    })?;
    Ok(Json(
        s.calls
            .record_callback(
                &id,
                outcome,
                req.note.as_deref(),
                &auth.user.login,
                now_ms(),
            )
            .await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    /// Calls that rang before this time, ms since the Unix epoch (default: now).
    pub before_ms: Option<i64>,
    /// At most this many (default and maximum 500).
    pub limit: Option<usize>,
}

#[utoipa::path(get, path = "/api/v1/calls/history", params(HistoryQuery),
    responses((status = 200, body = [CallRecord], description = "Stored calls, newest first"),
        (status = 401, body = ApiErrorBody), (status = 403, body = ApiErrorBody)))]
pub async fn call_history(
    State(s): State<SharedState>,
    auth: Auth,
    Query(q): Query<HistoryQuery>,
) -> ApiResult<Json<Vec<CallRecord>>> {
    auth.require(SEE_CALLS)?;
    let limit = q
        .limit
        .unwrap_or(limits::HISTORY_LIST_MAX)
        .min(limits::HISTORY_LIST_MAX);
    Ok(Json(
        s.calls
            .history(q.before_ms.unwrap_or_else(now_ms), limit)
            .map_err(CallServiceError::from)?,
    ))
}

/// Routes under `/api/v1`.
pub(super) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/calls", get(list_calls))
        .route("/calls/operators", get(operators))
        .route("/calls/ice-config", get(ice_config))
        .route("/calls/missed", get(list_missed))
        .route("/calls/missed/{id}/callback", post(record_callback))
        .route("/calls/history", get(call_history))
        .route("/calls/{id}", get(get_call))
        .route("/calls/{id}/accept", post(accept))
        .route("/calls/{id}/transfer", post(transfer))
        .route("/calls/{id}/decline", post(decline))
        .route("/calls/{id}/hangup", post(hangup))
}
