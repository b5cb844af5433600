//! The node as a child process on its own ([`crate::process`] supervises it): started on a data
//! dir on a free port, retried when the port was taken in the meantime.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use tokio::process::Command;

use crate::process::{self, Process, Readiness, Spec};

/// Attempts at starting when the chosen port was taken in the meantime.
pub const START_ATTEMPTS_MAX: u32 = 3;
/// Timeout of one `/healthz` poll while the node starts.
const HEALTH_REQUEST_TIMEOUT_MS: u64 = 1_000;

/// Default password of the `admin` account the node creates on a fresh data dir (≥ 10 chars).
pub const ADMIN_PASSWORD: &str = "sim-admin-password-102";

/// Where the node binary is by default: `<target>/release/node`.
pub fn default_node_bin() -> PathBuf {
    crate::report::target_dir().join("release").join("node")
}

/// Checks up front that the binary exists, so the error names the build command.
pub fn check_node_bin(bin: &Path) -> anyhow::Result<()> {
    if !bin.is_file() {
        bail!(
            "node binary {} not found; build it with `cargo build --release -p node` or pass --node-bin PATH",
            bin.display()
        );
    }
    Ok(())
}

#[derive(Debug, Clone)]
pub struct NodeConfig {
    pub bin: PathBuf,
    pub data_dir: PathBuf,
    pub admin_password: String,
    /// The node's stdout and stderr are appended here.
    pub log_path: PathBuf,
    /// A config file laid over the node's embedded default (`--config`).
    pub config: Option<PathBuf>,
}

/// Starts the node over plain HTTP on a free port of 127.0.0.1 and waits until `/healthz`
/// answers 200; `base_url` and `startup` of the result say where and how fast.
pub async fn start(config: &NodeConfig) -> anyhow::Result<Process> {
    let probe = reqwest::Client::builder()
        .timeout(Duration::from_millis(HEALTH_REQUEST_TIMEOUT_MS))
        .build()
        .context("cannot build an HTTP client")?;
    let mut last_error = None;
    for _ in 0..START_ATTEMPTS_MAX {
        let listen = format!("127.0.0.1:{}", process::free_tcp_port()?);
        let mut command = Command::new(&config.bin);
        command
            .arg("serve")
            .arg("--data")
            .arg(&config.data_dir)
            .arg("--listen")
            .arg(&listen)
            .env("NODE_ADMIN_PASSWORD", &config.admin_password);
        if let Some(file) = &config.config {
            command.arg("--config").arg(file);
        }
        let ready = Readiness::Healthz {
            client: probe.clone(),
            base_url: format!("http://{listen}"),
        };
        let mut node = Process::spawn(Spec {
            name: "node".to_string(),
            command,
            log_path: config.log_path.clone(),
            ready: ready.clone(),
        })?;
        match node.wait_ready(&ready).await {
            Ok(()) => return Ok(node),
            Err(error) => {
                let exited = node.has_exited();
                let tail = node.log_tail();
                node.kill().await.ok();
                let port_taken = tail.contains("in use") || tail.contains("AddrInUse");
                last_error = Some(error.context(format!(
                    "node did not become healthy (log {}):\n{tail}",
                    config.log_path.display()
                )));
                if !(exited && port_taken) {
                    break;
                }
            }
        }
    }
    Err(last_error.unwrap_or_else(|| anyhow::anyhow!("node did not start")))
}
