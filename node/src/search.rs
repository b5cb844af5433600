//! Card search, premise history and duplicate suggestions.
//!
//! A regional node holds hundreds of thousands of cards over the years, so nothing here reads
//! card documents: every card write (created here, changed by a command, or arriving by
//! replication) stages, in the same atomic batch as the document, a compact [`SearchEntry`] and
//! a few time-ordered secondary indexes ([`stage_search_indexes`], called from the card kind's
//! index rules). A query walks the narrowest index newest first and reads only the entries it
//! needs:
//!
//! - `idx/search/{id}` → [`SearchEntry`] JSON: the card's summary, phone, point, units and
//!   outcome;
//! - `idx/phone/{phone}\0{created_at:020}/{id}`: the caller's phone in E.164 (the digits of what
//!   was sent when it is not a valid number, see [`phone_key`]);
//! - `idx/house/{house}\0{created_at:020}/{id}` → the address text: cards by house number
//!   ([`sync::address::ParsedAddress::house_key`]); a query compares its address only with the
//!   addresses of its house number, with the same matcher as the address warnings (R08);
//! - `idx/sunit/{unit_id}\0{created_at:020}/{id}`: cards a unit was dispatched to;
//! - `idx/dupof/{number}\0{created_at:020}/{id}`: cards linked as duplicates of a card;
//! - the card kind's own `idx/day/{yyyymmdd}/{id}`, `idx/st/{status}/{id}` and the number index
//!   `meta/seq/{year}/{seq}` are used as they are.
//!
//! Why the store and not an index in memory: the indexes are written atomically with the card
//! (a crash never leaves them behind the documents), cost no start-up time and no memory per card,
//! and cards arriving by replication are indexed by the same path as local ones. The one cost
//! that grows with the region, reading every address of a house number, is kept down by a
//! bounded cache of parsed addresses ([`ADDRESS_PARSE_CACHE_MAX`]).
//!
//! A store written before these indexes existed is indexed once at start ([`ensure_indexed`]).
//!
//! The matching and ranking are pure functions of their inputs (the time is passed in); the
//! [`CardSearch`] shell reads the store.

use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};
use sync::address::{AddressMatch, AddressMatcher, ParsedAddress, PossibleReason};
use sync::{CardStatus, Channel};
use utoipa::ToSchema;

pub use crate::config::DuplicatesSection;
use crate::kinds::card::{day_key, number_key, number_parts};
pub use crate::kinds::card_search::{
    house_key, phone_key, stage_search_indexes, SearchEntry, ENTRY_PREFIX, OUTCOME_TEXT_CHARS_MAX,
    PHONE_QUERY_DIGITS_MIN,
};
use crate::store::{GroupCommit, Store, StoreError, WriteBatch};
use crate::warnings::MatchKind;

/// Results one search returns at most.
pub const SEARCH_RESULTS_MAX: usize = 200;
/// Results of a search that gives no `limit`.
pub const SEARCH_RESULTS_DEFAULT: usize = 50;
/// Earlier cards the premise history of one card lists at most.
pub const RELATED_RESULTS_MAX: usize = 20;
/// Duplicate suggestions listed at most.
pub const DUPLICATES_RESULTS_MAX: usize = 20;
/// Index entries one query reads at most before it answers with what it found (`more: true`).
pub const SEARCH_CANDIDATES_MAX: usize = 20_000;
/// Longest date range of one search, days.
pub const SEARCH_RANGE_DAYS_MAX: i64 = 3_660;
/// Days a search without a number, phone, address, unit or date looks back, days.
pub const SEARCH_RECENT_DAYS: i64 = 31;
/// Years back a bare sequence number (`000123`) is looked for, years.
pub const SEARCH_NUMBER_YEARS_BACK: i32 = 10;
/// Longest phone query, characters.
pub const PHONE_QUERY_CHARS_MAX: usize = 40;
/// Longest card-number query, characters.
pub const NUMBER_QUERY_CHARS_MAX: usize = 40;
/// Longest address query, characters (as the address warnings).
pub const ADDRESS_QUERY_CHARS_MAX: usize = crate::warnings::WARNINGS_FIELD_CHARS_MAX;
/// Longest unit query (id or call sign), characters.
pub const UNIT_QUERY_CHARS_MAX: usize = 64;
/// Parsed addresses kept in memory for matching (a few hundred bytes each).
pub const ADDRESS_PARSE_CACHE_MAX: usize = 50_000;
/// Mean radius of the Earth, metres (distances between points of one city).
const EARTH_RADIUS_M: f64 = 6_371_008.8;
const DAY_MS: i64 = 86_400_000;

/// Key marking that every stored card has its search entry and indexes.
pub const SEARCH_INDEX_VERSION_KEY: &str = "meta/search_index_version";
/// Version of the search indexes' layout; a store with an older one is indexed again at start.
pub const SEARCH_INDEX_VERSION: &str = "1";
/// Cards indexed per batch when a store is indexed at start.
const REINDEX_BATCH_CARDS: usize = 500;

/// Indexes every stored card once when the store was written before the search indexes existed
/// (or with an older layout). Returns the number of cards indexed.
pub async fn ensure_indexed(
    service: &crate::service::CardService,
    gc: &Arc<GroupCommit>,
) -> Result<usize, crate::service::ServiceError> {
    let store = service.store().clone();
    if store.get(SEARCH_INDEX_VERSION_KEY.as_bytes())?.as_deref()
        == Some(SEARCH_INDEX_VERSION.as_bytes())
    {
        return Ok(0);
    }
    let cards = server_kit::docs::catalogue(&*store, service.region(), Some(sync::DocKind::Card))?;
    let mut indexed = 0;
    for chunk in cards.chunks(REINDEX_BATCH_CARDS) {
        let mut batch = WriteBatch::new();
        for entry in chunk {
            let card = service.get_card(entry.id.id())?;
            stage_search_indexes(&mut batch, None, &card)?;
            indexed += 1;
        }
        let ticket = gc.apply(batch)?;
        gc.wait_async(ticket).await?;
    }
    let mut batch = WriteBatch::new();
    batch.put(SEARCH_INDEX_VERSION_KEY, SEARCH_INDEX_VERSION);
    let ticket = gc.apply(batch)?;
    gc.wait_async(ticket).await?;
    Ok(indexed)
}

// ------------------------------------------------------------------------------ queries

/// Why a query was refused: the field and what is wrong with it.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("{field}: {message}")]
    Field {
        field: &'static str,
        message: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn bad(field: &'static str, message: impl Into<String>) -> SearchError {
    SearchError::Field {
        field,
        message: message.into(),
    }
}

/// Which cards by their state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StateFilter {
    Open,
    Closed,
    #[default]
    All,
}

impl StateFilter {
    pub fn parse(s: &str) -> Option<StateFilter> {
        match s {
            "open" => Some(StateFilter::Open),
            "closed" => Some(StateFilter::Closed),
            "all" | "" => Some(StateFilter::All),
            _ => None,
        }
    }
    fn accepts(self, status: CardStatus) -> bool {
        match self {
            StateFilter::Open => status.is_open(),
            StateFilter::Closed => status.is_terminal(),
            StateFilter::All => true,
        }
    }
}

/// A card number as asked: the whole number, `year-sequence`, or the sequence alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NumberQuery {
    Full { region: String, year: i32, seq: u64 },
    YearSeq { year: i32, seq: u64 },
    Seq(u64),
}

/// Reads a number query (`AST-2026-000123`, `2026-000123`, `000123` or `123`).
pub fn parse_number(q: &str) -> Result<NumberQuery, SearchError> {
    let q = q.trim();
    let invalid = || {
        bad(
            "number",
            "give a card number such as AST-2026-000123, 2026-000123 or 000123",
        )
    };
    if q.chars().count() > NUMBER_QUERY_CHARS_MAX {
        return Err(invalid());
    }
    if !q.is_empty() && q.chars().all(|c| c.is_ascii_digit()) {
        return q
            .parse::<u64>()
            .map(NumberQuery::Seq)
            .map_err(|_| invalid());
    }
    if let Some((region, year, seq)) = number_parts(q) {
        if !region.is_empty() {
            return Ok(NumberQuery::Full {
                region: region.to_uppercase(),
                year,
                seq,
            });
        }
    }
    let mut parts = q.splitn(2, '-');
    match (
        parts.next().and_then(|y| y.parse::<i32>().ok()),
        parts.next().and_then(|s| s.parse::<u64>().ok()),
    ) {
        (Some(year), Some(seq)) => Ok(NumberQuery::YearSeq { year, seq }),
        _ => Err(invalid()),
    }
}

/// Reads a day `YYYY-MM-DD` into the UTC time of its local midnight.
pub fn parse_day(field: &'static str, s: &str, utc_offset_min: i32) -> Result<i64, SearchError> {
    let d = chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| bad(field, "give a day as YYYY-MM-DD"))?;
    let midnight = d
        .and_hms_opt(0, 0, 0)
        .ok_or_else(|| bad(field, "give a day as YYYY-MM-DD"))?
        .and_utc()
        .timestamp_millis();
    Ok(midnight - i64::from(utc_offset_min) * 60_000)
}

/// A search as asked, each criterion checked.
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    pub number: Option<NumberQuery>,
    /// [`phone_key`] of the phone asked.
    pub phone: Option<String>,
    pub address: Option<String>,
    /// `[from, to)` in UTC ms.
    pub range: Option<(i64, i64)>,
    /// A unit id.
    pub unit_id: Option<String>,
    pub state: StateFilter,
    pub limit: usize,
}

/// The raw parameters of a search, as the HTTP query gives them.
#[derive(Debug, Clone, Default)]
pub struct RawSearch<'a> {
    pub number: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub address: Option<&'a str>,
    pub day: Option<&'a str>,
    pub from: Option<&'a str>,
    pub to: Option<&'a str>,
    pub unit: Option<&'a str>,
    pub state: Option<&'a str>,
    pub limit: Option<&'a str>,
}

fn given(s: Option<&str>) -> Option<&str> {
    s.map(str::trim).filter(|s| !s.is_empty())
}

impl SearchQuery {
    /// Checks a search. `units` are the region's units as `(id, call_sign)`: a unit is asked by
    /// either.
    pub fn parse(
        raw: &RawSearch<'_>,
        units: &[(String, String)],
        utc_offset_min: i32,
    ) -> Result<SearchQuery, SearchError> {
        let mut q = SearchQuery {
            limit: SEARCH_RESULTS_DEFAULT,
            ..Default::default()
        };
        if let Some(n) = given(raw.number) {
            q.number = Some(parse_number(n)?);
        }
        if let Some(p) = given(raw.phone) {
            if p.chars().count() > PHONE_QUERY_CHARS_MAX {
                return Err(bad(
                    "phone",
                    format!("at most {PHONE_QUERY_CHARS_MAX} characters"),
                ));
            }
            q.phone = Some(phone_key(p).ok_or_else(|| {
                bad(
                    "phone",
                    format!("give a phone number with at least {PHONE_QUERY_DIGITS_MIN} digits"),
                )
            })?);
        }
        if let Some(a) = given(raw.address) {
            q.address = Some(check_address(a)?);
        }
        let day = |f: &'static str, s: Option<&str>| {
            given(s)
                .map(|s| parse_day(f, s, utc_offset_min))
                .transpose()
        };
        q.range = match (
            day("day", raw.day)?,
            day("from", raw.from)?,
            day("to", raw.to)?,
        ) {
            (Some(d), None, None) => Some((d, d + DAY_MS)),
            (Some(_), _, _) => return Err(bad("day", "give either a day or from/to")),
            (None, None, None) => None,
            (None, from, to) => {
                let from = from.unwrap_or(i64::MIN / 2);
                let to = to.map(|t| t + DAY_MS).unwrap_or(i64::MAX / 2);
                if to <= from {
                    return Err(bad("to", "the range ends before it starts"));
                }
                Some((from, to))
            }
        };
        if let Some(u) = given(raw.unit) {
            if u.chars().count() > UNIT_QUERY_CHARS_MAX {
                return Err(bad("unit", "no such unit"));
            }
            let found = units
                .iter()
                .find(|(id, _)| id == u)
                .or_else(|| {
                    let u = u.to_lowercase();
                    units.iter().find(|(_, cs)| cs.to_lowercase() == u)
                })
                .ok_or_else(|| bad("unit", "no such unit (give its id or call sign)"))?;
            q.unit_id = Some(found.0.clone());
        }
        if let Some(s) = raw.state {
            q.state = StateFilter::parse(s.trim())
                .ok_or_else(|| bad("state", "give open, closed or all"))?;
        }
        if let Some(l) = given(raw.limit) {
            q.limit = l
                .parse::<usize>()
                .ok()
                .filter(|l| (1..=SEARCH_RESULTS_MAX).contains(l))
                .ok_or_else(|| bad("limit", format!("give 1 to {SEARCH_RESULTS_MAX}")))?;
        }
        Ok(q)
    }
}

fn check_address(a: &str) -> Result<String, SearchError> {
    if a.chars().count() > ADDRESS_QUERY_CHARS_MAX {
        return Err(bad(
            "address",
            format!("at most {ADDRESS_QUERY_CHARS_MAX} characters"),
        ));
    }
    if sync::address::normalize_address(a).is_empty() {
        return Err(bad("address", "the address has no street, house or place"));
    }
    Ok(a.to_string())
}

/// Why a card is listed: the codes the console renders.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum HitReason {
    /// The same address (a `match` as the address warnings read it).
    SameAddress,
    /// Perhaps the same address (`address_reasons` say why).
    PossibleAddress,
    /// Within the configured radius of the point (`distance_m`).
    Nearby,
    /// The same caller's phone.
    SamePhone,
}

/// How a card was finished, or that it is still open.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Outcome {
    pub status: CardStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub close_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancel_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patrol_report: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub close_summary: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<String>,
}

/// One card found: its summary, its outcome and why it was found.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CardHit {
    pub id: String,
    pub number: String,
    pub status: CardStatus,
    pub channel: Channel,
    pub district: Option<String>,
    pub category: Option<String>,
    pub priority: Option<u8>,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Call signs of every unit dispatched to the card.
    pub units: Vec<String>,
    pub outcome: Outcome,
    /// Why the card is listed (address, nearby, phone); empty for a search without them.
    pub reasons: Vec<HitReason>,
    /// How the card's address relates to the one asked (as the address warnings, R08).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_match: Option<MatchKind>,
    /// Why an address match is only possible; empty for `match`.
    pub address_reasons: Vec<PossibleReason>,
    /// Distance from the point asked, metres (duplicate suggestions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance_m: Option<f64>,
}

impl CardHit {
    fn new(e: SearchEntry) -> CardHit {
        CardHit {
            outcome: Outcome {
                status: e.status,
                closed_at: e.closed_at,
                close_reason: e.close_reason,
                cancel_reason: e.cancel_reason,
                patrol_report: e.patrol_report,
                close_summary: e.close_summary,
                duplicate_of: e.duplicate_of,
            },
            id: e.id,
            number: e.number,
            status: e.status,
            channel: e.channel,
            district: e.district,
            category: e.category,
            priority: e.priority,
            address: e.address,
            phone: e.phone,
            created_at: e.created_at,
            updated_at: e.updated_at,
            units: e.units,
            reasons: Vec::new(),
            address_match: None,
            address_reasons: Vec::new(),
            distance_m: None,
        }
    }

    fn add_address(&mut self, m: &AddressMatch) {
        match m {
            AddressMatch::Match => {
                self.address_match = Some(MatchKind::Match);
                self.address_reasons.clear();
                self.reasons.push(HitReason::SameAddress);
            }
            AddressMatch::Possible { reasons } => {
                self.address_match = Some(MatchKind::Possible);
                self.address_reasons = reasons.clone();
                self.reasons.push(HitReason::PossibleAddress);
            }
            AddressMatch::NoMatch => {}
        }
        self.reasons.sort();
        self.reasons.dedup();
    }
}

/// Cards found, newest first; `more` when there were more than the limit (or than a query reads).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SearchResults {
    pub cards: Vec<CardHit>,
    pub more: bool,
}

/// Distance between two points on the Earth, metres (haversine).
pub fn distance_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la1, lo1) = (a.0.to_radians(), a.1.to_radians());
    let (la2, lo2) = (b.0.to_radians(), b.1.to_radians());
    let h = ((la2 - la1) / 2.0).sin().powi(2)
        + la1.cos() * la2.cos() * ((lo2 - lo1) / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

/// What a card being filled looks like to the duplicate check.
#[derive(Debug, Clone, Default)]
pub struct DuplicateQuery {
    pub address: Option<String>,
    pub point: Option<(f64, f64)>,
    /// [`phone_key`] of the phone.
    pub phone: Option<String>,
    /// The card being filled, when it exists already.
    pub exclude: Option<String>,
}

impl DuplicateQuery {
    pub fn parse(
        address: Option<&str>,
        lat: Option<&str>,
        lon: Option<&str>,
        phone: Option<&str>,
        exclude: Option<&str>,
    ) -> Result<DuplicateQuery, SearchError> {
        let coord =
            |f: &'static str, s: Option<&str>, max: f64| -> Result<Option<f64>, SearchError> {
                given(s)
                    .map(|s| {
                        s.replace(',', ".")
                            .parse::<f64>()
                            .ok()
                            .filter(|v| v.is_finite() && v.abs() <= max)
                            .ok_or_else(|| bad(f, format!("give degrees between −{max} and {max}")))
                    })
                    .transpose()
            };
        let point = match (coord("lat", lat, 90.0)?, coord("lon", lon, 180.0)?) {
            (Some(a), Some(b)) => Some((a, b)),
            (None, None) => None,
            (Some(_), None) => return Err(bad("lon", "give lat and lon together")),
            (None, Some(_)) => return Err(bad("lat", "give lat and lon together")),
        };
        let phone = match given(phone) {
            Some(p) if p.chars().count() > PHONE_QUERY_CHARS_MAX => {
                return Err(bad(
                    "phone",
                    format!("at most {PHONE_QUERY_CHARS_MAX} characters"),
                ))
            }
            // A phone still being typed is no criterion yet.
            Some(p) => phone_key(p),
            None => None,
        };
        let address = match given(address) {
            Some(a) if a.chars().count() > ADDRESS_QUERY_CHARS_MAX => {
                return Err(bad(
                    "address",
                    format!("at most {ADDRESS_QUERY_CHARS_MAX} characters"),
                ))
            }
            Some(a) if !sync::address::normalize_address(a).is_empty() => Some(a.to_string()),
            _ => None,
        };
        Ok(DuplicateQuery {
            address,
            point,
            phone,
            exclude: given(exclude).map(str::to_string),
        })
    }
}

/// Ranks duplicate suggestions: the same address first, then a possible one, then by distance,
/// then the same phone; newest first within each.
pub fn rank_duplicates(hits: &mut [CardHit]) {
    let rank = |h: &CardHit| {
        (
            !h.reasons.contains(&HitReason::SameAddress),
            !h.reasons.contains(&HitReason::PossibleAddress),
            h.distance_m.map(|d| (d * 10.0) as i64).unwrap_or(i64::MAX),
            std::cmp::Reverse(h.created_at),
        )
    };
    hits.sort_by_key(rank);
}

/// The search shell: the store's indexes read with the region's address matcher.
pub struct CardSearch {
    store: Arc<dyn Store>,
    matcher: AddressMatcher,
    duplicates: DuplicatesSection,
    parsed: Mutex<lru::LruCache<String, Arc<ParsedAddress>>>,
}

/// A linked duplicate of a card, as the card lists it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct LinkedDuplicate {
    pub id: String,
    pub number: String,
    pub created_at: i64,
    pub channel: Channel,
    pub status: CardStatus,
}

impl CardSearch {
    pub fn new(
        store: Arc<dyn Store>,
        matcher: AddressMatcher,
        duplicates: DuplicatesSection,
    ) -> CardSearch {
        let cap = NonZeroUsize::new(ADDRESS_PARSE_CACHE_MAX).unwrap_or(NonZeroUsize::MIN);
        CardSearch {
            store,
            matcher,
            duplicates,
            parsed: Mutex::new(lru::LruCache::new(cap)),
        }
    }

    pub fn duplicates_settings(&self) -> &DuplicatesSection {
        &self.duplicates
    }

    fn parse(&self, address: &str) -> Arc<ParsedAddress> {
        if let Some(p) = self
            .parsed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(address)
        {
            return p.clone();
        }
        let p = Arc::new(self.matcher.parse(address));
        self.parsed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .put(address.to_string(), p.clone());
        p
    }

    /// How a card's address (`record`) relates to the address asked (`query`), as the address
    /// warnings compare them.
    fn compare(&self, record: &str, query: &ParsedAddress) -> AddressMatch {
        self.matcher.compare(&self.parse(record), query)
    }

    pub fn entry(&self, id: &str) -> Result<Option<SearchEntry>, StoreError> {
        Ok(self
            .store
            .get(format!("{ENTRY_PREFIX}{id}").as_bytes())?
            .and_then(|v| serde_json::from_slice(&v).ok()))
    }

    /// Ids from a time-ordered index (`prefix{value}\0{created_at}/{id}`), newest first.
    fn ids_newest_first(
        &self,
        prefix: &str,
        value: &str,
        max: usize,
    ) -> Result<Vec<String>, StoreError> {
        let p = format!("{prefix}{value}\0");
        Ok(self
            .store
            .scan_keys_rev(p.as_bytes(), None, max)?
            .into_iter()
            .filter_map(|k| id_of(&k))
            .collect())
    }

    /// Cards at the address (match or possible), newest first, with how they match.
    fn at_address(
        &self,
        address: &str,
        max: usize,
    ) -> Result<(Vec<(String, AddressMatch)>, bool), StoreError> {
        let query = self.matcher.parse(address);
        let prefix = format!("idx/house/{}\0", house_key(address));
        let mut found: Vec<(Vec<u8>, String, AddressMatch)> = Vec::new();
        for (k, v) in self.store.scan_prefix(prefix.as_bytes())? {
            let record = String::from_utf8_lossy(&v);
            let m = self.compare(&record, &query);
            if m != AddressMatch::NoMatch {
                if let Some(id) = id_of(&k) {
                    found.push((k, id, m));
                }
            }
        }
        found.sort_by(|a, b| b.0.cmp(&a.0));
        let more = found.len() > max;
        found.truncate(max);
        Ok((found.into_iter().map(|(_, id, m)| (id, m)).collect(), more))
    }

    /// Number lookup: the ids of the cards with this number.
    fn by_number(
        &self,
        n: &NumberQuery,
        region: &str,
        now_ms: i64,
    ) -> Result<Vec<String>, StoreError> {
        let year_now = chrono::DateTime::from_timestamp_millis(now_ms)
            .map(|d| chrono::Datelike::year(&d))
            .unwrap_or(1970);
        let wanted: Vec<(i32, u64)> = match n {
            NumberQuery::Full {
                region: r,
                year,
                seq,
            } if r == region => vec![(*year, *seq)],
            NumberQuery::Full { .. } => Vec::new(),
            NumberQuery::YearSeq { year, seq } => vec![(*year, *seq)],
            NumberQuery::Seq(seq) => (0..=SEARCH_NUMBER_YEARS_BACK)
                .map(|back| (year_now - back, *seq))
                .collect(),
        };
        let mut out = Vec::new();
        for (year, seq) in wanted {
            if let Some(v) = self.store.get(number_key(year, seq).as_bytes())? {
                out.push(String::from_utf8_lossy(&v).to_string());
            }
        }
        Ok(out)
    }

    /// Ids of cards created in `[from, to)`, newest day first (unordered within a day; the caller
    /// sorts), at most `max`.
    fn by_days(
        &self,
        from: i64,
        to: i64,
        max: usize,
    ) -> Result<(Vec<(i64, String)>, bool), StoreError> {
        let mut out = Vec::new();
        let first = from
            .max(to - SEARCH_RANGE_DAYS_MAX * DAY_MS)
            .div_euclid(DAY_MS);
        let mut day = (to - 1).div_euclid(DAY_MS);
        while day >= first {
            let prefix = format!("idx/day/{}/", day_key(day * DAY_MS));
            for k in self.store.scan_keys(prefix.as_bytes(), usize::MAX)? {
                if out.len() >= max {
                    return Ok((out, true));
                }
                if let Some(id) = String::from_utf8_lossy(&k).rsplit('/').next() {
                    out.push((day, id.to_string()));
                }
            }
            day -= 1;
        }
        Ok((out, false))
    }

    /// Open and closed cards by number, phone, address, date and unit, newest first (R08 address
    /// matching). `region` is this node's; `now_ms` bounds a search that names nothing else.
    pub fn search(
        &self,
        q: &SearchQuery,
        region: &str,
        now_ms: i64,
    ) -> Result<SearchResults, SearchError> {
        let max = SEARCH_CANDIDATES_MAX;
        let mut address_of: BTreeMap<String, AddressMatch> = BTreeMap::new();
        // The narrowest criterion gives the candidates, newest first where its index is ordered.
        // Each candidate comes with its batch: candidates of one batch are in no order, batches
        // newest first (a card of its own in a time-ordered index, a day in the day index), so
        // once the limit is passed the next batch holds nothing newer.
        let ordered = |ids: Vec<String>| -> Vec<(i64, String)> {
            ids.into_iter()
                .enumerate()
                .map(|(n, id)| (-(n as i64), id))
                .collect()
        };
        let (ids, mut more) = if let Some(n) = &q.number {
            // A bare sequence names one card a year: not ordered by time.
            let ids = self.by_number(n, region, now_ms)?;
            (ids.into_iter().map(|id| (0, id)).collect(), false)
        } else if let Some(p) = &q.phone {
            (
                ordered(self.ids_newest_first("idx/phone/", p, max + 1)?),
                false,
            )
        } else if let Some(a) = &q.address {
            let (found, more) = self.at_address(a, max)?;
            let ids = found.iter().map(|(id, _)| id.clone()).collect();
            address_of.extend(found);
            (ordered(ids), more)
        } else if let Some(u) = &q.unit_id {
            (
                ordered(self.ids_newest_first("idx/sunit/", u, max + 1)?),
                false,
            )
        } else {
            let (from, to) = q
                .range
                .unwrap_or((now_ms - SEARCH_RECENT_DAYS * DAY_MS, now_ms + DAY_MS));
            self.by_days(from, to.min(now_ms + DAY_MS), max)?
        };
        let mut ids = ids;
        if ids.len() > max {
            ids.truncate(max);
            more = true;
        }
        let query_address = q.address.as_deref().map(|a| self.matcher.parse(a));
        let mut hits = Vec::new();
        let mut seen = BTreeSet::new();
        let mut last_batch = None;
        for (batch, id) in ids {
            if hits.len() > q.limit && last_batch != Some(batch) {
                more = true;
                break;
            }
            if !seen.insert(id.clone()) {
                continue;
            }
            let Some(e) = self.entry(&id)? else { continue };
            if !q.state.accepts(e.status) {
                continue;
            }
            if let Some((from, to)) = q.range {
                if !(from..to).contains(&e.created_at) {
                    continue;
                }
            }
            if let Some(p) = &q.phone {
                if e.phone.as_deref().and_then(phone_key).as_ref() != Some(p) {
                    continue;
                }
            }
            if let Some(u) = &q.unit_id {
                if !e.unit_ids.contains(u) {
                    continue;
                }
            }
            let address_match = match (&query_address, address_of.remove(&e.id)) {
                (_, Some(m)) => Some(m),
                (Some(qa), None) => {
                    let m = e
                        .address
                        .as_deref()
                        .map(|a| self.compare(a, qa))
                        .unwrap_or(AddressMatch::NoMatch);
                    if m == AddressMatch::NoMatch {
                        continue;
                    }
                    Some(m)
                }
                (None, None) => None,
            };
            let mut hit = CardHit::new(e);
            if let Some(m) = address_match {
                hit.add_address(&m);
            }
            if q.phone.is_some() {
                hit.reasons.push(HitReason::SamePhone);
            }
            hits.push(hit);
            last_batch = Some(batch);
        }
        hits.sort_by_key(|h| std::cmp::Reverse((h.created_at, h.id.clone())));
        if hits.len() > q.limit {
            hits.truncate(q.limit);
            more = true;
        }
        Ok(SearchResults { cards: hits, more })
    }

    /// Premise history of a card: earlier cards (any status) at the same address (match or
    /// possible) or from the same phone, newest first, without the card itself and the cards
    /// linked to it as duplicates. At most [`RELATED_RESULTS_MAX`].
    pub fn related(&self, card: &SearchEntry) -> Result<Vec<CardHit>, StoreError> {
        let mut hits: BTreeMap<String, CardHit> = BTreeMap::new();
        let skip = |e: &SearchEntry| {
            e.id == card.id
                || e.created_at > card.created_at
                || e.duplicate_of.as_deref() == Some(card.number.as_str())
                || e.duplicate_of.as_deref() == Some(card.id.as_str())
        };
        if let Some(a) = card
            .address
            .as_deref()
            .filter(|a| !sync::address::normalize_address(a).is_empty())
        {
            let (found, _) = self.at_address(a, SEARCH_CANDIDATES_MAX)?;
            for (id, m) in found {
                if hits.len() >= RELATED_RESULTS_MAX * 2 {
                    break;
                }
                let Some(e) = self.entry(&id)? else { continue };
                if skip(&e) {
                    continue;
                }
                let mut hit = CardHit::new(e);
                hit.add_address(&m);
                hits.insert(id, hit);
            }
        }
        if let Some(p) = card.phone.as_deref().and_then(phone_key) {
            for id in self.ids_newest_first("idx/phone/", &p, RELATED_RESULTS_MAX * 4)? {
                if let Some(hit) = hits.get_mut(&id) {
                    hit.reasons.push(HitReason::SamePhone);
                    continue;
                }
                let Some(e) = self.entry(&id)? else { continue };
                if skip(&e) {
                    continue;
                }
                let mut hit = CardHit::new(e);
                hit.reasons.push(HitReason::SamePhone);
                hits.insert(id, hit);
            }
        }
        let mut out: Vec<CardHit> = hits.into_values().collect();
        out.sort_by_key(|h| std::cmp::Reverse((h.created_at, h.id.clone())));
        out.truncate(RELATED_RESULTS_MAX);
        Ok(out)
    }

    /// Open cards the card being filled may repeat: at the same address, within
    /// `duplicates.radius_m` of its point, or from its phone within `duplicates.phone_window_min`.
    pub fn duplicates(&self, q: &DuplicateQuery, now_ms: i64) -> Result<Vec<CardHit>, StoreError> {
        if q.address.is_none() && q.point.is_none() && q.phone.is_none() {
            return Ok(Vec::new());
        }
        let query_address = q.address.as_deref().map(|a| self.matcher.parse(a));
        let since = now_ms - self.duplicates.phone_window_min * 60_000;
        let mut out = Vec::new();
        for status in CardStatus::ALL.into_iter().filter(|s| s.is_open()) {
            let prefix = format!("idx/st/{}/", status.as_str());
            for k in self
                .store
                .scan_keys(prefix.as_bytes(), SEARCH_CANDIDATES_MAX)?
            {
                let Some(id) = String::from_utf8_lossy(&k)
                    .rsplit('/')
                    .next()
                    .map(str::to_string)
                else {
                    continue;
                };
                if q.exclude.as_deref() == Some(id.as_str()) {
                    continue;
                }
                let Some(e) = self.entry(&id)? else { continue };
                if q.exclude.as_deref() == Some(e.number.as_str()) || !e.status.is_open() {
                    continue;
                }
                let address = match (&query_address, e.address.as_deref()) {
                    (Some(qa), Some(a)) => self.compare(a, qa),
                    _ => AddressMatch::NoMatch,
                };
                let distance = match (q.point, e.lat.zip(e.lon)) {
                    (Some(p), Some(c)) => Some(distance_m(p, c)),
                    _ => None,
                }
                .filter(|d| *d <= self.duplicates.radius_m);
                let same_phone = q.phone.is_some()
                    && e.created_at >= since
                    && e.phone.as_deref().and_then(phone_key) == q.phone;
                if address == AddressMatch::NoMatch && distance.is_none() && !same_phone {
                    continue;
                }
                let mut hit = CardHit::new(e);
                hit.add_address(&address);
                if let Some(d) = distance {
                    hit.distance_m = Some(d.round());
                    hit.reasons.push(HitReason::Nearby);
                }
                if same_phone {
                    hit.reasons.push(HitReason::SamePhone);
                }
                hit.reasons.sort();
                out.push(hit);
            }
        }
        rank_duplicates(&mut out);
        out.truncate(DUPLICATES_RESULTS_MAX);
        Ok(out)
    }

    /// The cards linked as duplicates of a card (by its number or id), oldest first.
    pub fn linked_duplicates(
        &self,
        number: &str,
        id: &str,
    ) -> Result<Vec<LinkedDuplicate>, StoreError> {
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        for key in [number, id] {
            for dup in self.ids_newest_first("idx/dupof/", key, RELATED_RESULTS_MAX * 5)? {
                if !seen.insert(dup.clone()) {
                    continue;
                }
                if let Some(e) = self.entry(&dup)? {
                    out.push(LinkedDuplicate {
                        id: e.id,
                        number: e.number,
                        created_at: e.created_at,
                        channel: e.channel,
                        status: e.status,
                    });
                }
            }
        }
        out.sort_by_key(|d| d.created_at);
        Ok(out)
    }
}

/// The card id at the end of an index key (`…/{id}`).
fn id_of(key: &[u8]) -> Option<String> {
    let s = String::from_utf8_lossy(key);
    s.rsplit('/')
        .next()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SledStore;
    use sync::{Caller, Card, CardUnit, Location, Seen, UnitKind};

    const NOW: i64 = 1_780_000_000_000; // May 2026
    const MIN_MS: i64 = 60_000;

    fn matcher() -> AddressMatcher {
        let config = crate::config::Config::load(None).unwrap();
        AddressMatcher::new(
            config.reference.street_aliases().unwrap(),
            &config.node.city_names,
        )
        .with_town_aliases(config.reference.town_aliases().unwrap())
    }

    #[allow(clippy::too_many_arguments)]
    fn card(
        n: u64,
        created_at: i64,
        status: CardStatus,
        phone: Option<&str>,
        address: Option<&str>,
        point: Option<(f64, f64)>,
        unit: Option<&str>,
    ) -> Card {
        Card {
            id: format!("00000000-0000-4000-8000-{n:012}"),
            number: format!("AST-2026-{n:06}"),
            region: "AST".into(),
            district: None,
            channel: Channel::App102Call,
            status,
            status_since: created_at,
            created_at,
            updated_at: created_at,
            created_by: "op".into(),
            caller: Caller {
                phone: phone.map(str::to_string),
                ..Caller::default()
            },
            location: Some(Location {
                lat: point.map(|p| p.0),
                lon: point.map(|p| p.1),
                accuracy_m: None,
                address: address.map(str::to_string),
                source: None,
            }),
            description: None,
            seen: Seen::default(),
            category: None,
            priority: None,
            sent_for_processing_at: None,
            timeline: Vec::new(),
            units: unit
                .map(|u| CardUnit {
                    unit_id: u.into(),
                    call_sign: format!("cs-{u}"),
                    kind: UnitKind::Patrol,
                    assigned_at: created_at,
                    assigned_by: "d".into(),
                    en_route_at: None,
                    on_scene_at: None,
                    cleared_at: None,
                })
                .into_iter()
                .collect(),
            dsog_dispatched_at: None,
            forwarded_to: None,
            forwarded_at: None,
            kui: None,
            duplicate_of: None,
            patrol_report: None,
            patrol_reports: Vec::new(),
            close_summary: None,
            close_reason: status.is_terminal().then(|| "решено на месте".to_string()),
            cancel_reason: None,
            callback: None,
            field_writers: Default::default(),
        }
    }

    fn store() -> (tempfile::TempDir, Arc<dyn Store>) {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path(), 64 << 20).unwrap());
        (dir, store)
    }

    fn write(store: &Arc<dyn Store>, cards: &[Card]) {
        for chunk in cards.chunks(1_000) {
            let mut batch = WriteBatch::new();
            for c in chunk {
                crate::kinds::card::stage_card_indexes(&mut batch, None, c).unwrap();
            }
            store.apply(batch).unwrap();
        }
    }

    #[test]
    fn numbers_are_read_whole_by_year_or_by_sequence() {
        assert_eq!(
            parse_number("AST-2026-000123").unwrap(),
            NumberQuery::Full {
                region: "AST".into(),
                year: 2026,
                seq: 123
            }
        );
        assert_eq!(
            parse_number(" 2026-123 ").unwrap(),
            NumberQuery::YearSeq {
                year: 2026,
                seq: 123
            }
        );
        assert_eq!(parse_number("000123").unwrap(), NumberQuery::Seq(123));
        for bad in ["", "AST-x", "abc", "2026-", &"1".repeat(50)] {
            assert!(
                matches!(
                    parse_number(bad),
                    Err(SearchError::Field {
                        field: "number",
                        ..
                    })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn r03_a_phone_written_any_way_has_one_key() {
        let key = phone_key("+77012345678").unwrap();
        for p in ["8 (701) 234-56-78", "87012345678", "+7 701 234 56 78"] {
            assert_eq!(phone_key(p).as_deref(), Some(key.as_str()), "{p}");
        }
        assert_eq!(phone_key("12").as_deref(), None);
        assert_eq!(phone_key("102-5").as_deref(), None);
        assert_eq!(phone_key("00 12 345").as_deref(), Some("0012345"));
    }

    #[test]
    fn distances_are_metres_on_the_earth() {
        let d = distance_m((51.1283, 71.4305), (51.1283, 71.4305));
        assert!(d.abs() < 1e-6);
        // 0.001° of latitude is about 111 m.
        let d = distance_m((51.0, 71.0), (51.001, 71.0));
        assert!((110.0..112.5).contains(&d), "{d}");
    }

    #[test]
    fn a_search_checks_every_criterion_and_names_the_field() {
        let units = vec![("p01".to_string(), "Беркут-11".to_string())];
        let parse = |raw: RawSearch<'_>| SearchQuery::parse(&raw, &units, 300);
        let q = parse(RawSearch {
            unit: Some("беркут-11"),
            day: Some("2026-05-01"),
            ..Default::default()
        });
        // A call sign in any letter case names the unit.
        assert_eq!(q.unwrap().unit_id.as_deref(), Some("p01"));
        let q = parse(RawSearch {
            unit: Some("p01"),
            day: Some("2026-05-01"),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(q.unit_id.as_deref(), Some("p01"));
        // The region's day: local midnight is 19:00 UTC the day before.
        let (from, to) = q.range.unwrap();
        assert_eq!(to - from, DAY_MS);
        assert_eq!(
            chrono::DateTime::from_timestamp_millis(from)
                .unwrap()
                .to_rfc3339(),
            "2026-04-30T19:00:00+00:00"
        );
        for (raw, field) in [
            (
                RawSearch {
                    phone: Some("12"),
                    ..Default::default()
                },
                "phone",
            ),
            (
                RawSearch {
                    address: Some(",,"),
                    ..Default::default()
                },
                "address",
            ),
            (
                RawSearch {
                    day: Some("01.05.2026"),
                    ..Default::default()
                },
                "day",
            ),
            (
                RawSearch {
                    from: Some("2026-05-02"),
                    to: Some("2026-05-01"),
                    ..Default::default()
                },
                "to",
            ),
            (
                RawSearch {
                    unit: Some("zz"),
                    ..Default::default()
                },
                "unit",
            ),
            (
                RawSearch {
                    state: Some("x"),
                    ..Default::default()
                },
                "state",
            ),
            (
                RawSearch {
                    limit: Some("201"),
                    ..Default::default()
                },
                "limit",
            ),
        ] {
            match parse(raw) {
                Err(SearchError::Field { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
        }
    }

    #[test]
    fn duplicates_rank_the_same_address_first_then_the_nearest() {
        let hit = |n: u64, reasons: &[HitReason], d: Option<f64>| {
            let mut h = CardHit::new(SearchEntry::from(&card(
                n,
                NOW + n as i64,
                CardStatus::New,
                None,
                None,
                None,
                None,
            )));
            h.reasons = reasons.to_vec();
            h.distance_m = d;
            h
        };
        let mut hits = vec![
            hit(1, &[HitReason::SamePhone], None),
            hit(2, &[HitReason::Nearby], Some(120.0)),
            hit(3, &[HitReason::Nearby], Some(20.0)),
            hit(4, &[HitReason::PossibleAddress], None),
            hit(5, &[HitReason::SameAddress, HitReason::Nearby], Some(5.0)),
        ];
        rank_duplicates(&mut hits);
        let order: Vec<_> = hits.iter().map(|h| h.number.clone()).collect();
        assert_eq!(
            order,
            [
                "AST-2026-000005",
                "AST-2026-000004",
                "AST-2026-000003",
                "AST-2026-000002",
                "AST-2026-000001"
            ]
        );
    }

    #[test]
    fn an_edit_moves_the_card_in_the_indexes_and_a_closed_card_is_no_duplicate() {
        let (_dir, store) = store();
        let search = CardSearch::new(store.clone(), matcher(), DuplicatesSection::default());
        let before = card(
            1,
            NOW,
            CardStatus::New,
            Some("+77012345678"),
            Some("ул. Кенесары 40"),
            Some((51.17, 71.41)),
            None,
        );
        write(&store, std::slice::from_ref(&before));
        let q = |phone: &str| DuplicateQuery::parse(None, None, None, Some(phone), None).unwrap();
        assert_eq!(
            search
                .duplicates(&q("87012345678"), NOW + MIN_MS)
                .unwrap()
                .len(),
            1
        );
        // The phone window is 30 minutes.
        assert!(search
            .duplicates(&q("87012345678"), NOW + 31 * MIN_MS)
            .unwrap()
            .is_empty());
        let mut after = before.clone();
        after.caller.phone = Some("+77015550000".into());
        after.location.as_mut().unwrap().address = Some("пр. Абая 52".into());
        after.status = CardStatus::Closed;
        let mut batch = WriteBatch::new();
        crate::kinds::card::stage_card_indexes(&mut batch, Some(&before), &after).unwrap();
        store.apply(batch).unwrap();
        let by = |phone: Option<&str>, address: Option<&str>| {
            let raw = RawSearch {
                phone,
                address,
                ..Default::default()
            };
            let q = SearchQuery::parse(&raw, &[], 300).unwrap();
            search.search(&q, "AST", NOW).unwrap().cards.len()
        };
        assert_eq!(
            by(Some("87012345678"), None),
            0,
            "the old phone no longer finds it"
        );
        assert_eq!(by(Some("87015550000"), None), 1);
        assert_eq!(
            by(None, Some("Кенесары 40")),
            0,
            "the old address no longer finds it"
        );
        assert_eq!(by(None, Some("Абай даңғылы 52")), 1, "R08 aliases");
        assert!(search
            .duplicates(&q("87015550000"), NOW + MIN_MS)
            .unwrap()
            .is_empty());
    }

    /// The figures of a search over many cards (debug build unless run with --release):
    /// `cargo test -p node --lib search::tests::search_over_many_cards -- --ignored --nocapture`
    /// (`SEARCH_BENCH_CARDS`, default 50 000).
    #[test]
    #[ignore]
    fn search_over_many_cards_prints_its_time() {
        let n: u64 = std::env::var("SEARCH_BENCH_CARDS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(50_000);
        let streets = [
            "пр. Республики",
            "ул. Кенесары",
            "пр. Абая",
            "ул. Сарайшык",
            "пр. Мангилик Ел",
            "ул. Бейбитшилик",
            "ул. Достык",
            "пр. Туран",
            "ул. Сыганак",
            "ул. Иманова",
            "ул. Сейфуллина",
            "ул. Ауэзова",
            "ул. Жубанова",
            "пр. Кабанбай батыра",
            "ул. Кунаева",
            "ул. Петрова",
            "ул. Пушкина",
            "ул. Айтеке би",
            "ул. Богенбай батыра",
            "ул. Жумабаева",
        ];
        let (_dir, store) = store();
        let started = std::time::Instant::now();
        let cards: Vec<Card> = (1..=n)
            .map(|i| {
                let street = streets[(i % streets.len() as u64) as usize];
                let house = 1 + (i / 20) % 120;
                let flat = 1 + (i * 7) % 90;
                let status = if i % 100 == 0 {
                    CardStatus::SentForProcessing
                } else {
                    CardStatus::Closed
                };
                card(
                    i,
                    NOW - (n - i) as i64 * 20 * MIN_MS,
                    status,
                    Some(&format!("+7701{:07}", i % 20_000)),
                    Some(&format!("г. Астана, {street}, д. {house}, кв. {flat}")),
                    Some((
                        51.10 + (i % 500) as f64 * 0.0002,
                        71.40 + (i % 300) as f64 * 0.0002,
                    )),
                    Some(&format!("p{:02}", i % 10)),
                )
            })
            .collect();
        write(&store, &cards);
        println!(
            "RESULT search-bench cards={n} index_write_ms={}",
            started.elapsed().as_millis()
        );
        let search = CardSearch::new(store.clone(), matcher(), DuplicatesSection::default());
        let units: Vec<(String, String)> = (0..10)
            .map(|u| (format!("p{u:02}"), format!("cs-p{u:02}")))
            .collect();
        let time = |what: &str, raw: RawSearch<'_>| {
            let q = SearchQuery::parse(&raw, &units, 300).unwrap();
            let t = std::time::Instant::now();
            let r = search.search(&q, "AST", NOW).unwrap();
            println!(
                "RESULT search-bench query={what} found={} more={} ms={:.1}",
                r.cards.len(),
                r.more,
                t.elapsed().as_secs_f64() * 1e3
            );
            r
        };
        let r = time(
            "phone",
            RawSearch {
                phone: Some("8 701 000 12 34"),
                ..Default::default()
            },
        );
        assert!(!r.cards.is_empty());
        let addr = "пр. Республики 24 кв 5";
        let r = time(
            "address_cold",
            RawSearch {
                address: Some(addr),
                ..Default::default()
            },
        );
        assert!(!r.cards.is_empty());
        time(
            "address_warm",
            RawSearch {
                address: Some(addr),
                ..Default::default()
            },
        );
        time(
            "address_open_only",
            RawSearch {
                address: Some(addr),
                state: Some("open"),
                ..Default::default()
            },
        );
        time(
            "number_seq",
            RawSearch {
                number: Some("000123"),
                ..Default::default()
            },
        );
        time(
            "unit",
            RawSearch {
                unit: Some("p03"),
                ..Default::default()
            },
        );
        time(
            "unit_and_closed",
            RawSearch {
                unit: Some("p03"),
                state: Some("closed"),
                ..Default::default()
            },
        );
        time("recent", RawSearch::default());
        let t = std::time::Instant::now();
        let d = DuplicateQuery::parse(
            Some(addr),
            Some("51.12"),
            Some("71.43"),
            Some("87010000123"),
            None,
        )
        .unwrap();
        let found = search.duplicates(&d, NOW).unwrap();
        println!(
            "RESULT search-bench query=duplicates open_cards={} found={} ms={:.1}",
            n / 100,
            found.len(),
            t.elapsed().as_secs_f64() * 1e3
        );
        let t = std::time::Instant::now();
        let related = search
            .related(&SearchEntry::from(cards.last().unwrap()))
            .unwrap();
        println!(
            "RESULT search-bench query=related found={} ms={:.1}",
            related.len(),
            t.elapsed().as_secs_f64() * 1e3
        );
    }
}
