//! The hub's HTTP API without a socket: the OpenAPI document covers every route, metrics parse
//! and follow imports, the national endpoints answer from the index, bad input gets an
//! actionable JSON error.

mod common;

use std::collections::BTreeSet;

use axum::http::StatusCode;
use central::server::{open_central, Central};
use common::*;
use serde_json::{json, Value};
use sync::Channel;

const ADMIN_PASSWORD: &str = "hq-admin-password";

struct TestHub {
    _dir: tempfile::TempDir,
    central: Central,
    app: axum::Router,
    token: String,
}

impl TestHub {
    async fn start() -> TestHub {
        let dir = tempfile::tempdir().unwrap();
        let mut config = central::config::Config::load_layers(&[]).unwrap();
        config.accounts.argon2_memory_kib = 1024;
        let central = open_central(&config, dir.path(), Some(ADMIN_PASSWORD.into()))
            .await
            .unwrap();
        let app = central::http::app(central.state.clone());
        let (_, token) = hq_duty_session(&app, ADMIN_PASSWORD).await;
        TestHub {
            _dir: dir,
            central,
            app,
            token,
        }
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let (s, body) = call(&self.app, "GET", path, &self.token, None).await;
        (
            s,
            serde_json::from_str(&body).unwrap_or(Value::String(body)),
        )
    }

    async fn metrics(&self) -> String {
        let (s, body) = call(&self.app, "GET", "/metrics", "", None).await;
        assert_eq!(s, StatusCode::OK);
        body
    }

    fn store(&self, card: &mut TestCard) {
        let repo = self.central.state.hub.repo(&card.region);
        let mut repo = repo.lock().unwrap();
        card.store(&mut repo);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_describes_exactly_the_routes_served() {
    let hub = TestHub::start().await;
    let (s, doc) = call(&hub.app, "GET", "/api/v1/openapi.json", "", None).await;
    assert_eq!(s, StatusCode::OK);
    let doc: Value = serde_json::from_str(&doc).unwrap();
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .filter(|k| ["get", "post", "put", "patch", "delete"].contains(&k.as_str()))
                .map(move |m| (m.clone(), path.clone()))
        })
        .collect();
    let served: BTreeSet<(String, String)> = central::http::route_list()
        .into_iter()
        .map(|(verb, path)| (verb.to_string(), path.to_string()))
        .collect();
    assert_eq!(documented, served, "routes and the OpenAPI document differ");
    for name in [
        "NationalCard",
        "Summary",
        "RegionRow",
        "ApiErrorBody",
        "Card",
        "LoginResponse",
        "DelayStats",
    ] {
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "schema {name} missing"
        );
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    // Every documented operation is routed: never the fallback's 404, never 405.
    for (method, path) in &documented {
        let uri = path
            .replace("{region}", "AST")
            .replace("{id}", "00000000-0000-4000-8000-000000000001")
            .replace("{name}", "app.js");
        let (s, body) = call(&hub.app, &method.to_uppercase(), &uri, "", None).await;
        assert_ne!(s, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        assert!(
            !body.contains("no such endpoint"),
            "{method} {path} is not routed: {s} {body}"
        );
    }
}

/// `name{labels}` → value, from OpenMetrics text; panics on a line that is not a sample.
fn samples(text: &str) -> Vec<(String, f64)> {
    assert!(text.ends_with("# EOF\n"), "{text}");
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let (name, value) = l.rsplit_once(' ').unwrap_or_else(|| panic!("bad line {l}"));
            let value: f64 = value.parse().unwrap_or_else(|_| panic!("bad value in {l}"));
            (name.to_string(), value)
        })
        .collect()
}

fn sample(text: &str, name: &str) -> Option<f64> {
    samples(text)
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_parse_and_follow_imports() {
    let hub = TestHub::start().await;
    let before = hub.metrics().await;
    for (name, kind) in [
        ("central_region_documents", "gauge"),
        ("central_region_open_cards", "gauge"),
        ("central_region_connected", "gauge"),
        ("central_region_last_contact_ms", "gauge"),
        ("central_http_requests", "counter"),
        ("central_store_size_bytes", "gauge"),
    ] {
        assert!(
            before.contains(&format!("# HELP {name} ")),
            "{name}: {before}"
        );
        assert!(
            before.contains(&format!("# TYPE {name} {kind}\n")),
            "{name}: {before}"
        );
    }
    assert_eq!(
        sample(&before, r#"central_region_documents{region="AST"}"#),
        None
    );

    let r = reference();
    let mut card = TestCard::new(&r, "AST", 1, Channel::App102Call, "assault", NOW_MS);
    card.send(NOW_MS + MINUTE_MS);
    hub.store(&mut card);
    let after = hub.metrics().await;
    assert_eq!(
        sample(&after, r#"central_region_documents{region="AST"}"#),
        Some(1.0)
    );
    assert_eq!(
        sample(&after, r#"central_region_cards{region="AST"}"#),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &after,
            r#"central_region_open_cards{region="AST",status="sent_for_processing"}"#
        ),
        Some(1.0)
    );
    // The scrapes themselves were counted.
    assert!(
        sample(
            &after,
            r#"central_http_requests_total{method="GET",status="200"}"#
        )
        .unwrap()
            >= 1.0,
        "{after}"
    );
    card.cancel(NOW_MS + 2 * MINUTE_MS);
    hub.store(&mut card);
    let closed = hub.metrics().await;
    assert_eq!(
        sample(
            &closed,
            r#"central_region_open_cards{region="AST",status="sent_for_processing"}"#
        ),
        Some(0.0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn national_endpoints_answer_from_the_index() {
    let hub = TestHub::start().await;
    let r = reference();
    let now = server_kit::clock::now_ms();
    let mut waiting = TestCard::new(&r, "AST", 1, Channel::App102Call, "assault", now - HOUR_MS);
    waiting.send(now - HOUR_MS + MINUTE_MS);
    hub.store(&mut waiting);
    let mut fresh = TestCard::new(&r, "KAR", 2, Channel::Telegram, "theft", now - MINUTE_MS);
    hub.store(&mut fresh);
    let mut old = TestCard::new(&r, "KAR", 3, Channel::App102Text, "fraud", now - 3 * DAY_MS);
    old.cancel(now - 3 * DAY_MS + HOUR_MS);
    hub.store(&mut old);

    let (s, regions) = hub.get("/api/v1/regions").await;
    assert_eq!(s, StatusCode::OK, "{regions}");
    assert_eq!(regions[0]["region"], "AST");
    assert_eq!(
        (
            regions[1]["docs"].as_u64(),
            regions[1]["open_cards"].as_u64()
        ),
        (Some(2), Some(1))
    );
    assert_eq!(regions[1]["alert"], true, "never connected");

    let (s, queue) = hub.get("/api/v1/cards").await;
    assert_eq!(s, StatusCode::OK);
    let numbers: Vec<&str> = queue
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["number"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, ["AST-2026-000001", "KAR-2026-000002"]);
    let (_, kar) = hub.get("/api/v1/cards?region=KAR&status=new&limit=5").await;
    assert_eq!(kar[0]["region"], "KAR");
    assert_eq!(kar.as_array().unwrap().len(), 1);

    let (s, summary) = hub.get("/api/v1/summary").await;
    assert_eq!(s, StatusCode::OK, "{summary}");
    assert_eq!(
        summary["totals"],
        json!({"new": 1, "sent_for_processing": 1})
    );
    assert_eq!(summary["waiting_longest"][0]["number"], "AST-2026-000001");
    let sum = |rows: &Value| -> u64 {
        rows.as_array()
            .unwrap()
            .iter()
            .map(|e| e["count"].as_u64().unwrap())
            .sum()
    };
    assert_eq!(sum(&summary["calls_per_hour"]["by_region"]), 2, "{summary}");
    assert_eq!(
        sum(&summary["calls_per_hour"]["by_channel"]),
        2,
        "{summary}"
    );
    assert_eq!(sum(&summary["calls_per_day"]["by_region"]), 3, "{summary}");
    assert!(summary["calls_per_day"]["by_channel"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["channel"] == "app102_text" && e["count"] == 1));
    // The full breakdown: by region, channel and category.
    let (s, days) = hub.get("/api/v1/stats/calls?period=day").await;
    assert_eq!(s, StatusCode::OK, "{days}");
    assert_eq!(sum(&days), 3);
    assert!(days.as_array().unwrap().iter().any(|e| e["region"] == "KAR"
        && e["channel"] == "app102_text"
        && e["category"] == "fraud"));
    assert_eq!(days[0]["day"].as_str().unwrap().len(), "2026-03-02".len());
    let (_, hours) = hub.get("/api/v1/stats/calls?period=hour&region=KAR").await;
    assert_eq!(hours.as_array().unwrap().len(), 1, "{hours}");
    assert!(hours[0].get("day").is_none());
    assert_eq!(
        summary["dispatch_delay_ms"],
        json!({"p50": null, "p90": null, "count": 0})
    );

    let (s, card) = hub.get(&format!("/api/v1/cards/KAR/{}", fresh.id)).await;
    assert_eq!(
        (s, card["number"].as_str()),
        (StatusCode::OK, Some("KAR-2026-000002"))
    );
}

/// Central reads each region's cards with that region's own reference data, as its node
/// published it: here Almaty registers КУИ within 48 hours and Karaganda's node has not
/// published yet (the statutory 24 hours, codes without names). A reference document that
/// names another region or does not check is refused and changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_regions_cards_are_read_with_that_regions_reference_data() {
    let hub = TestHub::start().await;
    let demo = reference();
    let now = server_kit::clock::now_ms();
    let mut alm = (*demo).clone();
    alm.region.code = "ALM".into();
    alm.region.name_ru = "Алматы".into();
    alm.kui_deadline_h = 48;
    alm.categories[0].name_ru = "Категория Алматы".into();
    {
        let repo = hub.central.state.hub.repo("ALM");
        let mut repo = repo.lock().unwrap();
        use sync::protocol::Repo;
        repo.import("ALM/reference/region", &reference_doc(&alm, now), None)
            .unwrap();
        repo.group_commit().wait_written().unwrap();
        // Another region's data under Almaty's id, and data that does not check: refused.
        let mut forged = (*demo).clone();
        forged.region.code = "KAR".into();
        let refused = repo.import("ALM/reference/region", &reference_doc(&forged, now), None);
        assert!(
            matches!(refused, Err(sync::protocol::RepoError::Refused(ref m)) if m.contains("KAR")),
            "{refused:?}"
        );
        let mut empty = (*demo).clone();
        empty.region.code = "SHY".into();
        empty.categories.clear();
        assert!(matches!(
            repo.import("SHY/reference/region", &reference_doc(&empty, now), None),
            Err(sync::protocol::RepoError::Refused(_))
        ));
    }
    let mut in_alm = TestCard::new(
        &demo,
        "ALM",
        1,
        Channel::App102Call,
        "assault",
        now - HOUR_MS,
    );
    in_alm.send(now - HOUR_MS).forward(now - HOUR_MS);
    hub.store(&mut in_alm);
    let mut in_kar = TestCard::new(
        &demo,
        "KAR",
        2,
        Channel::App102Call,
        "assault",
        now - HOUR_MS,
    );
    in_kar.send(now - HOUR_MS).forward(now - HOUR_MS);
    hub.store(&mut in_kar);

    let (s, card) = hub.get(&format!("/api/v1/cards/ALM/{}", in_alm.id)).await;
    assert_eq!(s, StatusCode::OK, "{card}");
    assert_eq!(
        card["kui"]["deadline_at"],
        json!(now - HOUR_MS + 48 * HOUR_MS)
    );
    let (s, card) = hub.get(&format!("/api/v1/cards/KAR/{}", in_kar.id)).await;
    assert_eq!(s, StatusCode::OK, "{card}");
    assert_eq!(
        card["kui"]["deadline_at"],
        json!(now - HOUR_MS + 24 * HOUR_MS)
    );

    let (s, got) = hub.get("/api/v1/regions/ALM/reference").await;
    assert_eq!(s, StatusCode::OK, "{got}");
    assert_eq!(got["received"], true);
    assert_eq!(got["published_at"], json!(now));
    assert_eq!(
        got["reference"]["categories"][0]["name_ru"],
        "Категория Алматы"
    );
    assert_eq!(got["reference"]["kui_deadline_h"], 48);
    let (_, got) = hub.get("/api/v1/regions/KAR/reference").await;
    assert_eq!(got["received"], false);
    let (_, got) = hub.get("/api/v1/regions/SHY/reference").await;
    assert_eq!(got["received"], false, "the refused document was not kept");

    // A restarted hub reads the stored reference data back.
    let reopened =
        central::repo::CentralRepo::new(hub.central.state.store.clone(), hub.central.gc.clone())
            .unwrap();
    assert_eq!(reopened.references().get("ALM").kui_deadline_h, 48);
    assert_eq!(reopened.references().get("KAR").kui_deadline_h, 24); // No region can be provisioned under the national documents' code.
    assert_eq!(provisioning::settings::NATIONAL_REGION_ID, sync::NATIONAL);
    assert!(provisioning::settings::RegionId::parse(sync::NATIONAL).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_an_actionable_json_error() {
    let hub = TestHub::start().await;
    let check = |path: &'static str, status: StatusCode, code: &'static str, says: &'static str| {
        let hub = &hub;
        async move {
            let (s, body) = hub.get(path).await;
            assert_eq!(s, status, "{path}: {body}");
            assert_eq!(body["code"], code, "{path}: {body}");
            assert!(
                body["message"].as_str().unwrap().contains(says),
                "{path}: {body}"
            );
        }
    };
    check(
        "/api/v1/cards?status=flying",
        StatusCode::BAD_REQUEST,
        "invalid_field",
        "sent_for_processing",
    )
    .await;
    check(
        "/api/v1/cards?status=closed",
        StatusCode::BAD_REQUEST,
        "invalid_field",
        "not an open status",
    )
    .await;
    check(
        "/api/v1/cards?region=ast",
        StatusCode::BAD_REQUEST,
        "invalid_field",
        "upper-case",
    )
    .await;
    check(
        "/api/v1/cards?limit=lots",
        StatusCode::BAD_REQUEST,
        "invalid_query",
        "limit",
    )
    .await;
    check(
        "/api/v1/cards?colour=red",
        StatusCode::BAD_REQUEST,
        "invalid_query",
        "colour",
    )
    .await;
    check(
        "/api/v1/cards/AST/a%2Fb",
        StatusCode::NOT_FOUND,
        "not_found",
        "no such card",
    )
    .await;
    check(
        "/api/v1/stats/calls?period=week",
        StatusCode::BAD_REQUEST,
        "invalid_field",
        "neither 'hour' nor 'day'",
    )
    .await;
    check(
        "/api/v1/stats/calls?period=hour&from=0&to=1772427600000",
        StatusCode::BAD_REQUEST,
        "invalid_field",
        "at most 744 hours",
    )
    .await;
    check(
        "/api/v1/stats/calls?period=day&from=1772427600000&to=1772000000000",
        StatusCode::BAD_REQUEST,
        "invalid_field",
        "after",
    )
    .await;
    // Extreme times are refused, not overflowed.
    check(
        "/api/v1/stats/calls?period=day&from=-9223372036854775808&to=9223372036854775807",
        StatusCode::BAD_REQUEST,
        "invalid_field",
        "at most 366 days",
    )
    .await;
    check(
        "/api/v1/stats/calls",
        StatusCode::BAD_REQUEST,
        "invalid_query",
        "period",
    )
    .await;
    check(
        "/api/v1/nothing",
        StatusCode::NOT_FOUND,
        "not_found",
        "no such endpoint",
    )
    .await;
    let (s, body) = call(&hub.app, "GET", "/api/v1/regions", "", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(body.contains("Authorization: Bearer"), "{body}");
    // A token in the query string is not accepted (it would end up in logs).
    let uri = format!("/api/v1/regions?token={}", hub.token);
    assert_eq!(
        call(&hub.app, "GET", &uri, "", None).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (s, body) = call(
        &hub.app,
        "POST",
        "/api/v1/cards/AST/00000000-0000-4000-8000-000000000001/notes",
        &hub.token,
        Some(json!({"text": "проверить", "urgent": true})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("unknown_field"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn region_links_survive_a_hub_restart() {
    let hub = TestHub::start().await;
    let state = &hub.central.state;
    let stored = central::hub::StoredLink {
        last_contact_ms: Some(1_000),
        disconnected_since_ms: None,
        connections: 7,
        last_error: None,
        stalls: 2,
        software_version: Some("0.1.0".into()),
        protocol_version: Some(3),
    };
    let mut b = server_kit::store::WriteBatch::new();
    b.put("link/SKO", serde_json::to_vec(&stored).unwrap());
    // A link stored before stall detection (no `stalls`) still loads.
    b.put(
        "link/ALM",
        br#"{"last_contact_ms":5,"disconnected_since_ms":null,"connections":1,"last_error":null}"#
            .to_vec(),
    );
    b.put("link/not a region", serde_json::to_vec(&stored).unwrap());
    state.store.apply(b).unwrap();
    // What a restarted hub loads.
    let repo =
        central::repo::CentralRepo::new(state.store.clone(), hub.central.gc.clone()).unwrap();
    let restarted = central::hub::Hub::new(repo, sync::protocol::Config::default());
    let links = restarted.links();
    assert_eq!(links.len(), 2, "{links:?}");
    let (alm, sko) = (&links[0], &links[1]);
    assert_eq!(
        (alm.region.as_str(), alm.connections, alm.stalls),
        ("ALM", 1, 0)
    );
    // A link stored before versions were recorded has none; a stored one is still shown.
    assert_eq!(
        (alm.software_version.as_deref(), alm.protocol_version),
        (None, None)
    );
    assert_eq!(
        (sko.software_version.as_deref(), sko.protocol_version),
        (Some("0.1.0"), Some(3))
    );
    assert_eq!(
        (
            sko.region.as_str(),
            sko.connected,
            sko.connections,
            sko.disconnected_since_ms,
            sko.stalls,
            sko.state
        ),
        (
            "SKO",
            false,
            7,
            Some(1_000),
            2,
            central::hub::LinkState::Disconnected
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r21_hq_accounts_have_hq_roles_and_the_administrator_reads_no_cards() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = central::config::Config::load_layers(&[]).unwrap();
    config.accounts.argon2_memory_kib = 1024;
    let central = open_central(&config, dir.path(), Some(ADMIN_PASSWORD.into()))
        .await
        .unwrap();
    let app = central::http::app(central.state.clone());
    // Before the administrator sets their own password, the bootstrap one allows nothing else.
    let (s, body) = call(
        &app,
        "POST",
        "/api/v1/auth/login",
        "",
        Some(json!({"login": "admin", "password": ADMIN_PASSWORD})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let boot: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(boot["user"]["must_change_password"], true);
    let (s, _) = call(
        &app,
        "GET",
        "/api/v1/accounts",
        boot["token"].as_str().unwrap(),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (admin, duty) = hq_duty_session(&app, ADMIN_PASSWORD).await;
    // The administrator manages HQ accounts; node roles are not given at HQ.
    let (s, body) = call(
        &app,
        "POST",
        "/api/v1/accounts",
        &admin,
        Some(json!({"login": "hq.analyst", "full_name": "Жұмабаева Алия",
            "password": "Temporary-HQ-Pass-52", "roles": ["hq_analyst"]})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let (s, body) = call(
        &app,
        "POST",
        "/api/v1/accounts",
        &admin,
        Some(
            json!({"login": "disp.x", "full_name": "X", "password": "Temporary-HQ-Pass-53",
            "roles": ["dispatcher"]}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    // ... and reads no cards.
    for path in ["/api/v1/regions", "/api/v1/summary", "/api/v1/cards"] {
        let (s, _) = call(&app, "GET", path, &admin, None).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{path}");
        let (s, _) = call(&app, "GET", path, &duty, None).await;
        assert_eq!(s, StatusCode::OK, "{path}");
    }
    // The analyst reads, the duty officer writes notes.
    let analyst = activate(&app, "hq.analyst", "Temporary-HQ-Pass-52").await;
    let (s, _) = call(&app, "GET", "/api/v1/summary", &analyst, None).await;
    assert_eq!(s, StatusCode::OK);
    let card_path = "/api/v1/cards/AST/00000000-0000-4000-8000-000000000001/notes";
    let (s, body) = call(
        &app,
        "POST",
        card_path,
        &analyst,
        Some(json!({"text": "проверить"})),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    let (s, _) = call(
        &app,
        "POST",
        card_path,
        &duty,
        Some(json!({"text": "проверить"})),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "no such card, but allowed");
    // Every account change is in the audit log the duty officer reads.
    let (s, body) = call(&app, "GET", "/api/v1/audit?limit=100", &duty, None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        body.contains("hq.analyst") && body.contains("account.create"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_modules_and_the_shared_kit_are_served_and_nothing_else() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/dashboard");
    let mut odd = server_kit::assets::unlisted(&dir, central::http::DASHBOARD_ASSETS);
    odd.retain(|f| f != "index.html"); // served at `/`
    assert_eq!(odd, Vec::<String>::new());
    let hub = TestHub::start().await;
    for path in [
        "/assets/app.js",
        "/assets/overview.js",
        "/kit/dom.js",
        "/kit/texts.js",
    ] {
        let (s, body) = call(&hub.app, "GET", path, "", None).await;
        assert_eq!(s, StatusCode::OK, "{path}");
        assert!(
            body.contains("export ") || body.contains("import "),
            "{path}"
        );
    }
    for path in [
        "/assets/%2E%2E%2Fsrc%2Fhttp.rs",
        "/assets/nope.js",
        "/kit/..%2Fdom.js",
    ] {
        let (s, body) = call(&hub.app, "GET", path, "", None).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}");
        assert!(body.contains("\"not_found\""), "{path}: {body}");
    }
}

/// The metric names the shipped alert expressions use (words starting with `prefix`).
fn alert_metrics(prefix: &str) -> Vec<String> {
    let rules = include_str!("../../provisioning/ops/prometheus/alerts.yml");
    let mut names: Vec<String> = rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("expr:"))
        .flat_map(|e| {
            e.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .filter(|w| w.starts_with(prefix))
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The shipped alert rules (provisioning/ops/prometheus/alerts.yml) watch metrics the hub
/// really exposes: a renamed metric would silence an alert without anyone noticing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_alert_rules_name_only_metrics_the_hub_exposes() {
    let hub = TestHub::start().await;
    let text = hub.metrics().await;
    let names = alert_metrics("central_");
    assert!(names.len() >= 4, "{names:?}");
    for name in names {
        let series = name.strip_suffix("_total").unwrap_or(&name);
        assert!(
            text.contains(&format!("# TYPE {series} ")),
            "alerts.yml uses {name}, which /metrics does not expose: {text}"
        );
    }
    assert!(
        sample(&text, "central_data_disk_size_bytes").is_some_and(|v| v > 0.0),
        "{text}"
    );
}
