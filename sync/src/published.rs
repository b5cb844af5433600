//! Published documents: a value replicated whole, written by one authority only — a region's
//! reference data (written by its node from its configuration) or a year of the national
//! working-day calendar (written at the hub).
//!
//! The value is one JSON scalar under the root key `value`, last writer wins; with a single
//! writer there is no concurrent write to lose. A writer that restarts (a new actor) and finds
//! an older copy from a peer publishes again only when the value differs, and its change then
//! follows the one it has seen, so it wins.

use automerge::{transaction::Transactable, AutoCommit, ROOT};
use serde::{de::DeserializeOwned, Serialize};

use crate::doc::{get_i64, get_str, Ctx, Document};
use crate::error::DomainError;

const VALUE: &str = "value";

/// A document holding one published value.
pub struct PublishedDoc {
    doc: AutoCommit,
}

impl Document for PublishedDoc {
    const SCHEMA_VERSION: i64 = 1;
    const KIND: &'static str = "published";

    fn wrap(doc: AutoCommit) -> Self {
        PublishedDoc { doc }
    }
    fn automerge(&mut self) -> &mut AutoCommit {
        &mut self.doc
    }
}

impl PublishedDoc {
    /// An empty document, nothing published yet.
    pub fn new(actor: automerge::ActorId) -> Result<Self, DomainError> {
        let mut doc = AutoCommit::new().with_actor(actor);
        doc.put(ROOT, "v", Self::SCHEMA_VERSION)?;
        Ok(PublishedDoc { doc })
    }

    /// The published value; `None` when nothing is published yet.
    pub fn value<T: DeserializeOwned>(&self) -> Result<Option<T>, DomainError> {
        match get_str(&self.doc, &ROOT, VALUE) {
            None => Ok(None),
            Some(json) => serde_json::from_str(&json)
                .map(Some)
                .map_err(|e| DomainError::CorruptDocument(format!("published value: {e}"))),
        }
    }

    /// When and by whom the value was last published.
    pub fn published(&self) -> Option<(i64, String)> {
        Some((
            get_i64(&self.doc, &ROOT, "published_at")?,
            get_str(&self.doc, &ROOT, "published_by")?,
        ))
    }

    /// Publishes `value`; `Ok(false)` (and no change) when it is already the published value.
    pub fn publish<T: Serialize + DeserializeOwned + PartialEq>(
        &mut self,
        value: &T,
        ctx: &Ctx,
    ) -> Result<bool, DomainError> {
        if self.value::<T>().ok().flatten().as_ref() == Some(value) {
            return Ok(false);
        }
        let json = serde_json::to_string(value)
            .map_err(|e| DomainError::field(VALUE, format!("cannot be written: {e}")))?;
        self.doc.put(ROOT, VALUE, json)?;
        self.doc.put(ROOT, "published_at", ctx.now_ms)?;
        self.doc.put(ROOT, "published_by", ctx.writer())?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::ActorId;

    #[test]
    fn a_value_round_trips_and_republishing_it_changes_nothing() {
        let mut doc = PublishedDoc::new(ActorId::from(vec![1u8; 16])).unwrap();
        assert_eq!(doc.value::<Vec<u32>>().unwrap(), None);
        let ctx = Ctx::new("system", "AST", 1_000);
        assert!(doc.publish(&vec![1u32, 2], &ctx).unwrap());
        let heads = doc.heads();
        assert!(!doc.publish(&vec![1u32, 2], &ctx).unwrap());
        assert_eq!(doc.heads(), heads);
        let bytes = doc.save();
        let back = PublishedDoc::load([bytes.as_slice()]).unwrap();
        assert_eq!(back.value::<Vec<u32>>().unwrap(), Some(vec![1, 2]));
        assert_eq!(back.published(), Some((1_000, "system@AST".into())));
    }

    #[test]
    fn a_restarted_writer_that_saw_the_old_copy_wins() {
        let ctx = Ctx::new("system", "AST", 1_000);
        let mut old = PublishedDoc::new(ActorId::from(vec![9u8; 16])).unwrap();
        old.publish(&"old".to_string(), &ctx).unwrap();
        // The writer restarted with a fresh store and actor, then received the old copy.
        let mut new = PublishedDoc::new(ActorId::from(vec![1u8; 16])).unwrap();
        new.publish(&"new".to_string(), &ctx).unwrap();
        new.merge(&mut old.fork(ActorId::from(vec![2u8; 16])))
            .unwrap();
        new.publish(&"new".to_string(), &ctx).unwrap();
        old.merge(&mut new.fork(ActorId::from(vec![3u8; 16])))
            .unwrap();
        assert_eq!(old.value::<String>().unwrap().as_deref(), Some("new"));
        assert_eq!(new.value::<String>().unwrap().as_deref(), Some("new"));
    }
}
