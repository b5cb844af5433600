//! R38 at the hub: the national register's duplicate index, and the answers to regions' queries.
//!
//! Every region's appeals reach the hub as documents `{REGION}/appeal/{id}`. When one first
//! arrives, [`stage`] (called by [`crate::repo`] next to the appeals index) files its fingerprint ([`sync::duplicates`], read from the appeal exactly
//! as the node reads it) in the same batch as the document:
//! - `nat/apd/fp/{region}/{id}` → [`IndexedAppeal`]: the fingerprint, and the registration
//!   (number and time) once the appeal is registered — the only later change, so an appeal is
//!   read again only while it is unregistered;
//! - `nat/apd/k/{key}/{region}/{id}` → empty, one per index key (identity keys and MinHash bands).
//!
//! [`candidates`] looks a query's keys up (never a scan of all appeals), compares each appeal
//! found with the detector, and answers with references only ([`NationalCandidate`]: region, id,
//! number, dates, similarity, reasons). The index lives under `nat/`, so a reindex clears it and
//! rebuilds it with the rest of the national index (the same [`stage`] for every stored appeal).
//!
//! [`QueryServer`] answers the queries regional nodes send on their own QUIC streams of the
//! replication connection ([`sync::protocol::dup_query`]): the asking region comes from the
//! node's certificate, every query is audited (`appeal.national_check`: who asked, which
//! region, which appeal, how many candidates) before it is answered, and a query the hub could
//! not audit is refused.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use server_kit::audit::{AuditInput, AuditLog};
use server_kit::store::{GroupCommit, Store, StoreError, WriteBatch};
use sync::appeal::Appeal;
use sync::duplicates::{self, Fingerprint};
use sync::protocol::dup_query::{
    self, refusal, DupAnswer, DupQueryError, NationalCandidate, ANSWER_CANDIDATES_MAX,
    QUERY_BYTES_MAX,
};
use tokio::sync::Semaphore;

/// Most appeals one index key brings as candidates (a phone shared by an office, a common text
/// band): the rest are not compared. The node's own check uses the same bound.
pub const CANDIDATES_PER_KEY_MAX: usize = 200;
/// Queries the hub works on at once, all regions together; more wait (the node gives up after
/// its own timeout).
pub const QUERIES_IN_FLIGHT_MAX: usize = 16;
/// Longest wait for a query's bytes once its stream is open.
pub const QUERY_READ_TIMEOUT_MS: u64 = 5_000;
/// The audit's action for a national query (the node audits its side under the same name).
pub const AUDIT_ACTION: &str = "appeal.national_check";

const FP_PREFIX: &str = "nat/apd/fp/";
const KEY_PREFIX: &str = "nat/apd/k/";

fn entry_key(region: &str, id: &str) -> String {
    format!("{FP_PREFIX}{region}/{id}")
}

fn index_key(key: &str, region: &str, id: &str) -> String {
    format!("{KEY_PREFIX}{key}/{region}/{id}")
}

/// What the index keeps of one appeal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexedAppeal {
    /// Its number is the registration number once registered (a repeat citing it is then
    /// recognised), else the appeal's id.
    pub fp: Fingerprint,
    #[serde(default)]
    pub number: Option<String>,
    #[serde(default)]
    pub registered_at: Option<i64>,
}

fn read_entry(store: &dyn Store, key: &str) -> Result<Option<IndexedAppeal>, StoreError> {
    Ok(store
        .get(key.as_bytes())?
        .and_then(|b| serde_json::from_slice(&b).ok()))
}

/// Files an appeal that was just imported (read as it will be stored, by
/// [`crate::appeals::read`]) in the batch that stores it: its fingerprint and keys the first
/// time, its registration once.
pub fn stage(store: &dyn Store, batch: &mut WriteBatch, appeal: &Appeal) -> Result<(), StoreError> {
    let (region, id) = (appeal.region.as_str(), appeal.id.as_str());
    let key = entry_key(region, id);
    match read_entry(store, &key)? {
        None => {
            let fp = duplicates::fingerprint(&sync::appeal::duplicate_subject(appeal));
            for k in duplicates::index_keys(&fp) {
                batch.put(index_key(&k, region, id), Vec::new());
            }
            batch.put_json(
                key,
                &IndexedAppeal {
                    fp,
                    number: appeal.number.clone(),
                    registered_at: appeal.registered_at,
                },
            )
        }
        Some(mut e) if e.registered_at.is_none() && appeal.registered_at.is_some() => {
            if let Some(n) = &appeal.number {
                e.fp.number = n.clone();
            }
            e.number = appeal.number.clone();
            e.registered_at = appeal.registered_at;
            batch.put_json(key, &e)
        }
        Some(_) => Ok(()),
    }
}

/// Appeals of other regions than `asking_region` that the appeal with fingerprint `fp` may
/// repeat: received earlier, the detector's candidates, most similar (then newest) first, at
/// most [`ANSWER_CANDIDATES_MAX`]. Key lookups only.
pub fn candidates(
    store: &dyn Store,
    fp: &Fingerprint,
    asking_region: &str,
) -> Result<Vec<NationalCandidate>, StoreError> {
    let mut found = BTreeSet::new();
    for k in duplicates::index_keys(fp) {
        let prefix = format!("{KEY_PREFIX}{k}/");
        for key in store.scan_keys(prefix.as_bytes(), CANDIDATES_PER_KEY_MAX)? {
            let Some(rest) = key
                .get(prefix.len()..)
                .and_then(|r| std::str::from_utf8(r).ok())
            else {
                continue;
            };
            // `{region}/{id}`; a key that itself holds '/' may list a longer key's entries
            // too: the detector decides on them like on any other.
            let mut parts = rest.rsplitn(2, '/');
            let (Some(id), Some(region)) = (parts.next(), parts.next()) else {
                continue;
            };
            let region = region.rsplit('/').next().unwrap_or(region);
            if region != asking_region {
                found.insert((region.to_string(), id.to_string()));
            }
        }
    }
    let mut out = Vec::new();
    for (region, id) in found {
        let Some(earlier) = read_entry(store, &entry_key(&region, &id))? else {
            continue;
        };
        // Only earlier appeals can be repeated.
        if earlier.fp.received_at_ms > fp.received_at_ms {
            continue;
        }
        let Some(m) = duplicates::compare(fp, &earlier.fp) else {
            continue;
        };
        out.push(NationalCandidate {
            region,
            id,
            number: earlier.number,
            received_at: earlier.fp.received_at_ms,
            registered_at: earlier.registered_at,
            similarity: m.similarity,
            reasons: m.reasons,
        });
    }
    out.sort_by(|a, b| {
        b.similarity
            .total_cmp(&a.similarity)
            .then(b.received_at.cmp(&a.received_at))
    });
    out.truncate(ANSWER_CANDIDATES_MAX);
    Ok(out)
}

/// Answers regions' national duplicate queries over their replication connections.
pub struct QueryServer {
    store: Arc<dyn Store>,
    gc: Arc<GroupCommit>,
    audit: Arc<AuditLog>,
    in_flight: Semaphore,
}

impl QueryServer {
    pub fn new(store: Arc<dyn Store>, gc: Arc<GroupCommit>, audit: Arc<AuditLog>) -> Arc<Self> {
        Arc::new(QueryServer {
            store,
            gc,
            audit,
            in_flight: Semaphore::new(QUERIES_IN_FLIGHT_MAX),
        })
    }

    /// Accepts the query streams a region's node opens on `conn` (after its replication
    /// stream) until the connection ends. `region` is the one its certificate names.
    pub async fn serve(self: Arc<Self>, conn: quinn::Connection, region: String) {
        while let Ok((send, recv)) = conn.accept_bi().await {
            tokio::spawn(self.clone().answer(send, recv, region.clone()));
        }
    }

    /// One query: read, look up, audit, answer.
    async fn answer(
        self: Arc<Self>,
        mut send: quinn::SendStream,
        mut recv: quinn::RecvStream,
        region: String,
    ) {
        let started = Instant::now();
        let read = tokio::time::timeout(
            Duration::from_millis(QUERY_READ_TIMEOUT_MS),
            recv.read_to_end(QUERY_BYTES_MAX),
        )
        .await;
        let decoded = match read {
            Ok(Ok(bytes)) => dup_query::decode_query(&bytes),
            Ok(Err(quinn::ReadToEndError::TooLong)) => Err(DupQueryError::TooLarge {
                bytes: QUERY_BYTES_MAX + 1,
                max: QUERY_BYTES_MAX,
            }),
            Ok(Err(e)) => {
                tracing::warn!(%region, error = %e, "a duplicate query stream failed");
                return;
            }
            Err(_) => {
                tracing::warn!(%region, "a duplicate query did not arrive in time");
                let _ = send.reset(0u32.into());
                return;
            }
        };
        let (appeal_id, answer) = match decoded {
            Err(e) => (
                String::new(),
                DupAnswer::Refused {
                    code: e.refusal_code().into(),
                    message: e.to_string(),
                },
            ),
            Ok(q) if q.fingerprint.region != region => (
                q.appeal_id,
                DupAnswer::Refused {
                    code: refusal::NOT_YOUR_REGION.into(),
                    message: format!(
                        "the appeal is of region {}; the node's certificate names {region}",
                        q.fingerprint.region
                    ),
                },
            ),
            Ok(q) => {
                let _permit = self.in_flight.acquire().await;
                let store = self.store.clone();
                let asking = region.clone();
                let looked_up = tokio::task::spawn_blocking(move || {
                    candidates(&*store, &q.fingerprint, &asking)
                })
                .await;
                match looked_up {
                    Ok(Ok(c)) => (q.appeal_id, DupAnswer::Candidates(c)),
                    Ok(Err(e)) => (q.appeal_id, unavailable(e.to_string())),
                    Err(e) => (q.appeal_id, unavailable(e.to_string())),
                }
            }
        };
        let (outcome, count) = match &answer {
            DupAnswer::Candidates(c) => ("answered", c.len()),
            DupAnswer::Refused { code, .. } => (code.as_str(), 0),
        };
        let audited = self
            .audit
            .record_durable(
                &self.gc,
                WriteBatch::new(),
                AuditInput::new(
                    format!("region:{region}"),
                    AUDIT_ACTION,
                    if appeal_id.is_empty() {
                        format!("{region}/appeal/?")
                    } else {
                        format!("{region}/appeal/{appeal_id}")
                    },
                    serde_json::json!({
                        "region": region,
                        "candidates": count,
                        "outcome": outcome,
                        "ms": started.elapsed().as_millis() as u64,
                    }),
                ),
                server_kit::clock::now_ms(),
            )
            .await;
        let answer = match audited {
            Ok(()) => answer,
            Err(e) => {
                tracing::error!(%region, error = %e, "a duplicate query could not be audited: refused");
                unavailable(format!("the query could not be audited: {e}"))
            }
        };
        let bytes = match dup_query::encode_answer(&answer) {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(%region, error = %e, "a duplicate answer could not be encoded");
                match dup_query::encode_answer(&unavailable(e.to_string())) {
                    Ok(b) => b,
                    Err(_) => return,
                }
            }
        };
        if let Err(e) = send.write_all(&bytes).await {
            tracing::warn!(%region, error = %e, "a duplicate answer could not be sent");
            return;
        }
        let _ = send.finish();
        tracing::debug!(%region, appeal_id, candidates = count, ms = started.elapsed().as_millis() as u64, "answered a duplicate query");
    }
}

fn unavailable(message: String) -> DupAnswer {
    DupAnswer::Refused {
        code: refusal::UNAVAILABLE.into(),
        message,
    }
}
