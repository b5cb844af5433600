//! Patrol and duty units: no index of their own (the node holds every configured unit in
//! memory); a change is a live event.

use sync::protocol::Priority;
use sync::{DomainError, Reference, Unit, UnitDoc};

use super::KindRules;
use crate::live::LiveEvent;
use crate::store::{StoreError, WriteBatch};

pub struct UnitRules<'a> {
    pub reference: &'a Reference,
}

impl KindRules for UnitRules<'_> {
    type Doc = UnitDoc;
    type View = Unit;

    fn view(&self, doc: &mut UnitDoc, now_ms: i64) -> Result<Unit, DomainError> {
        doc.view(self.reference, now_ms)
    }

    fn priority(&self, _unit: &Unit) -> Priority {
        Priority::Normal
    }

    fn stage_indexes(
        &self,
        _batch: &mut WriteBatch,
        _before: Option<&Unit>,
        after: &Unit,
    ) -> Result<Option<LiveEvent>, StoreError> {
        Ok(Some(LiveEvent::Unit(after.clone())))
    }
}
