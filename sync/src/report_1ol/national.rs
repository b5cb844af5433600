//! The national 1-ОЛ counted exactly once, and the versions of issued reports.
//!
//! Central receives each region's reception records by replication, which may replay or repeat
//! them, and a region cut off across the 10th sends its records late. [`Contributions`] keys
//! every entry by (region, record id) and keeps one state per key — the highest revision — so a
//! record counts once however many times it arrives and in whatever order its states arrive.
//!
//! An issued report is never changed: when late data changes a closed period's numbers,
//! [`issue`] makes a new version carrying its difference from the previous one
//! ([`CellChange`]); unchanged numbers make no new version. Central stores the versions.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::ReportError;
use super::form::Report1Ol;
use super::headings::COLUMNS;
use super::period::Period;
use super::section5::{Cells, ReceptionEntry, Section5};
use crate::calendar::Day;

/// What [`Contributions::apply`] did with an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The first state of this record.
    New,
    /// A later state of a known record replaced the earlier one.
    Updated,
    /// The same state again, or an earlier one: nothing changed.
    Ignored,
}

/// Every region's reception entries, one per (region, record id).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contributions {
    entries: BTreeMap<(String, String), ReceptionEntry>,
}

impl Contributions {
    pub fn new() -> Self {
        Self::default()
    }

    /// Merges one entry: kept when its record is new, or when it is a later state (higher
    /// revision; at equal revisions the greater entry, so that every order of arrival ends in
    /// the same state). An inconsistent entry is refused and nothing changes.
    pub fn apply(&mut self, entry: ReceptionEntry) -> Result<Applied, ReportError> {
        entry.validate()?;
        let key = (entry.region.clone(), entry.record_id.clone());
        match self.entries.get_mut(&key) {
            None => {
                self.entries.insert(key, entry);
                Ok(Applied::New)
            }
            Some(old) if (entry.revision, &entry) > (old.revision, &*old) => {
                *old = entry;
                Ok(Applied::Updated)
            }
            Some(_) => Ok(Applied::Ignored),
        }
    }

    /// The entries, ordered by region and record id.
    pub fn entries(&self) -> impl Iterator<Item = &ReceptionEntry> {
        self.entries.values()
    }

    /// One region's entries.
    pub fn region<'a>(&'a self, region: &'a str) -> impl Iterator<Item = &'a ReceptionEntry> {
        self.entries
            .range((region.to_string(), String::new())..)
            .take_while(move |((r, _), _)| r == region)
            .map(|(_, e)| e)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// One number of section 5 that differs between two versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CellChange {
    /// The body's id, or `None` for the total row.
    pub body: Option<String>,
    /// The column's key (`headings::Column::key`).
    pub column: String,
    pub before: u64,
    pub after: u64,
}

/// Every number that differs from `before` to `after`, row by row (rows matched by body id; a
/// row only one side has counts as zeros on the other), then the total.
pub fn diff(before: &Section5, after: &Section5) -> Vec<CellChange> {
    let zero = Cells::default();
    let mut rows: BTreeMap<&str, (Cells, Cells)> = BTreeMap::new();
    for r in &before.rows {
        rows.entry(&r.body.id).or_insert((zero, zero)).0 = r.cells;
    }
    for r in &after.rows {
        rows.entry(&r.body.id).or_insert((zero, zero)).1 = r.cells;
    }
    let mut changes = Vec::new();
    let mut compare = |body: Option<&str>, a: &Cells, b: &Cells| {
        for ((column, x), y) in COLUMNS.iter().zip(a.values()).zip(b.values()) {
            if x != y {
                changes.push(CellChange {
                    body: body.map(str::to_string),
                    column: column.key.to_string(),
                    before: x,
                    after: y,
                });
            }
        }
    };
    for (body, (a, b)) in &rows {
        compare(Some(body), a, b);
    }
    compare(None, &before.total, &after.total);
    changes
}

/// One issued version of a period's report, as central stores it (JSON; the report says its
/// format).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IssuedReport {
    /// 1 for the first issue, then 2, 3, ...
    pub version: u32,
    pub issued_on: Day,
    pub report: Report1Ol,
    /// What changed from the previous version (empty for version 1).
    pub changes: Vec<CellChange>,
}

/// What [`issue`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Issue {
    /// The latest version already has these numbers: nothing to issue.
    Unchanged { version: u32 },
    /// A version to store: the first, or one with the difference from the previous.
    New(Box<IssuedReport>),
}

/// Issues `computed` (a report for a closed period) after the period's earlier `versions`
/// (oldest first, as stored): the first version, a new version when any number differs from
/// the latest, or nothing when none does. Versions of another period, or out of order, are
/// [`ReportError::BadVersions`].
pub fn issue(
    versions: &[IssuedReport],
    computed: Report1Ol,
    today: Day,
) -> Result<Issue, ReportError> {
    let period: Period = computed.period;
    for (i, v) in versions.iter().enumerate() {
        if v.report.period != period {
            return Err(ReportError::BadVersions {
                year: period.year(),
                month: period.month(),
                message: format!("version {} is of {}", v.version, v.report.period),
            });
        }
        if usize::try_from(v.version).ok() != Some(i + 1) {
            return Err(ReportError::BadVersions {
                year: period.year(),
                month: period.month(),
                message: format!("version {} stored at place {}", v.version, i + 1),
            });
        }
    }
    let Some(latest) = versions.last() else {
        return Ok(Issue::New(Box::new(IssuedReport {
            version: 1,
            issued_on: today,
            report: computed,
            changes: Vec::new(),
        })));
    };
    let changes = diff(&latest.report.section5, &computed.section5);
    if changes.is_empty() {
        return Ok(Issue::Unchanged {
            version: latest.version,
        });
    }
    Ok(Issue::New(Box::new(IssuedReport {
        version: latest.version + 1,
        issued_on: today,
        report: computed,
        changes,
    })))
}
