//! The one error type at the media boundary. Messages say what was wrong and what to do, and
//! never carry peer-controlled text longer than a line.

use std::path::PathBuf;

/// What went wrong in a media operation.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// The call id is empty, too long or has characters outside `[A-Za-z0-9_-]`.
    #[error(
        "call id must be 1..={max} characters of A-Z, a-z, 0-9, '_' or '-'",
        max = crate::limits::CALL_ID_CHARS_MAX
    )]
    InvalidCallId,
    /// No open call has this id.
    #[error("no open call with this id")]
    UnknownCall,
    /// A call with this id is already open (or has ended and waits for `hang_up`).
    #[error("a call with this id already exists; hang it up first or use a new id")]
    CallExists,
    /// The SDP (or a candidate) could not be parsed.
    #[error("malformed SDP: {0}")]
    MalformedSdp(String),
    /// The offer has no codec we relay without transcoding: Opus audio, VP8 video.
    #[error("unsupported media: {0}")]
    UnsupportedCodecs(String),
    /// The SDP is larger than we accept.
    #[error("SDP is {bytes} bytes, more than the {max} accepted")]
    SdpTooLarge {
        /// Size of the refused SDP.
        bytes: usize,
        /// The limit, [`crate::limits::SDP_BYTES_MAX`].
        max: usize,
    },
    /// A trickled ICE candidate is larger than we accept.
    #[error("ICE candidate is {bytes} bytes, more than the {max} accepted")]
    CandidateTooLarge {
        /// Size of the refused candidate.
        bytes: usize,
        /// The limit, [`crate::limits::ICE_CANDIDATE_BYTES_MAX`].
        max: usize,
    },
    /// Every UDP port of the configured range is in use.
    #[error(
        "all UDP ports of the configured media range are in use; widen udp_port_min..udp_port_max"
    )]
    PortsExhausted,
    /// [`crate::limits::CALLS_MAX`] calls are open.
    #[error("too many open calls (limit {max})", max = crate::limits::CALLS_MAX)]
    TooManyCalls,
    /// The requested leg is not open.
    #[error("this leg of the call is not open")]
    NoSuchLeg,
    /// The configuration cannot work.
    #[error("invalid media configuration: {0}")]
    InvalidConfig(String),
    /// The WebRTC stack refused the operation.
    #[error("WebRTC: {0}")]
    Webrtc(String),
    /// Reading or writing a recording failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// A recording file is not a well-formed Ogg Opus or IVF VP8 file.
    #[error("{}: not a playable recording: {reason}", path.display())]
    BadRecording {
        /// The file concerned.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

impl MediaError {
    pub(crate) fn webrtc(err: impl std::fmt::Display) -> Self {
        MediaError::Webrtc(err.to_string())
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        MediaError::Io {
            path: path.into(),
            source,
        }
    }
}
