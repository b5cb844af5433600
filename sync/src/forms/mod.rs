//! The accounting cards of a registered appeal (R31, R39): ОЛ-1 (registration), ОЛ-2 (one per
//! decision) and З-1 (applicant), as data derived from the appeal's view — never typed twice.
//!
//! What seed 004 gives and what it does not: p.23 lists, per form, the field **numbers** that are
//! filled automatically and where their values come from; p.4 names ОЛ-1 field 8 («Вид
//! документа») and lets it be edited with a tag when it does not match the content. The seeds do
//! not reproduce ОЛ-1, ОЛ-2 or З-1 in full: no other field names, no field list beyond the numbers
//! p.23 mentions. So each field here carries its number, the seed text it rests on, its name
//! only where the seed gives one (`name_source`), and, where this system had to choose which of
//! the appeal's facts a numbered field holds, a note saying so. Every form is marked
//! `layout_complete: false` with `layout_source: "not in the seeds"`, for the console and the
//! exports to show, until the official layout is loaded.
//!
//! Validation: a field the seed says is filled automatically must hold a value (filled by hand
//! where no integration exists, p.23); each form lists the numbers it misses, and
//! [`Form::check`] names the first one.
//!
//! R39: [`AppealForms::entries`] has one entry per step of the appeal's log, naming the form
//! (and the ОЛ-2 of a decision) the step is recorded on.
//!
//! Pure: the appeal's view, the reference (the registering body, the region's UTC offset) and
//! the state register's answer come in; nothing here reads a clock or the network.

pub mod export;
mod layout;
pub mod register;
#[cfg(test)]
mod tests;

use serde::Serialize;
use utoipa::ToSchema;

use crate::appeal::{Appeal, Applicant, Decision, HistoryEntry};
use crate::calendar::Day;
use crate::reference::Reference;

pub use layout::{Ol2Decision, FIELD_NAME_NOT_IN_SEEDS, LAYOUT_NOT_IN_SEEDS};
pub use register::{RegisterAnswer, RegisterState};

/// The forms' machine-readable format and its version (JSON and CSV; node/API.md).
pub const FORMS_FORMAT: &str = "mvd102-forms/1";

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
    fn text(s: impl Into<String>) -> FieldValue {
        FieldValue {
            text: s.into(),
            code: None,
            kk: None,
            ru: None,
        }
    }
    fn coded(code: &str, kk: &str, ru: &str) -> FieldValue {
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

    fn finish(mut self) -> Form {
        self.missing = self
            .fields
            .iter()
            .filter(|f| f.required && f.value.as_ref().is_none_or(|v| v.text.trim().is_empty()))
            .map(|f| f.number)
            .collect();
        self
    }
}

/// R39: one step of the appeal's log and the card it is recorded on.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FormEntry {
    /// Index of the step in the appeal's history.
    pub step: usize,
    pub at: i64,
    pub by: String,
    /// The history's action code (`appeal.registered`, ...).
    pub action: String,
    pub form: FormKind,
    /// The card's number among its kind (the ОЛ-2 of this decision).
    pub form_seq: u32,
    /// The fields the step fills or changes, where known.
    pub fields: Vec<u32>,
}

/// The cards of one appeal.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AppealForms {
    pub format: String,
    pub region: String,
    pub appeal_id: String,
    pub number: Option<String>,
    /// None before registration: the cards exist from registration on.
    pub ol1: Option<Form>,
    pub ol2: Vec<Form>,
    pub z1: Vec<Form>,
    pub entries: Vec<FormEntry>,
    /// The state register's lookup for the first applicant's ИИН/БИН (its absence shown).
    pub register: RegisterState,
}

/// A timestamp as the region's local `YYYY-MM-DD HH:MM`.
fn local_time(ms: i64, utc_offset_min: i32) -> String {
    let day = Day::from_ms(ms, utc_offset_min);
    let minute_of_day = (ms - day.start_ms(utc_offset_min)).div_euclid(60_000);
    format!("{day} {:02}:{:02}", minute_of_day / 60, minute_of_day % 60)
}

impl AppealForms {
    /// Derives the cards from the appeal's view. `registers`: the register's answer for each
    /// of [`AppealForms::z1_applicants`], in order (missing entries: `not_configured`).
    pub fn derive(a: &Appeal, reference: &Reference, registers: &[RegisterState]) -> AppealForms {
        let offset = reference.shifts.utc_offset_min;
        let mut forms = AppealForms {
            format: FORMS_FORMAT.to_string(),
            region: a.region.clone(),
            appeal_id: a.id.clone(),
            number: a.number.clone(),
            ol1: None,
            ol2: Vec::new(),
            z1: Vec::new(),
            entries: Vec::new(),
            register: registers
                .first()
                .cloned()
                .unwrap_or(RegisterState::NotConfigured),
        };
        if a.number.is_none() {
            return forms;
        }
        let ol1 = layout::ol1(a, reference, offset);
        let head: Vec<FormField> = [1, 2, 3]
            .iter()
            .filter_map(|n| ol1.field(*n).cloned())
            .collect();
        let mut seq = 0;
        for (step, h) in a.history.iter().enumerate() {
            let entry = |form, form_seq, fields: Vec<u32>| FormEntry {
                step,
                at: h.at,
                by: h.by.clone(),
                action: h.action.clone(),
                form,
                form_seq,
                fields,
            };
            if let Some(decision) = Ol2Decision::of(a, h) {
                seq += 1;
                forms
                    .ol2
                    .push(layout::ol2(seq, &head, decision, h, offset).finish());
                forms.entries.push(entry(FormKind::Ol2, seq, vec![4]));
            } else {
                forms
                    .entries
                    .push(entry(FormKind::Ol1, 1, layout::ol1_fields_of(h)));
            }
        }
        for (i, p) in Self::z1_applicants(a).into_iter().enumerate() {
            let state = registers
                .get(i)
                .cloned()
                .unwrap_or(RegisterState::NotConfigured);
            forms
                .z1
                .push(layout::z1(i as u32 + 1, &head, p, &state).finish());
        }
        forms.ol1 = Some(ol1.finish());
        forms
    }

    /// The applicants who get a З-1, in order (`registers` of [`AppealForms::derive`] follows
    /// it): the named applicants of an appeal that is not anonymous.
    pub fn z1_applicants(a: &Appeal) -> Vec<&Applicant> {
        a.applicants
            .iter()
            .filter(|p| !a.anonymous && !p.is_unnamed())
            .collect()
    }

    /// Every card, in the order the exports write them.
    pub fn all(&self) -> impl Iterator<Item = &Form> {
        self.ol1.iter().chain(self.z1.iter()).chain(self.ol2.iter())
    }

    /// Every form's validation.
    pub fn check(&self) -> Result<(), MissingField> {
        self.all().try_for_each(Form::check)
    }
}

/// The decision an answer carries, as ОЛ-2 field 4 words it.
fn answer_decision(d: Decision) -> FieldValue {
    // Satisfied / refused / explained: the wording of the seed's 1-ОЛ section 5 («удовлетворено /
    // отказано / разъяснено»); the other two: R13/R15 as order 120 words them.
    let (kk, ru) = match d {
        Decision::Satisfied => ("қанағаттандырылды", "удовлетворено"),
        Decision::Refused => ("бас тартылды", "отказано"),
        Decision::Explained => ("түсіндірілді", "разъяснено"),
        Decision::Redirected => ("құзыреті бойынша жіберілді", "направлено по компетенции"),
        Decision::OutsideCompetence => ("құзыретке жатпайды", "не относится к компетенции"),
    };
    FieldValue::coded(d.as_str(), kk, ru)
}

/// The appeal's decision steps in its history (for callers that list ОЛ-2s without the forms).
pub fn decision_steps(a: &Appeal) -> impl Iterator<Item = &HistoryEntry> {
    a.history
        .iter()
        .filter(move |h| Ol2Decision::of(a, h).is_some())
}
