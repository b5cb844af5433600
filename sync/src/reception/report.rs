//! A reception record as report 1-ОЛ section 5 ("Личный прием") counts it: its
//! [`ReceptionEntry`], read from the record alone (and the schedule, for the rank of the official
//! who received when it is not the presiding one).

use super::schedule::{OfficialRank, Schedule};
use super::{Booking, BookingStatus, DecisionColumn, ReceptionReference};
use crate::calendar::Day;
use crate::report_1ol::{Receiver, ReceptionDecision, ReceptionEntry, ReceptionOutcome};

/// The entry of `b`, keyed by (region, record id), its revision the length of its action log
/// (every action appends, so a later state has a higher revision). `None` when field 4 or the
/// reception date does not read as a date (a record this system never writes).
pub fn entry(
    b: &Booking,
    schedule: Option<&Schedule>,
    reference: &ReceptionReference,
    utc_offset_min: i32,
) -> Option<ReceptionEntry> {
    let requested_on = Day::parse(b.fields.get(&4)?).ok()?;
    let day_of = |actions: &[&str]| {
        b.log
            .iter()
            .find(|l| actions.contains(&l.action.as_str()))
            .map(|l| Day::from_ms(l.at_ms, utc_offset_min))
    };
    let reception_day = Day::parse(&b.slot.date).ok()?;
    let values = b.lp1_values();
    let outcome = match b.status {
        BookingStatus::Requested | BookingStatus::Booked => None,
        BookingStatus::Refused => Some(ReceptionOutcome::Refused {
            on: day_of(&["refused"]).unwrap_or(requested_on),
        }),
        BookingStatus::NotHeld => Some(ReceptionOutcome::NotHeld { on: reception_day }),
        BookingStatus::Held => {
            let receiver = values.get(&31).cloned().unwrap_or_default();
            let rank = if receiver == b.slot.official {
                Some(b.slot.rank)
            } else {
                schedule.and_then(|s| s.official(&receiver)).map(|o| o.rank)
            };
            Some(ReceptionOutcome::Held {
                on: reception_day,
                by: match rank {
                    Some(OfficialRank::Head) => Receiver::Head,
                    Some(OfficialRank::Deputy) => Receiver::Deputy,
                    None => Receiver::Other,
                },
                decision: values
                    .get(&25)
                    .and_then(|d| reference.decision_column(d))
                    .map(|c| match c {
                        DecisionColumn::Satisfied => ReceptionDecision::Satisfied,
                        DecisionColumn::Refused => ReceptionDecision::Refused,
                        DecisionColumn::Explained => ReceptionDecision::Explained,
                    }),
            })
        }
    };
    Some(ReceptionEntry {
        region: b.region.clone(),
        record_id: b.id.clone(),
        revision: b.log.len() as u64,
        requested_on,
        // The day the record first held a slot: booked at the node, or a request the region
        // confirmed or moved.
        booked_on: day_of(&["booked", "confirmed", "moved"]),
        outcome,
    })
}
