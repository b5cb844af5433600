//! The replication protocol's view of the terminal's store: only this unit's field documents
//! (`REGION/field/<unit>~…`), kept by the kit's document storage ([`server_kit::docs`]) over the
//! sealed store, with per-peer knowledge under `repl/` as the node and the hub keep it. The
//! protocol's authority rules decide what may be written; this repo holds nothing else.

use std::sync::Arc;

use automerge::{AutoCommit, ChangeHash};
use server_kit::docs::{self, DocError, PeerKnowledge};
use server_kit::replication::DurableRepo;
use server_kit::store::{store_identity, GroupCommit, Store, StoreError, WriteBatch};
use sync::protocol::{normalize_heads, region_prefix, DocSummary, Priority, Repo, RepoError};
use sync::DocId;

/// Incremental chunks per document before it is compacted: a day's log gets one chunk per
/// status, so a busy shift compacts a few times.
pub const TERMINAL_DOC_CHUNKS_MAX: usize = 64;

fn storage(e: StoreError) -> RepoError {
    RepoError::Storage(e.to_string())
}

fn doc_error(e: DocError) -> RepoError {
    RepoError::Storage(e.to_string())
}

/// The unit's documents on the terminal.
pub struct TerminalRepo {
    store: Arc<dyn Store>,
    gc: Arc<GroupCommit>,
    region: String,
    /// `REGION/field/<unit>~`: every id this repo holds starts with it.
    prefix: String,
    repo_id: [u8; 16],
    /// Called with each document id a peer's import changed (the UI shows the new pack).
    on_import: Box<dyn Fn(&str) + Send>,
}

impl TerminalRepo {
    pub fn new(
        store: Arc<dyn Store>,
        gc: Arc<GroupCommit>,
        region: &str,
        unit: &str,
        on_import: Box<dyn Fn(&str) + Send>,
    ) -> Result<TerminalRepo, StoreError> {
        Ok(TerminalRepo {
            repo_id: store_identity(&*store)?,
            store,
            gc,
            region: region.to_string(),
            prefix: unit_prefix(region, unit),
            on_import,
        })
    }

    /// The document, if it is one of this unit's.
    fn own(&self, doc_id: &str) -> Result<DocId, RepoError> {
        if !doc_id.starts_with(&self.prefix) {
            return Err(RepoError::Refused(format!(
                "{doc_id} is not a document of this unit"
            )));
        }
        DocId::parse(doc_id).map_err(|e| RepoError::Refused(e.to_string()))
    }

    fn knowledge(&self) -> PeerKnowledge<'_> {
        PeerKnowledge {
            store: &*self.store,
            gc: &self.gc,
        }
    }
}

/// `REGION/field/<unit>~`: the beginning of every id of a unit's field documents.
pub fn unit_prefix(region: &str, unit: &str) -> String {
    format!("{region}/field/{unit}~")
}

/// The unit's documents in the catalogue.
pub fn unit_catalogue(store: &dyn Store, region: &str, unit: &str) -> Vec<DocSummary> {
    let prefix = unit_prefix(region, unit);
    docs::protocol_catalogue(store, region)
        .into_iter()
        .filter(|d| d.doc_id.starts_with(&prefix))
        .collect()
}

/// Stores `doc` after a change (new when `chunks` is `None`), returning its heads; applied to
/// the group commit, durable after its next flush.
pub fn stage_doc(
    batch: &mut WriteBatch,
    id: &DocId,
    doc: &mut AutoCommit,
    chunks: Option<usize>,
    incremental: Vec<u8>,
    priority: Priority,
) -> Vec<ChangeHash> {
    let heads = normalize_heads(doc.get_heads());
    match chunks {
        None => docs::stage_new(batch, id, doc.save_nocompress(), priority, heads.clone()),
        Some(mut n) => docs::stage_change(
            batch,
            id,
            priority,
            heads.clone(),
            &mut n,
            TERMINAL_DOC_CHUNKS_MAX,
            incremental,
            || doc.save(),
        ),
    }
    heads
}

impl DurableRepo for TerminalRepo {
    fn group_commit(&self) -> Option<Arc<GroupCommit>> {
        Some(self.gc.clone())
    }
}

impl Repo for TerminalRepo {
    fn repo_id(&self) -> [u8; 16] {
        self.repo_id
    }

    fn region_of(&self, doc_id: &str) -> Option<String> {
        region_prefix(doc_id).map(str::to_string)
    }

    fn docs_in_region(&mut self, region: &str) -> Vec<DocSummary> {
        if region != self.region {
            return Vec::new();
        }
        docs::protocol_catalogue(&*self.store, region)
            .into_iter()
            .filter(|d| d.doc_id.starts_with(&self.prefix))
            .collect()
    }

    fn heads(&mut self, doc_id: &str) -> Option<Vec<ChangeHash>> {
        let id = self.own(doc_id).ok()?;
        match docs::heads(&*self.store, &id) {
            Ok(h) => h.map(|(_, h)| h),
            Err(e) => {
                tracing::error!(error = %e, doc_id, "heads index unreadable");
                None
            }
        }
    }

    fn priority(&self, doc_id: &str) -> Priority {
        self.own(doc_id)
            .ok()
            .and_then(|id| docs::heads(&*self.store, &id).ok().flatten())
            .map(|(p, _)| p)
            .unwrap_or(Priority::Normal)
    }

    fn has_changes(&mut self, doc_id: &str, hashes: &[ChangeHash]) -> bool {
        let Ok(id) = self.own(doc_id) else {
            return false;
        };
        match docs::load(&*self.store, &id) {
            Ok(Some((mut doc, _))) => hashes.iter().all(|h| doc.get_change_by_hash(h).is_some()),
            _ => false,
        }
    }

    fn export(&mut self, doc_id: &str, since: &[ChangeHash]) -> Result<Vec<u8>, RepoError> {
        let id = self.own(doc_id)?;
        docs::replica_export(&*self.store, &id, since)
            .map_err(doc_error)?
            .ok_or_else(|| RepoError::Refused(format!("{doc_id} is not held here")))
    }

    fn import(
        &mut self,
        doc_id: &str,
        bytes: &[u8],
        priority: Option<Priority>,
    ) -> Result<Vec<ChangeHash>, RepoError> {
        let id = self.own(doc_id)?;
        let received = docs::replica_receive(&*self.store, &id, bytes)?;
        if !received.changed {
            return Ok(normalize_heads(received.heads_before));
        }
        let docs::Received {
            mut doc, chunks, ..
        } = received;
        let priority = priority.unwrap_or(self.priority(doc_id));
        let mut batch = WriteBatch::new();
        let heads = stage_doc(&mut batch, &id, &mut doc, chunks, bytes.to_vec(), priority);
        self.gc.apply(batch).map_err(storage)?;
        (self.on_import)(doc_id);
        Ok(heads)
    }

    server_kit::repo_peer_knowledge!();
}

/// Why a local write failed.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The input breaks a rule of the document (nothing was written).
    #[error(transparent)]
    Domain(#[from] sync::DomainError),
    #[error("storage: {0}")]
    Storage(String),
}

impl From<StoreError> for WriteError {
    fn from(e: StoreError) -> Self {
        WriteError::Storage(e.to_string())
    }
}

impl TerminalRepo {
    /// This terminal's automerge actor: its store's identity, so that every change it writes
    /// names the same actor (one actor id per document, not one per change).
    pub fn actor(&self) -> automerge::ActorId {
        automerge::ActorId::from(self.repo_id.to_vec())
    }

    /// The group commit the writes go to.
    pub fn group_commit(&self) -> &Arc<GroupCommit> {
        &self.gc
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Applies a local change to one of the unit's documents, created by `create` when absent.
    /// `change` validates before it changes anything: on its error nothing is written. Returns
    /// the group commit's ticket; the write is durable once [`GroupCommit::wait_async`] of it
    /// returns. Runs under the same lock as the session's imports, so a document is never
    /// changed by both at once.
    pub fn write<D: sync::Document>(
        &mut self,
        id: &DocId,
        priority: Priority,
        create: impl FnOnce(automerge::ActorId) -> Result<D, sync::DomainError>,
        change: impl FnOnce(&mut D) -> Result<(), sync::DomainError>,
    ) -> Result<u64, WriteError> {
        self.own(&id.to_string())
            .map_err(|e| WriteError::Storage(e.to_string()))?;
        let actor = self.actor();
        let (mut doc, mut stored) = match docs::load_bytes(&*self.store, id)? {
            Some(bytes) => {
                let mut d = D::load(bytes.iter().map(Vec::as_slice))?;
                d.set_actor(actor);
                (d, docs::Stored::Chunks(bytes.len() - 1))
            }
            None => (create(actor)?, docs::Stored::New),
        };
        change(&mut doc)?;
        let mut batch = WriteBatch::new();
        docs::stage_document(
            &mut batch,
            id,
            &mut doc,
            &mut stored,
            priority,
            TERMINAL_DOC_CHUNKS_MAX,
        );
        Ok(self.gc.apply(batch)?)
    }

    /// One of the unit's documents as `D`, `None` when absent.
    pub fn read<D: sync::Document>(&self, id: &DocId) -> Result<Option<D>, WriteError> {
        match docs::load_bytes(&*self.store, id)? {
            Some(bytes) => Ok(Some(D::load(bytes.iter().map(Vec::as_slice))?)),
            None => Ok(None),
        }
    }

    /// The unit's documents the node does not hold yet as far as this terminal knows (its
    /// acknowledged heads do not cover the local ones): what the link banner counts as pending.
    pub fn pending_docs(&mut self, peer: &str) -> usize {
        let own = self.docs_in_region(&self.region.clone());
        own.into_iter()
            .filter(|d| {
                let known = self.knowledge().heads(peer, &d.doc_id).unwrap_or_default();
                !d.heads.iter().all(|h| known.contains(h))
            })
            .count()
    }
}
