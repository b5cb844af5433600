//! The web layer the node and the hub share: JSON errors `{code, message, field?}` and the
//! framework's own rejections rewritten to them, the JSON body extractor, sessions (Bearer token
//! or cookie) with the same-site rule for cookie-authenticated changes, the client address
//! behind trusted reverse proxies, security headers, embedded static assets, and the error
//! answers every route documents in OpenAPI.
//!
//! A server implements [`WebHost`]; [`Auth`] and [`ClientIp`] are then extractors on its state.

use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{header, request::Parts, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{de::DeserializeOwned, Serialize};
use sync::{DomainError, Role};
use utoipa::ToSchema;

use crate::accounts::{AccountError, Accounts, User};
use crate::clock::now_ms;

/// What a server gives the shared extractors: its accounts, its session cookie's name and the
/// reverse proxies it trusts.
pub trait WebHost: Send + Sync + 'static {
    fn accounts(&self) -> &Arc<Accounts>;
    /// Name of the session cookie (`node_session`, `central_session`).
    fn cookie_name(&self) -> &'static str;
    /// Reverse proxies whose `X-Forwarded-For` names the real client.
    fn trusted_proxies(&self) -> &[ipnet::IpNet];
}

impl<T: WebHost + ?Sized> WebHost for Arc<T> {
    fn accounts(&self) -> &Arc<Accounts> {
        (**self).accounts()
    }
    fn cookie_name(&self) -> &'static str {
        (**self).cookie_name()
    }
    fn trusted_proxies(&self) -> &[ipnet::IpNet] {
        (**self).trusted_proxies()
    }
}

impl<S: WebHost> FromRequestParts<S> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, host: &S) -> Result<Self, Self::Rejection> {
        authenticate_parts(parts, host.accounts(), host.cookie_name())
    }
}

impl<S: WebHost> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, host: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(client_ip(parts, host.trusted_proxies())))
    }
}

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
    /// Sent as `Retry-After` (429 and 503 answers).
    pub retry_after_s: Option<u64>,
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
            retry_after_s: None,
        }
    }
    pub fn with_field(mut self, field: Option<String>) -> Self {
        self.body.field = field.filter(|f| !f.is_empty());
        self
    }
    pub fn forbidden(needed: &[Role]) -> Self {
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
        let mut resp = (self.status, Json(self.body)).into_response();
        if let Some(s) = self.retry_after_s {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        resp
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        let status = match &e {
            DomainError::InvalidField { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            DomainError::InvalidTransition { .. } => StatusCode::CONFLICT,
            DomainError::NotFound { .. } => StatusCode::NOT_FOUND,
            DomainError::Rule { field: Some(_), .. } => StatusCode::UNPROCESSABLE_ENTITY,
            DomainError::Rule { field: None, .. } => StatusCode::CONFLICT,
            DomainError::CorruptDocument(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let field = e.field_name().map(str::to_string);
        ApiError::new(status, e.code(), e.to_string()).with_field(field)
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
            AccountError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
            AccountError::AccountDisabled | AccountError::PasswordChangeRequired => {
                StatusCode::FORBIDDEN
            }
            AccountError::WrongCurrentPassword | AccountError::RoleNotHere(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            AccountError::Corrupt(_) | AccountError::Store(_) | AccountError::Internal(_) => {
                tracing::error!(error = %e, "account storage failure");
                StatusCode::SERVICE_UNAVAILABLE
            }
        };
        let field = e.field().map(str::to_string);
        let mut err = ApiError::new(status, e.code(), e.to_string()).with_field(field);
        if let AccountError::Throttled { retry_after_ms } = e {
            err.retry_after_s = Some((retry_after_ms.max(0) as u64).div_ceil(1000));
        }
        err
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

// ------------------------------------------------------------------------------ extractors

/// JSON body with JSON errors: malformed JSON, unknown fields and wrong types name the field.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        // A JSON body must say so: a cross-site form can only send text/plain or form data.
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
        if !json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "the request body must be JSON with Content-Type: application/json",
            ));
        }
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
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(&mut de)
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
            })?;
        // One JSON value and nothing after it: `{..} xyz` is not a request.
        de.end().map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format!("request body: {e}: only one JSON value is allowed"),
            )
        })?;
        Ok(value)
    }
}

/// The logged-in user of a request (Bearer token or the session cookie).
pub struct Auth {
    pub user: User,
    pub token: String,
    /// When the session ends.
    pub expires_at: i64,
}

impl Auth {
    pub fn require(&self, any_of: &[Role]) -> ApiResult<()> {
        if any_of.iter().any(|r| self.user.has_role(*r)) {
            Ok(())
        } else {
            Err(ApiError::forbidden(any_of))
        }
    }
}

/// Where a request's session token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenFrom {
    /// `Authorization: Bearer`: a program that handles the token itself.
    Bearer,
    /// The session cookie: a browser, which also sends it on requests another site starts.
    Cookie,
}

/// The session token of a request: the Bearer token, else the cookie named `cookie_name`.
pub fn session_token(headers: &HeaderMap, cookie_name: &str) -> Option<(String, TokenFrom)> {
    if let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        if let Some(t) = v.strip_prefix("Bearer ") {
            return Some((t.trim().to_string(), TokenFrom::Bearer));
        }
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == cookie_name)
        .map(|(_, v)| (v.to_string(), TokenFrom::Cookie))
}

/// The header the console (and the HQ dashboard) send with every change; a page of another
/// site cannot send it without a CORS preflight, which this server never grants.
pub const CSRF_HEADER: &str = "x-requested-with";

/// A state change authenticated by the cookie must come from this site: it carries
/// [`CSRF_HEADER`], or an `Origin` naming this server. (JSON bodies must also be declared as
/// JSON, which a cross-site form cannot do.) Safe methods and Bearer tokens pass.
pub fn check_same_site(parts: &Parts, from: TokenFrom) -> Result<(), ApiError> {
    let safe = matches!(
        parts.method,
        axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
    );
    if safe || from == TokenFrom::Bearer || parts.headers.contains_key(CSRF_HEADER) {
        return Ok(());
    }
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok());
    let origin_host = parts
        .headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .and_then(|o| {
            o.split_once("://")
                .map(|(_, rest)| rest.trim_end_matches('/'))
        });
    match (origin_host, host) {
        (Some(o), Some(h)) if o.eq_ignore_ascii_case(h) => Ok(()),
        _ => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "cross_site_request",
            "a change made with the session cookie must come from this server's own pages",
        )),
    }
}

/// Paths a session with a temporary password may use: set the new password, see who it is,
/// log out.
pub const TEMPORARY_PASSWORD_PATHS: &[&str] =
    &["/api/v1/auth/password", "/api/v1/me", "/api/v1/auth/logout"];

/// Resolves the session of a request and applies the rules every authenticated request obeys:
/// same-site for cookie-authenticated changes, and nothing but a new password for a session
/// opened with a temporary one. Shared by the node and the central hub.
pub fn authenticate_parts(
    parts: &Parts,
    accounts: &Accounts,
    cookie_name: &str,
) -> Result<Auth, ApiError> {
    let (token, from) = session_token(&parts.headers, cookie_name).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "log in first (POST /api/v1/auth/login) and send the token as 'Authorization: Bearer TOKEN' or the session cookie",
        )
    })?;
    let session = accounts
        .authenticate_session(&token, now_ms())
        .map_err(|e| match e {
            AccountError::Store(_) | AccountError::Corrupt(_) | AccountError::Internal(_) => {
                ApiError::from(e)
            }
            _ => ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", e.to_string()),
        })?;
    check_same_site(parts, from)?;
    // Behind `nest` the URI is stripped of its prefix; the original one says where we are.
    let path = parts
        .extensions
        .get::<axum::extract::OriginalUri>()
        .map_or(parts.uri.path(), |u| u.0.path());
    if session.user.must_change_password && !TEMPORARY_PASSWORD_PATHS.contains(&path) {
        return Err(AccountError::PasswordChangeRequired.into());
    }
    Ok(Auth {
        user: session.user,
        token,
        expires_at: session.expires_at,
    })
}

/// The address a request came from: the TCP peer, or — when the peer is a trusted reverse
/// proxy — the nearest address in `X-Forwarded-For` that is not itself a trusted proxy. Without
/// connection information (a test calling the router directly) it is the unspecified address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub std::net::IpAddr);

pub fn client_ip(parts: &Parts, trusted_proxies: &[ipnet::IpNet]) -> std::net::IpAddr {
    let peer = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    let trusted = |ip: &std::net::IpAddr| trusted_proxies.iter().any(|n| n.contains(ip));
    if !trusted(&peer) {
        return peer;
    }
    // Each proxy appends the address it received from: read from the right.
    let forwarded: Vec<std::net::IpAddr> = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse().ok())
        .collect();
    forwarded
        .into_iter()
        .rev()
        .find(|ip| !trusted(ip))
        .unwrap_or(peer)
}

/// An embedded file by its path in the table (`app.js`, `views/cards.js`, ...), or a JSON 404.
/// A path with an empty, `.` or `..` segment never names a file. Shared by the console, the
/// citizen page, the browser kit and the hub's dashboard.
pub fn embedded_asset(files: &[(&str, &'static str)], name: &str) -> Response {
    let plain = name
        .split('/')
        .all(|s| !s.is_empty() && s != "." && s != ".." && !s.contains('\\'));
    let found = files.iter().find(|(n, _)| plain && *n == name);
    let Some((_, body)) = found else {
        return ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such asset").into_response();
    };
    let ctype = if name.ends_with(".js") {
        "text/javascript; charset=utf-8"
    } else if name.ends_with(".css") {
        "text/css; charset=utf-8"
    } else if name.ends_with(".svg") {
        "image/svg+xml"
    } else {
        "application/octet-stream"
    };
    (
        [
            (header::CONTENT_TYPE, ctype),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        *body,
    )
        .into_response()
}

/// Adds to every operation the error answers any route of this server can give besides its
/// own (each a JSON `ApiErrorBody`), unless the route documents them itself: a bad path or
/// query string (400), no session (401), a missing role or a temporary password (403), an
/// unknown id in the path (404), a change conflicting with the current state (409), a body that
/// is too large, not JSON or invalid (413, 415, 422), a throttled login (429) and a storage
/// failure (503). The document then lists every status a client must handle.
pub fn document_common_errors(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let error = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ApiErrorBody")))
                    .build(),
            )
            .build()
    };
    for (path, item) in doc.paths.paths.iter_mut() {
        if !path.starts_with("/api/") || path.ends_with("/openapi.json") {
            continue;
        }
        let public = path.ends_with("/auth/login");
        let has_params = path.contains('{');
        let ops = [
            (false, item.get.as_mut()),
            (true, item.post.as_mut()),
            (true, item.put.as_mut()),
            (true, item.patch.as_mut()),
            (true, item.delete.as_mut()),
        ];
        for (changes, op) in ops {
            let Some(op) = op else { continue };
            let has_body = op.request_body.is_some();
            let mut wanted: Vec<(&str, &str)> = vec![
                ("400", "the path, query string or body cannot be read"),
                (
                    "503",
                    "the store cannot be used right now; nothing was changed",
                ),
            ];
            if !public {
                wanted.push(("401", "no valid session"));
                wanted.push((
                    "403",
                    "a missing role, a temporary password, or a cross-site request",
                ));
            }
            if has_params {
                wanted.push(("404", "nothing with this id"));
            }
            if changes && !public {
                wanted.push(("409", "the change conflicts with the current state"));
            }
            if has_body {
                wanted.push(("413", "the body is larger than the limit"));
                wanted.push(("415", "the body is not declared as application/json"));
            }
            if has_body
                || has_params
                || path.contains('?')
                || !op.parameters.as_ref().is_none_or(Vec::is_empty)
            {
                wanted.push((
                    "422",
                    "a value is out of range or refers to something unknown",
                ));
            }
            if public {
                wanted.push((
                    "429",
                    "too many failed logins from this address; see Retry-After",
                ));
            }
            for (status, description) in wanted {
                op.responses
                    .responses
                    .entry(status.to_string())
                    .or_insert_with(|| error(description).into());
            }
        }
    }
}

/// The Content-Security-Policy of every answer: scripts, styles and everything else only from
/// this server, no inline script or style, no framing. WebSockets to this host (citizen
/// signalling) are named explicitly for browsers that do not count them as 'self'.
pub fn content_security_policy(host: Option<&str>) -> String {
    let ws = host
        .filter(|h| {
            h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b':' | b'-' | b'[' | b']'))
        })
        .map(|h| format!(" ws://{h} wss://{h}"))
        .unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
         media-src 'self' blob:; connect-src 'self'{ws}; font-src 'self'; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// Security headers on every answer, and `Cache-Control: no-store` on API answers (they carry
/// callers' personal data) unless the handler chose otherwise. Shared by the node and the hub.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let api = req.uri().path().starts_with("/api/");
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    if let Ok(csp) = HeaderValue::from_str(&content_security_policy(host.as_deref())) {
        h.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(self), microphone=(self), geolocation=(self)"),
    );
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    if api && !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

/// Every error answer is JSON `{code, message}`: the framework's own rejections (405, a query
/// string or path that does not parse, an unreadable body) arrive as plain text and are
/// rewritten here, keeping their status and text.
pub async fn json_errors(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let code = match status {
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNAUTHORIZED => "unauthenticated",
        StatusCode::FORBIDDEN => "forbidden",
        s if s.is_server_error() => "server_error",
        _ => "bad_request",
    };
    let message = if text.is_empty() {
        match status {
            StatusCode::METHOD_NOT_ALLOWED => "this endpoint does not take this method".to_string(),
            s => s.canonical_reason().unwrap_or("error").to_lowercase(),
        }
    } else {
        text
    };
    let mut out = ApiError::new(status, code, message).into_response();
    // Keep what the framework said beyond the body (e.g. `Allow` on a 405).
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    out
}
