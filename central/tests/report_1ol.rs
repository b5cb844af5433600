//! R32 the national report 1-ОЛ at central: the reception ledger counts each region's record
//! once however replication delivers it, issued versions are never changed (late data makes a
//! new version with exactly its difference), and the ledger survives a restart and equals a
//! reindex from the documents.

use std::collections::BTreeMap;
use std::sync::Arc;

use central::repo::CentralRepo;
use serde_json::json;
use server_kit::store::{GroupCommit, SledStore, Store};
use sync::calendar::{embedded_years, Day, WorkCalendar};
use sync::protocol::Repo;
use sync::reception::{
    prepare_booking, BookingInput, ReceptionCommand, ReceptionDoc, ReceptionReference, Region,
    Schedule, Via,
};
use sync::report_1ol::{CellChange, Period};
use sync::{Ctx, Document};

const IIN: &str = "600705451316";
const DAY_MS: i64 = 86_400_000;

pub struct Hub {
    _dir: tempfile::TempDir,
    pub store: Arc<dyn Store>,
    pub gc: Arc<GroupCommit>,
    pub repo: CentralRepo,
}

pub fn open_hub() -> Hub {
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

pub fn calendar() -> WorkCalendar {
    WorkCalendar::new(embedded_years().unwrap().iter()).unwrap()
}

pub fn day(s: &str) -> Day {
    Day::parse(s).unwrap()
}

/// Midday of `d` in Kazakhstan (UTC+5), as ms.
fn ms(d: &str) -> i64 {
    day(d).start_ms(sync::calendar::KZ_UTC_OFFSET_MIN) + DAY_MS / 2
}

pub fn schedule() -> Schedule {
    serde_json::from_value(json!({
        "officials": [
            {"id": "head", "name": "Head A.", "rank": "head"},
            {"id": "dep", "name": "Deputy B.", "rank": "deputy"}
        ],
        "places": [{"id": "hq", "kato": "710000000", "addressee": "HQ room 1"}],
        "sessions": [
            {"id": "mon", "official": "head", "place": "hq", "weekday": 1,
             "start": "10:00", "slot_minutes": 20, "slots": 6, "mode": "offline"},
            {"id": "wed", "official": "dep", "place": "hq", "weekday": 3,
             "start": "10:00", "slot_minutes": 20, "slots": 6, "mode": "offline"}
        ]
    }))
    .unwrap()
}

/// The schedule document of `region`, as its node writes it.
pub fn schedule_doc(region: &str) -> Vec<u8> {
    let ctx = Ctx::new("reception-head", region, ms("2026-01-05"));
    ReceptionDoc::create_schedule(automerge::ActorId::from(vec![1u8; 16]), &schedule(), &ctx)
        .unwrap()
        .save()
}

/// One reception record's states, each the whole document as replication would send it.
pub struct Record {
    pub region: String,
    pub id: String,
    doc: ReceptionDoc,
    pub states: Vec<Vec<u8>>,
}

impl Record {
    /// Booked at `region`'s desk on `requested` for the `session` slot on `date`.
    pub fn book(
        region: &str,
        id: &str,
        requested: &str,
        date: &str,
        session: &str,
        time: &str,
    ) -> Record {
        Self::make(region, id, requested, date, session, time, Via::Node)
    }

    /// A request taken by the hub on `requested` (status `requested`).
    pub fn request(region: &str, id: &str, requested: &str, date: &str, time: &str) -> Record {
        Self::make(region, id, requested, date, "mon", time, Via::Hub)
    }

    fn make(
        region: &str,
        id: &str,
        requested: &str,
        date: &str,
        session: &str,
        time: &str,
        via: Via,
    ) -> Record {
        let schedule = schedule();
        let reference = ReceptionReference::demo();
        let calendar = calendar();
        let r = Region {
            code: region,
            body: "ДП",
            schedule: &schedule,
            reference: &reference,
            calendar: &calendar,
        };
        let input: BookingInput = serde_json::from_value(json!({"origin": "desk", "date": date,
            "time": time, "session": session, "fields": {"7": "1", "9": "2", "10": IIN,
            "11": "Ахметова", "12": "Айгуль", "16": "1960-07-05", "18": "pensioner",
            "23": "documents"}}))
        .unwrap();
        let record = prepare_booking(&input, via, &r, id, day(requested), 1).unwrap();
        let ctx = Ctx::new("desk", region, ms(requested));
        let doc = ReceptionDoc::create_booking(
            automerge::ActorId::from(vec![2u8; 16]),
            id,
            region,
            &record,
            &ctx,
        )
        .unwrap();
        let mut rec = Record {
            region: region.into(),
            id: id.into(),
            doc,
            states: Vec::new(),
        };
        rec.snapshot();
        rec
    }

    fn snapshot(&mut self) {
        self.states.push(self.doc.save());
    }

    fn apply(&mut self, cmd: ReceptionCommand, on: &str) -> &mut Self {
        self.doc
            .apply(&cmd, &Ctx::new("desk", self.region.clone(), ms(on)))
            .unwrap();
        self.snapshot();
        self
    }

    /// The reception was held on `on` with `decision`, by `by` (an official of the schedule).
    pub fn held(&mut self, on: &str, by: &str, decision: &str) -> &mut Self {
        let fields = BTreeMap::from([(25, decision.to_string()), (31, by.to_string())]);
        self.apply(ReceptionCommand::RecordHeld(fields), on)
    }

    pub fn not_held(&mut self, on: &str) -> &mut Self {
        let fields = BTreeMap::from([(36, "the applicant did not come".to_string())]);
        self.apply(ReceptionCommand::RecordNotHeld(fields), on)
    }

    pub fn refuse(&mut self, on: &str) -> &mut Self {
        self.apply(
            ReceptionCommand::Refuse {
                reason: "not within the body's competence".into(),
            },
            on,
        )
    }

    pub fn doc_id(&self) -> String {
        format!("{}/reception/{}", self.region, self.id)
    }

    pub fn last(&self) -> &[u8] {
        self.states.last().unwrap()
    }
}

/// Imports `bytes` as replication does.
pub fn import(repo: &mut CentralRepo, doc_id: &str, bytes: &[u8]) {
    repo.import(doc_id, bytes, None).unwrap();
}

fn regions_doc(repo: &mut CentralRepo, region: &str) {
    import(
        repo,
        &format!("{region}/reception/schedule"),
        &schedule_doc(region),
    );
}

fn cell(report: &sync::report_1ol::Report1Ol, region: Option<&str>, column: &str) -> u64 {
    let cells = match region {
        None => report.section5.total,
        Some(r) => {
            report
                .section5
                .rows
                .iter()
                .find(|row| row.body.id == r)
                .unwrap_or_else(|| panic!("no row {r}"))
                .cells
        }
    };
    let i = sync::report_1ol::headings::COLUMNS
        .iter()
        .position(|c| c.key == column)
        .unwrap_or_else(|| panic!("no column {column}"));
    cells.values()[i]
}

fn all_rpt_keys(store: &dyn Store) -> Vec<(Vec<u8>, Vec<u8>)> {
    store.scan_prefix(b"rpt/").unwrap()
}

#[test]
fn r32_a_record_counts_once_however_often_and_in_whatever_order_its_states_arrive() {
    let calendar = calendar();
    let today = day("2026-04-20");
    let march = Period::new(2026, 3).unwrap();
    let mut rec = Record::book("AST", "r1", "2026-03-02", "2026-03-16", "mon", "10:00");
    rec.held("2026-03-16", "head", "satisfied");
    let [booked, held] = [rec.states[0].clone(), rec.states[1].clone()];

    // Newest state first, then the older one and repeats: nothing changes after the first.
    let mut a = open_hub();
    regions_doc(&mut a.repo, "AST");
    import(&mut a.repo, &rec.doc_id(), &held);
    let first = a
        .repo
        .report_1ol()
        .national(march, today, &calendar)
        .unwrap();
    let keys = all_rpt_keys(&*a.store);
    import(&mut a.repo, &rec.doc_id(), &booked);
    import(&mut a.repo, &rec.doc_id(), &held);
    import(&mut a.repo, &rec.doc_id(), &held);
    assert_eq!(
        all_rpt_keys(&*a.store),
        keys,
        "a replay wrote to the ledger"
    );
    let again = a
        .repo
        .report_1ol()
        .national(march, today, &calendar)
        .unwrap();
    assert_eq!(first, again);
    assert_eq!(a.repo.report_1ol().len(), 1);
    assert_eq!(cell(&again, Some("AST"), "received"), 1);
    assert_eq!(cell(&again, Some("AST"), "booked"), 1);
    assert_eq!(cell(&again, Some("AST"), "received_by_head"), 1);
    assert_eq!(cell(&again, Some("AST"), "decision_satisfied"), 1);
    assert_eq!(cell(&again, None, "received"), 1);

    // Oldest state first, then the newest, then the oldest again: the same report.
    let mut b = open_hub();
    regions_doc(&mut b.repo, "AST");
    import(&mut b.repo, &rec.doc_id(), &booked);
    let pending = b
        .repo
        .report_1ol()
        .national(march, today, &calendar)
        .unwrap();
    assert_eq!(cell(&pending, Some("AST"), "pending_at_end"), 1);
    assert_eq!(cell(&pending, Some("AST"), "received_by_head"), 0);
    import(&mut b.repo, &rec.doc_id(), &held);
    import(&mut b.repo, &rec.doc_id(), &booked);
    let b_report = b
        .repo
        .report_1ol()
        .national(march, today, &calendar)
        .unwrap();
    assert_eq!(b_report, first);
    assert_eq!(all_rpt_keys(&*b.store), keys);
}

#[test]
fn r32_the_ledger_survives_a_restart_and_equals_a_reindex_from_the_documents() {
    let calendar = calendar();
    let today = day("2026-04-20");
    let march = Period::new(2026, 3).unwrap();
    let mut h = open_hub();
    for region in ["AST", "ALA"] {
        regions_doc(&mut h.repo, region);
        let mut a = Record::book(region, "a", "2026-03-02", "2026-03-16", "mon", "10:00");
        a.held("2026-03-16", "head", "explained");
        let mut b = Record::book(region, "b", "2026-03-03", "2026-03-18", "wed", "10:20");
        b.held("2026-03-18", "dep", "refused");
        let mut c = Record::book(region, "c", "2026-03-04", "2026-03-30", "mon", "10:40");
        c.not_held("2026-03-30");
        let mut d = Record::book(region, "d", "2026-03-05", "2026-04-06", "mon", "10:00");
        d.refuse("2026-03-06");
        let e = Record::book(region, "e", "2026-03-25", "2026-04-06", "mon", "10:20");
        for r in [&a, &b, &c, &d, &e] {
            import(&mut h.repo, &r.doc_id(), r.last());
        }
    }
    h.gc.wait_written().unwrap();
    let report = h
        .repo
        .report_1ol()
        .national(march, today, &calendar)
        .unwrap();
    for region in [Some("AST"), Some("ALA")] {
        let n = |c| cell(&report, region, c);
        assert_eq!(n("received"), 5);
        assert_eq!(n("booked"), 5);
        assert_eq!(n("refused"), 1);
        assert_eq!(n("pending_at_end"), 1);
        assert_eq!(n("received_by_head"), 1);
        assert_eq!(n("received_by_deputy"), 1);
        assert_eq!(n("decision_refused"), 1);
        assert_eq!(n("decision_explained"), 1);
    }
    assert_eq!(cell(&report, None, "received"), 10);
    let region = h
        .repo
        .report_1ol()
        .region("ALA", march, today, &calendar)
        .unwrap();
    assert_eq!(region.section5.rows.len(), 1);
    assert_eq!(region.section5.total, report.section5.rows[0].cells);

    // Reopened: loaded from the ledger's keys.
    let reopened = CentralRepo::open(h.store.clone(), h.gc.clone()).unwrap();
    assert_eq!(
        reopened
            .report_1ol()
            .national(march, today, &calendar)
            .unwrap(),
        report
    );
    // Rebuilt from the documents.
    let keys = all_rpt_keys(&*h.store);
    let r = h.repo.reindex().unwrap();
    assert_eq!(r.receptions, 12);
    assert_eq!(all_rpt_keys(&*h.store), keys);
    assert_eq!(
        h.repo
            .report_1ol()
            .national(march, today, &calendar)
            .unwrap(),
        report
    );
}

#[test]
fn r32_a_region_cut_off_across_the_10th_is_reissued_with_exactly_its_difference() {
    let calendar = calendar();
    let march = Period::new(2026, 3).unwrap();
    let due = sync::report_1ol::due_day(march, &calendar).unwrap();
    assert_eq!(due, day("2026-04-10"));
    let mut h = open_hub();
    regions_doc(&mut h.repo, "AST");
    regions_doc(&mut h.repo, "KAR");
    let mut ast = Record::book("AST", "a1", "2026-03-02", "2026-03-16", "mon", "10:00");
    ast.held("2026-03-16", "head", "satisfied");
    import(&mut h.repo, &ast.doc_id(), ast.last());
    // KAR books on 2 March (replicated), holds the reception on 18 March, then is cut off.
    let mut kar = Record::book("KAR", "k1", "2026-03-02", "2026-03-18", "wed", "10:00");
    import(&mut h.repo, &kar.doc_id(), kar.last());
    kar.held("2026-03-18", "dep", "explained");

    // Before the due day nothing is issued.
    let ledger = h.repo.report_1ol().clone();
    let before = ledger.issue_due(day("2026-04-09"), &calendar).unwrap();
    assert!(before.iter().all(|v| v.report.period != march));
    assert!(ledger.versions(march).unwrap().is_empty());
    // On the due day: version 1, KAR's reception not in it.
    let v1 = ledger.issue_due(due, &calendar).unwrap();
    let v1 = v1.into_iter().find(|v| v.report.period == march).unwrap();
    assert_eq!((v1.version, v1.issued_on), (1, due));
    assert!(v1.changes.is_empty());
    assert_eq!(cell(&v1.report, Some("KAR"), "received_by_deputy"), 0);
    assert_eq!(cell(&v1.report, Some("KAR"), "pending_at_end"), 1);
    // Nothing changed: nothing re-issued.
    assert!(ledger
        .issue_due(day("2026-04-11"), &calendar)
        .unwrap()
        .is_empty());

    // KAR catches up on the 13th: version 2 with exactly the difference.
    import(&mut h.repo, &kar.doc_id(), kar.last());
    import(&mut h.repo, &kar.doc_id(), &kar.states[0]);
    let caught_up = day("2026-04-13");
    let v2 = ledger.issue_due(caught_up, &calendar).unwrap();
    let v2: Vec<_> = v2
        .into_iter()
        .filter(|v| v.report.period == march)
        .collect();
    assert_eq!(v2.len(), 1);
    let v2 = &v2[0];
    assert_eq!((v2.version, v2.issued_on), (2, caught_up));
    let change = |body: Option<&str>, column: &str, before, after| CellChange {
        body: body.map(str::to_string),
        column: column.into(),
        before,
        after,
    };
    assert_eq!(
        v2.changes,
        vec![
            change(Some("KAR"), "pending_at_end", 1, 0),
            change(Some("KAR"), "received_by_deputy", 0, 1),
            change(Some("KAR"), "decision_explained", 0, 1),
            change(None, "pending_at_end", 1, 0),
            change(None, "received_by_deputy", 0, 1),
            change(None, "decision_explained", 0, 1),
        ]
    );
    // Version 1 is kept as issued; the latest equals the report from scratch.
    let versions = ledger.versions(march).unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0], v1);
    let mut scratch = open_hub();
    for region in ["AST", "KAR"] {
        regions_doc(&mut scratch.repo, region);
    }
    import(&mut scratch.repo, &ast.doc_id(), ast.last());
    import(&mut scratch.repo, &kar.doc_id(), kar.last());
    let from_scratch = scratch
        .repo
        .report_1ol()
        .national(march, caught_up, &calendar)
        .unwrap();
    assert_eq!(versions[1].report.section5, from_scratch.section5);
    // The versions survive a reindex (they are history, not derived data).
    h.repo.reindex().unwrap();
    assert_eq!(ledger.versions(march).unwrap(), versions);
    assert!(ledger.issue_due(caught_up, &calendar).unwrap().is_empty());
}

#[test]
fn r32_decisions_are_counted_with_the_reception_reference_lists_central_is_given() {
    let calendar = calendar();
    let (today, march) = (day("2026-04-20"), Period::new(2026, 3).unwrap());
    // The region's own lists name the decision «Удовлетворено» with another code.
    let toml = sync::reception::reference::DEMO_RECEPTION_REFERENCE_TOML
        .replace("code = \"satisfied\"", "code = \"01\"");
    let own = ReceptionReference::from_toml(&toml).unwrap();
    let mut rec = Record::book("AST", "r1", "2026-03-02", "2026-03-16", "mon", "10:00");
    rec.held("2026-03-16", "head", "01");
    let counted = |reference: Option<ReceptionReference>| {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path(), 16 << 20).unwrap());
        let gc = Arc::new(GroupCommit::new(store.clone()));
        let mut repo = CentralRepo::open_with_reception_reference(store, gc, reference).unwrap();
        regions_doc(&mut repo, "AST");
        import(&mut repo, &rec.doc_id(), rec.last());
        let r = repo.report_1ol().national(march, today, &calendar).unwrap();
        (
            cell(&r, Some("AST"), "received_by_head"),
            cell(&r, Some("AST"), "decision_satisfied"),
        )
    };
    assert_eq!(counted(Some(own)), (1, 1));
    // With the demo lists the code means nothing: held, no decision counted.
    assert_eq!(counted(None), (1, 0));
}

#[test]
fn r32_the_ledger_refuses_a_month_not_over_and_a_year_the_calendar_lacks() {
    let calendar = calendar();
    let h = open_hub();
    let ledger = h.repo.report_1ol();
    let today = day("2026-04-20");
    let code = |p: Period| ledger.national(p, today, &calendar).unwrap_err().code();
    assert_eq!(
        code(Period::new(2026, 4).unwrap()),
        "report_period_not_closed"
    );
    assert_eq!(code(Period::new(2026, 5).unwrap()), "report_period_future");
    assert!(Period::new(2026, 13).is_err());
    let far = day("2100-02-01");
    assert_eq!(
        ledger
            .national(Period::new(2100, 1).unwrap(), far, &calendar)
            .unwrap_err()
            .code(),
        "no_calendar_for_year"
    );
}

// ------------------------------------------------------------------------------ HTTP

#[path = "common/mod.rs"]
mod common;

use axum::http::StatusCode;
use central::server::{open_central, Central};
use serde_json::Value;

const ADMIN_PASSWORD: &str = "Admin-Bootstrap-Pass-2026";

struct TestHub {
    _dir: tempfile::TempDir,
    central: Central,
    app: axum::Router,
    admin: String,
    duty: String,
    analyst: String,
}

impl TestHub {
    async fn start() -> TestHub {
        let dir = tempfile::tempdir().unwrap();
        let mut config = central::config::Config::load_layers(&[]).unwrap();
        config.accounts.argon2_memory_kib = 1024;
        let central = open_central(&config, dir.path(), Some(ADMIN_PASSWORD.into()))
            .await
            .unwrap();
        let app = central::http::app(central.state.clone());
        let (admin, duty) = common::hq_duty_session(&app, ADMIN_PASSWORD).await;
        let (s, body) = common::call(
            &app,
            "POST",
            "/api/v1/accounts",
            &admin,
            Some(json!({"login": "hq.analyst", "full_name": "Аналитик Айжан",
                "password": "Temporary-HQ-Pass-42", "roles": ["hq_analyst"]})),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
        let analyst = common::activate(&app, "hq.analyst", "Temporary-HQ-Pass-42").await;
        TestHub {
            _dir: dir,
            central,
            app,
            admin,
            duty,
            analyst,
        }
    }

    async fn call_as(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let (s, body) = common::call(&self.app, method, path, token, body).await;
        (
            s,
            serde_json::from_str(&body).unwrap_or(Value::String(body)),
        )
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call_as(&self.analyst, "GET", path, None).await
    }

    fn import(&self, region: &str, doc_id: &str, bytes: &[u8]) {
        let repo = self.central.state.hub.repo(region);
        let mut repo = repo.lock().unwrap();
        import(&mut repo, doc_id, bytes);
        repo.group_commit().wait_written().unwrap();
    }

    fn reception_docs(&self, region: &str) -> usize {
        self.central
            .state
            .store
            .scan_keys(format!("doc/{region}/reception/").as_bytes(), 10_000)
            .unwrap()
            .len()
    }
}

/// Polls `f` until it holds, for at most 30 s.
async fn until<T>(what: &str, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(std::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r32_hq_reads_the_national_report_its_versions_and_a_regions_records() {
    let hub = TestHub::start().await;
    for region in ["AST", "KAR"] {
        hub.import(
            region,
            &format!("{region}/reception/schedule"),
            &schedule_doc(region),
        );
    }
    let mut a = Record::book("AST", "a1", "2026-03-02", "2026-03-16", "mon", "10:00");
    a.held("2026-03-16", "head", "satisfied");
    hub.import("AST", &a.doc_id(), a.last());
    let mut k = Record::book("KAR", "k1", "2026-03-02", "2026-03-18", "wed", "10:00");
    k.held("2026-03-18", "dep", "explained");
    let mut k2 = Record::book("KAR", "k2", "2026-03-03", "2026-03-30", "mon", "10:20");
    k2.not_held("2026-03-30");
    for r in [&k, &k2] {
        hub.import("KAR", &r.doc_id(), r.last());
        hub.import("KAR", &r.doc_id(), &r.states[0]);
    }
    let url = "/api/v1/reports/1-ol?year=2026&month=3";
    // The hub issues the month (its due day has passed) and re-issues it after the records
    // arrived: no data stays pending.
    let body = until("the month issued with every record", async || {
        let (s, b) = hub.get(url).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        (b["issued"] == true
            && b["pending_changes"] == json!([])
            && b["current"]["section5"]["total"]["received"] == 3)
            .then_some(b)
    })
    .await;
    assert_eq!(body["period"], json!({"year": 2026, "month": 3}));
    assert_eq!(body["due_on"], "2026-04-10");
    assert_eq!(body["current"]["incomplete"], true);
    let latest = &body["latest"];
    assert_eq!(latest["report"]["section5"], body["current"]["section5"]);
    let versions = body["versions"].as_array().unwrap();
    assert_eq!(latest["version"], versions.len());
    let total = &body["current"]["section5"]["total"];
    assert_eq!(total["received_by_head"], 1);
    assert_eq!(total["received_by_deputy"], 1);
    assert_eq!(total["decision_explained"], 1);
    let rows: Vec<&str> = body["current"]["section5"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["body"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(rows, ["AST", "KAR"]);

    let (s, v1) = hub
        .get("/api/v1/reports/1-ol/versions/1?year=2026&month=3")
        .await;
    assert_eq!(s, StatusCode::OK, "{v1}");
    assert_eq!(v1["version"], 1);
    for bad in ["99", "0", "x"] {
        let (s, e) = hub
            .get(&format!(
                "/api/v1/reports/1-ol/versions/{bad}?year=2026&month=3"
            ))
            .await;
        assert_eq!(
            (s, e["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("report_version_unknown"))
        );
    }

    let (s, xlsx) = common::call(
        &hub.app,
        "GET",
        "/api/v1/reports/1-ol.xlsx?year=2026&month=3&version=1",
        &hub.duty,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(xlsx.starts_with("PK"), "not a workbook");
    let (s, _) = hub
        .get("/api/v1/reports/1-ol.xlsx?year=2026&month=3&version=7")
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // The drill-down: KAR's report and the records it counts.
    let (s, kar) = hub
        .get("/api/v1/reports/1-ol/regions/KAR?year=2026&month=3")
        .await;
    assert_eq!(s, StatusCode::OK, "{kar}");
    assert_eq!(
        kar["report"]["section5"]["rows"].as_array().unwrap().len(),
        1
    );
    assert_eq!(kar["report"]["section5"]["total"]["received"], 2);
    assert_eq!(
        kar["records"],
        json!([
            {"record_id": "k1", "registration_number": "KAR-ЖҚ-k1", "requested_on": "2026-03-02",
             "booked_on": "2026-03-02", "reception_on": "2026-03-18", "outcome": "held",
             "outcome_on": "2026-03-18", "receiver": "deputy", "decision": "explained",
             "revision": 2},
            {"record_id": "k2", "registration_number": "KAR-ЖҚ-k2", "requested_on": "2026-03-03",
             "booked_on": "2026-03-03", "reception_on": "2026-03-30", "outcome": "not_held",
             "outcome_on": "2026-03-30", "receiver": null, "decision": null, "revision": 2}
        ])
    );
    // February counts none of them.
    let (_, feb) = hub
        .get("/api/v1/reports/1-ol/regions/KAR?year=2026&month=2")
        .await;
    assert_eq!(feb["records"], json!([]));
    for bad in ["ZZZ", "kar", "K-1"] {
        let (s, e) = hub
            .get(&format!(
                "/api/v1/reports/1-ol/regions/{bad}?year=2026&month=3"
            ))
            .await;
        assert_eq!(
            (s, e["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("region_unknown")),
            "{bad}"
        );
    }

    // Refusals: 4xx with a code, never a 5xx.
    let today = central::service::HqService::today(server_kit::clock::now_ms());
    let this_month = format!("year={}&month={}", today.year(), today.month());
    let next_year = format!("year={}&month=1", today.year() + 1);
    for (query, status, code) in [
        ("year=2026&month=13", 422, "report_bad_period"),
        ("year=2026&month=0", 422, "report_bad_period"),
        (this_month.as_str(), 422, "report_period_not_closed"),
        (next_year.as_str(), 422, "report_period_future"),
        ("year=1990&month=1", 422, "no_calendar_for_year"),
        ("year=2026", 400, "invalid_query"),
        ("year=2026&month=3&extra=1", 400, "invalid_query"),
    ] {
        for path in [
            "/api/v1/reports/1-ol",
            "/api/v1/reports/1-ol.xlsx",
            "/api/v1/reports/1-ol/regions/KAR",
        ] {
            let (s, e) = hub.get(&format!("{path}?{query}")).await;
            assert_eq!(
                (s.as_u16(), e["code"].as_str()),
                (status, Some(code)),
                "{path}?{query}: {e}"
            );
        }
    }
    // Only HQ readers.
    let (s, _) = hub.call_as(&hub.admin, "GET", url, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = hub.call_as("", "GET", url, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

/// The first working Monday after `today` (the test schedule's `mon` session).
fn next_monday(today: Day, calendar: &WorkCalendar) -> Day {
    (1..60)
        .map(|n| today.plus_days(n))
        .find(|d| {
            d.weekday() == sync::calendar::Weekday::Monday
                && calendar.is_working_day(*d).unwrap_or(false)
        })
        .expect("a working Monday within 60 days")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r31_a_booking_through_the_hub_is_checked_stored_durably_and_counted_as_requested() {
    let hub = TestHub::start().await;
    hub.import("AST", "AST/reception/schedule", &schedule_doc("AST"));
    let calendar = hub.central.state.hq.work_calendar().unwrap();
    let today = central::service::HqService::today(server_kit::clock::now_ms());
    let monday = next_monday(today, &calendar).to_string();
    let sunday = day(&monday).plus_days(-1).to_string();
    let booking = |date: &str, iin: &str| {
        json!({"origin": "app", "date": date, "time": "10:20", "session": "mon",
            "fields": {"7": "1", "9": "2", "10": iin, "11": "Ахметова", "12": "Айгуль",
            "16": "1960-07-05", "18": "pensioner", "23": "documents"}})
    };
    let url = "/api/v1/reception/AST/bookings";
    let before = hub.reception_docs("AST");

    // Refused: nothing stored.
    let mut out_of_schedule = booking(&monday, IIN);
    out_of_schedule["session"] = Value::Null;
    out_of_schedule["out_of_schedule"] =
        json!({"official": "head", "place": "hq", "mode": "offline"});
    for (token, path, body, status, code) in [
        (
            &hub.duty,
            url,
            booking(&sunday, IIN),
            422,
            "reception_non_working_day",
        ),
        (
            &hub.duty,
            url,
            booking(&monday, "600705451317"),
            422,
            "iin_invalid",
        ),
        (
            &hub.duty,
            url,
            out_of_schedule,
            422,
            "reception_slot_unknown",
        ),
        (
            &hub.duty,
            "/api/v1/reception/ZZZ/bookings",
            booking(&monday, IIN),
            404,
            "region_unknown",
        ),
        (
            &hub.duty,
            "/api/v1/reception/z-1/bookings",
            booking(&monday, IIN),
            404,
            "region_unknown",
        ),
        (&hub.analyst, url, booking(&monday, IIN), 403, "forbidden"),
    ] {
        let (s, e) = hub.call_as(token, "POST", path, Some(body)).await;
        assert_eq!(
            (s.as_u16(), e["code"].as_str()),
            (status, Some(code)),
            "{e}"
        );
    }
    assert_eq!(hub.reception_docs("AST"), before);

    let (s, b) = hub
        .call_as(&hub.duty, "POST", url, Some(booking(&monday, IIN)))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["status"], "requested");
    assert_eq!(b["via"], "hub");
    assert_eq!(b["region"], "AST");
    assert_eq!(b["slot"]["date"], monday);
    assert_eq!(b["fields"]["4"], today.to_string());
    let id = b["id"].as_str().unwrap().to_string();
    assert_eq!(hub.reception_docs("AST"), before + 1);

    // Stored in the region's namespace as the region's node reads it, and in the ledger as a
    // request put in the queue today, not booked yet.
    let doc_id = sync::DocId::parse(&format!("AST/reception/{id}")).unwrap();
    let repo = hub.central.state.hub.repo("AST");
    let bytes = repo
        .lock()
        .unwrap()
        .export(&doc_id.to_string(), &[])
        .unwrap();
    let doc = ReceptionDoc::load([bytes.as_slice()]).unwrap();
    match doc.view().unwrap() {
        sync::reception::ReceptionView::Booking(r) => {
            assert_eq!(r.status, sync::reception::BookingStatus::Requested);
            assert_eq!(r.via, Via::Hub);
        }
        other => panic!("{other:?}"),
    }
    let records = hub.central.state.hub.report_1ol().records("AST");
    let (entry, reception_on) = records
        .iter()
        .find(|(e, _)| e.record_id == id)
        .expect("the request is in the ledger");
    assert_eq!(entry.requested_on, today);
    assert_eq!(entry.booked_on, None);
    assert_eq!(*reception_on, Some(day(&monday)));
}
