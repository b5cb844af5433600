//! [`Config`]: the limits and timers of a session.

use super::types::{VERSION_MAX, VERSION_MIN};
use super::wire;

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
    /// ([`Event::Stalled`](super::Event::Stalled)); when the peer's frames still arrive — it is reachable, yet nothing
    /// moves — the connection also closes ([`ProtocolError::Stalled`](super::ProtocolError::Stalled)) so the shell reconnects.
    /// A silent link is left to the idle timeouts: a fresh handshake could not get through
    /// sooner, and once frames arrive again the clock starts over.
    pub stall_detect_ms: i64,
    /// The software version this side names in its Hello (the hub shows each region's), at
    /// most [`wire::SOFTWARE_VERSION_BYTES_MAX`] bytes of printable text; `None` sends none.
    /// The protocol itself never looks at it: versions are negotiated from the version range.
    pub software_version: Option<String>,
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
            software_version: None,
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
        if let Some(v) = &self.software_version {
            if v.is_empty()
                || v.len() > wire::SOFTWARE_VERSION_BYTES_MAX
                || v.chars().any(char::is_control)
            {
                return Err(format!(
                    "software_version must be 1..={} bytes of printable text",
                    wire::SOFTWARE_VERSION_BYTES_MAX
                ));
            }
        }
        Ok(())
    }
}
