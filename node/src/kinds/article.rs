//! Knowledge-base articles (R19) from the hub: read-only here, refused unless the document reads
//! as an article and is the one its id names. No store index: the knowledge base's search index
//! is built from the views (`crate::kb`).

use sync::article::{Article, ArticleDoc};
use sync::protocol::Priority;
use sync::{DocId, DomainError};

use super::KindRules;

/// The rules of an article on a node.
pub struct ArticleRules;

impl KindRules for ArticleRules {
    type Doc = ArticleDoc;
    type View = Article;

    fn view(&self, doc: &mut ArticleDoc, _now_ms: i64) -> Result<Article, DomainError> {
        doc.view()
    }

    fn check(&self, id: &DocId, article: &Article) -> Result<(), String> {
        if article.id == id.id() {
            Ok(())
        } else {
            Err(format!("{id} holds article {}", article.id))
        }
    }

    fn priority(&self, _article: &Article) -> Priority {
        Priority::Normal
    }
}
