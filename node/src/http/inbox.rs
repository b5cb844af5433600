//! The operators' text inbox (R01, R05): lists, a conversation with its files and the same
//! person's earlier conversations and cards, taking, answering (queued durably in the outbox),
//! closing, and opening a "102" card or an appeal from a conversation. Call takers and
//! supervisors work it.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use server_kit::clock::now_ms;
use server_kit::web::{ApiError, ApiErrorBody, ApiJson, ApiResult, Auth};
use sync::appeal::Appeal;
use sync::conversation::{Conversation, ConversationSummary};
use sync::{Card, Role};
use utoipa::{IntoParams, ToSchema};

use crate::channels::inbox::{ConversationDetail, InboxFilter};

use super::state::SharedState;

/// Who works the text inbox.
const INBOX_STAFF: &[Role] = &[Role::CallTaker, Role::Supervisor];

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InboxQuery {
    /// `unassigned` (default), `mine`, `waiting` or `closed`.
    #[serde(default)]
    state: Option<InboxFilter>,
}

#[derive(Serialize, ToSchema)]
pub struct InboxList {
    conversations: Vec<ConversationSummary>,
}

#[utoipa::path(get, path = "/api/v1/inbox", params(InboxQuery),
    responses((status = 200, body = InboxList), (status = 400, body = ApiErrorBody)))]
async fn inbox_list(
    State(s): State<SharedState>,
    auth: Auth,
    Query(q): Query<InboxQuery>,
) -> ApiResult<Json<InboxList>> {
    auth.require(INBOX_STAFF)?;
    let conversations = s
        .inbox
        .list(q.state.unwrap_or(InboxFilter::Unassigned), &auth.user.login)?;
    Ok(Json(InboxList { conversations }))
}

#[utoipa::path(get, path = "/api/v1/inbox/{id}", params(("id" = String, Path)),
    responses((status = 200, body = ConversationDetail), (status = 404, body = ApiErrorBody)))]
async fn inbox_get(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<ConversationDetail>> {
    auth.require(INBOX_STAFF)?;
    Ok(Json(s.inbox.detail(&id)?))
}

#[utoipa::path(get, path = "/api/v1/inbox/{id}/files/{sha256}",
    params(("id" = String, Path), ("sha256" = String, Path)),
    responses((status = 200, description = "The file"), (status = 404, body = ApiErrorBody)))]
async fn inbox_file(
    State(s): State<SharedState>,
    auth: Auth,
    Path((id, sha)): Path<(String, String)>,
) -> ApiResult<Response> {
    auth.require(INBOX_STAFF)?;
    let (meta, bytes) = s
        .inbox
        .file(&id, &sha)?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such file"))?;
    Ok(Response::builder()
        .header(header::CONTENT_TYPE, meta.content_type)
        .header(header::CONTENT_DISPOSITION, "attachment")
        .header("x-content-type-options", "nosniff")
        .body(Body::from(bytes))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response()))
}

#[utoipa::path(post, path = "/api/v1/inbox/{id}/take", params(("id" = String, Path)),
    responses((status = 200, body = Conversation), (status = 404, body = ApiErrorBody), (status = 409, body = ApiErrorBody)))]
async fn inbox_take(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Conversation>> {
    auth.require(INBOX_STAFF)?;
    Ok(Json(s.inbox.take(&id, &auth.user.login, now_ms()).await?))
}

#[utoipa::path(post, path = "/api/v1/inbox/{id}/close", params(("id" = String, Path)),
    responses((status = 200, body = Conversation), (status = 404, body = ApiErrorBody), (status = 409, body = ApiErrorBody)))]
async fn inbox_close(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Conversation>> {
    auth.require(INBOX_STAFF)?;
    Ok(Json(s.inbox.close(&id, &auth.user.login, now_ms()).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplyInput {
    #[schema(min_length = 1, max_length = 16384)]
    text: String,
}

#[derive(Serialize, ToSchema)]
pub struct ReplyQueued {
    /// The answer's id in the conversation (and its outbox id).
    message_id: String,
}

#[utoipa::path(post, path = "/api/v1/inbox/{id}/reply", params(("id" = String, Path)), request_body = ReplyInput,
    responses((status = 201, body = ReplyQueued), (status = 404, body = ApiErrorBody), (status = 409, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
async fn inbox_reply(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ReplyInput>,
) -> ApiResult<(StatusCode, Json<ReplyQueued>)> {
    auth.require(INBOX_STAFF)?;
    let message_id = s
        .inbox
        .reply(&id, &auth.user.login, &input.text, now_ms())
        .await?;
    Ok((StatusCode::CREATED, Json(ReplyQueued { message_id })))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FromMessage {
    /// The citizen's message to carry; their last one when absent (send `{}`).
    #[serde(default)]
    message_id: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/inbox/{id}/card", params(("id" = String, Path)), request_body = FromMessage,
    responses((status = 201, body = Card), (status = 404, body = ApiErrorBody), (status = 409, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
async fn inbox_card(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<FromMessage>,
) -> ApiResult<(StatusCode, Json<Card>)> {
    auth.require(INBOX_STAFF)?;
    let card = s
        .inbox
        .open_card(
            &id,
            &auth.user.login,
            input.message_id.as_deref(),
            false,
            now_ms(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(card)))
}

#[utoipa::path(post, path = "/api/v1/inbox/{id}/appeal", params(("id" = String, Path)), request_body = FromMessage,
    responses((status = 201, body = Appeal), (status = 404, body = ApiErrorBody), (status = 409, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
async fn inbox_appeal(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<FromMessage>,
) -> ApiResult<(StatusCode, Json<Appeal>)> {
    auth.require(INBOX_STAFF)?;
    let appeal = s
        .inbox
        .open_appeal(&id, &auth.user.login, input.message_id.as_deref(), now_ms())
        .await?;
    Ok((StatusCode::CREATED, Json(appeal)))
}

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/inbox", get(inbox_list))
        .route("/inbox/{id}", get(inbox_get))
        .route("/inbox/{id}/files/{sha256}", get(inbox_file))
        .route("/inbox/{id}/take", post(inbox_take))
        .route("/inbox/{id}/reply", post(inbox_reply))
        .route("/inbox/{id}/close", post(inbox_close))
        .route("/inbox/{id}/card", post(inbox_card))
        .route("/inbox/{id}/appeal", post(inbox_appeal))
}
