//! Citizen signalling over a WebSocket (`GET /citizen/v1/ws`): what the "102" app, the SOS
//! button and "Закон и Порядок" speak to the node.
//!
//! Messages are JSON objects with a `type`:
//! - from the app: `call` (first, within `call_setup_timeout_ms`: `call` = channel, caller,
//!   app version, video, location; `sdp` = the offer), `ice` (a trickled candidate),
//!   `location` (a new fix during the call), `hangup`;
//! - from the node: `ice_config` (first, on connect: `ice_servers` with fresh TURN credentials
//!   and `ice_transport_policy`, for the app's `RTCPeerConnection`), `answer` (call id and SDP answer; the call now rings), `warning` (e.g. an
//!   impossible location was dropped), `answered`, `transferring`, `ended`, `error` (then the
//!   socket closes).
//!
//! Limits: message size (`citizen_message_bytes_max`), a message rate
//! (`citizen_messages_per_s`, burst twice that), open sockets (`citizen_sockets_max` in all,
//! `source_sockets_max` per network source, refused with HTTP 429 before the upgrade) and the
//! per-source call limits of [`crate::calls::admission`]. Breaking one gets an `error` naming it and a
//! clean close; the call, if any, ends.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use server_kit::clock::now_ms;
use server_kit::web::{ApiError, ClientIp};

use super::state::SharedState;
use crate::calls::ice::IceConfig;
use crate::calls::{
    queue::LocationProblem, CallOffer, CallService, CallServiceError, CallerLocation,
};
use crate::calls::{EndReason, ToCitizen};

/// WebSocket close code for a policy violation (RFC 6455).
const CLOSE_POLICY: u16 = 1008;
/// WebSocket close code for a normal close.
const CLOSE_NORMAL: u16 = 1000;

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum FromCitizen {
    Call { call: CallOffer, sdp: String },
    Ice { candidate: serde_json::Value },
    Location { location: CallerLocation },
    Hangup,
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ToApp<'a> {
    /// First, on connect: the STUN/TURN servers for the app's `RTCPeerConnection`.
    IceConfig {
        #[serde(flatten)]
        config: &'a IceConfig,
    },
    Answer {
        call_id: &'a str,
        sdp: &'a str,
    },
    Warning {
        code: &'a str,
        message: String,
    },
    Error {
        code: &'a str,
        message: String,
    },
    #[serde(untagged)]
    Event(&'a ToCitizen),
}

/// Token bucket for the message rate.
struct Rate {
    per_s: f64,
    tokens: f64,
    at: Instant,
}

impl Rate {
    fn new(per_s: u32) -> Self {
        Rate {
            per_s: f64::from(per_s),
            tokens: f64::from(per_s) * 2.0,
            at: Instant::now(),
        }
    }
    fn allow(&mut self) -> bool {
        let now = Instant::now();
        let dt = now.duration_since(self.at).as_secs_f64();
        self.at = now;
        self.tokens = (self.tokens + dt * self.per_s).min(self.per_s * 2.0);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

fn text(msg: &ToApp<'_>) -> Message {
    Message::Text(serde_json::to_string(msg).unwrap_or_default().into())
}

async fn close_with(ws: &mut WebSocket, code: &str, message: String, close: u16) {
    let _ = ws.send(text(&ToApp::Error { code, message })).await;
    let _ = ws
        .send(Message::Close(Some(CloseFrame {
            code: close,
            reason: code.to_string().into(),
        })))
        .await;
}

/// `GET /citizen/v1/ws`: upgrade, with the socket and message limits in force.
pub async fn citizen_ws(
    State(s): State<SharedState>,
    ClientIp(source): ClientIp,
    ws: WebSocketUpgrade,
) -> Response {
    let calls = s.calls.clone();
    if let Err(refusal) = calls.open_socket(source, now_ms()) {
        return ApiError::new(
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            refusal.code(),
            refusal.to_string(),
        )
        .into_response();
    }
    let max = calls.settings().citizen_sockets_max;
    if calls.citizen_sockets.fetch_add(1, Ordering::SeqCst) >= max {
        calls.citizen_sockets.fetch_sub(1, Ordering::SeqCst);
        calls.close_socket(source, now_ms());
        return ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "too_many_sockets",
            format!("the node already holds {max} citizen connections (calls.citizen_sockets_max); try again"),
        )
        .into_response();
    }
    let bytes_max = calls.settings().citizen_message_bytes_max;
    ws.max_message_size(bytes_max)
        .max_frame_size(bytes_max)
        .on_upgrade(move |socket| async move {
            run(socket, calls.clone(), source).await;
            calls.citizen_sockets.fetch_sub(1, Ordering::SeqCst);
            calls.close_socket(source, now_ms());
        })
}

fn parse(msg: &str) -> Result<FromCitizen, String> {
    let de = &mut serde_json::Deserializer::from_str(msg);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            format!("message: {}", e.into_inner())
        } else {
            format!("message field {path}: {}", e.into_inner())
        }
    })
}

fn error_code(e: &CallServiceError) -> &'static str {
    match e {
        CallServiceError::Call(c) => c.code(),
        CallServiceError::Media(m) => super::calls::media_error_code(m),
        CallServiceError::Refused(r) => r.code(),
        _ => "node_error",
    }
}

fn location_warning(p: &LocationProblem) -> ToApp<'static> {
    ToApp::Warning {
        code: p.code(),
        message: format!("{p}; the operator will ask for the address"),
    }
}

async fn run(mut ws: WebSocket, calls: Arc<CallService>, source: std::net::IpAddr) {
    let settings = calls.settings().clone();
    let mut rate = Rate::new(settings.citizen_messages_per_s);
    let ice = calls.ice_config("citizen", now_ms());
    if ws
        .send(text(&ToApp::IceConfig { config: &ice }))
        .await
        .is_err()
    {
        return;
    }
    // 1. The call itself, within the setup time.
    let setup = Duration::from_millis(settings.call_setup_timeout_ms);
    let first = match tokio::time::timeout(setup, ws.recv()).await {
        Err(_) => {
            close_with(
                &mut ws,
                "call_setup_timeout",
                format!(
                    "no call message within {} ms",
                    settings.call_setup_timeout_ms
                ),
                CLOSE_POLICY,
            )
            .await;
            return;
        }
        Ok(None) | Ok(Some(Err(_))) => return,
        Ok(Some(Ok(m))) => m,
    };
    let (offer, sdp) = match first {
        Message::Text(t) => match parse(t.as_str()) {
            Ok(FromCitizen::Call { call, sdp }) => (call, sdp),
            Ok(_) => {
                close_with(
                    &mut ws,
                    "call_expected",
                    "the first message must be a call".into(),
                    CLOSE_POLICY,
                )
                .await;
                return;
            }
            Err(m) => {
                close_with(&mut ws, "bad_message", m, CLOSE_POLICY).await;
                return;
            }
        },
        Message::Close(_) => return,
        _ => {
            close_with(
                &mut ws,
                "bad_message",
                "messages are JSON text".into(),
                CLOSE_POLICY,
            )
            .await;
            return;
        }
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (call, answer, problem) = match calls.ring(offer, &sdp, tx, source, now_ms()).await {
        Ok(r) => r,
        Err(e) => {
            tracing::info!(error = %e, "citizen call refused");
            close_with(&mut ws, error_code(&e), e.to_string(), CLOSE_POLICY).await;
            return;
        }
    };
    let id = call.id.clone();
    let mut sent = ws
        .send(text(&ToApp::Answer {
            call_id: &id,
            sdp: &answer,
        }))
        .await
        .is_ok();
    if let Some(p) = &problem {
        sent &= ws.send(text(&location_warning(p))).await.is_ok();
    }
    // 2. The call goes on until someone hangs up or the socket goes.
    let mut reason = EndReason::ConnectionLost;
    loop {
        if !sent {
            break;
        }
        tokio::select! {
            event = rx.recv() => {
                let Some(event) = event else { break };
                let ended = matches!(event, ToCitizen::Ended { .. });
                if ws.send(text(&ToApp::Event(&event))).await.is_err() { break; }
                if ended {
                    let _ = ws.send(Message::Close(Some(CloseFrame { code: CLOSE_NORMAL, reason: "ended".into() }))).await;
                    return;
                }
            }
            msg = ws.recv() => {
                let msg = match msg {
                    None | Some(Err(_)) => break,
                    Some(Ok(m)) => m,
                };
                let t = match msg {
                    Message::Text(t) => t,
                    Message::Close(_) => { reason = EndReason::CitizenHungUp; break; }
                    Message::Ping(_) | Message::Pong(_) => continue,
                    Message::Binary(_) => {
                        close_with(&mut ws, "bad_message", "messages are JSON text".into(), CLOSE_POLICY).await;
                        break;
                    }
                };
                if !rate.allow() {
                    close_with(&mut ws, "rate_limited", format!(
                        "more than {} messages per second (calls.citizen_messages_per_s)",
                        settings.citizen_messages_per_s), CLOSE_POLICY).await;
                    break;
                }
                match parse(t.as_str()) {
                    Ok(FromCitizen::Hangup) => { reason = EndReason::CitizenHungUp; break; }
                    Ok(FromCitizen::Ice { candidate }) => {
                        if let Err(e) = calls.media().add_remote_candidate(&id, media::Leg::Citizen, &candidate.to_string()).await {
                            let _ = ws.send(text(&ToApp::Warning { code: "bad_candidate", message: e.to_string() })).await;
                        }
                    }
                    Ok(FromCitizen::Location { location }) => match calls.update_location(&id, location, now_ms()) {
                        Ok(None) => {}
                        Ok(Some(p)) => { let _ = ws.send(text(&location_warning(&p))).await; }
                        Err(_) => break,
                    },
                    Ok(FromCitizen::Call { .. }) => {
                        let _ = ws.send(text(&ToApp::Warning { code: "call_in_progress", message: "this connection already has a call".into() })).await;
                    }
                    Err(m) => {
                        let _ = ws.send(text(&ToApp::Warning { code: "bad_message", message: m })).await;
                    }
                }
            }
        }
    }
    calls.end(&id, reason, "citizen", now_ms()).await;
    let _ = ws
        .send(Message::Close(Some(CloseFrame {
            code: CLOSE_NORMAL,
            reason: "ended".into(),
        })))
        .await;
}

/// Routes at the top level (not under `/api/v1`).
pub(super) fn routes() -> Router<SharedState> {
    Router::new().route("/citizen/v1/ws", get(citizen_ws))
}
