//! Section 5 «Личный прием» of report 1-ОЛ (seed 004, Приложение 2): per reporting body (the
//! form's rows: the bodies of art. 20 part 2 of the Administrative Procedure Code; here each
//! region's police department), the columns of the seed, counted from [`ReceptionEntry`] facts.
//!
//! How each column is counted for a period (cumulative: from 1 January to the period's last day):
//! - pending at the start of the year: requests put in the queue before 1 January and not
//!   finished (held, refused or recorded as not held) before it;
//! - received: requests put in the queue (ЛП-1 field 4) within the period;
//!   of which booked: those given a reception slot by the period's end;
//!   of which refused: those refused a reception by the period's end;
//! - pending at the end: requests put in the queue by the period's end and not finished by it;
//! - received by the head / by a deputy: receptions held within the period (field 26), by who
//!   held them (field 31);
//! - decision satisfied / refused / explained: receptions held within the period with that
//!   decision (field 25).
//!
//! A reception that did not take place (field 36) finishes the request: its ЛП-1 is filled with
//! the reason (seed 004 p.18) and it counts in no column after the queue.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::ReportError;
use super::period::Period;
use crate::calendar::Day;

/// The minimal facts of one ЛП-1 record that section 5 counts. The reception part converts its
/// records into these; central receives them replicated from the regions.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceptionEntry {
    /// The reporting body: the region whose node owns the record (the section's row).
    pub region: String,
    /// The record's stable id (the reception document's id), unique within its region.
    pub record_id: String,
    /// How far the record has been written: a later state of the same record has a higher
    /// revision (the count of changes folded into it). Merging keeps the highest.
    pub revision: u64,
    /// ЛП-1 field 4: the day the request was put in the queue.
    pub requested_on: Day,
    /// The day the request was given a reception slot, if it was.
    #[schema(value_type = Option<String>)]
    pub booked_on: Option<Day>,
    /// How the request ended, if it has.
    pub outcome: Option<ReceptionOutcome>,
}

/// How a reception request ended.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case", tag = "kind", deny_unknown_fields)]
pub enum ReceptionOutcome {
    /// The reception was refused.
    Refused { on: Day },
    /// The reception was held on field 26's date by field 31's official, with field 25's
    /// decision when one is recorded.
    Held {
        on: Day,
        by: Receiver,
        decision: Option<ReceptionDecision>,
    },
    /// The reception did not take place (field 36; the reason stays on the ЛП-1).
    NotHeld { on: Day },
}

impl ReceptionOutcome {
    /// The day the request was finished.
    pub fn day(self) -> Day {
        match self {
            ReceptionOutcome::Refused { on }
            | ReceptionOutcome::Held { on, .. }
            | ReceptionOutcome::NotHeld { on } => on,
        }
    }
}

/// Who held a reception (ЛП-1 field 31), as section 5 distinguishes them.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Receiver {
    /// The head of the body.
    Head,
    /// A deputy head.
    Deputy,
    /// Another official: counted in neither column.
    Other,
}

/// The decision on a reception (ЛП-1 field 25) as section 5 counts it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ReceptionDecision {
    Satisfied,
    Refused,
    Explained,
}

impl ReceptionEntry {
    /// The entry's facts agree with each other: nothing happens before the request.
    pub fn validate(&self) -> Result<(), ReportError> {
        let bad = |message: &str| ReportError::BadEntry {
            record_id: self.record_id.clone(),
            message: message.to_string(),
        };
        if self.region.trim().is_empty() || self.record_id.trim().is_empty() {
            return Err(bad("the region and the record id must not be empty"));
        }
        if self.booked_on.is_some_and(|d| d < self.requested_on) {
            return Err(bad("booked before the request was put in the queue"));
        }
        if self.outcome.is_some_and(|o| o.day() < self.requested_on) {
            return Err(bad("finished before the request was put in the queue"));
        }
        Ok(())
    }

    /// Still waiting at the end of `day`.
    fn pending_at(&self, day: Day) -> bool {
        self.requested_on <= day && self.outcome.is_none_or(|o| o.day() > day)
    }
}

/// One row's numbers, in the seed's column order ([`Cells::values`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Cells {
    /// «Остаток не рассмотренных заявлений на личный прием на начало года».
    pub pending_at_year_start: u64,
    /// «Всего поступило заявлений на личный прием».
    pub received: u64,
    /// «из них: Записано на личный прием».
    pub booked: u64,
    /// «из них: Отказано в личном приеме».
    pub refused: u64,
    /// «Остаток на конец отчетного периода».
    pub pending_at_end: u64,
    /// «Принят руководителем ...».
    pub received_by_head: u64,
    /// «Принят заместителем руководителя ...».
    pub received_by_deputy: u64,
    /// «Решение по личному приему: удовлетворено».
    pub decision_satisfied: u64,
    /// «... отказано».
    pub decision_refused: u64,
    /// «... разъяснено».
    pub decision_explained: u64,
}

/// How many number columns section 5 has.
pub const CELL_COLUMNS: usize = 10;

impl Cells {
    /// The numbers in the seed's column order (the order of `headings::COLUMNS`).
    pub fn values(&self) -> [u64; CELL_COLUMNS] {
        [
            self.pending_at_year_start,
            self.received,
            self.booked,
            self.refused,
            self.pending_at_end,
            self.received_by_head,
            self.received_by_deputy,
            self.decision_satisfied,
            self.decision_refused,
            self.decision_explained,
        ]
    }

    fn add(&mut self, other: &Cells) {
        self.pending_at_year_start += other.pending_at_year_start;
        self.received += other.received;
        self.booked += other.booked;
        self.refused += other.refused;
        self.pending_at_end += other.pending_at_end;
        self.received_by_head += other.received_by_head;
        self.received_by_deputy += other.received_by_deputy;
        self.decision_satisfied += other.decision_satisfied;
        self.decision_refused += other.decision_refused;
        self.decision_explained += other.decision_explained;
    }

    /// Counts one entry for the cumulative period `from..=to`.
    fn count(&mut self, e: &ReceptionEntry, from: Day, to: Day) {
        let within = |d: Day| from <= d && d <= to;
        if e.pending_at(from.plus_days(-1)) {
            self.pending_at_year_start += 1;
        }
        if within(e.requested_on) {
            self.received += 1;
            if e.booked_on.is_some_and(|d| d <= to) {
                self.booked += 1;
            }
            if matches!(e.outcome, Some(ReceptionOutcome::Refused { on }) if on <= to) {
                self.refused += 1;
            }
        }
        if e.pending_at(to) {
            self.pending_at_end += 1;
        }
        if let Some(ReceptionOutcome::Held { on, by, decision }) = e.outcome {
            if within(on) {
                match by {
                    Receiver::Head => self.received_by_head += 1,
                    Receiver::Deputy => self.received_by_deputy += 1,
                    Receiver::Other => {}
                }
                match decision {
                    Some(ReceptionDecision::Satisfied) => self.decision_satisfied += 1,
                    Some(ReceptionDecision::Refused) => self.decision_refused += 1,
                    Some(ReceptionDecision::Explained) => self.decision_explained += 1,
                    None => {}
                }
            }
        }
    }
}

/// A reporting body: one row of section 5.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Body {
    /// The region's id, as [`ReceptionEntry::region`] names it.
    pub id: String,
    pub name_kk: String,
    pub name_ru: String,
    /// The form's row code: the official codes are not in the seeds, so `None` until they are
    /// loaded as data.
    pub code: Option<String>,
}

/// One row of section 5.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Section5Row {
    pub body: Body,
    pub cells: Cells,
}

/// Section 5 for one period: one row per body, and their total.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Section5 {
    pub rows: Vec<Section5Row>,
    pub total: Cells,
}

/// Section 5 for `period`, cumulative from 1 January, from every reception entry known. Rows
/// follow `bodies`; a region that has entries but is not among them gets a row after them,
/// named by its id. Entries are counted as given: callers deduplicate them
/// (`Contributions`).
pub fn section5<'a>(
    entries: impl IntoIterator<Item = &'a ReceptionEntry>,
    bodies: &[Body],
    period: Period,
) -> Section5 {
    let (from, to) = (period.year_start(), period.last_day());
    let mut by_region: BTreeMap<&str, Cells> = BTreeMap::new();
    for e in entries {
        by_region.entry(&e.region).or_default().count(e, from, to);
    }
    let mut shown: BTreeSet<&str> = BTreeSet::new();
    let mut rows: Vec<Section5Row> = Vec::with_capacity(bodies.len());
    for b in bodies {
        // A body named twice gets one row: the total counts each region once.
        if shown.insert(&b.id) {
            rows.push(Section5Row {
                body: b.clone(),
                cells: by_region.get(b.id.as_str()).copied().unwrap_or_default(),
            });
        }
    }
    for (region, cells) in &by_region {
        if !shown.contains(region) {
            rows.push(Section5Row {
                body: Body {
                    id: region.to_string(),
                    name_kk: region.to_string(),
                    name_ru: region.to_string(),
                    code: None,
                },
                cells: *cells,
            });
        }
    }
    let mut total = Cells::default();
    for row in &rows {
        total.add(&row.cells);
    }
    Section5 { rows, total }
}
