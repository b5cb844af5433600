//! Legs that never connect are given up and their resources freed; the port range is honoured.

mod common;

use std::time::{Duration, Instant};

use common::*;
use media::client::{HeadlessCitizen, HeadlessConfig, HeadlessOperator};
use media::{Leg, MediaError, MediaEvent};

/// Test value of `ice_connect_timeout_ms`.
const ICE_TIMEOUT_MS: u64 = 600;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_citizen_that_never_connects_is_failed_and_released() {
    let test = start_server(23_000, 4, ICE_TIMEOUT_MS).await;
    let server = &test.server;
    let mut events = server.subscribe();
    let citizen = HeadlessCitizen::new(HeadlessConfig::default())
        .await
        .unwrap();
    let offer = citizen.offer().await.unwrap();
    let asked = Instant::now();
    let _answer_never_applied = server.citizen_offer("ghost", &offer).await.unwrap();
    assert_eq!(server.stats().ports_in_use, 1);

    let reason = next_event(&mut events, |e| match e {
        MediaEvent::Failed {
            call_id,
            leg: Leg::Citizen,
            reason,
        } if call_id == "ghost" => Some(reason.clone()),
        _ => None,
    })
    .await;
    let took = asked.elapsed();
    assert!(reason.contains("did not connect"), "{reason}");
    assert!(
        took >= Duration::from_millis(ICE_TIMEOUT_MS),
        "failed after {took:?}"
    );
    assert!(took < Duration::from_millis(ICE_TIMEOUT_MS) + DEADLINE);
    let stats = server.stats();
    assert_eq!(
        (stats.active_calls, stats.active_legs, stats.ports_in_use),
        (0, 0, 0)
    );
    // The call is over but its summary waits for hang_up, once.
    assert!(matches!(
        server.operator_offer("ghost", &offer).await,
        Err(MediaError::UnknownCall)
    ));
    assert!(matches!(
        server.citizen_offer("ghost", &offer).await,
        Err(MediaError::CallExists)
    ));
    let summary = server
        .hang_up("ghost")
        .await
        .expect("summary after failure");
    assert!(summary.files.is_empty());
    assert!(summary.dir.join("meta.json").exists());
    assert!(server.hang_up("ghost").await.is_none());
    citizen.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_that_never_connects_leaves_the_call_running() {
    let test = start_server(23_100, 4, ICE_TIMEOUT_MS).await;
    let server = &test.server;
    let mut events = server.subscribe();
    let citizen = connect_citizen(server, "call", false).await;
    let operator = HeadlessOperator::new(HeadlessConfig::default())
        .await
        .unwrap();
    let _ignored = server
        .operator_offer("call", &operator.offer().await.unwrap())
        .await
        .unwrap();
    assert_eq!(server.stats().active_legs, 2);
    next_event(&mut events, |e| {
        matches!(
            e,
            MediaEvent::Failed {
                leg: Leg::Operator,
                ..
            }
        )
        .then_some(())
    })
    .await;
    let stats = server.stats();
    assert_eq!(
        (stats.active_calls, stats.active_legs, stats.ports_in_use),
        (1, 1, 1)
    );
    // A new operator can still take the call.
    let operator = connect_operator(server, "call").await;
    eventually("the new operator hears the citizen", || {
        operator.stats().audio_packets_received > 5
    })
    .await;
    assert!(server.hang_up("call").await.is_some());
    citizen.close().await;
    operator.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_port_range_is_honoured_and_ports_are_reused() {
    let test = start_server(23_200, 2, 10_000).await;
    let server = &test.server;
    let ports = test.ports.clone();
    let mut offers = Vec::new();
    for _ in 0..3 {
        let citizen = HeadlessCitizen::new(HeadlessConfig::default())
            .await
            .unwrap();
        offers.push((citizen.offer().await.unwrap(), citizen));
    }
    for (i, (offer, citizen)) in offers.iter().take(2).enumerate() {
        let answer = server.citizen_offer(&format!("c{i}"), offer).await.unwrap();
        let port = host_candidate_port(&answer);
        assert!(
            ports.contains(&port),
            "answer announces port {port}, range {ports:?}"
        );
        citizen.accept_answer(&answer).await.unwrap();
        assert!(citizen.wait_connected(DEADLINE).await);
    }
    assert!(matches!(
        server.citizen_offer("c2", &offers[2].0).await,
        Err(MediaError::PortsExhausted)
    ));
    assert_eq!(server.stats().ports_in_use, 2);
    assert_eq!(server.stats().active_calls, 2);

    assert!(server.hang_up("c0").await.is_some());
    assert_eq!(server.stats().ports_in_use, 1);
    let answer = server
        .citizen_offer("c2", &offers[2].0)
        .await
        .expect("a released port is reused");
    assert!(ports.contains(&host_candidate_port(&answer)));
    offers[2].1.accept_answer(&answer).await.unwrap();
    assert!(offers[2].1.wait_connected(DEADLINE).await);
    eventually("media on the reused port", || {
        server.stats().bytes_recorded > 0
    })
    .await;
    for id in ["c1", "c2"] {
        assert!(server.hang_up(id).await.is_some());
    }
    assert_eq!(server.stats().ports_in_use, 0);
    for (_, citizen) in offers {
        citizen.close().await;
    }
}

/// The port of the first host candidate in an SDP.
fn host_candidate_port(sdp: &str) -> u16 {
    let line = sdp
        .lines()
        .find(|l| l.starts_with("a=candidate:") && l.contains("typ host"))
        .expect("a host candidate");
    line.split_whitespace().nth(5).unwrap().parse().unwrap()
}
