//! Key-frame requests to the sender of a call's video, shared by the relay and the recorder.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use webrtc::media_stream::track_remote::TrackRemote;

use crate::limits::KEYFRAME_REQUEST_INTERVAL_MS_MIN;
use crate::locks::lock;

/// The remote video track key frames are asked of, with a rate limit.
#[derive(Default)]
pub(crate) struct KeyframeSource {
    track: Mutex<Option<(Arc<dyn TrackRemote>, u32)>>,
    last_request: Mutex<Option<Instant>>,
}

impl KeyframeSource {
    pub(crate) fn set(&self, track: Option<(Arc<dyn TrackRemote>, u32)>) {
        *lock(&self.track) = track;
    }

    /// Sends a PLI to the sender of the video, unless one went out very recently.
    pub async fn request(&self) {
        self.send(false).await;
    }

    /// Sends a PLI now, whatever the rate limit (a new operator must not wait for video).
    pub(crate) async fn request_now(&self) {
        self.send(true).await;
    }

    async fn send(&self, force: bool) {
        let Some((track, media_ssrc)) = lock(&self.track).clone() else {
            return;
        };
        {
            let mut last = lock(&self.last_request);
            let now = Instant::now();
            let interval = Duration::from_millis(KEYFRAME_REQUEST_INTERVAL_MS_MIN);
            if !force && last.is_some_and(|at| now.saturating_duration_since(at) < interval) {
                return;
            }
            *last = Some(now);
        }
        let pli = PictureLossIndication {
            sender_ssrc: 0,
            media_ssrc,
        };
        if let Err(err) = track.write_rtcp(vec![Box::new(pli)]).await {
            tracing::debug!(error = %err, "key frame request not sent");
        }
    }
}
