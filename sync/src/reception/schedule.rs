//! A region's reception schedule: the heads and deputies who receive citizens, the places (with
//! their КАТО code and addressee, ЛП-1 fields 28–29), and the weekly sessions cut into slots,
//! each online or offline (field 6). A slot is (date, session, time); it holds one booking.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::reference::{ReceptionReference, RefList};
use crate::calendar::{Day, WorkCalendar};
use crate::error::DomainError;

/// The demo schedule (sample data, `"sample": true`), written on a fresh node's first start
/// when it runs on the demo reference lists.
pub const DEMO_SCHEDULE_JSON: &str = include_str!("demo_schedule.json");
/// Most officials, places or sessions one schedule holds.
pub const SCHEDULE_ENTRIES_MAX: usize = 500;
/// Most slots one session is cut into.
pub const SESSION_SLOTS_MAX: u32 = 64;
/// Longest slot, in minutes.
pub const SLOT_MINUTES_MAX: u32 = 240;
/// Longest id, name or addressee in the schedule, in characters.
pub const SCHEDULE_TEXT_CHARS_MAX: usize = 300;
/// How far after the requested day a request that arrived through the hub is moved to the
/// first free slot of its session, in days; past that it is refused.
pub const MOVE_HORIZON_DAYS: i64 = 60;

/// Whether an official is the head of the body or a deputy (report 1-ОЛ section 5 counts
/// receptions by each).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OfficialRank {
    Head,
    Deputy,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Official {
    pub id: String,
    /// Full name and position as the card shows them.
    pub name: String,
    pub rank: OfficialRank,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Place {
    pub id: String,
    /// КАТО code (field 28).
    pub kato: String,
    /// The place's addressee (field 29): the body and address citizens come to.
    pub addressee: String,
}

/// Online or offline (field 6: option 1 online, 2 offline).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Online,
    Offline,
}

impl Mode {
    /// The option number of field 6.
    pub fn option(self) -> &'static str {
        match self {
            Mode::Online => "1",
            Mode::Offline => "2",
        }
    }
}

/// A weekly session: an official receives at a place on a weekday, in consecutive slots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Session {
    pub id: String,
    pub official: String,
    pub place: String,
    /// 1 Monday … 7 Sunday.
    pub weekday: u8,
    /// First slot, `HH:MM` local time.
    pub start: String,
    pub slot_minutes: u32,
    pub slots: u32,
    pub mode: Mode,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// Demo data (the embedded demo schedule), not a region's own.
    #[serde(default)]
    pub sample: bool,
    pub officials: Vec<Official>,
    pub places: Vec<Place>,
    pub sessions: Vec<Session>,
}

/// Minutes after midnight of `HH:MM`.
pub fn parse_time(s: &str) -> Option<u32> {
    let (h, m) = s.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

fn format_time(minutes: u32) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

fn invalid(message: String) -> DomainError {
    DomainError::rule_field("reception_schedule_invalid", "schedule", message)
}

impl Schedule {
    /// Checks ids unique, references resolved, КАТО codes known and sessions within a day.
    pub fn validate(&self, reference: &ReceptionReference) -> Result<(), DomainError> {
        if self.officials.len() > SCHEDULE_ENTRIES_MAX
            || self.places.len() > SCHEDULE_ENTRIES_MAX
            || self.sessions.len() > SCHEDULE_ENTRIES_MAX
        {
            return Err(invalid(format!(
                "a schedule holds at most {SCHEDULE_ENTRIES_MAX} officials, places and sessions each"
            )));
        }
        let text_ok =
            |s: &str| !s.trim().is_empty() && s.chars().count() <= SCHEDULE_TEXT_CHARS_MAX;
        let mut ids = std::collections::BTreeSet::new();
        for o in &self.officials {
            if !text_ok(&o.id) || !text_ok(&o.name) || !ids.insert(("o", o.id.as_str())) {
                return Err(invalid(format!(
                    "official {:?}: empty, too long or given twice",
                    o.id
                )));
            }
        }
        for p in &self.places {
            if !text_ok(&p.id) || !text_ok(&p.addressee) || !ids.insert(("p", p.id.as_str())) {
                return Err(invalid(format!(
                    "place {:?}: empty, too long or given twice",
                    p.id
                )));
            }
            if reference.lookup(RefList::Kato, &p.kato).is_none() {
                return Err(DomainError::rule_field(
                    "kato_unknown",
                    "kato",
                    format!(
                        "place {:?}: КАТО code {:?} is not in the КАТО list",
                        p.id, p.kato
                    ),
                ));
            }
        }
        for s in &self.sessions {
            if !text_ok(&s.id) || !ids.insert(("s", s.id.as_str())) {
                return Err(invalid(format!(
                    "session {:?}: empty, too long or given twice",
                    s.id
                )));
            }
            if self.official(&s.official).is_none() || self.place(&s.place).is_none() {
                return Err(invalid(format!(
                    "session {:?} names an official or place the schedule lacks",
                    s.id
                )));
            }
            let start = parse_time(&s.start).ok_or_else(|| {
                invalid(format!(
                    "session {:?}: start {:?} is not HH:MM",
                    s.id, s.start
                ))
            })?;
            if !(1..=7).contains(&s.weekday)
                || !(1..=SESSION_SLOTS_MAX).contains(&s.slots)
                || !(1..=SLOT_MINUTES_MAX).contains(&s.slot_minutes)
                || start + s.slots * s.slot_minutes > 24 * 60
            {
                return Err(invalid(format!(
                    "session {:?}: weekday 1–7, 1–{SESSION_SLOTS_MAX} slots of 1–{SLOT_MINUTES_MAX} minutes, within one day",
                    s.id
                )));
            }
        }
        Ok(())
    }

    pub fn official(&self, id: &str) -> Option<&Official> {
        self.officials.iter().find(|o| o.id == id)
    }

    pub fn place(&self, id: &str) -> Option<&Place> {
        self.places.iter().find(|p| p.id == id)
    }

    pub fn session(&self, id: &str) -> Option<&Session> {
        self.sessions.iter().find(|s| s.id == id)
    }

    /// The slot times of a session, `HH:MM`, in order.
    pub fn slot_times(session: &Session) -> Vec<String> {
        let start = parse_time(&session.start).unwrap_or(0);
        (0..session.slots)
            .map(|k| format_time(start + k * session.slot_minutes))
            .collect()
    }

    /// Checks that (date, session, time) is a slot of this schedule on a working day.
    pub fn check_slot(
        &self,
        calendar: &WorkCalendar,
        date: &str,
        session: &str,
        time: &str,
    ) -> Result<&Session, DomainError> {
        let day = Day::parse(date).map_err(|_| {
            DomainError::rule_field(
                "reception_slot_unknown",
                "date",
                format!("{date:?} is not a date YYYY-MM-DD"),
            )
        })?;
        check_working_day(calendar, day)?;
        let s = self.session(session).ok_or_else(|| {
            DomainError::rule_field(
                "reception_slot_unknown",
                "session",
                format!("the schedule has no session {session:?}"),
            )
        })?;
        if day.weekday() as u8 + 1 != s.weekday {
            return Err(DomainError::rule_field(
                "reception_slot_unknown",
                "date",
                format!(
                    "session {session:?} is held on weekday {}, not on {date}",
                    s.weekday
                ),
            ));
        }
        if !Schedule::slot_times(s).iter().any(|t| t == time) {
            return Err(DomainError::rule_field(
                "reception_slot_unknown",
                "time",
                format!("session {session:?} has no slot at {time:?}"),
            ));
        }
        Ok(s)
    }

    /// The first slot of `session` on or after (`date`, `time`) that is on a working day and
    /// for which `taken` is false, within [`MOVE_HORIZON_DAYS`]: (date, time).
    pub fn first_free_slot(
        &self,
        calendar: &WorkCalendar,
        session: &str,
        date: &str,
        time: &str,
        taken: &dyn Fn(&str, &str) -> bool,
    ) -> Option<(String, String)> {
        let s = self.session(session)?;
        let from = Day::parse(date).ok()?;
        let times = Schedule::slot_times(s);
        for k in 0..=MOVE_HORIZON_DAYS {
            let day = from.plus_days(k);
            if day.weekday() as u8 + 1 != s.weekday
                || !calendar.is_working_day(day).unwrap_or(false)
            {
                continue;
            }
            let d = day.to_string();
            for t in &times {
                if (k == 0 && t.as_str() < time) || taken(&d, t) {
                    continue;
                }
                return Some((d, t.clone()));
            }
        }
        None
    }
}

/// Refuses a non-working day (or a day of a year the calendar lacks).
pub fn check_working_day(calendar: &WorkCalendar, day: Day) -> Result<(), DomainError> {
    match calendar.is_working_day(day) {
        Ok(true) => Ok(()),
        Ok(false) => Err(DomainError::rule_field(
            "reception_non_working_day",
            "date",
            format!("{day} is not a working day"),
        )),
        Err(e) => Err(DomainError::rule_field(
            "reception_non_working_day",
            "date",
            format!("{day}: {e}"),
        )),
    }
}
