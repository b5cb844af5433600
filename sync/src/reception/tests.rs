//! R31: the ЛП-1 card, the schedule's slots and the settling of requests made through the hub.

use std::collections::BTreeMap;

use automerge::ActorId;

use super::lp1::{self, LP1};
use super::schedule::{Official, Place, Session};
use super::*;
use crate::calendar::{embedded_years, Day, WorkCalendar};

const IIN: &str = "600705451316";
/// A working Monday.
const MONDAY: &str = "2026-03-16";
/// A Monday that is a day off (moved from the 8 March holiday).
const MONDAY_OFF: &str = "2026-03-09";

fn calendar() -> WorkCalendar {
    WorkCalendar::new(embedded_years().unwrap().iter()).unwrap()
}

fn schedule() -> Schedule {
    Schedule {
        sample: false,
        officials: vec![
            Official {
                id: "head".into(),
                name: "Head A.".into(),
                rank: OfficialRank::Head,
            },
            Official {
                id: "dep".into(),
                name: "Deputy B.".into(),
                rank: OfficialRank::Deputy,
            },
        ],
        places: vec![Place {
            id: "hq".into(),
            kato: "710000000".into(),
            addressee: "HQ room 1".into(),
        }],
        sessions: vec![Session {
            id: "mon".into(),
            official: "head".into(),
            place: "hq".into(),
            weekday: 1,
            start: "10:00".into(),
            slot_minutes: 20,
            slots: 3,
            mode: Mode::Offline,
        }],
    }
}

fn applicant() -> BTreeMap<u8, String> {
    BTreeMap::from([
        (7, "1".to_string()),
        (9, "2".to_string()),
        (10, IIN.to_string()),
        (11, "Ахметова".to_string()),
        (12, "Айгуль".to_string()),
        (16, "1960-07-05".to_string()),
        (18, "pensioner".to_string()),
        (23, "documents".to_string()),
    ])
}

fn input(date: &str, time: &str) -> BookingInput {
    BookingInput {
        origin: Origin::Desk,
        date: date.into(),
        time: time.into(),
        session: Some("mon".into()),
        out_of_schedule: None,
        fields: applicant(),
    }
}

struct Fixture {
    schedule: Schedule,
    reference: ReceptionReference,
    calendar: WorkCalendar,
}

impl Fixture {
    fn new() -> Self {
        Fixture {
            schedule: schedule(),
            reference: ReceptionReference::demo(),
            calendar: calendar(),
        }
    }
    fn region(&self) -> Region<'_> {
        Region {
            code: "AST",
            body: "ДП города Астаны",
            schedule: &self.schedule,
            reference: &self.reference,
            calendar: &self.calendar,
        }
    }
    fn prepare(&self, input: &BookingInput, via: Via) -> Result<BookingRecord, DomainError> {
        prepare_booking(
            input,
            via,
            &self.region(),
            "r1",
            Day::parse("2026-03-02").unwrap(),
            1,
        )
    }
}

fn ctx(replica: &str, at: i64) -> Ctx {
    Ctx::new("desk", replica, at)
}

fn booking_doc(record: &BookingRecord, replica: &str, actor: u8) -> ReceptionDoc {
    ReceptionDoc::create_booking(
        ActorId::from(vec![actor; 16]),
        "r1",
        "AST",
        record,
        &ctx(replica, 1_000),
    )
    .unwrap()
}

fn booking_of(doc: &ReceptionDoc) -> Booking {
    match doc.view().unwrap() {
        ReceptionView::Booking(b) => *b,
        other => panic!("{other:?}"),
    }
}

#[test]
fn r31_lp1_has_the_seeds_36_fields_with_its_mandatory_ones() {
    let numbers: Vec<u8> = LP1.iter().map(|f| f.number).collect();
    assert_eq!(numbers, (1..=36).collect::<Vec<u8>>());
    let mandatory: Vec<u8> = LP1
        .iter()
        .filter(|f| f.mandatory)
        .map(|f| f.number)
        .collect();
    assert_eq!(mandatory, lp1::MANDATORY_WHEN_HELD.to_vec());
    assert_eq!(mandatory, vec![10, 11, 12, 18, 26, 27, 28, 29, 31, 32, 33]);
    assert_eq!(LP1[9].ru, "Индивидуальный идентификационный номер");
    assert_eq!(
        LP1[35].ru,
        "Прием не проведен (комментарий причина не проведения приема)"
    );
    assert_eq!(LP1[27].ru, "Место приема/город");
    assert!(LP1.iter().all(|f| !f.kk.is_empty()));
}

#[test]
fn r31_demo_reference_is_sample_data_and_a_bad_file_is_refused_with_the_reason() {
    let r = ReceptionReference::demo();
    assert!(r.sample);
    assert_eq!(
        r.lookup(RefList::Kato, "710000000").map(|x| x.1),
        Some("город Астана")
    );
    assert_eq!(
        r.decision_column("explained"),
        Some(DecisionColumn::Explained)
    );
    let twice = DEMO_TWICE.replace("CODE2", "a");
    assert!(ReceptionReference::from_toml(&twice)
        .unwrap_err()
        .contains("given twice"));
    let empty = DEMO_TWICE
        .replace("[[kato]]\ncode = \"CODE2\"\nkk = \"b\"\nru = \"b\"\n", "")
        .replace("[[kato]]\ncode = \"a\"\nkk = \"a\"\nru = \"a\"\n", "")
        .replace("source = \"test\"\n", "source = \"test\"\nkato = []\n");
    assert!(ReceptionReference::from_toml(&empty)
        .unwrap_err()
        .contains("kato has no entries"));
    assert!(ReceptionReference::from_toml("sample = true\nsource = \"x\"\nextra = 1").is_err());
}

const DEMO_TWICE: &str = r#"sample = false
source = "test"
[[kato]]
code = "a"
kk = "a"
ru = "a"
[[kato]]
code = "CODE2"
kk = "b"
ru = "b"
[[social_status]]
code = "a"
kk = "a"
ru = "a"
[[question_nature]]
code = "a"
kk = "a"
ru = "a"
[[decision]]
code = "a"
kk = "a"
ru = "a"
report = "satisfied"
[[nationality]]
code = "a"
kk = "a"
ru = "a"
[[citizenship]]
code = "a"
kk = "a"
ru = "a"
[[language]]
code = "a"
kk = "a"
ru = "a"
"#;

#[test]
fn r31_a_booking_fills_the_automatic_fields_from_the_region_and_the_schedule() {
    let fx = Fixture::new();
    let record = fx.prepare(&input(MONDAY, "10:20"), Via::Node).unwrap();
    let doc = booking_doc(&record, "AST", 1);
    let b = booking_of(&doc);
    assert_eq!(b.status, BookingStatus::Booked);
    let v = b.lp1_values();
    assert_eq!(v[&1], "ДП города Астаны");
    assert_eq!(v[&2], "AST-ЖҚ-r1");
    assert_eq!(v[&3], "2", "the second slot of the session");
    assert_eq!(v[&4], "2026-03-02");
    assert_eq!(v[&5], "2", "in schedule: option 2 (нет)");
    assert_eq!(v[&6], "2", "offline");
    assert_eq!(v[&17], "65", "full years on the reception day");
    assert_eq!(v[&24], "head");
    assert_eq!((v[&26].as_str(), v[&27].as_str()), (MONDAY, "10:20"));
    assert_eq!(
        (v[&28].as_str(), v[&29].as_str()),
        ("710000000", "HQ room 1")
    );
    assert!(b.missing().is_empty());
    let card = b.lp1(&fx.reference, Some(&fx.schedule));
    assert_eq!(card.fields.len(), 36);
    assert_eq!(card.fields[17].value_ru.as_deref(), Some("Пенсионер"));
    assert_eq!(card.fields[23].value_ru.as_deref(), Some("Head A."));
    assert_eq!(card.fields[5].value_ru.as_deref(), Some("оффлайн"));
    assert!(card.fields[0].automatic && !card.fields[10].automatic);
    assert!(card.sample_reference);
}

#[test]
fn r31_bad_bookings_are_refused_with_the_field_that_is_wrong() {
    let fx = Fixture::new();
    let code = |i: &BookingInput| {
        let e = fx.prepare(i, Via::Node).unwrap_err();
        (e.code(), e.field_name().map(str::to_string))
    };
    let mut i = input(MONDAY, "10:00");
    i.fields.remove(&11);
    assert_eq!(code(&i), ("lp1_field_missing", Some("lp1_11".into())));
    let mut i = input(MONDAY, "10:00");
    i.fields.remove(&18);
    assert_eq!(code(&i), ("lp1_field_missing", Some("lp1_18".into())));
    let mut i = input(MONDAY, "10:00");
    i.fields.insert(10, "600705451317".into());
    assert_eq!(code(&i), ("iin_invalid", Some("lp1_10".into())));
    let mut i = input(MONDAY, "10:00");
    i.fields.insert(18, "astronaut".into());
    assert_eq!(code(&i), ("lp1_field_invalid", Some("lp1_18".into())));
    let mut i = input(MONDAY, "10:00");
    i.fields.insert(9, "3".into());
    assert_eq!(code(&i), ("lp1_field_invalid", Some("lp1_9".into())));
    let mut i = input(MONDAY, "10:00");
    i.fields.insert(28, "710000000".into());
    assert_eq!(code(&i), ("lp1_field_not_editable", Some("lp1_28".into())));
    assert_eq!(
        code(&input(MONDAY, "10:10")),
        ("reception_slot_unknown", Some("time".into()))
    );
    assert_eq!(
        code(&input("2026-03-17", "10:00")),
        ("reception_slot_unknown", Some("date".into()))
    );
    assert_eq!(
        code(&input(MONDAY_OFF, "10:00")),
        ("reception_non_working_day", Some("date".into()))
    );
    let mut i = input(MONDAY, "10:00");
    i.session = Some("friday".into());
    assert_eq!(code(&i), ("reception_slot_unknown", Some("session".into())));
    // A schedule whose place has a КАТО code the list lacks is refused.
    let mut s = schedule();
    s.places[0].kato = "999999999".into();
    assert_eq!(
        s.validate(&fx.reference).unwrap_err().code(),
        "kato_unknown"
    );
    assert!(schedule().validate(&fx.reference).is_ok());
}

#[test]
fn r31_a_held_reception_needs_the_official_secretary_and_attendees() {
    let fx = Fixture::new();
    let record = fx.prepare(&input(MONDAY, "10:00"), Via::Node).unwrap();
    let mut doc = booking_doc(&record, "AST", 1);
    let b = booking_of(&doc);
    let partial = BTreeMap::from([
        (25, "explained".to_string()),
        (32, "Секретарь С.".to_string()),
    ]);
    let e = check_record_held(&b, &partial, &fx.reference, &fx.schedule).unwrap_err();
    assert_eq!(
        (e.code(), e.field_name()),
        ("lp1_field_missing", Some("lp1_33"))
    );
    let mut full = partial.clone();
    full.insert(33, "Ахметова А., представитель".into());
    full.insert(34, "kk".into());
    check_record_held(&b, &full, &fx.reference, &fx.schedule).unwrap();
    doc.apply(&ReceptionCommand::RecordHeld(full), &ctx("AST", 2_000))
        .unwrap();
    let b = booking_of(&doc);
    assert_eq!(b.status, BookingStatus::Held);
    assert_eq!(
        b.lp1_values()[&31],
        "head",
        "received by the presiding head"
    );
    assert!(b.missing().is_empty());
    assert_eq!(
        b.log.iter().map(|l| l.action.as_str()).collect::<Vec<_>>(),
        ["booked", "held"]
    );
    // A recorded reception is not recorded again.
    assert!(doc
        .apply(
            &ReceptionCommand::RecordNotHeld(BTreeMap::new()),
            &ctx("AST", 3_000)
        )
        .is_err());
}

#[test]
fn r31_a_reception_not_held_is_recorded_with_its_reason_in_field_36() {
    let fx = Fixture::new();
    let record = fx.prepare(&input(MONDAY, "10:00"), Via::Node).unwrap();
    let mut doc = booking_doc(&record, "AST", 1);
    let b = booking_of(&doc);
    let e = check_record_not_held(&b, &BTreeMap::new(), &fx.reference, &fx.schedule).unwrap_err();
    assert_eq!(e.field_name(), Some("lp1_36"));
    let reason = BTreeMap::from([(36, "Заявитель не явился".to_string())]);
    check_record_not_held(&b, &reason, &fx.reference, &fx.schedule).unwrap();
    doc.apply(&ReceptionCommand::RecordNotHeld(reason), &ctx("AST", 2_000))
        .unwrap();
    let b = booking_of(&doc);
    assert_eq!(b.status, BookingStatus::NotHeld);
    let card = b.lp1(&fx.reference, Some(&fx.schedule));
    assert_eq!(
        card.fields[35].value.as_deref(),
        Some("Заявитель не явился")
    );
    assert!(card.missing.is_empty());
    // Loaded back from bytes, the record reads the same.
    let mut doc2 = ReceptionDoc::load([doc.save().as_slice()]).unwrap();
    assert_eq!(booking_of(&doc2), b);
    let _ = doc2.save();
}

/// Settles a request against the records `held` (date, session, time) the region has.
fn settle_against(
    fx: &Fixture,
    request: &Booking,
    held: &[(String, String, String)],
) -> Settlement {
    settle(request, &fx.schedule, &fx.calendar, &|d, s, t| {
        held.iter()
            .any(|(hd, hs, ht)| hd == d && hs == s && ht == t)
    })
}

#[test]
fn r31_request_through_the_hub_after_the_desk_booked_its_slot_is_moved() {
    let fx = Fixture::new();
    // The region's desk booked 10:00 while the link was down.
    let held = vec![(MONDAY.to_string(), "mon".to_string(), "10:00".to_string())];
    // The hub wrote the request for the same slot; unchecked there.
    let request = fx.prepare(&input(MONDAY, "10:00"), Via::Hub).unwrap();
    let mut hub = booking_doc(&request, "central", 9);
    assert_eq!(booking_of(&hub).status, BookingStatus::Requested);
    // The link returns: the region receives it and settles it.
    let mut region = ReceptionDoc::load([hub.save().as_slice()]).unwrap();
    region.set_actor(ActorId::from(vec![1u8; 16]));
    let s = settle_against(&fx, &booking_of(&region), &held);
    let Settlement::Move(slot) = s.clone() else {
        panic!("{s:?}")
    };
    assert_eq!(
        (slot.date.as_str(), slot.time.as_str(), slot.queue),
        (MONDAY, "10:20", 2)
    );
    region
        .apply(&ReceptionCommand::Move(slot), &ctx("AST", 5_000))
        .unwrap();
    // The hub's copy and the region's converge in both merge orders.
    let mut a = hub.fork(ActorId::from(vec![2u8; 16]));
    a.merge(&mut region).unwrap();
    let mut b = region.fork(ActorId::from(vec![3u8; 16]));
    b.merge(&mut hub).unwrap();
    let (va, vb) = (booking_of(&a), booking_of(&b));
    assert_eq!(va, vb);
    assert_eq!(va.status, BookingStatus::Booked);
    assert_eq!(va.slot.time, "10:20");
    assert_eq!(
        va.moved_from.as_ref().map(|s| s.time.as_str()),
        Some("10:00")
    );
}

#[test]
fn r31_request_through_the_hub_that_arrives_first_holds_its_slot() {
    let fx = Fixture::new();
    let request = fx.prepare(&input(MONDAY, "10:00"), Via::Hub).unwrap();
    let hub = booking_doc(&request, "central", 9);
    let mut region = ReceptionDoc::load([hub.clone_bytes().as_slice()]).unwrap();
    assert_eq!(
        settle_against(&fx, &booking_of(&region), &[]),
        Settlement::Confirm
    );
    region
        .apply(&ReceptionCommand::Confirm, &ctx("AST", 5_000))
        .unwrap();
    assert_eq!(booking_of(&region).status, BookingStatus::Booked);
    // A desk booking of that slot afterwards finds it taken (the node checks its slot index
    // the same way `settle` does): the request keeps it.
    let held = vec![(MONDAY.to_string(), "mon".to_string(), "10:00".to_string())];
    let later = booking_of(&booking_doc(
        &fx.prepare(&input(MONDAY, "10:00"), Via::Hub).unwrap(),
        "central",
        8,
    ));
    assert!(matches!(settle_against(&fx, &later, &held), Settlement::Move(s) if s.time == "10:20"));
}

#[test]
fn r31_a_request_with_no_free_slot_skips_days_off_or_is_refused() {
    let fx = Fixture::new();
    // Every slot of 16 March taken: the next Monday, 23 March, is a holiday (Наурыз), so the
    // request goes to 30 March.
    let held: Vec<_> = ["10:00", "10:20", "10:40"]
        .iter()
        .map(|t| (MONDAY.to_string(), "mon".to_string(), t.to_string()))
        .collect();
    let request = booking_of(&booking_doc(
        &fx.prepare(&input(MONDAY, "10:40"), Via::Hub).unwrap(),
        "central",
        9,
    ));
    let Settlement::Move(slot) = settle_against(&fx, &request, &held) else {
        panic!()
    };
    assert_eq!(
        (slot.date.as_str(), slot.time.as_str()),
        ("2026-03-30", "10:00")
    );
    // Nothing free within the horizon: refused with the reason.
    let all = fx.schedule.clone();
    let r = settle(&request, &all, &fx.calendar, &|_, _, _| true);
    assert!(
        matches!(r, Settlement::Refuse(ref why) if why.contains("no free slot")),
        "{r:?}"
    );
}

impl ReceptionDoc {
    fn clone_bytes(&self) -> Vec<u8> {
        self.doc.clone().save()
    }
}

#[test]
fn r31_a_held_record_gives_report_1ol_its_entry() {
    use crate::report_1ol::{Receiver, ReceptionDecision, ReceptionOutcome};
    let fx = Fixture::new();
    let at = |d: &str| Day::parse(d).unwrap().start_ms(300) + 3_600_000;
    let record = fx.prepare(&input(MONDAY, "10:00"), Via::Node).unwrap();
    let mut doc = ReceptionDoc::create_booking(
        ActorId::from(vec![1u8; 16]),
        "r1",
        "AST",
        &record,
        &ctx("AST", at("2026-03-02")),
    )
    .unwrap();
    let entry = |doc: &ReceptionDoc| {
        report::entry(&booking_of(doc), Some(&fx.schedule), &fx.reference, 300).unwrap()
    };
    let booked = entry(&doc);
    assert_eq!(booked.requested_on, Day::parse("2026-03-02").unwrap());
    assert_eq!(booked.booked_on, Some(Day::parse("2026-03-02").unwrap()));
    assert_eq!(booked.outcome, None);
    booked.validate().unwrap();
    let fields = BTreeMap::from([
        (25, "satisfied".to_string()),
        (31, "dep".to_string()),
        (32, "С.".to_string()),
        (33, "А.".to_string()),
    ]);
    doc.apply(
        &ReceptionCommand::RecordHeld(fields),
        &ctx("AST", at(MONDAY)),
    )
    .unwrap();
    let held = entry(&doc);
    held.validate().unwrap();
    assert!(held.revision > booked.revision);
    assert_eq!(
        held.outcome,
        Some(ReceptionOutcome::Held {
            on: Day::parse(MONDAY).unwrap(),
            by: Receiver::Deputy,
            decision: Some(ReceptionDecision::Satisfied),
        })
    );
    assert_eq!(
        (held.region.as_str(), held.record_id.as_str()),
        ("AST", "r1")
    );
}

#[test]
fn r31_a_reception_out_of_schedule_is_marked_in_field_5_and_still_needs_a_working_day() {
    let fx = Fixture::new();
    let mut i = input(MONDAY, "16:05");
    i.session = None;
    i.out_of_schedule = Some(OutOfSchedule {
        official: "dep".into(),
        place: "hq".into(),
        mode: Mode::Online,
    });
    let record = fx.prepare(&i, Via::Node).unwrap();
    let b = booking_of(&booking_doc(&record, "AST", 1));
    let v = b.lp1_values();
    assert_eq!(
        (v[&5].as_str(), v[&6].as_str(), v[&24].as_str()),
        ("1", "1", "dep")
    );
    assert_eq!(v[&3], "1");
    i.date = MONDAY_OFF.into();
    assert_eq!(
        fx.prepare(&i, Via::Node).unwrap_err().code(),
        "reception_non_working_day"
    );
    i.date = MONDAY.into();
    i.out_of_schedule.as_mut().unwrap().official = "nobody".into();
    assert_eq!(
        fx.prepare(&i, Via::Node).unwrap_err().code(),
        "reception_slot_unknown"
    );
}

#[test]
fn r31_the_demo_schedule_is_sample_data_valid_against_the_demo_lists() {
    let s: Schedule = serde_json::from_str(schedule::DEMO_SCHEDULE_JSON).unwrap();
    assert!(s.sample);
    s.validate(&ReceptionReference::demo()).unwrap();
}
