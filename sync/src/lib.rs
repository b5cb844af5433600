//! Sans-IO replicated domain model of the 102 system.
//!
//! No tokio, sockets, clocks or sled here: time comes in as [`Ctx::now_ms`], actor ids (the
//! replica's randomness) come in as arguments, and documents go in and out as bytes. The node,
//! later the central hub and field units, drive the same code.
//!
//! Documents: one automerge document per card ([`CardDoc`]) and per unit ([`UnitDoc`]), one per
//! roster day ([`RosterDoc`]). Merge rules for concurrent edits on different replicas:
//! - card status is a lattice: the stage furthest along wins (`CardStatus` order); terminal
//!   states rank above working ones, `Closed` > `LinkedDuplicate` > `Cancelled`;
//! - the timeline is append-only; concurrent events both survive in the same order everywhere;
//! - unit assignments form an add/remove set keyed by unit id (add wins);
//! - other scalar fields are last-writer-wins per field, with the writer recorded.

pub mod address;
pub mod appeal;
pub mod article;
pub mod calendar;
pub mod caller;
pub mod card;
pub mod closest;
pub mod conversation;
pub mod deadline;
pub mod doc;
pub mod doc_id;
pub mod duplicates;
pub mod error;
pub mod field;
pub mod forms;
pub mod geo;
pub mod meetings;
pub mod model;
pub mod protocol;
pub mod published;
pub mod reception;
pub mod reference;
pub mod report_1ol;
pub mod role;
pub mod roster;
pub mod unit;

pub use appeal::{AppealCommand, AppealDoc};
pub use caller::{clean_text, normalize_caller, normalize_phone};
pub use card::{CardCommand, CardDoc, Finish, UnitStep};
pub use doc::{Ctx, Document};
pub use doc_id::{Authorship, DocId, DocIdError, DocKind, NATIONAL};
pub use error::DomainError;
pub use model::*;
pub use published::PublishedDoc;
pub use reference::Reference;
pub use role::Role;
pub use roster::RosterDoc;
pub use unit::UnitDoc;
