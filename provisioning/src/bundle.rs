//! Making bundles: everything one region's node (`add-region`) or the central (`add-central`)
//! needs to join the network, in one directory with a manifest.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rand::{CryptoRng, Rng, RngCore};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::bundle_files as files;
use crate::ca::{Ca, IssuedCert, IssuedRegistry};
use crate::ca_files;
use crate::error::{Error, Result};
use crate::fsio::{self, CaLock, Staging, MODE_PUBLIC, MODE_SECRET};
use crate::limits::BOOTSTRAP_SECRET_CHARS;
use crate::manifest::{self, CertificateInfo, FileEntry, Manifest, Subject};
use crate::pki::{self, PeerRequest, CENTRAL_CN_PREFIX, CENTRAL_URN_PREFIX};
use crate::pki::{REGION_CN_PREFIX, REGION_URN_PREFIX};
use crate::progress::Progress;
use crate::revoke::RevocationRecord;
use crate::settings::{CentralSettings, RegionSettings};

/// Letters of a first-admin password: latin letters and digits without the look-alikes
/// `0 O o 1 l I`, so it can be read aloud or copied from paper.
const SECRET_ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz";

const OUT_DIR_HINT: &str =
    "a bundle is written into a new or empty directory; choose another --out";

/// `node.toml`: the keys a region's node takes from its bundle, merged over the node's embedded
/// defaults. Paths are relative to the bundle directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeOverlay {
    /// `[reference.region]`.
    pub reference: OverlayReference,
    /// `[central]`.
    pub central: OverlayCentralAddress,
    /// `[tls]`.
    pub tls: OverlayTls,
}

/// `[reference]` of `node.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverlayReference {
    /// `[reference.region]`.
    pub region: OverlayRegion,
}

/// `[reference.region]` of `node.toml`, the same keys as in the node's default config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverlayRegion {
    /// Region id.
    pub code: String,
    /// Name in Kazakh.
    pub name_kk: String,
    /// Name in Russian.
    pub name_ru: String,
}

/// `[central]` of `node.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverlayCentralAddress {
    /// `host:port` of the central.
    pub address: String,
}

/// `[tls]` of `node.toml` and `central.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverlayTls {
    /// The CA certificate.
    pub ca_cert: String,
    /// This peer's certificate.
    pub cert: String,
    /// This peer's private key.
    pub key: String,
    /// The revocation list (central only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crl: Option<String>,
}

/// `central.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CentralOverlay {
    /// `[central]`.
    pub central: OverlayCentralName,
    /// `[tls]`.
    pub tls: OverlayTls,
}

/// `[central]` of `central.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverlayCentralName {
    /// The central's name.
    pub name: String,
}

impl OverlayTls {
    /// The `[tls]` table of every region bundle.
    pub(crate) fn for_node() -> Self {
        OverlayTls {
            ca_cert: files::CA_CERT.to_owned(),
            cert: files::NODE_CERT.to_owned(),
            key: files::NODE_KEY.to_owned(),
            crl: None,
        }
    }

    /// The `[tls]` table of every central bundle.
    pub(crate) fn for_central() -> Self {
        OverlayTls {
            ca_cert: files::CA_CERT.to_owned(),
            cert: files::CENTRAL_CERT.to_owned(),
            key: files::CENTRAL_KEY.to_owned(),
            crl: Some(files::CRL.to_owned()),
        }
    }
}

impl NodeOverlay {
    /// The overlay a region bundle must hold.
    pub(crate) fn for_region(settings: &RegionSettings) -> Self {
        NodeOverlay {
            reference: OverlayReference {
                region: OverlayRegion {
                    code: settings.id.to_string(),
                    name_kk: settings.name_kk.as_str().to_owned(),
                    name_ru: settings.name_ru.as_str().to_owned(),
                },
            },
            central: OverlayCentralAddress {
                address: settings.central.to_string(),
            },
            tls: OverlayTls::for_node(),
        }
    }
}

impl CentralOverlay {
    pub(crate) fn for_central(name: &str) -> Self {
        CentralOverlay {
            central: OverlayCentralName {
                name: name.to_owned(),
            },
            tls: OverlayTls::for_central(),
        }
    }
}

fn to_toml<T: Serialize>(header: &str, value: &T) -> Vec<u8> {
    let body = toml::to_string(value).expect("overlay structs always serialize to TOML");
    format!("{header}{body}").into_bytes()
}

/// What `add-region` or `add-central` made.
#[derive(Debug, Clone)]
pub struct BundleSummary {
    /// The bundle directory.
    pub dir: PathBuf,
    /// Serial number of the new certificate (hex).
    pub serial: String,
    /// When the certificate expires.
    pub not_after: OffsetDateTime,
    /// Certificates issued earlier to the same region or central and not revoked: the old
    /// installation still works until they are revoked.
    pub earlier_unrevoked: Vec<String>,
}

/// A file of a bundle before it is written.
struct BundleFile {
    name: &'static str,
    content: Vec<u8>,
    mode: u32,
}

/// Makes a region bundle in `out` (absent or empty): the CA certificate, a P-256 key and a
/// client+server certificate for region `settings.id`, `node.toml`, a random first-admin password
/// and `bundle.json`. The certificate is recorded in the CA's `issued.json` before the bundle is
/// published, so it can always be revoked.
pub fn add_region(
    ca_dir: &Path,
    out: &Path,
    settings: &RegionSettings,
    now: OffsetDateTime,
    rng: &mut (impl RngCore + CryptoRng),
    progress: &mut dyn Progress,
) -> Result<BundleSummary> {
    add_region_with_reference(ca_dir, out, settings, None, now, rng, progress)
}

/// [`add_region`] with the region's own reference data (`reference.toml` in the bundle, listed in
/// its manifest like every other file).
pub fn add_region_with_reference(
    ca_dir: &Path,
    out: &Path,
    settings: &RegionSettings,
    reference: Option<&crate::reference::RegionReference>,
    now: OffsetDateTime,
    rng: &mut (impl RngCore + CryptoRng),
    progress: &mut dyn Progress,
) -> Result<BundleSummary> {
    let id = settings.id.as_str();
    let request = |not_before, not_after, serial| PeerRequest {
        common_name: format!("{REGION_CN_PREFIX}{id}"),
        uri: format!("{REGION_URN_PREFIX}{id}"),
        dns: vec![pki::region_server_name(id)],
        ip: Vec::new(),
        not_before,
        not_after,
        serial,
    };
    let secret = bootstrap_secret(rng);
    let overlay = to_toml(
        &format!(
            "# Region {id}: node config overlay written by `provisioning add-region`.\n\
             # Paths are relative to this bundle directory.\n\n"
        ),
        &NodeOverlay::for_region(settings),
    );
    let mut extra = vec![
        BundleFile {
            name: files::NODE_CONFIG,
            content: overlay,
            mode: MODE_PUBLIC,
        },
        BundleFile {
            name: files::BOOTSTRAP_SECRET,
            content: format!("{secret}\n").into_bytes(),
            mode: MODE_SECRET,
        },
    ];
    if let Some(r) = reference {
        extra.push(BundleFile {
            name: files::REFERENCE,
            content: r.bundle_text(id).into_bytes(),
            mode: MODE_PUBLIC,
        });
    }
    let subject = Subject::Region {
        id: id.to_owned(),
        name_kk: settings.name_kk.as_str().to_owned(),
        name_ru: settings.name_ru.as_str().to_owned(),
    };
    make_bundle(
        ca_dir,
        out,
        BundlePlan {
            subject,
            role: "region",
            holder: id.to_owned(),
            valid_days: settings.valid_days.days(),
            extra,
            crl_copy: false,
        },
        request,
        now,
        rng,
        progress,
    )
}

/// Makes the central's bundle in `out` (absent or empty): the CA certificate, a P-256 key and a
/// server+client certificate for the given DNS names and addresses, `central.toml`, a copy of the
/// CA's current `crl.pem` and `bundle.json`.
pub fn add_central(
    ca_dir: &Path,
    out: &Path,
    settings: &CentralSettings,
    now: OffsetDateTime,
    rng: &mut (impl RngCore + CryptoRng),
    progress: &mut dyn Progress,
) -> Result<BundleSummary> {
    let name = settings.name.as_str();
    let dns: Vec<String> = settings.dns.iter().map(|d| d.as_str().to_owned()).collect();
    let ip = settings.ip.clone();
    let request = |not_before, not_after, serial| PeerRequest {
        common_name: format!("{CENTRAL_CN_PREFIX}{name}"),
        uri: format!("{CENTRAL_URN_PREFIX}{name}"),
        dns: dns.clone(),
        ip: ip.clone(),
        not_before,
        not_after,
        serial,
    };
    let overlay = to_toml(
        "# Central hub config overlay written by `provisioning add-central`.\n\
         # Paths are relative to this bundle directory; replace crl.pem with the CA's after each\n\
         # `provisioning revoke`.\n\n",
        &CentralOverlay::for_central(name),
    );
    let subject = Subject::Central {
        name: name.to_owned(),
        dns: dns.clone(),
        ip: settings.ip.iter().map(|ip| ip.to_string()).collect(),
    };
    make_bundle(
        ca_dir,
        out,
        BundlePlan {
            subject,
            role: "central",
            holder: name.to_owned(),
            valid_days: settings.valid_days.days(),
            extra: vec![BundleFile {
                name: files::CENTRAL_CONFIG,
                content: overlay,
                mode: MODE_PUBLIC,
            }],
            crl_copy: true,
        },
        request,
        now,
        rng,
        progress,
    )
}

struct BundlePlan {
    subject: Subject,
    role: &'static str,
    holder: String,
    valid_days: u32,
    extra: Vec<BundleFile>,
    crl_copy: bool,
}

fn make_bundle(
    ca_dir: &Path,
    out: &Path,
    plan: BundlePlan,
    request: impl FnOnce(
        OffsetDateTime,
        OffsetDateTime,
        [u8; crate::limits::SERIAL_BYTES],
    ) -> PeerRequest,
    now: OffsetDateTime,
    rng: &mut (impl RngCore + CryptoRng),
    progress: &mut dyn Progress,
) -> Result<BundleSummary> {
    fsio::ensure_absent_or_empty(out, OUT_DIR_HINT)?;
    let _lock = CaLock::acquire(ca_dir)?;
    let ca = Ca::open(ca_dir)?;
    let mut issued = IssuedRegistry::read(ca_dir)?;
    let revoked = RevocationRecord::read(ca_dir)?;

    let (not_before, not_after) = pki::validity(now, plan.valid_days);
    if not_after > ca.not_after {
        return Err(Error::invalid(
            "valid-days",
            format!(
                "the certificate would outlive the CA, which expires {}; give fewer --valid-days",
                crate::verify::show_time(ca.not_after)
            ),
        ));
    }
    let serial = pki::new_serial(rng);
    let serial_hex = pki::serial_hex(&serial);

    progress.step("generating the key (ECDSA P-256) and signing the certificate");
    let (cert_name, key_name) = plan.subject.cert_and_key();
    let issued_cert = pki::issue_peer(&ca.issuer, request(not_before, not_after, serial))?;

    progress.step("writing the bundle");
    let mut bundle = vec![
        BundleFile {
            name: files::CA_CERT,
            content: ca.cert_pem.clone().into_bytes(),
            mode: MODE_PUBLIC,
        },
        BundleFile {
            name: cert_name,
            content: issued_cert.cert_pem.into_bytes(),
            mode: MODE_PUBLIC,
        },
        BundleFile {
            name: key_name,
            content: issued_cert.key_pem.into_bytes(),
            mode: MODE_SECRET,
        },
    ];
    bundle.extend(plan.extra);

    let staging = Staging::beside(out)?;
    let mut digests = BTreeMap::new();
    for file in &bundle {
        fsio::write_new(&staging.path(file.name), &file.content, file.mode)?;
        digests.insert(file.name.to_owned(), FileEntry::of(&file.content));
    }
    if plan.crl_copy {
        let crl = fsio::read_limited(&ca_dir.join(ca_files::CRL))?;
        fsio::write_new(&staging.path(files::CRL), &crl, MODE_PUBLIC)?;
    }
    let manifest = Manifest {
        format: manifest::FORMAT.to_owned(),
        format_version: manifest::FORMAT_VERSION,
        subject: plan.subject,
        created_at: now.replace_nanosecond(0).unwrap_or(now),
        certificate: CertificateInfo {
            serial: serial_hex.clone(),
            not_before,
            not_after,
        },
        files: digests,
    };
    manifest.write_new(staging.dir())?;

    let earlier_unrevoked = issued
        .certificates
        .iter()
        .filter(|c| c.role == plan.role && c.subject == plan.holder)
        .filter(|c| !revoked.is_revoked(&c.serial))
        .map(|c| c.serial.clone())
        .collect();
    issued.record(
        IssuedCert {
            serial: serial_hex.clone(),
            role: plan.role.to_owned(),
            subject: plan.holder,
            issued_at: now.replace_nanosecond(0).unwrap_or(now),
            not_after,
            bundle: out.display().to_string(),
        },
        ca_dir,
    )?;
    issued.write(ca_dir)?;
    staging.publish(out, OUT_DIR_HINT)?;
    progress.finish();
    Ok(BundleSummary {
        dir: out.to_owned(),
        serial: serial_hex,
        not_after,
        earlier_unrevoked,
    })
}

/// A random first-admin password of `BOOTSTRAP_SECRET_CHARS` characters.
fn bootstrap_secret(rng: &mut (impl RngCore + CryptoRng)) -> String {
    (0..BOOTSTRAP_SECRET_CHARS)
        .map(|_| SECRET_ALPHABET[rng.gen_range(0..SECRET_ALPHABET.len())] as char)
        .collect()
}
