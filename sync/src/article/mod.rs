//! Knowledge-base articles (R19): what the chat-bot and the "102" operators answer citizens'
//! consultation questions with. Central units write them at the hub, each unit the articles of
//! its competence; every node receives them read-only (national documents `KZ/article/<id>`).
//!
//! One automerge document per article, written by the hub only (one writer, so every value is
//! last-writer-wins without a concurrent write to lose). The document holds the **draft** the
//! editors work on and, once published, the **published** content that nodes answer with: an
//! edit of a published article changes the draft only, and citizens keep getting the published
//! text until the next [`ArticleCommand::Publish`]. Every publication is kept as a version.
//! A node only ever reads [`Article::live_content`].

pub mod demo;

use automerge::{transaction::Transactable, AutoCommit, ObjType, ROOT};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::calendar::{Day, KZ_UTC_OFFSET_MIN};
use crate::doc::{
    append_json, check_text, get_i64, get_obj, get_str, read_json_list, Ctx, Document,
};
use crate::error::DomainError;
use crate::model::Language;

/// Longest article title in one language, characters.
pub const ARTICLE_TITLE_CHARS_MAX: usize = 200;
/// Longest article body in one language, characters.
pub const ARTICLE_BODY_CHARS_MAX: usize = 20_000;
/// Most tags on an article.
pub const ARTICLE_TAGS_MAX: usize = 30;
/// Longest tag, characters.
pub const ARTICLE_TAG_CHARS_MAX: usize = 60;
/// Longest competence (service) code, characters: the same shape as an account's service.
pub const COMPETENCE_CHARS_MAX: usize = 64;
/// Most publications kept per article; one more is refused (`article_versions_full`): copy
/// the article into a new one.
pub const ARTICLE_VERSIONS_MAX: usize = 500;

const DRAFT: &str = "draft";
const PUBLISHED: &str = "published";
const VERSIONS: &str = "versions";

/// Where an article stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ArticleState {
    /// Written, never published: no node answers with it.
    Draft,
    /// Published: nodes answer with its published content while it is valid.
    Published,
    /// Taken back: no node answers with it; publishing again brings it back.
    Withdrawn,
}

impl ArticleState {
    pub fn as_str(self) -> &'static str {
        match self {
            ArticleState::Draft => "draft",
            ArticleState::Published => "published",
            ArticleState::Withdrawn => "withdrawn",
        }
    }
    fn parse(s: &str) -> Option<ArticleState> {
        [
            ArticleState::Draft,
            ArticleState::Published,
            ArticleState::Withdrawn,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }
}

/// A text in both languages of the service.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Bilingual {
    pub kk: String,
    pub ru: String,
}

impl Bilingual {
    pub fn get(&self, language: Language) -> &str {
        match language {
            Language::Kk => &self.kk,
            Language::Ru => &self.ru,
        }
    }
}

/// What an editor writes: the article's text, tags and validity.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArticleContent {
    pub title: Bilingual,
    pub body: Bilingual,
    /// Words citizens use that the text may not (synonyms, slang, abbreviations), searched
    /// like the title.
    #[serde(default)]
    pub tags: Vec<String>,
    /// First day the article answers (Kazakhstan's date), if it starts later.
    #[serde(default)]
    pub valid_from: Option<Day>,
    /// Last day the article answers (a law changes, a campaign ends).
    #[serde(default)]
    pub valid_until: Option<Day>,
}

impl ArticleContent {
    /// Checks every field against its limit; tags are trimmed, empty ones dropped, duplicates
    /// removed.
    pub fn validated(mut self) -> Result<ArticleContent, DomainError> {
        check_text("title.kk", &self.title.kk, ARTICLE_TITLE_CHARS_MAX, true)?;
        check_text("title.ru", &self.title.ru, ARTICLE_TITLE_CHARS_MAX, true)?;
        check_text("body.kk", &self.body.kk, ARTICLE_BODY_CHARS_MAX, true)?;
        check_text("body.ru", &self.body.ru, ARTICLE_BODY_CHARS_MAX, true)?;
        let mut tags: Vec<String> = Vec::new();
        for tag in &self.tags {
            check_text("tags", tag, ARTICLE_TAG_CHARS_MAX, false)?;
            let tag = tag.trim().to_lowercase();
            if !tag.is_empty() && !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        if tags.len() > ARTICLE_TAGS_MAX {
            return Err(DomainError::field(
                "tags",
                format!("{} tags; the limit is {ARTICLE_TAGS_MAX}", tags.len()),
            ));
        }
        self.tags = tags;
        if let (Some(from), Some(until)) = (self.valid_from, self.valid_until) {
            if until < from {
                return Err(DomainError::field(
                    "valid_until",
                    format!("valid_until {until} is before valid_from {from}"),
                ));
            }
        }
        Ok(self)
    }

    /// Whether the content answers on `day`.
    pub fn valid_on(&self, day: Day) -> bool {
        self.valid_from.is_none_or(|f| f <= day) && self.valid_until.is_none_or(|u| day <= u)
    }
}

/// Checks a competence code: the service that owns an article (an editor's account service).
pub fn check_competence(code: &str) -> Result<(), DomainError> {
    let ok = !code.is_empty()
        && code.chars().count() <= COMPETENCE_CHARS_MAX
        && code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(DomainError::field(
            "competence",
            format!("competence {code:?} is not 1 to {COMPETENCE_CHARS_MAX} of a-z, 0-9, '-', '_'"),
        ))
    }
}

/// One publication of an article.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ArticleVersion {
    /// 1 for the first publication.
    pub version: u32,
    pub content: ArticleContent,
    pub published_at: i64,
    /// `login@central` of the editor who published it.
    pub published_by: String,
}

/// An article as its document holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Article {
    /// The id within `KZ/article/`.
    pub id: String,
    /// The service that owns and maintains the article.
    pub competence: String,
    pub state: ArticleState,
    /// What the editors work on.
    pub draft: ArticleContent,
    /// The draft differs from the last publication.
    pub unpublished_changes: bool,
    /// Every publication, oldest first; the last one is what nodes answer with.
    pub versions: Vec<ArticleVersion>,
    pub created_at: i64,
    pub created_by: String,
    pub updated_at: i64,
    pub updated_by: String,
}

impl Article {
    /// The content citizens get on `day`: the last publication, while the article is published
    /// and that publication is valid on that day.
    pub fn live_content(&self, day: Day) -> Option<&ArticleVersion> {
        if self.state != ArticleState::Published {
            return None;
        }
        self.versions.last().filter(|v| v.content.valid_on(day))
    }

    /// [`Article::live_content`] at a moment (ms since the epoch), on Kazakhstan's date.
    pub fn live_at(&self, now_ms: i64) -> Option<&ArticleVersion> {
        self.live_content(Day::from_ms(now_ms, KZ_UTC_OFFSET_MIN))
    }
}

/// A change to an article.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ArticleCommand {
    /// Replaces the draft.
    Edit { content: ArticleContent },
    /// Publishes the draft as the next version (also over a withdrawn article).
    Publish,
    /// Takes the article back: nodes stop answering with it.
    Withdraw,
}

/// An article's document.
pub struct ArticleDoc {
    doc: AutoCommit,
}

impl Document for ArticleDoc {
    const SCHEMA_VERSION: i64 = 1;
    const KIND: &'static str = "article";

    fn wrap(doc: AutoCommit) -> Self {
        ArticleDoc { doc }
    }
    fn automerge(&mut self) -> &mut AutoCommit {
        &mut self.doc
    }
}

fn json<T: Serialize>(value: &T) -> Result<String, DomainError> {
    serde_json::to_string(value).map_err(|e| DomainError::CorruptDocument(e.to_string()))
}

impl ArticleDoc {
    /// A new article of `competence` with `content` as its draft.
    pub fn create(
        actor: automerge::ActorId,
        id: &str,
        competence: &str,
        content: ArticleContent,
        ctx: &Ctx,
    ) -> Result<ArticleDoc, DomainError> {
        check_competence(competence)?;
        let content = content.validated()?;
        let mut doc = AutoCommit::new().with_actor(actor);
        doc.put(ROOT, "v", Self::SCHEMA_VERSION)?;
        doc.put(ROOT, "id", id)?;
        doc.put(ROOT, "competence", competence)?;
        doc.put(ROOT, "state", ArticleState::Draft.as_str())?;
        doc.put(ROOT, DRAFT, json(&content)?)?;
        doc.put_object(ROOT, VERSIONS, ObjType::List)?;
        doc.put(ROOT, "created_at", ctx.now_ms)?;
        doc.put(ROOT, "created_by", ctx.writer())?;
        doc.put(ROOT, "updated_at", ctx.now_ms)?;
        doc.put(ROOT, "updated_by", ctx.writer())?;
        Ok(ArticleDoc { doc })
    }

    /// The article; an error when the document is not a readable article.
    pub fn view(&self) -> Result<Article, DomainError> {
        let doc = &self.doc;
        let text = |key: &str| {
            get_str(doc, &ROOT, key)
                .ok_or_else(|| DomainError::CorruptDocument(format!("article has no {key}")))
        };
        let state = text("state")?;
        let state = ArticleState::parse(&state)
            .ok_or_else(|| DomainError::CorruptDocument(format!("article state {state:?}")))?;
        let draft: ArticleContent = serde_json::from_str(&text(DRAFT)?)
            .map_err(|e| DomainError::CorruptDocument(format!("article draft: {e}")))?;
        let versions: Vec<ArticleVersion> = read_json_list(doc, &get_obj(doc, &ROOT, VERSIONS)?)?;
        let published: Option<ArticleContent> = match get_str(doc, &ROOT, PUBLISHED) {
            None => None,
            Some(j) => Some(
                serde_json::from_str(&j)
                    .map_err(|e| DomainError::CorruptDocument(format!("article published: {e}")))?,
            ),
        };
        Ok(Article {
            id: text("id")?,
            competence: text("competence")?,
            state,
            unpublished_changes: published.as_ref() != Some(&draft),
            draft,
            versions,
            created_at: get_i64(doc, &ROOT, "created_at").unwrap_or(0),
            created_by: text("created_by")?,
            updated_at: get_i64(doc, &ROOT, "updated_at").unwrap_or(0),
            updated_by: text("updated_by")?,
        })
    }

    /// Applies `command`, checked against the article first: a refused command writes nothing.
    /// `Ok(false)`: nothing to change (the same draft again, publishing what is live,
    /// withdrawing a withdrawn article).
    pub fn apply(&mut self, command: &ArticleCommand, ctx: &Ctx) -> Result<bool, DomainError> {
        let article = self.view()?;
        match command {
            ArticleCommand::Edit { content } => {
                let content = content.clone().validated()?;
                if content == article.draft {
                    return Ok(false);
                }
                self.doc.put(ROOT, DRAFT, json(&content)?)?;
            }
            ArticleCommand::Publish => {
                if article.state == ArticleState::Published && !article.unpublished_changes {
                    return Ok(false);
                }
                if article.versions.len() >= ARTICLE_VERSIONS_MAX {
                    return Err(DomainError::rule(
                        "article_versions_full",
                        format!(
                            "the article has been published {ARTICLE_VERSIONS_MAX} times; write a new article"
                        ),
                    ));
                }
                let version = ArticleVersion {
                    version: article.versions.len() as u32 + 1,
                    content: article.draft.clone(),
                    published_at: ctx.now_ms,
                    published_by: ctx.writer(),
                };
                let list = get_obj(&self.doc, &ROOT, VERSIONS)?;
                append_json(&mut self.doc, &list, &version)?;
                self.doc.put(ROOT, PUBLISHED, json(&article.draft)?)?;
                self.doc
                    .put(ROOT, "state", ArticleState::Published.as_str())?;
            }
            ArticleCommand::Withdraw => match article.state {
                ArticleState::Withdrawn => return Ok(false),
                ArticleState::Draft => {
                    return Err(DomainError::transition(
                        "a draft that was never published cannot be withdrawn",
                    ))
                }
                ArticleState::Published => {
                    self.doc
                        .put(ROOT, "state", ArticleState::Withdrawn.as_str())?;
                }
            },
        }
        self.doc.put(ROOT, "updated_at", ctx.now_ms)?;
        self.doc.put(ROOT, "updated_by", ctx.writer())?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::ActorId;

    fn content(title: &str) -> ArticleContent {
        ArticleContent {
            title: Bilingual {
                kk: format!("{title} kk"),
                ru: format!("{title} ru"),
            },
            body: Bilingual {
                kk: "мәтін".into(),
                ru: "текст".into(),
            },
            tags: vec![" Паспорт ".into(), "паспорт".into(), "".into()],
            valid_from: None,
            valid_until: None,
        }
    }

    fn ctx(at: i64) -> Ctx {
        Ctx::new("editor", "central", at)
    }

    #[test]
    fn an_edit_of_a_published_article_stays_a_draft_until_published_again() {
        let mut doc = ArticleDoc::create(
            ActorId::from(vec![1u8; 16]),
            "a1",
            "migration",
            content("A"),
            &ctx(1),
        )
        .unwrap();
        let a = doc.view().unwrap();
        assert_eq!(a.state, ArticleState::Draft);
        assert_eq!(a.draft.tags, vec!["паспорт".to_string()]);
        assert!(a.live_at(1).is_none());
        assert!(doc.apply(&ArticleCommand::Publish, &ctx(2)).unwrap());
        assert!(!doc.apply(&ArticleCommand::Publish, &ctx(3)).unwrap());
        assert!(doc
            .apply(
                &ArticleCommand::Edit {
                    content: content("B")
                },
                &ctx(4)
            )
            .unwrap());
        let a = doc.view().unwrap();
        assert!(a.unpublished_changes);
        assert_eq!(a.live_at(4).unwrap().content.title.ru, "A ru");
        doc.apply(&ArticleCommand::Publish, &ctx(5)).unwrap();
        let bytes = doc.save();
        let back = ArticleDoc::load([bytes.as_slice()])
            .unwrap()
            .view()
            .unwrap();
        assert_eq!(back.versions.len(), 2);
        assert_eq!(back.live_at(6).unwrap().content.title.ru, "B ru");
        assert_eq!(back.updated_by, "editor@central");
    }

    #[test]
    fn withdrawn_and_out_of_date_articles_are_not_live() {
        let mut c = content("A");
        c.valid_until = Some(Day::parse("2026-01-31").unwrap());
        let mut doc =
            ArticleDoc::create(ActorId::from(vec![1u8; 16]), "a1", "migration", c, &ctx(1))
                .unwrap();
        assert!(doc.apply(&ArticleCommand::Withdraw, &ctx(2)).is_err());
        doc.apply(&ArticleCommand::Publish, &ctx(2)).unwrap();
        let a = doc.view().unwrap();
        assert!(a.live_content(Day::parse("2026-01-31").unwrap()).is_some());
        assert!(a.live_content(Day::parse("2026-02-01").unwrap()).is_none());
        doc.apply(&ArticleCommand::Withdraw, &ctx(3)).unwrap();
        let a = doc.view().unwrap();
        assert_eq!(a.state, ArticleState::Withdrawn);
        assert!(a.live_content(Day::parse("2026-01-01").unwrap()).is_none());
    }

    #[test]
    fn bad_content_is_refused_and_writes_nothing() {
        let mut doc = ArticleDoc::create(
            ActorId::from(vec![1u8; 16]),
            "a1",
            "migration",
            content("A"),
            &ctx(1),
        )
        .unwrap();
        let heads = doc.heads();
        let mut c = content("A");
        c.title.kk = String::new();
        assert!(doc
            .apply(&ArticleCommand::Edit { content: c }, &ctx(2))
            .is_err());
        let mut c = content("A");
        c.valid_from = Some(Day::parse("2026-02-01").unwrap());
        c.valid_until = Some(Day::parse("2026-01-01").unwrap());
        assert!(doc
            .apply(&ArticleCommand::Edit { content: c }, &ctx(2))
            .is_err());
        let mut c = content("A");
        c.body.ru = "я".repeat(ARTICLE_BODY_CHARS_MAX + 1);
        assert!(doc
            .apply(&ArticleCommand::Edit { content: c }, &ctx(2))
            .is_err());
        assert_eq!(doc.heads(), heads);
        assert!(ArticleDoc::create(
            ActorId::from(vec![1u8; 16]),
            "a1",
            "Миграция",
            content("A"),
            &ctx(1)
        )
        .is_err());
    }
}
