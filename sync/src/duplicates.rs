//! R27/R28/R38: is a new appeal a duplicate of an earlier one?
//!
//! A duplicate (seed 004 p.2) is an appeal from the same person (or group) on the same question,
//! a copy of or similar to one sent earlier — also when addressed to another body, worded
//! differently or sent in another form — that brings no new arguments, circumstances or legal
//! grounds. So a candidate needs all three:
//! - **the same person**: the same ИИН, phone or e-mail, the same name at the same address, or
//!   the same full name (surname, name, patronymic); a different ИИН, or a different name where
//!   both give one, is another person (a family member writing from the same phone is not the
//!   applicant), and so is a namesake with another phone, e-mail or address;
//! - **the same question**: the texts share enough content ([`text_similarity`]): stemmed words,
//!   numbers and dates, and concepts shared by Kazakh and Russian, so a repeat written in the
//!   other language is found too;
//! - **nothing new**: the later text names no date, number or code (a car plate, a phone) that
//!   the earlier one lacks — except the earlier appeal's own date, year and number, which a repeat
//!   cites — and uses no new-argument wording the earlier one lacks (attached documents,
//!   disagreement with the answer, an article of a code, something found out).
//!
//! Sans-IO: [`fingerprint`] reads a [`DupSubject`] into a compact, serialisable [`Fingerprint`];
//! [`index_keys`] lists the keys a store files it under (identity keys and MinHash LSH bands), so
//! that candidates are found by key lookups, never by scanning the register; [`compare`] decides
//! on one candidate. The node checks its own region; central checks the national register (R38).
//!
//! Known limits: a repeat that attaches a copy of the earlier appeal or its answer reads as a new
//! argument (a missed duplicate, never a false one); the Kazakh stemmer is a suffix list; a
//! repeat in the other language is found only through numbers, names and the concept list.
//! The corpus `duplicates/corpus.json` is the contract (`sync/tests/duplicate_corpus.rs`).

mod text;

use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

use crate::address::{AddressMatcher, StreetAliases};
use crate::caller::normalize_phone;
use crate::model::Language;

pub use text::{
    kazakh_stem, kazakh_suffixes, token_hash, Cue, KK_STEM_CHARS_MAX, KK_STEM_CHARS_MIN,
    KK_SUFFIX_ROUNDS_MAX, SMALL_NUMBER_MAX, TEXT_CHARS_MAX, TOKENS_MAX, WORD_CHARS_MIN,
};

/// Word shingles hashed into the MinHash: single stemmed words (and number, date and concept
/// tokens). A reworded repeat keeps most of its words but not their order, so longer shingles
/// would miss it.
pub const SHINGLE_WORDS: usize = 1;
/// LSH bands of the MinHash signature; each band is one `lsh:` index key.
pub const LSH_BANDS: usize = 20;
/// MinHash values per band: with 20 bands of 3, two texts with Jaccard similarity 0.5 share a
/// band key with probability 0.93, at 0.3 with 0.42, at 0.1 with 0.02 — near copies are found
/// even when every identity field differs, and a band key is specific enough to keep posting
/// lists short.
pub const LSH_ROWS: usize = 3;
/// MinHash functions in the signature.
pub const MINHASH_HASHES: usize = LSH_BANDS * LSH_ROWS;

/// Least text similarity for a candidate of a person matched by ИИН, phone, e-mail or name and
/// address. In the corpus a reworded repeat of the same question scores 0.34–0.77 (median 0.5),
/// a copy 0.85 and more; another question of the same person scores 0 in the median and at most
/// 0.28 (then its new dates and numbers tell it apart). The bound sits well below the repeats.
pub const SIMILAR_TEXT_MIN: f32 = 0.18;
/// Least text similarity when the person is matched by the full name only: a namesake is
/// possible, so the question must be clearly the same.
pub const SIMILAR_TEXT_MIN_NAME_ONLY: f32 = 0.3;
/// Least text similarity when the two appeals are in different languages: they share only
/// numbers, dates, names and concepts, so the same question scores lower (0.21–0.32 in the
/// corpus).
pub const SIMILAR_TEXT_MIN_OTHER_LANGUAGE: f32 = 0.12;
/// Text similarity is `JACCARD_WEIGHT × Jaccard + (1 − JACCARD_WEIGHT) × overlap`, where the
/// overlap is the shared share of the shorter text: a short repeat ("where is the answer to my
/// complaint about …") is mostly contained in the original without being like it in size.
pub const JACCARD_WEIGHT: f32 = 0.5;
/// A registration number's digit group shorter than this is not taken as a reference to it.
pub const NUMBER_REFERENCE_DIGITS_MIN: usize = 3;
/// Kazakhstan's time zone (UTC+5, one zone since 2024): the calendar day of a received time.
pub const KZ_UTC_OFFSET_MS: i64 = 5 * 3_600_000;
/// Characters of a name, address or e-mail examined.
pub const IDENTITY_CHARS_MAX: usize = 200;

/// What the check reads of an appeal (the caller fills it from the appeal and its first
/// applicant).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DupSubject {
    pub region: String,
    /// The registration number, or the appeal's id before registration.
    pub number: String,
    pub received_at_ms: i64,
    pub iin: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub surname: Option<String>,
    pub name: Option<String>,
    pub patronymic: Option<String>,
    pub address: Option<String>,
    pub language: Language,
    pub text: String,
}

/// A person's name as compared: lowercase, `ё→е`, Kazakh letters kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonName {
    pub surname: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patronymic: Option<String>,
}

/// The parts of an address that say which dwelling it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressKey {
    /// House number digits ("40" of "40а").
    pub house: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flat: Option<String>,
    /// Street words, folded and without case endings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub street: Vec<String>,
}

/// What the duplicate check keeps of an appeal: normalised identity and the text's signature.
/// About 0.5–1 KB as JSON for a typical appeal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    pub region: String,
    pub number: String,
    pub received_at_ms: i64,
    pub language: Language,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iin: Option<String>,
    /// Digits of the E.164 form ("77011234567").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<PersonName>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<AddressKey>,
    /// Hashes of the text's tokens, sorted.
    pub tokens: Vec<u32>,
    /// Hashes of the text's dates, numbers and codes, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<u32>,
    /// Bits of [`Cue`].
    #[serde(default)]
    pub cues: u16,
}

/// Why a candidate was shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DupReason {
    SameIin,
    SamePhone,
    SameEmail,
    SameNameAddress,
    /// The full name only (no other identity field in common).
    SameName,
    SimilarText,
    /// The repeat is written in the other language.
    OtherLanguage,
}

impl DupReason {
    pub fn as_str(self) -> &'static str {
        match self {
            DupReason::SameIin => "same_iin",
            DupReason::SamePhone => "same_phone",
            DupReason::SameEmail => "same_email",
            DupReason::SameNameAddress => "same_name_address",
            DupReason::SameName => "same_name",
            DupReason::SimilarText => "similar_text",
            DupReason::OtherLanguage => "other_language",
        }
    }
}

/// A candidate: the earlier appeal is probably the one the new one repeats.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DupMatch {
    /// Text similarity, 0..1.
    pub similarity: f32,
    pub reasons: Vec<DupReason>,
}

/// Whether a 12-digit ИИН (or БИН: the same check) has the right check digit: digits 1–11
/// weighted 1..11, the sum mod 11 is digit 12; a sum of 10 is recomputed with the weights
/// 3..11, 1, 2, and a second 10 makes the number invalid. Spaces are not accepted.
pub fn iin_is_valid(s: &str) -> bool {
    let d: Vec<u32> = s.chars().filter_map(|c| c.to_digit(10)).collect();
    if d.len() != 12 || s.len() != 12 {
        return false;
    }
    const W1: [u32; 11] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
    const W2: [u32; 11] = [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2];
    let sum = |w: &[u32; 11]| d.iter().zip(w).map(|(a, b)| a * b).sum::<u32>() % 11;
    let mut check = sum(&W1);
    if check == 10 {
        check = sum(&W2);
        if check == 10 {
            return false;
        }
    }
    check == d[11]
}

/// The ИИН without spaces, when valid.
pub fn normalize_iin(s: &str) -> Option<String> {
    let digits: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    iin_is_valid(&digits).then_some(digits)
}

/// A phone number's digits in international form ("+7 701 123-45-67", "8 701 1234567" →
/// "77011234567"), or `None` when it is not a phone number.
pub fn normalize_phone_digits(s: &str) -> Option<String> {
    let s: String = s.chars().take(IDENTITY_CHARS_MAX).collect();
    normalize_phone(&s).map(|e164| e164.trim_start_matches('+').to_string())
}

/// An e-mail address trimmed and lowercase, when it has one `@` with text on both sides.
pub fn normalize_email(s: &str) -> Option<String> {
    let e: String = s
        .trim()
        .chars()
        .take(IDENTITY_CHARS_MAX)
        .flat_map(char::to_lowercase)
        .collect();
    let (local, domain) = e.split_once('@')?;
    (!local.is_empty() && domain.contains('.') && !domain.contains('@') && !e.contains(' '))
        .then_some(e)
}

/// A name part lowercase with `ё→е`, Kazakh letters kept, punctuation other than `-` dropped,
/// spaces collapsed; `None` when nothing is left.
pub fn normalize_name(s: &str) -> Option<String> {
    let lowered = text::lower(&s.chars().take(IDENTITY_CHARS_MAX).collect::<String>());
    let cleaned: String = lowered
        .chars()
        .map(|c| {
            if c.is_alphabetic() || c == '-' {
                c
            } else {
                ' '
            }
        })
        .collect();
    let out = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    (!out.is_empty()).then_some(out)
}

fn address_matcher() -> &'static AddressMatcher {
    static MATCHER: OnceLock<AddressMatcher> = OnceLock::new();
    MATCHER.get_or_init(|| AddressMatcher::new(StreetAliases::default(), &[]))
}

/// A street word without its case ending, for comparing "Абая" with "Абай", "Гоголя" with
/// "Гоголь".
fn street_stem(word: &str) -> String {
    const STEM_CHARS_MIN: usize = 3;
    let mut w: Vec<char> = text::fold(word).chars().collect();
    while w.len() > STEM_CHARS_MIN
        && matches!(
            w.last(),
            Some('а' | 'я' | 'ы' | 'и' | 'й' | 'у' | 'ю' | 'е' | 'о' | 'ь')
        )
    {
        w.pop();
    }
    w.into_iter().collect()
}

/// The dwelling an address names ("ул. Кенесары, д. 40, кв. 12", "Кенесары көшесі, 40 үй, 12
/// пәтер"), or `None` without a house number. The street type, the city and the words "дом",
/// "үй" are not part of it.
pub fn address_key(s: &str) -> Option<AddressKey> {
    let parsed = address_matcher().parse(&s.chars().take(IDENTITY_CHARS_MAX).collect::<String>());
    let house = parsed.house_key();
    if house.is_empty() {
        return None;
    }
    let mut street: Vec<String> = parsed
        .street()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= WORD_CHARS_MIN)
        .map(street_stem)
        .collect();
    street.sort();
    street.dedup();
    Some(AddressKey {
        house,
        flat: parsed
            .flat()
            .map(|f| f.trim_start_matches('0').to_string())
            .filter(|f| !f.is_empty()),
        street,
    })
}

/// Reads an appeal for the duplicate check. Never fails: a field that cannot be read (an ИИН
/// with a wrong check digit, a phone that is not one) is left out.
pub fn fingerprint(s: &DupSubject) -> Fingerprint {
    let person = match (
        s.surname.as_deref().and_then(normalize_name),
        s.name.as_deref().and_then(normalize_name),
    ) {
        (Some(surname), Some(name)) => Some(PersonName {
            surname,
            name,
            patronymic: s.patronymic.as_deref().and_then(normalize_name),
        }),
        _ => None,
    };
    let features = text::analyse(&s.text, s.language);
    Fingerprint {
        region: s.region.clone(),
        number: s.number.clone(),
        received_at_ms: s.received_at_ms,
        language: s.language,
        iin: s.iin.as_deref().and_then(normalize_iin),
        phone: s.phone.as_deref().and_then(normalize_phone_digits),
        email: s.email.as_deref().and_then(normalize_email),
        person,
        address: s.address.as_deref().and_then(address_key),
        tokens: features.tokens,
        evidence: features.evidence,
        cues: features.cues,
    }
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The MinHash signature of a token set ([`MINHASH_HASHES`] values); empty for an empty set.
pub fn minhash(tokens: &[u32]) -> Vec<u32> {
    if tokens.is_empty() {
        return Vec::new();
    }
    (0..MINHASH_HASHES as u64)
        .map(|seed| {
            let salt = splitmix64(seed.wrapping_add(0x5eed));
            tokens
                .iter()
                .map(|&t| splitmix64(u64::from(t) ^ salt) as u32)
                .min()
                .unwrap_or(u32::MAX)
        })
        .collect()
}

/// The keys a store files a fingerprint under; a new appeal's candidates are the fingerprints
/// filed under any of its keys. `iin:…`, `phone:…`, `email:…`, `name:surname|name|patronymic`
/// (the full name only), `name_addr:surname|name|house|flat`, and `lsh:<band>:<hash>` for each
/// MinHash band.
pub fn index_keys(f: &Fingerprint) -> Vec<String> {
    let mut keys = Vec::new();
    if let Some(iin) = &f.iin {
        keys.push(format!("iin:{iin}"));
    }
    if let Some(phone) = &f.phone {
        keys.push(format!("phone:{phone}"));
    }
    if let Some(email) = &f.email {
        keys.push(format!("email:{email}"));
    }
    if let Some(p) = &f.person {
        if let Some(patronymic) = &p.patronymic {
            keys.push(format!("name:{}|{}|{}", p.surname, p.name, patronymic));
        }
        if let Some(a) = &f.address {
            keys.push(format!(
                "name_addr:{}|{}|{}|{}",
                p.surname,
                p.name,
                a.house,
                a.flat.as_deref().unwrap_or("")
            ));
        }
    }
    let signature = minhash(&f.tokens);
    for (band, rows) in signature.chunks(LSH_ROWS).enumerate() {
        let bytes: Vec<u8> = rows.iter().flat_map(|r| r.to_le_bytes()).collect();
        keys.push(format!("lsh:{band}:{:016x}", text::fnv1a64(&bytes)));
    }
    keys
}

/// Size of the intersection of two sorted sets.
fn shared(a: &[u32], b: &[u32]) -> usize {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                n += 1;
                i += 1;
                j += 1;
            }
        }
    }
    n
}

/// How much two texts say the same: see [`JACCARD_WEIGHT`]. 0 when either is empty.
pub fn text_similarity(a: &Fingerprint, b: &Fingerprint) -> f32 {
    let (na, nb) = (a.tokens.len(), b.tokens.len());
    if na == 0 || nb == 0 {
        return 0.0;
    }
    let both = shared(&a.tokens, &b.tokens) as f32;
    let jaccard = both / ((na + nb) as f32 - both);
    let overlap = both / na.min(nb) as f32;
    JACCARD_WEIGHT * jaccard + (1.0 - JACCARD_WEIGHT) * overlap
}

/// Day and month of a time in Kazakhstan, and its year.
fn kz_date(ms: i64) -> (u32, u32, i64) {
    let days = (ms + KZ_UTC_OFFSET_MS).div_euclid(86_400_000);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (day, month, year)
}

/// Evidence of the new text that the earlier one lacks, less what a repeat cites of the earlier
/// appeal itself: its date, the years of both, the digit groups of its number.
fn new_evidence(new: &Fingerprint, earlier: &Fingerprint) -> usize {
    let (day, month, year) = kz_date(earlier.received_at_ms);
    let (_, _, new_year) = kz_date(new.received_at_ms);
    let mut cited: Vec<u32> = vec![
        token_hash(&text::date_token(day, month)),
        token_hash(&text::number_token(year as u64)),
        token_hash(&text::number_token(new_year as u64)),
    ];
    for group in earlier
        .number
        .split(|c: char| !c.is_ascii_digit())
        .filter(|g| g.len() >= NUMBER_REFERENCE_DIGITS_MIN)
    {
        if let Ok(n) = group.parse::<u64>() {
            cited.push(token_hash(&text::number_token(n)));
        }
    }
    new.evidence
        .iter()
        .filter(|e| earlier.evidence.binary_search(e).is_err() && !cited.contains(e))
        .count()
}

/// Whether two addresses name the same dwelling: the same house number, the same flat where
/// both give one, and a street word in common (one letter apart allowed) where both name one.
fn same_dwelling(a: &AddressKey, b: &AddressKey) -> bool {
    if a.house != b.house {
        return false;
    }
    if let (Some(x), Some(y)) = (&a.flat, &b.flat) {
        if x != y {
            return false;
        }
    }
    if a.street.is_empty() || b.street.is_empty() {
        return true;
    }
    a.street.iter().any(|x| {
        b.street
            .iter()
            .any(|y| x == y || (x.chars().count() >= 5 && strsim::damerau_levenshtein(x, y) <= 1))
    })
}

/// Whether the later appeal `new` is a duplicate candidate of `earlier`: `None` when it is not
/// (another person, another question, new arguments, or the same appeal).
pub fn compare(new: &Fingerprint, earlier: &Fingerprint) -> Option<DupMatch> {
    if new.region == earlier.region && new.number == earlier.number {
        return None;
    }
    let mut reasons = Vec::new();
    match (&new.iin, &earlier.iin) {
        (Some(a), Some(b)) if a == b => reasons.push(DupReason::SameIin),
        (Some(_), Some(_)) => return None,
        _ => {}
    }
    let same_iin = !reasons.is_empty();
    let mut same_person_name = false;
    if let (Some(a), Some(b)) = (&new.person, &earlier.person) {
        let patronymic_differs =
            matches!((&a.patronymic, &b.patronymic), (Some(x), Some(y)) if x != y);
        let same = a.surname == b.surname && a.name == b.name && !patronymic_differs;
        if !same && !same_iin {
            return None;
        }
        same_person_name = same;
    }
    if new.phone.is_some() && new.phone == earlier.phone {
        reasons.push(DupReason::SamePhone);
    }
    if new.email.is_some() && new.email == earlier.email {
        reasons.push(DupReason::SameEmail);
    }
    if same_person_name {
        if let (Some(a), Some(b)) = (&new.address, &earlier.address) {
            if same_dwelling(a, b) {
                reasons.push(DupReason::SameNameAddress);
            }
        }
    }
    let name_only = reasons.is_empty();
    if name_only {
        let full_name = |f: &Fingerprint| f.person.as_ref().is_some_and(|p| p.patronymic.is_some());
        if !(same_person_name && full_name(new) && full_name(earlier)) {
            return None;
        }
        // A namesake: the same full name with another phone, e-mail or dwelling.
        let differs =
            |a: Option<&String>, b: Option<&String>| matches!((a, b), (Some(x), Some(y)) if x != y);
        let other_dwelling =
            matches!((&new.address, &earlier.address), (Some(a), Some(b)) if !same_dwelling(a, b));
        if differs(new.phone.as_ref(), earlier.phone.as_ref())
            || differs(new.email.as_ref(), earlier.email.as_ref())
            || other_dwelling
        {
            return None;
        }
        reasons.push(DupReason::SameName);
    }
    let similarity = text_similarity(new, earlier);
    let other_language = new.language != earlier.language;
    let min = if other_language {
        SIMILAR_TEXT_MIN_OTHER_LANGUAGE
    } else if name_only {
        SIMILAR_TEXT_MIN_NAME_ONLY
    } else {
        SIMILAR_TEXT_MIN
    };
    if similarity < min {
        return None;
    }
    if new_evidence(new, earlier) > 0 || new.cues & !earlier.cues != 0 {
        return None;
    }
    reasons.push(DupReason::SimilarText);
    if other_language {
        reasons.push(DupReason::OtherLanguage);
    }
    Some(DupMatch {
        similarity,
        reasons,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r27_duplicates_iin_checksum() {
        for iin in ["600705451316", "700401437686", "710610348485"] {
            assert!(iin_is_valid(iin), "{iin}");
            let mut wrong: Vec<char> = iin.chars().collect();
            wrong[11] = char::from_digit((wrong[11].to_digit(10).unwrap() + 1) % 10, 10).unwrap();
            let wrong: String = wrong.into_iter().collect();
            assert!(!iin_is_valid(&wrong), "{wrong}");
        }
        assert!(!iin_is_valid("60070545131"));
        assert!(!iin_is_valid("6007054513160"));
        assert!(!iin_is_valid("60070545131a"));
        assert!(!iin_is_valid("６00705451316"));
    }

    /// Hand-computed: 0000000000 + 1 at position 10 weighs 10 → 10 with the first weights, so the
    /// second weights (position 10 weighs 1) give 1.
    #[test]
    fn r27_duplicates_iin_second_weights() {
        assert!(iin_is_valid("000000000101"));
        assert!(!iin_is_valid("000000000100"));
        // 2·1 + 8·2 + 1·3 = 21 and 2·3 + 8·4 + 1·5 = 43: 10 mod 11 both times → invalid.
        for last in 0..10 {
            assert!(!iin_is_valid(&format!("28100000000{last}")));
        }
    }

    #[test]
    fn r27_duplicates_normalises_identity() {
        assert_eq!(
            normalize_phone_digits("8 (701) 123-45-67").as_deref(),
            Some("77011234567")
        );
        assert_eq!(
            normalize_phone_digits("+7 701 123 45 67"),
            normalize_phone_digits("87011234567")
        );
        assert_eq!(normalize_phone_digits("звоните"), None);
        assert_eq!(
            normalize_email(" Olga.Ivanova@Mail.RU ").as_deref(),
            Some("olga.ivanova@mail.ru")
        );
        assert_eq!(normalize_email("olga"), None);
        assert_eq!(
            normalize_name(" Сәулет  Алёна. ").as_deref(),
            Some("сәулет алена")
        );
        assert_eq!(
            normalize_iin("600705 451316").as_deref(),
            Some("600705451316")
        );
        assert_eq!(normalize_iin("600705451317"), None);
    }

    #[test]
    fn r27_duplicates_address_written_either_way_is_one_dwelling() {
        let forms = [
            "г. Астана, ул. Байтурсынова, д. 78, кв. 32",
            "Байтурсынова 78, кв 32",
            "г. Астана, улица Байтурсынова, дом 78, квартира 32",
            "Астана қ., Байтұрсынов көшесі, 78 үй, 32 пәтер",
            "ул.Байтурсынова, 78-32",
            "г. Астана Байтурсынова 78 кв.32",
        ];
        let first = address_key(forms[0]).unwrap();
        assert_eq!(first.house, "78");
        assert_eq!(first.flat.as_deref(), Some("32"));
        for f in forms {
            let k = address_key(f).unwrap_or_else(|| panic!("{f}"));
            assert!(same_dwelling(&first, &k), "{f}: {k:?} vs {first:?}");
        }
        let other = address_key("ул. Байтурсынова, д. 78, кв. 34").unwrap();
        assert!(!same_dwelling(&first, &other));
    }

    #[test]
    fn r27_duplicates_kz_date_of_a_time() {
        // 2026-03-12T00:30+05:00 is 2026-03-11T19:30Z.
        let ms = 1_773_257_400_000;
        assert_eq!(kz_date(ms), (12, 3, 2026));
    }
}
