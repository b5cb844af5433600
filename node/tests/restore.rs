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
