//! The cards' shape: forms, fields, values, checks.

use serde::Serialize;
use utoipa::ToSchema;

use crate::calendar::Day;

/// Which card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FormKind {
    Ol1,
    Ol2,
    Z1,
}

impl FormKind {
    /// The form's official code, as the seed writes it.
    pub fn code(self) -> &'static str {
        match self {
            FormKind::Ol1 => "ОЛ-1",
            FormKind::Ol2 => "ОЛ-2",
            FormKind::Z1 => "З-1",
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            FormKind::Ol1 => "ol1",
            FormKind::Ol2 => "ol2",
            FormKind::Z1 => "z1",
        }
    }
}

/// A field's value: the text written on the form, and for coded values (a document kind, a
/// decision, the registering body) the code with its Kazakh and Russian wording.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FieldValue {
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kk: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ru: Option<String>,
}

impl FieldValue {
    pub(crate) fn text(s: impl Into<String>) -> FieldValue {
        FieldValue {
            text: s.into(),
            code: None,
            kk: None,
            ru: None,
        }
    }
    pub(crate) fn coded(code: &str, kk: &str, ru: &str) -> FieldValue {
        FieldValue {
            text: ru.to_string(),
            code: Some(code.to_string()),
            kk: Some(kk.to_string()),
            ru: Some(ru.to_string()),
        }
    }
}

/// One numbered field of a card.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FormField {
    pub number: u32,
    /// The field's name where the seed gives it; `None`: not in the seeds.
    pub name_ru: Option<String>,
    /// Kazakh wording of `name_ru` (our translation; the seed is Russian).
    pub name_kk: Option<String>,
    /// `"004 p.4"`, or [`FIELD_NAME_NOT_IN_SEEDS`].
    pub name_source: String,
    /// What the seed says about the field (p.23), quoted in short.
    pub seed: String,
    /// p.23: filled automatically (by hand where no integration exists).
    pub auto: bool,
    /// Must hold a value for the form to pass its check.
    pub required: bool,
    /// Where the value came from: `appeal.number`, `ОЛ-1 field 1`, `register`,
    /// `register (cache)`, `manual`.
    pub source: String,
    /// `source` as a code the console and the XLSX word in kk and ru: `appeal`, `ol1`,
    /// `register`, `register_cache`, `manual`, `reference`, `history`.
    pub source_kind: String,
    /// Where this system chose which fact a numbered field holds (the seed names no content).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub value: Option<FieldValue>,
    /// ОЛ-1 field 8 edited because it did not match the content (p.4): the tag entered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
}

/// A check a field failed other than being empty (З-1 12–18 against the postal address).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FieldCheck {
    pub field: u32,
    /// `forms.address_mismatch`.
    pub code: String,
    #[schema(value_type = Object)]
    pub params: serde_json::Value,
}

/// One card.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Form {
    pub kind: FormKind,
    /// «ОЛ-1», «ОЛ-2», «З-1».
    pub code: String,
    /// 1-based number among the appeal's cards of this kind (ОЛ-2: per decision; З-1: per
    /// applicant).
    pub seq: u32,
    /// З-1: the applicant's index in the appeal (what `POST …/z1` names).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applicant: Option<usize>,
    pub title_kk: String,
    pub title_ru: String,
    /// False: the seeds do not give this form in full (all three, today).
    pub layout_complete: bool,
    pub layout_source: String,
    pub fields: Vec<FormField>,
    /// Numbers of required fields with no value.
    pub missing: Vec<u32>,
    pub checks: Vec<FieldCheck>,
}

/// Why a form does not pass: the first required field it misses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{form} №{seq}: field {field} is required and empty")]
pub struct MissingField {
    pub form: &'static str,
    pub seq: u32,
    pub field: u32,
}

impl Form {
    /// The form's validation: the first required field without a value.
    pub fn check(&self) -> Result<(), MissingField> {
        match self.missing.first() {
            None => Ok(()),
            Some(&field) => Err(MissingField {
                form: self.kind.code(),
                seq: self.seq,
                field,
            }),
        }
    }

    pub fn field(&self, number: u32) -> Option<&FormField> {
        self.fields.iter().find(|f| f.number == number)
    }

    pub(crate) fn finish(mut self) -> Form {
        self.missing = self
            .fields
            .iter()
            .filter(|f| f.required && f.value.as_ref().is_none_or(|v| v.text.trim().is_empty()))
            .map(|f| f.number)
            .collect();
        self
    }
}

/// A timestamp as the region's local `YYYY-MM-DD HH:MM`.
pub(crate) fn local_time(ms: i64, utc_offset_min: i32) -> String {
    let day = Day::from_ms(ms, utc_offset_min);
    let minute_of_day = (ms - day.start_ms(utc_offset_min)).div_euclid(60_000);
    format!("{day} {:02}:{:02}", minute_of_day / 60, minute_of_day % 60)
}

/// The code of a field's `source` (see [`FormField::source_kind`]).
pub(crate) fn source_kind(source: &str) -> &'static str {
    match source {
        "register" => "register",
        "register (offline cache)" => "register_cache",
        s if s.starts_with("appeal.") => "appeal",
        s if s.starts_with("ОЛ-1 field") => "ol1",
        s if s.starts_with("manual") => "manual",
        s if s.starts_with("reference.") => "reference",
        s if s.starts_with("history:") => "history",
        _ => "other",
    }
}

/// A source code in Kazakh and Russian (Kazakh: our translation).
pub(crate) fn source_words(kind: &str) -> (&'static str, &'static str) {
    match kind {
        "register" => ("мемлекеттік дерекқор", "государственная база данных"),
        "register_cache" => (
            "мемлекеттік дерекқор (сақталған көшірме)",
            "государственная база данных (сохранённая копия)",
        ),
        "appeal" => ("өтініштен", "из обращения"),
        "ol1" => ("ОЛ-1 нысанынан", "из формы ОЛ-1"),
        "manual" => ("қолмен", "вручную"),
        "reference" => ("анықтамалықтан", "из справочника"),
        "history" => ("әрекеттер журналынан", "из журнала действий"),
        _ => ("—", "—"),
    }
}
