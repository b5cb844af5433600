//! `chaos partition`: two regions (AST, ALM) replicate with the real central; AST's link is
//! black-holed while AST keeps creating cards, dispatching and writing notes, HQ writes notes on
//! the same AST cards, and ALM keeps replicating (checked); then the link heals and every card
//! must converge on both sides with nothing lost or duplicated ([`crate::cluster`]).
//!
//! The only timed pause is the partition's minimum length, which is the fault schedule itself.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use anyhow::bail;
use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::cluster::{
    print_problems, Cluster, ClusterArgs, Expected, Run, Verdict, ALM, AST, QUIC_IDLE_TIMEOUT_MS,
};
use crate::report::Report;

pub const NAME: &str = "partition";

/// Margin over the idle timeout for the central to notice and publish the disconnection.
const DISCONNECT_MARGIN_MS: u64 = 15_000;

#[derive(Debug, Clone)]
pub struct PartitionConfig {
    pub run: Run,
    /// Cards each region creates before the partition.
    pub cards_before_count: usize,
    /// Cards each region creates during the partition.
    pub cards_during_count: usize,
    /// The partition lasts at least this long (the fault schedule, not a wait).
    pub partition_ms_min: u64,
    /// Wait until the central reports AST disconnected before healing (needs the QUIC idle
    /// timeout to pass, so off with --quick where it is only recorded).
    pub require_disconnect: bool,
    /// Deadline for cards and notes to arrive on the healthy link.
    pub arrival_deadline_ms: u64,
    /// Deadline from the heal until everything converged.
    pub converge_deadline_ms: u64,
}

impl PartitionConfig {
    pub fn new(args: &ClusterArgs, seed: u64) -> anyhow::Result<Self> {
        let run = args.run(seed)?;
        let quick = run.quick;
        Ok(Self {
            run,
            cards_before_count: if quick { 6 } else { 20 },
            cards_during_count: if quick { 4 } else { 20 },
            // Full runs outlast the QUIC idle timeout, so the heal goes through a reconnect.
            partition_ms_min: if quick {
                5_000
            } else {
                QUIC_IDLE_TIMEOUT_MS + 5_000
            },
            require_disconnect: !quick,
            arrival_deadline_ms: 20_000,
            converge_deadline_ms: if quick { 25_000 } else { 120_000 },
        })
    }
}

/// Runs `chaos partition`; `Ok(false)` means an invariant was violated (the report is written).
pub async fn run(config: PartitionConfig) -> anyhow::Result<bool> {
    let run_started = Instant::now();
    let mut rng = StdRng::seed_from_u64(config.run.seed);
    let mut cluster = Cluster::start("partition-", &config.run, &[AST, ALM]).await?;
    println!(
        "central and nodes AST, ALM up in {} ms (scratch {})",
        run_started.elapsed().as_millis(),
        cluster.scratch_path()
    );
    let outcome = phases(&mut cluster, &config, &mut rng).await;
    let summary = outcome.map(|o| move |report: &mut Report| o.report(&config, report));
    cluster.conclude(NAME, run_started, summary).await
}

struct Outcome {
    cards: u64,
    hq_notes: u64,
    node_edits: u64,
    phase1_arrival_ms: u64,
    alm_arrival_ms: Option<u64>,
    alm_notes_ms: Option<u64>,
    ast_leaked: u64,
    ast_disconnected: bool,
    ast_disconnected_after_ms: Option<u64>,
    partition_ms: u64,
    verdict: Verdict,
}

impl Outcome {
    /// Fills the report; whether the run passed.
    fn report(&self, config: &PartitionConfig, report: &mut Report) -> bool {
        let ok = self.verdict.ok();
        report.kv("seed", config.run.seed.to_string());
        report.kv("regions", 2u64);
        report.kv("cards", self.cards);
        report.kv("hq_notes", self.hq_notes);
        report.kv("node_edits", self.node_edits);
        report.kv("converge_ms", self.verdict.converge_ms);
        report.kv("lost", self.verdict.check.lost);
        report.kv("duplicated", self.verdict.check.duplicated);
        report.kv("alm_during_partition_ms", self.alm_arrival_ms);
        report.kv("ast_disconnected", self.ast_disconnected);
        report.kv("ok", ok);
        self.verdict
            .report_details(format!("{config:?}"), config.run.quick, report);
        report.detail("phase1_arrival_ms", self.phase1_arrival_ms);
        report.detail("hq_notes_to_alm_during_partition_ms", self.alm_notes_ms);
        report.detail("ast_disconnected_after_ms", self.ast_disconnected_after_ms);
        report.detail("ast_cards_leaked_during_partition", self.ast_leaked);
        report.detail("partition_ms", self.partition_ms);
        ok
    }
}

async fn phases(
    cluster: &mut Cluster,
    config: &PartitionConfig,
    rng: &mut StdRng,
) -> anyhow::Result<Outcome> {
    let mut expected = Expected::default();
    let mut failures = Vec::new();
    let mut seq = 0u64;
    let mut hq_notes = 0u64;
    let mut node_edits = 0u64;

    // Phase 1: both regions replicate on a healthy link.
    for region in ["AST", "ALM"] {
        let connected = cluster
            .await_link(region, true, config.arrival_deadline_ms)
            .await?;
        if connected.is_none() {
            bail!(
                "{region} did not connect to the central within {} ms",
                config.arrival_deadline_ms
            );
        }
    }
    let mut before: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let phase1_started = Instant::now();
    for region in ["AST", "ALM"] {
        let node = cluster.node(region);
        for _ in 0..config.cards_before_count {
            seq += 1;
            let id = node.create_sent(rng, seq).await?;
            expected.card(region, &id);
            before.entry(region).or_default().push(id);
        }
    }
    for region in ["AST", "ALM"] {
        if cluster
            .await_at_central(region, &before[region], config.arrival_deadline_ms)
            .await?
            .is_none()
        {
            bail!(
                "phase 1: {region}'s cards did not reach the central within {} ms on a healthy link",
                config.arrival_deadline_ms
            );
        }
    }
    let phase1_arrival_ms = phase1_started.elapsed().as_millis() as u64;
    println!(
        "phase 1: {} cards per region at the central {phase1_arrival_ms} ms after the first was created",
        config.cards_before_count
    );

    // Phase 2: AST is cut off; both sides keep writing.
    cluster.proxies["AST"].set_blackhole(true);
    let partition_started = Instant::now();
    let tag = config.run.seed % 100_000;
    // HQ notes first on AST's cards, so they are surely concurrent with AST's edits below.
    for (i, id) in before["AST"].iter().enumerate() {
        let text = format!("HQ directive {i} to AST (run {tag})");
        cluster.central.note("AST", id, &text).await?;
        expected.card("AST", id).notes.insert(text);
        hq_notes += 1;
    }
    let mut alm_hq_notes = Vec::new();
    for (i, id) in before["ALM"].iter().enumerate() {
        let text = format!("HQ directive {i} to ALM (run {tag})");
        cluster.central.note("ALM", id, &text).await?;
        expected.card("ALM", id).notes.insert(text.clone());
        alm_hq_notes.push((id.clone(), text));
        hq_notes += 1;
    }
    let mut during: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (i, id) in before["AST"].clone().iter().enumerate() {
        let text = format!("AST note {i} during the partition (run {tag})");
        cluster.node("AST").note(id, &text).await?;
        expected.card("AST", id).notes.insert(text);
        node_edits += 1;
        if i % 2 == 0 {
            let node = cluster.nodes.get_mut("AST").expect("AST is a region");
            if let Some(unit) = node.dispatch(id).await? {
                expected.card("AST", id).units.insert(unit);
                node_edits += 1;
            }
        }
    }
    for region in ["AST", "ALM"] {
        for _ in 0..config.cards_during_count {
            seq += 1;
            let id = cluster.node(region).create_sent(rng, seq).await?;
            expected.card(region, &id);
            during.entry(region).or_default().push(id);
        }
    }
    // ALM must keep replicating both ways while AST is cut off.
    let alm_arrival_ms = cluster
        .await_at_central("ALM", &during["ALM"], config.arrival_deadline_ms)
        .await?;
    let alm_notes_ms = cluster
        .await_notes_on_node("ALM", &alm_hq_notes, config.arrival_deadline_ms)
        .await?;
    match (alm_arrival_ms, alm_notes_ms) {
        (Some(a), Some(b)) => println!(
            "phase 2: ALM kept replicating during AST's partition: its new cards at the central in {a} ms, HQ notes on the node in {b} ms"
        ),
        _ => failures.push(format!(
            "ALM stalled while AST was partitioned: new cards at central {alm_arrival_ms:?} ms, HQ notes on ALM {alm_notes_ms:?} ms (deadline {} ms)",
            config.arrival_deadline_ms
        )),
    }
    let at_central: BTreeSet<String> = cluster
        .central
        .open_card_ids("AST")
        .await
        .map_err(anyhow::Error::from)?
        .into_iter()
        .collect();
    let ast_leaked = during["AST"]
        .iter()
        .filter(|id| at_central.contains(*id))
        .count() as u64;
    if ast_leaked > 0 {
        failures.push(format!(
            "{ast_leaked} of AST's cards created during the black-hole reached the central: the partition did not hold"
        ));
    }
    let mut ast_disconnected_after_ms = None;
    if config.require_disconnect {
        let deadline_ms = QUIC_IDLE_TIMEOUT_MS + DISCONNECT_MARGIN_MS;
        let waited = cluster.await_link("AST", false, deadline_ms).await?;
        ast_disconnected_after_ms = waited.map(|_| partition_started.elapsed().as_millis() as u64);
        if waited.is_none() {
            failures.push(format!(
                "the central still reports AST connected {deadline_ms} ms into its partition"
            ));
        }
    }
    let hold =
        Duration::from_millis(config.partition_ms_min).saturating_sub(partition_started.elapsed());
    tokio::time::sleep(hold).await;
    let links = cluster
        .central
        .connected()
        .await
        .map_err(anyhow::Error::from)?;
    let ast_disconnected = !links.get("AST").copied().unwrap_or(false);
    if ast_disconnected_after_ms.is_none() && ast_disconnected {
        ast_disconnected_after_ms = Some(partition_started.elapsed().as_millis() as u64);
    }
    let partition_ms = partition_started.elapsed().as_millis() as u64;
    println!(
        "phase 2: AST partitioned for {partition_ms} ms: {hq_notes} HQ notes, {node_edits} AST edits, {} new cards per region; central reports AST {}",
        config.cards_during_count,
        if ast_disconnected { "disconnected" } else { "still connected (QUIC idle timeout not reached)" }
    );

    // Phase 3: heal and converge.
    cluster.proxies["AST"].set_blackhole(false);
    let (converge_ms, check) = cluster
        .await_convergence(&expected, config.converge_deadline_ms)
        .await?;
    match converge_ms {
        Some(ms) => println!(
            "phase 3: converged {ms} ms after the heal: {} cards identical on nodes and central",
            check.cards_checked
        ),
        None => {
            println!(
                "phase 3: no convergence within {} ms of the heal",
                config.converge_deadline_ms
            );
            print_problems(&check);
        }
    }
    Ok(Outcome {
        cards: expected.cards.len() as u64,
        hq_notes,
        node_edits,
        phase1_arrival_ms,
        alm_arrival_ms,
        alm_notes_ms,
        ast_leaked,
        ast_disconnected,
        ast_disconnected_after_ms,
        partition_ms,
        verdict: Verdict {
            converge_ms,
            check,
            failures,
        },
    })
}
