//! The terminal with no node: logins (online via a stand-in for the node, then offline), the
//! officer's actions written locally with their original times, the report's standard format
//! (R34), positions, the pack from the node, wipes — all through the local HTTP API.

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::rig;
use serde_json::{json, Value};
use server_kit::clock::now_ms;
use tower::ServiceExt;

fn report() -> Value {
    json!({
        "established": "Семейный конфликт, заявитель в безопасности",
        "measures": "Проведена беседа, вручено предупреждение",
        "persons": [{"role": "applicant", "surname": "Султанова", "name": "Жанар"}],
        "vehicles": [{"plate": "123ABC01", "make": "Lada"}],
        "outcome": "resolved_on_scene",
        "photos": []
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_login_is_online_then_offline_and_a_wrong_password_fails_offline() {
    let rig = rig();
    // Unknown officer with the node down: the first login needs the node.
    rig.node_down();
    let (s, v) = rig.login("ivanov", "pass-ivanov").await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    assert_eq!(v["code"], "node_unreachable");
    rig.node
        .down
        .store(false, std::sync::atomic::Ordering::Relaxed);
    let (s, v) = rig.login("ivanov", "pass-ivanov").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["mode"], "online");
    let (_, st) = rig.call("GET", "/field/v1/state", None).await;
    assert_eq!(st["officer"], "ivanov");
    assert!(st["expires_at_ms"].as_i64().unwrap() > now_ms());
    let (s, _) = rig.call("POST", "/field/v1/logout", None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert!(rig.terminal.shift().is_none(), "the key left memory");
    // Later logins work with no node at all.
    rig.node_down();
    let (s, v) = rig.login("ivanov", "wrong").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    assert_eq!(v["code"], "wrong_password");
    assert_eq!(v["params"]["failures"], 1);
    let (s, v) = rig.login("ivanov", "pass-ivanov").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["mode"], "offline");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_patrol_officers_log_in_and_another_crew_is_wiped_only_when_confirmed() {
    let rig = rig();
    let (s, v) = rig.login("disp", "pass-disp").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(v["code"], "not_patrol");
    rig.login("ivanov", "pass-ivanov").await;
    // A crew member joins the running shift: same data, now in their name.
    let (s, v) = rig.login("petrov", "pass-petrov").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(rig.terminal.officers(), vec!["ivanov", "petrov"]);
    rig.call("POST", "/field/v1/logout", None).await;
    rig.node_down();
    let (s, _) = rig.login("petrov", "pass-petrov").await;
    assert_eq!(s, StatusCode::OK);
    rig.call("POST", "/field/v1/logout", None).await;
    // Someone new with nobody logged in: the crew's data stay unless a new crew is confirmed.
    rig.node
        .down
        .store(false, std::sync::atomic::Ordering::Relaxed);
    let (s, v) = rig.login("sidorov", "pass-sidorov").await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["code"], "other_crew");
    assert_eq!(v["params"]["officers"], "ivanov, petrov");
    let (s, v) = rig
        .call(
            "POST",
            "/field/v1/login",
            Some(json!({"login": "sidorov", "password": "pass-sidorov", "new_crew": true})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(rig.terminal.officers(), vec!["sidorov"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_status_note_and_report_are_stored_with_their_original_times() {
    let rig = rig();
    rig.login("ivanov", "pass-ivanov").await;
    rig.node_down();
    let before = now_ms();
    let (s, st) = rig
        .call(
            "POST",
            "/field/v1/status",
            Some(json!({"card_id": "c-1", "status": "on_scene"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{st}");
    let (s, rep) = rig
        .call(
            "POST",
            "/field/v1/report",
            Some(json!({"card_id": "c-1", "report": report()})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{rep}");
    let (s, _) = rig
        .call("POST", "/field/v1/note", Some(json!({"text": "пост сдан"})))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let after = now_ms();
    for e in [&st, &rep] {
        let at = e["at_ms"].as_i64().unwrap();
        assert!((before..=after).contains(&at), "{e}");
        assert_eq!(e["by"], "ivanov");
    }
    // Durable: after a logout and an offline login they are all there, times unchanged.
    rig.call("POST", "/field/v1/logout", None).await;
    rig.login("ivanov", "pass-ivanov").await;
    let (_, log) = rig.call("GET", "/field/v1/log", None).await;
    let log = log.as_array().unwrap();
    assert_eq!(log.len(), 3, "{log:?}");
    assert_eq!(log[0]["body"]["type"], "status");
    assert_eq!(log[0]["at_ms"], st["at_ms"]);
    assert_eq!(log[1]["body"]["report"]["outcome"], "resolved_on_scene");
    assert_eq!(log[1]["at_ms"], rep["at_ms"]);
    // And waiting for the node: pending until it acknowledges them.
    let (_, state) = rig.call("GET", "/field/v1/state", None).await;
    assert!(state["link"]["pending"].as_u64().unwrap() >= 1, "{state}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r34_a_report_missing_a_field_or_too_large_is_refused_and_nothing_is_stored() {
    let rig = rig();
    rig.login("ivanov", "pass-ivanov").await;
    let mut cases = Vec::new();
    let mut no_established = report();
    no_established["established"] = json!("");
    cases.push((no_established, "report.established"));
    let mut no_measures = report();
    no_measures.as_object_mut().unwrap().remove("measures");
    cases.push((no_measures, ""));
    let mut bad_outcome = report();
    bad_outcome["outcome"] = json!("went_home");
    cases.push((bad_outcome, ""));
    let mut no_plate = report();
    no_plate["vehicles"] = json!([{"plate": ""}]);
    cases.push((no_plate, "report.vehicles"));
    // Each field within its own limit, the whole over PATROL_REPORT_BYTES_MAX (32 KiB).
    let mut big = report();
    big["established"] = json!("н".repeat(4_000));
    big["measures"] = json!("м".repeat(4_000));
    big["persons"] = json!((0..30)
        .map(|_| json!({"role": "witness", "note": "н".repeat(300)}))
        .collect::<Vec<_>>());
    cases.push((big, "report"));
    let mut missing_photo = report();
    missing_photo["photos"] = json!(["ab".repeat(32)]);
    cases.push((missing_photo, "report.photos"));
    for (body, field) in cases {
        let (s, v) = rig
            .call(
                "POST",
                "/field/v1/report",
                Some(json!({"card_id": "c-1", "report": body})),
            )
            .await;
        let short: String = v.to_string().chars().take(300).collect();
        assert!(s.is_client_error(), "{s} {short}");
        assert!(v["code"].is_string(), "{short}");
        if field == "report" {
            assert_eq!(v["code"], "report_too_large", "{short}");
        }
        if !field.is_empty() {
            assert!(
                v["field"].as_str().unwrap_or("").starts_with(field),
                "{field}: {short}"
            );
        }
    }
    // Over the body limit entirely.
    let huge = json!({"card_id": "c-1", "report": {"established": "x".repeat(70_000), "measures": "y", "outcome": "false_call"}});
    let (s, v) = rig.call("POST", "/field/v1/report", Some(huge)).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    let (_, log) = rig.call("GET", "/field/v1/log", None).await;
    assert_eq!(log, json!([]), "nothing stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_photo_is_stored_and_named_by_a_report() {
    let rig = rig();
    rig.login("ivanov", "pass-ivanov").await;
    let jpeg = [&[0xFF, 0xD8, 0xFF, 0xE0][..], &[7u8; 1000]].concat();
    let req = Request::builder()
        .method("POST")
        .uri("/field/v1/photos")
        .header(header::HOST, "localhost:8088")
        .header(header::CONTENT_TYPE, "image/jpeg")
        .body(Body::from(jpeg.clone()))
        .unwrap();
    let (s, v) = rig.send(req).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let sha = v["sha256"].as_str().unwrap().to_string();
    let mut r = report();
    r["photos"] = json!([sha]);
    let (s, v) = rig
        .call(
            "POST",
            "/field/v1/report",
            Some(json!({"card_id": "c-1", "report": r})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let req = Request::builder()
        .method("POST")
        .uri("/field/v1/photos")
        .header(header::HOST, "localhost:8088")
        .header(header::CONTENT_TYPE, "image/jpeg")
        .body(Body::from(b"GIF89a".to_vec()))
        .unwrap();
    let (s, v) = rig.send(req).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["code"], "image_not_jpeg");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn positions_are_throttled_and_bad_ones_refused() {
    let rig = rig();
    rig.login("ivanov", "pass-ivanov").await;
    let t0 = now_ms() - 60_000;
    let fix = |dt_ms: i64, north_m: f64| json!({"at_ms": t0 + dt_ms, "lat": 51.1 + north_m / 111_195.0, "lon": 71.4, "accuracy_m": 5.0});
    let mut recorded = Vec::new();
    for (dt, north) in [(0, 0.0), (1_000, 11.0), (15_000, 165.0), (16_000, 176.0)] {
        let (s, v) = rig
            .call("POST", "/field/v1/position", Some(fix(dt, north)))
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        recorded.push(v["recorded"].as_bool().unwrap());
    }
    assert_eq!(recorded, vec![true, false, true, false]);
    let (s, v) = rig
        .call(
            "POST",
            "/field/v1/position",
            Some(json!({"at_ms": t0, "lat": 95.0, "lon": 71.4})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["code"], "position_out_of_range");
    let (s, v) = rig
        .call(
            "POST",
            "/field/v1/position",
            Some(json!({"at_ms": now_ms() + 3_600_000, "lat": 51.1, "lon": 71.4})),
        )
        .await;
    assert!(s.is_client_error(), "{v}");
    assert_eq!(v["code"], "field_time_in_future");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_need_a_logged_in_officer_and_a_local_host() {
    let rig = rig();
    let (s, v) = rig
        .call(
            "POST",
            "/field/v1/status",
            Some(json!({"card_id": "c-1", "status": "on_scene"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(v["code"], "not_logged_in");
    let req = Request::builder()
        .uri("/field/v1/state")
        .header(header::HOST, "evil.example:8088")
        .body(Body::empty())
        .unwrap();
    let (s, v) = rig.send(req).await;
    assert_eq!(s, StatusCode::MISDIRECTED_REQUEST);
    assert_eq!(v["code"], "not_local");
    // A form post from another page cannot pass as JSON.
    let req = Request::builder()
        .method("POST")
        .uri("/field/v1/login")
        .header(header::HOST, "127.0.0.1:8088")
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from("{}"))
        .unwrap();
    let (s, _) = rig.send(req).await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ui_and_its_modules_are_served() {
    let rig = rig();
    let resp = rig
        .app
        .clone()
        .oneshot(
            Request::builder()
                .uri("/")
                .header(header::HOST, "127.0.0.1:8088")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    for path in ["/assets/app.js", "/assets/views/report.js", "/kit/dom.js"] {
        let resp = rig
            .app
            .clone()
            .oneshot(
                Request::builder()
                    .uri(path)
                    .header(header::HOST, "127.0.0.1:8088")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
    let mut odd = server_kit::assets::unlisted(&dir, field_terminal::http::TERMINAL_ASSETS);
    odd.retain(|f| f != "index.html");
    assert_eq!(odd, Vec::<String>::new());
}
