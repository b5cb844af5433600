//! RTP header rewriting for forwarding one leg's media into another leg's track.
//!
//! Each output track has its own SSRC and negotiated payload type. When the source behind it
//! changes (a transfer to another operator) sequence numbers and timestamps continue where the
//! previous source stopped, so the receiving browser sees one uninterrupted stream instead of a
//! jump it would treat as massive loss.

use std::time::Instant;

use rtc::rtp::header::Header;

#[derive(Debug, Clone, Copy)]
struct Source {
    ssrc: u32,
    sequence_offset: u16,
    timestamp_offset: u32,
}

/// Rewrites headers of packets forwarded into one output track.
#[derive(Debug)]
pub struct HeaderRewriter {
    out_ssrc: u32,
    out_payload_type: u8,
    clock_hz: u32,
    source: Option<Source>,
    /// Last sequence number, timestamp and send time written, to continue from on a switch.
    last_out: Option<(u16, u32, Instant)>,
}

impl HeaderRewriter {
    /// A rewriter for a track sending as `out_ssrc` with `out_payload_type`, clock `clock_hz`.
    pub fn new(out_ssrc: u32, out_payload_type: u8, clock_hz: u32) -> Self {
        HeaderRewriter {
            out_ssrc,
            out_payload_type,
            clock_hz,
            source: None,
            last_out: None,
        }
    }

    /// Rewrites `header` in place for sending at `now`.
    pub fn rewrite(&mut self, header: &mut Header, now: Instant) {
        let source = match self.source {
            Some(source) if source.ssrc == header.ssrc => source,
            _ => {
                let source = match self.last_out {
                    // Keep the first source's numbering as it is.
                    None => Source {
                        ssrc: header.ssrc,
                        sequence_offset: 0,
                        timestamp_offset: 0,
                    },
                    Some((last_seq, last_ts, last_at)) => {
                        let elapsed = now.saturating_duration_since(last_at);
                        let ticks = (elapsed.as_micros() * u128::from(self.clock_hz) / 1_000_000)
                            .clamp(1, u128::from(u32::MAX / 2))
                            as u32;
                        Source {
                            ssrc: header.ssrc,
                            sequence_offset: last_seq
                                .wrapping_add(1)
                                .wrapping_sub(header.sequence_number),
                            timestamp_offset: last_ts
                                .wrapping_add(ticks)
                                .wrapping_sub(header.timestamp),
                        }
                    }
                };
                self.source = Some(source);
                source
            }
        };
        header.ssrc = self.out_ssrc;
        header.payload_type = self.out_payload_type;
        header.sequence_number = header.sequence_number.wrapping_add(source.sequence_offset);
        header.timestamp = header.timestamp.wrapping_add(source.timestamp_offset);
        // Extension ids are negotiated per leg; the sending leg's interceptors add their own.
        header.extension = false;
        header.extensions.clear();
        header.extension_profile = 0;
        header.extensions_padding = 0;
        header.csrc.clear();
        let newer = self
            .last_out
            .is_none_or(|(seq, _, _)| header.sequence_number.wrapping_sub(seq) < 0x8000);
        if newer {
            self.last_out = Some((header.sequence_number, header.timestamp, now));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtc::rtp::header::Header;
    use std::time::Duration;

    fn header(ssrc: u32, seq: u16, ts: u32) -> Header {
        Header {
            version: 2,
            ssrc,
            sequence_number: seq,
            timestamp: ts,
            payload_type: 111,
            ..Header::default()
        }
    }

    #[test]
    fn a_new_source_continues_the_numbering() {
        let t0 = Instant::now();
        let mut rewriter = HeaderRewriter::new(42, 96, 48_000);
        let check = |rewriter: &mut HeaderRewriter, input: Header, ms: u64, expect: (u16, u32)| {
            let mut h = input;
            rewriter.rewrite(&mut h, t0 + Duration::from_millis(ms));
            assert_eq!((h.ssrc, h.payload_type), (42, 96));
            assert_eq!((h.sequence_number, h.timestamp), expect);
        };
        check(&mut rewriter, header(1, 65_535, 1_000), 0, (65_535, 1_000));
        check(&mut rewriter, header(1, 0, 1_960), 20, (0, 1_960));
        check(&mut rewriter, header(1, 65_535, 1_000), 21, (65_535, 1_000)); // late stays put
                                                                             // Transfer: operator B starts 500 ms later with unrelated numbering.
        check(
            &mut rewriter,
            header(2, 30_000, 7),
            520,
            (1, 1_960 + 24_000),
        );
        check(
            &mut rewriter,
            header(2, 30_001, 967),
            540,
            (2, 1_960 + 24_960),
        );
    }
}
