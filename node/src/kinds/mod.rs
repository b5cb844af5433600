//! The node's rules for each kind of replicated document, through one trait: how a document is
//! read (its view), its replication priority, and the indexes and live event that come from
//! that one view of it before and after a write. A write of any kind — a card created here, a
//! command, a change arriving by replication — stages the document and its indexes from those
//! views in one batch, so a new kind (appeal, conversation, article, form, meeting) is one module
//! here with its index rules, not edits in five places.
//!
//! Where a kind's documents live in memory (the card cache, the configured units, the store) is
//! the service's; this module knows the store layout only through `server_kit::docs`.

pub mod appeal;
pub mod article;
pub mod card;
pub mod card_search;
pub mod conversation;
pub mod field;
pub mod meeting;
pub mod numbers;
pub mod published;
pub mod reception;
pub mod roster;
pub mod unit;

use automerge::ChangeHash;
use server_kit::docs::{self, Stored};
use sync::protocol::{normalize_heads, Priority, RepoError};
use sync::{DocId, Document, DomainError};

use crate::live::LiveEvent;
use crate::store::{StoreError, WriteBatch};

/// One kind's rules on the node.
pub trait KindRules {
    /// The automerge document of the kind.
    type Doc: Document;
    /// What the indexes, the priority and the live event are derived from.
    type View;

    /// Reads the document: every index, summary and event comes from this one view.
    fn view(&self, doc: &mut Self::Doc, now_ms: i64) -> Result<Self::View, DomainError>;

    /// Whether a document that arrived under `id` is what the id says (a card of this region
    /// with this id, a calendar year of this year). The reason, when it is not.
    fn check(&self, _id: &DocId, _view: &Self::View) -> Result<(), String> {
        Ok(())
    }

    /// What this node writes into a document it received, before it is viewed and stored (this
    /// region's reference data republished over an older copy). Nothing by default.
    fn after_import(&self, _doc: &mut Self::Doc, _now_ms: i64) -> Result<(), DomainError> {
        Ok(())
    }

    /// Replication priority of the document in this state.
    fn priority(&self, view: &Self::View) -> Priority;

    /// Stages the kind's indexes from the views before (`None`: new to this store) and after
    /// the write, and returns the live event consoles get, if any. None by default: a kind
    /// without indexes is read when asked.
    fn stage_indexes(
        &self,
        _batch: &mut WriteBatch,
        _before: Option<&Self::View>,
        _after: &Self::View,
    ) -> Result<Option<LiveEvent>, StoreError> {
        Ok(None)
    }
}

/// Why a write could not be staged.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// The document does not read as its kind (or is not what its id says).
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// The document is not what its id says ([`KindRules::check`]).
    #[error("{0}")]
    Mismatch(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Stages a document of `rules`' kind after a write (created here, changed by a command, or a
/// replicated change applied): views it once, checks it is what its id says, then stages the
/// document (its snapshot when new,
/// else the next chunk) and the kind's indexes from `before` and that view. Returns the view and
/// the live event; `stored` follows what was staged.
#[allow(clippy::too_many_arguments)]
pub fn stage_write<K: KindRules>(
    rules: &K,
    batch: &mut WriteBatch,
    id: &DocId,
    doc: &mut K::Doc,
    stored: &mut Stored,
    before: Option<&K::View>,
    chunks_max: usize,
    now_ms: i64,
) -> Result<(K::View, Option<LiveEvent>), StageError> {
    let after = rules.view(doc, now_ms)?;
    rules.check(id, &after).map_err(StageError::Mismatch)?;
    docs::stage_document(batch, id, doc, stored, rules.priority(&after), chunks_max);
    let live = rules.stage_indexes(batch, before, &after)?;
    Ok((after, live))
}

/// The document a peer's bytes apply to: the stored one, or for a document new to this store
/// (`Stored::New`) the one the bytes hold, its writes to come under `actor`.
pub fn receiving<D: Document>(
    stored_doc: D,
    stored: Stored,
    bytes: &[u8],
    actor: &automerge::ActorId,
) -> Result<D, RepoError> {
    match stored {
        Stored::Chunks(_) => Ok(stored_doc),
        Stored::New => {
            let mut doc = D::load([bytes]).map_err(|e| RepoError::Refused(e.to_string()))?;
            doc.set_actor(actor.clone());
            Ok(doc)
        }
    }
}

/// Where a replicated change is recorded: the audit log and the group commit it writes
/// through, who brought it (the peer's name) and what it is (`appeal/<id>`, `conv/<id>`, ...).
pub struct ReplicaAudit<'a> {
    pub audit: &'a crate::audit::AuditLog,
    pub gc: &'a crate::store::GroupCommit,
    pub by: &'a str,
    pub target: String,
}

/// What every kind's `replica_import` does under its own lock: applies a peer's `bytes` to
/// `stored` (the stored document and its chunks; `None` when the document is new here, then it
/// is the one the bytes hold, with this node's `actor`), stages it with its indexes
/// ([`import`]) and records `replication.import` in the audit log in the same group-committed
/// write, with `{"bytes": n}` and the kind's own `details` of the document. Returns the write's
/// ticket (wait for it to be durable before answering), what the import did, and the document.
#[allow(clippy::too_many_arguments)]
pub fn import_replica<K: KindRules>(
    rules: &K,
    stored: Option<(K::Doc, Stored)>,
    doc_id: &DocId,
    bytes: &[u8],
    actor: &automerge::ActorId,
    chunks_max: usize,
    now_ms: i64,
    audit: ReplicaAudit<'_>,
    details: impl FnOnce(&mut K::Doc) -> serde_json::Map<String, serde_json::Value>,
) -> Result<(u64, Imported, K::Doc), RepoError> {
    let (mut doc, mut stored) = match stored {
        Some(loaded) => loaded,
        None => {
            let mut doc = K::Doc::load([bytes]).map_err(|e| RepoError::Refused(e.to_string()))?;
            doc.set_actor(actor.clone());
            (doc, Stored::New)
        }
    };
    let mut batch = WriteBatch::new();
    let imported = import(
        rules,
        &mut batch,
        doc_id,
        &mut doc,
        &mut stored,
        bytes,
        chunks_max,
        now_ms,
    )?;
    let mut facts = serde_json::Map::new();
    facts.insert("bytes".into(), bytes.len().into());
    facts.extend(details(&mut doc));
    let ticket = audit
        .audit
        .record(
            audit.gc,
            batch,
            crate::audit::AuditInput::new(
                audit.by,
                "replication.import",
                audit.target,
                serde_json::Value::Object(facts),
            ),
            now_ms,
        )
        .map_err(|e| RepoError::Storage(e.to_string()))?;
    Ok((ticket, imported, doc))
}

/// What a replicated change did: the document's new heads and the event consoles get.
pub struct Imported {
    pub heads: Vec<ChangeHash>,
    pub live: Option<LiveEvent>,
}

/// Applies a peer's bytes to a document of `rules`' kind and stages it with its indexes into
/// `batch`. `doc` is the stored document (`stored` chunks) or, for a document new to this store
/// (`Stored::New`), the one loaded from `bytes`. The bytes are tried on a fork first, so corrupt
/// input leaves a stored document untouched; `stored` follows what was staged.
#[allow(clippy::too_many_arguments)]
pub fn import<K: KindRules>(
    rules: &K,
    batch: &mut WriteBatch,
    id: &DocId,
    doc: &mut K::Doc,
    stored: &mut Stored,
    bytes: &[u8],
    chunks_max: usize,
    now_ms: i64,
) -> Result<Imported, RepoError> {
    let corrupt = |e: automerge::AutomergeError| RepoError::Corrupt(e.to_string());
    let before = match stored {
        Stored::New => None,
        Stored::Chunks(_) => {
            let before = rules
                .view(doc, now_ms)
                .map_err(|e| RepoError::Storage(format!("{id} as stored: {e}")))?;
            doc.automerge()
                .fork()
                .load_incremental(bytes)
                .map_err(corrupt)?;
            doc.automerge().load_incremental(bytes).map_err(corrupt)?;
            Some(before)
        }
    };
    rules
        .after_import(doc, now_ms)
        .map_err(|e| RepoError::Refused(e.to_string()))?;
    let heads = normalize_heads(doc.heads());
    let (_, live) = stage_write(
        rules,
        batch,
        id,
        doc,
        stored,
        before.as_ref(),
        chunks_max,
        now_ms,
    )
    .map_err(|e| match e {
        StageError::Domain(e) => RepoError::Refused(format!("{id}: {e}")),
        StageError::Mismatch(m) => RepoError::Refused(m),
        StageError::Store(e) => RepoError::Storage(e.to_string()),
    })?;
    Ok(Imported { heads, live })
}
