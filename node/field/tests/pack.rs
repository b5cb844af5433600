//! The pack the node writes for the unit, as the terminal receives it through its repo: shown
//! to the officer, its shift end kept, its revocation obeyed; and a revoked certificate wipes.

mod common;

use common::rig;
use field_terminal::app::{Alarm, Notice};
use serde_json::json;
use server_kit::clock::now_ms;
use sync::field::{Assignment, PackMeta, PackWarning, UnitPackDoc};
use sync::protocol::Repo;
use sync::Document;

const PACK_ID: &str = "AST/field/p01~pack";

/// The node's pack document, as bytes the protocol would carry.
fn pack_bytes(expires_at_ms: i64, revoked: bool) -> Vec<u8> {
    let mut doc = UnitPackDoc::create(automerge::ActorId::random(), "p01").unwrap();
    doc.set_meta(&PackMeta {
        unit_id: "p01".into(),
        call_sign: "Беркут-1".into(),
        region: "AST".into(),
        expires_at_ms,
        revoked,
        post: None,
    })
    .unwrap();
    let a: Assignment = serde_json::from_value(json!({
        "card_id": "c-1", "number": "AST-000123", "category": "domestic",
        "description": "Шум, крики за стеной",
        "location": {"lat": 51.128, "lon": 71.43, "address": "ул. Кенесары, 40, кв. 12"},
        "caller_name": "Жанар", "caller_phone": "+77011234567",
        "dispatched_at_ms": now_ms() - 60_000, "warnings": [], "earlier": [], "status": "assigned"
    }))
    .unwrap();
    let mut a = a;
    a.warnings.push(PackWarning {
        address: "ул. Кенесары, 40".into(),
        person: "Серіков Ержан".into(),
        birth_year: Some(1979),
        flags: vec!["registered_weapon".into()],
        note: "Охотничье ружьё".into(),
        possible: false,
    });
    doc.put_assignment(&a).unwrap();
    doc.save()
}

fn import(rig: &common::Rig, bytes: &[u8]) {
    let shift = rig.terminal.shift().unwrap();
    let mut repo = shift.repo.lock().unwrap();
    repo.import(PACK_ID, bytes, None).unwrap();
    let gc = repo.group_commit().clone();
    drop(repo);
    gc.wait_written().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r08_the_pack_shows_the_assignment_with_its_address_warnings_and_sets_the_shift_end() {
    let rig = rig();
    rig.login("ivanov", "pass-ivanov").await;
    let (_, empty) = rig.call("GET", "/field/v1/pack", None).await;
    assert_eq!(empty["assignments"], json!([]));
    let ends = now_ms() + 5 * 3_600_000;
    tokio::task::block_in_place(|| import(&rig, &pack_bytes(ends, false)));
    rig.terminal.on_alarm(Alarm::Imported(PACK_ID.into())).await;
    let (s, pack) = rig.call("GET", "/field/v1/pack", None).await;
    assert!(s.is_success(), "{pack}");
    let a = &pack["assignments"][0];
    assert_eq!(a["number"], "AST-000123");
    assert_eq!(a["warnings"][0]["flags"][0], "registered_weapon");
    assert_eq!(pack["meta"]["call_sign"], "Беркут-1");
    assert_eq!(rig.terminal.expires_at_ms(), Some(ends));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pack_saying_revoked_wipes_the_terminal() {
    let rig = rig();
    rig.login("ivanov", "pass-ivanov").await;
    tokio::task::block_in_place(|| import(&rig, &pack_bytes(now_ms() + 3_600_000, true)));
    rig.terminal.on_alarm(Alarm::Imported(PACK_ID.into())).await;
    assert!(rig.terminal.shift().is_none());
    assert_eq!(rig.terminal.notice(), Some(Notice::Revoked));
    assert!(rig.terminal.officers().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_certificate_wipes_the_store_and_says_so() {
    let rig = rig();
    rig.login("ivanov", "pass-ivanov").await;
    let (s, _) = rig
        .call(
            "POST",
            "/field/v1/status",
            Some(json!({"card_id": "c-1", "status": "en_route"})),
        )
        .await;
    assert!(s.is_success());
    rig.terminal.on_alarm(Alarm::Revoked).await;
    let (_, st) = rig.call("GET", "/field/v1/state", None).await;
    assert_eq!(st["notice"], "revoked");
    assert_eq!(st["officer"], json!(null));
    assert_eq!(
        std::fs::read_dir(rig.dir.path()).unwrap().count(),
        0,
        "nothing of the unit's data stays"
    );
    // The officer's old password opens nothing any more: a first login again.
    rig.node_down();
    let (_, v) = rig.login("ivanov", "pass-ivanov").await;
    assert_eq!(v["code"], "node_unreachable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_end_of_the_shift_wipes_and_idle_logs_out() {
    let rig = rig();
    rig.login("ivanov", "pass-ivanov").await;
    let expires = rig.terminal.expires_at_ms().unwrap();
    // Idle past the timeout: logged out, the data stay.
    let idle = rig.terminal.settings.idle_logout_ms;
    rig.terminal.tick(now_ms() + idle + 1).await;
    assert!(rig.terminal.shift().is_none());
    assert_eq!(rig.terminal.notice(), Some(Notice::IdleLogout));
    assert_eq!(rig.terminal.officers(), vec!["ivanov"]);
    // The end of the shift: wiped.
    rig.terminal.tick(expires).await;
    assert_eq!(rig.terminal.notice(), Some(Notice::ShiftExpired));
    assert!(rig.terminal.officers().is_empty());
}
