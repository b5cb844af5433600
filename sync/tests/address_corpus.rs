//! R08: the address corpus. Every line of `corpus/address_pairs.tsv` is a registry address, a query
//! for it written another way, and the answer the matcher must give: `match`, `possible` or
//! `no_match`. The corpus fails the matcher when any pair of the same building gets no match
//! (recall over match + possible below 1.0), when fewer than 95 % of its `match` answers are right
//! (precision), or when fewer than 95 % of all answers agree with the corpus (so that answering
//! `possible` to everything does not pass).
//!
//! `cargo test -p sync --test address_corpus -- --nocapture` prints the figures.

use sync::address::{AddressMatch, AddressMatcher, StreetAliases};

/// The corpus, loaded at build time so the test runs anywhere.
const CORPUS_TSV: &str = include_str!("corpus/address_pairs.tsv");
/// The street aliases the corpus relies on (old and new names, translations).
const STREET_ALIASES_TSV: &str = include_str!("corpus/street_aliases.tsv");
/// Names of the region's own city, ignored as in the node's demo config (`node.city_names`).
const CITY_NAMES: &[&str] = &["Астана", "Нур-Султан", "Нұр-Сұлтан"];

/// A corpus smaller than this does not cover the ways addresses are written.
const CORPUS_PAIRS_MIN: usize = 200;
/// Share of same-building pairs (expected match or possible) that must not get `no_match`.
const RECALL_MIN: f64 = 1.0;
/// Share of `match` answers that must be pairs the corpus calls `match`.
const MATCH_PRECISION_MIN: f64 = 0.95;
/// Share of all answers that must equal the corpus's.
const AGREEMENT_MIN: f64 = 0.95;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Match,
    Possible,
    NoMatch,
}

impl Answer {
    fn parse(s: &str) -> Option<Answer> {
        match s {
            "match" => Some(Answer::Match),
            "possible" => Some(Answer::Possible),
            "no_match" => Some(Answer::NoMatch),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Answer::Match => "match",
            Answer::Possible => "possible",
            Answer::NoMatch => "no_match",
        }
    }
}

struct Pair {
    line: usize,
    registry: String,
    query: String,
    expected: Answer,
    note: String,
}

fn data_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
}

fn load_corpus() -> Vec<Pair> {
    let mut lines = data_lines(CORPUS_TSV);
    let (_, header) = lines.next().expect("the corpus has a header line");
    assert_eq!(
        header, "registry_address\tquery_address\texpected\tnote",
        "corpus header"
    );
    lines
        .map(|(line, text)| {
            let cols: Vec<&str> = text.split('\t').collect();
            assert_eq!(
                cols.len(),
                4,
                "address_pairs.tsv:{line}: expected 4 columns"
            );
            let expected = Answer::parse(cols[2]).unwrap_or_else(|| {
                panic!("address_pairs.tsv:{line}: expected must be match, possible or no_match")
            });
            Pair {
                line,
                registry: cols[0].to_string(),
                query: cols[1].to_string(),
                expected,
                note: cols[3].to_string(),
            }
        })
        .collect()
}

/// One street per line, its names separated by tabs.
fn load_street_aliases() -> Vec<Vec<String>> {
    data_lines(STREET_ALIASES_TSV)
        .map(|(_, l)| l.split('\t').map(str::to_string).collect())
        .collect()
}

/// The matcher under test, built as the node builds it: the corpus's street aliases and the
/// region's city names.
fn matcher(aliases: &[Vec<String>]) -> AddressMatcher {
    let aliases =
        StreetAliases::new(aliases.iter().map(Vec::as_slice)).expect("street_aliases.tsv is valid");
    let city_names: Vec<String> = CITY_NAMES.iter().map(|c| c.to_string()).collect();
    AddressMatcher::new(aliases, &city_names)
}

fn answer(matcher: &AddressMatcher, registry: &str, query: &str) -> Answer {
    match matcher.compare_text(registry, query) {
        AddressMatch::Match => Answer::Match,
        AddressMatch::Possible { .. } => Answer::Possible,
        AddressMatch::NoMatch => Answer::NoMatch,
    }
}

fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

#[test]
fn r08_address_corpus_recall_and_precision() {
    let pairs = load_corpus();
    let matcher = matcher(&load_street_aliases());
    assert!(
        pairs.len() >= CORPUS_PAIRS_MIN,
        "the corpus has {} pairs; at least {CORPUS_PAIRS_MIN} are needed",
        pairs.len()
    );
    for answer in [Answer::Match, Answer::Possible, Answer::NoMatch] {
        assert!(
            pairs.iter().any(|p| p.expected == answer),
            "the corpus has no {} pair",
            answer.as_str()
        );
    }

    let mut same_building = 0;
    let mut found = 0;
    let mut answered_match = 0;
    let mut right_match = 0;
    let mut agreed = 0;
    let mut missed = Vec::new();
    let mut wrong_match = Vec::new();
    let mut other = Vec::new();
    for p in &pairs {
        let got = answer(&matcher, &p.registry, &p.query);
        let row = format!(
            "  line {}: {:?} vs {:?}: expected {}, got {} ({})",
            p.line,
            p.registry,
            p.query,
            p.expected.as_str(),
            got.as_str(),
            p.note
        );
        let is_missed = p.expected != Answer::NoMatch && got == Answer::NoMatch;
        let is_wrong_match = got == Answer::Match && p.expected != Answer::Match;
        if got == p.expected {
            agreed += 1;
        } else if is_missed {
            missed.push(row);
        } else if is_wrong_match {
            wrong_match.push(row);
        } else {
            other.push(row);
        }
        if p.expected != Answer::NoMatch {
            same_building += 1;
            found += usize::from(got != Answer::NoMatch);
        }
        if got == Answer::Match {
            answered_match += 1;
            right_match += usize::from(p.expected == Answer::Match);
        }
    }
    let recall = ratio(found, same_building);
    let precision = ratio(right_match, answered_match);
    let agreement = ratio(agreed, pairs.len());
    println!(
        "R08 address corpus: {} pairs; recall over match+possible = {recall:.3} ({found}/{same_building}); \
         precision of match = {precision:.3} ({right_match}/{answered_match}); agreement = {agreement:.3} ({agreed}/{})",
        pairs.len(),
        pairs.len()
    );
    let mut failures = Vec::new();
    if recall < RECALL_MIN {
        failures.push(format!(
            "recall {recall:.3} < {RECALL_MIN}: same building, answered no_match:\n{}",
            missed.join("\n")
        ));
    }
    if precision < MATCH_PRECISION_MIN {
        failures.push(format!(
            "precision of match {precision:.3} < {MATCH_PRECISION_MIN}: answered match wrongly:\n{}",
            wrong_match.join("\n")
        ));
    }
    if agreement < AGREEMENT_MIN {
        failures.push(format!(
            "agreement {agreement:.3} < {AGREEMENT_MIN}: every answer that differs from the corpus:\n{}\n{}\n{}",
            missed.join("\n"),
            wrong_match.join("\n"),
            other.join("\n")
        ));
    }
    let differing: Vec<&str> = missed
        .iter()
        .chain(&wrong_match)
        .chain(&other)
        .map(String::as_str)
        .collect();
    if !differing.is_empty() {
        println!(
            "answers that differ from the corpus:\n{}",
            differing.join("\n")
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
