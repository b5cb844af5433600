//! The reference lists the ЛП-1 card uses (КАТО, social status, nature of the question, decision
//! on the reception, nationality, citizenship, the protocol's language), loaded from a file.
//!
//! # File format
//!
//! One TOML file. Top-level keys:
//! - `sample` (bool, required): `true` when the lists are demo data, not the official
//!   classifiers; the API and the ЛП-1 card carry the mark so a screen and an export show it.
//! - `source` (string, required): where the lists come from (the classifier's edition, or
//!   "sample data").
//!
//! Then one array of tables per list, each entry `code` (1 to [`REFERENCE_CODE_CHARS_MAX`]
//! characters, unique within its list), `kk` and `ru` (its name in Kazakh and Russian, 1 to
//! [`REFERENCE_NAME_CHARS_MAX`] characters): `[[kato]]`, `[[social_status]]`,
//! `[[question_nature]]`, `[[decision]]`, `[[nationality]]`, `[[citizenship]]`, `[[language]]`.
//! A `[[decision]]` entry also has `report` = `"satisfied"`, `"refused"` or `"explained"`: the
//! column of report 1-ОЛ section 5 ("Решение по личному приему") it counts in. Every list must
//! have at least one entry. Unknown keys are refused, naming them.
//!
//! The demo file [`DEMO_RECEPTION_REFERENCE_TOML`] (`demo_reference.toml`) is `sample = true`.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The demo reference lists (sample data).
pub const DEMO_RECEPTION_REFERENCE_TOML: &str = include_str!("demo_reference.toml");
/// Longest code of a reference entry, in characters.
pub const REFERENCE_CODE_CHARS_MAX: usize = 32;
/// Longest name of a reference entry, in characters.
pub const REFERENCE_NAME_CHARS_MAX: usize = 300;
/// Most entries one list may hold (the full КАТО has about 17,000).
pub const REFERENCE_ENTRIES_MAX: usize = 50_000;

/// One entry of a reference list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefEntry {
    pub code: String,
    pub kk: String,
    pub ru: String,
}

/// The column of report 1-ОЛ section 5 a decision counts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DecisionColumn {
    /// удовлетворено
    Satisfied,
    /// отказано
    Refused,
    /// разъяснено
    Explained,
}

/// A decision on a reception, with the report column it counts in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionEntry {
    pub code: String,
    pub kk: String,
    pub ru: String,
    pub report: DecisionColumn,
}

/// The reference lists of the ЛП-1 card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceptionReference {
    /// Demo data, not the official classifiers.
    pub sample: bool,
    pub source: String,
    pub kato: Vec<RefEntry>,
    pub social_status: Vec<RefEntry>,
    pub question_nature: Vec<RefEntry>,
    pub decision: Vec<DecisionEntry>,
    pub nationality: Vec<RefEntry>,
    pub citizenship: Vec<RefEntry>,
    pub language: Vec<RefEntry>,
}

/// An entry's code, kk and ru names.
type Names<'a> = (&'a str, &'a str, &'a str);

/// Which list a field's value is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RefList {
    Kato,
    SocialStatus,
    QuestionNature,
    Decision,
    Nationality,
    Citizenship,
    Language,
}

impl ReceptionReference {
    /// Parses and checks a reference file; the error names the list and entry.
    pub fn from_toml(text: &str) -> Result<ReceptionReference, String> {
        let r: ReceptionReference = toml::from_str(text).map_err(|e| e.to_string())?;
        r.validate()?;
        Ok(r)
    }

    /// The demo lists (sample data).
    pub fn demo() -> ReceptionReference {
        ReceptionReference::from_toml(DEMO_RECEPTION_REFERENCE_TOML)
            .expect("the embedded demo reception reference is valid")
    }

    fn lists(&self) -> Vec<(&'static str, Vec<Names<'_>>)> {
        fn m(v: &[RefEntry]) -> Vec<Names<'_>> {
            v.iter()
                .map(|x| (x.code.as_str(), x.kk.as_str(), x.ru.as_str()))
                .collect()
        }
        vec![
            ("kato", m(&self.kato)),
            ("social_status", m(&self.social_status)),
            ("question_nature", m(&self.question_nature)),
            (
                "decision",
                self.decision
                    .iter()
                    .map(|x| (x.code.as_str(), x.kk.as_str(), x.ru.as_str()))
                    .collect(),
            ),
            ("nationality", m(&self.nationality)),
            ("citizenship", m(&self.citizenship)),
            ("language", m(&self.language)),
        ]
    }

    /// Every list non-empty, codes unique and names within their limits.
    pub fn validate(&self) -> Result<(), String> {
        if self.source.trim().is_empty() {
            return Err("source is empty".into());
        }
        for (list, entries) in self.lists() {
            if entries.is_empty() {
                return Err(format!("list {list} has no entries"));
            }
            if entries.len() > REFERENCE_ENTRIES_MAX {
                return Err(format!(
                    "list {list} has {} entries, more than {REFERENCE_ENTRIES_MAX}",
                    entries.len()
                ));
            }
            let mut seen = BTreeSet::new();
            for (code, kk, ru) in entries {
                let n = code.chars().count();
                if n == 0 || n > REFERENCE_CODE_CHARS_MAX || code.trim() != code {
                    return Err(format!(
                        "list {list}: code {code:?} is not 1 to {REFERENCE_CODE_CHARS_MAX} characters without surrounding spaces"
                    ));
                }
                if !seen.insert(code) {
                    return Err(format!("list {list}: code {code:?} is given twice"));
                }
                for (lang, name) in [("kk", kk), ("ru", ru)] {
                    let n = name.trim().chars().count();
                    if n == 0 || name.chars().count() > REFERENCE_NAME_CHARS_MAX {
                        return Err(format!(
                            "list {list}: entry {code:?} has no {lang} name or one longer than {REFERENCE_NAME_CHARS_MAX} characters"
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// The entry `code` of `list`, as (kk, ru) names.
    pub fn lookup(&self, list: RefList, code: &str) -> Option<(&str, &str)> {
        fn find<'a>(v: &'a [RefEntry], code: &str) -> Option<(&'a str, &'a str)> {
            v.iter()
                .find(|e| e.code == code)
                .map(|e| (e.kk.as_str(), e.ru.as_str()))
        }
        match list {
            RefList::Kato => find(&self.kato, code),
            RefList::SocialStatus => find(&self.social_status, code),
            RefList::QuestionNature => find(&self.question_nature, code),
            RefList::Decision => self
                .decision
                .iter()
                .find(|e| e.code == code)
                .map(|e| (e.kk.as_str(), e.ru.as_str())),
            RefList::Nationality => find(&self.nationality, code),
            RefList::Citizenship => find(&self.citizenship, code),
            RefList::Language => find(&self.language, code),
        }
    }

    /// The report column of decision `code`.
    pub fn decision_column(&self, code: &str) -> Option<DecisionColumn> {
        self.decision
            .iter()
            .find(|e| e.code == code)
            .map(|e| e.report)
    }
}
