//! [`Problem`]: one thing wrong with a bundle, as `verify` reports it and
//! [`Error::InvalidBundle`](crate::Error::InvalidBundle) carries it.

use std::fmt;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::bundle_files as files;

/// One thing wrong with a bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// A file the manifest lists is not on disk.
    Missing {
        /// The file.
        file: String,
    },
    /// A file exists but cannot be read or parsed.
    Unreadable {
        /// The file.
        file: String,
        /// Why.
        reason: String,
    },
    /// A file's content is not what the manifest recorded.
    DigestMismatch {
        /// The file.
        file: String,
        /// SHA-256 in the manifest.
        expected: String,
        /// SHA-256 on disk.
        actual: String,
    },
    /// A file this kind of bundle needs is not listed in the manifest.
    NotInManifest {
        /// The file.
        file: String,
    },
    /// The manifest lists a file this kind of bundle does not have.
    UnexpectedEntry {
        /// The name in the manifest.
        file: String,
    },
    /// The certificate was not signed by the bundle's CA.
    NotSignedByCa {
        /// The certificate.
        file: String,
        /// Why.
        reason: String,
    },
    /// The bundle's `ca.crt` is not a usable CA certificate.
    NotACa {
        /// The certificate.
        file: String,
        /// Why.
        reason: String,
    },
    /// The certificate has expired.
    Expired {
        /// The certificate.
        file: String,
        /// When it expired.
        not_after: OffsetDateTime,
    },
    /// The certificate is not valid yet.
    NotYetValid {
        /// The certificate.
        file: String,
        /// When it becomes valid.
        not_before: OffsetDateTime,
    },
    /// The certificate speaks for someone else than the manifest says.
    WrongRole {
        /// The certificate.
        file: String,
        /// What the manifest says.
        expected: String,
        /// What the certificate carries.
        found: String,
    },
    /// The certificate cannot serve its purpose (usages, CA flag, names, a role where none may
    /// be).
    WrongUsage {
        /// The certificate.
        file: String,
        /// Why.
        reason: String,
    },
    /// The certificate's serial or validity differs from the manifest.
    ManifestMismatch {
        /// The certificate.
        file: String,
        /// What differs.
        reason: String,
    },
    /// The private key does not belong to the certificate.
    KeyMismatch {
        /// The key file.
        file: String,
        /// The certificate file.
        cert: String,
    },
    /// A secret file is readable by other users.
    ModeTooOpen {
        /// The file.
        file: String,
        /// Its mode.
        mode: u32,
    },
    /// The config overlay disagrees with the manifest.
    ConfigMismatch {
        /// The config file.
        file: String,
        /// What differs.
        reason: String,
    },
}

impl Problem {
    /// The bundle file the problem is about.
    pub fn file(&self) -> &str {
        match self {
            Problem::Missing { file }
            | Problem::Unreadable { file, .. }
            | Problem::DigestMismatch { file, .. }
            | Problem::NotInManifest { file }
            | Problem::UnexpectedEntry { file }
            | Problem::NotSignedByCa { file, .. }
            | Problem::NotACa { file, .. }
            | Problem::Expired { file, .. }
            | Problem::NotYetValid { file, .. }
            | Problem::WrongRole { file, .. }
            | Problem::WrongUsage { file, .. }
            | Problem::ManifestMismatch { file, .. }
            | Problem::KeyMismatch { file, .. }
            | Problem::ModeTooOpen { file, .. }
            | Problem::ConfigMismatch { file, .. } => file,
        }
    }
}

/// A time as people and logs read it (RFC 3339, UTC).
pub(crate) fn show_time(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Missing { file } => write!(f, "{file}: missing"),
            Problem::Unreadable { file, reason } => write!(f, "{file}: {reason}"),
            Problem::DigestMismatch {
                file,
                expected,
                actual,
            } => write!(
                f,
                "{file}: modified: SHA-256 is {actual}, the manifest recorded {expected}"
            ),
            Problem::NotInManifest { file } => {
                write!(f, "{file}: not listed in {}", files::MANIFEST)
            }
            Problem::UnexpectedEntry { file } => write!(
                f,
                "{file}: listed in {} but not part of this kind of bundle",
                files::MANIFEST
            ),
            Problem::NotSignedByCa { file, reason } => write!(
                f,
                "{file}: not signed by the bundle's CA ({}): {reason}",
                files::CA_CERT
            ),
            Problem::NotACa { file, reason } => write!(f, "{file}: not a usable CA: {reason}"),
            Problem::Expired { file, not_after } => {
                write!(f, "{file}: expired on {}", show_time(*not_after))
            }
            Problem::NotYetValid { file, not_before } => {
                write!(f, "{file}: not valid before {}", show_time(*not_before))
            }
            Problem::WrongRole {
                file,
                expected,
                found,
            } => write!(
                f,
                "{file}: issued to {found}, but {} is for {expected}",
                files::MANIFEST
            ),
            Problem::WrongUsage { file, reason } => write!(f, "{file}: {reason}"),
            Problem::ManifestMismatch { file, reason } => write!(f, "{file}: {reason}"),
            Problem::KeyMismatch { file, cert } => {
                write!(f, "{file}: is not the private key of {cert}")
            }
            Problem::ModeTooOpen { file, mode } => write!(
                f,
                "{file}: mode {mode:04o} lets other users read it; it must be 0600 (chmod 600 {file})"
            ),
            Problem::ConfigMismatch { file, reason } => write!(f, "{file}: {reason}"),
        }
    }
}
