//! The state database of persons and legal entities, as form З-1 asks it (R31, 004 p.23): by an
//! applicant's ИИН/БИН, fields 3, 5–18 and 20–26.
//!
//! The interface (node/API.md, "State register adapter"): `GET {url}?id=<12 digits>`, waiting at
//! most `[state_register] timeout_ms`; `200 {"fields": {"<З-1 field number>": "value"}}` or
//! `404`. The answer is read by [`sync::forms::register::parse_answer`].
//!
//! Offline cache: every answer (found or not found) is kept in the node's store under
//! `stateregister/<id>` with the time it was fetched. When the register cannot be reached
//! (timeout, error, a malformed answer), the forms use the cached answer and say so
//! (`cached: true`, `fetched_at`); with nothing cached they say `unavailable`. With no
//! `[state_register]` configured every З-1 says `not_configured`: its absence is shown, and the
//! automatic fields are listed as missing (to be filled by hand, p.23).

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use server_kit::store::{Store, WriteBatch};
use sync::forms::register::{parse_answer, RegisterAnswer, REGISTER_ANSWER_BYTES_MAX};
use sync::forms::RegisterState;

/// Longest accepted `state_register.timeout_ms`: the forms view waits for it, ms.
pub const STATE_REGISTER_TIMEOUT_MS_MAX: u64 = 10_000;
/// Store key prefix of the offline cache.
const CACHE_PREFIX: &str = "stateregister/";

/// `[state_register]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateRegisterSection {
    /// The register gateway's URL (node/API.md, "State register adapter").
    pub url: String,
    /// Longest wait for an answer, ms.
    #[serde(default = "timeout_ms")]
    pub timeout_ms: u64,
}

fn timeout_ms() -> u64 {
    2_000
}

impl StateRegisterSection {
    pub fn validate(&self) -> Result<(), String> {
        if !(self.url.starts_with("http://") || self.url.starts_with("https://")) {
            return Err("state_register.url must be an http:// or https:// URL".into());
        }
        if !(1..=STATE_REGISTER_TIMEOUT_MS_MAX).contains(&self.timeout_ms) {
            return Err(format!(
                "state_register.timeout_ms must be 1 to {STATE_REGISTER_TIMEOUT_MS_MAX} ms"
            ));
        }
        Ok(())
    }
}

/// A cached answer.
#[derive(Serialize, Deserialize)]
struct Cached {
    /// `None`: the register had no such person or entity.
    answer: Option<RegisterAnswer>,
    fetched_at: i64,
}

struct Client {
    url: String,
    timeout_ms: u64,
    http: reqwest::Client,
}

impl Client {
    /// `Ok(None)`: not in the register.
    async fn ask(&self, id: &str) -> Result<Option<RegisterAnswer>, String> {
        let ask = async {
            let mut resp = self
                .http
                .get(&self.url)
                .query(&[("id", id)])
                .send()
                .await
                .map_err(|e| e.without_url().to_string())?;
            match resp.status().as_u16() {
                200 => {}
                404 => return Ok(None),
                s => return Err(format!("the register answered HTTP {s}")),
            }
            let mut body = Vec::new();
            while let Some(chunk) = resp
                .chunk()
                .await
                .map_err(|e| e.without_url().to_string())?
            {
                body.extend_from_slice(&chunk);
                if body.len() > REGISTER_ANSWER_BYTES_MAX {
                    return Err(format!(
                        "the answer is over {REGISTER_ANSWER_BYTES_MAX} bytes"
                    ));
                }
            }
            parse_answer(&body).map(Some)
        };
        tokio::time::timeout(Duration::from_millis(self.timeout_ms), ask)
            .await
            .map_err(|_| format!("no answer within {} ms", self.timeout_ms))?
    }
}

/// The lookup as the node runs it.
pub struct StateRegister {
    client: Option<Client>,
    store: Arc<dyn Store>,
}

impl StateRegister {
    pub fn new(
        section: Option<&StateRegisterSection>,
        store: Arc<dyn Store>,
    ) -> anyhow::Result<StateRegister> {
        let client = match section {
            None => None,
            Some(s) => Some(Client {
                url: s.url.clone(),
                timeout_ms: s.timeout_ms,
                http: reqwest::Client::builder()
                    .timeout(Duration::from_millis(s.timeout_ms))
                    .build()
                    .map_err(|e| anyhow::anyhow!("state_register: the HTTP client: {e}"))?,
            }),
        };
        Ok(StateRegister { client, store })
    }

    fn key(id: &str) -> Vec<u8> {
        format!("{CACHE_PREFIX}{id}").into_bytes()
    }

    fn cached(&self, id: &str) -> Option<Cached> {
        let bytes = self.store.get(&Self::key(id)).ok()??;
        serde_json::from_slice(&bytes).ok()
    }

    /// The register's answer for one ИИН/БИН (`None`: the applicant gave none).
    pub async fn lookup(&self, id: Option<&str>, now_ms: i64) -> RegisterState {
        let Some(client) = &self.client else {
            return RegisterState::NotConfigured;
        };
        let Some(id) = id.filter(|i| sync::duplicates::iin_is_valid(i)) else {
            return RegisterState::NoIdentityNumber;
        };
        match client.ask(id).await {
            Ok(answer) => {
                let entry = Cached {
                    answer: answer.clone(),
                    fetched_at: now_ms,
                };
                let mut batch = WriteBatch::new();
                // A cache: applied now, made durable by the node's next group commit.
                if batch.put_json(Self::key(id), &entry).is_ok() {
                    if let Err(e) = self.store.apply(batch) {
                        tracing::warn!(error = %e, "state register: the answer could not be cached");
                    }
                }
                match answer {
                    Some(answer) => RegisterState::Found {
                        answer,
                        fetched_at: now_ms,
                        cached: false,
                    },
                    None => RegisterState::NotFound { fetched_at: now_ms },
                }
            }
            Err(error) => {
                tracing::warn!(%error, "state register lookup failed; the forms use the offline cache");
                match self.cached(id) {
                    Some(Cached {
                        answer: Some(answer),
                        fetched_at,
                    }) => RegisterState::Found {
                        answer,
                        fetched_at,
                        cached: true,
                    },
                    Some(Cached {
                        answer: None,
                        fetched_at,
                    }) => RegisterState::NotFound { fetched_at },
                    None => RegisterState::Unavailable { error },
                }
            }
        }
    }
}
