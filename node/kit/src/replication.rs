//! The replication shell both peers run: one QUIC connection driven through the sans-IO
//! [`sync::protocol::Session`] over any [`DurableRepo`]. The node drives its side over its
//! store and card service, the hub over every region's documents; tests over `MemRepo`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use sync::protocol::{Config as ProtocolConfig, Event, ProtocolError, Repo, Session};

use crate::clock::now_ms;
use crate::store::{GroupCommit, StoreError};

/// Frames read ahead of the session before the reader waits.
pub const FRAMES_BUFFERED_MAX: usize = 64;
/// Most received frames handled before one flush and the acknowledgements it allows: a central
/// importing a region's backlog then pays one fsync for several batches, not one per batch.
pub const FRAMES_PER_FLUSH_MAX: usize = 16;
/// Local changes buffered for the session; past this, the session catches up on reconnect.
pub const LOCAL_CHANGES_BUFFERED_MAX: usize = 4_096;

/// Longest wait for a QUIC handshake before trying again; a handshake started during an outage
/// would otherwise wait out QUIC's own backoff long after the link is back.
pub const HANDSHAKE_TIMEOUT_MS: u64 = 8_000;

/// A link with changes pending and no documents or acknowledgements from the peer for this long
/// is stalled: `replication_stalled` in `/metrics` (and the region's state at HQ) says so at
/// once, and the connection is closed and redialled if the peer's frames still arrive. Below
/// the 10 s, above what a healthy link ever takes to acknowledge a batch (the window is
/// ~150 KB on the wire; `bench sync-lag` at 5 % loss and 200 ms RTT: p99 well under it).
pub const STALL_DETECT_MS: i64 = 8_000;
/// While a batch awaits its acknowledgement and nothing arrives, a Ping goes every this long,
/// so that after a short partition QUIC finds the path at once instead of at its next
/// exponentially backed-off retransmission (after a 5 s black-hole: up to ~2 s later, after
/// 10 s up to ~4 s).
pub const PROBE_INTERVAL_MS: i64 = 1_000;

/// Base wait before the first reconnection attempt after a failure.
pub const RECONNECT_DELAY_MS_MIN: u64 = 250;
/// Cap of the base wait between reconnection attempts. After a partition longer than the QUIC
/// idle timeout the link is redialled within this (plus the rest of a handshake attempt, at
/// most ~1 s after QUIC's last Initial retransmission within `HANDSHAKE_TIMEOUT_MS`), so both
/// sides converge within it + 2 s. A hub serves every region: 20 regions redialling every ≤ 5 s
/// is a handshake every 250 ms, nothing for it; a node serves its units the same way.
pub const RECONNECT_DELAY_MS_MAX: u64 = 5_000;
/// A connection that lasted this long was a success: the next wait starts from the shortest.
pub const RECONNECT_RESET_AFTER_MS: u64 = 10_000;

/// The wait before the next attempt after `failures` attempts in a row that failed (0: the
/// first retry): the base doubles from [`RECONNECT_DELAY_MS_MIN`] up to
/// [`RECONNECT_DELAY_MS_MAX`], and the wait is drawn uniformly from its upper half ("equal
/// jitter"), so regions that lost the hub together do not redial in step and the wait never
/// exceeds the cap. `rng` is the randomness of the schedule (seeded in tests).
pub fn reconnect_delay_ms(failures: u32, rng: &mut impl rand::Rng) -> u64 {
    let base = RECONNECT_DELAY_MS_MIN
        .saturating_mul(1u64 << failures.min(32))
        .min(RECONNECT_DELAY_MS_MAX);
    base - rng.gen_range(0..=base / 2)
}

/// The software version every replication peer names in its Hello: the workspace's release
/// version, which every crate shares (`version.workspace = true`), so it is what `node
/// --version` and `central --version` print. The hub shows each region's during a rolling
/// upgrade.
pub const SOFTWARE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Protocol settings for real networks (regional links can be slow and lossy). Frames of one
/// connection share one QUIC stream, so a keep-alive waits behind the data already in flight:
/// the window (batches × batch bytes, before deflate) must stay small enough for that wait to
/// be far below the idle timeout on a bad link (a 30 % loss, 500 ms RTT link is the design
/// case), yet large enough to cover a link's bandwidth-delay product. With 16 KiB × 4 the lag
/// at 5 % loss and 200 ms RTT had a p99 of 5.3 s (`bench sync-lag`): the window, not the link,
/// was the limit. Batches deflate 3–4× at protocol v3, so 64 KiB × 8 is ~150 KB on the wire.
pub fn network_protocol_config() -> ProtocolConfig {
    ProtocolConfig {
        batch_bytes_max: 64 * 1024,
        messages_in_flight_max: 8,
        idle_timeout_ms: 45_000,
        ack_timeout_ms: 60_000,
        keepalive_interval_ms: 5_000,
        probe_interval_ms: PROBE_INTERVAL_MS,
        stall_detect_ms: STALL_DETECT_MS,
        software_version: Some(SOFTWARE_VERSION.to_string()),
        ..ProtocolConfig::default()
    }
}

/// A [`Repo`] whose imports may be applied without waiting for the disk. Before any frame is sent
/// after handling the peer's frames, [`drive`] waits, *without holding the repo*, until every
/// write applied to this group commit so far is durable, so an acknowledgement never leaves
/// before what it acknowledges is on disk, and sessions sharing the repo share flushes instead of
/// queueing behind each other's fsync.
pub trait DurableRepo: Repo {
    /// The group commit imports are applied to; `None` when every import waits for its own
    /// flush before it returns (the node).
    fn group_commit(&self) -> Option<Arc<GroupCommit>> {
        None
    }
}

/// Why a replication connection ended (besides a clean close or shutdown). The session's own
/// reasons are [`ProtocolError`]s; the rest is the stream's or the disk's.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DriveError {
    /// Imports could not be made durable: nothing more is acknowledged on this connection.
    #[error("storage: {0}")]
    Storage(#[from] StoreError),
    #[error("{0}")]
    Protocol(#[from] ProtocolError),
    /// The QUIC stream failed while reading.
    #[error("read: {0}")]
    Read(String),
    /// The QUIC stream failed while writing.
    #[error("write: {0}")]
    Write(String),
    #[error("peer sent a {bytes}-byte frame; the limit is {max} bytes")]
    FrameTooLarge { bytes: usize, max: usize },
    #[error("a frame of {0} bytes is too large to send")]
    FrameTooLargeToSend(usize),
    #[error("the peer closed the stream")]
    PeerClosed,
}

impl DriveError {
    /// The peer ended the connection (its stream or the QUIC connection closed): how a
    /// connection normally ends from the other side, not a failure of this one.
    pub fn is_peer_close(&self) -> bool {
        match self {
            DriveError::PeerClosed => true,
            DriveError::Read(m) | DriveError::Write(m) => m.contains("closed"),
            _ => false,
        }
    }
}

/// In-memory repos (tests, simulations) have nothing to flush.
impl DurableRepo for sync::protocol::MemRepo {}

/// Writes one length-prefixed frame.
async fn write_frame(send: &mut quinn::SendStream, frame: &[u8]) -> Result<(), DriveError> {
    let len =
        u32::try_from(frame.len()).map_err(|_| DriveError::FrameTooLargeToSend(frame.len()))?;
    send.write_all(&len.to_be_bytes())
        .await
        .map_err(|e| DriveError::Write(e.to_string()))?;
    send.write_all(frame)
        .await
        .map_err(|e| DriveError::Write(e.to_string()))
}

/// Reads frames into a channel until the stream ends; a frame over `frame_bytes_max` ends it.
fn spawn_reader(
    mut recv: quinn::RecvStream,
    frame_bytes_max: usize,
) -> mpsc::Receiver<Result<Vec<u8>, DriveError>> {
    let (tx, rx) = mpsc::channel(FRAMES_BUFFERED_MAX);
    tokio::spawn(async move {
        loop {
            let mut len = [0u8; 4];
            let result = match recv.read_exact(&mut len).await {
                Ok(()) => {
                    let n = u32::from_be_bytes(len) as usize;
                    if n > frame_bytes_max {
                        Err(DriveError::FrameTooLarge {
                            bytes: n,
                            max: frame_bytes_max,
                        })
                    } else {
                        let mut buf = vec![0u8; n];
                        recv.read_exact(&mut buf)
                            .await
                            .map(|_| buf)
                            .map_err(|e| DriveError::Read(e.to_string()))
                    }
                }
                Err(e) => Err(DriveError::Read(e.to_string())),
            };
            let stop = result.is_err();
            if tx.send(result).await.is_err() || stop {
                return;
            }
        }
    });
    rx
}

/// What a finished connection did.
#[derive(Debug, Default, Clone)]
pub struct DriveOutcome {
    pub opened: bool,
    pub error: Option<DriveError>,
}

/// The inputs of one connection besides its stream and session.
pub struct DriveInputs<'a> {
    /// Ids of documents changed locally (after the change is durable).
    pub local_changes: &'a mut mpsc::Receiver<String>,
    pub shutdown: &'a mut watch::Receiver<bool>,
    /// Largest frame accepted from the peer.
    pub frame_bytes_max: usize,
}

/// Drives one connection until it closes, fails or `shutdown` becomes true. Every repo call runs
/// under `block_in_place` (imports wait for a flush); needs the multi-threaded runtime.
pub async fn drive<R: DurableRepo + Send>(
    (mut send, recv): (quinn::SendStream, quinn::RecvStream),
    mut session: Session,
    repo: &Mutex<R>,
    inputs: DriveInputs<'_>,
    mut on_event: impl FnMut(&Event),
) -> DriveOutcome {
    let DriveInputs {
        local_changes,
        shutdown,
        frame_bytes_max,
    } = inputs;
    let mut frames = spawn_reader(recv, frame_bytes_max);
    let mut outcome = DriveOutcome::default();
    let with_repo = |f: &mut dyn FnMut(&mut R)| {
        tokio::task::block_in_place(|| {
            let mut guard = repo.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut guard)
        })
    };
    let mut gc = None;
    with_repo(&mut |repo| gc = repo.group_commit());
    let mut durable_upto = 0;
    loop {
        if let Some(gc) = &gc {
            let written = gc.written();
            if written > durable_upto {
                if let Err(e) = tokio::task::block_in_place(|| gc.wait_durable(written)) {
                    outcome.error = Some(DriveError::Storage(e));
                    return outcome;
                }
                durable_upto = written;
            }
        }
        while let Some(frame) = session.poll_transmit() {
            if let Err(e) = write_frame(&mut send, &frame).await {
                outcome.error = Some(e);
                return outcome;
            }
        }
        while let Some(ev) = session.poll_event() {
            if matches!(ev, Event::Opened { .. }) {
                outcome.opened = true;
            }
            on_event(&ev);
        }
        if session.is_closed() {
            let _ = send.finish();
            return outcome;
        }
        let deadline = session.poll_timeout();
        let sleep = async {
            match deadline {
                Some(at) => {
                    let wait = (at - now_ms()).max(0) as u64;
                    tokio::time::sleep(Duration::from_millis(wait)).await
                }
                None => std::future::pending().await,
            }
        };
        let result = tokio::select! {
            frame = frames.recv() => match frame {
                Some(Ok(bytes)) => {
                    // Handle the frames that have already arrived too, so that one flush (at
                    // the top of the loop, before any Ack leaves) covers all of them.
                    let mut r: Result<(), DriveError> = Ok(());
                    with_repo(&mut |repo| {
                        let handle = |session: &mut Session, repo: &mut R, bytes: &[u8]| {
                            session.handle_frame(repo, bytes, now_ms()).map_err(DriveError::from)
                        };
                        r = handle(&mut session, repo, &bytes);
                        let mut handled = 1;
                        while r.is_ok() && handled < FRAMES_PER_FLUSH_MAX {
                            r = match frames.try_recv() {
                                Ok(Ok(next)) => handle(&mut session, repo, &next),
                                Ok(Err(e)) => Err(e),
                                Err(mpsc::error::TryRecvError::Empty) => break,
                                Err(mpsc::error::TryRecvError::Disconnected) => {
                                    Err(DriveError::PeerClosed)
                                }
                            };
                            handled += 1;
                        }
                    });
                    r
                }
                Some(Err(e)) => Err(e),
                None => Err(DriveError::PeerClosed),
            },
            Some(doc_id) = local_changes.recv() => {
                let mut r = Ok(());
                with_repo(&mut |repo| r = session.handle_local_change(repo, &doc_id, now_ms()));
                r.map_err(DriveError::from)
            }
            _ = sleep => session.handle_timeout(now_ms()).map_err(DriveError::from),
            _ = shutdown.wait_for(|stop| *stop) => {
                session.close("shutting down");
                Ok(())
            }
        };
        if let Err(e) = result {
            // What the session reported on the way out (a stall, say) still counts.
            while let Some(ev) = session.poll_event() {
                on_event(&ev);
            }
            // Tell the peer why (the session may have queued a Close), then stop.
            while let Some(frame) = session.poll_transmit() {
                let _ = write_frame(&mut send, &frame).await;
            }
            let _ = send.finish();
            outcome.error = Some(e);
            return outcome;
        }
    }
}

/// Applies a replaced revocation list to a QUIC listener's new handshakes: every `recheck` the
/// file's modification time is compared, and a changed file for which `make` builds a config
/// becomes the listener's config (a bad one is logged and the old list stays). `what` names the
/// listener in the log. Ends with `shutdown`. A certificate revoked at HQ is then refused at its
/// next handshake without restarting the service.
pub async fn watch_crl(
    endpoint: quinn::Endpoint,
    crl_path: std::path::PathBuf,
    recheck: Duration,
    mut shutdown: watch::Receiver<bool>,
    what: &'static str,
    make: impl Fn(&std::path::Path) -> anyhow::Result<quinn::ServerConfig> + Send + 'static,
) {
    let modified = |p: &std::path::Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let mut seen = modified(&crl_path);
    let mut tick = tokio::time::interval(recheck);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            r = shutdown.changed() => {
                if r.is_err() || *shutdown.borrow() {
                    return;
                }
            }
        }
        let now = modified(&crl_path);
        if now == seen {
            continue;
        }
        seen = now;
        match make(&crl_path) {
            Ok(config) => {
                endpoint.set_server_config(Some(config));
                tracing::info!(crl = %crl_path.display(), "{what}: the new revocation list applies");
            }
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "{what}: the replaced revocation list is not used")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// The bound on the reconnect back-off: a link back after a long partition is
    /// redialled within this (plus the handshake), so both sides converge within it + 2 s.
    const BACKOFF_CAP_GOAL_MS: u64 = 5_000;

    /// The schedule of one seed: the waits after 0, 1, … failures in a row.
    fn schedule(seed: u64, attempts: u32) -> Vec<u64> {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        (0..attempts)
            .map(|f| reconnect_delay_ms(f, &mut rng))
            .collect()
    }

    #[test]
    fn reconnect_backoff_grows_to_a_cap_of_5_s_with_jitter() {
        for seed in 0..200 {
            let waits = schedule(seed, 40);
            for (failures, &wait) in waits.iter().enumerate() {
                let base = RECONNECT_DELAY_MS_MIN
                    .saturating_mul(1 << failures.min(32))
                    .min(RECONNECT_DELAY_MS_MAX);
                assert!(
                    wait <= BACKOFF_CAP_GOAL_MS && wait <= base && wait >= base / 2,
                    "seed {seed}, {failures} failures: {wait} ms (base {base} ms)"
                );
            }
            // The first retry is prompt.
            assert!(waits[0] <= RECONNECT_DELAY_MS_MIN, "seed {seed}: {waits:?}");
            // Deterministic for a seed.
            assert_eq!(waits, schedule(seed, 40));
        }
        // Jitter: nodes that lost the hub together do not all redial at the same instant.
        let capped: std::collections::BTreeSet<u64> =
            (0..200).map(|seed| schedule(seed, 40)[39]).collect();
        assert!(
            capped.len() > 50,
            "{} distinct waits at the cap over 200 seeds",
            capped.len()
        );
    }
}
