//! The node's side of the shared account and session endpoints (`server_kit::account_api`):
//! where their audit entries go, who reads the audit, and which districts an account may name.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::Router;
use server_kit::web::{ApiError, ApiResult};
use sync::Role;

use super::state::{AppState, SharedState};

impl server_kit::account_api::AccountsHost for AppState {
    fn audit_store(&self) -> &Arc<dyn crate::store::Store> {
        self.service.store()
    }
    fn secure_cookies(&self) -> bool {
        self.secure_cookies
    }
    fn audit_readers(&self) -> &'static [Role] {
        &[Role::Supervisor]
    }
    fn check_account(&self, district: Option<&str>) -> ApiResult<()> {
        match district {
            Some(d) if !d.is_empty() && self.service.reference().district(d).is_none() => {
                Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_field",
                    format!(
                        "unknown district '{}'",
                        d.chars().take(64).collect::<String>()
                    ),
                )
                .with_field(Some("district".into())))
            }
            _ => Ok(()),
        }
    }
}

/// The account, session and audit routes under `/api/v1`.
pub(super) fn routes(state: &SharedState) -> Router<SharedState> {
    server_kit::account_api::routes("", state.clone() as server_kit::account_api::Host)
}
