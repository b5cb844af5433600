//! `media`: citizen audio/video calls over WebRTC (app "102", SOS button, "Закон и Порядок"),
//! relay to the operator console, and recording (R03, R09, R10).
//!
//! Built on the `webrtc` crate (the async layer over the sans-IO `rtc` core). Nothing of
//! `webrtc`'s types crosses this crate's boundary: the node sees SDP strings, call ids,
//! [`MediaEvent`]s and [`RecordingSummary`]s.
//!
//! Code map:
//! - `server`: [`MediaServer`] — calls, legs (one peer connection and one UDP port each), the
//!   relay (RTP forwarded as is, SSRC/payload type/numbering rewritten by `relay`), leg
//!   supervision (ICE timeout, failure), key-frame requests.
//! - `events` ([`Leg`], [`MediaEvent`], where events go, the server's counters) and `keyframe`
//!   (rate-limited key-frame requests to a video's sender): what the server and the recorder
//!   share; they use neither. `locks`: mutex and rwlock helpers that ignore poisoning.
//! - `offer`: checks an SDP offer before anything is allocated for it.
//! - `engine`: how every peer connection is built (Opus and VP8 only, default interceptors,
//!   PLI/FIR handed to the application, no mDNS, no STUN).
//! - `recording`: the per-call recorder task, Ogg Opus and IVF VP8 writers and readers, VP8
//!   frame reassembly, the recording timeline.
//! - [`client`]: headless citizen and operator for tests and load benchmarks.
//!
//! Invariants: bad input (SDP, candidates, RTP, files) returns an error and never panics;
//! nothing is written outside `{recordings_dir}/{call_id}/`, and an existing recording is never
//! overwritten; the relay never waits for the recorder or the disk; every bound is in [`limits`].

pub mod client;
mod config;
mod engine;
mod error;
mod events;
mod keyframe;
pub mod limits;
mod locks;
mod offer;
mod ports;
mod recording;
mod relay;
mod server;

pub use config::MediaConfig;
pub use engine::{IceServerEntry, IceSettings};
pub use error::MediaError;
pub use events::{Leg, MediaEvent};
pub use offer::announce;
pub use recording::recorder::{MediaKind, RecordingFile, RecordingSummary};
pub use recording::{inspect_recording, recording_duration_ms, RecordingInfo};
pub use server::{MediaServer, MediaStats};

/// Gives memory freed by ended calls back to the operating system; `true` if some was.
///
/// A call's WebRTC stack allocates many buffers across threads, and glibc keeps what they free in
/// per-thread arenas: after 400 calls had ended, the node still held ~535 MiB (bench
/// media-calls). `malloc_trim` returns the free pages. It walks the heap under glibc's locks,
/// so call it from a blocking thread and not after every call.
pub fn release_freed_memory() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: malloc_trim takes no pointers; it only walks glibc's own heap under its locks.
        unsafe { libc::malloc_trim(0) == 1 }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}

/// Checks a citizen's or operator's SDP offer without opening anything: size, syntax, Opus audio,
/// VP8 if it has video. Cheap, so a caller can refuse a bad offer before doing anything else.
pub fn check_offer_sdp(sdp: &str) -> Result<(), MediaError> {
    offer::check_offer(sdp).map(|_| ())
}
