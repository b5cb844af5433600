//! Kazakhstan's working-day calendar: one year per national document (`KZ/calendar/{year}`),
//! written at the hub and replicated to every node. Statutory deadlines count working days with
//! it; a date in a year without a calendar is an error shown to people, never a guess.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
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

/// Days since 1970-01-01 of a `YYYY-MM-DD` date, checked.
fn parse_date(date: &str) -> Result<(i32, i64), CalendarError> {
    crate::roster::validate_date(date).map_err(|_| CalendarError::BadDate(date.to_string()))?;
    let num = |r: std::ops::Range<usize>| date[r].parse::<i64>().ok();
    match (num(0..4), num(5..7), num(8..10)) {
        (Some(y), Some(m), Some(d)) => Ok((y as i32, day_of_date(y, m, d))),
        _ => Err(CalendarError::BadDate(date.to_string())),
    }
}

/// Saturday or Sunday.
fn is_weekend(days: i64) -> bool {
    // 1970-01-01 was a Thursday: day 0 → 3 with Monday = 0.
    (days + 3).rem_euclid(7) >= 5
}

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
