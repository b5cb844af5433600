//! The answer as a Word document (R12): the submitted draft of an appeal laid out by the
//! `answers` crate from the template of its language and decision, with the appeal's data, the
//! region's body and the JPEG attachments the officer chose.

use sync::appeal::{Appeal, DraftRecord, DraftState};
use sync::{DomainError, Language};

use super::AppealService;
use crate::service_error::ServiceError;

fn lang(l: Language) -> answers::Lang {
    match l {
        Language::Kk => answers::Lang::Kk,
        Language::Ru => answers::Lang::Ru,
    }
}

fn decision(d: sync::appeal::Decision) -> answers::Decision {
    use sync::appeal::Decision as D;
    match d {
        D::Satisfied => answers::Decision::Satisfied,
        D::Explained => answers::Decision::Explained,
        D::Refused => answers::Decision::Refused,
        D::Redirected => answers::Decision::Redirected,
        D::OutsideCompetence => answers::Decision::OutsideCompetence,
    }
}

fn pick(l: Language, kk: &str, ru: &str) -> String {
    match l {
        Language::Kk => kk.to_string(),
        Language::Ru => ru.to_string(),
    }
}

/// The draft the answer is made of: the one on approval, or the approved one.
fn current_draft(a: &Appeal) -> Result<&DraftRecord, DomainError> {
    a.drafts
        .iter()
        .rev()
        .find(|d| matches!(d.state, DraftState::Submitted | DraftState::Approved))
        .ok_or_else(|| {
            DomainError::rule(
                "no_draft",
                "the officer has not submitted a draft answer yet",
            )
        })
}

/// Renders the appeal's current draft as the DOCX it is sent as, signed by `signer_name`, dated
/// the local day of `now_ms`; `full_name` turns the officer's login into their name.
pub fn render_submitted(
    appeals: &AppealService,
    a: &Appeal,
    signer_name: &str,
    full_name: impl Fn(&str) -> String,
    now_ms: i64,
) -> Result<Vec<u8>, ServiceError> {
    let d = current_draft(a)?;
    let r = appeals.reference();
    let l = d.draft.language;
    let service = a.service.as_deref().and_then(|s| r.service(s));
    let service_name = service
        .map(|s| pick(l, &s.name_kk, &s.name_ru))
        .unwrap_or_default();
    let competent_body = d.draft.competent_body.as_deref().map(|code| {
        r.external_body(code)
            .map(|b| pick(l, &b.name_kk, &b.name_ru))
            .or_else(|| r.service(code).map(|s| pick(l, &s.name_kk, &s.name_ru)))
            .unwrap_or_else(|| code.to_string())
    });
    let mut images = Vec::with_capacity(d.draft.images.len());
    for sha in &d.draft.images {
        let bytes = appeals.blob(sha)?.ok_or_else(|| {
            DomainError::rule_field(
                "unknown_attachment",
                "images",
                format!("the image {sha} is not stored on this node"),
            )
        })?;
        let caption = a
            .attachments
            .iter()
            .find(|x| &x.sha256 == sha)
            .map(|x| x.file_name.clone())
            .unwrap_or_default();
        images.push(answers::AnswerImage { bytes, caption });
    }
    let first = a.applicants.first();
    let offset = r.shifts.utc_offset_min;
    let day = |ms: i64| sync::calendar::Day::from_ms(ms, offset).to_string();
    let input = answers::AnswerInput {
        language: lang(l),
        decision: decision(d.draft.decision),
        authority: pick(l, &r.region.name_kk, &r.region.name_ru),
        applicant: answers::Applicant {
            name: first.map(|p| p.display_name()).unwrap_or_default(),
            address: first.and_then(|p| p.address.clone()),
        },
        appeal_number: a.number.clone().unwrap_or_else(|| a.id.clone()),
        appeal_date: day(a.received_at),
        registered_at: day(a.registered_at.unwrap_or(a.received_at)),
        paragraphs: d.draft.paragraphs.clone(),
        table: d.draft.table.as_ref().map(|t| answers::AnswerTable {
            header: t.header.clone(),
            rows: t.rows.clone(),
        }),
        images,
        competent_body,
        officer: answers::Person {
            name: full_name(&d.by),
            position: pick(
                l,
                &format!("{service_name} жауапты қызметкері"),
                &format!("Ответственный сотрудник: {service_name}"),
            ),
            phone: None,
        },
        signer: answers::Person {
            name: signer_name.to_string(),
            position: pick(
                l,
                &format!("{service_name} басшысы"),
                &format!("Руководитель: {service_name}"),
            ),
            phone: None,
        },
        answer_date: day(now_ms),
        outgoing_number: None,
    };
    answers::render_docx(&input).map_err(|e| {
        let field = e.field().map(str::to_string);
        ServiceError::Domain(DomainError::Rule {
            code: e.code(),
            field,
            message: e.to_string(),
        })
    })
}
