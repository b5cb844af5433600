//! The private certificate authority: creating it (`init-ca`), opening it to sign, and the record
//! of every certificate it signed (`issued.json`), which `revoke --region` reads.

use std::fs::DirBuilder;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use rand::{CryptoRng, RngCore};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SerialNumber,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ca_files;
use crate::crl::{self, RevocationRecord};
use crate::error::{Error, Result};
use crate::fsio::{self, read_json, to_json, Staging, MODE_DIR, MODE_PUBLIC, MODE_SECRET};
use crate::limits::ISSUED_CERTS_MAX;
use crate::pki::{self, check_serial, ORGANIZATION};
use crate::progress::Progress;
use crate::settings::CaSettings;

/// Version of `issued.json`.
pub const ISSUED_FORMAT_VERSION: u32 = 1;

/// Role of a node certificate in the CA's `issued.json`.
pub(crate) const ROLE_REGION: &str = "region";
/// Role of a region's web (HTTPS) certificate in `issued.json`.
pub(crate) const ROLE_REGION_WEB: &str = "region-web";
/// Role of a central certificate in `issued.json`.
pub(crate) const ROLE_CENTRAL: &str = "central";
/// Role of the central's web (HTTPS) certificate in `issued.json`.
pub(crate) const ROLE_CENTRAL_WEB: &str = "central-web";
/// Role of a field unit's certificate in `issued.json`; its subject is `AST:p01`.
pub(crate) const ROLE_UNIT: &str = "unit";

/// What `init-ca` made.
#[derive(Debug, Clone)]
pub struct CaSummary {
    /// The CA directory.
    pub dir: PathBuf,
    /// The CA certificate's serial number (hex).
    pub serial: String,
    /// When the CA certificate expires.
    pub not_after: OffsetDateTime,
}

/// Creates a CA in `dir`, which must not exist or be empty: a P-256 key (`ca.key`, 0600), a
/// self-signed certificate (`ca.crt`), an empty `issued.json` and `revoked.json`, and an empty
/// signed `crl.pem`. Everything is written beside `dir` first and renamed into place, so a failed
/// run leaves nothing behind.
pub fn init_ca(
    dir: &Path,
    settings: &CaSettings,
    now: OffsetDateTime,
    rng: &mut (impl RngCore + CryptoRng),
    progress: &mut dyn Progress,
) -> Result<CaSummary> {
    if dir.join(ca_files::KEY).exists() || dir.join(ca_files::CERT).exists() {
        return Err(Error::AlreadyExists {
            path: dir.to_owned(),
            hint: "a CA already lives here and init-ca never overwrites one",
        });
    }
    fsio::ensure_absent_or_empty(dir, "init-ca writes into a new or empty directory")?;
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        DirBuilder::new()
            .recursive(true)
            .mode(MODE_DIR)
            .create(parent)
            .map_err(|e| Error::io(parent, e))?;
    }

    progress.step("generating the CA key (ECDSA P-256)");
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
        .map_err(Error::crypto("generating the CA key"))?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, ORGANIZATION);
    dn.push(DnType::CommonName, settings.name.as_str());
    params.distinguished_name = dn;
    // The CA signs nodes and the central directly; no intermediate CA may exist below it.
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let serial = pki::new_serial(rng);
    params.serial_number = Some(SerialNumber::from_slice(&serial));
    let (not_before, not_after) = pki::validity(now, settings.valid_days.days());
    params.not_before = not_before;
    params.not_after = not_after;

    progress.step("signing the CA certificate");
    let cert = params
        .self_signed(&key)
        .map_err(Error::crypto("signing the CA certificate"))?;
    let issuer = Issuer::new(params, key);

    progress.step("writing the CA directory");
    let staging = Staging::beside(dir)?;
    fsio::write_new(
        &staging.path(ca_files::KEY),
        issuer.key().serialize_pem().as_bytes(),
        MODE_SECRET,
    )?;
    fsio::write_new(
        &staging.path(ca_files::CERT),
        cert.pem().as_bytes(),
        MODE_PUBLIC,
    )?;
    fsio::write_new(
        &staging.path(ca_files::ISSUED),
        &to_json(&IssuedRegistry::default()),
        MODE_PUBLIC,
    )?;
    let record = RevocationRecord::default();
    fsio::write_new(
        &staging.path(ca_files::REVOKED),
        &to_json(&record),
        MODE_PUBLIC,
    )?;
    let crl = crl::sign_crl(&issuer, &record, now)?;
    fsio::write_new(&staging.path(ca_files::CRL), crl.as_bytes(), MODE_PUBLIC)?;
    staging.publish(dir, "init-ca writes into a new or empty directory")?;
    progress.finish();
    Ok(CaSummary {
        dir: dir.to_owned(),
        serial: pki::serial_hex(&serial),
        not_after,
    })
}

/// One certificate the CA signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuedCert {
    /// Serial number (lower-case hex).
    pub serial: String,
    /// `region` (a node certificate), `region-web` (a node console's web certificate), `central`,
    /// `central-web` or `unit` (a field terminal's certificate).
    pub role: String,
    /// The region id, the central's name, or `AST:p01` for a unit.
    pub subject: String,
    /// When it was issued.
    #[serde(with = "time::serde::rfc3339")]
    pub issued_at: OffsetDateTime,
    /// When it expires.
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    /// The bundle directory it was written to, as given on the command line.
    pub bundle: String,
}

/// `issued.json`: every certificate the CA signed, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuedRegistry {
    /// `ISSUED_FORMAT_VERSION`.
    pub format_version: u32,
    /// The certificates.
    pub certificates: Vec<IssuedCert>,
}

impl Default for IssuedRegistry {
    fn default() -> Self {
        IssuedRegistry {
            format_version: ISSUED_FORMAT_VERSION,
            certificates: Vec::new(),
        }
    }
}

impl IssuedRegistry {
    /// Reads a CA directory's `issued.json`.
    pub fn read(ca_dir: &Path) -> Result<Self> {
        let path = ca_dir.join(ca_files::ISSUED);
        let registry: IssuedRegistry = read_json(&path)?;
        if registry.format_version != ISSUED_FORMAT_VERSION {
            return Err(Error::bad_file(
                &path,
                format!(
                    "format_version {} is not the supported {ISSUED_FORMAT_VERSION}",
                    registry.format_version
                ),
            ));
        }
        for cert in &registry.certificates {
            check_serial(&path, &cert.serial)?;
        }
        if registry.certificates.len() > ISSUED_CERTS_MAX {
            return Err(Error::bad_file(
                &path,
                format!("records more than {ISSUED_CERTS_MAX} certificates"),
            ));
        }
        Ok(registry)
    }

    pub(crate) fn write(&self, ca_dir: &Path) -> Result<()> {
        fsio::replace(&ca_dir.join(ca_files::ISSUED), &to_json(self), MODE_PUBLIC)
    }

    pub(crate) fn record(&mut self, cert: IssuedCert, ca_dir: &Path) -> Result<()> {
        if self.certificates.len() >= ISSUED_CERTS_MAX {
            return Err(Error::bad_file(
                ca_dir.join(ca_files::ISSUED),
                format!("the CA has issued {ISSUED_CERTS_MAX} certificates, its limit"),
            ));
        }
        self.certificates.push(cert);
        Ok(())
    }
}

/// An opened CA, ready to sign.
pub(crate) struct Ca {
    pub(crate) dir: PathBuf,
    pub(crate) issuer: Issuer<'static, KeyPair>,
    pub(crate) cert_pem: String,
    pub(crate) not_after: OffsetDateTime,
}

impl Ca {
    /// Opens a CA directory: reads `ca.key` and `ca.crt` and checks that they belong together and
    /// that the certificate is a CA.
    pub(crate) fn open(dir: &Path) -> Result<Self> {
        let key_path = dir.join(ca_files::KEY);
        let cert_path = dir.join(ca_files::CERT);
        let key_pem = fsio::read_limited(&key_path)?;
        let cert_pem = fsio::read_text(&cert_path)?;
        let (_, key) = pki::key_from_pem(&key_path, &key_pem)?;
        let cert_der = pki::cert_from_pem(&cert_path, cert_pem.as_bytes())?;
        let parsed =
            pki::parse_cert(&cert_der).map_err(|e| Error::bad_file(&cert_path, e.to_string()))?;
        if !parsed.is_ca() {
            return Err(Error::bad_file(&cert_path, "is not a CA certificate"));
        }
        if !pki::key_matches(&parsed, &key) {
            return Err(Error::bad_file(
                &key_path,
                format!("is not the key of {}", cert_path.display()),
            ));
        }
        let not_after = parsed.validity().not_after.to_datetime();
        let issuer = Issuer::from_ca_cert_der(&cert_der, key)
            .map_err(|e| Error::bad_file(&cert_path, format!("unusable as an issuer: {e}")))?;
        Ok(Ca {
            dir: dir.to_owned(),
            issuer,
            cert_pem,
            not_after,
        })
    }
}
