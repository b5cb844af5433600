//! The national report 1-ОЛ (R32, seed 004 p.32): section 5 «Личный прием» of every region,
//! counted exactly once from the reception records the regions replicate, and its issued
//! versions.
//!
//! # The reception ledger
//!
//! When a reception record (`{region}/reception/{id}`, not the schedule) is stored at central
//! ([`crate::repo::CentralRepo::store_doc`]), its [`ReceptionEntry`] is read
//! ([`sync::reception::report::entry`], with the region's replicated schedule and the reception
//! reference lists) and merged into one [`Contributions`] held in memory by [`ReportLedger`].
//! The entry is persisted under `rpt/entry/{region}/{record id}` in the same write batch as the
//! document, and only when it changes what is kept (a new record, or a higher revision): a
//! replayed or duplicated replication, or an older state arriving after a newer one, writes
//! nothing and counts nothing twice. Opening central loads the entries (no document is read);
//! [`crate::repo::CentralRepo::reindex`] rebuilds them from the documents.
//!
//! # Issued versions
//!
//! [`ReportLedger::issue_due`] forms every period of the current and the previous year whose
//! due day has come and, through [`sync::report_1ol::issue`], stores a new version
//! (`rpt/issued/{YYYY-MM}/{version:06}`, JSON) when it is the first or when any number differs
//! from the latest: a period is issued on its due day and re-issued, with its difference, when a
//! region cut off across the 10th catches up — never silently changed. Issued versions are
//! history: a reindex keeps them. Central's shell runs it every [`ISSUE_INTERVAL_S`] and soon
//! after reception data changed ([`ReportLedger::changed`]).
//!
//! Known limit: a record held by an official other than the slot's is counted as the head's or a
//! deputy's from the region's schedule as central holds it when the record arrives; a schedule
//! arriving later does not re-read records already kept (a reindex does).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use automerge::AutoCommit;
use serde::{Deserialize, Serialize};
use server_kit::store::{GroupCommit, Store, StoreError, WriteBatch};
use sync::calendar::{Day, WorkCalendar, KZ_UTC_OFFSET_MIN};
use sync::reception::{
    Booking, ReceptionDoc, ReceptionReference, ReceptionView, Schedule, SCHEDULE_DOC_ID,
};
use sync::report_1ol::{
    due_day, Body, Contributions, Issue, IssuedReport, Period, ReceptionEntry, Report1Ol,
    ReportError,
};
use sync::{DocId, DocKind, Document};

use crate::references::RegionReferences;

/// How often central's shell runs [`ReportLedger::issue_due`] when nothing changed, in seconds.
pub const ISSUE_INTERVAL_S: u64 = 3_600;
/// How long the shell waits after reception data changed before issuing, in seconds: late
/// records of a region that caught up arrive in a burst, and one re-issue covers the burst.
pub const ISSUE_AFTER_CHANGE_S: u64 = 5;
/// Key prefix of the ledger's entries: `rpt/entry/{region}/{record id}` → [`LedgerRecord`].
pub const ENTRY_PREFIX: &str = "rpt/entry/";
/// Key prefix of the issued versions: `rpt/issued/{YYYY-MM}/{version:06}` → [`IssuedReport`].
pub const ISSUED_PREFIX: &str = "rpt/issued/";
/// Entries deleted per write batch while a reindex clears the ledger.
const CLEAR_BATCH_KEYS: usize = 10_000;

/// Why the ledger could not answer or store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error(transparent)]
    Report(#[from] ReportError),
    #[error("storage: {0}")]
    Storage(String),
}

impl From<StoreError> for LedgerError {
    fn from(e: StoreError) -> Self {
        LedgerError::Storage(e.to_string())
    }
}

/// One record as the ledger keeps it: its entry, and the reception date of its slot (for the
/// drill-down; the entry has it only once the reception was held or not held).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerRecord {
    pub entry: ReceptionEntry,
    pub reception_on: Option<Day>,
}

impl LedgerRecord {
    /// Whether this state replaces `old` (the rule of [`Contributions::apply`]).
    fn supersedes(&self, old: &LedgerRecord) -> bool {
        (self.entry.revision, &self.entry) > (old.entry.revision, &old.entry)
    }
}

/// What [`ReportLedger::stage`] prepared for a stored record: applied to memory once the
/// batch holding it is applied.
#[derive(Debug)]
pub struct StagedEntry(LedgerRecord);

fn entry_key(region: &str, record_id: &str) -> String {
    format!("{ENTRY_PREFIX}{region}/{record_id}")
}

fn period_prefix(period: Period) -> String {
    format!("{ISSUED_PREFIX}{:04}-{:02}/", period.year(), period.month())
}

/// The national reception ledger and the issued reports (shared by every repo handle).
pub struct ReportLedger {
    store: Arc<dyn Store>,
    gc: Arc<GroupCommit>,
    references: RegionReferences,
    reception_reference: RwLock<Arc<ReceptionReference>>,
    contributions: RwLock<Contributions>,
    /// Reception dates of the records' slots, by (region, record id).
    reception_on: RwLock<BTreeMap<(String, String), Day>>,
    /// Each region's schedule as last stored (read from the store on first need).
    schedules: RwLock<BTreeMap<String, Option<Arc<Schedule>>>>,
    /// Serialises [`ReportLedger::issue_due`]: two runs never store the same version.
    issuing: Mutex<()>,
    /// Wakes the shell's issuing loop when reception data changed.
    changed: tokio::sync::Notify,
}

fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(PoisonError::into_inner)
}

impl ReportLedger {
    /// The ledger over `store`, its entries loaded from `rpt/entry/`; the reception reference
    /// lists are the embedded demo lists (sample data) until
    /// [`ReportLedger::set_reception_reference`].
    pub fn load(
        store: Arc<dyn Store>,
        gc: Arc<GroupCommit>,
        references: RegionReferences,
    ) -> Result<ReportLedger, LedgerError> {
        let ledger = ReportLedger {
            store,
            gc,
            references,
            reception_reference: RwLock::new(Arc::new(ReceptionReference::demo())),
            contributions: RwLock::new(Contributions::new()),
            reception_on: RwLock::new(BTreeMap::new()),
            schedules: RwLock::new(BTreeMap::new()),
            issuing: Mutex::new(()),
            changed: tokio::sync::Notify::new(),
        };
        ledger.load_entries()?;
        Ok(ledger)
    }

    fn load_entries(&self) -> Result<(), LedgerError> {
        let mut contributions = Contributions::new();
        let mut dates = BTreeMap::new();
        for (key, value) in self.store.scan_prefix(ENTRY_PREFIX.as_bytes())? {
            match serde_json::from_slice::<LedgerRecord>(&value) {
                Ok(r) => {
                    if let Some(d) = r.reception_on {
                        dates.insert((r.entry.region.clone(), r.entry.record_id.clone()), d);
                    }
                    if let Err(e) = contributions.apply(r.entry) {
                        tracing::warn!(key = %String::from_utf8_lossy(&key), error = %e, "a stored reception entry is inconsistent: left out of report 1-ОЛ");
                    }
                }
                Err(e) => {
                    tracing::warn!(key = %String::from_utf8_lossy(&key), error = %e, "a stored reception entry cannot be read: left out of report 1-ОЛ");
                }
            }
        }
        *write(&self.contributions) = contributions;
        *write(&self.reception_on) = dates;
        Ok(())
    }

    /// Replaces the ЛП-1 reference lists records are read with (decisions → section 5's
    /// columns). Entries already kept are not re-read: call before opening, or reindex.
    pub fn set_reception_reference(&self, reference: ReceptionReference) {
        *write(&self.reception_reference) = Arc::new(reference);
    }

    /// The ЛП-1 reference lists records are read with.
    pub fn reception_reference(&self) -> Arc<ReceptionReference> {
        read(&self.reception_reference).clone()
    }

    /// Resolves when reception data changed since the last call (the shell's issuing loop).
    pub async fn changed(&self) {
        self.changed.notified().await
    }

    fn schedule(&self, region: &str) -> Option<Arc<Schedule>> {
        if let Some(s) = read(&self.schedules).get(region) {
            return s.clone();
        }
        let loaded = DocId::new(region, DocKind::Reception, SCHEDULE_DOC_ID)
            .ok()
            .and_then(|id| server_kit::docs::load(&*self.store, &id).ok().flatten())
            .and_then(|(doc, _)| match ReceptionDoc::wrap(doc).view() {
                Ok(ReceptionView::Schedule { schedule, .. }) => Some(Arc::new(schedule)),
                _ => None,
            });
        write(&self.schedules).insert(region.to_string(), loaded.clone());
        loaded
    }

    /// Reads a reception document being stored: the schedule is remembered (after the batch is
    /// applied, [`ReportLedger::applied`]); a record's entry is staged in `batch` when it
    /// changes what the ledger keeps. Errors: the document is not a reception document of its
    /// id (refuse it). A record whose entry does not read or is inconsistent is logged and left
    /// out of the report (the document is still stored).
    pub fn stage(
        &self,
        doc_id: &DocId,
        doc: &mut AutoCommit,
        batch: &mut WriteBatch,
    ) -> Result<Option<Staged>, String> {
        let view = ReceptionDoc::wrap(doc.fork())
            .view()
            .map_err(|e| format!("not a valid reception document: {e}"))?;
        let region = doc_id.region();
        match view {
            ReceptionView::Schedule {
                region: of,
                schedule,
            } => {
                if of != region || doc_id.id() != SCHEDULE_DOC_ID {
                    return Err(format!("the schedule of {of} stored as {doc_id}"));
                }
                Ok(Some(Staged::Schedule(
                    region.to_string(),
                    Arc::new(schedule),
                )))
            }
            ReceptionView::Booking(b) => {
                if b.region != region || b.id != doc_id.id() {
                    return Err(format!(
                        "reception record {} of region {} stored as {doc_id}",
                        b.id, b.region
                    ));
                }
                Ok(self
                    .stage_booking(&b, batch)
                    .map_err(|e| e.to_string())?
                    .map(Staged::Entry))
            }
        }
    }

    fn record_of(&self, b: &Booking) -> Option<LedgerRecord> {
        let schedule = self.schedule(&b.region);
        let reference = read(&self.reception_reference).clone();
        let Some(entry) =
            sync::reception::report::entry(b, schedule.as_deref(), &reference, KZ_UTC_OFFSET_MIN)
        else {
            tracing::warn!(region = %b.region, id = %b.id, "a reception record's dates do not read: left out of report 1-ОЛ");
            return None;
        };
        if let Err(e) = entry.validate() {
            tracing::warn!(region = %b.region, id = %b.id, error = %e, "a reception record is inconsistent: left out of report 1-ОЛ");
            return None;
        }
        Some(LedgerRecord {
            entry,
            reception_on: Day::parse(&b.slot.date).ok(),
        })
    }

    fn stage_booking(
        &self,
        b: &Booking,
        batch: &mut WriteBatch,
    ) -> Result<Option<StagedEntry>, LedgerError> {
        let Some(record) = self.record_of(b) else {
            return Ok(None);
        };
        let key = entry_key(&b.region, &b.id);
        if let Some(old) = self.store.get(key.as_bytes())? {
            if let Ok(old) = serde_json::from_slice::<LedgerRecord>(&old) {
                if !record.supersedes(&old) {
                    return Ok(None);
                }
            }
        }
        batch.put_json(key, &record)?;
        Ok(Some(StagedEntry(record)))
    }

    /// Applies what [`ReportLedger::stage`] staged, once its batch is applied to the store.
    pub fn applied(&self, staged: Staged) {
        match staged {
            Staged::Schedule(region, schedule) => {
                write(&self.schedules).insert(region, Some(schedule));
            }
            Staged::Entry(StagedEntry(record)) => {
                let key = (record.entry.region.clone(), record.entry.record_id.clone());
                if let Some(d) = record.reception_on {
                    write(&self.reception_on).insert(key, d);
                }
                // Checked when staged: an inconsistent entry never gets here.
                if let Err(e) = write(&self.contributions).apply(record.entry) {
                    tracing::error!(error = %e, "a staged reception entry was refused");
                }
                self.changed.notify_one();
            }
        }
    }

    /// Clears the ledger's entries (not the issued versions) before a reindex.
    pub(crate) fn clear_entries(&self) -> Result<(), LedgerError> {
        loop {
            let keys = self
                .store
                .scan_keys(ENTRY_PREFIX.as_bytes(), CLEAR_BATCH_KEYS)?;
            if keys.is_empty() {
                break;
            }
            let mut b = WriteBatch::new();
            for k in keys {
                b.delete(k);
            }
            self.gc.apply(b)?;
        }
        *write(&self.contributions) = Contributions::new();
        *write(&self.reception_on) = BTreeMap::new();
        write(&self.schedules).clear();
        Ok(())
    }

    /// Stages a stored reception document during a reindex, in any order: a record's region
    /// schedule is read from the store when it is not known yet.
    pub(crate) fn reindex_doc(
        &self,
        doc_id: &DocId,
        doc: &mut AutoCommit,
        batch: &mut WriteBatch,
    ) -> Result<(), String> {
        if let Some(staged) = self.stage(doc_id, doc, batch)? {
            self.applied(staged);
        }
        Ok(())
    }

    /// The regions the report has a row for: every region whose reference data or reception
    /// records central holds, named from its reference data.
    pub fn bodies(&self) -> Vec<Body> {
        let mut regions: BTreeSet<String> = self.references.regions().into_iter().collect();
        {
            let c = read(&self.contributions);
            let mut last: Option<&str> = None;
            for e in c.entries() {
                if last != Some(e.region.as_str()) {
                    regions.insert(e.region.clone());
                    last = Some(&e.region);
                }
            }
        }
        regions.into_iter().map(|r| self.body(&r)).collect()
    }

    fn body(&self, region: &str) -> Body {
        let reference = self.references.get(region);
        Body {
            id: region.to_string(),
            name_kk: reference.region.name_kk.clone(),
            name_ru: reference.region.name_ru.clone(),
            code: None,
        }
    }

    /// Whether central knows `region` (its reference data or any reception record).
    pub fn knows_region(&self, region: &str) -> bool {
        self.references.received(region).is_some()
            || read(&self.contributions).region(region).next().is_some()
    }

    /// The national report for `period` as of `today`: one row per region and the total.
    pub fn national(
        &self,
        period: Period,
        today: Day,
        calendar: &WorkCalendar,
    ) -> Result<Report1Ol, ReportError> {
        let bodies = self.bodies();
        let c = read(&self.contributions);
        sync::report_1ol::report(c.entries(), &bodies, period, today, calendar)
    }

    /// One region's report for `period` as of `today`.
    pub fn region(
        &self,
        region: &str,
        period: Period,
        today: Day,
        calendar: &WorkCalendar,
    ) -> Result<Report1Ol, ReportError> {
        let bodies = [self.body(region)];
        let c = read(&self.contributions);
        sync::report_1ol::report(c.region(region), &bodies, period, today, calendar)
    }

    /// One region's kept records (ordered by record id) with their slot's reception date.
    pub fn records(&self, region: &str) -> Vec<(ReceptionEntry, Option<Day>)> {
        let c = read(&self.contributions);
        let dates = read(&self.reception_on);
        c.region(region)
            .map(|e| {
                let d = dates.get(&(e.region.clone(), e.record_id.clone())).copied();
                (e.clone(), d)
            })
            .collect()
    }

    /// How many records the ledger keeps.
    pub fn len(&self) -> usize {
        read(&self.contributions).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every record's entry, ordered by region and record id (a copy).
    pub fn entries(&self) -> Vec<ReceptionEntry> {
        read(&self.contributions).entries().cloned().collect()
    }

    /// The issued versions of `period`, oldest first.
    pub fn versions(&self, period: Period) -> Result<Vec<IssuedReport>, LedgerError> {
        let mut out = Vec::new();
        for (key, value) in self.store.scan_prefix(period_prefix(period).as_bytes())? {
            let v: IssuedReport = serde_json::from_slice(&value).map_err(|e| {
                LedgerError::Storage(format!(
                    "issued report {} does not read: {e}",
                    String::from_utf8_lossy(&key)
                ))
            })?;
            out.push(v);
        }
        Ok(out)
    }

    /// The latest issued version of `period`, if any.
    pub fn latest(&self, period: Period) -> Result<Option<IssuedReport>, LedgerError> {
        Ok(self.versions(period)?.pop())
    }

    /// Issues every period of `today`'s year and the previous one whose due day has come: the
    /// first version, or a new one when any number differs from the latest. Each new version
    /// is durable before it is returned. A period whose due day the calendar cannot tell is
    /// skipped (logged).
    pub fn issue_due(
        &self,
        today: Day,
        calendar: &WorkCalendar,
    ) -> Result<Vec<IssuedReport>, LedgerError> {
        let _one = self.issuing.lock().unwrap_or_else(PoisonError::into_inner);
        let mut batch = WriteBatch::new();
        let mut issued = Vec::new();
        for year in [today.year() - 1, today.year()] {
            for month in 1..=12 {
                let period = Period::new(year, month)?;
                if period.check_closed(today).is_err() {
                    continue;
                }
                match due_day(period, calendar) {
                    Ok(due) if due <= today => {}
                    Ok(_) => continue,
                    Err(e) => {
                        tracing::debug!(%period, error = %e, "report 1-ОЛ not issued: no due day");
                        continue;
                    }
                }
                let computed = self.national(period, today, calendar)?;
                let versions = self.versions(period)?;
                if let Issue::New(v) = sync::report_1ol::issue(&versions, computed, today)? {
                    batch.put_json(format!("{}{:06}", period_prefix(period), v.version), &*v)?;
                    issued.push(*v);
                }
            }
        }
        if !issued.is_empty() {
            let ticket = self.gc.apply(batch)?;
            self.gc.wait_durable(ticket)?;
            for v in &issued {
                tracing::info!(period = %v.report.period, version = v.version, changes = v.changes.len(), "report 1-ОЛ issued");
            }
        }
        Ok(issued)
    }
}

/// A reception document's effect on the ledger, staged with its batch.
#[derive(Debug)]
pub enum Staged {
    Schedule(String, Arc<Schedule>),
    Entry(StagedEntry),
}
