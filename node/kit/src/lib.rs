//! Server parts the regional node and the central hub share, so that the hub never depends on
//! the node application: the key-value store with its group commit, the tamper-evident audit
//! chain, accounts and sessions, the HTTPS web listener, layered TOML config, the one read of the
//! wall clock, and the browser kit (`assets/kit/`: ES modules both web front ends import).
//!
//! It lives under `node/` because the node is where these parts were built and the owner fixed
//! the repository's top level; it is its own crate so that `central` links it without the node's
//! calls, media, warnings or console.

pub mod account_api;
pub mod accounts;
pub mod assets;
pub mod audit;
pub mod backup;
pub mod clock;
pub mod config;
pub mod docs;
pub mod heads;
pub mod https;
pub mod metrics;
pub mod migrate;
pub mod process;
pub mod replication;
pub mod report_xlsx;
pub mod shutdown;
pub mod store;
pub mod tiles;
pub mod web;
