//! The HQ dashboard's report 1-ОЛ page (`assets/dashboard/report_1ol.js`) writes section 5's
//! headings from its texts (`assets/dashboard/i18n.js`): they must be the seed's headings as the
//! reports and exports write them (`sync::report_1ol::headings`), in both languages, and in the
//! seed's column order.

use sync::report_1ol::headings::{
    Text, COLUMNS, REPORT_TITLE, ROW_NAMES, SECTION5_TITLE, TOTAL_ROW,
};

const I18N: &str = include_str!("../assets/dashboard/i18n.js");
const PAGE: &str = include_str!("../assets/dashboard/report_1ol.js");

/// The (ru, kk) dictionaries of i18n.js: the text between `ru: {` and `kk: {`, and after.
fn dictionaries() -> (&'static str, &'static str) {
    let kk_at = I18N.find("\n  kk: {").expect("i18n.js has a kk dictionary");
    (&I18N[..kk_at], &I18N[kk_at..])
}

fn assert_text(key: &str, text: Text) {
    let (ru, kk) = dictionaries();
    let entry = |s: &str| format!("'{key}': '{s}'");
    assert!(
        ru.contains(&entry(text.ru)),
        "ru {key} is not the seed's «{}»",
        text.ru
    );
    assert!(
        kk.contains(&entry(text.kk)),
        "kk {key} is not «{}»",
        text.kk
    );
}

#[test]
fn r32_the_hq_page_shows_the_seed_headings_of_section_5_in_both_languages() {
    assert_text("r1ol.title", REPORT_TITLE);
    assert_text("r1ol.section5", SECTION5_TITLE);
    assert_text("r1ol.rows", ROW_NAMES);
    assert_text("r1ol.total", TOTAL_ROW);
    for c in COLUMNS {
        assert_text(&format!("r1ol.col.{}", c.key), c.title);
    }
    // The groups above the columns, and the columns in the seed's order on the page.
    let (ru, _) = dictionaries();
    let mut at = 0;
    for c in COLUMNS {
        if let Some(g) = c.group {
            assert!(ru.contains(&format!(": '{}'", g.ru)), "group «{}»", g.ru);
        }
        let found = PAGE[at..]
            .find(&format!("['{}',", c.key))
            .unwrap_or_else(|| {
                panic!(
                    "column {} is not in the page's COLUMNS in the seed's order",
                    c.key
                )
            });
        at += found;
    }
}
