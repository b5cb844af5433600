//! R24: the report meeting's draft report and protocol as DOCX, opened the way a reader would
//! (unzip, read the XML) and by LibreOffice.

use std::io::{Cursor, Read};

use answers::meeting::{
    AppealOutcome, CategoryRow, FollowUpRow, FollowUpState, ItemKind, MeetingReportInput,
    OutcomeRow, ProtocolInput, ProtocolItemInput, ProtocolSignature, MEETING_ITEMS_MAX,
};
use answers::{render_meeting_report, render_protocol, AnswerError, Lang};

const SHA: &str = "3f2a9c0d5b7e41a8c6d2e0f4b1a3c5e7d9f0a2b4c6e8f0a1b3c5d7e9f1a3b5c7";
const INSPECTOR: &str = "Касымов Арман Серикович";

fn protocol(lang: Lang) -> ProtocolInput {
    let kk = lang == Lang::Kk;
    ProtocolInput {
        language: lang,
        authority: if kk {
            "Сарыарқа ауданының № 1 учаскелік полиция пункті"
        } else {
            "Участковый пункт полиции № 1 района Сарыарка"
        }
        .into(),
        beats: vec![
            if kk {
                "№ 1 әкімшілік учаске"
            } else {
                "Административный участок № 1"
            }
            .into(),
            if kk {
                "№ 2 әкімшілік учаске"
            } else {
                "Административный участок № 2"
            }
            .into(),
        ],
        inspector: INSPECTOR.into(),
        date: "2026-12-20".into(),
        time: "18:30".into(),
        place: if kk {
            "№ 12 мектеп, акт залы"
        } else {
            "школа № 12, актовый зал"
        }
        .into(),
        participants: 37,
        report: "Отчет о работе за квартал.\nВторой абзац отчета.".into(),
        decisions: "Усилить патрулирование двора дома 4".into(),
        remarks: String::new(),
        items: vec![
            ProtocolItemInput {
                kind: ItemKind::Complaint,
                text: "Во дворе дома 4 не горит фонарь".into(),
                answered_fully: false,
            },
            ProtocolItemInput {
                kind: ItemKind::Proposal,
                text: "Провести рейд по парковкам <во дворах> & у школы".into(),
                answered_fully: true,
            },
            ProtocolItemInput {
                kind: ItemKind::Remark,
                text: "Шумные соседи в доме 7".into(),
                answered_fully: false,
            },
        ],
        signature: Some(ProtocolSignature {
            version: 1,
            signed_on: "2026-12-20".into(),
            sha256: SHA.into(),
            on_time: true,
            correction_reason: None,
        }),
    }
}

fn report(lang: Lang) -> MeetingReportInput {
    let kk = lang == Lang::Kk;
    MeetingReportInput {
        language: lang,
        authority: "Участковый пункт полиции № 1 района Сарыарка".into(),
        beats: vec!["Административный участок № 1".into()],
        inspector: INSPECTOR.into(),
        period_from: "2026-10-01".into(),
        period_to: "2026-12-31".into(),
        date: "2026-12-05".into(),
        cards: vec![
            CategoryRow {
                category: Some(if kk { "Ұрлық" } else { "Кража" }.into()),
                count: 7,
            },
            CategoryRow {
                category: None,
                count: 1,
            },
        ],
        cards_total: 8,
        cards_without_place: 2,
        appeals: vec![
            OutcomeRow {
                outcome: AppealOutcome::Explained,
                count: 3,
            },
            OutcomeRow {
                outcome: AppealOutcome::OutsideCompetence,
                count: 1,
            },
        ],
        appeals_total: 4,
        appeals_without_place: 0,
        follow_up: vec![FollowUpRow {
            meeting_date: "2026-09-20".into(),
            kind: ItemKind::Complaint,
            text: "Не горит фонарь".into(),
            state: FollowUpState::Closed,
            forwarded_to: Some("Акимат города Астаны".into()),
            result: Some("Фонарь отремонтирован".into()),
        }],
        follow_up_open: 0,
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

/// The text of the document: the `w:t` contents, unescaped, one paragraph a line.
fn document_text(docx: &[u8]) -> String {
    let xml = part(docx, "word/document.xml");
    let mut out = String::new();
    for para in xml.split("</w:p>") {
        for piece in para.split("<w:t xml:space=\"preserve\">").skip(1) {
            let t = piece.split("</w:t>").next().unwrap();
            out.push_str(
                &t.replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&quot;", "\"")
                    .replace("&amp;", "&"),
            );
        }
        out.push('\n');
    }
    out
}

/// Every run and the document defaults: Times New Roman, 14 pt, the document's language.
fn assert_font_size_lang(docx: &[u8], tag: &str) {
    let xml = part(docx, "word/document.xml");
    let runs: Vec<&str> = xml.split("<w:r>").skip(1).collect();
    assert!(runs.len() > 10, "{} runs", runs.len());
    for r in &runs {
        let props = r
            .strip_prefix("<w:rPr>")
            .and_then(|p| p.split("</w:rPr>").next())
            .unwrap_or_else(|| panic!("a run without properties: {r}"));
        assert!(
            props.contains(r#"<w:rFonts w:ascii="Times New Roman" w:hAnsi="Times New Roman" w:eastAsia="Times New Roman" w:cs="Times New Roman"/>"#),
            "{props}"
        );
        assert!(
            props.contains(r#"<w:sz w:val="28"/><w:szCs w:val="28"/>"#),
            "{props}"
        );
        assert!(
            props.contains(&format!(r#"<w:lang w:val="{tag}"/>"#)),
            "{props}"
        );
    }
    let styles = part(docx, "word/styles.xml");
    assert!(styles.contains(&format!(r#"<w:lang w:val="{tag}"/>"#)));
    assert!(!styles.contains(&format!(
        r#"<w:lang w:val="{}"/>"#,
        if tag == "kk-KZ" { "ru-RU" } else { "kk-KZ" }
    )));
}

fn code(e: AnswerError) -> (String, Option<String>) {
    (e.code().to_string(), e.field().map(String::from))
}

#[test]
fn r24_meeting_documents_are_times_new_roman_14_in_the_meetings_language() {
    for (lang, tag) in [(Lang::Kk, "kk-KZ"), (Lang::Ru, "ru-RU")] {
        assert_font_size_lang(&render_protocol(&protocol(lang)).unwrap(), tag);
        assert_font_size_lang(&render_meeting_report(&report(lang)).unwrap(), tag);
    }
}

#[test]
fn r24_the_protocol_holds_time_date_place_participants_decisions_and_every_item() {
    let docx = render_protocol(&protocol(Lang::Ru)).unwrap();
    let text = document_text(&docx);
    for want in [
        "ПРОТОКОЛ отчета участкового инспектора полиции перед населением",
        "Дата: 20.12.2026",
        "Время: 18:30",
        "Место проведения: школа № 12, актовый зал",
        "Административный участок № 1; Административный участок № 2",
        "Количество участников: 37",
        "Отчет о работе за квартал.",
        "Второй абзац отчета.",
        "Принятые решения",
        "Усилить патрулирование двора дома 4",
        "1. Жалоба: Во дворе дома 4 не горит фонарь",
        "2. Предложение: Провести рейд по парковкам <во дворах> & у школы",
        "3. Замечание: Шумные соседи в доме 7",
        "(ответы и разъяснения не даны в полном объеме, проводится проверка)",
        "(ответы и разъяснения даны в полном объеме)",
        "Участковый инспектор полиции",
        "Версия 1, подписана 20.12.2026 участковым инспектором полиции Касымов Арман Серикович.",
        SHA,
    ] {
        assert!(text.contains(want), "{want} not in\n{text}");
    }
    // Version 1 on the meeting's day: not a correction, not late, not a draft.
    for absent in ["Исправление", "не в день", "не подписан"] {
        assert!(!text.contains(absent), "{absent} in\n{text}");
    }
    // The items and the participants in Kazakh too.
    let text = document_text(&render_protocol(&protocol(Lang::Kk)).unwrap());
    for want in [
        "Қатысушылар саны: 37",
        "1. Шағым: Во дворе дома 4 не горит фонарь",
        "2. Ұсыныс:",
        "3. Ескертпе:",
        "ХАТТАМАСЫ",
    ] {
        assert!(text.contains(want), "{want} not in\n{text}");
    }
}

#[test]
fn r24_a_correction_states_the_version_it_corrects_and_why_and_a_late_one_says_so() {
    let mut p = protocol(Lang::Ru);
    p.signature = Some(ProtocolSignature {
        version: 3,
        signed_on: "2026-12-22".into(),
        sha256: SHA.to_uppercase(),
        on_time: false,
        correction_reason: Some("опечатка в номере дома".into()),
    });
    let text = document_text(&render_protocol(&p).unwrap());
    for want in [
        "Исправление протокола версии 2. Причина исправления: опечатка в номере дома",
        "Версия 3, подписана 22.12.2026",
        "Протокол оформлен не в день проведения отчета.",
    ] {
        assert!(text.contains(want), "{want} not in\n{text}");
    }
    // A correction without its reason is refused.
    p.signature.as_mut().unwrap().correction_reason = None;
    assert_eq!(
        code(render_protocol(&p).unwrap_err()),
        (
            "required".into(),
            Some("signature.correction_reason".into())
        )
    );
    // The unsigned draft says it is one and has no signature data.
    let mut p = protocol(Lang::Ru);
    p.signature = None;
    let text = document_text(&render_protocol(&p).unwrap());
    assert!(text.contains("Проект протокола, не подписан"), "{text}");
    assert!(!text.contains(SHA), "{text}");
}

#[test]
fn r24_the_draft_report_has_the_sections_of_p30_with_counts_and_places_to_write() {
    let text = document_text(&render_meeting_report(&report(Lang::Ru)).unwrap());
    let sections = [
        "1. О криминогенной ситуации на обслуживаемом административном участке",
        "2. О проводимой работе по профилактике правонарушений",
        "3. О вовлечении граждан в обеспечение охраны общественного порядка",
        "4. Об изменениях в законодательстве Республики Казахстан",
        "5. О принятых мерах по жалобам и обращениям, в том числе поступившим в ходе предыдущих",
    ];
    let at: Vec<usize> = sections
        .iter()
        .map(|s| text.find(s).unwrap_or_else(|| panic!("{s} not in\n{text}")))
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{text}");
    for want in [
        "Период: с 01.10.2026 по 31.12.2026",
        "Кража\n7\n",
        "Без категории\n1\n",
        "Всего\n8\n",
        "Карточки без координат места, не отнесенные ни к одному участку: 2",
        "Разъяснено\n3\n",
        "Не входит в компетенцию полиции\n1\n",
        "Всего\n4\n",
        "20.09.2026\nЖалоба\nНе горит фонарь\nПроверка завершена\nНаправлено: Акимат города Астаны\nРезультат: Фонарь отремонтирован\n",
        "Не завершено проверок: 0",
    ] {
        assert!(text.contains(want), "{want:?} not in\n{text}");
    }
    // No appeal lacked a place: no such line.
    assert!(!text.contains("Обращения без указания места"), "{text}");
    assert_eq!(
        text.matches("[Заполняет участковый инспектор полиции]")
            .count(),
        5,
        "{text}"
    );
    // The tables are Word tables.
    let xml = part(
        &render_meeting_report(&report(Lang::Ru)).unwrap(),
        "word/document.xml",
    );
    assert_eq!(xml.matches("<w:tbl>").count(), 3);
}

#[test]
fn r24_the_same_input_gives_the_same_bytes() {
    for lang in [Lang::Kk, Lang::Ru] {
        assert_eq!(
            render_protocol(&protocol(lang)).unwrap(),
            render_protocol(&protocol(lang)).unwrap()
        );
        assert_eq!(
            render_meeting_report(&report(lang)).unwrap(),
            render_meeting_report(&report(lang)).unwrap()
        );
    }
    // The package dates are the signature's day.
    let core = part(
        &render_protocol(&protocol(Lang::Ru)).unwrap(),
        "docProps/core.xml",
    );
    assert!(core.contains("2026-12-20T00:00:00Z"), "{core}");
}

#[test]
fn r24_bad_input_gives_coded_errors_not_panics() {
    let mut p = protocol(Lang::Ru);
    p.place = " ".into();
    assert_eq!(
        code(render_protocol(&p).unwrap_err()),
        ("required".into(), Some("place".into()))
    );
    let mut p = protocol(Lang::Ru);
    p.signature.as_mut().unwrap().sha256 = "not-a-hash".into();
    assert_eq!(
        code(render_protocol(&p).unwrap_err()),
        ("invalid_characters".into(), Some("signature.sha256".into()))
    );
    let mut p = protocol(Lang::Ru);
    p.items[1].text = "\n ".into();
    assert_eq!(
        code(render_protocol(&p).unwrap_err()),
        ("required".into(), Some("items[1].text".into()))
    );
    let mut p = protocol(Lang::Ru);
    p.items = vec![p.items[0].clone(); MEETING_ITEMS_MAX + 1];
    assert_eq!(
        code(render_protocol(&p).unwrap_err()),
        ("too_many".into(), Some("items".into()))
    );
    let mut p = protocol(Lang::Ru);
    p.beats.clear();
    assert_eq!(
        code(render_protocol(&p).unwrap_err()),
        ("required".into(), Some("beats".into()))
    );
    let mut r = report(Lang::Kk);
    r.period_to = "2026-13-01".into();
    assert_eq!(
        code(render_meeting_report(&r).unwrap_err()),
        ("date_invalid".into(), Some("period_to".into()))
    );
    let mut r = report(Lang::Kk);
    r.follow_up[0].text = "фонарь\u{0007}".into();
    assert_eq!(
        code(render_meeting_report(&r).unwrap_err()),
        (
            "invalid_characters".into(),
            Some("follow_up[0].text".into())
        )
    );
}

#[test]
fn r24_the_node_can_pass_the_inputs_as_json() {
    let p: ProtocolInput = serde_json::from_value(serde_json::json!({
        "language": "kk", "authority": "УПП № 1", "beats": ["№ 1 учаске"], "inspector": INSPECTOR,
        "date": "2026-12-20", "time": "18:30", "place": "№ 12 мектеп", "participants": 5,
        "decisions": "Шешім", "items": [{"kind": "complaint", "text": "Шағым", "answered_fully": false}],
        "signature": {"version": 1, "signed_on": "2026-12-20", "sha256": SHA, "on_time": true}
    }))
    .unwrap();
    assert!(document_text(&render_protocol(&p).unwrap()).contains("Қатысушылар саны: 5"));
}

/// LibreOffice opens both documents and reads their text. Skipped (with a note) where
/// `soffice` is missing, except under CI, where it must be there.
#[test]
fn r24_libreoffice_opens_the_protocol_and_the_draft_report() {
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
        eprintln!("r24_libreoffice_opens_the_protocol_and_the_draft_report: skipped, no soffice");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let docs = [
        (
            "protocol_kk.docx",
            render_protocol(&protocol(Lang::Kk)).unwrap(),
            "Қатысушылар саны: 37",
        ),
        (
            "protocol_ru.docx",
            render_protocol(&protocol(Lang::Ru)).unwrap(),
            "3. Замечание: Шумные соседи в доме 7",
        ),
        (
            "report_ru.docx",
            render_meeting_report(&report(Lang::Ru)).unwrap(),
            "Фонарь отремонтирован",
        ),
    ];
    for (name, bytes, _) in &docs {
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    let out = dir.path().join("out");
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
        .args(docs.iter().map(|(n, _, _)| dir.path().join(n)))
        .status()
        .expect("soffice runs");
    assert!(status.success(), "soffice exited with {status}");
    for (name, _, want) in &docs {
        let txt = out.join(name.replace(".docx", ".txt"));
        let text = std::fs::read_to_string(&txt)
            .unwrap_or_else(|e| panic!("{} was not written: {e}", txt.display()));
        assert!(text.contains(want), "{want} not in\n{text}");
        assert!(text.contains(INSPECTOR), "{text}");
    }
}

/// The meeting document accepts tabs and line breaks in its texts (the protocol's place, an
/// item): they render as spaces and paragraphs, not as an error.
#[test]
fn r24_tabs_and_line_breaks_the_meeting_accepts_render() {
    let mut p = protocol(Lang::Ru);
    p.place = "школа № 12,\nактовый\tзал".into();
    p.items[0].text = "Во дворе\tдома 4\nне горит фонарь".into();
    let text = document_text(&render_protocol(&p).unwrap());
    assert!(
        text.contains("Место проведения: школа № 12, актовый зал"),
        "{text}"
    );
    assert!(
        text.contains("1. Жалоба: Во дворе дома 4\nне горит фонарь"),
        "{text}"
    );
}
