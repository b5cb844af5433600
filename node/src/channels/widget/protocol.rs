//! The web widget's wire protocol and its rate limits, with no socket and no clock (sans-IO):
//! frames are parsed and checked here, turned into an [`IncomingMessage`] for the inbox, and the
//! per-session and per-network limits decide with the time passed in. [`WidgetHistory`] is the
//! contract the inbox meets to give a reconnecting page its conversation.
//!
//! Frames are JSON text objects with a `type`:
//! - from the widget: `hello` (first, within the hello timeout: the session id and the page's
//!   language), `message` (the client's message id, text, an optional shared location, photos
//!   as base64, the name the citizen chose to give), `received` (an operator's answer reached
//!   the page: the outbox may record it delivered);
//! - from the node: `ready` (after `hello`: the conversation so far, when the node has one),
//!   `ack` (a message is stored: only then does the widget drop it from its retry queue),
//!   `refused` (a message was not taken: an `err.` code the widget shows, and when to retry),
//!   `answer` (an operator's answer), `error` (then the socket closes).

use std::collections::HashMap;
use std::hash::Hash;

use base64::Engine;
use serde::{Deserialize, Serialize};
use sync::Channel;

use crate::channels::{
    IncomingAttachment, IncomingMessage, SharedLocation, MESSAGE_TEXT_CHARS_MAX,
};

/// Shortest session id, in characters: 22 base64url characters carry 128 random bits, so a
/// session (which reads the operators' answers) cannot be guessed.
pub const SESSION_ID_CHARS_MIN: usize = 22;
/// Longest session id, in characters.
pub const SESSION_ID_CHARS_MAX: usize = 64;
/// Longest client message id, in characters.
pub const CLIENT_MESSAGE_ID_CHARS_MAX: usize = 64;
/// Longest name a citizen may give, in characters.
pub const SENDER_NAME_CHARS_MAX: usize = 100;
/// Most photos on one widget message (the widget shrinks each before sending).
pub const PHOTOS_PER_MESSAGE_MAX: usize = 3;
/// Largest photo, in bytes after base64 decoding.
pub const PHOTO_BYTES_MAX: usize = 2 * 1024 * 1024;
/// Largest frame from a widget, in bytes: the photos in base64 (4 characters per 3 bytes) and
/// room for the text and the JSON around them.
pub const FRAME_BYTES_MAX: usize = PHOTOS_PER_MESSAGE_MAX * PHOTO_BYTES_MAX / 3 * 4 + 256 * 1024;

/// A photo as the widget sends it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WidgetPhoto {
    pub name: String,
    /// The bytes, standard base64.
    pub data: String,
}

/// What a widget sends.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum FromWidget {
    Hello {
        session: String,
        #[serde(default)]
        lang: Option<String>,
    },
    Message {
        id: String,
        #[serde(default)]
        text: String,
        #[serde(default)]
        location: Option<SharedLocation>,
        #[serde(default)]
        photos: Vec<WidgetPhoto>,
        #[serde(default)]
        name: Option<String>,
    },
    Received {
        id: String,
    },
}

/// One line of the conversation as the widget shows it after a reconnect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryLine {
    /// The citizen's own client message id for what they sent, the outbox id for an answer.
    pub id: String,
    /// `in` (from the citizen) or `out` (an operator's answer).
    pub direction: &'static str,
    pub text: String,
    pub at_ms: i64,
}

/// The conversation of a widget session as the page shows it after a reconnect: what the
/// citizen sent (under the client's message ids) and the operators' answers (under their
/// outbox ids), oldest first. The inbox implements it; an error shows an empty history (the
/// page keeps its own copy) rather than refusing the citizen.
pub trait WidgetHistory: Send + Sync {
    fn history<'a>(
        &'a self,
        session: &'a str,
    ) -> futures::future::BoxFuture<'a, Result<Vec<HistoryLine>, String>>;
}

/// What the node sends to a widget.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToWidget<'a> {
    Ready {
        session: &'a str,
        history: &'a [HistoryLine],
    },
    Ack {
        id: &'a str,
        duplicate: bool,
    },
    Refused {
        id: &'a str,
        code: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        retry_after_s: Option<u64>,
    },
    Answer {
        id: &'a str,
        text: &'a str,
        at_ms: i64,
    },
    Error {
        code: &'a str,
    },
}

impl ToWidget<'_> {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Why a frame was not taken. Each has a code the widget (and the console) render in kk/ru.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WidgetProblem {
    #[error("the frame is not a widget message: {0}")]
    BadFrame(String),
    #[error("the first frame must be hello")]
    HelloExpected,
    #[error("the session id must be {SESSION_ID_CHARS_MIN}..={SESSION_ID_CHARS_MAX} characters of A-Z a-z 0-9 - _")]
    BadSession,
    #[error(
        "the message id must be 1..={CLIENT_MESSAGE_ID_CHARS_MAX} characters of A-Z a-z 0-9 - _"
    )]
    BadMessageId,
    #[error("the message has no text, no location and no photo")]
    Empty,
    #[error("the text is longer than {MESSAGE_TEXT_CHARS_MAX} characters")]
    TextTooLong,
    #[error("the name is longer than {SENDER_NAME_CHARS_MAX} characters")]
    NameTooLong,
    #[error("more than {PHOTOS_PER_MESSAGE_MAX} photos")]
    TooManyPhotos,
    #[error("a photo is larger than {PHOTO_BYTES_MAX} bytes")]
    PhotoTooLarge,
    #[error("a photo is not a JPEG, PNG or WebP image")]
    NotAPhoto,
    #[error("the location is not a point on Earth")]
    BadLocation,
}

impl WidgetProblem {
    /// The code the widget and the console render (`err.<code>`).
    pub fn code(&self) -> &'static str {
        match self {
            WidgetProblem::BadFrame(_) => "widget_bad_frame",
            WidgetProblem::HelloExpected => "widget_hello_expected",
            WidgetProblem::BadSession => "widget_bad_session",
            WidgetProblem::BadMessageId => "widget_bad_message_id",
            WidgetProblem::Empty => "widget_message_empty",
            WidgetProblem::TextTooLong => "widget_text_too_long",
            WidgetProblem::NameTooLong => "widget_name_too_long",
            WidgetProblem::TooManyPhotos => "widget_too_many_photos",
            WidgetProblem::PhotoTooLarge => "widget_photo_too_large",
            WidgetProblem::NotAPhoto => "widget_not_a_photo",
            WidgetProblem::BadLocation => "widget_bad_location",
        }
    }
}

/// Parses one text frame.
pub fn parse(frame: &str) -> Result<FromWidget, WidgetProblem> {
    let de = &mut serde_json::Deserializer::from_str(frame);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." {
            WidgetProblem::BadFrame(inner.to_string())
        } else {
            WidgetProblem::BadFrame(format!("field {path}: {inner}"))
        }
    })
}

fn token_ok(s: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Checks a session id from `hello`.
pub fn check_session(session: &str) -> Result<(), WidgetProblem> {
    if token_ok(session, SESSION_ID_CHARS_MIN, SESSION_ID_CHARS_MAX) {
        Ok(())
    } else {
        Err(WidgetProblem::BadSession)
    }
}

/// Checks a client message id.
pub fn check_message_id(id: &str) -> Result<(), WidgetProblem> {
    if token_ok(id, 1, CLIENT_MESSAGE_ID_CHARS_MAX) {
        Ok(())
    } else {
        Err(WidgetProblem::BadMessageId)
    }
}

/// The image type of `bytes` by its first bytes, never by what the sender claimed.
fn photo_type(bytes: &[u8]) -> Option<(&'static str, &'static str)> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(("image/jpeg", "jpg"))
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(("image/png", "png"))
    } else if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some(("image/webp", "webp"))
    } else {
        None
    }
}

/// A file name safe to show and store: the last path segment, control characters dropped,
/// at most 100 characters; `photo-<n>.<ext>` when nothing is left.
fn file_name(claimed: &str, n: usize, ext: &str) -> String {
    let last = claimed.rsplit(['/', '\\']).next().unwrap_or("");
    let clean: String = last.chars().filter(|c| !c.is_control()).take(100).collect();
    let clean = clean.trim();
    if clean.is_empty() || clean == "." || clean == ".." {
        format!("photo-{n}.{ext}")
    } else {
        clean.to_string()
    }
}

/// A widget `message` as the inbox takes it: channel `WebWidget`, address = the session,
/// external id = the client's message id. Everything is checked before anything is handed on.
pub fn to_incoming(
    session: &str,
    id: &str,
    text: &str,
    location: Option<SharedLocation>,
    photos: &[WidgetPhoto],
    name: Option<&str>,
    received_at_ms: i64,
) -> Result<IncomingMessage, WidgetProblem> {
    check_message_id(id)?;
    let text = text.trim();
    if text.chars().count() > MESSAGE_TEXT_CHARS_MAX {
        return Err(WidgetProblem::TextTooLong);
    }
    let name = name.map(str::trim).filter(|n| !n.is_empty());
    if name.is_some_and(|n| n.chars().count() > SENDER_NAME_CHARS_MAX) {
        return Err(WidgetProblem::NameTooLong);
    }
    if let Some(l) = location {
        let on_earth = l.lat.is_finite()
            && l.lon.is_finite()
            && (-90.0..=90.0).contains(&l.lat)
            && (-180.0..=180.0).contains(&l.lon);
        if !on_earth {
            return Err(WidgetProblem::BadLocation);
        }
    }
    if photos.len() > PHOTOS_PER_MESSAGE_MAX {
        return Err(WidgetProblem::TooManyPhotos);
    }
    let mut attachments = Vec::with_capacity(photos.len());
    for (n, p) in photos.iter().enumerate() {
        // Checked before decoding, so a huge string is refused without a huge allocation.
        if p.data.len() > PHOTO_BYTES_MAX.div_ceil(3) * 4 {
            return Err(WidgetProblem::PhotoTooLarge);
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(p.data.as_bytes())
            .map_err(|_| WidgetProblem::NotAPhoto)?;
        if bytes.len() > PHOTO_BYTES_MAX {
            return Err(WidgetProblem::PhotoTooLarge);
        }
        let (content_type, ext) = photo_type(&bytes).ok_or(WidgetProblem::NotAPhoto)?;
        attachments.push(IncomingAttachment {
            file_name: file_name(&p.name, n + 1, ext),
            content_type: content_type.to_string(),
            bytes,
        });
    }
    if text.is_empty() && location.is_none() && attachments.is_empty() {
        return Err(WidgetProblem::Empty);
    }
    Ok(IncomingMessage {
        channel: Channel::WebWidget,
        address: session.to_string(),
        external_id: id.to_string(),
        in_reply_to: Vec::new(),
        sender_name: name.map(str::to_string),
        phone: None,
        email: None,
        text: text.to_string(),
        location,
        attachments,
        sent_at_ms: None,
        received_at_ms,
    })
}

// ------------------------------------------------------------------------------ rate limits

/// Keys one [`RateLimiter`] tracks at once; beyond this, keys whose bucket has refilled are
/// forgotten (they are back at the start anyway).
pub const RATE_KEYS_TRACKED_MAX: usize = 100_000;

/// A token bucket per key (a session, a network source): `per_min` messages a minute on
/// average, `burst` at once. Tokens are counted in thousandths so the arithmetic is exact.
#[derive(Debug)]
pub struct RateLimiter<K> {
    per_min: u64,
    burst: u64,
    buckets: HashMap<K, Bucket>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    milli_tokens: u64,
    at_ms: i64,
}

const MILLI: u64 = 1000;
const MINUTE_MS: u64 = 60_000;

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    /// `per_min` and `burst` are at least 1.
    pub fn new(per_min: u32, burst: u32) -> Self {
        RateLimiter {
            per_min: u64::from(per_min.max(1)),
            burst: u64::from(burst.max(1)),
            buckets: HashMap::new(),
        }
    }

    fn refilled(&self, b: Bucket, now_ms: i64) -> u64 {
        let dt = u64::try_from(now_ms.saturating_sub(b.at_ms)).unwrap_or(0);
        let gained = dt.saturating_mul(self.per_min).saturating_mul(MILLI) / MINUTE_MS;
        b.milli_tokens
            .saturating_add(gained)
            .min(self.burst * MILLI)
    }

    /// Whether one more message from `key` may go now (and counts it), or how many seconds
    /// until one may.
    pub fn check(&mut self, key: &K, now_ms: i64) -> Result<(), u64> {
        let full = Bucket {
            milli_tokens: self.burst * MILLI,
            at_ms: now_ms,
        };
        let current = self.buckets.get(key).copied();
        let tokens = current.map_or(full.milli_tokens, |b| self.refilled(b, now_ms));
        if tokens < MILLI {
            let missing = MILLI - tokens;
            let wait_ms = (missing * MINUTE_MS).div_ceil(self.per_min * MILLI);
            return Err(wait_ms.div_ceil(1000).max(1));
        }
        if current.is_none() && self.buckets.len() >= RATE_KEYS_TRACKED_MAX {
            self.forget_refilled(now_ms);
        }
        self.buckets.insert(
            key.clone(),
            Bucket {
                milli_tokens: tokens - MILLI,
                at_ms: now_ms,
            },
        );
        Ok(())
    }

    fn forget_refilled(&mut self, now_ms: i64) {
        let burst = self.burst * MILLI;
        let (per_min, buckets) = (self.per_min, &mut self.buckets);
        buckets.retain(|_, b| {
            let dt = u64::try_from(now_ms.saturating_sub(b.at_ms)).unwrap_or(0);
            b.milli_tokens + dt.saturating_mul(per_min).saturating_mul(MILLI) / MINUTE_MS < burst
        });
    }

    /// Keys tracked now.
    pub fn tracked(&self) -> usize {
        self.buckets.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SESSION: &str = "AbCdEfGhIjKlMnOpQrStUv";

    fn message(frame: &str) -> Result<IncomingMessage, WidgetProblem> {
        match parse(frame)? {
            FromWidget::Message {
                id,
                text,
                location,
                photos,
                name,
            } => to_incoming(SESSION, &id, &text, location, &photos, name.as_deref(), 7),
            other => panic!("not a message: {other:?}"),
        }
    }

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    #[test]
    fn a_message_becomes_an_incoming_web_widget_message() {
        let jpeg = b64(&[0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3]);
        let frame = format!(
            r#"{{"type":"message","id":"m-1","text":"  Помогите, у подъезда драка ","name":"Айгерим",
                "location":{{"lat":51.128,"lon":71.43}},"photos":[{{"name":"C:\\fakepath\\IMG_1.jpg","data":"{jpeg}"}}]}}"#
        );
        let m = message(&frame).unwrap();
        assert_eq!(m.channel, Channel::WebWidget);
        assert_eq!(m.address, SESSION);
        assert_eq!(m.external_id, "m-1");
        assert_eq!(m.text, "Помогите, у подъезда драка");
        assert_eq!(m.sender_name.as_deref(), Some("Айгерим"));
        assert_eq!(
            m.location,
            Some(SharedLocation {
                lat: 51.128,
                lon: 71.43
            })
        );
        assert_eq!(m.attachments.len(), 1);
        assert_eq!(m.attachments[0].file_name, "IMG_1.jpg");
        assert_eq!(m.attachments[0].content_type, "image/jpeg");
        assert_eq!(m.received_at_ms, 7);
        assert_eq!(m.phone, None, "a widget never claims a phone");
    }

    #[test]
    fn bad_frames_are_refused_with_a_code() {
        let png = b64(b"\x89PNG\r\n\x1a\nrest");
        let html = b64(b"<html><script>alert(1)</script>");
        let big = "x".repeat(MESSAGE_TEXT_CHARS_MAX + 1);
        let huge = "A".repeat(PHOTO_BYTES_MAX / 3 * 4 + 8);
        let photo = |d: &str| format!(r#"{{"name":"a","data":"{d}"}}"#);
        let cases: Vec<(String, &str)> = vec![
            ("not json".into(), "widget_bad_frame"),
            (
                r#"{"type":"message","id":"m","text":"a","extra":1}"#.into(),
                "widget_bad_frame",
            ),
            (
                r#"{"type":"message","id":"a b","text":"a"}"#.into(),
                "widget_bad_message_id",
            ),
            (
                r#"{"type":"message","id":"","text":"a"}"#.into(),
                "widget_bad_message_id",
            ),
            (
                r#"{"type":"message","id":"m","text":"   "}"#.into(),
                "widget_message_empty",
            ),
            (
                format!(r#"{{"type":"message","id":"m","text":"{big}"}}"#),
                "widget_text_too_long",
            ),
            (
                r#"{"type":"message","id":"m","location":{"lat":91,"lon":0}}"#.into(),
                "widget_bad_location",
            ),
            (
                format!(
                    r#"{{"type":"message","id":"m","photos":[{}]}}"#,
                    photo(&html)
                ),
                "widget_not_a_photo",
            ),
            (
                format!(
                    r#"{{"type":"message","id":"m","photos":[{}]}}"#,
                    photo("!!")
                ),
                "widget_not_a_photo",
            ),
            (
                format!(
                    r#"{{"type":"message","id":"m","photos":[{}]}}"#,
                    photo(&huge)
                ),
                "widget_photo_too_large",
            ),
            (
                format!(
                    r#"{{"type":"message","id":"m","photos":[{0},{0},{0},{0}]}}"#,
                    photo(&png)
                ),
                "widget_too_many_photos",
            ),
        ];
        for (frame, code) in cases {
            let got = message(&frame).map(|_| ()).unwrap_err();
            assert_eq!(got.code(), code, "{frame:.80}: {got}");
        }
        // A location alone, or a photo alone, is a message.
        assert!(
            message(r#"{"type":"message","id":"m","location":{"lat":43.2,"lon":76.9}}"#).is_ok()
        );
        let one = format!(
            r#"{{"type":"message","id":"m","photos":[{}]}}"#,
            photo(&png)
        );
        assert_eq!(message(&one).unwrap().attachments[0].file_name, "a");
    }

    #[test]
    fn sessions_must_be_unguessable_tokens() {
        assert!(check_session(SESSION).is_ok());
        assert_eq!(check_session("short"), Err(WidgetProblem::BadSession));
        assert_eq!(
            check_session(&"a".repeat(65)),
            Err(WidgetProblem::BadSession)
        );
        assert_eq!(
            check_session("AbCdEfGhIjKlMnOpQrStU/"),
            Err(WidgetProblem::BadSession)
        );
    }

    #[test]
    fn the_rate_limiter_allows_the_burst_then_the_average() {
        let mut r = RateLimiter::new(6, 3); // one every 10 s, three at once
        for _ in 0..3 {
            assert_eq!(r.check(&"s", 0), Ok(()));
        }
        assert_eq!(r.check(&"s", 0), Err(10));
        assert_eq!(r.check(&"other", 0), Ok(()), "another key is not held back");
        assert_eq!(r.check(&"s", 5_000), Err(5));
        assert_eq!(r.check(&"s", 10_000), Ok(()));
        assert_eq!(r.check(&"s", 10_000), Err(10));
        // A long pause refills to the burst, not beyond.
        for _ in 0..3 {
            assert_eq!(r.check(&"s", 3_600_000), Ok(()));
        }
        assert!(r.check(&"s", 3_600_000).is_err());
        // A clock that goes back does not grant tokens.
        assert!(r.check(&"s", 0).is_err());
    }
}
