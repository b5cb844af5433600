//! The node's side of its field units (FieldTerminal): the documents their terminals write
//! (status logs, tracks, report photos) and the offline safety pack it writes for each unit,
//! the units' latest positions (AVL) for the map, and their tracks for replay.
//!
//! Field documents are stored like every document (one kind through [`crate::kinds::field`]);
//! what their entries mean for cards is applied by the card service, which owns the cards.
//! Terminals reach this through the field QUIC listener ([`listener`]); the hub gets the same
//! documents through the region's replication like any other.

pub mod listener;
pub mod pack;
pub mod packs;
pub mod store;

pub use store::{FieldImport, FieldService};
