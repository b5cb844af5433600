//! HQ's HTTP API and dashboard: the national picture (R21) from the national index
//! ([`crate::national`]), HQ notes that replicate back to the region, live events over SSE,
//! Prometheus metrics and the OpenAPI document (`/api/v1/openapi.json`). Errors are the node's
//! `{code, message, field?}` JSON.
//!
//! Every route is declared once in [`routes`] and described by [`ApiDoc`]; a test checks that
//! the two list the same operations.

use std::convert::Infallible;

use axum::extract::{DefaultBodyLimit, Path, State};
use axum::handler::Handler;
use axum::http::{header, StatusCode};
use axum::middleware::{self};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::{Json, Router};
use futures::Stream;
use serde::{Deserialize, Serialize};
use server_kit::clock::now_ms;
use server_kit::web::{ApiError, ApiErrorBody, ApiJson};
use sync::{Card, CardStatus, Reference, Role};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::appeals_http;
use crate::http_errors::storage;
pub use crate::http_state::{
    ApiQuery, CentralState, HqUser, NoteRequest, Shared, HQ_READERS, HQ_WRITERS, NOTE_CHARS_MAX,
    SESSION_COOKIE,
};
use crate::hub::HubEvent;
use crate::metrics::Scrape;
use crate::national::{self, NationalCard};
use crate::picture::{CallRow, PictureError, RegionRow, Summary};
use crate::service::{HqError, PublishedCalendarYear};

type ApiResult<T> = Result<T, ApiError>;

// ------------------------------------------------------------------------------ handlers

#[derive(Serialize, ToSchema)]
pub struct Health {
    status: &'static str,
}

#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "The hub is serving", body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus metrics (OpenMetrics text): `central_region_*` and `central_replication_*` per region, `central_http_*`, `central_store_*`", content_type = "application/openmetrics-text")))]
async fn metrics(State(s): State<Shared>) -> Response {
    let counts = match national::region_counts(&*s.store) {
        Ok(c) => c,
        Err(e) => return storage(e).into_response(),
    };
    let links = s.hub.links();
    let text = s.metrics.render(&Scrape {
        links: &links,
        counts: &counts,
        store_size_bytes: s.store.size_on_disk_bytes(),
        store_flushes: crate::metrics::flushes(&s.gc),
    });
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// The hub's whole OpenAPI document: its own routes and the shared account routes.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.merge(server_kit::account_api::AccountsDoc::openapi());
    server_kit::web::document_common_errors(&mut doc);
    doc
}

#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "operations",
    responses((status = 200, description = "This OpenAPI document", content_type = "application/json")))]
async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(openapi_document())
}

#[utoipa::path(get, path = "/api/v1/regions", tag = "national", security(("bearer" = [])),
    responses(
        (status = 200, description = "Every region the hub has heard from or holds documents of, by code", body = [RegionRow]),
        (status = 401, description = "No valid token (`unauthenticated`)", body = ApiErrorBody),
        (status = 403, description = "Not an HQ account (`forbidden`)", body = ApiErrorBody),
        (status = 503, description = "The national store cannot be read right now (`storage_error`)", body = ApiErrorBody)))]
async fn regions(State(s): State<Shared>, _u: HqUser) -> ApiResult<Json<Vec<RegionRow>>> {
    Ok(Json(s.picture.regions(now_ms())?))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CardsQuery {
    /// One region code (default: every region).
    region: Option<String>,
    /// One open status (default: every open status).
    #[param(value_type = Option<CardStatus>)]
    status: Option<String>,
    /// Most cards returned (default 500, at most 2000).
    limit: Option<usize>,
}

#[utoipa::path(get, path = "/api/v1/cards", tag = "national", security(("bearer" = [])), params(CardsQuery),
    responses(
        (status = 200, description = "The national queue: open cards, longest in the queue first (sent for processing, else created)", body = [NationalCard]),
        (status = 400, description = "Unknown status, a bad region code or an unknown parameter (`invalid_field`, `invalid_query`)", body = ApiErrorBody),
        (status = 401, description = "No valid token (`unauthenticated`)", body = ApiErrorBody),
        (status = 403, description = "Not an HQ account (`forbidden`)", body = ApiErrorBody),
        (status = 503, description = "The national store cannot be read right now (`storage_error`)", body = ApiErrorBody)))]
async fn cards(
    State(s): State<Shared>,
    _u: HqUser,
    ApiQuery(q): ApiQuery<CardsQuery>,
) -> ApiResult<Json<Vec<NationalCard>>> {
    Ok(Json(s.picture.queue(
        q.region.as_deref(),
        q.status.as_deref(),
        q.limit,
    )?))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CallsQuery {
    /// `hour` or `day` (Kazakhstan days, UTC+5).
    period: String,
    /// The first period is the one containing this time (ms since the epoch; default: 23 hours
    /// or 6 days before `to`).
    from: Option<i64>,
    /// The last period is the one containing this time (default: now).
    to: Option<i64>,
    /// One region code (default: every region).
    region: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/stats/calls", tag = "national", security(("bearer" = [])), params(CallsQuery),
    responses(
        (status = 200, description = "Calls created per hour or per day, by region, channel and category, in period order; combinations without calls are absent", body = [CallRow]),
        (status = 400, description = "Unknown period, `from` after `to`, more than 744 hours or 366 days, more than 20000 rows, a bad region code or an unknown parameter (`invalid_field`, `invalid_query`)", body = ApiErrorBody),
        (status = 401, description = "No valid token (`unauthenticated`)", body = ApiErrorBody),
        (status = 403, description = "Not an HQ account (`forbidden`)", body = ApiErrorBody),
        (status = 503, description = "The national store cannot be read right now (`storage_error`)", body = ApiErrorBody)))]
async fn stats_calls(
    State(s): State<Shared>,
    _u: HqUser,
    ApiQuery(q): ApiQuery<CallsQuery>,
) -> ApiResult<Json<Vec<CallRow>>> {
    Ok(Json(s.picture.calls(
        &q.period,
        q.from,
        q.to,
        q.region.as_deref(),
        now_ms(),
    )?))
}

#[utoipa::path(get, path = "/api/v1/summary", tag = "national", security(("bearer" = [])),
    responses(
        (status = 200, description = "Open cards by region and status, overdue units, the longest waiting cards, calls per hour and per day by region and by channel, dispatch and arrival delays", body = Summary),
        (status = 401, description = "No valid token (`unauthenticated`)", body = ApiErrorBody),
        (status = 403, description = "Not an HQ account (`forbidden`)", body = ApiErrorBody),
        (status = 503, description = "The national store cannot be read right now (`storage_error`)", body = ApiErrorBody)))]
async fn summary(State(s): State<Shared>, _u: HqUser) -> ApiResult<Json<Summary>> {
    Ok(Json(s.picture.summary(now_ms())?))
}

impl From<PictureError> for ApiError {
    fn from(e: PictureError) -> Self {
        match e {
            PictureError::Invalid(m) => ApiError::new(StatusCode::BAD_REQUEST, "invalid_field", m),
            PictureError::Storage(e) => storage(e),
        }
    }
}

impl From<HqError> for ApiError {
    fn from(e: HqError) -> Self {
        match e {
            HqError::BadId | HqError::NotFound(_) => {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", e.to_string())
            }
            HqError::Refused(d) => ApiError::new(StatusCode::CONFLICT, d.code(), d.to_string()),
            HqError::Calendar(c) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                c.to_string(),
            ),
            HqError::Storage(_) => storage(e),
        }
    }
}

#[utoipa::path(get, path = "/api/v1/cards/{region}/{id}", tag = "national", security(("bearer" = [])),
    params(("region" = String, Path, description = "Region code, e.g. AST"), ("id" = String, Path, description = "The card's UUID")),
    responses(
        (status = 200, description = "The full card, as on the region's node", body = Card),
        (status = 401, description = "No valid token (`unauthenticated`)", body = ApiErrorBody),
        (status = 403, description = "Not an HQ account (`forbidden`)", body = ApiErrorBody),
        (status = 404, description = "The hub holds no such card (`not_found`)", body = ApiErrorBody),
        (status = 503, description = "The national store cannot be read right now (`storage_error`)", body = ApiErrorBody)))]
async fn card(
    State(s): State<Shared>,
    _u: HqUser,
    Path((region, id)): Path<(String, String)>,
) -> ApiResult<Json<Card>> {
    Ok(Json(s.hq.card(&region, &id)?))
}

/// HQ's note or directive on a region's card: written at HQ, replicated back to the region.
#[utoipa::path(post, path = "/api/v1/cards/{region}/{id}/notes", tag = "national", security(("bearer" = [])),
    params(("region" = String, Path, description = "Region code, e.g. AST"), ("id" = String, Path, description = "The card's UUID")),
    request_body = NoteRequest,
    responses(
        (status = 200, description = "The card with HQ's note in its timeline; the note replicates to the region", body = Card),
        (status = 400, description = "The body is not `{text}` JSON (`malformed_json`, `unknown_field`, `invalid_field`, `bad_body`)", body = ApiErrorBody),
        (status = 401, description = "No valid token (`unauthenticated`)", body = ApiErrorBody),
        (status = 403, description = "Not an HQ account (`forbidden`)", body = ApiErrorBody),
        (status = 404, description = "The hub holds no such card (`not_found`)", body = ApiErrorBody),
        (status = 409, description = "The card does not take notes now", body = ApiErrorBody),
        (status = 413, description = "The body is larger than `http_body_bytes_max`", body = ApiErrorBody),
        (status = 422, description = "The note is empty or longer than 2000 characters (`invalid_field`)", body = ApiErrorBody),
        (status = 503, description = "The national store cannot be written right now (`storage_error`)", body = ApiErrorBody)))]
async fn note(
    State(s): State<Shared>,
    u: HqUser,
    Path((region, id)): Path<(String, String)>,
    ApiJson(req): ApiJson<NoteRequest>,
) -> ApiResult<Json<Card>> {
    if !HQ_WRITERS.iter().any(|r| u.0.has_role(*r)) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "HQ notes are written by the HQ duty officer (hq_duty)",
        ));
    }
    if req.text.trim().is_empty() || req.text.chars().count() > NOTE_CHARS_MAX {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            format!("the note must be 1–{NOTE_CHARS_MAX} characters"),
        ));
    }
    // The region sees who at HQ wrote it: the person's name, not a login.
    let author = u.0.full_name.clone();
    let hq = s.hq.clone();
    let card =
        tokio::task::spawn_blocking(move || hq.note(&region, &id, &author, &req.text, now_ms()))
            .await
            .map_err(storage)??;
    Ok(Json(card))
}

/// A region's reference data as the hub received it from the region's node.
#[derive(Serialize, ToSchema)]
pub struct RegionReferenceResponse {
    pub region: String,
    /// Whether the region's node has published its reference data to the hub yet; until it
    /// has, the region's cards are read with the statutory rules and shown with codes.
    pub received: bool,
    pub published_at: Option<i64>,
    #[schema(value_type = Option<Object>)]
    pub reference: Option<Reference>,
}

#[utoipa::path(get, path = "/api/v1/regions/{region}/reference", tag = "national", security(("bearer" = [])),
    params(("region" = String, Path, description = "Region code, e.g. AST")),
    responses(
        (status = 200, description = "The region's districts, call categories, duty units and timing rules as its node published them (`received: false` while none has arrived)", body = RegionReferenceResponse),
        (status = 401, description = "No valid token (`unauthenticated`)", body = ApiErrorBody),
        (status = 403, description = "Not an HQ account (`forbidden`)", body = ApiErrorBody),
        (status = 404, description = "Not a region code (`not_found`)", body = ApiErrorBody)))]
async fn region_reference(
    State(s): State<Shared>,
    _u: HqUser,
    Path(region): Path<String>,
) -> ApiResult<Json<RegionReferenceResponse>> {
    if !crate::repo::is_region_code(&region) || region == sync::NATIONAL {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{region:?} is not a region code"),
        ));
    }
    let received = s.references.received(&region);
    Ok(Json(RegionReferenceResponse {
        region,
        received: received.is_some(),
        published_at: received.as_ref().and_then(|r| r.published_at),
        reference: received.map(|r| (*r.reference).clone()),
    }))
}

/// Who may read the national calendar: HQ readers and the administrator who publishes it.
const CALENDAR_READERS: &[Role] = &[Role::HqDuty, Role::HqAnalyst, Role::Admin];
/// Who publishes national calendar years.
const CALENDAR_PUBLISHERS: &[Role] = &[Role::Admin];

#[utoipa::path(get, path = "/api/v1/calendar", tag = "national", security(("bearer" = [])),
    responses(
        (status = 200, description = "The national working-day calendar years the hub publishes to every region, by year", body = [PublishedCalendarYear]),
        (status = 401, description = "No valid token (`unauthenticated`)", body = ApiErrorBody),
        (status = 403, description = "Not an HQ account (`forbidden`)", body = ApiErrorBody),
        (status = 503, description = "The national store cannot be read right now (`storage_error`)", body = ApiErrorBody)))]
async fn calendar(
    State(s): State<Shared>,
    auth: server_kit::web::Auth,
) -> ApiResult<Json<Vec<PublishedCalendarYear>>> {
    auth.require(CALENDAR_READERS)?;
    Ok(Json(s.hq.calendar_years()?))
}

#[utoipa::path(put, path = "/api/v1/calendar/{year}", tag = "national", security(("bearer" = [])),
    params(("year" = i32, Path, description = "The calendar year, e.g. 2027")),
    request_body = sync::calendar::CalendarYear,
    responses(
        (status = 200, description = "The year is published (durable at the hub) and replicates to every region; `changed: false` when it was already exactly this", body = CalendarPublished),
        (status = 400, description = "The body is not a calendar year as JSON (`malformed_json`, `unknown_field`, `bad_body`)", body = ApiErrorBody),
        (status = 401, description = "No valid token (`unauthenticated`)", body = ApiErrorBody),
        (status = 403, description = "Not the administrator (`forbidden`)", body = ApiErrorBody),
        (status = 413, description = "The body is larger than `http_body_bytes_max`", body = ApiErrorBody),
        (status = 422, description = "The year in the path differs from the body's, or a date is invalid, outside the year, listed twice or of the wrong weekday (`invalid_field`)", body = ApiErrorBody),
        (status = 503, description = "The national store cannot be written right now (`storage_error`)", body = ApiErrorBody)))]
async fn publish_calendar(
    State(s): State<Shared>,
    auth: server_kit::web::Auth,
    Path(year): Path<String>,
    ApiJson(body): ApiJson<sync::calendar::CalendarYear>,
) -> ApiResult<Json<CalendarPublished>> {
    auth.require(CALENDAR_PUBLISHERS)?;
    if year.parse::<i32>().ok() != Some(body.year) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            format!("the path names year {year:?}, the body {}", body.year),
        )
        .with_field(Some("year".into())));
    }
    let hq = s.hq.clone();
    let by = auth.user.login.clone();
    let changed = tokio::task::spawn_blocking(move || hq.publish_calendar(&body, &by, now_ms()))
        .await
        .map_err(storage)??;
    Ok(Json(CalendarPublished { changed }))
}

/// The answer to publishing a calendar year.
#[derive(Serialize, ToSchema)]
pub struct CalendarPublished {
    /// False when the hub already published exactly this year.
    pub changed: bool,
}

#[utoipa::path(get, path = "/api/v1/events", tag = "national", security(("bearer" = [])),
    responses(
        (status = 200, description = "Server-Sent Events (read with `fetch` and the Bearer header): `region` (a region's link changed: RegionLink), `card` (a card changed: NationalCard), `reference` (a region's reference data arrived or changed: `{region}`), `resync` (events were missed: reload everything)", content_type = "text/event-stream"),
        (status = 401, description = "No valid token (`unauthenticated`)", body = ApiErrorBody),
        (status = 403, description = "Not an HQ account (`forbidden`)", body = ApiErrorBody)))]
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
            Ok(HubEvent::Reference { region }) => Event::default()
                .event("reference")
                .json_data(serde_json::json!({ "region": region }))
                .ok()?,
            Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                Event::default().event("resync").data(n.to_string())
            }
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
        };
        Some((Ok(ev), (rx, shutdown)))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

const INDEX_HTML: &str = include_str!("../assets/dashboard/index.html");

/// The dashboard's files under `/assets/`: ES modules that import the shared browser kit from
/// `/kit/` (`server_kit::assets`). A test checks the folder has no other file.
pub const DASHBOARD_ASSETS: &[(&str, &str)] = server_kit::embed_files!(
    "../assets/dashboard",
    [
        "accounts.js",
        "app.css",
        "appeals.js",
        "app.js",
        "charts.js",
        "data.js",
        "detail.js",
        "i18n.js",
        "kb.js",
        "map.js",
        "meetings.js",
        "overview.js",
        "report_1ol.js",
        "state.js",
    ]
);

#[utoipa::path(get, path = "/", tag = "dashboard",
    responses((status = 200, description = "The HQ dashboard (kk/ru)", content_type = "text/html")))]
async fn index() -> Html<&'static str> {
    Html(INDEX_HTML)
}

#[utoipa::path(get, path = "/assets/{name}", tag = "dashboard",
    params(("name" = String, Path, description = "A dashboard module such as app.js or overview.js, or app.css")),
    responses(
        (status = 200, description = "A dashboard file", content_type = "text/javascript"),
        (status = 404, description = "No such file (`not_found`)", body = ApiErrorBody)))]
async fn asset(Path(name): Path<String>) -> Response {
    server_kit::web::embedded_asset(DASHBOARD_ASSETS, &name)
}

#[utoipa::path(get, path = "/kit/{name}", tag = "dashboard",
    params(("name" = String, Path, description = "A module of the browser kit the dashboard shares with the node's console, such as dom.js or api.js")),
    responses(
        (status = 200, description = "A kit module", content_type = "text/javascript"),
        (status = 404, description = "No such file (`not_found`)", body = ApiErrorBody)))]
async fn kit(name: Path<String>) -> Response {
    server_kit::assets::kit_asset(name).await
}

#[utoipa::path(get, path = "/favicon.ico", tag = "dashboard",
    responses((status = 200, description = "The icon (SVG) the dashboard and the node's console share", content_type = "image/svg+xml")))]
async fn favicon() -> Response {
    server_kit::assets::favicon().await
}

#[utoipa::path(get, path = "/kit/leaflet/{name}", tag = "dashboard",
    params(("name" = String, Path, description = "A file of the vendored Leaflet map library: leaflet-src.esm.js, leaflet.css or LICENSE")),
    responses(
        (status = 200, description = "A Leaflet file with its content type"),
        (status = 404, description = "No such file (`not_found`)", body = ApiErrorBody)))]
async fn leaflet(name: Path<String>) -> Response {
    server_kit::assets::leaflet_asset(name).await
}

#[utoipa::path(get, path = "/kit/leaflet/images/{name}", tag = "dashboard",
    params(("name" = String, Path, description = "An image Leaflet's CSS names, such as marker-icon.png")),
    responses(
        (status = 200, description = "A PNG image", content_type = "image/png"),
        (status = 404, description = "No such file (`not_found`)", body = ApiErrorBody)))]
async fn leaflet_image(Path(name): Path<String>) -> Response {
    server_kit::assets::leaflet_asset(Path(format!("images/{name}"))).await
}

#[utoipa::path(get, path = "/tiles/{z}/{x}/{y}", tag = "dashboard",
    params(("z" = u8, Path), ("x" = u32, Path), ("y" = u32, Path)),
    responses(
        (status = 200, description = "A map tile with the tile file's content type (image/png, image/jpeg, image/webp)"),
        (status = 400, description = "Outside the tile grid (`invalid_tile`)", body = ApiErrorBody),
        (status = 404, description = "No such tile, or no tile file (`no_tiles`)", body = ApiErrorBody)))]
async fn tile(
    State(s): State<Shared>,
    Path((z, x, y)): Path<(String, String, String)>,
) -> Response {
    server_kit::tiles::tile_response(s.tiles.clone(), &z, &x, &y).await
}

#[utoipa::path(get, path = "/api/v1/map/config", tag = "national",
    responses((status = 200, body = server_kit::tiles::MapConfig)),
    security(("bearer" = [])))]
async fn map_config(State(s): State<Shared>, _user: HqUser) -> Json<server_kit::tiles::MapConfig> {
    Json(server_kit::tiles::MapConfig::of(s.tiles.as_deref()))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MapUnitsQuery {
    /// One region code (default: every region).
    region: Option<String>,
}

/// Every region's field units at their newest position (AVL from their terminals, R20).
#[utoipa::path(get, path = "/api/v1/map/units", tag = "national", params(MapUnitsQuery),
    responses((status = 200, body = [crate::field_positions::NationalUnit])),
    security(("bearer" = [])))]
async fn map_units(
    State(s): State<Shared>,
    _user: HqUser,
    ApiQuery(q): ApiQuery<MapUnitsQuery>,
) -> ApiResult<Json<Vec<crate::field_positions::NationalUnit>>> {
    Ok(Json(
        crate::field_positions::all(&*s.store, q.region.as_deref()).map_err(storage)?,
    ))
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}

// ------------------------------------------------------------------------------ router

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The token from POST /api/v1/auth/login (an admin or supervisor account)",
                    ))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "102 central hub API",
        description = "The МВД HQ hub: the national picture of every region's 102 cards (regions, national queue, summary statistics) and citizens' appeals (deadlines, signs of a crime and КУИ), HQ notes that replicate back to the regions, live events, health and metrics. Times are ms since the Unix epoch; errors are `{code, message, field?}`."
    ),
    paths(
        index,
        asset,
        kit,
        leaflet,
        leaflet_image,
        tile,
        map_config,
        map_units,
        favicon,
        healthz,
        metrics,
        openapi,
        regions,
        summary,
        cards,
        card,
        note,
        region_reference,
        calendar,
        publish_calendar,
        stats_calls,
        events,
        crate::appeals_http::appeals_summary,
        crate::appeals_http::appeals_list,
        crate::appeals_http::appeals_crime_signs,
        crate::appeals_http::appeal,
        crate::appeals_http::appeal_note,
        crate::kb_http::list,
        crate::kb_http::get,
        crate::kb_http::create,
        crate::kb_http::edit,
        crate::kb_http::publish,
        crate::kb_http::withdraw,
        crate::report_1ol_http::report,
        crate::report_1ol_http::version,
        crate::report_1ol_http::xlsx,
        crate::report_1ol_http::region,
        crate::report_1ol_http::book,
        crate::meetings_http::national,
        crate::meetings_http::region
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "national", description = "The national picture (HQ accounts: hq_duty reads and writes notes, hq_analyst reads)"),
        (name = "appeals", description = "Citizens' appeals of every region (R16, R33): hq_duty and hq_analyst read, hq_duty writes control notes"),
        (name = "kb", description = "The knowledge base (R19): HQ reads the articles; kb_editor accounts write and publish those of their account's service, which replicate to every region"),
        (name = "reports", description = "The national report 1-ОЛ (R32): hq_duty and hq_analyst read it, its issued versions and each region's records; hq_duty takes citizens' reception bookings through the hub for a region that may be cut off (R31)"),
        (name = "meetings", description = "District inspectors' report meetings (R22): hq_duty and hq_analyst read the national table of beats covered this quarter and each region's beats"),
        (name = "accounts", description = "HQ accounts and sessions (admin: accounts; everyone: their own password)"),
        (name = "operations", description = "Health, metrics and this document"),
        (name = "dashboard", description = "The HQ dashboard's files")
    )
)]
pub struct ApiDoc;

/// HTTP methods the hub serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verb {
    Get,
    Post,
    Put,
}

impl Verb {
    /// As in an OpenAPI path item (`get`, `post`).
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "get",
            Verb::Post => "post",
            Verb::Put => "put",
        }
    }
    fn filter(self) -> MethodFilter {
        match self {
            Verb::Get => MethodFilter::GET,
            Verb::Post => MethodFilter::POST,
            Verb::Put => MethodFilter::PUT,
        }
    }
}

struct Route {
    verb: Verb,
    path: &'static str,
    handler: MethodRouter<Shared>,
}

fn route<H, T>(verb: Verb, path: &'static str, handler: H) -> Route
where
    H: Handler<T, Shared>,
    T: 'static,
{
    Route {
        verb,
        path,
        handler: on(verb.filter(), handler),
    }
}

/// Every route of the hub, each described in [`ApiDoc`] under the same path and method.
fn routes() -> Vec<Route> {
    use Verb::{Get, Post, Put};
    vec![
        route(Get, "/", index),
        route(Get, "/assets/{name}", asset),
        route(Get, "/kit/{name}", kit),
        route(Get, "/kit/leaflet/{name}", leaflet),
        route(Get, "/kit/leaflet/images/{name}", leaflet_image),
        route(Get, "/tiles/{z}/{x}/{y}", tile),
        route(Get, "/api/v1/map/config", map_config),
        route(Get, "/api/v1/map/units", map_units),
        route(Get, "/favicon.ico", favicon),
        route(Get, "/healthz", healthz),
        route(Get, "/metrics", metrics),
        route(Get, "/api/v1/openapi.json", openapi),
        route(Get, "/api/v1/regions", regions),
        route(Get, "/api/v1/summary", summary),
        route(Get, "/api/v1/cards", cards),
        route(Get, "/api/v1/cards/{region}/{id}", card),
        route(Post, "/api/v1/cards/{region}/{id}/notes", note),
        route(Get, "/api/v1/regions/{region}/reference", region_reference),
        route(Get, "/api/v1/calendar", calendar),
        route(Put, "/api/v1/calendar/{year}", publish_calendar),
        route(Get, "/api/v1/stats/calls", stats_calls),
        route(Get, "/api/v1/events", events),
        route(
            Get,
            "/api/v1/appeals/summary",
            appeals_http::appeals_summary,
        ),
        route(Get, "/api/v1/appeals", appeals_http::appeals_list),
        route(
            Get,
            "/api/v1/appeals/crime-signs",
            appeals_http::appeals_crime_signs,
        ),
        route(Get, "/api/v1/appeals/{region}/{id}", appeals_http::appeal),
        route(
            Post,
            "/api/v1/appeals/{region}/{id}/notes",
            appeals_http::appeal_note,
        ),
        route(Get, "/api/v1/kb/articles", crate::kb_http::list),
        route(Post, "/api/v1/kb/articles", crate::kb_http::create),
        route(Get, "/api/v1/kb/articles/{id}", crate::kb_http::get),
        route(Put, "/api/v1/kb/articles/{id}", crate::kb_http::edit),
        route(
            Post,
            "/api/v1/kb/articles/{id}/publish",
            crate::kb_http::publish,
        ),
        route(
            Post,
            "/api/v1/kb/articles/{id}/withdraw",
            crate::kb_http::withdraw,
        ),
        route(Get, "/api/v1/reports/1-ol", crate::report_1ol_http::report),
        route(
            Get,
            "/api/v1/reports/1-ol/versions/{version}",
            crate::report_1ol_http::version,
        ),
        route(
            Get,
            "/api/v1/reports/1-ol.xlsx",
            crate::report_1ol_http::xlsx,
        ),
        route(
            Get,
            "/api/v1/reports/1-ol/regions/{region}",
            crate::report_1ol_http::region,
        ),
        route(
            Post,
            "/api/v1/reception/{region}/bookings",
            crate::report_1ol_http::book,
        ),
        route(
            Get,
            "/api/v1/meetings/coverage",
            crate::meetings_http::national,
        ),
        route(
            Get,
            "/api/v1/meetings/coverage/{region}",
            crate::meetings_http::region,
        ),
    ]
}

/// The method and path of every route [`app`] serves (for the test that compares them with
/// the OpenAPI document).
pub fn route_list() -> Vec<(&'static str, &'static str)> {
    let mut all: Vec<(&'static str, &'static str)> = routes()
        .into_iter()
        .map(|r| (r.verb.as_str(), r.path))
        .collect();
    all.extend(server_kit::account_api::ROUTES.iter().copied());
    all
}

/// The whole HTTP application; tests call it without a socket.
pub fn app(state: Shared) -> Router {
    let mut router = Router::new();
    for r in routes() {
        router = router.route(r.path, r.handler);
    }
    router
        .merge(server_kit::account_api::routes(
            "/api/v1",
            state.clone() as server_kit::account_api::Host,
        ))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(state.http_body_bytes_max))
        .layer(middleware::from_fn(server_kit::web::json_errors))
        .layer(middleware::from_fn(server_kit::web::security_headers))
        .layer(middleware::from_fn_with_state(
            state.metrics.http().clone(),
            server_kit::metrics::track,
        ))
        .with_state(state)
}
