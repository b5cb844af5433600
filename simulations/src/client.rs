//! HTTP helpers against the node's v1 API (see `node/API.md`): login, accounts, cards, and the
//! seeded generator of realistic card bodies.

use std::time::Duration;

use anyhow::{bail, Context};
use rand::seq::SliceRandom;
use rand::Rng;
use serde_json::{json, Value};

/// Per-request timeout; a node that takes longer is treated as failing that request.
pub const REQUEST_TIMEOUT_MS: u64 = 10_000;
/// Idle keep-alive connections kept per host; enough for every client task.
pub const POOL_IDLE_PER_HOST_MAX: usize = 1_024;

/// Why one API call did not succeed.
#[derive(Debug)]
pub enum CallError {
    /// The node answered with an unexpected status.
    Status { status: u16, body: String },
    /// No answer: connection refused or reset, timeout.
    Transport(String),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Status { status, body } => write!(f, "HTTP {status}: {body}"),
            CallError::Transport(e) => write!(f, "transport: {e}"),
        }
    }
}

impl std::error::Error for CallError {}

/// One shared keep-alive client for all tasks of a command.
pub fn http_client() -> anyhow::Result<reqwest::Client> {
    http_client_trusting(None)
}

/// [`http_client`] that speaks HTTPS to servers whose certificate chains to `ca` (PEM, a
/// bundle's `ca.crt`) and to no other CA.
pub fn http_client_trusting(ca: Option<&std::path::Path>) -> anyhow::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .timeout(Duration::from_millis(REQUEST_TIMEOUT_MS))
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
    builder.build().context("cannot build the HTTP client")
}

/// The card the node acknowledged.
#[derive(Debug, Clone)]
pub struct Created {
    pub id: String,
    pub number: String,
}

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

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    async fn call(
        &self,
        request: reqwest::RequestBuilder,
        expect: &[u16],
    ) -> Result<Value, CallError> {
        let answer = request
            .send()
            .await
            .map_err(|e| CallError::Transport(e.to_string()))?;
        let status = answer.status().as_u16();
        let bytes = answer
            .bytes()
            .await
            .map_err(|e| CallError::Transport(e.to_string()))?;
        if !expect.contains(&status) {
            let body = String::from_utf8_lossy(&bytes).chars().take(500).collect();
            return Err(CallError::Status { status, body });
        }
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes).map_err(|e| CallError::Status {
            status,
            body: format!(
                "answer is not JSON ({e}): {}",
                String::from_utf8_lossy(&bytes)
            ),
        })
    }

    /// Logs in to an account created with the temporary password `temporary`: the first time
    /// it sets [`own_password`]`(temporary)` (passwords an administrator gives, and the
    /// bootstrap one, are temporary), later it logs in with that.
    pub async fn login(&self, login: &str, temporary: &str) -> anyhow::Result<String> {
        let own = own_password(temporary);
        let attempt = |password: &str| {
            let body = json!({ "login": login, "password": password });
            self.call(
                self.http.post(self.url("/api/v1/auth/login")).json(&body),
                &[200],
            )
        };
        let answer = match attempt(&own).await {
            Ok(a) => a,
            Err(CallError::Status { status: 401, .. }) => attempt(temporary)
                .await
                .with_context(|| format!("login as {login} failed"))?,
            Err(e) => return Err(e).with_context(|| format!("login as {login} failed")),
        };
        let token = answer
            .get("token")
            .and_then(Value::as_str)
            .with_context(|| format!("login answer has no token: {answer}"))?
            .to_string();
        if answer["user"]["must_change_password"] == true {
            let body = json!({ "current_password": temporary, "new_password": own });
            self.call(
                self.http
                    .post(self.url("/api/v1/auth/password"))
                    .bearer_auth(&token)
                    .json(&body),
                &[200],
            )
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
        let request = self
            .http
            .post(self.url("/api/v1/accounts"))
            .bearer_auth(admin_token)
            .json(&body);
        match self.call(request, &[200, 201]).await {
            Ok(_) => Ok(()),
            Err(CallError::Status { status: 409, .. }) => Ok(()),
            Err(e) => Err(e).with_context(|| format!("cannot create account {login}")),
        }
    }

    /// Category codes from `GET /api/v1/reference`.
    pub async fn categories(&self, token: &str) -> anyhow::Result<Vec<String>> {
        let answer = self
            .call(
                self.http
                    .get(self.url("/api/v1/reference"))
                    .bearer_auth(token),
                &[200],
            )
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
        let request = self
            .http
            .post(self.url("/api/v1/cards"))
            .bearer_auth(token)
            .json(body);
        let answer = self.call(request, &[201]).await?;
        let field = |name: &str| answer.get(name).and_then(Value::as_str).map(str::to_string);
        match (field("id"), field("number")) {
            (Some(id), Some(number)) => Ok(Created { id, number }),
            _ => Err(CallError::Status {
                status: 201,
                body: format!("201 without id/number: {answer}"),
            }),
        }
    }

    /// `Ok(None)` for 404.
    pub async fn get_card(&self, token: &str, id: &str) -> Result<Option<Value>, CallError> {
        let request = self
            .http
            .get(self.url(&format!("/api/v1/cards/{id}")))
            .bearer_auth(token);
        match self.call(request, &[200]).await {
            Ok(card) => Ok(Some(card)),
            Err(CallError::Status { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn cancel_card(&self, token: &str, id: &str, reason: &str) -> Result<(), CallError> {
        let request = self
            .http
            .post(self.url(&format!("/api/v1/cards/{id}/cancel")))
            .bearer_auth(token)
            .json(&json!({ "reason": reason }));
        self.call(request, &[200]).await.map(|_| ())
    }

    /// The cheapest request the node answers: the floor of any request's latency.
    pub async fn healthz(&self) -> Result<(), CallError> {
        self.call(self.http.get(self.url("/healthz")), &[200])
            .await
            .map(|_| ())
    }

    pub async fn metrics(&self) -> Result<String, CallError> {
        let answer = self
            .http
            .get(self.url("/metrics"))
            .send()
            .await
            .map_err(|e| CallError::Transport(e.to_string()))?;
        let status = answer.status().as_u16();
        let text = answer
            .text()
            .await
            .map_err(|e| CallError::Transport(e.to_string()))?;
        if status != 200 {
            return Err(CallError::Status {
                status,
                body: text.chars().take(500).collect(),
            });
        }
        Ok(text)
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
