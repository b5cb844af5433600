//! What the server reports and counts, shared by the call server and the per-call recorder:
//! [`MediaEvent`]s and where they go ([`EventSink`]), and the counters behind `MediaStats`.

use std::sync::atomic::{AtomicU64, AtomicUsize};

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

/// Which side of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Leg {
    /// The citizen's app or browser.
    Citizen,
    /// The 102 operator's console.
    Operator,
}

/// What happened to a call that the node may want to act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MediaEvent {
    /// The leg's ICE and DTLS completed: media can flow.
    Connected {
        /// The call.
        call_id: String,
        /// The leg.
        leg: Leg,
        /// The selected path goes through a TURN relay (the browser's relayed candidate).
        relayed: bool,
    },
    /// The leg never connected, or lost its connection, and was closed. A citizen leg's
    /// failure ends the call: its recording is finished and `hang_up` returns the summary.
    Failed {
        /// The call.
        call_id: String,
        /// The leg.
        leg: Leg,
        /// What happened, for the log and the operator.
        reason: String,
    },
    /// Recording of the call stopped (e.g. the disk is full); the call itself goes on.
    RecordingStopped {
        /// The call.
        call_id: String,
        /// What happened.
        reason: String,
    },
}

#[derive(Default)]
pub(crate) struct Counters {
    pub rtp_packets_relayed: AtomicU64,
    pub rtp_packets_dropped: AtomicU64,
    pub recording_packets_dropped: AtomicU64,
    pub bytes_recorded: AtomicU64,
    pub recording_errors: AtomicU64,
    pub active_legs: AtomicUsize,
    pub relayed_legs: AtomicUsize,
    pub relayed_legs_connected: AtomicU64,
    pub direct_legs_connected: AtomicU64,
}

/// Where events go; a send with no subscriber is not an error.
#[derive(Clone)]
pub(crate) struct EventSink(pub(crate) broadcast::Sender<MediaEvent>);

impl EventSink {
    pub fn emit(&self, event: MediaEvent) {
        tracing::debug!(?event, "media event");
        let _ = self.0.send(event);
    }
}
