//! `bench channels`: citizens' text messages into one real node process (release binary) at a
//! target rate, mixed across the four channels, and the operators' answers back out (issue 14).
//!
//! - Intake: messages at `rate` per second for `duration`, open loop (each has its scheduled
//!   time, and its latencies count from it, so a node that falls behind is not flattered), a
//!   quarter through each channel over kept connections: e-mail (SMTP, lettre's client),
//!   Telegram (webhook posts of updates with the secret header), VK (Callback API `message_new`
//!   events) and the web widget (one page per citizen: a WebSocket from its own source, `hello`,
//!   then its messages). The channel's answer to its peer (SMTP `250` to the data, the
//!   webhook's `200`, the widget's `ack`) is the "webhook answer" latency; the message shown
//!   live to the operator (the console's `conversation` event) is the "durable and in the
//!   inbox" latency.
//! - Knowledge base: the node's own index ([`node::kb::KbIndex`], what `GET /api/v1/kb/search`
//!   and the bot search) filled in process with 10,000 published articles (the demo set's
//!   articles, each in many district variants with sentences of another, so the vocabulary and
//!   the term statistics are those of real articles), timed over kk and ru questions. A node's
//!   articles come from its hub; filling a hub with 10,000 through its editor API is not what is
//!   measured here, the search is.
//! - Outbox drain: every channel cut off at once (the relay's port closed, the vendors' API
//!   answering `502`/`503`, the citizens' widget pages closed), one answer queued in each of
//!   `cut_answers` conversations spread over the four channels, the link restored and the pages
//!   opened again: the time until every answer arrived, and the answers lost and the copies
//!   beyond the first (no crash here, so any copy is a duplicate). The cut lasts as long as the
//!   queueing does, not an hour: the outbox's back-off is capped at 5 minutes and a channel's
//!   queue is tried at once when a send goes through again, which is what this drain exercises.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::channels_rig::{
    self, feed_lock, Ch, CitizenMail, Rig, Target, WidgetLedger, WidgetPage,
};
use crate::report::{self, goal_word, Latency, Report};

pub const NAME: &str = "channels";

const GOAL_WEBHOOK_P99_MS: f64 = 50.0;
const GOAL_INBOX_P99_MS: f64 = 200.0;
const GOAL_KB_SEARCH_P99_MS: f64 = 20.0;
/// Each citizen address sends this many messages (the inbox's per-address limit allows a burst
/// of 20).
const MESSAGES_PER_CITIZEN: usize = 2;
/// Citizens of one intake connection are numbered from `connection × this`.
const CITIZENS_PER_CONNECTION_MAX: usize = 1_000_000;
/// Articles the knowledge-base search is timed over.
const KB_ARTICLES: usize = 10_000;
/// Articles put in the index per commit while filling it.
const KB_FILL_BATCH: usize = 1_000;
/// Widget pages opening again at once after the cut-off.
const PAGES_REOPENING: usize = 64;
/// How long a reopened page waits for its answers, s.
const PAGE_ANSWERS_WAIT_S: u64 = 30;
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
            // A multiple of 4: each connection carries one channel.
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

/// When a message was due, through which channel, from which citizen.
type Sent = (Instant, Ch, usize);

pub async fn run(config: ChannelsBenchConfig) -> anyhow::Result<bool> {
    let scratch = report::scratch_dir("channels-bench-")?;
    let rig = Rig::start(&config.node_bin, scratch.path()).await?;
    let total = (config.rate * config.duration.as_secs()) as usize;
    println!(
        "node {} (SMTP {}), relay {}, messenger API stand-in {}; {} messages/s for {} s ({total}) over {} connections, mixed across e-mail, Telegram, VK and the web widget",
        rig.node.base_url,
        rig.smtp_addr,
        rig.relay.addr,
        rig.messengers.addr,
        config.rate,
        config.duration.as_secs(),
        config.connections
    );
    let (feed, feed_task) = channels_rig::open_feed(&rig).await?;
    let rig = Arc::new(rig);

    // Intake at the target rate.
    let scheduled: Arc<Mutex<HashMap<u64, Sent>>> = Arc::default();
    let webhook: Arc<Mutex<HashMap<Ch, Vec<Duration>>>> = Arc::default();
    let failures: Arc<Mutex<Vec<String>>> = Arc::default();
    let t0 = Instant::now() + Duration::from_millis(300);
    let step = Duration::from_secs_f64(1.0 / config.rate as f64);
    let mut tasks = Vec::new();
    for c in 0..config.connections {
        let (scheduled, webhook, failures) = (scheduled.clone(), webhook.clone(), failures.clone());
        let rig = rig.clone();
        let connections = config.connections;
        let channel = Ch::ALL[c % Ch::ALL.len()];
        tasks.push(tokio::spawn(async move {
            let http = crate::client::http_client()?;
            let mut mail = match channel {
                Ch::Email => Some(CitizenMail::connect(rig.smtp_addr).await?),
                _ => None,
            };
            let mut page: Option<WidgetPage> = None;
            for (n, i) in (c..total).step_by(connections).enumerate() {
                let at = t0 + step * i as u32;
                let seq = i as u64;
                let k = c * CITIZENS_PER_CONNECTION_MAX + n / MESSAGES_PER_CITIZEN;
                // A citizen opens the page before writing.
                if channel == Ch::Widget && n % MESSAGES_PER_CITIZEN == 0 {
                    if let Some(p) = page.take() {
                        p.close().await;
                    }
                    match WidgetPage::open(&rig, k).await {
                        Ok(p) => page = Some(p),
                        Err(e) => {
                            lock(&failures).push(format!("widget page {k}: {e:#}"));
                            continue;
                        }
                    }
                }
                tokio::time::sleep_until(at.into()).await;
                lock(&scheduled).insert(seq, (at, channel, k));
                let (subject, body) = channels_rig::citizen_text(seq, i % 2 == 0);
                let result = match channel {
                    Ch::Email => {
                        let addr = rig.smtp_addr;
                        let m = match mail.take() {
                            Some(m) if !m.is_broken() => m,
                            _ => CitizenMail::connect(addr).await?,
                        };
                        let m = mail.insert(m);
                        m.send(
                            &channels_rig::citizen_address(k),
                            &format!("<m{seq}@mail.sim.invalid>"),
                            &subject,
                            &body,
                        )
                        .await
                    }
                    Ch::Telegram | Ch::Vk => {
                        let text = format!("{subject}. {body}");
                        channels_rig::messenger_post(&http, &rig, channel, k, seq, &text).await
                    }
                    Ch::Widget => match page.as_mut() {
                        Some(p) => {
                            p.message(&format!("m{seq}"), &format!("{subject}. {body}"))
                                .await
                        }
                        None => continue,
                    },
                };
                match result {
                    Ok(()) => lock(&webhook)
                        .entry(channel)
                        .or_default()
                        .push(at.elapsed()),
                    Err(e) => {
                        lock(&failures).push(format!("{} message {seq}: {e:#}", channel.name()));
                        if channel == Ch::Widget {
                            page = None;
                        }
                    }
                }
            }
            if let Some(p) = page.take() {
                p.close().await;
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let intake_s = t0.elapsed().as_secs_f64();
    let by_channel = std::mem::take(&mut *lock(&webhook));
    let taken: usize = by_channel.values().map(Vec::len).sum();
    let settle = Instant::now() + Duration::from_millis(FEED_SETTLE_MS);
    while feed_lock(&feed).seen.len() < taken && Instant::now() < settle {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut all: Vec<Duration> = by_channel.values().flatten().copied().collect();
    let webhook = Latency::from_samples(&mut all);
    let per_channel: Vec<(Ch, Latency, usize)> = Ch::ALL
        .iter()
        .map(|ch| {
            let mut v = by_channel.get(ch).cloned().unwrap_or_default();
            let n = v.len();
            (*ch, Latency::from_samples(&mut v), n)
        })
        .collect();
    let (mut inbox_samples, resyncs, targets) = {
        let f = feed_lock(&feed);
        let s = lock(&scheduled);
        let samples: Vec<Duration> = f
            .seen
            .iter()
            .filter_map(|(seq, seen)| {
                s.get(seq)
                    .map(|(at, _, _)| seen.saturating_duration_since(*at))
            })
            .collect();
        // One target per conversation, with the channel and address its citizen wrote from.
        let mut targets: HashMap<String, Target> = HashMap::new();
        for (seq, conversation) in &f.conversation_of_seq {
            if let Some((_, ch, k)) = s.get(seq) {
                targets
                    .entry(conversation.clone())
                    .or_insert_with(|| Target {
                        conversation: conversation.clone(),
                        channel: *ch,
                        address: ch.address(*k),
                    });
            }
        }
        (samples, f.resyncs, targets)
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
    println!(
        "  webhook answer (SMTP 250, webhook 200, widget ack): {}",
        webhook.human()
    );
    for (ch, l, n) in &per_channel {
        println!("    {:<10} {n:>6} messages: {}", ch.name(), l.human());
    }
    println!(
        "  durable and in the inbox (conversation event): {} ({} of {taken} seen, {resyncs} resyncs)",
        inbox.human(),
        inbox.count
    );

    // Knowledge base.
    let (kb, kb_fill_s) = kb_search(config.kb_searches)?;
    println!(
        "  kb search over {KB_ARTICLES} articles (index filled in {kb_fill_s:.1} s): {}",
        kb.human()
    );

    // Outbox drain after a cut-off of every channel.
    let targets = spread(targets, config.cut_answers);
    rig.relay.set_online(false).await?;
    rig.messengers.set_online(false);
    let cut_at = Instant::now();
    let answers = channels_rig::queue_answers_to(&rig, &targets, 1, OPERATORS).await?;
    let cut_s = cut_at.elapsed().as_secs_f64();
    let drain_started = Instant::now();
    let deadline = drain_started + config.drain_deadline;
    rig.relay.set_online(true).await?;
    rig.messengers.set_online(true);
    let widget = reopen_pages(&rig, &targets, &answers, deadline).await;
    let mut d;
    loop {
        d = channels_rig::delivery_all(&rig, &widget, &answers);
        if d.lost == 0 || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let drain = drain_started.elapsed();
    // Copies that come after the last first copy count too.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let d = channels_rig::delivery_all(&rig, &widget, &answers);
    feed_task.abort();
    let Ok(mut rig) = Arc::try_unwrap(rig) else {
        anyhow::bail!("the rig is still shared after the run");
    };
    rig.node.stop().await.ok();
    let duplicated = d.repeats + d.unexpected;
    let answers_by_channel: Vec<(Ch, usize)> = Ch::ALL
        .iter()
        .map(|ch| (*ch, answers.iter().filter(|a| a.channel == *ch).count()))
        .collect();
    println!(
        "outbox: {} answers ({}) queued during a {cut_s:.1} s cut-off of every channel ({} sends refused), drained in {:.1} s: lost {}, duplicated {duplicated}, misrouted {}",
        answers.len(),
        answers_by_channel
            .iter()
            .map(|(c, n)| format!("{} {n}", c.name()))
            .collect::<Vec<_>>()
            .join(", "),
        rig.messengers.refused(),
        drain.as_secs_f64(),
        d.lost,
        d.misrouted
    );
    let goals = [
        ("webhook p99", webhook.p99_ms, GOAL_WEBHOOK_P99_MS),
        ("inbox p99", inbox.p99_ms, GOAL_INBOX_P99_MS),
        ("kb search p99", kb.p99_ms, GOAL_KB_SEARCH_P99_MS),
    ];
    for (what, value, goal) in goals {
        println!("  goal {what} ≤ {goal} ms: {}", goal_word(value <= goal));
    }
    let ok = d.lost == 0 && duplicated == 0 && d.misrouted == 0 && failures.is_empty();

    let mut report = Report::new(NAME);
    report.kv_f("webhook_p99_ms", webhook.p99_ms, 2);
    report.kv_f("inbox_p99_ms", inbox.p99_ms, 2);
    report.kv_f("kb_search_p99_ms", kb.p99_ms, 2);
    report.kv("lost", d.lost);
    report.kv("duplicated", duplicated);
    report.detail("seed", config.seed);
    report.detail("quick", config.quick);
    report.detail(
        "channels",
        json!(Ch::ALL.iter().map(|c| c.name()).collect::<Vec<_>>()),
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
            "webhook_answer_by_channel": per_channel
                .iter()
                .map(|(c, l, n)| (c.name().to_string(), json!({"messages": n, "latency": l.to_json()})))
                .collect::<serde_json::Map<_, _>>(),
            "inbox_visible": inbox.to_json(),
            "event_stream_resyncs": resyncs,
        }),
    );
    report.detail(
        "kb_search",
        json!({
            "articles": KB_ARTICLES,
            "fill_s": report::round(kb_fill_s, 2),
            "latency": kb.to_json(),
            "queries": KB_QUERIES.len(),
            "measured": "in process, the node's KbIndex (tantivy), without HTTP",
        }),
    );
    report.detail(
        "outbox_drain",
        json!({
            "answers": answers.len(),
            "by_channel": answers_by_channel
                .iter()
                .map(|(c, n)| (c.name().to_string(), json!(n)))
                .collect::<serde_json::Map<_, _>>(),
            "cut_s": report::round(cut_s, 2),
            "sends_refused_while_cut": rig.messengers.refused(),
            "drain_s": report::round(drain.as_secs_f64(), 2),
            "delivered": d.delivered,
            "lost": d.lost,
            "raw_repeats": d.repeats,
            "unexpected": d.unexpected,
            "misrouted": d.misrouted,
            "unthreaded_email": d.unthreaded,
            "widget_answers_from_history_only": answers
                .iter()
                .filter(|a| a.channel == Ch::Widget && !widget.frames.contains_key(&a.outbox_id) && widget.history.contains(&a.outbox_id))
                .count(),
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

/// At most `count` conversations, taken from each channel in turn, in a stable order.
fn spread(targets: HashMap<String, Target>, count: usize) -> Vec<Target> {
    let mut by_channel: Vec<Vec<Target>> = Ch::ALL
        .iter()
        .map(|ch| {
            let mut v: Vec<Target> = targets
                .values()
                .filter(|t| t.channel == *ch)
                .cloned()
                .collect();
            v.sort_by(|a, b| a.conversation.cmp(&b.conversation));
            v.reverse();
            v
        })
        .collect();
    let mut out = Vec::with_capacity(count);
    while out.len() < count && by_channel.iter().any(|v| !v.is_empty()) {
        for v in by_channel.iter_mut() {
            if out.len() < count {
                if let Some(t) = v.pop() {
                    out.push(t);
                }
            }
        }
    }
    out
}

/// The citizens whose widget conversations were answered open their pages again
/// ([`PAGES_REOPENING`] at a time), each waiting for its answers: what the pages saw.
async fn reopen_pages(
    rig: &Rig,
    targets: &[Target],
    answers: &[channels_rig::Answer],
    deadline: Instant,
) -> WidgetLedger {
    use futures::StreamExt;
    let mut expected: HashMap<&str, Vec<String>> = HashMap::new();
    for a in answers.iter().filter(|a| a.channel == Ch::Widget) {
        expected
            .entry(a.to.as_str())
            .or_default()
            .push(a.outbox_id.clone());
    }
    let pages: Vec<(usize, Vec<String>)> = targets
        .iter()
        .filter(|t| t.channel == Ch::Widget)
        .filter_map(|t| {
            let k: usize = t.address.strip_prefix("simwidget-")?.parse().ok()?;
            Some((k, expected.get(t.address.as_str())?.clone()))
        })
        .collect();
    let seen: Vec<Option<WidgetLedger>> = futures::stream::iter(pages)
        .map(|(k, ids)| async move {
            let mut page = WidgetPage::open(rig, k).await.ok()?;
            let wait = (Instant::now() + Duration::from_secs(PAGE_ANSWERS_WAIT_S)).min(deadline);
            page.answers(&ids, wait).await;
            let seen = WidgetLedger {
                frames: std::mem::take(&mut page.answer_frames),
                history: std::mem::take(&mut page.history_answers),
            };
            page.close().await;
            Some(seen)
        })
        .buffer_unordered(PAGES_REOPENING)
        .collect()
        .await;
    let mut ledger = WidgetLedger::default();
    for page in seen.into_iter().flatten() {
        for (id, n) in page.frames {
            *ledger.frames.entry(id).or_default() += n;
        }
        ledger.history.extend(page.history);
    }
    ledger
}

/// Times `count` searches over [`KB_ARTICLES`] published articles in the node's index: the
/// latency, and how long filling the index took (s).
fn kb_search(count: usize) -> anyhow::Result<(Latency, f64)> {
    use node::kb::analysis::KAZAKH_ANALYSIS;
    use node::kb::KbIndex;
    use sync::article::{Article, ArticleState, ArticleVersion};
    const DISTRICTS: [&str; 20] = [
        "Алматы",
        "Есіл",
        "Сарыарқа",
        "Байқоңыр",
        "Нұра",
        "Бостандық",
        "Медеу",
        "Әуезов",
        "Алмалы",
        "Жетісу",
        "Түрксіб",
        "Наурызбай",
        "Абай",
        "Қаратау",
        "Еңбекші",
        "Әл-Фараби",
        "Теміржол",
        "Оңтүстік",
        "Солтүстік",
        "Шығыс",
    ];
    let demo = sync::article::demo::demo_articles()?;
    let first_sentence = |s: &str| s.split(". ").next().unwrap_or(s).to_string();
    let articles: Vec<Article> = (0..KB_ARTICLES)
        .map(|n| {
            let base = &demo[n % demo.len()];
            let other = &demo[(n * 7 + 3) % demo.len()];
            let district = DISTRICTS[(n / demo.len()) % DISTRICTS.len()];
            let variant = n / (demo.len() * DISTRICTS.len());
            let mut content = base.content.clone();
            content.title.kk = format!("{} — {district} ауданы, {variant}", content.title.kk);
            content.title.ru = format!("{} — район {district}, {variant}", content.title.ru);
            content.body.kk = format!(
                "{} {}",
                content.body.kk,
                first_sentence(&other.content.body.kk)
            );
            content.body.ru = format!(
                "{} {}",
                content.body.ru,
                first_sentence(&other.content.body.ru)
            );
            Article {
                id: format!("sim-{n:05}"),
                competence: base.competence.clone(),
                state: ArticleState::Published,
                draft: content.clone(),
                unpublished_changes: false,
                versions: vec![ArticleVersion {
                    version: 1,
                    content,
                    published_at: 0,
                    published_by: "sim.editor@central".into(),
                }],
                created_at: 0,
                created_by: "sim.editor@central".into(),
                updated_at: 0,
                updated_by: "sim.editor@central".into(),
            }
        })
        .collect();
    let index = KbIndex::new(KAZAKH_ANALYSIS).map_err(|e| anyhow::anyhow!("kb index: {e}"))?;
    let started = Instant::now();
    for batch in articles.chunks(KB_FILL_BATCH) {
        index
            .update(batch)
            .map_err(|e| anyhow::anyhow!("kb index: {e}"))?;
    }
    let fill_s = started.elapsed().as_secs_f64();
    anyhow::ensure!(
        index.len() == KB_ARTICLES,
        "{} articles indexed of {KB_ARTICLES}",
        index.len()
    );
    let today = node::kb::kz_day(chrono::Utc::now().timestamp_millis());
    let ask = |i: usize| {
        let (lang, q) = KB_QUERIES[i % KB_QUERIES.len()];
        let language = if lang == "kk" {
            sync::Language::Kk
        } else {
            sync::Language::Ru
        };
        index
            .search(q, language, today, node::kb::SEARCH_RESULTS_DEFAULT)
            .map_err(|e| anyhow::anyhow!("kb search: {e}"))
    };
    // Warm the caches as a running node's are.
    for i in 0..KB_QUERIES.len() * 3 {
        anyhow::ensure!(
            !ask(i)?.is_empty(),
            "the question {:?} found nothing",
            KB_QUERIES[i % KB_QUERIES.len()]
        );
    }
    let mut samples = Vec::with_capacity(count);
    for i in 0..count {
        let t = Instant::now();
        let hits = ask(i)?;
        samples.push(t.elapsed());
        std::hint::black_box(hits);
    }
    Ok((Latency::from_samples(&mut samples), fill_s))
}
