//! Replicated documents at rest, one implementation for the node and the hub: each document's
//! snapshot and incremental chunks, the heads index the replication catalogue reads, per-peer
//! knowledge, and the upgrade of stores written before document ids carried their region.
//!
//! Key layout (layout [`DOC_LAYOUT_VERSION`]):
//! - `doc/{region}/{kind}/{id}/s` the snapshot, `doc/{region}/{kind}/{id}/c/{n:010}` the
//!   incremental chunks after it, folded into a new snapshot when there would be more than the
//!   store's `chunks_max`;
//! - `idx/heads/{region}/{kind}/{id}` → priority byte + sorted heads ([`crate::heads`]): the
//!   catalogue, listed by prefix scan without loading documents;
//! - `repl/{peer}/r` and `repl/{peer}/h/{region}/{kind}/{id}`: what a peer is known to hold.
//!
//! Staging functions add to a caller's [`WriteBatch`], so a document, its indexes and its audit
//! entry are written in one atomic batch.

use automerge::{AutoCommit, ChangeHash};
use sync::protocol::{normalize_heads, Priority};
use sync::{DocId, DocKind};
use thiserror::Error;

use crate::heads::{decode_hashes, decode_heads, encode_hashes, encode_heads};
use crate::store::{GroupCommit, Store, StoreError, WriteBatch};

/// Incremental chunks per stored document before it is compacted, unless configured otherwise.
pub const DOC_CHUNKS_MAX_DEFAULT: usize = 32;
/// The current key layout; stores without `meta/doc_layout` are upgraded on open.
pub const DOC_LAYOUT_VERSION: u32 = 2;
/// Keys moved per atomic batch while upgrading a store's layout.
pub const LAYOUT_UPGRADE_BATCH_KEYS: usize = 1_000;
/// The heads index.
pub const HEADS_PREFIX: &str = "idx/heads/";
const LAYOUT_KEY: &[u8] = b"meta/doc_layout";

/// A stored document that cannot be read back.
#[derive(Debug, Error)]
pub enum DocError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("stored document {doc} is corrupt: {error}")]
    Corrupt { doc: String, error: String },
    #[error("the store's document layout cannot be upgraded: {0}")]
    Layout(String),
}

fn doc_prefix(id: &DocId) -> String {
    format!("doc/{id}/")
}

fn snapshot_key(id: &DocId) -> String {
    format!("doc/{id}/s")
}

fn chunk_key(id: &DocId, n: usize) -> String {
    format!("doc/{id}/c/{n:010}")
}

fn heads_key(id: &DocId) -> String {
    format!("{HEADS_PREFIX}{id}")
}

/// Whether the document is stored.
pub fn exists(store: &dyn Store, id: &DocId) -> Result<bool, StoreError> {
    Ok(store.get(snapshot_key(id).as_bytes())?.is_some())
}

/// The stored bytes of a document, its snapshot first and then its chunks in order; `None` when
/// it is not stored. The number of chunks is `len() - 1`.
pub fn load_bytes(store: &dyn Store, id: &DocId) -> Result<Option<Vec<Vec<u8>>>, StoreError> {
    let Some(snapshot) = store.get(snapshot_key(id).as_bytes())? else {
        return Ok(None);
    };
    let mut out = vec![snapshot];
    for (_, v) in store.scan_prefix(format!("{}c/", doc_prefix(id)).as_bytes())? {
        out.push(v);
    }
    Ok(Some(out))
}

/// A stored document as automerge, with its number of chunks.
pub fn load(store: &dyn Store, id: &DocId) -> Result<Option<(AutoCommit, usize)>, DocError> {
    let Some(bytes) = load_bytes(store, id)? else {
        return Ok(None);
    };
    let corrupt = |e: automerge::AutomergeError| DocError::Corrupt {
        doc: id.to_string(),
        error: e.to_string(),
    };
    let mut doc = AutoCommit::load(&bytes[0]).map_err(corrupt)?;
    for chunk in &bytes[1..] {
        doc.load_incremental(chunk).map_err(corrupt)?;
    }
    Ok(Some((doc, bytes.len() - 1)))
}

/// What [`check_all`] found: documents read, and each one that does not match its catalogue.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct DocCheck {
    pub documents: u64,
    pub problems: Vec<String>,
}

/// Loads every catalogued document and compares the hashes of its heads (automerge heads are
/// hashes of the change graph) with the catalogue's: a restored backup must hold each document
/// whole, exactly as catalogued.
pub fn check_all(store: &dyn Store) -> Result<DocCheck, StoreError> {
    let mut check = DocCheck::default();
    for (key, value) in store.scan_prefix(HEADS_PREFIX.as_bytes())? {
        let name = String::from_utf8_lossy(&key[HEADS_PREFIX.len()..]).to_string();
        check.documents += 1;
        let Ok(id) = DocId::parse(&name) else {
            check
                .problems
                .push(format!("catalogue entry {name} is not a document id"));
            continue;
        };
        let Some((_, catalogued)) = decode_heads(&value) else {
            check
                .problems
                .push(format!("catalogue entry of {name} cannot be decoded"));
            continue;
        };
        match load(store, &id) {
            Ok(Some((mut doc, _))) => {
                if normalize_heads(doc.get_heads()) != normalize_heads(catalogued) {
                    check.problems.push(format!(
                        "document {name} does not have the heads its catalogue entry names"
                    ));
                }
            }
            Ok(None) => check
                .problems
                .push(format!("document {name} is catalogued but not stored")),
            Err(e) => check.problems.push(e.to_string()),
        }
    }
    Ok(check)
}

/// Incremental chunks stored after the document's snapshot.
pub fn chunk_count(store: &dyn Store, id: &DocId) -> Result<usize, StoreError> {
    Ok(store
        .scan_keys(format!("{}c/", doc_prefix(id)).as_bytes(), usize::MAX)?
        .len())
}

/// Stages a new document: its snapshot and its catalogue entry (priority and heads).
pub fn stage_new(
    batch: &mut WriteBatch,
    id: &DocId,
    snapshot: Vec<u8>,
    priority: Priority,
    heads: Vec<ChangeHash>,
) {
    batch.put(snapshot_key(id), snapshot);
    stage_heads(batch, id, priority, heads);
}

/// Stages a change to a stored document that has `*chunks` chunks, with its new catalogue entry:
/// `incremental` as the next chunk, or, when that would make more than `chunks_max`, a fresh
/// `snapshot()` replacing the snapshot and every chunk. Empty `incremental` bytes (nothing
/// changed) stage no chunk.
#[allow(clippy::too_many_arguments)]
pub fn stage_change(
    batch: &mut WriteBatch,
    id: &DocId,
    priority: Priority,
    heads: Vec<ChangeHash>,
    chunks: &mut usize,
    chunks_max: usize,
    incremental: Vec<u8>,
    snapshot: impl FnOnce() -> Vec<u8>,
) {
    if *chunks + 1 > chunks_max {
        for n in 1..=*chunks {
            batch.delete(chunk_key(id, n));
        }
        batch.put(snapshot_key(id), snapshot());
        *chunks = 0;
    } else if !incremental.is_empty() {
        *chunks += 1;
        batch.put(chunk_key(id, *chunks), incremental);
    }
    stage_heads(batch, id, priority, heads);
}

/// A stored document with a peer's bytes applied, for a replication import.
pub struct Received {
    pub doc: AutoCommit,
    /// Chunks stored before (`None`: the document is new to this store).
    pub chunks: Option<usize>,
    /// Heads before the bytes were applied.
    pub heads_before: Vec<ChangeHash>,
    /// The bytes brought something this store lacked (a new document always does).
    pub changed: bool,
}

/// A stored document's bytes for a peer, as the protocol's `Repo::export` gives them: the whole
/// document (uncompressed: deflate costs several times the save, and the batch is deflated as a
/// whole) when `since` is empty, else the changes after `since`. `None`: not stored.
pub fn replica_export(
    store: &dyn Store,
    id: &DocId,
    since: &[ChangeHash],
) -> Result<Option<Vec<u8>>, DocError> {
    Ok(load(store, id)?.map(|(mut doc, _)| {
        if since.is_empty() {
            doc.save_nocompress()
        } else {
            doc.save_after(since)
        }
    }))
}

/// Loads a stored document (or starts an empty one) and applies a peer's bytes to it. The bytes
/// are tried on a fork of a stored document first, so corrupt bytes leave nothing half-applied;
/// a new document needs no trial (loading into an empty one replaces it only on success).
pub fn replica_receive(
    store: &dyn Store,
    id: &DocId,
    bytes: &[u8],
) -> Result<Received, sync::protocol::RepoError> {
    use sync::protocol::RepoError;
    let corrupt = |e: automerge::AutomergeError| RepoError::Corrupt(e.to_string());
    let (mut doc, chunks) = match load(store, id).map_err(|e| RepoError::Storage(e.to_string()))? {
        Some((doc, n)) => (doc, Some(n)),
        None => (AutoCommit::new(), None),
    };
    if chunks.is_some() {
        doc.fork().load_incremental(bytes).map_err(corrupt)?;
    }
    let heads_before = doc.get_heads();
    doc.load_incremental(bytes).map_err(corrupt)?;
    let changed = chunks.is_none() || doc.get_heads() != heads_before;
    Ok(Received {
        doc,
        chunks,
        heads_before,
        changed,
    })
}

/// Stages the removal of a stored document: its snapshot, every chunk and its catalogue entry
/// (a retention period ran out). Peers that hold it keep their copies.
pub fn stage_delete(
    store: &dyn Store,
    batch: &mut WriteBatch,
    id: &DocId,
) -> Result<(), StoreError> {
    for n in 1..=chunk_count(store, id)? {
        batch.delete(chunk_key(id, n));
    }
    batch.delete(snapshot_key(id));
    batch.delete(heads_key(id));
    Ok(())
}

/// Where a document without indexes stands in the store: new, or stored with this many chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    New,
    Chunks(usize),
}

/// Stages a document after a change, with its catalogue entry: its snapshot when new, else the
/// changes since it was loaded or last saved as the next chunk (compacting past `chunks_max`).
/// `stored` then says what the store will hold.
pub fn stage_document(
    batch: &mut WriteBatch,
    id: &DocId,
    doc: &mut impl sync::Document,
    stored: &mut Stored,
    priority: Priority,
    chunks_max: usize,
) {
    let heads = doc.heads();
    match stored {
        // Uncompressed: deflate costs several times the save, and compaction compresses later.
        Stored::New => {
            stage_new(
                batch,
                id,
                doc.automerge().save_nocompress(),
                priority,
                heads,
            );
            *stored = Stored::Chunks(0);
        }
        Stored::Chunks(chunks) => {
            let incremental = doc.save_incremental();
            stage_change(
                batch,
                id,
                priority,
                heads,
                chunks,
                chunks_max,
                incremental,
                || doc.save(),
            )
        }
    }
}

/// Stages the document's catalogue entry: its priority and (sorted) heads.
fn stage_heads(batch: &mut WriteBatch, id: &DocId, priority: Priority, heads: Vec<ChangeHash>) {
    let heads = normalize_heads(heads);
    batch.put(heads_key(id), encode_heads(priority, &heads));
}

/// The document's catalogue entry, `None` when it is not stored.
pub fn heads(
    store: &dyn Store,
    id: &DocId,
) -> Result<Option<(Priority, Vec<ChangeHash>)>, StoreError> {
    Ok(store
        .get(heads_key(id).as_bytes())?
        .and_then(|v| decode_heads(&v)))
}

/// One document in the catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogueEntry {
    pub id: DocId,
    pub priority: Priority,
    pub heads: Vec<ChangeHash>,
}

/// Every stored document of `region` as the replication protocol's catalogue lists it
/// (`sync::protocol::Repo::docs_in_region`); an unreadable index is logged and lists nothing, so
/// the session goes on with what it can read.
pub fn protocol_catalogue(store: &dyn Store, region: &str) -> Vec<sync::protocol::DocSummary> {
    match catalogue(store, region, None) {
        Ok(entries) => entries
            .into_iter()
            .map(|e| sync::protocol::DocSummary {
                doc_id: e.id.to_string(),
                heads: e.heads,
                priority: e.priority,
            })
            .collect(),
        Err(e) => {
            tracing::error!(%region, error = %e, "the replication catalogue is unreadable");
            Vec::new()
        }
    }
}

/// Every stored document whose id starts with `prefix` (a unit's field documents,
/// `AST/field/p01~`), as the protocol's catalogue lists them; unreadable entries are logged and
/// left out.
pub fn protocol_catalogue_prefix(
    store: &dyn Store,
    prefix: &str,
) -> Vec<sync::protocol::DocSummary> {
    let key = format!("{HEADS_PREFIX}{prefix}");
    match store.scan_prefix(key.as_bytes()) {
        Ok(pairs) => pairs
            .into_iter()
            .filter_map(|(k, v)| {
                let doc_id = String::from_utf8(k[HEADS_PREFIX.len()..].to_vec()).ok()?;
                let (priority, heads) = decode_heads(&v)?;
                Some(sync::protocol::DocSummary {
                    doc_id,
                    heads,
                    priority,
                })
            })
            .collect(),
        Err(e) => {
            tracing::error!(%prefix, error = %e, "the replication catalogue is unreadable");
            Vec::new()
        }
    }
}

/// Every stored document of `region` (of one `kind` when given) with its priority and heads,
/// from the heads index. An entry that cannot be decoded is logged and left out: the document
/// itself is still stored, and the next change to it rewrites the entry.
pub fn catalogue(
    store: &dyn Store,
    region: &str,
    kind: Option<DocKind>,
) -> Result<Vec<CatalogueEntry>, StoreError> {
    let prefix = match kind {
        Some(kind) => format!("{HEADS_PREFIX}{region}/{kind}/"),
        None => format!("{HEADS_PREFIX}{region}/"),
    };
    let mut out = Vec::new();
    for (k, v) in store.scan_prefix(prefix.as_bytes())? {
        let key = String::from_utf8_lossy(&k[HEADS_PREFIX.len()..]).to_string();
        match (DocId::parse(&key), decode_heads(&v)) {
            (Ok(id), Some((priority, heads))) => out.push(CatalogueEntry {
                id,
                priority,
                heads,
            }),
            _ => tracing::warn!(
                key,
                "an unreadable heads-index entry is left out of the catalogue"
            ),
        }
    }
    Ok(out)
}

/// Implements the replication protocol's per-peer knowledge methods of `sync::protocol::Repo`
/// (`peer_record`, `set_peer_record`, `peer_heads`, `set_peer_heads`, `clear_peer_heads`) over
/// [`PeerKnowledge`], inside an `impl Repo for …` whose type has
/// `fn knowledge(&self) -> PeerKnowledge<'_>`: the node and the hub keep it the same way.
#[macro_export]
macro_rules! repo_peer_knowledge {
    () => {
        fn peer_record(&mut self, peer: &str) -> Option<Vec<u8>> {
            self.knowledge().record(peer)
        }

        fn set_peer_record(&mut self, peer: &str, record: &[u8]) {
            self.knowledge().set_record(peer, record)
        }

        fn peer_heads(&mut self, peer: &str, doc_id: &str) -> Option<Vec<automerge::ChangeHash>> {
            self.knowledge().heads(peer, doc_id)
        }

        fn set_peer_heads(&mut self, peer: &str, doc_id: &str, heads: &[automerge::ChangeHash]) {
            self.knowledge().set_heads(peer, doc_id, heads)
        }

        fn clear_peer_heads(&mut self, peer: &str) {
            self.knowledge().clear(peer)
        }
    };
}

/// What each peer is known to hold: its session record and, per document, the heads it has
/// acknowledged. Knowledge is a lower bound, so losing an unflushed update only means sending a
/// little more next time: writes do not wait for a flush.
pub struct PeerKnowledge<'a> {
    pub store: &'a dyn Store,
    pub gc: &'a GroupCommit,
}

impl PeerKnowledge<'_> {
    fn put(&self, key: String, value: Vec<u8>) {
        let mut b = WriteBatch::new();
        b.put(key, value);
        if let Err(e) = self.gc.apply(b) {
            tracing::warn!(error = %e, "replication knowledge not stored");
        }
    }

    fn read(&self, key: String) -> Option<Vec<u8>> {
        match self.store.get(key.as_bytes()) {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, key, "replication knowledge not readable");
                None
            }
        }
    }

    pub fn record(&self, peer: &str) -> Option<Vec<u8>> {
        self.read(format!("repl/{peer}/r"))
    }

    pub fn set_record(&self, peer: &str, record: &[u8]) {
        self.put(format!("repl/{peer}/r"), record.to_vec());
    }

    pub fn heads(&self, peer: &str, doc_id: &str) -> Option<Vec<ChangeHash>> {
        decode_hashes(&self.read(format!("repl/{peer}/h/{doc_id}"))?)
    }

    pub fn set_heads(&self, peer: &str, doc_id: &str, heads: &[ChangeHash]) {
        self.put(format!("repl/{peer}/h/{doc_id}"), encode_hashes(heads));
    }

    pub fn clear(&self, peer: &str) {
        let prefix = format!("repl/{peer}/h/");
        match self.store.scan_keys(prefix.as_bytes(), usize::MAX) {
            Ok(keys) => {
                let mut b = WriteBatch::new();
                for k in keys {
                    b.delete(k);
                }
                if let Err(e) = self.gc.apply(b) {
                    tracing::warn!(error = %e, "replication knowledge not cleared");
                }
            }
            Err(e) => tracing::warn!(error = %e, "replication knowledge not readable"),
        }
    }
}

/// What [`upgrade_layout`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LayoutUpgrade {
    /// Keys moved under their region.
    pub keys_moved: u64,
}

/// Whether [`upgrade_layout`] would move keys: the store is of an older layout and holds
/// documents under it (a new or current store only needs its layout recorded).
pub fn needs_layout_upgrade(store: &dyn Store) -> Result<bool, StoreError> {
    if store.get(LAYOUT_KEY)?.as_deref() == Some(DOC_LAYOUT_VERSION.to_string().as_bytes()) {
        return Ok(false);
    }
    for kind in DocKind::ALL {
        for family in ["doc/", HEADS_PREFIX] {
            if !store
                .scan_keys(format!("{family}{kind}/").as_bytes(), 1)?
                .is_empty()
            {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// The layout a store records (1 when it records none).
pub fn stored_layout(store: &dyn Store) -> Result<String, StoreError> {
    Ok(store
        .get(LAYOUT_KEY)?
        .map(|v| String::from_utf8_lossy(&v).to_string())
        .unwrap_or_else(|| "1".into()))
}

/// Brings a store to [`DOC_LAYOUT_VERSION`] before anything reads it. Layout 1 (nodes before
/// 2026-12) stored a region's own documents without the region: `doc/{kind}/{id}/…` and
/// `idx/heads/{kind}/{id}`; they move under `region`. Each batch moves keys atomically (new key
/// written, old key deleted), and the version is written only once every key has moved and is
/// durable, so an upgrade cut short by a crash continues at the next open. A hub's store
/// always had the current layout and only gains the version key.
pub fn upgrade_layout(
    store: &dyn Store,
    gc: &GroupCommit,
    region: Option<&str>,
) -> Result<LayoutUpgrade, DocError> {
    let mut report = LayoutUpgrade::default();
    if let Some(v) = store.get(LAYOUT_KEY)? {
        if v == DOC_LAYOUT_VERSION.to_string().as_bytes() {
            return Ok(report);
        }
    }
    for kind in DocKind::ALL {
        for family in ["doc/", HEADS_PREFIX] {
            let old = format!("{family}{kind}/");
            loop {
                let keys = store.scan_keys(old.as_bytes(), LAYOUT_UPGRADE_BATCH_KEYS)?;
                if keys.is_empty() {
                    break;
                }
                let Some(region) = region else {
                    return Err(DocError::Layout(format!(
                        "the store holds documents without a region ({old}…), which only a node's store of layout 1 has"
                    )));
                };
                let mut batch = WriteBatch::new();
                for k in keys {
                    let Some(value) = store.get(&k)? else {
                        continue;
                    };
                    let rest = String::from_utf8_lossy(&k[family.len()..]).to_string();
                    batch.put(format!("{family}{region}/{rest}"), value);
                    batch.delete(k);
                    report.keys_moved += 1;
                }
                gc.apply(batch)?;
            }
        }
    }
    let mut batch = WriteBatch::new();
    batch.put(LAYOUT_KEY, DOC_LAYOUT_VERSION.to_string());
    let ticket = gc.apply(batch)?;
    gc.wait_durable(ticket)?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::store::SledStore;

    fn store() -> (tempfile::TempDir, Arc<dyn Store>, GroupCommit) {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> =
            Arc::new(SledStore::open(&dir.path().join("db"), 1 << 20).unwrap());
        let gc = GroupCommit::new(store.clone());
        (dir, store, gc)
    }

    fn put(gc: &GroupCommit, key: &str, value: &[u8]) {
        let mut b = WriteBatch::new();
        b.put(key, value.to_vec());
        gc.apply(b).unwrap();
    }

    #[test]
    fn an_upgrade_cut_short_continues_at_the_next_open_and_moves_every_key_once() {
        let (_dir, store, gc) = store();
        let mut doc = AutoCommit::new();
        automerge::transaction::Transactable::put(&mut doc, automerge::ROOT, "n", 1).unwrap();
        let heads = encode_heads(Priority::Active, &normalize_heads(doc.get_heads()));
        // Layout 1, with one document already moved by an upgrade that was cut short.
        put(&gc, "doc/card/a/s", &doc.save());
        put(&gc, "doc/card/a/c/0000000001", b"chunk");
        put(&gc, "idx/heads/card/a", &heads);
        put(&gc, "doc/AST/card/b/s", &doc.save());
        put(&gc, "idx/heads/AST/card/b", &heads);
        put(&gc, "idx/st/new/a", b"{}");

        let report = upgrade_layout(&*store, &gc, Some("AST")).unwrap();
        assert_eq!(report.keys_moved, 3);
        let a = DocId::parse("AST/card/a").unwrap();
        assert_eq!(load_bytes(&*store, &a).unwrap().unwrap().len(), 2);
        assert_eq!(chunk_count(&*store, &a).unwrap(), 1);
        let ids: Vec<String> = catalogue(&*store, "AST", None)
            .unwrap()
            .into_iter()
            .map(|e| e.id.to_string())
            .collect();
        assert_eq!(ids, ["AST/card/a", "AST/card/b"]);
        assert!(store.scan_keys(b"doc/card/", 1).unwrap().is_empty());
        assert!(
            store.get(b"idx/st/new/a").unwrap().is_some(),
            "other indexes stay"
        );
        // Done once: the next open moves nothing, even if a stray old key appeared.
        assert_eq!(
            upgrade_layout(&*store, &gc, Some("AST"))
                .unwrap()
                .keys_moved,
            0
        );
    }

    #[test]
    fn a_hub_store_with_documents_without_a_region_is_refused_not_guessed() {
        let (_dir, store, gc) = store();
        put(&gc, "doc/card/a/s", b"x");
        assert!(matches!(
            upgrade_layout(&*store, &gc, None),
            Err(DocError::Layout(_))
        ));
    }

    #[test]
    fn chunks_are_folded_into_a_snapshot_after_chunks_max() {
        let (_dir, store, gc) = store();
        let id = DocId::parse("AST/unit/p01").unwrap();
        let mut doc = AutoCommit::new();
        let mut b = WriteBatch::new();
        stage_new(&mut b, &id, doc.save(), Priority::Normal, doc.get_heads());
        gc.apply(b).unwrap();
        assert!(catalogue(&*store, "AST", Some(DocKind::Card))
            .unwrap()
            .is_empty());
        let mut chunks = 0;
        for n in 0..5 {
            automerge::transaction::Transactable::put(&mut doc, automerge::ROOT, "n", n).unwrap();
            let mut b = WriteBatch::new();
            let inc = doc.save_incremental();
            let heads = doc.get_heads();
            stage_change(
                &mut b,
                &id,
                Priority::Normal,
                heads,
                &mut chunks,
                3,
                inc,
                || doc.save(),
            );
            gc.apply(b).unwrap();
        }
        // Chunks 1..3, then a snapshot replacing them, then chunk 1 again.
        assert_eq!(chunks, 1);
        assert_eq!(chunk_count(&*store, &id).unwrap(), 1);
        let (mut loaded, n) = load(&*store, &id).unwrap().unwrap();
        assert_eq!(n, 1);
        assert_eq!(loaded.get_heads(), doc.get_heads());
        let listed = catalogue(&*store, "AST", Some(DocKind::Unit)).unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].heads, normalize_heads(doc.get_heads()));
    }
}
