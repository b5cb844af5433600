//! `central`: the МВД headquarters hub (R20 exchange with the regions, R21 one national picture).
//!
//! Regional nodes connect over QUIC with mutual TLS (`provisioning::tls`); each connection drives
//! the sans-IO `sync::protocol::Session` through `node::replication::drive` over [`repo::CentralRepo`],
//! which keeps every region's documents as bytes in the same sled store the node uses
//! (`node::store`) and maintains the national card index. [`http`] serves the HQ dashboard and API.
//! *Knows nothing about* a region's accounts, units' dispatch rules or consoles: it stores and
//! summarises what regions replicate, and writes HQ notes that flow back.

pub mod config;
pub mod http;
pub mod hub;
pub mod repo;
pub mod server;
