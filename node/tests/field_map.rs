//! Field units on the dispatcher's map (R20): positions from the units' terminals, each unit's
//! post of the shift and whether it is far from it, the roster's posts with their geometry,
//! track replay; and what a terminal may not send (another unit's document, positions in the
//! future or off the Earth, an oversized report) refused whole.

mod common;

use axum::http::StatusCode;
use common::api_node::{test_config, TestNode, ADMIN_PASSWORD};
use node::server::open_node;
use serde_json::json;
use sync::field::{
    FieldDocId, FieldEntry, FieldEntryBody, FieldLogDoc, FieldPart, PatrolReport, ReportOutcome,
    TrackDoc, UnitPosition,
};
use sync::{DocId, Document};

fn track_bytes(unit_inside: &str, date: &str, points: &[UnitPosition], now: i64) -> Vec<u8> {
    let mut t = TrackDoc::create(automerge::ActorId::random(), unit_inside, date).unwrap();
    t.append(points, now).unwrap();
    t.save()
}

fn at(lat: f64, lon: f64, at_ms: i64) -> UnitPosition {
    UnitPosition {
        at_ms,
        lat,
        lon,
        accuracy_m: Some(6.0),
        speed_kmh: Some(0.0),
        heading_deg: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r20_units_on_the_map_with_their_posts_and_who_is_off_post() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("node");
    let node = open_node(&test_config(), &data, Some(ADMIN_PASSWORD.into()))
        .await
        .unwrap();
    let service = node.state.service.clone();
    let mut t = TestNode {
        app: node::http::app(node.state.clone()),
        _dir: dir,
        data,
        admin: String::new(),
    };
    t.admin = t.activate("admin", ADMIN_PASSWORD).await;
    let sup = t.user("sup1", &["supervisor"], None).await;
    let disp = t.user("disp1", &["dispatcher"], None).await;
    let now = node::http::now_ms();
    let (date, shift) = service.reference().shift_at(now);
    let shift = serde_json::to_value(shift).unwrap();
    for (unit, post) in [
        ("p01", "P-BAITEREK"),
        ("p02", "Маршрут пр. Кабанбай батыра"),
    ] {
        let (s, v) = t
            .call(
                "POST",
                "/api/v1/roster",
                &sup,
                Some(json!({"date": date, "shift": shift, "post": post, "unit_id": unit})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    // p01 90 m from its post; p02 several km from its route; p03 has reported nothing.
    let day = sync::field::field_day(now);
    for (unit, p) in [
        ("p01", at(51.1290, 71.4310, now - 20_000)),
        ("p02", at(51.20, 71.50, now - 10_000)),
    ] {
        let id = FieldDocId::new("AST", unit, FieldPart::Track { date: day.clone() })
            .unwrap()
            .doc_id();
        service
            .replica_import(&id, &track_bytes(unit, &day, &[p], now), "unit", now)
            .unwrap();
    }

    let (s, units) = t.call("GET", "/api/v1/map/units", &disp, None).await;
    assert_eq!(s, StatusCode::OK, "{units}");
    let by = |id: &str| {
        units
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["unit_id"] == id)
            .unwrap()
            .clone()
    };
    let p01 = by("p01");
    assert_eq!(p01["position"]["at_ms"], now - 20_000);
    assert_eq!(p01["post"]["code"], "P-BAITEREK");
    assert_eq!(p01["post"]["off_post"], false);
    assert!(p01["post"]["distance_m"].as_f64().unwrap() < 150.0, "{p01}");
    let p02 = by("p02");
    assert_eq!(p02["post"]["code"], "R-KABANBAY");
    assert_eq!(p02["post"]["off_post"], true, "{p02}");
    assert!(by("p03").get("position").is_none());

    let (s, posts) = t.call("GET", "/api/v1/map/posts", &disp, None).await;
    assert_eq!(s, StatusCode::OK);
    let baiterek = posts
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["code"] == "P-BAITEREK")
        .unwrap();
    assert_eq!(baiterek["units"], json!(["p01"]));
    assert_eq!(baiterek["point"], json!([51.1283, 71.4305]));
    let route = posts
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["code"] == "R-KABANBAY")
        .unwrap();
    assert_eq!(route["route"].as_array().unwrap().len(), 4);

    let (s, track) = t
        .call(
            "GET",
            &format!(
                "/api/v1/units/p01/track?from_ms={}&to_ms={}",
                now - 3_600_000,
                now
            ),
            &disp,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(track.as_array().unwrap().len(), 1);
    let (s, v) = t
        .call(
            "GET",
            &format!("/api/v1/units/p01/track?from_ms=0&to_ms={now}"),
            &disp,
            None,
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("track_range_invalid")
        )
    );
    // A patrol account does not see the map.
    let patrol = t.user("patrol9", &["patrol"], None).await;
    let (s, _) = t.call("GET", "/api/v1/map/units", &patrol, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminals_bad_documents_are_refused_whole() {
    let dir = tempfile::tempdir().unwrap();
    let node = open_node(
        &test_config(),
        &dir.path().join("node"),
        Some(ADMIN_PASSWORD.into()),
    )
    .await
    .unwrap();
    let service = node.state.service.clone();
    let now = node::http::now_ms();
    let day = sync::field::field_day(now);
    let track_id = |unit: &str| {
        FieldDocId::new("AST", unit, FieldPart::Track { date: day.clone() })
            .unwrap()
            .doc_id()
    };
    let refused = |id: &DocId, bytes: &[u8]| {
        let err = service.replica_import(id, bytes, "unit", now).unwrap_err();
        assert!(
            matches!(err, sync::protocol::RepoError::Refused(_)),
            "{err:?}"
        );
        assert!(
            service.replica_heads(id).unwrap().is_none(),
            "nothing stored for {id}"
        );
    };
    // Another unit's track under p01's id.
    refused(
        &track_id("p01"),
        &track_bytes("p02", &day, &[at(51.1, 71.4, now)], now),
    );
    // A position dated an hour ahead: written with a clock an hour ahead, refused here.
    refused(
        &track_id("p01"),
        &track_bytes(
            "p01",
            &day,
            &[at(51.1, 71.4, now + 3_600_000)],
            now + 3_600_000,
        ),
    );
    // An oversized report, written by a build that did not check it.
    let mut log = FieldLogDoc::create(automerge::ActorId::random(), "p01", &day).unwrap();
    {
        use automerge::transaction::Transactable;
        use automerge::ReadDoc;
        let report = PatrolReport {
            established: "х".repeat(40_000),
            measures: "меры".into(),
            persons: vec![],
            vehicles: vec![],
            outcome: ReportOutcome::ResolvedOnScene,
            photos: vec![],
        };
        let entry = FieldEntry {
            id: "e1".into(),
            at_ms: now,
            by: "patrol1".into(),
            card_id: Some("c1".into()),
            body: FieldEntryBody::Report { report },
        };
        let d = log.automerge();
        let list = match d.get(automerge::ROOT, "entries").unwrap() {
            Some((_, id)) => id,
            None => unreachable!(),
        };
        d.insert(&list, 0, serde_json::to_string(&entry).unwrap())
            .unwrap();
        d.commit();
    }
    let log_id = FieldDocId::new("AST", "p01", FieldPart::Log { date: day.clone() })
        .unwrap()
        .doc_id();
    refused(&log_id, &log.save());
    // A unit's valid track is taken.
    service
        .replica_import(
            &track_id("p01"),
            &track_bytes("p01", &day, &[at(51.1, 71.4, now)], now),
            "unit",
            now,
        )
        .unwrap();
}
