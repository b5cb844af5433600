//! Places RTP packets of one recorded stream on a single timeline that starts at zero, across
//! timestamp wrap-around, gaps and changes of source (an operator transfer).

use std::time::Instant;

/// Where a packet goes on the recording's timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// At this position, in clock ticks since the first packet.
    At(u64),
    /// Behind what is already recorded (a duplicate or a late reordered packet): skip it.
    Stale,
}

#[derive(Debug, Clone, Copy)]
struct Last {
    ssrc: u32,
    timestamp: u32,
    arrival: Instant,
    position: u64,
}

/// The timeline of one stream with an RTP clock of `clock_hz`.
#[derive(Debug)]
pub struct Timeline {
    clock_hz: u32,
    gap_max_ticks: u64,
    last: Option<Last>,
}

impl Timeline {
    /// A timeline that never jumps further ahead than `gap_max_ms` between two packets.
    pub fn new(clock_hz: u32, gap_max_ms: u64) -> Self {
        Timeline {
            clock_hz,
            gap_max_ticks: gap_max_ms * u64::from(clock_hz) / 1000,
            last: None,
        }
    }

    /// Places a packet (or, for video, a whole frame) with RTP `timestamp` from `ssrc` that
    /// arrived at `arrival`. A timestamp not after the previous one of the same source is stale.
    pub fn place(&mut self, ssrc: u32, timestamp: u32, arrival: Instant) -> Placement {
        let position = match self.last {
            None => 0,
            Some(last) if last.ssrc == ssrc => {
                let delta = timestamp.wrapping_sub(last.timestamp) as i32;
                if delta <= 0 {
                    return Placement::Stale;
                }
                let delta = delta as u64;
                if delta > self.gap_max_ticks {
                    // A jump no stream makes: the sender restarted its clock. Trust arrival time.
                    last.position + self.arrival_ticks(last.arrival, arrival)
                } else {
                    last.position + delta
                }
            }
            Some(last) => last.position + self.arrival_ticks(last.arrival, arrival).max(1),
        };
        self.last = Some(Last {
            ssrc,
            timestamp,
            arrival,
            position,
        });
        Placement::At(position)
    }

    fn arrival_ticks(&self, from: Instant, to: Instant) -> u64 {
        let elapsed = to.saturating_duration_since(from);
        let ticks = elapsed.as_micros() * u128::from(self.clock_hz) / 1_000_000;
        u64::try_from(ticks)
            .unwrap_or(u64::MAX)
            .min(self.gap_max_ticks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn follows_timestamps_across_wrap_gaps_and_source_changes() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut line = Timeline::new(48_000, 10_000);
        let check = |line: &mut Timeline, ssrc, ts: u32, ms, expect| {
            assert_eq!(line.place(ssrc, ts, at(ms)), expect, "ssrc {ssrc} ts {ts}");
        };
        check(&mut line, 1, u32::MAX - 959, 0, Placement::At(0));
        check(&mut line, 1, 0, 20, Placement::At(960)); // wraps
        check(&mut line, 1, 0, 20, Placement::Stale); // a duplicate
        check(&mut line, 1, u32::MAX - 959, 25, Placement::Stale); // late
        check(&mut line, 1, 2_880, 80, Placement::At(3_840)); // two packets lost
        check(&mut line, 1, 2_000_000_000, 100, Placement::At(3_840 + 960)); // clock restart
                                                                             // Another operator after 1 s: placed by arrival time.
        check(&mut line, 2, 5, 1_100, Placement::At(4_800 + 48_000));
        check(
            &mut line,
            2,
            965,
            1_120,
            Placement::At(4_800 + 48_000 + 960),
        );
        // After an hour, the gap is capped.
        check(
            &mut line,
            3,
            0,
            3_600_000,
            Placement::At(4_800 + 48_000 + 960 + 480_000),
        );
    }
}
