//! The terminal's encrypted store and its officers' keys.

use std::sync::Arc;

use field_terminal::login::AttemptPolicy;
use field_terminal::vault::{
    DataKey, KdfParams, Opened, SealedStore, Vault, VaultError, VaultSettings, WipeReason,
    STORE_CACHE_BYTES,
};
use server_kit::store::{GroupCommit, SledStore, Store, WriteBatch};

const NOW_MS: i64 = 1_780_000_000_000;
const UNIT: &str = "AST/p01";

/// Cheap argon2id for tests (the default costs ~0.5 s per derivation).
fn settings() -> VaultSettings {
    VaultSettings {
        kdf: KdfParams {
            memory_kib: 64,
            passes: 1,
            lanes: 1,
        },
        attempts: AttemptPolicy::default(),
    }
}

fn put(store: &dyn Store, key: &str, value: &[u8]) {
    let mut b = WriteBatch::new();
    b.put(key.as_bytes().to_vec(), value.to_vec());
    store.apply(b).unwrap();
    store.flush().unwrap();
}

/// Every file under `dir`, concatenated: what a thief copies off the tablet.
fn disk_bytes(dir: &std::path::Path) -> Vec<u8> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(disk_bytes(&p));
        } else {
            out.extend(std::fs::read(&p).unwrap());
        }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn vault_round_trip_through_the_kit_documents_and_offline_login() {
    let dir = tempfile::tempdir().unwrap();
    let secret = b"caller Zhanar Sultanova +77011234567";
    {
        let (mut vault, opened) = Vault::open(dir.path(), UNIT, settings(), NOW_MS).unwrap();
        assert_eq!(opened, Opened::Empty);
        let (_key, store) = vault.create("ivanov", "pass-1", None, NOW_MS).unwrap();
        let store: Arc<dyn Store> = Arc::new(store);
        // The kit's document storage works unchanged over the sealed store.
        let gc = GroupCommit::new(store.clone());
        let id = sync::DocId::parse("AST/unit/p01").unwrap();
        let mut doc = automerge::AutoCommit::new();
        automerge::transaction::Transactable::put(
            &mut doc,
            automerge::ROOT,
            "note",
            String::from_utf8_lossy(secret).to_string(),
        )
        .unwrap();
        let mut b = WriteBatch::new();
        server_kit::docs::stage_new(
            &mut b,
            &id,
            doc.save_nocompress(),
            sync::protocol::Priority::Normal,
            doc.get_heads(),
        );
        gc.commit(b).unwrap();
        assert_eq!(
            server_kit::docs::catalogue(&*store, "AST", None)
                .unwrap()
                .len(),
            1
        );
    }
    // At rest: neither the secret nor the data key's wrapping password is readable.
    let disk = disk_bytes(dir.path());
    assert!(!contains(&disk, secret), "a value is on disk in clear");
    assert!(!contains(&disk, b"pass-1"));

    let (mut vault, opened) = Vault::open(dir.path(), UNIT, settings(), NOW_MS + 1).unwrap();
    assert_eq!(opened, Opened::Existing);
    assert_eq!(vault.officers(), vec!["ivanov".to_string()]);
    let (_key, store) = vault.unlock("ivanov", "pass-1", NOW_MS + 2).unwrap();
    let id = sync::DocId::parse("AST/unit/p01").unwrap();
    let (doc, _) = server_kit::docs::load(&store, &id).unwrap().unwrap();
    let note = automerge::ReadDoc::get(&doc, automerge::ROOT, "note")
        .unwrap()
        .unwrap()
        .0
        .to_string();
    assert!(note.contains("Zhanar"), "{note}");
}

#[test]
fn a_value_does_not_open_with_another_key_nor_under_another_key() {
    let dir = tempfile::tempdir().unwrap();
    let (mut vault, _) = Vault::open(dir.path(), UNIT, settings(), NOW_MS).unwrap();
    let (_key, store) = vault.create("ivanov", "pass-1", None, NOW_MS).unwrap();
    put(&store, "doc/a", b"value of a");
    put(&store, "doc/b", b"value of b");
    assert_eq!(store.get(b"doc/a").unwrap().unwrap(), b"value of a");
    // Move a's sealed bytes under b, beneath the sealing layer (as an attacker editing the file).
    let raw_a = store.inner().get(b"doc/a").unwrap().unwrap();
    let mut b = WriteBatch::new();
    b.put(b"doc/b".to_vec(), raw_a);
    store.inner().apply(b).unwrap();
    let err = store.get(b"doc/b").unwrap_err();
    assert!(err.to_string().contains("does not open"), "{err}");
    assert!(store.scan_prefix(b"doc/").is_err());
    store.inner().flush().unwrap();
    drop(store);
    // Another key reads nothing.
    let inner = SledStore::open(&dir.path().join("store"), STORE_CACHE_BYTES).unwrap();
    let wrong = SealedStore::new(inner, &DataKey::generate());
    assert!(wrong.get(b"doc/a").is_err());
    assert!(wrong.last_with_prefix(b"doc/").is_err());
    // Keys stay listable (they are ids), values do not.
    assert_eq!(wrong.scan_keys(b"doc/", 10).unwrap().len(), 2);
}

#[test]
fn a_wrong_password_fails_offline_login_and_counts_towards_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (mut vault, _) = Vault::open(dir.path(), UNIT, settings(), NOW_MS).unwrap();
        vault.create("ivanov", "pass-1", None, NOW_MS).unwrap();
    }
    let policy = AttemptPolicy::default();
    let (mut vault, _) = Vault::open(dir.path(), UNIT, settings(), NOW_MS).unwrap();
    let mut now = NOW_MS;
    for n in 1..=policy.free_attempts {
        match vault.unlock("ivanov", "wrong", now) {
            Err(VaultError::WrongPassword { failures }) => assert_eq!(failures, n),
            other => panic!("{other:?}"),
        }
    }
    // Past the free tries even the right password waits (the count survives a restart).
    drop(vault);
    let (mut vault, _) = Vault::open(dir.path(), UNIT, settings(), NOW_MS).unwrap();
    match vault.unlock("ivanov", "pass-1", now) {
        Err(VaultError::TooSoon { retry_after_ms }) => {
            assert_eq!(retry_after_ms, policy.backoff_ms_min)
        }
        other => panic!("{other:?}"),
    }
    // Keep guessing until offline login locks.
    for _ in policy.free_attempts..policy.failures_max {
        now += policy.backoff_ms_max;
        assert!(matches!(
            vault.unlock("ivanov", "wrong", now),
            Err(VaultError::WrongPassword { .. })
        ));
    }
    now += policy.backoff_ms_max;
    assert!(matches!(
        vault.unlock("ivanov", "pass-1", now),
        Err(VaultError::Locked)
    ));
    assert!(vault.offline_locked("ivanov"));
    // An officer never seen here must log in online first.
    assert!(matches!(
        vault.unlock("petrov", "x", now),
        Err(VaultError::UnknownOfficer(_))
    ));
}

#[test]
fn the_right_password_resets_the_failures_and_a_second_officer_opens_the_same_data() {
    let dir = tempfile::tempdir().unwrap();
    let (mut vault, _) = Vault::open(dir.path(), UNIT, settings(), NOW_MS).unwrap();
    let (key, store) = vault.create("ivanov", "pass-1", None, NOW_MS).unwrap();
    put(&store, "doc/x", b"shared");
    vault.add_officer(&key, "petrov", "pass-2", NOW_MS).unwrap();
    drop(store);
    assert!(vault.unlock("ivanov", "wrong", NOW_MS).is_err());
    let (_, store) = vault.unlock("ivanov", "pass-1", NOW_MS + 1).unwrap();
    drop(store);
    let (_, store) = vault.unlock("petrov", "pass-2", NOW_MS + 2).unwrap();
    assert_eq!(store.get(b"doc/x").unwrap().unwrap(), b"shared");
    drop(store);
    // Petrov's password does not open Ivanov's wrapping.
    assert!(matches!(
        vault.unlock("ivanov", "pass-2", NOW_MS + 3),
        Err(VaultError::WrongPassword { failures: 1 })
    ));
}

#[test]
fn a_bundle_of_another_unit_wipes_the_old_units_data() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (mut vault, _) = Vault::open(dir.path(), UNIT, settings(), NOW_MS).unwrap();
        let (_, store) = vault.create("ivanov", "pass-1", None, NOW_MS).unwrap();
        put(&store, "doc/x", b"p01's assignment");
    }
    let (vault, opened) = Vault::open(dir.path(), "AST/p02", settings(), NOW_MS).unwrap();
    assert_eq!(opened, Opened::Wiped(WipeReason::UnitChanged));
    assert!(vault.officers().is_empty());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing of the old unit stays"
    );
}

#[test]
fn data_expire_at_the_end_of_the_shift() {
    let dir = tempfile::tempdir().unwrap();
    let ends = NOW_MS + 3_600_000;
    {
        let (mut vault, _) = Vault::open(dir.path(), UNIT, settings(), NOW_MS).unwrap();
        vault
            .create("ivanov", "pass-1", Some(ends), NOW_MS)
            .unwrap();
    }
    {
        let (mut vault, opened) = Vault::open(dir.path(), UNIT, settings(), NOW_MS).unwrap();
        assert_eq!(opened, Opened::Existing);
        // Still open before the end; refused and wiped at it.
        vault.unlock("ivanov", "pass-1", ends - 1).unwrap();
        assert!(matches!(
            vault.unlock("ivanov", "pass-1", ends),
            Err(VaultError::Expired)
        ));
        assert!(vault.officers().is_empty());
    }
    let (_, opened) = Vault::open(dir.path(), UNIT, settings(), ends).unwrap();
    assert_eq!(opened, Opened::Empty);
}

#[test]
fn an_edited_key_file_cannot_extend_the_data_past_the_sealed_expiry() {
    let dir = tempfile::tempdir().unwrap();
    let ends = NOW_MS + 1_000;
    {
        let (mut vault, _) = Vault::open(dir.path(), UNIT, settings(), NOW_MS).unwrap();
        vault
            .create("ivanov", "pass-1", Some(ends), NOW_MS)
            .unwrap();
    }
    let path = dir.path().join("keys.json");
    let mut keys: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    keys["expires_at_ms"] = serde_json::json!(null);
    std::fs::write(&path, serde_json::to_vec(&keys).unwrap()).unwrap();
    let (mut vault, _) = Vault::open(dir.path(), UNIT, settings(), ends + 1).unwrap();
    assert!(matches!(
        vault.unlock("ivanov", "pass-1", ends + 1),
        Err(VaultError::Expired)
    ));
}
