//! A real TURN server for benchmarks: coturn (`turnserver`, Debian's `coturn` package) on
//! loopback, with the shared-secret "TURN REST" authentication the node's credentials use.

use std::path::{Path, PathBuf};

use anyhow::Context;
use rand::RngCore;
use tokio::process::Command;

use crate::process::{self, Process, Readiness, Spec};

/// The coturn binary.
const TURNSERVER: &str = "turnserver";

/// A running coturn; killed when dropped.
pub struct TurnProcess {
    process: Process,
    /// `turn:127.0.0.1:PORT?transport=udp`.
    pub url: String,
    /// The file holding the shared secret, for the node's `calls.turn.secret_file`.
    pub secret_file: PathBuf,
    pub log_path: PathBuf,
}

impl TurnProcess {
    /// Starts coturn on 127.0.0.1 with a fresh secret, its files under `dir`. Loopback peers
    /// are allowed (the node's media listens on loopback in benchmarks).
    pub async fn start(dir: &Path) -> anyhow::Result<TurnProcess> {
        let port = process::free_tcp_port()?;
        let mut secret = [0u8; 24];
        rand::thread_rng().fill_bytes(&mut secret);
        let secret = hex::encode(secret);
        let secret_file = dir.join("turn.secret");
        std::fs::write(&secret_file, format!("{secret}\n"))
            .with_context(|| format!("cannot write {}", secret_file.display()))?;
        let log_path = dir.join("turnserver.log");
        let conf = dir.join("turnserver.conf");
        std::fs::write(
            &conf,
            format!(
                "listening-ip=127.0.0.1\nrelay-ip=127.0.0.1\nlistening-port={port}\n\
                 no-tls\nno-dtls\nfingerprint\nuse-auth-secret\nstatic-auth-secret={secret}\n\
                 realm=bench.mvd102\nno-cli\nno-rfc5780\nno-stun-backward-compatibility\n\
                 allow-loopback-peers\nno-multicast-peers\nmin-port=50000\nmax-port=59999\n\
                 log-file={log}\nsimple-log\npidfile={pid}\nuserdb={db}\n",
                log = log_path.display(),
                pid = dir.join("turnserver.pid").display(),
                db = dir.join("turndb").display(),
            ),
        )
        .with_context(|| format!("cannot write {}", conf.display()))?;
        let mut command = Command::new(TURNSERVER);
        command.arg("-c").arg(&conf);
        // It listens on TCP and UDP together; the TCP port answering means it is up.
        let process = Process::start(Spec {
            name: TURNSERVER.to_string(),
            command,
            // coturn writes its own log (`log-file`); this catches what it prints before that.
            log_path: dir.join("turnserver.console.log"),
            ready: Readiness::TcpPort(port),
        })
        .await
        .with_context(|| {
            format!(
                "coturn (on Debian: apt-get install coturn); its log {}",
                log_path.display()
            )
        })?;
        Ok(TurnProcess {
            process,
            url: format!("turn:127.0.0.1:{port}?transport=udp"),
            secret_file,
            log_path,
        })
    }

    pub fn pid(&self) -> u32 {
        self.process.pid()
    }
}
