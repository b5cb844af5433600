//! R38 end to end in one process: a region's node asks the real hub, over the replication
//! connection (QUIC, mutual TLS), whether an appeal repeats one of another region; during a
//! partition the check covers the region only and the appeal is re-checked when the link
//! returns, where the late-found duplicate is recorded on the appeal. Both ends audit every
//! query, and the hub's answer carries references only.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use automerge::ActorId;
use node::appeals::national::AUDIT_ACTION;
use provisioning::progress::Silent;
use provisioning::settings::{CentralAddress, RegionId, RegionName, RegionSettings, ValidDays};
use rand::rngs::OsRng;
use serde_json::{json, Value};
use server_kit::audit::{list_recent, AuditEntry};
use sync::appeal::{Actor, AppealCommand, AppealDoc, AppealIntake, AppealKind, Env, Registration};
use sync::calendar::{embedded_years, WorkCalendar};
use sync::protocol::Repo;
use sync::{Ctx, DocId, DocKind, Document};
use tokio::sync::watch;

const DEADLINE: Duration = Duration::from_secs(30);
const DAY_MS: i64 = 86_400_000;

/// The applicant of both regions' appeals (a valid ИИН, a phone, a name).
const IIN: &str = "900101300126";
const SURNAME: &str = "Ахметов";
const PHONE_DIGITS: &str = "7011234567";

use common::{start_hub, ServingHub as Running};

/// Region AST's node for the hub, not yet connected.
async fn ast_node(
    running: &Running,
    root: &std::path::Path,
) -> (node::server::Node, std::path::PathBuf) {
    let bundle = root.join("ast");
    let rs = RegionSettings {
        id: RegionId::parse("AST").unwrap(),
        name_kk: RegionName::parse("name-kk", "Астана қаласы ПД").unwrap(),
        name_ru: RegionName::parse("name-ru", "ДП города Астаны").unwrap(),
        central: CentralAddress::parse(&format!("localhost:{}", running.port)).unwrap(),
        valid_days: ValidDays::for_peer(730).unwrap(),
    };
    provisioning::add_region(
        &running.ca,
        &bundle,
        &rs,
        running.now,
        &mut OsRng,
        &mut Silent,
    )
    .unwrap();
    let overlay = node::bundle::check_region_bundle(&bundle).unwrap();
    let mut config = node::config::Config::load_layers(&[overlay.as_path()]).unwrap();
    config.accounts.argon2_memory_kib = 1024;
    let node = node::server::open_node(
        &config,
        &root.join("node-data"),
        Some("admin-password-1".into()),
    )
    .await
    .unwrap();
    (node, bundle)
}

/// Starts the node's replication client; sending `true` on the returned sender stops it (the
/// link goes down as in a partition).
fn connect(node: &node::server::Node, bundle: &std::path::Path, port: u16) -> watch::Sender<bool> {
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(node::replication::run_client(
        node.state.service.clone(),
        node.gc.clone(),
        provisioning::load_identity(bundle).unwrap(),
        node::replication::ClientSettings {
            central_address: format!("localhost:{port}"),
            protocol: sync::protocol::Config::default(),
        },
        Arc::new(Mutex::new(node::replication::ReplicationStatus::default())),
        stop_rx,
    ));
    stop_tx
}

/// Waits until the node's national link is up (`true`) or down.
async fn link(node: &node::server::Node, up: bool) {
    let mut w = node.state.service.appeals().national().watch();
    tokio::time::timeout(DEADLINE, w.wait_for(|c| c.is_some() == up))
        .await
        .expect("the link changed in time")
        .unwrap();
}

fn applicant() -> Value {
    json!({"kind": "person", "iin": IIN, "surname": SURNAME, "name": "Серік",
           "address": "Астана, ул. Кенесары, 40, кв. 12", "phone": format!("+7{PHONE_DIGITS}")})
}

/// An appeal of region KRG received `received_at`, registered as `number`, stored at the hub
/// through its import path (as KRG's node would replicate it).
fn krg_appeal_at_hub(running: &Running, id: &str, number: &str, text: &str, received_at: i64) {
    let (doc_id, bytes) = krg_appeal(id, number, text, received_at);
    let repo = running.hub.state.hub.repo("KRG");
    repo.lock()
        .unwrap()
        .import(&doc_id.to_string(), &bytes, None)
        .unwrap();
}

/// An appeal of region KRG as its node would send it: the document id and its bytes.
fn krg_appeal(id: &str, number: &str, text: &str, received_at: i64) -> (DocId, Vec<u8>) {
    let intake: AppealIntake = serde_json::from_value(json!({
        "channel": "app102_text", "language": "ru", "text": text, "applicant": applicant(),
        "co_applicants": [], "attachments": [], "anonymous": false
    }))
    .unwrap();
    let mut doc = AppealDoc::create(
        ActorId::from(vec![7u8; 16]),
        id,
        &intake,
        &Ctx::new("citizen", "KRG", received_at),
    )
    .unwrap();
    let reference = common::reference();
    let calendar = WorkCalendar::new(&embedded_years().unwrap()).unwrap();
    let env = Env {
        reference: &reference,
        calendar: &calendar,
        utc_offset_min: 300,
    };
    doc.apply(
        &AppealCommand::Register {
            number: number.into(),
            registration: Registration {
                kind: AppealKind::Appeal,
                tags: vec![],
                collective: false,
                personal_reception: false,
                anonymous: false,
                crime_signs: false,
                service: "local-police".into(),
                duplicate_of: vec![],
            },
        },
        &Actor::default(),
        &env,
        &Ctx::new("krg-reg", "KRG", received_at + 600_000),
    )
    .unwrap();
    let doc_id = DocId::new("KRG", DocKind::Appeal, id).unwrap();
    (doc_id, doc.automerge().save())
}

async fn ast_appeal(node: &node::server::Node, text: &str) -> sync::appeal::Appeal {
    let input: node::appeals::AppealInput = serde_json::from_value(json!({
        "channel": "app102_text", "language": "ru", "text": text, "applicant": applicant()
    }))
    .unwrap();
    let (a, _) = node
        .state
        .service
        .appeals()
        .intake("citizen", input, server_kit::clock::now_ms())
        .await
        .unwrap();
    a
}

fn national_checks(store: &dyn server_kit::store::Store) -> Vec<AuditEntry> {
    list_recent(store, 200)
        .unwrap()
        .into_iter()
        .filter(|e| e.action == AUDIT_ACTION)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r38_a_duplicate_in_another_region_is_found_through_the_hub_and_late_after_a_partition() {
    let dir = tempfile::tempdir().unwrap();
    let running = start_hub(dir.path()).await;
    let now = server_kit::clock::now_ms();
    krg_appeal_at_hub(
        &running,
        "krg-1",
        "KRG-2026-000041",
        "Соседи из квартиры 13 шумят каждую ночь после 23 часов, прошу принять меры.",
        now - DAY_MS,
    );
    let (node, bundle) = ast_node(&running, dir.path()).await;
    let appeals = node.state.service.appeals();
    let stop = connect(&node, &bundle, running.port);
    link(&node, true).await;

    // The link is up: the registrar's check covers the national register.
    let first = ast_appeal(
        &node,
        "Прошу принять меры: каждую ночь после 23:00 шумят соседи из кв. 13.",
    )
    .await;
    let started = Instant::now();
    let report = appeals
        .duplicates(&first, "reg1", server_kit::clock::now_ms())
        .await
        .unwrap();
    let latency = started.elapsed();
    eprintln!("national duplicate check through the hub: {latency:?}");
    assert_eq!(report.scope, "national");
    assert_eq!(report.candidates.len(), 1, "{report:?}");
    let c = &report.candidates[0];
    assert_eq!((c.region.as_str(), c.id.as_str()), ("KRG", "krg-1"));
    assert_eq!(c.number.as_deref(), Some("KRG-2026-000041"));
    assert!(c.registered_at.is_some());
    assert!(c.reasons.iter().any(|r| r == "same_iin"), "{:?}", c.reasons);
    assert!(c.similarity > 0.0 && c.similarity <= 1.0);
    assert!(appeals.marked_for_recheck(10).unwrap().is_empty());

    // The hub's answer carries no personal data: references only.
    let fp = sync::duplicates::fingerprint(&sync::appeal::duplicate_subject(&first));
    let answer = central::appeal_dups::candidates(&*running.hub.store, &fp, "AST").unwrap();
    assert_eq!(answer.len(), 1);
    let shown = serde_json::to_string(&answer).unwrap() + &serde_json::to_string(&report).unwrap();
    for personal in [
        IIN,
        SURNAME,
        "Серік",
        PHONE_DIGITS,
        "Кенесары",
        "соседи",
        "шумят",
    ] {
        assert!(
            !shown.to_lowercase().contains(&personal.to_lowercase()),
            "{personal} in {shown}"
        );
    }
    // The asking region's own appeals are not the hub's to answer.
    assert!(
        central::appeal_dups::candidates(&*running.hub.store, &fp, "KRG")
            .unwrap()
            .is_empty()
    );

    // Audited at both ends: the node (who asked, the appeal, the candidates) and the hub (the
    // region from the certificate, the appeal, the candidates).
    let at_node = national_checks(&*node.store);
    let e = at_node
        .iter()
        .find(|e| e.target == first.id)
        .expect("audited on the node");
    assert_eq!(e.actor, "reg1");
    eprintln!(
        "of which the hub's answer (open stream, query, lookup, hub's audit, answer): {} ms",
        e.details["ms"]
    );
    assert_eq!(e.details["scope"], "national");
    assert_eq!(e.details["candidates"], 1);
    let at_hub = national_checks(&*running.hub.store);
    let e = at_hub
        .iter()
        .find(|e| e.target == format!("AST/appeal/{}", first.id))
        .expect("audited at the hub");
    assert_eq!(e.actor, "region:AST");
    assert_eq!(e.details["region"], "AST");
    assert_eq!(e.details["candidates"], 1);
    assert_eq!(e.details["outcome"], "answered");

    // A partition: the link goes down. Meanwhile KRG's node replicates another appeal of the
    // same person to the hub, and AST receives a repeat of it.
    stop.send_replace(true);
    link(&node, false).await;
    krg_appeal_at_hub(
        &running,
        "krg-2",
        "KRG-2026-000042",
        "Во дворе дома 40 по улице Кенесары сломаны качели на детской площадке, дети травмируются. Прошу принять меры.",
        now - DAY_MS + 1,
    );
    let second = ast_appeal(
        &node,
        "Прошу принять меры: на детской площадке во дворе дома 40 по ул. Кенесары сломаны качели, дети травмируются.",
    )
    .await;
    let report = appeals
        .duplicates(&second, "reg1", server_kit::clock::now_ms())
        .await
        .unwrap();
    assert_eq!(
        report.scope, "region",
        "the report never implies a national check"
    );
    assert!(
        report.candidates.iter().all(|c| c.region == "AST"),
        "{report:?}"
    );
    assert_eq!(
        appeals.marked_for_recheck(10).unwrap(),
        vec![second.id.clone()]
    );
    let e = national_checks(&*node.store)
        .into_iter()
        .find(|e| e.target == second.id)
        .expect("the region-only check is audited too");
    assert_eq!(e.details["scope"], "region");
    assert_eq!(e.details["outcome"], "link_down");

    // The link returns: the marked appeal is checked again, the duplicate in KRG is recorded
    // on it for the registrar and the manager, and the mark is cleared.
    let mut events = node.state.service.subscribe();
    let calendar = node.state.service.work_calendar().unwrap();
    let _stop = connect(&node, &bundle, running.port);
    let flagged = tokio::time::timeout(DEADLINE, async {
        loop {
            let a = appeals
                .get(&second.id, &calendar, server_kit::clock::now_ms())
                .unwrap();
            if !a.late_duplicates.is_empty() {
                return a;
            }
            let _ = events.recv().await;
        }
    })
    .await
    .expect("the late duplicate was flagged after the link returned");
    assert_eq!(flagged.late_duplicates.len(), 1);
    let late = &flagged.late_duplicates[0];
    assert_eq!((late.region.as_str(), late.id.as_str()), ("KRG", "krg-2"));
    assert_eq!(late.number.as_deref(), Some("KRG-2026-000042"));
    let step = flagged.history.last().unwrap();
    assert_eq!(step.action, "appeal.late_duplicate");
    assert_eq!(step.by, "system");
    assert_eq!(step.params["candidates"][0]["number"], "KRG-2026-000042");
    assert!(appeals.marked_for_recheck(10).unwrap().is_empty());
    let e = national_checks(&*node.store)
        .into_iter()
        .find(|e| {
            e.target == second.id
                && e.details["recheck"] == true
                && e.details["scope"] == "national"
        })
        .expect("the re-check is audited on the node");
    assert_eq!(e.actor, "system");
    assert_eq!(e.details["late"], 1);
    let hub_checks: Vec<AuditEntry> = national_checks(&*running.hub.store)
        .into_iter()
        .filter(|e| e.target == format!("AST/appeal/{}", second.id))
        .collect();
    assert_eq!(hub_checks.len(), 1, "the re-check is audited at the hub");
    assert_eq!(hub_checks[0].details["candidates"], 1);
    // The first appeal was checked nationally already: it is not flagged again.
    let first_now = appeals
        .get(&first.id, &calendar, server_kit::clock::now_ms())
        .unwrap();
    assert!(first_now.late_duplicates.is_empty());
    assert!(latency < Duration::from_millis(node::appeals::national::NATIONAL_QUERY_TIMEOUT_MS));
}

/// A query for another region's appeal is refused by the hub (the region comes from the
/// certificate), and bad bytes on a query stream get a refusal, never a crash.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r38_the_hub_refuses_a_query_for_another_region_and_bad_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let running = start_hub(dir.path()).await;
    let (node, bundle) = ast_node(&running, dir.path()).await;
    let _stop = connect(&node, &bundle, running.port);
    link(&node, true).await;
    let conn = node
        .state
        .service
        .appeals()
        .national()
        .connection()
        .unwrap();
    let a = ast_appeal(&node, "Прошу проверить парковку у дома 5.").await;
    let mut fp = sync::duplicates::fingerprint(&sync::appeal::duplicate_subject(&a));
    fp.region = "KRG".into();
    let e = node::appeals::national::ask(&conn, &a.id, &fp)
        .await
        .unwrap_err();
    assert_eq!(e.outcome(), "not_your_region", "{e}");
    assert!(!e.worth_retrying());

    let (mut send, mut recv) = conn.open_bi().await.unwrap();
    send.write_all(b"KDQ\x01\x01{not json").await.unwrap();
    send.finish().unwrap();
    let bytes = recv.read_to_end(64 * 1024).await.unwrap();
    match sync::protocol::dup_query::decode_answer(&bytes).unwrap() {
        sync::protocol::dup_query::DupAnswer::Refused { code, .. } => assert_eq!(code, "bad_query"),
        other => panic!("{other:?}"),
    }
    // The link still works afterwards.
    let fp = sync::duplicates::fingerprint(&sync::appeal::duplicate_subject(&a));
    assert!(node::appeals::national::ask(&conn, &a.id, &fp)
        .await
        .unwrap()
        .is_empty());
    let refused = national_checks(&*running.hub.store)
        .into_iter()
        .filter(|e| e.details["outcome"] != "answered")
        .count();
    assert_eq!(refused, 2, "refused queries are audited at the hub too");
}

/// The index is staged when an appeal first arrives and rebuilt, key for key, by a reindex
/// (a store written by an older hub); lookups find the same candidates either way.
#[test]
fn r38_the_national_duplicate_index_is_rebuilt_by_a_reindex() {
    use server_kit::store::{GroupCommit, SledStore, Store, WriteBatch};
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path(), 16 << 20).unwrap());
    let gc = Arc::new(GroupCommit::new(store.clone()));
    let mut repo = central::repo::CentralRepo::new(store.clone(), gc.clone()).unwrap();
    let now = server_kit::clock::now_ms();
    let text = "Соседи из квартиры 13 шумят каждую ночь после 23 часов, прошу принять меры.";
    for n in 1..=3u32 {
        let (id, bytes) = krg_appeal(
            &format!("krg-{n}"),
            &format!("KRG-2026-{n:06}"),
            &format!("{text} Обращаюсь в {n}-й раз."),
            now - DAY_MS * i64::from(n),
        );
        repo.import(&id.to_string(), &bytes, None).unwrap();
    }
    let index =
        |store: &dyn Store| -> Vec<(Vec<u8>, Vec<u8>)> { store.scan_prefix(b"nat/apd/").unwrap() };
    let before = index(&*store);
    assert!(
        before.len() > 3 * 20,
        "fingerprints and their keys: {}",
        before.len()
    );
    let probe = sync::duplicates::fingerprint(&sync::duplicates::DupSubject {
        region: "AST".into(),
        number: "probe".into(),
        received_at_ms: now,
        iin: Some(IIN.into()),
        phone: None,
        email: None,
        surname: None,
        name: None,
        patronymic: None,
        address: None,
        language: sync::Language::Ru,
        text: "Прошу принять меры: каждую ночь после 23:00 шумят соседи из кв. 13.".into(),
    });
    let found = central::appeal_dups::candidates(&*store, &probe, "AST").unwrap();
    assert!(!found.is_empty());
    assert!(found
        .iter()
        .all(|c| c.number.is_some() && c.registered_at.is_some()));
    // An older hub's store: no version marker, no duplicate index.
    let mut old = WriteBatch::new();
    old.delete(central::national::VERSION_KEY);
    for (k, _) in &before {
        old.delete(k.clone());
    }
    store.apply(old).unwrap();
    assert!(index(&*store).is_empty());
    let _reopened = central::repo::CentralRepo::open(store.clone(), gc).unwrap();
    assert_eq!(index(&*store), before);
    assert_eq!(
        central::appeal_dups::candidates(&*store, &probe, "AST").unwrap(),
        found
    );
}
