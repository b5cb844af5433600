//! Typed document identities: which region a replicated document belongs to, what kind it is and
//! its id within the kind.
//!
//! On the wire (the replication protocol's `doc_id`) and in storage keys a document is written
//! `{region}/{kind}/{id}`, e.g. `AST/card/5f0c…`. Every string that crosses a boundary is parsed
//! into a [`DocId`] once; the code behind the boundary matches on [`DocKind`], never on strings.

use std::fmt;

use thiserror::Error;

/// Region codes are 1 to this many upper-case latin letters.
pub const REGION_CODE_CHARS_MAX: usize = 8;
/// Longest id of a document within its kind, in bytes.
pub const DOC_LOCAL_ID_BYTES_MAX: usize = 64;

/// The region code of national documents: written at the central hub only, replicated to every
/// region. Not a region a node can be provisioned for.
pub const NATIONAL: &str = "KZ";

/// Who writes the documents of a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authorship {
    /// The central hub writes them (region [`NATIONAL`]); every node receives them read-only.
    National,
    /// Each region writes its own (HQ may edit them at the hub, as it notes on cards).
    Regional,
}

/// The kinds of replicated documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DocKind {
    /// A "102" card.
    Card,
    /// A patrol or duty unit.
    Unit,
    /// One day of the post roster.
    Roster,
    /// A region's reference data (districts, categories, duty units, street aliases, timing
    /// rules): one document per region, written by its node from its configuration.
    Reference,
    /// One year of the national working-day calendar (holidays, moved days off), written at
    /// the hub.
    Calendar,
    /// A citizen's appeal (обращение, сообщение, запрос, отклик, предложение), written by its
    /// region's node.
    Appeal,
    /// A field unit's own documents (status log, track, photos) and the pack its node writes
    /// for it: `AST/field/p01~…` ([`crate::field::FieldDocId`]).
    Field,
    /// A citizen's text conversation (Telegram, VKontakte, the web widget, e-mail) with the
    /// operators' answers, written by its region's node: `AST/conv/…`.
    Conversation,
    /// A knowledge-base article (R19), written at the hub by the central unit of its
    /// competence: `KZ/article/<id>` ([`crate::article::ArticleDoc`]).
    Article,
    /// A region's personal-reception schedule (`AST/reception/schedule`) and reception records
    /// with their ЛП-1 cards (`AST/reception/<id>`) ([`crate::reception::ReceptionDoc`]).
    Reception,
    /// A district inspector's report meeting (R22–R26): plan, notice, participants, protocol
    /// and follow-up (`AST/meeting/<id>`) ([`crate::meetings::MeetingDoc`]).
    Meeting,
}

impl DocKind {
    /// Every kind, in the order they were introduced.
    pub const ALL: [DocKind; 11] = [
        DocKind::Card,
        DocKind::Unit,
        DocKind::Roster,
        DocKind::Reference,
        DocKind::Calendar,
        DocKind::Appeal,
        DocKind::Field,
        DocKind::Conversation,
        DocKind::Article,
        DocKind::Reception,
        DocKind::Meeting,
    ];

    /// The name used on the wire and in storage keys.
    pub fn as_str(self) -> &'static str {
        match self {
            DocKind::Card => "card",
            DocKind::Unit => "unit",
            DocKind::Roster => "roster",
            DocKind::Reference => "reference",
            DocKind::Calendar => "calendar",
            DocKind::Appeal => "appeal",
            DocKind::Field => "field",
            DocKind::Conversation => "conv",
            DocKind::Article => "article",
            DocKind::Reception => "reception",
            DocKind::Meeting => "meeting",
        }
    }

    /// Who writes documents of this kind.
    pub fn authorship(self) -> Authorship {
        match self {
            DocKind::Card
            | DocKind::Unit
            | DocKind::Roster
            | DocKind::Reference
            | DocKind::Appeal
            | DocKind::Field
            | DocKind::Conversation
            | DocKind::Reception
            | DocKind::Meeting => Authorship::Regional,
            DocKind::Calendar | DocKind::Article => Authorship::National,
        }
    }

    /// The kind named `s`, if it is one.
    pub fn parse(s: &str) -> Option<DocKind> {
        DocKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for DocKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a string is not a document id.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DocIdError {
    #[error("document id {0:?} is not REGION/KIND/ID")]
    Shape(String),
    #[error("region code {0:?} is not 1 to {REGION_CODE_CHARS_MAX} upper-case latin letters")]
    Region(String),
    #[error("unknown document kind {0:?}")]
    Kind(String),
    #[error("document id {0:?} is empty, longer than {DOC_LOCAL_ID_BYTES_MAX} bytes or holds '/'")]
    Id(String),
    #[error("region {region:?} cannot hold {kind} documents: national documents are region {NATIONAL}, a region's are its own")]
    Authorship { kind: DocKind, region: String },
}

/// 1–[`REGION_CODE_CHARS_MAX`] upper-case latin letters.
pub fn is_region_code(region: &str) -> bool {
    !region.is_empty()
        && region.len() <= REGION_CODE_CHARS_MAX
        && region.chars().all(|c| c.is_ascii_uppercase())
}

/// A replicated document: its region, kind and id within the kind.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DocId {
    region: String,
    kind: DocKind,
    id: String,
}

impl DocId {
    /// A document id from its parts, checked like [`DocId::parse`].
    pub fn new(region: &str, kind: DocKind, id: &str) -> Result<DocId, DocIdError> {
        if !is_region_code(region) {
            return Err(DocIdError::Region(region.to_string()));
        }
        if id.is_empty() || id.len() > DOC_LOCAL_ID_BYTES_MAX || id.contains('/') {
            return Err(DocIdError::Id(id.to_string()));
        }
        let national = region == NATIONAL;
        if national != (kind.authorship() == Authorship::National) {
            return Err(DocIdError::Authorship {
                kind,
                region: region.to_string(),
            });
        }
        Ok(DocId {
            region: region.to_string(),
            kind,
            id: id.to_string(),
        })
    }

    /// Parses `REGION/KIND/ID` (the protocol's document id).
    pub fn parse(s: &str) -> Result<DocId, DocIdError> {
        let mut parts = s.splitn(3, '/');
        let (Some(region), Some(kind), Some(id)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(DocIdError::Shape(s.to_string()));
        };
        let kind = DocKind::parse(kind).ok_or_else(|| DocIdError::Kind(kind.to_string()))?;
        DocId::new(region, kind, id)
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    pub fn kind(&self) -> DocKind {
        self.kind
    }

    /// A national document (written at the hub only).
    pub fn is_national(&self) -> bool {
        self.kind.authorship() == Authorship::National
    }

    /// The id within the kind (a card's uuid, a unit's id, a roster's date).
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl fmt::Display for DocId {
    /// The protocol's document id, `REGION/KIND/ID`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.region, self.kind.as_str(), self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_id_round_trips_through_its_wire_form() {
        let id = DocId::parse("AST/card/5f0c9e1a-0000-4000-8000-000000000001").unwrap();
        assert_eq!(id.region(), "AST");
        assert_eq!(id.kind(), DocKind::Card);
        assert_eq!(id.id(), "5f0c9e1a-0000-4000-8000-000000000001");
        assert_eq!(DocId::parse(&id.to_string()).unwrap(), id);
        assert_eq!(
            DocId::parse("ALA/roster/2026-12-04").unwrap().kind(),
            DocKind::Roster
        );
        let calendar = DocId::parse("KZ/calendar/2026").unwrap();
        assert!(calendar.is_national());
        assert!(!DocId::parse("ALA/reference/region").unwrap().is_national());
    }

    #[test]
    fn malformed_document_ids_are_refused_with_the_reason() {
        assert!(matches!(
            DocId::parse("AST/card"),
            Err(DocIdError::Shape(_))
        ));
        assert!(matches!(
            DocId::parse("ast/card/x"),
            Err(DocIdError::Region(_))
        ));
        assert!(matches!(
            DocId::parse("ABCDEFGHI/card/x"),
            Err(DocIdError::Region(_))
        ));
        assert!(matches!(
            DocId::parse("AST/calendar/2026"),
            Err(DocIdError::Authorship { .. })
        ));
        assert!(matches!(
            DocId::parse("KZ/card/x"),
            Err(DocIdError::Authorship { .. })
        ));
        assert!(matches!(
            DocId::parse("AST/nosuchkind/x"),
            Err(DocIdError::Kind(_))
        ));
        // Articles are national: written at the hub only.
        assert!(matches!(
            DocId::parse("AST/article/x"),
            Err(DocIdError::Authorship { .. })
        ));
        assert!(DocId::parse("KZ/article/lost-id-card").is_ok_and(|d| d.is_national()));
        // Reception documents are a region's own.
        assert!(
            DocId::parse("AST/reception/schedule").is_ok_and(|d| d.kind() == DocKind::Reception)
        );
        assert!(matches!(
            DocId::parse("KZ/reception/schedule"),
            Err(DocIdError::Authorship { .. })
        ));
        // Report meetings are a region's own.
        assert!(DocId::parse("AST/meeting/m-1").is_ok_and(|d| d.kind() == DocKind::Meeting));
        assert!(matches!(
            DocId::parse("KZ/meeting/m-1"),
            Err(DocIdError::Authorship { .. })
        ));
        assert!(matches!(DocId::parse("AST/card/"), Err(DocIdError::Id(_))));
        assert!(matches!(
            DocId::parse("AST/card/a/b"),
            Err(DocIdError::Id(_))
        ));
        assert!(matches!(
            DocId::parse(&format!("AST/card/{}", "x".repeat(65))),
            Err(DocIdError::Id(_))
        ));
    }
}
