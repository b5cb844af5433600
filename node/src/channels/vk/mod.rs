//! The VKontakte connector (R01): the region's community, through the Callback API.
//!
//! VK posts each event to `POST /channels/vk/callback`. `confirmation` (the server's
//! registration) is answered with the configured string; every other event must carry the
//! community's id and the Callback API's secret (checked in constant time). `message_new`
//! (API 5.103+ shape) becomes an [`IncomingMessage`](super::IncomingMessage): text, the largest
//! size of each photo (downloaded, size-limited), the shared point; VK gets `ok` only after the
//! inbox stored it, and the inbox stores a repeated `event_id` once. Other events are answered
//! `ok` and not stored. Outbound, [`VkConnector`] is the outbox's `ChannelSender`:
//! `messages.send` with a `random_id` derived from the answer's outbox id, so an answer sent
//! again after a crash is delivered once by VK; a public post (a meeting's notice, R37) is
//! `wall.post` on the community's wall with its outbox id as `guid`, published once likewise.
//!
//! The wire format is in [`wire`] (sans-IO); this module is the shell.

pub mod wire;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use futures::future::BoxFuture;
use subtle::ConstantTimeEq;
use sync::Channel;

use super::vendor_api::{api_client, download, read_secret, DownloadError, Secret};
use super::vendor_api::{API_ANSWER_BYTES_MAX, API_CALL_TIMEOUT_MS};
use super::{
    ChannelSender, Delivered, Intake, IntakeError, OutgoingKind, OutgoingMessage, SendError,
    ATTACHMENTS_PER_MESSAGE_MAX, ATTACHMENT_BYTES_MAX,
};
use crate::config::VkSection;

/// Where VK posts events.
pub const CALLBACK_PATH: &str = "/channels/vk/callback";
/// Largest callback body, bytes: an event is JSON of a few KB (photos are fetched apart).
pub const EVENT_BYTES_MAX: usize = 256 * 1024;
/// Longest text of one `messages.send`, in characters (VK's limit); longer answers leave in
/// several messages.
pub const SEND_TEXT_CHARS_MAX: usize = 4_096;

/// Longest wait for `users.get` (the writer's name): without it the message goes on unnamed, ms.
pub const USERS_GET_TIMEOUT_MS: u64 = 3_000;
/// Writers whose names are remembered (one `users.get` per writer, not per message).
pub const USER_NAMES_REMEMBERED_MAX: usize = 10_000;

/// The region's community: Callback API handler and the outbox's sender for VKontakte.
pub struct VkConnector {
    http: reqwest::Client,
    api_url: String,
    api_version: String,
    group_id: i64,
    confirmation: String,
    secret: Secret,
    token: Secret,
    intake: Arc<dyn Intake>,
    names: std::sync::Mutex<lru::LruCache<i64, String>>,
}

impl VkConnector {
    pub fn new(section: &VkSection, intake: Arc<dyn Intake>) -> anyhow::Result<Self> {
        Ok(VkConnector {
            http: api_client("vk", &section.api_url, &section.ca_file)?,
            api_url: section.api_url.clone(),
            api_version: section.api_version.clone(),
            group_id: section.group_id,
            confirmation: section.confirmation.clone(),
            secret: read_secret(
                "vk.secret",
                section.secret_file.as_deref(),
                section.secret_env.as_deref(),
            )?,
            token: read_secret(
                "vk.token",
                section.token_file.as_deref(),
                section.token_env.as_deref(),
            )?,
            intake,
            names: std::sync::Mutex::new(lru::LruCache::new(
                std::num::NonZeroUsize::new(USER_NAMES_REMEMBERED_MAX)
                    .unwrap_or(std::num::NonZeroUsize::MIN),
            )),
        })
    }

    /// The writer's name as VK shows it (`users.get`, remembered); `None` for a community or
    /// when VK does not answer in time: the message is not held up for a name.
    async fn user_name(&self, user_id: i64) -> Option<String> {
        if user_id <= 0 {
            return None;
        }
        if let Some(n) = self
            .names
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&user_id)
        {
            return Some(n.clone());
        }
        let resp = self
            .http
            .post(format!("{}/method/users.get", self.api_url))
            .form(&wire::users_get_form(
                user_id,
                &self.api_version,
                self.token.expose(),
            ))
            .timeout(Duration::from_millis(USERS_GET_TIMEOUT_MS))
            .send()
            .await;
        let body = match resp {
            Ok(r) => r.bytes().await.ok()?,
            Err(e) => {
                tracing::debug!("vk: users.get: {}", e.without_url());
                return None;
            }
        };
        let name = wire::read_user_name(&body)?;
        self.names
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .put(user_id, name.clone());
        Some(name)
    }

    /// Takes one authenticated `message_new` into the inbox. `Err`: not stored now (VK must
    /// send it again).
    async fn message_new(&self, event: &wire::Event, now_ms: i64) -> Result<(), String> {
        let m = match wire::parse_message_new(&event.object) {
            Ok(m) => m,
            Err(e) => {
                // A shape this node cannot read will not change when sent again.
                tracing::warn!("vk: {e}");
                return Ok(());
            }
        };
        let Some(d) = wire::draft(event.event_id.as_deref(), &m) else {
            return Ok(());
        };
        let (mut got, mut refused) = (Vec::new(), 0usize);
        for (i, p) in d.photos.iter().enumerate() {
            if i >= ATTACHMENTS_PER_MESSAGE_MAX {
                refused += 1;
                continue;
            }
            if !(p.url.starts_with("https://") || p.url.starts_with("http://")) {
                refused += 1;
                continue;
            }
            match download(&self.http, &p.url, ATTACHMENT_BYTES_MAX).await {
                Ok(bytes) => got.push(super::IncomingAttachment {
                    file_name: p.file_name.clone(),
                    content_type: "image/jpeg".into(),
                    bytes,
                }),
                Err(DownloadError::TooLarge(_)) => refused += 1,
                Err(DownloadError::Failed(e)) => return Err(format!("fetching a photo: {e}")),
            }
        }
        let external_id = d.external_id.clone();
        let name = self.user_name(d.from_id).await;
        match self
            .intake
            .receive(wire::incoming(d, name, got, refused, now_ms))
            .await
        {
            Ok(_) => Ok(()),
            Err(IntakeError::Unavailable(e)) => Err(e),
            Err(e) => {
                tracing::warn!(event_id = %external_id, "vk: the inbox refused a message: {e}");
                Ok(())
            }
        }
    }
}

impl VkConnector {
    /// Calls an API method with a form (the token in the body, never in the URL) and reads its
    /// answer as `messages.send`'s or `wall.post`'s.
    async fn call(
        &self,
        method: &str,
        form: &[(&'static str, String)],
    ) -> Result<Option<String>, SendError> {
        let transient = |reason: String| SendError::Transient {
            reason,
            retry_after_ms: None,
        };
        let mut resp = self
            .http
            .post(format!("{}/method/{method}", self.api_url))
            .form(form)
            .timeout(Duration::from_millis(API_CALL_TIMEOUT_MS))
            .send()
            .await
            .map_err(|e| transient(format!("{method}: {}", e.without_url())))?;
        let status = resp.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| transient(format!("{method}: {}", e.without_url())))?
        {
            if body.len() + chunk.len() > API_ANSWER_BYTES_MAX {
                return Err(transient(format!("{method}: the answer is too large")));
            }
            body.extend_from_slice(&chunk);
        }
        wire::read_send_answer(status, &body)
    }
}

impl ChannelSender for VkConnector {
    fn channel(&self) -> Channel {
        Channel::Vkontakte
    }

    fn send<'a>(
        &'a self,
        message: &'a OutgoingMessage,
    ) -> BoxFuture<'a, Result<Delivered, SendError>> {
        Box::pin(async move {
            if message.kind == OutgoingKind::Post {
                // A public post on the community's wall, in one piece (a wall post's text is
                // far longer than a message's), its `guid` the idempotency key.
                let form = wire::wall_post_form(
                    self.group_id,
                    &message.text,
                    &message.outbox_id,
                    &self.api_version,
                    self.token.expose(),
                );
                let id = self.call("wall.post", &form).await?;
                return Ok(Delivered { external_id: id });
            }
            let chars: Vec<char> = message.text.chars().collect();
            let parts: Vec<String> = if chars.is_empty() {
                vec![String::new()]
            } else {
                chars
                    .chunks(SEND_TEXT_CHARS_MAX)
                    .map(|c| c.iter().collect())
                    .collect()
            };
            let mut last = None;
            for (i, part) in parts.iter().enumerate() {
                // Each part has its own idempotency key, stable across retries.
                let key = if i == 0 {
                    message.outbox_id.clone()
                } else {
                    format!("{}#{i}", message.outbox_id)
                };
                let form = wire::send_form(
                    &message.address,
                    part,
                    &key,
                    &self.api_version,
                    self.token.expose(),
                );
                last = self.call("messages.send", &form).await?;
            }
            Ok(Delivered { external_id: last })
        })
    }
}

/// The callback route, with its own body limit, over `connector`.
pub fn routes<S: Clone + Send + Sync + 'static>(connector: Arc<VkConnector>) -> Router<S> {
    Router::new()
        .route(CALLBACK_PATH, post(callback))
        .layer(DefaultBodyLimit::max(EVENT_BYTES_MAX))
        .with_state(connector)
}

/// `POST /channels/vk/callback`: the confirmation string for `confirmation`; `403` for another
/// community or a wrong secret; `400` for a body that is not an event; `413` over
/// [`EVENT_BYTES_MAX`]; `503` while the inbox cannot store (VK sends it again); else `ok`.
async fn callback(State(c): State<Arc<VkConnector>>, body: Bytes) -> Response {
    let event = match wire::parse_event(&body) {
        Ok(e) => e,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    if event.group_id != c.group_id {
        return (StatusCode::FORBIDDEN, "events of another community").into_response();
    }
    if event.kind == "confirmation" {
        // Not a secret: VK shows it to the community's admins and asks for it back.
        return c.confirmation.clone().into_response();
    }
    let given = event.secret.as_deref().unwrap_or_default().as_bytes();
    if !bool::from(given.ct_eq(c.secret.expose().as_bytes())) {
        return (StatusCode::FORBIDDEN, "wrong or missing secret").into_response();
    }
    if event.kind == "message_new" {
        if let Err(e) = c.message_new(&event, server_kit::clock::now_ms()).await {
            tracing::warn!("vk: an event is not stored now (VK will retry): {e}");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "the inbox cannot store messages now",
            )
                .into_response();
        }
    }
    "ok".into_response()
}
