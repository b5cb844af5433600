//! The QUIC listener field terminals dial (ALPN `mvd102-field`, mutual TLS with unit
//! certificates checked against the CA and its revocation list during the handshake; the unit
//! comes from the certificate only). Each connection runs the same replication session as the
//! link to the hub, with the unit's authority: only the unit's field documents travel.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use server_kit::replication::{
    drive, network_protocol_config, DriveInputs, LOCAL_CHANGES_BUFFERED_MAX,
};
use sync::field::field_doc_prefix;
use sync::protocol::{Authority, Session};
use tokio::sync::{mpsc, watch};

use crate::live::LiveEvent;
use crate::replication::NodeRepo;
use crate::service::CardService;
use crate::store::GroupCommit;

/// Most terminals connected at once; more are refused at the QUIC level until one leaves.
pub const FIELD_CONNECTIONS_MAX: usize = 2_000;

/// How often the node looks whether the revocation list file was replaced, seconds: a terminal
/// revoked at HQ is refused at its next handshake without restarting the node.
pub const CRL_RECHECK_S: u64 = 30;

/// The listener's TLS config with the revocation list read from `crl_path` now.
fn server_config(
    identity: &provisioning::Identity,
    crl_path: Option<&Path>,
) -> anyhow::Result<quinn::ServerConfig> {
    let crl = match crl_path {
        Some(p) => Some(
            provisioning::tls::read_crl(p)
                .with_context(|| format!("field.crl {} cannot be read", p.display()))?,
        ),
        None => None,
    };
    provisioning::tls::quinn_field_server_config(identity, crl.as_ref())
        .context("the field listener's TLS config")
}

/// Binds the field listener; the returned address is where terminals dial.
pub fn bind(
    listen: SocketAddr,
    identity: &provisioning::Identity,
    crl_path: Option<&Path>,
) -> anyhow::Result<quinn::Endpoint> {
    quinn::Endpoint::server(server_config(identity, crl_path)?, listen)
        .with_context(|| format!("field.listen: cannot listen on {listen} (UDP)"))
}

/// Applies a replaced revocation list to new handshakes (see
/// [`server_kit::replication::watch_crl`]); the node rechecks every [`CRL_RECHECK_S`].
pub async fn watch_crl(
    endpoint: quinn::Endpoint,
    identity: provisioning::Identity,
    crl_path: std::path::PathBuf,
    recheck: std::time::Duration,
    shutdown: watch::Receiver<bool>,
) {
    server_kit::replication::watch_crl(
        endpoint,
        crl_path,
        recheck,
        shutdown,
        "field terminals",
        move |path| server_config(&identity, Some(path)),
    )
    .await
}

/// Accepts terminals until `shutdown`.
pub async fn serve(
    endpoint: quinn::Endpoint,
    service: Arc<CardService>,
    gc: Arc<GroupCommit>,
    mut shutdown: watch::Receiver<bool>,
) {
    let region = service.region().to_string();
    let active = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    loop {
        let incoming = tokio::select! {
            i = endpoint.accept() => match i { Some(i) => i, None => return },
            _ = shutdown.wait_for(|s| *s) => { endpoint.close(0u32.into(), b"node shutting down"); return; }
        };
        if active.load(std::sync::atomic::Ordering::Relaxed) >= FIELD_CONNECTIONS_MAX {
            incoming.refuse();
            continue;
        }
        // A repo per connection (it holds no state of its own): a shared one would serialise
        // every terminal's imports, each waiting for its flush under the lock.
        let repo = Arc::new(Mutex::new(NodeRepo::new(service.clone(), gc.clone())));
        let (service, shutdown, region, active) = (
            service.clone(),
            shutdown.clone(),
            region.clone(),
            active.clone(),
        );
        tokio::spawn(async move {
            active.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if let Err(e) = connection(incoming, service, repo, shutdown, &region).await {
                tracing::info!(error = %e, "a field terminal's connection ended");
            }
            active.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        });
    }
}

async fn connection(
    incoming: quinn::Incoming,
    service: Arc<CardService>,
    repo: Arc<Mutex<NodeRepo>>,
    mut shutdown: watch::Receiver<bool>,
    region: &str,
) -> anyhow::Result<()> {
    let conn = incoming.await.context("handshake")?;
    let (cert_region, unit) = provisioning::tls::peer_unit(&conn).context("unit certificate")?;
    if cert_region != region || !service.has_unit(&unit) {
        conn.close(1u32.into(), b"unit not configured on this node");
        anyhow::bail!("unit {cert_region}:{unit} is not configured on this node");
    }
    let (send, recv) = conn.accept_bi().await.context("stream")?;
    let mut events = service.subscribe();
    let (tx, mut rx) = mpsc::channel(LOCAL_CHANGES_BUFFERED_MAX);
    let prefix = field_doc_prefix(region, &unit);
    let forwarder = tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(LiveEvent::Field { doc_id, .. }) if doc_id.starts_with(&prefix) => {
                    let _ = tx.try_send(doc_id);
                }
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(_) => return,
            }
        }
    });
    let protocol = network_protocol_config();
    let session = {
        let mut guard = repo.lock().unwrap_or_else(|p| p.into_inner());
        tokio::task::block_in_place(|| {
            Session::new(
                protocol.clone(),
                Authority::Region(region.to_string()),
                Authority::Unit {
                    region: region.to_string(),
                    unit: unit.clone(),
                },
                &mut *guard,
                server_kit::clock::now_ms(),
            )
        })?
    };
    tracing::info!(unit, "a field terminal connected");
    let outcome = drive(
        (send, recv),
        session,
        &*repo,
        DriveInputs {
            local_changes: &mut rx,
            shutdown: &mut shutdown,
            frame_bytes_max: protocol.frame_bytes_max,
        },
        |ev| {
            if let sync::protocol::Event::RejectedIncoming { doc_id, reason, .. } = ev {
                tracing::warn!(
                    unit,
                    doc_id,
                    ?reason,
                    "refused a document a field terminal sent"
                );
            }
        },
    )
    .await;
    forwarder.abort();
    match outcome.error {
        Some(e) if !e.is_peer_close() => Err(e.into()),
        _ => Ok(()),
    }
}
