//! Offers and requests the server must refuse with the right error, without panicking and
//! without keeping anything open.

mod common;

use common::*;
use media::client::{HeadlessCitizen, HeadlessConfig};
use media::limits::{CALL_ID_CHARS_MAX, ICE_CANDIDATE_BYTES_MAX, SDP_BYTES_MAX};
use media::{Leg, MediaError};

const PCMU_ONLY: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendrecv\r\na=rtpmap:0 PCMU/8000\r\n";

/// A real browser-like offer from the headless citizen with its VP8 swapped for H264.
async fn h264_offer() -> String {
    let citizen = HeadlessCitizen::new(HeadlessConfig {
        video: true,
        ..HeadlessConfig::default()
    })
    .await
    .unwrap();
    let offer = citizen.offer().await.unwrap();
    citizen.close().await;
    offer.replace("VP8/90000", "H264/90000")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_offers_get_the_right_error() {
    let test = start_server(22_000, 4, 10_000).await;
    let server = &test.server;
    let good = {
        let citizen = HeadlessCitizen::new(HeadlessConfig::default())
            .await
            .unwrap();
        let offer = citizen.offer().await.unwrap();
        citizen.close().await;
        offer
    };

    let check = |result: Result<String, MediaError>, expect: &str| {
        let err = result.expect_err(expect);
        let debug = format!("{err:?}");
        assert!(
            debug.starts_with(expect),
            "expected {expect}, got {debug}: {err}"
        );
    };
    check(server.citizen_offer("c1", "").await, "MalformedSdp");
    check(
        server.citizen_offer("c1", "not sdp at all").await,
        "MalformedSdp",
    );
    check(
        server.citizen_offer("c1", "v=0\r\nm=bogus\r\n").await,
        "MalformedSdp",
    );
    let no_fingerprint: String = good
        .lines()
        .filter(|line| !line.starts_with("a=fingerprint"))
        .map(|line| format!("{line}\r\n"))
        .collect();
    check(
        server.citizen_offer("c1", &no_fingerprint).await,
        "MalformedSdp",
    );
    check(
        server.citizen_offer("c1", PCMU_ONLY).await,
        "UnsupportedCodecs",
    );
    let pcmu = good.replace("opus/48000/2", "PCMU/8000");
    check(server.citizen_offer("c1", &pcmu).await, "UnsupportedCodecs");
    check(
        server.citizen_offer("c1", &h264_offer().await).await,
        "UnsupportedCodecs",
    );
    check(
        server
            .citizen_offer("c1", &"a".repeat(SDP_BYTES_MAX + 1))
            .await,
        "SdpTooLarge",
    );
    for bad_id in [
        "",
        "../etc",
        "a/b",
        "call 1",
        "звонок",
        &"x".repeat(CALL_ID_CHARS_MAX + 1),
    ] {
        check(server.citizen_offer(bad_id, &good).await, "InvalidCallId");
    }
    check(server.operator_offer("nobody", &good).await, "UnknownCall");
    assert!(matches!(
        server.operator_leave("nobody").await,
        Err(MediaError::UnknownCall)
    ));
    assert!(server.hang_up("nobody").await.is_none());
    assert!(server.hang_up("../etc").await.is_none());
    assert!(matches!(
        server
            .add_remote_candidate("nobody", Leg::Citizen, "{\"candidate\":\"\"}")
            .await,
        Err(MediaError::UnknownCall)
    ));
    // Nothing of the refused offers stayed behind.
    let stats = server.stats();
    assert_eq!(
        (stats.active_calls, stats.active_legs, stats.ports_in_use),
        (0, 0, 0)
    );
    assert!(std::fs::read_dir(test.dir.path().join("recordings"))
        .unwrap()
        .next()
        .is_none());

    // A real call: duplicate ids and bad candidates are refused, the call is unharmed.
    let citizen = connect_citizen(server, "c1", false).await;
    check(server.citizen_offer("c1", &good).await, "CallExists");
    let candidate_check = |result: Result<(), MediaError>, expect: &str| {
        let debug = format!("{:?}", result.expect_err(expect));
        assert!(debug.starts_with(expect), "expected {expect}, got {debug}");
    };
    candidate_check(
        server
            .add_remote_candidate("c1", Leg::Citizen, "not json")
            .await,
        "MalformedSdp",
    );
    candidate_check(
        server
            .add_remote_candidate(
                "c1",
                Leg::Citizen,
                r#"{"candidate":"candidate:garbage","sdpMid":"0","sdpMLineIndex":0}"#,
            )
            .await,
        "MalformedSdp",
    );
    candidate_check(
        server
            .add_remote_candidate("c1", Leg::Citizen, &"x".repeat(ICE_CANDIDATE_BYTES_MAX + 1))
            .await,
        "CandidateTooLarge",
    );
    candidate_check(
        server
            .add_remote_candidate("c1", Leg::Operator, r#"{"candidate":"","sdpMid":"0"}"#)
            .await,
        "NoSuchLeg",
    );
    server
        .add_remote_candidate(
            "c1",
            Leg::Citizen,
            r#"{"candidate":"candidate:1 1 udp 2130706431 127.0.0.1 9 typ host","sdpMid":"0","sdpMLineIndex":0}"#,
        )
        .await
        .expect("a well-formed candidate is taken");
    eventually("the call still relays", || {
        server.stats().recording_packets_dropped == 0 && citizen.stats().audio_packets_sent > 5
    })
    .await;
    assert!(server.hang_up("c1").await.is_some());
    citizen.close().await;
}
