//! Prometheus metrics of the node (`GET /metrics`), using the `prometheus-client` crate.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::service::CardService;
use crate::store::GroupCommit;

/// HTTP requests by method and status, and their latency (shared with the hub).
pub use server_kit::metrics::HttpMetrics;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    status: String,
}

/// How a call leg's media goes: `direct` or `relayed` (through TURN).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PathLabels {
    path: String,
}

/// The replication peer a series is about (the node has one: `central`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PeerLabels {
    peer: String,
}

/// The label of the node's only replication peer.
const CENTRAL_PEER: &str = "central";

pub struct Metrics {
    registry: Mutex<Registry>,
    http: HttpMetrics,
    cards_created: Counter,
    card_changes: Counter,
    store_flushes: Counter,
    cached_cards: Gauge,
    open_cards: Family<StatusLabels, Gauge>,
    store_bytes: Gauge,
    appeals_overdue: Gauge,
    replication_connected: Gauge,
    replication_last_contact: Gauge,
    replication_connections: Gauge,
    replication_stalled: Family<PeerLabels, Gauge>,
    replication_stalls: Family<PeerLabels, Counter>,
    calls_rung: Counter,
    calls_answered: Counter,
    calls_abandoned: Counter,
    calls_refused: Counter,
    calls_refused_by_source: Counter,
    calls_missed_sos: Counter,
    calls_missed_open: Gauge,
    recording_problems: Counter,
    recordings_expired: Counter,
    calls_live: Gauge,
    citizen_sockets: Gauge,
    media_legs: Gauge,
    media_ports: Gauge,
    media_rtp_relayed: Counter,
    media_rtp_dropped: Counter,
    media_recording_dropped: Counter,
    media_recorded_bytes: Counter,
    media_relayed_legs: Gauge,
    media_legs_connected: Family<PathLabels, Counter>,
    turn_credentials_issued: Counter,
    turn_credentials_withheld: Counter,
    gc: Arc<GroupCommit>,
    /// The data directory's disk space (absent in tests that keep no directory).
    disk: Option<server_kit::metrics::DiskMetrics>,
}

impl Metrics {
    pub fn new(gc: Arc<GroupCommit>) -> Self {
        let mut registry = Registry::with_prefix("node");
        let cards_created = Counter::default();
        let card_changes = Counter::default();
        let store_flushes = Counter::default();
        let cached_cards = Gauge::default();
        let open_cards = Family::<StatusLabels, Gauge>::default();
        let store_bytes = Gauge::default();
        let appeals_overdue = Gauge::default();
        let replication_connected = Gauge::default();
        let replication_last_contact = Gauge::default();
        let replication_connections = Gauge::default();
        let replication_stalled = Family::<PeerLabels, Gauge>::default();
        let replication_stalls = Family::<PeerLabels, Counter>::default();
        let calls_rung = Counter::default();
        let calls_answered = Counter::default();
        let calls_abandoned = Counter::default();
        let calls_refused = Counter::default();
        let calls_refused_by_source = Counter::default();
        let calls_missed_sos = Counter::default();
        let calls_missed_open = Gauge::default();
        let recording_problems = Counter::default();
        let recordings_expired = Counter::default();
        let calls_live = Gauge::default();
        let citizen_sockets = Gauge::default();
        let media_legs = Gauge::default();
        let media_ports = Gauge::default();
        let media_rtp_relayed = Counter::default();
        let media_rtp_dropped = Counter::default();
        let media_recording_dropped = Counter::default();
        let media_recorded_bytes = Counter::default();
        let media_relayed_legs = Gauge::default();
        let media_legs_connected = Family::<PathLabels, Counter>::default();
        let turn_credentials_issued = Counter::default();
        let turn_credentials_withheld = Counter::default();
        registry.register(
            "media_relayed_legs",
            "Call legs connected now through the TURN relay",
            media_relayed_legs.clone(),
        );
        registry.register(
            "media_legs_connected",
            "Call legs that connected, by path (direct or relayed through TURN)",
            media_legs_connected.clone(),
        );
        registry.register(
            "turn_credentials_issued",
            "TURN credentials handed to browsers",
            turn_credentials_issued.clone(),
        );
        registry.register(
            "turn_credentials_withheld",
            "Legs that got no TURN server because calls.turn.relayed_legs_max legs were relayed",
            turn_credentials_withheld.clone(),
        );
        registry.register(
            "media_legs",
            "WebRTC peer connections open",
            media_legs.clone(),
        );
        registry.register("media_ports", "Media UDP ports bound", media_ports.clone());
        registry.register(
            "media_rtp_relayed",
            "RTP packets relayed between a caller and an operator",
            media_rtp_relayed.clone(),
        );
        registry.register(
            "media_rtp_dropped",
            "RTP packets the relay could not forward",
            media_rtp_dropped.clone(),
        );
        registry.register(
            "media_recording_dropped",
            "RTP packets the recorder could not keep up with",
            media_recording_dropped.clone(),
        );
        registry.register(
            "media_recorded_bytes",
            "Bytes written to call recordings",
            media_recorded_bytes.clone(),
        );
        registry.register("calls_rung", "Citizen calls that rang", calls_rung.clone());
        registry.register(
            "calls_answered",
            "Calls answered by an operator",
            calls_answered.clone(),
        );
        registry.register(
            "calls_abandoned",
            "Calls that ended before an answer (callback due)",
            calls_abandoned.clone(),
        );
        registry.register(
            "calls_refused_by_source",
            "Citizen calls and sockets refused by the per-source limits",
            calls_refused_by_source.clone(),
        );
        registry.register(
            "calls_missed_sos",
            "SOS calls that ended before an operator answered",
            calls_missed_sos.clone(),
        );
        registry.register(
            "calls_missed_open",
            "Missed calls waiting for an operator's callback",
            calls_missed_open.clone(),
        );
        registry.register(
            "calls_refused",
            "Calls refused at setup (bad SDP, codecs, ports)",
            calls_refused.clone(),
        );
        registry.register(
            "recording_problems",
            "Recordings stopped early, e.g. disk full (alert on any increase)",
            recording_problems.clone(),
        );
        registry.register(
            "recordings_expired",
            "Recordings deleted by the retention sweep (R09)",
            recordings_expired.clone(),
        );
        registry.register(
            "calls_live",
            "Calls ringing or answered now",
            calls_live.clone(),
        );
        registry.register(
            "citizen_sockets",
            "Open citizen signalling connections",
            citizen_sockets.clone(),
        );
        registry.register(
            "replication_connected",
            "1 while replicating with the central hub",
            replication_connected.clone(),
        );
        registry.register(
            "replication_last_contact_ms",
            "Last frame from the central hub (ms since epoch, 0 = never)",
            replication_last_contact.clone(),
        );
        registry.register(
            "replication_stalled",
            "1 while the link to the peer is open but moves no data although changes are pending (see node::replication::STALL_DETECT_MS)",
            replication_stalled.clone(),
        );
        registry.register(
            "replication_stalls",
            "Stalls detected on the link to the peer (each one also reconnects when the peer is heard)",
            replication_stalls.clone(),
        );
        registry.register(
            "replication_connections",
            "Connections opened to the central hub",
            replication_connections.clone(),
        );
        let http = HttpMetrics::register(&mut registry);
        registry.register("cards_created", "Cards created", cards_created.clone());
        registry.register(
            "card_changes",
            "Card changes committed",
            card_changes.clone(),
        );
        registry.register(
            "store_flushes",
            "Group-commit flushes to disk",
            store_flushes.clone(),
        );
        registry.register(
            "card_cache_docs",
            "Card documents loaded in memory",
            cached_cards.clone(),
        );
        registry.register("open_cards", "Open cards by status", open_cards.clone());
        registry.register(
            "store_size_bytes",
            "Database size on disk",
            store_bytes.clone(),
        );
        registry.register(
            "appeals_overdue",
            "Open appeals past their deadline (R11, R16), counted at each scrape",
            appeals_overdue.clone(),
        );
        Self {
            registry: Mutex::new(registry),
            http,
            cards_created,
            card_changes,
            store_flushes,
            cached_cards,
            open_cards,
            store_bytes,
            replication_connected,
            replication_last_contact,
            replication_connections,
            replication_stalled,
            replication_stalls,
            calls_rung,
            calls_answered,
            calls_abandoned,
            calls_refused,
            calls_refused_by_source,
            calls_missed_sos,
            calls_missed_open,
            recording_problems,
            recordings_expired,
            calls_live,
            citizen_sockets,
            media_legs,
            media_ports,
            media_rtp_relayed,
            media_rtp_dropped,
            media_recording_dropped,
            media_recorded_bytes,
            media_relayed_legs,
            media_legs_connected,
            turn_credentials_issued,
            turn_credentials_withheld,
            gc,
            appeals_overdue,
            disk: None,
        }
    }

    /// Also reports the space left on the filesystem of `data_dir` (the disk-filling alert).
    pub fn with_data_dir(mut self, data_dir: std::path::PathBuf) -> Self {
        let disk = server_kit::metrics::DiskMetrics::register(
            &mut self.registry.lock().unwrap_or_else(|p| p.into_inner()),
            data_dir,
        );
        self.disk = Some(disk);
        self
    }

    /// Reports `node_training_mode` (1 on a training node, 0 on a live one), so that alert
    /// rules leave a training node out (it never replicates, by design).
    pub fn with_training(self, training: bool) -> Self {
        let gauge: Gauge = Gauge::default();
        gauge.set(i64::from(training));
        self.registry
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .register(
                "training_mode",
                "1 on a training node (demo data, never replicates), 0 on a live node",
                gauge,
            );
        self
    }

    /// The data directory's filesystem, `(available, size)` in bytes, when known.
    pub fn disk_space(&self) -> Option<(u64, u64)> {
        self.disk.as_ref().and_then(|d| d.read())
    }

    /// The HTTP request metrics, for [`server_kit::metrics::track`].
    pub fn http(&self) -> &HttpMetrics {
        &self.http
    }

    /// Counters that live in other components are copied in at scrape time.
    pub fn render(
        &self,
        service: &CardService,
        replication: &crate::replication::ReplicationStatus,
        calls: &crate::calls::CallService,
    ) -> String {
        if let Some(d) = &self.disk {
            d.refresh();
        }
        self.replication_connected.set(replication.connected as i64);
        self.replication_last_contact
            .set(replication.last_contact_ms.unwrap_or(0));
        self.replication_connections
            .set(replication.connections as i64);
        let peer = PeerLabels {
            peer: CENTRAL_PEER.to_string(),
        };
        self.replication_stalled
            .get_or_create(&peer)
            .set(replication.stalled as i64);
        let sync_counter = |c: &Counter, v: u64| {
            let cur = c.get();
            if v > cur {
                c.inc_by(v - cur);
            }
        };
        sync_counter(
            &self.replication_stalls.get_or_create(&peer),
            replication.stalls,
        );
        sync_counter(
            &self.cards_created,
            service.cards_created.load(Ordering::Relaxed),
        );
        sync_counter(
            &self.card_changes,
            service.card_changes.load(Ordering::Relaxed),
        );
        sync_counter(&self.store_flushes, self.gc.flushes.load(Ordering::Relaxed));
        let c = &calls.counters;
        sync_counter(&self.calls_rung, c.rung.load(Ordering::Relaxed));
        sync_counter(&self.calls_answered, c.answered.load(Ordering::Relaxed));
        sync_counter(&self.calls_abandoned, c.abandoned.load(Ordering::Relaxed));
        sync_counter(&self.calls_refused, c.refused.load(Ordering::Relaxed));
        sync_counter(
            &self.calls_refused_by_source,
            c.refused_by_source.load(Ordering::Relaxed),
        );
        sync_counter(&self.calls_missed_sos, c.missed_sos.load(Ordering::Relaxed));
        self.calls_missed_open.set(calls.missed_open() as i64);
        sync_counter(
            &self.recording_problems,
            c.recording_problems.load(Ordering::Relaxed),
        );
        sync_counter(
            &self.recordings_expired,
            c.recordings_expired.load(Ordering::Relaxed),
        );
        self.calls_live.set(calls.live_calls() as i64);
        let m = calls.media().stats();
        self.media_legs.set(m.active_legs as i64);
        self.media_ports.set(m.ports_in_use as i64);
        sync_counter(&self.media_rtp_relayed, m.rtp_packets_relayed);
        sync_counter(&self.media_rtp_dropped, m.rtp_packets_dropped);
        sync_counter(&self.media_recording_dropped, m.recording_packets_dropped);
        sync_counter(&self.media_recorded_bytes, m.bytes_recorded);
        self.media_relayed_legs.set(m.relayed_legs as i64);
        for (path, n) in [
            ("direct", m.direct_legs_connected),
            ("relayed", m.relayed_legs_connected),
        ] {
            sync_counter(
                &self
                    .media_legs_connected
                    .get_or_create(&PathLabels { path: path.into() }),
                n,
            );
        }
        sync_counter(
            &self.turn_credentials_issued,
            c.turn_credentials_issued.load(Ordering::Relaxed),
        );
        sync_counter(
            &self.turn_credentials_withheld,
            c.turn_credentials_withheld.load(Ordering::Relaxed),
        );
        self.citizen_sockets
            .set(calls.citizen_sockets.load(Ordering::Relaxed) as i64);
        self.cached_cards.set(service.cached_cards() as i64);
        self.store_bytes
            .set(service.store().size_on_disk_bytes() as i64);
        if let Ok(counts) = service.count_by_status() {
            for (status, n) in counts {
                self.open_cards
                    .get_or_create(&StatusLabels {
                        status: status.to_string(),
                    })
                    .set(n as i64);
            }
        }
        let calendar = service.work_calendar();
        match calendar.and_then(|c| {
            service
                .appeals()
                .overdue_count(&c, server_kit::clock::now_ms())
        }) {
            Ok(n) => {
                self.appeals_overdue.set(n as i64);
            }
            Err(e) => tracing::warn!(error = %e, "the overdue appeals cannot be counted"),
        }
        let mut out = String::new();
        let registry = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        if encode(&mut out, &registry).is_err() {
            out.clear();
        }
        out
    }
}
