//! `chaos flap`: a region's link to the real central goes down and up many times, for 0.5–10 s
//! each (seeded), while the node and HQ both work the same cards; after every heal the harness
//! measures how long until both sides show the same cards again.
//!
//! Real `provisioning`, `central` and `node` binaries; the node dials the central through the
//! project's UDP proxy, which black-holes the link for each partition (the QUIC connection
//! survives a partition shorter than its idle timeout and carries on with late frames). During
//! each partition, in two rounds so that each side's second write waits behind its first:
//! - the node works two cards (a note, then dispatch a patrol, or close with the report) and
//!   creates a new card;
//! - HQ writes a note on the same two cards through the central's HTTP API.
//!
//! After the heal the cards touched (and any that had not converged before) are compared on the
//! node and at the central, over HTTP, until they agree or a deadline passes: the time from the
//! heal to agreement is the figure, against the goal of 2 s (partitions shorter than the QUIC
//! idle timeout) or the reconnect back-off cap + 2 s (a longer partition, in the full run). The
//! run fails only above [`CONVERGE_BOUND_MS`], looser than the goal so a loaded machine does not
//! flake, or if anything acknowledged was lost or duplicated. The only timed pauses are the
//! fault schedule itself (partition lengths, gaps between partitions).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use anyhow::Context;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use crate::cluster::{
    convergence_json, print_problems, Cluster, ClusterArgs, Convergence, Expected, Run, AST,
    QUIC_IDLE_TIMEOUT_MS,
};
use crate::report::{self, Latency, Report};

pub const NAME: &str = "flap";

/// Goal for a partition shorter than the QUIC idle timeout: converged within this of the heal.
pub const SHORT_GOAL_MS: u64 = 2_000;
/// Over this, for any partition, the run fails (the goals are what the note reports).
pub const CONVERGE_BOUND_MS: u64 = 10_000;
/// Shortest and longest short partition.
pub const SHORT_PARTITION_MS_MIN: u64 = 500;
pub const SHORT_PARTITION_MS_MAX: u64 = 10_000;
/// A long partition outlasts the QUIC idle timeout by this much, so the link reconnects.
pub const LONG_PARTITION_OVER_IDLE_MS: u64 = 5_000;
/// Pause between a convergence and the next partition (seeded within this range).
pub const GAP_MS_MIN: u64 = 200;
pub const GAP_MS_MAX: u64 = 1_500;
/// How long after a heal the harness keeps polling before it records the heal as unconverged.
pub const HEAL_DEADLINE_MS: u64 = 20_000;
/// Deadline of the final check over every card of the run.
pub const FINAL_DEADLINE_MS: u64 = 30_000;
/// Pause between two convergence polls after a heal (the resolution of the figures).
pub const FLAP_POLL_INTERVAL_MS: u64 = 50;
/// Cards the node works (and HQ notes) in each partition.
pub const WORK_CARDS_PER_PARTITION: usize = 2;
/// Write rounds per partition on both sides.
pub const WRITE_ROUNDS: usize = 2;

#[derive(Debug, Clone)]
pub struct FlapConfig {
    pub run: Run,
    /// Cards created (and replicated) before the first partition.
    pub cards_before_count: usize,
    /// Partitions shorter than the QUIC idle timeout.
    pub short_partitions: usize,
    /// Partitions longer than the QUIC idle timeout (the link reconnects).
    pub long_partitions: usize,
    /// Goal for a long partition: the node's reconnect back-off cap + 2 s.
    pub long_goal_ms: u64,
}

impl FlapConfig {
    pub fn new(args: &ClusterArgs, seed: u64) -> anyhow::Result<Self> {
        let run = args.run(seed)?;
        let quick = run.quick;
        Ok(Self {
            run,
            cards_before_count: if quick { 4 } else { 8 },
            short_partitions: if quick { 8 } else { 30 },
            long_partitions: if quick { 0 } else { 1 },
            long_goal_ms: node::replication::RECONNECT_DELAY_MS_MAX + 2_000,
        })
    }
}

/// One partition of the schedule.
#[derive(Debug, Clone, Copy)]
struct Partition {
    ms: u64,
    long: bool,
    /// Pause after convergence before this partition starts.
    gap_ms: u64,
}

/// The seeded schedule: short partitions in random order, long ones in the middle.
fn schedule(config: &FlapConfig, rng: &mut StdRng) -> Vec<Partition> {
    let mut plan: Vec<Partition> = (0..config.short_partitions)
        .map(|_| Partition {
            ms: rng.gen_range(SHORT_PARTITION_MS_MIN..=SHORT_PARTITION_MS_MAX),
            long: false,
            gap_ms: rng.gen_range(GAP_MS_MIN..=GAP_MS_MAX),
        })
        .collect();
    for i in 0..config.long_partitions {
        let at = (plan.len() * (i + 1)) / (config.long_partitions + 1);
        plan.insert(
            at,
            Partition {
                ms: QUIC_IDLE_TIMEOUT_MS + LONG_PARTITION_OVER_IDLE_MS,
                long: true,
                gap_ms: rng.gen_range(GAP_MS_MIN..=GAP_MS_MAX),
            },
        );
    }
    plan
}

/// What one heal measured.
#[derive(Debug, Clone)]
struct Heal {
    partition_ms: u64,
    long: bool,
    node_writes: u64,
    hq_notes: u64,
    cards_checked: u64,
    /// The central's view of the region just before the heal (`connected`, `disconnected`, …).
    state_before_heal: String,
    /// Ms from the heal until both sides agreed; `None`: not within [`HEAL_DEADLINE_MS`].
    converge_ms: Option<u64>,
}

impl Heal {
    fn goal_ms(&self, config: &FlapConfig) -> u64 {
        if self.long {
            config.long_goal_ms
        } else {
            SHORT_GOAL_MS
        }
    }

    fn json(&self) -> Value {
        json!({
            "partition_ms": self.partition_ms,
            "long": self.long,
            "node_writes": self.node_writes,
            "hq_notes": self.hq_notes,
            "cards_checked": self.cards_checked,
            "state_before_heal": self.state_before_heal,
            "converge_ms": self.converge_ms,
        })
    }
}

/// Where a card the node works is in its lifecycle.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Stage {
    SentForProcessing,
    Dispatched,
    Closed,
}

/// Runs `chaos flap`; `Ok(false)` means a bound or an invariant was violated (the report is
/// written).
pub async fn run(config: FlapConfig) -> anyhow::Result<bool> {
    let run_started = Instant::now();
    let mut rng = StdRng::seed_from_u64(config.run.seed);
    let plan = schedule(&config, &mut rng);
    let mut cluster = Cluster::start("flap-", &config.run, &[AST]).await?;
    println!(
        "central and node AST up in {} ms; {} partitions of {:?} ms",
        run_started.elapsed().as_millis(),
        plan.len(),
        plan.iter().map(|p| p.ms).collect::<Vec<_>>()
    );
    let outcome = flap(&mut cluster, &config, &plan, &mut rng).await;
    let summary = outcome.map(|(heals, expected, final_ms, final_check, metrics)| {
        move |report: &mut Report| {
            summarise(
                &config,
                &heals,
                &expected,
                final_ms,
                &final_check,
                metrics,
                report,
            )
        }
    });
    cluster.conclude(NAME, run_started, summary).await
}

/// Stall counters as `/metrics` shows them at the end (absent in builds without them).
#[derive(Debug, Default)]
struct StallMetrics {
    node: Option<f64>,
    central: Option<f64>,
}

/// The value of the first sample of `name` in an OpenMetrics text (any labels).
fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        let (key, value) = l.rsplit_once(' ')?;
        let bare = key.split('{').next()?;
        (bare == name).then(|| value.parse().ok()).flatten()
    })
}

type FlapResult = (Vec<Heal>, Expected, Option<u64>, Convergence, StallMetrics);

async fn flap(
    cluster: &mut Cluster,
    config: &FlapConfig,
    plan: &[Partition],
    rng: &mut StdRng,
) -> anyhow::Result<FlapResult> {
    let tag = config.run.seed % 100_000;
    let mut expected = Expected::default();
    let mut seq = 0u64;
    if cluster
        .await_link("AST", true, HEAL_DEADLINE_MS)
        .await?
        .is_none()
    {
        anyhow::bail!("AST did not connect to the central within {HEAL_DEADLINE_MS} ms");
    }
    let mut work: Vec<(String, Stage)> = Vec::new();
    for _ in 0..config.cards_before_count {
        seq += 1;
        let id = cluster.node("AST").create_sent(rng, seq).await?;
        expected.card("AST", &id);
        work.push((id, Stage::SentForProcessing));
    }
    let ids: Vec<String> = work.iter().map(|(id, _)| id.clone()).collect();
    if cluster
        .await_at_central("AST", &ids, HEAL_DEADLINE_MS)
        .await?
        .is_none()
    {
        anyhow::bail!("the first cards did not reach the central within {HEAL_DEADLINE_MS} ms");
    }

    let mut heals = Vec::new();
    // Cards whose last heal did not converge are checked again at the next one.
    let mut carried: BTreeSet<(String, String)> = BTreeSet::new();
    for (n, partition) in plan.iter().enumerate() {
        tokio::time::sleep(Duration::from_millis(partition.gap_ms)).await;
        cluster.proxies["AST"].set_blackhole(true);
        let started = Instant::now();
        let mut touched: BTreeSet<(String, String)> = carried.clone();
        let (mut node_writes, mut hq_notes) = (0u64, 0u64);
        // Work on open cards the central already shows; the newest first, so each card goes
        // through dispatch and close over two partitions.
        let chosen: Vec<usize> = work
            .iter()
            .enumerate()
            .filter(|(_, (_, stage))| *stage != Stage::Closed)
            .map(|(i, _)| i)
            .rev()
            .take(WORK_CARDS_PER_PARTITION)
            .collect();
        for round in 0..WRITE_ROUNDS {
            if round > 0 {
                // The second round waits behind the first one's batch, held by the partition.
                let at = Duration::from_millis(partition.ms / 2);
                tokio::time::sleep(at.saturating_sub(started.elapsed())).await;
            }
            for &i in &chosen {
                let id = work[i].0.clone();
                let key = ("AST".to_string(), id.clone());
                touched.insert(key);
                let text = format!("AST note {n}.{round} on a flapping link (run {tag})");
                cluster.node("AST").note(&id, &text).await?;
                expected.card("AST", &id).notes.insert(text);
                node_writes += 1;
                let hq = format!("HQ directive {n}.{round} on a flapping link (run {tag})");
                cluster.central.note("AST", &id, &hq).await?;
                expected.card("AST", &id).notes.insert(hq);
                hq_notes += 1;
                if round == 0 {
                    let node = cluster.nodes.get_mut("AST").context("AST is a region")?;
                    match work[i].1 {
                        Stage::SentForProcessing => {
                            if let Some(unit) = node.dispatch(&id).await? {
                                expected.card("AST", &id).units.insert(unit);
                                work[i].1 = Stage::Dispatched;
                                node_writes += 1;
                            }
                        }
                        Stage::Dispatched => {
                            let text = format!("report {n} (run {tag})");
                            node.close(&id, &text).await?;
                            expected.card("AST", &id).closed = true;
                            work[i].1 = Stage::Closed;
                            node_writes += 1;
                        }
                        Stage::Closed => {}
                    }
                }
            }
            if round == 0 {
                seq += 1;
                let id = cluster.node("AST").create_sent(rng, seq).await?;
                expected.card("AST", &id);
                touched.insert(("AST".to_string(), id.clone()));
                work.push((id, Stage::SentForProcessing));
                node_writes += 1;
            }
        }
        let hold = Duration::from_millis(partition.ms).saturating_sub(started.elapsed());
        tokio::time::sleep(hold).await;
        let state_before_heal = cluster
            .central
            .region_state("AST")
            .await
            .unwrap_or_else(|e| format!("unknown ({e})"));
        let partition_ms = started.elapsed().as_millis() as u64;
        cluster.proxies["AST"].set_blackhole(false);
        let healed = Instant::now();
        let subset = Expected {
            cards: expected
                .cards
                .iter()
                .filter(|(k, _)| touched.contains(*k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        };
        let (converge_ms, check) = cluster
            .await_convergence_since(&subset, healed, HEAL_DEADLINE_MS, FLAP_POLL_INTERVAL_MS)
            .await?;
        let heal = Heal {
            partition_ms,
            long: partition.long,
            node_writes,
            hq_notes,
            cards_checked: check.cards_checked,
            state_before_heal,
            converge_ms,
        };
        let goal = heal.goal_ms(config);
        match converge_ms {
            Some(ms) => {
                carried.clear();
                println!(
                    "heal {}/{}: {}partition {partition_ms} ms, AST {node_writes} writes, HQ {hq_notes} notes, central showed AST {}: converged in {ms} ms (goal {goal} ms: {})",
                    n + 1,
                    plan.len(),
                    if partition.long { "long " } else { "" },
                    heal.state_before_heal,
                    report::goal_word(ms <= goal)
                );
            }
            None => {
                carried = touched;
                println!(
                    "heal {}/{}: {}partition {partition_ms} ms, AST {node_writes} writes, HQ {hq_notes} notes, central showed AST {}: NOT converged within {HEAL_DEADLINE_MS} ms",
                    n + 1,
                    plan.len(),
                    if partition.long { "long " } else { "" },
                    heal.state_before_heal,
                );
                print_problems(&check);
            }
        }
        heals.push(heal);
    }
    let (final_ms, final_check) = cluster
        .await_convergence(&expected, FINAL_DEADLINE_MS)
        .await?;
    if final_ms.is_none() {
        print_problems(&final_check);
    }
    let node_metrics = cluster.node("AST").metrics().await.ok();
    let central_metrics = cluster.central.metrics().await.ok();
    let metrics = StallMetrics {
        node: node_metrics
            .as_deref()
            .and_then(|t| metric(t, "node_replication_stalls_total")),
        central: central_metrics
            .as_deref()
            .and_then(|t| metric(t, "central_replication_stalls_total")),
    };
    Ok((heals, expected, final_ms, final_check, metrics))
}

/// Prints the figures against the goals, fills the report; whether the run passed.
fn summarise(
    config: &FlapConfig,
    heals: &[Heal],
    expected: &Expected,
    final_ms: Option<u64>,
    final_check: &Convergence,
    metrics: StallMetrics,
    report: &mut Report,
) -> bool {
    // An unconverged heal counts as its deadline: a lower bound of its real figure.
    let sample = |h: &Heal| Duration::from_millis(h.converge_ms.unwrap_or(HEAL_DEADLINE_MS));
    let mut short: Vec<Duration> = heals.iter().filter(|h| !h.long).map(sample).collect();
    let mut long: Vec<Duration> = heals.iter().filter(|h| h.long).map(sample).collect();
    let short_latency = Latency::from_samples(&mut short);
    let long_latency = Latency::from_samples(&mut long);
    let not_converged = heals.iter().filter(|h| h.converge_ms.is_none()).count() as u64;
    let over_bound = heals
        .iter()
        .filter(|h| h.converge_ms.is_none_or(|ms| ms > CONVERGE_BOUND_MS))
        .count() as u64;
    let short_goal_met = short_latency.max_ms <= SHORT_GOAL_MS as f64;
    let long_goal_met = long_latency.max_ms <= config.long_goal_ms as f64;
    println!(
        "time to converge after a heal, {} partitions of {SHORT_PARTITION_MS_MIN}–{SHORT_PARTITION_MS_MAX} ms: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms (goal ≤ {SHORT_GOAL_MS} ms: {}; CI bound {CONVERGE_BOUND_MS} ms)",
        short_latency.count,
        short_latency.p50_ms,
        short_latency.p99_ms,
        short_latency.max_ms,
        report::goal_word(short_goal_met)
    );
    if long_latency.count > 0 {
        println!(
            "after {} partition(s) longer than the QUIC idle timeout: max {:.0} ms (goal ≤ back-off cap + 2 s = {} ms: {})",
            long_latency.count,
            long_latency.max_ms,
            config.long_goal_ms,
            report::goal_word(long_goal_met)
        );
    }
    if not_converged > 0 {
        println!(
            "{not_converged} of {} heals did not converge within {HEAL_DEADLINE_MS} ms",
            heals.len()
        );
    }
    match final_ms {
        Some(ms) => println!(
            "final check: {} cards identical on the node and the central ({ms} ms)",
            final_check.cards_checked
        ),
        None => println!("final check: NOT converged within {FINAL_DEADLINE_MS} ms"),
    }
    let ok = over_bound == 0
        && final_ms.is_some()
        && final_check.lost == 0
        && final_check.duplicated == 0;
    report.kv("seed", config.run.seed.to_string());
    report.kv("heals", heals.len() as u64);
    report.kv("short_p50_ms", short_latency.p50_ms.round() as u64);
    report.kv("short_p99_ms", short_latency.p99_ms.round() as u64);
    report.kv("short_max_ms", short_latency.max_ms.round() as u64);
    report.kv("goal_ms", SHORT_GOAL_MS);
    report.kv("goal_met", short_goal_met);
    if long_latency.count > 0 {
        report.kv("long_max_ms", long_latency.max_ms.round() as u64);
        report.kv("long_goal_ms", config.long_goal_ms);
        report.kv("long_goal_met", long_goal_met);
    }
    report.kv("bound_ms", CONVERGE_BOUND_MS);
    report.kv("not_converged", not_converged);
    report.kv("cards", expected.cards.len() as u64);
    report.kv("lost", final_check.lost);
    report.kv("duplicated", final_check.duplicated);
    report.kv("ok", ok);
    report.detail("quick", config.run.quick);
    report.detail("short", short_latency.to_json());
    report.detail("long", long_latency.to_json());
    report.detail("heals", heals.iter().map(Heal::json).collect::<Vec<_>>());
    report.detail("final_check", convergence_json(final_check));
    report.detail("node_replication_stalls_total", metrics.node);
    report.detail("central_replication_stalls_total", metrics.central);
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_reads_the_first_sample_with_or_without_labels() {
        let text = "# HELP x y\nnode_replication_stalls_total 3\ncentral_replication_stalls_total{region=\"AST\"} 2\n";
        assert_eq!(metric(text, "node_replication_stalls_total"), Some(3.0));
        assert_eq!(metric(text, "central_replication_stalls_total"), Some(2.0));
        assert_eq!(metric(text, "node_replication_stalls"), None);
    }
}
