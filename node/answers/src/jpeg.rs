//! Checks that bytes are a JPEG file and reads its size in pixels, without decoding it.
//!
//! The file must start with SOI (`FF D8`), end with EOI (`FF D9`) and carry a start-of-frame
//! segment (SOF0–SOF15 except DHT, JPG and DAC) before the first scan, whose height and width
//! are not zero. Segment lengths are checked against the buffer, so damaged input is an error,
//! never a panic.

/// Why bytes are not a usable JPEG.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JpegError {
    /// No SOI marker at the start: some other format (PNG, text, …).
    NotJpeg,
    /// Starts like a JPEG but its structure is broken (truncated, no frame header, no EOI).
    Corrupt,
}

/// The size of a JPEG in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JpegInfo {
    pub width: u32,
    pub height: u32,
}

const SOI: [u8; 2] = [0xFF, 0xD8];
const EOI: [u8; 2] = [0xFF, 0xD9];
/// Start of scan: the entropy-coded data follows; the frame header must have come before.
const SOS: u8 = 0xDA;

/// Reads the frame size of a JPEG file, checking its markers.
pub fn inspect(bytes: &[u8]) -> Result<JpegInfo, JpegError> {
    if bytes.len() < 4 || bytes[..2] != SOI {
        return Err(JpegError::NotJpeg);
    }
    if bytes[bytes.len() - 2..] != EOI {
        return Err(JpegError::Corrupt);
    }
    let mut at = 2;
    loop {
        // Markers may be preceded by fill bytes 0xFF.
        if *bytes.get(at).ok_or(JpegError::Corrupt)? != 0xFF {
            return Err(JpegError::Corrupt);
        }
        while bytes.get(at) == Some(&0xFF) {
            at += 1;
        }
        let marker = *bytes.get(at).ok_or(JpegError::Corrupt)?;
        at += 1;
        match marker {
            // Standalone markers without a length: TEM, RST0–7.
            0x01 | 0xD0..=0xD7 => continue,
            0xD8 | 0xD9 | SOS | 0x00 => return Err(JpegError::Corrupt),
            _ => {}
        }
        let len = usize::from(u16::from_be_bytes([
            *bytes.get(at).ok_or(JpegError::Corrupt)?,
            *bytes.get(at + 1).ok_or(JpegError::Corrupt)?,
        ]));
        if len < 2 || at + len > bytes.len() {
            return Err(JpegError::Corrupt);
        }
        let segment = &bytes[at + 2..at + len];
        if is_frame_header(marker) {
            // precision (1), height (2), width (2), components (1), ...
            if segment.len() < 6 {
                return Err(JpegError::Corrupt);
            }
            let height = u32::from(u16::from_be_bytes([segment[1], segment[2]]));
            let width = u32::from(u16::from_be_bytes([segment[3], segment[4]]));
            if width == 0 || height == 0 {
                return Err(JpegError::Corrupt);
            }
            return Ok(JpegInfo { width, height });
        }
        at += len;
    }
}

/// SOF0–SOF15 carry the frame header; C4 (DHT), C8 (JPG) and CC (DAC) share the range but not
/// the meaning.
fn is_frame_header(marker: u8) -> bool {
    matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minimal(width: u16, height: u16) -> Vec<u8> {
        let mut b = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x4A, 0x46];
        b.extend([0xFF, 0xC0, 0x00, 0x0B, 0x08]);
        b.extend(height.to_be_bytes());
        b.extend(width.to_be_bytes());
        b.extend([0x01, 0x01, 0x11, 0x00]);
        b.extend([0xFF, 0xD9]);
        b
    }

    #[test]
    fn r12_jpeg_reads_the_frame_size() {
        assert_eq!(
            inspect(&minimal(640, 480)),
            Ok(JpegInfo {
                width: 640,
                height: 480
            })
        );
    }

    #[test]
    fn r12_jpeg_rejects_other_formats_and_damage() {
        assert_eq!(inspect(b"\x89PNG\r\n\x1a\n0000"), Err(JpegError::NotJpeg));
        assert_eq!(inspect(b""), Err(JpegError::NotJpeg));
        assert_eq!(inspect(&[0xFF, 0xD8]), Err(JpegError::NotJpeg));
        assert_eq!(inspect(&minimal(0, 10)), Err(JpegError::Corrupt));
        let full = minimal(10, 10);
        // Every truncation fails cleanly.
        for cut in 4..full.len() {
            assert!(inspect(&full[..cut]).is_err(), "cut at {cut}");
        }
        // A length that runs past the end.
        let mut long = full.clone();
        long[5] = 0xFF;
        assert_eq!(inspect(&long), Err(JpegError::Corrupt));
        // No frame header before the scan.
        assert_eq!(
            inspect(&[0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02, 0xFF, 0xD9]),
            Err(JpegError::Corrupt)
        );
    }
}
