//! Addresses as people write them, for the address-warnings registry (справочные учёты, R08).
//!
//! A second caller at a weapon-flagged flat must get the warning however the address is said:
//! "Кенесары 40" for "ул. Кенесары, 40", "Абай даңғылы 52" for "пр. Абая, 52", "Сарайшық 5" for
//! "ул. Сарайшык 5", "ул.Кенесары40", "Кенесaры 40" with a Latin `a`. [`AddressMatcher`] reads an
//! address into street type, street name, house number, литера, корпус and flat, and compares a
//! registry address with a query: `Match`, `Possible` with its reasons (a typo, a корпус on one
//! side only, another flat of the same building, ...) or `NoMatch`. The house number must be
//! equal, and a литера or корпус given on both sides; everything about the street is compared
//! leniently, and a near miss is a possible match, never dropped. The corpus
//! `sync/tests/corpus/address_pairs.tsv` and the independent review set
//! `address_pairs_review.tsv` are the contract (run `cargo test -p sync --test address_corpus --
//! --nocapture --test-threads=1` for their figures).
//!
//! Known gaps: a number written against a name and followed by another number without a marker
//! is read as part of the name ("Самал-2, 58": microdistrict Самал-2, house 58), so
//! "Кенесары-40, 12" meaning flat 12 is read as house 12; a transliteration is only ever a
//! possible match; letters standing for digits in a house number ("4О" for 40) are not read as
//! digits.
//!
//! Pure text handling: no I/O, no clock. The node keys its stored records by
//! [`normalize_address`] and indexes them by [`ParsedAddress::house_key`].

use std::collections::BTreeMap;
use std::sync::OnceLock;

mod model;
mod parse;
mod script;

pub use model::{
    fold_letter, ParsedAddress, StreetKind, StreetName, GLUED_HONORIFIC_NAME_CHARS_MIN,
    HOUSE_NUMBER_DIGITS_MAX,
};
use model::{house_digits, Town};
use parse::{street_name_only, tokens, Parser, Token};

/// Canonical text of an address: the key of the node's stored registry records. Two addresses
/// with the same key always match; [`AddressMatcher`] finds the rest.
///
/// Steps, and why:
/// - lowercase (Unicode) and fold `ё→е` and the Kazakh letters `ә ғ қ ң ө ұ ү һ і` to their
///   nearest Russian letters, because the same street is written "Мәңгілік Ел" and
///   "Мангилик Ел" depending on the keyboard at hand;
/// - punctuation (`. , ; : " « » № #` and brackets) becomes spaces; `-` and `/` stay because
///   they are part of names and house numbers ("пр-т", "12/1");
/// - abbreviations are unified; words that carry no information for matching are dropped
///   ("г.", "город", "дом", "д.", Kazakh "қаласы", "үй");
/// - street-type words ("ул", "пр", "мкр", ...) move to the front: Russian writes them before
///   the name ("ул. Кенесары"), Kazakh after it ("Кенесары көшесі"); the other words keep their
///   order, so house and apartment numbers are never confused;
/// - a single letter right after a house number joins it ("40 а" → "40а").
pub fn normalize_address(s: &str) -> String {
    let mut cleaned = String::with_capacity(s.len());
    for ch in s.chars().flat_map(char::to_lowercase) {
        match ch {
            // Segment boundaries survive as a token so a letter after "5," is not joined to 5.
            ',' | ';' => cleaned.push_str(" , "),
            '.' | ':' | '"' | '\'' | '«' | '»' | '“' | '”' | '„' | '№' | '#' | '(' | ')' | '['
            | ']' | '!' | '?' | '–' | '—' | '\\' => cleaned.push(' '),
            c if c.is_whitespace() || c.is_control() => cleaned.push(' '),
            c => cleaned.push(fold_letter(c)),
        }
    }

    let words = address_words();
    let mut street_types: Vec<&'static str> = Vec::new();
    let mut rest: Vec<String> = Vec::new();
    let mut in_apartment = false;
    // Whether the previous kept word in this segment is a house number.
    let mut after_number = false;
    for token in cleaned.split(' ') {
        let token = token.trim_matches('-');
        if token.is_empty() {
            continue;
        }
        if token == "," {
            after_number = false;
            continue;
        }
        let is_single_letter = {
            let mut chars = token.chars();
            matches!((chars.next(), chars.next()), (Some(c), None) if c.is_alphabetic())
        };
        if is_single_letter && after_number {
            if let Some(last) = rest.last_mut() {
                last.push_str(token);
                after_number = false;
                continue;
            }
        }
        match words.get(token) {
            Some(AddressWord::Drop) => continue,
            Some(AddressWord::Apartment) => {
                in_apartment = true;
                after_number = false;
                rest.push("кв".to_string());
            }
            Some(AddressWord::StreetType(kind)) if !in_apartment => {
                if !street_types.contains(kind) {
                    street_types.push(kind);
                }
                after_number = false;
            }
            Some(AddressWord::StreetType(kind)) => rest.push((*kind).to_string()),
            Some(AddressWord::Rename(to)) => {
                rest.push((*to).to_string());
                after_number = false;
            }
            None => {
                after_number = token.starts_with(|c: char| c.is_ascii_digit());
                rest.push(token.to_string());
            }
        }
    }
    let mut out = street_types.join(" ");
    for word in rest {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&word);
    }
    out
}

#[derive(Debug, Clone, Copy)]
enum AddressWord {
    Drop,
    Apartment,
    StreetType(&'static str),
    Rename(&'static str),
}

/// Words with a meaning for matching, keyed by their folded spelling.
fn address_words() -> &'static BTreeMap<String, AddressWord> {
    static WORDS: OnceLock<BTreeMap<String, AddressWord>> = OnceLock::new();
    WORDS.get_or_init(|| {
        use AddressWord::*;
        let table: &[(&[&str], AddressWord)] = &[
            (
                &[
                    "г",
                    "гор",
                    "город",
                    "қ",
                    "қала",
                    "қаласы",
                    "дом",
                    "д",
                    "үй",
                    "рк",
                ],
                Drop,
            ),
            (&["кв", "квартира", "пәтер"], Apartment),
            (&["ул", "улица", "көше", "көшесі", "көш"], StreetType("ул")),
            (
                &["пр", "пр-т", "просп", "проспект", "даңғылы", "даңғ", "даң"],
                StreetType("пр"),
            ),
            (
                &["мкр", "мкрн", "микрорайон", "м-н", "шағынауданы"],
                StreetType("мкр"),
            ),
            (&["пер", "переулок", "тұйық", "тұйығы"], StreetType("пер")),
            (&["б-р", "бул", "бульвар", "бульвары"], StreetType("бул")),
            (&["ш", "шоссе"], StreetType("ш")),
            (&["наб", "набережная", "жағалауы"], StreetType("наб")),
            (&["пл", "площадь", "алаңы"], StreetType("пл")),
            (&["корп", "корпус"], Rename("корп")),
        ];
        let mut words = BTreeMap::new();
        for (spellings, meaning) in table {
            for spelling in *spellings {
                let folded: String = spelling.chars().map(fold_letter).collect();
                words.insert(folded, *meaning);
            }
        }
        words
    })
}

// ------------------------------------------------------------------------ the matcher

/// Street-name edit distances are counted only for names at least this many characters long
/// (the longer of the two): in shorter ones one letter makes another name ("Мир" / "Мор"). From
/// here on one edit (a letter wrong, missing or swapped) is a typo.
pub const STREET_TYPO_CHARS_MIN: usize = 4;
/// Two edits are a typo when both names have at least this many characters ("Кинесари" /
/// "Кенесары"); in shorter ones two letters make another name ("Акжол" / "Акжар", "Мира" /
/// "Мирная"). The house number must still be equal, and the answer is only a possible match.
pub const STREET_TYPO_TWO_EDITS_CHARS_MIN: usize = 6;
/// A street name given only in part ("Ауэзова" for "Мухтара Ауэзова") must share at least this
/// many characters with the full one to be a possible match.
pub const STREET_PARTIAL_SHARED_CHARS_MIN: usize = 4;
/// Only this many characters of an address are read: the longest address a card or a
/// registry row may hold (`model::limits::ADDRESS_CHARS_MAX`).
pub const ADDRESS_PARSE_CHARS_MAX: usize = crate::model::limits::ADDRESS_CHARS_MAX;
/// Street-alias groups in one region's reference data.
pub const STREET_ALIAS_GROUPS_MAX: usize = 10_000;
/// Names in one street-alias group (old names, new name, translations).
pub const STREET_ALIAS_NAMES_MAX: usize = 16;
/// Longest street-alias name, in characters.
pub const STREET_ALIAS_NAME_CHARS_MAX: usize = 200;
/// Town-alias groups in one region's reference data.
pub const TOWN_ALIAS_GROUPS_MAX: usize = 1_000;
/// Names in one town-alias group (old names, new name, spellings).
pub const TOWN_ALIAS_NAMES_MAX: usize = 16;
/// Longest town-alias name, in characters.
pub const TOWN_ALIAS_NAME_CHARS_MAX: usize = 100;

/// Why a registry address is only possibly the one asked about. The API sends these codes; the
/// console shows them in Kazakh and Russian.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum PossibleReason {
    /// The street names differ by a typo: one letter wrong, missing or swapped, or two in longer
    /// names.
    StreetSpelling,
    /// One side names the street only in part ("Ауэзова" / "Мухтара Ауэзова").
    StreetNamePartial,
    /// One side is written in Latin letters and was transliterated ("Kenesary 40"): the
    /// spelling may mean another street.
    StreetTransliterated,
    /// Both sides give a street type and they differ ("мкр Самал" / "ул. Самал"): both may exist.
    StreetType,
    /// A литера on one side only ("12" / "12А"), or a Latin B that may be В or Б.
    HouseLetter,
    /// A корпус (or the part after "/") on one side only ("40" / "40/1", "40 корп. 1"): registers
    /// often leave it out, and "/" also marks corner buildings.
    Korpus,
    /// The same building, another flat: the crew going to one flat must hear of the other.
    OtherFlat,
}

/// How a registry address relates to the address asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressMatch {
    /// The same building (and the same flat, or a flat of the building, or the building).
    Match,
    /// Perhaps the same building; `reasons` is sorted, without duplicates, never empty.
    Possible {
        reasons: Vec<PossibleReason>,
    },
    NoMatch,
}

/// Street aliases of a region: the names one street has had or has in the other language
/// ("Победы" / "Жеңіс"). Built from reference data and checked once.
#[derive(Debug, Clone, Default)]
pub struct StreetAliases {
    groups: Vec<Vec<StreetName>>,
    /// Stems of a name (joined) → its group.
    group_of: BTreeMap<String, usize>,
}

impl StreetAliases {
    /// Checks and indexes alias groups. Errors name the group (1-based) and the name, and say
    /// what to change.
    pub fn new<'a, G, S>(groups: G) -> Result<StreetAliases, String>
    where
        G: IntoIterator<Item = &'a [S]>,
        S: AsRef<str> + 'a,
    {
        let checked = check_alias_groups(groups, &STREET_ALIAS_RULES, |name| {
            let parsed = street_name_only(name);
            (parsed.stems_text(), parsed)
        })?;
        let mut out = StreetAliases::default();
        for (index, group) in checked.into_iter().enumerate() {
            let mut names = Vec::with_capacity(group.len());
            for (key, parsed) in group {
                out.group_of.insert(key, index);
                names.push(parsed);
            }
            out.groups.push(names);
        }
        Ok(out)
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// The name itself and every alias of it.
    fn names_of<'a>(&'a self, name: &'a StreetName) -> Vec<&'a StreetName> {
        let mut out = vec![name];
        if let Some(&group) = self.group_of.get(&name.stems_text()) {
            out.extend(self.groups[group].iter());
        }
        out
    }
}

/// Towns of a region under all their names: old and new ("Алма-Ата" / "Алматы", "Капшагай" /
/// "Қонаев"). The region's own city is configured apart (`node.city_names`, all its names, old
/// ones included); a group that has one of those names is the region's own city too. Built from
/// reference data and checked once.
#[derive(Debug, Clone, Default)]
pub struct TownAliases {
    /// Each group's names as the parser reads a town (folded words joined by a space).
    groups: Vec<Vec<String>>,
}

impl TownAliases {
    /// Checks town-alias groups. Errors name the group (1-based) and the name, and say what to
    /// change.
    pub fn new<'a, G, S>(groups: G) -> Result<TownAliases, String>
    where
        G: IntoIterator<Item = &'a [S]>,
        S: AsRef<str> + 'a,
    {
        let checked = check_alias_groups(groups, &TOWN_ALIAS_RULES, |name| (town_key(name), ()))?;
        Ok(TownAliases {
            groups: checked
                .into_iter()
                .map(|group| group.into_iter().map(|(key, ())| key).collect())
                .collect(),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }
}

/// One kind of alias group (streets, towns): what errors call it, its limits and what a
/// valid group looks like.
struct AliasRules {
    /// "street" or "town".
    kind: &'static str,
    groups_max: usize,
    names_max: usize,
    name_chars_max: usize,
    /// A name to show when one has nothing of this kind in it.
    example: &'static str,
    /// Which two names a group is for.
    two_names: &'static str,
}

const STREET_ALIAS_RULES: AliasRules = AliasRules {
    kind: "street",
    groups_max: STREET_ALIAS_GROUPS_MAX,
    names_max: STREET_ALIAS_NAMES_MAX,
    name_chars_max: STREET_ALIAS_NAME_CHARS_MAX,
    example: "\"Победы\" or \"Жеңіс\"",
    two_names: "an old and a new one, or the Kazakh and the Russian one",
};

const TOWN_ALIAS_RULES: AliasRules = AliasRules {
    kind: "town",
    groups_max: TOWN_ALIAS_GROUPS_MAX,
    names_max: TOWN_ALIAS_NAMES_MAX,
    name_chars_max: TOWN_ALIAS_NAME_CHARS_MAX,
    example: "\"Алма-Ата\"",
    two_names: "an old and a new one",
};

/// Checks alias groups against `rules`: each name is read by `key_of` into its comparison key
/// and what the caller keeps. A name repeated within its group is dropped; a name in two groups,
/// an empty name or a group of fewer than two names is an error that names the group (1-based)
/// and the name and says what to change.
fn check_alias_groups<'a, G, S, T>(
    groups: G,
    rules: &AliasRules,
    key_of: impl Fn(&str) -> (String, T),
) -> Result<Vec<Vec<(String, T)>>, String>
where
    G: IntoIterator<Item = &'a [S]>,
    S: AsRef<str> + 'a,
{
    let AliasRules {
        kind,
        groups_max,
        names_max,
        name_chars_max,
        example,
        two_names,
    } = rules;
    let mut out = Vec::new();
    // Key → (group, the name as written), to name both sides of a conflict.
    let mut first_seen: BTreeMap<String, (usize, String)> = BTreeMap::new();
    for (index, names) in groups.into_iter().enumerate() {
        let number = index + 1;
        if index >= *groups_max {
            return Err(format!(
                "more than {groups_max} {kind}-alias groups; merge or remove some"
            ));
        }
        if names.len() > *names_max {
            return Err(format!(
                "{kind}-alias group {number} has {} names; at most {names_max}",
                names.len()
            ));
        }
        let mut group = Vec::new();
        for name in names {
            let name = name.as_ref().trim();
            if name.chars().count() > *name_chars_max {
                return Err(format!(
                    "{kind}-alias group {number}: the name {name:?} is longer than \
                     {name_chars_max} characters"
                ));
            }
            let (key, kept) = key_of(name);
            if key.is_empty() {
                return Err(format!(
                    "{kind}-alias group {number}: {name:?} has no {kind} name in it; write the \
                     name itself, e.g. {example}"
                ));
            }
            match first_seen.get(&key) {
                Some((other, _)) if *other == index => continue, // the same name twice
                Some((other, written)) => {
                    return Err(format!(
                        "{kind}-alias groups {} and {number} both name the {kind} {written:?} \
                         (as {name:?}); one {kind} has one group: merge them",
                        other + 1
                    ))
                }
                None => {
                    first_seen.insert(key.clone(), (index, name.to_string()));
                }
            }
            group.push((key, kept));
        }
        if group.len() < 2 {
            return Err(format!(
                "{kind}-alias group {number} needs at least two different names ({two_names})"
            ));
        }
        out.push(group);
    }
    Ok(out)
}

/// A town's name as the parser reads it after "г." or before "қ.": folded words.
fn town_key(name: &str) -> String {
    tokens(name)
        .into_iter()
        .filter_map(|t| match t {
            Token::Word(w) => Some(w),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Compares addresses as people write them (R08). Built once per region from its street
/// aliases and the names of its city; [`AddressMatcher::parse`] each address once, then
/// [`AddressMatcher::compare`] pairs.
///
/// A registry address and a query are the same building when the house number, its литера
/// and its корпус are equal, no two different towns are named (a town's old name is the same
/// town), and the street names are equal once Kazakh letters, Latin look-alikes, case endings,
/// hyphens, honorifics and initials are set aside, or through an alias. They are possibly the
/// same building (never silently dropped) when the street names differ by a typo, one gives
/// only part of the other or one was transliterated from Latin letters, when both give a street
/// type and the types differ, or when a литера or a корпус is given on one side only. Another
/// flat of the same building is a possible match too. A different house number, литера or
/// корпус, or a different number in the street's name ("Самал-2" / "Самал-3"), is another
/// building.
#[derive(Debug, Clone, Default)]
pub struct AddressMatcher {
    aliases: StreetAliases,
    /// The region's own city names, folded: never a different town.
    home_city: Vec<String>,
    /// The same names as [`normalize_address`] words, dropped from keys.
    home_city_key_words: Vec<String>,
    /// A town's name (as [`town_key`] reads it) → the town: the region's own city, or the first
    /// name of its alias group.
    towns: BTreeMap<String, Town>,
}

impl AddressMatcher {
    pub fn new(aliases: StreetAliases, city_names: &[String]) -> AddressMatcher {
        let home_city = city_names
            .iter()
            .flat_map(|c| tokens(c))
            .filter_map(|t| match t {
                Token::Word(w) => Some(w),
                _ => None,
            })
            .collect();
        let home_city_key_words = city_names
            .iter()
            .flat_map(|w| {
                normalize_address(w)
                    .split(' ')
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .filter(|w| !w.is_empty())
            .collect();
        AddressMatcher {
            aliases,
            home_city,
            home_city_key_words,
            towns: BTreeMap::new(),
        }
    }

    /// The same matcher knowing the region's town aliases: an address in "г. Алма-Ата" is in
    /// Алматы. A group with one of the region's own city names is that city.
    pub fn with_town_aliases(mut self, towns: TownAliases) -> AddressMatcher {
        for group in towns.groups {
            let home = group.iter().any(|name| self.home_city.contains(name));
            let town = if home {
                Town::Home
            } else {
                Town::Other(group[0].clone())
            };
            for name in group {
                self.towns.insert(name, town.clone());
            }
        }
        self
    }

    /// [`normalize_address`] without the words of the region's city names.
    pub fn key(&self, address: &str) -> String {
        let n = normalize_address(address);
        if self.home_city_key_words.is_empty() {
            return n;
        }
        n.split(' ')
            .filter(|w| !self.home_city_key_words.iter().any(|i| i == w))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Reads the parts of an address. Never fails: what cannot be read is left out, and an
    /// address with no house number matches only another without one.
    pub fn parse(&self, address: &str) -> ParsedAddress {
        let address: String = address.chars().take(ADDRESS_PARSE_CHARS_MAX).collect();
        let mut parsed = Parser::new(&address, &self.home_city).run();
        parsed.key = self.key(&address);
        if let Some(Town::Other(name)) = &parsed.town {
            if let Some(town) = self.towns.get(name) {
                parsed.town = Some(town.clone());
            }
        }
        parsed
    }

    /// How `record` (from the registry) relates to `query` (the address asked about).
    pub fn compare(&self, record: &ParsedAddress, query: &ParsedAddress) -> AddressMatch {
        if !record.key.is_empty() && record.key == query.key {
            return AddressMatch::Match;
        }
        let mut reasons = Vec::new();
        match (&record.house, &query.house) {
            (None, None) => {}
            (Some(a), Some(b)) if house_digits(a) == house_digits(b) => {
                match compare_parts(house_letter(a), house_letter(b)) {
                    Part::Same => {}
                    Part::Possible => reasons.push(PossibleReason::HouseLetter),
                    Part::Different => return AddressMatch::NoMatch,
                }
            }
            _ => return AddressMatch::NoMatch,
        }
        match compare_parts(record.korpus.as_deref(), query.korpus.as_deref()) {
            Part::Same => {}
            Part::Possible => reasons.push(PossibleReason::Korpus),
            Part::Different => return AddressMatch::NoMatch,
        }
        if let (Some(a), Some(b)) = (&record.town, &query.town) {
            if a != b {
                return AddressMatch::NoMatch;
            }
        }
        if record.street.is_empty() || query.street.is_empty() {
            return AddressMatch::NoMatch;
        }
        let streets = match self.compare_streets(&record.street, &query.street) {
            Streets::Same => Streets::Same,
            _ if self.same_extended(record, query) => Streets::Same,
            other => other,
        };
        match streets {
            Streets::Same => {}
            Streets::Typo => reasons.push(PossibleReason::StreetSpelling),
            Streets::Partial => reasons.push(PossibleReason::StreetNamePartial),
            Streets::Different => return AddressMatch::NoMatch,
        }
        if record.transliterated || query.transliterated {
            reasons.push(PossibleReason::StreetTransliterated);
        }
        if let (Some(a), Some(b)) = (record.street_type, query.street_type) {
            if a != b {
                reasons.push(PossibleReason::StreetType);
            }
        }
        if let (Some(a), Some(b)) = (&record.flat, &query.flat) {
            if a != b {
                reasons.push(PossibleReason::OtherFlat);
            }
        }
        if reasons.is_empty() {
            AddressMatch::Match
        } else {
            reasons.sort();
            reasons.dedup();
            AddressMatch::Possible { reasons }
        }
    }

    /// Parses both and compares them.
    pub fn compare_text(&self, record: &str, query: &str) -> AddressMatch {
        self.compare(&self.parse(record), &self.parse(query))
    }

    fn compare_streets(&self, record: &StreetName, query: &StreetName) -> Streets {
        let records = self.aliases.names_of(record);
        let queries = self.aliases.names_of(query);
        let pairs = || {
            records
                .iter()
                .flat_map(|r| queries.iter().map(move |q| (*r, *q)))
        };
        if pairs().any(|(r, q)| r.stems == q.stems) {
            return Streets::Same;
        }
        // A near miss only between names with the same numbers: "Самал-2" is not "Самал-3".
        let near = || pairs().filter(|(r, q)| r.numbers == q.numbers);
        if near()
            .any(|(r, q)| is_typo(&r.stems_text(), &q.stems_text()) || is_typo(&r.full, &q.full))
        {
            return Streets::Typo;
        }
        if near().any(|(r, q)| is_part_of(&r.stems, &q.stems) || is_part_of(&q.stems, &r.stems)) {
            return Streets::Partial;
        }
        Streets::Different
    }

    /// Whether a street name with the words of the part before it ("Керей, Жәнібек хандар")
    /// is the other side's, equal or through an alias.
    fn same_extended(&self, record: &ParsedAddress, query: &ParsedAddress) -> bool {
        let records = [Some(&record.street), record.street_extended.as_ref()];
        let queries = [Some(&query.street), query.street_extended.as_ref()];
        records.iter().flatten().any(|r| {
            queries.iter().flatten().any(|q| {
                self.aliases
                    .names_of(r)
                    .iter()
                    .any(|a| self.aliases.names_of(q).iter().any(|b| a.stems == b.stems))
            })
        })
    }
}

/// The литера of a house number ("а" of "40а"), if it has one.
fn house_letter(house: &str) -> Option<&str> {
    Some(&house[house_digits(house).len()..]).filter(|l| !l.is_empty())
}

/// How a литера or корпус of one side relates to the other's.
enum Part {
    Same,
    /// On one side only, or a Latin `b` that may be В (the same) or Б.
    Possible,
    Different,
}

/// Compares a литера or корпус. A Latin `b` is the look-alike of В (the same) and the
/// transliteration of Б (possibly the same).
fn compare_parts(a: Option<&str>, b: Option<&str>) -> Part {
    let (a, b) = match (a, b) {
        (None, None) => return Part::Same,
        (Some(a), Some(b)) => (a, b),
        _ => return Part::Possible,
    };
    let read = |s: &str, latin_b: char| -> String {
        s.chars()
            .map(|c| if c == 'b' { latin_b } else { c })
            .collect()
    };
    if a == b || read(a, 'в') == read(b, 'в') {
        Part::Same
    } else if read(a, 'б') == read(b, 'б') {
        Part::Possible
    } else {
        Part::Different
    }
}

enum Streets {
    Same,
    Typo,
    Partial,
    Different,
}

/// Whether two names differ by a typo: one edit (a letter wrong, missing, extra or two swapped)
/// when the longer has [`STREET_TYPO_CHARS_MIN`] characters, two when both have
/// [`STREET_TYPO_TWO_EDITS_CHARS_MIN`].
fn is_typo(a: &str, b: &str) -> bool {
    let (la, lb) = (a.chars().count(), b.chars().count());
    let (longer, shorter) = (la.max(lb), la.min(lb));
    // Names further apart in length than two edits can bridge are not compared at all.
    if longer < STREET_TYPO_CHARS_MIN || longer - shorter > 2 {
        return false;
    }
    match strsim::damerau_levenshtein(a, b) {
        0 | 1 => true,
        2 => shorter >= STREET_TYPO_TWO_EDITS_CHARS_MIN,
        _ => false,
    }
}

/// Whether every stem of `part` is in `whole`, `whole` has more, and what they share is long
/// enough to mean something.
fn is_part_of(part: &[String], whole: &[String]) -> bool {
    if part.is_empty() || part.len() >= whole.len() {
        return false;
    }
    let mut rest: Vec<&String> = whole.iter().collect();
    for p in part {
        match rest.iter().position(|w| *w == p) {
            Some(i) => {
                rest.remove(i);
            }
            None => return false,
        }
    }
    part.iter().map(|p| p.chars().count()).sum::<usize>() >= STREET_PARTIAL_SHARED_CHARS_MIN
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_normalize(cases: &[(&str, &str)]) {
        for (input, expected) in cases {
            assert_eq!(normalize_address(input), *expected, "input {input:?}");
        }
    }

    #[test]
    fn normalizes_abbreviations_scripts_and_order() {
        check_normalize(&[
            ("г. Астана, ул. Кенесары, д. 40", "ул астана кенесары 40"),
            ("астана кенесары көшесі 40", "ул астана кенесары 40"),
            ("Астана, улица Кенесары, дом 40", "ул астана кенесары 40"),
            ("Астана,ул.Кенесары,40", "ул астана кенесары 40"),
            ("  АСТАНА   Кенесары   ул.  №40 ", "ул астана кенесары 40"),
            ("пр-т Мангилик Ел 8", "пр мангилик ел 8"),
            ("Мәңгілік Ел даңғылы, 8", "пр мангилик ел 8"),
            (
                "проспект Мәңгілік Ел, д. 8, квартира 45",
                "пр мангилик ел 8 кв 45",
            ),
            ("Мәңгілік Ел даңғылы 8 пәтер 45", "пр мангилик ел 8 кв 45"),
            ("ул. Бейбітшілік, 14 А", "ул бейбитшилик 14а"),
            ("ул. Бейбітшілік, 14а", "ул бейбитшилик 14а"),
            ("ул. Абая 5, г. Астана", "ул абая 5 астана"),
            ("ул. Ёлочная, 3", "ул елочная 3"),
            ("«ЖК Хайвил», 12/1", "жк хайвил 12/1"),
            ("...", ""),
        ]);
    }

    fn matcher() -> AddressMatcher {
        let aliases =
            StreetAliases::new([&["Мира", "Бейбітшілік"][..], &["Победы", "пр. Жеңіс"][..]])
                .unwrap();
        AddressMatcher::new(aliases, &["Астана".to_string(), "Нур-Султан".to_string()])
    }

    /// The parts of an address as one line: `type | street | house | корпус | flat | town`.
    fn describe(p: &ParsedAddress) -> String {
        let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
        let kind = p
            .street_type
            .map(|k| format!("{k:?}").to_lowercase())
            .unwrap_or_else(|| "-".into());
        let town = match &p.town {
            None => "-".to_string(),
            Some(Town::Home) => "home".to_string(),
            Some(Town::Other(t)) => t.clone(),
        };
        format!(
            "{kind} | {} | {} | {} | {} | {town}",
            p.street.full,
            opt(&p.house),
            opt(&p.korpus),
            opt(&p.flat)
        )
    }

    fn check_parse(cases: &[(&str, &str)]) {
        let m = matcher();
        for (input, expected) in cases {
            assert_eq!(describe(&m.parse(input)), *expected, "input {input:?}");
        }
    }

    #[test]
    fn r08_reads_street_house_korpus_and_flat_in_both_languages() {
        check_parse(&[
            (
                "г. Астана, ул. Кенесары, д. 40, кв. 12",
                "street | кенесары | 40 | - | 12 | home",
            ),
            (
                "Кенесары көшесі, 62 үй, 12 пәтер",
                "street | кенесары | 62 | - | 12 | -",
            ),
            (
                "Кенесары көшесі 62 пәтер 12",
                "street | кенесары | 62 | - | 12 | -",
            ),
            (
                "Кенесары көшесі 62, 12-пәтер",
                "street | кенесары | 62 | - | 12 | -",
            ),
            (
                "ул.Кенесары 62 кв.12",
                "street | кенесары | 62 | - | 12 | -",
            ),
            ("Абай даңғылы 52", "avenue | абай | 52 | - | - | -"),
            ("пр-т Абая, 52", "avenue | абая | 52 | - | - | -"),
            (
                "Кенесары хан көшесі 40",
                "street | кенесары | 40 | - | - | -",
            ),
            (
                "Қабанбай батыр даңғылы 60/1",
                "avenue | кабанбай | 60 | 1 | - | -",
            ),
            (
                "пр. Кабанбай батыра 60 к1 кв 8",
                "avenue | кабанбай | 60 | 1 | 8 | -",
            ),
            (
                "Қабанбай батыр даңғылы 60, 1 корпус",
                "avenue | кабанбай | 60 | 1 | - | -",
            ),
            ("ул. Ауэзова 7 к. 2", "street | ауезова | 7 | 2 | - | -"),
            (
                "ул. Сейфуллина, 15 лит. А",
                "street | сейфуллина | 15а | - | - | -",
            ),
            (
                "ул. Сейфуллина, 15A",
                "street | сейфуллина | 15а | - | - | -",
            ),
            (
                "ул. Сейфуллина, 15-А",
                "street | сейфуллина | 15а | - | - | -",
            ),
            ("М. Ауэзова 7 корп 2", "- | ауезова | 7 | 2 | - | -"),
            (
                "Самал шағын ауданы 5",
                "microdistrict | самал | 5 | - | - | -",
            ),
            ("Алаш тас жолы, 15", "highway | алаш | 15 | - | - | -"),
            ("Алаш ш. 15", "highway | алаш | 15 | - | - | -"),
            ("5-й микрорайон, 12", "microdistrict | 5 | 12 | - | - | -"),
            ("мкр. 5, д. 12", "microdistrict | 5 | 12 | - | - | -"),
            ("5 мкр, 12 үй", "microdistrict | 5 | 12 | - | - | -"),
            (
                "010000, г. Астана, ул. Кенесары, 40",
                "street | кенесары | 40 | - | - | home",
            ),
            (
                "РК, Нур-Султан, ул. Кенесары 40",
                "street | кенесары | 40 | - | - | home",
            ),
            (
                "Астана қ., Кенесары көш., 40",
                "street | кенесары | 40 | - | - | home",
            ),
            (
                "г. Косшы, пр. Абая, 52",
                "avenue | абая | 52 | - | - | косшы",
            ),
            (
                "Косшы қаласы, Абай даңғылы 52",
                "avenue | абай | 52 | - | - | косшы",
            ),
            (
                "г. Астана, р-н Есиль, ул. Сыганак, 29",
                "street | сыганак | 29 | - | - | home",
            ),
            (
                "Есіл ауданы, Сығанақ көшесі 29",
                "street | сыганак | 29 | - | - | -",
            ),
            (
                "ул. Сыганак 29, подъезд 2, этаж 5",
                "street | сыганак | 29 | - | - | -",
            ),
            ("ул. Г. Потанина, 3", "street | потанина | 3 | - | - | -"),
            ("ул. Д. Кунаева 5", "street | кунаева | 5 | - | - | -"),
            ("пр. им. Абая, 52", "avenue | абая | 52 | - | - | -"),
            ("мкр Самал-2, 5", "microdistrict | самал 2 | 5 | - | - | -"),
            ("Кенесары 40-12", "- | кенесары | 40 | - | 12 | -"),
            (
                "ул Кенесары д40 кв12",
                "street | кенесары | 40 | - | 12 | -",
            ),
            ("Кенесары", "- | кенесары | - | - | - | -"),
            ("40", "- |  | 40 | - | - | -"),
            ("", "- |  | - | - | - | -"),
            (",,, / - . №", "- |  | - | - | - | -"),
        ]);
    }

    fn check_compare(cases: &[(&str, &str, &str)]) {
        let m = matcher();
        for (record, query, expected) in cases {
            let got = match m.compare_text(record, query) {
                AddressMatch::Match => "match".to_string(),
                AddressMatch::NoMatch => "no_match".to_string(),
                AddressMatch::Possible { reasons } => format!("possible {reasons:?}"),
            };
            assert_eq!(got, *expected, "record {record:?}, query {query:?}");
        }
    }

    #[test]
    fn r08_compares_buildings_and_says_why_a_match_is_only_possible() {
        use PossibleReason::*;
        let _ = (StreetSpelling, StreetNamePartial, StreetType, OtherFlat);
        check_compare(&[
            ("ул. Кенесары, 40", "Кенесары 40", "match"),
            ("ул. Кенесары, 40", "Кенесары 41", "no_match"),
            // A литера or a корпус on one side only: registers often leave them out, and "/"
            // also marks corner buildings. Different ones on both sides: another building.
            ("ул. Кенесары, 40", "Кенесары 40А", "possible [HouseLetter]"),
            ("ул. Кенесары, 40", "Кенесары 40/1", "possible [Korpus]"),
            ("ул. Кенесары, 40А", "Кенесары 40Б", "no_match"),
            ("ул. Кенесары, 40/1", "Кенесары 40/2", "no_match"),
            (
                "ул. Кенесары, 40",
                "Кенесры 40 корп. 1",
                "possible [StreetSpelling, Korpus]",
            ),
            (
                "ул. Ауэзова, д. 7, корп. 2",
                "Ауэзова 7 кв 2",
                "possible [Korpus]",
            ),
            (
                "ул. Кенесары, 40",
                "Кенесры 40",
                "possible [StreetSpelling]",
            ),
            (
                "ул. Кенесары, 40, кв. 12",
                "Кенесары 40 кв 14",
                "possible [OtherFlat]",
            ),
            (
                "ул. Кенесары, 40, кв. 12",
                "Кенесры 40 кв 14",
                "possible [StreetSpelling, OtherFlat]",
            ),
            ("ул. Кенесары, 40, кв. 12", "Кенесары 40", "match"),
            ("ул. Кенесары, 40", "Кенесары 40 кв 14", "match"),
            ("мкр Самал, 5", "ул. Самал 5", "possible [StreetType]"),
            (
                "ул. Ауэзова 7",
                "Мухтара Ауэзова 7",
                "possible [StreetNamePartial]",
            ),
            // Aliases, in both directions, and a typo of an alias.
            ("ул. Бейбітшілік 14", "ул. Мира 14", "match"),
            ("ул. Мира 14", "Бейбітшілік көшесі 14", "match"),
            (
                "пр. Победы 12",
                "Жеңс даңғылы 12",
                "possible [StreetSpelling]",
            ),
            ("пр. Победы 12", "ул. Мира 12", "no_match"),
            // Thresholds: no typo tolerance below STREET_TYPO_CHARS_MIN characters.
            ("ул. Мир 3", "ул. Мор 3", "no_match"),
            ("ул. Мира 3", "ул. Мора 3", "possible [StreetSpelling]"),
            // Two edits only when both names have STREET_TYPO_TWO_EDITS_CHARS_MIN characters.
            ("ул. Достык 3", "ул. Дотсок 3", "possible [StreetSpelling]"),
            (
                "ул. Кенесары 40",
                "Кинесари 40",
                "possible [StreetSpelling]",
            ),
            ("ул. Акжол 3", "ул. Акжар 3", "no_match"),
            ("ул. Мира 14", "ул. Мирная 14", "no_match"),
            (
                "ул. Бейбитшилик 3",
                "ул. Бейбишлик 3",
                "possible [StreetSpelling]",
            ),
            // Different towns named on both sides; a town on one side only is not a difference.
            ("г. Косшы, ул. Абая 1", "г. Астана, ул. Абая 1", "no_match"),
            ("г. Косшы, ул. Абая 1", "ул. Абая 1", "match"),
            // No street, or no house on one side.
            ("40", "40", "match"),
            ("ул. Абая 40", "40", "no_match"),
            ("ул. Абая", "ул. Абая 40", "no_match"),
            ("", "", "no_match"),
        ]);
    }

    /// The independent review's findings (address_pairs_review.tsv): how addresses are really
    /// typed, Latin letters, case endings and numbered names.
    #[test]
    fn r08_reads_addresses_as_they_are_really_typed() {
        check_parse(&[
            ("ул.Кенесары40", "street | кенесары | 40 | - | - | -"),
            ("Абая52", "- | абая | 52 | - | - | -"),
            ("Кенесары-40", "- | кенесары | 40 | - | - | -"),
            (
                "ул. Кенесары, 40-й дом",
                "street | кенесары | 40 | - | - | -",
            ),
            (
                "кв. 12, д. 62, ул. Кенесары",
                "street | кенесары | 62 | - | 12 | -",
            ),
            ("Ауэзова 7/2-33", "- | ауезова | 7 | 2 | 33 | -"),
            ("5 ш.а., 12 үй", "microdistrict | 5 | 12 | - | - | -"),
            (
                "г. Алматы, мкр. Самал-2, д. 58",
                "microdistrict | самал 2 | 58 | - | - | алматы",
            ),
            (
                "г. Алматы, мкр Самал 2, д. 58",
                "microdistrict | самал 2 | 58 | - | - | алматы",
            ),
            (
                "Самал-2 шағын ауданы, 58 үй",
                "microdistrict | самал 2 | 58 | - | - | -",
            ),
            (
                "Ақсай-4 ш.а., 12",
                "microdistrict | аксай 4 | 12 | - | - | -",
            ),
            // Written against the name, a number is the house unless a house number follows.
            (
                "г. Алматы, Самал-2, 58",
                "- | самал 2 | 58 | - | - | алматы",
            ),
            ("Кенесары-40, кв. 12", "- | кенесары | 40 | - | 12 | -"),
            ("Кенесары 40, 12", "- | кенесары | 40 | - | - | -"),
            ("ул. Е 10, 5", "street | е 10 | 5 | - | - | -"),
            ("E10 көшесі 5", "street | е 10 | 5 | - | - | -"),
            ("ул. 8 Марта, 12", "street | 8 марта | 12 | - | - | -"),
            ("8 Марта көшесі 12", "street | 8 марта | 12 | - | - | -"),
            ("Кабанбай-батыра 11-45", "- | кабанбай | 11 | - | 45 | -"),
            (
                "ул. Кенесары-хана, 40",
                "street | кенесары | 40 | - | - | -",
            ),
            ("Толе-би 100", "- | толе | 100 | - | - | -"),
            ("ул. Толеби 100", "street | толе | 100 | - | - | -"),
            ("пр. Абылайхана 52", "avenue | абылай | 52 | - | - | -"),
            ("Мангилик-Ел 8", "- | мангилик ел | 8 | - | - | -"),
            // Latin look-alikes typed in Cyrillic words; a Latin word stays as it is.
            ("ул. Кенесaры 40", "street | кенесары | 40 | - | - | -"),
            ("Кeнeсaры 40", "- | кенесары | 40 | - | - | -"),
            ("Мангилик Eл 8", "- | мангилик ел | 8 | - | - | -"),
            ("Кyйшi Дина 10", "- | куйши дина | 10 | - | - | -"),
            ("Сейфуллина 15B", "- | сейфуллина | 15b | - | - | -"),
            ("Сейфуллина 15 B", "- | сейфуллина | 15b | - | - | -"),
            ("ЖК Highvill, 12/1", "- | жк highvill | 12 | 1 | - | -"),
            // An address in Latin letters only is transliterated.
            ("Kenesary 40", "- | кенесары | 40 | - | - | -"),
            ("ul. Abaya 52, kv. 3", "street | абая | 52 | - | 3 | -"),
            ("Zhibek Zholy 50", "- | жибек жолы | 50 | - | - | -"),
        ]);
    }

    #[test]
    fn r08_review_findings_compare_as_the_contract_says() {
        use PossibleReason::*;
        let _ = StreetSpelling;
        check_compare(&[
            ("ул. Кенесары, 40", "ул.Кенесары40", "match"),
            ("ул. Кенесары, 40", "Кенесары-40", "match"),
            ("ул. Кенесары, 40", "ул. Кенесары, 40-й дом", "match"),
            ("ул. Кенесары, 40", "ул. Кенесары-хана, 40", "match"),
            (
                "г. Астана, ул. Кенесары, д. 62, кв. 12",
                "кв. 12, д. 62, ул. Кенесары",
                "match",
            ),
            (
                "г. Астана, ул. Кенесары, д. 62, кв. 12",
                "Кенесары 62/12",
                "possible [Korpus]",
            ),
            ("ул. Ауэзова, д. 7, корп. 2", "Ауэзова 7/2-33", "match"),
            ("пр. Абылай хана, 52", "пр. Абылайхана 52", "match"),
            ("пр. Абылай хана, 52", "Абылайхан 52", "match"),
            ("ул. Толе би, 100", "ул. Толеби 100", "match"),
            ("ул. Толе би, 100", "Толе-би 100", "match"),
            ("мкр. 5, д. 12", "5 ш.а., 12 үй", "match"),
            // Numbered microdistricts: the number is part of the name.
            ("мкр. Самал-2, д. 58", "мкр Самал 2, д. 58", "match"),
            ("мкр. Самал-2, д. 58", "мкр Самал-3, 58", "no_match"),
            ("мкр. Аксай-4, д. 12", "Ақсай-4 ш.а., 12", "match"),
            ("мкр. Аксай-4, д. 12", "мкр Аксай-5, 12", "no_match"),
            ("мкр Самал, 5", "мкр Самал-2, 5", "no_match"),
            ("мкр. Самал-2, д. 58", "Самал-2, 58", "match"),
            ("ул. Е 10, 5", "E10 көшесі 5", "match"),
            ("ул. Е 10, 5", "ул. Е 11, 5", "no_match"),
            ("ул. 8 Марта, 12", "8 Марта көшесі 12", "match"),
            ("ул. 8 Марта, 12", "ул. 9 Марта, 12", "no_match"),
            // Latin look-alikes: one is not a typo, three are not a drop.
            ("ул. Кенесары, 40", "ул. Кенесaры 40", "match"),
            ("ул. Кенесары, 40", "Кeнeсaры 40", "match"),
            ("Күйші Дина көшесі, 10", "Кyйшi Дина 10", "match"),
            ("г. Астана, Тұран даңғылы, 19", "Туpан 19", "match"),
            // A Latin B is the look-alike of В and the transliteration of Б.
            ("ул. Сейфуллина, 15В", "Сейфуллина 15B", "match"),
            (
                "ул. Сейфуллина, 15Б",
                "Сейфуллина 15B",
                "possible [HouseLetter]",
            ),
            ("ул. Сейфуллина, 15А", "Сейфуллина 15B", "no_match"),
            // Russian case endings beyond -а/-я.
            (
                "ул. Маншук Маметовой, 7",
                "Мәншүк Мәметова көшесі 7",
                "match",
            ),
            ("ул. Бейсековой, 4", "Бейсекова көшесі 4", "match"),
            ("ул. Достоевского, 20", "Достоевский көшесі 20", "match"),
            // A Latin transliteration: at least possible, marked.
            (
                "ул. Кенесары, 40",
                "Kenesary 40",
                "possible [StreetTransliterated]",
            ),
            ("ул. Кенесары, 40", "Kenesary 41", "no_match"),
        ]);
    }

    #[test]
    fn r08_towns_under_old_names_are_the_same_town() {
        let towns = TownAliases::new([
            &["Алматы", "Алма-Ата"][..],
            &["Қонаев", "Капшагай"][..],
            &["Астана", "Акмола", "Целиноград"][..],
        ])
        .unwrap();
        let m = matcher().with_town_aliases(towns);
        let check = |record: &str, query: &str, expected: AddressMatch| {
            assert_eq!(
                m.compare_text(record, query),
                expected,
                "{record:?} / {query:?}"
            );
        };
        check(
            "г. Алматы, ул. Абая 52",
            "г. Алма-Ата, ул. Абая 52",
            AddressMatch::Match,
        );
        check(
            "Алма-Ата қ., Абай даңғылы 52",
            "г. Алматы, пр. Абая 52",
            AddressMatch::Match,
        );
        check(
            "г. Капшагай, ул. Абая 52",
            "Қонаев қ., Абай көшесі 52",
            AddressMatch::Match,
        );
        check(
            "г. Алма-Ата, ул. Абая 52",
            "г. Қонаев, ул. Абая 52",
            AddressMatch::NoMatch,
        );
        // A group with one of the region's own city names is that city.
        check(
            "г. Целиноград, ул. Абая 52",
            "ул. Абая 52, Нур-Султан",
            AddressMatch::Match,
        );
        check(
            "г. Акмола, ул. Абая 52",
            "г. Алматы, ул. Абая 52",
            AddressMatch::NoMatch,
        );
        // Without the aliases, an old name is another town.
        assert_eq!(
            matcher().compare_text("г. Алматы, ул. Абая 52", "г. Алма-Ата, ул. Абая 52"),
            AddressMatch::NoMatch
        );
    }

    #[test]
    fn r08_town_aliases_are_checked_with_messages_a_person_can_act_on() {
        assert!(!TownAliases::new([&["Алматы", "Алма-Ата"][..]])
            .unwrap()
            .is_empty());
        let cases: &[(&[&[&str]], &str)] = &[
            (
                &[&["Алматы"]],
                "town-alias group 1 needs at least two different names",
            ),
            (
                &[&["Алматы", "АЛМАТЫ"]],
                "town-alias group 1 needs at least two different names",
            ),
            (&[&["Алматы", "..."]], "group 1: \"...\" has no town name"),
            (
                &[&["Алматы", "Алма-Ата"], &["Алма-Ата", "Верный"]],
                "town-alias groups 1 and 2 both name the town \"Алма-Ата\"",
            ),
        ];
        for (groups, expected) in cases {
            let err = TownAliases::new(groups.iter().copied()).unwrap_err();
            assert!(err.contains(expected), "{groups:?}: {err}");
        }
        let long = "а".repeat(TOWN_ALIAS_NAME_CHARS_MAX + 1);
        let err = TownAliases::new([&[long.as_str(), "Алматы"][..]]).unwrap_err();
        assert!(err.contains("longer than"), "{err}");
        let many: Vec<String> = (0..=TOWN_ALIAS_NAMES_MAX)
            .map(|i| format!("Город{i}"))
            .collect();
        let err = TownAliases::new([many.as_slice()]).unwrap_err();
        assert!(err.contains("at most"), "{err}");
    }

    #[test]
    fn r08_street_aliases_are_checked_with_messages_a_person_can_act_on() {
        let ok = StreetAliases::new([&["Победы", "Победы", "Жеңіс"][..]]).unwrap();
        assert!(!ok.is_empty());
        let cases: &[(&[&[&str]], &str)] = &[
            (&[&["Победы"]], "group 1 needs at least two different names"),
            (
                &[&["Абая", "Абай"]],
                "group 1 needs at least two different names",
            ),
            (&[&["ул.", "Абая"]], "group 1: \"ул.\" has no street name"),
            (
                &[&["Мира", "Бейбітшілік"], &["Абай", "Мира"]],
                "groups 1 and 2 both name the street \"Мира\"",
            ),
        ];
        for (groups, expected) in cases {
            let err = StreetAliases::new(groups.iter().copied()).unwrap_err();
            assert!(err.contains(expected), "{groups:?}: {err}");
        }
        let long = "а".repeat(STREET_ALIAS_NAME_CHARS_MAX + 1);
        let err = StreetAliases::new([&[long.as_str(), "Абая"][..]]).unwrap_err();
        assert!(err.contains("longer than"), "{err}");
        let many: Vec<String> = (0..=STREET_ALIAS_NAMES_MAX)
            .map(|i| format!("Улица{i}"))
            .collect();
        let err = StreetAliases::new([many.as_slice()]).unwrap_err();
        assert!(err.contains("at most"), "{err}");
    }

    /// User input never panics the parser: random text over the characters that steer it.
    #[test]
    fn r08_any_text_parses_without_panicking() {
        const CASES: usize = 20_000;
        const ALPHABET: &[&str] = &[
            "0",
            "1",
            "40",
            "/",
            "-",
            ",",
            ".",
            " ",
            "а",
            "к",
            "д",
            "г",
            "ш",
            "кв",
            "корп",
            "үй",
            "пәтер",
            "ул",
            "мкр",
            "шағын",
            "ауданы",
            "тас",
            "жолы",
            "р-н",
            "қаласы",
            "лит",
            "Кенесары",
            "A",
            "й",
            "№",
            "\u{0301}",
            "ё",
            "ß",
            "İ",
            "😀",
            "\t",
            "010000",
            "b",
            "B",
            "e10",
            "Кенесaры",
            "Kenesary",
            "-40",
            "/2-33",
            "-й",
            "ш.а.",
            "хана",
            "Самал-2",
            "\u{0}",
            "\u{200b}",
        ];
        let m = matcher();
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut previous = m.parse("ул. Кенесары 40");
        for _ in 0..CASES {
            let len = (next() % 12) as usize;
            let text: String = (0..len)
                .map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize])
                .collect();
            let parsed = m.parse(&text);
            let _ = m.compare(&parsed, &previous);
            let _ = parsed.house_key();
            previous = parsed;
        }
        // Only ADDRESS_PARSE_CHARS_MAX characters are read.
        let huge = format!("ул. Кенесары 40{}", ", подъезд 1".repeat(10_000));
        assert_eq!(m.parse(&huge).house_key(), "40");
    }

    /// Hostile and degenerate inputs: each parses and compares with every other without a
    /// panic, and none of them is the building "ул. Кенесары 40".
    #[test]
    fn r08_degenerate_inputs_never_panic() {
        const TEN_KB: usize = 10 * 1024;
        let repeat = |s: &str| s.repeat(TEN_KB / s.len() + 1);
        let inputs: Vec<String> = vec![
            String::new(),
            " ".into(),
            "0".into(),
            "1234567890".into(),
            "40/40/40-40-40".into(),
            "/-/-/".into(),
            ".,;:!?«»()[]№#\"\'-/".into(),
            "\u{0}\u{1}\u{7}\u{1b}\u{7f}\u{85}\u{2028}".into(),
            "\u{200b}\u{200e}\u{202e}\u{feff}".into(),
            "ул.\u{0}Кенесары\u{1b}41".into(),
            "а\u{301}\u{301}\u{301}".into(),
            "ǵńóúýäöüşçıñū".into(),
            "ш а ш а ш а".into(),
            "г г г к к к д д д".into(),
            "шағын тас".into(),
            repeat("9"),
            repeat("а"),
            repeat("b"),
            repeat("-"),
            repeat("/"),
            repeat(", "),
            repeat("Кенесары41 "),
            repeat("Kenesary-"),
            repeat("40-"),
            repeat("40/"),
            repeat("кв 1 "),
            repeat("\u{0}"),
            repeat("😀"),
        ];
        let m = matcher();
        let building = m.parse("ул. Кенесары 40");
        let parsed: Vec<ParsedAddress> = inputs.iter().map(|i| m.parse(i)).collect();
        for (text, p) in inputs.iter().zip(&parsed) {
            let _ = p.house_key();
            for q in &parsed {
                let _ = m.compare(p, q);
            }
            assert_eq!(
                m.compare(&building, p),
                AddressMatch::NoMatch,
                "{:?}",
                text.chars().take(40).collect::<String>()
            );
        }
    }
}
