//! HQ's national report 1-ОЛ API (R32) and the hub's reception booking (R31). Routed and
//! documented with the rest of the hub's API in [`crate::http`].
//!
//! Reports are read by `hq_duty` and `hq_analyst`; every refusal is a 4xx with a code. A
//! booking through the hub is written by `hq_duty`: the hub's equivalent of the region's
//! reception staff, whose accounts the citizens' app and bot gateways book with at a node.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use server_kit::clock::now_ms;
use server_kit::web::{ApiError, ApiErrorBody, ApiJson};
use sync::calendar::Day;
use sync::reception::{Booking, BookingInput};
use sync::report_1ol::{
    CellChange, IssuedReport, Period, Receiver, ReceptionDecision, ReceptionOutcome, Report1Ol,
    ReportError,
};
use utoipa::{IntoParams, ToSchema};

use crate::http_errors::storage;
use crate::http_state::{ApiQuery, HqUser, Shared, HQ_WRITERS};
use crate::report_1ol::{LedgerError, ReportLedger};
use crate::service::{HqError, HqService};

type ApiResult<T> = Result<T, ApiError>;

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// Every refusal of a report is about the month asked for: `422` with the report's code.
fn refused(e: ReportError) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.code(), e.to_string())
}

fn ledger_error(e: LedgerError) -> ApiError {
    match e {
        LedgerError::Report(r) => refused(r),
        LedgerError::Storage(s) => storage(s),
    }
}

fn region_unknown(region: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "region_unknown",
        format!("central holds no reference data nor reception records of region {region:?}"),
    )
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PeriodQuery {
    /// The report's year.
    year: i32,
    /// The report's month, 1–12 (cumulative from January of `year`).
    month: u32,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct XlsxQuery {
    /// The report's year.
    year: i32,
    /// The report's month, 1–12.
    month: u32,
    /// An issued version (default: the latest issued, or the report computed now before the
    /// first issue).
    version: Option<u32>,
}

/// One issued version without its report (the list of a period's versions).
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionSummary {
    pub version: u32,
    pub issued_on: Day,
    /// What changed from the previous version (empty for version 1).
    pub changes: Vec<CellChange>,
}

/// The national report of a period: its issued versions and the report computed now.
#[derive(Debug, Serialize, ToSchema)]
pub struct NationalReport {
    #[schema(value_type = sync::report_1ol::period::PeriodWire)]
    pub period: Period,
    /// The 10th of the next month, or the next working day.
    pub due_on: Day,
    /// Whether a version was issued (false before the due day).
    pub issued: bool,
    /// The latest issued version.
    pub latest: Option<IssuedReport>,
    /// Every issued version, oldest first, with its difference from the previous one.
    pub versions: Vec<VersionSummary>,
    /// The report computed now from every region's records (one row per region).
    pub current: Report1Ol,
    /// How `current` differs from `latest`: data that arrived after the issue, issued as the
    /// next version on the hub's next run (empty when equal or nothing is issued yet).
    pub pending_changes: Vec<CellChange>,
}

/// One reception record of a region as section 5 counts it.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecordRow {
    pub record_id: String,
    /// ЛП-1 field 2.
    pub registration_number: String,
    /// ЛП-1 field 4: put in the queue.
    pub requested_on: Day,
    /// Given a reception slot.
    #[schema(value_type = Option<String>)]
    pub booked_on: Option<Day>,
    /// The slot's date (field 26).
    #[schema(value_type = Option<String>)]
    pub reception_on: Option<Day>,
    /// `refused`, `not_held`, `held`; null while pending.
    pub outcome: Option<&'static str>,
    /// The day the request was finished.
    #[schema(value_type = Option<String>)]
    pub outcome_on: Option<Day>,
    /// Who held the reception: `head`, `deputy`, or `other` (counted in neither column).
    pub receiver: Option<Receiver>,
    /// The decision (field 25) as section 5 counts it.
    pub decision: Option<ReceptionDecision>,
    /// The record's revision the ledger keeps (the count of its actions).
    pub revision: u64,
}

/// A region's report and the records it counts.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegionReport {
    pub report: Report1Ol,
    /// The region's records the period's report counts: requested by its last day and not
    /// finished before 1 January of its year, by record id.
    pub records: Vec<RecordRow>,
}

/// Runs `f` with the hub's ledger, today and the national calendar on a blocking thread.
async fn with_ledger<T: Send + 'static>(
    s: &Shared,
    f: impl FnOnce(&ReportLedger, Day, &sync::calendar::WorkCalendar) -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    let (hq, ledger) = (s.hq.clone(), s.hub.report_1ol());
    tokio::task::spawn_blocking(move || {
        let calendar = hq.work_calendar().map_err(ApiError::from)?;
        f(&ledger, HqService::today(now_ms()), &calendar)
    })
    .await
    .map_err(storage)?
}

fn national_report(
    ledger: &ReportLedger,
    period: Period,
    today: Day,
    calendar: &sync::calendar::WorkCalendar,
) -> ApiResult<NationalReport> {
    let current = ledger.national(period, today, calendar).map_err(refused)?;
    let versions = ledger.versions(period).map_err(ledger_error)?;
    let latest = versions.last().cloned();
    let pending_changes = latest
        .as_ref()
        .map(|l| sync::report_1ol::diff(&l.report.section5, &current.section5))
        .unwrap_or_default();
    Ok(NationalReport {
        period,
        due_on: current.due_on,
        issued: latest.is_some(),
        versions: versions
            .into_iter()
            .map(|v| VersionSummary {
                version: v.version,
                issued_on: v.issued_on,
                changes: v.changes,
            })
            .collect(),
        latest,
        current,
        pending_changes,
    })
}

#[utoipa::path(get, path = "/api/v1/reports/1-ol", tag = "reports", security(("bearer" = [])), params(PeriodQuery),
    responses(
        (status = 200, description = "The national report 1-ОЛ (R32) for the month, cumulative from 1 January: the issued versions (issued on the due day, re-issued with their difference when late data changes a number) and the report computed now with its difference from the latest version", body = NationalReport),
        (status = 400, description = "A missing or malformed parameter (`invalid_query`)", body = ApiErrorBody),
        (status = 401, description = "No valid token (`unauthenticated`)", body = ApiErrorBody),
        (status = 403, description = "Not an HQ account (`forbidden`)", body = ApiErrorBody),
        (status = 422, description = "Not a month (`report_bad_period`), a month not begun (`report_period_future`) or not over (`report_period_not_closed`), a year the national calendar does not cover (`no_calendar_for_year`)", body = ApiErrorBody),
        (status = 503, description = "The national store cannot be read right now (`storage_error`)", body = ApiErrorBody)))]
pub async fn report(
    State(s): State<Shared>,
    _u: HqUser,
    ApiQuery(q): ApiQuery<PeriodQuery>,
) -> ApiResult<Json<NationalReport>> {
    let period = Period::new(q.year, q.month).map_err(refused)?;
    Ok(Json(
        with_ledger(&s, move |l, today, cal| {
            national_report(l, period, today, cal)
        })
        .await?,
    ))
}

fn version_unknown(period: Period, version: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "report_version_unknown",
        format!("the report of {period} has no issued version {version:?}"),
    )
}

#[utoipa::path(get, path = "/api/v1/reports/1-ol/versions/{version}", tag = "reports", security(("bearer" = [])),
    params(("version" = u32, Path, description = "The issued version, 1, 2, ..."), PeriodQuery),
    responses(
        (status = 200, description = "One issued version of the national report, as issued", body = IssuedReport),
        (status = 400, description = "A missing or malformed parameter (`invalid_query`)", body = ApiErrorBody),
        (status = 401, description = "No valid token (`unauthenticated`)", body = ApiErrorBody),
        (status = 403, description = "Not an HQ account (`forbidden`)", body = ApiErrorBody),
        (status = 404, description = "No such version of that month (`report_version_unknown`)", body = ApiErrorBody),
        (status = 422, description = "Not a month (`report_bad_period`)", body = ApiErrorBody),
        (status = 503, description = "The national store cannot be read right now (`storage_error`)", body = ApiErrorBody)))]
pub async fn version(
    State(s): State<Shared>,
    _u: HqUser,
    Path(version): Path<String>,
    ApiQuery(q): ApiQuery<PeriodQuery>,
) -> ApiResult<Json<IssuedReport>> {
    let period = Period::new(q.year, q.month).map_err(refused)?;
    let ledger = s.hub.report_1ol();
    let found = tokio::task::spawn_blocking(move || ledger.versions(period))
        .await
        .map_err(storage)?
        .map_err(ledger_error)?
        .into_iter()
        .find(|v| version.parse::<u32>().ok() == Some(v.version));
    found
        .map(Json)
        .ok_or_else(|| version_unknown(period, &version))
}

#[utoipa::path(get, path = "/api/v1/reports/1-ol.xlsx", tag = "reports", security(("bearer" = [])), params(XlsxQuery),
    responses(
        (status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", description = "The national report as a workbook, a sheet in Russian and one in Kazakh with the seed's headings: the chosen version, else the latest issued one, else (before the first issue) the report computed now"),
        (status = 400, description = "A missing or malformed parameter (`invalid_query`)", body = ApiErrorBody),
        (status = 401, description = "No valid token (`unauthenticated`)", body = ApiErrorBody),
        (status = 403, description = "Not an HQ account (`forbidden`)", body = ApiErrorBody),
        (status = 404, description = "No such version of that month (`report_version_unknown`)", body = ApiErrorBody),
        (status = 422, description = "As for the JSON report", body = ApiErrorBody),
        (status = 503, description = "The national store cannot be read right now (`storage_error`)", body = ApiErrorBody)))]
pub async fn xlsx(
    State(s): State<Shared>,
    _u: HqUser,
    ApiQuery(q): ApiQuery<XlsxQuery>,
) -> ApiResult<Response> {
    let period = Period::new(q.year, q.month).map_err(refused)?;
    let wanted = q.version;
    let (bytes, name) = with_ledger(&s, move |l, today, cal| {
        let versions = l.versions(period).map_err(ledger_error)?;
        let chosen = match wanted {
            Some(n) => Some(
                versions
                    .into_iter()
                    .find(|v| v.version == n)
                    .ok_or_else(|| version_unknown(period, &n.to_string()))?,
            ),
            None => versions.into_iter().last(),
        };
        let base = format!("1-ol-KZ-{:04}-{:02}", period.year(), period.month());
        let (bytes, name) = match chosen {
            Some(v) => (
                server_kit::report_xlsx::issued_report_xlsx(&v),
                format!("{base}-v{}.xlsx", v.version),
            ),
            None => {
                let r = l.national(period, today, cal).map_err(refused)?;
                (
                    server_kit::report_xlsx::report_xlsx(&r),
                    format!("{base}.xlsx"),
                )
            }
        };
        let bytes = bytes.map_err(|e| {
            tracing::error!(error = %e, "report 1-ОЛ export failed");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "report_export_failed",
                "the report could not be written; see the hub's log",
            )
        })?;
        Ok((bytes, name))
    })
    .await?;
    Ok((
        [
            (header::CONTENT_TYPE, XLSX.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

fn record_row(e: &sync::report_1ol::ReceptionEntry, reception_on: Option<Day>) -> RecordRow {
    let (outcome, receiver, decision) = match e.outcome {
        None => (None, None, None),
        Some(ReceptionOutcome::Refused { .. }) => (Some("refused"), None, None),
        Some(ReceptionOutcome::NotHeld { .. }) => (Some("not_held"), None, None),
        Some(ReceptionOutcome::Held { by, decision, .. }) => (Some("held"), Some(by), decision),
    };
    RecordRow {
        record_id: e.record_id.clone(),
        registration_number: sync::reception::registration_number(&e.region, &e.record_id),
        requested_on: e.requested_on,
        booked_on: e.booked_on,
        reception_on,
        outcome,
        outcome_on: e.outcome.map(|o| o.day()),
        receiver,
        decision,
        revision: e.revision,
    }
}

#[utoipa::path(get, path = "/api/v1/reports/1-ol/regions/{region}", tag = "reports", security(("bearer" = [])),
    params(("region" = String, Path, description = "Region code, e.g. AST"), PeriodQuery),
    responses(
        (status = 200, description = "One region's report for the month and the reception records it counts", body = RegionReport),
        (status = 400, description = "A missing or malformed parameter (`invalid_query`)", body = ApiErrorBody),
        (status = 401, description = "No valid token (`unauthenticated`)", body = ApiErrorBody),
        (status = 403, description = "Not an HQ account (`forbidden`)", body = ApiErrorBody),
        (status = 404, description = "Central holds no reference data nor reception records of that region (`region_unknown`)", body = ApiErrorBody),
        (status = 422, description = "As for the national report", body = ApiErrorBody),
        (status = 503, description = "The national store cannot be read right now (`storage_error`)", body = ApiErrorBody)))]
pub async fn region(
    State(s): State<Shared>,
    _u: HqUser,
    Path(region): Path<String>,
    ApiQuery(q): ApiQuery<PeriodQuery>,
) -> ApiResult<Json<RegionReport>> {
    let period = Period::new(q.year, q.month).map_err(refused)?;
    Ok(Json(
        with_ledger(&s, move |l, today, cal| {
            if !crate::repo::is_region_code(&region) || !l.knows_region(&region) {
                return Err(region_unknown(&region));
            }
            let report = l.region(&region, period, today, cal).map_err(refused)?;
            let (start, end) = (period.year_start(), period.last_day());
            let records = l
                .records(&region)
                .iter()
                .filter(|(e, _)| {
                    e.requested_on <= end && e.outcome.is_none_or(|o| o.day() >= start)
                })
                .map(|(e, d)| record_row(e, *d))
                .collect();
            Ok(RegionReport { report, records })
        })
        .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/reception/{region}/bookings", tag = "reports", security(("bearer" = [])),
    params(("region" = String, Path, description = "Region code, e.g. AST")),
    request_body = BookingInput,
    responses(
        (status = 201, description = "A citizen's booking taken by the hub while the region may be cut off (R31): checked against the region's replicated schedule, the national calendar and the ЛП-1 reference lists, stored durably as a `requested` record in the region's namespace, and replicated to the region, whose node confirms it, moves it to the first free slot of the same session, or refuses it (both orders of arrival end in one booking per slot). A reception out of schedule is the desk's decision and is refused here", body = Booking),
        (status = 400, description = "The body is not a booking as JSON (`malformed_json`, `unknown_field`, `bad_body`)", body = ApiErrorBody),
        (status = 401, description = "No valid token (`unauthenticated`)", body = ApiErrorBody),
        (status = 403, description = "Not the HQ duty officer (`forbidden`)", body = ApiErrorBody),
        (status = 404, description = "No such region, or it has replicated no reception schedule (`region_unknown`)", body = ApiErrorBody),
        (status = 413, description = "The body is larger than `http_body_bytes_max`", body = ApiErrorBody),
        (status = 422, description = "A mandatory ЛП-1 field missing (`lp1_field_missing`), a value not allowed (`lp1_field_invalid`, `lp1_field_not_editable`), an invalid ИИН (`iin_invalid`), an unknown КАТО code (`kato_unknown`), a slot the schedule lacks or a reception out of schedule (`reception_slot_unknown`), a non-working day (`reception_non_working_day`), a year the calendar lacks; nothing stored", body = ApiErrorBody),
        (status = 503, description = "The national store cannot be written right now (`storage_error`)", body = ApiErrorBody)))]
pub async fn book(
    State(s): State<Shared>,
    u: HqUser,
    Path(region): Path<String>,
    ApiJson(input): ApiJson<BookingInput>,
) -> ApiResult<(StatusCode, Json<Booking>)> {
    if !HQ_WRITERS.iter().any(|r| u.0.has_role(*r)) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "bookings through the hub are written by the HQ duty officer's accounts (hq_duty)",
        ));
    }
    if !crate::repo::is_region_code(&region) {
        return Err(region_unknown(&region));
    }
    let hq = s.hq.clone();
    let by = u.0.login.clone();
    let booked = tokio::task::spawn_blocking(move || {
        hq.book_reception(&region, &input, &by, now_ms())
            .map_err(|e| match e {
                HqError::BadId | HqError::NotFound(_) => region_unknown(&region),
                HqError::Refused(d) => ApiError::from(d),
                other => ApiError::from(other),
            })
    })
    .await
    .map_err(storage)??;
    Ok((StatusCode::CREATED, Json(booked)))
}
