//! The region's own report 1-ОЛ (R32, seed 004 p.32) for a chosen month: section 5 "Личный
//! прием" computed on each request from the region's reception records
//! (`ReceptionService::report_entries`) by the pure `sync::report_1ol::report`, on the national
//! working-day calendar (its due day: the 10th of the next month, or the next working day).
//! Sections 1–4 are not in the seeds: the report says so (`incomplete`). JSON for the console,
//! XLSX (sheets in Russian and Kazakh) to print or send. The national report is central's.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use server_kit::clock::now_ms;
use server_kit::web::{ApiError, ApiErrorBody, ApiResult, Auth};
use sync::calendar::{Day, KZ_UTC_OFFSET_MIN};
use sync::report_1ol::{headings, Body, Period, Report1Ol, ReportError};
use sync::Role;

use super::forms::file;
use super::state::SharedState;

/// Who reads the region's report: its head, the appeals office and the reception staff.
const REPORT_READERS: &[Role] = &[Role::Head, Role::AppealManager, Role::Registrar];

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReportParams {
    /// The report's year.
    year: i32,
    /// The report's month, 1–12 (cumulative from January of `year`).
    month: u32,
}

/// Every refusal is about the month asked for (a month the calendar does not cover included):
/// `422` with the report's code.
fn refused(e: ReportError) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.code(), e.to_string())
}

fn report_of(s: &SharedState, auth: &Auth, p: &ReportParams) -> ApiResult<Report1Ol> {
    auth.require(REPORT_READERS)?;
    let period = Period::new(p.year, p.month).map_err(refused)?;
    let today = Day::from_ms(now_ms(), KZ_UTC_OFFSET_MIN);
    let calendar = s.service.work_calendar()?;
    let entries = s.service.reception().report_entries(KZ_UTC_OFFSET_MIN)?;
    let region = &s.service.reference().region;
    let bodies = [Body {
        id: region.code.clone(),
        name_kk: region.name_kk.clone(),
        name_ru: region.name_ru.clone(),
        code: None,
    }];
    sync::report_1ol::report(&entries, &bodies, period, today, &calendar).map_err(refused)
}

#[utoipa::path(get, path = "/api/v1/reports/1-ol", params(ReportParams),
    responses((status = 200, body = Report1Ol, description = "The region's report 1-ОЛ for the month, cumulative from 1 January (format mvd102-report-1ol/1)"),
        (status = 422, description = "Not a month (`report_bad_period`), a month not begun (`report_period_future`) or not over (`report_period_not_closed`), a year the national calendar does not cover (`no_calendar_for_year`)", body = ApiErrorBody)))]
async fn report_1ol(
    State(s): State<SharedState>,
    auth: Auth,
    Query(p): Query<ReportParams>,
) -> ApiResult<Json<Report1Ol>> {
    Ok(Json(report_of(&s, &auth, &p)?))
}

#[utoipa::path(get, path = "/api/v1/reports/1-ol.xlsx", params(ReportParams),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", description = "The same report, a sheet in Russian and one in Kazakh with the seed's headings"),
        (status = 422, description = "As for the JSON report", body = ApiErrorBody)))]
async fn report_1ol_xlsx(
    State(s): State<SharedState>,
    auth: Auth,
    Query(p): Query<ReportParams>,
) -> ApiResult<Response> {
    let report = report_of(&s, &auth, &p)?;
    let bytes = server_kit::report_xlsx::report_xlsx(&report).map_err(|e| {
        tracing::error!(error = %e, "report 1-ОЛ export failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "report_export_failed",
            "the report could not be written; see the node's log",
        )
    })?;
    let name = format!(
        "1-ol-{}-{}-{:02}.xlsx",
        s.service.reference().region.code,
        p.year,
        p.month
    );
    Ok(file(
        bytes,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        &name,
    ))
}

/// The seed's headings of section 5 in kk and ru, for the console to draw the table with.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ReportHeadings {
    #[schema(value_type = Object)]
    pub title: headings::Text,
    #[schema(value_type = Object)]
    pub section5: headings::Text,
    /// The first column's heading (the rows' names).
    #[schema(value_type = Object)]
    pub row_names: headings::Text,
    /// The heading of the rows (the bodies the section lists).
    #[schema(value_type = Object)]
    pub rows: headings::Text,
    /// The number columns in the order of the report's cells, each with its key, its group
    /// heading (or null) and its title.
    #[schema(value_type = Vec<Object>)]
    pub columns: &'static [headings::Column],
    #[schema(value_type = Object)]
    pub total_row: headings::Text,
}

#[utoipa::path(get, path = "/api/v1/reports/1-ol/headings",
    responses((status = 200, body = ReportHeadings, description = "The row and column headings of section 5 as seed 004 writes them (ru), and in kk (our translation)")))]
async fn report_1ol_headings(auth: Auth) -> ApiResult<Json<ReportHeadings>> {
    auth.require(REPORT_READERS)?;
    Ok(Json(ReportHeadings {
        title: headings::REPORT_TITLE,
        section5: headings::SECTION5_TITLE,
        row_names: headings::ROW_NAMES,
        rows: headings::ROWS_HEADING,
        columns: &headings::COLUMNS,
        total_row: headings::TOTAL_ROW,
    }))
}

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/reports/1-ol", get(report_1ol))
        .route("/reports/1-ol/headings", get(report_1ol_headings))
        .route("/reports/1-ol.xlsx", get(report_1ol_xlsx))
}
