//! Citizens' appeals for the region's staff: the registrar's intake and registration, the
//! manager's routing, assignment, control board and approval, the officer's answer, the head's
//! extensions (R11–R16, R27–R30). Every step is a command of the sans-IO workflow
//! ([`sync::appeal`]) applied by [`crate::appeals::AppealService`], audited and durable before
//! the answer.

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use server_kit::clock::now_ms;
use server_kit::web::{ApiError, ApiErrorBody, ApiJson, ApiResult, Auth};
use sync::appeal::{
    AnswerDraft, Appeal, AppealCommand, AppealStatus, AppealSummary, DraftRecord, DraftState,
    PartInput, Registration,
};
use sync::calendar::Day;
use sync::Role;
use utoipa::ToSchema;

use crate::appeals::blobs::FileUpload;
use crate::appeals::duplicates::DuplicateReport;
use crate::appeals::{AppealInput, ListFilter, Staff, APPEAL_REQUEST_BYTES_MAX};

use super::state::SharedState;

/// Everyone who works appeals (reads them).
pub const APPEAL_STAFF: &[Role] = &[
    Role::Registrar,
    Role::Head,
    Role::AppealManager,
    Role::AppealOfficer,
];
const REGISTRARS: &[Role] = &[Role::Registrar];
const MANAGERS: &[Role] = &[Role::AppealManager, Role::Head];
const ROUTERS: &[Role] = &[Role::Registrar, Role::AppealManager, Role::Head];
const OFFICERS: &[Role] = &[Role::AppealOfficer];

fn staff(auth: &Auth) -> Staff {
    Staff {
        login: auth.user.login.clone(),
        name: auth.user.full_name.clone(),
        service: auth.user.service.clone(),
    }
}

/// An officer reads the appeals assigned to them; the other appeal roles read the region's.
fn may_read(auth: &Auth, a: &Appeal) -> ApiResult<()> {
    let only_officer = auth.user.has_role(Role::AppealOfficer)
        && ![Role::Registrar, Role::Head, Role::AppealManager]
            .into_iter()
            .any(|r| auth.user.has_role(r));
    if only_officer && a.officer.as_deref() != Some(auth.user.login.as_str()) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "not_assigned_to_you",
            "the appeal is assigned to another officer",
        ));
    }
    Ok(())
}

/// A staff member's full name by login (the login itself for an account since removed).
pub(super) fn full_name(s: &SharedState, login: &str) -> String {
    s.accounts
        .get(login)
        .map(|u| u.full_name)
        .unwrap_or_else(|_| login.to_string())
}

pub(super) fn load(s: &SharedState, auth: &Auth, id: &str) -> ApiResult<Appeal> {
    let cal = s.service.work_calendar()?;
    let a = s.service.appeals().get(id, &cal, now_ms())?;
    may_read(auth, &a)?;
    Ok(a)
}

async fn run(
    s: &SharedState,
    auth: &Auth,
    id: &str,
    cmd: AppealCommand,
) -> ApiResult<Json<Appeal>> {
    let cal = s.service.work_calendar()?;
    let a = s
        .service
        .appeals()
        .command(id, &staff(auth), cmd, &cal, now_ms())
        .await?;
    Ok(Json(a))
}

#[utoipa::path(post, path = "/api/v1/appeals", request_body = AppealInput,
    responses((status = 201, body = Appeal), (status = 422, body = ApiErrorBody)))]
async fn create_appeal(
    State(s): State<SharedState>,
    auth: Auth,
    ApiJson(input): ApiJson<AppealInput>,
) -> ApiResult<(StatusCode, Json<Appeal>)> {
    auth.require(REGISTRARS)?;
    let (a, _token) = s
        .service
        .appeals()
        .intake(&auth.user.login, input, now_ms())
        .await?;
    Ok((StatusCode::CREATED, Json(a)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AppealListQuery {
    /// One status (default: every open one).
    status: Option<String>,
    /// Open appeals of one service.
    service: Option<String>,
    /// `true`: the appeals assigned to me.
    mine: Option<bool>,
    /// `true`: appeals flagged with signs of a crime (R14, R33).
    crime_signs: Option<bool>,
    limit: Option<usize>,
}

#[utoipa::path(get, path = "/api/v1/appeals", params(AppealListQuery),
    responses((status = 200, body = [AppealSummary])))]
async fn list_appeals(
    State(s): State<SharedState>,
    auth: Auth,
    Query(q): Query<AppealListQuery>,
) -> ApiResult<Json<Vec<AppealSummary>>> {
    auth.require(APPEAL_STAFF)?;
    let status = match q.status.as_deref() {
        None | Some("") => None,
        Some(x) => Some(AppealStatus::parse(x).ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_field",
                format!("unknown status {x:?}"),
            )
            .with_field(Some("status".into()))
        })?),
    };
    let only_officer = auth.user.has_role(Role::AppealOfficer)
        && ![Role::Registrar, Role::Head, Role::AppealManager]
            .into_iter()
            .any(|r| auth.user.has_role(r));
    let filter = ListFilter {
        status,
        service: q.service,
        officer: (q.mine.unwrap_or(false) || only_officer).then(|| auth.user.login.clone()),
        crime_signs: q.crime_signs.unwrap_or(false),
        limit: q.limit,
    };
    let cal = s.service.work_calendar()?;
    Ok(Json(s.service.appeals().list(&filter, &cal, now_ms())?))
}

#[utoipa::path(get, path = "/api/v1/appeals/board",
    responses((status = 200, body = [AppealSummary], description = "Open appeals of the manager's service (all for the head): overdue first, then near the deadline (R16)")))]
async fn board(State(s): State<SharedState>, auth: Auth) -> ApiResult<Json<Vec<AppealSummary>>> {
    auth.require(&[Role::AppealManager, Role::Head, Role::Registrar])?;
    let service = if auth.user.has_role(Role::Head) || auth.user.has_role(Role::Registrar) {
        None
    } else {
        auth.user.service.clone()
    };
    let cal = s.service.work_calendar()?;
    Ok(Json(s.service.appeals().board(
        service.as_deref(),
        &cal,
        now_ms(),
    )?))
}

#[utoipa::path(get, path = "/api/v1/appeals/{id}", params(("id" = String, Path)),
    responses((status = 200, body = Appeal), (status = 404, body = ApiErrorBody)))]
async fn get_appeal(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Appeal>> {
    auth.require(APPEAL_STAFF)?;
    Ok(Json(load(&s, &auth, &id)?))
}

#[utoipa::path(get, path = "/api/v1/appeals/{id}/duplicates", params(("id" = String, Path)),
    responses((status = 200, body = DuplicateReport)))]
async fn duplicates(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<DuplicateReport>> {
    auth.require(&[Role::Registrar, Role::AppealManager, Role::Head])?;
    let a = load(&s, &auth, &id)?;
    Ok(Json(
        s.service
            .appeals()
            .duplicates(&a, &auth.user.login, now_ms())
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/appeals/{id}/register", params(("id" = String, Path)),
    request_body = Registration, responses((status = 200, body = Appeal), (status = 409, body = ApiErrorBody)))]
async fn register(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(r): ApiJson<Registration>,
) -> ApiResult<Json<Appeal>> {
    auth.require(REGISTRARS)?;
    let cal = s.service.work_calendar()?;
    let a = s
        .service
        .appeals()
        .register(&id, &staff(&auth), r, &cal, now_ms())
        .await?;
    Ok(Json(a))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonInput {
    reason: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferInput {
    /// The system the document goes to (form ОЛ-2).
    system: String,
    reason: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteInput {
    service: String,
    #[serde(default)]
    reason: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignInput {
    officer: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SplitInput {
    parts: Vec<PartInput>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CrimeSignsInput {
    flag: bool,
    reason: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KuiInput {
    number: String,
}

/// Form З-1 filled by hand (004 p.23): the applicant's index in the appeal and values by field
/// number (`{"13": "ул. Кенесары"}`); an empty value clears the field.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Z1Input {
    applicant: usize,
    fields: std::collections::BTreeMap<u32, String>,
}

/// ОЛ-1 field 8 edited with a tag (004 p.4).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KindInput {
    kind: sync::appeal::AppealKind,
    tag: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtendInput {
    /// The new deadline, `YYYY-MM-DD`.
    #[schema(value_type = String)]
    until: Day,
    reason: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteInput {
    text: String,
}

macro_rules! step {
    ($name:ident, $path:literal, $roles:expr, $input:ty, |$i:ident| $cmd:expr) => {
        #[utoipa::path(post, path = $path, params(("id" = String, Path)), request_body = $input,
            responses((status = 200, body = Appeal), (status = 409, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
        async fn $name(
            State(s): State<SharedState>,
            auth: Auth,
            Path(id): Path<String>,
            ApiJson($i): ApiJson<$input>,
        ) -> ApiResult<Json<Appeal>> {
            auth.require($roles)?;
            run(&s, &auth, &id, $cmd).await
        }
    };
}

step!(
    not_considered,
    "/api/v1/appeals/{id}/not-considered",
    REGISTRARS,
    ReasonInput,
    |i| AppealCommand::NotConsider { reason: i.reason }
);
step!(
    appeal_transfer,
    "/api/v1/appeals/{id}/transfer",
    REGISTRARS,
    TransferInput,
    |i| AppealCommand::Transfer {
        system: i.system,
        reason: i.reason
    }
);
step!(
    cancel_transfer,
    "/api/v1/appeals/{id}/transfer/cancel",
    REGISTRARS,
    ReasonInput,
    |i| AppealCommand::CancelTransfer { reason: i.reason }
);
step!(
    route,
    "/api/v1/appeals/{id}/route",
    ROUTERS,
    RouteInput,
    |i| AppealCommand::Route {
        service: i.service,
        reason: i.reason
    }
);
step!(
    assign,
    "/api/v1/appeals/{id}/assign",
    MANAGERS,
    AssignInput,
    |i| AppealCommand::Assign { officer: i.officer }
);
step!(
    split,
    "/api/v1/appeals/{id}/split",
    ROUTERS,
    SplitInput,
    |i| AppealCommand::Split { parts: i.parts }
);
step!(
    crime_signs,
    "/api/v1/appeals/{id}/crime-signs",
    ROUTERS,
    CrimeSignsInput,
    |i| AppealCommand::CrimeSigns {
        flag: i.flag,
        reason: i.reason
    }
);
step!(
    correct_kind,
    "/api/v1/appeals/{id}/kind",
    REGISTRARS,
    KindInput,
    |i| AppealCommand::CorrectKind {
        kind: i.kind,
        tag: i.tag
    }
);
step!(
    fill_z1,
    "/api/v1/appeals/{id}/z1",
    REGISTRARS,
    Z1Input,
    |i| AppealCommand::FillZ1 {
        applicant: i.applicant,
        fields: i.fields
    }
);
step!(kui, "/api/v1/appeals/{id}/kui", ROUTERS, KuiInput, |i| {
    AppealCommand::Kui { number: i.number }
});
step!(
    extend,
    "/api/v1/appeals/{id}/extend",
    &[Role::Head],
    ExtendInput,
    |i| AppealCommand::Extend {
        until: i.until,
        reason: i.reason
    }
);
#[utoipa::path(post, path = "/api/v1/appeals/{id}/draft", params(("id" = String, Path)), request_body = AnswerDraft,
    responses((status = 200, body = Appeal), (status = 409, body = ApiErrorBody), (status = 422, body = ApiErrorBody, description = "also a draft that makes no document (an empty table header, a damaged photo), with the field")))]
async fn submit_draft(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(draft): ApiJson<AnswerDraft>,
) -> ApiResult<Json<Appeal>> {
    auth.require(OFFICERS)?;
    // The draft must make the document it will be sent as: refused now, naming the field, not
    // later when the manager previews or approves it.
    // Checked only where the step itself would pass (the workflow's refusals stay its own).
    let cal = s.service.work_calendar()?;
    let mut trial = s.service.appeals().get(&id, &cal, now_ms())?;
    if trial.status == AppealStatus::InWork
        && trial.officer.as_deref() == Some(auth.user.login.as_str())
    {
        trial.drafts.push(DraftRecord {
            seq: u32::MAX,
            by: auth.user.login.clone(),
            at: now_ms(),
            state: DraftState::Submitted,
            return_reason: None,
            draft: draft.clone(),
        });
        crate::appeals::answer::render_submitted(
            s.service.appeals(),
            &trial,
            &auth.user.full_name,
            |login| full_name(&s, login),
            now_ms(),
        )?;
    }
    run(&s, &auth, &id, AppealCommand::SubmitDraft { draft }).await
}
step!(
    return_draft,
    "/api/v1/appeals/{id}/return",
    MANAGERS,
    ReasonInput,
    |i| AppealCommand::ReturnDraft { reason: i.reason }
);
step!(
    appeal_note,
    "/api/v1/appeals/{id}/notes",
    APPEAL_STAFF,
    NoteInput,
    |i| AppealCommand::Note { text: i.text }
);

#[utoipa::path(post, path = "/api/v1/appeals/{id}/extension-notice", params(("id" = String, Path)),
    responses((status = 200, body = Appeal), (status = 409, body = ApiErrorBody)))]
async fn extension_notice(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Appeal>> {
    auth.require(ROUTERS)?;
    run(&s, &auth, &id, AppealCommand::ExtensionNoticeSent).await
}

#[utoipa::path(post, path = "/api/v1/appeals/{id}/attachments", params(("id" = String, Path)),
    request_body = FileUpload, responses((status = 200, body = Appeal), (status = 422, body = ApiErrorBody)))]
async fn attach(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(file): ApiJson<FileUpload>,
) -> ApiResult<Json<Appeal>> {
    auth.require(&[Role::Registrar, Role::AppealManager, Role::AppealOfficer])?;
    load(&s, &auth, &id)?;
    let cal = s.service.work_calendar()?;
    let a = s
        .service
        .appeals()
        .attach(&id, &staff(&auth), &file, &cal, now_ms())
        .await?;
    Ok(Json(a))
}

#[utoipa::path(post, path = "/api/v1/appeals/{id}/approve", params(("id" = String, Path)),
    responses((status = 200, body = Appeal), (status = 409, body = ApiErrorBody)))]
async fn approve(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Appeal>> {
    auth.require(MANAGERS)?;
    let cal = s.service.work_calendar()?;
    let signer = staff(&auth);
    let appeals = s.service.appeals();
    let a = appeals
        .approve(&id, &signer, &cal, now_ms(), |a| {
            crate::appeals::answer::render_submitted(
                appeals,
                a,
                &signer.name,
                |login| full_name(&s, login),
                now_ms(),
            )
        })
        .await?;
    Ok(Json(a))
}

pub(super) fn docx_response(bytes: Vec<u8>, name: &str) -> Response {
    Response::builder()
        .header(
            header::CONTENT_TYPE,
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        )
        .header(
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}.docx\""),
        )
        .body(Body::from(bytes))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// The file name of an appeal's answer: its number with the slash-free characters.
pub fn answer_file_name(a: &Appeal) -> String {
    a.number
        .as_deref()
        .unwrap_or(&a.id)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[utoipa::path(get, path = "/api/v1/appeals/{id}/draft.docx", params(("id" = String, Path)),
    responses((status = 200, description = "The last submitted draft as the Word document it would be sent as"), (status = 409, body = ApiErrorBody)))]
async fn draft_docx(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    auth.require(APPEAL_STAFF)?;
    let a = load(&s, &auth, &id)?;
    let bytes = crate::appeals::answer::render_submitted(
        s.service.appeals(),
        &a,
        &auth.user.full_name,
        |login| full_name(&s, login),
        now_ms(),
    )?;
    Ok(docx_response(
        bytes,
        &format!("{}-draft", answer_file_name(&a)),
    ))
}

#[utoipa::path(get, path = "/api/v1/appeals/{id}/answer.docx", params(("id" = String, Path)),
    responses((status = 200, description = "The answer sent, byte for byte as stored"), (status = 404, body = ApiErrorBody)))]
async fn answer_docx(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    auth.require(APPEAL_STAFF)?;
    let a = load(&s, &auth, &id)?;
    let bytes = stored_answer(&s, &a)?;
    Ok(docx_response(bytes, &answer_file_name(&a)))
}

/// The stored answer of an appeal: `not_found` before it is sent.
pub(super) fn stored_answer(s: &SharedState, a: &Appeal) -> ApiResult<Vec<u8>> {
    let not_yet = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "no_answer_yet",
            "the appeal has not been answered yet",
        )
    };
    let sha = a.answer.as_ref().ok_or_else(not_yet)?.sha256.clone();
    s.service.appeals().file(a, &sha)?.ok_or_else(not_yet)
}

#[utoipa::path(get, path = "/api/v1/appeals/{id}/attachments/{sha256}",
    params(("id" = String, Path), ("sha256" = String, Path)),
    responses((status = 200, description = "The file"), (status = 404, body = ApiErrorBody)))]
async fn attachment(
    State(s): State<SharedState>,
    auth: Auth,
    Path((id, sha)): Path<(String, String)>,
) -> ApiResult<Response> {
    auth.require(APPEAL_STAFF)?;
    let a = load(&s, &auth, &id)?;
    let Some(meta) = a.attachments.iter().find(|x| x.sha256 == sha).cloned() else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such attachment",
        ));
    };
    let bytes = s.service.appeals().file(&a, &sha)?.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "the file is not on this node",
        )
    })?;
    Ok(Response::builder()
        .header(header::CONTENT_TYPE, meta.content_type)
        .header(header::CONTENT_DISPOSITION, "attachment")
        .body(Body::from(bytes))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response()))
}

/// What the registrar's form offers: the computed suggestions for an appeal (R11, R14, R15).
#[derive(Serialize, ToSchema)]
pub struct Suggestions {
    service: Option<String>,
    crime_signs: bool,
    outside_body: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/appeals/{id}/suggestions", params(("id" = String, Path)),
    responses((status = 200, body = Suggestions)))]
async fn suggestions(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Suggestions>> {
    auth.require(ROUTERS)?;
    let a = load(&s, &auth, &id)?;
    let r = s.service.appeals().reference();
    Ok(Json(Suggestions {
        service: sync::appeal::suggest::service(r, &a.text, &a.tags),
        crime_signs: sync::appeal::suggest::crime_signs(&a.text, &a.tags),
        outside_body: sync::appeal::suggest::outside_body(r, &a.text, &a.tags),
    }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// First day received, `YYYY-MM-DD` (UTC).
    #[param(value_type = String)]
    from: Day,
    /// Last day received (included).
    #[param(value_type = String)]
    to: Day,
}

#[utoipa::path(get, path = "/api/v1/appeals/export", params(ExportQuery),
    responses((status = 200, body = [sync::appeal::accounting::AccountingRecord], description = "Accounting records (format mvd102-appeals/1) of the appeals received in the range, for the ИАС «Электронные обращения»")))]
async fn export(
    State(s): State<SharedState>,
    auth: Auth,
    Query(q): Query<ExportQuery>,
) -> ApiResult<Json<Vec<sync::appeal::accounting::AccountingRecord>>> {
    auth.require(&[Role::Registrar, Role::Head])?;
    Ok(Json(s.service.appeals().export(q.from, q.to)?))
}

/// An officer a manager can assign.
#[derive(Serialize, ToSchema)]
pub struct OfficerRef {
    login: String,
    full_name: String,
    service: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/appeals/officers",
    responses((status = 200, body = [OfficerRef], description = "Enabled responsible officers: of the manager's service, or every service for the head and the registrar")))]
async fn officers(State(s): State<SharedState>, auth: Auth) -> ApiResult<Json<Vec<OfficerRef>>> {
    auth.require(ROUTERS)?;
    let only = if auth.user.has_role(Role::Head) || auth.user.has_role(Role::Registrar) {
        None
    } else {
        auth.user.service.clone()
    };
    let list = s
        .accounts
        .list()?
        .into_iter()
        .filter(|u| !u.disabled && u.has_role(Role::AppealOfficer))
        .filter(|u| only.is_none() || u.service == only)
        .map(|u| OfficerRef {
            login: u.login,
            full_name: u.full_name,
            service: u.service,
        })
        .collect();
    Ok(Json(list))
}

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route(
            "/appeals",
            post(create_appeal)
                .layer(DefaultBodyLimit::max(APPEAL_REQUEST_BYTES_MAX))
                .get(list_appeals),
        )
        .route("/appeals/board", get(board))
        .route("/appeals/officers", get(officers))
        .route("/appeals/export", get(export))
        .route("/appeals/{id}", get(get_appeal))
        .route("/appeals/{id}/duplicates", get(duplicates))
        .route("/appeals/{id}/suggestions", get(suggestions))
        .route("/appeals/{id}/register", post(register))
        .route("/appeals/{id}/not-considered", post(not_considered))
        .route("/appeals/{id}/transfer", post(appeal_transfer))
        .route("/appeals/{id}/transfer/cancel", post(cancel_transfer))
        .route("/appeals/{id}/route", post(route))
        .route("/appeals/{id}/assign", post(assign))
        .route("/appeals/{id}/split", post(split))
        .route("/appeals/{id}/crime-signs", post(crime_signs))
        .route("/appeals/{id}/kui", post(kui))
        .route("/appeals/{id}/kind", post(correct_kind))
        .route("/appeals/{id}/z1", post(fill_z1))
        .route("/appeals/{id}/extend", post(extend))
        .route("/appeals/{id}/extension-notice", post(extension_notice))
        .route("/appeals/{id}/draft", post(submit_draft))
        .route("/appeals/{id}/draft.docx", get(draft_docx))
        .route("/appeals/{id}/return", post(return_draft))
        .route("/appeals/{id}/approve", post(approve))
        .route("/appeals/{id}/answer.docx", get(answer_docx))
        .route("/appeals/{id}/notes", post(appeal_note))
        .route(
            "/appeals/{id}/attachments",
            post(attach).layer(DefaultBodyLimit::max(APPEAL_REQUEST_BYTES_MAX)),
        )
        .route("/appeals/{id}/attachments/{sha256}", get(attachment))
}
