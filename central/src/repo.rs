//! The central hub's document catalogue: every region's documents as bytes in the store, the
//! replication heads index, per-peer knowledge, and the national card index the dashboard reads.
//!
//! Key layout (one ordered key space, the same sled store as the node):
//! - `doc/{region}/{kind}/{id}/s` snapshot, `.../c/{n:010}` chunks (compacted after
//!   [`DOC_CHUNKS_MAX`]);
//! - `idx/heads/{region}/{kind}/{id}` → priority byte + sorted heads;
//! - `nat/st/{status}/{region}/{id}` → [`NationalCard`] JSON (open cards only);
//!   `nat/card/{region}/{id}` → the card's current status; `nat/hour/{YYYYMMDDHH}/{region}/{id}`
//!   → channel and category (calls per hour); `nat/delay/{region}/{id}` → dispatch and arrival
//!   delays;
//! - `repl/{peer}/r`, `repl/{peer}/h/{doc_id}` → what each region's node is known to hold.
//!
//! Imports are applied at once and made durable in one flush before the session acknowledges
//! them ([`node::replication::DurableRepo`]), so a cold sync of many documents shares flushes.

use std::collections::BTreeMap;
use std::sync::Arc;

use automerge::{AutoCommit, ChangeHash};
use node::service::decode_heads;
use node::store::{GroupCommit, Store, WriteBatch};
use serde::{Deserialize, Serialize};
use sync::protocol::{normalize_heads, region_prefix, DocSummary, Priority, Repo, RepoError};
use sync::{Card, CardDoc, CardSummary, Document, Reference};

/// Incremental chunks per stored document before it is compacted into one snapshot.
pub const DOC_CHUNKS_MAX: usize = 32;
/// Document kinds a region replicates.
pub const DOC_KINDS: [&str; 3] = ["card", "unit", "roster"];

/// An open card in the national queue.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct NationalCard {
    pub region: String,
    #[serde(flatten)]
    pub summary: CardSummary,
}

/// Delays of one card, for the national statistics.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, Default, PartialEq)]
pub struct CardDelays {
    /// Sent for processing → first unit dispatched.
    pub dispatch_ms: Option<i64>,
    /// First unit dispatched → first unit on scene.
    pub arrival_ms: Option<i64>,
}

/// Splits `AST/card/<id>` into `(region, kind, id)`.
pub fn split_doc_id(doc_id: &str) -> Option<(&str, &str, &str)> {
    let mut parts = doc_id.splitn(3, '/');
    let region = parts.next()?;
    let kind = parts.next()?;
    let id = parts.next()?;
    let ok = !region.is_empty()
        && region.len() <= 8
        && region.chars().all(|c| c.is_ascii_uppercase())
        && DOC_KINDS.contains(&kind)
        && !id.is_empty()
        && id.len() <= 64
        && !id.contains('/');
    ok.then_some((region, kind, id))
}

fn heads_value(priority: Priority, heads: &[ChangeHash]) -> Vec<u8> {
    let mut v = Vec::with_capacity(1 + 32 * heads.len());
    v.push(priority as u8);
    for h in heads {
        v.extend_from_slice(&h.0);
    }
    v
}

/// Card delays from its units' times.
pub fn card_delays(card: &Card) -> CardDelays {
    let first_dispatch = card.units.iter().map(|u| u.assigned_at).min();
    let first_arrival = card.units.iter().filter_map(|u| u.on_scene_at).min();
    CardDelays {
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

fn hour_key(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y%m%d%H")
        .to_string()
}

/// The hub's [`Repo`] over its store.
pub struct CentralRepo {
    store: Arc<dyn Store>,
    gc: Arc<GroupCommit>,
    reference: Arc<Reference>,
    repo_id: [u8; 16],
    /// Ticket of the last applied import not yet known to be durable.
    pending: Option<u64>,
    /// Cards changed since the last drain, for live dashboard events.
    changed_cards: Vec<NationalCard>,
}

impl CentralRepo {
    pub fn new(store: Arc<dyn Store>, gc: Arc<GroupCommit>, reference: Arc<Reference>) -> Self {
        let raw = store
            .get(b"meta/store_id")
            .ok()
            .flatten()
            .unwrap_or_default();
        let repo_id = uuid::Uuid::parse_str(&String::from_utf8_lossy(&raw))
            .map(|u| *u.as_bytes())
            .unwrap_or([0; 16]);
        CentralRepo {
            store,
            gc,
            reference,
            repo_id,
            pending: None,
            changed_cards: Vec::new(),
        }
    }

    /// Cards changed since the last call.
    pub fn drain_changed_cards(&mut self) -> Vec<NationalCard> {
        std::mem::take(&mut self.changed_cards)
    }

    fn load(
        &self,
        region: &str,
        kind: &str,
        id: &str,
    ) -> Result<Option<(AutoCommit, usize)>, RepoError> {
        let prefix = format!("doc/{region}/{kind}/{id}/");
        let storage = |e: node::store::StoreError| RepoError::Storage(e.to_string());
        let Some(snapshot) = self
            .store
            .get(format!("{prefix}s").as_bytes())
            .map_err(storage)?
        else {
            return Ok(None);
        };
        let chunks = self
            .store
            .scan_prefix(format!("{prefix}c/").as_bytes())
            .map_err(storage)?;
        let mut doc = AutoCommit::load(&snapshot)
            .map_err(|e| RepoError::Storage(format!("stored {prefix}: {e}")))?;
        for (_, c) in &chunks {
            doc.load_incremental(c)
                .map_err(|e| RepoError::Storage(format!("stored {prefix}: {e}")))?;
        }
        Ok(Some((doc, chunks.len())))
    }

    /// A document of any region, as automerge (for the dashboard's card view and HQ notes).
    pub fn load_doc(
        &self,
        region: &str,
        kind: &str,
        id: &str,
    ) -> Result<Option<AutoCommit>, RepoError> {
        Ok(self.load(region, kind, id)?.map(|(d, _)| d))
    }

    /// Persists a document (`(region, kind, id)`) after a change made at HQ (e.g. a note) or an
    /// import: a snapshot when new (`existing_chunks` is `None`), else the `incremental` bytes as
    /// the next chunk. Returns the new heads. Not durable until
    /// [`node::replication::DurableRepo::make_durable`] or a flush.
    pub fn store_doc(
        &mut self,
        (region, kind, id): (&str, &str, &str),
        doc: &mut AutoCommit,
        existing_chunks: Option<usize>,
        incremental: &[u8],
    ) -> Result<Vec<ChangeHash>, RepoError> {
        let mut batch = WriteBatch::new();
        let prefix = format!("doc/{region}/{kind}/{id}/");
        match existing_chunks {
            None => batch.put(format!("{prefix}s"), doc.save()),
            Some(n) if n + 1 > DOC_CHUNKS_MAX => {
                for i in 1..=n {
                    batch.delete(format!("{prefix}c/{i:010}"));
                }
                batch.put(format!("{prefix}s"), doc.save());
            }
            Some(n) => batch.put(format!("{prefix}c/{:010}", n + 1), incremental.to_vec()),
        }
        let heads = normalize_heads(doc.get_heads());
        let mut priority = Priority::Normal;
        if kind == "card" {
            let card = CardDoc::wrap(doc.fork())
                .view(&self.reference)
                .map_err(|e| RepoError::Refused(format!("not a valid card: {e}")))?;
            if card.region != region || card.id != id {
                return Err(RepoError::Refused(format!(
                    "card {} of region {} stored as {region}/card/{id}",
                    card.id, card.region
                )));
            }
            priority = if card.status.is_open() {
                Priority::Active
            } else {
                Priority::Archived
            };
            self.stage_national(&mut batch, region, &card)?;
        }
        batch.put(
            format!("idx/heads/{region}/{kind}/{id}"),
            heads_value(priority, &heads),
        );
        let ticket = self
            .gc
            .apply(batch)
            .map_err(|e| RepoError::Storage(e.to_string()))?;
        self.pending = Some(ticket);
        Ok(heads)
    }

    fn stage_national(
        &mut self,
        batch: &mut WriteBatch,
        region: &str,
        card: &Card,
    ) -> Result<(), RepoError> {
        let card_key = format!("nat/card/{region}/{}", card.id);
        if let Some(old) = self
            .store
            .get(card_key.as_bytes())
            .map_err(|e| RepoError::Storage(e.to_string()))?
        {
            batch.delete(format!(
                "nat/st/{}/{region}/{}",
                String::from_utf8_lossy(&old),
                card.id
            ));
        } else {
            let value = serde_json::json!({"channel": card.channel, "category": card.category});
            batch.put(
                format!(
                    "nat/hour/{}/{region}/{}",
                    hour_key(card.created_at),
                    card.id
                ),
                value.to_string(),
            );
        }
        batch.put(card_key, card.status.as_str());
        let national = NationalCard {
            region: region.to_string(),
            summary: CardSummary::from(card),
        };
        if card.status.is_open() {
            batch.put(
                format!("nat/st/{}/{region}/{}", card.status.as_str(), card.id),
                serde_json::to_vec(&national).unwrap_or_default(),
            );
        }
        let delays = card_delays(card);
        if delays != CardDelays::default() {
            batch.put(
                format!("nat/delay/{region}/{}", card.id),
                serde_json::to_vec(&delays).unwrap_or_default(),
            );
        }
        self.changed_cards.push(national);
        Ok(())
    }

    fn put(&mut self, key: String, value: Vec<u8>) {
        let mut b = WriteBatch::new();
        b.put(key, value);
        if let Err(e) = self.gc.apply(b) {
            tracing::warn!(error = %e, "replication knowledge not stored");
        }
    }

    /// Number of documents held per region (from the heads index).
    pub fn docs_per_region(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        if let Ok(keys) = self.store.scan_keys(b"idx/heads/", usize::MAX) {
            for k in keys {
                let k = String::from_utf8_lossy(&k[b"idx/heads/".len()..]).to_string();
                if let Some(region) = k.split('/').next() {
                    *out.entry(region.to_string()).or_insert(0) += 1;
                }
            }
        }
        out
    }
}

impl node::replication::DurableRepo for CentralRepo {
    fn make_durable(&mut self) -> Result<(), String> {
        match self.pending.take() {
            Some(ticket) => self.gc.wait_durable(ticket).map_err(|e| e.to_string()),
            None => Ok(()),
        }
    }
}

impl Repo for CentralRepo {
    fn repo_id(&self) -> [u8; 16] {
        self.repo_id
    }

    fn region_of(&self, doc_id: &str) -> Option<String> {
        split_doc_id(doc_id)
            .map(|(r, _, _)| r.to_string())
            .or_else(|| region_prefix(doc_id).map(str::to_string))
    }

    fn docs_in_region(&mut self, region: &str) -> Vec<DocSummary> {
        let prefix = format!("idx/heads/{region}/");
        match self.store.scan_prefix(prefix.as_bytes()) {
            Ok(rows) => rows
                .into_iter()
                .filter_map(|(k, v)| {
                    let rest = String::from_utf8_lossy(&k[prefix.len()..]).to_string();
                    let (priority, heads) = decode_heads(&v)?;
                    Some(DocSummary {
                        doc_id: format!("{region}/{rest}"),
                        heads,
                        priority,
                    })
                })
                .collect(),
            Err(e) => {
                tracing::error!(error = %e, "catalogue unreadable");
                Vec::new()
            }
        }
    }

    fn heads(&mut self, doc_id: &str) -> Option<Vec<ChangeHash>> {
        let (r, k, i) = split_doc_id(doc_id)?;
        let v = self
            .store
            .get(format!("idx/heads/{r}/{k}/{i}").as_bytes())
            .ok()
            .flatten()?;
        decode_heads(&v).map(|(_, h)| h)
    }

    fn priority(&self, doc_id: &str) -> Priority {
        split_doc_id(doc_id)
            .and_then(|(r, k, i)| {
                self.store
                    .get(format!("idx/heads/{r}/{k}/{i}").as_bytes())
                    .ok()
                    .flatten()
            })
            .and_then(|v| decode_heads(&v))
            .map(|(p, _)| p)
            .unwrap_or(Priority::Normal)
    }

    fn has_changes(&mut self, doc_id: &str, hashes: &[ChangeHash]) -> bool {
        let Some((r, k, i)) = split_doc_id(doc_id) else {
            return false;
        };
        match self.load(r, k, i) {
            Ok(Some((mut doc, _))) => hashes.iter().all(|h| doc.get_change_by_hash(h).is_some()),
            _ => false,
        }
    }

    fn export(&mut self, doc_id: &str, since: &[ChangeHash]) -> Result<Vec<u8>, RepoError> {
        let (r, k, i) = split_doc_id(doc_id)
            .ok_or_else(|| RepoError::Refused(format!("bad document id {doc_id}")))?;
        let (mut doc, _) = self
            .load(r, k, i)?
            .ok_or_else(|| RepoError::Refused(format!("{doc_id} is not held here")))?;
        Ok(if since.is_empty() {
            doc.save()
        } else {
            doc.save_after(since)
        })
    }

    fn import(
        &mut self,
        doc_id: &str,
        bytes: &[u8],
        _priority: Option<Priority>,
    ) -> Result<Vec<ChangeHash>, RepoError> {
        let (r, k, i) = split_doc_id(doc_id)
            .ok_or_else(|| RepoError::Refused(format!("bad document id {doc_id}")))?;
        let corrupt = |e: automerge::AutomergeError| RepoError::Corrupt(e.to_string());
        let (mut doc, chunks) = match self.load(r, k, i)? {
            Some((doc, n)) => (doc, Some(n)),
            None => (AutoCommit::new(), None),
        };
        // Try on a fork first: corrupt bytes leave the stored document untouched.
        doc.fork().load_incremental(bytes).map_err(corrupt)?;
        let before = doc.get_heads();
        doc.load_incremental(bytes).map_err(corrupt)?;
        if doc.get_heads() == before && chunks.is_some() {
            return Ok(normalize_heads(before));
        }
        let (region, kind, id) = (r.to_string(), k.to_string(), i.to_string());
        self.store_doc((&region, &kind, &id), &mut doc, chunks, bytes)
    }

    fn peer_record(&mut self, peer: &str) -> Option<Vec<u8>> {
        self.store
            .get(format!("repl/{peer}/r").as_bytes())
            .ok()
            .flatten()
    }

    fn set_peer_record(&mut self, peer: &str, record: &[u8]) {
        self.put(format!("repl/{peer}/r"), record.to_vec());
    }

    fn peer_heads(&mut self, peer: &str, doc_id: &str) -> Option<Vec<ChangeHash>> {
        let v = self
            .store
            .get(format!("repl/{peer}/h/{doc_id}").as_bytes())
            .ok()
            .flatten()?;
        v.len().is_multiple_of(32).then(|| {
            v.chunks(32)
                .map(|c| ChangeHash(c.try_into().expect("32")))
                .collect()
        })
    }

    fn set_peer_heads(&mut self, peer: &str, doc_id: &str, heads: &[ChangeHash]) {
        self.put(
            format!("repl/{peer}/h/{doc_id}"),
            heads.iter().flat_map(|h| h.0).collect(),
        );
    }

    fn clear_peer_heads(&mut self, peer: &str) {
        if let Ok(keys) = self
            .store
            .scan_keys(format!("repl/{peer}/h/").as_bytes(), usize::MAX)
        {
            let mut b = WriteBatch::new();
            for k in keys {
                b.delete(k);
            }
            let _ = self.gc.apply(b);
        }
    }
}
