//! Static files compiled into the binary: the operators' console, the citizen's test page and
//! the web widget with its test page.

use axum::extract::Path;
use axum::response::{Html, Response};
use axum::routing::get;
use axum::Router;
use server_kit::web::embedded_asset;

use super::state::SharedState;

// ------------------------------------------------------------------------------ console

const INDEX_HTML: &str = include_str!("../../assets/console/index.html");

/// The console's files under `/assets/`: ES modules (the views in `views/`) that import the
/// shared kit from `/kit/` (`server_kit::assets`). A test checks the folder has no other file.
pub const CONSOLE_ASSETS: &[(&str, &str)] = server_kit::embed_files!(
    "../../assets/console",
    [
        "alerts.js",
        "app.css",
        "app.js",
        "data.js",
        "i18n.js",
        "inbox_data.js",
        "keys.js",
        "state.js",
        "views/admin.js",
        "views/appeal_detail.js",
        "views/appeal_forms.js",
        "views/appeals_manager.js",
        "views/appeals_officer.js",
        "views/appeals_registrar.js",
        "views/audit.js",
        "views/call_taker.js",
        "views/calls.js",
        "views/card_actions.js",
        "views/card_detail.js",
        "views/cards.js",
        "views/dispatch.js",
        "views/health.js",
        "views/map.js",
        "views/map_panel.js",
        "views/meetings.js",
        "views/premise.js",
        "views/search.js",
        "views/shift_summary.js",
        "views/incident_reference.js",
        "views/inbox.js",
        "views/inbox_detail.js",
        "views/supervisor.js",
        "views/reception.js",
        "views/reports.js",
    ]
);

async fn console_index() -> Html<&'static str> {
    Html(INDEX_HTML)
}

const CITIZEN_HTML: &str = include_str!("../../assets/citizen/index.html");
const CITIZEN_JS: &str = include_str!("../../assets/citizen/app.js");
const CITIZEN_CSS: &str = include_str!("../../assets/citizen/app.css");

/// A citizen's calling page that behaves like the "102" app (for tests and demonstrations).
async fn citizen_page() -> Html<&'static str> {
    Html(CITIZEN_HTML)
}

const CITIZEN_APPEAL_HTML: &str = include_str!("../../assets/citizen/appeal.html");
const CITIZEN_APPEAL_JS: &str = include_str!("../../assets/citizen/appeal.js");
const CITIZEN_APPEAL_CSS: &str = include_str!("../../assets/citizen/appeal.css");

/// A citizen's appeal page that behaves like the "102" / "Закон и Порядок" apps' written
/// appeal: submit, the талон, the status and the answer (for tests and demonstrations).
async fn citizen_appeal_page() -> Html<&'static str> {
    Html(CITIZEN_APPEAL_HTML)
}

async fn citizen_asset(Path(name): Path<String>) -> Response {
    embedded_asset(
        &[
            ("app.js", CITIZEN_JS),
            ("app.css", CITIZEN_CSS),
            ("appeal.js", CITIZEN_APPEAL_JS),
            ("appeal.css", CITIZEN_APPEAL_CSS),
        ],
        &name,
    )
}

const WIDGET_DEMO_HTML: &str = include_str!("../../assets/widget/demo.html");
/// The web widget (`channels::widget`): the script a web site embeds, its style sheet (loaded
/// into the widget's shadow root) and the test page's own style.
const WIDGET_ASSETS: &[(&str, &str)] = &[
    ("widget.js", include_str!("../../assets/widget/widget.js")),
    ("widget.css", include_str!("../../assets/widget/widget.css")),
    ("demo.css", include_str!("../../assets/widget/demo.css")),
];

/// A page that stands in for the police web site with the chat widget on it (for tests and
/// demonstrations).
async fn widget_demo() -> Html<&'static str> {
    Html(WIDGET_DEMO_HTML)
}

async fn widget_asset(Path(name): Path<String>) -> Response {
    embedded_asset(WIDGET_ASSETS, &name)
}

async fn console_asset(Path(path): Path<String>) -> Response {
    embedded_asset(CONSOLE_ASSETS, &path)
}

/// Routes at the top level (not under `/api/v1`).
pub(super) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/", get(console_index))
        .route("/assets/{*path}", get(console_asset))
        .route("/kit/{name}", get(server_kit::assets::kit_asset))
        .route(
            "/kit/leaflet/{*path}",
            get(server_kit::assets::leaflet_asset),
        )
        .route("/favicon.ico", get(server_kit::assets::favicon))
        .route("/citizen", get(citizen_page))
        .route("/citizen/appeal", get(citizen_appeal_page))
        .route("/citizen/{name}", get(citizen_asset))
        .route("/widget/demo", get(widget_demo))
        .route("/widget/{name}", get(widget_asset))
}
