//! R19 end to end: central units write the knowledge base by competence at the hub, and what
//! they publish reaches a region's node over the real replication (QUIC, mutual TLS), where the
//! operators' search finds it in Kazakh and Russian; drafts, withdrawn and expired articles are
//! never suggested.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use provisioning::progress::Silent;
use provisioning::settings::{CentralAddress, RegionId, RegionName, RegionSettings, ValidDays};
use rand::rngs::OsRng;
use serde_json::{json, Value};

const DEADLINE: Duration = Duration::from_secs(30);

async fn call(
    app: &axum::Router,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let (status, text) = common::call(app, method, path, token, body).await;
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Awaits `condition` until `DEADLINE`, checking it again every 20 ms.
async fn until(what: &str, mut condition: impl FnMut() -> bool) {
    tokio::time::timeout(DEADLINE, async {
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        while !condition() {
            tick.tick().await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{what} within {DEADLINE:?}"));
}

/// A node provisioned for `hub` as region AST, replicating to it.
async fn start_ast_node(
    hub: &common::ServingHub,
    root: &std::path::Path,
) -> (node::server::Node, tokio::sync::watch::Sender<bool>) {
    let region_bundle = root.join("ast");
    let rs = RegionSettings {
        id: RegionId::parse("AST").unwrap(),
        name_kk: RegionName::parse("name-kk", "Астана қаласы ПД").unwrap(),
        name_ru: RegionName::parse("name-ru", "ДП города Астаны").unwrap(),
        central: CentralAddress::parse(&format!("localhost:{}", hub.port)).unwrap(),
        valid_days: ValidDays::for_peer(730).unwrap(),
    };
    provisioning::add_region(
        &hub.ca,
        &region_bundle,
        &rs,
        hub.now,
        &mut OsRng,
        &mut Silent,
    )
    .unwrap();
    let overlay = node::bundle::check_region_bundle(&region_bundle).unwrap();
    let mut node_config = node::config::Config::load_layers(&[overlay.as_path()]).unwrap();
    node_config.accounts.argon2_memory_kib = 1024;
    let node = node::server::open_node(
        &node_config,
        &root.join("node-data"),
        Some("admin-password-1".into()),
    )
    .await
    .unwrap();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(node::replication::run_client(
        node.state.service.clone(),
        node.gc.clone(),
        provisioning::load_identity(&region_bundle).unwrap(),
        node::replication::ClientSettings {
            central_address: node_config.central.as_ref().unwrap().address.clone(),
            protocol: sync::protocol::Config::default(),
        },
        Arc::new(Mutex::new(node::replication::ReplicationStatus::default())),
        stop_rx,
    ));
    (node, stop_tx)
}

/// Creates an account (temporary password) and logs its owner in; returns the token.
async fn account(
    app: &axum::Router,
    admin: &str,
    login: &str,
    roles: Value,
    service: Option<&str>,
) -> String {
    let temporary = "Temporary-Pass-4711";
    let (s, body) = call(
        app,
        "POST",
        "/api/v1/accounts",
        admin,
        Some(
            json!({"login": login, "full_name": "Тестов Тест", "password": temporary,
            "roles": roles, "service": service}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    common::activate(app, login, temporary).await
}

fn content(ru_title: &str, kk_title: &str, valid_until: Option<&str>) -> Value {
    json!({
        "title": {"kk": kk_title, "ru": ru_title},
        "body": {
            "kk": "Электр самокатпен жаяу жүргіншілер жолында жүруге болмайды, жылдамдық сағатына 25 шақырымнан аспауы тиіс.",
            "ru": "На электросамокате нельзя ездить по тротуару среди пешеходов, скорость не более 25 км/ч."
        },
        "tags": ["электросамокат", "самокат", "СИМ"],
        "valid_until": valid_until,
    })
}

/// The node's search for a call taker: the article ids found, best first.
async fn found(node_app: &axum::Router, token: &str, q: &str, lang: &str) -> Vec<String> {
    let path = format!("/api/v1/kb/search?q={}&lang={lang}", url_encode(q));
    let (s, body) = call(node_app, "GET", &path, token, None).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    body["articles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["article_id"].as_str().unwrap().to_string())
        .collect()
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r19_articles_written_by_competence_at_the_hub_answer_on_the_node() {
    let dir = tempfile::tempdir().unwrap();
    let hub = common::start_hub(dir.path()).await;
    let app = central::http::app(hub.hub.state.clone());
    let (admin, hq) = common::hq_duty_session(&app, "hq-admin-password").await;
    let migration = account(
        &app,
        &admin,
        "kb.migration",
        json!(["kb_editor"]),
        Some("migration"),
    )
    .await;
    let road = account(
        &app,
        &admin,
        "kb.road",
        json!(["kb_editor"]),
        Some("road-police"),
    )
    .await;
    let nobody = account(&app, &admin, "kb.none", json!(["kb_editor"]), None).await;

    // The demo set was published on the hub's first start; HQ reads it.
    let (s, list) = call(&app, "GET", "/api/v1/kb/articles", &hq, None).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let demo = list.as_array().unwrap().len();
    assert!(demo >= 30, "{demo} demo articles");
    assert!(list
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["state"] == "published"));

    let (node, _stop) = start_ast_node(&hub, dir.path()).await;
    let service = node.state.service.clone();
    until("the demo articles reached the node", || {
        service.kb().len() == demo
    })
    .await;
    let node_app = node::http::app(node.state.clone());
    let node_admin = common::activate(&node_app, "admin", "admin-password-1").await;
    let operator = account(
        &node_app,
        &node_admin,
        "op.one",
        json!(["call_taker"]),
        None,
    )
    .await;
    let hits = found(
        &node_app,
        &operator,
        "потерял удостоверение что делать",
        "ru",
    )
    .await;
    assert_eq!(
        hits.first().map(String::as_str),
        Some("lost-id-card"),
        "{hits:?}"
    );

    // Who may write what.
    let new = json!({"id": "e-scooter", "content": content("Правила для электросамокатов", "Электр самокат ережелері", None)});
    let (s, body) = call(&app, "POST", "/api/v1/kb/articles", &hq, Some(new.clone())).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "HQ duty reads only: {body}");
    let (s, body) = call(
        &app,
        "POST",
        "/api/v1/kb/articles",
        &nobody,
        Some(new.clone()),
    )
    .await;
    assert_eq!(
        (s, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("kb_no_competence")),
        "{body}"
    );
    let mut other = new.clone();
    other["competence"] = json!("road-police");
    let (s, body) = call(&app, "POST", "/api/v1/kb/articles", &migration, Some(other)).await;
    assert_eq!(
        (s, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("kb_not_your_competence")),
        "{body}"
    );
    let mut bad = new.clone();
    bad["content"]["title"]["kk"] = json!("  ");
    let (s, body) = call(&app, "POST", "/api/v1/kb/articles", &road, Some(bad)).await;
    assert_eq!(
        (s, body["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("title.kk")),
        "{body}"
    );
    let (s, body) = call(
        &app,
        "POST",
        "/api/v1/kb/articles",
        &road,
        Some(new.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    assert_eq!(
        (body["state"].as_str(), body["competence"].as_str()),
        (Some("draft"), Some("road-police"))
    );
    let (s, body) = call(
        &app,
        "POST",
        "/api/v1/kb/articles",
        &road,
        Some(new.clone()),
    )
    .await;
    assert_eq!(
        (s, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("article_exists")),
        "{body}"
    );
    let (s, body) = call(
        &app,
        "POST",
        "/api/v1/kb/articles/e-scooter/publish",
        &migration,
        None,
    )
    .await;
    assert_eq!(
        (s, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("kb_not_your_competence")),
        "{body}"
    );
    let (s, body) = call(
        &app,
        "POST",
        "/api/v1/kb/articles/e-scooter/withdraw",
        &road,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "a draft is not withdrawn: {body}");

    // A draft reaches the node but is never suggested.
    until("the draft reached the node", || {
        service.kb().article("e-scooter").ok().flatten().is_some()
    })
    .await;
    assert!(!found(
        &node_app,
        &operator,
        "можно ли ездить на электросамокате по тротуару",
        "ru"
    )
    .await
    .contains(&"e-scooter".to_string()));

    // Published: found in Russian and in Kazakh.
    let (s, body) = call(
        &app,
        "POST",
        "/api/v1/kb/articles/e-scooter/publish",
        &road,
        None,
    )
    .await;
    assert_eq!(
        (s, body["changed"].as_bool()),
        (StatusCode::OK, Some(true)),
        "{body}"
    );
    until("the published article is searchable on the node", || {
        service.kb().len() == demo + 1
    })
    .await;
    let ru = found(
        &node_app,
        &operator,
        "можно ли ездить на электросамокате по тротуару",
        "ru",
    )
    .await;
    assert_eq!(ru.first().map(String::as_str), Some("e-scooter"), "{ru:?}");
    let kk = found(
        &node_app,
        &operator,
        "электр самокатпен тротуарда жүруге бола ма",
        "kk",
    )
    .await;
    assert_eq!(kk.first().map(String::as_str), Some("e-scooter"), "{kk:?}");

    // An edit stays a draft: the node answers with the published version until the next publish.
    let edit = json!({"content": content("Электросамокаты: новые правила", "Электр самокаттар: жаңа ережелер", None)});
    let (s, body) = call(
        &app,
        "PUT",
        "/api/v1/kb/articles/e-scooter",
        &road,
        Some(edit),
    )
    .await;
    assert_eq!(
        (s, body["article"]["unpublished_changes"].as_bool()),
        (StatusCode::OK, Some(true)),
        "{body}"
    );
    let (s, body) = call(
        &app,
        "POST",
        "/api/v1/kb/articles/e-scooter/publish",
        &road,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    until("version 2 reached the node", || {
        service
            .kb()
            .search(
                "электросамокат",
                sync::Language::Ru,
                server_kit::clock::now_ms(),
                1,
            )
            .is_ok_and(|h| {
                h.first().is_some_and(|h| {
                    h.article_id == "e-scooter"
                        && h.version == 2
                        && h.title == "Электросамокаты: новые правила"
                })
            })
    })
    .await;

    // Withdrawn: no longer suggested.
    let (s, body) = call(
        &app,
        "POST",
        "/api/v1/kb/articles/e-scooter/withdraw",
        &road,
        None,
    )
    .await;
    assert_eq!(
        (s, body["article"]["state"].as_str()),
        (StatusCode::OK, Some("withdrawn")),
        "{body}"
    );
    until("the withdrawal reached the node", || {
        service.kb().len() == demo
    })
    .await;
    assert!(!found(&node_app, &operator, "электросамокат тротуар", "ru")
        .await
        .contains(&"e-scooter".to_string()));

    // Expired (valid until yesterday): held, never suggested.
    let expired = json!({"id": "e-scooter-2025", "content": content("Электросамокаты в 2025 году", "2025 жылы электр самокаттар", Some("2025-12-31"))});
    let (s, body) = call(&app, "POST", "/api/v1/kb/articles", &road, Some(expired)).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let (s, _) = call(
        &app,
        "POST",
        "/api/v1/kb/articles/e-scooter-2025/publish",
        &road,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    until("the expired article reached the node", || {
        service.kb().len() == demo + 1
    })
    .await;
    let hits = found(&node_app, &operator, "электросамокат тротуар", "ru").await;
    assert!(!hits.contains(&"e-scooter-2025".to_string()), "{hits:?}");
}
