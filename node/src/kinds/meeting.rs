//! District inspectors' report meetings (R22–R26): one document per meeting.
//!
//! Indexes of a meeting, all from its one view:
//! - `idx/mtg/beat/{beat}/{date}/{id}` → [`MeetingSummary`], for every beat of the plan: a
//!   beat's meetings by date (a quarter is a range of it; the R22 coverage reads it);
//! - `idx/mtg/unsigned/{beat}/{date}/{id}` → [`MeetingSummary`], for every beat of the plan:
//!   meetings held whose protocol is not signed (or is being corrected), by the meeting's date:
//!   the head's overdue protocols are those dated before today (R24, R26 p.33);
//! - `idx/mtg/open/{beat}/{id}/{item}` → [`OpenItem`], for every beat of the plan: complaints,
//!   proposals and remarks not answered in full and not yet closed (R25).

use crate::store::{Store, StoreError, WriteBatch};
use serde::{Deserialize, Serialize};
use sync::calendar::Day;
use sync::meetings::doc::{ItemKind, ItemState, MeetingFormat};
use sync::meetings::{Meeting, MeetingDoc, MeetingStage};
use sync::protocol::Priority;
use sync::{DocId, DomainError};
use utoipa::ToSchema;

use super::KindRules;
use crate::live::LiveEvent;

/// What a beat's list, the coverage and the head's lists show of a meeting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MeetingSummary {
    pub id: String,
    pub beats: Vec<String>,
    pub format: MeetingFormat,
    pub date: Day,
    pub time: String,
    pub place_kk: String,
    pub place_ru: String,
    pub stage: MeetingStage,
    /// The protocol has a signed version and no correction is open.
    pub signed: bool,
    pub participants: u32,
    /// Items not answered in full and not closed.
    pub open_items: u32,
    pub hold: bool,
}

impl MeetingSummary {
    pub fn of(m: &Meeting) -> MeetingSummary {
        MeetingSummary {
            id: m.id.clone(),
            beats: m.plan.beats.clone(),
            format: m.plan.format,
            date: m.plan.date,
            time: m.plan.time.clone(),
            place_kk: m.plan.place_kk.clone(),
            place_ru: m.plan.place_ru.clone(),
            stage: m.stage,
            signed: m.signed(),
            participants: m.participants.len() as u32,
            open_items: open_items(m).count() as u32,
            hold: m.hold,
        }
    }
}

/// A complaint, proposal or remark still followed up (R25).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct OpenItem {
    pub meeting: String,
    pub beats: Vec<String>,
    pub date: Day,
    pub item: String,
    pub kind: ItemKind,
    pub text: String,
    pub state: ItemState,
    pub outside_competence: Option<String>,
}

fn open_items(m: &Meeting) -> impl Iterator<Item = &sync::meetings::doc::Item> {
    m.open_items()
}

pub fn beat_prefix(beat: &str) -> String {
    format!("idx/mtg/beat/{beat}/")
}

fn beat_key(beat: &str, date: Day, id: &str) -> String {
    format!("{}{date}/{id}", beat_prefix(beat))
}

pub fn unsigned_prefix(beat: &str) -> String {
    format!("idx/mtg/unsigned/{beat}/")
}

fn unsigned_key(beat: &str, date: Day, id: &str) -> String {
    format!("{}{date}/{id}", unsigned_prefix(beat))
}

pub fn open_prefix(beat: &str) -> String {
    format!("idx/mtg/open/{beat}/")
}

fn open_key(beat: &str, meeting: &str, item: &str) -> String {
    format!("{}{meeting}/{item}", open_prefix(beat))
}

/// Held and the protocol not (or no longer) signed.
fn unsigned(m: &Meeting) -> bool {
    m.stage == MeetingStage::Held && (m.signatures.is_empty() || m.correcting)
}

/// Reads JSON index entries under `prefix`, at most `max`, skipping unreadable ones.
pub fn scan<T: serde::de::DeserializeOwned>(
    store: &dyn Store,
    prefix: &str,
    max: usize,
) -> Result<Vec<T>, StoreError> {
    let mut out = Vec::new();
    for (k, v) in store.scan_prefix(prefix.as_bytes())? {
        if out.len() >= max {
            break;
        }
        match serde_json::from_slice::<T>(&v) {
            Ok(x) => out.push(x),
            Err(e) => {
                tracing::warn!(key = %String::from_utf8_lossy(&k), error = %e, "a meeting index entry is unreadable")
            }
        }
    }
    Ok(out)
}

/// The rules of a meeting document on this region's node.
pub struct MeetingRules<'a> {
    pub region: &'a str,
}

impl KindRules for MeetingRules<'_> {
    type Doc = MeetingDoc;
    type View = Meeting;

    fn view(&self, doc: &mut MeetingDoc, _now_ms: i64) -> Result<Meeting, DomainError> {
        doc.view()
    }

    fn check(&self, id: &DocId, view: &Meeting) -> Result<(), String> {
        if view.region != self.region || view.id != id.id() {
            return Err(format!(
                "{id} is not meeting {} of region {}",
                id.id(),
                self.region
            ));
        }
        Ok(())
    }

    fn priority(&self, view: &Meeting) -> Priority {
        let settled = match view.stage {
            MeetingStage::Cancelled => true,
            MeetingStage::Held => !unsigned(view) && open_items(view).next().is_none(),
            MeetingStage::Planned | MeetingStage::Noticed => false,
        };
        if settled {
            Priority::Archived
        } else {
            Priority::Normal
        }
    }

    fn stage_indexes(
        &self,
        batch: &mut WriteBatch,
        before: Option<&Meeting>,
        after: &Meeting,
    ) -> Result<Option<LiveEvent>, StoreError> {
        if let Some(b) = before {
            for beat in &b.plan.beats {
                batch.delete(beat_key(beat, b.plan.date, &b.id));
                batch.delete(unsigned_key(beat, b.plan.date, &b.id));
                for i in &b.items {
                    batch.delete(open_key(beat, &b.id, &i.id));
                }
            }
        }
        let summary = MeetingSummary::of(after);
        for beat in &after.plan.beats {
            batch.put_json(beat_key(beat, after.plan.date, &after.id), &summary)?;
            if unsigned(after) {
                batch.put_json(unsigned_key(beat, after.plan.date, &after.id), &summary)?;
            }
            for i in open_items(after) {
                batch.put_json(
                    open_key(beat, &after.id, &i.id),
                    &OpenItem {
                        meeting: after.id.clone(),
                        beats: after.plan.beats.clone(),
                        date: after.plan.date,
                        item: i.id.clone(),
                        kind: i.kind,
                        text: i.text.clone(),
                        state: i.state,
                        outside_competence: i.outside_competence.clone(),
                    },
                )?;
            }
        }
        Ok(None)
    }
}
