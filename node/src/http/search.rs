//! Card search, premise history and duplicate suggestions (see [`crate::search`]). Reading
//! cards by a phone or an address reads personal data: each such read is recorded like a card
//! read ([`crate::privacy`]).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use server_kit::clock::now_ms;
use server_kit::web::{ApiError, ApiErrorBody, ApiResult, Auth};
use sync::Role;

use crate::search::{CardHit, DuplicateQuery, RawSearch, SearchError, SearchQuery, SearchResults};
use crate::service::ServiceError;

use super::state::SharedState;

/// Who searches cards: the staff who handle them (not patrols, not the account administrator).
const SEARCHERS: &[Role] = &[
    Role::CallTaker,
    Role::Dispatcher,
    Role::DutyOfficer,
    Role::Supervisor,
];

impl From<SearchError> for ApiError {
    fn from(e: SearchError) -> Self {
        match e {
            SearchError::Field { field, message } => {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_field", message)
                    .with_field(Some(field.to_string()))
            }
            SearchError::Store(e) => ServiceError::from(e).into(),
        }
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    /// A card number: `AST-2026-000123`, `2026-000123`, or the sequence alone (`000123`).
    number: Option<String>,
    /// The caller's phone as written (`8 (701) 234-56-78` finds `+77012345678`).
    phone: Option<String>,
    /// An address as written; matched as the address warnings match (R08): `match` or `possible`.
    address: Option<String>,
    /// One day, `YYYY-MM-DD` (the region's local time).
    day: Option<String>,
    /// First day of a range, `YYYY-MM-DD`.
    from: Option<String>,
    /// Last day of a range (included), `YYYY-MM-DD`.
    to: Option<String>,
    /// A unit id or call sign: the cards it was dispatched to.
    unit: Option<String>,
    /// `open`, `closed` or `all` (default).
    state: Option<String>,
    /// At most this many cards (1 to 200, default 50).
    limit: Option<String>,
}

/// Records that `login` read cards by a phone or an address (`subjects`: the query's and the
/// phones of the cards shown).
async fn record_read(
    s: &SharedState,
    login: &str,
    action: &str,
    target: &str,
    mut subjects: Vec<String>,
    hits: &[CardHit],
) -> ApiResult<()> {
    for h in hits {
        subjects.extend(
            h.phone
                .as_deref()
                .and_then(|p| crate::privacy::subject("phone", p)),
        );
    }
    subjects.sort();
    subjects.dedup();
    s.reads
        .record(
            login,
            action,
            target,
            subjects,
            serde_json::json!({"cards": hits.iter().map(|h| h.number.as_str()).collect::<Vec<_>>()}),
            now_ms(),
        )
        .await
        .map_err(ServiceError::from)?;
    Ok(())
}

fn query_subjects(phone: Option<&str>, address: Option<&str>) -> Vec<String> {
    [
        phone.and_then(|p| crate::privacy::subject("phone", p)),
        address.and_then(|a| crate::privacy::subject("address", a)),
    ]
    .into_iter()
    .flatten()
    .collect()
}

#[utoipa::path(get, path = "/api/v1/cards/search", params(SearchParams),
    responses((status = 200, body = SearchResults), (status = 400, body = ApiErrorBody)))]
async fn search_cards(
    State(s): State<SharedState>,
    auth: Auth,
    Query(p): Query<SearchParams>,
) -> ApiResult<Json<SearchResults>> {
    auth.require(SEARCHERS)?;
    let now = now_ms();
    let units: Vec<(String, String)> = s
        .service
        .units(now)?
        .into_iter()
        .map(|u| (u.id, u.call_sign))
        .collect();
    let raw = RawSearch {
        number: p.number.as_deref(),
        phone: p.phone.as_deref(),
        address: p.address.as_deref(),
        day: p.day.as_deref(),
        from: p.from.as_deref(),
        to: p.to.as_deref(),
        unit: p.unit.as_deref(),
        state: p.state.as_deref(),
        limit: p.limit.as_deref(),
    };
    let q = SearchQuery::parse(&raw, &units, s.service.reference().shifts.utc_offset_min)?;
    let found = s.search.search(&q, s.service.region(), now)?;
    if q.phone.is_some() || q.address.is_some() {
        let target = [q.phone.as_deref(), q.address.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" | ");
        let subjects = query_subjects(q.phone.as_deref(), q.address.as_deref());
        record_read(
            &s,
            &auth.user.login,
            "card.search",
            &target,
            subjects,
            &found.cards,
        )
        .await?;
    }
    Ok(Json(found))
}

#[utoipa::path(get, path = "/api/v1/cards/{id}/related",
    params(("id" = String, Path, description = "UUID or number such as AST-2026-000123")),
    responses((status = 200, body = [CardHit]), (status = 404, body = ApiErrorBody)))]
async fn related_cards(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<CardHit>>> {
    auth.require(SEARCHERS)?;
    let card = s.service.get_card(&id)?;
    let entry = crate::search::SearchEntry::from(&card);
    let related = s.search.related(&entry).map_err(ServiceError::from)?;
    if !related.is_empty() {
        let subjects = query_subjects(entry.phone.as_deref(), entry.address.as_deref());
        record_read(
            &s,
            &auth.user.login,
            "card.related",
            &card.number,
            subjects,
            &related,
        )
        .await?;
    }
    Ok(Json(related))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DuplicateParams {
    /// The address of the card being filled.
    address: Option<String>,
    /// Its point, degrees (with `lon`).
    lat: Option<String>,
    lon: Option<String>,
    /// The caller's phone as written.
    phone: Option<String>,
    /// The card being filled (id or number), when it exists: never its own duplicate.
    exclude: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/cards/duplicates", params(DuplicateParams),
    responses((status = 200, body = [CardHit]), (status = 400, body = ApiErrorBody)))]
async fn duplicate_suggestions(
    State(s): State<SharedState>,
    auth: Auth,
    Query(p): Query<DuplicateParams>,
) -> ApiResult<Json<Vec<CardHit>>> {
    auth.require(SEARCHERS)?;
    let q = DuplicateQuery::parse(
        p.address.as_deref(),
        p.lat.as_deref(),
        p.lon.as_deref(),
        p.phone.as_deref(),
        p.exclude.as_deref(),
    )?;
    let found = s
        .search
        .duplicates(&q, now_ms())
        .map_err(ServiceError::from)?;
    // Nothing shown, nothing of anyone's read.
    if !found.is_empty() {
        let target = [q.phone.as_deref(), q.address.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" | ");
        let target = if target.is_empty() {
            "point".to_string()
        } else {
            target
        };
        let subjects = query_subjects(q.phone.as_deref(), q.address.as_deref());
        record_read(
            &s,
            &auth.user.login,
            "card.duplicates",
            &target,
            subjects,
            &found,
        )
        .await?;
    }
    Ok(Json(found))
}

/// Routes under `/api/v1` (before `/cards/{id}`, which they would otherwise look like).
pub(super) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/cards/search", get(search_cards))
        .route("/cards/duplicates", get(duplicate_suggestions))
        .route("/cards/{id}/related", get(related_cards))
}
