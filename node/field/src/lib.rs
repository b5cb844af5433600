//! The patrol's field terminal (`FieldTerminal`, the car's MDT): it works with no network at
//! all and syncs with its region's node over QUIC when it can.
//!
//! - [`vault`]: the encrypted store (the kit's `Store` with sealed values) and the data key
//!   wrapped per officer;
//! - [`login`]: the offline login attempt policy.

pub mod login;
pub mod vault;
