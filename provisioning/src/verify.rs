//! `verify`: everything that must hold for a bundle to be installed, each failure naming its file.
//!
//! Checks run in this order and a file that fails an early check (missing, wrong digest) is not
//! examined further, so one damaged file gives one problem rather than a cascade.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use time::OffsetDateTime;
use x509_parser::certificate::X509Certificate;
use x509_parser::time::ASN1Time;

use crate::bundle::{CentralOverlay, NodeOverlay, OverlayField, OverlayHttps, OverlayTls};
use crate::bundle_files as files;
use crate::error::{Error, Result};
use crate::fsio;
use crate::manifest::{self, CertificateInfo, Manifest, Subject};
use crate::pki::{self, unit_name, Holder, Role, WEB_CN_PREFIX};
use crate::problem::Problem;
use crate::revoke::RevocationList;
use crate::settings::{DnsName, NodeAddress, NodeWebUrl, RegionId, UnitId};
use crate::unit::TerminalOverlay;

/// A bundle that passed every check.
#[derive(Debug, Clone)]
pub struct VerifiedBundle {
    /// The bundle directory.
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
    /// The role its certificate carries.
    pub role: Role,
    /// The DNS names and IP addresses on its web (HTTPS) certificate, DNS names first: the names
    /// operators' browsers may use to open the console or dashboard. Empty for a format version 1
    /// bundle, which has no web certificate.
    pub web_names: Vec<String>,
}

/// Checks a bundle at time `now`: the manifest's format, every file present with its recorded
/// SHA-256, the certificate signed by the bundle's CA and valid at `now`, its role equal to the
/// manifest's, the key matching the certificate, secret files mode 0600 and the config overlay
/// agreeing with the manifest. From format version 2 on, the same for the web certificate
/// (`web.crt`, `web.key`), which must also name at least one DNS name or IP address, allow TLS
/// server authentication only and carry no mvd102 role. A `crl.pem` the config overlay names (the
/// central's; a region's from format version 3 on) must be a revocation list signed by the
/// bundle's CA. A unit bundle (format version 3 on) has a certificate for TLS client
/// authentication only, naming the manifest's unit, and a `terminal.toml` naming the same unit,
/// a valid node address and server name and, if any, an `https` web URL.
///
/// An unreadable manifest is an [`Error::BadFile`]; everything else wrong is collected into one
/// [`Error::InvalidBundle`].
pub fn verify_bundle(dir: &Path, now: OffsetDateTime) -> Result<VerifiedBundle> {
    verify_bundle_allowing(dir, now, |_| false)
}

/// [`verify_bundle`], forgiving the problems `forgiven` accepts (e.g. a first-admin secret the
/// node deleted once it was used).
pub(crate) fn verify_bundle_allowing(
    dir: &Path,
    now: OffsetDateTime,
    forgiven: impl Fn(&Problem) -> bool,
) -> Result<VerifiedBundle> {
    let manifest = Manifest::read(dir)?;
    let mut problems = Vec::new();
    let required = manifest.expected_files();
    let optional = manifest.subject.optional_files();

    for name in manifest.files.keys() {
        if !required.contains(&name.as_str()) && !optional.contains(&name.as_str()) {
            problems.push(Problem::UnexpectedEntry { file: name.clone() });
        }
    }
    // An optional file is checked when the manifest lists it; one slipped in unlisted is refused.
    let mut expected: Vec<&'static str> = required;
    for &name in optional {
        if manifest.files.contains_key(name) {
            expected.push(name);
        } else if dir.join(name).exists() {
            problems.push(Problem::NotInManifest { file: name.into() });
        }
    }

    // Contents of the files whose digest matched, the only ones examined further.
    let mut sound: BTreeMap<&str, Vec<u8>> = BTreeMap::new();
    for &name in &expected {
        let Some(entry) = manifest.files.get(name) else {
            problems.push(Problem::NotInManifest { file: name.into() });
            continue;
        };
        let path = dir.join(name);
        let content = match fsio::read_limited(&path) {
            Ok(content) => content,
            Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                problems.push(Problem::Missing { file: name.into() });
                continue;
            }
            Err(e) => {
                problems.push(Problem::Unreadable {
                    file: name.into(),
                    reason: strip_path(&e, &path),
                });
                continue;
            }
        };
        let actual = manifest::sha256_hex(&content);
        if actual != entry.sha256 || content.len() as u64 != entry.bytes {
            problems.push(Problem::DigestMismatch {
                file: name.into(),
                expected: entry.sha256.clone(),
                actual,
            });
            continue;
        }
        sound.insert(name, content);
    }

    for name in manifest.secret_files() {
        if let Ok(mode) = fsio::mode_of(&dir.join(name)) {
            if mode & 0o077 != 0 {
                problems.push(Problem::ModeTooOpen {
                    file: name.into(),
                    mode,
                });
            }
        }
    }

    let (cert_name, key_name) = manifest.subject.cert_and_key();
    let ca = sound
        .get(files::CA_CERT)
        .and_then(|pem| parse_pem_cert(files::CA_CERT, dir, pem, &mut problems));
    let leaf = sound
        .get(cert_name)
        .and_then(|pem| parse_pem_cert(cert_name, dir, pem, &mut problems));
    let ca_parsed = ca.as_deref().and_then(|der| {
        parse_der(files::CA_CERT, der, &mut problems).filter(|ca| check_ca(ca, now, &mut problems))
    });
    let leaf_parsed = leaf
        .as_deref()
        .and_then(|der| parse_der(cert_name, der, &mut problems));
    let mut role = None;
    if let Some(leaf) = &leaf_parsed {
        if let Some(ca) = &ca_parsed {
            check_signed_by(cert_name, leaf, ca, &mut problems);
        }
        check_validity(cert_name, leaf, now, &mut problems);
        check_usage(cert_name, leaf, &manifest.subject, &mut problems);
        check_against_manifest(cert_name, leaf, &manifest.certificate, &mut problems);
        role = check_role(cert_name, leaf, &manifest.subject, &mut problems);
        check_key(dir, key_name, cert_name, leaf, &sound, &mut problems);
    }
    let mut web_names = Vec::new();
    if manifest.has_web_certificate() {
        let web = sound
            .get(files::WEB_CERT)
            .and_then(|pem| parse_pem_cert(files::WEB_CERT, dir, pem, &mut problems));
        let web_parsed = web
            .as_deref()
            .and_then(|der| parse_der(files::WEB_CERT, der, &mut problems));
        if let Some(web) = &web_parsed {
            let file = files::WEB_CERT;
            if let Some(ca) = &ca_parsed {
                check_signed_by(file, web, ca, &mut problems);
            }
            check_validity(file, web, now, &mut problems);
            if let Some(info) = &manifest.web_certificate {
                check_against_manifest(file, web, info, &mut problems);
            }
            web_names = check_web(web, &manifest.subject, &mut problems);
            check_key(dir, files::WEB_KEY, file, web, &sound, &mut problems);
        }
    }
    check_config(&manifest, &sound, &mut problems);
    if let Some(ca) = &ca {
        check_crl(dir, &manifest, ca, &mut problems);
    }
    if let Some(secret) = sound.get(files::BOOTSTRAP_SECRET) {
        let first_line = String::from_utf8_lossy(secret);
        if first_line
            .lines()
            .next()
            .is_none_or(|l| l.trim().is_empty())
        {
            problems.push(Problem::Unreadable {
                file: files::BOOTSTRAP_SECRET.into(),
                reason: "holds no password".into(),
            });
        }
    }

    problems.retain(|p| !forgiven(p));
    match (problems.is_empty(), role) {
        (true, Some(role)) => Ok(VerifiedBundle {
            dir: dir.to_owned(),
            manifest,
            role,
            web_names,
        }),
        (true, None) => Err(Error::InvalidBundle {
            dir: dir.to_owned(),
            problems: vec![Problem::Unreadable {
                file: cert_name.into(),
                reason: "carries no role".into(),
            }],
        }),
        (false, _) => Err(Error::InvalidBundle {
            dir: dir.to_owned(),
            problems,
        }),
    }
}

/// An error's message without the path prefix, since a problem already names its file.
fn strip_path(error: &Error, path: &Path) -> String {
    let text = error.to_string();
    let prefix = format!("{}: ", path.display());
    text.strip_prefix(&prefix).unwrap_or(&text).to_owned()
}

fn parse_pem_cert(
    name: &str,
    dir: &Path,
    pem: &[u8],
    problems: &mut Vec<Problem>,
) -> Option<Vec<u8>> {
    let path = dir.join(name);
    match pki::cert_from_pem(&path, pem) {
        Ok(der) => Some(der.to_vec()),
        Err(e) => {
            problems.push(Problem::Unreadable {
                file: name.into(),
                reason: strip_path(&e, &path),
            });
            None
        }
    }
}

fn parse_der<'a>(
    name: &str,
    der: &'a [u8],
    problems: &mut Vec<Problem>,
) -> Option<X509Certificate<'a>> {
    match pki::parse_cert(der) {
        Ok(cert) => Some(cert),
        Err(e) => {
            problems.push(Problem::Unreadable {
                file: name.into(),
                reason: e.to_string(),
            });
            None
        }
    }
}

/// Whether `ca.crt` is a self-signed CA valid at `now`; problems are recorded.
fn check_ca(ca: &X509Certificate<'_>, now: OffsetDateTime, problems: &mut Vec<Problem>) -> bool {
    let file = files::CA_CERT;
    let before = problems.len();
    if !ca.is_ca() {
        problems.push(Problem::NotACa {
            file: file.into(),
            reason: "basic constraints do not say CA".into(),
        });
    }
    if ca.subject().as_raw() != ca.issuer().as_raw() || ca.verify_signature(None).is_err() {
        problems.push(Problem::NotACa {
            file: file.into(),
            reason: "not a self-signed root certificate".into(),
        });
    }
    check_validity(file, ca, now, problems);
    problems.len() == before
}

fn check_signed_by(
    file: &str,
    leaf: &X509Certificate<'_>,
    ca: &X509Certificate<'_>,
    problems: &mut Vec<Problem>,
) {
    if leaf.issuer().as_raw() != ca.subject().as_raw() {
        problems.push(Problem::NotSignedByCa {
            file: file.into(),
            reason: format!(
                "its issuer is {:?}, the CA is {:?}",
                leaf.issuer().to_string(),
                ca.subject().to_string()
            ),
        });
    } else if let Err(e) = leaf.verify_signature(Some(ca.public_key())) {
        problems.push(Problem::NotSignedByCa {
            file: file.into(),
            reason: format!("the signature does not verify with the CA's key ({e})"),
        });
    }
}

fn check_validity(
    file: &str,
    cert: &X509Certificate<'_>,
    now: OffsetDateTime,
    problems: &mut Vec<Problem>,
) {
    let validity = cert.validity();
    let now = ASN1Time::new(now);
    if now < validity.not_before {
        problems.push(Problem::NotYetValid {
            file: file.into(),
            not_before: validity.not_before.to_datetime(),
        });
    } else if now > validity.not_after {
        problems.push(Problem::Expired {
            file: file.into(),
            not_after: validity.not_after.to_datetime(),
        });
    }
}

fn check_usage(
    file: &str,
    cert: &X509Certificate<'_>,
    subject: &Subject,
    problems: &mut Vec<Problem>,
) {
    if cert.is_ca() {
        problems.push(Problem::WrongUsage {
            file: file.into(),
            reason: "is a CA certificate; a node, central or unit needs an end-entity certificate"
                .into(),
        });
    }
    let unit = matches!(subject, Subject::Unit { .. });
    match cert.extended_key_usage() {
        Ok(Some(eku))
            if unit && eku.value.client_auth && !eku.value.server_auth && !eku.value.any => {}
        Ok(Some(eku)) if !unit && eku.value.server_auth && eku.value.client_auth => {}
        Ok(_) if unit => problems.push(Problem::WrongUsage {
            file: file.into(),
            reason: "must allow TLS client authentication only (extended key usage clientAuth): \
                     a terminal never serves"
                .into(),
        }),
        Ok(_) => problems.push(Problem::WrongUsage {
            file: file.into(),
            reason: "must allow both TLS server and client authentication (extended key usage)"
                .into(),
        }),
        Err(e) => problems.push(Problem::Unreadable {
            file: file.into(),
            reason: format!("unreadable extended key usage: {e}"),
        }),
    }
}

fn check_against_manifest(
    file: &str,
    cert: &X509Certificate<'_>,
    info: &CertificateInfo,
    problems: &mut Vec<Problem>,
) {
    let serial = pki::serial_hex(cert.raw_serial());
    if serial != info.serial {
        problems.push(Problem::ManifestMismatch {
            file: file.into(),
            reason: format!(
                "serial {serial} is not the {} recorded in {}",
                info.serial,
                files::MANIFEST
            ),
        });
    }
    if cert.validity().not_after.to_datetime() != info.not_after {
        problems.push(Problem::ManifestMismatch {
            file: file.into(),
            reason: format!(
                "its expiry differs from the one recorded in {}",
                files::MANIFEST
            ),
        });
    }
}

/// Whether `key_name` (when its digest matched) is the private key of `cert`.
fn check_key(
    dir: &Path,
    key_name: &str,
    cert_name: &str,
    cert: &X509Certificate<'_>,
    sound: &BTreeMap<&str, Vec<u8>>,
    problems: &mut Vec<Problem>,
) {
    let Some(key_pem) = sound.get(key_name) else {
        return;
    };
    match pki::key_from_pem(&dir.join(key_name), key_pem) {
        Ok((_, key)) if pki::key_matches(cert, &key) => {}
        Ok(_) => problems.push(Problem::KeyMismatch {
            file: key_name.into(),
            cert: cert_name.into(),
        }),
        Err(e) => problems.push(Problem::Unreadable {
            file: key_name.into(),
            reason: strip_path(&e, &dir.join(key_name)),
        }),
    }
}

/// The web certificate's own rules: an end-entity certificate for TLS server authentication
/// only, for at least one DNS name or IP address, with the common name `web:<holder>` and no
/// mvd102 role. Returns its names (empty when unreadable).
fn check_web(
    cert: &X509Certificate<'_>,
    subject: &Subject,
    problems: &mut Vec<Problem>,
) -> Vec<String> {
    let file = files::WEB_CERT;
    let usage = |reason: &str| Problem::WrongUsage {
        file: file.into(),
        reason: reason.into(),
    };
    if cert.is_ca() {
        problems.push(usage(
            "is a CA certificate; a web server needs an end-entity certificate",
        ));
    }
    match cert.extended_key_usage() {
        Ok(Some(eku)) if eku.value.server_auth && !eku.value.client_auth && !eku.value.any => {}
        Ok(_) => problems.push(usage(
            "must allow TLS server authentication only (extended key usage serverAuth)",
        )),
        Err(e) => problems.push(Problem::Unreadable {
            file: file.into(),
            reason: format!("unreadable extended key usage: {e}"),
        }),
    }
    match pki::mvd102_uris(cert) {
        Ok(uris) if uris.is_empty() => {}
        Ok(uris) => problems.push(usage(&format!(
            "carries the mvd102 role {} (URI SAN); a web certificate must never be a \
             replication identity",
            uris.join(", ")
        ))),
        Err(e) => problems.push(Problem::Unreadable {
            file: file.into(),
            reason: e.to_string(),
        }),
    }
    let holder = match subject {
        Subject::Region { id, .. } => id,
        Subject::Central { name, .. } => name,
        // A unit bundle has no web certificate, so this is never reached for one.
        Subject::Unit { region, .. } => region,
    };
    let expected_cn = format!("{WEB_CN_PREFIX}{holder}");
    let cns: Vec<&str> = cert
        .subject()
        .iter_common_name()
        .filter_map(|cn| cn.as_str().ok())
        .collect();
    if cns != [expected_cn.as_str()] {
        problems.push(Problem::WrongRole {
            file: file.into(),
            expected: describe_subject(subject),
            found: format!("common name {}", cns.join(", ")),
        });
    }
    match pki::server_names(cert) {
        Ok(names) if names.is_empty() => {
            problems.push(usage(
                "names no DNS name or IP address (subject alternative names); browsers could not \
                 check it",
            ));
            names
        }
        Ok(names) => names,
        Err(e) => {
            problems.push(Problem::Unreadable {
                file: file.into(),
                reason: e.to_string(),
            });
            Vec::new()
        }
    }
}

fn describe_subject(subject: &Subject) -> String {
    match subject {
        Subject::Region { id, .. } => format!("region {id}"),
        Subject::Central { name, .. } => format!("central {name:?}"),
        Subject::Unit { region, id } => format!("unit {id} of region {region}"),
    }
}

fn check_role(
    file: &str,
    cert: &X509Certificate<'_>,
    subject: &Subject,
    problems: &mut Vec<Problem>,
) -> Option<Role> {
    let expected = match subject {
        Subject::Region { id, .. } => Holder {
            role: Role::Region(id.clone()),
            name: id.clone(),
        },
        Subject::Central { name, .. } => Holder {
            role: Role::Central,
            name: name.clone(),
        },
        Subject::Unit { region, id } => Holder {
            role: Role::Unit {
                region: region.clone(),
                unit: id.clone(),
            },
            name: unit_name(region, id),
        },
    };
    let describe = |h: &Holder| match h.role {
        Role::Region(_) => format!("region {}", h.name),
        Role::Central => format!("central {:?}", h.name),
        Role::Unit { .. } => h.role.to_string(),
    };
    match pki::holder_of(cert) {
        Ok(Some(found)) if found == expected => Some(found.role),
        Ok(found) => {
            problems.push(Problem::WrongRole {
                file: file.into(),
                expected: describe(&expected),
                found: found.as_ref().map_or("no mvd102 role".into(), describe),
            });
            None
        }
        Err(e) => {
            problems.push(Problem::Unreadable {
                file: file.into(),
                reason: e.to_string(),
            });
            None
        }
    }
}

fn check_config(manifest: &Manifest, sound: &BTreeMap<&str, Vec<u8>>, problems: &mut Vec<Problem>) {
    let subject = &manifest.subject;
    let (file, expected_tls) = match subject {
        Subject::Region { .. } => (files::NODE_CONFIG, OverlayTls::for_node()),
        Subject::Central { .. } => (files::CENTRAL_CONFIG, OverlayTls::for_central()),
        Subject::Unit { .. } => (files::TERMINAL_CONFIG, OverlayTls::for_unit()),
    };
    let Some(bytes) = sound.get(file) else {
        return;
    };
    let mismatch = |reason: String| Problem::ConfigMismatch {
        file: file.into(),
        reason,
    };
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(_) => {
            problems.push(mismatch("is not UTF-8 text".into()));
            return;
        }
    };
    let (tls, https) = match subject {
        Subject::Region {
            id,
            name_kk,
            name_ru,
        } => match toml::from_str::<NodeOverlay>(text) {
            Ok(overlay) => {
                let region = &overlay.reference.region;
                if &region.code != id || &region.name_kk != name_kk || &region.name_ru != name_ru {
                    problems.push(mismatch(format!(
                        "[reference.region] differs from the region in {}",
                        files::MANIFEST
                    )));
                }
                let version = manifest.format_version;
                match (manifest.has_field_crl(), &overlay.field) {
                    (true, Some(field)) if *field == OverlayField::for_bundle() => {}
                    (true, Some(_)) => problems.push(mismatch(format!(
                        "[field] crl must name this bundle's {}",
                        files::CRL
                    ))),
                    (true, None) => problems.push(mismatch(format!(
                        "[field] is missing; a format_version {version} bundle names its {} there",
                        files::CRL
                    ))),
                    (false, Some(_)) => problems.push(mismatch(format!(
                        "[field] names a revocation list, but a format_version {version} bundle \
                         has none"
                    ))),
                    (false, None) => {}
                }
                (overlay.tls, overlay.https)
            }
            Err(e) => {
                problems.push(mismatch(format!("invalid node config: {e}")));
                return;
            }
        },
        Subject::Central { name, .. } => match toml::from_str::<CentralOverlay>(text) {
            Ok(overlay) => {
                if &overlay.central.name != name {
                    problems.push(mismatch(format!(
                        "[central] name differs from the one in {}",
                        files::MANIFEST
                    )));
                }
                (overlay.tls, overlay.https)
            }
            Err(e) => {
                problems.push(mismatch(format!("invalid central config: {e}")));
                return;
            }
        },
        Subject::Unit { region, id } => match toml::from_str::<TerminalOverlay>(text) {
            Ok(overlay) => {
                check_terminal(&overlay, region, id, problems);
                (overlay.tls, None)
            }
            Err(e) => {
                problems.push(mismatch(format!("invalid terminal config: {e}")));
                return;
            }
        },
    };
    if tls != expected_tls {
        problems.push(mismatch(
            "[tls] must name this bundle's ca.crt, certificate and key".into(),
        ));
    }
    let version = manifest.format_version;
    match (manifest.has_web_certificate(), https) {
        (true, Some(https)) if https == OverlayHttps::for_bundle() => {}
        (true, Some(_)) => problems.push(mismatch(format!(
            "[https] must name this bundle's {} and {}",
            files::WEB_CERT,
            files::WEB_KEY
        ))),
        (true, None) => problems.push(mismatch(format!(
            "[https] is missing; a format_version {version} bundle names its {} and {} there",
            files::WEB_CERT,
            files::WEB_KEY
        ))),
        (false, Some(_)) => problems.push(mismatch(format!(
            "[https] names a web certificate, but a format_version {version} bundle has none"
        ))),
        (false, None) => {}
    }
}

/// `terminal.toml`'s own rules: the manifest's unit, a node address, server name and web URL as
/// `add-unit` accepts them.
fn check_terminal(overlay: &TerminalOverlay, region: &str, id: &str, problems: &mut Vec<Problem>) {
    let mut mismatch = |reason: String| {
        problems.push(Problem::ConfigMismatch {
            file: files::TERMINAL_CONFIG.into(),
            reason,
        })
    };
    if overlay.unit.region != region || overlay.unit.id != id {
        mismatch(format!(
            "[unit] is {} of region {}, but {} is for unit {id} of region {region}",
            overlay.unit.id,
            overlay.unit.region,
            files::MANIFEST
        ));
    }
    // The manifest's names were checked against the certificate; these must be well-formed too.
    for error in [
        RegionId::parse(&overlay.unit.region).err(),
        UnitId::parse(&overlay.unit.id).err(),
        NodeAddress::parse(&overlay.node.address).err(),
        DnsName::parse_for("node-name", &overlay.node.server_name).err(),
        overlay
            .node
            .web_url
            .as_deref()
            .and_then(|url| NodeWebUrl::parse(url).err()),
    ]
    .into_iter()
    .flatten()
    {
        mismatch(error.to_string());
    }
}

/// The revocation list the bundle's config names (the central's; a region's from format version
/// 3 on) must be there and signed by the bundle's CA. It is not in the manifest (it is replaced
/// after every revocation), so its content is checked, not its digest.
fn check_crl(dir: &Path, manifest: &Manifest, ca_der: &[u8], problems: &mut Vec<Problem>) {
    let named = match manifest.subject {
        Subject::Central { .. } => true,
        Subject::Region { .. } => manifest.has_field_crl(),
        Subject::Unit { .. } => false,
    };
    if !named {
        return;
    }
    let file = files::CRL;
    let path = dir.join(file);
    match fsio::read_limited(&path) {
        Ok(pem) => {
            if let Err(e) = RevocationList::from_pem(&pem, ca_der) {
                let reason = match e {
                    Error::BadCertificate { reason } => reason,
                    other => strip_path(&other, &path),
                };
                problems.push(Problem::Unreadable {
                    file: file.into(),
                    reason: format!("{reason}; copy the CA's {} here", crate::ca_files::CRL),
                });
            }
        }
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            problems.push(Problem::Missing { file: file.into() });
        }
        Err(e) => problems.push(Problem::Unreadable {
            file: file.into(),
            reason: strip_path(&e, &path),
        }),
    }
}
