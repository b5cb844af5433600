//! The knowledge base on the node (R19): the articles central units publish at the hub, received
//! read-only by replication (`KZ/article/<id>`), and their full-text search for the operators'
//! "send article" and the chat-bot's own answers. A region cut off from the hub still answers
//! from what it holds.
//!
//! The documents are stored like every replicated document; the search index ([`KbIndex`]) is
//! derived from them: built at start from the store and updated once an imported change is
//! durable.

pub mod analysis;
pub mod index;

use std::sync::{Arc, Mutex, PoisonError};

use automerge::{ActorId, ChangeHash};
use server_kit::docs::{self, Stored};
use sync::article::{Article, ArticleDoc};
use sync::calendar::{Day, KZ_UTC_OFFSET_MIN};
use sync::protocol::RepoError;
use sync::{DocId, DocKind, Document, Language, NATIONAL};
use thiserror::Error;

use crate::audit::AuditLog;
use crate::kinds::{self, article::ArticleRules};
use crate::store::{GroupCommit, Store, StoreError};
pub use index::{Hit, IndexError, KbIndex};

/// The bot answers a question with the best article by itself only when its score is at least
/// this (BM25, see [`Hit::score`]); below it the question goes to an operator. Either way the
/// bot's message offers "talk to an operator". Calibrated on the training part of the question
/// set (`node/tests/fixtures/kb/questions.tsv`): `r19_knowledge_base_answers_real_questions`
/// prints how many questions it answers and how many of those right, on both parts. At 33 every
/// training question the bot answered by itself was answered right (about half of them were);
/// below it wrong first answers appear.
pub const BOT_AUTO_ANSWER_SCORE_MIN: f32 = 33.0;

/// How many articles an operator's search shows by default.
pub const SEARCH_RESULTS_DEFAULT: usize = 5;

/// Why the knowledge base could not answer.
#[derive(Debug, Error)]
pub enum KbError {
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the stored article documents cannot be read: {0}")]
    Docs(String),
}

/// The node's knowledge base.
pub struct KnowledgeBase {
    store: Arc<dyn Store>,
    gc: Arc<GroupCommit>,
    audit: Arc<AuditLog>,
    actor: ActorId,
    chunks_max: usize,
    /// Serialises imports (rare: an editor published at the hub).
    lock: Mutex<()>,
    index: KbIndex,
}

/// Kazakhstan's date at `now_ms`: the day articles must be valid on.
pub fn kz_day(now_ms: i64) -> Day {
    Day::from_ms(now_ms, KZ_UTC_OFFSET_MIN)
}

impl KnowledgeBase {
    /// Opens the knowledge base over the store and indexes every stored article. An article
    /// that does not read is left out with a warning (it came through the same checks, so
    /// only a bug gets here).
    pub fn open(
        store: Arc<dyn Store>,
        gc: Arc<GroupCommit>,
        audit: Arc<AuditLog>,
        actor: ActorId,
        chunks_max: usize,
    ) -> Result<KnowledgeBase, KbError> {
        let index = KbIndex::new(analysis::KAZAKH_ANALYSIS)?;
        let mut articles = Vec::new();
        for entry in docs::catalogue(&*store, NATIONAL, Some(DocKind::Article))
            .map_err(|e| KbError::Docs(e.to_string()))?
        {
            let loaded =
                docs::load_bytes(&*store, &entry.id).map_err(|e| KbError::Docs(e.to_string()))?;
            let Some(bytes) = loaded else { continue };
            match ArticleDoc::load(bytes.iter().map(|b| b.as_slice())).and_then(|d| d.view()) {
                Ok(a) => articles.push(a),
                Err(e) => {
                    tracing::warn!(doc = %entry.id, error = %e, "a stored article does not read: not searchable")
                }
            }
        }
        index.update(&articles)?;
        Ok(KnowledgeBase {
            store,
            gc,
            audit,
            actor,
            chunks_max,
            lock: Mutex::new(()),
            index,
        })
    }

    fn guard(&self) -> std::sync::MutexGuard<'_, ()> {
        self.lock.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A stored article document, or `None` (`Stored::New`).
    fn load(&self, id: &DocId) -> Result<Option<(ArticleDoc, Stored)>, KbError> {
        match docs::load_bytes(&*self.store, id).map_err(|e| KbError::Docs(e.to_string()))? {
            None => Ok(None),
            Some(bytes) => {
                let mut doc = ArticleDoc::load(bytes.iter().map(|b| b.as_slice()))
                    .map_err(|e| KbError::Docs(e.to_string()))?;
                doc.set_actor(self.actor.clone());
                Ok(Some((doc, Stored::Chunks(bytes.len() - 1))))
            }
        }
    }

    /// Runs `f` on a stored article's automerge core; `None` when it is not stored.
    pub fn with_doc<T>(
        &self,
        id: &DocId,
        f: impl FnOnce(&mut automerge::AutoCommit) -> T,
    ) -> Result<Option<T>, KbError> {
        let _g = self.guard();
        Ok(self.load(id)?.map(|(mut doc, _)| f(doc.automerge())))
    }

    /// The article as the node holds it.
    pub fn article(&self, id: &str) -> Result<Option<Article>, KbError> {
        let Ok(doc_id) = DocId::new(NATIONAL, DocKind::Article, id) else {
            return Ok(None);
        };
        let _g = self.guard();
        match self.load(&doc_id)? {
            None => Ok(None),
            Some((doc, _)) => Ok(Some(doc.view().map_err(|e| KbError::Docs(e.to_string()))?)),
        }
    }

    /// Applies the hub's bytes to an article (new here or not), stores it with an audit entry,
    /// returns once durable, and then updates the search index.
    pub fn replica_import(
        &self,
        doc_id: &DocId,
        bytes: &[u8],
        by: &str,
        now_ms: i64,
    ) -> Result<Vec<ChangeHash>, RepoError> {
        let storage = |e: String| RepoError::Storage(e);
        let (ticket, heads, article) = {
            let _g = self.guard();
            let stored = self.load(doc_id).map_err(|e| storage(e.to_string()))?;
            let mut article = None;
            let (ticket, imported, _) = kinds::import_replica(
                &ArticleRules,
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
                    target: format!("article/{}", doc_id.id()),
                },
                |doc| {
                    let mut facts = serde_json::Map::new();
                    if let Ok(a) = doc.view() {
                        facts.insert("state".into(), a.state.as_str().into());
                        facts.insert("versions".into(), a.versions.len().into());
                        article = Some(a);
                    }
                    facts
                },
            )?;
            let article = article.ok_or_else(|| {
                RepoError::Refused(format!("{doc_id} does not read as an article"))
            })?;
            (ticket, imported.heads, article)
        };
        self.gc
            .wait_durable(ticket)
            .map_err(|e| storage(e.to_string()))?;
        if let Err(e) = self.index.update([&article]) {
            // Derived data: the next start rebuilds it from the store.
            tracing::error!(article = %article.id, error = %e, "the knowledge-base index was not updated");
        }
        Ok(heads)
    }

    /// The articles valid today that best answer `text`, best first (the operators' search).
    pub fn search(
        &self,
        text: &str,
        language: Language,
        now_ms: i64,
        limit: usize,
    ) -> Result<Vec<Hit>, KbError> {
        Ok(self.index.search(text, language, kz_day(now_ms), limit)?)
    }

    /// `(article id, score)` of the articles valid today that answer `text`, best first.
    pub fn suggest(
        &self,
        text: &str,
        language: Language,
        now_ms: i64,
    ) -> Result<Vec<(String, f32)>, KbError> {
        Ok(self
            .index
            .suggest(text, language, kz_day(now_ms), SEARCH_RESULTS_DEFAULT)?)
    }

    /// The article the bot answers `text` with by itself: the best one when its score reaches
    /// [`BOT_AUTO_ANSWER_SCORE_MIN`], else `None` (an operator answers).
    pub fn auto_answer(
        &self,
        text: &str,
        language: Language,
        now_ms: i64,
    ) -> Result<Option<Hit>, KbError> {
        Ok(self
            .index
            .search(text, language, kz_day(now_ms), 1)?
            .into_iter()
            .next()
            .filter(|h| h.score >= BOT_AUTO_ANSWER_SCORE_MIN))
    }

    /// How many articles are searchable.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }
}
