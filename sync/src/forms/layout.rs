//! The fields of ОЛ-1, ОЛ-2 and З-1 as seed 004 p.4 and p.23 give them, and the facts of the
//! appeal each one holds.

use super::model::{local_time, source_kind, FieldValue, Form, FormField, FormKind};
use std::collections::BTreeMap;

use super::register::{self, RegisterAnswer, RegisterState};
use crate::appeal::{Appeal, AppealKind, Applicant, Decision, HistoryEntry};
use crate::reference::Reference;

/// `name_source` of a field whose name the seeds do not give.
pub const FIELD_NAME_NOT_IN_SEEDS: &str = "not in the seeds";
/// `layout_source` of a form the seeds do not reproduce in full.
pub const LAYOUT_NOT_IN_SEEDS: &str = "not in the seeds";

/// The history action of ОЛ-1 field 8 edited with a tag (p.4).
pub const KIND_CORRECTED_ACTION: &str = "appeal.kind_corrected";

const SEED_OL1_AUTO: &str =
    "004 p.23: filled automatically after registration (by hand without integration)";

struct Def {
    number: u32,
    /// (ru, kk) where the seed names the field.
    name: Option<(&'static str, &'static str)>,
    seed: &'static str,
    auto: bool,
    required: bool,
}

impl Def {
    fn field(
        &self,
        value: Option<FieldValue>,
        source: impl Into<String>,
        note: Option<&str>,
    ) -> FormField {
        let source = source.into();
        FormField {
            source_kind: source_kind(&source).to_string(),
            number: self.number,
            name_ru: self.name.map(|n| n.0.to_string()),
            // Kazakh: our translation of the seed's Russian name.
            name_kk: self.name.map(|n| n.1.to_string()),
            name_source: if self.name.is_some() {
                "004 p.4".to_string()
            } else {
                FIELD_NAME_NOT_IN_SEEDS.to_string()
            },
            seed: self.seed.to_string(),
            auto: self.auto,
            required: self.required,
            source,
            note: note.map(str::to_string),
            value,
            tag: None,
        }
    }
}

/// The seeds give no form's title: a card is called by its code («форма ОЛ-1», p.23).
fn form(kind: FormKind, seq: u32, fields: Vec<FormField>) -> Form {
    Form {
        kind,
        code: kind.code().to_string(),
        seq,
        applicant: None,
        // Kazakh: our translation of «форма ОЛ-1».
        title_kk: format!("{} нысаны", kind.code()),
        title_ru: format!("Форма {}", kind.code()),
        layout_complete: false,
        layout_source: LAYOUT_NOT_IN_SEEDS.to_string(),
        fields,
        missing: Vec::new(),
        checks: Vec::new(),
    }
}

/// A document kind (ОЛ-1 field 8) in Kazakh and Russian. The Russian words are АППК art. 4's as
/// the seed lists them; Kazakh: our translation.
pub fn kind_value(k: AppealKind) -> FieldValue {
    let (kk, ru) = match k {
        AppealKind::Appeal => ("өтініш", "обращение"),
        AppealKind::Report => ("хабарлама", "сообщение"),
        AppealKind::Request => ("сұрау салу", "запрос"),
        AppealKind::Response => ("ден қою", "отклик"),
        AppealKind::Proposal => ("ұсыныс", "предложение"),
    };
    FieldValue::coded(k.as_str(), kk, ru)
}

/// ОЛ-1 from the appeal's view (registered).
pub(super) fn ol1(a: &Appeal, reference: &Reference, offset: i32) -> Form {
    let auto = |number| Def {
        number,
        name: None,
        seed: SEED_OL1_AUTO,
        auto: true,
        required: true,
    };
    let mut fields = vec![
        auto(1).field(
            a.number.clone().map(FieldValue::text),
            "appeal.number",
            Some("holds the registration number (this system's reading; the name is not in the seeds)"),
        ),
        auto(2).field(
            a.registered_at
                .map(|ms| FieldValue::text(local_time(ms, offset))),
            "appeal.registered_at",
            Some("holds the date and time of registration (this system's reading)"),
        ),
        auto(3).field(
            a.registered_by.as_ref().map(|login| {
                FieldValue::text(match &a.registered_by_name {
                    Some(name) => format!("{name} ({login})"),
                    None => login.clone(),
                })
            }),
            "appeal.registered_by",
            Some("holds who registered it (this system's reading)"),
        ),
        auto(5).field(
            Some(FieldValue::text(local_time(a.received_at, offset))),
            "appeal.received_at",
            Some("holds the date and time received (this system's reading)"),
        ),
    ];
    let corrected = a
        .history
        .iter()
        .rev()
        .find(|h| h.action == KIND_CORRECTED_ACTION);
    let mut f8 = Def {
        number: 8,
        name: Some(("Вид документа", "Құжат түрі")),
        seed: "004 p.4: edited, with a tag entered, when it does not match the content",
        auto: false,
        required: true,
    }
    .field(
        a.kind.map(kind_value),
        if corrected.is_some() {
            "appeal.kind (edited with a tag)"
        } else {
            "appeal.kind (the registrar's classification)"
        },
        None,
    );
    f8.tag = corrected.and_then(|h| h.params["tag"].as_str().map(str::to_string));
    fields.push(f8);
    fields.push(
        Def {
            number: 9,
            name: None,
            seed: "004 p.23: filled automatically depending on the value of field 8",
            auto: true,
            required: true,
        }
        .field(
            a.kind.map(kind_value),
            "ОЛ-1 field 8",
            Some("derived from field 8; the seeds do not give the table from 8 to 9, so it repeats field 8's kind until the official table is loaded"),
        ),
    );
    fields.push(
        Def {
            number: 10,
            name: None,
            seed: "004 p.23: filled automatically with the name of the subject that registered it",
            auto: true,
            required: true,
        }
        .field(
            Some(FieldValue::coded(
                &reference.region.code,
                &reference.region.name_kk,
                &reference.region.name_ru,
            )),
            "reference.region",
            None,
        ),
    );
    fields.push(
        Def {
            number: 13,
            name: None,
            seed: "004 p.23: filled automatically depending on the review term",
            auto: true,
            required: true,
        }
        .field(
            a.deadline.map(|d| FieldValue::text(d.to_string())),
            "appeal.deadline",
            Some("15 working days of registration, or the last extension (R11)"),
        ),
    );
    form(FormKind::Ol1, 1, fields)
}

/// The history action of З-1 filled by hand.
pub const Z1_FILLED_ACTION: &str = "appeal.z1_filled";

/// A step that filled З-1 by hand: the applicant's index and the values (empty: cleared).
pub(super) fn z1_filled(h: &HistoryEntry) -> Option<(usize, BTreeMap<u32, String>)> {
    if h.action != Z1_FILLED_ACTION {
        return None;
    }
    let idx = usize::try_from(h.params["applicant"].as_u64()?).ok()?;
    let fields = h.params["fields"]
        .as_object()?
        .iter()
        .filter_map(|(k, v)| Some((k.parse().ok()?, v.as_str()?.to_string())))
        .collect();
    Some((idx, fields))
}

/// The ОЛ-1 fields a history step fills or changes (R39).
pub(super) fn ol1_fields_of(h: &HistoryEntry) -> Vec<u32> {
    match h.action.as_str() {
        "appeal.registered" => vec![1, 2, 3, 5, 8, 9, 10, 13],
        KIND_CORRECTED_ACTION => vec![8, 9],
        _ => Vec::new(),
    }
}

/// A decision that gets its own ОЛ-2 (p.23: «на каждое принятое решение заполняется
/// отдельная форма ОЛ-2»).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ol2Decision {
    NotConsidered,
    /// R30: moved to another information system (p.15).
    Transferred,
    TransferCancelled,
    /// R11: the head extended the review term.
    Extended,
    /// R29: parts sent to the competent bodies.
    PartsSent,
    Answered(Decision),
}

impl Ol2Decision {
    /// The decision a history step records, if it is one.
    pub fn of(a: &Appeal, h: &HistoryEntry) -> Option<Ol2Decision> {
        Some(match h.action.as_str() {
            "appeal.not_considered" => Ol2Decision::NotConsidered,
            "appeal.transferred" => Ol2Decision::Transferred,
            "appeal.transfer_cancelled" => Ol2Decision::TransferCancelled,
            "appeal.extended" => Ol2Decision::Extended,
            "appeal.split" => Ol2Decision::PartsSent,
            "appeal.approved" => {
                let seq = h.params["seq"].as_u64();
                let answer = a.answer.as_ref()?;
                let decision = a
                    .drafts
                    .iter()
                    .find(|d| Some(u64::from(d.seq)) == seq)
                    .map(|d| d.draft.decision)
                    .unwrap_or(answer.decision);
                Ol2Decision::Answered(decision)
            }
            _ => return None,
        })
    }

    fn value(self, h: &HistoryEntry) -> FieldValue {
        let p = &h.params;
        let (code, kk, ru, detail) = match self {
            Ol2Decision::Answered(d) => return answer_decision(d),
            Ol2Decision::NotConsidered => (
                "not_considered",
                "қаралмайды",
                "не рассматривается",
                p["reason"].as_str(),
            ),
            // p.15: «подлежат переносу в другие информационные системы путем заполнения формы ОЛ-2».
            Ol2Decision::Transferred => (
                "transferred",
                "басқа ақпараттық жүйеге көшіру",
                "перенос в другие информационные системы",
                p["system"].as_str(),
            ),
            Ol2Decision::TransferCancelled => (
                "transfer_cancelled",
                "көшіруді болдырмау",
                "отмена переноса в другие информационные системы",
                p["reason"].as_str(),
            ),
            Ol2Decision::Extended => (
                "extended",
                "қарау мерзімін ұзарту",
                "продление срока рассмотрения",
                p["until"].as_str(),
            ),
            Ol2Decision::PartsSent => (
                "parts_sent",
                "бір бөлігі құзыреті бойынша жіберілді",
                "направлено по компетенции в части вопросов",
                None,
            ),
        };
        let mut v = FieldValue::coded(code, kk, ru);
        if let Some(d) = detail.filter(|d| !d.is_empty()) {
            v.text = format!("{ru}: {d}");
        }
        v
    }
}

/// One ОЛ-2: fields 1–3 copied from ОЛ-1, field 4 the decision.
pub(super) fn ol2(
    seq: u32,
    ol1_head: &[FormField],
    decision: Ol2Decision,
    h: &HistoryEntry,
    offset: i32,
) -> Form {
    let mut fields: Vec<FormField> = ol1_head
        .iter()
        .map(|f| {
            Def {
                number: f.number,
                name: None,
                seed: "004 p.23: filled automatically from form ОЛ-1",
                auto: true,
                required: true,
            }
            .field(f.value.clone(), format!("ОЛ-1 field {}", f.number), None)
        })
        .collect();
    fields.push(
        Def {
            number: 4,
            name: None,
            seed: "004 p.23: a separate ОЛ-2 for each decision taken",
            auto: false,
            required: true,
        }
        .field(
            Some(decision.value(h)),
            format!(
                "history: {} at {} by {}",
                h.action,
                local_time(h.at, offset),
                h.by
            ),
            Some("holds the decision"),
        ),
    );
    form(FormKind::Ol2, seq, fields)
}

/// One З-1 (an applicant): 1–2 from ОЛ-1, 4 the ИИН/БИН, the rest from the state register or
/// typed by hand (`manual`, which wins: it is how a field is brought in line).
pub(super) fn z1(
    seq: u32,
    index: usize,
    ol1_head: &[FormField],
    p: &Applicant,
    state: &RegisterState,
    manual: &BTreeMap<u32, String>,
) -> Form {
    let mut fields = Vec::new();
    for f in ol1_head.iter().filter(|f| f.number <= 2) {
        fields.push(
            Def {
                number: f.number,
                name: None,
                seed: "004 p.23: filled automatically from form ОЛ-1",
                auto: true,
                required: true,
            }
            .field(f.value.clone(), format!("ОЛ-1 field {}", f.number), None),
        );
    }
    let id = p.iin.clone().or_else(|| p.bin.clone());
    let answer = match state {
        RegisterState::Found { answer, .. } => Some(answer),
        _ => None,
    };
    let source = state.source();
    // What the card holds: the register's values, then the ones typed by hand over them.
    let mut held = RegisterAnswer {
        fields: answer.map(|a| a.fields.clone()).unwrap_or_default(),
    };
    held.fields
        .extend(manual.iter().map(|(n, v)| (*n, v.clone())));
    let source_of = |n: u32| {
        if manual.contains_key(&n) {
            "manual".to_string()
        } else {
            source.clone()
        }
    };
    for number in 3..=register::Z1_FIELDS_MAX {
        let value = held
            .fields
            .get(&number)
            .map(|v| FieldValue::text(v.clone()));
        let field = if number == 4 {
            Def {
                number,
                name: None,
                seed: "004 p.23: filling it starts the lookup in the state database of persons and legal entities",
                auto: false,
                required: false,
            }
            .field(
                id.clone().map(FieldValue::text),
                "appeal.applicant (ИИН/БИН)",
                Some("holds the ИИН or БИН (the seed's lookup key)"),
            )
        } else if register::Z1_REGISTER_FIELDS.contains(&number) {
            Def {
                number,
                name: None,
                seed: if register::Z1_ADDRESS_FIELDS.contains(&number) {
                    "004 p.23: from the state database; checked against the postal address in the appeal and brought in line"
                } else {
                    "004 p.23: filled automatically from the state database of persons and legal entities"
                },
                auto: true,
                required: true,
            }
            .field(value, source_of(number), None)
        } else {
            Def {
                number,
                name: None,
                seed: "004 p.23: not among the automatic fields",
                auto: false,
                required: false,
            }
            .field(value, "manual", None)
        };
        fields.push(field);
    }
    let mut f = form(FormKind::Z1, seq, fields);
    f.applicant = Some(index);
    f.checks = register::address_mismatches(&held, p.address.as_deref());
    f
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
