//! The report as a whole: its sections (only section 5 is in the seeds) and the function that
//! forms it for a closed period.

use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use super::error::ReportError;
use super::period::{self, due_day, Period};
use super::section5::{section5, Body, ReceptionEntry, Section5};
use crate::calendar::{Day, WorkCalendar};

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

/// A report 1-ОЛ for one period and one set of bodies (a region's node: its own; central: every
/// region), as the API returns it and the exports write it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Report1Ol {
    /// [`REPORT_FORMAT`]: a stored report of another format is refused when read.
    #[serde(deserialize_with = "known_format")]
    pub format: String,
    #[schema(value_type = period::PeriodWire)]
    pub period: Period,
    /// 1 January of the period's year: the report is cumulative from it.
    pub from: Day,
    /// The period's last day.
    pub to: Day,
    /// The day the report is due (the 10th of the next month, or the next working day).
    pub due_on: Day,
    /// Each section and where its layout comes from (this code's knowledge, not stored).
    #[serde(skip_deserializing, default = "sections")]
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
        format: REPORT_FORMAT.to_string(),
        period,
        from: period.year_start(),
        to: period.last_day(),
        due_on,
        sections: sections(),
        incomplete: SECTIONS.iter().any(|s| s.source == NOT_IN_THE_SEEDS),
        section5: section5(entries, bodies, period),
    })
}

fn sections() -> Vec<SectionSource> {
    SECTIONS.to_vec()
}

/// Reads the format name, accepting only [`REPORT_FORMAT`].
fn known_format<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let name = String::deserialize(d)?;
    if name == REPORT_FORMAT {
        Ok(name)
    } else {
        Err(serde::de::Error::custom(format!(
            "report format {name:?} is not {REPORT_FORMAT:?}"
        )))
    }
}
