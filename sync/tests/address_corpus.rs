//! R08: the address corpus. Every line of `corpus/address_pairs.tsv` is a registry address, a query
//! for it written another way, and the answer the matcher must give: `match`, `possible` or
//! `no_match`. The corpus fails the matcher when any pair of the same building gets no match
//! (recall over match + possible below 1.0), when fewer than 95 % of its `match` answers are right
//! (precision), or when fewer than 95 % of all answers agree with the corpus (so that answering
//! `possible` to everything does not pass).
//!
//! `corpus/address_pairs_review.tsv` is an independent review set in the same format, written and
//! labelled from the contract and the corpus's conventions without reading the matcher. The
//! same rules apply to each file on its own and to both together; each is its own test.
//!
//! `cargo test -p sync --test address_corpus -- --nocapture --test-threads=1` prints the figures.

use sync::address::{AddressMatch, AddressMatcher, StreetAliases, TownAliases};

/// The corpus, loaded at build time so the test runs anywhere.
const CORPUS_TSV: &str = include_str!("corpus/address_pairs.tsv");
const CORPUS_FILE: &str = "address_pairs.tsv";
/// The independent review set, same format and rules.
const REVIEW_TSV: &str = include_str!("corpus/address_pairs_review.tsv");
const REVIEW_FILE: &str = "address_pairs_review.tsv";
/// The street aliases the corpus relies on (old and new names, translations).
const STREET_ALIASES_TSV: &str = include_str!("corpus/street_aliases.tsv");
/// The town aliases the corpus relies on (old and new names of towns other than the region's).
const TOWN_ALIASES_TSV: &str = include_str!("corpus/town_aliases.tsv");
/// Names of the region's own city, old ones included, ignored as in the node's demo config
/// (`node.city_names`).
const CITY_NAMES: &[&str] = &[
    "Астана",
    "Нур-Султан",
    "Нұр-Сұлтан",
    "Акмола",
    "Ақмола",
    "Целиноград",
];

/// A corpus smaller than this does not cover the ways addresses are written.
const CORPUS_PAIRS_MIN: usize = 200;
/// The review set was asked for at least this many pairs.
const REVIEW_PAIRS_MIN: usize = 80;
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
    file: &'static str,
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

fn load_pairs(file: &'static str, text: &str) -> Vec<Pair> {
    let mut lines = data_lines(text);
    let (_, header) = lines
        .next()
        .unwrap_or_else(|| panic!("{file} has a header line"));
    assert_eq!(
        header, "registry_address\tquery_address\texpected\tnote",
        "{file} header"
    );
    lines
        .map(|(line, text)| {
            let cols: Vec<&str> = text.split('\t').collect();
            assert_eq!(cols.len(), 4, "{file}:{line}: expected 4 columns");
            let expected = Answer::parse(cols[2]).unwrap_or_else(|| {
                panic!("{file}:{line}: expected must be match, possible or no_match")
            });
            Pair {
                file,
                line,
                registry: cols[0].to_string(),
                query: cols[1].to_string(),
                expected,
                note: cols[3].to_string(),
            }
        })
        .collect()
}

fn load_corpus() -> Vec<Pair> {
    load_pairs(CORPUS_FILE, CORPUS_TSV)
}

fn load_review() -> Vec<Pair> {
    load_pairs(REVIEW_FILE, REVIEW_TSV)
}

/// One street (or town) per line, its names separated by tabs.
fn load_aliases(tsv: &str) -> Vec<Vec<String>> {
    data_lines(tsv)
        .map(|(_, l)| l.split('\t').map(str::to_string).collect())
        .collect()
}

/// The matcher under test, built as the node builds it: the corpus's street and town aliases
/// and the region's city names.
fn matcher() -> AddressMatcher {
    let streets = load_aliases(STREET_ALIASES_TSV);
    let streets =
        StreetAliases::new(streets.iter().map(Vec::as_slice)).expect("street_aliases.tsv is valid");
    let towns = load_aliases(TOWN_ALIASES_TSV);
    let towns =
        TownAliases::new(towns.iter().map(Vec::as_slice)).expect("town_aliases.tsv is valid");
    let city_names: Vec<String> = CITY_NAMES.iter().map(|c| c.to_string()).collect();
    AddressMatcher::new(streets, &city_names).with_town_aliases(towns)
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

/// Runs the matcher over `pairs`, prints the figures and every differing answer under `label`,
/// and returns the thresholds it misses (empty when the set passes).
fn evaluate(label: &str, pairs: &[Pair], min_pairs: usize) -> Vec<String> {
    let matcher = matcher();
    let mut failures = Vec::new();
    if pairs.len() < min_pairs {
        failures.push(format!(
            "{label}: {} pairs; at least {min_pairs} are needed",
            pairs.len()
        ));
    }
    for answer in [Answer::Match, Answer::Possible, Answer::NoMatch] {
        if !pairs.iter().any(|p| p.expected == answer) {
            failures.push(format!("{label}: no {} pair", answer.as_str()));
        }
    }

    let mut same_building = 0;
    let mut found = 0;
    let mut answered_match = 0;
    let mut right_match = 0;
    let mut agreed = 0;
    let mut missed = Vec::new();
    let mut wrong_match = Vec::new();
    let mut other = Vec::new();
    for p in pairs {
        let got = answer(&matcher, &p.registry, &p.query);
        let row = format!(
            "  {}:{}: {:?} vs {:?}: expected {}, got {} ({})",
            p.file,
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
        "R08 address corpus [{label}]: {} pairs; recall over match+possible = {recall:.3} ({found}/{same_building}); \
         precision of match = {precision:.3} ({right_match}/{answered_match}); agreement = {agreement:.3} ({agreed}/{})",
        pairs.len(),
        pairs.len()
    );
    if recall < RECALL_MIN {
        failures.push(format!(
            "{label}: recall {recall:.3} < {RECALL_MIN}: same building, answered no_match:\n{}",
            missed.join("\n")
        ));
    }
    if precision < MATCH_PRECISION_MIN {
        failures.push(format!(
            "{label}: precision of match {precision:.3} < {MATCH_PRECISION_MIN}: answered match wrongly:\n{}",
            wrong_match.join("\n")
        ));
    }
    if agreement < AGREEMENT_MIN {
        failures.push(format!(
            "{label}: agreement {agreement:.3} < {AGREEMENT_MIN}: every answer that differs:\n{}\n{}\n{}",
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
            "[{label}] answers that differ (no_match on the same building first, then wrong matches, then the rest):\n{}",
            differing.join("\n")
        );
    }
    failures
}

#[test]
fn r08_address_corpus_recall_and_precision() {
    let failures = evaluate(CORPUS_FILE, &load_corpus(), CORPUS_PAIRS_MIN);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn r08_address_review_set_recall_and_precision() {
    let failures = evaluate(REVIEW_FILE, &load_review(), REVIEW_PAIRS_MIN);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn r08_address_corpus_and_review_combined() {
    let mut pairs = load_corpus();
    pairs.extend(load_review());
    let failures = evaluate("combined", &pairs, CORPUS_PAIRS_MIN + REVIEW_PAIRS_MIN);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
