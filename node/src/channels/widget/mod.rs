//! The web widget (R01): the chat on the police web site, a small script
//! (`node/assets/widget/widget.js`) that talks to the node over a WebSocket at
//! `GET /channels/widget/ws`.
//!
//! A citizen is anonymous: the widget makes a random session id (128 bits, kept in the
//! browser's `localStorage`) and says it in `hello`; the session id is the conversation's
//! address. Each `message` frame becomes an [`IncomingMessage`] (channel `WebWidget`, external
//! id = the client's message id) handed to the [`Intake`]; the widget gets `ack` only after
//! the intake said `Ok` (the message is on disk), and sends again what was not acknowledged
//! when it reconnects (the intake stores a repeat once).
//!
//! Answers: [`WidgetChannel`] is the widget's [`ChannelSender`]. It pushes an answer to every
//! socket the session has open and reports it delivered when a page says `received`; with no
//! page open it answers [`SendError::Transient`], so the answer stays in the durable outbox and
//! goes when the citizen is back. A page that reconnects also gets the conversation so far in
//! `ready` (through [`WidgetHistory`]), so nothing is missed while the outbox waits to retry.
//!
//! Limits (each in [`WidgetSettings`], defaults from named constants): sockets in all, per
//! network source (IPv4 address or IPv6 /64) and per session; messages per minute per session
//! and per network source (token buckets, [`protocol::RateLimiter`]); the frame size
//! ([`protocol::FRAME_BYTES_MAX`]); the time to say `hello`.

mod history;
pub mod protocol;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures::future::BoxFuture;
use tokio::sync::{mpsc, oneshot};

use server_kit::clock::now_ms;
use server_kit::web::{client_ip, ApiError};
use sync::Channel;

use crate::calls::admission::source_key;
use crate::channels::{
    Accepted, ChannelSender, Delivered, Intake, IntakeError, OutgoingMessage, SendError,
};
pub use history::InboxHistory;
pub use protocol::{FromWidget, HistoryLine, RateLimiter, ToWidget, WidgetHistory, WidgetProblem};

/// The widget's WebSocket path.
pub const WIDGET_WS_PATH: &str = "/channels/widget/ws";
/// Widget sockets open at once on the node.
pub const WIDGET_SOCKETS_MAX: usize = 10_000;
/// Widget sockets open at once from one network source (an office behind one address).
pub const WIDGET_SOCKETS_PER_SOURCE_MAX: u32 = 50;
/// Sockets one session may hold (a citizen with the site open in a few tabs).
pub const WIDGET_SOCKETS_PER_SESSION_MAX: usize = 5;
/// Messages a minute from one session, on average.
pub const WIDGET_MESSAGES_PER_MIN_PER_SESSION: u32 = 20;
/// Messages a minute from one network source, on average.
pub const WIDGET_MESSAGES_PER_MIN_PER_SOURCE: u32 = 120;
/// Messages one session may send at once beyond the average (three quick lines and a photo).
pub const WIDGET_MESSAGES_BURST_PER_SESSION: u32 = 10;
/// Messages one network source may send at once beyond the average (an office, a carrier NAT).
pub const WIDGET_MESSAGES_BURST_PER_SOURCE: u32 = 60;
/// Time from the socket opening to the `hello` frame, ms.
pub const WIDGET_HELLO_TIMEOUT_MS: u64 = 10_000;
/// Time a page has to say `received` for a pushed answer before the outbox tries again, ms.
pub const WIDGET_ANSWER_ACK_TIMEOUT_MS: u64 = 10_000;
/// Answers waiting to be written to one socket.
pub const WIDGET_ANSWERS_QUEUED_PER_SOCKET_MAX: usize = 64;
/// Seconds the widget is told to wait when the node cannot store a message now.
pub const WIDGET_UNAVAILABLE_RETRY_S: u64 = 5;

/// WebSocket close code for a policy violation (RFC 6455).
const CLOSE_POLICY: u16 = 1008;

/// The widget's limits (tests shrink them).
#[derive(Debug, Clone)]
pub struct WidgetSettings {
    pub sockets_max: usize,
    pub sockets_per_source_max: u32,
    pub sockets_per_session_max: usize,
    pub messages_per_min_per_session: u32,
    pub messages_per_min_per_source: u32,
    pub messages_burst_per_session: u32,
    pub messages_burst_per_source: u32,
    pub hello_timeout_ms: u64,
    pub answer_ack_timeout_ms: u64,
    /// Reverse proxies whose `X-Forwarded-For` names the citizen's address.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The sites whose pages may open the widget (`Origin`, as `https://host[:port]`); empty:
    /// any page may.
    pub allowed_origins: Vec<String>,
}

impl Default for WidgetSettings {
    fn default() -> Self {
        WidgetSettings {
            sockets_max: WIDGET_SOCKETS_MAX,
            sockets_per_source_max: WIDGET_SOCKETS_PER_SOURCE_MAX,
            sockets_per_session_max: WIDGET_SOCKETS_PER_SESSION_MAX,
            messages_per_min_per_session: WIDGET_MESSAGES_PER_MIN_PER_SESSION,
            messages_per_min_per_source: WIDGET_MESSAGES_PER_MIN_PER_SOURCE,
            messages_burst_per_session: WIDGET_MESSAGES_BURST_PER_SESSION,
            messages_burst_per_source: WIDGET_MESSAGES_BURST_PER_SOURCE,
            hello_timeout_ms: WIDGET_HELLO_TIMEOUT_MS,
            answer_ack_timeout_ms: WIDGET_ANSWER_ACK_TIMEOUT_MS,
            trusted_proxies: Vec::new(),
            allowed_origins: Vec::new(),
        }
    }
}

/// `[widget]`: where the chat widget may be embedded (README, "The web widget").
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WidgetSection {
    /// The sites whose pages may open the widget's socket, as browsers send them in `Origin`
    /// (`https://police.gov.kz`, with the port when it is not the default). Empty: any site —
    /// a demo node; a region lists its own sites so that no other page carries its chat.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
}

impl WidgetSection {
    /// The origins, normalised (lower case, no trailing slash); an entry that is not
    /// `http(s)://host[:port]` is named.
    pub fn origins(&self) -> Result<Vec<String>, String> {
        self.allowed_origins
            .iter()
            .map(|o| {
                let norm = o.trim().trim_end_matches('/').to_ascii_lowercase();
                let host = norm
                    .strip_prefix("https://")
                    .or_else(|| norm.strip_prefix("http://"));
                match host {
                    Some(h) if !h.is_empty() && !h.contains(['/', '?', '#', ' ', '@']) => Ok(norm),
                    _ => Err(format!(
                        "widget.allowed_origins: {o:?} is not an origin such as https://police.gov.kz"
                    )),
                }
            })
            .collect()
    }
}

/// Whether a page from `origin` (the request's `Origin` header) may open the widget.
pub fn origin_allowed(allowed: &[String], origin: Option<&str>) -> bool {
    allowed.is_empty()
        || origin.is_some_and(|o| {
            let o = o.trim().trim_end_matches('/').to_ascii_lowercase();
            allowed.contains(&o)
        })
}

/// An answer on its way to one socket.
#[derive(Debug, Clone)]
struct Push {
    id: String,
    text: String,
    at_ms: i64,
}

struct Socket {
    id: u64,
    tx: mpsc::Sender<Push>,
}

#[derive(Default)]
struct Shared {
    open: usize,
    per_source: HashMap<IpAddr, u32>,
    sessions: HashMap<String, Vec<Socket>>,
    /// Outbox id -> the senders waiting for a page to say `received`.
    waiting: HashMap<String, Vec<oneshot::Sender<()>>>,
    next_socket: u64,
}

/// The widget connector: the WebSocket handler's state and the widget's [`ChannelSender`].
pub struct WidgetChannel {
    intake: Arc<dyn Intake>,
    history: Option<Arc<dyn WidgetHistory>>,
    settings: WidgetSettings,
    shared: Mutex<Shared>,
    session_rate: Mutex<RateLimiter<String>>,
    source_rate: Mutex<RateLimiter<IpAddr>>,
    /// Told the session id when a page has its history (`ready`): the outbox tries that
    /// session's queued answers now instead of at the end of their back-off.
    on_connect: std::sync::OnceLock<ConnectHook>,
}

/// What [`WidgetChannel::on_connect`] runs.
pub type ConnectHook = Box<dyn Fn(&str) + Send + Sync>;

impl WidgetChannel {
    pub fn new(
        intake: Arc<dyn Intake>,
        history: Option<Arc<dyn WidgetHistory>>,
        settings: WidgetSettings,
    ) -> Arc<Self> {
        Arc::new(WidgetChannel {
            intake,
            history,
            session_rate: Mutex::new(RateLimiter::new(
                settings.messages_per_min_per_session,
                settings.messages_burst_per_session,
            )),
            source_rate: Mutex::new(RateLimiter::new(
                settings.messages_per_min_per_source,
                settings.messages_burst_per_source,
            )),
            settings,
            shared: Mutex::new(Shared::default()),
            on_connect: std::sync::OnceLock::new(),
        })
    }

    /// Sets what runs when a page of a session connects (once; a second call is ignored).
    pub fn on_connect(&self, hook: ConnectHook) {
        let _ = self.on_connect.set(hook);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Widget sockets open now.
    pub fn open_sockets(&self) -> usize {
        self.lock().open
    }

    /// The WebSocket route, with this connector as its state (merged into any router).
    pub fn routes<S: Clone + Send + Sync + 'static>(self: &Arc<Self>) -> Router<S> {
        Router::new().route(WIDGET_WS_PATH, get(widget_ws).with_state(self.clone()))
    }

    /// Counts a socket from `source` in, or says why not.
    fn admit(self: &Arc<Self>, source: IpAddr) -> Result<SocketSlot, ApiError> {
        let mut s = self.lock();
        if s.open >= self.settings.sockets_max {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "widget_busy",
                format!(
                    "the node already holds {} widget connections; try again",
                    self.settings.sockets_max
                ),
            ));
        }
        let n = s.per_source.entry(source).or_insert(0);
        if *n >= self.settings.sockets_per_source_max {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "widget_too_many_sockets",
                format!(
                    "{} widget connections from your network are open already",
                    self.settings.sockets_per_source_max
                ),
            ));
        }
        *n += 1;
        s.open += 1;
        Ok(SocketSlot {
            widget: self.clone(),
            source,
            session: None,
        })
    }

    fn check_rate(&self, session: &str, source: IpAddr, now: i64) -> Result<(), u64> {
        let by_session = self
            .session_rate
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .check(&session.to_string(), now);
        by_session?;
        self.source_rate
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .check(&source, now)
    }

    fn received(&self, outbox_id: &str) {
        if let Some(waiters) = self.lock().waiting.remove(outbox_id) {
            for w in waiters {
                let _ = w.send(());
            }
        }
    }
}

/// A counted socket: released (and its session's entry removed) when dropped, whatever way the
/// connection ends.
struct SocketSlot {
    widget: Arc<WidgetChannel>,
    source: IpAddr,
    session: Option<(String, u64)>,
}

impl SocketSlot {
    /// Registers the socket under `session`, or says the session has too many.
    fn join(&mut self, session: &str, tx: mpsc::Sender<Push>) -> bool {
        let mut s = self.widget.lock();
        let id = s.next_socket;
        let max = self.widget.settings.sockets_per_session_max;
        let list = s.sessions.entry(session.to_string()).or_default();
        if list.len() >= max {
            return false;
        }
        list.push(Socket { id, tx });
        s.next_socket += 1;
        self.session = Some((session.to_string(), id));
        true
    }
}

impl Drop for SocketSlot {
    fn drop(&mut self) {
        let mut s = self.widget.lock();
        s.open = s.open.saturating_sub(1);
        if let Some(n) = s.per_source.get_mut(&self.source) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                s.per_source.remove(&self.source);
            }
        }
        if let Some((session, id)) = self.session.take() {
            if let Some(list) = s.sessions.get_mut(&session) {
                list.retain(|x| x.id != id);
                if list.is_empty() {
                    s.sessions.remove(&session);
                }
            }
        }
    }
}

impl ChannelSender for WidgetChannel {
    fn channel(&self) -> Channel {
        Channel::WebWidget
    }

    fn send<'a>(
        &'a self,
        message: &'a OutgoingMessage,
    ) -> BoxFuture<'a, Result<Delivered, SendError>> {
        Box::pin(async move {
            let push = Push {
                id: message.outbox_id.clone(),
                text: message.text.clone(),
                at_ms: now_ms(),
            };
            let seen = {
                let mut s = self.lock();
                let sockets = s.sessions.get(&message.address);
                let pushed = sockets.map_or(0, |list| {
                    list.iter()
                        .filter(|x| x.tx.try_send(push.clone()).is_ok())
                        .count()
                });
                if pushed == 0 {
                    return Err(SendError::Transient {
                        reason: "the citizen's widget is not open".into(),
                        retry_after_ms: None,
                    });
                }
                let (tx, rx) = oneshot::channel();
                let waiters = s.waiting.entry(message.outbox_id.clone()).or_default();
                waiters.retain(|w| !w.is_closed());
                waiters.push(tx);
                rx
            };
            let wait = Duration::from_millis(self.settings.answer_ack_timeout_ms);
            match tokio::time::timeout(wait, seen).await {
                Ok(Ok(())) => Ok(Delivered { external_id: None }),
                _ => {
                    let mut s = self.lock();
                    if let Some(w) = s.waiting.get_mut(&message.outbox_id) {
                        w.retain(|w| !w.is_closed());
                        if w.is_empty() {
                            s.waiting.remove(&message.outbox_id);
                        }
                    }
                    Err(SendError::Transient {
                        reason: "the citizen's widget did not confirm the answer".into(),
                        retry_after_ms: None,
                    })
                }
            }
        })
    }
}

/// `GET /channels/widget/ws`: the socket limits are checked before the upgrade.
async fn widget_ws(
    State(widget): State<Arc<WidgetChannel>>,
    parts: Parts,
    ws: WebSocketUpgrade,
) -> Response {
    let origin = parts
        .headers
        .get(axum::http::header::ORIGIN)
        .and_then(|v| v.to_str().ok());
    if !origin_allowed(&widget.settings.allowed_origins, origin) {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "widget_origin_refused",
            format!(
                "the chat is not offered on this site ({})",
                origin.unwrap_or("no Origin")
            ),
        )
        .into_response();
    }
    let source = source_key(client_ip(&parts, &widget.settings.trusted_proxies));
    let slot = match widget.admit(source) {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    ws.max_message_size(protocol::FRAME_BYTES_MAX)
        .max_frame_size(protocol::FRAME_BYTES_MAX)
        .on_upgrade(move |socket| run(socket, widget, slot))
}

fn frame(msg: &ToWidget<'_>) -> Message {
    Message::Text(msg.to_json().into())
}

async fn close_with(ws: &mut WebSocket, code: &str) {
    let _ = ws.send(frame(&ToWidget::Error { code })).await;
    let _ = ws
        .send(Message::Close(Some(CloseFrame {
            code: CLOSE_POLICY,
            reason: code.to_string().into(),
        })))
        .await;
}

/// Waits for `hello`; `None` when the socket was closed (told why where it helps).
async fn hello(ws: &mut WebSocket, timeout_ms: u64) -> Option<(String, Option<String>)> {
    let first = tokio::time::timeout(Duration::from_millis(timeout_ms), ws.recv()).await;
    let text = match first {
        Err(_) => {
            close_with(ws, "widget_hello_timeout").await;
            return None;
        }
        Ok(None) | Ok(Some(Err(_))) | Ok(Some(Ok(Message::Close(_)))) => return None,
        Ok(Some(Ok(Message::Text(t)))) => t,
        Ok(Some(Ok(_))) => {
            close_with(ws, WidgetProblem::HelloExpected.code()).await;
            return None;
        }
    };
    let problem = match protocol::parse(text.as_str()) {
        Ok(FromWidget::Hello { session, lang }) => match protocol::check_session(&session) {
            Ok(()) => return Some((session, lang)),
            Err(p) => p,
        },
        Ok(_) => WidgetProblem::HelloExpected,
        Err(p) => p,
    };
    close_with(ws, problem.code()).await;
    None
}

async fn run(mut ws: WebSocket, widget: Arc<WidgetChannel>, mut slot: SocketSlot) {
    let Some((session, _lang)) = hello(&mut ws, widget.settings.hello_timeout_ms).await else {
        return;
    };
    let (tx, mut rx) = mpsc::channel(WIDGET_ANSWERS_QUEUED_PER_SOCKET_MAX);
    if !slot.join(&session, tx) {
        close_with(&mut ws, "widget_too_many_sockets").await;
        return;
    }
    let history = match &widget.history {
        Some(h) => h.history(&session).await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "the widget's history cannot be read");
            Vec::new()
        }),
        None => Vec::new(),
    };
    let ready = ToWidget::Ready {
        session: &session,
        history: &history,
    };
    if ws.send(frame(&ready)).await.is_err() {
        return;
    }
    if let Some(hook) = widget.on_connect.get() {
        hook(&session);
    }
    loop {
        tokio::select! {
            push = rx.recv() => {
                let Some(p) = push else { break };
                let answer = ToWidget::Answer { id: &p.id, text: &p.text, at_ms: p.at_ms };
                if ws.send(frame(&answer)).await.is_err() { break; }
            }
            msg = ws.recv() => {
                let text = match msg {
                    None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break,
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(Message::Binary(_))) => {
                        close_with(&mut ws, "widget_bad_frame").await;
                        break;
                    }
                    Some(Ok(Message::Text(t))) => t,
                };
                let reply = handle(&widget, &session, slot.source, text.as_str()).await;
                if let Some(reply) = reply {
                    if ws.send(Message::Text(reply.into())).await.is_err() { break; }
                }
            }
        }
    }
}

/// One frame after `hello`: the answer to send back, if any.
async fn handle(
    widget: &WidgetChannel,
    session: &str,
    source: IpAddr,
    text: &str,
) -> Option<String> {
    let (id, text, location, photos, name) = match protocol::parse(text) {
        Ok(FromWidget::Received { id }) => {
            widget.received(&id);
            return None;
        }
        Ok(FromWidget::Hello { .. }) => {
            return Some(
                ToWidget::Error {
                    code: "widget_bad_frame",
                }
                .to_json(),
            );
        }
        Ok(FromWidget::Message {
            id,
            text,
            location,
            photos,
            name,
        }) => (id, text, location, photos, name),
        Err(p) => return Some(ToWidget::Error { code: p.code() }.to_json()),
    };
    let refused = |code: &str, retry_after_s: Option<u64>| {
        Some(
            ToWidget::Refused {
                id: &id,
                code,
                retry_after_s,
            }
            .to_json(),
        )
    };
    let now = now_ms();
    let incoming =
        match protocol::to_incoming(session, &id, &text, location, &photos, name.as_deref(), now) {
            Ok(m) => m,
            Err(p) => return refused(p.code(), None),
        };
    if let Err(retry_after_s) = widget.check_rate(session, source, now) {
        return refused("widget_rate_limited", Some(retry_after_s));
    }
    match widget.intake.receive(incoming).await {
        Ok(Accepted::Stored { .. }) => Some(
            ToWidget::Ack {
                id: &id,
                duplicate: false,
            }
            .to_json(),
        ),
        Ok(Accepted::Duplicate { .. }) => Some(
            ToWidget::Ack {
                id: &id,
                duplicate: true,
            }
            .to_json(),
        ),
        Err(IntakeError::Invalid { code, detail }) => {
            tracing::info!(code, detail, "a widget message was refused");
            refused(code, None)
        }
        Err(IntakeError::RateLimited { retry_after_s }) => {
            refused("widget_rate_limited", Some(retry_after_s))
        }
        Err(IntakeError::Unavailable(e)) => {
            tracing::warn!(error = %e, "a widget message cannot be stored now");
            refused("widget_unavailable", Some(WIDGET_UNAVAILABLE_RETRY_S))
        }
    }
}
