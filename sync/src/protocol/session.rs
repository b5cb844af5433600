//! One replication connection as a sans-IO state machine.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use automerge::ChangeHash;

use super::config::Config;
use super::error::{ProtocolError, RepoError};
use super::event::Event;
use super::repo::Repo;
use super::types::{
    normalize_heads, Authority, Priority, VERSION_DEFLATED_DOCS, VERSION_NATIONAL_DOCS,
};
use super::wire::{
    decode_frame_limited, encode_docs_deflated, encode_frame, entry_encoded_bytes, Ack, AckResult,
    DocBatch, DocEntry, Frame, Hello, Message, RejectReason,
};
use crate::doc_id::NATIONAL;
use crate::field::id::{field_doc_prefix, FieldDocId};

/// Bytes of a Docs frame besides its entries: type, sequence, batch number and count varints.
const DOCS_FRAME_OVERHEAD_BYTES: usize = 32;
/// Format version of the per-peer record stored through [`Repo::set_peer_record`].
const PEER_RECORD_FORMAT: u8 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    AwaitHello,
    Open { version: u16 },
    Closed,
}

/// A batch sent and not yet acknowledged.
#[derive(Debug)]
struct InFlight {
    batch: u64,
    sent_at_ms: i64,
    /// Each document with the heads it was sent at.
    docs: Vec<(String, Vec<ChangeHash>)>,
}

/// Counters for metrics and the benchmarks. Bytes are frame bytes (without the shell's framing).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionStats {
    pub frames_sent: u64,
    pub bytes_sent: u64,
    pub frames_received: u64,
    pub bytes_received: u64,
    /// Document entries sent / received (one entry per document per batch).
    pub docs_sent: u64,
    pub docs_received: u64,
}

/// One connection between a node and the central hub. See the [module docs](super).
#[derive(Debug)]
pub struct Session {
    config: Config,
    local: Authority,
    peer: Authority,
    /// The node's region: the only documents this session offers or accepts.
    scope: String,
    /// On a node ↔ unit connection, the unit: only its field documents travel.
    unit: Option<String>,
    /// Key of the peer's knowledge in the repo.
    peer_key: String,
    state: State,
    peer_frame_bytes_max: usize,
    send_seq: u64,
    recv_seq: u64,
    next_batch: u64,
    next_peer_batch: u64,
    /// Documents waiting to be sent, best priority first, then by id.
    queue: BTreeSet<(Priority, String)>,
    queued: BTreeMap<String, Priority>,
    in_flight: VecDeque<InFlight>,
    in_flight_docs: BTreeSet<String>,
    /// Documents the peer rejected on this connection: not offered again until it reconnects.
    refused: BTreeSet<String>,
    /// For documents whose known peer heads name changes this side lacks: heads both sides
    /// are known to hold (this side sent them and the peer acknowledged, or the peer sent them
    /// and this side imported them), the base of the next export. Learnt on this connection;
    /// an entry goes once the known heads are all this side's again.
    shared: BTreeMap<String, Vec<ChangeHash>>,
    /// Documents the peer holds changes of that this side lacks, with nothing to send itself:
    /// the peer's push is awaited (it counts as pending for stall detection).
    awaiting: BTreeSet<String>,
    /// Since when something has been pending (queued, in flight or awaited), if anything is.
    pending_since_ms: Option<i64>,
    /// Last Docs or Ack from the peer (or the opening of the session).
    last_progress_ms: i64,
    /// First frame received after the link was last silent: the peer has been heard since.
    heard_since_ms: i64,
    stall_reported: bool,
    push_complete_reported: bool,
    transmits: VecDeque<Vec<u8>>,
    events: VecDeque<Event>,
    started_ms: i64,
    now_ms: i64,
    last_send_ms: i64,
    last_recv_ms: i64,
    stats: SessionStats,
}

impl Session {
    /// Starts a connection. `peer` is what the peer's certificate says it is; exactly one side
    /// is the central hub. The Hello is queued at once: drain [`Session::poll_transmit`].
    pub fn new(
        config: Config,
        local: Authority,
        peer: Authority,
        repo: &mut impl Repo,
        now_ms: i64,
    ) -> Result<Session, ProtocolError> {
        config.validate().map_err(ProtocolError::InvalidConfig)?;
        let (scope, unit) = match (&local, &peer) {
            (Authority::Central, Authority::Region(r))
            | (Authority::Region(r), Authority::Central) => (r.clone(), None),
            (Authority::Region(r), Authority::Unit { region, unit })
            | (Authority::Unit { region, unit }, Authority::Region(r))
                if r == region =>
            {
                (r.clone(), Some(unit.clone()))
            }
            _ => {
                return Err(ProtocolError::InvalidPairing(format!(
                    "a connection links a regional node with the central hub or with one of its own units, not {local} and {peer}"
                )))
            }
        };
        let mut s = Session {
            peer_key: peer.to_string(),
            scope,
            unit,
            peer_frame_bytes_max: config.frame_bytes_max,
            config,
            local,
            peer,
            state: State::AwaitHello,
            send_seq: 0,
            recv_seq: 0,
            next_batch: 0,
            next_peer_batch: 0,
            queue: BTreeSet::new(),
            queued: BTreeMap::new(),
            in_flight: VecDeque::new(),
            in_flight_docs: BTreeSet::new(),
            refused: BTreeSet::new(),
            shared: BTreeMap::new(),
            awaiting: BTreeSet::new(),
            pending_since_ms: None,
            last_progress_ms: now_ms,
            heard_since_ms: now_ms,
            stall_reported: false,
            push_complete_reported: false,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            started_ms: now_ms,
            now_ms,
            last_send_ms: now_ms,
            last_recv_ms: now_ms,
            stats: SessionStats::default(),
        };
        let hello = Hello {
            version_min: s.config.version_min,
            version_max: s.config.version_max,
            authority: s.local.clone(),
            frame_bytes_max: s.config.frame_bytes_max as u64,
            repo_id: repo.repo_id(),
            software_version: s.config.software_version.clone(),
        };
        s.send(Message::Hello(hello));
        Ok(s)
    }

    /// Negotiated protocol version, once the Hellos are exchanged.
    pub fn version(&self) -> Option<u16> {
        match self.state {
            State::Open { version } => Some(version),
            _ => None,
        }
    }
    pub fn is_open(&self) -> bool {
        matches!(self.state, State::Open { .. })
    }
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }
    pub fn peer(&self) -> &Authority {
        &self.peer
    }
    pub fn stats(&self) -> SessionStats {
        self.stats
    }
    /// Nothing queued, nothing awaiting acknowledgement: the peer holds everything this side
    /// had to send (as far as this side knows).
    pub fn is_idle(&self) -> bool {
        self.is_open() && self.queue.is_empty() && self.in_flight.is_empty()
    }

    /// Since when changes have been pending without a Docs or Ack from the peer, if any are:
    /// the stall detection's clock (`now − this ≥ stall_detect_ms` is a stall).
    pub fn stalled_since(&self) -> Option<i64> {
        let since = self.pending_since_ms?;
        Some(since.max(self.last_progress_ms))
    }

    /// Whether a stall is reported and not over ([`Event::Stalled`] without [`Event::Unstalled`]).
    pub fn is_stalled(&self) -> bool {
        self.stall_reported
    }

    /// Handles one frame from the peer. An error means the connection must close: drain
    /// [`Session::poll_transmit`] (it may hold a Close frame telling the peer why), log the
    /// error, close. Persisted knowledge stays valid for the next connection.
    pub fn handle_frame(
        &mut self,
        repo: &mut impl Repo,
        bytes: &[u8],
        now_ms: i64,
    ) -> Result<(), ProtocolError> {
        if self.state == State::Closed {
            return Err(ProtocolError::Closed);
        }
        self.tick(now_ms);
        let result = self.on_frame(repo, bytes).and_then(|()| self.check_stall());
        self.fail_on_error(result)
    }

    /// The host changed a document locally (after the change is durable).
    pub fn handle_local_change(
        &mut self,
        repo: &mut impl Repo,
        doc_id: &str,
        now_ms: i64,
    ) -> Result<(), ProtocolError> {
        if self.state == State::Closed {
            return Ok(());
        }
        self.tick(now_ms);
        if !self.offers_doc(repo, doc_id) {
            return Ok(());
        }
        let priority = repo.priority(doc_id);
        self.enqueue(doc_id, priority);
        let result = self.fill(repo).and_then(|()| self.check_stall());
        self.fail_on_error(result)
    }

    /// Drives timers: handshake, acknowledgement and idle timeouts, keepalive pings.
    pub fn handle_timeout(&mut self, now_ms: i64) -> Result<(), ProtocolError> {
        if self.state == State::Closed {
            return Ok(());
        }
        self.tick(now_ms);
        let result = self.on_timeout().and_then(|()| self.check_stall());
        self.fail_on_error(result)
    }

    /// Closes the connection from this side (shutdown); the peer is told why.
    pub fn close(&mut self, reason: &str) {
        if self.state != State::Closed {
            self.send(Message::Close {
                code: 0,
                reason: reason.to_string(),
            });
            self.state = State::Closed;
        }
    }

    /// Next frame to send, in order. The shell length-prefixes it on the stream.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmits.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Session::handle_timeout`] must next be called, in the host's milliseconds.
    pub fn poll_timeout(&self) -> Option<i64> {
        match self.state {
            State::Closed => None,
            State::AwaitHello => Some(self.started_ms + self.config.handshake_timeout_ms),
            State::Open { .. } => {
                let c = &self.config;
                let mut t = (self.last_send_ms + c.keepalive_interval_ms)
                    .min(self.last_recv_ms + c.idle_timeout_ms)
                    .min(self.next_probe_ms());
                if let Some(f) = self.in_flight.front() {
                    t = t.min(f.sent_at_ms + c.ack_timeout_ms);
                }
                if let Some(since) = self.stalled_since() {
                    if !self.stall_reported {
                        t = t.min(since + c.stall_detect_ms);
                    }
                    // Leaving needs the peer heard; a silent link is re-checked when a frame
                    // arrives (no deadline, so no busy loop while it stays silent).
                    if !self.is_silent() {
                        t = t.min(since.max(self.heard_since_ms) + c.stall_detect_ms);
                    }
                }
                Some(t)
            }
        }
    }

    // -----------------------------------------------------------------------------------------

    /// Host clocks may step backwards (NTP, drift correction); the session's time never does.
    fn tick(&mut self, now_ms: i64) {
        self.now_ms = self.now_ms.max(now_ms);
    }

    /// Something queued, in flight, or awaited from the peer.
    fn is_pending(&self) -> bool {
        !self.queue.is_empty() || !self.in_flight.is_empty() || !self.awaiting.is_empty()
    }

    /// Nothing received for longer than the peer's keep-alive interval (and a probe interval).
    fn is_silent(&self) -> bool {
        self.now_ms - self.last_recv_ms >= self.config.silent_after_ms()
    }

    /// When the next probe Ping is due: soon while this side awaits the peer, or once the link
    /// has gone silent; otherwise never (the keep-alive covers an idle link).
    fn next_probe_ms(&self) -> i64 {
        let c = &self.config;
        let awaits_peer = !self.in_flight.is_empty() || !self.awaiting.is_empty();
        let heard_by = if awaits_peer {
            self.last_recv_ms + c.probe_interval_ms
        } else {
            self.last_recv_ms + c.silent_after_ms()
        };
        heard_by.max(self.last_send_ms + c.probe_interval_ms)
    }

    /// Keeps the stall clock and reports a stall's start and end; leaves a stalled link whose
    /// peer is heard. See [`Config::stall_detect_ms`].
    fn check_stall(&mut self) -> Result<(), ProtocolError> {
        if !matches!(self.state, State::Open { .. }) {
            return Ok(());
        }
        match (self.is_pending(), self.pending_since_ms) {
            (true, None) => self.pending_since_ms = Some(self.now_ms),
            (false, Some(_)) => self.pending_since_ms = None,
            _ => {}
        }
        let detect_ms = self.config.stall_detect_ms;
        let stalled_ms = self.stalled_since().map(|since| self.now_ms - since);
        match stalled_ms {
            Some(ms) if ms >= detect_ms => {
                if !self.stall_reported {
                    self.stall_reported = true;
                    self.events.push_back(Event::Stalled { stalled_ms: ms });
                }
                let since = self.stalled_since().unwrap_or(self.now_ms);
                let heard_ms = self.now_ms - since.max(self.heard_since_ms);
                if !self.is_silent() && heard_ms >= detect_ms {
                    return Err(ProtocolError::Stalled { stalled_ms: ms });
                }
            }
            _ => {
                if self.stall_reported {
                    self.stall_reported = false;
                    self.events.push_back(Event::Unstalled);
                }
            }
        }
        Ok(())
    }

    fn fail_on_error(&mut self, result: Result<(), ProtocolError>) -> Result<(), ProtocolError> {
        if let Err(e) = &result {
            if self.state != State::Closed {
                if !matches!(e, ProtocolError::PeerClosed { .. }) {
                    self.send(Message::Close {
                        code: e.close_code(),
                        reason: e.to_string(),
                    });
                }
                self.state = State::Closed;
            }
        }
        result
    }

    fn send(&mut self, message: Message) {
        let bytes = match (&message, self.state) {
            (Message::Docs(batch), State::Open { version }) if version >= VERSION_DEFLATED_DOCS => {
                encode_docs_deflated(self.send_seq, batch)
            }
            _ => encode_frame(&Frame {
                seq: self.send_seq,
                message,
            }),
        };
        self.send_seq += 1;
        self.stats.frames_sent += 1;
        self.stats.bytes_sent += bytes.len() as u64;
        self.last_send_ms = self.now_ms;
        self.transmits.push_back(bytes);
    }

    fn frame_limit(&self) -> usize {
        self.config.frame_bytes_max.min(self.peer_frame_bytes_max)
    }

    fn on_timeout(&mut self) -> Result<(), ProtocolError> {
        let now = self.now_ms;
        match self.state {
            State::Closed => Ok(()),
            State::AwaitHello => {
                let waited_ms = now - self.started_ms;
                if waited_ms >= self.config.handshake_timeout_ms {
                    return Err(ProtocolError::Timeout {
                        what: "no hello from the peer",
                        waited_ms,
                    });
                }
                Ok(())
            }
            State::Open { .. } => {
                if let Some(f) = self.in_flight.front() {
                    let waited_ms = now - f.sent_at_ms;
                    if waited_ms >= self.config.ack_timeout_ms {
                        return Err(ProtocolError::Timeout {
                            what: "documents not acknowledged",
                            waited_ms,
                        });
                    }
                }
                let silent_ms = now - self.last_recv_ms;
                if silent_ms >= self.config.idle_timeout_ms {
                    return Err(ProtocolError::Timeout {
                        what: "peer silent",
                        waited_ms: silent_ms,
                    });
                }
                if now - self.last_send_ms >= self.config.keepalive_interval_ms
                    || now >= self.next_probe_ms()
                {
                    self.send(Message::Ping);
                }
                Ok(())
            }
        }
    }

    fn on_frame(&mut self, repo: &mut impl Repo, bytes: &[u8]) -> Result<(), ProtocolError> {
        let frame = decode_frame_limited(bytes, self.config.frame_bytes_max)?;
        if frame.seq != self.recv_seq {
            return Err(ProtocolError::OutOfOrder {
                expected: self.recv_seq,
                got: frame.seq,
            });
        }
        self.recv_seq += 1;
        if self.is_silent() {
            self.heard_since_ms = self.now_ms;
        }
        self.last_recv_ms = self.now_ms;
        self.stats.frames_received += 1;
        self.stats.bytes_received += bytes.len() as u64;
        let name = frame.message.name();
        match (self.state, frame.message) {
            (_, Message::Close { code, reason }) => Err(ProtocolError::PeerClosed { code, reason }),
            (State::AwaitHello, Message::Hello(h)) => self.on_hello(repo, h),
            (State::AwaitHello, _) => Err(ProtocolError::Unexpected {
                frame: name,
                why: "the first frame must be a hello".into(),
            }),
            (State::Open { .. }, Message::Hello(_)) => Err(ProtocolError::Unexpected {
                frame: name,
                why: "second hello on one connection".into(),
            }),
            (State::Open { version }, Message::Docs(b)) => self.on_docs(repo, b, version),
            (State::Open { .. }, Message::Ack(a)) => self.on_ack(repo, a),
            (State::Open { .. }, Message::Ping) => Ok(()),
            (State::Closed, _) => Err(ProtocolError::Closed),
        }
    }

    fn on_hello(&mut self, repo: &mut impl Repo, h: Hello) -> Result<(), ProtocolError> {
        let version = self.config.version_max.min(h.version_max);
        if version < self.config.version_min.max(h.version_min) {
            return Err(ProtocolError::IncompatibleVersion {
                ours_min: self.config.version_min,
                ours_max: self.config.version_max,
                theirs_min: h.version_min,
                theirs_max: h.version_max,
            });
        }
        if h.authority != self.peer {
            return Err(ProtocolError::PeerIdentityMismatch {
                claimed: h.authority.to_string(),
                authenticated: self.peer.to_string(),
            });
        }
        self.peer_frame_bytes_max = usize::try_from(h.frame_bytes_max).unwrap_or(usize::MAX);
        if self.frame_limit() < self.config.frame_bytes_min() {
            return Err(ProtocolError::Unexpected {
                frame: "hello",
                why: format!(
                    "peer accepts frames of at most {} bytes; at least {} are needed",
                    h.frame_bytes_max,
                    self.config.frame_bytes_min()
                ),
            });
        }
        // Knowledge about the peer is only valid for the store it was learnt from.
        let mut record = vec![PEER_RECORD_FORMAT];
        record.extend_from_slice(&h.repo_id);
        if repo.peer_record(&self.peer_key).as_deref() != Some(record.as_slice()) {
            repo.clear_peer_heads(&self.peer_key);
            repo.set_peer_record(&self.peer_key, &record);
        }
        self.state = State::Open { version };
        self.last_progress_ms = self.now_ms;
        self.events.push_back(Event::Opened {
            version,
            peer: self.peer.clone(),
            peer_software_version: h.software_version,
        });
        // Reconnect cost: only documents whose heads differ from what the peer is known to hold
        // are queued; the comparison is local, nothing goes on the wire for the others.
        let mut docs = match &self.unit {
            Some(unit) => repo
                .docs_with_prefix(&field_doc_prefix(&self.scope, unit))
                .into_iter()
                .filter(|d| self.offers_doc(repo, &d.doc_id))
                .collect(),
            None => repo.docs_in_region(&self.scope.clone()),
        };
        if self.offers(Some(NATIONAL)) {
            docs.extend(repo.docs_in_region(NATIONAL));
        }
        for d in docs {
            let known = repo
                .peer_heads(&self.peer_key, &d.doc_id)
                .unwrap_or_default();
            if known != d.heads {
                self.enqueue(&d.doc_id, d.priority);
            }
        }
        self.fill(repo)
    }

    fn on_docs(
        &mut self,
        repo: &mut impl Repo,
        batch: DocBatch,
        version: u16,
    ) -> Result<(), ProtocolError> {
        if batch.batch != self.next_peer_batch {
            return Err(ProtocolError::Unexpected {
                frame: "docs",
                why: format!(
                    "batch {} where {} was expected",
                    batch.batch, self.next_peer_batch
                ),
            });
        }
        self.next_peer_batch += 1;
        self.last_progress_ms = self.now_ms;
        let mut results = Vec::with_capacity(batch.entries.len());
        for entry in batch.entries {
            self.stats.docs_received += 1;
            // The awaited push (if it was); whether more is missing is looked at again below.
            self.awaiting.remove(&entry.doc_id);
            let region = repo.region_of(&entry.doc_id);
            let reject = self
                .refuses(region.as_deref())
                .or_else(|| self.refuses_unit_doc(&entry.doc_id));
            if let Some(reason) = reject {
                self.events.push_back(Event::RejectedIncoming {
                    doc_id: entry.doc_id,
                    reason,
                    region,
                });
                results.push(AckResult::Rejected(reason));
                continue;
            }
            let before = repo.heads(&entry.doc_id);
            let priority = if version >= 2 { entry.priority } else { None };
            let heads = match repo.import(&entry.doc_id, &entry.bytes, priority) {
                Ok(h) => normalize_heads(h),
                Err(RepoError::Refused(_)) => {
                    self.events.push_back(Event::RejectedIncoming {
                        doc_id: entry.doc_id,
                        reason: RejectReason::Refused,
                        region,
                    });
                    results.push(AckResult::Rejected(RejectReason::Refused));
                    continue;
                }
                Err(RepoError::Corrupt(message)) => {
                    return Err(ProtocolError::CorruptDocument {
                        doc_id: entry.doc_id,
                        message,
                    })
                }
                Err(RepoError::Storage(m)) => return Err(ProtocolError::Repo(m)),
            };
            let sent_heads = normalize_heads(entry.heads);
            // The peer holds at least what it sent.
            repo.set_peer_heads(&self.peer_key, &entry.doc_id, &sent_heads);
            self.learn_shared(repo, &entry.doc_id, &sent_heads, &sent_heads);
            if heads == sent_heads {
                results.push(AckResult::Same);
            } else {
                results.push(AckResult::Heads(heads.clone()));
                // This side may hold changes the peer lacks.
                let p = repo.priority(&entry.doc_id);
                self.enqueue(&entry.doc_id, p);
            }
            if before.as_ref() != Some(&heads) {
                self.events.push_back(Event::DocChanged {
                    doc_id: entry.doc_id,
                    heads,
                    priority,
                });
            }
        }
        self.send(Message::Ack(Ack {
            batch: batch.batch,
            results,
        }));
        self.fill(repo)
    }

    fn on_ack(&mut self, repo: &mut impl Repo, ack: Ack) -> Result<(), ProtocolError> {
        let Some(front) = self.in_flight.front() else {
            return Err(ProtocolError::Unexpected {
                frame: "ack",
                why: format!("batch {} acknowledged but nothing is in flight", ack.batch),
            });
        };
        if front.batch != ack.batch || front.docs.len() != ack.results.len() {
            return Err(ProtocolError::Unexpected {
                frame: "ack",
                why: format!(
                    "ack of batch {} with {} results; batch {} with {} documents was expected",
                    ack.batch,
                    ack.results.len(),
                    front.batch,
                    front.docs.len()
                ),
            });
        }
        let Some(done) = self.in_flight.pop_front() else {
            return Ok(());
        };
        self.last_progress_ms = self.now_ms;
        for ((doc_id, sent_heads), result) in done.docs.into_iter().zip(ack.results) {
            self.in_flight_docs.remove(&doc_id);
            let known = match result {
                AckResult::Same => sent_heads.clone(),
                AckResult::Heads(h) => normalize_heads(h),
                AckResult::Rejected(reason) => {
                    self.refused.insert(doc_id.clone());
                    self.events
                        .push_back(Event::RejectedByPeer { doc_id, reason });
                    continue;
                }
            };
            repo.set_peer_heads(&self.peer_key, &doc_id, &known);
            // The peer imported what this side sent: both hold the sent heads.
            self.learn_shared(repo, &doc_id, &known, &sent_heads);
            // Changed while in flight, or the peer reported other heads: look again.
            if repo.heads(&doc_id).as_ref() != Some(&known) {
                let p = repo.priority(&doc_id);
                self.enqueue(&doc_id, p);
            } else {
                self.awaiting.remove(&doc_id);
            }
        }
        self.fill(repo)
    }

    /// After the peer's heads for a document became `known`: when they name changes this side
    /// lacks, remembers `both` (heads both sides hold) as the base of the next export.
    fn learn_shared(
        &mut self,
        repo: &mut impl Repo,
        doc_id: &str,
        known: &[ChangeHash],
        both: &[ChangeHash],
    ) {
        if known.is_empty() || repo.has_changes(doc_id, known) {
            self.shared.remove(doc_id);
        } else if repo.has_changes(doc_id, both) {
            self.shared.insert(doc_id.to_string(), both.to_vec());
        }
    }

    /// Heads both sides hold for a document, from which an export starts: the peer's known
    /// heads this side also has, and what this connection learnt they share. Empty when no
    /// common head is known (the whole document goes then).
    fn export_base(
        &self,
        repo: &mut impl Repo,
        doc_id: &str,
        known: &[ChangeHash],
    ) -> Vec<ChangeHash> {
        if repo.has_changes(doc_id, known) {
            return known.to_vec();
        }
        let mut base: Vec<ChangeHash> = known
            .iter()
            .filter(|h| repo.has_changes(doc_id, std::slice::from_ref(*h)))
            .copied()
            .collect();
        if let Some(shared) = self.shared.get(doc_id) {
            base.extend_from_slice(shared);
        }
        normalize_heads(base)
    }

    fn enqueue(&mut self, doc_id: &str, priority: Priority) {
        // A document in flight is looked at again when its batch is acknowledged.
        if self.in_flight_docs.contains(doc_id) {
            return;
        }
        if let Some(old) = self.queued.insert(doc_id.to_string(), priority) {
            self.queue.remove(&(old, doc_id.to_string()));
        }
        self.queue.insert((priority, doc_id.to_string()));
    }

    /// Sends batches while the window has room.
    fn fill(&mut self, repo: &mut impl Repo) -> Result<(), ProtocolError> {
        let State::Open { version } = self.state else {
            return Ok(());
        };
        let frame_limit = self.frame_limit();
        let batch_limit = self
            .config
            .batch_bytes_max
            .min(frame_limit - DOCS_FRAME_OVERHEAD_BYTES);
        while self.in_flight.len() < self.config.messages_in_flight_max && !self.queue.is_empty() {
            let mut entries: Vec<DocEntry> = Vec::new();
            let mut batch_bytes = 0usize;
            while let Some((priority, doc_id)) = self.queue.pop_first() {
                self.queued.remove(&doc_id);
                let Some(entry) = self.make_entry(repo, &doc_id, priority, version)? else {
                    continue;
                };
                let entry_bytes = entry_encoded_bytes(&entry);
                if entry_bytes > frame_limit - DOCS_FRAME_OVERHEAD_BYTES {
                    self.events.push_back(Event::DocTooLarge {
                        doc_id,
                        bytes: entry_bytes,
                    });
                    continue;
                }
                if !entries.is_empty() && batch_bytes + entry_bytes > batch_limit {
                    self.queued.insert(doc_id.clone(), priority);
                    self.queue.insert((priority, doc_id));
                    break;
                }
                batch_bytes += entry_bytes;
                entries.push(entry);
            }
            if entries.is_empty() {
                break;
            }
            let batch = self.next_batch;
            self.next_batch += 1;
            let docs: Vec<(String, Vec<ChangeHash>)> = entries
                .iter()
                .map(|e| (e.doc_id.clone(), e.heads.clone()))
                .collect();
            for (d, _) in &docs {
                self.in_flight_docs.insert(d.clone());
            }
            self.stats.docs_sent += entries.len() as u64;
            self.in_flight.push_back(InFlight {
                batch,
                sent_at_ms: self.now_ms,
                docs,
            });
            self.push_complete_reported = false;
            self.send(Message::Docs(DocBatch { batch, entries }));
        }
        if self.is_idle() && !self.push_complete_reported {
            self.push_complete_reported = true;
            self.events.push_back(Event::PushComplete);
        }
        Ok(())
    }

    /// Whether this side offers documents of `region` on this connection: the node's region's
    /// both ways, and national documents from the hub once the version carries them. Before
    /// the Hellos are exchanged national documents are not offered; the Hello's scan queues them.
    fn offers(&self, region: Option<&str>) -> bool {
        match region {
            Some(r) if r == self.scope => true,
            Some(r) if r == NATIONAL => {
                self.local == Authority::Central
                    && self.version().is_some_and(|v| v >= VERSION_NATIONAL_DOCS)
            }
            _ => false,
        }
    }

    /// Whether this side offers the document on this connection: [`Session::offers`] by its
    /// region and, between a node and a unit, only the unit's field documents — from the node
    /// all of them, the pack included; from the unit all but the pack.
    fn offers_doc(&self, repo: &impl Repo, doc_id: &str) -> bool {
        if !self.offers(repo.region_of(doc_id).as_deref()) {
            return false;
        }
        match &self.unit {
            None => true,
            Some(unit) => match FieldDocId::parse(doc_id) {
                Some(f) if f.unit == *unit && f.region == self.scope => {
                    self.local_is_node() || f.part.written_by_unit()
                }
                _ => false,
            },
        }
    }

    /// On a node ↔ unit connection: whether this side is the node.
    fn local_is_node(&self) -> bool {
        matches!(self.local, Authority::Region(_))
    }

    /// Why a document from the peer is refused on a node ↔ unit connection: a unit writes only
    /// its own field documents and never its pack; a terminal takes only its unit's documents.
    fn refuses_unit_doc(&self, doc_id: &str) -> Option<RejectReason> {
        let unit = self.unit.as_ref()?;
        match FieldDocId::parse(doc_id) {
            Some(f) if f.unit == *unit && f.region == self.scope => (self.local_is_node()
                && !f.part.written_by_unit())
            .then_some(RejectReason::NotYourDocument),
            _ => Some(RejectReason::NotYourDocument),
        }
    }

    /// Why a document of `region` from the peer is refused, if it is: the hub accepts only the
    /// node's region; a node accepts its region and national documents (from the hub, the only
    /// peer it has).
    fn refuses(&self, region: Option<&str>) -> Option<RejectReason> {
        match region {
            None => Some(RejectReason::UnknownRegion),
            Some(r) if r == self.scope => None,
            Some(r) if r == NATIONAL && self.peer == Authority::Central => None,
            Some(_) => Some(RejectReason::NotYourRegion),
        }
    }

    /// What to send for one document, or `None` when the peer needs nothing from this side.
    fn make_entry(
        &mut self,
        repo: &mut impl Repo,
        doc_id: &str,
        priority: Priority,
        version: u16,
    ) -> Result<Option<DocEntry>, ProtocolError> {
        self.awaiting.remove(doc_id);
        if self.refused.contains(doc_id) || !self.offers_doc(repo, doc_id) {
            return Ok(None);
        }
        let Some(heads) = repo.heads(doc_id) else {
            return Ok(None);
        };
        let known = repo.peer_heads(&self.peer_key, doc_id).unwrap_or_default();
        if heads == known {
            return Ok(None);
        }
        // Everything this side holds beyond the heads both sides hold. When the peer also holds
        // changes this side lacks (concurrent edits: an Ack reports the merged heads), waiting
        // for its push would deadlock if it waits too, so this side sends its part now; the
        // peer sends the rest. Nothing is known for a new document: `save()` bytes go.
        let base = if known.is_empty() {
            Vec::new()
        } else {
            self.export_base(repo, doc_id, &known)
        };
        let bytes = repo
            .export(doc_id, &base)
            .map_err(|e| ProtocolError::Repo(e.to_string()))?;
        // The peer holds all of it already: nothing to send, and not looked at again until
        // something changes (a local edit, the peer's push or its acknowledgement). If the
        // peer holds more, its push is awaited.
        if bytes.is_empty() {
            if heads != known {
                self.awaiting.insert(doc_id.to_string());
            }
            return Ok(None);
        }
        Ok(Some(DocEntry {
            doc_id: doc_id.to_string(),
            heads,
            bytes,
            priority: (version >= 2).then_some(priority),
        }))
    }
}
