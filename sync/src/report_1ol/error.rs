//! Why a report 1-ОЛ cannot be formed, with a code for the API.

use crate::calendar::{CalendarError, Day};

/// Why a report cannot be formed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    #[error("month {month} of {year} is not a reporting period (months are 1–12, years 1–9998)")]
    BadPeriod { year: i32, month: u32 },
    #[error("the period {year}-{month:02} has not begun yet (today is {today})")]
    Future { year: i32, month: u32, today: Day },
    #[error("the period {year}-{month:02} is not closed yet: it ends on {last_day}")]
    NotClosed {
        year: i32,
        month: u32,
        last_day: Day,
    },
    #[error("{0}")]
    Calendar(CalendarError),
    #[error("reception record {record_id}: {message}")]
    BadEntry { record_id: String, message: String },
    #[error("the issued versions of {year}-{month:02} are not in order: {message}")]
    BadVersions {
        year: i32,
        month: u32,
        message: String,
    },
}

impl From<CalendarError> for ReportError {
    fn from(e: CalendarError) -> Self {
        ReportError::Calendar(e)
    }
}

impl ReportError {
    /// Stable machine-readable code for the API (`err.<code>` in the browser's texts).
    pub fn code(&self) -> &'static str {
        match self {
            ReportError::BadPeriod { .. } => "report_bad_period",
            ReportError::Future { .. } => "report_period_future",
            ReportError::NotClosed { .. } => "report_period_not_closed",
            ReportError::Calendar(CalendarError::NoYear(_)) => "no_calendar_for_year",
            ReportError::Calendar(_) => "report_calendar_invalid",
            ReportError::BadEntry { .. } => "report_bad_entry",
            ReportError::BadVersions { .. } => "report_bad_versions",
        }
    }
}
