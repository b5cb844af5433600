//! Search, premise history, duplicate suggestions and linked duplicates through the HTTP API
//! (`http::app(state)` driven with tower's `oneshot`).

mod common;

use axum::http::StatusCode;
use node::server::open_node;
use serde_json::{json, Value};

use common::api_node::{start_at, test_config, TestNode, OWN_PASSWORD};

fn numbers(v: &Value) -> Vec<String> {
    let list = v
        .get("cards")
        .unwrap_or(v)
        .as_array()
        .unwrap_or_else(|| panic!("a list: {v}"));
    list.iter()
        .map(|c| c["number"].as_str().unwrap().to_string())
        .collect()
}

/// Percent-encodes a query value.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

struct World {
    t: TestNode,
    ct: String,
    disp: String,
    /// Closed: +77012345678 at проспект Республики 24 кв 5, unit p01.
    a: Value,
    /// Open: the same phone (written 8 701 …) at the same flat (written another way).
    b: Value,
    /// Open, elsewhere, another phone, with a point.
    c: Value,
}

async fn world() -> World {
    let t = start_at(tempfile::tempdir().unwrap()).await;
    let ct = t.user("ct1", &["call_taker"], None).await;
    let disp = t.user("disp1", &["dispatcher"], None).await;
    let a = t
        .ok(
            "POST",
            "/api/v1/cards",
            &ct,
            Some(json!({"channel": "app102_call", "caller": {"phone": "+77012345678"},
                "location": {"address": "г. Астана, проспект Республики, д. 24, кв. 5", "lat": 51.1283, "lon": 71.4305},
                "category": "noise"})),
        )
        .await;
    let id = a["id"].as_str().unwrap();
    t.ok(
        "POST",
        &format!("/api/v1/cards/{id}/send-for-processing"),
        &ct,
        None,
    )
    .await;
    t.ok(
        "POST",
        &format!("/api/v1/cards/{id}/dispatch"),
        &disp,
        Some(json!({"unit_id": "p01"})),
    )
    .await;
    let a = t
        .ok(
            "POST",
            &format!("/api/v1/cards/{id}/close"),
            &disp,
            Some(json!({"report": "всё спокойно"})),
        )
        .await;
    assert_eq!(a["status"], "closed");
    let b = t
        .ok(
            "POST",
            "/api/v1/cards",
            &ct,
            Some(
                json!({"channel": "app102_call", "caller": {"phone": "8 (701) 234-56-78"},
                "location": {"address": "пр. Республики 24 кв 5"}}),
            ),
        )
        .await;
    let c = t
        .ok(
            "POST",
            "/api/v1/cards",
            &ct,
            Some(
                json!({"channel": "app102_call", "caller": {"phone": "+77015550000"},
                "location": {"address": "ул. Кенесары 40", "lat": 51.1700, "lon": 71.4100}}),
            ),
        )
        .await;
    World {
        t,
        ct,
        disp,
        a,
        b,
        c,
    }
}

#[tokio::test]
async fn r08_search_finds_open_and_closed_cards_by_phone_address_number_date_and_unit() {
    let w = world().await;
    let (t, a, b, c) = (&w.t, &w.a, &w.b, &w.c);
    let num = |v: &Value| v["number"].as_str().unwrap().to_string();
    // Phone, written differently: both cards of the caller, newest first, with A's outcome.
    let v = t
        .ok(
            "GET",
            &format!("/api/v1/cards/search?phone={}", enc("8 701 234 56 78")),
            &w.disp,
            None,
        )
        .await;
    assert_eq!(numbers(&v), vec![num(b), num(a)]);
    let hit_a = &v["cards"][1];
    assert_eq!(hit_a["outcome"]["status"], "closed");
    assert_eq!(hit_a["outcome"]["patrol_report"], "всё спокойно", "{hit_a}");
    assert!(hit_a["outcome"]["closed_at"].as_i64().is_some());
    assert_eq!(hit_a["units"], json!(["Беркут-11"]));
    assert_eq!(hit_a["reasons"], json!(["same_phone"]));
    // Address, written differently (R08's matching): a match, with the reason codes.
    let v = t
        .ok(
            "GET",
            &format!(
                "/api/v1/cards/search?address={}&state=closed",
                enc("пр. Республики 24 кв 5")
            ),
            &w.disp,
            None,
        )
        .await;
    assert_eq!(numbers(&v), vec![num(a)]);
    assert_eq!(v["cards"][0]["address_match"], "match");
    assert_eq!(v["cards"][0]["reasons"], json!(["same_address"]));
    // Another flat of the building is a possible match, with its reason.
    let v = t
        .ok(
            "GET",
            &format!(
                "/api/v1/cards/search?address={}",
                enc("Республики 24, кв. 7")
            ),
            &w.disp,
            None,
        )
        .await;
    assert_eq!(numbers(&v), vec![num(b), num(a)]);
    assert_eq!(v["cards"][0]["address_match"], "possible");
    assert_eq!(v["cards"][0]["address_reasons"], json!(["other_flat"]));
    // Open only.
    let v = t
        .ok(
            "GET",
            &format!(
                "/api/v1/cards/search?phone={}&state=open",
                enc("+77012345678")
            ),
            &w.ct,
            None,
        )
        .await;
    assert_eq!(numbers(&v), vec![num(b)]);
    // Number: whole, or the sequence part.
    let seq = num(c).rsplit('-').next().unwrap().to_string();
    let v = t
        .ok(
            "GET",
            &format!("/api/v1/cards/search?number={seq}"),
            &w.ct,
            None,
        )
        .await;
    assert_eq!(numbers(&v), vec![num(c)]);
    let v = t
        .ok(
            "GET",
            &format!("/api/v1/cards/search?number={}", num(a)),
            &w.ct,
            None,
        )
        .await;
    assert_eq!(numbers(&v), vec![num(a)]);
    // Unit, by id or call sign.
    let v = t
        .ok("GET", "/api/v1/cards/search?unit=p01", &w.ct, None)
        .await;
    assert_eq!(numbers(&v), vec![num(a)]);
    let v = t
        .ok(
            "GET",
            &format!("/api/v1/cards/search?unit={}", enc("Беркут-11")),
            &w.ct,
            None,
        )
        .await;
    assert_eq!(numbers(&v), vec![num(a)]);
    // Date: today has all three; a day long ago none; a search naming nothing gives recent cards.
    let today = chrono::Utc::now()
        .checked_add_signed(chrono::Duration::minutes(300))
        .unwrap()
        .format("%Y-%m-%d")
        .to_string();
    let v = t
        .ok(
            "GET",
            &format!("/api/v1/cards/search?day={today}"),
            &w.ct,
            None,
        )
        .await;
    assert_eq!(numbers(&v), vec![num(c), num(b), num(a)]);
    let v = t
        .ok(
            "GET",
            "/api/v1/cards/search?from=2001-01-01&to=2001-01-31",
            &w.ct,
            None,
        )
        .await;
    assert_eq!(numbers(&v), Vec::<String>::new());
    let v = t
        .ok("GET", "/api/v1/cards/search?limit=2", &w.ct, None)
        .await;
    assert_eq!(numbers(&v), vec![num(c), num(b)]);
    assert_eq!(v["more"], true);
}

#[tokio::test]
async fn search_refuses_bad_input_with_a_code_and_a_field_and_patrols() {
    let w = world().await;
    let t = &w.t;
    for (query, field) in [
        ("number=AST-x", "number"),
        ("phone=12", "phone"),
        ("address=%2C%2C", "address"),
        ("day=2026-13-01", "day"),
        ("from=2026-02-01&to=2026-01-01", "to"),
        ("day=2026-01-01&from=2026-01-01", "day"),
        ("unit=nobody", "unit"),
        ("state=half", "state"),
        ("limit=0", "limit"),
        ("limit=100000", "limit"),
    ] {
        let (s, v) = t
            .call("GET", &format!("/api/v1/cards/search?{query}"), &w.ct, None)
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{query}: {v}");
        assert_eq!(v["code"], "invalid_field", "{query}: {v}");
        assert_eq!(v["field"], field, "{query}: {v}");
    }
    let long = "д".repeat(600);
    let (s, v) = t
        .call(
            "GET",
            &format!("/api/v1/cards/search?address={}", enc(&long)),
            &w.ct,
            None,
        )
        .await;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("address"))
    );
    for (query, field) in [
        ("lat=91&lon=71", "lat"),
        ("lat=51", "lon"),
        ("lat=x&lon=1", "lat"),
    ] {
        let (s, v) = t
            .call(
                "GET",
                &format!("/api/v1/cards/duplicates?{query}"),
                &w.ct,
                None,
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{query}: {v}");
        assert_eq!(v["field"], field, "{query}: {v}");
    }
    let (s, _) = t
        .call("GET", "/api/v1/cards/search?bogus=1", &w.ct, None)
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = t
        .call("GET", "/api/v1/cards/nope/related", &w.ct, None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let patrol = t.user("pat1", &["patrol"], None).await;
    let (s, _) = t
        .call(
            "GET",
            "/api/v1/cards/search?phone=87012345678",
            &patrol,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = t
        .call("GET", "/api/v1/cards/search?phone=87012345678", "", None)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn premise_history_lists_earlier_cards_at_the_address_and_from_the_phone_with_outcomes() {
    let w = world().await;
    let t = &w.t;
    let b_id = w.b["id"].as_str().unwrap();
    let v = t
        .ok(
            "GET",
            &format!("/api/v1/cards/{b_id}/related"),
            &w.disp,
            None,
        )
        .await;
    assert_eq!(
        numbers(&v),
        vec![w.a["number"].as_str().unwrap().to_string()]
    );
    assert_eq!(v[0]["reasons"], json!(["same_address", "same_phone"]));
    assert_eq!(v[0]["outcome"]["status"], "closed");
    // The earlier card has no earlier card; a later one is not its history.
    let a_id = w.a["id"].as_str().unwrap();
    let v = t
        .ok(
            "GET",
            &format!("/api/v1/cards/{a_id}/related"),
            &w.disp,
            None,
        )
        .await;
    assert_eq!(numbers(&v), Vec::<String>::new());
    // A card's own duplicates are not its history.
    let d = t
        .ok("POST", "/api/v1/cards", &w.ct, Some(json!({"channel": "app102_call",
            "caller": {"phone": "+77012345678"}, "location": {"address": "пр. Республики 24 кв 5"}})))
        .await;
    let d_id = d["id"].as_str().unwrap();
    t.ok(
        "POST",
        &format!("/api/v1/cards/{d_id}/link-duplicate"),
        &w.ct,
        Some(json!({"duplicate_of": a_id})),
    )
    .await;
    let v = t
        .ok(
            "GET",
            &format!("/api/v1/cards/{a_id}/related"),
            &w.disp,
            None,
        )
        .await;
    assert_eq!(numbers(&v), Vec::<String>::new());
    // Reading history and searching by phone are recorded as reads of the caller's data.
    t.ok(
        "GET",
        &format!("/api/v1/cards/search?phone={}", enc("8 701 234 56 78")),
        &w.ct,
        None,
    )
    .await;
    let sup = t.user("sup1", &["supervisor"], None).await;
    let reads = t
        .ok(
            "GET",
            &format!("/api/v1/audit/personal-data?phone={}", enc("+77012345678")),
            &sup,
            None,
        )
        .await;
    let actions: Vec<(&str, &str)> = reads
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["actor"].as_str().unwrap(), r["action"].as_str().unwrap()))
        .collect();
    assert!(actions.contains(&("disp1", "card.related")), "{actions:?}");
    assert!(actions.contains(&("ct1", "card.search")), "{actions:?}");
}

#[tokio::test]
async fn duplicate_suggestions_name_open_cards_by_address_radius_and_phone_and_linking_is_listed() {
    let w = world().await;
    let t = &w.t;
    let (a, b, c) = (&w.a, &w.b, &w.c);
    let num = |v: &Value| v["number"].as_str().unwrap().to_string();
    // The same address: B (open), not A (closed).
    let v = t
        .ok(
            "GET",
            &format!(
                "/api/v1/cards/duplicates?address={}",
                enc("Республики проспект, 24, кв.5")
            ),
            &w.ct,
            None,
        )
        .await;
    assert_eq!(numbers(&v), vec![num(b)]);
    assert_eq!(v[0]["reasons"], json!(["same_address"]));
    // Within the radius (150 m) of C's point, not 500 m away.
    let v = t
        .ok(
            "GET",
            "/api/v1/cards/duplicates?lat=51.1705&lon=71.4102",
            &w.ct,
            None,
        )
        .await;
    assert_eq!(numbers(&v), vec![num(c)]);
    assert_eq!(v[0]["reasons"], json!(["nearby"]));
    let d = v[0]["distance_m"].as_f64().unwrap();
    assert!((40.0..80.0).contains(&d), "{d}");
    let v = t
        .ok(
            "GET",
            "/api/v1/cards/duplicates?lat=51.1745&lon=71.4100",
            &w.ct,
            None,
        )
        .await;
    assert_eq!(numbers(&v), Vec::<String>::new());
    // The same phone within the window.
    let v = t
        .ok(
            "GET",
            &format!("/api/v1/cards/duplicates?phone={}", enc("8 701 555 00 00")),
            &w.ct,
            None,
        )
        .await;
    assert_eq!(numbers(&v), vec![num(c)]);
    assert_eq!(v[0]["reasons"], json!(["same_phone"]));
    // The card being filled is never its own duplicate; nothing asked, nothing found.
    let v = t
        .ok(
            "GET",
            &format!(
                "/api/v1/cards/duplicates?phone={}&exclude={}",
                enc("+77015550000"),
                c["id"].as_str().unwrap()
            ),
            &w.ct,
            None,
        )
        .await;
    assert_eq!(numbers(&v), Vec::<String>::new());
    let v = t.ok("GET", "/api/v1/cards/duplicates", &w.ct, None).await;
    assert_eq!(numbers(&v), Vec::<String>::new());
    // Linking: the main card lists what was linked to it.
    let e = t
        .ok("POST", "/api/v1/cards", &w.ct, Some(json!({"channel": "app102_call", "location": {"address": "пр. Республики 24 кв 5"}})))
        .await;
    let e_id = e["id"].as_str().unwrap();
    t.ok(
        "POST",
        &format!("/api/v1/cards/{e_id}/link-duplicate"),
        &w.ct,
        Some(json!({"duplicate_of": b["id"]})),
    )
    .await;
    let main = t
        .ok(
            "GET",
            &format!("/api/v1/cards/{}", b["id"].as_str().unwrap()),
            &w.disp,
            None,
        )
        .await;
    let linked = main["linked_duplicates"].as_array().unwrap();
    assert_eq!(linked.len(), 1, "{main}");
    assert_eq!(linked[0]["number"], e["number"]);
    assert_eq!(linked[0]["status"], "linked_duplicate");
    assert_eq!(linked[0]["channel"], "app102_call");
    let other = t
        .ok(
            "GET",
            &format!("/api/v1/cards/{}", c["id"].as_str().unwrap()),
            &w.disp,
            None,
        )
        .await;
    assert_eq!(other["linked_duplicates"], json!([]));
    // A linked duplicate is no longer open: no longer suggested.
    let v = t
        .ok(
            "GET",
            &format!(
                "/api/v1/cards/duplicates?address={}",
                enc("пр. Республики 24 кв 5")
            ),
            &w.ct,
            None,
        )
        .await;
    assert_eq!(numbers(&v), vec![num(b)]);
    let _ = a;
}

#[tokio::test]
async fn a_store_written_before_the_search_indexes_is_indexed_at_start() {
    let w = world().await;
    let World { t, a, .. } = w;
    let TestNode {
        _dir: dir,
        data,
        app,
        ..
    } = t;
    drop(app);
    {
        // Remove the search indexes and their version, as in a store of an older node.
        let store = node::server::open_store(&data, &test_config()).unwrap();
        let mut batch = node::store::WriteBatch::new();
        for prefix in [
            "idx/search/",
            "idx/phone/",
            "idx/house/",
            "idx/sunit/",
            "idx/dupof/",
        ] {
            for k in store.scan_keys(prefix.as_bytes(), usize::MAX).unwrap() {
                batch.delete(k);
            }
        }
        batch.delete(node::search::SEARCH_INDEX_VERSION_KEY);
        store.apply(batch).unwrap();
        store.flush().unwrap();
    }
    let node = open_node(&test_config(), &data, None).await.unwrap();
    let t = TestNode {
        app: node::http::app(node.state.clone()),
        _dir: dir,
        data,
        admin: String::new(),
    };
    let ct = t.login("ct1", OWN_PASSWORD).await;
    let v = t
        .ok(
            "GET",
            "/api/v1/cards/search?phone=87012345678&state=closed",
            &ct,
            None,
        )
        .await;
    assert_eq!(numbers(&v), vec![a["number"].as_str().unwrap().to_string()]);
}
