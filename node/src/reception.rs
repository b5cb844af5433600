//! Personal reception (R31) as stored documents: the node's shell around
//! [`sync::reception`]. It keeps the region's schedule, books slots (one record per slot,
//! checked under one lock so two desks never book the same slot), records what happened at a
//! reception, serves the ЛП-1 card, and settles requests that arrive from the hub
//! ([`crate::kinds::reception`]). Every write is one group-committed batch with its indexes and
//! an audit entry; a refused input writes nothing.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::broadcast;

use automerge::ActorId;
use server_kit::docs::{self, Stored};
use sync::calendar::{Day, WorkCalendar};
use sync::reception::{
    check_record_held, check_record_not_held, prepare_booking, Booking, BookingInput, Lp1Card,
    ReceptionCommand, ReceptionDoc, ReceptionReference, ReceptionView, Region, Schedule, Via,
    SCHEDULE_DOC_ID,
};
use sync::{Ctx, DocId, DocKind, Document, DomainError};

use crate::audit::{AuditInput, AuditLog};
use crate::kinds::reception::{self as idx, BookingSummary, ReceptionRules, Settler};
use crate::kinds::{self, Imported};
use crate::live::LiveEvent;
use crate::service_error::{ServiceError, ServiceResult};
use crate::store::{GroupCommit, Store, WriteBatch};

pub use sync::reception::schedule::DEMO_SCHEDULE_JSON;
/// Most records one day's queue lists.
pub const DAY_QUEUE_MAX: usize = 1_000;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

pub struct ReceptionService {
    store: Arc<dyn Store>,
    gc: Arc<GroupCommit>,
    audit: Arc<AuditLog>,
    region: String,
    /// ЛП-1 field 1: the body's name (the region's Russian name).
    body: String,
    actor: ActorId,
    chunks_max: usize,
    reference: std::sync::RwLock<Arc<ReceptionReference>>,
    /// Held from a write's checks until its batch is applied: slots are checked and taken
    /// atomically.
    write: Mutex<()>,
    /// Where durable local writes are announced to the replication.
    events: broadcast::Sender<LiveEvent>,
}

impl ReceptionService {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: Arc<dyn Store>,
        gc: Arc<GroupCommit>,
        audit: Arc<AuditLog>,
        region: String,
        body: String,
        actor: ActorId,
        chunks_max: usize,
        reference: Arc<ReceptionReference>,
        events: broadcast::Sender<LiveEvent>,
    ) -> Self {
        ReceptionService {
            store,
            gc,
            audit,
            region,
            body,
            actor,
            chunks_max,
            reference: std::sync::RwLock::new(reference),
            write: Mutex::new(()),
            events,
        }
    }

    /// Waits until a write is durable, then tells the replication which of this service's
    /// documents it changed (they reach the hub at once, not on the next connection).
    async fn durable(&self, ticket: u64, ids: &[&str]) -> ServiceResult<()> {
        self.gc.wait_async(ticket).await?;
        for id in ids {
            let _ = self.events.send(LiveEvent::Replicated {
                doc_id: self.doc_id(id)?.to_string(),
            });
        }
        Ok(())
    }

    /// The ЛП-1 reference lists.
    pub fn reference(&self) -> Arc<ReceptionReference> {
        self.reference
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Replaces the reference lists (the node's `[reception] reference_file`, read at start).
    pub fn set_reference(&self, reference: ReceptionReference) {
        *self
            .reference
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(reference);
    }

    fn doc_id(&self, id: &str) -> ServiceResult<DocId> {
        Ok(DocId::new(&self.region, DocKind::Reception, id)?)
    }

    fn load(&self, id: &str) -> ServiceResult<Option<(ReceptionDoc, Stored)>> {
        let doc_id = self.doc_id(id)?;
        let Some(bytes) = docs::load_bytes(&*self.store, &doc_id)? else {
            return Ok(None);
        };
        let mut doc = ReceptionDoc::load(bytes.iter().map(|b| b.as_slice()))?;
        doc.set_actor(self.actor.clone());
        Ok(Some((doc, Stored::Chunks(bytes.len() - 1))))
    }

    fn rules(&self) -> ReceptionRules<'_> {
        ReceptionRules {
            region: &self.region,
            settler: None,
        }
    }

    /// The schedule, if one was set.
    pub fn schedule(&self) -> ServiceResult<Option<Schedule>> {
        match self.load(SCHEDULE_DOC_ID)? {
            Some((doc, _)) => match doc.view()? {
                ReceptionView::Schedule { schedule, .. } => Ok(Some(schedule)),
                ReceptionView::Booking(_) => Err(DomainError::CorruptDocument(
                    "the schedule document holds a reception record".into(),
                )
                .into()),
            },
            None => Ok(None),
        }
    }

    /// A record.
    pub fn get(&self, id: &str) -> ServiceResult<Booking> {
        let not_found = || ServiceError::NotFound(format!("reception record {id} does not exist"));
        if id == SCHEDULE_DOC_ID {
            return Err(not_found());
        }
        let (doc, _) = self.load(id)?.ok_or_else(not_found)?;
        match doc.view()? {
            ReceptionView::Booking(b) => Ok(*b),
            ReceptionView::Schedule { .. } => Err(not_found()),
        }
    }

    /// The record's ЛП-1 card.
    pub fn lp1(&self, id: &str) -> ServiceResult<Lp1Card> {
        let b = self.get(id)?;
        let schedule = self.schedule()?;
        Ok(b.lp1(&self.reference(), schedule.as_ref()))
    }

    /// A day's records, by session and slot time.
    pub fn day(&self, date: &str) -> ServiceResult<Vec<BookingSummary>> {
        let mut out = Vec::new();
        for (_, v) in self.store.scan_prefix(idx::day_prefix(date).as_bytes())? {
            if out.len() >= DAY_QUEUE_MAX {
                break;
            }
            match serde_json::from_slice::<BookingSummary>(&v) {
                Ok(s) => out.push(s),
                Err(e) => tracing::warn!(date, error = %e, "a reception index entry is unreadable"),
            }
        }
        out.sort_by(|a, b| {
            (
                a.slot.session.is_none(),
                &a.slot.session,
                &a.slot.time,
                &a.id,
            )
                .cmp(&(
                    b.slot.session.is_none(),
                    &b.slot.session,
                    &b.slot.time,
                    &b.id,
                ))
        });
        Ok(out)
    }

    /// Stages `doc` with its indexes and an audit entry (the write lock held by the caller),
    /// and returns the ticket to wait for.
    #[allow(clippy::too_many_arguments)]
    fn commit(
        &self,
        id: &str,
        doc: &mut ReceptionDoc,
        mut stored: Stored,
        before: Option<&ReceptionView>,
        by: &str,
        action: &str,
        details: serde_json::Value,
        now_ms: i64,
    ) -> ServiceResult<(ReceptionView, u64)> {
        let doc_id = self.doc_id(id)?;
        let mut batch = WriteBatch::new();
        let (view, _) = kinds::stage_write(
            &self.rules(),
            &mut batch,
            &doc_id,
            doc,
            &mut stored,
            before,
            self.chunks_max,
            now_ms,
        )?;
        let ticket = self.audit.record(
            &self.gc,
            batch,
            AuditInput::new(by, action, format!("reception/{id}"), details),
            now_ms,
        )?;
        Ok((view, ticket))
    }

    /// Replaces the schedule (checked first: ids, references, КАТО codes).
    pub async fn set_schedule(
        &self,
        schedule: Schedule,
        by: &str,
        now_ms: i64,
    ) -> ServiceResult<Schedule> {
        schedule.validate(&self.reference())?;
        let ctx = Ctx::new(by, self.region.as_str(), now_ms);
        let ticket = {
            let _g = lock(&self.write);
            let (mut doc, stored, before) = match self.load(SCHEDULE_DOC_ID)? {
                Some((mut doc, stored)) => {
                    let before = doc.view()?;
                    doc.apply(&ReceptionCommand::SetSchedule(schedule.clone()), &ctx)?;
                    (doc, stored, Some(before))
                }
                None => (
                    ReceptionDoc::create_schedule(self.actor.clone(), &schedule, &ctx)?,
                    Stored::New,
                    None,
                ),
            };
            let details = serde_json::json!({"sessions": schedule.sessions.len()});
            self.commit(
                SCHEDULE_DOC_ID,
                &mut doc,
                stored,
                before.as_ref(),
                by,
                "reception.schedule",
                details,
                now_ms,
            )?
            .1
        };
        self.durable(ticket, &[SCHEDULE_DOC_ID]).await?;
        Ok(schedule)
    }

    /// Settles the requests from the hub that arrived while no schedule was set (they wait,
    /// listed as requested): each confirmed, moved or refused as on arrival. Returns how many.
    pub async fn settle_waiting(
        &self,
        calendar: &WorkCalendar,
        now_ms: i64,
    ) -> ServiceResult<usize> {
        let ctx = Ctx::new(
            crate::conversations::SYSTEM_LOGIN,
            self.region.as_str(),
            now_ms,
        );
        let (settled, last) = {
            let _g = lock(&self.write);
            let Some(schedule) = self.schedule()? else {
                return Ok(0);
            };
            let mut settled = Vec::new();
            let mut last = None;
            for e in docs::catalogue(&*self.store, &self.region, Some(DocKind::Reception))? {
                let id = e.id.id();
                if id == SCHEDULE_DOC_ID {
                    continue;
                }
                let Some((mut doc, stored)) = self.load(id)? else {
                    continue;
                };
                let before = doc.view()?;
                let ReceptionView::Booking(b) = &before else {
                    continue;
                };
                if b.status != sync::reception::BookingStatus::Requested {
                    continue;
                }
                let failed = std::cell::RefCell::new(None);
                let taken = |d: &str, s: &str, t: &str| {
                    idx::slot_taken(&*self.store, id, d, s, t).unwrap_or_else(|e| {
                        failed.borrow_mut().get_or_insert(e);
                        true
                    })
                };
                let settlement = sync::reception::settle(b, &schedule, calendar, &taken);
                if let Some(e) = failed.into_inner() {
                    return Err(e.into());
                }
                doc.apply(&settlement.command(), &ctx)?;
                let (_, ticket) = self.commit(
                    id,
                    &mut doc,
                    stored,
                    Some(&before),
                    crate::conversations::SYSTEM_LOGIN,
                    "reception.settle",
                    serde_json::json!({}),
                    now_ms,
                )?;
                settled.push(id.to_string());
                last = Some(ticket);
            }
            (settled, last)
        };
        if let Some(ticket) = last {
            let ids: Vec<&str> = settled.iter().map(String::as_str).collect();
            self.durable(ticket, &ids).await?;
        }
        Ok(settled.len())
    }

    /// On a fresh node with the demo reference lists: the demo schedule (sample data), unless
    /// one is set. A node given its own lists starts with no schedule: the official sets it.
    pub async fn ensure_demo_schedule(&self, now_ms: i64) -> ServiceResult<()> {
        if !self.reference().sample || self.schedule()?.is_some() {
            return Ok(());
        }
        let schedule: Schedule = serde_json::from_str(DEMO_SCHEDULE_JSON)
            .map_err(|e| DomainError::CorruptDocument(format!("demo schedule: {e}")))?;
        self.set_schedule(schedule, "system", now_ms).await?;
        Ok(())
    }

    /// Books a reception at the desk or from the app or bot through this node.
    pub async fn book(
        &self,
        input: &BookingInput,
        calendar: &WorkCalendar,
        utc_offset_min: i32,
        by: &str,
        now_ms: i64,
    ) -> ServiceResult<Booking> {
        let id = uuid::Uuid::new_v4().to_string();
        let ctx = Ctx::new(by, self.region.as_str(), now_ms);
        let (view, ticket) = {
            let _g = lock(&self.write);
            let schedule = self.schedule()?.ok_or_else(|| {
                DomainError::rule_field(
                    "reception_slot_unknown",
                    "session",
                    "no reception schedule is set",
                )
            })?;
            let out_of_schedule = self
                .day(&input.date)?
                .iter()
                .filter(|s| s.slot.session.is_none())
                .count() as u32;
            let queue =
                schedule.sessions.iter().map(|s| s.slots).max().unwrap_or(0) + out_of_schedule + 1;
            let reference = self.reference();
            let region = Region {
                code: &self.region,
                body: &self.body,
                schedule: &schedule,
                reference: &reference,
                calendar,
            };
            let today = Day::from_ms(now_ms, utc_offset_min);
            let record = prepare_booking(input, Via::Node, &region, &id, today, queue)?;
            if let Some(session) = &record.slot.session {
                if idx::slot_taken(
                    &*self.store,
                    &id,
                    &record.slot.date,
                    session,
                    &record.slot.time,
                )? {
                    return Err(DomainError::rule_field(
                        "reception_slot_taken",
                        "time",
                        format!(
                            "{} {} is already booked",
                            record.slot.date, record.slot.time
                        ),
                    )
                    .into());
                }
            }
            let mut doc =
                ReceptionDoc::create_booking(self.actor.clone(), &id, &self.region, &record, &ctx)?;
            let details = serde_json::json!({"date": record.slot.date, "time": record.slot.time, "origin": record.origin});
            self.commit(
                &id,
                &mut doc,
                Stored::New,
                None,
                by,
                "reception.book",
                details,
                now_ms,
            )?
        };
        self.durable(ticket, &[&id]).await?;
        booking_of(view)
    }

    /// Records that the reception took place (`held`) or did not, with its ЛП-1 fields.
    pub async fn record(
        &self,
        id: &str,
        held: bool,
        fields: BTreeMap<u8, String>,
        by: &str,
        now_ms: i64,
    ) -> ServiceResult<Booking> {
        let ctx = Ctx::new(by, self.region.as_str(), now_ms);
        let (view, ticket) = {
            let _g = lock(&self.write);
            let booking = self.get(id)?;
            let schedule = self.schedule()?.unwrap_or_default();
            let cmd = if held {
                check_record_held(&booking, &fields, &self.reference(), &schedule)?;
                ReceptionCommand::RecordHeld(fields)
            } else {
                check_record_not_held(&booking, &fields, &self.reference(), &schedule)?;
                ReceptionCommand::RecordNotHeld(fields)
            };
            let Some((mut doc, stored)) = self.load(id)? else {
                return Err(ServiceError::NotFound(format!(
                    "reception record {id} does not exist"
                )));
            };
            let before = doc.view()?;
            doc.apply(&cmd, &ctx)?;
            let action = if held {
                "reception.held"
            } else {
                "reception.not_held"
            };
            self.commit(
                id,
                &mut doc,
                stored,
                Some(&before),
                by,
                action,
                serde_json::json!({}),
                now_ms,
            )?
        };
        self.durable(ticket, &[id]).await?;
        booking_of(view)
    }

    /// Every record of this region as report 1-ОЛ section 5 counts it (the region's own
    /// report; the hub reads the same records replicated).
    pub fn report_entries(
        &self,
        utc_offset_min: i32,
    ) -> ServiceResult<Vec<sync::report_1ol::ReceptionEntry>> {
        let schedule = self.schedule()?;
        let reference = self.reference();
        let mut out = Vec::new();
        for e in docs::catalogue(&*self.store, &self.region, Some(DocKind::Reception))? {
            if e.id.id() == SCHEDULE_DOC_ID {
                continue;
            }
            let b = self.get(e.id.id())?;
            match sync::reception::report::entry(&b, schedule.as_ref(), &reference, utc_offset_min)
            {
                Some(entry) => out.push(entry),
                None => tracing::warn!(id = %e.id, "a reception record has no readable dates"),
            }
        }
        Ok(out)
    }

    /// Runs `f` on the automerge core of a stored document (replication export).
    pub fn with_doc<T>(
        &self,
        doc_id: &DocId,
        f: impl FnOnce(&mut automerge::AutoCommit) -> T,
    ) -> ServiceResult<T> {
        let (mut doc, _) = self
            .load(doc_id.id())?
            .ok_or_else(|| ServiceError::NotFound(format!("{doc_id} does not exist")))?;
        Ok(f(doc.automerge()))
    }

    /// Applies a peer's bytes (a request from the hub is settled before it is stored), with
    /// its indexes and an audit entry, and returns once durable.
    pub fn replica_import(
        &self,
        doc_id: &DocId,
        bytes: &[u8],
        by: &str,
        now_ms: i64,
        calendar: &WorkCalendar,
    ) -> Result<Vec<automerge::ChangeHash>, sync::protocol::RepoError> {
        use sync::protocol::RepoError;
        let storage = |e: String| RepoError::Storage(e);
        let id = doc_id.id();
        let ticket_heads = {
            let _g = lock(&self.write);
            let schedule = self.schedule().map_err(|e| storage(e.to_string()))?;
            let stored = self.load(id).map_err(|e| storage(e.to_string()))?;
            let rules = ReceptionRules {
                region: &self.region,
                settler: Some(Settler {
                    store: &*self.store,
                    schedule: schedule.as_ref(),
                    calendar,
                }),
            };
            let (ticket, Imported { heads, .. }, _) = kinds::import_replica(
                &rules,
                stored,
                doc_id,
                bytes,
                &self.actor,
                self.chunks_max,
                now_ms,
                kinds::ReplicaAudit {
                    audit: &self.audit,
                    gc: &self.gc,
                    by,
                    target: format!("reception/{id}"),
                },
                |_| Default::default(),
            )?;
            (ticket, heads)
        };
        self.gc
            .wait_durable(ticket_heads.0)
            .map_err(|e| storage(e.to_string()))?;
        Ok(ticket_heads.1)
    }
}

fn booking_of(view: ReceptionView) -> ServiceResult<Booking> {
    match view {
        ReceptionView::Booking(b) => Ok(*b),
        ReceptionView::Schedule { .. } => {
            Err(DomainError::CorruptDocument("a record reads as the schedule".into()).into())
        }
    }
}
