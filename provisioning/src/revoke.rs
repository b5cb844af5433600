//! Revocation: `revoke` and `refresh-crl`, which update the CA's record (`revoked.json`) and
//! re-sign its X.509 CRL (`crl.pem`), both defined in `crl`, and the check the central makes on
//! every connecting peer ([`RevocationList`], [`is_revoked`]).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateRevocationListDer;
use time::OffsetDateTime;
use x509_parser::prelude::FromDer;
use x509_parser::revocation_list::CertificateRevocationList;

use crate::ca::{
    Ca, IssuedCert, IssuedRegistry, ROLE_CENTRAL, ROLE_CENTRAL_WEB, ROLE_REGION, ROLE_REGION_WEB,
    ROLE_UNIT,
};
use crate::ca_files;
use crate::crl::{sign_crl, RevocationRecord, RevokedEntry};
use crate::error::{Error, Result};
use crate::fsio::{self, to_json, CaLock, MODE_PUBLIC};
use crate::limits::REVOCATION_REASON_CHARS_MAX;
use crate::pki::{self, unit_name};
use crate::progress::Progress;
use crate::settings::{CentralName, RegionId, UnitId};

/// What `revoke` did.
#[derive(Debug, Clone)]
pub struct RevokeSummary {
    /// Serial numbers revoked now (hex).
    pub serials: Vec<String>,
    /// The certificates revoked now, as recorded in `revoked.json` (serial, role, subject, …), in
    /// the order of `serials`.
    pub revoked: Vec<RevokedEntry>,
    /// The new CRL.
    pub crl: PathBuf,
    /// Its number.
    pub crl_number: u64,
}

/// Whose certificates to revoke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevokeTarget {
    /// Every certificate of a region (a node retired, stolen or re-installed): its node
    /// certificates, its console's web certificates, and all its field units' certificates — a
    /// region retired has no node left for its terminals, and its terminals must not follow the
    /// region to a new installation unnoticed (issue the units again with `add-unit`).
    Region(RegionId),
    /// Every certificate of the central with this name: its central certificates and its
    /// dashboard's web certificates.
    Central(CentralName),
    /// Every certificate of one field unit of a region (a terminal lost or stolen, a unit
    /// disbanded); nothing of the region or its other units.
    Unit {
        /// The unit's region.
        region: RegionId,
        /// The unit.
        unit: UnitId,
    },
}

impl RevokeTarget {
    /// `region` or `central`, for messages.
    fn kind(&self) -> &'static str {
        match self {
            RevokeTarget::Region(_) => "region",
            RevokeTarget::Central(_) => "central",
            RevokeTarget::Unit { .. } => "unit",
        }
    }

    /// The name in `issued.json`: the region id, the central's name, `AST:p01`.
    fn subject(&self) -> String {
        match self {
            RevokeTarget::Region(id) => id.to_string(),
            RevokeTarget::Central(name) => name.as_str().to_owned(),
            RevokeTarget::Unit { region, unit } => unit_name(region.as_str(), unit.as_str()),
        }
    }

    /// Whether `cert` (from `issued.json`) is one of the target's.
    fn covers(&self, cert: &IssuedCert) -> bool {
        let role = cert.role.as_str();
        match self {
            RevokeTarget::Region(id) => {
                ([ROLE_REGION, ROLE_REGION_WEB].contains(&role) && cert.subject == id.as_str())
                    || (role == ROLE_UNIT
                        && cert
                            .subject
                            .split_once(':')
                            .is_some_and(|(region, _)| region == id.as_str()))
            }
            RevokeTarget::Central(name) => {
                [ROLE_CENTRAL, ROLE_CENTRAL_WEB].contains(&role) && cert.subject == name.as_str()
            }
            RevokeTarget::Unit { .. } => role == ROLE_UNIT && cert.subject == self.subject(),
        }
    }
}

impl std::fmt::Display for RevokeTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.kind(), self.subject())
    }
}

/// Revokes every certificate the CA issued to `target` and not yet revoked — peer, web and, for a
/// region, its units' certificates alike — records it in `revoked.json` and re-signs `crl.pem`.
/// Both files are replaced atomically.
pub fn revoke(
    ca_dir: &Path,
    target: &RevokeTarget,
    reason: Option<&str>,
    now: OffsetDateTime,
    progress: &mut dyn Progress,
) -> Result<RevokeSummary> {
    let reason = match reason.map(str::trim) {
        Some(r) if r.chars().count() > REVOCATION_REASON_CHARS_MAX => {
            return Err(Error::invalid(
                "reason",
                format!("more than {REVOCATION_REASON_CHARS_MAX} characters"),
            ))
        }
        Some("") | None => None,
        Some(r) => Some(r.to_owned()),
    };
    let _lock = CaLock::acquire(ca_dir)?;
    let ca = Ca::open(ca_dir)?;
    let issued = IssuedRegistry::read(ca_dir)?;
    let mut record = RevocationRecord::read(ca_dir)?;

    let of_target: Vec<_> = issued
        .certificates
        .iter()
        .filter(|c| target.covers(c))
        .collect();
    if of_target.is_empty() {
        return Err(Error::NeverIssued {
            path: ca_dir.join(ca_files::ISSUED),
            target: target.to_string(),
        });
    }
    let revoked_at = now.replace_nanosecond(0).unwrap_or(now);
    let mut revoked = Vec::new();
    for cert in of_target
        .into_iter()
        .filter(|c| !record.is_revoked(&c.serial))
    {
        revoked.push(RevokedEntry {
            serial: cert.serial.clone(),
            role: cert.role.clone(),
            subject: cert.subject.clone(),
            revoked_at,
            reason: reason.clone(),
        });
    }
    if revoked.is_empty() {
        return Err(Error::AlreadyRevoked {
            target: target.to_string(),
        });
    }
    record.revoked.extend(revoked.iter().cloned());
    record.crl_number += 1;
    progress.step("signing the revocation list");
    let crl = write_record_and_crl(&ca, &record, now)?;
    progress.finish();
    Ok(RevokeSummary {
        serials: revoked.iter().map(|r| r.serial.clone()).collect(),
        revoked,
        crl,
        crl_number: record.crl_number,
    })
}

/// Re-signs `crl.pem` with a new number and a fresh next-update time, revoking nothing new. Run it
/// before `CRL_NEXT_UPDATE_DAYS` pass.
pub fn refresh_crl(
    ca_dir: &Path,
    now: OffsetDateTime,
    progress: &mut dyn Progress,
) -> Result<RevokeSummary> {
    let _lock = CaLock::acquire(ca_dir)?;
    let ca = Ca::open(ca_dir)?;
    let mut record = RevocationRecord::read(ca_dir)?;
    record.crl_number += 1;
    progress.step("signing the revocation list");
    let crl = write_record_and_crl(&ca, &record, now)?;
    progress.finish();
    Ok(RevokeSummary {
        serials: Vec::new(),
        revoked: Vec::new(),
        crl,
        crl_number: record.crl_number,
    })
}

fn write_record_and_crl(
    ca: &Ca,
    record: &RevocationRecord,
    now: OffsetDateTime,
) -> Result<PathBuf> {
    let crl = sign_crl(&ca.issuer, record, now)?;
    // The record first: a CRL is always derivable from it, never the other way round.
    fsio::replace(
        &ca.dir.join(ca_files::REVOKED),
        &to_json(record),
        MODE_PUBLIC,
    )?;
    let crl_path = ca.dir.join(ca_files::CRL);
    fsio::replace(&crl_path, crl.as_bytes(), MODE_PUBLIC)?;
    Ok(crl_path)
}

/// A CRL whose signature has been checked against the CA, reduced to what a revocation check
/// needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationList {
    issuer_raw: Vec<u8>,
    /// Revoked serial numbers in canonical hex.
    serials: BTreeSet<String>,
    this_update: OffsetDateTime,
    next_update: Option<OffsetDateTime>,
    crl_number: Option<String>,
}

impl RevocationList {
    /// Loads a CRL from PEM and checks that `ca_cert_der` signed it.
    pub fn from_pem(crl_pem: &[u8], ca_cert_der: &[u8]) -> Result<Self> {
        let der = CertificateRevocationListDer::from_pem_slice(crl_pem).map_err(|e| {
            Error::BadCertificate {
                reason: format!("no PEM revocation list (X509 CRL): {e}"),
            }
        })?;
        Self::from_der(&der, ca_cert_der)
    }

    /// Loads a CRL from DER and checks that `ca_cert_der` signed it.
    pub fn from_der(crl_der: &[u8], ca_cert_der: &[u8]) -> Result<Self> {
        let bad = |reason: String| Error::BadCertificate { reason };
        let ca = pki::parse_cert(ca_cert_der)?;
        let crl = match CertificateRevocationList::from_der(crl_der) {
            Ok(([], crl)) => crl,
            Ok(_) => return Err(bad("trailing bytes after the revocation list".into())),
            Err(e) => return Err(bad(format!("not an X.509 revocation list: {e}"))),
        };
        if crl.issuer().as_raw() != ca.subject().as_raw() {
            return Err(bad("the revocation list was issued by another CA".into()));
        }
        crl.verify_signature(ca.public_key()).map_err(|e| {
            bad(format!(
                "the revocation list's signature is not the CA's: {e}"
            ))
        })?;
        Ok(RevocationList {
            issuer_raw: crl.issuer().as_raw().to_vec(),
            serials: crl
                .iter_revoked_certificates()
                .map(|r| pki::serial_hex(r.raw_serial()))
                .collect(),
            this_update: crl.last_update().to_datetime(),
            next_update: crl.next_update().map(|t| t.to_datetime()),
            crl_number: crl.crl_number().map(|n| n.to_string()),
        })
    }

    /// Reads and checks a CRL file (e.g. the CA's or the central bundle's `crl.pem`).
    pub fn read(crl_path: &Path, ca_cert_der: &[u8]) -> Result<Self> {
        let pem = fsio::read_limited(crl_path)?;
        Self::from_pem(&pem, ca_cert_der).map_err(|e| Error::bad_file(crl_path, e.to_string()))
    }

    /// Whether the list is current at `now`; a stale list should be refreshed (`refresh-crl`).
    pub fn is_current(&self, now: OffsetDateTime) -> bool {
        now >= self.this_update && self.next_update.is_none_or(|next| now <= next)
    }

    /// When the list was signed.
    pub fn this_update(&self) -> OffsetDateTime {
        self.this_update
    }

    /// When the next list is due.
    pub fn next_update(&self) -> Option<OffsetDateTime> {
        self.next_update
    }

    /// The CRL number, in decimal.
    pub fn crl_number(&self) -> Option<&str> {
        self.crl_number.as_deref()
    }

    /// The revoked serial numbers (hex).
    pub fn serials(&self) -> impl Iterator<Item = &str> {
        self.serials.iter().map(String::as_str)
    }
}

/// Whether `cert_der`, issued by the list's CA, is revoked. A certificate that cannot be parsed
/// counts as revoked (the check fails closed); a certificate from another CA is not covered by
/// this list and is reported not revoked — the TLS chain check refuses it anyway.
pub fn is_revoked(list: &RevocationList, cert_der: &[u8]) -> bool {
    let Ok(cert) = pki::parse_cert(cert_der) else {
        return true;
    };
    cert.issuer().as_raw() == list.issuer_raw.as_slice()
        && list.serials.contains(&pki::serial_hex(cert.raw_serial()))
}
