//! HQ's appeals API (R16, R33): the national appeals summary and lists from the appeals index
//! ([`crate::appeals`]), a region's full appeal (an audited read of personal data), and HQ's
//! control notes that replicate back to the region. Routed and documented with the rest of the
//! hub's API in [`crate::http`].

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use server_kit::clock::now_ms;
use server_kit::web::{ApiError, ApiErrorBody, ApiJson};
use sync::appeal::{Appeal, AppealStatus};
use utoipa::IntoParams;

use crate::appeals::{
    self, AppealFilter, AppealsSummary, KuiFilter, NationalAppeal, Today, APPEALS_LIST_DEFAULT,
    APPEALS_LIST_MAX,
};
use crate::http_errors::storage;
use crate::http_state::{ApiQuery, HqUser, NoteRequest, Shared, HQ_WRITERS, NOTE_CHARS_MAX};
use crate::service::HqService;

type ApiResult<T> = Result<T, ApiError>;

fn invalid(field: &str, message: String) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_field", message).with_field(Some(field.into()))
}

fn region_param(region: Option<String>) -> ApiResult<Option<String>> {
    match region.filter(|r| !r.is_empty()) {
        Some(r) if !crate::repo::is_region_code(&r) => {
            Err(invalid("region", format!("{r:?} is not a region code")))
        }
        r => Ok(r),
    }
}

fn limit_param(limit: Option<usize>) -> ApiResult<usize> {
    match limit.unwrap_or(APPEALS_LIST_DEFAULT) {
        0 => Err(invalid("limit", "the limit is at least 1".into())),
        n if n > APPEALS_LIST_MAX => Err(invalid(
            "limit",
            format!("at most {APPEALS_LIST_MAX} appeals per request"),
        )),
        n => Ok(n),
    }
}

/// Runs `f` with today (the time, the Kazakhstan day and the hub's working-day calendar) on a
/// blocking thread.
async fn with_today<T: Send + 'static>(
    s: &Shared,
    f: impl FnOnce(&Today) -> Result<T, server_kit::store::StoreError> + Send + 'static,
) -> ApiResult<T> {
    let hq = s.hq.clone();
    tokio::task::spawn_blocking(move || {
        let calendar = hq.work_calendar()?;
        let now = now_ms();
        let today = Today {
            ms: now,
            day: HqService::today(now),
            calendar: &calendar,
        };
        f(&today).map_err(storage)
    })
    .await
    .map_err(storage)?
}

#[utoipa::path(get, path = "/api/v1/appeals/summary", tag = "appeals", security(("bearer" = [])),
    responses(
        (status = 200, description = "Citizens' appeals per region and for the country: received, open by status, overdue and near their review deadline on today's working-day calendar (R16), flagged with signs of a crime and not registered in КУИ (R33)", body = AppealsSummary),
        (status = 401, description = "No valid token (`unauthenticated`)", body = ApiErrorBody),
        (status = 403, description = "Not an HQ account (`forbidden`)", body = ApiErrorBody),
        (status = 503, description = "The national store cannot be read right now (`storage_error`)", body = ApiErrorBody)))]
pub async fn appeals_summary(
    State(s): State<Shared>,
    _u: HqUser,
) -> ApiResult<Json<AppealsSummary>> {
    let store = s.store.clone();
    Ok(Json(
        with_today(&s, move |now| appeals::summary(&*store, now)).await?,
    ))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AppealsQuery {
    /// One region code (default: every region).
    region: Option<String>,
    /// One status (default: every open status).
    #[param(value_type = Option<AppealStatus>)]
    status: Option<String>,
    /// Only appeals past their review deadline, most overdue first (R16).
    overdue: Option<bool>,
    /// Only appeals flagged with signs of a crime (R33).
    crime_signs: Option<bool>,
    /// Most appeals returned (default 500, at most 2000).
    limit: Option<usize>,
}

#[utoipa::path(get, path = "/api/v1/appeals", tag = "appeals", security(("bearer" = [])), params(AppealsQuery),
    responses(
        (status = 200, description = "Appeals of every region (no personal data): open ones longest received first, a closed status latest first, overdue ones most overdue first, flagged ones without КУИ first; each with `deadline_state` and, when flagged, `kui_state` as of now", body = [NationalAppeal]),
        (status = 400, description = "Unknown status, a bad region code, a bad limit or an unknown parameter (`invalid_field`, `invalid_query`)", body = ApiErrorBody),
        (status = 401, description = "No valid token (`unauthenticated`)", body = ApiErrorBody),
        (status = 403, description = "Not an HQ account (`forbidden`)", body = ApiErrorBody),
        (status = 503, description = "The national store cannot be read right now (`storage_error`)", body = ApiErrorBody)))]
pub async fn appeals_list(
    State(s): State<Shared>,
    _u: HqUser,
    ApiQuery(q): ApiQuery<AppealsQuery>,
) -> ApiResult<Json<Vec<NationalAppeal>>> {
    let status = match q.status.filter(|st| !st.is_empty()) {
        None => None,
        Some(st) => Some(
            AppealStatus::parse(&st)
                .ok_or_else(|| invalid("status", format!("unknown appeal status {st:?}")))?,
        ),
    };
    let filter = AppealFilter {
        region: region_param(q.region)?,
        status,
        overdue: q.overdue.unwrap_or(false),
        crime_signs: q.crime_signs.unwrap_or(false),
        limit: limit_param(q.limit)?,
    };
    let store = s.store.clone();
    Ok(Json(
        with_today(&s, move |now| appeals::list(&*store, &filter, now)).await?,
    ))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CrimeSignsQuery {
    /// One region code (default: every region).
    region: Option<String>,
    /// `missing` (not in КУИ yet), `overdue` (not in КУИ past the 24 hours) or `registered`
    /// (default: all).
    #[param(value_type = Option<KuiFilter>)]
    kui: Option<String>,
    /// Most appeals returned (default 500, at most 2000).
    limit: Option<usize>,
}

#[utoipa::path(get, path = "/api/v1/appeals/crime-signs", tag = "appeals", security(("bearer" = [])), params(CrimeSignsQuery),
    responses(
        (status = 200, description = "R33: every appeal flagged with signs of a crime, of every region and any status, with its КУИ state (`kui_state`: registered with `kui` and `kui_at`, pending, or overdue past `kui_due_at`); those not in КУИ first, most overdue first, then those registered, latest first", body = [NationalAppeal]),
        (status = 400, description = "A bad region code, `kui` or limit, or an unknown parameter (`invalid_field`, `invalid_query`)", body = ApiErrorBody),
        (status = 401, description = "No valid token (`unauthenticated`)", body = ApiErrorBody),
        (status = 403, description = "Not an HQ account (`forbidden`)", body = ApiErrorBody),
        (status = 503, description = "The national store cannot be read right now (`storage_error`)", body = ApiErrorBody)))]
pub async fn appeals_crime_signs(
    State(s): State<Shared>,
    _u: HqUser,
    ApiQuery(q): ApiQuery<CrimeSignsQuery>,
) -> ApiResult<Json<Vec<NationalAppeal>>> {
    let kui = match q.kui.filter(|k| !k.is_empty()).as_deref() {
        None => None,
        Some("missing") => Some(KuiFilter::Missing),
        Some("overdue") => Some(KuiFilter::Overdue),
        Some("registered") => Some(KuiFilter::Registered),
        Some(other) => {
            return Err(invalid(
                "kui",
                format!("{other:?}: use missing, overdue or registered"),
            ))
        }
    };
    let region = region_param(q.region)?;
    let limit = limit_param(q.limit)?;
    let store = s.store.clone();
    Ok(Json(
        with_today(&s, move |now| {
            appeals::crime_signs(&*store, region.as_deref(), kui, limit, now)
        })
        .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/appeals/{region}/{id}", tag = "appeals", security(("bearer" = [])),
    params(("region" = String, Path, description = "Region code, e.g. AST"), ("id" = String, Path, description = "The appeal's UUID")),
    responses(
        (status = 200, description = "The full appeal as on the region's node, its deadline judged today (R16). The read is recorded in the audit log (`appeal.read`): it shows the applicant's personal data", body = Appeal),
        (status = 401, description = "No valid token (`unauthenticated`)", body = ApiErrorBody),
        (status = 403, description = "Not an HQ account (`forbidden`)", body = ApiErrorBody),
        (status = 404, description = "The hub holds no such appeal (`not_found`)", body = ApiErrorBody),
        (status = 503, description = "The national store cannot be read right now (`storage_error`)", body = ApiErrorBody)))]
pub async fn appeal(
    State(s): State<Shared>,
    u: HqUser,
    Path((region, id)): Path<(String, String)>,
) -> ApiResult<Json<Appeal>> {
    let hq = s.hq.clone();
    let now = now_ms();
    let (r, i) = (region.clone(), id.clone());
    let appeal = tokio::task::spawn_blocking(move || hq.appeal(&r, &i, now))
        .await
        .map_err(storage)??;
    s.appeal_reads
        .record(
            &u.0.login,
            &format!("{region}/{id}"),
            serde_json::json!({ "number": appeal.number }),
            now,
        )
        .await?;
    Ok(Json(appeal))
}

/// HQ's control note on a region's appeal: written at HQ, replicated back to the region.
#[utoipa::path(post, path = "/api/v1/appeals/{region}/{id}/notes", tag = "appeals", security(("bearer" = [])),
    params(("region" = String, Path, description = "Region code, e.g. AST"), ("id" = String, Path, description = "The appeal's UUID")),
    request_body = NoteRequest,
    responses(
        (status = 200, description = "The appeal with HQ's note in its history (`appeal.note`); the note replicates to the region and merges with any step taken there meanwhile", body = Appeal),
        (status = 400, description = "The body is not `{text}` JSON (`malformed_json`, `unknown_field`, `invalid_field`, `bad_body`)", body = ApiErrorBody),
        (status = 401, description = "No valid token (`unauthenticated`)", body = ApiErrorBody),
        (status = 403, description = "Not the HQ duty officer (`forbidden`)", body = ApiErrorBody),
        (status = 404, description = "The hub holds no such appeal (`not_found`)", body = ApiErrorBody),
        (status = 409, description = "The appeal takes no more steps (`history_full`)", body = ApiErrorBody),
        (status = 413, description = "The body is larger than `http_body_bytes_max`", body = ApiErrorBody),
        (status = 422, description = "The note is empty or longer than 2000 characters (`invalid_field`)", body = ApiErrorBody),
        (status = 503, description = "The national store cannot be written right now (`storage_error`)", body = ApiErrorBody)))]
pub async fn appeal_note(
    State(s): State<Shared>,
    u: HqUser,
    Path((region, id)): Path<(String, String)>,
    ApiJson(req): ApiJson<NoteRequest>,
) -> ApiResult<Json<Appeal>> {
    if !HQ_WRITERS.iter().any(|r| u.0.has_role(*r)) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "HQ notes are written by the HQ duty officer (hq_duty)",
        ));
    }
    let text = req.text;
    if text.trim().is_empty() || text.chars().count() > NOTE_CHARS_MAX {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            format!("the note must be 1–{NOTE_CHARS_MAX} characters"),
        )
        .with_field(Some("text".into())));
    }
    // The region sees who at HQ wrote it: the person's name, not a login.
    let author = u.0.full_name.clone();
    let hq = s.hq.clone();
    let appeal =
        tokio::task::spawn_blocking(move || hq.appeal_note(&region, &id, &author, &text, now_ms()))
            .await
            .map_err(storage)??;
    Ok(Json(appeal))
}
