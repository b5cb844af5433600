//! The central hub's document catalogue: every region's documents as bytes in the store, the
//! replication heads index, per-peer knowledge, and the national index the dashboard reads
//! ([`crate::national`]).
//!
//! Key layout (one ordered key space, the same sled store as the node): documents, the heads
//! index and per-peer knowledge as [`server_kit::docs`] lays them out, and
//! - `nat/…` → the national index, written in the same batch as the document it derives from;
//! - `link/{region}` → the region's last link state ([`crate::hub::StoredLink`]).
//!
//! Imports are applied at once and made durable in one flush before the session acknowledges
//! them ([`server_kit::replication::DurableRepo`]); the session waits for that flush without
//! holding the repo, so a cold sync of many documents, and several regions, share flushes.
//!
//! Each region's session works on its own handle ([`CentralRepo::handle`], held by the hub per
//! region), so regions import in parallel. A region's documents and its part of the national
//! index are only written through its handle; what every region shares — the national counters
//! (calls per hour, delay histograms) — is read, changed and applied under one short lock that
//! is never held across a flush.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use automerge::{AutoCommit, ChangeHash};
use server_kit::docs::{self, DocError, PeerKnowledge, HEADS_PREFIX};
use server_kit::store::{GroupCommit, Store, StoreError, WriteBatch};
use sync::doc_id::REGION_CODE_CHARS_MAX;
use sync::protocol::{normalize_heads, region_prefix, DocSummary, Priority, Repo, RepoError};
use sync::{Card, CardDoc, DocId, DocKind, Document, PublishedDoc, NATIONAL};

use crate::appeals;
pub use crate::national::NationalCard;
use crate::national::{self, Counts, DispatchedIndex, NATIONAL_INDEX_VERSION, VERSION_KEY};
use crate::references::{check_reference, RegionReferences};
use crate::report_1ol::ReportLedger;

/// Cards indexed per write batch while reindexing a store.
pub const REINDEX_BATCH_CARDS: usize = 1_000;
/// Keys deleted per write batch while clearing an outdated national index.
pub const REINDEX_CLEAR_BATCH_KEYS: usize = 10_000;

pub use sync::doc_id::is_region_code;

fn storage(e: StoreError) -> RepoError {
    RepoError::Storage(e.to_string())
}

fn doc_error(e: DocError) -> RepoError {
    RepoError::Storage(e.to_string())
}

fn parse_id(doc_id: &str) -> Result<DocId, RepoError> {
    DocId::parse(doc_id).map_err(|e| RepoError::Refused(e.to_string()))
}

/// What a reindex found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReindexReport {
    pub docs: u64,
    pub cards: u64,
    /// Stored cards that could not be read; counted as documents, absent from the index.
    pub unreadable_cards: u64,
    pub appeals: u64,
    /// Stored appeals that could not be read; absent from the appeals index.
    pub unreadable_appeals: u64,
    /// Reception documents (schedules and records) read into the report 1-ОЛ ledger.
    pub receptions: u64,
}

/// The hub's [`Repo`] over its store.
pub struct CentralRepo {
    store: Arc<dyn Store>,
    gc: Arc<GroupCommit>,
    /// Each region's reference data, updated as its document arrives; cards are read with
    /// their own region's.
    references: RegionReferences,
    /// Incremental chunks per document before compaction.
    chunks_max: usize,
    repo_id: [u8; 16],
    /// Cards changed since the last drain, for live dashboard events (shared by the handles).
    changed_cards: Arc<Mutex<Vec<NationalCard>>>,
    dispatched: Arc<DispatchedIndex>,
    /// Serialises the read-modify-write of national counters every region shares with the
    /// store's apply of the batch holding them (in memory; never across a flush).
    counters: Arc<Mutex<()>>,
    /// The national report 1-ОЛ's reception ledger and issued versions (shared by the handles).
    report_1ol: Arc<ReportLedger>,
}

impl CentralRepo {
    /// The catalogue over `store`, reindexing the national index from the documents first when
    /// it is missing or of another version (a store written by an older hub). Errors are
    /// storage failures; an unreadable card is logged and left out of the index.
    pub fn open(store: Arc<dyn Store>, gc: Arc<GroupCommit>) -> Result<Self, RepoError> {
        Self::open_with_reception_reference(store, gc, None)
    }

    /// [`CentralRepo::open`] with the ЛП-1 reference lists reception records are read with
    /// (`None`: the embedded demo lists, sample data), set before any reindex reads them.
    pub fn open_with_reception_reference(
        store: Arc<dyn Store>,
        gc: Arc<GroupCommit>,
        reception_reference: Option<sync::reception::ReceptionReference>,
    ) -> Result<Self, RepoError> {
        let repo = Self::unchecked(store, gc).map_err(storage)?;
        if let Some(r) = reception_reference {
            repo.report_1ol.set_reception_reference(r);
        }
        // The hub's store always had region-qualified keys; this only records the layout.
        docs::upgrade_layout(&*repo.store, &repo.gc, None).map_err(doc_error)?;
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
                    appeals = report.appeals,
                    unreadable_appeals = report.unreadable_appeals,
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
    pub fn new(store: Arc<dyn Store>, gc: Arc<GroupCommit>) -> Result<Self, RepoError> {
        let repo = Self::unchecked(store, gc).map_err(storage)?;
        let fresh = repo
            .store
            .scan_keys(b"doc/", 1)
            .map_err(storage)?
            .is_empty();
        let current = national::stored_version(&*repo.store).map_err(storage)?
            == Some(NATIONAL_INDEX_VERSION);
        if fresh && !current {
            repo.mark_current()?;
        } else if !current {
            tracing::warn!("the national index is outdated: open the store with CentralRepo::open to reindex it");
        }
        let loaded = DispatchedIndex::load(&*repo.store).map_err(storage)?;
        repo.dispatched.replace_with(loaded);
        Ok(repo)
    }

    fn unchecked(store: Arc<dyn Store>, gc: Arc<GroupCommit>) -> Result<Self, StoreError> {
        let repo_id = server_kit::store::store_identity(&*store)?;
        let regions = regions_under(&*store, HEADS_PREFIX)?;
        let references = RegionReferences::load(&*store, &regions);
        let report_1ol = ReportLedger::load(store.clone(), gc.clone(), references.clone())
            .map_err(|e| StoreError::Flush(format!("the report 1-ОЛ ledger: {e}")))?;
        Ok(CentralRepo {
            report_1ol: Arc::new(report_1ol),
            store,
            gc,
            references,
            chunks_max: docs::DOC_CHUNKS_MAX_DEFAULT,
            repo_id,
            changed_cards: Arc::new(Mutex::new(Vec::new())),
            dispatched: Arc::new(DispatchedIndex::default()),
            counters: Arc::new(Mutex::new(())),
        })
    }

    /// Another handle over the same store, index and shared state, for another region's
    /// session: handles write in parallel, each region's documents through one handle.
    pub fn handle(&self) -> CentralRepo {
        CentralRepo {
            store: self.store.clone(),
            gc: self.gc.clone(),
            references: self.references.clone(),
            chunks_max: self.chunks_max,
            repo_id: self.repo_id,
            changed_cards: self.changed_cards.clone(),
            dispatched: self.dispatched.clone(),
            counters: self.counters.clone(),
            report_1ol: self.report_1ol.clone(),
        }
    }

    /// The national report 1-ОЛ: the reception ledger and the issued versions.
    pub fn report_1ol(&self) -> &Arc<ReportLedger> {
        &self.report_1ol
    }

    /// Compacts stored documents after `chunks_max` incremental chunks (at least 1).
    pub fn with_chunks_max(mut self, chunks_max: usize) -> Self {
        self.chunks_max = chunks_max.max(1);
        self
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn group_commit(&self) -> &Arc<GroupCommit> {
        &self.gc
    }

    /// Every region's reference data as received (shared: it follows later imports).
    pub fn references(&self) -> RegionReferences {
        self.references.clone()
    }

    /// Dispatched open cards by last update (the overdue count), shared with the HTTP side.
    pub fn dispatched_index(&self) -> Arc<DispatchedIndex> {
        self.dispatched.clone()
    }

    /// Cards changed (through any handle) since the last call.
    pub fn drain_changed_cards(&self) -> Vec<NationalCard> {
        std::mem::take(
            &mut *self
                .changed_cards
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }

    fn mark_current(&self) -> Result<(), RepoError> {
        let mut b = WriteBatch::new();
        b.put(VERSION_KEY, NATIONAL_INDEX_VERSION.to_string());
        let ticket = self.gc.apply(b).map_err(storage)?;
        self.gc.wait_durable(ticket).map_err(storage)
    }

    /// Clears `nat/` and indexes every stored document again, region by region, in batches of
    /// [`REINDEX_BATCH_CARDS`] cards and appeals. The version marker is removed first and written only
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
        self.report_1ol
            .clear_entries()
            .map_err(|e| RepoError::Storage(e.to_string()))?;
        let mut report = ReindexReport::default();
        let mut last_ticket = None;
        for region in regions_under(&*self.store, HEADS_PREFIX).map_err(storage)? {
            if region == NATIONAL {
                continue;
            }
            let (mut batch, mut counts, mut in_batch) = (WriteBatch::new(), Counts::default(), 0);
            for entry in docs::catalogue(&*self.store, &region, None).map_err(storage)? {
                report.docs += 1;
                counts.add(national::region_key(&region), national::DOCS_FIELD, 1);
                match entry.id.kind() {
                    DocKind::Appeal => match self.load_appeal(&entry.id) {
                        Ok(a) => {
                            appeals::stage_appeal(&*self.store, &mut batch, &mut counts, &a)
                                .map_err(storage)?;
                            crate::appeal_dups::stage(&*self.store, &mut batch, &a)
                                .map_err(storage)?;
                            report.appeals += 1;
                            in_batch += 1;
                        }
                        Err(e) => {
                            tracing::warn!(doc = %entry.id, error = %e, "a stored appeal cannot be read: left out of the appeals index");
                            report.unreadable_appeals += 1;
                        }
                    },
                    DocKind::Card => {
                        let id = entry.id.id();
                        match self.load_card(&region, id) {
                            Ok(card) => {
                                national::stage_card(
                                    &*self.store,
                                    &mut batch,
                                    &mut counts,
                                    &region,
                                    &card,
                                )
                                .map_err(storage)?;
                                report.cards += 1;
                                in_batch += 1;
                            }
                            Err(e) => {
                                tracing::warn!(%region, id, error = %e, "a stored card cannot be read: left out of the national index");
                                report.unreadable_cards += 1;
                            }
                        }
                    }
                    // A unit's newest position for HQ's map (tracks sort by day: the last wins).
                    DocKind::Field if entry.id.id().contains("~pos~") => {
                        if let Ok(Some(doc)) = self.load_doc(&entry.id) {
                            crate::field_positions::stage(
                                &*self.store,
                                &mut batch,
                                &entry.id.to_string(),
                                &doc,
                            )
                            .map_err(storage)?;
                        }
                    }
                    // The ledger reads the region's schedule from the store when it needs it,
                    // so records and the schedule may come in any order.
                    DocKind::Reception => match self.load_doc(&entry.id) {
                        Ok(Some(mut doc)) => {
                            if let Err(e) =
                                self.report_1ol.reindex_doc(&entry.id, &mut doc, &mut batch)
                            {
                                tracing::warn!(doc = %entry.id, error = %e, "a stored reception document cannot be read: left out of report 1-ОЛ");
                            } else {
                                report.receptions += 1;
                                in_batch += 1;
                            }
                        }
                        _ => {
                            tracing::warn!(doc = %entry.id, "a stored reception document cannot be loaded: left out of report 1-ОЛ");
                        }
                    },
                    DocKind::Meeting => match self.load_doc(&entry.id) {
                        Ok(Some(doc)) => {
                            // Entries of one batch are not in the store yet: a meeting
                            // is reindexed once, so no earlier entry needs to go.
                            if let Err(e) =
                                crate::meetings::stage(&*self.store, &mut batch, &entry.id, &doc)
                            {
                                tracing::warn!(doc = %entry.id, error = %e, "a stored meeting cannot be read: left out of the national table of meetings");
                            } else {
                                in_batch += 1;
                            }
                        }
                        _ => {
                            tracing::warn!(doc = %entry.id, "a stored meeting cannot be loaded: left out of the national table of meetings");
                        }
                    },
                    _ => {}
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
        let doc_id = DocId::new(region, DocKind::Card, id).map_err(|e| e.to_string())?;
        let doc = self
            .load_doc(&doc_id)
            .map_err(|e| e.to_string())?
            .ok_or("the snapshot is missing")?;
        let card = CardDoc::wrap(doc)
            .view(&self.references.get(region))
            .map_err(|e| e.to_string())?;
        if card.region != region || card.id != id {
            return Err(format!(
                "card {} of region {} is stored as {doc_id}",
                card.id, card.region
            ));
        }
        Ok(card)
    }

    fn load_appeal(&self, doc_id: &DocId) -> Result<sync::appeal::Appeal, String> {
        let mut doc = self
            .load_doc(doc_id)
            .map_err(|e| e.to_string())?
            .ok_or("the snapshot is missing")?;
        appeals::read(doc_id, &mut doc)
    }

    /// A document of any region, as automerge (for the dashboard's card view and HQ notes).
    pub fn load_doc(&self, id: &DocId) -> Result<Option<AutoCommit>, DocError> {
        Ok(docs::load(&*self.store, id)?.map(|(d, _)| d))
    }

    /// Incremental chunks stored after the document's snapshot.
    pub fn doc_chunks(&self, id: &DocId) -> Result<usize, StoreError> {
        docs::chunk_count(&*self.store, id)
    }

    /// Persists a document after a change made at HQ (e.g. a note) or an import: a snapshot
    /// when new (`existing_chunks` is `None`: `incremental` are then all the bytes `doc` was
    /// loaded from, or empty to save `doc`), else the `incremental` bytes as the next chunk; the
    /// national index changes in the same atomic batch. Returns the new heads. Not durable until
    /// the group commit's next flush ([`GroupCommit::wait_written`]).
    pub fn store_doc(
        &mut self,
        doc_id: &DocId,
        doc: &mut AutoCommit,
        existing_chunks: Option<usize>,
        incremental: &[u8],
    ) -> Result<Vec<ChangeHash>, RepoError> {
        let (region, id) = (doc_id.region(), doc_id.id());
        let mut batch = WriteBatch::new();
        let mut counts = Counts::default();
        // National documents are the hub's own: no region counts them.
        if existing_chunks.is_none() && !doc_id.is_national() {
            counts.add(national::region_key(region), national::DOCS_FIELD, 1);
        }
        let heads = normalize_heads(doc.get_heads());
        let mut priority = Priority::Normal;
        let mut staged = None;
        let mut received_reference = None;
        if crate::meetings::is_register(doc_id) {
            crate::meetings::check_register(doc_id, doc).map_err(RepoError::Refused)?;
            priority = Priority::Active;
        } else if doc_id.kind() == DocKind::Reference {
            // Checked before it is stored: a region's cards are read with it.
            received_reference = check_reference(doc_id, &PublishedDoc::wrap(doc.fork()))
                .map_err(RepoError::Refused)?;
            priority = Priority::Active;
        }
        if doc_id.kind() == DocKind::Appeal {
            let appeal = appeals::read(doc_id, doc).map_err(RepoError::Refused)?;
            priority = appeals::priority(&appeal);
            appeals::stage_appeal(&*self.store, &mut batch, &mut counts, &appeal)
                .map_err(storage)?;
            crate::appeal_dups::stage(&*self.store, &mut batch, &appeal).map_err(storage)?;
        }
        if doc_id.kind() == DocKind::Card {
            // Read in place: wrapping a fork copied the whole document for every stored card.
            let card = CardDoc::view_of(doc, &self.references.get(region))
                .map_err(|e| RepoError::Refused(format!("not a valid card: {e}")))?;
            if card.region != region || card.id != id {
                return Err(RepoError::Refused(format!(
                    "card {} of region {} stored as {doc_id}",
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
        let mut reception = None;
        if doc_id.kind() == DocKind::Reception {
            reception = self
                .report_1ol
                .stage(doc_id, doc, &mut batch)
                .map_err(RepoError::Refused)?;
        }
        if doc_id.kind() == DocKind::Meeting {
            crate::meetings::stage(&*self.store, &mut batch, doc_id, doc)
                .map_err(RepoError::Refused)?;
        }
        if doc_id.kind() == DocKind::Field {
            crate::field_positions::stage(&*self.store, &mut batch, &doc_id.to_string(), doc)
                .map_err(storage)?;
        }
        match existing_chunks {
            // A new document was loaded from exactly these bytes: store them as its snapshot
            // instead of saving it again (a compressed save cost ~30 µs per card).
            None if !incremental.is_empty() => docs::stage_new(
                &mut batch,
                doc_id,
                incremental.to_vec(),
                priority,
                heads.clone(),
            ),
            None => docs::stage_new(&mut batch, doc_id, doc.save(), priority, heads.clone()),
            Some(mut n) => docs::stage_change(
                &mut batch,
                doc_id,
                priority,
                heads.clone(),
                &mut n,
                self.chunks_max,
                incremental.to_vec(),
                || doc.save(),
            ),
        }
        {
            let _counters = self.counters.lock().unwrap_or_else(PoisonError::into_inner);
            counts.stage(&*self.store, &mut batch).map_err(storage)?;
            self.gc.apply(batch).map_err(storage)?;
        }
        if let Some(received) = received_reference {
            self.references.set(region, received);
        }
        if let Some(staged) = reception {
            self.report_1ol.applied(staged);
        }
        if let Some(staged) = staged {
            self.dispatched.update(region, &staged);
            self.changed_cards
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(staged.national);
        }
        Ok(heads)
    }

    fn knowledge(&self) -> PeerKnowledge<'_> {
        PeerKnowledge {
            store: &*self.store,
            gc: &self.gc,
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

/// Imports are applied at once; the session waits for their flush outside the repo's lock.
impl server_kit::replication::DurableRepo for CentralRepo {
    fn group_commit(&self) -> Option<Arc<GroupCommit>> {
        Some(self.gc.clone())
    }
}

impl Repo for CentralRepo {
    fn repo_id(&self) -> [u8; 16] {
        self.repo_id
    }

    fn region_of(&self, doc_id: &str) -> Option<String> {
        DocId::parse(doc_id)
            .ok()
            .map(|d| d.region().to_string())
            .or_else(|| region_prefix(doc_id).map(str::to_string))
    }

    fn docs_in_region(&mut self, region: &str) -> Vec<DocSummary> {
        docs::protocol_catalogue(&*self.store, region)
    }

    fn heads(&mut self, doc_id: &str) -> Option<Vec<ChangeHash>> {
        let id = DocId::parse(doc_id).ok()?;
        match docs::heads(&*self.store, &id) {
            Ok(h) => h.map(|(_, h)| h),
            Err(e) => {
                tracing::error!(error = %e, doc_id, "heads index unreadable");
                None
            }
        }
    }

    fn priority(&self, doc_id: &str) -> Priority {
        DocId::parse(doc_id)
            .ok()
            .and_then(|id| docs::heads(&*self.store, &id).ok().flatten())
            .map(|(p, _)| p)
            .unwrap_or(Priority::Normal)
    }

    fn has_changes(&mut self, doc_id: &str, hashes: &[ChangeHash]) -> bool {
        let Ok(id) = DocId::parse(doc_id) else {
            return false;
        };
        match docs::load(&*self.store, &id) {
            Ok(Some((mut doc, _))) => hashes.iter().all(|h| doc.get_change_by_hash(h).is_some()),
            _ => false,
        }
    }

    fn export(&mut self, doc_id: &str, since: &[ChangeHash]) -> Result<Vec<u8>, RepoError> {
        let id = parse_id(doc_id)?;
        docs::replica_export(&*self.store, &id, since)
            .map_err(doc_error)?
            .ok_or_else(|| RepoError::Refused(format!("{doc_id} is not held here")))
    }

    fn import(
        &mut self,
        doc_id: &str,
        bytes: &[u8],
        _priority: Option<Priority>,
    ) -> Result<Vec<ChangeHash>, RepoError> {
        let id = parse_id(doc_id)?;
        let received = docs::replica_receive(&*self.store, &id, bytes)?;
        if !received.changed {
            return Ok(normalize_heads(received.heads_before));
        }
        let docs::Received {
            mut doc, chunks, ..
        } = received;
        self.store_doc(&id, &mut doc, chunks, bytes)
    }

    server_kit::repo_peer_knowledge!();
}
