//! Reassembles VP8 frames from RTP packets (RFC 7741) for the recorder.
//!
//! A small reorder window replaces `rtc-media`'s `SampleBuilder`, which allocates two
//! 65,536-entry tables (about 13 MB) per stream — too much for a hundred recorded calls. Payload
//! descriptors are parsed by `rtc`'s own VP8 depacketizer.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use rtc::rtp::codec::vp8::Vp8Packet;
use rtc::rtp::packetizer::Depacketizer;

use crate::limits::{VIDEO_FRAME_BYTES_MAX, VIDEO_REORDER_PACKETS_MAX, VIDEO_REORDER_WINDOW_MS};

/// One complete VP8 frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vp8Frame {
    /// The RTP source the frame came from.
    pub ssrc: u32,
    /// RTP timestamp of the frame (90 kHz).
    pub timestamp: u32,
    /// The VP8 bitstream of the frame.
    pub data: Bytes,
    /// Whether it is a key frame.
    pub key: bool,
    /// When its last packet arrived.
    pub arrival: Instant,
}

impl Vp8Frame {
    /// Width and height from a key frame's header (RFC 6386 §9.1), if this is one.
    pub fn dimensions(&self) -> Option<(u16, u16)> {
        key_frame_dimensions(&self.data)
    }
}

/// Width and height of a VP8 key frame, or `None` if `data` is not a key frame.
pub fn key_frame_dimensions(data: &[u8]) -> Option<(u16, u16)> {
    if data.len() < 10 || data[0] & 0x01 != 0 || data[3..6] != [0x9d, 0x01, 0x2a] {
        return None;
    }
    let width = u16::from_le_bytes([data[6], data[7]]) & 0x3fff;
    let height = u16::from_le_bytes([data[8], data[9]]) & 0x3fff;
    Some((width, height))
}

#[derive(Debug)]
struct Fragment {
    timestamp: u32,
    marker: bool,
    /// First packet of the frame: S bit set and partition index 0.
    start: bool,
    data: Bytes,
    arrival: Instant,
}

/// Counters of what the assembler had to give up.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Vp8AssemblerStats {
    /// Packets whose VP8 payload descriptor could not be parsed.
    pub malformed_packets: u64,
    /// Frames given up because a packet never arrived or the frame was too large.
    pub incomplete_frames: u64,
    /// Complete frames dropped while waiting for a key frame after a loss.
    pub skipped_frames: u64,
}

/// Reorders packets by sequence number and emits whole frames in order.
///
/// After a frame is lost, later delta frames cannot be decoded, so they are skipped until the
/// next key frame and [`Vp8Assembler::wants_key_frame`] turns true until one arrives.
#[derive(Debug, Default)]
pub struct Vp8Assembler {
    ssrc: Option<u32>,
    /// Highest extended sequence number seen.
    highest: Option<u64>,
    /// Extended sequence number of the next packet to emit.
    next: Option<u64>,
    pending: BTreeMap<u64, Fragment>,
    waiting_for_key_frame: bool,
    stats: Vp8AssemblerStats,
}

impl Vp8Assembler {
    /// Takes one RTP packet and returns the frames it completed, oldest first.
    pub fn push(
        &mut self,
        ssrc: u32,
        sequence_number: u16,
        timestamp: u32,
        marker: bool,
        payload: &Bytes,
        now: Instant,
    ) -> Vec<Vp8Frame> {
        if self.ssrc != Some(ssrc) {
            // A new source starts its own numbering; what was pending from the old one is lost.
            if self.ssrc.is_some() && !self.pending.is_empty() {
                self.stats.incomplete_frames += 1;
            }
            *self = Vp8Assembler {
                ssrc: Some(ssrc),
                waiting_for_key_frame: true,
                stats: self.stats,
                ..Vp8Assembler::default()
            };
        }
        let mut descriptor = Vp8Packet::default();
        let Ok(data) = descriptor.depacketize(payload) else {
            self.stats.malformed_packets += 1;
            return Vec::new();
        };
        let extended = self.extend(sequence_number);
        if self.next.is_some_and(|next| extended < next) {
            return Vec::new(); // a duplicate, or too late: its frame was emitted or given up
        }
        self.pending.entry(extended).or_insert(Fragment {
            timestamp,
            marker,
            start: descriptor.s == 1 && descriptor.pid == 0,
            data,
            arrival: now,
        });
        self.drain(now)
    }

    /// Gives up on packets that waited longer than the reorder window; call it now and then
    /// so a lost last packet does not hold frames back until the next packet arrives.
    pub fn poll(&mut self, now: Instant) -> Vec<Vp8Frame> {
        self.drain(now)
    }

    /// Whether a key frame is needed to go on (a frame was lost since the last one).
    pub fn wants_key_frame(&self) -> bool {
        self.waiting_for_key_frame
    }

    /// What had to be given up so far.
    pub fn stats(&self) -> Vp8AssemblerStats {
        self.stats
    }

    fn extend(&mut self, sequence_number: u16) -> u64 {
        // Start high so that packets just before the first one still fit below it.
        let extended = match self.highest {
            None => (1u64 << 32) + u64::from(sequence_number),
            Some(highest) => {
                let delta = i64::from(sequence_number.wrapping_sub(highest as u16) as i16);
                highest.saturating_add_signed(delta)
            }
        };
        if self.highest.is_none_or(|highest| extended > highest) {
            self.highest = Some(extended);
        }
        extended
    }

    fn overdue(&self, now: Instant) -> bool {
        let window = Duration::from_millis(VIDEO_REORDER_WINDOW_MS);
        self.pending.len() > VIDEO_REORDER_PACKETS_MAX
            || self
                .pending
                .values()
                .next()
                .is_some_and(|oldest| now.saturating_duration_since(oldest.arrival) > window)
    }

    /// Drops the oldest pending frame (everything up to the next frame start) as lost.
    fn give_up_oldest(&mut self) {
        let mut dropped_any = false;
        while let Some(entry) = self.pending.first_entry() {
            if dropped_any && entry.get().start {
                break;
            }
            let (seq, _) = entry.remove_entry();
            self.next = Some(seq + 1);
            dropped_any = true;
        }
        if let Some((&seq, _)) = self.pending.first_key_value() {
            self.next = Some(seq);
        }
        self.stats.incomplete_frames += 1;
        self.waiting_for_key_frame = true;
    }

    fn drain(&mut self, now: Instant) -> Vec<Vp8Frame> {
        let mut frames = Vec::new();
        while let Some((&first_seq, first)) = self.pending.first_key_value() {
            let gap_before = self.next.is_some_and(|next| first_seq > next);
            if gap_before || !first.start {
                // The frame's head is missing: wait for a retransmission, within the window.
                if self.overdue(now) {
                    self.give_up_oldest();
                    continue;
                }
                break;
            }
            match self.complete_frame_end(first_seq) {
                Some(last_seq) => {
                    if let Some(frame) = self.take_frame(first_seq, last_seq) {
                        frames.push(frame);
                    }
                }
                None if self.overdue(now) => self.give_up_oldest(),
                None => break,
            }
        }
        frames
    }

    /// The last sequence number of the frame starting at `first_seq`, if all its packets are here.
    fn complete_frame_end(&self, first_seq: u64) -> Option<u64> {
        let timestamp = self.pending.get(&first_seq)?.timestamp;
        let mut seq = first_seq;
        loop {
            let fragment = self.pending.get(&seq)?;
            if fragment.timestamp != timestamp {
                // The next frame began without our frame's marker: it ended at the packet before.
                return Some(seq - 1);
            }
            if fragment.marker {
                return Some(seq);
            }
            seq += 1;
        }
    }

    fn take_frame(&mut self, first_seq: u64, last_seq: u64) -> Option<Vp8Frame> {
        let mut data = BytesMut::new();
        let mut timestamp = 0;
        let mut arrival = None;
        let mut too_large = false;
        for seq in first_seq..=last_seq {
            if let Some(fragment) = self.pending.remove(&seq) {
                timestamp = fragment.timestamp;
                arrival = Some(fragment.arrival);
                if data.len() + fragment.data.len() > VIDEO_FRAME_BYTES_MAX {
                    too_large = true;
                } else {
                    data.extend_from_slice(&fragment.data);
                }
            }
        }
        self.next = Some(last_seq + 1);
        let arrival = arrival?;
        if too_large || data.is_empty() {
            self.stats.incomplete_frames += 1;
            self.waiting_for_key_frame = true;
            return None;
        }
        let key = data[0] & 0x01 == 0;
        if self.waiting_for_key_frame && !key {
            self.stats.skipped_frames += 1;
            return None;
        }
        self.waiting_for_key_frame = false;
        Some(Vp8Frame {
            ssrc: self.ssrc.unwrap_or_default(),
            timestamp,
            data: data.freeze(),
            key,
            arrival,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = &[
        0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x10, 0x00, 0x10, 0x00, 0xaa,
    ];
    const DELTA: &[u8] = &[0x31, 0x02, 0x00, 0xbb, 0xcc];

    /// RTP payloads for one frame split into `parts` packets.
    fn packetize(frame: &[u8], parts: usize) -> Vec<Bytes> {
        let chunk = frame.len().div_ceil(parts);
        frame
            .chunks(chunk)
            .enumerate()
            .map(|(i, piece)| {
                let mut payload = vec![if i == 0 { 0x10 } else { 0x00 }];
                payload.extend_from_slice(piece);
                // depacketize needs at least 4 bytes of payload
                while payload.len() < 4 {
                    payload.push(0);
                }
                Bytes::from(payload)
            })
            .collect()
    }

    struct Sent {
        seq: u16,
        ts: u32,
        marker: bool,
        payload: Bytes,
    }

    fn stream(frames: &[(&[u8], u32)], parts: usize, first_seq: u16) -> Vec<Sent> {
        let mut seq = first_seq;
        let mut out = Vec::new();
        for (frame, ts) in frames {
            let payloads = packetize(frame, parts);
            let last = payloads.len() - 1;
            for (i, payload) in payloads.into_iter().enumerate() {
                out.push(Sent {
                    seq,
                    ts: *ts,
                    marker: i == last,
                    payload,
                });
                seq = seq.wrapping_add(1);
            }
        }
        out
    }

    fn feed(
        assembler: &mut Vp8Assembler,
        sent: &[Sent],
        order: &[usize],
        now: Instant,
    ) -> Vec<u32> {
        let mut got = Vec::new();
        for &i in order {
            let p = &sent[i];
            for frame in assembler.push(1, p.seq, p.ts, p.marker, &p.payload, now) {
                got.push(frame.timestamp);
            }
        }
        got
    }

    #[test]
    fn in_order_and_reordered_packets_make_the_same_frames() {
        let frames = [(KEY, 0), (DELTA, 3_000), (DELTA, 6_000)];
        let sent = stream(&frames, 3, 65_534); // wraps the sequence number
        let now = Instant::now();
        let mut a = Vp8Assembler::default();
        assert_eq!(
            feed(&mut a, &sent, &(0..sent.len()).collect::<Vec<_>>(), now),
            [0, 3_000, 6_000]
        );
        let mut b = Vp8Assembler::default();
        let order = [0, 2, 1, 4, 3, 5, 8, 7, 6];
        assert_eq!(feed(&mut b, &sent, &order, now), [0, 3_000, 6_000]);
        assert_eq!(b.stats(), Vp8AssemblerStats::default());
    }

    #[test]
    fn a_lost_packet_skips_to_the_next_key_frame_after_the_window() {
        let frames = [(KEY, 0), (DELTA, 3_000), (DELTA, 6_000), (KEY, 9_000)];
        let sent = stream(&frames, 2, 100);
        let start = Instant::now();
        let mut a = Vp8Assembler::default();
        // Packet 2 (first half of the first delta frame) never arrives.
        assert_eq!(feed(&mut a, &sent, &[0, 1, 3, 4, 5], start), [0]);
        assert!(!a.wants_key_frame());
        let later = start + Duration::from_millis(VIDEO_REORDER_WINDOW_MS + 1);
        assert!(a.poll(later).is_empty());
        assert!(a.wants_key_frame());
        assert_eq!(feed(&mut a, &sent, &[6, 7], later), [9_000]);
        assert!(!a.wants_key_frame());
        let stats = a.stats();
        assert_eq!(stats.incomplete_frames, 1);
        assert_eq!(stats.skipped_frames, 1);
    }

    #[test]
    fn garbage_never_panics() {
        let mut a = Vp8Assembler::default();
        let now = Instant::now();
        for payload in [
            &[][..],
            &[0x90][..],
            &[0xff, 0xff, 0xff, 0xff][..],
            &[0x10, 0, 0, 0][..],
        ] {
            a.push(1, 1, 1, true, &Bytes::copy_from_slice(payload), now);
        }
        for seq in 0..3_000u16 {
            a.push(
                1,
                seq.wrapping_mul(7919),
                u32::from(seq),
                seq % 3 == 0,
                &Bytes::from_static(&[0x00, 1, 2, 3]),
                now,
            );
        }
        assert!(a.pending.len() <= VIDEO_REORDER_PACKETS_MAX + 1);
    }

    #[test]
    fn key_frame_dimensions_are_read() {
        assert_eq!(key_frame_dimensions(KEY), Some((16, 16)));
        assert_eq!(key_frame_dimensions(DELTA), None);
        assert_eq!(key_frame_dimensions(&KEY[..5]), None);
    }
}
