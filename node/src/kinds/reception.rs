//! Personal reception (R31): the region's schedule and its reception records.
//!
//! Indexes of a record (none for the schedule):
//! - `idx/rcp/day/{date}/{id}` → [`BookingSummary`]: a day's queue;
//! - `idx/rcp/slot/{date}/{session}/{time}` → id: the slot it holds (booked, held or not held;
//!   a refused record frees its slot, a request holds none until the region settles it).
//!
//! A request that arrives from the hub is settled here before it is stored
//! ([`KindRules::after_import`]): confirmed in its slot, moved to the first free one, or refused
//! (`sync::reception::settle`).

use crate::store::Store;
use serde::{Deserialize, Serialize};
use sync::calendar::WorkCalendar;
use sync::protocol::Priority;
use sync::reception::{
    settle, Booking, BookingStatus, Origin, ReceptionDoc, ReceptionView, Schedule, Slot, Via,
};
use sync::{Ctx, DocId, DomainError};
use utoipa::ToSchema;

use super::KindRules;
use crate::live::LiveEvent;
use crate::store::{StoreError, WriteBatch};

/// What a day's queue lists of a record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BookingSummary {
    pub id: String,
    pub status: BookingStatus,
    pub origin: Origin,
    pub via: Via,
    pub slot: Slot,
    /// Fields 11 and 12.
    pub surname: Option<String>,
    pub name: Option<String>,
}

impl BookingSummary {
    pub fn of(b: &Booking) -> BookingSummary {
        BookingSummary {
            id: b.id.clone(),
            status: b.status,
            origin: b.origin,
            via: b.via,
            slot: b.slot.clone(),
            surname: b.fields.get(&11).cloned(),
            name: b.fields.get(&12).cloned(),
        }
    }
}

pub fn day_prefix(date: &str) -> String {
    format!("idx/rcp/day/{date}/")
}

pub fn slot_key(date: &str, session: &str, time: &str) -> String {
    format!("idx/rcp/slot/{date}/{session}/{time}")
}

fn holds_slot(b: &Booking) -> Option<String> {
    let session = b.slot.session.as_deref()?;
    matches!(
        b.status,
        BookingStatus::Booked | BookingStatus::Held | BookingStatus::NotHeld
    )
    .then(|| slot_key(&b.slot.date, session, &b.slot.time))
}

/// Whether another record holds a slot (`id`: the record asking, which may hold it itself).
pub fn slot_taken(
    store: &dyn Store,
    id: &str,
    date: &str,
    session: &str,
    time: &str,
) -> Result<bool, StoreError> {
    Ok(store
        .get(slot_key(date, session, time).as_bytes())?
        .is_some_and(|holder| holder != id.as_bytes()))
}

/// What the node needs to settle a request from the hub.
pub struct Settler<'a> {
    pub store: &'a dyn Store,
    pub schedule: Option<&'a Schedule>,
    pub calendar: &'a WorkCalendar,
}

/// The rules of a reception document on this region's node.
pub struct ReceptionRules<'a> {
    pub region: &'a str,
    /// Present for replicated changes: requests are settled before they are stored.
    pub settler: Option<Settler<'a>>,
}

impl KindRules for ReceptionRules<'_> {
    type Doc = ReceptionDoc;
    type View = ReceptionView;

    fn view(&self, doc: &mut ReceptionDoc, _now_ms: i64) -> Result<ReceptionView, DomainError> {
        doc.view()
    }

    fn check(&self, id: &DocId, view: &ReceptionView) -> Result<(), String> {
        let (region, doc_id) = match view {
            ReceptionView::Schedule { region, .. } => (region, sync::reception::SCHEDULE_DOC_ID),
            ReceptionView::Booking(b) => (&b.region, b.id.as_str()),
        };
        if region != self.region || doc_id != id.id() {
            return Err(format!(
                "{id} is not reception document {} of region {}",
                id.id(),
                self.region
            ));
        }
        Ok(())
    }

    fn after_import(&self, doc: &mut ReceptionDoc, now_ms: i64) -> Result<(), DomainError> {
        let Some(settler) = &self.settler else {
            return Ok(());
        };
        let ReceptionView::Booking(b) = doc.view()? else {
            return Ok(());
        };
        // Without a schedule the request waits, listed as requested, until one is set.
        let (BookingStatus::Requested, Some(schedule)) = (b.status, settler.schedule) else {
            return Ok(());
        };
        let store_failed = std::cell::RefCell::new(None);
        let taken = |d: &str, s: &str, t: &str| match slot_taken(settler.store, &b.id, d, s, t) {
            Ok(x) => x,
            Err(e) => {
                store_failed.borrow_mut().get_or_insert(e.to_string());
                true
            }
        };
        let settlement = settle(&b, schedule, settler.calendar, &taken);
        if let Some(e) = store_failed.into_inner() {
            return Err(DomainError::CorruptDocument(format!(
                "the slots could not be read: {e}"
            )));
        }
        doc.apply(
            &settlement.command(),
            &Ctx::new("system", self.region, now_ms),
        )
    }

    fn priority(&self, view: &ReceptionView) -> Priority {
        match view {
            ReceptionView::Booking(b)
                if matches!(
                    b.status,
                    BookingStatus::Held | BookingStatus::NotHeld | BookingStatus::Refused
                ) =>
            {
                Priority::Archived
            }
            _ => Priority::Normal,
        }
    }

    fn stage_indexes(
        &self,
        batch: &mut WriteBatch,
        before: Option<&ReceptionView>,
        after: &ReceptionView,
    ) -> Result<Option<LiveEvent>, StoreError> {
        let ReceptionView::Booking(after) = after else {
            return Ok(None);
        };
        if let Some(ReceptionView::Booking(b)) = before {
            batch.delete(format!("{}{}", day_prefix(&b.slot.date), b.id));
            if let Some(k) = holds_slot(b) {
                batch.delete(k);
            }
        }
        batch.put_json(
            format!("{}{}", day_prefix(&after.slot.date), after.id),
            &BookingSummary::of(after),
        )?;
        if let Some(k) = holds_slot(after) {
            batch.put(k, after.id.as_bytes().to_vec());
        }
        Ok(None)
    }
}
