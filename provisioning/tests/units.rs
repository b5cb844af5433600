//! R20 field units: unit bundles (`add-unit`) for the patrols' terminals, their verification and
//! revocation (`revoke --unit`, and `revoke --region` taking the region's units along), the CRL a
//! region bundle now carries for its node, and bad input refused with nothing written. The
//! handshakes over the field link are in `field_tls.rs`.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use provisioning::limits::{UNIT_ID_CHARS_MAX, UNIT_VALID_DAYS_MAX};
use provisioning::manifest::{FileEntry, Manifest, Subject};
use provisioning::progress::Silent;
use provisioning::settings::{
    CaName, CaSettings, CentralAddress, NodeAddress, NodeWebUrl, RegionId, RegionName,
    RegionSettings, UnitId, UnitSettings, ValidDays,
};
use provisioning::{
    load_identity_at, load_unit_identity_at, region_of, role_of, unit_of, Error, IssuedRegistry,
    NodeOverlay, Problem, RevocationList, RevocationRecord, RevokeTarget, Role, TerminalOverlay,
    VerifiedBundle,
};
use rand::rngs::OsRng;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use tempfile::TempDir;
use time::{Duration, OffsetDateTime};
use x509_parser::prelude::{FromDer, X509Certificate};

const NODE_FIELD_ADDRESS: &str = "10.20.0.5:7103";
const NODE_WEB: &str = "https://console.ast.mvd.kz";

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn init_ca_valid(root: &Path, days: u32) -> PathBuf {
    let dir = root.join("ca");
    let settings = CaSettings {
        name: CaName::parse("test CA").unwrap(),
        valid_days: ValidDays::for_ca(days).unwrap(),
    };
    provisioning::init_ca(&dir, &settings, now(), &mut OsRng, &mut Silent).unwrap();
    dir
}

fn init_ca(root: &Path) -> PathBuf {
    init_ca_valid(root, 3650)
}

fn add_region(ca: &Path, root: &Path, id: &str) -> PathBuf {
    add_region_valid(ca, root, id, 730)
}

fn add_region_valid(ca: &Path, root: &Path, id: &str, days: u32) -> PathBuf {
    let out = root.join(format!("region-{id}"));
    let settings = RegionSettings {
        id: RegionId::parse(id).unwrap(),
        name_kk: RegionName::parse("name-kk", "Астана қаласы ПД").unwrap(),
        name_ru: RegionName::parse("name-ru", "ДП города Астаны").unwrap(),
        central: CentralAddress::parse("central.mvd.kz:7102").unwrap(),
        valid_days: ValidDays::for_peer(days).unwrap(),
    };
    provisioning::add_region(ca, &out, &settings, now(), &mut OsRng, &mut Silent).unwrap();
    out
}

fn unit_settings(region: &str, unit: &str) -> UnitSettings {
    UnitSettings::new(
        RegionId::parse(region).unwrap(),
        UnitId::parse(unit).unwrap(),
        NodeAddress::parse(NODE_FIELD_ADDRESS).unwrap(),
        ValidDays::for_unit(30).unwrap(),
    )
}

fn add_unit(ca: &Path, root: &Path, region: &str, unit: &str) -> PathBuf {
    let out = root.join(format!("unit-{region}-{unit}"));
    provisioning::add_unit(
        ca,
        &out,
        &unit_settings(region, unit),
        now(),
        &mut OsRng,
        &mut Silent,
    )
    .unwrap();
    out
}

fn cert_der(path: &Path) -> CertificateDer<'static> {
    CertificateDer::from_pem_file(path).unwrap()
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn problems(result: provisioning::Result<VerifiedBundle>) -> Vec<Problem> {
    match result {
        Err(Error::InvalidBundle { problems, .. }) => problems,
        other => panic!("expected an invalid bundle, got {other:?}"),
    }
}

/// Writes `content` into a bundle file and records its digest, so only deeper checks can tell.
fn rewrite(bundle: &Path, file: &str, content: &[u8]) {
    fs::write(bundle.join(file), content).unwrap();
    let mut manifest = Manifest::read(bundle).unwrap();
    manifest
        .files
        .insert(file.to_owned(), FileEntry::of(content));
    manifest.replace(bundle).unwrap();
}

fn issued(ca: &Path) -> Vec<(String, String)> {
    IssuedRegistry::read(ca)
        .unwrap()
        .certificates
        .into_iter()
        .map(|c| (c.role, c.subject))
        .collect()
}

#[test]
fn r20_unit_bundle_verifies() {
    let tmp = TempDir::new().unwrap();
    let ca = init_ca(tmp.path());
    add_region(&ca, tmp.path(), "AST");
    let out = tmp.path().join("p01");
    let mut settings = unit_settings("AST", "p01");
    settings.node_web = Some(NodeWebUrl::parse(NODE_WEB).unwrap());
    let summary =
        provisioning::add_unit(&ca, &out, &settings, now(), &mut OsRng, &mut Silent).unwrap();
    assert!(summary.earlier_unrevoked.is_empty());

    let mut names: Vec<String> = fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "bundle.json",
            "ca.crt",
            "terminal.toml",
            "unit.crt",
            "unit.key"
        ]
    );
    assert_eq!(mode(&out.join("unit.key")), 0o600);
    assert_eq!(mode(&out), 0o700);

    let verified = provisioning::verify_bundle(&out, now()).unwrap();
    let unit_role = Role::Unit {
        region: "AST".into(),
        unit: "p01".into(),
    };
    assert_eq!(verified.role, unit_role);
    assert_eq!(verified.manifest.format_version, 3);
    assert_eq!(
        verified.manifest.subject,
        Subject::Unit {
            region: "AST".into(),
            id: "p01".into()
        }
    );
    assert!(verified.manifest.web_certificate.is_none());
    assert_eq!(verified.manifest.certificate.serial, summary.serial);
    assert!(verified.web_names.is_empty());

    // The certificate: CN and URI SAN name the unit, client authentication only, not past the
    // requested validity.
    let der = cert_der(&out.join("unit.crt"));
    assert_eq!(unit_of(&der).unwrap(), ("AST".into(), "p01".into()));
    assert_eq!(role_of(&der).unwrap(), unit_role);
    assert_eq!(region_of(&der).unwrap(), None);
    let (_, cert) = X509Certificate::from_der(&der).unwrap();
    let cns: Vec<_> = cert
        .subject()
        .iter_common_name()
        .map(|cn| cn.as_str().unwrap())
        .collect();
    assert_eq!(cns, ["unit:AST:p01"]);
    let eku = cert.extended_key_usage().unwrap().unwrap().value;
    assert!(eku.client_auth && !eku.server_auth);
    assert!(!cert.is_ca());
    let days = (cert.validity().not_after.to_datetime() - now()).whole_days();
    assert!((29..=30).contains(&days), "{days}");

    // terminal.toml: the unit, the node's field address and name, the web URL, bundle paths.
    let overlay: TerminalOverlay =
        toml::from_str(&fs::read_to_string(out.join("terminal.toml")).unwrap()).unwrap();
    assert_eq!(
        (overlay.unit.region.as_str(), overlay.unit.id.as_str()),
        ("AST", "p01")
    );
    assert_eq!(overlay.node.address, NODE_FIELD_ADDRESS);
    assert_eq!(overlay.node.server_name, "ast.region.mvd102");
    assert_eq!(
        overlay.node.web_url.as_deref(),
        Some("https://console.ast.mvd.kz/")
    );
    assert_eq!(
        (
            overlay.tls.ca_cert.as_str(),
            overlay.tls.cert.as_str(),
            overlay.tls.key.as_str()
        ),
        ("ca.crt", "unit.crt", "unit.key")
    );
    assert_eq!(overlay.tls.crl, None);

    // Recorded so it can be revoked.
    assert!(issued(&ca).contains(&("unit".into(), "AST:p01".into())));

    // What the terminal loads.
    let loaded = load_unit_identity_at(&out, now()).unwrap();
    assert_eq!(
        (loaded.region.as_str(), loaded.unit.as_str()),
        ("AST", "p01")
    );
    assert_eq!(loaded.terminal, overlay);
    assert_eq!(loaded.identity.role, unit_role);
    assert_eq!(loaded.identity.cert_chain, vec![der]);
    assert_eq!(
        loaded.identity.ca_cert,
        cert_der(&out.join("ca.crt")),
        "the terminal trusts the bundle's CA"
    );

    // A second bundle for the same unit notes the first one, still unrevoked.
    let again = provisioning::add_unit(
        &ca,
        &tmp.path().join("p01-again"),
        &settings,
        now(),
        &mut OsRng,
        &mut Silent,
    )
    .unwrap();
    assert_eq!(again.earlier_unrevoked, [summary.serial]);
}

#[test]
fn r20_unit_bundle_without_web_url_and_with_another_node_name() {
    let tmp = TempDir::new().unwrap();
    let ca = init_ca(tmp.path());
    add_region(&ca, tmp.path(), "AST");
    let out = tmp.path().join("p02");
    let mut settings = unit_settings("AST", "p02");
    settings.node_name = provisioning::settings::DnsName::parse("node.ast.mvd.kz").unwrap();
    provisioning::add_unit(&ca, &out, &settings, now(), &mut OsRng, &mut Silent).unwrap();
    provisioning::verify_bundle(&out, now()).unwrap();
    let text = fs::read_to_string(out.join("terminal.toml")).unwrap();
    assert!(!text.contains("web_url"), "{text}");
    assert!(text.contains("server_name = \"node.ast.mvd.kz\""), "{text}");
}

#[test]
fn r20_unit_and_region_loaders_refuse_each_others_bundles() {
    let tmp = TempDir::new().unwrap();
    let ca = init_ca(tmp.path());
    let region = add_region(&ca, tmp.path(), "AST");
    let unit = add_unit(&ca, tmp.path(), "AST", "p01");
    let err = load_unit_identity_at(&region, now()).unwrap_err();
    assert!(err.to_string().contains("needs a unit bundle"), "{err}");
    // load_identity reads any bundle and says whose it is; the node checks the role.
    assert_eq!(
        load_identity_at(&unit, now()).unwrap().role,
        Role::Unit {
            region: "AST".into(),
            unit: "p01".into()
        }
    );
}

#[test]
fn r20_unit_bundle_problems_name_the_file() {
    let tmp = TempDir::new().unwrap();
    let ca = init_ca(tmp.path());
    add_region(&ca, tmp.path(), "AST");
    let p01 = add_unit(&ca, tmp.path(), "AST", "p01");
    let p02 = add_unit(&ca, tmp.path(), "AST", "p02");
    let original = fs::read(p01.join("terminal.toml")).unwrap();

    // terminal.toml for another unit, re-recorded in the manifest.
    let text = String::from_utf8(original.clone()).unwrap();
    rewrite(
        &p01,
        "terminal.toml",
        text.replace("id = \"p01\"", "id = \"p02\"").as_bytes(),
    );
    let found = problems(provisioning::verify_bundle(&p01, now()));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(matches!(&found[0], Problem::ConfigMismatch { file, .. } if file == "terminal.toml"));
    assert!(found[0].to_string().contains("[unit]"), "{}", found[0]);

    // A node address that does not parse.
    rewrite(
        &p01,
        "terminal.toml",
        text.replace(NODE_FIELD_ADDRESS, "10.20.0.5").as_bytes(),
    );
    let found = problems(provisioning::verify_bundle(&p01, now()));
    assert!(found[0].to_string().contains("invalid node"), "{found:?}");

    // A terminal.toml modified after the manifest.
    fs::write(p01.join("terminal.toml"), text.replace("p01", "p03")).unwrap();
    let found = problems(provisioning::verify_bundle(&p01, now()));
    assert!(
        matches!(&found[0], Problem::DigestMismatch { file, .. } if file == "terminal.toml"),
        "{found:?}"
    );
    rewrite(&p01, "terminal.toml", &original);
    provisioning::verify_bundle(&p01, now()).unwrap();

    // The key readable by others.
    fs::set_permissions(p01.join("unit.key"), fs::Permissions::from_mode(0o644)).unwrap();
    let found = problems(provisioning::verify_bundle(&p01, now()));
    assert_eq!(
        found,
        vec![Problem::ModeTooOpen {
            file: "unit.key".into(),
            mode: 0o644
        }]
    );
    fs::set_permissions(p01.join("unit.key"), fs::Permissions::from_mode(0o600)).unwrap();

    // Another unit's certificate and key: the manifest's unit is not the certificate's.
    for file in ["unit.crt", "unit.key"] {
        rewrite(&p01, file, &fs::read(p02.join(file)).unwrap());
    }
    let mut manifest = Manifest::read(&p01).unwrap();
    manifest.certificate = Manifest::read(&p02).unwrap().certificate;
    manifest.replace(&p01).unwrap();
    let found = problems(provisioning::verify_bundle(&p01, now()));
    assert!(
        found
            .iter()
            .any(|p| matches!(p, Problem::WrongRole { file, .. } if file == "unit.crt")),
        "{found:?}"
    );

    // Expired.
    let found = problems(provisioning::verify_bundle(
        &p02,
        now() + Duration::days(31),
    ));
    assert!(
        found
            .iter()
            .any(|p| matches!(p, Problem::Expired { file, .. } if file == "unit.crt")),
        "{found:?}"
    );

    // A unit manifest claiming a version before units existed, or with a web certificate.
    let path = p02.join("bundle.json");
    let json = fs::read_to_string(&path).unwrap();
    fs::write(
        &path,
        json.replace("\"format_version\": 3", "\"format_version\": 2"),
    )
    .unwrap();
    let err = provisioning::verify_bundle(&p02, now()).unwrap_err();
    assert!(
        matches!(err, Error::BadFile { .. }) && err.to_string().contains("format_version 3"),
        "{err}"
    );
    let mut value: serde_json::Value = serde_json::from_str(&json).unwrap();
    value["web_certificate"] = value["certificate"].clone();
    fs::write(&path, value.to_string()).unwrap();
    let err = provisioning::verify_bundle(&p02, now()).unwrap_err();
    assert!(err.to_string().contains("unit bundle has no"), "{err}");
}

#[test]
fn r20_region_bundle_carries_the_crl_for_its_node() {
    let tmp = TempDir::new().unwrap();
    let ca = init_ca(tmp.path());
    let ast = add_region(&ca, tmp.path(), "AST");
    assert_eq!(
        fs::read(ast.join("crl.pem")).unwrap(),
        fs::read(ca.join("crl.pem")).unwrap()
    );
    let overlay: NodeOverlay =
        toml::from_str(&fs::read_to_string(ast.join("node.toml")).unwrap()).unwrap();
    assert_eq!(overlay.field.as_ref().unwrap().crl, "crl.pem");
    let manifest = Manifest::read(&ast).unwrap();
    assert!(manifest.has_field_crl());
    assert!(
        !manifest.files.contains_key("crl.pem"),
        "replaced after revocations, so not in the manifest"
    );

    // A newer CRL from the CA replaces it without breaking the bundle.
    add_region(&ca, tmp.path(), "KRG");
    provisioning::revoke(
        &ca,
        &RevokeTarget::Region(RegionId::parse("KRG").unwrap()),
        None,
        now(),
        &mut Silent,
    )
    .unwrap();
    fs::copy(ca.join("crl.pem"), ast.join("crl.pem")).unwrap();
    provisioning::verify_bundle(&ast, now()).unwrap();

    // Missing, or not the CA's: the node could not check its terminals.
    fs::remove_file(ast.join("crl.pem")).unwrap();
    let found = problems(provisioning::verify_bundle(&ast, now()));
    assert_eq!(
        found,
        vec![Problem::Missing {
            file: "crl.pem".into()
        }]
    );
    let other = TempDir::new().unwrap();
    let other_ca = init_ca(other.path());
    fs::copy(other_ca.join("crl.pem"), ast.join("crl.pem")).unwrap();
    let found = problems(provisioning::verify_bundle(&ast, now()));
    assert!(
        matches!(&found[..], [Problem::Unreadable { file, reason }]
            if file == "crl.pem" && reason.contains("not the CA's")),
        "{found:?}"
    );
    fs::copy(ca.join("crl.pem"), ast.join("crl.pem")).unwrap();

    // [field] must name the bundle's crl.pem.
    let text = fs::read_to_string(ast.join("node.toml")).unwrap();
    rewrite(
        &ast,
        "node.toml",
        text.replace("crl = \"crl.pem\"", "crl = \"/etc/crl.pem\"")
            .as_bytes(),
    );
    let found = problems(provisioning::verify_bundle(&ast, now()));
    assert!(
        matches!(&found[..], [Problem::ConfigMismatch { file, reason }]
            if file == "node.toml" && reason.contains("[field]")),
        "{found:?}"
    );
}

#[test]
fn r20_format_version_2_region_bundles_still_verify() {
    let tmp = TempDir::new().unwrap();
    let ca = init_ca(tmp.path());
    let ast = add_region(&ca, tmp.path(), "AST");
    // What the previous tool wrote: no [field], no crl.pem, format_version 2.
    let mut overlay: NodeOverlay =
        toml::from_str(&fs::read_to_string(ast.join("node.toml")).unwrap()).unwrap();
    overlay.field = None;
    let text = toml::to_string(&overlay).unwrap();
    rewrite(&ast, "node.toml", text.as_bytes());
    fs::remove_file(ast.join("crl.pem")).unwrap();
    let mut manifest = Manifest::read(&ast).unwrap();
    manifest.format_version = 2;
    manifest.replace(&ast).unwrap();

    let verified = provisioning::verify_bundle(&ast, now()).unwrap();
    assert_eq!(verified.manifest.format_version, 2);
    assert!(!verified.manifest.has_field_crl());
    load_identity_at(&ast, now()).unwrap();

    // A version 2 node.toml naming a field CRL is inconsistent.
    overlay.field = Some(provisioning::OverlayField {
        crl: "crl.pem".into(),
    });
    rewrite(
        &ast,
        "node.toml",
        toml::to_string(&overlay).unwrap().as_bytes(),
    );
    let found = problems(provisioning::verify_bundle(&ast, now()));
    assert!(
        matches!(&found[..], [Problem::ConfigMismatch { reason, .. }] if reason.contains("[field]")),
        "{found:?}"
    );
}

#[test]
fn r20_revoke_unit_revokes_only_that_unit() {
    let tmp = TempDir::new().unwrap();
    let ca = init_ca(tmp.path());
    add_region(&ca, tmp.path(), "AST");
    let p01 = add_unit(&ca, tmp.path(), "AST", "p01");
    let p01_again = tmp.path().join("p01-again");
    provisioning::add_unit(
        &ca,
        &p01_again,
        &unit_settings("AST", "p01"),
        now(),
        &mut OsRng,
        &mut Silent,
    )
    .unwrap();
    let p02 = add_unit(&ca, tmp.path(), "AST", "p02");
    let ca_cert = cert_der(&ca.join("ca.crt"));

    let target = RevokeTarget::Unit {
        region: RegionId::parse("AST").unwrap(),
        unit: UnitId::parse("p01").unwrap(),
    };
    assert_eq!(target.to_string(), "unit AST:p01");
    let summary =
        provisioning::revoke(&ca, &target, Some("terminal stolen"), now(), &mut Silent).unwrap();
    assert_eq!(summary.serials.len(), 2, "both of p01's certificates");
    assert!(summary
        .revoked
        .iter()
        .all(|r| r.role == "unit" && r.subject == "AST:p01"));

    let list = RevocationList::read(&ca.join("crl.pem"), &ca_cert).unwrap();
    for bundle in [&p01, &p01_again] {
        assert!(provisioning::is_revoked(
            &list,
            &cert_der(&bundle.join("unit.crt"))
        ));
    }
    assert!(!provisioning::is_revoked(
        &list,
        &cert_der(&p02.join("unit.crt"))
    ));
    let region = tmp.path().join("region-AST");
    assert!(!provisioning::is_revoked(
        &list,
        &cert_der(&region.join("node.crt"))
    ));

    let err = provisioning::revoke(&ca, &target, None, now(), &mut Silent).unwrap_err();
    assert!(matches!(err, Error::AlreadyRevoked { .. }), "{err}");
    let never = RevokeTarget::Unit {
        region: RegionId::parse("AST").unwrap(),
        unit: UnitId::parse("p09").unwrap(),
    };
    let err = provisioning::revoke(&ca, &never, None, now(), &mut Silent).unwrap_err();
    assert!(
        matches!(err, Error::NeverIssued { .. }) && err.to_string().contains("unit AST:p09"),
        "{err}"
    );
}

#[test]
fn r20_revoke_region_revokes_its_units_too() {
    let tmp = TempDir::new().unwrap();
    let ca = init_ca(tmp.path());
    add_region(&ca, tmp.path(), "AST");
    add_region(&ca, tmp.path(), "ASTX");
    let p01 = add_unit(&ca, tmp.path(), "AST", "p01");
    // A unit of a region whose id starts the same must not be caught.
    let other = add_unit(&ca, tmp.path(), "ASTX", "p01");

    let summary = provisioning::revoke(
        &ca,
        &RevokeTarget::Region(RegionId::parse("AST").unwrap()),
        Some("region retired"),
        now(),
        &mut Silent,
    )
    .unwrap();
    let mut roles: Vec<_> = summary
        .revoked
        .iter()
        .map(|r| (r.role.as_str(), r.subject.as_str()))
        .collect();
    roles.sort();
    assert_eq!(
        roles,
        [
            ("region", "AST"),
            ("region-web", "AST"),
            ("unit", "AST:p01")
        ]
    );
    let record = RevocationRecord::read(&ca).unwrap();
    assert_eq!(record.revoked.len(), 3);
    let list = RevocationList::read(&ca.join("crl.pem"), &cert_der(&ca.join("ca.crt"))).unwrap();
    assert!(provisioning::is_revoked(
        &list,
        &cert_der(&p01.join("unit.crt"))
    ));
    assert!(!provisioning::is_revoked(
        &list,
        &cert_der(&other.join("unit.crt"))
    ));

    // A retired region gets no new units.
    let out = tmp.path().join("p02");
    let err = provisioning::add_unit(
        &ca,
        &out,
        &unit_settings("AST", "p02"),
        now(),
        &mut OsRng,
        &mut Silent,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("no unrevoked node certificate"),
        "{err}"
    );
    assert!(!out.exists());
}

/// Everything in the CA directory, to show a refused command changed nothing.
fn ca_snapshot(ca: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = fs::read_dir(ca)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn r20_add_unit_refuses_bad_input_and_writes_nothing() {
    let tmp = TempDir::new().unwrap();
    let ca = init_ca_valid(tmp.path(), 400);
    add_region_valid(&ca, tmp.path(), "AST", 300);
    let before = ca_snapshot(&ca);
    let entries_before = fs::read_dir(tmp.path()).unwrap().count();

    // Unit ids that would break certificate names or document ids (`AST/field/p01~log`).
    let too_long = "x".repeat(UNIT_ID_CHARS_MAX + 1);
    for bad in [
        "p/01",
        "p01~log",
        "p:01",
        "P01",
        "",
        "п01",
        too_long.as_str(),
    ] {
        let err = UnitId::parse(bad).unwrap_err();
        assert!(
            matches!(err, Error::InvalidArgument { field: "unit", .. }),
            "{bad:?}: {err}"
        );
    }
    assert!(ValidDays::for_unit(UNIT_VALID_DAYS_MAX + 1).is_err());
    assert!(NodeAddress::parse("10.20.0.5").is_err());
    assert!(NodeWebUrl::parse("http://console.ast.mvd.kz").is_err());

    // A region this CA never made a bundle for.
    let out = tmp.path().join("unit");
    let err = provisioning::add_unit(
        &ca,
        &out,
        &unit_settings("KRG", "p01"),
        now(),
        &mut OsRng,
        &mut Silent,
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidArgument {
                field: "region",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("add-region --id KRG"), "{err}");

    // A certificate that would outlive the CA (400 days).
    let mut long = unit_settings("AST", "p01");
    long.valid_days = ValidDays::for_unit(UNIT_VALID_DAYS_MAX).unwrap();
    let err = provisioning::add_unit(&ca, &out, &long, now(), &mut OsRng, &mut Silent).unwrap_err();
    assert!(err.to_string().contains("outlive the CA"), "{err}");

    // An out directory that is not empty.
    fs::create_dir(&out).unwrap();
    fs::write(out.join("notes.txt"), "keep me").unwrap();
    let err = provisioning::add_unit(
        &ca,
        &out,
        &unit_settings("AST", "p01"),
        now(),
        &mut OsRng,
        &mut Silent,
    )
    .unwrap_err();
    assert!(matches!(err, Error::AlreadyExists { .. }), "{err}");
    assert_eq!(
        fs::read_to_string(out.join("notes.txt")).unwrap(),
        "keep me"
    );
    fs::remove_dir_all(&out).unwrap();

    assert_eq!(ca_snapshot(&ca), before, "the CA directory is unchanged");
    assert_eq!(
        fs::read_dir(tmp.path()).unwrap().count(),
        entries_before,
        "no bundle or staging directory left behind"
    );
}
