//! The node's field documents in its store: import, the latest positions, tracks, packs.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use automerge::{ActorId, AutoCommit};
use server_kit::docs::{self, Stored};
use sync::field::{
    field_day, FieldDocId, FieldEntry, FieldLogDoc, FieldPart, FieldPhotoDoc, PackMeta, TrackDoc,
    UnitPack, UnitPackDoc, UnitPosition,
};
use sync::{DocId, DocKind, Document};

use crate::audit::{AuditInput, AuditLog};
use crate::kinds::field::{FieldDoc, FieldRules, FieldView};
use crate::kinds::{self, Imported};
use crate::service_error::{ServiceError, ServiceResult};
use crate::store::{GroupCommit, Store, WriteBatch};

/// Most days of track one replay request may span, days.
pub const TRACK_QUERY_DAYS_MAX: i64 = 31;
/// Latest time a track is asked about (2100-01-01 UTC), ms.
pub const TRACK_TIME_MAX_MS: i64 = 4_102_444_800_000;
/// Days of logs looked at for entries not yet applied when the node starts, days.
pub const REAPPLY_DAYS: i64 = 2;
const DAY_MS: i64 = 86_400_000;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What a field document that arrived brought.
#[derive(Debug, Default)]
pub struct FieldImport {
    pub heads: Vec<automerge::ChangeHash>,
    /// The unit it is about.
    pub unit: String,
    /// Log entries this store did not hold before (the card service applies them).
    pub new_entries: Vec<FieldEntry>,
    /// The unit's newest position, when the document was a track and moved it.
    pub position: Option<UnitPosition>,
    /// The document changed (something new arrived).
    pub changed: bool,
}

pub struct FieldService {
    store: Arc<dyn Store>,
    gc: Arc<GroupCommit>,
    audit: Arc<AuditLog>,
    actor: ActorId,
    region: String,
    chunks_max: usize,
    /// Field documents are written one at a time (they are small and per unit).
    write: Mutex<()>,
    latest: Mutex<HashMap<String, UnitPosition>>,
    retention_days: AtomicU32,
    shift_hours: AtomicU32,
}

impl FieldService {
    pub fn new(
        store: Arc<dyn Store>,
        gc: Arc<GroupCommit>,
        audit: Arc<AuditLog>,
        actor: ActorId,
        region: String,
        chunks_max: usize,
    ) -> FieldService {
        FieldService {
            store,
            gc,
            audit,
            actor,
            region,
            chunks_max,
            write: Mutex::new(()),
            latest: Mutex::new(HashMap::new()),
            retention_days: AtomicU32::new(365),
            shift_hours: AtomicU32::new(12),
        }
    }

    /// Applies `[field]` settings.
    pub fn configure(&self, retention_days: u32, shift_hours: u32) {
        self.retention_days.store(retention_days, Ordering::Relaxed);
        self.shift_hours.store(shift_hours, Ordering::Relaxed);
    }

    pub fn shift_ms(&self) -> i64 {
        i64::from(self.shift_hours.load(Ordering::Relaxed)) * 3_600_000
    }

    fn doc_id(&self, unit: &str, part: FieldPart) -> ServiceResult<DocId> {
        FieldDocId::new(&self.region, unit, part)
            .map(|f| f.doc_id())
            .ok_or_else(|| {
                ServiceError::NotFound(format!("unit {unit:?} cannot have field documents"))
            })
    }

    fn load(&self, id: &DocId) -> ServiceResult<Option<(FieldDoc, Stored)>> {
        let Some(bytes) = docs::load_bytes(&*self.store, id)? else {
            return Ok(None);
        };
        let mut doc = FieldDoc::load(bytes.iter().map(|b| b.as_slice()))?;
        doc.set_actor(self.actor.clone());
        Ok(Some((doc, Stored::Chunks(bytes.len() - 1))))
    }

    /// Runs `f` on a stored field document's automerge core (replication export).
    pub fn with_doc<T>(
        &self,
        id: &DocId,
        f: impl FnOnce(&mut AutoCommit) -> T,
    ) -> ServiceResult<T> {
        let (mut doc, _) = self
            .load(id)?
            .ok_or_else(|| ServiceError::NotFound(format!("{id} does not exist")))?;
        Ok(f(doc.automerge()))
    }

    /// Applies a peer's bytes to a field document (a unit's terminal, or the hub giving back
    /// what the node held), stores it durably (an audit entry for logs and photos; positions
    /// are too many for the audit chain and carry their own times) and says what is new.
    pub fn replica_import(
        &self,
        id: &DocId,
        bytes: &[u8],
        by: &str,
        now_ms: i64,
    ) -> Result<FieldImport, sync::protocol::RepoError> {
        use sync::protocol::RepoError;
        let storage = |e: String| RepoError::Storage(e);
        let rules = FieldRules::for_id(id, now_ms).map_err(RepoError::Refused)?;
        let guard = lock(&self.write);
        let (mut doc, mut stored, before) =
            match self.load(id).map_err(|e| storage(e.to_string()))? {
                Some((mut d, s)) => {
                    let before = kinds::KindRules::view(&rules, &mut d, now_ms).ok();
                    (d, s, before)
                }
                None => {
                    let mut d = FieldDoc::load([bytes])
                        .map_err(|e| RepoError::Refused(format!("{id}: {e}")))?;
                    d.set_actor(self.actor.clone());
                    (d, Stored::New, None)
                }
            };
        let old_heads = match stored {
            Stored::New => Vec::new(),
            Stored::Chunks(_) => doc.heads(),
        };
        let mut batch = WriteBatch::new();
        let Imported { heads, .. } = kinds::import(
            &rules,
            &mut batch,
            id,
            &mut doc,
            &mut stored,
            bytes,
            self.chunks_max,
            now_ms,
        )?;
        let changed = sync::protocol::normalize_heads(old_heads) != heads;
        let mut out = FieldImport {
            heads: heads.clone(),
            unit: rules.unit.clone(),
            changed,
            ..FieldImport::default()
        };
        if !changed {
            // What it already holds may be another import's, applied and not yet flushed.
            drop(guard);
            let written = self.gc.written();
            self.gc
                .wait_durable(written)
                .map_err(|e| storage(e.to_string()))?;
            return Ok(out);
        }
        let after = kinds::KindRules::view(&rules, &mut doc, now_ms)
            .map_err(|e| RepoError::Refused(e.to_string()))?;
        match (&after.1, before.as_ref().map(|b| &b.1)) {
            (FieldView::Log(entries), before) => {
                let known: std::collections::HashSet<&str> = match before {
                    Some(FieldView::Log(b)) => b.iter().map(|e| e.id.as_str()).collect(),
                    _ => Default::default(),
                };
                out.new_entries = entries
                    .iter()
                    .filter(|e| !known.contains(e.id.as_str()))
                    .cloned()
                    .collect();
            }
            (FieldView::Track(points), _) => {
                out.position = points.last().copied();
            }
            _ => {}
        }
        let ticket = match rules.part {
            FieldPart::Track { .. } => self.gc.apply(batch).map_err(|e| storage(e.to_string()))?,
            _ => self
                .audit
                .record(
                    &self.gc,
                    batch,
                    AuditInput::new(
                        by,
                        "field.import",
                        id.to_string(),
                        serde_json::json!({"bytes": bytes.len(), "entries": out.new_entries.len()}),
                    ),
                    now_ms,
                )
                .map_err(|e| storage(e.to_string()))?,
        };
        // Applied: the next import reads it. The flush is waited for without the lock, so that
        // concurrent imports (many terminals) share one group commit instead of queueing.
        drop(guard);
        self.gc
            .wait_durable(ticket)
            .map_err(|e| storage(e.to_string()))?;
        if let Some(p) = out.position {
            self.note_position(&rules.unit, p);
        }
        Ok(out)
    }

    fn note_position(&self, unit: &str, p: UnitPosition) {
        let mut latest = lock(&self.latest);
        let newer = latest.get(unit).is_none_or(|old| old.at_ms < p.at_ms);
        if newer {
            latest.insert(unit.to_string(), p);
        }
    }

    /// Every unit's newest known position.
    pub fn latest_positions(&self) -> HashMap<String, UnitPosition> {
        lock(&self.latest).clone()
    }

    /// Loads the newest positions from the tracks of today and yesterday (node start).
    pub fn load_latest(&self, now_ms: i64) -> ServiceResult<()> {
        for day_ms in [now_ms - DAY_MS, now_ms] {
            let day = field_day(day_ms);
            for entry in docs::catalogue(&*self.store, &self.region, Some(DocKind::Field))? {
                let Some(f) = FieldDocId::parse(&entry.id.to_string()) else {
                    continue;
                };
                if f.part != (FieldPart::Track { date: day.clone() }) {
                    continue;
                }
                if let Some((doc, _)) = self.load(&entry.id)? {
                    if let Some(p) = TrackDoc::wrap(doc.into_inner()).latest() {
                        self.note_position(&f.unit, p);
                    }
                }
            }
        }
        Ok(())
    }

    /// A unit's positions between two times, oldest first (replay on the map).
    pub fn track(&self, unit: &str, from_ms: i64, to_ms: i64) -> ServiceResult<Vec<UnitPosition>> {
        if !(0..=TRACK_TIME_MAX_MS).contains(&from_ms)
            || !(from_ms..=TRACK_TIME_MAX_MS).contains(&to_ms)
            || to_ms - from_ms > TRACK_QUERY_DAYS_MAX * DAY_MS
        {
            return Err(ServiceError::Domain(sync::DomainError::rule_field(
                "track_range_invalid",
                "to_ms",
                format!(
                    "a track is asked for 0 to {TRACK_QUERY_DAYS_MAX} days at a time, between 1970 and 2100"
                ),
            )));
        }
        let mut out = Vec::new();
        let mut day = from_ms;
        let mut seen = std::collections::BTreeSet::new();
        while day <= to_ms + DAY_MS {
            let date = field_day(day);
            day += DAY_MS;
            if !seen.insert(date.clone()) {
                continue;
            }
            let id = self.doc_id(unit, FieldPart::Track { date })?;
            if let Some((doc, _)) = self.load(&id)? {
                out.extend(
                    TrackDoc::wrap(doc.into_inner())
                        .points()
                        .into_iter()
                        .filter(|p| (from_ms..=to_ms).contains(&p.at_ms)),
                );
            }
        }
        out.sort_by_key(|p| p.at_ms);
        out.dedup_by_key(|p| p.at_ms);
        Ok(out)
    }

    /// Every log entry of the last [`REAPPLY_DAYS`] days, with its unit (node start: the card
    /// service applies what a crash left unapplied; applying is idempotent).
    pub fn recent_entries(&self, now_ms: i64) -> ServiceResult<Vec<(String, FieldEntry)>> {
        let days: Vec<String> = (0..=REAPPLY_DAYS)
            .map(|d| field_day(now_ms - d * DAY_MS))
            .collect();
        let mut out = Vec::new();
        for entry in docs::catalogue(&*self.store, &self.region, Some(DocKind::Field))? {
            let Some(f) = FieldDocId::parse(&entry.id.to_string()) else {
                continue;
            };
            let FieldPart::Log { date } = &f.part else {
                continue;
            };
            if !days.contains(date) {
                continue;
            }
            if let Some((doc, _)) = self.load(&entry.id)? {
                for e in FieldLogDoc::wrap(doc.into_inner()).entries()? {
                    out.push((f.unit.clone(), e));
                }
            }
        }
        out.sort_by_key(|(_, e)| e.at_ms);
        Ok(out)
    }

    /// A report photo's bytes.
    pub fn photo(&self, unit: &str, sha256: &str) -> ServiceResult<Option<Vec<u8>>> {
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let id = self.doc_id(
            unit,
            FieldPart::Photo {
                sha: sync::field::photo_id(sha256).to_string(),
            },
        )?;
        Ok(self
            .load(&id)?
            .and_then(|(doc, _)| FieldPhotoDoc::wrap(doc.into_inner()).bytes()))
    }

    /// The unit's pack as stored.
    pub fn pack(&self, unit: &str) -> ServiceResult<Option<UnitPack>> {
        let id = self.doc_id(unit, FieldPart::Pack)?;
        Ok(match self.load(&id)? {
            Some((doc, _)) => Some(UnitPackDoc::wrap(doc.into_inner()).view()?),
            None => None,
        })
    }

    /// Writes the unit's pack: its meta and exactly `assignments` (others removed). Writes
    /// nothing when nothing changed; returns whether it did (then it is durable).
    pub fn write_pack(
        &self,
        unit: &str,
        meta: &PackMeta,
        assignments: &[sync::field::Assignment],
        now_ms: i64,
    ) -> ServiceResult<bool> {
        let id = self.doc_id(unit, FieldPart::Pack)?;
        let _g = lock(&self.write);
        let (mut pack, mut stored) = match self.load(&id)? {
            Some((doc, stored)) => (UnitPackDoc::wrap(doc.into_inner()), stored),
            None => (UnitPackDoc::create(self.actor.clone(), unit)?, Stored::New),
        };
        let mut changed = stored == Stored::New;
        changed |= pack.set_meta(meta)?;
        let current = pack.view()?.assignments;
        for old in &current {
            if !assignments.iter().any(|a| a.card_id == old.card_id) {
                changed |= pack.remove_assignment(&old.card_id)?;
            }
        }
        for a in assignments.iter().take(sync::field::PACK_ASSIGNMENTS_MAX) {
            changed |= pack.put_assignment(a)?;
        }
        if !changed {
            return Ok(false);
        }
        let mut batch = WriteBatch::new();
        let mut doc = FieldDoc::wrap(std::mem::take(pack.automerge()));
        let rules = FieldRules::for_id(&id, now_ms).map_err(ServiceError::NotFound)?;
        kinds::stage_write(
            &rules,
            &mut batch,
            &id,
            &mut doc,
            &mut stored,
            None,
            self.chunks_max,
            now_ms,
        )?;
        let ticket = self.gc.apply(batch)?;
        self.gc.wait_durable(ticket)?;
        Ok(true)
    }

    /// Deletes field documents older than the retention period (positions, logs, photos; a
    /// pack is kept). Returns how many went.
    pub fn prune(&self, now_ms: i64) -> ServiceResult<usize> {
        let keep_days = i64::from(self.retention_days.load(Ordering::Relaxed));
        let oldest = field_day(now_ms - keep_days * DAY_MS);
        let mut batch = WriteBatch::new();
        let mut n = 0;
        for entry in docs::catalogue(&*self.store, &self.region, Some(DocKind::Field))? {
            let Some(f) = FieldDocId::parse(&entry.id.to_string()) else {
                continue;
            };
            let date = match &f.part {
                FieldPart::Log { date } | FieldPart::Track { date } => date.clone(),
                _ => continue,
            };
            if date < oldest {
                docs::stage_delete(&*self.store, &mut batch, &entry.id)?;
                n += 1;
            }
        }
        if n > 0 {
            let _g = lock(&self.write);
            self.gc.commit(batch)?;
        }
        Ok(n)
    }
}

impl FieldDoc {
    pub fn into_inner(self) -> AutoCommit {
        let mut d = self;
        std::mem::take(d.automerge())
    }
}
