//! Report 1-ОЛ's XLSX export (R32) read back with Python's openpyxl (Debian's python3-openpyxl,
//! installed by `.ci/run`): both sheets open, carry the seed's row and column headings in
//! Russian and Kazakh, the numbers of section 5, the incomplete mark, and a re-issued version's
//! difference.

use std::process::Command;

use serde_json::Value;
use server_kit::report_xlsx::{issued_report_xlsx, report_xlsx};
use sync::calendar::{embedded_years, Day, WorkCalendar};
use sync::report_1ol::headings::{COLUMNS, NOT_IN_THE_SEEDS_NOTE, REPORT_TITLE, ROWS_HEADING};
use sync::report_1ol::{
    issue, report, Body, Contributions, Issue, Period, Receiver, ReceptionDecision, ReceptionEntry,
    ReceptionOutcome,
};

/// Reads every sheet: its name, its cells row by row (`null` for empty), its merged ranges.
const READ_BACK: &str = r#"
import json, sys, openpyxl
book = openpyxl.load_workbook(sys.argv[1])
out = []
for ws in book.worksheets:
    rows = [[c for c in r] for r in ws.iter_rows(values_only=True)]
    out.append({"name": ws.title, "rows": rows, "merged": sorted(str(m) for m in ws.merged_cells.ranges)})
print(json.dumps(out, ensure_ascii=False))
"#;

fn read_back(bytes: &[u8]) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.xlsx");
    std::fs::write(&path, bytes).unwrap();
    // Debian's interpreter: python3-openpyxl is installed for it, not for a pyenv one.
    let out = Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(READ_BACK)
        .arg(&path)
        .output()
        .expect("run /usr/bin/python3 (python3-openpyxl)");
    assert!(
        out.status.success(),
        "openpyxl could not read the workbook: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn day(s: &str) -> Day {
    Day::parse(s).unwrap()
}

fn body(id: &str, kk: &str, ru: &str) -> Body {
    Body {
        id: id.into(),
        name_kk: kk.into(),
        name_ru: ru.into(),
        code: None,
    }
}

fn held(region: &str, id: &str, by: Receiver, decision: ReceptionDecision) -> ReceptionEntry {
    ReceptionEntry {
        region: region.into(),
        record_id: id.into(),
        revision: 3,
        requested_on: day("2026-02-02"),
        booked_on: Some(day("2026-02-03")),
        outcome: Some(ReceptionOutcome::Held {
            on: day("2026-02-20"),
            by,
            decision: Some(decision),
        }),
    }
}

/// The cell text at (row, col), or "" when empty.
fn text(sheet: &Value, row: usize, col: usize) -> String {
    match &sheet["rows"][row][col] {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn number(sheet: &Value, row: usize, col: usize) -> f64 {
    sheet["rows"][row][col]
        .as_f64()
        .unwrap_or_else(|| panic!("number at {row},{col}: {sheet}"))
}

fn find_row(sheet: &Value, first_cell: &str) -> usize {
    (0..sheet["rows"].as_array().unwrap().len())
        .find(|&r| text(sheet, r, 0) == first_cell)
        .unwrap_or_else(|| panic!("no row {first_cell:?} in {}", sheet["name"]))
}

#[test]
fn r32_report_xlsx_opens_with_the_seeds_headings_in_kk_and_ru() {
    let years = embedded_years().unwrap();
    let cal = WorkCalendar::new(&years).unwrap();
    let bodies = [
        body("AST", "Астана қаласы ПД", "ДП города Астаны"),
        body("ALA", "Алматы қаласы ПД", "ДП города Алматы"),
    ];
    let period = Period::new(2026, 2).unwrap();
    let mut national = Contributions::new();
    national
        .apply(held(
            "AST",
            "a1",
            Receiver::Head,
            ReceptionDecision::Satisfied,
        ))
        .unwrap();
    national
        .apply(held(
            "AST",
            "a2",
            Receiver::Deputy,
            ReceptionDecision::Explained,
        ))
        .unwrap();
    let due = day("2026-03-10");
    let first = report(national.entries(), &bodies, period, due, &cal).unwrap();

    let sheets = read_back(&report_xlsx(&first).unwrap());
    let names: Vec<&str> = sheets.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["1-ОЛ, раздел 5 (ru)", "1-ОЛ, 5-бөлім (kk)"]);
    for (sheet, ru) in sheets.iter().zip([true, false]) {
        let pick = |kk: &'static str, r: &'static str| if ru { r } else { kk };
        assert_eq!(text(sheet, 0, 0), pick(REPORT_TITLE.kk, REPORT_TITLE.ru));
        assert_eq!(
            text(sheet, 1, 0),
            pick("5-бөлім. Жеке қабылдау", "Раздел 5. Личный прием")
        );
        assert_eq!(text(sheet, 2, 1), "01.01.2026 – 28.02.2026");
        assert_eq!(
            text(sheet, 4, 0),
            pick(NOT_IN_THE_SEEDS_NOTE.kk, NOT_IN_THE_SEEDS_NOTE.ru)
        );
        // The heading rows: names and codes, then the seed's ten columns under their groups.
        assert_eq!(
            text(sheet, 6, 0),
            pick("Көрсеткіштердің атауы", "Наименование показателей")
        );
        assert_eq!(text(sheet, 6, 1), pick("Жол коды", "Код строки"));
        for (k, c) in COLUMNS.iter().enumerate() {
            let (row, want) = match c.group {
                None => (6, pick(c.title.kk, c.title.ru)),
                Some(_) => (7, pick(c.title.kk, c.title.ru)),
            };
            assert_eq!(text(sheet, row, 2 + k), want, "column {}", c.key);
        }
        assert_eq!(text(sheet, 6, 4), pick("оның ішінде:", "из них:"));
        assert_eq!(
            text(sheet, 6, 9),
            pick("Жеке қабылдау бойынша шешім", "Решение по личному приему")
        );
        let merged: Vec<&str> = sheet["merged"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_str().unwrap())
            .collect();
        for range in ["A7:A8", "B7:B8", "C7:C8", "E7:F7", "J7:L7", "A9:L9"] {
            assert!(merged.contains(&range), "{range} merged in {merged:?}");
        }
        assert_eq!(text(sheet, 8, 0), pick(ROWS_HEADING.kk, ROWS_HEADING.ru));
        assert!(ROWS_HEADING
            .ru
            .starts_with("Перечень государственных органов"));
        // The rows: AST with its two receptions, ALA with none, and the total.
        let ast = find_row(sheet, pick("Астана қаласы ПД", "ДП города Астаны"));
        assert_eq!(ast, 9);
        let values: Vec<f64> = (2..12).map(|c| number(sheet, ast, c)).collect();
        assert_eq!(values, [0., 2., 2., 0., 0., 1., 1., 1., 0., 1.]);
        let ala = find_row(sheet, pick("Алматы қаласы ПД", "ДП города Алматы"));
        assert_eq!(number(sheet, ala, 3), 0.);
        let total = find_row(sheet, pick("Барлығы", "Всего"));
        assert_eq!(number(sheet, total, 3), 2.);
    }

    // ALA's records arrive after the due day: version 2 and its difference.
    let Issue::New(v1) = issue(&[], first, due).unwrap() else {
        panic!("version 1")
    };
    national
        .apply(held(
            "ALA",
            "b1",
            Receiver::Head,
            ReceptionDecision::Refused,
        ))
        .unwrap();
    let late_day = day("2026-03-16");
    let second = report(national.entries(), &bodies, period, late_day, &cal).unwrap();
    let Issue::New(v2) = issue(&[*v1], second, late_day).unwrap() else {
        panic!("version 2")
    };
    let sheets = read_back(&issued_report_xlsx(&v2).unwrap());
    let ru = &sheets[0];
    assert_eq!(text(ru, 3, 0), "Версия");
    assert_eq!(text(ru, 3, 1), "2 (16.03.2026)");
    let changes = find_row(ru, "Изменения по сравнению с предыдущей версией");
    let mut listed = Vec::new();
    for r in changes + 1..ru["rows"].as_array().unwrap().len() {
        listed.push((
            text(ru, r, 0),
            text(ru, r, 1),
            number(ru, r, 2),
            number(ru, r, 3),
        ));
    }
    assert!(listed.contains(&(
        "ДП города Алматы".into(),
        "Всего поступило заявлений на личный прием".into(),
        0.,
        1.
    )));
    assert!(listed.contains(&("Всего".into(), "отказано".into(), 0., 1.)));
    assert_eq!(listed.len(), v2.changes.len());
}
