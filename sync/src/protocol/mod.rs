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
//! ([`Repo::region_of`]), is that region are offered or accepted, with one exception: national
//! documents (region [`NATIONAL`](crate::doc_id::NATIONAL): the working-day calendar,
//! classifiers) are written at the hub, which offers them to every node from version 4
//! ([`VERSION_NATIONAL_DOCS`]) on; a node accepts them from the hub and never offers them. The
//! central hub refuses anything else from a node, a national document included, reports
//! [`Event::RejectedIncoming`] and acknowledges it as rejected, so the node reports
//! [`Event::RejectedByPeer`] and stops offering it on that connection. A node refuses every
//! region's document but its own. HQ's edits at the hub to a region's documents flow back to
//! that region's node.
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
//! Version 4 adds national documents flowing from the hub to nodes (the frames are unchanged:
//! only what the hub may offer grows). Version 5 adds the national duplicate check (R38): the
//! node may open further QUIC streams on the connection, one per query, outside this session's
//! frames ([`dup_query`] has the messages and why they travel apart).
//!
//! # Limits
//!
//! Every queue and message is bounded by [`Config`] (`batch_bytes_max`, `messages_in_flight_max`,
//! `frame_bytes_max`, timeouts in ms) and by the decoder's constants in [`wire`]. A document too
//! large for one frame is reported ([`Event::DocTooLarge`]) and not sent.

mod config;
pub mod dup_query;
pub mod error;
mod event;
pub mod repo;
pub mod session;
pub mod sim;
mod types;
pub mod wire;

pub use config::Config;
pub use error::{DecodeError, ProtocolError, RepoError};
pub use event::Event;
pub use repo::{region_prefix, DocSummary, MemRepo, Repo};
pub use session::{Session, SessionStats};
pub use types::{
    normalize_heads, Authority, Priority, VERSION_DEFLATED_DOCS, VERSION_DUPLICATE_QUERY,
    VERSION_MAX, VERSION_MIN, VERSION_NATIONAL_DOCS,
};
pub use wire::{decode_frame, encode_frame, Frame, Message, RejectReason};
