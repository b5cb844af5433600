//! What every HQ handler shares: the hub's state, its session cookie and roles, the HQ user
//! and query extractors, and HQ notes' shape. Its own module so that the API's parts (cards,
//! appeals) and the router name it without depending on each other.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Query};
use axum::http::{request::Parts, StatusCode};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use server_kit::accounts::{Accounts, User};
use server_kit::store::{GroupCommit, Store};
use server_kit::web::{authenticate_parts, ApiError};
use sync::Role;
use utoipa::ToSchema;

use crate::hub::Hub;
use crate::metrics::CentralMetrics;
use crate::picture::NationalPicture;
use crate::references::RegionReferences;
use crate::service::HqService;

pub struct CentralState {
    pub hub: Arc<Hub>,
    /// HQ's reads and writes of cards.
    pub hq: Arc<HqService>,
    /// The knowledge base's articles (R19).
    pub kb: Arc<crate::kb::KbService>,
    /// The national picture's queries.
    pub picture: NationalPicture,
    pub accounts: Arc<Accounts>,
    pub store: Arc<dyn Store>,
    pub gc: Arc<GroupCommit>,
    /// Each region's reference data as received.
    pub references: RegionReferences,
    pub metrics: Arc<CentralMetrics>,
    pub http_body_bytes_max: usize,
    pub shutdown: tokio::sync::watch::Receiver<bool>,
    /// Reverse proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The session cookie is `Secure` (served over HTTPS).
    pub secure_cookies: bool,
    /// HQ's reads of appeals, audited.
    pub appeal_reads: crate::appeal_reads::ReadAudit,
    /// The national map's tiles (`[map] tiles`), validated at start.
    pub tiles: Option<Arc<server_kit::tiles::TileSet>>,
}

pub type Shared = Arc<CentralState>;

/// Name of the hub's session cookie.
pub const SESSION_COOKIE: &str = "central_session";
/// HQ roles that read the national picture.
pub const HQ_READERS: &[Role] = &[Role::HqDuty, Role::HqAnalyst];
/// HQ roles that write notes and directives on regions' cards.
pub const HQ_WRITERS: &[Role] = &[Role::HqDuty];

impl server_kit::web::WebHost for CentralState {
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

impl server_kit::account_api::AccountsHost for CentralState {
    fn audit_store(&self) -> &Arc<dyn Store> {
        &self.store
    }
    fn secure_cookies(&self) -> bool {
        self.secure_cookies
    }
    fn audit_readers(&self) -> &'static [Role] {
        HQ_WRITERS
    }
}
/// Characters of an HQ note.
pub const NOTE_CHARS_MAX: usize = 2_000;

/// An HQ user who reads the national picture (`hq_duty` or `hq_analyst`; the account
/// administrator reads no cards), and the session token.
pub struct HqUser(pub User, pub String);

impl FromRequestParts<Shared> for HqUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Shared,
    ) -> Result<Self, Self::Rejection> {
        let auth = authenticate_parts(parts, &state.accounts, SESSION_COOKIE)?;
        auth.require(HQ_READERS)?;
        Ok(HqUser(auth.user, auth.token))
    }
}

/// Query-string extractor whose errors are the API's JSON errors.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(q)| ApiQuery(q))
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", e.body_text()))
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteRequest {
    #[schema(min_length = 1, max_length = 2000)]
    pub text: String,
}
