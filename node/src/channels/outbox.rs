//! The durable outbox: every message the node sends out through a channel is stored here
//! (`q/outbox/{outbox_id}`) in the same batch as the document that asks for it, before the
//! caller gets its success: an answer to a citizen with the conversation's outgoing message,
//! a meeting's notice posts and e-mails (R37) with the meeting's notice. A worker delivers each
//! through the [`ChannelSender`] registered for its channel, retries with exponential back-off
//! and jitter ([`backoff_ms`]: time and randomness come in), and records the result where the
//! entry says ([`DeliveryOf`]: the conversation's message, or the meeting's notice target;
//! `sent`, or `failed` with the reason) in the same batch that removes the entry. An entry
//! survives restarts; a crash between a send and its record sends it once more (the
//! `outbox_id` is the channel's idempotency key where it has one).
//!
//! Messages of one lane leave in the order they were written: a pass sends at most the oldest
//! waiting message of each lane (a conversation; a meeting notice's target).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use futures::StreamExt;
use serde::{Deserialize, Serialize};
use sync::conversation::{ConversationCommand, Delivery};
use sync::{Channel, DomainError};
use tokio::sync::{watch, Notify};

use super::{ChannelSender, OutgoingMessage, SendError};
use crate::conversations::{AuditNote, ConversationDocs};
use crate::service_error::{ServiceError, ServiceResult};
use crate::store::WriteBatch;
use sync::meetings::doc::{DeliveryState, NoticeDelivery};

/// Key prefix of the outbox entries.
pub const OUTBOX_PREFIX: &str = "q/outbox/";
/// The first retry's delay, in ms; each next one doubles it.
pub const BACKOFF_FIRST_MS: u64 = 1_000;
/// The longest delay between two tries, in ms.
pub const BACKOFF_MAX_MS: u64 = 5 * 60_000;
/// How long an answer is tried before it is marked failed, in ms (a node cut off from the
/// internet for a long weekend still delivers).
pub const DELIVERY_GIVE_UP_AFTER_MS: i64 = 4 * 24 * 3_600_000;
/// How often the worker looks for answers due a retry, in ms (a new answer wakes it at once).
pub const WORKER_TICK_MS: u64 = 500;
/// Most answers being sent at the same time.
pub const SENDS_IN_FLIGHT_MAX: usize = 32;
/// Most entries one pass reads.
pub const PASS_ENTRIES_MAX: usize = 10_000;
/// Longest delay a channel may ask for (`retry_after`), in ms.
pub const RETRY_AFTER_MAX_MS: u64 = 3_600_000;
/// Why a training node's outbox keeps a message (see [`Outbox::hold_outside_channels`]).
pub const TRAINING_HOLD_REASON: &str = "training mode: nothing is sent to real channels";

/// What a delivery is, and so where its result is recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DeliveryOf {
    /// A meeting's notice to one target (R37): recorded in the meeting document as the target's
    /// [`sync::meetings::doc::NoticeDelivery`].
    MeetingNotice {
        meeting_id: String,
        /// The notice's `at_ms`.
        notice_at_ms: i64,
        /// `telegram`, `vk`, `email:<invitee code>`.
        target: String,
    },
    /// An answer in a conversation: the conversation's message id of the answer.
    Answer { message_id: String },
}

/// One message waiting to leave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxEntry {
    pub message: OutgoingMessage,
    #[serde(flatten)]
    pub of: DeliveryOf,
    /// Tries so far.
    pub attempts: u32,
    /// Not tried before this time, ms.
    pub next_at_ms: i64,
    pub queued_at_ms: i64,
}

impl OutboxEntry {
    /// The lane the entry waits in: its messages leave one at a time, in order.
    pub fn lane(&self) -> String {
        match &self.of {
            DeliveryOf::Answer { .. } => format!("conversation/{}", self.message.conversation_id),
            DeliveryOf::MeetingNotice {
                meeting_id, target, ..
            } => format!("meeting/{meeting_id}/{target}"),
        }
    }
}

pub fn outbox_key(outbox_id: &str) -> String {
    format!("{OUTBOX_PREFIX}{outbox_id}")
}

/// The delay before try number `attempts + 1` after `attempts` failed tries: exponential from
/// [`BACKOFF_FIRST_MS`] up to [`BACKOFF_MAX_MS`], "full jitter" by `jitter` in `[0, 1)` (half
/// the delay fixed, half random, so a fleet of answers that failed together spreads out), or
/// what the channel asked for when it said (capped at [`RETRY_AFTER_MAX_MS`]).
pub fn backoff_ms(attempts: u32, jitter: f64, retry_after_ms: Option<u64>) -> u64 {
    if let Some(r) = retry_after_ms {
        return r.min(RETRY_AFTER_MAX_MS);
    }
    let exp = BACKOFF_FIRST_MS.saturating_mul(1u64 << attempts.saturating_sub(1).min(30));
    let cap = exp.min(BACKOFF_MAX_MS);
    let jitter = jitter.clamp(0.0, 1.0);
    cap / 2 + ((cap / 2) as f64 * jitter) as u64
}

/// The senders the connectors registered, by channel.
#[derive(Default)]
pub struct Senders(RwLock<HashMap<Channel, Arc<dyn ChannelSender>>>);

impl Senders {
    pub fn register(&self, sender: Arc<dyn ChannelSender>) {
        let channel = sender.channel();
        self.0
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(channel, sender);
    }

    pub fn get(&self, channel: Channel) -> Option<Arc<dyn ChannelSender>> {
        self.0
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&channel)
            .cloned()
    }
}

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PassReport {
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
    /// Entries still waiting (not due, or behind an earlier answer of their conversation).
    pub waiting: usize,
}

/// Where the outbox records a meeting notice's delivery: the meetings service, which stages
/// the entries. Behind this trait the outbox does not depend on the meetings module (it uses
/// the outbox, not the other way round).
pub trait NoticeRecorder: Send + Sync {
    /// Records `delivery` on meeting `id` and removes the entry `outbox_key` (when given: a
    /// result; `None`: a delivery still queued, with why it is retried), in one batch.
    fn record_notice_delivery<'a>(
        &'a self,
        id: &'a str,
        delivery: &'a NoticeDelivery,
        attempts: u32,
        outbox_key: Option<&'a str>,
        now_ms: i64,
    ) -> futures::future::BoxFuture<'a, ServiceResult<()>>;
}

pub struct Outbox {
    docs: Arc<ConversationDocs>,
    /// Where notice deliveries are recorded (held weakly: the service outlives no node).
    meetings: Weak<dyn NoticeRecorder>,
    senders: Senders,
    wake: Arc<Notify>,
    /// Answers to try at the next pass whatever their back-off says: the channel is back (an
    /// answer on it just went) or the citizen's widget page just connected. `None`: every
    /// address of the channel.
    hurry: std::sync::Mutex<Vec<(Channel, Option<String>)>>,
    /// A training node: messages for channels outside the node stay queued.
    hold_outside: std::sync::atomic::AtomicBool,
}

enum Outcome {
    Sent(Option<String>),
    Retry(String, Option<u64>),
    Failed(String),
}

/// An answer after its send: recorded, or to be retried.
enum Done {
    Sent,
    Failed,
    Retry(Box<OutboxEntry>, String, Option<u64>),
}

impl Outbox {
    pub fn new(docs: Arc<ConversationDocs>, meetings: Weak<dyn NoticeRecorder>) -> Self {
        Outbox {
            docs,
            meetings,
            senders: Senders::default(),
            wake: Arc::new(Notify::new()),
            hurry: std::sync::Mutex::new(Vec::new()),
            hold_outside: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Training mode: from now on no message for a channel outside the node (Telegram, VK,
    /// e-mail) is handed to its sender, even if one is registered; each stays queued with
    /// [`TRAINING_HOLD_REASON`] (and fails as undelivered after [`DELIVERY_GIVE_UP_AFTER_MS`]).
    /// The chat widget's answers still go: they reach only pages connected to this node.
    pub fn hold_outside_channels(&self) {
        self.hold_outside
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    fn holds(&self, channel: Channel) -> bool {
        channel != Channel::WebWidget
            && self.hold_outside.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Registers the sender of a channel (a connector at server setup); a second one for the
    /// same channel replaces the first.
    pub fn register(&self, sender: Arc<dyn ChannelSender>) {
        self.senders.register(sender);
        self.wake.notify_one();
    }

    /// Stages an answer into the batch that writes its outgoing message.
    pub fn stage(batch: &mut WriteBatch, entry: &OutboxEntry) -> ServiceResult<()> {
        batch.put_json(outbox_key(&entry.message.outbox_id), entry)?;
        Ok(())
    }

    /// Tells the worker a new answer is waiting.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// What wakes the worker, for a service that stages entries of its own (the meetings').
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Tries the answers waiting for `address` on `channel` (every address: `None`) now, not at
    /// the end of their back-off: the way to the citizen is open again (their widget page
    /// connected). The answers of a channel are also tried at once after one of them went, so
    /// the queue of a cut-off drains when the link returns, not over the back-off's minutes.
    pub fn retry_now(&self, channel: Channel, address: Option<&str>) {
        self.hurry
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((channel, address.map(str::to_string)));
        self.wake.notify_one();
    }

    /// Every waiting entry, oldest first.
    pub fn entries(&self) -> ServiceResult<Vec<OutboxEntry>> {
        let mut out = Vec::new();
        for key in self
            .docs
            .store()
            .scan_keys(OUTBOX_PREFIX.as_bytes(), PASS_ENTRIES_MAX)?
        {
            let Some(v) = self.docs.store().get(&key)? else {
                continue;
            };
            match serde_json::from_slice::<OutboxEntry>(&v) {
                Ok(e) => out.push(e),
                Err(e) => {
                    tracing::error!(key = %String::from_utf8_lossy(&key), error = %e, "an outbox entry is unreadable")
                }
            }
        }
        out.sort_by(|a, b| {
            (a.queued_at_ms, &a.message.outbox_id).cmp(&(b.queued_at_ms, &b.message.outbox_id))
        });
        Ok(out)
    }

    /// One pass: sends every due answer (the oldest of each conversation) and records what
    /// happened. `jitter` gives a number in `[0, 1)` per retry.
    pub async fn pass(
        &self,
        now_ms: i64,
        mut jitter: impl FnMut() -> f64,
    ) -> ServiceResult<PassReport> {
        let mut report = PassReport::default();
        let mut seen = HashSet::new();
        let mut due = Vec::new();
        let hurry = std::mem::take(&mut *self.hurry.lock().unwrap_or_else(|p| p.into_inner()));
        let hurried = |e: &OutboxEntry| {
            hurry.iter().any(|(channel, address)| {
                *channel == e.message.channel
                    && address.as_deref().is_none_or(|a| a == e.message.address)
            })
        };
        for e in self.entries()? {
            if !seen.insert(e.lane()) || (e.next_at_ms > now_ms && !hurried(&e)) {
                report.waiting += 1;
                continue;
            }
            due.push(e);
        }
        // Each answer's result is recorded as soon as its send returns (the records of one pass
        // share the group commit's flushes), so a crash repeats at most the sends in flight.
        let results: Vec<ServiceResult<Done>> = futures::stream::iter(due)
            .map(|e| async move {
                let sender = if self.holds(e.message.channel) {
                    Err(TRAINING_HOLD_REASON.to_string())
                } else {
                    self.senders.get(e.message.channel).ok_or_else(|| {
                        format!(
                            "no connector is set up for channel {}",
                            e.message.channel.as_str()
                        )
                    })
                };
                let outcome = match sender {
                    Err(reason) => Outcome::Retry(reason, None),
                    Ok(s) => match s.send(&e.message).await {
                        Ok(d) => Outcome::Sent(d.external_id),
                        Err(SendError::Transient {
                            reason,
                            retry_after_ms,
                        }) => Outcome::Retry(reason, retry_after_ms),
                        Err(SendError::Permanent(reason)) => Outcome::Failed(reason),
                    },
                };
                let outcome = match outcome {
                    Outcome::Retry(reason, _)
                        if now_ms - e.queued_at_ms > DELIVERY_GIVE_UP_AFTER_MS =>
                    {
                        Outcome::Failed(format!(
                            "not delivered in {} hours: {reason}",
                            DELIVERY_GIVE_UP_AFTER_MS / 3_600_000
                        ))
                    }
                    o => o,
                };
                match outcome {
                    Outcome::Sent(external_id) => {
                        if e.attempts > 0 {
                            // It had failed before: the channel is back for the others too.
                            self.hurry
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .push((e.message.channel, None));
                            self.wake.notify_one();
                        }
                        self.record(&e, Delivery::Sent, None, external_id, now_ms)
                            .await?;
                        Ok(Done::Sent)
                    }
                    Outcome::Failed(reason) => {
                        self.record(&e, Delivery::Failed, Some(reason), None, now_ms)
                            .await?;
                        Ok(Done::Failed)
                    }
                    Outcome::Retry(reason, retry_after) => {
                        Ok(Done::Retry(Box::new(e), reason, retry_after))
                    }
                }
            })
            .buffer_unordered(SENDS_IN_FLIGHT_MAX)
            .collect()
            .await;
        for result in results {
            let (mut e, reason, retry_after) = match result? {
                Done::Sent => {
                    report.sent += 1;
                    continue;
                }
                Done::Failed => {
                    report.failed += 1;
                    continue;
                }
                Done::Retry(e, reason, retry_after) => (*e, reason, retry_after),
            };
            e.attempts += 1;
            e.next_at_ms = now_ms + backoff_ms(e.attempts, jitter(), retry_after) as i64;
            tracing::debug!(
                outbox_id = e.message.outbox_id,
                attempts = e.attempts,
                reason,
                "an answer is to be retried"
            );
            let mut batch = WriteBatch::new();
            batch.put_json(outbox_key(&e.message.outbox_id), &e)?;
            self.docs.gc().apply(batch)?;
            report.retried += 1;
            if e.attempts == 1 {
                // A notice's first failed try: the meeting shows why it is still queued.
                self.note_retry(&e, &reason, now_ms).await;
            }
        }
        Ok(report)
    }

    /// Records on the meeting why a notice's delivery is being retried (answers show their
    /// attempts in the console from the entry itself). A failure to record is only logged.
    async fn note_retry(&self, e: &OutboxEntry, reason: &str, now_ms: i64) {
        let DeliveryOf::MeetingNotice {
            meeting_id,
            notice_at_ms,
            target,
        } = &e.of
        else {
            return;
        };
        let Some(meetings) = self.meetings.upgrade() else {
            return;
        };
        let delivery = NoticeDelivery {
            notice_at_ms: *notice_at_ms,
            target: target.clone(),
            state: DeliveryState::Queued,
            reason: Some(
                reason
                    .chars()
                    .take(sync::meetings::doc::NOTICE_DELIVERY_TEXT_CHARS_MAX)
                    .collect(),
            ),
            external_id: None,
            at_ms: now_ms,
        };
        if let Err(err) = meetings
            .record_notice_delivery(meeting_id, &delivery, e.attempts, None, now_ms)
            .await
        {
            tracing::warn!(meeting_id, target, error = %err, "a notice's retry is not recorded");
        }
    }

    /// Records a delivery's result where the entry says and removes the entry, in one batch.
    async fn record(
        &self,
        e: &OutboxEntry,
        state: Delivery,
        reason: Option<String>,
        external_id: Option<String>,
        now_ms: i64,
    ) -> ServiceResult<()> {
        let key = outbox_key(&e.message.outbox_id);
        let message_id = match &e.of {
            DeliveryOf::Answer { message_id } => message_id,
            DeliveryOf::MeetingNotice {
                meeting_id,
                notice_at_ms,
                target,
            } => {
                let Some(meetings) = self.meetings.upgrade() else {
                    return Err(ServiceError::Store(crate::store::StoreError::Io(
                        "the meetings service is gone (the node is stopping)".into(),
                    )));
                };
                let cut = |s: String| {
                    s.chars()
                        .take(sync::meetings::doc::NOTICE_DELIVERY_TEXT_CHARS_MAX)
                        .collect::<String>()
                };
                let delivery = NoticeDelivery {
                    notice_at_ms: *notice_at_ms,
                    target: target.clone(),
                    state: match state {
                        Delivery::Failed => DeliveryState::Failed,
                        _ => DeliveryState::Sent,
                    },
                    reason: reason.map(cut),
                    external_id: external_id.map(cut),
                    at_ms: now_ms,
                };
                return meetings
                    .record_notice_delivery(
                        meeting_id,
                        &delivery,
                        e.attempts + 1,
                        Some(&key),
                        now_ms,
                    )
                    .await;
            }
        };
        let reason = reason.map(|r| {
            r.chars()
                .take(sync::conversation::limits::REASON_CHARS_MAX)
                .collect()
        });
        let stepped = self
            .docs
            .step(
                &e.message.conversation_id,
                crate::conversations::SYSTEM_LOGIN,
                &[ConversationCommand::Delivery {
                    message_id: message_id.clone(),
                    state,
                    reason,
                    external_id,
                }],
                AuditNote {
                    action: match state {
                        Delivery::Failed => "conversation.answer_failed",
                        _ => "conversation.answer_sent",
                    },
                    details: serde_json::json!({"outbox_id": e.message.outbox_id, "attempts": e.attempts + 1}),
                },
                now_ms,
                |batch, _| {
                    batch.delete(key.clone());
                    Ok(())
                },
            )
            .await;
        match stepped {
            Ok(_) => Ok(()),
            // Recorded already (a crash after the record and before the removal), or the
            // conversation is gone: the entry goes.
            Err(ServiceError::Domain(DomainError::Rule { .. } | DomainError::NotFound { .. }))
            | Err(ServiceError::NotFound(_)) => {
                let mut batch = WriteBatch::new();
                batch.delete(key);
                self.docs.gc().commit_async(batch).await?;
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
}

/// Runs the outbox until `shutdown`: a pass when an answer is queued and every
/// [`WORKER_TICK_MS`]. Holds the outbox only while it works, so a dropped node releases its
/// store.
pub fn spawn(outbox: &Arc<Outbox>, mut shutdown: watch::Receiver<bool>) {
    let weak: Weak<Outbox> = Arc::downgrade(outbox);
    let wake = outbox.wake.clone();
    tokio::spawn(async move {
        loop {
            {
                let Some(outbox) = weak.upgrade() else { return };
                loop {
                    match outbox
                        .pass(server_kit::clock::now_ms(), rand::random::<f64>)
                        .await
                    {
                        // Something left: an answer behind it in its conversation may be due.
                        Ok(r) if r.sent + r.failed > 0 && r.waiting > 0 => continue,
                        Ok(_) => break,
                        Err(e) => {
                            tracing::warn!(error = %e, "the outbox pass failed; retried on the next tick");
                            break;
                        }
                    }
                }
                drop(outbox);
                let notified = wake.notified();
                tokio::select! {
                    () = notified => {}
                    () = tokio::time::sleep(Duration::from_millis(WORKER_TICK_MS)) => {}
                    _ = shutdown.wait_for(|s| *s) => return,
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r37_an_entry_says_what_it_delivers_and_one_written_before_notices_is_an_answer() {
        // As an answer's entry was stored before entries could be notices.
        let old = serde_json::json!({
            "message": {"outbox_id": "o1", "channel": "telegram", "address": "7",
                "conversation_id": "AST/conv/1", "text": "hi", "in_reply_to": null,
                "subject": null},
            "message_id": "m1", "attempts": 2, "next_at_ms": 5, "queued_at_ms": 1});
        let e: OutboxEntry = serde_json::from_value(old).unwrap();
        assert_eq!(
            e.of,
            DeliveryOf::Answer {
                message_id: "m1".into()
            }
        );
        assert_eq!(e.message.kind, crate::channels::OutgoingKind::Answer);
        assert_eq!(e.lane(), "conversation/AST/conv/1");
        let mut notice = e.clone();
        notice.of = DeliveryOf::MeetingNotice {
            meeting_id: "m9".into(),
            notice_at_ms: 3,
            target: "vk".into(),
        };
        let back: OutboxEntry =
            serde_json::from_slice(&serde_json::to_vec(&notice).unwrap()).unwrap();
        assert_eq!(back, notice);
        assert_eq!(back.lane(), "meeting/m9/vk");
    }

    #[test]
    fn the_back_off_doubles_with_jitter_up_to_its_cap() {
        assert_eq!(backoff_ms(1, 0.0, None), BACKOFF_FIRST_MS / 2);
        assert_eq!(backoff_ms(1, 1.0, None), BACKOFF_FIRST_MS);
        assert_eq!(backoff_ms(2, 1.0, None), 2 * BACKOFF_FIRST_MS);
        assert_eq!(backoff_ms(4, 0.5, None), 6_000);
        assert_eq!(backoff_ms(60, 1.0, None), BACKOFF_MAX_MS);
        assert!(backoff_ms(60, 0.0, None) >= BACKOFF_MAX_MS / 2);
        assert_eq!(backoff_ms(3, 0.3, Some(7_000)), 7_000);
        assert_eq!(backoff_ms(3, 0.3, Some(u64::MAX)), RETRY_AFTER_MAX_MS);
    }
}
