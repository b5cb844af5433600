//! The knowledge base's full-text index (tantivy, in memory): the live content of every article
//! the node holds, searched in both languages at once.
//!
//! Derived data: the node rebuilds it from the stored article documents at every start and
//! updates it after each replicated change is durable, so it can never disagree with the store
//! after a crash (a few thousand articles index in well under a second). No file, no clock: the
//! day an article must be valid on is an argument.
//!
//! A question is searched against every field, each with its own language's analysis, because
//! citizens mix the languages ("удостоверение жоғалды"); the language of the question only
//! chooses the snippet and weighs its own fields a little more.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, PoisonError, RwLock};

use serde::Serialize;
use sync::article::Article;
use sync::calendar::Day;
use sync::Language;
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, STORED, STRING,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};
use thiserror::Error;
use utoipa::ToSchema;

use super::analysis::{self, KazakhAnalysis, KK_TOKENIZER, RU_TOKENIZER};

/// Longest question searched, characters; the rest is ignored.
pub const QUERY_CHARS_MAX: usize = 1_000;
/// Most distinct terms taken from a question per field.
pub const QUERY_TERMS_MAX: usize = 64;
/// Most articles one search returns.
pub const SEARCH_RESULTS_MAX: usize = 20;
/// Longest snippet, characters.
pub const SNIPPET_CHARS_MAX: usize = 240;
/// The index writer's memory, bytes (tantivy's minimum for one thread).
pub const INDEX_WRITER_BYTES: usize = 15_000_000;

/// Weight of a title match against a body match.
const TITLE_BOOST: f32 = 3.0;
/// Weight of a tag match (the words citizens use) against a body match.
const TAGS_BOOST: f32 = 2.0;
/// Weight of the other language's fields against the question's own.
const OTHER_LANGUAGE_BOOST: f32 = 0.8;

/// Why the index failed. Only a bug or memory exhaustion gets here: the index is in memory.
#[derive(Debug, Error)]
#[error("the knowledge-base index failed: {0}")]
pub struct IndexError(String);

impl From<tantivy::TantivyError> for IndexError {
    fn from(e: tantivy::TantivyError) -> Self {
        IndexError(e.to_string())
    }
}

/// One article found, best first.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Hit {
    pub article_id: String,
    /// The published version the text comes from.
    pub version: u32,
    /// BM25 relevance: higher is better; compare it with
    /// [`super::BOT_AUTO_ANSWER_SCORE_MIN`], not across indexes.
    pub score: f32,
    pub title: String,
    /// The part of the body that matches best, as plain text.
    pub snippet: String,
    /// Where `snippet` matches the question: character ranges `[from, to)`.
    pub highlights: Vec<[usize; 2]>,
    /// The whole body in the question's language, for the operator to send.
    pub body: String,
}

#[derive(Clone, Copy)]
struct Fields {
    id: Field,
    title_ru: Field,
    body_ru: Field,
    tags_ru: Field,
    title_kk: Field,
    body_kk: Field,
    tags_kk: Field,
}

/// What the index keeps in memory per article besides tantivy: validity and the texts answers
/// are made of.
#[derive(Debug, Clone)]
struct Entry {
    version: u32,
    valid_from: Option<Day>,
    valid_until: Option<Day>,
    title_kk: String,
    title_ru: String,
    body_kk: String,
    body_ru: String,
}

impl Entry {
    fn valid_on(&self, day: Day) -> bool {
        self.valid_from.is_none_or(|f| f <= day) && self.valid_until.is_none_or(|u| day <= u)
    }
}

/// The index.
pub struct KbIndex {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
    entries: RwLock<BTreeMap<String, Entry>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl KbIndex {
    /// An empty index reading Kazakh with `kazakh`.
    pub fn new(kazakh: KazakhAnalysis) -> Result<KbIndex, IndexError> {
        let mut schema = Schema::builder();
        let text = |tokenizer: &str| {
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(tokenizer)
                    .set_index_option(IndexRecordOption::WithFreqsAndPositions),
            )
        };
        let fields = Fields {
            id: schema.add_text_field("id", STRING | STORED),
            title_ru: schema.add_text_field("title_ru", text(RU_TOKENIZER)),
            body_ru: schema.add_text_field("body_ru", text(RU_TOKENIZER)),
            tags_ru: schema.add_text_field("tags_ru", text(RU_TOKENIZER)),
            title_kk: schema.add_text_field("title_kk", text(KK_TOKENIZER)),
            body_kk: schema.add_text_field("body_kk", text(KK_TOKENIZER)),
            tags_kk: schema.add_text_field("tags_kk", text(KK_TOKENIZER)),
        };
        let index = Index::create_in_ram(schema.build());
        index
            .tokenizers()
            .register(RU_TOKENIZER, analysis::russian());
        index
            .tokenizers()
            .register(KK_TOKENIZER, analysis::kazakh(kazakh));
        let writer = index.writer_with_num_threads(1, INDEX_WRITER_BYTES)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(KbIndex {
            index,
            reader,
            writer: Mutex::new(writer),
            fields,
            entries: RwLock::new(BTreeMap::new()),
        })
    }

    /// Puts each article's live content in the index, or takes the article out when it has
    /// none (a draft, withdrawn); one commit for all. Validity dates are checked when searching.
    pub fn update<'a>(
        &self,
        articles: impl IntoIterator<Item = &'a Article>,
    ) -> Result<(), IndexError> {
        let f = self.fields;
        let mut writer = lock(&self.writer);
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        for article in articles {
            writer.delete_term(Term::from_field_text(f.id, &article.id));
            entries.remove(&article.id);
            let live = (article.state == sync::article::ArticleState::Published)
                .then(|| article.versions.last())
                .flatten();
            let Some(v) = live else { continue };
            let c = &v.content;
            let tags = c.tags.join(" ");
            let mut doc = TantivyDocument::default();
            doc.add_text(f.id, &article.id);
            doc.add_text(f.title_ru, &c.title.ru);
            doc.add_text(f.body_ru, &c.body.ru);
            doc.add_text(f.tags_ru, &tags);
            doc.add_text(f.title_kk, &c.title.kk);
            doc.add_text(f.body_kk, &c.body.kk);
            doc.add_text(f.tags_kk, &tags);
            writer.add_document(doc)?;
            entries.insert(
                article.id.clone(),
                Entry {
                    version: v.version,
                    valid_from: c.valid_from,
                    valid_until: c.valid_until,
                    title_kk: c.title.kk.clone(),
                    title_ru: c.title.ru.clone(),
                    body_kk: c.body.kk.clone(),
                    body_ru: c.body.ru.clone(),
                },
            );
        }
        writer.commit()?;
        // The searcher sees the commit before `len` counts the new entries: whoever waits for
        // an article to be counted then finds it.
        self.reader.reload()?;
        drop(entries);
        Ok(())
    }

    /// How many articles are searchable (valid or not).
    pub fn len(&self) -> usize {
        self.entries
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The question as one query over every field, each term from that field's analysis.
    fn query(&self, text: &str, language: Language) -> Result<BooleanQuery, IndexError> {
        let text: String = text.chars().take(QUERY_CHARS_MAX).collect();
        let f = self.fields;
        let (ru, kk) = match language {
            Language::Ru => (1.0, OTHER_LANGUAGE_BOOST),
            Language::Kk => (OTHER_LANGUAGE_BOOST, 1.0),
        };
        let weighted = [
            (f.title_ru, TITLE_BOOST * ru),
            (f.body_ru, ru),
            (f.tags_ru, TAGS_BOOST * ru),
            (f.title_kk, TITLE_BOOST * kk),
            (f.body_kk, kk),
            (f.tags_kk, TAGS_BOOST * kk),
        ];
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for (field, boost) in weighted {
            let mut analyzer = self.index.tokenizer_for_field(field)?;
            let terms: BTreeSet<String> = analysis::terms(&mut analyzer, &text)
                .into_iter()
                .take(QUERY_TERMS_MAX)
                .collect();
            for t in terms {
                let q = TermQuery::new(
                    Term::from_field_text(field, &t),
                    IndexRecordOption::WithFreqs,
                );
                clauses.push((Occur::Should, Box::new(BoostQuery::new(Box::new(q), boost))));
            }
        }
        Ok(BooleanQuery::new(clauses))
    }

    /// The articles valid on `today` that best answer `text`, best first, at most `limit`
    /// (capped at [`SEARCH_RESULTS_MAX`]), with a snippet in `language`.
    pub fn search(
        &self,
        text: &str,
        language: Language,
        today: Day,
        limit: usize,
    ) -> Result<Vec<Hit>, IndexError> {
        let limit = limit.clamp(1, SEARCH_RESULTS_MAX);
        let query = self.query(text, language)?;
        let searcher = self.reader.searcher();
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        // Articles out of their validity are skipped after scoring: fetch enough to fill `limit`.
        let fetch = limit + entries.values().filter(|e| !e.valid_on(today)).count();
        let top = searcher.search(&query, &TopDocs::with_limit(fetch).order_by_score())?;
        let body_field = match language {
            Language::Ru => self.fields.body_ru,
            Language::Kk => self.fields.body_kk,
        };
        let mut snippets = SnippetGenerator::create(&searcher, &query, body_field)?;
        snippets.set_max_num_chars(SNIPPET_CHARS_MAX);
        let mut hits = Vec::new();
        for (score, address) in top {
            let doc: TantivyDocument = searcher.doc(address)?;
            let Some(id) = doc.get_first(self.fields.id).and_then(|v| v.as_str()) else {
                continue;
            };
            let Some(entry) = entries.get(id).filter(|e| e.valid_on(today)) else {
                continue;
            };
            let (title, body) = match language {
                Language::Ru => (&entry.title_ru, &entry.body_ru),
                Language::Kk => (&entry.title_kk, &entry.body_kk),
            };
            let snippet = snippets.snippet(body);
            let fragment = snippet.fragment();
            let (snippet_text, highlights) = if fragment.is_empty() {
                (body.chars().take(SNIPPET_CHARS_MAX).collect(), Vec::new())
            } else {
                let char_at = |byte: usize| fragment[..byte].chars().count();
                let highlights = snippet
                    .highlighted()
                    .iter()
                    .map(|r| [char_at(r.start), char_at(r.end)])
                    .collect();
                (fragment.to_string(), highlights)
            };
            hits.push(Hit {
                article_id: id.to_string(),
                version: entry.version,
                score,
                title: title.clone(),
                snippet: snippet_text,
                highlights,
                body: body.clone(),
            });
            if hits.len() == limit {
                break;
            }
        }
        Ok(hits)
    }

    /// The articles valid on `today` that answer `text`, as `(article id, score)`, best first:
    /// what the bot decides on ([`super::BOT_AUTO_ANSWER_SCORE_MIN`]).
    pub fn suggest(
        &self,
        text: &str,
        language: Language,
        today: Day,
        limit: usize,
    ) -> Result<Vec<(String, f32)>, IndexError> {
        Ok(self
            .search(text, language, today, limit)?
            .into_iter()
            .map(|h| (h.article_id, h.score))
            .collect())
    }
}
