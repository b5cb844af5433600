//! R20 (information exchange between МВД HQ and the regions): mutual TLS over real QUIC endpoints
//! on 127.0.0.1. A node whose certificate chains to the CA connects and the central reads its
//! region from the certificate; a node without a certificate, with one from another CA, expired or
//! revoked is refused during the handshake, and a node refuses a central from another CA. Bundles
//! are made through the library in temporary directories.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use provisioning::progress::Silent;
use provisioning::settings::{
    CaName, CaSettings, CentralAddress, CentralName, CentralSettings, DnsName, RegionId,
    RegionName, RegionSettings, ValidDays,
};
use provisioning::tls::{self, ALPN};
use provisioning::{bundle_files, load_identity, load_identity_at, Identity, RevokeTarget};
use quinn::crypto::rustls::QuicClientConfig;
use quinn::{Connection, ConnectionError, Endpoint};
use rand::rngs::OsRng;
use rustls_pki_types::CertificateRevocationListDer;
use tempfile::TempDir;
use time::{Duration, OffsetDateTime};
use tokio::task::JoinHandle;
use tokio::time::timeout;

/// The name nodes dial; the central bundle carries it as a DNS SAN.
const CENTRAL_DNS: &str = "central.mvd.kz";
/// How long any one step (handshake, stream, close) may take before the test fails.
const STEP_DEADLINE: StdDuration = StdDuration::from_secs(10);
/// Largest message either side reads in these tests, in bytes.
const MESSAGE_BYTES_MAX: usize = 1024;

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn init_ca_at(root: &Path, name: &str, issued_at: OffsetDateTime) -> PathBuf {
    let dir = root.join(name);
    let settings = CaSettings {
        name: CaName::parse(&format!("{name} test CA")).unwrap(),
        valid_days: ValidDays::for_ca(3650).unwrap(),
    };
    provisioning::init_ca(&dir, &settings, issued_at, &mut OsRng, &mut Silent).unwrap();
    dir
}

fn init_ca(root: &Path, name: &str) -> PathBuf {
    init_ca_at(root, name, now())
}

fn add_region_at(ca: &Path, out: &Path, id: &str, issued_at: OffsetDateTime, days: u32) {
    let settings = RegionSettings {
        id: RegionId::parse(id).unwrap(),
        name_kk: RegionName::parse("name-kk", "Астана қаласы ПД").unwrap(),
        name_ru: RegionName::parse("name-ru", "ДП города Астаны").unwrap(),
        central: CentralAddress::parse(&format!("{CENTRAL_DNS}:7102")).unwrap(),
        valid_days: ValidDays::for_peer(days).unwrap(),
    };
    provisioning::add_region(ca, out, &settings, issued_at, &mut OsRng, &mut Silent).unwrap();
}

/// A region bundle issued now, loaded as the node would.
fn region(ca: &Path, root: &Path, id: &str) -> Identity {
    let out = root.join(format!("region-{id}-{}", ca_name(ca)));
    add_region_at(ca, &out, id, now(), 730);
    load_identity(&out).unwrap()
}

fn ca_name(ca: &Path) -> String {
    ca.file_name().unwrap().to_string_lossy().into_owned()
}

/// A central bundle issued now with the DNS name nodes dial, loaded as the central would, and the
/// revocation list it ships with.
fn central(ca: &Path, root: &Path) -> (Identity, CertificateRevocationListDer<'static>) {
    let out = root.join(format!("central-{}", ca_name(ca)));
    let settings = CentralSettings::new(
        CentralName::parse("central").unwrap(),
        vec![DnsName::parse(CENTRAL_DNS).unwrap()],
        vec![Ipv4Addr::LOCALHOST.into()],
        ValidDays::for_peer(730).unwrap(),
    )
    .unwrap();
    provisioning::add_central(ca, &out, &settings, now(), &mut OsRng, &mut Silent).unwrap();
    let crl = tls::read_crl(&out.join(bundle_files::CRL)).unwrap();
    (load_identity(&out).unwrap(), crl)
}

/// A central listening on an ephemeral port of 127.0.0.1.
fn central_endpoint(
    identity: &Identity,
    crl: Option<&CertificateRevocationListDer<'_>>,
) -> Endpoint {
    let config = tls::quinn_server_config(identity, crl).unwrap();
    Endpoint::server(config, (Ipv4Addr::LOCALHOST, 0).into()).unwrap()
}

fn node_endpoint(config: quinn::ClientConfig) -> Endpoint {
    let mut endpoint = Endpoint::client((Ipv4Addr::LOCALHOST, 0).into()).unwrap();
    endpoint.set_default_client_config(config);
    endpoint
}

fn addr(endpoint: &Endpoint) -> SocketAddr {
    endpoint.local_addr().unwrap()
}

/// The central accepts one incoming connection and completes (or fails) its handshake.
fn accept_one(central: &Endpoint) -> JoinHandle<Result<Connection, ConnectionError>> {
    let central = central.clone();
    tokio::spawn(async move {
        let incoming = timeout(STEP_DEADLINE, central.accept())
            .await
            .expect("no connection attempt reached the central")
            .expect("the central endpoint closed");
        timeout(STEP_DEADLINE, incoming)
            .await
            .expect("the central's handshake did not finish")
    })
}

/// TLS alerts (RFC 8446 §6) a refusing side sends.
mod alert {
    pub const CERTIFICATE_REVOKED: u8 = 44;
    pub const CERTIFICATE_EXPIRED: u8 = 45;
    pub const UNKNOWN_CA: u8 = 48;
    pub const CERTIFICATE_REQUIRED: u8 = 116;
    pub const NO_APPLICATION_PROTOCOL: u8 = 120;
}

/// Asserts that a connection failed in the TLS handshake with `expected_alert`: either this
/// side's TLS stack refused the peer, or the peer closed the connection with that alert. QUIC
/// carries a TLS alert as the CRYPTO_ERROR `0x0100 + alert` (RFC 9001 §4.8).
fn assert_tls_refusal(side: &str, error: &ConnectionError, expected_alert: u8) {
    let code = match error {
        ConnectionError::TransportError(e) => e.code,
        ConnectionError::ConnectionClosed(close) => close.error_code,
        _ => panic!("{side}: expected a TLS handshake error, got {error:?}"),
    };
    assert_eq!(
        code,
        quinn::TransportErrorCode::crypto(expected_alert),
        "{side}: expected TLS alert {expected_alert}, got {error:?}"
    );
}

/// The node dials the central and must be refused. In TLS 1.3 a client finishes its handshake
/// before the server has checked the client's certificate, so the node may first see the
/// connection established and only then closed with the central's alert; both count.
async fn assert_node_refused(node: &Endpoint, central: &Endpoint, expected_alert: u8) {
    let server = accept_one(central);
    let connecting = node.connect(addr(central), CENTRAL_DNS).unwrap();
    let node_error = match timeout(STEP_DEADLINE, connecting)
        .await
        .expect("the node's handshake did not finish")
    {
        Err(e) => e,
        Ok(conn) => timeout(STEP_DEADLINE, conn.closed())
            .await
            .expect("the central did not close a connection it should refuse"),
    };
    assert_tls_refusal("node", &node_error, expected_alert);
    let central_result = server.await.unwrap();
    match central_result {
        Ok(conn) => panic!(
            "the central accepted a connection it should refuse (peer region {:?})",
            tls::peer_region(&conn)
        ),
        Err(e) => assert_tls_refusal("central", &e, expected_alert),
    }
}

/// The node connects, sends `request` on a bidirectional stream, and returns the central's reply
/// with the region the central read from the connection.
async fn exchange(
    node: &Endpoint,
    central: &Endpoint,
    request: &[u8],
) -> (Vec<u8>, Option<String>) {
    let server = {
        let accepted = accept_one(central);
        tokio::spawn(async move {
            let conn = accepted
                .await
                .unwrap()
                .expect("the central refused the node");
            let region = tls::peer_region(&conn).unwrap();
            let (mut send, mut recv) = timeout(STEP_DEADLINE, conn.accept_bi())
                .await
                .expect("no stream from the node")
                .unwrap();
            let request = timeout(STEP_DEADLINE, recv.read_to_end(MESSAGE_BYTES_MAX))
                .await
                .expect("the node's request did not arrive")
                .unwrap();
            let reply = [
                b"ack:".as_slice(),
                region.as_deref().unwrap_or("-").as_bytes(),
            ]
            .concat();
            send.write_all(&reply).await.unwrap();
            send.finish().unwrap();
            // Keep the connection until the node has read the reply and closed it.
            timeout(STEP_DEADLINE, conn.closed())
                .await
                .expect("the node did not close the connection");
            (request, region)
        })
    };
    let conn = timeout(
        STEP_DEADLINE,
        node.connect(addr(central), CENTRAL_DNS).unwrap(),
    )
    .await
    .expect("the node's handshake did not finish")
    .expect("the node could not connect");
    let negotiated = conn
        .handshake_data()
        .unwrap()
        .downcast::<quinn::crypto::rustls::HandshakeData>()
        .unwrap();
    assert_eq!(negotiated.protocol.as_deref(), Some(ALPN));
    // Seen from the node, the peer is the central: no region.
    assert_eq!(tls::peer_region(&conn).unwrap(), None);
    let (mut send, mut recv) = timeout(STEP_DEADLINE, conn.open_bi())
        .await
        .unwrap()
        .unwrap();
    send.write_all(request).await.unwrap();
    send.finish().unwrap();
    let reply = timeout(STEP_DEADLINE, recv.read_to_end(MESSAGE_BYTES_MAX))
        .await
        .expect("the central's reply did not arrive")
        .unwrap();
    conn.close(0u32.into(), b"done");
    let (received, region) = server.await.unwrap();
    assert_eq!(received, request);
    (reply, region)
}

#[tokio::test]
async fn r20_tls_region_connects_and_central_reads_its_region() {
    let tmp = TempDir::new().unwrap();
    let ca = init_ca(tmp.path(), "ca");
    let (central_identity, crl) = central(&ca, tmp.path());
    let central = central_endpoint(&central_identity, Some(&crl));
    let ast = region(&ca, tmp.path(), "AST");
    let node = node_endpoint(tls::quinn_client_config(&ast).unwrap());

    let (reply, region) = exchange(&node, &central, b"hello from a node").await;
    assert_eq!(region.as_deref(), Some("AST"));
    assert_eq!(reply, b"ack:AST");

    // The node dials the name it takes from its node.toml.
    let overlay: provisioning::NodeOverlay = toml::from_str(
        &std::fs::read_to_string(tmp.path().join("region-AST-ca").join("node.toml")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        tls::central_server_name(&overlay.central.address).unwrap(),
        CENTRAL_DNS
    );
}

#[tokio::test]
async fn r20_tls_refuses_missing_client_certificate() {
    let tmp = TempDir::new().unwrap();
    let ca = init_ca(tmp.path(), "ca");
    let (central_identity, crl) = central(&ca, tmp.path());
    let central = central_endpoint(&central_identity, Some(&crl));

    // Everything as a node's config, but without a certificate to present.
    let mut roots = rustls::RootCertStore::empty();
    roots.add(central_identity.ca_cert.clone()).unwrap();
    let mut anonymous = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS13])
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    anonymous.alpn_protocols = vec![ALPN.to_vec()];
    let anonymous =
        quinn::ClientConfig::new(Arc::new(QuicClientConfig::try_from(anonymous).unwrap()));
    let node = node_endpoint(anonymous);

    assert_node_refused(&node, &central, alert::CERTIFICATE_REQUIRED).await;
}

#[tokio::test]
async fn r20_tls_refuses_wrong_ca() {
    let tmp = TempDir::new().unwrap();
    let ca = init_ca(tmp.path(), "ca");
    let other_ca = init_ca(tmp.path(), "other");
    let (central_identity, crl) = central(&ca, tmp.path());
    let central = central_endpoint(&central_identity, Some(&crl));
    // A node of another CA that also trusts our CA, so that only the central's check can refuse.
    let mut foreign = region(&other_ca, tmp.path(), "AST");
    foreign.ca_cert = central_identity.ca_cert.clone();
    let node = node_endpoint(tls::quinn_client_config(&foreign).unwrap());

    assert_node_refused(&node, &central, alert::UNKNOWN_CA).await;
}

#[tokio::test]
async fn r20_tls_refuses_expired() {
    let tmp = TempDir::new().unwrap();
    let issued_at = now() - Duration::days(800);
    let ca = init_ca_at(tmp.path(), "ca", issued_at);
    let (central_identity, crl) = central(&ca, tmp.path());
    let central = central_endpoint(&central_identity, Some(&crl));
    // Valid for 30 days from 800 days ago; loaded as it was while still valid.
    let bundle = tmp.path().join("expired");
    add_region_at(&ca, &bundle, "AST", issued_at, 30);
    let expired = load_identity_at(&bundle, issued_at + Duration::days(1)).unwrap();
    assert!(
        load_identity(&bundle).is_err(),
        "the bundle should be expired now"
    );
    let node = node_endpoint(tls::quinn_client_config(&expired).unwrap());

    assert_node_refused(&node, &central, alert::CERTIFICATE_EXPIRED).await;
}

#[tokio::test]
async fn r20_tls_refuses_revoked() {
    let tmp = TempDir::new().unwrap();
    let ca = init_ca(tmp.path(), "ca");
    let (central_identity, _) = central(&ca, tmp.path());
    let ast = region(&ca, tmp.path(), "AST");
    let krg = region(&ca, tmp.path(), "KRG");
    let target = RevokeTarget::Region(RegionId::parse("AST").unwrap());
    provisioning::revoke(&ca, &target, Some("node stolen"), now(), &mut Silent).unwrap();
    let crl = tls::read_crl(&ca.join(provisioning::ca_files::CRL)).unwrap();
    let central = central_endpoint(&central_identity, Some(&crl));

    // The revoked region is refused …
    let node = node_endpoint(tls::quinn_client_config(&ast).unwrap());
    assert_node_refused(&node, &central, alert::CERTIFICATE_REVOKED).await;

    // … while a region the CRL does not list still connects through the same central.
    let node = node_endpoint(tls::quinn_client_config(&krg).unwrap());
    let (_, region) = exchange(&node, &central, b"still here").await;
    assert_eq!(region.as_deref(), Some("KRG"));
}

#[tokio::test]
async fn r20_tls_node_refuses_foreign_central() {
    let tmp = TempDir::new().unwrap();
    let ca = init_ca(tmp.path(), "ca");
    let other_ca = init_ca(tmp.path(), "other");
    // A central of another CA that would accept our node, so that only the node's check can
    // refuse.
    let (mut foreign_central, _) = central(&other_ca, tmp.path());
    let ast = region(&ca, tmp.path(), "AST");
    foreign_central.ca_cert = ast.ca_cert.clone();
    let central = central_endpoint(&foreign_central, None);
    let node = node_endpoint(tls::quinn_client_config(&ast).unwrap());

    assert_node_refused(&node, &central, alert::UNKNOWN_CA).await;
}

#[tokio::test]
async fn r20_tls_refuses_other_application_protocol() {
    let tmp = TempDir::new().unwrap();
    let ca = init_ca(tmp.path(), "ca");
    let (central_identity, crl) = central(&ca, tmp.path());
    let central = central_endpoint(&central_identity, Some(&crl));
    let ast = region(&ca, tmp.path(), "AST");
    let mut other = tls::client_config(&ast).unwrap();
    other.alpn_protocols = vec![b"h3".to_vec()];
    let other = quinn::ClientConfig::new(Arc::new(QuicClientConfig::try_from(other).unwrap()));
    let node = node_endpoint(other);

    assert_node_refused(&node, &central, alert::NO_APPLICATION_PROTOCOL).await;
}

#[test]
fn r20_tls_server_config_refuses_crl_of_another_ca() {
    let tmp = TempDir::new().unwrap();
    let ca = init_ca(tmp.path(), "ca");
    let other_ca = init_ca(tmp.path(), "other");
    let (central_identity, _) = central(&ca, tmp.path());
    let foreign_crl = tls::read_crl(&other_ca.join(provisioning::ca_files::CRL)).unwrap();
    let error = tls::server_config(&central_identity, Some(&foreign_crl)).unwrap_err();
    assert!(
        error.to_string().contains("another CA"),
        "unexpected error: {error}"
    );
}

#[test]
fn r20_tls_central_server_name_strips_port_and_brackets() {
    let check = |address: &str, expect: &str| {
        assert_eq!(
            tls::central_server_name(address).unwrap(),
            expect,
            "{address}"
        );
    };
    check("central.mvd.kz:7102", "central.mvd.kz");
    check("Central.MVD.kz:7102", "central.mvd.kz");
    check("10.10.0.2:7102", "10.10.0.2");
    check("[fd00::2]:7102", "fd00::2");
    assert!(tls::central_server_name("central.mvd.kz").is_err());
}
