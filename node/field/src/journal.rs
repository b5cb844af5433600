//! What the officer does, written to the unit's documents in the local store first (the
//! terminal's clock as the original time, the officer's login as the author), durable before
//! the UI is answered, then offered to the sync: statuses, reports and notes go in the day's
//! field log, positions in the day's track, report photos in their own documents. Also reads
//! the pack the node wrote for the unit.

use serde::Serialize;
use sync::field::{
    field_day, field_priority, photo_id, photo_sha256, FieldDocId, FieldEntry, FieldEntryBody,
    FieldLogDoc, FieldPart, FieldPhotoDoc, FieldStatus, PatrolReport, PositionPolicy,
    PositionThrottle, TrackDoc, UnitPack, UnitPackDoc, UnitPosition, FIELD_PHOTO_BYTES_MAX,
};
use sync::DomainError;

use crate::repo::WriteError;
use crate::settings::PositionSettings;
use crate::shift::{Shift, UnitRef};

/// Longest note, characters (the log's own check applies the node's limit too).
pub const NOTE_CHARS_MAX: usize = 2_000;

fn doc_id(unit: &UnitRef, part: FieldPart) -> Result<sync::DocId, WriteError> {
    FieldDocId::new(&unit.region, &unit.unit, part)
        .map(|id| id.doc_id())
        .ok_or_else(|| WriteError::Storage(format!("{} is not a valid unit", unit.key())))
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Waits until the write with `ticket` is on disk, then tells the sync.
async fn durable(shift: &Shift, ticket: u64, doc_id: &sync::DocId) -> Result<(), WriteError> {
    shift
        .gc
        .wait_async(ticket)
        .await
        .map_err(|e| WriteError::Storage(e.to_string()))?;
    shift.changed(&doc_id.to_string());
    Ok(())
}

/// What an officer asks the log to record.
#[derive(Debug, Clone)]
pub enum Action {
    Status {
        card_id: String,
        status: FieldStatus,
    },
    Report {
        card_id: String,
        report: PatrolReport,
    },
    Note {
        card_id: Option<String>,
        text: String,
    },
}

/// Checks a report in the standard format (R34) as the terminal writes it: its fields and size
/// (`PatrolReport::validate`), and that every photo it names is stored here.
pub fn check_report(
    shift: &Shift,
    unit: &UnitRef,
    report: &PatrolReport,
) -> Result<(), WriteError> {
    report.validate()?;
    let repo = lock(&shift.repo);
    for sha in &report.photos {
        let id = doc_id(
            unit,
            FieldPart::Photo {
                sha: photo_id(sha).to_string(),
            },
        )?;
        if repo.read::<FieldPhotoDoc>(&id)?.is_none() {
            return Err(WriteError::Domain(DomainError::rule_field(
                "photo_missing",
                "report.photos",
                "a photo the report names was not attached on this terminal",
            )));
        }
    }
    Ok(())
}

/// Appends an entry to the day's log at `now_ms` (the terminal's clock), durable on return.
pub async fn record(
    shift: &Shift,
    unit: &UnitRef,
    action: Action,
    now_ms: i64,
) -> Result<FieldEntry, WriteError> {
    let (card_id, body) = match action {
        Action::Status { card_id, status } => (Some(card_id), FieldEntryBody::Status { status }),
        Action::Report { card_id, report } => {
            check_report(shift, unit, &report)?;
            (Some(card_id), FieldEntryBody::Report { report })
        }
        Action::Note { card_id, text } => {
            if text.chars().count() > NOTE_CHARS_MAX {
                return Err(WriteError::Domain(DomainError::field(
                    "text",
                    format!("a note has at most {NOTE_CHARS_MAX} characters"),
                )));
            }
            (card_id, FieldEntryBody::Note { text })
        }
    };
    let entry = FieldEntry {
        id: uuid::Uuid::new_v4().to_string(),
        at_ms: now_ms,
        by: shift.officer(),
        card_id,
        body,
    };
    entry.validate(now_ms)?;
    let date = field_day(now_ms);
    let part = FieldPart::Log { date: date.clone() };
    let priority = field_priority(&part);
    let id = doc_id(unit, part)?;
    let ticket = lock(&shift.repo).write::<FieldLogDoc>(
        &id,
        priority,
        |actor| FieldLogDoc::create(actor, &unit.unit, &date),
        |log| log.append(&entry, now_ms),
    )?;
    durable(shift, ticket, &id).await?;
    Ok(entry)
}

/// The entries of the day's log (UTC+5) of `at_ms`, in writing order.
pub fn entries(shift: &Shift, unit: &UnitRef, at_ms: i64) -> Result<Vec<FieldEntry>, WriteError> {
    let id = doc_id(
        unit,
        FieldPart::Log {
            date: field_day(at_ms),
        },
    )?;
    match lock(&shift.repo).read::<FieldLogDoc>(&id)? {
        Some(log) => Ok(log.entries()?),
        None => Ok(Vec::new()),
    }
}

/// Stores a report photo (JPEG) in its own document; returns its SHA-256 (hex), which the
/// report names. The same photo twice is one document.
pub async fn store_photo(
    shift: &Shift,
    unit: &UnitRef,
    jpeg: Vec<u8>,
) -> Result<String, WriteError> {
    if jpeg.len() > FIELD_PHOTO_BYTES_MAX {
        return Err(WriteError::Domain(DomainError::rule_field(
            "photo_too_large",
            "photo",
            format!(
                "the photo is {} bytes; the limit is {FIELD_PHOTO_BYTES_MAX}",
                jpeg.len()
            ),
        )));
    }
    let sha = photo_sha256(&jpeg);
    let part = FieldPart::Photo {
        sha: photo_id(&sha).to_string(),
    };
    let priority = field_priority(&part);
    let id = doc_id(unit, part)?;
    let ticket = lock(&shift.repo).write::<FieldPhotoDoc>(
        &id,
        priority,
        |actor| FieldPhotoDoc::create(actor, &unit.unit, &jpeg).map(|(d, _)| d),
        |_| Ok(()),
    )?;
    durable(shift, ticket, &id).await?;
    Ok(sha)
}

/// A stored photo's bytes.
pub fn photo(shift: &Shift, unit: &UnitRef, sha: &str) -> Result<Option<Vec<u8>>, WriteError> {
    if sha.len() < sync::field::PHOTO_ID_HEX_CHARS || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let id = doc_id(
        unit,
        FieldPart::Photo {
            sha: photo_id(sha).to_string(),
        },
    )?;
    Ok(lock(&shift.repo)
        .read::<FieldPhotoDoc>(&id)?
        .and_then(|d| d.bytes()))
}

/// The policy of the position throttle from the terminal's settings.
pub fn position_policy(s: &PositionSettings) -> PositionPolicy {
    PositionPolicy {
        moving_interval_ms: s.moving_interval_ms,
        moving_distance_m: s.moving_distance_m,
        parked_interval_ms: s.parked_interval_ms,
    }
}

/// Offers a position fix from the UI: recorded in the day's track when the throttle takes it
/// (every 15 s or 10 m moving, every 120 s parked, by default). Returns whether it was.
pub async fn record_position(
    shift: &Shift,
    unit: &UnitRef,
    throttle: &std::sync::Mutex<Option<PositionThrottle>>,
    policy: PositionPolicy,
    fix: UnitPosition,
    now_ms: i64,
) -> Result<bool, WriteError> {
    fix.validate(now_ms)?;
    let date = field_day(fix.at_ms);
    let part = FieldPart::Track { date: date.clone() };
    let priority = field_priority(&part);
    let id = doc_id(unit, part)?;
    let ticket = {
        let mut repo = lock(&shift.repo);
        let mut throttle = lock(throttle);
        if throttle.is_none() {
            // After a restart the throttle continues from the last stored point.
            let last = repo.read::<TrackDoc>(&id)?.and_then(|t| t.latest());
            *throttle = Some(PositionThrottle::new(policy).with_last(last));
        }
        let Some(t) = throttle.as_mut() else {
            return Ok(false);
        };
        if !t.offer(&fix) {
            return Ok(false);
        }
        repo.write::<TrackDoc>(
            &id,
            priority,
            |actor| TrackDoc::create(actor, &unit.unit, &date),
            |track| track.append(&[fix], now_ms),
        )?
    };
    durable(shift, ticket, &id).await?;
    Ok(true)
}

/// What the terminal itself needs from the pack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PackInfo {
    pub revoked: bool,
    pub expires_at_ms: Option<i64>,
}

/// The unit's pack as the node last sent it (`None` before the first sync).
pub fn pack(shift: &Shift, unit: &UnitRef) -> Result<Option<UnitPack>, WriteError> {
    let id = doc_id(unit, FieldPart::Pack)?;
    match lock(&shift.repo).read::<UnitPackDoc>(&id)? {
        Some(doc) => Ok(Some(doc.view()?)),
        None => Ok(None),
    }
}

/// The revocation flag and shift end of the pack, when `doc_id` is this unit's pack.
pub fn read_pack(shift: &Shift, unit: &UnitRef, doc_id: &str) -> Option<PackInfo> {
    let parsed = FieldDocId::parse(doc_id)?;
    if parsed.part != FieldPart::Pack || parsed.unit != unit.unit || parsed.region != unit.region {
        return None;
    }
    match pack(shift, unit) {
        Ok(Some(p)) => p.meta.map(|m| PackInfo {
            revoked: m.revoked,
            expires_at_ms: Some(m.expires_at_ms),
        }),
        Ok(None) => None,
        Err(e) => {
            tracing::error!(error = %e, "the unit's pack is unreadable");
            None
        }
    }
}
