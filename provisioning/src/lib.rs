//! `provisioning`: the installer's tool — a private certificate authority (CA) for the МВД "102"
//! network, region and central bundles, verification and revocation.
//!
//! Every region's node and the МВД central hub talk over QUIC with mutual TLS against the CA that
//! this crate creates. The central takes a peer's region from its certificate (the URI SAN
//! `urn:mvd102:region:AST`, see [`region_of`]), never from messages, so a certificate is the
//! region's identity and [`revoke`] is how HQ withdraws it.
//!
//! Layout on disk:
//!
//! - a **CA directory** (`init-ca`): `ca.key` (0600), `ca.crt`, `issued.json` (every certificate
//!   the CA signed), `revoked.json` (the revocation record) and `crl.pem` (an X.509 CRL signed by
//!   the CA that the central loads with [`RevocationList::from_pem`]);
//! - a **bundle directory** (`add-region`, `add-central`): the CA certificate, the peer's
//!   certificate and key (0600), a web (HTTPS) certificate and key (0600) for the console or
//!   dashboard, a config overlay, for a region the first-admin secret, a copy of the CA's
//!   `crl.pem`, and `bundle.json`, a manifest with the SHA-256 of every file, checked by
//!   [`verify_bundle`];
//! - a **unit bundle** (`add-unit`) for one field unit's terminal: the CA certificate, a
//!   client-only certificate `urn:mvd102:unit:AST:p01` ([`unit_of`]) and its key (0600),
//!   `terminal.toml` (the node's field address and name) and `bundle.json`.
//!
//! Time and randomness are parameters (`now`, `rng`) so tests can issue expired or not-yet-valid
//! certificates and replay runs; only key generation draws from the operating system directly
//! (inside `ring`).
//!
//! [`tls`] turns an identity into rustls/quinn client and server configurations with mutual TLS
//! (TLS 1.3, the CA as the only trust anchor, the CRL checked at the handshake) — for the
//! node↔central link and for the node↔terminal field link — and reads a connected peer's region
//! or unit. *Knows nothing about* opening sockets, sled or the node's internals:
//! the node and the central load what this crate writes and open their own endpoints.

mod bundle;
mod ca;
mod crl;
mod error;
mod fsio;
mod identity;
pub mod manifest;
mod pki;
mod problem;
pub mod progress;
pub mod reference;
mod revoke;
pub mod settings;
pub mod tls;
mod unit;
mod verify;

pub use bundle::{
    add_central, add_region, add_region_with_options, add_region_with_reference, BundleSummary,
    CentralOverlay, NodeOverlay, OverlayCentralAddress, OverlayCentralName, OverlayField,
    OverlayHttps, OverlayReference, OverlayRegion, OverlayTls, RegionOptions,
};
pub use ca::{init_ca, CaSummary, IssuedCert, IssuedRegistry};
pub use crl::{RevocationRecord, RevokedEntry};
pub use error::{Error, Result};
pub use identity::{
    load_identity, load_identity_at, load_unit_identity, load_unit_identity_at, load_web_identity,
    load_web_identity_at, Identity, UnitIdentity, WebIdentity,
};
pub use pki::{region_of, role_of, unit_name, unit_of, Role};
pub use problem::Problem;
pub use revoke::{is_revoked, refresh_crl, revoke, RevocationList, RevokeSummary, RevokeTarget};
pub use settings::region_server_name;
pub use unit::{add_unit, OverlayNode, OverlayUnit, TerminalOverlay, UnitBundleSummary};
pub use verify::{verify_bundle, VerifiedBundle};

/// Names of the files in a CA directory.
pub mod ca_files {
    /// The CA's private key (PKCS#8 PEM, mode 0600).
    pub const KEY: &str = "ca.key";
    /// The CA's self-signed certificate (PEM, mode 0644).
    pub const CERT: &str = "ca.crt";
    /// Every certificate the CA signed (JSON).
    pub const ISSUED: &str = "issued.json";
    /// The revocation record (JSON).
    pub const REVOKED: &str = "revoked.json";
    /// The X.509 certificate revocation list signed by the CA (PEM).
    pub const CRL: &str = "crl.pem";
    /// Held while a command changes the CA directory, so two runs never interleave.
    pub const LOCK: &str = "ca.lock";
}

/// Names of the files in a bundle directory.
pub mod bundle_files {
    /// The CA certificate the peer trusts.
    pub const CA_CERT: &str = "ca.crt";
    /// A region node's certificate.
    pub const NODE_CERT: &str = "node.crt";
    /// A region node's private key (mode 0600).
    pub const NODE_KEY: &str = "node.key";
    /// A region node's config overlay.
    pub const NODE_CONFIG: &str = "node.toml";
    /// A region's reference data (districts, categories, duty units, units), when the installer
    /// gave one with `add-region --reference`; the node applies it after `node.toml`.
    pub const REFERENCE: &str = "reference.toml";
    /// A region's first-admin password (mode 0600).
    pub const BOOTSTRAP_SECRET: &str = "bootstrap.secret";
    /// The central's certificate.
    pub const CENTRAL_CERT: &str = "central.crt";
    /// The central's private key (mode 0600).
    pub const CENTRAL_KEY: &str = "central.key";
    /// The central's config overlay.
    pub const CENTRAL_CONFIG: &str = "central.toml";
    /// The web (HTTPS) certificate of a node's console or the central's dashboard, for the names
    /// operators' browsers open; issued by the bundle's CA, TLS server authentication only, no
    /// mvd102 role (manifest format version 2 and later).
    pub const WEB_CERT: &str = "web.crt";
    /// The web certificate's private key (mode 0600).
    pub const WEB_KEY: &str = "web.key";
    /// A copy of the CA's revocation list for the central, and (format version 3 on) for a region's
    /// node to check its terminals; replaced after each revocation, so it is not in the manifest.
    pub const CRL: &str = "crl.pem";
    /// A field unit's certificate (unit bundle, `add-unit`).
    pub const UNIT_CERT: &str = "unit.crt";
    /// A field unit's private key (mode 0600).
    pub const UNIT_KEY: &str = "unit.key";
    /// A field terminal's config: its unit, the node it dials, the bundle's TLS files.
    pub const TERMINAL_CONFIG: &str = "terminal.toml";
    /// The manifest.
    pub const MANIFEST: &str = "bundle.json";
}

/// Named limits. Every one carries its unit last.
pub mod limits {
    /// Shortest region id, in characters.
    pub const REGION_ID_CHARS_MIN: usize = 2;
    /// Longest region id, in characters.
    pub const REGION_ID_CHARS_MAX: usize = 8;
    /// Longest region name (Kazakh or Russian), in characters.
    pub const REGION_NAME_CHARS_MAX: usize = 200;
    /// Longest CA name and central name, in characters.
    pub const SUBJECT_NAME_CHARS_MAX: usize = 64;
    /// Longest field unit id, in characters (`p01`, `dsog-7`).
    pub const UNIT_ID_CHARS_MAX: usize = 16;
    /// Longest `--node-web` URL, in characters.
    pub const URL_CHARS_MAX: usize = 2000;
    /// Longest validity of a unit (field terminal) certificate, in days (2 years): a terminal
    /// leaves the building, so its certificate is short-lived and re-issued.
    pub const UNIT_VALID_DAYS_MAX: u32 = 730;
    /// Validity of a unit certificate when `--valid-days` is not given, in days.
    pub const UNIT_VALID_DAYS_DEFAULT: u32 = 365;
    /// Longest revocation reason, in characters.
    pub const REVOCATION_REASON_CHARS_MAX: usize = 500;
    /// Longest DNS name, in bytes (RFC 1035).
    pub const DNS_NAME_BYTES_MAX: usize = 253;
    /// Longest DNS label, in bytes (RFC 1035).
    pub const DNS_LABEL_BYTES_MAX: usize = 63;
    /// Most DNS plus IP names on a central certificate, and on a web (HTTPS) certificate.
    pub const CENTRAL_NAMES_MAX: usize = 32;
    /// Longest validity of the CA certificate, in days (20 years).
    pub const CA_VALID_DAYS_MAX: u32 = 7300;
    /// Validity of the CA certificate when `--valid-days` is not given, in days (10 years).
    pub const CA_VALID_DAYS_DEFAULT: u32 = 3650;
    /// Longest validity of a node or central certificate, in days (5 years).
    pub const PEER_VALID_DAYS_MAX: u32 = 1825;
    /// Validity of a node or central certificate when `--valid-days` is not given, in days.
    pub const PEER_VALID_DAYS_DEFAULT: u32 = 730;
    /// How far before "now" a new certificate's validity starts, in seconds: a regional node whose
    /// clock runs behind HQ's must still accept a certificate issued a moment ago.
    pub const NOT_BEFORE_BACKDATE_S: i64 = 3600;
    /// How long a CRL is current after it is signed, in days; `refresh-crl` re-signs it.
    pub const CRL_NEXT_UPDATE_DAYS: i64 = 90;
    /// Random bytes in a certificate serial number (RFC 5280 allows at most 20 octets).
    pub const SERIAL_BYTES: usize = 16;
    /// Characters in a first-admin password (≈ 5.8 bits each, 116 bits in all).
    pub const BOOTSTRAP_SECRET_CHARS: usize = 20;
    /// Largest file this tool reads (certificates, keys, manifests, CRLs), in bytes.
    pub const FILE_BYTES_MAX: u64 = 1024 * 1024;
    /// Most certificates one CA directory records.
    pub const ISSUED_CERTS_MAX: usize = 100_000;
}
