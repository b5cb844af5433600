//! The appeal workflow's rules (R11–R16, R27–R30, R33) and its merge rules, on the embedded
//! working-day calendar, with time passed in.

use super::*;
use crate::calendar::embedded_years;
use crate::model::Language;
use crate::reference::day_of_date;
use automerge::ActorId;

const OFFSET_MIN: i32 = 300;

/// ms of a local (UTC+5) date and hour.
fn at(date: &str, hour: i64) -> i64 {
    let num = |r: std::ops::Range<usize>| date[r].parse::<i64>().unwrap();
    day_of_date(num(0..4), num(5..7), num(8..10)) * 86_400_000 + (hour - 5) * 3_600_000
}

fn day(s: &str) -> Day {
    Day::parse(s).unwrap()
}

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
            utc_offset_min: OFFSET_MIN,
        }
    }
}

fn person() -> Applicant {
    Applicant {
        kind: Some(ApplicantKind::Person),
        iin: Some("900101300126".into()),
        surname: Some("Ахметов".into()),
        name: Some("Серік".into()),
        address: Some("Астана, ул. Кенесары, 40, кв. 12".into()),
        phone: Some("+77011234567".into()),
        ..Default::default()
    }
}

fn intake(text: &str) -> AppealIntake {
    AppealIntake {
        channel: AppealChannel::App102Text,
        kind: None,
        language: Language::Ru,
        text: text.into(),
        applicant: Some(person()),
        co_applicants: vec![],
        location: None,
        attachments: vec![],
        anonymous: false,
        card_id: None,
        card_number: None,
    }
}

fn actor(n: u8) -> ActorId {
    ActorId::from(vec![n; 16])
}

fn ctx(by: &str, ms: i64) -> Ctx {
    Ctx::new(by, "AST", ms)
}

fn registration(service: &str) -> Registration {
    Registration {
        kind: AppealKind::Appeal,
        tags: vec!["шум".into()],
        collective: false,
        personal_reception: false,
        anonymous: false,
        crime_signs: false,
        service: service.into(),
        duplicate_of: vec![],
    }
}

fn staff(service: Option<&str>) -> Actor {
    Actor {
        name: Some("Иванова А.".into()),
        service: service.map(str::to_string),
        hq: false,
    }
}

fn new_appeal(_w: &World, received: i64) -> AppealDoc {
    AppealDoc::create(
        actor(1),
        "a1",
        &intake("Соседи шумят каждую ночь"),
        &ctx("citizen", received),
    )
    .unwrap()
}

fn step(
    w: &World,
    d: &mut AppealDoc,
    by: &str,
    service: Option<&str>,
    ms: i64,
    cmd: AppealCommand,
) -> Result<(), DomainError> {
    d.apply(&cmd, &staff(service), &w.env(), &ctx(by, ms))
}

fn register(w: &World, d: &mut AppealDoc, ms: i64) {
    step(
        w,
        d,
        "reg",
        None,
        ms,
        AppealCommand::Register {
            number: "AST-2026-000001".into(),
            registration: registration("local-police"),
        },
    )
    .unwrap();
}

fn draft(decision: Decision) -> AnswerDraft {
    AnswerDraft {
        decision,
        language: Language::Ru,
        paragraphs: vec!["Мною проведена проверка по Вашему обращению.".into()],
        table: None,
        images: vec![],
        competent_body: None,
    }
}

#[test]
fn r11_a_registered_appeal_reaches_the_manager_then_the_officer_and_is_answered() {
    let w = World::new();
    let mut d = new_appeal(&w, at("2026-04-01", 9));
    assert_eq!(d.view(None).unwrap().status, AppealStatus::Received);
    register(&w, &mut d, at("2026-04-01", 10));
    let a = d.view(None).unwrap();
    assert_eq!(a.status, AppealStatus::Routed);
    assert_eq!(a.number.as_deref(), Some("AST-2026-000001"));
    assert_eq!(a.service.as_deref(), Some("local-police"));
    assert_eq!(a.registration_day, Some(day("2026-04-01")));
    // 15 working days: 2, 3, 6–10, 13–17, 20, 21, 22 April (no holiday in between).
    assert_eq!(a.deadline, Some(day("2026-04-22")));
    step(
        &w,
        &mut d,
        "mgr",
        Some("local-police"),
        at("2026-04-01", 11),
        AppealCommand::Assign {
            officer: "off".into(),
        },
    )
    .unwrap();
    assert_eq!(d.view(None).unwrap().status, AppealStatus::InWork);
    step(
        &w,
        &mut d,
        "off",
        Some("local-police"),
        at("2026-04-03", 11),
        AppealCommand::SubmitDraft {
            draft: draft(Decision::Explained),
        },
    )
    .unwrap();
    assert_eq!(d.view(None).unwrap().status, AppealStatus::OnApproval);
    step(
        &w,
        &mut d,
        "mgr",
        Some("local-police"),
        at("2026-04-03", 12),
        AppealCommand::ReturnDraft {
            reason: "уточнить".into(),
        },
    )
    .unwrap();
    assert_eq!(d.view(None).unwrap().status, AppealStatus::InWork);
    step(
        &w,
        &mut d,
        "off",
        Some("local-police"),
        at("2026-04-06", 11),
        AppealCommand::SubmitDraft {
            draft: draft(Decision::Satisfied),
        },
    )
    .unwrap();
    step(
        &w,
        &mut d,
        "mgr",
        Some("local-police"),
        at("2026-04-06", 12),
        AppealCommand::Approve {
            sha256: "ab".repeat(32),
            size: 1000,
        },
    )
    .unwrap();
    let a = d.view(None).unwrap();
    assert_eq!(a.status, AppealStatus::Answered);
    let answer = a.answer.unwrap();
    assert_eq!((answer.seq, answer.decision), (2, Decision::Satisfied));
    assert_eq!(a.drafts[0].state, DraftState::Returned);
    assert_eq!(a.drafts[1].state, DraftState::Approved);
    let actions: Vec<_> = a.history.iter().map(|h| h.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "appeal.registered",
            "appeal.assigned",
            "appeal.draft_submitted",
            "appeal.returned",
            "appeal.draft_submitted",
            "appeal.approved"
        ]
    );
}

#[test]
fn r11_an_appeal_received_during_nauryz_counts_from_the_next_working_day() {
    let w = World::new();
    // Saturday 21 March 2026 (Наурыз; 23 March a holiday, 24–25 moved days off).
    let mut d = new_appeal(&w, at("2026-03-21", 12));
    register(&w, &mut d, at("2026-03-21", 13));
    let a = d.view(None).unwrap();
    assert_eq!(a.registration_day, Some(day("2026-03-26")));
    // 27, 30, 31 March, 1–3, 6–10, 13–16 April.
    assert_eq!(a.deadline, Some(day("2026-04-16")));
}

#[test]
fn r11_a_term_runs_across_the_new_year_holidays() {
    let w = World::new();
    let mut d = new_appeal(&w, at("2025-12-24", 9));
    register(&w, &mut d, at("2025-12-24", 10));
    // 25, 26, 29, 30, 31 Dec; 1–2 Jan holidays; 5, 6 Jan; 7 Jan a holiday; 8, 9, 12–16, 19 Jan.
    assert_eq!(d.view(None).unwrap().deadline, Some(day("2026-01-19")));
}

#[test]
fn r11_a_term_in_a_year_without_a_calendar_is_a_visible_error() {
    let w = World::new();
    let mut d = new_appeal(&w, at("2028-02-01", 9));
    let err = step(
        &w,
        &mut d,
        "reg",
        None,
        at("2028-02-01", 10),
        AppealCommand::Register {
            number: "AST-2028-000001".into(),
            registration: registration("local-police"),
        },
    )
    .unwrap_err();
    assert_eq!(err.code(), "no_calendar_for_year");
    assert_eq!(
        d.view(None).unwrap().status,
        AppealStatus::Received,
        "nothing written"
    );
}

#[test]
fn r11_the_head_extends_up_to_two_months_and_the_applicant_is_told_within_three_working_days() {
    let w = World::new();
    let mut d = new_appeal(&w, at("2026-04-01", 9));
    register(&w, &mut d, at("2026-04-01", 10));
    // 1 April + 2 months = 1 June 2026, a Monday.
    let err = step(
        &w,
        &mut d,
        "head",
        None,
        at("2026-04-10", 10),
        AppealCommand::Extend {
            until: day("2026-06-02"),
            reason: "экспертиза".into(),
        },
    )
    .unwrap_err();
    assert_eq!(err.code(), "extension_too_long");
    let err = step(
        &w,
        &mut d,
        "head",
        None,
        at("2026-04-10", 10),
        AppealCommand::Extend {
            until: day("2026-04-20"),
            reason: "экспертиза".into(),
        },
    )
    .unwrap_err();
    assert_eq!(err.code(), "extension_not_later");
    step(
        &w,
        &mut d,
        "head",
        None,
        at("2026-04-10", 10),
        AppealCommand::Extend {
            until: day("2026-06-01"),
            reason: "экспертиза".into(),
        },
    )
    .unwrap();
    let a = d.view(None).unwrap();
    assert_eq!(a.deadline, Some(day("2026-06-01")));
    // Decision on Friday 10 April: 13, 14, 15 April.
    assert_eq!(a.extensions[0].notice_due, day("2026-04-15"));
    step(
        &w,
        &mut d,
        "head",
        None,
        at("2026-04-13", 10),
        AppealCommand::ExtensionNoticeSent,
    )
    .unwrap();
    assert!(d.view(None).unwrap().extensions[0].notice_sent_at.is_some());
    assert_eq!(
        step(
            &w,
            &mut d,
            "head",
            None,
            at("2026-04-13", 11),
            AppealCommand::ExtensionNoticeSent
        )
        .unwrap_err()
        .code(),
        "no_pending_notice"
    );
}

#[test]
fn r16_the_deadline_is_near_then_overdue() {
    let w = World::new();
    let mut d = new_appeal(&w, at("2026-04-01", 9));
    register(&w, &mut d, at("2026-04-01", 10));
    let state = |today: &str| {
        d.view(Some((&w.calendar, day(today))))
            .unwrap()
            .deadline_state
    };
    assert_eq!(state("2026-04-02"), Some(DeadlineState::Ok));
    assert_eq!(state("2026-04-17"), Some(DeadlineState::Near));
    assert_eq!(state("2026-04-22"), Some(DeadlineState::Near));
    assert_eq!(state("2026-04-23"), Some(DeadlineState::Overdue));
}

#[test]
fn r11_an_anonymous_appeal_is_not_considered_but_an_anonymous_crime_report_goes_at_once() {
    let w = World::new();
    let mut anon = intake("Во дворе дома 5 продают наркотики");
    anon.applicant = None;
    anon.anonymous = true;
    let mut d =
        AppealDoc::create(actor(1), "a2", &anon, &ctx("citizen", at("2026-04-01", 9))).unwrap();
    assert!(suggest::crime_signs(&d.view(None).unwrap().text, &[]));
    let plain = Registration {
        anonymous: true,
        ..registration("local-police")
    };
    let err = step(
        &w,
        &mut d,
        "reg",
        None,
        at("2026-04-01", 10),
        AppealCommand::Register {
            number: "AST-2026-000002".into(),
            registration: plain,
        },
    )
    .unwrap_err();
    assert_eq!(err.code(), "anonymous_not_considered");
    let wrong = Registration {
        anonymous: true,
        crime_signs: true,
        ..registration("local-police")
    };
    let err = step(
        &w,
        &mut d,
        "reg",
        None,
        at("2026-04-01", 10),
        AppealCommand::Register {
            number: "AST-2026-000002".into(),
            registration: wrong,
        },
    )
    .unwrap_err();
    assert_eq!(err.code(), "crime_report_service_required");
    let crime = Registration {
        anonymous: true,
        crime_signs: true,
        ..registration("criminal-police")
    };
    step(
        &w,
        &mut d,
        "reg",
        None,
        at("2026-04-01", 10),
        AppealCommand::Register {
            number: "AST-2026-000002".into(),
            registration: crime,
        },
    )
    .unwrap();
    let a = d.view(None).unwrap();
    assert_eq!(
        (a.status, a.service.as_deref(), a.crime_signs),
        (AppealStatus::Routed, Some("criminal-police"), true)
    );

    let mut quiet = intake("Прошу разобраться с парковкой");
    quiet.applicant = None;
    quiet.anonymous = true;
    let mut d =
        AppealDoc::create(actor(1), "a3", &quiet, &ctx("citizen", at("2026-04-01", 9))).unwrap();
    step(
        &w,
        &mut d,
        "reg",
        None,
        at("2026-04-01", 10),
        AppealCommand::NotConsider {
            reason: "анонимное".into(),
        },
    )
    .unwrap();
    assert_eq!(d.view(None).unwrap().status, AppealStatus::NotConsidered);
    // A signed appeal is never left without consideration.
    let mut d = new_appeal(&w, at("2026-04-01", 9));
    assert_eq!(
        step(
            &w,
            &mut d,
            "reg",
            None,
            at("2026-04-01", 10),
            AppealCommand::NotConsider { reason: "x".into() }
        )
        .unwrap_err()
        .code(),
        "not_anonymous"
    );
}

#[test]
fn r13_an_appeal_outside_the_units_competence_goes_to_the_competent_unit() {
    let w = World::new();
    let mut d = new_appeal(&w, at("2026-04-01", 9));
    register(&w, &mut d, at("2026-04-01", 10));
    step(
        &w,
        &mut d,
        "mgr",
        Some("local-police"),
        at("2026-04-01", 11),
        AppealCommand::Assign {
            officer: "off".into(),
        },
    )
    .unwrap();
    let err = step(
        &w,
        &mut d,
        "mgr",
        Some("local-police"),
        at("2026-04-01", 12),
        AppealCommand::Route {
            service: "nowhere".into(),
            reason: "".into(),
        },
    )
    .unwrap_err();
    assert_eq!(
        (err.code(), err.field_name()),
        ("unknown_service", Some("service"))
    );
    step(
        &w,
        &mut d,
        "mgr",
        Some("local-police"),
        at("2026-04-01", 12),
        AppealCommand::Route {
            service: "migration".into(),
            reason: "паспорт".into(),
        },
    )
    .unwrap();
    let a = d.view(None).unwrap();
    assert_eq!(
        (a.status, a.service.as_deref(), a.officer.as_deref()),
        (AppealStatus::Routed, Some("migration"), None)
    );
    // The former service's manager no longer acts on it.
    let err = step(
        &w,
        &mut d,
        "mgr",
        Some("local-police"),
        at("2026-04-01", 13),
        AppealCommand::Assign {
            officer: "off".into(),
        },
    )
    .unwrap_err();
    assert_eq!(err.code(), "not_your_service");
}

#[test]
fn r14_an_appeal_with_signs_of_a_crime_is_due_in_kui_within_24_hours() {
    let w = World::new();
    let mut d = new_appeal(&w, at("2026-04-01", 9));
    register(&w, &mut d, at("2026-04-01", 10));
    assert_eq!(
        step(
            &w,
            &mut d,
            "mgr",
            None,
            at("2026-04-01", 11),
            AppealCommand::Kui {
                number: "261234567890".into()
            }
        )
        .unwrap_err()
        .code(),
        "no_crime_signs"
    );
    step(
        &w,
        &mut d,
        "mgr",
        None,
        at("2026-04-01", 11),
        AppealCommand::CrimeSigns {
            flag: true,
            reason: "угроза".into(),
        },
    )
    .unwrap();
    let a = d.view(None).unwrap();
    assert_eq!(a.kui_due_at, Some(at("2026-04-02", 10)));
    assert!(a.kui.is_none());
    step(
        &w,
        &mut d,
        "mgr",
        None,
        at("2026-04-01", 15),
        AppealCommand::Kui {
            number: "261234567890".into(),
        },
    )
    .unwrap();
    let a = d.view(None).unwrap();
    assert_eq!(
        a.kui.as_ref().map(|k| k.number.as_str()),
        Some("261234567890")
    );
    assert_eq!(
        step(
            &w,
            &mut d,
            "mgr",
            None,
            at("2026-04-01", 16),
            AppealCommand::CrimeSigns {
                flag: false,
                reason: "x".into()
            }
        )
        .unwrap_err()
        .code(),
        "kui_registered"
    );
}

#[test]
fn r15_an_answer_outside_the_polices_competence_names_the_competent_body() {
    let w = World::new();
    let mut d = new_appeal(&w, at("2026-04-01", 9));
    register(&w, &mut d, at("2026-04-01", 10));
    step(
        &w,
        &mut d,
        "mgr",
        None,
        at("2026-04-01", 11),
        AppealCommand::Assign {
            officer: "off".into(),
        },
    )
    .unwrap();
    let bare = draft(Decision::OutsideCompetence);
    assert_eq!(
        step(
            &w,
            &mut d,
            "off",
            None,
            at("2026-04-02", 11),
            AppealCommand::SubmitDraft {
                draft: bare.clone()
            }
        )
        .unwrap_err()
        .code(),
        "competent_body_required"
    );
    let unknown = AnswerDraft {
        competent_body: Some("mars".into()),
        ..bare.clone()
    };
    assert_eq!(
        step(
            &w,
            &mut d,
            "off",
            None,
            at("2026-04-02", 11),
            AppealCommand::SubmitDraft { draft: unknown }
        )
        .unwrap_err()
        .code(),
        "unknown_body"
    );
    let named = AnswerDraft {
        competent_body: Some("akimat".into()),
        ..bare
    };
    step(
        &w,
        &mut d,
        "off",
        None,
        at("2026-04-02", 11),
        AppealCommand::SubmitDraft { draft: named },
    )
    .unwrap();
    assert_eq!(
        d.view(None).unwrap().drafts[0]
            .draft
            .competent_body
            .as_deref(),
        Some("akimat")
    );
}

#[test]
fn r29_parts_outside_competence_go_on_under_the_main_number_with_a_slash() {
    let w = World::new();
    let mut d = new_appeal(&w, at("2026-04-01", 9));
    register(&w, &mut d, at("2026-04-01", 10));
    let parts = vec![PartInput {
        question: "Не вывозят мусор".into(),
        body: "akimat".into(),
    }];
    step(
        &w,
        &mut d,
        "mgr",
        None,
        at("2026-04-01", 11),
        AppealCommand::Split { parts },
    )
    .unwrap();
    let parts = vec![PartInput {
        question: "Нет отопления".into(),
        body: "housing".into(),
    }];
    step(
        &w,
        &mut d,
        "mgr",
        None,
        at("2026-04-02", 11),
        AppealCommand::Split { parts },
    )
    .unwrap();
    let a = d.view(None).unwrap();
    let numbers: Vec<_> = a.parts.iter().map(|p| p.number.as_str()).collect();
    assert_eq!(numbers, ["AST-2026-000001/1", "AST-2026-000001/2"]);
    // Sent on within 3 working days: 1 April → 6 April.
    assert_eq!(a.parts[0].due, day("2026-04-06"));
    assert_eq!(
        a.status,
        AppealStatus::Routed,
        "the main question stays with the police"
    );
    let bad = vec![PartInput {
        question: "x".into(),
        body: "nowhere".into(),
    }];
    assert_eq!(
        step(
            &w,
            &mut d,
            "mgr",
            None,
            at("2026-04-02", 12),
            AppealCommand::Split { parts: bad }
        )
        .unwrap_err()
        .code(),
        "unknown_body"
    );
}

#[test]
fn r30_a_transfer_is_due_in_3_working_days_of_receipt_and_can_be_cancelled_for_1_working_day() {
    let w = World::new();
    // Received Thursday 2 April 2026.
    let mut d = new_appeal(&w, at("2026-04-02", 9));
    step(
        &w,
        &mut d,
        "reg",
        None,
        at("2026-04-03", 10),
        AppealCommand::Transfer {
            system: "ИС «Е-өтініш»".into(),
            reason: "рекламное предложение".into(),
        },
    )
    .unwrap();
    let a = d.view(None).unwrap();
    assert_eq!(a.status, AppealStatus::Transferred);
    let t = a.transfer.unwrap();
    assert_eq!(t.due, day("2026-04-07"));
    assert!(!t.late);
    // Decided on Friday 3 April: cancellable until the end of Monday 6 April.
    assert_eq!(t.cancel_until, day("2026-04-06"));
    let mut late = d.fork(actor(2));
    assert_eq!(
        step(
            &w,
            &mut late,
            "reg",
            None,
            at("2026-04-07", 9),
            AppealCommand::CancelTransfer {
                reason: "ошибка".into()
            }
        )
        .unwrap_err()
        .code(),
        "transfer_cancel_window_closed"
    );
    step(
        &w,
        &mut d,
        "reg",
        None,
        at("2026-04-06", 17),
        AppealCommand::CancelTransfer {
            reason: "ошибка".into(),
        },
    )
    .unwrap();
    assert_eq!(d.view(None).unwrap().status, AppealStatus::Received);
    // The review term then runs from registration, not from receipt.
    register(&w, &mut d, at("2026-04-07", 10));
    let a = d.view(None).unwrap();
    assert_eq!(a.registration_day, Some(day("2026-04-07")));
    assert_eq!(a.deadline, Some(day("2026-04-28")));
}

#[test]
fn r27_collective_and_personal_reception_appeals_carry_their_codes() {
    let w = World::new();
    let mut i = intake("Жители дома просят принять их на личном приёме");
    i.co_applicants = vec![Applicant {
        surname: Some("Петрова".into()),
        name: Some("Анна".into()),
        ..Default::default()
    }];
    let mut d =
        AppealDoc::create(actor(1), "a4", &i, &ctx("citizen", at("2026-04-01", 9))).unwrap();
    let r = Registration {
        collective: true,
        personal_reception: true,
        ..registration("local-police")
    };
    step(
        &w,
        &mut d,
        "reg",
        None,
        at("2026-04-01", 10),
        AppealCommand::Register {
            number: "AST-2026-000004".into(),
            registration: r,
        },
    )
    .unwrap();
    let a = d.view(None).unwrap();
    assert_eq!(a.codes, ["ҰЖ", "ЖҚ"]);
    assert_eq!(a.applicants.len(), 2);
}

#[test]
fn r28_a_duplicate_is_still_registered_with_its_link() {
    let w = World::new();
    let mut d = new_appeal(&w, at("2026-04-01", 9));
    let r = Registration {
        duplicate_of: vec![DuplicateLink {
            region: "ALA".into(),
            number: "ALA-2026-000777".into(),
        }],
        ..registration("local-police")
    };
    step(
        &w,
        &mut d,
        "reg",
        None,
        at("2026-04-01", 10),
        AppealCommand::Register {
            number: "AST-2026-000001".into(),
            registration: r,
        },
    )
    .unwrap();
    let a = d.view(None).unwrap();
    assert_eq!(a.status, AppealStatus::Routed);
    assert_eq!(a.duplicate_of[0].number, "ALA-2026-000777");
}

fn late(region: &str, id: &str, number: &str) -> LateDuplicate {
    LateDuplicate {
        region: region.into(),
        id: id.into(),
        number: Some(number.into()),
        received_at: at("2026-03-20", 9),
        registered_at: Some(at("2026-03-20", 10)),
        similarity: 0.62,
        reasons: vec!["same_iin".into(), "similar_text".into()],
        found_at: 0,
    }
}

#[test]
fn r38_a_late_found_duplicate_is_appended_for_the_registrar_and_the_manager() {
    let w = World::new();
    let mut d = new_appeal(&w, at("2026-04-01", 9));
    register(&w, &mut d, at("2026-04-01", 10));
    let found = at("2026-04-01", 15);
    step(
        &w,
        &mut d,
        "system",
        None,
        found,
        AppealCommand::LateDuplicate {
            candidates: vec![late("ALA", "b1", "ALA-2026-000777")],
        },
    )
    .unwrap();
    let a = d.view(None).unwrap();
    assert_eq!(a.status, AppealStatus::Routed, "the workflow goes on (R28)");
    assert_eq!(a.late_duplicates.len(), 1);
    assert_eq!(
        a.late_duplicates[0].number.as_deref(),
        Some("ALA-2026-000777")
    );
    assert_eq!(a.late_duplicates[0].found_at, found);
    let h = a.history.last().unwrap();
    assert_eq!(h.action, "appeal.late_duplicate");
    assert_eq!(h.params["candidates"][0]["region"], "ALA");
    // The same candidate again changes nothing; a new one is added; bad input writes nothing.
    let again = step(
        &w,
        &mut d,
        "system",
        None,
        found + 1,
        AppealCommand::LateDuplicate {
            candidates: vec![late("ALA", "b1", "ALA-2026-000777")],
        },
    );
    assert_eq!(again.unwrap_err().code(), "no_change");
    for bad in [
        vec![],
        vec![LateDuplicate {
            similarity: f32::NAN,
            ..late("KRG", "c1", "KRG-2026-000001")
        }],
        vec![late("krg", "c1", "KRG-2026-000001")],
    ] {
        assert!(step(
            &w,
            &mut d,
            "system",
            None,
            found + 2,
            AppealCommand::LateDuplicate { candidates: bad }
        )
        .is_err());
    }
    assert_eq!(d.view(None).unwrap().history.len(), a.history.len());
    // Concurrent re-checks on two replicas record each candidate once.
    let v = concurrent(
        &w,
        &mut d,
        |l| {
            step(
                &w,
                l,
                "system",
                None,
                found + 3,
                AppealCommand::LateDuplicate {
                    candidates: vec![late("KRG", "c1", "KRG-2026-000001")],
                },
            )
            .unwrap()
        },
        |r| {
            step(
                &w,
                r,
                "system",
                None,
                found + 4,
                AppealCommand::LateDuplicate {
                    candidates: vec![
                        late("KRG", "c1", "KRG-2026-000001"),
                        late("SHY", "d1", "SHY-2026-000009"),
                    ],
                },
            )
            .unwrap()
        },
    );
    let ids: Vec<&str> = v.late_duplicates.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids.len(), 3, "{ids:?}");
    assert!(ids.contains(&"c1") && ids.contains(&"d1") && ids.contains(&"b1"));
}

#[test]
fn steps_out_of_order_or_by_the_wrong_person_are_refused_and_write_nothing() {
    let w = World::new();
    let mut d = new_appeal(&w, at("2026-04-01", 9));
    let heads = d.heads();
    assert_eq!(
        step(
            &w,
            &mut d,
            "off",
            None,
            at("2026-04-01", 10),
            AppealCommand::SubmitDraft {
                draft: draft(Decision::Explained)
            }
        )
        .unwrap_err()
        .code(),
        "transition_not_allowed"
    );
    assert_eq!(d.heads(), heads);
    register(&w, &mut d, at("2026-04-01", 10));
    assert_eq!(
        step(
            &w,
            &mut d,
            "off",
            None,
            at("2026-04-01", 10),
            AppealCommand::SubmitDraft {
                draft: draft(Decision::Explained)
            }
        )
        .unwrap_err()
        .code(),
        "transition_not_allowed"
    );
    step(
        &w,
        &mut d,
        "mgr",
        None,
        at("2026-04-01", 11),
        AppealCommand::Assign {
            officer: "off".into(),
        },
    )
    .unwrap();
    assert_eq!(
        step(
            &w,
            &mut d,
            "other",
            None,
            at("2026-04-01", 12),
            AppealCommand::SubmitDraft {
                draft: draft(Decision::Explained)
            }
        )
        .unwrap_err()
        .code(),
        "not_assigned_to_you"
    );
    assert_eq!(
        step(
            &w,
            &mut d,
            "mgr",
            None,
            at("2026-04-01", 12),
            AppealCommand::Approve {
                sha256: "ab".repeat(32),
                size: 1
            }
        )
        .unwrap_err()
        .code(),
        "transition_not_allowed"
    );
    let hq = Actor {
        hq: true,
        ..Actor::default()
    };
    let err = d
        .apply(
            &AppealCommand::Assign {
                officer: "x".into(),
            },
            &hq,
            &w.env(),
            &ctx("hq", at("2026-04-01", 12)),
        )
        .unwrap_err();
    assert_eq!(err.code(), "hq_notes_only");
}

#[test]
fn bad_intake_is_refused_with_the_field() {
    let mut i = intake("текст");
    i.applicant.as_mut().unwrap().iin = Some("900101300125".into());
    let err = AppealDoc::create(actor(1), "x", &i, &ctx("c", 0)).unwrap_err();
    assert_eq!(
        (err.code(), err.field_name()),
        ("invalid_iin", Some("applicant.iin"))
    );
    let i = intake(&"а".repeat(limits::TEXT_CHARS_MAX + 1));
    assert_eq!(
        AppealDoc::create(actor(1), "x", &i, &ctx("c", 0))
            .unwrap_err()
            .code(),
        "text_too_long"
    );
    let i = intake("   ");
    assert_eq!(
        AppealDoc::create(actor(1), "x", &i, &ctx("c", 0))
            .unwrap_err()
            .field_name(),
        Some("text")
    );
    assert!(iin_is_valid("900101300126"));
    assert!(!iin_is_valid("90010130012"));
    assert!(!iin_is_valid("90010130012a"));
}

/// Applies `a` on one replica and `b` on another, then merges both ways: both replicas read the
/// same view, in either order of merging.
fn concurrent(
    w: &World,
    base: &mut AppealDoc,
    a: impl FnOnce(&mut AppealDoc),
    b: impl FnOnce(&mut AppealDoc),
) -> Appeal {
    let mut left = base.fork(actor(10));
    let mut right = base.fork(actor(11));
    a(&mut left);
    b(&mut right);
    let mut l2 = left.fork(actor(12));
    let mut r2 = right.fork(actor(13));
    left.merge(&mut r2).unwrap();
    right.merge(&mut l2).unwrap();
    let (vl, vr) = (
        left.view(Some((&w.calendar, day("2026-04-02")))).unwrap(),
        right.view(Some((&w.calendar, day("2026-04-02")))).unwrap(),
    );
    assert_eq!(vl, vr, "both orders of merging give one view");
    vl
}

#[test]
fn a_manager_reassigning_on_the_node_and_an_hq_note_both_survive() {
    let w = World::new();
    let mut d = new_appeal(&w, at("2026-04-01", 9));
    register(&w, &mut d, at("2026-04-01", 10));
    step(
        &w,
        &mut d,
        "mgr",
        None,
        at("2026-04-01", 11),
        AppealCommand::Assign {
            officer: "off1".into(),
        },
    )
    .unwrap();
    let v = concurrent(
        &w,
        &mut d,
        |l| {
            step(
                &w,
                l,
                "mgr",
                None,
                at("2026-04-01", 12),
                AppealCommand::Assign {
                    officer: "off2".into(),
                },
            )
            .unwrap()
        },
        |r| {
            r.apply(
                &AppealCommand::Note {
                    text: "На контроле ДЦОУ МВД".into(),
                },
                &Actor {
                    hq: true,
                    ..Actor::default()
                },
                &w.env(),
                &Ctx::new("hq1", "central", at("2026-04-01", 12)),
            )
            .unwrap()
        },
    );
    assert_eq!(v.officer.as_deref(), Some("off2"));
    assert!(v
        .history
        .iter()
        .any(|h| h.action == "appeal.note" && h.writer == "hq1@central"));
}

#[test]
fn an_answer_sent_on_one_replica_wins_over_a_concurrent_reassignment() {
    let w = World::new();
    let mut d = new_appeal(&w, at("2026-04-01", 9));
    register(&w, &mut d, at("2026-04-01", 10));
    step(
        &w,
        &mut d,
        "mgr",
        None,
        at("2026-04-01", 11),
        AppealCommand::Assign {
            officer: "off".into(),
        },
    )
    .unwrap();
    step(
        &w,
        &mut d,
        "off",
        None,
        at("2026-04-01", 12),
        AppealCommand::SubmitDraft {
            draft: draft(Decision::Explained),
        },
    )
    .unwrap();
    let v = concurrent(
        &w,
        &mut d,
        |l| {
            step(
                &w,
                l,
                "mgr",
                None,
                at("2026-04-01", 13),
                AppealCommand::Approve {
                    sha256: "cd".repeat(32),
                    size: 10,
                },
            )
            .unwrap()
        },
        |r| {
            step(
                &w,
                r,
                "head",
                None,
                at("2026-04-01", 13),
                AppealCommand::Extend {
                    until: day("2026-05-29"),
                    reason: "проверка".into(),
                },
            )
            .unwrap()
        },
    );
    assert_eq!(v.status, AppealStatus::Answered);
    assert_eq!(v.extensions.len(), 1);
    assert_eq!(
        v.deadline_state, None,
        "an answered appeal has no running term"
    );
}

#[test]
fn concurrent_extensions_keep_the_later_date_and_both_records() {
    let w = World::new();
    let mut d = new_appeal(&w, at("2026-04-01", 9));
    register(&w, &mut d, at("2026-04-01", 10));
    let v = concurrent(
        &w,
        &mut d,
        |l| {
            step(
                &w,
                l,
                "head1",
                None,
                at("2026-04-02", 10),
                AppealCommand::Extend {
                    until: day("2026-05-20"),
                    reason: "a".into(),
                },
            )
            .unwrap()
        },
        |r| {
            step(
                &w,
                r,
                "head2",
                None,
                at("2026-04-02", 10),
                AppealCommand::Extend {
                    until: day("2026-05-12"),
                    reason: "b".into(),
                },
            )
            .unwrap()
        },
    );
    assert_eq!(v.deadline, Some(day("2026-05-20")));
    assert_eq!(v.extensions.len(), 2);
}

#[test]
fn an_appeal_round_trips_through_its_bytes() {
    let w = World::new();
    let mut d = new_appeal(&w, at("2026-04-01", 9));
    register(&w, &mut d, at("2026-04-01", 10));
    let bytes = d.save();
    let back = AppealDoc::load([bytes.as_slice()]).unwrap();
    assert_eq!(back.view(None).unwrap(), d.view(None).unwrap());
}

#[test]
fn r11_the_suggested_service_follows_competence_and_crime_signs() {
    let w = World::new();
    let r = &w.reference;
    assert_eq!(
        suggest::service(r, "Соседи шумят по ночам", &[]).as_deref(),
        Some("local-police")
    );
    assert_eq!(
        suggest::service(r, "У меня украли телефон в автобусе", &[]).as_deref(),
        Some("criminal-police")
    );
    assert_eq!(
        suggest::service(r, "Прошу заменить паспорт", &[]).as_deref(),
        Some("migration")
    );
    assert!(suggest::crime_signs("Менің телефонымды ұрлап кетті", &[]));
    assert!(!suggest::crime_signs(
        "Прошу разъяснить порядок получения справки",
        &[]
    ));
    assert_eq!(
        suggest::outside_body(r, "Во дворе не вывозят мусор", &[]).as_deref(),
        Some("akimat")
    );
}

#[test]
fn every_code_is_the_same_in_json_and_as_str() {
    fn same<T: serde::Serialize + Copy>(all: &[T], as_str: impl Fn(T) -> &'static str) {
        for v in all {
            assert_eq!(serde_json::to_value(v).unwrap(), as_str(*v));
        }
    }
    same(AppealKind::ALL, AppealKind::as_str);
    same(AppealChannel::ALL, AppealChannel::as_str);
    same(AppealStatus::ALL, AppealStatus::as_str);
    same(Decision::ALL, Decision::as_str);
    same(ApplicantKind::ALL, ApplicantKind::as_str);
    same(DraftState::ALL, DraftState::as_str);
}
