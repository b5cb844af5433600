//! The urgency classifier of citizens' text messages (R05: emergencies first): a message that
//! reports an offence in progress or a danger to life opens a "102" card by itself.
//!
//! Deterministic and explainable: the text is lower-cased (`ё` read as `е`), cut into words, and
//! compared with a table of word stems in Kazakh and Russian, each naming the call category it
//! suggests and whether it is urgent. A stem matches a word that starts with it; a phrase of
//! several stems matches consecutive words. The category is given only when the region's
//! reference has it.

use serde::{Deserialize, Serialize};

/// One entry of the table: the stems of consecutive words, the category, whether it is urgent.
struct Keyword {
    stems: &'static [&'static str],
    category: Option<&'static str>,
    urgent: bool,
}

const fn kw(
    stems: &'static [&'static str],
    category: Option<&'static str>,
    urgent: bool,
) -> Keyword {
    Keyword {
        stems,
        category,
        urgent,
    }
}

/// Urgent keywords first: the first match names the category.
const KEYWORDS: &[Keyword] = &[
    // Russian: weapons, violence, danger to life.
    kw(&["стреля"], Some("assault"), true),
    kw(&["стрельб"], Some("assault"), true),
    kw(&["выстрел"], Some("assault"), true),
    kw(&["нож"], Some("assault"), true),
    kw(&["зарезал"], Some("assault"), true),
    kw(&["режут"], Some("assault"), true),
    kw(&["пистолет"], Some("assault"), true),
    kw(&["оружи"], Some("assault"), true),
    kw(&["убива"], Some("assault"), true),
    kw(&["убил"], Some("assault"), true),
    kw(&["убьют"], Some("assault"), true),
    kw(&["избива"], Some("assault"), true),
    kw(&["бьют"], Some("assault"), true),
    kw(&["драк"], Some("assault"), true),
    kw(&["напал"], Some("assault"), true),
    kw(&["насил"], Some("assault"), true),
    kw(&["изнасил"], Some("assault"), true),
    kw(&["ранен"], Some("assault"), true),
    kw(&["кровь"], Some("assault"), true),
    kw(&["заложник"], Some("assault"), true),
    kw(&["угрожа"], Some("assault"), true),
    kw(&["граб"], Some("robbery"), true),
    kw(&["ограб"], Some("robbery"), true),
    kw(&["разбо"], Some("robbery"), true),
    kw(&["дтп"], Some("traffic_accident"), true),
    kw(&["авари"], Some("traffic_accident"), true),
    kw(&["сбил"], Some("traffic_accident"), true),
    kw(&["пожар"], None, true),
    kw(&["горит"], None, true),
    kw(&["помогите"], None, true),
    kw(&["спасите"], None, true),
    kw(&["похити"], Some("missing_person"), true),
    kw(&["похищ"], Some("missing_person"), true),
    // Kazakh.
    kw(&["пышақ"], Some("assault"), true),
    kw(&["атып", "жатыр"], Some("assault"), true),
    kw(&["атыс"], Some("assault"), true),
    kw(&["мылтық"], Some("assault"), true),
    kw(&["қару"], Some("assault"), true),
    kw(&["өлтір"], Some("assault"), true),
    kw(&["ұрып"], Some("assault"), true),
    kw(&["соғып", "жатыр"], Some("assault"), true),
    kw(&["төбелес"], Some("assault"), true),
    kw(&["шабуыл"], Some("assault"), true),
    kw(&["зорла"], Some("assault"), true),
    kw(&["қорқыт"], Some("assault"), true),
    kw(&["жарала"], Some("assault"), true),
    kw(&["тонап"], Some("robbery"), true),
    kw(&["тонау"], Some("robbery"), true),
    kw(&["қарақшы"], Some("robbery"), true),
    kw(&["жол", "апат"], Some("traffic_accident"), true),
    kw(&["апат"], Some("traffic_accident"), true),
    kw(&["өрт"], None, true),
    kw(&["жанып", "жатыр"], None, true),
    kw(&["құтқар"], None, true),
    kw(&["көмектесіңдер"], None, true),
    kw(&["ұрлап", "әкет"], Some("missing_person"), true),
    // Not urgent: the category only.
    kw(&["украл"], Some("theft"), false),
    kw(&["краж"], Some("theft"), false),
    kw(&["ұрла"], Some("theft"), false),
    kw(&["мошен"], Some("fraud"), false),
    kw(&["алаяқ"], Some("fraud"), false),
    kw(&["пропал"], Some("missing_person"), false),
    kw(&["жоғалып"], Some("missing_person"), false),
    kw(&["шум"], Some("noise"), false),
    kw(&["шулат"], Some("noise"), false),
    kw(&["скандал"], Some("domestic"), false),
    kw(&["жанжал"], Some("domestic"), false),
];

/// What the classifier found in a text.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Classification {
    /// The text reports an offence in progress or a danger to life: a card opens by itself.
    pub urgent: bool,
    /// The call category suggested (one of the region's), if any.
    pub category: Option<String>,
    /// The words that matched, as written in the text (lower-case), for the operator to see why.
    pub matched: Vec<String>,
}

/// The words of `text`, lower-case, `ё` read as `е`.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase().replace('ё', "е"))
        .collect()
}

/// Classifies `text`; `categories` are the codes of the region's call categories.
pub fn classify<'a>(text: &str, categories: impl IntoIterator<Item = &'a str>) -> Classification {
    let categories: Vec<&str> = categories.into_iter().collect();
    let words = words(text);
    let mut out = Classification::default();
    for k in KEYWORDS {
        let n = k.stems.len();
        if words.len() < n {
            continue;
        }
        let hit = (0..=words.len() - n).find(|&at| {
            k.stems
                .iter()
                .zip(&words[at..at + n])
                .all(|(stem, word)| word.starts_with(stem))
        });
        let Some(at) = hit else { continue };
        out.matched.push(words[at..at + n].join(" "));
        out.urgent |= k.urgent;
        if out.category.is_none() {
            if let Some(c) = k.category.filter(|c| categories.contains(c)) {
                out.category = Some(c.to_string());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const CATS: &[&str] = &[
        "assault",
        "robbery",
        "traffic_accident",
        "domestic",
        "theft",
        "missing_person",
        "noise",
        "fraud",
    ];

    fn c(text: &str) -> Classification {
        classify(text, CATS.iter().copied())
    }

    #[test]
    fn r05_russian_reports_of_violence_and_danger_are_urgent() {
        for (text, cat) in [
            (
                "У подъезда мужчина с НОЖОМ кидается на людей",
                Some("assault"),
            ),
            ("во дворе стреляют!!!", Some("assault")),
            ("Соседи дерутся, драка, кровь", Some("assault")),
            ("Грабят магазин на Абая 10", Some("robbery")),
            (
                "дтп на перекрёстке, человек лежит",
                Some("traffic_accident"),
            ),
            ("Пожар в подвале, дым", None),
        ] {
            let got = c(text);
            assert!(got.urgent, "{text}: {got:?}");
            assert_eq!(got.category.as_deref(), cat, "{text}: {got:?}");
            assert!(!got.matched.is_empty());
        }
    }

    #[test]
    fn r05_kazakh_reports_of_violence_and_danger_are_urgent() {
        for (text, cat) in [
            ("Подъезде біреу пышақпен жүр", Some("assault")),
            ("Аулада атып жатыр, тез келіңіздер", Some("assault")),
            ("Дүкенді тонап жатыр", Some("robbery")),
            ("Үйде өрт шықты", None),
            ("Жол апаты болды, көлік аударылды", Some("traffic_accident")),
        ] {
            let got = c(text);
            assert!(got.urgent, "{text}: {got:?}");
            assert_eq!(got.category.as_deref(), cat, "{text}: {got:?}");
        }
    }

    #[test]
    fn r05_questions_and_old_offences_are_not_urgent() {
        for (text, cat) in [
            ("Здравствуйте, как получить справку о несудимости?", None),
            ("Вчера украли велосипед из подъезда", Some("theft")),
            ("Мне звонили мошенники, представились банком", Some("fraud")),
            ("Соседи шумят каждую ночь", Some("noise")),
            ("Сәлеметсіз бе, жеке куәлікті қалай алуға болады?", None),
            ("Телефонымды ұрлап кетті кеше", Some("theft")),
        ] {
            let got = c(text);
            assert!(!got.urgent, "{text}: {got:?}");
            assert_eq!(got.category.as_deref(), cat, "{text}: {got:?}");
        }
    }

    #[test]
    fn a_category_the_region_lacks_is_not_suggested() {
        let got = classify("стреляют", ["noise"]);
        assert!(got.urgent);
        assert_eq!(got.category, None);
        assert!(!classify("", CATS.iter().copied()).urgent);
    }
}
