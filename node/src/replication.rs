//! Replication shell: drives the sans-IO [`sync::protocol::Session`] over QUIC (quinn, mutual
//! TLS from the node's provisioning bundle).
//!
//! - [`NodeRepo`] is the protocol's document catalogue over the node's store and card service:
//!   document ids are `{REGION}/{kind}/{id}` (`AST/card/<uuid>`, `AST/unit/p01`,
//!   `AST/roster/2026-11-22`); the catalogue comes from the heads index in one scan; imports go
//!   through the card service so caches, indexes, audit and live consoles stay right, and are
//!   durable before the protocol acknowledges them; per-peer knowledge lives under `repl/`.
//! - [`drive`] runs one connection: a reader task turns the stream into frames, the loop feeds
//!   frames, local changes and timers to the session and writes what it transmits. It is generic
//!   over the `Repo`, so the central hub (and tests) drive their side with the same code.
//! - [`run_client`] is the node's connector: connect, drive, and on any failure reconnect with
//!   exponential backoff. No request path of the node ever waits on it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use automerge::ChangeHash;
use sync::protocol::{
    region_prefix, Authority, Config as ProtocolConfig, DocSummary, Event, Priority, Repo,
    RepoError, Session,
};
use tokio::sync::{mpsc, watch};

pub use server_kit::replication::{
    drive, network_protocol_config, DriveInputs, DriveOutcome, DurableRepo, FRAMES_BUFFERED_MAX,
    FRAMES_PER_FLUSH_MAX, HANDSHAKE_TIMEOUT_MS, LOCAL_CHANGES_BUFFERED_MAX, PROBE_INTERVAL_MS,
    STALL_DETECT_MS,
};
pub use server_kit::replication::{
    reconnect_delay_ms, RECONNECT_DELAY_MS_MAX, RECONNECT_DELAY_MS_MIN, RECONNECT_RESET_AFTER_MS,
};

use crate::live::LiveEvent;
use crate::service::CardService;
use crate::store::{GroupCommit, Store};
use server_kit::docs::PeerKnowledge;
use sync::DocId;

/// Who applied replicated changes, in the audit log.
const REPLICATION_ACTOR: &str = "replication";

use server_kit::clock::now_ms;

/// The protocol's view of this node's documents.
pub struct NodeRepo {
    service: Arc<CardService>,
    store: Arc<dyn Store>,
    gc: Arc<GroupCommit>,
}

impl NodeRepo {
    pub fn new(service: Arc<CardService>, gc: Arc<GroupCommit>) -> Self {
        NodeRepo {
            store: service.store().clone(),
            service,
            gc,
        }
    }

    /// The document, if this node may hold it: one of its region's, or a national one.
    fn local(&self, doc_id: &str) -> Result<DocId, RepoError> {
        let id = DocId::parse(doc_id).map_err(|e| RepoError::Refused(e.to_string()))?;
        if id.region() != self.service.region() && !id.is_national() {
            return Err(RepoError::Refused(format!(
                "{doc_id} is not a document of this region"
            )));
        }
        Ok(id)
    }

    fn knowledge(&self) -> PeerKnowledge<'_> {
        PeerKnowledge {
            store: &*self.store,
            gc: &self.gc,
        }
    }
}

impl Repo for NodeRepo {
    fn repo_id(&self) -> [u8; 16] {
        self.service.store_identity()
    }

    fn region_of(&self, doc_id: &str) -> Option<String> {
        region_prefix(doc_id).map(str::to_string)
    }

    fn docs_in_region(&mut self, region: &str) -> Vec<DocSummary> {
        if region != self.service.region() {
            return Vec::new();
        }
        server_kit::docs::protocol_catalogue(&*self.store, region)
    }

    fn docs_with_prefix(&mut self, prefix: &str) -> Vec<DocSummary> {
        server_kit::docs::protocol_catalogue_prefix(&*self.store, prefix)
    }

    fn heads(&mut self, doc_id: &str) -> Option<Vec<ChangeHash>> {
        let id = self.local(doc_id).ok()?;
        match self.service.replica_heads(&id) {
            Ok(h) => h.map(|(_, h)| h),
            Err(e) => {
                tracing::error!(error = %e, doc_id, "heads index unreadable");
                None
            }
        }
    }

    fn priority(&self, doc_id: &str) -> Priority {
        self.local(doc_id)
            .ok()
            .and_then(|id| self.service.replica_heads(&id).ok().flatten())
            .map(|(p, _)| p)
            .unwrap_or(Priority::Normal)
    }

    fn has_changes(&mut self, doc_id: &str, hashes: &[ChangeHash]) -> bool {
        match self.local(doc_id) {
            Ok(id) => self.service.replica_has_changes(&id, hashes),
            Err(_) => false,
        }
    }

    fn export(&mut self, doc_id: &str, since: &[ChangeHash]) -> Result<Vec<u8>, RepoError> {
        let id = self.local(doc_id)?;
        self.service
            .replica_export(&id, since)
            .map_err(|e| RepoError::Storage(e.to_string()))
    }

    fn import(
        &mut self,
        doc_id: &str,
        bytes: &[u8],
        _priority: Option<Priority>,
    ) -> Result<Vec<ChangeHash>, RepoError> {
        let id = self.local(doc_id)?;
        self.service
            .replica_import(&id, bytes, REPLICATION_ACTOR, now_ms())
    }

    server_kit::repo_peer_knowledge!();
}

/// The node's imports already wait for their flush.
impl DurableRepo for NodeRepo {}

/// Settings of the node's connector.
#[derive(Clone)]
pub struct ClientSettings {
    /// `host:port` of the central hub, as in the bundle's `node.toml`.
    pub central_address: String,
    pub protocol: ProtocolConfig,
}

/// Live state of the connector, for /metrics and the console.
#[derive(Debug, Default, Clone)]
pub struct ReplicationStatus {
    /// Where the node replicates to; `None`: it works stand-alone (no central or no bundle).
    pub central_address: Option<String>,
    pub connected: bool,
    pub last_contact_ms: Option<i64>,
    pub last_error: Option<String>,
    pub connections: u64,
    /// Changes pending and nothing moving for [`STALL_DETECT_MS`]; stays set across the
    /// reconnect it causes, until a connection moves documents again or has nothing to send.
    pub stalled: bool,
    /// Since when nothing moved, while `stalled`.
    pub stalled_since_ms: Option<i64>,
    /// Stalls detected since the node started.
    pub stalls: u64,
}

impl ReplicationStatus {
    /// Follows a session's stall reports: what `/metrics` and HQ show.
    pub fn on_stall_event(&mut self, event: &Event, now_ms: i64) {
        match event {
            Event::Stalled { stalled_ms } => {
                self.stalled = true;
                self.stalled_since_ms = Some(now_ms - stalled_ms);
                self.stalls += 1;
            }
            Event::Unstalled | Event::PushComplete => {
                self.stalled = false;
                self.stalled_since_ms = None;
            }
            _ => {}
        }
    }
}

/// Keeps the node connected to the central hub until `shutdown`.
pub async fn run_client(
    service: Arc<CardService>,
    gc: Arc<GroupCommit>,
    identity: provisioning::Identity,
    settings: ClientSettings,
    status: Arc<Mutex<ReplicationStatus>>,
    mut shutdown: watch::Receiver<bool>,
) {
    let region = service.region().to_string();
    let repo = Mutex::new(NodeRepo::new(service.clone(), gc));
    let set_status = |f: &dyn Fn(&mut ReplicationStatus)| {
        f(&mut status.lock().unwrap_or_else(|p| p.into_inner()))
    };
    set_status(&|s| s.central_address = Some(settings.central_address.clone()));
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::from_entropy();
    let mut failures = 0u32;
    loop {
        if *shutdown.borrow() {
            return;
        }
        let started = std::time::Instant::now();
        let result = connect_once(
            &service,
            &region,
            &identity,
            &settings,
            &repo,
            &status,
            &mut shutdown,
        )
        .await;
        match result {
            Ok(()) => tracing::info!("replication connection to the central hub closed"),
            Err(e) => {
                tracing::warn!(error = %e, central = %settings.central_address, "replication to the central hub failed; will retry");
                set_status(&|s| s.last_error = Some(e.clone()));
            }
        }
        set_status(&|s| s.connected = false);
        if started.elapsed() > Duration::from_millis(RECONNECT_RESET_AFTER_MS) {
            failures = 0;
        }
        let delay_ms = reconnect_delay_ms(failures, &mut rng);
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(delay_ms)) => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
        failures = failures.saturating_add(1);
    }
}

async fn connect_once(
    service: &Arc<CardService>,
    region: &str,
    identity: &provisioning::Identity,
    settings: &ClientSettings,
    repo: &Mutex<NodeRepo>,
    status: &Arc<Mutex<ReplicationStatus>>,
    shutdown: &mut watch::Receiver<bool>,
) -> Result<(), String> {
    let server_name = provisioning::tls::central_server_name(&settings.central_address)
        .map_err(|e| e.to_string())?;
    let addrs: Vec<std::net::SocketAddr> = tokio::net::lookup_host(&settings.central_address)
        .await
        .map_err(|e| format!("cannot resolve {}: {e}", settings.central_address))?
        .collect();
    if addrs.is_empty() {
        return Err(format!(
            "{} resolves to no address",
            settings.central_address
        ));
    }
    let client_config =
        provisioning::tls::quinn_client_config(identity).map_err(|e| e.to_string())?;
    // Try every address the name resolves to (e.g. ::1 and 127.0.0.1 for localhost).
    let mut last_error = String::new();
    let mut connected = None;
    for addr in addrs {
        let bind: std::net::SocketAddr = if addr.is_ipv6() {
            "[::]:0"
        } else {
            "0.0.0.0:0"
        }
        .parse()
        .expect("a constant address");
        let mut endpoint = quinn::Endpoint::client(bind).map_err(|e| format!("endpoint: {e}"))?;
        endpoint.set_default_client_config(client_config.clone());
        let attempt = match endpoint.connect(addr, &server_name) {
            Ok(connecting) => {
                match tokio::time::timeout(Duration::from_millis(HANDSHAKE_TIMEOUT_MS), connecting)
                    .await
                {
                    Ok(done) => done.map_err(|e| format!("handshake with {addr}: {e}")),
                    Err(_) => Err(format!(
                        "handshake with {addr}: no answer within {HANDSHAKE_TIMEOUT_MS} ms"
                    )),
                }
            }
            Err(e) => Err(format!("connect to {addr}: {e}")),
        };
        match attempt {
            Ok(conn) => {
                connected = Some((endpoint, conn));
                break;
            }
            Err(e) => last_error = e,
        }
    }
    let (endpoint, conn) = connected.ok_or(last_error)?;
    let (send, recv) = conn.open_bi().await.map_err(|e| format!("stream: {e}"))?;
    // Subscribe before the session starts so no change between its catalogue scan and the
    // first poll is missed (a duplicate notification is harmless).
    let mut events = service.subscribe();
    let (change_tx, mut change_rx) = mpsc::channel(LOCAL_CHANGES_BUFFERED_MAX);
    let region_owned = region.to_string();
    let forwarder = tokio::spawn(async move {
        loop {
            let doc_id = match events.recv().await {
                Ok(LiveEvent::Card(c)) => format!("{region_owned}/card/{}", c.id),
                Ok(LiveEvent::Unit(u)) => format!("{region_owned}/unit/{}", u.id),
                Ok(LiveEvent::Appeal(a)) => format!("{region_owned}/appeal/{}", a.id),
                Ok(LiveEvent::Field { doc_id, .. }) => doc_id,
                Ok(LiveEvent::Conversation(c)) => format!("{region_owned}/conv/{}", c.id),
                Ok(LiveEvent::Replicated { doc_id }) => doc_id,
                // Calls are local to the node; their cards replicate.
                Ok(LiveEvent::Call(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(_) => return,
            };
            if change_tx.try_send(doc_id).is_err() {
                // The session is behind; what it missed goes on the next connection.
                continue;
            }
        }
    });
    let protocol = settings.protocol.clone();
    let session = {
        let mut guard = repo.lock().unwrap_or_else(|p| p.into_inner());
        tokio::task::block_in_place(|| {
            Session::new(
                protocol.clone(),
                Authority::Region(region.to_string()),
                Authority::Central,
                &mut *guard,
                now_ms(),
            )
        })
        .map_err(|e| e.to_string())?
    };
    {
        let mut s = status.lock().unwrap_or_else(|p| p.into_inner());
        s.connections += 1;
    }
    let status_events = status.clone();
    let national_conn = conn.clone();
    let outcome = drive(
        (send, recv),
        session,
        repo,
        DriveInputs {
            local_changes: &mut change_rx,
            shutdown,
            frame_bytes_max: protocol.frame_bytes_max,
        },
        |ev| {
            let mut s = status_events.lock().unwrap_or_else(|p| p.into_inner());
            let now = now_ms();
            // A stall is reported from the session's clock, not from anything heard.
            if !matches!(ev, Event::Stalled { .. }) {
                s.last_contact_ms = Some(now);
            }
            s.on_stall_event(ev, now);
            match ev {
                Event::Opened {
                    version,
                    peer_software_version,
                    ..
                } => {
                    s.connected = true;
                    s.last_error = None;
                    tracing::info!(
                        version,
                        central_software = peer_software_version.as_deref().unwrap_or("unknown"),
                        "replicating with the central hub"
                    );
                    // R38: the hub answers duplicate queries on this connection; appeals checked
                    // while it was down are checked again now.
                    if *version >= sync::protocol::VERSION_DUPLICATE_QUERY {
                        service.appeals().national().up(national_conn.clone());
                        tokio::spawn(recheck_marked(service.clone()));
                    }
                }
                Event::RejectedByPeer { doc_id, reason } => {
                    tracing::warn!(doc_id, ?reason, "the central hub refused a document")
                }
                Event::RejectedIncoming { doc_id, reason, .. } => {
                    tracing::warn!(doc_id, ?reason, "refused a document from the central hub")
                }
                Event::Stalled { stalled_ms } => tracing::warn!(
                    stalled_ms,
                    "replication to the central hub stalled: changes pending, nothing moving"
                ),
                Event::Unstalled => tracing::info!("replication to the central hub moves again"),
                _ => {}
            }
        },
    )
    .await;
    service.appeals().national().down();
    forwarder.abort();
    conn.close(0u32.into(), b"bye");
    endpoint.wait_idle().await;
    match outcome.error {
        Some(e) if !*shutdown.borrow() => Err(e.to_string()),
        _ => Ok(()),
    }
}

/// Re-checks every marked appeal after the link came back (at most [`crate::appeals::national::RECHECK_PASS_MAX`] per
/// pass; one pass at a time). Stops when the link fails again: the rest stay marked.
async fn recheck_marked(service: Arc<CardService>) {
    let appeals = service.appeals();
    let link = appeals.national();
    if !link.begin_recheck() {
        return;
    }
    let result = async {
        let calendar = service.work_calendar()?;
        appeals
            .recheck_pass(&calendar, crate::appeals::national::RECHECK_PASS_MAX)
            .await
    }
    .await;
    link.end_recheck();
    match result {
        Ok(r) if r.checked > 0 => tracing::info!(
            checked = r.checked,
            late = r.late,
            "national duplicate re-check after the link returned"
        ),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "the national duplicate re-check failed"),
    }
}
