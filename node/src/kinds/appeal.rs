//! Citizens' appeals: their indexes and number sequence keys.
//!
//! - `meta/ap/seq/{year}/{seq:020}` → id: the registration number index and the region's
//!   appeal number sequence (separate from the cards');
//! - `idx/ap/st/{status}/{id}` → summary: appeals by status (the registrar's incoming list,
//!   national counts);
//! - `idx/ap/svc/{service}/{id}` → summary: open appeals of a service (the manager's board);
//! - `idx/ap/off/{officer}/{id}` → summary: open appeals of an officer ("my appeals");
//! - `idx/ap/crime/{id}` → summary: appeals flagged with signs of a crime (R14, R33);
//! - `idx/ap/day/{yyyymmdd}/{id}`: appeals by the day they were received;
//! - `idx/ap/fp/{id}` → the appeal's duplicate-check fingerprint, and `idx/ap/dup/{key}/{id}`
//!   its index keys (R28, R38; [`crate::appeals::duplicates`]).

use sync::appeal::{Appeal, AppealDoc, AppealSummary};
use sync::protocol::Priority;
use sync::{DocId, DomainError};

use super::KindRules;
use crate::live::LiveEvent;
use crate::store::{StoreError, WriteBatch};

/// Key prefix of the appeal number index (and sequence).
pub const NUMBER_PREFIX: &str = "meta/ap/seq/";

pub fn number_key(year: i32, seq: u64) -> String {
    format!("{NUMBER_PREFIX}{year}/{seq:020}")
}

pub fn status_key(status: &str, id: &str) -> String {
    format!("idx/ap/st/{status}/{id}")
}

pub fn service_key(service: &str, id: &str) -> String {
    format!("idx/ap/svc/{service}/{id}")
}

pub fn officer_key(officer: &str, id: &str) -> String {
    format!("idx/ap/off/{officer}/{id}")
}

pub fn crime_key(id: &str) -> String {
    format!("idx/ap/crime/{id}")
}

/// Stages the appeal's indexes from its views before (`None`: new to this store) and after a
/// write. Returns its summary for the live event.
pub fn stage_appeal_indexes(
    batch: &mut WriteBatch,
    before: Option<&Appeal>,
    after: &Appeal,
) -> Result<AppealSummary, StoreError> {
    let id = &after.id;
    let summary = after.summary();
    if let Some(b) = before {
        batch.delete(status_key(b.status.as_str(), id));
        if let Some(s) = &b.service {
            batch.delete(service_key(s, id));
        }
        if let Some(o) = &b.officer {
            batch.delete(officer_key(o, id));
        }
    } else {
        batch.put(
            format!(
                "idx/ap/day/{}/{id}",
                super::card::day_key(after.received_at)
            ),
            Vec::new(),
        );
    }
    if before.and_then(|b| b.number.as_ref()).is_none() {
        if let Some((_, year, seq)) = after
            .number
            .as_deref()
            .and_then(super::numbers::number_parts)
        {
            batch.put(number_key(year, seq), id.as_bytes().to_vec());
        }
    }
    batch.put_json(status_key(after.status.as_str(), id), &summary)?;
    if after.status.is_open() {
        if let Some(s) = &after.service {
            batch.put_json(service_key(s, id), &summary)?;
        }
        if let Some(o) = &after.officer {
            batch.put_json(officer_key(o, id), &summary)?;
        }
    }
    if after.crime_signs {
        batch.put_json(crime_key(id), &summary)?;
    } else if before.is_some_and(|b| b.crime_signs) {
        batch.delete(crime_key(id));
    }
    // The fingerprint comes from the intake, which never changes: written once.
    if before.is_none() {
        crate::appeals::duplicates::stage(batch, after)?;
    }
    Ok(summary)
}

/// Appeals of this node's region.
pub struct AppealRules<'a> {
    pub region: &'a str,
}

impl KindRules for AppealRules<'_> {
    type Doc = AppealDoc;
    type View = Appeal;

    fn view(&self, doc: &mut AppealDoc, _now_ms: i64) -> Result<Appeal, DomainError> {
        doc.view(None)
    }

    fn check(&self, id: &DocId, a: &Appeal) -> Result<(), String> {
        if a.id != id.id() || a.region != self.region {
            return Err(format!(
                "appeal {} is not an appeal of region {}",
                id.id(),
                self.region
            ));
        }
        Ok(())
    }

    fn priority(&self, a: &Appeal) -> Priority {
        if a.status.is_open() {
            Priority::Normal
        } else {
            Priority::Archived
        }
    }

    fn stage_indexes(
        &self,
        batch: &mut WriteBatch,
        before: Option<&Appeal>,
        after: &Appeal,
    ) -> Result<Option<LiveEvent>, StoreError> {
        Ok(Some(LiveEvent::Appeal(stage_appeal_indexes(
            batch, before, after,
        )?)))
    }
}
