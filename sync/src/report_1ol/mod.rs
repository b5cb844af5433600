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
//! - [`sim`]: a seeded year at central with regions cut off across the 10th, checking that
//!   every period's latest version equals the report from scratch;
//! - [`headings`]: the seed's row and column headings in Russian (as the seed writes them) and
//!   Kazakh, for the exports.
//!
//! Sections 1–4 of the form (Приложение 5 of the Rules) are not reproduced in the seeds: the
//! report lists them as `not in the seeds` ([`SECTIONS`]) and is marked incomplete.

mod error;
mod form;
pub mod headings;
pub mod national;
pub mod period;
pub mod section5;
pub mod sim;

#[cfg(test)]
mod tests;

pub use error::ReportError;
pub use form::{report, Report1Ol, SectionSource, NOT_IN_THE_SEEDS, REPORT_FORMAT, SECTIONS};
pub use national::{diff, issue, Applied, CellChange, Contributions, Issue, IssuedReport};
pub use period::{due_day, Period};
pub use section5::{
    section5, Body, Cells, Receiver, ReceptionDecision, ReceptionEntry, ReceptionOutcome, Section5,
    Section5Row,
};
