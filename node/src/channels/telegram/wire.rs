//! The Telegram Bot API's wire format, sans-IO: updates in, method bodies out, answers read.
//!
//! Only the fields the inbox uses are read, and every field the official examples leave out is
//! optional here: the examples in "Marvin's Marvellous Guide to All Things Webhook"
//! (core.telegram.org/bots/webhooks) send a `chat` without `type` and a `from` without `is_bot`,
//! which `frankenstein`'s types (required fields) refuse; a webhook must not refuse what
//! Telegram documents. Unknown fields are ignored (the API grows).

use serde::Deserialize;

use crate::channels::{IncomingAttachment, IncomingMessage, SendError, SharedLocation};

/// Longest text of one `sendMessage`, in characters (the Bot API's limit); a longer answer
/// leaves in several messages.
pub const SEND_TEXT_CHARS_MAX: usize = 4_096;

/// One update as Telegram posts it to the webhook or returns it from `getUpdates`.
#[derive(Debug, Clone, Deserialize)]
pub struct Update {
    pub update_id: i64,
    #[serde(default)]
    pub message: Option<Message>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Message {
    pub message_id: i64,
    pub date: i64,
    pub chat: Chat,
    #[serde(default)]
    pub from: Option<User>,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub caption: Option<String>,
    #[serde(default)]
    pub photo: Option<Vec<PhotoSize>>,
    #[serde(default)]
    pub document: Option<FileInfo>,
    #[serde(default)]
    pub voice: Option<FileInfo>,
    #[serde(default)]
    pub audio: Option<FileInfo>,
    #[serde(default)]
    pub video: Option<FileInfo>,
    #[serde(default)]
    pub location: Option<Location>,
    #[serde(default)]
    pub contact: Option<Contact>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Chat {
    pub id: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct User {
    pub id: i64,
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PhotoSize {
    pub file_id: String,
    #[serde(default)]
    pub width: u64,
    #[serde(default)]
    pub height: u64,
    #[serde(default)]
    pub file_size: Option<u64>,
}

/// A document, voice note, audio or video: a file with a name and type where Telegram says.
#[derive(Debug, Clone, Deserialize)]
pub struct FileInfo {
    pub file_id: String,
    #[serde(default)]
    pub file_name: Option<String>,
    #[serde(default)]
    pub mime_type: Option<String>,
    #[serde(default)]
    pub file_size: Option<u64>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Location {
    pub latitude: f64,
    pub longitude: f64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Contact {
    pub phone_number: String,
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: Option<String>,
    /// Set when the contact is a Telegram user: the citizen's own number when it is the sender.
    #[serde(default)]
    pub user_id: Option<i64>,
}

/// Why an update body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a Telegram update: {0}")]
pub struct Malformed(pub String);

/// Reads one update (the webhook's body, or one element of `getUpdates`).
pub fn parse_update(body: &[u8]) -> Result<Update, Malformed> {
    serde_json::from_slice(body).map_err(|e| Malformed(e.to_string()))
}

/// A file of a message, to fetch with `getFile` before the message goes to the inbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WantedFile {
    pub file_id: String,
    pub file_name: String,
    pub content_type: String,
    /// What Telegram said the size is, bytes (may be absent).
    pub size_bytes: Option<u64>,
}

/// What a message update carries for the inbox, before its files are fetched.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub update_id: i64,
    pub chat_id: i64,
    pub sender_name: Option<String>,
    pub phone: Option<String>,
    pub text: String,
    pub location: Option<SharedLocation>,
    pub files: Vec<WantedFile>,
    pub sent_at_ms: i64,
}

/// The inbox's part of an update: `None` for updates that are not a citizen's message with
/// content (an edit, a button press, an inline query, a sticker alone): acknowledged, not stored.
pub fn draft(update: &Update) -> Option<Draft> {
    let m = update.message.as_ref()?;
    let mut text = m
        .text
        .clone()
        .or_else(|| m.caption.clone())
        .unwrap_or_default();
    let mut phone = None;
    if let Some(c) = &m.contact {
        let own = matches!((c.user_id, &m.from), (Some(u), Some(f)) if u == f.id);
        if own {
            // The citizen shared their own number: it becomes the conversation's phone.
            phone = Some(c.phone_number.clone());
        } else {
            // Someone else's contact: carried as text, never taken as the citizen's identity.
            let name = full_name(&c.first_name, c.last_name.as_deref());
            let line = format!("{name} {}", c.phone_number).trim().to_string();
            text = if text.is_empty() {
                line
            } else {
                format!("{text}\n{line}")
            };
        }
    }
    let mut files = Vec::new();
    if let Some(best) = m.photo.as_ref().and_then(|sizes| largest_photo(sizes)) {
        files.push(WantedFile {
            file_id: best.file_id.clone(),
            file_name: format!("photo-{}.jpg", m.message_id),
            content_type: "image/jpeg".into(),
            size_bytes: best.file_size,
        });
    }
    for (kind, f, default_type) in [
        ("document", &m.document, "application/octet-stream"),
        ("voice", &m.voice, "audio/ogg"),
        ("audio", &m.audio, "audio/mpeg"),
        ("video", &m.video, "video/mp4"),
    ] {
        if let Some(f) = f {
            files.push(WantedFile {
                file_id: f.file_id.clone(),
                file_name: f
                    .file_name
                    .clone()
                    .unwrap_or_else(|| format!("{kind}-{}", m.message_id)),
                content_type: f.mime_type.clone().unwrap_or_else(|| default_type.into()),
                size_bytes: f.file_size,
            });
        }
    }
    let location = m.location.map(|l| SharedLocation {
        lat: l.latitude,
        lon: l.longitude,
    });
    if text.trim().is_empty() && files.is_empty() && location.is_none() && phone.is_none() {
        return None;
    }
    Some(Draft {
        update_id: update.update_id,
        chat_id: m.chat.id,
        sender_name: m
            .from
            .as_ref()
            .map(|f| full_name(&f.first_name, f.last_name.as_deref()))
            .filter(|n| !n.is_empty()),
        phone,
        text,
        location,
        files,
        sent_at_ms: m.date.saturating_mul(1000),
    })
}

fn full_name(first: &str, last: Option<&str>) -> String {
    match last {
        Some(l) if !l.is_empty() => format!("{first} {l}").trim().to_string(),
        _ => first.trim().to_string(),
    }
}

/// The largest of a photo's sizes (Telegram sends several; the last is usually the largest).
fn largest_photo(sizes: &[PhotoSize]) -> Option<&PhotoSize> {
    sizes
        .iter()
        .max_by_key(|p| (p.width.saturating_mul(p.height), p.file_size.unwrap_or(0)))
}

/// The message for the inbox: the draft with the files that were fetched, and a kk/ru line for
/// each file left behind (`refused`: their names), so the operator knows one was sent.
pub fn incoming(
    d: Draft,
    attachments: Vec<IncomingAttachment>,
    refused: &[String],
    received_at_ms: i64,
) -> IncomingMessage {
    let mut text = d.text;
    for name in refused {
        let note = format!(
            "[файл «{name}» не принят: слишком большой / файл «{name}» қабылданбады: тым үлкен]"
        );
        text = if text.is_empty() {
            note
        } else {
            format!("{text}\n{note}")
        };
    }
    IncomingMessage {
        channel: sync::Channel::Telegram,
        address: d.chat_id.to_string(),
        external_id: d.update_id.to_string(),
        in_reply_to: Vec::new(),
        sender_name: d.sender_name,
        phone: d.phone,
        email: None,
        text,
        location: d.location,
        attachments,
        sent_at_ms: Some(d.sent_at_ms),
        received_at_ms,
    }
}

/// The body of `sendMessage` (JSON): a numeric chat id is sent as a number.
pub fn send_message_body(address: &str, text: &str) -> serde_json::Value {
    let chat_id = address
        .parse::<i64>()
        .map(serde_json::Value::from)
        .unwrap_or_else(|_| serde_json::Value::from(address));
    serde_json::json!({ "chat_id": chat_id, "text": text })
}

/// An answer's text in pieces Telegram takes (at most [`SEND_TEXT_CHARS_MAX`] characters each).
pub fn split_text(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    if chars.is_empty() {
        return vec![String::new()];
    }
    chars
        .chunks(SEND_TEXT_CHARS_MAX)
        .map(|c| c.iter().collect())
        .collect()
}

/// The secret Telegram is asked to send in `X-Telegram-Bot-Api-Secret-Token` (`setWebhook`'s
/// `secret_token`): derived from the bot token, so it needs no setting of its own and changes
/// with the token; 64 characters of `0-9a-f` (the API allows `A-Za-z0-9_-`, 1–256).
pub fn webhook_secret(bot_token: &str) -> String {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(bot_token.as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(b"mvd102 telegram webhook secret");
    hex::encode(mac.finalize().into_bytes())
}

#[derive(Debug, Deserialize)]
struct ApiAnswer<T> {
    ok: bool,
    #[serde(default = "Option::default")]
    result: Option<T>,
    #[serde(default)]
    error_code: Option<i64>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    parameters: Option<ResponseParameters>,
}

#[derive(Debug, Deserialize)]
struct ResponseParameters {
    #[serde(default)]
    retry_after: Option<u64>,
}

/// Reads a Bot API answer (`{"ok":true,"result":…}` or `{"ok":false,"error_code":…}`) with its
/// HTTP status into the result or a [`SendError`]: 429 and 5xx are worth retrying (after
/// `retry_after` when Telegram says), any other refusal is permanent (403: the citizen blocked
/// the bot; 400: no such chat).
pub fn read_answer<T: serde::de::DeserializeOwned>(
    status: u16,
    body: &[u8],
) -> Result<T, SendError> {
    let answer: ApiAnswer<T> = match serde_json::from_slice(body) {
        Ok(a) => a,
        Err(e) if status >= 500 || status == 429 => {
            return Err(SendError::Transient {
                reason: format!("HTTP {status}: {e}"),
                retry_after_ms: None,
            })
        }
        Err(e) => {
            return Err(SendError::Transient {
                reason: format!("HTTP {status}, not a Bot API answer: {e}"),
                retry_after_ms: None,
            })
        }
    };
    if answer.ok {
        return answer.result.ok_or_else(|| SendError::Transient {
            reason: "the Bot API said ok without a result".into(),
            retry_after_ms: None,
        });
    }
    let code = answer.error_code.unwrap_or(i64::from(status));
    let reason = format!(
        "Bot API error {code}: {}",
        answer.description.unwrap_or_default()
    );
    let retry_after_ms = answer
        .parameters
        .and_then(|p| p.retry_after)
        .map(|s| s.saturating_mul(1000));
    if code == 429 || code >= 500 || retry_after_ms.is_some() {
        Err(SendError::Transient {
            reason,
            retry_after_ms,
        })
    } else {
        Err(SendError::Permanent(reason))
    }
}

/// `sendMessage`'s result: the message Telegram made.
#[derive(Debug, Deserialize)]
pub struct SentMessage {
    pub message_id: i64,
}

/// `getFile`'s result.
#[derive(Debug, Deserialize)]
pub struct File {
    #[serde(default)]
    pub file_size: Option<u64>,
    #[serde(default)]
    pub file_path: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!(
            "{}/tests/fixtures/telegram/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn r01_the_documentation_examples_parse_into_drafts() {
        for name in ["message_text.json", "message_text_no_chat_type.json"] {
            let u = parse_update(&fixture(name)).unwrap();
            let d = draft(&u).expect(name);
            assert_eq!(d.update_id, 10000);
            assert_eq!(d.chat_id, 1111111);
            assert_eq!(d.text, "/start");
            assert!(d.sender_name.unwrap().starts_with("Test"));
            assert_eq!(d.sent_at_ms, 1_441_645_532_000);
        }
        let d = draft(&parse_update(&fixture("message_document.json")).unwrap()).unwrap();
        assert_eq!(d.text, "");
        assert_eq!(d.files.len(), 1);
        assert_eq!(d.files[0].file_name, "Testfile.pdf");
        assert_eq!(d.files[0].content_type, "application/pdf");
        assert_eq!(d.files[0].size_bytes, Some(536392));
    }

    #[test]
    fn r01_edits_and_button_presses_are_not_messages_for_the_inbox() {
        for name in ["edited_message.json", "callback_query.json"] {
            let u = parse_update(&fixture(name)).unwrap();
            assert_eq!(u.update_id, 10000);
            assert!(draft(&u).is_none(), "{name}");
        }
    }

    #[test]
    fn r01_a_photo_takes_its_largest_size_and_the_caption() {
        let u = parse_update(
            br#"{"update_id":5,"message":{"message_id":9,"date":1,"chat":{"id":42,"type":"private"},
            "caption":"look","photo":[{"file_id":"s","width":90,"height":60,"file_size":900},
            {"file_id":"l","width":1280,"height":853,"file_size":90000},
            {"file_id":"m","width":320,"height":213}]}}"#,
        )
        .unwrap();
        let d = draft(&u).unwrap();
        assert_eq!(d.text, "look");
        assert_eq!(d.files[0].file_id, "l");
        assert_eq!(d.files[0].content_type, "image/jpeg");
    }

    #[test]
    fn r01_own_contact_is_the_phone_someone_elses_is_text() {
        let own = br#"{"update_id":6,"message":{"message_id":9,"date":1,"chat":{"id":42},
            "from":{"id":42,"is_bot":false,"first_name":"Aigul"},
            "contact":{"phone_number":"+77011234567","first_name":"Aigul","user_id":42}}}"#;
        let d = draft(&parse_update(own).unwrap()).unwrap();
        assert_eq!(d.phone.as_deref(), Some("+77011234567"));
        assert_eq!(d.text, "");
        let other = br#"{"update_id":7,"message":{"message_id":9,"date":1,"chat":{"id":42},
            "from":{"id":42,"first_name":"Aigul"},
            "contact":{"phone_number":"+77017654321","first_name":"Bolat","user_id":77}}}"#;
        let d = draft(&parse_update(other).unwrap()).unwrap();
        assert_eq!(d.phone, None);
        assert_eq!(d.text, "Bolat +77017654321");
    }

    #[test]
    fn r01_location_alone_is_a_message() {
        let u = br#"{"update_id":8,"message":{"message_id":9,"date":1,"chat":{"id":42},
            "location":{"latitude":51.1283,"longitude":71.4305}}}"#;
        let d = draft(&parse_update(u).unwrap()).unwrap();
        assert_eq!(
            d.location,
            Some(SharedLocation {
                lat: 51.1283,
                lon: 71.4305
            })
        );
    }

    #[test]
    fn malformed_bodies_are_refused_not_panicked_on() {
        for body in [
            &b""[..],
            b"{",
            b"[]",
            b"{\"update_id\":\"x\"}",
            b"{\"message\":{}}",
            b"\xff\xfe",
        ] {
            assert!(parse_update(body).is_err(), "{body:?}");
        }
        // A message without its chat is not an update Telegram sends.
        assert!(parse_update(br#"{"update_id":1,"message":{"message_id":1,"date":1}}"#).is_err());
    }

    #[test]
    fn answers_are_classified_for_the_outbox() {
        let ok: SentMessage =
            read_answer(200, br#"{"ok":true,"result":{"message_id":77,"date":1}}"#).unwrap();
        assert_eq!(ok.message_id, 77);
        let blocked = read_answer::<SentMessage>(
            403,
            br#"{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}"#,
        );
        assert!(matches!(blocked, Err(SendError::Permanent(_))));
        let flood = read_answer::<SentMessage>(
            429,
            br#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}"#,
        );
        assert_eq!(
            flood.unwrap_err(),
            SendError::Transient {
                reason: "Bot API error 429: Too Many Requests: retry after 7".into(),
                retry_after_ms: Some(7000)
            }
        );
        assert!(matches!(
            read_answer::<SentMessage>(502, b"<html>Bad Gateway</html>"),
            Err(SendError::Transient { .. })
        ));
    }

    #[test]
    fn long_answers_are_split_and_chat_ids_are_numbers() {
        let text = "ә".repeat(SEND_TEXT_CHARS_MAX + 1);
        let parts = split_text(&text);
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].chars().count(), SEND_TEXT_CHARS_MAX);
        assert_eq!(send_message_body("1111111", "hi")["chat_id"], 1111111);
        assert_eq!(send_message_body("@x", "hi")["chat_id"], "@x");
    }

    #[test]
    fn the_webhook_secret_is_stable_and_allowed_by_the_api() {
        let s = webhook_secret("123:ABC");
        assert_eq!(s, webhook_secret("123:ABC"));
        assert_ne!(s, webhook_secret("123:ABD"));
        assert_eq!(s.len(), 64);
        assert!(s.bytes().all(|b| b.is_ascii_alphanumeric()));
    }
}
