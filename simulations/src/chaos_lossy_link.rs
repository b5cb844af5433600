//! `chaos lossy-link`: one region replicates with the real central over a link with loss and
//! delay; the node creates cards, both sides write notes on them as soon as the central shows
//! them, and every card and note must converge on both sides ([`crate::cluster`]).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::cluster::{
    print_problems, Cluster, ClusterArgs, Expected, RegionPlan, Run, Verdict, AST, POLL_INTERVAL_MS,
};
use crate::proxy::Impairment;
use crate::report::Report;

pub const NAME: &str = "lossy-link";

#[derive(Debug, Clone)]
pub struct LossyLinkConfig {
    pub run: Run,
    pub impairment: Impairment,
    pub cards_count: usize,
    /// Deadline, from the node's start, for everything: the first connection over the impaired
    /// link (its handshake alone may take many seconds at 30 % loss), the cards reaching the
    /// central, the notes, and convergence.
    pub budget_ms: u64,
}

impl LossyLinkConfig {
    pub fn new(
        args: &ClusterArgs,
        seed: u64,
        loss_pct: f64,
        delay_ms: u64,
    ) -> anyhow::Result<Self> {
        let impairment = Impairment {
            loss_pct,
            delay_ms,
            ..Impairment::NONE
        };
        impairment.validate()?;
        let run = args.run(seed)?;
        let quick = run.quick;
        Ok(Self {
            run,
            impairment,
            cards_count: if quick { 20 } else { 100 },
            budget_ms: if quick { 50_000 } else { 150_000 },
        })
    }
}

/// Runs `chaos lossy-link`; `Ok(false)` means an invariant was violated (the report is written).
pub async fn run(config: LossyLinkConfig) -> anyhow::Result<bool> {
    let run_started = Instant::now();
    let mut rng = StdRng::seed_from_u64(config.run.seed);
    let region = RegionPlan {
        impairment: config.impairment,
        ..AST
    };
    let cluster = Cluster::start("lossy-link-", &config.run, &[region]).await?;
    println!(
        "central and node AST up in {} ms; link: {}",
        run_started.elapsed().as_millis(),
        config.impairment
    );
    let outcome = phases(&cluster, &config, &mut rng).await;
    let summary = outcome.map(|o| move |report: &mut Report| o.report(&config, report));
    cluster.conclude(NAME, run_started, summary).await
}

struct Outcome {
    cards: u64,
    hq_notes: u64,
    node_notes: u64,
    connect_ms: Option<u64>,
    arrival_ms: Option<u64>,
    verdict: Verdict,
}

impl Outcome {
    /// Fills the report; whether the run passed.
    fn report(&self, config: &LossyLinkConfig, report: &mut Report) -> bool {
        let ok = self.verdict.ok();
        report.kv("seed", config.run.seed.to_string());
        report.kv_f("loss_pct", config.impairment.loss_pct, 2);
        report.kv("rtt_ms", config.impairment.delay_ms * 2);
        report.kv("cards", self.cards);
        report.kv("hq_notes", self.hq_notes);
        report.kv("connect_ms", self.connect_ms);
        report.kv("arrival_ms", self.arrival_ms);
        report.kv("converge_ms", self.verdict.converge_ms);
        report.kv("lost", self.verdict.check.lost);
        report.kv("duplicated", self.verdict.check.duplicated);
        report.kv("ok", ok);
        self.verdict
            .report_details(format!("{config:?}"), config.run.quick, report);
        report.detail("node_notes", self.node_notes);
        ok
    }
}

async fn phases(
    cluster: &Cluster,
    config: &LossyLinkConfig,
    rng: &mut StdRng,
) -> anyhow::Result<Outcome> {
    let mut expected = Expected::default();
    let mut failures = Vec::new();
    let node = cluster.node("AST");
    let tag = config.run.seed % 100_000;

    // Counted from the node's start: it dials while the harness is still logging in.
    let spawned = cluster.node_spawned("AST").unwrap_or_else(Instant::now);
    let budget_end = spawned + Duration::from_millis(config.budget_ms);
    let remaining_ms = || {
        budget_end
            .saturating_duration_since(Instant::now())
            .as_millis() as u64
    };
    // The node writes at once, while its first handshake over the impaired link may still be
    // under way: the writes are local, and convergence is what counts.
    let writes_started = Instant::now();
    let mut ids = Vec::new();
    for seq in 0..config.cards_count as u64 {
        let id = node.create_sent(rng, seq).await?;
        expected.card("AST", &id);
        ids.push(id);
    }
    // Pipelined: as soon as a card is at the central, HQ writes a note on it and, for about
    // half of them, the node writes one too, so both sides edit concurrently over the link.
    let (mut hq_notes, mut node_notes) = (0u64, 0u64);
    let mut connect_ms = None;
    let mut arrival_ms = None;
    let mut noted: BTreeSet<String> = BTreeSet::new();
    loop {
        if connect_ms.is_none() {
            if let Ok(links) = cluster.central.connected().await {
                if links.get("AST").copied().unwrap_or(false) {
                    connect_ms = Some(spawned.elapsed().as_millis() as u64);
                }
            }
        }
        if let Ok(listed) = cluster.central.open_card_ids("AST").await {
            let listed: BTreeSet<String> = listed.into_iter().collect();
            for (i, id) in ids.iter().enumerate() {
                if !listed.contains(id) || noted.contains(id) {
                    continue;
                }
                let hq_text = format!("HQ directive {i} over a lossy link (run {tag})");
                cluster.central.note("AST", id, &hq_text).await?;
                expected.card("AST", id).notes.insert(hq_text);
                hq_notes += 1;
                if rng.gen_bool(0.5) {
                    let text = format!("AST note {i} over a lossy link (run {tag})");
                    node.note(id, &text).await?;
                    expected.card("AST", id).notes.insert(text);
                    node_notes += 1;
                }
                noted.insert(id.clone());
            }
            if arrival_ms.is_none() && ids.iter().all(|id| listed.contains(id)) {
                arrival_ms = Some(writes_started.elapsed().as_millis() as u64);
            }
        }
        if noted.len() == ids.len() || remaining_ms() == 0 {
            break;
        }
        cluster.check_alive()?;
        tokio::time::sleep(Duration::from_millis(POLL_INTERVAL_MS)).await;
    }
    match connect_ms {
        Some(ms) => println!("AST connected over the impaired link {ms} ms after the node started"),
        None => println!("AST never seen connected over the impaired link"),
    }
    match arrival_ms {
        Some(ms) => println!(
            "{} cards at the central {ms} ms after the first was created",
            ids.len()
        ),
        None => failures.push(format!(
            "the cards did not reach the central within {} ms of the node's start",
            config.budget_ms
        )),
    }
    let (converge_ms, check) = cluster.await_convergence(&expected, remaining_ms()).await?;
    let total_ms = writes_started.elapsed().as_millis() as u64;
    match converge_ms {
        Some(ms) => println!(
            "converged {ms} ms after the last write ({total_ms} ms after the first): {} cards, {hq_notes} HQ notes, {node_notes} node notes",
            check.cards_checked
        ),
        None => {
            println!(
                "no convergence within {} ms of the node's start",
                config.budget_ms
            );
            print_problems(&check);
        }
    }
    Ok(Outcome {
        cards: ids.len() as u64,
        hq_notes,
        node_notes,
        connect_ms,
        arrival_ms,
        verdict: Verdict {
            converge_ms,
            check,
            failures,
        },
    })
}
