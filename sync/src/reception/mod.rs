//! Personal reception (личный прием, R31, seed 004 p.18, p.23 and Приложение 2-1): a region's
//! reception schedule and the reception records, each with its ЛП-1 card.
//!
//! One document kind, `reception`, written by the region's node (`AST/reception/…`):
//! - `AST/reception/schedule`: the schedule ([`Schedule`]) the official responsible for
//!   reception keeps; one JSON value replaced whole (last writer wins);
//! - `AST/reception/<id>`: one reception record (a booking and, later, what happened at it).
//!   The ЛП-1 fields are a map keyed by field number (last writer wins per field); the slot
//!   (date, time, session, official, place) is one JSON value so its parts never mix; the
//!   record's actions are an append-only log (R39: an entry for every action and decision).
//!
//! # Bookings through the hub while the region is cut off
//!
//! A booking made at the region's desk, or by the app or bot through the region's node, is
//! checked against the schedule and the slots already taken and is [`BookingStatus::Booked`] at
//! once. The hub cannot know the region's slots while the link is down, so a booking that
//! arrives through the hub is written there as [`BookingStatus::Requested`] ([`BookingRecord`]
//! with `via = Hub`). When the region's node receives it (the link returned), it settles it
//! ([`settle`]): the slot is still free and valid → confirmed; taken (the desk booked it while
//! the link was down) or not a slot → moved to the first free slot of the same session (within
//! [`schedule::MOVE_HORIZON_DAYS`]); none → refused with the reason. Both orders end in one
//! booking per slot: a request that arrives first holds the slot and a later desk booking of
//! it is refused as taken; a desk booking that came first keeps it and the request moves. A
//! request that arrives while the region has no schedule waits, listed as requested, and is
//! settled when the schedule is set.

pub mod lp1;
pub mod reference;
pub mod report;
pub mod schedule;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use automerge::{transaction::Transactable, AutoCommit, ObjType, ReadDoc, ROOT};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::calendar::{Day, WorkCalendar};
use crate::doc::{append_json, get_i64, get_obj, get_str, read_json_list, Ctx, Document};
use crate::error::DomainError;
pub use lp1::{Lp1Card, LP1};
pub use reference::{DecisionColumn, ReceptionReference, RefList};
pub use schedule::{Mode, OfficialRank, Schedule};

/// Schema version of reception documents.
pub const RECEPTION_SCHEMA_VERSION: i64 = 1;
/// The id of a region's schedule document.
pub const SCHEDULE_DOC_ID: &str = "schedule";
/// Longest free-text ЛП-1 value, in characters.
pub const LP1_TEXT_CHARS_MAX: usize = 1_000;
/// Fields a booking may give (the applicant, fields 7–23 but 17, computed from 16; the two
/// comments).
pub const BOOKING_FIELDS: [u8; 18] = [
    7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 18, 19, 20, 21, 22, 23, 30, 35,
];
/// Fields the record of a held reception may give.
pub const RECORD_FIELDS: [u8; 7] = [25, 30, 31, 32, 33, 34, 35];
/// Fields the record of a reception not held may give (36 is the reason).
pub const NOT_HELD_FIELDS: [u8; 7] = [30, 31, 32, 33, 34, 35, 36];

/// Where a booking was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// At the reception desk.
    Desk,
    /// The citizens' app.
    App,
    /// A chat bot.
    Bot,
}

/// Which replica wrote the booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    /// The region's node: checked against the schedule when made.
    Node,
    /// The hub, while the region may be cut off: a request the region settles.
    Hub,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BookingStatus {
    /// Arrived through the hub; the region has not confirmed or moved it yet.
    Requested,
    /// Holds its slot.
    Booked,
    /// Refused (report 1-ОЛ: "Отказано в личном приеме").
    Refused,
    /// The reception took place.
    Held,
    /// The reception did not take place (field 36 gives the reason).
    NotHeld,
}

impl BookingStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            BookingStatus::Requested => "requested",
            BookingStatus::Booked => "booked",
            BookingStatus::Refused => "refused",
            BookingStatus::Held => "held",
            BookingStatus::NotHeld => "not_held",
        }
    }
    fn parse(s: &str) -> Option<BookingStatus> {
        [
            BookingStatus::Requested,
            BookingStatus::Booked,
            BookingStatus::Refused,
            BookingStatus::Held,
            BookingStatus::NotHeld,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

/// A booking's slot with what the schedule said of it when booked (fields 3, 5, 6, 24, 26–29).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Slot {
    pub date: String,
    pub time: String,
    /// The schedule's session; `None` out of schedule (field 5).
    pub session: Option<String>,
    pub official: String,
    pub official_name: String,
    pub rank: OfficialRank,
    pub place: String,
    pub kato: String,
    pub addressee: String,
    pub mode: Mode,
    /// Field 3: the slot's number in its session's queue of the day (out of schedule: after
    /// the session's slots).
    pub queue: u32,
}

/// One action on a record (R39).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LogEntry {
    pub at_ms: i64,
    pub by: String,
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// What a new reception record holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BookingRecord {
    pub origin: Origin,
    pub via: Via,
    pub slot: Slot,
    /// ЛП-1 fields given at booking and filled from the region (1, 2, 4).
    pub fields: BTreeMap<u8, String>,
}

/// A reception record as readers see it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Booking {
    pub id: String,
    pub region: String,
    pub origin: Origin,
    pub via: Via,
    pub status: BookingStatus,
    pub slot: Slot,
    /// The slot a request asked for, when the region moved it.
    pub moved_from: Option<Slot>,
    pub refusal: Option<String>,
    /// The stored ЛП-1 fields (not the slot's, see [`Booking::lp1_values`]).
    pub fields: BTreeMap<u8, String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub log: Vec<LogEntry>,
}

/// A schedule or a reception record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum ReceptionView {
    Schedule { region: String, schedule: Schedule },
    Booking(Box<Booking>),
}

/// A change to a reception document.
#[derive(Debug, Clone, PartialEq)]
pub enum ReceptionCommand {
    SetSchedule(Schedule),
    /// A request holds its slot.
    Confirm,
    /// A request or booking goes to another slot.
    Move(Slot),
    Refuse {
        reason: String,
    },
    /// The reception took place: fields 25, 30–35.
    RecordHeld(BTreeMap<u8, String>),
    /// It did not: field 36 and any of 30–35.
    RecordNotHeld(BTreeMap<u8, String>),
}

/// A reception document.
pub struct ReceptionDoc {
    doc: AutoCommit,
}

impl Document for ReceptionDoc {
    const SCHEMA_VERSION: i64 = RECEPTION_SCHEMA_VERSION;
    const KIND: &'static str = "reception";
    fn wrap(doc: AutoCommit) -> Self {
        ReceptionDoc { doc }
    }
    fn automerge(&mut self) -> &mut AutoCommit {
        &mut self.doc
    }
}

fn json<T: Serialize>(v: &T) -> Result<String, DomainError> {
    serde_json::to_string(v).map_err(|e| DomainError::CorruptDocument(e.to_string()))
}

fn from_value<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> Result<T, DomainError> {
    serde_json::from_value(v).map_err(|e| DomainError::CorruptDocument(e.to_string()))
}

fn parse_json<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, DomainError> {
    serde_json::from_str(s).map_err(|e| DomainError::CorruptDocument(e.to_string()))
}

impl ReceptionDoc {
    /// A region's schedule document (`ctx.replica` is the region).
    pub fn create_schedule(
        actor: automerge::ActorId,
        schedule: &Schedule,
        ctx: &Ctx,
    ) -> Result<ReceptionDoc, DomainError> {
        let mut doc = AutoCommit::new().with_actor(actor);
        doc.put(ROOT, "v", RECEPTION_SCHEMA_VERSION)?;
        doc.put(ROOT, "t", "schedule")?;
        doc.put(ROOT, "id", SCHEDULE_DOC_ID)?;
        doc.put(ROOT, "region", ctx.replica.as_str())?;
        doc.put(ROOT, "schedule", json(schedule)?)?;
        doc.put(ROOT, "updated_at", ctx.now_ms)?;
        Ok(ReceptionDoc { doc })
    }

    /// A reception record of `region` (the node's region, or the region a hub request is for).
    pub fn create_booking(
        actor: automerge::ActorId,
        id: &str,
        region: &str,
        record: &BookingRecord,
        ctx: &Ctx,
    ) -> Result<ReceptionDoc, DomainError> {
        if id == SCHEDULE_DOC_ID {
            return Err(DomainError::field(
                "id",
                "a reception record cannot be named 'schedule'",
            ));
        }
        let status = match record.via {
            Via::Node => BookingStatus::Booked,
            Via::Hub => BookingStatus::Requested,
        };
        let mut doc = AutoCommit::new().with_actor(actor);
        doc.put(ROOT, "v", RECEPTION_SCHEMA_VERSION)?;
        doc.put(ROOT, "t", "booking")?;
        doc.put(ROOT, "id", id)?;
        doc.put(ROOT, "region", region)?;
        doc.put(ROOT, "origin", json(&record.origin)?.trim_matches('"'))?;
        doc.put(ROOT, "via", json(&record.via)?.trim_matches('"'))?;
        doc.put(ROOT, "created_at", ctx.now_ms)?;
        doc.put(ROOT, "updated_at", ctx.now_ms)?;
        doc.put(ROOT, "status", status.as_str())?;
        doc.put(ROOT, "slot", json(&record.slot)?)?;
        let fields = doc.put_object(ROOT, "f", ObjType::Map)?;
        for (n, v) in &record.fields {
            doc.put(&fields, n.to_string(), v.as_str())?;
        }
        let log = doc.put_object(ROOT, "log", ObjType::List)?;
        append_json(
            &mut doc,
            &log,
            &LogEntry {
                at_ms: ctx.now_ms,
                by: ctx.writer(),
                action: status.as_str().to_string(),
                detail: Some(format!("{} {}", record.slot.date, record.slot.time)),
            },
        )?;
        Ok(ReceptionDoc { doc })
    }

    /// The document as readers see it.
    pub fn view(&self) -> Result<ReceptionView, DomainError> {
        let d = &self.doc;
        let corrupt =
            |what: &str| DomainError::CorruptDocument(format!("reception {what} is missing"));
        let region = get_str(d, &ROOT, "region").ok_or_else(|| corrupt("region"))?;
        match get_str(d, &ROOT, "t").as_deref() {
            Some("schedule") => Ok(ReceptionView::Schedule {
                region,
                schedule: parse_json(
                    &get_str(d, &ROOT, "schedule").ok_or_else(|| corrupt("schedule"))?,
                )?,
            }),
            Some("booking") => {
                let enum_of = |key: &str| -> Result<serde_json::Value, DomainError> {
                    Ok(serde_json::Value::String(
                        get_str(d, &ROOT, key).ok_or_else(|| corrupt(key))?,
                    ))
                };
                let f = get_obj(d, &ROOT, "f")?;
                let mut fields = BTreeMap::new();
                for item in d.map_range(&f, ..) {
                    if let (Ok(n), Some(v)) = (
                        item.key.parse::<u8>(),
                        automerge::Value::from(item.value)
                            .as_str()
                            .map(str::to_string),
                    ) {
                        fields.insert(n, v);
                    }
                }
                let log_obj = get_obj(d, &ROOT, "log")?;
                let log: Vec<LogEntry> = read_json_list(d, &log_obj)?;
                let created_at_ms =
                    get_i64(d, &ROOT, "created_at").ok_or_else(|| corrupt("created_at"))?;
                Ok(ReceptionView::Booking(Box::new(Booking {
                    id: get_str(d, &ROOT, "id").ok_or_else(|| corrupt("id"))?,
                    region,
                    origin: from_value(enum_of("origin")?)?,
                    via: from_value(enum_of("via")?)?,
                    status: get_str(d, &ROOT, "status")
                        .and_then(|s| BookingStatus::parse(&s))
                        .ok_or_else(|| corrupt("status"))?,
                    slot: parse_json(&get_str(d, &ROOT, "slot").ok_or_else(|| corrupt("slot"))?)?,
                    moved_from: get_str(d, &ROOT, "moved_from")
                        .map(|s| parse_json(&s))
                        .transpose()?,
                    refusal: get_str(d, &ROOT, "refusal"),
                    fields,
                    created_at_ms,
                    updated_at_ms: get_i64(d, &ROOT, "updated_at").unwrap_or(created_at_ms),
                    log,
                })))
            }
            _ => Err(DomainError::CorruptDocument(
                "not a reception document".into(),
            )),
        }
    }

    fn booking(&self) -> Result<Booking, DomainError> {
        match self.view()? {
            ReceptionView::Booking(b) => Ok(*b),
            ReceptionView::Schedule { .. } => Err(DomainError::transition(
                "this is the schedule, not a reception record",
            )),
        }
    }

    fn log(&mut self, action: &str, detail: Option<String>, ctx: &Ctx) -> Result<(), DomainError> {
        let log = get_obj(&self.doc, &ROOT, "log")?;
        append_json(
            &mut self.doc,
            &log,
            &LogEntry {
                at_ms: ctx.now_ms,
                by: ctx.writer(),
                action: action.to_string(),
                detail,
            },
        )?;
        self.doc.put(ROOT, "updated_at", ctx.now_ms)?;
        Ok(())
    }

    fn put_fields(&mut self, fields: &BTreeMap<u8, String>) -> Result<(), DomainError> {
        let f = get_obj(&self.doc, &ROOT, "f")?;
        for (n, v) in fields {
            self.doc.put(&f, n.to_string(), v.as_str())?;
        }
        Ok(())
    }

    /// Applies a command the caller has validated ([`check_record`] and friends); refuses a
    /// step the record's state does not allow.
    pub fn apply(&mut self, cmd: &ReceptionCommand, ctx: &Ctx) -> Result<(), DomainError> {
        if let ReceptionCommand::SetSchedule(s) = cmd {
            if !matches!(self.view()?, ReceptionView::Schedule { .. }) {
                return Err(DomainError::transition("not the schedule document"));
            }
            self.doc.put(ROOT, "schedule", json(s)?)?;
            self.doc.put(ROOT, "updated_at", ctx.now_ms)?;
            return Ok(());
        }
        let b = self.booking()?;
        let refuse = |what: &str| {
            Err(DomainError::transition(format!(
                "a reception record that is {} cannot be {what}",
                b.status.as_str()
            )))
        };
        match cmd {
            ReceptionCommand::SetSchedule(_) => unreachable!("handled above"),
            ReceptionCommand::Confirm => {
                if b.status != BookingStatus::Requested {
                    return refuse("confirmed");
                }
                self.doc
                    .put(ROOT, "status", BookingStatus::Booked.as_str())?;
                self.log("confirmed", None, ctx)
            }
            ReceptionCommand::Move(slot) => {
                if !matches!(b.status, BookingStatus::Requested | BookingStatus::Booked) {
                    return refuse("moved");
                }
                self.doc.put(ROOT, "moved_from", json(&b.slot)?)?;
                self.doc.put(ROOT, "slot", json(slot)?)?;
                self.doc
                    .put(ROOT, "status", BookingStatus::Booked.as_str())?;
                self.log("moved", Some(format!("{} {}", slot.date, slot.time)), ctx)
            }
            ReceptionCommand::Refuse { reason } => {
                if !matches!(b.status, BookingStatus::Requested | BookingStatus::Booked) {
                    return refuse("refused");
                }
                self.doc.put(ROOT, "refusal", reason.as_str())?;
                self.doc
                    .put(ROOT, "status", BookingStatus::Refused.as_str())?;
                self.log("refused", Some(reason.clone()), ctx)
            }
            ReceptionCommand::RecordHeld(fields) | ReceptionCommand::RecordNotHeld(fields) => {
                if b.status != BookingStatus::Booked {
                    return refuse("recorded");
                }
                let (status, action) = match cmd {
                    ReceptionCommand::RecordHeld(_) => (BookingStatus::Held, "held"),
                    _ => (BookingStatus::NotHeld, "not_held"),
                };
                self.put_fields(fields)?;
                self.doc.put(ROOT, "status", status.as_str())?;
                self.log(action, fields.get(&36).cloned(), ctx)
            }
        }
    }
}

impl Booking {
    /// All ЛП-1 values: the stored fields and those the slot gives (3, 5, 6, 24, 26–29), with
    /// field 17 (age in full years at the reception date) computed from 16.
    pub fn lp1_values(&self) -> BTreeMap<u8, String> {
        let mut v = self.fields.clone();
        let s = &self.slot;
        v.insert(3, s.queue.to_string());
        v.insert(5, if s.session.is_none() { "1" } else { "2" }.to_string());
        v.insert(6, s.mode.option().to_string());
        v.insert(24, s.official.clone());
        v.insert(26, s.date.clone());
        v.insert(27, s.time.clone());
        v.insert(28, s.kato.clone());
        v.insert(29, s.addressee.clone());
        if self.status == BookingStatus::Held && !v.contains_key(&31) {
            // Received by the presiding official unless the record names another.
            v.insert(31, s.official.clone());
        }
        if let (Some(birth), Ok(on)) = (
            v.get(&16).and_then(|b| Day::parse(b).ok()),
            Day::parse(&s.date),
        ) {
            if let Some(age) = full_years(birth, on) {
                v.insert(17, age.to_string());
            }
        }
        v
    }

    /// The mandatory fields missing for the record's state.
    pub fn missing(&self) -> Vec<u8> {
        let needed: &[u8] = match self.status {
            BookingStatus::Held => &lp1::MANDATORY_WHEN_HELD,
            BookingStatus::NotHeld => &lp1::MANDATORY_WHEN_NOT_HELD,
            _ => &lp1::MANDATORY_AT_BOOKING,
        };
        let v = self.lp1_values();
        needed
            .iter()
            .copied()
            .filter(|n| v.get(n).is_none_or(|x| x.trim().is_empty()))
            .collect()
    }

    /// The ЛП-1 card.
    pub fn lp1(&self, reference: &ReceptionReference, schedule: Option<&Schedule>) -> Lp1Card {
        let slot = self.slot.clone();
        let names = move |id: &str| {
            schedule
                .and_then(|s| s.official(id).map(|o| o.name.clone()))
                .or_else(|| (id == slot.official).then(|| slot.official_name.clone()))
        };
        lp1::card(
            &self.id,
            &self.lp1_values(),
            self.missing(),
            reference,
            &names,
        )
    }
}

fn full_years(birth: Day, on: Day) -> Option<u32> {
    let (by, bm, bd) = birth.ymd();
    let (y, m, d) = on.ymd();
    let mut years = y - by;
    if (m, d) < (bm, bd) {
        years -= 1;
    }
    u32::try_from(years).ok()
}

/// Checks ЛП-1 values given for `allowed` fields: known numbers, options, reference codes,
/// dates, the ИИН (field 10) and text lengths.
pub fn check_fields(
    fields: &BTreeMap<u8, String>,
    allowed: &[u8],
    reference: &ReceptionReference,
    schedule: &Schedule,
) -> Result<(), DomainError> {
    use lp1::Lp1Value;
    for (n, value) in fields {
        let name = format!("lp1_{n}");
        let def = lp1::field(*n)
            .filter(|_| allowed.contains(n))
            .ok_or_else(|| {
                DomainError::rule_field(
                    "lp1_field_not_editable",
                    &name,
                    format!("ЛП-1 field {n} cannot be given here"),
                )
            })?;
        let bad = |why: String| {
            DomainError::rule_field(
                "lp1_field_invalid",
                &name,
                format!("ЛП-1 field {n} ({}): {why}", def.ru),
            )
        };
        if value.trim().is_empty() || value.chars().count() > LP1_TEXT_CHARS_MAX {
            return Err(bad(format!(
                "empty or longer than {LP1_TEXT_CHARS_MAX} characters"
            )));
        }
        match def.value {
            Lp1Value::Options if !(1..=def.options.len()).any(|i| i.to_string() == *value) => {
                return Err(bad(format!("the option is 1 to {}", def.options.len())));
            }
            Lp1Value::Reference(RefList::Kato)
                if reference.lookup(RefList::Kato, value).is_none() =>
            {
                return Err(DomainError::rule_field(
                    "kato_unknown",
                    &name,
                    format!("КАТО code {value:?} is not in the КАТО list"),
                ));
            }
            Lp1Value::Reference(list) if reference.lookup(list, value).is_none() => {
                return Err(bad(format!("{value:?} is not in its reference list")));
            }
            Lp1Value::Official if schedule.official(value).is_none() => {
                return Err(bad(format!("{value:?} is not an official of the schedule")));
            }
            Lp1Value::Date if Day::parse(value).is_err() => {
                return Err(bad("not a date YYYY-MM-DD".into()));
            }
            _ => {}
        }
        if *n == 10 && !crate::duplicates::iin_is_valid(value) {
            return Err(DomainError::rule_field(
                "iin_invalid",
                &name,
                format!("{value:?} is not a valid ИИН"),
            ));
        }
    }
    Ok(())
}

/// Refuses values missing from `mandatory` in `fields`, naming the first.
pub fn require_fields(fields: &BTreeMap<u8, String>, mandatory: &[u8]) -> Result<(), DomainError> {
    for n in mandatory {
        if fields.get(n).is_none_or(|v| v.trim().is_empty()) {
            let ru = lp1::field(*n).map_or("", |f| f.ru);
            return Err(DomainError::rule_field(
                "lp1_field_missing",
                &format!("lp1_{n}"),
                format!("ЛП-1 field {n} ({ru}) is mandatory"),
            ));
        }
    }
    Ok(())
}

/// A booking as a person or the app asks for it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BookingInput {
    pub origin: Origin,
    /// `YYYY-MM-DD`.
    pub date: String,
    /// `HH:MM`.
    pub time: String,
    /// The schedule's session; absent for a reception out of schedule.
    #[serde(default)]
    pub session: Option<String>,
    /// For a reception out of schedule (field 5): who receives and where.
    #[serde(default)]
    pub out_of_schedule: Option<OutOfSchedule>,
    /// ЛП-1 fields by number ([`BOOKING_FIELDS`]).
    #[schema(value_type = BTreeMap<String, String>)]
    pub fields: BTreeMap<u8, String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutOfSchedule {
    pub official: String,
    pub place: String,
    pub mode: Mode,
}

/// What the region knows when it checks a booking.
pub struct Region<'a> {
    pub code: &'a str,
    /// Field 1: the body's name.
    pub body: &'a str,
    pub schedule: &'a Schedule,
    pub reference: &'a ReceptionReference,
    pub calendar: &'a WorkCalendar,
}

/// Checks a booking against the schedule, the calendar and the reference lists and builds its
/// record: nothing is written when this fails. `queue_out_of_schedule` numbers a booking out of
/// schedule (field 3); `today` is field 4.
pub fn prepare_booking(
    input: &BookingInput,
    via: Via,
    region: &Region,
    id: &str,
    today: Day,
    queue_out_of_schedule: u32,
) -> Result<BookingRecord, DomainError> {
    check_fields(
        &input.fields,
        &BOOKING_FIELDS,
        region.reference,
        region.schedule,
    )?;
    let (session, official, place, mode, queue) = match (&input.session, &input.out_of_schedule) {
        (Some(session), None) => {
            let s =
                region
                    .schedule
                    .check_slot(region.calendar, &input.date, session, &input.time)?;
            let queue = Schedule::slot_times(s)
                .iter()
                .position(|t| *t == input.time)
                .unwrap_or(0) as u32
                + 1;
            (
                Some(session.clone()),
                s.official.clone(),
                s.place.clone(),
                s.mode,
                queue,
            )
        }
        (None, Some(o)) => {
            let day = Day::parse(&input.date).map_err(|_| {
                DomainError::rule_field("reception_slot_unknown", "date", "the date is YYYY-MM-DD")
            })?;
            schedule::check_working_day(region.calendar, day)?;
            if schedule::parse_time(&input.time).is_none() {
                return Err(DomainError::rule_field(
                    "reception_slot_unknown",
                    "time",
                    "the time is HH:MM",
                ));
            }
            (
                None,
                o.official.clone(),
                o.place.clone(),
                o.mode,
                queue_out_of_schedule,
            )
        }
        _ => {
            return Err(DomainError::rule_field(
                "reception_slot_unknown",
                "session",
                "a booking names either a session of the schedule or a reception out of schedule",
            ))
        }
    };
    let o = region.schedule.official(&official).ok_or_else(|| {
        DomainError::rule_field(
            "reception_slot_unknown",
            "official",
            format!("no official {official:?} in the schedule"),
        )
    })?;
    let p = region.schedule.place(&place).ok_or_else(|| {
        DomainError::rule_field(
            "reception_slot_unknown",
            "place",
            format!("no place {place:?} in the schedule"),
        )
    })?;
    if region.reference.lookup(RefList::Kato, &p.kato).is_none() {
        return Err(DomainError::rule_field(
            "kato_unknown",
            "kato",
            format!("КАТО code {:?} is not in the КАТО list", p.kato),
        ));
    }
    let slot = Slot {
        date: input.date.clone(),
        time: input.time.clone(),
        session,
        official: o.id.clone(),
        official_name: o.name.clone(),
        rank: o.rank,
        place: p.id.clone(),
        kato: p.kato.clone(),
        addressee: p.addressee.clone(),
        mode,
        queue,
    };
    let mut fields = input.fields.clone();
    fields.insert(1, region.body.to_string());
    fields.insert(2, registration_number(region.code, id));
    fields.insert(4, today.to_string());
    let record = BookingRecord {
        origin: input.origin,
        via,
        slot,
        fields,
    };
    let mut all = record.fields.clone();
    for n in [26, 27, 28, 29] {
        all.insert(n, "slot".into());
    }
    require_fields(&all, &lp1::MANDATORY_AT_BOOKING)?;
    Ok(record)
}

/// Field 2: the card's registration number. The seed gives no format; this system numbers a
/// card by its region, the mark «ЖҚ» (p.6: an application for a personal reception) and its
/// record id.
pub fn registration_number(region: &str, id: &str) -> String {
    format!("{region}-ЖҚ-{id}")
}

/// How the region settles a request that arrived through the hub.
#[derive(Debug, Clone, PartialEq)]
pub enum Settlement {
    Confirm,
    Move(Slot),
    Refuse(String),
}

impl Settlement {
    /// The command that writes the settlement on the request.
    pub fn command(self) -> ReceptionCommand {
        match self {
            Settlement::Confirm => ReceptionCommand::Confirm,
            Settlement::Move(slot) => ReceptionCommand::Move(slot),
            Settlement::Refuse(reason) => ReceptionCommand::Refuse { reason },
        }
    }
}

/// Settles a request ([`BookingStatus::Requested`]): `taken(date, session, time)` says whether
/// another record holds a slot.
pub fn settle(
    booking: &Booking,
    schedule: &Schedule,
    calendar: &WorkCalendar,
    taken: &dyn Fn(&str, &str, &str) -> bool,
) -> Settlement {
    let s = &booking.slot;
    let Some(session) = s.session.clone() else {
        return match Day::parse(&s.date).map(|d| schedule::check_working_day(calendar, d)) {
            Ok(Ok(())) => Settlement::Confirm,
            _ => Settlement::Refuse(format!("{} is not a working day", s.date)),
        };
    };
    let valid = schedule
        .check_slot(calendar, &s.date, &session, &s.time)
        .is_ok();
    if valid && !taken(&s.date, &session, &s.time) {
        return Settlement::Confirm;
    }
    let from_time = if valid { s.time.as_str() } else { "00:00" };
    let free = schedule.first_free_slot(calendar, &session, &s.date, from_time, &|d, t| {
        taken(d, &session, t)
    });
    match (free, schedule.session(&session)) {
        (Some((date, time)), Some(sess)) => {
            let (Some(o), Some(p)) = (
                schedule.official(&sess.official),
                schedule.place(&sess.place),
            ) else {
                return Settlement::Refuse("the session's official or place is gone".into());
            };
            let queue = Schedule::slot_times(sess)
                .iter()
                .position(|x| *x == time)
                .unwrap_or(0) as u32
                + 1;
            Settlement::Move(Slot {
                date,
                time,
                session: Some(session.clone()),
                official: o.id.clone(),
                official_name: o.name.clone(),
                rank: o.rank,
                place: p.id.clone(),
                kato: p.kato.clone(),
                addressee: p.addressee.clone(),
                mode: sess.mode,
                queue,
            })
        }
        _ => Settlement::Refuse(format!(
            "no free slot of session {session} within {} days",
            schedule::MOVE_HORIZON_DAYS
        )),
    }
}

/// Checks the record of a held reception (fields 25, 30–35) and that the card is then complete.
pub fn check_record_held(
    booking: &Booking,
    fields: &BTreeMap<u8, String>,
    reference: &ReceptionReference,
    schedule: &Schedule,
) -> Result<(), DomainError> {
    check_fields(fields, &RECORD_FIELDS, reference, schedule)?;
    let mut all = booking.lp1_values();
    all.extend(fields.clone());
    all.entry(31)
        .or_insert_with(|| booking.slot.official.clone());
    require_fields(&all, &lp1::MANDATORY_WHEN_HELD)
}

/// Checks the record of a reception not held: field 36 (the reason) is required.
pub fn check_record_not_held(
    booking: &Booking,
    fields: &BTreeMap<u8, String>,
    reference: &ReceptionReference,
    schedule: &Schedule,
) -> Result<(), DomainError> {
    check_fields(fields, &NOT_HELD_FIELDS, reference, schedule)?;
    let mut all = booking.lp1_values();
    all.extend(fields.clone());
    require_fields(&all, &lp1::MANDATORY_WHEN_NOT_HELD)
}
