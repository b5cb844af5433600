//! The national appeals index HQ reads (R16, R33): every region's citizens' appeals counted by
//! status, the open ones by their review deadline, and the ones flagged with signs of a crime
//! with their КУИ state.
//!
//! Like the cards' index ([`crate::national`]), every entry is derived from the appeal
//! document and written by [`stage_appeal`] into the same [`WriteBatch`] as the document, so
//! the index and the documents are on disk together or not at all; a reindex rebuilds it
//! (`CentralRepo::reindex`). Whatever depends on today — overdue, near, a КУИ registration
//! late — is computed when read, from the deadline keys and the hub's own working-day calendar,
//! never stored.
//!
//! The index holds no personal data: an appeal's line carries its number, status, service and
//! terms, not the applicant. The full appeal is read from its document (and that read is
//! audited: `crate::appeals_http`).
//!
//! Key layout (`{t}` is [`sortable`] hex, so key order is time order; `{day}` is `YYYY-MM-DD`):
//! - `nat/ap/a/{region}/{id}` → [`NationalAppeal`] JSON: what the index counts for the appeal,
//!   so a change takes back exactly what the previous version added;
//! - `nat/ap/rc/{region}` → counter record `{received, status/{status}, crime, crime/no_kui}`;
//! - `nat/ap/q/{status}/{t}/{region}/{id}` and `nat/ap/rq/{region}/{status}/{t}/{id}` → empty:
//!   appeals by status, `t` the time received, nationally and per region;
//! - `nat/ap/dl/{day}/{region}/{id}` → empty: appeals whose review term runs, by deadline;
//! - `nat/ap/crime/0/{t}/{region}/{id}` → empty: flagged appeals not yet registered in КУИ,
//!   `t` the time КУИ registration is due (else the time received);
//! - `nat/ap/crime/1/{t}/{region}/{id}` → empty: flagged appeals registered in КУИ, `t` then.

use std::collections::BTreeMap;

use automerge::AutoCommit;
use serde::{Deserialize, Serialize};
use server_kit::store::{Store, StoreError, WriteBatch};
use sync::appeal::{
    deadline_state, Appeal, AppealChannel, AppealDoc, AppealKind, AppealStatus, DeadlineState,
};
use sync::calendar::{Day, WorkCalendar};
use sync::deadline::NEAR_DEADLINE_WORKING_DAYS;
use sync::protocol::Priority;
use sync::{DocId, Document};
use utoipa::ToSchema;

use crate::national::{sortable, Counts};

/// Appeals one list returns when the request names no limit.
pub const APPEALS_LIST_DEFAULT: usize = 500;
/// Most appeals one list returns.
pub const APPEALS_LIST_MAX: usize = 2_000;

const RECEIVED_FIELD: &str = "received";
const CRIME_FIELD: &str = "crime";
const CRIME_NO_KUI_FIELD: &str = "crime/no_kui";

/// Where a flagged appeal stands with its КУИ registration (R14, R33).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KuiState {
    /// Registered in КУИ (`kui`, `kui_at`).
    Registered,
    /// Not yet, and the 24 hours have not run out (or the appeal is not registered yet).
    Pending,
    /// Not registered in КУИ past `kui_due_at`.
    Overdue,
}

/// One appeal in the national index: its line in HQ's lists (no personal data).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NationalAppeal {
    pub region: String,
    pub id: String,
    /// `REGION-YEAR-NNNNNN`, once registered.
    pub number: Option<String>,
    pub status: AppealStatus,
    pub kind: Option<AppealKind>,
    pub channel: AppealChannel,
    pub received_at: i64,
    pub registered_at: Option<i64>,
    /// Code of the region's service it is with.
    pub service: Option<String>,
    pub officer: Option<String>,
    /// The review deadline (15 working days of registration, or the last extension).
    pub deadline: Option<Day>,
    /// R16, on the hub's calendar today (absent when the term does not run).
    pub deadline_state: Option<DeadlineState>,
    /// Signs of a criminal offence (R14, R33).
    pub crime_signs: bool,
    /// The КУИ number, once registered.
    pub kui: Option<String>,
    /// When it was registered in КУИ.
    pub kui_at: Option<i64>,
    /// КУИ registration is due by then (24 hours of registration).
    pub kui_due_at: Option<i64>,
    /// For a flagged appeal: its КУИ state now.
    pub kui_state: Option<KuiState>,
    pub updated_at: i64,
}

impl NationalAppeal {
    /// The appeal's line as stored: nothing that depends on today.
    pub fn of(a: &Appeal) -> NationalAppeal {
        NationalAppeal {
            region: a.region.clone(),
            id: a.id.clone(),
            number: a.number.clone(),
            status: a.status,
            kind: a.kind,
            channel: a.channel,
            received_at: a.received_at,
            registered_at: a.registered_at,
            service: a.service.clone(),
            officer: a.officer.clone(),
            deadline: a.deadline,
            deadline_state: None,
            crime_signs: a.crime_signs,
            kui: a.kui.as_ref().map(|k| k.number.clone()),
            kui_at: a.kui.as_ref().map(|k| k.at),
            kui_due_at: a.kui_due_at,
            kui_state: None,
            updated_at: a.updated_at,
        }
    }

    /// The deadline its review term runs to, if it runs.
    fn running_deadline(&self) -> Option<Day> {
        self.deadline.filter(|_| self.status.term_runs())
    }

    fn crime_key(&self) -> Option<String> {
        if !self.crime_signs {
            return None;
        }
        let (region, id) = (&self.region, &self.id);
        Some(match self.kui_at {
            Some(at) => format!("nat/ap/crime/1/{}/{region}/{id}", sortable(at)),
            None => format!(
                "nat/ap/crime/0/{}/{region}/{id}",
                sortable(self.kui_due_at.unwrap_or(self.received_at))
            ),
        })
    }

    /// Fills in what depends on today: the deadline state and the КУИ state.
    pub fn at(mut self, now: &Today) -> NationalAppeal {
        self.deadline_state = self
            .running_deadline()
            .map(|due| deadline_state(now.calendar, due, now.day));
        let kui = match (self.kui_at, self.kui_due_at) {
            (Some(_), _) => KuiState::Registered,
            (None, Some(due)) if due < now.ms => KuiState::Overdue,
            _ => KuiState::Pending,
        };
        self.kui_state = self.crime_signs.then_some(kui);
        self
    }
}

fn appeal_key(region: &str, id: &str) -> String {
    format!("nat/ap/a/{region}/{id}")
}

fn counts_key(region: &str) -> String {
    format!("nat/ap/rc/{region}")
}

fn status_keys(a: &NationalAppeal) -> [String; 2] {
    let (st, t, region, id) = (a.status.as_str(), sortable(a.received_at), &a.region, &a.id);
    [
        format!("nat/ap/q/{st}/{t}/{region}/{id}"),
        format!("nat/ap/rq/{region}/{st}/{t}/{id}"),
    ]
}

fn deadline_key(a: &NationalAppeal) -> Option<String> {
    a.running_deadline()
        .map(|due| format!("nat/ap/dl/{due}/{}/{}", a.region, a.id))
}

/// Every key and counter `a` contributes, added (`delta` 1) or taken back (−1).
fn contribute(batch: &mut WriteBatch, counts: &mut Counts, a: &NationalAppeal, delta: i64) {
    let rc = counts_key(&a.region);
    counts.add(rc.clone(), RECEIVED_FIELD, delta);
    counts.add(rc.clone(), format!("status/{}", a.status.as_str()), delta);
    if a.crime_signs {
        counts.add(rc.clone(), CRIME_FIELD, delta);
        if a.kui_at.is_none() {
            counts.add(rc, CRIME_NO_KUI_FIELD, delta);
        }
    }
    let keys = status_keys(a)
        .into_iter()
        .chain(deadline_key(a))
        .chain(a.crime_key());
    for k in keys {
        if delta > 0 {
            batch.put(k, Vec::new());
        } else {
            batch.delete(k);
        }
    }
}

/// The appeal a stored document holds, checked against the id it is stored under (its region
/// and id are the document's own: a region cannot file an appeal under another's key). Reads
/// `doc` in place (no copy of the document); the message says why it is refused.
pub fn read(doc_id: &DocId, doc: &mut AutoCommit) -> Result<Appeal, String> {
    let wrapped = AppealDoc::wrap(std::mem::replace(doc, AutoCommit::new()));
    let mut wrapped = wrapped;
    let viewed = wrapped.view(None);
    std::mem::swap(doc, wrapped.automerge());
    let a = viewed.map_err(|e| format!("not a valid appeal: {e}"))?;
    if a.region != doc_id.region() || a.id != doc_id.id() {
        return Err(format!(
            "appeal {} of region {} stored as {doc_id}",
            a.id, a.region
        ));
    }
    Ok(a)
}

/// Replication priority: open appeals before closed ones (after open cards, which are
/// `Active`), as the region's node sets it.
pub fn priority(a: &Appeal) -> Priority {
    if a.status.is_open() {
        Priority::Normal
    } else {
        Priority::Archived
    }
}

/// Stages the index entries of appeal `a` into `batch` and `counts`, replacing what its
/// previous version contributed (the old keys are deleted before the new ones are put, so an
/// unchanged key stays). Returns the appeal's line.
pub fn stage_appeal(
    store: &dyn Store,
    batch: &mut WriteBatch,
    counts: &mut Counts,
    a: &Appeal,
) -> Result<NationalAppeal, StoreError> {
    let key = appeal_key(&a.region, &a.id);
    let old: Option<NationalAppeal> = store
        .get(key.as_bytes())?
        .and_then(|v| serde_json::from_slice(&v).ok());
    let new = NationalAppeal::of(a);
    if let Some(old) = &old {
        contribute(batch, counts, old, -1);
    }
    contribute(batch, counts, &new, 1);
    batch.put_json(key, &new)?;
    Ok(new)
}

// ---------------------------------------------------------------------------- queries

/// Today as the national queries read it: the time, the Kazakhstan day, the working-day calendar.
pub struct Today<'a> {
    pub ms: i64,
    pub day: Day,
    pub calendar: &'a WorkCalendar,
}

/// Appeals of one region (or of the country) by what HQ controls.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct AppealCounts {
    /// Appeals received (every status).
    pub received: u64,
    /// Open appeals (not answered, transferred or left unconsidered).
    pub open: u64,
    /// Appeals by status (statuses with none are absent).
    pub by_status: BTreeMap<String, u64>,
    /// Open appeals past their review deadline (R16).
    pub overdue: u64,
    /// Open appeals due within 3 working days (R16).
    pub near: u64,
    /// Appeals flagged with signs of a crime (R33).
    pub crime_signs: u64,
    /// Flagged appeals not registered in КУИ yet.
    pub kui_missing: u64,
    /// Flagged appeals not registered in КУИ past the 24 hours.
    pub kui_overdue: u64,
}

impl AppealCounts {
    fn add(&mut self, o: &AppealCounts) {
        self.received += o.received;
        self.open += o.open;
        for (k, n) in &o.by_status {
            *self.by_status.entry(k.clone()).or_insert(0) += n;
        }
        self.overdue += o.overdue;
        self.near += o.near;
        self.crime_signs += o.crime_signs;
        self.kui_missing += o.kui_missing;
        self.kui_overdue += o.kui_overdue;
    }
}

/// One region's appeals.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RegionAppeals {
    pub region: String,
    #[serde(flatten)]
    pub counts: AppealCounts,
}

/// Appeals by region and for the country.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AppealsSummary {
    pub generated_at: i64,
    /// The Kazakhstan day the deadlines are judged on.
    pub today: Day,
    pub regions: Vec<RegionAppeals>,
    pub totals: AppealCounts,
}

/// The last day a deadline can fall on and still be near (or overdue) on `today`: a bound for
/// the deadline keys to read, each then judged exactly by [`deadline_state`].
fn near_bound(now: &Today) -> Day {
    let by_calendar = now
        .calendar
        .add_working_days(now.day, NEAR_DEADLINE_WORKING_DAYS + 1)
        .unwrap_or(now.day);
    by_calendar.max(now.day.plus_days(i64::from(NEAR_DEADLINE_WORKING_DAYS) + 1))
}

fn key_parts(key: &[u8], prefix: &str) -> Vec<String> {
    String::from_utf8_lossy(&key[prefix.len().min(key.len())..])
        .split('/')
        .map(str::to_string)
        .collect()
}

/// Deadline keys due before `before` (exclusive), as `(due, region, id)`, earliest first.
/// Reads O(answer) keys.
fn due_before(store: &dyn Store, before: Day) -> Result<Vec<(Day, String, String)>, StoreError> {
    const P: &str = "nat/ap/dl/";
    let bound = format!("{P}{before}/");
    let mut out = Vec::new();
    for k in store.scan_keys_rev(P.as_bytes(), Some(bound.as_bytes()), usize::MAX)? {
        if let [day, region, id] = key_parts(&k, P).as_slice() {
            if let Ok(due) = Day::parse(day) {
                out.push((due, region.clone(), id.clone()));
            }
        }
    }
    out.reverse();
    Ok(out)
}

/// Every region's appeals and the national totals. O(regions + overdue, near and unregistered
/// flagged appeals).
pub fn summary(store: &dyn Store, now: &Today) -> Result<AppealsSummary, StoreError> {
    let mut regions: BTreeMap<String, AppealCounts> = BTreeMap::new();
    for (k, v) in store.scan_prefix(b"nat/ap/rc/")? {
        let region = String::from_utf8_lossy(&k[b"nat/ap/rc/".len()..]).to_string();
        let record: BTreeMap<String, u64> = serde_json::from_slice(&v).unwrap_or_default();
        let row = regions.entry(region).or_default();
        for (field, n) in record {
            match field.as_str() {
                RECEIVED_FIELD => row.received = n,
                CRIME_FIELD => row.crime_signs = n,
                CRIME_NO_KUI_FIELD => row.kui_missing = n,
                f => {
                    let Some(st) = f.strip_prefix("status/") else {
                        continue;
                    };
                    if AppealStatus::parse(st).is_some_and(AppealStatus::is_open) {
                        row.open += n;
                    }
                    row.by_status.insert(st.to_string(), n);
                }
            }
        }
    }
    for (due, region, _) in due_before(store, near_bound(now).plus_days(1))? {
        let row = regions.entry(region).or_default();
        match deadline_state(now.calendar, due, now.day) {
            DeadlineState::Overdue => row.overdue += 1,
            DeadlineState::Near => row.near += 1,
            DeadlineState::Ok => {}
        }
    }
    const C: &str = "nat/ap/crime/0/";
    let late = format!("{C}{}", sortable(now.ms));
    for k in store.scan_keys_rev(C.as_bytes(), Some(late.as_bytes()), usize::MAX)? {
        if let [_, region, _] = key_parts(&k, C).as_slice() {
            regions.entry(region.clone()).or_default().kui_overdue += 1;
        }
    }
    let mut totals = AppealCounts::default();
    let regions = regions
        .into_iter()
        .map(|(region, counts)| {
            totals.add(&counts);
            RegionAppeals { region, counts }
        })
        .collect();
    Ok(AppealsSummary {
        generated_at: now.ms,
        today: now.day,
        regions,
        totals,
    })
}

/// What a list asks for.
#[derive(Debug, Clone, Default)]
pub struct AppealFilter {
    pub region: Option<String>,
    /// Default: every open status.
    pub status: Option<AppealStatus>,
    /// Only appeals past their review deadline, most overdue first.
    pub overdue: bool,
    /// Only appeals flagged with signs of a crime.
    pub crime_signs: bool,
    pub limit: usize,
}

impl AppealFilter {
    fn keeps(&self, a: &NationalAppeal) -> bool {
        self.region.as_deref().is_none_or(|r| r == a.region)
            && match self.status {
                Some(st) => a.status == st,
                None => a.status.is_open(),
            }
            && (!self.crime_signs || a.crime_signs)
            && (!self.overdue || a.deadline_state == Some(DeadlineState::Overdue))
    }
}

fn load(store: &dyn Store, region: &str, id: &str) -> Result<Option<NationalAppeal>, StoreError> {
    Ok(store
        .get(appeal_key(region, id).as_bytes())?
        .and_then(|v| serde_json::from_slice(&v).ok()))
}

/// Candidates `(region, id)` of a list, in its order, before filtering.
fn candidates(
    store: &dyn Store,
    f: &AppealFilter,
    now: &Today,
) -> Result<Vec<(String, String)>, StoreError> {
    if f.overdue {
        return Ok(due_before(store, now.day)?
            .into_iter()
            .map(|(_, r, id)| (r, id))
            .collect());
    }
    if f.crime_signs {
        return crime_candidates(store, None, usize::MAX);
    }
    let statuses: Vec<AppealStatus> = match f.status {
        Some(st) => vec![st],
        None => AppealStatus::ALL
            .iter()
            .copied()
            .filter(|s| s.is_open())
            .collect(),
    };
    // (time received, region, id); open statuses oldest first, closed ones newest first.
    let mut found: Vec<(String, String, String)> = Vec::new();
    for st in &statuses {
        let (prefix, national) = match &f.region {
            Some(r) => (format!("nat/ap/rq/{r}/{}/", st.as_str()), false),
            None => (format!("nat/ap/q/{}/", st.as_str()), true),
        };
        let keys = if st.is_open() {
            store.scan_keys(prefix.as_bytes(), f.limit)?
        } else {
            store.scan_keys_rev(prefix.as_bytes(), None, f.limit)?
        };
        for k in keys {
            match (national, key_parts(&k, &prefix).as_slice()) {
                (true, [t, region, id]) => found.push((t.clone(), region.clone(), id.clone())),
                (false, [t, id]) => {
                    found.push((t.clone(), f.region.clone().unwrap_or_default(), id.clone()))
                }
                _ => {}
            }
        }
    }
    found.sort();
    if f.status.is_some_and(|s| !s.is_open()) {
        found.reverse();
    }
    Ok(found.into_iter().map(|(_, r, id)| (r, id)).collect())
}

/// Flagged appeals: those not in КУИ yet, the most overdue first, then those registered in
/// КУИ, the latest first.
fn crime_candidates(
    store: &dyn Store,
    kui: Option<KuiFilter>,
    limit: usize,
) -> Result<Vec<(String, String)>, StoreError> {
    let mut out = Vec::new();
    let parts = [("nat/ap/crime/0/", false), ("nat/ap/crime/1/", true)];
    let parts = match kui {
        None => &parts[..],
        Some(KuiFilter::Missing | KuiFilter::Overdue) => &parts[..1],
        Some(KuiFilter::Registered) => &parts[1..],
    };
    for &(prefix, rev) in parts {
        let keys = if rev {
            store.scan_keys_rev(prefix.as_bytes(), None, limit)?
        } else {
            store.scan_keys(prefix.as_bytes(), limit)?
        };
        for k in keys {
            if let [_, region, id] = key_parts(&k, prefix).as_slice() {
                out.push((region.clone(), id.clone()));
            }
        }
    }
    Ok(out)
}

/// Appeals as `f` asks, with today's deadline and КУИ states, at most `f.limit`.
pub fn list(
    store: &dyn Store,
    f: &AppealFilter,
    now: &Today,
) -> Result<Vec<NationalAppeal>, StoreError> {
    let mut out = Vec::new();
    for (region, id) in candidates(store, f, now)? {
        if out.len() >= f.limit {
            break;
        }
        // An appeal that moved since its key was read is judged on its current line.
        if let Some(a) = load(store, &region, &id)? {
            let a = a.at(now);
            if f.keeps(&a) {
                out.push(a);
            }
        }
    }
    Ok(out)
}

/// Which flagged appeals the R33 list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KuiFilter {
    /// Not registered in КУИ yet (pending or overdue).
    Missing,
    /// Not registered in КУИ past the 24 hours.
    Overdue,
    Registered,
}

/// Every flagged appeal of every region (or of `region`) with its КУИ state (R33): those not in
/// КУИ first, most overdue first; then those registered, the latest first. Any status.
pub fn crime_signs(
    store: &dyn Store,
    region: Option<&str>,
    kui: Option<KuiFilter>,
    limit: usize,
    now: &Today,
) -> Result<Vec<NationalAppeal>, StoreError> {
    let mut out = Vec::new();
    // Without a region every candidate is kept but for a КУИ state that moved since: read
    // about `limit` keys; with one, the other regions' keys are skipped.
    let read = if region.is_none() { limit } else { usize::MAX };
    for (r, id) in crime_candidates(store, kui, read)? {
        if out.len() >= limit {
            break;
        }
        if region.is_some_and(|want| want != r) {
            continue;
        }
        let Some(a) = load(store, &r, &id)? else {
            continue;
        };
        let a = a.at(now);
        let keep = match (kui, a.kui_state) {
            (None, _) => true,
            (Some(KuiFilter::Missing), Some(s)) => s != KuiState::Registered,
            (Some(KuiFilter::Overdue), Some(s)) => s == KuiState::Overdue,
            (Some(KuiFilter::Registered), Some(s)) => s == KuiState::Registered,
            (Some(_), None) => false,
        };
        if keep && a.crime_signs {
            out.push(a);
        }
    }
    Ok(out)
}
