//! The patrol's field terminal (`FieldTerminal`, the car's MDT): it works with no network at
//! all and syncs with its region's node over QUIC when it can.
//!
//! - [`vault`]: the encrypted store (the kit's `Store` with sealed values) and the data key
//!   wrapped per officer;
//! - [`login`]: the offline login attempt policy;
//! - [`online`]: the first login of an officer, confirmed by the node over HTTPS;
//! - [`repo`]: the replication protocol's view of the unit's documents in the store.

pub mod login;
pub mod online;
pub mod repo;
pub mod vault;
