//! The card kind's search entry and indexes, staged with every card write (see
//! [`crate::search`] for the queries that read them).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use sync::address::AddressMatcher;
use sync::{Card, CardStatus, Channel};
use utoipa::ToSchema;

use crate::store::{StoreError, WriteBatch};

/// Key prefix of the search entries: `idx/search/{id}`.
pub const ENTRY_PREFIX: &str = "idx/search/";
/// Fewest digits of a phone query (and of a phone kept as sent in the index).
pub const PHONE_QUERY_DIGITS_MIN: usize = 5;
/// Outcome texts (close reason, patrol report, ...) kept in a search entry, characters.
pub const OUTCOME_TEXT_CHARS_MAX: usize = 300;

/// What a search knows of one card without reading its document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SearchEntry {
    pub id: String,
    pub number: String,
    pub status: CardStatus,
    pub channel: Channel,
    #[serde(default)]
    pub district: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub priority: Option<u8>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub lat: Option<f64>,
    #[serde(default)]
    pub lon: Option<f64>,
    /// The caller's phone in E.164, else as sent.
    #[serde(default)]
    pub phone: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Call signs of every unit ever dispatched to the card.
    #[serde(default)]
    pub units: Vec<String>,
    /// Ids of those units.
    #[serde(default)]
    pub unit_ids: Vec<String>,
    #[serde(default)]
    pub duplicate_of: Option<String>,
    #[serde(default)]
    pub close_reason: Option<String>,
    #[serde(default)]
    pub cancel_reason: Option<String>,
    /// The patrol's report, cut to [`OUTCOME_TEXT_CHARS_MAX`].
    #[serde(default)]
    pub patrol_report: Option<String>,
    #[serde(default)]
    pub close_summary: Option<String>,
    /// When the card was closed, cancelled or linked as a duplicate.
    #[serde(default)]
    pub closed_at: Option<i64>,
}

fn cut(text: &Option<String>) -> Option<String> {
    text.as_deref()
        .map(|t| t.chars().take(OUTCOME_TEXT_CHARS_MAX).collect())
}

impl From<&Card> for SearchEntry {
    fn from(c: &Card) -> Self {
        let location = c.location.as_ref();
        let closed_at = if c.status.is_terminal() {
            c.timeline
                .iter()
                .rev()
                .find(|e| matches!(e.kind.as_str(), "closed" | "cancelled" | "linked_duplicate"))
                .map(|e| e.at)
                .or(Some(c.updated_at))
        } else {
            None
        };
        SearchEntry {
            id: c.id.clone(),
            number: c.number.clone(),
            status: c.status,
            channel: c.channel,
            district: c.district.clone(),
            category: c.category.clone(),
            priority: c.priority,
            address: location.and_then(|l| l.address.clone()),
            lat: location.and_then(|l| l.point()).map(|p| p.0),
            lon: location.and_then(|l| l.point()).map(|p| p.1),
            phone: c
                .caller
                .phone
                .clone()
                .or_else(|| c.caller.phone_raw.clone()),
            created_at: c.created_at,
            updated_at: c.updated_at,
            units: c.units.iter().map(|u| u.call_sign.clone()).collect(),
            unit_ids: c.units.iter().map(|u| u.unit_id.clone()).collect(),
            duplicate_of: c.duplicate_of.clone(),
            close_reason: cut(&c.close_reason),
            cancel_reason: cut(&c.cancel_reason),
            patrol_report: cut(&c.patrol_report),
            close_summary: cut(&c.close_summary),
            closed_at,
        }
    }
}

/// The index key of a phone: E.164 when it reads as a number (`8 (701) 234-56-78` and
/// `+77012345678` are one key), else its digits (at least [`PHONE_QUERY_DIGITS_MIN`]).
pub fn phone_key(raw: &str) -> Option<String> {
    if let Some(p) = sync::caller::normalize_phone(raw) {
        return Some(p);
    }
    let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
    (digits.len() >= PHONE_QUERY_DIGITS_MIN).then_some(digits)
}

/// The parser the house-number index is keyed with: the same on every node and at every write,
/// whatever the region's aliases (the house number does not depend on them).
fn index_matcher() -> &'static AddressMatcher {
    static M: OnceLock<AddressMatcher> = OnceLock::new();
    M.get_or_init(AddressMatcher::default)
}

/// The house-number key of an address in the index (`""` for an address without one).
pub fn house_key(address: &str) -> String {
    index_matcher().parse(address).house_key()
}

fn time_key(prefix: &str, value: &str, created_at: i64, id: &str) -> String {
    format!("{prefix}{value}\0{created_at:020}/{id}")
}

/// The secondary index keys of a card, with their values.
fn index_keys(e: &SearchEntry) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    if let Some(p) = e.phone.as_deref().and_then(phone_key) {
        out.insert(time_key("idx/phone/", &p, e.created_at, &e.id), Vec::new());
    }
    if let Some(a) = e.address.as_deref().filter(|a| !a.trim().is_empty()) {
        out.insert(
            time_key("idx/house/", &house_key(a), e.created_at, &e.id),
            a.as_bytes().to_vec(),
        );
    }
    for u in &e.unit_ids {
        out.insert(time_key("idx/sunit/", u, e.created_at, &e.id), Vec::new());
    }
    if let Some(d) = &e.duplicate_of {
        out.insert(time_key("idx/dupof/", d, e.created_at, &e.id), Vec::new());
    }
    out
}

/// Stages a card's search entry and indexes after a write (`before`: the card as stored, `None`
/// when it is new to this store). Keys that no longer apply are deleted.
pub fn stage_search_indexes(
    batch: &mut WriteBatch,
    before: Option<&Card>,
    after: &Card,
) -> Result<(), StoreError> {
    let entry = SearchEntry::from(after);
    let new_keys = index_keys(&entry);
    let old_keys = before
        .map(|b| index_keys(&SearchEntry::from(b)))
        .unwrap_or_default();
    for k in old_keys.keys().filter(|k| !new_keys.contains_key(*k)) {
        batch.delete(k.clone());
    }
    for (k, v) in new_keys {
        if old_keys.get(&k) != Some(&v) {
            batch.put(k, v);
        }
    }
    batch.put_json(format!("{ENTRY_PREFIX}{}", after.id), &entry)
}
