//! Citizen calls (R03, R09, R10): the shell around the sans-IO [`queue::CallQueue`].
//!
//! It joins three things: the media server (`media` crate: WebRTC legs, relay, recording), the
//! card service (a call opens a "102" card: at once for SOS, on answer otherwise) and the store
//! (call records, the recordings index, the audit chain). Citizens signal over a WebSocket and
//! operators use the authenticated HTTP API (both in `crate::http`, which calls in here; this
//! module never names `http`), and see the queue live over the node's SSE stream.
//!
//! Before any of that, [`admission`] bounds what one network source may do (sockets, live calls,
//! calls per minute), so a script cannot exhaust the media ports or crowd out real callers.
//! Calls that end before an answer go to the persisted missed-calls list ([`missed`]).
//!
//! Keys it writes: `call/{id}` (the call and its recording, JSON), `idx/callat/{rang_at}/{id}`
//! (call history by time), `idx/rec/{ended_at}/{id}` (recordings waiting for the retention
//! sweep), `idx/cardcall/{card}/{id}` (calls of a card), and the missed-calls keys of
//! [`missed`].

pub mod admission;
pub mod ice;
pub mod missed;
pub mod queue;

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sync::{CardCreate, Location};
use tokio::sync::mpsc;
use utoipa::ToSchema;

use crate::audit::{AuditInput, AuditLog};
use crate::live::LiveEvent;
use crate::service::{CardService, ServiceError};
use crate::store::{GroupCommit, Store, StoreError, WriteBatch};
use admission::{Admission, Refusal, SourceLimits};
use missed::{MissedCall, MissedCallback};
pub use queue::{Call, CallError, CallOffer, CallPhase, CallQueue, CallerLocation, EndReason};

/// Actor recorded for what the node does on its own (SOS cards, the retention sweep).
pub const SYSTEM_ACTOR: &str = "system";
/// How often the memory of calls that ended is given back to the system
/// ([`media::release_freed_memory`]), if any call ended meanwhile.
pub const MEMORY_RELEASE_INTERVAL_S: u64 = 10;

/// Settings of calls and recordings (`[calls]` in the node config).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallsSection {
    /// Recordings directory; empty means `recordings` inside the data directory.
    #[serde(default)]
    pub recordings_dir: PathBuf,
    /// R09: recordings are deleted after this many days unless held for a КУИ case (1..=30).
    pub recording_retention_days: u32,
    /// How often the retention sweep runs, seconds.
    pub retention_sweep_interval_s: u64,
    /// Address media (UDP) binds to and announces.
    pub media_bind_ip: std::net::IpAddr,
    /// The address browsers are told instead of `media_bind_ip` when a firewall forwards it
    /// to the node one to one (1:1 NAT, port for port).
    #[serde(default)]
    pub media_announced_ip: Option<std::net::IpAddr>,
    /// STUN servers handed to browsers (`stun:host:3478`).
    #[serde(default)]
    pub stun_urls: Vec<String>,
    /// The TURN server (coturn with `use-auth-secret`) for callers behind NAT or on networks
    /// that block UDP.
    #[serde(default)]
    pub turn: Option<ice::TurnSection>,
    /// `relay`: browsers use only TURN (every call provably through the relay, callers'
    /// addresses never reach the node); `all` (default): direct when possible.
    #[serde(default)]
    pub ice_transport_policy: ice::IceTransportPolicy,
    /// UDP port range for media, inclusive.
    pub udp_port_min: u16,
    pub udp_port_max: u16,
    /// A leg that does not connect within this time is closed, ms.
    pub ice_connect_timeout_ms: u64,
    /// The citizen's app must send its call within this time after connecting, ms.
    pub call_setup_timeout_ms: u64,
    /// Signalling messages a citizen may send per second (burst twice that).
    pub citizen_messages_per_s: u32,
    /// Largest signalling message, bytes.
    pub citizen_message_bytes_max: usize,
    /// Citizen signalling connections at once, from all sources together.
    pub citizen_sockets_max: usize,
    /// Per network source (an IPv4 address or an IPv6 /64), checked before any media port is
    /// reserved: open signalling sockets, live calls, calls started per minute.
    pub source_sockets_max: u32,
    pub source_live_calls_max: u32,
    pub source_calls_per_min_max: u32,
    /// Mobile operators' carrier-grade NAT ranges (CIDR): many subscribers share one address,
    /// so they get the higher `carrier_nat_*` limits — never none.
    #[serde(default)]
    pub carrier_nat_ranges: Vec<String>,
    pub carrier_nat_sockets_max: u32,
    pub carrier_nat_live_calls_max: u32,
    pub carrier_nat_calls_per_min_max: u32,
}

impl CallsSection {
    /// R09 caps retention at 30 days.
    pub const RETENTION_DAYS_MAX: u32 = 30;

    pub fn validate(&self) -> Result<(), String> {
        if self.recording_retention_days == 0
            || self.recording_retention_days > Self::RETENTION_DAYS_MAX
        {
            return Err(format!(
                "calls.recording_retention_days must be 1..={} (R09), not {}",
                Self::RETENTION_DAYS_MAX,
                self.recording_retention_days
            ));
        }
        if self.udp_port_min == 0 || self.udp_port_min > self.udp_port_max {
            return Err(format!(
                "calls.udp_port_min..udp_port_max must be a non-empty range of ports, not {}..{}",
                self.udp_port_min, self.udp_port_max
            ));
        }
        if self.retention_sweep_interval_s == 0 {
            return Err("calls.retention_sweep_interval_s must be positive".into());
        }
        if self.citizen_message_bytes_max < 4096 {
            return Err("calls.citizen_message_bytes_max must be at least 4096 bytes".into());
        }
        if self.citizen_messages_per_s == 0 || self.citizen_sockets_max == 0 {
            return Err(
                "calls.citizen_messages_per_s and calls.citizen_sockets_max must be positive"
                    .into(),
            );
        }
        let (normal, nat) = (self.source_limits(), self.carrier_nat_limits());
        normal.validate("calls.source_*")?;
        nat.validate("calls.carrier_nat_*")?;
        if nat.sockets_max < normal.sockets_max
            || nat.live_calls_max < normal.live_calls_max
            || nat.calls_per_min_max < normal.calls_per_min_max
        {
            return Err(
                "calls.carrier_nat_* limits must be at least the calls.source_* limits".into(),
            );
        }
        self.carrier_nat_networks()?;
        Ok(())
    }

    pub fn source_limits(&self) -> SourceLimits {
        SourceLimits {
            sockets_max: self.source_sockets_max,
            live_calls_max: self.source_live_calls_max,
            calls_per_min_max: self.source_calls_per_min_max,
        }
    }

    pub fn carrier_nat_limits(&self) -> SourceLimits {
        SourceLimits {
            sockets_max: self.carrier_nat_sockets_max,
            live_calls_max: self.carrier_nat_live_calls_max,
            calls_per_min_max: self.carrier_nat_calls_per_min_max,
        }
    }

    /// The carrier-grade NAT ranges, parsed; an entry that is not CIDR is named.
    pub fn carrier_nat_networks(&self) -> Result<Vec<ipnet::IpNet>, String> {
        self.carrier_nat_ranges
            .iter()
            .map(|r| {
                r.trim().parse::<ipnet::IpNet>().map_err(|e| {
                    format!("calls.carrier_nat_ranges: {r:?} is not a CIDR range such as 100.64.0.0/10 ({e})")
                })
            })
            .collect()
    }

    pub fn retention_ms(&self) -> i64 {
        i64::from(self.recording_retention_days) * 86_400_000
    }
}

/// One recorded file of a call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RecordedFile {
    /// File name inside the call's recording directory, e.g. `citizen-audio.ogg`.
    pub name: String,
    /// `audio` or `video`.
    pub kind: String,
    pub codec: String,
    pub bytes: u64,
    pub duration_ms: u64,
}

/// The recording of a call (R09).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Recording {
    pub started_at: i64,
    pub ended_at: i64,
    pub files: Vec<RecordedFile>,
    /// Kept past the retention period because the card has a КУИ registration.
    #[serde(default)]
    pub held: bool,
    /// When the retention sweep deleted the files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expired_at: Option<i64>,
    /// Why recording stopped early (for example a full disk); the call itself went on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// What the store keeps of a call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CallRecord {
    pub call: Call,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recording: Option<Recording>,
    /// The network address the call came from (abuse investigations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// Why a call operation failed.
#[derive(Debug, thiserror::Error)]
pub enum CallServiceError {
    #[error(transparent)]
    Call(#[from] CallError),
    #[error(transparent)]
    Media(#[from] media::MediaError),
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error("storage failure: {0}")]
    Store(#[from] StoreError),
    #[error("recording of call {call} has no file {name}")]
    NoSuchFile { call: String, name: String },
    #[error("the recording of call {0} was deleted after the retention period (R09)")]
    Expired(String),
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error("missed call {0} does not exist")]
    NoSuchMissed(String),
    #[error("the callback of missed call {0} was already recorded")]
    CallbackRecorded(String),
    #[error("{field}: {reason}")]
    InvalidField { field: &'static str, reason: String },
}

/// What the citizen's app is told while the call goes on.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToCitizen {
    /// An operator answered.
    Answered,
    /// The operator transfers the call to a colleague: hold on.
    Transferring,
    /// The call is over.
    Ended { reason: EndReason },
}

/// Counters for /metrics.
#[derive(Debug, Default)]
pub struct CallCounters {
    pub rung: std::sync::atomic::AtomicU64,
    pub answered: std::sync::atomic::AtomicU64,
    pub abandoned: std::sync::atomic::AtomicU64,
    pub recording_problems: std::sync::atomic::AtomicU64,
    pub recordings_expired: std::sync::atomic::AtomicU64,
    pub refused: std::sync::atomic::AtomicU64,
    /// Refused by the per-source limits.
    pub refused_by_source: std::sync::atomic::AtomicU64,
    /// SOS calls that ended before an answer.
    pub missed_sos: std::sync::atomic::AtomicU64,
    /// TURN credentials handed to browsers.
    pub turn_credentials_issued: std::sync::atomic::AtomicU64,
    /// Legs that got no TURN server because `turn.relayed_legs_max` legs were relayed.
    pub turn_credentials_withheld: std::sync::atomic::AtomicU64,
}

/// The node's calls: queue, media, cards, records.
pub struct CallService {
    queue: Mutex<CallQueue>,
    ice: ice::IcePlan,
    media: Arc<media::MediaServer>,
    cards: Arc<CardService>,
    store: Arc<dyn Store>,
    gc: Arc<GroupCommit>,
    audit: Arc<AuditLog>,
    settings: CallsSection,
    recordings_dir: PathBuf,
    citizens: Mutex<HashMap<String, mpsc::UnboundedSender<ToCitizen>>>,
    /// Recording problems seen before the call ended, kept for its record.
    problems: Mutex<HashMap<String, String>>,
    pub citizen_sockets: std::sync::atomic::AtomicUsize,
    pub counters: CallCounters,
    /// A call ended since freed memory was last given back to the system.
    memory_to_release: std::sync::atomic::AtomicBool,
    admission: Mutex<Admission>,
    /// Source of each live call, to release its admission when it ends.
    sources: Mutex<HashMap<String, IpAddr>>,
    /// Serialises read-modify-write of missed-call entries (rare: unanswered calls).
    missed_lock: tokio::sync::Mutex<()>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn call_key(id: &str) -> String {
    format!("call/{id}")
}

impl CallService {
    /// Starts the media server and the background tasks (media events, retention sweep).
    pub async fn start(
        settings: CallsSection,
        data_dir: &std::path::Path,
        cards: Arc<CardService>,
        store: Arc<dyn Store>,
        gc: Arc<GroupCommit>,
        audit: Arc<AuditLog>,
    ) -> anyhow::Result<Arc<CallService>> {
        settings
            .validate()
            .map_err(|e| anyhow::anyhow!("config: {e}"))?;
        let recordings_dir = if settings.recordings_dir.as_os_str().is_empty() {
            data_dir.join("recordings")
        } else {
            settings.recordings_dir.clone()
        };
        std::fs::create_dir_all(&recordings_dir).map_err(|e| {
            anyhow::anyhow!(
                "cannot create the recordings directory {}: {e}",
                recordings_dir.display()
            )
        })?;
        let turn_secret = match &settings.turn {
            Some(t) => Some(std::fs::read(&t.secret_file).map_err(|e| {
                anyhow::anyhow!(
                    "cannot read calls.turn.secret_file {}: {e}",
                    t.secret_file.display()
                )
            })?),
            None => None,
        };
        let ice = ice::IcePlan::new(
            &settings.stun_urls,
            settings.turn.as_ref().zip(turn_secret.as_deref()),
            settings.ice_transport_policy,
        )
        .map_err(|e| anyhow::anyhow!("config: {e}"))?;
        let media = media::MediaServer::start(media::MediaConfig {
            bind_ip: settings.media_bind_ip,
            announced_ip: settings.media_announced_ip,
            udp_port_min: settings.udp_port_min,
            udp_port_max: settings.udp_port_max,
            recordings_dir: recordings_dir.clone(),
            ice_connect_timeout_ms: settings.ice_connect_timeout_ms,
            ..media::MediaConfig::default()
        })
        .await
        .map_err(|e| anyhow::anyhow!("media server cannot start: {e}"))?;
        let admission = Admission::new(
            settings.source_limits(),
            settings.carrier_nat_limits(),
            settings
                .carrier_nat_networks()
                .map_err(|e| anyhow::anyhow!("config: {e}"))?,
        );
        let svc = Arc::new(CallService {
            admission: Mutex::new(admission),
            sources: Mutex::new(HashMap::new()),
            missed_lock: tokio::sync::Mutex::new(()),
            queue: Mutex::new(CallQueue::new()),
            ice,
            media,
            cards,
            store,
            gc,
            audit,
            settings,
            recordings_dir,
            citizens: Mutex::new(HashMap::new()),
            problems: Mutex::new(HashMap::new()),
            citizen_sockets: Default::default(),
            counters: CallCounters::default(),
            memory_to_release: Default::default(),
        });
        svc.close_interrupted_calls(server_kit::clock::now_ms())
            .await
            .map_err(|e| anyhow::anyhow!("closing the calls a stop interrupted: {e}"))?;
        tokio::spawn(media_events(Arc::downgrade(&svc), svc.media.subscribe()));
        tokio::spawn(retention_loop(Arc::downgrade(&svc)));
        tokio::spawn(memory_release_loop(Arc::downgrade(&svc)));
        Ok(svc)
    }

    pub fn settings(&self) -> &CallsSection {
        &self.settings
    }

    pub fn media(&self) -> &Arc<media::MediaServer> {
        &self.media
    }

    /// STUN and TURN for one leg of `user` (`citizen`, or an operator's login): fresh TURN
    /// credentials, left out while `turn.relayed_legs_max` legs are relayed.
    pub fn ice_config(&self, user: &str, now_ms: i64) -> ice::IceConfig {
        let relayed = self.media.stats().relayed_legs;
        let config = self
            .ice
            .config_for(user, now_ms, u32::try_from(relayed).unwrap_or(u32::MAX));
        if self.ice.has_turn() {
            let counter = if config.expires_at.is_some() {
                &self.counters.turn_credentials_issued
            } else {
                &self.counters.turn_credentials_withheld
            };
            counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        config
    }

    pub fn recordings_dir(&self) -> &std::path::Path {
        &self.recordings_dir
    }

    /// Calls operators see: live ones first (SOS first), then recent abandoned and ended ones.
    pub fn list(&self) -> Vec<Call> {
        let mut q = lock(&self.queue);
        q.prune(server_kit::clock::now_ms());
        q.list().into_iter().cloned().collect()
    }

    pub fn get(&self, id: &str) -> Option<Call> {
        lock(&self.queue).get(id).cloned()
    }

    fn publish(&self, call: &Call) {
        self.cards.publish(LiveEvent::Call(Box::new(call.clone())));
    }

    fn tell_citizen(&self, id: &str, msg: ToCitizen) {
        if let Some(tx) = lock(&self.citizens).get(id) {
            let _ = tx.send(msg);
        }
    }

    /// The record of a live call, with the source it came from.
    fn live_record(&self, call: &Call, recording: Option<Recording>) -> CallRecord {
        CallRecord {
            call: call.clone(),
            recording,
            source: lock(&self.sources).get(&call.id).map(IpAddr::to_string),
        }
    }

    /// Writes the call's record (and extra keys) with an audit entry; returns once durable.
    async fn persist(
        &self,
        record: &CallRecord,
        mut batch: WriteBatch,
        actor: &str,
        action: &str,
        details: serde_json::Value,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        batch.put_json(call_key(&record.call.id), record)?;
        let ticket = self.audit.record(
            &self.gc,
            batch,
            AuditInput::new(actor, action, record.call.id.as_str(), details),
            now_ms,
        )?;
        self.gc.wait_async(ticket).await
    }

    pub fn record(&self, id: &str) -> Result<Option<CallRecord>, StoreError> {
        Ok(self
            .store
            .get(call_key(id).as_bytes())?
            .and_then(|b| serde_json::from_slice(&b).ok()))
    }

    /// A citizen's signalling socket opens from `source`: counted against the per-source limit.
    pub fn open_socket(&self, source: IpAddr, now_ms: i64) -> Result<(), Refusal> {
        lock(&self.admission)
            .open_socket(source, now_ms)
            .inspect_err(|_| {
                self.counters
                    .refused_by_source
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            })
    }

    pub fn close_socket(&self, source: IpAddr, now_ms: i64) {
        lock(&self.admission).close_socket(source, now_ms);
    }

    /// A citizen's call arrives from `source` with its SDP offer. Returns the SDP answer and any
    /// warning about the location. Nothing is stored and nothing rings if the offer is refused;
    /// the per-source limits are checked before any media port is reserved.
    pub async fn ring(
        self: &Arc<Self>,
        offer: CallOffer,
        sdp: &str,
        to_citizen: mpsc::UnboundedSender<ToCitizen>,
        source: IpAddr,
        now_ms: i64,
    ) -> Result<(Call, String, Option<queue::LocationProblem>), CallServiceError> {
        let id = uuid::Uuid::new_v4().to_string();
        // Validate the metadata and the offer first (cheap), so a bad call rings nowhere and
        // costs no media resources.
        CallQueue::new().ring(&id, offer.clone(), now_ms)?;
        media::check_offer_sdp(sdp).inspect_err(|_| {
            self.counters
                .refused
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        })?;
        lock(&self.admission)
            .start_call(source, now_ms)
            .inspect_err(|_| {
                self.counters
                    .refused_by_source
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            })?;
        let rang = match lock(&self.queue).ring(&id, offer, now_ms) {
            Ok(r) => r,
            Err(e) => {
                lock(&self.admission).end_call(source, now_ms);
                return Err(e.into());
            }
        };
        lock(&self.sources).insert(id.clone(), source);
        lock(&self.citizens).insert(id.clone(), to_citizen);
        self.counters
            .rung
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // Operators see the call at once; its media is set up while it rings.
        let mut call = rang.call;
        self.publish(&call);
        let record = self.live_record(&call, None);
        let details = serde_json::json!({
            "channel": call.channel.as_str(),
            "phone": call.caller.phone,
            "phone_raw": call.caller.phone_raw,
            "video": call.video,
            "source": source.to_string(),
            "location_problem": rang.location_problem.as_ref().map(|p| p.to_string()),
        });
        let mut batch = WriteBatch::new();
        batch.put(format!("idx/callat/{now_ms:020}/{id}"), Vec::new());
        let (answer, stored) = tokio::join!(
            self.media.citizen_offer(&id, sdp),
            self.persist(&record, batch, SYSTEM_ACTOR, "call.ring", details, now_ms,)
        );
        if let Err(e) = stored {
            tracing::error!(call = %id, error = %e, "cannot store a ringing call; it rings anyway");
        }
        // R10: the panic button opens a card at once, before anyone answers — also when its
        // media cannot be set up, so that the callback has its card.
        if call.channel == sync::Channel::SosVideo {
            match self.open_card(&call, SYSTEM_ACTOR, now_ms).await {
                Ok(updated) => call = updated,
                Err(e) => tracing::error!(call = %id, error = %e, "cannot open the SOS card"),
            }
        }
        let answer = match answer {
            Ok(a) => a,
            Err(e) => {
                // The caller did reach us: keep the call as missed with its callback data.
                tracing::warn!(call = %id, error = %e, "the call's media could not be set up");
                self.counters
                    .refused
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                self.end(&id, EndReason::ConnectionLost, SYSTEM_ACTOR, now_ms)
                    .await;
                return Err(e.into());
            }
        };
        Ok((call, answer, rang.location_problem))
    }

    /// Opens the call's card pre-filled with the caller and location, links it, publishes.
    async fn open_card(
        &self,
        call: &Call,
        by: &str,
        now_ms: i64,
    ) -> Result<Call, CallServiceError> {
        let input = CardCreate {
            channel: call.channel,
            caller: call.caller.clone(),
            location: call.location.as_ref().map(|l| Location {
                lat: Some(l.lat),
                lon: Some(l.lon),
                accuracy_m: l.accuracy_m,
                address: None,
                source: Some(sync::LocationSource::App),
            }),
            description: None,
            seen: Default::default(),
            category: None,
            priority: None,
            district: None,
        };
        let card = self.cards.create_card(by, &input, now_ms).await?;
        let updated = {
            let mut q = lock(&self.queue);
            q.set_card(&call.id, &card.id, &card.number);
            q.get(&call.id).cloned()
        };
        let updated = updated.unwrap_or_else(|| {
            let mut c = call.clone();
            c.card_id = Some(card.id.clone());
            c.card_number = Some(card.number.clone());
            c
        });
        let mut batch = WriteBatch::new();
        batch.put(format!("idx/cardcall/{}/{}", card.id, call.id), Vec::new());
        self.persist(
            &self.live_record(&updated, None),
            batch,
            by,
            "call.card",
            serde_json::json!({"card": card.number}),
            now_ms,
        )
        .await?;
        self.publish(&updated);
        Ok(updated)
    }

    /// An operator accepts a ringing call with their browser's SDP offer (R03). Returns the SDP
    /// answer and the call with its card.
    pub async fn accept(
        &self,
        id: &str,
        operator: &str,
        sdp: &str,
        now_ms: i64,
    ) -> Result<(Call, String), CallServiceError> {
        // Take the call first so a second operator is refused at once, then connect media.
        let before = {
            let mut q = lock(&self.queue);
            let before = q.check_accept(id, operator)?.clone();
            q.accept(id, operator, now_ms)?;
            before
        };
        let answer = match self.media.operator_offer(id, sdp).await {
            Ok(a) => a,
            Err(e) => {
                lock(&self.queue).restore(before);
                return Err(e.into());
            }
        };
        let first_answer = before.answered_at.is_none();
        if first_answer {
            self.counters
                .answered
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        let mut call = lock(&self.queue)
            .get(id)
            .cloned()
            .ok_or_else(|| CallError::NotFound(id.to_string()))?;
        self.tell_citizen(id, ToCitizen::Answered);
        self.publish(&call);
        if call.card_id.is_none() {
            match self.open_card(&call, operator, now_ms).await {
                Ok(c) => call = c,
                Err(e) => {
                    tracing::error!(call = %id, error = %e, "cannot open the call's card");
                }
            }
        } else if let Err(e) = self
            .persist(
                &self.live_record(&call, None),
                WriteBatch::new(),
                operator,
                "call.accept",
                serde_json::json!({"wait_ms": call.wait_ms(now_ms)}),
                now_ms,
            )
            .await
        {
            tracing::error!(call = %id, error = %e, "cannot store an accepted call");
        }
        Ok((call, answer))
    }

    /// The operator hands the call to a colleague; the citizen stays connected and recorded.
    pub async fn transfer(
        &self,
        id: &str,
        from: &str,
        to: &str,
        now_ms: i64,
    ) -> Result<Call, CallServiceError> {
        let call = lock(&self.queue).transfer(id, from, to)?.clone();
        if let Err(e) = self.media.operator_leave(id).await {
            tracing::warn!(call = %id, error = %e, "operator leg did not close cleanly");
        }
        self.tell_citizen(id, ToCitizen::Transferring);
        self.publish(&call);
        self.persist(
            &self.live_record(&call, None),
            WriteBatch::new(),
            from,
            "call.transfer",
            serde_json::json!({"to": to}),
            now_ms,
        )
        .await?;
        Ok(call)
    }

    /// The chosen operator declines a transfer: the call rings for everyone.
    pub fn decline(&self, id: &str, operator: &str) -> Result<Call, CallServiceError> {
        let call = lock(&self.queue).decline_transfer(id, operator)?.clone();
        self.publish(&call);
        Ok(call)
    }

    /// Checks that `operator` holds the call.
    pub fn check_owner(&self, id: &str, operator: &str) -> Result<(), CallServiceError> {
        lock(&self.queue).check_owner(id, operator)?;
        Ok(())
    }

    /// A position update from the caller's handset.
    pub fn update_location(
        &self,
        id: &str,
        loc: CallerLocation,
        now_ms: i64,
    ) -> Result<Option<queue::LocationProblem>, CallServiceError> {
        let r = lock(&self.queue).update_location(id, loc, now_ms)?.cloned();
        match r {
            Ok(call) => {
                self.publish(&call);
                Ok(None)
            }
            Err(p) => Ok(Some(p)),
        }
    }

    /// Ends a call for `reason`; the recording is finalised and indexed for the retention sweep.
    /// Ending an ended call does nothing.
    pub async fn end(&self, id: &str, reason: EndReason, actor: &str, now_ms: i64) {
        let Some(call) = lock(&self.queue).end(id, reason, now_ms).cloned() else {
            return;
        };
        if call.phase == CallPhase::Abandoned {
            self.counters
                .abandoned
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        if let Some(tx) = lock(&self.citizens).remove(id) {
            let _ = tx.send(ToCitizen::Ended { reason });
        }
        self.publish(&call);
        let summary = self.media.hang_up(id).await;
        let problem = lock(&self.problems).remove(id);
        let recording = summary.map(|s| Recording {
            problem: problem.or_else(|| s.recording_error.clone()),
            started_at: s.started_at_ms,
            ended_at: s.ended_at_ms,
            files: s
                .files
                .iter()
                .map(|f| RecordedFile {
                    name: f.name.clone(),
                    kind: match f.kind {
                        media::MediaKind::Audio => "audio".into(),
                        media::MediaKind::Video => "video".into(),
                    },
                    codec: f.codec.clone(),
                    bytes: f.bytes,
                    duration_ms: f.duration_ms,
                })
                .collect(),
            held: false,
            expired_at: None,
        });
        let mut batch = WriteBatch::new();
        if recording.is_some() {
            batch.put(format!("idx/rec/{now_ms:020}/{id}"), Vec::new());
        }
        let abandoned = call.phase == CallPhase::Abandoned;
        let action = if abandoned {
            "call.abandon"
        } else {
            "call.end"
        };
        let details = serde_json::json!({
            "reason": reason,
            "wait_ms": call.wait_ms(now_ms),
            "phone": call.caller.phone,
            "card": call.card_number,
        });
        // An unanswered call joins the missed list in the same batch as its record.
        let missed_guard = if abandoned {
            let guard = self.missed_lock.lock().await;
            if let Err(e) = self.note_missed(&call, &mut batch, now_ms).await {
                tracing::error!(call = %id, error = %e, "cannot add a missed call to the list");
            }
            Some(guard)
        } else {
            None
        };
        let record = self.live_record(&call, recording);
        if let Err(e) = self
            .persist(&record, batch, actor, action, details, now_ms)
            .await
        {
            tracing::error!(call = %id, error = %e, "cannot store an ended call");
        }
        drop(missed_guard);
        if let Some(source) = lock(&self.sources).remove(id) {
            lock(&self.admission).end_call(source, now_ms);
        }
        self.memory_to_release
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Adds an unanswered call to the missed list (collapsing it into its caller's open entry)
    /// and stages the entry's keys in `batch`. A missed SOS puts its card on callback, or links
    /// it to the card already waiting for this caller's callback. The caller of this function
    /// holds `missed_lock` until `batch` is durable.
    async fn note_missed(
        &self,
        call: &Call,
        batch: &mut WriteBatch,
        now_ms: i64,
    ) -> Result<(), CallServiceError> {
        let key = missed::collapse_key(&call.caller);
        let existing = match &key {
            Some(k) => self
                .store
                .get(format!("{}{k}", missed::MISSED_BY_CALLER_PREFIX).as_bytes())?
                .map(|id| String::from_utf8_lossy(&id).to_string())
                .map(|id| self.missed_entry(&id))
                .transpose()?
                .flatten()
                .filter(MissedCall::is_open),
            None => None,
        };
        let mut entry =
            existing.unwrap_or_else(|| MissedCall::new(uuid::Uuid::new_v4().to_string(), call));
        let waiting_card = entry.card_id.clone().zip(entry.card_number.clone());
        entry.add(call);
        if call.channel == sync::Channel::SosVideo {
            self.counters
                .missed_sos
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if let (Some(card_id), Some(number)) = (&call.card_id, &call.card_number) {
                match waiting_card {
                    Some((waiting_id, waiting_number)) if waiting_id != *card_id => {
                        self.cards
                            .apply(
                                SYSTEM_ACTOR,
                                card_id,
                                sync::CardCommand::LinkDuplicate {
                                    duplicate_of: waiting_number,
                                },
                                now_ms,
                            )
                            .await?;
                    }
                    _ => {
                        // Idempotent across a stop: the card may already wait for its callback
                        // when the node stopped after marking it and before the call's record
                        // was written (the restart then closes the call again).
                        let already_due = self.cards.get_card(card_id).is_ok_and(|c| {
                            c.callback
                                .as_ref()
                                .is_some_and(sync::model::Callback::is_due)
                        });
                        if !already_due {
                            self.cards
                                .apply(
                                    SYSTEM_ACTOR,
                                    card_id,
                                    sync::CardCommand::CallbackDue,
                                    now_ms,
                                )
                                .await?;
                        }
                        entry.card_id = Some(card_id.clone());
                        entry.card_number = Some(number.clone());
                    }
                }
            }
        }
        batch.put_json(format!("{}{}", missed::MISSED_KEY_PREFIX, entry.id), &entry)?;
        batch.put(
            format!("{}{}", missed::MISSED_OPEN_PREFIX, entry.id),
            Vec::new(),
        );
        if let Some(k) = key {
            batch.put(
                format!("{}{k}", missed::MISSED_BY_CALLER_PREFIX),
                entry.id.as_bytes().to_vec(),
            );
        }
        Ok(())
    }

    fn missed_entry(&self, id: &str) -> Result<Option<MissedCall>, StoreError> {
        Ok(self
            .store
            .get(format!("{}{id}", missed::MISSED_KEY_PREFIX).as_bytes())?
            .and_then(|b| serde_json::from_slice(&b).ok()))
    }

    /// Open missed calls, SOS first, then the most recent first.
    pub fn missed(&self) -> Result<Vec<MissedCall>, StoreError> {
        let mut out = Vec::new();
        for key in self
            .store
            .scan_keys(missed::MISSED_OPEN_PREFIX.as_bytes(), usize::MAX)?
        {
            let id = String::from_utf8_lossy(&key[missed::MISSED_OPEN_PREFIX.len()..]).to_string();
            if let Some(e) = self.missed_entry(&id)?.filter(MissedCall::is_open) {
                out.push(e);
            }
        }
        out.sort_by_key(|m| std::cmp::Reverse((m.sos, m.last_at)));
        out.truncate(missed::MISSED_LIST_MAX);
        Ok(out)
    }

    /// Open missed calls at once (metrics).
    pub fn missed_open(&self) -> usize {
        self.store
            .scan_keys(missed::MISSED_OPEN_PREFIX.as_bytes(), usize::MAX)
            .map(|k| k.len())
            .unwrap_or(0)
    }

    /// An operator called a missed caller back (by telephone) and records what it found. A
    /// missed SOS's card is then cancelled (no answer, false alarm) or stays open for the
    /// operator to work (reached).
    pub async fn record_callback(
        &self,
        id: &str,
        outcome: sync::CallbackOutcome,
        note: Option<&str>,
        by: &str,
        now_ms: i64,
    ) -> Result<MissedCall, CallServiceError> {
        let note = match note {
            Some(n) if n.chars().count() > missed::CALLBACK_NOTE_CHARS_MAX => {
                return Err(CallServiceError::InvalidField {
                    field: "note",
                    reason: format!(
                        "a note is at most {} characters",
                        missed::CALLBACK_NOTE_CHARS_MAX
                    ),
                })
            }
            Some(n) => sync::clean_text(n, missed::CALLBACK_NOTE_CHARS_MAX),
            None => None,
        };
        let _guard = self.missed_lock.lock().await;
        let mut entry = self
            .missed_entry(id)?
            .ok_or_else(|| CallServiceError::NoSuchMissed(id.to_string()))?;
        if !entry.is_open() {
            return Err(CallServiceError::CallbackRecorded(id.to_string()));
        }
        if let Some(card_id) = &entry.card_id {
            let card = self.cards.get_card(card_id)?;
            if card.status.is_open() && card.callback.as_ref().is_some_and(|c| c.is_due()) {
                self.cards
                    .apply(
                        by,
                        card_id,
                        sync::CardCommand::CallbackDone {
                            outcome,
                            note: note.clone(),
                        },
                        now_ms,
                    )
                    .await?;
                if outcome != sync::CallbackOutcome::Reached {
                    let reason = match &note {
                        Some(n) => format!("{}: {n}", outcome.as_str()),
                        None => outcome.as_str().to_string(),
                    };
                    self.cards
                        .finish(by, card_id, sync::Finish::Cancel { reason }, now_ms)
                        .await?;
                }
            }
        }
        entry.callback = Some(MissedCallback {
            outcome,
            note,
            by: by.to_string(),
            at: now_ms,
        });
        let mut batch = WriteBatch::new();
        batch.put_json(format!("{}{}", missed::MISSED_KEY_PREFIX, entry.id), &entry)?;
        batch.delete(format!("{}{}", missed::MISSED_OPEN_PREFIX, entry.id));
        if let Some(k) = missed::collapse_key(&sync::Caller {
            phone: entry.phone.clone(),
            phone_raw: entry.phone_raw.clone(),
            user_id: entry.user_id.clone(),
            ..Default::default()
        }) {
            let key = format!("{}{k}", missed::MISSED_BY_CALLER_PREFIX);
            if self.store.get(key.as_bytes())?.as_deref() == Some(entry.id.as_bytes()) {
                batch.delete(key);
            }
        }
        let ticket = self.audit.record(
            &self.gc,
            batch,
            AuditInput::new(
                by,
                "call.callback",
                entry.id.as_str(),
                serde_json::json!({
                    "outcome": outcome.as_str(),
                    "phone": entry.phone,
                    "count": entry.count,
                    "card": entry.card_number,
                }),
            ),
            now_ms,
        )?;
        self.gc.wait_async(ticket).await?;
        Ok(entry)
    }

    /// Calls that rang in `[from_ms, to_ms)`, newest first, at most `limit`.
    pub fn calls_between(
        &self,
        from_ms: i64,
        to_ms: i64,
        limit: usize,
    ) -> Result<Vec<Call>, StoreError> {
        let before = format!("idx/callat/{:020}", to_ms.max(0));
        let after = format!("idx/callat/{:020}", from_ms.max(0));
        let keys = self
            .store
            .scan_keys_rev(b"idx/callat/", Some(before.as_bytes()), limit)?;
        let mut out = Vec::new();
        for key in keys {
            if key.as_slice() < after.as_bytes() {
                break;
            }
            let k = String::from_utf8_lossy(&key);
            if let Some(r) = k.rsplit('/').next().map(|id| self.record(id)).transpose()? {
                out.extend(r.map(|r| r.call));
            }
        }
        Ok(out)
    }

    /// Stored calls, newest first, that rang before `before_ms` (call history).
    pub fn history(&self, before_ms: i64, limit: usize) -> Result<Vec<CallRecord>, StoreError> {
        let before = format!("idx/callat/{:020}", before_ms.max(0));
        let keys = self
            .store
            .scan_keys_rev(b"idx/callat/", Some(before.as_bytes()), limit)?;
        let mut out = Vec::new();
        for key in keys {
            let k = String::from_utf8_lossy(&key);
            if let Some(r) = k.rsplit('/').next().map(|id| self.record(id)).transpose()? {
                out.extend(r);
            }
        }
        Ok(out)
    }

    /// Ends every live call (node stopping).
    pub async fn end_all(&self, now_ms: i64) {
        let ids = lock(&self.queue).live_ids();
        for id in ids {
            self.end(&id, EndReason::NodeStopped, SYSTEM_ACTOR, now_ms)
                .await;
        }
    }

    /// Calls still "live" in the store after a crash are closed as interrupted; unanswered ones
    /// join the missed list.
    async fn close_interrupted_calls(&self, now_ms: i64) -> Result<(), CallServiceError> {
        for (_, v) in self.store.scan_prefix(b"call/")? {
            let Ok(mut rec) = serde_json::from_slice::<CallRecord>(&v) else {
                continue;
            };
            if !rec.call.is_live() {
                continue;
            }
            rec.call.phase = if rec.call.answered_at.is_some() {
                CallPhase::Ended
            } else {
                CallPhase::Abandoned
            };
            rec.call.ended_at = Some(now_ms);
            rec.call.end_reason = Some(EndReason::NodeStopped);
            let mut batch = WriteBatch::new();
            // Whatever was recorded before the stop is still on disk: keep it for retention.
            let dir = self.recordings_dir.join(&rec.call.id);
            if dir.is_dir() {
                let files = std::fs::read_dir(&dir)
                    .map(|rd| {
                        rd.filter_map(|e| e.ok())
                            .filter_map(|e| {
                                let name = e.file_name().to_string_lossy().to_string();
                                let kind = if name.ends_with(".ogg") {
                                    "audio"
                                } else if name.ends_with(".ivf") {
                                    "video"
                                } else {
                                    return None;
                                };
                                let path = e.path();
                                Some(RecordedFile {
                                    kind: kind.into(),
                                    codec: if kind == "audio" { "opus" } else { "vp8" }.into(),
                                    bytes: e.metadata().map(|m| m.len()).unwrap_or(0),
                                    duration_ms: media::recording_duration_ms(&path).unwrap_or(0),
                                    name,
                                })
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                rec.recording = Some(Recording {
                    started_at: rec.call.rang_at,
                    ended_at: now_ms,
                    files,
                    held: false,
                    expired_at: None,
                    problem: Some("the node stopped during the call".into()),
                });
                batch.put(format!("idx/rec/{now_ms:020}/{}", rec.call.id), Vec::new());
            }
            batch.put_json(call_key(&rec.call.id), &rec)?;
            let _guard = self.missed_lock.lock().await;
            if rec.call.phase == CallPhase::Abandoned {
                self.note_missed(&rec.call, &mut batch, now_ms).await?;
            }
            self.gc.commit_async(batch).await?;
        }
        Ok(())
    }

    /// Records of calls with recordings, newest first; optionally only those of one card.
    pub fn recordings(
        &self,
        card_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<CallRecord>, StoreError> {
        let ids: Vec<String> = match card_id {
            Some(card) => self
                .store
                .scan_keys(format!("idx/cardcall/{card}/").as_bytes(), limit)?
                .into_iter()
                .filter_map(|k| {
                    String::from_utf8(k)
                        .ok()
                        .and_then(|k| k.rsplit('/').next().map(str::to_string))
                })
                .collect(),
            None => {
                let mut all = Vec::new();
                for (k, v) in self.store.scan_prefix(b"call/")? {
                    if let Ok(rec) = serde_json::from_slice::<CallRecord>(&v) {
                        if rec.recording.is_some() {
                            all.push((rec.call.rang_at, String::from_utf8_lossy(&k[5..]).into()));
                        }
                    }
                }
                all.sort_by_key(|(at, _)| std::cmp::Reverse(*at));
                all.into_iter().take(limit).map(|(_, id)| id).collect()
            }
        };
        let mut out = Vec::new();
        for id in ids {
            if let Some(r) = self.record(&id)? {
                if r.recording.is_some() {
                    out.push(r);
                }
            }
        }
        out.sort_by_key(|r| std::cmp::Reverse(r.call.rang_at));
        Ok(out)
    }

    /// Opens a recorded file for playback or export (R09); the access is audited before any
    /// byte is served.
    pub async fn open_recording(
        &self,
        id: &str,
        name: &str,
        actor: &str,
        export: bool,
        now_ms: i64,
    ) -> Result<(RecordedFile, tokio::fs::File), CallServiceError> {
        queue::validate_call_id(id)?;
        let rec = self
            .record(id)?
            .ok_or_else(|| CallError::NotFound(id.to_string()))?;
        let recording = rec
            .recording
            .as_ref()
            .ok_or_else(|| CallServiceError::NoSuchFile {
                call: id.to_string(),
                name: name.to_string(),
            })?;
        if recording.expired_at.is_some() {
            return Err(CallServiceError::Expired(id.to_string()));
        }
        // Only names the recording lists: no path ever comes from the request.
        let file = recording
            .files
            .iter()
            .find(|f| f.name == name)
            .cloned()
            .ok_or_else(|| CallServiceError::NoSuchFile {
                call: id.to_string(),
                name: name.to_string(),
            })?;
        let path = self.recordings_dir.join(id).join(&file.name);
        let handle = tokio::fs::File::open(&path)
            .await
            .map_err(|e| StoreError::Io(format!("{}: {e}", path.display())))?;
        let action = if export {
            "recording.export"
        } else {
            "recording.play"
        };
        // "Who listened to this person's call": indexed by the caller and the card.
        let mut batch = WriteBatch::new();
        let subjects =
            crate::privacy::caller_subjects(&rec.call.caller, rec.call.card_id.as_deref());
        crate::privacy::stage_read_index(
            &mut batch,
            &subjects,
            &crate::privacy::PersonalDataRead {
                at: now_ms,
                actor: actor.to_string(),
                action: action.to_string(),
                target: id.to_string(),
            },
        )?;
        let ticket = self.audit.record(
            &self.gc,
            batch,
            AuditInput::new(
                actor,
                action,
                id,
                serde_json::json!({"file": file.name, "card": rec.call.card_number}),
            ),
            now_ms,
        )?;
        self.gc.wait_async(ticket).await?;
        Ok((file, handle))
    }

    /// R09: deletes recordings older than the retention period unless their card has a КУИ
    /// registration (legal hold). Returns (expired, held).
    pub async fn sweep_retention(&self, now_ms: i64) -> Result<(usize, usize), CallServiceError> {
        let cutoff = now_ms - self.settings.retention_ms();
        let mut expired = 0;
        let mut held = 0;
        for key in self.store.scan_keys(b"idx/rec/", usize::MAX)? {
            let Ok(k) = String::from_utf8(key.clone()) else {
                continue;
            };
            let mut parts = k["idx/rec/".len()..].splitn(2, '/');
            let (Some(ended), Some(id)) = (parts.next(), parts.next()) else {
                continue;
            };
            let Ok(ended) = ended.parse::<i64>() else {
                continue;
            };
            if ended > cutoff {
                break; // keys are ordered by end time
            }
            let Some(mut rec) = self.record(id)? else {
                let mut b = WriteBatch::new();
                b.delete(key);
                self.gc.commit_async(b).await?;
                continue;
            };
            let hold = match &rec.call.card_id {
                Some(card) => match self.cards.get_card(card) {
                    Ok(c) => c.kui.as_ref().is_some_and(|k| k.number.is_some()),
                    Err(ServiceError::NotFound(_)) => false,
                    Err(e) => return Err(e.into()),
                },
                None => false,
            };
            let Some(r) = rec.recording.as_mut() else {
                continue;
            };
            if hold {
                if !r.held {
                    r.held = true;
                    self.persist(
                        &rec,
                        WriteBatch::new(),
                        SYSTEM_ACTOR,
                        "recording.hold",
                        serde_json::json!({"card": rec.call.card_number}),
                        now_ms,
                    )
                    .await?;
                }
                held += 1;
                continue;
            }
            let dir = self.recordings_dir.join(id);
            match tokio::fs::remove_dir_all(&dir).await {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    tracing::error!(dir = %dir.display(), error = %e, "cannot delete an expired recording");
                    continue;
                }
            }
            r.expired_at = Some(now_ms);
            r.held = false;
            let mut batch = WriteBatch::new();
            batch.delete(key);
            self.persist(
                &rec,
                batch,
                SYSTEM_ACTOR,
                "recording.expire",
                serde_json::json!({"card": rec.call.card_number, "ended_at": ended}),
                now_ms,
            )
            .await?;
            self.counters
                .recordings_expired
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            expired += 1;
        }
        Ok((expired, held))
    }

    fn note_recording_problem(&self, id: &str, reason: String) {
        self.counters
            .recording_problems
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::error!(call = %id, %reason, "recording stopped; the call goes on");
        lock(&self.problems).insert(id.to_string(), reason.clone());
        let call = {
            let mut q = lock(&self.queue);
            q.set_recording_problem(id, &reason);
            q.get(id).cloned()
        };
        if let Some(c) = call {
            self.publish(&c);
        }
    }

    pub fn live_calls(&self) -> usize {
        lock(&self.queue).live_ids().len()
    }

    pub fn ice_timeout(&self) -> Duration {
        Duration::from_millis(self.settings.ice_connect_timeout_ms)
    }
}

async fn media_events(
    svc: std::sync::Weak<CallService>,
    mut rx: tokio::sync::broadcast::Receiver<media::MediaEvent>,
) {
    loop {
        let ev = match rx.recv().await {
            Ok(ev) => ev,
            Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                tracing::warn!(missed = n, "media events lagged");
                continue;
            }
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        };
        let Some(svc) = svc.upgrade() else { return };
        match ev {
            media::MediaEvent::Failed {
                call_id,
                leg: media::Leg::Citizen,
                reason,
            } => {
                tracing::warn!(call = %call_id, %reason, "citizen media failed");
                svc.end(
                    &call_id,
                    EndReason::ConnectionLost,
                    SYSTEM_ACTOR,
                    server_kit::clock::now_ms(),
                )
                .await;
            }
            media::MediaEvent::Failed {
                call_id,
                leg: media::Leg::Operator,
                reason,
            } => {
                tracing::warn!(call = %call_id, %reason, "operator media failed");
            }
            media::MediaEvent::RecordingStopped { call_id, reason } => {
                svc.note_recording_problem(&call_id, reason);
            }
            media::MediaEvent::Connected { .. } => {}
        }
    }
}

/// Every [`MEMORY_RELEASE_INTERVAL_S`], gives the memory of the calls that ended meanwhile back
/// to the system: after a busy hour the node shrinks again instead of keeping its peak.
async fn memory_release_loop(svc: std::sync::Weak<CallService>) {
    let mut tick = tokio::time::interval(Duration::from_secs(MEMORY_RELEASE_INTERVAL_S));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(s) = svc.upgrade() else { return };
        if s.memory_to_release
            .swap(false, std::sync::atomic::Ordering::Relaxed)
        {
            let _ = tokio::task::spawn_blocking(media::release_freed_memory).await;
        }
    }
}

async fn retention_loop(svc: std::sync::Weak<CallService>) {
    let interval = match svc.upgrade() {
        Some(s) => Duration::from_secs(s.settings.retention_sweep_interval_s),
        None => return,
    };
    loop {
        {
            let Some(s) = svc.upgrade() else { return };
            match s.sweep_retention(server_kit::clock::now_ms()).await {
                Ok((0, _)) => {}
                Ok((expired, held)) => {
                    tracing::info!(expired, held, "recordings retention sweep")
                }
                Err(e) => tracing::error!(error = %e, "recordings retention sweep failed"),
            }
        }
        tokio::time::sleep(interval).await;
    }
}
