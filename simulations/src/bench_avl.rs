//! `bench avl`: a fleet of units reporting positions every 15 s into one region's node (the
//! real `node` process, replicating to the real central) over the real field link — one QUIC
//! connection with mutual TLS per unit, its certificate from the run's CA, the replication
//! session with `Authority::Unit` — for a simulated shift.
//!
//! Simulated time: the shift is played in rounds of 15 virtual seconds. In every round each
//! unit appends one point (`TrackDoc`, the day's track, at the round's virtual time) to its own
//! in-memory catalogue (`MemRepo`) and offers it to its session; the units' appends of a round
//! are spread evenly over at least [`AvlConfig::round_ms_min`] of wall time, and the next round
//! starts once every point of this one is acknowledged — as fast as the node takes them, never
//! faster than the set pace. The measures:
//! - **ingest latency** of every point: from its append until the node acknowledged a state of
//!   the track that contains it (the session's knowledge of the node's heads covers it, which
//!   the node sends only once the import is durable);
//! - **storage per unit-shift**: the growth of the node's data directory over the shift, per
//!   unit, and the size of one unit's track documents as saved;
//! - **map query** `GET /api/v1/map/units` (every unit with its latest position) as the
//!   dispatcher's console polls it, all through the shift.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use automerge::ActorId;
use node::replication::{drive, network_protocol_config, DriveInputs};
use sync::field::{field_day, FieldDocId, FieldPart, TrackDoc, UnitPosition};
use sync::protocol::{Authority, MemRepo, Priority, Repo, Session};
use sync::Document;
use tokio::sync::{mpsc, watch, Notify};

use crate::cluster::{Cluster, ClusterArgs, Run, AST};
use crate::field_setup::{self, FieldUnit};
use crate::process;
use crate::report::{goal_word, Latency, Report};

pub const NAME: &str = "avl";

/// The goals.
const GOAL_INGEST_P99_MS: f64 = 100.0;
const GOAL_MAP_P99_MS: f64 = 50.0;
/// A unit reports every this often while driving (the terminal's default).
const REPORT_INTERVAL_MS: i64 = 15_000;
/// A shift, minutes (the quick run plays its first 20 minutes).
const SHIFT_MINUTES_FULL: u64 = 12 * 60;
const SHIFT_MINUTES_QUICK: u64 = 20;
/// Points offered per second at most by default: three times the real load of 500 units
/// reporting every 15 s (33 a second), so a shift plays faster than real time without measuring
/// only the node's queue.
const RATE_DEFAULT: u64 = 100;
const UNITS_FULL: usize = 500;
const UNITS_QUICK: usize = 100;
/// The dispatcher's console polls the map this often.
const MAP_POLL_MS: u64 = 200;
/// Longest wait for one round's points to be acknowledged before the run is a harness failure.
const ROUND_DEADLINE_MS: u64 = 120_000;
/// Longest wait for every unit's session to open.
const CONNECT_DEADLINE_MS: u64 = 120_000;
/// The name on every node certificate the units check.
const NODE_SERVER_NAME: &str = "ast.region.mvd102";
/// The node's key of a unit session's peer knowledge.
const NODE_PEER: &str = "region:AST";

#[derive(clap::Args, Debug)]
pub struct AvlArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Units (default 500; 100 with --quick).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1_500))]
    pub units: Option<u64>,
    /// Shift length in minutes (default 720; 20 with --quick).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1_440))]
    pub shift_minutes: Option<u64>,
    /// Points offered per second at most (the pace of the simulated shift).
    #[arg(long, default_value_t = RATE_DEFAULT, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub rate: u64,
}

#[derive(Debug, Clone)]
pub struct AvlConfig {
    pub run: Run,
    pub units: usize,
    pub rounds: u64,
    /// Shortest wall time of a round (its 15 virtual seconds): the pace of the simulation.
    pub round_ms_min: u64,
}

impl AvlConfig {
    pub fn new(args: &AvlArgs, seed: u64) -> anyhow::Result<Self> {
        let run = args.cluster.run(seed)?;
        let quick = run.quick;
        let units =
            args.units
                .map(|u| u as usize)
                .unwrap_or(if quick { UNITS_QUICK } else { UNITS_FULL });
        let minutes = args.shift_minutes.unwrap_or(if quick {
            SHIFT_MINUTES_QUICK
        } else {
            SHIFT_MINUTES_FULL
        });
        Ok(Self {
            run,
            units,
            rounds: minutes * 60_000 / REPORT_INTERVAL_MS as u64,
            round_ms_min: (units as u64 * 1_000).div_ceil(args.rate),
        })
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Runs `bench avl`.
pub async fn run(config: AvlConfig) -> anyhow::Result<bool> {
    let run_started = Instant::now();
    let units = field_setup::fleet("a", config.units);
    let field_port = process::free_udp_port()?;
    let field_addr: std::net::SocketAddr = format!("127.0.0.1:{field_port}").parse()?;
    let overlay = field_setup::node_overlay(field_addr, &units);
    let cluster = Cluster::start_with("avl-", &config.run, &[AST], Some(&overlay)).await?;
    println!(
        "central and node AST up in {} ms (scratch {}); {} units, a shift of {} rounds of 15 s",
        run_started.elapsed().as_millis(),
        cluster.scratch_path(),
        config.units,
        config.rounds
    );
    let outcome = shift(&cluster, &config, &units, field_addr).await;
    let summary = outcome.map(|o| move |report: &mut Report| o.report(&config, report));
    cluster.conclude(NAME, run_started, summary).await
}

/// One unit's side: its catalogue, its session's inbox of changes, and a wake-up on every
/// acknowledgement.
struct UnitLink {
    id: String,
    repo: Arc<Mutex<MemRepo>>,
    changes: mpsc::Sender<String>,
    acked: Arc<Notify>,
}

struct Outcome {
    ingest: Latency,
    map: Latency,
    points: u64,
    shift_ms: u64,
    store_bytes_delta: u64,
    track_doc_bytes: u64,
    map_units_with_position: usize,
    units: usize,
}

/// Points a unit reports in a 12-hour shift.
const POINTS_PER_SHIFT: u64 = 12 * 3_600_000 / REPORT_INTERVAL_MS as u64;

impl Outcome {
    /// `bytes` measured over the run for `units` units, per unit and per 12-hour shift (a
    /// shorter run's figure is scaled by the points each unit reported).
    fn per_unit_shift(&self, bytes: u64, units: usize) -> u64 {
        let points_per_unit = (self.points / self.units.max(1) as u64).max(1);
        bytes * POINTS_PER_SHIFT / points_per_unit / units.max(1) as u64
    }

    fn report(&self, config: &AvlConfig, report: &mut Report) -> bool {
        // What one unit's 12-hour shift stores: its track document scaled to a shift. The data
        // directory's growth is reported apart: sled's file can shrink or hold unreclaimed log,
        // so it is an upper bound at best.
        let per_unit = self.per_unit_shift(self.track_doc_bytes, 1);
        report.kv_f("ingest_p99_ms", self.ingest.p99_ms, 2);
        report.kv("bytes_per_unit_shift", per_unit);
        report.kv_f("map_p99_ms", self.map.p99_ms, 2);
        report.kv("units", config.units as u64);
        report.kv("points", self.points);
        report.kv(
            "store_bytes_per_unit_shift",
            self.per_unit_shift(self.store_bytes_delta, config.units),
        );
        report.kv("ingest_goal_met", self.ingest.p99_ms <= GOAL_INGEST_P99_MS);
        report.kv("map_goal_met", self.map.p99_ms <= GOAL_MAP_P99_MS);
        report.detail("seed", config.run.seed.to_string());
        report.detail("config", format!("{config:?}"));
        report.detail("ingest", self.ingest.to_json());
        report.detail("map_units", self.map.to_json());
        report.detail("shift_wall_ms", self.shift_ms);
        report.detail(
            "speedup_over_real_time",
            (config.rounds * REPORT_INTERVAL_MS as u64) as f64 / self.shift_ms.max(1) as f64,
        );
        report.detail("store_bytes_delta", self.store_bytes_delta);
        report.detail("track_doc_bytes_one_unit", self.track_doc_bytes);
        report.detail("map_units_with_position", self.map_units_with_position);
        true
    }
}

async fn shift(
    cluster: &Cluster,
    config: &AvlConfig,
    units: &[FieldUnit],
    field_addr: std::net::SocketAddr,
) -> anyhow::Result<Outcome> {
    let scratch = PathBuf::from(cluster.scratch_path());
    let bundles = field_setup::add_unit_bundles(
        &scratch.join("ca"),
        &scratch.join("units"),
        "AST",
        units,
        |_| field_addr.to_string(),
        None,
    )?;
    let any: std::net::SocketAddr = "127.0.0.1:0".parse()?;
    let endpoint = quinn::Endpoint::client(any).context("the units' QUIC endpoint")?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut links = Vec::new();
    let mut drivers = Vec::new();
    let connected = Instant::now();
    for (unit, bundle) in units.iter().zip(&bundles) {
        let (link, driver) = open_unit(&endpoint, field_addr, unit, bundle, stop_rx.clone())
            .await
            .with_context(|| format!("unit {}", unit.id))?;
        links.push(Arc::new(link));
        drivers.push(driver);
        if connected.elapsed() > Duration::from_millis(CONNECT_DEADLINE_MS) {
            bail!("the units' sessions did not open within {CONNECT_DEADLINE_MS} ms");
        }
    }
    println!(
        "{} unit sessions open over QUIC in {} ms",
        links.len(),
        connected.elapsed().as_millis()
    );

    let data_dir = scratch.join("ast-data");
    let store_before = dir_bytes(&data_dir);
    // The dispatcher's map, polled through the shift.
    let ops = cluster.node("AST").operators();
    let map_stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let map_task = {
        let (ops, stop) = (ops.clone(), map_stop.clone());
        tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut with_position = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let t = Instant::now();
                let units = ops.api.get("/api/v1/map/units", &ops.dispatcher).await?;
                samples.push(t.elapsed());
                with_position = units.as_array().map_or(0, |u| {
                    u.iter().filter(|u| u["position"].is_object()).count()
                });
                tokio::time::sleep(Duration::from_millis(MAP_POLL_MS)).await;
            }
            anyhow::Ok((samples, with_position))
        })
    };

    // The shift: virtual time from a shift ago to now, so that no point is in the future.
    let t0 = now_ms() - config.rounds as i64 * REPORT_INTERVAL_MS;
    let (round_tx, round_rx) = watch::channel::<Option<(u64, Instant)>>(None);
    let (done_tx, mut done_rx) = mpsc::channel::<()>(units.len());
    let mut tasks = Vec::new();
    for (i, link) in links.iter().enumerate() {
        let (link, mut rounds, done) = (link.clone(), round_rx.clone(), done_tx.clone());
        let offset = Duration::from_millis(config.round_ms_min * i as u64 / units.len() as u64);
        let total = config.rounds;
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::with_capacity(total as usize);
            let mut step = 0u64;
            for r in 0..total {
                let start = loop {
                    if let Some((round, start)) = *rounds.borrow_and_update() {
                        if round == r {
                            break start;
                        }
                    }
                    rounds.changed().await.context("the shift ended early")?;
                };
                tokio::time::sleep_until((start + offset).into()).await;
                let at_ms = t0 + r as i64 * REPORT_INTERVAL_MS + (i as i64 % 1_000);
                step += 1;
                let latency = report_point(&link, at_ms, i, step).await?;
                samples.push(latency);
                done.send(()).await.ok();
            }
            anyhow::Ok(samples)
        }));
    }
    drop(done_tx);
    let shift_started = Instant::now();
    let bar = crate::report::progress(config.rounds, "rounds");
    for r in 0..config.rounds {
        let start = Instant::now();
        round_tx.send_replace(Some((r, start)));
        for _ in 0..units.len() {
            match tokio::time::timeout(Duration::from_millis(ROUND_DEADLINE_MS), done_rx.recv())
                .await
            {
                Ok(Some(())) => {}
                Ok(None) => bail!("a unit task ended in round {r}"),
                Err(_) => bail!("round {r}: points not acknowledged within {ROUND_DEADLINE_MS} ms"),
            }
        }
        tokio::time::sleep_until((start + Duration::from_millis(config.round_ms_min)).into()).await;
        bar.inc(1);
        if r % 40 == 39 {
            cluster.check_alive()?;
        }
    }
    bar.finish_and_clear();
    let shift_ms = shift_started.elapsed().as_millis() as u64;
    map_stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut ingest = Vec::new();
    for t in tasks {
        ingest.extend(t.await.context("a unit task panicked")??);
    }
    let (mut map, map_units_with_position) = map_task.await.context("the map task panicked")??;
    let store_after = dir_bytes(&data_dir);
    let _ = stop_tx.send(true);
    for d in drivers {
        let _ = tokio::time::timeout(Duration::from_secs(5), d).await;
    }
    endpoint.close(0u32.into(), b"shift over");
    // One unit's track documents as saved: what a unit-shift costs in the document itself.
    let track_doc_bytes = {
        let mut repo = links[0].repo.lock().unwrap_or_else(|p| p.into_inner());
        repo.saved_bytes_total() as u64
    };
    let points = ingest.len() as u64;
    let ingest = Latency::from_samples(&mut ingest);
    let map = Latency::from_samples(&mut map);
    let out = Outcome {
        ingest,
        map,
        points,
        shift_ms,
        store_bytes_delta: store_after.saturating_sub(store_before),
        track_doc_bytes,
        map_units_with_position,
        units: config.units,
    };
    println!(
        "shift of {} points from {} units played in {:.1} s ({:.0}× real time)",
        points,
        config.units,
        shift_ms as f64 / 1e3,
        (config.rounds * REPORT_INTERVAL_MS as u64) as f64 / shift_ms.max(1) as f64
    );
    println!(
        "positions ingested: {} — p99 goal ≤ {GOAL_INGEST_P99_MS} ms {}",
        out.ingest.human(),
        goal_word(out.ingest.p99_ms <= GOAL_INGEST_P99_MS)
    );
    println!(
        "storage: node's data grew {} KiB over the run = {} bytes per unit-shift of 12 h; one unit's track documents saved: {} bytes = {} bytes per unit-shift",
        out.store_bytes_delta / 1024,
        out.per_unit_shift(out.store_bytes_delta, config.units),
        out.track_doc_bytes,
        out.per_unit_shift(out.track_doc_bytes, 1)
    );
    println!(
        "map query of all units ({} with a position): {} — p99 goal ≤ {GOAL_MAP_P99_MS} ms {}",
        out.map_units_with_position,
        out.map.human(),
        goal_word(out.map.p99_ms <= GOAL_MAP_P99_MS)
    );
    Ok(out)
}

/// Dials the node as `unit` and starts its session; returns the unit's side and the driver.
async fn open_unit(
    endpoint: &quinn::Endpoint,
    field_addr: std::net::SocketAddr,
    unit: &FieldUnit,
    bundle: &Path,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<(UnitLink, tokio::task::JoinHandle<()>)> {
    let identity = provisioning::load_unit_identity(bundle)?;
    let client = provisioning::tls::quinn_field_client_config(&identity.identity)?;
    let conn = endpoint
        .connect_with(client, field_addr, NODE_SERVER_NAME)?
        .await
        .context("handshake")?;
    let (send, recv) = conn.open_bi().await.context("stream")?;
    let mut repo_id = [0u8; 16];
    repo_id[..unit.id.len().min(16)].copy_from_slice(&unit.id.as_bytes()[..unit.id.len().min(16)]);
    let repo = Arc::new(Mutex::new(MemRepo::new(repo_id)));
    let protocol = network_protocol_config();
    let session = Session::new(
        protocol.clone(),
        Authority::Unit {
            region: "AST".into(),
            unit: unit.id.clone(),
        },
        Authority::Region("AST".into()),
        &mut *repo.lock().unwrap_or_else(|p| p.into_inner()),
        now_ms(),
    )?;
    let (changes, mut rx) = mpsc::channel(16);
    let acked = Arc::new(Notify::new());
    let driver = {
        let (repo, acked) = (repo.clone(), acked.clone());
        tokio::spawn(async move {
            let _conn = conn;
            drive(
                (send, recv),
                session,
                &*repo,
                DriveInputs {
                    local_changes: &mut rx,
                    shutdown: &mut stop,
                    frame_bytes_max: protocol.frame_bytes_max,
                },
                |ev| {
                    if matches!(ev, sync::protocol::Event::PushComplete) {
                        acked.notify_one();
                    }
                },
            )
            .await;
        })
    };
    Ok((
        UnitLink {
            id: unit.id.clone(),
            repo,
            changes,
            acked,
        },
        driver,
    ))
}

/// Appends one point to the unit's track of its day and waits until the node acknowledged it;
/// the time that took.
async fn report_point(
    link: &UnitLink,
    at_ms: i64,
    index: usize,
    step: u64,
) -> anyhow::Result<Duration> {
    let date = field_day(at_ms);
    let doc_id = FieldDocId::new("AST", &link.id, FieldPart::Track { date: date.clone() })
        .context("a unit id the field documents take")?
        .to_string();
    // A car driving its district: 40 m a report along a street, a new street every 100 reports.
    let point = UnitPosition {
        at_ms,
        lat: 51.08 + (index % 50) as f64 * 0.002 + (step % 100) as f64 * 0.000_36,
        lon: 71.35 + (index / 50) as f64 * 0.003 + (step / 100) as f64 * 0.001,
        accuracy_m: Some(6.0),
        speed_kmh: Some(38.0),
        heading_deg: Some(((step * 7) % 360) as u16),
    };
    let heads = {
        let mut repo = link.repo.lock().unwrap_or_else(|p| p.into_inner());
        if repo.doc_mut(&doc_id).is_none() {
            let mut track = TrackDoc::create(ActorId::random(), &link.id, &date)?;
            repo.put(&doc_id, std::mem::take(track.automerge()), Priority::Normal);
        }
        let md = repo.doc_mut(&doc_id).context("the track just put")?;
        let mut track = TrackDoc::wrap(std::mem::take(&mut md.doc));
        let appended = track.append(&[point], now_ms());
        md.doc = std::mem::take(track.automerge());
        appended?;
        md.doc.get_heads()
    };
    let appended = Instant::now();
    link.changes
        .send(doc_id.clone())
        .await
        .context("the unit's session ended")?;
    loop {
        let known = link
            .repo
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .peer_heads(NODE_PEER, &doc_id)
            .unwrap_or_default();
        if heads.iter().all(|h| known.contains(h)) {
            return Ok(appended.elapsed());
        }
        if appended.elapsed() > Duration::from_millis(ROUND_DEADLINE_MS) {
            bail!(
                "unit {}: a point not acknowledged within {ROUND_DEADLINE_MS} ms",
                link.id
            );
        }
        let _ = tokio::time::timeout(Duration::from_millis(50), link.acked.notified()).await;
    }
}

/// Bytes of the files under `dir` (recursively).
fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}
