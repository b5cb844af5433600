//! Wiring: opens the store and every component over it, and runs the HTTP server until shutdown.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use automerge::ActorId;
use sync::address::AddressMatcher;

use crate::accounts::Accounts;
use crate::audit::AuditLog;
use crate::config::Config;
use crate::http::{self, AppState, SharedState};
use crate::metrics::Metrics;
use crate::service::{CardService, ServiceLimits};
use crate::store::{GroupCommit, Store};
use crate::warnings::{parse_import, AddressWarnings, ImportFormat, SAMPLE_WARNINGS_CSV};

/// Everything a running node holds.
pub struct Node {
    pub state: SharedState,
    /// Send `true` to end live streams before the HTTP server stops.
    pub shutdown: tokio::sync::watch::Sender<bool>,
    pub store: Arc<dyn Store>,
    pub gc: Arc<GroupCommit>,
    pub audit: Arc<AuditLog>,
    pub warnings: Arc<AddressWarnings>,
    /// The one-time admin password generated on first start, to print once.
    pub generated_admin_password: Option<String>,
    /// This start created the database's first accounts.
    pub first_start: bool,
}

/// Opens the database in `data_dir`, refusing a damaged one.
/// A training node (`node.training`) opens only a training directory and a live node only a
/// live one ([`crate::training::check_data_dir`]).
pub fn open_store(data_dir: &Path, config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    crate::training::check_data_dir(data_dir, config.node.training)?;
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create the data directory {}", data_dir.display()))?;
    // A database an older version wrote is migrated on a copy first (see server_kit::migrate).
    let (store, _) = server_kit::migrate::open_migrated(
        data_dir,
        config.limits.sled_cache_bytes,
        Some(&config.reference.region.code),
        server_kit::clock::now_ms(),
    )?;
    if config.node.training {
        crate::training::mark(data_dir)?;
    }
    Ok(Arc::new(store))
}

/// What a node's export says about itself: region, software, store identity and the node's clock.
pub fn export_hello(
    store: &dyn server_kit::store::Store,
    region: &str,
) -> server_kit::backup::ExportHello {
    server_kit::backup::ExportHello {
        what: "node".into(),
        name: region.to_string(),
        software: env!("CARGO_PKG_VERSION").into(),
        store_id: server_kit::store::store_identity(store)
            .map(|id| uuid::Uuid::from_bytes(id).to_string())
            .unwrap_or_default(),
        taken_at_ms: server_kit::clock::now_ms(),
    }
}

/// The closest-unit ranking reads the units' latest positions from the field service (AVL).
struct AvlPositions(std::sync::Weak<crate::service::CardService>);

impl crate::geo::UnitPositions for AvlPositions {
    fn latest(&self) -> Vec<(String, sync::field::UnitPosition)> {
        self.0
            .upgrade()
            .map(|s| s.field().latest_positions().into_iter().collect())
            .unwrap_or_default()
    }
}

/// Opens a node over `data_dir`: store, audit chain, accounts, units, first-start bootstrap.
pub async fn open_node(
    config: &Config,
    data_dir: &Path,
    admin_password: Option<String>,
) -> anyhow::Result<Node> {
    // A training node never links to the outside world, however it was configured.
    let training_config;
    let config = if config.node.training {
        training_config = config.clone().for_training();
        &training_config
    } else {
        config
    };
    // A corrupt tile file stops the start before the database is opened, naming the file.
    let tiles = http::open_tiles(config)?;
    let store = open_store(data_dir, config)?;
    let gc = Arc::new(GroupCommit::with_window(
        store.clone(),
        std::time::Duration::from_micros(config.limits.group_commit_window_us),
    ));
    let audit = Arc::new(AuditLog::open(store.clone()).context("the audit log cannot be read")?);
    let street_aliases = config
        .reference
        .street_aliases()
        .map_err(|e| anyhow::anyhow!("reference.street_aliases: {e}"))?;
    let town_aliases = config
        .reference
        .town_aliases()
        .map_err(|e| anyhow::anyhow!("reference.town_aliases: {e}"))?;
    let matcher = AddressMatcher::new(street_aliases, &config.node.city_names)
        .with_town_aliases(town_aliases);
    let search = Arc::new(crate::search::CardSearch::new(
        store.clone(),
        matcher.clone(),
        config.duplicates.clone(),
    ));
    let geo = Arc::new(crate::geo::Geo::open(
        &config.map,
        config.caller_location.as_ref(),
        matcher.clone(),
    )?);
    let warnings = Arc::new(
        AddressWarnings::open(store.clone(), matcher)
            .context("the address-warnings registry cannot be read")?,
    );
    let accounts = Arc::new(Accounts::new(
        store.clone(),
        gc.clone(),
        audit.clone(),
        config.accounts.limits(),
        &sync::Role::NODE,
    ));
    // A fresh actor id per process start: never reuse an actor's sequence numbers after a crash.
    let actor = ActorId::from(uuid::Uuid::new_v4().as_bytes().to_vec());
    let limits = ServiceLimits {
        card_cache_docs_max: config.limits.card_cache_docs_max,
        doc_chunks_max: config.limits.doc_chunks_max,
        live_events_buffer_max: config.limits.live_events_buffer_max,
        list_cards_max: config.limits.list_cards_max,
    };
    let mut service = CardService::open(
        store.clone(),
        gc.clone(),
        audit.clone(),
        warnings.clone(),
        Arc::new(config.reference.clone()),
        actor,
        limits,
    )
    .context("the card service cannot start")?;
    if let Some(path) = &config.reception.reference_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the reception reference lists {}", path.display()))?;
        let reference = sync::reception::ReceptionReference::from_toml(&text).map_err(|e| {
            anyhow::anyhow!("the reception reference lists {}: {e}", path.display())
        })?;
        service.reception().set_reference(reference);
    }
    if let Some(path) = &config.meetings.beats_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the beats reference {}", path.display()))?;
        let districts: Vec<&str> = config
            .reference
            .districts
            .iter()
            .map(|d| d.code.as_str())
            .collect();
        let beats = sync::meetings::BeatsReference::from_toml(&text, &districts)
            .map_err(|e| anyhow::anyhow!("the beats reference {}: {e}", path.display()))?;
        service.meetings().set_reference(beats);
    }
    let now = server_kit::clock::now_ms();
    let units: Vec<_> = config
        .units
        .iter()
        .map(|u| (u.id.clone(), u.call_sign.clone(), u.kind))
        .collect();
    let fresh = store.scan_keys(b"acct/", 1)?.is_empty();
    service
        .ensure_units(&units, now)
        .await
        .context("creating the configured units")?;
    let indexed = crate::search::ensure_indexed(&service, &gc)
        .await
        .context("indexing the stored cards for search")?;
    if indexed > 0 {
        tracing::info!(cards = indexed, "the stored cards were indexed for search");
    }
    if fresh {
        // Sample data, marked so in the schedule: the official sets the region's own.
        service
            .reception()
            .ensure_demo_schedule(now)
            .await
            .context("writing the demo reception schedule")?;
    }
    // The region's reference data replicates to the hub, which reads this region's cards with it.
    service
        .publish_reference(now)
        .await
        .context("publishing the region's reference data")?;
    service
        .publish_beats(now)
        .await
        .context("publishing the region's beats register")?;
    let generated_admin_password = accounts
        .bootstrap_admin(admin_password, now)
        .await
        .context("creating the first administrator")?;
    if fresh && config.node.sample_warnings && warnings.count()? == 0 {
        let year = crate::warnings::year_of(now);
        let parsed = parse_import(SAMPLE_WARNINGS_CSV.as_bytes(), ImportFormat::Csv, year)?;
        warnings
            .import(&gc, &audit, "system", parsed.good, now)
            .await?;
    }
    let metrics = Arc::new(
        Metrics::new(gc.clone())
            .with_data_dir(data_dir.to_path_buf())
            .with_training(config.node.training),
    );
    let (shutdown_tx, shutdown_rx) = tokio::sync::watch::channel(false);
    service.field().configure(
        config.field.position_retention_days,
        config.field.shift_hours,
    );
    let service = Arc::new(service);
    crate::field::packs::spawn(service.clone(), search.clone(), shutdown_rx.clone());
    geo.set_unit_positions(Arc::new(AvlPositions(Arc::downgrade(&service))));
    {
        // A weak reference: the service holds the hook, and the hook must not keep it alive.
        let (lookup, weak) = (geo.caller_location.clone(), Arc::downgrade(&service));
        service.on_card_created(Box::new(move |card| {
            lookup.after_create(weak.clone(), card)
        }));
    }
    let calls = crate::calls::CallService::start(
        config.calls.clone(),
        data_dir,
        service.clone(),
        store.clone(),
        gc.clone(),
        audit.clone(),
    )
    .await
    .context("calls cannot start")?;
    // R26: a meeting's materials go a year after it was held (its recordings beside the calls').
    tokio::spawn(crate::meetings::retention_loop(
        Arc::downgrade(service.meetings()),
        calls.recordings_dir().to_path_buf(),
        std::time::Duration::from_secs(config.calls.retention_sweep_interval_s),
        service.reference().shifts.utc_offset_min,
    ));
    let inbox = Arc::new(crate::channels::inbox::InboxService::new(service.clone()));
    if config.node.training {
        inbox.outbox().hold_outside_channels();
    }
    if let Some(email) = &config.email {
        // Without a relay the answers stay queued in the outbox (and say so in the console).
        if let Some(sender) = crate::channels::email::sender::EmailSender::from_config(email)
            .context("the [email] relay cannot be used")?
        {
            inbox.outbox().register(Arc::new(sender));
        }
    }
    // Telegram and VK: their webhook routes go into the HTTP app, their senders into the outbox
    // (registered before the outbox worker starts, so queued answers find them).
    // The outbox holds their senders, so they hold the inbox weakly.
    let messengers = crate::channels::messengers::Messengers::start(
        config,
        Arc::new(crate::channels::WeakIntake(Arc::downgrade(&inbox))),
        gc.clone(),
        shutdown_rx.clone(),
    )
    .context("the messenger connectors ([telegram], [vk]) cannot start")?;
    for sender in messengers.senders() {
        inbox.outbox().register(sender);
    }
    // A meeting's notice queues its posts and e-mails in the same outbox (R37).
    service.meetings().set_outbox_wake(inbox.outbox().waker());
    inbox.start(shutdown_rx.clone());
    // The site's chat widget: its socket hands messages to the inbox, its sender pushes answers.
    // The outbox holds the widget (its sender), so the widget holds the inbox weakly.
    let widget = crate::channels::widget::WidgetChannel::new(
        Arc::new(crate::channels::WeakIntake(Arc::downgrade(&inbox))),
        Some(Arc::new(crate::channels::widget::InboxHistory(
            Arc::downgrade(&inbox),
        ))),
        crate::channels::widget::WidgetSettings {
            trusted_proxies: config.node.trusted_proxy_networks()?,
            allowed_origins: config.widget.origins().map_err(|e| anyhow::anyhow!(e))?,
            ..Default::default()
        },
    );
    inbox.outbox().register(widget.clone());
    {
        // A page that connects gets its queued answers now (they also show in its history).
        let outbox = Arc::downgrade(inbox.outbox());
        widget.on_connect(Box::new(move |session| {
            if let Some(outbox) = outbox.upgrade() {
                outbox.retry_now(sync::Channel::WebWidget, Some(session));
            }
        }));
    }
    let state = Arc::new(AppState {
        inbox,
        messengers,
        widget,
        calls,
        service,
        accounts,
        metrics,
        http_body_bytes_max: config.limits.http_body_bytes_max,
        shutdown: shutdown_rx,
        replication: Default::default(),
        trusted_proxies: config.node.trusted_proxy_networks()?,
        reads: Arc::new(crate::privacy::ReadAudit::new(
            store.clone(),
            gc.clone(),
            audit.clone(),
        )),
        secure_cookies: config.node.secure_cookies,
        training: config.node.training,
        search,
        geo,
        state_register: Arc::new(crate::state_register::StateRegister::new(
            config.state_register.as_ref(),
            store.clone(),
        )?),
        tiles,
    });
    Ok(Node {
        state,
        shutdown: shutdown_tx,
        store,
        gc,
        audit,
        warnings,
        generated_admin_password,
        first_start: fresh,
    })
}

/// Settings of `node serve` after command-line overrides.
#[derive(Debug, Clone)]
pub struct ServeSettings {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    pub admin_password: Option<String>,
    /// The provisioning bundle the node was started from: with it (and `[central]` in the
    /// config) the node replicates to the central hub.
    pub bundle: Option<PathBuf>,
}

/// Runs the node until `shutdown` resolves. Prints the console URL and, on first start, the
/// generated administrator password.
pub async fn serve(
    config: Config,
    settings: ServeSettings,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    // The web listener's TLS is checked first: a missing key file stops the start before the
    // database is opened, and never falls back to plain HTTP off loopback.
    let web =
        crate::https::WebMode::from_config(config.https.as_ref(), settings.listen, "node.listen")?;
    let mut config = if config.node.training {
        config.for_training()
    } else {
        config
    };
    config.node.secure_cookies |= web.is_tls();
    let node = open_node(&config, &settings.data_dir, settings.admin_password.clone()).await?;
    // `node backup` reads a consistent export of the running node's store through this socket.
    #[cfg(unix)]
    {
        let store = node.store.clone();
        let region = config.reference.region.code.clone();
        server_kit::backup::serve_control_socket(
            &settings.data_dir,
            node.store.clone(),
            move || export_hello(&*store, &region),
        )
        .context("the backup control socket")?;
    }
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let addr = listener.local_addr()?;
    let (http, ws) = (web.scheme(), web.ws_scheme());
    println!(
        "102 node for region {} ({})",
        config.reference.region.code, config.reference.region.name_ru
    );
    println!("data:    {}", settings.data_dir.display());
    if config.node.training {
        println!(
            "TRAINING MODE: demo data, every page marked; no replication, no field terminals, no messengers, e-mail or outside systems"
        );
    }
    println!("console: {http}://{addr}/");
    println!("API:     {http}://{addr}/api/v1/openapi.json");
    if let crate::https::WebMode::Tls(tls) = &web {
        println!(
            "HTTPS:   certificate {} (workstations must trust its CA){}",
            tls.cert.display(),
            tls.redirect_listen
                .map(|a| format!(", plain HTTP on {a} redirects"))
                .unwrap_or_default()
        );
    }
    println!(
        "calls:   {ws}://{addr}/citizen/v1/ws (test page {http}://{addr}/citizen), media on {} UDP {}-{}, recordings in {}",
        config.calls.media_bind_ip,
        config.calls.udp_port_min,
        config.calls.udp_port_max,
        node.state.calls.recordings_dir().display()
    );
    match (&config.central, &settings.bundle) {
        // Never replicates, whatever `[central]` and the bundle say.
        _ if config.node.training => println!("central: none (training mode never replicates)"),
        (Some(c), Some(bundle)) => {
            let identity = provisioning::load_identity(bundle)
                .with_context(|| format!("the bundle {} cannot be used", bundle.display()))?;
            println!("central: {} (replicating over QUIC with mutual TLS)", c.address);
            tokio::spawn(crate::replication::run_client(
                node.state.service.clone(),
                node.gc.clone(),
                identity,
                crate::replication::ClientSettings {
                    central_address: c.address.clone(),
                    protocol: crate::replication::network_protocol_config(),
                },
                node.state.replication.clone(),
                node.shutdown.subscribe(),
            ));
        }
        (Some(c), None) => println!(
            "central: {} configured, but no --bundle: without a TLS identity the node works stand-alone",
            c.address
        ),
        _ => println!("central: none configured; the node works stand-alone"),
    }
    match (config.field.listen, &settings.bundle) {
        _ if config.node.training => {}
        (Some(listen), Some(bundle)) => {
            let identity = provisioning::load_identity(bundle)
                .with_context(|| format!("the bundle {} cannot be used", bundle.display()))?;
            let crl = config.field.crl.clone();
            let endpoint = crate::field::listener::bind(listen, &identity, crl.as_deref())?;
            println!(
                "field:   terminals over QUIC on {} (unit certificates{})",
                endpoint.local_addr()?,
                if crl.is_some() { ", revocation list checked" } else { ", NO revocation list" }
            );
            if let Some(path) = crl.clone() {
                tokio::spawn(crate::field::listener::watch_crl(
                    endpoint.clone(),
                    provisioning::load_identity(bundle)?,
                    path,
                    std::time::Duration::from_secs(crate::field::listener::CRL_RECHECK_S),
                    node.shutdown.subscribe(),
                ));
            }
            tokio::spawn(crate::field::listener::serve(
                endpoint,
                node.state.service.clone(),
                node.gc.clone(),
                node.shutdown.subscribe(),
            ));
        }
        (Some(_), None) => anyhow::bail!(
            "field.listen is set, but the node has no --bundle: terminals need the node's TLS identity"
        ),
        _ => {}
    }
    if let Some(email) = &config.email {
        let tls = match &web {
            crate::https::WebMode::Tls(tls) => Some(tls.server.clone()),
            crate::https::WebMode::Plain => None,
        };
        let intake: Arc<dyn crate::channels::Intake> = node.state.inbox.clone();
        let listener =
            crate::channels::email::smtp::start(email, intake, tls, node.shutdown.subscribe())
                .await
                .context("the [email] SMTP listener cannot start")?;
        println!(
            "e-mail:  SMTP on {} for {}{}",
            listener.local_addr,
            email.mailboxes.join(", "),
            match &email.relay {
                Some(relay) => format!(", answers through {}", relay.host),
                None => ", NO relay: answers stay queued".to_string(),
            }
        );
    }
    if let Some(t) = &config.telegram {
        match &t.webhook_url {
            Some(url) => println!(
                "telegram: webhook {url} (served at {http}://{addr}{})",
                crate::channels::telegram::WEBHOOK_PATH
            ),
            None => println!("telegram: long polling {} (no webhook_url)", t.api_url),
        }
    }
    if let Some(v) = &config.vk {
        println!(
            "vk:      community {}, Callback API at {http}://{addr}{}",
            v.group_id,
            crate::channels::vk::CALLBACK_PATH
        );
    }
    match (&node.generated_admin_password, &settings.admin_password) {
        (Some(p), _) => println!(
            "first start: administrator login 'admin', one-time password '{p}' (shown only now; change it in the console)"
        ),
        (None, Some(_)) if node.first_start => println!("first start: administrator login 'admin' with the preset password (NODE_ADMIN_PASSWORD or the bundle's bootstrap.secret)"),
        _ => {}
    }
    tracing::info!(%addr, "node listening");
    let stop_streams = node.shutdown.clone();
    crate::https::serve(listener, web, http::app(node.state.clone()), async move {
        shutdown.await;
        tracing::info!("shutting down: ending live streams, finishing requests");
        let _ = stop_streams.send(true);
    })
    .await?;
    node.state.calls.end_all(server_kit::clock::now_ms()).await;
    node.store.flush()?;
    Ok(())
}

pub use server_kit::shutdown::shutdown_signal;
