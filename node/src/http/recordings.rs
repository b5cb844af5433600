//! Call recordings (R09): the list and each file, for those who may listen, view and export.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use server_kit::clock::now_ms;
use server_kit::web::{ApiErrorBody, ApiResult, Auth};
use sync::Role;

use super::state::SharedState;
use crate::calls::{CallRecord, CallServiceError};

/// R09: who may listen to, view and export recordings.
pub const RECORDINGS: &[Role] = &[Role::Supervisor, Role::DutyOfficer];

/// Named limits of the recordings API.
pub mod limits {
    /// Recordings listed at once.
    pub const RECORDINGS_LIST_MAX: usize = 500;
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RecordingsQuery {
    /// Only the calls of this card (id).
    pub card: Option<String>,
    /// At most this many (default and maximum 500).
    pub limit: Option<usize>,
}

#[utoipa::path(get, path = "/api/v1/recordings", params(RecordingsQuery),
    responses((status = 200, body = [CallRecord]), (status = 403, body = ApiErrorBody)))]
pub async fn list_recordings(
    State(s): State<SharedState>,
    auth: Auth,
    Query(q): Query<RecordingsQuery>,
) -> ApiResult<Json<Vec<CallRecord>>> {
    auth.require(RECORDINGS)?;
    let limit = q
        .limit
        .unwrap_or(limits::RECORDINGS_LIST_MAX)
        .min(limits::RECORDINGS_LIST_MAX);
    Ok(Json(
        s.calls
            .recordings(q.card.as_deref(), limit)
            .map_err(CallServiceError::from)?,
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FileQuery {
    /// Download as an attachment to hand to a unit (audited as an export).
    #[serde(default)]
    pub export: bool,
}

#[utoipa::path(get, path = "/api/v1/recordings/{id}/files/{name}", params(("id" = String, Path), ("name" = String, Path), FileQuery),
    responses((status = 200, description = "audio/ogg or video/x-ivf"), (status = 403, body = ApiErrorBody), (status = 404, body = ApiErrorBody),
        (status = 410, body = ApiErrorBody, description = "deleted after the retention period")))]
pub async fn recording_file(
    State(s): State<SharedState>,
    auth: Auth,
    Path((id, name)): Path<(String, String)>,
    Query(q): Query<FileQuery>,
) -> ApiResult<Response> {
    auth.require(RECORDINGS)?;
    let (file, handle) = s
        .calls
        .open_recording(&id, &name, &auth.user.login, q.export, now_ms())
        .await?;
    let mime = if file.name.ends_with(".ogg") {
        "audio/ogg"
    } else {
        "video/x-ivf"
    };
    let disposition = if q.export {
        format!("attachment; filename=\"{id}-{}\"", file.name)
    } else {
        "inline".to_string()
    };
    let len = handle
        .metadata()
        .await
        .map(|m| m.len())
        .unwrap_or(file.bytes);
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(handle));
    Ok((
        [
            (header::CONTENT_TYPE, mime.to_string()),
            (header::CONTENT_LENGTH, len.to_string()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        body,
    )
        .into_response())
}

/// Routes under `/api/v1`.
pub(super) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/recordings", get(list_recordings))
        .route("/recordings/{id}/files/{name}", get(recording_file))
}
