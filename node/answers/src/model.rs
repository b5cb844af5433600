//! The answer's input, its limits and its errors: what the templates and the packaging share.

use serde::Deserialize;

/// Most bytes one image may have (10 MiB).
pub const IMAGE_BYTES_MAX: usize = 10 * 1024 * 1024;
/// Most images in one answer.
pub const IMAGES_MAX: usize = 10;
/// Most paragraphs of the officer's own text.
pub const PARAGRAPHS_MAX: usize = 50;
/// Most characters (Unicode scalar values) in one paragraph of the officer's text.
pub const PARAGRAPH_CHARS_MAX: usize = 5_000;
/// Most body rows of the table (the header row not counted).
pub const TABLE_ROWS_MAX: usize = 200;
/// Most columns of the table.
pub const TABLE_COLS_MAX: usize = 8;
/// Most characters in one table cell.
pub const TABLE_CELL_CHARS_MAX: usize = 1_000;
/// Most characters in a short field: names, positions, the address, the authority, the
/// competent body, a caption, numbers, the phone.
pub const FIELD_CHARS_MAX: usize = 500;

/// The language of the appeal, and so of the answer (R12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lang {
    Kk,
    Ru,
}

impl Lang {
    /// The `w:lang` tag written on every run.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::Kk => "kk-KZ",
            Lang::Ru => "ru-RU",
        }
    }
}

/// The decision on the appeal (the appeal model's `decision`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Удовлетворено / қанағаттандырылды.
    Satisfied,
    /// Разъяснено / түсіндірілді.
    Explained,
    /// Отказано / бас тартылды; the answer states the right to appeal under АППК.
    Refused,
    /// Redirected to the competent unit of the police (R13); `competent_body` names it.
    Redirected,
    /// Outside the competence of the police (R15): the lack of authority is explained and
    /// `competent_body` is recommended.
    OutsideCompetence,
}

impl Decision {
    pub const ALL: [Decision; 5] = [
        Decision::Satisfied,
        Decision::Explained,
        Decision::Refused,
        Decision::Redirected,
        Decision::OutsideCompetence,
    ];

    /// Whether the answer must name a competent unit or body.
    pub fn needs_competent_body(self) -> bool {
        matches!(self, Decision::Redirected | Decision::OutsideCompetence)
    }

    /// Whether the officer's own text is required (the answer on the merits).
    pub fn needs_paragraphs(self) -> bool {
        matches!(
            self,
            Decision::Satisfied | Decision::Explained | Decision::Refused
        )
    }
}

/// Who the answer goes to.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Applicant {
    /// Display name: "Surname Name Patronymic" of a person or the name of a legal entity.
    pub name: String,
    /// Postal address, where there is one (an answer through the app may have none).
    #[serde(default)]
    pub address: Option<String>,
}

/// A staff member named in the letter.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Person {
    pub name: String,
    /// Position, in the language of the answer ("Начальник УАП ДП города Астаны").
    pub position: String,
    /// Service phone, shown on the executor line.
    #[serde(default)]
    pub phone: Option<String>,
}

/// A table in the answer: a header row and body rows of the same width.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerTable {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// A JPEG image in the answer (R12: images as JPEG), stored byte-identical.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerImage {
    /// The JPEG file. In JSON: an array of byte values (the node normally builds this from the
    /// attachment blobs it stores, by sha256).
    pub bytes: Vec<u8>,
    #[serde(default)]
    pub caption: String,
}

/// Everything an answer letter is made of. Dates are `YYYY-MM-DD`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerInput {
    pub language: Lang,
    pub decision: Decision,
    /// The police body that answers, in the language of the answer ("ДП города Астаны").
    pub authority: String,
    pub applicant: Applicant,
    /// Registration number of the appeal ("AST-2026-000123").
    pub appeal_number: String,
    /// The date of the appeal.
    pub appeal_date: String,
    /// The date the appeal was registered.
    pub registered_at: String,
    /// The officer's own text, in the first person, one entry per paragraph.
    #[serde(default)]
    pub paragraphs: Vec<String>,
    #[serde(default)]
    pub table: Option<AnswerTable>,
    #[serde(default)]
    pub images: Vec<AnswerImage>,
    /// The competent unit (redirected, R13) or body (outside competence, R15).
    #[serde(default)]
    pub competent_body: Option<String>,
    /// The responsible officer who prepared the answer (the executor line).
    pub officer: Person,
    /// The manager who approves and signs.
    pub signer: Person,
    /// The date of the answer.
    pub answer_date: String,
    /// Outgoing registration number, once the document-control unit gives one.
    #[serde(default)]
    pub outgoing_number: Option<String>,
}

/// Why an answer cannot be made. [`AnswerError::code`] is stable (snake_case) and
/// [`AnswerError::field`] names the input field ("paragraphs[2]", "images[0].bytes").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    #[error("{field} is required")]
    Required { field: String },
    #[error("{field} is longer than {max} characters")]
    TooLong { field: String, max: usize },
    #[error("{field} has more than {max} entries")]
    TooMany { field: String, max: usize },
    #[error("{field} has control characters")]
    InvalidCharacters { field: String },
    #[error("{field} is not a date YYYY-MM-DD")]
    DateInvalid { field: String },
    #[error("{field} has {got} cells, the header has {expected}")]
    TableRowWidth {
        field: String,
        expected: usize,
        got: usize,
    },
    #[error("{field} is not a JPEG image")]
    ImageNotJpeg { field: String },
    #[error("{field} is a damaged JPEG image")]
    ImageCorrupt { field: String },
    #[error("{field} is larger than {max} bytes")]
    ImageTooLarge { field: String, max: usize },
    #[error("the document could not be packed: {detail}")]
    Pack { detail: String },
}

impl AnswerError {
    /// The stable error code the API sends.
    pub fn code(&self) -> &'static str {
        match self {
            AnswerError::Required { .. } => "required",
            AnswerError::TooLong { .. } => "too_long",
            AnswerError::TooMany { .. } => "too_many",
            AnswerError::InvalidCharacters { .. } => "invalid_characters",
            AnswerError::DateInvalid { .. } => "date_invalid",
            AnswerError::TableRowWidth { .. } => "table_row_width",
            AnswerError::ImageNotJpeg { .. } => "image_not_jpeg",
            AnswerError::ImageCorrupt { .. } => "image_corrupt",
            AnswerError::ImageTooLarge { .. } => "image_too_large",
            AnswerError::Pack { .. } => "docx_pack_failed",
        }
    }

    /// The input field at fault, where there is one.
    pub fn field(&self) -> Option<&str> {
        match self {
            AnswerError::Required { field }
            | AnswerError::TooLong { field, .. }
            | AnswerError::TooMany { field, .. }
            | AnswerError::InvalidCharacters { field }
            | AnswerError::DateInvalid { field }
            | AnswerError::TableRowWidth { field, .. }
            | AnswerError::ImageNotJpeg { field }
            | AnswerError::ImageCorrupt { field }
            | AnswerError::ImageTooLarge { field, .. } => Some(field),
            AnswerError::Pack { .. } => None,
        }
    }
}
