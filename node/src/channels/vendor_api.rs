//! What the messenger connectors share: their secrets, their HTTP client to the vendor's API,
//! and a size-limited download. Server setup and the connectors use it; it uses neither.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
/// Longest wait for one call to a vendor's API (not a long poll), ms.
pub const API_CALL_TIMEOUT_MS: u64 = 15_000;
/// Largest answer of a vendor's API method read, bytes (a batch of 100 updates fits).
pub const API_ANSWER_BYTES_MAX: usize = 8 * 1024 * 1024;
/// Longest wait for connecting to a vendor's API, ms.
pub const API_CONNECT_TIMEOUT_MS: u64 = 5_000;

/// A token or secret from the config: never printed (`Debug` says `[redacted]`).
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Reads a secret from `file` (its content, trimmed) or the environment variable `env`;
/// exactly one must be given. Errors name the setting, never the value.
pub fn read_secret(key: &str, file: Option<&Path>, env: Option<&str>) -> anyhow::Result<Secret> {
    let value = match (file, env) {
        (Some(path), None) => std::fs::read_to_string(path)
            .with_context(|| format!("{key}_file: cannot read {}", path.display()))?,
        (None, Some(var)) => std::env::var(var)
            .with_context(|| format!("{key}_env: the environment variable {var} is not set"))?,
        (Some(_), Some(_)) => anyhow::bail!("give {key}_file or {key}_env, not both"),
        (None, None) => anyhow::bail!("{key}_file or {key}_env is required"),
    };
    let value = value.trim();
    if value.is_empty() {
        anyhow::bail!("{key} is empty");
    }
    Ok(Secret::new(value))
}

/// The HTTP client for a vendor's API at `api_url`: over HTTPS it trusts the CA certificates in
/// `ca_file` (the system's bundle by default), as the node's client has no built-in roots.
pub fn api_client(key: &str, api_url: &str, ca_file: &Path) -> anyhow::Result<reqwest::Client> {
    let mut b = reqwest::Client::builder()
        .connect_timeout(Duration::from_millis(API_CONNECT_TIMEOUT_MS))
        .redirect(reqwest::redirect::Policy::none());
    if api_url.starts_with("https://") {
        let pem = std::fs::read(ca_file).with_context(|| {
            format!(
                "{key}.ca_file: cannot read the CA bundle {}",
                ca_file.display()
            )
        })?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| anyhow::anyhow!("{key}.ca_file {}: {e}", ca_file.display()))?;
        if certs.is_empty() {
            anyhow::bail!("{key}.ca_file {} holds no certificate", ca_file.display());
        }
        for c in certs {
            b = b.add_root_certificate(c);
        }
    }
    b.build()
        .map_err(|e| anyhow::anyhow!("{key}: the HTTP client: {e}"))
}

/// Why a file was not fetched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DownloadError {
    /// Larger than the limit: left behind, the message goes on without it.
    #[error("larger than {0} bytes")]
    TooLarge(usize),
    /// The link or the vendor failed: worth trying again later.
    #[error("{0}")]
    Failed(String),
}

/// GETs `url` into memory, refusing more than `max_bytes` (before reading when the length is
/// announced, else as soon as it is passed). Errors never carry the URL (it may hold a token).
pub async fn download(
    http: &reqwest::Client,
    url: &str,
    max_bytes: usize,
) -> Result<Vec<u8>, DownloadError> {
    let fail = |e: reqwest::Error| DownloadError::Failed(e.without_url().to_string());
    let mut resp = http
        .get(url)
        .timeout(Duration::from_millis(API_CALL_TIMEOUT_MS))
        .send()
        .await
        .map_err(fail)?;
    if !resp.status().is_success() {
        return Err(DownloadError::Failed(format!("HTTP {}", resp.status())));
    }
    if resp.content_length().is_some_and(|n| n > max_bytes as u64) {
        return Err(DownloadError::TooLarge(max_bytes));
    }
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(fail)? {
        if out.len() + chunk.len() > max_bytes {
            return Err(DownloadError::TooLarge(max_bytes));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}
