//! Mutual TLS for the QUIC link between a region's node and the central, built from what
//! [`load_identity`](crate::load_identity) returns.
//!
//! Both sides trust only the CA of their bundle and present their own certificate; the central
//! requires one from every node, checks it against the CA's revocation list during the handshake
//! and reads the node's region from it ([`peer_region`]), never from messages.
//!
//! Every config here is TLS 1.3 only (QUIC requires it), negotiates ALPN [`ALPN`], uses the
//! `ring` crypto provider it names itself (never a process-wide default), and disables session
//! resumption and 0-RTT: a resumed session would skip the certificate and revocation checks, and
//! 0-RTT data can be replayed. A full handshake per connection is cheap for a few dozen regions.
//!
//! *Knows nothing about* addresses, DNS resolution, reconnect policy or what flows over the
//! streams: the shells own those.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use rustls::client::Resumption;
use rustls::crypto::CryptoProvider;
use rustls::server::{NoServerSessionStorage, WebPkiClientVerifier};
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer};

use crate::error::{Error, Result};
use crate::fsio;
use crate::identity::Identity;
use crate::pki::region_of;
use crate::revoke::RevocationList;
use crate::settings::CentralAddress;

/// The one application protocol a node and the central speak over QUIC. A peer that offers
/// anything else is refused during the handshake.
pub const ALPN: &[u8] = b"mvd102-sync";

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
    let provider = provider();
    let mut verifier =
        WebPkiClientVerifier::builder_with_provider(ca_roots(identity)?, provider.clone());
    if let Some(crl) = crl {
        RevocationList::from_der(crl, &identity.ca_cert).map_err(|e| match e {
            Error::BadCertificate { reason } => Error::invalid("crl", reason),
            other => other,
        })?;
        verifier = verifier
            .with_crls([CertificateRevocationListDer::from(crl.to_vec())])
            .only_check_end_entity_revocation();
    }
    let verifier = verifier
        .build()
        .map_err(|e| Error::invalid("crl", format!("unusable for client verification: {e}")))?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(tls_error("tls versions"))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(identity.cert_chain.clone(), identity.key.clone_key())
        .map_err(tls_error("identity"))?;
    config.alpn_protocols = vec![ALPN.to_vec()];
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
    let crypto = QuicClientConfig::try_from(client_config(identity)?).map_err(quic_error)?;
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
