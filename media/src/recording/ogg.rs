//! Ogg Opus files (RFC 3533 pages, RFC 7845 mapping): a writer that packs recorded packets into
//! pages with exact granule positions, and a reader that checks a file and measures it.
//!
//! Written here rather than taken from `rtc-media`'s `OggWriter`, whose granule arithmetic
//! underflows (a panic in debug builds) on a reordered or repeated RTP timestamp and whose
//! `close` repeats the last packet on the end-of-stream page.

use std::io::{self, Read, Write};

use super::opus::OPUS_CLOCK_HZ;

const CAPTURE_PATTERN: &[u8; 4] = b"OggS";
const HEADER_TYPE_BEGINNING_OF_STREAM: u8 = 0x02;
const HEADER_TYPE_END_OF_STREAM: u8 = 0x04;
/// Fixed part of a page header, before the segment table.
const PAGE_HEADER_BYTES: usize = 27;
/// Lacing values one page may hold.
const PAGE_SEGMENTS_MAX: usize = 255;
/// Granule position of a page on which no packet ends.
const GRANULE_NONE: u64 = u64::MAX;
/// Samples a decoder drops at the start. Zero: a 102 recording keeps every sample, and the
/// encoder warm-up it would hide is a few milliseconds.
const PRE_SKIP_SAMPLES: u16 = 0;
const VENDOR: &[u8] = b"mvd102-media";

/// Writes one logical Ogg Opus stream.
///
/// Packets are collected into a page and written when the page is full or on [`flush`]; the
/// newest packet always stays back so that [`finish`] has one to put on the end-of-stream page.
///
/// [`flush`]: OggOpusWriter::flush
/// [`finish`]: OggOpusWriter::finish
pub struct OggOpusWriter<W: Write> {
    out: W,
    serial: u32,
    page_sequence: u32,
    /// Samples decoded from every packet handed in so far.
    granule: u64,
    /// Packets waiting for their page: bytes and the granule at their end.
    pending: Vec<(Vec<u8>, u64)>,
    bytes_written: u64,
    packets: u64,
}

impl<W: Write> OggOpusWriter<W> {
    /// Starts a stream with its two header pages; `channels` is 1 or 2.
    pub fn new(out: W, serial: u32, channels: u8) -> io::Result<Self> {
        let mut writer = OggOpusWriter {
            out,
            serial,
            page_sequence: 0,
            granule: 0,
            pending: Vec::new(),
            bytes_written: 0,
            packets: 0,
        };
        let mut head = Vec::with_capacity(19);
        head.extend_from_slice(b"OpusHead");
        head.push(1); // version
        head.push(channels.clamp(1, 2));
        head.extend_from_slice(&PRE_SKIP_SAMPLES.to_le_bytes());
        head.extend_from_slice(&OPUS_CLOCK_HZ.to_le_bytes()); // input sample rate
        head.extend_from_slice(&0i16.to_le_bytes()); // output gain
        head.push(0); // channel mapping family 0: mono or stereo
        writer.write_page(&[head.as_slice()], HEADER_TYPE_BEGINNING_OF_STREAM, 0)?;

        let mut tags = Vec::with_capacity(8 + 4 + VENDOR.len() + 4);
        tags.extend_from_slice(b"OpusTags");
        tags.extend_from_slice(&(VENDOR.len() as u32).to_le_bytes());
        tags.extend_from_slice(VENDOR);
        tags.extend_from_slice(&0u32.to_le_bytes()); // no user comments
        writer.write_page(&[tags.as_slice()], 0, 0)?;
        Ok(writer)
    }

    /// Adds one Opus packet that decodes to `samples` 48 kHz samples.
    pub fn write_packet(&mut self, packet: &[u8], samples: u32) -> io::Result<()> {
        let segments = packet.len() / 255 + 1;
        if segments > PAGE_SEGMENTS_MAX {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "Opus packet too large for one Ogg page",
            ));
        }
        if self.pending_segments() + segments > PAGE_SEGMENTS_MAX {
            self.write_pending(self.pending.len(), 0)?;
        }
        self.granule += u64::from(samples);
        self.pending.push((packet.to_vec(), self.granule));
        self.packets += 1;
        Ok(())
    }

    /// Writes every waiting packet but the newest as a page, and flushes the output.
    pub fn flush(&mut self) -> io::Result<()> {
        if self.pending.len() > 1 {
            self.write_pending(self.pending.len() - 1, 0)?;
        }
        self.out.flush()
    }

    /// Writes the last page, marked end-of-stream, flushes, and returns the output.
    pub fn finish(mut self) -> io::Result<W> {
        self.write_pending(self.pending.len(), HEADER_TYPE_END_OF_STREAM)?;
        self.out.flush()?;
        Ok(self.out)
    }

    /// Samples in the stream so far, which is its duration at 48 kHz.
    pub fn granule(&self) -> u64 {
        self.granule
    }

    /// Bytes handed to the output so far.
    pub fn bytes_written(&self) -> u64 {
        self.bytes_written
    }

    /// Audio packets in the stream so far.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    fn pending_segments(&self) -> usize {
        self.pending.iter().map(|(p, _)| p.len() / 255 + 1).sum()
    }

    fn write_pending(&mut self, count: usize, header_type: u8) -> io::Result<()> {
        if count == 0 {
            return Ok(());
        }
        let page: Vec<(Vec<u8>, u64)> = self.pending.drain(..count).collect();
        let granule = page.last().map_or(GRANULE_NONE, |(_, g)| *g);
        let packets: Vec<&[u8]> = page.iter().map(|(p, _)| p.as_slice()).collect();
        self.write_page(&packets, header_type, granule)
    }

    fn write_page(&mut self, packets: &[&[u8]], header_type: u8, granule: u64) -> io::Result<()> {
        let mut lacing = Vec::with_capacity(PAGE_SEGMENTS_MAX);
        let mut body_len = 0;
        for packet in packets {
            let mut left = packet.len();
            while left >= 255 {
                lacing.push(255u8);
                left -= 255;
            }
            lacing.push(left as u8);
            body_len += packet.len();
        }
        let mut page = Vec::with_capacity(PAGE_HEADER_BYTES + lacing.len() + body_len);
        page.extend_from_slice(CAPTURE_PATTERN);
        page.push(0); // stream structure version
        page.push(header_type);
        page.extend_from_slice(&granule.to_le_bytes());
        page.extend_from_slice(&self.serial.to_le_bytes());
        page.extend_from_slice(&self.page_sequence.to_le_bytes());
        page.extend_from_slice(&[0; 4]); // checksum, filled in below
        page.push(lacing.len() as u8);
        page.extend_from_slice(&lacing);
        for packet in packets {
            page.extend_from_slice(packet);
        }
        let crc = crc32(&page);
        page[22..26].copy_from_slice(&crc.to_le_bytes());
        self.out.write_all(&page)?;
        self.page_sequence = self.page_sequence.wrapping_add(1);
        self.bytes_written += page.len() as u64;
        Ok(())
    }
}

/// Ogg's CRC-32: polynomial 0x04c11db7, not reflected, initial value and final XOR zero.
fn crc32(data: &[u8]) -> u32 {
    static TABLE: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut table = [0u32; 256];
        for (i, entry) in table.iter_mut().enumerate() {
            let mut r = (i as u32) << 24;
            for _ in 0..8 {
                r = if r & 0x8000_0000 != 0 {
                    (r << 1) ^ 0x04c1_1db7
                } else {
                    r << 1
                };
            }
            *entry = r;
        }
        table
    });
    data.iter().fold(0u32, |crc, byte| {
        (crc << 8) ^ table[usize::from(((crc >> 24) as u8) ^ byte)]
    })
}

/// What reading an Ogg Opus file back found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OggInfo {
    /// Playable duration: last granule position minus pre-skip, in milliseconds.
    pub duration_ms: u64,
    /// Audio packets (the two header packets not counted).
    pub packets: u64,
    /// The file ends inside a page (a crash while recording); everything before it is usable.
    pub truncated: bool,
}

/// Reads a whole Ogg Opus stream, checking every page's capture pattern and checksum.
pub fn read_ogg_opus(mut input: impl Read) -> Result<OggInfo, String> {
    let mut pre_skip = None;
    let mut last_granule = None;
    let mut packets_ended = 0u64;
    let mut page_index = 0u64;
    let mut saw_end = false;
    loop {
        let mut header = [0u8; PAGE_HEADER_BYTES];
        match read_full(&mut input, &mut header) {
            Ok(0) => break,
            Ok(n) if n < PAGE_HEADER_BYTES => {
                return truncated(pre_skip, last_granule, packets_ended)
            }
            Ok(_) => {}
            Err(err) => return Err(err.to_string()),
        }
        if &header[0..4] != CAPTURE_PATTERN {
            return Err(format!("page {page_index} has no Ogg capture pattern"));
        }
        if saw_end {
            return Err("data after the end-of-stream page".into());
        }
        let header_type = header[5];
        let granule = u64::from_le_bytes(header[6..14].try_into().map_err(|_| "header")?);
        let stored_crc = u32::from_le_bytes(header[22..26].try_into().map_err(|_| "header")?);
        let segments = usize::from(header[26]);
        let mut lacing = vec![0u8; segments];
        if read_full(&mut input, &mut lacing).map_err(|e| e.to_string())? < segments {
            return truncated(pre_skip, last_granule, packets_ended);
        }
        let body_len: usize = lacing.iter().map(|&l| usize::from(l)).sum();
        let mut body = vec![0u8; body_len];
        if read_full(&mut input, &mut body).map_err(|e| e.to_string())? < body_len {
            return truncated(pre_skip, last_granule, packets_ended);
        }
        let mut page = Vec::with_capacity(PAGE_HEADER_BYTES + segments + body_len);
        page.extend_from_slice(&header);
        page[22..26].copy_from_slice(&[0; 4]);
        page.extend_from_slice(&lacing);
        page.extend_from_slice(&body);
        if crc32(&page) != stored_crc {
            return Err(format!("page {page_index} fails its checksum"));
        }
        match page_index {
            0 => {
                if header_type & HEADER_TYPE_BEGINNING_OF_STREAM == 0
                    || body.len() < 19
                    || &body[0..8] != b"OpusHead"
                {
                    return Err("first page is not an OpusHead header".into());
                }
                pre_skip = Some(u64::from(u16::from_le_bytes([body[10], body[11]])));
            }
            1 => {
                if body.len() < 8 || &body[0..8] != b"OpusTags" {
                    return Err("second page is not an OpusTags header".into());
                }
            }
            _ => {
                packets_ended += lacing.iter().filter(|&&l| l < 255).count() as u64;
                if granule != GRANULE_NONE {
                    if last_granule.is_some_and(|last| granule < last) {
                        return Err(format!("page {page_index} goes back in time"));
                    }
                    last_granule = Some(granule);
                }
            }
        }
        saw_end = header_type & HEADER_TYPE_END_OF_STREAM != 0;
        page_index += 1;
    }
    let pre_skip = pre_skip.ok_or("empty file")?;
    Ok(OggInfo {
        duration_ms: duration_ms(last_granule, pre_skip),
        packets: packets_ended,
        truncated: !saw_end,
    })
}

fn truncated(
    pre_skip: Option<u64>,
    last_granule: Option<u64>,
    packets: u64,
) -> Result<OggInfo, String> {
    let pre_skip = pre_skip.ok_or("file ends inside its first page")?;
    Ok(OggInfo {
        duration_ms: duration_ms(last_granule, pre_skip),
        packets,
        truncated: true,
    })
}

fn duration_ms(last_granule: Option<u64>, pre_skip: u64) -> u64 {
    last_granule.unwrap_or(0).saturating_sub(pre_skip) * 1000 / u64::from(OPUS_CLOCK_HZ)
}

/// Reads until `buf` is full or the input ends; returns how much was read.
pub(crate) fn read_full(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(packets: &[(&[u8], u32)], flush_every: usize) -> Vec<u8> {
        let mut writer = OggOpusWriter::new(Vec::new(), 7, 2).unwrap();
        for (i, (packet, samples)) in packets.iter().enumerate() {
            writer.write_packet(packet, *samples).unwrap();
            if flush_every > 0 && i % flush_every == 0 {
                writer.flush().unwrap();
            }
        }
        writer.finish().unwrap()
    }

    #[test]
    fn round_trip_measures_duration_and_packets() {
        let frame: &[u8] = &[0xf8, 0xff, 0xfe];
        for flush_every in [0, 1, 7] {
            let bytes = write(&vec![(frame, 960); 150], flush_every);
            let info = read_ogg_opus(bytes.as_slice()).unwrap();
            assert_eq!(
                info,
                OggInfo {
                    duration_ms: 3_000,
                    packets: 150,
                    truncated: false
                },
                "flush every {flush_every}"
            );
        }
    }

    #[test]
    fn large_packets_split_pages_and_lacing() {
        let big = vec![0xf8u8; 1_000]; // four lacing values each
        let bytes = write(&vec![(big.as_slice(), 960); 200], 0);
        let info = read_ogg_opus(bytes.as_slice()).unwrap();
        assert_eq!(info.packets, 200);
        assert_eq!(info.duration_ms, 4_000);
    }

    #[test]
    fn truncation_and_corruption_are_told_apart() {
        let frame: &[u8] = &[0xf8, 0xff, 0xfe];
        let bytes = write(&vec![(frame, 960); 100], 10);
        let cut = &bytes[..bytes.len() - 5];
        let info = read_ogg_opus(cut).unwrap();
        assert!(info.truncated);
        assert!(info.duration_ms > 0 && info.duration_ms < 2_000);

        let mut corrupt = bytes.clone();
        let last = corrupt.len() - 1;
        corrupt[last] ^= 0xff;
        assert!(read_ogg_opus(corrupt.as_slice())
            .unwrap_err()
            .contains("checksum"));
        assert!(read_ogg_opus(&b"not an ogg file at all, no"[..]).is_err());
        assert!(read_ogg_opus(&b""[..]).is_err());
    }

    #[test]
    fn crc_matches_the_ogg_reference_value() {
        // Ogg's CRC is CRC-32/POSIX (check value 0x765e7680) without the final XOR.
        assert_eq!(crc32(b"123456789"), 0x89a1_897f);
    }
}
