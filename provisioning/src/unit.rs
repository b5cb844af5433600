//! Unit bundles (`add-unit`): what one field unit's terminal (FieldTerminal) needs to sync with
//! its region's node over QUIC — the CA certificate, a client-only certificate naming the unit,
//! its key, and `terminal.toml` saying where the node is.
//!
//! A unit certificate is short-lived ([`UNIT_VALID_DAYS_DEFAULT`](crate::limits)) because a
//! terminal travels in a patrol car and can be stolen; revoking it (`revoke --unit`) and giving
//! the node the new `crl.pem` cuts the terminal off at its next handshake.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rand::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::bundle::{to_toml, BundleFile, OverlayTls, OUT_DIR_HINT};
use crate::bundle_files as files;
use crate::ca::{Ca, IssuedCert, IssuedRegistry, ROLE_REGION, ROLE_UNIT};
use crate::ca_files;
use crate::crl::RevocationRecord;
use crate::error::{Error, Result};
use crate::fsio::{self, CaLock, Staging, MODE_PUBLIC, MODE_SECRET};
use crate::manifest::{self, CertificateInfo, FileEntry, Manifest, Subject};
use crate::pki::{self, unit_name, CertRequest, Purpose, UNIT_CN_PREFIX, UNIT_URN_PREFIX};
use crate::progress::Progress;
use crate::settings::UnitSettings;

/// `terminal.toml`: the field terminal's config from its bundle. Paths are relative to the
/// bundle directory.
///
/// ```toml
/// [unit]
/// region = "AST"
/// id = "p01"
///
/// [node]
/// address = "10.20.0.5:7103"
/// server_name = "ast.region.mvd102"
/// web_url = "https://console.ast.mvd.kz/"
///
/// [tls]
/// ca_cert = "ca.crt"
/// cert = "unit.crt"
/// key = "unit.key"
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TerminalOverlay {
    /// `[unit]`.
    pub unit: OverlayUnit,
    /// `[node]`.
    pub node: OverlayNode,
    /// `[tls]`: `ca.crt`, `unit.crt`, `unit.key`.
    pub tls: OverlayTls,
}

/// `[unit]` of `terminal.toml`: whom the terminal speaks for (the certificate says the same and
/// is what the node believes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverlayUnit {
    /// Region id (`AST`).
    pub region: String,
    /// Unit id (`p01`).
    pub id: String,
}

/// `[node]` of `terminal.toml`: the region's node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverlayNode {
    /// `host:port` the terminal dials over QUIC (the node's `[field] listen` as seen from the
    /// field), ALPN [`FIELD_ALPN`](crate::tls::FIELD_ALPN).
    pub address: String,
    /// The name checked on the node's certificate (`Endpoint::connect(addr, server_name)`).
    pub server_name: String,
    /// The node console's HTTPS address for the officer's first, online login; absent when the
    /// installer gave none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_url: Option<String>,
}

impl OverlayTls {
    /// The `[tls]` table of every unit bundle.
    pub(crate) fn for_unit() -> Self {
        OverlayTls {
            ca_cert: files::CA_CERT.to_owned(),
            cert: files::UNIT_CERT.to_owned(),
            key: files::UNIT_KEY.to_owned(),
            crl: None,
        }
    }
}

impl TerminalOverlay {
    pub(crate) fn for_unit(settings: &UnitSettings) -> Self {
        TerminalOverlay {
            unit: OverlayUnit {
                region: settings.region.to_string(),
                id: settings.unit.to_string(),
            },
            node: OverlayNode {
                address: settings.node.to_string(),
                server_name: settings.node_name.as_str().to_owned(),
                web_url: settings.node_web.as_ref().map(|u| u.as_str().to_owned()),
            },
            tls: OverlayTls::for_unit(),
        }
    }
}

/// What `add-unit` made.
#[derive(Debug, Clone)]
pub struct UnitBundleSummary {
    /// The bundle directory.
    pub dir: PathBuf,
    /// Serial number of the unit certificate (hex).
    pub serial: String,
    /// When it expires.
    pub not_after: OffsetDateTime,
    /// Certificates issued earlier to the same unit and not revoked: a terminal that had them
    /// still connects until they are revoked (`revoke --unit`).
    pub earlier_unrevoked: Vec<String>,
}

/// Makes a unit bundle in `out` (absent or empty): the CA certificate, a P-256 key (`unit.key`,
/// 0600) and a TLS-client-only certificate for unit `settings.unit` of region `settings.region`
/// (CN `unit:AST:p01`, URI SAN `urn:mvd102:unit:AST:p01`), `terminal.toml` and `bundle.json`.
///
/// The region must have a node certificate from this CA that is not revoked — a unit of a region
/// the CA does not know, or has retired, is refused before anything is written. The certificate is
/// recorded in the CA's `issued.json` (role `unit`, subject `AST:p01`) before the bundle is
/// published, so it can always be revoked. It never outlives the CA.
pub fn add_unit(
    ca_dir: &Path,
    out: &Path,
    settings: &UnitSettings,
    now: OffsetDateTime,
    rng: &mut (impl RngCore + CryptoRng),
    progress: &mut dyn Progress,
) -> Result<UnitBundleSummary> {
    let region = settings.region.as_str();
    let unit = settings.unit.as_str();
    let name = unit_name(region, unit);
    fsio::ensure_absent_or_empty(out, OUT_DIR_HINT)?;
    let _lock = CaLock::acquire(ca_dir)?;
    let ca = Ca::open(ca_dir)?;
    let mut issued = IssuedRegistry::read(ca_dir)?;
    let revoked = RevocationRecord::read(ca_dir)?;

    let region_live = issued
        .certificates
        .iter()
        .any(|c| c.role == ROLE_REGION && c.subject == region && !revoked.is_revoked(&c.serial));
    if !region_live {
        return Err(Error::invalid(
            "region",
            format!(
                "{region}: this CA has no unrevoked node certificate for the region (see {}); \
                 make the region's bundle first (add-region --id {region})",
                ca_dir.join(ca_files::ISSUED).display()
            ),
        ));
    }
    let (not_before, not_after) = pki::validity(now, settings.valid_days.days());
    if not_after > ca.not_after {
        return Err(Error::invalid(
            "valid-days",
            format!(
                "the certificate would outlive the CA, which expires {}; give fewer --valid-days",
                crate::problem::show_time(ca.not_after)
            ),
        ));
    }
    let serial = pki::new_serial(rng);
    let info = CertificateInfo {
        serial: pki::serial_hex(&serial),
        not_before,
        not_after,
    };
    let request = CertRequest {
        common_name: format!("{UNIT_CN_PREFIX}{name}"),
        purpose: Purpose::Unit {
            uri: format!("{UNIT_URN_PREFIX}{name}"),
        },
        dns: Vec::new(),
        ip: Vec::new(),
    };

    progress.step("generating the key (ECDSA P-256) and signing the certificate");
    let cert = pki::issue(&ca.issuer, &request, not_before, not_after, &serial)?;

    progress.step("writing the bundle");
    let overlay = to_toml(
        &format!(
            "# Unit {unit} of region {region}: field terminal config written by \
             `provisioning add-unit`.\n# Paths are relative to this bundle directory.\n\n"
        ),
        &TerminalOverlay::for_unit(settings),
    );
    let bundle = [
        BundleFile {
            name: files::CA_CERT,
            content: ca.cert_pem.clone().into_bytes(),
            mode: MODE_PUBLIC,
        },
        BundleFile {
            name: files::UNIT_CERT,
            content: cert.cert_pem.into_bytes(),
            mode: MODE_PUBLIC,
        },
        BundleFile {
            name: files::UNIT_KEY,
            content: cert.key_pem.into_bytes(),
            mode: MODE_SECRET,
        },
        BundleFile {
            name: files::TERMINAL_CONFIG,
            content: overlay,
            mode: MODE_PUBLIC,
        },
    ];
    let staging = Staging::beside(out)?;
    let mut digests = BTreeMap::new();
    for file in &bundle {
        fsio::write_new(&staging.path(file.name), &file.content, file.mode)?;
        digests.insert(file.name.to_owned(), FileEntry::of(&file.content));
    }
    let created_at = now.replace_nanosecond(0).unwrap_or(now);
    let manifest = Manifest {
        format: manifest::FORMAT.to_owned(),
        format_version: manifest::FORMAT_VERSION,
        subject: Subject::Unit {
            region: region.to_owned(),
            id: unit.to_owned(),
        },
        created_at,
        certificate: info.clone(),
        web_certificate: None,
        files: digests,
    };
    manifest.write_new(staging.dir())?;

    let earlier_unrevoked = issued
        .certificates
        .iter()
        .filter(|c| c.role == ROLE_UNIT && c.subject == name)
        .filter(|c| !revoked.is_revoked(&c.serial))
        .map(|c| c.serial.clone())
        .collect();
    issued.record(
        IssuedCert {
            serial: info.serial.clone(),
            role: ROLE_UNIT.to_owned(),
            subject: name,
            issued_at: created_at,
            not_after,
            bundle: out.display().to_string(),
        },
        ca_dir,
    )?;
    issued.write(ca_dir)?;
    staging.publish(out, OUT_DIR_HINT)?;
    progress.finish();
    Ok(UnitBundleSummary {
        dir: out.to_owned(),
        serial: info.serial,
        not_after,
        earlier_unrevoked,
    })
}
