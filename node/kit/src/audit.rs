//! Append-only, hash-chained audit log (R09, R18): every state-changing action is recorded.
//!
//! Each entry commits to its predecessor through `prev_hash`, so removing or editing an entry in
//! the middle breaks the chain, and the separately stored head (`audit/head`, the last sequence
//! number and hash) exposes removed tail entries. An entry is written in the *same*
//! [`WriteBatch`] as the change it describes, so the change and its audit record are either both
//! on disk or neither is.
//!
//! Layout in the shared key space:
//! - `audit/e/{seq:020}` → JSON [`AuditEntry`] (zero-padded so key order is sequence order);
//! - `audit/head` → JSON `{seq, hash}` of the newest entry.
//!
//! Hash: `hex(sha256(prev_hash ++ canonical([seq, at, actor, action, target, details])))`, where
//! the canonical form is compact JSON with object keys sorted, so it does not depend on the order
//! in which a caller built `details` nor on serde_json's map implementation.

use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::store::{GroupCommit, Store, StoreError, WriteBatch};

/// Key prefix of audit entries.
pub const AUDIT_ENTRY_KEY_PREFIX: &str = "audit/e/";
/// Key of the chain head.
pub const AUDIT_HEAD_KEY: &str = "audit/head";
/// `prev_hash` of the first entry.
pub const AUDIT_GENESIS_HASH: &str =
    "0000000000000000000000000000000000000000000000000000000000000000";
/// Upper bound for [`list_recent`], so one request cannot make the node read the whole log.
pub const AUDIT_LIST_RECENT_COUNT_MAX: usize = 10_000;
/// Entries one filtered listing ([`list_filtered`]) reads at most, matching or not; the caller
/// continues below [`AuditPage::next_before`].
pub const AUDIT_FILTER_SCAN_MAX: usize = 20_000;
/// Longest filter text kept (actor, action, target), characters.
pub const AUDIT_FILTER_TEXT_CHARS_MAX: usize = 200;

#[derive(Debug, Error)]
pub enum AuditError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stored log is inconsistent in a way that makes appending unsafe.
    #[error("the audit log is damaged: {0}. Run the audit verification and restore the database from a backup if entries were tampered with.")]
    Damaged(String),
}

/// One recorded action. `hash` covers every other field except itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEntry {
    /// 1-based, gap-free sequence number.
    pub seq: u64,
    /// When the action happened, ms since the Unix epoch.
    pub at: i64,
    /// Login of the acting person, or `system`.
    pub actor: String,
    /// Dotted action name, e.g. `account.create`.
    pub action: String,
    /// What the action was applied to (a login, a card id, ...).
    pub target: String,
    /// What the action changed or read; `null` in entries older than this field's rule.
    #[schema(value_type = Option<Object>)]
    pub details: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
}

/// What a caller wants recorded; sequence number, time and hashes are added by [`AuditLog`].
#[derive(Debug, Clone)]
pub struct AuditInput {
    pub actor: String,
    pub action: String,
    pub target: String,
    pub details: serde_json::Value,
}

impl AuditInput {
    pub fn new(
        actor: impl Into<String>,
        action: impl Into<String>,
        target: impl Into<String>,
        details: serde_json::Value,
    ) -> Self {
        Self {
            actor: actor.into(),
            action: action.into(),
            target: target.into(),
            details,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct AuditHead {
    seq: u64,
    hash: String,
}

impl AuditHead {
    fn genesis() -> Self {
        Self {
            seq: 0,
            hash: AUDIT_GENESIS_HASH.to_string(),
        }
    }
}

/// Result of [`verify`]. Each problem names the sequence number(s) concerned.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct VerifyReport {
    /// Entries found in storage.
    pub entries: u64,
    pub problems: Vec<String>,
}

impl VerifyReport {
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// The writer side of the log. One per store: the mutex orders sequence numbers, so all
/// recorders of a node must share one `AuditLog` (wrap it in an `Arc`).
pub struct AuditLog {
    head: Mutex<AuditHead>,
}

impl AuditLog {
    /// Reads the head. A store with entries but no readable head is refused rather than
    /// silently restarted from the last entry: that is exactly the state an attacker who
    /// deleted the tail and the head would leave, and continuing would paper over it.
    pub fn open(store: Arc<dyn Store>) -> Result<Self, AuditError> {
        let head = match store.get(AUDIT_HEAD_KEY.as_bytes())? {
            Some(bytes) => serde_json::from_slice::<AuditHead>(&bytes).map_err(|e| {
                AuditError::Damaged(format!("the head record cannot be read ({e})"))
            })?,
            None => {
                if store
                    .last_with_prefix(AUDIT_ENTRY_KEY_PREFIX.as_bytes())?
                    .is_some()
                {
                    return Err(AuditError::Damaged(
                        "entries exist but the head record is missing".into(),
                    ));
                }
                AuditHead::genesis()
            }
        };
        if head.hash.len() != 64 || !head.hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(AuditError::Damaged(format!(
                "the head record of entry {} holds a malformed hash",
                head.seq
            )));
        }
        Ok(Self {
            head: Mutex::new(head),
        })
    }

    /// Sequence number of the newest entry (0 when the log is empty).
    pub fn head_seq(&self) -> u64 {
        self.head.lock().unwrap_or_else(PoisonError::into_inner).seq
    }

    /// Appends an entry for `input` to `batch` and applies the batch (the caller's writes and the
    /// audit entry atomically). Returns the group-commit ticket: the caller must wait for it
    /// (`gc.wait_durable` / `gc.wait_async`) before acknowledging the action.
    ///
    /// The mutex is held across `gc.apply` so that sequence numbers are assigned in the order the
    /// batches become visible; the in-memory head only advances when the apply succeeded, so a
    /// failed write leaves no gap.
    pub fn record(
        &self,
        gc: &GroupCommit,
        mut batch: WriteBatch,
        input: AuditInput,
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        let mut head = self.head.lock().unwrap_or_else(PoisonError::into_inner);
        let seq = head.seq + 1;
        let details = floats_to_strings(input.details);
        let hash = entry_hash(
            &head.hash,
            seq,
            now_ms,
            &input.actor,
            &input.action,
            &input.target,
            &details,
        );
        let entry = AuditEntry {
            seq,
            at: now_ms,
            actor: input.actor,
            action: input.action,
            target: input.target,
            details,
            prev_hash: head.hash.clone(),
            hash: hash.clone(),
        };
        let new_head = AuditHead { seq, hash };
        batch.put(entry_key(seq), to_json(&entry)?);
        batch.put(AUDIT_HEAD_KEY.as_bytes().to_vec(), to_json(&new_head)?);
        let ticket = gc.apply(batch)?;
        *head = new_head;
        Ok(ticket)
    }

    /// [`AuditLog::record`] and then wait until the batch is durable.
    pub async fn record_durable(
        &self,
        gc: &Arc<GroupCommit>,
        batch: WriteBatch,
        input: AuditInput,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let ticket = self.record(gc, batch, input, now_ms)?;
        gc.wait_async(ticket).await
    }
}

fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::Io(format!("encoding an audit record: {e}")))
}

fn entry_key(seq: u64) -> Vec<u8> {
    format!("{AUDIT_ENTRY_KEY_PREFIX}{seq:020}").into_bytes()
}

/// Newest entries first, at most `limit_count` (capped at [`AUDIT_LIST_RECENT_COUNT_MAX`]).
///
/// Walks back by key from the last stored entry instead of scanning the whole log, so the cost
/// does not grow with the log. Entries missing from storage are skipped (with a bounded number of
/// probes, so a large gap cannot turn one request into millions of reads); [`verify`] reports them.
pub fn list_recent(store: &dyn Store, limit_count: usize) -> Result<Vec<AuditEntry>, AuditError> {
    let limit_count = limit_count.min(AUDIT_LIST_RECENT_COUNT_MAX);
    let mut probes_left = limit_count.saturating_mul(2).saturating_add(1024);
    let mut seq = last_stored_seq(store)?;
    let mut out = Vec::with_capacity(limit_count.min(seq as usize));
    while seq > 0 && out.len() < limit_count && probes_left > 0 {
        probes_left -= 1;
        if let Some(bytes) = store.get(&entry_key(seq))? {
            let entry = serde_json::from_slice::<AuditEntry>(&bytes)
                .map_err(|e| AuditError::Damaged(format!("entry {seq} cannot be read ({e})")))?;
            out.push(entry);
        }
        seq -= 1;
    }
    Ok(out)
}

/// What a reader of the log asks for; every given part must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Who acted: the login, case-insensitive.
    pub actor: Option<String>,
    /// The dotted action code (`card.read`), or a prefix ending in a dot (`card.`).
    pub action: Option<String>,
    /// Part of what the action was applied to (a card number, a login), case-insensitive.
    pub target: Option<String>,
    /// From this time on, ms since the Unix epoch.
    pub from_ms: Option<i64>,
    /// Before this time, ms since the Unix epoch.
    pub to_ms: Option<i64>,
}

impl AuditFilter {
    /// Trims the texts, drops empty ones, lower-cases actor and target and cuts every text to
    /// [`AUDIT_FILTER_TEXT_CHARS_MAX`].
    pub fn normalized(self) -> AuditFilter {
        let clean = |v: Option<String>, lower: bool| {
            v.map(|t| {
                let t: String = t.trim().chars().take(AUDIT_FILTER_TEXT_CHARS_MAX).collect();
                if lower {
                    t.to_lowercase()
                } else {
                    t
                }
            })
            .filter(|t| !t.is_empty())
        };
        AuditFilter {
            actor: clean(self.actor, true),
            action: clean(self.action, false),
            target: clean(self.target, true),
            from_ms: self.from_ms,
            to_ms: self.to_ms,
        }
    }

    /// Whether `e` matches. Expects a [`AuditFilter::normalized`] filter.
    pub fn matches(&self, e: &AuditEntry) -> bool {
        let actor = self
            .actor
            .as_deref()
            .is_none_or(|a| e.actor.to_lowercase() == a);
        let action = self.action.as_deref().is_none_or(|a| {
            if a.ends_with('.') {
                e.action.starts_with(a)
            } else {
                e.action == a
            }
        });
        let target = self
            .target
            .as_deref()
            .is_none_or(|t| e.target.to_lowercase().contains(t));
        let from = self.from_ms.is_none_or(|f| e.at >= f);
        let to = self.to_ms.is_none_or(|t| e.at < t);
        actor && action && target && from && to
    }
}

/// One page of a filtered listing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditPage {
    /// Matching entries, newest first.
    pub entries: Vec<AuditEntry>,
    /// Where the next page starts (pass it as `before_seq`); `None` once the start of the log
    /// was reached.
    pub next_before: Option<u64>,
}

/// Entries below `before_seq` (all when `None`) that match `filter` and `also`, newest first, at
/// most `limit_count` (capped at [`AUDIT_LIST_RECENT_COUNT_MAX`]). Reads at most `scan_max`
/// sequence numbers (capped at [`AUDIT_FILTER_SCAN_MAX`]), so a filter that matches rarely
/// cannot make one request read the whole log: the page then ends early and `next_before` says
/// where to go on.
pub fn list_filtered(
    store: &dyn Store,
    filter: &AuditFilter,
    also: &dyn Fn(&AuditEntry) -> bool,
    before_seq: Option<u64>,
    limit_count: usize,
    scan_max: usize,
) -> Result<AuditPage, AuditError> {
    let limit_count = limit_count.min(AUDIT_LIST_RECENT_COUNT_MAX);
    let mut probes_left = scan_max.min(AUDIT_FILTER_SCAN_MAX);
    let last = last_stored_seq(store)?;
    let mut seq = before_seq.map_or(last, |b| b.saturating_sub(1).min(last));
    let mut page = AuditPage::default();
    while seq > 0 && page.entries.len() < limit_count && probes_left > 0 {
        probes_left -= 1;
        if let Some(bytes) = store.get(&entry_key(seq))? {
            let entry = serde_json::from_slice::<AuditEntry>(&bytes)
                .map_err(|e| AuditError::Damaged(format!("entry {seq} cannot be read ({e})")))?;
            if filter.matches(&entry) && also(&entry) {
                page.entries.push(entry);
            }
        }
        seq -= 1;
    }
    page.next_before = (seq > 0).then_some(seq + 1);
    Ok(page)
}

fn last_stored_seq(store: &dyn Store) -> Result<u64, AuditError> {
    Ok(store
        .last_with_prefix(AUDIT_ENTRY_KEY_PREFIX.as_bytes())?
        .and_then(|(k, _)| key_seq(&k))
        .unwrap_or(0))
}

fn key_seq(key: &[u8]) -> Option<u64> {
    let suffix = key.strip_prefix(AUDIT_ENTRY_KEY_PREFIX.as_bytes())?;
    std::str::from_utf8(suffix).ok()?.parse().ok()
}

/// Checks the whole chain: every entry's hash, the links between neighbours, gap-free sequence
/// numbers, and that the head matches the last entry. Never stops at the first problem, so the
/// report shows the full extent of any tampering.
pub fn verify(store: &dyn Store) -> Result<VerifyReport, AuditError> {
    let mut report = VerifyReport::default();
    let problems = &mut report.problems;
    // Sequence number and stored hash of the previous readable entry (genesis at the start).
    let mut prev_seq: u64 = 0;
    let mut prev_hash: Option<String> = Some(AUDIT_GENESIS_HASH.to_string());

    for (key, value) in store.scan_prefix(AUDIT_ENTRY_KEY_PREFIX.as_bytes())? {
        report.entries += 1;
        let key_text = String::from_utf8_lossy(&key).into_owned();
        let Some(seq_in_key) = key_seq(&key) else {
            problems.push(format!("key {key_text:?} is not a valid audit entry key"));
            continue;
        };
        let entry = match serde_json::from_slice::<AuditEntry>(&value) {
            Ok(entry) => entry,
            Err(e) => {
                problems.push(format!(
                    "entry {seq_in_key} cannot be read ({e}); it was modified or damaged"
                ));
                prev_seq = seq_in_key;
                prev_hash = None;
                continue;
            }
        };
        if entry.seq != seq_in_key {
            problems.push(format!(
                "entry {seq_in_key} is stored with seq {} inside; it was moved or modified",
                entry.seq
            ));
        }
        let expected_seq = prev_seq + 1;
        if seq_in_key > expected_seq {
            problems.push(missing_range(expected_seq, seq_in_key - 1, "removed"));
        } else if let Some(prev) = &prev_hash {
            if &entry.prev_hash != prev {
                problems.push(format!(
                    "entry {seq_in_key} does not link to entry {}: its prev_hash differs from that entry's hash (an entry was modified or replaced)",
                    seq_in_key - 1
                ));
            }
        }
        let recomputed = entry_hash(
            &entry.prev_hash,
            entry.seq,
            entry.at,
            &entry.actor,
            &entry.action,
            &entry.target,
            &entry.details,
        );
        if recomputed != entry.hash {
            problems.push(format!(
                "entry {seq_in_key} does not match its hash; it was modified"
            ));
        }
        prev_seq = seq_in_key;
        prev_hash = Some(entry.hash);
    }

    match store.get(AUDIT_HEAD_KEY.as_bytes())? {
        None if report.entries > 0 => problems.push(format!(
            "the head record is missing although entries up to {prev_seq} exist"
        )),
        None => {}
        Some(bytes) => match serde_json::from_slice::<AuditHead>(&bytes) {
            Err(e) => problems.push(format!("the head record cannot be read ({e})")),
            Ok(head) if head.seq > prev_seq => {
                problems.push(missing_range(prev_seq + 1, head.seq, "removed from the tail"));
            }
            Ok(head) if head.seq < prev_seq => problems.push(format!(
                "the head points at entry {} but entries up to {prev_seq} exist; the head was modified or entries were appended outside the log",
                head.seq
            )),
            Ok(head) => {
                if prev_hash.as_deref() != Some(head.hash.as_str()) {
                    problems.push(format!(
                        "the head hash does not match entry {}; the head or that entry was modified",
                        head.seq
                    ));
                }
            }
        },
    }
    Ok(report)
}

fn missing_range(first: u64, last: u64, how: &str) -> String {
    if first == last {
        format!("entry {first} is missing ({how})")
    } else {
        format!("entries {first}..={last} are missing ({how})")
    }
}

/// The hash of one entry. Pure function of its inputs, shared by [`AuditLog::record`] and
/// [`verify`] so the two can never disagree on the format.
fn entry_hash(
    prev_hash: &str,
    seq: u64,
    at: i64,
    actor: &str,
    action: &str,
    target: &str,
    details: &serde_json::Value,
) -> String {
    let mut canonical = String::with_capacity(128);
    canonical.push('[');
    canonical.push_str(&seq.to_string());
    canonical.push(',');
    canonical.push_str(&at.to_string());
    for text in [actor, action, target] {
        canonical.push(',');
        write_json_string(text, &mut canonical);
    }
    canonical.push(',');
    write_canonical_json(details, &mut canonical);
    canonical.push(']');

    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(canonical.as_bytes());
    hex::encode(hasher.finalize())
}

/// Compact JSON with object keys in byte order. Numbers use serde_json's own formatting; floats
/// never reach here (see [`floats_to_strings`]).
fn write_canonical_json(value: &serde_json::Value, out: &mut String) {
    use serde_json::Value;
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_json_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical_json(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(key, out);
                out.push(':');
                write_canonical_json(&map[key], out);
            }
            out.push('}');
        }
    }
}

fn write_json_string(s: &str, out: &mut String) {
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Replaces floating-point numbers by their decimal text. A float that is written to JSON and
/// parsed back is not guaranteed to be bit-identical with serde_json's default parser, which
/// would make an untouched entry fail verification; integers and strings round-trip exactly.
fn floats_to_strings(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Number(n) if n.is_f64() => Value::String(n.to_string()),
        Value::Array(items) => Value::Array(items.into_iter().map(floats_to_strings).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, floats_to_strings(v)))
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SledStore;
    use serde_json::json;

    struct Fixture {
        _dir: tempfile::TempDir,
        store: Arc<dyn Store>,
        gc: Arc<GroupCommit>,
        log: Arc<AuditLog>,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path(), 8 << 20).unwrap());
        let gc = Arc::new(GroupCommit::new(store.clone()));
        let log = Arc::new(AuditLog::open(store.clone()).unwrap());
        Fixture {
            _dir: dir,
            store,
            gc,
            log,
        }
    }

    fn record_n(f: &Fixture, n: u64) {
        for i in 0..n {
            let ticket = f
                .log
                .record(
                    &f.gc,
                    WriteBatch::new(),
                    AuditInput::new("admin", "test.action", format!("t{i}"), json!({"i": i})),
                    1_700_000_000_000 + i as i64,
                )
                .unwrap();
            f.gc.wait_durable(ticket).unwrap();
        }
    }

    fn put_raw(store: &dyn Store, key: Vec<u8>, value: Vec<u8>) {
        let mut b = WriteBatch::new();
        b.put(key, value);
        store.apply(b).unwrap();
    }

    fn delete_raw(store: &dyn Store, key: Vec<u8>) {
        let mut b = WriteBatch::new();
        b.delete(key);
        store.apply(b).unwrap();
    }

    fn assert_problem(report: &VerifyReport, needle: &str) {
        assert!(
            report.problems.iter().any(|p| p.contains(needle)),
            "expected a problem containing {needle:?}, got {:?}",
            report.problems
        );
    }

    #[test]
    fn r18_audit_chain_happy_path_with_concurrent_recorders() {
        let f = fixture();
        let threads: Vec<_> = (0..6)
            .map(|t| {
                let (gc, log) = (f.gc.clone(), f.log.clone());
                std::thread::spawn(move || {
                    for i in 0..40 {
                        let mut batch = WriteBatch::new();
                        batch.put(format!("test/{t}/{i}").into_bytes(), b"x".to_vec());
                        let ticket = log
                            .record(
                                &gc,
                                batch,
                                AuditInput::new(
                                    format!("user{t}"),
                                    "test.write",
                                    format!("test/{t}/{i}"),
                                    json!({"thread": t, "i": i, "ratio": 0.1 + i as f64, "nested": {"b": 1, "a": [true, null]}}),
                                ),
                                1_700_000_000_000 + i,
                            )
                            .unwrap();
                        gc.wait_durable(ticket).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let report = verify(f.store.as_ref()).unwrap();
        assert!(report.is_ok(), "{:?}", report.problems);
        assert_eq!(report.entries, 240);
        assert_eq!(f.log.head_seq(), 240);
        // The caller's writes landed together with their entries.
        assert_eq!(f.store.scan_prefix(b"test/").unwrap().len(), 240);

        let recent = list_recent(f.store.as_ref(), 5).unwrap();
        let seqs: Vec<u64> = recent.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, vec![240, 239, 238, 237, 236]);

        // Reopening continues the same chain.
        drop(recent);
        let reopened = AuditLog::open(f.store.clone()).unwrap();
        let ticket = reopened
            .record(
                &f.gc,
                WriteBatch::new(),
                AuditInput::new("admin", "test.after_reopen", "x", json!(null)),
                1,
            )
            .unwrap();
        f.gc.wait_durable(ticket).unwrap();
        let report = verify(f.store.as_ref()).unwrap();
        assert!(report.is_ok(), "{:?}", report.problems);
        assert_eq!(report.entries, 241);
    }

    #[test]
    fn r18_audit_chain_detects_modified_entry() {
        let f = fixture();
        record_n(&f, 10);
        let key = entry_key(4);
        let mut entry: AuditEntry =
            serde_json::from_slice(&f.store.get(&key).unwrap().unwrap()).unwrap();
        entry.actor = "someone_else".into();
        put_raw(
            f.store.as_ref(),
            key.clone(),
            serde_json::to_vec(&entry).unwrap(),
        );
        let report = verify(f.store.as_ref()).unwrap();
        assert!(!report.is_ok());
        assert_problem(&report, "entry 4 does not match its hash");

        // Re-hashing the forged entry moves the break to the link with entry 5.
        entry.hash = entry_hash(
            &entry.prev_hash,
            entry.seq,
            entry.at,
            &entry.actor,
            &entry.action,
            &entry.target,
            &entry.details,
        );
        put_raw(f.store.as_ref(), key, serde_json::to_vec(&entry).unwrap());
        let report = verify(f.store.as_ref()).unwrap();
        assert_problem(&report, "entry 5 does not link to entry 4");
    }

    #[test]
    fn r18_audit_chain_detects_removed_entry() {
        let f = fixture();
        record_n(&f, 10);
        delete_raw(f.store.as_ref(), entry_key(6));
        let report = verify(f.store.as_ref()).unwrap();
        assert_eq!(report.entries, 9);
        assert_problem(&report, "entry 6 is missing");

        delete_raw(f.store.as_ref(), entry_key(1));
        let report = verify(f.store.as_ref()).unwrap();
        assert_problem(&report, "entry 1 is missing");
    }

    #[test]
    fn r18_audit_chain_detects_truncated_tail() {
        let f = fixture();
        record_n(&f, 10);
        delete_raw(f.store.as_ref(), entry_key(10));
        delete_raw(f.store.as_ref(), entry_key(9));
        let report = verify(f.store.as_ref()).unwrap();
        assert_problem(
            &report,
            "entries 9..=10 are missing (removed from the tail)",
        );

        // Cutting the tail and removing the head is refused on open instead of papered over.
        delete_raw(f.store.as_ref(), AUDIT_HEAD_KEY.as_bytes().to_vec());
        let report = verify(f.store.as_ref()).unwrap();
        assert_problem(&report, "head record is missing");
        assert!(matches!(
            AuditLog::open(f.store.clone()),
            Err(AuditError::Damaged(_))
        ));
    }

    #[test]
    fn r18_audit_chain_detects_modified_head() {
        let f = fixture();
        record_n(&f, 3);
        let head = AuditHead {
            seq: 3,
            hash: "ab".repeat(32),
        };
        put_raw(
            f.store.as_ref(),
            AUDIT_HEAD_KEY.as_bytes().to_vec(),
            serde_json::to_vec(&head).unwrap(),
        );
        let report = verify(f.store.as_ref()).unwrap();
        assert_problem(&report, "head hash does not match entry 3");
    }

    #[test]
    fn canonical_form_ignores_key_order_and_keeps_escapes() {
        let a: serde_json::Value =
            serde_json::from_str(r#"{"b":1,"a":{"y":"q\"\n","x":[1,2]}}"#).unwrap();
        let b: serde_json::Value =
            serde_json::from_str(r#"{"a":{"x":[1,2],"y":"q\"\n"},"b":1}"#).unwrap();
        let mut ca = String::new();
        let mut cb = String::new();
        write_canonical_json(&a, &mut ca);
        write_canonical_json(&b, &mut cb);
        assert_eq!(ca, cb);
        assert_eq!(ca, r#"{"a":{"x":[1,2],"y":"q\"\n"},"b":1}"#);
    }

    #[test]
    fn empty_log_verifies_and_lists_nothing() {
        let f = fixture();
        let report = verify(f.store.as_ref()).unwrap();
        assert!(report.is_ok());
        assert_eq!(report.entries, 0);
        assert!(list_recent(f.store.as_ref(), 10).unwrap().is_empty());
    }

    fn record_entries(f: &Fixture, entries: &[(&str, &str, &str, i64)]) {
        for (actor, action, target, at) in entries {
            let ticket = f
                .log
                .record(
                    &f.gc,
                    WriteBatch::new(),
                    AuditInput::new(*actor, *action, *target, json!(null)),
                    *at,
                )
                .unwrap();
            f.gc.wait_durable(ticket).unwrap();
        }
    }

    #[test]
    fn audit_filter_matches_actor_action_target_and_time() {
        let e = AuditEntry {
            seq: 1,
            at: 1_000,
            actor: "Op1".into(),
            action: "card.read".into(),
            target: "AST-2026-000042".into(),
            details: json!(null),
            prev_hash: String::new(),
            hash: String::new(),
        };
        let f = |filter: AuditFilter| filter.normalized().matches(&e);
        assert!(f(AuditFilter::default()));
        assert!(f(AuditFilter {
            actor: Some(" op1 ".into()),
            ..Default::default()
        }));
        assert!(!f(AuditFilter {
            actor: Some("op".into()),
            ..Default::default()
        }));
        assert!(f(AuditFilter {
            action: Some("card.read".into()),
            ..Default::default()
        }));
        assert!(f(AuditFilter {
            action: Some("card.".into()),
            ..Default::default()
        }));
        assert!(!f(AuditFilter {
            action: Some("card".into()),
            ..Default::default()
        }));
        assert!(!f(AuditFilter {
            action: Some("card.create".into()),
            ..Default::default()
        }));
        assert!(f(AuditFilter {
            target: Some("ast-2026-000042".into()),
            ..Default::default()
        }));
        assert!(f(AuditFilter {
            target: Some("000042".into()),
            ..Default::default()
        }));
        assert!(!f(AuditFilter {
            target: Some("000043".into()),
            ..Default::default()
        }));
        assert!(f(AuditFilter {
            from_ms: Some(1_000),
            to_ms: Some(1_001),
            ..Default::default()
        }));
        assert!(!f(AuditFilter {
            to_ms: Some(1_000),
            ..Default::default()
        }));
        assert!(!f(AuditFilter {
            from_ms: Some(1_001),
            ..Default::default()
        }));
        assert!(f(AuditFilter {
            actor: Some("   ".into()),
            ..Default::default()
        }));
    }

    #[test]
    fn audit_filtered_listing_pages_by_seq_and_bounds_its_scan() {
        let f = fixture();
        record_entries(
            &f,
            &[
                ("op1", "card.create", "AST-1", 10),
                ("disp1", "card.read", "AST-1", 20),
                ("op1", "card.read", "AST-1", 30),
                ("admin", "account.create", "op2", 40),
                ("op1", "card.create", "AST-2", 50),
            ],
        );
        let all = |_: &AuditEntry| true;
        let by_op1 = AuditFilter {
            actor: Some("op1".into()),
            ..Default::default()
        };
        let page = list_filtered(f.store.as_ref(), &by_op1, &all, None, 2, 100).unwrap();
        let seqs: Vec<u64> = page.entries.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, vec![5, 3]);
        assert_eq!(page.next_before, Some(3));
        let page = list_filtered(f.store.as_ref(), &by_op1, &all, Some(3), 2, 100).unwrap();
        let seqs: Vec<u64> = page.entries.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, vec![1]);
        assert_eq!(page.next_before, None);
        // A scan bound of two ends the page early and says where to go on.
        let reads = AuditFilter {
            action: Some("card.read".into()),
            ..Default::default()
        };
        let page = list_filtered(f.store.as_ref(), &reads, &all, None, 10, 2).unwrap();
        assert!(page.entries.is_empty());
        assert_eq!(page.next_before, Some(4));
        let page = list_filtered(f.store.as_ref(), &reads, &all, Some(4), 10, 2).unwrap();
        let seqs: Vec<u64> = page.entries.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, vec![3, 2]);
        // The extra condition (the admin's view) applies too.
        let accounts = |e: &AuditEntry| e.action.starts_with("account.");
        let page = list_filtered(
            f.store.as_ref(),
            &AuditFilter::default(),
            &accounts,
            None,
            10,
            100,
        )
        .unwrap();
        assert_eq!(page.entries.len(), 1);
        assert_eq!(page.entries[0].target, "op2");
    }
}
