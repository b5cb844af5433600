//! The DEMO starter knowledge base (`demo_articles.toml`): what the hub publishes on its first
//! start when it holds no article, so that a demo installation answers consultations. Clearly a
//! demo set, like the demo reference data: the competent units replace it.

use serde::Deserialize;

use super::{check_competence, ArticleContent, Bilingual};
use crate::error::DomainError;

/// The embedded demo articles, as TOML.
pub const DEMO_ARTICLES_TOML: &str = include_str!("demo_articles.toml");

/// One demo article: its id, the unit that owns it and its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoArticle {
    pub id: String,
    pub competence: String,
    pub content: ArticleContent,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    article: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    id: String,
    competence: String,
    #[serde(default)]
    tags: Vec<String>,
    title_kk: String,
    title_ru: String,
    body_kk: String,
    body_ru: String,
}

/// The demo articles, each checked like an editor's.
pub fn demo_articles() -> Result<Vec<DemoArticle>, DomainError> {
    let file: File = toml::from_str(DEMO_ARTICLES_TOML)
        .map_err(|e| DomainError::CorruptDocument(format!("demo_articles.toml: {e}")))?;
    file.article
        .into_iter()
        .map(|e| {
            check_competence(&e.competence)?;
            let content = ArticleContent {
                title: Bilingual {
                    kk: e.title_kk,
                    ru: e.title_ru,
                },
                body: Bilingual {
                    kk: e.body_kk,
                    ru: e.body_ru,
                },
                tags: e.tags,
                valid_from: None,
                valid_until: None,
            }
            .validated()?;
            Ok(DemoArticle {
                id: e.id,
                competence: e.competence,
                content,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_set_reads_and_has_at_least_30_distinct_articles() {
        let articles = demo_articles().unwrap();
        assert!(articles.len() >= 30, "{}", articles.len());
        let mut ids: Vec<&str> = articles.iter().map(|a| a.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), articles.len(), "ids repeat");
        for a in &articles {
            crate::DocId::new(crate::NATIONAL, crate::DocKind::Article, &a.id).unwrap();
        }
    }
}
