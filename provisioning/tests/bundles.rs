//! R20 (information exchange between МВД HQ and the regions): the CA, region and central bundles,
//! their verification, identities and revocation, exercised through the library in temporary
//! directories. `cli.rs` drives the binary itself.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use provisioning::manifest::{FileEntry, Manifest};
use provisioning::progress::Silent;
use provisioning::settings::{
    CaName, CaSettings, CentralAddress, CentralName, CentralSettings, DnsName, RegionId,
    RegionName, RegionSettings, ValidDays,
};
use provisioning::{
    is_revoked, load_identity_at, region_of, role_of, Error, Problem, RevocationList,
    RevocationRecord, RevokeTarget, Role, VerifiedBundle,
};
use rand::rngs::OsRng;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use tempfile::TempDir;
use time::{Duration, OffsetDateTime};

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn init_ca(root: &Path, name: &str) -> PathBuf {
    init_ca_valid(root, name, 3650)
}

fn init_ca_valid(root: &Path, name: &str, days: u32) -> PathBuf {
    init_ca_at(root, name, now(), days)
}

fn init_ca_at(root: &Path, name: &str, issued_at: OffsetDateTime, days: u32) -> PathBuf {
    let dir = root.join(name);
    let settings = CaSettings {
        name: CaName::parse(&format!("{name} test CA")).unwrap(),
        valid_days: ValidDays::for_ca(days).unwrap(),
    };
    provisioning::init_ca(&dir, &settings, issued_at, &mut OsRng, &mut Silent).unwrap();
    dir
}

fn region(id: &str, days: u32) -> RegionSettings {
    RegionSettings {
        id: RegionId::parse(id).unwrap(),
        name_kk: RegionName::parse("name-kk", "Астана қаласы ПД").unwrap(),
        name_ru: RegionName::parse("name-ru", "ДП города Астаны").unwrap(),
        central: CentralAddress::parse("central.mvd.kz:7102").unwrap(),
        valid_days: ValidDays::for_peer(days).unwrap(),
    }
}

fn add_region_at(ca: &Path, out: &Path, id: &str, issued_at: OffsetDateTime, days: u32) {
    provisioning::add_region(
        ca,
        out,
        &region(id, days),
        issued_at,
        &mut OsRng,
        &mut Silent,
    )
    .unwrap();
}

fn add_region(ca: &Path, out: &Path, id: &str) {
    add_region_at(ca, out, id, now(), 730);
}

fn add_central(ca: &Path, out: &Path) {
    let settings = CentralSettings::new(
        CentralName::parse("central").unwrap(),
        vec![DnsName::parse("central.mvd.kz").unwrap()],
        vec!["10.1.2.3".parse().unwrap()],
        ValidDays::for_peer(730).unwrap(),
    )
    .unwrap();
    provisioning::add_central(ca, out, &settings, now(), &mut OsRng, &mut Silent).unwrap();
}

fn cert_der(path: &Path) -> CertificateDer<'static> {
    CertificateDer::from_pem_file(path).unwrap()
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The problems of a bundle that must fail verification.
fn problems(result: provisioning::Result<VerifiedBundle>) -> Vec<Problem> {
    match result {
        Err(Error::InvalidBundle { problems, .. }) => problems,
        other => panic!("expected an invalid bundle, got {other:?}"),
    }
}

/// Copies `files` from bundle `from` into bundle `to` and re-records their digests and the
/// certificate's details in `to`'s manifest, so that only deeper checks can catch the swap.
fn transplant(from: &Path, to: &Path, files: &[&str], certificate_info: bool) {
    let source = Manifest::read(from).unwrap();
    let mut target = Manifest::read(to).unwrap();
    for file in files {
        let content = fs::read(from.join(file)).unwrap();
        fs::write(to.join(file), &content).unwrap();
        target
            .files
            .insert((*file).to_owned(), FileEntry::of(&content));
    }
    if certificate_info {
        target.certificate = source.certificate;
    }
    target.replace(to).unwrap();
}

#[test]
fn r20_region_bundle_verifies() {
    let tmp = TempDir::new().unwrap();
    let ca = init_ca(tmp.path(), "ca");
    let bundle = tmp.path().join("ast");
    add_region(&ca, &bundle, "AST");

    for file in [
        "ca.crt",
        "node.crt",
        "node.key",
        "node.toml",
        "bootstrap.secret",
        "web.crt",
        "web.key",
        "bundle.json",
    ] {
        assert!(bundle.join(file).is_file(), "{file} missing");
    }
    let verified = provisioning::verify_bundle(&bundle, now()).unwrap();
    assert_eq!(verified.role, Role::Region("AST".into()));

    let overlay: provisioning::NodeOverlay =
        toml::from_str(&fs::read_to_string(bundle.join("node.toml")).unwrap()).unwrap();
    assert_eq!(overlay.reference.region.code, "AST");
    assert_eq!(overlay.central.address, "central.mvd.kz:7102");
    assert_eq!(overlay.tls.cert, "node.crt");
    assert_eq!(
        overlay.https,
        Some(provisioning::OverlayHttps {
            cert: "web.crt".into(),
            key: "web.key".into()
        })
    );

    let secret = fs::read_to_string(bundle.join("bootstrap.secret")).unwrap();
    assert_eq!(
        secret.trim_end().chars().count(),
        provisioning::limits::BOOTSTRAP_SECRET_CHARS
    );

    // The node certificate and the console's web certificate, both revocable.
    let issued = provisioning::IssuedRegistry::read(&ca).unwrap();
    assert_eq!(issued.certificates.len(), 2);
    assert_eq!(issued.certificates[0].subject, "AST");
    assert_eq!(issued.certificates[0].role, "region");
    assert_eq!(
        issued.certificates[0].serial,
        verified.manifest.certificate.serial
    );
    assert_eq!(issued.certificates[1].subject, "AST");
    assert_eq!(issued.certificates[1].role, "region-web");
    assert_eq!(
        Some(&issued.certificates[1].serial),
        verified
            .manifest
            .web_certificate
            .as_ref()
            .map(|w| &w.serial)
    );
}

#[test]
fn r20_central_bundle_verifies() {
    let tmp = TempDir::new().unwrap();
    let ca = init_ca(tmp.path(), "ca");
    let bundle = tmp.path().join("central");
    add_central(&ca, &bundle);
    let verified = provisioning::verify_bundle(&bundle, now()).unwrap();
    assert_eq!(verified.role, Role::Central);
    assert!(bundle.join("crl.pem").is_file());
    assert_eq!(mode(&bundle.join("central.key")), 0o600);
}

#[test]
fn r20_key_files_are_0600() {
    let tmp = TempDir::new().unwrap();
    let ca = init_ca(tmp.path(), "ca");
    let bundle = tmp.path().join("ast");
    add_region(&ca, &bundle, "AST");
    assert_eq!(mode(&ca.join("ca.key")), 0o600);
    assert_eq!(mode(&ca.join("ca.crt")), 0o644);
    assert_eq!(mode(&ca), 0o700);
    assert_eq!(mode(&bundle.join("node.key")), 0o600);
    assert_eq!(mode(&bundle.join("bootstrap.secret")), 0o600);
    assert_eq!(mode(&bundle.join("node.crt")), 0o644);
    assert_eq!(mode(&bundle.join("web.key")), 0o600);
    assert_eq!(mode(&bundle.join("web.crt")), 0o644);
    assert_eq!(mode(&bundle), 0o700);
    // No staging directory or lock is left behind.
    let leftovers: Vec<_> = fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert!(!ca.join("ca.lock").exists());
}

#[test]
fn r20_verify_detects_open_key_mode() {
    let tmp = TempDir::new().unwrap();
    let ca = init_ca(tmp.path(), "ca");
    let bundle = tmp.path().join("ast");
    add_region(&ca, &bundle, "AST");
    fs::set_permissions(bundle.join("node.key"), fs::Permissions::from_mode(0o644)).unwrap();
    let found = problems(provisioning::verify_bundle(&bundle, now()));
    assert_eq!(
        found,
        vec![Problem::ModeTooOpen {
            file: "node.key".into(),
            mode: 0o644
        }]
    );
    assert!(found[0].to_string().contains("chmod 600 node.key"));
}

#[test]
fn r20_verify_detects_modified_file() {
    let tmp = TempDir::new().unwrap();
    let ca = init_ca(tmp.path(), "ca");
    let bundle = tmp.path().join("ast");
    add_region(&ca, &bundle, "AST");
    let config = bundle.join("node.toml");
    let edited = fs::read_to_string(&config)
        .unwrap()
        .replace("central.mvd.kz:7102", "evil.example:7102");
    fs::write(&config, edited).unwrap();

    let result = provisioning::verify_bundle(&bundle, now());
    let message = result.as_ref().unwrap_err().to_string();
    let found = problems(result);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(matches!(&found[0], Problem::DigestMismatch { file, .. } if file == "node.toml"));
    assert!(message.contains("node.toml: modified"), "{message}");
}

#[test]
fn r20_verify_detects_missing_file() {
    let tmp = TempDir::new().unwrap();
    let ca = init_ca(tmp.path(), "ca");
    let bundle = tmp.path().join("ast");
    add_region(&ca, &bundle, "AST");
    fs::remove_file(bundle.join("node.crt")).unwrap();
    let found = problems(provisioning::verify_bundle(&bundle, now()));
    assert_eq!(
        found,
        vec![Problem::Missing {
            file: "node.crt".into()
        }]
    );
}

#[test]
fn r20_verify_detects_certificate_from_another_ca() {
    let tmp = TempDir::new().unwrap();
    let ca = init_ca(tmp.path(), "ca");
    let rogue_ca = init_ca(tmp.path(), "rogue");
    let bundle = tmp.path().join("ast");
    let rogue = tmp.path().join("rogue-ast");
    add_region(&ca, &bundle, "AST");
    add_region(&rogue_ca, &rogue, "AST");
    transplant(&rogue, &bundle, &["node.crt", "node.key"], true);

    let found = problems(provisioning::verify_bundle(&bundle, now()));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(matches!(&found[0], Problem::NotSignedByCa { file, .. } if file == "node.crt"));
}

#[test]
fn r20_verify_detects_key_of_another_certificate() {
    let tmp = TempDir::new().unwrap();
    let ca = init_ca(tmp.path(), "ca");
    let bundle = tmp.path().join("ast");
    let other = tmp.path().join("ast-2");
    add_region(&ca, &bundle, "AST");
    add_region(&ca, &other, "AST");
    transplant(&other, &bundle, &["node.key"], false);

    let found = problems(provisioning::verify_bundle(&bundle, now()));
    assert_eq!(
        found,
        vec![Problem::KeyMismatch {
            file: "node.key".into(),
            cert: "node.crt".into()
        }]
    );
}

#[test]
fn r20_verify_detects_certificate_of_another_region() {
    let tmp = TempDir::new().unwrap();
    let ca = init_ca(tmp.path(), "ca");
    let bundle = tmp.path().join("ast");
    let other = tmp.path().join("ala");
    add_region(&ca, &bundle, "AST");
    add_region(&ca, &other, "ALA");
    transplant(&other, &bundle, &["node.crt", "node.key"], true);

    let found = problems(provisioning::verify_bundle(&bundle, now()));
    assert_eq!(
        found,
        vec![Problem::WrongRole {
            file: "node.crt".into(),
            expected: "region AST".into(),
            found: "region ALA".into()
        }]
    );
}

#[test]
fn r20_verify_detects_expired_certificate() {
    let tmp = TempDir::new().unwrap();
    let ca = init_ca_at(tmp.path(), "ca", now() - Duration::days(200), 3650);
    let bundle = tmp.path().join("ast");
    // Issued 100 days ago for 10 days.
    add_region_at(&ca, &bundle, "AST", now() - Duration::days(100), 10);
    let found = problems(provisioning::verify_bundle(&bundle, now()));
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(matches!(&found[0], Problem::Expired { file, .. } if file == "node.crt"));
    assert!(found[0].to_string().starts_with("node.crt: expired on "));
    // The web certificate has the same validity.
    assert!(matches!(&found[1], Problem::Expired { file, .. } if file == "web.crt"));

    // The same bundle verified at a time inside its validity passes.
    provisioning::verify_bundle(&bundle, now() - Duration::days(95)).unwrap();
}

#[test]
fn r20_verify_detects_not_yet_valid_certificate() {
    let tmp = TempDir::new().unwrap();
    let ca = init_ca(tmp.path(), "ca");
    let bundle = tmp.path().join("ast");
    add_region_at(&ca, &bundle, "AST", now() + Duration::days(10), 30);
    let found = problems(provisioning::verify_bundle(&bundle, now()));
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(matches!(&found[0], Problem::NotYetValid { file, .. } if file == "node.crt"));
    assert!(matches!(&found[1], Problem::NotYetValid { file, .. } if file == "web.crt"));
}

#[test]
fn r20_verify_rejects_corrupt_manifest() {
    let tmp = TempDir::new().unwrap();
    let ca = init_ca(tmp.path(), "ca");
    let bundle = tmp.path().join("ast");
    add_region(&ca, &bundle, "AST");
    let manifest = bundle.join("bundle.json");

    let check = |content: &str, expect: &str| {
        fs::write(&manifest, content).unwrap();
        match provisioning::verify_bundle(&bundle, now()) {
            Err(e @ Error::BadFile { .. }) => {
                let message = e.to_string();
                assert!(message.contains("bundle.json"), "{message}");
                assert!(message.contains(expect), "{message}");
            }
            other => panic!("expected a bad manifest, got {other:?}"),
        }
    };
    check(
        "{\"format\": \"mvd102-bundle\", \"format_ver",
        "invalid JSON",
    );
    check("[]", "invalid JSON");
    check(
        "{\"format\": \"zip\"}",
        "not a provisioning bundle manifest",
    );
    check(
        "{\"format\": \"mvd102-bundle\", \"format_version\": 99}",
        "format_version 99 is not supported",
    );
    check(
        "{\"format\": \"mvd102-bundle\", \"format_version\": 1}",
        "invalid manifest",
    );
    fs::remove_file(&manifest).unwrap();
    match provisioning::verify_bundle(&bundle, now()) {
        Err(e @ Error::Io { .. }) => assert!(e.to_string().contains("bundle.json")),
        other => panic!("expected a missing manifest, got {other:?}"),
    }
}

#[test]
fn r20_verify_refuses_manifest_entries_outside_the_bundle() {
    let tmp = TempDir::new().unwrap();
    let ca = init_ca(tmp.path(), "ca");
    let bundle = tmp.path().join("ast");
    add_region(&ca, &bundle, "AST");
    let mut manifest = Manifest::read(&bundle).unwrap();
    manifest
        .files
        .insert("../ca/ca.key".into(), FileEntry::of(b"x"));
    manifest.replace(&bundle).unwrap();
    let found = problems(provisioning::verify_bundle(&bundle, now()));
    assert_eq!(
        found,
        vec![Problem::UnexpectedEntry {
            file: "../ca/ca.key".into()
        }]
    );
}

#[test]
fn r20_region_of_round_trips() {
    let tmp = TempDir::new().unwrap();
    let ca = init_ca(tmp.path(), "ca");
    let ast = tmp.path().join("ast");
    let central = tmp.path().join("central");
    add_region(&ca, &ast, "AST");
    add_central(&ca, &central);

    let node_cert = cert_der(&ast.join("node.crt"));
    assert_eq!(region_of(&node_cert).unwrap(), Some("AST".to_owned()));
    assert_eq!(role_of(&node_cert).unwrap(), Role::Region("AST".into()));

    let central_cert = cert_der(&central.join("central.crt"));
    assert_eq!(region_of(&central_cert).unwrap(), None);
    assert_eq!(role_of(&central_cert).unwrap(), Role::Central);

    // The CA certificate carries no role; garbage is an error, never a panic.
    let ca_cert = cert_der(&ca.join("ca.crt"));
    assert_eq!(region_of(&ca_cert).unwrap(), None);
    assert!(role_of(&ca_cert).is_err());
    assert!(region_of(b"not a certificate").is_err());
    assert!(region_of(&node_cert[..node_cert.len() / 2]).is_err());
    assert!(region_of(&[]).is_err());
}

#[test]
fn r20_region_of_refuses_ambiguous_certificates() {
    let key = rcgen::KeyPair::generate().unwrap();
    let make = |cn: &str, uris: &[&str]| {
        let mut params = rcgen::CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, cn);
        params.subject_alt_names = uris
            .iter()
            .map(|u| rcgen::SanType::URI((*u).try_into().unwrap()))
            .collect();
        params.self_signed(&key).unwrap().der().to_vec()
    };
    let two_regions = make(
        "region:AST",
        &["urn:mvd102:region:AST", "urn:mvd102:region:ALA"],
    );
    assert!(region_of(&two_regions).is_err());
    let region_and_central = make(
        "region:AST",
        &["urn:mvd102:region:AST", "urn:mvd102:central:central"],
    );
    assert!(region_of(&region_and_central).is_err());
    let disagreeing_cn = make("region:ALA", &["urn:mvd102:region:AST"]);
    assert!(region_of(&disagreeing_cn).is_err());
    let bad_id = make("x", &["urn:mvd102:region:ast"]);
    assert!(region_of(&bad_id).is_err());
    let cn_only = make("region:AST", &[]);
    assert!(region_of(&cn_only).is_err());
    let fine = make("region:AST", &["urn:mvd102:region:AST"]);
    assert_eq!(region_of(&fine).unwrap(), Some("AST".into()));
}

#[test]
fn r20_load_identity_returns_the_bundle_identity() {
    let tmp = TempDir::new().unwrap();
    let ca = init_ca(tmp.path(), "ca");
    let bundle = tmp.path().join("ast");
    add_region(&ca, &bundle, "AST");
    let identity = load_identity_at(&bundle, now()).unwrap();
    assert_eq!(identity.role, Role::Region("AST".into()));
    assert_eq!(
        identity.cert_chain,
        vec![cert_der(&bundle.join("node.crt"))]
    );
    assert_eq!(identity.ca_cert, cert_der(&ca.join("ca.crt")));
    let key = rcgen::KeyPair::try_from(&identity.key).unwrap();
    assert_eq!(
        key.serialize_pem(),
        fs::read_to_string(bundle.join("node.key")).unwrap()
    );

    // The node may delete the first-admin secret once it is used.
    fs::remove_file(bundle.join("bootstrap.secret")).unwrap();
    load_identity_at(&bundle, now()).unwrap();

    // A damaged bundle yields no identity.
    fs::write(bundle.join("node.toml"), "x").unwrap();
    assert!(matches!(
        load_identity_at(&bundle, now()),
        Err(Error::InvalidBundle { .. })
    ));
}

#[test]
fn r20_revoked_region_certificate_is_revoked() {
    let tmp = TempDir::new().unwrap();
    let ca = init_ca(tmp.path(), "ca");
    let ast = tmp.path().join("ast");
    let ala = tmp.path().join("ala");
    add_region(&ca, &ast, "AST");
    add_region(&ca, &ala, "ALA");
    let ca_cert = cert_der(&ca.join("ca.crt"));
    let ast_cert = cert_der(&ast.join("node.crt"));
    let ala_cert = cert_der(&ala.join("node.crt"));

    let before = RevocationList::read(&ca.join("crl.pem"), &ca_cert).unwrap();
    assert!(!is_revoked(&before, &ast_cert));
    assert_eq!(before.crl_number(), Some("1"));

    let target = RevokeTarget::Region(RegionId::parse("AST").unwrap());
    let summary =
        provisioning::revoke(&ca, &target, Some("node stolen"), now(), &mut Silent).unwrap();
    // The node certificate and the console's web certificate.
    assert_eq!(summary.serials.len(), 2);
    assert_eq!(summary.crl_number, 2);

    let list = RevocationList::read(&ca.join("crl.pem"), &ca_cert).unwrap();
    assert!(is_revoked(&list, &ast_cert));
    assert!(!is_revoked(&list, &ala_cert));
    assert!(
        is_revoked(&list, b"garbage"),
        "an unreadable certificate fails closed"
    );
    assert!(list.is_current(now()));
    assert!(!list.is_current(now() + Duration::days(365)));
    assert_eq!(list.crl_number(), Some("2"));

    let record = RevocationRecord::read(&ca).unwrap();
    assert_eq!(record.revoked.len(), 2);
    assert_eq!(record.revoked[0].subject, "AST");
    assert_eq!(record.revoked[0].reason.as_deref(), Some("node stolen"));

    // Nothing left to revoke, and a region the CA never served.
    assert!(matches!(
        provisioning::revoke(&ca, &target, None, now(), &mut Silent),
        Err(Error::AlreadyRevoked { .. })
    ));
    let unknown = RevokeTarget::Region(RegionId::parse("SHY").unwrap());
    assert!(matches!(
        provisioning::revoke(&ca, &unknown, None, now(), &mut Silent),
        Err(Error::NeverIssued { .. })
    ));

    // A re-provisioned AST gets a new certificate that the old revocation does not touch.
    let ast2 = tmp.path().join("ast-2");
    add_region(&ca, &ast2, "AST");
    assert!(!is_revoked(&list, &cert_der(&ast2.join("node.crt"))));

    // A refreshed CRL keeps the revocations under a new number.
    provisioning::refresh_crl(&ca, now(), &mut Silent).unwrap();
    let refreshed = RevocationList::read(&ca.join("crl.pem"), &ca_cert).unwrap();
    assert_eq!(refreshed.crl_number(), Some("3"));
    assert!(is_revoked(&refreshed, &ast_cert));
}

#[test]
fn r20_revocation_list_of_another_ca_is_refused() {
    let tmp = TempDir::new().unwrap();
    let ca = init_ca(tmp.path(), "ca");
    let rogue = init_ca(tmp.path(), "rogue");
    let ca_cert = cert_der(&ca.join("ca.crt"));
    let err = RevocationList::read(&rogue.join("crl.pem"), &ca_cert).unwrap_err();
    assert!(err.to_string().contains("crl.pem"), "{err}");

    // A CRL whose bytes were altered fails its signature check.
    let mut der = rustls_pki_types::CertificateRevocationListDer::from_pem_file(ca.join("crl.pem"))
        .unwrap()
        .to_vec();
    let last = der.len() - 1;
    der[last] ^= 0x01;
    assert!(RevocationList::from_der(&der, &ca_cert).is_err());
}

#[test]
fn r20_webpki_accepts_the_certificates_and_the_crl() {
    let tmp = TempDir::new().unwrap();
    let ca = init_ca(tmp.path(), "ca");
    let ast = tmp.path().join("ast");
    let central = tmp.path().join("central");
    add_region(&ca, &ast, "AST");
    add_central(&ca, &central);
    let ca_cert = cert_der(&ca.join("ca.crt"));
    let anchors = [webpki::anchor_from_trusted_cert(&ca_cert).unwrap()];
    let algorithms = [webpki::ring::ECDSA_P256_SHA256];
    let time =
        UnixTime::since_unix_epoch(std::time::Duration::from_secs(now().unix_timestamp() as u64));
    let node_cert = cert_der(&ast.join("node.crt"));
    let central_cert = cert_der(&central.join("central.crt"));

    let verify = |cert: &CertificateDer<'_>,
                  usage: webpki::KeyUsage,
                  crl: Option<&webpki::CertRevocationList<'_>>| {
        let crls = crl.map(|c| [c]);
        let revocation = crls.as_ref().map(|c| {
            webpki::RevocationOptionsBuilder::new(c)
                .unwrap()
                .with_depth(webpki::RevocationCheckDepth::EndEntity)
                .build()
        });
        webpki::EndEntityCert::try_from(cert)
            .unwrap()
            .verify_for_usage(&algorithms, &anchors, &[], time, usage, revocation, None)
            .map(|_| ())
    };
    // The node as a client and as a server, the central as a server dialled by name and address.
    verify(&node_cert, webpki::KeyUsage::client_auth(), None).unwrap();
    verify(&node_cert, webpki::KeyUsage::server_auth(), None).unwrap();
    verify(&central_cert, webpki::KeyUsage::server_auth(), None).unwrap();
    verify(&central_cert, webpki::KeyUsage::client_auth(), None).unwrap();
    let central_ee = webpki::EndEntityCert::try_from(&central_cert).unwrap();
    central_ee
        .verify_is_valid_for_subject_name(&ServerName::try_from("central.mvd.kz").unwrap())
        .unwrap();
    central_ee
        .verify_is_valid_for_subject_name(&ServerName::try_from("10.1.2.3").unwrap())
        .unwrap();
    webpki::EndEntityCert::try_from(&node_cert)
        .unwrap()
        .verify_is_valid_for_subject_name(
            &ServerName::try_from(provisioning::region_server_name("AST")).unwrap(),
        )
        .unwrap();

    let target = RevokeTarget::Region(RegionId::parse("AST").unwrap());
    provisioning::revoke(&ca, &target, None, now(), &mut Silent).unwrap();
    let crl_der =
        rustls_pki_types::CertificateRevocationListDer::from_pem_file(ca.join("crl.pem")).unwrap();
    let crl: webpki::CertRevocationList<'_> = webpki::OwnedCertRevocationList::from_der(&crl_der)
        .unwrap()
        .into();
    assert!(matches!(
        verify(&node_cert, webpki::KeyUsage::client_auth(), Some(&crl)),
        Err(webpki::Error::CertRevoked)
    ));
    verify(&central_cert, webpki::KeyUsage::client_auth(), Some(&crl)).unwrap();
}

#[test]
fn r20_add_region_refuses_a_bad_region_id() {
    for bad in ["", "A", "ast", "AS1", "ABCDEFGHI", "АСТ"] {
        let err = RegionId::parse(bad).unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidArgument {
                    field: "region id",
                    ..
                }
            ),
            "{bad:?}"
        );
    }
}

#[test]
fn r20_add_region_refuses_an_existing_out_dir() {
    let tmp = TempDir::new().unwrap();
    let ca = init_ca(tmp.path(), "ca");
    let bundle = tmp.path().join("ast");
    fs::create_dir(&bundle).unwrap();
    fs::write(bundle.join("notes.txt"), "keep me").unwrap();
    let result = provisioning::add_region(
        &ca,
        &bundle,
        &region("AST", 730),
        now(),
        &mut OsRng,
        &mut Silent,
    );
    assert!(
        matches!(result, Err(Error::AlreadyExists { .. })),
        "{result:?}"
    );
    assert_eq!(
        fs::read_to_string(bundle.join("notes.txt")).unwrap(),
        "keep me"
    );
    assert!(provisioning::IssuedRegistry::read(&ca)
        .unwrap()
        .certificates
        .is_empty());

    // An existing empty directory is fine and ends up private.
    let empty = tmp.path().join("empty");
    fs::create_dir(&empty).unwrap();
    add_region(&ca, &empty, "AST");
    provisioning::verify_bundle(&empty, now()).unwrap();
    assert_eq!(mode(&empty), 0o700);
}

#[test]
fn r20_add_region_refuses_a_certificate_outliving_the_ca() {
    let tmp = TempDir::new().unwrap();
    let ca = init_ca_valid(tmp.path(), "ca", 30);
    let bundle = tmp.path().join("ast");
    let result = provisioning::add_region(
        &ca,
        &bundle,
        &region("AST", 60),
        now(),
        &mut OsRng,
        &mut Silent,
    );
    let err = result.unwrap_err();
    assert!(err.to_string().contains("outlive the CA"), "{err}");
    assert!(!bundle.exists());
}

#[test]
fn r20_add_region_without_a_ca_writes_nothing() {
    let tmp = TempDir::new().unwrap();
    let bundle = tmp.path().join("ast");
    let missing = tmp.path().join("no-ca");
    fs::create_dir(&missing).unwrap();
    let err = provisioning::add_region(
        &missing,
        &bundle,
        &region("AST", 730),
        now(),
        &mut OsRng,
        &mut Silent,
    )
    .unwrap_err();
    assert!(err.to_string().contains("ca.key"), "{err}");
    assert!(!bundle.exists());
    assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 1);
}

#[test]
fn r20_init_ca_refuses_to_overwrite_a_ca() {
    let tmp = TempDir::new().unwrap();
    let ca = init_ca(tmp.path(), "ca");
    let key_before = fs::read(ca.join("ca.key")).unwrap();
    let settings = CaSettings {
        name: CaName::parse("again").unwrap(),
        valid_days: ValidDays::for_ca(10).unwrap(),
    };
    let err = provisioning::init_ca(&ca, &settings, now(), &mut OsRng, &mut Silent).unwrap_err();
    assert!(err.to_string().contains("never overwrites"), "{err}");
    assert_eq!(fs::read(ca.join("ca.key")).unwrap(), key_before);
}

#[test]
fn r20_a_held_ca_lock_stops_a_second_run() {
    let tmp = TempDir::new().unwrap();
    let ca = init_ca(tmp.path(), "ca");
    fs::write(ca.join("ca.lock"), "12345\n").unwrap();
    let err = provisioning::add_region(
        &ca,
        &tmp.path().join("ast"),
        &region("AST", 730),
        now(),
        &mut OsRng,
        &mut Silent,
    )
    .unwrap_err();
    assert!(matches!(err, Error::CaLocked { .. }), "{err}");
}
