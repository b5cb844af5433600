use automerge::ActorId;

use super::*;
use crate::doc::Document;

const NOW: i64 = 1_796_000_000_000;

fn report() -> PatrolReport {
    PatrolReport {
        established: "Шум в квартире 12, соседи поссорились".into(),
        measures: "Проведена беседа, стороны примирились".into(),
        persons: vec![ReportPerson {
            role: PersonRole::Applicant,
            surname: Some("Ахметова".into()),
            name: Some("Айгерим".into()),
            birth_year: Some(1985),
            iin: Some("850101400123".into()),
            note: None,
        }],
        vehicles: vec![ReportVehicle {
            plate: "123ABC01".into(),
            make: Some("Toyota Camry".into()),
            color: None,
            note: None,
        }],
        outcome: ReportOutcome::ResolvedOnScene,
        photos: vec![],
    }
}

fn entry(id: &str, body: FieldEntryBody) -> FieldEntry {
    FieldEntry {
        id: id.into(),
        at_ms: NOW - 120_000,
        by: "patrol1".into(),
        card_id: Some("card-1".into()),
        body,
    }
}

#[test]
fn r34_a_report_in_the_standard_format_round_trips_through_the_log() {
    let mut log = FieldLogDoc::create(ActorId::random(), "p01", "2026-12-05").unwrap();
    let e = entry("e1", FieldEntryBody::Report { report: report() });
    log.append(&e, NOW).unwrap();
    log.append(&e, NOW).unwrap(); // the same entry again: written once
    let mut copy = FieldLogDoc::load([log.save().as_slice()]).unwrap();
    assert_eq!(copy.entries().unwrap(), vec![e]);
    assert_eq!(copy.unit().as_deref(), Some("p01"));
    let _ = copy.heads();
}

#[test]
fn r34_a_report_without_what_was_established_or_the_measures_is_refused() {
    let mut r = report();
    r.established = "  ".into();
    assert_eq!(
        r.validate().unwrap_err().field_name(),
        Some("report.established")
    );
    let mut r = report();
    r.measures.clear();
    assert_eq!(
        r.validate().unwrap_err().field_name(),
        Some("report.measures")
    );
    let mut r = report();
    r.persons[0] = ReportPerson {
        role: PersonRole::Witness,
        surname: None,
        name: None,
        birth_year: None,
        iin: None,
        note: None,
    };
    assert_eq!(r.validate().unwrap_err().code(), "report_person_empty");
    let mut r = report();
    r.persons[0].iin = Some("12345".into());
    assert_eq!(r.validate().unwrap_err().code(), "iin_invalid");
    let mut r = report();
    r.vehicles[0].plate.clear();
    assert!(r.validate().is_err());
}

#[test]
fn r34_an_oversized_report_is_refused_and_nothing_is_written() {
    let mut r = report();
    r.persons = (0..30)
        .map(|i| ReportPerson {
            role: PersonRole::Witness,
            surname: Some(format!("Свидетель {i}")),
            name: None,
            birth_year: None,
            iin: None,
            note: Some("х".repeat(1_500)),
        })
        .collect();
    let err = r.validate().unwrap_err();
    assert_eq!(err.code(), "report_too_large");
    let mut log = FieldLogDoc::create(ActorId::random(), "p01", "2026-12-05").unwrap();
    let heads = log.heads();
    assert!(log
        .append(&entry("e1", FieldEntryBody::Report { report: r }), NOW)
        .is_err());
    assert_eq!(log.heads(), heads, "nothing written");
    assert!(log.entries().unwrap().is_empty());
}

#[test]
fn entries_dated_in_the_future_or_without_a_card_are_refused() {
    let mut log = FieldLogDoc::create(ActorId::random(), "p01", "2026-12-05").unwrap();
    let mut e = entry(
        "e1",
        FieldEntryBody::Status {
            status: FieldStatus::EnRoute,
        },
    );
    e.at_ms = NOW + FIELD_CLOCK_AHEAD_MS_MAX + 1;
    assert_eq!(
        log.append(&e, NOW).unwrap_err().code(),
        "field_time_in_future"
    );
    e.at_ms = 1_000;
    assert_eq!(
        log.append(&e, NOW).unwrap_err().code(),
        "field_time_too_old"
    );
    e.at_ms = NOW;
    e.card_id = None;
    assert_eq!(
        log.append(&e, NOW).unwrap_err().field_name(),
        Some("card_id")
    );
    // A note needs no card.
    let mut n = entry(
        "n1",
        FieldEntryBody::Note {
            text: "Заправка".into(),
        },
    );
    n.card_id = None;
    log.append(&n, NOW).unwrap();
}

fn fix(i: i64) -> UnitPosition {
    UnitPosition {
        at_ms: NOW - 12 * 3_600_000 + i * 15_000,
        lat: 51.128 + (i as f64) * 0.0001,
        lon: 71.430 - (i as f64) * 0.00007,
        accuracy_m: Some(6.5),
        speed_kmh: Some(42.3),
        heading_deg: Some((i % 360) as u16),
    }
}

#[test]
fn points_round_trip_through_their_encoding_within_a_microdegree() {
    for i in [0, 1, 77, 2879] {
        let p = fix(i);
        let q = decode_point(&encode_point(&p)).unwrap();
        assert_eq!(q.at_ms, p.at_ms);
        assert!((q.lat - p.lat).abs() < 1e-6 && (q.lon - p.lon).abs() < 1e-6);
        assert_eq!(q.accuracy_m, p.accuracy_m);
        assert_eq!(q.heading_deg, p.heading_deg);
    }
    let south_west = UnitPosition {
        lat: -33.9,
        lon: -70.6,
        ..fix(0)
    };
    let q = decode_point(&encode_point(&south_west)).unwrap();
    assert!((q.lat + 33.9).abs() < 1e-6 && (q.lon + 70.6).abs() < 1e-6);
    assert!(
        decode_point(&[1, 0x80]).is_none(),
        "truncated input is not a point"
    );
}

/// The measurement behind the track's design: a 12-hour shift at one point per 15 s.
#[test]
fn track_bytes_per_unit_shift() {
    let mut track = TrackDoc::create(ActorId::random(), "p01", "2026-12-05").unwrap();
    let points: Vec<UnitPosition> = (0..2_880).map(fix).collect();
    for p in &points {
        track.append(std::slice::from_ref(p), NOW).unwrap();
    }
    let per_point = track.save().len();
    let mut json_doc = automerge::AutoCommit::new();
    {
        use automerge::transaction::Transactable;
        for p in &points {
            json_doc
                .put(automerge::ROOT, "latest", serde_json::to_string(p).unwrap())
                .unwrap();
            json_doc.commit();
        }
    }
    let json_lww = json_doc.save().len();
    let mut chunked = TrackDoc::create(ActorId::random(), "p01", "2026-12-05").unwrap();
    for c in points.chunks(16) {
        chunked.append(c, NOW).unwrap();
    }
    let chunked = chunked.save().len();
    println!(
        "track of 2880 points: {per_point} bytes as binary list points, one change each ({:.1} B/point); \
         16 points per change: {chunked} bytes; a JSON 'latest' field overwritten per point: {json_lww} bytes",
        per_point as f64 / 2880.0
    );
    assert!(per_point < json_lww, "{per_point} vs {json_lww}");
    assert!(per_point < 2_880 * 40, "{per_point} bytes for a shift");
    let back = TrackDoc::load([track.save().as_slice()]).unwrap();
    assert_eq!(back.points().len(), 2_880);
    assert_eq!(back.latest().unwrap().at_ms, points[2_879].at_ms);
}

#[test]
fn positions_out_of_range_or_in_the_future_are_refused_and_nothing_is_written() {
    let mut track = TrackDoc::create(ActorId::random(), "p01", "2026-12-05").unwrap();
    let heads = track.heads();
    let bad = [
        UnitPosition {
            lat: 91.0,
            ..fix(1)
        },
        UnitPosition {
            lon: f64::NAN,
            ..fix(1)
        },
        UnitPosition {
            at_ms: NOW + 3_600_000,
            ..fix(1)
        },
        UnitPosition {
            heading_deg: Some(400),
            ..fix(1)
        },
    ];
    for p in bad {
        assert!(track.append(&[fix(0), p], NOW).is_err(), "{p:?}");
    }
    assert_eq!(track.heads(), heads);
    assert!(track.is_empty());
}

#[test]
fn the_pack_writes_nothing_when_nothing_changed() {
    let mut pack = UnitPackDoc::create(ActorId::random(), "p01").unwrap();
    let a = Assignment {
        card_id: "c1".into(),
        number: "AST-2026-000001".into(),
        category: "fight".into(),
        category_kk: None,
        category_ru: None,
        priority: Some(1),
        description: "Драка".into(),
        location: None,
        caller_name: Some("Айгерим".into()),
        caller_phone: Some("+77011234567".into()),
        dispatched_at_ms: NOW,
        warnings: vec![],
        earlier: vec![],
        status: "assigned".into(),
    };
    assert!(pack.put_assignment(&a).unwrap());
    let heads = pack.heads();
    assert!(!pack.put_assignment(&a).unwrap());
    assert_eq!(pack.heads(), heads);
    assert_eq!(pack.view().unwrap().assignments, vec![a]);
    assert!(pack.remove_assignment("c1").unwrap());
    assert!(pack.view().unwrap().assignments.is_empty());
}

#[test]
fn a_photo_is_a_jpeg_named_by_its_sha256() {
    let jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3];
    let (mut doc, sha) = FieldPhotoDoc::create(ActorId::random(), "p01", &jpeg).unwrap();
    assert_eq!(sha, photo_sha256(&jpeg));
    let back = FieldPhotoDoc::load([doc.save().as_slice()]).unwrap();
    assert_eq!(back.bytes().unwrap(), jpeg);
    let err = FieldPhotoDoc::create(ActorId::random(), "p01", b"GIF89a")
        .err()
        .unwrap();
    assert_eq!(err.code(), "image_not_jpeg");
}

#[test]
fn a_day_is_kazakhstans_day() {
    // 2026-12-04 19:30 UTC is 2026-12-05 00:30 in Astana.
    assert_eq!(field_day(1_796_412_600_000), "2026-12-05");
}
