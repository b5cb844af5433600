//! `provisioning`: the installer's tool — private CA, region bundles (node certificate and key,
//! config, reference data, first-admin secret), revocation.
//!
//! Not built yet: it arrives with the replication issue, together with mutual TLS. No code until
//! then.
