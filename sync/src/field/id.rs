//! Which field document an id names, and who may write it.
//!
//! A unit's field documents are regional documents of kind `field` whose local id starts with
//! the unit id: `AST/field/p01~log~2026-12-05`. The protocol gives a unit's terminal only these
//! (authority by document: automerge sends a document's whole history, so a terminal writes
//! whole documents of its own rather than fields of the node's cards).

use crate::doc_id::{is_region_code, DocId, DocKind};
use crate::roster::validate_date;

/// Longest unit id, characters (`provisioning add-unit` issues certificates for these).
pub const UNIT_ID_CHARS_MAX: usize = 16;

/// Whether `id` can be a unit id in field documents and unit certificates: 1 to
/// [`UNIT_ID_CHARS_MAX`] latin letters, digits, `-` or `_`.
pub fn is_unit_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= UNIT_ID_CHARS_MAX
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// What a field document holds.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FieldPart {
    /// The unit's status changes, reports and notes of one day (UTC+5), written by its terminal.
    Log { date: String },
    /// The unit's positions of one day (UTC+5), written by its terminal.
    Track { date: String },
    /// One report photo, written by the terminal; `sha` is the first 32 hex digits of its SHA-256.
    Photo { sha: String },
    /// The offline safety pack the node writes for the unit: its assignments, their address
    /// warnings and earlier cards, its post. The terminal only reads it.
    Pack,
}

/// Hex digits of a photo's SHA-256 in its document id (128 bits).
pub const PHOTO_ID_HEX_CHARS: usize = 32;

impl FieldPart {
    /// Whether the unit's terminal writes this document (everything but the pack).
    pub fn written_by_unit(&self) -> bool {
        !matches!(self, FieldPart::Pack)
    }

    fn suffix(&self) -> String {
        match self {
            FieldPart::Log { date } => format!("log~{date}"),
            FieldPart::Track { date } => format!("pos~{date}"),
            FieldPart::Photo { sha } => format!("photo~{sha}"),
            FieldPart::Pack => "pack".into(),
        }
    }

    fn parse(s: &str) -> Option<FieldPart> {
        if s == "pack" {
            return Some(FieldPart::Pack);
        }
        let (what, arg) = s.split_once('~')?;
        match what {
            "log" => validate_date(arg)
                .ok()
                .map(|_| FieldPart::Log { date: arg.into() }),
            "pos" => validate_date(arg)
                .ok()
                .map(|_| FieldPart::Track { date: arg.into() }),
            "photo" => (arg.len() == PHOTO_ID_HEX_CHARS
                && arg
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
            .then(|| FieldPart::Photo { sha: arg.into() }),
            _ => None,
        }
    }
}

/// A field document's id, parsed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FieldDocId {
    pub region: String,
    pub unit: String,
    pub part: FieldPart,
}

impl FieldDocId {
    /// `None` for a region or unit id that cannot be one.
    pub fn new(region: &str, unit: &str, part: FieldPart) -> Option<FieldDocId> {
        (is_region_code(region) && is_unit_id(unit)).then(|| FieldDocId {
            region: region.into(),
            unit: unit.into(),
            part,
        })
    }

    /// Parses `AST/field/p01~log~2026-12-05`; anything else (another kind, a malformed part) is
    /// `None`.
    pub fn parse(doc_id: &str) -> Option<FieldDocId> {
        let id = DocId::parse(doc_id).ok()?;
        if id.kind() != DocKind::Field {
            return None;
        }
        let (unit, part) = id.id().split_once('~')?;
        if !is_unit_id(unit) {
            return None;
        }
        Some(FieldDocId {
            region: id.region().to_string(),
            unit: unit.to_string(),
            part: FieldPart::parse(part)?,
        })
    }

    pub fn doc_id(&self) -> DocId {
        DocId::new(
            &self.region,
            DocKind::Field,
            &format!("{}~{}", self.unit, self.part.suffix()),
        )
        .expect("region, unit and part were validated")
    }
}

impl std::fmt::Display for FieldDocId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.doc_id().fmt(f)
    }
}

/// The prefix every field document of a unit's id starts with: `AST/field/p01~`.
pub fn field_doc_prefix(region: &str, unit: &str) -> String {
    format!("{region}/{}/{unit}~", DocKind::Field.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_say_who_writes() {
        for part in [
            FieldPart::Log {
                date: "2026-12-05".into(),
            },
            FieldPart::Track {
                date: "2026-12-05".into(),
            },
            FieldPart::Photo {
                sha: "0123456789abcdef0123456789abcdef".into(),
            },
            FieldPart::Pack,
        ] {
            let id = FieldDocId::new("AST", "p01", part.clone()).unwrap();
            let s = id.to_string();
            assert!(s.starts_with(&field_doc_prefix("AST", "p01")), "{s}");
            assert_eq!(FieldDocId::parse(&s), Some(id));
            assert_eq!(part.written_by_unit(), part != FieldPart::Pack);
        }
    }

    #[test]
    fn malformed_ids_are_not_field_documents() {
        for s in [
            "AST/card/p01~pack",
            "AST/field/p01",
            "AST/field/p01~log~2026-13-01",
            "AST/field/p01~photo~XYZ",
            "AST/field/p 1~pack",
            "AST/field/~pack",
            "AST/field/p01~other",
        ] {
            assert_eq!(FieldDocId::parse(s), None, "{s}");
        }
        assert!(FieldDocId::new("AST", "p01/x", FieldPart::Pack).is_none());
        assert!(!is_unit_id("a-very-long-unit-id-x"));
    }
}
