//! Errors of the replication protocol: one type for the connection boundary, one for the host's
//! document catalogue.

use thiserror::Error;

/// Why a frame could not be decoded. Every variant means the connection must be closed: nothing
/// from the frame was applied.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    #[error("empty frame")]
    Empty,
    #[error("frame is {bytes} bytes; the limit is {max} bytes")]
    TooLarge { bytes: usize, max: usize },
    #[error("frame ends early while reading {what}")]
    Truncated { what: &'static str },
    #[error("unknown frame type 0x{0:02x}")]
    UnknownType(u8),
    #[error("hello does not start with the protocol magic: not a 102 replication peer")]
    BadMagic,
    #[error("malformed {what}")]
    Malformed { what: &'static str },
    #[error("{what} is {value}; the limit is {max}")]
    OverLimit {
        what: &'static str,
        value: u64,
        max: u64,
    },
    #[error("{0} bytes after the end of the frame")]
    TrailingBytes(usize),
}

/// Why a connection ends. The shell logs it and closes the connection; persisted peer knowledge
/// stays valid, so the next connection resumes where this one stopped.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProtocolError {
    #[error("undecodable frame: {0}")]
    Decode(#[from] DecodeError),
    #[error("frame out of order: expected sequence {expected}, got {got} (loss or duplication on the transport)")]
    OutOfOrder { expected: u64, got: u64 },
    #[error("unexpected {frame} frame: {why}")]
    Unexpected { frame: &'static str, why: String },
    #[error(
        "incompatible protocol versions: we speak {ours_min}..={ours_max}, the peer speaks {theirs_min}..={theirs_max}; upgrade the older side"
    )]
    IncompatibleVersion {
        ours_min: u16,
        ours_max: u16,
        theirs_min: u16,
        theirs_max: u16,
    },
    #[error("peer claims to be {claimed} but its certificate says {authenticated}")]
    PeerIdentityMismatch {
        claimed: String,
        authenticated: String,
    },
    #[error("invalid pairing: {0}")]
    InvalidPairing(String),
    #[error("invalid session configuration: {0}")]
    InvalidConfig(String),
    #[error("timeout: {what} after {waited_ms} ms")]
    Timeout { what: &'static str, waited_ms: i64 },
    #[error("stalled: changes pending and no documents or acknowledgements from the peer for {stalled_ms} ms, though its frames arrive")]
    Stalled { stalled_ms: i64 },
    #[error("peer closed the connection ({code}): {reason}")]
    PeerClosed { code: u8, reason: String },
    #[error("document {doc_id} from the peer is unreadable: {message}")]
    CorruptDocument { doc_id: String, message: String },
    #[error("local document store failed: {0}")]
    Repo(String),
    #[error("session is closed")]
    Closed,
}

impl ProtocolError {
    /// Wire code sent in a Close frame so the peer logs the same reason.
    pub fn close_code(&self) -> u8 {
        match self {
            ProtocolError::Decode(_) => 1,
            ProtocolError::OutOfOrder { .. } => 2,
            ProtocolError::Unexpected { .. } => 3,
            ProtocolError::IncompatibleVersion { .. } => 4,
            ProtocolError::PeerIdentityMismatch { .. } => 5,
            ProtocolError::InvalidPairing(_) => 6,
            ProtocolError::Timeout { .. } => 7,
            ProtocolError::PeerClosed { .. } => 8,
            ProtocolError::CorruptDocument { .. } => 9,
            ProtocolError::Repo(_) => 10,
            ProtocolError::Closed => 11,
            ProtocolError::InvalidConfig(_) => 12,
            ProtocolError::Stalled { .. } => 13,
        }
    }
}

/// Failure of the host's document catalogue ([`super::Repo`]).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RepoError {
    /// The bytes are not a valid automerge document or change set: the peer is broken.
    #[error("corrupt document bytes: {0}")]
    Corrupt(String),
    /// The host refuses the content (schema, validation): reported, not applied, connection stays.
    #[error("refused by the host: {0}")]
    Refused(String),
    /// Storage failed; the connection closes and the host decides what to do.
    #[error("storage failure: {0}")]
    Storage(String),
}
