//! The protocol's shared vocabulary: versions, who is at each end ([`Authority`]), a document's
//! replication [`Priority`], and heads in canonical order. The frame codec, the catalogue and the
//! session all use these; this module uses none of them.

use std::fmt;

use automerge::ChangeHash;

/// Oldest protocol version this build speaks.
pub const VERSION_MIN: u16 = 1;
/// Newest protocol version this build speaks.
pub const VERSION_MAX: u16 = 5;
/// First version whose Docs batches may travel deflated (DOCZ frames, see [`wire`](super::wire)).
pub const VERSION_DEFLATED_DOCS: u16 = 3;
/// First version in which the hub sends national documents (region
/// [`NATIONAL`](crate::doc_id::NATIONAL)) to nodes. An older node would refuse them as another
/// region's, so the hub does not offer them below this version.
pub const VERSION_NATIONAL_DOCS: u16 = 4;
/// First version in which a node may open further streams on the connection for the national
/// duplicate check (R38, [`dup_query`](super::dup_query)); the frames are unchanged. An older
/// hub accepts no second stream, so a node never opens one below this version.
pub const VERSION_DUPLICATE_QUERY: u16 = 5;

/// Who is at one end of a connection, as its certificate says.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Authority {
    /// The national hub (HQ): may write any region's documents.
    Central,
    /// A regional node: may write only its region's documents.
    Region(String),
    /// A field unit's terminal (FieldTerminal): may write only its own field documents
    /// (`REGION/field/<unit>~…`, never the `~pack` its node writes for it), and talks only to its
    /// region's node.
    Unit { region: String, unit: String },
}

impl fmt::Display for Authority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Authority::Central => write!(f, "central"),
            Authority::Region(r) => write!(f, "region:{r}"),
            Authority::Unit { region, unit } => write!(f, "unit:{region}:{unit}"),
        }
    }
}

/// Replication priority, supplied by the host per document. Lower goes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// Open cards, dispatch: what a dispatcher is looking at now.
    Active = 0,
    /// Other edits.
    Normal = 1,
    /// Closed and archived documents.
    Archived = 2,
}

impl Priority {
    pub fn from_u8(v: u8) -> Option<Priority> {
        match v {
            0 => Some(Priority::Active),
            1 => Some(Priority::Normal),
            2 => Some(Priority::Archived),
            _ => None,
        }
    }
}

/// Heads in one canonical order, so equal sets compare equal.
pub fn normalize_heads(mut heads: Vec<ChangeHash>) -> Vec<ChangeHash> {
    heads.sort_unstable();
    heads.dedup();
    heads
}
