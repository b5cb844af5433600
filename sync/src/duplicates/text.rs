//! The text of an appeal read into what the duplicate check compares: a set of content tokens
//! (stemmed words, numbers, dates and bilingual concepts), the subset that is evidence (dates,
//! numbers, codes such as a car plate or a phone), and the kinds of new-argument wording present.
//! Pure: no I/O, no clock.

use std::sync::OnceLock;

use rust_stemmers::{Algorithm, Stemmer};

use crate::address::fold_letter;
use crate::model::Language;

/// Characters of an appeal's text examined; the rest of a long letter is not read (an appeal's
/// question is stated at its start, and the cost of a check stays bounded).
pub const TEXT_CHARS_MAX: usize = 4_000;
/// Distinct tokens kept per text (the first ones in reading order): bounds the fingerprint.
pub const TOKENS_MAX: usize = 400;
/// Words shorter than this (in characters) carry no content ("на", "и", "да"); concepts are
/// looked up before this cut, so the Kazakh "шу" (noise) still counts.
pub const WORD_CHARS_MIN: usize = 3;
/// Numbers up to this are not evidence of a new circumstance: people write them as words
/// ("трёх", "бес") as often as in digits. They still count as text.
pub const SMALL_NUMBER_MAX: u64 = 10;
/// A Kazakh stem keeps at least this many characters when suffixes are cut.
pub const KK_STEM_CHARS_MIN: usize = 3;
/// A Kazakh stem is cut to this many characters after its suffixes are removed: word-forming
/// suffixes not in the list still meet ("іздестіру" / "іздестірілуде").
pub const KK_STEM_CHARS_MAX: usize = 7;
/// Rounds of Kazakh suffix removal (plural, possessive, case: at most about three stack up).
pub const KK_SUFFIX_ROUNDS_MAX: usize = 4;

/// What [`analyse`] reads out of a text. Token and evidence values are 32-bit hashes of their
/// spelling ([`token_hash`]), sorted and unique.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextFeatures {
    pub tokens: Vec<u32>,
    pub evidence: Vec<u32>,
    /// Bits of [`Cue`]: kinds of wording that bring a new argument.
    pub cues: u16,
}

/// Kinds of wording with which an appeal brings something new (seed 004 p.2: new arguments,
/// circumstances or legal grounds). Present in a later appeal and absent from the earlier one,
/// they make it not a duplicate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub enum Cue {
    /// "прилагаю", "приобщить", "қоса беремін".
    Attachment = 1,
    /// "дополняю", "помимо", "қосымша".
    Supplement = 2,
    /// "не согласен", "обжалую", "келіспеймін".
    Disagreement = 4,
    /// "статья", "КоАП", "УК", "кодекс", "закон", "бап", "ӘҚБтК", "заң".
    LegalGround = 8,
    /// "выписка", "заключение", "справка", "үзінді", "анықтама".
    Document = 16,
    /// "запись", "видео", "фото", "скриншот", "жазба".
    Recording = 32,
    /// "выяснил", "установил", "нашёл", "анықтадым", "табылды". Not "обнаружил": "обнаружила
    /// пропажу" is how a theft report says when the theft was noticed.
    Discovery = 64,
}

/// FNV-1a 64 folded to 32 bits: a stable hash (the same on every machine and Rust version), so
/// stored fingerprints stay comparable.
pub fn token_hash(s: &str) -> u32 {
    let h = fnv1a64(s.as_bytes());
    (h ^ (h >> 32)) as u32
}

pub(super) fn fnv1a64(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h = OFFSET;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(PRIME);
    }
    h
}

/// Lowercase with `ё→е` (the Kazakh letters kept).
pub(super) fn lower(s: &str) -> String {
    s.chars()
        .flat_map(char::to_lowercase)
        .map(|c| if c == 'ё' { 'е' } else { c })
        .collect()
}

/// Lowercase Kazakh letters folded to Russian ones, and `э→е`: the form in which the two
/// languages' spellings of a name or a loan word meet ("Мұқанов" / "Муканов").
pub(super) fn fold(s: &str) -> String {
    s.chars()
        .map(|c| match fold_letter(c) {
            'э' => 'е',
            c => c,
        })
        .collect()
}

fn has_kazakh_letters(s: &str) -> bool {
    s.chars()
        .any(|c| matches!(c, 'ә' | 'ғ' | 'қ' | 'ң' | 'ө' | 'ұ' | 'ү' | 'һ' | 'і'))
}

/// The token form of a date: day and month ("d:12.3"); the year is not part of it, since a
/// repeat names the same day without it.
pub(super) fn date_token(day: u32, month: u32) -> String {
    format!("d:{day}.{month}")
}

pub(super) fn number_token(n: u64) -> String {
    format!("n:{n}")
}

/// A run of letters and digits; `.` and `:` between two digits stay inside it ("10.03.2026",
/// "18:00").
fn raw_tokens(text: &str) -> Vec<String> {
    let chars: Vec<char> = lower(text).chars().take(TEXT_CHARS_MAX).collect();
    let mut out = Vec::new();
    let mut cur = String::new();
    for (i, &c) in chars.iter().enumerate() {
        let joins_digits = matches!(c, '.' | ':')
            && i > 0
            && chars[i - 1].is_ascii_digit()
            && chars.get(i + 1).is_some_and(|n| n.is_ascii_digit());
        if c.is_alphanumeric() || joins_digits {
            cur.push(c);
        } else if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Month number of a month's name in Russian (any case) or Kazakh (any suffix), folded.
fn month_of(word: &str) -> Option<u32> {
    const MONTHS: &[(&str, u32)] = &[
        ("январ", 1),
        ("феврал", 2),
        ("март", 3),
        ("апрел", 4),
        ("мая", 5),
        ("май", 5),
        ("мае", 5),
        ("июн", 6),
        ("июл", 7),
        ("август", 8),
        ("сентябр", 9),
        ("октябр", 10),
        ("ноябр", 11),
        ("декабр", 12),
        ("кантар", 1),
        ("акпан", 2),
        ("наурыз", 3),
        ("сауир", 4),
        ("мамыр", 5),
        ("маусым", 6),
        ("шилде", 7),
        ("тамыз", 8),
        ("кыркуйек", 9),
        ("казан", 10),
        ("караша", 11),
        ("желтоксан", 12),
    ];
    let f = fold(word);
    MONTHS
        .iter()
        .find(|(p, _)| f.starts_with(p))
        .map(|&(_, m)| m)
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// A number's value without leading zeros, or `None` when it is too long for a u64 (then the
/// digits themselves are the token).
fn value(s: &str) -> Option<u64> {
    s.parse().ok()
}

/// Words with no content: function words and the formulas every appeal has ("прошу принять
/// меры", "сұраймын").
fn is_stopword(w: &str) -> bool {
    static SET: OnceLock<std::collections::HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| {
        const RU: &str = "и в во не на я с со что как а то все всё она так его но да ты к у же вы за бы по только ее мне было вот от меня еще нет о из ему теперь когда даже ну ли если уже или ни быть был него до вас опять уж вам ведь там потом себя ничего ей может они тут где есть надо ней для мы тебя их чем была сам чтоб без чего раз тоже себе под будет тогда кто этот того потому этого какой ним здесь этом один мой тем чтобы нее сейчас были куда всех никогда можно при об хоть после над больше тот через эти нас про всего них какая много эту моя свою этой перед том такой им более всегда всю между это мои моего моей моих мою мое свой своего своей которые который которая которую также прошу просим принять меры мер разобраться рассмотреть повторно снова вновь ещё уважаемый уважаемые здравствуйте заранее благодарю спасибо надеюсь вашу ваш ваше вас ранее";
        const KK: &str = "және мен сен ол біз сіз олар бұл сол осы де да та те ма ме ба бе па пе ғой ғана үшін бірақ немесе әлі жоқ бар еді екен деп деген туралы бойынша қатысты сияқты кейін соң дейін арқылы сұраймын сұраймыз өтінемін шара қолдану қолдануды қолдануларыңызды тиісті қайта тағы қайтадан құрметті рахмет алдын ала көмектесулеріңізге үміттенемін маған менің мені менде біздің оның бізге сізге";
        RU.split(' ').chain(KK.split(' ')).collect()
    })
    .contains(w)
}

/// Concepts shared by the two languages, keyed by the folded start of a word (a trailing `$`:
/// the whole word). They let a repeat written in the other language meet the original, and
/// synonyms within one language ("кража" / "украли" / "пропал").
const CONCEPTS: &[(&str, &str)] = &[
    ("сосед", "neighbour"),
    ("корши", "neighbour"),
    ("шум", "noise"),
    ("шу$", "noise"),
    ("шуы", "noise"),
    ("шул", "noise"),
    ("музык", "music"),
    ("ноч", "night"),
    ("тун", "night"),
    ("ребен", "child"),
    ("дет", "child"),
    ("бала", "child"),
    ("квартир", "flat"),
    ("патер", "flat"),
    ("мошен", "fraud"),
    ("алаяк", "fraud"),
    ("деньг", "money"),
    ("денег", "money"),
    ("акша", "money"),
    ("карт", "card"),
    ("банк", "bank"),
    ("краж", "theft"),
    ("укра", "theft"),
    ("похит", "theft"),
    ("похищ", "theft"),
    ("вытащ", "theft"),
    ("пропа", "theft"),
    ("урла", "theft"),
    ("уры", "theft"),
    ("машин", "car"),
    ("автомоб", "car"),
    ("колик", "car"),
    ("стекл", "window"),
    ("айнек", "window"),
    ("терезе", "window"),
    ("сумк", "bag"),
    ("сомке", "bag"),
    ("удостоверен", "identity_card"),
    ("куалик", "identity_card"),
    ("документ", "document"),
    ("кужат", "document"),
    ("потер", "lost"),
    ("утер", "lost"),
    ("утрат", "lost"),
    ("жогал", "lost"),
    ("справк", "certificate"),
    ("аныктам", "certificate"),
    ("школ", "school"),
    ("мектеп", "school"),
    ("водител", "driver"),
    ("жургизуш", "driver"),
    ("скорост", "speed"),
    ("жылдамд", "speed"),
    ("светофор", "traffic_light"),
    ("багдарш", "traffic_light"),
    ("переход", "crossing"),
    ("откел", "crossing"),
    ("камер", "camera"),
    ("бейнекамер", "camera"),
    ("инспектор", "inspector"),
    ("жетон", "badge"),
    ("груб", "rude"),
    ("дореки", "rude"),
    ("взятк", "bribe"),
    ("пара$", "bribe"),
    ("протокол", "protocol"),
    ("хаттама", "protocol"),
    ("проверк", "inspection"),
    ("тексер", "inspection"),
    ("сарай", "barn"),
    ("кора", "barn"),
    ("замок", "lock"),
    ("замк", "lock"),
    ("кулп", "lock"),
    ("овц", "sheep"),
    ("овец", "sheep"),
    ("подрост", "youth"),
    ("молодеж", "youth"),
    ("жасоспирим", "youth"),
    ("жастар", "youth"),
    ("подъез", "stairwell"),
    ("курят", "smoking"),
    ("курит", "smoking"),
    ("темеки", "smoking"),
    ("пив", "alcohol"),
    ("алкогол", "alcohol"),
    ("спиртн", "alcohol"),
    ("водк", "alcohol"),
    ("сыра", "alcohol"),
    ("арак", "alcohol"),
    ("мусор", "litter"),
    ("кокыс", "litter"),
    ("патрул", "patrol"),
    ("участков", "district_officer"),
    ("учаскелик", "district_officer"),
    ("коллектор", "collector"),
    ("долг", "debt"),
    ("карыз", "debt"),
    ("кредит", "loan"),
    ("займ", "loan"),
    ("несие", "loan"),
    ("угрож", "threat"),
    ("угроз", "threat"),
    ("коркыт", "threat"),
    ("оскорб", "insult"),
    ("мат$", "insult"),
    ("матом", "insult"),
    ("балагат", "insult"),
    ("бокта", "insult"),
    ("родствен", "relatives"),
    ("родн", "relatives"),
    ("туыс", "relatives"),
    ("звон", "call"),
    ("позвон", "call"),
    ("конырау", "call"),
    ("хабарлас", "call"),
    ("розыск", "search"),
    ("издестир", "search"),
    ("брат", "brother"),
    ("ини", "brother"),
    ("двор", "yard"),
    ("аула", "yard"),
    ("уголовн", "criminal_case"),
    ("кылмыстык", "criminal_case"),
    ("виновн", "culprit"),
    ("кинали", "culprit"),
    ("ответ", "answer"),
    ("жауап", "answer"),
    ("служебн", "official_inquiry"),
    ("кызметтик", "official_inquiry"),
    ("останов", "stop"),
    ("токтат", "stop"),
    ("телефон", "phone"),
];

/// New-argument wording, keyed like [`CONCEPTS`] (folded start of a word, `$`: the whole word).
const CUES: &[(&str, Cue)] = &[
    ("прилага", Cue::Attachment),
    ("приложен", Cue::Attachment),
    ("приобщ", Cue::Attachment),
    ("коса$", Cue::Attachment),
    ("дополня", Cue::Supplement),
    ("дополнен", Cue::Supplement),
    ("дополнительн", Cue::Supplement),
    ("помимо", Cue::Supplement),
    ("косымша", Cue::Supplement),
    ("обжал", Cue::Disagreement),
    ("несоглас", Cue::Disagreement),
    ("келиспе", Cue::Disagreement),
    ("стать", Cue::LegalGround),
    ("ст$", Cue::LegalGround),
    ("коап", Cue::LegalGround),
    ("ук$", Cue::LegalGround),
    ("кодекс", Cue::LegalGround),
    ("закон", Cue::LegalGround),
    ("бап$", Cue::LegalGround),
    ("бабы", Cue::LegalGround),
    ("бабына", Cue::LegalGround),
    ("акбтк", Cue::LegalGround),
    ("кк$", Cue::LegalGround),
    ("зан$", Cue::LegalGround),
    ("заны", Cue::LegalGround),
    ("выписк", Cue::Document),
    ("заключен", Cue::Document),
    ("справк", Cue::Document),
    ("узинди", Cue::Document),
    ("аныктам", Cue::Document),
    ("запис", Cue::Recording),
    ("видеозапис", Cue::Recording),
    ("скриншот", Cue::Recording),
    ("фото", Cue::Recording),
    ("жазба$", Cue::Recording),
    ("жазбасы", Cue::Recording),
    ("жазбаны", Cue::Recording),
    ("жазбалар", Cue::Recording),
    ("выяснил", Cue::Discovery),
    ("установил", Cue::Discovery),
    ("нашел", Cue::Discovery),
    ("нашла", Cue::Discovery),
    ("аныктад", Cue::Discovery),
    ("табылд", Cue::Discovery),
];

fn lookup<'a, T: Copy>(table: &'a [(&'a str, T)], folded: &str) -> impl Iterator<Item = T> + 'a {
    let folded = folded.to_string();
    table.iter().filter_map(move |&(key, v)| {
        let hit = match key.strip_suffix('$') {
            Some(whole) => folded == whole,
            None => folded.starts_with(key),
        };
        hit.then_some(v)
    })
}

fn russian_stemmer() -> &'static Stemmer {
    static STEMMER: OnceLock<Stemmer> = OnceLock::new();
    STEMMER.get_or_init(|| Stemmer::create(Algorithm::Russian))
}

/// Kazakh suffixes (plural, possessive, case, common verb endings), longest first.
pub fn kazakh_suffixes() -> &'static [&'static str] {
    static LIST: OnceLock<Vec<&'static str>> = OnceLock::new();
    LIST.get_or_init(|| {
        let mut v: Vec<&'static str> = "ларыңыз леріңіз дарыңыз деріңіз тарыңыз теріңіз ымыз іміз ыңыз іңіз лары лері дары дері тары тері лар лер дар дер тар тер ның нің дың дің тың тің ндағы ндегі дағы дегі тағы тегі нда нде дан ден тан тен нан нен мен бен пен ған ген қан кен ймын ймін мын мін йды йді ады еді уды уді уын уін ды ді ты ті ны ні да де та те ға ге қа ке на не ым ім ың ің сы сі ып іп мыз міз ңыз ңіз гі кі ғы қы у й ы і а е м ң н п"
            .split(' ')
            .collect();
        v.sort_by_key(|s| std::cmp::Reverse(s.chars().count()));
        v
    })
}

/// A light Kazakh stemmer: suffixes cut while at least [`KK_STEM_CHARS_MIN`] characters stay,
/// then the stem cut to [`KK_STEM_CHARS_MAX`]. Crude, but the same on both sides of a compare.
pub fn kazakh_stem(word: &str) -> String {
    let mut w: Vec<char> = word.chars().collect();
    for _ in 0..KK_SUFFIX_ROUNDS_MAX {
        let cut = kazakh_suffixes().iter().find_map(|suf| {
            let n = suf.chars().count();
            (w.len() >= n + KK_STEM_CHARS_MIN && w[w.len() - n..].iter().copied().eq(suf.chars()))
                .then_some(n)
        });
        match cut {
            Some(n) => w.truncate(w.len() - n),
            None => break,
        }
    }
    w.truncate(KK_STEM_CHARS_MAX);
    w.into_iter().collect()
}

/// Reads a text: see [`TextFeatures`]. Words are stemmed by the appeal's language (a word with
/// Kazakh letters always as Kazakh), then folded so that names meet across the languages.
pub fn analyse(text: &str, language: Language) -> TextFeatures {
    let raw = raw_tokens(text);
    let mut tokens: Vec<String> = Vec::new();
    let mut evidence: Vec<String> = Vec::new();
    let mut cues = 0u16;
    let mut i = 0;
    while i < raw.len() {
        let t = raw[i].as_str();
        let next = raw.get(i + 1).map(String::as_str);
        i += 1;
        if all_digits(t) {
            // "185 000": a group of three digits after a short number continues it.
            let mut digits = t.to_string();
            while digits.len() <= 6 {
                match raw.get(i) {
                    Some(g) if g.len() == 3 && all_digits(g) && digits.len() <= 3 => {
                        digits.push_str(g);
                        i += 1;
                    }
                    _ => break,
                }
            }
            let n = value(&digits);
            let next = raw.get(i).map(String::as_str);
            if let (Some(day @ 1..=31), Some(m)) = (n, next.and_then(month_of)) {
                i += 1;
                let tok = date_token(day as u32, m);
                evidence.push(tok.clone());
                tokens.push(tok);
                continue;
            }
            let n = match (n, next) {
                (Some(n), Some(w)) if w.starts_with("тыс") || w == "мың" => {
                    i += 1;
                    Some(n.saturating_mul(1000))
                }
                (n, _) => n,
            };
            let tok = match n {
                Some(n) => number_token(n),
                None => format!("n:{}", digits.trim_start_matches('0')),
            };
            if n.is_none_or(|n| n > SMALL_NUMBER_MAX) {
                evidence.push(tok.clone());
            }
            tokens.push(tok);
            continue;
        }
        if t.contains('.') || t.contains(':') {
            let parts: Vec<&str> = t.split(['.', ':']).collect();
            let nums: Vec<Option<u64>> = parts.iter().map(|p| value(p)).collect();
            let is_date = t.contains('.')
                && (2..=3).contains(&parts.len())
                && matches!(nums[0], Some(1..=31))
                && matches!(nums[1], Some(1..=12));
            if is_date {
                let tok = date_token(nums[0].unwrap_or(0) as u32, nums[1].unwrap_or(0) as u32);
                evidence.push(tok.clone());
                tokens.push(tok);
                if let Some(Some(y)) = nums.get(2) {
                    tokens.push(number_token(*y));
                }
            } else {
                // A time ("18:00") or a decimal: its first part is what a rewording keeps.
                if let Some(Some(n)) = nums.first() {
                    let tok = number_token(*n);
                    if *n > SMALL_NUMBER_MAX {
                        evidence.push(tok.clone());
                    }
                    tokens.push(tok);
                }
            }
            continue;
        }
        if t.chars().any(|c| c.is_ascii_digit()) {
            // A code: a car plate, an IMEI with letters, "123abc02".
            let tok = format!("x:{}", fold(t));
            evidence.push(tok.clone());
            tokens.push(tok);
            continue;
        }
        let folded = fold(t);
        // "не согласен" is one cue written as two words.
        let cue_word = if t == "не" {
            next.map(|n| format!("не{}", fold(n)))
        } else {
            None
        };
        for cue in lookup(CUES, cue_word.as_deref().unwrap_or(&folded)) {
            cues |= cue as u16;
        }
        for concept in lookup(CONCEPTS, &folded) {
            tokens.push(format!("c:{concept}"));
        }
        if is_stopword(t) || t.chars().count() < WORD_CHARS_MIN {
            continue;
        }
        let stem = if language == Language::Kk || has_kazakh_letters(t) {
            kazakh_stem(t)
        } else {
            russian_stemmer().stem(t).into_owned()
        };
        tokens.push(format!("w:{}", fold(&stem)));
    }
    TextFeatures {
        tokens: hashed_set(tokens, TOKENS_MAX),
        evidence: hashed_set(evidence, TOKENS_MAX),
        cues,
    }
}

/// Hashes of the first `max` distinct strings, sorted.
fn hashed_set(items: Vec<String>, max: usize) -> Vec<u32> {
    let mut seen = std::collections::HashSet::new();
    let mut out: Vec<u32> = items
        .iter()
        .filter(|s| seen.insert(s.as_str()))
        .take(max)
        .map(|s| token_hash(s))
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn has(f: &TextFeatures, tok: &str) -> bool {
        f.tokens.binary_search(&token_hash(tok)).is_ok()
    }

    #[test]
    fn duplicates_text_dates_in_both_spellings_and_both_languages_meet() {
        for text in ["10 марта", "10.03.2026", "10.03", "10 наурызда"] {
            let f = analyse(text, Language::Ru);
            assert!(has(&f, "d:10.3"), "{text}");
            assert!(f.evidence.contains(&token_hash("d:10.3")), "{text}");
        }
    }

    #[test]
    fn duplicates_text_amounts_in_thousands_meet() {
        for text in [
            "185 000 тенге",
            "185 тысяч тенге",
            "185000 теңге",
            "185 мың теңге",
        ] {
            let f = analyse(text, Language::Ru);
            assert!(has(&f, "n:185000"), "{text}");
        }
    }

    #[test]
    fn duplicates_text_small_numbers_and_times_are_not_evidence_of_new_facts() {
        let f = analyse("до 3 часов", Language::Ru);
        assert!(f.evidence.is_empty());
        let f = analyse("в 18:00", Language::Ru);
        assert_eq!(f.evidence, vec![token_hash("n:18")]);
    }

    #[test]
    fn duplicates_text_russian_words_are_stemmed_and_kazakh_suffixes_cut() {
        let a = analyse("Соседи из квартиры", Language::Ru);
        let b = analyse("соседей, квартиру", Language::Ru);
        assert_eq!(a.tokens, b.tokens);
        assert_eq!(kazakh_stem("көршілерімнің"), kazakh_stem("көршілер"));
        assert_eq!(kazakh_stem("қорадан"), kazakh_stem("қора"));
    }

    #[test]
    fn duplicates_text_concepts_join_the_languages() {
        let ru = analyse("мошенники украли деньги", Language::Ru);
        let kk = analyse("алаяқтар ақшамды ұрлады", Language::Kk);
        for c in ["c:fraud", "c:theft", "c:money"] {
            assert!(has(&ru, c) && has(&kk, c), "{c}");
        }
    }

    #[test]
    fn duplicates_text_new_argument_wording_is_flagged() {
        assert_eq!(
            analyse("Не согласен с ответом", Language::Ru).cues,
            Cue::Disagreement as u16
        );
        assert_ne!(analyse("Прилагаю выписку банка", Language::Ru).cues, 0);
        assert_ne!(
            analyse("ҚК-нің 115-бабы бойынша", Language::Kk).cues & Cue::LegalGround as u16,
            0
        );
        assert_eq!(analyse("Жауапты жазбаша жіберіңіз", Language::Kk).cues, 0);
    }
}
