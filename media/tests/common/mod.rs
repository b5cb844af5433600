//! What the media integration tests share: a server on loopback in a temporary directory, and
//! waiting for a condition with a deadline.
#![allow(dead_code)]

use std::future::Future;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use media::client::{HeadlessCitizen, HeadlessConfig, HeadlessOperator};
use media::{MediaConfig, MediaEvent, MediaServer};
use tokio::sync::broadcast;

/// How long any one condition in these tests may take on a busy 2-core machine.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// Port ranges handed out to the tests of one binary, so parallel tests never share ports.
static NEXT_PORT: AtomicU16 = AtomicU16::new(0);

/// A fresh port range of `count` ports for this test process. Bases are below 32768, outside
/// Linux's default ephemeral range, so the clients' own sockets never take the server's ports.
pub fn port_range(base: u16, count: u16) -> (u16, u16) {
    let start = base + NEXT_PORT.fetch_add(count, Ordering::Relaxed);
    (start, start + count - 1)
}

pub struct TestServer {
    pub server: Arc<MediaServer>,
    pub dir: tempfile::TempDir,
    /// The server's UDP port range.
    pub ports: std::ops::RangeInclusive<u16>,
}

pub async fn start_server(base_port: u16, ports: u16, ice_timeout_ms: u64) -> TestServer {
    let dir = tempfile::tempdir().expect("temp dir");
    let (min, max) = port_range(base_port, ports);
    let server = MediaServer::start(MediaConfig {
        udp_port_min: min,
        udp_port_max: max,
        recordings_dir: dir.path().join("recordings"),
        ice_connect_timeout_ms: ice_timeout_ms,
        recording_sync_interval_ms: 200,
        ..MediaConfig::default()
    })
    .await
    .expect("server starts");
    TestServer {
        server,
        dir,
        ports: min..=max,
    }
}

/// Awaits `condition` until it holds, failing the test with `what` after [`DEADLINE`].
pub async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Awaits the first event that `pick` accepts.
pub async fn next_event<T>(
    events: &mut broadcast::Receiver<MediaEvent>,
    mut pick: impl FnMut(&MediaEvent) -> Option<T>,
) -> T {
    let wait = async {
        loop {
            match events.recv().await {
                Ok(event) => {
                    if let Some(found) = pick(&event) {
                        return found;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => panic!("event stream closed"),
            }
        }
    };
    tokio::time::timeout(DEADLINE, wait)
        .await
        .expect("event within the deadline")
}

/// A citizen connected to `server` on `call_id`.
pub async fn connect_citizen(server: &MediaServer, call_id: &str, video: bool) -> HeadlessCitizen {
    let citizen = HeadlessCitizen::new(HeadlessConfig {
        video,
        ..HeadlessConfig::default()
    })
    .await
    .expect("citizen");
    let offer = citizen.offer().await.expect("citizen offer");
    let answer = server.citizen_offer(call_id, &offer).await.expect("answer");
    citizen.accept_answer(&answer).await.expect("apply answer");
    assert!(citizen.wait_connected(DEADLINE).await, "citizen connects");
    citizen
}

/// An operator connected to `server` on `call_id`.
pub async fn connect_operator(server: &MediaServer, call_id: &str) -> HeadlessOperator {
    let operator = HeadlessOperator::new(HeadlessConfig::default())
        .await
        .expect("operator");
    let offer = operator.offer().await.expect("operator offer");
    let answer = server
        .operator_offer(call_id, &offer)
        .await
        .expect("answer");
    operator.accept_answer(&answer).await.expect("apply answer");
    assert!(operator.wait_connected(DEADLINE).await, "operator connects");
    operator
}

pub fn run<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(future)
}
