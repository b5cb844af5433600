//! HTTP API (axum): JSON under `/api/v1`, OpenAPI generated from these handlers, `/healthz`,
//! `/metrics`, live events over SSE, and the embedded console.
//!
//! Every error is JSON `{code, message, field?}` with a 4xx (or 5xx for storage failures that
//! are not the caller's fault). Handlers validate fully before calling the service, and the
//! service validates before writing, so a rejected request stores nothing.
//!
//! One module per area: [`cards`], [`units`] (dispatch, units, roster), [`reference`] (the region's
//! reference data and address warnings), [`supervision`], [`events`] (SSE), [`calls`] and
//! [`recordings`] (operators' call API), [`citizen`] (the citizens' WebSocket signalling),
//! [`accounts`] (the node's side of the shared account endpoints) and [`assets`] (console and
//! citizen page). Each declares its own routes; this module joins them into [`app`] and the OpenAPI
//! document. Only these modules know routes: the call, card and replication services never name
//! `http`.

mod accounts;
mod appeal_cards;
mod appeals;
mod assets;
mod calls;
mod cards;
mod citizen;
mod citizen_appeals;
mod events;
mod field;
mod forms;
mod geo;
mod health;
mod inbox;
mod kb;
mod meetings;
mod reception;
mod recordings;
mod reference;
mod reports;
mod search;
mod state;
mod supervision;
mod tiles;
mod units;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use server_kit::web::{document_common_errors, json_errors, security_headers, ApiError};
use utoipa::{OpenApi, ToSchema};

// The OpenAPI document names each handler bare, through these imports of their `__path_*`
// descriptions: a qualified name (`cards::create_card`) would become the operation's tag.
use appeal_cards::*;
use appeals::*;
use calls::*;
use cards::*;
use citizen_appeals::*;
use events::*;
use field::*;
use forms::*;
use geo::*;
use health::*;
use inbox::*;
use kb::*;
use meetings::*;
use reception::*;
use recordings::*;
use reference::*;
use reports::*;
use search::*;
use supervision::*;
use tiles::*;
use units::*;

pub use assets::CONSOLE_ASSETS;
pub use state::{AppState, SharedState};
pub use tiles::open_tiles;

/// Wall clock, read only in the shell (the one reading is `server_kit::clock`); re-exported for
/// the integration tests and the simulations.
pub use server_kit::clock::now_ms;

#[derive(Serialize, ToSchema)]
pub struct Health {
    status: &'static str,
    /// A training node (demo data, never replicates): monitoring treats it as such, and the
    /// pages it serves show a banner.
    training: bool,
}

#[utoipa::path(get, path = "/healthz", responses((status = 200, body = Health)))]
async fn healthz(State(s): State<SharedState>) -> Json<Health> {
    Json(Health {
        status: "ok",
        training: s.training,
    })
}

/// On a training node: the [`crate::training::HEADER`] on every answer, and the kit's banner
/// on every HTML page (console, citizen pages, widget and meeting pages alike).
async fn training_marks(req: axum::extract::Request, next: middleware::Next) -> Response {
    let resp = next.run(req).await;
    let (mut parts, body) = resp.into_parts();
    parts.headers.insert(
        crate::training::HEADER,
        axum::http::HeaderValue::from_static("1"),
    );
    let html = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if !html {
        return Response::from_parts(parts, body);
    }
    let page = match axum::body::to_bytes(body, crate::training::PAGE_BYTES_MAX).await {
        Ok(bytes) => bytes,
        Err(e) => {
            tracing::error!(error = %e, "a page could not be marked as training");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let marked = match std::str::from_utf8(&page) {
        Ok(text) => crate::training::mark_page(text).into_bytes(),
        Err(_) => page.to_vec(),
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(marked))
}

#[utoipa::path(get, path = "/metrics", responses((status = 200, description = "Prometheus text format")))]
async fn metrics(State(s): State<SharedState>) -> Response {
    let replication = s
        .replication
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let text = s.metrics.render(&s.service, &replication, &s.calls);
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "102 regional node API",
        description = "Cards, dispatch, accounts and audit of a regional ЦОУ node."
    ),
    paths(
        healthz,
        metrics,
        reference,
        calendar,
        create_card,
        list_cards,
        card_history,
        get_card,
        search_cards,
        related_cards,
        duplicate_suggestions,
        edit_card,
        send_for_processing,
        dispatch_unit,
        dispatch_dsog,
        unit_en_route,
        unit_on_scene,
        unit_clear,
        unit_unassign,
        report,
        note,
        close,
        cancel,
        link_duplicate,
        forward,
        register_kui,
        list_units,
        set_unit_status,
        get_roster,
        add_roster,
        current_roster,
        bind_patrol_unit,
        warnings,
        personal_data_reads,
        timeliness,
        shift_summary,
        events,
        list_calls,
        get_call,
        operators,
        ice_config,
        list_missed,
        record_callback,
        call_history,
        accept,
        transfer,
        decline,
        hangup,
        list_recordings,
        recording_file,
        create_appeal,
        list_appeals,
        board,
        officers,
        export,
        get_appeal,
        duplicates,
        suggestions,
        register,
        not_considered,
        appeal_transfer,
        cancel_transfer,
        route,
        assign,
        split,
        crime_signs,
        kui,
        correct_kind,
        fill_z1,
        appeal_forms,
        appeal_forms_csv,
        appeal_forms_xlsx,
        report_1ol,
        report_1ol_xlsx,
        report_1ol_headings,
        admin_health,
        extend,
        extension_notice,
        submit_draft,
        draft_docx,
        return_draft,
        approve,
        answer_docx,
        appeal_note,
        attach,
        attachment,
        open_card_from_appeal,
        open_appeal_from_card,
        citizen_submit_appeal,
        citizen_appeal_status,
        citizen_answer_docx,
        map_units,
        map_posts,
        unit_track,
        unit_photo,
        incident_reference,
        geocode,
        closest_units,
        card_route,
        tile,
        map_config,
        map_incidents,
        inbox_list,
        inbox_get,
        inbox_file,
        inbox_take,
        inbox_reply,
        inbox_close,
        inbox_card,
        inbox_appeal,
        kb_search,
        reception_schedule,
        reception_set_schedule,
        reception_form,
        reception_queue,
        reception_book,
        reception_booking,
        reception_lp1,
        reception_held,
        reception_not_held,
        meetings_beats,
        meetings_coverage,
        meetings_of_beat,
        meetings_create,
        meetings_get,
        meetings_protocol_docx,
        meetings_report_docx,
        meetings_add_recording,
        meetings_recording,
        meetings_reschedule,
        meetings_notice,
        meetings_notice_docx,
        public_meetings,
        meetings_invitation,
        meetings_register,
        meetings_held,
        meetings_protocol,
        meetings_items,
        meetings_sign,
        meetings_correction,
        meetings_follow_up,
        meetings_forward_item,
        meetings_hold,
        meetings_cancel
    )
)]
pub struct ApiDoc;

/// The node's whole OpenAPI document: its own routes and the shared account routes.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.merge(server_kit::account_api::AccountsDoc::openapi());
    document_common_errors(&mut doc);
    doc
}

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(openapi_document())
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}

/// The whole HTTP application; tests call it without a socket.
pub fn app(state: SharedState) -> Router {
    let api = Router::new()
        .merge(reference::routes())
        .merge(search::routes())
        .merge(kb::routes())
        .merge(reception::routes())
        .merge(meetings::routes())
        .merge(cards::routes())
        .merge(appeals::routes())
        .merge(appeal_cards::routes())
        .merge(forms::routes())
        .merge(reports::routes())
        .merge(health::routes())
        .merge(units::routes())
        .merge(field::routes())
        .merge(supervision::routes())
        .merge(events::routes())
        .merge(geo::routes())
        .merge(tiles::api_routes())
        .route("/openapi.json", get(openapi))
        .merge(calls::routes())
        .merge(recordings::routes())
        .merge(inbox::routes())
        .merge(accounts::routes(&state))
        .fallback(not_found);
    let app = Router::new()
        .merge(assets::routes())
        .merge(tiles::routes())
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .merge(citizen::routes())
        .merge(state.widget.routes())
        .merge(citizen_appeals::routes())
        .merge(meetings::page_routes())
        .merge(state.messengers.routes())
        .nest("/api/v1", api)
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(state.http_body_bytes_max))
        .layer(middleware::from_fn(json_errors))
        .layer(middleware::from_fn(security_headers))
        .layer(middleware::from_fn_with_state(
            state.metrics.http().clone(),
            server_kit::metrics::track,
        ));
    let app = if state.training {
        app.layer(middleware::from_fn(training_marks))
    } else {
        app
    };
    app.with_state(state)
}
