//! The node's health for its own administrators: `GET /api/v1/admin/health` ([`crate::health`]).

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use server_kit::clock::now_ms;
use server_kit::web::{ApiResult, Auth};
use sync::Role;
use utoipa::ToSchema;

use super::state::SharedState;
use crate::health::{assess, Check, HealthInputs};

/// The node's state now and what it means.
#[derive(Serialize, ToSchema)]
pub struct HealthAnswer {
    /// This node's version (`node --version`).
    pub version: &'static str,
    pub region: String,
    pub now_ms: i64,
    /// The figures the checks are judged from.
    pub inputs: HealthInputs,
    /// One finding per condition, the worst first.
    pub checks: Vec<Check>,
}

#[utoipa::path(get, path = "/api/v1/admin/health",
    responses(
        (status = 200, description = "The node's health for its administrators: replication to central, the data disk, owed SOS callbacks, recordings and overdue appeals, each judged like the shipped alert rules", body = HealthAnswer),
        (status = 401, description = "No valid session (`unauthenticated`)", body = server_kit::web::ApiErrorBody),
        (status = 403, description = "Not an administrator (`forbidden`)", body = server_kit::web::ApiErrorBody)))]
async fn admin_health(State(s): State<SharedState>, auth: Auth) -> ApiResult<Json<HealthAnswer>> {
    auth.require(&[Role::Admin])?;
    let replication = s
        .replication
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let now = now_ms();
    let state = s.clone();
    // The overdue count reads every open appeal: off the async workers.
    let appeals_overdue = tokio::task::spawn_blocking(move || {
        let calendar = state.service.work_calendar().ok()?;
        state
            .service
            .appeals()
            .overdue_count(&calendar, now)
            .ok()
            .map(|n| n as u64)
    })
    .await
    .ok()
    .flatten();
    let disk = s.metrics.disk_space();
    let c = &s.calls.counters;
    let inputs = HealthInputs {
        central_address: replication.central_address.clone(),
        replication_connected: replication.connected,
        replication_last_contact_ms: replication.last_contact_ms,
        replication_stalled: replication.stalled,
        replication_stalled_since_ms: replication.stalled_since_ms,
        replication_last_error: replication.last_error.clone(),
        disk_available_bytes: disk.map(|d| d.0),
        disk_size_bytes: disk.map(|d| d.1),
        store_bytes: s.service.store().size_on_disk_bytes(),
        live_calls: s.calls.live_calls() as u64,
        sos_callbacks_owed: s.calls.missed_open() as u64,
        recording_problems: c
            .recording_problems
            .load(std::sync::atomic::Ordering::Relaxed),
        appeals_overdue,
    };
    let checks = assess(&inputs, now);
    Ok(Json(HealthAnswer {
        version: env!("CARGO_PKG_VERSION"),
        region: s.service.region().to_string(),
        now_ms: now,
        inputs,
        checks,
    }))
}

pub(super) fn routes() -> Router<SharedState> {
    Router::new().route("/admin/health", get(admin_health))
}
