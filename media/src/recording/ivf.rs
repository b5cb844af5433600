//! IVF files of VP8 frames: a writer with real presentation timestamps (90 kHz time base, the
//! RTP video clock) and a reader that checks a file and measures it.
//!
//! Written here rather than taken from `rtc-media`'s `IVFWriter`, which numbers frames 0, 1, 2…
//! instead of timing them, and indexes an empty depacketized payload (a panic on bad input).

use std::io::{self, Read, Seek, SeekFrom, Write};

use super::ogg::read_full;

const SIGNATURE: &[u8; 4] = b"DKIF";
const FILE_HEADER_BYTES: u16 = 32;
const FRAME_HEADER_BYTES: usize = 12;
/// Offset of the frame count in the file header, patched when the file is finished.
const FRAME_COUNT_OFFSET: u64 = 24;
/// Time base of the timestamps: 1/90000 s, the RTP clock of every video codec.
pub const VIDEO_CLOCK_HZ: u32 = 90_000;
/// Largest frame a reader accepts, in bytes.
const FRAME_BYTES_MAX: u32 = 64 * 1024 * 1024;

/// Writes VP8 frames into an IVF file.
pub struct IvfWriter<W: Write + Seek> {
    out: W,
    frames: u64,
    first_pts: Option<u64>,
    last_pts: u64,
    bytes_written: u64,
}

impl<W: Write + Seek> IvfWriter<W> {
    /// Starts a file for frames of `width`×`height` (as the first key frame says).
    pub fn new(mut out: W, width: u16, height: u16) -> io::Result<Self> {
        let mut header = Vec::with_capacity(usize::from(FILE_HEADER_BYTES));
        header.extend_from_slice(SIGNATURE);
        header.extend_from_slice(&0u16.to_le_bytes()); // version
        header.extend_from_slice(&FILE_HEADER_BYTES.to_le_bytes());
        header.extend_from_slice(b"VP80");
        header.extend_from_slice(&width.to_le_bytes());
        header.extend_from_slice(&height.to_le_bytes());
        header.extend_from_slice(&VIDEO_CLOCK_HZ.to_le_bytes()); // time base denominator
        header.extend_from_slice(&1u32.to_le_bytes()); // time base numerator
        header.extend_from_slice(&0u32.to_le_bytes()); // frame count, patched by `finish`
        header.extend_from_slice(&0u32.to_le_bytes()); // unused
        out.write_all(&header)?;
        Ok(IvfWriter {
            out,
            frames: 0,
            first_pts: None,
            last_pts: 0,
            bytes_written: header.len() as u64,
        })
    }

    /// Appends one frame presented at `pts` (90 kHz units); a `pts` not after the previous
    /// frame's is moved just after it, so timestamps always increase.
    pub fn write_frame(&mut self, frame: &[u8], pts: u64) -> io::Result<()> {
        let len = u32::try_from(frame.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame too large"))?;
        let pts = match self.first_pts {
            Some(_) if pts <= self.last_pts => self.last_pts + 1,
            _ => pts,
        };
        self.out.write_all(&len.to_le_bytes())?;
        self.out.write_all(&pts.to_le_bytes())?;
        self.out.write_all(frame)?;
        self.first_pts.get_or_insert(pts);
        self.last_pts = pts;
        self.frames += 1;
        self.bytes_written += (FRAME_HEADER_BYTES + frame.len()) as u64;
        Ok(())
    }

    /// Writes buffered data to the output.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Records the frame count in the header, flushes, and returns the output.
    pub fn finish(mut self) -> io::Result<W> {
        let count = u32::try_from(self.frames).unwrap_or(u32::MAX);
        self.out.flush()?;
        self.out.seek(SeekFrom::Start(FRAME_COUNT_OFFSET))?;
        self.out.write_all(&count.to_le_bytes())?;
        self.out.seek(SeekFrom::End(0))?;
        self.out.flush()?;
        Ok(self.out)
    }

    /// Frames written so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Bytes handed to the output so far.
    pub fn bytes_written(&self) -> u64 {
        self.bytes_written
    }

    /// Duration of the frames so far, by [`frames_duration_ms`].
    pub fn duration_ms(&self) -> u64 {
        let first = self.first_pts.unwrap_or(0);
        frames_duration_ms(
            self.frames,
            self.last_pts.saturating_sub(first),
            1,
            VIDEO_CLOCK_HZ,
        )
    }
}

/// How long `frames` frames play whose timestamps span `span` ticks of `num/den` seconds: the
/// span plus one average frame interval, since the last frame also shows for a while.
pub fn frames_duration_ms(frames: u64, span: u64, num: u32, den: u32) -> u64 {
    if frames == 0 || den == 0 {
        return 0;
    }
    let ticks = if frames > 1 {
        span + span / (frames - 1)
    } else {
        0
    };
    u64::try_from(u128::from(ticks) * 1000 * u128::from(num) / u128::from(den)).unwrap_or(u64::MAX)
}

/// What reading an IVF file back found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IvfInfo {
    /// FourCC of the codec, `VP80` for our recordings.
    pub fourcc: [u8; 4],
    /// Width and height from the file header.
    pub width: u16,
    /// Height from the file header.
    pub height: u16,
    /// Duration from the frame timestamps, by [`frames_duration_ms`].
    pub duration_ms: u64,
    /// Complete frames in the file.
    pub frames: u64,
    /// The file ends inside a frame (a crash while recording); the frames before it are usable.
    pub truncated: bool,
}

/// Reads a whole IVF file, checking its header and every frame header.
pub fn read_ivf(mut input: impl Read) -> Result<IvfInfo, String> {
    let mut header = [0u8; FILE_HEADER_BYTES as usize];
    if read_full(&mut input, &mut header).map_err(|e| e.to_string())? < header.len() {
        return Err("file ends inside the IVF header".into());
    }
    if &header[0..4] != SIGNATURE {
        return Err("no DKIF signature".into());
    }
    let le16 = |at: usize| u16::from_le_bytes([header[at], header[at + 1]]);
    let le32 = |at: usize| {
        u32::from_le_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
    };
    let header_size = le16(6);
    if header_size < FILE_HEADER_BYTES {
        return Err(format!(
            "header size {header_size} is below {FILE_HEADER_BYTES}"
        ));
    }
    let mut skip = vec![0u8; usize::from(header_size - FILE_HEADER_BYTES)];
    if read_full(&mut input, &mut skip).map_err(|e| e.to_string())? < skip.len() {
        return Err("file ends inside the IVF header".into());
    }
    let fourcc = [header[8], header[9], header[10], header[11]];
    let (den, num) = (le32(16), le32(20));
    if den == 0 || num == 0 {
        return Err("time base is zero".into());
    }
    let mut frames = 0u64;
    let mut first_pts = None;
    let mut last_pts = 0u64;
    let mut truncated = false;
    let mut frame = Vec::new();
    loop {
        let mut frame_header = [0u8; FRAME_HEADER_BYTES];
        let n = read_full(&mut input, &mut frame_header).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        if n < FRAME_HEADER_BYTES {
            truncated = true;
            break;
        }
        let size = u32::from_le_bytes([
            frame_header[0],
            frame_header[1],
            frame_header[2],
            frame_header[3],
        ]);
        let pts = u64::from_le_bytes(frame_header[4..12].try_into().map_err(|_| "frame header")?);
        if size == 0 || size > FRAME_BYTES_MAX {
            return Err(format!("frame {frames} claims {size} bytes"));
        }
        frame.resize(size as usize, 0);
        if read_full(&mut input, &mut frame).map_err(|e| e.to_string())? < frame.len() {
            truncated = true;
            break;
        }
        if first_pts.is_some() && pts < last_pts {
            return Err(format!("frame {frames} goes back in time"));
        }
        first_pts.get_or_insert(pts);
        last_pts = pts;
        frames += 1;
    }
    let span = last_pts.saturating_sub(first_pts.unwrap_or(0));
    Ok(IvfInfo {
        fourcc,
        width: le16(12),
        height: le16(14),
        duration_ms: frames_duration_ms(frames, span, num, den),
        frames,
        truncated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn round_trip_uses_the_timestamps() {
        let mut writer = IvfWriter::new(Cursor::new(Vec::new()), 16, 16).unwrap();
        for i in 0..30u64 {
            writer
                .write_frame(&[0x10, 0x02, 0x00, i as u8], 1_000 + i * 3_000)
                .unwrap();
        }
        assert_eq!(writer.duration_ms(), 1_000);
        let bytes = writer.finish().unwrap().into_inner();
        assert_eq!(u32::from_le_bytes(bytes[24..28].try_into().unwrap()), 30);
        let info = read_ivf(bytes.as_slice()).unwrap();
        assert_eq!(
            info,
            IvfInfo {
                fourcc: *b"VP80",
                width: 16,
                height: 16,
                duration_ms: 1_000,
                frames: 30,
                truncated: false
            }
        );
        let cut = read_ivf(&bytes[..bytes.len() - 2]).unwrap();
        assert!(cut.truncated);
        assert_eq!(cut.frames, 29);
    }

    #[test]
    fn timestamps_never_go_back() {
        let mut writer = IvfWriter::new(Cursor::new(Vec::new()), 16, 16).unwrap();
        writer.write_frame(&[1], 9_000).unwrap();
        writer.write_frame(&[2], 3_000).unwrap();
        let info = read_ivf(writer.finish().unwrap().into_inner().as_slice()).unwrap();
        assert_eq!(info.frames, 2);
    }

    #[test]
    fn garbage_is_refused() {
        assert!(read_ivf(&b"DKIF"[..]).is_err());
        assert!(read_ivf(&[0u8; 64][..]).is_err());
        let mut writer = IvfWriter::new(Cursor::new(Vec::new()), 16, 16).unwrap();
        writer.write_frame(&[1, 2, 3], 0).unwrap();
        let mut bytes = writer.finish().unwrap().into_inner();
        bytes[32..36].copy_from_slice(&0u32.to_le_bytes());
        assert!(read_ivf(bytes.as_slice()).is_err());
    }
}
