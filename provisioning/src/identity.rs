//! What the QUIC shells (node, central, field terminal) load at start: this peer's certificate
//! and key, the CA it trusts and the role its certificate carries, the web (HTTPS) certificate and
//! key a console or dashboard presents, and a terminal's `terminal.toml` — only from a bundle that
//! passes [`verify_bundle`](crate::verify_bundle).

use std::path::Path;

use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use time::OffsetDateTime;

use crate::bundle_files as files;
use crate::error::{Error, Result};
use crate::fsio;
use crate::pki::{self, Role};
use crate::problem::Problem;
use crate::unit::TerminalOverlay;
use crate::verify::{verify_bundle_allowing, VerifiedBundle};

/// A peer's TLS identity, as rustls takes it.
#[derive(Debug)]
pub struct Identity {
    /// This peer's certificate chain, leaf first (the CA is the trust anchor and is not sent).
    pub cert_chain: Vec<CertificateDer<'static>>,
    /// This peer's private key (PKCS#8).
    pub key: PrivateKeyDer<'static>,
    /// The CA certificate every peer is checked against.
    pub ca_cert: CertificateDer<'static>,
    /// The role the certificate carries.
    pub role: Role,
}

/// Loads the identity in `bundle_dir` after verifying the bundle at the current time. A node or
/// central refuses to start on a bundle that fails verification — except for a missing
/// `bootstrap.secret`, which a node may delete once the first admin has logged in.
pub fn load_identity(bundle_dir: &Path) -> Result<Identity> {
    load_identity_at(bundle_dir, OffsetDateTime::now_utc())
}

/// [`load_identity`] at a given time.
pub fn load_identity_at(bundle_dir: &Path, now: OffsetDateTime) -> Result<Identity> {
    let verified = verify_for_use(bundle_dir, now)?;
    let (cert_name, key_name) = verified.manifest.subject.cert_and_key();
    let leaf = read_cert(bundle_dir, cert_name)?;
    let ca_cert = read_cert(bundle_dir, files::CA_CERT)?;
    Ok(Identity {
        cert_chain: vec![leaf],
        key: read_key(bundle_dir, key_name)?,
        ca_cert,
        role: verified.role,
    })
}

/// The web (HTTPS) identity of a node's console or the central's dashboard, as rustls takes it.
/// Operators' browsers trust the bundle's `ca.crt`, so the chain is the leaf alone.
#[derive(Debug)]
pub struct WebIdentity {
    /// The web certificate chain (`web.crt`), leaf first.
    pub cert_chain: Vec<CertificateDer<'static>>,
    /// Its private key (`web.key`, PKCS#8).
    pub key: PrivateKeyDer<'static>,
    /// The DNS names and IP addresses the certificate is valid for, DNS names first.
    pub names: Vec<String>,
}

/// Loads the web certificate and key in `bundle_dir` after verifying the whole bundle at the
/// current time, as [`load_identity`] does. `None` for a bundle of manifest format version 1,
/// which has no web certificate: make the bundle again to serve HTTPS.
pub fn load_web_identity(bundle_dir: &Path) -> Result<Option<WebIdentity>> {
    load_web_identity_at(bundle_dir, OffsetDateTime::now_utc())
}

/// [`load_web_identity`] at a given time.
pub fn load_web_identity_at(bundle_dir: &Path, now: OffsetDateTime) -> Result<Option<WebIdentity>> {
    let verified = verify_for_use(bundle_dir, now)?;
    if !verified.manifest.has_web_certificate() {
        return Ok(None);
    }
    Ok(Some(WebIdentity {
        cert_chain: vec![read_cert(bundle_dir, files::WEB_CERT)?],
        key: read_key(bundle_dir, files::WEB_KEY)?,
        names: verified.web_names,
    }))
}

/// A field terminal's identity from its unit bundle (`add-unit`): the TLS identity to give
/// [`field_client_config`](crate::tls::field_client_config), the unit it speaks for, and the
/// bundle's `terminal.toml` (where the node is, the name on its certificate, the console's web
/// address for the first login).
#[derive(Debug)]
pub struct UnitIdentity {
    /// `unit.crt` (leaf), `unit.key`, `ca.crt` and [`Role::Unit`].
    pub identity: Identity,
    /// The region id (`AST`), from the certificate.
    pub region: String,
    /// The unit id (`p01`), from the certificate.
    pub unit: String,
    /// `terminal.toml`, checked by the verification to agree with the certificate.
    pub terminal: TerminalOverlay,
}

/// Loads a unit bundle after verifying it at the current time. A region or central bundle is
/// refused with an [`Error::InvalidArgument`] that says so.
pub fn load_unit_identity(bundle_dir: &Path) -> Result<UnitIdentity> {
    load_unit_identity_at(bundle_dir, OffsetDateTime::now_utc())
}

/// [`load_unit_identity`] at a given time.
pub fn load_unit_identity_at(bundle_dir: &Path, now: OffsetDateTime) -> Result<UnitIdentity> {
    let identity = load_identity_at(bundle_dir, now)?;
    let Role::Unit { region, unit } = identity.role.clone() else {
        return Err(Error::invalid(
            "bundle",
            format!(
                "{} is the bundle of {}; a field terminal needs a unit bundle (add-unit)",
                bundle_dir.display(),
                identity.role
            ),
        ));
    };
    let path = bundle_dir.join(files::TERMINAL_CONFIG);
    let terminal = toml::from_str(&fsio::read_text(&path)?)
        .map_err(|e| Error::bad_file(&path, format!("invalid terminal config: {e}")))?;
    Ok(UnitIdentity {
        identity,
        region,
        unit,
        terminal,
    })
}

/// Verifies a bundle a node or central is about to use: every check, but a node may have deleted
/// its used first-admin secret.
fn verify_for_use(bundle_dir: &Path, now: OffsetDateTime) -> Result<VerifiedBundle> {
    verify_bundle_allowing(
        bundle_dir,
        now,
        |p| matches!(p, Problem::Missing { file } if file == files::BOOTSTRAP_SECRET),
    )
}

fn read_cert(bundle_dir: &Path, name: &str) -> Result<CertificateDer<'static>> {
    let path = bundle_dir.join(name);
    fsio::read_limited(&path).and_then(|pem| pki::cert_from_pem(&path, &pem))
}

fn read_key(bundle_dir: &Path, name: &str) -> Result<PrivateKeyDer<'static>> {
    let path = bundle_dir.join(name);
    let (key, _) = pki::key_from_pem(&path, &fsio::read_limited(&path)?)?;
    Ok(PrivateKeyDer::Pkcs8(key))
}
