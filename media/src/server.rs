//! The media server: one citizen leg and at most one operator leg per call, RTP forwarded
//! between them without transcoding, everything recorded.
//!
//! Locking: the call map is a short-held `std` mutex; each call has a `tokio` mutex that
//! serialises the operations on that call (offers, leave, hang-up, failures), so slow work such
//! as building a peer connection never blocks other calls. The relay path takes no lock but a
//! read lock on the destination tracks and a `std` mutex around one header rewrite.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::transport::RTCIceCandidateInit;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use serde::Serialize;
use tokio::sync::{broadcast, watch};
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionEventHandler, RTCIceGatheringState, RTCPeerConnectionState,
};
use webrtc::rtp_transceiver::RtpSender;

use crate::config::{MediaConfig, Settings};
use crate::engine::{asks_for_keyframe, build_peer_connection, opus_codec, vp8_codec};
use crate::error::MediaError;
use crate::events::{Counters, EventSink, Leg, MediaEvent};
use crate::keyframe::KeyframeSource;
use crate::limits::{
    CALLS_MAX, CALL_ID_CHARS_MAX, EVENTS_QUEUE_MAX, FINISHED_SUMMARIES_MAX,
    ICE_CANDIDATE_BYTES_MAX, ICE_GATHER_TIMEOUT_MS, PORT_BIND_ATTEMPTS_MAX,
    REMOTE_CANDIDATES_PER_LEG_MAX,
};
use crate::locks::{lock, read, write};
use crate::offer::{check_offer, CheckedOffer};
use crate::ports::PortPool;
use crate::recording::recorder::{
    now_ms, spawn_recorder, RecorderHandle, RecorderSetup, RecordingSummary, Stream,
};
use crate::relay::HeaderRewriter;

/// A snapshot of the server's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct MediaStats {
    /// Calls open now (a citizen leg present or being set up).
    pub active_calls: usize,
    /// Peer connections open now.
    pub active_legs: usize,
    /// RTP packets forwarded from one leg to the other since start.
    pub rtp_packets_relayed: u64,
    /// RTP packets that could not be forwarded (the destination track refused them).
    pub rtp_packets_dropped: u64,
    /// RTP packets the recorder could not keep up with (its queue was full).
    pub recording_packets_dropped: u64,
    /// Bytes written to recording files since start.
    pub bytes_recorded: u64,
    /// Recordings stopped by an error, plus recordings that could not be finished.
    pub recording_errors: u64,
    /// UDP ports bound by peer connections now.
    pub ports_in_use: usize,
    /// Legs connected now whose media goes through a TURN relay.
    pub relayed_legs: usize,
    /// Legs that connected through a TURN relay since start.
    pub relayed_legs_connected: u64,
    /// Legs that connected directly (host, reflexive) since start.
    pub direct_legs_connected: u64,
}

/// A track of one leg that forwards the other leg's media.
struct OutputTrack {
    track: Arc<TrackLocalStaticRTP>,
    rewriter: Mutex<HeaderRewriter>,
}

#[derive(Default, Clone)]
struct Outputs {
    audio: Option<Arc<OutputTrack>>,
    video: Option<Arc<OutputTrack>>,
}

impl Outputs {
    fn get(&self, kind: RtpCodecKind) -> Option<Arc<OutputTrack>> {
        match kind {
            RtpCodecKind::Audio => self.audio.clone(),
            RtpCodecKind::Video => self.video.clone(),
            _ => None,
        }
    }
}

/// What the relay tasks of a call share.
struct CallShared {
    id: String,
    /// The operator leg's tracks, fed with the citizen's media.
    to_operator: RwLock<Outputs>,
    /// The citizen leg's tracks, fed with the operator's media.
    to_citizen: RwLock<Outputs>,
    recorder: RecorderHandle,
    recording: AtomicBool,
    citizen_video: Arc<KeyframeSource>,
    operator_video: Arc<KeyframeSource>,
    counters: Arc<Counters>,
}

impl CallShared {
    async fn forward(&self, from: Leg, kind: RtpCodecKind, mut packet: rtc::rtp::Packet) {
        if self.recording.load(Ordering::Relaxed) {
            let stream = match (from, kind) {
                (Leg::Citizen, RtpCodecKind::Video) => Stream::CitizenVideo,
                (Leg::Citizen, _) => Stream::CitizenAudio,
                (Leg::Operator, RtpCodecKind::Video) => Stream::OperatorVideo,
                (Leg::Operator, _) => Stream::OperatorAudio,
            };
            self.recorder.record(stream, &packet);
        }
        let outputs = match from {
            Leg::Citizen => &self.to_operator,
            Leg::Operator => &self.to_citizen,
        };
        let Some(output) = read(outputs).get(kind) else {
            return;
        };
        lock(&output.rewriter).rewrite(&mut packet.header, Instant::now());
        match output.track.write_rtp(packet).await {
            Ok(()) => self
                .counters
                .rtp_packets_relayed
                .fetch_add(1, Ordering::Relaxed),
            Err(_) => self
                .counters
                .rtp_packets_dropped
                .fetch_add(1, Ordering::Relaxed),
        };
    }

    fn keyframe_source(&self, leg: Leg) -> &Arc<KeyframeSource> {
        match leg {
            Leg::Citizen => &self.citizen_video,
            Leg::Operator => &self.operator_video,
        }
    }
}

/// An open peer connection.
struct LegHandle {
    pc: Arc<dyn PeerConnection>,
    port: u16,
    generation: u64,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    remote_candidates: usize,
    /// Set once the leg connected through a TURN relay (counted in `Counters::relayed_legs`).
    relayed: Arc<AtomicBool>,
}

#[derive(Default)]
struct CallState {
    citizen: Option<LegHandle>,
    operator: Option<LegHandle>,
    /// Hung up or failed: every operation but a repeated `hang_up` finds it unknown.
    ended: bool,
    next_generation: u64,
}

struct Call {
    shared: Arc<CallShared>,
    started_at_ms: i64,
    state: tokio::sync::Mutex<CallState>,
}

#[derive(Default)]
struct Finished {
    summaries: BTreeMap<String, RecordingSummary>,
    order: VecDeque<String>,
}

/// The media server. Create it with [`MediaServer::start`]; it is shared as an `Arc`.
pub struct MediaServer {
    settings: Settings,
    calls: Mutex<BTreeMap<String, Arc<Call>>>,
    finished: Mutex<Finished>,
    ports: Mutex<PortPool>,
    events: EventSink,
    counters: Arc<Counters>,
    this: Weak<MediaServer>,
}

impl MediaServer {
    /// Validates the configuration, creates the recordings directory and returns the server.
    pub async fn start(config: MediaConfig) -> Result<Arc<MediaServer>, MediaError> {
        let settings = config.validate()?;
        tokio::fs::create_dir_all(&settings.recordings_dir)
            .await
            .map_err(|e| MediaError::io(&settings.recordings_dir, e))?;
        let (events, _) = broadcast::channel(EVENTS_QUEUE_MAX);
        Ok(Arc::new_cyclic(|this| MediaServer {
            ports: Mutex::new(PortPool::new(settings.udp_port_min, settings.udp_port_max)),
            settings,
            calls: Mutex::new(BTreeMap::new()),
            finished: Mutex::new(Finished::default()),
            events: EventSink(events),
            counters: Arc::new(Counters::default()),
            this: this.clone(),
        }))
    }

    /// Opens a call from the citizen's SDP offer (Opus audio, optionally VP8 video) and returns
    /// the answer with all our candidates in it. Recording starts with the first packet.
    pub async fn citizen_offer(
        &self,
        call_id: &str,
        offer_sdp: &str,
    ) -> Result<String, MediaError> {
        validate_call_id(call_id)?;
        let offer = check_offer(offer_sdp)?;
        let call = {
            let mut calls = lock(&self.calls);
            if calls.contains_key(call_id) || lock(&self.finished).summaries.contains_key(call_id) {
                return Err(MediaError::CallExists);
            }
            if calls.len() >= CALLS_MAX {
                return Err(MediaError::TooManyCalls);
            }
            let call = Arc::new(self.new_call(call_id));
            calls.insert(call_id.to_owned(), Arc::clone(&call));
            call
        };
        let mut state = call.state.lock().await;
        match self.open_leg(&call, &mut state, Leg::Citizen, offer).await {
            Ok(answer) => Ok(answer),
            Err(err) => {
                state.ended = true;
                drop(state);
                lock(&self.calls).remove(call_id);
                call.shared
                    .recorder
                    .finish(self.empty_summary(&call), false)
                    .await;
                Err(err)
            }
        }
    }

    /// Attaches the operator's console to a call from its SDP offer and returns the answer.
    /// The citizen's media goes to the operator and the operator's back, as RTP, from then on.
    /// An operator leg already open is closed first (the console reconnected).
    pub async fn operator_offer(
        &self,
        call_id: &str,
        offer_sdp: &str,
    ) -> Result<String, MediaError> {
        validate_call_id(call_id)?;
        let offer = check_offer(offer_sdp)?;
        let call = self.call(call_id)?;
        let mut state = call.state.lock().await;
        if state.ended || state.citizen.is_none() {
            return Err(MediaError::UnknownCall);
        }
        if let Some(old) = state.operator.take() {
            self.close_operator_leg(&call, old).await;
        }
        self.open_leg(&call, &mut state, Leg::Operator, offer).await
    }

    /// Closes the operator leg (a transfer); the citizen leg and the recording go on.
    pub async fn operator_leave(&self, call_id: &str) -> Result<(), MediaError> {
        validate_call_id(call_id)?;
        let call = self.call(call_id)?;
        let mut state = call.state.lock().await;
        if state.ended {
            return Err(MediaError::UnknownCall);
        }
        let leg = state.operator.take().ok_or(MediaError::NoSuchLeg)?;
        self.close_operator_leg(&call, leg).await;
        Ok(())
    }

    /// Adds a candidate the browser trickled: JSON with `candidate`, `sdpMid`, `sdpMLineIndex`.
    pub async fn add_remote_candidate(
        &self,
        call_id: &str,
        leg: Leg,
        candidate: &str,
    ) -> Result<(), MediaError> {
        validate_call_id(call_id)?;
        if candidate.len() > ICE_CANDIDATE_BYTES_MAX {
            return Err(MediaError::CandidateTooLarge {
                bytes: candidate.len(),
                max: ICE_CANDIDATE_BYTES_MAX,
            });
        }
        let init: RTCIceCandidateInit = serde_json::from_str(candidate).map_err(|e| {
            MediaError::MalformedSdp(format!(
                "ICE candidate is not RTCIceCandidateInit JSON: {e}"
            ))
        })?;
        let call = self.call(call_id)?;
        let mut state = call.state.lock().await;
        if state.ended {
            return Err(MediaError::UnknownCall);
        }
        let handle = match leg {
            Leg::Citizen => state.citizen.as_mut(),
            Leg::Operator => state.operator.as_mut(),
        }
        .ok_or(MediaError::NoSuchLeg)?;
        if init.candidate.trim().is_empty() {
            return Ok(()); // end of candidates: nothing to do for us
        }
        if handle.remote_candidates >= REMOTE_CANDIDATES_PER_LEG_MAX {
            return Err(MediaError::MalformedSdp(format!(
                "more than {REMOTE_CANDIDATES_PER_LEG_MAX} candidates for one leg"
            )));
        }
        handle.remote_candidates += 1;
        handle
            .pc
            .add_ice_candidate(init)
            .await
            .map_err(|e| MediaError::MalformedSdp(format!("ICE candidate refused: {e}")))
    }

    /// Closes both legs, finishes the recording files and `meta.json`, and returns the summary;
    /// `None` if no such call is open (or waiting after a failure).
    pub async fn hang_up(&self, call_id: &str) -> Option<RecordingSummary> {
        validate_call_id(call_id).ok()?;
        let call = lock(&self.calls).remove(call_id);
        let Some(call) = call else {
            let mut finished = lock(&self.finished);
            let summary = finished.summaries.remove(call_id)?;
            finished.order.retain(|id| id != call_id);
            return Some(summary);
        };
        Some(self.end_call(&call).await)
    }

    /// Hangs up every open call (for a clean shutdown).
    pub async fn shutdown(&self) {
        let ids: Vec<String> = lock(&self.calls).keys().cloned().collect();
        for id in ids {
            self.hang_up(&id).await;
        }
    }

    /// Events of every call, from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<MediaEvent> {
        self.events.0.subscribe()
    }

    /// The server's counters now.
    pub fn stats(&self) -> MediaStats {
        let counters = &self.counters;
        MediaStats {
            active_calls: lock(&self.calls).len(),
            active_legs: counters.active_legs.load(Ordering::Relaxed),
            rtp_packets_relayed: counters.rtp_packets_relayed.load(Ordering::Relaxed),
            rtp_packets_dropped: counters.rtp_packets_dropped.load(Ordering::Relaxed),
            recording_packets_dropped: counters.recording_packets_dropped.load(Ordering::Relaxed),
            bytes_recorded: counters.bytes_recorded.load(Ordering::Relaxed),
            recording_errors: counters.recording_errors.load(Ordering::Relaxed),
            ports_in_use: lock(&self.ports).in_use(),
            relayed_legs: counters.relayed_legs.load(Ordering::Relaxed),
            relayed_legs_connected: counters.relayed_legs_connected.load(Ordering::Relaxed),
            direct_legs_connected: counters.direct_legs_connected.load(Ordering::Relaxed),
        }
    }

    fn new_call(&self, call_id: &str) -> Call {
        let citizen_video = Arc::new(KeyframeSource::default());
        let operator_video = Arc::new(KeyframeSource::default());
        let started_at_ms = now_ms();
        let recorder = spawn_recorder(RecorderSetup {
            call_id: call_id.to_owned(),
            dir: self.settings.recordings_dir.join(call_id),
            started_at_ms,
            sync_interval: self.settings.recording_sync_interval,
            counters: Arc::clone(&self.counters),
            events: self.events.clone(),
            citizen_video: Arc::clone(&citizen_video),
            operator_video: Arc::clone(&operator_video),
        });
        Call {
            shared: Arc::new(CallShared {
                id: call_id.to_owned(),
                to_operator: RwLock::new(Outputs::default()),
                to_citizen: RwLock::new(Outputs::default()),
                recorder,
                recording: AtomicBool::new(true),
                citizen_video,
                operator_video,
                counters: Arc::clone(&self.counters),
            }),
            started_at_ms,
            state: tokio::sync::Mutex::new(CallState::default()),
        }
    }

    fn call(&self, call_id: &str) -> Result<Arc<Call>, MediaError> {
        lock(&self.calls)
            .get(call_id)
            .cloned()
            .ok_or(MediaError::UnknownCall)
    }

    fn empty_summary(&self, call: &Call) -> RecordingSummary {
        RecordingSummary {
            call_id: call.shared.id.clone(),
            dir: self.settings.recordings_dir.join(&call.shared.id),
            started_at_ms: call.started_at_ms,
            ended_at_ms: now_ms(),
            files: Vec::new(),
            recording_error: Some("the recorder stopped unexpectedly".into()),
        }
    }

    /// Builds a leg from a checked offer and returns the answer with our candidates.
    async fn open_leg(
        &self,
        call: &Arc<Call>,
        state: &mut CallState,
        leg: Leg,
        offer: CheckedOffer,
    ) -> Result<String, MediaError> {
        let generation = state.next_generation;
        state.next_generation += 1;
        let (state_tx, state_rx) = watch::channel(RTCPeerConnectionState::New);
        let (gathered_tx, mut gathered_rx) = watch::channel(false);
        let handler = Arc::new(LegHandler {
            call: Arc::downgrade(&call.shared),
            leg,
            state_tx,
            gathered_tx,
        });
        let (pc, port) = self.bind_peer_connection(handler).await?;
        self.counters.active_legs.fetch_add(1, Ordering::Relaxed);
        let mut handle = LegHandle {
            pc,
            port,
            generation,
            tasks: Vec::new(),
            remote_candidates: 0,
            relayed: Arc::new(AtomicBool::new(false)),
        };

        let result = async {
            let pc = &handle.pc;
            pc.set_remote_description(offer.description.clone())
                .await
                .map_err(|e| MediaError::MalformedSdp(first_line(&e.to_string())))?;
            // Our tracks towards this leg: what the offerer is willing to receive.
            let mut pending = Vec::new();
            if offer.audio.offerer_receives() {
                pending.push(add_output_track(pc.as_ref(), RtpCodecKind::Audio, opus_codec()).await?);
            }
            if offer.video.is_some_and(|video| video.offerer_receives()) {
                pending.push(add_output_track(pc.as_ref(), RtpCodecKind::Video, vp8_codec()).await?);
            }
            let answer = pc.create_answer(None).await.map_err(MediaError::webrtc)?;
            pc.set_local_description(answer)
                .await
                .map_err(MediaError::webrtc)?;
            let gather = gathered_rx.wait_for(|done| *done);
            if tokio::time::timeout(Duration::from_millis(ICE_GATHER_TIMEOUT_MS), gather)
                .await
                .is_err()
            {
                tracing::warn!(call_id = %call.shared.id, ?leg, "ICE gathering did not complete; answering with what was gathered");
            }
            let answer = pc
                .local_description()
                .await
                .ok_or_else(|| MediaError::Webrtc("no local description after answering".into()))?;
            let mut outputs = Outputs::default();
            for (kind, track, sender, ssrc, codec) in pending {
                let payload_type = negotiated_payload_type(sender.as_ref(), &codec).await?;
                let output = Arc::new(OutputTrack {
                    track: Arc::clone(&track),
                    rewriter: Mutex::new(HeaderRewriter::new(ssrc, payload_type, codec.clock_rate)),
                });
                if kind == RtpCodecKind::Video {
                    // Key-frame requests the browser sends about our video go to the source.
                    let source = Arc::clone(call.shared.keyframe_source(other(leg)));
                    handle.tasks.push(tokio::spawn(forward_keyframe_requests(track, source)));
                    outputs.video = Some(output);
                } else {
                    outputs.audio = Some(output);
                }
            }
            let sdp = match self.settings.announced_ip {
                Some(public) => crate::offer::announce(&answer.sdp, self.settings.bind_ip, public),
                None => answer.sdp,
            };
            Ok::<_, MediaError>((sdp, outputs))
        }
        .await;

        let (answer, outputs) = match result {
            Ok(ok) => ok,
            Err(err) => {
                self.close_leg(handle).await;
                return Err(err);
            }
        };
        match leg {
            Leg::Citizen => *write(&call.shared.to_citizen) = outputs,
            Leg::Operator => *write(&call.shared.to_operator) = outputs,
        }
        handle.tasks.push(tokio::spawn(supervise(
            self.this.clone(),
            Arc::downgrade(&call.shared),
            Arc::downgrade(&handle.pc),
            handle.relayed.clone(),
            leg,
            generation,
            state_rx,
            self.settings.ice_connect_timeout,
        )));
        match leg {
            Leg::Citizen => state.citizen = Some(handle),
            Leg::Operator => state.operator = Some(handle),
        }
        Ok(answer)
    }

    /// Builds a peer connection on a free port of the range, trying the next one if another
    /// process holds the port.
    async fn bind_peer_connection(
        &self,
        handler: Arc<LegHandler>,
    ) -> Result<(Arc<dyn PeerConnection>, u16), MediaError> {
        for _ in 0..PORT_BIND_ATTEMPTS_MAX {
            let Some(port) = lock(&self.ports).take() else {
                return Err(MediaError::PortsExhausted);
            };
            let addr = SocketAddr::new(self.settings.bind_ip, port);
            match build_peer_connection(addr, Arc::clone(&handler) as _, &Default::default()).await
            {
                Ok(pc) => return Ok((pc, port)),
                Err(err) => {
                    lock(&self.ports).release(port);
                    if std::net::UdpSocket::bind(addr).is_ok() {
                        // The port is free: the failure is not about binding.
                        return Err(MediaError::webrtc(err));
                    }
                    // Another process holds this port; the pool's cursor has moved past it.
                    tracing::warn!(%addr, error = %err, "media port taken by another process");
                }
            }
        }
        Err(MediaError::PortsExhausted)
    }

    async fn close_leg(&self, handle: LegHandle) {
        for task in &handle.tasks {
            task.abort();
        }
        if let Err(err) = handle.pc.close().await {
            tracing::debug!(error = %err, "closing a peer connection");
        }
        lock(&self.ports).release(handle.port);
        self.counters.active_legs.fetch_sub(1, Ordering::Relaxed);
        if handle.relayed.swap(false, Ordering::Relaxed) {
            self.counters.relayed_legs.fetch_sub(1, Ordering::Relaxed);
        }
    }

    async fn close_operator_leg(&self, call: &Call, handle: LegHandle) {
        *write(&call.shared.to_operator) = Outputs::default();
        call.shared.operator_video.set(None);
        self.close_leg(handle).await;
    }

    /// Ends a call whose map entry the caller has already removed.
    async fn end_call(&self, call: &Call) -> RecordingSummary {
        let mut state = call.state.lock().await;
        state.ended = true;
        *write(&call.shared.to_operator) = Outputs::default();
        *write(&call.shared.to_citizen) = Outputs::default();
        call.shared.citizen_video.set(None);
        call.shared.operator_video.set(None);
        if let Some(leg) = state.operator.take() {
            self.close_leg(leg).await;
        }
        if let Some(leg) = state.citizen.take() {
            self.close_leg(leg).await;
        }
        call.shared.recording.store(false, Ordering::Relaxed);
        call.shared
            .recorder
            .finish(self.empty_summary(call), true)
            .await
    }

    /// A leg's supervisor gave up on it.
    async fn leg_failed(&self, call_id: &str, leg: Leg, generation: u64, reason: String) {
        let Ok(call) = self.call(call_id) else {
            return;
        };
        match leg {
            Leg::Citizen => {
                {
                    let state = call.state.lock().await;
                    if state.ended
                        || state.citizen.as_ref().map(|l| l.generation) != Some(generation)
                    {
                        return;
                    }
                }
                let removed = {
                    let mut calls = lock(&self.calls);
                    match calls.get(call_id) {
                        Some(current) if Arc::ptr_eq(current, &call) => calls.remove(call_id),
                        _ => None,
                    }
                };
                let Some(call) = removed else {
                    return;
                };
                let summary = self.end_call(&call).await;
                let mut finished = lock(&self.finished);
                finished.order.push_back(call_id.to_owned());
                finished.summaries.insert(call_id.to_owned(), summary);
                while finished.order.len() > FINISHED_SUMMARIES_MAX {
                    if let Some(oldest) = finished.order.pop_front() {
                        finished.summaries.remove(&oldest);
                    }
                }
            }
            Leg::Operator => {
                let mut state = call.state.lock().await;
                if state.ended || state.operator.as_ref().map(|l| l.generation) != Some(generation)
                {
                    return;
                }
                if let Some(handle) = state.operator.take() {
                    self.close_operator_leg(&call, handle).await;
                }
            }
        }
        self.events.emit(MediaEvent::Failed {
            call_id: call_id.to_owned(),
            leg,
            reason,
        });
    }
}

fn other(leg: Leg) -> Leg {
    match leg {
        Leg::Citizen => Leg::Operator,
        Leg::Operator => Leg::Citizen,
    }
}

type PendingOutput = (
    RtpCodecKind,
    Arc<TrackLocalStaticRTP>,
    Arc<dyn RtpSender>,
    u32,
    RTCRtpCodec,
);

async fn add_output_track(
    pc: &dyn PeerConnection,
    kind: RtpCodecKind,
    codec: RTCRtpCodec,
) -> Result<PendingOutput, MediaError> {
    let ssrc = rand::random::<u32>();
    let name = match kind {
        RtpCodecKind::Video => "video",
        _ => "audio",
    };
    let track = Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
        "mvd102".to_owned(),
        format!("mvd102-{name}-{ssrc:08x}"),
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
    )));
    let sender = pc
        .add_track(Arc::clone(&track) as Arc<dyn TrackLocal>)
        .await
        .map_err(MediaError::webrtc)?;
    Ok((kind, track, sender, ssrc, codec))
}

/// The payload type the answer settled on for our codec (the offerer's number for it).
async fn negotiated_payload_type(
    sender: &dyn RtpSender,
    codec: &RTCRtpCodec,
) -> Result<u8, MediaError> {
    let parameters = sender.get_parameters().await.map_err(MediaError::webrtc)?;
    parameters
        .rtp_parameters
        .codecs
        .iter()
        .find(|c| c.rtp_codec.mime_type.eq_ignore_ascii_case(&codec.mime_type))
        .map(|c| c.payload_type)
        .ok_or_else(|| {
            MediaError::UnsupportedCodecs(format!("{} was not negotiated", codec.mime_type))
        })
}

async fn forward_keyframe_requests(track: Arc<TrackLocalStaticRTP>, source: Arc<KeyframeSource>) {
    while let Some(event) = track.poll().await {
        if let TrackLocalEvent::OnRtcpPacket(packets) = event {
            if asks_for_keyframe(&packets) {
                source.request().await;
            }
        }
    }
}

/// What waiting for a connection state gave.
enum Waited {
    State(RTCPeerConnectionState),
    TimedOut,
    /// The peer connection is gone.
    Gone,
}

async fn wait_state(
    state: &mut watch::Receiver<RTCPeerConnectionState>,
    timeout: Option<Duration>,
    until: impl FnMut(&RTCPeerConnectionState) -> bool,
) -> Waited {
    let wait = async {
        match state.wait_for(until).await {
            Ok(s) => Waited::State(*s),
            Err(_) => Waited::Gone,
        }
    };
    match timeout {
        Some(timeout) => tokio::time::timeout(timeout, wait)
            .await
            .unwrap_or(Waited::TimedOut),
        None => wait.await,
    }
}

/// Whether the selected candidate pair's remote side is a TURN relay: the browser's `relay`
/// candidate (from its offer or trickled), or a peer-reflexive one at a relay candidate's
/// address (the relay's first check can arrive before its candidate does).
async fn selected_path_is_relayed(pc: &dyn PeerConnection) -> bool {
    use rtc::peer_connection::transport::RTCIceCandidateType as Type;
    let senders = pc.get_senders().await;
    let transport = match senders.first() {
        Some(sender) => sender.transport().await.ok().flatten(),
        None => None,
    };
    let transport = match transport {
        Some(t) => t,
        None => {
            let receivers = pc.get_receivers().await;
            match receivers.first() {
                Some(receiver) => match receiver.transport().await {
                    Ok(Some(t)) => t,
                    _ => return false,
                },
                None => return false,
            }
        }
    };
    let ice = transport.ice_transport();
    let Ok(Some(pair)) = ice.get_selected_candidate_pair().await else {
        return false;
    };
    let remote = pair.remote();
    if remote.typ == Type::Relay {
        return true;
    }
    let remotes = ice.get_remote_candidates().await.unwrap_or_default();
    remotes
        .iter()
        .any(|c| c.typ == Type::Relay && c.address == remote.address && c.port == remote.port)
}

/// Watches a leg's connection state and gives up on it when ICE does not connect in time,
/// fails, or stays disconnected that long.
#[allow(clippy::too_many_arguments)]
async fn supervise(
    server: Weak<MediaServer>,
    call: Weak<CallShared>,
    pc: Weak<dyn PeerConnection>,
    relayed: Arc<AtomicBool>,
    leg: Leg,
    generation: u64,
    mut state: watch::Receiver<RTCPeerConnectionState>,
    timeout: Duration,
) {
    use RTCPeerConnectionState as S;
    let settled = |s: &S| matches!(s, S::Connected | S::Failed | S::Closed);
    let mut waited = wait_state(&mut state, Some(timeout), settled).await;
    let reason = loop {
        match waited {
            Waited::TimedOut => {
                break format!("ICE did not connect within {} ms", timeout.as_millis());
            }
            Waited::Gone | Waited::State(S::Closed) => return,
            Waited::State(S::Connected) => {
                let Some(shared) = call.upgrade() else {
                    return;
                };
                if let Some(server) = server.upgrade() {
                    let through_relay = match pc.upgrade() {
                        Some(pc) => selected_path_is_relayed(pc.as_ref()).await,
                        None => false,
                    };
                    // A leg that reconnects is counted once.
                    if !relayed.load(Ordering::Relaxed) {
                        if through_relay {
                            relayed.store(true, Ordering::Relaxed);
                            server.counters.relayed_legs.fetch_add(1, Ordering::Relaxed);
                            server
                                .counters
                                .relayed_legs_connected
                                .fetch_add(1, Ordering::Relaxed);
                        } else {
                            server
                                .counters
                                .direct_legs_connected
                                .fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    tracing::info!(call_id = %shared.id, ?leg, relayed = through_relay, "media leg connected");
                    server.events.emit(MediaEvent::Connected {
                        call_id: shared.id.clone(),
                        leg,
                        relayed: through_relay,
                    });
                }
                if leg == Leg::Operator {
                    // Video to the new operator starts with a key frame, not at the next one.
                    shared.citizen_video.request_now().await;
                }
                drop(shared);
                match wait_state(&mut state, None, |s| *s != S::Connected).await {
                    Waited::State(S::Failed) => break "ICE connection failed".to_owned(),
                    Waited::State(S::Closed) | Waited::Gone | Waited::TimedOut => return,
                    // Disconnected: it may come back within the timeout.
                    Waited::State(_) => {
                        waited = match wait_state(&mut state, Some(timeout), settled).await {
                            Waited::TimedOut => {
                                break format!(
                                    "connection lost for more than {} ms",
                                    timeout.as_millis()
                                );
                            }
                            other => other,
                        };
                    }
                }
            }
            Waited::State(_) => break "ICE connection failed".to_owned(),
        }
    };
    let (Some(server), Some(shared)) = (server.upgrade(), call.upgrade()) else {
        return;
    };
    let call_id = shared.id.clone();
    drop(shared);
    // Closing the leg aborts this task, so the closing runs in a task of its own.
    tokio::spawn(async move {
        server.leg_failed(&call_id, leg, generation, reason).await;
    });
}

/// Callbacks of one leg's peer connection. They run on its driver task, so they only hand
/// work over and return.
struct LegHandler {
    call: Weak<CallShared>,
    leg: Leg,
    state_tx: watch::Sender<RTCPeerConnectionState>,
    gathered_tx: watch::Sender<bool>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for LegHandler {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            self.gathered_tx.send_replace(true);
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        self.state_tx.send_replace(state);
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let Some(shared) = self.call.upgrade() else {
            return;
        };
        let leg = self.leg;
        tokio::spawn(async move {
            let kind = track.kind().await;
            let ssrc = track.ssrcs().await.first().copied();
            if let (RtpCodecKind::Video, Some(ssrc)) = (kind, ssrc) {
                shared
                    .keyframe_source(leg)
                    .set(Some((Arc::clone(&track), ssrc)));
                if leg == Leg::Citizen {
                    shared.citizen_video.request().await;
                }
            }
            let shared = Arc::downgrade(&shared);
            while let Some(event) = track.poll().await {
                if let TrackRemoteEvent::OnRtpPacket(packet) = event {
                    let Some(shared) = shared.upgrade() else {
                        return;
                    };
                    shared.forward(leg, kind, packet).await;
                }
            }
        });
    }
}

/// Checks a call id: 1..=64 characters of `[A-Za-z0-9_-]`, so it is a safe directory name.
pub(crate) fn validate_call_id(call_id: &str) -> Result<(), MediaError> {
    let ok = !call_id.is_empty()
        && call_id.len() <= CALL_ID_CHARS_MAX
        && call_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(MediaError::InvalidCallId)
    }
}

fn first_line(text: &str) -> String {
    text.lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(200)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_ids_are_safe_directory_names() {
        for good in ["a", "CALL-2024_001", &"x".repeat(CALL_ID_CHARS_MAX)] {
            assert!(validate_call_id(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "..",
            "a/b",
            "a b",
            "ü",
            "a.ogg",
            &"x".repeat(CALL_ID_CHARS_MAX + 1),
        ] {
            assert!(validate_call_id(bad).is_err(), "{bad}");
        }
    }
}
