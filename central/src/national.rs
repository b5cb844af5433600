//! The national index HQ's dashboard reads: per-region counters, the open-card queues, calls per
//! hour and per day, and delay histograms.
//!
//! Every entry is derived from card documents and written by [`stage_card`] into the same
//! [`WriteBatch`] as the document it comes from, so the index and the documents are on disk
//! together or not at all. Queries then cost O(regions + result size), never O(stored cards).
//! The index has a version ([`NATIONAL_INDEX_VERSION`]); a store without the current version is
//! reindexed from its documents when the hub opens it (`CentralRepo::open`).
//!
//! Key layout (one ordered key space; `{t}` is [`sortable`] hex, so key order is time order):
//! - `nat/card/{region}/{id}` → [`IndexedCard`] JSON: what the index currently counts for the
//!   card, so a change can take back exactly what the previous version added;
//! - `nat/q/{status}/{t}/{region}/{id}` → [`NationalCard`] JSON for open cards, `t` the time the
//!   card entered the queue (sent for processing, else created): the national queue;
//! - `nat/rq/{region}/{status}/{t}/{id}` → empty: the same queue per region;
//! - counter records, JSON `{field: count}` without zero fields (a record with none is deleted):
//!   - `nat/rc/{region}` → `docs`, `cards`, `open/{status}`;
//!   - `nat/h/{hour}/{region}/{channel}`, `nat/d/{day}/{region}/{channel}` → `{category}` (empty
//!     when none): calls created per hour / per day (Kazakhstan's day,
//!     [`STATS_DAY_UTC_OFFSET_MS`]);
//!   - `nat/ht/{hour}`, `nat/dt/{day}` → `region/{region}`, `channel/{channel}`: the same summed,
//!     so the dashboard's charts read one record per bar group;
//!   - `nat/dl/{dispatch|arrival}/{bucket}` → `n`: delay histogram ([`delay_bucket`]).
//!
//! A new card changes a handful of records, so an import writes a few more keys than the
//! document's own, and the number of keys grows with hours × regions, not with cards.
//!
//! The overdue-unit count depends on the current time, so no counter can hold it:
//! [`DispatchedIndex`] keeps dispatched open cards by last update in memory, loaded from the
//! queue at startup.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use server_kit::store::{Store, StoreError, WriteBatch};
use sync::{Card, CardStatus, CardSummary, Channel};
use utoipa::ToSchema;

/// Version of the key layout above (3: with the appeals index, [`crate::appeals`]; 4: with the
/// appeals' national duplicate index, `nat/apd/`, [`crate::appeal_dups`]; 5: with the report
/// 1-ОЛ reception ledger, `rpt/entry/`, [`crate::report_1ol`]); a store marked with another
/// version is reindexed.
pub const NATIONAL_INDEX_VERSION: u32 = 5;
/// Where the version of the national index is kept (outside `nat/`, which a reindex clears).
pub const VERSION_KEY: &[u8] = b"meta/national_index_version";
pub const HOUR_MS: i64 = 3_600_000;
pub const DAY_MS: i64 = 86_400_000;
/// Per-day statistics count Kazakhstan's calendar days: the single time zone UTC+5 (since
/// 1 March 2024). Changing it needs a new [`NATIONAL_INDEX_VERSION`] (days are counted at import).
pub const STATS_DAY_UTC_OFFSET_MS: i64 = 5 * HOUR_MS;
/// Bytes of a card's category kept in the calls statistics; a longer (invalid) category is cut at a
/// character boundary.
pub const CATEGORY_KEY_BYTES_MAX: usize = 64;
/// Delays below this many ms have a histogram bucket each; above, buckets are 1/64 of an
/// octave wide, so a reported percentile is within 0.8 % of the exact one.
pub const DELAY_EXACT_MS_MAX: u64 = 128;

/// An open card in the national queue.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct NationalCard {
    /// Region code (from the node's certificate).
    pub region: String,
    #[serde(flatten)]
    pub summary: CardSummary,
}

/// What the index counts for one card (`nat/card/{region}/{id}`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct IndexedCard {
    pub status: CardStatus,
    /// Sent for processing, else created: the card's place in the queue.
    pub queue_at: i64,
    pub updated_at: i64,
    pub created_at: i64,
    pub channel: Channel,
    pub category: Option<String>,
    /// Sent for processing → first unit dispatched.
    pub dispatch_ms: Option<i64>,
    /// First unit dispatched → first unit on scene.
    pub arrival_ms: Option<i64>,
}

impl IndexedCard {
    pub fn of(card: &Card) -> Self {
        let first_dispatch = card.units.iter().map(|u| u.assigned_at).min();
        let first_arrival = card.units.iter().filter_map(|u| u.on_scene_at).min();
        IndexedCard {
            status: card.status,
            queue_at: card.sent_for_processing_at.unwrap_or(card.created_at),
            updated_at: card.updated_at,
            created_at: card.created_at,
            channel: card.channel,
            category: card.category.clone(),
            dispatch_ms: match (card.sent_for_processing_at, first_dispatch) {
                (Some(s), Some(d)) if d >= s => Some(d - s),
                _ => None,
            },
            arrival_ms: match (first_dispatch, first_arrival) {
                (Some(d), Some(a)) if a >= d => Some(a - d),
                _ => None,
            },
        }
    }

    fn dispatched_at(&self) -> Option<i64> {
        (self.status == CardStatus::Dispatched).then_some(self.updated_at)
    }
}

/// `t` as 16 hex digits whose byte order is the numeric order (also for negative `t`).
pub fn sortable(t: i64) -> String {
    format!("{:016x}", (t as u64) ^ (1 << 63))
}

/// The hour (since the epoch) a time falls in.
pub fn hour_of(ms: i64) -> i64 {
    ms.div_euclid(HOUR_MS)
}

/// The Kazakhstan calendar day (since the epoch) a time falls in.
pub fn day_of(ms: i64) -> i64 {
    ms.saturating_add(STATS_DAY_UTC_OFFSET_MS)
        .div_euclid(DAY_MS)
}

/// Start (ms since the epoch) of day `day` of [`day_of`].
pub fn day_start_ms(day: i64) -> i64 {
    day.saturating_mul(DAY_MS)
        .saturating_sub(STATS_DAY_UTC_OFFSET_MS)
}

fn queue_key(status: CardStatus, queue_at: i64, region: &str, id: &str) -> String {
    format!(
        "nat/q/{}/{}/{region}/{id}",
        status.as_str(),
        sortable(queue_at)
    )
}

fn region_queue_key(region: &str, status: CardStatus, queue_at: i64, id: &str) -> String {
    format!(
        "nat/rq/{region}/{}/{}/{id}",
        status.as_str(),
        sortable(queue_at)
    )
}

fn card_key(region: &str, id: &str) -> String {
    format!("nat/card/{region}/{id}")
}

/// The counter record of a region (`docs`, `cards`, `open/{status}`).
pub fn region_key(region: &str) -> String {
    format!("nat/rc/{region}")
}

/// Field of a region's record counting its documents.
pub const DOCS_FIELD: &str = "docs";
const CARDS_FIELD: &str = "cards";

fn open_field(status: CardStatus) -> String {
    format!("open/{}", status.as_str())
}

fn category_part(category: Option<&str>) -> &str {
    let c = category.unwrap_or("");
    if c.len() <= CATEGORY_KEY_BYTES_MAX {
        return c;
    }
    let mut end = CATEGORY_KEY_BYTES_MAX;
    while !c.is_char_boundary(end) {
        end -= 1;
    }
    &c[..end]
}

/// Adds `delta` to every calls counter of card `c` (of `region`) in `period`.
fn count_calls(counts: &mut Counts, period: Period, region: &str, c: &IndexedCard, delta: i64) {
    let t = sortable(period.of(c.created_at));
    let channel = c.channel.as_str();
    let (detail, totals) = period.prefixes();
    counts.add(
        format!("{detail}{t}/{region}/{channel}"),
        category_part(c.category.as_deref()),
        delta,
    );
    counts.add(format!("{totals}{t}"), format!("region/{region}"), delta);
    counts.add(format!("{totals}{t}"), format!("channel/{channel}"), delta);
}

/// Histogram bucket of a delay: exact below [`DELAY_EXACT_MS_MAX`], then 64 buckets per octave.
pub fn delay_bucket(ms: i64) -> u32 {
    let v = ms.max(0) as u64;
    if v < DELAY_EXACT_MS_MAX {
        return v as u32;
    }
    let e = 63 - v.leading_zeros() - 6;
    e * 64 + (v >> e) as u32
}

/// The value a bucket reports: its middle (its only value when exact).
pub fn delay_bucket_value(bucket: u32) -> i64 {
    let b = u64::from(bucket);
    if b < DELAY_EXACT_MS_MAX {
        return b as i64;
    }
    let e = b / 64 - 1;
    let m = b - e * 64;
    let low = u128::from(m) << e;
    let mid = low + ((1u128 << e) >> 1);
    i64::try_from(mid).unwrap_or(i64::MAX)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DelayKind {
    Dispatch,
    Arrival,
}

impl DelayKind {
    fn prefix(self) -> &'static str {
        match self {
            DelayKind::Dispatch => "nat/dl/dispatch/",
            DelayKind::Arrival => "nat/dl/arrival/",
        }
    }
}

fn delay_key(kind: DelayKind, ms: i64) -> String {
    format!("{}{:04}", kind.prefix(), delay_bucket(ms))
}

/// The only field of a delay bucket's record.
const DELAY_FIELD: &str = "n";

/// Statistics periods of the calls counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Hour,
    Day,
}

/// A one-dimensional breakdown of calls counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    Region,
    Channel,
}

impl By {
    fn field_prefix(self) -> &'static str {
        match self {
            By::Region => "region/",
            By::Channel => "channel/",
        }
    }
}

impl Period {
    /// Key prefixes of the period's records by region, channel and category, and of its totals.
    fn prefixes(self) -> (&'static str, &'static str) {
        match self {
            Period::Hour => ("nat/h/", "nat/ht/"),
            Period::Day => ("nat/d/", "nat/dt/"),
        }
    }
    /// Index of the period `ms` falls in.
    pub fn of(self, ms: i64) -> i64 {
        match self {
            Period::Hour => hour_of(ms),
            Period::Day => day_of(ms),
        }
    }
    /// Start (ms since the epoch) of period `index`.
    pub fn start_ms(self, index: i64) -> i64 {
        match self {
            Period::Hour => index.saturating_mul(HOUR_MS),
            Period::Day => day_start_ms(index),
        }
    }
}

/// A counter record's fields.
type Record = BTreeMap<String, u64>;

fn read_record(key: &[u8], value: &[u8]) -> Record {
    serde_json::from_slice(value).unwrap_or_else(|e| {
        // Only a bug or a damaged store writes something else: count from zero.
        tracing::error!(key = %String::from_utf8_lossy(key), error = %e, "a national counter record is unreadable");
        Record::new()
    })
}

/// Counter changes gathered for one write batch — `(record key, field) → delta` — applied by
/// [`Counts::stage`].
#[derive(Debug, Default)]
pub struct Counts(BTreeMap<String, BTreeMap<String, i64>>);

impl Counts {
    pub fn add(&mut self, key: String, field: impl Into<String>, delta: i64) {
        *self
            .0
            .entry(key)
            .or_default()
            .entry(field.into())
            .or_insert(0) += delta;
    }

    /// Puts every changed record (its stored fields plus the changes) into `batch`. Fields that
    /// reach zero are dropped and empty records deleted, so quiet hours leave no keys.
    pub fn stage(self, store: &dyn Store, batch: &mut WriteBatch) -> Result<(), StoreError> {
        for (key, fields) in self.0 {
            if fields.values().all(|d| *d == 0) {
                continue;
            }
            let mut record = match store.get(key.as_bytes())? {
                Some(v) => read_record(key.as_bytes(), &v),
                None => Record::new(),
            };
            for (field, delta) in fields {
                let now = record.get(&field).copied().unwrap_or(0);
                let next = i64::try_from(now).unwrap_or(i64::MAX).saturating_add(delta);
                if next < 0 {
                    // Only a bug can take back more than was counted: keep the counter sane.
                    tracing::error!(
                        key,
                        field,
                        now,
                        delta,
                        "a national counter would go negative"
                    );
                }
                if next <= 0 {
                    record.remove(&field);
                } else {
                    record.insert(field, next as u64);
                }
            }
            if record.is_empty() {
                batch.delete(key);
            } else {
                batch.put_json(key, &record)?;
            }
        }
        Ok(())
    }
}

/// What a staged card change means for the in-memory [`DispatchedIndex`].
#[derive(Debug, Clone, PartialEq)]
pub struct StagedCard {
    pub national: NationalCard,
    /// Last update while dispatched, before and after the change.
    pub dispatched_before: Option<i64>,
    pub dispatched_after: Option<i64>,
}

/// Stages the index entries of `card` (of `region`) into `batch` and `counts`, replacing what
/// the card's previous version contributed.
pub fn stage_card(
    store: &dyn Store,
    batch: &mut WriteBatch,
    counts: &mut Counts,
    region: &str,
    card: &Card,
) -> Result<StagedCard, StoreError> {
    let id = card.id.as_str();
    let key = card_key(region, id);
    let old: Option<IndexedCard> = store
        .get(key.as_bytes())?
        .and_then(|v| serde_json::from_slice(&v).ok());
    let new = IndexedCard::of(card);
    let national = NationalCard {
        region: region.to_string(),
        summary: CardSummary::from(card),
    };
    match &old {
        None => counts.add(region_key(region), CARDS_FIELD, 1),
        Some(o) => {
            if o.status.is_open() {
                counts.add(region_key(region), open_field(o.status), -1);
                batch.delete(queue_key(o.status, o.queue_at, region, id));
                batch.delete(region_queue_key(region, o.status, o.queue_at, id));
            }
            for period in [Period::Hour, Period::Day] {
                count_calls(counts, period, region, o, -1);
            }
            if let Some(d) = o.dispatch_ms {
                counts.add(delay_key(DelayKind::Dispatch, d), DELAY_FIELD, -1);
            }
            if let Some(a) = o.arrival_ms {
                counts.add(delay_key(DelayKind::Arrival, a), DELAY_FIELD, -1);
            }
        }
    }
    if new.status.is_open() {
        counts.add(region_key(region), open_field(new.status), 1);
        batch.put_json(queue_key(new.status, new.queue_at, region, id), &national)?;
        batch.put(
            region_queue_key(region, new.status, new.queue_at, id),
            Vec::new(),
        );
    }
    for period in [Period::Hour, Period::Day] {
        count_calls(counts, period, region, &new, 1);
    }
    if let Some(d) = new.dispatch_ms {
        counts.add(delay_key(DelayKind::Dispatch, d), DELAY_FIELD, 1);
    }
    if let Some(a) = new.arrival_ms {
        counts.add(delay_key(DelayKind::Arrival, a), DELAY_FIELD, 1);
    }
    batch.put_json(key, &new)?;
    Ok(StagedCard {
        national,
        dispatched_before: old.as_ref().and_then(IndexedCard::dispatched_at),
        dispatched_after: new.dispatched_at(),
    })
}

/// The stored index version, if any.
pub fn stored_version(store: &dyn Store) -> Result<Option<u32>, StoreError> {
    Ok(store
        .get(VERSION_KEY)?
        .and_then(|v| String::from_utf8(v).ok())
        .and_then(|v| v.parse().ok()))
}

// ---------------------------------------------------------------------------- queries

/// A region's counters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RegionCounts {
    /// Documents of every kind (cards, units, rosters).
    pub docs: u64,
    pub cards: u64,
    /// Open cards by status (statuses with none are absent).
    pub open: BTreeMap<CardStatus, u64>,
}

impl RegionCounts {
    pub fn open_total(&self) -> u64 {
        self.open.values().sum()
    }
}

/// Every region's counters, by region code. O(regions).
pub fn region_counts(store: &dyn Store) -> Result<BTreeMap<String, RegionCounts>, StoreError> {
    let mut out = BTreeMap::new();
    for (k, v) in store.scan_prefix(b"nat/rc/")? {
        let region = String::from_utf8_lossy(&k[b"nat/rc/".len()..]).to_string();
        let mut row = RegionCounts::default();
        for (field, n) in read_record(&k, &v) {
            match field.split_once('/') {
                None if field == DOCS_FIELD => row.docs = n,
                None if field == CARDS_FIELD => row.cards = n,
                Some(("open", st)) => {
                    if let Some(st) = CardStatus::parse(st) {
                        row.open.insert(st, n);
                    }
                }
                _ => {}
            }
        }
        out.insert(region, row);
    }
    Ok(out)
}

/// Open cards, oldest in the queue first: of `region` (or every region), in one of `statuses`,
/// at most `limit_count`. Reads at most `statuses × limit_count` keys and `limit_count` cards.
pub fn queue(
    store: &dyn Store,
    region: Option<&str>,
    statuses: &[CardStatus],
    limit_count: usize,
) -> Result<Vec<NationalCard>, StoreError> {
    // (position in the queue: "{t}/{region}/{id}", the card's `nat/q` key)
    let mut found: Vec<(String, String)> = Vec::new();
    for st in statuses.iter().filter(|s| s.is_open()) {
        match region {
            None => {
                let prefix = format!("nat/q/{}/", st.as_str());
                for k in store.scan_keys(prefix.as_bytes(), limit_count)? {
                    let k = String::from_utf8_lossy(&k).to_string();
                    found.push((k[prefix.len()..].to_string(), k));
                }
            }
            Some(r) => {
                let prefix = format!("nat/rq/{r}/{}/", st.as_str());
                for k in store.scan_keys(prefix.as_bytes(), limit_count)? {
                    let k = String::from_utf8_lossy(&k).to_string();
                    let Some((t, id)) = k[prefix.len()..].split_once('/') else {
                        continue;
                    };
                    found.push((
                        format!("{t}/{r}/{id}"),
                        format!("nat/q/{}/{t}/{r}/{id}", st.as_str()),
                    ));
                }
            }
        }
    }
    found.sort();
    found.truncate(limit_count);
    let mut out = Vec::with_capacity(found.len());
    for (_, key) in found {
        // A card that moved since its key was read is left out of this answer.
        if let Some(v) = store.get(key.as_bytes())? {
            if let Ok(c) = serde_json::from_slice::<NationalCard>(&v) {
                out.push(c);
            }
        }
    }
    Ok(out)
}

/// Calls created in one period, region, channel and category.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallCount {
    pub period_start_ms: i64,
    pub region: String,
    pub channel: Channel,
    /// `None`: no category yet.
    pub category: Option<String>,
    pub count: u64,
}

/// Calls per `period` for the periods `first..=last` (indexes of [`Period::of`]), by region,
/// channel and category, in period order, of one region or all; at most `rows_max + 1` rows
/// (so a caller can tell "more than `rows_max`"). O(periods + rows).
pub fn calls(
    store: &dyn Store,
    period: Period,
    (first, last): (i64, i64),
    region: Option<&str>,
    rows_max: usize,
) -> Result<Vec<CallCount>, StoreError> {
    let mut out = Vec::new();
    let (detail, _) = period.prefixes();
    for index in first..=last {
        let period_prefix = format!("{detail}{}/", sortable(index));
        let prefix = match region {
            Some(r) => format!("{period_prefix}{r}/"),
            None => period_prefix.clone(),
        };
        for (k, v) in store.scan_prefix(prefix.as_bytes())? {
            let rest = String::from_utf8_lossy(&k[period_prefix.len()..]).to_string();
            let Some((region, channel)) = rest.split_once('/') else {
                continue;
            };
            let Some(channel) = Channel::parse(channel) else {
                continue;
            };
            for (category, count) in read_record(&k, &v) {
                out.push(CallCount {
                    period_start_ms: period.start_ms(index),
                    region: region.to_string(),
                    channel,
                    category: (!category.is_empty()).then(|| category.to_string()),
                    count,
                });
                if out.len() > rows_max {
                    return Ok(out);
                }
            }
        }
    }
    Ok(out)
}

/// Calls in one period of one region or channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeriodCount {
    pub period_start_ms: i64,
    /// The region code or the channel.
    pub key: String,
    pub count: u64,
}

/// Calls per `period` for the periods `first..=last`, summed per region or per channel, in
/// period then key order. Reads one record per period.
pub fn calls_by(
    store: &dyn Store,
    period: Period,
    by: By,
    (first, last): (i64, i64),
) -> Result<Vec<PeriodCount>, StoreError> {
    let mut out = Vec::new();
    let (_, totals) = period.prefixes();
    for index in first..=last {
        let key = format!("{totals}{}", sortable(index));
        let Some(v) = store.get(key.as_bytes())? else {
            continue;
        };
        for (field, count) in read_record(key.as_bytes(), &v) {
            if let Some(k) = field.strip_prefix(by.field_prefix()) {
                out.push(PeriodCount {
                    period_start_ms: period.start_ms(index),
                    key: k.to_string(),
                    count,
                });
            }
        }
    }
    Ok(out)
}

/// Median and 90th percentile of a delay over every card that has it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct DelayStats {
    /// ms; `null` when no card has this delay.
    pub p50: Option<i64>,
    pub p90: Option<i64>,
    /// Cards that have this delay.
    pub count: u64,
}

/// Delay percentiles from the histogram: O(buckets), at most a few thousand.
pub fn delays(store: &dyn Store, kind: DelayKind) -> Result<DelayStats, StoreError> {
    let mut buckets: Vec<(u32, u64)> = Vec::new();
    for (k, v) in store.scan_prefix(kind.prefix().as_bytes())? {
        let b = String::from_utf8_lossy(&k[kind.prefix().len()..]).parse::<u32>();
        let n = read_record(&k, &v).get(DELAY_FIELD).copied().unwrap_or(0);
        if let Ok(b) = b {
            buckets.push((b, n));
        }
    }
    buckets.sort_unstable();
    Ok(percentiles(&buckets))
}

/// Nearest-rank p50 and p90 (rank `round((n - 1) × q)`, as over a sorted list of the values).
fn percentiles(buckets: &[(u32, u64)]) -> DelayStats {
    let count: u64 = buckets.iter().map(|(_, n)| n).sum();
    if count == 0 {
        return DelayStats::default();
    }
    let at = |q: f64| {
        let rank = ((count - 1) as f64 * q).round() as u64;
        let mut seen = 0u64;
        for &(b, n) in buckets {
            seen += n;
            if seen > rank {
                return Some(delay_bucket_value(b));
            }
        }
        None
    };
    DelayStats {
        p50: at(0.5),
        p90: at(0.9),
        count,
    }
}

/// Dispatched open cards by their last update, for the overdue count (which depends on the
/// current time, so no stored counter can hold it). Loaded from the queue at startup; changed
/// only after the batch that changes the card is applied.
#[derive(Debug, Default)]
pub struct DispatchedIndex {
    cards: Mutex<BTreeSet<(i64, String, String)>>,
}

impl DispatchedIndex {
    /// From the stored queue: O(dispatched open cards).
    pub fn load(store: &dyn Store) -> Result<DispatchedIndex, StoreError> {
        let prefix = format!("nat/q/{}/", CardStatus::Dispatched.as_str());
        let mut cards = BTreeSet::new();
        for (_, v) in store.scan_prefix(prefix.as_bytes())? {
            if let Ok(c) = serde_json::from_slice::<NationalCard>(&v) {
                cards.insert((c.summary.updated_at, c.region, c.summary.id));
            }
        }
        Ok(DispatchedIndex {
            cards: Mutex::new(cards),
        })
    }

    pub fn replace_with(&self, other: DispatchedIndex) {
        let other = other.cards.into_inner().unwrap_or_else(|p| p.into_inner());
        *self.cards.lock().unwrap_or_else(|p| p.into_inner()) = other;
    }

    pub fn update(&self, region: &str, staged: &StagedCard) {
        if staged.dispatched_before == staged.dispatched_after {
            return;
        }
        let id = &staged.national.summary.id;
        let mut cards = self.cards.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = staged.dispatched_before {
            cards.remove(&(t, region.to_string(), id.clone()));
        }
        if let Some(t) = staged.dispatched_after {
            cards.insert((t, region.to_string(), id.clone()));
        }
    }

    /// Dispatched open cards last updated before `cutoff_ms`. O(such cards), in memory.
    pub fn count_updated_before(&self, cutoff_ms: i64) -> usize {
        self.cards
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .range(..(cutoff_ms, String::new(), String::new()))
            .count()
    }

    /// Dispatched open cards not updated for longer than their region's overdue time
    /// (`overdue_ms(region)`) at `now_ms`. O(dispatched open cards), in memory.
    pub fn count_overdue(&self, now_ms: i64, overdue_ms: impl Fn(&str) -> i64) -> usize {
        let cards = self.cards.lock().unwrap_or_else(|p| p.into_inner());
        let mut per_region: std::collections::HashMap<&str, i64> = Default::default();
        cards
            .iter()
            .filter(|(updated_at, region, _)| {
                let after = *per_region
                    .entry(region.as_str())
                    .or_insert_with(|| overdue_ms(region));
                *updated_at < now_ms.saturating_sub(after)
            })
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sortable_keeps_numeric_order() {
        let ts = [i64::MIN, -HOUR_MS, -1, 0, 1, 1_700_000_000_000, i64::MAX];
        for w in ts.windows(2) {
            assert!(sortable(w[0]) < sortable(w[1]), "{} < {}", w[0], w[1]);
        }
    }

    #[test]
    fn delay_buckets_are_contiguous_and_close() {
        let mut prev = delay_bucket(0);
        for v in 1..100_000i64 {
            let b = delay_bucket(v);
            assert!(b == prev || b == prev + 1, "bucket jump at {v}");
            prev = b;
            let rep = delay_bucket_value(b);
            let err = (rep - v).abs() as f64 / v as f64;
            assert!(err <= 0.008, "{v} reported as {rep}");
        }
        for v in [0, 1, 127] {
            assert_eq!(delay_bucket_value(delay_bucket(v)), v);
        }
        // Absurd input neither panics nor wraps.
        assert!(delay_bucket_value(delay_bucket(i64::MAX)) > 0);
        assert_eq!(delay_bucket(-5), 0);
    }

    #[test]
    fn percentiles_match_nearest_rank_over_the_values() {
        let check = |values: &[i64]| {
            let mut buckets: BTreeMap<u32, u64> = BTreeMap::new();
            for &v in values {
                *buckets.entry(delay_bucket(v)).or_insert(0) += 1;
            }
            let got = percentiles(&buckets.into_iter().collect::<Vec<_>>());
            let mut sorted = values.to_vec();
            sorted.sort_unstable();
            let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
            assert_eq!(got.count, values.len() as u64);
            assert_eq!(got.p50, Some(at(0.5)), "{values:?}");
            assert_eq!(got.p90, Some(at(0.9)), "{values:?}");
        };
        check(&[5]);
        check(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        check(&[100, 3, 3, 3, 120, 0]);
        assert_eq!(percentiles(&[]), DelayStats::default());
    }

    #[test]
    fn days_are_kazakhstan_days() {
        // 2026-03-01 19:00 UTC is 2026-03-02 00:00 in Astana.
        let midnight_astana = 1_772_391_600_000;
        assert_eq!(day_of(midnight_astana), day_of(midnight_astana - 1) + 1);
        assert_eq!(day_start_ms(day_of(midnight_astana)), midnight_astana);
        assert_eq!(
            day_start_ms(day_of(midnight_astana + DAY_MS - 1)),
            midnight_astana
        );
    }

    #[test]
    fn long_categories_are_cut_at_a_character_boundary() {
        let long = "ы".repeat(100);
        let part = category_part(Some(&long));
        assert!(part.len() <= CATEGORY_KEY_BYTES_MAX && !part.is_empty());
        assert_eq!(category_part(None), "");
        assert_eq!(category_part(Some("theft")), "theft");
    }
}
