//! Published documents: this region's reference data (written by this node from its
//! configuration) and the national working-day calendar years (written at the hub). No index;
//! consoles read them when asked.

use sync::calendar::CalendarYear;
use sync::protocol::Priority;
use sync::{Ctx, DocId, DomainError, PublishedDoc, Reference};

use super::KindRules;

/// This region's reference data: the configuration is what this node publishes, also over an
/// older copy that comes back from the hub (after a restore).
pub struct ReferenceRules<'a> {
    pub reference: &'a Reference,
}

impl KindRules for ReferenceRules<'_> {
    type Doc = PublishedDoc;
    type View = Option<Reference>;

    fn view(&self, doc: &mut PublishedDoc, _now_ms: i64) -> Result<Option<Reference>, DomainError> {
        doc.value()
    }

    fn after_import(&self, doc: &mut PublishedDoc, now_ms: i64) -> Result<(), DomainError> {
        let region = self.reference.region.code.as_str();
        doc.publish(self.reference, &Ctx::new("system", region, now_ms))?;
        Ok(())
    }

    fn priority(&self, _view: &Option<Reference>) -> Priority {
        Priority::Active
    }
}

/// A national calendar year from the hub: refused unless it checks and is the year its id says.
pub struct CalendarRules;

impl KindRules for CalendarRules {
    type Doc = PublishedDoc;
    type View = Option<CalendarYear>;

    fn view(
        &self,
        doc: &mut PublishedDoc,
        _now_ms: i64,
    ) -> Result<Option<CalendarYear>, DomainError> {
        let year: Option<CalendarYear> = doc.value()?;
        if let Some(y) = &year {
            y.validate()
                .map_err(|e| DomainError::field("calendar", e.to_string()))?;
        }
        Ok(year)
    }

    fn check(&self, id: &DocId, year: &Option<CalendarYear>) -> Result<(), String> {
        match year {
            Some(y) if id.id() != y.year.to_string() => {
                Err(format!("{id} holds the calendar of {}", y.year))
            }
            _ => Ok(()),
        }
    }

    fn priority(&self, _view: &Option<CalendarYear>) -> Priority {
        Priority::Normal
    }
}
