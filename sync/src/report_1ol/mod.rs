//! Report 1-ОЛ «О рассмотрении обращений, сообщений, запросов, откликов, предложений» (R32,
//! seed 004 p.32 and its Приложение 2): formed monthly on the 10th of the next month (the next
//! working day when the 10th is not one), cumulative from 1 January.
//!
//! Pure functions, no clock and no store: the caller passes the day (`today`), the working-day
//! calendar and the facts.
//! - [`period`]: which period a report covers, when it is due, whether it may be formed yet;
//! - [`section5`]: section 5 «Личный прием» computed from [`ReceptionEntry`] facts (one per ЛП-1
//!   record; the reception part converts its records into them);
//! - [`national`]: the national sum counted exactly once — contributions are keyed by (region,
//!   record id), so a replayed or duplicated replication never counts twice — and the versions
//!   of an issued report: a closed period re-issued after late data is a new version carrying
//!   its difference from the previous one, never a silent change;
//! - [`headings`]: the seed's row and column headings in Russian (as the seed writes them) and
//!   Kazakh, for the exports.
//!
//! Sections 1–4 of the form (Приложение 5 of the Rules) are not reproduced in the seeds: the
//! report lists them as `not in the seeds` ([`SECTIONS`]) and is marked incomplete.

pub mod headings;
pub mod national;
pub mod period;
pub mod section5;

#[cfg(test)]
mod tests;

use serde::Serialize;
use utoipa::ToSchema;

use crate::calendar::{CalendarError, Day, WorkCalendar};

pub use national::{diff, issue, Applied, CellChange, Contributions, Issue, IssuedReport};
pub use period::{due_day, Period};
pub use section5::{
    section5, Body, Cells, Receiver, ReceptionDecision, ReceptionEntry, ReceptionOutcome, Section5,
    Section5Row,
};

/// The format name and version of a report as the API and the exports carry it.
pub const REPORT_FORMAT: &str = "mvd102-report-1ol/1";

/// What the seeds say of one section of the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct SectionSource {
    pub number: u8,
    /// Where the section's layout comes from: `seed 004, Приложение 2` or `not in the seeds`.
    pub source: &'static str,
}

/// A section whose layout the seeds do not give.
pub const NOT_IN_THE_SEEDS: &str = "not in the seeds";

/// The form's sections and their sources: only section 5 is reproduced in seed 004.
pub const SECTIONS: [SectionSource; 5] = [
    SectionSource {
        number: 1,
        source: NOT_IN_THE_SEEDS,
    },
    SectionSource {
        number: 2,
        source: NOT_IN_THE_SEEDS,
    },
    SectionSource {
        number: 3,
        source: NOT_IN_THE_SEEDS,
    },
    SectionSource {
        number: 4,
        source: NOT_IN_THE_SEEDS,
    },
    SectionSource {
        number: 5,
        source: "seed 004, Приложение 2 к приказу № 170",
    },
];

/// Why a report cannot be formed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    #[error("month {month} of {year} is not a reporting period (months are 1–12, years 1–9998)")]
    BadPeriod { year: i32, month: u32 },
    #[error("the period {period} has not begun yet (today is {today})")]
    Future { period: Period, today: Day },
    #[error("the period {period} is not closed yet: it ends on {last_day}")]
    NotClosed { period: Period, last_day: Day },
    #[error("{0}")]
    Calendar(CalendarError),
    #[error("reception record {record_id}: {message}")]
    BadEntry { record_id: String, message: String },
    #[error("the issued versions of {period} are not in order: {message}")]
    BadVersions { period: Period, message: String },
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

/// A report 1-ОЛ for one period and one set of bodies (a region's node: its own; central: every
/// region), as the API returns it and the exports write it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Report1Ol {
    pub format: &'static str,
    #[schema(value_type = period::PeriodWire)]
    pub period: Period,
    /// 1 January of the period's year: the report is cumulative from it.
    pub from: Day,
    /// The period's last day.
    pub to: Day,
    /// The day the report is due (the 10th of the next month, or the next working day).
    pub due_on: Day,
    /// Each section and where its layout comes from.
    pub sections: Vec<SectionSource>,
    /// True while any section's layout is not in the seeds: the UI and the exports say so.
    pub incomplete: bool,
    pub section5: Section5,
}

/// The report for `period` as of `today`: the period must be closed (its month over), and the
/// calendar must hold the due day's year. `entries` are every reception record known; `bodies`
/// the rows to show (each region in `entries` gets a row even when `bodies` omits it).
pub fn report<'a>(
    entries: impl IntoIterator<Item = &'a ReceptionEntry>,
    bodies: &[Body],
    period: Period,
    today: Day,
    calendar: &WorkCalendar,
) -> Result<Report1Ol, ReportError> {
    period.check_closed(today)?;
    let due_on = due_day(period, calendar)?;
    Ok(Report1Ol {
        format: REPORT_FORMAT,
        period,
        from: period.year_start(),
        to: period.last_day(),
        due_on,
        sections: SECTIONS.to_vec(),
        incomplete: SECTIONS.iter().any(|s| s.source == NOT_IN_THE_SEEDS),
        section5: section5(entries, bodies, period),
    })
}
