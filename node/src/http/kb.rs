//! The knowledge base's search for operators (R19, [`crate::kb`]): the articles the hub
//! published that best answer a citizen's question, to send with one click.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use server_kit::clock::now_ms;
use server_kit::web::{ApiError, ApiErrorBody, ApiResult, Auth};
use sync::{Language, Role};
use utoipa::ToSchema;

use crate::kb::{Hit, KbError, BOT_AUTO_ANSWER_SCORE_MIN, SEARCH_RESULTS_DEFAULT};

use super::state::SharedState;

/// Who searches the knowledge base: the staff who answer citizens.
const KB_SEARCHERS: &[Role] = &[
    Role::CallTaker,
    Role::Dispatcher,
    Role::DutyOfficer,
    Role::Supervisor,
];

impl From<KbError> for ApiError {
    fn from(e: KbError) -> Self {
        tracing::error!(error = %e, "knowledge-base failure");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage_error",
            "the knowledge base cannot be searched right now",
        )
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct KbSearchParams {
    /// The question as the citizen wrote it (up to 1,000 characters are searched).
    q: String,
    /// `kk` or `ru`: the conversation's language (titles and snippets in it). Both languages'
    /// texts are searched either way. `ru` when absent.
    lang: Option<String>,
    /// At most this many articles (1 to 20, default 5).
    limit: Option<usize>,
}

/// The articles found.
#[derive(Serialize, ToSchema)]
pub struct KbSearchResults {
    /// Best first.
    pub articles: Vec<Hit>,
    /// The score at and above which the bot answers with the first article by itself.
    pub auto_answer_score_min: f32,
}

#[utoipa::path(get, path = "/api/v1/kb/search", params(KbSearchParams),
    responses(
        (status = 200, description = "The published articles valid today that best answer the question, with scores and snippets", body = KbSearchResults),
        (status = 400, description = "No question, an unknown language or a limit out of range (`invalid_field`)", body = ApiErrorBody),
        (status = 503, description = "The knowledge base cannot be searched right now (`storage_error`)", body = ApiErrorBody)))]
async fn kb_search(
    State(s): State<SharedState>,
    auth: Auth,
    Query(p): Query<KbSearchParams>,
) -> ApiResult<Json<KbSearchResults>> {
    auth.require(KB_SEARCHERS)?;
    let invalid = |field: &str, message: &str| {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_field", message)
            .with_field(Some(field.to_string()))
    };
    if p.q.trim().is_empty() {
        return Err(invalid("q", "the question is empty"));
    }
    let language = match p.lang.as_deref() {
        None | Some("") => Language::Ru,
        Some(l) => Language::parse(l).ok_or_else(|| invalid("lang", "the language is kk or ru"))?,
    };
    let limit = p.limit.unwrap_or(SEARCH_RESULTS_DEFAULT);
    if !(1..=crate::kb::index::SEARCH_RESULTS_MAX).contains(&limit) {
        return Err(invalid("limit", "the limit is 1 to 20"));
    }
    let kb = s.service.kb().clone();
    let articles = tokio::task::spawn_blocking(move || kb.search(&p.q, language, now_ms(), limit))
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "storage_error",
                e.to_string(),
            )
        })??;
    Ok(Json(KbSearchResults {
        articles,
        auto_answer_score_min: BOT_AUTO_ANSWER_SCORE_MIN,
    }))
}

pub(super) fn routes() -> Router<SharedState> {
    Router::new().route("/kb/search", get(kb_search))
}
