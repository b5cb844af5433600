//! The national appeals index and HQ's appeals API (R16, R33): real appeal documents made with
//! the domain code (`AppealDoc::create` + `apply`, as a region's node does) and stored through
//! the hub's import path; time-dependent states judged for a given today on the embedded
//! working-day calendar, and the HTTP API on a real hub.

mod common;

use std::sync::Arc;

use automerge::ActorId;
use axum::http::StatusCode;
use central::appeals::{self, AppealFilter, KuiFilter, KuiState, Today};
use central::repo::CentralRepo;
use central::server::{open_central, Central};
use common::*;
use serde_json::{json, Value};
use server_kit::store::{GroupCommit, SledStore, Store};
use sync::appeal::{
    Actor, AppealChannel, AppealCommand, AppealDoc, AppealIntake, AppealKind, AppealStatus,
    Applicant, ApplicantKind, DeadlineState, Env, Registration,
};
use sync::calendar::{embedded_years, Day, WorkCalendar, KZ_UTC_OFFSET_MIN};
use sync::protocol::Repo;
use sync::{Ctx, Document, Language, Reference};

const ADMIN_PASSWORD: &str = "hq-admin-password";

struct World {
    reference: Reference,
    calendar: WorkCalendar,
}

impl World {
    fn new() -> World {
        World {
            reference: Reference::demo(),
            calendar: WorkCalendar::new(&embedded_years().unwrap()).unwrap(),
        }
    }
    fn env(&self) -> Env<'_> {
        Env {
            reference: &self.reference,
            calendar: &self.calendar,
            utc_offset_min: KZ_UTC_OFFSET_MIN,
        }
    }
    fn today(&self, ms: i64) -> Today<'_> {
        Today {
            ms,
            day: Day::from_ms(ms, KZ_UTC_OFFSET_MIN),
            calendar: &self.calendar,
        }
    }
}

/// An appeal document being worked by a region's node.
struct TestAppeal {
    region: String,
    id: String,
    doc: AppealDoc,
}

impl TestAppeal {
    fn new(region: &str, n: u32, received_ms: i64) -> TestAppeal {
        let id = format!("00000000-0000-4000-a000-{n:012}");
        let intake = AppealIntake {
            channel: AppealChannel::App102Text,
            kind: None,
            language: Language::Ru,
            text: "Сосед угрожает поджечь дом, прошу принять меры.".into(),
            applicant: Some(Applicant {
                kind: Some(ApplicantKind::Person),
                surname: Some("Ахметов".into()),
                name: Some("Серік".into()),
                phone: Some("+77011234567".into()),
                ..Default::default()
            }),
            co_applicants: vec![],
            location: None,
            attachments: vec![],
            anonymous: false,
            card_id: None,
            card_number: None,
        };
        let actor = ActorId::from(format!("{region}-node-appeal-{n}").into_bytes());
        let doc = AppealDoc::create(
            actor,
            &id,
            &intake,
            &Ctx::new("citizen", region, received_ms),
        )
        .unwrap();
        TestAppeal {
            region: region.into(),
            id,
            doc,
        }
    }

    fn step(&mut self, w: &World, by: &str, cmd: AppealCommand, at: i64) -> &mut Self {
        let ctx = Ctx::new(by, self.region.as_str(), at);
        self.doc
            .apply(&cmd, &Actor::default(), &w.env(), &ctx)
            .unwrap();
        self
    }

    fn register(&mut self, w: &World, n: u32, crime_signs: bool, at: i64) -> &mut Self {
        let cmd = AppealCommand::Register {
            number: format!("{}-2026-{n:06}", self.region),
            registration: Registration {
                kind: AppealKind::Appeal,
                tags: vec![],
                collective: false,
                personal_reception: false,
                anonymous: false,
                crime_signs,
                service: "criminal-police".into(),
                duplicate_of: vec![],
            },
        };
        self.step(w, "registrar1", cmd, at)
    }

    fn doc_id(&self) -> String {
        format!("{}/appeal/{}", self.region, self.id)
    }

    /// Replicates the appeal's current state into the hub, as an import from its region.
    fn store(&mut self, repo: &mut CentralRepo) {
        let bytes = self.doc.save();
        repo.import(&self.doc_id(), &bytes, None).unwrap();
        repo.group_commit().wait_written().unwrap();
    }
}

fn hub_repo() -> (tempfile::TempDir, CentralRepo) {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path(), 16 << 20).unwrap());
    let gc = Arc::new(GroupCommit::new(store.clone()));
    (dir, CentralRepo::new(store, gc).unwrap())
}

/// A local (UTC+5) date at `hour`, ms.
fn local(day: Day, hour: i64) -> i64 {
    day.start_ms(KZ_UTC_OFFSET_MIN) + hour * HOUR_MS
}

fn crime(repo: &CentralRepo, w: &World, now: i64) -> Vec<appeals::NationalAppeal> {
    appeals::crime_signs(&**repo.store(), None, None, 100, &w.today(now)).unwrap()
}

#[test]
fn r33_a_flagged_appeal_shows_without_kui_then_with_the_number_once_the_region_registers_it() {
    let w = World::new();
    let (_dir, mut repo) = hub_repo();
    let mut a = TestAppeal::new("AST", 1, NOW_MS);
    a.register(&w, 1, true, NOW_MS + 10 * MINUTE_MS)
        .store(&mut repo);
    // Another region's appeal without signs of a crime is not in the R33 list.
    let mut plain = TestAppeal::new("ALA", 2, NOW_MS);
    plain.register(&w, 2, false, NOW_MS).store(&mut repo);

    let listed = crime(&repo, &w, NOW_MS + HOUR_MS);
    assert_eq!(listed.len(), 1, "{listed:?}");
    let line = &listed[0];
    assert_eq!(
        (line.region.as_str(), line.id.as_str()),
        ("AST", a.id.as_str())
    );
    assert_eq!(line.number.as_deref(), Some("AST-2026-000001"));
    assert_eq!((line.kui.as_deref(), line.kui_at), (None, None));
    assert_eq!(line.kui_state, Some(KuiState::Pending));
    let due = line
        .kui_due_at
        .expect("КУИ is due within 24 hours of registration");
    assert_eq!(due, NOW_MS + 10 * MINUTE_MS + 24 * HOUR_MS);
    // The index holds no personal data.
    let raw = serde_json::to_string(line).unwrap();
    assert!(!raw.contains("Ахметов") && !raw.contains("+7701"), "{raw}");

    // Past the 24 hours with no КУИ record: overdue, first in the list, counted.
    let late = due + MINUTE_MS;
    assert_eq!(crime(&repo, &w, late)[0].kui_state, Some(KuiState::Overdue));
    let s = appeals::summary(&**repo.store(), &w.today(late)).unwrap();
    let ast = s.regions.iter().find(|r| r.region == "AST").unwrap();
    assert_eq!(
        (
            ast.counts.crime_signs,
            ast.counts.kui_missing,
            ast.counts.kui_overdue
        ),
        (1, 1, 1)
    );
    assert_eq!((s.totals.crime_signs, s.totals.kui_overdue), (1, 1));
    let overdue_only = appeals::crime_signs(
        &**repo.store(),
        None,
        Some(KuiFilter::Overdue),
        10,
        &w.today(late),
    )
    .unwrap();
    assert_eq!(overdue_only.len(), 1);

    // The region registers it in КУИ; its change reaches the hub.
    let kui_at = late + HOUR_MS;
    a.step(
        &w,
        "officer1",
        AppealCommand::Kui {
            number: "2611000000123".into(),
        },
        kui_at,
    )
    .store(&mut repo);
    let listed = crime(&repo, &w, kui_at + MINUTE_MS);
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].kui.as_deref(), Some("2611000000123"));
    assert_eq!(listed[0].kui_at, Some(kui_at));
    assert_eq!(listed[0].kui_state, Some(KuiState::Registered));
    let s = appeals::summary(&**repo.store(), &w.today(kui_at)).unwrap();
    assert_eq!(
        (
            s.totals.crime_signs,
            s.totals.kui_missing,
            s.totals.kui_overdue
        ),
        (1, 0, 0)
    );
    let missing = appeals::crime_signs(
        &**repo.store(),
        None,
        Some(KuiFilter::Missing),
        10,
        &w.today(kui_at),
    )
    .unwrap();
    assert!(missing.is_empty(), "{missing:?}");
    // The old "not in КУИ" key is gone: exactly one crime key for the appeal.
    assert_eq!(
        repo.store().scan_keys(b"nat/ap/crime/", 100).unwrap().len(),
        1
    );
}

/// A registration time whose review deadline falls on a Monday, Tuesday or Wednesday, so that
/// the three working days before it span a weekend.
fn registered_before_a_weekend(w: &World) -> (TestAppeal, Day) {
    for d in 0..7 {
        let mut a = TestAppeal::new("AST", 10 + d, NOW_MS + d as i64 * DAY_MS);
        a.register(w, 10 + d, false, NOW_MS + d as i64 * DAY_MS);
        let due = a.doc.view(None).unwrap().deadline.unwrap();
        if due.weekday() <= sync::calendar::Weekday::Wednesday {
            return (a, due);
        }
    }
    unreachable!("some weekday of seven has its deadline early in a week");
}

#[test]
fn r16_overdue_and_near_are_judged_on_the_working_day_calendar_at_read_time() {
    let w = World::new();
    let (_dir, mut repo) = hub_repo();
    let (mut a, due) = registered_before_a_weekend(&w);
    a.store(&mut repo);
    let store = repo.store().clone();
    let state_on = |day: Day| {
        let listed = appeals::list(
            &*store,
            &AppealFilter {
                limit: 10,
                ..Default::default()
            },
            &w.today(local(day, 10)),
        )
        .unwrap();
        assert_eq!(listed.len(), 1);
        listed[0].deadline_state
    };
    // Five calendar days before a Monday–Wednesday deadline is within 3 working days: near.
    let five_before = due.plus_days(-5);
    assert!(w.calendar.working_days_between(five_before, due).unwrap() <= 3);
    assert_eq!(state_on(five_before), Some(DeadlineState::Near));
    assert_eq!(state_on(due.plus_days(-12)), Some(DeadlineState::Ok));
    assert_eq!(
        state_on(due),
        Some(DeadlineState::Near),
        "due today is near"
    );
    assert_eq!(state_on(due.plus_days(1)), Some(DeadlineState::Overdue));

    // The summary counts it by region and nationally; the overdue list holds it.
    let late = w.today(local(due.plus_days(1), 9));
    let s = appeals::summary(&*store, &late).unwrap();
    assert_eq!(s.today, due.plus_days(1));
    let ast = &s.regions[0];
    assert_eq!(
        (ast.region.as_str(), ast.counts.overdue, ast.counts.near),
        ("AST", 1, 0)
    );
    assert_eq!((ast.counts.received, ast.counts.open), (1, 1));
    assert_eq!(ast.counts.by_status.get("routed"), Some(&1));
    assert_eq!((s.totals.overdue, s.totals.received), (1, 1));
    let near = appeals::summary(&*store, &w.today(local(five_before, 9))).unwrap();
    assert_eq!((near.totals.overdue, near.totals.near), (0, 1));
    let overdue = AppealFilter {
        overdue: true,
        limit: 10,
        ..Default::default()
    };
    assert_eq!(appeals::list(&*store, &overdue, &late).unwrap().len(), 1);
    assert!(appeals::list(&*store, &overdue, &w.today(local(due, 9)))
        .unwrap()
        .is_empty());

    // Answered: no longer open, no longer counted overdue, and its old keys are gone.
    let officer = "officer1";
    a.step(
        &w,
        "manager1",
        AppealCommand::Assign {
            officer: officer.into(),
        },
        late.ms,
    );
    a.step(
        &w,
        officer,
        AppealCommand::SubmitDraft {
            draft: sync::appeal::AnswerDraft {
                decision: sync::appeal::Decision::Explained,
                language: Language::Ru,
                paragraphs: vec!["Разъяснено.".into()],
                table: None,
                images: vec![],
                competent_body: None,
            },
        },
        late.ms + MINUTE_MS,
    );
    a.step(
        &w,
        "manager1",
        AppealCommand::Approve {
            sha256: "ab".repeat(32),
            size: 1000,
        },
        late.ms + 2 * MINUTE_MS,
    )
    .store(&mut repo);
    let s = appeals::summary(&*store, &late).unwrap();
    assert_eq!(
        (s.totals.overdue, s.totals.open, s.totals.received),
        (0, 0, 1)
    );
    assert_eq!(s.totals.by_status.get("answered"), Some(&1));
    assert_eq!(s.totals.by_status.get("routed"), None);
    assert!(store.scan_keys(b"nat/ap/dl/", 10).unwrap().is_empty());
    assert_eq!(store.scan_keys(b"nat/ap/q/", 10).unwrap().len(), 1);
    let answered = AppealFilter {
        status: Some(AppealStatus::Answered),
        region: Some("AST".into()),
        limit: 10,
        ..Default::default()
    };
    let listed = appeals::list(&*store, &answered, &late).unwrap();
    assert_eq!((listed.len(), listed[0].deadline_state), (1, None));
}

#[test]
fn r16_a_reindex_rebuilds_exactly_the_appeals_index_the_imports_wrote() {
    let w = World::new();
    let (_dir, mut repo) = hub_repo();
    for n in 0..5u32 {
        let mut a = TestAppeal::new(if n % 2 == 0 { "AST" } else { "ALA" }, 100 + n, NOW_MS);
        if n > 0 {
            a.register(&w, 100 + n, n % 2 == 1, NOW_MS + HOUR_MS);
        }
        a.store(&mut repo);
    }
    // One only received, four registered: all five are open.
    let s = appeals::summary(&**repo.store(), &w.today(NOW_MS + 2 * HOUR_MS)).unwrap();
    assert_eq!((s.totals.received, s.totals.open), (5, 5), "{s:?}");
    assert_eq!(s.totals.by_status.get("received"), Some(&1));
    let snapshot = |repo: &CentralRepo| repo.store().scan_prefix(b"nat/ap/").unwrap();
    let before = snapshot(&repo);
    assert!(before.len() > 10, "{}", before.len());
    let report = repo.reindex().unwrap();
    assert_eq!((report.appeals, report.unreadable_appeals), (5, 0));
    assert_eq!(snapshot(&repo), before);
}

#[test]
fn r33_an_appeal_stored_under_another_regions_key_is_refused() {
    let (_dir, mut repo) = hub_repo();
    let mut a = TestAppeal::new("AST", 7, NOW_MS);
    let bytes = a.doc.save();
    let err = repo
        .import(&format!("ALA/appeal/{}", a.id), &bytes, None)
        .unwrap_err();
    assert!(err.to_string().contains("stored as"), "{err}");
    assert!(repo.store().scan_keys(b"nat/ap/", 1).unwrap().is_empty());
}

// ------------------------------------------------------------------------------ HTTP

struct TestHub {
    _dir: tempfile::TempDir,
    central: Central,
    app: axum::Router,
    admin: String,
    token: String,
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
        let (admin, token) = hq_duty_session(&app, ADMIN_PASSWORD).await;
        TestHub {
            _dir: dir,
            central,
            app,
            admin,
            token,
        }
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let (s, body) = call(&self.app, method, path, &self.token, body).await;
        (
            s,
            serde_json::from_str(&body).unwrap_or(Value::String(body)),
        )
    }

    fn store(&self, a: &mut TestAppeal) {
        let repo = self.central.state.hub.repo(&a.region);
        let mut repo = repo.lock().unwrap();
        a.store(&mut repo);
    }

    /// The region's node receives what the hub holds of the appeal (HQ's note).
    fn send_back(&self, a: &mut TestAppeal) {
        let repo = self.central.state.hub.repo(&a.region);
        let mut repo = repo.lock().unwrap();
        let bytes = repo.export(&a.doc_id(), &[]).unwrap();
        a.doc.automerge().load_incremental(&bytes).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r33_hq_reads_flagged_appeals_and_its_control_note_merges_with_a_concurrent_region_step() {
    let w = World::new();
    let hub = TestHub::start().await;
    let now = server_kit::clock::now_ms();
    let mut a = TestAppeal::new("AST", 21, now - HOUR_MS);
    a.register(&w, 21, true, now - HOUR_MS);
    hub.store(&mut a);

    let (s, body) = hub.call("GET", "/api/v1/appeals/summary", None).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["totals"]["received"], 1);
    assert_eq!(body["totals"]["crime_signs"], 1);
    assert_eq!(body["totals"]["kui_missing"], 1);
    assert_eq!(body["regions"][0]["region"], "AST");
    assert_eq!(body["regions"][0]["by_status"]["routed"], 1);

    let (s, body) = hub.call("GET", "/api/v1/appeals/crime-signs", None).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body[0]["number"], "AST-2026-000021");
    assert_eq!(body[0]["kui_state"], "pending");
    assert_eq!(body[0]["kui"], Value::Null);
    let (s, body) = hub
        .call(
            "GET",
            "/api/v1/appeals?region=AST&crime_signs=true&limit=5",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body.as_array().unwrap().len(), 1);
    assert!(body[0]["deadline_state"].is_string(), "{body}");
    for bad in [
        "/api/v1/appeals?status=lost",
        "/api/v1/appeals?region=ast",
        "/api/v1/appeals?limit=0",
        "/api/v1/appeals?colour=red",
        "/api/v1/appeals/crime-signs?kui=maybe",
    ] {
        let (s, body) = hub.call("GET", bad, None).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }

    // The full appeal, with the applicant: the read is audited (once within the window).
    let path = format!("/api/v1/appeals/AST/{}", a.id);
    for _ in 0..2 {
        let (s, body) = hub.call("GET", &path, None).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        assert_eq!(body["applicants"][0]["surname"], "Ахметов");
        assert!(body["deadline_state"].is_string(), "{body}");
    }
    // The HQ duty officer reads the whole log (the administrator, account entries only).
    let (s, audit) = call(&hub.app, "GET", "/api/v1/audit?limit=100", &hub.token, None).await;
    assert_eq!(s, StatusCode::OK, "{audit}");
    let audit: Value = serde_json::from_str(&audit).unwrap();
    let reads: Vec<&Value> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "appeal.read")
        .collect();
    assert_eq!(reads.len(), 1, "{audit}");
    assert_eq!(reads[0]["actor"], "hq.duty");
    assert_eq!(reads[0]["target"], format!("AST/{}", a.id));
    let (s, _) = hub
        .call(
            "GET",
            "/api/v1/appeals/AST/00000000-0000-4000-a000-000000000999",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Meanwhile, on the region's node, the manager assigns an officer (not yet replicated).
    a.step(
        &w,
        "manager1",
        AppealCommand::Assign {
            officer: "officer7".into(),
        },
        now,
    );
    let note = "Штаб МВД: взять на контроль, доложить о регистрации в КУИ.";
    let (s, body) = hub
        .call(
            "POST",
            &format!("{path}/notes"),
            Some(json!({ "text": note })),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let last = body["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "appeal.note");
    assert_eq!(last["params"]["text"], note);
    assert_eq!(
        last["by"], "Сейткали Нурлан",
        "signed with the HQ officer's name"
    );
    let (s, body) = hub
        .call(
            "POST",
            &format!("{path}/notes"),
            Some(json!({ "text": "  " })),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    // Both replicas meet: the region's step reaches the hub and HQ's note the region.
    hub.store(&mut a);
    hub.send_back(&mut a);
    let at_region = a.doc.view(None).unwrap();
    let (s, at_hub) = hub.call("GET", &path, None).await;
    assert_eq!(s, StatusCode::OK);
    let actions = |h: &Value| -> Vec<String> {
        h.as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap().to_string())
            .collect()
    };
    let hub_actions = actions(&at_hub["history"]);
    let region_actions: Vec<String> = at_region.history.iter().map(|e| e.action.clone()).collect();
    assert_eq!(hub_actions, region_actions, "one history on both sides");
    assert!(
        hub_actions.contains(&"appeal.note".to_string()),
        "{hub_actions:?}"
    );
    assert!(
        hub_actions.contains(&"appeal.assigned".to_string()),
        "{hub_actions:?}"
    );
    assert_eq!(at_hub["status"], "in_work");
    assert_eq!(at_region.status, AppealStatus::InWork);
    assert_eq!(at_hub["officer"], "officer7");

    // The index follows: in work now, no longer waiting at the service.
    let (_, body) = hub.call("GET", "/api/v1/appeals/summary", None).await;
    assert_eq!(body["totals"]["by_status"]["in_work"], 1, "{body}");
    assert_eq!(body["totals"]["by_status"]["routed"], Value::Null, "{body}");

    // An analyst reads but writes no notes.
    let (s, body) = call(
        &hub.app,
        "POST",
        "/api/v1/accounts",
        &hub.admin,
        Some(json!({"login": "hq.analyst", "full_name": "Аналитик Штаба",
            "password": "Temporary-HQ-Pass-42", "roles": ["hq_analyst"]})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let analyst = activate(&hub.app, "hq.analyst", "Temporary-HQ-Pass-42").await;
    let (s, _) = call(&hub.app, "GET", &path, &analyst, None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = call(
        &hub.app,
        "POST",
        &format!("{path}/notes"),
        &analyst,
        Some(json!({ "text": note })),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}
