//! Error answers the hub's routes share.

use axum::http::StatusCode;
use server_kit::web::ApiError;

/// A store that cannot be read: `503 storage_error`, the cause logged (every read route of the
/// hub answers it the same way).
pub fn storage(e: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "storage failure");
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "storage_error",
        "the national store cannot be read right now",
    )
}
