//! Published documents on the node: this region's reference data, which the node writes from its
//! configuration on every start (so a changed configuration replicates to the hub), and the
//! national working-day calendar years, which only the hub writes and the node receives.

use std::sync::{Arc, Mutex, PoisonError, RwLock};

use automerge::{ActorId, ChangeHash};
use serde::Serialize;
use server_kit::docs::{self, DocError, Stored};
use sync::calendar::CalendarYear;
use sync::protocol::RepoError;
use sync::{
    Ctx, DocId, DocIdError, DocKind, Document, DomainError, PublishedDoc, Reference, NATIONAL,
};
use thiserror::Error;
use utoipa::ToSchema;

use crate::audit::{AuditInput, AuditLog};
use crate::kinds::{
    self,
    published::{CalendarRules, OwnRules},
    KindRules,
};
use crate::store::{GroupCommit, Store, StoreError, WriteBatch};

/// The id of a region's one reference document (`{REGION}/reference/region`).
pub const REFERENCE_DOC_ID: &str = "region";

/// Why a published document could not be read or written.
#[derive(Debug, Error)]
pub enum PublishedError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Doc(#[from] DocError),
    #[error(transparent)]
    DocId(#[from] DocIdError),
}

/// A calendar year as the node holds it, with when the hub published it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HeldCalendarYear {
    pub calendar: CalendarYear,
    pub published_at: Option<i64>,
}

/// The node's published documents.
pub struct PublishedDocs {
    store: Arc<dyn Store>,
    gc: Arc<GroupCommit>,
    audit: Arc<AuditLog>,
    reference: Arc<Reference>,
    actor: ActorId,
    chunks_max: usize,
    /// The beats register this start published ([`Self::publish_beats`]).
    beats: RwLock<Option<Arc<sync::meetings::BeatsRegister>>>,
    /// Serialises changes (rare: a start, a replicated change).
    lock: Mutex<()>,
}

impl PublishedDocs {
    pub fn new(
        store: Arc<dyn Store>,
        gc: Arc<GroupCommit>,
        audit: Arc<AuditLog>,
        reference: Arc<Reference>,
        actor: ActorId,
        chunks_max: usize,
    ) -> Self {
        PublishedDocs {
            store,
            gc,
            audit,
            reference,
            actor,
            chunks_max,
            beats: RwLock::new(None),
            lock: Mutex::new(()),
        }
    }

    fn guard(&self) -> std::sync::MutexGuard<'_, ()> {
        self.lock.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn reference_id(&self) -> Result<DocId, DocIdError> {
        DocId::new(
            &self.reference.region.code,
            DocKind::Reference,
            REFERENCE_DOC_ID,
        )
    }

    /// A stored published document, or a new empty one.
    fn load(&self, id: &DocId) -> Result<(PublishedDoc, Stored), PublishedError> {
        match docs::load_bytes(&*self.store, id)? {
            Some(bytes) => {
                let mut doc = PublishedDoc::load(bytes.iter().map(|b| b.as_slice()))?;
                doc.set_actor(self.actor.clone());
                Ok((doc, Stored::Chunks(bytes.len() - 1)))
            }
            None => Ok((PublishedDoc::new(self.actor.clone())?, Stored::New)),
        }
    }

    /// Runs `f` on a stored published document; `None` when it is not stored.
    pub fn with_doc<T>(
        &self,
        id: &DocId,
        f: impl FnOnce(&mut automerge::AutoCommit) -> T,
    ) -> Result<Option<T>, PublishedError> {
        let _g = self.guard();
        match self.load(id)? {
            (_, Stored::New) => Ok(None),
            (mut doc, _) => Ok(Some(f(doc.automerge()))),
        }
    }

    /// Publishes this region's reference data from the configuration when the stored document
    /// holds something else (first start, a changed configuration), once durable.
    /// `Ok(false)`: unchanged.
    pub async fn publish_reference(&self, now_ms: i64) -> Result<bool, PublishedError> {
        let details = serde_json::json!({
            "districts": self.reference.districts.len(),
            "categories": self.reference.categories.len(),
            "duty_units": self.reference.duty_units.len(),
        });
        self.publish_own(
            &self.reference_id()?,
            &*self.reference,
            "reference.publish",
            details,
            now_ms,
        )
        .await
    }

    /// Publishes the region's beats register (what HQ's national table of report meetings
    /// counts, R22) from the beats reference when it changed, once durable; it is kept for
    /// the copies that come back from the hub. `Ok(false)`: unchanged.
    pub async fn publish_beats(
        &self,
        beats: &sync::meetings::BeatsReference,
        now_ms: i64,
    ) -> Result<bool, PublishedError> {
        let register = Arc::new(beats.register(&self.reference.region.code));
        *self.beats.write().unwrap_or_else(PoisonError::into_inner) = Some(register.clone());
        let id = DocId::new(
            &self.reference.region.code,
            DocKind::Reference,
            sync::meetings::BEATS_DOC_ID,
        )?;
        let details =
            serde_json::json!({ "beats": register.beats.len(), "sample": register.sample });
        self.publish_own(&id, &*register, "meetings.beats_publish", details, now_ms)
            .await
    }

    /// Publishes `value` under `id` (a document of this region's own) when the stored one holds
    /// something else, with an audit entry, once durable. `Ok(false)`: unchanged.
    async fn publish_own<T>(
        &self,
        id: &DocId,
        value: &T,
        action: &'static str,
        details: serde_json::Value,
        now_ms: i64,
    ) -> Result<bool, PublishedError>
    where
        T: Serialize + serde::de::DeserializeOwned + PartialEq,
    {
        let ticket = {
            let _g = self.guard();
            let (mut doc, stored) = self.load(id)?;
            let region = self.reference.region.code.as_str();
            let ctx = Ctx::new("system", region, now_ms);
            if !doc.publish(value, &ctx)? {
                return Ok(false);
            }
            let mut batch = WriteBatch::new();
            let mut stored = stored;
            kinds::stage_write(
                &OwnRules {
                    region,
                    value: Some(value),
                },
                &mut batch,
                id,
                &mut doc,
                &mut stored,
                None,
                self.chunks_max,
                now_ms,
            )
            .map_err(|e| match e {
                kinds::StageError::Domain(e) => PublishedError::Domain(e),
                kinds::StageError::Store(e) => PublishedError::Store(e),
                kinds::StageError::Mismatch(m) => {
                    PublishedError::Domain(DomainError::CorruptDocument(m))
                }
            })?;
            self.audit.record(
                &self.gc,
                batch,
                AuditInput::new("system", action, id.to_string(), details),
                now_ms,
            )?
        };
        self.gc.wait_async(ticket).await?;
        Ok(true)
    }

    /// The national calendar years received from the hub, by year.
    pub fn calendar_years(&self) -> Result<Vec<HeldCalendarYear>, PublishedError> {
        let mut years = Vec::new();
        for entry in docs::catalogue(&*self.store, NATIONAL, Some(DocKind::Calendar))? {
            let (doc, stored) = self.load(&entry.id)?;
            if stored == Stored::New {
                continue;
            }
            if let Some(calendar) = doc.value::<CalendarYear>()? {
                years.push(HeldCalendarYear {
                    calendar,
                    published_at: doc.published().map(|(at, _)| at),
                });
            }
        }
        years.sort_by_key(|y| y.calendar.year);
        Ok(years)
    }

    /// Loads the document (or takes the one the bytes hold) and imports through `rules`.
    fn apply<K: KindRules<Doc = PublishedDoc>>(
        &self,
        rules: &K,
        batch: &mut WriteBatch,
        id: &DocId,
        bytes: &[u8],
        now_ms: i64,
    ) -> Result<kinds::Imported, RepoError> {
        let _g = self.guard();
        let (doc, mut stored) = self
            .load(id)
            .map_err(|e| RepoError::Storage(e.to_string()))?;
        let mut doc = kinds::receiving(doc, stored, bytes, &self.actor)?;
        kinds::import(
            rules,
            batch,
            id,
            &mut doc,
            &mut stored,
            bytes,
            self.chunks_max,
            now_ms,
        )
    }

    /// Applies a peer's bytes to a published document and stages it into `batch`
    /// ([`kinds::import`] with the kind's rules); returns the new heads.
    pub fn import(
        &self,
        batch: &mut WriteBatch,
        id: &DocId,
        bytes: &[u8],
        now_ms: i64,
    ) -> Result<Vec<ChangeHash>, RepoError> {
        let imported = match id.kind() {
            DocKind::Calendar => self.apply(&CalendarRules, batch, id, bytes, now_ms)?,
            DocKind::Reference
                if id.region() == self.reference.region.code
                    && id.id() == sync::meetings::BEATS_DOC_ID =>
            {
                let beats = self
                    .beats
                    .read()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone();
                let rules = OwnRules {
                    region: &self.reference.region.code,
                    value: beats.as_deref(),
                };
                self.apply(&rules, batch, id, bytes, now_ms)?
            }
            DocKind::Reference if id.region() == self.reference.region.code => {
                let rules = OwnRules {
                    region: &self.reference.region.code,
                    value: Some(&*self.reference),
                };
                self.apply(&rules, batch, id, bytes, now_ms)?
            }
            _ => {
                return Err(RepoError::Refused(format!(
                    "{id} is not a published document this node holds"
                )))
            }
        };
        Ok(imported.heads)
    }
}
