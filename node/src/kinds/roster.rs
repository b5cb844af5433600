//! Post roster days (R20): one document per date, read when asked; no index, no live event.

use sync::protocol::Priority;
use sync::{DocId, DomainError, RosterDoc, RosterEntry};

use super::KindRules;
use crate::live::LiveEvent;
use crate::store::{StoreError, WriteBatch};

pub struct RosterRules;

impl KindRules for RosterRules {
    type Doc = RosterDoc;
    type View = Vec<RosterEntry>;

    fn view(&self, doc: &mut RosterDoc, _now_ms: i64) -> Result<Vec<RosterEntry>, DomainError> {
        doc.entries()
    }

    fn check(&self, id: &DocId, _entries: &Vec<RosterEntry>) -> Result<(), String> {
        sync::roster::validate_date(id.id()).map_err(|e| e.to_string())
    }

    fn priority(&self, _entries: &Vec<RosterEntry>) -> Priority {
        Priority::Normal
    }

    fn stage_indexes(
        &self,
        _batch: &mut WriteBatch,
        _before: Option<&Vec<RosterEntry>>,
        _after: &Vec<RosterEntry>,
    ) -> Result<Option<LiveEvent>, StoreError> {
        Ok(None)
    }
}
