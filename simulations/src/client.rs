//! The one REST client of the harness, for the node's v1 API (see `node/API.md`) and the
//! central's: JSON requests with a bearer token, answers checked against the expected statuses
//! and errors typed ([`CallError`]), over HTTP or over HTTPS trusting only a run's CA. Also the
//! account helpers (login with the first-login password change, accounts, sessions) and the
//! seeded generator of realistic card bodies.

use std::time::Duration;

use anyhow::{bail, Context};
use rand::seq::SliceRandom;
use rand::Rng;
use reqwest::Method;
use serde_json::{json, Value};

/// Per-request timeout; a node that takes longer is treated as failing that request.
pub const REQUEST_TIMEOUT_MS: u64 = 10_000;
/// Idle keep-alive connections kept per host; enough for every client task.
pub const POOL_IDLE_PER_HOST_MAX: usize = 1_024;
/// Characters of an unexpected answer's body kept in a [`CallError`].
const ERROR_BODY_CHARS_MAX: usize = 500;
/// The header that marks a request as sent by a script rather than a cross-site form (the
/// servers' CSRF check). Bearer-token requests are exempt; it is sent anyway so the client works
/// with any credential the servers accept.
const CSRF_HEADER: &str = "x-requested-with";

/// The servers' error code for a wrong login or password.
const BAD_CREDENTIALS: &str = "bad_credentials";

/// Why one API call did not succeed.
#[derive(Debug)]
pub enum CallError {
    /// The server answered with an unexpected status; `code` is the API's error code when the
    /// body is the servers' JSON error (`{"code": .., "message": ..}`).
    Status {
        status: u16,
        code: Option<String>,
        body: String,
    },
    /// The expected status, but not the JSON answer expected.
    Malformed { status: u16, reason: String },
    /// No answer: connection refused or reset, timeout.
    Transport(String),
}

impl CallError {
    /// What kind of failure, for counting: `status_NNN` or `transport`.
    pub fn key(&self) -> String {
        match self {
            CallError::Status { status, .. } | CallError::Malformed { status, .. } => {
                format!("status_{status}")
            }
            CallError::Transport(_) => "transport".to_string(),
        }
    }

    fn status(status: u16, bytes: &[u8]) -> CallError {
        let code = serde_json::from_slice::<Value>(bytes)
            .ok()
            .and_then(|v| v.get("code").and_then(Value::as_str).map(str::to_string));
        let body = String::from_utf8_lossy(bytes)
            .chars()
            .take(ERROR_BODY_CHARS_MAX)
            .collect();
        CallError::Status { status, code, body }
    }
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Status { status, body, .. } => write!(f, "HTTP {status}: {body}"),
            CallError::Malformed { status, reason } => write!(f, "HTTP {status}: {reason}"),
            CallError::Transport(e) => write!(f, "transport: {e}"),
        }
    }
}

impl std::error::Error for CallError {}

impl From<reqwest::Error> for CallError {
    fn from(e: reqwest::Error) -> Self {
        CallError::Transport(e.to_string())
    }
}

/// One shared keep-alive client for all tasks of a command.
pub fn http_client() -> anyhow::Result<reqwest::Client> {
    http_client_trusting(None)
}

/// [`http_client`] that speaks HTTPS to servers whose certificate chains to `ca` (PEM, a
/// bundle's `ca.crt`) and to no other CA.
pub fn http_client_trusting(ca: Option<&std::path::Path>) -> anyhow::Result<reqwest::Client> {
    client_builder(ca)?
        .timeout(Duration::from_millis(REQUEST_TIMEOUT_MS))
        .build()
        .context("cannot build the HTTP client")
}

/// A client for long-lived event streams (SSE): like [`http_client`] but without the
/// per-request timeout, which would cut a stream.
pub fn stream_client() -> anyhow::Result<reqwest::Client> {
    client_builder(None)?
        .build()
        .context("cannot build the HTTP client")
}

fn client_builder(ca: Option<&std::path::Path>) -> anyhow::Result<reqwest::ClientBuilder> {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        CSRF_HEADER,
        reqwest::header::HeaderValue::from_static("simulations"),
    );
    let mut builder = reqwest::Client::builder()
        .default_headers(headers)
        .pool_max_idle_per_host(POOL_IDLE_PER_HOST_MAX)
        .tcp_nodelay(true);
    if let Some(ca) = ca {
        let pem = std::fs::read(ca).with_context(|| format!("cannot read {}", ca.display()))?;
        let cert = reqwest::Certificate::from_pem(&pem)
            .with_context(|| format!("{} is not a PEM certificate", ca.display()))?;
        builder = builder
            .tls_built_in_root_certs(false)
            .add_root_certificate(cert);
    }
    Ok(builder)
}

/// The card the node acknowledged.
#[derive(Debug, Clone)]
pub struct Created {
    pub id: String,
    pub number: String,
}

/// One server's JSON API (node or central) over a shared client.
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base_url: String,
}

impl Api {
    pub fn new(http: reqwest::Client, base_url: &str) -> Self {
        Self {
            http,
            base_url: base_url.trim_end_matches('/').to_string(),
        }
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    fn builder(&self, method: Method, path: &str, token: Option<&str>) -> reqwest::RequestBuilder {
        let request = self.http.request(method, self.url(path));
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// `method path` with an optional bearer token and JSON body; the answer's JSON (`Null` for
    /// an empty body) when its status is one of `expect`.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        expect: &[u16],
    ) -> Result<Value, CallError> {
        let mut request = self.builder(method, path, token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let answer = request.send().await?;
        let status = answer.status().as_u16();
        let bytes = answer.bytes().await?;
        if !expect.contains(&status) {
            return Err(CallError::status(status, &bytes));
        }
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes).map_err(|e| CallError::Malformed {
            status,
            reason: format!(
                "answer is not JSON ({e}): {}",
                String::from_utf8_lossy(&bytes)
            ),
        })
    }

    /// `GET path` answered 200.
    pub async fn get(&self, path: &str, token: &str) -> Result<Value, CallError> {
        self.request(Method::GET, path, Some(token), None, &[200])
            .await
    }

    /// [`Api::get`], with `Ok(None)` for 404.
    pub async fn get_opt(&self, path: &str, token: &str) -> Result<Option<Value>, CallError> {
        match self.get(path, token).await {
            Ok(v) => Ok(Some(v)),
            Err(CallError::Status { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `POST path` with a JSON body, answered with one of `expect`.
    pub async fn post(
        &self,
        path: &str,
        token: &str,
        body: &Value,
        expect: &[u16],
    ) -> Result<Value, CallError> {
        self.request(Method::POST, path, Some(token), Some(body), expect)
            .await
    }

    /// `GET path` answered 200 with a text body (`/metrics`).
    pub async fn text(&self, path: &str) -> Result<String, CallError> {
        let answer = self.builder(Method::GET, path, None).send().await?;
        let status = answer.status().as_u16();
        let bytes = answer.bytes().await?;
        if status != 200 {
            return Err(CallError::status(status, &bytes));
        }
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Opens `GET path` as an event stream; the answer's headers have arrived (so the server has
    /// subscribed the stream) when this returns. Use a [`stream_client`].
    pub async fn open_stream(
        &self,
        path: &str,
        token: &str,
    ) -> Result<reqwest::Response, CallError> {
        let answer = self.builder(Method::GET, path, Some(token)).send().await?;
        let status = answer.status().as_u16();
        if status != 200 {
            let bytes = answer.bytes().await.unwrap_or_default();
            return Err(CallError::status(status, &bytes));
        }
        Ok(answer)
    }

    /// Logs in to an account created with the temporary password `temporary`: the first time
    /// it sets [`own_password`]`(temporary)` (passwords an administrator gives, and the
    /// bootstrap one, are temporary), later it logs in with that.
    pub async fn login(&self, login: &str, temporary: &str) -> anyhow::Result<String> {
        let own = own_password(temporary);
        let attempt = |password: &str| {
            let body = json!({ "login": login, "password": password });
            async move {
                self.request(
                    Method::POST,
                    "/api/v1/auth/login",
                    None,
                    Some(&body),
                    &[200],
                )
                .await
            }
        };
        let failed = || format!("login as {login} at {} failed", self.base_url);
        let answer = match attempt(&own).await {
            Ok(a) => a,
            // Wrong password: the account still has its temporary one.
            Err(CallError::Status {
                status: 401, code, ..
            }) if code.as_deref().is_none_or(|c| c == BAD_CREDENTIALS) => {
                attempt(temporary).await.with_context(failed)?
            }
            Err(e) => return Err(e).with_context(failed),
        };
        let token = answer
            .get("token")
            .and_then(Value::as_str)
            .with_context(|| format!("login answer has no token: {answer}"))?
            .to_string();
        if answer["user"]["must_change_password"] == true {
            let body = json!({ "current_password": temporary, "new_password": own });
            self.post("/api/v1/auth/password", &token, &body, &[200])
                .await
                .with_context(|| format!("setting the password of {login} failed"))?;
        }
        Ok(token)
    }

    /// Creates an account (as admin); an account that already exists is fine.
    pub async fn create_account(
        &self,
        admin_token: &str,
        login: &str,
        full_name: &str,
        password: &str,
        roles: &[&str],
    ) -> anyhow::Result<()> {
        let body =
            json!({ "login": login, "full_name": full_name, "password": password, "roles": roles });
        match self
            .post("/api/v1/accounts", admin_token, &body, &[200, 201])
            .await
        {
            Ok(_) => Ok(()),
            Err(CallError::Status { status: 409, .. }) => Ok(()),
            Err(e) => Err(e).with_context(|| format!("cannot create account {login}")),
        }
    }

    /// Category codes from `GET /api/v1/reference`.
    pub async fn categories(&self, token: &str) -> anyhow::Result<Vec<String>> {
        let answer = self
            .get("/api/v1/reference", token)
            .await
            .context("cannot read /api/v1/reference")?;
        let codes: Vec<String> = answer
            .get("categories")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(|c| c.get("code").and_then(Value::as_str).map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        if codes.is_empty() {
            bail!("/api/v1/reference lists no categories: {answer}");
        }
        Ok(codes)
    }

    pub async fn create_card(&self, token: &str, body: &Value) -> Result<Created, CallError> {
        let answer = self.post("/api/v1/cards", token, body, &[201]).await?;
        let field = |name: &str| answer.get(name).and_then(Value::as_str).map(str::to_string);
        match (field("id"), field("number")) {
            (Some(id), Some(number)) => Ok(Created { id, number }),
            _ => Err(CallError::Malformed {
                status: 201,
                reason: format!("201 without id/number: {answer}"),
            }),
        }
    }

    /// `Ok(None)` for 404.
    pub async fn get_card(&self, token: &str, id: &str) -> Result<Option<Value>, CallError> {
        self.get_opt(&format!("/api/v1/cards/{id}"), token).await
    }

    pub async fn cancel_card(&self, token: &str, id: &str, reason: &str) -> Result<(), CallError> {
        let body = json!({ "reason": reason });
        self.post(&format!("/api/v1/cards/{id}/cancel"), token, &body, &[200])
            .await
            .map(|_| ())
    }

    /// The cheapest request the node answers: the floor of any request's latency.
    pub async fn healthz(&self) -> Result<(), CallError> {
        self.request(Method::GET, "/healthz", None, None, &[200])
            .await
            .map(|_| ())
    }

    /// The server's `/metrics` text.
    pub async fn metrics(&self) -> Result<String, CallError> {
        self.text("/metrics").await
    }
}

/// Logs in as admin, creates `login` with `roles` (when missing) and logs in as it.
pub async fn operator_session(
    api: &Api,
    admin_password: &str,
    login: &str,
    roles: &[&str],
) -> anyhow::Result<String> {
    let admin = api.login("admin", admin_password).await?;
    api.create_account(
        &admin,
        login,
        "Simulation Operator",
        OPERATOR_PASSWORD,
        roles,
    )
    .await?;
    api.login(login, OPERATOR_PASSWORD).await
}

/// Logs in to the central hub as an HQ duty officer (who reads the national picture and writes
/// HQ notes; the administrator reads no cards): the administrator creates the account when
/// missing.
pub async fn hq_duty_session(api: &Api, admin_password: &str) -> anyhow::Result<String> {
    let admin = api.login("admin", admin_password).await?;
    api.create_account(
        &admin,
        HQ_DUTY_LOGIN,
        "Simulation HQ duty officer",
        OPERATOR_PASSWORD,
        &["hq_duty"],
    )
    .await?;
    api.login(HQ_DUTY_LOGIN, OPERATOR_PASSWORD).await
}

/// Login of the HQ duty officer the simulations create at the central hub.
pub const HQ_DUTY_LOGIN: &str = "sim.hq";

/// Temporary password of the operator accounts the simulations create.
pub const OPERATOR_PASSWORD: &str = "sim-operator-password-102";

/// The password a simulation account sets at its first login, from the temporary one.
pub fn own_password(temporary: &str) -> String {
    format!("{temporary}-own")
}

const CHANNELS: &[&str] = &[
    "app102_call",
    "app102_text",
    "zakon_poryadok_call",
    "zakon_poryadok_text",
    "telegram",
    "web_widget",
];
const NAMES: &[(&str, &str)] = &[
    ("Айгерим", "kk"),
    ("Нурлан", "kk"),
    ("Дана", "kk"),
    ("Ержан", "kk"),
    ("Сергей", "ru"),
    ("Ольга", "ru"),
    ("Асель", "ru"),
];
const STREETS: &[&str] = &[
    "ул. Кенесары",
    "пр. Мангилик Ел",
    "ул. Сыганак",
    "пр. Республики",
    "ул. Бейбитшилик",
];
const DESCRIPTIONS: &[&str] = &[
    "Шум во дворе, драка",
    "Көлік жолды бөгеп тұр",
    "Подозрительный человек у подъезда",
    "ДТП без пострадавших",
    "Ұрлық, әмиян жоғалды",
];

/// A realistic card body around Astana. Coordinates have six decimals so they survive any JSON
/// round trip; `seq` makes the description unique so an altered card is recognisable.
pub fn card_body(rng: &mut impl Rng, categories: &[String], seq: u64) -> Value {
    let (name, language) = *NAMES.choose(rng).expect("names are not empty");
    let street = *STREETS.choose(rng).expect("streets are not empty");
    let lat: f64 = (51.08 + rng.gen_range(0.0..0.12)) * 1e6;
    let lon: f64 = (71.35 + rng.gen_range(0.0..0.20)) * 1e6;
    json!({
        "channel": *CHANNELS.choose(rng).expect("channels are not empty"),
        "caller": {
            "name": name,
            "phone": format!("+7701{:07}", rng.gen_range(0..10_000_000u32)),
            "language": language,
        },
        "location": {
            "lat": lat.round() / 1e6,
            "lon": lon.round() / 1e6,
            "accuracy_m": rng.gen_range(5..60u32),
            "address": format!("Астана, {street} {}", rng.gen_range(1..120u32)),
        },
        "description": format!("{} (sim #{seq})", DESCRIPTIONS.choose(rng).expect("not empty")),
        "category": categories.choose(rng).expect("categories are checked non-empty"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An unexpected answer `(status, body)` becomes `(key, code)`.
    fn check(status: u16, body: &str, expect: (&str, Option<&str>)) {
        let error = CallError::status(status, body.as_bytes());
        let CallError::Status { code, .. } = &error else {
            panic!("not a status error: {error}");
        };
        assert_eq!((error.key().as_str(), code.as_deref()), expect);
    }

    #[test]
    fn unexpected_answers_keep_the_servers_error_code() {
        check(
            401,
            r#"{"code":"bad_credentials","message":"wrong login or password"}"#,
            ("status_401", Some("bad_credentials")),
        );
        check(503, "Service Unavailable", ("status_503", None));
        check(409, r#"["not", "an", "error"]"#, ("status_409", None));
        let malformed = CallError::Malformed {
            status: 201,
            reason: "201 without id/number".to_string(),
        };
        assert_eq!(malformed.key(), "status_201");
        assert_eq!(CallError::Transport("reset".to_string()).key(), "transport");
    }
}
