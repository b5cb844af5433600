//! HQ's HTTP API and dashboard: the national picture (R21) from the national index, HQ notes
//! that replicate back to the region, live events over SSE. Errors are the node's
//! `{code, message, field?}` JSON.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, Query, State};
use axum::http::{header, request::Parts, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::Stream;
use node::accounts::{AccountError, Accounts, User};
use node::http::{now_ms, ApiError, ApiJson};
use node::store::Store;
use serde::{Deserialize, Serialize};
use sync::{Card, CardCommand, CardDoc, CardStatus, Ctx, Document, Reference, Role};

use crate::hub::{Hub, HubEvent, RegionLink};
use crate::repo::{CardDelays, NationalCard};

pub struct CentralState {
    pub hub: Arc<Hub>,
    pub accounts: Arc<Accounts>,
    pub store: Arc<dyn Store>,
    pub reference: Arc<Reference>,
    pub disconnect_alert_after_ms: i64,
    pub http_body_bytes_max: usize,
    pub shutdown: tokio::sync::watch::Receiver<bool>,
    /// The automerge actor of HQ's own writes in this process.
    pub actor: automerge::ActorId,
}

pub type Shared = Arc<CentralState>;
type ApiResult<T> = Result<T, ApiError>;

/// Most cards one national queue request returns.
pub const NATIONAL_CARDS_MAX: usize = 2_000;
/// Longest-waiting cards shown on the summary.
pub const LONGEST_WAITING_MAX: usize = 10;
/// Characters of an HQ note.
pub const NOTE_CHARS_MAX: usize = 2_000;

fn account_error(e: AccountError) -> ApiError {
    let status = match &e {
        AccountError::BadCredentials | AccountError::InvalidSession => StatusCode::UNAUTHORIZED,
        AccountError::AccountLocked { .. } => StatusCode::LOCKED,
        AccountError::AccountDisabled => StatusCode::FORBIDDEN,
        _ => StatusCode::SERVICE_UNAVAILABLE,
    };
    ApiError::new(status, e.code(), e.to_string())
}

fn storage(e: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "storage failure");
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "storage_error",
        "the national store cannot be read right now",
    )
}

/// An HQ user (admin or supervisor).
pub struct HqUser(pub User, pub String);

impl FromRequestParts<Shared> for HqUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Shared,
    ) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::to_string)
            .or_else(|| {
                // EventSource cannot set headers: the dashboard passes the token as a query.
                parts.uri.query().and_then(|q| {
                    q.split('&')
                        .find_map(|kv| kv.strip_prefix("token=").map(str::to_string))
                })
            })
            .ok_or_else(|| {
                ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", "log in first")
            })?;
        let user = state.accounts.authenticate(&token, now_ms()).map_err(|e| {
            ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", e.to_string())
        })?;
        if !(user.has_role(Role::Admin) || user.has_role(Role::Supervisor)) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "the HQ dashboard needs the admin or supervisor role",
            ));
        }
        Ok(HqUser(user, token))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    login: String,
    password: String,
}

async fn logout(State(s): State<Shared>, u: HqUser) -> ApiResult<StatusCode> {
    s.accounts
        .logout(&u.1, now_ms())
        .await
        .map_err(account_error)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn login(
    State(s): State<Shared>,
    ApiJson(req): ApiJson<LoginRequest>,
) -> ApiResult<Json<serde_json::Value>> {
    let (token, user) = s
        .accounts
        .login(&req.login, &req.password, now_ms())
        .await
        .map_err(account_error)?;
    Ok(Json(serde_json::json!({"token": token, "user": user})))
}

#[derive(Serialize)]
struct RegionRow {
    #[serde(flatten)]
    link: RegionLink,
    disconnected_for_ms: Option<i64>,
    alert: bool,
    docs: usize,
    open_cards: usize,
}

fn region_rows(s: &CentralState) -> ApiResult<Vec<RegionRow>> {
    let now = now_ms();
    let docs = s
        .hub
        .repo
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .docs_per_region();
    let mut links: BTreeMap<String, RegionLink> = s
        .hub
        .links()
        .into_iter()
        .map(|l| (l.region.clone(), l))
        .collect();
    for region in docs.keys() {
        links.entry(region.clone()).or_insert_with(|| RegionLink {
            region: region.clone(),
            ..Default::default()
        });
    }
    let open = open_cards(s, None, None, usize::MAX)?;
    Ok(links
        .into_values()
        .map(|link| {
            let disconnected_for_ms = (!link.connected)
                .then(|| link.disconnected_since_ms.map(|t| now - t))
                .flatten();
            let alert = !link.connected
                && disconnected_for_ms.is_none_or(|d| d > s.disconnect_alert_after_ms);
            RegionRow {
                docs: docs.get(&link.region).copied().unwrap_or(0),
                open_cards: open.iter().filter(|c| c.region == link.region).count(),
                disconnected_for_ms,
                alert,
                link,
            }
        })
        .collect())
}

async fn regions(State(s): State<Shared>, _u: HqUser) -> ApiResult<Json<Vec<RegionRow>>> {
    Ok(Json(region_rows(&s)?))
}

fn open_cards(
    s: &CentralState,
    region: Option<&str>,
    status: Option<CardStatus>,
    limit: usize,
) -> ApiResult<Vec<NationalCard>> {
    let statuses: Vec<CardStatus> = match status {
        Some(st) => vec![st],
        None => CardStatus::ALL
            .into_iter()
            .filter(|st| st.is_open())
            .collect(),
    };
    let mut out = Vec::new();
    for st in statuses {
        let prefix = match region {
            Some(r) => format!("nat/st/{}/{r}/", st.as_str()),
            None => format!("nat/st/{}/", st.as_str()),
        };
        for (_, v) in s.store.scan_prefix(prefix.as_bytes()).map_err(storage)? {
            if let Ok(c) = serde_json::from_slice::<NationalCard>(&v) {
                out.push(c);
            }
        }
    }
    out.sort_by_key(|c| {
        c.summary
            .sent_for_processing_at
            .unwrap_or(c.summary.created_at)
    });
    out.truncate(limit);
    Ok(out)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CardsQuery {
    region: Option<String>,
    status: Option<String>,
    limit: Option<usize>,
}

async fn cards(
    State(s): State<Shared>,
    _u: HqUser,
    Query(q): Query<CardsQuery>,
) -> ApiResult<Json<Vec<NationalCard>>> {
    let status = match q.status.as_deref().filter(|x| !x.is_empty()) {
        None => None,
        Some(x) => Some(CardStatus::parse(x).ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_field",
                format!(
                    "unknown status '{}'",
                    x.chars().take(32).collect::<String>()
                ),
            )
        })?),
    };
    let region = q.region.as_deref().filter(|r| !r.is_empty());
    if let Some(r) = region {
        if r.len() > 8 || !r.chars().all(|c| c.is_ascii_uppercase()) {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_field",
                "region is 1–8 upper-case latin letters",
            ));
        }
    }
    Ok(Json(open_cards(
        &s,
        region,
        status,
        q.limit.unwrap_or(500).min(NATIONAL_CARDS_MAX),
    )?))
}

fn percentiles(mut v: Vec<i64>) -> serde_json::Value {
    if v.is_empty() {
        return serde_json::json!({"p50": null, "p90": null, "count": 0});
    }
    v.sort_unstable();
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    serde_json::json!({"p50": at(0.5), "p90": at(0.9), "count": v.len()})
}

async fn summary(State(s): State<Shared>, _u: HqUser) -> ApiResult<Json<serde_json::Value>> {
    let now = now_ms();
    let open = open_cards(&s, None, None, usize::MAX)?;
    let mut by_region: BTreeMap<String, BTreeMap<&'static str, usize>> = BTreeMap::new();
    let mut totals: BTreeMap<&'static str, usize> = BTreeMap::new();
    for c in &open {
        *by_region
            .entry(c.region.clone())
            .or_default()
            .entry(c.summary.status.as_str())
            .or_insert(0) += 1;
        *totals.entry(c.summary.status.as_str()).or_insert(0) += 1;
    }
    let mut waiting: Vec<&NationalCard> = open
        .iter()
        .filter(|c| c.summary.status == CardStatus::SentForProcessing)
        .collect();
    waiting.sort_by_key(|c| {
        c.summary
            .sent_for_processing_at
            .unwrap_or(c.summary.created_at)
    });
    waiting.truncate(LONGEST_WAITING_MAX);
    // Calls per hour over the last 24 hours, by region, channel and category.
    let mut per_hour: BTreeMap<(i64, String, String, String), usize> = BTreeMap::new();
    for h in 0..24 {
        let start = (now / 3_600_000 - h) * 3_600_000;
        let key = chrono::DateTime::from_timestamp_millis(start)
            .unwrap_or_default()
            .format("%Y%m%d%H")
            .to_string();
        for (k, v) in s
            .store
            .scan_prefix(format!("nat/hour/{key}/").as_bytes())
            .map_err(storage)?
        {
            let rest = String::from_utf8_lossy(&k).to_string();
            let region = rest.split('/').nth(3).unwrap_or("").to_string();
            let meta: serde_json::Value = serde_json::from_slice(&v).unwrap_or_default();
            let channel = meta["channel"].as_str().unwrap_or("").to_string();
            let category = meta["category"].as_str().unwrap_or("").to_string();
            *per_hour
                .entry((start, region, channel, category))
                .or_insert(0) += 1;
        }
    }
    let per_hour: Vec<serde_json::Value> = per_hour
        .into_iter()
        .map(|((hour_start_ms, region, channel, category), count)| {
            serde_json::json!({"hour_start_ms": hour_start_ms, "region": region, "channel": channel, "category": category, "count": count})
        })
        .collect();
    let (mut dispatch, mut arrival) = (Vec::new(), Vec::new());
    for (_, v) in s.store.scan_prefix(b"nat/delay/").map_err(storage)? {
        if let Ok(d) = serde_json::from_slice::<CardDelays>(&v) {
            dispatch.extend(d.dispatch_ms);
            arrival.extend(d.arrival_ms);
        }
    }
    let overdue_after_ms = s.reference.unit_overdue_after_ms();
    let overdue_cards = open
        .iter()
        .filter(|c| {
            c.summary.status == CardStatus::Dispatched
                && now - c.summary.updated_at > overdue_after_ms
        })
        .count();
    Ok(Json(serde_json::json!({
        "generated_at": now,
        "regions": by_region.into_iter().map(|(region, by_status)| serde_json::json!({"region": region, "by_status": by_status})).collect::<Vec<_>>(),
        "totals": totals,
        "overdue_units": overdue_cards,
        "waiting_longest": waiting,
        "per_hour": per_hour,
        "dispatch_delay_ms": percentiles(dispatch),
        "arrival_delay_ms": percentiles(arrival),
    })))
}

fn check_ids(region: &str, id: &str) -> ApiResult<()> {
    if crate::repo::split_doc_id(&format!("{region}/card/{id}")).is_none() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such card",
        ));
    }
    Ok(())
}

fn load_card(s: &CentralState, region: &str, id: &str) -> ApiResult<CardDoc> {
    check_ids(region, id)?;
    let doc = s
        .hub
        .repo
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .load_doc(region, "card", id)
        .map_err(storage)?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("card {region}/{id} is not at HQ"),
            )
        })?;
    Ok(CardDoc::wrap(doc))
}

async fn card(
    State(s): State<Shared>,
    _u: HqUser,
    Path((region, id)): Path<(String, String)>,
) -> ApiResult<Json<Card>> {
    let doc = load_card(&s, &region, &id)?;
    Ok(Json(doc.view(&s.reference).map_err(storage)?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoteRequest {
    text: String,
}

/// HQ's note or directive on a region's card: written at HQ, replicated back to the region.
async fn note(
    State(s): State<Shared>,
    u: HqUser,
    Path((region, id)): Path<(String, String)>,
    ApiJson(req): ApiJson<NoteRequest>,
) -> ApiResult<Json<Card>> {
    if req.text.trim().is_empty() || req.text.chars().count() > NOTE_CHARS_MAX {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            format!("the note must be 1–{NOTE_CHARS_MAX} characters"),
        ));
    }
    let hub = s.hub.clone();
    let state = s.clone();
    let login = u.0.login.clone();
    let card = tokio::task::spawn_blocking(move || -> ApiResult<Card> {
        let mut repo = hub.repo.lock().unwrap_or_else(|p| p.into_inner());
        let mut doc = CardDoc::wrap(
            repo.load_doc(&region, "card", &id)
                .map_err(storage)?
                .ok_or_else(|| {
                    ApiError::new(
                        StatusCode::NOT_FOUND,
                        "not_found",
                        format!("card {region}/{id} is not at HQ"),
                    )
                })?,
        );
        doc.set_actor(state.actor.clone());
        let before = doc.heads();
        let ctx = Ctx::new(login.as_str(), "central", now_ms());
        doc.apply(
            &CardCommand::Note {
                text: req.text.clone(),
            },
            &state.reference,
            &ctx,
        )
        .map_err(|e| ApiError::new(StatusCode::CONFLICT, e.code(), e.to_string()))?;
        let incremental = doc.automerge().save_after(&before);
        let chunks = state
            .store
            .scan_keys(format!("doc/{region}/card/{id}/c/").as_bytes(), usize::MAX)
            .map_err(storage)?
            .len();
        repo.store_doc(
            (&region, "card", &id),
            doc.automerge(),
            Some(chunks),
            &incremental,
        )
        .map_err(|e| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "storage_error",
                e.to_string(),
            )
        })?;
        node::replication::DurableRepo::make_durable(&mut *repo).map_err(storage)?;
        let card = doc.view(&state.reference).map_err(storage)?;
        drop(repo);
        hub.notify_region(&region, &format!("{region}/card/{id}"));
        Ok(card)
    })
    .await
    .map_err(storage)??;
    Ok(Json(card))
}

async fn events(
    State(s): State<Shared>,
    _u: HqUser,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = s.hub.events.subscribe();
    let shutdown = s.shutdown.clone();
    let stream = futures::stream::unfold((rx, shutdown), |(mut rx, mut shutdown)| async move {
        let received = tokio::select! {
            r = rx.recv() => r,
            _ = shutdown.wait_for(|stop| *stop) => return None,
        };
        let ev = match received {
            Ok(HubEvent::Region(l)) => Event::default().event("region").json_data(l).ok()?,
            Ok(HubEvent::Card(c)) => Event::default().event("card").json_data(c).ok()?,
            Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                Event::default().event("resync").data(n.to_string())
            }
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
        };
        Some((Ok(ev), (rx, shutdown)))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

async fn metrics(State(s): State<Shared>) -> Response {
    use std::fmt::Write;
    let mut out = String::new();
    let links = s.hub.links();
    let docs = s
        .hub
        .repo
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .docs_per_region();
    let _ = writeln!(out, "# HELP central_region_connected 1 while the region's node is connected\n# TYPE central_region_connected gauge");
    for l in &links {
        let _ = writeln!(
            out,
            "central_region_connected{{region=\"{}\"}} {}",
            l.region, l.connected as u8
        );
    }
    let _ = writeln!(out, "# HELP central_region_last_contact_ms Last frame from the region (ms since epoch)\n# TYPE central_region_last_contact_ms gauge");
    for l in &links {
        let _ = writeln!(
            out,
            "central_region_last_contact_ms{{region=\"{}\"}} {}",
            l.region,
            l.last_contact_ms.unwrap_or(0)
        );
    }
    let _ = writeln!(out, "# HELP central_region_documents Documents held per region\n# TYPE central_region_documents gauge");
    for (r, n) in docs {
        let _ = writeln!(out, "central_region_documents{{region=\"{r}\"}} {n}");
    }
    let _ = writeln!(out, "# EOF");
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        out,
    )
        .into_response()
}

const INDEX_HTML: &str = include_str!("../assets/dashboard/index.html");
const APP_JS: &str = include_str!("../assets/dashboard/app.js");
const APP_CSS: &str = include_str!("../assets/dashboard/app.css");
const I18N_JS: &str = include_str!("../assets/dashboard/i18n.js");

async fn index() -> Html<&'static str> {
    Html(INDEX_HTML)
}

async fn asset(Path(name): Path<String>) -> Response {
    let (body, ctype) = match name.as_str() {
        "app.js" => (APP_JS, "text/javascript; charset=utf-8"),
        "i18n.js" => (I18N_JS, "text/javascript; charset=utf-8"),
        "app.css" => (APP_CSS, "text/css; charset=utf-8"),
        _ => {
            return ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such asset")
                .into_response()
        }
    };
    (
        [
            (header::CONTENT_TYPE, ctype),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}

pub fn app(state: Shared) -> Router {
    let api = Router::new()
        .route("/auth/login", post(login))
        .route("/auth/logout", post(logout))
        .route("/regions", get(regions))
        .route("/summary", get(summary))
        .route("/cards", get(cards))
        .route("/cards/{region}/{id}", get(card))
        .route("/cards/{region}/{id}/notes", post(note))
        .route("/events", get(events))
        .fallback(not_found);
    Router::new()
        .route("/", get(index))
        .route("/assets/{name}", get(asset))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .nest("/api/v1", api)
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(state.http_body_bytes_max))
        .with_state(state)
}
