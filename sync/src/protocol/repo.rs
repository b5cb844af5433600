//! The host's document catalogue as the protocol sees it, and an in-memory implementation.

use std::collections::BTreeMap;

use automerge::{AutoCommit, ChangeHash};

use super::error::RepoError;
use super::types::{normalize_heads, Priority};

/// One document as listed by the catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocSummary {
    pub doc_id: String,
    /// Sorted heads.
    pub heads: Vec<ChangeHash>,
    pub priority: Priority,
}

/// The host's document catalogue: documents, their region and priority, and what each peer is
/// known to hold. Synchronous; in memory or over the node's store.
///
/// Durability contract: when [`Repo::import`] or [`Repo::set_peer_heads`] returns, the data is
/// durable (or will be before anything that depends on it is acknowledged). The session sends an
/// acknowledgement only after `import` returns, and a peer's knowledge is a promise that the
/// peer holds those changes: a store that loses acknowledged changes must get a new
/// [`Repo::repo_id`], which makes every peer forget what it knew about it.
pub trait Repo {
    /// Identity of this store (e.g. the node's `store.id`); changes only if the store is replaced.
    fn repo_id(&self) -> [u8; 16];
    /// Region a document belongs to, for any id, known or not (ids carry their region, or the
    /// catalogue knows). `None` when it cannot tell: such documents are never accepted.
    fn region_of(&self, doc_id: &str) -> Option<String>;
    /// Every document of `region` this store holds.
    fn docs_in_region(&mut self, region: &str) -> Vec<DocSummary>;
    /// Every document whose id starts with `prefix` (a unit's field documents,
    /// `AST/field/p01~`). The default scans the region of the prefix; a catalogue with ordered
    /// ids does better.
    fn docs_with_prefix(&mut self, prefix: &str) -> Vec<DocSummary> {
        let Some(region) = region_prefix(prefix) else {
            return Vec::new();
        };
        let region = region.to_string();
        let mut docs = self.docs_in_region(&region);
        docs.retain(|d| d.doc_id.starts_with(prefix));
        docs
    }
    /// Sorted heads of a document, `None` if absent.
    fn heads(&mut self, doc_id: &str) -> Option<Vec<ChangeHash>>;
    /// Replication priority of a document (active cards first).
    fn priority(&self, doc_id: &str) -> Priority;
    /// Whether every hash names a change this store holds for the document.
    fn has_changes(&mut self, doc_id: &str, hashes: &[ChangeHash]) -> bool;
    /// The whole document (`save_nocompress()`, any chunk form `load` accepts) when `since` is
    /// empty, else `save_after(since)`. Empty output: nothing to send.
    fn export(&mut self, doc_id: &str, since: &[ChangeHash]) -> Result<Vec<u8>, RepoError>;
    /// Applies bytes from a peer (`load_incremental`, creating the document if absent) and
    /// returns the new sorted heads. `priority` is the sender's hint (protocol v2), if any.
    fn import(
        &mut self,
        doc_id: &str,
        bytes: &[u8],
        priority: Option<Priority>,
    ) -> Result<Vec<ChangeHash>, RepoError>;

    /// Small per-peer record kept by the session (the peer's store identity).
    fn peer_record(&mut self, peer: &str) -> Option<Vec<u8>>;
    fn set_peer_record(&mut self, peer: &str, record: &[u8]);
    /// Heads `peer` is known to hold for a document: a lower bound of what it has.
    fn peer_heads(&mut self, peer: &str, doc_id: &str) -> Option<Vec<ChangeHash>>;
    fn set_peer_heads(&mut self, peer: &str, doc_id: &str, heads: &[ChangeHash]);
    /// Forgets everything known about `peer`'s documents.
    fn clear_peer_heads(&mut self, peer: &str);
}

/// Region of a document whose id starts with `REGION/` (the convention used by the simulation
/// and the benchmarks: `AST/card/<uuid>`).
pub fn region_prefix(doc_id: &str) -> Option<&str> {
    let (region, rest) = doc_id.split_once('/')?;
    (!region.is_empty() && !rest.is_empty()).then_some(region)
}

/// A document held by [`MemRepo`].
pub struct MemDoc {
    pub doc: AutoCommit,
    pub priority: Priority,
}

#[derive(Default, Clone)]
struct MemPeer {
    record: Vec<u8>,
    heads: BTreeMap<String, Vec<ChangeHash>>,
}

/// In-memory [`Repo`]: ordered maps of automerge documents and peer knowledge. Regions come from
/// the id prefix (`AST/...`) unless `claim_region` is set, which makes the catalogue report every
/// document as that region (the simulation's compromised node).
pub struct MemRepo {
    id: [u8; 16],
    pub docs: BTreeMap<String, MemDoc>,
    peers: BTreeMap<String, MemPeer>,
    /// Every region lookup answers this region (a tampered catalogue). Tests only.
    pub claim_region: Option<String>,
}

impl MemRepo {
    pub fn new(id: [u8; 16]) -> Self {
        MemRepo {
            id,
            docs: BTreeMap::new(),
            peers: BTreeMap::new(),
            claim_region: None,
        }
    }

    /// Puts or replaces a document written locally.
    pub fn put(&mut self, doc_id: &str, doc: AutoCommit, priority: Priority) {
        self.docs
            .insert(doc_id.to_string(), MemDoc { doc, priority });
    }

    pub fn doc_mut(&mut self, doc_id: &str) -> Option<&mut MemDoc> {
        self.docs.get_mut(doc_id)
    }

    /// Bytes of `save()` over every document: the size a cold sync should approach.
    pub fn saved_bytes_total(&mut self) -> usize {
        self.docs.values_mut().map(|d| d.doc.save().len()).sum()
    }

    /// Number of documents this store knows `peer` holds.
    pub fn known_docs(&self, peer: &str) -> usize {
        self.peers.get(peer).map_or(0, |p| p.heads.len())
    }
}

impl Repo for MemRepo {
    fn repo_id(&self) -> [u8; 16] {
        self.id
    }
    fn region_of(&self, doc_id: &str) -> Option<String> {
        if let Some(r) = &self.claim_region {
            return Some(r.clone());
        }
        region_prefix(doc_id).map(str::to_string)
    }
    fn docs_in_region(&mut self, region: &str) -> Vec<DocSummary> {
        let claim = self.claim_region.clone();
        self.docs
            .iter_mut()
            .filter(|(id, _)| claim.as_deref().or_else(|| region_prefix(id)) == Some(region))
            .map(|(id, d)| DocSummary {
                doc_id: id.clone(),
                heads: normalize_heads(d.doc.get_heads()),
                priority: d.priority,
            })
            .collect()
    }
    fn heads(&mut self, doc_id: &str) -> Option<Vec<ChangeHash>> {
        self.docs
            .get_mut(doc_id)
            .map(|d| normalize_heads(d.doc.get_heads()))
    }
    fn priority(&self, doc_id: &str) -> Priority {
        self.docs
            .get(doc_id)
            .map_or(Priority::Normal, |d| d.priority)
    }
    fn has_changes(&mut self, doc_id: &str, hashes: &[ChangeHash]) -> bool {
        match self.docs.get_mut(doc_id) {
            Some(d) => hashes
                .iter()
                .all(|h| d.doc.get_change_meta_by_hash(h).is_some()),
            None => hashes.is_empty(),
        }
    }
    fn export(&mut self, doc_id: &str, since: &[ChangeHash]) -> Result<Vec<u8>, RepoError> {
        let d = self
            .docs
            .get_mut(doc_id)
            .ok_or_else(|| RepoError::Storage(format!("document {doc_id} vanished")))?;
        Ok(if since.is_empty() {
            // Uncompressed: 5x cheaper to make, and a v3 batch deflates many documents together
            // far better than automerge's per-column deflate of one (see `wire`).
            d.doc.save_nocompress()
        } else {
            d.doc.save_after(since)
        })
    }
    fn import(
        &mut self,
        doc_id: &str,
        bytes: &[u8],
        priority: Option<Priority>,
    ) -> Result<Vec<ChangeHash>, RepoError> {
        match self.docs.get_mut(doc_id) {
            Some(d) => {
                // Apply to a fork first so corrupt bytes leave the stored document untouched.
                let mut trial = d.doc.fork();
                trial
                    .load_incremental(bytes)
                    .map_err(|e| RepoError::Corrupt(e.to_string()))?;
                d.doc
                    .load_incremental(bytes)
                    .map_err(|e| RepoError::Corrupt(e.to_string()))?;
                if let Some(p) = priority {
                    d.priority = p;
                }
                Ok(normalize_heads(d.doc.get_heads()))
            }
            None => {
                let mut doc = AutoCommit::new();
                doc.load_incremental(bytes)
                    .map_err(|e| RepoError::Corrupt(e.to_string()))?;
                let heads = normalize_heads(doc.get_heads());
                self.docs.insert(
                    doc_id.to_string(),
                    MemDoc {
                        doc,
                        priority: priority.unwrap_or(Priority::Normal),
                    },
                );
                Ok(heads)
            }
        }
    }
    fn peer_record(&mut self, peer: &str) -> Option<Vec<u8>> {
        self.peers.get(peer).map(|p| p.record.clone())
    }
    fn set_peer_record(&mut self, peer: &str, record: &[u8]) {
        self.peers.entry(peer.to_string()).or_default().record = record.to_vec();
    }
    fn peer_heads(&mut self, peer: &str, doc_id: &str) -> Option<Vec<ChangeHash>> {
        self.peers.get(peer)?.heads.get(doc_id).cloned()
    }
    fn set_peer_heads(&mut self, peer: &str, doc_id: &str, heads: &[ChangeHash]) {
        self.peers
            .entry(peer.to_string())
            .or_default()
            .heads
            .insert(doc_id.to_string(), heads.to_vec());
    }
    fn clear_peer_heads(&mut self, peer: &str) {
        if let Some(p) = self.peers.get_mut(peer) {
            p.heads.clear();
        }
    }
}
