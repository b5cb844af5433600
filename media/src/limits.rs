//! Every bound the media server enforces, each with its unit last.
//!
//! Tests shrink the ones that are also configuration (`MediaConfig`); the rest are fixed here so
//! that a hostile or broken peer can never make the server allocate without bound.

/// Largest SDP offer accepted, in bytes. Browser offers with audio and video are 3–10 KiB.
pub const SDP_BYTES_MAX: usize = 32 * 1024;

/// Longest call id, in characters (`[A-Za-z0-9_-]` only, so also bytes).
pub const CALL_ID_CHARS_MAX: usize = 64;

/// Largest trickled ICE candidate accepted (the JSON `RTCIceCandidateInit`), in bytes.
pub const ICE_CANDIDATE_BYTES_MAX: usize = 2 * 1024;

/// Calls that may be open at once (citizen leg present); a new citizen offer beyond it is refused.
pub const CALLS_MAX: usize = 2_000;

/// Trickled remote candidates accepted per leg; more is a broken or hostile client.
pub const REMOTE_CANDIDATES_PER_LEG_MAX: usize = 64;

/// Finished calls whose summary waits for `hang_up` (a leg failed and ended the call). The oldest
/// is forgotten beyond this, its files and `meta.json` stay on disk.
pub const FINISHED_SUMMARIES_MAX: usize = 1_024;

/// How long gathering our own (host) candidates may take before the answer is returned
/// without waiting any longer, in milliseconds. Host-only gathering takes well under 10 ms.
pub const ICE_GATHER_TIMEOUT_MS: u64 = 5_000;

/// Ports tried per new peer connection when the chosen one turns out to be taken by another
/// process; after that the offer fails with the last bind error.
pub const PORT_BIND_ATTEMPTS_MAX: usize = 16;

/// Packets queued from the relay to a call's recorder; beyond it packets are not recorded (and
/// counted as recording drops) rather than slowing the relay down.
pub const RECORDER_QUEUE_PACKETS_MAX: usize = 2_048;

/// Bytes buffered in memory per recording file before they are written to the kernel.
pub const RECORDING_WRITE_BUFFER_BYTES: usize = 64 * 1024;

/// Shortest time between two key-frame requests (PLI) sent to a citizen, in milliseconds, so
/// many operators' or the recorder's requests never turn into a key-frame storm.
pub const KEYFRAME_REQUEST_INTERVAL_MS_MIN: u64 = 500;

/// How long the VP8 frame assembler waits for a missing packet (a retransmission) before it
/// gives the frame up, in milliseconds.
pub const VIDEO_REORDER_WINDOW_MS: u64 = 500;

/// Packets the VP8 frame assembler holds while waiting for a missing one.
pub const VIDEO_REORDER_PACKETS_MAX: usize = 1_024;

/// Largest single VP8 frame the recorder assembles, in bytes; a larger one is dropped.
pub const VIDEO_FRAME_BYTES_MAX: usize = 4 * 1024 * 1024;

/// Longest gap in a recorded audio stream filled with silence (lost packets, a transfer between
/// operators), in milliseconds; a longer one is recorded as this long.
pub const AUDIO_GAP_FILL_MS_MAX: u64 = 10_000;

/// Longest silence filled between two video frames in the IVF timeline, in milliseconds.
pub const VIDEO_GAP_MS_MAX: u64 = 10_000;

/// Largest Opus packet recorded, in bytes (RFC 6716 allows 1275 bytes per frame, 6 frames).
pub const OPUS_PACKET_BYTES_MAX: usize = 8 * 1024;

/// Largest recording file read back by [`crate::recording_duration_ms`], in bytes.
pub const RECORDING_FILE_BYTES_MAX: u64 = 16 * 1024 * 1024 * 1024;

/// Events buffered per `subscribe()` receiver before a slow one starts missing the oldest.
pub const EVENTS_QUEUE_MAX: usize = 1_024;
