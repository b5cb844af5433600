//! `central`: the МВД headquarters hub (R20 exchange, R21 national picture).
//!
//! Not built yet: the replication spine (QUIC + mutual TLS, batched automerge sync) and the HQ
//! dashboard arrive with the replication issue. It will reuse `sync` for documents and merge
//! rules and `node::store` for storage. This crate deliberately has no code until then, so that
//! nothing here pretends to work.
