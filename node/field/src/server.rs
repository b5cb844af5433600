//! `field-terminal`: reads the unit bundle and the terminal's settings, opens the data
//! directory (wiping another unit's data), and serves the UI until Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use server_kit::clock::now_ms;
use tokio::sync::watch;

use crate::app::{Notice, Terminal, Uplink};
use crate::online::{NoOnlineLogin, NodeLogin, OnlineLogin};
use crate::settings::TerminalSettings;
use crate::shift::UnitRef;
use crate::sync::QuicUplink;
use crate::vault::{Opened, Vault, VaultSettings, WipeReason};

/// The patrol's field terminal (FieldTerminal): works with no network, syncs with the
/// region's node over QUIC when it can, serves its UI to the browser on this device.
#[derive(Debug, Parser)]
#[command(name = "field-terminal", version)]
pub struct Cli {
    /// The unit bundle from `provisioning add-unit`: ca.crt, unit.crt, unit.key, terminal.toml.
    #[arg(long, env = "FIELD_BUNDLE")]
    pub bundle: PathBuf,
    /// Where the terminal keeps its encrypted data.
    #[arg(long, env = "FIELD_DATA", default_value = "field-data")]
    pub data: PathBuf,
    /// Where the UI is served (overrides `[terminal] listen`).
    #[arg(long, env = "FIELD_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// A TOML file with a `[terminal]` section (listen, shift_hours, idle_logout_minutes,
    /// position_*, kdf_*).
    #[arg(long, env = "FIELD_CONFIG")]
    pub config: Option<PathBuf>,
}

/// Everything the terminal runs with, validated.
pub struct Loaded {
    pub unit: UnitRef,
    pub settings: TerminalSettings,
    pub uplink: Arc<dyn Uplink>,
    pub online: Arc<dyn OnlineLogin>,
}

/// Reads the bundle and the config; every error names the file it comes from.
pub fn load(cli: &Cli) -> anyhow::Result<Loaded> {
    let mut settings = match &cli.config {
        Some(path) => TerminalSettings::from_file(path).map_err(anyhow::Error::msg)?,
        None => TerminalSettings::default(),
    };
    if let Some(l) = cli.listen {
        settings.listen = l;
    }
    let bundle = provisioning::load_unit_identity(&cli.bundle).with_context(|| {
        format!(
            "the unit bundle in {} cannot be used (it needs ca.crt, unit.crt, unit.key and terminal.toml from `provisioning add-unit`)",
            cli.bundle.display()
        )
    })?;
    let unit = UnitRef {
        region: bundle.region.clone(),
        unit: bundle.unit.clone(),
    };
    let node = &bundle.terminal.node;
    let uplink = QuicUplink::new(&node.address, &node.server_name, &bundle.identity)
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("the TLS identity of {}", cli.bundle.display()))?;
    let online: Arc<dyn OnlineLogin> = match &node.web_url {
        Some(url) => {
            let ca_path = cli.bundle.join(&bundle.terminal.tls.ca_cert);
            let ca = std::fs::read(&ca_path)
                .with_context(|| format!("cannot read {}", ca_path.display()))?;
            Arc::new(
                NodeLogin::new(url, &ca)
                    .map_err(anyhow::Error::msg)
                    .with_context(|| {
                        format!(
                            "[node] web_url of {}",
                            cli.bundle.join("terminal.toml").display()
                        )
                    })?,
            )
        }
        None => {
            tracing::warn!("terminal.toml names no [node] web_url: only officers who logged in here before can log in");
            Arc::new(NoOnlineLogin)
        }
    };
    Ok(Loaded {
        unit,
        settings,
        uplink: Arc::new(uplink),
        online,
    })
}

/// Opens the data directory and builds the terminal.
pub fn open_terminal(data: &std::path::Path, loaded: Loaded) -> anyhow::Result<Arc<Terminal>> {
    let vault_settings = VaultSettings {
        kdf: loaded.settings.kdf,
        ..VaultSettings::default()
    };
    let (vault, opened) = Vault::open(data, &loaded.unit.key(), vault_settings, now_ms())
        .with_context(|| format!("the terminal's data in {}", data.display()))?;
    let notice = match opened {
        Opened::Wiped(WipeReason::UnitChanged) => Some(Notice::UnitChanged),
        Opened::Wiped(WipeReason::ShiftExpired) => Some(Notice::ShiftExpired),
        _ => None,
    };
    Ok(Terminal::new(
        loaded.unit,
        loaded.settings,
        vault,
        loaded.online,
        loaded.uplink,
        notice,
    ))
}

/// Serves the terminal on `listen` until `shutdown`; returns the address bound.
pub async fn serve(
    terminal: Arc<Terminal>,
    listen: SocketAddr,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen} ([terminal] listen / --listen)"))?;
    let addr = listener.local_addr()?;
    let app = crate::http::app(terminal.clone());
    tokio::spawn(terminal.supervise(shutdown.clone()));
    let mut stop = shutdown;
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "the terminal's HTTP server stopped");
        }
    });
    Ok((addr, task))
}

/// The binary's work.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let loaded = load(&cli)?;
    let listen = loaded.settings.listen;
    let unit = loaded.unit.key();
    let terminal = open_terminal(&cli.data, loaded)?;
    let (tx, rx) = watch::channel(false);
    let (addr, task) = serve(terminal.clone(), listen, rx).await?;
    tracing::info!(%addr, %unit, "field terminal ready: open http://{addr}/ in the browser");
    server_kit::shutdown::shutdown_signal().await;
    let _ = tx.send(true);
    let _ = task.await;
    terminal.logout().await;
    Ok(())
}
