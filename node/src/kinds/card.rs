//! "102" cards: their indexes and number sequence keys.
//!
//! - `meta/seq/{year}/{seq}` → id: the number index, and the region's number sequence;
//! - `idx/day/{yyyymmdd}/{id}`: cards by the day they were created;
//! - `idx/st/{status}/{id}` → summary: open cards by status (the queues);
//! - `idx/unit/{unit}/{id}`: cards a unit was ever assigned to.

use sync::protocol::Priority;
use sync::{Card, CardDoc, CardStatus, CardSummary, DocId, DomainError, Reference};

use super::KindRules;
use crate::live::LiveEvent;
use crate::store::{StoreError, WriteBatch};

/// Open cards go first; closed ones last.
pub fn card_priority(status: CardStatus) -> Priority {
    if status.is_open() {
        Priority::Active
    } else {
        Priority::Archived
    }
}

pub fn status_key(status: CardStatus, id: &str) -> String {
    format!("idx/st/{}/{id}", status.as_str())
}

pub fn day_key(created_at_ms: i64) -> String {
    let dt = chrono::DateTime::from_timestamp_millis(created_at_ms).unwrap_or_default();
    dt.format("%Y%m%d").to_string()
}

pub use super::numbers::number_parts;

/// Key prefix of the card number index (and sequence).
pub const NUMBER_PREFIX: &str = "meta/seq/";

pub fn number_key(year: i32, seq: u64) -> String {
    format!("{NUMBER_PREFIX}{year}/{seq:020}")
}

/// The card kind's index rules, staged from one view of the card before and after a write: the
/// same for a card created here, changed by a command or arriving by replication (`before` is
/// `None` when the card is new to this store). Returns the summary the status index holds, for
/// the live event.
pub fn stage_card_indexes(
    batch: &mut WriteBatch,
    before: Option<&Card>,
    after: &Card,
) -> Result<CardSummary, StoreError> {
    let id = &after.id;
    match before {
        None => {
            if let Some((_, year, seq)) = number_parts(&after.number) {
                batch.put(number_key(year, seq), id.as_bytes().to_vec());
            }
            batch.put(
                format!("idx/day/{}/{id}", day_key(after.created_at)),
                Vec::new(),
            );
        }
        Some(before) if before.status != after.status => {
            batch.delete(status_key(before.status, id))
        }
        Some(_) => {}
    }
    let summary = CardSummary::from(after);
    if after.status.is_open() {
        batch.put_json(status_key(after.status, id), &summary)?;
    }
    for u in &after.units {
        if before.is_none_or(|b| b.unit(&u.unit_id).is_none()) {
            batch.put(format!("idx/unit/{}/{id}", u.unit_id), Vec::new());
        }
    }
    // Search, premise history and duplicate suggestions read these, never the documents.
    super::card_search::stage_search_indexes(batch, before, after)?;
    Ok(summary)
}

/// Cards of this node's region, read with its reference data.
pub struct CardRules<'a> {
    pub reference: &'a Reference,
    pub region: &'a str,
}

impl KindRules for CardRules<'_> {
    type Doc = CardDoc;
    type View = Card;

    fn view(&self, doc: &mut CardDoc, _now_ms: i64) -> Result<Card, DomainError> {
        doc.view(self.reference)
    }

    fn check(&self, id: &DocId, card: &Card) -> Result<(), String> {
        if card.id != id.id() || card.region != self.region {
            return Err(format!(
                "card {} is not a card of region {}",
                id.id(),
                self.region
            ));
        }
        Ok(())
    }

    fn priority(&self, card: &Card) -> Priority {
        card_priority(card.status)
    }

    fn stage_indexes(
        &self,
        batch: &mut WriteBatch,
        before: Option<&Card>,
        after: &Card,
    ) -> Result<Option<LiveEvent>, StoreError> {
        Ok(Some(LiveEvent::Card(stage_card_indexes(
            batch, before, after,
        )?)))
    }
}
