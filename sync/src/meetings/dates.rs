//! The dates of report meetings: quarters in Kazakhstan time (R22), the notice published no later
//! than 10 calendar days before the meeting (R23), the protocol drawn up the same day (R24), the
//! materials kept one year (R26), and the quarter coverage of a beat that drives the plan and its
//! warning. Pure: the caller passes `today` and the meetings it knows.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::calendar::{add_calendar_months, Day};
use crate::error::DomainError;

/// R23 (seed 003 p.27): the population is told the time and place no later than this many
/// **calendar** days before the meeting (weekends and holidays count).
pub const NOTICE_CALENDAR_DAYS: i64 = 10;

/// R26 (seed 003 p.32): the materials of a meeting are kept this many months (1 year) from the
/// meeting's day, then removed unless held.
pub const RETENTION_MONTHS: u32 = 12;

/// How many days before the last day a notice can still be published for a meeting in the
/// quarter the inspector and the beat office's head are warned that the beat has no meeting
/// planned (R22). Two weeks: time to agree a place with the akimat and invite the participants
/// (p.28) before the notice must go out.
pub const PLAN_WARNING_LEAD_DAYS: i64 = 14;

/// A calendar quarter (1–4) of a year, in Kazakhstan time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Quarter {
    year: i32,
    number: u8,
}

impl Quarter {
    /// Quarter `number` (1–4) of `year`.
    pub fn new(year: i32, number: u8) -> Result<Quarter, DomainError> {
        if !(1..=4).contains(&number) {
            return Err(DomainError::rule_field(
                "meeting_bad_quarter",
                "quarter",
                format!("a quarter is 1 to 4, not {number}"),
            ));
        }
        if Day::from_ymd(year, 1, 1).is_err() || Day::from_ymd(year, 12, 31).is_err() {
            return Err(DomainError::rule_field(
                "meeting_bad_quarter",
                "year",
                format!("the year {year} is out of range"),
            ));
        }
        Ok(Quarter { year, number })
    }

    /// Reads `YYYY-QN` (e.g. `2026-Q4`), as [`Quarter`] writes itself.
    pub fn parse(text: &str) -> Result<Quarter, DomainError> {
        let bad = || {
            DomainError::rule_field(
                "meeting_bad_quarter",
                "quarter",
                format!("the quarter is YYYY-QN, N from 1 to 4, not {text:?}"),
            )
        };
        let (y, n) = text.split_once("-Q").ok_or_else(bad)?;
        let year: i32 = y.parse().map_err(|_| bad())?;
        let number: u8 = n.parse().map_err(|_| bad())?;
        Quarter::new(year, number)
    }

    /// The quarter `day` falls in.
    pub fn of(day: Day) -> Quarter {
        Quarter {
            year: day.year(),
            number: ((day.month() - 1) / 3 + 1) as u8,
        }
    }

    /// The quarter of the instant `ms` (Unix milliseconds) on the clock at `utc_offset_min`
    /// (Kazakhstan: `calendar::KZ_UTC_OFFSET_MIN`).
    pub fn of_ms(ms: i64, utc_offset_min: i32) -> Quarter {
        Quarter::of(Day::from_ms(ms, utc_offset_min))
    }

    pub fn year(self) -> i32 {
        self.year
    }

    pub fn number(self) -> u8 {
        self.number
    }

    fn first_month(self) -> u32 {
        u32::from(self.number - 1) * 3 + 1
    }

    /// The quarter's first day (1 January, 1 April, 1 July, 1 October).
    pub fn first_day(self) -> Day {
        Day::from_ymd(self.year, self.first_month(), 1).unwrap_or(Day::MIN)
    }

    /// The quarter's last day (31 March, 30 June, 30 September, 31 December).
    pub fn last_day(self) -> Day {
        self.next().first_day().plus_days(-1)
    }

    /// The quarter after this one (the first of the next year after the fourth).
    pub fn next(self) -> Quarter {
        if self.number == 4 {
            Quarter {
                year: self.year + 1,
                number: 1,
            }
        } else {
            Quarter {
                year: self.year,
                number: self.number + 1,
            }
        }
    }

    /// The quarter before this one.
    pub fn previous(self) -> Quarter {
        if self.number == 1 {
            Quarter {
                year: self.year - 1,
                number: 4,
            }
        } else {
            Quarter {
                year: self.year,
                number: self.number - 1,
            }
        }
    }

    pub fn contains(self, day: Day) -> bool {
        Quarter::of(day) == self
    }

    /// The last day the notice of a meeting in this quarter can be published in time: the
    /// notice deadline of a meeting on the quarter's last day.
    pub fn last_notice_day(self) -> Day {
        notice_deadline(self.last_day())
    }
}

impl fmt::Display for Quarter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-Q{}", self.year, self.number)
    }
}

/// R23: the last day the notice of a meeting held on `meeting_on` may be published
/// ([`NOTICE_CALENDAR_DAYS`] calendar days before it).
pub fn notice_deadline(meeting_on: Day) -> Day {
    meeting_on.plus_days(-NOTICE_CALENDAR_DAYS)
}

/// R23: the earliest day a meeting can be held when its notice goes out on `notice_on`.
pub fn earliest_meeting(notice_on: Day) -> Day {
    notice_on.plus_days(NOTICE_CALENDAR_DAYS)
}

/// R23: refuses a notice published on `notice_on` for a meeting on `meeting_on` when it is
/// later than [`notice_deadline`] (`meeting_notice_too_late`; the message names the deadline and
/// the earliest day the meeting could be moved to).
pub fn check_notice(notice_on: Day, meeting_on: Day) -> Result<(), DomainError> {
    let deadline = notice_deadline(meeting_on);
    if notice_on > deadline {
        return Err(DomainError::rule_field(
            "meeting_notice_too_late",
            "date",
            format!(
                "the notice of a meeting on {meeting_on} had to be published by {deadline} \
                 ({NOTICE_CALENDAR_DAYS} calendar days before); published today, the meeting can \
                 be held on {} or later",
                earliest_meeting(notice_on)
            ),
        ));
    }
    Ok(())
}

/// R24: whether a protocol signed on `signed_on` was drawn up on the meeting's day. A late
/// protocol is still signed and kept (losing it would be worse); it is shown as late to the beat
/// office's head.
pub fn protocol_on_time(meeting_on: Day, signed_on: Day) -> bool {
    signed_on <= meeting_on
}

/// R26: the first day the materials of a meeting held on `held_on` may be removed (one year
/// later: [`RETENTION_MONTHS`]; 29 February gives 28 February).
pub fn retention_ends(held_on: Day) -> Day {
    add_calendar_months(held_on, RETENTION_MONTHS)
}

/// R26: whether the materials of a meeting held on `held_on` are due for removal on `today`
/// (never while a hold is on them).
pub fn materials_expired(held_on: Day, today: Day, hold: bool) -> bool {
    !hold && today >= retention_ends(held_on)
}

/// Where a meeting stands, as the quarter coverage counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MeetingStage {
    /// Time and place proposed, the notice not yet published.
    Planned,
    /// The notice is published (in time: [`check_notice`] let it through).
    Noticed,
    /// The meeting took place (its protocol may still be unsigned).
    Held,
    /// Called off; it covers nothing.
    Cancelled,
}

/// One meeting of a beat (a joint meeting counts for every beat it covers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MeetingFact {
    pub on: Day,
    pub stage: MeetingStage,
}

/// How a beat's quarter stands (R22), most reassuring first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Coverage {
    /// A meeting took place in the quarter.
    Held { on: Day },
    /// A meeting in the quarter has its notice out and has not taken place yet (or took place
    /// and is waiting to be marked held).
    Noticed { on: Day },
    /// A meeting is planned in the quarter and its notice can still go out in time (by
    /// `notice_by`).
    Planned { on: Day, notice_by: Day },
    /// No meeting yet and there is time; the warning starts on `warn_from`.
    Open {
        last_notice_day: Day,
        warn_from: Day,
    },
    /// No meeting planned in time and fewer than [`PLAN_WARNING_LEAD_DAYS`] days are left before
    /// `last_notice_day`, the last day a notice can go out for a meeting in the quarter: the
    /// inspector and the beat office's head are warned.
    AtRisk { last_notice_day: Day },
    /// The quarter can no longer have a lawfully noticed meeting (or is over without one).
    Missed,
}

impl Coverage {
    /// Whether the inspector and the beat office's head are to be warned.
    pub fn warns(self) -> bool {
        matches!(self, Coverage::AtRisk { .. } | Coverage::Missed)
    }
}

/// R22: how `quarter` stands for a beat on `today`, given the beat's meetings (any quarter;
/// only those in `quarter` count). A planned meeting whose notice deadline has passed without a
/// notice covers nothing: it cannot lawfully take place on that day.
pub fn coverage(quarter: Quarter, meetings: &[MeetingFact], today: Day) -> Coverage {
    let in_quarter = meetings
        .iter()
        .filter(|m| quarter.contains(m.on) && m.stage != MeetingStage::Cancelled);
    let mut held: Option<Day> = None;
    let mut noticed: Option<Day> = None;
    let mut planned: Option<Day> = None;
    for m in in_quarter {
        let slot = match m.stage {
            MeetingStage::Held => &mut held,
            MeetingStage::Noticed => &mut noticed,
            MeetingStage::Planned if today <= notice_deadline(m.on) => &mut planned,
            _ => continue,
        };
        *slot = Some(slot.map_or(m.on, |d| d.min(m.on)));
    }
    if let Some(on) = held {
        return Coverage::Held { on };
    }
    if let Some(on) = noticed {
        return Coverage::Noticed { on };
    }
    if let Some(on) = planned {
        return Coverage::Planned {
            on,
            notice_by: notice_deadline(on),
        };
    }
    let last_notice_day = quarter.last_notice_day();
    if today > last_notice_day {
        return Coverage::Missed;
    }
    let warn_from = last_notice_day.plus_days(-PLAN_WARNING_LEAD_DAYS);
    if today >= warn_from {
        Coverage::AtRisk { last_notice_day }
    } else {
        Coverage::Open {
            last_notice_day,
            warn_from,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Day {
        Day::parse(s).unwrap()
    }

    fn q(y: i32, n: u8) -> Quarter {
        Quarter::new(y, n).unwrap()
    }

    #[test]
    fn r22_quarters_begin_and_end_on_the_calendar_quarters_across_the_year_boundary() {
        assert_eq!(Quarter::of(d("2026-01-01")), q(2026, 1));
        assert_eq!(Quarter::of(d("2026-03-31")), q(2026, 1));
        assert_eq!(Quarter::of(d("2026-04-01")), q(2026, 2));
        assert_eq!(Quarter::of(d("2026-09-30")), q(2026, 3));
        assert_eq!(Quarter::of(d("2026-12-31")), q(2026, 4));
        assert_eq!(q(2026, 1).last_day(), d("2026-03-31"));
        assert_eq!(q(2026, 2).last_day(), d("2026-06-30"));
        assert_eq!(q(2026, 4).first_day(), d("2026-10-01"));
        assert_eq!(q(2026, 4).last_day(), d("2026-12-31"));
        assert_eq!(q(2026, 4).next(), q(2027, 1));
        assert_eq!(q(2027, 1).previous(), q(2026, 4));
        assert_eq!(q(2026, 4).next().previous(), q(2026, 4));
        assert_eq!(q(2028, 1).last_day(), d("2028-03-31"));
        assert_eq!(q(2026, 3).to_string(), "2026-Q3");
        assert_eq!(
            Quarter::new(2026, 0).unwrap_err().code(),
            "meeting_bad_quarter"
        );
        assert_eq!(
            Quarter::new(2026, 5).unwrap_err().code(),
            "meeting_bad_quarter"
        );
        assert_eq!(
            Quarter::new(99_999, 1).unwrap_err().code(),
            "meeting_bad_quarter"
        );
    }

    #[test]
    fn r22_the_quarter_of_an_instant_is_counted_in_kazakhstan_time() {
        // 31 March 2026 20:30 UTC is 1 April 01:30 in Kazakhstan (UTC+5): the second quarter.
        let ms = d("2026-03-31").start_ms(0) + (20 * 60 + 30) * 60_000;
        assert_eq!(
            Quarter::of_ms(ms, crate::calendar::KZ_UTC_OFFSET_MIN),
            q(2026, 2)
        );
        assert_eq!(Quarter::of_ms(ms, 0), q(2026, 1));
        // 31 December 2026 19:00 UTC is already 2027 in Kazakhstan.
        let ms = d("2026-12-31").start_ms(0) + 19 * 3_600_000;
        assert_eq!(
            Quarter::of_ms(ms, crate::calendar::KZ_UTC_OFFSET_MIN),
            q(2027, 1)
        );
    }

    #[test]
    fn r23_the_notice_goes_out_no_later_than_ten_calendar_days_before_the_meeting() {
        // Calendar days, weekends and holidays included: 16 December (Independence Day) and the
        // weekend before it count.
        assert_eq!(notice_deadline(d("2026-12-20")), d("2026-12-10"));
        assert!(check_notice(d("2026-12-10"), d("2026-12-20")).is_ok());
        assert!(check_notice(d("2026-12-01"), d("2026-12-20")).is_ok());
        let late = check_notice(d("2026-12-11"), d("2026-12-20")).unwrap_err();
        assert_eq!(late.code(), "meeting_notice_too_late");
        assert!(late.to_string().contains("2026-12-10"), "{late}");
        assert!(late.to_string().contains("2026-12-21"), "{late}");
        // Across the year boundary and 29 February.
        assert_eq!(notice_deadline(d("2027-01-05")), d("2026-12-26"));
        assert_eq!(notice_deadline(d("2028-03-01")), d("2028-02-20"));
        assert_eq!(earliest_meeting(d("2028-02-25")), d("2028-03-06"));
        // The last day a notice can go out for a meeting in the quarter.
        assert_eq!(q(2026, 4).last_notice_day(), d("2026-12-21"));
        assert_eq!(q(2027, 1).last_notice_day(), d("2027-03-21"));
    }

    #[test]
    fn r24_a_protocol_is_on_time_only_on_the_meetings_day() {
        assert!(protocol_on_time(d("2026-12-20"), d("2026-12-20")));
        assert!(!protocol_on_time(d("2026-12-20"), d("2026-12-21")));
        assert!(!protocol_on_time(d("2026-12-31"), d("2027-01-01")));
    }

    #[test]
    fn r26_materials_are_kept_one_year_unless_held() {
        assert_eq!(retention_ends(d("2026-12-20")), d("2027-12-20"));
        assert_eq!(retention_ends(d("2028-02-29")), d("2029-02-28"));
        assert!(!materials_expired(d("2026-12-20"), d("2027-12-19"), false));
        assert!(materials_expired(d("2026-12-20"), d("2027-12-20"), false));
        assert!(!materials_expired(d("2026-12-20"), d("2028-06-01"), true));
    }

    fn m(on: &str, stage: MeetingStage) -> MeetingFact {
        MeetingFact { on: d(on), stage }
    }

    #[test]
    fn r22_a_beat_without_a_meeting_is_warned_before_the_quarter_would_end_without_one() {
        let q4 = q(2026, 4);
        // Nothing planned: open, then at risk two weeks before the last notice day (21 Dec),
        // then missed once no notice can go out in time.
        assert_eq!(
            coverage(q4, &[], d("2026-10-15")),
            Coverage::Open {
                last_notice_day: d("2026-12-21"),
                warn_from: d("2026-12-07")
            }
        );
        assert!(!coverage(q4, &[], d("2026-12-06")).warns());
        assert_eq!(
            coverage(q4, &[], d("2026-12-07")),
            Coverage::AtRisk {
                last_notice_day: d("2026-12-21")
            }
        );
        assert_eq!(
            coverage(q4, &[], d("2026-12-21")),
            Coverage::AtRisk {
                last_notice_day: d("2026-12-21")
            }
        );
        assert_eq!(coverage(q4, &[], d("2026-12-22")), Coverage::Missed);
        assert_eq!(coverage(q4, &[], d("2027-01-03")), Coverage::Missed);
        assert!(coverage(q4, &[], d("2026-12-22")).warns());
    }

    #[test]
    fn r22_planned_noticed_and_held_meetings_cover_only_their_own_quarter() {
        let q4 = q(2026, 4);
        let planned = [m("2026-12-18", MeetingStage::Planned)];
        assert_eq!(
            coverage(q4, &planned, d("2026-12-07")),
            Coverage::Planned {
                on: d("2026-12-18"),
                notice_by: d("2026-12-08")
            }
        );
        // Its notice did not go out by 8 December: it cannot take place that day; the quarter
        // is still open for another meeting until 21 December, and warned.
        assert_eq!(
            coverage(q4, &planned, d("2026-12-09")),
            Coverage::AtRisk {
                last_notice_day: d("2026-12-21")
            }
        );
        let noticed = [m("2026-12-18", MeetingStage::Noticed)];
        assert_eq!(
            coverage(q4, &noticed, d("2026-12-19")),
            Coverage::Noticed {
                on: d("2026-12-18")
            }
        );
        let held = [
            m("2026-11-20", MeetingStage::Held),
            m("2026-12-18", MeetingStage::Noticed),
        ];
        assert_eq!(
            coverage(q4, &held, d("2026-12-30")),
            Coverage::Held {
                on: d("2026-11-20")
            }
        );
        // A meeting of the next quarter, or a cancelled one, covers nothing here.
        let other = [
            m("2027-01-15", MeetingStage::Noticed),
            m("2026-12-01", MeetingStage::Cancelled),
        ];
        assert_eq!(coverage(q4, &other, d("2026-12-22")), Coverage::Missed);
        assert_eq!(
            coverage(q4.next(), &other, d("2026-12-22")),
            Coverage::Noticed {
                on: d("2027-01-15")
            }
        );
    }
}
