//! A field terminal (`field-terminal`) as a supervised child process, and its officer: the
//! local JSON API under `/field/v1` on 127.0.0.1 that the terminal's browser UI uses (login,
//! statuses, reports, photos, positions, the pack, the link state).

use std::path::Path;

use anyhow::Context;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::process::Command;

use crate::process::{self, Process, Readiness, Spec};

/// The terminal's own settings in a run: the cheapest key derivation it accepts (8 MiB, one
/// pass), so that a fleet's first logins do not measure argon2.
const TERMINAL_CONFIG: &str = "[terminal]\nkdf_memory_kib = 8192\nkdf_passes = 1\n";
/// Deadline of one call to a terminal's local API, ms (a login includes the node's check).
const TERMINAL_REQUEST_TIMEOUT_MS: u64 = 30_000;

/// One terminal process and a client of its local API.
pub struct Terminal {
    pub unit: String,
    pub process: Process,
    client: Client,
}

/// A client of one terminal's local API (cloned into the officer's task).
#[derive(Clone)]
pub struct Client {
    pub unit: String,
    http: reqwest::Client,
    base: String,
}

/// What the officer's action came back with.
pub enum Written {
    /// 201: the terminal recorded it (durably): the log entry it wrote.
    Entry(Value),
    /// Anything else; the harness counts it as not acknowledged.
    Refused(String),
}

impl Terminal {
    /// Starts `field-terminal` on the unit `bundle` with its data under `dir`.
    pub async fn start(
        bin: &Path,
        unit: &str,
        bundle: &Path,
        dir: &Path,
    ) -> anyhow::Result<Terminal> {
        let config = dir.join(format!("{unit}-terminal.toml"));
        std::fs::write(&config, TERMINAL_CONFIG).context("cannot write a terminal config")?;
        let port = process::free_tcp_port()?;
        let listen = format!("127.0.0.1:{port}");
        let mut command = Command::new(bin);
        command
            .arg("--bundle")
            .arg(bundle)
            .arg("--data")
            .arg(dir.join(format!("{unit}-data")))
            .args(["--listen", &listen])
            .arg("--config")
            .arg(&config)
            .env_remove("RUST_LOG")
            .env_remove("FIELD_BUNDLE")
            .env_remove("FIELD_DATA")
            .env_remove("FIELD_LISTEN")
            .env_remove("FIELD_CONFIG");
        let process = Process::start(Spec {
            name: format!("terminal {unit}"),
            command,
            log_path: dir.join(format!("terminal-{unit}.log")),
            ready: Readiness::TcpPort(port),
        })
        .await?;
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_millis(
                TERMINAL_REQUEST_TIMEOUT_MS,
            ))
            .build()
            .context("cannot build the terminal client")?;
        Ok(Terminal {
            unit: unit.to_string(),
            process,
            client: Client {
                unit: unit.to_string(),
                http,
                base: format!("http://{listen}"),
            },
        })
    }

    pub fn client(&self) -> Client {
        self.client.clone()
    }

    /// The officer's first login: the terminal checks it online with the node.
    pub async fn login(&self, login: &str, password: &str) -> anyhow::Result<()> {
        self.client.login(login, password).await
    }

    pub async fn link(&self) -> Option<(String, u64)> {
        self.client.link().await
    }
}

impl Client {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<(StatusCode, Value)> {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(body);
        }
        let answer = request
            .send()
            .await
            .with_context(|| format!("terminal {}: {path}", self.unit))?;
        let status = answer.status();
        let bytes = answer.bytes().await?;
        let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok((status, value))
    }

    /// The officer's first login: the terminal checks it online with the node.
    pub async fn login(&self, login: &str, password: &str) -> anyhow::Result<()> {
        let body = json!({ "login": login, "password": password });
        let (status, answer) = self
            .call(reqwest::Method::POST, "/field/v1/login", Some(&body))
            .await?;
        if status != StatusCode::OK {
            anyhow::bail!(
                "terminal {}: login as {login} answered {status}: {answer}",
                self.unit
            );
        }
        Ok(())
    }

    async fn record(&self, path: &str, body: Value) -> anyhow::Result<Written> {
        let (status, answer) = self.call(reqwest::Method::POST, path, Some(&body)).await?;
        Ok(if status == StatusCode::CREATED {
            Written::Entry(answer)
        } else {
            Written::Refused(format!("{status}: {answer}"))
        })
    }

    /// `POST /field/v1/status`.
    pub async fn status(&self, card_id: &str, status: &str) -> anyhow::Result<Written> {
        self.record(
            "/field/v1/status",
            json!({ "card_id": card_id, "status": status }),
        )
        .await
    }

    /// `POST /field/v1/report` with a report in the standard format (R34).
    pub async fn report(&self, card_id: &str, report: Value) -> anyhow::Result<Written> {
        self.record(
            "/field/v1/report",
            json!({ "card_id": card_id, "report": report }),
        )
        .await
    }

    /// `POST /field/v1/photos`: the photo's SHA-256 (hex).
    pub async fn photo(&self, jpeg: Vec<u8>) -> anyhow::Result<String> {
        let answer = self
            .http
            .post(format!("{}/field/v1/photos", self.base))
            .header(reqwest::header::CONTENT_TYPE, "image/jpeg")
            .body(jpeg)
            .send()
            .await
            .with_context(|| format!("terminal {}: photo", self.unit))?;
        let status = answer.status();
        let value: Value = answer.json().await.unwrap_or(Value::Null);
        match value["sha256"].as_str() {
            Some(sha) if status == StatusCode::CREATED => Ok(sha.to_string()),
            _ => anyhow::bail!("terminal {}: photo answered {status}: {value}", self.unit),
        }
    }

    /// `POST /field/v1/position`: whether the track took the fix.
    pub async fn position(&self, fix: Value) -> anyhow::Result<bool> {
        let (status, answer) = self
            .call(reqwest::Method::POST, "/field/v1/position", Some(&fix))
            .await?;
        if status != StatusCode::OK {
            anyhow::bail!(
                "terminal {}: position answered {status}: {answer}",
                self.unit
            );
        }
        Ok(answer["recorded"] == true)
    }

    /// Whether the unit's pack on the terminal holds the assignment to `card_id`.
    pub async fn has_assignment(&self, card_id: &str) -> bool {
        match self
            .call(reqwest::Method::GET, "/field/v1/pack", None)
            .await
        {
            Ok((StatusCode::OK, pack)) => pack["assignments"]
                .as_array()
                .is_some_and(|list| list.iter().any(|a| a["card_id"] == card_id)),
            _ => false,
        }
    }

    /// `(banner, pending)` of `GET /field/v1/state`: `offline`, `syncing` or `synced`, and the
    /// documents the node has not acknowledged.
    pub async fn link(&self) -> Option<(String, u64)> {
        let (status, state) = self
            .call(reqwest::Method::GET, "/field/v1/state", None)
            .await
            .ok()?;
        if status != StatusCode::OK {
            return None;
        }
        Some((
            state["link"]["banner"].as_str()?.to_string(),
            state["link"]["pending"].as_u64()?,
        ))
    }
}

/// A report in the standard format (R34) naming `photos`.
pub fn patrol_report(seq: u64, photos: &[String]) -> Value {
    json!({
        "established": format!("Бытовой конфликт, телесных повреждений нет (вызов {seq})"),
        "measures": "Проведена профилактическая беседа, стороны предупреждены",
        "persons": [
            {"role": "applicant", "surname": "Серікова", "name": "Айгерим", "birth_year": 1988},
            {"role": "offender", "surname": "Серіков", "name": "Ержан", "birth_year": 1985}
        ],
        "vehicles": [],
        "outcome": "resolved_on_scene",
        "photos": photos,
    })
}

/// A JPEG-looking photo of `bytes` bytes (SOI and JFIF marker, then noise, then EOI): noise so
/// that it does not compress on the way.
pub fn photo_bytes(rng: &mut impl rand::Rng, bytes: usize) -> Vec<u8> {
    let mut jpeg = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00,
    ];
    let body = bytes.saturating_sub(jpeg.len() + 2);
    jpeg.extend((0..body).map(|_| rng.gen::<u8>()));
    jpeg.extend([0xFF, 0xD9]);
    jpeg
}

/// A position fix at `at_ms`, `step` fixes along a street from `origin` (about 40 m each).
pub fn fix(at_ms: i64, origin: (f64, f64), step: u64) -> Value {
    let (lat, lon) = origin;
    json!({
        "at_ms": at_ms,
        "lat": lat + step as f64 * 0.000_36,
        "lon": lon + step as f64 * 0.000_05,
        "accuracy_m": 8.0,
        "speed_kmh": 35.0,
        "heading_deg": 10,
    })
}
