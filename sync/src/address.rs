//! Addresses as people write them, for the address-warnings registry (справочные учёты, R08).
//!
//! Pure text handling: no I/O, no clock. The node keys its stored records by
//! [`normalize_address`].

use std::collections::BTreeMap;
use std::sync::OnceLock;

/// Canonical form of an address for matching.
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

/// Lowercase Kazakh letters and `ё` folded to the Russian letter a keyboard without them gives.
pub fn fold_letter(c: char) -> char {
    match c {
        'ё' => 'е',
        'ә' => 'а',
        'ғ' => 'г',
        'қ' => 'к',
        'ң' => 'н',
        'ө' => 'о',
        'ұ' | 'ү' => 'у',
        'һ' => 'х',
        'і' => 'и',
        c => c,
    }
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
}
