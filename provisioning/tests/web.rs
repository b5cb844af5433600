//! R20 bundles, format version 2: the web (HTTPS) certificate of a node's console and of the
//! central's dashboard (`web.crt`, `web.key`, `[https]`), how it is checked, that browsers trusting
//! the bundle's `ca.crt` accept it for the requested names only, that it can never serve as a
//! replication identity, that revocation covers it, and that version 1 bundles still verify.

use std::fs;
use std::net::IpAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use provisioning::manifest::{FileEntry, Manifest};
use provisioning::progress::Silent;
use provisioning::settings::{
    CaName, CaSettings, CentralAddress, CentralName, CentralSettings, DnsName, RegionId,
    RegionName, RegionSettings, ValidDays, WebNames,
};
use provisioning::{
    is_revoked, load_identity_at, load_web_identity_at, region_of, role_of, CentralOverlay, Error,
    NodeOverlay, OverlayHttps, Problem, RegionOptions, RevocationList, RevocationRecord,
    RevokeTarget, VerifiedBundle,
};
use rand::rngs::OsRng;
use rustls::client::danger::ServerCertVerifier;
use rustls::client::WebPkiServerVerifier;
use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConfig, ServerConnection};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use tempfile::TempDir;
use time::OffsetDateTime;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

/// The names the AST console is opened by in these tests.
const WEB_DNS: &str = "console.ast.mvd.kz";
const WEB_IP: &str = "10.20.0.5";
const WEB_IP6: &str = "fd00::5";

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn init_ca(root: &Path, name: &str) -> PathBuf {
    let dir = root.join(name);
    let settings = CaSettings {
        name: CaName::parse(&format!("{name} test CA")).unwrap(),
        valid_days: ValidDays::for_ca(3650).unwrap(),
    };
    provisioning::init_ca(&dir, &settings, now(), &mut OsRng, &mut Silent).unwrap();
    dir
}

fn region(id: &str) -> RegionSettings {
    RegionSettings {
        id: RegionId::parse(id).unwrap(),
        name_kk: RegionName::parse("name-kk", "Астана қаласы ПД").unwrap(),
        name_ru: RegionName::parse("name-ru", "ДП города Астаны").unwrap(),
        central: CentralAddress::parse("central.mvd.kz:7102").unwrap(),
        valid_days: ValidDays::for_peer(730).unwrap(),
    }
}

fn ip(raw: &str) -> IpAddr {
    raw.parse().unwrap()
}

/// The AST console's names: one DNS name, an IPv4 and an IPv6 address.
fn ast_web_names() -> WebNames {
    WebNames::new(
        vec![DnsName::parse_for("web-dns", WEB_DNS).unwrap()],
        vec![ip(WEB_IP), ip(WEB_IP6)],
    )
    .unwrap()
}

/// A region bundle whose web certificate names `web` (`None`: the default).
fn add_region(ca: &Path, out: &Path, id: &str, web: Option<WebNames>) {
    let options = RegionOptions {
        reference: None,
        web,
    };
    provisioning::add_region_with_options(
        ca,
        out,
        &region(id),
        &options,
        now(),
        &mut OsRng,
        &mut Silent,
    )
    .unwrap();
}

fn central_settings() -> CentralSettings {
    CentralSettings::new(
        CentralName::parse("central").unwrap(),
        vec![DnsName::parse("central.mvd.kz").unwrap()],
        vec![ip("10.1.2.3")],
        ValidDays::for_peer(730).unwrap(),
    )
    .unwrap()
}

fn add_central(ca: &Path, out: &Path, settings: &CentralSettings) {
    provisioning::add_central(ca, out, settings, now(), &mut OsRng, &mut Silent).unwrap();
}

fn cert_der(path: &Path) -> CertificateDer<'static> {
    CertificateDer::from_pem_file(path).unwrap()
}

fn problems(result: provisioning::Result<VerifiedBundle>) -> Vec<Problem> {
    match result {
        Err(Error::InvalidBundle { problems, .. }) => problems,
        other => panic!("expected an invalid bundle, got {other:?}"),
    }
}

/// Writes `content` into the bundle's `file` and records its new digest in the manifest, so only
/// deeper checks can tell.
fn rewrite(bundle: &Path, file: &str, content: &[u8]) {
    fs::write(bundle.join(file), content).unwrap();
    let mut manifest = Manifest::read(bundle).unwrap();
    manifest
        .files
        .insert(file.to_owned(), FileEntry::of(content));
    manifest.replace(bundle).unwrap();
}

/// Turns a freshly made bundle into the format version 1 bundle an older tool wrote: no web
/// certificate, no `[https]`, no `[field]`, no `web_certificate` in the manifest.
fn downgrade_to_v1(bundle: &Path) {
    let mut manifest = Manifest::read(bundle).unwrap();
    let (config, text) = if bundle.join("node.toml").exists() {
        let mut overlay: NodeOverlay =
            toml::from_str(&fs::read_to_string(bundle.join("node.toml")).unwrap()).unwrap();
        overlay.https = None;
        overlay.field = None;
        ("node.toml", toml::to_string(&overlay).unwrap())
    } else {
        let mut overlay: CentralOverlay =
            toml::from_str(&fs::read_to_string(bundle.join("central.toml")).unwrap()).unwrap();
        overlay.https = None;
        ("central.toml", toml::to_string(&overlay).unwrap())
    };
    assert!(!text.contains("[https]"));
    fs::write(bundle.join(config), &text).unwrap();
    manifest
        .files
        .insert(config.to_owned(), FileEntry::of(text.as_bytes()));
    for file in ["web.crt", "web.key"] {
        fs::remove_file(bundle.join(file)).unwrap();
        manifest.files.remove(file);
    }
    manifest.format_version = 1;
    manifest.web_certificate = None;
    manifest.replace(bundle).unwrap();
    let json = fs::read_to_string(bundle.join("bundle.json")).unwrap();
    assert!(!json.contains("web"), "{json}");
}

/// The DNS names, IP addresses and URIs of a certificate's subject alternative names.
fn sans(cert: &X509Certificate<'_>) -> (Vec<String>, Vec<IpAddr>, Vec<String>) {
    let (mut dns, mut ips, mut uris) = (Vec::new(), Vec::new(), Vec::new());
    let ext = cert.subject_alternative_name().unwrap().unwrap();
    for name in &ext.value.general_names {
        match name {
            GeneralName::DNSName(d) => dns.push((*d).to_owned()),
            GeneralName::IPAddress(raw) => ips.push(match raw.len() {
                4 => IpAddr::from(<[u8; 4]>::try_from(*raw).unwrap()),
                _ => IpAddr::from(<[u8; 16]>::try_from(*raw).unwrap()),
            }),
            GeneralName::URI(u) => uris.push((*u).to_owned()),
            other => panic!("unexpected SAN {other:?}"),
        }
    }
    (dns, ips, uris)
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// What an operator's browser does: trust the bundle's `ca.crt` and nothing else.
fn browser_config(ca_cert: &CertificateDer<'static>) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots.add(ca_cert.clone()).unwrap();
    Arc::new(
        ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// An in-memory TLS handshake between a browser and a server, opened by `name`.
fn handshake(
    server: &Arc<ServerConfig>,
    client: &Arc<ClientConfig>,
    name: &str,
) -> Result<(), rustls::Error> {
    let mut client = ClientConnection::new(
        client.clone(),
        ServerName::try_from(name.to_owned()).unwrap(),
    )?;
    let mut server = ServerConnection::new(server.clone())?;
    for _ in 0..10 {
        if !client.is_handshaking() && !server.is_handshaking() {
            return Ok(());
        }
        let mut flight = Vec::new();
        while client.wants_write() {
            client.write_tls(&mut flight).unwrap();
        }
        let mut rest = &flight[..];
        while !rest.is_empty() {
            server.read_tls(&mut rest).unwrap();
            server.process_new_packets()?;
        }
        let mut flight = Vec::new();
        while server.wants_write() {
            server.write_tls(&mut flight).unwrap();
        }
        let mut rest = &flight[..];
        while !rest.is_empty() {
            client.read_tls(&mut rest).unwrap();
            client.process_new_packets()?;
        }
    }
    panic!("the handshake did not finish");
}

#[test]
fn r20_web_certificate_carries_the_requested_names_and_no_role() {
    let tmp = TempDir::new().unwrap();
    let ca = init_ca(tmp.path(), "ca");
    let bundle = tmp.path().join("ast");
    let options = RegionOptions {
        reference: None,
        web: Some(ast_web_names()),
    };
    let summary = provisioning::add_region_with_options(
        &ca,
        &bundle,
        &region("AST"),
        &options,
        now(),
        &mut OsRng,
        &mut Silent,
    )
    .unwrap();
    assert_eq!(summary.web_names, [WEB_DNS, WEB_IP, WEB_IP6]);

    let verified = provisioning::verify_bundle(&bundle, now()).unwrap();
    assert_eq!(verified.manifest.format_version, 3);
    assert_eq!(verified.web_names, [WEB_DNS, WEB_IP, WEB_IP6]);
    let web_info = verified.manifest.web_certificate.clone().unwrap();
    assert_eq!(web_info.serial, summary.web_serial);
    assert_ne!(web_info.serial, verified.manifest.certificate.serial);
    assert_eq!(web_info.not_after, verified.manifest.certificate.not_after);
    assert_eq!(
        web_info.not_before,
        verified.manifest.certificate.not_before
    );

    let der = cert_der(&bundle.join("web.crt"));
    let (_, cert) = X509Certificate::from_der(&der).unwrap();
    let (dns, ips, uris) = sans(&cert);
    assert_eq!(dns, [WEB_DNS]);
    assert_eq!(ips, [ip(WEB_IP), ip(WEB_IP6)]);
    assert!(
        uris.is_empty(),
        "a web certificate carries no URI: {uris:?}"
    );
    let eku = cert.extended_key_usage().unwrap().unwrap().value;
    assert!(eku.server_auth);
    assert!(!eku.client_auth && !eku.any);
    let ku = cert.key_usage().unwrap().unwrap().value;
    assert!(ku.digital_signature());
    assert!(!cert.is_ca());
    let cn: Vec<_> = cert
        .subject()
        .iter_common_name()
        .map(|cn| cn.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(cn, ["web:AST"]);

    // It is no replication identity: no role, no region.
    assert!(role_of(&der).is_err());
    assert_eq!(region_of(&der).unwrap(), None);

    // The node's certificate is unchanged by it.
    let node = cert_der(&bundle.join("node.crt"));
    assert_eq!(region_of(&node).unwrap(), Some("AST".into()));

    // What the node loads to serve its console.
    let web = load_web_identity_at(&bundle, now()).unwrap().unwrap();
    assert_eq!(web.cert_chain, vec![der]);
    assert_eq!(web.names, [WEB_DNS, WEB_IP, WEB_IP6]);
    let key = rcgen::KeyPair::try_from(&web.key).unwrap();
    assert_eq!(
        key.serialize_pem(),
        fs::read_to_string(bundle.join("web.key")).unwrap()
    );
    assert_eq!(
        fs::metadata(bundle.join("web.key"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
}

#[test]
fn r20_web_certificate_is_accepted_for_the_requested_names_only() {
    let tmp = TempDir::new().unwrap();
    let ca = init_ca(tmp.path(), "ca");
    let bundle = tmp.path().join("ast");
    add_region(&ca, &bundle, "AST", Some(ast_web_names()));
    let ca_cert = cert_der(&ca.join("ca.crt"));
    let web_cert = cert_der(&bundle.join("web.crt"));
    let time =
        UnixTime::since_unix_epoch(std::time::Duration::from_secs(now().unix_timestamp() as u64));

    // rustls's own server-certificate verifier, as a browser trusting ca.crt checks it.
    let mut roots = RootCertStore::empty();
    roots.add(ca_cert.clone()).unwrap();
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
        .build()
        .unwrap();
    let check = |name: &str| {
        verifier.verify_server_cert(
            &web_cert,
            &[],
            &ServerName::try_from(name.to_owned()).unwrap(),
            &[],
            time,
        )
    };
    for good in [WEB_DNS, WEB_IP, WEB_IP6, "CONSOLE.ast.mvd.kz"] {
        check(good).unwrap_or_else(|e| panic!("{good}: {e}"));
    }
    for bad in [
        "other.ast.mvd.kz",
        "ast.mvd.kz",
        "10.20.0.6",
        "fd00::6",
        // Not requested, so not on it, though it is the node certificate's name.
        "ast.region.mvd102",
    ] {
        assert!(
            matches!(check(bad), Err(rustls::Error::InvalidCertificate(_))),
            "{bad} must not verify"
        );
    }

    // webpki directly: a TLS server certificate, never a client one.
    let anchors = [webpki::anchor_from_trusted_cert(&ca_cert).unwrap()];
    let ee = webpki::EndEntityCert::try_from(&web_cert).unwrap();
    let usage = |usage| {
        ee.verify_for_usage(
            &[webpki::ring::ECDSA_P256_SHA256],
            &anchors,
            &[],
            time,
            usage,
            None,
            None,
        )
        .map(|_| ())
    };
    usage(webpki::KeyUsage::server_auth()).unwrap();
    assert!(usage(webpki::KeyUsage::client_auth()).is_err());

    // A whole handshake: the console serving the loaded web identity, a browser trusting ca.crt.
    let web = load_web_identity_at(&bundle, now()).unwrap().unwrap();
    let server = Arc::new(
        ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(web.cert_chain, web.key)
            .unwrap(),
    );
    let browser = browser_config(&ca_cert);
    handshake(&server, &browser, WEB_DNS).unwrap();
    handshake(&server, &browser, WEB_IP).unwrap();
    assert!(matches!(
        handshake(&server, &browser, "elsewhere.mvd.kz"),
        Err(rustls::Error::InvalidCertificate(_))
    ));
    // A browser trusting another CA refuses it.
    let rogue = init_ca(tmp.path(), "rogue");
    let stranger = browser_config(&cert_der(&rogue.join("ca.crt")));
    assert!(matches!(
        handshake(&server, &stranger, WEB_DNS),
        Err(rustls::Error::InvalidCertificate(_))
    ));
}

#[test]
fn r20_web_certificate_default_names() {
    let tmp = TempDir::new().unwrap();
    let ca = init_ca(tmp.path(), "ca");

    // A region given no web names: its server name only.
    let ast = tmp.path().join("ast");
    add_region(&ca, &ast, "AST", None);
    let verified = provisioning::verify_bundle(&ast, now()).unwrap();
    assert_eq!(
        verified.web_names,
        [provisioning::region_server_name("AST")]
    );

    // The central: its own --dns and --ip, unless --web-dns/--web-ip are given.
    let central = tmp.path().join("central");
    add_central(&ca, &central, &central_settings());
    let verified = provisioning::verify_bundle(&central, now()).unwrap();
    assert_eq!(verified.web_names, ["central.mvd.kz", "10.1.2.3"]);
    let overlay: CentralOverlay =
        toml::from_str(&fs::read_to_string(central.join("central.toml")).unwrap()).unwrap();
    assert_eq!(
        overlay.https,
        Some(OverlayHttps {
            cert: "web.crt".into(),
            key: "web.key".into()
        })
    );
    let der = cert_der(&central.join("web.crt"));
    let (_, cert) = X509Certificate::from_der(&der).unwrap();
    assert!(sans(&cert).2.is_empty());
    assert!(role_of(&der).is_err());

    let hq = tmp.path().join("hq");
    let web = WebNames::new(
        vec![DnsName::parse_for("web-dns", "hq.mvd.kz").unwrap()],
        vec![ip("10.1.2.4")],
    )
    .unwrap();
    add_central(&ca, &hq, &central_settings().with_web(web));
    let verified = provisioning::verify_bundle(&hq, now()).unwrap();
    assert_eq!(verified.web_names, ["hq.mvd.kz", "10.1.2.4"]);
    // The replication certificate keeps the names the nodes dial.
    let central_cert = cert_der(&hq.join("central.crt"));
    let (_, cert) = X509Certificate::from_der(&central_cert).unwrap();
    assert_eq!(sans(&cert).0, ["central.mvd.kz"]);

    let issued = provisioning::IssuedRegistry::read(&ca).unwrap();
    let roles: Vec<_> = issued
        .certificates
        .iter()
        .map(|c| (c.role.as_str(), c.subject.as_str()))
        .collect();
    assert_eq!(
        roles,
        [
            ("region", "AST"),
            ("region-web", "AST"),
            ("central", "central"),
            ("central-web", "central"),
            ("central", "central"),
            ("central-web", "central"),
        ]
    );
}

#[test]
fn r20_format_version_1_bundles_still_verify() {
    let tmp = TempDir::new().unwrap();
    let ca = init_ca(tmp.path(), "ca");
    let ast = tmp.path().join("ast");
    let central = tmp.path().join("central");
    add_region(&ca, &ast, "AST", Some(ast_web_names()));
    add_central(&ca, &central, &central_settings());
    downgrade_to_v1(&ast);
    downgrade_to_v1(&central);

    for bundle in [&ast, &central] {
        let verified = provisioning::verify_bundle(bundle, now()).unwrap();
        assert_eq!(verified.manifest.format_version, 1);
        assert!(verified.manifest.web_certificate.is_none());
        assert!(verified.web_names.is_empty());
        load_identity_at(bundle, now()).unwrap();
        assert!(load_web_identity_at(bundle, now()).unwrap().is_none());
    }

    // A version 1 overlay naming a web certificate is inconsistent.
    let mut overlay: NodeOverlay =
        toml::from_str(&fs::read_to_string(ast.join("node.toml")).unwrap()).unwrap();
    overlay.https = Some(OverlayHttps {
        cert: "web.crt".into(),
        key: "web.key".into(),
    });
    rewrite(
        &ast,
        "node.toml",
        toml::to_string(&overlay).unwrap().as_bytes(),
    );
    let found = problems(provisioning::verify_bundle(&ast, now()));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(matches!(&found[0], Problem::ConfigMismatch { file, .. } if file == "node.toml"));
    assert!(found[0].to_string().contains("[https]"), "{}", found[0]);

    // A version 1 manifest listing web files lists files that kind of bundle does not have.
    let mut manifest = Manifest::read(&central).unwrap();
    manifest.files.insert("web.crt".into(), FileEntry::of(b"x"));
    manifest.replace(&central).unwrap();
    let found = problems(provisioning::verify_bundle(&central, now()));
    assert_eq!(
        found,
        vec![Problem::UnexpectedEntry {
            file: "web.crt".into()
        }]
    );
}

#[test]
fn r20_unknown_or_inconsistent_manifest_versions_are_refused() {
    let tmp = TempDir::new().unwrap();
    let ca = init_ca(tmp.path(), "ca");
    let bundle = tmp.path().join("ast");
    add_region(&ca, &bundle, "AST", None);
    let path = bundle.join("bundle.json");
    let original = fs::read_to_string(&path).unwrap();
    assert!(original.contains("\"format_version\": 3"), "{original}");

    let refused = |json: &str| -> String {
        fs::write(&path, json).unwrap();
        match provisioning::verify_bundle(&bundle, now()) {
            Err(e @ Error::BadFile { .. }) => e.to_string(),
            other => panic!("expected a refused manifest, got {other:?}"),
        }
    };
    for version in [0, 4, 99] {
        let message = refused(&original.replace(
            "\"format_version\": 3",
            &format!("\"format_version\": {version}"),
        ));
        assert!(message.contains("bundle.json"), "{message}");
        assert!(
            message.contains(&format!("format_version {version} is not supported")),
            "{message}"
        );
        assert!(message.contains("format versions 1, 2 and 3"), "{message}");
    }

    // Version 3 without its web certificate, version 1 with one.
    let mut manifest: serde_json::Value = serde_json::from_str(&original).unwrap();
    manifest.as_object_mut().unwrap().remove("web_certificate");
    let message = refused(&manifest.to_string());
    assert!(message.contains("needs \"web_certificate\""), "{message}");
    let message = refused(&original.replace("\"format_version\": 3", "\"format_version\": 1"));
    assert!(
        message.contains("format_version 1 has no \"web_certificate\""),
        "{message}"
    );

    fs::write(&path, &original).unwrap();
    provisioning::verify_bundle(&bundle, now()).unwrap();
}

#[test]
fn r20_web_key_readable_by_others_is_refused() {
    let tmp = TempDir::new().unwrap();
    let ca = init_ca(tmp.path(), "ca");
    let bundle = tmp.path().join("ast");
    add_region(&ca, &bundle, "AST", None);
    fs::set_permissions(bundle.join("web.key"), fs::Permissions::from_mode(0o640)).unwrap();
    let found = problems(provisioning::verify_bundle(&bundle, now()));
    assert_eq!(
        found,
        vec![Problem::ModeTooOpen {
            file: "web.key".into(),
            mode: 0o640
        }]
    );
    assert!(found[0].to_string().contains("chmod 600 web.key"));
    assert!(load_web_identity_at(&bundle, now()).is_err());
}

#[test]
fn r20_web_certificate_problems_name_the_file() {
    let tmp = TempDir::new().unwrap();
    let ca = init_ca(tmp.path(), "ca");
    let rogue_ca = init_ca(tmp.path(), "rogue");
    let make = |name: &str, ca: &Path, id: &str| {
        let dir = tmp.path().join(name);
        add_region(ca, &dir, id, None);
        dir
    };
    // Copies `files` from `from` into `to` and re-records digests and the web certificate's
    // details, so only the certificate checks can tell.
    let transplant = |from: &Path, to: &Path, files: &[(&str, &str)]| {
        let source = Manifest::read(from).unwrap();
        for (source_file, target_file) in files {
            rewrite(to, target_file, &fs::read(from.join(source_file)).unwrap());
        }
        let mut target = Manifest::read(to).unwrap();
        target.web_certificate = Some(if files[0].0 == "node.crt" {
            source.certificate
        } else {
            source.web_certificate.unwrap()
        });
        target.replace(to).unwrap();
    };
    let only = |bundle: &Path| {
        let found = problems(provisioning::verify_bundle(bundle, now()));
        let files: Vec<_> = found.iter().map(|p| p.file().to_owned()).collect();
        (found, files)
    };

    // Missing.
    let ast = make("missing", &ca, "AST");
    fs::remove_file(ast.join("web.crt")).unwrap();
    let (found, _) = only(&ast);
    assert_eq!(
        found,
        vec![Problem::Missing {
            file: "web.crt".into()
        }]
    );

    // Another region's web certificate and key.
    let ast = make("ast", &ca, "AST");
    let ala = make("ala", &ca, "ALA");
    transplant(
        &ala,
        &ast,
        &[("web.crt", "web.crt"), ("web.key", "web.key")],
    );
    let (found, _) = only(&ast);
    assert_eq!(
        found,
        vec![Problem::WrongRole {
            file: "web.crt".into(),
            expected: "region AST".into(),
            found: "common name web:ALA".into()
        }]
    );

    // A web key of another certificate.
    let ast = make("ast-key", &ca, "AST");
    let ast2 = make("ast-2", &ca, "AST");
    rewrite(&ast, "web.key", &fs::read(ast2.join("web.key")).unwrap());
    let (found, _) = only(&ast);
    assert_eq!(
        found,
        vec![Problem::KeyMismatch {
            file: "web.key".into(),
            cert: "web.crt".into()
        }]
    );

    // A web certificate from another CA.
    let ast = make("ast-rogue", &ca, "AST");
    let rogue = make("rogue-ast", &rogue_ca, "AST");
    transplant(
        &rogue,
        &ast,
        &[("web.crt", "web.crt"), ("web.key", "web.key")],
    );
    let (found, _) = only(&ast);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(matches!(&found[0], Problem::NotSignedByCa { file, .. } if file == "web.crt"));

    // The node's own replication certificate posing as the web certificate: it carries a role
    // and allows client authentication.
    let ast = make("ast-node", &ca, "AST");
    let node = ast.clone();
    transplant(
        &node,
        &ast,
        &[("node.crt", "web.crt"), ("node.key", "web.key")],
    );
    let (found, files) = only(&ast);
    assert!(files.iter().all(|f| f == "web.crt"), "{found:?}");
    let text: Vec<String> = found.iter().map(|p| p.to_string()).collect();
    assert!(
        text.iter()
            .any(|t| t.contains("TLS server authentication only")),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|t| t.contains("urn:mvd102:region:AST") && t.contains("replication identity")),
        "{text:?}"
    );

    // A version 2 overlay without [https].
    let ast = make("ast-config", &ca, "AST");
    let mut overlay: NodeOverlay =
        toml::from_str(&fs::read_to_string(ast.join("node.toml")).unwrap()).unwrap();
    overlay.https = None;
    rewrite(
        &ast,
        "node.toml",
        toml::to_string(&overlay).unwrap().as_bytes(),
    );
    let (found, _) = only(&ast);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].to_string().contains("[https] is missing"),
        "{}",
        found[0]
    );
}

#[test]
fn r20_revocation_covers_web_certificates() {
    let tmp = TempDir::new().unwrap();
    let ca = init_ca(tmp.path(), "ca");
    let ast = tmp.path().join("ast");
    let ala = tmp.path().join("ala");
    let central = tmp.path().join("central");
    add_region(&ca, &ast, "AST", Some(ast_web_names()));
    add_region(&ca, &ala, "ALA", None);
    add_central(&ca, &central, &central_settings());
    let ca_cert = cert_der(&ca.join("ca.crt"));
    let serial = |bundle: &Path| {
        Manifest::read(bundle)
            .unwrap()
            .web_certificate
            .unwrap()
            .serial
    };

    let target = RevokeTarget::Region(RegionId::parse("AST").unwrap());
    let summary = provisioning::revoke(&ca, &target, Some("retired"), now(), &mut Silent).unwrap();
    let roles: Vec<_> = summary.revoked.iter().map(|r| r.role.as_str()).collect();
    assert_eq!(roles, ["region", "region-web"]);
    assert_eq!(summary.serials[1], serial(&ast));
    let list = RevocationList::read(&ca.join("crl.pem"), &ca_cert).unwrap();
    assert!(is_revoked(&list, &cert_der(&ast.join("node.crt"))));
    assert!(is_revoked(&list, &cert_der(&ast.join("web.crt"))));
    assert!(!is_revoked(&list, &cert_der(&ala.join("web.crt"))));
    assert!(!is_revoked(&list, &cert_der(&central.join("web.crt"))));

    // webpki with the CRL refuses the revoked console certificate.
    let crl_der =
        rustls_pki_types::CertificateRevocationListDer::from_pem_file(ca.join("crl.pem")).unwrap();
    let crl: webpki::CertRevocationList<'_> = webpki::OwnedCertRevocationList::from_der(&crl_der)
        .unwrap()
        .into();
    let crls = [&crl];
    let revocation = webpki::RevocationOptionsBuilder::new(&crls)
        .unwrap()
        .with_depth(webpki::RevocationCheckDepth::EndEntity)
        .build();
    let anchors = [webpki::anchor_from_trusted_cert(&ca_cert).unwrap()];
    let time =
        UnixTime::since_unix_epoch(std::time::Duration::from_secs(now().unix_timestamp() as u64));
    let web_cert = cert_der(&ast.join("web.crt"));
    let result = webpki::EndEntityCert::try_from(&web_cert)
        .unwrap()
        .verify_for_usage(
            &[webpki::ring::ECDSA_P256_SHA256],
            &anchors,
            &[],
            time,
            webpki::KeyUsage::server_auth(),
            Some(revocation),
            None,
        )
        .map(|_| ());
    assert!(
        matches!(result, Err(webpki::Error::CertRevoked)),
        "{result:?}"
    );

    let target = RevokeTarget::Central(CentralName::parse("central").unwrap());
    let summary = provisioning::revoke(&ca, &target, None, now(), &mut Silent).unwrap();
    let roles: Vec<_> = summary.revoked.iter().map(|r| r.role.as_str()).collect();
    assert_eq!(roles, ["central", "central-web"]);
    assert_eq!(summary.serials[1], serial(&central));

    let record = RevocationRecord::read(&ca).unwrap();
    let recorded: Vec<_> = record
        .revoked
        .iter()
        .map(|r| (r.role.as_str(), r.subject.as_str()))
        .collect();
    assert_eq!(
        recorded,
        [
            ("region", "AST"),
            ("region-web", "AST"),
            ("central", "central"),
            ("central-web", "central"),
        ]
    );
    assert!(matches!(
        provisioning::revoke(&ca, &target, None, now(), &mut Silent),
        Err(Error::AlreadyRevoked { .. })
    ));
}
