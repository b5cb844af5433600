//! The terminal's local HTTP: its UI (embedded, with the shared kit) and a small JSON API under
//! `/field/v1` for it, served to the browser on the same device (`[terminal] listen`,
//! `127.0.0.1:8088` by default).
//!
//! Every action is written to the local store, durable, before it is answered; errors are JSON
//! `{code, message, field?, params?}` and the UI shows them from the code in kk or ru. Requests
//! whose `Host` is not this machine are refused (DNS rebinding), and every change needs a JSON
//! (or JPEG) body, which a page of another site cannot send without a CORS preflight that is
//! never granted.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use server_kit::clock::now_ms;
use server_kit::web::{embedded_asset, security_headers, ApiError, ApiJson};
use sync::field::{FieldStatus, PatrolReport, PositionThrottle, UnitPosition};

use crate::app::{LinkPhase, LoginMode, LoginRequest, Notice, Terminal, TerminalError};
use crate::journal::{self, Action};
use crate::online::OnlineError;
use crate::repo::WriteError;
use crate::vault::VaultError;

/// Largest JSON body, bytes: a report is at most `PATROL_REPORT_BYTES_MAX` (32 KiB).
pub const JSON_BODY_BYTES_MAX: usize = 64 * 1024;
/// Largest photo upload, bytes (the photo limit plus nothing: JPEG bytes are the body).
pub const PHOTO_BODY_BYTES_MAX: usize = sync::field::FIELD_PHOTO_BYTES_MAX;

const INDEX_HTML: &str = include_str!("../assets/index.html");

/// The terminal's UI files under `/assets/` (the kit's under `/kit/`).
pub const TERMINAL_ASSETS: &[(&str, &str)] = server_kit::embed_files!(
    "../assets",
    [
        "app.css",
        "app.js",
        "fapi.js",
        "i18n.js",
        "views/assignment.js",
        "views/login.js",
        "views/report.js",
    ]
);

/// What the handlers share.
pub struct HttpState {
    pub terminal: Arc<Terminal>,
    /// The position throttle of the running shift (restored from the store on first use).
    throttle: Mutex<Option<PositionThrottle>>,
}

type Shared = Arc<HttpState>;

/// An error answer: `{code, message, field?, params?}`.
#[derive(Debug)]
pub struct FieldApiError {
    status: StatusCode,
    code: String,
    message: String,
    field: Option<String>,
    params: Option<serde_json::Value>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    params: Option<&'a serde_json::Value>,
}

impl FieldApiError {
    fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        FieldApiError {
            status,
            code: code.to_string(),
            message: message.into(),
            field: None,
            params: None,
        }
    }
}

impl IntoResponse for FieldApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            code: &self.code,
            message: &self.message,
            field: self.field.as_deref(),
            params: self.params.as_ref(),
        };
        let mut resp = (self.status, Json(&body)).into_response();
        if let Some(s) = self
            .params
            .as_ref()
            .and_then(|p| p.get("retry_after_s"))
            .and_then(|v| v.as_u64())
        {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        resp
    }
}

impl From<ApiError> for FieldApiError {
    fn from(e: ApiError) -> Self {
        FieldApiError {
            status: e.status,
            code: e.body.code,
            message: e.body.message,
            field: e.body.field,
            params: None,
        }
    }
}

impl From<WriteError> for FieldApiError {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::Domain(d) => ApiError::from(d).into(),
            WriteError::Storage(m) => {
                tracing::error!(error = %m, "a local write failed");
                FieldApiError::new(StatusCode::SERVICE_UNAVAILABLE, "storage", m)
            }
        }
    }
}

impl From<TerminalError> for FieldApiError {
    fn from(e: TerminalError) -> Self {
        let code = e.code();
        let message = e.to_string();
        let status = match &e {
            TerminalError::Vault(v) => match v {
                VaultError::WrongPassword { .. } => StatusCode::UNAUTHORIZED,
                VaultError::TooSoon { .. } => StatusCode::TOO_MANY_REQUESTS,
                VaultError::Locked => StatusCode::FORBIDDEN,
                VaultError::UnknownOfficer(_) => StatusCode::CONFLICT,
                VaultError::Expired => StatusCode::GONE,
                VaultError::Empty => StatusCode::CONFLICT,
                VaultError::BadInput(_) => StatusCode::UNPROCESSABLE_ENTITY,
                VaultError::Corrupt(_) | VaultError::Io(_) => StatusCode::INTERNAL_SERVER_ERROR,
            },
            TerminalError::Online(o) => match o {
                OnlineError::Unreachable(_) | OnlineError::NoWebAddress => {
                    StatusCode::SERVICE_UNAVAILABLE
                }
                OnlineError::BadCredentials => StatusCode::UNAUTHORIZED,
                OnlineError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
                OnlineError::Disabled
                | OnlineError::MustChangePassword
                | OnlineError::NotPatrol => StatusCode::FORBIDDEN,
                OnlineError::Node { .. } => StatusCode::BAD_GATEWAY,
            },
            TerminalError::OtherCrew(_) => StatusCode::CONFLICT,
            TerminalError::NotLoggedIn => StatusCode::UNAUTHORIZED,
            TerminalError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let params = match &e {
            TerminalError::Vault(VaultError::TooSoon { retry_after_ms }) => {
                Some(serde_json::json!({ "retry_after_s": (retry_after_ms + 999) / 1000 }))
            }
            TerminalError::Vault(VaultError::WrongPassword { failures }) => {
                Some(serde_json::json!({ "failures": failures }))
            }
            TerminalError::Online(OnlineError::Throttled { retry_after_s }) => {
                Some(serde_json::json!({ "retry_after_s": retry_after_s }))
            }
            TerminalError::OtherCrew(officers) => {
                Some(serde_json::json!({ "officers": officers.join(", ") }))
            }
            _ => None,
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %message, code, "terminal error");
        } else {
            tracing::info!(error = %message, code, "refused");
        }
        FieldApiError {
            status,
            code: code.to_string(),
            message,
            field: None,
            params,
        }
    }
}

type FieldResult<T> = Result<T, FieldApiError>;

fn shift(s: &HttpState) -> FieldResult<Arc<crate::shift::Shift>> {
    s.terminal
        .shift()
        .ok_or_else(|| TerminalError::NotLoggedIn.into())
}

/// The router, without a socket (tests call it directly).
pub fn app(terminal: Arc<Terminal>) -> Router {
    let state = Arc::new(HttpState {
        terminal,
        throttle: Mutex::new(None),
    });
    let api = Router::new()
        .route("/field/v1/state", get(get_state))
        .route("/field/v1/login", post(login))
        .route("/field/v1/logout", post(logout))
        .route("/field/v1/activity", post(activity))
        .route("/field/v1/pack", get(get_pack))
        .route("/field/v1/log", get(get_log))
        .route("/field/v1/status", post(post_status))
        .route("/field/v1/report", post(post_report))
        .route("/field/v1/note", post(post_note))
        .route("/field/v1/position", post(post_position))
        .route("/field/v1/photos/{sha}", get(get_photo))
        .layer(DefaultBodyLimit::max(JSON_BODY_BYTES_MAX));
    let photos = Router::new()
        .route("/field/v1/photos", post(post_photo))
        .layer(DefaultBodyLimit::max(PHOTO_BODY_BYTES_MAX));
    Router::new()
        .route("/", get(index))
        .route("/assets/{*name}", get(asset))
        .route("/kit/{name}", get(server_kit::assets::kit_asset))
        .route(
            "/kit/leaflet/{*path}",
            get(server_kit::assets::leaflet_asset),
        )
        .route("/favicon.ico", get(server_kit::assets::favicon))
        .merge(api)
        .merge(photos)
        .layer(middleware::from_fn(security_headers))
        .layer(middleware::from_fn(local_host_only))
        .with_state(state)
}

/// Refuses requests whose `Host` is not a loopback name (a page of another site that resolved
/// its own name to 127.0.0.1 to read the terminal's data), and marks API answers `no-store`.
async fn local_host_only(req: Request, next: Next) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let name = match host.rsplit_once(':') {
        Some((n, port)) if port.bytes().all(|b| b.is_ascii_digit()) => n,
        _ => host,
    };
    if !matches!(name, "127.0.0.1" | "localhost" | "[::1]" | "") {
        return FieldApiError::new(
            StatusCode::MISDIRECTED_REQUEST,
            "not_local",
            "the terminal answers only its own device",
        )
        .into_response();
    }
    let api = req.uri().path().starts_with("/field/");
    let mut resp = next.run(req).await;
    // The answers carry callers' personal data: never cached.
    if api && !resp.headers().contains_key(header::CACHE_CONTROL) {
        resp.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

async fn index() -> Html<&'static str> {
    Html(INDEX_HTML)
}

async fn asset(Path(name): Path<String>) -> Response {
    embedded_asset(TERMINAL_ASSETS, &name)
}

/// The link as the banner shows it.
#[derive(Serialize)]
struct LinkView {
    /// `idle` (nobody logged in), `offline`, `syncing` (connected, documents pending) or
    /// `synced` (connected, nothing pending).
    banner: &'static str,
    last_sync_ms: Option<i64>,
    /// The unit's documents the node has not acknowledged yet.
    pending: usize,
}

#[derive(Serialize)]
struct StateView {
    region: String,
    unit: String,
    officer: Option<String>,
    /// Officers who can log in offline here.
    officers: Vec<String>,
    notice: Option<Notice>,
    link: LinkView,
    expires_at_ms: Option<i64>,
    now_ms: i64,
}

/// `GET /field/v1/state`: who is logged in, the link, any notice. Polled by the UI; it does not
/// count as activity.
async fn get_state(State(s): State<Shared>) -> Json<StateView> {
    let t = &s.terminal;
    let link = t.link_state();
    let shift = t.shift();
    let peer = format!("region:{}", t.unit.region);
    let pending = shift.as_ref().map_or(0, |sh| {
        tokio::task::block_in_place(|| {
            sh.repo
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .pending_docs(&peer)
        })
    });
    let banner = match link.phase {
        LinkPhase::Idle => "idle",
        LinkPhase::Offline => "offline",
        LinkPhase::Syncing | LinkPhase::Synced if pending > 0 => "syncing",
        LinkPhase::Syncing | LinkPhase::Synced => "synced",
    };
    Json(StateView {
        region: t.unit.region.clone(),
        unit: t.unit.unit.clone(),
        officer: shift.map(|sh| sh.officer()),
        officers: t.officers(),
        notice: t.notice(),
        link: LinkView {
            banner,
            last_sync_ms: link.last_sync_ms,
            pending,
        },
        expires_at_ms: t.expires_at_ms(),
        now_ms: now_ms(),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    login: String,
    password: String,
    #[serde(default)]
    new_crew: bool,
}

#[derive(Serialize)]
struct LoginView {
    mode: LoginMode,
    officer: String,
}

/// `POST /field/v1/login` `{login, password, new_crew?}` → `{mode: offline|online, officer}`.
async fn login(
    State(s): State<Shared>,
    ApiJson(body): ApiJson<LoginBody>,
) -> FieldResult<Json<LoginView>> {
    let mode = s
        .terminal
        .login(LoginRequest {
            login: body.login,
            password: body.password,
            new_crew: body.new_crew,
        })
        .await?;
    *s.throttle.lock().unwrap_or_else(|p| p.into_inner()) = None;
    let officer = shift(&s)?.officer();
    Ok(Json(LoginView { mode, officer }))
}

/// `POST /field/v1/logout` → 204: the data key leaves memory.
async fn logout(State(s): State<Shared>) -> StatusCode {
    s.terminal.logout().await;
    *s.throttle.lock().unwrap_or_else(|p| p.into_inner()) = None;
    StatusCode::NO_CONTENT
}

/// `POST /field/v1/activity` → 204: a tap or key in the UI (resets the idle timeout).
async fn activity(State(s): State<Shared>) -> FieldResult<StatusCode> {
    shift(&s)?;
    s.terminal.touch();
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /field/v1/pack` → the unit's pack (`{meta, assignments}`; both empty before the first
/// sync).
async fn get_pack(State(s): State<Shared>) -> FieldResult<Response> {
    let sh = shift(&s)?;
    let unit = s.terminal.unit.clone();
    let pack = tokio::task::block_in_place(|| journal::pack(&sh, &unit))?;
    Ok(match pack {
        Some(p) => Json(p).into_response(),
        None => Json(serde_json::json!({ "meta": null, "assignments": [] })).into_response(),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LogQuery {
    /// Any time of the day wanted, ms (today when absent).
    at_ms: Option<i64>,
}

/// `GET /field/v1/log?at_ms=` → the day's entries `[FieldEntry]`, in writing order.
async fn get_log(
    State(s): State<Shared>,
    Query(q): Query<LogQuery>,
) -> FieldResult<Json<Vec<sync::field::FieldEntry>>> {
    let sh = shift(&s)?;
    let unit = s.terminal.unit.clone();
    let at = q.at_ms.unwrap_or_else(now_ms);
    Ok(Json(tokio::task::block_in_place(|| {
        journal::entries(&sh, &unit, at)
    })?))
}

async fn record(s: &HttpState, action: Action) -> FieldResult<Response> {
    let sh = shift(s)?;
    let now = now_ms();
    sh.touch(now);
    let entry = journal::record(&sh, &s.terminal.unit, action, now).await?;
    Ok((StatusCode::CREATED, Json(entry)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusBody {
    card_id: String,
    status: FieldStatus,
}

/// `POST /field/v1/status` `{card_id, status}` → 201 the log entry.
async fn post_status(
    State(s): State<Shared>,
    ApiJson(b): ApiJson<StatusBody>,
) -> FieldResult<Response> {
    record(
        &s,
        Action::Status {
            card_id: b.card_id,
            status: b.status,
        },
    )
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportBody {
    card_id: String,
    report: PatrolReport,
}

/// `POST /field/v1/report` `{card_id, report: PatrolReport}` → 201 the log entry (R34).
async fn post_report(
    State(s): State<Shared>,
    ApiJson(b): ApiJson<ReportBody>,
) -> FieldResult<Response> {
    record(
        &s,
        Action::Report {
            card_id: b.card_id,
            report: b.report,
        },
    )
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoteBody {
    #[serde(default)]
    card_id: Option<String>,
    text: String,
}

/// `POST /field/v1/note` `{card_id?, text}` → 201 the log entry.
async fn post_note(
    State(s): State<Shared>,
    ApiJson(b): ApiJson<NoteBody>,
) -> FieldResult<Response> {
    record(
        &s,
        Action::Note {
            card_id: b.card_id,
            text: b.text,
        },
    )
    .await
}

#[derive(Serialize)]
struct PositionView {
    /// Whether the throttle kept this fix for the track.
    recorded: bool,
}

/// `POST /field/v1/position` `UnitPosition` → `{recorded}`: a fix from the browser's
/// geolocation; recorded in the day's track when the throttle takes it.
async fn post_position(
    State(s): State<Shared>,
    ApiJson(fix): ApiJson<UnitPosition>,
) -> FieldResult<Json<PositionView>> {
    let sh = shift(&s)?;
    let policy = journal::position_policy(&s.terminal.settings.position);
    let recorded =
        journal::record_position(&sh, &s.terminal.unit, &s.throttle, policy, fix, now_ms()).await?;
    Ok(Json(PositionView { recorded }))
}

#[derive(Serialize)]
struct PhotoView {
    sha256: String,
}

/// `POST /field/v1/photos` (body: the JPEG, `Content-Type: image/jpeg`) → 201 `{sha256}`.
async fn post_photo(
    State(s): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> FieldResult<Response> {
    let jpeg = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("image/jpeg"));
    if !jpeg {
        return Err(FieldApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "a photo is sent as Content-Type: image/jpeg",
        ));
    }
    let sh = shift(&s)?;
    sh.touch(now_ms());
    let sha = journal::store_photo(&sh, &s.terminal.unit, body.to_vec()).await?;
    Ok((StatusCode::CREATED, Json(PhotoView { sha256: sha })).into_response())
}

/// `GET /field/v1/photos/{sha256}` → the JPEG.
async fn get_photo(State(s): State<Shared>, Path(sha): Path<String>) -> FieldResult<Response> {
    let sh = shift(&s)?;
    let unit = s.terminal.unit.clone();
    match tokio::task::block_in_place(|| journal::photo(&sh, &unit, &sha))? {
        Some(bytes) => Ok((
            [
                (header::CONTENT_TYPE, "image/jpeg"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            bytes,
        )
            .into_response()),
        None => Err(FieldApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such photo",
        )),
    }
}
