//! Just enough of Opus (RFC 6716 §3.1) to know how long a packet plays, without decoding it.

/// Samples per second of every Opus stream's timeline (RTP clock and Ogg granule).
pub const OPUS_CLOCK_HZ: u32 = 48_000;

/// Longest audio one Opus packet may carry (RFC 6716 §3.2.5: 120 ms), in 48 kHz samples.
const OPUS_PACKET_SAMPLES_MAX: u32 = 5_760;

/// Samples (48 kHz) of one frame for a TOC configuration number (0..=31).
fn frame_samples(config: u8) -> u32 {
    match config {
        // SILK-only NB/MB/WB: 10, 20, 40, 60 ms.
        0..=11 => [480, 960, 1_920, 2_880][usize::from(config % 4)],
        // Hybrid SWB/FB: 10, 20 ms.
        12..=15 => [480, 960][usize::from(config % 2)],
        // CELT-only NB/WB/SWB/FB: 2.5, 5, 10, 20 ms.
        _ => [120, 240, 480, 960][usize::from(config % 4)],
    }
}

/// How many 48 kHz samples an Opus packet decodes to, or `None` if it is not a valid packet.
pub fn packet_samples(packet: &[u8]) -> Option<u32> {
    let toc = *packet.first()?;
    let per_frame = frame_samples(toc >> 3);
    let frames = match toc & 0x03 {
        0 => 1,
        1 | 2 => 2,
        _ => {
            let count = u32::from(*packet.get(1)? & 0x3f);
            if count == 0 {
                return None;
            }
            count
        }
    };
    let samples = per_frame * frames;
    (samples <= OPUS_PACKET_SAMPLES_MAX).then_some(samples)
}

/// Whether the packet's TOC says stereo.
pub fn is_stereo(packet: &[u8]) -> bool {
    packet.first().is_some_and(|toc| toc & 0x04 != 0)
}

/// A one-byte packet with `toc`'s configuration and a single empty frame: RFC 6716 §3.2.1 lets
/// a decoder treat it as a lost frame, so it stands for silence (concealment) of one frame.
pub fn empty_frame(toc: u8) -> [u8; 1] {
    [toc & !0x03]
}

/// Duration of the single frame [`empty_frame`] stands for, in 48 kHz samples.
pub fn empty_frame_samples(toc: u8) -> u32 {
    frame_samples(toc >> 3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_follow_the_toc() {
        let check = |packet: &[u8], expect: Option<u32>| {
            assert_eq!(packet_samples(packet), expect, "packet {packet:02x?}");
        };
        check(&[], None);
        check(&[0xf8, 0xff, 0xfe], Some(960)); // CELT FB 20 ms, the usual WebRTC silence frame
        check(&[0x78, 1, 2], Some(960)); // Hybrid FB 20 ms
        check(&[0x08], Some(960)); // SILK NB 20 ms, empty frame
        check(&[0x18], Some(2_880)); // SILK NB 60 ms
        check(&[0xf9, 1, 2], Some(1_920)); // two CELT 20 ms frames
        check(&[0xfb], None); // code 3 without its count byte
        check(&[0xfb, 0x00], None); // code 3 with zero frames
        check(&[0xfb, 0x06], Some(5_760)); // six 20 ms frames = 120 ms
        check(&[0xfb, 0x07], None); // 140 ms is more than a packet may hold
        check(&[0xe3, 0x30], Some(5_760)); // 48 frames of 2.5 ms
    }

    #[test]
    fn empty_frames_keep_the_configuration() {
        assert_eq!(empty_frame(0xfb), [0xf8]);
        assert_eq!(packet_samples(&empty_frame(0xfb)), Some(960));
        assert_eq!(empty_frame_samples(0xe3), 120);
    }
}
