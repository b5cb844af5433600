//! Accounts and sessions over HTTP, the same on a regional node and at the HQ hub: login,
//! logout, one's own password, `me`, account administration (R18), lifting login throttles and
//! the audit log. Each server implements [`AccountsHost`] and mounts [`routes`]; the handlers
//! and their OpenAPI description ([`AccountsDoc`]) exist once.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use sync::Role;
use utoipa::{OpenApi, ToSchema};

use crate::accounts::{AccountPatch, NewAccount, User};
use crate::audit::AuditEntry;
use crate::clock::now_ms;
use crate::store::Store;
use crate::web::{ApiError, ApiErrorBody, ApiJson, ApiResult, Auth, ClientIp, WebHost};

/// Most audit entries one request returns.
pub const AUDIT_LIST_ENTRIES_MAX: usize = 1_000;

/// What a server provides to the account endpoints.
pub trait AccountsHost: WebHost {
    /// The store holding the audit log.
    fn audit_store(&self) -> &Arc<dyn Store>;
    /// The session cookie is `Secure` (served over HTTPS).
    fn secure_cookies(&self) -> bool;
    /// Roles that read the whole audit log; the account administrator sees account entries.
    fn audit_readers(&self) -> &'static [Role];
    /// Checks what only this server knows about a new or changed account (e.g. the district).
    fn check_account(&self, _district: Option<&str>) -> ApiResult<()> {
        Ok(())
    }
}

/// The host as the account routes see it.
pub type Host = Arc<dyn AccountsHost>;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[schema(max_length = 32)]
    pub login: String,
    #[schema(max_length = 128)]
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    /// Also set as the session cookie; programs send it as `Authorization: Bearer TOKEN`.
    pub token: String,
    pub user: User,
}

/// `Set-Cookie` for a session token (`None` clears the cookie): HttpOnly, SameSite=Strict, and
/// Secure when the pages are served over HTTPS.
pub fn session_cookie(name: &str, token: Option<&str>, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let text = match token {
        Some(t) => format!("{name}={t}; Path=/; HttpOnly; SameSite=Strict{secure}"),
        None => format!("{name}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}"),
    };
    HeaderValue::from_str(&text).unwrap_or(HeaderValue::from_static(""))
}

#[utoipa::path(post, path = "/api/v1/auth/login", tag = "accounts", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse, description = "Logged in; with `user.must_change_password` the session can only set a new password"),
        (status = 400, body = ApiErrorBody, description = "not `{login, password}` JSON"),
        (status = 401, body = ApiErrorBody, description = "wrong login or password (`bad_credentials`)"),
        (status = 403, body = ApiErrorBody, description = "the account is disabled"),
        (status = 413, body = ApiErrorBody), (status = 415, body = ApiErrorBody),
        (status = 429, body = ApiErrorBody, description = "too many failed logins from this address (`login_throttled`); see Retry-After"),
        (status = 503, body = ApiErrorBody)))]
async fn login(
    State(h): State<Host>,
    ClientIp(source): ClientIp,
    ApiJson(req): ApiJson<LoginRequest>,
) -> ApiResult<Response> {
    let (token, user) = h
        .accounts()
        .login(&req.login, &req.password, source, now_ms())
        .await?;
    let cookie = session_cookie(h.cookie_name(), Some(&token), h.secure_cookies());
    let mut resp = Json(LoginResponse { token, user }).into_response();
    resp.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(resp)
}

#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "accounts",
    responses((status = 204, description = "The session ended; its live streams end too"),
        (status = 401, body = ApiErrorBody), (status = 403, body = ApiErrorBody), (status = 503, body = ApiErrorBody)))]
async fn logout(State(h): State<Host>, auth: Auth) -> ApiResult<Response> {
    h.accounts().logout(&auth.token, now_ms()).await?;
    let mut resp = StatusCode::NO_CONTENT.into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie(h.cookie_name(), None, h.secure_cookies()),
    );
    Ok(resp)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    #[schema(max_length = 128)]
    pub current_password: String,
    /// 10–128 characters, not the login, hard to guess (zxcvbn score ≥ 3).
    #[schema(min_length = 10, max_length = 128)]
    pub new_password: String,
}

#[utoipa::path(post, path = "/api/v1/auth/password", tag = "accounts", request_body = PasswordChange,
    responses((status = 200, body = User, description = "Changed; every other session of the account ended"),
        (status = 400, body = ApiErrorBody), (status = 401, body = ApiErrorBody), (status = 403, body = ApiErrorBody),
        (status = 413, body = ApiErrorBody), (status = 415, body = ApiErrorBody),
        (status = 422, body = ApiErrorBody, description = "wrong current password (`wrong_password`), or the new one is too weak (`weak_password`)"),
        (status = 429, body = ApiErrorBody), (status = 503, body = ApiErrorBody)))]
async fn change_password(
    State(h): State<Host>,
    auth: Auth,
    ClientIp(source): ClientIp,
    ApiJson(req): ApiJson<PasswordChange>,
) -> ApiResult<Json<User>> {
    Ok(Json(
        h.accounts()
            .change_password(
                &auth.token,
                &req.current_password,
                &req.new_password,
                source,
                now_ms(),
            )
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/me", tag = "accounts",
    responses((status = 200, body = User), (status = 401, body = ApiErrorBody)))]
async fn me(auth: Auth) -> Json<User> {
    Json(auth.user)
}

#[utoipa::path(get, path = "/api/v1/accounts", tag = "accounts",
    responses((status = 200, body = [User]), (status = 401, body = ApiErrorBody), (status = 403, body = ApiErrorBody)))]
async fn list_accounts(State(h): State<Host>, auth: Auth) -> ApiResult<Json<Vec<User>>> {
    auth.require(&[Role::Admin])?;
    Ok(Json(h.accounts().list()?))
}

#[utoipa::path(post, path = "/api/v1/accounts", tag = "accounts", request_body = NewAccount,
    responses((status = 201, body = User, description = "Created; the password is temporary until its owner's first login"),
        (status = 400, body = ApiErrorBody), (status = 401, body = ApiErrorBody), (status = 403, body = ApiErrorBody),
        (status = 409, body = ApiErrorBody, description = "the login is taken"), (status = 413, body = ApiErrorBody),
        (status = 415, body = ApiErrorBody), (status = 422, body = ApiErrorBody), (status = 503, body = ApiErrorBody)))]
async fn create_account(
    State(h): State<Host>,
    auth: Auth,
    ApiJson(req): ApiJson<NewAccount>,
) -> ApiResult<(StatusCode, Json<User>)> {
    auth.require(&[Role::Admin])?;
    h.check_account(req.district.as_deref())?;
    Ok((
        StatusCode::CREATED,
        Json(h.accounts().create(&auth.user.login, req, now_ms()).await?),
    ))
}

#[utoipa::path(patch, path = "/api/v1/accounts/{login}", tag = "accounts", request_body = AccountPatch,
    params(("login" = String, Path)),
    responses((status = 200, body = User), (status = 400, body = ApiErrorBody), (status = 401, body = ApiErrorBody),
        (status = 403, body = ApiErrorBody), (status = 404, body = ApiErrorBody),
        (status = 409, body = ApiErrorBody, description = "the last enabled administrator"), (status = 413, body = ApiErrorBody),
        (status = 415, body = ApiErrorBody), (status = 422, body = ApiErrorBody), (status = 503, body = ApiErrorBody)))]
async fn update_account(
    State(h): State<Host>,
    auth: Auth,
    Path(login): Path<String>,
    ApiJson(req): ApiJson<AccountPatch>,
) -> ApiResult<Json<User>> {
    auth.require(&[Role::Admin])?;
    h.check_account(req.district.as_deref())?;
    Ok(Json(
        h.accounts()
            .update(&auth.user.login, &login, req, now_ms())
            .await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/accounts/{login}", tag = "accounts", params(("login" = String, Path)),
    responses((status = 204), (status = 401, body = ApiErrorBody), (status = 403, body = ApiErrorBody),
        (status = 404, body = ApiErrorBody), (status = 409, body = ApiErrorBody), (status = 503, body = ApiErrorBody)))]
async fn delete_account(
    State(h): State<Host>,
    auth: Auth,
    Path(login): Path<String>,
) -> ApiResult<StatusCode> {
    auth.require(&[Role::Admin])?;
    h.accounts()
        .delete(&auth.user.login, &login, now_ms())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/accounts/{login}/unlock", tag = "accounts", params(("login" = String, Path)),
    responses((status = 200, body = User, description = "Every login throttle of the account is lifted"),
        (status = 401, body = ApiErrorBody), (status = 403, body = ApiErrorBody), (status = 404, body = ApiErrorBody),
        (status = 503, body = ApiErrorBody)))]
async fn unlock_account(
    State(h): State<Host>,
    auth: Auth,
    Path(login): Path<String>,
) -> ApiResult<Json<User>> {
    auth.require(&[Role::Admin])?;
    Ok(Json(
        h.accounts()
            .unlock(&auth.user.login, &login, now_ms())
            .await?,
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// At most this many entries, newest first (default 100, at most 1000).
    #[param(minimum = 0, maximum = 1000)]
    limit: Option<usize>,
    /// Who acted: a login (case-insensitive).
    #[param(max_length = 200)]
    actor: Option<String>,
    /// A dotted action code (`card.read`) or a prefix ending in a dot (`card.`).
    #[param(max_length = 200)]
    action: Option<String>,
    /// Part of what was acted on: a card number, a login, a call id (case-insensitive).
    #[param(max_length = 200)]
    target: Option<String>,
    /// Entries at or after this time, ms since the Unix epoch.
    from_ms: Option<i64>,
    /// Entries before this time, ms since the Unix epoch.
    to_ms: Option<i64>,
    /// Entries with a sequence number below this one (the next page: the previous answer's
    /// `X-Audit-Next-Before`).
    #[param(minimum = 1)]
    before_seq: Option<u64>,
}

/// The sequence number to pass as `before_seq` for the next page; absent at the log's start.
pub const AUDIT_NEXT_BEFORE_HEADER: &str = "x-audit-next-before";

#[utoipa::path(get, path = "/api/v1/audit", tag = "accounts", params(AuditQuery),
    responses((status = 200, body = [AuditEntry], description = "Matching entries, newest first; the account administrator sees account entries only. One request reads at most 20 000 entries of the log: fewer than `limit` entries and an `X-Audit-Next-Before` header mean the search goes on from there",
            headers(("X-Audit-Next-Before" = u64, description = "Pass as `before_seq` for the next page; absent once the start of the log was read"))),
        (status = 400, body = ApiErrorBody), (status = 401, body = ApiErrorBody), (status = 403, body = ApiErrorBody),
        (status = 503, body = ApiErrorBody)))]
async fn audit_list(
    State(h): State<Host>,
    auth: Auth,
    Query(q): Query<AuditQuery>,
) -> ApiResult<Response> {
    let readers = h.audit_readers();
    let mut allowed: Vec<Role> = readers.to_vec();
    allowed.push(Role::Admin);
    auth.require(&allowed)?;
    let n = q.limit.unwrap_or(100).min(AUDIT_LIST_ENTRIES_MAX);
    // The account administrator sees what happened to accounts, not callers' data.
    let everything = readers.iter().any(|r| auth.user.has_role(*r));
    let visible = |e: &AuditEntry| {
        everything || e.action.starts_with("account.") || e.action.starts_with("session.")
    };
    let filter = crate::audit::AuditFilter {
        actor: q.actor,
        action: q.action,
        target: q.target,
        from_ms: q.from_ms,
        to_ms: q.to_ms,
    }
    .normalized();
    let page = crate::audit::list_filtered(
        &**h.audit_store(),
        &filter,
        &visible,
        q.before_seq,
        n,
        crate::audit::AUDIT_FILTER_SCAN_MAX,
    )
    .map_err(|e| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage_error",
            e.to_string(),
        )
    })?;
    let mut response = Json(page.entries).into_response();
    if let Some(next) = page.next_before {
        response
            .headers_mut()
            .insert(AUDIT_NEXT_BEFORE_HEADER, HeaderValue::from(next));
    }
    Ok(response)
}

/// The account routes under `prefix` (`""` inside a router nested at `/api/v1`, or
/// `"/api/v1"`), with the host as their state.
pub fn routes<S>(prefix: &str, host: Host) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route(&format!("{prefix}/auth/login"), post(login))
        .route(&format!("{prefix}/auth/logout"), post(logout))
        .route(&format!("{prefix}/auth/password"), post(change_password))
        .route(&format!("{prefix}/me"), get(me))
        .route(
            &format!("{prefix}/accounts"),
            get(list_accounts).post(create_account),
        )
        .route(
            &format!("{prefix}/accounts/{{login}}"),
            patch(update_account).delete(delete_account),
        )
        .route(
            &format!("{prefix}/accounts/{{login}}/unlock"),
            post(unlock_account),
        )
        .route(&format!("{prefix}/audit"), get(audit_list))
        .with_state(host)
}

/// Method and path of every account route (for the tests comparing routes and OpenAPI).
pub const ROUTES: &[(&str, &str)] = &[
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/logout"),
    ("post", "/api/v1/auth/password"),
    ("get", "/api/v1/me"),
    ("get", "/api/v1/accounts"),
    ("post", "/api/v1/accounts"),
    ("patch", "/api/v1/accounts/{login}"),
    ("delete", "/api/v1/accounts/{login}"),
    ("post", "/api/v1/accounts/{login}/unlock"),
    ("get", "/api/v1/audit"),
];

#[derive(OpenApi)]
#[openapi(paths(
    login,
    logout,
    change_password,
    me,
    list_accounts,
    create_account,
    update_account,
    delete_account,
    unlock_account,
    audit_list
))]
pub struct AccountsDoc;
