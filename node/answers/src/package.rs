//! The letter as a DOCX package: built with docx-rs, then re-packed once.
//!
//! docx-rs lays out paragraphs, the table and the pictures. The re-pack does what it cannot:
//! - `w:lang` (kk-KZ / ru-RU) on every run and in the document defaults: docx-rs has no
//!   language property, so `<w:lang>` is added as the last child of every `w:rPr` (its place in
//!   CT_RPr for the properties used here). A literal `</w:rPr>` can only be markup, since `<` in
//!   text is always escaped;
//! - pictures: docx-rs names every media part `*.png`; ours are the JPEG bytes as they came
//!   (never decoded), so the parts are renamed `*.jpeg` (content type `image/jpeg`) and the
//!   relationships follow;
//! - determinism: fixed ZIP timestamps, no directory entries, XML deflated, JPEG stored.

use std::io::{Cursor, Read, Write};

use docx_rs::{
    AlignmentType, Docx, LineSpacing, LineSpacingType, PageMargin, Paragraph, Pic, Run, RunFonts,
    SpecialIndentType, Tab, TabValueType, Table, TableCell, TableRow, WidthType,
};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipArchive, ZipWriter};

use crate::templates::{Block, Letter};
use crate::{AnswerError, Lang};

/// The font R12 prescribes.
pub const FONT: &str = "Times New Roman";
/// 14 pt in half-points (`w:sz`, `w:szCs`).
pub const FONT_HALF_POINTS: usize = 28;

/// A4 in twentieths of a point.
const PAGE_WIDTH_TWIPS: u32 = 11_906;
const PAGE_HEIGHT_TWIPS: u32 = 16_838;
/// Margins of an official letter: top and bottom 20 mm, left 30 mm, right 15 mm.
const MARGIN_TOP_TWIPS: i32 = 1_134;
const MARGIN_BOTTOM_TWIPS: i32 = 1_134;
const MARGIN_LEFT_TWIPS: i32 = 1_701;
const MARGIN_RIGHT_TWIPS: i32 = 850;
/// The width of the text column.
const TEXT_WIDTH_TWIPS: usize =
    PAGE_WIDTH_TWIPS as usize - MARGIN_LEFT_TWIPS as usize - MARGIN_RIGHT_TWIPS as usize;
/// First-line indent of body paragraphs: 1.25 cm.
const FIRST_LINE_INDENT_TWIPS: i32 = 709;
/// Where the addressee block starts: the right half of the text column.
const ADDRESSEE_INDENT_TWIPS: i32 = 4_678;
/// Single line spacing (240 = one line).
const LINE_SINGLE: i32 = 240;
/// Space above a picture: 6 pt.
const IMAGE_SPACE_BEFORE_TWIPS: u32 = 120;
/// EMU per twip (914 400 EMU per inch, 1 440 twips per inch).
const EMU_PER_TWIP: u64 = 635;
/// EMU per pixel at 96 dpi.
const EMU_PER_PX: u64 = 9_525;
/// Largest picture on the page: the text width, and 20 cm high.
const IMAGE_WIDTH_MAX_EMU: u64 = TEXT_WIDTH_TWIPS as u64 * EMU_PER_TWIP;
const IMAGE_HEIGHT_MAX_EMU: u64 = 7_200_000;

fn fonts() -> RunFonts {
    RunFonts::new()
        .ascii(FONT)
        .hi_ansi(FONT)
        .east_asia(FONT)
        .cs(FONT)
}

fn run(text: &str) -> Run {
    Run::new()
        .add_text(text)
        .fonts(fonts())
        .size(FONT_HALF_POINTS)
}

/// A paragraph with single spacing and the paragraph mark in the letter's font and size. Its
/// `w14:paraId` is the next of `ids`: docx-rs would take a thread-local counter, which makes
/// the output depend on what the thread rendered before.
fn paragraph(ids: &mut u32) -> Paragraph {
    *ids += 1;
    Paragraph::new()
        .id(format!("{:08X}", *ids))
        .line_spacing(
            LineSpacing::new()
                .before(0)
                .after(0)
                .line(LINE_SINGLE)
                .line_rule(LineSpacingType::Auto),
        )
        .fonts(fonts())
        .size(FONT_HALF_POINTS)
}

fn body(ids: &mut u32, text: &str) -> Paragraph {
    paragraph(ids)
        .align(AlignmentType::Both)
        .indent(
            None,
            Some(SpecialIndentType::FirstLine(FIRST_LINE_INDENT_TWIPS)),
            None,
            None,
        )
        .add_run(run(text))
}

fn table(ids: &mut u32, t: &crate::AnswerTable) -> Table {
    let cols = t.header.len().max(1);
    let width = TEXT_WIDTH_TWIPS / cols;
    let mut cell = |text: &str, header: bool| {
        let mut c = TableCell::new().width(width, WidthType::Dxa);
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        let lines = if lines.is_empty() { vec![""] } else { lines };
        for l in lines {
            let mut r = run(l);
            if header {
                r = r.bold();
            }
            let align = if header {
                AlignmentType::Center
            } else {
                AlignmentType::Left
            };
            c = c.add_paragraph(paragraph(ids).align(align).add_run(r));
        }
        c
    };
    let mut rows = vec![TableRow::new(
        t.header.iter().map(|h| cell(h.trim(), true)).collect(),
    )];
    for row in &t.rows {
        rows.push(TableRow::new(
            row.iter().map(|v| cell(v.trim(), false)).collect(),
        ));
    }
    Table::new(rows)
        .set_grid(vec![width; cols])
        .width(width * cols, WidthType::Dxa)
}

/// The picture size on the page: its pixels at 96 dpi, shrunk to fit the text column.
fn picture_size(width_px: u32, height_px: u32) -> (u32, u32) {
    let (w, h) = (
        u64::from(width_px) * EMU_PER_PX,
        u64::from(height_px) * EMU_PER_PX,
    );
    // Scale by the tighter of the two limits, keeping the aspect ratio; never enlarge.
    let (num, den) = if w * IMAGE_HEIGHT_MAX_EMU > h * IMAGE_WIDTH_MAX_EMU {
        (IMAGE_WIDTH_MAX_EMU, w)
    } else {
        (IMAGE_HEIGHT_MAX_EMU, h)
    };
    let (w, h) = if num < den {
        (w * num / den, h * num / den)
    } else {
        (w, h)
    };
    (
        u32::try_from(w.max(1)).unwrap_or(u32::MAX),
        u32::try_from(h.max(1)).unwrap_or(u32::MAX),
    )
}

fn build(letter: &Letter<'_>) -> Docx {
    // docProps/core.xml: created and modified on the answer date (no clock here).
    let date = format!(
        "{:04}-{:02}-{:02}T00:00:00Z",
        letter.date.year, letter.date.month, letter.date.day
    );
    let mut doc = Docx::new()
        .created_at(&date)
        .updated_at(&date)
        .page_size(PAGE_WIDTH_TWIPS, PAGE_HEIGHT_TWIPS)
        .page_margin(
            PageMargin::new()
                .top(MARGIN_TOP_TWIPS)
                .bottom(MARGIN_BOTTOM_TWIPS)
                .left(MARGIN_LEFT_TWIPS)
                .right(MARGIN_RIGHT_TWIPS),
        )
        .default_fonts(fonts())
        .default_size(FONT_HALF_POINTS);
    let mut pictures = 0usize;
    let mut ids = 0u32;
    let ids = &mut ids;
    for block in &letter.blocks {
        doc = match block {
            Block::Authority(s) => doc.add_paragraph(
                paragraph(ids)
                    .align(AlignmentType::Center)
                    .add_run(run(s).bold()),
            ),
            Block::Line(s) => doc.add_paragraph(paragraph(ids).add_run(run(s))),
            Block::Addressee(lines) => {
                let mut d = doc;
                for l in lines {
                    d = d.add_paragraph(
                        paragraph(ids)
                            .indent(Some(ADDRESSEE_INDENT_TWIPS), None, None, None)
                            .add_run(run(l)),
                    );
                }
                d
            }
            Block::Body(s) => doc.add_paragraph(body(ids, s)),
            Block::Blank => doc.add_paragraph(paragraph(ids)),
            Block::Table(t) => doc.add_table(table(ids, t)),
            Block::Image {
                bytes,
                info,
                caption,
            } => {
                pictures += 1;
                let (w, h) = picture_size(info.width, info.height);
                let pic = Pic::new_with_dimensions(bytes.to_vec(), info.width, info.height)
                    .id(format!("rIdImage{pictures}"))
                    .size(w, h);
                doc.add_paragraph(
                    paragraph(ids)
                        .line_spacing(
                            LineSpacing::new()
                                .before(IMAGE_SPACE_BEFORE_TWIPS)
                                .after(0)
                                .line(LINE_SINGLE)
                                .line_rule(LineSpacingType::Auto),
                        )
                        .align(AlignmentType::Center)
                        .keep_next(true)
                        .add_run(
                            Run::new()
                                .add_image(pic)
                                .fonts(fonts())
                                .size(FONT_HALF_POINTS),
                        ),
                )
                .add_paragraph(
                    paragraph(ids)
                        .align(AlignmentType::Center)
                        .add_run(run(caption)),
                )
            }
            Block::Signature { position, name } => doc.add_paragraph(
                paragraph(ids)
                    .add_tab(Tab::new().val(TabValueType::Right).pos(TEXT_WIDTH_TWIPS))
                    .add_run(run(position))
                    .add_run(run("").add_tab())
                    .add_run(run(name)),
            ),
            Block::Executor(s) => doc.add_paragraph(paragraph(ids).add_run(run(s))),
        };
    }
    doc
}

/// The letter as DOCX bytes.
pub fn render(letter: &Letter<'_>, lang: Lang) -> Result<Vec<u8>, AnswerError> {
    let mut raw = Cursor::new(Vec::new());
    build(letter).build().pack(&mut raw).map_err(pack_error)?;
    repack(&raw.into_inner(), lang)
}

fn pack_error(e: impl std::fmt::Display) -> AnswerError {
    AnswerError::Pack {
        detail: e.to_string(),
    }
}

/// Adds `<w:lang>` to every run-property element.
fn add_lang(xml: &str, lang: Lang) -> String {
    let tag = format!(r#"<w:lang w:val="{}" />"#, lang.tag());
    xml.replace("<w:rPr />", "<w:rPr></w:rPr>")
        .replace("<w:rPr/>", "<w:rPr></w:rPr>")
        .replace("</w:rPr>", &format!("{tag}</w:rPr>"))
}

const MEDIA_PREFIX: &str = "word/media/";

fn repack(raw: &[u8], lang: Lang) -> Result<Vec<u8>, AnswerError> {
    let mut archive = ZipArchive::new(Cursor::new(raw)).map_err(pack_error)?;
    let mut parts = Vec::with_capacity(archive.len());
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).map_err(pack_error)?;
        if file.is_dir() {
            continue;
        }
        let name = file.name().to_string();
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(pack_error)?;
        parts.push((name, bytes));
    }
    // The media parts docx-rs wrote (all of them ours, all JPEG): "<id>.png" → "<id>.jpeg".
    let renames: Vec<(String, String)> = parts
        .iter()
        .filter_map(|(name, _)| {
            let stem = name.strip_prefix(MEDIA_PREFIX)?.strip_suffix(".png")?;
            Some((format!("media/{stem}.png"), format!("media/{stem}.jpeg")))
        })
        .collect();

    let mut out = ZipWriter::new(Cursor::new(Vec::new()));
    let xml = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(DateTime::default())
        .unix_permissions(0o644);
    let stored = xml.compression_method(CompressionMethod::Stored);
    for (name, bytes) in parts {
        if let Some(rest) = name.strip_prefix(MEDIA_PREFIX) {
            let name = match rest.strip_suffix(".png") {
                Some(stem) => format!("{MEDIA_PREFIX}{stem}.jpeg"),
                None => name,
            };
            out.start_file(name, stored).map_err(pack_error)?;
            out.write_all(&bytes).map_err(pack_error)?;
            continue;
        }
        let text = String::from_utf8(bytes).map_err(pack_error)?;
        let text = match name.as_str() {
            "word/document.xml" | "word/styles.xml" => add_lang(&text, lang),
            "word/_rels/document.xml.rels" => renames.iter().fold(text, |t, (from, to)| {
                t.replace(&format!("\"{from}\""), &format!("\"{to}\""))
            }),
            "[Content_Types].xml" if !text.contains(r#"Extension="jpeg""#) => text.replacen(
                "<Default ",
                r#"<Default Extension="jpeg" ContentType="image/jpeg" /><Default "#,
                1,
            ),
            _ => text,
        };
        out.start_file(name, xml).map_err(pack_error)?;
        out.write_all(text.as_bytes()).map_err(pack_error)?;
    }
    Ok(out.finish().map_err(pack_error)?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r12_pictures_fit_the_text_column_and_keep_their_shape() {
        // Small: kept at 96 dpi.
        assert_eq!(picture_size(160, 120), (160 * 9_525, 120 * 9_525));
        // Wide: shrunk to the column width.
        let (w, h) = picture_size(4_000, 1_000);
        assert_eq!(u64::from(w), IMAGE_WIDTH_MAX_EMU);
        assert_eq!(u64::from(h), IMAGE_WIDTH_MAX_EMU / 4);
        // Tall: shrunk to the height limit.
        let (w, h) = picture_size(1_000, 8_000);
        assert_eq!(u64::from(h), IMAGE_HEIGHT_MAX_EMU);
        assert_eq!(u64::from(w), IMAGE_HEIGHT_MAX_EMU / 8);
        // A sliver stays at least 1 EMU high.
        let (w, h) = picture_size(65_535, 1);
        assert_eq!(u64::from(w), IMAGE_WIDTH_MAX_EMU);
        assert!(h >= 1);
    }

    #[test]
    fn r12_lang_goes_into_every_run_property() {
        let xml = r#"<w:r><w:rPr><w:sz w:val="28" /></w:rPr></w:r><w:rPr />"#;
        assert_eq!(
            add_lang(xml, Lang::Kk),
            r#"<w:r><w:rPr><w:sz w:val="28" /><w:lang w:val="kk-KZ" /></w:rPr></w:r><w:rPr><w:lang w:val="kk-KZ" /></w:rPr>"#
        );
    }
}
