//! Domain rules and merge behaviour of the replicated model, driven with explicit time.

use automerge::ActorId;
use sync::card::{dispatch, finish, unassign, unit_step};
use sync::reference::{CallCategory, District, DutyUnitRef, RegionInfo};
use sync::*;

fn reference() -> Reference {
    Reference {
        region: RegionInfo {
            code: "AST".into(),
            name_kk: "Астана".into(),
            name_ru: "Астана".into(),
        },
        districts: vec![
            District {
                code: "esil".into(),
                name_kk: "Есіл ауданы".into(),
                name_ru: "район Есиль".into(),
                polygon: vec![
                    [51.05, 71.35],
                    [51.14, 71.35],
                    [51.14, 71.50],
                    [51.05, 71.50],
                ],
            },
            District {
                code: "saryarka".into(),
                name_kk: "Сарыарқа ауданы".into(),
                name_ru: "район Сарыарка".into(),
                polygon: vec![
                    [51.14, 71.35],
                    [51.25, 71.35],
                    [51.25, 71.50],
                    [51.14, 71.50],
                ],
            },
        ],
        categories: vec![
            CallCategory {
                code: "theft".into(),
                name_kk: "Ұрлық".into(),
                name_ru: "Кража".into(),
                priority: 2,
            },
            CallCategory {
                code: "assault".into(),
                name_kk: "Шабуыл".into(),
                name_ru: "Нападение".into(),
                priority: 1,
            },
        ],
        duty_units: vec![DutyUnitRef {
            code: "du-esil".into(),
            name_kk: "Есіл ПБ кезекші бөлімі".into(),
            name_ru: "Дежурная часть УП Есиль".into(),
        }],
        unit_overdue_after_s: 600,
        kui_deadline_h: 24,
        shifts: Default::default(),
        services: Vec::new(),
        external_bodies: Vec::new(),
        posts: Vec::new(),
        street_aliases: Vec::new(),
        town_aliases: Vec::new(),
    }
}

fn actor(n: u8) -> ActorId {
    ActorId::from(vec![n; 16])
}

fn ctx(by: &str, now_ms: i64) -> Ctx {
    Ctx::new(by, "AST", now_ms)
}

fn new_card(r: &Reference, channel: Channel) -> CardDoc {
    CardDoc::create(
        actor(1),
        "c0ffee00-0000-4000-8000-000000000001",
        "AST-2026-000001",
        "AST",
        &CardCreate {
            channel,
            caller: Caller {
                name: Some("Айгерим Серікқызы".into()),
                phone: Some("+77011234567".into()),
                phone_raw: None,
                user_id: Some("app-user-42".into()),
                language: Some(Language::Kk),
            },
            location: Some(Location {
                lat: Some(51.128),
                lon: Some(71.43),
                accuracy_m: Some(12.0),
                address: Some("Астана, Кенесары көшесі, 40".into()),
                source: None,
            }),
            description: Some("Ер адам көлікті тонап жатыр".into()),
            seen: Seen {
                persons: Some("man in a black jacket".into()),
                vehicles: Some("white Toyota Camry 123ABC01".into()),
                buildings: None,
            },
            category: Some("theft".into()),
            priority: None,
            district: None,
        },
        r,
        &ctx("op1", 1_000),
    )
    .unwrap()
}

fn patrol(id: &str, n: u8) -> UnitDoc {
    UnitDoc::create(
        actor(n),
        id,
        &format!("Беркут-{id}"),
        UnitKind::Patrol,
        &ctx("sup", 0),
    )
    .unwrap()
}

#[test]
fn r03_card_holds_call_fields_and_send_for_processing_puts_it_in_the_queue() {
    let r = reference();
    let mut card = new_card(&r, Channel::App102Call);
    let v = card.view(&r).unwrap();
    assert_eq!(v.status, CardStatus::New);
    assert_eq!(v.channel, Channel::App102Call);
    assert_eq!(
        v.seen.vehicles.as_deref(),
        Some("white Toyota Camry 123ABC01")
    );
    assert_eq!(v.priority, Some(2), "priority defaults from the category");
    card.apply(&CardCommand::SendForProcessing, &r, &ctx("op1", 2_000))
        .unwrap();
    let v = card.view(&r).unwrap();
    assert_eq!(v.status, CardStatus::SentForProcessing);
    assert_eq!(v.sent_for_processing_at, Some(2_000));
    // A second send is an invalid transition and changes nothing.
    let before = card.save();
    let err = card
        .apply(&CardCommand::SendForProcessing, &r, &ctx("op1", 3_000))
        .unwrap_err();
    assert_eq!(err.code(), "invalid_transition");
    assert_eq!(card.save(), before);
}

#[test]
fn r03_send_for_processing_requires_a_category_and_a_place() {
    let r = reference();
    let mut card = CardDoc::create(
        actor(1),
        "id-2",
        "AST-2026-000002",
        "AST",
        &CardCreate {
            channel: Channel::App102Call,
            caller: Caller::default(),
            location: None,
            description: None,
            seen: Seen::default(),
            category: None,
            priority: None,
            district: None,
        },
        &r,
        &ctx("op1", 1),
    )
    .unwrap();
    let err = card
        .apply(&CardCommand::SendForProcessing, &r, &ctx("op1", 2))
        .unwrap_err();
    assert_eq!(err.field_name(), Some("category"));
    card.apply(
        &CardCommand::Edit(CardEdit {
            category: Some("assault".into()),
            ..Default::default()
        }),
        &r,
        &ctx("op1", 3),
    )
    .unwrap();
    let err = card
        .apply(&CardCommand::SendForProcessing, &r, &ctx("op1", 4))
        .unwrap_err();
    assert_eq!(err.field_name(), Some("location"));
}

#[test]
fn r02_card_is_routed_by_territorial_affiliation() {
    let r = reference();
    let card = new_card(&r, Channel::App102Call);
    assert_eq!(card.view(&r).unwrap().district.as_deref(), Some("esil"));
    assert_eq!(
        r.district_at(51.20, 71.40).map(|d| d.code.as_str()),
        Some("saryarka")
    );
    assert!(
        r.district_at(43.2, 76.9).is_none(),
        "Almaty is not in the Astana region"
    );
}

#[test]
fn bad_input_is_refused_with_the_field_named() {
    let r = reference();
    let base = CardCreate {
        channel: Channel::Telegram,
        caller: Caller::default(),
        location: None,
        description: None,
        seen: Seen::default(),
        category: None,
        priority: None,
        district: None,
    };
    let check = |input: CardCreate, field: &str| {
        let err = CardDoc::create(
            actor(1),
            "x",
            "AST-2026-000009",
            "AST",
            &input,
            &r,
            &ctx("op", 1),
        )
        .unwrap_err();
        assert_eq!(err.field_name(), Some(field), "{err}");
    };
    check(
        CardCreate {
            location: Some(Location {
                lat: Some(91.0),
                lon: Some(0.0),
                accuracy_m: None,
                address: None,
                source: None,
            }),
            ..base.clone()
        },
        "location.lat",
    );
    check(
        CardCreate {
            location: Some(Location {
                lat: Some(51.0),
                lon: Some(f64::NAN),
                accuracy_m: None,
                address: None,
                source: None,
            }),
            ..base.clone()
        },
        "location.lon",
    );
    check(
        CardCreate {
            category: Some("no-such".into()),
            ..base.clone()
        },
        "category",
    );
    check(
        CardCreate {
            priority: Some(9),
            ..base.clone()
        },
        "priority",
    );
    check(
        CardCreate {
            district: Some("nowhere".into()),
            ..base.clone()
        },
        "district",
    );
    check(
        CardCreate {
            description: Some("x".repeat(model::limits::DESCRIPTION_CHARS_MAX + 1)),
            ..base.clone()
        },
        "description",
    );
    check(
        CardCreate {
            location: Some(Location {
                lat: Some(51.1),
                ..Default::default()
            }),
            ..base.clone()
        },
        "location.lon",
    );
    check(
        CardCreate {
            location: Some(Location::default()),
            ..base.clone()
        },
        "location",
    );
}

#[test]
fn r03_a_phone_that_is_not_a_number_is_kept_raw_and_the_card_is_created() {
    let r = reference();
    let input = CardCreate {
        channel: Channel::App102Call,
        caller: Caller {
            phone: Some("call me\u{7}".into()),
            name: Some("Ерлан\u{1b} Қасымов".into()),
            ..Default::default()
        },
        location: Some(Location {
            address: Some("Астана, Сарайшық көшесі, 5".into()),
            ..Default::default()
        }),
        description: None,
        seen: Default::default(),
        category: None,
        priority: None,
        district: None,
    };
    let card = CardDoc::create(
        actor(1),
        "c9",
        "AST-2026-000009",
        "AST",
        &input,
        &r,
        &ctx("op", 1),
    )
    .unwrap()
    .view(&r)
    .unwrap();
    assert_eq!(card.caller.phone, None);
    assert_eq!(card.caller.phone_raw.as_deref(), Some("call me"));
    assert_eq!(card.caller.name.as_deref(), Some("Ерлан Қасымов"));
    assert_eq!(card.location.unwrap().point(), None);
}

#[test]
fn r04_dispatcher_sends_patrols_and_r20_controls_their_arrival() {
    let r = reference();
    let mut card = new_card(&r, Channel::App102Call);
    let mut unit = patrol("p1", 10);
    // Not yet sent for processing: no dispatch.
    assert_eq!(
        dispatch(&mut card, &mut unit, false, &r, &ctx("gus", 1_500))
            .unwrap_err()
            .code(),
        "invalid_transition"
    );
    card.apply(&CardCommand::SendForProcessing, &r, &ctx("op1", 2_000))
        .unwrap();
    dispatch(&mut card, &mut unit, false, &r, &ctx("gus", 3_000)).unwrap();
    let v = card.view(&r).unwrap();
    assert_eq!(v.status, CardStatus::Dispatched);
    assert_eq!(v.units[0].assigned_at, 3_000);
    let u = unit.view(&r, 3_000).unwrap();
    assert_eq!(u.status, UnitStatus::Assigned);
    assert!(!u.overdue);
    // Overdue when not on scene within unit_overdue_after_s.
    assert!(unit.view(&r, 3_000 + 600_001).unwrap().overdue);
    unit_step(
        &mut card,
        &mut unit,
        UnitStep::EnRoute,
        &r,
        &ctx("gus", 4_000),
    )
    .unwrap();
    unit_step(
        &mut card,
        &mut unit,
        UnitStep::OnScene,
        &r,
        &ctx("gus", 5_000),
    )
    .unwrap();
    assert!(
        !unit.view(&r, 10_000_000).unwrap().overdue,
        "on scene is never overdue"
    );
    let v = card.view(&r).unwrap();
    assert_eq!(v.status, CardStatus::OnScene);
    assert_eq!(v.units[0].on_scene_at, Some(5_000));
    assert_eq!(
        unit_step(
            &mut card,
            &mut unit,
            UnitStep::OnScene,
            &r,
            &ctx("gus", 5_500)
        )
        .unwrap_err()
        .code(),
        "invalid_transition"
    );
}

#[test]
fn r04_off_duty_or_busy_unit_cannot_be_dispatched() {
    let r = reference();
    let mut card = new_card(&r, Channel::App102Call);
    card.apply(&CardCommand::SendForProcessing, &r, &ctx("op1", 2_000))
        .unwrap();
    let mut unit = patrol("p1", 10);
    unit.set_duty(false, &r, &ctx("sup", 2_100)).unwrap();
    let before = card.save();
    let err = dispatch(&mut card, &mut unit, false, &r, &ctx("gus", 3_000)).unwrap_err();
    assert!(err.to_string().contains("off duty"), "{err}");
    assert_eq!(
        card.save(),
        before,
        "a refused dispatch leaves the card untouched"
    );
    unit.set_duty(true, &r, &ctx("sup", 3_100)).unwrap();
    dispatch(&mut card, &mut unit, false, &r, &ctx("gus", 3_200)).unwrap();
    let mut other = new_card(&r, Channel::App102Call);
    other
        .apply(&CardCommand::SendForProcessing, &r, &ctx("op1", 3_300))
        .unwrap();
    let err = dispatch(&mut other, &mut unit, false, &r, &ctx("gus", 3_400)).unwrap_err();
    assert!(err.to_string().contains("busy"), "{err}");
    assert!(
        unit.set_duty(false, &r, &ctx("sup", 3_500)).is_err(),
        "a working unit cannot go off duty"
    );
}

#[test]
fn r05_text_message_card_closes_only_after_the_patrols_report() {
    let r = reference();
    let mut card = new_card(&r, Channel::Telegram);
    assert_eq!(card.view(&r).unwrap().channel, Channel::Telegram);
    card.apply(&CardCommand::SendForProcessing, &r, &ctx("op1", 2_000))
        .unwrap();
    let mut unit = patrol("p1", 10);
    dispatch(&mut card, &mut unit, false, &r, &ctx("gus", 3_000)).unwrap();
    let err = finish(
        &mut card,
        &mut [&mut unit],
        &Finish::Close {
            report: None,
            reason: None,
        },
        &r,
        &ctx("gus", 4_000),
    )
    .unwrap_err();
    assert_eq!(err.field_name(), Some("report"));
    card.apply(
        &CardCommand::Report {
            text: "Задержан, доставлен в УП".into(),
        },
        &r,
        &ctx("p1", 5_000),
    )
    .unwrap();
    assert_eq!(card.view(&r).unwrap().status, CardStatus::Reported);
    finish(
        &mut card,
        &mut [&mut unit],
        &Finish::Close {
            report: Some("closing: no further action".into()),
            reason: None,
        },
        &r,
        &ctx("gus", 6_000),
    )
    .unwrap();
    let v = card.view(&r).unwrap();
    assert_eq!(
        v.patrol_report.as_deref(),
        Some("Задержан, доставлен в УП"),
        "the patrol's own report is kept"
    );
    assert_eq!(
        v.close_summary.as_deref(),
        Some("closing: no further action")
    );
    assert_eq!(v.status, CardStatus::Closed);
    assert_eq!(v.units[0].cleared_at, Some(6_000));
    assert_eq!(
        unit.view(&r, 6_000).unwrap().status,
        UnitStatus::Available,
        "closing frees the unit"
    );
}

#[test]
fn closing_an_undispatched_card_needs_a_reason() {
    let r = reference();
    let mut card = new_card(&r, Channel::Email);
    card.apply(&CardCommand::SendForProcessing, &r, &ctx("op1", 2_000))
        .unwrap();
    let err = finish(
        &mut card,
        &mut [],
        &Finish::Close {
            report: None,
            reason: None,
        },
        &r,
        &ctx("gus", 3_000),
    )
    .unwrap_err();
    assert_eq!(err.field_name(), Some("reason"));
    finish(
        &mut card,
        &mut [],
        &Finish::Close {
            report: None,
            reason: Some("consultation given".into()),
        },
        &r,
        &ctx("gus", 3_000),
    )
    .unwrap();
    assert_eq!(card.view(&r).unwrap().status, CardStatus::Closed);
    let err = card
        .apply(
            &CardCommand::Edit(CardEdit {
                description: Some("late".into()),
                ..Default::default()
            }),
            &r,
            &ctx("op1", 4_000),
        )
        .unwrap_err();
    assert_eq!(err.code(), "invalid_transition");
}

#[test]
fn r06_dsog_goes_after_a_patrol_and_the_card_is_forwarded_to_the_duty_unit() {
    let r = reference();
    let mut card = new_card(&r, Channel::App102Call);
    card.apply(&CardCommand::SendForProcessing, &r, &ctx("op1", 2_000))
        .unwrap();
    let mut dsog = UnitDoc::create(
        actor(20),
        "dsog1",
        "ДСОГ-1",
        UnitKind::InvestigativeGroup,
        &ctx("sup", 0),
    )
    .unwrap();
    assert!(
        dispatch(&mut card, &mut dsog, true, &r, &ctx("gus", 2_500)).is_err(),
        "no patrol checked yet"
    );
    let mut p = patrol("p1", 10);
    assert!(
        dispatch(&mut card, &mut p, true, &r, &ctx("gus", 2_600)).is_err(),
        "a patrol is not ДСОГ"
    );
    dispatch(&mut card, &mut p, false, &r, &ctx("gus", 3_000)).unwrap();
    unit_step(&mut card, &mut p, UnitStep::OnScene, &r, &ctx("gus", 4_000)).unwrap();
    dispatch(&mut card, &mut dsog, true, &r, &ctx("gus", 5_000)).unwrap();
    card.apply(
        &CardCommand::Forward {
            duty_unit: "du-esil".into(),
        },
        &r,
        &ctx("gus", 6_000),
    )
    .unwrap();
    let v = card.view(&r).unwrap();
    assert_eq!(v.dsog_dispatched_at, Some(5_000));
    assert_eq!(v.forwarded_to.as_deref(), Some("du-esil"));
    assert_eq!(v.kui.as_ref().unwrap().deadline_at, 6_000 + 24 * 3_600_000);
    assert!(card
        .apply(
            &CardCommand::Forward {
                duty_unit: "du-nowhere".into()
            },
            &r,
            &ctx("gus", 6_100)
        )
        .is_err());
}

#[test]
fn r07_duty_unit_registers_the_crime_in_kui_once() {
    let r = reference();
    let mut card = new_card(&r, Channel::App102Call);
    card.apply(&CardCommand::SendForProcessing, &r, &ctx("op1", 2_000))
        .unwrap();
    assert!(card
        .apply(
            &CardCommand::RegisterKui {
                number: "KUI-1".into()
            },
            &r,
            &ctx("du", 2_500)
        )
        .is_err());
    card.apply(
        &CardCommand::Forward {
            duty_unit: "du-esil".into(),
        },
        &r,
        &ctx("gus", 3_000),
    )
    .unwrap();
    card.apply(
        &CardCommand::RegisterKui {
            number: "261100031000123".into(),
        },
        &r,
        &ctx("du", 4_000),
    )
    .unwrap();
    let kui = card.view(&r).unwrap().kui.unwrap();
    assert_eq!(kui.number.as_deref(), Some("261100031000123"));
    assert_eq!(kui.registered_at, Some(4_000));
    assert_eq!(kui.registered_by.as_deref(), Some("du"));
    assert!(card
        .apply(
            &CardCommand::RegisterKui {
                number: "again".into()
            },
            &r,
            &ctx("du", 5_000)
        )
        .is_err());
}

/// Two replicas edit concurrently; merging in both orders must give identical documents.
fn merged_both_ways(a: &mut CardDoc, b: &mut CardDoc, r: &Reference) -> Card {
    let mut ab = a.fork(actor(91));
    ab.merge(&mut b.fork(actor(92))).unwrap();
    let mut ba = b.fork(actor(93));
    ba.merge(&mut a.fork(actor(94))).unwrap();
    let (va, vb) = (ab.view(r).unwrap(), ba.view(r).unwrap());
    assert_eq!(va, vb, "merge order must not matter");
    let mut ha = ab.heads();
    let mut hb = ba.heads();
    ha.sort();
    hb.sort();
    assert_eq!(ha, hb);
    va
}

#[test]
fn merge_status_is_a_lattice_and_timeline_keeps_both_events() {
    let r = reference();
    let mut node = new_card(&r, Channel::App102Call);
    node.apply(&CardCommand::SendForProcessing, &r, &ctx("op1", 2_000))
        .unwrap();
    let mut hq = node.fork(actor(2));
    // Node dispatches and gets the unit on scene; HQ concurrently adds a note.
    let mut unit = patrol("p1", 10);
    dispatch(&mut node, &mut unit, false, &r, &ctx("gus", 3_000)).unwrap();
    unit_step(
        &mut node,
        &mut unit,
        UnitStep::OnScene,
        &r,
        &ctx("gus", 4_000),
    )
    .unwrap();
    hq.apply(
        &CardCommand::Note {
            text: "HQ: keep us informed".into(),
        },
        &r,
        &Ctx::new("hq", "central", 3_500),
    )
    .unwrap();
    let v = merged_both_ways(&mut node, &mut hq, &r);
    assert_eq!(v.status, CardStatus::OnScene);
    let kinds: Vec<&str> = v.timeline.iter().map(|e| e.kind.as_str()).collect();
    assert!(
        kinds.contains(&"note") && kinds.contains(&"on_scene"),
        "{kinds:?}"
    );
}

#[test]
fn merge_close_beats_cancel_and_both_reasons_survive() {
    let r = reference();
    let mut a = new_card(&r, Channel::App102Call);
    a.apply(&CardCommand::SendForProcessing, &r, &ctx("op1", 2_000))
        .unwrap();
    let mut b = a.fork(actor(2));
    finish(
        &mut a,
        &mut [],
        &Finish::Close {
            report: None,
            reason: Some("false alarm checked".into()),
        },
        &r,
        &ctx("gus", 3_000),
    )
    .unwrap();
    finish(
        &mut b,
        &mut [],
        &Finish::Cancel {
            reason: "caller withdrew".into(),
        },
        &r,
        &ctx("gus2", 3_000),
    )
    .unwrap();
    let v = merged_both_ways(&mut a, &mut b, &r);
    assert_eq!(v.status, CardStatus::Closed);
    assert_eq!(v.cancel_reason.as_deref(), Some("caller withdrew"));
    assert_eq!(v.close_reason.as_deref(), Some("false alarm checked"));
}

#[test]
fn merge_scalar_fields_are_last_writer_wins_with_the_writer_recorded() {
    let r = reference();
    let mut a = new_card(&r, Channel::App102Call);
    let mut b = a.fork(actor(2));
    a.apply(
        &CardCommand::Edit(CardEdit {
            description: Some("from node".into()),
            priority: Some(1),
            ..Default::default()
        }),
        &r,
        &ctx("op1", 2_000),
    )
    .unwrap();
    b.apply(
        &CardCommand::Edit(CardEdit {
            description: Some("from hq".into()),
            ..Default::default()
        }),
        &r,
        &Ctx::new("hq", "central", 2_000),
    )
    .unwrap();
    let v = merged_both_ways(&mut a, &mut b, &r);
    let writer = v.field_writers.get("description").unwrap();
    match v.description.as_deref() {
        Some("from node") => assert_eq!(writer, "op1@AST"),
        Some("from hq") => assert_eq!(writer, "hq@central"),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        v.priority,
        Some(1),
        "a field edited on one side only keeps that edit"
    );
    // Location is one value: latitude and longitude never mix between replicas.
    let mut c = a.fork(actor(3));
    let mut d = a.fork(actor(4));
    c.apply(
        &CardCommand::Edit(CardEdit {
            location: Some(Location {
                lat: Some(51.10),
                lon: Some(71.40),
                accuracy_m: None,
                address: None,
                source: None,
            }),
            ..Default::default()
        }),
        &r,
        &ctx("x", 3_000),
    )
    .unwrap();
    d.apply(
        &CardCommand::Edit(CardEdit {
            location: Some(Location {
                lat: Some(51.20),
                lon: Some(71.45),
                accuracy_m: None,
                address: None,
                source: None,
            }),
            ..Default::default()
        }),
        &r,
        &ctx("y", 3_000),
    )
    .unwrap();
    let v = merged_both_ways(&mut c, &mut d, &r);
    let l = v.location.unwrap();
    assert!(l.point() == Some((51.10, 71.40)) || l.point() == Some((51.20, 71.45)));
}

#[test]
fn merge_unit_assignment_is_an_add_wins_set() {
    let r = reference();
    let mut a = new_card(&r, Channel::App102Call);
    a.apply(&CardCommand::SendForProcessing, &r, &ctx("op1", 2_000))
        .unwrap();
    let mut p1 = patrol("p1", 10);
    let mut p2 = patrol("p2", 11);
    dispatch(&mut a, &mut p1, false, &r, &ctx("gus", 3_000)).unwrap();
    let mut b = a.fork(actor(2));
    // Replica A removes p1 (mistaken dispatch) while replica B adds p2.
    unassign(&mut a, &mut p1, &r, &ctx("gus", 4_000)).unwrap();
    dispatch(&mut b, &mut p2, false, &r, &ctx("gus2", 4_000)).unwrap();
    let v = merged_both_ways(&mut a, &mut b, &r);
    let ids: Vec<&str> = v.units.iter().map(|u| u.unit_id.as_str()).collect();
    assert_eq!(ids, vec!["p2"]);
    // A removes unit q while B removes and re-dispatches it: B's re-add was not seen by A's
    // removal, so it survives (add wins).
    let mut c = new_card(&r, Channel::App102Call);
    c.apply(&CardCommand::SendForProcessing, &r, &ctx("op1", 2_000))
        .unwrap();
    let mut q = patrol("q", 13);
    dispatch(&mut c, &mut q, false, &r, &ctx("gus", 3_000)).unwrap();
    let mut d = c.fork(actor(5));
    let mut q_on_d = q.fork(actor(14));
    unassign(&mut c, &mut q, &r, &ctx("gus", 4_000)).unwrap();
    unassign(&mut d, &mut q_on_d, &r, &ctx("gus2", 4_000)).unwrap();
    dispatch(&mut d, &mut q_on_d, false, &r, &ctx("gus2", 4_500)).unwrap();
    let v = merged_both_ways(&mut c, &mut d, &r);
    let ids: Vec<&str> = v.units.iter().map(|u| u.unit_id.as_str()).collect();
    assert_eq!(ids, vec!["q"]);
    assert_eq!(v.units[0].assigned_at, 4_500);
}

#[test]
fn stored_chunks_reload_to_the_same_card() {
    let r = reference();
    let mut card = new_card(&r, Channel::App102Call);
    let snapshot = card.save();
    card.apply(&CardCommand::SendForProcessing, &r, &ctx("op1", 2_000))
        .unwrap();
    let inc1 = card.save_incremental();
    card.apply(
        &CardCommand::Note { text: "n".into() },
        &r,
        &ctx("op1", 3_000),
    )
    .unwrap();
    let inc2 = card.save_incremental();
    let loaded = CardDoc::load([snapshot.as_slice(), inc1.as_slice(), inc2.as_slice()]).unwrap();
    assert_eq!(loaded.view(&r).unwrap(), card.view(&r).unwrap());
    assert!(CardDoc::load([b"garbage".as_slice()]).is_err());
}

#[test]
fn r20_post_roster_holds_one_post_per_unit_and_shift() {
    let r = reference();
    let mut roster = RosterDoc::create(actor(1), "2026-11-22").unwrap();
    let unit = patrol("p1", 10).view(&r, 0).unwrap();
    let input = RosterCreate {
        date: "2026-11-22".into(),
        shift: Shift::Day,
        post: "Маршрут №3, Кенесары".into(),
        unit_id: "p1".into(),
        crew: Vec::new(),
    };
    roster.add("e1", &input, &unit, &ctx("sup", 1)).unwrap();
    assert!(
        roster.add("e2", &input, &unit, &ctx("sup", 2)).is_err(),
        "same unit, same shift"
    );
    roster
        .add(
            "e3",
            &RosterCreate {
                shift: Shift::Night,
                ..input.clone()
            },
            &unit,
            &ctx("sup", 3),
        )
        .unwrap();
    assert_eq!(roster.entries().unwrap().len(), 2);
    assert!(RosterDoc::create(actor(1), "2026-13-01").is_err());
    // Concurrent additions on two replicas both survive.
    let mut other = roster.fork(actor(2));
    let u2 = patrol("p2", 11).view(&r, 0).unwrap();
    other
        .add(
            "e4",
            &RosterCreate {
                unit_id: "p2".into(),
                crew: Vec::new(),
                ..input.clone()
            },
            &u2,
            &ctx("sup2", 4),
        )
        .unwrap();
    roster.remove("e3").unwrap();
    roster.merge(&mut other).unwrap();
    let ids: Vec<String> = roster
        .entries()
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(ids, vec!["e1".to_string(), "e4".to_string()]);
}

#[test]
fn r20_the_current_shift_is_computed_in_local_time() {
    let r = reference();
    // 2026-12-04 02:59 UTC is 07:59 in Astana: still the night shift of 3 December.
    let t = |s: &str| {
        let (date, time) = s.split_once('T').unwrap();
        let (y, m, d) = (&date[0..4], &date[5..7], &date[8..10]);
        let day = sync::reference::day_of_date(
            y.parse().unwrap(),
            m.parse().unwrap(),
            d.parse().unwrap(),
        );
        let (hh, mm) = time.split_once(':').unwrap();
        day * 86_400_000
            + hh.parse::<i64>().unwrap() * 3_600_000
            + mm.parse::<i64>().unwrap() * 60_000
    };
    for (utc, date, shift) in [
        ("2026-12-04T02:59", "2026-12-03", Shift::Night),
        ("2026-12-04T03:00", "2026-12-04", Shift::Day),
        ("2026-12-04T14:59", "2026-12-04", Shift::Day),
        ("2026-12-04T15:00", "2026-12-04", Shift::Night),
        ("2026-12-31T22:00", "2026-12-31", Shift::Night),
        ("2027-01-01T01:00", "2026-12-31", Shift::Night),
        ("2028-02-29T10:00", "2028-02-29", Shift::Day),
    ] {
        assert_eq!(r.shift_at(t(utc)), (date.to_string(), shift), "{utc}");
        let (from, to) = r.shift_window(date, shift).unwrap();
        assert!(from <= t(utc) && t(utc) < to, "{utc} in its window");
        assert_eq!(to - from, 12 * 3_600_000);
    }
    assert_eq!(sync::reference::date_of_day(0), "1970-01-01");
    assert_eq!(sync::reference::day_of_date(2000, 3, 1), 11_017);
    assert!(r.shift_window("2026-13-01", Shift::Day).is_none());
}

#[test]
fn r20_a_crew_member_holds_one_post_per_shift() {
    let r = reference();
    let mut roster = RosterDoc::create(actor(1), "2026-12-04").unwrap();
    let u1 = patrol("p1", 10).view(&r, 0).unwrap();
    let u2 = patrol("p2", 11).view(&r, 0).unwrap();
    let entry = |unit: &str, crew: &[&str]| RosterCreate {
        date: "2026-12-04".into(),
        shift: Shift::Day,
        post: "Маршрут 1".into(),
        unit_id: unit.into(),
        crew: crew.iter().map(|c| c.to_string()).collect(),
    };
    let e = roster
        .add(
            "e1",
            &entry("p1", &["ksp11", " ksp12 ", "ksp11"]),
            &u1,
            &ctx("sup", 1),
        )
        .unwrap();
    assert_eq!(e.crew, ["ksp11", "ksp12"]);
    let err = roster
        .add("e2", &entry("p2", &["ksp12"]), &u2, &ctx("sup", 2))
        .unwrap_err();
    assert_eq!(err.field_name(), Some("crew"));
    let nine: Vec<String> = (0..9).map(|i| format!("k{i}")).collect();
    let nine: Vec<&str> = nine.iter().map(String::as_str).collect();
    assert!(roster
        .add("e3", &entry("p2", &nine), &u2, &ctx("sup", 3))
        .is_err());
}
