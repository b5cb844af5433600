//! The Telegram connector (R01): the region's bot, through the Bot API.
//!
//! Inbound, Telegram posts each update to `POST /channels/telegram/webhook` (set with
//! `setWebhook` at start when `[telegram] webhook_url` is configured) with the secret
//! [`wire::webhook_secret`] in `X-Telegram-Bot-Api-Secret-Token`, checked in constant time; with
//! no public address the node fetches updates by long polling (`getUpdates`), keeping its offset
//! on disk. Either way an update becomes an [`IncomingMessage`](super::IncomingMessage) (photos
//! and files fetched with `getFile`, size-limited), the inbox stores it, and only then does
//! Telegram get its `200` (or the next poll confirms it). The inbox stores a repeated
//! `update_id` once. Outbound, [`TelegramConnector`] is the outbox's `ChannelSender`
//! (`sendMessage`: an answer to the citizen's chat, a post such as a meeting's notice to the
//! region's channel, `[telegram] channel_chat_id`). Telegram has no idempotency key: a crash between sending and recording
//! repeats an answer at most once.
//!
//! The wire format is in [`wire`] (sans-IO); this module is the shell.

pub mod wire;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use futures::future::BoxFuture;
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq;
use sync::Channel;

use super::vendor_api::{api_client, download, read_secret, DownloadError, Secret};
use super::vendor_api::{API_ANSWER_BYTES_MAX, API_CALL_TIMEOUT_MS};
use super::{
    Accepted, ChannelSender, Delivered, IncomingAttachment, Intake, IntakeError, OutgoingKind,
    OutgoingMessage, SendError, ATTACHMENT_BYTES_MAX,
};
use crate::config::TelegramSection;
use crate::store::{GroupCommit, WriteBatch};

/// Where Telegram posts updates.
pub const WEBHOOK_PATH: &str = "/channels/telegram/webhook";
/// The header Telegram sends the webhook's secret in.
pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";
/// Largest webhook body, bytes: an update is JSON of a few KB (files are fetched apart).
pub const UPDATE_BYTES_MAX: usize = 256 * 1024;
/// First pause after a failed call to the Bot API (set webhook, poll), ms; doubled per failure.
pub const RETRY_DELAY_MS_MIN: u64 = 500;
/// Longest pause between two tries, ms.
pub const RETRY_DELAY_MS_MAX: u64 = 60_000;
/// Where the long poll's next offset is kept.
const POLL_OFFSET_KEY: &[u8] = b"channel/telegram/poll_offset";

/// The region's bot: webhook handler, long poller and the outbox's sender for Telegram.
pub struct TelegramConnector {
    http: reqwest::Client,
    api_url: String,
    token: Secret,
    secret: Secret,
    webhook_url: Option<String>,
    poll_timeout_s: u64,
    /// Where public posts (meeting notices) go: `[telegram] channel_chat_id`.
    channel_chat_id: Option<String>,
    intake: Arc<dyn Intake>,
}

/// What became of an update that was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    /// In the inbox now, or already (a repeat).
    Stored(Accepted),
    /// Not a citizen's message with content: acknowledged, nothing stored.
    Ignored,
    /// The inbox refused it for good (invalid, or the sender is flooding): acknowledged so that
    /// Telegram does not send it again.
    Refused(IntakeError),
}

/// The pause before try `attempt` (0-based) of a failed call, ms.
pub fn retry_delay_ms(attempt: u32) -> u64 {
    RETRY_DELAY_MS_MIN
        .saturating_mul(1u64 << attempt.min(20))
        .min(RETRY_DELAY_MS_MAX)
}

impl TelegramConnector {
    pub fn new(section: &TelegramSection, intake: Arc<dyn Intake>) -> anyhow::Result<Self> {
        let token = read_secret(
            "telegram.token",
            section.token_file.as_deref(),
            section.token_env.as_deref(),
        )?;
        Ok(TelegramConnector {
            http: api_client("telegram", &section.api_url, &section.ca_file)?,
            api_url: section.api_url.clone(),
            secret: Secret::new(wire::webhook_secret(token.expose())),
            token,
            webhook_url: section.webhook_url.clone(),
            poll_timeout_s: section.poll_timeout_s,
            channel_chat_id: section.channel_chat_id.clone(),
            intake,
        })
    }

    /// Calls a Bot API method with a JSON body. Errors never carry the URL (it holds the token).
    async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        body: &serde_json::Value,
        timeout: Duration,
    ) -> Result<T, SendError> {
        let transient = |reason: String| SendError::Transient {
            reason,
            retry_after_ms: None,
        };
        let url = format!("{}/bot{}/{method}", self.api_url, self.token.expose());
        let mut resp = self
            .http
            .post(url)
            .json(body)
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| transient(format!("{method}: {}", e.without_url())))?;
        let status = resp.status().as_u16();
        let mut bytes = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| transient(format!("{method}: {}", e.without_url())))?
        {
            if bytes.len() + chunk.len() > API_ANSWER_BYTES_MAX {
                return Err(transient(format!(
                    "{method}: the answer is over {API_ANSWER_BYTES_MAX} bytes"
                )));
            }
            bytes.extend_from_slice(&chunk);
        }
        wire::read_answer(status, &bytes)
    }

    /// Fetches a message's files: those over [`ATTACHMENT_BYTES_MAX`] are left behind (their
    /// names returned), a failure of the link is an error (the update is tried again later).
    async fn fetch_files(
        &self,
        files: &[wire::WantedFile],
    ) -> Result<(Vec<IncomingAttachment>, Vec<String>), String> {
        let (mut got, mut refused) = (Vec::new(), Vec::new());
        for f in files.iter().take(super::ATTACHMENTS_PER_MESSAGE_MAX) {
            if f.size_bytes
                .is_some_and(|n| n > ATTACHMENT_BYTES_MAX as u64)
            {
                refused.push(f.file_name.clone());
                continue;
            }
            let timeout = Duration::from_millis(API_CALL_TIMEOUT_MS);
            let info: wire::File = match self
                .call(
                    "getFile",
                    &serde_json::json!({ "file_id": f.file_id }),
                    timeout,
                )
                .await
            {
                Ok(info) => info,
                // "file is too big" and the like: it will never come.
                Err(SendError::Permanent(_)) => {
                    refused.push(f.file_name.clone());
                    continue;
                }
                Err(e) => return Err(e.to_string()),
            };
            let Some(path) = info
                .file_path
                .filter(|_| info.file_size.unwrap_or(0) <= ATTACHMENT_BYTES_MAX as u64)
            else {
                refused.push(f.file_name.clone());
                continue;
            };
            let url = format!("{}/file/bot{}/{path}", self.api_url, self.token.expose());
            match download(&self.http, &url, ATTACHMENT_BYTES_MAX).await {
                Ok(bytes) => got.push(IncomingAttachment {
                    file_name: f.file_name.clone(),
                    content_type: f.content_type.clone(),
                    bytes,
                }),
                Err(DownloadError::TooLarge(_)) => refused.push(f.file_name.clone()),
                Err(DownloadError::Failed(e)) => return Err(format!("fetching a file: {e}")),
            }
        }
        Ok((got, refused))
    }

    /// Takes one update into the inbox. `Err`: not stored now (the inbox or Telegram's file
    /// link is unavailable): Telegram must send it again.
    pub async fn handle(&self, update: wire::Update, now_ms: i64) -> Result<Handled, String> {
        let Some(draft) = wire::draft(&update) else {
            tracing::debug!(
                update_id = update.update_id,
                "telegram: an update that is not a message for the inbox"
            );
            return Ok(Handled::Ignored);
        };
        let (attachments, refused) = self.fetch_files(&draft.files).await?;
        let message = wire::incoming(draft, attachments, &refused, now_ms);
        match self.intake.receive(message).await {
            Ok(a) => Ok(Handled::Stored(a)),
            Err(IntakeError::Unavailable(e)) => Err(e),
            Err(e) => {
                tracing::warn!(
                    update_id = update.update_id,
                    "telegram: the inbox refused a message: {e}"
                );
                Ok(Handled::Refused(e))
            }
        }
    }

    /// Starts the background work: `setWebhook` (retried until Telegram says yes) when a public
    /// address is configured, else long polling.
    pub fn spawn_background(
        self: Arc<Self>,
        gc: Arc<GroupCommit>,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        match self.webhook_url.clone() {
            Some(url) => {
                tokio::spawn(self.set_webhook(url, shutdown));
            }
            None => {
                tokio::spawn(self.poll(gc, shutdown));
            }
        }
    }

    async fn set_webhook(
        self: Arc<Self>,
        url: String,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        let body = serde_json::json!({
            "url": url,
            "secret_token": self.secret.expose(),
            "allowed_updates": ["message"],
        });
        let timeout = Duration::from_millis(API_CALL_TIMEOUT_MS);
        let mut attempt = 0;
        loop {
            match self.call::<bool>("setWebhook", &body, timeout).await {
                Ok(_) => {
                    tracing::info!("telegram: webhook set, updates arrive at {url}");
                    return;
                }
                Err(e) => tracing::warn!("telegram: setWebhook failed (tried again): {e}"),
            }
            let pause = Duration::from_millis(retry_delay_ms(attempt));
            attempt += 1;
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = shutdown.changed() => return,
            }
        }
    }

    /// Long polling: `deleteWebhook` once (Telegram refuses `getUpdates` while one is set), then
    /// `getUpdates` from the stored offset; the offset moves past an update only once the inbox
    /// has it (or it was refused for good), and is stored durably before the next poll
    /// confirms the updates to Telegram.
    async fn poll(
        self: Arc<Self>,
        gc: Arc<GroupCommit>,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        let mut offset: Option<i64> = match gc.store().get(POLL_OFFSET_KEY) {
            Ok(v) => v.and_then(|b| String::from_utf8(b).ok()?.parse().ok()),
            Err(e) => {
                tracing::error!("telegram: the poll offset cannot be read: {e}");
                None
            }
        };
        let call_timeout = Duration::from_millis(API_CALL_TIMEOUT_MS);
        let (mut webhook_deleted, mut attempt) = (false, 0u32);
        tracing::info!("telegram: no webhook_url configured; fetching updates by long polling");
        loop {
            if *shutdown.borrow() {
                return;
            }
            let mut failed = None;
            if !webhook_deleted {
                match self
                    .call::<bool>("deleteWebhook", &serde_json::json!({}), call_timeout)
                    .await
                {
                    Ok(_) => webhook_deleted = true,
                    Err(e) => failed = Some(format!("deleteWebhook: {e}")),
                }
            }
            if failed.is_none() {
                let body = serde_json::json!({
                    "offset": offset,
                    "timeout": self.poll_timeout_s,
                    "allowed_updates": ["message"],
                });
                let wait = Duration::from_secs(self.poll_timeout_s) + call_timeout;
                let got = tokio::select! {
                    r = self.call::<Vec<serde_json::Value>>("getUpdates", &body, wait) => r,
                    _ = shutdown.changed() => return,
                };
                match got {
                    Err(e) => failed = Some(format!("getUpdates: {e}")),
                    Ok(updates) => {
                        let mut next = offset;
                        for raw in updates {
                            let Some(id) = raw.get("update_id").and_then(|v| v.as_i64()) else {
                                tracing::warn!("telegram: an update without update_id is skipped");
                                continue;
                            };
                            match serde_json::from_value::<wire::Update>(raw) {
                                Err(e) => tracing::warn!(
                                    update_id = id,
                                    "telegram: an update the node cannot read is skipped: {e}"
                                ),
                                Ok(u) => {
                                    if let Err(e) =
                                        self.handle(u, server_kit::clock::now_ms()).await
                                    {
                                        failed = Some(format!("update {id}: {e}"));
                                        break;
                                    }
                                }
                            }
                            next = Some(id.saturating_add(1));
                        }
                        if next != offset {
                            let value = next.map(|n| n.to_string()).unwrap_or_default();
                            let gc = gc.clone();
                            let stored = tokio::task::spawn_blocking(move || {
                                let mut b = WriteBatch::new();
                                b.put(POLL_OFFSET_KEY, value.into_bytes());
                                gc.commit(b)
                            })
                            .await;
                            match stored {
                                Ok(Ok(())) => offset = next,
                                Ok(Err(e)) => failed = Some(format!("storing the offset: {e}")),
                                Err(e) => failed = Some(format!("storing the offset: {e}")),
                            }
                        }
                    }
                }
            }
            match failed {
                None => attempt = 0,
                Some(e) => {
                    tracing::warn!("telegram: long polling: {e} (tried again)");
                    let pause = Duration::from_millis(retry_delay_ms(attempt));
                    attempt = attempt.saturating_add(1);
                    tokio::select! {
                        _ = tokio::time::sleep(pause) => {}
                        _ = shutdown.changed() => return,
                    }
                }
            }
        }
    }
}

impl ChannelSender for TelegramConnector {
    fn channel(&self) -> Channel {
        Channel::Telegram
    }

    fn send<'a>(
        &'a self,
        message: &'a OutgoingMessage,
    ) -> BoxFuture<'a, Result<Delivered, SendError>> {
        Box::pin(async move {
            let timeout = Duration::from_millis(API_CALL_TIMEOUT_MS);
            let chat = match message.kind {
                OutgoingKind::Answer => message.address.as_str(),
                // A public post goes to the region's channel.
                OutgoingKind::Post => self.channel_chat_id.as_deref().ok_or_else(|| {
                    SendError::Permanent(
                        "no channel is configured for posts ([telegram] channel_chat_id)".into(),
                    )
                })?,
            };
            let mut last = None;
            for part in wire::split_text(&message.text) {
                let body = wire::send_message_body(chat, &part);
                let sent: wire::SentMessage = self.call("sendMessage", &body, timeout).await?;
                last = Some(sent.message_id.to_string());
            }
            Ok(Delivered { external_id: last })
        })
    }
}

/// The webhook route, with its own body limit, over `connector`.
pub fn routes<S: Clone + Send + Sync + 'static>(connector: Arc<TelegramConnector>) -> Router<S> {
    Router::new()
        .route(WEBHOOK_PATH, post(webhook))
        .layer(DefaultBodyLimit::max(UPDATE_BYTES_MAX))
        .with_state(connector)
}

/// `POST /channels/telegram/webhook`: `401` without the right secret, `400` for a body that is
/// not an update, `413` over [`UPDATE_BYTES_MAX`], `503` while the inbox cannot store (Telegram
/// sends it again), else `200` once the message is on disk.
async fn webhook(
    State(c): State<Arc<TelegramConnector>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let given = headers
        .get(SECRET_HEADER)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if !bool::from(given.ct_eq(c.secret.expose().as_bytes())) {
        return (
            StatusCode::UNAUTHORIZED,
            "wrong or missing X-Telegram-Bot-Api-Secret-Token",
        )
            .into_response();
    }
    let update = match wire::parse_update(&body) {
        Ok(u) => u,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    match c.handle(update, server_kit::clock::now_ms()).await {
        Ok(_) => StatusCode::OK.into_response(),
        Err(e) => {
            tracing::warn!("telegram: an update is not stored now (Telegram will retry): {e}");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "the inbox cannot store messages now",
            )
                .into_response()
        }
    }
}
