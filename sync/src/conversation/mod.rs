//! A citizen's text conversation (R01, R05): Telegram, VKontakte, the web widget or e-mail, with
//! the operators' answers. One automerge document per conversation, `{REGION}/conv/{id}`,
//! written by its region's node.
//!
//! The document holds its channel and the channel's address (immutable) and an append-only
//! **log** of entries (JSON): messages both ways, delivery states of answers, an operator taking
//! it, links to cards and appeals, the language, closing. What a reader sees — the state, the
//! assignee, the messages with their delivery state, the links — is a fold over the log in list
//! order, which automerge makes the same on every replica. Merge rules, as the fold applies them:
//! - messages and links are append-only sets (a second entry with the same id is ignored);
//! - a delivery state only moves forward (`queued` < `sent` < `delivered`, `failed` is final);
//! - the first `take` in log order owns the conversation until a `release` or `close`;
//! - `closed` is final: a citizen writing again starts a new conversation.
//!
//! Each command is checked against the view before it is appended; a refused command writes
//! nothing. Time comes in through [`Ctx`]; the core reads no clock.

pub mod urgency;

use automerge::{transaction::Transactable, AutoCommit, ObjType, ReadDoc, ROOT};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::appeal::{AttachmentRef, GeoPoint};
use crate::doc::{
    append_json, check_text, get_i64, get_obj, get_str, read_json_list, Ctx, Document,
};
use crate::error::DomainError;
use crate::model::{Channel, Language};

pub use urgency::{classify, Classification};

/// Storage/wire schema version of conversation documents.
pub const CONVERSATION_SCHEMA_VERSION: i64 = 1;

/// Limits of one conversation, each with its unit.
pub mod limits {
    /// Longest text of one message, in characters.
    pub const TEXT_CHARS_MAX: usize = 16_384;
    /// Most log entries of one conversation; a citizen writing past it starts a new one.
    pub const ENTRIES_MAX: usize = 5_000;
    /// Longest channel address (chat id, e-mail address, widget session), in characters.
    pub const ADDRESS_CHARS_MAX: usize = 320;
    /// Longest channel delivery id (`Message-ID`), in characters.
    pub const EXTERNAL_ID_CHARS_MAX: usize = 998;
    /// Longest name, phone or e-mail of the citizen as shown, in characters.
    pub const IDENTITY_CHARS_MAX: usize = 200;
    /// Most attachments of one message.
    pub const ATTACHMENTS_MAX: usize = 10;
    /// Characters of the last message a list shows.
    pub const PREVIEW_CHARS_MAX: usize = 200;
    /// Longest reason of a failed delivery, in characters.
    pub const REASON_CHARS_MAX: usize = 500;
}

/// The automerge document of one conversation.
pub struct ConversationDoc {
    doc: AutoCommit,
}

impl Document for ConversationDoc {
    const SCHEMA_VERSION: i64 = CONVERSATION_SCHEMA_VERSION;
    const KIND: &'static str = "conversation";
    fn wrap(doc: AutoCommit) -> Self {
        ConversationDoc { doc }
    }
    fn automerge(&mut self) -> &mut AutoCommit {
        &mut self.doc
    }
}

impl std::fmt::Debug for ConversationDoc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConversationDoc").finish_non_exhaustive()
    }
}

/// Which way a message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// From the citizen.
    In,
    /// To the citizen (an operator's answer, or the node's own message).
    Out,
}

/// Where an answer is on its way to the citizen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// Stored in the outbox, not yet accepted by the channel.
    Queued,
    /// The channel accepted it.
    Sent,
    /// The channel says the citizen got it.
    Delivered,
    /// It will never go (the reason is recorded).
    Failed,
}

/// Where the conversation is in the operators' work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConversationState {
    /// Nobody has taken it.
    Unassigned,
    /// An operator took it; the citizen wrote last.
    Assigned,
    /// The operator answered; the citizen's turn.
    WaitingCitizen,
    Closed,
}

impl ConversationState {
    pub const ALL: [ConversationState; 4] = [
        ConversationState::Unassigned,
        ConversationState::Assigned,
        ConversationState::WaitingCitizen,
        ConversationState::Closed,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            ConversationState::Unassigned => "unassigned",
            ConversationState::Assigned => "assigned",
            ConversationState::WaitingCitizen => "waiting_citizen",
            ConversationState::Closed => "closed",
        }
    }
}

/// The citizen as they showed themselves: never guessed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Citizen {
    pub name: Option<String>,
    /// E.164 when it reads as a phone number, else as sent.
    pub phone: Option<String>,
    pub email: Option<String>,
}

/// A card or an appeal made from the conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    Card,
    Appeal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Link {
    pub kind: LinkKind,
    pub id: String,
    /// The card's or appeal's number when it has one.
    pub number: Option<String>,
    pub at_ms: i64,
    pub by: String,
    /// The link was made by the node itself (an urgent message opened a card).
    pub automatic: bool,
}

/// A citizen's message as the inbox received it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncomingInput {
    pub message_id: String,
    pub external_id: String,
    pub text: String,
    pub attachments: Vec<AttachmentRef>,
    pub location: Option<GeoPoint>,
    pub sent_at_ms: Option<i64>,
    /// Who the citizen showed themselves as in this message (merged into the participants).
    pub citizen: Citizen,
    /// The classifier's verdict on the text.
    pub classification: Classification,
}

/// One message of the conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Message {
    pub id: String,
    pub direction: Direction,
    pub text: String,
    pub attachments: Vec<AttachmentRef>,
    pub location: Option<GeoPoint>,
    /// When the citizen sent it (the channel's time), incoming only.
    pub sent_at_ms: Option<i64>,
    /// When this node received or wrote it.
    pub at_ms: i64,
    /// The operator who wrote an answer; `None` for incoming and the node's own messages.
    pub by: Option<String>,
    /// The node wrote it itself ("your report was handled").
    pub automatic: bool,
    /// Outgoing only.
    pub delivery: Option<Delivery>,
    /// Why a delivery failed (or was retried), outgoing only.
    pub delivery_reason: Option<String>,
    /// The channel's id of it.
    pub external_id: Option<String>,
    /// The classifier's verdict (incoming only).
    pub classification: Option<Classification>,
}

/// The log's entries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Event {
    Incoming(IncomingInput),
    Outgoing {
        message_id: String,
        text: String,
        automatic: bool,
        /// The finished card this message tells the citizen about.
        #[serde(default)]
        about_card: Option<String>,
    },
    Delivery {
        message_id: String,
        state: Delivery,
        #[serde(default)]
        reason: Option<String>,
        #[serde(default)]
        external_id: Option<String>,
    },
    Take {
        operator: String,
    },
    Release,
    Close,
    Link {
        kind: LinkKind,
        id: String,
        number: Option<String>,
        automatic: bool,
    },
    Language {
        language: Language,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Entry {
    at: i64,
    by: String,
    writer: String,
    event: Event,
}

/// A step on a conversation.
#[derive(Debug, Clone, PartialEq)]
pub enum ConversationCommand {
    /// A citizen's message arrived.
    Receive(IncomingInput),
    /// An answer to the citizen: an operator's (`automatic: false`), or the node's own.
    Reply {
        message_id: String,
        text: String,
        automatic: bool,
        about_card: Option<String>,
    },
    /// The outbox's news of an answer.
    Delivery {
        message_id: String,
        state: Delivery,
        reason: Option<String>,
        external_id: Option<String>,
    },
    /// The acting operator takes it (first one wins).
    Take,
    Release,
    Close,
    Link {
        kind: LinkKind,
        id: String,
        number: Option<String>,
        automatic: bool,
    },
    SetLanguage(Language),
}

/// The conversation as readers see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Conversation {
    pub id: String,
    pub region: String,
    pub channel: Channel,
    /// Where answers go on the channel (chat id, e-mail address, widget session).
    pub address: String,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub state: ConversationState,
    pub assignee: Option<String>,
    pub citizen: Citizen,
    /// A message of it was classified urgent.
    pub urgent: bool,
    /// The call category the classifier suggested first.
    pub category: Option<String>,
    pub language: Language,
    pub messages: Vec<Message>,
    pub links: Vec<Link>,
    /// The cards whose finish the citizen was told of.
    pub told_cards: Vec<String>,
    /// The channel delivery ids of the citizen's messages (dedupe).
    pub external_ids: Vec<String>,
}

/// The last message, as a list shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LastMessage {
    pub text: String,
    pub at_ms: i64,
    pub direction: Direction,
}

/// A conversation in the inbox list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ConversationSummary {
    pub id: String,
    pub channel: Channel,
    pub address_display: String,
    pub citizen: Citizen,
    pub state: ConversationState,
    pub assignee: Option<String>,
    pub urgent: bool,
    pub language: Language,
    pub last_message: Option<LastMessage>,
    /// The citizen's messages since the last answer an operator wrote.
    pub unread: u32,
    pub updated_at_ms: i64,
}

impl Conversation {
    pub fn message(&self, id: &str) -> Option<&Message> {
        self.messages.iter().find(|m| m.id == id)
    }

    pub fn card_links(&self) -> impl Iterator<Item = &Link> {
        self.links.iter().filter(|l| l.kind == LinkKind::Card)
    }

    /// The citizen's last message.
    pub fn last_incoming(&self) -> Option<&Message> {
        self.messages
            .iter()
            .rev()
            .find(|m| m.direction == Direction::In)
    }

    pub fn summary(&self) -> ConversationSummary {
        let last = self.messages.last().map(|m| LastMessage {
            text: m.text.chars().take(limits::PREVIEW_CHARS_MAX).collect(),
            at_ms: m.at_ms,
            direction: m.direction,
        });
        let unread = self
            .messages
            .iter()
            .rev()
            .take_while(|m| m.direction == Direction::In || m.automatic)
            .filter(|m| m.direction == Direction::In)
            .count() as u32;
        ConversationSummary {
            id: self.id.clone(),
            channel: self.channel,
            address_display: match &self.citizen.name {
                Some(n) => format!("{n} ({})", self.address),
                None => self.address.clone(),
            },
            citizen: self.citizen.clone(),
            state: self.state,
            assignee: self.assignee.clone(),
            urgent: self.urgent,
            language: self.language,
            last_message: last,
            unread,
            updated_at_ms: self.updated_at_ms,
        }
    }
}

/// Kazakh when the text has a letter only Kazakh uses, else Russian.
pub fn guess_language(text: &str) -> Language {
    const KAZAKH_ONLY: &[char] = &[
        'ә', 'ғ', 'қ', 'ң', 'ө', 'ұ', 'ү', 'һ', 'і', 'Ә', 'Ғ', 'Қ', 'Ң', 'Ө', 'Ұ', 'Ү', 'Һ', 'І',
    ];
    if text.chars().any(|c| KAZAKH_ONLY.contains(&c)) {
        Language::Kk
    } else {
        Language::Ru
    }
}

fn refuse(code: &'static str, message: impl Into<String>) -> DomainError {
    DomainError::rule(code, message)
}

fn check_identity(field: &str, v: &Option<String>) -> Result<(), DomainError> {
    if let Some(v) = v {
        check_text(field, v, limits::IDENTITY_CHARS_MAX, false)?;
    }
    Ok(())
}

/// Checks a citizen's message before it is stored.
pub fn validate_incoming(i: &IncomingInput) -> Result<(), DomainError> {
    check_text("text", &i.text, limits::TEXT_CHARS_MAX, false)?;
    check_text(
        "external_id",
        &i.external_id,
        limits::EXTERNAL_ID_CHARS_MAX,
        true,
    )?;
    if i.text.trim().is_empty() && i.attachments.is_empty() && i.location.is_none() {
        return Err(DomainError::rule_field(
            "message_empty",
            "text",
            "the message has no text, no file and no location",
        ));
    }
    if i.attachments.len() > limits::ATTACHMENTS_MAX {
        return Err(DomainError::rule_field(
            "too_many_attachments",
            "attachments",
            format!("at most {} attachments", limits::ATTACHMENTS_MAX),
        ));
    }
    if let Some(p) = i.location {
        if !(-90.0..=90.0).contains(&p.lat) || !(-180.0..=180.0).contains(&p.lon) {
            return Err(DomainError::field(
                "location",
                "the location is not a point on the Earth",
            ));
        }
    }
    check_identity("citizen.name", &i.citizen.name)?;
    check_identity("citizen.phone", &i.citizen.phone)?;
    check_identity("citizen.email", &i.citizen.email)?;
    Ok(())
}

impl ConversationDoc {
    /// A new, empty conversation on `channel` with `address`. `id` is the document's id.
    pub fn create(
        actor: automerge::ActorId,
        id: &str,
        channel: Channel,
        address: &str,
        ctx: &Ctx,
    ) -> Result<ConversationDoc, DomainError> {
        check_text("address", address, limits::ADDRESS_CHARS_MAX, true)?;
        let mut doc = AutoCommit::new().with_actor(actor);
        doc.put(ROOT, "v", CONVERSATION_SCHEMA_VERSION)?;
        doc.put(ROOT, "id", id)?;
        doc.put(ROOT, "region", ctx.replica.as_str())?;
        doc.put(ROOT, "channel", channel.as_str())?;
        doc.put(ROOT, "address", address)?;
        doc.put(ROOT, "created_at", ctx.now_ms)?;
        doc.put_object(ROOT, "log", ObjType::List)?;
        Ok(ConversationDoc { doc })
    }

    fn entries(&self) -> Result<Vec<Entry>, DomainError> {
        let list = get_obj(&self.doc, &ROOT, "log")?;
        read_json_list(&self.doc, &list)
    }

    /// The conversation as readers see it.
    pub fn view(&self) -> Result<Conversation, DomainError> {
        let corrupt = |what: &str| DomainError::CorruptDocument(format!("{what} is missing"));
        let id = get_str(&self.doc, &ROOT, "id").ok_or_else(|| corrupt("conversation id"))?;
        let region = get_str(&self.doc, &ROOT, "region").ok_or_else(|| corrupt("region"))?;
        let channel = get_str(&self.doc, &ROOT, "channel")
            .and_then(|c| Channel::ALL.into_iter().find(|x| x.as_str() == c))
            .ok_or_else(|| corrupt("channel"))?;
        let address = get_str(&self.doc, &ROOT, "address").ok_or_else(|| corrupt("address"))?;
        let created_at_ms =
            get_i64(&self.doc, &ROOT, "created_at").ok_or_else(|| corrupt("created_at"))?;
        let mut c = Conversation {
            id,
            region,
            channel,
            address,
            created_at_ms,
            updated_at_ms: created_at_ms,
            state: ConversationState::Unassigned,
            assignee: None,
            citizen: Citizen::default(),
            urgent: false,
            category: None,
            language: Language::Ru,
            messages: Vec::new(),
            links: Vec::new(),
            told_cards: Vec::new(),
            external_ids: Vec::new(),
        };
        let mut language_set = false;
        for e in self.entries()? {
            fold(&mut c, e, &mut language_set);
        }
        Ok(c)
    }

    /// Applies a step: checks it against the current view and appends it to the log. Nothing
    /// is written when it is refused.
    pub fn apply(&mut self, cmd: &ConversationCommand, ctx: &Ctx) -> Result<(), DomainError> {
        let c = self.view()?;
        let entries = get_obj(&self.doc, &ROOT, "log")?;
        if self.doc.length(&entries) >= limits::ENTRIES_MAX {
            return Err(refuse(
                "conversation_full",
                format!(
                    "the conversation has {} entries; no more can be added",
                    limits::ENTRIES_MAX
                ),
            ));
        }
        let event = decide(&c, cmd, ctx)?;
        let entry = Entry {
            at: ctx.now_ms,
            by: ctx.by.clone(),
            writer: ctx.writer(),
            event,
        };
        append_json(&mut self.doc, &entries, &entry)
    }
}

fn decide(c: &Conversation, cmd: &ConversationCommand, ctx: &Ctx) -> Result<Event, DomainError> {
    let closed = c.state == ConversationState::Closed;
    let closed_refused = || {
        refuse(
            "conversation_closed",
            "the conversation is closed; the citizen's next message opens a new one",
        )
    };
    Ok(match cmd {
        ConversationCommand::Receive(i) => {
            if closed {
                return Err(closed_refused());
            }
            validate_incoming(i)?;
            if c.message(&i.message_id).is_some() || c.external_ids.contains(&i.external_id) {
                return Err(refuse(
                    "message_repeated",
                    "this message is already in the conversation",
                ));
            }
            Event::Incoming(i.clone())
        }
        ConversationCommand::Reply {
            message_id,
            text,
            automatic,
            about_card,
        } => {
            if closed && !automatic {
                return Err(closed_refused());
            }
            check_text("text", text, limits::TEXT_CHARS_MAX, true)?;
            if !automatic && c.assignee.as_deref() != Some(ctx.by.as_str()) {
                return Err(match &c.assignee {
                    Some(_) => refuse(
                        "inbox_taken",
                        "another operator has taken this conversation",
                    ),
                    None => refuse("inbox_not_taken", "take the conversation before answering"),
                });
            }
            if c.message(message_id).is_some() {
                return Err(refuse(
                    "message_repeated",
                    "this message is already in the conversation",
                ));
            }
            Event::Outgoing {
                message_id: message_id.clone(),
                text: text.clone(),
                automatic: *automatic,
                about_card: about_card.clone(),
            }
        }
        ConversationCommand::Delivery {
            message_id,
            state,
            reason,
            external_id,
        } => {
            let m = c
                .message(message_id)
                .filter(|m| m.direction == Direction::Out)
                .ok_or_else(|| {
                    DomainError::not_found(format!("no answer {message_id} in the conversation"))
                })?;
            if m.delivery
                .is_some_and(|d| d >= *state && d != Delivery::Queued)
            {
                return Err(refuse(
                    "delivery_already_recorded",
                    "a later delivery state is already recorded",
                ));
            }
            if let Some(r) = reason {
                check_text("reason", r, limits::REASON_CHARS_MAX, false)?;
            }
            Event::Delivery {
                message_id: message_id.clone(),
                state: *state,
                reason: reason.clone(),
                external_id: external_id.clone(),
            }
        }
        ConversationCommand::Take => {
            if closed {
                return Err(closed_refused());
            }
            match &c.assignee {
                Some(a) if *a == ctx.by => {
                    return Err(refuse("inbox_already_yours", "you have already taken it"))
                }
                Some(_) => {
                    return Err(refuse(
                        "inbox_taken",
                        "another operator has taken this conversation",
                    ))
                }
                None => {}
            }
            Event::Take {
                operator: ctx.by.clone(),
            }
        }
        ConversationCommand::Release => {
            if c.assignee.as_deref() != Some(ctx.by.as_str()) {
                return Err(refuse(
                    "inbox_not_yours",
                    "only the operator who took it can give it back",
                ));
            }
            Event::Release
        }
        ConversationCommand::Close => {
            if closed {
                return Err(closed_refused());
            }
            Event::Close
        }
        ConversationCommand::Link {
            kind,
            id,
            number,
            automatic,
        } => {
            if c.links.iter().any(|l| l.kind == *kind && l.id == *id) {
                return Err(refuse("already_linked", "this link is already recorded"));
            }
            Event::Link {
                kind: *kind,
                id: id.clone(),
                number: number.clone(),
                automatic: *automatic,
            }
        }
        ConversationCommand::SetLanguage(language) => Event::Language {
            language: *language,
        },
    })
}

/// Merges what the citizen showed into the participants: a value shown is kept, a later
/// different one replaces it (the citizen shared a new contact).
fn merge_citizen(into: &mut Citizen, from: &Citizen) {
    for (to, v) in [
        (&mut into.name, &from.name),
        (&mut into.phone, &from.phone),
        (&mut into.email, &from.email),
    ] {
        if let Some(v) = v.as_ref().filter(|v| !v.trim().is_empty()) {
            *to = Some(v.clone());
        }
    }
}

fn fold(c: &mut Conversation, e: Entry, language_set: &mut bool) {
    let closed = c.state == ConversationState::Closed;
    c.updated_at_ms = c.updated_at_ms.max(e.at);
    match e.event {
        Event::Incoming(i) => {
            if c.message(&i.message_id).is_some() || c.external_ids.contains(&i.external_id) {
                return;
            }
            if !*language_set
                && !i.text.trim().is_empty()
                && !c
                    .messages
                    .iter()
                    .any(|m| m.direction == Direction::In && !m.text.trim().is_empty())
            {
                c.language = guess_language(&i.text);
            }
            merge_citizen(&mut c.citizen, &i.citizen);
            if i.classification.urgent {
                c.urgent = true;
            }
            if c.category.is_none() {
                c.category = i.classification.category.clone();
            }
            if !closed && c.state == ConversationState::WaitingCitizen {
                c.state = ConversationState::Assigned;
            }
            c.external_ids.push(i.external_id.clone());
            c.messages.push(Message {
                id: i.message_id,
                direction: Direction::In,
                text: i.text,
                attachments: i.attachments,
                location: i.location,
                sent_at_ms: i.sent_at_ms,
                at_ms: e.at,
                by: None,
                automatic: false,
                delivery: None,
                delivery_reason: None,
                external_id: Some(i.external_id),
                classification: Some(i.classification),
            });
        }
        Event::Outgoing {
            message_id,
            text,
            automatic,
            about_card,
        } => {
            if c.message(&message_id).is_some() {
                return;
            }
            if let Some(card) = about_card {
                if !c.told_cards.contains(&card) {
                    c.told_cards.push(card);
                }
            }
            if !automatic && !closed && c.assignee.is_some() {
                c.state = ConversationState::WaitingCitizen;
            }
            c.messages.push(Message {
                id: message_id,
                direction: Direction::Out,
                text,
                attachments: Vec::new(),
                location: None,
                sent_at_ms: None,
                at_ms: e.at,
                by: (!automatic).then_some(e.by),
                automatic,
                delivery: Some(Delivery::Queued),
                delivery_reason: None,
                external_id: None,
                classification: None,
            });
        }
        Event::Delivery {
            message_id,
            state,
            reason,
            external_id,
        } => {
            if let Some(m) = c.messages.iter_mut().find(|m| m.id == message_id) {
                let current = m.delivery.unwrap_or(Delivery::Queued);
                // Forward only; `failed` is final; a retry's reason is kept while queued.
                if current != Delivery::Failed && state >= current {
                    m.delivery = Some(state);
                    if reason.is_some() {
                        m.delivery_reason = reason;
                    }
                    if external_id.is_some() {
                        m.external_id = external_id;
                    }
                }
            }
        }
        Event::Take { operator } => {
            if !closed && c.assignee.is_none() {
                c.assignee = Some(operator);
                c.state = ConversationState::Assigned;
            }
        }
        Event::Release => {
            if !closed && c.assignee.as_deref() == Some(e.by.as_str()) {
                c.assignee = None;
                c.state = ConversationState::Unassigned;
            }
        }
        Event::Close => c.state = ConversationState::Closed,
        Event::Link {
            kind,
            id,
            number,
            automatic,
        } => {
            if !c.links.iter().any(|l| l.kind == kind && l.id == id) {
                c.links.push(Link {
                    kind,
                    id,
                    number,
                    at_ms: e.at,
                    by: e.by,
                    automatic,
                });
            }
        }
        Event::Language { language } => {
            c.language = language;
            *language_set = true;
        }
    }
}

#[cfg(test)]
mod tests;
