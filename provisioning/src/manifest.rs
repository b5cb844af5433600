//! `bundle.json`: what a bundle is for and the SHA-256 of each of its files.
//!
//! ```json
//! {
//!   "format": "mvd102-bundle",
//!   "format_version": 1,
//!   "subject": { "region": { "id": "AST", "name_kk": "…", "name_ru": "…" } },
//!   "created_at": "2026-11-22T11:43:03Z",
//!   "certificate": { "serial": "4f…", "not_before": "…", "not_after": "…" },
//!   "files": { "ca.crt": { "sha256": "…", "bytes": 640 }, … }
//! }
//! ```

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
/// The manifest version this tool writes and reads.
pub const FORMAT_VERSION: u32 = 1;

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
}

impl Subject {
    /// The files a bundle of this kind holds (besides `bundle.json`), in a fixed order.
    pub fn expected_files(&self) -> &'static [&'static str] {
        match self {
            Subject::Region { .. } => &[
                files::CA_CERT,
                files::NODE_CERT,
                files::NODE_KEY,
                files::NODE_CONFIG,
                files::BOOTSTRAP_SECRET,
            ],
            Subject::Central { .. } => &[
                files::CA_CERT,
                files::CENTRAL_CERT,
                files::CENTRAL_KEY,
                files::CENTRAL_CONFIG,
            ],
        }
    }

    /// Files a bundle of this kind may hold; when present they are listed and checked like the
    /// others, and one present but not listed is refused.
    pub fn optional_files(&self) -> &'static [&'static str] {
        match self {
            Subject::Region { .. } => &[files::REFERENCE],
            Subject::Central { .. } => &[],
        }
    }

    /// The files that must be private (mode 0600).
    pub fn secret_files(&self) -> &'static [&'static str] {
        match self {
            Subject::Region { .. } => &[files::NODE_KEY, files::BOOTSTRAP_SECRET],
            Subject::Central { .. } => &[files::CENTRAL_KEY],
        }
    }

    /// The certificate and key file of the bundle's peer.
    pub fn cert_and_key(&self) -> (&'static str, &'static str) {
        match self {
            Subject::Region { .. } => (files::NODE_CERT, files::NODE_KEY),
            Subject::Central { .. } => (files::CENTRAL_CERT, files::CENTRAL_KEY),
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
    /// Always `FORMAT_VERSION` for this tool.
    pub format_version: u32,
    /// Whom the bundle is for.
    pub subject: Subject,
    /// When the bundle was made.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The bundle's certificate.
    pub certificate: CertificateInfo,
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
        match header.format_version {
            Some(FORMAT_VERSION) => {}
            Some(v) => {
                return Err(Error::bad_file(
                    &path,
                    format!(
                        "format_version {v} is not supported; this tool reads {FORMAT_VERSION}"
                    ),
                ))
            }
            None => return Err(Error::bad_file(&path, "\"format_version\" is missing")),
        }
        serde_json::from_str(&text)
            .map_err(|e| Error::bad_file(&path, format!("invalid manifest: {e}")))
    }

    /// The manifest as written to disk.
    pub fn to_bytes(&self) -> Vec<u8> {
        crate::ca::to_json(self)
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
