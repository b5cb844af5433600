//! A real SMTP server for the tests that send e-mail (`python3 -m aiosmtpd`, Debian package
//! `python3-aiosmtpd`), writing what it receives to a maildir.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// Debian's Python (where `python3-aiosmtpd` is installed), else the first `python3`.
pub fn python() -> &'static str {
    if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
}

/// A real SMTP server (`python3 -m aiosmtpd` with its Maildir handler) on a free loopback port;
/// killed when dropped.
pub struct Sink {
    pub port: u16,
    maildir: tempfile::TempDir,
    _child: tokio::process::Child,
}

impl Sink {
    /// `starttls`: the certificate and key files the sink offers STARTTLS with (and requires).
    pub async fn start(starttls: Option<(&Path, &Path)>) -> Sink {
        let maildir = tempfile::tempdir().unwrap();
        let port = super::free_port();
        let mut cmd = tokio::process::Command::new(python());
        cmd.args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"));
        if let Some((cert, key)) = starttls {
            cmd.arg("--tlscert").arg(cert).arg("--tlskey").arg(key);
        }
        let child = cmd
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir.path().join("maildir"))
            .kill_on_drop(true)
            .spawn()
            .expect("python3 -m aiosmtpd (Debian package python3-aiosmtpd)");
        super::until(Duration::from_secs(30), "aiosmtpd listens", || async move {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
        })
        .await;
        Sink {
            port,
            maildir,
            _child: child,
        }
    }

    /// The messages delivered so far (raw), oldest first.
    pub fn messages(&self) -> Vec<Vec<u8>> {
        let new = self.maildir.path().join("maildir/new");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&new)
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
        files.iter().filter_map(|p| std::fs::read(p).ok()).collect()
    }
}
