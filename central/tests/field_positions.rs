//! HQ's map of field units (R20): a unit's track arriving from its region moves the unit on the
//! national map; an older track never moves it back; a reindex builds the same index.

use std::sync::Arc;

use automerge::ActorId;
use central::field_positions;
use central::repo::CentralRepo;
use server_kit::store::{GroupCommit, SledStore, Store};
use sync::field::{FieldDocId, FieldPart, TrackDoc, UnitPosition};
use sync::protocol::Repo;
use sync::Document;

const NOW: i64 = 1_796_000_000_000;

fn track(unit: &str, date: &str, at_ms: i64, lat: f64) -> (String, Vec<u8>) {
    let mut t = TrackDoc::create(ActorId::random(), unit, date).unwrap();
    t.append(
        &[UnitPosition {
            at_ms,
            lat,
            lon: 71.43,
            accuracy_m: Some(5.0),
            speed_kmh: None,
            heading_deg: None,
        }],
        NOW,
    )
    .unwrap();
    let id = FieldDocId::new("AST", unit, FieldPart::Track { date: date.into() }).unwrap();
    (id.to_string(), t.save())
}

#[test]
fn r20_a_units_track_moves_it_on_hqs_map_and_a_reindex_agrees() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path(), 16 << 20).unwrap());
    let gc = Arc::new(GroupCommit::new(store.clone()));
    let mut repo = CentralRepo::open(store.clone(), gc.clone()).unwrap();
    let (today, bytes) = track("p01", "2026-12-05", NOW - 60_000, 51.128);
    repo.import(&today, &bytes, None).unwrap();
    let (yesterday, old) = track("p01", "2026-12-04", NOW - 86_400_000, 51.0);
    repo.import(&yesterday, &old, None).unwrap();
    let (other, b2) = track("p02", "2026-12-05", NOW - 30_000, 51.2);
    repo.import(&other, &b2, None).unwrap();

    let units = field_positions::all(&*store, None).unwrap();
    assert_eq!(units.len(), 2);
    let p01 = units.iter().find(|u| u.unit_id == "p01").unwrap();
    assert_eq!(
        (p01.region.as_str(), p01.position.at_ms),
        ("AST", NOW - 60_000)
    );
    assert_eq!(field_positions::all(&*store, Some("ALM")).unwrap().len(), 0);

    let before: Vec<_> = store.scan_prefix(b"nat/unitpos/").unwrap();
    repo.reindex().unwrap();
    assert_eq!(store.scan_prefix(b"nat/unitpos/").unwrap(), before);
}
