//! A whole call over real WebRTC on loopback: citizen with audio and video, an operator, media
//! both ways, a transfer to a second operator, and the recording read back from disk.

mod common;

use common::*;
use media::{inspect_recording, Leg, MediaEvent, MediaKind};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_flows_both_ways_and_is_recorded() {
    let test = start_server(21_000, 10, 10_000).await;
    let server = &test.server;
    let mut events = server.subscribe();

    let citizen = connect_citizen(server, "call-1", true).await;
    next_event(&mut events, |e| {
        matches!(
            e,
            MediaEvent::Connected {
                leg: Leg::Citizen,
                ..
            }
        )
        .then_some(())
    })
    .await;
    let operator = connect_operator(server, "call-1").await;

    eventually("operator hears and sees the citizen", || {
        let s = operator.stats();
        s.audio_bytes_received > 0 && s.video_frames_received > 0
    })
    .await;
    eventually("citizen hears the operator", || {
        citizen.stats().audio_bytes_received > 0
    })
    .await;
    eventually("the citizen was asked for a key frame", || {
        citizen.stats().keyframe_requests_received > 0
    })
    .await;
    eventually("a second of audio was relayed", || {
        operator.stats().audio_packets_received >= 50
    })
    .await;
    let stats = server.stats();
    assert_eq!(
        (stats.active_calls, stats.active_legs, stats.ports_in_use),
        (1, 2, 2)
    );
    assert!(stats.rtp_packets_relayed > 0);

    let summary = server.hang_up("call-1").await.expect("summary");
    citizen.close().await;
    operator.close().await;
    assert_eq!(summary.call_id, "call-1");
    assert!(summary.ended_at_ms >= summary.started_at_ms);
    assert_eq!(summary.recording_error, None);
    let names: Vec<&str> = summary.files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "citizen-audio.ogg",
            "citizen-video.ivf",
            "operator-audio.ogg"
        ]
    );
    for file in &summary.files {
        let path = summary.dir.join(&file.name);
        let info = inspect_recording(&path).expect("recording reads back");
        assert!(!info.truncated, "{} is complete", file.name);
        assert!(info.duration_ms > 0, "{} has a duration", file.name);
        assert_eq!(
            info.duration_ms, file.duration_ms,
            "{} duration matches meta",
            file.name
        );
        assert_eq!(
            info.packets, file.packets,
            "{} packets match meta",
            file.name
        );
        assert_eq!(std::fs::metadata(&path).unwrap().len(), file.bytes);
        let expect_kind = if file.name.ends_with(".ogg") {
            MediaKind::Audio
        } else {
            MediaKind::Video
        };
        assert_eq!(info.kind, expect_kind);
    }
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(summary.dir.join("meta.json")).unwrap()).unwrap();
    assert_eq!(meta["format"], "mvd102-recording");
    assert_eq!(meta["call_id"], "call-1");
    assert_eq!(meta["files"].as_array().unwrap().len(), 3);

    let stats = server.stats();
    assert_eq!(
        (stats.active_calls, stats.active_legs, stats.ports_in_use),
        (0, 0, 0)
    );
    assert!(server.hang_up("call-1").await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_reaches_the_second_operator() {
    let test = start_server(21_100, 10, 10_000).await;
    let server = &test.server;
    let citizen = connect_citizen(server, "transfer", true).await;
    let first = connect_operator(server, "transfer").await;
    eventually("first operator receives", || {
        first.stats().audio_packets_received > 10
    })
    .await;

    server.operator_leave("transfer").await.expect("leave");
    first.close().await;
    assert_eq!(server.stats().active_legs, 1);
    let heard_before = citizen.stats().audio_packets_received;
    assert!(heard_before > 0);

    let second = connect_operator(server, "transfer").await;
    eventually("second operator hears and sees the citizen", || {
        let s = second.stats();
        s.audio_packets_received > 10 && s.video_frames_received > 0
    })
    .await;
    eventually("citizen hears the second operator", || {
        citizen.stats().audio_packets_received > heard_before + 10
    })
    .await;
    // The second operator replaced the first: leaving again and an unknown leg are errors.
    server
        .operator_leave("transfer")
        .await
        .expect("second leaves");
    assert!(matches!(
        server.operator_leave("transfer").await,
        Err(media::MediaError::NoSuchLeg)
    ));
    let summary = server.hang_up("transfer").await.expect("summary");
    second.close().await;
    citizen.close().await;
    let operator_audio = summary
        .files
        .iter()
        .find(|f| f.name == "operator-audio.ogg")
        .expect("operator audio recorded across the transfer");
    assert!(operator_audio.duration_ms > 0);
    assert_eq!(server.stats().ports_in_use, 0);
}
