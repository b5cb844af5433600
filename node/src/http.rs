//! HTTP API (axum): JSON under `/api/v1`, OpenAPI generated from these handlers, `/healthz`,
//! `/metrics`, live events over SSE, and the embedded console.
//!
//! Every error is JSON `{code, message, field?}` with a 4xx (or 5xx for storage failures that
//! are not the caller's fault). Handlers validate fully before calling the service, and the
//! service validates before writing, so a rejected request stores nothing.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::{header, request::Parts, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use axum::{Json, Router};
use futures::Stream;
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use sync::{
    Card, CardCommand, CardCreate, CardEdit, CardStatus, CardSummary, DomainError, Finish, Role,
    RosterCreate, RosterEntry, Unit, UnitStep,
};
use utoipa::{OpenApi, ToSchema};

use crate::accounts::{AccountError, AccountPatch, Accounts, NewAccount, User};
use crate::audit::AuditEntry;
use crate::metrics::Metrics;
use crate::service::{CardService, LiveEvent, ServiceError};
use crate::warnings::FoundWarning;

/// Shared state of the HTTP shell.
pub struct AppState {
    pub service: Arc<CardService>,
    pub accounts: Arc<Accounts>,
    pub metrics: Arc<Metrics>,
    pub http_body_bytes_max: usize,
    /// Becomes `true` when the node shuts down: live streams end so the server can stop.
    pub shutdown: tokio::sync::watch::Receiver<bool>,
    /// State of the connection to the central hub.
    pub replication: Arc<std::sync::Mutex<crate::replication::ReplicationStatus>>,
    /// Citizen calls, media and recordings.
    pub calls: Arc<crate::calls::CallService>,
}

pub type SharedState = Arc<AppState>;

/// Wall clock, read only in the shell.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub const SESSION_COOKIE: &str = "node_session";

// ---------------------------------------------------------------------------------- errors

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiErrorBody {
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: ApiErrorBody,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            body: ApiErrorBody {
                code: code.to_string(),
                message: message.into(),
                field: None,
            },
        }
    }
    fn with_field(mut self, field: Option<String>) -> Self {
        self.body.field = field.filter(|f| !f.is_empty());
        self
    }
    fn forbidden(needed: &[Role]) -> Self {
        let names: Vec<&str> = needed.iter().map(|r| r.as_str()).collect();
        ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("this action needs one of the roles: {}", names.join(", ")),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        let status = match &e {
            DomainError::InvalidField { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            DomainError::InvalidTransition { .. } => StatusCode::CONFLICT,
            DomainError::NotFound { .. } => StatusCode::NOT_FOUND,
            DomainError::CorruptDocument(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let field = e.field_name().map(str::to_string);
        ApiError::new(status, e.code(), e.to_string()).with_field(field)
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Domain(d) => d.into(),
            ServiceError::NotFound(m) => ApiError::new(StatusCode::NOT_FOUND, "not_found", m),
            ServiceError::Warnings(w) => {
                let status = if w.code() == "invalid_field" {
                    StatusCode::UNPROCESSABLE_ENTITY
                } else {
                    StatusCode::SERVICE_UNAVAILABLE
                };
                ApiError::new(status, w.code(), w.to_string())
            }
            ServiceError::Store(s) => {
                tracing::error!(error = %s, "storage failure");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "storage_error",
                    "the change could not be saved; nothing was acknowledged — try again",
                )
            }
        }
    }
}

impl From<AccountError> for ApiError {
    fn from(e: AccountError) -> Self {
        let status = match &e {
            AccountError::InvalidLogin
            | AccountError::WeakPassword(_)
            | AccountError::InvalidField { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AccountError::LoginTaken | AccountError::LastAdmin => StatusCode::CONFLICT,
            AccountError::NotFound => StatusCode::NOT_FOUND,
            AccountError::BadCredentials | AccountError::InvalidSession => StatusCode::UNAUTHORIZED,
            AccountError::AccountLocked { .. } => StatusCode::LOCKED,
            AccountError::AccountDisabled => StatusCode::FORBIDDEN,
            AccountError::Corrupt(_) | AccountError::Store(_) | AccountError::Internal(_) => {
                tracing::error!(error = %e, "account storage failure");
                StatusCode::SERVICE_UNAVAILABLE
            }
        };
        let field = e.field().map(str::to_string);
        ApiError::new(status, e.code(), e.to_string()).with_field(field)
    }
}

pub(crate) type ApiResult<T> = Result<T, ApiError>;

// ------------------------------------------------------------------------------ extractors

/// JSON body with JSON errors: malformed JSON, unknown fields and wrong types name the field.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "body_too_large",
                        "the request body is larger than http_body_bytes_max",
                    )
                } else {
                    ApiError::new(StatusCode::BAD_REQUEST, "bad_body", e.body_text())
                }
            })?;
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error::deserialize(de)
            .map(ApiJson)
            .map_err(|e| {
                let path = e.path().to_string();
                let inner = e.into_inner();
                let msg = inner.to_string();
                let (code, field) = if msg.starts_with("unknown field") {
                    ("unknown_field", path)
                } else if inner.is_syntax() || inner.is_eof() {
                    ("malformed_json", String::new())
                } else {
                    ("invalid_field", path)
                };
                let field = if field == "." { String::new() } else { field };
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    code,
                    format!("request body: {msg}"),
                )
                .with_field(Some(field))
            })
    }
}

/// The logged-in user of a request (Bearer token or the session cookie).
pub struct Auth {
    pub user: User,
    pub token: String,
}

impl Auth {
    pub(crate) fn require(&self, any_of: &[Role]) -> ApiResult<()> {
        if any_of.iter().any(|r| self.user.has_role(*r)) {
            Ok(())
        } else {
            Err(ApiError::forbidden(any_of))
        }
    }
}

fn token_from(headers: &HeaderMap) -> Option<String> {
    if let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        if let Some(t) = v.strip_prefix("Bearer ") {
            return Some(t.trim().to_string());
        }
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v.to_string())
}

impl FromRequestParts<SharedState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &SharedState,
    ) -> Result<Self, Self::Rejection> {
        let token = token_from(&parts.headers).ok_or_else(|| {
            ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", "log in first")
        })?;
        let user = state
            .accounts
            .authenticate(&token, now_ms())
            .map_err(|e| match e {
                AccountError::Store(_) | AccountError::Corrupt(_) | AccountError::Internal(_) => {
                    ApiError::from(e)
                }
                _ => ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", e.to_string()),
            })?;
        Ok(Auth { user, token })
    }
}

const STAFF: &[Role] = &Role::ALL;

// ------------------------------------------------------------------------------ handlers

#[derive(Serialize, ToSchema)]
pub struct Health {
    status: &'static str,
}

#[utoipa::path(get, path = "/healthz", responses((status = 200, body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

#[utoipa::path(get, path = "/metrics", responses((status = 200, description = "Prometheus text format")))]
async fn metrics(State(s): State<SharedState>) -> Response {
    let replication = s
        .replication
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let text = s.metrics.render(&s.service, &replication, &s.calls);
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    login: String,
    password: String,
}

#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    token: String,
    user: User,
}

#[utoipa::path(post, path = "/api/v1/auth/login", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = ApiErrorBody), (status = 423, body = ApiErrorBody)))]
async fn login(
    State(s): State<SharedState>,
    ApiJson(req): ApiJson<LoginRequest>,
) -> ApiResult<Response> {
    let (token, user) = s
        .accounts
        .login(&req.login, &req.password, now_ms())
        .await?;
    let cookie = format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict");
    let mut resp = Json(LoginResponse { token, user }).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(resp)
}

#[utoipa::path(post, path = "/api/v1/auth/logout", responses((status = 204)))]
async fn logout(State(s): State<SharedState>, auth: Auth) -> ApiResult<Response> {
    s.accounts.logout(&auth.token, now_ms()).await?;
    let mut resp = StatusCode::NO_CONTENT.into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("node_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    Ok(resp)
}

#[utoipa::path(get, path = "/api/v1/me", responses((status = 200, body = User)))]
async fn me(auth: Auth) -> Json<User> {
    Json(auth.user)
}

#[derive(Serialize, ToSchema)]
pub struct ReferenceResponse {
    #[serde(flatten)]
    reference: sync::Reference,
    channels: Vec<sync::Channel>,
    roles: Vec<Role>,
}

#[utoipa::path(get, path = "/api/v1/reference", responses((status = 200, body = ReferenceResponse)))]
async fn reference(State(s): State<SharedState>, auth: Auth) -> ApiResult<Json<ReferenceResponse>> {
    auth.require(STAFF)?;
    Ok(Json(ReferenceResponse {
        reference: s.service.reference().clone(),
        channels: sync::Channel::ALL.to_vec(),
        roles: Role::ALL.to_vec(),
    }))
}

#[utoipa::path(post, path = "/api/v1/cards", request_body = CardCreate,
    responses((status = 201, body = Card), (status = 400, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
async fn create_card(
    State(s): State<SharedState>,
    auth: Auth,
    ApiJson(input): ApiJson<CardCreate>,
) -> ApiResult<(StatusCode, Json<Card>)> {
    auth.require(&[Role::CallTaker, Role::Dispatcher])?;
    let card = s
        .service
        .create_card(&auth.user.login, &input, now_ms())
        .await?;
    Ok((StatusCode::CREATED, Json(card)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// One status (default: every open status).
    status: Option<String>,
    /// One district code.
    district: Option<String>,
    limit: Option<usize>,
}

#[utoipa::path(get, path = "/api/v1/cards", params(ListQuery), responses((status = 200, body = [CardSummary])))]
async fn list_cards(
    State(s): State<SharedState>,
    auth: Auth,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Vec<CardSummary>>> {
    auth.require(STAFF)?;
    let status = match q.status.as_deref() {
        None | Some("") => None,
        Some(st) => Some(CardStatus::parse(st).ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_field",
                format!(
                    "unknown status '{}'",
                    st.chars().take(32).collect::<String>()
                ),
            )
            .with_field(Some("status".into()))
        })?),
    };
    let list = s.service.list_cards(
        status,
        q.district.as_deref().filter(|d| !d.is_empty()),
        q.limit.unwrap_or(500),
    )?;
    Ok(Json(list))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    /// A day, `YYYY-MM-DD` (UTC).
    date: Option<String>,
    /// A unit id: every card the unit was dispatched to.
    unit_id: Option<String>,
    limit: Option<usize>,
}

#[utoipa::path(get, path = "/api/v1/cards/history", params(HistoryQuery), responses((status = 200, body = [CardSummary])))]
async fn card_history(
    State(s): State<SharedState>,
    auth: Auth,
    Query(q): Query<HistoryQuery>,
) -> ApiResult<Json<Vec<CardSummary>>> {
    auth.require(&[Role::Dispatcher, Role::DutyOfficer, Role::Supervisor])?;
    Ok(Json(s.service.history(
        q.date.as_deref(),
        q.unit_id.as_deref(),
        q.limit.unwrap_or(200),
    )?))
}

#[derive(Serialize, ToSchema)]
pub struct CardWithWarnings {
    #[serde(flatten)]
    card: Card,
    /// Address warnings for the card's address (R08); only for roles that act on them.
    #[serde(skip_serializing_if = "Option::is_none")]
    warnings: Option<Vec<FoundWarning>>,
}

fn sees_warnings(user: &User) -> bool {
    [Role::Dispatcher, Role::DutyOfficer, Role::Supervisor]
        .iter()
        .any(|r| user.has_role(*r))
}

#[utoipa::path(get, path = "/api/v1/cards/{id}", params(("id" = String, Path, description = "UUID or number such as AST-2026-000123")),
    responses((status = 200, body = CardWithWarnings), (status = 404, body = ApiErrorBody)))]
async fn get_card(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<CardWithWarnings>> {
    auth.require(STAFF)?;
    let card = s.service.get_card(&id)?;
    let warnings = if sees_warnings(&auth.user) {
        Some(
            card.location
                .as_ref()
                .and_then(|l| l.address.as_deref())
                .map(|a| s.service.warnings_for(a))
                .transpose()?
                .unwrap_or_default(),
        )
    } else {
        None
    };
    Ok(Json(CardWithWarnings { card, warnings }))
}

#[utoipa::path(patch, path = "/api/v1/cards/{id}", request_body = CardEdit, responses((status = 200, body = Card)))]
async fn edit_card(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(edit): ApiJson<CardEdit>,
) -> ApiResult<Json<Card>> {
    auth.require(&[Role::CallTaker, Role::Dispatcher])?;
    Ok(Json(
        s.service
            .apply(&auth.user.login, &id, CardCommand::Edit(edit), now_ms())
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/cards/{id}/send-for-processing", responses((status = 200, body = Card), (status = 409, body = ApiErrorBody)))]
async fn send_for_processing(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Card>> {
    auth.require(&[Role::CallTaker])?;
    Ok(Json(
        s.service
            .apply(
                &auth.user.login,
                &id,
                CardCommand::SendForProcessing,
                now_ms(),
            )
            .await?,
    ))
}

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

async fn unit_step_common(
    s: &AppState,
    auth: &Auth,
    id: &str,
    unit_id: &str,
    step: UnitStep,
) -> ApiResult<Json<Card>> {
    auth.require(&[Role::Dispatcher, Role::Patrol])?;
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

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TextRequest {
    text: String,
}

#[utoipa::path(post, path = "/api/v1/cards/{id}/report", request_body = TextRequest, responses((status = 200, body = Card)))]
async fn report(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<TextRequest>,
) -> ApiResult<Json<Card>> {
    auth.require(&[Role::Dispatcher, Role::Patrol])?;
    Ok(Json(
        s.service
            .apply(
                &auth.user.login,
                &id,
                CardCommand::Report { text: req.text },
                now_ms(),
            )
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/cards/{id}/notes", request_body = TextRequest, responses((status = 200, body = Card)))]
async fn note(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<TextRequest>,
) -> ApiResult<Json<Card>> {
    auth.require(STAFF)?;
    Ok(Json(
        s.service
            .apply(
                &auth.user.login,
                &id,
                CardCommand::Note { text: req.text },
                now_ms(),
            )
            .await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseRequest {
    #[serde(default)]
    report: Option<String>,
    #[serde(default)]
    reason: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/cards/{id}/close", request_body = CloseRequest, responses((status = 200, body = Card), (status = 422, body = ApiErrorBody)))]
async fn close(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<CloseRequest>,
) -> ApiResult<Json<Card>> {
    auth.require(&[Role::Dispatcher])?;
    let how = Finish::Close {
        report: req.report.filter(|r| !r.trim().is_empty()),
        reason: req.reason.filter(|r| !r.trim().is_empty()),
    };
    Ok(Json(
        s.service
            .finish(&auth.user.login, &id, how, now_ms())
            .await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelRequest {
    reason: String,
}

#[utoipa::path(post, path = "/api/v1/cards/{id}/cancel", request_body = CancelRequest, responses((status = 200, body = Card)))]
async fn cancel(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<CancelRequest>,
) -> ApiResult<Json<Card>> {
    auth.require(&[Role::CallTaker, Role::Dispatcher])?;
    Ok(Json(
        s.service
            .finish(
                &auth.user.login,
                &id,
                Finish::Cancel { reason: req.reason },
                now_ms(),
            )
            .await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DuplicateRequest {
    duplicate_of: String,
}

#[utoipa::path(post, path = "/api/v1/cards/{id}/link-duplicate", request_body = DuplicateRequest, responses((status = 200, body = Card)))]
async fn link_duplicate(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<DuplicateRequest>,
) -> ApiResult<Json<Card>> {
    auth.require(&[Role::CallTaker, Role::Dispatcher])?;
    // The target must exist on this node.
    let target = s.service.get_card(&req.duplicate_of)?;
    Ok(Json(
        s.service
            .apply(
                &auth.user.login,
                &id,
                CardCommand::LinkDuplicate {
                    duplicate_of: target.number,
                },
                now_ms(),
            )
            .await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ForwardRequest {
    duty_unit: String,
}

#[utoipa::path(post, path = "/api/v1/cards/{id}/forward", request_body = ForwardRequest, responses((status = 200, body = Card)))]
async fn forward(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ForwardRequest>,
) -> ApiResult<Json<Card>> {
    auth.require(&[Role::Dispatcher])?;
    Ok(Json(
        s.service
            .apply(
                &auth.user.login,
                &id,
                CardCommand::Forward {
                    duty_unit: req.duty_unit,
                },
                now_ms(),
            )
            .await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KuiRequest {
    number: String,
}

#[utoipa::path(post, path = "/api/v1/cards/{id}/kui", request_body = KuiRequest, responses((status = 200, body = Card)))]
async fn register_kui(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<KuiRequest>,
) -> ApiResult<Json<Card>> {
    auth.require(&[Role::DutyOfficer])?;
    Ok(Json(
        s.service
            .apply(
                &auth.user.login,
                &id,
                CardCommand::RegisterKui { number: req.number },
                now_ms(),
            )
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
    Ok((
        StatusCode::CREATED,
        Json(
            s.service
                .add_roster_entry(&auth.user.login, &req, now_ms())
                .await?,
        ),
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct WarningsQuery {
    address: String,
}

#[utoipa::path(get, path = "/api/v1/warnings", params(WarningsQuery), responses((status = 200, body = [FoundWarning])))]
async fn warnings(
    State(s): State<SharedState>,
    auth: Auth,
    Query(q): Query<WarningsQuery>,
) -> ApiResult<Json<Vec<FoundWarning>>> {
    auth.require(&[Role::Dispatcher, Role::DutyOfficer, Role::Supervisor])?;
    if q.address.chars().count() > sync::model::limits::ADDRESS_CHARS_MAX {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            "address is too long",
        )
        .with_field(Some("address".into())));
    }
    Ok(Json(s.service.warnings_for(&q.address)?))
}

#[utoipa::path(get, path = "/api/v1/accounts", responses((status = 200, body = [User])))]
async fn list_accounts(State(s): State<SharedState>, auth: Auth) -> ApiResult<Json<Vec<User>>> {
    auth.require(&[Role::Admin])?;
    Ok(Json(s.accounts.list()?))
}

#[utoipa::path(post, path = "/api/v1/accounts", request_body = NewAccount, responses((status = 201, body = User), (status = 409, body = ApiErrorBody)))]
async fn create_account(
    State(s): State<SharedState>,
    auth: Auth,
    ApiJson(req): ApiJson<NewAccount>,
) -> ApiResult<(StatusCode, Json<User>)> {
    auth.require(&[Role::Admin])?;
    check_district(&s, req.district.as_deref())?;
    Ok((
        StatusCode::CREATED,
        Json(s.accounts.create(&auth.user.login, req, now_ms()).await?),
    ))
}

fn check_district(s: &AppState, district: Option<&str>) -> ApiResult<()> {
    match district {
        Some(d) if !d.is_empty() && s.service.reference().district(d).is_none() => {
            Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                format!(
                    "unknown district '{}'",
                    d.chars().take(64).collect::<String>()
                ),
            )
            .with_field(Some("district".into())))
        }
        _ => Ok(()),
    }
}

#[utoipa::path(patch, path = "/api/v1/accounts/{login}", request_body = AccountPatch, responses((status = 200, body = User)))]
async fn update_account(
    State(s): State<SharedState>,
    auth: Auth,
    Path(login): Path<String>,
    ApiJson(req): ApiJson<AccountPatch>,
) -> ApiResult<Json<User>> {
    auth.require(&[Role::Admin])?;
    check_district(&s, req.district.as_deref())?;
    Ok(Json(
        s.accounts
            .update(&auth.user.login, &login, req, now_ms())
            .await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/accounts/{login}", responses((status = 204)))]
async fn delete_account(
    State(s): State<SharedState>,
    auth: Auth,
    Path(login): Path<String>,
) -> ApiResult<StatusCode> {
    auth.require(&[Role::Admin])?;
    s.accounts
        .delete(&auth.user.login, &login, now_ms())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    limit: Option<usize>,
}

/// Most audit entries one request returns.
pub const AUDIT_LIST_ENTRIES_MAX: usize = 1_000;

#[utoipa::path(get, path = "/api/v1/audit", params(AuditQuery), responses((status = 200, body = [AuditEntry])))]
async fn audit_list(
    State(s): State<SharedState>,
    auth: Auth,
    Query(q): Query<AuditQuery>,
) -> ApiResult<Json<Vec<AuditEntry>>> {
    auth.require(&[Role::Admin, Role::Supervisor])?;
    let n = q.limit.unwrap_or(100).min(AUDIT_LIST_ENTRIES_MAX);
    crate::audit::list_recent(&**s.service.store(), n)
        .map(Json)
        .map_err(|e| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "storage_error",
                e.to_string(),
            )
        })
}

#[utoipa::path(get, path = "/api/v1/events", responses((status = 200, description = "Server-Sent Events: `card` (CardSummary) and `unit` (Unit); `resync` when events were missed")))]
async fn events(
    State(s): State<SharedState>,
    auth: Auth,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    auth.require(STAFF)?;
    let rx = s.service.subscribe();
    let shutdown = s.shutdown.clone();
    // Calls (with the caller's phone and position) go only to those who answer or supervise them.
    let sees_calls = auth.user.has_role(Role::CallTaker) || auth.user.has_role(Role::Supervisor);
    let stream =
        futures::stream::unfold((rx, shutdown), move |(mut rx, mut shutdown)| async move {
            let ev = loop {
                let received = tokio::select! {
                    r = rx.recv() => r,
                    _ = shutdown.wait_for(|stop| *stop) => return None,
                };
                break match received {
                    Ok(LiveEvent::Card(c)) => Event::default().event("card").json_data(c).ok()?,
                    Ok(LiveEvent::Unit(u)) => Event::default().event("unit").json_data(u).ok()?,
                    Ok(LiveEvent::Call(c)) => {
                        if !sees_calls {
                            continue;
                        }
                        Event::default().event("call").json_data(c).ok()?
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        Event::default().event("resync").data(n.to_string())
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                };
            };
            Some((Ok(ev), (rx, shutdown)))
        });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

// ------------------------------------------------------------------------------ console

const INDEX_HTML: &str = include_str!("../assets/console/index.html");
const APP_JS: &str = include_str!("../assets/console/app.js");
const APP_CSS: &str = include_str!("../assets/console/app.css");
const I18N_JS: &str = include_str!("../assets/console/i18n.js");

async fn console_index() -> Html<&'static str> {
    Html(INDEX_HTML)
}

const CITIZEN_HTML: &str = include_str!("../assets/citizen/index.html");

/// A citizen's calling page that behaves like the "102" app (for tests and demonstrations).
async fn citizen_page() -> Html<&'static str> {
    Html(CITIZEN_HTML)
}

async fn console_asset(Path(name): Path<String>) -> Response {
    let (body, ctype) = match name.as_str() {
        "app.js" => (APP_JS, "text/javascript; charset=utf-8"),
        "i18n.js" => (I18N_JS, "text/javascript; charset=utf-8"),
        "app.css" => (APP_CSS, "text/css; charset=utf-8"),
        _ => {
            return ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such asset")
                .into_response()
        }
    };
    (
        [
            (header::CONTENT_TYPE, ctype),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

// ------------------------------------------------------------------------------ router

#[derive(OpenApi)]
#[openapi(
    info(
        title = "102 regional node API",
        description = "Cards, dispatch, accounts and audit of a regional ЦОУ node."
    ),
    paths(
        healthz,
        metrics,
        login,
        logout,
        me,
        reference,
        create_card,
        list_cards,
        card_history,
        get_card,
        edit_card,
        send_for_processing,
        dispatch_unit,
        dispatch_dsog,
        unit_en_route,
        unit_on_scene,
        unit_clear,
        unit_unassign,
        report,
        note,
        close,
        cancel,
        link_duplicate,
        forward,
        register_kui,
        list_units,
        set_unit_status,
        get_roster,
        add_roster,
        warnings,
        list_accounts,
        create_account,
        update_account,
        delete_account,
        audit_list,
        events,
        crate::calls::api::list_calls,
        crate::calls::api::get_call,
        crate::calls::api::operators,
        crate::calls::api::accept,
        crate::calls::api::transfer,
        crate::calls::api::decline,
        crate::calls::api::hangup,
        crate::calls::api::list_recordings,
        crate::calls::api::recording_file
    )
)]
pub struct ApiDoc;

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

async fn track(State(s): State<SharedState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let resp = next.run(req).await;
    s.metrics
        .observe_http(method.as_str(), resp.status().as_u16(), started.elapsed());
    resp
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}

/// The whole HTTP application; tests call it without a socket.
pub fn app(state: SharedState) -> Router {
    let api = Router::new()
        .route("/auth/login", post(login))
        .route("/auth/logout", post(logout))
        .route("/me", get(me))
        .route("/reference", get(reference))
        .route("/cards", post(create_card).get(list_cards))
        .route("/cards/history", get(card_history))
        .route("/cards/{id}", get(get_card).patch(edit_card))
        .route("/cards/{id}/send-for-processing", post(send_for_processing))
        .route("/cards/{id}/dispatch", post(dispatch_unit))
        .route("/cards/{id}/dsog", post(dispatch_dsog))
        .route("/cards/{id}/units/{unit_id}", delete(unit_unassign))
        .route("/cards/{id}/units/{unit_id}/en-route", post(unit_en_route))
        .route("/cards/{id}/units/{unit_id}/on-scene", post(unit_on_scene))
        .route("/cards/{id}/units/{unit_id}/clear", post(unit_clear))
        .route("/cards/{id}/report", post(report))
        .route("/cards/{id}/notes", post(note))
        .route("/cards/{id}/close", post(close))
        .route("/cards/{id}/cancel", post(cancel))
        .route("/cards/{id}/link-duplicate", post(link_duplicate))
        .route("/cards/{id}/forward", post(forward))
        .route("/cards/{id}/kui", post(register_kui))
        .route("/units", get(list_units))
        .route("/units/{id}/status", post(set_unit_status))
        .route("/roster", get(get_roster).post(add_roster))
        .route("/warnings", get(warnings))
        .route("/accounts", get(list_accounts).post(create_account))
        .route(
            "/accounts/{login}",
            patch(update_account).delete(delete_account),
        )
        .route("/audit", get(audit_list))
        .route("/events", get(events))
        .route("/openapi.json", get(openapi))
        .merge(crate::calls::api::routes())
        .fallback(not_found);
    Router::new()
        .route("/", get(console_index))
        .route("/assets/{name}", get(console_asset))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/citizen", get(citizen_page))
        .route("/citizen/v1/ws", get(crate::calls::citizen::citizen_ws))
        .nest("/api/v1", api)
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(state.http_body_bytes_max))
        .layer(middleware::from_fn_with_state(state.clone(), track))
        .with_state(state)
}
