//! `bundle.json`: what a bundle is for and the SHA-256 of each of its files.
//!
//! ```json
//! {
//!   "format": "mvd102-bundle",
//!   "format_version": 2,
//!   "subject": { "region": { "id": "AST", "name_kk": "…", "name_ru": "…" } },
//!   "created_at": "2026-11-22T11:43:03Z",
//!   "certificate": { "serial": "4f…", "not_before": "…", "not_after": "…" },
//!   "web_certificate": { "serial": "5a…", "not_before": "…", "not_after": "…" },
//!   "files": { "ca.crt": { "sha256": "…", "bytes": 640 }, … }
//! }
//! ```
//!
//! Versions: 1 — the peer certificate only; 2 — also a web (HTTPS) certificate, `web.crt` and
//! `web.key`, recorded in `web_certificate` and named by the overlay's `[https]` table; 3 — field
//! units: a region bundle also holds the CA's `crl.pem` (not listed in `files`, since it is
//! replaced after every revocation) named by `node.toml`'s `[field] crl`, and the unit bundle
//! (`subject: {"unit": …}`, `add-unit`) exists, without a web certificate. This tool writes 3 and
//! reads all three; a version 3 manifest tells an older tool to use a newer one instead of failing
//! on the unknown `[field]` table or unit subject.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::bundle_files as files;
use crate::error::{Error, Result};
use crate::fsio;

/// The `format` field of every manifest.
pub const FORMAT: &str = "mvd102-bundle";
/// The manifest version this tool writes.
pub const FORMAT_VERSION: u32 = 3;
/// Every manifest version this tool reads, oldest first.
pub const FORMAT_VERSIONS_READ: &[u32] = &[1, 2, 3];
/// The first manifest version whose region and central bundles hold a web certificate
/// (`web.crt`, `web.key`).
pub const FORMAT_VERSION_WEB: u32 = 2;
/// The first manifest version with field units: unit bundles, and region bundles holding
/// `crl.pem` with `[field] crl` in `node.toml`.
pub const FORMAT_VERSION_FIELD: u32 = 3;

/// Whether a region or central bundle of this manifest version holds a web certificate (a unit
/// bundle never does: see [`Subject::has_web_certificate`]).
pub fn has_web_certificate(format_version: u32) -> bool {
    format_version >= FORMAT_VERSION_WEB
}

/// Whether a region bundle of this manifest version holds the CA's `crl.pem` and names it in
/// `node.toml`'s `[field] crl`.
pub fn has_field_crl(format_version: u32) -> bool {
    format_version >= FORMAT_VERSION_FIELD
}

/// Whom the bundle is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Subject {
    /// A regional node.
    Region {
        /// Region id (`AST`).
        id: String,
        /// Name in Kazakh.
        name_kk: String,
        /// Name in Russian.
        name_ru: String,
    },
    /// The central hub.
    Central {
        /// The central's name.
        name: String,
        /// DNS names on its certificate.
        dns: Vec<String>,
        /// IP addresses on its certificate.
        ip: Vec<String>,
    },
    /// A field unit's terminal (format version 3 on).
    Unit {
        /// Region id (`AST`).
        region: String,
        /// Unit id (`p01`).
        id: String,
    },
}

impl Subject {
    /// The files a bundle of this kind and manifest version holds (besides `bundle.json`), in a
    /// fixed order.
    pub fn expected_files(&self, format_version: u32) -> Vec<&'static str> {
        let mut expected = match self {
            Subject::Region { .. } => vec![
                files::CA_CERT,
                files::NODE_CERT,
                files::NODE_KEY,
                files::NODE_CONFIG,
                files::BOOTSTRAP_SECRET,
            ],
            Subject::Central { .. } => vec![
                files::CA_CERT,
                files::CENTRAL_CERT,
                files::CENTRAL_KEY,
                files::CENTRAL_CONFIG,
            ],
            Subject::Unit { .. } => vec![
                files::CA_CERT,
                files::UNIT_CERT,
                files::UNIT_KEY,
                files::TERMINAL_CONFIG,
            ],
        };
        if self.has_web_certificate(format_version) {
            expected.extend([files::WEB_CERT, files::WEB_KEY]);
        }
        expected
    }

    /// Files a bundle of this kind may hold; when present they are listed and checked like the
    /// others, and one present but not listed is refused.
    pub fn optional_files(&self) -> &'static [&'static str] {
        match self {
            Subject::Region { .. } => &[files::REFERENCE],
            Subject::Central { .. } | Subject::Unit { .. } => &[],
        }
    }

    /// Whether a bundle of this kind and manifest version holds a web certificate.
    pub fn has_web_certificate(&self, format_version: u32) -> bool {
        !matches!(self, Subject::Unit { .. }) && has_web_certificate(format_version)
    }

    /// The first manifest version that has this kind of bundle.
    pub fn first_format_version(&self) -> u32 {
        match self {
            Subject::Region { .. } | Subject::Central { .. } => 1,
            Subject::Unit { .. } => FORMAT_VERSION_FIELD,
        }
    }

    /// The files of a bundle of this kind and manifest version that must be private (mode 0600).
    pub fn secret_files(&self, format_version: u32) -> Vec<&'static str> {
        let mut secret = match self {
            Subject::Region { .. } => vec![files::NODE_KEY, files::BOOTSTRAP_SECRET],
            Subject::Central { .. } => vec![files::CENTRAL_KEY],
            Subject::Unit { .. } => vec![files::UNIT_KEY],
        };
        if self.has_web_certificate(format_version) {
            secret.push(files::WEB_KEY);
        }
        secret
    }

    /// The certificate and key file of the bundle's peer.
    pub fn cert_and_key(&self) -> (&'static str, &'static str) {
        match self {
            Subject::Region { .. } => (files::NODE_CERT, files::NODE_KEY),
            Subject::Central { .. } => (files::CENTRAL_CERT, files::CENTRAL_KEY),
            Subject::Unit { .. } => (files::UNIT_CERT, files::UNIT_KEY),
        }
    }
}

/// The bundle's certificate, as issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateInfo {
    /// Serial number (lower-case hex).
    pub serial: String,
    /// Start of validity.
    #[serde(with = "time::serde::rfc3339")]
    pub not_before: OffsetDateTime,
    /// End of validity.
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
}

/// One file of the bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// SHA-256 of the content (lower-case hex).
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
}

impl FileEntry {
    /// The entry describing `content`.
    pub fn of(content: &[u8]) -> Self {
        FileEntry {
            sha256: sha256_hex(content),
            bytes: content.len() as u64,
        }
    }
}

/// `1 and 2`: the versions this tool reads, for messages.
fn versions_text() -> String {
    let shown: Vec<String> = FORMAT_VERSIONS_READ.iter().map(u32::to_string).collect();
    match shown.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => shown.join(""),
    }
}

/// SHA-256 in lower-case hex.
pub fn sha256_hex(content: &[u8]) -> String {
    hex::encode(Sha256::digest(content))
}

/// The manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always `FORMAT`.
    pub format: String,
    /// `FORMAT_VERSION` when this tool wrote it; one of `FORMAT_VERSIONS_READ` when it reads it.
    pub format_version: u32,
    /// Whom the bundle is for.
    pub subject: Subject,
    /// When the bundle was made.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The bundle's peer certificate (the node's or the central's replication identity).
    pub certificate: CertificateInfo,
    /// The bundle's web (HTTPS) certificate: present in region and central bundles from format
    /// version 2 on, absent before and in unit bundles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_certificate: Option<CertificateInfo>,
    /// File name → digest, for every file but the manifest itself.
    pub files: BTreeMap<String, FileEntry>,
}

/// Just enough to tell whether the rest is readable by this version.
#[derive(Deserialize)]
struct Header {
    format: Option<String>,
    format_version: Option<u32>,
}

impl Manifest {
    /// Reads and checks `DIR/bundle.json`; every error names the file.
    pub fn read(dir: &Path) -> Result<Self> {
        let path = dir.join(files::MANIFEST);
        let text = fsio::read_text(&path)?;
        let header: Header = serde_json::from_str(&text)
            .map_err(|e| Error::bad_file(&path, format!("invalid JSON: {e}")))?;
        if header.format.as_deref() != Some(FORMAT) {
            return Err(Error::bad_file(
                &path,
                format!(
                    "\"format\" must be {FORMAT:?}; this is not a provisioning bundle manifest"
                ),
            ));
        }
        let version = match header.format_version {
            Some(v) if FORMAT_VERSIONS_READ.contains(&v) => v,
            Some(v) => {
                let hint = if v > FORMAT_VERSION {
                    "a newer provisioning tool made it; verify it with that tool"
                } else {
                    "make the bundle again with this tool"
                };
                return Err(Error::bad_file(
                    &path,
                    format!(
                        "format_version {v} is not supported; this tool reads format versions {}; \
                         {hint}",
                        versions_text()
                    ),
                ));
            }
            None => return Err(Error::bad_file(&path, "\"format_version\" is missing")),
        };
        let manifest: Manifest = serde_json::from_str(&text)
            .map_err(|e| Error::bad_file(&path, format!("invalid manifest: {e}")))?;
        let first = manifest.subject.first_format_version();
        if version < first {
            return Err(Error::bad_file(
                &path,
                format!(
                    "invalid manifest: format_version {version} has no bundles of this kind; \
                     they start with format_version {first}"
                ),
            ));
        }
        match (
            manifest.subject.has_web_certificate(version),
            &manifest.web_certificate,
        ) {
            (true, None) => Err(Error::bad_file(
                &path,
                format!(
                    "invalid manifest: format_version {version} needs \"web_certificate\" \
                     (the bundle's {}); make the bundle again",
                    files::WEB_CERT
                ),
            )),
            (false, Some(_)) if matches!(manifest.subject, Subject::Unit { .. }) => {
                Err(Error::bad_file(
                    &path,
                    "invalid manifest: a unit bundle has no \"web_certificate\"",
                ))
            }
            (false, Some(_)) => Err(Error::bad_file(
                &path,
                format!(
                    "invalid manifest: format_version {version} has no \"web_certificate\"; \
                     a web certificate needs format_version {FORMAT_VERSION_WEB}"
                ),
            )),
            _ => Ok(manifest),
        }
    }

    /// The files this bundle holds besides `bundle.json` ([`Subject::expected_files`] of its
    /// version).
    pub fn expected_files(&self) -> Vec<&'static str> {
        self.subject.expected_files(self.format_version)
    }

    /// The files of this bundle that must be private ([`Subject::secret_files`] of its version).
    pub fn secret_files(&self) -> Vec<&'static str> {
        self.subject.secret_files(self.format_version)
    }

    /// Whether this bundle holds a web certificate (`web.crt`, `web.key`).
    pub fn has_web_certificate(&self) -> bool {
        self.subject.has_web_certificate(self.format_version)
    }

    /// Whether this is a region bundle that holds the CA's `crl.pem` for checking terminals
    /// (`[field] crl` in `node.toml`).
    pub fn has_field_crl(&self) -> bool {
        matches!(self.subject, Subject::Region { .. }) && has_field_crl(self.format_version)
    }

    /// The manifest as written to disk.
    pub fn to_bytes(&self) -> Vec<u8> {
        fsio::to_json(self)
    }

    /// Writes the manifest into `dir` (which must not have one yet).
    pub fn write_new(&self, dir: &Path) -> Result<()> {
        fsio::write_new(
            &dir.join(files::MANIFEST),
            &self.to_bytes(),
            fsio::MODE_PUBLIC,
        )
    }

    /// Replaces the manifest in `dir`.
    pub fn replace(&self, dir: &Path) -> Result<()> {
        fsio::replace(
            &dir.join(files::MANIFEST),
            &self.to_bytes(),
            fsio::MODE_PUBLIC,
        )
    }
}
