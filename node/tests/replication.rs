//! R20/R21: a region's node replicates to a hub over QUIC with mutual TLS, and HQ's edits flow
//! back into the node's card. The hub here is the protocol's in-memory repo behind a real quinn
//! server with the central's bundle, driven by the same `drive` loop the central will use.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use node::config::Config;
use node::replication::{drive, run_client, ClientSettings, DriveInputs, ReplicationStatus};
use node::server::{open_node, Node};
use provisioning::progress::Silent;
use provisioning::settings::{CentralName, CentralSettings, DnsName, ValidDays};
use rand::rngs::OsRng;
use sync::protocol::{Authority, Config as ProtocolConfig, MemRepo, Repo, Session};
use sync::{CardCommand, CardDoc, Document};
use time::OffsetDateTime;
use tokio::sync::{mpsc, watch};

const DEADLINE: Duration = Duration::from_secs(30);

fn bundles(root: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let ca = common::test_ca(root);
    let now = OffsetDateTime::now_utc();
    let region = root.join("ast");
    let rs = common::ast_region_settings();
    provisioning::add_region(&ca, &region, &rs, now, &mut OsRng, &mut Silent).unwrap();
    let central = root.join("central");
    let cs = CentralSettings::new(
        CentralName::parse("central").unwrap(),
        vec![DnsName::parse("localhost").unwrap()],
        vec![],
        ValidDays::for_peer(730).unwrap(),
    )
    .unwrap();
    provisioning::add_central(&ca, &central, &cs, now, &mut OsRng, &mut Silent).unwrap();
    (region, central)
}

/// Waits for `cond` with a deadline, re-checking whenever the hub reports progress.
async fn until(progress: &mut watch::Receiver<u64>, mut cond: impl FnMut() -> bool) {
    tokio::time::timeout(DEADLINE, async {
        while !cond() {
            progress.changed().await.unwrap();
        }
    })
    .await
    .expect("condition not reached before the deadline");
}

/// A node opened from its region bundle under `root/data`, replicating to `central_address`.
/// The stop sender is returned so that the client runs until the test ends.
async fn start_replicating_node(
    root: &std::path::Path,
    region_bundle: &std::path::Path,
    central_address: String,
) -> (Node, Arc<Mutex<ReplicationStatus>>, watch::Sender<bool>) {
    let overlay = node::bundle::check_region_bundle(region_bundle).unwrap();
    let mut config = Config::load_layers(&[overlay.as_path()]).unwrap();
    config.accounts.argon2_memory_kib = 1024;
    let node = open_node(&config, &root.join("data"), Some("admin-password-1".into()))
        .await
        .unwrap();
    let status = Arc::new(Mutex::new(ReplicationStatus::default()));
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(run_client(
        node.state.service.clone(),
        node.gc.clone(),
        provisioning::load_identity(region_bundle).unwrap(),
        ClientSettings {
            central_address,
            protocol: ProtocolConfig::default(),
        },
        status.clone(),
        stop_rx,
    ));
    (node, status, stop_tx)
}

/// An SOS video card at a known address, as an operator makes it.
fn sos_card() -> sync::CardCreate {
    serde_json::from_value(serde_json::json!({
        "channel": "sos_video", "location": {"lat": 51.128, "lon": 71.42, "address": "пр. Абая 52"},
        "description": "SOS", "category": "assault"
    }))
    .unwrap()
}

/// Waits up to `within` for `cond` on the node's replication status; the status has no change
/// notification, so it is re-read every 20 ms.
async fn status_until(
    status: &Mutex<ReplicationStatus>,
    within: Duration,
    cond: impl Fn(&ReplicationStatus) -> bool,
) -> Result<(), tokio::time::error::Elapsed> {
    tokio::time::timeout(within, async {
        while !cond(&status.lock().unwrap()) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r21_node_replicates_to_the_hub_and_hq_edits_flow_back() {
    let dir = tempfile::tempdir().unwrap();
    let (region_bundle, central_bundle) = bundles(dir.path());

    // The hub: a quinn server with the central's identity over an in-memory repo.
    let central_id = provisioning::load_identity(&central_bundle).unwrap();
    let server_cfg = provisioning::tls::quinn_server_config(&central_id, None).unwrap();
    let endpoint = quinn::Endpoint::server(server_cfg, "127.0.0.1:0".parse().unwrap()).unwrap();
    let hub_addr = endpoint.local_addr().unwrap();
    let hub = Arc::new(Mutex::new(MemRepo::new([9; 16])));
    let (hub_changes_tx, hub_changes_rx) = mpsc::channel::<String>(16);
    let (progress_tx, mut progress) = watch::channel(0u64);
    let (_hub_stop_tx, hub_stop) = watch::channel(false);
    let hub_task = {
        let hub = hub.clone();
        tokio::spawn(async move {
            let mut changes = hub_changes_rx;
            let mut stop = hub_stop;
            let conn = endpoint.accept().await.unwrap().await.unwrap();
            let region = provisioning::tls::peer_region(&conn).unwrap().unwrap();
            assert_eq!(
                region, "AST",
                "the hub takes the region from the certificate"
            );
            let (send, recv) = conn.accept_bi().await.unwrap();
            let session = {
                let mut repo = hub.lock().unwrap();
                Session::new(
                    ProtocolConfig::default(),
                    Authority::Central,
                    Authority::Region(region),
                    &mut *repo,
                    node::http::now_ms(),
                )
                .unwrap()
            };
            let mut n = 0u64;
            let inputs = DriveInputs {
                local_changes: &mut changes,
                shutdown: &mut stop,
                frame_bytes_max: ProtocolConfig::default().frame_bytes_max,
            };
            drive((send, recv), session, &*hub, inputs, |_| {
                n += 1;
                progress_tx.send_replace(n);
            })
            .await
        })
    };

    // The node, started from its bundle, connected to the hub.
    let (node, status, _stop_tx) = start_replicating_node(
        dir.path(),
        &region_bundle,
        format!("localhost:{}", hub_addr.port()),
    )
    .await;
    let service = node.state.service.clone();

    // A card made on the node reaches the hub.
    let input = sos_card();
    let card = service
        .create_card("op1", &input, node::http::now_ms())
        .await
        .unwrap();
    let doc_id = format!("AST/card/{}", card.id);
    let units_seen = |repo: &MemRepo| {
        repo.docs
            .keys()
            .filter(|k| k.starts_with("AST/unit/"))
            .count()
    };
    until(&mut progress, || {
        let r = hub.lock().unwrap();
        r.docs.contains_key(&doc_id) && units_seen(&r) == 11
    })
    .await;
    assert!(status.lock().unwrap().connected);

    // HQ adds a note on the hub; it replicates back into the node's card.
    {
        let mut r = hub.lock().unwrap();
        let doc = r.docs.get_mut(&doc_id).unwrap();
        let mut card_doc = CardDoc::wrap(
            doc.doc
                .fork()
                .with_actor(automerge::ActorId::from(vec![42u8; 16])),
        );
        card_doc
            .apply(
                &CardCommand::Note {
                    text: "HQ: keep us informed".into(),
                },
                service.reference(),
                &sync::Ctx::new("hq", "central", node::http::now_ms()),
            )
            .unwrap();
        doc.doc.merge(card_doc.automerge()).unwrap();
    }
    hub_changes_tx.send(doc_id.clone()).await.unwrap();
    tokio::time::timeout(DEADLINE, async {
        loop {
            let c = service.get_card(&card.id).unwrap();
            if c.timeline.iter().any(|e| e.text == "HQ: keep us informed") {
                break;
            }
            let _ = progress.changed().await;
        }
    })
    .await
    .expect("the HQ note reached the node");

    // Both sides hold the same heads for the card.
    let node_heads = service
        .replica_heads(&sync::DocId::new("AST", sync::DocKind::Card, &card.id).unwrap())
        .unwrap()
        .unwrap()
        .1;
    let hub_heads = hub.lock().unwrap().heads(&doc_id).unwrap();
    assert_eq!(node_heads, hub_heads);
    hub_task.abort();
}

/// Writes one length-prefixed frame, as `drive` does.
async fn write_frame(send: &mut quinn::SendStream, frame: &[u8]) {
    send.write_all(&(frame.len() as u32).to_be_bytes())
        .await
        .unwrap();
    send.write_all(frame).await.unwrap();
}

/// Reads one length-prefixed frame; `None` when the stream ends.
async fn read_frame(recv: &mut quinn::RecvStream) -> Option<Vec<u8>> {
    let mut len = [0u8; 4];
    recv.read_exact(&mut len).await.ok()?;
    let mut buf = vec![0u8; u32::from_be_bytes(len) as usize];
    recv.read_exact(&mut buf).await.ok()?;
    Some(buf)
}

/// A hub that answers the node's Hello and then reads the node's documents and drops them, so
/// nothing the node sends is ever acknowledged. With `pings` it sends keep-alives every second
/// (the link is up, frames flow, nothing moves); without, nothing at all (a silent link).
async fn mute_hub(conn: quinn::Connection, pings: bool) {
    let Ok((mut send, mut recv)) = conn.accept_bi().await else {
        return;
    };
    let config = ProtocolConfig {
        keepalive_interval_ms: 1_000,
        idle_timeout_ms: 600_000,
        ..ProtocolConfig::default()
    };
    let mut repo = MemRepo::new([7; 16]);
    let mut session = Session::new(
        config,
        Authority::Central,
        Authority::Region("AST".into()),
        &mut repo,
        node::http::now_ms(),
    )
    .unwrap();
    let Some(hello) = read_frame(&mut recv).await else {
        return;
    };
    session
        .handle_frame(&mut repo, &hello, node::http::now_ms())
        .unwrap();
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        while let Some(f) = session.poll_transmit() {
            write_frame(&mut send, &f).await;
        }
        tokio::select! {
            frame = read_frame(&mut recv) => if frame.is_none() { return },
            _ = tick.tick(), if pings => {
                if session.handle_timeout(node::http::now_ms()).is_err() {
                    return;
                }
            }
        }
    }
}

/// The safety net: a link that is open, carries frames, and moves no data while the
/// node has changes pending is left, and the node reconnects, within 10 s. The first connection
/// goes to a hub that never acknowledges; the next one to a working hub, which gets the card.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_link_is_left_and_the_node_reconnects_within_10_s() {
    /// Stall detection (≤ 10 s) plus a reconnect and a sync, with room for a loaded machine.
    const RECOVERED_WITHIN: Duration = Duration::from_secs(15);
    let dir = tempfile::tempdir().unwrap();
    let (region_bundle, central_bundle) = bundles(dir.path());
    let central_id = provisioning::load_identity(&central_bundle).unwrap();
    let server_cfg = provisioning::tls::quinn_server_config(&central_id, None).unwrap();
    let endpoint = quinn::Endpoint::server(server_cfg, "127.0.0.1:0".parse().unwrap()).unwrap();
    let hub_addr = endpoint.local_addr().unwrap();
    let hub = Arc::new(Mutex::new(MemRepo::new([9; 16])));
    let (progress_tx, mut progress) = watch::channel(0u64);
    let (_hub_stop_tx, hub_stop) = watch::channel(false);
    let hub_task = {
        let hub = hub.clone();
        tokio::spawn(async move {
            let first = endpoint.accept().await.unwrap().await.unwrap();
            tokio::spawn(mute_hub(first, true));
            let conn = endpoint.accept().await.unwrap().await.unwrap();
            let (send, recv) = conn.accept_bi().await.unwrap();
            let session = {
                let mut repo = hub.lock().unwrap();
                Session::new(
                    ProtocolConfig::default(),
                    Authority::Central,
                    Authority::Region("AST".into()),
                    &mut *repo,
                    node::http::now_ms(),
                )
                .unwrap()
            };
            let (_changes_tx, mut changes) = mpsc::channel::<String>(16);
            let mut stop = hub_stop;
            let mut n = 0u64;
            let inputs = DriveInputs {
                local_changes: &mut changes,
                shutdown: &mut stop,
                frame_bytes_max: ProtocolConfig::default().frame_bytes_max,
            };
            drive((send, recv), session, &*hub, inputs, |_| {
                n += 1;
                progress_tx.send_replace(n);
            })
            .await
        })
    };

    let (node, status, _stop_tx) = start_replicating_node(
        dir.path(),
        &region_bundle,
        format!("localhost:{}", hub_addr.port()),
    )
    .await;
    let service = node.state.service.clone();
    // Connected to the mute hub.
    status_until(&status, DEADLINE, |s| s.connected)
        .await
        .expect("the node connected");
    let input = sos_card();
    let created = std::time::Instant::now();
    let card = service
        .create_card("op1", &input, node::http::now_ms())
        .await
        .unwrap();
    let doc_id = format!("AST/card/{}", card.id);
    tokio::time::timeout(RECOVERED_WITHIN, async {
        while !hub.lock().unwrap().docs.contains_key(&doc_id) {
            let _ = progress.changed().await;
        }
    })
    .await
    .unwrap_or_else(|_| {
        panic!(
            "the card did not reach a working hub within {RECOVERED_WITHIN:?} of its creation: {:?}",
            status.lock().unwrap()
        )
    });
    println!(
        "card at the working hub {} ms after its creation",
        created.elapsed().as_millis()
    );
    // The hub holds the card before its Ack reaches the node, which then clears the stall.
    status_until(&status, DEADLINE, |s| !s.stalled)
        .await
        .unwrap_or_else(|_| panic!("still stalled: {:?}", status.lock().unwrap()));
    let after = status.lock().unwrap().clone();
    assert_eq!(after.connections, 2);
    // Reported (and counted), and over once the new connection moved the card.
    assert_eq!(after.stalls, 1, "{after:?}");
    assert!(!after.stalled, "{after:?}");
    let metrics = node
        .state
        .metrics
        .render(&node.state.service, &after, &node.state.calls);
    assert!(
        metrics.contains("node_replication_stalls_total{peer=\"central\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("node_replication_stalled{peer=\"central\"} 0"),
        "{metrics}"
    );
    hub_task.abort();
}

/// A link that goes silent (the hub answers the Hello, then sends nothing and acknowledges
/// nothing) while the node has a change pending is reported stalled within 10 s, in the
/// status and in `/metrics`, and kept: a silent link is left to the idle timeouts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_link_with_changes_pending_is_reported_stalled_within_10_s() {
    const REPORTED_WITHIN: Duration = Duration::from_secs(10);
    let dir = tempfile::tempdir().unwrap();
    let (region_bundle, central_bundle) = bundles(dir.path());
    let central_id = provisioning::load_identity(&central_bundle).unwrap();
    let server_cfg = provisioning::tls::quinn_server_config(&central_id, None).unwrap();
    let endpoint = quinn::Endpoint::server(server_cfg, "127.0.0.1:0".parse().unwrap()).unwrap();
    let hub_addr = endpoint.local_addr().unwrap();
    let hub_task = tokio::spawn(async move {
        let conn = endpoint.accept().await.unwrap().await.unwrap();
        mute_hub(conn, false).await;
    });
    let (node, status, _stop_tx) = start_replicating_node(
        dir.path(),
        &region_bundle,
        format!("localhost:{}", hub_addr.port()),
    )
    .await;
    let service = node.state.service.clone();
    status_until(&status, DEADLINE, |s| s.connected)
        .await
        .expect("the node connected");
    let input = sos_card();
    let created = std::time::Instant::now();
    service
        .create_card("op1", &input, node::http::now_ms())
        .await
        .unwrap();
    status_until(&status, REPORTED_WITHIN, |s| s.stalled)
        .await
        .unwrap_or_else(|_| {
            panic!(
                "not reported stalled within {REPORTED_WITHIN:?}: {:?}",
                status.lock().unwrap()
            )
        });
    println!(
        "reported stalled {} ms after the change",
        created.elapsed().as_millis()
    );
    let now = status.lock().unwrap().clone();
    assert_eq!((now.stalls, now.connections), (1, 1), "{now:?}");
    assert!(now.connected && now.stalled_since_ms.is_some(), "{now:?}");
    let metrics = node
        .state
        .metrics
        .render(&node.state.service, &now, &node.state.calls);
    assert!(
        metrics.contains("node_replication_stalled{peer=\"central\"} 1"),
        "{metrics}"
    );
    hub_task.abort();
}

/// A handshake started while the hub is unreachable gives up after
/// `HANDSHAKE_TIMEOUT_MS`, so that the next attempt (after the capped back-off) goes out soon
/// after the link returns, instead of QUIC's own Initial retransmissions backing off to the
/// 30 s idle timeout. The "hub" here is a UDP socket that swallows every packet.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handshake_into_a_black_hole_gives_up_after_the_handshake_timeout() {
    let margin = Duration::from_secs(2);
    let limit = Duration::from_millis(node::replication::HANDSHAKE_TIMEOUT_MS) + margin;
    let dir = tempfile::tempdir().unwrap();
    let (region_bundle, _central_bundle) = bundles(dir.path());
    let black_hole = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = black_hole.local_addr().unwrap().port();
    // One address: `localhost` may also name ::1, a second attempt.
    let (_node, status, _stop_tx) =
        start_replicating_node(dir.path(), &region_bundle, format!("127.0.0.1:{port}")).await;
    let started = std::time::Instant::now();
    status_until(&status, limit, |s| s.last_error.is_some())
        .await
        .unwrap_or_else(|_| panic!("the first handshake was still waiting after {limit:?}"));
    println!(
        "gave up after {} ms: {:?}",
        started.elapsed().as_millis(),
        status.lock().unwrap().last_error
    );
    drop(black_hole);
}
