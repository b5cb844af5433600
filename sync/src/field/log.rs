//! A unit's field log of one day: status changes, reports and notes its terminal wrote, each
//! with the terminal's time of writing (the original time: it may reach the node hours later).
//!
//! An append-only automerge list of JSON entries, written only by the unit's terminal. The node
//! applies entries onto the cards they name, each once (by entry id), in time order.

use automerge::{transaction::Transactable, ActorId, AutoCommit, ObjType, ReadDoc, ROOT};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::report::PatrolReport;
use crate::doc::{check_text, get_obj, get_str, Document};
use crate::error::DomainError;
use crate::model::limits;

pub const FIELD_LOG_SCHEMA_VERSION: i64 = 1;
/// Most entries in one unit's log of one day.
pub const FIELD_LOG_ENTRIES_PER_DAY_MAX: usize = 5_000;
/// How far ahead of the receiver's clock an entry or position may be dated (terminal clocks
/// drift; GNSS time does not), ms.
pub const FIELD_CLOCK_AHEAD_MS_MAX: i64 = 5 * 60 * 1000;
/// Entries dated before this (2020-01-01 UTC) are refused: a terminal whose clock was reset.
pub const FIELD_TIME_MIN_MS: i64 = 1_577_836_800_000;
/// Longest entry id (a UUID is 36), characters.
pub const FIELD_ENTRY_ID_CHARS_MAX: usize = 64;

/// A status the patrol taps on its terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldStatus {
    /// The dispatch order was seen.
    Acknowledged,
    EnRoute,
    OnScene,
    /// The patrol asks for backup.
    NeedBackup,
    /// Finished with the card.
    Cleared,
}

impl FieldStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            FieldStatus::Acknowledged => "acknowledged",
            FieldStatus::EnRoute => "en_route",
            FieldStatus::OnScene => "on_scene",
            FieldStatus::NeedBackup => "need_backup",
            FieldStatus::Cleared => "cleared",
        }
    }
}

/// What an entry says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FieldEntryBody {
    Status { status: FieldStatus },
    Report { report: PatrolReport },
    Note { text: String },
}

/// One entry of a unit's field log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FieldEntry {
    /// Unique id (UUID v4), so that an entry is applied once however often it arrives.
    pub id: String,
    /// When the officer wrote it, by the terminal's clock, ms since the epoch.
    pub at_ms: i64,
    /// The officer's login.
    pub by: String,
    /// The card it is about; every status and report names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_id: Option<String>,
    pub body: FieldEntryBody,
}

/// Checks a time written by a terminal against the receiver's clock.
pub fn check_field_time(field: &str, at_ms: i64, now_ms: i64) -> Result<(), DomainError> {
    if at_ms < FIELD_TIME_MIN_MS {
        return Err(DomainError::rule_field(
            "field_time_too_old",
            field,
            "the time is before 2020: the terminal's clock is wrong",
        ));
    }
    if at_ms > now_ms.saturating_add(FIELD_CLOCK_AHEAD_MS_MAX) {
        return Err(DomainError::rule_field(
            "field_time_in_future",
            field,
            format!(
                "the time is {} s ahead of the clock here; at most {} s is accepted",
                (at_ms - now_ms) / 1000,
                FIELD_CLOCK_AHEAD_MS_MAX / 1000
            ),
        ));
    }
    Ok(())
}

impl FieldEntry {
    /// Checks an entry before it is written (terminal) or applied (node).
    pub fn validate(&self, now_ms: i64) -> Result<(), DomainError> {
        check_text("id", &self.id, FIELD_ENTRY_ID_CHARS_MAX, true)?;
        check_text("by", &self.by, limits::CODE_CHARS_MAX, true)?;
        check_field_time("at_ms", self.at_ms, now_ms)?;
        if let Some(c) = &self.card_id {
            check_text("card_id", c, limits::CODE_CHARS_MAX, true)?;
        }
        match &self.body {
            FieldEntryBody::Status { .. } | FieldEntryBody::Report { .. }
                if self.card_id.is_none() =>
            {
                Err(DomainError::field(
                    "card_id",
                    "a status or report names its card",
                ))
            }
            FieldEntryBody::Report { report } => report.validate(),
            FieldEntryBody::Note { text } => check_text("text", text, limits::NOTE_CHARS_MAX, true),
            FieldEntryBody::Status { .. } => Ok(()),
        }
    }
}

/// A unit's field log of one day.
pub struct FieldLogDoc {
    doc: AutoCommit,
}

impl Document for FieldLogDoc {
    const SCHEMA_VERSION: i64 = FIELD_LOG_SCHEMA_VERSION;
    const KIND: &'static str = "field log";
    fn wrap(doc: AutoCommit) -> Self {
        FieldLogDoc { doc }
    }
    fn automerge(&mut self) -> &mut AutoCommit {
        &mut self.doc
    }
}

impl FieldLogDoc {
    pub fn create(actor: ActorId, unit: &str, date: &str) -> Result<FieldLogDoc, DomainError> {
        let mut doc = AutoCommit::new().with_actor(actor);
        doc.put(ROOT, "v", FIELD_LOG_SCHEMA_VERSION)?;
        doc.put(ROOT, "unit", unit)?;
        doc.put(ROOT, "date", date)?;
        doc.put_object(ROOT, "entries", ObjType::List)?;
        doc.commit();
        Ok(FieldLogDoc { doc })
    }

    pub fn unit(&self) -> Option<String> {
        get_str(&self.doc, &ROOT, "unit")
    }

    /// Appends a validated entry (one automerge change). An entry id already present is not
    /// written again.
    pub fn append(&mut self, entry: &FieldEntry, now_ms: i64) -> Result<(), DomainError> {
        entry.validate(now_ms)?;
        let existing = self.entries()?;
        if existing.iter().any(|e| e.id == entry.id) {
            return Ok(());
        }
        if existing.len() >= FIELD_LOG_ENTRIES_PER_DAY_MAX {
            return Err(DomainError::rule(
                "field_log_full",
                format!("a unit's log holds at most {FIELD_LOG_ENTRIES_PER_DAY_MAX} entries a day"),
            ));
        }
        let list = get_obj(&self.doc, &ROOT, "entries")?;
        let json =
            serde_json::to_string(entry).map_err(|e| DomainError::field("entry", e.to_string()))?;
        let at = self.doc.length(&list);
        self.doc.insert(&list, at, json)?;
        self.doc.commit();
        Ok(())
    }

    /// Every entry, in list order (the terminal's writing order; a node sorts by time).
    pub fn entries(&self) -> Result<Vec<FieldEntry>, DomainError> {
        let list = get_obj(&self.doc, &ROOT, "entries")?;
        let mut out = Vec::new();
        for item in self.doc.list_range(&list, ..) {
            let v = automerge::Value::from(item.value);
            let s = v.as_str().ok_or_else(|| {
                DomainError::CorruptDocument("field log entry is not text".into())
            })?;
            out.push(
                serde_json::from_str(s).map_err(|e| DomainError::CorruptDocument(e.to_string()))?,
            );
        }
        Ok(out)
    }
}
