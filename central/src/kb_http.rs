//! The knowledge base's API at the hub (R19): HQ reads the articles, `kb_editor`s write those
//! of their competence ([`crate::kb`]). Routed and documented with the rest of the hub's API in
//! [`crate::http`].

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use server_kit::clock::now_ms;
use server_kit::web::{ApiError, ApiErrorBody, ApiJson, Auth};
use sync::article::{Article, ArticleCommand, ArticleContent};
use sync::Role;
use utoipa::ToSchema;

use crate::http_state::Shared;
use crate::kb::{Editor, KbError};

type ApiResult<T> = Result<T, ApiError>;

/// Who reads the knowledge base at the hub.
const KB_READERS: &[Role] = &[Role::KbEditor, Role::HqDuty, Role::HqAnalyst];
/// Who writes it (each editor the articles of their account's service).
const KB_WRITERS: &[Role] = &[Role::KbEditor];

fn storage(e: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "storage failure");
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "storage_error",
        "the national store cannot be read or written right now",
    )
}

impl From<KbError> for ApiError {
    fn from(e: KbError) -> Self {
        match e {
            KbError::NotFound(_) => {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", e.to_string())
            }
            KbError::Exists(_) => {
                ApiError::new(StatusCode::CONFLICT, "article_exists", e.to_string())
                    .with_field(Some("id".into()))
            }
            KbError::NoCompetence => {
                ApiError::new(StatusCode::FORBIDDEN, "kb_no_competence", e.to_string())
            }
            KbError::NotYourCompetence { .. } => ApiError::new(
                StatusCode::FORBIDDEN,
                "kb_not_your_competence",
                e.to_string(),
            ),
            KbError::Refused(d) => d.into(),
            KbError::Storage(_) => storage(e),
        }
    }
}

fn editor(auth: &Auth) -> Editor {
    Editor {
        login: auth.user.login.clone(),
        competence: auth.user.service.clone(),
    }
}

/// Runs a blocking knowledge-base call off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, KbError> + Send + 'static,
) -> ApiResult<T> {
    Ok(tokio::task::spawn_blocking(f).await.map_err(storage)??)
}

/// A new article.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewArticle {
    /// 1–64 of `a-z`, `0-9`, `-` (e.g. `lost-id-card`); a new UUID when absent.
    #[serde(default)]
    pub id: Option<String>,
    /// The service that owns it: the editor's own, which is also the default.
    #[serde(default)]
    pub competence: Option<String>,
    pub content: ArticleContent,
}

/// A new draft of an article.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArticleEdit {
    pub content: ArticleContent,
}

/// An article after a change.
#[derive(Serialize, ToSchema)]
pub struct ArticleChanged {
    pub article: Article,
    /// False when the command changed nothing (the same draft, already published or withdrawn).
    pub changed: bool,
}

#[utoipa::path(get, path = "/api/v1/kb/articles", tag = "kb", security(("bearer" = [])),
    responses(
        (status = 200, description = "Every article of the knowledge base with its draft, state and published versions, by id", body = [Article]),
        (status = 401, description = "No valid token (`unauthenticated`)", body = ApiErrorBody),
        (status = 403, description = "Not an HQ account that reads the knowledge base (`forbidden`)", body = ApiErrorBody),
        (status = 503, description = "The national store cannot be read right now (`storage_error`)", body = ApiErrorBody)))]
pub async fn list(State(s): State<Shared>, auth: Auth) -> ApiResult<Json<Vec<Article>>> {
    auth.require(KB_READERS)?;
    let kb = s.kb.clone();
    Ok(Json(blocking(move || kb.list()).await?))
}

#[utoipa::path(get, path = "/api/v1/kb/articles/{id}", tag = "kb", security(("bearer" = [])),
    params(("id" = String, Path, description = "The article's id")),
    responses(
        (status = 200, description = "The article", body = Article),
        (status = 401, description = "No valid token (`unauthenticated`)", body = ApiErrorBody),
        (status = 403, description = "Not an HQ account that reads the knowledge base (`forbidden`)", body = ApiErrorBody),
        (status = 404, description = "No such article (`not_found`)", body = ApiErrorBody),
        (status = 422, description = "The id is not an article id (`invalid_field`)", body = ApiErrorBody),
        (status = 503, description = "The national store cannot be read right now (`storage_error`)", body = ApiErrorBody)))]
pub async fn get(
    State(s): State<Shared>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Article>> {
    auth.require(KB_READERS)?;
    let kb = s.kb.clone();
    Ok(Json(blocking(move || kb.get(&id)).await?))
}

#[utoipa::path(post, path = "/api/v1/kb/articles", tag = "kb", security(("bearer" = [])),
    request_body = NewArticle,
    responses(
        (status = 201, description = "The draft article, durable at the hub and offered to every region (nodes answer with it once published)", body = Article),
        (status = 400, description = "The body is not JSON of this shape (`malformed_json`, `unknown_field`, `bad_body`)", body = ApiErrorBody),
        (status = 401, description = "No valid token (`unauthenticated`)", body = ApiErrorBody),
        (status = 403, description = "Not a knowledge-base editor (`forbidden`), an editor whose account names no service (`kb_no_competence`) or another service's article (`kb_not_your_competence`)", body = ApiErrorBody),
        (status = 409, description = "An article with this id exists (`article_exists`)", body = ApiErrorBody),
        (status = 413, description = "The body is larger than `http_body_bytes_max`", body = ApiErrorBody),
        (status = 422, description = "A title or body missing in a language, a text over its limit, too many tags, valid_until before valid_from, a bad id (`invalid_field`, with the field)", body = ApiErrorBody),
        (status = 503, description = "The national store cannot be written right now (`storage_error`)", body = ApiErrorBody)))]
pub async fn create(
    State(s): State<Shared>,
    auth: Auth,
    ApiJson(body): ApiJson<NewArticle>,
) -> ApiResult<(StatusCode, Json<Article>)> {
    auth.require(KB_WRITERS)?;
    let kb = s.kb.clone();
    let editor = editor(&auth);
    let article = blocking(move || {
        kb.create(
            &editor,
            body.id.as_deref(),
            body.competence.as_deref(),
            body.content,
            now_ms(),
        )
    })
    .await?;
    Ok((StatusCode::CREATED, Json(article)))
}

async fn command(
    s: Shared,
    auth: Auth,
    id: String,
    command: ArticleCommand,
) -> ApiResult<Json<ArticleChanged>> {
    auth.require(KB_WRITERS)?;
    let kb = s.kb.clone();
    let editor = editor(&auth);
    let (article, changed) = blocking(move || kb.command(&editor, &id, &command, now_ms())).await?;
    Ok(Json(ArticleChanged { article, changed }))
}

#[utoipa::path(put, path = "/api/v1/kb/articles/{id}", tag = "kb", security(("bearer" = [])),
    params(("id" = String, Path, description = "The article's id")),
    request_body = ArticleEdit,
    responses(
        (status = 200, description = "The new draft, durable; a published article goes on answering with its published version until the next publish", body = ArticleChanged),
        (status = 400, description = "The body is not JSON of this shape (`malformed_json`, `unknown_field`, `bad_body`)", body = ApiErrorBody),
        (status = 401, description = "No valid token (`unauthenticated`)", body = ApiErrorBody),
        (status = 403, description = "Not a knowledge-base editor (`forbidden`), no service on the account (`kb_no_competence`), another service's article (`kb_not_your_competence`)", body = ApiErrorBody),
        (status = 404, description = "No such article (`not_found`)", body = ApiErrorBody),
        (status = 413, description = "The body is larger than `http_body_bytes_max`", body = ApiErrorBody),
        (status = 422, description = "The content does not check (`invalid_field`, with the field)", body = ApiErrorBody),
        (status = 503, description = "The national store cannot be written right now (`storage_error`)", body = ApiErrorBody)))]
pub async fn edit(
    State(s): State<Shared>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ArticleEdit>,
) -> ApiResult<Json<ArticleChanged>> {
    command(
        s,
        auth,
        id,
        ArticleCommand::Edit {
            content: body.content,
        },
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/kb/articles/{id}/publish", tag = "kb", security(("bearer" = [])),
    params(("id" = String, Path, description = "The article's id")),
    responses(
        (status = 200, description = "The draft is published as the next version, durable, and replicates to every region", body = ArticleChanged),
        (status = 401, description = "No valid token (`unauthenticated`)", body = ApiErrorBody),
        (status = 403, description = "Not a knowledge-base editor (`forbidden`), no service on the account (`kb_no_competence`), another service's article (`kb_not_your_competence`)", body = ApiErrorBody),
        (status = 404, description = "No such article (`not_found`)", body = ApiErrorBody),
        (status = 409, description = "The article has been published its maximum number of times (`article_versions_full`)", body = ApiErrorBody),
        (status = 503, description = "The national store cannot be written right now (`storage_error`)", body = ApiErrorBody)))]
pub async fn publish(
    State(s): State<Shared>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<ArticleChanged>> {
    command(s, auth, id, ArticleCommand::Publish).await
}

#[utoipa::path(post, path = "/api/v1/kb/articles/{id}/withdraw", tag = "kb", security(("bearer" = [])),
    params(("id" = String, Path, description = "The article's id")),
    responses(
        (status = 200, description = "The article is withdrawn: nodes stop answering with it once the change reaches them", body = ArticleChanged),
        (status = 401, description = "No valid token (`unauthenticated`)", body = ApiErrorBody),
        (status = 403, description = "Not a knowledge-base editor (`forbidden`), no service on the account (`kb_no_competence`), another service's article (`kb_not_your_competence`)", body = ApiErrorBody),
        (status = 404, description = "No such article (`not_found`)", body = ApiErrorBody),
        (status = 409, description = "A draft never published cannot be withdrawn (`invalid_transition`)", body = ApiErrorBody),
        (status = 503, description = "The national store cannot be written right now (`storage_error`)", body = ApiErrorBody)))]
pub async fn withdraw(
    State(s): State<Shared>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<ArticleChanged>> {
    command(s, auth, id, ArticleCommand::Withdraw).await
}
