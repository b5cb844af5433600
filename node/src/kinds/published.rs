//! Published documents: this region's reference data and beats register (written by this node
//! from its configuration) and the national working-day calendar years (written at the hub). No index;
//! consoles read them when asked.

use serde::{de::DeserializeOwned, Serialize};
use sync::calendar::CalendarYear;
use sync::protocol::Priority;
use sync::{Ctx, DocId, DomainError, PublishedDoc};

use super::KindRules;

/// A value this node publishes from its configuration (the region's reference data, its beats
/// register): the configuration is what is published, also over an older copy that comes back
/// from the hub (after a restore). Without a value (not published yet on this start) the copy
/// is taken as it is.
pub struct OwnRules<'a, T> {
    pub region: &'a str,
    pub value: Option<&'a T>,
}

impl<T> KindRules for OwnRules<'_, T>
where
    T: Serialize + DeserializeOwned + PartialEq,
{
    type Doc = PublishedDoc;
    type View = Option<T>;

    fn view(&self, doc: &mut PublishedDoc, _now_ms: i64) -> Result<Option<T>, DomainError> {
        doc.value()
    }

    fn after_import(&self, doc: &mut PublishedDoc, now_ms: i64) -> Result<(), DomainError> {
        if let Some(value) = self.value {
            doc.publish(value, &Ctx::new("system", self.region, now_ms))?;
        }
        Ok(())
    }

    fn priority(&self, _view: &Option<T>) -> Priority {
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
