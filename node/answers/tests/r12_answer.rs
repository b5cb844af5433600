//! R12: the answer letter as DOCX, opened the way a reader would (unzip, read the XML), and by
//! LibreOffice.

use std::io::{Cursor, Read};

use answers::{
    preview_text, render_docx, validate, AnswerError, AnswerImage, AnswerInput, AnswerTable,
    Applicant, Decision, Lang, Person, IMAGES_MAX, IMAGE_BYTES_MAX, PARAGRAPHS_MAX,
    PARAGRAPH_CHARS_MAX, TABLE_COLS_MAX, TABLE_ROWS_MAX,
};

const JPEG: &[u8] = include_bytes!("fixtures/scene.jpg");
const JPEG_PROGRESSIVE: &[u8] = include_bytes!("fixtures/scene_progressive.jpg");
const PNG: &[u8] = include_bytes!("fixtures/tiny.png");

const APPLICANT: &str = "Сейткали Айгерим Нурлановна";
const BODY_KK: &str = "Астана қаласының әкімдігі";
const BODY_RU: &str = "Акимат города Астаны";

fn input(language: Lang, decision: Decision) -> AnswerInput {
    let kk = language == Lang::Kk;
    AnswerInput {
        language,
        decision,
        authority: if kk { "Астана қаласының ПД" } else { "ДП города Астаны" }.into(),
        applicant: Applicant {
            name: APPLICANT.into(),
            address: Some(
                if kk {
                    "Астана қ., Абай даңғылы, 10-үй, 25-пәтер"
                } else {
                    "г. Астана, пр. Абая, д. 10, кв. 25"
                }
                .into(),
            ),
        },
        appeal_number: "AST-2026-000123".into(),
        appeal_date: "2026-03-10".into(),
        registered_at: "2026-03-11".into(),
        paragraphs: vec![if kk {
            "Өтінішіңізде көрсетілген мекенжай бойынша учаскелік полиция инспекторы тексеру жүргізді."
        } else {
            "По указанному в обращении адресу участковым инспектором полиции проведена проверка."
        }
        .into()],
        table: None,
        images: vec![],
        competent_body: decision
            .needs_competent_body()
            .then(|| if kk { BODY_KK } else { BODY_RU }.into()),
        officer: Person {
            name: "Жумабеков Ерлан Маратович".into(),
            position: if kk {
                "полиция аға лейтенанты"
            } else {
                "старший лейтенант полиции"
            }
            .into(),
            phone: Some("+7 7172 00-00-00".into()),
        },
        signer: Person {
            name: "А. Б. Сериков".into(),
            position: if kk { "Басқарма бастығы" } else { "Начальник управления" }.into(),
            phone: None,
        },
        answer_date: "2026-03-20".into(),
        outgoing_number: Some("3Т-1/245".into()),
    }
}

fn table() -> AnswerTable {
    AnswerTable {
        header: vec!["Дата".into(), "Принятая мера".into()],
        rows: vec![
            vec!["12.03.2026".into(), "Составлен протокол".into()],
            vec!["14.03.2026".into(), "Вынесено предписание".into()],
        ],
    }
}

fn jpeg(bytes: &[u8], caption: &str) -> AnswerImage {
    AnswerImage {
        bytes: bytes.to_vec(),
        caption: caption.into(),
    }
}

fn unzip(docx: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut a = zip::ZipArchive::new(Cursor::new(docx)).expect("the DOCX is a zip");
    (0..a.len())
        .map(|i| {
            let mut f = a.by_index(i).unwrap();
            let mut b = Vec::new();
            f.read_to_end(&mut b).unwrap();
            (f.name().expect("a UTF-8 name").to_string(), b)
        })
        .collect()
}

fn part(docx: &[u8], name: &str) -> String {
    let (_, b) = unzip(docx)
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no {name} in the package"));
    String::from_utf8(b).unwrap()
}

/// The opening tags `<name ...>` of an element in the XML.
fn tags<'a>(xml: &'a str, name: &str) -> Vec<&'a str> {
    let open = format!("<{name} ");
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        let end = rest[i..].find('>').unwrap() + i;
        out.push(&rest[i..=end]);
        rest = &rest[end..];
    }
    out
}

fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(" {name}=\"");
    let i = tag.find(&key)? + key.len();
    Some(&tag[i..i + tag[i..].find('"')?])
}

/// The text of the document: the `w:t` contents, unescaped, one paragraph a line.
fn document_text(docx: &[u8]) -> String {
    let xml = part(docx, "word/document.xml");
    let mut out = String::new();
    for para in xml.split("</w:p>") {
        let mut rest = para;
        loop {
            let next = [rest.find("<w:t>"), rest.find("<w:t ")]
                .into_iter()
                .flatten()
                .min();
            let Some(i) = next else { break };
            let start = rest[i..].find('>').unwrap() + i + 1;
            if rest[i..start].ends_with("/>") {
                rest = &rest[start..];
                continue;
            }
            let end = rest[start..].find("</w:t>").unwrap() + start;
            out.push_str(
                &rest[start..end]
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&quot;", "\"")
                    .replace("&apos;", "'")
                    .replace("&amp;", "&"),
            );
            rest = &rest[end..];
        }
        out.push('\n');
    }
    out
}

fn render(i: &AnswerInput) -> Vec<u8> {
    render_docx(i).unwrap_or_else(|e| panic!("render failed: {} {:?}", e.code(), e.field()))
}

fn error(i: &AnswerInput) -> (String, Option<String>) {
    let e: AnswerError = render_docx(i).expect_err("an error");
    assert_eq!(validate(i), Err(e.clone()));
    (e.code().to_string(), e.field().map(String::from))
}

fn full(language: Lang, decision: Decision) -> AnswerInput {
    let mut i = input(language, decision);
    i.table = Some(table());
    i.images = vec![jpeg(JPEG, "Место происшествия"), jpeg(JPEG_PROGRESSIVE, "")];
    i
}

#[test]
fn r12_every_run_is_times_new_roman_14_in_the_language_of_the_appeal() {
    for (lang, tag) in [(Lang::Kk, "kk-KZ"), (Lang::Ru, "ru-RU")] {
        let docx = render(&full(lang, Decision::Refused));
        let xml = part(&docx, "word/document.xml");
        let runs: Vec<&str> = xml.split("<w:r>").skip(1).collect();
        assert!(runs.len() > 15, "{} runs", runs.len());
        for r in &runs {
            let props = r
                .strip_prefix("<w:rPr>")
                .and_then(|p| p.split("</w:rPr>").next())
                .unwrap_or_else(|| panic!("a run without properties: {r}"));
            assert!(props.contains(r#"<w:sz w:val="28"/>"#), "{props}");
            assert!(props.contains(r#"<w:szCs w:val="28"/>"#), "{props}");
            assert!(props.contains("<w:rFonts "), "{props}");
            assert!(
                props.contains(&format!(r#"<w:lang w:val="{tag}"/>"#)),
                "{props}"
            );
        }
        let fonts = tags(&xml, "w:rFonts");
        assert!(fonts.len() >= runs.len());
        for f in fonts {
            for a in ["w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"] {
                assert_eq!(attr(f, a), Some("Times New Roman"), "{a} in {f}");
            }
        }
        for s in tags(&xml, "w:sz").into_iter().chain(tags(&xml, "w:szCs")) {
            assert_eq!(attr(s, "w:val"), Some("28"), "{s}");
        }
        let langs = tags(&xml, "w:lang");
        assert_eq!(langs.len(), xml.matches("<w:rPr>").count());
        assert!(langs.iter().all(|l| attr(l, "w:val") == Some(tag)));

        // The document defaults say the same.
        let styles = part(&docx, "word/styles.xml");
        let defaults = styles
            .split("<w:rPrDefault>")
            .nth(1)
            .and_then(|d| d.split("</w:rPrDefault>").next())
            .expect("rPrDefault");
        assert!(defaults.contains(r#"<w:sz w:val="28"/>"#), "{defaults}");
        assert!(defaults.contains(r#"<w:szCs w:val="28"/>"#), "{defaults}");
        assert!(defaults.contains(&format!(r#"<w:lang w:val="{tag}"/>"#)));
        let f = tags(defaults, "w:rFonts")[0];
        for a in ["w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"] {
            assert_eq!(attr(f, a), Some("Times New Roman"), "{a} in {f}");
        }
        assert!(tags(&styles, "w:lang")
            .iter()
            .all(|l| attr(l, "w:val") == Some(tag)));
    }
}

#[test]
fn r12_the_table_is_a_word_table() {
    let docx = render(&full(Lang::Ru, Decision::Explained));
    let xml = part(&docx, "word/document.xml");
    assert_eq!(xml.matches("<w:tbl>").count(), 1);
    let tbl = xml
        .split("<w:tbl>")
        .nth(1)
        .unwrap()
        .split("</w:tbl>")
        .next()
        .unwrap();
    assert_eq!(tbl.matches("<w:tr>").count(), 3);
    assert_eq!(tbl.matches("<w:tc>").count(), 6);
    for cell in ["Принятая мера", "14.03.2026", "Вынесено предписание"]
    {
        assert!(tbl.contains(cell), "{cell}");
    }
    let plain = render(&input(Lang::Ru, Decision::Explained));
    assert!(!part(&plain, "word/document.xml").contains("<w:tbl>"));
}

#[test]
fn r12_jpeg_images_are_stored_byte_identical() {
    let docx = render(&full(Lang::Kk, Decision::Satisfied));
    let media: Vec<(String, Vec<u8>)> = unzip(&docx)
        .into_iter()
        .filter(|(n, _)| n.starts_with("word/media/"))
        .collect();
    assert_eq!(
        media.len(),
        2,
        "{:?}",
        media.iter().map(|m| &m.0).collect::<Vec<_>>()
    );
    assert_eq!(media[0].1, JPEG, "{} differs from the fixture", media[0].0);
    assert_eq!(media[1].1, JPEG_PROGRESSIVE, "{} differs", media[1].0);
    let rels = part(&docx, "word/_rels/document.xml.rels");
    let types = part(&docx, "[Content_Types].xml");
    assert!(
        types.contains(r#"ContentType="image/jpeg" Extension="jpeg""#)
            || types.contains(r#"Extension="jpeg" ContentType="image/jpeg""#)
    );
    let xml = part(&docx, "word/document.xml");
    for (name, _) in &media {
        assert!(name.ends_with(".jpeg"), "{name}");
        let target = name.strip_prefix("word/").unwrap();
        assert!(rels.contains(&format!("Target=\"{target}\"")), "{rels}");
    }
    assert_eq!(xml.matches("<a:blip r:embed=").count(), 2);
    let text = document_text(&docx);
    assert!(text.contains("Сурет 1. Место происшествия"), "{text}");
    assert!(text.contains("Сурет 2\n"), "{text}");
}

#[test]
fn r12_a_png_or_garbage_labelled_as_jpeg_is_an_error_not_a_panic() {
    let with = |bytes: &[u8]| {
        let mut i = input(Lang::Ru, Decision::Explained);
        i.images = vec![jpeg(JPEG, "ok"), jpeg(bytes, "x")];
        error(&i)
    };
    let field = Some("images[1].bytes".to_string());
    assert_eq!(with(PNG), ("image_not_jpeg".into(), field.clone()));
    assert_eq!(
        with(b"GIF89a not really"),
        ("image_not_jpeg".into(), field.clone())
    );
    assert_eq!(with(b""), ("image_not_jpeg".into(), field.clone()));
    assert_eq!(
        with(&JPEG[..JPEG.len() / 2]),
        ("image_corrupt".into(), field.clone())
    );
    let mut scrambled = JPEG.to_vec();
    scrambled[4] = 0xFF; // the first segment's length now runs past the end
    scrambled[5] = 0xFF;
    assert_eq!(with(&scrambled), ("image_corrupt".into(), field.clone()));
    let mut big = JPEG.to_vec();
    big.resize(IMAGE_BYTES_MAX + 1, 0);
    assert_eq!(with(&big), ("image_too_large".into(), field));
    let mut many = input(Lang::Ru, Decision::Explained);
    many.images = vec![jpeg(JPEG, ""); IMAGES_MAX + 1];
    assert_eq!(error(&many), ("too_many".into(), Some("images".into())));
}

#[test]
fn r12_the_answer_is_in_the_first_person() {
    for d in Decision::ALL {
        let kk = document_text(&render(&input(Lang::Kk, d)));
        assert!(kk.contains("мынаны хабарлаймын"), "{kk}");
        let ru = document_text(&render(&input(Lang::Ru, d)));
        assert!(ru.contains("сообщаю следующее"), "{ru}");
    }
}

#[test]
fn r12_each_decision_renders_in_each_language_without_placeholders() {
    let expected = |lang, d| match (lang, d) {
        (Lang::Ru, Decision::Satisfied) => "Ваше обращение удовлетворено",
        (Lang::Ru, Decision::Explained) => "даны разъяснения",
        (Lang::Ru, Decision::Refused) => "отказано",
        (Lang::Ru, Decision::Redirected) => "направлено в указанное подразделение",
        (Lang::Ru, Decision::OutsideCompetence) => "не входит в компетенцию",
        (Lang::Kk, Decision::Satisfied) => "өтінішіңіз қанағаттандырылды",
        (Lang::Kk, Decision::Explained) => "түсініктеме берілді",
        (Lang::Kk, Decision::Refused) => "бас тартылды",
        (Lang::Kk, Decision::Redirected) => "аталған бөлімшеге жіберілді",
        (Lang::Kk, Decision::OutsideCompetence) => "құзыретіне кірмейді",
    };
    for lang in [Lang::Kk, Lang::Ru] {
        for d in Decision::ALL {
            for i in [input(lang, d), full(lang, d)] {
                let docx = render(&i);
                let text = document_text(&docx);
                let preview = preview_text(&i);
                assert!(text.contains(expected(lang, d)), "{lang:?} {d:?}: {text}");
                for t in [&text, &preview] {
                    assert!(!t.contains('{') && !t.contains('}'), "{lang:?} {d:?}: {t}");
                    assert!(t.contains(APPLICANT));
                    assert!(t.contains("AST-2026-000123"));
                    assert!(t.contains("Жумабеков Ерлан Маратович"));
                    assert!(t.contains("А. Б. Сериков"));
                }
                // The preview is the same text (the table and the images aside).
                assert!(preview.contains(expected(lang, d)));
                assert!(!part(&docx, "word/document.xml").contains('{'));
            }
        }
    }
}

#[test]
fn r12_dates_are_written_in_the_language_of_the_answer() {
    let kk = document_text(&render(&input(Lang::Kk, Decision::Explained)));
    assert!(kk.contains("Сіздің 2026 жылғы 10 наурыздағы №\u{a0}AST-2026-000123 өтінішіңізді (2026 жылғы 11 наурызда тіркелген) қарап, мынаны хабарлаймын."), "{kk}");
    assert!(
        kk.contains("10.03.2026 №\u{a0}AST-2026-000123 өтінішке"),
        "{kk}"
    );
    assert!(kk.contains("20.03.2026 №\u{a0}3Т-1/245"), "{kk}");
    assert!(
        kk.contains(
            "Орынд.: Жумабеков Ерлан Маратович, полиция аға лейтенанты, тел. +7 7172 00-00-00"
        ),
        "{kk}"
    );
    let mut same_day = input(Lang::Ru, Decision::Explained);
    same_day.registered_at = same_day.appeal_date.clone();
    same_day.outgoing_number = None;
    let ru = document_text(&render(&same_day));
    assert!(ru.contains("Рассмотрев Ваше обращение от 10 марта 2026 года №\u{a0}AST-2026-000123, сообщаю следующее."), "{ru}");
    assert!(ru.contains("\n20.03.2026\n"), "{ru}");
    assert!(
        ru.contains("На №\u{a0}AST-2026-000123 от 10.03.2026"),
        "{ru}"
    );
}

#[test]
fn r12_r15_outside_competence_names_the_competent_body_and_the_lack_of_authority() {
    let kk = document_text(&render(&input(Lang::Kk, Decision::OutsideCompetence)));
    assert!(
        kk.contains(&format!(
            "құзыретті мемлекеттік органға – {BODY_KK} жүгінуді ұсынамын"
        )),
        "{kk}"
    );
    assert!(kk.contains("өкілеттігі жоқ"), "{kk}");
    let ru = document_text(&render(&input(Lang::Ru, Decision::OutsideCompetence)));
    assert!(
        ru.contains(&format!("компетентный государственный орган – {BODY_RU}")),
        "{ru}"
    );
    assert!(
        ru.contains("полномочиями по их рассмотрению по существу полиция не наделена"),
        "{ru}"
    );
    // Without the body there is no answer.
    for d in [Decision::OutsideCompetence, Decision::Redirected] {
        let mut i = input(Lang::Ru, d);
        i.competent_body = None;
        assert_eq!(
            error(&i),
            ("required".into(), Some("competent_body".into()))
        );
        i.competent_body = Some("  ".into());
        assert_eq!(
            error(&i),
            ("required".into(), Some("competent_body".into()))
        );
    }
    // Nor is the body named where the decision does not call for it.
    let mut i = input(Lang::Ru, Decision::Satisfied);
    i.competent_body = Some(BODY_RU.into());
    assert!(!document_text(&render(&i)).contains(BODY_RU));
}

#[test]
fn r13_redirected_names_the_competent_unit() {
    let mut i = input(Lang::Ru, Decision::Redirected);
    i.competent_body = Some("Управление миграционной службы ДП города Астаны".into());
    i.paragraphs.clear(); // the officer's text is optional for a redirection
    let ru = document_text(&render(&i));
    assert!(ru.contains("к компетенции другого подразделения – Управление миграционной службы ДП города Астаны, Ваше обращение направлено"), "{ru}");
}

#[test]
fn r12_a_refusal_states_the_right_to_appeal_under_the_appk() {
    let ru = document_text(&render(&input(Lang::Ru, Decision::Refused)));
    assert!(
        ru.contains("в административном (досудебном) порядке"),
        "{ru}"
    );
    assert!(ru.contains("в судебном порядке"), "{ru}");
    assert!(ru.contains("Административным процедурно-процессуальным кодексом Республики Казахстан"));
    let kk = document_text(&render(&input(Lang::Kk, Decision::Refused)));
    assert!(
        kk.contains(
            "Әкімшілік рәсімдік-процестік кодексіне сәйкес әкімшілік (сотқа дейінгі) тәртіппен"
        ),
        "{kk}"
    );
    assert!(
        kk.contains("сот тәртібімен шағым жасауға құқылысыз"),
        "{kk}"
    );
    let satisfied = document_text(&render(&input(Lang::Ru, Decision::Satisfied)));
    assert!(!satisfied.contains("обжаловать"));
}

#[test]
fn r12_the_same_input_gives_the_same_bytes() {
    let i = full(Lang::Ru, Decision::Refused);
    let a = render(&i);
    let b = render(&i);
    assert_eq!(a, b);
    let i2 = i.clone();
    let c = std::thread::spawn(move || render(&i2)).join().unwrap();
    assert_eq!(a, c);
    // The package dates are the answer date, not the clock.
    let core = part(&a, "docProps/core.xml");
    assert!(
        core.contains(">2026-03-20T00:00:00Z</dcterms:created>"),
        "{core}"
    );
    assert!(
        core.contains(">2026-03-20T00:00:00Z</dcterms:modified>"),
        "{core}"
    );
}

#[test]
fn r12_the_officers_text_is_never_read_as_a_template_slot() {
    let mut i = input(Lang::Ru, Decision::Explained);
    i.paragraphs = vec!["Текст с фигурными скобками {body} и <тегом> & амперсандом.".into()];
    let text = document_text(&render(&i));
    assert!(
        text.contains("Текст с фигурными скобками {body} и <тегом> & амперсандом."),
        "{text}"
    );
}

#[test]
fn r12_a_line_break_in_the_officers_text_starts_a_new_paragraph() {
    let mut i = input(Lang::Ru, Decision::Explained);
    i.paragraphs = vec!["Первый абзац.\n\nВторой абзац.\r\nТретий абзац.".into()];
    let text = document_text(&render(&i));
    assert!(
        text.contains("\nПервый абзац.\nВторой абзац.\nТретий абзац.\n"),
        "{text}"
    );
}

#[test]
fn r12_limits_and_required_fields_give_coded_errors() {
    let base = || input(Lang::Ru, Decision::Explained);
    let case = |f: &dyn Fn(&mut AnswerInput), code: &str, field: &str| {
        let mut i = base();
        f(&mut i);
        assert_eq!(
            error(&i),
            (code.to_string(), Some(field.to_string())),
            "{field}"
        );
    };
    case(
        &|i| i.paragraphs = vec!["а".into(); PARAGRAPHS_MAX + 1],
        "too_many",
        "paragraphs",
    );
    case(
        &|i| i.paragraphs = vec!["а".repeat(PARAGRAPH_CHARS_MAX + 1)],
        "too_long",
        "paragraphs[0]",
    );
    case(
        &|i| i.paragraphs = vec!["ok".into(), "  ".into()],
        "required",
        "paragraphs[1]",
    );
    case(&|i| i.paragraphs.clear(), "required", "paragraphs");
    case(
        &|i| i.paragraphs = vec!["bell \u{7}".into()],
        "invalid_characters",
        "paragraphs[0]",
    );
    case(
        &|i| i.applicant.name = " ".into(),
        "required",
        "applicant.name",
    );
    case(
        &|i| i.applicant.name = "a\nb".into(),
        "invalid_characters",
        "applicant.name",
    );
    case(
        &|i| i.signer.position = "x".repeat(501),
        "too_long",
        "signer.position",
    );
    case(
        &|i| i.appeal_date = "2026-02-30".into(),
        "date_invalid",
        "appeal_date",
    );
    case(
        &|i| i.registered_at = "11.03.2026".into(),
        "date_invalid",
        "registered_at",
    );
    case(
        &|i| i.answer_date = String::new(),
        "date_invalid",
        "answer_date",
    );
    case(
        &|i| {
            let mut t = table();
            t.rows[1].pop();
            i.table = Some(t);
        },
        "table_row_width",
        "table.rows[1]",
    );
    case(
        &|i| {
            let mut t = table();
            t.rows = vec![vec!["a".into(), "b".into()]; TABLE_ROWS_MAX + 1];
            i.table = Some(t);
        },
        "too_many",
        "table.rows",
    );
    case(
        &|i| {
            i.table = Some(AnswerTable {
                header: vec!["h".into(); TABLE_COLS_MAX + 1],
                rows: vec![vec!["c".into(); TABLE_COLS_MAX + 1]],
            })
        },
        "too_many",
        "table.header",
    );
    case(
        &|i| {
            let mut t = table();
            t.rows.clear();
            i.table = Some(t);
        },
        "required",
        "table.rows",
    );
    // The preview says the same.
    let mut i = base();
    i.images = vec![jpeg(PNG, "")];
    assert_eq!(preview_text(&i), "image_not_jpeg: images[0].bytes");
}

#[test]
fn r12_the_node_can_pass_the_input_as_json() {
    let json = serde_json::json!({
        "language": "kk",
        "decision": "outside_competence",
        "authority": "Астана қаласының ПД",
        "applicant": {"name": APPLICANT},
        "appeal_number": "AST-2026-000123",
        "appeal_date": "2026-03-10",
        "registered_at": "2026-03-10",
        "competent_body": BODY_KK,
        "images": [{"bytes": JPEG, "caption": "Фото"}],
        "officer": {"name": "Жумабеков Е. М.", "position": "инспектор"},
        "signer": {"name": "А. Б. Сериков", "position": "Басқарма бастығы"},
        "answer_date": "2026-03-20"
    });
    let i: AnswerInput = serde_json::from_value(json).unwrap();
    assert_eq!(i.language, Lang::Kk);
    assert_eq!(i.decision, Decision::OutsideCompetence);
    assert_eq!(i.images[0].bytes, JPEG);
    let text = document_text(&render(&i));
    assert!(text.contains(BODY_KK));
    let unknown = serde_json::json!({"language": "en"});
    assert!(serde_json::from_value::<AnswerInput>(unknown).is_err());
}

/// LibreOffice opens the answer and reads its text. Skipped (with a note) where `soffice` is
/// missing, except under CI, where it must be there.
#[test]
fn r12_libreoffice_opens_the_answer() {
    let soffice = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("soffice"))
            .find(|p| p.is_file())
    });
    let Some(soffice) = soffice else {
        assert!(
            std::env::var_os("CI").is_none(),
            "soffice is not on PATH (install libreoffice-writer-nogui)"
        );
        eprintln!("r12_libreoffice_opens_the_answer: skipped, soffice is not on PATH");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut docs = Vec::new();
    for lang in [Lang::Kk, Lang::Ru] {
        let name = format!("answer_{lang:?}.docx").to_lowercase();
        std::fs::write(
            dir.path().join(&name),
            render(&full(lang, Decision::OutsideCompetence)),
        )
        .unwrap();
        docs.push(name);
    }
    let out = dir.path().join("out");
    // A profile of its own, so that a desktop LibreOffice or a parallel test does not block it.
    let profile = format!(
        "-env:UserInstallation=file://{}",
        dir.path().join("profile").display()
    );
    let status = std::process::Command::new(&soffice)
        .arg(&profile)
        .args([
            "--headless",
            "--norestore",
            "--convert-to",
            "txt:Text",
            "--outdir",
        ])
        .arg(&out)
        .args(docs.iter().map(|d| dir.path().join(d)))
        .status()
        .expect("soffice runs");
    assert!(status.success(), "soffice exited with {status}");
    for (doc, body) in docs.iter().zip([BODY_KK, BODY_RU]) {
        let txt = out.join(doc.replace(".docx", ".txt"));
        let text = std::fs::read_to_string(&txt)
            .unwrap_or_else(|e| panic!("{} was not written: {e}", txt.display()));
        assert!(text.contains(APPLICANT), "{text}");
        assert!(text.contains(body), "{text}");
    }
}

/// Word drops or refuses properties out of the schema's sequence (CT_PPr, EG_RPrBase): the
/// children of every `w:pPr` and `w:rPr` come in that order.
#[test]
fn r12_properties_are_in_the_schema_order() {
    let ppr = [
        "<w:keepNext",
        "<w:tabs",
        "<w:spacing",
        "<w:ind",
        "<w:jc",
        "<w:rPr",
    ];
    let rpr = [
        "<w:rFonts",
        "<w:b/",
        "<w:bCs",
        "<w:sz ",
        "<w:szCs",
        "<w:lang",
    ];
    let docx = render(&full(Lang::Kk, Decision::Refused));
    for (name, open, close, order) in [
        ("word/document.xml", "<w:pPr>", "</w:pPr>", &ppr),
        ("word/document.xml", "<w:rPr>", "</w:rPr>", &rpr),
        ("word/styles.xml", "<w:rPr>", "</w:rPr>", &rpr),
    ] {
        let xml = part(&docx, name);
        for props in xml.split(open).skip(1) {
            let props = props.split(close).next().unwrap();
            let at: Vec<usize> = order.iter().filter_map(|t| props.find(t)).collect();
            assert!(at.windows(2).all(|w| w[0] < w[1]), "{name}: {props}");
        }
    }
}
