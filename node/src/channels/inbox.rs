//! The operators' text inbox (R01, R05): [`InboxService`] takes every connector's messages in
//! through [`Intake`] and stores each, durably, in its conversation
//! ([`crate::conversations`]); the operators take, answer (through the [`Outbox`]) and close
//! conversations, open "102" cards and appeals from them; an urgent message opens a card by
//! itself, and the citizen is told through the conversation when a linked card is closed.
//!
//! Intake, per message: checks (size, count, an address), dedupe by the channel's delivery id,
//! a per-address rate limit ([`RateLimiter`]: a flood from one chat is refused, the others go
//! on), the attachments stored as content-addressed blobs, the classifier's verdict, then one
//! group-committed batch (the conversation, its indexes, the blobs, the audit entry). Messages
//! of one address are serialised from the lookup of its open conversation to the batch being
//! applied, so one address never gets two open conversations.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use futures::future::BoxFuture;
use serde::Serialize;
use sync::appeal::{AttachmentRef, GeoPoint};
use sync::conversation::{
    classify, Citizen, Conversation, ConversationCommand, ConversationState, ConversationSummary,
    IncomingInput, LinkKind,
};
use sync::{CardCreate, CardStatus, CardSummary, Channel, DomainError, Language};
use tokio::sync::watch;

use super::outbox::{DeliveryOf, Outbox, OutboxEntry};
use super::{
    Accepted, IncomingMessage, Intake, IntakeError, OutgoingMessage, ATTACHMENTS_PER_MESSAGE_MAX,
    ATTACHMENT_BYTES_MAX, MESSAGE_TEXT_CHARS_MAX,
};
use crate::appeals::blobs;
use crate::conversations::{AuditNote, ConversationDocs};
use crate::kinds::conversation as idx;
use crate::live::LiveEvent;
use crate::service::CardService;
use crate::service_error::{ServiceError, ServiceResult};

pub use crate::conversations::SYSTEM_LOGIN;
/// Messages one address may send at once before the rate limit holds it back.
pub const RATE_BURST_MESSAGES: u32 = 20;
/// Messages per minute one address may send in the long run.
pub const RATE_MESSAGES_PER_MINUTE: u32 = 30;
/// Addresses the rate limiter remembers; past it, the ones idle longest are forgotten.
pub const RATE_TRACKED_ADDRESSES_MAX: usize = 100_000;
/// Stripes of the per-address intake lock.
const ADDRESS_STRIPES: usize = 64;
/// Most earlier conversations of the same person a conversation shows.
pub const EARLIER_MAX: usize = 20;
/// The channels whose chat-bot answers a consultation from the knowledge base by itself (R01:
/// "text consultation via chat-bots in Telegram, VKontakte and the widget"; R19). E-mail and
/// the apps' appeals are answered by people.
pub const BOT_CHANNELS: [Channel; 3] = [Channel::Telegram, Channel::Vkontakte, Channel::WebWidget];

/// The bot's answer from a knowledge-base article: the article in the conversation's language
/// and, always, the way to an operator (R19).
pub fn bot_answer_text(language: Language, title: &str, body: &str) -> String {
    match language {
        Language::Kk => format!(
            "{title}\n\n{body}\n\nБұл — анықтамалық базадан автоматты жауап. Оператормен сөйлесу керек болса, осы чатқа жазыңыз: сізге оператор жауап береді."
        ),
        Language::Ru => format!(
            "{title}\n\n{body}\n\nЭто автоматический ответ из базы знаний. Если нужен оператор, напишите в этот чат: вам ответит оператор."
        ),
    }
}

/// Characters of the first message an e-mail answer's subject carries.
pub const SUBJECT_CHARS_MAX: usize = 100;

/// A token bucket per address (sans-IO: time comes in). Each address holds up to
/// [`RATE_BURST_MESSAGES`] tokens, refilled at [`RATE_MESSAGES_PER_MINUTE`]; a message takes
/// one.
#[derive(Default)]
pub struct RateLimiter {
    buckets: HashMap<(Channel, String), (f64, i64)>,
}

impl RateLimiter {
    /// Takes a token for `address`, or says after how many seconds one is there.
    pub fn check(&mut self, channel: Channel, address: &str, now_ms: i64) -> Result<(), u64> {
        let per_ms = f64::from(RATE_MESSAGES_PER_MINUTE) / 60_000.0;
        let burst = f64::from(RATE_BURST_MESSAGES);
        if self.buckets.len() >= RATE_TRACKED_ADDRESSES_MAX {
            // Forget the addresses whose bucket has refilled: they are as new.
            self.buckets
                .retain(|_, (tokens, at)| *tokens + (now_ms - *at).max(0) as f64 * per_ms < burst);
            if self.buckets.len() >= RATE_TRACKED_ADDRESSES_MAX {
                self.buckets.clear();
            }
        }
        let (tokens, at) = self
            .buckets
            .entry((channel, address.to_string()))
            .or_insert((burst, now_ms));
        *tokens = (*tokens + (now_ms - *at).max(0) as f64 * per_ms).min(burst);
        *at = now_ms.max(*at);
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / per_ms / 1000.0).ceil().max(1.0) as u64)
        }
    }
}

/// Which inbox list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InboxFilter {
    Unassigned,
    Mine,
    Waiting,
    Closed,
}

/// A conversation with what the operator sees beside it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ConversationDetail {
    #[serde(flatten)]
    pub conversation: Conversation,
    /// Each message's attachments as links to download them, by message id.
    pub files: HashMap<String, Vec<FileLink>>,
    /// The same person's other conversations (by the phone or e-mail they showed).
    pub earlier: Vec<ConversationSummary>,
    /// The same person's cards (from those conversations).
    pub earlier_cards: Vec<EarlierCard>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FileLink {
    pub sha256: String,
    pub file_name: String,
    pub content_type: String,
    pub size: u64,
    pub url: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EarlierCard {
    pub card_id: String,
    pub number: Option<String>,
    pub conversation_id: String,
}

pub struct InboxService {
    service: Arc<CardService>,
    docs: Arc<ConversationDocs>,
    outbox: Arc<Outbox>,
    limiter: Mutex<RateLimiter>,
    address_stripes: Vec<Mutex<()>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn invalid(code: &'static str, detail: impl Into<String>) -> IntakeError {
    IntakeError::Invalid {
        code,
        detail: detail.into(),
    }
}

impl From<ServiceError> for IntakeError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Domain(DomainError::CorruptDocument(m)) => IntakeError::Unavailable(m),
            ServiceError::Domain(d) => invalid(d.code(), d.to_string()),
            other => IntakeError::Unavailable(other.to_string()),
        }
    }
}

/// The text the node sends the citizen when a card opened from their message is closed.
pub fn card_closed_text(language: Language, number: &str) -> String {
    match language {
        Language::Kk => format!(
            "Сіздің хабарламаңыз бойынша {number} карточкасы жабылды: полиция жасағы оқиғаны қарап шықты. Рақмет."
        ),
        Language::Ru => format!(
            "По вашему сообщению карточка {number} закрыта: наряд полиции отработал происшествие. Спасибо."
        ),
    }
}

impl InboxService {
    pub fn new(service: Arc<CardService>) -> Self {
        let docs = service.conversations().clone();
        InboxService {
            outbox: Arc::new(Outbox::new(docs.clone(), {
                let meetings: std::sync::Weak<crate::meetings::MeetingService> =
                    Arc::downgrade(service.meetings());
                meetings as std::sync::Weak<dyn super::outbox::NoticeRecorder>
            })),
            service,
            docs,
            limiter: Mutex::new(RateLimiter::default()),
            address_stripes: (0..ADDRESS_STRIPES).map(|_| Mutex::new(())).collect(),
        }
    }

    /// Starts the outbox worker and the watch on linked cards (the citizen told when one
    /// closes). Both hold the services weakly and end with `shutdown`.
    pub fn start(self: &Arc<Self>, shutdown: watch::Receiver<bool>) {
        super::outbox::spawn(&self.outbox, shutdown.clone());
        let weak = Arc::downgrade(self);
        let mut events = self.service.subscribe();
        let mut shutdown = shutdown;
        tokio::spawn(async move {
            // Urgent messages whose card a crash kept from opening, and cards closed while the
            // node was down, or while the watch lagged.
            if let Some(inbox) = weak.upgrade() {
                inbox
                    .open_missing_urgent_cards(server_kit::clock::now_ms())
                    .await;
                inbox.tell_all_closed().await;
            }
            loop {
                let ev = tokio::select! {
                    ev = events.recv() => ev,
                    _ = shutdown.wait_for(|s| *s) => return,
                };
                let Some(inbox) = weak.upgrade() else { return };
                match ev {
                    Ok(LiveEvent::Card(c)) if c.status.is_terminal() => {
                        inbox.card_finished(&c).await
                    }
                    Ok(_) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        inbox.tell_all_closed().await
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                }
            }
        });
    }

    pub fn outbox(&self) -> &Arc<Outbox> {
        &self.outbox
    }

    pub fn conversations(&self) -> &Arc<ConversationDocs> {
        &self.docs
    }

    fn address_stripe(&self, channel: Channel, address: &str) -> &Mutex<()> {
        let h = channel
            .as_str()
            .bytes()
            .chain(address.bytes())
            .fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(b as usize));
        &self.address_stripes[h % ADDRESS_STRIPES]
    }

    fn check(&self, m: &IncomingMessage) -> Result<(), IntakeError> {
        if m.address.trim().is_empty() {
            return Err(invalid(
                "invalid_field",
                "the message has no address to answer",
            ));
        }
        if m.external_id.is_empty() {
            return Err(invalid("invalid_field", "the message has no delivery id"));
        }
        if m.text.chars().count() > MESSAGE_TEXT_CHARS_MAX {
            return Err(invalid(
                "message_too_long",
                format!("a message may be at most {MESSAGE_TEXT_CHARS_MAX} characters"),
            ));
        }
        if m.attachments.len() > ATTACHMENTS_PER_MESSAGE_MAX {
            return Err(invalid(
                "too_many_attachments",
                format!("at most {ATTACHMENTS_PER_MESSAGE_MAX} attachments"),
            ));
        }
        if let Some(a) = m
            .attachments
            .iter()
            .find(|a| a.bytes.len() > ATTACHMENT_BYTES_MAX)
        {
            return Err(invalid(
                "attachment_too_large",
                format!(
                    "{:?} is {} bytes; a file may be at most {ATTACHMENT_BYTES_MAX}",
                    a.file_name,
                    a.bytes.len()
                ),
            ));
        }
        if m.attachments.iter().any(|a| a.bytes.is_empty()) {
            return Err(invalid("invalid_field", "an attachment is empty"));
        }
        Ok(())
    }

    /// Stores a citizen's message (see the module's doc); returns once it is durable.
    pub async fn receive_message(&self, m: IncomingMessage) -> Result<Accepted, IntakeError> {
        self.check(&m)?;
        if let Some(id) = self
            .docs
            .id_at(&idx::external_key(m.channel, &m.external_id))?
        {
            // The first copy may still be on its way to disk: answer once it is there.
            self.docs
                .gc()
                .wait_async(self.docs.gc().written())
                .await
                .map_err(ServiceError::from)?;
            return Ok(Accepted::Duplicate {
                conversation_id: id,
            });
        }
        lock(&self.limiter)
            .check(m.channel, &m.address, m.received_at_ms)
            .map_err(|retry_after_s| IntakeError::RateLimited { retry_after_s })?;
        let reference = self.service.reference();
        let classification = classify(
            &m.text,
            reference.categories.iter().map(|c| c.code.as_str()),
        );
        let urgent = classification.urgent;
        let mut attachments = Vec::with_capacity(m.attachments.len());
        let mut blobs_to_stage = Vec::with_capacity(m.attachments.len());
        for a in m.attachments {
            let sha = blobs::sha256_hex(&a.bytes);
            attachments.push(AttachmentRef {
                sha256: sha.clone(),
                file_name: a
                    .file_name
                    .chars()
                    .take(sync::appeal::limits::FILE_NAME_CHARS_MAX)
                    .collect(),
                content_type: a.content_type.chars().take(100).collect(),
                size: a.bytes.len() as u64,
            });
            blobs_to_stage.push((sha, a.bytes));
        }
        let message_id = uuid::Uuid::new_v4().to_string();
        let question = m.text.clone();
        let input = IncomingInput {
            message_id: message_id.clone(),
            external_id: m.external_id.clone(),
            text: m.text,
            attachments,
            location: m.location.map(|l| GeoPoint {
                lat: l.lat,
                lon: l.lon,
            }),
            sent_at_ms: m.sent_at_ms,
            citizen: Citizen {
                name: m.sender_name.filter(|n| !n.trim().is_empty()),
                phone: m
                    .phone
                    .as_deref()
                    .map(|p| sync::normalize_phone(p).unwrap_or_else(|| p.trim().to_string())),
                email: m.email.map(|e| e.trim().to_lowercase()),
            },
            classification,
        };
        let note = AuditNote {
            action: "conversation.message_received",
            details: serde_json::json!({
                "channel": m.channel.as_str(), "message_id": message_id,
                "attachments": input.attachments.len(), "urgent": urgent,
            }),
        };
        let staged = {
            let _g = lock(self.address_stripe(m.channel, &m.address));
            if let Some(id) = self
                .docs
                .id_at(&idx::external_key(m.channel, &m.external_id))?
            {
                drop(_g);
                self.docs
                    .gc()
                    .wait_async(self.docs.gc().written())
                    .await
                    .map_err(ServiceError::from)?;
                return Ok(Accepted::Duplicate {
                    conversation_id: id,
                });
            }
            let open = self.docs.id_at(&idx::open_key(m.channel, &m.address))?;
            let (id, create) = match open {
                Some(id) => (id, None),
                None => (
                    uuid::Uuid::new_v4().to_string(),
                    Some((m.channel, m.address.as_str())),
                ),
            };
            self.docs.stage(
                &id,
                create,
                SYSTEM_LOGIN,
                &[ConversationCommand::Receive(input)],
                note,
                m.received_at_ms,
                move |batch, _| {
                    for (sha, bytes) in blobs_to_stage {
                        blobs::stage(batch, &sha, bytes);
                    }
                    Ok(())
                },
            )?
        };
        let conversation = self.docs.done(staged).await?;
        if urgent && conversation.card_links().next().is_none() {
            if let Err(e) = self
                .open_card(
                    &conversation.id,
                    SYSTEM_LOGIN,
                    Some(&message_id),
                    true,
                    m.received_at_ms,
                )
                .await
            {
                tracing::error!(conversation = conversation.id, error = %e, "an urgent message could not open its card: the operator opens it");
            }
        } else if !urgent {
            self.bot_answer(&conversation, &question, m.received_at_ms)
                .await;
        }
        Ok(Accepted::Stored {
            conversation_id: conversation.id,
            message_id,
        })
    }

    /// The chat-bot's consultation (R19): on a bot channel, while no operator has taken the
    /// conversation, a question the knowledge base answers with confidence
    /// ([`crate::kb::BOT_AUTO_ANSWER_SCORE_MIN`]) gets the article at once, through the
    /// outbox like any answer; the conversation stays in the operators' inbox, and the answer
    /// says how to reach an operator. The same article is not sent twice in one conversation.
    async fn bot_answer(&self, c: &Conversation, question: &str, now_ms: i64) {
        if !BOT_CHANNELS.contains(&c.channel)
            || c.state != ConversationState::Unassigned
            || question.trim().is_empty()
        {
            return;
        }
        let hit = match self.service.kb().auto_answer(question, c.language, now_ms) {
            Ok(Some(hit)) => hit,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(conversation = c.id, error = %e, "the knowledge base could not be searched: an operator answers");
                return;
            }
        };
        let text = bot_answer_text(c.language, &hit.title, &hit.body);
        let already = c.messages.iter().any(|m| {
            m.automatic && m.direction == sync::conversation::Direction::Out && m.text == text
        });
        if already {
            return;
        }
        if let Err(e) = self
            .answer(&c.id, SYSTEM_LOGIN, &text, true, None, now_ms)
            .await
        {
            tracing::warn!(conversation = c.id, article = hit.article_id, error = %e, "the bot's answer could not be queued: an operator answers");
        }
    }

    /// An inbox list for `login`.
    pub fn list(
        &self,
        filter: InboxFilter,
        login: &str,
    ) -> ServiceResult<Vec<ConversationSummary>> {
        match filter {
            InboxFilter::Unassigned => self.docs.list_state(ConversationState::Unassigned),
            InboxFilter::Mine => self.docs.list_operator(login),
            InboxFilter::Waiting => self.docs.list_state(ConversationState::WaitingCitizen),
            InboxFilter::Closed => self.docs.list_state(ConversationState::Closed),
        }
    }

    pub fn get(&self, id: &str) -> ServiceResult<Conversation> {
        self.docs.get(id)
    }

    /// The conversation with its files' links and the same person's earlier conversations
    /// and cards.
    pub fn detail(&self, id: &str) -> ServiceResult<ConversationDetail> {
        let c = self.docs.get(id)?;
        let files = c
            .messages
            .iter()
            .filter(|m| !m.attachments.is_empty())
            .map(|m| {
                let links = m
                    .attachments
                    .iter()
                    .map(|a| FileLink {
                        sha256: a.sha256.clone(),
                        file_name: a.file_name.clone(),
                        content_type: a.content_type.clone(),
                        size: a.size,
                        url: format!("/api/v1/inbox/{id}/files/{}", a.sha256),
                    })
                    .collect();
                (m.id.clone(), links)
            })
            .collect();
        let mut others = Vec::new();
        if let Some(p) = &c.citizen.phone {
            others.extend(
                self.docs
                    .ids_under(&idx::phone_prefix(p), EARLIER_MAX + 1)?,
            );
        }
        if let Some(e) = &c.citizen.email {
            others.extend(
                self.docs
                    .ids_under(&idx::email_prefix(e), EARLIER_MAX + 1)?,
            );
        }
        others.sort();
        others.dedup();
        others.retain(|o| o != id);
        let mut earlier = Vec::new();
        let mut earlier_cards = Vec::new();
        for o in others {
            let Ok(other) = self.docs.get(&o) else {
                continue;
            };
            for l in other.card_links() {
                earlier_cards.push(EarlierCard {
                    card_id: l.id.clone(),
                    number: l.number.clone(),
                    conversation_id: other.id.clone(),
                });
            }
            earlier.push(other.summary());
        }
        crate::conversations::sort_inbox(&mut earlier);
        earlier.truncate(EARLIER_MAX);
        Ok(ConversationDetail {
            conversation: c,
            files,
            earlier,
            earlier_cards,
        })
    }

    /// A stored attachment of conversation `id`, with its type as the bytes show it (never
    /// what the sender claimed: a page is not served as a page).
    pub fn file(&self, id: &str, sha256: &str) -> ServiceResult<Option<(AttachmentRef, Vec<u8>)>> {
        let c = self.docs.get(id)?;
        let Some(a) = c
            .messages
            .iter()
            .flat_map(|m| m.attachments.iter())
            .find(|a| a.sha256 == sha256)
            .cloned()
        else {
            return Ok(None);
        };
        let Some(bytes) = blobs::load(&**self.docs.store(), sha256)? else {
            return Ok(None);
        };
        let content_type = blobs::sniff(&bytes).unwrap_or("application/octet-stream");
        Ok(Some((
            AttachmentRef {
                content_type: content_type.to_string(),
                ..a
            },
            bytes,
        )))
    }

    /// The operator takes the conversation (the first one wins).
    pub async fn take(&self, id: &str, login: &str, now_ms: i64) -> ServiceResult<Conversation> {
        self.docs
            .step(
                id,
                login,
                &[ConversationCommand::Take],
                AuditNote {
                    action: "conversation.take",
                    details: serde_json::json!({}),
                },
                now_ms,
                |_, _| Ok(()),
            )
            .await
    }

    pub async fn close(&self, id: &str, login: &str, now_ms: i64) -> ServiceResult<Conversation> {
        self.docs
            .step(
                id,
                login,
                &[ConversationCommand::Close],
                AuditNote {
                    action: "conversation.close",
                    details: serde_json::json!({}),
                },
                now_ms,
                |_, _| Ok(()),
            )
            .await
    }

    /// Writes an answer and queues it in the outbox in the same batch; returns its message id
    /// once both are durable.
    pub async fn reply(
        &self,
        id: &str,
        login: &str,
        text: &str,
        now_ms: i64,
    ) -> ServiceResult<String> {
        self.answer(id, login, text, false, None, now_ms).await
    }

    async fn answer(
        &self,
        id: &str,
        login: &str,
        text: &str,
        automatic: bool,
        about_card: Option<String>,
        now_ms: i64,
    ) -> ServiceResult<String> {
        let message_id = uuid::Uuid::new_v4().to_string();
        let mid = message_id.clone();
        self.docs
            .step(
                id,
                login,
                &[ConversationCommand::Reply {
                    message_id: message_id.clone(),
                    text: text.to_string(),
                    automatic,
                    about_card: about_card.clone(),
                }],
                AuditNote {
                    action: match (automatic, &about_card) {
                        (true, Some(_)) => "conversation.citizen_told",
                        (true, None) => "conversation.bot_answer",
                        (false, _) => "conversation.reply",
                    },
                    details: serde_json::json!({"message_id": message_id, "card": about_card}),
                },
                now_ms,
                move |batch, c| {
                    let entry = OutboxEntry {
                        message: outgoing(c, &mid, text),
                        of: DeliveryOf::Answer {
                            message_id: mid.clone(),
                        },
                        attempts: 0,
                        next_at_ms: now_ms,
                        queued_at_ms: now_ms,
                    };
                    Outbox::stage(batch, &entry)
                },
            )
            .await?;
        self.outbox.wake();
        Ok(message_id)
    }

    /// Opens a "102" card from the conversation (from `message_id`, else its citizen's last
    /// message), carrying the channel, the citizen, the text and the location, and links it.
    /// An urgent message's card is opened by the node itself (`automatic`); with a category and
    /// a place it is sent for processing at once (it goes to ГУСС like any card).
    pub async fn open_card(
        &self,
        id: &str,
        login: &str,
        message_id: Option<&str>,
        automatic: bool,
        now_ms: i64,
    ) -> ServiceResult<sync::Card> {
        let c = self.docs.get(id)?;
        let m = match message_id {
            Some(mid) => c
                .message(mid)
                .filter(|m| m.direction == sync::conversation::Direction::In)
                .ok_or_else(|| {
                    ServiceError::NotFound(format!(
                        "no citizen's message {mid} in conversation {id}"
                    ))
                })?,
            None => c.last_incoming().ok_or_else(|| {
                DomainError::rule(
                    "conversation_has_no_message",
                    "the citizen has written nothing yet",
                )
            })?,
        };
        if let Some(l) = c.card_links().next().filter(|_| automatic) {
            return self.service.get_card(&l.id);
        }
        let location = m
            .location
            .or_else(|| c.messages.iter().rev().find_map(|x| x.location));
        let description: String = m
            .text
            .chars()
            .take(sync::model::limits::DESCRIPTION_CHARS_MAX)
            .collect();
        let category = m
            .classification
            .as_ref()
            .and_then(|k| k.category.clone())
            .or(c.category.clone());
        let create = CardCreate {
            channel: c.channel,
            caller: sync::normalize_caller(&sync::Caller {
                name: c.citizen.name.clone(),
                phone: c.citizen.phone.clone(),
                language: Some(c.language),
                ..sync::Caller::default()
            }),
            location: location.map(|p| sync::Location {
                lat: Some(p.lat),
                lon: Some(p.lon),
                accuracy_m: None,
                address: None,
                source: Some(sync::LocationSource::App),
            }),
            description: Some(description).filter(|d| !d.trim().is_empty()),
            seen: Default::default(),
            category,
            priority: None,
            district: None,
        };
        let send = create.category.is_some() && create.location.is_some();
        let card = match self
            .service
            .create_card_then(login, &create, send, None, now_ms)
            .await
        {
            // Outside every district: created, the operator completes it and sends it.
            Err(ServiceError::Domain(_)) if send => {
                self.service
                    .create_card_then(login, &create, false, None, now_ms)
                    .await?
            }
            r => r?,
        };
        self.docs
            .step(
                id,
                login,
                &[ConversationCommand::Link {
                    kind: LinkKind::Card,
                    id: card.id.clone(),
                    number: Some(card.number.clone()),
                    automatic,
                }],
                AuditNote {
                    action: "conversation.card_opened",
                    details: serde_json::json!({"card": card.number, "automatic": automatic}),
                },
                now_ms,
                |_, _| Ok(()),
            )
            .await?;
        Ok(card)
    }

    /// Makes an appeal of the conversation (R05, R11): the citizen's message (`message_id`, else
    /// their messages since the last answer) through the appeals intake, linked.
    pub async fn open_appeal(
        &self,
        id: &str,
        login: &str,
        message_id: Option<&str>,
        now_ms: i64,
    ) -> ServiceResult<sync::appeal::Appeal> {
        let c = self.docs.get(id)?;
        if c.links.iter().any(|l| l.kind == LinkKind::Appeal) {
            return Err(DomainError::rule(
                "appeal_already_linked",
                "an appeal is already made of this conversation",
            )
            .into());
        }
        let incoming: Vec<&sync::conversation::Message> = match message_id {
            Some(mid) => vec![c
                .message(mid)
                .filter(|m| m.direction == sync::conversation::Direction::In)
                .ok_or_else(|| {
                    ServiceError::NotFound(format!(
                        "no citizen's message {mid} in conversation {id}"
                    ))
                })?],
            None => c
                .messages
                .iter()
                .filter(|m| m.direction == sync::conversation::Direction::In)
                .collect(),
        };
        let text: String = incoming
            .iter()
            .map(|m| m.text.trim())
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
            .join("\n\n");
        if text.is_empty() {
            return Err(DomainError::rule(
                "conversation_has_no_message",
                "the citizen has written nothing to make an appeal of",
            )
            .into());
        }
        let text: String = text
            .chars()
            .take(sync::appeal::limits::TEXT_CHARS_MAX)
            .collect();
        let attachments = incoming
            .iter()
            .flat_map(|m| m.attachments.iter())
            .filter_map(|a| {
                let bytes = blobs::load(&**self.docs.store(), &a.sha256).ok()??;
                let content_type = blobs::sniff(&bytes)?;
                use base64::Engine;
                Some(blobs::FileUpload {
                    file_name: a.file_name.clone(),
                    content_type: content_type.to_string(),
                    data_base64: base64::engine::general_purpose::STANDARD.encode(bytes),
                })
            })
            .take(sync::appeal::limits::ATTACHMENTS_MAX)
            .collect();
        let applicant = sync::appeal::Applicant {
            name: c.citizen.name.clone(),
            phone: c.citizen.phone.clone().filter(|p| p.starts_with('+')),
            email: c.citizen.email.clone(),
            ..sync::appeal::Applicant::default()
        };
        let anonymous = applicant.is_unnamed() && applicant.phone.is_none();
        let input = crate::appeals::AppealInput {
            channel: appeal_channel(c.channel),
            kind: None,
            language: c.language,
            text,
            applicant: (!anonymous).then_some(applicant),
            co_applicants: Vec::new(),
            location: incoming.iter().rev().find_map(|m| m.location),
            attachments,
            anonymous,
            card_id: None,
            card_number: None,
        };
        let (appeal, _token) = self.service.appeals().intake(login, input, now_ms).await?;
        self.docs
            .step(
                id,
                login,
                &[ConversationCommand::Link {
                    kind: LinkKind::Appeal,
                    id: appeal.id.clone(),
                    number: appeal.number.clone(),
                    automatic: false,
                }],
                AuditNote {
                    action: "conversation.appeal_made",
                    details: serde_json::json!({"appeal": appeal.id}),
                },
                now_ms,
                |_, _| Ok(()),
            )
            .await?;
        Ok(appeal)
    }

    /// A card reached its end: when it was opened from a conversation and closed (the patrol
    /// reported), the citizen is told through the conversation, once.
    async fn card_finished(&self, card: &CardSummary) {
        if card.status != CardStatus::Closed {
            return;
        }
        let conv = match self.docs.id_at(&idx::card_key(&card.id)) {
            Ok(Some(c)) => c,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(card = card.id, error = %e, "the conversation of a closed card cannot be read");
                return;
            }
        };
        if let Err(e) = self.tell_closed(&conv, &card.id, &card.number).await {
            tracing::warn!(card = card.id, conversation = conv, error = %e, "the citizen could not be told that the card is closed");
        }
    }

    async fn tell_closed(&self, conv: &str, card_id: &str, number: &str) -> ServiceResult<()> {
        let c = self.docs.get(conv)?;
        if c.told_cards.iter().any(|t| t == card_id) {
            return Ok(());
        }
        let text = card_closed_text(c.language, number);
        self.answer(
            conv,
            SYSTEM_LOGIN,
            &text,
            true,
            Some(card_id.to_string()),
            server_kit::clock::now_ms(),
        )
        .await?;
        Ok(())
    }

    /// Tells the citizens of every closed linked card not yet told (at start, after a lag).
    /// Opens the card of every open urgent conversation that has none: the message was stored
    /// and the node stopped before its automatic card was (R05: an urgent text always gets a
    /// card). Urgent conversations come first in each list.
    async fn open_missing_urgent_cards(&self, now_ms: i64) {
        for state in [
            ConversationState::Unassigned,
            ConversationState::Assigned,
            ConversationState::WaitingCitizen,
        ] {
            let list = match self.docs.list_state(state) {
                Ok(list) => list,
                Err(e) => {
                    tracing::warn!(error = %e, "the urgent conversations cannot be listed");
                    return;
                }
            };
            for summary in list.iter().take_while(|s| s.urgent) {
                let Ok(c) = self.docs.get(&summary.id) else {
                    continue;
                };
                if c.card_links().next().is_some() {
                    continue;
                }
                match self.open_card(&c.id, SYSTEM_LOGIN, None, true, now_ms).await {
                    Ok(card) => tracing::warn!(conversation = c.id, card = card.number, "an urgent message's card was missing (the node stopped before opening it): opened now"),
                    Err(e) => tracing::error!(conversation = c.id, error = %e, "an urgent message has no card and it cannot be opened: the operator opens it"),
                }
            }
        }
    }

    async fn tell_all_closed(&self) {
        let keys = match self.docs.store().scan_prefix(idx::card_key("").as_bytes()) {
            Ok(k) => k,
            Err(e) => {
                tracing::warn!(error = %e, "the cards of conversations cannot be listed");
                return;
            }
        };
        for (k, v) in keys {
            let key = String::from_utf8_lossy(&k);
            let Some(card_id) = key.rsplit('/').next() else {
                continue;
            };
            let conv = String::from_utf8_lossy(&v).into_owned();
            let Ok(card) = self.service.get_card(card_id) else {
                continue;
            };
            if card.status == CardStatus::Closed {
                if let Err(e) = self.tell_closed(&conv, &card.id, &card.number).await {
                    tracing::warn!(card = card.id, error = %e, "the citizen could not be told that the card is closed");
                }
            }
        }
    }
}

/// The answer as the outbox hands it to the connector.
fn outgoing(c: &Conversation, message_id: &str, text: &str) -> OutgoingMessage {
    let last_in = c.last_incoming();
    let subject = (c.channel == Channel::Email).then(|| {
        let first = c
            .messages
            .iter()
            .find(|m| m.direction == sync::conversation::Direction::In)
            .and_then(|m| m.text.lines().find(|l| !l.trim().is_empty()))
            .unwrap_or("");
        let s: String = first.trim().chars().take(SUBJECT_CHARS_MAX).collect();
        if s.is_empty() {
            "Re:".to_string()
        } else {
            format!("Re: {s}")
        }
    });
    OutgoingMessage {
        kind: Default::default(),
        outbox_id: message_id.to_string(),
        channel: c.channel,
        address: c.address.clone(),
        conversation_id: c.id.clone(),
        text: text.to_string(),
        in_reply_to: last_in.and_then(|m| m.external_id.clone()),
        subject,
    }
}

/// The appeal channel of a text channel.
fn appeal_channel(c: Channel) -> sync::appeal::AppealChannel {
    use sync::appeal::AppealChannel as A;
    match c {
        Channel::Telegram => A::Telegram,
        Channel::Vkontakte => A::Vkontakte,
        Channel::WebWidget => A::WebWidget,
        Channel::Email => A::Email,
        Channel::App102Text => A::App102Text,
        Channel::ZakonPoryadokText => A::ZakonPoryadokText,
        Channel::App102Call | Channel::ZakonPoryadokCall | Channel::SosVideo => A::Call102,
    }
}

impl Intake for InboxService {
    fn receive(&self, message: IncomingMessage) -> BoxFuture<'_, Result<Accepted, IntakeError>> {
        Box::pin(self.receive_message(message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_limit_holds_back_one_address_and_lets_the_others_go() {
        let mut r = RateLimiter::default();
        for _ in 0..RATE_BURST_MESSAGES {
            r.check(Channel::Telegram, "spam", 1_000).unwrap();
        }
        let wait = r.check(Channel::Telegram, "spam", 1_000).unwrap_err();
        assert!((1..=60).contains(&wait), "{wait}");
        r.check(Channel::Telegram, "other", 1_000).unwrap();
        r.check(Channel::Vkontakte, "spam", 1_000).unwrap();
        // Refilled after the wait.
        r.check(Channel::Telegram, "spam", 1_000 + wait as i64 * 1_000)
            .unwrap();
    }
}
