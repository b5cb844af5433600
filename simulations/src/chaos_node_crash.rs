//! `chaos node-crash`: SIGKILL the node under write load, again and again on the same data dir,
//! and check that every card the node acknowledged with a 201 survived intact.
//!
//! Run k: start → verify the cards acknowledged in run k-1 plus a sample of older ones → load →
//! SIGKILL after a seeded random delay → collect every 201. After the last run the node is
//! started once more and every acknowledged card is verified.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use indicatif::ProgressBar;
use rand::rngs::StdRng;
use rand::seq::index::sample;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use crate::client::{self, Api, CallError};
use crate::node_proc::{self, NodeConfig};
use crate::process::{self, Process};
use crate::report::{self, Report};

pub const NAME: &str = "node-crash";

/// The account the load runs as.
const OPERATOR_LOGIN: &str = "chaos_ct";
/// Attempts at reading one card before it counts as a check error.
const CHECK_ATTEMPTS_MAX: u32 = 3;
const CHECK_RETRY_DELAY_MS: u64 = 100;
/// Concurrent readers while verifying.
const CHECK_TASKS_COUNT: usize = 16;
/// Coordinates are sent with six decimals; this absorbs any float round trip.
const COORDINATE_TOLERANCE: f64 = 1e-9;
/// Examples of each kind of failure kept in the report.
const EXAMPLES_MAX: usize = 20;

#[derive(Debug, Clone)]
pub struct NodeCrashConfig {
    pub seed: u64,
    pub node_bin: PathBuf,
    pub runs_count: u32,
    pub clients_count: usize,
    pub kill_after_ms_min: u64,
    pub kill_after_ms_max: u64,
    /// Older acknowledged cards re-read in every run (all of them are read at the end).
    pub older_sample_count: usize,
}

impl NodeCrashConfig {
    pub fn new(
        quick: bool,
        seed: u64,
        node_bin: PathBuf,
        runs: Option<u32>,
        clients_count: usize,
    ) -> Self {
        Self {
            seed,
            node_bin,
            runs_count: runs.unwrap_or(if quick { 5 } else { 20 }).max(1),
            clients_count,
            kill_after_ms_min: 20,
            kill_after_ms_max: 300,
            older_sample_count: if quick { 100 } else { 500 },
        }
    }
}

/// A card the node answered 201 for, with what was sent.
#[derive(Debug, Clone)]
struct Acked {
    id: String,
    number: String,
    body: Value,
    run: u32,
}

#[derive(Debug, Default)]
struct Tally {
    /// Missing or altered at some check (a card counts once however often it is read).
    lost_ids: BTreeSet<String>,
    /// Missing or altered reads.
    lost_reads: u64,
    check_errors: u64,
    checked: u64,
    lost_examples: Vec<Value>,
    check_error_examples: Vec<String>,
}

impl Tally {
    fn absorb(&mut self, other: Tally) {
        self.lost_ids.extend(other.lost_ids);
        self.lost_reads += other.lost_reads;
        self.check_errors += other.check_errors;
        self.checked += other.checked;
        for e in other.lost_examples {
            if self.lost_examples.len() < EXAMPLES_MAX {
                self.lost_examples.push(e);
            }
        }
        for e in other.check_error_examples {
            if self.check_error_examples.len() < EXAMPLES_MAX {
                self.check_error_examples.push(e);
            }
        }
    }
}

/// Runs the command; `Ok(false)` means an invariant was violated (the report is written).
pub async fn run(config: NodeCrashConfig) -> anyhow::Result<bool> {
    node_proc::check_node_bin(&config.node_bin)?;
    let scratch = report::scratch_dir("node-crash-")?;
    let node_config = NodeConfig {
        bin: config.node_bin.clone(),
        data_dir: scratch.path().join("data"),
        admin_password: node_proc::ADMIN_PASSWORD.to_string(),
        log_path: scratch.path().join("node.log"),
        config: None,
    };
    println!(
        "{} runs, {} clients, kill {}–{} ms after load starts; data {}",
        config.runs_count,
        config.clients_count,
        config.kill_after_ms_min,
        config.kill_after_ms_max,
        node_config.data_dir.display()
    );
    // Two streams, so the kill schedule depends on the seed alone and not on how many cards a
    // run happened to get acknowledged (which sizes the sample drawn from `sample_rng`).
    let mut schedule_rng = StdRng::seed_from_u64(config.seed);
    let mut sample_rng = StdRng::seed_from_u64(config.seed ^ 0x5A3F_1E00_C0DE_0001);
    let http = client::http_client()?;
    let mut acked: Vec<Acked> = Vec::new();
    let mut tally = Tally::default();
    let mut reopen_failures = 0u64;
    let mut reopen_failure_logs = Vec::new();
    let mut status_errors = BTreeMap::<String, u64>::new();
    let mut first_status_error: Option<String> = None;
    let mut unknown_outcomes = 0u64;
    let mut unprompted_exits = 0u64;
    let mut startup_ms = Vec::new();
    let mut categories: Vec<String> = Vec::new();
    let mut runs_done = 0u32;
    let bar = report::progress(config.runs_count as u64, "crash runs");
    let say = |bar: &ProgressBar, line: String| bar.suspend(|| println!("{line}"));

    for run in 0..config.runs_count {
        let mut node = match node_proc::start(&node_config).await {
            Ok(node) => node,
            Err(e) if run == 0 => {
                return Err(e.context("the node did not start on a fresh data dir"))
            }
            Err(e) => {
                reopen_failures += 1;
                say(&bar, format!("run {run}: REOPEN FAILURE: {e:#}"));
                reopen_failure_logs.push(format!("{e:#}"));
                break;
            }
        };
        startup_ms.push(node.startup.as_millis() as u64);
        let api = Api::new(http.clone(), &node.base_url);
        let token = if run == 0 {
            client::operator_session(
                &api,
                node_proc::ADMIN_PASSWORD,
                OPERATOR_LOGIN,
                &["call_taker"],
            )
            .await?
        } else {
            api.login(OPERATOR_LOGIN, client::OPERATOR_PASSWORD)
                .await
                .context("the operator account did not survive the crash")?
        };
        if categories.is_empty() {
            categories = api.categories(&token).await?;
        }

        // Verify what the previous crash might have lost.
        let (new_from_last, older): (Vec<&Acked>, Vec<&Acked>) =
            acked.iter().partition(|a| run > 0 && a.run == run - 1);
        let mut to_check: Vec<Acked> = new_from_last.into_iter().cloned().collect();
        let sample_count = config.older_sample_count.min(older.len());
        for i in sample(&mut sample_rng, older.len(), sample_count) {
            to_check.push(older[i].clone());
        }
        let checked = verify(&api, &token, to_check, &ProgressBar::hidden()).await;
        let lost_now = checked.lost_reads;
        let checked_now = checked.checked;
        tally.absorb(checked);

        // Load, then SIGKILL at a seeded moment.
        let kill_after = Duration::from_millis(
            schedule_rng.gen_range(config.kill_after_ms_min..=config.kill_after_ms_max),
        );
        let load_seed = schedule_rng.gen::<u64>();
        let outcome = load_until_killed(
            &mut node,
            &api,
            &token,
            &categories,
            &config,
            run,
            load_seed,
            kill_after,
        )
        .await?;
        let acked_now = outcome.acked.len();
        acked.extend(outcome.acked);
        for (k, v) in outcome.status_errors {
            *status_errors.entry(k).or_default() += v;
        }
        if first_status_error.is_none() {
            first_status_error = outcome.first_status_error;
        }
        unknown_outcomes += outcome.unknown_outcomes;
        unprompted_exits += outcome.exited_before_kill as u64;
        runs_done += 1;
        say(
            &bar,
            format!(
                "run {run}: up in {} ms, checked {checked_now} (lost {lost_now}); killed after {} ms with {acked_now} acknowledged, {} unanswered (total {})",
                node.startup.as_millis(),
                kill_after.as_millis(),
                outcome.unknown_outcomes,
                acked.len()
            ),
        );
        bar.inc(1);
    }
    bar.finish_and_clear();

    // Final: reopen once more and read every acknowledged card.
    if reopen_failures == 0 {
        match node_proc::start(&node_config).await {
            Ok(mut node) => {
                startup_ms.push(node.startup.as_millis() as u64);
                let api = Api::new(http.clone(), &node.base_url);
                let token = api
                    .login(OPERATOR_LOGIN, client::OPERATOR_PASSWORD)
                    .await
                    .context("the operator account did not survive the crash")?;
                let all_bar = report::progress(acked.len() as u64, "verify all");
                let checked = verify(&api, &token, acked.clone(), &all_bar).await;
                all_bar.finish_and_clear();
                println!(
                    "final: all {} acknowledged cards read back, {} lost or altered, {} unreadable",
                    checked.checked, checked.lost_reads, checked.check_errors
                );
                tally.absorb(checked);
                let clean = node.stop().await?;
                if !clean {
                    println!(
                        "note: the node did not stop within {} ms of SIGTERM",
                        process::STOP_DEADLINE_MS
                    );
                }
            }
            Err(e) => {
                reopen_failures += 1;
                println!("final reopen: REOPEN FAILURE: {e:#}");
                reopen_failure_logs.push(format!("{e:#}"));
            }
        }
    }

    let duplicates = duplicate_numbers(&acked);
    let acknowledged_total = acked.len() as u64;
    println!(
        "{runs_done} crash runs: {acknowledged_total} cards acknowledged, {} reads, {} lost or altered, {} reopen failures, {} unreadable, {} duplicate numbers, {unknown_outcomes} requests unanswered at a kill",
        tally.checked, tally.lost_ids.len(), reopen_failures, tally.check_errors, duplicates.len()
    );
    if !status_errors.is_empty() {
        println!(
            "non-201 answers during load: {status_errors:?}; first: {}",
            first_status_error.clone().unwrap_or_default()
        );
    }
    if unprompted_exits > 0 {
        println!("the node exited on its own under load {unprompted_exits} times");
    }
    let acknowledged_lost = tally.lost_ids.len() as u64;
    let ok = acknowledged_lost == 0
        && reopen_failures == 0
        && tally.check_errors == 0
        && duplicates.is_empty()
        && acknowledged_total > 0;
    if acknowledged_total == 0 {
        println!("HARNESS FAILURE: no card was acknowledged in any run, so nothing was tested");
    }

    let mut report = Report::new(NAME);
    report.kv("runs", runs_done as u64);
    report.kv("acknowledged_lost", acknowledged_lost);
    report.kv("reopen_failures", reopen_failures);
    report.kv("acknowledged_total", acknowledged_total);
    report.kv("checks", tally.checked);
    report.kv("check_errors", tally.check_errors);
    report.kv("duplicate_numbers", duplicates.len() as u64);
    report.kv("unanswered_at_kill", unknown_outcomes);
    report.kv("load_status_errors", status_errors.values().sum::<u64>());
    report.kv("ok", ok);
    report.kv("seed", config.seed.to_string());
    report.detail("config", format!("{config:?}"));
    report.detail("lost_examples", tally.lost_examples.clone());
    report.detail("check_error_examples", tally.check_error_examples.clone());
    report.detail("duplicate_numbers", duplicates.clone());
    report.detail("reopen_failures", reopen_failure_logs);
    report.detail("load_status_errors", json!(status_errors));
    report.detail("first_load_status_error", first_status_error);
    report.detail("startup_ms", startup_ms);
    report.detail("node_exited_unprompted", unprompted_exits);

    if !ok {
        // Keep the evidence: the data dir and the node's log.
        report::keep_for_inspection(scratch, "data dir and node.log", Some(&mut report));
    }
    report.finish()?;
    Ok(ok)
}

struct LoadOutcome {
    acked: Vec<Acked>,
    status_errors: BTreeMap<String, u64>,
    first_status_error: Option<String>,
    unknown_outcomes: u64,
    exited_before_kill: bool,
}

#[allow(clippy::too_many_arguments)]
async fn load_until_killed(
    node: &mut Process,
    api: &Api,
    token: &str,
    categories: &[String],
    config: &NodeCrashConfig,
    run: u32,
    load_seed: u64,
    kill_after: Duration,
) -> anyhow::Result<LoadOutcome> {
    let stop = Arc::new(AtomicBool::new(false));
    let categories = Arc::new(categories.to_vec());
    let mut tasks = Vec::new();
    for task_index in 0..config.clients_count {
        let (api, token, categories, stop) = (
            api.clone(),
            token.to_string(),
            categories.clone(),
            stop.clone(),
        );
        let mut rng = StdRng::seed_from_u64(
            load_seed ^ (task_index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
        );
        tasks.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            let mut status_errors = BTreeMap::<String, u64>::new();
            let mut first_status_error = None;
            let mut unknown = 0u64;
            let mut n = 0u64;
            // Requests in flight at the kill run to their end: answers already on their way
            // are still collected.
            while !stop.load(Ordering::Relaxed) {
                let seq = (run as u64) << 40 | (task_index as u64) << 24 | n;
                n += 1;
                let body = client::card_body(&mut rng, &categories, seq);
                match api.create_card(&token, &body).await {
                    Ok(created) => acked.push(Acked {
                        id: created.id,
                        number: created.number,
                        body,
                        run,
                    }),
                    Err(CallError::Transport(_)) => {
                        unknown += 1;
                        // The node is (being) killed: this request's outcome is unknown, and
                        // further ones would only be refused.
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                    }
                    Err(e) => {
                        *status_errors.entry(e.key()).or_default() += 1;
                        first_status_error.get_or_insert_with(|| e.to_string());
                    }
                }
            }
            (acked, status_errors, first_status_error, unknown)
        }));
    }
    tokio::time::sleep(kill_after).await;
    let exited_before_kill = node.has_exited();
    // Raised just before the signal, so a request that fails because of the kill ends its task.
    stop.store(true, Ordering::Relaxed);
    node.kill().await?;
    let mut outcome = LoadOutcome {
        acked: Vec::new(),
        status_errors: BTreeMap::new(),
        first_status_error: None,
        unknown_outcomes: 0,
        exited_before_kill,
    };
    for task in tasks {
        let (acked, errors, first, unknown) = task.await.context("a load task panicked")?;
        outcome.acked.extend(acked);
        for (k, v) in errors {
            *outcome.status_errors.entry(k).or_default() += v;
        }
        if outcome.first_status_error.is_none() {
            outcome.first_status_error = first;
        }
        outcome.unknown_outcomes += unknown;
    }
    // Keep the acknowledgement order stable across replays.
    outcome
        .acked
        .sort_by(|a, b| a.number.cmp(&b.number).then(a.id.cmp(&b.id)));
    Ok(outcome)
}

/// Reads every card of `cards` back and compares it with what was sent.
async fn verify(api: &Api, token: &str, cards: Vec<Acked>, bar: &ProgressBar) -> Tally {
    let cards = Arc::new(cards);
    let next = Arc::new(AtomicUsize::new(0));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let mut tasks = Vec::new();
    for _ in 0..CHECK_TASKS_COUNT.min(cards.len()) {
        let (api, token, cards, next, tally, bar) = (
            api.clone(),
            token.to_string(),
            cards.clone(),
            next.clone(),
            tally.clone(),
            bar.clone(),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(card) = cards.get(i) else { break };
                let outcome = check_one(&api, &token, card).await;
                let mut tally = tally.lock().unwrap();
                tally.checked += 1;
                match outcome {
                    Ok(None) => {}
                    Ok(Some(problem)) => {
                        tally.lost_reads += 1;
                        tally.lost_ids.insert(card.id.clone());
                        if tally.lost_examples.len() < EXAMPLES_MAX {
                            tally.lost_examples.push(problem);
                        }
                    }
                    Err(e) => {
                        tally.check_errors += 1;
                        if tally.check_error_examples.len() < EXAMPLES_MAX {
                            tally
                                .check_error_examples
                                .push(format!("{} ({}): {e}", card.id, card.number));
                        }
                    }
                }
                bar.inc(1);
            }
        }));
    }
    for task in tasks {
        if task.await.is_err() {
            tally.lock().unwrap().check_errors += 1;
        }
    }
    Arc::try_unwrap(tally)
        .map(|m| m.into_inner().unwrap())
        .unwrap_or_default()
}

/// `Ok(None)` when intact, `Ok(Some(description))` when missing or altered.
async fn check_one(api: &Api, token: &str, card: &Acked) -> Result<Option<Value>, CallError> {
    let mut attempt = 0;
    let stored = loop {
        attempt += 1;
        match api.get_card(token, &card.id).await {
            Ok(stored) => break stored,
            Err(e) if attempt >= CHECK_ATTEMPTS_MAX => return Err(e),
            Err(_) => tokio::time::sleep(Duration::from_millis(CHECK_RETRY_DELAY_MS)).await,
        }
    };
    let Some(stored) = stored else {
        return Ok(Some(json!({
            "id": card.id, "number": card.number, "run": card.run, "problem": "missing (404)",
        })));
    };
    let differences = differences(card, &stored);
    if differences.is_empty() {
        return Ok(None);
    }
    Ok(Some(json!({
        "id": card.id, "number": card.number, "run": card.run, "problem": "altered",
        "fields": differences, "sent": card.body, "stored": stored,
    })))
}

/// The fields whose stored value differs from what was sent and acknowledged.
fn differences(card: &Acked, stored: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let sent = &card.body;
    if stored.get("id").and_then(Value::as_str) != Some(card.id.as_str()) {
        out.push("id".to_string());
    }
    if stored.get("number").and_then(Value::as_str) != Some(card.number.as_str()) {
        out.push("number".to_string());
    }
    for field in ["description", "category", "channel"] {
        if stored.get(field) != sent.get(field) {
            out.push(field.to_string());
        }
    }
    for field in ["name", "phone", "language"] {
        if stored.pointer(&format!("/caller/{field}")) != sent.pointer(&format!("/caller/{field}"))
        {
            out.push(format!("caller.{field}"));
        }
    }
    for field in ["lat", "lon", "accuracy_m"] {
        let path = format!("/location/{field}");
        let close = match (
            stored.pointer(&path).and_then(Value::as_f64),
            sent.pointer(&path).and_then(Value::as_f64),
        ) {
            (Some(a), Some(b)) => (a - b).abs() <= COORDINATE_TOLERANCE,
            _ => false,
        };
        if !close {
            out.push(format!("location.{field}"));
        }
    }
    if stored.pointer("/location/address") != sent.pointer("/location/address") {
        out.push("location.address".to_string());
    }
    out
}

/// Numbers given to more than one acknowledged card (e.g. a counter that went back after a crash).
fn duplicate_numbers(acked: &[Acked]) -> Vec<String> {
    let mut seen = BTreeMap::<&str, u32>::new();
    for card in acked {
        *seen.entry(card.number.as_str()).or_default() += 1;
    }
    seen.into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(number, _)| number.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Applies `edit` to the stored copy of a sent card and expects these differing fields.
    fn check(edit: impl FnOnce(&mut Value), expect: &[&str]) {
        let mut rng = StdRng::seed_from_u64(7);
        let body = client::card_body(&mut rng, &["theft".to_string()], 1);
        let card = Acked {
            id: "c1".into(),
            number: "AST-2026-000001".into(),
            body: body.clone(),
            run: 0,
        };
        let mut stored = body;
        stored["id"] = json!("c1");
        stored["number"] = json!("AST-2026-000001");
        stored["status"] = json!("new");
        stored["timeline"] = json!([]);
        edit(&mut stored);
        assert_eq!(differences(&card, &stored), expect);
    }

    #[test]
    fn differences_name_the_altered_fields() {
        check(|_| {}, &[]);
        check(
            |s| s["location"]["accuracy_m"] = json!(s["location"]["accuracy_m"].as_f64().unwrap()),
            &[],
        );
        check(|s| s["number"] = json!("AST-2026-000002"), &["number"]);
        check(|s| s["description"] = json!("other"), &["description"]);
        check(|s| s["location"]["lat"] = json!(0.0), &["location.lat"]);
        check(
            |s| s["caller"] = Value::Null,
            &["caller.name", "caller.phone", "caller.language"],
        );
    }

    #[test]
    fn duplicate_numbers_are_found() {
        let card = |number: &str| Acked {
            id: number.into(),
            number: number.into(),
            body: Value::Null,
            run: 0,
        };
        assert!(duplicate_numbers(&[card("a"), card("b")]).is_empty());
        assert_eq!(
            duplicate_numbers(&[card("a"), card("b"), card("a")]),
            vec!["a".to_string()]
        );
    }
}
