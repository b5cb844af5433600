//! R38 on the node: the national duplicate check through the hub.
//!
//! The registrar's duplicate check ([`super::AppealService::duplicates`]) looks this region's
//! appeals up itself and asks the hub for the others' over the replication connection: one
//! QUIC stream per query ([`sync::protocol::dup_query`] has the messages and why), opened only
//! while the link is up at protocol version
//! [`VERSION_DUPLICATE_QUERY`](sync::protocol::VERSION_DUPLICATE_QUERY) or later, and given up
//! after [`NATIONAL_QUERY_TIMEOUT_MS`]. When the link is down, the hub is older, or it does not
//! answer in time, the report says `scope: "region"` and the appeal is marked for a re-check
//! (`meta/ap/recheck/{id}`); when the link comes back, [`recheck_marked`] asks again for every
//! marked appeal and appends an `appeal.late_duplicate` step to each appeal that has an earlier
//! one in another region, so that the registrar and the manager see it, then clears the mark.
//! Every query is audited here as `appeal.national_check` (the appeal, the candidates the hub
//! found, the outcome) and at the hub under the same name.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sync::duplicates::Fingerprint;
use sync::protocol::dup_query::{
    self, DupAnswer, DupQuery, DupQueryError, NationalCandidate, ANSWER_BYTES_MAX,
};
use tokio::sync::watch;

/// Longest wait for the hub's answer to one query, from opening its stream to the last byte;
/// the registrar's page then shows the region's candidates and the check is repeated later.
pub const NATIONAL_QUERY_TIMEOUT_MS: u64 = 2_000;
/// Marked appeals re-checked in one pass after the link returns (the rest on the next pass).
pub const RECHECK_PASS_MAX: usize = 1_000;
/// Who re-checks, in the audit log and the appeal's history.
pub const SYSTEM_LOGIN: &str = "system";
/// The audit's action for a national query (the hub audits its side under the same name).
pub const AUDIT_ACTION: &str = "appeal.national_check";

const RECHECK_PREFIX: &str = "meta/ap/recheck/";

/// The mark of an appeal whose national check is still to be done.
pub fn recheck_key(id: &str) -> String {
    format!("{RECHECK_PREFIX}{id}")
}

/// What a mark records.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecheckMark {
    pub marked_at: i64,
    /// Why the check covered only the region (`link_down`, `timeout`, …).
    pub reason: String,
}

/// The replication connection, while it is up at a version that answers queries.
pub struct NationalLink {
    conn: watch::Sender<Option<quinn::Connection>>,
    rechecking: AtomicBool,
}

impl Default for NationalLink {
    fn default() -> Self {
        NationalLink {
            conn: watch::channel(None).0,
            rechecking: AtomicBool::new(false),
        }
    }
}

impl NationalLink {
    /// Starts a re-check pass; `false` when one is already running.
    pub fn begin_recheck(&self) -> bool {
        !self.rechecking.swap(true, Ordering::AcqRel)
    }

    /// Ends the running re-check pass.
    pub fn end_recheck(&self) {
        self.rechecking.store(false, Ordering::Release);
    }

    /// The link to the hub is up (the replication session opened at a version that answers).
    pub fn up(&self, conn: quinn::Connection) {
        self.conn.send_replace(Some(conn));
    }

    /// The link is down.
    pub fn down(&self) {
        self.conn.send_replace(None);
    }

    pub fn connection(&self) -> Option<quinn::Connection> {
        self.conn.borrow().clone()
    }

    pub fn is_up(&self) -> bool {
        self.conn.borrow().is_some()
    }

    /// Follows the link going up and down (tests, the console's status).
    pub fn watch(&self) -> watch::Receiver<Option<quinn::Connection>> {
        self.conn.subscribe()
    }
}

/// Why the hub gave no candidates.
#[derive(Debug, Clone, thiserror::Error)]
pub enum NationalError {
    #[error("the link to the hub is down")]
    LinkDown,
    #[error("the hub did not answer within {NATIONAL_QUERY_TIMEOUT_MS} ms")]
    Timeout,
    #[error("the query stream failed: {0}")]
    Transport(String),
    #[error("the hub refused the query ({code}): {message}")]
    Refused { code: String, message: String },
    #[error("the hub's answer is unreadable: {0}")]
    BadAnswer(DupQueryError),
}

impl NationalError {
    /// The outcome word the audit records.
    pub fn outcome(&self) -> &str {
        match self {
            NationalError::LinkDown => "link_down",
            NationalError::Timeout => "timeout",
            NationalError::Transport(_) => "transport",
            NationalError::Refused { code, .. } => code,
            NationalError::BadAnswer(_) => "bad_answer",
        }
    }

    /// Whether asking again later may give an answer (the link, not the query, failed).
    pub fn worth_retrying(&self) -> bool {
        match self {
            NationalError::Refused { code, .. } => code == dup_query::refusal::UNAVAILABLE,
            _ => true,
        }
    }
}

/// Asks the hub over `conn` for the candidates of the appeal `appeal_id` with fingerprint
/// `fingerprint`: one stream, one query, one answer, within [`NATIONAL_QUERY_TIMEOUT_MS`].
pub async fn ask(
    conn: &quinn::Connection,
    appeal_id: &str,
    fingerprint: &Fingerprint,
) -> Result<Vec<NationalCandidate>, NationalError> {
    let query = dup_query::encode_query(&DupQuery {
        appeal_id: appeal_id.to_string(),
        fingerprint: fingerprint.clone(),
    })
    .map_err(NationalError::BadAnswer)?;
    let exchange = async {
        let transport = |e: &dyn std::fmt::Display| NationalError::Transport(e.to_string());
        let (mut send, mut recv) = conn.open_bi().await.map_err(|e| transport(&e))?;
        send.write_all(&query).await.map_err(|e| transport(&e))?;
        send.finish().map_err(|e| transport(&e))?;
        recv.read_to_end(ANSWER_BYTES_MAX)
            .await
            .map_err(|e| transport(&e))
    };
    let bytes = tokio::time::timeout(Duration::from_millis(NATIONAL_QUERY_TIMEOUT_MS), exchange)
        .await
        .map_err(|_| NationalError::Timeout)??;
    match dup_query::decode_answer(&bytes).map_err(NationalError::BadAnswer)? {
        DupAnswer::Candidates(c) => Ok(c),
        DupAnswer::Refused { code, message } => Err(NationalError::Refused { code, message }),
    }
}

/// What one re-check pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecheckReport {
    /// Appeals the hub answered for.
    pub checked: usize,
    /// Appeals that got an `appeal.late_duplicate` step.
    pub late: usize,
}
