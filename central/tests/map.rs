//! HQ's map: the hub serves the PMTiles file `[map] tiles` names (relative to its config file)
//! and tells the dashboard where the tiles lie; a corrupt tile file stops the start, named.

mod common;

use axum::http::StatusCode;
use central::server::open_central;
use common::*;
use server_kit::tiles::{tile_at, write_pmtiles, TileType};

const ADMIN_PASSWORD: &str = "hq-admin-password";

fn config(dir: &std::path::Path, tiles: &str) -> central::config::Config {
    let file = dir.join("central.toml");
    std::fs::write(&file, format!("[map]\ntiles = \"{tiles}\"\n")).unwrap();
    let mut c = central::config::Config::load_layers(&[&file]).unwrap();
    c.accounts.argon2_memory_kib = 1024;
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hub_serves_its_tile_file_and_the_map_config() {
    let dir = tempfile::tempdir().unwrap();
    let (x, y) = tile_at(6, 48.0, 67.0);
    write_pmtiles(
        &dir.path().join("kz.pmtiles"),
        &[(6, x, y, b"kz tile".to_vec())],
        TileType::Png,
    )
    .unwrap();
    let hub = open_central(
        &config(dir.path(), "kz.pmtiles"),
        &dir.path().join("data"),
        Some(ADMIN_PASSWORD.into()),
    )
    .await
    .unwrap();
    let app = central::http::app(hub.state.clone());
    let (s, body) = call(&app, "GET", &format!("/tiles/6/{x}/{y}"), "", None).await;
    assert_eq!((s, body.as_str()), (StatusCode::OK, "kz tile"));
    let (s, _) = call(&app, "GET", "/tiles/6/99/0", "", None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = call(&app, "GET", "/api/v1/map/config", "", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (_, token) = hq_duty_session(&app, ADMIN_PASSWORD).await;
    let (s, body) = call(&app, "GET", "/api/v1/map/config", &token, None).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let c: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (c["tiles"].as_bool(), c["max_zoom"].as_u64()),
        (Some(true), Some(6)),
        "{c}"
    );
    let (s, _) = call(&app, "GET", "/kit/leaflet/images/marker-icon.png", "", None).await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_tile_file_stops_the_hub_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("kz.pmtiles"), vec![0u8; 500]).unwrap();
    let err = match open_central(
        &config(dir.path(), "kz.pmtiles"),
        &dir.path().join("data"),
        None,
    )
    .await
    {
        Ok(_) => panic!("the hub opened with a corrupt tile file"),
        Err(e) => format!("{e:#}"),
    };
    assert!(
        err.contains("kz.pmtiles") && err.contains("not a PMTiles file"),
        "{err}"
    );
}
