//! Training mode (seed 001 p.28.4, staff training): a node started with `node.training` runs on
//! its own data directory, never dials the central hub it is configured with, never hands a
//! message to an outside channel, and marks every answer and page it serves.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use node::channels::{ChannelSender, Delivered, IncomingMessage, OutgoingMessage, SendError};
use node::config::{CentralSection, Config};
use node::server::{serve, ServeSettings};
use node::training::{training_data_dir, MARKER_FILE};
use provisioning::progress::Silent;
use rand::rngs::OsRng;
use sync::Channel;

const DEADLINE: Duration = Duration::from_secs(30);
/// How long the training node is watched for a datagram to the hub after it serves. The live
/// node of the same test sends its first QUIC Initial before it serves its first page, so a
/// training node that dialled would be caught well within this.
const NO_DIAL_WATCH: Duration = Duration::from_secs(1);

/// Region AST's bundle under `root/ast` (its `node.toml` names `[central]` and `[tls]`).
fn region_bundle(root: &Path) -> PathBuf {
    let ca = common::test_ca(root);
    let bundle = root.join("ast");
    provisioning::add_region(
        &ca,
        &bundle,
        &common::ast_region_settings(),
        time::OffsetDateTime::now_utc(),
        &mut OsRng,
        &mut Silent,
    )
    .unwrap();
    bundle
}

/// The bundle's configuration with the hub at `central` and plain HTTP on loopback.
fn config(bundle: &Path, central: SocketAddr, training: bool) -> Config {
    let overlay = node::bundle::check_region_bundle(bundle).unwrap();
    let mut c = Config::load_layers(&[overlay.as_path()]).unwrap();
    c.accounts.argon2_memory_kib = 1024;
    c.https = None;
    c.central = Some(CentralSection {
        address: central.to_string(),
    });
    c.node.training = training;
    c
}

/// A node served as `node serve --bundle` does, until the returned sender fires.
struct Served {
    base: String,
    stop: tokio::sync::oneshot::Sender<()>,
    done: tokio::task::JoinHandle<anyhow::Result<()>>,
}

async fn start(config: Config, data_dir: PathBuf, bundle: &Path) -> Served {
    let listen: SocketAddr = format!("127.0.0.1:{}", common::free_port())
        .parse()
        .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let settings = ServeSettings {
        data_dir,
        listen,
        admin_password: Some("admin-password-1".into()),
        bundle: Some(bundle.to_path_buf()),
    };
    let done = tokio::spawn(serve(config, settings, async move {
        let _ = stopped.await;
    }));
    let base = format!("http://{listen}");
    let url = format!("{base}/healthz");
    let started = std::time::Instant::now();
    while reqwest::get(&url).await.is_err() {
        if done.is_finished() {
            panic!("the node stopped: {:?}", done.await);
        }
        assert!(
            started.elapsed() < DEADLINE,
            "the node serves within {DEADLINE:?}"
        );
        tokio::time::sleep(common::POLL).await;
    }
    Served { base, stop, done }
}

impl Served {
    async fn stop(self) {
        let _ = self.stop.send(());
        self.done.await.unwrap().unwrap();
    }
}

/// What arrived at the stand-in hub within `within`, if anything.
async fn datagram(hub: &tokio::net::UdpSocket, within: Duration) -> Option<usize> {
    let mut buf = vec![0u8; 2048];
    tokio::time::timeout(within, hub.recv_from(&mut buf))
        .await
        .ok()
        .map(|r| r.unwrap().0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_training_node_never_dials_its_configured_central_and_keeps_its_own_data() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = region_bundle(dir.path());
    let live_dir = dir.path().join("data");

    // The control: a live node with the same bundle dials the hub it is configured with.
    let hub = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let live = start(
        config(&bundle, hub.local_addr().unwrap(), false),
        live_dir.clone(),
        &bundle,
    )
    .await;
    assert!(
        datagram(&hub, DEADLINE).await.is_some(),
        "the live node dials central"
    );
    let (s, body) = get(&live.base, "/healthz").await;
    assert_eq!((s, body["training"].as_bool()), (200, Some(false)));
    let console = reqwest::get(format!("{}/", live.base)).await.unwrap();
    assert!(console.headers().get(node::training::HEADER).is_none());
    assert!(!console
        .text()
        .await
        .unwrap()
        .contains(node::training::PAGE_MARKS));
    live.stop().await;

    // A training node refuses the live directory...
    let hub = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let training_config = config(&bundle, hub.local_addr().unwrap(), true);
    let err = refused_start(training_config.clone(), live_dir.clone(), &bundle).await;
    assert!(format!("{err:#}").contains("live node's data"), "{err:#}");
    assert!(!live_dir.join(MARKER_FILE).exists());

    // ...and runs on its own, beside it, which a live node then refuses in turn.
    let training_dir = training_data_dir(&live_dir);
    assert_ne!(training_dir, live_dir);
    let training = start(training_config, training_dir.clone(), &bundle).await;
    assert!(training_dir.join(MARKER_FILE).exists());
    let (s, body) = get(&training.base, "/healthz").await;
    assert_eq!((s, body["training"].as_bool()), (200, Some(true)));
    let metrics = reqwest::get(format!("{}/metrics", training.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.lines().any(|l| l == "node_training_mode 1"),
        "{metrics}"
    );
    // Every answer says so, and every page loads the banner.
    for path in [
        "/",
        "/citizen",
        "/citizen/appeal",
        "/widget/demo",
        "/healthz",
    ] {
        let resp = reqwest::get(format!("{}{path}", training.base))
            .await
            .unwrap();
        assert_eq!(
            resp.headers()
                .get(node::training::HEADER)
                .map(|v| v.to_str().unwrap()),
            Some("1"),
            "{path}"
        );
        let html = resp
            .headers()
            .get("content-type")
            .is_some_and(|v| v.to_str().unwrap().starts_with("text/html"));
        let body = resp.text().await.unwrap();
        assert_eq!(
            body.contains(node::training::PAGE_MARKS),
            html,
            "{path}: {body}"
        );
    }
    let (s, _) = get(&training.base, "/kit/training.js").await;
    assert_eq!(s, 200);

    assert_eq!(
        datagram(&hub, NO_DIAL_WATCH).await,
        None,
        "the training node dialled central"
    );
    training.stop().await;

    let err = refused_start(
        config(&bundle, hub.local_addr().unwrap(), false),
        training_dir,
        &bundle,
    )
    .await;
    assert!(format!("{err:#}").contains("--training"), "{err:#}");
}

/// `GET base+path`: the status and the body as JSON (a JSON string when it is not JSON).
async fn get(base: &str, path: &str) -> (u16, serde_json::Value) {
    let resp = reqwest::get(format!("{base}{path}")).await.unwrap();
    let status = resp.status().as_u16();
    (status, common::json_or_text(&resp.bytes().await.unwrap()))
}

/// A sender that counts what it is handed and delivers it.
struct Counting(Channel, AtomicUsize);

impl ChannelSender for Counting {
    fn channel(&self) -> Channel {
        self.0
    }
    fn send<'a>(
        &'a self,
        _message: &'a OutgoingMessage,
    ) -> BoxFuture<'a, Result<Delivered, SendError>> {
        self.1.fetch_add(1, Ordering::SeqCst);
        Box::pin(async { Ok(Delivered { external_id: None }) })
    }
}

/// An operator answers a Telegram conversation on a node with a Telegram sender registered:
/// how many messages the sender was handed once the outbox tried the answer. The training node
/// also starts with the demo address warnings, not an empty (or the real) registry.
async fn telegram_sends_after_an_answer(training: bool) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::api_node::test_config();
    // A region that keeps no demo data; its training node still gets the demo registry.
    config.node.sample_warnings = false;
    config.node.training = training;
    let data = if training {
        training_data_dir(&dir.path().join("data"))
    } else {
        dir.path().join("data")
    };
    let node = node::server::open_node(&config, &data, Some("admin-password-1".into()))
        .await
        .unwrap();
    assert_eq!(
        node.warnings.count().unwrap() > 0,
        training,
        "the demo address warnings"
    );
    let inbox = node.state.inbox.clone();
    let now = server_kit::clock::now_ms();
    let sender = Arc::new(Counting(Channel::Telegram, AtomicUsize::new(0)));
    inbox.outbox().register(sender.clone());
    let accepted = inbox
        .receive_message(IncomingMessage {
            channel: Channel::Telegram,
            address: "5550001".into(),
            external_id: "update-1".into(),
            in_reply_to: Vec::new(),
            sender_name: Some("Айгерим".into()),
            phone: None,
            email: None,
            text: "Соседи шумят третью ночь подряд".into(),
            location: None,
            attachments: Vec::new(),
            sent_at_ms: Some(now),
            received_at_ms: now,
        })
        .await
        .unwrap();
    let node::channels::Accepted::Stored {
        conversation_id, ..
    } = accepted
    else {
        panic!("not stored: {accepted:?}")
    };
    inbox.take(&conversation_id, "op1", now).await.unwrap();
    inbox
        .reply(&conversation_id, "op1", "Наряд направлен.", now)
        .await
        .unwrap();
    let outbox = inbox.outbox().clone();
    let sent = sender.clone();
    common::until(DEADLINE, "the outbox tried the answer", || {
        let (outbox, sent) = (outbox.clone(), sent.clone());
        async move {
            sent.1.load(Ordering::SeqCst) > 0
                || outbox.entries().unwrap().iter().any(|e| e.attempts > 0)
        }
    })
    .await;
    let count = sender.1.load(Ordering::SeqCst);
    if training {
        let entries = outbox.entries().unwrap();
        assert!(
            entries
                .iter()
                .all(|e| e.message.channel != Channel::Telegram || e.attempts > 0),
            "{entries:?}"
        );
        assert!(!entries.is_empty(), "the answer stays queued");
    }
    count
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_training_node_has_demo_data_and_its_outbox_holds_answers_for_outside_channels() {
    assert!(
        telegram_sends_after_an_answer(false).await > 0,
        "a live node sends"
    );
    assert_eq!(telegram_sends_after_an_answer(true).await, 0);
}

/// Starts `serve` on `data_dir`, which must refuse it before serving; its error.
async fn refused_start(config: Config, data_dir: PathBuf, bundle: &Path) -> anyhow::Error {
    serve(
        config,
        ServeSettings {
            data_dir,
            listen: format!("127.0.0.1:{}", common::free_port())
                .parse()
                .unwrap(),
            admin_password: None,
            bundle: Some(bundle.to_path_buf()),
        },
        async {},
    )
    .await
    .unwrap_err()
}
