//! Where things are, through the node's HTTP API: the caller's location from the telephone
//! operator (R35), the closest units and a unit's route (R20), geocoding of typed addresses,
//! and refusing bad map files at start.
//!
//! The telephone operator's gateway is played by a small axum server on loopback: a STAND-IN
//! for the operator's real service, answering as node/API.md ("Caller location adapter") says.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use common::api_node::{test_config, TestNode, ADMIN_PASSWORD};
use common::until;
use node::config::{CallerLocationSection, Config};
use node::geo::UnitPositions;
use serde_json::{json, Value};
use sync::field::UnitPosition;

const WITHIN: Duration = Duration::from_secs(10);

async fn start_with(config: Config) -> (TestNode, node::server::Node) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("node");
    let node = node::server::open_node(&config, &data, Some(ADMIN_PASSWORD.into()))
        .await
        .unwrap();
    let mut t = TestNode {
        app: node::http::app(node.state.clone()),
        _dir: dir,
        data,
        admin: String::new(),
    };
    t.admin = t.activate("admin", ADMIN_PASSWORD).await;
    (t, node)
}

// ------------------------------------------------------------------ the operator's stand-in

/// How the stand-in gateway answers.
#[derive(Clone)]
enum Gateway {
    /// 200 with this JSON body.
    Answer(Value),
    /// 200 with this raw body.
    Raw(&'static str),
    /// Answers only after this long (past the node's timeout).
    Slow(Duration),
}

#[derive(Clone)]
struct GatewayState {
    mode: Gateway,
    asked: Arc<Mutex<Vec<String>>>,
}

async fn gateway(
    State(g): State<GatewayState>,
    Query(q): Query<std::collections::BTreeMap<String, String>>,
) -> Response {
    g.asked
        .lock()
        .unwrap()
        .push(q.get("msisdn").cloned().unwrap_or_default());
    match g.mode {
        Gateway::Answer(v) => axum::Json(v).into_response(),
        Gateway::Raw(s) => (StatusCode::OK, s).into_response(),
        Gateway::Slow(d) => {
            // The stand-in is a slow operator, not a test waiting for something.
            tokio::time::sleep(d).await;
            (StatusCode::NOT_FOUND, "").into_response()
        }
    }
}

/// Starts the stand-in on a loopback port; returns its URL and the numbers it was asked about.
async fn start_gateway(mode: Gateway) -> (String, Arc<Mutex<Vec<String>>>) {
    let asked = Arc::new(Mutex::new(Vec::new()));
    let app = Router::new()
        .route("/location", get(gateway))
        .with_state(GatewayState {
            mode,
            asked: asked.clone(),
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (format!("http://{addr}/location"), asked)
}

fn with_gateway(url: &str, timeout_ms: u64) -> Config {
    let mut c = test_config();
    c.caller_location = Some(CallerLocationSection {
        url: url.to_string(),
        timeout_ms,
    });
    c
}

/// A "102" app call's card with the caller's phone and no location.
async fn phone_only_card(t: &TestNode, op: &str) -> Value {
    let (s, card) = t
        .call(
            "POST",
            "/api/v1/cards",
            op,
            Some(json!({"channel": "app102_call", "caller": {"phone": "+7 701 123 45 67"}})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{card}");
    card
}

async fn card(t: &TestNode, token: &str, id: &str) -> Value {
    t.ok("GET", &format!("/api/v1/cards/{id}"), token, None)
        .await
}

/// Waits until the card's lookup is no longer pending and returns the card's view.
async fn settled(t: &TestNode, token: &str, id: &str) -> Value {
    until(WITHIN, "the caller-location lookup ends", || async {
        card(t, token, id).await["caller_location_lookup"] != "pending"
    })
    .await;
    card(t, token, id).await
}

#[tokio::test]
async fn r35_operator_network_location_becomes_the_cards_point() {
    let at = node::http::now_ms() - 20_000;
    let (url, asked) = start_gateway(Gateway::Answer(json!({
        "lat": 51.1301, "lon": 71.4302, "accuracy_m": 450, "kind": "network", "at": at
    })))
    .await;
    let (t, _node) = start_with(with_gateway(&url, 2_000)).await;
    let op = t.user("op1", &["call_taker"], None).await;
    let created = phone_only_card(&t, &op).await;
    assert!(created["location"].is_null(), "{created}");
    let id = created["id"].as_str().unwrap();
    let c = settled(&t, &op, id).await;
    assert_eq!(c["caller_location_lookup"], "found", "{c}");
    assert_eq!(c["location"]["source"], "telco_network", "{c}");
    assert_eq!(c["location"]["lat"], 51.1301);
    assert_eq!(c["location"]["accuracy_m"], 450.0);
    // Asked with the phone in E.164.
    assert_eq!(*asked.lock().unwrap(), vec!["+77011234567".to_string()]);
}

#[tokio::test]
async fn r35_registered_location_and_no_lookup_when_the_app_gave_a_point() {
    let (url, asked) = start_gateway(Gateway::Answer(json!({
        "lat": 51.14, "lon": 71.41, "kind": "registered", "at": 1_600_000_000_000_i64
    })))
    .await;
    let (t, _node) = start_with(with_gateway(&url, 2_000)).await;
    let op = t.user("op1", &["call_taker"], None).await;
    let id = phone_only_card(&t, &op).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let c = settled(&t, &op, &id).await;
    assert_eq!(c["location"]["source"], "telco_registered", "{c}");
    // A card with its own point asks nothing: the handset's fix is better than the operator's.
    let (s, with_point) = t
        .call(
            "POST",
            "/api/v1/cards",
            &op,
            Some(
                json!({"channel": "app102_call", "caller": {"phone": "+77017654321"},
                "location": {"lat": 51.15, "lon": 71.42, "source": "telco_network"}}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    // The node says where a point came from: typed in the console, it is the operator's.
    assert_eq!(with_point["location"]["source"], "operator", "{with_point}");
    let view = card(&t, &op, with_point["id"].as_str().unwrap()).await;
    assert!(view["caller_location_lookup"].is_null(), "{view}");
    assert_eq!(asked.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn r35_not_configured_says_so_on_every_card() {
    let (t, _node) = start_with(test_config()).await;
    let op = t.user("op1", &["call_taker"], None).await;
    let id = phone_only_card(&t, &op).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let c = card(&t, &op, &id).await;
    assert_eq!(c["caller_location_lookup"], "not_configured", "{c}");
    assert!(c["location"].is_null(), "{c}");
}

#[tokio::test]
async fn r35_timeout_the_card_is_created_at_once_and_keeps_no_point() {
    let (url, _) = start_gateway(Gateway::Slow(Duration::from_secs(8))).await;
    let (t, _node) = start_with(with_gateway(&url, 2_500)).await;
    let op = t.user("op1", &["call_taker"], None).await;
    let id = phone_only_card(&t, &op).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    // The card was answered while the operator was still being asked: it did not wait.
    let first = card(&t, &op, &id).await;
    assert_eq!(first["caller_location_lookup"], "pending", "{first}");
    let c = settled(&t, &op, &id).await;
    assert_eq!(c["caller_location_lookup"], "failed", "{c}");
    assert!(c["location"].is_null(), "{c}");
}

#[tokio::test]
async fn r35_malformed_answer_is_ignored() {
    let (url, _) = start_gateway(Gateway::Raw("{\"lat\": \"north\"}")).await;
    let (t, _node) = start_with(with_gateway(&url, 2_000)).await;
    let op = t.user("op1", &["call_taker"], None).await;
    let id = phone_only_card(&t, &op).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let c = settled(&t, &op, &id).await;
    assert_eq!(c["caller_location_lookup"], "failed", "{c}");
    assert!(c["location"].is_null(), "{c}");
}

// ------------------------------------------------------------------ closest units and routes

struct Fixed(Vec<(String, UnitPosition)>);
impl UnitPositions for Fixed {
    fn latest(&self) -> Vec<(String, UnitPosition)> {
        self.0.clone()
    }
}

/// A point of a ring road of 36 junctions, radius 0.01° of latitude, around `CENTRE`.
const CENTRE: (f64, f64) = (51.128, 71.430);
fn ring(i: usize) -> (f64, f64) {
    let a = std::f64::consts::TAU * i as f64 / 36.0;
    (
        CENTRE.0 + 0.01 * a.sin(),
        CENTRE.1 + 0.01 * a.cos() / CENTRE.0.to_radians().cos(),
    )
}

/// The ring as a road file, cut between junction 35 and junction 0, 20 s a segment.
fn ring_roads(dir: &std::path::Path) -> std::path::PathBuf {
    let mut s = String::from("from_lat,from_lon,to_lat,to_lon,seconds,oneway\n");
    for i in 0..35 {
        let (p, q) = (ring(i), ring(i + 1));
        s.push_str(&format!("{},{},{},{},20,0\n", p.0, p.1, q.0, q.1));
    }
    let path = dir.join("roads.csv");
    std::fs::write(&path, s).unwrap();
    path
}

async fn card_at(t: &TestNode, op: &str, p: (f64, f64)) -> String {
    let v = t
        .ok(
            "POST",
            "/api/v1/cards",
            op,
            Some(json!({"channel": "telegram", "category": "assault",
                "location": {"lat": p.0, "lon": p.1}})),
        )
        .await;
    v["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn r20_closest_units_endpoint_ranks_and_flags() {
    let (t, node) = start_with(test_config()).await;
    let now = node::http::now_ms();
    let fix = |p: (f64, f64), age_ms: i64| UnitPosition {
        at_ms: now - age_ms,
        lat: p.0,
        lon: p.1,
        accuracy_m: None,
        speed_kmh: None,
        heading_deg: None,
    };
    node.state.geo.set_unit_positions(Arc::new(Fixed(vec![
        ("p01".into(), fix(ring(4), 0)),
        ("p02".into(), fix(ring(34), 0)),
        ("p03".into(), fix(ring(18), 11 * 60 * 1000)),
    ])));
    let op = t.user("op1", &["call_taker"], None).await;
    let disp = t.user("disp1", &["dispatcher"], None).await;
    let id = card_at(&t, &op, ring(0)).await;
    let r = t
        .ok(
            "GET",
            &format!("/api/v1/cards/{id}/closest-units"),
            &disp,
            None,
        )
        .await;
    assert_eq!(r["method"], "straight_line", "{r}");
    let units = r["units"].as_array().unwrap();
    let ids: Vec<&str> = units
        .iter()
        .map(|u| u["unit_id"].as_str().unwrap())
        .collect();
    // By straight line p02 (two segments away across the cut) is nearest; then p01, then the
    // stale p03 on the far side; then every other available unit, with no position.
    assert_eq!(&ids[..3], ["p02", "p01", "p03"], "{r}");
    assert_eq!(units[0]["call_sign"], "Беркут-12");
    assert_eq!(units[2]["stale"], true);
    assert!(units[3]["distance_m"].is_null() && units[3]["eta_s"].is_null());
    let d0 = units[0]["distance_m"].as_f64().unwrap();
    let d1 = units[1]["distance_m"].as_f64().unwrap();
    assert!(d0 < d1, "{r}");

    // A dispatched unit is not recommended.
    t.ok(
        "POST",
        &format!("/api/v1/cards/{id}/send-for-processing"),
        &op,
        Some(json!({})),
    )
    .await;
    let (s, v) = t
        .call(
            "POST",
            &format!("/api/v1/cards/{id}/dispatch"),
            &disp,
            Some(json!({"unit_id": "p02"})),
        )
        .await;
    if s.is_success() {
        let r = t
            .ok(
                "GET",
                &format!("/api/v1/cards/{id}/closest-units"),
                &disp,
                None,
            )
            .await;
        assert!(
            r["units"]
                .as_array()
                .unwrap()
                .iter()
                .all(|u| u["unit_id"] != "p02"),
            "{r}"
        );
    } else {
        panic!("dispatch failed: {s} {v}");
    }

    // A card with no point cannot be ranked: a code the console renders.
    let no_point = t
        .ok(
            "POST",
            "/api/v1/cards",
            &op,
            Some(json!({"channel": "telegram", "location": {"address": "где-то у реки"}})),
        )
        .await;
    let (s, e) = t
        .call(
            "GET",
            &format!(
                "/api/v1/cards/{}/closest-units",
                no_point["id"].as_str().unwrap()
            ),
            &disp,
            None,
        )
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::CONFLICT, Some("card_has_no_point"))
    );
    // The call-taker does not see units.
    let (s, _) = t
        .call(
            "GET",
            &format!("/api/v1/cards/{id}/closest-units"),
            &op,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn r20_closest_road_graph_ranks_by_travel_time_and_draws_the_route() {
    let files = tempfile::tempdir().unwrap();
    let mut config = test_config();
    config.map.roads = Some(ring_roads(files.path()));
    let (t, node) = start_with(config).await;
    let now = node::http::now_ms();
    let fix = |p: (f64, f64)| UnitPosition {
        at_ms: now,
        lat: p.0,
        lon: p.1,
        accuracy_m: None,
        speed_kmh: None,
        heading_deg: None,
    };
    node.state.geo.set_unit_positions(Arc::new(Fixed(vec![
        ("p01".into(), fix(ring(4))),
        ("p02".into(), fix(ring(34))),
    ])));
    let op = t.user("op1", &["call_taker"], None).await;
    let disp = t.user("disp1", &["dispatcher"], None).await;
    let id = card_at(&t, &op, ring(0)).await;
    let r = t
        .ok(
            "GET",
            &format!("/api/v1/cards/{id}/closest-units"),
            &disp,
            None,
        )
        .await;
    assert_eq!(r["method"], "road_graph", "{r}");
    // By road p02 must go all the way round the cut ring: p01 is first.
    assert_eq!(r["units"][0]["unit_id"], "p01", "{r}");
    assert_eq!(r["units"][0]["eta_s"].as_f64().map(f64::round), Some(80.0));
    assert_eq!(r["units"][1]["unit_id"], "p02");
    assert_eq!(r["units"][1]["eta_s"].as_f64().map(f64::round), Some(680.0));
    assert_eq!(r["units"][1]["method"], "road_graph");

    let route = t
        .ok(
            "GET",
            &format!("/api/v1/cards/{id}/route?unit=p01"),
            &disp,
            None,
        )
        .await;
    assert_eq!(route["method"], "road_graph", "{route}");
    // The unit's point, junctions 4, 3, 2, 1, 0, the card's point.
    assert_eq!(route["points"].as_array().unwrap().len(), 7, "{route}");
    assert_eq!(route["eta_s"].as_f64().map(f64::round), Some(80.0));
    let (s, e) = t
        .call(
            "GET",
            &format!("/api/v1/cards/{id}/route?unit=p05"),
            &disp,
            None,
        )
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::CONFLICT, Some("unit_position_unknown"))
    );
    let (s, e) = t
        .call(
            "GET",
            &format!("/api/v1/cards/{id}/route?unit=nope"),
            &disp,
            None,
        )
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("unknown_unit"))
    );
}

// ------------------------------------------------------------------ geocoding

#[tokio::test]
async fn geocoding_gives_an_address_only_card_its_point() {
    let files = tempfile::tempdir().unwrap();
    let register = files.path().join("addresses.csv");
    std::fs::write(
        &register,
        "address,lat,lon\n\"ул. Кенесары, 40\",51.1687,71.4236\n\"пр. Абая, 52\",51.16,71.43\n",
    )
    .unwrap();
    let mut config = test_config();
    config.map.addresses = Some(register);
    let (t, _node) = start_with(config).await;
    let op = t.user("op1", &["call_taker"], None).await;

    let g = t
        .ok("GET", "/api/v1/geocode?address=%D0%9A%D0%B5%D0%BD%D0%B5%D1%81%D0%B0%D1%80%D1%8B%20%D0%BA%D3%A9%D1%88%D0%B5%D1%81%D1%96%2040", &op, None)
        .await;
    assert_eq!(g["matched_address"], "ул. Кенесары, 40", "{g}");
    assert_eq!(
        (g["lat"].as_f64(), g["lon"].as_f64()),
        (Some(51.1687), Some(71.4236))
    );
    assert_eq!(g["match"], "match");
    let (s, e) = t
        .call("GET", "/api/v1/geocode?address=Luna%2099", &op, None)
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("address_not_found"))
    );
    let (s, _) = t
        .call("GET", "/api/v1/geocode?address=%20", &op, None)
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // A card typed with an address only gets the register's point, marked geocoded.
    let c = t
        .ok(
            "POST",
            "/api/v1/cards",
            &op,
            Some(json!({"channel": "telegram", "location": {"address": "Кенесары 40, кв. 3"}})),
        )
        .await;
    assert_eq!(c["location"]["source"], "geocoded", "{c}");
    assert_eq!(c["location"]["lat"], 51.1687);
    assert_eq!(c["location"]["address"], "Кенесары 40, кв. 3");
    // The console saves the card again with the same point and a new address: the point
    // follows the address.
    let id = c["id"].as_str().unwrap();
    let e = t
        .ok(
            "PATCH",
            &format!("/api/v1/cards/{id}"),
            &op,
            Some(json!({"location": {"lat": 51.1687, "lon": 71.4236, "address": "Абая 52"}})),
        )
        .await;
    assert_eq!(e["location"]["lat"], 51.16, "{e}");
    assert_eq!(e["location"]["source"], "geocoded");
}

#[tokio::test]
async fn geocoding_without_a_register_says_it_is_not_configured() {
    let (t, _node) = start_with(test_config()).await;
    let op = t.user("op1", &["call_taker"], None).await;
    let (s, e) = t
        .call("GET", "/api/v1/geocode?address=Kenesary%2040", &op, None)
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (
            StatusCode::NOT_FOUND,
            Some("address_register_not_configured")
        )
    );
}

// ------------------------------------------------------------------ bad files at start

#[tokio::test]
async fn bad_map_files_stop_the_start_naming_file_and_line() {
    let files = tempfile::tempdir().unwrap();
    let roads = files.path().join("roads.csv");
    std::fs::write(
        &roads,
        "from_lat,from_lon,to_lat,to_lon,seconds\n51.1,71.4,51.11,71.4,60\n51.1,71.4,51.11,71.4,-3\n",
    )
    .unwrap();
    let mut config = test_config();
    config.map.roads = Some(roads.clone());
    let dir = tempfile::tempdir().unwrap();
    let err = match node::server::open_node(&config, dir.path(), None).await {
        Ok(_) => panic!("a bad road file was accepted"),
        Err(e) => format!("{e:#}"),
    };
    assert!(err.contains(&roads.display().to_string()), "{err}");
    assert!(err.contains("line 3: seconds must be more than 0"), "{err}");

    let register = files.path().join("addresses.csv");
    std::fs::write(&register, "address;lat;lon\n").unwrap();
    let mut config = test_config();
    config.map.addresses = Some(register.clone());
    let dir = tempfile::tempdir().unwrap();
    let err = match node::server::open_node(&config, dir.path(), None).await {
        Ok(_) => panic!("a bad register was accepted"),
        Err(e) => format!("{e:#}"),
    };
    assert!(err.contains(&register.display().to_string()), "{err}");
    assert!(
        err.contains("line 1: the header must be `address,lat,lon`"),
        "{err}"
    );
}
