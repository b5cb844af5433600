//! Reading an address into its parts: tokens (words, numbers, commas), the meaning of the words
//! people put around a street's name and a house number, and which number is the house.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use super::model::{
    cyrillic_look_alike, fold_for_matching, ParsedAddress, StreetKind, StreetName, Town,
    HOUSE_NUMBER_DIGITS_MAX,
};
use super::script::{is_cyrillic, to_cyrillic, Script};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Token {
    Comma,
    Word(String),
    /// A number as written: digits (leading zeros kept), then an optional литера and корпус
    /// written with it ("40а", "40/1"), whether it was an ordinal ("5-й"), and whether it was
    /// written against a word ("Самал-2", "Кенесары40").
    Number {
        digits: String,
        litera: Option<char>,
        korpus: Option<String>,
        ordinal: bool,
        joined: bool,
    },
}

/// Lowercase, folded words, numbers and commas. `-` and `/` stay inside words and numbers.
pub(super) fn tokens(text: &str) -> Vec<Token> {
    read_tokens(text).0
}

/// [`tokens`], and whether the text was transliterated from Latin letters (it has no Cyrillic
/// letter but has Latin ones). Latin look-alikes in Cyrillic words are read as Cyrillic
/// ([`to_cyrillic`]).
pub(super) fn read_tokens(text: &str) -> (Vec<Token>, bool) {
    let mut cleaned = String::with_capacity(text.len());
    for ch in text.chars().flat_map(char::to_lowercase) {
        match ch {
            ',' | ';' => cleaned.push_str(" , "),
            '-' | '/' => cleaned.push(ch),
            c if c.is_alphanumeric() => cleaned.push(c),
            _ => cleaned.push(' '),
        }
    }
    let has_cyrillic = cleaned.chars().any(is_cyrillic);
    let mut transliterated = false;
    let mut out = Vec::new();
    for raw in cleaned.split(' ') {
        let raw = raw.trim_matches(|c| c == '-' || c == '/');
        if raw.is_empty() {
            continue;
        }
        if raw == "," {
            out.push(Token::Comma);
            continue;
        }
        let (word, script) = to_cyrillic(raw, has_cyrillic);
        transliterated |= script == Script::Transliterated;
        let folded: String = word.chars().map(fold_for_matching).collect();
        split_token(&folded, &mut out);
    }
    (out, transliterated)
}

fn split_token(raw: &str, out: &mut Vec<Token>) {
    if raw.starts_with(|c: char| c.is_ascii_digit()) {
        match read_number(raw) {
            Some(tokens) => out.extend(tokens),
            None => out.push(Token::Word(raw.to_string())),
        }
        return;
    }
    // Letters glued to a number: a marker ("к1", "кв12", "д40"), or a street's name written
    // against its house number ("Кенесары40", "Кенесары-40", "Самал-2", "Е10").
    let letters: String = raw.chars().take_while(|c| !c.is_ascii_digit()).collect();
    let rest = &raw[letters.len()..];
    let letters_word = letters.trim_end_matches('-');
    if !rest.is_empty() && !letters_word.is_empty() && !letters_word.contains('/') {
        let is_marker = matches!(
            address_word(letters_word),
            Some(Word::Korpus | Word::House | Word::Flat | Word::K | Word::D)
        );
        if is_marker && rest.chars().all(|c| c.is_ascii_digit()) {
            out.push(Token::Word(letters_word.to_string()));
            out.push(number(rest.to_string(), None, None, false));
            return;
        }
        if !is_marker && letters_word.chars().any(char::is_alphabetic) {
            if let Some(mut tokens) = read_number(rest) {
                if let Some(Token::Number { joined, .. }) = tokens.first_mut() {
                    *joined = true;
                }
                out.push(Token::Word(letters_word.to_string()));
                out.extend(tokens);
                return;
            }
        }
    }
    out.push(Token::Word(raw.to_string()));
}

/// A token that starts with digits: a number with its литера, корпус, flat or ordinal ending
/// ("40", "40а", "40/1", "7/2-33", "40-12", "5-й"), or a number and a marker ("40үй",
/// "12-пәтер"). `None` when the rest is anything else ("7b3" of a postcode).
fn read_number(raw: &str) -> Option<Vec<Token>> {
    let digits: String = raw.chars().take_while(char::is_ascii_digit).collect();
    let rest = &raw[digits.len()..];
    // "40-12": house 40, flat 12, as people write it in a hurry.
    if let Some(flat) = rest.strip_prefix('-') {
        if !flat.is_empty() && flat.chars().all(|c| c.is_ascii_digit()) {
            return Some(vec![
                number(digits, None, None, false),
                Token::Word("кв".to_string()),
                number(flat.to_string(), None, None, false),
            ]);
        }
    }
    let mut litera = None;
    let mut korpus = None;
    let mut flat = None;
    let mut ordinal = false;
    let mut tail = rest.trim_start_matches('-');
    // "40-й": an ordinal, never the литера Й.
    if tail == "й" {
        ordinal = true;
        tail = "";
    }
    // "40а", "40-а", "40a"
    let mut chars = tail.chars();
    if let Some(c) = chars.next() {
        let after = chars.as_str();
        if c.is_alphabetic() && (after.is_empty() || after.starts_with('/')) {
            litera = Some(cyrillic_look_alike(c));
            tail = after;
        }
    }
    if let Some(k) = tail.strip_prefix('/') {
        let k: String = k.chars().map(cyrillic_look_alike).collect();
        let k = k.trim_matches(['-', '/']);
        // "7/2-33": корпус 2, flat 33.
        let (k, f) = match k.split_once('-') {
            Some((k, f)) if !f.is_empty() && f.chars().all(|c| c.is_ascii_digit()) => (k, Some(f)),
            _ => (k, None),
        };
        if !k.is_empty() && k.chars().all(char::is_alphanumeric) {
            korpus = Some(k.trim_start_matches('0').to_string()).filter(|k| !k.is_empty());
            flat = f.map(str::to_string);
            tail = "";
        }
    }
    if !tail.is_empty() && is_ordinal_suffix(tail) {
        ordinal = true;
        tail = "";
    }
    if tail.is_empty() {
        let mut tokens = vec![number(digits, litera, korpus, ordinal)];
        if let Some(f) = flat {
            tokens.push(Token::Word("кв".to_string()));
            tokens.push(number(f, None, None, false));
        }
        Some(tokens)
    } else if address_word(tail).is_some() {
        // "40үй", "12-пәтер"
        Some(vec![
            number(digits, None, None, false),
            Token::Word(tail.to_string()),
        ])
    } else {
        None
    }
}

fn number(digits: String, litera: Option<char>, korpus: Option<String>, ordinal: bool) -> Token {
    Token::Number {
        digits,
        litera,
        korpus,
        ordinal,
        joined: false,
    }
}

/// "5-й", "1-я", "2-ой", Kazakh "5-ші" (folded "5-ши").
fn is_ordinal_suffix(s: &str) -> bool {
    matches!(
        s,
        "й" | "я" | "ая" | "ый" | "ой" | "ий" | "е" | "ое" | "ши" | "шы" | "инши" | "ыншы"
    )
}

/// What a word means in an address, by its folded spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Word {
    /// Carries nothing: the country.
    Drop,
    /// "г." and "город" before a town's name.
    CityBefore,
    /// Kazakh "қаласы", "ауылы" after it.
    CityAfter,
    /// A city district: the name next to it is not the street.
    District,
    Type(StreetKind),
    /// "д.", "дом": the next number is the house. Written alone, "д" is an initial.
    D,
    /// "дом", "здание": the next number is the house.
    House,
    /// Kazakh "үй" after the house number.
    HouseAfter,
    Flat,
    Korpus,
    Litera,
    /// Entrance or floor with its number: not part of the building's identity.
    Entrance,
    /// "к": корпус between two numbers, "қ." (Kazakh city) after a name, else an initial.
    K,
    /// "ш": шоссе after a name, else an initial.
    Sh,
    /// "г": a town before its name at the start of a part, else an initial.
    G,
    /// "шағын" (ауданы), "тас" (жолы): a street type in two words.
    TwoWordType,
}

fn address_word(word: &str) -> Option<Word> {
    static WORDS: OnceLock<BTreeMap<String, Word>> = OnceLock::new();
    let words = WORDS.get_or_init(|| {
        use StreetKind::*;
        use Word::*;
        let table: &[(&[&str], Word)] = &[
            (
                &["рк", "казахстан", "қазақстан", "республикасы", "кз"],
                Drop,
            ),
            (
                &["гор", "город", "пос", "поселок", "посёлок", "село", "пгт"],
                CityBefore,
            ),
            (&["қала", "қаласы", "ауыл", "ауылы", "кенті"], CityAfter),
            (&["район", "р-н", "аудан", "ауданы"], District),
            (&["д"], D),
            (&["дом", "здание"], House),
            (&["үй"], HouseAfter),
            (
                &["кв", "кв-ра", "квартира", "пәтер", "оф", "офис", "кеңсе"],
                Flat,
            ),
            (&["корп", "корпус", "блок", "бл", "строение", "стр"], Korpus),
            (&["лит", "литер", "литера"], Litera),
            (
                &[
                    "подъезд",
                    "подьезд",
                    "под",
                    "этаж",
                    "эт",
                    "кіреберіс",
                    "қабат",
                ],
                Entrance,
            ),
            (&["к"], K),
            (&["ш"], Sh),
            (&["г"], G),
            (&["шағын", "тас"], TwoWordType),
            (
                &["ул", "улица", "көше", "көшесі", "көш", "к-сі", "көш-сі"],
                Type(Street),
            ),
            (
                &[
                    "пр",
                    "пр-т",
                    "пр-кт",
                    "просп",
                    "проспект",
                    "даңғылы",
                    "даңғ",
                    "даң",
                ],
                Type(Avenue),
            ),
            (
                &[
                    "мкр",
                    "мкрн",
                    "мкр-н",
                    "м-н",
                    "микрорайон",
                    "шағынауданы",
                    "ықшамаудан",
                    "ықшамауданы",
                ],
                Type(Microdistrict),
            ),
            (&["пер", "переулок", "тупик", "тұйық", "тұйығы"], Type(Lane)),
            (
                &["б-р", "бул", "бульв", "бульвар", "бульвары"],
                Type(Boulevard),
            ),
            (&["шоссе"], Type(Highway)),
            (&["наб", "набережная", "жағалауы"], Type(Embankment)),
            (&["пл", "площадь", "алаңы"], Type(Square)),
        ];
        let mut words = BTreeMap::new();
        for (spellings, meaning) in table {
            for spelling in *spellings {
                let folded: String = spelling.chars().map(fold_for_matching).collect();
                words.insert(folded, *meaning);
            }
        }
        words
    });
    words.get(word).copied()
}

// ------------------------------------------------------------------------ the parser

/// The role a number plays in the address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Unknown,
    House,
    Flat,
    Korpus,
    /// Part of the street's name ("мкр 5").
    Name,
    /// Entrance, floor, postal code: not the building's identity.
    Ignored,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Comma,
    /// A word that may be part of the street's name.
    Name(String),
    Type(StreetKind),
    Marker(Word),
    Number {
        digits: String,
        litera: Option<char>,
        korpus: Option<String>,
        role: Role,
        /// Written against the word before it ("Самал-2", "Кенесары-40").
        joined: bool,
    },
    City(Town),
    Skip,
}

pub(super) struct Parser<'a> {
    items: Vec<Item>,
    home_city: &'a [String],
    /// The address was written in Latin letters only and transliterated.
    transliterated: bool,
    /// литера given by a word ("15 лит. А").
    litera: Option<char>,
    /// корпус given as a letter ("корп. А").
    korpus_letter: Option<String>,
}

impl<'a> Parser<'a> {
    pub(super) fn new(address: &str, home_city: &'a [String]) -> Parser<'a> {
        let (toks, transliterated) = read_tokens(address);
        let mut items = Vec::with_capacity(toks.len());
        let mut i = 0;
        while i < toks.len() {
            let next_word = match toks.get(i + 1) {
                Some(Token::Word(n)) => n.as_str(),
                _ => "",
            };
            let item = match &toks[i] {
                Token::Comma => Item::Comma,
                Token::Number {
                    digits,
                    litera,
                    korpus,
                    ordinal,
                    joined,
                } => Item::Number {
                    digits: digits.clone(),
                    litera: *litera,
                    korpus: korpus.clone(),
                    joined: *joined,
                    // An ordinal names a microdistrict ("5-й микрорайон"), never a house, unless
                    // a word for the house follows it ("40-й дом").
                    role: if *ordinal
                        && !matches!(
                            address_word(next_word),
                            Some(Word::House | Word::D | Word::HouseAfter)
                        ) {
                        Role::Name
                    } else {
                        Role::Unknown
                    },
                },
                // "ш.а.": Kazakh шағын аудан.
                Token::Word(w) if w == "ш" && next_word == "а" => {
                    i += 1;
                    Item::Type(StreetKind::Microdistrict)
                }
                Token::Word(w) => match address_word(w) {
                    Some(Word::Drop) => Item::Skip,
                    Some(Word::Type(kind)) => Item::Type(kind),
                    Some(Word::TwoWordType) => match (w.as_str(), next_word) {
                        ("шагын", "ауданы" | "аудан") => {
                            i += 1;
                            Item::Type(StreetKind::Microdistrict)
                        }
                        ("тас", "жолы") => {
                            i += 1;
                            Item::Type(StreetKind::Highway)
                        }
                        _ => Item::Name(w.clone()),
                    },
                    Some(word) => Item::Marker(word),
                    None if home_city.iter().any(|c| c == w) => Item::City(Town::Home),
                    None => Item::Name(w.clone()),
                },
            };
            items.push(item);
            i += 1;
        }
        Parser {
            items,
            home_city,
            transliterated,
            litera: None,
            korpus_letter: None,
        }
    }

    pub(super) fn run(mut self) -> ParsedAddress {
        self.resolve_ambiguous_letters();
        self.resolve_places();
        self.resolve_letters();
        self.claim_numbers();
        self.numbers_in_names();
        let house_at = self.house_position();
        let (name_words, street_type, extended) = self.street(house_at);
        let mut parsed = ParsedAddress {
            key: String::new(),
            transliterated: self.transliterated,
            street_extended: extended.map(|w| StreetName::from_words(&w)),
            town: self.items.iter().find_map(|i| match i {
                Item::City(town) => Some(town.clone()),
                _ => None,
            }),
            street_type,
            street: StreetName::from_words(&name_words),
            house: None,
            korpus: None,
            flat: None,
        };
        if let Some(at) = house_at {
            if let Item::Number {
                digits,
                litera,
                korpus,
                ..
            } = &self.items[at]
            {
                let mut house = trim_zeros(digits);
                if let Some(l) = litera.or(self.litera) {
                    house.push(l);
                }
                parsed.house = Some(house);
                parsed.korpus = korpus.clone();
            }
        }
        if parsed.korpus.is_none() {
            parsed.korpus = self
                .numbers_with(Role::Korpus)
                .next()
                .or_else(|| self.korpus_letter.clone());
        }
        parsed.flat = self.numbers_with(Role::Flat).next();
        parsed
    }

    fn numbers_with(&self, role: Role) -> impl Iterator<Item = String> + '_ {
        self.items.iter().filter_map(move |i| match i {
            Item::Number {
                digits,
                litera,
                role: r,
                ..
            } if *r == role => {
                let mut s = trim_zeros(digits);
                if let Some(l) = litera {
                    s.push(*l);
                }
                Some(s)
            }
            _ => None,
        })
    }

    fn is_number(&self, at: Option<usize>) -> bool {
        matches!(
            at.and_then(|i| self.items.get(i)),
            Some(Item::Number { .. })
        )
    }

    fn is_name(&self, at: Option<usize>) -> bool {
        matches!(at.and_then(|i| self.items.get(i)), Some(Item::Name(_)))
    }

    /// Single letters that mean one thing or another by what stands around them.
    fn resolve_ambiguous_letters(&mut self) {
        for i in 0..self.items.len() {
            let prev = i.checked_sub(1);
            let next = Some(i + 1);
            let resolved = match self.items[i] {
                Item::Marker(Word::K) => {
                    let single_letter_next = matches!(self.items.get(i + 1), Some(Item::Name(n)) if n.chars().count() == 1);
                    if self.is_number(prev) && (self.is_number(next) || single_letter_next) {
                        Item::Marker(Word::Korpus)
                    } else if self.is_name(prev)
                        && matches!(self.items.get(i + 1), None | Some(Item::Comma))
                    {
                        Item::Marker(Word::CityAfter)
                    } else {
                        Item::Skip
                    }
                }
                Item::Marker(Word::Sh) => {
                    if self.is_name(prev) {
                        Item::Type(StreetKind::Highway)
                    } else {
                        Item::Skip
                    }
                }
                Item::Marker(Word::D) => {
                    if self.is_number(next) {
                        Item::Marker(Word::House)
                    } else {
                        Item::Skip
                    }
                }
                Item::Marker(Word::G) => {
                    let starts_part = self.items[..i]
                        .iter()
                        .rev()
                        .take_while(|it| **it != Item::Comma)
                        .all(|it| !matches!(it, Item::Name(_) | Item::Type(_)));
                    if starts_part {
                        Item::Marker(Word::CityBefore)
                    } else {
                        Item::Skip
                    }
                }
                _ => continue,
            };
            self.items[i] = resolved;
        }
    }

    /// Towns and districts: their names are not the street's.
    fn resolve_places(&mut self) {
        for i in 0..self.items.len() {
            let Item::Marker(word) = self.items[i] else {
                continue;
            };
            match word {
                Word::CityBefore => {
                    self.items[i] = Item::Skip;
                    if let Some(Item::Name(n)) = self.items.get(i + 1).cloned() {
                        self.items[i + 1] = self.city(n);
                    }
                }
                Word::CityAfter => {
                    self.items[i] = Item::Skip;
                    if let Some(p) = i.checked_sub(1) {
                        if let Item::Name(n) = self.items[p].clone() {
                            self.items[p] = self.city(n);
                        }
                    }
                }
                Word::District => {
                    self.items[i] = Item::Skip;
                    let before = i.checked_sub(1).filter(|&p| self.is_name(Some(p)));
                    let after = Some(i + 1).filter(|&n| self.is_name(Some(n)));
                    if let Some(at) = before.or(after) {
                        self.items[at] = Item::Skip;
                    }
                }
                _ => {}
            }
        }
    }

    fn city(&self, name: String) -> Item {
        if self.home_city.contains(&name) {
            Item::City(Town::Home)
        } else {
            Item::City(Town::Other(name))
        }
    }

    /// A single letter after a number is its литера ("40 а"); after "лит." the house's; after
    /// "корп." the корпус; before a number that the house number follows, a street's name ("ул.
    /// Е 10, 5"); anywhere else an initial ("М. Ауэзова"), which is left out.
    fn resolve_letters(&mut self) {
        for i in 0..self.items.len() {
            let Item::Name(n) = &self.items[i] else {
                continue;
            };
            let mut chars = n.chars();
            let (Some(c), None) = (chars.next(), chars.next()) else {
                continue;
            };
            let c = cyrillic_look_alike(c);
            match i.checked_sub(1).map(|p| &mut self.items[p]) {
                Some(Item::Number {
                    litera: litera @ None,
                    korpus: None,
                    ..
                }) => *litera = Some(c),
                Some(Item::Marker(Word::Litera)) => self.litera = Some(c),
                Some(Item::Marker(Word::Korpus)) => self.korpus_letter = Some(c.to_string()),
                _ => {
                    let numbered_name = matches!(
                        self.items.get(i + 1),
                        Some(Item::Number {
                            role: Role::Unknown,
                            litera: None,
                            korpus: None,
                            ..
                        })
                    ) && self.house_follows(i + 2).is_some();
                    if numbered_name {
                        self.items[i] = Item::Name(c.to_string());
                        if let Some(Item::Number { role, .. }) = self.items.get_mut(i + 1) {
                            *role = Role::Name;
                        }
                        continue;
                    }
                }
            }
            self.items[i] = Item::Skip;
        }
    }

    /// The role of the next number from `from` on, past commas, street types, towns and house
    /// markers, when it may be the house (not yet claimed, or claimed as the house); `None` when
    /// a word, another marker or nothing comes first.
    fn house_follows(&self, from: usize) -> Option<Role> {
        for it in self.items.iter().skip(from) {
            match it {
                Item::Comma
                | Item::Type(_)
                | Item::Skip
                | Item::City(_)
                | Item::Marker(Word::House | Word::HouseAfter) => continue,
                Item::Number {
                    role: role @ (Role::Unknown | Role::House),
                    ..
                } => return Some(*role),
                _ => return None,
            }
        }
        None
    }

    /// Markers take their number: the one after them, or, for Kazakh words written after the
    /// number ("40 үй", "12 пәтер", "1 корпус"), the one before.
    fn claim_numbers(&mut self) {
        for i in 0..self.items.len() {
            let Item::Marker(word) = self.items[i] else {
                continue;
            };
            let role = match word {
                Word::House | Word::HouseAfter => Role::House,
                Word::Flat => Role::Flat,
                Word::Korpus => Role::Korpus,
                Word::Entrance => Role::Ignored,
                _ => continue,
            };
            let unclaimed = |items: &[Item], at: usize| {
                matches!(
                    items.get(at),
                    Some(Item::Number {
                        role: Role::Unknown,
                        ..
                    })
                )
            };
            let before = i.checked_sub(1).filter(|&p| unclaimed(&self.items, p));
            let after = Some(i + 1).filter(|&n| unclaimed(&self.items, n));
            let at = if word == Word::HouseAfter {
                before.or(after)
            } else {
                after.or(before)
            };
            if let Some(Item::Number { role: r, .. }) = at.map(|a| &mut self.items[a]) {
                *r = role;
            }
        }
    }

    /// Numbers that name the street rather than the house: "5 мкр", "мкр. 5, д. 12", "ул. 8
    /// Марта, 12", "мкр Самал-2, 58"; and numbers too long to be a house (postal codes).
    fn numbers_in_names(&mut self) {
        for i in 0..self.items.len() {
            let Item::Number { digits, role, .. } = &self.items[i] else {
                continue;
            };
            if *role != Role::Unknown {
                continue;
            }
            let name = if digits.len() > HOUSE_NUMBER_DIGITS_MAX {
                Some(Role::Ignored)
            } else if self.starts_a_name(i)
                || self.ends_a_name(i)
                || matches!(self.items.get(i + 1), Some(Item::Type(_)))
                || (i > 0
                    && matches!(self.items[i - 1], Item::Type(_))
                    && !self.part_has_name_words(i)
                    && self.items[i + 1..].iter().any(|it| {
                        matches!(
                            it,
                            Item::Number {
                                role: Role::Unknown | Role::House,
                                ..
                            }
                        )
                    }))
            {
                Some(Role::Name)
            } else {
                None
            };
            if let (Some(new), Item::Number { role, .. }) = (name, &mut self.items[i]) {
                *role = new;
            }
        }
    }

    /// A number before the words of a name, the house number after them: "ул. 8 Марта, 12",
    /// "8 Марта көшесі 12".
    fn starts_a_name(&self, at: usize) -> bool {
        let starts_part = matches!(
            at.checked_sub(1).map(|p| &self.items[p]),
            None | Some(Item::Comma | Item::Type(_) | Item::City(_) | Item::Skip)
        );
        if !starts_part || !self.is_name(Some(at + 1)) || self.has_korpus(at) {
            return false;
        }
        let after_name = (at + 1..self.items.len())
            .find(|&j| !self.is_name(Some(j)))
            .unwrap_or(self.items.len());
        self.house_follows(after_name).is_some()
    }

    /// A number after the words of a name when a house number follows: always when a marker
    /// names that house ("Самал 2, д. 58"), else in a microdistrict's name ("мкр Самал 2, 58")
    /// or when the number is written against the name ("Самал-2, 58"). Without a later house
    /// number it is the house ("Кенесары-40", "Абая52").
    fn ends_a_name(&self, at: usize) -> bool {
        if !self.is_name(at.checked_sub(1)) || self.has_korpus(at) {
            return false;
        }
        let (start, end) = self.part_bounds(at);
        let microdistrict = self.items[start..end].contains(&Item::Type(StreetKind::Microdistrict));
        let joined = matches!(self.items[at], Item::Number { joined: true, .. });
        match self.house_follows(at + 1) {
            Some(Role::House) => true,
            Some(_) => microdistrict || joined,
            None => false,
        }
    }

    fn has_korpus(&self, at: usize) -> bool {
        matches!(
            self.items.get(at),
            Some(Item::Number {
                korpus: Some(_),
                ..
            })
        )
    }

    /// Whether the comma-separated part around `at` has a word of a name.
    fn part_has_name_words(&self, at: usize) -> bool {
        let (start, end) = self.part_bounds(at);
        self.items[start..end]
            .iter()
            .any(|it| matches!(it, Item::Name(_)))
    }

    fn part_bounds(&self, at: usize) -> (usize, usize) {
        let start = self.items[..at]
            .iter()
            .rposition(|it| *it == Item::Comma)
            .map_or(0, |p| p + 1);
        let end = self.items[at..]
            .iter()
            .position(|it| *it == Item::Comma)
            .map_or(self.items.len(), |p| at + p);
        (start, end)
    }

    /// The house number: the one a marker names, else the first unclaimed number after a word
    /// of the name, else the first unclaimed number.
    fn house_position(&self) -> Option<usize> {
        let numbers_with = |role: Role| {
            self.items.iter().enumerate().filter_map(move |(i, it)| {
                matches!(it, Item::Number { role: r, .. } if *r == role).then_some(i)
            })
        };
        if let Some(at) = numbers_with(Role::House).next() {
            return Some(at);
        }
        let first_name = self.items.iter().position(|it| {
            matches!(
                it,
                Item::Name(_)
                    | Item::Number {
                        role: Role::Name,
                        ..
                    }
            )
        });
        first_name
            .and_then(|f| numbers_with(Role::Unknown).find(|&i| i > f))
            .or_else(|| numbers_with(Role::Unknown).next())
    }

    /// The street's words and type: those of the house's part before the house, or else of the
    /// nearest part before it that has any, or else, when the house is marked ("кв. 12, д. 62,
    /// ул. Кенесары") or the later part names a street type, of the first part after it that has
    /// any. Without a house, the first part with a name.
    ///
    /// The third value: when the name is in the house's part and the part before it has nothing
    /// but words, those words and the name together ("Керей, Жәнібек хандар көшесі 10"): a name
    /// written with a comma, or a town or district without its marker. It is compared only for
    /// equality and through the aliases.
    fn street(
        &self,
        house_at: Option<usize>,
    ) -> (Vec<String>, Option<StreetKind>, Option<Vec<String>>) {
        let is_name = |it: &Item| {
            matches!(
                it,
                Item::Name(_)
                    | Item::Number {
                        role: Role::Name,
                        ..
                    }
            )
        };
        let mut range = None;
        let mut in_house_part = false;
        match house_at {
            Some(at) => {
                let (start, part_end) = self.part_bounds(at);
                if self.items[start..at].iter().any(is_name) {
                    range = Some((start, at));
                    in_house_part = true;
                } else {
                    let mut end = start.saturating_sub(1); // the comma before the part
                    while end > 0 {
                        let (s, _) = self.part_bounds(end - 1);
                        if self.items[s..end].iter().any(is_name) {
                            range = Some((s, end));
                            break;
                        }
                        end = s.saturating_sub(1);
                    }
                }
                let house_marked = matches!(
                    self.items[at],
                    Item::Number {
                        role: Role::House,
                        ..
                    }
                );
                let mut from = part_end + 1;
                while range.is_none() && from < self.items.len() {
                    let (s, e) = self.part_bounds(from);
                    let part = &self.items[s..e];
                    if part.iter().any(is_name) {
                        let typed = part.iter().any(|it| matches!(it, Item::Type(_)));
                        if house_marked || typed {
                            range = Some((s, e));
                        }
                        break;
                    }
                    from = e + 1;
                }
            }
            None => {
                if let Some(first) = self.items.iter().position(is_name) {
                    range = Some(self.part_bounds(first));
                }
            }
        }
        let Some((start, end)) = range else {
            return (Vec::new(), None, None);
        };
        let mut words = Vec::new();
        let mut kind = None;
        for it in &self.items[start..end] {
            match it {
                Item::Name(w) => words.push(w.clone()),
                Item::Number {
                    digits,
                    litera,
                    role: Role::Name,
                    ..
                } => {
                    let mut w = trim_zeros(digits);
                    w.extend(*litera);
                    words.push(w);
                }
                Item::Type(k) if kind.is_none() => kind = Some(*k),
                _ => {}
            }
        }
        let mut extended = None;
        if in_house_part && start >= 2 {
            let (s, e) = self.part_bounds(start - 2);
            let before = &self.items[s..e];
            if !before.is_empty() && before.iter().all(|it| matches!(it, Item::Name(_))) {
                let mut all: Vec<String> = before
                    .iter()
                    .filter_map(|it| match it {
                        Item::Name(w) => Some(w.clone()),
                        _ => None,
                    })
                    .collect();
                all.extend(words.iter().cloned());
                extended = Some(all);
            }
        }
        (words, kind, extended)
    }
}

fn trim_zeros(digits: &str) -> String {
    let t = digits.trim_start_matches('0');
    if t.is_empty() {
        "0".to_string()
    } else {
        t.to_string()
    }
}

/// A street's name alone ("пр. Победы", "Жеңіс даңғылы"): every word that is not a street
/// type, a town or a marker.
pub(super) fn street_name_only(name: &str) -> StreetName {
    let words: Vec<String> = tokens(name)
        .into_iter()
        .filter_map(|t| match t {
            Token::Word(w) => match address_word(&w) {
                None | Some(Word::K | Word::Sh | Word::D | Word::G) => {
                    (w.chars().count() > 1).then_some(w)
                }
                _ => None,
            },
            Token::Number { digits, .. } => Some(trim_zeros(&digits)),
            Token::Comma => None,
        })
        .collect();
    StreetName::from_words(&words)
}
