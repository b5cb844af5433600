//! What an address is read into, shared by the parser and the matcher: the parsed address
//! ([`ParsedAddress`]) with its street kind, street name and town, the letter folding, and the
//! stemming of street names. `parse` builds these and the matcher (`address/mod.rs`) compares
//! them; this module uses neither.

use super::script;

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

/// House numbers have at most this many digits; a longer number is a postal code or a phone.
pub const HOUSE_NUMBER_DIGITS_MAX: usize = 5;
/// A word keeps at least this many characters when its case ending is cut ("Абая" → "аба").
const STEM_CHARS_MIN: usize = 3;
/// An honorific glued to a name ("Абылайхана", "Толеби") is cut off only when at least this
/// many characters of the name stay ("Толе"); shorter words are names of their own.
pub const GLUED_HONORIFIC_NAME_CHARS_MIN: usize = 4;

/// The kind of street, Kazakh and Russian words unified (`көшесі` = `улица` = `ул.`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StreetKind {
    Street,
    Avenue,
    Microdistrict,
    Lane,
    Boulevard,
    Highway,
    Embankment,
    Square,
}

/// A street name for comparison: Kazakh letters folded to Russian look-alikes, words joined by
/// hyphens taken apart ("Толе-би", "Мангилик-Ел"), honorifics (хан, батыр, би), glued or not,
/// initials and "им." left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreetName {
    /// The words as written (folded), in order, joined by a space.
    pub(super) full: String,
    /// Each word without its case ending ("Абая" and "Абай" → "аба"), sorted.
    pub(super) stems: Vec<String>,
    /// The words that are numbers ("2" of "Самал-2", "8" of "8 Марта"), sorted: names with
    /// different numbers are different places, never a typo of each other.
    pub(super) numbers: Vec<String>,
}

impl StreetName {
    pub(super) fn from_words(words: &[String]) -> StreetName {
        let parts: Vec<String> = words
            .iter()
            .flat_map(|w| w.split('-'))
            .filter(|p| !p.is_empty())
            .map(strip_glued_honorific)
            .collect();
        let kept: Vec<&String> = parts.iter().filter(|w| !is_name_filler(w)).collect();
        // A street named only by an honorific ("Батыр") keeps it.
        let kept: Vec<&String> = if kept.is_empty() {
            parts.iter().collect()
        } else {
            kept
        };
        let full = kept
            .iter()
            .map(|w| w.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        let mut stems: Vec<String> = kept.iter().map(|w| stem(w)).collect();
        stems.sort();
        let mut numbers: Vec<String> = kept
            .iter()
            .filter(|w| w.starts_with(|c: char| c.is_ascii_digit()))
            .map(|w| w.to_string())
            .collect();
        numbers.sort();
        StreetName {
            full,
            stems,
            numbers,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.stems.is_empty()
    }

    pub(super) fn stems_text(&self) -> String {
        self.stems.join(" ")
    }
}

/// A town named in an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Town {
    /// The region's own city, under any of its names ("Астана", "Нур-Султан").
    Home,
    Other(String),
}

/// The parts of an address that say which building (and flat) it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedAddress {
    /// [`normalize_address`](super::normalize_address) without the region's city names: equal keys always match.
    pub(super) key: String,
    /// The town the address names, if it names one (under its current name when the town
    /// aliases know an old one).
    pub(super) town: Option<Town>,
    pub(super) street_type: Option<StreetKind>,
    pub(super) street: StreetName,
    /// The street's name with the words of the comma-separated part before it, when that part
    /// has nothing else ("Керей, Жәнібек хандар"): compared only for equality and aliases.
    pub(super) street_extended: Option<StreetName>,
    /// The address was written in Latin letters only and read through a transliteration.
    pub(super) transliterated: bool,
    /// Digits without leading zeros, then the литера if any: "40", "40а"; a Latin `b` stays,
    /// since it may stand for В or Б.
    pub(super) house: Option<String>,
    /// корпус / блок: "40/1", "40 корп. 1" and "40 блок 1" are all корпус "1".
    pub(super) korpus: Option<String>,
    pub(super) flat: Option<String>,
}

impl ParsedAddress {
    /// The house number without its литера and корпус ("40" of "40а/1"), or "" when there is
    /// none: equal house keys are necessary for a match or a possible one, so an index keyed by
    /// it finds every candidate.
    pub fn house_key(&self) -> String {
        self.house
            .as_deref()
            .map(|h| house_digits(h).to_string())
            .unwrap_or_default()
    }

    /// The normalised text of the address (the key of stored records).
    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn flat(&self) -> Option<&str> {
        self.flat.as_deref()
    }

    pub fn street_type(&self) -> Option<StreetKind> {
        self.street_type
    }

    /// The street's words as compared (folded, without honorifics and initials).
    pub fn street(&self) -> &str {
        &self.street.full
    }
}

/// The digits of a house number ("40" of "40а").
pub(super) fn house_digits(house: &str) -> &str {
    let end = house
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(house.len());
    &house[..end]
}

/// Russian case endings of two and three letters, cut before a one-letter one: the feminine
/// genitive ("Маметовой" / "Маметова"), the adjective's ("Достоевского" / "Достоевский").
const CASE_ENDINGS: &[&str] = &["ого", "его", "ой", "ий", "ый"];

/// Cuts one Russian case ending so that the Kazakh nominative and the Russian genitive meet:
/// Абай / Абая, Сейфуллин / Сейфуллина, Республика / Республики, Маметова / Маметовой,
/// Достоевский / Достоевского. Numbers are kept whole.
fn stem(word: &str) -> String {
    if word.starts_with(|c: char| c.is_ascii_digit()) {
        return word.to_string();
    }
    let mut chars: Vec<char> = word.chars().collect();
    for ending in CASE_ENDINGS {
        let n = ending.chars().count();
        if chars.len() >= n + STEM_CHARS_MIN && word.ends_with(ending) {
            chars.truncate(chars.len() - n);
            return chars.into_iter().collect();
        }
    }
    if chars.len() > STEM_CHARS_MIN
        && matches!(
            chars.last(),
            Some('а' | 'я' | 'ы' | 'и' | 'й' | 'у' | 'ю' | 'е' | 'о')
        )
    {
        chars.pop();
    }
    chars.into_iter().collect()
}

/// Honorifics that come and go in street names ("Кенесары хана", "Кабанбай батыр", "Төле
/// би"), longest first.
const HONORIFICS: &[&str] = &["батыра", "батыр", "хана", "хан", "би"];

/// Words that are not the street's name: honorifics and "имени".
fn is_name_filler(word: &str) -> bool {
    HONORIFICS.contains(&word) || matches!(word, "им" | "имени" | "атындагы")
}

/// A word without an honorific glued to its end ("Абылайхана" → "абылай", "Толеби" → "толе"),
/// when at least [`GLUED_HONORIFIC_NAME_CHARS_MIN`] letters stay.
fn strip_glued_honorific(word: &str) -> String {
    for honorific in HONORIFICS {
        if let Some(name) = word.strip_suffix(honorific) {
            if name.chars().count() >= GLUED_HONORIFIC_NAME_CHARS_MIN
                && name.chars().all(char::is_alphabetic)
            {
                return name.to_string();
            }
        }
    }
    word.to_string()
}

/// The letters the matcher folds: [`fold_letter`], and `э` → `е` ("Ауэзов" / "Әуезов").
pub(super) fn fold_for_matching(c: char) -> char {
    match c {
        'э' => 'е',
        c => fold_letter(c),
    }
}

/// A литера or корпус letter typed in Latin ("15A"): the Cyrillic look-alike, except `b`,
/// which stays as written because it may stand for В (its look-alike) or Б (its
/// transliteration); [`compare_parts`](super::compare_parts) reads it both ways.
pub(super) fn cyrillic_look_alike(c: char) -> char {
    match c {
        'b' => 'b',
        c => script::look_alike(c).map_or(c, fold_letter),
    }
}
