//! `chaos channels`: a node cut off from its outgoing channels. A real node process (release
//! binary) whose mail relay ([`crate::relay_sink::RelaySink`]) is down (its port closed) and
//! whose messengers' API ([`crate::messenger_standin::MessengerStandIn`], the test stand-in for
//! Telegram's and VK's) answers every send with a gateway error: citizens keep writing by
//! e-mail over SMTP (`250` only once durable) and by Telegram and VK (their webhook posts,
//! `200` only once durable), everything is shown in the inbox, the operator answers
//! (`POST /api/v1/inbox/{id}/reply`, queued in the durable outbox), the link comes back, and
//! while the answers drain the node is SIGKILLed once and restarted. Then every answer must have
//! reached its channel's far end, addressed to its citizen, and the node must record it as sent.
//!
//! The rule on repeats: e-mail has an idempotency key (the `Message-ID` carries the outbox id)
//! and so has VK (`random_id` from the outbox id), so the far end delivers each answer once;
//! Telegram has none. The raw copies are counted, and no answer may arrive more than once per
//! crash plus once (a crash between the send and its record repeats it at most once). Any lost
//! answer, misrouted answer, answer the node did not record as sent, or copy beyond the rule
//! fails the run. The widget is not in this run: its answers wait for the citizen's page (see
//! `bench channels`, which opens the pages again after the cut).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use std::collections::HashMap;
use std::sync::Arc;

use crate::channels_rig::{self, feed_lock, Answer, Ch, Rig, Target, WidgetLedger};
use crate::report::{self, Report};

pub const NAME: &str = "channels-chaos";

/// Concurrent operators queueing answers.
const OPERATORS: usize = 16;
/// Kept connections the citizens' messages come over.
const MAIL_CONNECTIONS: usize = 8;
/// The channels citizens write through here, in turn.
const CHAOS_CHANNELS: [Ch; 3] = [Ch::Email, Ch::Telegram, Ch::Vk];
/// How long messages may take to show in the inbox after their `250`, ms.
const INBOX_DEADLINE_MS: u64 = 15_000;

#[derive(Debug, Clone)]
pub struct ChannelsChaosConfig {
    pub seed: u64,
    pub quick: bool,
    pub node_bin: PathBuf,
    /// Citizens writing while the link is cut (one conversation each).
    pub citizens: usize,
    /// Answers queued in each conversation.
    pub answers_per_conversation: usize,
    /// The link stays cut this long after the last answer was queued.
    pub hold_cut: Duration,
    /// Longest drain after the link is back, crash and restart included.
    pub drain_deadline: Duration,
}

impl ChannelsChaosConfig {
    pub fn new(quick: bool, seed: u64, node_bin: PathBuf) -> Self {
        Self {
            seed,
            quick,
            node_bin,
            citizens: if quick { 300 } else { 2_000 },
            answers_per_conversation: if quick { 2 } else { 5 },
            hold_cut: Duration::from_secs(if quick { 2 } else { 30 }),
            drain_deadline: Duration::from_secs(if quick { 40 } else { 600 }),
        }
    }
}

pub async fn run(config: ChannelsChaosConfig) -> anyhow::Result<bool> {
    let mut rng = StdRng::seed_from_u64(config.seed);
    let scratch = report::scratch_dir("channels-chaos-")?;
    let rig = Rig::start(&config.node_bin, scratch.path()).await?;
    println!(
        "node {} (SMTP {}), relay {}, messenger API stand-in {}; {} citizens (e-mail, Telegram, VK in turn) × {} answers; data {}",
        rig.node.base_url,
        rig.smtp_addr,
        rig.relay.addr,
        rig.messengers.addr,
        config.citizens,
        config.answers_per_conversation,
        scratch.path().display()
    );
    let (feed, feed_task) = channels_rig::open_feed(&rig).await?;

    // The cut: the relay's port closes, the vendors' API fails.
    rig.relay.set_online(false).await?;
    rig.messengers.set_online(false);
    let cut_at = Instant::now();
    let citizens: Vec<(Ch, usize)> = (0..config.citizens)
        .map(|k| (CHAOS_CHANNELS[k % CHAOS_CHANNELS.len()], k))
        .collect();
    let rig = Arc::new(rig);
    let sent = channels_rig::write_citizens(&rig, &citizens, MAIL_CONNECTIONS, 0).await?;
    let Ok(mut rig) = Arc::try_unwrap(rig) else {
        anyhow::bail!("the rig is still shared after the intake");
    };
    println!(
        "cut off: {} messages taken (SMTP 250, webhook 200) in {:.1} s",
        sent.len(),
        cut_at.elapsed().as_secs_f64()
    );
    // Every one is in the inbox, one conversation per citizen.
    let deadline = Instant::now() + Duration::from_millis(INBOX_DEADLINE_MS);
    let (listed, of_seq) = loop {
        let listed = rig.conversation_ids("unassigned").await?;
        let of_seq = feed_lock(&feed).conversation_of_seq.clone();
        if (listed.len() >= config.citizens && of_seq.len() >= sent.len())
            || Instant::now() > deadline
        {
            break (listed, of_seq);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let seen_live = feed_lock(&feed).seen.len();
    let mut targets: Vec<Target> = sent
        .iter()
        .filter_map(|(seq, ch, k)| {
            let id = of_seq.get(seq).filter(|id| listed.contains(*id))?;
            Some(Target {
                conversation: id.clone(),
                channel: *ch,
                address: ch.address(*k),
            })
        })
        .collect();
    let missing_in_inbox = config.citizens - targets.len();
    println!(
        "inbox: {} of {} conversations listed and seen live, {seen_live} messages seen on the event stream",
        targets.len(),
        config.citizens
    );
    // Answer in a seeded order.
    for i in (1..targets.len()).rev() {
        targets.swap(i, rng.gen_range(0..=i));
    }
    let queue_started = Instant::now();
    let answers =
        channels_rig::queue_answers_to(&rig, &targets, config.answers_per_conversation, OPERATORS)
            .await?;
    println!(
        "queued {} answers (201) in {:.1} s; the link stays cut {} s more",
        answers.len(),
        queue_started.elapsed().as_secs_f64(),
        config.hold_cut.as_secs()
    );
    tokio::time::sleep(config.hold_cut).await;
    let during_cut = rig.relay.received_total() + rig.messengers.sent_total() as u64;
    let cut_s = cut_at.elapsed().as_secs_f64();

    // The link comes back; the node is killed once while the answers drain.
    let kill_fraction = rng.gen_range(0.2..0.6);
    rig.relay.set_online(true).await?;
    rig.messengers.set_online(true);
    let no_pages = WidgetLedger::default();
    let restored = Instant::now();
    let deadline = restored + config.drain_deadline;
    let kill_at = ((answers.len() as f64) * kill_fraction) as usize;
    let mut delivered_at_kill = 0;
    while Instant::now() < deadline {
        delivered_at_kill = channels_rig::delivery_all(&rig, &no_pages, &answers).delivered;
        if delivered_at_kill >= kill_at {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    feed_task.abort();
    let restart = rig.crash_and_restart().await?;
    let crashes = 1usize;
    println!(
        "link restored; SIGKILL after {delivered_at_kill} of {} answers reached their channel ({:.1} s), restarted in {} ms",
        answers.len(),
        restored.elapsed().as_secs_f64(),
        restart.as_millis()
    );
    let d = loop {
        let d = channels_rig::delivery_all(&rig, &no_pages, &answers);
        if d.lost == 0 || Instant::now() >= deadline {
            break d;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let drain_s = restored.elapsed().as_secs_f64();
    let conversations: Vec<String> = targets.iter().map(|t| t.conversation.clone()).collect();
    let not_recorded = not_recorded_sent(&rig, &conversations, &answers, deadline).await?;
    rig.node.stop().await.ok();

    let copies_allowed = 1 + crashes;
    let ok = d.lost == 0
        && d.misrouted == 0
        && d.unexpected == 0
        && d.copies_max <= copies_allowed
        && during_cut == 0
        && missing_in_inbox == 0
        && not_recorded == 0;
    println!(
        "drain: {} of {} answers reached their channel in {drain_s:.1} s; lost {}, raw repeats {} (most copies of one: {}, allowed {copies_allowed}), misrouted {}, unexpected {}, not recorded as sent {not_recorded}",
        d.delivered,
        answers.len(),
        d.lost,
        d.repeats,
        d.copies_max,
        d.misrouted,
        d.unexpected
    );
    let by_channel: HashMap<&str, usize> = CHAOS_CHANNELS
        .iter()
        .map(|c| (c.name(), answers.iter().filter(|a| a.channel == *c).count()))
        .collect();
    println!("answers by channel: {by_channel:?}");
    println!(
        "e-mail (Message-ID) and VK (random_id) carry the outbox id as an idempotency key: delivered once after the far end's dedupe; Telegram has none: copies within the rule: {}",
        if d.lost == 0 && d.delivered == answers.len() && d.copies_max <= copies_allowed { "yes" } else { "NO" }
    );
    let mut report = Report::new(NAME);
    report.kv("seed", config.seed);
    report.kv("quick", config.quick);
    report.kv("channels", "email,telegram,vk");
    report.kv("messages", sent.len());
    report.kv("answers", answers.len());
    report.kv("crashes", crashes);
    report.kv("lost", d.lost);
    report.kv("repeats", d.repeats);
    report.kv("misrouted", d.misrouted);
    report.kv_f("drain_s", drain_s, 2);
    report.kv("ok", ok);
    report.detail(
        "channels",
        json!({
            "idempotency_keys": {"email": "Message-ID <outbox_id@domain>", "vk": "random_id from the outbox id", "telegram": "none (at most one repeat per crash)"},
            "answers_by_channel": by_channel,
            "messages_taken_while_cut": sent.len(),
            "conversations_missing_in_inbox": missing_in_inbox,
            "messages_seen_on_event_stream": seen_live,
            "answers": answers.len(),
            "cut_s": report::round(cut_s, 2),
            "far_ends_took_while_cut": during_cut,
            "delivered": d.delivered,
            "lost": d.lost,
            "raw_repeats": d.repeats,
            "copies_max": d.copies_max,
            "copies_allowed": copies_allowed,
            "misrouted": d.misrouted,
            "unthreaded": d.unthreaded,
            "unexpected": d.unexpected,
            "not_recorded_sent": not_recorded,
            "killed_after_delivered": delivered_at_kill,
            "restart_ms": restart.as_millis() as u64,
            "drain_s": report::round(drain_s, 2),
        }),
    );
    report.detail(
        "not_measured",
        json!([
            "web_widget: its answers wait for the citizen's page; bench channels measures them"
        ]),
    );
    if ok {
        drop(scratch);
    } else {
        report::keep_for_inspection(scratch, "node data and log", Some(&mut report));
    }
    report.finish()?;
    Ok(ok)
}

/// Answers the node does not record as `sent` (or `delivered`) in their conversation, polled
/// until `deadline` (the record follows the relay's `250`).
async fn not_recorded_sent(
    rig: &Rig,
    conversations: &[String],
    answers: &[Answer],
    deadline: Instant,
) -> anyhow::Result<usize> {
    let wanted: std::collections::HashSet<&str> =
        answers.iter().map(|a| a.outbox_id.as_str()).collect();
    loop {
        let mut recorded = 0usize;
        for id in conversations {
            let detail = rig
                .api
                .get(&format!("/api/v1/inbox/{id}"), &rig.token)
                .await
                .with_context(|| format!("GET /api/v1/inbox/{id}"))?;
            let messages = detail
                .get("messages")
                .or_else(|| detail.get("conversation").and_then(|c| c.get("messages")))
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            recorded += messages
                .iter()
                .filter(|m| {
                    m["id"].as_str().is_some_and(|i| wanted.contains(i))
                        && matches!(m["delivery"].as_str(), Some("sent" | "delivered"))
                })
                .count();
        }
        let missing = answers.len() - recorded.min(answers.len());
        if missing == 0 || Instant::now() >= deadline {
            return Ok(missing);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
