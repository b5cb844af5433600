//! Kazakhstan's working-day calendar: one year per national document (`KZ/calendar/{year}`),
//! written at the hub and replicated to every node. Statutory deadlines count working days with
//! it; a date in a year without a calendar is an error shown to people, never a guess.
//!
//! [`Day`] is a date; [`WorkCalendar`] indexes the loaded years (prefix sums of working days) for
//! the deadline arithmetic of `crate::deadline`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::ToSchema;

use crate::reference::day_of_date;

/// The embedded calendar files (`sync/src/calendar/kz-YYYY.toml`), which the hub publishes on
/// its first start; an installer replaces a computed year when the decree is out.
pub const EMBEDDED_YEARS_TOML: [&str; 3] = [
    include_str!("calendar/kz-2025.toml"),
    include_str!("calendar/kz-2026.toml"),
    include_str!("calendar/kz-2027.toml"),
];

/// Most dates one list of a calendar year may hold.
pub const CALENDAR_DATES_MAX: usize = 366;
/// Longest source description, in characters.
pub const CALENDAR_SOURCE_CHARS_MAX: usize = 1_000;

/// Whether a year's calendar follows the published decree or was computed from the law.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CalendarStatus {
    Official,
    Computed,
}

/// One year of the working-day calendar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CalendarYear {
    pub year: i32,
    pub status: CalendarStatus,
    /// The legal acts and reports the year was taken from.
    pub source: String,
    /// State and religious holidays (days off), `YYYY-MM-DD`.
    pub holidays: Vec<String>,
    /// Weekdays that are days off: moved from a holiday on a weekend, or by a transfer decree.
    pub moved_days_off: Vec<String>,
    /// Saturdays and Sundays that are working days by a transfer decree.
    #[serde(default)]
    pub moved_working_days: Vec<String>,
}

/// Why a date cannot be classified, or a calendar year is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("{0:?} is not a date YYYY-MM-DD")]
    BadDate(String),
    #[error("no working-day calendar is loaded for {0}")]
    NoYear(i32),
    #[error("calendar {year}: {message}")]
    Invalid { year: i32, message: String },
}

/// The year and the days since 1970-01-01 of a `YYYY-MM-DD` date, checked (a real date: no
/// 30 February).
fn parse_date(date: &str) -> Result<(i32, i64), CalendarError> {
    let day = Day::parse(date)?;
    Ok((day.year(), i64::from(day.0)))
}

/// Saturday or Sunday.
fn is_weekend(days: i64) -> bool {
    // 1970-01-01 was a Thursday: day 0 → 3 with Monday = 0.
    (days + 3).rem_euclid(7) >= 5
}

/// Milliseconds in a day.
const DAY_MS: i64 = 86_400_000;
/// Milliseconds in a minute (UTC offsets are in minutes).
const MINUTE_MS: i64 = 60_000;

/// Days in month `m` (1–12) of year `y` (proleptic Gregorian).
fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Year, month and day of a day counted from 1970-01-01 (Howard Hinnant's civil_from_days).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// A calendar date: days since 1970-01-01, between 0000-01-01 and 9999-12-31 (the dates
/// `YYYY-MM-DD` can write). Written and serialized as `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, ToSchema)]
#[schema(value_type = String, format = Date, example = "2026-03-26")]
pub struct Day(i32);

/// A day of the week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

impl Weekday {
    /// Saturday or Sunday.
    pub fn is_weekend(self) -> bool {
        matches!(self, Weekday::Saturday | Weekday::Sunday)
    }
}

impl Day {
    /// 0000-01-01.
    pub const MIN: Day = Day(-719_528);
    /// 9999-12-31.
    pub const MAX: Day = Day(2_932_896);

    /// A `YYYY-MM-DD` date; anything else (including 2025-02-29) is [`CalendarError::BadDate`].
    pub fn parse(date: &str) -> Result<Day, CalendarError> {
        let bad = || CalendarError::BadDate(date.to_string());
        let b = date.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(bad());
        }
        let num = |r: std::ops::Range<usize>| -> Option<u32> {
            let part = &b[r];
            part.iter()
                .all(u8::is_ascii_digit)
                .then(|| part.iter().fold(0u32, |n, c| n * 10 + u32::from(c - b'0')))
        };
        match (num(0..4), num(5..7), num(8..10)) {
            (Some(y), Some(m), Some(d)) => Day::from_ymd(y as i32, m, d).map_err(|_| bad()),
            _ => Err(bad()),
        }
    }

    /// The date `y`-`m`-`d`, checked: a year 0–9999, a month 1–12 and a day of that month.
    pub fn from_ymd(y: i32, m: u32, d: u32) -> Result<Day, CalendarError> {
        if !(0..=9999).contains(&y)
            || !(1..=12).contains(&m)
            || d == 0
            || d > days_in_month(i64::from(y), m)
        {
            return Err(CalendarError::BadDate(format!("{y:04}-{m:02}-{d:02}")));
        }
        Ok(Day(
            day_of_date(i64::from(y), i64::from(m), i64::from(d)) as i32
        ))
    }

    /// The day `days` after 1970-01-01, held to [`Day::MIN`]–[`Day::MAX`].
    pub fn from_days(days: i64) -> Day {
        Day(days.clamp(i64::from(Day::MIN.0), i64::from(Day::MAX.0)) as i32)
    }

    /// Days since 1970-01-01.
    pub fn days(self) -> i32 {
        self.0
    }

    /// The local date of the instant `ms` (milliseconds since the Unix epoch) in a zone
    /// `utc_offset_min` minutes east of UTC (Kazakhstan: [`KZ_UTC_OFFSET_MIN`]); held to
    /// [`Day::MIN`]–[`Day::MAX`].
    pub fn from_ms(ms: i64, utc_offset_min: i32) -> Day {
        let local = ms.saturating_add(i64::from(utc_offset_min) * MINUTE_MS);
        Day::from_days(local.div_euclid(DAY_MS))
    }

    /// The first millisecond of this local day in a zone `utc_offset_min` minutes east of UTC.
    pub fn start_ms(self, utc_offset_min: i32) -> i64 {
        i64::from(self.0) * DAY_MS - i64::from(utc_offset_min) * MINUTE_MS
    }

    /// The last millisecond of this local day in a zone `utc_offset_min` minutes east of UTC.
    pub fn end_ms(self, utc_offset_min: i32) -> i64 {
        self.start_ms(utc_offset_min) + DAY_MS - 1
    }

    /// The day `n` days later (earlier when negative), held to [`Day::MIN`]–[`Day::MAX`].
    pub fn plus_days(self, n: i64) -> Day {
        Day::from_days(i64::from(self.0).saturating_add(n))
    }

    /// Year, month (1–12) and day of the month (1–31).
    pub fn ymd(self) -> (i32, u32, u32) {
        let (y, m, d) = civil_from_days(i64::from(self.0));
        (y as i32, m, d)
    }

    pub fn year(self) -> i32 {
        self.ymd().0
    }

    pub fn month(self) -> u32 {
        self.ymd().1
    }

    pub fn day_of_month(self) -> u32 {
        self.ymd().2
    }

    pub fn weekday(self) -> Weekday {
        const WEEK: [Weekday; 7] = [
            Weekday::Monday,
            Weekday::Tuesday,
            Weekday::Wednesday,
            Weekday::Thursday,
            Weekday::Friday,
            Weekday::Saturday,
            Weekday::Sunday,
        ];
        // 1970-01-01 was a Thursday.
        WEEK[(i64::from(self.0) + 3).rem_euclid(7) as usize]
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

impl FromStr for Day {
    type Err = CalendarError;
    fn from_str(s: &str) -> Result<Day, CalendarError> {
        Day::parse(s)
    }
}

impl Serialize for Day {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Day, D::Error> {
        let text = String::deserialize(deserializer)?;
        Day::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Kazakhstan's one time zone since 2024-03-01: UTC+5, in minutes east of UTC.
pub const KZ_UTC_OFFSET_MIN: i32 = 300;

impl CalendarYear {
    /// Parses a calendar file (TOML).
    pub fn from_toml(text: &str) -> Result<CalendarYear, String> {
        let year: CalendarYear = toml::from_str(text).map_err(|e| e.to_string())?;
        year.validate().map_err(|e| e.to_string())?;
        Ok(year)
    }

    /// Checks the year: every date valid and in the year, no date listed twice, moved days off
    /// are weekdays and moved working days weekend days.
    pub fn validate(&self) -> Result<(), CalendarError> {
        let invalid = |message: String| CalendarError::Invalid {
            year: self.year,
            message,
        };
        if !(2000..=2100).contains(&self.year) {
            return Err(invalid("the year must be between 2000 and 2100".into()));
        }
        if self.source.trim().is_empty() || self.source.chars().count() > CALENDAR_SOURCE_CHARS_MAX
        {
            return Err(invalid(format!(
                "the source must be named, in at most {CALENDAR_SOURCE_CHARS_MAX} characters"
            )));
        }
        let mut seen = BTreeSet::new();
        for (list, dates) in [
            ("holidays", &self.holidays),
            ("moved_days_off", &self.moved_days_off),
            ("moved_working_days", &self.moved_working_days),
        ] {
            if dates.len() > CALENDAR_DATES_MAX {
                return Err(invalid(format!(
                    "{list} lists {} dates; at most {CALENDAR_DATES_MAX}",
                    dates.len()
                )));
            }
            for date in dates {
                let (year, days) = parse_date(date).map_err(|e| invalid(e.to_string()))?;
                if year != self.year {
                    return Err(invalid(format!("{list}: {date} is not in {}", self.year)));
                }
                if !seen.insert(date.as_str()) {
                    return Err(invalid(format!("{date} is listed twice")));
                }
                if list == "moved_days_off" && is_weekend(days) {
                    return Err(invalid(format!(
                        "moved_days_off: {date} is a Saturday or Sunday"
                    )));
                }
                if list == "moved_working_days" && !is_weekend(days) {
                    return Err(invalid(format!(
                        "moved_working_days: {date} is not a Saturday or Sunday"
                    )));
                }
            }
        }
        Ok(())
    }

    /// Whether `date` (of this year) is a working day.
    pub fn is_working_day(&self, date: &str) -> Result<bool, CalendarError> {
        let (year, days) = parse_date(date)?;
        if year != self.year {
            return Err(CalendarError::NoYear(year));
        }
        let listed = |list: &[String]| list.iter().any(|d| d == date);
        if listed(&self.moved_working_days) {
            return Ok(true);
        }
        Ok(!is_weekend(days) && !listed(&self.holidays) && !listed(&self.moved_days_off))
    }
}

/// The embedded calendar years, checked.
pub fn embedded_years() -> Result<Vec<CalendarYear>, String> {
    EMBEDDED_YEARS_TOML
        .iter()
        .map(|t| CalendarYear::from_toml(t))
        .collect()
}

/// One loaded year, indexed: which of its days are working days, counted.
#[derive(Debug, Clone, PartialEq, Eq)]
struct YearIndex {
    /// 1 January of the year.
    first: Day,
    /// `prefix[i]`: working days among the year's first `i` days (one entry per day, plus one).
    prefix: Vec<u16>,
    /// `nth[k]`: the offset from 1 January of the year's working day number `k + 1`.
    nth: Vec<u16>,
    /// Working days of all loaded years before this one (counts across a run of loaded years).
    before: i64,
}

impl YearIndex {
    fn build(year: &CalendarYear) -> Result<YearIndex, CalendarError> {
        let dates = |list: &[String]| -> Result<BTreeSet<Day>, CalendarError> {
            list.iter().map(|d| Day::parse(d)).collect()
        };
        let holidays = dates(&year.holidays)?;
        let moved_off = dates(&year.moved_days_off)?;
        let moved_working = dates(&year.moved_working_days)?;
        let first = Day::from_ymd(year.year, 1, 1)?;
        let next = Day::from_ymd(year.year + 1, 1, 1)?;
        let mut prefix = Vec::with_capacity(367);
        let mut nth = Vec::with_capacity(366);
        prefix.push(0u16);
        for offset in 0..(next.0 - first.0) {
            let day = Day(first.0 + offset);
            let working = moved_working.contains(&day)
                || !(day.weekday().is_weekend()
                    || holidays.contains(&day)
                    || moved_off.contains(&day));
            if working {
                nth.push(offset as u16);
            }
            prefix.push(nth.len() as u16);
        }
        Ok(YearIndex {
            first,
            prefix,
            nth,
            before: 0,
        })
    }

    /// The day's offset from 1 January (the day is in this year).
    fn offset(&self, day: Day) -> usize {
        (day.0 - self.first.0) as usize
    }

    /// Working days of this year up to and including `day`.
    fn through(&self, day: Day) -> u16 {
        self.prefix[self.offset(day) + 1]
    }
}

/// The working-day calendar of every loaded year, indexed for deadline arithmetic: a lookup is
/// a few array reads, adding working days walks at most one step per year crossed. A day in a
/// year that is not loaded is [`CalendarError::NoYear`], also when counting walks into it. The
/// same years give the same calendar in whatever order they are loaded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WorkCalendar {
    /// The first loaded year (0 when none is).
    first_year: i32,
    /// Year `first_year + i` at `i`; `None` for a year in between that is not loaded.
    years: Vec<Option<YearIndex>>,
}

impl WorkCalendar {
    /// Indexes the given years, each checked ([`CalendarYear::validate`]). A year given twice
    /// with different contents is [`CalendarError::Invalid`]; an identical copy is ignored.
    pub fn new<'a>(
        years: impl IntoIterator<Item = &'a CalendarYear>,
    ) -> Result<WorkCalendar, CalendarError> {
        let mut by_year: BTreeMap<i32, &CalendarYear> = BTreeMap::new();
        for year in years {
            year.validate()?;
            if let Some(other) = by_year.insert(year.year, year) {
                if other != year {
                    return Err(CalendarError::Invalid {
                        year: year.year,
                        message: "two different calendars are loaded for the year".into(),
                    });
                }
            }
        }
        let (Some(&first_year), Some(&last_year)) = (by_year.keys().next(), by_year.keys().last())
        else {
            return Ok(WorkCalendar::default());
        };
        let mut slots: Vec<Option<YearIndex>> = vec![None; (last_year - first_year + 1) as usize];
        let mut before = 0i64;
        for (year, calendar) in by_year {
            let mut index = YearIndex::build(calendar)?;
            index.before = before;
            before += index.nth.len() as i64;
            slots[(year - first_year) as usize] = Some(index);
        }
        Ok(WorkCalendar {
            first_year,
            years: slots,
        })
    }

    /// The loaded years, in order.
    pub fn years(&self) -> impl Iterator<Item = i32> + '_ {
        self.years
            .iter()
            .enumerate()
            .filter(|(_, y)| y.is_some())
            .map(|(i, _)| self.first_year + i as i32)
    }

    fn year(&self, year: i32) -> Result<&YearIndex, CalendarError> {
        usize::try_from(i64::from(year) - i64::from(self.first_year))
            .ok()
            .and_then(|i| self.years.get(i))
            .and_then(Option::as_ref)
            .ok_or(CalendarError::NoYear(year))
    }

    /// The working day number `k + 1` counting from 1 January of `year` on, across the
    /// following years.
    fn nth_from(&self, mut year: i32, mut k: u64) -> Result<Day, CalendarError> {
        loop {
            let index = self.year(year)?;
            if let Some(&offset) = usize::try_from(k).ok().and_then(|k| index.nth.get(k)) {
                return Ok(Day(index.first.0 + i32::from(offset)));
            }
            k -= index.nth.len() as u64;
            year += 1;
        }
    }

    /// Whether `day` is a working day.
    pub fn is_working_day(&self, day: Day) -> Result<bool, CalendarError> {
        let index = self.year(day.year())?;
        let offset = index.offset(day);
        Ok(index.prefix[offset + 1] > index.prefix[offset])
    }

    /// `day` when it is a working day, else the first working day after it.
    pub fn next_working_day(&self, day: Day) -> Result<Day, CalendarError> {
        let year = day.year();
        let index = self.year(year)?;
        self.nth_from(year, u64::from(index.prefix[index.offset(day)]))
    }

    /// The `n`-th working day after `start` (`start` itself not counted); for `n` = 0, `start`
    /// when it is a working day, else the next working day.
    pub fn add_working_days(&self, start: Day, n: u32) -> Result<Day, CalendarError> {
        if n == 0 {
            return self.next_working_day(start);
        }
        let year = start.year();
        let index = self.year(year)?;
        self.nth_from(year, u64::from(index.through(start)) + u64::from(n) - 1)
    }

    /// Working days after `a` up to and including `b`; negative when `b` is before `a`. Every
    /// year from `a`'s to `b`'s must be loaded.
    pub fn working_days_between(&self, a: Day, b: Day) -> Result<i32, CalendarError> {
        if b < a {
            return self.working_days_between(b, a).map(|n| -n);
        }
        let (ya, yb) = (a.year(), b.year());
        for year in ya..=yb {
            self.year(year)?;
        }
        let rank = |day: Day, index: &YearIndex| index.before + i64::from(index.through(day));
        let count = rank(b, self.year(yb)?) - rank(a, self.year(ya)?);
        Ok(count as i32)
    }

    /// [`add_calendar_months`], then, when that day is not a working day, the next working day
    /// (Civil Code art. 173: a term that ends on a non-working day ends on the next working day).
    pub fn calendar_months_due(&self, start: Day, months: u32) -> Result<Day, CalendarError> {
        self.next_working_day(add_calendar_months(start, months))
    }
}

/// The same day of the month `months` months after `start`, or the last day of that month when
/// it is shorter (31 January + 1 month = 28 or 29 February); held to [`Day::MAX`]. Pure: no
/// working-day calendar is needed.
pub fn add_calendar_months(start: Day, months: u32) -> Day {
    let (y, m, d) = start.ymd();
    let total = i64::from(y) * 12 + i64::from(m - 1) + i64::from(months);
    let (year, month) = (total.div_euclid(12), total.rem_euclid(12) as u32 + 1);
    if year > 9999 {
        return Day::MAX;
    }
    let day = d.min(days_in_month(year, month));
    Day::from_ymd(year as i32, month, day).unwrap_or(Day::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn year(y: i32) -> CalendarYear {
        embedded_years()
            .unwrap()
            .into_iter()
            .find(|c| c.year == y)
            .unwrap()
    }

    #[test]
    fn the_embedded_years_follow_the_calendar_facts() {
        let y2025 = year(2025);
        // The government moved the day off of Sunday 5 January 2025 to Friday 3 January.
        assert_eq!(y2025.is_working_day("2025-01-03"), Ok(false));
        assert_eq!(y2025.is_working_day("2025-01-05"), Ok(true));
        // Наурыз on a weekend moves to Monday and Tuesday.
        assert_eq!(y2025.is_working_day("2025-03-24"), Ok(false));
        assert_eq!(y2025.is_working_day("2025-03-26"), Ok(true));
        let y2026 = year(2026);
        // Constitution Day is not a holiday in 2026 (a Sunday anyway); 31 August is a Monday.
        assert_eq!(y2026.is_working_day("2026-08-31"), Ok(true));
        assert_eq!(y2026.is_working_day("2026-05-11"), Ok(false));
        assert_eq!(y2026.is_working_day("2026-05-27"), Ok(false));
        assert_eq!(y2026.is_working_day("2026-12-05"), Ok(false)); // a Saturday
        assert_eq!(y2026.is_working_day("2026-12-04"), Ok(true));
        assert_eq!(year(2027).status, CalendarStatus::Computed);
        assert_eq!(year(2027).is_working_day("2027-03-15"), Ok(false));
    }

    #[test]
    fn bad_calendar_years_are_refused_with_the_reason() {
        let mut y = year(2026);
        y.moved_days_off.push("2026-03-21".into());
        assert!(matches!(y.validate(), Err(CalendarError::Invalid { .. })));
        let mut y = year(2026);
        y.holidays.push("2025-12-31".into());
        assert!(y
            .validate()
            .unwrap_err()
            .to_string()
            .contains("not in 2026"));
        let mut y = year(2026);
        y.moved_working_days.push("2026-03-02".into());
        assert!(y.validate().is_err());
        assert_eq!(
            year(2026).is_working_day("2028-01-03"),
            Err(CalendarError::NoYear(2028))
        );
        assert!(matches!(
            year(2026).is_working_day("2026-13-01"),
            Err(CalendarError::BadDate(_))
        ));
    }
}
