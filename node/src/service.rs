//! The card service: the node's shell around the sans-IO domain core.
//!
//! It owns the documents' life cycle: open cards live in a bounded in-memory cache, everything
//! else is bytes in the store (a snapshot plus incremental chunks, compacted after
//! `doc_chunks_max`). Every change writes, in one atomic batch, the new chunk, the index updates
//! and the audit entry, and is acknowledged only after the group-committed flush.
//!
//! Key layout (one ordered key space):
//! - `doc/card/{id}/s` snapshot, `doc/card/{id}/c/{n:010}` chunks (likewise `doc/unit/`, `doc/roster/`)
//! - `idx/st/{status}/{id}` → card summary JSON (queues without loading documents)
//! - `idx/unit/{unit_id}/{card_id}`, `idx/day/{YYYYMMDD}/{card_id}`
//! - `meta/seq/{year}/{seq:020}` → card id (number allocation and lookup by number)
//! - `meta/idem/card/{login}/{key}` → card id (a console's resent create answers with the first card)

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use automerge::ActorId;
use server_kit::docs::{self, Stored};
use sync::calendar::WorkCalendar;
use sync::card::{dispatch, finish, unassign, unit_step};
use sync::protocol::Priority;
use sync::{
    Card, CardCommand, CardCreate, CardDoc, CardStatus, CardSummary, Ctx, DocId, DocKind, Document,
    DomainError, Finish, Reference, RosterCreate, RosterDoc, RosterEntry, Unit, UnitDoc, UnitKind,
    UnitStep,
};
use tokio::sync::broadcast;

use crate::appeals::AppealService;
use crate::audit::{AuditInput, AuditLog};
use crate::field::store::FieldService;
use crate::kinds::card::{day_key, number_key, number_parts, CardRules};
use crate::kinds::numbers::NumberSequence;
use crate::kinds::roster::RosterRules;
use crate::kinds::unit::UnitRules;
use crate::kinds::{self, Imported};
use crate::live::LiveEvent;
use crate::published::{HeldCalendarYear, PublishedDocs};
use crate::store::{GroupCommit, Store, WriteBatch};
use crate::warnings::{AddressWarnings, FoundWarning, MatchKind};

pub use crate::service_error::{ServiceError, ServiceResult};

/// Limits of the service, each with its unit.
#[derive(Debug, Clone)]
pub struct ServiceLimits {
    /// Open card documents kept loaded in memory.
    pub card_cache_docs_max: usize,
    /// Incremental chunks per document before it is compacted into one snapshot.
    pub doc_chunks_max: usize,
    /// Live events buffered per console connection before a slow one starts missing events.
    pub live_events_buffer_max: usize,
    /// Cards returned by one list query.
    pub list_cards_max: usize,
}

impl Default for ServiceLimits {
    fn default() -> Self {
        Self {
            card_cache_docs_max: 8_192,
            doc_chunks_max: server_kit::docs::DOC_CHUNKS_MAX_DEFAULT,
            live_events_buffer_max: 4_096,
            list_cards_max: 1_000,
        }
    }
}

struct CachedCard {
    doc: CardDoc,
    /// What the store holds of it (its chunk count).
    stored: Stored,
}

/// Loaded card documents: a bounded LRU of recently used ones, plus weak references to every
/// instance still in use. A card evicted from the LRU while a change holds it must not be loaded
/// a second time: two in-memory copies would number their chunks alike and diverge.
struct CardCache {
    lru: lru::LruCache<String, Arc<Mutex<CachedCard>>>,
    live: HashMap<String, Weak<Mutex<CachedCard>>>,
}

impl CardCache {
    fn get(&mut self, id: &str) -> Option<Arc<Mutex<CachedCard>>> {
        if let Some(e) = self.lru.get(id) {
            return Some(e.clone());
        }
        let e = self.live.get(id)?.upgrade()?;
        self.lru.put(id.to_string(), e.clone());
        Some(e)
    }

    /// Inserts `entry` unless another instance is live; returns the instance to use.
    fn insert(&mut self, id: String, entry: Arc<Mutex<CachedCard>>) -> Arc<Mutex<CachedCard>> {
        if let Some(existing) = self.get(&id) {
            return existing;
        }
        if self.live.len() > 2 * self.lru.cap().get() {
            self.live.retain(|_, w| w.strong_count() > 0);
        }
        self.live.insert(id.clone(), Arc::downgrade(&entry));
        self.lru.put(id, entry.clone());
        entry
    }

    /// Drops the strong reference (a closed card leaves memory); an instance still in use stays
    /// reachable through `live` until its holders finish.
    fn evict(&mut self, id: &str) {
        self.lru.pop(id);
    }

    /// Forgets the instance entirely (after a failed write it may hold unsaved operations).
    fn remove(&mut self, id: &str) {
        self.lru.pop(id);
        self.live.remove(id);
    }

    fn len(&self) -> usize {
        self.lru.len()
    }
}

struct CachedUnit {
    doc: UnitDoc,
    /// What the store holds of it (its chunk count).
    stored: Stored,
}

pub struct CardService {
    store: Arc<dyn Store>,
    gc: Arc<GroupCommit>,
    audit: Arc<AuditLog>,
    warnings: Arc<AddressWarnings>,
    reference: Arc<Reference>,
    region: String,
    /// The store's identity, read once at open.
    store_id: [u8; 16],
    actor: ActorId,
    limits: ServiceLimits,
    cards: Mutex<CardCache>,
    units: BTreeMap<String, Arc<Mutex<CachedUnit>>>,
    /// Serialises roster changes (rare; a roster day is one small document).
    roster_lock: Mutex<()>,
    /// This region's reference data and the national calendar years.
    published: PublishedDocs,
    /// The working-day calendar from the published years (the embedded ones for years the hub
    /// has not sent), rebuilt after a calendar year arrives.
    work_calendar: Mutex<Option<Arc<WorkCalendar>>>,
    /// Citizens' appeals.
    appeals: AppealService,
    /// Citizens' text conversations (the inbox's documents).
    conversations: Arc<crate::conversations::ConversationDocs>,
    /// Personal reception: the schedule and the reception records (R31).
    reception: Arc<crate::reception::ReceptionService>,
    /// District inspectors' report meetings (R22–R26).
    meetings: Arc<crate::meetings::MeetingService>,
    /// The knowledge base (R19): articles from the hub and their search index.
    kb: Arc<crate::kb::KnowledgeBase>,
    /// Field units' documents, positions and packs.
    field: FieldService,
    /// Field log entries that arrived and await applying to their cards (by
    /// [`CardService::apply_field_entry`], from the task that takes the receiver).
    field_entries_tx: tokio::sync::mpsc::UnboundedSender<(String, sync::field::FieldEntry)>,
    field_entries_rx:
        Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<(String, sync::field::FieldEntry)>>>,
    seq: NumberSequence,
    events: broadcast::Sender<LiveEvent>,
    pub cards_created: AtomicU64,
    pub card_changes: AtomicU64,
    /// Called with every card this node creates, once it is durable (the R35 caller-location
    /// lookup starts there); set once at wiring.
    card_created_hook: std::sync::OnceLock<CardCreatedHook>,
}

/// See [`CardService::on_card_created`].
pub type CardCreatedHook = Box<dyn Fn(&Card) + Send + Sync>;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

pub use server_kit::heads::{decode_heads, encode_heads};

/// A stored unit document with its chunk count, its writes to come under `actor`.
fn load_unit(store: &dyn Store, id: &DocId, actor: &ActorId) -> ServiceResult<CachedUnit> {
    let bytes = docs::load_bytes(store, id)?
        .ok_or_else(|| ServiceError::NotFound(format!("unit {}", id.id())))?;
    let mut doc = UnitDoc::load(bytes.iter().map(|b| b.as_slice()))?;
    doc.set_actor(actor.clone());
    Ok(CachedUnit {
        doc,
        stored: Stored::Chunks(bytes.len() - 1),
    })
}

impl CardService {
    /// Opens the service over an open store. Loads every unit (they are few) and the card
    /// number sequences.
    #[allow(clippy::too_many_arguments)]
    pub fn open(
        store: Arc<dyn Store>,
        gc: Arc<GroupCommit>,
        audit: Arc<AuditLog>,
        warnings: Arc<AddressWarnings>,
        reference: Arc<Reference>,
        actor: ActorId,
        limits: ServiceLimits,
    ) -> ServiceResult<Self> {
        let region = reference.region.code.clone();
        let upgrade = server_kit::docs::upgrade_layout(&*store, &gc, Some(&region))?;
        if upgrade.keys_moved > 0 {
            tracing::info!(
                keys = upgrade.keys_moved,
                "the store's documents were moved under region {region} (layout {})",
                server_kit::docs::DOC_LAYOUT_VERSION
            );
        }
        let mut units = BTreeMap::new();
        for entry in docs::catalogue(&*store, &region, Some(DocKind::Unit))? {
            units.insert(
                entry.id.id().to_string(),
                Arc::new(Mutex::new(load_unit(&*store, &entry.id, &actor)?)),
            );
        }
        let cache_cap =
            NonZeroUsize::new(limits.card_cache_docs_max.max(1)).unwrap_or(NonZeroUsize::MIN);
        let (events, _) = broadcast::channel(limits.live_events_buffer_max.max(16));
        let published = PublishedDocs::new(
            store.clone(),
            gc.clone(),
            audit.clone(),
            reference.clone(),
            actor.clone(),
            limits.doc_chunks_max,
        );
        let appeals = AppealService::new(
            store.clone(),
            gc.clone(),
            audit.clone(),
            reference.clone(),
            actor.clone(),
            limits.doc_chunks_max,
            events.clone(),
        );
        let conversations = Arc::new(crate::conversations::ConversationDocs::new(
            store.clone(),
            gc.clone(),
            audit.clone(),
            region.clone(),
            actor.clone(),
            limits.doc_chunks_max,
            events.clone(),
        ));
        let reception = Arc::new(crate::reception::ReceptionService::new(
            store.clone(),
            gc.clone(),
            audit.clone(),
            region.clone(),
            reference.region.name_ru.clone(),
            actor.clone(),
            limits.doc_chunks_max,
            Arc::new(sync::reception::ReceptionReference::demo()),
            events.clone(),
        ));
        let meetings = Arc::new(crate::meetings::MeetingService::new(
            store.clone(),
            gc.clone(),
            audit.clone(),
            region.clone(),
            actor.clone(),
            limits.doc_chunks_max,
            Arc::new(sync::meetings::BeatsReference::demo()),
            events.clone(),
        ));
        let field = FieldService::new(
            store.clone(),
            gc.clone(),
            audit.clone(),
            actor.clone(),
            region.clone(),
            limits.doc_chunks_max,
        );
        field.load_latest(server_kit::clock::now_ms())?;
        let kb = crate::kb::KnowledgeBase::open(
            store.clone(),
            gc.clone(),
            audit.clone(),
            actor.clone(),
            limits.doc_chunks_max,
        )
        .map_err(|e| crate::store::StoreError::Io(e.to_string()))?;
        let (field_entries_tx, field_entries_rx) = tokio::sync::mpsc::unbounded_channel();
        Ok(Self {
            seq: NumberSequence::new(crate::kinds::card::NUMBER_PREFIX, &region),
            work_calendar: Mutex::new(None),
            appeals,
            conversations,
            reception,
            meetings,
            kb: Arc::new(kb),
            field,
            field_entries_tx,
            field_entries_rx: Mutex::new(Some(field_entries_rx)),
            store_id: crate::store::store_identity(&*store)?,
            region,
            store,
            gc,
            audit,
            warnings,
            reference,
            actor,
            limits,
            cards: Mutex::new(CardCache {
                lru: lru::LruCache::new(cache_cap),
                live: HashMap::new(),
            }),
            units,
            roster_lock: Mutex::new(()),
            published,
            events,
            cards_created: AtomicU64::new(0),
            card_changes: AtomicU64::new(0),
            card_created_hook: std::sync::OnceLock::new(),
        })
    }

    pub fn reference(&self) -> &Reference {
        &self.reference
    }

    /// The knowledge base (R19).
    pub fn kb(&self) -> &Arc<crate::kb::KnowledgeBase> {
        &self.kb
    }

    /// The unit kind's rules on this node.
    fn unit_rules(&self) -> UnitRules<'_> {
        UnitRules {
            reference: &self.reference,
        }
    }

    /// The card kind's rules on this node: its region, read with its reference data.
    fn card_rules(&self) -> CardRules<'_> {
        CardRules {
            reference: &self.reference,
            region: &self.region,
        }
    }

    /// Publishes this region's reference data when the stored copy differs from the
    /// configuration (every start), so that the hub reads this region's cards with it.
    pub async fn publish_reference(&self, now_ms: i64) -> ServiceResult<bool> {
        Ok(self.published.publish_reference(now_ms).await?)
    }

    /// Publishes the region's beats register (from the meetings' beats reference) when it
    /// changed (every start), for HQ's national table of report meetings (R22).
    pub async fn publish_beats(&self, now_ms: i64) -> ServiceResult<bool> {
        let beats = self.meetings().reference();
        Ok(self.published.publish_beats(&beats, now_ms).await?)
    }

    /// The national working-day calendar years received from the hub, by year.
    pub fn calendar_years(&self) -> ServiceResult<Vec<HeldCalendarYear>> {
        Ok(self.published.calendar_years()?)
    }

    /// The working-day calendar deadlines are counted on: every year the hub published, and
    /// for a year it has not (a node that never reached the hub) the embedded year, the same
    /// file the hub publishes first. A year in neither is a visible error where it is needed.
    pub fn work_calendar(&self) -> ServiceResult<Arc<WorkCalendar>> {
        let mut held = lock(&self.work_calendar);
        if let Some(c) = held.as_ref() {
            return Ok(c.clone());
        }
        let mut years: BTreeMap<i32, sync::calendar::CalendarYear> =
            sync::calendar::embedded_years()
                .map_err(|e| DomainError::CorruptDocument(format!("embedded calendar: {e}")))?
                .into_iter()
                .map(|y| (y.year, y))
                .collect();
        for y in self.published.calendar_years()? {
            years.insert(y.calendar.year, y.calendar);
        }
        let cal = Arc::new(
            WorkCalendar::new(years.values())
                .map_err(|e| DomainError::CorruptDocument(format!("calendar: {e}")))?,
        );
        *held = Some(cal.clone());
        Ok(cal)
    }

    /// Citizens' appeals of this region.
    pub fn field(&self) -> &FieldService {
        &self.field
    }

    /// The field log entries that arrive from terminals, for the one task that applies them
    /// (`None` once taken).
    pub fn take_field_entries(
        &self,
    ) -> Option<tokio::sync::mpsc::UnboundedReceiver<(String, sync::field::FieldEntry)>> {
        lock(&self.field_entries_rx).take()
    }

    /// Queues every log entry of the last days for applying (node start: a crash between a
    /// log's import and its application leaves entries unapplied; applying is idempotent).
    pub fn requeue_field_entries(&self, now_ms: i64) -> ServiceResult<usize> {
        let entries = self.field.recent_entries(now_ms)?;
        let n = entries.len();
        for e in entries {
            let _ = self.field_entries_tx.send(e);
        }
        Ok(n)
    }

    /// Applies a unit's field log entry to its card (FieldTerminal → card, at the entry's own
    /// time; once). An entry for a card this node does not hold, or from a unit it does not
    /// know, is logged and dropped: the log keeps it.
    pub async fn apply_field_entry(
        &self,
        unit_id: &str,
        entry: &sync::field::FieldEntry,
        now_ms: i64,
    ) -> ServiceResult<sync::card::FieldApplied> {
        let Some(card_id) = entry.card_id.clone() else {
            return Ok(sync::card::FieldApplied::Applied);
        };
        entry.validate(now_ms.max(entry.at_ms))?;
        let reference = self.reference.clone();
        let ctx = Ctx::new(entry.by.clone(), unit_id.to_string(), entry.at_ms);
        let kind = match &entry.body {
            sync::field::FieldEntryBody::Status { status } => status.as_str(),
            sync::field::FieldEntryBody::Report { .. } => "report",
            sync::field::FieldEntryBody::Note { .. } => "note",
        };
        let (_, applied) = self
            .change_card(
                &format!("{}@{unit_id}", entry.by),
                &card_id,
                &[unit_id.to_string()],
                (
                    "card.field_entry",
                    serde_json::json!({"unit_id": unit_id, "entry": entry.id, "kind": kind, "at": entry.at_ms}),
                ),
                now_ms,
                |doc, units, _| {
                    sync::card::apply_field_entry(doc, units[0], entry, &reference, &ctx)
                },
            )
            .await?;
        Ok(applied)
    }

    pub fn appeals(&self) -> &AppealService {
        &self.appeals
    }

    /// Personal reception of this region (R31).
    pub fn reception(&self) -> &Arc<crate::reception::ReceptionService> {
        &self.reception
    }

    /// District inspectors' report meetings of this region (R22–R26).
    pub fn meetings(&self) -> &Arc<crate::meetings::MeetingService> {
        &self.meetings
    }

    /// Citizens' text conversations of this region.
    pub fn conversations(&self) -> &Arc<crate::conversations::ConversationDocs> {
        &self.conversations
    }
    /// Sends an event to every live stream (calls use the cards' stream).
    pub fn publish(&self, ev: LiveEvent) {
        let _ = self.events.send(ev);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<LiveEvent> {
        self.events.subscribe()
    }
    pub fn cached_cards(&self) -> usize {
        lock(&self.cards).len()
    }
    /// A document of this node's region.
    fn doc_id(&self, kind: DocKind, id: &str) -> ServiceResult<DocId> {
        Ok(DocId::new(&self.region, kind, id)?)
    }

    fn ctx(&self, by: &str, now_ms: i64) -> Ctx {
        Ctx::new(by, self.region.clone(), now_ms)
    }

    /// Creates the configured units that do not exist yet (first start).
    pub async fn ensure_units(
        &mut self,
        units: &[(String, String, UnitKind)],
        now_ms: i64,
    ) -> ServiceResult<usize> {
        let mut created = 0;
        for (id, call_sign, kind) in units {
            if self.units.contains_key(id) {
                continue;
            }
            let ctx = self.ctx("system", now_ms);
            let mut doc = UnitDoc::create(self.actor.clone(), id, call_sign, *kind, &ctx)?;
            let mut batch = WriteBatch::new();
            kinds::stage_write(
                &self.unit_rules(),
                &mut batch,
                &self.doc_id(DocKind::Unit, id)?,
                &mut doc,
                &mut Stored::New,
                None,
                self.limits.doc_chunks_max,
                now_ms,
            )?;
            let ticket = self.audit.record(
                &self.gc,
                batch,
                AuditInput::new(
                    "system",
                    "unit.create",
                    id.as_str(),
                    serde_json::json!({"call_sign": call_sign, "kind": kind.as_str()}),
                ),
                now_ms,
            )?;
            self.gc.wait_async(ticket).await?;
            self.units.insert(
                id.clone(),
                Arc::new(Mutex::new(CachedUnit {
                    doc,
                    stored: Stored::Chunks(0),
                })),
            );
            created += 1;
        }
        Ok(created)
    }

    fn next_number(&self, now_ms: i64) -> ServiceResult<String> {
        let year: i32 = chrono::DateTime::from_timestamp_millis(now_ms)
            .unwrap_or_default()
            .format("%Y")
            .to_string()
            .parse()
            .unwrap_or(1970);
        Ok(self.seq.next(&*self.store, year)?)
    }

    /// Creates a card (R03/R05) and returns it once it is durable.
    pub async fn create_card(
        &self,
        by: &str,
        input: &CardCreate,
        now_ms: i64,
    ) -> ServiceResult<Card> {
        self.create_card_then(by, input, false, None, now_ms).await
    }

    /// Creates a card and, with `send`, sends it for processing in the same write (R03): a card
    /// that cannot be sent is refused whole, so a failed "send" leaves no empty card behind.
    ///
    /// `idempotency_key` (the console's, one per form submission) makes a repeated request
    /// answer with the card the first one created: a console that lost its connection after
    /// sending resends without creating the card twice. The key is stored with the card, in the
    /// same batch.
    pub async fn create_card_then(
        &self,
        by: &str,
        input: &CardCreate,
        send: bool,
        idempotency_key: Option<&str>,
        now_ms: i64,
    ) -> ServiceResult<Card> {
        let idem = match idempotency_key {
            Some(key) => {
                let k = idempotency_store_key(by, key)?;
                if let Some(id) = self.store.get(k.as_bytes())? {
                    return self.get_card(&String::from_utf8_lossy(&id));
                }
                Some(k)
            }
            None => None,
        };
        let ctx = self.ctx(by, now_ms);
        // Validate before a number is taken, so bad input does not consume one.
        let checked = sync::card::CheckedCreate::new(input, &self.reference)?;
        if send {
            checked.require_sendable()?;
        }
        let number = self.next_number(now_ms)?;
        let id = uuid::Uuid::new_v4().to_string();
        let mut doc = CardDoc::create_checked(
            self.actor.clone(),
            &id,
            &number,
            &self.region,
            &checked,
            &self.reference,
            &ctx,
        )?;
        if send {
            doc.apply(&CardCommand::SendForProcessing, &self.reference, &ctx)?;
        }
        let mut batch = WriteBatch::new();
        if let Some(k) = idem {
            batch.put(k, id.as_bytes().to_vec());
        }
        let mut stored = Stored::New;
        let (card, live) = kinds::stage_write(
            &self.card_rules(),
            &mut batch,
            &self.doc_id(DocKind::Card, &id)?,
            &mut doc,
            &mut stored,
            None,
            self.limits.doc_chunks_max,
            now_ms,
        )?;
        let ticket = self.audit.record(
            &self.gc,
            batch,
            AuditInput::new(
                by,
                "card.create",
                number.as_str(),
                serde_json::json!({"id": id, "channel": input.channel.as_str(), "sent_for_processing": send}),
            ),
            now_ms,
        )?;
        lock(&self.cards).insert(
            id.clone(),
            Arc::new(Mutex::new(CachedCard {
                doc,
                stored: Stored::Chunks(0),
            })),
        );
        self.gc.wait_async(ticket).await?;
        self.cards_created.fetch_add(1, Ordering::Relaxed);
        if let Some(ev) = live {
            let _ = self.events.send(ev);
        }
        if let Some(hook) = self.card_created_hook.get() {
            hook(&card);
        }
        Ok(card)
    }

    /// The cached document of a card, loading it from the store when needed.
    fn card_entry(&self, id_or_number: &str) -> ServiceResult<Arc<Mutex<CachedCard>>> {
        let id = self.resolve_id(id_or_number)?;
        if let Some(e) = lock(&self.cards).get(&id) {
            return Ok(e);
        }
        let bytes = docs::load_bytes(&*self.store, &self.doc_id(DocKind::Card, &id)?)?
            .ok_or_else(|| ServiceError::NotFound(format!("card {id_or_number} does not exist")))?;
        let mut doc = CardDoc::load(bytes.iter().map(|b| b.as_slice()))?;
        doc.set_actor(self.actor.clone());
        let entry = Arc::new(Mutex::new(CachedCard {
            doc,
            stored: Stored::Chunks(bytes.len() - 1),
        }));
        // Another request may have loaded it meanwhile: keep the first so writes share one doc.
        Ok(lock(&self.cards).insert(id, entry))
    }

    /// Accepts a UUID or a human number such as `AST-2026-000123`.
    fn resolve_id(&self, id_or_number: &str) -> ServiceResult<String> {
        if uuid::Uuid::parse_str(id_or_number).is_ok() {
            return Ok(id_or_number.to_string());
        }
        let not_found = || {
            ServiceError::NotFound(format!(
                "card {} does not exist",
                id_or_number.chars().take(64).collect::<String>()
            ))
        };
        let (region, year, seq) = number_parts(id_or_number).ok_or_else(not_found)?;
        if region != self.region {
            return Err(not_found());
        }
        let v = self
            .store
            .get(number_key(year, seq).as_bytes())?
            .ok_or_else(not_found)?;
        Ok(String::from_utf8_lossy(&v).to_string())
    }

    pub fn get_card(&self, id_or_number: &str) -> ServiceResult<Card> {
        let entry = self.card_entry(id_or_number)?;
        let view = lock(&entry).doc.view(&self.reference)?;
        if view.status.is_terminal() {
            lock(&self.cards).evict(&view.id);
        }
        Ok(view)
    }

    /// Open cards from the status index, oldest first; optionally one status and one district.
    pub fn list_cards(
        &self,
        status: Option<CardStatus>,
        district: Option<&str>,
        limit_count: usize,
    ) -> ServiceResult<Vec<CardSummary>> {
        let statuses: Vec<CardStatus> = match status {
            Some(s) => vec![s],
            None => CardStatus::ALL
                .into_iter()
                .filter(|s| s.is_open())
                .collect(),
        };
        let limit_count = limit_count.min(self.limits.list_cards_max);
        let mut out = Vec::new();
        for s in statuses {
            for (_, v) in self
                .store
                .scan_prefix(format!("idx/st/{}/", s.as_str()).as_bytes())?
            {
                if let Ok(summary) = serde_json::from_slice::<CardSummary>(&v) {
                    if district.is_none_or(|d| summary.district.as_deref() == Some(d)) {
                        out.push(summary);
                    }
                }
            }
        }
        out.sort_by(|a, b| {
            (
                a.priority.unwrap_or(9),
                a.sent_for_processing_at.unwrap_or(a.created_at),
            )
                .cmp(&(
                    b.priority.unwrap_or(9),
                    b.sent_for_processing_at.unwrap_or(b.created_at),
                ))
        });
        out.truncate(limit_count);
        Ok(out)
    }

    /// Cards of one day (`YYYY-MM-DD`, UTC) or of one unit, open and closed, newest first.
    pub fn history(
        &self,
        date: Option<&str>,
        unit_id: Option<&str>,
        limit_count: usize,
    ) -> ServiceResult<Vec<CardSummary>> {
        let prefix = match (date, unit_id) {
            (Some(d), None) => {
                sync::roster::validate_date(d)?;
                format!("idx/day/{}/", d.replace('-', ""))
            }
            (None, Some(u)) => {
                self.unit_entry(u)?;
                format!("idx/unit/{u}/")
            }
            _ => {
                return Err(DomainError::field("date", "give either a date or a unit_id").into());
            }
        };
        let keys = self.store.scan_keys(prefix.as_bytes(), usize::MAX)?;
        let mut out = Vec::new();
        for key in keys
            .iter()
            .rev()
            .take(limit_count.min(self.limits.list_cards_max))
        {
            let key = String::from_utf8_lossy(key);
            if let Some(id) = key.rsplit('/').next() {
                out.push(CardSummary::from(&self.get_card(id)?));
            }
        }
        out.sort_by_key(|c| std::cmp::Reverse(c.created_at));
        Ok(out)
    }

    /// Cards created in `[from_ms, to_ms)`, at most `limit_count`, from the day index.
    pub fn cards_created_between(
        &self,
        from_ms: i64,
        to_ms: i64,
        limit_count: usize,
    ) -> ServiceResult<Vec<Card>> {
        let mut out = Vec::new();
        let mut day = from_ms.div_euclid(86_400_000) * 86_400_000;
        while day < to_ms && out.len() < limit_count {
            let prefix = format!("idx/day/{}/", day_key(day));
            for key in self.store.scan_keys(prefix.as_bytes(), usize::MAX)? {
                let key = String::from_utf8_lossy(&key);
                let Some(id) = key.rsplit('/').next() else {
                    continue;
                };
                let card = self.get_card(id)?;
                if (from_ms..to_ms).contains(&card.created_at) {
                    out.push(card);
                    if out.len() >= limit_count {
                        break;
                    }
                }
            }
            day += 86_400_000;
        }
        Ok(out)
    }

    pub fn count_by_status(&self) -> ServiceResult<BTreeMap<&'static str, usize>> {
        let mut out = BTreeMap::new();
        for s in CardStatus::ALL.into_iter().filter(|s| s.is_open()) {
            out.insert(
                s.as_str(),
                self.store
                    .scan_keys(format!("idx/st/{}/", s.as_str()).as_bytes(), usize::MAX)?
                    .len(),
            );
        }
        Ok(out)
    }

    pub fn units(&self, now_ms: i64) -> ServiceResult<Vec<Unit>> {
        self.units
            .values()
            .map(|u| Ok(lock(u).doc.view(&self.reference, now_ms)?))
            .collect()
    }

    fn unit_entry(&self, unit_id: &str) -> ServiceResult<Arc<Mutex<CachedUnit>>> {
        self.units.get(unit_id).cloned().ok_or_else(|| {
            ServiceError::Domain(DomainError::field(
                "unit_id",
                format!(
                    "unit '{}' does not exist",
                    unit_id.chars().take(64).collect::<String>()
                ),
            ))
        })
    }

    /// Runs a change on one card and some units, then persists all of it in one batch.
    ///
    /// `f` gets the card and the units locked (card first, units in id order, so concurrent
    /// changes never deadlock). If persisting fails, the in-memory copies are dropped and
    /// reloaded from the store on next use, so memory never runs ahead of the disk.
    async fn change_card<T>(
        &self,
        by: &str,
        id_or_number: &str,
        unit_ids: &[String],
        (action, details): (&str, serde_json::Value),
        now_ms: i64,
        f: impl FnOnce(&mut CardDoc, &mut [&mut UnitDoc], &Ctx) -> Result<T, DomainError>,
    ) -> ServiceResult<(Card, T)> {
        let ctx = self.ctx(by, now_ms);
        let entry = self.card_entry(id_or_number)?;
        let mut unit_ids: Vec<String> = unit_ids.to_vec();
        unit_ids.sort();
        unit_ids.dedup();
        let unit_entries: Vec<_> = unit_ids
            .iter()
            .map(|u| self.unit_entry(u))
            .collect::<Result<_, _>>()?;
        let (card, events, out, ticket) = {
            let mut card_guard = lock(&entry);
            let mut unit_guards: Vec<_> = unit_entries.iter().map(|u| lock(u)).collect();
            let before = card_guard.doc.view(&self.reference)?;
            let heads_before = card_guard.doc.heads();
            let result = {
                let mut docs: Vec<&mut UnitDoc> =
                    unit_guards.iter_mut().map(|g| &mut g.doc).collect();
                f(&mut card_guard.doc, &mut docs, &ctx)
            };
            let out = match result {
                Ok(out) => out,
                Err(e) => {
                    // The core validates before writing, so a refused command normally changed
                    // nothing; if it did, drop the in-memory copies rather than keep unsaved ops.
                    if card_guard.doc.heads() != heads_before {
                        drop(unit_guards);
                        drop(card_guard);
                        self.forget(&before.id, &unit_ids);
                    }
                    return Err(e.into());
                }
            };
            let mut batch = WriteBatch::new();
            let cg = &mut *card_guard;
            let (after, card_event) = kinds::stage_write(
                &self.card_rules(),
                &mut batch,
                &self.doc_id(DocKind::Card, &before.id)?,
                &mut cg.doc,
                &mut cg.stored,
                Some(&before),
                self.limits.doc_chunks_max,
                now_ms,
            )?;
            let mut events: Vec<LiveEvent> = card_event.into_iter().collect();
            let unit_rules = self.unit_rules();
            for (uid, g) in unit_ids.iter().zip(unit_guards.iter_mut()) {
                let g = &mut **g;
                let (_, ev) = kinds::stage_write(
                    &unit_rules,
                    &mut batch,
                    &self.doc_id(DocKind::Unit, uid)?,
                    &mut g.doc,
                    &mut g.stored,
                    None,
                    self.limits.doc_chunks_max,
                    now_ms,
                )?;
                events.extend(ev);
            }
            let ticket = match self.audit.record(
                &self.gc,
                batch,
                AuditInput::new(by, action, after.number.as_str(), details),
                now_ms,
            ) {
                Ok(t) => t,
                Err(e) => {
                    drop(unit_guards);
                    drop(card_guard);
                    self.forget(&after.id, &unit_ids);
                    return Err(e.into());
                }
            };
            (after, events, out, ticket)
        };
        if card.status.is_terminal() {
            lock(&self.cards).evict(&card.id);
        }
        self.gc.wait_async(ticket).await?;
        self.card_changes.fetch_add(1, Ordering::Relaxed);
        for ev in events {
            let _ = self.events.send(ev);
        }
        Ok((card, out))
    }

    /// Drops in-memory copies after a failed write; they reload from the store.
    fn forget(&self, card_id: &str, unit_ids: &[String]) {
        lock(&self.cards).remove(card_id);
        for uid in unit_ids {
            let Some(u) = self.units.get(uid) else {
                continue;
            };
            match self
                .doc_id(DocKind::Unit, uid)
                .and_then(|id| load_unit(&*self.store, &id, &self.actor))
            {
                Ok(cached) => *lock(u) = cached,
                Err(e) => {
                    tracing::error!(unit = %uid, error = %e, "a unit could not be reloaded after a failed write")
                }
            }
        }
    }

    pub async fn apply(
        &self,
        by: &str,
        id: &str,
        cmd: CardCommand,
        now_ms: i64,
    ) -> ServiceResult<Card> {
        let (action, details) = match &cmd {
            CardCommand::Edit(_) => ("card.edit", serde_json::json!({})),
            CardCommand::SendForProcessing => ("card.send_for_processing", serde_json::json!({})),
            CardCommand::Report { .. } => ("card.report", serde_json::json!({})),
            CardCommand::LinkDuplicate { duplicate_of } => (
                "card.link_duplicate",
                serde_json::json!({"duplicate_of": duplicate_of}),
            ),
            CardCommand::Forward { duty_unit } => {
                ("card.forward", serde_json::json!({"duty_unit": duty_unit}))
            }
            CardCommand::RegisterKui { number } => (
                "card.kui_register",
                serde_json::json!({"kui_number": number}),
            ),
            CardCommand::Note { .. } => ("card.note", serde_json::json!({})),
            CardCommand::LinkAppeal { number } => {
                ("card.appeal_linked", serde_json::json!({"appeal": number}))
            }
            CardCommand::HqNote { .. } => ("card.hq_note", serde_json::json!({})),
            CardCommand::CallbackDue => ("card.callback_due", serde_json::json!({})),
            CardCommand::CallbackDone { outcome, .. } => (
                "card.callback",
                serde_json::json!({"outcome": outcome.as_str()}),
            ),
        };
        let reference = self.reference.clone();
        let (card, ()) = self
            .change_card(by, id, &[], (action, details), now_ms, |doc, _, ctx| {
                doc.apply(&cmd, &reference, ctx)
            })
            .await?;
        Ok(card)
    }

    /// Dispatches a unit (or ДСОГ) and hands the patrol the address warnings (R08).
    pub async fn dispatch(
        &self,
        by: &str,
        id: &str,
        unit_id: &str,
        investigative: bool,
        now_ms: i64,
    ) -> ServiceResult<(Card, Vec<FoundWarning>)> {
        let address = self.get_card(id)?.location.and_then(|l| l.address);
        let warnings = match address.as_deref() {
            // Never block a dispatch on the registry: an error is logged and the list is empty.
            Some(a) => self.warnings.lookup(a),
            None => Vec::new(),
        };
        let reference = self.reference.clone();
        let warning_text = warnings_text(&warnings);
        let action = if investigative {
            "card.dispatch_dsog"
        } else {
            "card.dispatch"
        };
        let (card, ()) = self
            .change_card(
                by,
                id,
                &[unit_id.to_string()],
                (
                    action,
                    serde_json::json!({"unit_id": unit_id, "warnings": warnings.len()}),
                ),
                now_ms,
                |doc, units, ctx| {
                    dispatch(doc, units[0], investigative, &reference, ctx)?;
                    if let Some(text) = &warning_text {
                        let call_sign = units[0].view(&reference, ctx.now_ms)?.call_sign;
                        doc.record_warning(ctx, &format!("{call_sign}: {text}"))?;
                    }
                    Ok(())
                },
            )
            .await?;
        Ok((card, warnings))
    }

    pub async fn unit_step(
        &self,
        by: &str,
        id: &str,
        unit_id: &str,
        step: UnitStep,
        now_ms: i64,
    ) -> ServiceResult<Card> {
        let reference = self.reference.clone();
        let action = match step {
            UnitStep::EnRoute => "card.unit_en_route",
            UnitStep::OnScene => "card.unit_on_scene",
            UnitStep::Clear => "card.unit_clear",
        };
        let (card, ()) = self
            .change_card(
                by,
                id,
                &[unit_id.to_string()],
                (action, serde_json::json!({"unit_id": unit_id})),
                now_ms,
                |doc, units, ctx| unit_step(doc, units[0], step, &reference, ctx),
            )
            .await?;
        Ok(card)
    }

    pub async fn unassign(
        &self,
        by: &str,
        id: &str,
        unit_id: &str,
        now_ms: i64,
    ) -> ServiceResult<Card> {
        let reference = self.reference.clone();
        let (card, ()) = self
            .change_card(
                by,
                id,
                &[unit_id.to_string()],
                (
                    "card.unit_unassign",
                    serde_json::json!({"unit_id": unit_id}),
                ),
                now_ms,
                |doc, units, ctx| unassign(doc, units[0], &reference, ctx),
            )
            .await?;
        Ok(card)
    }

    pub async fn finish(
        &self,
        by: &str,
        id: &str,
        how: Finish,
        now_ms: i64,
    ) -> ServiceResult<Card> {
        let active: Vec<String> = self
            .get_card(id)?
            .active_units()
            .map(|u| u.unit_id.clone())
            .collect();
        let reference = self.reference.clone();
        let (action, details) = match &how {
            Finish::Close { reason, .. } => ("card.close", serde_json::json!({"reason": reason})),
            Finish::Cancel { reason } => ("card.cancel", serde_json::json!({"reason": reason})),
        };
        let (card, ()) = self
            .change_card(
                by,
                id,
                &active,
                (action, details),
                now_ms,
                |doc, units, ctx| finish(doc, units, &how, &reference, ctx),
            )
            .await?;
        Ok(card)
    }

    /// A unit goes on or off duty.
    pub async fn set_unit_duty(
        &self,
        by: &str,
        unit_id: &str,
        on_duty: bool,
        now_ms: i64,
    ) -> ServiceResult<Unit> {
        let entry = self.unit_entry(unit_id)?;
        let ctx = self.ctx(by, now_ms);
        let (view, ticket) = {
            let mut g = lock(&entry);
            g.doc.set_duty(on_duty, &self.reference, &ctx)?;
            let mut batch = WriteBatch::new();
            let g = &mut *g;
            let (view, _) = kinds::stage_write(
                &self.unit_rules(),
                &mut batch,
                &self.doc_id(DocKind::Unit, unit_id)?,
                &mut g.doc,
                &mut g.stored,
                None,
                self.limits.doc_chunks_max,
                now_ms,
            )?;
            let ticket = self.audit.record(
                &self.gc,
                batch,
                AuditInput::new(
                    by,
                    "unit.duty",
                    unit_id,
                    serde_json::json!({"on_duty": on_duty}),
                ),
                now_ms,
            );
            (view, ticket)
        };
        let ticket = match ticket {
            Ok(t) => t,
            Err(e) => {
                self.forget("", &[unit_id.to_string()]);
                return Err(e.into());
            }
        };
        self.gc.wait_async(ticket).await?;
        let _ = self.events.send(LiveEvent::Unit(view.clone()));
        Ok(view)
    }

    /// A roster day as stored, or a new empty one ([`Stored::New`]).
    fn load_roster(&self, date: &str) -> ServiceResult<(RosterDoc, Stored)> {
        match docs::load_bytes(&*self.store, &self.doc_id(DocKind::Roster, date)?)? {
            Some(bytes) => {
                let mut doc = RosterDoc::load(bytes.iter().map(|b| b.as_slice()))?;
                doc.set_actor(self.actor.clone());
                Ok((doc, Stored::Chunks(bytes.len() - 1)))
            }
            None => Ok((RosterDoc::create(self.actor.clone(), date)?, Stored::New)),
        }
    }

    pub fn roster(&self, date: &str) -> ServiceResult<Vec<RosterEntry>> {
        sync::roster::validate_date(date)?;
        Ok(self.load_roster(date)?.0.entries()?)
    }

    /// Adds an entry to the post roster (R20).
    /// The unit a patrol account acts for at `now_ms` (R20): the unit of its roster entry in the
    /// current shift, else its standing binding (`bound`), if that unit exists.
    pub fn unit_of_patrol(
        &self,
        login: &str,
        bound: Option<&str>,
        now_ms: i64,
    ) -> ServiceResult<Option<String>> {
        let (date, shift) = self.reference.shift_at(now_ms);
        let rostered = self
            .roster(&date)?
            .into_iter()
            .find(|e| e.shift == shift && e.crew.iter().any(|c| c == login))
            .map(|e| e.unit_id);
        Ok(rostered.or_else(|| {
            bound
                .filter(|u| self.units.contains_key(*u))
                .map(str::to_string)
        }))
    }

    /// Whether a unit with this id exists.
    pub fn has_unit(&self, unit_id: &str) -> bool {
        self.units.contains_key(unit_id)
    }

    pub async fn add_roster_entry(
        &self,
        by: &str,
        input: &RosterCreate,
        now_ms: i64,
    ) -> ServiceResult<RosterEntry> {
        sync::roster::validate_date(&input.date)?;
        let unit = lock(&*self.unit_entry(&input.unit_id)?)
            .doc
            .view(&self.reference, now_ms)?;
        let ctx = self.ctx(by, now_ms);
        let ticket = {
            let _g = lock(&self.roster_lock);
            let (mut doc, stored) = self.load_roster(&input.date)?;
            let entry_id = uuid::Uuid::new_v4().to_string();
            let entry = doc.add(&entry_id, input, &unit, &ctx)?;
            let mut batch = WriteBatch::new();
            let doc_id = self.doc_id(DocKind::Roster, &input.date)?;
            let mut stored = stored;
            kinds::stage_write(
                &RosterRules,
                &mut batch,
                &doc_id,
                &mut doc,
                &mut stored,
                None,
                self.limits.doc_chunks_max,
                now_ms,
            )?;
            let ticket = self.audit.record(
                &self.gc,
                batch,
                AuditInput::new(by, "roster.add", input.date.as_str(), serde_json::json!({"unit_id": input.unit_id, "post": entry.post, "shift": input.shift, "crew": entry.crew})),
                now_ms,
            )?;
            (ticket, entry)
        };
        self.gc.wait_async(ticket.0).await?;
        Ok(ticket.1)
    }

    pub fn replica_heads(
        &self,
        id: &DocId,
    ) -> ServiceResult<Option<(Priority, Vec<automerge::ChangeHash>)>> {
        Ok(docs::heads(&*self.store, id)?)
    }

    /// Runs `f` on the automerge core of a local document (loading it if needed).
    fn with_replica_doc<T>(
        &self,
        doc_id: &DocId,
        f: impl FnOnce(&mut automerge::AutoCommit) -> T,
    ) -> ServiceResult<T> {
        let id = doc_id.id();
        match doc_id.kind() {
            DocKind::Card => {
                let entry = self.card_entry(id)?;
                let mut g = lock(&entry);
                Ok(f(g.doc.automerge()))
            }
            DocKind::Unit => {
                let entry = self.unit_entry(id)?;
                let mut g = lock(&entry);
                Ok(f(g.doc.automerge()))
            }
            DocKind::Roster => {
                let _g = lock(&self.roster_lock);
                let (mut doc, stored) = self.load_roster(id)?;
                if stored == Stored::New {
                    return Err(ServiceError::NotFound(format!(
                        "roster {id} does not exist"
                    )));
                }
                Ok(f(doc.automerge()))
            }
            DocKind::Reference | DocKind::Calendar => self
                .published
                .with_doc(doc_id, f)?
                .ok_or_else(|| ServiceError::NotFound(format!("{doc_id} does not exist"))),
            DocKind::Appeal => self.appeals.with_doc(doc_id, f),
            DocKind::Field => self.field.with_doc(doc_id, f),
            DocKind::Conversation => self.conversations.with_doc(doc_id, f),
            DocKind::Reception => self.reception.with_doc(doc_id, f),
            DocKind::Meeting => self.meetings.with_doc(doc_id, f),
            DocKind::Article => self
                .kb
                .with_doc(doc_id, f)
                .map_err(|e| ServiceError::Store(crate::store::StoreError::Io(e.to_string())))?
                .ok_or_else(|| ServiceError::NotFound(format!("{doc_id} does not exist"))),
        }
    }

    /// The whole document (uncompressed) when `since` is empty, else the changes after `since`.
    pub fn replica_export(
        &self,
        id: &DocId,
        since: &[automerge::ChangeHash],
    ) -> ServiceResult<Vec<u8>> {
        self.with_replica_doc(id, |d| {
            if since.is_empty() {
                // Uncompressed, as the protocol's `MemRepo::export` explains.
                d.save_nocompress()
            } else {
                d.save_after(since)
            }
        })
    }

    pub fn replica_has_changes(&self, id: &DocId, hashes: &[automerge::ChangeHash]) -> bool {
        self.with_replica_doc(id, |d| {
            hashes.iter().all(|h| d.get_change_by_hash(h).is_some())
        })
        .unwrap_or(false)
    }

    /// Applies a peer's bytes to a local document (creating it if absent), persists the new
    /// chunk, indexes and an audit entry, and returns once it is durable. The bytes are tried on
    /// a fork first, so corrupt input leaves the document untouched.
    pub fn replica_import(
        &self,
        doc_id: &DocId,
        bytes: &[u8],
        by: &str,
        now_ms: i64,
    ) -> Result<Vec<automerge::ChangeHash>, sync::protocol::RepoError> {
        use sync::protocol::RepoError;
        let storage = |e: ServiceError| RepoError::Storage(e.to_string());
        if doc_id.region() != self.region && !doc_id.is_national() {
            return Err(RepoError::Refused(format!(
                "{doc_id} is not a document of region {}",
                self.region
            )));
        }
        if doc_id.kind() == DocKind::Calendar {
            // The next deadline is counted on the calendar with this year.
            *lock(&self.work_calendar) = None;
        }
        let id = doc_id.id();
        let mut batch = WriteBatch::new();
        let chunks_max = self.limits.doc_chunks_max;
        // Each kind's documents are locked and loaded where the node keeps them; the change is
        // then applied, viewed and staged with its indexes by the one generic path.
        let imported = match doc_id.kind() {
            DocKind::Card => {
                let rules = CardRules {
                    reference: &self.reference,
                    region: &self.region,
                };
                let exists = docs::exists(&*self.store, doc_id).map_err(|e| storage(e.into()))?;
                if !exists {
                    let mut doc =
                        CardDoc::load([bytes]).map_err(|e| RepoError::Refused(e.to_string()))?;
                    doc.set_actor(self.actor.clone());
                    let mut stored = Stored::New;
                    kinds::import(
                        &rules,
                        &mut batch,
                        doc_id,
                        &mut doc,
                        &mut stored,
                        bytes,
                        chunks_max,
                        now_ms,
                    )?
                } else {
                    let entry = self.card_entry(id).map_err(storage)?;
                    let mut g = lock(&entry);
                    let cg = &mut *g;
                    let result = kinds::import(
                        &rules,
                        &mut batch,
                        doc_id,
                        &mut cg.doc,
                        &mut cg.stored,
                        bytes,
                        chunks_max,
                        now_ms,
                    );
                    if result.is_err() {
                        // The cached copy may hold the refused change: reload it from the store.
                        lock(&self.cards).remove(id);
                    }
                    result?
                }
            }
            DocKind::Unit => {
                let entry = self.unit_entry(id).map_err(|_| {
                    RepoError::Refused(format!("unit {id} is not configured on this node"))
                })?;
                let mut g = lock(&entry);
                let ug = &mut *g;
                kinds::import(
                    &self.unit_rules(),
                    &mut batch,
                    doc_id,
                    &mut ug.doc,
                    &mut ug.stored,
                    bytes,
                    chunks_max,
                    now_ms,
                )?
            }
            DocKind::Roster => {
                sync::roster::validate_date(id).map_err(|e| RepoError::Refused(e.to_string()))?;
                let _g = lock(&self.roster_lock);
                let (doc, mut stored) = self.load_roster(id).map_err(storage)?;
                let mut doc = kinds::receiving(doc, stored, bytes, &self.actor)?;
                kinds::import(
                    &RosterRules,
                    &mut batch,
                    doc_id,
                    &mut doc,
                    &mut stored,
                    bytes,
                    chunks_max,
                    now_ms,
                )?
            }
            DocKind::Reference | DocKind::Calendar => Imported {
                heads: self.published.import(&mut batch, doc_id, bytes, now_ms)?,
                live: None,
            },
            // Appeals are locked, loaded, staged and audited by their own service.
            DocKind::Appeal => return self.appeals.replica_import(doc_id, bytes, by, now_ms),
            DocKind::Conversation => {
                return self.conversations.replica_import(doc_id, bytes, by, now_ms)
            }
            // Requests from the hub are settled against this node's slots before they are stored.
            DocKind::Reception => {
                let calendar = self.work_calendar().map_err(storage)?;
                return self
                    .reception
                    .replica_import(doc_id, bytes, by, now_ms, &calendar);
            }
            DocKind::Meeting => return self.meetings.replica_import(doc_id, bytes, by, now_ms),
            // Articles are stored and then indexed for search by the knowledge base.
            DocKind::Article => return self.kb.replica_import(doc_id, bytes, by, now_ms),
            DocKind::Field => {
                let imported = self.field.replica_import(doc_id, bytes, by, now_ms)?;
                for e in &imported.new_entries {
                    let _ = self
                        .field_entries_tx
                        .send((imported.unit.clone(), e.clone()));
                }
                if imported.changed {
                    let _ = self.events.send(LiveEvent::Field {
                        doc_id: doc_id.to_string(),
                        unit_id: imported.unit.clone(),
                        position: imported.position,
                    });
                }
                return Ok(imported.heads);
            }
        };
        let Imported { heads, live } = imported;
        if let Some(LiveEvent::Card(summary)) = &live {
            // A number of this region arrived: the sequence continues after it.
            self.seq.used(&summary.number);
        }
        let ticket = self
            .audit
            .record(
                &self.gc,
                batch,
                AuditInput::new(
                    by,
                    "replication.import",
                    format!("{}/{id}", doc_id.kind()),
                    serde_json::json!({"bytes": bytes.len()}),
                ),
                now_ms,
            )
            .map_err(|e| {
                if doc_id.kind() == DocKind::Card {
                    lock(&self.cards).remove(id);
                }
                RepoError::Storage(e.to_string())
            })?;
        self.gc
            .wait_durable(ticket)
            .map_err(|e| RepoError::Storage(e.to_string()))?;
        if let Some(ev) = live {
            let _ = self.events.send(ev);
        }
        Ok(heads)
    }

    /// The store's identity (its `store.id`), as the replication protocol's repo id.
    pub fn store_identity(&self) -> [u8; 16] {
        self.store_id
    }

    /// Sets the function called with every new card once it is durable; it must return at once
    /// (spawn any I/O). A second call is ignored.
    pub fn on_card_created(&self, hook: CardCreatedHook) {
        let _ = self.card_created_hook.set(hook);
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    pub fn warnings_for(&self, address: &str) -> ServiceResult<Vec<FoundWarning>> {
        Ok(self.warnings.try_lookup(address)?)
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }
}

/// Length of an idempotency key, characters.
pub const IDEMPOTENCY_KEY_CHARS: std::ops::RangeInclusive<usize> = 8..=64;

/// `meta/idem/card/{login}/{key}` → the id of the card the first request with this key created.
fn idempotency_store_key(login: &str, key: &str) -> Result<String, DomainError> {
    let ok = IDEMPOTENCY_KEY_CHARS.contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !ok {
        return Err(DomainError::field(
            "idempotency_key",
            "an Idempotency-Key is 8 to 64 characters: Latin letters, digits, '-' and '_'",
        ));
    }
    Ok(format!("meta/idem/card/{login}/{key}"))
}

/// The timeline entry written when a crew is sent (R08): each person with their flags as codes,
/// and a possible match marked with its reasons, e.g. `… [registered_weapon] (possible:
/// other_flat)`. The console renders the codes in Kazakh or Russian.
fn warnings_text(warnings: &[FoundWarning]) -> Option<String> {
    if warnings.is_empty() {
        return None;
    }
    let code = |value: serde_json::Result<serde_json::Value>| -> String {
        value
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default()
    };
    let parts: Vec<String> = warnings
        .iter()
        .map(|found| {
            let w = &found.warning;
            let flags: Vec<String> = w
                .flags
                .iter()
                .map(|f| code(serde_json::to_value(f)))
                .collect();
            let mut part = format!("{} [{}]", w.person, flags.join(", "));
            if found.match_kind == MatchKind::Possible {
                let reasons: Vec<String> = found
                    .reasons
                    .iter()
                    .map(|r| code(serde_json::to_value(r)))
                    .collect();
                part.push_str(&format!(" (possible: {})", reasons.join(", ")));
            }
            part
        })
        .collect();
    Some(format!("address warnings: {}", parts.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Arc<Mutex<CachedCard>> {
        let reference: Reference = crate::config::Config::load(None).unwrap().reference;
        let input: CardCreate = serde_json::from_str(r#"{"channel":"email"}"#).unwrap();
        let doc = CardDoc::create(
            ActorId::from(vec![1u8; 16]),
            "id",
            "AST-2026-000001",
            "AST",
            &input,
            &reference,
            &Ctx::new("t", "AST", 1),
        )
        .unwrap();
        Arc::new(Mutex::new(CachedCard {
            doc,
            stored: Stored::Chunks(0),
        }))
    }

    #[test]
    fn a_card_in_use_is_never_loaded_twice_even_after_eviction() {
        let mut cache = CardCache {
            lru: lru::LruCache::new(NonZeroUsize::new(1).unwrap()),
            live: HashMap::new(),
        };
        let a = cache.insert("a".into(), entry());
        // "b" pushes "a" out of the LRU while a change still holds "a".
        cache.insert("b".into(), entry());
        let again = cache.insert("a".into(), entry());
        assert!(Arc::ptr_eq(&a, &again), "the instance in use is reused");
        cache.evict("a");
        assert!(Arc::ptr_eq(&a, &cache.get("a").unwrap()));
        drop((a, again));
        cache.evict("a");
        assert!(cache.get("a").is_none(), "once nobody holds it, it is gone");
    }
}
