//! HQ's national table of district inspectors' report meetings (R22): the beats covered this
//! quarter by region, and one region's beats. Routed and documented with the rest of the hub's
//! API in [`crate::http`]. Read by `hq_duty` and `hq_analyst`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use server_kit::clock::now_ms;
use server_kit::web::{ApiError, ApiErrorBody};
use sync::calendar::Day;
use sync::meetings::national::{CoverageCounts, RegionQuarter};
use sync::meetings::Quarter;
use utoipa::{IntoParams, ToSchema};

use crate::http_errors::storage;
use crate::http_state::{ApiQuery, HqUser, Shared};
use crate::service::HqService;

type ApiResult<T> = Result<T, ApiError>;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct QuarterQuery {
    /// `YYYY-QN` (e.g. `2026-Q4`); the current quarter in Kazakhstan when absent.
    quarter: Option<String>,
}

fn quarter_of(q: Option<&str>, today: Day) -> ApiResult<Quarter> {
    match q {
        None | Some("") => Ok(Quarter::of(today)),
        Some(text) => Quarter::parse(text).map_err(|_| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "meeting_bad_quarter",
                "the quarter is YYYY-QN, N from 1 to 4",
            )
            .with_field(Some("quarter".into()))
        }),
    }
}

/// One region's line of the national table.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegionRow {
    pub region: String,
    pub name_kk: String,
    pub name_ru: String,
    /// Whether the region's node has published its beats register; without it the region's
    /// beats are unknown here and `counts` is empty.
    pub registered: bool,
    /// The region's beats reference is demo data.
    pub sample: bool,
    pub counts: CoverageCounts,
}

/// The national table of a quarter.
#[derive(Debug, Serialize, ToSchema)]
pub struct NationalMeetings {
    /// `YYYY-QN`.
    pub quarter: String,
    pub today: Day,
    pub regions: Vec<RegionRow>,
    /// Every registered region together.
    pub total: CoverageCounts,
}

/// One region's beats in a quarter.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegionMeetings {
    /// `YYYY-QN`.
    pub quarter: String,
    pub today: Day,
    pub name_kk: String,
    pub name_ru: String,
    #[serde(flatten)]
    pub table: RegionQuarter,
}

#[utoipa::path(get, path = "/api/v1/meetings/coverage", tag = "meetings", security(("bearer" = [])), params(QuarterQuery),
    responses(
        (status = 200, description = "R22 nationally: for each region, how many of its beats held a report meeting this quarter, have one noticed or planned, are at risk or missed it, with unsigned protocols and open follow-up items", body = NationalMeetings),
        (status = 400, description = "A malformed parameter (`invalid_query`)", body = ApiErrorBody),
        (status = 401, description = "No valid token (`unauthenticated`)", body = ApiErrorBody),
        (status = 403, description = "Not an HQ account (`forbidden`)", body = ApiErrorBody),
        (status = 422, description = "Not a quarter (`meeting_bad_quarter`)", body = ApiErrorBody),
        (status = 503, description = "The national store cannot be read right now (`storage_error`)", body = ApiErrorBody)))]
pub async fn national(
    State(s): State<Shared>,
    _u: HqUser,
    ApiQuery(q): ApiQuery<QuarterQuery>,
) -> ApiResult<Json<NationalMeetings>> {
    let today = HqService::today(now_ms());
    let quarter = quarter_of(q.quarter.as_deref(), today)?;
    let (store, references) = (s.store.clone(), s.references.clone());
    let answer = tokio::task::spawn_blocking(move || -> ApiResult<NationalMeetings> {
        let mut total = CoverageCounts::default();
        let mut regions = Vec::new();
        for region in references.regions() {
            let reference = references.get(&region);
            let table =
                crate::meetings::region(&*store, &region, quarter, today).map_err(storage)?;
            let row = match table {
                Some(t) => {
                    total.sum(&t.counts);
                    RegionRow {
                        region,
                        name_kk: reference.region.name_kk.clone(),
                        name_ru: reference.region.name_ru.clone(),
                        registered: true,
                        sample: t.sample,
                        counts: t.counts,
                    }
                }
                None => RegionRow {
                    region,
                    name_kk: reference.region.name_kk.clone(),
                    name_ru: reference.region.name_ru.clone(),
                    registered: false,
                    sample: false,
                    counts: CoverageCounts::default(),
                },
            };
            regions.push(row);
        }
        Ok(NationalMeetings {
            quarter: quarter.to_string(),
            today,
            regions,
            total,
        })
    })
    .await
    .map_err(storage)??;
    Ok(Json(answer))
}

#[utoipa::path(get, path = "/api/v1/meetings/coverage/{region}", tag = "meetings", security(("bearer" = [])),
    params(("region" = String, Path, description = "Region code, e.g. AST"), QuarterQuery),
    responses(
        (status = 200, description = "R22 for one region: each beat's quarter (held, noticed, planned, open, at risk, missed) with its meetings", body = RegionMeetings),
        (status = 400, description = "A malformed parameter (`invalid_query`)", body = ApiErrorBody),
        (status = 401, description = "No valid token (`unauthenticated`)", body = ApiErrorBody),
        (status = 403, description = "Not an HQ account (`forbidden`)", body = ApiErrorBody),
        (status = 404, description = "Not a region code, or its node has published no beats register (`region_unknown`)", body = ApiErrorBody),
        (status = 422, description = "Not a quarter (`meeting_bad_quarter`)", body = ApiErrorBody),
        (status = 503, description = "The national store cannot be read right now (`storage_error`)", body = ApiErrorBody)))]
pub async fn region(
    State(s): State<Shared>,
    _u: HqUser,
    Path(region): Path<String>,
    ApiQuery(q): ApiQuery<QuarterQuery>,
) -> ApiResult<Json<RegionMeetings>> {
    let today = HqService::today(now_ms());
    let quarter = quarter_of(q.quarter.as_deref(), today)?;
    let unknown = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "region_unknown",
            format!("central holds no beats register of region {region:?}"),
        )
    };
    if !crate::repo::is_region_code(&region) || region == sync::NATIONAL {
        return Err(unknown());
    }
    let (store, r) = (s.store.clone(), region.clone());
    let table =
        tokio::task::spawn_blocking(move || crate::meetings::region(&*store, &r, quarter, today))
            .await
            .map_err(storage)?
            .map_err(storage)?
            .ok_or_else(unknown)?;
    let reference = s.references.get(&region);
    Ok(Json(RegionMeetings {
        quarter: quarter.to_string(),
        today,
        name_kk: reference.region.name_kk.clone(),
        name_ru: reference.region.name_ru.clone(),
        table,
    }))
}
