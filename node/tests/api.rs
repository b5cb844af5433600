//! The HTTP API end to end, without a socket: `http::app(state)` driven with tower's `oneshot`.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use node::server::open_node;
use serde_json::{json, Value};

use common::api_node::{start, test_config, TestNode, ADMIN_PASSWORD, OWN_PASSWORD};

impl TestNode {
    async fn count_cards(&self, token: &str) -> usize {
        let (_, v) = self.call("GET", "/api/v1/cards", token, None).await;
        v.as_array().unwrap().len()
    }
}

fn card_body() -> Value {
    json!({
        "channel": "app102_call",
        "caller": {"name": "Айгерим Серікқызы", "phone": "+77011234567", "language": "kk"},
        "location": {"lat": 51.128, "lon": 71.42, "accuracy_m": 15.0, "address": "г. Астана, ул. Кенесары, д. 40"},
        "description": "Драка у подъезда",
        "seen": {"persons": "двое мужчин", "vehicles": "белая Toyota"},
        "category": "assault"
    })
}

#[tokio::test]
async fn r03_operator_fills_card_and_sends_it_to_the_dispatcher_queue() {
    let t = start().await;
    let op = t.user("op1", &["call_taker"], None).await;
    let gus = t.user("gus1", &["dispatcher"], Some("esil")).await;
    let (s, card) = t
        .call("POST", "/api/v1/cards", &op, Some(card_body()))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{card}");
    assert_eq!(card["status"], "new");
    assert_eq!(card["seen"]["vehicles"], "белая Toyota");
    let number = card["number"].as_str().unwrap().to_string();
    assert!(
        number.starts_with("AST-") && number.ends_with("-000001"),
        "{number}"
    );
    let (_, q) = t
        .call(
            "GET",
            "/api/v1/cards?status=sent_for_processing",
            &gus,
            None,
        )
        .await;
    assert_eq!(q.as_array().unwrap().len(), 0);
    let (s, sent) = t
        .call(
            "POST",
            &format!("/api/v1/cards/{number}/send-for-processing"),
            &op,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{sent}");
    let (_, q) = t
        .call(
            "GET",
            "/api/v1/cards?status=sent_for_processing",
            &gus,
            None,
        )
        .await;
    assert_eq!(q[0]["number"], number.as_str());
}

/// "Send" on a form that was never saved creates and sends the card in one step; when the card
/// cannot be sent (no category), nothing is stored and no number is taken.
#[tokio::test]
async fn r03_a_refused_send_of_a_new_card_leaves_no_card_behind() {
    let t = start().await;
    let op = t.user("op1", &["call_taker"], None).await;
    let mut empty = card_body();
    empty.as_object_mut().unwrap().remove("category");
    for _ in 0..3 {
        let (s, e) = t
            .call(
                "POST",
                "/api/v1/cards?send_for_processing=true",
                &op,
                Some(empty.clone()),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
        assert_eq!(e["field"], "category", "{e}");
    }
    assert_eq!(t.count_cards(&op).await, 0, "a refused send stored a card");
    let (s, card) = t
        .call(
            "POST",
            "/api/v1/cards?send_for_processing=true",
            &op,
            Some(card_body()),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{card}");
    assert_eq!(card["status"], "sent_for_processing");
    assert!(
        card["number"].as_str().unwrap().ends_with("-000001"),
        "{card}"
    );
    assert_eq!(card["status_since"], card["sent_for_processing_at"]);
    let kinds: Vec<&str> = card["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["created", "sent_for_processing"]);
    // A dispatcher creates cards but does not send them for the operator.
    let gus = t.user("gus1", &["dispatcher"], Some("esil")).await;
    let (s, _) = t
        .call(
            "POST",
            "/api/v1/cards?send_for_processing=true",
            &gus,
            Some(card_body()),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

/// A console that lost its connection after sending resends the same form with the same
/// Idempotency-Key: the node answers with the card the first request created, not a second one.
#[tokio::test]
async fn a_resent_card_with_the_same_idempotency_key_is_created_once() {
    let t = start().await;
    let op = t.user("op1", &["call_taker"], None).await;
    let post = |key: &'static str| {
        Request::builder()
            .method("POST")
            .uri("/api/v1/cards?send_for_processing=true")
            .header("authorization", format!("Bearer {op}"))
            .header("content-type", "application/json")
            .header("idempotency-key", key)
            .body(Body::from(serde_json::to_vec(&card_body()).unwrap()))
            .unwrap()
    };
    let (s1, first) = t.raw(post("form-7f3a9c01")).await;
    assert_eq!(s1, StatusCode::CREATED, "{first}");
    let (s2, again) = t.raw(post("form-7f3a9c01")).await;
    assert!(s2.is_success(), "{again}");
    assert_eq!(again["id"], first["id"]);
    assert_eq!(t.count_cards(&op).await, 1);
    let (_, other) = t.raw(post("form-0b12de77")).await;
    assert_ne!(other["id"], first["id"]);
    assert_eq!(t.count_cards(&op).await, 2);
    let (s, e) = t.raw(post("bad key!")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["field"], "idempotency_key", "{e}");
    assert_eq!(t.count_cards(&op).await, 2);
}

/// The status timer counts from when the card reached its status: a note changes
/// `updated_at`, not `status_since`.
#[tokio::test]
async fn a_note_does_not_restart_the_status_timer() {
    let t = start().await;
    let op = t.user("op1", &["call_taker"], None).await;
    let (_, card) = t
        .call(
            "POST",
            "/api/v1/cards?send_for_processing=true",
            &op,
            Some(card_body()),
        )
        .await;
    let number = card["number"].as_str().unwrap().to_string();
    let since = card["status_since"].as_i64().unwrap();
    // The note lands at least a millisecond later than the status was reached.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while server_kit::clock::now_ms() <= since {
        assert!(std::time::Instant::now() < deadline);
        tokio::task::yield_now().await;
    }
    let (s, noted) = t
        .call(
            "POST",
            &format!("/api/v1/cards/{number}/notes"),
            &op,
            Some(json!({"text": "заявитель перезвонил"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{noted}");
    assert_eq!(noted["status_since"].as_i64(), Some(since));
    assert!(noted["updated_at"].as_i64().unwrap() > since, "{noted}");
    let (_, list) = t.call("GET", "/api/v1/cards", &op, None).await;
    assert_eq!(list[0]["status_since"].as_i64(), Some(since));
}

/// An operator types the caller's phone as people say it ("8 701 …"): the card keeps it as
/// written and in E.164, and is not refused for how it was written.
#[tokio::test]
async fn a_phone_typed_as_people_write_it_is_normalised_not_refused() {
    let t = start().await;
    let op = t.user("op1", &["call_taker"], None).await;
    let mut body = card_body();
    body["caller"]["phone"] = json!("8 (701) 123-45-67");
    let (s, card) = t.call("POST", "/api/v1/cards", &op, Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{card}");
    assert_eq!(card["caller"]["phone"], "+77011234567");
    assert_eq!(card["caller"]["phone_raw"], "8 (701) 123-45-67");
    // Letters are not a phone: kept as written only, the card still taken.
    let mut body = card_body();
    body["caller"]["phone"] = json!("не помнит");
    let (s, card) = t.call("POST", "/api/v1/cards", &op, Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{card}");
    assert!(card["caller"]["phone"].is_null(), "{card}");
    assert_eq!(card["caller"]["phone_raw"], "не помнит");
}

#[tokio::test]
async fn r02_queue_is_filtered_by_territorial_affiliation() {
    let t = start().await;
    let op = t.user("op1", &["call_taker"], None).await;
    let mut north = card_body();
    north["location"] = json!({"lat": 51.20, "lon": 71.30, "address": "пр. Республики 10"});
    for body in [card_body(), north] {
        let (_, c) = t.call("POST", "/api/v1/cards", &op, Some(body)).await;
        t.call(
            "POST",
            &format!(
                "/api/v1/cards/{}/send-for-processing",
                c["id"].as_str().unwrap()
            ),
            &op,
            None,
        )
        .await;
    }
    let (_, esil) = t
        .call(
            "GET",
            "/api/v1/cards?status=sent_for_processing&district=esil",
            &op,
            None,
        )
        .await;
    let (_, sary) = t
        .call(
            "GET",
            "/api/v1/cards?status=sent_for_processing&district=saryarka",
            &op,
            None,
        )
        .await;
    assert_eq!(esil.as_array().unwrap().len(), 1);
    assert_eq!(sary.as_array().unwrap().len(), 1);
    assert_eq!(esil[0]["district"], "esil");
    assert_eq!(sary[0]["district"], "saryarka");
}

#[tokio::test]
async fn r04_r20_dispatch_arrival_report_close_cycle_frees_the_unit() {
    let t = start().await;
    let op = t.user("op1", &["call_taker"], None).await;
    let gus = t.user("gus1", &["dispatcher"], None).await;
    let (_, c) = t
        .call("POST", "/api/v1/cards", &op, Some(card_body()))
        .await;
    let id = c["id"].as_str().unwrap().to_string();
    t.call(
        "POST",
        &format!("/api/v1/cards/{id}/send-for-processing"),
        &op,
        None,
    )
    .await;
    let (s, d) = t
        .call(
            "POST",
            &format!("/api/v1/cards/{id}/dispatch"),
            &gus,
            Some(json!({"unit_id": "p01"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(d["card"]["status"], "dispatched");
    let (_, units) = t.call("GET", "/api/v1/units", &gus, None).await;
    let p01 = units
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == "p01")
        .unwrap();
    assert_eq!(p01["status"], "assigned");
    assert_eq!(p01["overdue"], false);
    for step in ["en-route", "on-scene"] {
        let (s, v) = t
            .call(
                "POST",
                &format!("/api/v1/cards/{id}/units/p01/{step}"),
                &gus,
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{step}: {v}");
    }
    let (s, v) = t
        .call(
            "POST",
            &format!("/api/v1/cards/{id}/close"),
            &gus,
            Some(json!({})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "no report yet: {v}");
    assert_eq!(v["field"], "report");
    let (s, v) = t
        .call(
            "POST",
            &format!("/api/v1/cards/{id}/close"),
            &gus,
            Some(json!({"report": "Конфликт урегулирован"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "closed");
    assert!(v["units"][0]["on_scene_at"].is_i64());
    let (_, units) = t.call("GET", "/api/v1/units", &gus, None).await;
    let p01 = units
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == "p01")
        .unwrap();
    assert_eq!(p01["status"], "available");
    assert_eq!(
        t.count_cards(&gus).await,
        0,
        "a closed card leaves the open queues"
    );
    // The unit's history and the day's history still list it (indexes by unit and by date).
    let (s, h) = t
        .call("GET", "/api/v1/cards/history?unit_id=p01", &gus, None)
        .await;
    assert_eq!(s, StatusCode::OK, "{h}");
    assert_eq!(h[0]["status"], "closed");
    let day = chrono::DateTime::from_timestamp_millis(c["created_at"].as_i64().unwrap())
        .unwrap()
        .format("%Y-%m-%d")
        .to_string();
    let (_, h) = t
        .call(
            "GET",
            &format!("/api/v1/cards/history?date={day}"),
            &gus,
            None,
        )
        .await;
    assert_eq!(h.as_array().unwrap().len(), 1);
    // Closed cards are still readable by number.
    let (s, _) = t
        .call(
            "GET",
            &format!("/api/v1/cards/{}", c["number"].as_str().unwrap()),
            &gus,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn r06_r07_dsog_forward_and_kui_registration() {
    let t = start().await;
    let op = t.user("op1", &["call_taker"], None).await;
    let gus = t.user("gus1", &["dispatcher"], None).await;
    let duty = t.user("duty1", &["duty_officer"], None).await;
    let (_, c) = t
        .call("POST", "/api/v1/cards", &op, Some(card_body()))
        .await;
    let id = c["id"].as_str().unwrap().to_string();
    t.call(
        "POST",
        &format!("/api/v1/cards/{id}/send-for-processing"),
        &op,
        None,
    )
    .await;
    t.call(
        "POST",
        &format!("/api/v1/cards/{id}/dispatch"),
        &gus,
        Some(json!({"unit_id": "p02"})),
    )
    .await;
    let (s, v) = t
        .call(
            "POST",
            &format!("/api/v1/cards/{id}/dispatch"),
            &gus,
            Some(json!({"unit_id": "dsog1"})),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::CONFLICT,
        "ДСОГ goes through its own action: {v}"
    );
    let (s, v) = t
        .call(
            "POST",
            &format!("/api/v1/cards/{id}/dsog"),
            &gus,
            Some(json!({"unit_id": "dsog1"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["card"]["dsog_dispatched_at"].is_i64());
    let (s, v) = t
        .call(
            "POST",
            &format!("/api/v1/cards/{id}/kui"),
            &duty,
            Some(json!({"number": "261100031000777"})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "not forwarded yet: {v}");
    let (s, v) = t
        .call(
            "POST",
            &format!("/api/v1/cards/{id}/forward"),
            &gus,
            Some(json!({"duty_unit": "du-esil"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = t
        .call(
            "POST",
            &format!("/api/v1/cards/{id}/kui"),
            &duty,
            Some(json!({"number": "261100031000777"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["kui"]["number"], "261100031000777");
    let deadline = v["kui"]["deadline_at"].as_i64().unwrap();
    assert_eq!(
        deadline - v["forwarded_at"].as_i64().unwrap(),
        24 * 3_600_000
    );
}

#[tokio::test]
async fn r08_dispatcher_sees_address_warnings_and_they_go_with_the_dispatch() {
    let t = start().await;
    let op = t.user("op1", &["call_taker"], None).await;
    let gus = t.user("gus1", &["dispatcher"], None).await;
    let duty = t.user("duty1", &["duty_officer"], None).await;
    let (s, w) = t
        .call(
            "GET",
            "/api/v1/warnings?address=Астана%2C%20ул.%20Кенесары%2C%2040",
            &duty,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{w}");
    assert!(
        !w.as_array().unwrap().is_empty(),
        "the demo registry has a record at Kenesary 40: {w}"
    );
    let (s, _) = t.call("GET", "/api/v1/warnings?address=x", &op, None).await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "a call taker does not read the registry"
    );
    let (_, c) = t
        .call("POST", "/api/v1/cards", &op, Some(card_body()))
        .await;
    let id = c["id"].as_str().unwrap().to_string();
    let (_, seen_by_op) = t
        .call("GET", &format!("/api/v1/cards/{id}"), &op, None)
        .await;
    assert!(seen_by_op.get("warnings").is_none());
    let (_, seen_by_gus) = t
        .call("GET", &format!("/api/v1/cards/{id}"), &gus, None)
        .await;
    assert!(!seen_by_gus["warnings"].as_array().unwrap().is_empty());
    t.call(
        "POST",
        &format!("/api/v1/cards/{id}/send-for-processing"),
        &op,
        None,
    )
    .await;
    let (_, d) = t
        .call(
            "POST",
            &format!("/api/v1/cards/{id}/dispatch"),
            &gus,
            Some(json!({"unit_id": "p03"})),
        )
        .await;
    assert!(!d["warnings"].as_array().unwrap().is_empty());
    let timeline = d["card"]["timeline"].as_array().unwrap();
    assert!(
        timeline.iter().any(|e| e["kind"] == "warning_issued"),
        "{timeline:?}"
    );
}

#[tokio::test]
async fn r18_every_endpoint_checks_the_role() {
    let t = start().await;
    let patrol = t.user("pat1", &["patrol"], None).await;
    let op = t.user("op1", &["call_taker"], None).await;
    let (_, c) = t
        .call("POST", "/api/v1/cards", &op, Some(card_body()))
        .await;
    let id = c["id"].as_str().unwrap().to_string();
    t.call(
        "POST",
        &format!("/api/v1/cards/{id}/send-for-processing"),
        &op,
        None,
    )
    .await;
    let cases: Vec<(&str, String, &str, Option<Value>)> = vec![
        (
            "POST",
            format!("/api/v1/cards/{id}/dispatch"),
            patrol.as_str(),
            Some(json!({"unit_id": "p01"})),
        ),
        (
            "POST",
            format!("/api/v1/cards/{id}/close"),
            patrol.as_str(),
            Some(json!({"reason": "x"})),
        ),
        (
            "POST",
            "/api/v1/cards".into(),
            patrol.as_str(),
            Some(card_body()),
        ),
        ("GET", "/api/v1/accounts".into(), op.as_str(), None),
        (
            "POST",
            format!("/api/v1/cards/{id}/kui"),
            op.as_str(),
            Some(json!({"number": "1"})),
        ),
        ("GET", "/api/v1/audit".into(), op.as_str(), None),
    ];
    for (method, path, token, body) in cases {
        let (s, v) = t.call(method, &path, token, body).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{method} {path}: {v}");
        assert_eq!(v["code"], "forbidden");
    }
    let (s, v) = t.call("GET", "/api/v1/cards", "", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    let (s, _) = t.call("GET", "/api/v1/cards", "not-a-token", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // The card is still sent for processing: none of the refused actions changed it.
    let (_, card) = t
        .call("GET", &format!("/api/v1/cards/{id}"), &op, None)
        .await;
    assert_eq!(card["status"], "sent_for_processing");
}

#[tokio::test]
async fn r18_state_changes_are_in_the_audit_log() {
    let t = start().await;
    let op = t.user("op1", &["call_taker"], None).await;
    let sup = t.user("sup1", &["supervisor"], None).await;
    let (_, c) = t
        .call("POST", "/api/v1/cards", &op, Some(card_body()))
        .await;
    let (s, log) = t.call("GET", "/api/v1/audit?limit=50", &sup, None).await;
    assert_eq!(s, StatusCode::OK);
    let actions: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"card.create"), "{actions:?}");
    assert_eq!(log[0]["target"], c["number"]);
    // The account administrator sees what happened to accounts, not the callers' cards.
    let (s, log) = t
        .call("GET", "/api/v1/audit?limit=50", &t.admin, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let entries = log.as_array().unwrap();
    assert!(entries.iter().any(|e| e["action"] == "account.create"));
    assert!(entries
        .iter()
        .all(|e| e["action"].as_str().unwrap().starts_with("account.")));
}

#[tokio::test]
async fn bad_input_gets_a_clear_error_and_stores_nothing() {
    let t = start().await;
    let op = t.user("op1", &["call_taker"], None).await;
    let gus = t.user("gus1", &["dispatcher"], None).await;
    let raw = |body: &'static str| {
        Request::builder()
            .method("POST")
            .uri("/api/v1/cards")
            .header("authorization", format!("Bearer {op}"))
            .header("content-type", "application/json")
            .body(Body::from(body))
            .unwrap()
    };
    // (request, expected status, expected code, expected field)
    let (s, v) = t.raw(raw("{\"channel\": ")).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("malformed_json")),
        "{v}"
    );
    let (s, v) = t
        .raw(raw("{\"channel\": \"app102_call\", \"colour\": 1}"))
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unknown_field")),
        "{v}"
    );
    let (s, v) = t.raw(raw("{\"channel\": \"pigeon\"}")).await;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("channel")),
        "{v}"
    );
    let mut b = card_body();
    b["category"] = json!("alien_invasion");
    let (s, v) = t.call("POST", "/api/v1/cards", &op, Some(b)).await;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("category")),
        "{v}"
    );
    let mut b = card_body();
    b["location"]["lon"] = json!(181.5);
    let (s, v) = t.call("POST", "/api/v1/cards", &op, Some(b)).await;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("location.lon")),
        "{v}"
    );
    let mut b = card_body();
    b["description"] = json!("x".repeat(70_000));
    let (s, v) = t.call("POST", "/api/v1/cards", &op, Some(b)).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("body_too_large")),
        "{v}"
    );
    assert_eq!(
        t.count_cards(&op).await,
        0,
        "no rejected request stored a card"
    );

    // Invalid transitions: closing an undispatched card without a reason; an off-duty unit.
    let (_, c) = t
        .call("POST", "/api/v1/cards", &op, Some(card_body()))
        .await;
    let id = c["id"].as_str().unwrap().to_string();
    t.call(
        "POST",
        &format!("/api/v1/cards/{id}/send-for-processing"),
        &op,
        None,
    )
    .await;
    let (s, v) = t
        .call(
            "POST",
            &format!("/api/v1/cards/{id}/close"),
            &gus,
            Some(json!({})),
        )
        .await;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("reason")),
        "{v}"
    );
    let (s, _) = t
        .call(
            "POST",
            "/api/v1/units/p05/status",
            &gus,
            Some(json!({"status": "off_duty"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = t
        .call(
            "POST",
            &format!("/api/v1/cards/{id}/dispatch"),
            &gus,
            Some(json!({"unit_id": "p05"})),
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("invalid_transition")),
        "{v}"
    );
    let (s, v) = t
        .call(
            "POST",
            &format!("/api/v1/cards/{id}/dispatch"),
            &gus,
            Some(json!({"unit_id": "nope"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (_, card) = t
        .call("GET", &format!("/api/v1/cards/{id}"), &gus, None)
        .await;
    assert_eq!(card["status"], "sent_for_processing");
    assert_eq!(card["units"].as_array().unwrap().len(), 0);
    let (s, _) = t
        .call("GET", "/api/v1/cards/AST-2026-999999", &gus, None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn r20_post_roster_over_http() {
    let t = start().await;
    let sup = t.user("sup1", &["supervisor"], None).await;
    let body = json!({"date": "2026-11-22", "shift": "day", "post": "Маршрут №3: Кенесары — Абая", "unit_id": "p04"});
    let (s, v) = t
        .call("POST", "/api/v1/roster", &sup, Some(body.clone()))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = t.call("POST", "/api/v1/roster", &sup, Some(body)).await;
    assert_eq!(s, StatusCode::CONFLICT, "one post per unit and shift: {v}");
    let (_, list) = t
        .call("GET", "/api/v1/roster?date=2026-11-22", &sup, None)
        .await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["call_sign"], "Беркут-14");
}

#[tokio::test]
async fn openapi_health_and_metrics_are_served() {
    let t = start().await;
    let (s, v) = t.call("GET", "/api/v1/openapi.json", "", None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(v["paths"]["/api/v1/cards/{id}/dispatch"].is_object());
    assert!(v["components"]["schemas"]["Card"].is_object());
    // The real constraints are in the document.
    let schemas = &v["components"]["schemas"];
    let priority = &schemas["CardCreate"]["properties"]["priority"];
    assert_eq!(
        (priority["minimum"].as_f64(), priority["maximum"].as_f64()),
        (Some(1.0), Some(4.0)),
        "{priority}"
    );
    assert_eq!(
        schemas["NewAccount"]["properties"]["login"]["pattern"],
        "^[a-z0-9._-]{3,32}$"
    );
    assert_eq!(
        schemas["NewAccount"]["properties"]["password"]["minLength"],
        10
    );
    assert_eq!(
        schemas["CardCreate"]["properties"]["description"]["maxLength"],
        4000
    );
    assert_eq!(schemas["NewAccount"]["additionalProperties"], false);
    // Every answer a client must handle is listed: a card's page answers 404 and 401.
    let get_card = &v["paths"]["/api/v1/cards/{id}"]["get"]["responses"];
    for status in ["200", "400", "401", "403", "404", "503"] {
        assert!(
            get_card[status].is_object(),
            "GET /cards/{{id}} lists {status}: {get_card}"
        );
    }
    let create = &v["paths"]["/api/v1/cards"]["post"]["responses"];
    for status in ["201", "400", "413", "415", "422"] {
        assert!(create[status].is_object(), "POST /cards lists {status}");
    }
    // The reference answer is described as what it is: its fields and channels and roles.
    let reference = &schemas["ReferenceResponse"];
    assert!(
        reference["properties"]["channels"].is_object(),
        "{reference}"
    );
    assert!(
        reference["properties"]["districts"].is_object(),
        "{reference}"
    );
    let (s, v) = t.call("GET", "/healthz", "", None).await;
    assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("ok")));
    let (s, v) = t.call("GET", "/metrics", "", None).await;
    assert_eq!(s, StatusCode::OK);
    let text = v.as_str().unwrap();
    assert!(text.contains("node_store_flushes_total"), "{v}");
    // The shipped alert rules watch metrics the node really exposes: a renamed metric would
    // silence an alert without anyone noticing.
    let rules = include_str!("../../provisioning/ops/prometheus/alerts.yml");
    let mut watched: Vec<&str> = rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("expr:"))
        .flat_map(|e| e.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')))
        .filter(|w| w.starts_with("node_"))
        .collect();
    watched.sort_unstable();
    watched.dedup();
    assert!(watched.len() >= 6, "{watched:?}");
    for name in watched {
        let series = name.strip_suffix("_total").unwrap_or(name);
        assert!(
            text.contains(&format!("# TYPE {series} ")),
            "alerts.yml uses {name}, which /metrics does not expose"
        );
    }
    let size = text
        .lines()
        .find_map(|l| l.strip_prefix("node_data_disk_size_bytes "))
        .and_then(|v| v.parse::<f64>().ok());
    assert!(
        size.is_some_and(|b| b > 0.0),
        "the data disk's size: {text}"
    );
    assert!(text.contains("node_appeals_overdue 0"), "{text}");
}

#[tokio::test]
async fn acknowledged_cards_survive_reopening_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("node");
    let numbers = {
        let node = open_node(&test_config(), &data, Some(ADMIN_PASSWORD.into()))
            .await
            .unwrap();
        let t = TestNode {
            app: node::http::app(node.state.clone()),
            _dir: tempfile::tempdir().unwrap(),
            data: data.clone(),
            admin: String::new(),
        };
        let admin = t.activate("admin", ADMIN_PASSWORD).await;
        let t = TestNode { admin, ..t };
        let op = t.user("op1", &["call_taker"], None).await;
        let mut numbers = Vec::new();
        for _ in 0..5 {
            let (_, c) = t
                .call("POST", "/api/v1/cards", &op, Some(card_body()))
                .await;
            numbers.push(c["number"].as_str().unwrap().to_string());
        }
        numbers
    };
    let node = open_node(&test_config(), &data, None).await.unwrap();
    let t = TestNode {
        app: node::http::app(node.state.clone()),
        _dir: tempfile::tempdir().unwrap(),
        data,
        admin: String::new(),
    };
    let op = t.login("op1", OWN_PASSWORD).await;
    for n in &numbers {
        let (s, c) = t
            .call("GET", &format!("/api/v1/cards/{n}"), &op, None)
            .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(c["description"], "Драка у подъезда");
    }
    let (_, c) = t
        .call("POST", "/api/v1/cards", &op, Some(card_body()))
        .await;
    assert!(
        c["number"].as_str().unwrap().ends_with("-000006"),
        "numbering continues after a restart: {c}"
    );
    assert!(t.data.exists());
}

/// R08: a possible match (here: the same building, another flat) is sent with its mark and
/// reason by the warnings search, the card, the dispatch answer and the timeline.
#[tokio::test]
async fn r08_possible_matches_are_marked_in_the_api_and_the_timeline() {
    let t = start().await;
    let op = t.user("op1", &["call_taker"], None).await;
    let gus = t.user("gus1", &["dispatcher"], None).await;
    let duty = t.user("duty1", &["duty_officer"], None).await;
    let search =
        |address: &str| format!("/api/v1/warnings?address={}", address.replace(' ', "%20"));
    let (s, w) = t.call("GET", &search("Абай даңғылы 52"), &duty, None).await;
    assert_eq!(s, StatusCode::OK, "{w}");
    assert_eq!(w.as_array().map(Vec::len), Some(1), "{w}");
    assert_eq!(w[0]["match"], "match", "{w}");
    assert_eq!(w[0]["reasons"], json!([]), "{w}");
    // The demo registry has a weapon in flat 12 of Кенесары 40; the call is from flat 14.
    let flat_14 = "Астана, Кенесары көшесі 40, 14 пәтер";
    let (_, w) = t.call("GET", &search(flat_14), &duty, None).await;
    assert_eq!(w[0]["match"], "possible", "{w}");
    assert_eq!(w[0]["reasons"], json!(["other_flat"]), "{w}");

    let mut body = card_body();
    body["location"]["address"] = json!(flat_14);
    let (_, c) = t.call("POST", "/api/v1/cards", &op, Some(body)).await;
    let id = c["id"].as_str().unwrap().to_string();
    let (_, seen) = t
        .call("GET", &format!("/api/v1/cards/{id}"), &gus, None)
        .await;
    assert_eq!(seen["warnings"][0]["match"], "possible", "{seen}");
    t.call(
        "POST",
        &format!("/api/v1/cards/{id}/send-for-processing"),
        &op,
        None,
    )
    .await;
    let (s, d) = t
        .call(
            "POST",
            &format!("/api/v1/cards/{id}/dispatch"),
            &gus,
            Some(json!({"unit_id": "p03"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!(d["warnings"][0]["match"], "possible", "{d}");
    assert_eq!(d["warnings"][0]["reasons"], json!(["other_flat"]), "{d}");
    let issued: Vec<&str> = d["card"]["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "warning_issued")
        .filter_map(|e| e["text"].as_str())
        .collect();
    assert!(
        issued
            .iter()
            .any(|text| text.contains("(possible: other_flat)")),
        "{issued:?}"
    );

    // The OpenAPI document describes the mark and its reasons.
    let (_, doc) = t.call("GET", "/api/v1/openapi.json", "", None).await;
    let schemas = &doc["components"]["schemas"];
    let found = schemas["FoundWarning"].to_string();
    assert!(
        found.contains("\"match\"")
            && found.contains("reasons")
            && found.contains("AddressWarning"),
        "{found}"
    );
    let reasons = schemas["PossibleReason"].to_string();
    for code in [
        "street_spelling",
        "street_name_partial",
        "street_transliterated",
        "street_type",
        "house_letter",
        "korpus",
        "other_flat",
    ] {
        assert!(reasons.contains(code), "{reasons}");
    }
}

#[tokio::test]
async fn r36_supervisor_sees_each_operators_and_dispatchers_timeliness_per_shift() {
    let t = start().await;
    let op = t.user("op1", &["call_taker"], None).await;
    let op2 = t.user("op2", &["call_taker"], None).await;
    let disp = t.user("disp1", &["dispatcher"], None).await;
    let sup = t.user("sup1", &["supervisor"], None).await;
    // Two cards sent by op1, one by op2; disp1 sends a unit to two of them.
    let mut ids = Vec::new();
    for token in [&op, &op, &op2] {
        let (s, c) = t
            .call("POST", "/api/v1/cards", token, Some(card_body()))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{c}");
        let id = c["id"].as_str().unwrap().to_string();
        let (s, v) = t
            .call(
                "POST",
                &format!("/api/v1/cards/{id}/send-for-processing"),
                token,
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        ids.push(id);
    }
    for (id, unit) in ids.iter().take(2).zip(["p01", "p02"]) {
        let (s, v) = t
            .call(
                "POST",
                &format!("/api/v1/cards/{id}/dispatch"),
                &disp,
                Some(json!({"unit_id": unit})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    let (s, v) = t
        .call("GET", "/api/v1/supervision/timeliness", &op, None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let (s, v) = t
        .call("GET", "/api/v1/supervision/timeliness", &sup, None)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let staff = v["staff"].as_array().unwrap();
    let of = |login: &str| {
        staff
            .iter()
            .find(|x| x["login"] == login)
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(of("op1")["send_for_processing"]["count"], 2, "{v}");
    assert_eq!(of("op2")["send_for_processing"]["count"], 1, "{v}");
    assert_eq!(of("disp1")["dispatch"]["count"], 2, "{v}");
    assert!(of("disp1")["dispatch"]["max_ms"].as_i64().unwrap() >= 0);
    assert!(
        of("sup1").is_null(),
        "only people who did something are listed"
    );
    // Another shift is empty; a bad date is refused.
    let (s, v) = t
        .call(
            "GET",
            "/api/v1/supervision/timeliness?date=2020-01-01&shift=night",
            &sup,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["staff"].as_array().unwrap().is_empty(), "{v}");
    let (s, _) = t
        .call(
            "GET",
            "/api/v1/supervision/timeliness?date=2020-13-01",
            &sup,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
}

/// R36 over HTTP: the shift summary counts the shift's cards by category, outcome and channel
/// and the units' dispatches; the audit viewer's filters find who created and who read a card.
#[tokio::test]
async fn r36_shift_summary_and_the_audit_filters_over_http() {
    let t = start().await;
    let op = t.user("op1", &["call_taker"], None).await;
    let disp = t.user("disp1", &["dispatcher"], None).await;
    let sup = t.user("sup1", &["supervisor"], None).await;
    let (s, card) = t
        .call(
            "POST",
            "/api/v1/cards?send_for_processing=true",
            &op,
            Some(card_body()),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{card}");
    let id = card["id"].as_str().unwrap().to_string();
    let number = card["number"].as_str().unwrap().to_string();
    let (s, v) = t
        .call(
            "POST",
            &format!("/api/v1/cards/{id}/dispatch"),
            &disp,
            Some(json!({"unit_id": "p01"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, _) = t
        .call("GET", &format!("/api/v1/cards/{id}"), &disp, None)
        .await;
    assert_eq!(s, StatusCode::OK);

    let (s, _) = t
        .call("GET", "/api/v1/supervision/shift-summary", &op, None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = t
        .call("GET", "/api/v1/supervision/shift-summary", &sup, None)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["cards_total"], 1, "{v}");
    let assault = v["by_category"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["category"] == "assault")
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(assault["total"], 1, "{v}");
    assert_eq!(assault["open"], 1, "{v}");
    let p01 = v["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["unit_id"] == "p01")
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(p01["dispatches"], 1, "{v}");
    let (s, _) = t
        .call(
            "GET",
            "/api/v1/supervision/shift-summary?shift=evening",
            &sup,
            None,
        )
        .await;
    assert!(s.is_client_error(), "an unknown shift is refused: {s}");

    // Who created the card, and who read it.
    let (s, v) = t
        .call("GET", "/api/v1/audit?actor=OP1&action=card.", &sup, None)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let actions: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["card.create"], "{v}");
    let (s, v) = t
        .call(
            "GET",
            &format!("/api/v1/audit?action=card.read&target={}", &number[4..]),
            &sup,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let readers: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["actor"].as_str().unwrap())
        .collect();
    assert_eq!(readers, ["disp1"], "{v}");
    let (s, _) = t
        .call("GET", "/api/v1/audit?from_ms=yesterday", &sup, None)
        .await;
    assert!(s.is_client_error(), "a bad time is refused: {s}");
}

#[tokio::test]
async fn reads_of_personal_data_are_audited_and_a_supervisor_finds_who_read_them() {
    let t = start().await;
    let op = t.user("op1", &["call_taker"], None).await;
    let disp = t.user("disp1", &["dispatcher"], None).await;
    let sup = t.user("sup1", &["supervisor"], None).await;
    let (_, c) = t
        .call("POST", "/api/v1/cards", &op, Some(card_body()))
        .await;
    let id = c["id"].as_str().unwrap().to_string();
    // The dispatcher opens the card (caller's name and phone, and the address warnings).
    let (s, _) = t
        .call("GET", &format!("/api/v1/cards/{id}"), &disp, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = t
        .call("GET", "/api/v1/warnings?address=%D0%9A%D0%B5%D0%BD%D0%B5%D1%81%D0%B0%D1%80%D1%8B%2040%2C%20%D0%BA%D0%B2%2012", &disp, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    // Who looked at this person's data: by the phone as written anywhere.
    let (s, v) = t
        .call(
            "GET",
            "/api/v1/audit/personal-data?phone=8%20701%20123%2045%2067",
            &sup,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let reads = v.as_array().unwrap();
    assert!(
        reads.iter().any(|r| r["actor"] == "disp1"
            && r["action"] == "card.read"
            && r["target"] == c["number"]),
        "{v}"
    );
    // By the person on record at the address.
    let (s, v) = t
        .call("GET", "/api/v1/audit/personal-data?person=%D0%A1%D1%8B%D0%BD%D0%B0%D2%9B%D0%BE%D0%B2%20%D0%95%D1%80%D0%BB%D0%B0%D0%BD%20%D0%9C%D0%B0%D1%80%D0%B0%D1%82%D2%B1%D0%BB%D1%8B", &sup, None)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(
        v.as_array().unwrap().iter().any(|r| r["actor"] == "disp1"),
        "{v}"
    );
    // Only supervisors ask; one subject at a time.
    let (s, _) = t
        .call(
            "GET",
            "/api/v1/audit/personal-data?phone=%2B77011234567",
            &disp,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = t
        .call("GET", "/api/v1/audit/personal-data", &sup, None)
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
}

/// The administrators' health page: every condition the shipped alerts watch, judged from what
/// the node knows, with its figures; only administrators see it.
#[tokio::test]
async fn the_node_health_shows_replication_disk_calls_and_appeals_to_administrators_only() {
    let t = start().await;
    let (s, v) = t.call("GET", "/api/v1/admin/health", &t.admin, None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    let codes: Vec<&str> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    for code in [
        "standalone",
        "disk_space",
        "sos_callbacks",
        "recordings",
        "appeals_overdue",
    ] {
        assert!(codes.contains(&code), "{code} in {codes:?}");
    }
    let disk = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "disk_space")
        .unwrap();
    assert!(disk["params"]["size_bytes"].as_u64().unwrap() > 0, "{disk}");
    assert_eq!(v["inputs"]["appeals_overdue"], 0);
    let op = t.user("op.health", &["call_taker"], None).await;
    let (s, _) = t.call("GET", "/api/v1/admin/health", &op, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = t.call("GET", "/api/v1/admin/health", "", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}
