//! A letter or a meeting document as a DOCX package (WordprocessingML, ECMA-376 transitional), written directly.
//!
//! Why not docx-rs: its output (0.4.22) puts the children of `w:pPr`, `w:rPr`, styles and
//! settings out of the schema's sequence (Word then reports unreadable content or drops the
//! property, e.g. the font after `w:sz`), it has no `w:lang`, it names every picture `*.png`,
//! its `Pic::new` re-encodes images to PNG, and its paragraph and picture ids come from global
//! counters. The subset an answer letter needs (paragraphs, runs, one table, inline pictures,
//! one section) is small, so it is written here in schema order and packed with `zip`.
//!
//! Every run carries `w:rFonts` (Times New Roman for ascii, hAnsi, eastAsia and cs), `w:sz` and
//! `w:szCs` 28 (14 pt) and `w:lang` of the answer; `word/styles.xml` has the same document
//! defaults. JPEG parts are stored as they came (`word/media/imageN.jpeg`, `image/jpeg`). The
//! ZIP timestamps are fixed and the package dates are the answer date, so the same letter gives
//! the same bytes.

use std::fmt::Write as _;
use std::io::{Cursor, Write as _};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use crate::model::{AnswerError, AnswerTable, Lang};
use crate::templates::{Block, Letter};

/// The font R12 prescribes.
pub const FONT: &str = "Times New Roman";
/// 14 pt in half-points (`w:sz`, `w:szCs`).
pub const FONT_HALF_POINTS: u32 = 28;

/// A4 in twentieths of a point.
const PAGE_WIDTH_TWIPS: u32 = 11_906;
const PAGE_HEIGHT_TWIPS: u32 = 16_838;
/// Margins of an official letter: top and bottom 20 mm, left 30 mm, right 15 mm.
const MARGIN_TOP_TWIPS: u32 = 1_134;
const MARGIN_BOTTOM_TWIPS: u32 = 1_134;
const MARGIN_LEFT_TWIPS: u32 = 1_701;
const MARGIN_RIGHT_TWIPS: u32 = 850;
/// Header and footer distance from the edge: 12.5 mm.
const HEADER_FOOTER_TWIPS: u32 = 709;
/// The width of the text column.
const TEXT_WIDTH_TWIPS: u32 = PAGE_WIDTH_TWIPS - MARGIN_LEFT_TWIPS - MARGIN_RIGHT_TWIPS;
/// First-line indent of body paragraphs: 1.25 cm.
const FIRST_LINE_INDENT_TWIPS: u32 = 709;
/// Where the addressee block starts: the right half of the text column.
const ADDRESSEE_INDENT_TWIPS: u32 = 4_678;
/// Single line spacing (240 = one line).
const LINE_SINGLE: u32 = 240;
/// Default tab stop: 1.25 cm.
const DEFAULT_TAB_TWIPS: u32 = 709;
/// Space above a picture: 6 pt.
const IMAGE_SPACE_BEFORE_TWIPS: u32 = 120;
/// Space above a section heading: 12 pt.
const HEADING_SPACE_BEFORE_TWIPS: u32 = 240;
/// Table borders: single, ½ pt (in eighths of a point).
const TABLE_BORDER_EIGHTHS: u32 = 4;
/// EMU per twip (914 400 EMU per inch, 1 440 twips per inch).
const EMU_PER_TWIP: u64 = 635;
/// EMU per pixel at 96 dpi.
const EMU_PER_PX: u64 = 9_525;
/// Largest picture on the page: the text width, and 20 cm high.
const IMAGE_WIDTH_MAX_EMU: u64 = TEXT_WIDTH_TWIPS as u64 * EMU_PER_TWIP;
const IMAGE_HEIGHT_MAX_EMU: u64 = 7_200_000;

const NS_W: &str = "http://schemas.openxmlformats.org/wordprocessingml/2006/main";
const NS_R: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
const NS_WP: &str = "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing";
const NS_A: &str = "http://schemas.openxmlformats.org/drawingml/2006/main";
const NS_PIC: &str = "http://schemas.openxmlformats.org/drawingml/2006/picture";
const NS_PKG_REL: &str = "http://schemas.openxmlformats.org/package/2006/relationships";
const REL_DOC: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
const XML_DECL: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"#;

/// Escapes text for element content and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

/// Run properties in EG_RPrBase order: rFonts, b, bCs, sz, szCs, lang.
fn rpr(lang: Lang, bold: bool) -> String {
    format!(
        r#"<w:rPr><w:rFonts w:ascii="{FONT}" w:hAnsi="{FONT}" w:eastAsia="{FONT}" w:cs="{FONT}"/>{}<w:sz w:val="{FONT_HALF_POINTS}"/><w:szCs w:val="{FONT_HALF_POINTS}"/><w:lang w:val="{}"/></w:rPr>"#,
        if bold { "<w:b/><w:bCs/>" } else { "" },
        lang.tag()
    )
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Align {
    Left,
    Center,
    Both,
}

/// Paragraph properties in CT_PPr order: keepNext, tabs, spacing, ind, jc, rPr.
#[derive(Clone, Copy)]
struct Para {
    align: Align,
    first_line: u32,
    left: u32,
    space_before: u32,
    keep_next: bool,
    right_tab: bool,
}

impl Para {
    const PLAIN: Para = Para {
        align: Align::Left,
        first_line: 0,
        left: 0,
        space_before: 0,
        keep_next: false,
        right_tab: false,
    };

    fn ppr(self, lang: Lang) -> String {
        let mut s = String::from("<w:pPr>");
        if self.keep_next {
            s.push_str("<w:keepNext/>");
        }
        if self.right_tab {
            let _ = write!(
                s,
                r#"<w:tabs><w:tab w:val="right" w:pos="{TEXT_WIDTH_TWIPS}"/></w:tabs>"#
            );
        }
        let _ = write!(
            s,
            r#"<w:spacing w:before="{}" w:after="0" w:line="{LINE_SINGLE}" w:lineRule="auto"/>"#,
            self.space_before
        );
        if self.left > 0 || self.first_line > 0 {
            let _ = write!(
                s,
                r#"<w:ind w:left="{}" w:firstLine="{}"/>"#,
                self.left, self.first_line
            );
        }
        s.push_str(match self.align {
            Align::Left => r#"<w:jc w:val="left"/>"#,
            Align::Center => r#"<w:jc w:val="center"/>"#,
            Align::Both => r#"<w:jc w:val="both"/>"#,
        });
        s.push_str(&rpr(lang, false));
        s.push_str("</w:pPr>");
        s
    }
}

/// Writes `word/document.xml` and collects the pictures.
struct Writer<'a> {
    lang: Lang,
    xml: String,
    pictures: Vec<&'a [u8]>,
}

impl<'a> Writer<'a> {
    fn run(&mut self, text: &str, bold: bool) {
        let _ = write!(
            self.xml,
            r#"<w:r>{}<w:t xml:space="preserve">{}</w:t></w:r>"#,
            rpr(self.lang, bold),
            esc(text)
        );
    }

    fn paragraph(&mut self, p: Para, text: &str, bold: bool) {
        self.xml.push_str("<w:p>");
        self.xml.push_str(&p.ppr(self.lang));
        if !text.is_empty() {
            self.run(text, bold);
        }
        self.xml.push_str("</w:p>");
    }

    fn table(&mut self, t: &AnswerTable) {
        let cols = u32::try_from(t.header.len().max(1)).unwrap_or(1);
        let width = TEXT_WIDTH_TWIPS / cols;
        let border = |side: &str| {
            format!(
                r#"<w:{side} w:val="single" w:sz="{TABLE_BORDER_EIGHTHS}" w:space="0" w:color="000000"/>"#
            )
        };
        let _ = write!(
            self.xml,
            r#"<w:tbl><w:tblPr><w:tblW w:w="{}" w:type="dxa"/><w:tblBorders>{}{}{}{}{}{}</w:tblBorders><w:tblLayout w:type="fixed"/></w:tblPr><w:tblGrid>"#,
            width * cols,
            border("top"),
            border("left"),
            border("bottom"),
            border("right"),
            border("insideH"),
            border("insideV"),
        );
        for _ in 0..cols {
            let _ = write!(self.xml, r#"<w:gridCol w:w="{width}"/>"#);
        }
        self.xml.push_str("</w:tblGrid>");
        let header = t.header.iter().map(String::as_str).collect::<Vec<_>>();
        self.row(&header, width, true);
        for row in &t.rows {
            let cells = row.iter().map(String::as_str).collect::<Vec<_>>();
            self.row(&cells, width, false);
        }
        self.xml.push_str("</w:tbl>");
    }

    fn row(&mut self, cells: &[&str], width: u32, header: bool) {
        self.xml.push_str("<w:tr>");
        if header {
            // The header row repeats on every page the table runs over.
            self.xml.push_str("<w:trPr><w:tblHeader/></w:trPr>");
        }
        let para = Para {
            align: if header { Align::Center } else { Align::Left },
            ..Para::PLAIN
        };
        for cell in cells {
            let _ = write!(
                self.xml,
                r#"<w:tc><w:tcPr><w:tcW w:w="{width}" w:type="dxa"/></w:tcPr>"#
            );
            // A cell holds at least one paragraph; a line break in the text starts another.
            let lines: Vec<&str> = cell.trim().lines().map(str::trim).collect();
            if lines.is_empty() {
                self.paragraph(para, "", header);
            }
            for line in lines {
                self.paragraph(para, line, header);
            }
            self.xml.push_str("</w:tc>");
        }
        self.xml.push_str("</w:tr>");
    }

    fn picture(&mut self, bytes: &'a [u8], width_px: u32, height_px: u32) {
        self.pictures.push(bytes);
        let n = self.pictures.len();
        let (cx, cy) = picture_size(width_px, height_px);
        let p = Para {
            align: Align::Center,
            space_before: IMAGE_SPACE_BEFORE_TWIPS,
            keep_next: true,
            ..Para::PLAIN
        };
        self.xml.push_str("<w:p>");
        self.xml.push_str(&p.ppr(self.lang));
        let _ = write!(
            self.xml,
            r#"<w:r>{rpr}<w:drawing><wp:inline distT="0" distB="0" distL="0" distR="0"><wp:extent cx="{cx}" cy="{cy}"/><wp:docPr id="{n}" name="Picture {n}"/><a:graphic xmlns:a="{NS_A}"><a:graphicData uri="{NS_PIC}"><pic:pic xmlns:pic="{NS_PIC}"><pic:nvPicPr><pic:cNvPr id="{n}" name="image{n}.jpeg"/><pic:cNvPicPr/></pic:nvPicPr><pic:blipFill><a:blip r:embed="rIdImage{n}"/><a:stretch><a:fillRect/></a:stretch></pic:blipFill><pic:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="{cx}" cy="{cy}"/></a:xfrm><a:prstGeom prst="rect"><a:avLst/></a:prstGeom></pic:spPr></pic:pic></a:graphicData></a:graphic></wp:inline></w:drawing></w:r>"#,
            rpr = rpr(self.lang, false)
        );
        self.xml.push_str("</w:p>");
    }

    fn signature(&mut self, position: &str, name: &str) {
        let p = Para {
            right_tab: true,
            ..Para::PLAIN
        };
        self.xml.push_str("<w:p>");
        self.xml.push_str(&p.ppr(self.lang));
        self.run(position, false);
        let _ = write!(self.xml, "<w:r>{}<w:tab/></w:r>", rpr(self.lang, false));
        self.run(name, false);
        self.xml.push_str("</w:p>");
    }
}

/// The picture size on the page: its pixels at 96 dpi, shrunk to fit the text column.
fn picture_size(width_px: u32, height_px: u32) -> (u64, u64) {
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
    (w.max(1), h.max(1))
}

fn document_xml<'a>(letter: &Letter<'a>, lang: Lang) -> (String, Vec<&'a [u8]>) {
    let mut w = Writer {
        lang,
        xml: format!(
            r#"{XML_DECL}<w:document xmlns:w="{NS_W}" xmlns:r="{NS_R}" xmlns:wp="{NS_WP}"><w:body>"#
        ),
        pictures: Vec::new(),
    };
    let body = Para {
        align: Align::Both,
        first_line: FIRST_LINE_INDENT_TWIPS,
        ..Para::PLAIN
    };
    for block in &letter.blocks {
        match block {
            Block::Authority(s) => w.paragraph(
                Para {
                    align: Align::Center,
                    ..Para::PLAIN
                },
                s,
                true,
            ),
            Block::Heading(s) => w.paragraph(
                Para {
                    space_before: HEADING_SPACE_BEFORE_TWIPS,
                    keep_next: true,
                    ..Para::PLAIN
                },
                s,
                true,
            ),
            Block::Line(s) | Block::Executor(s) => w.paragraph(Para::PLAIN, s, false),
            Block::Addressee(lines) => {
                for l in lines {
                    let p = Para {
                        left: ADDRESSEE_INDENT_TWIPS,
                        ..Para::PLAIN
                    };
                    w.paragraph(p, l, false);
                }
            }
            Block::Body(s) => w.paragraph(body, s, false),
            Block::Blank => w.paragraph(Para::PLAIN, "", false),
            Block::Table(t) => w.table(t),
            Block::Image {
                bytes,
                info,
                caption,
            } => {
                w.picture(bytes, info.width, info.height);
                let p = Para {
                    align: Align::Center,
                    ..Para::PLAIN
                };
                w.paragraph(p, caption, false);
            }
            Block::Signature { position, name } => w.signature(position, name),
        }
    }
    let _ = write!(
        w.xml,
        r#"<w:sectPr><w:pgSz w:w="{PAGE_WIDTH_TWIPS}" w:h="{PAGE_HEIGHT_TWIPS}"/><w:pgMar w:top="{MARGIN_TOP_TWIPS}" w:right="{MARGIN_RIGHT_TWIPS}" w:bottom="{MARGIN_BOTTOM_TWIPS}" w:left="{MARGIN_LEFT_TWIPS}" w:header="{HEADER_FOOTER_TWIPS}" w:footer="{HEADER_FOOTER_TWIPS}" w:gutter="0"/></w:sectPr></w:body></w:document>"#
    );
    (w.xml, w.pictures)
}

fn styles_xml(lang: Lang) -> String {
    format!(
        r#"{XML_DECL}<w:styles xmlns:w="{NS_W}"><w:docDefaults><w:rPrDefault>{rpr}</w:rPrDefault><w:pPrDefault><w:pPr><w:spacing w:after="0" w:line="{LINE_SINGLE}" w:lineRule="auto"/></w:pPr></w:pPrDefault></w:docDefaults><w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/><w:qFormat/><w:rPr><w:rFonts w:ascii="{FONT}" w:hAnsi="{FONT}" w:eastAsia="{FONT}" w:cs="{FONT}"/><w:sz w:val="{FONT_HALF_POINTS}"/><w:szCs w:val="{FONT_HALF_POINTS}"/><w:lang w:val="{tag}"/></w:rPr></w:style><w:style w:type="table" w:default="1" w:styleId="TableNormal"><w:name w:val="Normal Table"/><w:tblPr><w:tblInd w:w="0" w:type="dxa"/><w:tblCellMar><w:top w:w="0" w:type="dxa"/><w:left w:w="108" w:type="dxa"/><w:bottom w:w="0" w:type="dxa"/><w:right w:w="108" w:type="dxa"/></w:tblCellMar></w:tblPr></w:style></w:styles>"#,
        rpr = rpr(lang, false),
        tag = lang.tag()
    )
}

fn settings_xml(lang: Lang) -> String {
    format!(
        r#"{XML_DECL}<w:settings xmlns:w="{NS_W}"><w:defaultTabStop w:val="{DEFAULT_TAB_TWIPS}"/><w:characterSpacingControl w:val="doNotCompress"/><w:compat><w:compatSetting w:name="compatibilityMode" w:uri="http://schemas.microsoft.com/office/word" w:val="15"/></w:compat><w:themeFontLang w:val="{}"/></w:settings>"#,
        lang.tag()
    )
}

fn content_types_xml() -> String {
    const CT: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml";
    format!(
        r#"{XML_DECL}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Default Extension="jpeg" ContentType="image/jpeg"/><Override PartName="/word/document.xml" ContentType="{CT}.document.main+xml"/><Override PartName="/word/styles.xml" ContentType="{CT}.styles+xml"/><Override PartName="/word/settings.xml" ContentType="{CT}.settings+xml"/><Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/></Types>"#
    )
}

fn package_rels_xml() -> String {
    format!(
        r#"{XML_DECL}<Relationships xmlns="{NS_PKG_REL}"><Relationship Id="rId1" Type="{REL_DOC}/officeDocument" Target="word/document.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/></Relationships>"#
    )
}

fn document_rels_xml(pictures: usize) -> String {
    let mut s = format!(
        r#"{XML_DECL}<Relationships xmlns="{NS_PKG_REL}"><Relationship Id="rId1" Type="{REL_DOC}/styles" Target="styles.xml"/><Relationship Id="rId2" Type="{REL_DOC}/settings" Target="settings.xml"/>"#
    );
    for n in 1..=pictures {
        let _ = write!(
            s,
            r#"<Relationship Id="rIdImage{n}" Type="{REL_DOC}/image" Target="media/image{n}.jpeg"/>"#
        );
    }
    s.push_str("</Relationships>");
    s
}

fn core_xml(letter: &Letter<'_>, lang: Lang) -> String {
    let d = letter.date;
    let date = format!("{:04}-{:02}-{:02}T00:00:00Z", d.year, d.month, d.day);
    format!(
        r#"{XML_DECL}<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:language>{}</dc:language><dcterms:created xsi:type="dcterms:W3CDTF">{date}</dcterms:created><dcterms:modified xsi:type="dcterms:W3CDTF">{date}</dcterms:modified></cp:coreProperties>"#,
        lang.tag()
    )
}

fn pack_error(e: impl std::fmt::Display) -> AnswerError {
    AnswerError::Pack {
        detail: e.to_string(),
    }
}

/// The letter as DOCX bytes.
pub fn render(letter: &Letter<'_>, lang: Lang) -> Result<Vec<u8>, AnswerError> {
    let (document, pictures) = document_xml(letter, lang);
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let deflated = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(DateTime::default())
        .unix_permissions(0o644);
    // JPEG is compressed already.
    let stored = deflated.compression_method(CompressionMethod::Stored);
    let parts = [
        ("[Content_Types].xml", content_types_xml()),
        ("_rels/.rels", package_rels_xml()),
        ("docProps/core.xml", core_xml(letter, lang)),
        ("word/document.xml", document),
        (
            "word/_rels/document.xml.rels",
            document_rels_xml(pictures.len()),
        ),
        ("word/styles.xml", styles_xml(lang)),
        ("word/settings.xml", settings_xml(lang)),
    ];
    for (name, xml) in parts {
        zip.start_file(name, deflated).map_err(pack_error)?;
        zip.write_all(xml.as_bytes()).map_err(pack_error)?;
    }
    for (i, bytes) in pictures.iter().enumerate() {
        zip.start_file(format!("word/media/image{}.jpeg", i + 1), stored)
            .map_err(pack_error)?;
        zip.write_all(bytes).map_err(pack_error)?;
    }
    Ok(zip.finish().map_err(pack_error)?.into_inner())
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
        assert_eq!(w, IMAGE_WIDTH_MAX_EMU);
        assert_eq!(h, IMAGE_WIDTH_MAX_EMU / 4);
        // Tall: shrunk to the height limit.
        let (w, h) = picture_size(1_000, 8_000);
        assert_eq!(h, IMAGE_HEIGHT_MAX_EMU);
        assert_eq!(w, IMAGE_HEIGHT_MAX_EMU / 8);
        // A sliver stays at least 1 EMU high.
        let (w, h) = picture_size(65_535, 1);
        assert_eq!(w, IMAGE_WIDTH_MAX_EMU);
        assert!(h >= 1);
    }

    #[test]
    fn r12_text_is_escaped() {
        assert_eq!(esc(r#"a<b>&"c""#), "a&lt;b&gt;&amp;&quot;c&quot;");
    }

    #[test]
    fn r12_run_properties_are_in_schema_order() {
        let r = rpr(Lang::Ru, true);
        let order = [
            "<w:rFonts",
            "<w:b/>",
            "<w:bCs/>",
            "<w:sz ",
            "<w:szCs ",
            "<w:lang ",
        ];
        let at: Vec<usize> = order.iter().map(|t| r.find(t).unwrap()).collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{r}");
    }
}
