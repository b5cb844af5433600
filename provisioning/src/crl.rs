//! The CA's revocation record (`revoked.json`) and the X.509 CRL it signs from it (`crl.pem`).

use std::path::Path;

use rcgen::{
    CertificateRevocationListParams, Issuer, KeyIdMethod, KeyPair, RevokedCertParams, SerialNumber,
};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::ca_files;
use crate::error::{Error, Result};
use crate::fsio::read_json;
use crate::limits::{CRL_NEXT_UPDATE_DAYS, ISSUED_CERTS_MAX};
use crate::pki::check_serial;

/// Version of `revoked.json`.
pub const REVOKED_FORMAT_VERSION: u32 = 1;

/// One revoked certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokedEntry {
    /// Serial number (lower-case hex).
    pub serial: String,
    /// `region`, `region-web`, `central`, `central-web` or `unit`, as in `issued.json`.
    pub role: String,
    /// The region id, the central's name, or `AST:p01` for a unit.
    pub subject: String,
    /// When it was revoked.
    #[serde(with = "time::serde::rfc3339")]
    pub revoked_at: OffsetDateTime,
    /// Why, as the operator wrote it.
    pub reason: Option<String>,
}

/// `revoked.json`: every revocation, oldest first, and the number of the last CRL signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevocationRecord {
    /// `REVOKED_FORMAT_VERSION`.
    pub format_version: u32,
    /// Number of the last CRL signed (RFC 5280 cRLNumber, increasing).
    pub crl_number: u64,
    /// The revoked certificates.
    pub revoked: Vec<RevokedEntry>,
}

impl Default for RevocationRecord {
    fn default() -> Self {
        RevocationRecord {
            format_version: REVOKED_FORMAT_VERSION,
            crl_number: 1,
            revoked: Vec::new(),
        }
    }
}

impl RevocationRecord {
    /// Reads a CA directory's `revoked.json`.
    pub fn read(ca_dir: &Path) -> Result<Self> {
        let path = ca_dir.join(ca_files::REVOKED);
        let record: RevocationRecord = read_json(&path)?;
        if record.format_version != REVOKED_FORMAT_VERSION {
            return Err(Error::bad_file(
                &path,
                format!(
                    "format_version {} is not the supported {REVOKED_FORMAT_VERSION}",
                    record.format_version
                ),
            ));
        }
        for entry in &record.revoked {
            check_serial(&path, &entry.serial)?;
        }
        if record.revoked.len() > ISSUED_CERTS_MAX {
            return Err(Error::bad_file(
                &path,
                format!("records more than {ISSUED_CERTS_MAX} revocations"),
            ));
        }
        Ok(record)
    }

    /// Whether the certificate with this serial (hex) is revoked.
    pub fn is_revoked(&self, serial: &str) -> bool {
        self.revoked.iter().any(|r| r.serial == serial)
    }
}

/// Signs a CRL listing every certificate in `record`, current from `now` for
/// `CRL_NEXT_UPDATE_DAYS`; returns it as PEM.
pub(crate) fn sign_crl(
    issuer: &Issuer<'_, KeyPair>,
    record: &RevocationRecord,
    now: OffsetDateTime,
) -> Result<String> {
    let now = now.replace_nanosecond(0).unwrap_or(now);
    let mut revoked_certs = Vec::with_capacity(record.revoked.len());
    for entry in &record.revoked {
        let serial = hex::decode(&entry.serial).map_err(|_| {
            Error::bad_file(
                ca_files::REVOKED,
                format!("serial {:?} is not hex", entry.serial),
            )
        })?;
        revoked_certs.push(RevokedCertParams {
            serial_number: SerialNumber::from_slice(&serial),
            revocation_time: entry.revoked_at,
            reason_code: None,
            invalidity_date: None,
        });
    }
    let params = CertificateRevocationListParams {
        this_update: now,
        next_update: now + Duration::days(CRL_NEXT_UPDATE_DAYS),
        crl_number: SerialNumber::from_slice(&record.crl_number.to_be_bytes()),
        issuing_distribution_point: None,
        revoked_certs,
        key_identifier_method: KeyIdMethod::Sha256,
    };
    params
        .signed_by(issuer)
        .and_then(|crl| crl.pem())
        .map_err(Error::crypto("signing the revocation list"))
}
