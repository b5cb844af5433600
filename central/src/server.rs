//! Wiring of the central hub: store, accounts, the QUIC hub and the HTTP server.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use server_kit::accounts::Accounts;
use server_kit::audit::AuditLog;
use server_kit::store::{GroupCommit, SledStore, Store};

use crate::config::Config;
use crate::http::{self, CentralState};
use crate::hub::Hub;
use crate::metrics::CentralMetrics;
use crate::repo::CentralRepo;
use crate::service::HqService;

#[derive(Debug, Clone)]
pub struct ServeSettings {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    pub quic_listen: SocketAddr,
    /// The central's provisioning bundle: without it the hub serves HQ's dashboard but accepts no
    /// regions (it has no TLS identity).
    pub bundle: Option<PathBuf>,
    pub admin_password: Option<String>,
}

pub struct Central {
    pub state: Arc<CentralState>,
    pub store: Arc<dyn Store>,
    pub gc: Arc<GroupCommit>,
    pub generated_admin_password: Option<String>,
    pub shutdown: tokio::sync::watch::Sender<bool>,
}

/// Opens the hub's database, migrating one an older version wrote on a copy first (see
/// `server_kit::migrate`).
pub fn open_store(data_dir: &Path, cache_bytes: u64) -> anyhow::Result<SledStore> {
    let (store, _) = server_kit::migrate::open_migrated(
        data_dir,
        cache_bytes,
        None,
        server_kit::clock::now_ms(),
    )?;
    Ok(store)
}

/// The QUIC listener's TLS config for the regions' nodes, with the revocation list read from
/// `crl_path` now (none when `None`).
pub fn regions_tls_config(
    identity: &provisioning::Identity,
    crl_path: Option<&Path>,
) -> anyhow::Result<quinn::ServerConfig> {
    let crl = match crl_path {
        Some(path) => {
            Some(provisioning::tls::read_crl(path).with_context(|| format!("{}", path.display()))?)
        }
        None => None,
    };
    provisioning::tls::quinn_server_config(identity, crl.as_ref())
        .context("TLS configuration of the hub")
}

/// What the hub's export says about itself: its software, store identity and clock.
pub fn export_hello(store: &dyn Store) -> server_kit::backup::ExportHello {
    server_kit::backup::ExportHello {
        what: "central".into(),
        name: "central".into(),
        software: env!("CARGO_PKG_VERSION").into(),
        store_id: server_kit::store::store_identity(store)
            .map(|id| uuid::Uuid::from_bytes(id).to_string())
            .unwrap_or_default(),
        taken_at_ms: server_kit::clock::now_ms(),
    }
}

/// Opens the central's store and components.
pub async fn open_central(
    config: &Config,
    data_dir: &Path,
    admin_password: Option<String>,
) -> anyhow::Result<Central> {
    // A corrupt tile file stops the start before the database is opened, naming the file.
    let tiles = match &config.map.tiles {
        Some(path) => Some(Arc::new(server_kit::tiles::TileSet::open(path)?)),
        None => None,
    };
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    let store: Arc<dyn Store> = Arc::new(open_store(data_dir, config.central.sled_cache_bytes)?);
    let gc = Arc::new(GroupCommit::with_window(
        store.clone(),
        std::time::Duration::from_micros(1000),
    ));
    let audit = Arc::new(AuditLog::open(store.clone()).context("the audit log cannot be read")?);
    let appeal_reads = crate::appeal_reads::ReadAudit::new(audit.clone(), gc.clone());
    let accounts = Arc::new(Accounts::new(
        store.clone(),
        gc.clone(),
        audit.clone(),
        config.accounts.limits(),
        &sync::Role::HQ,
    ));
    let generated_admin_password = accounts
        .bootstrap_admin(admin_password, server_kit::clock::now_ms())
        .await?;
    let reception_reference = match &config.reception.reference_file {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| {
                format!("reading the reception reference lists {}", path.display())
            })?;
            Some(
                sync::reception::ReceptionReference::from_toml(&text).map_err(|e| {
                    anyhow::anyhow!("the reception reference lists {}: {e}", path.display())
                })?,
            )
        }
        None => None,
    };
    let repo = tokio::task::block_in_place(|| {
        CentralRepo::open_with_reception_reference(store.clone(), gc.clone(), reception_reference)
            .map(|r| r.with_chunks_max(config.central.doc_chunks_max))
    })
    .map_err(|e| anyhow::anyhow!("the national index cannot be built: {e}"))?;
    let dispatched = repo.dispatched_index();
    let references = repo.references();
    let hub = Hub::new(repo, server_kit::replication::network_protocol_config());
    let _ = hub
        .duplicate_queries
        .set(crate::appeal_dups::QueryServer::new(
            store.clone(),
            gc.clone(),
            audit,
        ));
    let (shutdown, shutdown_rx) = tokio::sync::watch::channel(false);
    // A fresh actor id per process start, as on the node: sequence numbers are never reused.
    let actor = automerge::ActorId::from(uuid::Uuid::new_v4().as_bytes().to_vec());
    let hq = Arc::new(HqService::new(
        hub.clone(),
        store.clone(),
        references.clone(),
        actor.clone(),
    ));
    let kb = Arc::new(crate::kb::KbService::new(hub.clone(), store.clone(), actor));
    let demo =
        tokio::task::block_in_place(|| kb.publish_demo_articles(server_kit::clock::now_ms()))
            .map_err(|e| anyhow::anyhow!("the demo knowledge base cannot be published: {e}"))?;
    if demo > 0 {
        tracing::info!(
            articles = demo,
            "DEMO knowledge-base articles published (replace them with your units' own)"
        );
    }
    let seeded =
        tokio::task::block_in_place(|| hq.publish_embedded_calendars(server_kit::clock::now_ms()))
            .map_err(|e| anyhow::anyhow!("the national calendar cannot be published: {e}"))?;
    if seeded > 0 {
        tracing::info!(years = seeded, "national calendar years published");
    }
    let disconnect_alert_after_ms =
        (config.central.disconnect_alert_after_s as i64).saturating_mul(1000);
    let picture = crate::picture::NationalPicture {
        store: store.clone(),
        hub: hub.clone(),
        dispatched,
        references: references.clone(),
        disconnect_alert_after_ms,
    };
    tokio::spawn(issue_reports(
        hub.report_1ol(),
        hq.clone(),
        shutdown_rx.clone(),
    ));
    let state = Arc::new(CentralState {
        picture,
        hub,
        hq,
        kb,
        accounts,
        store: store.clone(),
        gc: gc.clone(),
        references,
        metrics: Arc::new(CentralMetrics::new().with_data_dir(data_dir.to_path_buf())),
        http_body_bytes_max: config.central.http_body_bytes_max,
        shutdown: shutdown_rx,
        appeal_reads,
        trusted_proxies: config
            .central
            .trusted_proxies
            .iter()
            .map(|r| {
                r.trim().parse::<ipnet::IpNet>().map_err(|e| {
                    anyhow::anyhow!(
                        "central.trusted_proxies: {r:?} is not a CIDR range such as 10.0.0.0/8 ({e})"
                    )
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?,
        secure_cookies: config.central.secure_cookies,
        tiles,
    });
    Ok(Central {
        state,
        store,
        gc,
        generated_admin_password,
        shutdown,
    })
}

/// Issues the national report 1-ОЛ (R32): at start, every
/// [`crate::report_1ol::ISSUE_INTERVAL_S`], and [`crate::report_1ol::ISSUE_AFTER_CHANGE_S`]
/// after reception data changed (a region that was cut off across the 10th caught up), so a
/// period is issued on its due day and re-issued with its difference, never silently changed.
async fn issue_reports(
    ledger: Arc<crate::report_1ol::ReportLedger>,
    hq: Arc<HqService>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    use crate::report_1ol::{ISSUE_AFTER_CHANGE_S, ISSUE_INTERVAL_S};
    loop {
        let (l, h) = (ledger.clone(), hq.clone());
        let run = tokio::task::spawn_blocking(move || {
            let calendar = h.work_calendar().map_err(|e| e.to_string())?;
            let today = HqService::today(server_kit::clock::now_ms());
            l.issue_due(today, &calendar).map_err(|e| e.to_string())
        })
        .await;
        match run {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "report 1-ОЛ could not be issued"),
            Err(e) => tracing::error!(error = %e, "report 1-ОЛ issuing stopped"),
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(ISSUE_INTERVAL_S)) => {}
            _ = ledger.changed() => {
                tokio::select! {
                    _ = tokio::time::sleep(std::time::Duration::from_secs(ISSUE_AFTER_CHANGE_S)) => {}
                    _ = shutdown.changed() => return,
                }
            }
            _ = shutdown.changed() => return,
        }
    }
}

/// Runs the hub until `shutdown` resolves.
pub async fn serve(
    config: Config,
    settings: ServeSettings,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let web = server_kit::https::WebMode::from_config(
        config.https.as_ref(),
        settings.listen,
        "central.listen",
    )?;
    let mut config = config;
    config.central.secure_cookies |= web.is_tls();
    let central =
        open_central(&config, &settings.data_dir, settings.admin_password.clone()).await?;
    // `central backup` reads a consistent export of the running hub's store through this socket.
    #[cfg(unix)]
    {
        let store = central.store.clone();
        server_kit::backup::serve_control_socket(
            &settings.data_dir,
            central.store.clone(),
            move || export_hello(&*store),
        )
        .context("the backup control socket")?;
    }
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let addr = listener.local_addr()?;
    println!("102 central hub (МВД HQ)");
    println!("data:      {}", settings.data_dir.display());
    println!("dashboard: {}://{addr}/", web.scheme());
    if let Some(p) = &central.generated_admin_password {
        println!(
            "first start: administrator login 'admin', one-time password '{p}' (shown only now)"
        );
    }
    match &settings.bundle {
        Some(bundle) => {
            let identity = provisioning::load_identity(bundle)
                .with_context(|| format!("the bundle {} cannot be used", bundle.display()))?;
            if identity.role != provisioning::Role::Central {
                anyhow::bail!("{} is a region's bundle; the central needs its own (provisioning add-central)", bundle.display());
            }
            let crl_path = bundle.join(provisioning::bundle_files::CRL);
            let crl_loaded = crl_path.exists();
            let server_config =
                regions_tls_config(&identity, crl_loaded.then_some(crl_path.as_path()))?;
            let endpoint = quinn::Endpoint::server(server_config, settings.quic_listen)
                .with_context(|| format!("cannot listen for regions on {}", settings.quic_listen))?;
            println!(
                "regions:   QUIC on {} (mutual TLS, revocation list {})",
                endpoint.local_addr()?,
                if crl_loaded { "loaded" } else { "absent" }
            );
            // A replaced crl.pem (a region revoked at HQ) applies without restarting the hub.
            let reload_identity = provisioning::load_identity(bundle)?;
            tokio::spawn(server_kit::replication::watch_crl(
                endpoint.clone(),
                crl_path,
                std::time::Duration::from_secs(config.central.crl_recheck_s.max(1)),
                central.shutdown.subscribe(),
                "regions",
                move |path| regions_tls_config(&reload_identity, Some(path)),
            ));
            tokio::spawn(central.state.hub.clone().serve(endpoint, central.shutdown.subscribe()));
        }
        None => println!("regions:   not accepted: start with --bundle DIR (provisioning add-central) for a TLS identity"),
    }
    let stop = central.shutdown.clone();
    server_kit::https::serve(
        listener,
        web,
        http::app(central.state.clone()),
        async move {
            shutdown.await;
            let _ = stop.send(true);
        },
    )
    .await?;
    central.store.flush()?;
    Ok(())
}
