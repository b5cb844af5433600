//! HQ's reads and writes of single cards over the hub's catalogue. The HTTP handlers check roles
//! and the shape of the input, then call here; this module knows no routes.
//!
//! Reads go to the store directly (sled reads need no lock). A write holds the catalogue's lock
//! only while it loads, changes and stages the document, so that an import of the same card by
//! the region's session cannot interleave, and waits for its flush after releasing it: regions'
//! sessions go on meanwhile and share the flush.

use std::sync::Arc;

use automerge::ActorId;
use server_kit::docs::{self, DocError};
use server_kit::store::{Store, StoreError};
use sync::protocol::RepoError;
use sync::{Card, CardCommand, CardDoc, Ctx, DocId, DocKind, Document, DomainError, Reference};
use thiserror::Error;

use crate::hub::Hub;

/// Why HQ's read or write of a card did not happen.
#[derive(Debug, Error)]
pub enum HqError {
    /// The region or id cannot name a card.
    #[error("no such card")]
    BadId,
    /// The hub holds no such card.
    #[error("card {0} is not at HQ")]
    NotFound(String),
    /// The card refuses the command in its current state.
    #[error(transparent)]
    Refused(#[from] DomainError),
    #[error("the national store failed: {0}")]
    Storage(String),
}

impl From<StoreError> for HqError {
    fn from(e: StoreError) -> Self {
        HqError::Storage(e.to_string())
    }
}

impl From<DocError> for HqError {
    fn from(e: DocError) -> Self {
        HqError::Storage(e.to_string())
    }
}

impl From<RepoError> for HqError {
    fn from(e: RepoError) -> Self {
        HqError::Storage(e.to_string())
    }
}

/// HQ's card operations.
pub struct HqService {
    hub: Arc<Hub>,
    store: Arc<dyn Store>,
    reference: Arc<Reference>,
    /// The automerge actor of HQ's own writes in this process.
    actor: ActorId,
}

impl HqService {
    pub fn new(
        hub: Arc<Hub>,
        store: Arc<dyn Store>,
        reference: Arc<Reference>,
        actor: ActorId,
    ) -> Self {
        HqService {
            hub,
            store,
            reference,
            actor,
        }
    }

    fn card_id(region: &str, id: &str) -> Result<DocId, HqError> {
        DocId::new(region, DocKind::Card, id).map_err(|_| HqError::BadId)
    }

    /// A region's card as the hub holds it.
    pub fn card(&self, region: &str, id: &str) -> Result<Card, HqError> {
        let doc_id = Self::card_id(region, id)?;
        let (doc, _) = docs::load(&*self.store, &doc_id)?
            .ok_or_else(|| HqError::NotFound(doc_id.to_string()))?;
        Ok(CardDoc::wrap(doc).view(&self.reference)?)
    }

    /// Adds HQ's note, signed with `author` (a person's name), to a region's card and returns
    /// the card once the note is durable; the note then flows to the region. Blocking: call from
    /// a blocking thread.
    pub fn note(
        &self,
        region: &str,
        id: &str,
        author: &str,
        text: &str,
        now_ms: i64,
    ) -> Result<Card, HqError> {
        let doc_id = Self::card_id(region, id)?;
        let (card, gc) = {
            let mut repo = self.hub.repo.lock().unwrap_or_else(|p| p.into_inner());
            let (doc, chunks) = docs::load(&*self.store, &doc_id)?
                .ok_or_else(|| HqError::NotFound(doc_id.to_string()))?;
            let mut doc = CardDoc::wrap(doc);
            doc.set_actor(self.actor.clone());
            let before = doc.heads();
            let ctx = Ctx::new(author, "central", now_ms);
            doc.apply(
                &CardCommand::HqNote {
                    text: text.to_string(),
                },
                &self.reference,
                &ctx,
            )?;
            let incremental = doc.automerge().save_after(&before);
            repo.store_doc(&doc_id, doc.automerge(), Some(chunks), &incremental)?;
            (doc.view(&self.reference)?, repo.group_commit().clone())
        };
        gc.wait_written()?;
        self.hub.notify_region(region, &doc_id.to_string());
        Ok(card)
    }
}
