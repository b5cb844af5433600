//! Reads of personal data are audited: who opened which card (the caller's name and phone),
//! which address warnings (persons on record) were shown to whom, which call records and
//! recordings were opened. Each read is an entry of the hash-chained audit log, and an index by
//! *subject* (a phone number, a card, a person on record, an address) answers "who looked at
//! this person's data" for a supervisor without reading the whole log.
//!
//! Keys: `idx/pdread/{subject}\0{at:020}/{actor}/{action}/{n}` → JSON [`PersonalDataRead`]. Subjects are
//! `phone:+77…`, `card:{id}`, `person:{name}`, `address:{text}`, lower-cased. The NUL ends the
//! subject so that a scan for one phone never returns a longer one.
//!
//! The same person opening the same card again and again within
//! [`READ_AUDIT_REPEAT_WINDOW_MS`] is one entry, so a console refreshing a card does not flood
//! the log.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::audit::{AuditInput, AuditLog};
use crate::store::{GroupCommit, Store, StoreError, WriteBatch};

pub const READS_KEY_PREFIX: &str = "idx/pdread/";
/// A repeated read of the same thing by the same person within this window is not recorded
/// again, ms.
pub const READ_AUDIT_REPEAT_WINDOW_MS: i64 = 10 * 60 * 1000;
/// Recent reads remembered for the repeat window.
pub const READ_AUDIT_RECENT_MAX: usize = 50_000;
/// Reads one query returns, newest first.
pub const READS_QUERY_MAX: usize = 1_000;
/// Longest subject kept in a key, characters.
const SUBJECT_CHARS_MAX: usize = 200;

/// One read of someone's personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PersonalDataRead {
    pub at: i64,
    /// Who read it.
    pub actor: String,
    /// What kind of read: `card.read`, `warnings.shown`, `call.read`, `recording.play`, ...
    pub action: String,
    /// What was opened (a card number, a call id, an address).
    pub target: String,
}

/// A subject key: `kind:value`, lower-cased, cut to a bounded length.
pub fn subject(kind: &str, value: &str) -> Option<String> {
    let v: String = value
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| !c.is_control())
        .take(SUBJECT_CHARS_MAX)
        .collect();
    (!v.is_empty()).then(|| format!("{kind}:{v}"))
}

/// The subjects of a caller's data: the phone (normalised and as written), the name, and the
/// card the call opened.
pub fn caller_subjects(caller: &sync::Caller, card_id: Option<&str>) -> Vec<String> {
    [
        caller.phone.as_deref().and_then(|p| subject("phone", p)),
        caller
            .phone_raw
            .as_deref()
            .and_then(|p| subject("phone", p)),
        caller.name.as_deref().and_then(|n| subject("person", n)),
        card_id.and_then(|id| subject("card", id)),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Stages the subject index of one read in `batch`.
pub fn stage_read_index(
    batch: &mut WriteBatch,
    subjects: &[String],
    read: &PersonalDataRead,
) -> Result<(), crate::store::StoreError> {
    for (n, s) in subjects.iter().enumerate() {
        batch.put_json(
            format!(
                "{READS_KEY_PREFIX}{s}\0{:020}/{}/{}/{n}",
                read.at, read.actor, read.action
            ),
            read,
        )?;
    }
    Ok(())
}

/// Records reads in the audit log with their subject index.
pub struct ReadAudit {
    audit: Arc<AuditLog>,
    gc: Arc<GroupCommit>,
    store: Arc<dyn Store>,
    recent: Mutex<lru::LruCache<(String, String, String), i64>>,
}

impl ReadAudit {
    pub fn new(store: Arc<dyn Store>, gc: Arc<GroupCommit>, audit: Arc<AuditLog>) -> Self {
        let cap = NonZeroUsize::new(READ_AUDIT_RECENT_MAX).unwrap_or(NonZeroUsize::MIN);
        ReadAudit {
            audit,
            gc,
            store,
            recent: Mutex::new(lru::LruCache::new(cap)),
        }
    }

    /// Records that `actor` read `target` (its personal data about `subjects`); returns once
    /// the entry is durable. A repeat within the window records nothing.
    pub async fn record(
        &self,
        actor: &str,
        action: &str,
        target: &str,
        subjects: Vec<String>,
        details: serde_json::Value,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        {
            let key = (actor.to_string(), action.to_string(), target.to_string());
            let mut recent = self.recent.lock().unwrap_or_else(PoisonError::into_inner);
            if recent
                .get(&key)
                .is_some_and(|at| now_ms - at < READ_AUDIT_REPEAT_WINDOW_MS)
            {
                return Ok(());
            }
            recent.put(key, now_ms);
        }
        let read = PersonalDataRead {
            at: now_ms,
            actor: actor.to_string(),
            action: action.to_string(),
            target: target.to_string(),
        };
        let mut batch = WriteBatch::new();
        stage_read_index(&mut batch, &subjects, &read)?;
        let mut details = details;
        if let Some(obj) = details.as_object_mut() {
            obj.insert("subjects".into(), serde_json::json!(subjects));
        }
        let ticket = self.audit.record(
            &self.gc,
            batch,
            AuditInput::new(actor, action, target, details),
            now_ms,
        )?;
        self.gc.wait_async(ticket).await
    }

    /// Reads of `subject`'s data since `since_ms`, newest first (at most [`READS_QUERY_MAX`]).
    pub fn reads_of(
        &self,
        subject: &str,
        since_ms: i64,
    ) -> Result<Vec<PersonalDataRead>, StoreError> {
        let prefix = format!("{READS_KEY_PREFIX}{subject}\0");
        let mut out: Vec<PersonalDataRead> = self
            .store
            .scan_prefix(prefix.as_bytes())?
            .into_iter()
            .filter_map(|(_, v)| serde_json::from_slice::<PersonalDataRead>(&v).ok())
            .filter(|r| r.at >= since_ms)
            .collect();
        out.sort_by_key(|r| std::cmp::Reverse(r.at));
        out.truncate(READS_QUERY_MAX);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SledStore;

    #[tokio::test]
    async fn reads_are_indexed_by_subject_and_repeats_are_one_entry() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path(), 8 << 20).unwrap());
        let gc = Arc::new(GroupCommit::new(store.clone()));
        let audit = Arc::new(AuditLog::open(store.clone()).unwrap());
        let reads = ReadAudit::new(store.clone(), gc, audit);
        let phone = subject("phone", "+77011234567").unwrap();
        let longer = subject("phone", "+770112345670").unwrap();
        let card = subject("card", "C1").unwrap();
        let json = serde_json::json!({});
        reads
            .record(
                "op1",
                "card.read",
                "AST-1",
                vec![phone.clone(), card.clone()],
                json.clone(),
                1_000,
            )
            .await
            .unwrap();
        // The same read again within the window: not recorded twice.
        reads
            .record(
                "op1",
                "card.read",
                "AST-1",
                vec![phone.clone()],
                json.clone(),
                2_000,
            )
            .await
            .unwrap();
        reads
            .record(
                "disp",
                "card.read",
                "AST-1",
                vec![phone.clone()],
                json.clone(),
                3_000,
            )
            .await
            .unwrap();
        reads
            .record(
                "op2",
                "card.read",
                "AST-9",
                vec![longer],
                json.clone(),
                3_500,
            )
            .await
            .unwrap();
        reads
            .record(
                "op1",
                "card.read",
                "AST-1",
                vec![phone.clone()],
                json,
                1_000 + READ_AUDIT_REPEAT_WINDOW_MS,
            )
            .await
            .unwrap();
        let who: Vec<(String, i64)> = reads
            .reads_of(&phone, 0)
            .unwrap()
            .into_iter()
            .map(|r| (r.actor, r.at))
            .collect();
        assert_eq!(
            who,
            [
                ("op1".to_string(), 1_000 + READ_AUDIT_REPEAT_WINDOW_MS),
                ("disp".to_string(), 3_000),
                ("op1".to_string(), 1_000)
            ]
        );
        assert_eq!(reads.reads_of(&card, 0).unwrap().len(), 1);
        assert_eq!(reads.reads_of(&phone, 2_500).unwrap().len(), 2);
        assert!(crate::audit::verify(store.as_ref()).unwrap().is_ok());
    }
}
