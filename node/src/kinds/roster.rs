//! Post roster days (R20): one document per date, read when asked; no index, no live event.

use sync::protocol::Priority;
use sync::{DocId, DomainError, RosterDoc, RosterEntry};

use super::KindRules;

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
}
