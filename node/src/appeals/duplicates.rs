//! The duplicate check before registration (R27, R28, R38) over this region's appeals: each
//! appeal's fingerprint ([`sync::duplicates`]) is stored at intake with its index keys
//! (identity and text bands), and a check looks candidates up by those keys, never by scanning
//! every appeal. The national check asks the hub ([`super::national`]); until it has answered
//! the report says that only this region's appeals were checked.

use serde::Serialize;
use sync::appeal::Appeal;
use sync::duplicates::{self, DupSubject, Fingerprint};
use utoipa::ToSchema;

use crate::store::{Store, StoreError, WriteBatch};

/// Most appeals one index key may bring as candidates (a phone shared by an office, a common
/// text band): the rest are not compared.
pub const CANDIDATES_PER_KEY_MAX: usize = 200;
/// Most candidates a report shows.
pub const CANDIDATES_SHOWN_MAX: usize = 20;

pub fn fingerprint_key(id: &str) -> String {
    format!("idx/ap/fp/{id}")
}

pub fn key_entry(key: &str, id: &str) -> String {
    format!("idx/ap/dup/{key}/{id}")
}

/// What the check reads of an appeal: its first applicant and its text (the hub reads it the
/// same way).
pub fn subject(a: &Appeal) -> DupSubject {
    sync::appeal::duplicate_subject(a)
}

/// Stages an appeal's fingerprint and index keys (once: the intake never changes).
pub fn stage(batch: &mut WriteBatch, a: &Appeal) -> Result<(), StoreError> {
    let fp = duplicates::fingerprint(&subject(a));
    for k in duplicates::index_keys(&fp) {
        batch.put(key_entry(&k, &a.id), Vec::new());
    }
    batch.put_json(fingerprint_key(&a.id), &fp)
}

/// One earlier appeal the new one may repeat.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Candidate {
    pub region: String,
    pub id: String,
    /// Its registration number, once registered.
    pub number: Option<String>,
    pub received_at: i64,
    pub registered_at: Option<i64>,
    /// Text similarity, 0..1.
    pub similarity: f32,
    /// `same_iin`, `same_phone`, `same_email`, `same_name_address`, `same_name`,
    /// `similar_text`, `other_language`.
    pub reasons: Vec<String>,
}

impl From<sync::protocol::dup_query::NationalCandidate> for Candidate {
    fn from(c: sync::protocol::dup_query::NationalCandidate) -> Self {
        Candidate {
            region: c.region,
            id: c.id,
            number: c.number,
            received_at: c.received_at,
            registered_at: c.registered_at,
            similarity: c.similarity,
            reasons: c.reasons.iter().map(|r| r.as_str().to_string()).collect(),
        }
    }
}

/// The duplicate check of one appeal.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DuplicateReport {
    /// `region`: only this region's appeals were checked (the hub has not answered or no
    /// national register is configured); `national`: the hub's register too.
    pub scope: String,
    pub candidates: Vec<Candidate>,
}

/// Candidates among this region's appeals for the appeal with fingerprint `fp` (itself
/// excluded), most similar first. `view` reads a candidate appeal by id.
pub fn local_candidates(
    store: &dyn Store,
    self_id: &str,
    fp: &Fingerprint,
    view: impl Fn(&str) -> Option<Appeal>,
) -> Result<Vec<Candidate>, StoreError> {
    let mut ids = std::collections::BTreeSet::new();
    for k in duplicates::index_keys(fp) {
        let prefix = format!("idx/ap/dup/{k}/");
        for key in store.scan_keys(prefix.as_bytes(), CANDIDATES_PER_KEY_MAX)? {
            if let Some(id) = std::str::from_utf8(&key)
                .ok()
                .and_then(|k| k.rsplit('/').next())
            {
                if id != self_id {
                    ids.insert(id.to_string());
                }
            }
        }
    }
    let mut out = Vec::new();
    for id in ids {
        let Some(bytes) = store.get(fingerprint_key(&id).as_bytes())? else {
            continue;
        };
        let Ok(earlier) = serde_json::from_slice::<Fingerprint>(&bytes) else {
            tracing::warn!(id, "an appeal's stored fingerprint is unreadable");
            continue;
        };
        // Only earlier appeals can be repeated.
        if earlier.received_at_ms > fp.received_at_ms {
            continue;
        }
        let Some(m) = duplicates::compare(fp, &earlier) else {
            continue;
        };
        let Some(a) = view(&id) else { continue };
        out.push(Candidate {
            region: a.region,
            id: a.id,
            number: a.number,
            received_at: a.received_at,
            registered_at: a.registered_at,
            similarity: m.similarity,
            reasons: m.reasons.iter().map(|r| r.as_str().to_string()).collect(),
        });
    }
    out.sort_by(|a, b| {
        b.similarity
            .total_cmp(&a.similarity)
            .then(b.received_at.cmp(&a.received_at))
    });
    out.truncate(CANDIDATES_SHOWN_MAX);
    Ok(out)
}
