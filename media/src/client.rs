//! Headless WebRTC clients for tests and load benchmarks: a citizen and an operator that speak
//! real WebRTC (ICE, DTLS, SRTP) over UDP and send generated media at real-time pace.
//!
//! The media is generated, not encoded — there is no audio or video encoder here:
//! - audio: one Opus packet every 20 ms, a CELT full-band 20 ms frame (TOC `0xf8`) followed by
//!   pseudo-random bytes of a realistic size; any byte string is a decodable CELT frame;
//! - video: a real 16×16 VP8 key frame produced by libvpx (from libwebrtc's
//!   `frame_instrumentation_generator_unittest.cc`), padded to a realistic size with bytes after
//!   its last partition, which decoders ignore. Every frame is that key frame, so a key-frame
//!   request (PLI) is always satisfied by the next frame; requests are counted.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rtc::media::Sample;
use rtc::media_stream::MediaStreamTrack;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use rtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};
use tokio::sync::watch;
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionEventHandler, RTCIceGatheringState, RTCPeerConnectionState,
    RTCSessionDescription,
};
use webrtc::rtp_transceiver::RtpSender;

use crate::engine::{asks_for_keyframe, build_peer_connection, opus_codec, vp8_codec};
use crate::error::MediaError;
use crate::limits::ICE_GATHER_TIMEOUT_MS;

/// A VP8 key frame, 16×16, as libvpx encodes it (QP 25).
pub const VP8_KEY_FRAME_16X16: [u8; 30] = [
    0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x10, 0x00, 0x10, 0x00, 0x02, 0x47, 0x08, 0x85, 0x85, 0x88,
    0x85, 0x84, 0x88, 0x0c, 0x82, 0x00, 0x0c, 0x0d, 0x60, 0x00, 0xfe, 0xfc, 0x5c, 0xd0,
];

/// TOC byte of a CELT-only, full-band, 20 ms, mono, single-frame Opus packet.
const OPUS_TOC_CELT_FB_20MS: u8 = 0xf8;
/// Audio packet interval, in milliseconds.
const AUDIO_PACKET_MS: u64 = 20;

/// What a headless client sends and where it binds.
#[derive(Debug, Clone)]
pub struct HeadlessConfig {
    /// Address the client's one UDP socket binds (any free port).
    pub bind_ip: IpAddr,
    /// Bytes per Opus packet (TOC included); about 80 is 32 kbit/s.
    pub opus_packet_bytes: usize,
    /// Send video (the citizen's camera, or the operator's).
    pub video: bool,
    /// Bytes per video frame; 2,500 at 30 frames/s is 600 kbit/s.
    pub video_frame_bytes: usize,
    /// Video frames per second.
    pub video_fps: u32,
    /// Seed of the generated audio bytes.
    pub seed: u64,
    /// STUN/TURN servers, and whether to use only TURN relay candidates.
    pub ice: crate::engine::IceSettings,
}

impl Default for HeadlessConfig {
    fn default() -> Self {
        HeadlessConfig {
            bind_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            opus_packet_bytes: 80,
            video: false,
            video_frame_bytes: 2_500,
            video_fps: 30,
            seed: 1,
            ice: Default::default(),
        }
    }
}

/// Counters of a headless client.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// Opus packets sent.
    pub audio_packets_sent: u64,
    /// Opus payload bytes sent.
    pub audio_bytes_sent: u64,
    /// Video frames sent.
    pub video_frames_sent: u64,
    /// VP8 frame bytes sent.
    pub video_bytes_sent: u64,
    /// Audio RTP packets received.
    pub audio_packets_received: u64,
    /// Audio RTP payload bytes received.
    pub audio_bytes_received: u64,
    /// Audio RTP packets the sender sent since the first one received, by sequence number;
    /// `expected - received` were lost.
    pub audio_packets_expected: u64,
    /// Video RTP packets received.
    pub video_packets_received: u64,
    /// Video frames received (packets with the marker bit).
    pub video_frames_received: u64,
    /// Video RTP payload bytes received.
    pub video_bytes_received: u64,
    /// Video RTP packets sent since the first one received, by sequence number.
    pub video_packets_expected: u64,
    /// Key-frame requests (PLI/FIR) received about our video.
    pub keyframe_requests_received: u64,
}

#[derive(Default)]
struct Counters {
    audio_packets_sent: AtomicU64,
    audio_bytes_sent: AtomicU64,
    video_frames_sent: AtomicU64,
    video_bytes_sent: AtomicU64,
    audio_packets_received: AtomicU64,
    audio_bytes_received: AtomicU64,
    audio_packets_expected: AtomicU64,
    video_packets_received: AtomicU64,
    video_frames_received: AtomicU64,
    video_bytes_received: AtomicU64,
    video_packets_expected: AtomicU64,
    keyframe_requests_received: AtomicU64,
}

impl Counters {
    fn snapshot(&self) -> ClientStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        ClientStats {
            audio_packets_sent: get(&self.audio_packets_sent),
            audio_bytes_sent: get(&self.audio_bytes_sent),
            video_frames_sent: get(&self.video_frames_sent),
            video_bytes_sent: get(&self.video_bytes_sent),
            audio_packets_received: get(&self.audio_packets_received),
            audio_bytes_received: get(&self.audio_bytes_received),
            audio_packets_expected: get(&self.audio_packets_expected),
            video_packets_received: get(&self.video_packets_received),
            video_frames_received: get(&self.video_frames_received),
            video_bytes_received: get(&self.video_bytes_received),
            video_packets_expected: get(&self.video_packets_expected),
            keyframe_requests_received: get(&self.keyframe_requests_received),
        }
    }
}

struct OutTrack {
    track: Arc<TrackLocalStaticSample>,
    sender: Arc<dyn RtpSender>,
    ssrc: u32,
    codec: RTCRtpCodec,
}

/// The machinery both headless clients share, and the calls they answer alike (offer, answer,
/// connection, counters, close); [`HeadlessCitizen`] and [`HeadlessOperator`] dereference to it.
pub struct HeadlessPeer {
    config: HeadlessConfig,
    pc: Arc<dyn PeerConnection>,
    audio: OutTrack,
    video: Option<OutTrack>,
    counters: Arc<Counters>,
    state: watch::Receiver<RTCPeerConnectionState>,
    gathered: watch::Receiver<bool>,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl HeadlessPeer {
    async fn new(config: HeadlessConfig, receive_video: bool) -> Result<Self, MediaError> {
        let counters = Arc::new(Counters::default());
        let (state_tx, state) = watch::channel(RTCPeerConnectionState::New);
        let (gathered_tx, gathered) = watch::channel(false);
        let handler = Arc::new(ClientHandler {
            counters: Arc::clone(&counters),
            state_tx,
            gathered_tx,
        });
        let pc = build_peer_connection(SocketAddr::new(config.bind_ip, 0), handler, &config.ice)
            .await
            .map_err(MediaError::webrtc)?;
        let audio = add_track(pc.as_ref(), RtpCodecKind::Audio, opus_codec(), None).await?;
        let video = if config.video {
            let direction = if receive_video {
                RTCRtpTransceiverDirection::Sendrecv
            } else {
                RTCRtpTransceiverDirection::Sendonly
            };
            Some(
                add_track(
                    pc.as_ref(),
                    RtpCodecKind::Video,
                    vp8_codec(),
                    Some(direction),
                )
                .await?,
            )
        } else {
            if receive_video {
                pc.add_transceiver_from_kind(
                    RtpCodecKind::Video,
                    Some(RTCRtpTransceiverInit {
                        direction: RTCRtpTransceiverDirection::Recvonly,
                        ..Default::default()
                    }),
                )
                .await
                .map_err(MediaError::webrtc)?;
            }
            None
        };
        let peer = HeadlessPeer {
            config,
            pc,
            audio,
            video,
            counters,
            state,
            gathered,
            tasks: Mutex::new(Vec::new()),
        };
        if let Some(video) = &peer.video {
            let track = Arc::clone(&video.track);
            let counters = Arc::clone(&peer.counters);
            peer.spawn(async move {
                while let Some(event) = track.poll().await {
                    if let TrackLocalEvent::OnRtcpPacket(packets) = event {
                        if asks_for_keyframe(&packets) {
                            counters
                                .keyframe_requests_received
                                .fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            });
        }
        Ok(peer)
    }

    fn spawn(&self, task: impl std::future::Future<Output = ()> + Send + 'static) {
        let handle = tokio::spawn(task);
        self.tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(handle);
    }

    /// Counters now.
    pub fn stats(&self) -> ClientStats {
        self.counters.snapshot()
    }

    /// The SDP offer, with every local candidate gathered.
    pub async fn offer(&self) -> Result<String, MediaError> {
        let offer = self
            .pc
            .create_offer(None)
            .await
            .map_err(MediaError::webrtc)?;
        self.pc
            .set_local_description(offer)
            .await
            .map_err(MediaError::webrtc)?;
        let mut gathered = self.gathered.clone();
        let _ = tokio::time::timeout(
            Duration::from_millis(ICE_GATHER_TIMEOUT_MS),
            gathered.wait_for(|done| *done),
        )
        .await;
        let local = self
            .pc
            .local_description()
            .await
            .ok_or_else(|| MediaError::Webrtc("no local description".into()))?;
        Ok(local.sdp)
    }

    /// Applies the server's answer; media starts flowing once connected.
    pub async fn accept_answer(&self, sdp: &str) -> Result<(), MediaError> {
        let answer = RTCSessionDescription::answer(sdp.to_owned())
            .map_err(|e| MediaError::MalformedSdp(e.to_string()))?;
        self.pc
            .set_remote_description(answer)
            .await
            .map_err(|e| MediaError::MalformedSdp(e.to_string()))?;
        let audio_pt = payload_type(&self.audio).await?;
        self.spawn(send_audio(
            Arc::clone(&self.audio.track),
            self.audio.ssrc,
            audio_pt,
            self.config.clone(),
            self.state.clone(),
            Arc::clone(&self.counters),
        ));
        if let Some(video) = &self.video {
            // The answer may refuse our video (e.g. sendonly to a leg that does not receive).
            if let Ok(video_pt) = payload_type(video).await {
                self.spawn(send_video(
                    Arc::clone(&video.track),
                    video.ssrc,
                    video_pt,
                    self.config.clone(),
                    self.state.clone(),
                    Arc::clone(&self.counters),
                ));
            }
        }
        Ok(())
    }

    /// Waits until ICE and DTLS are up, at most `timeout`.
    pub async fn wait_connected(&self, timeout: Duration) -> bool {
        let mut state = self.state.clone();
        let connected = tokio::time::timeout(timeout, async {
            state
                .wait_for(|s| *s == RTCPeerConnectionState::Connected)
                .await
                .is_ok()
        })
        .await;
        connected.unwrap_or(false)
    }

    /// Stops sending and closes the connection.
    pub async fn close(&self) {
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|p| p.into_inner()));
        for task in tasks {
            task.abort();
        }
        let _ = self.pc.close().await;
    }
}

async fn add_track(
    pc: &dyn PeerConnection,
    kind: RtpCodecKind,
    codec: RTCRtpCodec,
    direction: Option<RTCRtpTransceiverDirection>,
) -> Result<OutTrack, MediaError> {
    let ssrc = rand::random::<u32>();
    let name = if kind == RtpCodecKind::Video {
        "video"
    } else {
        "audio"
    };
    let track = Arc::new(
        TrackLocalStaticSample::new(
            Instant::now(),
            MediaStreamTrack::new(
                "headless".to_owned(),
                format!("headless-{name}-{ssrc:08x}"),
                name.to_owned(),
                kind,
                vec![RTCRtpEncodingParameters {
                    rtp_coding_parameters: RTCRtpCodingParameters {
                        ssrc: Some(ssrc),
                        ..Default::default()
                    },
                    codec: codec.clone(),
                    ..Default::default()
                }],
            ),
        )
        .map_err(MediaError::webrtc)?,
    );
    let sender = match direction {
        None => pc
            .add_track(Arc::clone(&track) as Arc<dyn TrackLocal>)
            .await
            .map_err(MediaError::webrtc)?,
        Some(direction) => {
            let transceiver = pc
                .add_transceiver_from_track(
                    Arc::clone(&track) as Arc<dyn TrackLocal>,
                    Some(RTCRtpTransceiverInit {
                        direction,
                        ..Default::default()
                    }),
                )
                .await
                .map_err(MediaError::webrtc)?;
            transceiver
                .sender()
                .await
                .map_err(MediaError::webrtc)?
                .ok_or_else(|| MediaError::Webrtc("transceiver without a sender".into()))?
        }
    };
    Ok(OutTrack {
        track,
        sender,
        ssrc,
        codec,
    })
}

async fn payload_type(track: &OutTrack) -> Result<u8, MediaError> {
    let parameters = track
        .sender
        .get_parameters()
        .await
        .map_err(MediaError::webrtc)?;
    parameters
        .rtp_parameters
        .codecs
        .iter()
        .find(|c| {
            c.rtp_codec
                .mime_type
                .eq_ignore_ascii_case(&track.codec.mime_type)
        })
        .map(|c| c.payload_type)
        .ok_or_else(|| {
            MediaError::UnsupportedCodecs(format!("{} not negotiated", track.codec.mime_type))
        })
}

async fn wait_until_connected(state: &mut watch::Receiver<RTCPeerConnectionState>) -> bool {
    state
        .wait_for(|s| {
            matches!(
                s,
                RTCPeerConnectionState::Connected
                    | RTCPeerConnectionState::Failed
                    | RTCPeerConnectionState::Closed
            )
        })
        .await
        .map(|s| *s == RTCPeerConnectionState::Connected)
        .unwrap_or(false)
}

/// xorshift64*: reproducible filler bytes, no allocation of a generator per packet.
fn next_random(state: &mut u64) -> u64 {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    state.wrapping_mul(0x2545_f491_4f6c_dd1d)
}

async fn send_audio(
    track: Arc<TrackLocalStaticSample>,
    ssrc: u32,
    payload_type: u8,
    config: HeadlessConfig,
    mut state: watch::Receiver<RTCPeerConnectionState>,
    counters: Arc<Counters>,
) {
    if !wait_until_connected(&mut state).await {
        return;
    }
    let mut random = config.seed | 1;
    let len = config.opus_packet_bytes.max(1);
    let mut interval = tokio::time::interval(Duration::from_millis(AUDIO_PACKET_MS));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    loop {
        interval.tick().await;
        let mut packet = Vec::with_capacity(len);
        packet.push(OPUS_TOC_CELT_FB_20MS);
        while packet.len() < len {
            packet.extend_from_slice(&next_random(&mut random).to_le_bytes());
        }
        packet.truncate(len);
        let now = Instant::now();
        let sample = Sample {
            data: Bytes::from(packet),
            duration: Duration::from_millis(AUDIO_PACKET_MS),
            ..Sample::new(now)
        };
        if track
            .write_sample(ssrc, payload_type, &sample, &[])
            .await
            .is_err()
        {
            return;
        }
        counters.audio_packets_sent.fetch_add(1, Ordering::Relaxed);
        counters
            .audio_bytes_sent
            .fetch_add(len as u64, Ordering::Relaxed);
    }
}

async fn send_video(
    track: Arc<TrackLocalStaticSample>,
    ssrc: u32,
    payload_type: u8,
    config: HeadlessConfig,
    mut state: watch::Receiver<RTCPeerConnectionState>,
    counters: Arc<Counters>,
) {
    if !wait_until_connected(&mut state).await {
        return;
    }
    let mut frame = VP8_KEY_FRAME_16X16.to_vec();
    frame.resize(config.video_frame_bytes.max(frame.len()), 0);
    let frame = Bytes::from(frame);
    let period = Duration::from_micros(1_000_000 / u64::from(config.video_fps.max(1)));
    let mut interval = tokio::time::interval(period);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    loop {
        interval.tick().await;
        let sample = Sample {
            data: frame.clone(),
            duration: period,
            ..Sample::new(Instant::now())
        };
        if track
            .write_sample(ssrc, payload_type, &sample, &[])
            .await
            .is_err()
        {
            return;
        }
        counters.video_frames_sent.fetch_add(1, Ordering::Relaxed);
        counters
            .video_bytes_sent
            .fetch_add(frame.len() as u64, Ordering::Relaxed);
    }
}

struct ClientHandler {
    counters: Arc<Counters>,
    state_tx: watch::Sender<RTCPeerConnectionState>,
    gathered_tx: watch::Sender<bool>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for ClientHandler {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            self.gathered_tx.send_replace(true);
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        self.state_tx.send_replace(state);
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let counters = Arc::clone(&self.counters);
        tokio::spawn(async move {
            let video = track.kind().await == RtpCodecKind::Video;
            let expected = if video {
                &counters.video_packets_expected
            } else {
                &counters.audio_packets_expected
            };
            // Extended sequence numbers of the first and the highest packet received.
            let mut span: Option<(i64, i64)> = None;
            while let Some(event) = track.poll().await {
                let TrackRemoteEvent::OnRtpPacket(packet) = event else {
                    continue;
                };
                let seq = packet.header.sequence_number;
                match span.as_mut() {
                    None => {
                        span = Some((i64::from(seq), i64::from(seq)));
                        expected.fetch_add(1, Ordering::Relaxed);
                    }
                    Some((first, highest)) => {
                        let delta = i64::from(seq.wrapping_sub(*highest as u16) as i16);
                        let extended = *highest + delta;
                        if extended > *highest {
                            expected.fetch_add((extended - *highest) as u64, Ordering::Relaxed);
                            *highest = extended;
                        } else if extended < *first {
                            expected.fetch_add((*first - extended) as u64, Ordering::Relaxed);
                            *first = extended;
                        }
                    }
                }
                let bytes = packet.payload.len() as u64;
                if video {
                    counters
                        .video_packets_received
                        .fetch_add(1, Ordering::Relaxed);
                    counters
                        .video_bytes_received
                        .fetch_add(bytes, Ordering::Relaxed);
                    if packet.header.marker {
                        counters
                            .video_frames_received
                            .fetch_add(1, Ordering::Relaxed);
                    }
                } else {
                    counters
                        .audio_packets_received
                        .fetch_add(1, Ordering::Relaxed);
                    counters
                        .audio_bytes_received
                        .fetch_add(bytes, Ordering::Relaxed);
                }
            }
        });
    }
}

/// A citizen's app: sends Opus audio (and receives the operator's), optionally sends VP8 video.
pub struct HeadlessCitizen {
    peer: HeadlessPeer,
}

impl HeadlessCitizen {
    /// Builds the peer connection: audio sendrecv, video sendonly if `config.video`.
    pub async fn new(config: HeadlessConfig) -> Result<Self, MediaError> {
        Ok(HeadlessCitizen {
            peer: HeadlessPeer::new(config, false).await?,
        })
    }
}

impl std::ops::Deref for HeadlessCitizen {
    type Target = HeadlessPeer;
    fn deref(&self) -> &HeadlessPeer {
        &self.peer
    }
}

/// An operator's console: receives the citizen's audio and video, sends Opus audio and, if
/// `config.video`, VP8 video.
pub struct HeadlessOperator {
    peer: HeadlessPeer,
}

impl HeadlessOperator {
    /// Builds the peer connection: audio sendrecv, video recvonly (sendrecv if `config.video`).
    pub async fn new(config: HeadlessConfig) -> Result<Self, MediaError> {
        Ok(HeadlessOperator {
            peer: HeadlessPeer::new(config, true).await?,
        })
    }
}

impl std::ops::Deref for HeadlessOperator {
    type Target = HeadlessPeer;
    fn deref(&self) -> &HeadlessPeer {
        &self.peer
    }
}
