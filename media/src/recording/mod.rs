//! Recording files: Ogg Opus for audio, IVF VP8 for video, and reading them back.

pub(crate) mod ivf;
pub(crate) mod ogg;
pub(crate) mod opus;
pub(crate) mod recorder;
pub(crate) mod timeline;
pub(crate) mod vp8;

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use crate::error::MediaError;
use crate::limits::RECORDING_FILE_BYTES_MAX;
pub use recorder::MediaKind;

/// What a recording file holds, read back from disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingInfo {
    /// Audio (Ogg Opus) or video (IVF VP8).
    pub kind: MediaKind,
    /// `opus` or `vp8`.
    pub codec: String,
    /// Duration from the media timestamps.
    pub duration_ms: u64,
    /// Audio packets or video frames.
    pub packets: u64,
    /// The file ends mid-page or mid-frame (the process stopped while recording); everything
    /// before that point plays.
    pub truncated: bool,
}

/// Reads a recording (`.ogg` Opus or `.ivf` VP8, told apart by content) and checks it through:
/// every Ogg page's checksum, every IVF frame header.
pub fn inspect_recording(path: &Path) -> Result<RecordingInfo, MediaError> {
    let file = File::open(path).map_err(|e| MediaError::io(path, e))?;
    let len = file.metadata().map_err(|e| MediaError::io(path, e))?.len();
    if len > RECORDING_FILE_BYTES_MAX {
        return Err(bad(
            path,
            format!("{len} bytes is more than a recording can be"),
        ));
    }
    let mut input = BufReader::new(file);
    let mut magic = [0u8; 4];
    let n = ogg::read_full(&mut input, &mut magic).map_err(|e| MediaError::io(path, e))?;
    let input = magic[..n].chain(input);
    match &magic {
        b"OggS" => {
            let info = ogg::read_ogg_opus(input).map_err(|reason| bad(path, reason))?;
            Ok(RecordingInfo {
                kind: MediaKind::Audio,
                codec: "opus".into(),
                duration_ms: info.duration_ms,
                packets: info.packets,
                truncated: info.truncated,
            })
        }
        b"DKIF" => {
            let info = ivf::read_ivf(input).map_err(|reason| bad(path, reason))?;
            if &info.fourcc != b"VP80" {
                return Err(bad(path, "IVF file is not VP8".into()));
            }
            Ok(RecordingInfo {
                kind: MediaKind::Video,
                codec: "vp8".into(),
                duration_ms: info.duration_ms,
                packets: info.frames,
                truncated: info.truncated,
            })
        }
        _ => Err(bad(path, "neither an Ogg nor an IVF file".into())),
    }
}

/// Duration of a recording file read back from disk, in milliseconds (see [`inspect_recording`]).
pub fn recording_duration_ms(path: &Path) -> Result<u64, MediaError> {
    inspect_recording(path).map(|info| info.duration_ms)
}

fn bad(path: &Path, reason: String) -> MediaError {
    MediaError::BadRecording {
        path: path.to_owned(),
        reason,
    }
}
