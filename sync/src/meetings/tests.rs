//! The meeting document's rules and merge behaviour (R22–R26).

use std::collections::BTreeMap;

use automerge::ActorId;

use super::dates::{materials_expired, MeetingStage};
use super::doc::*;
use crate::calendar::Day;
use crate::doc::{Ctx, Document};

fn d(s: &str) -> Day {
    Day::parse(s).unwrap()
}

fn actor(n: u8) -> ActorId {
    ActorId::from(vec![n; 16])
}

fn ctx(by: &str, ms: i64) -> Ctx {
    Ctx::new(by, "AST", ms)
}

fn plan(date: &str) -> MeetingPlan {
    MeetingPlan {
        beats: vec!["saryarka-01".into()],
        format: MeetingFormat::Gathering,
        date: d(date),
        time: "18:30".into(),
        place_kk: "№ 12 мектеп, акт залы".into(),
        place_ru: "школа № 12, актовый зал".into(),
        link: None,
        language: "ru".into(),
    }
}

fn known(b: &str) -> bool {
    ["saryarka-01", "saryarka-02"].contains(&b)
}

fn person(name: &str, consent: bool) -> ParticipantInput {
    ParticipantInput {
        name: name.into(),
        address: "ул. Бейбітшілік, 4".into(),
        contact: "+77011234567".into(),
        consent,
    }
}

/// A meeting planned on 1 December for 20 December, noticed on 1 December.
fn noticed() -> MeetingDoc {
    let p = plan("2026-12-20");
    check_plan(&p, d("2026-12-01"), &known).unwrap();
    let mut m = MeetingDoc::create(actor(1), "m1", "AST", &p, &ctx("uip", 1)).unwrap();
    m.apply(
        &MeetingCommand::PublishNotice(vec![NoticeChannel::Telegram, NoticeChannel::Page]),
        d("2026-12-01"),
        &ctx("uip", 2),
    )
    .unwrap();
    m
}

/// [`noticed`], held on its day with two participants and a signed-ready draft.
fn held() -> MeetingDoc {
    let mut m = noticed();
    let day = d("2026-12-20");
    for (id, name) in [("p1", "Айгүл Серікова"), ("p2", "Иван Петров")] {
        m.apply(
            &MeetingCommand::Register {
                id: id.into(),
                participant: person(name, true),
            },
            day,
            &ctx("uip", 10),
        )
        .unwrap();
    }
    m.apply(&MeetingCommand::MarkHeld, day, &ctx("uip", 11))
        .unwrap();
    m.apply(
        &MeetingCommand::EditProtocol(BTreeMap::from([
            (
                "report".to_string(),
                "Отчёт участкового инспектора".to_string(),
            ),
            (
                "decisions".to_string(),
                "Усилить патрулирование двора".to_string(),
            ),
        ])),
        day,
        &ctx("uip", 12),
    )
    .unwrap();
    m
}

#[test]
fn r23_a_notice_later_than_ten_calendar_days_before_is_refused_and_nothing_is_stored() {
    let p = plan("2026-12-10");
    let mut m = MeetingDoc::create(actor(1), "m1", "AST", &p, &ctx("uip", 1)).unwrap();
    let before = m.save();
    let e = m
        .apply(
            &MeetingCommand::PublishNotice(vec![NoticeChannel::Telegram]),
            d("2026-12-01"),
            &ctx("uip", 2),
        )
        .unwrap_err();
    assert_eq!(e.code(), "meeting_notice_too_late");
    assert_eq!(m.save(), before, "a refused notice writes nothing");
    assert_eq!(m.view().unwrap().stage, MeetingStage::Planned);
    // Moved to the 11th, the same notice day is in time.
    m.apply(
        &MeetingCommand::Reschedule(plan("2026-12-11")),
        d("2026-12-01"),
        &ctx("uip", 3),
    )
    .unwrap();
    m.apply(
        &MeetingCommand::PublishNotice(vec![NoticeChannel::Vk, NoticeChannel::Vk]),
        d("2026-12-01"),
        &ctx("uip", 4),
    )
    .unwrap();
    let v = m.view().unwrap();
    assert_eq!(v.stage, MeetingStage::Noticed);
    assert_eq!(v.notice.as_ref().unwrap().channels, [NoticeChannel::Vk]);
    assert_eq!(v.notice.unwrap().published_on, d("2026-12-01"));
}

#[test]
fn r23_moving_a_noticed_meeting_needs_a_new_notice() {
    let mut m = noticed();
    m.apply(
        &MeetingCommand::Reschedule(plan("2026-12-22")),
        d("2026-12-05"),
        &ctx("uip", 5),
    )
    .unwrap();
    let v = m.view().unwrap();
    assert_eq!(
        v.stage,
        MeetingStage::Planned,
        "the old notice announced another day"
    );
    assert!(v
        .log
        .last()
        .unwrap()
        .detail
        .as_deref()
        .unwrap()
        .contains("new notice"));
    m.apply(
        &MeetingCommand::PublishNotice(vec![NoticeChannel::Email]),
        d("2026-12-05"),
        &ctx("uip", 6),
    )
    .unwrap();
    assert_eq!(m.view().unwrap().stage, MeetingStage::Noticed);
    assert_eq!(m.view().unwrap().notices.len(), 2);
}

#[test]
fn r23_a_plan_is_checked_before_anything_is_written() {
    let today = d("2026-12-01");
    let code = |p: &MeetingPlan| check_plan(p, today, &known).unwrap_err().code();
    let mut p = plan("2026-11-30");
    assert_eq!(code(&p), "meeting_date_past");
    p = plan("2026-12-20");
    p.beats = vec!["nowhere".into()];
    assert_eq!(code(&p), "meeting_beat_unknown");
    p.beats = vec!["saryarka-01".into(), "saryarka-01".into()];
    assert_eq!(code(&p), "meeting_beats");
    p.beats = vec![];
    assert_eq!(code(&p), "meeting_beats");
    p = plan("2026-12-20");
    p.time = "25:00".into();
    assert_eq!(code(&p), "meeting_time");
    p = plan("2026-12-20");
    p.format = MeetingFormat::Online;
    assert_eq!(code(&p), "meeting_link_required");
    p.link = Some("http://meet.example.kz/x".into());
    assert_eq!(code(&p), "meeting_link_invalid");
    p.link = Some("https://meet.example.kz/x".into());
    check_plan(&p, today, &known).unwrap();
    p.language = "en".into();
    assert_eq!(code(&p), "meeting_language");
    // A joint meeting of two adjacent beats.
    let mut joint = plan("2026-12-20");
    joint.beats = vec!["saryarka-01".into(), "saryarka-02".into()];
    check_plan(&joint, today, &known).unwrap();
}

#[test]
fn r24_every_participant_is_registered_with_consent_on_the_meetings_day() {
    let mut m = noticed();
    let day = d("2026-12-20");
    let e = m
        .apply(
            &MeetingCommand::Register {
                id: "p1".into(),
                participant: person("Айгүл", false),
            },
            day,
            &ctx("uip", 10),
        )
        .unwrap_err();
    assert_eq!(e.code(), "meeting_consent_required");
    let e = m
        .apply(
            &MeetingCommand::Register {
                id: "p1".into(),
                participant: person("Айгүл", true),
            },
            d("2026-12-19"),
            &ctx("uip", 10),
        )
        .unwrap_err();
    assert_eq!(e.code(), "meeting_not_today");
    // Two devices (the inspector's terminal and the helper's) register at once: both stay.
    let mut other = m.fork(actor(2));
    m.apply(
        &MeetingCommand::Register {
            id: "t1-1".into(),
            participant: person("Айгүл Серікова", true),
        },
        day,
        &ctx("uip", 11),
    )
    .unwrap();
    other
        .apply(
            &MeetingCommand::Register {
                id: "t2-1".into(),
                participant: person("Иван Петров", true),
            },
            day,
            &ctx("helper", 11),
        )
        .unwrap();
    m.merge(&mut other).unwrap();
    other.merge(&mut m).unwrap();
    let names: Vec<String> = m
        .view()
        .unwrap()
        .participants
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(names, ["Айгүл Серікова", "Иван Петров"]);
    assert_eq!(m.view().unwrap(), other.view().unwrap());
}

#[test]
fn r24_the_signed_protocol_is_locked_and_a_correction_is_a_new_linked_version() {
    let mut m = held();
    let day = d("2026-12-20");
    m.apply(&MeetingCommand::Sign, day, &ctx("uip", 20))
        .unwrap();
    let v = m.view().unwrap();
    let s = v.protocol().unwrap();
    assert_eq!((s.version, s.on_time, s.content.participants), (1, true, 2));
    assert_eq!(
        s.content.fields["decisions"],
        "Усилить патрулирование двора"
    );
    assert_eq!(s.sha256.len(), 64);
    let e = m
        .apply(
            &MeetingCommand::EditProtocol(BTreeMap::from([(
                "decisions".to_string(),
                "другое".to_string(),
            )])),
            day,
            &ctx("uip", 21),
        )
        .unwrap_err();
    assert_eq!(e.code(), "meeting_protocol_signed");
    assert_eq!(
        m.apply(&MeetingCommand::Sign, day, &ctx("uip", 21))
            .unwrap_err()
            .code(),
        "meeting_protocol_signed"
    );
    // A correction the next day: a second version, linked by its reason, and late.
    m.apply(
        &MeetingCommand::StartCorrection {
            reason: "опечатка в решении".into(),
        },
        d("2026-12-21"),
        &ctx("uip", 30),
    )
    .unwrap();
    m.apply(
        &MeetingCommand::EditProtocol(BTreeMap::from([(
            "decisions".to_string(),
            "Усилить патрулирование двора дома 4".to_string(),
        )])),
        d("2026-12-21"),
        &ctx("uip", 31),
    )
    .unwrap();
    m.apply(&MeetingCommand::Sign, d("2026-12-21"), &ctx("uip", 32))
        .unwrap();
    let v = m.view().unwrap();
    assert_eq!(v.signatures.len(), 2);
    assert_eq!(
        v.signatures[0].content.fields["decisions"],
        "Усилить патрулирование двора"
    );
    let v2 = &v.signatures[1];
    assert_eq!(v2.version, 2);
    assert!(!v2.on_time);
    assert_eq!(v2.correction_reason.as_deref(), Some("опечатка в решении"));
    assert!(!v.unsigned_changes && !v.correcting);
}

#[test]
fn r24_an_edit_made_concurrently_with_the_signature_never_enters_the_signed_text() {
    let mut signer = held();
    let day = d("2026-12-20");
    let mut helper = signer.fork(actor(3));
    signer
        .apply(&MeetingCommand::Sign, day, &ctx("uip", 20))
        .unwrap();
    helper
        .apply(
            &MeetingCommand::EditProtocol(BTreeMap::from([(
                "remarks".to_string(),
                "дописано после подписи".to_string(),
            )])),
            day,
            &ctx("helper", 20),
        )
        .unwrap();
    signer.merge(&mut helper).unwrap();
    helper.merge(&mut signer).unwrap();
    for m in [&signer, &helper] {
        let v = m.view().unwrap();
        assert_eq!(v.signatures.len(), 1);
        assert_eq!(v.protocol().unwrap().content.fields["remarks"], "");
        assert!(
            v.unsigned_changes,
            "the late edit shows, waiting for a correction"
        );
    }
}

#[test]
fn r25_complaints_not_answered_in_full_are_followed_up_to_closure_or_forwarded() {
    let mut m = held();
    let day = d("2026-12-20");
    let items = [
        (
            "i1",
            ItemKind::Complaint,
            "Шум во дворе по ночам",
            false,
            None,
        ),
        ("i2", ItemKind::Proposal, "Камера у школы", true, None),
        (
            "i3",
            ItemKind::Complaint,
            "Нет освещения на улице",
            false,
            Some("akimat"),
        ),
    ];
    for (id, kind, text, answered, body) in items {
        m.apply(
            &MeetingCommand::AddItem {
                id: id.into(),
                item: ItemInput {
                    kind,
                    text: text.into(),
                    author: Some("p1".into()),
                    answered_fully: answered,
                    outside_competence: body.map(str::to_string),
                },
            },
            day,
            &ctx("uip", 13),
        )
        .unwrap();
    }
    let unknown_author = m.apply(
        &MeetingCommand::AddItem {
            id: "i4".into(),
            item: ItemInput {
                kind: ItemKind::Remark,
                text: "x".into(),
                author: Some("nobody".into()),
                answered_fully: true,
                outside_competence: None,
            },
        },
        day,
        &ctx("uip", 13),
    );
    assert_eq!(
        unknown_author.unwrap_err().code(),
        "meeting_participant_unknown"
    );
    let early = m.apply(
        &MeetingCommand::FollowUp {
            item: "i1".into(),
            step: FollowUpStep::Checking {
                note: "проверка".into(),
            },
        },
        day,
        &ctx("head", 14),
    );
    assert_eq!(early.unwrap_err().code(), "meeting_protocol_not_signed");
    m.apply(&MeetingCommand::Sign, day, &ctx("uip", 20))
        .unwrap();
    let state = |m: &MeetingDoc, id: &str| {
        m.view()
            .unwrap()
            .items
            .into_iter()
            .find(|i| i.id == id)
            .unwrap()
            .state
    };
    assert_eq!(state(&m, "i1"), ItemState::Open);
    assert_eq!(state(&m, "i2"), ItemState::Answered);
    assert_eq!(m.view().unwrap().protocol().unwrap().content.items.len(), 3);
    m.apply(
        &MeetingCommand::FollowUp {
            item: "i1".into(),
            step: FollowUpStep::Checking {
                note: "поручено ПДН".into(),
            },
        },
        d("2026-12-22"),
        &ctx("head", 40),
    )
    .unwrap();
    assert_eq!(state(&m, "i1"), ItemState::Checking);
    m.apply(
        &MeetingCommand::FollowUp {
            item: "i1".into(),
            step: FollowUpStep::Closed {
                result: "нарушители установлены".into(),
            },
        },
        d("2026-12-28"),
        &ctx("head", 41),
    )
    .unwrap();
    assert_eq!(state(&m, "i1"), ItemState::Closed);
    let again = m.apply(
        &MeetingCommand::FollowUp {
            item: "i1".into(),
            step: FollowUpStep::Checking {
                note: "ещё".into()
            },
        },
        d("2026-12-28"),
        &ctx("head", 42),
    );
    assert_eq!(again.unwrap_err().code(), "meeting_item_closed");
    m.apply(
        &MeetingCommand::FollowUp {
            item: "i3".into(),
            step: FollowUpStep::Forwarded {
                body: "akimat".into(),
                appeal: "AST/appeal/2026-000123".into(),
                author_notified: true,
            },
        },
        d("2026-12-21"),
        &ctx("head", 43),
    )
    .unwrap();
    let i3 = m
        .view()
        .unwrap()
        .items
        .into_iter()
        .find(|i| i.id == "i3")
        .unwrap();
    assert_eq!(i3.state, ItemState::Forwarded);
    assert!(matches!(
        &i3.follow_up[0].step,
        FollowUpStep::Forwarded { appeal, author_notified: true, .. } if appeal == "AST/appeal/2026-000123"
    ));
}

#[test]
fn r26_materials_of_a_held_meeting_are_kept_a_year_unless_held() {
    let mut m = held();
    let day = d("2026-12-20");
    m.apply(
        &MeetingCommand::AddRecording(Recording {
            id: "rec-1".into(),
            sha256: "ab".repeat(32),
            bytes: 1_000_000,
            content_type: "video/webm".into(),
            at_ms: 50,
            by: "uip@AST".into(),
        }),
        day,
        &ctx("uip", 50),
    )
    .unwrap();
    let v = m.view().unwrap();
    assert_eq!(v.held_on, Some(day));
    assert_eq!(v.recordings.len(), 1);
    assert!(materials_expired(
        v.held_on.unwrap(),
        d("2027-12-20"),
        v.hold
    ));
    m.apply(
        &MeetingCommand::SetHold(true),
        d("2027-06-01"),
        &ctx("head", 60),
    )
    .unwrap();
    let v = m.view().unwrap();
    assert!(v.hold);
    assert!(!materials_expired(
        v.held_on.unwrap(),
        d("2027-12-20"),
        v.hold
    ));
}

#[test]
fn r26_erasing_a_meetings_materials_is_refused_before_the_year_and_under_a_hold_and_keeps_its_facts(
) {
    let mut m = held();
    let sign = m.apply(&MeetingCommand::Sign, d("2026-12-20"), &ctx("uip", 13));
    sign.unwrap();
    // Before the year is out: refused, nothing changed.
    let before = m.view().unwrap();
    let e = m
        .apply(
            &MeetingCommand::EraseMaterials,
            d("2027-12-19"),
            &ctx("sweep", 20),
        )
        .unwrap_err();
    assert_eq!(e.code(), "meeting_materials_kept");
    assert_eq!(m.view().unwrap(), before);
    // Under a hold: refused; the hold released, erased.
    m.apply(
        &MeetingCommand::SetHold(true),
        d("2027-06-01"),
        &ctx("head", 21),
    )
    .unwrap();
    let e = m
        .apply(
            &MeetingCommand::EraseMaterials,
            d("2027-12-20"),
            &ctx("sweep", 22),
        )
        .unwrap_err();
    assert_eq!(e.code(), "meeting_materials_kept");
    m.apply(
        &MeetingCommand::SetHold(false),
        d("2027-12-20"),
        &ctx("head", 23),
    )
    .unwrap();
    // Another replica's copy, as it stood before the erasure.
    let saved = m.save();
    let mut other = MeetingDoc::load([saved.as_slice()]).unwrap();
    m.apply(
        &MeetingCommand::EraseMaterials,
        d("2027-12-20"),
        &ctx("sweep", 24),
    )
    .unwrap();
    let v = m.view().unwrap();
    assert!(v.participants.is_empty());
    assert_eq!(v.stage, MeetingStage::Held);
    assert_eq!(v.held_on, Some(d("2026-12-20")));
    // The signed protocol keeps the count, not the people.
    assert_eq!(v.signatures[0].content.participants, 2);
    // A copy merged from the erased document loses them too.
    assert_eq!(other.view().unwrap().participants.len(), 2);
    other.merge(&mut m).unwrap();
    assert!(other.view().unwrap().participants.is_empty());
}

#[test]
fn r22_a_cancelled_meeting_takes_no_more_steps_and_a_held_one_cannot_be_cancelled() {
    let mut m = noticed();
    m.apply(
        &MeetingCommand::Cancel {
            reason: "карантин".into(),
        },
        d("2026-12-05"),
        &ctx("uip", 5),
    )
    .unwrap();
    assert_eq!(m.view().unwrap().stage, MeetingStage::Cancelled);
    let e = m
        .apply(&MeetingCommand::MarkHeld, d("2026-12-20"), &ctx("uip", 6))
        .unwrap_err();
    assert_eq!(e.code(), "meeting_cancelled");
    let mut h = held();
    let e = h
        .apply(
            &MeetingCommand::Cancel { reason: "x".into() },
            d("2026-12-20"),
            &ctx("uip", 6),
        )
        .unwrap_err();
    assert_eq!(e.code(), "meeting_held");
    // Saved and loaded, the meeting reads the same.
    let bytes = h.save();
    let loaded = MeetingDoc::load([bytes.as_slice()]).unwrap();
    assert_eq!(loaded.view().unwrap(), h.view().unwrap());
}

#[test]
fn r24_the_protocol_document_holds_the_signed_content_and_the_signature_line() {
    use super::documents::protocol_document;
    use super::reference::BeatsReference;

    let mut m = held();
    let day = d("2026-12-20");
    for (id, kind, text, answered) in [
        (
            "i1",
            ItemKind::Complaint,
            "Во дворе дома 4 не горит фонарь",
            false,
        ),
        ("i2", ItemKind::Proposal, "Провести рейд по парковкам", true),
    ] {
        m.apply(
            &MeetingCommand::AddItem {
                id: id.into(),
                item: ItemInput {
                    kind,
                    text: text.into(),
                    author: Some("p1".into()),
                    answered_fully: answered,
                    outside_competence: None,
                },
            },
            day,
            &ctx("uip", 13),
        )
        .unwrap();
    }
    let beats = BeatsReference::demo();
    // The unsigned draft says so.
    let draft = protocol_document(&m.view().unwrap(), None, &beats, "Касымов Арман");
    let text = answers::meeting::protocol_letter(&draft)
        .unwrap()
        .plain_text();
    assert!(text.contains("Проект протокола, не подписан"), "{text}");

    m.apply(&MeetingCommand::Sign, day, &ctx("uip", 20))
        .unwrap();
    // An edit after the signature (a concurrent device) never enters the signed document.
    let v = m.view().unwrap();
    let s = v.protocol().unwrap();
    let input = protocol_document(&v, Some(s), &beats, "Касымов Арман");
    let text = answers::meeting::protocol_letter(&input)
        .unwrap()
        .plain_text();
    for want in [
        "Дата: 20.12.2026",
        "Время: 18:30",
        "Место проведения: школа № 12, актовый зал",
        "Количество участников: 2",
        "Усилить патрулирование двора",
        "1. Жалоба: Во дворе дома 4 не горит фонарь",
        "2. Предложение: Провести рейд по парковкам",
        "Версия 1, подписана 20.12.2026 участковым инспектором полиции Касымов Арман.",
        &s.sha256,
    ] {
        assert!(text.contains(want), "{want} not in\n{text}");
    }
    assert!(!text.contains("не подписан"), "{text}");
    let docx = answers::render_protocol(&input).unwrap();
    assert_eq!(docx, answers::render_protocol(&input).unwrap());
}

fn delivery(target: &str, state: DeliveryState, at_ms: i64) -> MeetingCommand {
    MeetingCommand::NoticeDelivery(NoticeDelivery {
        notice_at_ms: 2,
        target: target.into(),
        state,
        reason: (state != DeliveryState::Sent).then(|| "HTTP 502".to_string()),
        external_id: (state == DeliveryState::Sent).then(|| format!("{target}-{at_ms}")),
        at_ms,
    })
}

#[test]
fn r37_notice_deliveries_fold_per_target_and_a_sent_post_survives_a_concurrent_failure() {
    let mut m = noticed();
    let day = d("2026-12-01");
    for t in ["telegram", "vk", "email:akimat"] {
        m.apply(&delivery(t, DeliveryState::Queued, 2), day, &ctx("node", 2))
            .unwrap();
    }
    let v = m.view().unwrap();
    let n = v.notice.as_ref().unwrap();
    assert_eq!(n.deliveries.len(), 3);
    assert!(n
        .deliveries
        .iter()
        .all(|d| d.state == DeliveryState::Queued));

    // Two copies record different results for telegram at once; the sent one wins both ways.
    let mut other = m.fork(actor(2));
    m.apply(
        &delivery("telegram", DeliveryState::Sent, 5),
        day,
        &ctx("node", 5),
    )
    .unwrap();
    other
        .apply(
            &delivery("telegram", DeliveryState::Failed, 9),
            day,
            &ctx("node", 9),
        )
        .unwrap();
    other
        .apply(
            &delivery("vk", DeliveryState::Failed, 9),
            day,
            &ctx("node", 9),
        )
        .unwrap();
    m.merge(&mut other).unwrap();
    other.merge(&mut m).unwrap();
    for copy in [&m, &other] {
        let v = copy.view().unwrap();
        let n = v.notice.unwrap();
        let of = |t: &str| n.deliveries.iter().find(|d| d.target == t).unwrap().clone();
        assert_eq!(of("telegram").state, DeliveryState::Sent);
        assert_eq!(of("telegram").external_id.as_deref(), Some("telegram-5"));
        // Later than queued: failed, with its reason.
        assert_eq!(of("vk").state, DeliveryState::Failed);
        assert_eq!(of("vk").reason.as_deref(), Some("HTTP 502"));
        assert_eq!(of("email:akimat").state, DeliveryState::Queued);
    }
    assert!(m
        .view()
        .unwrap()
        .log
        .iter()
        .any(|l| l.action == "notice_sent" && l.detail.as_deref() == Some("telegram")));
}

#[test]
fn r37_a_delivery_of_an_unknown_notice_is_refused_and_writes_nothing() {
    let mut m = noticed();
    let before = m.save();
    let mut cmd = delivery("telegram", DeliveryState::Sent, 5);
    if let MeetingCommand::NoticeDelivery(d) = &mut cmd {
        d.notice_at_ms = 999;
    }
    let e = m.apply(&cmd, d("2026-12-01"), &ctx("node", 5)).unwrap_err();
    assert_eq!(e.code(), "meeting_notice_unknown");
    let e = m
        .apply(
            &delivery("", DeliveryState::Sent, 5),
            d("2026-12-01"),
            &ctx("node", 5),
        )
        .unwrap_err();
    assert_eq!(e.field_name(), Some("target"));
    assert_eq!(m.save(), before);
    // A result still lands on a meeting cancelled meanwhile.
    m.apply(
        &MeetingCommand::Cancel {
            reason: "перенос".into(),
        },
        d("2026-12-02"),
        &ctx("uip", 6),
    )
    .unwrap();
    m.apply(
        &delivery("vk", DeliveryState::Sent, 7),
        d("2026-12-02"),
        &ctx("node", 7),
    )
    .unwrap();
}
