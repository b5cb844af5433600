//! The one error type of the library. Every variant that concerns a file names it.

use std::path::PathBuf;

use crate::problem::Problem;

/// Result of the library's operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, in words an installer can act on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A command-line or library argument is out of its allowed range.
    #[error("invalid {field}: {reason}")]
    InvalidArgument {
        /// The argument's name, as on the command line.
        field: &'static str,
        /// Why it was refused.
        reason: String,
    },

    /// Reading, creating or renaming a file or directory failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },

    /// A file is larger than this tool reads.
    #[error("{}: file is {bytes} bytes, more than the {bytes_max} bytes allowed", path.display())]
    FileTooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        bytes: u64,
        /// The limit (`FILE_BYTES_MAX`).
        bytes_max: u64,
    },

    /// A file exists that this command would have to overwrite.
    #[error("{}: already exists; {hint}", path.display())]
    AlreadyExists {
        /// The file or directory.
        path: PathBuf,
        /// What to do instead.
        hint: &'static str,
    },

    /// A file's content is not what it should be (bad PEM, bad certificate, bad JSON, …).
    #[error("{}: {reason}", path.display())]
    BadFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// A certificate handed to the library (e.g. a peer's) is malformed or ambiguous.
    #[error("certificate: {reason}")]
    BadCertificate {
        /// What is wrong with it.
        reason: String,
    },

    /// Another run of this tool holds the CA directory's lock.
    #[error(
        "{}: another provisioning run is changing this CA directory; if none is, remove the lock file",
        path.display()
    )]
    CaLocked {
        /// The lock file.
        path: PathBuf,
    },

    /// The CA has never issued a certificate to this region or central.
    #[error("{}: the CA has issued no certificate to {target}", path.display())]
    NeverIssued {
        /// The CA's `issued.json`.
        path: PathBuf,
        /// `region AST` or `central central`.
        target: String,
    },

    /// Every certificate of the region or central is already revoked.
    #[error("{target}: all its certificates are already revoked")]
    AlreadyRevoked {
        /// `region AST` or `central central`.
        target: String,
    },

    /// Certificate generation or signing failed.
    #[error("{what}: {source}")]
    Crypto {
        /// What was being made.
        what: &'static str,
        /// rcgen's error.
        source: rcgen::Error,
    },

    /// A bundle failed verification; each problem names its file.
    #[error("{}: bundle is not valid:\n{}", dir.display(), list_problems(problems))]
    InvalidBundle {
        /// The bundle directory.
        dir: PathBuf,
        /// Everything that is wrong, in file order.
        problems: Vec<Problem>,
    },
}

fn list_problems(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("  - {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn bad_file(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Error::BadFile {
            path: path.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidArgument {
            field,
            reason: reason.into(),
        }
    }

    pub(crate) fn crypto(what: &'static str) -> impl FnOnce(rcgen::Error) -> Self {
        move |source| Error::Crypto { what, source }
    }
}
