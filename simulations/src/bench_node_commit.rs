//! `bench node-commit`: what a durable card costs through the whole stack, against what a bare
//! durable sled insert costs on the same disk.
//!
//! (a) baseline: raw sled, one thread, 1 KiB value + `flush()` per insert.
//! (a2) storage floor: the node's own store and group commit (`server_kit::store`) with no HTTP
//!     and no documents: many writers commit batches shaped like a new card's (the same 7 keys
//!     and value sizes), flat out. Its process CPU per batch is what storage alone costs a card,
//!     the part of (b)'s node CPU per card no change above the store can remove.
//! (b) whole stack: the node binary, many keep-alive HTTP clients creating cards flat out
//!     (closed loop), then a paced open-loop phase at 100 cards/s.
//! (c) memory: a fresh node filled to N stored cards (most cancelled, some open), then VmRSS.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use serde_json::json;

use crate::client::{self, Api, CallError};
use crate::node_proc::{self, NodeConfig};
use crate::process::{self, Process};
use crate::report::{self, goal_word, Latency, Report};

pub const NAME: &str = "node-commit";

/// Goals printed next to the figures (missing one is not a failure).
const GOAL_RATIO_MIN: f64 = 1.0;
const GOAL_CARDS_PER_S_MIN: f64 = 5_000.0;
const GOAL_P99_MS_MAX: f64 = 20.0;
/// At 100 cards/s a card's p50 may exceed the machine's floor (`GET /healthz` on the same
/// schedule) plus one raw sled flush (the baseline's p50) by this much, in ms.
const GOAL_P50_LIGHT_MARGIN_MS: f64 = 0.5;
/// Node CPU per created card, in µs.
const GOAL_NODE_CPU_US_PER_CARD_MAX: f64 = 200.0;
const GOAL_RSS_MIB_MAX: f64 = 300.0;

/// Size of the baseline's value.
const BASELINE_VALUE_BYTES: usize = 1_024;
/// A new card's write batch as the node stages it, read off a node's batches under this
/// benchmark's load (2026-12-05): key family and value size in bytes. 7 keys, ~1.6 KiB.
const CARD_BATCH_SHAPE: [(&str, usize); 7] = [
    ("doc/snapshot", 719),
    ("idx/heads", 33),
    ("meta/seq", 36),
    ("idx/day", 0),
    ("idx/st", 383),
    ("audit/e", 335),
    ("audit/head", 86),
];
/// The node's default group-commit window (`limits.group_commit_window_us`), in µs.
const FLOOR_GROUP_COMMIT_WINDOW_US: u64 = 1_000;
/// The store's page cache in the floor phase, as the node's default `sled_cache_bytes`.
const FLOOR_SLED_CACHE_BYTES: u64 = 32 << 20;
/// Pace of the light-load phase.
const LIGHT_RATE_PER_S: u64 = 100;

/// Typed settings of one run, derived once from the command line.
#[derive(Debug, Clone)]
pub struct NodeCommitConfig {
    pub seed: u64,
    pub node_bin: PathBuf,
    pub clients_count: usize,
    pub baseline_duration: Duration,
    pub baseline_ops_max: u64,
    pub warmup_cards_count: u64,
    pub load_duration: Duration,
    pub light_duration: Duration,
    pub fill_stored_cards: u64,
    pub fill_open_cards: u64,
    /// The fill stops early (and reports what it reached) past this.
    pub fill_budget: Duration,
    /// Skip (b) and (c): only the sled baseline.
    pub baseline_only: bool,
}

impl NodeCommitConfig {
    pub fn new(
        quick: bool,
        seed: u64,
        node_bin: PathBuf,
        clients_count: usize,
        baseline_only: bool,
    ) -> Self {
        let secs = Duration::from_secs;
        if quick {
            Self {
                seed,
                node_bin,
                clients_count,
                baseline_duration: secs(1),
                baseline_ops_max: 1_000,
                warmup_cards_count: 200,
                load_duration: secs(5),
                light_duration: secs(3),
                fill_stored_cards: 10_000,
                fill_open_cards: 500,
                fill_budget: secs(30),
                baseline_only,
            }
        } else {
            Self {
                seed,
                node_bin,
                clients_count,
                baseline_duration: secs(5),
                baseline_ops_max: 5_000,
                warmup_cards_count: 1_000,
                load_duration: secs(20),
                light_duration: secs(10),
                fill_stored_cards: 100_000,
                fill_open_cards: 5_000,
                fill_budget: secs(30 * 60),
                baseline_only,
            }
        }
    }
}

pub async fn run(config: NodeCommitConfig) -> anyhow::Result<()> {
    let mut report = Report::new(NAME);
    report.kv("seed", config.seed.to_string());
    report.detail("config", format!("{config:?}"));

    // (a)
    let baseline = baseline(&config).await?;
    println!(
        "(a) sled baseline: {:.0} inserts/s, {} (1 KiB + flush each, 1 thread)",
        baseline.ops_per_s,
        baseline.latency.human()
    );
    report.kv_f("baseline_inserts_per_s", baseline.ops_per_s, 1);
    report.kv_f("baseline_p50_ms", baseline.latency.p50_ms, 3);
    report.kv_f("baseline_p99_ms", baseline.latency.p99_ms, 3);
    report.detail(
        "baseline",
        json!({
            "ops_per_s": report::round(baseline.ops_per_s, 1),
            "latency": baseline.latency.to_json(),
        }),
    );
    // (a2)
    let floor = storage_floor(&config).await?;
    println!(
        "(a2) storage floor: {:.0} card-shaped batches/s ({} keys, {} B, group commit {} µs, {} writers), {:.0} µs CPU per batch ({:.2} cores), {}",
        floor.batches_per_s,
        CARD_BATCH_SHAPE.len(),
        card_batch_bytes(),
        FLOOR_GROUP_COMMIT_WINDOW_US,
        config.clients_count,
        floor.cpu_us_per_batch,
        floor.cores,
        floor.latency.human()
    );
    report.kv_f("floor_batches_per_s", floor.batches_per_s, 1);
    report.kv_f("floor_cpu_us_per_batch", floor.cpu_us_per_batch, 1);
    report.detail(
        "storage_floor",
        json!({
            "batches_per_s": report::round(floor.batches_per_s, 1),
            "cpu_us_per_batch": report::round(floor.cpu_us_per_batch, 1),
            "cores": report::round(floor.cores, 2),
            "keys": CARD_BATCH_SHAPE.len(),
            "bytes": card_batch_bytes(),
            "latency": floor.latency.to_json(),
        }),
    );
    if config.baseline_only {
        println!("--baseline-only: skipping the node phases");
        report.finish()?;
        return Ok(());
    }
    node_proc::check_node_bin(&config.node_bin)?;
    let scratch = report::scratch_dir("node-commit-")?;

    // (b)
    let load = whole_stack(&config, &scratch.path().join("load")).await?;
    let ratio = load.cards_per_s / baseline.ops_per_s.max(f64::MIN_POSITIVE);
    println!(
        "(b) whole stack: {:.0} cards/s with {} clients, {}; errors {:?}",
        load.cards_per_s,
        config.clients_count,
        load.latency.human(),
        load.errors
    );
    println!("    ratio to sled baseline: {ratio:.3}");
    println!(
        "    CPU during load: node {:.2} cores ({:.0} µs/card), load generator {:.2} cores ({:.0} µs/card), machine has {}",
        load.cpu.node_cores,
        load.cpu.node_us_per_card,
        load.cpu.loader_cores,
        load.cpu.loader_us_per_card,
        load.cpu.machine_cores
    );
    println!(
        "    light load {LIGHT_RATE_PER_S} cards/s: {}\n    same schedule, GET /healthz (machine floor): {}",
        load.light.human(),
        load.light_floor.human()
    );

    // (c)
    let fill = fill_and_measure(&config, &scratch.path().join("fill")).await?;
    println!(
        "(c) memory: {} stored cards ({} open): VmRSS {:.1} MiB (after restart {:.1} MiB); fill {:.0} requests/s{}",
        fill.stored_cards,
        fill.open_cards,
        fill.rss_mib,
        fill.rss_after_restart_mib,
        fill.requests_per_s,
        if fill.complete { "" } else { " — budget exhausted, counts are what was reached" }
    );

    let goal_ratio = ratio >= GOAL_RATIO_MIN;
    let goal_p99 =
        load.cards_per_s >= GOAL_CARDS_PER_S_MIN && load.latency.p99_ms <= GOAL_P99_MS_MAX;
    let light_max_ms = load.light_floor.p50_ms + baseline.latency.p50_ms + GOAL_P50_LIGHT_MARGIN_MS;
    let goal_light = load.light.p50_ms <= light_max_ms;
    let goal_cpu = load.cpu.node_us_per_card <= GOAL_NODE_CPU_US_PER_CARD_MAX;
    let goal_rss = fill.rss_mib <= GOAL_RSS_MIB_MAX;
    println!("goals:");
    println!(
        "  ratio >= {GOAL_RATIO_MIN}: {ratio:.3} — {}",
        goal_word(goal_ratio)
    );
    println!(
        "  p99 <= {GOAL_P99_MS_MAX} ms at >= {GOAL_CARDS_PER_S_MIN} cards/s: {:.3} ms at {:.0} cards/s — {}",
        load.latency.p99_ms,
        load.cards_per_s,
        goal_word(goal_p99)
    );
    println!(
        "  p50_light <= healthz floor {:.3} + sled flush p50 {:.3} + {GOAL_P50_LIGHT_MARGIN_MS} = {light_max_ms:.3} ms at {LIGHT_RATE_PER_S} cards/s: {:.3} ms — {}",
        load.light_floor.p50_ms,
        baseline.latency.p50_ms,
        load.light.p50_ms,
        goal_word(goal_light)
    );
    println!(
        "  node CPU <= {GOAL_NODE_CPU_US_PER_CARD_MAX} µs per card: {:.0} µs — {} (storage floor {:.0} µs, the node's own {:.0} µs)",
        load.cpu.node_us_per_card,
        goal_word(goal_cpu),
        floor.cpu_us_per_batch,
        (load.cpu.node_us_per_card - floor.cpu_us_per_batch).max(0.0)
    );
    println!(
        "  RSS <= {GOAL_RSS_MIB_MAX} MiB: {:.1} MiB at {} cards — {}",
        fill.rss_mib,
        fill.stored_cards,
        goal_word(goal_rss)
    );

    report.kv_f("ratio", ratio, 3);
    report.kv_f("cards_per_s", load.cards_per_s, 1);
    report.kv_f("p50_ms", load.latency.p50_ms, 3);
    report.kv_f("p99_ms", load.latency.p99_ms, 3);
    report.kv_f("p50_light_ms", load.light.p50_ms, 3);
    report.kv_f("p99_light_ms", load.light.p99_ms, 3);
    report.kv_f("p50_light_floor_ms", load.light_floor.p50_ms, 3);
    report.kv_f("rss_mib", fill.rss_mib, 1);
    report.kv_f("rss_after_restart_mib", fill.rss_after_restart_mib, 1);
    report.kv("stored_cards", fill.stored_cards);
    report.kv("open_cards", fill.open_cards);
    report.kv("clients", config.clients_count as u64);
    report.kv_f("node_cpu_us_per_card", load.cpu.node_us_per_card, 1);
    report.kv_f(
        "node_own_cpu_us_per_card",
        (load.cpu.node_us_per_card - floor.cpu_us_per_batch).max(0.0),
        1,
    );
    report.kv("load_errors", load.errors.values().sum::<u64>());
    report.kv("goal_ratio_met", goal_ratio);
    report.kv("goal_p99_met", goal_p99);
    report.kv("goal_p50_light_met", goal_light);
    report.kv("goal_node_cpu_met", goal_cpu);
    report.kv("goal_rss_met", goal_rss);
    report.kv(
        "goal_met",
        goal_ratio && goal_p99 && goal_light && goal_rss && goal_cpu,
    );
    report.detail(
        "load",
        json!({
            "cards_per_s": report::round(load.cards_per_s, 1),
            "latency": load.latency.to_json(),
            "errors": load.errors,
            "light_latency": load.light.to_json(),
            "light_errors": load.light_errors,
            "light_floor_latency": load.light_floor.to_json(),
            "node_startup_ms": load.startup.as_millis() as u64,
            "rss_after_load_mib": report::round(load.rss_mib, 1),
        "cpu": {
            "node_cores": report::round(load.cpu.node_cores, 2),
            "loader_cores": report::round(load.cpu.loader_cores, 2),
            "node_us_per_card": report::round(load.cpu.node_us_per_card, 1),
            "loader_us_per_card": report::round(load.cpu.loader_us_per_card, 1),
            "machine_cores": load.cpu.machine_cores,
        },
            "metrics": load.metrics,
        }),
    );
    report.detail(
        "fill",
        json!({
            "stored_cards": fill.stored_cards,
            "open_cards": fill.open_cards,
            "target_stored_cards": config.fill_stored_cards,
            "target_open_cards": config.fill_open_cards,
            "complete": fill.complete,
            "requests_per_s": report::round(fill.requests_per_s, 1),
            "errors": fill.errors,
            "rss_mib": report::round(fill.rss_mib, 1),
            "rss_after_restart_mib": report::round(fill.rss_after_restart_mib, 1),
            "restart_ms": fill.restart.as_millis() as u64,
            "data_dir_bytes": fill.data_dir_bytes,
        }),
    );
    report.finish()?;
    Ok(())
}

struct Baseline {
    ops_per_s: f64,
    latency: Latency,
}

/// (a) Raw sled in a scratch dir on the same file system the node will use.
async fn baseline(config: &NodeCommitConfig) -> anyhow::Result<Baseline> {
    let dir = report::scratch_dir("sled-baseline-")?;
    let path = dir.path().join("db");
    let duration = config.baseline_duration;
    let ops_max = config.baseline_ops_max;
    let seed = config.seed;
    let bar = report::progress(ops_max, "sled baseline");
    let bar_worker = bar.clone();
    let (ops, elapsed, mut samples) = tokio::task::spawn_blocking(move || {
        let db =
            sled::open(&path).with_context(|| format!("cannot open sled at {}", path.display()))?;
        let mut rng = StdRng::seed_from_u64(seed);
        let mut value = vec![0u8; BASELINE_VALUE_BYTES];
        let mut samples = Vec::with_capacity(ops_max as usize);
        let started = Instant::now();
        let mut ops = 0u64;
        while ops < ops_max && started.elapsed() < duration {
            rng.fill_bytes(&mut value);
            let t = Instant::now();
            db.insert(ops.to_be_bytes(), value.as_slice())
                .context("sled insert failed")?;
            db.flush().context("sled flush failed")?;
            samples.push(t.elapsed());
            ops += 1;
            bar_worker.inc(1);
        }
        let elapsed = started.elapsed();
        anyhow::Ok((ops, elapsed, samples))
    })
    .await
    .context("the baseline thread panicked")??;
    bar.finish_and_clear();
    drop(dir);
    if ops == 0 {
        bail!("the sled baseline completed no insert");
    }
    Ok(Baseline {
        ops_per_s: ops as f64 / elapsed.as_secs_f64(),
        latency: Latency::from_samples(&mut samples),
    })
}

struct StorageFloor {
    batches_per_s: f64,
    cpu_us_per_batch: f64,
    /// Process CPU over wall time during the phase.
    cores: f64,
    latency: Latency,
}

fn card_batch_bytes() -> usize {
    CARD_BATCH_SHAPE.iter().map(|(_, bytes)| bytes).sum()
}

/// (a2) The node's store and group commit alone, in this process, fed card-shaped batches by
/// `clients_count` concurrent writers for `baseline_duration`. Nothing else runs meanwhile, so
/// this process's CPU is the store's (apply, sled's I/O threads, the flusher).
async fn storage_floor(config: &NodeCommitConfig) -> anyhow::Result<StorageFloor> {
    use node::store::{GroupCommit, SledStore, Store, WriteBatch};
    let dir = report::scratch_dir("storage-floor-")?;
    let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path(), FLOOR_SLED_CACHE_BYTES)?);
    let gc = Arc::new(GroupCommit::with_window(
        store,
        Duration::from_micros(FLOOR_GROUP_COMMIT_WINDOW_US),
    ));
    let seq = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let pid = std::process::id();
    let cpu_before = process::cpu_time(pid)?;
    let started = Instant::now();
    let mut writers = Vec::with_capacity(config.clients_count);
    for writer in 0..config.clients_count {
        let (gc, seq, stop) = (gc.clone(), seq.clone(), stop.clone());
        let mut rng = StdRng::seed_from_u64(config.seed ^ writer as u64);
        writers.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let n = seq.fetch_add(1, Ordering::Relaxed);
                let mut batch = WriteBatch::new();
                for (family, bytes) in CARD_BATCH_SHAPE {
                    let key = if family == "audit/head" {
                        family.to_string()
                    } else {
                        format!("{family}/{:016x}{n:016}", rng.next_u64())
                    };
                    let mut value = vec![0u8; bytes];
                    rng.fill_bytes(&mut value);
                    batch.put(key, value);
                }
                let t = Instant::now();
                gc.commit_async(batch).await?;
                samples.push(t.elapsed());
            }
            anyhow::Ok(samples)
        }));
    }
    let deadline = started + config.baseline_duration;
    tokio::time::sleep_until(deadline.into()).await;
    stop.store(true, Ordering::Relaxed);
    let mut samples = Vec::new();
    for writer in writers {
        samples.extend(writer.await.context("a storage-floor writer panicked")??);
    }
    let elapsed = started.elapsed();
    let cpu = process::cpu_time(pid)?.saturating_sub(cpu_before);
    drop(gc);
    drop(dir);
    if samples.is_empty() {
        bail!("the storage floor committed no batch");
    }
    let batches = samples.len() as f64;
    Ok(StorageFloor {
        batches_per_s: batches / elapsed.as_secs_f64(),
        cpu_us_per_batch: cpu.as_secs_f64() * 1e6 / batches,
        cores: cpu.as_secs_f64() / elapsed.as_secs_f64(),
        latency: Latency::from_samples(&mut samples),
    })
}

struct WholeStack {
    cards_per_s: f64,
    latency: Latency,
    errors: BTreeMap<String, u64>,
    light: Latency,
    light_errors: BTreeMap<String, u64>,
    /// Paced `GET /healthz` on the light-load schedule.
    light_floor: Latency,
    startup: Duration,
    rss_mib: f64,
    metrics: Vec<String>,
    cpu: CpuShare,
}

/// A started node with an operator session.
struct Session {
    node: Process,
    api: Api,
    token: String,
    categories: Arc<Vec<String>>,
}

async fn start_session(
    config: &NodeCommitConfig,
    data_dir: &std::path::Path,
) -> anyhow::Result<Session> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    let node_config = NodeConfig {
        bin: config.node_bin.clone(),
        data_dir: data_dir.join("data"),
        admin_password: node_proc::ADMIN_PASSWORD.to_string(),
        log_path: data_dir.join("node.log"),
        config: None,
    };
    let node = node_proc::start(&node_config).await?;
    let api = Api::new(client::http_client()?, &node.base_url);
    let token =
        client::operator_session(&api, node_proc::ADMIN_PASSWORD, "bench_ct", &["call_taker"])
            .await?;
    let categories = Arc::new(api.categories(&token).await?);
    Ok(Session {
        node,
        api,
        token,
        categories,
    })
}

fn merge(into: &mut BTreeMap<String, u64>, from: BTreeMap<String, u64>) {
    for (k, v) in from {
        *into.entry(k).or_default() += v;
    }
}

/// (b) Closed-loop load, then the paced light load, on one node.
async fn whole_stack(
    config: &NodeCommitConfig,
    dir: &std::path::Path,
) -> anyhow::Result<WholeStack> {
    let mut session = start_session(config, dir).await?;
    println!(
        "node started in {} ms at {} (pid {})",
        session.node.startup.as_millis(),
        session.node.base_url,
        session.node.pid()
    );
    let first_error: Arc<std::sync::Mutex<Option<String>>> = Arc::default();

    // Warm-up: open the connections and let the node settle; not measured.
    let warm_seq = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for task_index in 0..config.clients_count {
        let (api, token, categories) = (
            session.api.clone(),
            session.token.clone(),
            session.categories.clone(),
        );
        let seq = warm_seq.clone();
        let total = config.warmup_cards_count;
        let mut rng = StdRng::seed_from_u64(config.seed ^ (0xA11CE + task_index as u64));
        tasks.push(tokio::spawn(async move {
            loop {
                let n = seq.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    break;
                }
                let body = client::card_body(&mut rng, &categories, n);
                let _ = api.create_card(&token, &body).await;
            }
        }));
    }
    for task in tasks {
        task.await.context("a warm-up task panicked")?;
    }

    // Closed loop: every client creates cards back to back for the whole duration.
    let bar = report::timed_progress(config.load_duration, "full load");
    let node_cpu_before = session.node.cpu_time().unwrap_or_default();
    let own_cpu_before = process::cpu_time(std::process::id()).unwrap_or_default();
    let started = Instant::now();
    let end = started + config.load_duration;
    let mut tasks = Vec::new();
    for task_index in 0..config.clients_count {
        let (api, token, categories) = (
            session.api.clone(),
            session.token.clone(),
            session.categories.clone(),
        );
        let first_error = first_error.clone();
        let mut rng = StdRng::seed_from_u64(config.seed ^ (0xB0B0 + task_index as u64));
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut errors = BTreeMap::<String, u64>::new();
            let mut n = 0u64;
            while Instant::now() < end {
                let body = client::card_body(&mut rng, &categories, (task_index as u64) << 32 | n);
                n += 1;
                let t = Instant::now();
                match api.create_card(&token, &body).await {
                    Ok(_) => samples.push(t.elapsed()),
                    Err(e) => {
                        *errors.entry(e.key()).or_default() += 1;
                        first_error
                            .lock()
                            .unwrap()
                            .get_or_insert_with(|| e.to_string());
                    }
                }
            }
            (samples, errors)
        }));
    }
    while Instant::now() < end {
        tokio::time::sleep(Duration::from_millis(100)).await;
        bar.set_position((started.elapsed().as_millis() / 100) as u64);
    }
    let mut samples = Vec::new();
    let mut errors = BTreeMap::new();
    for task in tasks {
        let (s, e) = task.await.context("a load task panicked")?;
        samples.extend(s);
        merge(&mut errors, e);
    }
    let elapsed = started.elapsed();
    let node_cpu = session
        .node
        .cpu_time()
        .unwrap_or_default()
        .saturating_sub(node_cpu_before);
    let own_cpu = process::cpu_time(std::process::id())
        .unwrap_or_default()
        .saturating_sub(own_cpu_before);
    bar.finish_and_clear();
    if samples.is_empty() {
        bail!(
            "no card was created under load; first error: {}",
            first_error.lock().unwrap().clone().unwrap_or_default()
        );
    }
    if let Some(e) = first_error.lock().unwrap().clone() {
        println!("    first load error: {e}");
    }
    let cards_per_s = samples.len() as f64 / elapsed.as_secs_f64();
    let cards = samples.len() as f64;
    let cpu = CpuShare {
        node_cores: node_cpu.as_secs_f64() / elapsed.as_secs_f64(),
        loader_cores: own_cpu.as_secs_f64() / elapsed.as_secs_f64(),
        node_us_per_card: node_cpu.as_secs_f64() * 1e6 / cards,
        loader_us_per_card: own_cpu.as_secs_f64() * 1e6 / cards,
        machine_cores: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
    };
    let latency = Latency::from_samples(&mut samples);
    let rss_mib = session.node.rss_kib().unwrap_or(0) as f64 / 1024.0;

    // Open loop: one request every 1/rate s on a fixed schedule, whatever the answers do; the
    // latency counts from the scheduled instant, so a stalled node cannot hide its queue.
    let (light, light_errors) = light_load(config, &session, LightRequest::CreateCard).await?;
    // The same schedule with `GET /healthz`: the latency floor of this machine for a request
    // that arrives after 10 ms of idleness (thread and vCPU wake-ups), measured in the same run.
    let (light_floor, _) = light_load(config, &session, LightRequest::Healthz).await?;

    let metrics = match session.api.metrics().await {
        Ok(text) => text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .take(200)
            .map(str::to_string)
            .collect(),
        Err(e) => vec![format!("metrics unavailable: {e}")],
    };
    session.node.stop().await?;
    Ok(WholeStack {
        cards_per_s,
        latency,
        errors,
        light,
        light_errors,
        light_floor,
        startup: session.node.startup,
        rss_mib,
        metrics,
        cpu,
    })
}

/// CPU used during the full-load phase; on a small machine the loader competes with the node.
#[derive(Debug, Clone, Copy)]
struct CpuShare {
    node_cores: f64,
    loader_cores: f64,
    node_us_per_card: f64,
    loader_us_per_card: f64,
    machine_cores: usize,
}

#[derive(Clone, Copy)]
enum LightRequest {
    CreateCard,
    Healthz,
}

async fn light_load(
    config: &NodeCommitConfig,
    session: &Session,
    what: LightRequest,
) -> anyhow::Result<(Latency, BTreeMap<String, u64>)> {
    let interval = Duration::from_micros(1_000_000 / LIGHT_RATE_PER_S);
    let total = (config.light_duration.as_micros() / interval.as_micros()) as u64;
    let bar = report::progress(total, "light load");
    let mut rng = StdRng::seed_from_u64(config.seed ^ 0x11947);
    let start = tokio::time::Instant::now() + Duration::from_millis(10);
    let mut tasks = Vec::with_capacity(total as usize);
    for i in 0..total {
        let at = start + interval * i as u32;
        let body = client::card_body(&mut rng, &session.categories, (1 << 48) | i);
        let (api, token, bar) = (session.api.clone(), session.token.clone(), bar.clone());
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep_until(at).await;
            let result = match what {
                LightRequest::CreateCard => api.create_card(&token, &body).await.map(|_| ()),
                LightRequest::Healthz => api.healthz().await,
            };
            bar.inc(1);
            result.map(|_| at.elapsed())
        }));
    }
    let mut samples = Vec::new();
    let mut errors = BTreeMap::new();
    for task in tasks {
        match task.await.context("a light-load task panicked")? {
            Ok(latency) => samples.push(latency),
            Err(e) => *errors.entry(e.key()).or_default() += 1,
        }
    }
    bar.finish_and_clear();
    if samples.is_empty() {
        bail!("no card was created under light load: {errors:?}");
    }
    Ok((Latency::from_samples(&mut samples), errors))
}

struct Fill {
    stored_cards: u64,
    open_cards: u64,
    complete: bool,
    requests_per_s: f64,
    errors: BTreeMap<String, u64>,
    rss_mib: f64,
    rss_after_restart_mib: f64,
    restart: Duration,
    data_dir_bytes: u64,
}

/// (c) A fresh node filled to the target: the first `open` cards stay open, every later one is
/// cancelled right after it is created (a cancelled card is a closed document).
async fn fill_and_measure(
    config: &NodeCommitConfig,
    dir: &std::path::Path,
) -> anyhow::Result<Fill> {
    let mut session = start_session(config, dir).await?;
    let target = config.fill_stored_cards;
    let open_target = config.fill_open_cards;
    let seq = Arc::new(AtomicU64::new(0));
    let stored = Arc::new(AtomicU64::new(0));
    let cancelled = Arc::new(AtomicU64::new(0));
    let requests = Arc::new(AtomicU64::new(0));
    let out_of_budget = Arc::new(AtomicBool::new(false));
    let first_error: Arc<std::sync::Mutex<Option<String>>> = Arc::default();
    let bar = report::progress(target, "fill");
    let started = Instant::now();
    let deadline = started + config.fill_budget;
    let mut tasks = Vec::new();
    for task_index in 0..config.clients_count {
        let (api, token, categories) = (
            session.api.clone(),
            session.token.clone(),
            session.categories.clone(),
        );
        let (seq, stored, cancelled, requests) = (
            seq.clone(),
            stored.clone(),
            cancelled.clone(),
            requests.clone(),
        );
        let (out_of_budget, first_error, bar) =
            (out_of_budget.clone(), first_error.clone(), bar.clone());
        let mut rng = StdRng::seed_from_u64(config.seed ^ (0xF111 + task_index as u64));
        tasks.push(tokio::spawn(async move {
            let mut errors = BTreeMap::<String, u64>::new();
            let note = |e: CallError, errors: &mut BTreeMap<String, u64>| {
                *errors.entry(e.key()).or_default() += 1;
                first_error
                    .lock()
                    .unwrap()
                    .get_or_insert_with(|| e.to_string());
            };
            loop {
                if Instant::now() >= deadline {
                    out_of_budget.store(true, Ordering::Relaxed);
                    break;
                }
                let n = seq.fetch_add(1, Ordering::Relaxed);
                if n >= target {
                    break;
                }
                let body = client::card_body(&mut rng, &categories, (2 << 48) | n);
                requests.fetch_add(1, Ordering::Relaxed);
                let created = match api.create_card(&token, &body).await {
                    Ok(created) => created,
                    Err(e) => {
                        note(e, &mut errors);
                        continue;
                    }
                };
                stored.fetch_add(1, Ordering::Relaxed);
                bar.inc(1);
                if n < open_target {
                    continue;
                }
                requests.fetch_add(1, Ordering::Relaxed);
                match api.cancel_card(&token, &created.id, "test").await {
                    Ok(()) => {
                        cancelled.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => note(e, &mut errors),
                }
            }
            errors
        }));
    }
    let mut errors = BTreeMap::new();
    for task in tasks {
        merge(&mut errors, task.await.context("a fill task panicked")?);
    }
    let elapsed = started.elapsed();
    bar.finish_and_clear();
    let stored_cards = stored.load(Ordering::Relaxed);
    let open_cards = stored_cards - cancelled.load(Ordering::Relaxed);
    if let Some(e) = first_error.lock().unwrap().clone() {
        println!("    first fill error: {e} (errors {errors:?})");
    }
    if stored_cards == 0 {
        bail!("the fill stored no card: {errors:?}");
    }
    // Let the allocator and the node's caches settle before reading VmRSS.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_mib = session.node.rss_kib()? as f64 / 1024.0;
    session.node.stop().await?;
    let data_dir_bytes = dir_size_bytes(&dir.join("data"));

    // The same data reopened: what a node restarted at this size holds.
    let node_config = NodeConfig {
        bin: config.node_bin.clone(),
        data_dir: dir.join("data"),
        admin_password: node_proc::ADMIN_PASSWORD.to_string(),
        log_path: dir.join("node.log"),
        config: None,
    };
    let mut node = node_proc::start(&node_config).await?;
    let restart = node.startup;
    let api = Api::new(client::http_client()?, &node.base_url);
    let token = api.login("bench_ct", client::OPERATOR_PASSWORD).await?;
    // Touch the open list once so lazily loaded state is in memory.
    let _ = api
        .get_card(&token, "00000000-0000-0000-0000-000000000000")
        .await;
    let rss_after_restart_mib = node.rss_kib()? as f64 / 1024.0;
    node.stop().await?;

    Ok(Fill {
        stored_cards,
        open_cards,
        complete: !out_of_budget.load(Ordering::Relaxed) && stored_cards == target,
        requests_per_s: requests.load(Ordering::Relaxed) as f64 / elapsed.as_secs_f64(),
        errors,
        rss_mib,
        rss_after_restart_mib,
        restart,
        data_dir_bytes,
    })
}

fn dir_size_bytes(path: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|entry| match entry.file_type() {
            Ok(t) if t.is_dir() => dir_size_bytes(&entry.path()),
            _ => entry.metadata().map(|m| m.len()).unwrap_or(0),
        })
        .sum()
}
