//! A recording that cannot be written (here: the kernel's file size limit, `RLIMIT_FSIZE`, which
//! fails writes with EFBIG the way a full disk fails them with ENOSPC) stops with an event while
//! the call goes on. Alone in its binary because the limit applies to the whole process.

mod common;

use common::*;
use media::{Leg, MediaEvent};

/// Largest file this test process may write, in bytes: a second or so of the citizen's video.
const FILE_BYTES_LIMIT: u64 = 64 * 1024;

fn limit_file_size(bytes: u64) {
    // SAFETY: plain libc calls with valid arguments; ignoring SIGXFSZ makes an over-limit write
    // fail with EFBIG instead of killing the process.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        assert_eq!(libc::getrlimit(libc::RLIMIT_FSIZE, &mut limit), 0);
        limit.rlim_cur = bytes as libc::rlim_t;
        assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &limit), 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_failure_stops_recording_but_not_the_call() {
    let test = start_server(24_000, 4, 10_000).await;
    let server = &test.server;
    let mut events = server.subscribe();
    limit_file_size(FILE_BYTES_LIMIT);

    let citizen = connect_citizen(server, "full-disk", true).await;
    let operator = connect_operator(server, "full-disk").await;
    let reason = next_event(&mut events, |e| match e {
        MediaEvent::RecordingStopped { call_id, reason } if call_id == "full-disk" => {
            Some(reason.clone())
        }
        _ => None,
    })
    .await;
    assert!(reason.contains("File too large"), "{reason}");
    assert!(server.stats().recording_errors >= 1);

    // The relay goes on after the recording stopped, both ways.
    let (heard, seen, told) = (
        operator.stats().audio_packets_received,
        operator.stats().video_frames_received,
        citizen.stats().audio_packets_received,
    );
    eventually("media still flows after the recording stopped", || {
        let (o, c) = (operator.stats(), citizen.stats());
        o.audio_packets_received > heard + 25
            && o.video_frames_received > seen + 10
            && c.audio_packets_received > told + 25
    })
    .await;
    let stats = server.stats();
    assert_eq!((stats.active_calls, stats.active_legs), (1, 2));

    let summary = server.hang_up("full-disk").await.expect("summary");
    assert_eq!(summary.recording_error.as_deref(), Some(reason.as_str()));
    let video = std::fs::metadata(summary.dir.join("citizen-video.ivf")).expect("video file");
    assert!(video.len() <= FILE_BYTES_LIMIT);
    assert_no_failure(&mut events, Leg::Citizen);
    citizen.close().await;
    operator.close().await;
}

/// Drains events without waiting; a `Failed` for `leg` would mean the call broke.
fn assert_no_failure(events: &mut tokio::sync::broadcast::Receiver<MediaEvent>, leg: Leg) {
    while let Ok(event) = events.try_recv() {
        assert!(
            !matches!(&event, MediaEvent::Failed { leg: l, .. } if *l == leg),
            "unexpected {event:?}"
        );
    }
}
