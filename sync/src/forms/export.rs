//! The forms as files: CSV (one row per field, for the prosecutor's information system) and XLSX
//! (one sheet per card, headings in Kazakh and Russian). Both say, per form, that its layout is
//! not in the seeds. Formats documented in node/API.md ("Accounting forms").

use rust_xlsxwriter::{Format, Workbook, XlsxError};

use super::model::source_words;
use super::{AppealForms, Form};

/// The CSV's columns, in order.
pub const CSV_COLUMNS: [&str; 20] = [
    "format",
    "region",
    "appeal_id",
    "appeal_number",
    "form",
    "form_seq",
    "layout_complete",
    "layout_source",
    "field",
    "name_ru",
    "name_kk",
    "name_source",
    "auto",
    "required",
    "missing",
    "source",
    "source_kind",
    "value",
    "value_code",
    "tag",
];

fn cells(forms: &AppealForms, f: &Form) -> Vec<[String; 20]> {
    f.fields
        .iter()
        .map(|x| {
            let v = x.value.as_ref();
            [
                forms.format.clone(),
                forms.region.clone(),
                forms.appeal_id.clone(),
                forms.number.clone().unwrap_or_default(),
                f.code.clone(),
                f.seq.to_string(),
                f.layout_complete.to_string(),
                f.layout_source.clone(),
                x.number.to_string(),
                x.name_ru.clone().unwrap_or_default(),
                x.name_kk.clone().unwrap_or_default(),
                x.name_source.clone(),
                x.auto.to_string(),
                x.required.to_string(),
                f.missing.contains(&x.number).to_string(),
                x.source.clone(),
                x.source_kind.clone(),
                v.map(|v| v.text.clone()).unwrap_or_default(),
                v.and_then(|v| v.code.clone()).unwrap_or_default(),
                x.tag.clone().unwrap_or_default(),
            ]
        })
        .collect()
}

/// CSV, UTF-8, comma-separated, a header row of [`CSV_COLUMNS`], one row per field of every card.
pub fn csv(forms: &AppealForms) -> Result<Vec<u8>, String> {
    let mut w = ::csv::Writer::from_writer(Vec::new());
    w.write_record(CSV_COLUMNS).map_err(|e| e.to_string())?;
    for f in forms.all() {
        for row in cells(forms, f) {
            w.write_record(&row).map_err(|e| e.to_string())?;
        }
    }
    w.into_inner().map_err(|e| e.to_string())
}

/// A sheet's name: «ОЛ-1», «З-1 (2)», «ОЛ-2 (3)» (Excel: at most 31 characters, no `[]:*?/\`).
fn sheet_name(f: &Form) -> String {
    format!("{} ({})", f.code, f.seq)
}

/// The XLSX workbook: one sheet per card.
pub fn xlsx(forms: &AppealForms) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let warn = Format::new().set_bold().set_font_color(0xC0_0000);
    for f in forms.all() {
        let sheet = book.add_worksheet();
        sheet.set_name(sheet_name(f))?;
        sheet.write_string_with_format(0, 0, format!("{} / {}", f.title_kk, f.title_ru), &bold)?;
        sheet.write_string(
            1,
            0,
            format!(
                "Өтініш / Обращение: {} ({})",
                forms.number.as_deref().unwrap_or("—"),
                forms.appeal_id
            ),
        )?;
        if !f.layout_complete {
            // Kazakh: our translation.
            sheet.write_string_with_format(
                2,
                0,
                "Нысан толық емес: ресми нысан дереккөздерде жоқ / Форма неполная: официальный макет отсутствует в источниках",
                &warn,
            )?;
        }
        // Kazakh: our translation.
        let header = [
            "№",
            "Атауы / Наименование",
            "Мәні / Значение",
            "Автоматты / Автоматически",
            "Міндетті / Обязательный",
            "Толтырылмаған / Не заполнено",
            "Дереккөз / Источник",
            "Тег",
            "Негіз / Основание",
        ];
        for (c, h) in header.iter().enumerate() {
            sheet.write_string_with_format(4, c as u16, *h, &bold)?;
        }
        let yes_no = |b: bool| if b { "иә / да" } else { "жоқ / нет" };
        for (i, x) in f.fields.iter().enumerate() {
            let r = 5 + i as u32;
            let name = match (&x.name_kk, &x.name_ru) {
                (Some(kk), Some(ru)) => format!("{kk} / {ru}"),
                _ => "(атауы дереккөздерде жоқ / наименование не приведено в источниках)".into(),
            };
            let (src_kk, src_ru) = source_words(&x.source_kind);
            // The rule the field rests on: «004 p.23» is p.23 of the Rules as order 170 words it.
            let basis = x
                .seed
                .strip_prefix("004 p.")
                .and_then(|r| r.split(':').next())
                .map(|p| format!("Ереженің {p}-т. / п. {p} Правил"))
                .unwrap_or_default();
            let value = x
                .value
                .as_ref()
                .map(|v| match (&v.kk, &v.ru) {
                    (Some(kk), Some(ru)) if kk != ru => format!("{kk} / {}", v.text),
                    _ => v.text.clone(),
                })
                .unwrap_or_default();
            sheet.write_number(r, 0, f64::from(x.number))?;
            sheet.write_string(r, 1, name)?;
            sheet.write_string(r, 2, value)?;
            sheet.write_string(r, 3, yes_no(x.auto))?;
            sheet.write_string(r, 4, yes_no(x.required))?;
            sheet.write_string(r, 5, yes_no(f.missing.contains(&x.number)))?;
            sheet.write_string(r, 6, format!("{src_kk} / {src_ru}"))?;
            sheet.write_string(r, 7, x.tag.clone().unwrap_or_default())?;
            sheet.write_string(r, 8, basis)?;
        }
        for (r, c) in (6 + f.fields.len() as u32..).zip(&f.checks) {
            sheet.write_string_with_format(
                r,
                0,
                format!(
                    "Реквизит {}: мекенжай өтініштегі пошта мекенжайымен сәйкес келмейді / не совпадает с почтовым адресом в обращении: {}",
                    c.field,
                    c.params["register"].as_str().unwrap_or_default()
                ),
                &warn,
            )?;
        }
        sheet.set_column_width(1, 30)?;
        sheet.set_column_width(2, 40)?;
        sheet.set_column_width(6, 30)?;
        sheet.set_column_width(8, 60)?;
    }
    book.save_to_buffer()
}
