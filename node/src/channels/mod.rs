//! Text channels (R01, R05, R19): Telegram, VKontakte, the web widget and e-mail into one
//! operator inbox, and the operators' answers back through the same channel.
//!
//! Every connector speaks its vendor's protocol at the edge and meets the rest of the node only
//! through the two small contracts here, so the inbox never sees a vendor type:
//!
//! - inbound, a connector turns what arrived into an [`IncomingMessage`] and hands it to the
//!   [`Intake`]; it answers its peer (the webhook's `200 OK`, SMTP's `250`) only after
//!   [`Intake::receive`] returned `Ok`, which means the message is on disk ("every message that
//!   arrives is stored before it is acknowledged");
//! - outbound, the durable outbox calls the connector's [`ChannelSender`] for each answer, with
//!   the answer's own idempotency key ([`OutgoingMessage::outbox_id`]), and retries with back-off
//!   on [`SendError::Transient`].

pub mod email;
pub mod inbox;
pub mod messengers;
pub mod outbox;
pub mod telegram;
pub mod vendor_api;
pub mod vk;

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use sync::Channel;

/// Longest text of one message, in characters (Telegram's own limit is 4,096; an e-mail body
/// longer than this is cut at this length and the cut is said in the stored message).
pub const MESSAGE_TEXT_CHARS_MAX: usize = 16_384;
/// Largest attachment of one message, in bytes.
pub const ATTACHMENT_BYTES_MAX: usize = 10 * 1024 * 1024;
/// Most attachments on one message.
pub const ATTACHMENTS_PER_MESSAGE_MAX: usize = 10;

/// A point the citizen shared (WGS 84 degrees).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SharedLocation {
    pub lat: f64,
    pub lon: f64,
}

/// A file that came with a message: its name, its type as the sender claimed it, its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingAttachment {
    pub file_name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// One message from a citizen, as every connector hands it to the inbox.
#[derive(Debug, Clone, PartialEq)]
pub struct IncomingMessage {
    /// The channel it came through (`Telegram`, `Vkontakte`, `WebWidget`, `Email`, the apps).
    pub channel: Channel,
    /// Where an answer goes on that channel: the Telegram chat id, the VK peer id, the
    /// widget session id, the e-mail address. One conversation per (channel, address) at a time.
    pub address: String,
    /// The channel's own id of this delivery, unique per channel: Telegram `update_id`, VK
    /// `event_id`, the e-mail `Message-ID`, the widget's client message id. A second message
    /// with the same id is a repeat (the peer did not see our acknowledgement) and is stored once.
    pub external_id: String,
    /// E-mail threading: `In-Reply-To` and `References`, newest first. Empty elsewhere.
    pub in_reply_to: Vec<String>,
    /// The name the sender shows (Telegram first/last name, the e-mail display name).
    pub sender_name: Option<String>,
    /// A phone number the citizen chose to share (Telegram contact), as sent.
    pub phone: Option<String>,
    /// The sender's e-mail address (e-mail only; never guessed elsewhere).
    pub email: Option<String>,
    /// The text (the e-mail's subject and plain body; a caption of a photo).
    pub text: String,
    pub location: Option<SharedLocation>,
    pub attachments: Vec<IncomingAttachment>,
    /// When the channel says the citizen sent it (Telegram `date`, the e-mail `Date:`), ms.
    pub sent_at_ms: Option<i64>,
    /// When this node received it, ms.
    pub received_at_ms: i64,
}

/// What the inbox did with a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    /// Stored (durable) as message `message_id` of conversation `conversation_id`.
    Stored {
        conversation_id: String,
        message_id: String,
    },
    /// A repeat of a message already stored (same channel and `external_id`): nothing written.
    Duplicate { conversation_id: String },
}

/// Why the inbox did not take a message. The connector answers its peer so that the peer
/// retries a [`IntakeError::Unavailable`] and not the others.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntakeError {
    /// The message is not acceptable as it is (too large, no content at all): `code` is one of
    /// the `err.` codes the consoles render, `detail` says what to change.
    #[error("{code}: {detail}")]
    Invalid { code: &'static str, detail: String },
    /// Too many messages from this address: taken again after `retry_after_s`.
    #[error("too many messages from this sender; retry after {retry_after_s} s")]
    RateLimited { retry_after_s: u64 },
    /// The node cannot store it now (storage error, shutting down): the peer should retry.
    #[error("the inbox cannot store messages now: {0}")]
    Unavailable(String),
}

/// The inbox as connectors see it.
pub trait Intake: Send + Sync {
    /// Stores `message` (durably: flushed before this returns `Ok`) in its conversation.
    fn receive(&self, message: IncomingMessage) -> BoxFuture<'_, Result<Accepted, IntakeError>>;
}

/// What an outgoing message is to its channel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutgoingKind {
    /// An answer in a conversation, to [`OutgoingMessage::address`].
    #[default]
    Answer,
    /// A public post of the region (a meeting's notice, R37): on the connector's own channel
    /// (the Telegram channel of `[telegram] channel_chat_id`, the VK community's wall;
    /// `address` is empty), or for e-mail a letter of its own to `address` with
    /// [`OutgoingMessage::subject`] as its subject, in no thread.
    Post,
}

/// One message to deliver, as the outbox hands it to a connector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutgoingMessage {
    /// An answer (absent in entries written before posts existed) or a post.
    #[serde(default)]
    pub kind: OutgoingKind,
    /// Unique per answer, stable across retries and restarts: the idempotency key where the
    /// API has one (VK `random_id` is derived from it, the e-mail `Message-ID` carries it).
    pub outbox_id: String,
    pub channel: Channel,
    /// The address from the conversation ([`IncomingMessage::address`]).
    pub address: String,
    pub conversation_id: String,
    pub text: String,
    /// E-mail threading: the citizen's message this answers (`In-Reply-To`), and the subject.
    pub in_reply_to: Option<String>,
    pub subject: Option<String>,
}

/// A delivered answer: the channel's id of it where it gives one (Telegram `message_id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    pub external_id: Option<String>,
}

/// Why an answer did not leave.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth retrying (no link, timeout, 5xx, 429): after `retry_after_ms` when the channel
    /// said so, else after the outbox's back-off.
    #[error("not delivered yet: {reason}")]
    Transient {
        reason: String,
        retry_after_ms: Option<u64>,
    },
    /// Will never go (the citizen blocked the bot, the address does not exist): the outbox
    /// marks the answer failed and the operator sees it.
    #[error("cannot be delivered: {0}")]
    Permanent(String),
}

/// A connector's outbound half.
pub trait ChannelSender: Send + Sync {
    /// The channel this sender delivers on.
    fn channel(&self) -> Channel;
    /// Delivers one answer. Called again with the same `outbox_id` after a `Transient` error or
    /// a crash between the call and the outbox recording the result.
    fn send<'a>(
        &'a self,
        message: &'a OutgoingMessage,
    ) -> BoxFuture<'a, Result<Delivered, SendError>>;
}

pub mod widget;

/// An [`Intake`] held weakly, for a connector whose sender the outbox also holds (the widget):
/// without it the inbox → outbox → sender → inbox loop would keep the node's store open after
/// the node is dropped. Once the inbox is gone it answers [`IntakeError::Unavailable`].
pub struct WeakIntake<T: Intake + 'static>(pub std::sync::Weak<T>);

impl<T: Intake + 'static> Intake for WeakIntake<T> {
    fn receive(&self, message: IncomingMessage) -> BoxFuture<'_, Result<Accepted, IntakeError>> {
        let inbox = self.0.upgrade();
        Box::pin(async move {
            match inbox {
                Some(inbox) => inbox.receive(message).await,
                None => Err(IntakeError::Unavailable(
                    "the node is shutting down".to_string(),
                )),
            }
        })
    }
}
