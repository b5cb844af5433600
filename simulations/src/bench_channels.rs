//! `bench channels`: citizens' text messages into one real node process (release binary) at a
//! target rate, and the operators' answers back out (issue 14).
//!
//! - Intake: messages at `rate` per second for `duration`, open loop (each has its scheduled
//!   time, and its latencies count from it, so a node that falls behind is not flattered), over
//!   kept connections. The channel's answer to its peer (SMTP `250` to the data: the webhook's
//!   `200` on the messengers) is the "webhook answer" latency; the message shown live to the
//!   operator (the console's `conversation` event) is the "durable and in the inbox" latency.
//!   E-mail only until the Telegram, VK and widget connectors are on main.
//! - Knowledge base: `GET /api/v1/kb/search` when the node serves it; otherwise reported as not
//!   measured.
//! - Outbox drain: the relay is cut off, one answer queued in each of `cut_answers`
//!   conversations, the relay restored: the time until every answer arrived, and the answers lost
//!   and the copies beyond the first (no crash here, so any copy is a duplicate).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::channels_rig::{self, feed_lock, CitizenMail, Rig};
use crate::client::CallError;
use crate::report::{self, goal_word, Latency, Report};

pub const NAME: &str = "channels";

const GOAL_WEBHOOK_P99_MS: f64 = 50.0;
const GOAL_INBOX_P99_MS: f64 = 200.0;
const GOAL_KB_SEARCH_P99_MS: f64 = 20.0;
/// Each citizen address sends this many messages (the inbox's per-address limit allows a burst
/// of 20).
const MESSAGES_PER_CITIZEN: usize = 2;
/// Concurrent operators queueing the answers of the drain.
const OPERATORS: usize = 16;
/// Knowledge-base queries timed, kk and ru.
const KB_QUERIES: [(&str, &str); 6] = [
    ("ru", "потерял паспорт что делать"),
    ("ru", "справка о несудимости"),
    ("ru", "шумят соседи ночью"),
    ("kk", "құжаттарымды жоғалттым"),
    ("kk", "телефон алаяқтар"),
    ("kk", "учаскелік инспектор қабылдау уақыты"),
];
/// How long the event stream may lag behind the last message before the run stops waiting, ms.
const FEED_SETTLE_MS: u64 = 10_000;

#[derive(Debug, Clone)]
pub struct ChannelsBenchConfig {
    pub seed: u64,
    pub quick: bool,
    pub node_bin: PathBuf,
    /// Messages per second into the node.
    pub rate: u64,
    pub duration: Duration,
    /// Kept connections the messages come over.
    pub connections: usize,
    /// Knowledge-base searches timed.
    pub kb_searches: usize,
    /// Answers queued while the relay is cut off.
    pub cut_answers: usize,
    pub drain_deadline: Duration,
}

impl ChannelsBenchConfig {
    pub fn new(quick: bool, seed: u64, node_bin: PathBuf) -> Self {
        Self {
            seed,
            quick,
            node_bin,
            rate: if quick { 200 } else { 1_000 },
            duration: Duration::from_secs(if quick { 8 } else { 60 }),
            connections: if quick { 16 } else { 64 },
            kb_searches: if quick { 300 } else { 3_000 },
            cut_answers: if quick { 800 } else { 10_000 },
            drain_deadline: Duration::from_secs(if quick { 25 } else { 600 }),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

pub async fn run(config: ChannelsBenchConfig) -> anyhow::Result<bool> {
    let scratch = report::scratch_dir("channels-bench-")?;
    let rig = Rig::start(&config.node_bin, scratch.path()).await?;
    let total = (config.rate * config.duration.as_secs()) as usize;
    println!(
        "node {} (SMTP {}), relay {}; {} messages/s for {} s ({total}) over {} connections (e-mail)",
        rig.node.base_url,
        rig.smtp_addr,
        rig.relay.addr,
        config.rate,
        config.duration.as_secs(),
        config.connections
    );
    let (feed, feed_task) = channels_rig::open_feed(&rig).await?;

    // Intake at the target rate.
    let scheduled: Arc<Mutex<HashMap<u64, Instant>>> = Arc::default();
    let webhook: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let failures: Arc<Mutex<Vec<String>>> = Arc::default();
    let t0 = Instant::now() + Duration::from_millis(200);
    let step = Duration::from_secs_f64(1.0 / config.rate as f64);
    let mut tasks = Vec::new();
    for c in 0..config.connections {
        let (scheduled, webhook, failures) = (scheduled.clone(), webhook.clone(), failures.clone());
        let addr = rig.smtp_addr;
        let connections = config.connections;
        tasks.push(tokio::spawn(async move {
            let mut mail = CitizenMail::connect(addr).await?;
            for i in (c..total).step_by(connections) {
                let at = t0 + step * i as u32;
                tokio::time::sleep_until(at.into()).await;
                let seq = i as u64;
                lock(&scheduled).insert(seq, at);
                let from = channels_rig::citizen_address(i / MESSAGES_PER_CITIZEN);
                let (subject, body) = channels_rig::citizen_text(seq, i % 2 == 0);
                if mail.is_broken() {
                    mail = CitizenMail::connect(addr).await?;
                }
                match mail
                    .send(
                        &from,
                        &format!("<m{seq}@mail.sim.invalid>"),
                        &subject,
                        &body,
                    )
                    .await
                {
                    Ok(()) => lock(&webhook).push(at.elapsed()),
                    Err(e) => lock(&failures).push(format!("message {seq}: {e:#}")),
                }
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let intake_s = t0.elapsed().as_secs_f64();
    let taken = lock(&webhook).len();
    let settle = Instant::now() + Duration::from_millis(FEED_SETTLE_MS);
    while feed_lock(&feed).seen.len() < taken && Instant::now() < settle {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let webhook = Latency::from_samples(&mut lock(&webhook));
    let (mut inbox_samples, resyncs, conversation_of) = {
        let f = feed_lock(&feed);
        let s = lock(&scheduled);
        let samples: Vec<Duration> = f
            .seen
            .iter()
            .filter_map(|(seq, seen)| s.get(seq).map(|at| seen.saturating_duration_since(*at)))
            .collect();
        (samples, f.resyncs, f.conversation_of.clone())
    };
    let inbox = Latency::from_samples(&mut inbox_samples);
    let failures = std::mem::take(&mut *lock(&failures));
    println!(
        "intake: {taken} of {total} taken in {intake_s:.1} s ({:.0}/s), {} refused",
        taken as f64 / intake_s,
        failures.len()
    );
    if let Some(f) = failures.first() {
        println!("  first refusal: {f}");
    }
    println!("  webhook answer (SMTP 250): {}", webhook.human());
    println!(
        "  durable and in the inbox (conversation event): {} ({} of {taken} seen, {resyncs} resyncs)",
        inbox.human(),
        inbox.count
    );

    // Knowledge base.
    let kb = kb_search(&rig, config.kb_searches).await?;
    match &kb {
        Some(l) => println!("  kb search: {}", l.human()),
        None => println!("  kb search: not measured (no GET /api/v1/kb/search, or no articles on a node without its hub)"),
    }

    // Outbox drain after a cut-off.
    let mut conversations: Vec<(String, String)> = conversation_of
        .into_iter()
        .map(|(email, id)| (id, email))
        .collect();
    conversations.sort();
    conversations.truncate(config.cut_answers);
    rig.relay.set_online(false).await?;
    let cut_at = Instant::now();
    let answers = channels_rig::queue_answers(&rig, &conversations, 1, OPERATORS).await?;
    let cut_s = cut_at.elapsed().as_secs_f64();
    rig.relay.set_online(true).await?;
    let (drain, _) =
        channels_rig::wait_delivered(&rig.relay, &answers, Instant::now() + config.drain_deadline)
            .await;
    // Copies that come after the last first copy count too.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let d = channels_rig::delivery(&rig.relay, &answers);
    feed_task.abort();
    let mut rig = rig;
    rig.node.stop().await.ok();
    let duplicated = d.repeats + d.unexpected;
    println!(
        "outbox: {} answers queued during a {cut_s:.1} s cut-off, drained in {:.1} s: lost {}, duplicated {duplicated}, misrouted {}",
        answers.len(),
        drain.as_secs_f64(),
        d.lost,
        d.misrouted
    );
    let goals = [
        (
            "webhook p99",
            webhook.p99_ms <= GOAL_WEBHOOK_P99_MS,
            GOAL_WEBHOOK_P99_MS,
        ),
        (
            "inbox p99",
            inbox.p99_ms <= GOAL_INBOX_P99_MS,
            GOAL_INBOX_P99_MS,
        ),
    ];
    for (what, met, goal) in goals {
        println!("  goal {what} ≤ {goal} ms: {}", goal_word(met));
    }
    match &kb {
        Some(l) => println!(
            "  goal kb search p99 ≤ {GOAL_KB_SEARCH_P99_MS} ms: {}",
            goal_word(l.p99_ms <= GOAL_KB_SEARCH_P99_MS)
        ),
        None => println!("  goal kb search p99 ≤ {GOAL_KB_SEARCH_P99_MS} ms: not measured"),
    }
    let ok = d.lost == 0 && duplicated == 0 && d.misrouted == 0 && failures.is_empty();

    let mut report = Report::new(NAME);
    report.kv_f("webhook_p99_ms", webhook.p99_ms, 2);
    report.kv_f("inbox_p99_ms", inbox.p99_ms, 2);
    match &kb {
        Some(l) => report.kv_f("kb_search_p99_ms", l.p99_ms, 2),
        None => report.kv("kb_search_p99_ms", "not_measured"),
    }
    report.kv("lost", d.lost);
    report.kv("duplicated", duplicated);
    report.detail("seed", config.seed);
    report.detail("quick", config.quick);
    report.detail("channels", json!(["email"]));
    report.detail(
        "not_measured",
        json!([
            "telegram",
            "vk",
            "web_widget: their connectors are not on main yet"
        ]),
    );
    report.detail(
        "intake",
        json!({
            "rate_target_per_s": config.rate,
            "duration_s": config.duration.as_secs(),
            "connections": config.connections,
            "sent": total,
            "taken": taken,
            "refused": failures.len(),
            "first_refusals": failures.iter().take(5).collect::<Vec<_>>(),
            "achieved_per_s": report::round(taken as f64 / intake_s, 1),
            "webhook_answer": webhook.to_json(),
            "inbox_visible": inbox.to_json(),
            "event_stream_resyncs": resyncs,
        }),
    );
    report.detail(
        "kb_search",
        match &kb {
            Some(l) => json!({ "latency": l.to_json(), "queries": KB_QUERIES.len() }),
            None => json!("not measured: no GET /api/v1/kb/search, or no articles on this node (they replicate from the hub; a 10,000-article fill through a hub is not built)"),
        },
    );
    report.detail(
        "outbox_drain",
        json!({
            "answers": answers.len(),
            "cut_s": report::round(cut_s, 2),
            "drain_s": report::round(drain.as_secs_f64(), 2),
            "delivered": d.delivered,
            "lost": d.lost,
            "raw_repeats": d.repeats,
            "unexpected": d.unexpected,
            "misrouted": d.misrouted,
            "unthreaded": d.unthreaded,
        }),
    );
    report.detail(
        "goals",
        json!({
            "webhook_p99_ms": GOAL_WEBHOOK_P99_MS,
            "inbox_p99_ms": GOAL_INBOX_P99_MS,
            "kb_search_p99_ms": GOAL_KB_SEARCH_P99_MS,
        }),
    );
    if ok {
        drop(scratch);
    } else {
        report::keep_for_inspection(scratch, "node data and log", Some(&mut report));
    }
    report.finish()?;
    Ok(ok)
}

/// Times `count` searches when the node serves `GET /api/v1/kb/search` over articles; `None`
/// when it answers 404 (not built into this node) or finds nothing (no articles on the node).
async fn kb_search(rig: &Rig, count: usize) -> anyhow::Result<Option<Latency>> {
    let path = |i: usize| {
        let (lang, q) = KB_QUERIES[i % KB_QUERIES.len()];
        format!("/api/v1/kb/search?lang={lang}&q={}", q.replace(' ', "%20"))
    };
    match rig.api.get(&path(0), &rig.token).await {
        // A node's articles replicate from the hub; a node without any would time an empty
        // index. Filling it with 10,000 articles through a hub is not built yet.
        Ok(found) if found["articles"].as_array().is_none_or(|a| a.is_empty()) => return Ok(None),
        Ok(_) => {}
        Err(CallError::Status { status: 404, .. }) => return Ok(None),
        Err(e) => return Err(anyhow::anyhow!("GET /api/v1/kb/search: {e}")),
    }
    let mut samples = Vec::with_capacity(count);
    for i in 0..count {
        let started = Instant::now();
        let _: Value = rig
            .api
            .get(&path(i), &rig.token)
            .await
            .map_err(|e| anyhow::anyhow!("GET /api/v1/kb/search: {e}"))?;
        samples.push(started.elapsed());
    }
    Ok(Some(Latency::from_samples(&mut samples)))
}
