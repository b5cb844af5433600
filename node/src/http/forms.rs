//! An appeal's accounting cards ОЛ-1, ОЛ-2, З-1 (R31, R39): as JSON for the console, as CSV for
//! the prosecutor's information system and as XLSX (formats in node/API.md, "Accounting
//! forms"). Derived on each request from the appeal's view (`sync::forms`); З-1 asks the state
//! register (`crate::state_register`) for each applicant.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use server_kit::clock::now_ms;
use server_kit::web::{ApiError, ApiErrorBody, ApiResult, Auth};
use sync::forms::{AppealForms, RegisterState};

use super::appeals::{load, APPEAL_STAFF};
use super::state::SharedState;

/// Applicants of one appeal looked up in the state register per request; the others' З-1 say
/// `unavailable` (a collective appeal may have hundreds), applicants.
pub const FORMS_REGISTER_LOOKUPS_MAX: usize = 20;

async fn forms_of(s: &SharedState, auth: &Auth, id: &str) -> ApiResult<AppealForms> {
    auth.require(APPEAL_STAFF)?;
    let a = load(s, auth, id)?;
    let now = now_ms();
    let applicants = AppealForms::z1_applicants(&a);
    let asks = applicants
        .iter()
        .take(FORMS_REGISTER_LOOKUPS_MAX)
        .map(|(_, p)| {
            s.state_register
                .lookup(p.iin.as_deref().or(p.bin.as_deref()), now)
        });
    let mut registers = futures::future::join_all(asks).await;
    registers.resize(
        applicants.len(),
        RegisterState::Unavailable {
            error: format!("only the first {FORMS_REGISTER_LOOKUPS_MAX} applicants are looked up"),
        },
    );
    Ok(AppealForms::derive(&a, s.service.reference(), &registers))
}

#[utoipa::path(get, path = "/api/v1/appeals/{id}/forms", params(("id" = String, Path)),
    responses((status = 200, body = AppealForms, description = "ОЛ-1, ОЛ-2 (one per decision), З-1 (one per applicant) and a form entry per step (format mvd102-forms/1)"),
        (status = 404, body = ApiErrorBody)))]
async fn appeal_forms(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<AppealForms>> {
    Ok(Json(forms_of(&s, &auth, &id).await?))
}

/// A file to download (`Content-Disposition: attachment`).
pub(super) fn file(bytes: Vec<u8>, content_type: &str, name: &str) -> Response {
    Response::builder()
        .header(header::CONTENT_TYPE, content_type)
        .header(
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        )
        .body(Body::from(bytes))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

fn export_failed(e: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "forms export failed");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "forms_export_failed",
        "the forms could not be written; see the node's log",
    )
}

#[utoipa::path(get, path = "/api/v1/appeals/{id}/forms.csv", params(("id" = String, Path)),
    responses((status = 200, content_type = "text/csv", description = "One row per field of every card (format mvd102-forms/1, columns in node/API.md)")))]
async fn appeal_forms_csv(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let forms = forms_of(&s, &auth, &id).await?;
    let bytes = sync::forms::export::csv(&forms).map_err(export_failed)?;
    let name = format!("forms-{}.csv", file_stem(&forms));
    Ok(file(bytes, "text/csv; charset=utf-8", &name))
}

#[utoipa::path(get, path = "/api/v1/appeals/{id}/forms.xlsx", params(("id" = String, Path)),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", description = "One sheet per card, headings in Kazakh and Russian")))]
async fn appeal_forms_xlsx(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let forms = forms_of(&s, &auth, &id).await?;
    let bytes = sync::forms::export::xlsx(&forms).map_err(export_failed)?;
    let name = format!("forms-{}.xlsx", file_stem(&forms));
    Ok(file(
        bytes,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        &name,
    ))
}

/// The appeal's number (or id), letters, digits and `-` only (a part's `/` becomes `_`).
fn file_stem(forms: &AppealForms) -> String {
    forms
        .number
        .as_deref()
        .unwrap_or(&forms.appeal_id)
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

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/appeals/{id}/forms", get(appeal_forms))
        .route("/appeals/{id}/forms.csv", get(appeal_forms_csv))
        .route("/appeals/{id}/forms.xlsx", get(appeal_forms_xlsx))
}
