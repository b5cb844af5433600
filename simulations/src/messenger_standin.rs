//! TEST STAND-IN for `api.telegram.org` and `api.vk.com` (this machine has no internet), used by
//! `bench channels` only: an axum server on loopback that answers the methods the node's
//! connectors call, in the vendors' documented wire format — the Bot API's `setWebhook`,
//! `deleteWebhook` and `sendMessage` (`{"ok":true,"result":…}`, errors as
//! `{"ok":false,"error_code":…,"description":…}`), VK's `messages.send` and `users.get`
//! (form-encoded, `{"response":…}`) — and records every answer the node sent. It can be cut off
//! ([`MessengerStandIn::set_online`]`(false)`: the sends get `502`/`503` as from a gateway that
//! cannot reach the vendor), as the region's link to the internet can be.
//!
//! The node's own tests check the connectors against the vendors' published examples
//! (`node/tests/channels_tgvk.rs`); this stand-in only has to speak the same format to carry
//! load.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use axum::body::Bytes;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

/// The bot token the simulated node is configured with.
pub const TELEGRAM_TOKEN: &str = "7000000001:AAsimulatedBotTokenForTheBenchOnly00";
/// The VK community's access token, secret and confirmation string.
pub const VK_TOKEN: &str = "vk1.a.simulated-community-token";
pub const VK_SECRET: &str = "simVkSecret0123456789";
pub const VK_CONFIRMATION: &str = "c0nf1rm5";
pub const VK_GROUP_ID: i64 = 1;

/// Which vendor an answer went through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Vendor {
    Telegram,
    Vk,
}

/// One answer the node sent: to whom (Telegram `chat_id`, VK `peer_id`) and its text.
#[derive(Debug, Clone)]
pub struct Sent {
    pub to: String,
    pub text: String,
}

#[derive(Default)]
struct Shared {
    offline: AtomicBool,
    /// The `secret_token` the node gave `setWebhook`.
    webhook_secret: Mutex<Option<String>>,
    sent: Mutex<HashMap<Vendor, Vec<Sent>>>,
    /// Sends refused while cut off.
    refused: AtomicI64,
    next_id: AtomicI64,
}

pub struct MessengerStandIn {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl MessengerStandIn {
    pub async fn start() -> anyhow::Result<Arc<MessengerStandIn>> {
        let shared = Arc::new(Shared::default());
        let app = Router::new()
            .route("/{bot}/{method}", post(telegram_method))
            .route("/method/messages.send", post(vk_send))
            .route("/method/users.get", post(vk_users_get))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Arc::new(MessengerStandIn { addr, shared }))
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Cuts the vendors off (`false`) or brings them back.
    pub fn set_online(&self, online: bool) {
        self.shared.offline.store(!online, Ordering::SeqCst);
    }

    pub fn webhook_secret(&self) -> Option<String> {
        lock(&self.shared.webhook_secret).clone()
    }

    /// Reads what the vendors took.
    pub fn with_sent<T>(&self, f: impl FnOnce(&HashMap<Vendor, Vec<Sent>>) -> T) -> T {
        f(&lock(&self.shared.sent))
    }

    /// Answers taken, all vendors.
    pub fn sent_total(&self) -> usize {
        lock(&self.shared.sent).values().map(Vec::len).sum()
    }

    pub fn refused(&self) -> i64 {
        self.shared.refused.load(Ordering::SeqCst)
    }
}

async fn telegram_method(
    State(s): State<Arc<Shared>>,
    Path((bot, method)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let error = |status: StatusCode, description: &str| {
        (
            status,
            Json(json!({"ok": false, "error_code": status.as_u16(), "description": description})),
        )
            .into_response()
    };
    if bot != format!("bot{TELEGRAM_TOKEN}") {
        return error(StatusCode::UNAUTHORIZED, "Unauthorized");
    }
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "Bad Request: can't parse JSON");
    };
    let ok = |result: Value| Json(json!({"ok": true, "result": result})).into_response();
    match method.as_str() {
        "setWebhook" => {
            *lock(&s.webhook_secret) = body["secret_token"].as_str().map(str::to_string);
            ok(json!(true))
        }
        "deleteWebhook" => ok(json!(true)),
        "sendMessage" => {
            if s.offline.load(Ordering::SeqCst) {
                s.refused.fetch_add(1, Ordering::SeqCst);
                return error(StatusCode::BAD_GATEWAY, "Bad Gateway");
            }
            let (Some(chat), Some(text)) = (body.get("chat_id"), body["text"].as_str()) else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "Bad Request: message text is empty",
                );
            };
            let to = chat
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| chat.to_string());
            lock(&s.sent)
                .entry(Vendor::Telegram)
                .or_default()
                .push(Sent {
                    to,
                    text: text.to_string(),
                });
            let id = s.next_id.fetch_add(1, Ordering::SeqCst) + 1;
            ok(json!({
                "message_id": id,
                "date": 1_764_900_000,
                "chat": {"id": chat, "type": "private"},
                "text": text
            }))
        }
        _ => error(StatusCode::NOT_FOUND, "Not Found"),
    }
}

async fn vk_send(
    State(s): State<Arc<Shared>>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if s.offline.load(Ordering::SeqCst) {
        s.refused.fetch_add(1, Ordering::SeqCst);
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    if form.get("access_token").map(String::as_str) != Some(VK_TOKEN) {
        return Json(json!({"error": {"error_code": 5, "error_msg": "User authorization failed: invalid access_token (4)."}})).into_response();
    }
    let (Some(to), Some(text)) = (form.get("peer_id"), form.get("message")) else {
        return Json(json!({"error": {"error_code": 100, "error_msg": "One of the parameters specified was missing or invalid: peer_id is undefined"}})).into_response();
    };
    lock(&s.sent).entry(Vendor::Vk).or_default().push(Sent {
        to: to.clone(),
        text: text.clone(),
    });
    let id = s.next_id.fetch_add(1, Ordering::SeqCst) + 1;
    Json(json!({ "response": id })).into_response()
}

async fn vk_users_get(Form(form): Form<HashMap<String, String>>) -> Response {
    if form.get("access_token").map(String::as_str) != Some(VK_TOKEN) {
        return Json(json!({"error": {"error_code": 5, "error_msg": "User authorization failed: invalid access_token (4)."}})).into_response();
    }
    let id: i64 = form
        .get("user_ids")
        .and_then(|v| v.parse().ok())
        .unwrap_or_default();
    Json(
        json!({"response": [{"id": id, "first_name": "Азамат", "last_name": format!("Тест{id}"),
        "can_access_closed": true, "is_closed": false}]}),
    )
    .into_response()
}
