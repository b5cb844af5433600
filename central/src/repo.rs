//! The central hub's document catalogue: every region's documents as bytes in the store, the
//! replication heads index, per-peer knowledge, and the national index the dashboard reads
//! ([`crate::national`]).
//!
//! Key layout (one ordered key space, the same sled store as the node):
//! - `doc/{region}/{kind}/{id}/s` snapshot, `.../c/{n:010}` chunks (compacted after
//!   [`DOC_CHUNKS_MAX`]);
//! - `idx/heads/{region}/{kind}/{id}` → priority byte + sorted heads;
//! - `nat/…` → the national index, written in the same batch as the document it derives from;
//! - `repl/{peer}/r`, `repl/{peer}/h/{doc_id}` → what each region's node is known to hold;
//! - `link/{region}` → the region's last link state ([`crate::hub::StoredLink`]).
//!
//! Imports are applied at once and made durable in one flush before the session acknowledges
//! them ([`server_kit::replication::DurableRepo`]), so a cold sync of many documents shares flushes.

use std::sync::Arc;
use std::time::Instant;

use automerge::{AutoCommit, ChangeHash};
use server_kit::heads::decode_heads;
use server_kit::store::{GroupCommit, Store, StoreError, WriteBatch};
use sync::protocol::{normalize_heads, region_prefix, DocSummary, Priority, Repo, RepoError};
use sync::{Card, CardDoc, Document, Reference};

pub use crate::national::NationalCard;
use crate::national::{self, Counts, DispatchedIndex, NATIONAL_INDEX_VERSION, VERSION_KEY};

/// Incremental chunks per stored document before it is compacted into one snapshot.
pub const DOC_CHUNKS_MAX: usize = 32;
/// Document kinds a region replicates.
pub const DOC_KINDS: [&str; 3] = ["card", "unit", "roster"];
/// Region codes are 1 to this many upper-case latin letters.
pub const REGION_CODE_CHARS_MAX: usize = 8;
/// Cards indexed per write batch while reindexing a store.
pub const REINDEX_BATCH_CARDS: usize = 1_000;
/// Keys deleted per write batch while clearing an outdated national index.
pub const REINDEX_CLEAR_BATCH_KEYS: usize = 10_000;

/// Splits `AST/card/<id>` into `(region, kind, id)`.
pub fn split_doc_id(doc_id: &str) -> Option<(&str, &str, &str)> {
    let mut parts = doc_id.splitn(3, '/');
    let region = parts.next()?;
    let kind = parts.next()?;
    let id = parts.next()?;
    let ok = is_region_code(region)
        && DOC_KINDS.contains(&kind)
        && !id.is_empty()
        && id.len() <= 64
        && !id.contains('/');
    ok.then_some((region, kind, id))
}

/// 1–[`REGION_CODE_CHARS_MAX`] upper-case latin letters.
pub fn is_region_code(region: &str) -> bool {
    !region.is_empty()
        && region.len() <= REGION_CODE_CHARS_MAX
        && region.chars().all(|c| c.is_ascii_uppercase())
}

fn storage(e: StoreError) -> RepoError {
    RepoError::Storage(e.to_string())
}

/// What a reindex found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReindexReport {
    pub docs: u64,
    pub cards: u64,
    /// Stored cards that could not be read; counted as documents, absent from the index.
    pub unreadable_cards: u64,
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
    dispatched: Arc<DispatchedIndex>,
}

impl CentralRepo {
    /// The catalogue over `store`, reindexing the national index from the documents first when
    /// it is missing or of another version (a store written by an older hub). Errors are
    /// storage failures; an unreadable card is logged and left out of the index.
    pub fn open(
        store: Arc<dyn Store>,
        gc: Arc<GroupCommit>,
        reference: Arc<Reference>,
    ) -> Result<Self, RepoError> {
        let repo = Self::unchecked(store, gc, reference);
        if national::stored_version(&*repo.store).map_err(storage)? != Some(NATIONAL_INDEX_VERSION)
        {
            let has_docs = !repo
                .store
                .scan_keys(b"doc/", 1)
                .map_err(storage)?
                .is_empty();
            if has_docs {
                tracing::info!(
                    version = NATIONAL_INDEX_VERSION,
                    "the national index is missing or outdated: reindexing every stored document"
                );
                let started = Instant::now();
                let report = repo.reindex()?;
                tracing::info!(
                    docs = report.docs,
                    cards = report.cards,
                    unreadable_cards = report.unreadable_cards,
                    seconds = started.elapsed().as_secs_f64(),
                    "national index rebuilt"
                );
            }
            repo.mark_current()?;
        }
        let loaded = DispatchedIndex::load(&*repo.store).map_err(storage)?;
        repo.dispatched.replace_with(loaded);
        Ok(repo)
    }

    /// The catalogue over a store that is new or already indexed by this version (tests,
    /// benchmarks). A store with documents but without the current index version is served
    /// with an incomplete national picture: use [`CentralRepo::open`] to reindex it.
    pub fn new(store: Arc<dyn Store>, gc: Arc<GroupCommit>, reference: Arc<Reference>) -> Self {
        let repo = Self::unchecked(store, gc, reference);
        let fresh = repo
            .store
            .scan_keys(b"doc/", 1)
            .map(|k| k.is_empty())
            .unwrap_or(false);
        let current = national::stored_version(&*repo.store)
            .ok()
            .flatten()
            .is_some_and(|v| v == NATIONAL_INDEX_VERSION);
        if fresh && !current {
            if let Err(e) = repo.mark_current() {
                tracing::warn!(error = %e, "the national index version is not stored");
            }
        } else if !current {
            tracing::warn!("the national index is outdated: open the store with CentralRepo::open to reindex it");
        }
        if let Ok(loaded) = DispatchedIndex::load(&*repo.store) {
            repo.dispatched.replace_with(loaded);
        }
        repo
    }

    fn unchecked(store: Arc<dyn Store>, gc: Arc<GroupCommit>, reference: Arc<Reference>) -> Self {
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
            dispatched: Arc::new(DispatchedIndex::default()),
        }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn group_commit(&self) -> &Arc<GroupCommit> {
        &self.gc
    }

    /// Dispatched open cards by last update (the overdue count), shared with the HTTP side.
    pub fn dispatched_index(&self) -> Arc<DispatchedIndex> {
        self.dispatched.clone()
    }

    /// Cards changed since the last call.
    pub fn drain_changed_cards(&mut self) -> Vec<NationalCard> {
        std::mem::take(&mut self.changed_cards)
    }

    fn mark_current(&self) -> Result<(), RepoError> {
        let mut b = WriteBatch::new();
        b.put(VERSION_KEY, NATIONAL_INDEX_VERSION.to_string());
        let ticket = self.gc.apply(b).map_err(storage)?;
        self.gc.wait_durable(ticket).map_err(storage)
    }

    /// Clears `nat/` and indexes every stored document again, region by region, in batches of
    /// [`REINDEX_BATCH_CARDS`] cards. The version marker is removed first and written only
    /// after the rebuilt index is durable, so a crash midway starts the reindex over.
    pub fn reindex(&self) -> Result<ReindexReport, RepoError> {
        let mut clear = WriteBatch::new();
        clear.delete(VERSION_KEY);
        self.gc.apply(clear).map_err(storage)?;
        loop {
            let keys = self
                .store
                .scan_keys(b"nat/", REINDEX_CLEAR_BATCH_KEYS)
                .map_err(storage)?;
            if keys.is_empty() {
                break;
            }
            let mut b = WriteBatch::new();
            for k in keys {
                b.delete(k);
            }
            self.gc.apply(b).map_err(storage)?;
        }
        let mut report = ReindexReport::default();
        let mut last_ticket = None;
        for region in regions_under(&*self.store, "idx/heads/").map_err(storage)? {
            let prefix = format!("idx/heads/{region}/");
            let keys = self
                .store
                .scan_keys(prefix.as_bytes(), usize::MAX)
                .map_err(storage)?;
            let (mut batch, mut counts, mut in_batch) = (WriteBatch::new(), Counts::default(), 0);
            for key in keys {
                let rest = String::from_utf8_lossy(&key[prefix.len()..]).to_string();
                let Some((kind, id)) = rest.split_once('/') else {
                    continue;
                };
                report.docs += 1;
                counts.add(national::region_key(&region), national::DOCS_FIELD, 1);
                if kind != "card" {
                    continue;
                }
                match self.load_card(&region, id) {
                    Ok(card) => {
                        national::stage_card(&*self.store, &mut batch, &mut counts, &region, &card)
                            .map_err(storage)?;
                        report.cards += 1;
                        in_batch += 1;
                    }
                    Err(e) => {
                        tracing::warn!(%region, id, error = %e, "a stored card cannot be read: left out of the national index");
                        report.unreadable_cards += 1;
                    }
                }
                if in_batch >= REINDEX_BATCH_CARDS {
                    std::mem::take(&mut counts)
                        .stage(&*self.store, &mut batch)
                        .map_err(storage)?;
                    self.gc.apply(std::mem::take(&mut batch)).map_err(storage)?;
                    in_batch = 0;
                }
            }
            counts.stage(&*self.store, &mut batch).map_err(storage)?;
            last_ticket = Some(self.gc.apply(batch).map_err(storage)?);
        }
        // Tickets are ordered like the writes: the last one durable means every one is.
        if let Some(t) = last_ticket {
            self.gc.wait_durable(t).map_err(storage)?;
        }
        Ok(report)
    }

    fn load_card(&self, region: &str, id: &str) -> Result<Card, String> {
        let doc = self
            .load(region, "card", id)
            .map_err(|e| e.to_string())?
            .ok_or("the snapshot is missing")?
            .0;
        let card = CardDoc::wrap(doc)
            .view(&self.reference)
            .map_err(|e| e.to_string())?;
        if card.region != region || card.id != id {
            return Err(format!(
                "card {} of region {} is stored as {region}/card/{id}",
                card.id, card.region
            ));
        }
        Ok(card)
    }

    fn load(
        &self,
        region: &str,
        kind: &str,
        id: &str,
    ) -> Result<Option<(AutoCommit, usize)>, RepoError> {
        let prefix = format!("doc/{region}/{kind}/{id}/");
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

    /// Incremental chunks stored after the document's snapshot.
    pub fn doc_chunks(&self, region: &str, kind: &str, id: &str) -> Result<usize, RepoError> {
        Ok(self
            .store
            .scan_keys(
                format!("doc/{region}/{kind}/{id}/c/").as_bytes(),
                usize::MAX,
            )
            .map_err(storage)?
            .len())
    }

    /// Persists a document (`(region, kind, id)`) after a change made at HQ (e.g. a note) or an
    /// import: a snapshot when new (`existing_chunks` is `None`: `incremental` are then all the
    /// bytes `doc` was loaded from, or empty to save `doc`), else the `incremental` bytes as the
    /// next chunk; the national index changes in the same atomic batch. Returns the new
    /// heads. Not durable until [`server_kit::replication::DurableRepo::make_durable`] or a flush.
    pub fn store_doc(
        &mut self,
        (region, kind, id): (&str, &str, &str),
        doc: &mut AutoCommit,
        existing_chunks: Option<usize>,
        incremental: &[u8],
    ) -> Result<Vec<ChangeHash>, RepoError> {
        let mut batch = WriteBatch::new();
        let mut counts = Counts::default();
        let prefix = format!("doc/{region}/{kind}/{id}/");
        match existing_chunks {
            // A new document was loaded from exactly these bytes: store them as its snapshot
            // instead of saving it again (a compressed save cost ~30 µs per card).
            None if !incremental.is_empty() => {
                batch.put(format!("{prefix}s"), incremental.to_vec())
            }
            None => batch.put(format!("{prefix}s"), doc.save()),
            Some(n) if n + 1 > DOC_CHUNKS_MAX => {
                for i in 1..=n {
                    batch.delete(format!("{prefix}c/{i:010}"));
                }
                batch.put(format!("{prefix}s"), doc.save());
            }
            Some(n) => batch.put(format!("{prefix}c/{:010}", n + 1), incremental.to_vec()),
        }
        let heads_key = format!("idx/heads/{region}/{kind}/{id}");
        if self
            .store
            .get(heads_key.as_bytes())
            .map_err(storage)?
            .is_none()
        {
            counts.add(national::region_key(region), national::DOCS_FIELD, 1);
        }
        let heads = normalize_heads(doc.get_heads());
        let mut priority = Priority::Normal;
        let mut staged = None;
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
            staged = Some(
                national::stage_card(&*self.store, &mut batch, &mut counts, region, &card)
                    .map_err(storage)?,
            );
        }
        batch.put(heads_key, server_kit::heads::encode_heads(priority, &heads));
        counts.stage(&*self.store, &mut batch).map_err(storage)?;
        let ticket = self.gc.apply(batch).map_err(storage)?;
        self.pending = Some(ticket);
        if let Some(staged) = staged {
            self.dispatched.update(region, &staged);
            self.changed_cards.push(staged.national);
        }
        Ok(heads)
    }

    fn put(&mut self, key: String, value: Vec<u8>) {
        let mut b = WriteBatch::new();
        b.put(key, value);
        if let Err(e) = self.gc.apply(b) {
            tracing::warn!(error = %e, "replication knowledge not stored");
        }
    }
}

/// Region codes with at least one key under `{prefix}{region}/`, in order. Probes one key per
/// candidate letter instead of listing every key, so finding 20 regions among a million
/// documents reads a few hundred keys and holds none of the others in memory.
pub fn regions_under(store: &dyn Store, prefix: &str) -> Result<Vec<String>, StoreError> {
    fn walk(
        store: &dyn Store,
        prefix: &str,
        code: &mut String,
        out: &mut Vec<String>,
    ) -> Result<(), StoreError> {
        for letter in 'A'..='Z' {
            code.push(letter);
            let here = format!("{prefix}{code}");
            if !store.scan_keys(here.as_bytes(), 1)?.is_empty() {
                if !store
                    .scan_keys(format!("{here}/").as_bytes(), 1)?
                    .is_empty()
                {
                    out.push(code.clone());
                }
                if code.len() < REGION_CODE_CHARS_MAX {
                    walk(store, prefix, code, out)?;
                }
            }
            code.pop();
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(store, prefix, &mut String::new(), &mut out)?;
    Ok(out)
}

impl server_kit::replication::DurableRepo for CentralRepo {
    fn make_durable(&mut self) -> Result<(), StoreError> {
        match self.pending.take() {
            Some(ticket) => self.gc.wait_durable(ticket),
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
            // Uncompressed, as the protocol's `MemRepo::export` explains.
            doc.save_nocompress()
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
        // Try on a fork first: corrupt bytes leave the stored document untouched. A new
        // document needs no trial: loading into an empty one replaces it only on success.
        if chunks.is_some() {
            doc.fork().load_incremental(bytes).map_err(corrupt)?;
        }
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
        server_kit::heads::decode_hashes(&v)
    }

    fn set_peer_heads(&mut self, peer: &str, doc_id: &str, heads: &[ChangeHash]) {
        self.put(
            format!("repl/{peer}/h/{doc_id}"),
            server_kit::heads::encode_hashes(heads),
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
