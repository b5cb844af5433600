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
mod model;
pub mod register;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use crate::appeal::{Appeal, Applicant, HistoryEntry};
use crate::reference::Reference;

pub use layout::{Ol2Decision, FIELD_NAME_NOT_IN_SEEDS, LAYOUT_NOT_IN_SEEDS};
pub use model::{FieldCheck, FieldValue, Form, FormField, FormKind, MissingField};
pub use register::{RegisterAnswer, RegisterState};

/// The forms' machine-readable format and its version (JSON and CSV; node/API.md).
pub const FORMS_FORMAT: &str = "mvd102-forms/1";

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
        // З-1 per named applicant, keyed by the applicant's index in the appeal.
        let z1_seq: BTreeMap<usize, u32> = Self::z1_applicants(a)
            .iter()
            .enumerate()
            .map(|(i, (idx, _))| (*idx, i as u32 + 1))
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
            } else if let Some((idx, fields)) = layout::z1_filled(h) {
                let form_seq = z1_seq.get(&idx).copied().unwrap_or(0);
                let numbers = fields.keys().copied().collect();
                forms.entries.push(entry(FormKind::Z1, form_seq, numbers));
            } else {
                forms
                    .entries
                    .push(entry(FormKind::Ol1, 1, layout::ol1_fields_of(h)));
            }
        }
        for (i, (idx, p)) in Self::z1_applicants(a).into_iter().enumerate() {
            let state = registers
                .get(i)
                .cloned()
                .unwrap_or(RegisterState::NotConfigured);
            // Values typed by hand, last writer wins per field in log order; empty clears.
            let mut manual = BTreeMap::new();
            for (at, fields) in a.history.iter().filter_map(layout::z1_filled) {
                if at == idx {
                    for (n, v) in fields {
                        if v.is_empty() {
                            manual.remove(&n);
                        } else {
                            manual.insert(n, v);
                        }
                    }
                }
            }
            forms
                .z1
                .push(layout::z1(i as u32 + 1, idx, &head, p, &state, &manual).finish());
        }
        forms.ol1 = Some(ol1.finish());
        forms
    }

    /// The applicants who get a З-1, in order (`registers` of [`AppealForms::derive`] follows
    /// it), with their index in the appeal: the named applicants of an appeal that is not
    /// anonymous.
    pub fn z1_applicants(a: &Appeal) -> Vec<(usize, &Applicant)> {
        a.applicants
            .iter()
            .enumerate()
            .filter(|(_, p)| !a.anonymous && !p.is_unnamed())
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

/// The appeal's decision steps in its history (for callers that list ОЛ-2s without the forms).
pub fn decision_steps(a: &Appeal) -> impl Iterator<Item = &HistoryEntry> {
    a.history
        .iter()
        .filter(move |h| Ol2Decision::of(a, h).is_some())
}
