//! `central`: the МВД headquarters hub (R20 exchange with the regions, R21 one national picture).
//!
//! Regional nodes connect over QUIC with mutual TLS (`provisioning::tls`); each connection drives
//! the sans-IO `sync::protocol::Session` through `server_kit::replication::drive` over [`repo::CentralRepo`],
//! which keeps every region's documents as bytes in the same sled store the node uses
//! (`server_kit::store`) and maintains, in the same write batches, the national index ([`national`]:
//! per-region counters, open-card queues, calls per hour and day, delay histograms) that keeps
//! every dashboard query O(regions + answer). [`http`] serves the HQ dashboard, the API with its
//! OpenAPI document, and [`metrics`].
//! *Knows nothing about* a region's accounts, units' dispatch rules or consoles: it stores and
//! summarises what regions replicate, and writes HQ notes that flow back.

pub mod appeal_dups;
pub mod appeal_reads;
pub mod appeals;
pub mod appeals_http;
pub mod config;
pub mod field_positions;
pub mod http;
pub mod http_errors;
pub mod http_state;
pub mod hub;
pub mod kb;
pub mod kb_http;
pub mod meetings;
pub mod meetings_http;
pub mod metrics;
pub mod national;
pub mod picture;
pub mod references;
pub mod repo;
pub mod report_1ol;
pub mod report_1ol_http;
pub mod server;
pub mod service;
