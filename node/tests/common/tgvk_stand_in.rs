//! TEST STAND-IN for api.telegram.org and api.vk.com, shared by the channel tests and the
//! meeting notice tests (this machine has no internet).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

pub const TOKEN: &str = "110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw";
pub const VK_TOKEN: &str = "vk1.a.community-token";

/// One request the stand-in received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub path: String,
    pub body: Value,
}

/// TEST STAND-IN for api.telegram.org and api.vk.com (this machine has no internet): an axum
/// server on loopback that answers the Bot API methods and the VK method the connectors call,
/// in the vendors' documented wire format (`{"ok":true,"result":…}` / `{"response":…}` and their
/// error shapes), serves files and photos, and records every request. Never used outside tests.
#[derive(Default)]
pub struct StandIn {
    pub requests: Mutex<Vec<Recorded>>,
    /// Updates `getUpdates` returns (it waits for one up to the poll's timeout, like Telegram).
    pub updates: Mutex<VecDeque<Value>>,
    pub new_update: tokio::sync::Notify,
    /// The next `sendMessage` / `messages.send` answers this (status, body) instead.
    pub fail_next_send: Mutex<Option<(u16, Value)>>,
    pub next_message_id: AtomicI64,
    /// Served at `/file/bot<token>/documents/file_1.pdf` and `/photo-z.jpg`.
    pub file_bytes: Mutex<Vec<u8>>,
    /// `wall.post`'s posts: (guid, post id).
    pub wall_posts: Mutex<Vec<(String, i64)>>,
}

impl StandIn {
    pub fn recorded(&self, path_end: &str) -> Vec<Recorded> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path.ends_with(path_end))
            .cloned()
            .collect()
    }
}

pub async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

pub async fn start_stand_in() -> (Arc<StandIn>, SocketAddr) {
    let s = Arc::new(StandIn::default());
    *s.file_bytes.lock().unwrap() = b"%PDF-1.4 test file".to_vec();
    let app = Router::new()
        .route("/{bot}/{method}", post(telegram_method))
        .route("/file/{bot}/{dir}/{name}", get(telegram_file))
        .route("/method/messages.send", post(vk_send))
        .route("/method/wall.post", post(vk_wall_post))
        .route("/method/users.get", post(vk_users_get))
        .route("/{photo}", get(photo))
        .with_state(s.clone());
    (s.clone(), serve(app).await)
}

fn record(s: &StandIn, path: String, body: Value) {
    s.requests.lock().unwrap().push(Recorded { path, body });
}

async fn telegram_method(
    State(s): State<Arc<StandIn>>,
    Path((bot, method)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    record(&s, format!("/{bot}/{method}"), body.clone());
    if bot != format!("bot{TOKEN}") {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"ok": false, "error_code": 401, "description": "Unauthorized"})),
        )
            .into_response();
    }
    let ok = |result: Value| axum::Json(json!({"ok": true, "result": result})).into_response();
    match method.as_str() {
        "setWebhook" | "deleteWebhook" => ok(json!(true)),
        "getUpdates" => {
            let timeout = body["timeout"].as_u64().unwrap_or(0);
            let notified = s.new_update.notified();
            if s.updates.lock().unwrap().is_empty() {
                let _ = tokio::time::timeout(Duration::from_secs(timeout), notified).await;
            }
            let batch: Vec<Value> = s.updates.lock().unwrap().drain(..).collect();
            ok(Value::Array(batch))
        }
        "getFile" => ok(json!({
            "file_id": body["file_id"],
            "file_unique_id": "AgADbX",
            "file_size": s.file_bytes.lock().unwrap().len(),
            "file_path": "documents/file_1.pdf"
        })),
        "sendMessage" => {
            if let Some((status, answer)) = s.fail_next_send.lock().unwrap().take() {
                return (StatusCode::from_u16(status).unwrap(), axum::Json(answer)).into_response();
            }
            let id = s.next_message_id.fetch_add(1, Ordering::SeqCst) + 1;
            ok(json!({
                "message_id": id,
                "date": 1441645600,
                "chat": {"id": body["chat_id"], "type": "private"},
                "text": body["text"]
            }))
        }
        _ => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"ok": false, "error_code": 404, "description": "Not Found"})),
        )
            .into_response(),
    }
}

async fn telegram_file(
    State(s): State<Arc<StandIn>>,
    Path((bot, dir, name)): Path<(String, String, String)>,
) -> Response {
    record(&s, format!("/file/{bot}/{dir}/{name}"), Value::Null);
    if bot != format!("bot{TOKEN}") {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    s.file_bytes.lock().unwrap().clone().into_response()
}

async fn photo(State(s): State<Arc<StandIn>>, Path(name): Path<String>) -> Response {
    record(&s, format!("/{name}"), Value::Null);
    s.file_bytes.lock().unwrap().clone().into_response()
}

async fn vk_send(State(s): State<Arc<StandIn>>, body: Bytes) -> Response {
    let form: Vec<(String, String)> = url_pairs(&body);
    let as_json = Value::Object(
        form.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    );
    record(&s, "/method/messages.send".into(), as_json);
    if let Some((status, answer)) = s.fail_next_send.lock().unwrap().take() {
        return (StatusCode::from_u16(status).unwrap(), axum::Json(answer)).into_response();
    }
    let id = s.next_message_id.fetch_add(1, Ordering::SeqCst) + 1;
    axum::Json(json!({ "response": id })).into_response()
}

/// `wall.post`: a post on a wall (`owner_id` minus a community's id), answered
/// `{"response":{"post_id":…}}`; the same `guid` again gives the same post, as VK does.
async fn vk_wall_post(State(s): State<Arc<StandIn>>, body: Bytes) -> Response {
    let form: Vec<(String, String)> = url_pairs(&body);
    let as_json = Value::Object(
        form.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    );
    record(&s, "/method/wall.post".into(), as_json.clone());
    if as_json["access_token"] != VK_TOKEN {
        return axum::Json(json!({"error": {"error_code": 5, "error_msg": "User authorization failed: invalid access_token (4)."}})).into_response();
    }
    if let Some((status, answer)) = s.fail_next_send.lock().unwrap().take() {
        return (StatusCode::from_u16(status).unwrap(), axum::Json(answer)).into_response();
    }
    let mut posts = s.wall_posts.lock().unwrap();
    let guid = as_json["guid"].as_str().unwrap_or_default().to_string();
    let id = match posts.iter().find(|(g, _)| !guid.is_empty() && *g == guid) {
        Some((_, id)) => *id,
        None => {
            let id = s.next_message_id.fetch_add(1, Ordering::SeqCst) + 1;
            posts.push((guid, id));
            id
        }
    };
    axum::Json(json!({ "response": { "post_id": id } })).into_response()
}

async fn vk_users_get(State(s): State<Arc<StandIn>>, body: Bytes) -> Response {
    let form: Vec<(String, String)> = url_pairs(&body);
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    record(
        &s,
        "/method/users.get".into(),
        json!({"user_ids": get("user_ids"), "access_token": get("access_token")}),
    );
    if get("access_token").as_deref() != Some(VK_TOKEN) {
        return axum::Json(json!({"error": {"error_code": 5, "error_msg": "User authorization failed: invalid access_token (4)."}})).into_response();
    }
    let id: i64 = get("user_ids").unwrap().parse().unwrap();
    axum::Json(
        json!({"response": [{"id": id, "first_name": "Айгерим", "last_name": "Серікова",
        "can_access_closed": true, "is_closed": false}]}),
    )
    .into_response()
}

/// `application/x-www-form-urlencoded` pairs, decoded.
pub fn url_pairs(body: &[u8]) -> Vec<(String, String)> {
    fn decode(s: &str) -> String {
        let bytes = s.replace('+', " ").into_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' && i + 2 < bytes.len() {
                let h = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(h, 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }
    std::str::from_utf8(body)
        .unwrap()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}
