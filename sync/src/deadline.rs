//! Statutory deadlines of citizens' appeals, counted on Kazakhstan's working-day calendar
//! ([`WorkCalendar`]). Pure: the calendar, the start instant and the zone come in as arguments,
//! so every node computes the same date during a partition. A date in a year with no calendar is
//! [`CalendarError::NoYear`], shown to people, never a guess.
//!
//! Counting follows the Civil Code (arts. 171–173): a term runs from the day after the event
//! (the start day is not counted); a term in months ends on the same date of the last month, or
//! on its last day when the month is shorter; a term ending on a non-working day ends on the next
//! working day. A term in hours runs continuously.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use crate::calendar::{
    add_calendar_months, CalendarError, Day, Weekday, WorkCalendar, KZ_UTC_OFFSET_MIN,
};

/// R11 (АППК art. 76): an appeal is considered within this many working days of registration.
pub const REVIEW_TERM_WORKING_DAYS: u32 = 15;
/// R11: extensions by the head (or a deputy) add up to at most this many calendar months.
pub const EXTENSION_TOTAL_MONTHS_MAX: u32 = 2;
/// R11: the applicant is told of an extension within this many working days of the decision.
pub const EXTENSION_NOTICE_WORKING_DAYS: u32 = 3;
/// R11/R13: an appeal outside competence goes to the competent body within this many working days.
pub const REDIRECT_WORKING_DAYS: u32 = 3;
/// R30: a document not subject to accounting is transferred (form ОЛ-2) within this many working
/// days.
pub const TRANSFER_OL2_WORKING_DAYS: u32 = 3;
/// R30: a transfer is cancelled within this many working days of the decision.
pub const TRANSFER_CANCEL_WORKING_DAYS: u32 = 1;
/// R14: an appeal with signs of a criminal offence is registered in КУИ within this many hours of
/// registration.
pub const KUI_REGISTRATION_HOURS: u32 = 24;
/// R16: a deadline this many working days away or closer is "near".
pub const NEAR_DEADLINE_WORKING_DAYS: u32 = 3;

/// Milliseconds in an hour.
const HOUR_MS: i64 = 3_600_000;

/// A statutory term, with its unit. Serialized as `{"working_days": 15}`, `{"calendar_months": 2}`
/// or `{"hours": 24}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Term {
    /// Working days after the start day ([`WorkCalendar::add_working_days`]).
    WorkingDays(u32),
    /// Calendar months, moved to the next working day when the end is not one
    /// ([`WorkCalendar::calendar_months_due`]).
    CalendarMonths(u32),
    /// Hours from the start instant, running continuously.
    Hours(u32),
}

/// When a term ends: the due date and the last millisecond of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Deadline {
    /// The local date the term ends on.
    pub due: Day,
    /// The instant the term ends (ms since the Unix epoch): the last millisecond of `due` in the
    /// zone, or for [`Term::Hours`] the start plus the hours.
    pub due_at: i64,
}

/// Where a deadline stands today (R16).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineState {
    Ok,
    /// Due today or within the given number of working days.
    Near,
    /// The due date has passed.
    Overdue,
}

/// When `term` ends for a term that starts at `start_ms` (ms since the Unix epoch; e.g. the
/// registration) in a zone `utc_offset_min` minutes east of UTC ([`KZ_UTC_OFFSET_MIN`]).
pub fn deadline(
    cal: &WorkCalendar,
    start_ms: i64,
    term: Term,
    utc_offset_min: i32,
) -> Result<Deadline, CalendarError> {
    let start = Day::from_ms(start_ms, utc_offset_min);
    let due = match term {
        Term::WorkingDays(n) => cal.add_working_days(start, n)?,
        Term::CalendarMonths(m) => cal.calendar_months_due(start, m)?,
        Term::Hours(h) => {
            let due_at = start_ms.saturating_add(i64::from(h) * HOUR_MS);
            return Ok(Deadline {
                due: Day::from_ms(due_at, utc_offset_min),
                due_at,
            });
        }
    };
    Ok(Deadline {
        due,
        due_at: due.end_ms(utc_offset_min),
    })
}

/// The day an appeal received at `received_ms` is registered on: the day of receipt when it is a
/// working day, else the next working day (R11).
pub fn registration_day(
    cal: &WorkCalendar,
    received_ms: i64,
    utc_offset_min: i32,
) -> Result<Day, CalendarError> {
    cal.next_working_day(Day::from_ms(received_ms, utc_offset_min))
}

/// Whether a term due on `due` is overdue on `today` (after `due`), near (due today or within
/// `near_working_days` working days: [`NEAR_DEADLINE_WORKING_DAYS`]) or neither.
pub fn deadline_state(
    cal: &WorkCalendar,
    due: Day,
    today: Day,
    near_working_days: u32,
) -> Result<DeadlineState, CalendarError> {
    if today > due {
        return Ok(DeadlineState::Overdue);
    }
    let left = cal.working_days_between(today, due)?;
    Ok(if i64::from(left) <= i64::from(near_working_days) {
        DeadlineState::Near
    } else {
        DeadlineState::Ok
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::{embedded_years, CalendarStatus, CalendarYear};
    use proptest::prelude::*;

    fn kz() -> WorkCalendar {
        WorkCalendar::new(&embedded_years().unwrap()).unwrap()
    }

    fn day(date: &str) -> Day {
        Day::parse(date).unwrap()
    }

    /// The instant `hh:mm` local time (UTC+5) of `date`.
    fn at(date: &str, hh: i64, mm: i64) -> i64 {
        day(date).start_ms(KZ_UTC_OFFSET_MIN) + hh * HOUR_MS + mm * 60_000
    }

    fn add(cal: &WorkCalendar, date: &str, n: u32) -> Result<String, CalendarError> {
        cal.add_working_days(day(date), n).map(|d| d.to_string())
    }

    #[test]
    fn day_parses_writes_and_serializes_as_yyyy_mm_dd() {
        assert_eq!(day("2026-03-26").to_string(), "2026-03-26");
        assert_eq!(day("1970-01-01").days(), 0);
        assert_eq!(day("2024-02-29").ymd(), (2024, 2, 29));
        assert_eq!(day("0000-01-01"), Day::MIN);
        assert_eq!(day("9999-12-31"), Day::MAX);
        for bad in [
            "2025-02-29",
            "2026-04-31",
            "2026-13-01",
            "2026-00-10",
            "2026-1-01",
            "+026-01-01",
            "2026-01-01T",
            "",
        ] {
            assert_eq!(
                Day::parse(bad),
                Err(CalendarError::BadDate(bad.into())),
                "{bad}"
            );
        }
        assert_eq!(
            serde_json::to_string(&day("2026-03-26")).unwrap(),
            "\"2026-03-26\""
        );
        assert_eq!(
            serde_json::from_str::<Day>("\"2027-01-04\"").unwrap(),
            day("2027-01-04")
        );
        assert!(serde_json::from_str::<Day>("\"2027-02-30\"").is_err());
        assert!(serde_json::from_str::<Day>("20270104").is_err());
        assert_eq!(day("2025-01-05").weekday(), Weekday::Sunday);
        assert_eq!(day("2026-03-16").weekday(), Weekday::Monday);
        assert_eq!(day("2026-03-16").year(), 2026);
        assert_eq!(day("2026-12-31").plus_days(1), day("2027-01-01"));
    }

    #[test]
    fn local_dates_use_kazakhstan_time_utc_plus_5() {
        // 2026-03-16 19:30 UTC is 00:30 on 17 March in Astana.
        let ms = day("2026-03-16").start_ms(0) + 19 * HOUR_MS + 30 * 60_000;
        assert_eq!(Day::from_ms(ms, KZ_UTC_OFFSET_MIN), day("2026-03-17"));
        assert_eq!(Day::from_ms(ms, 0), day("2026-03-16"));
        // The last millisecond of 17 March in Astana is 18:59:59.999 UTC.
        let end = day("2026-03-17").end_ms(KZ_UTC_OFFSET_MIN);
        assert_eq!(end, day("2026-03-17").start_ms(0) + 19 * HOUR_MS - 1);
        assert_eq!(Day::from_ms(end, KZ_UTC_OFFSET_MIN), day("2026-03-17"));
        assert_eq!(Day::from_ms(end + 1, KZ_UTC_OFFSET_MIN), day("2026-03-18"));
        // Before the epoch, and absurd instants held to the writable range.
        assert_eq!(Day::from_ms(-1, 0), day("1969-12-31"));
        assert_eq!(Day::from_ms(i64::MAX, KZ_UTC_OFFSET_MIN), Day::MAX);
        assert_eq!(Day::from_ms(i64::MIN, KZ_UTC_OFFSET_MIN), Day::MIN);
    }

    #[test]
    fn the_index_agrees_with_every_day_of_the_embedded_years() {
        let cal = kz();
        assert_eq!(cal.years().collect::<Vec<_>>(), vec![2025, 2026, 2027]);
        for year in embedded_years().unwrap() {
            let mut d = Day::from_ymd(year.year, 1, 1).unwrap();
            while d.year() == year.year {
                assert_eq!(
                    cal.is_working_day(d),
                    year.is_working_day(&d.to_string()),
                    "{d}"
                );
                d = d.plus_days(1);
            }
        }
    }

    #[test]
    fn r11_review_term_is_15_working_days_across_nauryz_2026() {
        // Registered Monday 16 March 2026. Working days after it: 17–20 Mar (1–4); 21–22 Mar
        // Наурыз on a weekend, 23 Mar Наурыз, 24–25 Mar moved days off; 26–27 Mar (5–6),
        // 30–31 Mar (7–8), 1–3 Apr (9–11), 6–9 Apr (12–15). CALENDAR.md 2026.
        let cal = kz();
        let registered = at("2026-03-16", 11, 0);
        let d = deadline(
            &cal,
            registered,
            Term::WorkingDays(REVIEW_TERM_WORKING_DAYS),
            KZ_UTC_OFFSET_MIN,
        )
        .unwrap();
        assert_eq!(d.due, day("2026-04-09"));
        assert_eq!(d.due_at, day("2026-04-09").end_ms(KZ_UTC_OFFSET_MIN));
        assert_eq!(
            cal.working_days_between(day("2026-03-16"), day("2026-04-09")),
            Ok(15)
        );
    }

    #[test]
    fn r11_nauryz_2025_moved_days_are_skipped() {
        // Thursday 20 March 2025: 21 Mar (Fri) Наурыз, 22–23 Mar weekend Наурыз, 24–25 Mar
        // moved days off; 26 Mar (1), 27 Mar (2), 28 Mar (3). CALENDAR.md 2025.
        let cal = kz();
        assert_eq!(add(&cal, "2025-03-20", 1).unwrap(), "2025-03-26");
        assert_eq!(add(&cal, "2025-03-20", 3).unwrap(), "2025-03-28");
        assert_eq!(
            cal.next_working_day(day("2025-03-22")),
            Ok(day("2025-03-26"))
        );
        assert_eq!(cal.is_working_day(day("2025-03-25")), Ok(false));
    }

    #[test]
    fn r11_appeal_received_on_a_non_working_day_is_registered_on_the_next_working_day() {
        let cal = kz();
        // Friday 3 January 2025 is a day off moved from Sunday 5 January, which is a working day.
        assert_eq!(
            registration_day(&cal, at("2025-01-03", 9, 0), KZ_UTC_OFFSET_MIN),
            Ok(day("2025-01-05"))
        );
        // 1–2 Jan holidays, 3 Jan moved off, Saturday 4 Jan: also Sunday 5 Jan.
        assert_eq!(
            registration_day(&cal, at("2025-01-01", 0, 0), KZ_UTC_OFFSET_MIN),
            Ok(day("2025-01-05"))
        );
        // A working day registers the same day, also late in the evening local time.
        assert_eq!(
            registration_day(&cal, at("2026-03-20", 23, 59), KZ_UTC_OFFSET_MIN),
            Ok(day("2026-03-20"))
        );
        // Saturday 21 March 2026 (Наурыз) → Thursday 26 March.
        assert_eq!(
            registration_day(&cal, at("2026-03-21", 10, 0), KZ_UTC_OFFSET_MIN),
            Ok(day("2026-03-26"))
        );
    }

    #[test]
    fn r11_moved_days_off_and_working_sunday_of_january_2025() {
        // 1 Jan (Wed): 2 Jan holiday, 3 Jan moved off, 4 Jan Saturday, 5 Jan Sunday worked (1),
        // 6 Jan (2), 7 Jan Orthodox Christmas, 8 Jan (3).
        let cal = kz();
        assert_eq!(add(&cal, "2025-01-01", 1).unwrap(), "2025-01-05");
        assert_eq!(add(&cal, "2025-01-01", 2).unwrap(), "2025-01-06");
        assert_eq!(add(&cal, "2025-01-01", 3).unwrap(), "2025-01-08");
        assert_eq!(add(&cal, "2025-01-03", 0).unwrap(), "2025-01-05");
        assert_eq!(add(&cal, "2025-01-06", 0).unwrap(), "2025-01-06");
    }

    #[test]
    fn r11_review_term_crosses_the_new_year_2025_2026() {
        // Monday 22 Dec 2025: 23–26 Dec (1–4), 29–31 Dec (5–7); 1–2 Jan 2026 holidays, 3–4 Jan
        // weekend, 5–6 Jan (8–9), 7 Jan Christmas, 8–9 Jan (10–11), 12–15 Jan (12–15).
        let cal = kz();
        assert_eq!(add(&cal, "2025-12-22", 15).unwrap(), "2026-01-15");
        assert_eq!(add(&cal, "2025-12-31", 1).unwrap(), "2026-01-05");
        assert_eq!(
            cal.working_days_between(day("2025-12-22"), day("2026-01-15")),
            Ok(15)
        );
        assert_eq!(
            cal.working_days_between(day("2026-01-15"), day("2025-12-22")),
            Ok(-15)
        );
    }

    #[test]
    fn r11_redirect_and_extension_notice_skip_may_holidays_2026() {
        let cal = kz();
        // Redirect from Friday 22 May 2026: 25 May (1), 26 May (2), 27 May Kurban Ait, 28 May (3).
        assert_eq!(
            add(&cal, "2026-05-22", REDIRECT_WORKING_DAYS).unwrap(),
            "2026-05-28"
        );
        // Notice of an extension decided Friday 8 May 2026: 9 May (Sat) Victory Day moved to
        // Monday 11 May; 12–14 May (1–3).
        assert_eq!(
            add(&cal, "2026-05-08", EXTENSION_NOTICE_WORKING_DAYS).unwrap(),
            "2026-05-14"
        );
    }

    #[test]
    fn r30_transfer_and_its_cancellation_terms() {
        let cal = kz();
        // Received Friday 20 March 2026: Наурыз 21–25 Mar; 26 (1), 27 (2), 30 Mar (3).
        let received = at("2026-03-20", 15, 0);
        let transfer = deadline(
            &cal,
            received,
            Term::WorkingDays(TRANSFER_OL2_WORKING_DAYS),
            KZ_UTC_OFFSET_MIN,
        )
        .unwrap();
        assert_eq!(transfer.due, day("2026-03-30"));
        let cancel = deadline(
            &cal,
            received,
            Term::WorkingDays(TRANSFER_CANCEL_WORKING_DAYS),
            KZ_UTC_OFFSET_MIN,
        )
        .unwrap();
        assert_eq!(cancel.due, day("2026-03-26"));
    }

    #[test]
    fn r14_kui_registration_runs_24_hours_through_holidays() {
        let cal = kz();
        let registered = at("2026-03-20", 10, 0);
        let d = deadline(
            &cal,
            registered,
            Term::Hours(KUI_REGISTRATION_HOURS),
            KZ_UTC_OFFSET_MIN,
        )
        .unwrap();
        assert_eq!(d.due_at, at("2026-03-21", 10, 0));
        // Saturday, Наурыз: hours do not stop for days off.
        assert_eq!(d.due, day("2026-03-21"));
        // Hours need no calendar year.
        assert!(deadline(
            &WorkCalendar::default(),
            registered,
            Term::Hours(24),
            KZ_UTC_OFFSET_MIN
        )
        .is_ok());
    }

    #[test]
    fn r11_calendar_months_clamp_at_the_end_of_a_shorter_month() {
        assert_eq!(add_calendar_months(day("2026-01-31"), 1), day("2026-02-28"));
        assert_eq!(add_calendar_months(day("2028-01-31"), 1), day("2028-02-29"));
        assert_eq!(add_calendar_months(day("2025-03-31"), 1), day("2025-04-30"));
        assert_eq!(add_calendar_months(day("2025-12-31"), 2), day("2026-02-28"));
        assert_eq!(add_calendar_months(day("2025-11-15"), 2), day("2026-01-15"));
        assert_eq!(add_calendar_months(day("2026-05-20"), 0), day("2026-05-20"));
        assert_eq!(
            add_calendar_months(day("2026-05-20"), 24),
            day("2028-05-20")
        );
        assert_eq!(add_calendar_months(day("9999-11-30"), 5), Day::MAX);
        assert_eq!(add_calendar_months(day("2026-05-20"), u32::MAX), Day::MAX);
        // 28 February 2026 is a Saturday: the term ends on Monday 2 March.
        let cal = kz();
        assert_eq!(
            cal.calendar_months_due(day("2026-01-31"), 1),
            Ok(day("2026-03-02"))
        );
    }

    #[test]
    fn r11_two_month_extension_ending_on_a_day_off_moves_to_the_next_working_day() {
        let cal = kz();
        // 7 Jan 2026 + 2 months = Saturday 7 March; 8 Mar (Sun) holiday, 9 Mar moved day off;
        // Tuesday 10 March.
        let d = deadline(
            &cal,
            at("2026-01-07", 12, 0),
            Term::CalendarMonths(EXTENSION_TOTAL_MONTHS_MAX),
            KZ_UTC_OFFSET_MIN,
        )
        .unwrap();
        assert_eq!(d.due, day("2026-03-10"));
        assert_eq!(d.due_at, day("2026-03-10").end_ms(KZ_UTC_OFFSET_MIN));
        // 21 Jan 2026 + 2 months = Saturday 21 March, Наурыз to 25 March: Thursday 26 March.
        assert_eq!(
            cal.calendar_months_due(day("2026-01-21"), 2),
            Ok(day("2026-03-26"))
        );
        // Ending on a working day: that day.
        assert_eq!(
            cal.calendar_months_due(day("2026-01-12"), 2),
            Ok(day("2026-03-12"))
        );
    }

    #[test]
    fn r11_a_year_with_no_calendar_is_an_error_never_a_guess() {
        let cal = kz();
        assert_eq!(
            cal.is_working_day(day("2028-01-04")),
            Err(CalendarError::NoYear(2028))
        );
        assert_eq!(add(&cal, "2024-12-30", 1), Err(CalendarError::NoYear(2024)));
        // Monday 20 Dec 2027: 21–24 Dec (4), 27–31 Dec (9); the count walks into 2028.
        assert_eq!(add(&cal, "2027-12-20", 9).unwrap(), "2027-12-31");
        assert_eq!(
            add(&cal, "2027-12-20", 15),
            Err(CalendarError::NoYear(2028))
        );
        assert_eq!(
            cal.calendar_months_due(day("2027-12-01"), 2),
            Err(CalendarError::NoYear(2028))
        );
        assert_eq!(
            deadline(
                &cal,
                at("2027-12-20", 10, 0),
                Term::WorkingDays(REVIEW_TERM_WORKING_DAYS),
                KZ_UTC_OFFSET_MIN
            ),
            Err(CalendarError::NoYear(2028))
        );
        // A gap between loaded years is no calendar either.
        let years = embedded_years().unwrap();
        let gap = WorkCalendar::new([&years[0], &years[2]]).unwrap();
        assert_eq!(
            add(&gap, "2025-12-22", 15),
            Err(CalendarError::NoYear(2026))
        );
        assert_eq!(
            gap.working_days_between(day("2025-12-01"), day("2027-01-10")),
            Err(CalendarError::NoYear(2026))
        );
        assert_eq!(add(&gap, "2027-01-01", 1).unwrap(), "2027-01-05");
        // Nothing loaded.
        assert_eq!(
            registration_day(&WorkCalendar::default(), at("2026-03-20", 10, 0), 300),
            Err(CalendarError::NoYear(2026))
        );
    }

    #[test]
    fn a_year_loaded_twice_must_be_the_same_calendar() {
        let years = embedded_years().unwrap();
        let twice = WorkCalendar::new([&years[1], &years[0], &years[1]]).unwrap();
        assert_eq!(twice, WorkCalendar::new(&years[..2]).unwrap());
        let mut other = years[1].clone();
        other.holidays.push("2026-08-31".into());
        assert!(matches!(
            WorkCalendar::new([&years[1], &other]),
            Err(CalendarError::Invalid { year: 2026, .. })
        ));
        let mut bad = years[1].clone();
        bad.moved_days_off.push("2026-03-21".into());
        assert!(matches!(
            WorkCalendar::new([&bad]),
            Err(CalendarError::Invalid { year: 2026, .. })
        ));
    }

    #[test]
    fn r16_deadline_state_is_near_within_3_working_days_and_overdue_after_the_day() {
        let cal = kz();
        let due = day("2026-04-09"); // Thursday
        let state = |today: &str| {
            deadline_state(&cal, due, day(today), NEAR_DEADLINE_WORKING_DAYS).unwrap()
        };
        // From Friday 3 April: 6, 7, 8, 9 April are 4 working days away.
        assert_eq!(state("2026-04-03"), DeadlineState::Ok);
        assert_eq!(state("2026-04-05"), DeadlineState::Ok);
        assert_eq!(state("2026-04-06"), DeadlineState::Near);
        assert_eq!(state("2026-04-09"), DeadlineState::Near);
        assert_eq!(state("2026-04-10"), DeadlineState::Overdue);
        // Наурыз days do not count: from Friday 20 March 2026 to Monday 30 March is 3.
        assert_eq!(
            deadline_state(&cal, day("2026-03-30"), day("2026-03-20"), 3),
            Ok(DeadlineState::Near)
        );
        assert_eq!(
            serde_json::to_string(&DeadlineState::Overdue).unwrap(),
            "\"overdue\""
        );
    }

    #[test]
    fn terms_and_deadlines_serialize_with_their_units() {
        assert_eq!(
            serde_json::to_string(&Term::WorkingDays(15)).unwrap(),
            r#"{"working_days":15}"#
        );
        assert_eq!(
            serde_json::from_str::<Term>(r#"{"calendar_months":2}"#).unwrap(),
            Term::CalendarMonths(2)
        );
        assert_eq!(
            serde_json::to_string(&Term::Hours(24)).unwrap(),
            r#"{"hours":24}"#
        );
        let d = Deadline {
            due: day("2026-04-09"),
            due_at: 1_775_761_199_999,
        };
        assert_eq!(
            serde_json::to_string(&d).unwrap(),
            r#"{"due":"2026-04-09","due_at":1775761199999}"#
        );
        assert_eq!(d.due.end_ms(KZ_UTC_OFFSET_MIN), d.due_at);
    }

    // ---- properties ----

    /// A day of 2025–2026 (counts of up to 200 working days stay inside 2027).
    fn day_2025_2026() -> impl Strategy<Value = Day> {
        let first = day("2025-01-01").days();
        let last = day("2026-12-31").days();
        (first..=last).prop_map(|d| Day::from_days(i64::from(d)))
    }

    /// A random calendar year: any days as holidays, weekdays as moved days off, weekend days
    /// as moved working days.
    fn random_year(year: i32) -> impl Strategy<Value = CalendarYear> {
        let first = Day::from_ymd(year, 1, 1).unwrap();
        let len = Day::from_ymd(year + 1, 1, 1).unwrap().days() - first.days();
        proptest::collection::vec(0u8..10, len as usize).prop_map(move |kinds| {
            let mut y = CalendarYear {
                year,
                status: CalendarStatus::Computed,
                source: "proptest".into(),
                holidays: vec![],
                moved_days_off: vec![],
                moved_working_days: vec![],
            };
            for (i, kind) in kinds.into_iter().enumerate() {
                let d = first.plus_days(i as i64);
                let date = d.to_string();
                match (kind, d.weekday().is_weekend()) {
                    (0, _) => y.holidays.push(date),
                    (1, false) => y.moved_days_off.push(date),
                    (1, true) => y.moved_working_days.push(date),
                    _ => {}
                }
            }
            y
        })
    }

    proptest! {
        #[test]
        fn r11_every_computed_deadline_is_a_working_day(
            start in day_2025_2026(),
            minute in 0i64..1_440,
            n in 0u32..200,
            months in 0u32..12,
        ) {
            let cal = kz();
            let start_ms = start.start_ms(KZ_UTC_OFFSET_MIN) + minute * 60_000;
            for term in [Term::WorkingDays(n), Term::CalendarMonths(months)] {
                let d = deadline(&cal, start_ms, term, KZ_UTC_OFFSET_MIN).unwrap();
                prop_assert!(cal.is_working_day(d.due).unwrap(), "{term:?} → {}", d.due);
                prop_assert!(d.due >= start);
                prop_assert_eq!(d.due_at, d.due.end_ms(KZ_UTC_OFFSET_MIN));
            }
            let r = registration_day(&cal, start_ms, KZ_UTC_OFFSET_MIN).unwrap();
            prop_assert!(cal.is_working_day(r).unwrap() && r >= start);
        }

        #[test]
        fn r11_adding_n_then_m_working_days_is_adding_n_plus_m(
            start in day_2025_2026(),
            n in 1u32..100,
            m in 0u32..100,
        ) {
            let cal = kz();
            let first = cal.add_working_days(start, n).unwrap();
            prop_assert_eq!(
                cal.add_working_days(first, m).unwrap(),
                cal.add_working_days(start, n + m).unwrap()
            );
        }

        #[test]
        fn r11_adding_working_days_is_monotonic_and_counted_back_by_between(
            start in day_2025_2026(),
            n in 0u32..200,
        ) {
            let cal = kz();
            let a = cal.add_working_days(start, n).unwrap();
            let b = cal.add_working_days(start, n + 1).unwrap();
            // n = 0 on a day off gives the same day as n = 1; from n = 1 on, strictly later.
            prop_assert!(a <= b);
            if n >= 1 || cal.is_working_day(start).unwrap() {
                prop_assert!(a < b);
                prop_assert_eq!(cal.working_days_between(start, a).unwrap(), n as i32);
                prop_assert_eq!(cal.working_days_between(a, b).unwrap(), 1);
            }
        }

        #[test]
        fn r11_the_order_years_are_loaded_in_does_not_matter(
            order in Just(vec![0usize, 1, 2]).prop_shuffle(),
            start in day_2025_2026(),
            n in 0u32..200,
        ) {
            let years = embedded_years().unwrap();
            let shuffled = WorkCalendar::new(order.iter().map(|&i| &years[i])).unwrap();
            let sorted = kz();
            prop_assert_eq!(&shuffled, &sorted);
            prop_assert_eq!(
                shuffled.add_working_days(start, n),
                sorted.add_working_days(start, n)
            );
        }

        #[test]
        fn r11_the_index_counts_like_a_day_by_day_walk_on_any_calendar(
            years in (random_year(2030), random_year(2031)),
            offset in 0i64..730,
            n in 0u32..60,
            swap in any::<bool>(),
        ) {
            let (a, b) = years;
            let cal = if swap {
                WorkCalendar::new([&b, &a]).unwrap()
            } else {
                WorkCalendar::new([&a, &b]).unwrap()
            };
            let naive_working = |d: Day| -> Result<bool, CalendarError> {
                match d.year() {
                    2030 => a.is_working_day(&d.to_string()),
                    2031 => b.is_working_day(&d.to_string()),
                    y => Err(CalendarError::NoYear(y)),
                }
            };
            let start = day("2030-01-01").plus_days(offset);
            prop_assert_eq!(cal.is_working_day(start), naive_working(start));
            // Walk day by day: the start day itself counts only for n = 0.
            let naive = (|| {
                let mut d = start;
                if n == 0 && naive_working(d)? {
                    return Ok(d);
                }
                let mut left = n;
                loop {
                    d = d.plus_days(1);
                    if naive_working(d)? {
                        if left <= 1 {
                            return Ok(d);
                        }
                        left -= 1;
                    }
                }
            })();
            prop_assert_eq!(cal.add_working_days(start, n), naive);
        }
    }
}
