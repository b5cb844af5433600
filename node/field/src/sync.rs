//! The terminal's link to its region's node: QUIC with the unit certificate (ALPN
//! `mvd102-field`), one bidirectional stream driven by the kit's replication shell over the
//! unit's repo, `Authority::Unit` paired with the node's `Authority::Region`. Reconnects with
//! the node's own backoff schedule. Runs only during a shift (the store needs the data key).
//!
//! A handshake the node refuses because the unit's certificate is revoked raises
//! [`Alarm::Revoked`] (the terminal wipes its data) and stops; an expired certificate raises
//! [`Alarm::CertificateExpired`] and keeps retrying at the longest backoff (a new bundle or a
//! corrected clock makes it work again).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use server_kit::clock::now_ms;
use server_kit::replication::{
    drive, network_protocol_config, reconnect_delay_ms, DriveInputs, HANDSHAKE_TIMEOUT_MS,
    RECONNECT_DELAY_MS_MAX, RECONNECT_RESET_AFTER_MS,
};
use sync::protocol::{Authority, Config as ProtocolConfig, Event, Session};
use tokio::sync::watch;

use crate::app::{Alarm, LinkPhase, LinkState, Uplink, UplinkContext};
use crate::repo::TerminalRepo;

/// Where the node is and who the terminal is.
#[derive(Clone)]
pub struct QuicUplink {
    /// `host:port` of the node's field listener (`terminal.toml` `[node] address`).
    pub address: String,
    /// The name on the node's certificate (`[node] server_name`).
    pub server_name: String,
    pub client: quinn::ClientConfig,
    pub protocol: ProtocolConfig,
}

impl QuicUplink {
    /// The uplink of a unit bundle's identity.
    pub fn new(
        address: &str,
        server_name: &str,
        identity: &provisioning::Identity,
    ) -> Result<QuicUplink, String> {
        let client =
            provisioning::tls::quinn_field_client_config(identity).map_err(|e| e.to_string())?;
        Ok(QuicUplink {
            address: address.to_string(),
            server_name: server_name.to_string(),
            client,
            protocol: network_protocol_config(),
        })
    }
}

impl Uplink for QuicUplink {
    fn start(&self, ctx: UplinkContext) -> tokio::task::JoinHandle<()> {
        tokio::spawn(run(self.clone(), ctx))
    }
}

/// How one connection ended.
#[derive(Debug)]
enum Ended {
    /// Closed normally, or failed for a reason worth retrying.
    Retry(String),
    /// The node refused the unit's certificate as revoked.
    Revoked,
    /// The node refused the unit's certificate as expired.
    Expired,
}

fn classify(e: &quinn::ConnectionError) -> Option<Ended> {
    if provisioning::tls::is_certificate_revoked(e) {
        Some(Ended::Revoked)
    } else if provisioning::tls::is_certificate_expired(e) {
        Some(Ended::Expired)
    } else {
        None
    }
}

fn set(link: &Mutex<LinkState>, f: impl FnOnce(&mut LinkState)) {
    f(&mut link.lock().unwrap_or_else(|p| p.into_inner()))
}

async fn run(uplink: QuicUplink, ctx: UplinkContext) {
    let UplinkContext {
        repo,
        unit,
        mut changes,
        mut stop,
        link,
        alarms,
    } = ctx;
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::from_entropy();
    let mut failures = 0u32;
    loop {
        if *stop.borrow() {
            break;
        }
        let started = std::time::Instant::now();
        let ended = connect_once(
            &uplink,
            &unit.region,
            &unit.unit,
            &repo,
            &link,
            &mut changes,
            &mut stop,
        )
        .await;
        set(&link, |l| l.phase = LinkPhase::Offline);
        let mut delay_ms = None;
        match ended {
            Ended::Revoked => {
                set(&link, |l| l.last_error = Some("certificate revoked".into()));
                let _ = alarms.send(Alarm::Revoked).await;
                break;
            }
            Ended::Expired => {
                set(&link, |l| l.last_error = Some("certificate expired".into()));
                let _ = alarms.send(Alarm::CertificateExpired).await;
                delay_ms = Some(RECONNECT_DELAY_MS_MAX);
            }
            Ended::Retry(why) => {
                tracing::info!(reason = %why, node = %uplink.address, "no link to the node; will retry");
                set(&link, |l| l.last_error = Some(why));
            }
        }
        if *stop.borrow() {
            break;
        }
        if started.elapsed() > Duration::from_millis(RECONNECT_RESET_AFTER_MS) {
            failures = 0;
        }
        let wait = delay_ms.unwrap_or_else(|| reconnect_delay_ms(failures, &mut rng));
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(wait)) => {}
            _ = stop.wait_for(|s| *s) => break,
        }
        failures = failures.saturating_add(1);
    }
    set(&link, |l| l.phase = LinkPhase::Idle);
}

async fn connect_once(
    uplink: &QuicUplink,
    region: &str,
    unit: &str,
    repo: &Arc<Mutex<TerminalRepo>>,
    link: &Arc<Mutex<LinkState>>,
    changes: &mut tokio::sync::mpsc::Receiver<String>,
    stop: &mut watch::Receiver<bool>,
) -> Ended {
    let addrs: Vec<std::net::SocketAddr> = match tokio::net::lookup_host(&uplink.address).await {
        Ok(a) => a.collect(),
        Err(e) => return Ended::Retry(format!("cannot resolve {}: {e}", uplink.address)),
    };
    let mut last = format!("{} resolves to no address", uplink.address);
    let mut connected = None;
    for addr in addrs {
        let bind: std::net::SocketAddr = if addr.is_ipv6() {
            "[::]:0"
        } else {
            "0.0.0.0:0"
        }
        .parse()
        .expect("a constant address");
        let mut endpoint = match quinn::Endpoint::client(bind) {
            Ok(e) => e,
            Err(e) => return Ended::Retry(format!("endpoint: {e}")),
        };
        endpoint.set_default_client_config(uplink.client.clone());
        let connecting = match endpoint.connect(addr, &uplink.server_name) {
            Ok(c) => c,
            Err(e) => {
                last = format!("connect to {addr}: {e}");
                continue;
            }
        };
        match tokio::time::timeout(Duration::from_millis(HANDSHAKE_TIMEOUT_MS), connecting).await {
            Ok(Ok(conn)) => {
                connected = Some((endpoint, conn));
                break;
            }
            Ok(Err(e)) => {
                if let Some(refused) = classify(&e) {
                    return refused;
                }
                last = format!("handshake with {addr}: {e}");
            }
            Err(_) => {
                last = format!("handshake with {addr}: no answer within {HANDSHAKE_TIMEOUT_MS} ms")
            }
        }
    }
    let Some((endpoint, conn)) = connected else {
        return Ended::Retry(last);
    };
    // In TLS 1.3 the node checks the terminal's certificate after the client's handshake is
    // done: a refusal arrives as the connection's close.
    let streams = tokio::select! {
        s = conn.open_bi() => s,
        e = conn.closed() => Err(e),
    };
    let (send, recv) = match streams {
        Ok(s) => s,
        Err(e) => {
            endpoint.close(0u32.into(), b"");
            return classify(&e).unwrap_or_else(|| Ended::Retry(format!("stream: {e}")));
        }
    };
    let protocol = uplink.protocol.clone();
    let session = {
        let mut guard = repo.lock().unwrap_or_else(|p| p.into_inner());
        tokio::task::block_in_place(|| {
            Session::new(
                protocol.clone(),
                Authority::Unit {
                    region: region.to_string(),
                    unit: unit.to_string(),
                },
                Authority::Region(region.to_string()),
                &mut *guard,
                now_ms(),
            )
        })
    };
    let session = match session {
        Ok(s) => s,
        Err(e) => return Ended::Retry(format!("session: {e}")),
    };
    let link_events = link.clone();
    let outcome = drive(
        (send, recv),
        session,
        &**repo,
        DriveInputs {
            local_changes: changes,
            shutdown: stop,
            frame_bytes_max: protocol.frame_bytes_max,
        },
        |ev| {
            let now = now_ms();
            set(&link_events, |l| {
                if !matches!(ev, Event::Stalled { .. }) {
                    l.last_sync_ms = Some(now);
                }
                match ev {
                    Event::Opened { .. } | Event::DocChanged { .. } | Event::Unstalled => {
                        l.phase = LinkPhase::Syncing;
                        l.last_error = None;
                    }
                    Event::PushComplete => l.phase = LinkPhase::Synced,
                    _ => {}
                }
            });
            match ev {
                Event::Opened { version, .. } => {
                    tracing::info!(version, "syncing with the node")
                }
                Event::RejectedByPeer { doc_id, reason } => {
                    tracing::warn!(doc_id, ?reason, "the node refused a document")
                }
                Event::RejectedIncoming { doc_id, reason, .. } => {
                    tracing::warn!(doc_id, ?reason, "refused a document from the node")
                }
                _ => {}
            }
        },
    )
    .await;
    let refused = conn.close_reason().as_ref().and_then(classify);
    conn.close(0u32.into(), b"bye");
    endpoint.wait_idle().await;
    if let Some(refused) = refused {
        return refused;
    }
    match outcome.error {
        Some(e) => Ended::Retry(e.to_string()),
        None => Ended::Retry("the connection closed".into()),
    }
}
