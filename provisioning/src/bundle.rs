//! Making bundles: everything one region's node (`add-region`) or the central (`add-central`)
//! needs to join the network and to serve its web console or dashboard over HTTPS, in one
//! directory with a manifest.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rand::{CryptoRng, Rng, RngCore};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::bundle_files as files;
use crate::ca::{
    Ca, IssuedCert, IssuedRegistry, ROLE_CENTRAL, ROLE_CENTRAL_WEB, ROLE_REGION, ROLE_REGION_WEB,
};
use crate::ca_files;
use crate::crl::RevocationRecord;
use crate::error::{Error, Result};
use crate::fsio::{self, CaLock, Staging, MODE_PUBLIC, MODE_SECRET};
use crate::limits::BOOTSTRAP_SECRET_CHARS;
use crate::manifest::{self, CertificateInfo, FileEntry, Manifest, Subject};
use crate::pki::{self, CertRequest, Purpose, CENTRAL_CN_PREFIX, CENTRAL_URN_PREFIX};
use crate::pki::{REGION_CN_PREFIX, REGION_URN_PREFIX, WEB_CN_PREFIX};
use crate::progress::Progress;
use crate::reference::RegionReference;
use crate::settings::{region_server_name, CentralSettings, RegionSettings, WebNames};

/// Letters of a first-admin password: latin letters and digits without the look-alikes
/// `0 O o 1 l I`, so it can be read aloud or copied from paper.
const SECRET_ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz";

pub(crate) const OUT_DIR_HINT: &str =
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
    /// `[https]`: the console's web certificate (format version 2 on; absent in version 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub https: Option<OverlayHttps>,
    /// `[field]`: the revocation list the node checks its units' terminals against (format
    /// version 3 on; absent before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<OverlayField>,
}

/// `[field]` of `node.toml`: only the key the bundle decides; `listen` and the rest are the
/// node operator's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverlayField {
    /// The CA's revocation list in the bundle (`crl.pem`), replaced after each revocation.
    pub crl: String,
}

impl OverlayField {
    /// The `[field]` table of every region bundle of format version 3 or later.
    pub(crate) fn for_bundle() -> Self {
        OverlayField {
            crl: files::CRL.to_owned(),
        }
    }
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

/// `[https]` of `node.toml` and `central.toml`: the web (HTTPS) certificate and key that the
/// node's console or the central's dashboard presents to operators' browsers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverlayHttps {
    /// The web certificate (`web.crt`).
    pub cert: String,
    /// Its private key (`web.key`).
    pub key: String,
}

impl OverlayHttps {
    /// The `[https]` table of every bundle of format version 2 or later.
    pub(crate) fn for_bundle() -> Self {
        OverlayHttps {
            cert: files::WEB_CERT.to_owned(),
            key: files::WEB_KEY.to_owned(),
        }
    }
}

/// `central.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CentralOverlay {
    /// `[central]`.
    pub central: OverlayCentralName,
    /// `[tls]`.
    pub tls: OverlayTls,
    /// `[https]`: the dashboard's web certificate (format version 2 on; absent in version 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub https: Option<OverlayHttps>,
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
            https: Some(OverlayHttps::for_bundle()),
            field: Some(OverlayField::for_bundle()),
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
            https: Some(OverlayHttps::for_bundle()),
        }
    }
}

pub(crate) fn to_toml<T: Serialize>(header: &str, value: &T) -> Vec<u8> {
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
    /// When the certificate (and the web certificate) expires.
    pub not_after: OffsetDateTime,
    /// Serial number of the new web (HTTPS) certificate (hex).
    pub web_serial: String,
    /// The DNS names and IP addresses on the web certificate, DNS names first.
    pub web_names: Vec<String>,
    /// Certificates issued earlier to the same region or central and not revoked: the old
    /// installation still works until they are revoked.
    pub earlier_unrevoked: Vec<String>,
}

/// A file of a bundle before it is written.
pub(crate) struct BundleFile {
    pub(crate) name: &'static str,
    pub(crate) content: Vec<u8>,
    pub(crate) mode: u32,
}

/// Optional parts of a region bundle.
#[derive(Debug, Clone, Default)]
pub struct RegionOptions<'a> {
    /// The region's own reference data (`reference.toml` in the bundle).
    pub reference: Option<&'a RegionReference>,
    /// The names on the console's web certificate (`--web-dns`, `--web-ip`); `None`: the region's
    /// server name only ([`WebNames::for_region`]).
    pub web: Option<WebNames>,
}

/// Makes a region bundle in `out` (absent or empty): the CA certificate, a P-256 key and a
/// client+server certificate for region `settings.id`, a P-256 key and a web (HTTPS) certificate
/// for the region's server name, `node.toml`, a random first-admin password, a copy of the CA's
/// current `crl.pem` (the node checks its units' terminals against it) and `bundle.json`.
/// Both certificates are recorded in the CA's `issued.json` before the bundle is published, so
/// they can always be revoked.
pub fn add_region(
    ca_dir: &Path,
    out: &Path,
    settings: &RegionSettings,
    now: OffsetDateTime,
    rng: &mut (impl RngCore + CryptoRng),
    progress: &mut dyn Progress,
) -> Result<BundleSummary> {
    add_region_with_options(
        ca_dir,
        out,
        settings,
        &RegionOptions::default(),
        now,
        rng,
        progress,
    )
}

/// [`add_region`] with the region's own reference data (`reference.toml` in the bundle, listed in
/// its manifest like every other file).
pub fn add_region_with_reference(
    ca_dir: &Path,
    out: &Path,
    settings: &RegionSettings,
    reference: Option<&RegionReference>,
    now: OffsetDateTime,
    rng: &mut (impl RngCore + CryptoRng),
    progress: &mut dyn Progress,
) -> Result<BundleSummary> {
    let options = RegionOptions {
        reference,
        web: None,
    };
    add_region_with_options(ca_dir, out, settings, &options, now, rng, progress)
}

/// [`add_region`] with reference data and the names on the console's web certificate.
pub fn add_region_with_options(
    ca_dir: &Path,
    out: &Path,
    settings: &RegionSettings,
    options: &RegionOptions<'_>,
    now: OffsetDateTime,
    rng: &mut (impl RngCore + CryptoRng),
    progress: &mut dyn Progress,
) -> Result<BundleSummary> {
    let id = settings.id.as_str();
    let peer = CertRequest {
        common_name: format!("{REGION_CN_PREFIX}{id}"),
        purpose: Purpose::Peer {
            uri: format!("{REGION_URN_PREFIX}{id}"),
        },
        dns: vec![region_server_name(id)],
        ip: Vec::new(),
    };
    let web_names = options
        .web
        .clone()
        .unwrap_or_else(|| WebNames::for_region(&settings.id));
    let web = web_request(format!("{WEB_CN_PREFIX}{id}"), &web_names);
    let secret = bootstrap_secret(rng);
    let overlay = to_toml(
        &format!(
            "# Region {id}: node config overlay written by `provisioning add-region`.\n\
             # Paths are relative to this bundle directory; replace crl.pem with the CA's after\n\
             # each `provisioning revoke` of one of this region's units.\n\n"
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
    if let Some(r) = options.reference {
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
            role: ROLE_REGION,
            web_role: ROLE_REGION_WEB,
            holder: id.to_owned(),
            valid_days: settings.valid_days.days(),
            peer,
            web,
            extra,
        },
        now,
        rng,
        progress,
    )
}

/// Makes the central's bundle in `out` (absent or empty): the CA certificate, a P-256 key and a
/// server+client certificate for the given DNS names and addresses, a P-256 key and a web (HTTPS)
/// certificate for the dashboard's names (`settings.web`), `central.toml`, a copy of the CA's
/// current `crl.pem` and `bundle.json`.
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
    let peer = CertRequest {
        common_name: format!("{CENTRAL_CN_PREFIX}{name}"),
        purpose: Purpose::Peer {
            uri: format!("{CENTRAL_URN_PREFIX}{name}"),
        },
        dns: dns.clone(),
        ip: settings.ip.clone(),
    };
    let web = web_request(format!("{WEB_CN_PREFIX}{name}"), &settings.web);
    let overlay = to_toml(
        "# Central hub config overlay written by `provisioning add-central`.\n\
         # Paths are relative to this bundle directory; replace crl.pem with the CA's after each\n\
         # `provisioning revoke`.\n\n",
        &CentralOverlay::for_central(name),
    );
    let subject = Subject::Central {
        name: name.to_owned(),
        dns,
        ip: settings.ip.iter().map(|ip| ip.to_string()).collect(),
    };
    make_bundle(
        ca_dir,
        out,
        BundlePlan {
            subject,
            role: ROLE_CENTRAL,
            web_role: ROLE_CENTRAL_WEB,
            holder: name.to_owned(),
            valid_days: settings.valid_days.days(),
            peer,
            web,
            extra: vec![BundleFile {
                name: files::CENTRAL_CONFIG,
                content: overlay,
                mode: MODE_PUBLIC,
            }],
        },
        now,
        rng,
        progress,
    )
}

/// The web (HTTPS) certificate for `names`: no role URI, TLS server authentication only.
fn web_request(common_name: String, names: &WebNames) -> CertRequest {
    CertRequest {
        common_name,
        purpose: Purpose::Web,
        dns: names.dns().iter().map(|d| d.as_str().to_owned()).collect(),
        ip: names.ip().to_vec(),
    }
}

/// Everything one bundle needs besides the CA: whom it is for, its two certificates and its other
/// files.
struct BundlePlan {
    subject: Subject,
    /// `issued.json` role of the peer certificate.
    role: &'static str,
    /// `issued.json` role of the web certificate.
    web_role: &'static str,
    /// The region id or central name, `issued.json`'s `subject` of both certificates.
    holder: String,
    /// Validity of both certificates.
    valid_days: u32,
    peer: CertRequest,
    web: CertRequest,
    extra: Vec<BundleFile>,
}

fn make_bundle(
    ca_dir: &Path,
    out: &Path,
    plan: BundlePlan,
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
                crate::problem::show_time(ca.not_after)
            ),
        ));
    }
    let serial = pki::new_serial(rng);
    let web_serial = pki::new_serial(rng);
    let info = |serial: &[u8]| CertificateInfo {
        serial: pki::serial_hex(serial),
        not_before,
        not_after,
    };
    let (peer_info, web_info) = (info(&serial), info(&web_serial));

    progress.step("generating the keys (ECDSA P-256) and signing the certificates");
    let (cert_name, key_name) = plan.subject.cert_and_key();
    let peer_cert = pki::issue(&ca.issuer, &plan.peer, not_before, not_after, &serial)?;
    let web_cert = pki::issue(&ca.issuer, &plan.web, not_before, not_after, &web_serial)?;

    progress.step("writing the bundle");
    let mut bundle = vec![
        BundleFile {
            name: files::CA_CERT,
            content: ca.cert_pem.clone().into_bytes(),
            mode: MODE_PUBLIC,
        },
        BundleFile {
            name: cert_name,
            content: peer_cert.cert_pem.into_bytes(),
            mode: MODE_PUBLIC,
        },
        BundleFile {
            name: key_name,
            content: peer_cert.key_pem.into_bytes(),
            mode: MODE_SECRET,
        },
        BundleFile {
            name: files::WEB_CERT,
            content: web_cert.cert_pem.into_bytes(),
            mode: MODE_PUBLIC,
        },
        BundleFile {
            name: files::WEB_KEY,
            content: web_cert.key_pem.into_bytes(),
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
    // Every bundle carries the CA's current revocation list (not in the manifest: it is replaced
    // after each revocation): the central checks nodes against it, a node its units' terminals.
    let crl = fsio::read_limited(&ca_dir.join(ca_files::CRL))?;
    fsio::write_new(&staging.path(files::CRL), &crl, MODE_PUBLIC)?;
    let created_at = now.replace_nanosecond(0).unwrap_or(now);
    let manifest = Manifest {
        format: manifest::FORMAT.to_owned(),
        format_version: manifest::FORMAT_VERSION,
        subject: plan.subject,
        created_at,
        certificate: peer_info.clone(),
        web_certificate: Some(web_info.clone()),
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
    for (info, role) in [(&peer_info, plan.role), (&web_info, plan.web_role)] {
        issued.record(
            IssuedCert {
                serial: info.serial.clone(),
                role: role.to_owned(),
                subject: plan.holder.clone(),
                issued_at: created_at,
                not_after,
                bundle: out.display().to_string(),
            },
            ca_dir,
        )?;
    }
    issued.write(ca_dir)?;
    staging.publish(out, OUT_DIR_HINT)?;
    progress.finish();
    Ok(BundleSummary {
        dir: out.to_owned(),
        serial: peer_info.serial,
        not_after,
        earlier_unrevoked,
        web_serial: web_info.serial,
        web_names: plan
            .web
            .dns
            .iter()
            .cloned()
            .chain(plan.web.ip.iter().map(|ip| ip.to_string()))
            .collect(),
    })
}

/// A random first-admin password of `BOOTSTRAP_SECRET_CHARS` characters.
fn bootstrap_secret(rng: &mut (impl RngCore + CryptoRng)) -> String {
    (0..BOOTSTRAP_SECRET_CHARS)
        .map(|_| SECRET_ALPHABET[rng.gen_range(0..SECRET_ALPHABET.len())] as char)
        .collect()
}
