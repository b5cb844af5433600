//! The knowledge base at the hub (R19): central units write the articles of their competence;
//! each write is a national document (`KZ/article/<id>`) offered to every region once durable,
//! like a calendar year. The HTTP handlers (`crate::kb_http`) check roles and input, then call
//! here; this module knows no routes.
//!
//! Competence: an editor (`kb_editor`) works for one service (the account's `service`) and
//! creates and changes only that service's articles. An article is never deleted — a replicated
//! document cannot be taken back from the nodes —; it is withdrawn, and nodes stop answering
//! with it.

use std::sync::Arc;

use automerge::ActorId;
use server_kit::docs;
use server_kit::store::Store;
use sync::article::{demo::demo_articles, Article, ArticleCommand, ArticleContent, ArticleDoc};
use sync::{Ctx, DocId, DocKind, Document, DomainError, NATIONAL};
use thiserror::Error;

use crate::hub::Hub;

/// Longest article id, characters (within `KZ/article/`).
pub const ARTICLE_ID_CHARS_MAX: usize = 64;

/// Why a knowledge-base read or write did not happen.
#[derive(Debug, Error)]
pub enum KbError {
    /// No article has this id.
    #[error("no article {0}")]
    NotFound(String),
    /// An article with this id exists already.
    #[error("article {0} exists already")]
    Exists(String),
    /// The editor's account names no service, so they can edit no article.
    #[error("your account names no service: an administrator sets the service whose articles you maintain")]
    NoCompetence,
    /// The article belongs to another service.
    #[error("article {id} belongs to {competence}; you maintain the articles of {yours}")]
    NotYourCompetence {
        id: String,
        competence: String,
        yours: String,
    },
    /// The input or the article's state refuses the change.
    #[error(transparent)]
    Refused(#[from] DomainError),
    #[error("the national store failed: {0}")]
    Storage(String),
}

impl From<server_kit::docs::DocError> for KbError {
    fn from(e: server_kit::docs::DocError) -> Self {
        KbError::Storage(e.to_string())
    }
}

impl From<server_kit::store::StoreError> for KbError {
    fn from(e: server_kit::store::StoreError) -> Self {
        KbError::Storage(e.to_string())
    }
}

impl From<sync::protocol::RepoError> for KbError {
    fn from(e: sync::protocol::RepoError) -> Self {
        KbError::Storage(e.to_string())
    }
}

/// Who writes: an editor's login and the service they maintain articles for.
#[derive(Debug, Clone)]
pub struct Editor {
    pub login: String,
    pub competence: Option<String>,
}

impl Editor {
    fn competence(&self) -> Result<&str, KbError> {
        self.competence.as_deref().ok_or(KbError::NoCompetence)
    }

    fn may_edit(&self, article: &Article) -> Result<(), KbError> {
        let yours = self.competence()?;
        if yours == article.competence {
            Ok(())
        } else {
            Err(KbError::NotYourCompetence {
                id: article.id.clone(),
                competence: article.competence.clone(),
                yours: yours.to_string(),
            })
        }
    }
}

/// Checks an editor-chosen article id: 1 to [`ARTICLE_ID_CHARS_MAX`] of `a-z`, `0-9`, `-`.
pub fn check_article_id(id: &str) -> Result<(), DomainError> {
    let ok = !id.is_empty()
        && id.len() <= ARTICLE_ID_CHARS_MAX
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(DomainError::field(
            "id",
            format!("article id {id:?} is not 1 to {ARTICLE_ID_CHARS_MAX} of a-z, 0-9 and '-'"),
        ))
    }
}

/// The hub's knowledge base.
pub struct KbService {
    hub: Arc<Hub>,
    store: Arc<dyn Store>,
    actor: ActorId,
}

impl KbService {
    pub fn new(hub: Arc<Hub>, store: Arc<dyn Store>, actor: ActorId) -> Self {
        KbService { hub, store, actor }
    }

    fn doc_id(id: &str) -> Result<DocId, KbError> {
        check_article_id(id)?;
        DocId::new(NATIONAL, DocKind::Article, id).map_err(|_| KbError::NotFound(id.to_string()))
    }

    /// Every article the hub holds, by id.
    pub fn list(&self) -> Result<Vec<Article>, KbError> {
        let mut out = Vec::new();
        for entry in docs::catalogue(&*self.store, NATIONAL, Some(DocKind::Article))? {
            if let Some((doc, _)) = docs::load(&*self.store, &entry.id)? {
                out.push(ArticleDoc::wrap(doc).view()?);
            }
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    /// One article.
    pub fn get(&self, id: &str) -> Result<Article, KbError> {
        let doc_id = Self::doc_id(id)?;
        let (doc, _) =
            docs::load(&*self.store, &doc_id)?.ok_or_else(|| KbError::NotFound(id.to_string()))?;
        Ok(ArticleDoc::wrap(doc).view()?)
    }

    /// Creates a draft article of the editor's competence (`competence`, when given, must be
    /// theirs) under `id` (a new UUID when `None`). Blocking.
    pub fn create(
        &self,
        editor: &Editor,
        id: Option<&str>,
        competence: Option<&str>,
        content: ArticleContent,
        now_ms: i64,
    ) -> Result<Article, KbError> {
        let yours = editor.competence()?;
        if let Some(c) = competence.filter(|c| *c != yours) {
            return Err(KbError::NotYourCompetence {
                id: id.unwrap_or("").to_string(),
                competence: c.to_string(),
                yours: yours.to_string(),
            });
        }
        let id = match id {
            Some(id) => id.to_string(),
            None => uuid::Uuid::new_v4().simple().to_string(),
        };
        self.create_as(&editor.login, &id, yours, content, false, now_ms)
    }

    /// Creates an article (published at once when `publish`), once durable, and offers it to
    /// every region.
    fn create_as(
        &self,
        by: &str,
        id: &str,
        competence: &str,
        content: ArticleContent,
        publish: bool,
        now_ms: i64,
    ) -> Result<Article, KbError> {
        let doc_id = Self::doc_id(id)?;
        let ctx = Ctx::new(by, "central", now_ms);
        let (article, gc) = {
            let repo = self.hub.repo(NATIONAL);
            let mut repo = repo.lock().unwrap_or_else(|p| p.into_inner());
            if docs::exists(&*self.store, &doc_id)? {
                return Err(KbError::Exists(id.to_string()));
            }
            let mut doc = ArticleDoc::create(self.actor.clone(), id, competence, content, &ctx)?;
            if publish {
                doc.apply(&ArticleCommand::Publish, &ctx)?;
            }
            repo.store_doc(&doc_id, doc.automerge(), None, &[])?;
            (doc.view()?, repo.group_commit().clone())
        };
        gc.wait_written()?;
        self.hub.notify_all(&doc_id.to_string());
        Ok(article)
    }

    /// Applies an editor's command to an article of their competence, once durable, and offers
    /// the change to every region. Returns the article and whether it changed. Blocking.
    pub fn command(
        &self,
        editor: &Editor,
        id: &str,
        command: &ArticleCommand,
        now_ms: i64,
    ) -> Result<(Article, bool), KbError> {
        let doc_id = Self::doc_id(id)?;
        let (article, changed, gc) = {
            let repo = self.hub.repo(NATIONAL);
            let mut repo = repo.lock().unwrap_or_else(|p| p.into_inner());
            let (doc, chunks) = docs::load(&*self.store, &doc_id)?
                .ok_or_else(|| KbError::NotFound(id.to_string()))?;
            let mut doc = ArticleDoc::wrap(doc);
            editor.may_edit(&doc.view()?)?;
            doc.set_actor(self.actor.clone());
            let before = doc.heads();
            let changed = doc.apply(command, &Ctx::new(&editor.login, "central", now_ms))?;
            if !changed {
                return Ok((doc.view()?, false));
            }
            let incremental = doc.automerge().save_after(&before);
            repo.store_doc(&doc_id, doc.automerge(), Some(chunks), &incremental)?;
            (doc.view()?, true, repo.group_commit().clone())
        };
        gc.wait_written()?;
        self.hub.notify_all(&doc_id.to_string());
        Ok((article, changed))
    }

    /// Publishes the embedded DEMO articles (`sync::article::demo`) when the hub holds no
    /// article at all (a first start); an installation whose units wrote their own never gets
    /// them back. Returns how many were published. Blocking.
    pub fn publish_demo_articles(&self, now_ms: i64) -> Result<usize, KbError> {
        if !docs::catalogue(&*self.store, NATIONAL, Some(DocKind::Article))?.is_empty() {
            return Ok(0);
        }
        let mut published = 0;
        for a in demo_articles()? {
            self.create_as("system", &a.id, &a.competence, a.content, true, now_ms)?;
            published += 1;
        }
        Ok(published)
    }
}
