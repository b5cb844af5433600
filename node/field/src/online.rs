//! The officer's first login on this terminal, checked by the node: `POST /api/v1/auth/login`
//! over HTTPS trusting only the unit bundle's CA, then `GET /api/v1/me` must show the `patrol`
//! role. The node's session is ended at once (`POST /api/v1/auth/logout`): the terminal keeps
//! no token, only the officer's wrapped data key.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde::Deserialize;
use thiserror::Error;

/// How long the terminal waits for the node's answer to a login, ms. The link from a car can
/// be slow; past this the officer is told the node is unreachable (and can log in offline if
/// this terminal knows them).
pub const ONLINE_LOGIN_TIMEOUT_MS: u64 = 15_000;
/// Largest answer read from the node, bytes.
pub const ONLINE_ANSWER_BYTES_MAX: usize = 64 * 1024;

/// The officer as the node confirmed them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Officer {
    pub login: String,
    pub full_name: String,
}

/// Why the node did not confirm the officer. `code()` is what the UI translates.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum OnlineError {
    #[error("the node cannot be reached: {0}")]
    Unreachable(String),
    #[error("the bundle names no web address of the node for the first login")]
    NoWebAddress,
    #[error("wrong login or password")]
    BadCredentials,
    #[error("the account is disabled")]
    Disabled,
    #[error("too many failed logins; try again in {retry_after_s} s")]
    Throttled { retry_after_s: u64 },
    #[error("the password must be changed in the console first")]
    MustChangePassword,
    #[error("the account is not a patrol officer's")]
    NotPatrol,
    #[error("the node answered {status}: {message}")]
    Node { status: u16, message: String },
}

impl OnlineError {
    pub fn code(&self) -> &'static str {
        match self {
            OnlineError::Unreachable(_) => "node_unreachable",
            OnlineError::NoWebAddress => "no_web_address",
            OnlineError::BadCredentials => "bad_credentials",
            OnlineError::Disabled => "account_disabled",
            OnlineError::Throttled { .. } => "login_throttled",
            OnlineError::MustChangePassword => "must_change_password",
            OnlineError::NotPatrol => "not_patrol",
            OnlineError::Node { .. } => "node_error",
        }
    }
}

/// What confirms an officer online: the node over HTTPS ([`NodeLogin`]), or a stand-in in tests.
pub trait OnlineLogin: Send + Sync + 'static {
    fn confirm<'a>(
        &'a self,
        login: &'a str,
        password: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<Officer, OnlineError>> + Send + 'a>>;
}

/// The node's account API over HTTPS.
pub struct NodeLogin {
    client: reqwest::Client,
    base: String,
}

#[derive(Deserialize)]
struct LoginAnswer {
    token: String,
}

#[derive(Deserialize)]
struct UserAnswer {
    login: String,
    #[serde(default)]
    full_name: String,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    disabled: bool,
    #[serde(default)]
    must_change_password: bool,
}

#[derive(Deserialize, Default)]
struct ErrorAnswer {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

impl NodeLogin {
    /// A client of the node at `web_url` (`https://…`) trusting only `ca_pem`.
    pub fn new(web_url: &str, ca_pem: &[u8]) -> Result<NodeLogin, String> {
        let base = web_url.trim_end_matches('/').to_string();
        if !base.starts_with("https://") {
            return Err(format!(
                "the node's web address {web_url} is not https://: the first login sends a password"
            ));
        }
        let ca = reqwest::Certificate::from_pem(ca_pem)
            .map_err(|e| format!("the bundle's CA certificate: {e}"))?;
        let client = reqwest::Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(ca)
            .https_only(true)
            .timeout(Duration::from_millis(ONLINE_LOGIN_TIMEOUT_MS))
            .build()
            .map_err(|e| format!("HTTPS client: {e}"))?;
        Ok(NodeLogin { client, base })
    }

    async fn read(resp: reqwest::Response) -> Result<(u16, Vec<u8>), OnlineError> {
        let status = resp.status().as_u16();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| OnlineError::Unreachable(e.to_string()))?;
        if bytes.len() > ONLINE_ANSWER_BYTES_MAX {
            return Err(OnlineError::Node {
                status,
                message: format!("an answer of {} bytes", bytes.len()),
            });
        }
        Ok((status, bytes.to_vec()))
    }

    async fn confirm_inner(&self, login: &str, password: &str) -> Result<Officer, OnlineError> {
        let unreachable = |e: reqwest::Error| OnlineError::Unreachable(e.to_string());
        let resp = self
            .client
            .post(format!("{}/api/v1/auth/login", self.base))
            .json(&serde_json::json!({ "login": login, "password": password }))
            .send()
            .await
            .map_err(unreachable)?;
        let retry_after_s = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(60);
        let (status, body) = Self::read(resp).await?;
        if status != 200 {
            let err: ErrorAnswer = serde_json::from_slice(&body).unwrap_or_default();
            return Err(match (status, err.code.as_str()) {
                (401, _) => OnlineError::BadCredentials,
                (403, _) => OnlineError::Disabled,
                (429, _) => OnlineError::Throttled { retry_after_s },
                _ => OnlineError::Node {
                    status,
                    message: if err.message.is_empty() {
                        err.code
                    } else {
                        err.message
                    },
                },
            });
        }
        let token = serde_json::from_slice::<LoginAnswer>(&body)
            .map_err(|e| OnlineError::Node {
                status,
                message: format!("an unexpected login answer: {e}"),
            })?
            .token;
        let me = self.me(&token).await;
        // The terminal keeps no node session: end it whatever /me said.
        let _ = self
            .client
            .post(format!("{}/api/v1/auth/logout", self.base))
            .bearer_auth(&token)
            .send()
            .await;
        let user = me?;
        if user.disabled {
            return Err(OnlineError::Disabled);
        }
        if user.must_change_password {
            return Err(OnlineError::MustChangePassword);
        }
        if !user.roles.iter().any(|r| r == "patrol") {
            return Err(OnlineError::NotPatrol);
        }
        Ok(Officer {
            login: user.login,
            full_name: user.full_name,
        })
    }

    async fn me(&self, token: &str) -> Result<UserAnswer, OnlineError> {
        let resp = self
            .client
            .get(format!("{}/api/v1/me", self.base))
            .bearer_auth(token)
            .send()
            .await
            .map_err(|e| OnlineError::Unreachable(e.to_string()))?;
        let (status, body) = Self::read(resp).await?;
        if status != 200 {
            return Err(OnlineError::Node {
                status,
                message: "GET /api/v1/me failed".into(),
            });
        }
        serde_json::from_slice(&body).map_err(|e| OnlineError::Node {
            status,
            message: format!("an unexpected /me answer: {e}"),
        })
    }
}

impl OnlineLogin for NodeLogin {
    fn confirm<'a>(
        &'a self,
        login: &'a str,
        password: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<Officer, OnlineError>> + Send + 'a>> {
        Box::pin(self.confirm_inner(login, password))
    }
}

/// No web address in the bundle: every first login is refused with [`OnlineError::NoWebAddress`].
pub struct NoOnlineLogin;

impl OnlineLogin for NoOnlineLogin {
    fn confirm<'a>(
        &'a self,
        _login: &'a str,
        _password: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<Officer, OnlineError>> + Send + 'a>> {
        Box::pin(async { Err(OnlineError::NoWebAddress) })
    }
}
