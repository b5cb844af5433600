//! R31 and R39: the cards derived from an appeal's view, on the embedded calendar, time passed in.

use automerge::ActorId;

use super::register::{address_mismatches, parse_answer};
use super::*;
use crate::appeal::*;
use crate::calendar::{embedded_years, WorkCalendar};
use crate::doc::Ctx;
use crate::model::Language;
use crate::reference::day_of_date;

/// ms of a local (UTC+5) date and hour.
fn at(date: &str, hour: i64) -> i64 {
    let num = |r: std::ops::Range<usize>| date[r].parse::<i64>().unwrap();
    day_of_date(num(0..4), num(5..7), num(8..10)) * 86_400_000 + (hour - 5) * 3_600_000
}

struct World {
    reference: Reference,
    calendar: WorkCalendar,
    doc: AppealDoc,
}

impl World {
    fn new() -> World {
        let intake = AppealIntake {
            channel: AppealChannel::App102Text,
            kind: None,
            language: Language::Ru,
            text: "Соседи шумят каждую ночь".into(),
            applicant: Some(Applicant {
                kind: Some(ApplicantKind::Person),
                iin: Some("900101300126".into()),
                surname: Some("Ахметов".into()),
                name: Some("Серік".into()),
                address: Some("г. Астана, ул. Кенесары, 40, кв. 12".into()),
                ..Default::default()
            }),
            co_applicants: vec![],
            location: None,
            attachments: vec![],
            anonymous: false,
            card_id: None,
            card_number: None,
        };
        let doc = AppealDoc::create(
            ActorId::from(vec![1; 16]),
            "a1",
            &intake,
            &Ctx::new("citizen", "AST", at("2026-04-01", 9)),
        )
        .unwrap();
        World {
            reference: Reference::demo(),
            calendar: WorkCalendar::new(&embedded_years().unwrap()).unwrap(),
            doc,
        }
    }

    fn step(&mut self, by: &str, ms: i64, cmd: AppealCommand) -> Result<(), crate::DomainError> {
        let env = Env {
            reference: &self.reference,
            calendar: &self.calendar,
            utc_offset_min: 300,
        };
        let actor = Actor {
            name: Some("Иванова А.".into()),
            service: Some("local-police".into()),
            hq: false,
        };
        self.doc.apply(&cmd, &actor, &env, &Ctx::new(by, "AST", ms))
    }

    fn register(&mut self) {
        self.step(
            "reg",
            at("2026-04-01", 10),
            AppealCommand::Register {
                number: "AST-2026-000001".into(),
                registration: Registration {
                    kind: AppealKind::Appeal,
                    tags: vec!["шум".into()],
                    collective: false,
                    personal_reception: false,
                    anonymous: false,
                    crime_signs: false,
                    service: "local-police".into(),
                    duplicate_of: vec![],
                },
            },
        )
        .unwrap();
    }

    fn forms(&self, registers: &[RegisterState]) -> AppealForms {
        let a = self.doc.view(None).unwrap();
        AppealForms::derive(&a, &self.reference, registers)
    }
}

fn value(f: &Form, n: u32) -> Option<String> {
    f.field(n)
        .and_then(|x| x.value.as_ref())
        .map(|v| v.text.clone())
}

fn code(f: &Form, n: u32) -> Option<String> {
    f.field(n)
        .and_then(|x| x.value.as_ref())
        .and_then(|v| v.code.clone())
}

#[test]
fn r31_ol1_automatic_fields_are_filled_at_registration() {
    let mut w = World::new();
    let before = w.forms(&[]);
    assert!(before.ol1.is_none(), "no cards before registration");
    assert!(before.entries.is_empty());
    w.register();
    let forms = w.forms(&[]);
    let ol1 = forms.ol1.as_ref().unwrap();
    let numbers: Vec<u32> = ol1.fields.iter().map(|f| f.number).collect();
    assert_eq!(
        numbers,
        [1, 2, 3, 5, 8, 9, 10, 13],
        "the fields p.23 and p.4 name"
    );
    assert_eq!(value(ol1, 1).as_deref(), Some("AST-2026-000001"));
    assert_eq!(value(ol1, 2).as_deref(), Some("2026-04-01 10:00"));
    assert_eq!(value(ol1, 3).as_deref(), Some("Иванова А. (reg)"));
    assert_eq!(value(ol1, 5).as_deref(), Some("2026-04-01 09:00"));
    assert_eq!(code(ol1, 8).as_deref(), Some("appeal"));
    assert_eq!(code(ol1, 9).as_deref(), Some("appeal"), "9 follows 8");
    let f10 = ol1.field(10).unwrap().value.as_ref().unwrap();
    assert_eq!(f10.ru.as_deref(), Some(w.reference.region.name_ru.as_str()));
    assert_eq!(f10.kk.as_deref(), Some(w.reference.region.name_kk.as_str()));
    // 15 working days of 1 April 2026.
    assert_eq!(value(ol1, 13).as_deref(), Some("2026-04-22"));
    for n in [1, 2, 3, 5, 9, 10, 13] {
        assert!(ol1.field(n).unwrap().auto, "field {n} is automatic (p.23)");
    }
    let f8 = ol1.field(8).unwrap();
    assert!(!f8.auto);
    assert_eq!(f8.name_ru.as_deref(), Some("Вид документа"));
    assert_eq!(f8.name_source, "004 p.4");
    assert_eq!(ol1.field(1).unwrap().name_ru, None);
    assert_eq!(ol1.field(1).unwrap().name_source, FIELD_NAME_NOT_IN_SEEDS);
    assert!(!ol1.layout_complete, "the seeds do not give ОЛ-1 in full");
    assert_eq!(ol1.layout_source, LAYOUT_NOT_IN_SEEDS);
    assert_eq!(ol1.check(), Ok(()));
    assert!(forms.ol2.is_empty(), "no decision yet");
}

#[test]
fn r31_ol1_field_8_is_edited_with_a_tag_and_field_9_follows() {
    let mut w = World::new();
    let t = at("2026-04-01", 11);
    let fix = |kind, tag: &str| AppealCommand::CorrectKind {
        kind,
        tag: tag.into(),
    };
    let e = w
        .step("reg", t, fix(AppealKind::Proposal, "тег"))
        .unwrap_err();
    assert!(
        e.to_string().contains("registration") || e.to_string().contains("correction"),
        "{e}"
    );
    w.register();
    let e = w
        .step("reg", t, fix(AppealKind::Appeal, "тег"))
        .unwrap_err();
    assert!(e.to_string().contains("already"), "{e}");
    let e = w
        .step("reg", t, fix(AppealKind::Proposal, "  "))
        .unwrap_err();
    assert!(e.to_string().contains("tag"), "{e}");
    assert_eq!(w.forms(&[]).entries.len(), 1, "refused steps write nothing");
    w.step("reg", t, fix(AppealKind::Proposal, "благоустройство"))
        .unwrap();
    let forms = w.forms(&[]);
    let ol1 = forms.ol1.as_ref().unwrap();
    let f8 = ol1.field(8).unwrap();
    assert_eq!(code(ol1, 8).as_deref(), Some("proposal"));
    assert_eq!(
        f8.value.as_ref().unwrap().ru.as_deref(),
        Some("предложение")
    );
    assert_eq!(f8.tag.as_deref(), Some("благоустройство"));
    assert_eq!(
        code(ol1, 9).as_deref(),
        Some("proposal"),
        "9 follows the edited 8"
    );
    let last = forms.entries.last().unwrap();
    assert_eq!(
        (last.form, last.fields.clone()),
        (FormKind::Ol1, vec![8, 9])
    );
    let a = w.doc.view(None).unwrap();
    assert!(a.tags.iter().any(|t| t == "благоустройство"));
}

fn decide(w: &mut World) {
    w.step(
        "head",
        at("2026-04-02", 10),
        AppealCommand::Extend {
            until: crate::calendar::Day::parse("2026-05-20").unwrap(),
            reason: "нужна проверка".into(),
        },
    )
    .unwrap();
    w.step(
        "mgr",
        at("2026-04-02", 11),
        AppealCommand::Assign {
            officer: "off".into(),
        },
    )
    .unwrap();
    w.step(
        "off",
        at("2026-04-03", 11),
        AppealCommand::SubmitDraft {
            draft: AnswerDraft {
                decision: Decision::Satisfied,
                language: Language::Ru,
                paragraphs: vec!["Мною проведена проверка.".into()],
                table: None,
                images: vec![],
                competent_body: None,
            },
        },
    )
    .unwrap();
    w.step(
        "mgr",
        at("2026-04-03", 12),
        AppealCommand::Approve {
            sha256: "ab".repeat(32),
            size: 1000,
        },
    )
    .unwrap();
}

#[test]
fn r31_ol2_one_per_decision_with_fields_1_to_3_from_ol1() {
    let mut w = World::new();
    w.register();
    decide(&mut w);
    let forms = w.forms(&[]);
    let ol1 = forms.ol1.as_ref().unwrap();
    assert_eq!(forms.ol2.len(), 2, "the extension and the answer");
    for (i, ol2) in forms.ol2.iter().enumerate() {
        assert_eq!(ol2.seq, i as u32 + 1);
        for n in [1, 2, 3] {
            assert_eq!(value(ol2, n), value(ol1, n), "ОЛ-2 field {n} is ОЛ-1's");
            assert_eq!(ol2.field(n).unwrap().source, format!("ОЛ-1 field {n}"));
            assert!(ol2.field(n).unwrap().auto);
        }
        assert_eq!(ol2.check(), Ok(()));
    }
    assert_eq!(code(&forms.ol2[0], 4).as_deref(), Some("extended"));
    assert_eq!(
        value(&forms.ol2[0], 4).as_deref(),
        Some("продление срока рассмотрения: 2026-05-20")
    );
    assert_eq!(code(&forms.ol2[1], 4).as_deref(), Some("satisfied"));
    assert_eq!(
        value(ol1, 13).as_deref(),
        Some("2026-05-20"),
        "13 follows the term"
    );
}

#[test]
fn r39_every_step_of_the_log_has_a_form_entry() {
    let mut w = World::new();
    w.register();
    decide(&mut w);
    let a = w.doc.view(None).unwrap();
    let forms = w.forms(&[]);
    assert_eq!(forms.entries.len(), a.history.len());
    let seen: Vec<(String, FormKind, u32)> = forms
        .entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
            assert_eq!(e.step, i);
            assert_eq!((e.at, &e.by), (a.history[i].at, &a.history[i].by));
            (e.action.clone(), e.form, e.form_seq)
        })
        .collect();
    let expect = |s: &str, f, n| (s.to_string(), f, n);
    assert_eq!(
        seen,
        [
            expect("appeal.registered", FormKind::Ol1, 1),
            expect("appeal.extended", FormKind::Ol2, 1),
            expect("appeal.assigned", FormKind::Ol1, 1),
            expect("appeal.draft_submitted", FormKind::Ol1, 1),
            expect("appeal.approved", FormKind::Ol2, 2),
        ]
    );
    assert_eq!(forms.entries[0].fields, [1, 2, 3, 5, 8, 9, 10, 13]);
}

fn answer(json: &str) -> RegisterAnswer {
    parse_answer(json.as_bytes()).unwrap()
}

#[test]
fn r31_z1_takes_1_2_from_ol1_and_the_rest_from_the_register() {
    let mut w = World::new();
    w.register();
    // No register connected: the automatic fields are missing, and the check names the first.
    let forms = w.forms(&[]);
    assert_eq!(forms.register, RegisterState::NotConfigured);
    let z1 = &forms.z1[0];
    assert_eq!(z1.fields.len(), 26);
    assert_eq!(value(z1, 1).as_deref(), Some("AST-2026-000001"));
    assert_eq!(value(z1, 4).as_deref(), Some("900101300126"));
    assert_eq!(
        z1.field(3).unwrap().source,
        "manual (no register interface)"
    );
    let e = z1.check().unwrap_err();
    assert_eq!((e.form, e.seq, e.field), ("З-1", 1, 3));
    assert_eq!(z1.missing, super::register::Z1_REGISTER_FIELDS);
    assert!(forms.check().is_err());

    let mut fields = serde_json::Map::new();
    for n in super::register::Z1_REGISTER_FIELDS {
        fields.insert(n.to_string(), format!("v{n}").into());
    }
    fields.insert("12".into(), "Астана".into());
    fields.insert("13".into(), "Кенесары".into());
    fields.insert("14".into(), "40".into());
    let body = serde_json::json!({ "fields": fields }).to_string();
    let found = RegisterState::Found {
        answer: answer(&body),
        fetched_at: at("2026-03-01", 9),
        cached: true,
    };
    let forms = w.forms(&[found]);
    let z1 = &forms.z1[0];
    assert_eq!(z1.check(), Ok(()));
    assert_eq!(value(z1, 3).as_deref(), Some("v3"));
    assert_eq!(value(z1, 19), None, "19 is not an automatic field");
    assert!(!z1.field(19).unwrap().required);
    assert_eq!(z1.field(3).unwrap().source, "register (offline cache)");
    // 12–14 are in the postal address; 15–18 («v15»…) are not: to be brought in line.
    let flagged: Vec<u32> = z1.checks.iter().map(|c| c.field).collect();
    assert_eq!(flagged, [15, 16, 17, 18]);
    assert_eq!(z1.checks[0].code, "forms.address_mismatch");
}

#[test]
fn r31_z1_address_check_compares_words() {
    let a = answer(r#"{"fields": {"12": "АСТАНА", "13": "ул. Кенесары", "14": "4"}}"#);
    let postal = Some("г. Астана, ул. Кенесары, 40, кв. 12");
    let flagged: Vec<u32> = address_mismatches(&a, postal)
        .iter()
        .map(|c| c.field)
        .collect();
    assert_eq!(flagged, [14], "«4» is not «40»");
    assert!(
        address_mismatches(&a, None).is_empty(),
        "nothing to compare"
    );
}

#[test]
fn r31_register_answers_are_checked() {
    for (body, expect) in [
        ("not json", "expected"),
        (r#"{"fields": {"4": "x"}}"#, "not a З-1 field"),
        (r#"{"fields": {"19": "x"}}"#, "not a З-1 field"),
        (r#"{"fields": {"abc": "x"}}"#, "not a З-1 field"),
        (r#"{"fields": {"3": 5}}"#, "invalid type"),
    ] {
        let e = parse_answer(body.as_bytes()).unwrap_err();
        assert!(e.contains(expect), "{body}: {e}");
    }
    let long = format!(r#"{{"fields": {{"3": "{}"}}}}"#, "я".repeat(501));
    assert!(parse_answer(long.as_bytes()).unwrap_err().contains("500"));
    let big = vec![b' '; super::register::REGISTER_ANSWER_BYTES_MAX + 1];
    assert!(parse_answer(&big).unwrap_err().contains("bytes"));
    assert!(answer(r#"{"fields": {"3": "  "}}"#).fields.is_empty());
}

#[test]
fn r31_exports_write_every_field_and_mark_the_layout() {
    let mut w = World::new();
    w.register();
    decide(&mut w);
    let forms = w.forms(&[RegisterState::NoIdentityNumber]);
    let csv = String::from_utf8(export::csv(&forms).unwrap()).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next().unwrap(), export::CSV_COLUMNS.join(","));
    let fields: usize = forms.all().map(|f| f.fields.len()).sum();
    assert_eq!(lines.count(), fields, "one row per field");
    assert!(csv.contains("ОЛ-2,2,false,not in the seeds,4,"), "{csv}");
    let xlsx = export::xlsx(&forms).unwrap();
    assert!(xlsx.starts_with(b"PK"));
}

#[test]
fn r31_z1_is_filled_by_hand_and_brought_in_line_with_the_postal_address() {
    let mut w = World::new();
    let t = at("2026-04-01", 11);
    let fill = |applicant, fields: &[(u32, &str)]| AppealCommand::FillZ1 {
        applicant,
        fields: fields.iter().map(|(n, v)| (*n, v.to_string())).collect(),
    };
    assert!(
        w.step("reg", t, fill(0, &[(3, "x")])).is_err(),
        "not before registration"
    );
    w.register();
    for (cmd, expect) in [
        (fill(0, &[(4, "x")]), "not filled by hand"),
        (fill(0, &[(1, "x")]), "not filled by hand"),
        (fill(0, &[(27, "x")]), "not filled by hand"),
        (fill(1, &[(3, "x")]), "no such applicant"),
        (fill(0, &[]), "no field"),
        (fill(0, &[(3, &"я".repeat(501))]), "500"),
    ] {
        let e = w.step("reg", t, cmd).unwrap_err().to_string();
        assert!(e.contains(expect), "{e}");
    }
    // No register: every automatic field typed by hand passes the check.
    let mut all: Vec<(u32, String)> = super::register::Z1_REGISTER_FIELDS
        .iter()
        .map(|n| (*n, format!("m{n}")))
        .collect();
    all.retain(|(n, _)| *n != 12);
    all.push((12, "Астана".into()));
    let refs: Vec<(u32, &str)> = all.iter().map(|(n, v)| (*n, v.as_str())).collect();
    w.step("reg", t, fill(0, &refs)).unwrap();
    let forms = w.forms(&[]);
    let z1 = &forms.z1[0];
    assert_eq!(z1.check(), Ok(()));
    assert_eq!(z1.field(12).unwrap().source, "manual");
    let flagged: Vec<u32> = z1.checks.iter().map(|c| c.field).collect();
    assert_eq!(
        flagged,
        [13, 14, 15, 16, 17, 18],
        "«m13»… are not the postal address"
    );
    let last = forms.entries.last().unwrap();
    assert_eq!(
        (last.form, last.form_seq, last.fields.len()),
        (FormKind::Z1, 1, 22)
    );

    // The register disagrees with the postal address on 13; typed by hand it is brought in line,
    // and cleared it is the register's again.
    let mut w = World::new();
    w.register();
    let found = RegisterState::Found {
        answer: answer(r#"{"fields": {"12": "Астана", "13": "ул. Абая", "3": "r3"}}"#),
        fetched_at: t,
        cached: false,
    };
    let flagged = |w: &World| -> Vec<u32> {
        w.forms(std::slice::from_ref(&found)).z1[0]
            .checks
            .iter()
            .map(|c| c.field)
            .collect()
    };
    assert_eq!(flagged(&w), [13]);
    w.step("reg", t, fill(0, &[(13, "ул. Кенесары")])).unwrap();
    assert_eq!(flagged(&w), Vec::<u32>::new());
    let z1 = w.forms(std::slice::from_ref(&found)).z1[0].clone();
    assert_eq!(z1.field(13).unwrap().source, "manual");
    assert_eq!(z1.field(3).unwrap().source, "register");
    w.step("reg", t, fill(0, &[(13, "")])).unwrap();
    assert_eq!(flagged(&w), [13]);
}
