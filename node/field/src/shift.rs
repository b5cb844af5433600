//! The logged-in officer's shift: the data key, the open store and the sync's inputs. Ending
//! it (logout, idle timeout, end of shift, revocation) stops the sync and drops the key.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use server_kit::store::GroupCommit;
use tokio::sync::{mpsc, watch};

use crate::repo::TerminalRepo;
use crate::vault::DataKey;

/// The unit this terminal speaks for (from its certificate).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitRef {
    pub region: String,
    pub unit: String,
}

impl UnitRef {
    /// `REGION/unit`, as the vault records it.
    pub fn key(&self) -> String {
        format!("{}/{}", self.region, self.unit)
    }
}

/// The logged-in officer's shift: the only holder of the data key.
pub struct Shift {
    officer: Mutex<String>,
    key: DataKey,
    pub repo: Arc<Mutex<TerminalRepo>>,
    pub gc: Arc<GroupCommit>,
    last_activity_ms: AtomicI64,
    changes: mpsc::Sender<String>,
    stop: watch::Sender<bool>,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Shift {
    /// The officer whose login the entries carry.
    pub fn officer(&self) -> String {
        self.officer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Tells the sync that a document changed (after the change is durable).
    pub fn changed(&self, doc_id: &str) {
        // A full queue only delays: the next session sends what the catalogue shows.
        let _ = self.changes.try_send(doc_id.to_string());
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        officer: &str,
        key: DataKey,
        repo: Arc<Mutex<TerminalRepo>>,
        gc: Arc<GroupCommit>,
        changes: mpsc::Sender<String>,
        stop: watch::Sender<bool>,
        task: tokio::task::JoinHandle<()>,
        now_ms: i64,
    ) -> Shift {
        Shift {
            officer: Mutex::new(officer.to_string()),
            key,
            repo,
            gc,
            last_activity_ms: AtomicI64::new(now_ms),
            changes,
            stop,
            task: Mutex::new(Some(task)),
        }
    }

    pub(crate) fn key(&self) -> &DataKey {
        &self.key
    }

    /// Another crew member takes over the shift (same data key).
    pub(crate) fn set_officer(&self, login: &str) {
        *self.officer.lock().unwrap_or_else(|p| p.into_inner()) = login.to_string();
    }

    pub fn last_activity_ms(&self) -> i64 {
        self.last_activity_ms.load(Ordering::Relaxed)
    }

    pub fn touch(&self, now_ms: i64) {
        self.last_activity_ms.store(now_ms, Ordering::Relaxed);
    }

    /// Stops the sync and waits for it, so nothing holds the store afterwards.
    pub(crate) async fn end(&self) {
        let _ = self.stop.send(true);
        let task = self.task.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}
