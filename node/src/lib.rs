//! The regional ЦОУ node: storage, accounts, audit, address warnings, the card service, the HTTP
//! API and the embedded operator console. `main.rs` only parses arguments and calls into here.

pub mod appeals;
pub mod bundle;
pub mod caller_location;
pub mod calls;
pub mod channels;
pub mod cli;
pub mod config;
pub mod conversations;
pub mod field;
pub mod geo;
pub mod health;
pub mod http;
pub mod kb;
pub mod kinds;
pub mod live;
pub mod meetings;
pub mod metrics;
pub mod privacy;
pub mod published;
pub mod reception;
pub mod replication;
pub mod search;
pub mod server;
pub mod service;
pub mod service_error;
pub mod state_register;
pub mod supervision;
pub mod training;
pub mod warnings;

// Shared with the central hub (the `server-kit` crate); re-exported so paths stay `node::store`.
pub use server_kit::{account_api, accounts, audit, https, store};
