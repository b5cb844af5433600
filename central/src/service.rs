//! HQ's reads and writes of single cards over the hub's catalogue. The HTTP handlers check roles
//! and the shape of the input, then call here; this module knows no routes.
//!
//! Reads go to the store directly (sled reads need no lock). A write holds the region's catalogue
//! handle ([`Hub::repo`]) only while it loads, changes and stages the document, so that an import
//! of the same card by the region's session cannot interleave, and waits for its flush after
//! releasing it: the region's session goes on meanwhile and shares the flush; other regions
//! never wait for it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use automerge::ActorId;
use server_kit::docs::{self, DocError};
use server_kit::store::{Store, StoreError};
use sync::appeal::{Actor, Appeal, AppealCommand, AppealDoc, Env};
use sync::calendar::{CalendarYear, Day, WorkCalendar, KZ_UTC_OFFSET_MIN};
use sync::protocol::RepoError;
use sync::{
    Card, CardCommand, CardDoc, Ctx, DocId, DocKind, Document, DomainError, PublishedDoc, NATIONAL,
};
use thiserror::Error;

use crate::hub::Hub;
use crate::references::RegionReferences;

/// Why HQ's read or write of a card did not happen.
#[derive(Debug, Error)]
pub enum HqError {
    /// The region or id cannot name a card.
    #[error("no such card")]
    BadId,
    /// The hub holds no such card.
    #[error("card {0} is not at HQ")]
    NotFound(String),
    /// The card refuses the command in its current state.
    #[error(transparent)]
    Refused(#[from] DomainError),
    /// A calendar year that does not check (a date out of the year, a weekday listed as a
    /// moved working day...).
    #[error(transparent)]
    Calendar(#[from] sync::calendar::CalendarError),
    #[error("the national store failed: {0}")]
    Storage(String),
}

impl From<StoreError> for HqError {
    fn from(e: StoreError) -> Self {
        HqError::Storage(e.to_string())
    }
}

impl From<DocError> for HqError {
    fn from(e: DocError) -> Self {
        HqError::Storage(e.to_string())
    }
}

impl From<RepoError> for HqError {
    fn from(e: RepoError) -> Self {
        HqError::Storage(e.to_string())
    }
}

/// HQ's card operations.
pub struct HqService {
    hub: Arc<Hub>,
    store: Arc<dyn Store>,
    references: RegionReferences,
    /// The automerge actor of HQ's own writes in this process.
    actor: ActorId,
    /// The working-day calendar of the years the hub publishes, built on first use and again
    /// after a year is published.
    work_calendar: Mutex<Option<Arc<WorkCalendar>>>,
}

impl HqService {
    pub fn new(
        hub: Arc<Hub>,
        store: Arc<dyn Store>,
        references: RegionReferences,
        actor: ActorId,
    ) -> Self {
        HqService {
            hub,
            store,
            references,
            actor,
            work_calendar: Mutex::new(None),
        }
    }

    fn card_id(region: &str, id: &str) -> Result<DocId, HqError> {
        DocId::new(region, DocKind::Card, id).map_err(|_| HqError::BadId)
    }

    /// A region's card as the hub holds it.
    pub fn card(&self, region: &str, id: &str) -> Result<Card, HqError> {
        let doc_id = Self::card_id(region, id)?;
        let (doc, _) = docs::load(&*self.store, &doc_id)?
            .ok_or_else(|| HqError::NotFound(doc_id.to_string()))?;
        Ok(CardDoc::wrap(doc).view(&self.references.get(region))?)
    }

    /// Adds HQ's note, signed with `author` (a person's name), to a region's card and returns
    /// the card once the note is durable; the note then flows to the region. Blocking: call from
    /// a blocking thread.
    pub fn note(
        &self,
        region: &str,
        id: &str,
        author: &str,
        text: &str,
        now_ms: i64,
    ) -> Result<Card, HqError> {
        let doc_id = Self::card_id(region, id)?;
        let (card, gc) = {
            let repo = self.hub.repo(region);
            let mut repo = repo.lock().unwrap_or_else(|p| p.into_inner());
            let (doc, chunks) = docs::load(&*self.store, &doc_id)?
                .ok_or_else(|| HqError::NotFound(doc_id.to_string()))?;
            let mut doc = CardDoc::wrap(doc);
            doc.set_actor(self.actor.clone());
            let before = doc.heads();
            let ctx = Ctx::new(author, "central", now_ms);
            let reference = self.references.get(region);
            doc.apply(
                &CardCommand::HqNote {
                    text: text.to_string(),
                },
                &reference,
                &ctx,
            )?;
            let incremental = doc.automerge().save_after(&before);
            repo.store_doc(&doc_id, doc.automerge(), Some(chunks), &incremental)?;
            (doc.view(&reference)?, repo.group_commit().clone())
        };
        gc.wait_written()?;
        self.hub.notify_region(region, &doc_id.to_string());
        Ok(card)
    }

    /// The working-day calendar appeals' deadlines are judged on (R16): every year the hub
    /// publishes, and for a year it does not (yet) the embedded file it publishes first, as the
    /// regions' nodes count.
    pub fn work_calendar(&self) -> Result<Arc<WorkCalendar>, HqError> {
        let mut held = self
            .work_calendar
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(c) = held.as_ref() {
            return Ok(c.clone());
        }
        let mut years: BTreeMap<i32, CalendarYear> = sync::calendar::embedded_years()
            .map_err(|e| HqError::Storage(format!("the embedded calendar files do not read: {e}")))?
            .into_iter()
            .map(|y| (y.year, y))
            .collect();
        for y in self.calendar_years()? {
            years.insert(y.calendar.year, y.calendar);
        }
        let cal = Arc::new(WorkCalendar::new(years.values())?);
        *held = Some(cal.clone());
        Ok(cal)
    }

    /// Today in Kazakhstan (one time zone, UTC+5): the day national deadlines are judged on.
    pub fn today(now_ms: i64) -> Day {
        Day::from_ms(now_ms, KZ_UTC_OFFSET_MIN)
    }

    fn appeal_id(region: &str, id: &str) -> Result<DocId, HqError> {
        DocId::new(region, DocKind::Appeal, id).map_err(|_| HqError::BadId)
    }

    /// A region's appeal as the hub holds it, its deadline judged for `now_ms` (R16).
    pub fn appeal(&self, region: &str, id: &str, now_ms: i64) -> Result<Appeal, HqError> {
        let doc_id = Self::appeal_id(region, id)?;
        let (doc, _) = docs::load(&*self.store, &doc_id)?
            .ok_or_else(|| HqError::NotFound(doc_id.to_string()))?;
        let cal = self.work_calendar()?;
        Ok(AppealDoc::wrap(doc).view(Some((&cal, Self::today(now_ms))))?)
    }

    /// Adds HQ's control note, signed with `author` (a person's name), to a region's appeal and
    /// returns the appeal once the note is durable; the note then flows to the region, where it
    /// merges with whatever step the region took meanwhile (the history is append-only).
    /// Blocking: call from a blocking thread.
    pub fn appeal_note(
        &self,
        region: &str,
        id: &str,
        author: &str,
        text: &str,
        now_ms: i64,
    ) -> Result<Appeal, HqError> {
        let doc_id = Self::appeal_id(region, id)?;
        let cal = self.work_calendar()?;
        let (appeal, gc) = {
            let repo = self.hub.repo(region);
            let mut repo = repo.lock().unwrap_or_else(|p| p.into_inner());
            let (doc, chunks) = docs::load(&*self.store, &doc_id)?
                .ok_or_else(|| HqError::NotFound(doc_id.to_string()))?;
            let mut doc = AppealDoc::wrap(doc);
            doc.set_actor(self.actor.clone());
            let before = doc.heads();
            let reference = self.references.get(region);
            let env = Env {
                reference: &reference,
                calendar: &cal,
                utc_offset_min: reference.shifts.utc_offset_min,
            };
            let actor = Actor {
                name: Some(author.to_string()),
                service: None,
                hq: true,
            };
            doc.apply(
                &AppealCommand::Note {
                    text: text.to_string(),
                },
                &actor,
                &env,
                &Ctx::new(author, "central", now_ms),
            )?;
            let incremental = doc.automerge().save_after(&before);
            repo.store_doc(&doc_id, doc.automerge(), Some(chunks), &incremental)?;
            (
                doc.view(Some((&cal, Self::today(now_ms))))?,
                repo.group_commit().clone(),
            )
        };
        gc.wait_written()?;
        self.hub.notify_region(region, &doc_id.to_string());
        Ok(appeal)
    }

    /// A citizen's reception booking made through the hub for `region` (R31), which may be cut
    /// off: checked against the region's replicated schedule, the national calendar and the
    /// reception reference lists (`sync::reception::prepare_booking` with `Via::Hub`), stored
    /// as a `requested` record in the region's namespace (`{region}/reception/{id}`), durable
    /// when this returns, then offered to the region, whose node confirms, moves or refuses it
    /// (`settle`). A booking out of schedule is the desk's decision, never the hub's. Blocking.
    pub fn book_reception(
        &self,
        region: &str,
        input: &sync::reception::BookingInput,
        by: &str,
        now_ms: i64,
    ) -> Result<sync::reception::Booking, HqError> {
        use sync::reception::{ReceptionDoc, ReceptionView, Via, SCHEDULE_DOC_ID};
        let schedule_id =
            DocId::new(region, DocKind::Reception, SCHEDULE_DOC_ID).map_err(|_| HqError::BadId)?;
        let schedule = match docs::load(&*self.store, &schedule_id)? {
            Some((doc, _)) => match ReceptionDoc::wrap(doc).view() {
                Ok(ReceptionView::Schedule { schedule, .. }) => schedule,
                _ => return Err(HqError::NotFound(schedule_id.to_string())),
            },
            None => return Err(HqError::NotFound(schedule_id.to_string())),
        };
        if input.out_of_schedule.is_some() {
            return Err(DomainError::rule_field(
                "reception_slot_unknown",
                "session",
                "a booking through the hub names a session of the schedule: a reception out of schedule is the region's desk's decision",
            )
            .into());
        }
        let calendar = self.work_calendar()?;
        let reception_reference = self.hub.report_1ol().reception_reference();
        let body = self.references.get(region).region.name_ru.clone();
        let id = uuid::Uuid::new_v4().to_string();
        let record = sync::reception::prepare_booking(
            input,
            Via::Hub,
            &sync::reception::Region {
                code: region,
                body: &body,
                schedule: &schedule,
                reference: &reception_reference,
                calendar: &calendar,
            },
            &id,
            Self::today(now_ms),
            0,
        )?;
        let doc_id = DocId::new(region, DocKind::Reception, &id).map_err(|_| HqError::BadId)?;
        let ctx = Ctx::new(by, "central", now_ms);
        let mut doc = ReceptionDoc::create_booking(self.actor.clone(), &id, region, &record, &ctx)?;
        let gc = {
            let repo = self.hub.repo(region);
            let mut repo = repo.lock().unwrap_or_else(|p| p.into_inner());
            repo.store_doc(&doc_id, doc.automerge(), None, &[])?;
            repo.group_commit().clone()
        };
        gc.wait_written()?;
        self.hub.notify_region(region, &doc_id.to_string());
        match doc.view()? {
            ReceptionView::Booking(b) => Ok(*b),
            ReceptionView::Schedule { .. } => Err(HqError::Storage(
                "a new reception record reads as a schedule".into(),
            )),
        }
    }

    /// The national working-day calendar years the hub publishes, by year.
    pub fn calendar_years(&self) -> Result<Vec<PublishedCalendarYear>, HqError> {
        let mut years = Vec::new();
        for entry in docs::catalogue(&*self.store, NATIONAL, Some(DocKind::Calendar))? {
            let Some((doc, _)) = docs::load(&*self.store, &entry.id)? else {
                continue;
            };
            let doc = PublishedDoc::wrap(doc);
            if let Some(calendar) = doc.value::<CalendarYear>()? {
                years.push(PublishedCalendarYear {
                    calendar,
                    published_at: doc.published().map(|(at, _)| at),
                    published_by: doc.published().map(|(_, by)| by),
                });
            }
        }
        years.sort_by_key(|y| y.calendar.year);
        Ok(years)
    }

    /// Publishes a calendar year (a decree replaced a computed year, a holiday moved) as the
    /// national document `KZ/calendar/{year}`, once durable, and offers it to every region.
    /// `Ok(false)`: the hub already publishes exactly this year. Blocking.
    pub fn publish_calendar(
        &self,
        calendar: &CalendarYear,
        by: &str,
        now_ms: i64,
    ) -> Result<bool, HqError> {
        calendar.validate()?;
        let doc_id = DocId::new(NATIONAL, DocKind::Calendar, &calendar.year.to_string())
            .map_err(|_| HqError::BadId)?;
        let gc = {
            let repo = self.hub.repo(NATIONAL);
            let mut repo = repo.lock().unwrap_or_else(|p| p.into_inner());
            let loaded = docs::load(&*self.store, &doc_id)?;
            let (mut doc, chunks) = match loaded {
                Some((doc, chunks)) => (PublishedDoc::wrap(doc), Some(chunks)),
                None => (PublishedDoc::new(self.actor.clone())?, None),
            };
            doc.set_actor(self.actor.clone());
            let before = doc.heads();
            if !doc.publish(calendar, &Ctx::new(by, "central", now_ms))? {
                return Ok(false);
            }
            let incremental = match chunks {
                Some(_) => doc.automerge().save_after(&before),
                None => Vec::new(),
            };
            repo.store_doc(&doc_id, doc.automerge(), chunks, &incremental)?;
            repo.group_commit().clone()
        };
        gc.wait_written()?;
        *self
            .work_calendar
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;
        self.hub.notify_all(&doc_id.to_string());
        Ok(true)
    }

    /// Publishes the embedded calendar years the hub does not hold yet (first start, or a
    /// build that ships a new year); a year already held, possibly replaced by an
    /// administrator, is left as it is. Returns how many were published. Blocking.
    pub fn publish_embedded_calendars(&self, now_ms: i64) -> Result<usize, HqError> {
        let embedded = sync::calendar::embedded_years().map_err(|e| {
            HqError::Storage(format!("the embedded calendar files do not read: {e}"))
        })?;
        let mut published = 0;
        for year in embedded {
            let id = DocId::new(NATIONAL, DocKind::Calendar, &year.year.to_string())
                .map_err(|_| HqError::BadId)?;
            if !docs::exists(&*self.store, &id)?
                && self.publish_calendar(&year, "system", now_ms)?
            {
                published += 1;
            }
        }
        Ok(published)
    }
}

/// A calendar year as the hub publishes it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct PublishedCalendarYear {
    pub calendar: CalendarYear,
    pub published_at: Option<i64>,
    /// `login@central` of whoever published it (`system` for the embedded files).
    pub published_by: Option<String>,
}
