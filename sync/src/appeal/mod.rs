//! A citizen's appeal (обращение, сообщение, запрос, отклик, предложение): registered by
//! Prosecutor General's order 170 and examined by the workflow of order 120 chapter 3 (R11–R16,
//! R27–R30, R33). One automerge document per appeal, written by its region's node (HQ may add
//! control notes at the hub).
//!
//! The document holds the intake as it arrived (immutable) and an append-only **log of steps**
//! (`events`, JSON entries). Everything a reader sees — status, service, officer, deadline,
//! drafts, the answer — is a fold over that log in list order, which automerge makes the same on
//! every replica, so concurrent edits merge to one view in whichever order copies meet. Merge
//! rules, as the fold applies them:
//! - the history is append-only: concurrent steps both survive (a manager reassigning on the
//!   node while HQ adds a control note: both are in the history);
//! - terminal outcomes form a lattice: `answered` > `not_considered` > `transferred`, and a
//!   terminal appeal stays terminal whatever concurrent step arrives (a cancelled transfer no
//!   longer counts);
//! - scalar decisions (the service, the officer, the crime-signs flag, the classification) are
//!   last-writer-wins in log order, each step recording its writer (`login@replica`);
//! - sets grow by union: tags, duplicate links, parts (numbered by the node that owns the
//!   appeal), extensions, КУИ records (the first one counts).
//!
//! Each command is checked against the view before it is appended (the state, who may act, the
//! terms on the working-day calendar); a refused command writes nothing. Time and the calendar
//! come in; the core reads no clock.

pub mod accounting;
mod fold;
pub mod model;
pub mod suggest;

use automerge::{transaction::Transactable, AutoCommit, ObjType, ROOT};
use serde::{Deserialize, Serialize};

use crate::calendar::CalendarError;
use crate::calendar::{Day, WorkCalendar};
use crate::deadline;
use crate::doc::{
    append_json, check_text, get_i64, get_obj, get_str, read_json_list, Ctx, Document,
};
use crate::duplicates::iin_is_valid;
use crate::error::DomainError;
use crate::reference::Reference;

pub use fold::Event;
pub use model::*;

/// Storage/wire schema version of appeal documents.
pub const APPEAL_SCHEMA_VERSION: i64 = 1;

/// The automerge document of one appeal.
pub struct AppealDoc {
    doc: AutoCommit,
}

impl Document for AppealDoc {
    const SCHEMA_VERSION: i64 = APPEAL_SCHEMA_VERSION;
    const KIND: &'static str = "appeal";
    fn wrap(doc: AutoCommit) -> Self {
        AppealDoc { doc }
    }
    fn automerge(&mut self) -> &mut AutoCommit {
        &mut self.doc
    }
}

impl std::fmt::Debug for AppealDoc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppealDoc").finish_non_exhaustive()
    }
}

/// Who acts, beyond the login in [`Ctx`]: their display name and the service they belong to
/// (a manager acts on their service's appeals only).
#[derive(Debug, Clone, Default)]
pub struct Actor {
    pub name: Option<String>,
    pub service: Option<String>,
    /// HQ at the hub: control notes only.
    pub hq: bool,
}

/// What the rules read besides the document: the region's reference data, the working-day
/// calendar and the region's offset from UTC.
#[derive(Clone, Copy)]
pub struct Env<'a> {
    pub reference: &'a Reference,
    pub calendar: &'a WorkCalendar,
    pub utc_offset_min: i32,
}

impl Env<'_> {
    fn day(&self, ms: i64) -> Day {
        Day::from_ms(ms, self.utc_offset_min)
    }
}

/// A part to split off (R29).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartInput {
    pub question: String,
    /// Code of the external body.
    pub body: String,
}

/// A step of the workflow.
#[derive(Debug, Clone, PartialEq)]
pub enum AppealCommand {
    /// The registrar registers it with the next number of the region (R28: duplicates too).
    Register {
        number: String,
        registration: Registration,
    },
    /// Anonymous with no report of a crime or threat: not considered (R11).
    NotConsider {
        reason: String,
    },
    /// Not subject to accounting: transferred to another system with ОЛ-2 (R30).
    Transfer {
        system: String,
        reason: String,
    },
    CancelTransfer {
        reason: String,
    },
    /// To another service by competence (R13).
    Route {
        service: String,
        reason: String,
    },
    Assign {
        officer: String,
    },
    Split {
        parts: Vec<PartInput>,
    },
    CrimeSigns {
        flag: bool,
        reason: String,
    },
    Kui {
        number: String,
    },
    /// The head extends the term (R11): at most 2 calendar months from registration in all.
    Extend {
        until: Day,
        reason: String,
    },
    ExtensionNoticeSent,
    SubmitDraft {
        draft: AnswerDraft,
    },
    ReturnDraft {
        reason: String,
    },
    /// The approved draft is sent: its DOCX is stored under `sha256`.
    Approve {
        sha256: String,
        size: u64,
    },
    Note {
        text: String,
    },
    /// A file added after intake (an officer's photo for the answer, a scanned letter).
    Attach {
        attachment: AttachmentRef,
    },
    /// The appeal reports an emergency: a "102" card was opened from it (R05).
    LinkCard {
        card_id: String,
        card_number: String,
    },
    /// R38: the re-check after a partition found earlier appeals of other regions that the
    /// check before registration could not see; recorded for the registrar and the manager.
    LateDuplicate {
        candidates: Vec<LateDuplicate>,
    },
    /// ОЛ-1 field 8 («Вид документа») does not match the content: the registrar edits it and
    /// enters a tag (004 p.4); field 9 follows (forms, R31).
    CorrectKind {
        kind: AppealKind,
        tag: String,
    },
    /// Form З-1 filled by hand (004 p.23: where no register interface exists, or to bring
    /// fields 12–18 in line with the postal address): the applicant's index in the appeal and
    /// values by field number; an empty value clears the field.
    FillZ1 {
        applicant: usize,
        fields: std::collections::BTreeMap<u32, String>,
    },
}

fn calendar_error(e: CalendarError) -> DomainError {
    match e {
        CalendarError::NoYear(y) => DomainError::rule(
            "no_calendar_for_year",
            format!("no working-day calendar is loaded for {y}: the hub must publish it before a term in {y} can be counted"),
        ),
        other => DomainError::field("date", other.to_string()),
    }
}

fn refuse(code: &'static str, message: impl Into<String>) -> DomainError {
    DomainError::rule(code, message)
}

fn out_of_order(a: &Appeal, step: &str) -> DomainError {
    DomainError::rule(
        "transition_not_allowed",
        format!(
            "{step} is not allowed while the appeal is {}",
            a.status.as_str()
        ),
    )
}

fn check_opt(field: &str, v: &Option<String>, max: usize) -> Result<(), DomainError> {
    match v {
        Some(v) => check_text(field, v, max, false),
        None => Ok(()),
    }
}

fn validate_applicant(prefix: &str, a: &Applicant) -> Result<(), DomainError> {
    use limits::*;
    let f = |n: &str| format!("{prefix}.{n}");
    for (n, v) in [
        ("surname", &a.surname),
        ("name", &a.name),
        ("patronymic", &a.patronymic),
        ("org_name", &a.org_name),
    ] {
        check_opt(&f(n), v, NAME_CHARS_MAX)?;
    }
    check_opt(&f("address"), &a.address, ADDRESS_CHARS_MAX)?;
    check_opt(&f("phone"), &a.phone, PHONE_CHARS_MAX)?;
    check_opt(&f("email"), &a.email, EMAIL_CHARS_MAX)?;
    for (n, v) in [("iin", &a.iin), ("bin", &a.bin)] {
        if let Some(v) = v {
            if !iin_is_valid(v) {
                return Err(DomainError::rule_field(
                    "invalid_iin",
                    &f(n),
                    format!(
                        "{v:?} is not a valid {}: 12 digits with the check digit",
                        n.to_uppercase()
                    ),
                ));
            }
        }
    }
    if let Some(e) = &a.email {
        if !e.trim().is_empty() && !e.contains('@') {
            return Err(DomainError::field(
                &f("email"),
                "an e-mail address needs '@'",
            ));
        }
    }
    Ok(())
}

/// Checks an intake: sizes, identity numbers, the location, attachment references.
pub fn validate_intake(i: &AppealIntake) -> Result<(), DomainError> {
    use limits::*;
    check_text("text", &i.text, TEXT_CHARS_MAX, true).map_err(|e| match e {
        DomainError::InvalidField { message, .. } if i.text.chars().count() > TEXT_CHARS_MAX => {
            DomainError::rule_field("text_too_long", "text", message)
        }
        e => e,
    })?;
    if let Some(a) = &i.applicant {
        validate_applicant("applicant", a)?;
    }
    if i.co_applicants.len() > CO_APPLICANTS_MAX {
        return Err(DomainError::field(
            "co_applicants",
            format!("at most {CO_APPLICANTS_MAX} co-applicants"),
        ));
    }
    for (n, a) in i.co_applicants.iter().enumerate() {
        validate_applicant(&format!("co_applicants[{n}]"), a)?;
    }
    if let Some(p) = &i.location {
        if !p.lat.is_finite()
            || !p.lon.is_finite()
            || !(-90.0..=90.0).contains(&p.lat)
            || !(-180.0..=180.0).contains(&p.lon)
        {
            return Err(DomainError::field(
                "location",
                "latitude must be −90…90 and longitude −180…180 degrees",
            ));
        }
    }
    if i.attachments.len() > ATTACHMENTS_MAX {
        return Err(DomainError::rule_field(
            "too_many_attachments",
            "attachments",
            format!("at most {ATTACHMENTS_MAX} attachments"),
        ));
    }
    for a in &i.attachments {
        validate_attachment_ref(a)?;
    }
    if let Some(c) = &i.card_id {
        check_text("card_id", c, 64, true)?;
    }
    Ok(())
}

pub(crate) fn validate_attachment_ref(a: &AttachmentRef) -> Result<(), DomainError> {
    if a.sha256.len() != 64 || !a.sha256.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(DomainError::field(
            "attachments.sha256",
            "not a SHA-256 in hex",
        ));
    }
    check_text(
        "attachments.file_name",
        &a.file_name,
        limits::FILE_NAME_CHARS_MAX,
        true,
    )?;
    check_text("attachments.content_type", &a.content_type, 100, true)?;
    if a.size as usize > limits::ATTACHMENT_BYTES_MAX {
        return Err(DomainError::rule_field(
            "attachment_too_large",
            "attachments",
            format!(
                "an attachment may be at most {} bytes",
                limits::ATTACHMENT_BYTES_MAX
            ),
        ));
    }
    Ok(())
}

fn validate_tags(tags: &[String]) -> Result<(), DomainError> {
    if tags.len() > limits::TAGS_MAX {
        return Err(DomainError::field(
            "tags",
            format!("at most {} tags", limits::TAGS_MAX),
        ));
    }
    for t in tags {
        check_text("tags", t, limits::TAG_CHARS_MAX, true)?;
    }
    Ok(())
}

fn validate_draft(d: &AnswerDraft, appeal: &Appeal, env: &Env) -> Result<(), DomainError> {
    use limits::*;
    if d.paragraphs.is_empty() || d.paragraphs.iter().all(|p| p.trim().is_empty()) {
        return Err(DomainError::field(
            "paragraphs",
            "the answer needs its text",
        ));
    }
    if d.paragraphs.len() > PARAGRAPHS_MAX {
        return Err(DomainError::field(
            "paragraphs",
            format!("at most {PARAGRAPHS_MAX} paragraphs"),
        ));
    }
    for p in &d.paragraphs {
        check_text("paragraphs", p, PARAGRAPH_CHARS_MAX, false)?;
    }
    if let Some(t) = &d.table {
        if t.rows.len() > TABLE_ROWS_MAX || t.header.len() > TABLE_COLS_MAX || t.header.is_empty() {
            return Err(DomainError::field(
                "table",
                format!("a table has 1–{TABLE_COLS_MAX} columns and at most {TABLE_ROWS_MAX} rows"),
            ));
        }
        for row in &t.rows {
            if row.len() != t.header.len() {
                return Err(DomainError::field(
                    "table",
                    "every row has as many cells as the header",
                ));
            }
        }
        for cell in t.header.iter().chain(t.rows.iter().flatten()) {
            check_text("table", cell, TABLE_CELL_CHARS_MAX, false)?;
        }
    }
    if d.images.len() > ANSWER_IMAGES_MAX {
        return Err(DomainError::field(
            "images",
            format!("at most {ANSWER_IMAGES_MAX} images"),
        ));
    }
    for sha in &d.images {
        let Some(att) = appeal.attachments.iter().find(|a| &a.sha256 == sha) else {
            return Err(DomainError::rule_field(
                "unknown_attachment",
                "images",
                format!("{sha} is not an attachment of this appeal"),
            ));
        };
        if att.content_type != "image/jpeg" {
            return Err(DomainError::rule_field(
                "image_not_jpeg",
                "images",
                format!(
                    "{} is not a JPEG image: answers carry images as JPEG (R12)",
                    att.file_name
                ),
            ));
        }
    }
    match d.decision {
        Decision::Redirected | Decision::OutsideCompetence => {
            let Some(body) = d.competent_body.as_deref() else {
                return Err(DomainError::rule_field(
                    "competent_body_required",
                    "competent_body",
                    "name the competent body the answer refers the applicant to (R13, R15)",
                ));
            };
            let known = match d.decision {
                Decision::Redirected => env.reference.service(body).is_some(),
                _ => env.reference.external_body(body).is_some(),
            };
            if !known {
                return Err(DomainError::rule_field(
                    "unknown_body",
                    "competent_body",
                    format!("unknown competent body {body:?}"),
                ));
            }
        }
        _ => {}
    }
    Ok(())
}

impl AppealDoc {
    /// A new appeal as it arrived (status `received`). `id` is the document's id.
    pub fn create(
        actor: automerge::ActorId,
        id: &str,
        intake: &AppealIntake,
        ctx: &Ctx,
    ) -> Result<AppealDoc, DomainError> {
        validate_intake(intake)?;
        let mut doc = AutoCommit::new().with_actor(actor);
        doc.put(ROOT, "v", APPEAL_SCHEMA_VERSION)?;
        doc.put(ROOT, "id", id)?;
        doc.put(ROOT, "region", ctx.replica.as_str())?;
        doc.put(ROOT, "received_at", ctx.now_ms)?;
        doc.put(ROOT, "received_by", ctx.writer())?;
        let json = serde_json::to_string(intake)
            .map_err(|e| DomainError::CorruptDocument(e.to_string()))?;
        doc.put(ROOT, "intake", json)?;
        doc.put_object(ROOT, "events", ObjType::List)?;
        Ok(AppealDoc { doc })
    }

    pub fn id(&self) -> Result<String, DomainError> {
        get_str(&self.doc, &ROOT, "id")
            .ok_or_else(|| DomainError::CorruptDocument("appeal id is missing".into()))
    }

    /// The intake as it arrived.
    pub fn intake(&self) -> Result<AppealIntake, DomainError> {
        let json = get_str(&self.doc, &ROOT, "intake")
            .ok_or_else(|| DomainError::CorruptDocument("the intake is missing".into()))?;
        serde_json::from_str(&json).map_err(|e| DomainError::CorruptDocument(e.to_string()))
    }

    /// The log of steps, in the order every replica reads it.
    pub fn events(&self) -> Result<Vec<fold::Entry>, DomainError> {
        let list = get_obj(&self.doc, &ROOT, "events")?;
        read_json_list(&self.doc, &list)
    }

    /// The appeal as readers see it. `calendar` and `today` colour the deadline (R16); without
    /// them the state is left out.
    pub fn view(&self, deadline_of: Option<(&WorkCalendar, Day)>) -> Result<Appeal, DomainError> {
        let id = self.id()?;
        let region = get_str(&self.doc, &ROOT, "region")
            .ok_or_else(|| DomainError::CorruptDocument("appeal region is missing".into()))?;
        let received_at = get_i64(&self.doc, &ROOT, "received_at")
            .ok_or_else(|| DomainError::CorruptDocument("received_at is missing".into()))?;
        let mut a = fold::fold(id, region, received_at, self.intake()?, self.events()?);
        if let (Some((cal, today)), Some(due)) = (deadline_of, a.deadline) {
            if a.status.term_runs() {
                a.deadline_state = Some(deadline_state(cal, due, today));
            }
        }
        Ok(a)
    }

    /// Applies a step: checks it against the current view and appends it to the log. Nothing
    /// is written when it is refused.
    pub fn apply(
        &mut self,
        cmd: &AppealCommand,
        actor: &Actor,
        env: &Env,
        ctx: &Ctx,
    ) -> Result<(), DomainError> {
        let appeal = self.view(None)?;
        if appeal.history.len() >= limits::HISTORY_MAX {
            return Err(refuse(
                "history_full",
                format!(
                    "the appeal has {} steps; no more can be added",
                    limits::HISTORY_MAX
                ),
            ));
        }
        let event = decide(&appeal, cmd, actor, env, ctx)?;
        let entry = fold::Entry {
            at: ctx.now_ms,
            by: ctx.by.clone(),
            writer: ctx.writer(),
            event,
        };
        let list = get_obj(&self.doc, &ROOT, "events")?;
        append_json(&mut self.doc, &list, &entry)
    }
}

/// How close `due` is on `today` (R16): overdue after the day, near within
/// [`deadline::NEAR_DEADLINE_WORKING_DAYS`] working days. Where the calendar lacks a year
/// between them, calendar days count instead: the state is never hidden.
pub fn deadline_state(cal: &WorkCalendar, due: Day, today: Day) -> DeadlineState {
    let near = deadline::NEAR_DEADLINE_WORKING_DAYS;
    deadline::deadline_state(cal, due, today, near).unwrap_or(if today > due {
        DeadlineState::Overdue
    } else if due.days() - today.days() <= near as i32 {
        DeadlineState::Near
    } else {
        DeadlineState::Ok
    })
}

fn require_service(a: &Appeal, actor: &Actor) -> Result<(), DomainError> {
    match (&actor.service, &a.service) {
        (Some(mine), Some(theirs)) if mine != theirs => Err(refuse(
            "not_your_service",
            format!("the appeal is with service {theirs}; you act for {mine}"),
        )),
        _ => Ok(()),
    }
}

fn known_service(env: &Env, code: &str) -> Result<(), DomainError> {
    if env.reference.service(code).is_none() {
        return Err(DomainError::rule_field(
            "unknown_service",
            "service",
            format!("unknown service {code:?}"),
        ));
    }
    Ok(())
}

/// Checks a command against the appeal and turns it into the step to append.
fn decide(
    a: &Appeal,
    cmd: &AppealCommand,
    actor: &Actor,
    env: &Env,
    ctx: &Ctx,
) -> Result<Event, DomainError> {
    use AppealStatus as S;
    let today = env.day(ctx.now_ms);
    if actor.hq && !matches!(cmd, AppealCommand::Note { .. }) {
        return Err(refuse(
            "hq_notes_only",
            "HQ adds control notes; the region's staff take the steps",
        ));
    }
    match cmd {
        AppealCommand::Register {
            number,
            registration: r,
        } => {
            if a.status != S::Received {
                return Err(out_of_order(a, "registration"));
            }
            validate_tags(&r.tags)?;
            known_service(env, &r.service)?;
            if r.duplicate_of.len() > limits::DUPLICATE_LINKS_MAX {
                return Err(DomainError::field(
                    "duplicate_of",
                    "too many duplicate links",
                ));
            }
            let anonymous = r.anonymous || a.anonymous;
            if anonymous && !r.crime_signs {
                return Err(refuse(
                    "anonymous_not_considered",
                    "an anonymous appeal is not considered unless it reports a crime or a threat to public security (R11): mark it not considered",
                ));
            }
            if anonymous
                && env
                    .reference
                    .service(&r.service)
                    .is_some_and(|s| !s.crime_reports)
            {
                return Err(DomainError::rule_field(
                    "crime_report_service_required",
                    "service",
                    "an anonymous report of a crime goes at once to the service that takes crime reports",
                ));
            }
            let registration_day = env
                .calendar
                .next_working_day(today)
                .map_err(calendar_error)?;
            let deadline = env
                .calendar
                .add_working_days(registration_day, deadline::REVIEW_TERM_WORKING_DAYS)
                .map_err(calendar_error)?;
            Ok(Event::Registered {
                number: number.clone(),
                registration: Registration {
                    anonymous,
                    ..r.clone()
                },
                registration_day,
                deadline,
                by_name: actor.name.clone(),
            })
        }
        AppealCommand::NotConsider { reason } => {
            check_text("reason", reason, limits::REASON_CHARS_MAX, true)?;
            if a.status != S::Received {
                return Err(out_of_order(a, "not considering"));
            }
            if !a.anonymous && !a.applicants.iter().all(Applicant::is_unnamed) {
                return Err(refuse(
                    "not_anonymous",
                    "only an anonymous appeal (no author, signature or postal address) is left without consideration",
                ));
            }
            Ok(Event::NotConsidered {
                reason: reason.clone(),
            })
        }
        AppealCommand::Transfer { system, reason } => {
            check_text("system", system, limits::SYSTEM_CHARS_MAX, true)?;
            check_text("reason", reason, limits::REASON_CHARS_MAX, true)?;
            if a.status != S::Received {
                return Err(out_of_order(a, "transfer"));
            }
            let received = env.day(a.received_at);
            let due = env
                .calendar
                .add_working_days(received, deadline::TRANSFER_OL2_WORKING_DAYS)
                .map_err(calendar_error)?;
            let cancel_until = env
                .calendar
                .add_working_days(today, deadline::TRANSFER_CANCEL_WORKING_DAYS)
                .map_err(calendar_error)?;
            Ok(Event::Transferred {
                system: system.clone(),
                reason: reason.clone(),
                due,
                late: today > due,
                cancel_until,
            })
        }
        AppealCommand::CancelTransfer { reason } => {
            check_text("reason", reason, limits::REASON_CHARS_MAX, true)?;
            let Some(t) = a.transfer.as_ref().filter(|t| t.cancelled_at.is_none()) else {
                return Err(out_of_order(a, "cancelling a transfer"));
            };
            if today > t.cancel_until {
                return Err(refuse(
                    "transfer_cancel_window_closed",
                    format!("a transfer can be cancelled until the end of {} (1 working day of the decision, R30)", t.cancel_until),
                ));
            }
            Ok(Event::TransferCancelled {
                reason: reason.clone(),
            })
        }
        AppealCommand::Route { service, reason } => {
            check_text("reason", reason, limits::REASON_CHARS_MAX, false)?;
            if !matches!(a.status, S::Registered | S::Routed | S::InWork) {
                return Err(out_of_order(a, "routing"));
            }
            known_service(env, service)?;
            require_service(a, actor)?;
            if a.service.as_deref() == Some(service.as_str()) {
                return Err(DomainError::rule_field(
                    "same_service",
                    "service",
                    "the appeal is already with this service",
                ));
            }
            Ok(Event::Routed {
                service: service.clone(),
                reason: reason.clone(),
            })
        }
        AppealCommand::Assign { officer } => {
            check_text("officer", officer, 64, true)?;
            if !matches!(a.status, S::Registered | S::Routed | S::InWork) {
                return Err(out_of_order(a, "assignment"));
            }
            require_service(a, actor)?;
            Ok(Event::Assigned {
                officer: officer.clone(),
            })
        }
        AppealCommand::Split { parts } => {
            if !matches!(a.status, S::Registered | S::Routed | S::InWork) {
                return Err(out_of_order(a, "splitting"));
            }
            let Some(number) = &a.number else {
                return Err(out_of_order(a, "splitting"));
            };
            if parts.is_empty() || a.parts.len() + parts.len() > limits::PARTS_MAX {
                return Err(DomainError::field(
                    "parts",
                    format!("1 to {} parts in all", limits::PARTS_MAX),
                ));
            }
            let due = env
                .calendar
                .add_working_days(today, deadline::REDIRECT_WORKING_DAYS)
                .map_err(calendar_error)?;
            let mut out = Vec::with_capacity(parts.len());
            for (k, p) in parts.iter().enumerate() {
                check_text(
                    "parts.question",
                    &p.question,
                    limits::QUESTION_CHARS_MAX,
                    true,
                )?;
                if env.reference.external_body(&p.body).is_none() {
                    return Err(DomainError::rule_field(
                        "unknown_body",
                        "parts.body",
                        format!("unknown competent body {:?}", p.body),
                    ));
                }
                out.push(AppealPart {
                    number: format!("{number}/{}", a.parts.len() + k + 1),
                    question: p.question.clone(),
                    body: p.body.clone(),
                    sent_at: ctx.now_ms,
                    by: ctx.by.clone(),
                    due,
                });
            }
            Ok(Event::Split { parts: out })
        }
        AppealCommand::CrimeSigns { flag, reason } => {
            check_text("reason", reason, limits::REASON_CHARS_MAX, true)?;
            if !a.status.is_open() {
                return Err(out_of_order(a, "marking signs of a crime"));
            }
            if a.crime_signs == *flag {
                return Err(refuse("no_change", "the flag is already so"));
            }
            if !flag && a.kui.is_some() {
                return Err(refuse("kui_registered", "the appeal is registered in КУИ"));
            }
            Ok(Event::CrimeSigns {
                flag: *flag,
                reason: reason.clone(),
            })
        }
        AppealCommand::Kui { number } => {
            check_text("number", number, limits::KUI_NUMBER_CHARS_MAX, true)?;
            if !a.crime_signs {
                return Err(refuse(
                    "no_crime_signs",
                    "mark the signs of a crime first (R14)",
                ));
            }
            if a.kui.is_some() {
                return Err(refuse(
                    "kui_registered",
                    "the appeal is registered in КУИ already",
                ));
            }
            Ok(Event::Kui {
                number: number.trim().to_string(),
            })
        }
        AppealCommand::Extend { until, reason } => {
            check_text("reason", reason, limits::REASON_CHARS_MAX, true)?;
            if !a.status.term_runs() {
                return Err(out_of_order(a, "an extension"));
            }
            let (Some(reg), Some(due)) = (a.registration_day, a.deadline) else {
                return Err(out_of_order(a, "an extension"));
            };
            if *until <= due {
                return Err(DomainError::rule_field(
                    "extension_not_later",
                    "until",
                    format!("the new term must be after the current one, {due}"),
                ));
            }
            let max = env
                .calendar
                .calendar_months_due(reg, deadline::EXTENSION_TOTAL_MONTHS_MAX)
                .map_err(calendar_error)?;
            if *until > max {
                return Err(DomainError::rule_field(
                    "extension_too_long",
                    "until",
                    format!("the term can be extended to {max} at most: 2 months of registration in all (R11)"),
                ));
            }
            let notice_due = env
                .calendar
                .add_working_days(today, deadline::EXTENSION_NOTICE_WORKING_DAYS)
                .map_err(calendar_error)?;
            Ok(Event::Extended {
                until: *until,
                reason: reason.clone(),
                notice_due,
            })
        }
        AppealCommand::ExtensionNoticeSent => match a.extensions.last() {
            Some(e) if e.notice_sent_at.is_none() => Ok(Event::ExtensionNotice {}),
            _ => Err(refuse(
                "no_pending_notice",
                "no extension waits for its notice",
            )),
        },
        AppealCommand::SubmitDraft { draft } => {
            if a.status != S::InWork {
                return Err(out_of_order(a, "an answer"));
            }
            if a.officer.as_deref() != Some(ctx.by.as_str()) {
                return Err(refuse(
                    "not_assigned_to_you",
                    "the appeal is assigned to another officer",
                ));
            }
            if a.drafts.len() >= limits::DRAFTS_MAX {
                return Err(refuse("too_many_drafts", "too many drafts"));
            }
            validate_draft(draft, a, env)?;
            Ok(Event::DraftSubmitted {
                seq: a.drafts.len() as u32 + 1,
                draft: draft.clone(),
            })
        }
        AppealCommand::ReturnDraft { reason } => {
            check_text("reason", reason, limits::REASON_CHARS_MAX, true)?;
            if a.status != S::OnApproval {
                return Err(out_of_order(a, "returning the draft"));
            }
            require_service(a, actor)?;
            Ok(Event::DraftReturned {
                seq: a.drafts.len() as u32,
                reason: reason.clone(),
            })
        }
        AppealCommand::Approve { sha256, size } => {
            if a.status != S::OnApproval {
                return Err(out_of_order(a, "approval"));
            }
            require_service(a, actor)?;
            if sha256.len() != 64 {
                return Err(DomainError::field("sha256", "not a SHA-256 in hex"));
            }
            Ok(Event::Approved {
                seq: a.drafts.len() as u32,
                sha256: sha256.clone(),
                size: *size,
            })
        }
        AppealCommand::CorrectKind { kind, tag } => {
            check_text("tag", tag, limits::TAG_CHARS_MAX, true)?;
            if a.number.is_none() {
                return Err(out_of_order(a, "a correction of the document kind"));
            }
            if a.kind == Some(*kind) {
                return Err(refuse(
                    "kind_unchanged",
                    "the document kind is already this one",
                ));
            }
            if !a.tags.iter().any(|t| t == tag.trim()) && a.tags.len() >= limits::TAGS_MAX {
                return Err(DomainError::field(
                    "tag",
                    format!("at most {} tags", limits::TAGS_MAX),
                ));
            }
            Ok(Event::KindCorrected {
                kind: *kind,
                tag: tag.trim().to_string(),
            })
        }
        AppealCommand::FillZ1 { applicant, fields } => {
            use crate::forms::register::{REGISTER_VALUE_CHARS_MAX, Z1_FIELDS_MAX};
            if a.number.is_none() {
                return Err(out_of_order(a, "form З-1"));
            }
            if *applicant >= a.applicants.len() {
                return Err(DomainError::field("applicant", "no such applicant"));
            }
            if fields.is_empty() {
                return Err(DomainError::field("fields", "no field to fill"));
            }
            for (n, v) in fields {
                // 1–2 come from ОЛ-1 and 4 is the applicant's ИИН/БИН as the appeal gives it.
                if !(3..=Z1_FIELDS_MAX).contains(n) || *n == 4 {
                    return Err(DomainError::field(
                        "fields",
                        format!("З-1 field {n} is not filled by hand (3, 5–{Z1_FIELDS_MAX})"),
                    ));
                }
                check_text("fields", v, REGISTER_VALUE_CHARS_MAX, false)?;
            }
            Ok(Event::Z1Filled {
                applicant: *applicant,
                fields: fields
                    .iter()
                    .map(|(n, v)| (n.to_string(), v.trim().to_string()))
                    .collect(),
            })
        }
        AppealCommand::Note { text } => {
            check_text("text", text, limits::NOTE_CHARS_MAX, true)?;
            Ok(Event::Note { text: text.clone() })
        }
        AppealCommand::LinkCard {
            card_id,
            card_number,
        } => {
            check_text("card_id", card_id, 64, true)?;
            check_text("card_number", card_number, 64, true)?;
            if a.card_id.is_some() {
                return Err(refuse(
                    "card_already_linked",
                    "a \"102\" card is already linked to this appeal",
                ));
            }
            Ok(Event::CardLinked {
                card_id: card_id.clone(),
                card_number: card_number.clone(),
            })
        }
        AppealCommand::Attach { attachment } => {
            if !a.status.is_open() {
                return Err(out_of_order(a, "attaching a file"));
            }
            validate_attachment_ref(attachment)?;
            if a.attachments.len() >= limits::ATTACHMENTS_MAX {
                return Err(DomainError::rule_field(
                    "too_many_attachments",
                    "attachments",
                    format!("at most {} attachments", limits::ATTACHMENTS_MAX),
                ));
            }
            Ok(Event::Attached {
                attachment: attachment.clone(),
            })
        }
        AppealCommand::LateDuplicate { candidates } => {
            if candidates.is_empty() || candidates.len() > limits::DUPLICATE_LINKS_MAX {
                return Err(DomainError::field(
                    "candidates",
                    format!("1 to {} candidates", limits::DUPLICATE_LINKS_MAX),
                ));
            }
            for c in candidates {
                if !crate::doc_id::is_region_code(&c.region) {
                    return Err(DomainError::field("candidates.region", "not a region code"));
                }
                check_text(
                    "candidates.id",
                    &c.id,
                    limits::LATE_DUPLICATE_ID_CHARS_MAX,
                    true,
                )?;
                check_opt(
                    "candidates.number",
                    &c.number,
                    limits::LATE_DUPLICATE_ID_CHARS_MAX,
                )?;
                if !(0.0..=1.0).contains(&c.similarity) {
                    return Err(DomainError::field(
                        "candidates.similarity",
                        "a similarity is 0..1",
                    ));
                }
                if c.reasons.len() > limits::LATE_DUPLICATE_REASONS_MAX {
                    return Err(DomainError::field("candidates.reasons", "too many reasons"));
                }
                for r in &c.reasons {
                    check_text("candidates.reasons", r, limits::TAG_CHARS_MAX, true)?;
                }
            }
            let new: Vec<LateDuplicate> = candidates
                .iter()
                .filter(|c| {
                    !a.late_duplicates
                        .iter()
                        .any(|k| k.region == c.region && k.id == c.id)
                })
                .cloned()
                .collect();
            if new.is_empty() {
                return Err(refuse("no_change", "every candidate is recorded already"));
            }
            Ok(Event::LateDuplicate { candidates: new })
        }
    }
}

/// What the check reads of an appeal: its first applicant and its text. The number is the
/// registration number, or the appeal's id before registration. The node and the hub both read
/// appeals with it, so that their fingerprints of one appeal are equal.
pub fn duplicate_subject(a: &Appeal) -> crate::duplicates::DupSubject {
    let first = a.applicants.first().cloned().unwrap_or_default();
    crate::duplicates::DupSubject {
        region: a.region.clone(),
        number: a.number.clone().unwrap_or_else(|| a.id.clone()),
        received_at_ms: a.received_at,
        iin: first.iin.or(first.bin),
        phone: first.phone,
        email: first.email,
        surname: first.surname,
        name: first.name,
        patronymic: first.patronymic,
        address: first.address,
        language: a.language,
        text: a.text.clone(),
    }
}

#[cfg(test)]
mod tests;
