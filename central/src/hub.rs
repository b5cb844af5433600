//! The QUIC side of the hub: accepts regional nodes (mutual TLS against the private CA, the CRL
//! from the central's bundle), takes each node's region from its certificate, and drives one
//! [`sync::protocol::Session`] per connection over the shared [`CentralRepo`].

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use server_kit::store::{GroupCommit, Store, WriteBatch};
use sync::protocol::{Authority, Config as ProtocolConfig, Event, Session};
use tokio::sync::{broadcast, mpsc, watch};
use utoipa::ToSchema;

use crate::repo::{is_region_code, CentralRepo, NationalCard};

/// Local changes buffered per connected region before older ones are dropped (the session
/// catches up on the next connection).
pub const REGION_CHANGES_BUFFERED_MAX: usize = 4_096;
/// Live dashboard events buffered per subscriber before it is told to reload (`resync`).
pub const HUB_EVENTS_BUFFERED_MAX: usize = 4_096;
/// A connected region's link state is stored at most this often (and at every connect and
/// disconnect), so a restarted hub still knows when each region was last heard from.
pub const LINK_STORE_INTERVAL_MS: i64 = 60_000;

/// A region's link in one word, for the dashboard (which words it in Kazakh and Russian).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    /// Connected, and documents move (or nothing is pending).
    Connected,
    /// Connected, but changes are pending and nothing has moved for
    /// `server_kit::replication::STALL_DETECT_MS`: not the same as connected.
    Stalled,
    #[default]
    Disconnected,
}

impl LinkState {
    fn of(link: &RegionLink) -> LinkState {
        match (link.connected, link.stalled) {
            (false, _) => LinkState::Disconnected,
            (true, true) => LinkState::Stalled,
            (true, false) => LinkState::Connected,
        }
    }
}

/// What HQ knows about a region's link.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct RegionLink {
    /// Region code (from the node's certificate).
    pub region: String,
    /// `connected`, `stalled` or `disconnected`.
    pub state: LinkState,
    pub connected: bool,
    /// Changes pending on the link and nothing moving for `server_kit::replication::STALL_DETECT_MS`
    /// (either way); set until a connection moves documents again or has nothing to send.
    pub stalled: bool,
    /// Since when nothing moved, while `stalled`.
    pub stalled_since_ms: Option<i64>,
    /// Stalls detected on the region's links (kept across hub restarts).
    pub stalls: u64,
    /// Last frame from the region's node (ms since the epoch); kept across hub restarts.
    pub last_contact_ms: Option<i64>,
    pub connected_since_ms: Option<i64>,
    pub disconnected_since_ms: Option<i64>,
    /// Connections the region opened (kept across hub restarts).
    pub connections: u64,
    /// Why the last connection ended, if it failed.
    pub last_error: Option<String>,
    /// Frames received since the hub started.
    pub frames_in: u64,
    /// The software version the region's node named in its last Hello (`0.1.0`); absent
    /// before its first connection and for builds that do not name one. Kept across hub
    /// restarts and while disconnected: during a rolling upgrade HQ sees which regions run
    /// which release.
    pub software_version: Option<String>,
    /// The protocol version of the region's last connection.
    pub protocol_version: Option<u16>,
}

/// A region's link as stored under `link/{region}` (JSON).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct StoredLink {
    pub last_contact_ms: Option<i64>,
    pub disconnected_since_ms: Option<i64>,
    pub connections: u64,
    pub last_error: Option<String>,
    /// Absent in links stored before stall detection.
    #[serde(default)]
    pub stalls: u64,
    /// Absent in links stored before the hub recorded versions.
    #[serde(default)]
    pub software_version: Option<String>,
    #[serde(default)]
    pub protocol_version: Option<u16>,
}

impl StoredLink {
    fn of(l: &RegionLink) -> Self {
        StoredLink {
            last_contact_ms: l.last_contact_ms,
            disconnected_since_ms: l.disconnected_since_ms,
            connections: l.connections,
            last_error: l.last_error.clone(),
            stalls: l.stalls,
            software_version: l.software_version.clone(),
            protocol_version: l.protocol_version,
        }
    }

    /// After a hub restart nobody is connected: a region connected when the hub stopped has
    /// been disconnected since its last contact.
    fn restored(self, region: &str) -> RegionLink {
        RegionLink {
            region: region.to_string(),
            connected: false,
            last_contact_ms: self.last_contact_ms,
            connected_since_ms: None,
            disconnected_since_ms: self.disconnected_since_ms.or(self.last_contact_ms),
            connections: self.connections,
            last_error: self.last_error,
            frames_in: 0,
            stalls: self.stalls,
            software_version: self.software_version,
            protocol_version: self.protocol_version,
            ..RegionLink::default()
        }
    }
}

fn load_links(store: &dyn Store) -> BTreeMap<String, RegionLink> {
    let rows = match store.scan_prefix(b"link/") {
        Ok(rows) => rows,
        Err(e) => {
            tracing::warn!(error = %e, "stored region links unreadable: starting without them");
            return BTreeMap::new();
        }
    };
    rows.into_iter()
        .filter_map(|(k, v)| {
            let region = String::from_utf8(k[b"link/".len()..].to_vec()).ok()?;
            let stored: StoredLink = serde_json::from_slice(&v).ok()?;
            is_region_code(&region).then(|| (region.clone(), stored.restored(&region)))
        })
        .collect()
}

/// Live events for the dashboard.
#[derive(Debug, Clone)]
pub enum HubEvent {
    Region(RegionLink),
    Card(NationalCard),
    /// A region's reference data arrived or changed (names of its categories, districts...).
    Reference {
        region: String,
    },
}

pub struct Hub {
    /// The catalogue the regions' handles come from.
    base: CentralRepo,
    /// One catalogue handle per region (and one for national documents), so that regions
    /// import in parallel and HQ's write to a region's card waits only for that region.
    repos: Mutex<BTreeMap<String, Arc<Mutex<CentralRepo>>>>,
    pub links: Mutex<BTreeMap<String, RegionLink>>,
    /// When each region's link was last stored.
    links_stored_ms: Mutex<BTreeMap<String, i64>>,
    gc: Arc<GroupCommit>,
    /// Senders to each connected region's session, for HQ's own writes.
    pub sessions: Mutex<BTreeMap<String, mpsc::Sender<String>>>,
    /// Each region's newest connection, by a number: an older one that ends later (its node
    /// already redialled, say after leaving a stalled link) must not mark the region offline.
    current: Mutex<BTreeMap<String, (u64, quinn::Connection)>>,
    next_connection: AtomicU64,
    pub events: broadcast::Sender<HubEvent>,
    pub protocol: ProtocolConfig,
    /// Answers regions' national duplicate queries (R38); set once at start, absent in tests
    /// that run the hub without an audit log (nodes then get no answer and re-check later).
    pub duplicate_queries: std::sync::OnceLock<Arc<crate::appeal_dups::QueryServer>>,
}

fn now_ms() -> i64 {
    server_kit::clock::now_ms()
}

impl Hub {
    /// The hub over `repo`, with the region links stored by a previous run.
    pub fn new(repo: CentralRepo, protocol: ProtocolConfig) -> Arc<Hub> {
        let (events, _) = broadcast::channel(HUB_EVENTS_BUFFERED_MAX);
        Arc::new(Hub {
            links: Mutex::new(load_links(&**repo.store())),
            links_stored_ms: Mutex::new(BTreeMap::new()),
            gc: repo.group_commit().clone(),
            base: repo,
            repos: Mutex::new(BTreeMap::new()),
            sessions: Mutex::new(BTreeMap::new()),
            current: Mutex::new(BTreeMap::new()),
            next_connection: AtomicU64::new(1),
            events,
            protocol,
            duplicate_queries: std::sync::OnceLock::new(),
        })
    }

    /// The national report 1-ОЛ's ledger (shared by every region's handle).
    pub fn report_1ol(&self) -> Arc<crate::report_1ol::ReportLedger> {
        self.base.report_1ol().clone()
    }

    /// Changes a region's link, tells the dashboards, and stores it when `store_now` or when it
    /// was last stored more than [`LINK_STORE_INTERVAL_MS`] ago.
    fn update_link(&self, region: &str, store_now: bool, f: impl FnOnce(&mut RegionLink)) {
        let link = {
            let mut links = self.links.lock().unwrap_or_else(|p| p.into_inner());
            let link = links
                .entry(region.to_string())
                .or_insert_with(|| RegionLink {
                    region: region.to_string(),
                    ..Default::default()
                });
            f(link);
            link.state = LinkState::of(link);
            link.clone()
        };
        let now = now_ms();
        let due = {
            let mut stored = self
                .links_stored_ms
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            let last = stored.get(region).copied().unwrap_or(i64::MIN);
            let due = store_now || now.saturating_sub(last) >= LINK_STORE_INTERVAL_MS;
            if due {
                stored.insert(region.to_string(), now);
            }
            due
        };
        if due {
            let mut b = WriteBatch::new();
            // Durable with the next flush: a lost last-contact time is harmless.
            let staged = b.put_json(format!("link/{region}"), &StoredLink::of(&link));
            if let Err(e) = staged.and_then(|()| self.gc.apply(b).map(|_| ())) {
                tracing::warn!(%region, error = %e, "the region's link state is not stored");
            }
        }
        let _ = self.events.send(HubEvent::Region(link));
    }

    pub fn links(&self) -> Vec<RegionLink> {
        self.links
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// The catalogue handle of `region` (region [`sync::NATIONAL`] for national documents):
    /// every write to the region's documents goes through it.
    pub fn repo(&self, region: &str) -> Arc<Mutex<CentralRepo>> {
        self.repos
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(region.to_string())
            .or_insert_with(|| Arc::new(Mutex::new(self.base.handle())))
            .clone()
    }

    /// Tells the region's session (if connected) that HQ changed one of its documents.
    pub fn notify_region(&self, region: &str, doc_id: &str) {
        let sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = sessions.get(region) {
            let _ = tx.try_send(doc_id.to_string());
        }
    }

    /// Offers a national document the hub changed to every connected region.
    pub fn notify_all(&self, doc_id: &str) {
        let sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        for tx in sessions.values() {
            let _ = tx.try_send(doc_id.to_string());
        }
    }

    fn publish_changed_cards(&self) {
        let changed = self.base.drain_changed_cards();
        for c in changed {
            let _ = self.events.send(HubEvent::Card(c));
        }
    }

    /// Accepts nodes until `shutdown`.
    pub async fn serve(
        self: Arc<Self>,
        endpoint: quinn::Endpoint,
        mut shutdown: watch::Receiver<bool>,
    ) {
        loop {
            let incoming = tokio::select! {
                i = endpoint.accept() => match i {
                    Some(i) => i,
                    None => return,
                },
                _ = shutdown.wait_for(|s| *s) => {
                    endpoint.close(0u32.into(), b"central shutting down");
                    return;
                }
            };
            let hub = self.clone();
            let stop = shutdown.clone();
            tokio::spawn(async move {
                let remote = incoming.remote_address();
                match incoming.await {
                    Ok(conn) => hub.handle(conn, stop).await,
                    // Refused certificates (missing, wrong CA, expired, revoked) end here.
                    Err(e) => tracing::warn!(%remote, error = %e, "refused a connection"),
                }
            });
        }
    }

    async fn handle(self: Arc<Self>, conn: quinn::Connection, mut shutdown: watch::Receiver<bool>) {
        let remote = conn.remote_address();
        let region = match provisioning::tls::peer_region(&conn) {
            Ok(Some(r)) => r,
            Ok(None) => {
                tracing::warn!(%remote, "refused a peer with a central certificate");
                conn.close(1u32.into(), b"only regional nodes connect to the central");
                return;
            }
            Err(e) => {
                tracing::warn!(%remote, error = %e, "refused a peer certificate");
                conn.close(1u32.into(), b"unreadable certificate");
                return;
            }
        };
        let (send, recv) = match conn.accept_bi().await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(%region, error = %e, "no replication stream");
                return;
            }
        };
        // Further streams of the connection are the node's duplicate queries (R38).
        if let Some(q) = self.duplicate_queries.get() {
            tokio::spawn(q.clone().serve(conn.clone(), region.clone()));
        }
        // A region has one node: its newest connection replaces an older one still open.
        let connection = self.next_connection.fetch_add(1, Ordering::Relaxed);
        let replaced = self
            .current
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(region.clone(), (connection, conn.clone()));
        if let Some((_, old)) = replaced {
            old.close(0u32.into(), b"replaced by a newer connection of the region");
        }
        let (tx, mut rx) = mpsc::channel(REGION_CHANGES_BUFFERED_MAX);
        // A newer connection of the same region replaces the older one's notifications.
        self.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(region.clone(), tx);
        let repo = self.repo(&region);
        let session = {
            let mut repo = repo.lock().unwrap_or_else(|p| p.into_inner());
            tokio::task::block_in_place(|| {
                Session::new(
                    self.protocol.clone(),
                    Authority::Central,
                    Authority::Region(region.clone()),
                    &mut *repo,
                    now_ms(),
                )
            })
        };
        let session = match session {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(%region, error = %e, "cannot start a session");
                return;
            }
        };
        tracing::info!(%region, %remote, "region connected");
        self.update_link(&region, true, |l| {
            l.connections += 1;
            l.last_contact_ms = Some(now_ms());
        });
        let hub = self.clone();
        let r = region.clone();
        let inputs = server_kit::replication::DriveInputs {
            local_changes: &mut rx,
            shutdown: &mut shutdown,
            frame_bytes_max: self.protocol.frame_bytes_max,
        };
        let outcome = server_kit::replication::drive((send, recv), session, &repo, inputs, |ev| {
            let now = now_ms();
            let opened = matches!(ev, Event::Opened { .. });
            let stalled = matches!(ev, Event::Stalled { .. });
            hub.update_link(&r, opened || stalled, |l| {
                // A stall is reported from the session's clock, not from anything heard.
                if !stalled {
                    l.last_contact_ms = Some(now);
                    l.frames_in += 1;
                }
                match ev {
                    Event::Opened {
                        version,
                        peer_software_version,
                        ..
                    } => {
                        l.connected = true;
                        l.connected_since_ms = Some(now);
                        l.disconnected_since_ms = None;
                        l.last_error = None;
                        // A build that names no version is older than the extension: what
                        // an earlier connection said is no longer true.
                        l.software_version = peer_software_version.clone();
                        l.protocol_version = Some(*version);
                    }
                    Event::Stalled { stalled_ms } => {
                        l.stalled = true;
                        l.stalled_since_ms = Some(now - stalled_ms);
                        l.stalls += 1;
                    }
                    Event::Unstalled | Event::PushComplete => {
                        l.stalled = false;
                        l.stalled_since_ms = None;
                    }
                    _ => {}
                }
            });
            match ev {
                Event::Opened {
                    version,
                    peer_software_version,
                    ..
                } => tracing::info!(
                    region = %r,
                    protocol_version = version,
                    software_version = peer_software_version.as_deref().unwrap_or("unknown"),
                    "replicating with the region"
                ),
                Event::DocChanged { doc_id, .. } => {
                    if sync::DocId::parse(doc_id).is_ok_and(|id| {
                        id.kind() == sync::DocKind::Reference && !crate::meetings::is_register(&id)
                    }) {
                        tracing::info!(region = %r, "the region's reference data arrived");
                        let _ = hub.events.send(HubEvent::Reference { region: r.clone() });
                    }
                    hub.publish_changed_cards()
                }
                Event::RejectedIncoming { doc_id, reason, .. } => {
                    tracing::warn!(region = %r, doc_id, ?reason, "refused a document from a region")
                }
                Event::Stalled { stalled_ms } => tracing::warn!(
                    region = %r,
                    stalled_ms,
                    "replication with the region stalled: changes pending, nothing moving"
                ),
                Event::Unstalled => {
                    tracing::info!(region = %r, "replication with the region moves again")
                }
                _ => {}
            }
        })
        .await;
        self.publish_changed_cards();
        {
            let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
            if sessions.get(&region).is_some_and(|tx| tx.is_closed()) {
                sessions.remove(&region);
            }
        }
        let err = outcome.error.clone();
        if let Some(e) = &err {
            tracing::warn!(%region, error = %e, "region connection ended");
        }
        let newest = {
            let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
            let newest = current.get(&region).is_some_and(|(c, _)| *c == connection);
            if newest {
                current.remove(&region);
            }
            newest
        };
        // An older connection ending says nothing about the region's newest one.
        if newest {
            self.update_link(&region, true, |l| {
                l.connected = false;
                l.disconnected_since_ms = Some(now_ms());
                l.last_error = err.map(|e| e.to_string());
            });
        }
        conn.close(0u32.into(), b"bye");
    }
}
