//! What every handler shares: the application state, the node's session cookie, the mapping of
//! service errors to HTTP answers, and the roles that work cards.

use std::sync::Arc;

use axum::http::StatusCode;
use sync::Role;

use crate::accounts::Accounts;
use crate::metrics::Metrics;
use crate::service::{CardService, ServiceError};
use server_kit::web::ApiError;

/// Shared state of the HTTP shell.
pub struct AppState {
    pub service: Arc<CardService>,
    pub accounts: Arc<Accounts>,
    pub metrics: Arc<Metrics>,
    pub http_body_bytes_max: usize,
    /// Becomes `true` when the node shuts down: live streams end so the server can stop.
    pub shutdown: tokio::sync::watch::Receiver<bool>,
    /// State of the connection to the central hub.
    pub replication: Arc<std::sync::Mutex<crate::replication::ReplicationStatus>>,
    /// The text inbox: connectors hand it messages ([`crate::channels::Intake`]) and register
    /// their senders with its outbox.
    pub inbox: Arc<crate::channels::inbox::InboxService>,
    /// Telegram and VK connectors: their webhook routes are part of [`super::app`].
    pub messengers: crate::channels::messengers::Messengers,
    /// The site's chat widget (`GET /channels/widget/ws`).
    pub widget: Arc<crate::channels::widget::WidgetChannel>,
    /// Citizen calls, media and recordings.
    pub calls: Arc<crate::calls::CallService>,
    /// Audited reads of personal data.
    pub reads: Arc<crate::privacy::ReadAudit>,
    /// Card search, premise history and duplicate suggestions.
    pub search: Arc<crate::search::CardSearch>,
    /// The map: closest units, routes, geocoding, the caller-location lookup (R20, R35).
    pub geo: Arc<crate::geo::Geo>,
    /// The state register for form З-1, with its offline cache (R31).
    pub state_register: Arc<crate::state_register::StateRegister>,
    /// Reverse proxies whose `X-Forwarded-For` is believed (see [`ClientIp`]).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The session cookie is `Secure` (served over HTTPS).
    pub secure_cookies: bool,
    /// A training node (`crate::training`): every answer and page is marked.
    pub training: bool,
    /// The region's map tiles (`[map] tiles`), validated at start; `None`: outlines only.
    pub tiles: Option<Arc<server_kit::tiles::TileSet>>,
}

pub type SharedState = Arc<AppState>;

impl server_kit::web::WebHost for AppState {
    fn accounts(&self) -> &Arc<Accounts> {
        &self.accounts
    }
    fn cookie_name(&self) -> &'static str {
        SESSION_COOKIE
    }
    fn trusted_proxies(&self) -> &[ipnet::IpNet] {
        &self.trusted_proxies
    }
}

pub const SESSION_COOKIE: &str = "node_session";

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Domain(d) => d.into(),
            ServiceError::NotFound(m) => ApiError::new(StatusCode::NOT_FOUND, "not_found", m),
            ServiceError::Warnings(w) => {
                let status = if w.code() == "invalid_field" {
                    StatusCode::UNPROCESSABLE_ENTITY
                } else {
                    StatusCode::SERVICE_UNAVAILABLE
                };
                ApiError::new(status, w.code(), w.to_string())
            }
            // An id that cannot name a document of this region names none that exists.
            ServiceError::DocId(e) => {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", e.to_string())
            }
            ServiceError::Store(_) | ServiceError::Doc(_) => {
                tracing::error!(error = %e, "storage failure");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "storage_error",
                    "the change could not be saved; nothing was acknowledged — try again",
                )
            }
        }
    }
}

/// Everyone who works cards: the node's roles except the account administrator, who manages
/// accounts and reads no cards, callers or recordings.
pub(super) const STAFF: &[Role] = &[
    Role::CallTaker,
    Role::Dispatcher,
    Role::DutyOfficer,
    Role::Supervisor,
    Role::Patrol,
];
