//! Replication protocol between regional nodes and the central hub: a sans-IO state machine.
//!
//! # What it does
//!
//! A regional node holds one automerge document per "102" card, per unit and per roster day. Over
//! one connection to the central hub it must deliver every document of its region, receive HQ's
//! edits to them, and do so cheaply: a reconnect after a partition costs in proportion to what
//! changed, not to how many documents exist. The transport (QUIC, one bidirectional stream, the
//! shell length-prefixes frames) is not here: [`Session`] takes frames and time in
//! (`handle_*(…, now_ms)`) and gives frames, events and its next deadline out (`poll_*()`), in
//! the style of quinn-proto and str0m.
//!
//! # State: what each side knows the other holds
//!
//! For every peer and every document the [`Repo`] stores the heads the peer is *known* to hold,
//! a lower bound of its state learnt only from the peer itself: heads it sent us (it holds what it
//! sent) and heads it acknowledged (it imported, durably, before acknowledging). Knowledge is
//! keyed by the peer's store identity (`repo_id` in the Hello): a store that was replaced or
//! restored from a backup has a new identity, and everything known about it is forgotten.
//!
//! # Messages (see [`wire`] for the bytes)
//!
//! 1. **Hello**, both sides at once: supported version range, authority (central or a region,
//!    checked against the certificate the shell authenticated), largest accepted frame, store
//!    identity. One round trip opens the session.
//! 2. **Docs**, pushed by each side: for every document of the node's region whose heads differ
//!    from what the peer is known to hold, `save()` bytes if the peer is not known to hold it,
//!    else `save_after(known heads)`, with the sender's heads. Documents go best priority first
//!    ([`Priority::Active`] open cards and dispatch, then normal edits, then archive), packed into
//!    batches of at most `batch_bytes_max`, with at most `messages_in_flight_max` batches awaiting
//!    acknowledgement.
//! 3. **Ack**, one per Docs batch, in order: per document "same heads as you sent" (one byte),
//!    the receiver's own heads (it had concurrent changes), or a rejection reason.
//! 4. **Ping** when idle (keepalive), **Close** with a code and a reason before closing on error.
//!
//! There is no per-document request/response: each side pushes what the other lacks, and the
//! acknowledgements update knowledge.
//!
//! # What a side sends for a document, and why it stops
//!
//! Let `K` be the heads the peer is known to hold and `H` this side's heads. If `H = K` nothing
//! goes. Otherwise the side sends `save_after(B)`, everything it holds beyond a *base* `B` of
//! heads both sides hold: the heads of `K` this side also has, plus, when `K` names changes this
//! side lacks, the heads this connection learnt both hold (this side sent them and the peer
//! acknowledged, or the peer sent them and this side imported them). An empty export is not sent.
//!
//! - *Nothing is missed.* The peer holds the whole history of `B` (it holds `K`'s, and the
//!   learnt heads it acknowledged or sent), so every change this side has and the peer lacks is
//!   in `save_after(B)`.
//! - *No one waits for the other.* When both sides edit a document concurrently, an Ack reports
//!   the receiver's merged heads, which name changes the sender lacks. Each side still sends
//!   what it holds beyond `B`; neither waits for the other to push first. (Waiting was a
//!   deadlock: both sides waited, and only a reconnect's Hello broke it.)
//! - *It stops.* A side sends only a non-empty export, and once the peer acknowledges it, the
//!   heads it was sent at join `B`: the next export holds only changes written or received
//!   since. A change received from the peer goes back at most once, with the next local
//!   change or Ack, and is then in `B`. With finitely many changes the exchange ends, with
//!   `H = K` on both sides; a converged document is not sent again.
//! - *A resend costs little.* It is what this side holds beyond the newest heads known to be
//!   shared: its own changes since, and at most once what it received from the peer meanwhile.
//!   Only when no common head is known — a document whose known heads are all changes this
//!   side lacks, at the start of a connection (what was learnt lives in the session) — does
//!   the whole document go, once per document and connection.
//!
//! # Why reconnect is cheap
//!
//! On Hello each side compares, locally, its heads with the persisted knowledge of the peer and
//! queues only the documents that differ. 100,000 documents in sync cost two Hellos on the wire
//! (and a local scan of the catalogue); 100 changed documents cost 100 deltas and their
//! acknowledgements. A new card crosses the wire once, as its compact `save()` bytes plus its
//! id, heads and a few bytes of framing, and is not echoed back: the receiver records that the
//! sender holds it.
//!
//! # Faults
//!
//! The transport is a reliable ordered stream, so every frame carries a sequence number and any
//! gap, duplicate or reordering is a broken connection ([`ProtocolError::OutOfOrder`]), as is an
//! unacknowledged batch after `ack_timeout_ms` or a silent peer after `idle_timeout_ms`. A short
//! partition that the transport rides out only delays frames; while this side awaits the peer
//! it pings every `probe_interval_ms`, so the transport finds the path as soon as it is back.
//! A link with changes pending and no Docs or Ack for `stall_detect_ms` is *stalled*: reported
//! ([`Event::Stalled`]), and closed ([`ProtocolError::Stalled`]) when the peer's frames still
//! arrive, since then the link is up and something else keeps it from moving (a document this
//! side awaits that the peer can never send — too large for a frame — shows the same way, at
//! every redial, which is what it is: a document that does not replicate). The
//! shell closes and reconnects; since knowledge only records what the peer durably holds, a
//! connection may die anywhere and the next one resends at most the batches that were in flight
//! (importing twice is harmless: automerge ignores changes it has).
//!
//! # Write authority
//!
//! A session's scope is the node's region (from the node's certificate, on the central side).
//! Only documents whose region, as the receiver's own catalogue reports it
//! ([`Repo::region_of`]), is that region are offered or accepted. The central hub refuses
//! anything else from a node, reports [`Event::RejectedIncoming`] and acknowledges it as
//! rejected, so the node reports [`Event::RejectedByPeer`] and stops offering it on that
//! connection. HQ's edits at the hub to a region's documents flow back to that region's node.
//!
//! # Versions
//!
//! The Hello layout is frozen; each side announces `version_min..=version_max` and both pick the
//! highest common version, or refuse with [`ProtocolError::IncompatibleVersion`] naming both
//! ranges (both sides compute it, and a Close frame carries it too). Fields added later travel
//! as tagged extensions that older decoders skip, and a sender only uses what the negotiated
//! version allows. Version 1 is the base protocol; version 2 adds the sender's priority to each
//! document entry (so the hub can order its own fan-out); version 3 sends Docs batches deflated
//! as one stream (DOCZ frames), which cuts a cold sync's bytes several times. A v3 build talks to
//! a v2 build at version 2 and to a v1 build at version 1; a build without overlap is refused.
//!
//! # Limits
//!
//! Every queue and message is bounded by [`Config`] (`batch_bytes_max`, `messages_in_flight_max`,
//! `frame_bytes_max`, timeouts in ms) and by the decoder's constants in [`wire`]. A document too
//! large for one frame is reported ([`Event::DocTooLarge`]) and not sent.

pub mod error;
pub mod repo;
pub mod session;
pub mod sim;
pub mod wire;

use std::fmt;

use automerge::ChangeHash;

pub use error::{DecodeError, ProtocolError, RepoError};
pub use repo::{region_prefix, DocSummary, MemRepo, Repo};
pub use session::{Session, SessionStats};
pub use wire::{decode_frame, encode_frame, Frame, Message, RejectReason};

/// Oldest protocol version this build speaks.
pub const VERSION_MIN: u16 = 1;
/// Newest protocol version this build speaks.
pub const VERSION_MAX: u16 = 3;
/// First version whose Docs batches may travel deflated (DOCZ frames, see [`wire`]).
pub const VERSION_DEFLATED_DOCS: u16 = 3;

/// Who is at one end of a connection, as its certificate says.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Authority {
    /// The national hub (HQ): may write any region's documents.
    Central,
    /// A regional node: may write only its region's documents.
    Region(String),
}

impl fmt::Display for Authority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Authority::Central => write!(f, "central"),
            Authority::Region(r) => write!(f, "region:{r}"),
        }
    }
}

/// Replication priority, supplied by the host per document. Lower goes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// Open cards, dispatch: what a dispatcher is looking at now.
    Active = 0,
    /// Other edits.
    Normal = 1,
    /// Closed and archived documents.
    Archived = 2,
}

impl Priority {
    pub fn from_u8(v: u8) -> Option<Priority> {
        match v {
            0 => Some(Priority::Active),
            1 => Some(Priority::Normal),
            2 => Some(Priority::Archived),
            _ => None,
        }
    }
}

/// Limits and timers of a session. Units are in the names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Protocol versions this side speaks (a test can pretend to be an older or newer build).
    pub version_min: u16,
    pub version_max: u16,
    /// Most document bytes packed into one Docs frame (a single larger document goes alone).
    pub batch_bytes_max: usize,
    /// Most Docs frames awaiting acknowledgement.
    pub messages_in_flight_max: usize,
    /// Largest frame sent or accepted; the smaller of the two sides' values is used.
    pub frame_bytes_max: usize,
    /// The peer's Hello must arrive within this.
    pub handshake_timeout_ms: i64,
    /// The oldest unacknowledged batch must be acknowledged within this.
    pub ack_timeout_ms: i64,
    /// A Ping is sent after this long without sending anything.
    pub keepalive_interval_ms: i64,
    /// The connection is dead after this long without receiving anything.
    pub idle_timeout_ms: i64,
    /// While this side awaits the peer (a batch unacknowledged, a document the peer must push)
    /// or has heard nothing for longer than the peer's keep-alive interval, a Ping goes out
    /// after this long without receiving anything. After a short partition the transport then
    /// learns at once that the path is back, instead of waiting for its own retransmission,
    /// whose timer backs off exponentially (QUIC: ~7 s after a 5 s black-hole).
    pub probe_interval_ms: i64,
    /// Changes pending (queued, unacknowledged, or awaited from the peer) with no Docs or Ack
    /// from the peer for this long: the link is stalled. It is reported at once
    /// ([`Event::Stalled`]); when the peer's frames still arrive — it is reachable, yet nothing
    /// moves — the connection also closes ([`ProtocolError::Stalled`]) so the shell reconnects.
    /// A silent link is left to the idle timeouts: a fresh handshake could not get through
    /// sooner, and once frames arrive again the clock starts over.
    pub stall_detect_ms: i64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            version_min: VERSION_MIN,
            version_max: VERSION_MAX,
            batch_bytes_max: 256 * 1024,
            messages_in_flight_max: 8,
            frame_bytes_max: 4 * 1024 * 1024,
            handshake_timeout_ms: 10_000,
            ack_timeout_ms: 30_000,
            keepalive_interval_ms: 5_000,
            idle_timeout_ms: 20_000,
            probe_interval_ms: 1_000,
            stall_detect_ms: 8_000,
        }
    }
}

impl Config {
    /// A link from which nothing arrived for this long is silent: the peer sends something at
    /// least every keep-alive interval, plus a probe interval for the way.
    pub fn silent_after_ms(&self) -> i64 {
        self.keepalive_interval_ms
            .saturating_add(self.probe_interval_ms)
    }

    /// Smallest workable frame limit: a Hello and a batch of one small document fit.
    pub fn frame_bytes_min(&self) -> usize {
        1024
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.version_min == 0 || self.version_min > self.version_max {
            return Err(format!(
                "version range {}..={} is empty",
                self.version_min, self.version_max
            ));
        }
        if self.frame_bytes_max < self.frame_bytes_min()
            || self.frame_bytes_max > wire::FRAME_BYTES_HARD_MAX
        {
            return Err(format!(
                "frame_bytes_max must be {}..={} bytes",
                self.frame_bytes_min(),
                wire::FRAME_BYTES_HARD_MAX
            ));
        }
        if self.batch_bytes_max == 0 || self.messages_in_flight_max == 0 {
            return Err("batch_bytes_max and messages_in_flight_max must be positive".into());
        }
        if self.keepalive_interval_ms <= 0
            || self.idle_timeout_ms <= self.keepalive_interval_ms
            || self.ack_timeout_ms <= 0
            || self.handshake_timeout_ms <= 0
        {
            return Err(
                "timeouts must be positive and idle_timeout_ms above keepalive_interval_ms".into(),
            );
        }
        if self.probe_interval_ms <= 0 || self.probe_interval_ms > self.keepalive_interval_ms {
            return Err(
                "probe_interval_ms must be positive and at most keepalive_interval_ms".into(),
            );
        }
        if self.stall_detect_ms <= self.silent_after_ms() {
            return Err(format!(
                "stall_detect_ms must be above keepalive_interval_ms + probe_interval_ms ({} ms): a link must be heard within it",
                self.silent_after_ms()
            ));
        }
        Ok(())
    }
}

/// What a session reports to its host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Hellos exchanged; documents flow.
    Opened { version: u16, peer: Authority },
    /// The peer's changes were imported; the host updates its indexes and consoles.
    DocChanged {
        doc_id: String,
        heads: Vec<ChangeHash>,
        /// The sender's priority (protocol v2 and later).
        priority: Option<Priority>,
    },
    /// A document from the peer was refused and not applied (write authority, host validation).
    RejectedIncoming {
        doc_id: String,
        reason: RejectReason,
        /// The region this side's catalogue assigns the document, if any.
        region: Option<String>,
    },
    /// The peer refused a document this side sent.
    RejectedByPeer {
        doc_id: String,
        reason: RejectReason,
    },
    /// A document does not fit in one frame and was not sent.
    DocTooLarge { doc_id: String, bytes: usize },
    /// Everything this side had to send is acknowledged.
    PushComplete,
    /// Changes have been pending for `stalled_ms` (at least `stall_detect_ms`) with no Docs or
    /// Ack from the peer. Reported once per stall; the connection closes too if the peer's
    /// frames still arrive.
    Stalled { stalled_ms: i64 },
    /// The stall reported by [`Event::Stalled`] is over: the peer's documents or
    /// acknowledgements arrive again, or nothing is pending any more.
    Unstalled,
}

/// Heads in one canonical order, so equal sets compare equal.
pub fn normalize_heads(mut heads: Vec<ChangeHash>) -> Vec<ChangeHash> {
    heads.sort_unstable();
    heads.dedup();
    heads
}
