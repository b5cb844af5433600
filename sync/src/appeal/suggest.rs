//! What the system suggests to the registrar, who decides (never the system alone): the
//! service by competence (R11, R13), whether the text shows signs of a crime (R14, R33), and
//! whether a question is outside the police's competence (R15).

use crate::reference::Reference;

/// Word stems that suggest a criminal offence or a threat to public security, Russian and
/// Kazakh, matched at the start of a word.
pub const CRIME_SIGN_STEMS: &[&str] = &[
    // Russian
    "украл",
    "украд",
    "краж",
    "похит",
    "хищен",
    "ограб",
    "грабе",
    "разбо",
    "мошенн",
    "обман",
    "избил",
    "избие",
    "побо",
    "ударил",
    "угрож",
    "угроз",
    "убий",
    "убит",
    "изнасил",
    "наркот",
    "взятк",
    "вымога",
    "поджог",
    "подожг",
    "оружи",
    "нож",
    "стрел",
    "похищ",
    "пропал",
    "насили",
    "террор",
    "взрыв",
    // Kazakh
    "ұрла",
    "ұрлық",
    "тонал",
    "тонау",
    "алаяқ",
    "алдап",
    "соқты",
    "ұрып",
    "қорқыт",
    "өлтір",
    "есірткі",
    "бопсал",
    "өртеп",
    "қару",
    "пышақ",
    "атыс",
    "жоғалып",
    "зорлық",
    "террор",
    "жарылыс",
];

/// Lower-case words of a text (letters and digits), for matching stems and tags.
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase().replace('ё', "е"))
        .collect()
}

/// Whether the text (or the tags) suggests signs of a crime. A suggestion: the registrar or the
/// manager flags it.
pub fn crime_signs(text: &str, tags: &[String]) -> bool {
    let ws = words(text);
    let tag_words: Vec<String> = tags.iter().flat_map(|t| words(t)).collect();
    ws.iter()
        .chain(tag_words.iter())
        .any(|w| CRIME_SIGN_STEMS.iter().any(|s| w.starts_with(s)))
}

/// How many of `tags` (each one or more words) occur in `ws`: a multi-word tag counts when all
/// its words start words of the text.
fn tag_hits(ws: &[String], tags: &[String]) -> usize {
    tags.iter()
        .filter(|t| {
            let parts = words(t);
            !parts.is_empty()
                && parts.iter().all(|p| {
                    ws.iter().any(|w| {
                        w.starts_with(p.as_str())
                            || p.starts_with(w.as_str()) && w.chars().count() >= 5
                    })
                })
        })
        .count()
}

/// The service whose competence best matches the text and tags (R11): most key-word hits; a
/// text with signs of a crime goes to the crime-reports service on a tie or when nothing
/// matches. `None` when the region has no services.
pub fn service(reference: &Reference, text: &str, tags: &[String]) -> Option<String> {
    let mut ws = words(text);
    ws.extend(tags.iter().flat_map(|t| words(t)));
    let crime = crime_signs(text, tags);
    let mut best: Option<(usize, bool, &str)> = None;
    for s in &reference.services {
        let key = (
            tag_hits(&ws, &s.tags),
            crime && s.crime_reports,
            s.code.as_str(),
        );
        let better = match best {
            None => true,
            Some((h, c, _)) => (key.0, key.1) > (h, c),
        };
        if better {
            best = Some(key);
        }
    }
    best.map(|(_, _, code)| code.to_string())
}

/// An external competent body the text's key words point to, with no police service matching
/// better (R15: the registrar or manager decides).
pub fn outside_body(reference: &Reference, text: &str, tags: &[String]) -> Option<String> {
    let mut ws = words(text);
    ws.extend(tags.iter().flat_map(|t| words(t)));
    let police_best = reference
        .services
        .iter()
        .map(|s| tag_hits(&ws, &s.tags))
        .max()
        .unwrap_or(0);
    reference
        .external_bodies
        .iter()
        .map(|b| (tag_hits(&ws, &b.tags), b.code.as_str()))
        .filter(|(h, _)| *h > police_best)
        .max_by_key(|(h, _)| *h)
        .map(|(_, c)| c.to_string())
}
