//! The node as a child process: start it on a data dir, wait until it is healthy, stop it
//! politely or SIGKILL it, and read its resident memory.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use tokio::process::{Child, Command};

/// How long a node may take to answer `/healthz` after it was started.
pub const HEALTH_DEADLINE_MS: u64 = 30_000;
/// Pause between two `/healthz` polls.
pub const HEALTH_POLL_MS: u64 = 20;
/// How long a polite stop (SIGTERM) may take before the node is killed.
pub const STOP_DEADLINE_MS: u64 = 10_000;
/// Attempts at starting when the chosen port was taken in the meantime.
pub const START_ATTEMPTS_MAX: u32 = 3;
/// Lines of the node's log quoted in an error.
const LOG_TAIL_LINES: usize = 30;

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

pub struct NodeProcess {
    child: Child,
    pid: u32,
    pub base_url: String,
    /// From spawn to the first 200 of `/healthz`.
    pub startup: Duration,
}

impl NodeProcess {
    /// Starts the node and waits until `/healthz` answers 200 (deadline [`HEALTH_DEADLINE_MS`]).
    pub async fn start(config: &NodeConfig) -> anyhow::Result<NodeProcess> {
        let mut last_error = None;
        for _ in 0..START_ATTEMPTS_MAX {
            let port = free_port()?;
            let mut node = Self::spawn(config, port)?;
            match node.wait_healthy().await {
                Ok(()) => return Ok(node),
                Err(error) => {
                    let exited = node.child.try_wait().ok().flatten().is_some();
                    let tail = log_tail(&config.log_path);
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

    fn spawn(config: &NodeConfig, port: u16) -> anyhow::Result<NodeProcess> {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&config.log_path)
            .with_context(|| format!("cannot open {}", config.log_path.display()))?;
        let log_err = log
            .try_clone()
            .context("cannot duplicate the log file handle")?;
        let listen = format!("127.0.0.1:{port}");
        let mut command = Command::new(&config.bin);
        command
            .arg("serve")
            .arg("--data")
            .arg(&config.data_dir)
            .arg("--listen")
            .arg(&listen);
        if let Some(file) = &config.config {
            command.arg("--config").arg(file);
        }
        let child = command
            .env("NODE_ADMIN_PASSWORD", &config.admin_password)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", config.bin.display()))?;
        let pid = child.id().context("the node exited at once")?;
        Ok(NodeProcess {
            child,
            pid,
            base_url: format!("http://{listen}"),
            startup: Duration::ZERO,
        })
    }

    async fn wait_healthy(&mut self) -> anyhow::Result<()> {
        let started = Instant::now();
        let deadline = started + Duration::from_millis(HEALTH_DEADLINE_MS);
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(1_000))
            .build()
            .context("cannot build an HTTP client")?;
        let url = format!("{}/healthz", self.base_url);
        loop {
            if let Some(status) = self.child.try_wait().context("cannot poll the node")? {
                bail!("node exited with {status} before it became healthy");
            }
            if let Ok(answer) = http.get(&url).send().await {
                if answer.status().as_u16() == 200 {
                    self.startup = started.elapsed();
                    return Ok(());
                }
            }
            if Instant::now() >= deadline {
                bail!("node not healthy within {HEALTH_DEADLINE_MS} ms");
            }
            tokio::time::sleep(Duration::from_millis(HEALTH_POLL_MS)).await;
        }
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// SIGKILL, then reap the child.
    pub async fn kill(&mut self) -> anyhow::Result<()> {
        if self.child.try_wait()?.is_none() {
            // tokio sends SIGKILL on Unix.
            self.child.start_kill().context("cannot SIGKILL the node")?;
        }
        self.child.wait().await.context("cannot reap the node")?;
        Ok(())
    }

    /// SIGTERM, wait up to [`STOP_DEADLINE_MS`], then SIGKILL. Returns whether it stopped by itself.
    pub async fn stop(&mut self) -> anyhow::Result<bool> {
        if self.child.try_wait()?.is_some() {
            return Ok(true);
        }
        // SAFETY: plain kill(2) on the pid of our own, not yet reaped, child.
        unsafe {
            libc::kill(self.pid as libc::pid_t, libc::SIGTERM);
        }
        let waited =
            tokio::time::timeout(Duration::from_millis(STOP_DEADLINE_MS), self.child.wait()).await;
        match waited {
            Ok(status) => {
                status.context("cannot reap the node")?;
                Ok(true)
            }
            Err(_) => {
                self.kill().await?;
                Ok(false)
            }
        }
    }

    /// Resident set size from `/proc/<pid>/status` (VmRSS), in KiB.
    pub fn rss_kib(&self) -> anyhow::Result<u64> {
        rss_kib(self.pid)
    }

    pub fn has_exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }
}

pub fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    let line = text
        .lines()
        .find(|line| line.starts_with("VmRSS:"))
        .with_context(|| format!("no VmRSS in {path}"))?;
    let kib = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse::<u64>().ok())
        .with_context(|| format!("unreadable VmRSS line {line:?}"))?;
    Ok(kib)
}

/// A port that was free a moment ago. The node binds it right after; a lost race is retried.
fn free_port() -> anyhow::Result<u16> {
    let socket = std::net::TcpListener::bind("127.0.0.1:0").context("cannot find a free port")?;
    Ok(socket.local_addr()?.port())
}

/// The last lines of a log file, for error messages.
pub fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let from = lines.len().saturating_sub(LOG_TAIL_LINES);
    lines[from..].join("\n")
}

/// User + system CPU time a process has used so far, from `/proc/<pid>/stat`.
pub fn cpu_time(pid: u32) -> anyhow::Result<Duration> {
    let path = format!("/proc/{pid}/stat");
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    // The command name (field 2) may hold spaces; fields are counted after its closing ')'.
    let rest = text
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .with_context(|| format!("unreadable {path}"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    let (Some(user), Some(system)) = (ticks(11), ticks(12)) else {
        bail!("no utime/stime in {path}");
    };
    // SAFETY: sysconf only reads a constant of the system.
    let per_s = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let per_s = if per_s > 0 { per_s as u64 } else { 100 };
    Ok(Duration::from_micros((user + system) * 1_000_000 / per_s))
}
