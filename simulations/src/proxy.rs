//! `proxy`: a UDP relay that impairs the traffic it forwards — loss, one-way delay with jitter,
//! reordering, duplication and a runtime black-hole — so QUIC replication between a regional node
//! and the hub can be tried over a bad link on a machine without kernel netem.
//!
//! Clients send to the listen address. Each client address gets a **session** with its own
//! upstream socket, so the upstream sees one source address per client (as behind a NAT), many
//! clients can share one proxy, and an expired session reappears on a new upstream port the way a
//! NAT rebinding does — which is what QUIC connection migration must survive.
//!
//! The decisions (drop, delay, duplicate, reorder) are made by [`Link`], a sans-IO state machine
//! per direction per session that takes the time as an argument and owns a seeded RNG, so its
//! behaviour is tested in virtual time. The tokio layer only moves bytes between sockets and
//! `Link`s. A run is reproducible per session given the same traffic: each `Link`'s RNG is
//! derived from the seed, the session's ordinal and the direction.
//!
//! The impairment and the black-hole can be changed at run time through [`ProxyControl`] (in
//! process) or the optional TCP control port, which speaks one command per line (see
//! [`ControlCommand::parse`]).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::fmt;
use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{mpsc, watch, Notify};
use tokio::task::{JoinHandle, JoinSet};

use crate::report::{self, Report};

pub const NAME: &str = "proxy";

/// Largest UDP payload the IP length field allows; the default `datagram_bytes_max`.
pub const DATAGRAM_BYTES_MAX: usize = 65_535;
/// Default `sessions_max`: far above the twenty regional nodes plus test clients, low enough
/// that a port scan cannot make the proxy open thousands of sockets.
pub const SESSIONS_MAX: usize = 256;
/// Default `queue_datagrams_max` per direction per session. With 250 ms of delay this still holds
/// ~4,000 datagrams per second (~40 Mbit/s of 1,350-byte QUIC packets) per direction; beyond it
/// the proxy drops, as a router's full buffer would, instead of growing without bound.
pub const QUEUE_DATAGRAMS_MAX: usize = 1_024;
/// Default `session_idle_ms`: a session with no traffic either way for this long is closed, like
/// a NAT mapping; a minute outlasts QUIC's usual 30 s idle timeout and keep-alives.
pub const SESSION_IDLE_MS: u64 = 60_000;
/// Upper bound for `delay_ms`, `jitter_ms` and `reorder_extra_ms`: anything longer is a
/// partition, which is what the black-hole is for.
pub const IMPAIRMENT_DELAY_MS_MAX: u64 = 60_000;
/// Default extra delay of a reordered datagram: long enough that the next few datagrams of a
/// paced flow overtake it, short enough not to look like loss to QUIC's loss detection.
pub const REORDER_EXTRA_MS: u64 = 20;
/// Datagrams handed from the listen task to a session task that has not picked them up yet;
/// overflow counts as `dropped_queue`. The session task drains this in microseconds, so it only
/// fills when the machine is overloaded.
const HANDOFF_DATAGRAMS_MAX: usize = 256;
/// After a socket error other than "connection refused" the failing task pauses this long, so a
/// persistent error cannot spin a core.
const RECV_ERROR_BACKOFF_MS: u64 = 10;
/// A control command line longer than this is refused and the connection closed: commands are a
/// few words, and an unbounded line would be an unbounded allocation.
const CONTROL_LINE_BYTES_MAX: usize = 1_024;
/// Concurrent control connections; more are answered with an error and closed.
const CONTROL_CONNECTIONS_MAX: usize = 16;

// ---------------------------------------------------------------------------------------------
// Settings

/// What the link does to every datagram, the same in both directions (each direction draws its
/// own random numbers, so they are impaired independently).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Impairment {
    /// Probability in percent that a datagram is dropped.
    pub loss_pct: f64,
    /// One-way delay; a round trip through the proxy costs twice this.
    pub delay_ms: u64,
    /// Each datagram's delay is `delay_ms` ± a uniform draw up to this (never below zero).
    /// Jitter alone never reorders: a datagram is not delivered before one offered earlier, as
    /// on a real FIFO link, so `reorder_pct` is the only knob that reorders.
    pub jitter_ms: u64,
    /// Probability in percent that a datagram is held back `reorder_extra_ms` beyond its delay,
    /// so datagrams sent after it within that window overtake it.
    pub reorder_pct: f64,
    pub reorder_extra_ms: u64,
    /// Probability in percent that a datagram is delivered twice.
    pub duplicate_pct: f64,
}

impl Impairment {
    /// A perfect link.
    pub const NONE: Self = Self {
        loss_pct: 0.0,
        delay_ms: 0,
        jitter_ms: 0,
        reorder_pct: 0.0,
        reorder_extra_ms: REORDER_EXTRA_MS,
        duplicate_pct: 0.0,
    };

    /// Refuses values a person may type by mistake (130 % loss, an hour of delay, NaN), so
    /// everything after validation can trust the numbers.
    pub fn validate(&self) -> anyhow::Result<()> {
        for (name, pct) in [
            ("loss", self.loss_pct),
            ("reorder", self.reorder_pct),
            ("duplicate", self.duplicate_pct),
        ] {
            if !(0.0..=100.0).contains(&pct) {
                bail!("{name} must be a percentage from 0 to 100, not {pct}");
            }
        }
        for (name, ms) in [
            ("delay", self.delay_ms),
            ("jitter", self.jitter_ms),
            ("reorder extra delay", self.reorder_extra_ms),
        ] {
            if ms > IMPAIRMENT_DELAY_MS_MAX {
                bail!(
                    "{name} must be at most {IMPAIRMENT_DELAY_MS_MAX} ms (impairment_delay_ms_max), not {ms} ms; use the black-hole for a partition"
                );
            }
        }
        Ok(())
    }
}

impl Default for Impairment {
    fn default() -> Self {
        Self::NONE
    }
}

impl fmt::Display for Impairment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "loss {}% delay {}±{} ms reorder {}% (+{} ms) duplicate {}%",
            self.loss_pct,
            self.delay_ms,
            self.jitter_ms,
            self.reorder_pct,
            self.reorder_extra_ms,
            self.duplicate_pct
        )
    }
}

/// The proxy's named limits; tests shrink them to reach the edges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyLimits {
    /// Concurrent sessions (client addresses); datagrams from further clients are dropped and
    /// counted as `dropped_no_session`.
    pub sessions_max: usize,
    /// Larger datagrams are dropped and counted as `dropped_oversize`, in both directions.
    pub datagram_bytes_max: usize,
    /// Datagrams waiting out their delay, per direction per session. Memory is bounded by
    /// `sessions_max × 2 × queue_datagrams_max × datagram size`.
    pub queue_datagrams_max: usize,
    /// A session with no datagram either way for this long, and nothing queued, is closed.
    pub session_idle_ms: u64,
}

impl Default for ProxyLimits {
    fn default() -> Self {
        Self {
            sessions_max: SESSIONS_MAX,
            datagram_bytes_max: DATAGRAM_BYTES_MAX,
            queue_datagrams_max: QUEUE_DATAGRAMS_MAX,
            session_idle_ms: SESSION_IDLE_MS,
        }
    }
}

impl ProxyLimits {
    fn validate(&self) -> anyhow::Result<()> {
        if self.sessions_max == 0 {
            bail!("sessions_max must be at least 1");
        }
        if !(1..=DATAGRAM_BYTES_MAX).contains(&self.datagram_bytes_max) {
            bail!("datagram_bytes_max must be from 1 to {DATAGRAM_BYTES_MAX} bytes");
        }
        if self.queue_datagrams_max == 0 {
            bail!("queue_datagrams_max must be at least 1");
        }
        if self.session_idle_ms == 0 {
            bail!("session_idle_ms must be at least 1 ms");
        }
        Ok(())
    }
}

#[derive(Debug, Clone)]
pub struct ProxyConfig {
    /// Where clients send; port 0 picks a free port (see [`ProxyHandle::local_addr`]).
    pub listen: SocketAddr,
    /// Where every session forwards to.
    pub upstream: SocketAddr,
    /// The TCP control port, if any; port 0 picks a free port.
    pub control: Option<SocketAddr>,
    pub impairment: Impairment,
    pub seed: u64,
    pub limits: ProxyLimits,
}

impl ProxyConfig {
    /// A perfect link with the default limits.
    pub fn new(listen: SocketAddr, upstream: SocketAddr, seed: u64) -> Self {
        Self {
            listen,
            upstream,
            control: None,
            impairment: Impairment::NONE,
            seed,
            limits: ProxyLimits::default(),
        }
    }
}

/// The `proxy` subcommand's arguments.
#[derive(Args, Debug)]
pub struct ProxyArgs {
    /// Address clients send to, e.g. 127.0.0.1:7103.
    #[arg(long)]
    listen: SocketAddr,
    /// Address every datagram is relayed to, e.g. 127.0.0.1:7102.
    #[arg(long)]
    upstream: SocketAddr,
    /// Drop probability in percent, per direction.
    #[arg(long, default_value_t = 0.0)]
    loss_pct: f64,
    /// One-way delay (a round trip costs twice this).
    #[arg(long, default_value_t = 0)]
    delay_ms: u64,
    /// Uniform ± variation of the delay; never reorders by itself.
    #[arg(long, default_value_t = 0)]
    jitter_ms: u64,
    /// Probability in percent that a datagram is held back so later ones overtake it.
    #[arg(long, default_value_t = 0.0)]
    reorder_pct: f64,
    /// How long a reordered datagram is held back beyond its delay.
    #[arg(long, default_value_t = REORDER_EXTRA_MS)]
    reorder_extra_ms: u64,
    /// Probability in percent that a datagram is delivered twice.
    #[arg(long, default_value_t = 0.0)]
    duplicate_pct: f64,
    /// RNG seed (default: random, printed at the start).
    #[arg(long)]
    seed: Option<u64>,
    /// TCP address for runtime commands (`blackhole on|off`, `loss 30`, `delay 250`, `stats`, `help`).
    #[arg(long)]
    control: Option<SocketAddr>,
    /// Concurrent client sessions.
    #[arg(long, default_value_t = SESSIONS_MAX)]
    sessions_max: usize,
    /// Larger datagrams are dropped and counted.
    #[arg(long, default_value_t = DATAGRAM_BYTES_MAX)]
    datagram_bytes_max: usize,
    /// Datagrams waiting out their delay, per direction per session.
    #[arg(long, default_value_t = QUEUE_DATAGRAMS_MAX)]
    queue_datagrams_max: usize,
    /// Sessions with no traffic for this long are closed.
    #[arg(long, default_value_t = SESSION_IDLE_MS)]
    session_idle_ms: u64,
}

impl ProxyArgs {
    fn into_config(self, seed: u64) -> ProxyConfig {
        ProxyConfig {
            control: self.control,
            impairment: Impairment {
                loss_pct: self.loss_pct,
                delay_ms: self.delay_ms,
                jitter_ms: self.jitter_ms,
                reorder_pct: self.reorder_pct,
                reorder_extra_ms: self.reorder_extra_ms,
                duplicate_pct: self.duplicate_pct,
            },
            limits: ProxyLimits {
                sessions_max: self.sessions_max,
                datagram_bytes_max: self.datagram_bytes_max,
                queue_datagrams_max: self.queue_datagrams_max,
                session_idle_ms: self.session_idle_ms,
            },
            ..ProxyConfig::new(self.listen, self.upstream, seed)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The command

/// Runs the proxy until Ctrl-C or SIGTERM, then prints the counters as a report.
pub async fn run(args: ProxyArgs) -> anyhow::Result<bool> {
    let seed = report::choose_seed(NAME, args.seed);
    let config = args.into_config(seed);
    let impairment = config.impairment;
    let limits = config.limits;
    let handle = Proxy::start(config).await?;
    let control = match handle.control_addr() {
        Some(addr) => format!("control tcp://{addr}"),
        None => "no control port".to_string(),
    };
    println!(
        "proxy: {} -> {} | {impairment} | {control} | sessions_max={} datagram_bytes_max={} queue_datagrams_max={} session_idle_ms={} | seed {seed} | Ctrl-C stops",
        handle.local_addr(),
        handle.upstream_addr(),
        limits.sessions_max,
        limits.datagram_bytes_max,
        limits.queue_datagrams_max,
        limits.session_idle_ms,
    );
    wait_for_stop_signal().await?;
    let stats = handle.stats();
    handle.shutdown().await?;

    let mut report = Report::new(NAME);
    report.kv("seed", seed.to_string());
    for (prefix, dir) in [
        ("c2u", &stats.client_to_upstream),
        ("u2c", &stats.upstream_to_client),
    ] {
        report.kv(&format!("{prefix}_forwarded"), dir.forwarded);
        report.kv(&format!("{prefix}_dropped"), dir.dropped_total());
    }
    report.kv("sessions_opened", stats.sessions_opened);
    report.detail("stats", serde_json::to_value(stats)?);
    report.finish()?;
    Ok(true)
}

async fn wait_for_stop_signal() -> anyhow::Result<()> {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot listen for SIGTERM")?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result.context("cannot listen for Ctrl-C"),
        _ = terminate.recv() => Ok(()),
    }
}

// ---------------------------------------------------------------------------------------------
// The sans-IO core: one direction of one session

/// What became of a datagram offered to a [`Link`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Blackholed,
    Lost,
    QueueFull,
    Queued { reordered: bool, duplicated: bool },
}

/// A datagram waiting for its delivery time. Ordered by time, then by the order it was queued,
/// so equal times leave in FIFO order.
#[derive(Debug)]
struct Scheduled {
    at: Instant,
    seq: u64,
    bytes: Vec<u8>,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// One direction of one session: decides each datagram's fate when it is offered and holds the
/// delayed ones until they are due. No sockets and no clock: `offer(now, ..)` in,
/// `poll_transmit(now)` / `poll_timeout()` out.
struct Link {
    rng: StdRng,
    queue: BinaryHeap<Reverse<Scheduled>>,
    next_seq: u64,
    /// The latest delivery time given to an in-order datagram; later in-order datagrams are not
    /// delivered before it, so jitter does not reorder.
    in_order_until: Option<Instant>,
    queue_datagrams_max: usize,
}

impl Link {
    fn new(seed: u64, queue_datagrams_max: usize) -> Self {
        Self {
            rng: StdRng::seed_from_u64(seed),
            queue: BinaryHeap::new(),
            next_seq: 0,
            in_order_until: None,
            queue_datagrams_max,
        }
    }

    fn offer(
        &mut self,
        now: Instant,
        bytes: Vec<u8>,
        impairment: &Impairment,
        blackhole: bool,
    ) -> Fate {
        // Every datagram draws the same random numbers whatever the settings, so with a given
        // seed, turning duplication on does not change which datagrams are lost.
        let loss_draw = self.rng.gen::<f64>() * 100.0;
        let reorder_draw = self.rng.gen::<f64>() * 100.0;
        let duplicate_draw = self.rng.gen::<f64>() * 100.0;
        let jitter_us = (impairment.jitter_ms * 1_000) as i64;
        let jitter_draws = [
            self.rng.gen_range(-jitter_us..=jitter_us),
            self.rng.gen_range(-jitter_us..=jitter_us),
        ];

        if blackhole {
            return Fate::Blackholed;
        }
        if loss_draw < impairment.loss_pct {
            return Fate::Lost;
        }
        if self.queue.len() >= self.queue_datagrams_max {
            return Fate::QueueFull;
        }
        let reordered = reorder_draw < impairment.reorder_pct;
        // The copy is skipped rather than counted as a drop when only the original fits.
        let duplicated = duplicate_draw < impairment.duplicate_pct
            && self.queue.len() + 2 <= self.queue_datagrams_max;
        let at = self.delivery_time(now, impairment, jitter_draws[0], reordered);
        let copy = duplicated.then(|| bytes.clone());
        self.push(at, bytes);
        if let Some(copy) = copy {
            let at = self.delivery_time(now, impairment, jitter_draws[1], false);
            self.push(at, copy);
        }
        debug_assert!(self.queue.len() <= self.queue_datagrams_max);
        Fate::Queued {
            reordered,
            duplicated,
        }
    }

    fn delivery_time(
        &mut self,
        now: Instant,
        impairment: &Impairment,
        jitter_us: i64,
        reordered: bool,
    ) -> Instant {
        let delay_us = (impairment.delay_ms * 1_000) as i64 + jitter_us;
        let at = now + Duration::from_micros(delay_us.max(0) as u64);
        if reordered {
            // Not recorded in `in_order_until`: the datagrams behind it must be free to pass.
            return at + Duration::from_millis(impairment.reorder_extra_ms);
        }
        let at = self.in_order_until.map_or(at, |until| at.max(until));
        self.in_order_until = Some(at);
        at
    }

    fn push(&mut self, at: Instant, bytes: Vec<u8>) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.queue.push(Reverse(Scheduled { at, seq, bytes }));
    }

    /// The next datagram due at `now`, if any.
    fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        if self.queue.peek()?.0.at > now {
            return None;
        }
        self.queue.pop().map(|Reverse(scheduled)| scheduled.bytes)
    }

    /// When the next datagram is due.
    fn poll_timeout(&self) -> Option<Instant> {
        self.queue.peek().map(|Reverse(scheduled)| scheduled.at)
    }

    fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

/// SplitMix64: spreads (seed, session ordinal, direction) into unrelated RNG seeds, so two
/// sessions of one run never share a random sequence.
fn derive_seed(seed: u64, session: u64, direction: Direction) -> u64 {
    let mut z = seed
        ^ session.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (direction as u64).wrapping_mul(0xD1B5_4A32_D192_ED03);
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[derive(Debug, Clone, Copy)]
enum Direction {
    ClientToUpstream = 1,
    UpstreamToClient = 2,
}

// ---------------------------------------------------------------------------------------------
// Counters

/// Counters of one direction. Every datagram read is accounted for exactly once:
/// `received + duplicated = forwarded + dropped_total() + send_errors + in flight`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DirectionStats {
    /// Datagrams read from the sending side, including ones dropped afterwards.
    pub received: u64,
    /// Datagrams written to the receiving side, copies included.
    pub forwarded: u64,
    /// Extra copies made.
    pub duplicated: u64,
    /// Datagrams held back so later ones could overtake them.
    pub reordered: u64,
    pub dropped_oversize: u64,
    /// Client to upstream only: `sessions_max` was reached or no upstream socket could be opened.
    pub dropped_no_session: u64,
    /// Dropped by the black-hole, when offered or when due.
    pub dropped_blackhole: u64,
    pub dropped_loss: u64,
    /// `queue_datagrams_max` (or the hand-off to the session) was full.
    pub dropped_queue: u64,
    /// The socket refused a datagram (e.g. the upstream port is closed).
    pub send_errors: u64,
    /// Receive errors on the sending side's socket (not datagrams).
    pub recv_errors: u64,
}

impl DirectionStats {
    pub fn dropped_total(&self) -> u64 {
        self.dropped_oversize
            + self.dropped_no_session
            + self.dropped_blackhole
            + self.dropped_loss
            + self.dropped_queue
    }

    /// Every datagram received has left, one way or another; nothing is in flight.
    #[cfg_attr(not(test), allow(dead_code))] // In-process API for waiting on a quiet link.
    pub fn settled(&self) -> bool {
        self.received + self.duplicated == self.forwarded + self.dropped_total() + self.send_errors
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ProxyStats {
    pub client_to_upstream: DirectionStats,
    pub upstream_to_client: DirectionStats,
    /// Sessions open now.
    pub sessions: u64,
    pub sessions_opened: u64,
    pub sessions_expired: u64,
    pub blackhole: bool,
    pub impairment: Impairment,
}

#[derive(Default)]
struct DirectionCounters {
    received: AtomicU64,
    forwarded: AtomicU64,
    duplicated: AtomicU64,
    reordered: AtomicU64,
    dropped_oversize: AtomicU64,
    dropped_no_session: AtomicU64,
    dropped_blackhole: AtomicU64,
    dropped_loss: AtomicU64,
    dropped_queue: AtomicU64,
    send_errors: AtomicU64,
    recv_errors: AtomicU64,
}

impl DirectionCounters {
    /// Counters are independent relaxed atomics: a snapshot taken under traffic may be a few
    /// datagrams apart between fields, which is why tests wait for [`DirectionStats::settled`].
    fn snapshot(&self) -> DirectionStats {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        DirectionStats {
            received: get(&self.received),
            forwarded: get(&self.forwarded),
            duplicated: get(&self.duplicated),
            reordered: get(&self.reordered),
            dropped_oversize: get(&self.dropped_oversize),
            dropped_no_session: get(&self.dropped_no_session),
            dropped_blackhole: get(&self.dropped_blackhole),
            dropped_loss: get(&self.dropped_loss),
            dropped_queue: get(&self.dropped_queue),
            send_errors: get(&self.send_errors),
            recv_errors: get(&self.recv_errors),
        }
    }

    fn count_fate(&self, fate: Fate) {
        let counter = match fate {
            Fate::Blackholed => &self.dropped_blackhole,
            Fate::Lost => &self.dropped_loss,
            Fate::QueueFull => &self.dropped_queue,
            Fate::Queued {
                reordered,
                duplicated,
            } => {
                if reordered {
                    bump(&self.reordered);
                }
                if duplicated {
                    bump(&self.duplicated);
                }
                return;
            }
        };
        bump(counter);
    }
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

// ---------------------------------------------------------------------------------------------
// Shared state and the in-process API

/// A session as the listen task sees it: where to hand the client's datagrams.
struct SessionEntry {
    ordinal: u64,
    to_session: mpsc::Sender<Vec<u8>>,
}

struct Shared {
    upstream: SocketAddr,
    seed: u64,
    limits: ProxyLimits,
    impairment: Mutex<Impairment>,
    blackhole: AtomicBool,
    client_to_upstream: DirectionCounters,
    upstream_to_client: DirectionCounters,
    /// Owned by the listen task for inserts; a session task removes itself. Never held across
    /// an await.
    sessions: Mutex<HashMap<SocketAddr, SessionEntry>>,
    sessions_opened: AtomicU64,
    sessions_expired: AtomicU64,
    /// Woken after every change of the counters, so callers await a condition instead of
    /// polling.
    changed: Notify,
}

impl Shared {
    fn sessions(&self) -> MutexGuard<'_, HashMap<SocketAddr, SessionEntry>> {
        // A panicking holder cannot leave the map half-updated (every update is one call), so a
        // poisoned lock is still safe to use.
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn impairment(&self) -> Impairment {
        *self.impairment.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn blackhole(&self) -> bool {
        self.blackhole.load(Ordering::Relaxed)
    }

    fn remove_session(&self, client: SocketAddr, ordinal: u64) {
        let mut sessions = self.sessions();
        if sessions.get(&client).map(|entry| entry.ordinal) == Some(ordinal) {
            sessions.remove(&client);
        }
    }
}

/// Runtime control of a running proxy, for tests and other simulations in process and behind
/// the TCP control port. Cheap to clone.
#[derive(Clone)]
pub struct ProxyControl {
    shared: Arc<Shared>,
}

impl ProxyControl {
    /// On: every datagram either way is dropped, including ones already waiting out their delay,
    /// as if the cable were cut. Off: traffic flows again; sessions survive.
    pub fn set_blackhole(&self, on: bool) {
        self.shared.blackhole.store(on, Ordering::Relaxed);
        self.shared.changed.notify_waiters();
    }

    /// Applies to datagrams offered from now on; queued ones keep their delivery time.
    pub fn set_impairment(&self, impairment: Impairment) -> anyhow::Result<()> {
        impairment.validate()?;
        *self
            .shared
            .impairment
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = impairment;
        self.shared.changed.notify_waiters();
        Ok(())
    }

    pub fn impairment(&self) -> Impairment {
        self.shared.impairment()
    }

    pub fn stats(&self) -> ProxyStats {
        let shared = &self.shared;
        ProxyStats {
            client_to_upstream: shared.client_to_upstream.snapshot(),
            upstream_to_client: shared.upstream_to_client.snapshot(),
            sessions: shared.sessions().len() as u64,
            sessions_opened: shared.sessions_opened.load(Ordering::Relaxed),
            sessions_expired: shared.sessions_expired.load(Ordering::Relaxed),
            blackhole: shared.blackhole(),
            impairment: shared.impairment(),
        }
    }

    /// Waits until `done(stats)` holds and returns those stats. Never returns if it never
    /// holds: wrap it in `tokio::time::timeout`.
    #[cfg_attr(not(test), allow(dead_code))] // In-process API; the binary waits on Ctrl-C instead.
    pub async fn until(&self, mut done: impl FnMut(&ProxyStats) -> bool) -> ProxyStats {
        loop {
            // Registered before the check, so a change between the check and the await still
            // wakes us.
            let changed = self.shared.changed.notified();
            let stats = self.stats();
            if done(&stats) {
                return stats;
            }
            changed.await;
        }
    }
}

/// Starts proxies; the running state lives in the tasks and the returned [`ProxyHandle`].
pub struct Proxy;

impl Proxy {
    /// Binds the listen (and control) sockets and starts relaying. Dropping the handle stops
    /// the proxy too; [`ProxyHandle::shutdown`] also waits for the tasks to end.
    pub async fn start(config: ProxyConfig) -> anyhow::Result<ProxyHandle> {
        config.impairment.validate()?;
        config.limits.validate()?;
        let listen = UdpSocket::bind(config.listen)
            .await
            .with_context(|| format!("cannot bind the UDP listen address {}", config.listen))?;
        let local_addr = listen.local_addr()?;
        let control_listener = match config.control {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("cannot bind the TCP control address {addr}"))?,
            ),
            None => None,
        };
        let control_addr = match &control_listener {
            Some(listener) => Some(listener.local_addr()?),
            None => None,
        };
        let shared = Arc::new(Shared {
            upstream: config.upstream,
            seed: config.seed,
            limits: config.limits,
            impairment: Mutex::new(config.impairment),
            blackhole: AtomicBool::new(false),
            client_to_upstream: DirectionCounters::default(),
            upstream_to_client: DirectionCounters::default(),
            sessions: Mutex::new(HashMap::new()),
            sessions_opened: AtomicU64::new(0),
            sessions_expired: AtomicU64::new(0),
            changed: Notify::new(),
        });
        let control = ProxyControl { shared };
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let mut tasks = vec![tokio::spawn(run_listener(
            control.shared.clone(),
            Arc::new(listen),
            shutdown_rx.clone(),
        ))];
        if let Some(listener) = control_listener {
            tasks.push(tokio::spawn(run_control_server(
                listener,
                control.clone(),
                shutdown_rx,
            )));
        }
        Ok(ProxyHandle {
            control,
            local_addr,
            control_addr,
            shutdown_tx,
            tasks,
        })
    }
}

/// A running proxy. Derefs to its [`ProxyControl`], so `handle.set_blackhole(true)`,
/// `handle.set_impairment(..)` and `handle.stats()` are the same verbs the control port uses.
pub struct ProxyHandle {
    control: ProxyControl,
    local_addr: SocketAddr,
    control_addr: Option<SocketAddr>,
    /// Dropping it stops every task (they wait on it), so a forgotten handle leaks nothing.
    shutdown_tx: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::ops::Deref for ProxyHandle {
    type Target = ProxyControl;

    fn deref(&self) -> &ProxyControl {
        &self.control
    }
}

impl ProxyHandle {
    /// The bound listen address (the real port when the config said 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub fn upstream_addr(&self) -> SocketAddr {
        self.control.shared.upstream
    }

    /// The bound control address, if the config asked for one.
    pub fn control_addr(&self) -> Option<SocketAddr> {
        self.control_addr
    }

    /// A control that outlives borrows of the handle, e.g. for another task.
    #[cfg_attr(not(test), allow(dead_code))] // In-process API; the binary has one owner.
    pub fn control(&self) -> ProxyControl {
        self.control.clone()
    }

    /// Stops relaying, closes every socket and waits for the tasks. Queued datagrams are
    /// discarded.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        self.shutdown_tx.send_replace(true);
        for task in self.tasks {
            task.await.context("a proxy task panicked")?;
        }
        Ok(())
    }
}

/// Resolves when the proxy stops: on `shutdown` or when the handle is dropped. `wait_for` checks
/// the current value first, so a task started after the signal still sees it.
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

// ---------------------------------------------------------------------------------------------
// The relay tasks

/// Reads the clients' datagrams and hands each to its session, opening sessions as needed.
async fn run_listener(
    shared: Arc<Shared>,
    listen: Arc<UdpSocket>,
    mut shutdown: watch::Receiver<bool>,
) {
    let counters = &shared.client_to_upstream;
    // One byte more than the limit, so an oversize datagram shows as a full buffer instead of
    // being silently truncated to the limit.
    let mut buf = vec![0u8; shared.limits.datagram_bytes_max + 1];
    let mut session_tasks = JoinSet::new();
    loop {
        tokio::select! {
            biased;
            _ = stopped(&mut shutdown) => break,
            Some(_) = session_tasks.join_next(), if !session_tasks.is_empty() => {}
            result = listen.recv_from(&mut buf) => {
                match result {
                    Ok((len, client)) => {
                        bump(&counters.received);
                        if len > shared.limits.datagram_bytes_max {
                            bump(&counters.dropped_oversize);
                        } else {
                            let datagram = buf[..len].to_vec();
                            hand_to_session(&shared, &listen, &shutdown, &mut session_tasks, client, datagram);
                        }
                    }
                    Err(_) => {
                        bump(&counters.recv_errors);
                        tokio::time::sleep(Duration::from_millis(RECV_ERROR_BACKOFF_MS)).await;
                    }
                }
                shared.changed.notify_waiters();
            }
        }
    }
    // Session tasks see the same signal; wait so that `shutdown` returning means the sockets
    // are closed.
    while session_tasks.join_next().await.is_some() {}
}

fn hand_to_session(
    shared: &Arc<Shared>,
    listen: &Arc<UdpSocket>,
    shutdown: &watch::Receiver<bool>,
    session_tasks: &mut JoinSet<()>,
    client: SocketAddr,
    datagram: Vec<u8>,
) {
    let counters = &shared.client_to_upstream;
    let datagram = {
        let mut sessions = shared.sessions();
        // Sent under the lock: a session that finds its hand-off empty under the same lock can
        // expire without losing a datagram.
        let Some(entry) = sessions.get(&client) else {
            drop(sessions);
            return open_session(shared, listen, shutdown, session_tasks, client, datagram);
        };
        match entry.to_session.try_send(datagram) {
            Ok(()) => return,
            Err(mpsc::error::TrySendError::Full(_)) => {
                bump(&counters.dropped_queue);
                return;
            }
            // The session ended on its own; a fresh one takes over below.
            Err(mpsc::error::TrySendError::Closed(datagram)) => {
                sessions.remove(&client);
                datagram
            }
        }
    };
    open_session(shared, listen, shutdown, session_tasks, client, datagram);
}

/// Opens a session for a new client, unless `sessions_max` is reached, and hands it its first
/// datagram.
fn open_session(
    shared: &Arc<Shared>,
    listen: &Arc<UdpSocket>,
    shutdown: &watch::Receiver<bool>,
    session_tasks: &mut JoinSet<()>,
    client: SocketAddr,
    datagram: Vec<u8>,
) {
    let counters = &shared.client_to_upstream;
    if shared.sessions().len() >= shared.limits.sessions_max {
        bump(&counters.dropped_no_session);
        return;
    }
    let upstream = match open_upstream_socket(shared.upstream) {
        Ok(socket) => socket,
        Err(_) => {
            // Out of file descriptors or ports; the client's retransmission will try again.
            bump(&counters.dropped_no_session);
            return;
        }
    };
    let ordinal = shared.sessions_opened.fetch_add(1, Ordering::Relaxed);
    let (to_session, from_listener) = mpsc::channel(HANDOFF_DATAGRAMS_MAX);
    // Cannot fail: the channel is new and empty.
    let _ = to_session.try_send(datagram);
    shared.sessions().insert(
        client,
        SessionEntry {
            ordinal,
            to_session,
        },
    );
    let session = Session {
        shared: shared.clone(),
        listen: listen.clone(),
        upstream,
        client,
        ordinal,
        from_listener,
        shutdown: shutdown.clone(),
    };
    session_tasks.spawn(session.run());
}

/// An unspecified-address socket of the upstream's family, connected to the upstream so the
/// kernel filters out datagrams from anyone else.
fn open_upstream_socket(upstream: SocketAddr) -> anyhow::Result<UdpSocket> {
    let any: IpAddr = match upstream {
        SocketAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
        SocketAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
    };
    let socket = std::net::UdpSocket::bind(SocketAddr::new(any, 0))?;
    socket.connect(upstream)?;
    socket.set_nonblocking(true)?;
    Ok(UdpSocket::from_std(socket)?)
}

struct Session {
    shared: Arc<Shared>,
    listen: Arc<UdpSocket>,
    upstream: UdpSocket,
    client: SocketAddr,
    ordinal: u64,
    from_listener: mpsc::Receiver<Vec<u8>>,
    shutdown: watch::Receiver<bool>,
}

impl Session {
    async fn run(mut self) {
        let shared = self.shared.clone();
        let limits = shared.limits;
        let mut to_upstream = Link::new(
            derive_seed(shared.seed, self.ordinal, Direction::ClientToUpstream),
            limits.queue_datagrams_max,
        );
        let mut to_client = Link::new(
            derive_seed(shared.seed, self.ordinal, Direction::UpstreamToClient),
            limits.queue_datagrams_max,
        );
        let idle = Duration::from_millis(limits.session_idle_ms);
        let mut buf = vec![0u8; limits.datagram_bytes_max + 1];
        let mut last_activity = Instant::now();
        loop {
            self.flush(&mut to_upstream, &mut to_client).await;
            shared.changed.notify_waiters();
            let next_due = [to_upstream.poll_timeout(), to_client.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            let idle_at = last_activity + idle;
            let quiet = to_upstream.is_empty() && to_client.is_empty();
            tokio::select! {
                biased;
                _ = stopped(&mut self.shutdown) => break,
                datagram = self.from_listener.recv() => {
                    let Some(datagram) = datagram else { break };
                    last_activity = Instant::now();
                    self.offer(&mut to_upstream, Direction::ClientToUpstream, last_activity, datagram);
                }
                result = self.upstream.recv(&mut buf) => {
                    let counters = &shared.upstream_to_client;
                    match result {
                        Ok(len) => {
                            bump(&counters.received);
                            last_activity = Instant::now();
                            if len > limits.datagram_bytes_max {
                                bump(&counters.dropped_oversize);
                            } else {
                                self.offer(&mut to_client, Direction::UpstreamToClient, last_activity, buf[..len].to_vec());
                            }
                        }
                        // The ICMP answer to an earlier send to a closed upstream port: one per
                        // datagram sent, so no spin. The session stays, for when the upstream
                        // comes back.
                        Err(e) if e.kind() == ErrorKind::ConnectionRefused => bump(&counters.recv_errors),
                        Err(_) => {
                            bump(&counters.recv_errors);
                            tokio::time::sleep(Duration::from_millis(RECV_ERROR_BACKOFF_MS)).await;
                        }
                    }
                }
                _ = tokio::time::sleep_until(next_due.unwrap_or(idle_at).into()), if next_due.is_some() => {}
                _ = tokio::time::sleep_until(idle_at.into()), if quiet => {
                    match self.try_expire() {
                        Ok(()) => {
                            bump(&shared.sessions_expired);
                            break;
                        }
                        Err(datagram) => {
                            last_activity = Instant::now();
                            self.offer(&mut to_upstream, Direction::ClientToUpstream, last_activity, datagram);
                        }
                    }
                }
            }
        }
        shared.remove_session(self.client, self.ordinal);
        shared.changed.notify_waiters();
    }

    fn offer(&self, link: &mut Link, direction: Direction, now: Instant, datagram: Vec<u8>) {
        let counters = match direction {
            Direction::ClientToUpstream => &self.shared.client_to_upstream,
            Direction::UpstreamToClient => &self.shared.upstream_to_client,
        };
        let fate = link.offer(
            now,
            datagram,
            &self.shared.impairment(),
            self.shared.blackhole(),
        );
        counters.count_fate(fate);
    }

    /// Sends every datagram that is due, in both directions.
    async fn flush(&self, to_upstream: &mut Link, to_client: &mut Link) {
        let now = Instant::now();
        while let Some(datagram) = to_upstream.poll_transmit(now) {
            let counters = &self.shared.client_to_upstream;
            if self.shared.blackhole() {
                bump(&counters.dropped_blackhole);
            } else if self.upstream.send(&datagram).await.is_ok() {
                bump(&counters.forwarded);
            } else {
                bump(&counters.send_errors);
            }
        }
        while let Some(datagram) = to_client.poll_transmit(now) {
            let counters = &self.shared.upstream_to_client;
            if self.shared.blackhole() {
                bump(&counters.dropped_blackhole);
            } else if self.listen.send_to(&datagram, self.client).await.is_ok() {
                bump(&counters.forwarded);
            } else {
                bump(&counters.send_errors);
            }
        }
    }

    /// Leaves the session map if no datagram is waiting in the hand-off. Checked under the map
    /// lock, under which the listen task also sends, so no datagram is stranded in a closed
    /// session. A datagram that arrived just in time is returned instead, for the caller to
    /// offer.
    fn try_expire(&mut self) -> Result<(), Vec<u8>> {
        let mut sessions = self.shared.sessions();
        if let Ok(datagram) = self.from_listener.try_recv() {
            return Err(datagram);
        }
        if sessions.get(&self.client).map(|entry| entry.ordinal) == Some(self.ordinal) {
            sessions.remove(&self.client);
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// The control port

/// One line on the control port.
#[derive(Debug, Clone, Copy, PartialEq)]
enum ControlCommand {
    Blackhole(bool),
    Loss(f64),
    Delay(u64),
    Jitter(u64),
    Reorder(f64),
    Duplicate(f64),
    Stats,
    Help,
}

const CONTROL_HELP: &str = "commands: blackhole on|off, loss PCT, delay MS, jitter MS, reorder PCT, duplicate PCT, stats, help";

impl ControlCommand {
    /// Parses `verb [argument]`; the error is the message sent back after `error `.
    fn parse(line: &str) -> Result<Self, String> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let pct = |arg: &str| -> Result<f64, String> {
            arg.trim_end_matches('%')
                .parse::<f64>()
                .map_err(|_| format!("{arg:?} is not a percentage"))
        };
        let ms = |arg: &str| -> Result<u64, String> {
            arg.trim_end_matches("ms")
                .parse::<u64>()
                .map_err(|_| format!("{arg:?} is not a whole number of milliseconds"))
        };
        match words.as_slice() {
            ["blackhole", "on"] => Ok(Self::Blackhole(true)),
            ["blackhole", "off"] => Ok(Self::Blackhole(false)),
            ["loss", arg] => pct(arg).map(Self::Loss),
            ["delay", arg] => ms(arg).map(Self::Delay),
            ["jitter", arg] => ms(arg).map(Self::Jitter),
            ["reorder", arg] => pct(arg).map(Self::Reorder),
            ["duplicate", arg] => pct(arg).map(Self::Duplicate),
            ["stats"] => Ok(Self::Stats),
            ["help"] => Ok(Self::Help),
            [] => Err(format!("empty command; {CONTROL_HELP}")),
            _ => {
                let shown: String = line.trim().chars().take(40).collect();
                Err(format!("unknown command {shown:?}; {CONTROL_HELP}"))
            }
        }
    }

    /// Applies the command; the reply line without its newline.
    fn apply(self, control: &ProxyControl) -> String {
        let mut impairment = control.impairment();
        match self {
            Self::Blackhole(on) => {
                control.set_blackhole(on);
                return format!("ok blackhole {}", if on { "on" } else { "off" });
            }
            Self::Stats => {
                return serde_json::to_string(&control.stats())
                    .unwrap_or_else(|e| format!("error cannot encode the stats: {e}"));
            }
            Self::Help => return format!("ok {CONTROL_HELP}"),
            Self::Loss(pct) => impairment.loss_pct = pct,
            Self::Delay(ms) => impairment.delay_ms = ms,
            Self::Jitter(ms) => impairment.jitter_ms = ms,
            Self::Reorder(pct) => impairment.reorder_pct = pct,
            Self::Duplicate(pct) => impairment.duplicate_pct = pct,
        }
        match control.set_impairment(impairment) {
            Ok(()) => format!("ok {impairment}"),
            Err(e) => format!("error {e:#}"),
        }
    }
}

async fn run_control_server(
    listener: TcpListener,
    control: ProxyControl,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            biased;
            _ = stopped(&mut shutdown) => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => {
                let Ok((mut stream, _)) = accepted else {
                    // Typically out of file descriptors; pause instead of spinning.
                    tokio::time::sleep(Duration::from_millis(RECV_ERROR_BACKOFF_MS)).await;
                    continue;
                };
                if connections.len() >= CONTROL_CONNECTIONS_MAX {
                    let reply = format!("error too many control connections (control_connections_max {CONTROL_CONNECTIONS_MAX})\n");
                    let _ = stream.write_all(reply.as_bytes()).await;
                    continue;
                }
                connections.spawn(serve_control_connection(stream, control.clone(), shutdown.clone()));
            }
        }
    }
    connections.shutdown().await;
}

/// Answers one line per command until the peer closes, sends an over-long line, or the proxy
/// stops. Bad input gets an `error ...` line, never a crash.
async fn serve_control_connection(
    stream: TcpStream,
    control: ProxyControl,
    mut shutdown: watch::Receiver<bool>,
) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut line = Vec::new();
    loop {
        line.clear();
        let mut bounded = (&mut reader).take(CONTROL_LINE_BYTES_MAX as u64 + 1);
        let read_line = bounded.read_until(b'\n', &mut line);
        let read = tokio::select! {
            _ = stopped(&mut shutdown) => return,
            read = read_line => read,
        };
        let reply = match read {
            Ok(0) | Err(_) => return,
            Ok(_) if line.len() > CONTROL_LINE_BYTES_MAX => {
                let reply = format!(
                    "error line longer than {CONTROL_LINE_BYTES_MAX} bytes (control_line_bytes_max); closing\n"
                );
                let _ = write.write_all(reply.as_bytes()).await;
                return;
            }
            Ok(_) => match std::str::from_utf8(&line) {
                Ok(text) => match ControlCommand::parse(text) {
                    Ok(command) => command.apply(&control),
                    Err(message) => format!("error {message}"),
                },
                Err(_) => "error the command is not UTF-8 text".to_string(),
            },
        };
        if write
            .write_all(format!("{reply}\n").as_bytes())
            .await
            .is_err()
        {
            return;
        }
    }
}

// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use tokio::time::timeout;

    use super::*;

    // ---- the sans-IO link, in virtual time ----

    /// Offers `sends` — (time in ms, payload byte) in time order — to a fresh link and returns
    /// each datagram's fate and the deliveries as (time in ms, payload byte).
    fn drive(
        impairment: Impairment,
        queue_datagrams_max: usize,
        blackhole: bool,
        sends: &[(u64, u8)],
    ) -> (Vec<Fate>, Vec<(u64, u8)>) {
        let start = Instant::now();
        let mut link = Link::new(102, queue_datagrams_max);
        let mut fates = Vec::new();
        let mut delivered = Vec::new();
        let mut deliver_until = |link: &mut Link, until: Option<Instant>| {
            while let Some(at) = link.poll_timeout() {
                if until.is_some_and(|until| at > until) {
                    break;
                }
                let bytes = link.poll_transmit(at).expect("due at its own timeout");
                delivered.push(((at - start).as_millis() as u64, bytes[0]));
            }
        };
        for &(ms, payload) in sends {
            let now = start + Duration::from_millis(ms);
            deliver_until(&mut link, Some(now));
            fates.push(link.offer(now, vec![payload], &impairment, blackhole));
        }
        deliver_until(&mut link, None);
        (fates, delivered)
    }

    fn check(impairment: Impairment, sends: &[(u64, u8)], expect: &[(u64, u8)]) {
        let (_, delivered) = drive(impairment, QUEUE_DATAGRAMS_MAX, false, sends);
        assert_eq!(delivered, expect, "{impairment}, sends {sends:?}");
    }

    const QUEUED: Fate = Fate::Queued {
        reordered: false,
        duplicated: false,
    };

    #[test]
    fn link_delivers_at_the_delay_in_order() {
        let sends = [(0, 1), (0, 2), (5, 3)];
        check(Impairment::NONE, &sends, &[(0, 1), (0, 2), (5, 3)]);
        let delayed = Impairment {
            delay_ms: 50,
            ..Impairment::NONE
        };
        check(delayed, &sends, &[(50, 1), (50, 2), (55, 3)]);
        let duplicated = Impairment {
            delay_ms: 10,
            duplicate_pct: 100.0,
            ..Impairment::NONE
        };
        check(
            duplicated,
            &[(0, 1), (1, 2)],
            &[(10, 1), (10, 1), (11, 2), (11, 2)],
        );
        let lost = Impairment {
            loss_pct: 100.0,
            ..Impairment::NONE
        };
        check(lost, &sends, &[]);
    }

    #[test]
    fn link_drops_when_blackholed_or_full() {
        let delayed = Impairment {
            delay_ms: 10,
            ..Impairment::NONE
        };
        let sends = [(0, 1), (0, 2), (0, 3), (20, 4)];
        let (fates, delivered) = drive(delayed, 2, false, &sends);
        assert_eq!(fates, [QUEUED, QUEUED, Fate::QueueFull, QUEUED]);
        assert_eq!(delivered, [(10, 1), (10, 2), (30, 4)]);
        let (fates, delivered) = drive(delayed, 2, true, &sends);
        assert_eq!(fates, [Fate::Blackholed; 4]);
        assert!(delivered.is_empty());
    }

    #[test]
    fn link_jitter_varies_the_delay_but_keeps_the_order() {
        let impairment = Impairment {
            delay_ms: 50,
            jitter_ms: 20,
            ..Impairment::NONE
        };
        let sends: Vec<(u64, u8)> = (0..200).map(|i| (i as u64 * 2, i as u8)).collect();
        let (_, delivered) = drive(impairment, QUEUE_DATAGRAMS_MAX, false, &sends);
        let order: Vec<u8> = delivered.iter().map(|&(_, payload)| payload).collect();
        let sent: Vec<u8> = sends.iter().map(|&(_, payload)| payload).collect();
        assert_eq!(order, sent, "jitter alone must not reorder");
        let delays: BTreeSet<u64> = delivered
            .iter()
            .zip(&sends)
            .map(|(&(at, _), &(sent_at, _))| at - sent_at)
            .collect();
        assert!(delays.first() >= Some(&30), "delays {delays:?}");
        assert!(
            delays.len() > 10,
            "jitter should vary the delay: {delays:?}"
        );
    }

    #[test]
    fn link_reorders_by_holding_datagrams_back() {
        let impairment = Impairment {
            delay_ms: 10,
            reorder_pct: 25.0,
            reorder_extra_ms: 20,
            ..Impairment::NONE
        };
        let sends: Vec<(u64, u8)> = (0..200).map(|i| (i as u64, i as u8)).collect();
        let (fates, delivered) = drive(impairment, QUEUE_DATAGRAMS_MAX, false, &sends);
        let reordered = fates
            .iter()
            .filter(|fate| {
                matches!(
                    fate,
                    Fate::Queued {
                        reordered: true,
                        ..
                    }
                )
            })
            .count();
        assert!((30..=70).contains(&reordered), "reordered {reordered}");
        assert_eq!(delivered.len(), sends.len(), "reordering loses nothing");
        let overtaken = delivered
            .windows(2)
            .filter(|pair| pair[1].1 < pair[0].1)
            .count();
        assert!(overtaken > 0, "some datagram must arrive after a later one");
    }

    #[test]
    fn link_loss_is_seeded_and_near_its_probability() {
        let impairment = Impairment {
            loss_pct: 30.0,
            ..Impairment::NONE
        };
        let sends: Vec<(u64, u8)> = (0..2_000).map(|i| (0, i as u8)).collect();
        let run = || drive(impairment, usize::MAX, false, &sends).0;
        let fates = run();
        assert_eq!(fates, run(), "the same seed replays the same fates");
        let lost = fates.iter().filter(|&&fate| fate == Fate::Lost).count();
        assert!((500..=700).contains(&lost), "lost {lost} of 2000");
    }

    #[test]
    fn impairment_and_limits_refuse_bad_values() {
        let check = |impairment: Impairment, ok: bool| {
            assert_eq!(impairment.validate().is_ok(), ok, "{impairment}");
        };
        check(Impairment::NONE, true);
        for bad_pct in [-1.0, 100.5, f64::NAN] {
            check(
                Impairment {
                    loss_pct: bad_pct,
                    ..Impairment::NONE
                },
                false,
            );
        }
        check(
            Impairment {
                delay_ms: IMPAIRMENT_DELAY_MS_MAX + 1,
                ..Impairment::NONE
            },
            false,
        );
        let limits = ProxyLimits {
            datagram_bytes_max: DATAGRAM_BYTES_MAX + 1,
            ..ProxyLimits::default()
        };
        assert!(limits.validate().is_err());
        assert!(ProxyLimits::default().validate().is_ok());
    }

    #[test]
    fn control_commands_parse_or_explain() {
        let check = |line: &str, expect: Result<ControlCommand, &str>| {
            let parsed = ControlCommand::parse(line);
            match expect {
                Ok(command) => assert_eq!(parsed, Ok(command), "{line:?}"),
                Err(fragment) => {
                    let message = parsed.expect_err(line);
                    assert!(message.contains(fragment), "{line:?}: {message}");
                }
            }
        };
        check("blackhole on\n", Ok(ControlCommand::Blackhole(true)));
        check(
            "  blackhole   off\r\n",
            Ok(ControlCommand::Blackhole(false)),
        );
        check("loss 30", Ok(ControlCommand::Loss(30.0)));
        check("loss 12.5%", Ok(ControlCommand::Loss(12.5)));
        check("delay 250", Ok(ControlCommand::Delay(250)));
        check("jitter 20ms", Ok(ControlCommand::Jitter(20)));
        check("reorder 5", Ok(ControlCommand::Reorder(5.0)));
        check("duplicate 1", Ok(ControlCommand::Duplicate(1.0)));
        check("stats", Ok(ControlCommand::Stats));
        check("", Err("empty command"));
        check("loss lots", Err("not a percentage"));
        check("delay -5", Err("not a whole number"));
        check("blackhole maybe", Err("unknown command"));
        check("rm -rf /", Err("unknown command"));
    }

    // ---- the relay over loopback ----

    /// Awaited conditions fail after this instead of hanging the test run.
    const DEADLINE: Duration = Duration::from_secs(10);
    /// How long "nothing arrives" is watched for.
    const QUIET: Duration = Duration::from_millis(300);
    const LOCALHOST: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);

    /// An upstream that answers every datagram to its sender with `reply(datagram)` and
    /// remembers the senders. Its task ends when it is dropped.
    struct Echo {
        addr: SocketAddr,
        peers: Arc<Mutex<BTreeSet<SocketAddr>>>,
        _task: JoinSet<()>,
    }

    impl Echo {
        async fn start(reply: fn(&[u8]) -> Vec<u8>) -> Self {
            let socket = UdpSocket::bind(LOCALHOST).await.expect("bind echo");
            let addr = socket.local_addr().expect("echo address");
            let peers = Arc::new(Mutex::new(BTreeSet::new()));
            let seen = peers.clone();
            let mut task = JoinSet::new();
            task.spawn(async move {
                let mut buf = vec![0u8; DATAGRAM_BYTES_MAX];
                while let Ok((len, peer)) = socket.recv_from(&mut buf).await {
                    seen.lock().expect("peers").insert(peer);
                    let _ = socket.send_to(&reply(&buf[..len]), peer).await;
                }
            });
            Self {
                addr,
                peers,
                _task: task,
            }
        }

        fn peers(&self) -> BTreeSet<SocketAddr> {
            self.peers.lock().expect("peers").clone()
        }
    }

    fn same(datagram: &[u8]) -> Vec<u8> {
        datagram.to_vec()
    }

    async fn start(echo: &Echo, configure: impl FnOnce(&mut ProxyConfig)) -> ProxyHandle {
        let mut config = ProxyConfig::new(LOCALHOST, echo.addr, 102);
        configure(&mut config);
        Proxy::start(config).await.expect("proxy starts")
    }

    async fn client(proxy: &ProxyHandle) -> UdpSocket {
        let socket = UdpSocket::bind(LOCALHOST).await.expect("bind client");
        socket.connect(proxy.local_addr()).await.expect("connect");
        socket
    }

    async fn recv(socket: &UdpSocket) -> Vec<u8> {
        let mut buf = vec![0u8; DATAGRAM_BYTES_MAX];
        let len = timeout(DEADLINE, socket.recv(&mut buf))
            .await
            .expect("a datagram within the deadline")
            .expect("recv");
        buf.truncate(len);
        buf
    }

    async fn assert_quiet(socket: &UdpSocket) {
        let mut buf = vec![0u8; DATAGRAM_BYTES_MAX];
        let got = timeout(QUIET, socket.recv(&mut buf)).await;
        assert!(got.is_err(), "expected nothing, got {got:?}");
    }

    async fn until(proxy: &ProxyHandle, done: impl FnMut(&ProxyStats) -> bool) -> ProxyStats {
        match timeout(DEADLINE, proxy.until(done)).await {
            Ok(stats) => stats,
            Err(_) => panic!(
                "condition not met in {DEADLINE:?}; stats {:?}",
                proxy.stats()
            ),
        }
    }

    /// Both directions have accounted for everything sent so far.
    fn settled(stats: &ProxyStats) -> bool {
        stats.client_to_upstream.settled() && stats.upstream_to_client.settled()
    }

    #[tokio::test]
    async fn no_impairment_echoes_every_datagram_in_order() {
        let echo = Echo::start(same).await;
        let proxy = start(&echo, |_| {}).await;
        let socket = client(&proxy).await;
        for i in 0u32..200 {
            socket.send(&i.to_be_bytes()).await.expect("send");
            assert_eq!(recv(&socket).await, i.to_be_bytes());
        }
        let stats = until(&proxy, settled).await;
        assert_eq!(stats.client_to_upstream.forwarded, 200);
        assert_eq!(stats.upstream_to_client.forwarded, 200);
        assert_eq!(stats.client_to_upstream.dropped_total(), 0);
        assert_eq!(stats.sessions, 1);
        proxy.shutdown().await.expect("clean shutdown");
    }

    #[tokio::test]
    async fn loss_30_pct_is_measured_and_stats_agree_with_the_client() {
        const DATAGRAMS: u32 = 2_000;
        // Small batches keep every socket buffer far from full, so only the proxy drops.
        const BATCH: u32 = 25;
        let echo = Echo::start(same).await;
        let proxy = start(&echo, |config| config.impairment.loss_pct = 30.0).await;
        let socket = client(&proxy).await;
        let mut seen: Vec<u32> = Vec::new();
        for batch in 0..DATAGRAMS / BATCH {
            for i in batch * BATCH..(batch + 1) * BATCH {
                socket.send(&i.to_be_bytes()).await.expect("send");
            }
            let sent = ((batch + 1) * BATCH) as u64;
            // Everything sent has been dropped or echoed and the echoes dropped or forwarded.
            let stats = until(&proxy, |s| {
                s.client_to_upstream.received == sent
                    && s.upstream_to_client.received == s.client_to_upstream.forwarded
                    && settled(s)
            })
            .await;
            while (seen.len() as u64) < stats.upstream_to_client.forwarded {
                let datagram = recv(&socket).await;
                seen.push(u32::from_be_bytes(datagram.try_into().expect("4 bytes")));
            }
        }
        assert_quiet(&socket).await;
        let stats = proxy.stats();
        let (c2u, u2c) = (stats.client_to_upstream, stats.upstream_to_client);
        assert_eq!(c2u.received, DATAGRAMS as u64);
        assert_eq!(c2u.forwarded + c2u.dropped_loss, c2u.received);
        assert_eq!(u2c.forwarded + u2c.dropped_loss, u2c.received);
        assert_eq!(
            seen.len() as u64,
            u2c.forwarded,
            "the client saw what the proxy forwarded"
        );
        assert!(
            seen.windows(2).all(|pair| pair[0] < pair[1]),
            "in order, no duplicates"
        );
        for (name, dir) in [("client->upstream", c2u), ("upstream->client", u2c)] {
            let loss = dir.dropped_loss as f64 / dir.received as f64;
            assert!(
                (0.25..=0.35).contains(&loss),
                "{name} loss {loss:.3} ({dir:?})"
            );
        }
        let delivered = seen.len() as f64 / DATAGRAMS as f64;
        assert!(
            (0.43..=0.55).contains(&delivered),
            "round trips delivered {delivered:.3}"
        );
    }

    #[tokio::test]
    async fn delay_50_ms_one_way_makes_the_round_trip_at_least_100_ms() {
        let echo = Echo::start(same).await;
        let proxy = start(&echo, |config| config.impairment.delay_ms = 50).await;
        let socket = client(&proxy).await;
        for i in 0u8..3 {
            let sent_at = Instant::now();
            socket.send(&[i]).await.expect("send");
            assert_eq!(recv(&socket).await, [i]);
            let round_trip = sent_at.elapsed();
            assert!(round_trip >= Duration::from_millis(100), "{round_trip:?}");
            assert!(round_trip < Duration::from_secs(2), "{round_trip:?}");
        }
    }

    #[tokio::test]
    async fn blackhole_stops_all_traffic_and_off_resumes_it() {
        let echo = Echo::start(same).await;
        let proxy = start(&echo, |_| {}).await;
        let socket = client(&proxy).await;
        socket.send(b"before").await.expect("send");
        assert_eq!(recv(&socket).await, b"before");

        proxy.set_blackhole(true);
        for _ in 0..5 {
            socket.send(b"during").await.expect("send");
        }
        let stats = until(&proxy, |s| s.client_to_upstream.dropped_blackhole == 5).await;
        assert!(stats.blackhole);
        assert_quiet(&socket).await;
        assert_eq!(echo.peers().len(), 1);

        proxy.set_blackhole(false);
        socket.send(b"after").await.expect("send");
        assert_eq!(recv(&socket).await, b"after");
        let stats = proxy.stats();
        assert_eq!(stats.client_to_upstream.forwarded, 2);
        assert_eq!(
            stats.sessions_opened, 1,
            "the session survives a black-hole"
        );
    }

    #[tokio::test]
    async fn blackhole_drops_datagrams_already_in_flight() {
        let echo = Echo::start(same).await;
        let proxy = start(&echo, |config| config.impairment.delay_ms = 200).await;
        let socket = client(&proxy).await;
        socket.send(b"queued").await.expect("send");
        until(&proxy, |s| s.client_to_upstream.received == 1).await;
        proxy.set_blackhole(true);
        let stats = until(&proxy, |s| s.client_to_upstream.dropped_blackhole == 1).await;
        assert_eq!(stats.client_to_upstream.forwarded, 0);
        assert!(echo.peers().is_empty());
    }

    #[tokio::test]
    async fn two_clients_get_independent_sessions() {
        let echo = Echo::start(same).await;
        let proxy = start(&echo, |_| {}).await;
        let (a, b) = (client(&proxy).await, client(&proxy).await);
        for i in 0u8..20 {
            a.send(&[b'a', i]).await.expect("send a");
            b.send(&[b'b', i]).await.expect("send b");
        }
        for i in 0u8..20 {
            assert_eq!(recv(&a).await, [b'a', i]);
            assert_eq!(recv(&b).await, [b'b', i]);
        }
        let stats = proxy.stats();
        assert_eq!(stats.sessions, 2);
        assert_eq!(
            echo.peers().len(),
            2,
            "one upstream source address per client"
        );
        assert!(!echo.peers().contains(&a.local_addr().expect("a")));
    }

    #[tokio::test]
    async fn sessions_beyond_the_limit_are_dropped_and_counted() {
        let echo = Echo::start(same).await;
        let proxy = start(&echo, |config| config.limits.sessions_max = 1).await;
        let (a, b) = (client(&proxy).await, client(&proxy).await);
        a.send(b"a").await.expect("send a");
        assert_eq!(recv(&a).await, b"a");
        b.send(b"b").await.expect("send b");
        let stats = until(&proxy, |s| s.client_to_upstream.dropped_no_session == 1).await;
        assert_eq!(stats.sessions, 1);
    }

    #[tokio::test]
    async fn idle_sessions_expire_and_reopen_on_a_new_upstream_port() {
        let echo = Echo::start(same).await;
        let proxy = start(&echo, |config| config.limits.session_idle_ms = 100).await;
        let socket = client(&proxy).await;
        socket.send(b"1").await.expect("send");
        assert_eq!(recv(&socket).await, b"1");
        until(&proxy, |s| s.sessions == 0 && s.sessions_expired == 1).await;
        socket.send(b"2").await.expect("send");
        assert_eq!(recv(&socket).await, b"2");
        assert_eq!(proxy.stats().sessions_opened, 2);
        assert_eq!(echo.peers().len(), 2, "like a NAT rebinding");
    }

    #[tokio::test]
    async fn oversize_datagrams_are_dropped_and_counted_both_ways() {
        fn doubled(datagram: &[u8]) -> Vec<u8> {
            [datagram, datagram].concat()
        }
        let echo = Echo::start(doubled).await;
        let proxy = start(&echo, |config| config.limits.datagram_bytes_max = 100).await;
        let socket = client(&proxy).await;
        socket.send(&[7; 101]).await.expect("send");
        until(&proxy, |s| s.client_to_upstream.dropped_oversize == 1).await;
        // 50 bytes pass up; the 100-byte answer is at the limit and passes down.
        socket.send(&[1; 50]).await.expect("send");
        assert_eq!(recv(&socket).await, [1; 100]);
        // 51 bytes pass up; the 102-byte answer is too big for the way down.
        socket.send(&[2; 51]).await.expect("send");
        let stats = until(&proxy, |s| s.upstream_to_client.dropped_oversize == 1).await;
        assert_eq!(stats.client_to_upstream.forwarded, 2);
        assert_eq!(stats.upstream_to_client.forwarded, 1);
        assert_quiet(&socket).await;
    }

    #[tokio::test]
    async fn control_port_applies_commands_and_answers_garbage_with_an_error_line() {
        let echo = Echo::start(same).await;
        let proxy = start(&echo, |config| config.control = Some(LOCALHOST)).await;
        let control_addr = proxy.control_addr().expect("a control port");
        let stream = TcpStream::connect(control_addr).await.expect("connect");
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read);
        let mut ask = async |request: &[u8]| -> String {
            write.write_all(request).await.expect("write");
            let mut reply = String::new();
            timeout(DEADLINE, lines.read_line(&mut reply))
                .await
                .expect("a reply within the deadline")
                .expect("read");
            reply
        };
        for garbage in [&b"hello\n"[..], b"\xff\xfe\n", b"loss 300\n", b"\n"] {
            let reply = ask(garbage).await;
            assert!(reply.starts_with("error "), "{garbage:?} -> {reply:?}");
        }
        assert!(ask(b"loss 30\n").await.starts_with("ok loss 30%"));
        assert!(ask(b"delay 250\n").await.starts_with("ok "));
        assert!(ask(b"jitter 20\n").await.starts_with("ok "));
        assert_eq!(ask(b"blackhole on\n").await, "ok blackhole on\n");
        let stats: serde_json::Value =
            serde_json::from_str(&ask(b"stats\n").await).expect("stats is JSON");
        assert_eq!(stats["blackhole"], true);
        assert_eq!(stats["impairment"]["loss_pct"], 30.0);
        assert_eq!(stats["impairment"]["delay_ms"], 250);
        assert_eq!(stats["client_to_upstream"]["dropped_loss"], 0);
        assert_eq!(
            proxy.impairment(),
            Impairment {
                loss_pct: 30.0,
                delay_ms: 250,
                jitter_ms: 20,
                ..Impairment::NONE
            }
        );

        // An over-long line closes that connection; the port keeps serving others.
        let long = vec![b'x'; CONTROL_LINE_BYTES_MAX + 10];
        assert!(ask(&long).await.starts_with("error line longer"));
        let mut stream = TcpStream::connect(control_addr).await.expect("reconnect");
        stream.write_all(b"blackhole off\n").await.expect("write");
        let mut reply = String::new();
        timeout(DEADLINE, BufReader::new(&mut stream).read_line(&mut reply))
            .await
            .expect("reply")
            .expect("read");
        assert_eq!(reply, "ok blackhole off\n");
        assert!(!proxy.stats().blackhole);
        proxy.shutdown().await.expect("clean shutdown");
    }

    #[tokio::test]
    async fn a_dropped_handle_stops_the_proxy() {
        let echo = Echo::start(same).await;
        let proxy = start(&echo, |_| {}).await;
        let control = proxy.control();
        let socket = client(&proxy).await;
        socket.send(b"x").await.expect("send");
        assert_eq!(recv(&socket).await, b"x");
        drop(proxy);
        until_closed(&control).await;
    }

    /// The session is gone once the tasks saw the dropped handle.
    async fn until_closed(control: &ProxyControl) {
        timeout(DEADLINE, control.until(|s| s.sessions == 0))
            .await
            .expect("the session closes after the handle is dropped");
    }
}
