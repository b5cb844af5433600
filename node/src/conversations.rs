//! Citizens' text conversations as stored documents: the node's shell around the sans-IO
//! conversation ([`sync::conversation`]). It loads, steps and stores each conversation with its
//! indexes ([`crate::kinds::conversation`]) and an audit entry in one group-committed batch, and
//! applies replicated changes. The inbox's own work (rate limits, the outbox, cards and
//! appeals) is [`crate::channels::inbox`]'s; the card service owns this part so that
//! replication reaches conversations like every other kind.
//!
//! A write holds its conversation's stripe lock from load until its batch is applied, so two
//! writes to one conversation never write the same chunk.

use std::sync::{Arc, Mutex, PoisonError};

use automerge::ActorId;
use server_kit::docs::{self, Stored};
use sync::conversation::{
    Conversation, ConversationCommand, ConversationDoc, ConversationState, ConversationSummary,
};
use sync::{Channel, Ctx, DocId, DocKind, Document};
use tokio::sync::broadcast;

use crate::audit::{AuditInput, AuditLog};
use crate::kinds::conversation::{self as idx, ConversationRules};
use crate::kinds::{self, Imported};
use crate::live::LiveEvent;
use crate::service_error::{ServiceError, ServiceResult};
use crate::store::{GroupCommit, Store, WriteBatch};

/// The login the node's own steps are written under.
pub const SYSTEM_LOGIN: &str = "system";
/// Stripes of the per-conversation write lock.
const WRITE_STRIPES: usize = 64;
/// Most conversations one inbox list returns.
pub const CONVERSATION_LIST_MAX: usize = 500;

/// A staged write: visible, not yet durable. [`ConversationDocs::done`] waits for it and then
/// tells the consoles.
pub struct Staged {
    pub view: Conversation,
    pub ticket: u64,
    live: Option<LiveEvent>,
}

/// What a write records in the audit log.
pub struct AuditNote {
    pub action: &'static str,
    pub details: serde_json::Value,
}

pub struct ConversationDocs {
    store: Arc<dyn Store>,
    gc: Arc<GroupCommit>,
    audit: Arc<AuditLog>,
    region: String,
    actor: ActorId,
    chunks_max: usize,
    stripes: Vec<Mutex<()>>,
    events: broadcast::Sender<LiveEvent>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn stripe_of(id: &str) -> usize {
    id.bytes()
        .fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(b as usize))
        % WRITE_STRIPES
}

impl ConversationDocs {
    pub fn new(
        store: Arc<dyn Store>,
        gc: Arc<GroupCommit>,
        audit: Arc<AuditLog>,
        region: String,
        actor: ActorId,
        chunks_max: usize,
        events: broadcast::Sender<LiveEvent>,
    ) -> Self {
        ConversationDocs {
            store,
            gc,
            audit,
            region,
            actor,
            chunks_max,
            stripes: (0..WRITE_STRIPES).map(|_| Mutex::new(())).collect(),
            events,
        }
    }

    fn rules(&self) -> ConversationRules<'_> {
        ConversationRules {
            region: &self.region,
        }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn gc(&self) -> &Arc<GroupCommit> {
        &self.gc
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    fn doc_id(&self, id: &str) -> ServiceResult<DocId> {
        Ok(DocId::new(&self.region, DocKind::Conversation, id)?)
    }

    fn load(&self, id: &str) -> ServiceResult<(ConversationDoc, Stored)> {
        let doc_id = self.doc_id(id)?;
        let bytes = docs::load_bytes(&*self.store, &doc_id)?
            .ok_or_else(|| ServiceError::NotFound(format!("conversation {id} does not exist")))?;
        let mut doc = ConversationDoc::load(bytes.iter().map(|b| b.as_slice()))?;
        doc.set_actor(self.actor.clone());
        Ok((doc, Stored::Chunks(bytes.len() - 1)))
    }

    pub fn get(&self, id: &str) -> ServiceResult<Conversation> {
        Ok(self.load(id)?.0.view()?)
    }

    /// Stages `cmds` on conversation `id` (created on `channel`/`address` when `create` is
    /// given), then `extra` into the same batch with the view after, and the audit entry; the
    /// batch is applied (visible) under the conversation's lock. Returns the view and the
    /// write to wait for ([`Self::done`]) before acknowledging.
    #[allow(clippy::too_many_arguments)]
    pub fn stage(
        &self,
        id: &str,
        create: Option<(Channel, &str)>,
        by: &str,
        cmds: &[ConversationCommand],
        note: AuditNote,
        now_ms: i64,
        extra: impl FnOnce(&mut WriteBatch, &Conversation) -> ServiceResult<()>,
    ) -> ServiceResult<Staged> {
        let doc_id = self.doc_id(id)?;
        let ctx = Ctx::new(by, self.region.as_str(), now_ms);
        let _g = lock(&self.stripes[stripe_of(id)]);
        let (mut doc, mut stored, before) = match create {
            Some((channel, address)) => {
                let doc = ConversationDoc::create(self.actor.clone(), id, channel, address, &ctx)?;
                (doc, Stored::New, None)
            }
            None => {
                let (doc, stored) = self.load(id)?;
                let before = doc.view()?;
                (doc, stored, Some(before))
            }
        };
        for cmd in cmds {
            doc.apply(cmd, &ctx)?;
        }
        let mut batch = WriteBatch::new();
        let (after, live) = kinds::stage_write(
            &self.rules(),
            &mut batch,
            &doc_id,
            &mut doc,
            &mut stored,
            before.as_ref(),
            self.chunks_max,
            now_ms,
        )?;
        extra(&mut batch, &after)?;
        let ticket = self.audit.record(
            &self.gc,
            batch,
            AuditInput::new(by, note.action, format!("conv/{id}"), note.details),
            now_ms,
        )?;
        Ok(Staged {
            view: after,
            ticket,
            live,
        })
    }

    /// Waits until a staged write is durable, then sends its live event.
    pub async fn done(&self, staged: Staged) -> ServiceResult<Conversation> {
        self.gc.wait_async(staged.ticket).await?;
        if let Some(ev) = staged.live {
            let _ = self.events.send(ev);
        }
        Ok(staged.view)
    }

    /// [`Self::stage`] on an existing conversation, returning once it is durable.
    pub async fn step(
        &self,
        id: &str,
        by: &str,
        cmds: &[ConversationCommand],
        note: AuditNote,
        now_ms: i64,
        extra: impl FnOnce(&mut WriteBatch, &Conversation) -> ServiceResult<()>,
    ) -> ServiceResult<Conversation> {
        let staged = self.stage(id, None, by, cmds, note, now_ms, extra)?;
        self.done(staged).await
    }

    /// The id stored under an index key.
    pub fn id_at(&self, key: &str) -> ServiceResult<Option<String>> {
        Ok(self
            .store
            .get(key.as_bytes())?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    fn summaries(&self, prefix: &str, limit: usize) -> ServiceResult<Vec<ConversationSummary>> {
        let mut out = Vec::new();
        for (_, v) in self.store.scan_prefix(prefix.as_bytes())? {
            if out.len() >= limit {
                break;
            }
            match serde_json::from_slice::<ConversationSummary>(&v) {
                Ok(s) => out.push(s),
                Err(e) => {
                    tracing::warn!(prefix, error = %e, "a conversation index entry is unreadable")
                }
            }
        }
        Ok(out)
    }

    /// Conversations in `state`, urgent first, then newest first.
    pub fn list_state(&self, state: ConversationState) -> ServiceResult<Vec<ConversationSummary>> {
        let mut out = self.summaries(&idx::state_prefix(state), usize::MAX)?;
        sort_inbox(&mut out);
        out.truncate(CONVERSATION_LIST_MAX);
        Ok(out)
    }

    /// The conversations `login` has taken and not closed.
    pub fn list_operator(&self, login: &str) -> ServiceResult<Vec<ConversationSummary>> {
        let mut out = self.summaries(&idx::operator_prefix(login), usize::MAX)?;
        sort_inbox(&mut out);
        out.truncate(CONVERSATION_LIST_MAX);
        Ok(out)
    }

    /// Ids of the conversations under an index prefix whose keys end in the id.
    pub fn ids_under(&self, prefix: &str, limit: usize) -> ServiceResult<Vec<String>> {
        Ok(self
            .store
            .scan_keys(prefix.as_bytes(), limit)?
            .into_iter()
            .filter_map(|k| {
                String::from_utf8(k)
                    .ok()
                    .and_then(|k| k.rsplit('/').next().map(str::to_string))
            })
            .collect())
    }

    /// Runs `f` on the automerge core of a stored conversation (replication export).
    pub fn with_doc<T>(
        &self,
        doc_id: &DocId,
        f: impl FnOnce(&mut automerge::AutoCommit) -> T,
    ) -> ServiceResult<T> {
        let (mut doc, _) = self.load(doc_id.id())?;
        Ok(f(doc.automerge()))
    }

    /// Applies a peer's bytes to a conversation (creating it if new here), with its indexes and
    /// an audit entry, and returns once durable.
    pub fn replica_import(
        &self,
        doc_id: &DocId,
        bytes: &[u8],
        by: &str,
        now_ms: i64,
    ) -> Result<Vec<automerge::ChangeHash>, sync::protocol::RepoError> {
        use sync::protocol::RepoError;
        let storage = |e: String| RepoError::Storage(e);
        let id = doc_id.id();
        let (ticket, heads, live) = {
            let _g = lock(&self.stripes[stripe_of(id)]);
            let exists = docs::exists(&*self.store, doc_id).map_err(|e| storage(e.to_string()))?;
            let stored = if exists {
                Some(self.load(id).map_err(|e| storage(e.to_string()))?)
            } else {
                None
            };
            let (ticket, Imported { heads, live }, _) = kinds::import_replica(
                &self.rules(),
                stored,
                doc_id,
                bytes,
                &self.actor,
                self.chunks_max,
                now_ms,
                kinds::ReplicaAudit {
                    audit: &self.audit,
                    gc: &self.gc,
                    by,
                    target: format!("conv/{id}"),
                },
                |_| Default::default(),
            )?;
            (ticket, heads, live)
        };
        self.gc
            .wait_durable(ticket)
            .map_err(|e| storage(e.to_string()))?;
        if let Some(ev) = live {
            let _ = self.events.send(ev);
        }
        Ok(heads)
    }
}

/// The inbox's order: urgent first, then the newest.
pub fn sort_inbox(out: &mut [ConversationSummary]) {
    out.sort_by(|a, b| {
        b.urgent
            .cmp(&a.urgent)
            .then(b.updated_at_ms.cmp(&a.updated_at_ms))
            .then(a.id.cmp(&b.id))
    });
}
