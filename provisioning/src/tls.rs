//! Mutual TLS for the QUIC links of the network, built from what
//! [`load_identity`](crate::load_identity) returns:
//!
//! - **node ↔ central** (ALPN [`ALPN`], [`server_config`], [`client_config`]): both sides trust
//!   only the CA of their bundle and present their own certificate; the central requires one from
//!   every node, checks it against the CA's revocation list during the handshake and reads the
//!   node's region from it ([`peer_region`]), never from messages;
//! - **terminal ↔ node**, the field link (ALPN [`FIELD_ALPN`], [`field_server_config`],
//!   [`field_client_config`]): a unit's terminal presents its unit certificate; the node requires
//!   one chaining to the CA, not revoked, not expired, and **of a unit of its own region** —
//!   anything else (a node's, the central's or a web certificate, another region's unit) is
//!   refused during the handshake with the alert `access_denied` — and reads the unit from it
//!   ([`peer_unit`]). The terminal accepts only its own region's node certificate.
//!
//! Every config here is TLS 1.3 only (QUIC requires it), negotiates one ALPN, uses the `ring`
//! crypto provider it names itself (never a process-wide default), and disables session
//! resumption and 0-RTT: a resumed session would skip the certificate and revocation checks, and
//! 0-RTT data can be replayed. A full handshake per connection is cheap for a few dozen regions
//! and a few hundred terminals per node.
//!
//! A refused terminal learns why from the TLS alert the node sent ([`tls_alert`],
//! [`is_certificate_revoked`], [`is_certificate_expired`]). In TLS 1.3 the client finishes its
//! side of the handshake before the server has checked the client's certificate, so the refusal
//! may arrive either as the error of `Connecting` or, just after it seemed to succeed, as the
//! error of `Connection::closed()` (and of every stream): check both.
//!
//! *Knows nothing about* addresses, DNS resolution, reconnect policy or what flows over the
//! streams: the shells own those.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{Resumption, WebPkiServerVerifier};
use rustls::crypto::CryptoProvider;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{NoServerSessionStorage, WebPkiClientVerifier};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, DistinguishedName, RootCertStore,
    ServerConfig, SignatureScheme,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, ServerName, UnixTime};

use crate::error::{Error, Result};
use crate::fsio;
use crate::identity::Identity;
use crate::pki::{region_of, unit_of, Role};
use crate::revoke::RevocationList;
use crate::settings::CentralAddress;

/// The one application protocol a node and the central speak over QUIC. A peer that offers
/// anything else is refused during the handshake.
pub const ALPN: &[u8] = b"mvd102-sync";

/// The one application protocol a field terminal and its region's node speak over QUIC (the
/// node's `[field] listen`). Distinct from [`ALPN`], so neither link's endpoint accepts the other
/// link's peers.
pub const FIELD_ALPN: &[u8] = b"mvd102-field";

/// TLS alert numbers (RFC 8446 §6) a refusing side sends, as [`tls_alert`] returns them.
pub mod alert {
    /// The client's certificate is on the CA's revocation list.
    pub const CERTIFICATE_REVOKED: u8 = 44;
    /// The client's certificate has expired or is not valid yet.
    pub const CERTIFICATE_EXPIRED: u8 = 45;
    /// The certificate chains to no CA the peer trusts (or its revocation status is unknown).
    pub const UNKNOWN_CA: u8 = 48;
    /// The certificate is sound but not allowed here: on the field link, not a unit of the node's
    /// region (or, seen by the node, not its region's node certificate).
    pub const ACCESS_DENIED: u8 = 49;
    /// The client presented no certificate.
    pub const CERTIFICATE_REQUIRED: u8 = 116;
    /// The client offered no ALPN the server speaks.
    pub const NO_APPLICATION_PROTOCOL: u8 = 120;
}

/// QUIC carries a TLS alert as the CRYPTO_ERROR `0x0100 + alert` (RFC 9001 §4.8).
const QUIC_CRYPTO_ERROR_BASE: u64 = 0x100;

/// How long a QUIC connection may stay silent before it is closed, in seconds. The smaller of the
/// two sides' values applies.
pub const QUIC_IDLE_TIMEOUT_S: u64 = 30;

/// How often a QUIC connection sends a keep-alive when it has nothing else to send, in seconds.
/// A third of [`QUIC_IDLE_TIMEOUT_S`], so that a quiet but healthy link (and any NAT binding on the
/// way) stays open even when two keep-alives in a row are lost.
pub const QUIC_KEEP_ALIVE_INTERVAL_S: u64 = 10;

const _: () = assert!(QUIC_KEEP_ALIVE_INTERVAL_S < QUIC_IDLE_TIMEOUT_S);

/// [`QUIC_IDLE_TIMEOUT_S`] in the milliseconds QUIC's transport parameter counts.
const QUIC_IDLE_TIMEOUT_MS: u32 = {
    assert!(QUIC_IDLE_TIMEOUT_S * 1000 <= u32::MAX as u64);
    (QUIC_IDLE_TIMEOUT_S * 1000) as u32
};

/// The crypto provider of every config here: `ring`, as rcgen and webpki use in this crate.
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn tls_error(field: &'static str) -> impl FnOnce(rustls::Error) -> Error {
    move |e| Error::invalid(field, format!("rejected by TLS: {e}"))
}

/// A trust store holding only the bundle's CA.
fn ca_roots(identity: &Identity) -> Result<Arc<RootCertStore>> {
    let mut roots = RootCertStore::empty();
    roots
        .add(identity.ca_cert.clone())
        .map_err(tls_error("ca certificate"))?;
    Ok(Arc::new(roots))
}

/// Reads a CRL file (PEM, e.g. the central bundle's `crl.pem`) into the DER form
/// [`server_config`] takes. The signature is checked there, against the identity's CA.
pub fn read_crl(crl_path: &Path) -> Result<CertificateRevocationListDer<'static>> {
    let pem = fsio::read_limited(crl_path)?;
    CertificateRevocationListDer::from_pem_slice(&pem)
        .map_err(|e| Error::bad_file(crl_path, format!("no PEM revocation list (X509 CRL): {e}")))
}

/// The central's TLS config: presents the central's certificate, requires every client to present
/// a certificate chaining to the CA, and — given the CA's revocation list — refuses a revoked
/// certificate during the handshake.
///
/// Revocation, explicitly:
///
/// - the CRL must be signed by the identity's CA, or this fails (checked here, not first at a
///   node's handshake, so a wrong `crl.pem` stops the central at start);
/// - a certificate whose status the CRL cannot tell is refused (rustls's default, relied on here):
///   our CRL has no distribution-point scope, so it covers every certificate the CA issued, and
///   anything else fails the chain check anyway;
/// - only the node's certificate is checked: the CA allows no intermediates (path length 0), and
///   the trust anchor itself is never on a CRL;
/// - a CRL past its next-update time is still applied, not treated as an error: a stale list
///   must not cut every region off the emergency line. The central warns with
///   [`RevocationList::is_current`] and HQ runs `refresh-crl`;
/// - `None` checks no revocation at all; the central always has a `crl.pem` and should pass it.
///
/// A new CRL takes effect in a new config (for quinn, `Endpoint::set_server_config`); existing
/// connections are not re-checked.
pub fn server_config(
    identity: &Identity,
    crl: Option<&CertificateRevocationListDer<'_>>,
) -> Result<ServerConfig> {
    tls13_server(identity, client_verifier(identity, crl)?, ALPN)
}

/// The client certificate check of [`server_config`] and [`field_server_config`]: chain to the
/// identity's CA, validity, clientAuth usage and, given a CRL, revocation.
fn client_verifier(
    identity: &Identity,
    crl: Option<&CertificateRevocationListDer<'_>>,
) -> Result<Arc<dyn ClientCertVerifier>> {
    let mut verifier = WebPkiClientVerifier::builder_with_provider(ca_roots(identity)?, provider());
    if let Some(crl) = crl {
        RevocationList::from_der(crl, &identity.ca_cert).map_err(|e| match e {
            Error::BadCertificate { reason } => Error::invalid("crl", reason),
            other => other,
        })?;
        verifier = verifier
            .with_crls([CertificateRevocationListDer::from(crl.to_vec())])
            .only_check_end_entity_revocation();
    }
    verifier
        .build()
        .map_err(|e| Error::invalid("crl", format!("unusable for client verification: {e}")))
}

/// A TLS 1.3 server config presenting `identity`, checking clients with `verifier`, speaking only
/// `alpn`, without resumption or 0-RTT.
fn tls13_server(
    identity: &Identity,
    verifier: Arc<dyn ClientCertVerifier>,
    alpn: &[u8],
) -> Result<ServerConfig> {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(tls_error("tls versions"))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(identity.cert_chain.clone(), identity.key.clone_key())
        .map_err(tls_error("identity"))?;
    config.alpn_protocols = vec![alpn.to_vec()];
    // Every connection gets a full handshake, so every connection passes the revocation check.
    config.session_storage = Arc::new(NoServerSessionStorage {});
    config.send_tls13_tickets = 0;
    config.max_early_data_size = 0;
    Ok(config)
}

/// A node's TLS config: trusts only the CA, presents the node's certificate, and checks the
/// central's certificate the ordinary way — chain to the CA, validity, and the server name.
///
/// The server name is not part of the config: it is what the node dials, given to
/// `Endpoint::connect(addr, server_name)`. The node takes it from `[central] address` in its
/// `node.toml` with [`central_server_name`] (`central.mvd.kz:7102` → `central.mvd.kz`); it must be
/// one of the DNS or IP names the central's bundle was made with (`add-central --dns/--ip`).
pub fn client_config(identity: &Identity) -> Result<ClientConfig> {
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(tls_error("tls versions"))?
        .with_root_certificates(ca_roots(identity)?)
        .with_client_auth_cert(identity.cert_chain.clone(), identity.key.clone_key())
        .map_err(tls_error("identity"))?;
    config.alpn_protocols = vec![ALPN.to_vec()];
    config.resumption = Resumption::disabled();
    config.enable_early_data = false;
    Ok(config)
}

/// A region's node's TLS config for its field terminals (ALPN [`FIELD_ALPN`]): presents the
/// node's certificate (`node.crt`), requires every terminal to present a certificate chaining to
/// the CA, and refuses during the handshake:
///
/// - a revoked certificate, given the CA's revocation list (alert `certificate_revoked`; the
///   list's rules are [`server_config`]'s: signed by the identity's CA or this fails, a stale
///   list still applies, `None` checks no revocation — a node with a region bundle of format
///   version 3 always has `crl.pem` and should pass it);
/// - an expired or not yet valid one (`certificate_expired`);
/// - one that is not a unit certificate of the node's own region — a node's, the central's, a
///   web certificate, a unit of another region (`access_denied`). The check runs in the
///   handshake, after the chain, validity and revocation checks, so a terminal of another region
///   never gets a connection at all, and [`peer_unit`] on an accepted connection always succeeds.
///
/// `node_identity` must be a region's ([`Role::Region`]). A new CRL takes effect in a new config
/// (`Endpoint::set_server_config`); existing connections are not re-checked.
pub fn field_server_config(
    node_identity: &Identity,
    crl: Option<&CertificateRevocationListDer<'_>>,
) -> Result<ServerConfig> {
    let Role::Region(region) = &node_identity.role else {
        return Err(Error::invalid(
            "identity",
            format!(
                "the field link is served by a region's node; this identity is the {}",
                node_identity.role
            ),
        ));
    };
    let verifier = UnitClientVerifier {
        inner: client_verifier(node_identity, crl)?,
        region: region.clone(),
    };
    tls13_server(node_identity, Arc::new(verifier), FIELD_ALPN)
}

/// A field terminal's TLS config (ALPN [`FIELD_ALPN`]): trusts only the bundle's CA, presents the
/// unit's certificate (`unit.crt`), and accepts the node's certificate only if it chains to the
/// CA, is valid, carries the server name dialled and is the node certificate of the unit's own
/// region (otherwise the terminal refuses with `access_denied`).
///
/// The server name is given to `Endpoint::connect(addr, server_name)`: `terminal.toml`'s
/// `[node] server_name` (`ast.region.mvd102`, the DNS name on every node certificate), whatever
/// address `[node] address` dials. `unit_identity` must be a unit's ([`Role::Unit`]), e.g.
/// [`UnitIdentity::identity`](crate::UnitIdentity).
pub fn field_client_config(unit_identity: &Identity) -> Result<ClientConfig> {
    let Role::Unit { region, .. } = &unit_identity.role else {
        return Err(Error::invalid(
            "identity",
            format!(
                "the field link's client is a unit's terminal; this identity is the {}",
                unit_identity.role
            ),
        ));
    };
    let provider = provider();
    let inner =
        WebPkiServerVerifier::builder_with_provider(ca_roots(unit_identity)?, provider.clone())
            .build()
            .map_err(|e| {
                Error::invalid("ca certificate", format!("unusable to check the node: {e}"))
            })?;
    let verifier = RegionServerVerifier {
        inner,
        region: region.clone(),
    };
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(tls_error("tls versions"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_client_auth_cert(
            unit_identity.cert_chain.clone(),
            unit_identity.key.clone_key(),
        )
        .map_err(tls_error("identity"))?;
    config.alpn_protocols = vec![FIELD_ALPN.to_vec()];
    config.resumption = Resumption::disabled();
    config.enable_early_data = false;
    Ok(config)
}

/// The node's check of a terminal: everything [`WebPkiClientVerifier`] checks (chain, validity,
/// usage, revocation), then that the certificate is a unit's of `region`.
#[derive(Debug)]
struct UnitClientVerifier {
    inner: Arc<dyn ClientCertVerifier>,
    region: String,
}

impl ClientCertVerifier for UnitClientVerifier {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let verified = self
            .inner
            .verify_client_cert(end_entity, intermediates, now)?;
        match unit_of(end_entity) {
            Ok((region, _)) if region == self.region => Ok(verified),
            _ => Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            )),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// The terminal's check of a node: everything [`WebPkiServerVerifier`] checks (chain, validity,
/// usage, server name), then that the certificate is the node certificate of `region`.
#[derive(Debug)]
struct RegionServerVerifier {
    inner: Arc<WebPkiServerVerifier>,
    region: String,
}

impl ServerCertVerifier for RegionServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verified = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )?;
        match region_of(end_entity) {
            Ok(Some(region)) if region == self.region => Ok(verified),
            _ => Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            )),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// The TLS server name for a central address `host:port` from `node.toml`: the host, without the
/// port or IPv6 brackets (`central.mvd.kz:7102` → `central.mvd.kz`, `[fd00::2]:7102` →
/// `fd00::2`).
pub fn central_server_name(address: &str) -> Result<String> {
    let canonical = CentralAddress::parse(address)?.to_string();
    let host = canonical
        .rsplit_once(':')
        .map_or(canonical.as_str(), |(host, _port)| host);
    Ok(host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
        .to_owned())
}

/// The QUIC transport settings both sides use.
///
/// Congestion control is BBR, not quinn's default CUBIC: regional links lose packets for
/// reasons other than congestion (radio, long rural lines), and a loss-based controller shrinks
/// its window on every such loss. At 5 % random loss and 200 ms RTT, CUBIC carried ~30 packets/s
/// in `bench sync-lag`, far below a node's 500 changes/s, so the lag grew without bound.
fn transport_config() -> Arc<quinn::TransportConfig> {
    let mut transport = quinn::TransportConfig::default();
    transport.congestion_controller_factory(Arc::new(quinn::congestion::BbrConfig::default()));
    transport.max_idle_timeout(Some(quinn::IdleTimeout::from(quinn::VarInt::from_u32(
        QUIC_IDLE_TIMEOUT_MS,
    ))));
    transport.keep_alive_interval(Some(Duration::from_secs(QUIC_KEEP_ALIVE_INTERVAL_S)));
    Arc::new(transport)
}

fn quic_error(e: quinn::crypto::rustls::NoInitialCipherSuite) -> Error {
    Error::invalid("tls config", format!("not usable for QUIC: {e}"))
}

/// [`server_config`] wrapped for a quinn endpoint, with the idle timeout and keep-alive of
/// [`QUIC_IDLE_TIMEOUT_S`] and [`QUIC_KEEP_ALIVE_INTERVAL_S`].
pub fn quinn_server_config(
    identity: &Identity,
    crl: Option<&CertificateRevocationListDer<'_>>,
) -> Result<quinn::ServerConfig> {
    let crypto = QuicServerConfig::try_from(server_config(identity, crl)?).map_err(quic_error)?;
    let mut config = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    config.transport_config(transport_config());
    Ok(config)
}

/// [`client_config`] wrapped for a quinn endpoint (`Endpoint::set_default_client_config` or
/// `connect_with`), with the same transport settings as the central's.
pub fn quinn_client_config(identity: &Identity) -> Result<quinn::ClientConfig> {
    quinn_client(client_config(identity)?)
}

/// [`field_server_config`] wrapped for the node's field endpoint, with the transport settings of
/// [`quinn_server_config`] (BBR, which suits lossy radio links; idle timeout and keep-alive).
pub fn quinn_field_server_config(
    node_identity: &Identity,
    crl: Option<&CertificateRevocationListDer<'_>>,
) -> Result<quinn::ServerConfig> {
    let crypto =
        QuicServerConfig::try_from(field_server_config(node_identity, crl)?).map_err(quic_error)?;
    let mut config = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    config.transport_config(transport_config());
    Ok(config)
}

/// [`field_client_config`] wrapped for the terminal's quinn endpoint, with the same transport
/// settings as the node's.
pub fn quinn_field_client_config(unit_identity: &Identity) -> Result<quinn::ClientConfig> {
    quinn_client(field_client_config(unit_identity)?)
}

fn quinn_client(crypto: ClientConfig) -> Result<quinn::ClientConfig> {
    let crypto = QuicClientConfig::try_from(crypto).map_err(quic_error)?;
    let mut config = quinn::ClientConfig::new(Arc::new(crypto));
    config.transport_config(transport_config());
    Ok(config)
}

/// The certificate the peer of an established connection presented (its leaf). The handshake
/// has already checked it against the CA and the CRL.
pub fn peer_certificate(conn: &quinn::Connection) -> Result<CertificateDer<'static>> {
    let missing = |why: &str| Error::BadCertificate {
        reason: format!("the peer's certificate is not available: {why}"),
    };
    let identity = conn
        .peer_identity()
        .ok_or_else(|| missing("the peer presented none"))?;
    let chain = identity
        .downcast::<Vec<CertificateDer<'static>>>()
        .map_err(|_| missing("the connection does not use rustls"))?;
    chain
        .into_iter()
        .next()
        .ok_or_else(|| missing("the peer's chain is empty"))
}

/// The region of the peer of an established connection, from its certificate (see
/// [`region_of`]): `Some("AST")` for a node, `None` for the central. The central
/// attributes everything a connection carries to this region and to nothing a message claims.
pub fn peer_region(conn: &quinn::Connection) -> Result<Option<String>> {
    region_of(&peer_certificate(conn)?)
}

/// The unit of the terminal on an established field connection, from its certificate (see
/// [`unit_of`]): `(region, unit)`, e.g. `("AST", "p01")`. [`field_server_config`] has already
/// refused anything but a unit of the node's region. The node attributes everything the
/// connection carries to this unit and to nothing a message claims.
pub fn peer_unit(conn: &quinn::Connection) -> Result<(String, String)> {
    unit_of(&peer_certificate(conn)?)
}

/// The TLS alert (RFC 8446 §6, see [`alert`]) that ended a connection's handshake, sent by the
/// peer or raised by this side's own TLS stack: `Some(44)` for certificate_revoked. `None` for
/// any other end (timeout, application close, …).
pub fn tls_alert(err: &quinn::ConnectionError) -> Option<u8> {
    let code: u64 = match err {
        quinn::ConnectionError::TransportError(e) => e.code.into(),
        quinn::ConnectionError::ConnectionClosed(close) => close.error_code.into(),
        _ => return None,
    };
    code.checked_sub(QUIC_CRYPTO_ERROR_BASE)
        .and_then(|alert| u8::try_from(alert).ok())
}

/// Whether the connection ended because the peer (for a terminal: its node) refused this side's
/// certificate as revoked — the terminal then wipes its data (the unit was revoked). Check both
/// the error of `Connecting` and that of `Connection::closed()` (see the module notes).
pub fn is_certificate_revoked(err: &quinn::ConnectionError) -> bool {
    tls_alert(err) == Some(alert::CERTIFICATE_REVOKED)
}

/// Whether the connection ended because a certificate was refused as expired or not yet valid —
/// for a terminal, usually its own unit certificate (re-issue it with `add-unit`), or a clock far
/// off.
pub fn is_certificate_expired(err: &quinn::ConnectionError) -> bool {
    tls_alert(err) == Some(alert::CERTIFICATE_EXPIRED)
}
