//! The per-call recorder: one task that owns the call's recording files, writes what the relay
//! hands it, syncs the files to disk on a timer, and writes `meta.json` when the call ends.
//!
//! A write error (a full disk) stops the recording of that call, reports it once, and leaves
//! the call itself untouched: the relay never waits for the recorder.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rtc::rtp;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use super::ivf::{IvfWriter, VIDEO_CLOCK_HZ};
use super::ogg::OggOpusWriter;
use super::opus::{self, OPUS_CLOCK_HZ};
use super::timeline::{Placement, Timeline};
use super::vp8::Vp8Assembler;
use crate::events::{Counters, EventSink, MediaEvent};
use crate::keyframe::KeyframeSource;
use crate::limits::{
    AUDIO_GAP_FILL_MS_MAX, OPUS_PACKET_BYTES_MAX, RECORDER_QUEUE_PACKETS_MAX,
    RECORDING_WRITE_BUFFER_BYTES, VIDEO_GAP_MS_MAX,
};

/// Format name and version written into every `meta.json`.
const META_FORMAT: &str = "mvd102-recording";
const META_VERSION: u32 = 1;
const META_FILE: &str = "meta.json";

/// Audio or video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    /// Opus audio in Ogg.
    Audio,
    /// VP8 video in IVF.
    Video,
}

/// One recorded stream of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Stream {
    CitizenAudio,
    CitizenVideo,
    OperatorAudio,
    OperatorVideo,
}

impl Stream {
    const ALL: [Stream; 4] = [
        Stream::CitizenAudio,
        Stream::CitizenVideo,
        Stream::OperatorAudio,
        Stream::OperatorVideo,
    ];

    fn file_name(self) -> &'static str {
        match self {
            Stream::CitizenAudio => "citizen-audio.ogg",
            Stream::CitizenVideo => "citizen-video.ivf",
            Stream::OperatorAudio => "operator-audio.ogg",
            Stream::OperatorVideo => "operator-video.ivf",
        }
    }

    fn kind(self) -> MediaKind {
        match self {
            Stream::CitizenAudio | Stream::OperatorAudio => MediaKind::Audio,
            Stream::CitizenVideo | Stream::OperatorVideo => MediaKind::Video,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// One file of a finished recording, as listed in `meta.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordingFile {
    /// File name inside the call's directory, e.g. `citizen-audio.ogg`.
    pub name: String,
    /// Audio or video.
    pub kind: MediaKind,
    /// `opus` or `vp8`.
    pub codec: String,
    /// Size of the file.
    pub bytes: u64,
    /// Audio packets or video frames in the file.
    pub packets: u64,
    /// Duration from the media timestamps (Ogg granule, IVF frame timestamps).
    pub duration_ms: u64,
    /// Wall-clock time of the first packet, Unix milliseconds.
    pub started_at_ms: i64,
}

/// What was recorded for a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordingSummary {
    /// The call.
    pub call_id: String,
    /// `{recordings_dir}/{call_id}`.
    pub dir: PathBuf,
    /// When the call was opened (citizen offer), Unix milliseconds.
    pub started_at_ms: i64,
    /// When the call ended, Unix milliseconds.
    pub ended_at_ms: i64,
    /// The files, in a fixed order: citizen audio, citizen video, operator audio, operator video.
    pub files: Vec<RecordingFile>,
    /// Why recording stopped before the call ended (e.g. a full disk), if it did.
    pub recording_error: Option<String>,
}

#[derive(Serialize)]
struct Meta<'a> {
    format: &'a str,
    version: u32,
    #[serde(flatten)]
    summary: &'a RecordingSummary,
}

pub(crate) enum RecorderMessage {
    Packet {
        stream: Stream,
        packet: rtp::Packet,
        arrival: Instant,
    },
    /// Close the files and reply with the summary; `write_meta` also when nothing was
    /// recorded (a call that was answered), not for an offer that failed.
    Finish {
        reply: oneshot::Sender<RecordingSummary>,
        write_meta: bool,
    },
}

/// The relay's side of a call's recorder.
#[derive(Clone)]
pub(crate) struct RecorderHandle {
    tx: mpsc::Sender<RecorderMessage>,
    counters: Arc<Counters>,
}

impl RecorderHandle {
    /// Hands a packet to the recorder without waiting; a full queue loses it (counted).
    pub fn record(&self, stream: Stream, packet: &rtp::Packet) {
        let message = RecorderMessage::Packet {
            stream,
            packet: packet.clone(),
            arrival: Instant::now(),
        };
        if self.tx.try_send(message).is_err() {
            self.counters
                .recording_packets_dropped
                .fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Closes the files, writes `meta.json` and returns the summary.
    pub async fn finish(&self, fallback: RecordingSummary, write_meta: bool) -> RecordingSummary {
        let (reply, rx) = oneshot::channel();
        let message = RecorderMessage::Finish { reply, write_meta };
        if self.tx.send(message).await.is_err() {
            return fallback;
        }
        rx.await.unwrap_or(fallback)
    }
}

pub(crate) struct RecorderSetup {
    pub call_id: String,
    pub dir: PathBuf,
    pub started_at_ms: i64,
    pub sync_interval: Duration,
    pub counters: Arc<Counters>,
    pub events: EventSink,
    pub citizen_video: Arc<KeyframeSource>,
    pub operator_video: Arc<KeyframeSource>,
}

/// Starts the recorder task of a call.
pub(crate) fn spawn_recorder(setup: RecorderSetup) -> RecorderHandle {
    let (tx, rx) = mpsc::channel(RECORDER_QUEUE_PACKETS_MAX);
    let handle = RecorderHandle {
        tx,
        counters: Arc::clone(&setup.counters),
    };
    tokio::spawn(Recorder::new(setup).run(rx));
    handle
}

enum Output {
    Audio {
        writer: OggOpusWriter<BufWriter<File>>,
        last_toc: u8,
    },
    Video {
        writer: IvfWriter<BufWriter<File>>,
    },
}

struct Track {
    timeline: Timeline,
    assembler: Option<Vp8Assembler>,
    output: Option<(Output, File)>,
    started_at_ms: i64,
    /// Bytes already counted into the server's `bytes_recorded`.
    bytes_counted: u64,
}

struct Recorder {
    setup: RecorderSetup,
    dir_ready: bool,
    tracks: [Track; 4],
    stopped: Option<String>,
}

impl Recorder {
    fn new(setup: RecorderSetup) -> Self {
        let track = |stream: Stream| Track {
            timeline: match stream.kind() {
                MediaKind::Audio => Timeline::new(OPUS_CLOCK_HZ, AUDIO_GAP_FILL_MS_MAX),
                MediaKind::Video => Timeline::new(VIDEO_CLOCK_HZ, VIDEO_GAP_MS_MAX),
            },
            assembler: (stream.kind() == MediaKind::Video).then(Vp8Assembler::default),
            output: None,
            started_at_ms: 0,
            bytes_counted: 0,
        };
        Recorder {
            setup,
            dir_ready: false,
            tracks: Stream::ALL.map(track),
            stopped: None,
        }
    }

    async fn run(mut self, mut rx: mpsc::Receiver<RecorderMessage>) {
        let mut tick = tokio::time::interval(self.setup.sync_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // At most one `fdatasync` in flight. Packets keep being written while it runs: a slow
        // disk must not stall the queue from the relay.
        let mut syncing: Option<tokio::task::JoinHandle<Result<(), String>>> = None;
        loop {
            tokio::select! {
                synced = async { syncing.as_mut().expect("guarded").await }, if syncing.is_some() => {
                    syncing = None;
                    let failure = match synced {
                        Ok(Ok(())) => None,
                        Ok(Err(reason)) => Some(reason),
                        Err(err) => Some(format!("sync task failed: {err}")),
                    };
                    if let Some(reason) = failure {
                        self.stop(reason);
                    }
                }
                message = rx.recv() => match message {
                    Some(RecorderMessage::Packet { stream, packet, arrival }) => {
                        if self.stopped.is_none() {
                            self.packet(stream, &packet, arrival).await;
                        }
                    }
                    Some(RecorderMessage::Finish { reply, write_meta }) => {
                        if let Some(running) = syncing.take() {
                            let _ = running.await;
                        }
                        let summary = self.finish(write_meta).await;
                        let _ = reply.send(summary);
                        return;
                    }
                    None => {
                        if let Some(running) = syncing.take() {
                            let _ = running.await;
                        }
                        self.finish(true).await;
                        return;
                    }
                },
                _ = tick.tick() => {
                    if self.stopped.is_none() {
                        self.poll_video(Instant::now()).await;
                        if syncing.is_none() {
                            syncing = self.flush_and_sync();
                        }
                    }
                }
            }
        }
    }

    async fn packet(&mut self, stream: Stream, packet: &rtp::Packet, arrival: Instant) {
        let result = match stream.kind() {
            MediaKind::Audio => self.audio_packet(stream, packet, arrival),
            MediaKind::Video => self.video_packet(stream, packet, arrival).await,
        };
        if let Err(reason) = result {
            self.stop(reason);
        }
    }

    fn audio_packet(
        &mut self,
        stream: Stream,
        packet: &rtp::Packet,
        arrival: Instant,
    ) -> Result<(), String> {
        let payload = &packet.payload;
        let Some(samples) = opus::packet_samples(payload) else {
            return Ok(()); // not Opus: nothing a player could use
        };
        if payload.len() > OPUS_PACKET_BYTES_MAX {
            return Ok(());
        }
        let track = &mut self.tracks[stream.index()];
        let Placement::At(position) =
            track
                .timeline
                .place(packet.header.ssrc, packet.header.timestamp, arrival)
        else {
            return Ok(());
        };
        if track.output.is_none() {
            let channels = if opus::is_stereo(payload) { 2 } else { 1 };
            self.ensure_dir()?;
            let (file, sync) = create_file(&self.setup.dir, stream)?;
            let writer = OggOpusWriter::new(file, rand::random(), channels)
                .map_err(|e| io_reason(stream, &e))?;
            let track = &mut self.tracks[stream.index()];
            track.started_at_ms = now_ms();
            track.output = Some((
                Output::Audio {
                    writer,
                    last_toc: payload[0],
                },
                sync,
            ));
        }
        let track = &mut self.tracks[stream.index()];
        let Some((Output::Audio { writer, last_toc }, _)) = track.output.as_mut() else {
            return Ok(());
        };
        // Fill a gap (lost packets, a transfer) with empty frames so the file keeps real time.
        let filler_samples = u64::from(opus::empty_frame_samples(*last_toc));
        let mut granule = writer.granule();
        while position >= granule + filler_samples {
            writer
                .write_packet(&opus::empty_frame(*last_toc), filler_samples as u32)
                .map_err(|e| io_reason(stream, &e))?;
            granule += filler_samples;
        }
        writer
            .write_packet(payload, samples)
            .map_err(|e| io_reason(stream, &e))?;
        *last_toc = payload[0];
        Ok(())
    }

    async fn video_packet(
        &mut self,
        stream: Stream,
        packet: &rtp::Packet,
        arrival: Instant,
    ) -> Result<(), String> {
        let Some(assembler) = self.tracks[stream.index()].assembler.as_mut() else {
            return Ok(());
        };
        let frames = assembler.push(
            packet.header.ssrc,
            packet.header.sequence_number,
            packet.header.timestamp,
            packet.header.marker,
            &packet.payload,
            arrival,
        );
        let wants_key_frame = assembler.wants_key_frame();
        for frame in frames {
            self.video_frame(stream, frame)?;
        }
        if wants_key_frame {
            self.keyframe_source(stream).request().await;
        }
        Ok(())
    }

    fn video_frame(&mut self, stream: Stream, frame: super::vp8::Vp8Frame) -> Result<(), String> {
        let track = &mut self.tracks[stream.index()];
        if track.output.is_none() {
            // Start the file at the first key frame, which gives its dimensions.
            let Some((width, height)) = frame.dimensions() else {
                return Ok(());
            };
            self.ensure_dir()?;
            let (file, sync) = create_file(&self.setup.dir, stream)?;
            let writer = IvfWriter::new(file, width, height).map_err(|e| io_reason(stream, &e))?;
            let track = &mut self.tracks[stream.index()];
            track.started_at_ms = now_ms();
            track.output = Some((Output::Video { writer }, sync));
        }
        let track = &mut self.tracks[stream.index()];
        let Placement::At(position) =
            track
                .timeline
                .place(frame.ssrc, frame.timestamp, frame.arrival)
        else {
            return Ok(());
        };
        if let Some((Output::Video { writer }, _)) = track.output.as_mut() {
            writer
                .write_frame(&frame.data, position)
                .map_err(|e| io_reason(stream, &e))?;
        }
        Ok(())
    }

    fn keyframe_source(&self, stream: Stream) -> &Arc<KeyframeSource> {
        match stream {
            Stream::OperatorVideo | Stream::OperatorAudio => &self.setup.operator_video,
            Stream::CitizenVideo | Stream::CitizenAudio => &self.setup.citizen_video,
        }
    }

    /// Lets the assemblers give up on packets that will not come, and writes what that freed.
    async fn poll_video(&mut self, now: Instant) {
        for stream in [Stream::CitizenVideo, Stream::OperatorVideo] {
            let Some(assembler) = self.tracks[stream.index()].assembler.as_mut() else {
                continue;
            };
            let frames = assembler.poll(now);
            let wants_key_frame =
                assembler.wants_key_frame() && self.tracks[stream.index()].output.is_some();
            for frame in frames {
                if let Err(reason) = self.video_frame(stream, frame) {
                    self.stop(reason);
                    return;
                }
            }
            if wants_key_frame {
                self.keyframe_source(stream).request().await;
            }
        }
    }

    fn ensure_dir(&mut self) -> Result<bool, String> {
        if self.dir_ready {
            return Ok(true);
        }
        match std::fs::create_dir(&self.setup.dir) {
            Ok(()) => {
                self.dir_ready = true;
                Ok(true)
            }
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Err(format!(
                "{} already exists; refusing to overwrite an earlier recording",
                self.setup.dir.display()
            )),
            Err(err) => Err(format!("cannot create {}: {err}", self.setup.dir.display())),
        }
    }

    /// Flushes every file to the kernel and starts putting them on disk (`fdatasync`) on the
    /// blocking pool; `None` if there is nothing to sync or the flush failed (then stopped).
    fn flush_and_sync(&mut self) -> Option<tokio::task::JoinHandle<Result<(), String>>> {
        let mut handles = Vec::new();
        let mut failure = None;
        for stream in Stream::ALL {
            let track = &mut self.tracks[stream.index()];
            let Some((output, sync)) = track.output.as_mut() else {
                continue;
            };
            let flushed = match output {
                Output::Audio { writer, .. } => writer.flush(),
                Output::Video { writer } => writer.flush(),
            };
            if let Err(err) = flushed {
                failure = Some(io_reason(stream, &err));
                break;
            }
            match sync.try_clone() {
                Ok(file) => handles.push((stream, file)),
                Err(err) => {
                    failure = Some(io_reason(stream, &err));
                    break;
                }
            }
        }
        self.count_bytes();
        if let Some(reason) = failure {
            self.stop(reason);
            return None;
        }
        if handles.is_empty() {
            return None;
        }
        Some(tokio::task::spawn_blocking(move || {
            for (stream, file) in handles {
                file.sync_data().map_err(|e| io_reason(stream, &e))?;
            }
            Ok(())
        }))
    }

    fn count_bytes(&mut self) {
        for track in &mut self.tracks {
            let written = match track.output.as_ref() {
                Some((Output::Audio { writer, .. }, _)) => writer.bytes_written(),
                Some((Output::Video { writer }, _)) => writer.bytes_written(),
                None => continue,
            };
            let new = written.saturating_sub(track.bytes_counted);
            track.bytes_counted = written;
            self.setup
                .counters
                .bytes_recorded
                .fetch_add(new, Ordering::Relaxed);
        }
    }

    /// Stops recording after an error: closes what can be closed, reports once.
    fn stop(&mut self, reason: String) {
        if self.stopped.is_some() {
            return;
        }
        self.count_bytes();
        // Best effort: the end-of-stream page and frame count may still fit.
        for track in &mut self.tracks {
            if let Some((output, _)) = track.output.take() {
                let _ = match output {
                    Output::Audio { writer, .. } => writer.finish().map(drop),
                    Output::Video { writer } => writer.finish().map(drop),
                };
            }
        }
        self.report(reason);
    }

    /// Records and reports the first error that ends the recording.
    fn report(&mut self, reason: String) {
        if self.stopped.is_some() {
            return;
        }
        tracing::warn!(call_id = %self.setup.call_id, %reason, "recording stopped");
        self.setup
            .counters
            .recording_errors
            .fetch_add(1, Ordering::Relaxed);
        self.stopped = Some(reason.clone());
        self.setup.events.emit(MediaEvent::RecordingStopped {
            call_id: self.setup.call_id.clone(),
            reason,
        });
    }

    async fn finish(&mut self, write_meta: bool) -> RecordingSummary {
        if self.stopped.is_none() {
            self.poll_video(Instant::now() + Duration::from_secs(3_600))
                .await;
        }
        self.count_bytes();
        for stream in [Stream::CitizenVideo, Stream::OperatorVideo] {
            if let Some(assembler) = &self.tracks[stream.index()].assembler {
                tracing::debug!(call_id = %self.setup.call_id, ?stream, stats = ?assembler.stats(), "video reassembly");
            }
        }
        let mut files = Vec::new();
        let mut syncs = Vec::new();
        for stream in Stream::ALL {
            let track = &mut self.tracks[stream.index()];
            let Some((output, sync)) = track.output.take() else {
                continue;
            };
            let started_at_ms = track.started_at_ms;
            let (finished, packets, duration_ms, codec) = match output {
                Output::Audio { writer, .. } => {
                    let (packets, granule) = (writer.packets(), writer.granule());
                    (
                        writer.finish().map(drop),
                        packets,
                        granule * 1000 / u64::from(OPUS_CLOCK_HZ),
                        "opus",
                    )
                }
                Output::Video { writer } => {
                    let (frames, duration) = (writer.frames(), writer.duration_ms());
                    (writer.finish().map(drop), frames, duration, "vp8")
                }
            };
            if let Err(err) = finished {
                self.report(io_reason(stream, &err));
            }
            let bytes = sync.metadata().map(|m| m.len()).unwrap_or(0);
            syncs.push(sync);
            files.push(RecordingFile {
                name: stream.file_name().to_owned(),
                kind: stream.kind(),
                codec: codec.to_owned(),
                bytes,
                packets,
                duration_ms,
                started_at_ms,
            });
        }
        let summary = RecordingSummary {
            call_id: self.setup.call_id.clone(),
            dir: self.setup.dir.clone(),
            started_at_ms: self.setup.started_at_ms,
            ended_at_ms: now_ms(),
            files,
            recording_error: self.stopped.clone(),
        };
        let dir = self.setup.dir.clone();
        let meta = serde_json::to_vec_pretty(&Meta {
            format: META_FORMAT,
            version: META_VERSION,
            summary: &summary,
        });
        let dir_ready = self.dir_ready || (write_meta && self.ensure_dir().is_ok());
        let written = tokio::task::spawn_blocking(move || {
            for file in syncs {
                file.sync_data()?;
            }
            if !dir_ready {
                return Ok(());
            }
            let meta = meta.map_err(std::io::Error::other)?;
            write_meta_file(&dir, &meta)
        })
        .await;
        match written {
            Ok(Ok(())) => {}
            Ok(Err(err)) => {
                self.setup
                    .counters
                    .recording_errors
                    .fetch_add(1, Ordering::Relaxed);
                tracing::warn!(call_id = %self.setup.call_id, error = %err, "could not finish recording");
            }
            Err(err) => {
                self.setup
                    .counters
                    .recording_errors
                    .fetch_add(1, Ordering::Relaxed);
                tracing::warn!(call_id = %self.setup.call_id, error = %err, "could not finish recording");
            }
        }
        summary
    }
}

fn create_file(dir: &Path, stream: Stream) -> Result<(BufWriter<File>, File), String> {
    let path = dir.join(stream.file_name());
    // `create_new` never follows or replaces an existing file or link.
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    let sync = file
        .try_clone()
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    Ok((
        BufWriter::with_capacity(RECORDING_WRITE_BUFFER_BYTES, file),
        sync,
    ))
}

fn write_meta_file(dir: &Path, meta: &[u8]) -> std::io::Result<()> {
    let tmp = dir.join(format!("{META_FILE}.tmp"));
    let mut file = File::create(&tmp)?;
    file.write_all(meta)?;
    file.sync_data()?;
    std::fs::rename(&tmp, dir.join(META_FILE))?;
    File::open(dir)?.sync_all()
}

fn io_reason(stream: Stream, err: &std::io::Error) -> String {
    format!("writing {} failed: {err}", stream.file_name())
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
