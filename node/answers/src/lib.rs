//! The answer to a citizen's appeal as a Word document (R12, seed 001 p.21–22), and through the
//! same writer the district inspector's draft report and meeting protocol ([`meeting`], R24).
//!
//! The seed asks for text and tables "in the *.doc format, size 14, Times New Roman", images as
//! JPEG, in the language of the appeal, in the first person, in the official business style, from
//! templates. This crate produces **DOCX** (Office Open XML, which Word opens; the legacy binary
//! `.doc` has no maintained writer and Word itself saves DOCX by default): every run is Times New
//! Roman 14 pt (`w:rFonts` ascii/hAnsi/cs/eastAsia, `w:sz` and `w:szCs` 28 half-points) with
//! `w:lang` `kk-KZ` or `ru-RU`, and the document defaults in `word/styles.xml` say the same.
//!
//! The fixed frame of the letter comes from [`templates`] (per language × decision kind); the
//! officer's own paragraphs, an optional table and JPEG images go in between. Images are stored
//! byte-identical under `word/media/` (never decoded or re-encoded) after [`jpeg`] has checked
//! that they are JPEG.
//!
//! The WordprocessingML is written by [`package`] in the schema's element order (docx-rs, tried
//! first, writes run and paragraph properties out of order and cannot set `w:lang`; see there).
//!
//! Pure: bytes in, bytes out, no IO and no clock (the dates come in the input). The same input
//! gives the same bytes (fixed ZIP timestamps, package dates from the answer date). The node
//! hashes and stores them.

pub mod jpeg;
pub mod meeting;
mod model;
pub mod templates;

pub mod package;

pub use meeting::{render_meeting_report, render_protocol};
pub use model::*;

/// The answer as DOCX bytes: validated, laid out from the template of its language and decision.
pub fn render_docx(input: &AnswerInput) -> Result<Vec<u8>, AnswerError> {
    let letter = templates::letter(input)?;
    package::render(&letter, input.language)
}

/// The same letter as plain text (one paragraph a line, the table as `|`-separated rows, images
/// as their size and caption), for a quick console preview. Input that [`render_docx`] would
/// reject gives one line instead: the error code and the field (`image_not_jpeg: images[0].bytes`).
pub fn preview_text(input: &AnswerInput) -> String {
    match templates::letter(input) {
        Ok(letter) => letter.plain_text(),
        Err(e) => format!("{}: {}", e.code(), e.field().unwrap_or("")),
    }
}

/// Checks the input against the limits and rules without building the document.
pub fn validate(input: &AnswerInput) -> Result<(), AnswerError> {
    templates::letter(input).map(|_| ())
}
