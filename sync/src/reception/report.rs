//! What report 1-ОЛ section 5 ("Личный прием") needs of a reception record: the facts the
//! report's `ReceptionEntry` (`sync::report_1ol`) is built from, read from the record alone
//! (and the schedule, for the rank of the official who received when it is not the presiding
//! one).

use serde::Serialize;

use super::schedule::{OfficialRank, Schedule};
use super::{Booking, BookingStatus, DecisionColumn, ReceptionReference};
use crate::calendar::Day;

/// Who received (field 31) as section 5 counts: the head, a deputy, or another official.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiverRank {
    Head,
    Deputy,
    Other,
}

/// How a record ended, if it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum FactOutcome {
    Refused {
        on: Day,
    },
    Held {
        on: Day,
        by: ReceiverRank,
        decision: Option<DecisionColumn>,
    },
    NotHeld {
        on: Day,
    },
}

/// A record's facts for section 5, keyed by (region, record id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReceptionFacts {
    pub region: String,
    pub record_id: String,
    /// Grows with every action on the record (its log's length): a later state of the same
    /// record has a higher revision.
    pub revision: u64,
    /// Field 4: the day the request was put in the queue.
    pub requested_on: Day,
    /// The day the record first held a slot (booked at the node, or a request confirmed or
    /// moved by the region).
    pub booked_on: Option<Day>,
    pub outcome: Option<FactOutcome>,
}

/// The facts of `b`; `None` when field 4 or the reception date does not read as a date (a
/// record this system never writes).
pub fn facts(
    b: &Booking,
    schedule: Option<&Schedule>,
    reference: &ReceptionReference,
    utc_offset_min: i32,
) -> Option<ReceptionFacts> {
    let requested_on = Day::parse(b.fields.get(&4)?).ok()?;
    let day_of = |action: &[&str]| {
        b.log
            .iter()
            .find(|l| action.contains(&l.action.as_str()))
            .map(|l| Day::from_ms(l.at_ms, utc_offset_min))
    };
    let booked_on = day_of(&["booked", "confirmed", "moved"]);
    let reception_day = Day::parse(&b.slot.date).ok()?;
    let values = b.lp1_values();
    let outcome = match b.status {
        BookingStatus::Requested | BookingStatus::Booked => None,
        BookingStatus::Refused => Some(FactOutcome::Refused {
            on: day_of(&["refused"]).unwrap_or(requested_on),
        }),
        BookingStatus::NotHeld => Some(FactOutcome::NotHeld { on: reception_day }),
        BookingStatus::Held => {
            let receiver = values.get(&31).cloned().unwrap_or_default();
            let rank = if receiver == b.slot.official {
                Some(b.slot.rank)
            } else {
                schedule.and_then(|s| s.official(&receiver)).map(|o| o.rank)
            };
            Some(FactOutcome::Held {
                on: reception_day,
                by: match rank {
                    Some(OfficialRank::Head) => ReceiverRank::Head,
                    Some(OfficialRank::Deputy) => ReceiverRank::Deputy,
                    None => ReceiverRank::Other,
                },
                decision: values.get(&25).and_then(|d| reference.decision_column(d)),
            })
        }
    };
    Some(ReceptionFacts {
        region: b.region.clone(),
        record_id: b.id.clone(),
        revision: b.log.len() as u64,
        requested_on,
        booked_on,
        outcome,
    })
}
