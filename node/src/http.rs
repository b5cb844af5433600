//! HTTP API (axum): JSON under `/api/v1`, OpenAPI generated from these handlers, `/healthz`,
//! `/metrics`, live events over SSE, and the embedded console.
//!
//! Every error is JSON `{code, message, field?}` with a 4xx (or 5xx for storage failures that
//! are not the caller's fault). Handlers validate fully before calling the service, and the
//! service validates before writing, so a rejected request stores nothing.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use futures::Stream;
use serde::{Deserialize, Serialize};
use sync::{
    Card, CardCommand, CardCreate, CardEdit, CardStatus, CardSummary, Finish, Role, RosterCreate,
    RosterEntry, Unit, UnitStep,
};
use utoipa::{OpenApi, ToSchema};

use crate::accounts::{AccountError, Accounts, User};
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
    /// Audited reads of personal data.
    pub reads: Arc<crate::privacy::ReadAudit>,
    /// Reverse proxies whose `X-Forwarded-For` is believed (see [`ClientIp`]).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The session cookie is `Secure` (served over HTTPS).
    pub secure_cookies: bool,
}

pub type SharedState = Arc<AppState>;

impl server_kit::web::WebHost for AppState {
    fn accounts(&self) -> &Arc<Accounts> {
        &self.accounts
    }
    fn cookie_name(&self) -> &'static str {
        SESSION_COOKIE
    }
    fn trusted_proxies(&self) -> &[ipnet::IpNet] {
        &self.trusted_proxies
    }
}

impl server_kit::account_api::AccountsHost for AppState {
    fn audit_store(&self) -> &Arc<dyn crate::store::Store> {
        self.service.store()
    }
    fn secure_cookies(&self) -> bool {
        self.secure_cookies
    }
    fn audit_readers(&self) -> &'static [Role] {
        &[Role::Supervisor]
    }
    fn check_account(&self, district: Option<&str>) -> ApiResult<()> {
        match district {
            Some(d) if !d.is_empty() && self.service.reference().district(d).is_none() => {
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
}

/// Wall clock, read only in the shell (the one reading is `server_kit::clock`).
pub use server_kit::clock::now_ms;

pub const SESSION_COOKIE: &str = "node_session";

// ------------------------------------------------------------- shared with the hub (server-kit)

pub use server_kit::web::{
    authenticate_parts, check_same_site, client_ip, content_security_policy,
    document_common_errors, embedded_asset, json_errors, security_headers, session_token, ApiError,
    ApiErrorBody, ApiJson, ApiResult, Auth, ClientIp, TokenFrom, WebHost, CSRF_HEADER,
    TEMPORARY_PASSWORD_PATHS,
};

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

/// Everyone who works cards: the node's roles except the account administrator, who manages
/// accounts and reads no cards, callers or recordings.
const STAFF: &[Role] = &[
    Role::CallTaker,
    Role::Dispatcher,
    Role::DutyOfficer,
    Role::Supervisor,
    Role::Patrol,
];

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

/// The region's reference data with the channels and the roles of this node, in one object.
#[derive(Serialize)]
pub struct ReferenceResponse {
    #[serde(flatten)]
    reference: sync::Reference,
    channels: Vec<sync::Channel>,
    roles: Vec<Role>,
}

// The derived schema of a flattened struct that forbids unknown fields (as `Reference` does for
// its config file) would forbid `channels` and `roles` too: the object is described as one.
impl utoipa::PartialSchema for ReferenceResponse {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ArrayBuilder, Object, Schema};
        use utoipa::openapi::{Ref, RefOr};
        let mut object = match <sync::Reference as utoipa::PartialSchema>::schema() {
            RefOr::T(Schema::Object(o)) => o,
            _ => Object::new(),
        };
        for (name, item) in [("channels", "Channel"), ("roles", "Role")] {
            object.properties.insert(
                name.to_string(),
                ArrayBuilder::new()
                    .items(Ref::from_schema_name(item))
                    .build()
                    .into(),
            );
            object.required.push(name.to_string());
        }
        RefOr::T(Schema::Object(object))
    }
}

impl utoipa::ToSchema for ReferenceResponse {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        use utoipa::PartialSchema;
        <sync::Reference as ToSchema>::schemas(schemas);
        schemas.push(("Channel".into(), sync::Channel::schema()));
        schemas.push(("Role".into(), Role::schema()));
    }
}

#[utoipa::path(get, path = "/api/v1/reference", responses((status = 200, body = ReferenceResponse)))]
async fn reference(State(s): State<SharedState>, auth: Auth) -> ApiResult<Json<ReferenceResponse>> {
    // No personal data: the administrator needs the districts and roles for accounts.
    auth.require(&Role::NODE)?;
    Ok(Json(ReferenceResponse {
        reference: s.service.reference().clone(),
        channels: sync::Channel::ALL.to_vec(),
        roles: Role::NODE.to_vec(),
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
    let address = card.location.as_ref().and_then(|l| l.address.as_deref());
    let warnings = if sees_warnings(&auth.user) {
        Some(
            address
                .map(|a| s.service.warnings_for(a))
                .transpose()?
                .unwrap_or_default(),
        )
    } else {
        None
    };
    // The caller's data was read (and the persons on record at the address, if shown).
    let mut subjects = crate::privacy::caller_subjects(&card.caller, Some(&card.id));
    for w in warnings.iter().flatten() {
        subjects.extend(crate::privacy::subject("person", &w.warning.person));
    }
    s.reads
        .record(
            &auth.user.login,
            "card.read",
            &card.number,
            subjects,
            serde_json::json!({"card": card.id, "warnings_shown": warnings.as_ref().map(Vec::len)}),
            now_ms(),
        )
        .await
        .map_err(ServiceError::from)?;
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

/// A patrol account acts only for its own unit (R20): the unit of its current roster shift, or
/// the one an admin or dispatcher bound it to. Dispatchers and supervisors act for any unit.
fn require_own_unit(s: &AppState, auth: &Auth, unit_id: &str) -> ApiResult<()> {
    if auth.user.has_role(Role::Dispatcher) || auth.user.has_role(Role::Supervisor) {
        return Ok(());
    }
    let own = patrol_unit(s, &auth.user)?;
    if own != unit_id {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "not_your_unit",
            format!("your account acts for unit {own} only"),
        ));
    }
    Ok(())
}

/// The unit a patrol account acts for now.
fn patrol_unit(s: &AppState, user: &User) -> ApiResult<String> {
    s.service
        .unit_of_patrol(&user.login, user.unit_id.as_deref(), now_ms())?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::FORBIDDEN,
                "no_unit",
                "your account is on no roster entry of the current shift and bound to no unit; ask the dispatcher",
            )
        })
}

async fn unit_step_common(
    s: &AppState,
    auth: &Auth,
    id: &str,
    unit_id: &str,
    step: UnitStep,
) -> ApiResult<Json<Card>> {
    auth.require(&[Role::Dispatcher, Role::Patrol])?;
    require_own_unit(s, auth, unit_id)?;
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
    /// A note (at most 2000 characters) or a patrol's report (at most 4000).
    #[schema(min_length = 1, max_length = 4000)]
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
    if !auth.user.has_role(Role::Dispatcher) {
        // A patrol reports only on a card its unit was sent to.
        let own = patrol_unit(&s, &auth.user)?;
        if s.service.get_card(&id)?.unit(&own).is_none() {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "not_your_card",
                format!("unit {own} was not dispatched to this card"),
            ));
        }
    }
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
    #[schema(max_length = 4000)]
    report: Option<String>,
    /// Needed when no unit worked the card.
    #[serde(default)]
    #[schema(max_length = 1000)]
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
    #[schema(min_length = 1, max_length = 1000)]
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
    #[schema(min_length = 1, max_length = 64)]
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
    require_own_unit(&s, &auth, &id)?;
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
    for login in &req.crew {
        let is_patrol = s
            .accounts
            .get(login.trim())
            .is_ok_and(|u| u.has_role(Role::Patrol) && !u.disabled);
        if !is_patrol {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                format!(
                    "{} is not an enabled patrol account",
                    login.chars().take(32).collect::<String>()
                ),
            )
            .with_field(Some("crew".into())));
        }
    }
    Ok((
        StatusCode::CREATED,
        Json(
            s.service
                .add_roster_entry(&auth.user.login, &req, now_ms())
                .await?,
        ),
    ))
}

/// The shift running now and its roster.
#[derive(Serialize, ToSchema)]
pub struct CurrentShift {
    /// `YYYY-MM-DD`: the roster date (a night shift after midnight belongs to the day before).
    date: String,
    shift: sync::Shift,
    entries: Vec<RosterEntry>,
}

#[utoipa::path(get, path = "/api/v1/roster/current",
    responses((status = 200, body = CurrentShift), (status = 401, body = ApiErrorBody), (status = 403, body = ApiErrorBody)))]
async fn current_roster(State(s): State<SharedState>, auth: Auth) -> ApiResult<Json<CurrentShift>> {
    auth.require(STAFF)?;
    let (date, shift) = s.service.reference().shift_at(now_ms());
    let entries = s
        .service
        .roster(&date)?
        .into_iter()
        .filter(|e| e.shift == shift)
        .collect();
    Ok(Json(CurrentShift {
        date,
        shift,
        entries,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatrolUnitRequest {
    /// The unit the patrol account acts for when no roster entry names it; `null` unbinds.
    unit_id: Option<String>,
}

#[utoipa::path(put, path = "/api/v1/patrols/{login}/unit", request_body = PatrolUnitRequest,
    responses((status = 200, body = User), (status = 400, body = ApiErrorBody), (status = 401, body = ApiErrorBody),
        (status = 403, body = ApiErrorBody), (status = 404, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
async fn bind_patrol_unit(
    State(s): State<SharedState>,
    auth: Auth,
    Path(login): Path<String>,
    ApiJson(req): ApiJson<PatrolUnitRequest>,
) -> ApiResult<Json<User>> {
    auth.require(&[Role::Admin, Role::Dispatcher, Role::Supervisor])?;
    if let Some(u) = req.unit_id.as_deref() {
        if !s.service.has_unit(u) {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                format!(
                    "there is no unit {}",
                    u.chars().take(32).collect::<String>()
                ),
            )
            .with_field(Some("unit_id".into())));
        }
    }
    Ok(Json(
        s.accounts
            .bind_unit(&auth.user.login, &login, req.unit_id.as_deref(), now_ms())
            .await?,
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
    let found = s.service.warnings_for(&q.address)?;
    if !found.is_empty() {
        let mut subjects: Vec<String> = crate::privacy::subject("address", &q.address)
            .into_iter()
            .collect();
        for w in &found {
            subjects.extend(crate::privacy::subject("person", &w.warning.person));
        }
        s.reads
            .record(
                &auth.user.login,
                "warnings.shown",
                &q.address,
                subjects,
                serde_json::json!({"records": found.len()}),
                now_ms(),
            )
            .await
            .map_err(ServiceError::from)?;
    }
    Ok(Json(found))
}

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
    let session = SessionWatch::new(&s.accounts, &auth);
    let stream = futures::stream::unfold(
        (rx, shutdown, session),
        move |(mut rx, mut shutdown, mut session)| async move {
            let ev = loop {
                let received = tokio::select! {
                    r = rx.recv() => r,
                    _ = shutdown.wait_for(|stop| *stop) => return None,
                    // The stream ends with its session: logout, disable, delete, expiry,
                    // password or role change.
                    () = session.ended() => return None,
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
            Some((Ok(ev), (rx, shutdown, session)))
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// Watches the session behind a live stream: [`SessionWatch::ended`] resolves when the session
/// expires, or when an account change ends it or changes what it may see (roles). Shared by the
/// node's and the hub's event streams.
pub struct SessionWatch {
    accounts: Arc<Accounts>,
    token: String,
    roles: Vec<Role>,
    expires_at: i64,
    changes: tokio::sync::watch::Receiver<u64>,
}

impl SessionWatch {
    pub fn new(accounts: &Arc<Accounts>, auth: &Auth) -> Self {
        SessionWatch {
            accounts: accounts.clone(),
            token: auth.token.clone(),
            roles: auth.user.roles.clone(),
            expires_at: auth.expires_at,
            changes: accounts.session_changes(),
        }
    }

    fn still_valid(&self) -> bool {
        match self.accounts.authenticate(&self.token, now_ms()) {
            Ok(user) => user.roles == self.roles && !user.must_change_password,
            // A storage hiccup does not end a dispatcher's stream; a real end shows next time.
            Err(AccountError::Store(_) | AccountError::Corrupt(_) | AccountError::Internal(_)) => {
                true
            }
            Err(_) => false,
        }
    }

    /// Resolves when the session is over (never returns while it is valid).
    pub async fn ended(&mut self) {
        loop {
            let left_ms = (self.expires_at - now_ms()).max(0) as u64;
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_millis(left_ms)) => return,
                changed = self.changes.changed() => {
                    if changed.is_err() || !self.still_valid() {
                        return;
                    }
                }
            }
        }
    }
}

// ------------------------------------------------------------------------------ console

const INDEX_HTML: &str = include_str!("../assets/console/index.html");

/// The console's files under `/assets/`: ES modules (the views in `views/`) that import the
/// shared kit from `/kit/` (`server_kit::assets`). A test checks the folder has no other file.
pub const CONSOLE_ASSETS: &[(&str, &str)] = server_kit::embed_files!(
    "../assets/console",
    [
        "app.css",
        "app.js",
        "data.js",
        "i18n.js",
        "state.js",
        "views/admin.js",
        "views/call_taker.js",
        "views/calls.js",
        "views/card_actions.js",
        "views/card_detail.js",
        "views/cards.js",
        "views/dispatch.js",
        "views/map.js",
    ]
);

async fn console_index() -> Html<&'static str> {
    Html(INDEX_HTML)
}

const CITIZEN_HTML: &str = include_str!("../assets/citizen/index.html");
const CITIZEN_JS: &str = include_str!("../assets/citizen/app.js");
const CITIZEN_CSS: &str = include_str!("../assets/citizen/app.css");

/// A citizen's calling page that behaves like the "102" app (for tests and demonstrations).
async fn citizen_page() -> Html<&'static str> {
    Html(CITIZEN_HTML)
}

async fn citizen_asset(Path(name): Path<String>) -> Response {
    embedded_asset(&[("app.js", CITIZEN_JS), ("app.css", CITIZEN_CSS)], &name)
}

async fn console_asset(Path(path): Path<String>) -> Response {
    embedded_asset(CONSOLE_ASSETS, &path)
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
        current_roster,
        bind_patrol_unit,
        warnings,
        personal_data_reads,
        timeliness,
        events,
        crate::calls::api::list_calls,
        crate::calls::api::get_call,
        crate::calls::api::operators,
        crate::calls::api::ice_config,
        crate::calls::api::list_missed,
        crate::calls::api::record_callback,
        crate::calls::api::call_history,
        crate::calls::api::accept,
        crate::calls::api::transfer,
        crate::calls::api::decline,
        crate::calls::api::hangup,
        crate::calls::api::list_recordings,
        crate::calls::api::recording_file
    )
)]
pub struct ApiDoc;

/// The node's whole OpenAPI document: its own routes and the shared account routes.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.merge(crate::account_api::AccountsDoc::openapi());
    document_common_errors(&mut doc);
    doc
}

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(openapi_document())
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
        .route("/roster/current", get(current_roster))
        .route(
            "/patrols/{login}/unit",
            axum::routing::put(bind_patrol_unit),
        )
        .route("/warnings", get(warnings))
        .route("/audit/personal-data", get(personal_data_reads))
        .route("/supervision/timeliness", get(timeliness))
        .route("/events", get(events))
        .route("/openapi.json", get(openapi))
        .merge(crate::calls::api::routes())
        .merge(crate::account_api::routes(
            "",
            state.clone() as crate::account_api::Host,
        ))
        .fallback(not_found);
    Router::new()
        .route("/", get(console_index))
        .route("/assets/{*path}", get(console_asset))
        .route("/kit/{name}", get(server_kit::assets::kit_asset))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/citizen", get(citizen_page))
        .route("/citizen/{name}", get(citizen_asset))
        .route("/citizen/v1/ws", get(crate::calls::citizen::citizen_ws))
        .nest("/api/v1", api)
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(state.http_body_bytes_max))
        .layer(middleware::from_fn(json_errors))
        .layer(middleware::from_fn(security_headers))
        .layer(middleware::from_fn_with_state(state.clone(), track))
        .with_state(state)
}
