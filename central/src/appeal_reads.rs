//! HQ's reads of appeals (the applicant's personal data), recorded in the hub's hash-chained
//! audit log before the appeal is shown.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use server_kit::audit::{AuditInput, AuditLog};
use server_kit::store::{GroupCommit, WriteBatch};
use server_kit::web::ApiError;

use crate::http_errors::storage;

/// The same person opening the same appeal again within this window is one audit entry (a
/// dashboard re-reading an open drawer does not flood the log), ms.
pub const READ_AUDIT_REPEAT_WINDOW_MS: i64 = 10 * 60 * 1000;
/// Recent reads remembered for the repeat window; past it the memory starts over.
pub const READ_AUDIT_RECENT_MAX: usize = 50_000;

/// Records HQ's reads of appeals (the applicant's personal data) in the hub's hash-chained
/// audit log: `appeal.read` by login, target `{region}/{id}`.
pub struct ReadAudit {
    audit: Arc<AuditLog>,
    gc: Arc<GroupCommit>,
    recent: Mutex<HashMap<(String, String), i64>>,
}

impl ReadAudit {
    pub fn new(audit: Arc<AuditLog>, gc: Arc<GroupCommit>) -> Self {
        ReadAudit {
            audit,
            gc,
            recent: Mutex::new(HashMap::new()),
        }
    }

    /// Records that `actor` read `target`; returns once the entry is durable. A repeat within
    /// [`READ_AUDIT_REPEAT_WINDOW_MS`] records nothing.
    pub async fn record(
        &self,
        actor: &str,
        target: &str,
        details: serde_json::Value,
        now_ms: i64,
    ) -> Result<(), ApiError> {
        let key = (actor.to_string(), target.to_string());
        {
            let mut recent = self.recent.lock().unwrap_or_else(PoisonError::into_inner);
            if recent
                .get(&key)
                .is_some_and(|at| now_ms.saturating_sub(*at) < READ_AUDIT_REPEAT_WINDOW_MS)
            {
                return Ok(());
            }
            if recent.len() >= READ_AUDIT_RECENT_MAX {
                recent.clear();
            }
        }
        let input = AuditInput::new(actor, "appeal.read", target, details);
        self.audit
            .record_durable(&self.gc, WriteBatch::new(), input, now_ms)
            .await
            .map_err(storage)?;
        self.recent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, now_ms);
        Ok(())
    }
}
