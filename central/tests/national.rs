//! The national index (`central::national`): kept at import time in the same batch as each
//! card, it answers the dashboard's queries from counters and ordered keys, and always equals
//! what a reindex from the documents builds.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use central::national::{
    self, delay_bucket, delay_bucket_value, By, CallCount, DelayKind, Period, RegionCounts,
};
use central::repo::CentralRepo;
use common::*;
use server_kit::store::{GroupCommit, SledStore, Store, WriteBatch};
use sync::{CardStatus, Channel};

struct Hub {
    _dir: tempfile::TempDir,
    store: Arc<dyn Store>,
    gc: Arc<GroupCommit>,
    repo: CentralRepo,
}

fn open_hub() -> Hub {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path(), 16 << 20).unwrap());
    let gc = Arc::new(GroupCommit::new(store.clone()));
    let repo = CentralRepo::open(store.clone(), gc.clone()).unwrap();
    Hub {
        _dir: dir,
        store,
        gc,
        repo,
    }
}

/// Every `nat/` key and value: the whole national index.
fn index_of(store: &dyn Store) -> BTreeMap<Vec<u8>, Vec<u8>> {
    store.scan_prefix(b"nat/").unwrap().into_iter().collect()
}

fn counts(docs: u64, cards: u64, open: &[(CardStatus, u64)]) -> RegionCounts {
    RegionCounts {
        docs,
        cards,
        open: open.iter().copied().collect(),
    }
}

fn queue_ids(store: &dyn Store, region: Option<&str>, st: &[CardStatus], n: usize) -> Vec<String> {
    national::queue(store, region, st, n)
        .unwrap()
        .into_iter()
        .map(|c| format!("{}/{}", c.region, c.summary.number))
        .collect()
}

const OPEN: [CardStatus; 5] = [
    CardStatus::New,
    CardStatus::SentForProcessing,
    CardStatus::Dispatched,
    CardStatus::OnScene,
    CardStatus::Reported,
];

fn call(start: i64, region: &str, channel: Channel, category: &str, count: u64) -> CallCount {
    CallCount {
        period_start_ms: start,
        region: region.into(),
        channel,
        category: Some(category.into()),
        count,
    }
}

#[test]
fn the_index_follows_every_card_change_and_equals_a_reindex() {
    let mut hub = open_hub();
    let r = reference();
    let hour = |ms: i64| ms.div_euclid(HOUR_MS) * HOUR_MS;

    // AST: a new card, a card dispatched and on scene, a dispatched card gone quiet, a unit.
    let mut a = TestCard::new(
        &r,
        "AST",
        1,
        Channel::App102Call,
        "assault",
        NOW_MS - 3 * HOUR_MS,
    );
    a.store(&mut hub.repo);
    let mut b = TestCard::new(
        &r,
        "AST",
        2,
        Channel::Telegram,
        "theft",
        NOW_MS - 2 * HOUR_MS,
    );
    b.send(NOW_MS - 2 * HOUR_MS + MINUTE_MS);
    let mut unit = b.dispatch(
        "u1",
        NOW_MS - 2 * HOUR_MS + 2 * MINUTE_MS,
        Some(NOW_MS - 2 * HOUR_MS + 10 * MINUTE_MS),
    );
    b.store(&mut hub.repo);
    store_unit(&mut hub.repo, "AST", &mut unit);
    let mut e = TestCard::new(&r, "AST", 5, Channel::App102Call, "noise", NOW_MS - HOUR_MS);
    e.send(NOW_MS - HOUR_MS + MINUTE_MS);
    e.dispatch("u2", NOW_MS - 50 * MINUTE_MS, None);
    e.store(&mut hub.repo);
    // ALA: one waiting, one cancelled two days ago.
    let mut c = TestCard::new(
        &r,
        "ALA",
        3,
        Channel::App102Call,
        "assault",
        NOW_MS - 90 * MINUTE_MS,
    );
    c.send(NOW_MS - 90 * MINUTE_MS + 30_000);
    c.store(&mut hub.repo);
    let mut d = TestCard::new(
        &r,
        "ALA",
        4,
        Channel::App102Text,
        "fraud",
        NOW_MS - 2 * DAY_MS,
    );
    d.send(NOW_MS - 2 * DAY_MS + MINUTE_MS)
        .cancel(NOW_MS - 2 * DAY_MS + HOUR_MS);
    d.store(&mut hub.repo);
    // Storing the same state again changes nothing.
    a.store(&mut hub.repo);

    let store = &*hub.store;
    assert_eq!(
        national::region_counts(store).unwrap(),
        BTreeMap::from([
            (
                "ALA".to_string(),
                counts(2, 2, &[(CardStatus::SentForProcessing, 1)])
            ),
            (
                "AST".to_string(),
                counts(
                    4,
                    3,
                    &[
                        (CardStatus::New, 1),
                        (CardStatus::Dispatched, 1),
                        (CardStatus::OnScene, 1)
                    ]
                )
            ),
        ])
    );
    // Queue order: time in the queue (sent for processing, else created).
    assert_eq!(
        queue_ids(store, None, &OPEN, 10),
        [
            "AST/AST-2026-000001",
            "AST/AST-2026-000002",
            "ALA/ALA-2026-000003",
            "AST/AST-2026-000005"
        ]
    );
    assert_eq!(queue_ids(store, None, &OPEN, 2).len(), 2);
    assert_eq!(
        queue_ids(store, Some("ALA"), &OPEN, 10),
        ["ALA/ALA-2026-000003"]
    );
    assert_eq!(
        queue_ids(
            store,
            Some("AST"),
            &[CardStatus::Dispatched, CardStatus::OnScene],
            10
        ),
        ["AST/AST-2026-000002", "AST/AST-2026-000005"]
    );
    assert!(queue_ids(store, Some("KAR"), &OPEN, 10).is_empty());
    // Calls per hour (last 24 hours) and per day (the cancelled card is two days old).
    let now_hour = Period::Hour.of(NOW_MS);
    assert_eq!(
        national::calls(store, Period::Hour, (now_hour - 23, now_hour), None, 100).unwrap(),
        [
            call(
                hour(NOW_MS - 3 * HOUR_MS),
                "AST",
                Channel::App102Call,
                "assault",
                1
            ),
            // Same hour: by region, channel, category.
            call(
                hour(NOW_MS - 90 * MINUTE_MS),
                "ALA",
                Channel::App102Call,
                "assault",
                1
            ),
            call(
                hour(NOW_MS - 2 * HOUR_MS),
                "AST",
                Channel::Telegram,
                "theft",
                1
            ),
            call(
                hour(NOW_MS - HOUR_MS),
                "AST",
                Channel::App102Call,
                "noise",
                1
            ),
        ]
    );
    // The same per region and per channel, one counter per bar of the dashboard's charts.
    let by = |period, by, first, last| {
        national::calls_by(store, period, by, (first, last))
            .unwrap()
            .into_iter()
            .map(|c| (c.period_start_ms, c.key, c.count))
            .collect::<Vec<_>>()
    };
    let two_hours_ago = hour(NOW_MS - 2 * HOUR_MS);
    assert_eq!(
        by(Period::Hour, By::Region, now_hour - 2, now_hour - 2),
        [
            (two_hours_ago, "ALA".into(), 1),
            (two_hours_ago, "AST".into(), 1)
        ]
    );
    assert_eq!(
        by(Period::Hour, By::Channel, now_hour - 2, now_hour - 2),
        [
            (two_hours_ago, "app102_call".into(), 1),
            (two_hours_ago, "telegram".into(), 1)
        ]
    );
    let today = Period::Day.of(NOW_MS);
    assert_eq!(
        by(Period::Day, By::Region, today - 6, today),
        [
            (Period::Day.start_ms(today - 2), "ALA".into(), 1),
            (Period::Day.start_ms(today), "ALA".into(), 1),
            (Period::Day.start_ms(today), "AST".into(), 3)
        ]
    );
    let per_day = national::calls(store, Period::Day, (today - 6, today), None, 100).unwrap();
    assert_eq!(per_day.iter().map(|c| c.count).sum::<u64>(), 5);
    assert_eq!(
        per_day[0],
        call(
            Period::Day.start_ms(today - 2),
            "ALA",
            Channel::App102Text,
            "fraud",
            1
        )
    );
    // Delays: b dispatched 1 min after being sent, on scene 8 min later; e dispatched after
    // 9 min, not yet on scene. Nearest rank of two values: p50 is the upper one.
    let dispatch = national::delays(store, DelayKind::Dispatch).unwrap();
    assert_eq!(dispatch.count, 2);
    assert_eq!(
        dispatch.p50,
        Some(delay_bucket_value(delay_bucket(9 * MINUTE_MS)))
    );
    let arrival = national::delays(store, DelayKind::Arrival).unwrap();
    assert_eq!(
        (arrival.count, arrival.p90),
        (1, Some(delay_bucket_value(delay_bucket(8 * MINUTE_MS))))
    );
    // Overdue: e dispatched 50 minutes ago with no news since.
    let dispatched = hub.repo.dispatched_index();
    assert_eq!(dispatched.count_updated_before(NOW_MS - 20 * MINUTE_MS), 1);
    assert_eq!(dispatched.count_updated_before(NOW_MS - 60 * MINUTE_MS), 0);

    // Changes: c cancelled, a re-categorised.
    c.cancel(NOW_MS - 10 * MINUTE_MS).store(&mut hub.repo);
    a.set_category("robbery", NOW_MS - 5 * MINUTE_MS)
        .store(&mut hub.repo);
    let store = &*hub.store;
    let ala = national::region_counts(store).unwrap()["ALA"].clone();
    assert_eq!(ala, counts(2, 2, &[]));
    assert_eq!(
        queue_ids(store, Some("ALA"), &OPEN, 10),
        Vec::<String>::new()
    );
    let hours = national::calls(store, Period::Hour, (now_hour - 23, now_hour), None, 100).unwrap();
    // One region only, and a row limit the caller can detect.
    let ast = national::calls(
        store,
        Period::Hour,
        (now_hour - 23, now_hour),
        Some("AST"),
        100,
    );
    assert_eq!(ast.unwrap().len(), 3);
    let capped = national::calls(store, Period::Hour, (now_hour - 23, now_hour), None, 1);
    assert_eq!(
        capped.unwrap().len(),
        2,
        "rows_max + 1 tells 'more than rows_max'"
    );
    assert_eq!(
        hours[0],
        call(
            hour(NOW_MS - 3 * HOUR_MS),
            "AST",
            Channel::App102Call,
            "robbery",
            1
        )
    );
    assert_eq!(
        hours.len(),
        4,
        "the assault count moved, none left behind: {hours:?}"
    );

    // What was kept incrementally is exactly what a reindex from the documents builds.
    let kept = index_of(store);
    let report = hub.repo.reindex().unwrap();
    assert_eq!(
        (report.docs, report.cards, report.unreadable_cards),
        (6, 5, 0)
    );
    assert_eq!(index_of(store), kept);
}

/// Regions import in parallel, each through its own catalogue handle, while their cards count
/// into the same national counters (calls per hour, delay histograms): the counters stay exact,
/// equal to what a reindex from the documents builds.
#[test]
fn regions_importing_in_parallel_keep_the_shared_counters_exact() {
    let hub = open_hub();
    let r = reference();
    const REGIONS: [&str; 4] = ["AST", "ALM", "SHY", "KAR"];
    const CARDS_PER_REGION: u32 = 40;
    std::thread::scope(|scope| {
        for (k, region) in REGIONS.iter().enumerate() {
            let mut handle = hub.repo.handle();
            let r = &r;
            scope.spawn(move || {
                for n in 0..CARDS_PER_REGION {
                    let number = k as u32 * 1_000 + n;
                    // Same hours and channels in every region: the same shared records.
                    let at = NOW_MS - i64::from(n % 4) * HOUR_MS;
                    let mut card =
                        TestCard::new(r, region, number, Channel::App102Call, "theft", at);
                    card.store(&mut handle);
                    if n % 2 == 0 {
                        card.send(at + MINUTE_MS);
                        card.dispatch("p1", at + 2 * MINUTE_MS, Some(at + 9 * MINUTE_MS));
                        card.store(&mut handle);
                    }
                }
            });
        }
    });
    let store = &*hub.store;
    let hour = national::calls(
        store,
        Period::Hour,
        (Period::Hour.of(NOW_MS) - 3, Period::Hour.of(NOW_MS)),
        None,
        100,
    )
    .unwrap();
    let total: u64 = hour.iter().map(|c| c.count).sum();
    assert_eq!(total, REGIONS.len() as u64 * u64::from(CARDS_PER_REGION));
    let kept = index_of(store);
    let report = hub.repo.reindex().unwrap();
    assert_eq!(
        report.cards,
        REGIONS.len() as u64 * u64::from(CARDS_PER_REGION)
    );
    assert_eq!(index_of(store), kept, "no lost update in a shared counter");
}

#[test]
fn opening_a_store_without_the_current_index_version_reindexes_it() {
    let mut hub = open_hub();
    let r = reference();
    for n in 0..30u32 {
        let region = ["AST", "KAR", "ABA"][n as usize % 3];
        let mut card = TestCard::new(
            &r,
            region,
            n,
            Channel::App102Call,
            "other",
            NOW_MS - i64::from(n) * HOUR_MS,
        );
        if n % 2 == 0 {
            card.send(NOW_MS - i64::from(n) * HOUR_MS + MINUTE_MS);
        }
        if n % 5 == 0 {
            card.cancel(NOW_MS - i64::from(n) * HOUR_MS + 2 * MINUTE_MS);
        }
        card.store(&mut hub.repo);
    }
    let kept = index_of(&*hub.store);
    // An index written by an older hub: other keys, no version marker.
    let mut old = WriteBatch::new();
    old.delete(national::VERSION_KEY);
    old.put("nat/st/sent_for_processing/AST/x", "{}");
    old.put("nat/hour/2026030105/AST/x", "{}");
    old.delete("nat/rc/AST");
    hub.store.apply(old).unwrap();

    let reopened = CentralRepo::open(hub.store.clone(), hub.gc.clone()).unwrap();
    assert_eq!(index_of(&*hub.store), kept);
    assert_eq!(
        national::stored_version(&*hub.store).unwrap(),
        Some(national::NATIONAL_INDEX_VERSION)
    );
    assert_eq!(
        central::repo::regions_under(&*hub.store, "idx/heads/").unwrap(),
        ["ABA", "AST", "KAR"]
    );
    // An up-to-date store is not reindexed: a planted key survives opening.
    hub.store
        .apply({
            let mut b = WriteBatch::new();
            b.put("nat/planted", "x");
            b
        })
        .unwrap();
    drop(reopened);
    let _again = CentralRepo::open(hub.store.clone(), hub.gc.clone()).unwrap();
    assert!(hub.store.get(b"nat/planted").unwrap().is_some());
}

/// Bytes that are not a document change nothing: for a card the hub has not seen they are
/// refused as corrupt (no document, no heads, no national counters), for one it holds they are
/// refused or skipped.
#[test]
fn corrupt_bytes_store_nothing_for_new_or_known_cards() {
    use sync::protocol::{Repo, RepoError};
    let mut hub = open_hub();
    let before = index_of(&*hub.store);
    let garbage = [0x85, 0x6f, 0x4a, 0x83, 9, 9, 9, 9, 1, 2, 3];
    let new_id = "AST/card/0b9a3f52-6f0e-4c1e-9a57-2f1c3d4e5f60";
    let r = hub.repo.import(new_id, &garbage, None);
    assert!(matches!(r, Err(RepoError::Corrupt(_))), "{r:?}");
    assert_eq!(hub.repo.heads(new_id), None);
    assert_eq!(index_of(&*hub.store), before);

    let reference = reference();
    let mut card = TestCard::new(&reference, "AST", 1, Channel::App102Call, "theft", NOW_MS);
    card.store(&mut hub.repo);
    let known = format!("AST/card/{}", card.id);
    let heads = hub.repo.heads(&known).expect("stored");
    let with_card = index_of(&*hub.store);
    // automerge skips chunks it cannot parse when it loads into a document it holds: the
    // import then changes nothing and answers the unchanged heads.
    match hub.repo.import(&known, &garbage, None) {
        Err(RepoError::Corrupt(_)) => {}
        Ok(h) => assert_eq!(h, heads),
        Err(e) => panic!("{e:?}"),
    }
    assert_eq!(hub.repo.heads(&known), Some(heads));
    assert_eq!(index_of(&*hub.store), with_card);
}
