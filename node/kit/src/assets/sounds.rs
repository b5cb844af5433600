//! The console's alert sounds, synthesised once as WAV files (16-bit mono PCM) and served from
//! the kit route as `/kit/{code}.wav`: a telephone ring for a ringing call, a siren for SOS,
//! a chime for a new card in the ГУСС queue and a double beep for an overdue unit. Pure
//! functions of the sound's code; no file on disk, the same bytes on every start.

use std::f64::consts::PI;
use std::sync::OnceLock;

/// Samples per second of every alert sound.
pub const SAMPLE_RATE_HZ: u32 = 16_000;
/// Peak amplitude of a tone, as a fraction of full scale (headroom for two summed tones).
const PEAK: f64 = 0.42;
/// Fade in and out of every tone burst, seconds (no clicks at the edges).
const FADE_S: f64 = 0.006;
/// Bytes of a canonical WAV header (RIFF, `fmt ` chunk of 16 bytes, `data` chunk header).
pub const WAV_HEADER_BYTES: usize = 44;

/// The alert sounds by code, each with its duration in seconds.
pub const SOUNDS: [(&str, f64); 4] = [
    ("ring", RING_S),
    ("sos", SOS_S),
    ("queue", QUEUE_S),
    ("overdue", OVERDUE_S),
];
/// Ring cycle (played in a loop): two 0.4 s bursts of 440 + 480 Hz, 0.2 s apart, then silence.
const RING_S: f64 = 2.0;
/// Siren cycle (played in a loop): a 650 → 1350 → 650 Hz sweep with a square-ish edge.
const SOS_S: f64 = 1.0;
/// Chime: two decaying bell notes, 880 Hz then 1320 Hz.
const QUEUE_S: f64 = 0.7;
/// Double beep: two 0.12 s bursts of 1000 Hz, 0.1 s apart.
const OVERDUE_S: f64 = 0.5;

/// Envelope of a burst from `start` to `end` seconds: 1 inside with short fades, 0 outside.
fn burst(t: f64, start: f64, end: f64) -> f64 {
    if t < start || t >= end {
        return 0.0;
    }
    ((t - start) / FADE_S).min((end - t) / FADE_S).min(1.0)
}

/// The sample (−1 … 1) of sound `code` at `t` seconds, or None for an unknown code.
fn sample(code: &str, t: f64) -> Option<f64> {
    let tone = |f: f64| (2.0 * PI * f * t).sin();
    Some(match code {
        "ring" => {
            let env = burst(t, 0.0, 0.4) + burst(t, 0.6, 1.0);
            env * PEAK * (tone(440.0) + tone(480.0))
        }
        "sos" => {
            // Frequency goes up for half the cycle and down for the other; the phase is the
            // integral of the frequency so the sweep is continuous and the loop seamless.
            let (lo, hi, half) = (650.0, 1350.0, SOS_S / 2.0);
            let k = (hi - lo) / half;
            let phase = if t < half {
                lo * t + k * t * t / 2.0
            } else {
                let u = t - half;
                lo * half + k * half * half / 2.0 + hi * u - k * u * u / 2.0
            };
            let s = (2.0 * PI * phase).sin();
            // A little of the third harmonic's edge: harsher than the ring, unmistakable.
            let edge = (2.0 * PI * 3.0 * phase).sin() / 3.0;
            2.0 * PEAK * 0.9 * (s + edge) / (1.0 + 1.0 / 3.0)
        }
        "queue" => {
            let bell = |start: f64, f: f64| {
                if t < start {
                    return 0.0;
                }
                let u = t - start;
                let attack = (u / FADE_S).min(1.0);
                let tail = ((QUEUE_S - t) / FADE_S).clamp(0.0, 1.0);
                attack * tail * (-u * 6.0).exp() * (2.0 * PI * f * u).sin()
            };
            2.0 * PEAK * (bell(0.0, 880.0) * 0.8 + bell(0.18, 1320.0))
        }
        "overdue" => {
            let env = burst(t, 0.0, 0.12) + burst(t, 0.22, 0.34);
            2.0 * PEAK * env * tone(1000.0)
        }
        _ => return None,
    })
}

/// The WAV file (RIFF, PCM, 16-bit, mono, [`SAMPLE_RATE_HZ`]) of sound `code`.
pub fn wav(code: &str) -> Option<Vec<u8>> {
    let secs = SOUNDS.iter().find(|(c, _)| *c == code)?.1;
    let n = (secs * f64::from(SAMPLE_RATE_HZ)).round() as usize;
    let data_bytes = n * 2;
    let mut out = Vec::with_capacity(WAV_HEADER_BYTES + data_bytes);
    let u32le = |out: &mut Vec<u8>, v: u32| out.extend_from_slice(&v.to_le_bytes());
    let u16le = |out: &mut Vec<u8>, v: u16| out.extend_from_slice(&v.to_le_bytes());
    out.extend_from_slice(b"RIFF");
    u32le(&mut out, (WAV_HEADER_BYTES - 8 + data_bytes) as u32);
    out.extend_from_slice(b"WAVEfmt ");
    u32le(&mut out, 16); // fmt chunk size
    u16le(&mut out, 1); // PCM
    u16le(&mut out, 1); // mono
    u32le(&mut out, SAMPLE_RATE_HZ);
    u32le(&mut out, SAMPLE_RATE_HZ * 2); // bytes per second
    u16le(&mut out, 2); // bytes per frame
    u16le(&mut out, 16); // bits per sample
    out.extend_from_slice(b"data");
    u32le(&mut out, data_bytes as u32);
    for i in 0..n {
        let t = i as f64 / f64::from(SAMPLE_RATE_HZ);
        let v = sample(code, t)?.clamp(-1.0, 1.0);
        out.extend_from_slice(&((v * f64::from(i16::MAX)).round() as i16).to_le_bytes());
    }
    Some(out)
}

/// The file named `name` (`ring.wav`, …), synthesised on first use and kept.
pub fn wav_file(name: &str) -> Option<&'static [u8]> {
    static FILES: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
    let files = FILES.get_or_init(|| {
        SOUNDS
            .iter()
            .filter_map(|(code, _)| Some((format!("{code}.wav"), wav(code)?)))
            .collect()
    });
    files
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, b)| b.as_slice())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each sound is a small file a browser plays: "Chrome and Firefox decode 16-bit PCM WAV".
    const MAX_BYTES: usize = 100 * 1024;

    #[test]
    fn every_sound_is_a_pcm_wav_with_a_consistent_header_and_length() {
        for (code, secs) in SOUNDS {
            let b = wav(code).unwrap();
            let n = (secs * f64::from(SAMPLE_RATE_HZ)).round() as usize;
            assert_eq!(b.len(), WAV_HEADER_BYTES + 2 * n, "{code}");
            assert!(b.len() < MAX_BYTES, "{code}: {} bytes", b.len());
            assert_eq!(&b[0..4], b"RIFF");
            assert_eq!(
                u32::from_le_bytes(b[4..8].try_into().unwrap()) as usize,
                b.len() - 8
            );
            assert_eq!(&b[8..16], b"WAVEfmt ");
            assert_eq!(u16::from_le_bytes([b[20], b[21]]), 1, "PCM");
            assert_eq!(u16::from_le_bytes([b[22], b[23]]), 1, "mono");
            assert_eq!(
                u32::from_le_bytes(b[24..28].try_into().unwrap()),
                SAMPLE_RATE_HZ
            );
            assert_eq!(u16::from_le_bytes([b[34], b[35]]), 16, "bits");
            assert_eq!(&b[36..40], b"data");
            assert_eq!(
                u32::from_le_bytes(b[40..44].try_into().unwrap()) as usize,
                2 * n
            );
        }
    }

    fn pcm(code: &str) -> Vec<i16> {
        wav(code).unwrap()[WAV_HEADER_BYTES..]
            .chunks(2)
            .map(|c| i16::from_le_bytes([c[0], c[1]]))
            .collect()
    }

    #[test]
    fn sounds_are_audible_loop_without_a_click_and_differ() {
        for (code, _) in SOUNDS {
            let s = pcm(code);
            let peak = s.iter().map(|v| v.unsigned_abs()).max().unwrap();
            assert!(peak > 8_000, "{code} is audible: peak {peak}");
            // No click where a loop starts again: the jump from the last sample to the first is
            // no bigger than the steepest step inside the sound.
            let steepest = s
                .windows(2)
                .map(|w| (i32::from(w[1]) - i32::from(w[0])).abs())
                .max()
                .unwrap();
            let wrap = (i32::from(s[0]) - i32::from(s[s.len() - 1])).abs();
            assert!(wrap <= steepest, "{code}: loop jump {wrap} > {steepest}");
            assert!(s[0].unsigned_abs() < 2_000, "{code} starts at {}", s[0]);
        }
        // The ring has its silent pause; the siren never pauses.
        let ring = pcm("ring");
        let pause = (1.2 * f64::from(SAMPLE_RATE_HZ)) as usize;
        assert!(ring[pause..pause + 1_000].iter().all(|v| *v == 0));
        let sos = pcm("sos");
        assert!(sos
            .chunks(400)
            .all(|c| c.iter().any(|v| v.unsigned_abs() > 4_000)));
        assert_ne!(wav("ring"), wav("sos"));
    }

    #[test]
    fn synthesis_is_deterministic_and_unknown_names_have_no_file() {
        assert_eq!(wav("queue"), wav("queue"));
        assert_eq!(wav_file("overdue.wav").unwrap(), wav("overdue").unwrap());
        assert!(wav("nope").is_none());
        assert!(wav_file("ring").is_none());
        assert!(wav_file("../ring.wav").is_none());
    }
}
