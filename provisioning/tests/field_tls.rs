//! R20 field units: the QUIC link between a region's node and its units' terminals, over real
//! endpoints on 127.0.0.1 with bundles made through the library. A unit's terminal connects and
//! the node reads the unit from its certificate; after `revoke --unit` and the new CRL the node
//! refuses it during the handshake and the terminal sees `certificate_revoked`; an expired unit
//! certificate is refused as expired; other units keep working; a certificate that is not a unit
//! of the node's region is refused with `access_denied`, and a terminal refuses another region's
//! node the same way.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use provisioning::progress::Silent;
use provisioning::settings::{
    CaName, CaSettings, CentralAddress, NodeAddress, RegionId, RegionName, RegionSettings, UnitId,
    UnitSettings, ValidDays,
};
use provisioning::tls::{self, alert, FIELD_ALPN};
use provisioning::{bundle_files, load_identity, load_unit_identity, load_unit_identity_at};
use provisioning::{Identity, RevokeTarget, UnitIdentity};
use quinn::crypto::rustls::QuicClientConfig;
use quinn::{Connection, ConnectionError, Endpoint};
use rand::rngs::OsRng;
use rustls_pki_types::CertificateRevocationListDer;
use tempfile::TempDir;
use time::{Duration, OffsetDateTime};
use tokio::task::JoinHandle;
use tokio::time::timeout;

/// How long any one step (handshake, stream, close) may take before the test fails.
const STEP_DEADLINE: StdDuration = StdDuration::from_secs(10);
/// Largest message either side reads in these tests, in bytes.
const MESSAGE_BYTES_MAX: usize = 1024;

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// A CA, its region bundles and unit bundles, in one temporary directory.
struct Pki {
    tmp: TempDir,
    ca: PathBuf,
}

impl Pki {
    fn new() -> Self {
        Self::at(now())
    }

    /// A CA created at `issued_at`, valid for ten years.
    fn at(issued_at: OffsetDateTime) -> Self {
        let tmp = TempDir::new().unwrap();
        let ca = tmp.path().join("ca");
        let settings = CaSettings {
            name: CaName::parse("field test CA").unwrap(),
            valid_days: ValidDays::for_ca(3650).unwrap(),
        };
        provisioning::init_ca(&ca, &settings, issued_at, &mut OsRng, &mut Silent).unwrap();
        Pki { tmp, ca }
    }

    fn region_at(&self, id: &str, issued_at: OffsetDateTime) -> PathBuf {
        let out = self.tmp.path().join(format!("region-{id}"));
        let settings = RegionSettings {
            id: RegionId::parse(id).unwrap(),
            name_kk: RegionName::parse("name-kk", "Астана қаласы ПД").unwrap(),
            name_ru: RegionName::parse("name-ru", "ДП города Астаны").unwrap(),
            central: CentralAddress::parse("central.mvd.kz:7102").unwrap(),
            valid_days: ValidDays::for_peer(1825).unwrap(),
        };
        provisioning::add_region(
            &self.ca,
            &out,
            &settings,
            issued_at,
            &mut OsRng,
            &mut Silent,
        )
        .unwrap();
        out
    }

    /// A region's bundle issued now: the node's identity and the CRL its bundle carries.
    fn node(&self, id: &str) -> (Identity, CertificateRevocationListDer<'static>) {
        let bundle = self.region_at(id, now());
        let crl = tls::read_crl(&bundle.join(bundle_files::CRL)).unwrap();
        (load_identity(&bundle).unwrap(), crl)
    }

    fn unit_bundle_at(
        &self,
        region: &str,
        unit: &str,
        issued_at: OffsetDateTime,
        days: u32,
    ) -> PathBuf {
        let out = self.tmp.path().join(format!("unit-{region}-{unit}"));
        let settings = UnitSettings::new(
            RegionId::parse(region).unwrap(),
            UnitId::parse(unit).unwrap(),
            NodeAddress::parse("127.0.0.1:7103").unwrap(),
            ValidDays::for_unit(days).unwrap(),
        );
        provisioning::add_unit(
            &self.ca,
            &out,
            &settings,
            issued_at,
            &mut OsRng,
            &mut Silent,
        )
        .unwrap();
        out
    }

    /// A unit's bundle issued now, loaded as its terminal would.
    fn unit(&self, region: &str, unit: &str) -> UnitIdentity {
        load_unit_identity(&self.unit_bundle_at(region, unit, now(), 365)).unwrap()
    }

    fn revoke_unit(&self, region: &str, unit: &str) -> CertificateRevocationListDer<'static> {
        let target = RevokeTarget::Unit {
            region: RegionId::parse(region).unwrap(),
            unit: UnitId::parse(unit).unwrap(),
        };
        provisioning::revoke(
            &self.ca,
            &target,
            Some("terminal stolen"),
            now(),
            &mut Silent,
        )
        .unwrap();
        tls::read_crl(&self.ca.join(provisioning::ca_files::CRL)).unwrap()
    }
}

/// A node's field endpoint on an ephemeral port of 127.0.0.1.
fn node_endpoint(identity: &Identity, crl: Option<&CertificateRevocationListDer<'_>>) -> Endpoint {
    let config = tls::quinn_field_server_config(identity, crl).unwrap();
    Endpoint::server(config, (Ipv4Addr::LOCALHOST, 0).into()).unwrap()
}

fn terminal_endpoint(config: quinn::ClientConfig) -> Endpoint {
    let mut endpoint = Endpoint::client((Ipv4Addr::LOCALHOST, 0).into()).unwrap();
    endpoint.set_default_client_config(config);
    endpoint
}

fn terminal(unit: &UnitIdentity) -> Endpoint {
    terminal_endpoint(tls::quinn_field_client_config(&unit.identity).unwrap())
}

fn addr(endpoint: &Endpoint) -> SocketAddr {
    endpoint.local_addr().unwrap()
}

/// The node accepts one incoming connection and completes (or fails) its handshake.
fn accept_one(node: &Endpoint) -> JoinHandle<Result<Connection, ConnectionError>> {
    let node = node.clone();
    tokio::spawn(async move {
        let incoming = timeout(STEP_DEADLINE, node.accept())
            .await
            .expect("no connection attempt reached the node")
            .expect("the node endpoint closed");
        timeout(STEP_DEADLINE, incoming)
            .await
            .expect("the node's handshake did not finish")
    })
}

/// The terminal dials the node and must be refused; returns the terminal's error and the node's
/// result. In TLS 1.3 the client finishes its handshake before the server has checked the client's
/// certificate, so the terminal may first see the connection established and only then closed
/// with the node's alert; as a terminal must, this checks both.
async fn dial_refused(
    terminal: &Endpoint,
    node: &Endpoint,
    server_name: &str,
) -> (ConnectionError, Result<Connection, ConnectionError>) {
    let server = accept_one(node);
    let connecting = terminal.connect(addr(node), server_name).unwrap();
    let error = match timeout(STEP_DEADLINE, connecting)
        .await
        .expect("the terminal's handshake did not finish")
    {
        Err(e) => e,
        Ok(conn) => timeout(STEP_DEADLINE, conn.closed())
            .await
            .expect("the node did not close a connection it should refuse"),
    };
    (error, server.await.unwrap())
}

/// Asserts that the node refused with `expected_alert` and the terminal saw it.
async fn assert_unit_refused(terminal: &Endpoint, node: &Endpoint, expected_alert: u8) {
    let (error, node_result) = dial_refused(terminal, node, "ast.region.mvd102").await;
    assert_eq!(
        tls::tls_alert(&error),
        Some(expected_alert),
        "terminal: {error:?}"
    );
    match node_result {
        Ok(conn) => panic!(
            "the node accepted a connection it should refuse (peer {:?})",
            tls::peer_unit(&conn)
        ),
        Err(e) => assert_eq!(tls::tls_alert(&e), Some(expected_alert), "node: {e:?}"),
    }
}

/// The terminal connects, sends `request` on a bidirectional stream (as the session frames flow),
/// and returns the node's reply with the unit the node read from the connection.
async fn exchange(
    terminal: &Endpoint,
    node: &Endpoint,
    server_name: &str,
    request: &[u8],
) -> (Vec<u8>, (String, String)) {
    let server = {
        let accepted = accept_one(node);
        tokio::spawn(async move {
            let conn = accepted.await.unwrap().expect("the node refused the unit");
            let unit = tls::peer_unit(&conn).unwrap();
            let (mut send, mut recv) = timeout(STEP_DEADLINE, conn.accept_bi())
                .await
                .expect("no stream from the terminal")
                .unwrap();
            let request = timeout(STEP_DEADLINE, recv.read_to_end(MESSAGE_BYTES_MAX))
                .await
                .expect("the terminal's request did not arrive")
                .unwrap();
            let reply = format!("ack:{}:{}", unit.0, unit.1);
            send.write_all(reply.as_bytes()).await.unwrap();
            send.finish().unwrap();
            timeout(STEP_DEADLINE, conn.closed())
                .await
                .expect("the terminal did not close the connection");
            (request, unit)
        })
    };
    let conn = timeout(
        STEP_DEADLINE,
        terminal.connect(addr(node), server_name).unwrap(),
    )
    .await
    .expect("the terminal's handshake did not finish")
    .expect("the terminal could not connect");
    let negotiated = conn
        .handshake_data()
        .unwrap()
        .downcast::<quinn::crypto::rustls::HandshakeData>()
        .unwrap();
    assert_eq!(negotiated.protocol.as_deref(), Some(FIELD_ALPN));
    // Seen from the terminal, the peer is its region's node.
    assert_eq!(tls::peer_region(&conn).unwrap().as_deref(), Some("AST"));
    let (mut send, mut recv) = timeout(STEP_DEADLINE, conn.open_bi())
        .await
        .unwrap()
        .unwrap();
    send.write_all(request).await.unwrap();
    send.finish().unwrap();
    let reply = timeout(STEP_DEADLINE, recv.read_to_end(MESSAGE_BYTES_MAX))
        .await
        .expect("the node's reply did not arrive")
        .unwrap();
    conn.close(0u32.into(), b"done");
    let (received, unit) = server.await.unwrap();
    assert_eq!(received, request);
    (reply, unit)
}

#[tokio::test]
async fn r20_field_unit_connects_and_node_reads_its_unit() {
    let pki = Pki::new();
    let (ast, crl) = pki.node("AST");
    let node = node_endpoint(&ast, Some(&crl));
    let p01 = pki.unit("AST", "p01");
    // The terminal dials the name its terminal.toml gives.
    assert_eq!(p01.terminal.node.server_name, "ast.region.mvd102");

    let terminal = terminal(&p01);
    let (reply, unit) = exchange(
        &terminal,
        &node,
        &p01.terminal.node.server_name,
        b"status en_route",
    )
    .await;
    assert_eq!(unit, ("AST".to_owned(), "p01".to_owned()));
    assert_eq!(reply, b"ack:AST:p01");
}

#[tokio::test]
async fn r20_field_revoked_unit_is_refused_and_other_units_still_connect() {
    let pki = Pki::new();
    let (ast, crl) = pki.node("AST");
    let p01 = pki.unit("AST", "p01");
    let p02 = pki.unit("AST", "p02");

    // Before the revocation reaches the node, p01 connects.
    let node = node_endpoint(&ast, Some(&crl));
    let (_, unit) = exchange(&terminal(&p01), &node, "ast.region.mvd102", b"hello").await;
    assert_eq!(unit.1, "p01");

    // `revoke --unit`, and the node loads the new CRL (a new server config).
    let crl = pki.revoke_unit("AST", "p01");
    node.set_server_config(Some(
        tls::quinn_field_server_config(&ast, Some(&crl)).unwrap(),
    ));

    let (error, node_result) = dial_refused(&terminal(&p01), &node, "ast.region.mvd102").await;
    assert!(
        tls::is_certificate_revoked(&error),
        "the terminal must learn it was revoked: {error:?}"
    );
    assert!(!tls::is_certificate_expired(&error));
    assert_eq!(tls::tls_alert(&error), Some(alert::CERTIFICATE_REVOKED));
    let node_error = node_result.expect_err("the node accepted a revoked unit");
    assert!(tls::is_certificate_revoked(&node_error), "{node_error:?}");

    // Another unit of the region is not touched.
    let (reply, unit) = exchange(&terminal(&p02), &node, "ast.region.mvd102", b"still here").await;
    assert_eq!(unit, ("AST".to_owned(), "p02".to_owned()));
    assert_eq!(reply, b"ack:AST:p02");
}

#[tokio::test]
async fn r20_field_expired_unit_is_refused_as_expired() {
    let issued_at = now() - Duration::days(400);
    let pki = Pki::at(issued_at);
    // The node's certificate is still valid; the unit's lasted 30 days from 400 days ago.
    let region = pki.region_at("AST", issued_at);
    let crl = tls::read_crl(&region.join(bundle_files::CRL)).unwrap();
    let ast = load_identity(&region).unwrap();
    let bundle = pki.unit_bundle_at("AST", "p01", issued_at, 30);
    assert!(
        load_unit_identity(&bundle).is_err(),
        "the bundle should be expired now"
    );
    let p01 = load_unit_identity_at(&bundle, issued_at + Duration::days(1)).unwrap();
    let node = node_endpoint(&ast, Some(&crl));

    let (error, node_result) = dial_refused(&terminal(&p01), &node, "ast.region.mvd102").await;
    assert!(tls::is_certificate_expired(&error), "{error:?}");
    assert!(!tls::is_certificate_revoked(&error));
    let node_error = node_result.expect_err("the node accepted an expired unit");
    assert!(tls::is_certificate_expired(&node_error), "{node_error:?}");
}

#[tokio::test]
async fn r20_field_node_refuses_a_region_certificate_as_client() {
    let pki = Pki::new();
    let (ast, crl) = pki.node("AST");
    let node = node_endpoint(&ast, Some(&crl));
    // A region's node certificate (valid, clientAuth, same CA) dialling the field ALPN.
    let (krg, _) = pki.node("KRG");
    let mut config = tls::client_config(&krg).unwrap();
    config.alpn_protocols = vec![FIELD_ALPN.to_vec()];
    let impostor = terminal_endpoint(quinn::ClientConfig::new(Arc::new(
        QuicClientConfig::try_from(config).unwrap(),
    )));

    assert_unit_refused(&impostor, &node, alert::ACCESS_DENIED).await;
}

#[tokio::test]
async fn r20_field_node_refuses_a_unit_of_another_region() {
    let pki = Pki::new();
    let (ast, crl) = pki.node("AST");
    pki.node("KRG");
    let node = node_endpoint(&ast, Some(&crl));
    // A KRG unit whose terminal would accept AST's node, so that only the node's check refuses.
    let mut krg_unit = pki.unit("KRG", "p01");
    krg_unit.identity.role = provisioning::Role::Unit {
        region: "AST".into(),
        unit: "p01".into(),
    };

    assert_unit_refused(&terminal(&krg_unit), &node, alert::ACCESS_DENIED).await;
}

#[tokio::test]
async fn r20_field_terminal_refuses_another_regions_node() {
    let pki = Pki::new();
    pki.node("AST");
    let (krg, crl) = pki.node("KRG");
    let node = node_endpoint(&krg, Some(&crl));
    let p01 = pki.unit("AST", "p01");

    // Even dialled by its own, valid name, KRG's node is not the unit's node.
    let (error, node_result) = dial_refused(&terminal(&p01), &node, "krg.region.mvd102").await;
    assert_eq!(
        tls::tls_alert(&error),
        Some(alert::ACCESS_DENIED),
        "{error:?}"
    );
    assert!(node_result.is_err());

    // And a name the node's certificate does not carry is refused as such.
    let (error, _) = dial_refused(&terminal(&p01), &node, "ast.region.mvd102").await;
    assert_eq!(
        tls::tls_alert(&error),
        Some(42),
        "bad_certificate: {error:?}"
    );
}

#[tokio::test]
async fn r20_field_endpoints_speak_only_the_field_protocol() {
    let pki = Pki::new();
    let (ast, crl) = pki.node("AST");
    let node = node_endpoint(&ast, Some(&crl));
    let p01 = pki.unit("AST", "p01");
    let mut config = tls::field_client_config(&p01.identity).unwrap();
    config.alpn_protocols = vec![tls::ALPN.to_vec()];
    let sync_speaker = terminal_endpoint(quinn::ClientConfig::new(Arc::new(
        QuicClientConfig::try_from(config).unwrap(),
    )));

    assert_unit_refused(&sync_speaker, &node, alert::NO_APPLICATION_PROTOCOL).await;
}

#[test]
fn r20_field_configs_refuse_the_wrong_identity() {
    let pki = Pki::new();
    let (ast, _) = pki.node("AST");
    let p01 = pki.unit("AST", "p01");
    let err = tls::field_server_config(&p01.identity, None).unwrap_err();
    assert!(
        err.to_string().contains("served by a region's node"),
        "{err}"
    );
    let err = tls::field_client_config(&ast).unwrap_err();
    assert!(err.to_string().contains("unit's terminal"), "{err}");
    tls::field_server_config(&ast, None).unwrap();
    tls::field_client_config(&p01.identity).unwrap();
}

#[test]
fn r20_field_alerts_are_read_from_quinn_errors() {
    let closed = |code: quinn::TransportErrorCode| {
        ConnectionError::ConnectionClosed(quinn::ConnectionClose {
            error_code: code,
            frame_type: None,
            reason: Default::default(),
        })
    };
    let crypto = |alert: u8| closed(quinn::TransportErrorCode::crypto(alert));
    assert!(tls::is_certificate_revoked(&crypto(
        alert::CERTIFICATE_REVOKED
    )));
    assert!(tls::is_certificate_expired(&crypto(
        alert::CERTIFICATE_EXPIRED
    )));
    assert!(!tls::is_certificate_revoked(&crypto(alert::UNKNOWN_CA)));
    assert_eq!(tls::tls_alert(&crypto(alert::ACCESS_DENIED)), Some(49));
    assert_eq!(
        tls::tls_alert(&closed(quinn::TransportErrorCode::PROTOCOL_VIOLATION)),
        None
    );
    assert_eq!(tls::tls_alert(&ConnectionError::TimedOut), None);
    assert_eq!(tls::tls_alert(&ConnectionError::LocallyClosed), None);
}
