//! The web listener of the node and of the central hub: the console, the dashboard, the API and
//! the citizen signalling (WSS) over HTTPS with rustls, or plain HTTP on a loopback address only.
//!
//! Browsers give a page the camera and microphone only in a secure context, and every password
//! and session cookie crosses the ЦОУ's LAN, so a listener on any non-loopback address must be
//! HTTPS. A browser that speaks plain HTTP to the HTTPS port is redirected to `https://` on the
//! same port; an optional second listener (`redirect_listen`, e.g. port 80) redirects too.
//! Answers over HTTPS carry `Strict-Transport-Security`.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::server::TlsStream;

/// A client that has not finished its TLS handshake this long after connecting is dropped.
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections still in their TLS handshake (or in a plain-HTTP redirect) at once; more wait
/// in the kernel's backlog, so a flood of idle sockets cannot exhaust memory.
pub const HANDSHAKES_IN_FLIGHT_MAX: usize = 512;
/// The largest plain-HTTP request head read before answering with a redirect, bytes.
pub const PLAIN_REQUEST_HEAD_BYTES_MAX: usize = 8 * 1024;
/// `Strict-Transport-Security` max-age when the config names none: one year, seconds.
pub const HSTS_MAX_AGE_S_DEFAULT: u64 = 31_536_000;
/// The first byte of every TLS connection (a handshake record).
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// `[https]` of the node's and the central's config. Relative paths are relative to the config
/// file that names them (a bundle's `node.toml` names its own `web.crt` and `web.key`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpsSection {
    /// Serve HTTPS when `cert` and `key` are set. `false` serves plain HTTP, which is allowed
    /// only on a loopback listen address (behind a TLS-terminating proxy on the same host).
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// The server certificate chain (PEM), leaf first: `web.crt` of a bundle, or one from the
    /// МВД's own PKI.
    #[serde(default)]
    pub cert: Option<PathBuf>,
    /// The certificate's private key (PEM, PKCS#8, SEC1 or PKCS#1).
    #[serde(default)]
    pub key: Option<PathBuf>,
    /// A plain-HTTP listener that only redirects to HTTPS (e.g. `0.0.0.0:80`).
    #[serde(default)]
    pub redirect_listen: Option<SocketAddr>,
    /// `Strict-Transport-Security: max-age`, seconds; 0 sends no header.
    #[serde(default = "default_hsts_max_age_s")]
    pub hsts_max_age_s: u64,
}

fn default_true() -> bool {
    true
}

fn default_hsts_max_age_s() -> u64 {
    HSTS_MAX_AGE_S_DEFAULT
}

/// The file paths of `[https]`, as dotted config keys.
pub const HTTPS_PATH_KEYS: [&str; 2] = ["https.cert", "https.key"];

/// How the web listener speaks.
#[derive(Clone)]
pub enum WebMode {
    /// Plain HTTP, on a loopback address only.
    Plain,
    /// HTTPS.
    Tls(TlsSettings),
}

/// A checked `[https]`.
#[derive(Clone)]
pub struct TlsSettings {
    pub server: Arc<rustls::ServerConfig>,
    pub cert: PathBuf,
    pub redirect_listen: Option<SocketAddr>,
    pub hsts_max_age_s: u64,
}

impl WebMode {
    /// Checks `[https]` against the listen address: HTTPS when a certificate and key are named
    /// (both files are read now; an error names the file), plain HTTP only on loopback.
    /// `section_name` is how the config calls the listen key, for messages.
    pub fn from_config(
        https: Option<&HttpsSection>,
        listen: SocketAddr,
        section_name: &str,
    ) -> anyhow::Result<WebMode> {
        let configured = https.filter(|h| h.enabled);
        match configured {
            Some(HttpsSection {
                cert: Some(cert),
                key: Some(key),
                redirect_listen,
                hsts_max_age_s,
                ..
            }) => Ok(WebMode::Tls(TlsSettings {
                server: Arc::new(server_config(cert, key)?),
                cert: cert.clone(),
                redirect_listen: *redirect_listen,
                hsts_max_age_s: *hsts_max_age_s,
            })),
            Some(HttpsSection {
                cert: Some(_),
                key: None,
                ..
            }) => anyhow::bail!("https.cert is set but https.key is not: name the certificate's private key file"),
            Some(HttpsSection {
                cert: None,
                key: Some(_),
                ..
            }) => anyhow::bail!("https.key is set but https.cert is not: name the certificate file"),
            _ if listen.ip().is_loopback() => Ok(WebMode::Plain),
            _ => anyhow::bail!(
                "{section_name} {listen} is not a loopback address, and plain HTTP is served only on \
                 loopback (browsers refuse the camera and microphone, and passwords would cross the \
                 network in clear): set [https] cert and key (a bundle from `provisioning` has \
                 web.crt and web.key), or listen on 127.0.0.1 behind a TLS-terminating proxy"
            ),
        }
    }

    /// `https` or `http`, for printed addresses.
    pub fn scheme(&self) -> &'static str {
        match self {
            WebMode::Plain => "http",
            WebMode::Tls(_) => "https",
        }
    }

    /// `wss` or `ws`.
    pub fn ws_scheme(&self) -> &'static str {
        match self {
            WebMode::Plain => "ws",
            WebMode::Tls(_) => "wss",
        }
    }

    pub fn is_tls(&self) -> bool {
        matches!(self, WebMode::Tls(_))
    }
}

/// A rustls server config from PEM files: HTTP/1.1 over TLS 1.2 or 1.3 with rustls's safe
/// defaults. Every error names the file and the problem.
pub fn server_config(cert: &Path, key: &Path) -> anyhow::Result<rustls::ServerConfig> {
    let cert_pem = std::fs::read(cert)
        .with_context(|| format!("cannot read the HTTPS certificate {}", cert.display()))?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| {
            anyhow::anyhow!("the HTTPS certificate {} is not PEM: {e:?}", cert.display())
        })?;
    if chain.is_empty() {
        anyhow::bail!(
            "the HTTPS certificate {} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            cert.display()
        );
    }
    let key_pem = std::fs::read(key)
        .with_context(|| format!("cannot read the HTTPS private key {}", key.display()))?;
    let private_key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
        anyhow::anyhow!(
            "the HTTPS private key {} holds no usable PEM private key: {e:?}",
            key.display()
        )
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(chain, private_key)
        .map_err(|e| {
            anyhow::anyhow!(
                "the HTTPS key {} does not fit the certificate {}: {e}",
                key.display(),
                cert.display()
            )
        })?;
    // HTTP/1.1 only: WebSocket upgrades (the citizen signalling, live events) need it, and a
    // console has no use for HTTP/2's multiplexing.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Serves `app` on `listener` in `mode` until `shutdown` resolves, then finishes the requests
/// in flight. Connection info (the peer's address) reaches handlers in both modes.
pub async fn serve(
    listener: TcpListener,
    mode: WebMode,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    use axum::serve::ListenerExt;
    match mode {
        WebMode::Plain => {
            // Small JSON answers must not wait for Nagle's algorithm.
            let listener = listener.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(shutdown)
            .await
            .context("HTTP server failed")
        }
        WebMode::Tls(tls) => {
            let https_port = listener.local_addr()?.port();
            let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
            if let Some(addr) = tls.redirect_listen {
                let redirect = TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("cannot listen on https.redirect_listen {addr}"))?;
                tracing::info!(%addr, "plain HTTP redirects to HTTPS");
                tokio::spawn(redirect_only(redirect, https_port, stop_rx.clone()));
            }
            let hsts = (tls.hsts_max_age_s > 0)
                .then(|| HeaderValue::from_str(&format!("max-age={}", tls.hsts_max_age_s)).ok())
                .flatten();
            let app = app.layer(axum::middleware::from_fn(
                move |req: Request, next: Next| {
                    let hsts = hsts.clone();
                    async move {
                        let mut resp: Response = next.run(req).await;
                        if let Some(v) = hsts {
                            resp.headers_mut()
                                .insert(header::STRICT_TRANSPORT_SECURITY, v);
                        }
                        resp
                    }
                },
            ));
            let listener = TlsListener::start(listener, tls.server.clone(), stop_rx)?;
            let result = axum::serve(
                listener.tap_io(|_| {}),
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(shutdown)
            .await
            .context("HTTPS server failed");
            let _ = stop_tx.send(true);
            result
        }
    }
}

/// Accepts TCP connections and completes TLS handshakes concurrently (a slow client never
/// holds up the next), answering plain HTTP with a redirect; `accept` hands out finished
/// TLS streams.
struct TlsListener {
    ready: tokio::sync::mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    fn start(
        listener: TcpListener,
        config: Arc<rustls::ServerConfig>,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) -> anyhow::Result<TlsListener> {
        let local = listener.local_addr()?;
        let (tx, rx) = tokio::sync::mpsc::channel(HANDSHAKES_IN_FLIGHT_MAX);
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        let closed = tx.clone();
        let stopped = async move {
            tokio::select! {
                _ = stop.changed() => {}
                _ = closed.closed() => {}
            }
        };
        tokio::spawn(accept_each(listener, stopped, move |tcp, peer| {
            let acceptor = acceptor.clone();
            let tx = tx.clone();
            async move {
                let handshake = async {
                    let mut first = [0u8; 1];
                    let n = tcp.peek(&mut first).await.ok()?;
                    if n == 0 {
                        return None;
                    }
                    if first[0] != TLS_HANDSHAKE_RECORD {
                        answer_plain_http(tcp, local.port()).await;
                        return None;
                    }
                    match acceptor.accept(tcp).await {
                        Ok(tls) => Some(tls),
                        Err(e) => {
                            tracing::debug!(%peer, error = %e, "TLS handshake failed");
                            None
                        }
                    }
                };
                if let Ok(Some(tls)) = tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, handshake).await
                {
                    let _ = tx.send((tls, peer)).await;
                }
            }
        }));
        Ok(TlsListener { ready: rx, local })
    }
}

/// Accepts connections until `stop` resolves and runs `handle` for each in its own task, at most
/// [`HANDSHAKES_IN_FLIGHT_MAX`] at once (the rest wait in the kernel's backlog).
async fn accept_each<F, Fut>(listener: TcpListener, stop: impl Future<Output = ()>, handle: F)
where
    F: Fn(TcpStream, SocketAddr) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    tokio::pin!(stop);
    let permits = Arc::new(tokio::sync::Semaphore::new(HANDSHAKES_IN_FLIGHT_MAX));
    loop {
        let Ok(permit) = permits.clone().acquire_owned().await else {
            return;
        };
        let (tcp, peer) = tokio::select! {
            _ = &mut stop => return,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment, as axum does.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = tcp.set_nodelay(true);
        let work = handle(tcp, peer);
        tokio::spawn(async move {
            let _permit = permit;
            work.await;
        });
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(ready) => ready,
            // The acceptor stopped (shutdown): accept nothing more.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.local)
    }
}

/// The plain-HTTP listener of `https.redirect_listen`: every request is redirected.
async fn redirect_only(
    listener: TcpListener,
    https_port: u16,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let stopped = async move {
        let _ = stop.changed().await;
    };
    accept_each(listener, stopped, move |tcp, _| async move {
        let _ =
            tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, answer_plain_http(tcp, https_port)).await;
    })
    .await;
}

/// Reads one plain-HTTP request head and answers `308 Permanent Redirect` to the same host
/// and path over HTTPS on `https_port` (308 keeps the method and body), or `400` when the
/// request names no usable host. Then closes the connection.
async fn answer_plain_http(mut tcp: TcpStream, https_port: u16) {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    let answer = loop {
        match tcp.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(&buf) {
            Ok(httparse::Status::Complete(_)) => break redirect_answer(&req, https_port),
            Ok(httparse::Status::Partial) if buf.len() < PLAIN_REQUEST_HEAD_BYTES_MAX => continue,
            _ => break bad_request_answer(),
        }
    };
    let _ = tcp.write_all(answer.as_bytes()).await;
    let _ = tcp.shutdown().await;
}

fn redirect_answer(req: &httparse::Request<'_, '_>, https_port: u16) -> String {
    let host = req
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("host"))
        .and_then(|h| std::str::from_utf8(h.value).ok())
        .and_then(host_without_port);
    let path = req.path.filter(|p| p.starts_with('/')).unwrap_or("/");
    match host {
        Some(host) => {
            let authority = if https_port == 443 {
                host.to_string()
            } else {
                format!("{host}:{https_port}")
            };
            let location = format!("https://{authority}{path}");
            format!(
                "HTTP/1.1 308 Permanent Redirect\r\nLocation: {location}\r\nContent-Type: text/plain; charset=utf-8\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{location}\n",
                location.len() + 1
            )
        }
        None => bad_request_answer(),
    }
}

fn bad_request_answer() -> String {
    let body = "{\"code\":\"https_required\",\"message\":\"this port speaks HTTPS\"}";
    format!(
        "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    )
}

/// The host of a `Host` header without its port, when it is a plain DNS name, IPv4 address or
/// bracketed IPv6 address (nothing that could smuggle another header or a path).
fn host_without_port(value: &str) -> Option<&str> {
    let value = value.trim();
    let host = if let Some(rest) = value.strip_prefix('[') {
        let end = rest.find(']')?;
        &value[..end + 2]
    } else {
        value.split(':').next()?
    };
    let ok = !host.is_empty()
        && host.len() <= 253
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'[' | b']' | b':'));
    ok.then_some(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_of_a_redirect_is_checked() {
        assert_eq!(host_without_port("node.ast:8443"), Some("node.ast"));
        assert_eq!(host_without_port("10.1.2.3"), Some("10.1.2.3"));
        assert_eq!(host_without_port("[fd00::1]:8080"), Some("[fd00::1]"));
        assert_eq!(host_without_port("evil.com/x"), None);
        assert_eq!(host_without_port(""), None);
        assert_eq!(host_without_port("a b"), None);
    }

    #[test]
    fn plain_http_is_refused_off_loopback_and_half_a_key_pair_is_named() {
        let lan: SocketAddr = "10.0.0.5:8443".parse().unwrap();
        let err = WebMode::from_config(None, lan, "node.listen")
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("node.listen 10.0.0.5:8443") && err.contains("[https]"),
            "{err}"
        );
        assert!(matches!(
            WebMode::from_config(None, "127.0.0.1:8080".parse().unwrap(), "node.listen"),
            Ok(WebMode::Plain)
        ));
        let half = HttpsSection {
            enabled: true,
            cert: Some("web.crt".into()),
            key: None,
            redirect_listen: None,
            hsts_max_age_s: 1,
        };
        let err = WebMode::from_config(Some(&half), lan, "node.listen")
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("https.key"), "{err}");
        let off = HttpsSection {
            enabled: false,
            ..half
        };
        assert!(WebMode::from_config(Some(&off), lan, "node.listen").is_err());
    }

    #[test]
    fn a_missing_or_unreadable_key_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("web.crt");
        let key = dir.path().join("web.key");
        let err = server_config(&cert, &key).err().unwrap().to_string();
        assert!(err.contains("web.crt"), "{err}");
        let generated = rcgen::generate_simple_self_signed(vec!["node.test".into()]).unwrap();
        std::fs::write(&cert, generated.cert.pem()).unwrap();
        let err = server_config(&cert, &key).err().unwrap().to_string();
        assert!(
            err.contains("cannot read the HTTPS private key") && err.contains("web.key"),
            "{err}"
        );
        std::fs::write(&key, "not a key").unwrap();
        let err = server_config(&cert, &key).err().unwrap().to_string();
        assert!(err.contains("web.key"), "{err}");
        let other = rcgen::generate_simple_self_signed(vec!["other.test".into()]).unwrap();
        std::fs::write(&key, other.signing_key.serialize_pem()).unwrap();
        let err = server_config(&cert, &key).err().unwrap().to_string();
        assert!(err.contains("does not fit"), "{err}");
        std::fs::write(&key, generated.signing_key.serialize_pem()).unwrap();
        server_config(&cert, &key).unwrap();
    }
}
