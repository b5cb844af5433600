//! A node upgraded in place keeps every document: a store written by the node before document
//! ids carried their region (layout 1, `fixtures/store-layout1`, written by the node at commit
//! f3c8f7d through its HTTP API: three cards, one dispatched with six notes so that it was
//! compacted once under `doc_chunks_max = 4`, one roster line) is moved to the current layout on
//! open, and everything reads back as before.

use std::path::Path;

use node::config::Config;
use node::server::open_node;
use sync::{CardStatus, DocKind};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/store-layout1");

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

fn config() -> Config {
    let mut c = Config::load(None).unwrap();
    c.accounts.argon2_memory_kib = 1024;
    c
}

#[tokio::test]
async fn a_store_written_before_region_qualified_ids_is_upgraded_on_open_and_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    copy_dir(Path::new(FIXTURE), &data);

    let node = open_node(&config(), &data, None).await.unwrap();
    let store = node.store.clone();
    for old in [
        "doc/card/",
        "doc/unit/",
        "doc/roster/",
        "idx/heads/card/",
        "idx/heads/unit/",
    ] {
        assert!(
            store.scan_keys(old.as_bytes(), 1).unwrap().is_empty(),
            "{old} keys are left after the upgrade"
        );
    }
    assert_eq!(
        store.get(b"meta/doc_layout").unwrap().as_deref(),
        Some(&b"2"[..])
    );

    let service = node.state.service.clone();
    let first = service.get_card("AST-2026-000001").unwrap();
    assert_eq!(first.units.len(), 1, "the dispatch survives");
    assert_eq!(first.units[0].unit_id, "p01");
    let notes = first.timeline.iter().filter(|e| e.kind == "note").count();
    assert_eq!(
        notes, 6,
        "every note survives, before and after the compaction"
    );
    let second = service.get_card("AST-2026-000002").unwrap();
    assert_eq!(
        second.timeline.iter().filter(|e| e.kind == "note").count(),
        1
    );
    assert_eq!(
        service.list_cards(None, None, 100).unwrap().len(),
        3,
        "the status index still finds every open card"
    );
    assert_eq!(service.roster("2026-12-04").unwrap().len(), 1);

    // The replication catalogue lists the same documents under the region, with the heads of
    // the documents as they load now.
    let catalogue =
        server_kit::docs::catalogue(&**service.store(), service.region(), None).unwrap();
    let cards: Vec<_> = catalogue
        .iter()
        .filter(|e| e.id.kind() == DocKind::Card)
        .collect();
    assert_eq!(cards.len(), 3);
    assert!(catalogue.iter().all(|e| e.id.region() == "AST"));
    assert!(catalogue.iter().any(|e| e.id.kind() == DocKind::Roster));
    assert!(catalogue.iter().any(|e| e.id.kind() == DocKind::Unit));
    let first_entry = cards.iter().find(|e| e.id.id() == first.id).unwrap();
    let exported = service.replica_export(&first_entry.id, &[]).unwrap();
    let mut reloaded = automerge::AutoCommit::load(&exported).unwrap();
    assert_eq!(
        sync::protocol::normalize_heads(reloaded.get_heads()),
        first_entry.heads
    );

    // New work continues the numbering, and changes to migrated documents are stored.
    let input: sync::CardCreate = serde_json::from_value(serde_json::json!({
        "channel": "app102_text",
        "caller": {"name": "Серікова Дана", "phone": "+77020000009", "language": "kk"},
        "location": {"lat": 51.17, "lon": 71.47, "accuracy_m": 30, "address": "г. Астана, пр. Абая, 5"},
        "description": "После обновления хранилища.",
        "category": service.reference().categories[0].code,
    }))
    .unwrap();
    let card = service
        .create_card("op1", &input, node::http::now_ms())
        .await
        .unwrap();
    assert_eq!(card.number, "AST-2026-000004");
    service
        .apply(
            "op1",
            &second.id,
            sync::CardCommand::Note {
                text: "После обновления".into(),
            },
            node::http::now_ms(),
        )
        .await
        .unwrap();
    assert!(
        node::audit::verify(&*store).unwrap().problems.is_empty(),
        "the audit chain written before the upgrade still verifies"
    );
    drop((service, store, node));

    // A second open finds the current layout and changes nothing.
    let node = open_node(&config(), &data, None).await.unwrap();
    let service = node.state.service.clone();
    assert_eq!(
        service.get_card("AST-2026-000002").unwrap().status,
        second.status
    );
    assert_eq!(
        service
            .get_card("AST-2026-000002")
            .unwrap()
            .timeline
            .iter()
            .filter(|e| e.kind == "note")
            .count(),
        2
    );
    assert_eq!(
        server_kit::docs::catalogue(&**service.store(), service.region(), None)
            .unwrap()
            .len(),
        catalogue.len() + 1
    );
    assert_ne!(second.status, CardStatus::Closed);
}
