//! Field units (патрульные наряды) and their terminals (FieldTerminal): the documents a unit's
//! terminal writes — its status log, track and report photos — and the offline safety pack its
//! node writes for it.
//!
//! Authority is by document: a terminal writes only its own unit's documents
//! (`AST/field/p01~…`, [`FieldDocId`]) and the node applies what they say onto the cards, with
//! the original times; the protocol ([`crate::protocol`], [`crate::protocol::Authority::Unit`])
//! refuses anything else from a unit.

pub(crate) mod id;
mod log;
mod pack;
mod photo;
pub(crate) mod report;
mod throttle;
mod track;

pub use id::{
    field_doc_prefix, is_unit_id, FieldDocId, FieldPart, PHOTO_ID_HEX_CHARS, UNIT_ID_CHARS_MAX,
};
pub use log::{
    check_field_time, FieldEntry, FieldEntryBody, FieldLogDoc, FieldStatus,
    FIELD_CLOCK_AHEAD_MS_MAX, FIELD_LOG_ENTRIES_PER_DAY_MAX, FIELD_TIME_MIN_MS,
};
pub use pack::{
    Assignment, EarlierCard, PackMeta, PackWarning, PostView, UnitPack, UnitPackDoc,
    PACK_ASSIGNMENTS_MAX, PACK_EARLIER_CARDS_MAX, PACK_WARNINGS_MAX,
};
pub use photo::{photo_id, photo_sha256, FieldPhotoDoc, FIELD_PHOTO_BYTES_MAX};
pub use report::{
    CardPatrolReport, PatrolReport, PersonRole, ReportOutcome, ReportPerson, ReportVehicle,
    PATROL_REPORT_BYTES_MAX,
};
pub use throttle::{PositionPolicy, PositionThrottle};
pub use track::{decode_point, encode_point, TrackDoc, UnitPosition, TRACK_POINTS_PER_DAY_MAX};

/// Replication priority of a field document over a bad link: dispatch orders (the pack) and
/// statuses first, then positions, then photos.
pub fn field_priority(part: &FieldPart) -> crate::protocol::Priority {
    use crate::protocol::Priority;
    match part {
        FieldPart::Pack | FieldPart::Log { .. } => Priority::Active,
        FieldPart::Track { .. } => Priority::Normal,
        FieldPart::Photo { .. } => Priority::Archived,
    }
}

/// The day (UTC+5, `YYYY-MM-DD`) a time falls on: which log and track document it goes in.
pub fn field_day(at_ms: i64) -> String {
    crate::calendar::Day::from_ms(at_ms, crate::calendar::KZ_UTC_OFFSET_MIN).to_string()
}

#[cfg(test)]
mod tests;
