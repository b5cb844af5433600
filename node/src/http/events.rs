//! The live stream (`GET /api/v1/events`, SSE) and the session watch that ends it.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use axum::Router;
use futures::Stream;
use server_kit::clock::now_ms;
use server_kit::web::{ApiResult, Auth};
use sync::Role;

use super::state::{SharedState, STAFF};
use crate::accounts::{AccountError, Accounts};
use crate::live::LiveEvent;

#[utoipa::path(get, path = "/api/v1/events", responses((status = 200, description = "Server-Sent Events: `card` (CardSummary) and `unit` (Unit); `resync` when events were missed")))]
async fn events(
    State(s): State<SharedState>,
    auth: Auth,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    auth.require(STAFF)?;
    let rx = s.service.subscribe();
    let shutdown = s.shutdown.clone();
    // Calls (with the caller's phone and position) go only to those who answer or supervise them.
    let sees_calls = auth.user.has_role(Role::CallTaker) || auth.user.has_role(Role::Supervisor);
    let sees_appeals = [
        Role::Registrar,
        Role::Head,
        Role::AppealManager,
        Role::AppealOfficer,
    ]
    .into_iter()
    .any(|r| auth.user.has_role(r));
    let session = SessionWatch::new(&s.accounts, &auth);
    let stream = futures::stream::unfold(
        (rx, shutdown, session),
        move |(mut rx, mut shutdown, mut session)| async move {
            let ev = loop {
                let received = tokio::select! {
                    r = rx.recv() => r,
                    _ = shutdown.wait_for(|stop| *stop) => return None,
                    // The stream ends with its session: logout, disable, delete, expiry,
                    // password or role change.
                    () = session.ended() => return None,
                };
                break match received {
                    Ok(LiveEvent::Card(c)) => Event::default().event("card").json_data(c).ok()?,
                    Ok(LiveEvent::Unit(u)) => Event::default().event("unit").json_data(u).ok()?,
                    Ok(LiveEvent::Call(c)) => {
                        if !sees_calls {
                            continue;
                        }
                        Event::default().event("call").json_data(c).ok()?
                    }
                    Ok(LiveEvent::Appeal(a)) => {
                        if !sees_appeals {
                            continue;
                        }
                        Event::default().event("appeal").json_data(a).ok()?
                    }
                    // A unit moved (AVL from its terminal): the map follows it.
                    Ok(LiveEvent::Field {
                        unit_id,
                        position: Some(p),
                        ..
                    }) => Event::default()
                        .event("unit_position")
                        .json_data(serde_json::json!({"unit_id": unit_id, "position": p}))
                        .ok()?,
                    Ok(LiveEvent::Field { .. }) => continue,
                    // The text inbox is the call takers' like calls are.
                    Ok(LiveEvent::Conversation(c)) => {
                        if !sees_calls {
                            continue;
                        }
                        Event::default().event("conversation").json_data(c).ok()?
                    }
                    // For the replication only.
                    Ok(LiveEvent::Replicated { .. }) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        Event::default().event("resync").data(n.to_string())
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                };
            };
            Some((Ok(ev), (rx, shutdown, session)))
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// Watches the session behind a live stream: [`SessionWatch::ended`] resolves when the session
/// expires, or when an account change ends it or changes what it may see (roles). Shared by the
/// node's and the hub's event streams.
pub struct SessionWatch {
    accounts: Arc<Accounts>,
    token: String,
    roles: Vec<Role>,
    expires_at: i64,
    changes: tokio::sync::watch::Receiver<u64>,
}

impl SessionWatch {
    pub fn new(accounts: &Arc<Accounts>, auth: &Auth) -> Self {
        SessionWatch {
            accounts: accounts.clone(),
            token: auth.token.clone(),
            roles: auth.user.roles.clone(),
            expires_at: auth.expires_at,
            changes: accounts.session_changes(),
        }
    }

    fn still_valid(&self) -> bool {
        match self.accounts.authenticate(&self.token, now_ms()) {
            Ok(user) => user.roles == self.roles && !user.must_change_password,
            // A storage hiccup does not end a dispatcher's stream; a real end shows next time.
            Err(AccountError::Store(_) | AccountError::Corrupt(_) | AccountError::Internal(_)) => {
                true
            }
            Err(_) => false,
        }
    }

    /// Resolves when the session is over (never returns while it is valid).
    pub async fn ended(&mut self) {
        loop {
            let left_ms = (self.expires_at - now_ms()).max(0) as u64;
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_millis(left_ms)) => return,
                changed = self.changes.changed() => {
                    if changed.is_err() || !self.still_valid() {
                        return;
                    }
                }
            }
        }
    }
}

/// Routes under `/api/v1`.
pub(super) fn routes() -> Router<SharedState> {
    Router::new().route("/events", get(events))
}
