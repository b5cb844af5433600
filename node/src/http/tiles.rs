//! The map: tiles from the region's PMTiles file (`[map] tiles`) and what the browser needs to
//! know to draw them. Tiles are public like the console's own files: cartography carries no
//! personal or operational data, and a session check on each of the dozens of tile requests
//! of every pan would cost more than it protects. The configuration is behind the login, and so
//! are the open incidents' points (`GET /map/incidents`: number, category, priority and point of
//! each open card, no caller data, so reading them is not a personal-data read).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use server_kit::tiles::{tile_response, MapConfig, TileSet};
use server_kit::web::{ApiResult, Auth};
use sync::Role;

use super::state::{SharedState, STAFF};

/// Most incidents one map answer carries (the open cards of a busy shift fit), cards.
pub const MAP_INCIDENTS_MAX: usize = 500;

/// An open card's place on the map.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct MapIncident {
    card_id: String,
    number: String,
    status: sync::CardStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    category: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    priority: Option<u8>,
    lat: f64,
    lon: f64,
}

/// Opens and validates the configured tile file, refusing the start with an error that names
/// the file; `None` when the config names none.
pub fn open_tiles(config: &crate::config::Config) -> anyhow::Result<Option<Arc<TileSet>>> {
    match &config.map.tiles {
        None => Ok(None),
        Some(path) => Ok(Some(Arc::new(TileSet::open(path)?))),
    }
}

#[utoipa::path(get, path = "/tiles/{z}/{x}/{y}",
    params(("z" = u8, Path), ("x" = u32, Path), ("y" = u32, Path)),
    responses(
        (status = 200, description = "The tile, with the tile file's content type (image/png, image/jpeg, image/webp)"),
        (status = 400, description = "Outside the tile grid (`invalid_tile`)", body = server_kit::web::ApiErrorBody),
        (status = 404, description = "No such tile, or no tile file (`no_tiles`)", body = server_kit::web::ApiErrorBody)))]
async fn tile(
    State(s): State<SharedState>,
    Path((z, x, y)): Path<(String, String, String)>,
) -> Response {
    tile_response(s.tiles.clone(), &z, &x, &y).await
}

#[utoipa::path(get, path = "/api/v1/map/config", responses((status = 200, body = MapConfig)))]
async fn map_config(State(s): State<SharedState>, auth: Auth) -> ApiResult<Json<MapConfig>> {
    auth.require(&Role::NODE)?;
    Ok(Json(MapConfig::of(s.tiles.as_deref())))
}

/// The open cards that have a point, most urgent first (at most [`MAP_INCIDENTS_MAX`]).
#[utoipa::path(get, path = "/api/v1/map/incidents", responses((status = 200, body = [MapIncident])))]
async fn map_incidents(
    State(s): State<SharedState>,
    auth: Auth,
) -> ApiResult<Json<Vec<MapIncident>>> {
    auth.require(STAFF)?;
    let mut out = Vec::new();
    for summary in s.service.list_cards(None, None, MAP_INCIDENTS_MAX)? {
        let card = match s.service.get_card(&summary.id) {
            Ok(c) => c,
            // Closed or gone since the index was read.
            Err(crate::service::ServiceError::NotFound(_)) => continue,
            Err(e) => return Err(e.into()),
        };
        if let Some((lat, lon)) = card.location.as_ref().and_then(|l| l.point()) {
            out.push(MapIncident {
                card_id: card.id,
                number: card.number,
                status: card.status,
                category: card.category,
                priority: card.priority,
                lat,
                lon,
            });
        }
    }
    out.sort_by_key(|i| i.priority.unwrap_or(u8::MAX));
    Ok(Json(out))
}

/// `/tiles/…`, at the top level.
pub(super) fn routes() -> Router<SharedState> {
    Router::new().route("/tiles/{z}/{x}/{y}", get(tile))
}

/// `/map/config`, under `/api/v1`.
pub(super) fn api_routes() -> Router<SharedState> {
    Router::new()
        .route("/map/config", get(map_config))
        .route("/map/incidents", get(map_incidents))
}
