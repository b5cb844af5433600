//! A card that arrives by replication is indexed exactly like one created here: a node whose
//! database was lost and re-installed gets its region's cards back from the hub, and must then
//! find them by number, list them by status and by unit, and never hand out their numbers again.

use node::config::Config;
use node::server::open_node;
use sync::{DocId, DocKind};

fn config() -> Config {
    let mut c = Config::load(None).unwrap();
    c.accounts.argon2_memory_kib = 1024;
    c
}

fn card_input(phone_digit: u8, category: &str) -> sync::CardCreate {
    serde_json::from_value(serde_json::json!({
        "channel": "app102_text",
        "caller": {"name": "Серікова Дана", "phone": format!("+7702000000{phone_digit}"), "language": "kk"},
        "location": {"lat": 51.16, "lon": 71.47, "accuracy_m": 30, "address": "г. Астана, ул. Бейбітшілік, 10"},
        "description": "Сообщение о краже велосипеда.",
        "category": category,
    }))
    .unwrap()
}

#[tokio::test]
async fn cards_restored_by_replication_are_found_by_number_and_unit_and_their_numbers_are_not_reused(
) {
    let dir = tempfile::tempdir().unwrap();
    let now = node::http::now_ms();
    let original = open_node(&config(), &dir.path().join("original"), None)
        .await
        .unwrap();
    let a = original.state.service.clone();
    let category = a.reference().categories[0].code.clone();
    let first = a
        .create_card("op1", &card_input(1, &category), now)
        .await
        .unwrap();
    let second = a
        .create_card("op1", &card_input(2, &category), now)
        .await
        .unwrap();
    a.apply(
        "disp1",
        &second.id,
        sync::CardCommand::SendForProcessing,
        now,
    )
    .await
    .unwrap();
    a.dispatch("disp1", &second.id, "p01", false, now)
        .await
        .unwrap();

    // The re-installed node: a fresh database of the same region, fed by replication.
    let restored = open_node(&config(), &dir.path().join("restored"), None)
        .await
        .unwrap();
    let b = restored.state.service.clone();
    for card in [&first, &second] {
        let id = DocId::new("AST", DocKind::Card, &card.id).unwrap();
        let bytes = a.replica_export(&id, &[]).unwrap();
        b.replica_import(&id, &bytes, "replication", now).unwrap();
    }

    // By number, by status, by unit: the same indexes as on the original node.
    let found = b.get_card(&second.number).unwrap();
    assert_eq!(found.id, second.id);
    assert_eq!(b.get_card(&first.number).unwrap().id, first.id);
    let dispatched = b
        .list_cards(Some(found.status), None, 100)
        .unwrap()
        .into_iter()
        .filter(|c| c.id == second.id)
        .count();
    assert_eq!(dispatched, 1, "the status index lists the restored card");
    let by_unit = b.history(None, Some("p01"), 100).unwrap();
    assert!(
        by_unit.iter().any(|c| c.id == second.id),
        "the unit's history lists the restored card: {by_unit:?}"
    );

    // The next number is after every number the region has used, restored ones included.
    let next = b
        .create_card("op2", &card_input(4, &category), now)
        .await
        .unwrap();
    let numbers = [&first.number, &second.number];
    assert!(
        !numbers.contains(&&next.number),
        "{} was handed out again",
        next.number
    );
    assert_eq!(next.number, second.number.replace("000002", "000003"));
}

/// A node's backup restores into a node that reads every card, keeps its audit chain intact and
/// hands out the next card number after the restored ones; the restored store is a new replica
/// (its own identity) and a second restore into the same directory is refused.
#[tokio::test]
async fn a_backup_of_a_node_restores_with_its_cards_numbers_and_audit_chain() {
    use server_kit::backup::{
        restore_into, verify_store, write_backup, BackupError, BackupKey, BackupSource,
    };
    let dir = tempfile::tempdir().unwrap();
    let now = node::http::now_ms();
    let original = open_node(&config(), &dir.path().join("original"), None)
        .await
        .unwrap();
    let a = original.state.service.clone();
    let category = a.reference().categories[0].code.clone();
    let mut cards = Vec::new();
    for digit in 1..=3 {
        cards.push(
            a.create_card("op1", &card_input(digit, &category), now)
                .await
                .unwrap(),
        );
    }
    a.apply(
        "disp1",
        &cards[1].id,
        sync::CardCommand::SendForProcessing,
        now,
    )
    .await
    .unwrap();
    let key = BackupKey::generate();
    let written = write_backup(
        &BackupSource::Store {
            store: &*original.store,
            what: "node",
            name: "AST",
            software: "test",
            now_ms: now,
        },
        &dir.path().join("backups"),
        &key,
    )
    .unwrap();
    let original_id = server_kit::store::store_identity(&*original.store).unwrap();
    drop(a);
    drop(original);

    let target = dir.path().join("restored");
    let restored = restore_into(&written.path, &key, &target, 8 << 20).unwrap();
    assert_eq!(restored.header.name, "AST");
    {
        let store = server_kit::store::SledStore::open(&target, 8 << 20).unwrap();
        let report = verify_store(&store).unwrap();
        assert!(report.is_ok(), "{:?}", report.problems);
        assert!(report.audit_entries > 0 && report.documents >= 3);
        assert_ne!(
            server_kit::store::store_identity(&store).unwrap(),
            original_id,
            "a restored store is a new replica"
        );
    }
    let err = restore_into(&written.path, &key, &target, 8 << 20)
        .err()
        .unwrap();
    assert!(matches!(err, BackupError::Target { .. }), "{err}");

    let node = open_node(&config(), &target, None).await.unwrap();
    let b = node.state.service.clone();
    for card in &cards {
        assert_eq!(b.get_card(&card.number).unwrap().id, card.id);
    }
    let next = b
        .create_card("op2", &card_input(4, &category), now)
        .await
        .unwrap();
    assert_eq!(next.number, cards[2].number.replace("000003", "000004"));
    let audit = server_kit::audit::verify(&*node.store).unwrap();
    assert!(audit.is_ok(), "{:?}", audit.problems);
}
