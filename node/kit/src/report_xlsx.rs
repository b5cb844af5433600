//! Report 1-ОЛ as an XLSX workbook (R32): one sheet in Russian, one in Kazakh, each with the
//! seed's row and column headings (`sync::report_1ol::headings`), the section 5 numbers, the
//! mark of what the seeds do not give, and, for a re-issued version, its difference from the
//! previous one. Written into memory; the node and central serve the bytes.

use rust_xlsxwriter::{
    ColNum, Format, FormatAlign, FormatBorder, RowNum, Workbook, Worksheet, XlsxError,
};
use sync::calendar::Day;
use sync::report_1ol::headings::{
    Text, CHANGES_LABEL, COLUMNS, NOT_IN_THE_SEEDS_NOTE, PERIOD_LABEL, REPORT_TITLE, ROWS_HEADING,
    ROW_CODE, ROW_NAMES, SECTION5_TITLE, TOTAL_ROW, VERSION_LABEL,
};
use sync::report_1ol::{IssuedReport, Report1Ol};

/// The media type of the workbook.
pub const XLSX_CONTENT_TYPE: &str =
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The sheets' languages, in order, with each sheet's name.
const SHEETS: [(Lang, &str); 2] = [
    (Lang::Ru, "1-ОЛ, раздел 5 (ru)"),
    (Lang::Kk, "1-ОЛ, 5-бөлім (kk)"),
];

/// Where the column headings start (rows above: title, section, period, version, note).
const HEADER_ROW: RowNum = 6;
/// The first number column (after the rows' names and codes).
const FIRST_NUMBER_COL: ColNum = 2;
/// Width of the names column and of each number column, in characters.
const NAME_COL_WIDTH_CHARS: f64 = 40.0;
const NUMBER_COL_WIDTH_CHARS: f64 = 16.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lang {
    Kk,
    Ru,
}

impl Lang {
    fn of(self, text: Text) -> &'static str {
        match self {
            Lang::Kk => text.kk,
            Lang::Ru => text.ru,
        }
    }
}

/// The report, not (yet) issued.
pub fn report_xlsx(report: &Report1Ol) -> Result<Vec<u8>, XlsxError> {
    workbook(report, None)
}

/// An issued version of the report, with its version number and changes.
pub fn issued_report_xlsx(issued: &IssuedReport) -> Result<Vec<u8>, XlsxError> {
    workbook(&issued.report, Some(issued))
}

/// One row of names and numbers.
fn write_row(
    sheet: &mut Worksheet,
    row: RowNum,
    name: &str,
    code: &str,
    values: [u64; COLUMNS.len()],
    format: &Format,
) -> Result<(), XlsxError> {
    sheet.write_string_with_format(row, 0, name, format)?;
    sheet.write_string_with_format(row, 1, code, format)?;
    for (k, v) in values.iter().enumerate() {
        // Counts stay far below 2^53: exact as f64.
        sheet.write_number_with_format(row, FIRST_NUMBER_COL + k as ColNum, *v as f64, format)?;
    }
    Ok(())
}

fn date(day: Day) -> String {
    let (y, m, d) = day.ymd();
    format!("{d:02}.{m:02}.{y:04}")
}

fn workbook(report: &Report1Ol, issued: Option<&IssuedReport>) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let title = Format::new().set_bold();
    let head = Format::new()
        .set_bold()
        .set_text_wrap()
        .set_align(FormatAlign::Center)
        .set_align(FormatAlign::VerticalCenter)
        .set_border(FormatBorder::Thin);
    let cell = Format::new().set_border(FormatBorder::Thin).set_text_wrap();
    let bold_cell = cell.clone().set_bold();
    let last_col = FIRST_NUMBER_COL + COLUMNS.len() as ColNum - 1;
    for (lang, name) in SHEETS {
        let sheet = book.add_worksheet();
        sheet.set_name(name)?;
        sheet.set_column_width(0, NAME_COL_WIDTH_CHARS)?;
        for col in 1..=last_col {
            sheet.set_column_width(col, NUMBER_COL_WIDTH_CHARS)?;
        }
        sheet.merge_range(0, 0, 0, last_col, lang.of(REPORT_TITLE), &title)?;
        sheet.merge_range(1, 0, 1, last_col, lang.of(SECTION5_TITLE), &title)?;
        sheet.write_string(2, 0, lang.of(PERIOD_LABEL))?;
        sheet.write_string(2, 1, format!("{} – {}", date(report.from), date(report.to)))?;
        if let Some(issued) = issued {
            sheet.write_string(3, 0, lang.of(VERSION_LABEL))?;
            sheet.write_string(
                3,
                1,
                format!("{} ({})", issued.version, date(issued.issued_on)),
            )?;
        }
        if report.incomplete {
            sheet.write_string(4, 0, lang.of(NOT_IN_THE_SEEDS_NOTE))?;
        }

        // Column headings: single headings span both heading rows; grouped ones sit under
        // their group's heading, which spans the group.
        let sub = HEADER_ROW + 1;
        sheet.merge_range(HEADER_ROW, 0, sub, 0, lang.of(ROW_NAMES), &head)?;
        sheet.merge_range(HEADER_ROW, 1, sub, 1, lang.of(ROW_CODE), &head)?;
        let mut i = 0;
        while i < COLUMNS.len() {
            let col = FIRST_NUMBER_COL + i as ColNum;
            match COLUMNS[i].group {
                None => {
                    sheet.merge_range(
                        HEADER_ROW,
                        col,
                        sub,
                        col,
                        lang.of(COLUMNS[i].title),
                        &head,
                    )?;
                    i += 1;
                }
                Some(group) => {
                    let span = COLUMNS[i..]
                        .iter()
                        .take_while(|c| c.group == Some(group))
                        .count();
                    let last = col + span as ColNum - 1;
                    sheet.merge_range(HEADER_ROW, col, HEADER_ROW, last, lang.of(group), &head)?;
                    for (k, c) in COLUMNS[i..i + span].iter().enumerate() {
                        sheet.write_string_with_format(
                            sub,
                            col + k as ColNum,
                            lang.of(c.title),
                            &head,
                        )?;
                    }
                    i += span;
                }
            }
        }
        let mut row = sub + 1;
        sheet.merge_range(row, 0, row, last_col, lang.of(ROWS_HEADING), &cell)?;
        row += 1;

        for r in &report.section5.rows {
            let name = match lang {
                Lang::Kk => &r.body.name_kk,
                Lang::Ru => &r.body.name_ru,
            };
            let code = r.body.code.as_deref().unwrap_or("");
            write_row(sheet, row, name, code, r.cells.values(), &cell)?;
            row += 1;
        }
        write_row(
            sheet,
            row,
            lang.of(TOTAL_ROW),
            "",
            report.section5.total.values(),
            &bold_cell,
        )?;
        row += 1;

        if let Some(issued) = issued.filter(|i| !i.changes.is_empty()) {
            row += 1;
            sheet.write_string_with_format(row, 0, lang.of(CHANGES_LABEL), &title)?;
            row += 1;
            for change in &issued.changes {
                let body = match &change.body {
                    None => lang.of(TOTAL_ROW).to_string(),
                    Some(id) => report
                        .section5
                        .rows
                        .iter()
                        .find(|r| &r.body.id == id)
                        .map(|r| match lang {
                            Lang::Kk => r.body.name_kk.clone(),
                            Lang::Ru => r.body.name_ru.clone(),
                        })
                        .unwrap_or_else(|| id.clone()),
                };
                let column = COLUMNS
                    .iter()
                    .find(|c| c.key == change.column)
                    .map_or(change.column.as_str(), |c| lang.of(c.title));
                sheet.write_string_with_format(row, 0, body, &cell)?;
                sheet.write_string_with_format(row, 1, column, &cell)?;
                sheet.write_number_with_format(row, 2, change.before as f64, &cell)?;
                sheet.write_number_with_format(row, 3, change.after as f64, &cell)?;
                row += 1;
            }
        }
    }
    book.save_to_buffer()
}
