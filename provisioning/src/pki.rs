//! Certificates: how a peer's role is written into and read back from a certificate, PEM
//! parsing, serial numbers, and issuing a node, central or web (HTTPS) certificate.
//!
//! A region's certificate carries the region twice, in forms that cannot be confused with anything
//! else: the common name `region:AST` (for people reading `openssl x509 -text`) and the URI SAN
//! `urn:mvd102:region:AST` (what software reads). A certificate with both must have them agree; a
//! certificate with two regions, or a region and the central role, is refused. The central's
//! certificate carries `central:NAME` and `urn:mvd102:central:NAME` the same way.
//!
//! A unit certificate (a field terminal's, `add-unit`) carries `unit:AST:p01` and
//! `urn:mvd102:unit:AST:p01` the same way, and allows TLS client authentication only: a terminal
//! dials its node and never serves anyone.
//!
//! A web certificate (the HTTPS certificate of a node's console or the central's dashboard) has
//! the common name `web:AST` or `web:NAME`, only DNS and IP SANs, and only the serverAuth usage:
//! it carries no role, so neither side of the replication link accepts it.

use std::fmt;
use std::net::IpAddr;
use std::path::Path;

use rand::{CryptoRng, RngCore};
use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType, SerialNumber,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivatePkcs8KeyDer};
use time::{Duration, OffsetDateTime};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::FromDer;

use crate::error::{Error, Result};
use crate::limits::{NOT_BEFORE_BACKDATE_S, SERIAL_BYTES};
use crate::settings::{RegionId, UnitId};

/// Prefix of a region's URI SAN: `urn:mvd102:region:AST`.
pub const REGION_URN_PREFIX: &str = "urn:mvd102:region:";
/// Prefix of the central's URI SAN: `urn:mvd102:central:NAME`.
pub const CENTRAL_URN_PREFIX: &str = "urn:mvd102:central:";
/// Prefix of a unit's URI SAN: `urn:mvd102:unit:AST:p01` (region, then unit id).
pub const UNIT_URN_PREFIX: &str = "urn:mvd102:unit:";
/// Prefix every role URI SAN of this network starts with.
pub const MVD102_URN_PREFIX: &str = "urn:mvd102:";
/// Prefix of a region's common name: `region:AST`.
pub const REGION_CN_PREFIX: &str = "region:";
/// Prefix of the central's common name: `central:NAME`.
pub const CENTRAL_CN_PREFIX: &str = "central:";
/// Prefix of a unit's common name: `unit:AST:p01`.
pub const UNIT_CN_PREFIX: &str = "unit:";
/// Prefix of a web (HTTPS) certificate's common name: `web:AST`, `web:central`. It claims no role.
pub const WEB_CN_PREFIX: &str = "web:";
/// Organisation written into every certificate's subject.
pub const ORGANIZATION: &str = "МВД РК 102";

/// Who a certificate speaks for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// A regional node; the region id (`AST`).
    Region(String),
    /// The МВД central hub.
    Central,
    /// A field unit's terminal (FieldTerminal): the unit `unit` of region `region`.
    Unit {
        /// The region id (`AST`).
        region: String,
        /// The unit id (`p01`).
        unit: String,
    },
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Role::Region(id) => write!(f, "region {id}"),
            Role::Central => f.write_str("central"),
            Role::Unit { region, unit } => write!(f, "unit {unit} of region {region}"),
        }
    }
}

/// A role with the name it was issued to: the region id, the central's name, or `AST:p01` for a
/// unit (its [`unit_name`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Holder {
    pub(crate) role: Role,
    pub(crate) name: String,
}

fn bad_cert(reason: impl Into<String>) -> Error {
    Error::BadCertificate {
        reason: reason.into(),
    }
}

/// Parses DER that must be exactly one certificate.
pub(crate) fn parse_cert(der: &[u8]) -> Result<X509Certificate<'_>> {
    match X509Certificate::from_der(der) {
        Ok(([], cert)) => Ok(cert),
        Ok(_) => Err(bad_cert("trailing bytes after the certificate")),
        Err(e) => Err(bad_cert(format!("not an X.509 certificate: {e}"))),
    }
}

/// Reads the role written into a certificate; `None` when it carries none of ours.
pub(crate) fn holder_of(cert: &X509Certificate<'_>) -> Result<Option<Holder>> {
    let sans = cert
        .subject_alternative_name()
        .map_err(|e| bad_cert(format!("unreadable subject alternative names: {e}")))?;
    let mut found: Vec<Holder> = Vec::new();
    for name in sans.iter().flat_map(|ext| ext.value.general_names.iter()) {
        let GeneralName::URI(uri) = name else {
            continue;
        };
        if let Some(id) = uri.strip_prefix(REGION_URN_PREFIX) {
            let id = RegionId::parse(id).map_err(|e| bad_cert(format!("URI SAN {uri:?}: {e}")))?;
            found.push(Holder {
                role: Role::Region(id.as_str().to_owned()),
                name: id.as_str().to_owned(),
            });
        } else if let Some(central) = uri.strip_prefix(CENTRAL_URN_PREFIX) {
            found.push(Holder {
                role: Role::Central,
                name: central.to_owned(),
            });
        } else if let Some(name) = uri.strip_prefix(UNIT_URN_PREFIX) {
            let (region, unit) =
                parse_unit_name(name).map_err(|e| bad_cert(format!("URI SAN {uri:?}: {e}")))?;
            found.push(Holder {
                role: Role::Unit {
                    region: region.as_str().to_owned(),
                    unit: unit.as_str().to_owned(),
                },
                name: name.to_owned(),
            });
        }
    }
    let holder = match found.len() {
        0 => None,
        1 => found.pop(),
        _ => {
            return Err(bad_cert(
                "carries more than one mvd102 role (URI SANs); refused as ambiguous",
            ))
        }
    };
    // The common name is for people, but if it claims a role it must be the same one.
    for cn in cert.subject().iter_common_name() {
        let cn = cn
            .as_str()
            .map_err(|e| bad_cert(format!("unreadable common name: {e}")))?;
        let claimed = [
            (RoleKind::Region, REGION_CN_PREFIX),
            (RoleKind::Central, CENTRAL_CN_PREFIX),
            (RoleKind::Unit, UNIT_CN_PREFIX),
        ]
        .into_iter()
        .find_map(|(kind, prefix)| cn.strip_prefix(prefix).map(|name| (kind, name)));
        let Some((kind, name)) = claimed else {
            continue;
        };
        let agrees = match &holder {
            Some(h) => RoleKind::of(&h.role) == kind && h.name == name,
            None => false,
        };
        if !agrees {
            return Err(bad_cert(format!(
                "common name {cn:?} does not match the certificate's URI SAN"
            )));
        }
    }
    Ok(holder)
}

/// The kind of a role, without its names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RoleKind {
    Region,
    Central,
    Unit,
}

impl RoleKind {
    fn of(role: &Role) -> Self {
        match role {
            Role::Region(_) => RoleKind::Region,
            Role::Central => RoleKind::Central,
            Role::Unit { .. } => RoleKind::Unit,
        }
    }
}

/// `AST:p01`: how a unit is named in its certificate (after `unit:` and `urn:mvd102:unit:`),
/// in `issued.json` and `revoked.json`.
pub fn unit_name(region: &str, unit: &str) -> String {
    format!("{region}:{unit}")
}

/// Splits and checks `AST:p01`.
pub(crate) fn parse_unit_name(name: &str) -> Result<(RegionId, UnitId)> {
    let (region, unit) = name.split_once(':').ok_or_else(|| {
        Error::invalid(
            "unit",
            format!("{name:?} is not REGION:UNIT (e.g. AST:p01)"),
        )
    })?;
    Ok((RegionId::parse(region)?, UnitId::parse(unit)?))
}

/// The role of a peer's certificate (DER). Errors when the certificate is malformed, carries no
/// mvd102 role, or is ambiguous.
pub fn role_of(cert_der: &[u8]) -> Result<Role> {
    let cert = parse_cert(cert_der)?;
    holder_of(&cert)?
        .map(|h| h.role)
        .ok_or_else(|| bad_cert("carries no mvd102 role (no urn:mvd102: URI SAN)"))
}

/// The region a node's certificate (DER) was issued to: `Some("AST")`, or `None` for the
/// central, a field unit (see [`unit_of`]) or a certificate without an mvd102 role. Errors when it is malformed or ambiguous.
///
/// The central takes a node's region from here, never from the node's messages.
pub fn region_of(cert_der: &[u8]) -> Result<Option<String>> {
    let cert = parse_cert(cert_der)?;
    Ok(match holder_of(&cert)? {
        Some(Holder {
            role: Role::Region(id),
            ..
        }) => Some(id),
        _ => None,
    })
}

/// The unit a field terminal's certificate (DER) was issued to: `(region, unit)`, e.g.
/// `("AST", "p01")`. Errors when the certificate is malformed, ambiguous, or not a unit's (a
/// node's, the central's, a web certificate).
///
/// The node takes a terminal's unit from here, never from the terminal's messages.
pub fn unit_of(cert_der: &[u8]) -> Result<(String, String)> {
    let cert = parse_cert(cert_der)?;
    match holder_of(&cert)? {
        Some(Holder {
            role: Role::Unit { region, unit },
            ..
        }) => Ok((region, unit)),
        Some(Holder { role, .. }) => Err(bad_cert(format!(
            "is the certificate of {role}, not of a field unit (urn:mvd102:unit:)"
        ))),
        None => Err(bad_cert(
            "carries no mvd102 role (no urn:mvd102: URI SAN), so it is not a field unit's",
        )),
    }
}

/// Reads the first certificate from PEM text.
pub(crate) fn cert_from_pem(path: &Path, pem: &[u8]) -> Result<CertificateDer<'static>> {
    CertificateDer::from_pem_slice(pem)
        .map_err(|e| Error::bad_file(path, format!("no PEM certificate: {e}")))
}

/// Reads a PKCS#8 private key from PEM text.
pub(crate) fn key_from_pem(
    path: &Path,
    pem: &[u8],
) -> Result<(PrivatePkcs8KeyDer<'static>, KeyPair)> {
    let der = PrivatePkcs8KeyDer::from_pem_slice(pem)
        .map_err(|e| Error::bad_file(path, format!("no PEM PKCS#8 private key: {e}")))?;
    let key = KeyPair::try_from(&der)
        .map_err(|e| Error::bad_file(path, format!("unusable private key: {e}")))?;
    Ok((der, key))
}

/// Whether `key` is the private half of `cert`'s public key.
pub(crate) fn key_matches(cert: &X509Certificate<'_>, key: &KeyPair) -> bool {
    use rcgen::PublicKeyData;
    cert.public_key().subject_public_key.data.as_ref() == key.der_bytes()
}

/// A fresh positive serial number of `SERIAL_BYTES` bytes whose DER form has no padding byte, so
/// its hex form is the same everywhere (manifest, `issued.json`, CRL).
pub(crate) fn new_serial(rng: &mut (impl RngCore + CryptoRng)) -> [u8; SERIAL_BYTES] {
    let mut serial = [0u8; SERIAL_BYTES];
    rng.fill_bytes(&mut serial);
    serial[0] = (serial[0] & 0x7f) | 0x40;
    serial
}

/// A serial number's canonical hex form: lower case, without leading zero bytes.
pub(crate) fn serial_hex(raw: &[u8]) -> String {
    let first = raw.iter().position(|b| *b != 0).unwrap_or(raw.len());
    hex::encode(&raw[first..])
}

/// Checks a serial number recorded in a CA file: lower-case hex of 1–20 bytes (RFC 5280).
pub(crate) fn check_serial(path: &Path, serial: &str) -> Result<()> {
    let lower = !serial.bytes().any(|b| b.is_ascii_uppercase());
    let bytes = hex::decode(serial).map(|b| b.len()).unwrap_or(0);
    if !lower || bytes == 0 || bytes > 20 {
        return Err(Error::bad_file(
            path,
            format!("serial {serial:?} is not lower-case hex of 1–20 bytes"),
        ));
    }
    Ok(())
}

/// Validity of a certificate issued at `now` for `valid_days`.
pub(crate) fn validity(now: OffsetDateTime, valid_days: u32) -> (OffsetDateTime, OffsetDateTime) {
    let now = now.replace_nanosecond(0).unwrap_or(now);
    (
        now - Duration::seconds(NOT_BEFORE_BACKDATE_S),
        now + Duration::days(i64::from(valid_days)),
    )
}

/// What a certificate is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// A node's or the central's replication identity: the mvd102 role URI SAN, TLS server and
    /// client authentication.
    Peer {
        /// `urn:mvd102:region:AST` or `urn:mvd102:central:NAME`.
        uri: String,
    },
    /// The HTTPS certificate of a node's console or the central's dashboard: TLS server
    /// authentication only and no mvd102 role URI, so it can never pass as a replication identity.
    Web,
    /// A field terminal's identity: the unit's role URI SAN and TLS client authentication only.
    Unit {
        /// `urn:mvd102:unit:AST:p01`.
        uri: String,
    },
}

/// What goes into a node, central or web certificate (validity and serial come separately).
#[derive(Debug, Clone)]
pub(crate) struct CertRequest {
    pub(crate) common_name: String,
    pub(crate) purpose: Purpose,
    pub(crate) dns: Vec<String>,
    pub(crate) ip: Vec<IpAddr>,
}

/// A freshly issued certificate with its key.
pub(crate) struct Issued {
    pub(crate) cert_pem: String,
    pub(crate) key_pem: String,
}

/// Generates a P-256 key and a certificate for it as `request` describes, signed by `issuer`.
pub(crate) fn issue(
    issuer: &Issuer<'_, KeyPair>,
    request: &CertRequest,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    serial: &[u8; SERIAL_BYTES],
) -> Result<Issued> {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
        .map_err(Error::crypto("generating the key"))?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, ORGANIZATION);
    dn.push(DnType::CommonName, request.common_name.as_str());
    params.distinguished_name = dn;
    let mut sans = Vec::new();
    if let Purpose::Peer { uri } | Purpose::Unit { uri } = &request.purpose {
        sans.push(SanType::URI(
            uri.clone()
                .try_into()
                .map_err(Error::crypto("encoding the URI SAN"))?,
        ));
    }
    for dns in &request.dns {
        sans.push(SanType::DnsName(
            dns.clone()
                .try_into()
                .map_err(Error::crypto("encoding a DNS SAN"))?,
        ));
    }
    sans.extend(request.ip.iter().copied().map(SanType::IpAddress));
    params.subject_alt_names = sans;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = match request.purpose {
        Purpose::Peer { .. } => vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ],
        Purpose::Web => vec![ExtendedKeyUsagePurpose::ServerAuth],
        Purpose::Unit { .. } => vec![ExtendedKeyUsagePurpose::ClientAuth],
    };
    params.use_authority_key_identifier_extension = true;
    params.serial_number = Some(SerialNumber::from_slice(serial));
    params.not_before = not_before;
    params.not_after = not_after;
    let cert = params
        .signed_by(&key, issuer)
        .map_err(Error::crypto("signing the certificate"))?;
    Ok(Issued {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

/// The DNS names and IP addresses (as text) a certificate's subject alternative names carry, DNS
/// names first.
pub(crate) fn server_names(cert: &X509Certificate<'_>) -> Result<Vec<String>> {
    let sans = cert
        .subject_alternative_name()
        .map_err(|e| bad_cert(format!("unreadable subject alternative names: {e}")))?;
    let mut dns = Vec::new();
    let mut ip = Vec::new();
    for name in sans.iter().flat_map(|ext| ext.value.general_names.iter()) {
        match name {
            GeneralName::DNSName(name) => dns.push((*name).to_owned()),
            GeneralName::IPAddress(raw) => {
                let addr = <[u8; 4]>::try_from(*raw)
                    .map(IpAddr::from)
                    .or_else(|_| <[u8; 16]>::try_from(*raw).map(IpAddr::from))
                    .map_err(|_| {
                        bad_cert(format!(
                            "an IP address SAN has {} bytes; expected 4 or 16",
                            raw.len()
                        ))
                    })?;
                ip.push(addr.to_string());
            }
            _ => {}
        }
    }
    dns.extend(ip);
    Ok(dns)
}

/// The URI SANs of a certificate that use this network's `urn:mvd102:` namespace.
pub(crate) fn mvd102_uris(cert: &X509Certificate<'_>) -> Result<Vec<String>> {
    let sans = cert
        .subject_alternative_name()
        .map_err(|e| bad_cert(format!("unreadable subject alternative names: {e}")))?;
    Ok(sans
        .iter()
        .flat_map(|ext| ext.value.general_names.iter())
        .filter_map(|name| match name {
            GeneralName::URI(uri) if uri.starts_with(MVD102_URN_PREFIX) => Some((*uri).to_owned()),
            _ => None,
        })
        .collect())
}
