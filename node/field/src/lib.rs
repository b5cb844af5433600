//! The patrol's field terminal (`FieldTerminal`, the car's MDT): it works with no network at
//! all and syncs with its region's node over QUIC when it can.
//!
//! - [`vault`]: the encrypted store (the kit's `Store` with sealed values) and the data key
//!   wrapped per officer;
//! - [`login`]: the offline login attempt policy;
//! - [`online`]: the first login of an officer, confirmed by the node over HTTPS;
//! - [`repo`]: the replication protocol's view of the unit's documents in the store, and local
//!   writes to them;
//! - [`journal`]: what the officer does (statuses, reports, notes, photos, positions) as
//!   entries of the unit's documents, and the pack the node sent;
//! - [`shift`]: the logged-in officer's shift, the only holder of the data key;
//! - [`app`]: the running terminal: login, wipes, the link state;
//! - [`sync`]: the QUIC link to the node;
//! - [`http`]: the local UI and its JSON API; [`settings`] and [`server`]: config and the
//!   binary's work.
//!
//! Never in this crate: a second document store (the kit's `docs` is the one), the node's
//! services, or anything that needs the network to record what the officer did.

pub mod app;
pub mod http;
pub mod journal;
pub mod login;
pub mod online;
pub mod repo;
pub mod server;
pub mod settings;
pub mod shift;
pub mod sync;
pub mod vault;
