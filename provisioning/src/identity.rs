//! What the QUIC shells (node, central) load at start: this peer's certificate and key, the CA it
//! trusts and the role its certificate carries — only from a bundle that passes
//! [`verify_bundle`](crate::verify_bundle).

use std::path::Path;

use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use time::OffsetDateTime;

use crate::bundle_files as files;
use crate::error::Result;
use crate::fsio;
use crate::pki::{self, Role};
use crate::verify::{verify_bundle_allowing, Problem};

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
    let verified = verify_bundle_allowing(
        bundle_dir,
        now,
        |p| matches!(p, Problem::Missing { file } if file == files::BOOTSTRAP_SECRET),
    )?;
    let (cert_name, key_name) = verified.manifest.subject.cert_and_key();
    let read_cert = |name: &str| {
        let path = bundle_dir.join(name);
        fsio::read_limited(&path).and_then(|pem| pki::cert_from_pem(&path, &pem))
    };
    let leaf = read_cert(cert_name)?;
    let ca_cert = read_cert(files::CA_CERT)?;
    let key_path = bundle_dir.join(key_name);
    let (key, _) = pki::key_from_pem(&key_path, &fsio::read_limited(&key_path)?)?;
    Ok(Identity {
        cert_chain: vec![leaf],
        key: PrivateKeyDer::Pkcs8(key),
        ca_cert,
        role: verified.role,
    })
}
