//! A real TURN server for benchmarks: coturn (`turnserver`, Debian's `coturn` package) on
//! loopback, with the shared-secret "TURN REST" authentication the node's credentials use.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use rand::RngCore;
use tokio::process::{Child, Command};

/// coturn must listen within this long after it starts.
const START_DEADLINE: Duration = Duration::from_secs(15);
/// How often readiness is checked while it starts.
const POLL_INTERVAL: Duration = Duration::from_millis(50);
/// The coturn binary.
const TURNSERVER: &str = "turnserver";

/// A running coturn; killed when dropped.
pub struct TurnProcess {
    child: Child,
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
        let port = {
            let socket =
                std::net::TcpListener::bind("127.0.0.1:0").context("cannot find a free port")?;
            socket.local_addr()?.port()
        };
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
        let child = Command::new(TURNSERVER)
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| {
                format!("cannot start {TURNSERVER} (coturn; on Debian: apt-get install coturn)")
            })?;
        let mut turn = TurnProcess {
            child,
            url: format!("turn:127.0.0.1:{port}?transport=udp"),
            secret_file,
            log_path,
        };
        let started = Instant::now();
        loop {
            if let Some(status) = turn.child.try_wait()? {
                bail!(
                    "{TURNSERVER} exited with {status}; log {}",
                    turn.log_path.display()
                );
            }
            // It listens on TCP and UDP together; the TCP port answering means it is up.
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Ok(turn);
            }
            if started.elapsed() > START_DEADLINE {
                bail!(
                    "{TURNSERVER} did not listen on 127.0.0.1:{port} within {START_DEADLINE:?}; log {}",
                    turn.log_path.display()
                );
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }
}
