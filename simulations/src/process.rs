//! The one process supervisor of the harness: every child a benchmark or chaos run starts (node,
//! central, coturn) is a [`Process`], and every short command it runs to the end (provisioning)
//! goes through [`run_to_end`].
//!
//! A child is spawned with its stdout and stderr appended to a log file, then polled until it is
//! ready (its `/healthz` answers 200, or its TCP port accepts) within [`READY_DEADLINE_MS`]. It
//! is stopped politely (SIGTERM, then SIGKILL after [`STOP_DEADLINE_MS`]) or crashed (SIGKILL),
//! and a child still running when its `Process` is dropped is SIGKILLed and reaped by the
//! runtime, so an error or a panic anywhere in a run leaves no process behind.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use tokio::process::{Child, Command};

/// How long a child may take to become ready after it was spawned.
pub const READY_DEADLINE_MS: u64 = 30_000;
/// Pause between two readiness polls.
pub const READY_POLL_MS: u64 = 20;
/// How long a polite stop (SIGTERM) may take before the child is killed.
pub const STOP_DEADLINE_MS: u64 = 10_000;
/// Lines of a child's log quoted in an error or printed after a failed run.
const LOG_TAIL_LINES: usize = 30;
/// Settings the servers read from the environment; the harness passes everything as arguments,
/// so a developer's shell does not leak into a run.
const ENV_REMOVED: &[&str] = &[
    "NODE_CONFIG",
    "NODE_DATA",
    "NODE_BUNDLE",
    "CENTRAL_CONFIG",
    "CENTRAL_DATA",
    "CENTRAL_BUNDLE",
];

/// When a freshly spawned child counts as ready.
#[derive(Clone)]
pub enum Readiness {
    /// `GET {base_url}/healthz` answers 200 (`client` trusts the run's CA for HTTPS).
    Healthz {
        client: reqwest::Client,
        base_url: String,
    },
    /// Something accepts TCP connections on `127.0.0.1:port`.
    TcpPort(u16),
}

impl Readiness {
    async fn reached(&self) -> bool {
        match self {
            Readiness::Healthz { client, base_url } => {
                let answer = client.get(format!("{base_url}/healthz")).send().await;
                answer.is_ok_and(|a| a.status().as_u16() == 200)
            }
            Readiness::TcpPort(port) => tokio::net::TcpStream::connect(("127.0.0.1", *port))
                .await
                .is_ok(),
        }
    }

    fn address(&self) -> String {
        match self {
            Readiness::Healthz { base_url, .. } => base_url.clone(),
            Readiness::TcpPort(port) => format!("127.0.0.1:{port}"),
        }
    }
}

/// What to start: `command` (program, arguments, environment) and where its output goes.
pub struct Spec {
    /// Names the child in errors and logs (`central`, `node AST`, `coturn`).
    pub name: String,
    pub command: Command,
    pub log_path: PathBuf,
    pub ready: Readiness,
}

/// A running child process.
pub struct Process {
    name: String,
    child: Child,
    pid: u32,
    log_path: PathBuf,
    spawned: Instant,
    /// Where it serves: `http(s)://127.0.0.1:PORT` for a web server, `127.0.0.1:PORT` for a
    /// bare TCP listener.
    pub base_url: String,
    /// From spawn to the first successful readiness poll.
    pub startup: Duration,
}

impl Process {
    /// Spawns the child and waits until it is ready; on failure it is killed and the error quotes
    /// the tail of its log.
    pub async fn start(spec: Spec) -> anyhow::Result<Process> {
        let ready = spec.ready.clone();
        let mut process = Process::spawn(spec)?;
        match process.wait_ready(&ready).await {
            Ok(()) => Ok(process),
            Err(error) => {
                process.kill().await.ok();
                Err(error.context(format!(
                    "{} did not become ready (log {}):\n{}",
                    process.name,
                    process.log_path.display(),
                    process.log_tail()
                )))
            }
        }
    }

    /// Spawns the child without waiting for it; see [`Process::wait_ready`].
    pub fn spawn(spec: Spec) -> anyhow::Result<Process> {
        let Spec {
            name,
            mut command,
            log_path,
            ready,
        } = spec;
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .with_context(|| format!("cannot open {}", log_path.display()))?;
        let log_err = log.try_clone().context("cannot duplicate a log handle")?;
        for var in ENV_REMOVED {
            command.env_remove(var);
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {name}"))?;
        let pid = child
            .id()
            .with_context(|| format!("{name} exited at once"))?;
        Ok(Process {
            name,
            child,
            pid,
            log_path,
            spawned: Instant::now(),
            base_url: ready.address(),
            startup: Duration::ZERO,
        })
    }

    /// Polls `ready` every [`READY_POLL_MS`] until it holds (and records [`Process::startup`]),
    /// the child exits, or [`READY_DEADLINE_MS`] passes.
    pub async fn wait_ready(&mut self, ready: &Readiness) -> anyhow::Result<()> {
        let deadline = self.spawned + Duration::from_millis(READY_DEADLINE_MS);
        loop {
            if let Some(status) = self.exit_status()? {
                bail!("{} exited with {status} before it became ready", self.name);
            }
            if ready.reached().await {
                self.startup = self.spawned.elapsed();
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!("{} not ready within {READY_DEADLINE_MS} ms", self.name);
            }
            tokio::time::sleep(Duration::from_millis(READY_POLL_MS)).await;
        }
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// When it was spawned.
    pub fn spawned(&self) -> Instant {
        self.spawned
    }

    /// The exit status once it has exited (and is reaped), else `None`.
    pub fn exit_status(&mut self) -> anyhow::Result<Option<ExitStatus>> {
        self.child
            .try_wait()
            .with_context(|| format!("cannot poll {}", self.name))
    }

    pub fn has_exited(&mut self) -> bool {
        matches!(self.exit_status(), Ok(Some(_)))
    }

    /// Whether it still runs, from `/proc` so that pollers holding `&self` can ask: a process
    /// that is gone or a zombie (exited, not yet reaped) does not.
    pub fn is_running(&self) -> bool {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).unwrap_or_default();
        let state = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next());
        !stat.is_empty() && state != Some("Z")
    }

    /// SIGKILL (a crash), then reap.
    pub async fn kill(&mut self) -> anyhow::Result<()> {
        if self.exit_status()?.is_none() {
            // tokio sends SIGKILL on Unix.
            self.child
                .start_kill()
                .with_context(|| format!("cannot SIGKILL {}", self.name))?;
        }
        self.child
            .wait()
            .await
            .with_context(|| format!("cannot reap {}", self.name))?;
        Ok(())
    }

    /// SIGTERM, wait up to [`STOP_DEADLINE_MS`], then SIGKILL. Returns whether it stopped by
    /// itself.
    pub async fn stop(&mut self) -> anyhow::Result<bool> {
        if self.exit_status()?.is_some() {
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
                status.with_context(|| format!("cannot reap {}", self.name))?;
                Ok(true)
            }
            Err(_) => {
                self.kill().await?;
                Ok(false)
            }
        }
    }

    /// Resident set size, in KiB.
    pub fn rss_kib(&self) -> anyhow::Result<u64> {
        rss_kib(self.pid)
    }

    /// User + system CPU time it has used so far.
    pub fn cpu_time(&self) -> anyhow::Result<Duration> {
        cpu_time(self.pid)
    }

    /// The last lines of its log.
    pub fn log_tail(&self) -> String {
        log_tail(&self.log_path)
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        // `kill_on_drop` would do the same; said here so the promise does not hang on a builder
        // flag. The runtime reaps the killed child in the background.
        let _ = self.child.start_kill();
    }
}

/// The children of one run, in start order. Dropping it kills them all.
#[derive(Default)]
pub struct Processes {
    list: Vec<Process>,
}

impl Processes {
    /// Starts a child ([`Process::start`]) and keeps it.
    pub async fn start(&mut self, spec: Spec) -> anyhow::Result<&Process> {
        let process = Process::start(spec).await?;
        self.list.push(process);
        Ok(&self.list[self.list.len() - 1])
    }

    pub fn get(&self, name: &str) -> Option<&Process> {
        self.list.iter().find(|p| p.name == name)
    }

    /// SIGKILLs (a crash) and forgets the child called `name`; whether there was one.
    pub async fn kill_and_remove(&mut self, name: &str) -> anyhow::Result<bool> {
        let Some(at) = self.list.iter().position(|p| p.name == name) else {
            return Ok(false);
        };
        let mut process = self.list.remove(at);
        process.kill().await?;
        Ok(true)
    }

    /// A harness failure when a child died on its own.
    pub fn check_running(&self) -> anyhow::Result<()> {
        match self.list.iter().find(|p| !p.is_running()) {
            Some(p) => bail!("{} exited on its own", p.name),
            None => Ok(()),
        }
    }

    /// `name (status)` of each child that exited on its own.
    pub fn exited(&mut self) -> Vec<String> {
        self.list
            .iter_mut()
            .filter_map(|p| match p.exit_status() {
                Ok(Some(status)) => Some(format!("{} ({status})", p.name)),
                _ => None,
            })
            .collect()
    }

    /// The tail of every child's log, for a failed run.
    pub fn print_log_tails(&self) {
        for p in &self.list {
            println!("--- last lines of {} ({}):", p.name, p.log_path.display());
            for line in p.log_tail().lines() {
                println!("    {line}");
            }
        }
    }

    /// SIGKILLs and reaps every child.
    pub async fn kill_all(&mut self) {
        for p in &mut self.list {
            let _ = p.kill().await;
        }
    }
}

/// Runs `command` to its end within `deadline_ms` and returns its output; a failure (exit
/// status not 0) quotes what it printed. Killed if the deadline passes.
pub async fn run_to_end(
    name: &str,
    mut command: Command,
    deadline_ms: u64,
) -> anyhow::Result<Output> {
    for var in ENV_REMOVED {
        command.env_remove(var);
    }
    command.stdin(Stdio::null()).kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_millis(deadline_ms), command.output())
        .await
        .with_context(|| format!("{name} took over {deadline_ms} ms"))?
        .with_context(|| format!("cannot run {name}"))?;
    if !output.status.success() {
        bail!(
            "{name} failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(output)
}

/// A port on 127.0.0.1 that was free a moment ago; the child binds it right after.
pub fn free_tcp_port() -> anyhow::Result<u16> {
    let socket = std::net::TcpListener::bind("127.0.0.1:0").context("cannot find a free port")?;
    Ok(socket.local_addr()?.port())
}

/// A UDP port on 127.0.0.1 that was free a moment ago.
pub fn free_udp_port() -> anyhow::Result<u16> {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").context("cannot find a free port")?;
    Ok(socket.local_addr()?.port())
}

/// The last [`LOG_TAIL_LINES`] lines of a log file, for error messages.
pub fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let from = lines.len().saturating_sub(LOG_TAIL_LINES);
    lines[from..].join("\n")
}

/// Resident set size from `/proc/<pid>/status` (VmRSS), in KiB.
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

#[cfg(test)]
mod tests {
    use super::*;

    /// How long a test waits for the kernel to show a killed child gone.
    const GONE_DEADLINE_MS: u64 = 5_000;

    fn spec(dir: &Path, script: &str, ready: Readiness) -> Spec {
        let mut command = Command::new("sh");
        command.arg("-c").arg(script);
        Spec {
            name: "child".to_string(),
            command,
            log_path: dir.join("child.log"),
            ready,
        }
    }

    /// Polls until `pid` is gone or a zombie awaiting its reaper.
    async fn await_gone(pid: u32) -> bool {
        let deadline = Instant::now() + Duration::from_millis(GONE_DEADLINE_MS);
        loop {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let state = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next());
            if stat.is_empty() || state == Some("Z") {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(READY_POLL_MS)).await;
        }
    }

    #[tokio::test]
    async fn a_child_that_exits_before_it_is_ready_fails_with_its_log() {
        let dir = tempfile::tempdir().unwrap();
        let port = free_tcp_port().unwrap();
        let error = Process::start(spec(
            dir.path(),
            "echo cannot bind; exit 3",
            Readiness::TcpPort(port),
        ))
        .await
        .err()
        .expect("the child never listens");
        let text = format!("{error:#}");
        assert!(text.contains("exited"), "{text}");
        assert!(text.contains("cannot bind"), "{text}");
    }

    #[tokio::test]
    async fn a_listening_child_is_ready_and_a_dropped_one_is_killed() {
        let dir = tempfile::tempdir().unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let child = Process::start(spec(dir.path(), "exec sleep 60", Readiness::TcpPort(port)))
            .await
            .unwrap();
        assert!(child.is_running());
        assert_eq!(child.base_url, format!("127.0.0.1:{port}"));
        let pid = child.pid();
        drop(child);
        assert!(await_gone(pid).await, "pid {pid} outlived its Process");
    }

    #[tokio::test]
    async fn stop_ends_a_child_with_sigterm_and_kill_with_sigkill() {
        let dir = tempfile::tempdir().unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let ready = || Readiness::TcpPort(listener.local_addr().unwrap().port());
        let mut polite = Process::start(spec(dir.path(), "exec sleep 60", ready()))
            .await
            .unwrap();
        assert!(polite.stop().await.unwrap(), "sleep stops on SIGTERM");
        assert!(polite.has_exited());
        // Ignores SIGTERM; only SIGKILL ends it.
        let mut stubborn = Process::start(spec(dir.path(), "trap '' TERM; exec sleep 60", ready()))
            .await
            .unwrap();
        stubborn.kill().await.unwrap();
        assert!(stubborn.has_exited());
        assert!(!stubborn.is_running());
    }

    #[tokio::test]
    async fn run_to_end_reports_a_failing_command_with_its_output() {
        let mut command = Command::new("sh");
        command.arg("-c").arg("echo out; echo err >&2; exit 2");
        let error = run_to_end("script", command, READY_DEADLINE_MS)
            .await
            .unwrap_err();
        let text = format!("{error:#}");
        assert!(text.contains("script failed"), "{text}");
        assert!(text.contains("out") && text.contains("err"), "{text}");
    }
}
