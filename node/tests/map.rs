//! The map's tiles: a node serves the PMTiles file its config names (relative to the config
//! file), tells the console where the tiles lie, and refuses to start on a corrupt tile file,
//! naming it.

mod common;

use std::process::{Command, Stdio};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::api_node::ADMIN_PASSWORD;
use node::config::Config;
use node::server::open_node;
use server_kit::tiles::{tile_at, write_pmtiles, TileType};
use tower::ServiceExt;

/// Four tiles over Astana at zoom 12.
fn tiles() -> Vec<(u8, u32, u32, Vec<u8>)> {
    let (x, y) = tile_at(12, 51.15, 71.45);
    [(0, 0), (1, 0), (0, 1), (1, 1)]
        .iter()
        .map(|(dx, dy)| (12, x + dx, y + dy, format!("png {dx}{dy}").into_bytes()))
        .collect()
}

fn config_with_tiles(dir: &std::path::Path, tiles_file: &str) -> Config {
    let file = dir.join("node.toml");
    std::fs::write(&file, format!("[map]\ntiles = \"{tiles_file}\"\n")).unwrap();
    let mut c = Config::load(Some(&file)).unwrap();
    c.accounts.argon2_memory_kib = 1024;
    c
}

async fn get(app: &axum::Router, path: &str, token: Option<&str>) -> axum::response::Response {
    let mut req = Request::builder().uri(path);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    app.clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap()
}

async fn json(resp: axum::response::Response) -> serde_json::Value {
    let b = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    serde_json::from_slice(&b).unwrap()
}

#[tokio::test]
async fn the_node_serves_its_tile_file_and_the_map_config() {
    let dir = tempfile::tempdir().unwrap();
    write_pmtiles(&dir.path().join("region.pmtiles"), &tiles(), TileType::Png).unwrap();
    let config = config_with_tiles(dir.path(), "region.pmtiles");
    let node = open_node(
        &config,
        &dir.path().join("data"),
        Some(ADMIN_PASSWORD.into()),
    )
    .await
    .unwrap();
    let app = node::http::app(node.state.clone());

    let (z, x, y, bytes) = &tiles()[3];
    let ok = get(&app, &format!("/tiles/{z}/{x}/{y}"), None).await;
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.headers()[header::CONTENT_TYPE], "image/png");
    assert!(ok.headers()[header::CACHE_CONTROL]
        .to_str()
        .unwrap()
        .starts_with("public, max-age="));
    let body = axum::body::to_bytes(ok.into_body(), 1 << 20).await.unwrap();
    assert_eq!(&body[..], &bytes[..]);
    assert_eq!(
        get(&app, "/tiles/12/0/0", None).await.status(),
        StatusCode::NOT_FOUND
    );
    let bad = get(&app, "/tiles/12/4096/0", None).await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json(bad).await["code"], "invalid_tile");

    // The map's configuration is for logged-in staff.
    assert_eq!(
        get(&app, "/api/v1/map/config", None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let mut t = common::api_node::TestNode {
        app: app.clone(),
        _dir: dir,
        data: std::path::PathBuf::new(),
        admin: String::new(),
    };
    let token = t.activate("admin", ADMIN_PASSWORD).await;
    t.admin = token.clone();
    let c = json(get(&app, "/api/v1/map/config", Some(&token)).await).await;
    assert_eq!(c["tiles"], true, "{c}");
    assert_eq!(c["tile_url"], "/tiles/{z}/{x}/{y}");
    assert_eq!(
        (c["min_zoom"].as_u64(), c["max_zoom"].as_u64()),
        (Some(12), Some(12))
    );
    let b: Vec<f64> = serde_json::from_value(c["bounds"].clone()).unwrap();
    assert!(
        b[0] < 71.45 && 71.45 < b[2] && b[1] < 51.15 && 51.15 < b[3],
        "{c}"
    );
}

#[tokio::test]
async fn a_node_without_a_tile_file_says_so() {
    let t = common::api_node::start().await;
    let (s, c) = t.call("GET", "/api/v1/map/config", &t.admin, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(c["tiles"], false, "{c}");
    assert!(c["bounds"].is_null() && c["center"].is_null(), "{c}");
    let (s, e) = t.call("GET", "/tiles/12/10/10", "", None).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("no_tiles"))
    );
}

#[tokio::test]
async fn a_corrupt_tile_file_stops_the_start_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("broken.pmtiles"),
        b"PMTiles\x03 but cut short",
    )
    .unwrap();
    let config = config_with_tiles(dir.path(), "broken.pmtiles");
    let err = match open_node(&config, &dir.path().join("data"), None).await {
        Ok(_) => panic!("a node opened with a corrupt tile file"),
        Err(e) => format!("{e:#}"),
    };
    assert!(
        err.contains("broken.pmtiles") && err.contains("not a PMTiles file"),
        "{err}"
    );
    assert!(
        !dir.path().join("data").exists(),
        "the database was opened before the check"
    );

    // The binary exits at start with the same message.
    let out = Command::new(env!("CARGO_BIN_EXE_node"))
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(dir.path().join("node.toml"))
        .arg("--data")
        .arg(dir.path().join("data"))
        .env("NODE_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("broken.pmtiles") && stderr.contains("not a PMTiles file"),
        "{stderr}"
    );
}

#[tokio::test]
async fn open_incidents_with_a_point_are_on_the_map_without_caller_data() {
    let t = common::api_node::start().await;
    let op = t.user("op1", &["call_taker"], None).await;
    let gus = t.user("gus1", &["dispatcher"], None).await;
    let body = |lat: Option<f64>| {
        let mut b = serde_json::json!({
            "channel": "app102_call",
            "caller": {"name": "Айгерим Серікқызы", "phone": "+77011234567"},
            "location": {"address": "г. Астана, ул. Кенесары, д. 40"},
            "description": "Драка у подъезда",
            "category": "assault"
        });
        if let Some(lat) = lat {
            b["location"]["lat"] = serde_json::json!(lat);
            b["location"]["lon"] = serde_json::json!(71.42);
        }
        b
    };
    let (s, with_point) = t
        .call("POST", "/api/v1/cards", &op, Some(body(Some(51.128))))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{with_point}");
    let (s, _) = t.call("POST", "/api/v1/cards", &op, Some(body(None))).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, list) = t.call("GET", "/api/v1/map/incidents", &gus, None).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["card_id"], with_point["id"]);
    assert_eq!(
        (list[0]["lat"].as_f64(), list[0]["lon"].as_f64()),
        (Some(51.128), Some(71.42))
    );
    let text = serde_json::to_string(&list).unwrap();
    assert!(
        !text.contains("+7701") && !text.contains("Айгерим"),
        "{text}"
    );
    let (s, _) = t.call("GET", "/api/v1/map/incidents", "", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}
