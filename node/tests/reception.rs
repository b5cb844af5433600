//! R31 personal reception through the node: the schedule, booking at the desk, today's queue,
//! the record of a reception (held / not held) and its ЛП-1 card over the API; bad input
//! refused with the field named and nothing stored; and a booking that arrives through the hub
//! while the region was cut off, settled by the region in both orders of arrival.

mod common;

use axum::http::StatusCode;
use node::server::open_node;
use serde_json::{json, Value};
use sync::calendar::{embedded_years, Day, WorkCalendar};
use sync::reception::{
    prepare_booking, BookingInput, Origin, ReceptionDoc, ReceptionReference, Region, Schedule, Via,
};
use sync::{Ctx, DocId, Document};

use common::api_node::{test_config, TestNode, ADMIN_PASSWORD};

const IIN: &str = "600705451316";
/// A working Monday.
const MONDAY: &str = "2026-03-16";
/// A Monday off (moved from the 8 March holiday).
const MONDAY_OFF: &str = "2026-03-09";

fn schedule() -> Value {
    json!({
        "officials": [
            {"id": "head", "name": "Head A.", "rank": "head"},
            {"id": "dep", "name": "Deputy B.", "rank": "deputy"}
        ],
        "places": [{"id": "hq", "kato": "710000000", "addressee": "HQ room 1"}],
        "sessions": [{"id": "mon", "official": "head", "place": "hq", "weekday": 1,
            "start": "10:00", "slot_minutes": 20, "slots": 3, "mode": "offline"}]
    })
}

fn applicant() -> Value {
    json!({"7": "1", "9": "2", "10": IIN, "11": "Ахметова", "12": "Айгуль", "16": "1960-07-05",
        "18": "pensioner", "23": "documents"})
}

fn booking(date: &str, time: &str) -> Value {
    json!({"origin": "desk", "date": date, "time": time, "session": "mon", "fields": applicant()})
}

struct World {
    node: node::server::Node,
    t: TestNode,
    desk: String,
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("node");
    let node = open_node(&test_config(), &data, Some(ADMIN_PASSWORD.to_string()))
        .await
        .unwrap();
    let mut t = TestNode {
        app: node::http::app(node.state.clone()),
        _dir: dir,
        data,
        admin: String::new(),
    };
    t.admin = t.activate("admin", ADMIN_PASSWORD).await;
    let desk = t.user("desk", &["registrar"], None).await;
    // A fresh node starts with the demo schedule, marked sample data.
    let (_, v) = t
        .call("GET", "/api/v1/reception/schedule", &desk, None)
        .await;
    assert_eq!(v["schedule"]["sample"], true, "{v}");
    let (s, v) = t
        .call("PUT", "/api/v1/reception/schedule", &desk, Some(schedule()))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    World { node, t, desk }
}

impl World {
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.t.call(method, path, &self.desk, body).await
    }
    async fn queue(&self, date: &str) -> Vec<Value> {
        let (s, v) = self
            .call("GET", &format!("/api/v1/reception/queue?date={date}"), None)
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v.as_array().unwrap().clone()
    }
}

fn field(card: &Value, n: usize) -> &Value {
    let f = &card["fields"][n - 1];
    assert_eq!(f["number"], n);
    &f["value"]
}

#[tokio::test]
async fn r31_booking_reception_and_lp1_card_over_the_api() {
    let w = world().await;
    // The demo schedule a fresh node starts with is marked sample data; the test set its own.
    let (_, v) = w.call("GET", "/api/v1/reception/schedule", None).await;
    assert_eq!(v["schedule"]["sample"], false);
    let (s, form) = w.call("GET", "/api/v1/reception/form", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(form["lp1"].as_array().unwrap().len(), 36);
    assert_eq!(form["reference"]["sample"], true);
    let (_, api) = w.t.call("GET", "/api/v1/openapi.json", "", None).await;
    assert!(api["paths"]["/api/v1/reception/bookings/{id}/lp1"].is_object());
    assert!(api["components"]["schemas"]["Lp1Card"].is_object());

    let (s, b) = w
        .call(
            "POST",
            "/api/v1/reception/bookings",
            Some(booking(MONDAY, "10:20")),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let id = b["id"].as_str().unwrap().to_string();
    assert_eq!(b["status"], "booked");
    let queue = w.queue(MONDAY).await;
    assert_eq!(queue.len(), 1);
    assert_eq!(queue[0]["id"], id.as_str());
    assert_eq!(queue[0]["surname"], "Ахметова");

    let (s, card) = w
        .call("GET", &format!("/api/v1/reception/bookings/{id}/lp1"), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{card}");
    assert_eq!(card["form"], "ЛП-1");
    assert_eq!(card["fields"].as_array().unwrap().len(), 36);
    assert_eq!(field(&card, 1), "ДП города Астаны");
    assert_eq!(field(&card, 3), "2");
    assert_eq!(field(&card, 6), "2");
    assert_eq!(field(&card, 17), "65");
    assert_eq!(field(&card, 24), "head");
    assert_eq!(field(&card, 26), MONDAY);
    assert_eq!(field(&card, 27), "10:20");
    assert_eq!(field(&card, 28), "710000000");
    assert_eq!(field(&card, 29), "HQ room 1");
    assert_eq!(card["fields"][17]["value_ru"], "Пенсионер");
    assert_eq!(card["fields"][27]["value_ru"], "город Астана");
    assert_eq!(
        card["fields"][9]["ru"],
        "Индивидуальный идентификационный номер"
    );
    assert_eq!(card["missing"], json!([]));

    // Held without the secretary and attendees: refused, nothing changes.
    let path = format!("/api/v1/reception/bookings/{id}/held");
    let (s, e) = w
        .call("POST", &path, Some(json!({"fields": {"25": "explained"}})))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(
        (e["code"].as_str(), e["field"].as_str()),
        (Some("lp1_field_missing"), Some("lp1_32"))
    );
    let (_, b) = w
        .call("GET", &format!("/api/v1/reception/bookings/{id}"), None)
        .await;
    assert_eq!(b["status"], "booked");
    let full = json!({"fields": {"25": "explained", "31": "dep", "32": "Секретарь С.",
        "33": "Ахметова А.", "34": "kk"}});
    let (s, b) = w.call("POST", &path, Some(full.clone())).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["status"], "held");
    let (_, card) = w
        .call("GET", &format!("/api/v1/reception/bookings/{id}/lp1"), None)
        .await;
    assert_eq!(field(&card, 31), "dep");
    assert_eq!(card["fields"][30]["value_ru"], "Deputy B.");
    assert_eq!(card["fields"][24]["value_ru"], "Разъяснено");
    assert_eq!(card["missing"], json!([]));
    // Report 1-ОЛ section 5 counts it: held by a deputy, explained.
    let entries = w
        .node
        .state
        .service
        .reception()
        .report_entries(300)
        .unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].record_id, id);
    assert!(matches!(
        entries[0].outcome,
        Some(sync::report_1ol::ReceptionOutcome::Held {
            by: sync::report_1ol::Receiver::Deputy,
            decision: Some(sync::report_1ol::ReceptionDecision::Explained),
            ..
        })
    ));
    // Recorded once: a second record is refused.
    let (s, _) = w.call("POST", &path, Some(full)).await;
    assert_eq!(s, StatusCode::CONFLICT);
}

#[tokio::test]
async fn r31_reception_not_held_is_recorded_with_its_reason() {
    let w = world().await;
    let (_, b) = w
        .call(
            "POST",
            "/api/v1/reception/bookings",
            Some(booking(MONDAY, "10:00")),
        )
        .await;
    let id = b["id"].as_str().unwrap();
    let path = format!("/api/v1/reception/bookings/{id}/not-held");
    let (s, e) = w.call("POST", &path, Some(json!({"fields": {}}))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["field"], "lp1_36");
    let (s, b) = w
        .call(
            "POST",
            &path,
            Some(json!({"fields": {"36": "Заявитель не явился"}})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["status"], "not_held");
    let (_, card) = w
        .call("GET", &format!("/api/v1/reception/bookings/{id}/lp1"), None)
        .await;
    assert_eq!(field(&card, 36), "Заявитель не явился");
    assert_eq!(card["missing"], json!([]));
}

#[tokio::test]
async fn r31_bad_bookings_are_refused_with_the_field_and_store_nothing() {
    let w = world().await;
    let (s, _) = w
        .call(
            "POST",
            "/api/v1/reception/bookings",
            Some(booking(MONDAY, "10:00")),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let with = |f: &dyn Fn(&mut Value)| {
        let mut b = booking(MONDAY, "10:20");
        f(&mut b);
        b
    };
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            with(&|b| {
                b["fields"].as_object_mut().unwrap().remove("11");
            }),
            "lp1_field_missing",
            "lp1_11",
        ),
        (
            with(&|b| {
                b["fields"].as_object_mut().unwrap().remove("18");
            }),
            "lp1_field_missing",
            "lp1_18",
        ),
        (
            with(&|b| b["fields"]["10"] = json!("600705451317")),
            "iin_invalid",
            "lp1_10",
        ),
        (
            with(&|b| b["fields"]["18"] = json!("astronaut")),
            "lp1_field_invalid",
            "lp1_18",
        ),
        (
            with(&|b| b["fields"]["28"] = json!("999999999")),
            "lp1_field_not_editable",
            "lp1_28",
        ),
        (booking(MONDAY, "10:10"), "reception_slot_unknown", "time"),
        (
            booking("2026-03-17", "10:00"),
            "reception_slot_unknown",
            "date",
        ),
        (
            booking(MONDAY_OFF, "10:00"),
            "reception_non_working_day",
            "date",
        ),
        (booking(MONDAY, "10:00"), "reception_slot_taken", "time"),
        (
            with(&|b| b["session"] = json!("friday")),
            "reception_slot_unknown",
            "session",
        ),
    ];
    for (input, code, fld) in cases {
        let (s, e) = w
            .call("POST", "/api/v1/reception/bookings", Some(input.clone()))
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{input} → {e}");
        assert_eq!(
            (e["code"].as_str(), e["field"].as_str()),
            (Some(code), Some(fld)),
            "{input}"
        );
    }
    assert_eq!(w.queue(MONDAY).await.len(), 1);
    assert_eq!(w.queue(MONDAY_OFF).await.len(), 0);
    // A place whose КАТО code the list lacks: the schedule is refused and stays as it was.
    let mut bad = schedule();
    bad["places"][0]["kato"] = json!("999999999");
    let (s, e) = w.call("PUT", "/api/v1/reception/schedule", Some(bad)).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("kato_unknown"))
    );
    let (_, v) = w.call("GET", "/api/v1/reception/schedule", None).await;
    assert_eq!(v["schedule"]["places"][0]["kato"], "710000000");
}

/// A request for (`date`, `time`) as the hub writes it while the region is cut off.
fn hub_request(id: &str, date: &str, time: &str) -> Vec<u8> {
    let schedule: Schedule = serde_json::from_value(schedule()).unwrap();
    let reference = ReceptionReference::demo();
    let calendar = WorkCalendar::new(embedded_years().unwrap().iter()).unwrap();
    let region = Region {
        code: "AST",
        body: "ДП города Астаны",
        schedule: &schedule,
        reference: &reference,
        calendar: &calendar,
    };
    let input: BookingInput = serde_json::from_value(json!({"origin": "app", "date": date,
        "time": time, "session": "mon", "fields": applicant()}))
    .unwrap();
    assert_eq!(input.origin, Origin::App);
    let today = Day::parse("2026-03-02").unwrap();
    let record = prepare_booking(&input, Via::Hub, &region, id, today, 1).unwrap();
    let ctx = Ctx::new("citizen-app", "central", node::http::now_ms());
    let mut doc = ReceptionDoc::create_booking(
        automerge::ActorId::from(vec![9u8; 16]),
        id,
        "AST",
        &record,
        &ctx,
    )
    .unwrap();
    doc.save()
}

fn import(w: &World, id: &str, bytes: &[u8]) {
    let doc_id = DocId::parse(&format!("AST/reception/{id}")).unwrap();
    w.node
        .state
        .service
        .replica_import(&doc_id, bytes, "central", node::http::now_ms())
        .unwrap();
}

#[tokio::test]
async fn r31_hub_request_after_the_desk_booked_the_slot_is_moved_when_the_link_returns() {
    let w = world().await;
    // While the link is down the desk books 10:00 and the hub takes a request for 10:00.
    let (s, _) = w
        .call(
            "POST",
            "/api/v1/reception/bookings",
            Some(booking(MONDAY, "10:00")),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let bytes = hub_request("hub-1", MONDAY, "10:00");
    // The link returns: the request arrives, twice (a replayed batch).
    import(&w, "hub-1", &bytes);
    import(&w, "hub-1", &bytes);
    let (_, b) = w
        .call("GET", "/api/v1/reception/bookings/hub-1", None)
        .await;
    assert_eq!(b["status"], "booked", "{b}");
    assert_eq!(b["via"], "hub");
    assert_eq!(b["slot"]["time"], "10:20");
    assert_eq!(b["moved_from"]["time"], "10:00");
    assert_eq!(b["log"].as_array().unwrap().len(), 2, "moved once: {b}");
    let times: Vec<Value> = w
        .queue(MONDAY)
        .await
        .iter()
        .map(|q| q["slot"]["time"].clone())
        .collect();
    assert_eq!(times, [json!("10:00"), json!("10:20")]);
    // What the region wrote goes back to the hub, and the hub's copy reads the same.
    let doc_id = DocId::parse("AST/reception/hub-1").unwrap();
    let back = w.node.state.service.replica_export(&doc_id, &[]).unwrap();
    let mut hub = ReceptionDoc::load([bytes.as_slice()]).unwrap();
    let mut region = ReceptionDoc::load([back.as_slice()]).unwrap();
    hub.merge(&mut region).unwrap();
    assert_eq!(hub.view().unwrap(), region.view().unwrap());
}

#[tokio::test]
async fn r31_hub_request_that_arrives_first_holds_the_slot_against_a_later_desk_booking() {
    let w = world().await;
    import(&w, "hub-2", &hub_request("hub-2", MONDAY, "10:40"));
    let (_, b) = w
        .call("GET", "/api/v1/reception/bookings/hub-2", None)
        .await;
    assert_eq!(b["status"], "booked", "{b}");
    assert_eq!(b["slot"]["time"], "10:40");
    assert!(b["moved_from"].is_null());
    let (s, e) = w
        .call(
            "POST",
            "/api/v1/reception/bookings",
            Some(booking(MONDAY, "10:40")),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["code"], "reception_slot_taken");
    assert_eq!(w.queue(MONDAY).await.len(), 1);
    // A request for a day off is moved to the session's first free slot after it.
    import(
        &w,
        "hub-3",
        &hub_request_unchecked("hub-3", MONDAY_OFF, "10:00"),
    );
    let (_, b) = w
        .call("GET", "/api/v1/reception/bookings/hub-3", None)
        .await;
    assert_eq!(
        (b["slot"]["date"].as_str(), b["slot"]["time"].as_str()),
        (Some(MONDAY), Some("10:00"))
    );
}

/// A request the hub took for a day the region does not receive on (the hub has no calendar
/// check of the region's sessions): built by moving a valid request's slot.
fn hub_request_unchecked(id: &str, date: &str, time: &str) -> Vec<u8> {
    let valid = hub_request(id, MONDAY, time);
    let mut doc = ReceptionDoc::load([valid.as_slice()]).unwrap();
    let sync::reception::ReceptionView::Booking(b) = doc.view().unwrap() else {
        panic!()
    };
    let mut slot = b.slot.clone();
    slot.date = date.to_string();
    // Written as the hub's own first version: a fresh request document with that slot.
    let record = sync::reception::BookingRecord {
        origin: b.origin,
        via: Via::Hub,
        slot,
        fields: b.fields.clone(),
    };
    let ctx = Ctx::new("citizen-app", "central", node::http::now_ms());
    let _ = doc.save();
    ReceptionDoc::create_booking(
        automerge::ActorId::from(vec![9u8; 16]),
        id,
        "AST",
        &record,
        &ctx,
    )
    .unwrap()
    .save()
}

#[tokio::test]
async fn r31_reference_lists_come_from_the_configured_file_and_a_bad_one_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("reception-reference.toml");
    let official = sync::reception::reference::DEMO_RECEPTION_REFERENCE_TOML
        .replace("sample = true", "sample = false")
        .replace("code = \"710000000\"", "code = \"710000001\"");
    std::fs::write(&file, &official).unwrap();
    let mut config = test_config();
    config.reception.reference_file = Some(file.clone());
    let node = open_node(
        &config,
        &dir.path().join("a"),
        Some(ADMIN_PASSWORD.to_string()),
    )
    .await
    .unwrap();
    let reference = node.state.service.reception().reference();
    assert!(!reference.sample);
    assert!(reference
        .lookup(sync::reception::RefList::Kato, "710000001")
        .is_some());
    assert!(reference
        .lookup(sync::reception::RefList::Kato, "710000000")
        .is_none());
    // With its own lists the node starts with no schedule (the demo one is sample data).
    assert_eq!(node.state.service.reception().schedule().unwrap(), None);
    drop(node);
    std::fs::write(
        &file,
        official.replace("[[language]]", "[[language]]\nextra = 1"),
    )
    .unwrap();
    let Err(e) = open_node(
        &config,
        &dir.path().join("b"),
        Some(ADMIN_PASSWORD.to_string()),
    )
    .await
    else {
        panic!("a bad reference file must stop the start");
    };
    assert!(
        format!("{e:#}").contains("reception-reference.toml"),
        "{e:#}"
    );
}

#[tokio::test]
async fn r31_an_acknowledged_booking_survives_a_restart_with_its_slot_taken() {
    let w = world().await;
    let (s, b) = w
        .call(
            "POST",
            "/api/v1/reception/bookings",
            Some(booking(MONDAY, "10:00")),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let id = b["id"].as_str().unwrap().to_string();
    let World { node, t, .. } = w;
    // Everything holding the store goes: the app and the node (the directory stays).
    let (app, dir, data) = (t.app, t._dir, t.data);
    drop(app);
    let _ = node.shutdown.send(true);
    drop(node);
    let node = open_node(&test_config(), &data, None).await.unwrap();
    let reception = node.state.service.reception();
    assert_eq!(reception.get(&id).unwrap().slot.time, "10:00");
    assert_eq!(reception.day(MONDAY).unwrap().len(), 1);
    let calendar = node.state.service.work_calendar().unwrap();
    let input: BookingInput = serde_json::from_value(booking(MONDAY, "10:00")).unwrap();
    let e = reception
        .book(&input, &calendar, 300, "desk", node::http::now_ms())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("already booked"), "{e}");
    drop(dir);
}

#[tokio::test]
async fn r31_a_hub_request_that_arrived_before_any_schedule_waits_and_is_settled_when_one_is_set() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("reception-reference.toml");
    let own = sync::reception::reference::DEMO_RECEPTION_REFERENCE_TOML
        .replace("sample = true", "sample = false");
    std::fs::write(&file, &own).unwrap();
    let mut config = test_config();
    config.reception.reference_file = Some(file);
    let data = dir.path().join("node");
    let node = open_node(&config, &data, Some(ADMIN_PASSWORD.to_string()))
        .await
        .unwrap();
    let mut t = TestNode {
        app: node::http::app(node.state.clone()),
        _dir: dir,
        data,
        admin: String::new(),
    };
    t.admin = t.activate("admin", ADMIN_PASSWORD).await;
    let desk = t.user("desk", &["registrar"], None).await;
    let w = World { node, t, desk };
    let (_, v) = w.call("GET", "/api/v1/reception/schedule", None).await;
    assert!(v["schedule"].is_null(), "{v}");
    import(&w, "hub-4", &hub_request("hub-4", MONDAY, "10:20"));
    let (_, b) = w
        .call("GET", "/api/v1/reception/bookings/hub-4", None)
        .await;
    assert_eq!(b["status"], "requested", "{b}");
    let (s, v) = w
        .call("PUT", "/api/v1/reception/schedule", Some(schedule()))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, b) = w
        .call("GET", "/api/v1/reception/bookings/hub-4", None)
        .await;
    assert_eq!(b["status"], "booked", "{b}");
    assert_eq!(b["slot"]["time"], "10:20");
    let (s, e) = w
        .call(
            "POST",
            "/api/v1/reception/bookings",
            Some(booking(MONDAY, "10:20")),
        )
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("reception_slot_taken")
        )
    );
}
