//! [`Event`]: what a session reports to its host.

use automerge::ChangeHash;

use super::types::{Authority, Priority};
use super::wire::RejectReason;

/// What a session reports to its host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Hellos exchanged; documents flow.
    Opened {
        version: u16,
        peer: Authority,
        /// The software version the peer's Hello named (absent from builds before it).
        peer_software_version: Option<String>,
    },
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
