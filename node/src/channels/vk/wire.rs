//! The VK Callback API's and `messages.send`'s wire format, sans-IO.
//!
//! An event is `{type, event_id, v, object, group_id, secret}` (dev.vk.com, "Callback API";
//! the official JSON schema `callback/objects.json#callback_base`); since API 5.103
//! `message_new`'s object is `{message, client_info}`. Only the fields the inbox uses are read.

use serde::Deserialize;

use crate::channels::{IncomingAttachment, IncomingMessage, SendError, SharedLocation};

/// One Callback API request body.
#[derive(Debug, Clone, Deserialize)]
pub struct Event {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub group_id: i64,
    #[serde(default)]
    pub event_id: Option<String>,
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default)]
    pub object: serde_json::Value,
}

/// `message_new`'s object (API 5.103 and later).
#[derive(Debug, Clone, Deserialize)]
pub struct MessageNew {
    pub message: Message,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Message {
    #[serde(default)]
    pub date: i64,
    pub peer_id: i64,
    #[serde(default)]
    pub from_id: i64,
    #[serde(default)]
    pub conversation_message_id: Option<i64>,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    #[serde(default)]
    pub geo: Option<Geo>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Attachment {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub photo: Option<Photo>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Photo {
    #[serde(default)]
    pub id: i64,
    #[serde(default)]
    pub sizes: Vec<PhotoSize>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PhotoSize {
    pub url: String,
    #[serde(default)]
    pub width: u64,
    #[serde(default)]
    pub height: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Geo {
    pub coordinates: Coordinates,
}

#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Coordinates {
    pub latitude: f64,
    pub longitude: f64,
}

/// Why a body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a VK Callback API event: {0}")]
pub struct Malformed(pub String);

pub fn parse_event(body: &[u8]) -> Result<Event, Malformed> {
    serde_json::from_slice(body).map_err(|e| Malformed(e.to_string()))
}

/// `message_new`'s object; `Err` when it is not the 5.103+ shape.
pub fn parse_message_new(object: &serde_json::Value) -> Result<MessageNew, Malformed> {
    MessageNew::deserialize(object).map_err(|e| {
        Malformed(format!(
            "message_new without object.message (the Callback API's version must be 5.103 or later): {e}"
        ))
    })
}

/// A photo to download before the message goes to the inbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WantedPhoto {
    pub url: String,
    pub file_name: String,
}

/// What a `message_new` carries for the inbox, before its photos are fetched.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub external_id: String,
    pub peer_id: i64,
    /// The writer (a user: positive), whose name `users.get` gives.
    pub from_id: i64,
    pub text: String,
    pub location: Option<SharedLocation>,
    pub photos: Vec<WantedPhoto>,
    pub sent_at_ms: i64,
}

/// The inbox's part of a `message_new` event: `None` when the message has nothing the inbox
/// keeps (a sticker alone). The delivery id is the event's `event_id` (VK repeats it when it
/// sends an event again).
pub fn draft(event_id: Option<&str>, m: &MessageNew) -> Option<Draft> {
    let msg = &m.message;
    let photos: Vec<WantedPhoto> = msg
        .attachments
        .iter()
        .filter(|a| a.kind == "photo")
        .filter_map(|a| a.photo.as_ref())
        .filter_map(|p| {
            let best = p
                .sizes
                .iter()
                .max_by_key(|s| s.width.saturating_mul(s.height))?;
            Some(WantedPhoto {
                url: best.url.clone(),
                file_name: format!("photo-{}.jpg", p.id),
            })
        })
        .collect();
    let location = msg.geo.as_ref().map(|g| SharedLocation {
        lat: g.coordinates.latitude,
        lon: g.coordinates.longitude,
    });
    if msg.text.trim().is_empty() && photos.is_empty() && location.is_none() {
        return None;
    }
    let external_id = match event_id {
        Some(e) if !e.is_empty() => e.to_string(),
        // Without an event id, the message's own id in its conversation is stable across repeats.
        _ => format!(
            "{}:{}",
            msg.peer_id,
            msg.conversation_message_id.unwrap_or(msg.date)
        ),
    };
    Some(Draft {
        external_id,
        peer_id: msg.peer_id,
        from_id: msg.from_id,
        text: msg.text.clone(),
        location,
        photos,
        sent_at_ms: msg.date.saturating_mul(1000),
    })
}

/// The message for the inbox, with the photos fetched and a kk/ru line per photo left behind.
pub fn incoming(
    d: Draft,
    sender_name: Option<String>,
    attachments: Vec<IncomingAttachment>,
    refused: usize,
    received_at_ms: i64,
) -> IncomingMessage {
    let mut text = d.text;
    for _ in 0..refused {
        let note = "[фото не принято: слишком большое / фото қабылданбады: тым үлкен]";
        text = if text.is_empty() {
            note.to_string()
        } else {
            format!("{text}\n{note}")
        };
    }
    IncomingMessage {
        channel: sync::Channel::Vkontakte,
        address: d.peer_id.to_string(),
        external_id: d.external_id,
        in_reply_to: Vec::new(),
        sender_name,
        phone: None,
        email: None,
        text,
        location: d.location,
        attachments,
        sent_at_ms: Some(d.sent_at_ms),
        received_at_ms,
    }
}

/// `random_id` of `messages.send`, derived from the answer's outbox id: the same answer sent
/// twice carries the same id, and VK delivers it once. A positive 31-bit integer (0 would turn
/// VK's check off).
pub fn random_id(outbox_id: &str) -> i32 {
    use sha2::Digest;
    let h = sha2::Sha256::digest(outbox_id.as_bytes());
    let n = i32::from_be_bytes([h[0], h[1], h[2], h[3]]) & 0x7fff_ffff;
    n.max(1)
}

/// The form of `messages.send` (POST, `application/x-www-form-urlencoded`; the token in the body,
/// never in the URL).
pub fn send_form(
    peer_id: &str,
    text: &str,
    outbox_id: &str,
    api_version: &str,
    token: &str,
) -> Vec<(&'static str, String)> {
    vec![
        ("peer_id", peer_id.to_string()),
        ("message", text.to_string()),
        ("random_id", random_id(outbox_id).to_string()),
        ("v", api_version.to_string()),
        ("access_token", token.to_string()),
    ]
}

/// The form of `wall.post` (a public post on the community's wall: a meeting's notice, R37):
/// `owner_id` is minus the community's id, `from_group=1` posts as the community, and `guid`
/// (the post's outbox id) makes VK publish a post sent again once.
pub fn wall_post_form(
    group_id: i64,
    text: &str,
    outbox_id: &str,
    api_version: &str,
    token: &str,
) -> Vec<(&'static str, String)> {
    vec![
        ("owner_id", format!("-{group_id}")),
        ("from_group", "1".to_string()),
        ("message", text.to_string()),
        ("guid", outbox_id.to_string()),
        ("v", api_version.to_string()),
        ("access_token", token.to_string()),
    ]
}

/// The form of `users.get` for the sender's name as VK shows it.
pub fn users_get_form(user_id: i64, api_version: &str, token: &str) -> Vec<(&'static str, String)> {
    vec![
        ("user_ids", user_id.to_string()),
        ("v", api_version.to_string()),
        ("access_token", token.to_string()),
    ]
}

/// The name in `users.get`'s answer (`{"response":[{"first_name":…,"last_name":…}]}`), if any.
pub fn read_user_name(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let u = v.get("response")?.as_array()?.first()?;
    let first = u.get("first_name")?.as_str()?.trim();
    let last = u
        .get("last_name")
        .and_then(|l| l.as_str())
        .unwrap_or("")
        .trim();
    let name = format!("{first} {last}").trim().to_string();
    (!name.is_empty()).then_some(name)
}

#[derive(Debug, Deserialize)]
struct Answer {
    #[serde(default)]
    response: Option<serde_json::Value>,
    #[serde(default)]
    error: Option<ApiError>,
}

#[derive(Debug, Deserialize)]
struct ApiError {
    error_code: i64,
    #[serde(default)]
    error_msg: String,
}

/// VK error codes worth trying again: unknown error, too many requests per second, flood
/// control, internal server error, rate limit reached.
pub const TRANSIENT_ERROR_CODES: [i64; 5] = [1, 6, 9, 10, 29];

/// Reads `messages.send`'s answer: `{"response": <message id>}`, `wall.post`'s
/// `{"response": {"post_id": <id>}}`, or `{"error": {...}}` (VK answers its errors with HTTP
/// 200). The message's or post's id is returned as text.
pub fn read_send_answer(status: u16, body: &[u8]) -> Result<Option<String>, SendError> {
    let answer: Answer = match serde_json::from_slice(body) {
        Ok(a) => a,
        Err(e) => {
            return Err(SendError::Transient {
                reason: format!("HTTP {status}, not a VK API answer: {e}"),
                retry_after_ms: None,
            })
        }
    };
    if let Some(err) = answer.error {
        let reason = format!("VK API error {}: {}", err.error_code, err.error_msg);
        return if TRANSIENT_ERROR_CODES.contains(&err.error_code) {
            Err(SendError::Transient {
                reason,
                retry_after_ms: None,
            })
        } else {
            Err(SendError::Permanent(reason))
        };
    }
    match answer.response {
        Some(serde_json::Value::Number(n)) => Ok(Some(n.to_string())),
        Some(serde_json::Value::Object(o)) => Ok(o.get("post_id").map(|v| v.to_string())),
        Some(other) => Ok(other
            .as_array()
            .and_then(|a| a.first())
            .and_then(|m| {
                m.get("message_id")
                    .or_else(|| m.get("conversation_message_id"))
            })
            .map(|v| v.to_string())),
        None if status >= 500 => Err(SendError::Transient {
            reason: format!("HTTP {status}"),
            retry_after_ms: None,
        }),
        None => Err(SendError::Transient {
            reason: format!("HTTP {status}: neither response nor error"),
            retry_after_ms: None,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/tests/fixtures/vk/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn r01_message_new_reads_text_photo_and_geo() {
        let e = parse_event(&fixture("message_new.json")).unwrap();
        assert_eq!(e.kind, "message_new");
        let m = parse_message_new(&e.object).unwrap();
        let d = draft(e.event_id.as_deref(), &m).unwrap();
        assert_eq!(d.external_id, e.event_id.clone().unwrap());
        assert_eq!(d.peer_id, 2000000066);
        assert_eq!(d.text, "Ок");
        let e = parse_event(&fixture("message_new_photo_geo.json")).unwrap();
        let d = draft(
            e.event_id.as_deref(),
            &parse_message_new(&e.object).unwrap(),
        )
        .unwrap();
        assert_eq!(d.photos.len(), 1);
        assert!(d.photos[0].url.ends_with("/photo-z.jpg"), "{:?}", d.photos);
        assert!(d.location.is_some());
    }

    #[test]
    fn r01_the_documentation_examples_are_events() {
        let e = parse_event(&fixture("confirmation.json")).unwrap();
        assert_eq!((e.kind.as_str(), e.group_id), ("confirmation", 1));
        let e = parse_event(&fixture("group_join.json")).unwrap();
        assert_eq!(e.kind, "group_join");
    }

    #[test]
    fn old_message_new_shapes_and_garbage_are_refused() {
        // Before 5.103 the object was the message itself.
        let old = serde_json::json!({"id": 1, "peer_id": 5, "text": "hi"});
        assert!(parse_message_new(&old).is_err());
        for body in [&b""[..], b"{}", b"[1]", b"{\"type\":5}", b"\xff"] {
            assert!(parse_event(body).is_err(), "{body:?}");
        }
    }

    #[test]
    fn user_names_are_read_from_users_get() {
        let body = br#"{"response":[{"id":612444319,"first_name":"Aigerim","last_name":"Serikova","can_access_closed":true,"is_closed":false}]}"#;
        assert_eq!(read_user_name(body).as_deref(), Some("Aigerim Serikova"));
        assert_eq!(read_user_name(br#"{"response":[]}"#), None);
        assert_eq!(
            read_user_name(
                br#"{"error":{"error_code":5,"error_msg":"User authorization failed"}}"#
            ),
            None
        );
    }

    #[test]
    fn r37_wall_post_is_the_communitys_own_with_its_guid_and_its_answer_is_read() {
        let form = wall_post_form(42, "Хабарландыру", "m1.notice.5.vk", "5.199", "t");
        let get = |k: &str| form.iter().find(|(n, _)| *n == k).unwrap().1.clone();
        assert_eq!(get("owner_id"), "-42");
        assert_eq!(get("from_group"), "1");
        assert_eq!(get("guid"), "m1.notice.5.vk");
        assert_eq!(
            read_send_answer(200, br#"{"response":{"post_id":77}}"#).unwrap(),
            Some("77".into())
        );
    }

    #[test]
    fn random_id_is_stable_positive_and_differs_per_answer() {
        let a = random_id("out-1");
        assert_eq!(a, random_id("out-1"));
        assert_ne!(a, random_id("out-2"));
        assert!(a > 0);
    }

    #[test]
    fn send_answers_are_classified_for_the_outbox() {
        assert_eq!(
            read_send_answer(200, br#"{"response": 123}"#).unwrap(),
            Some("123".into())
        );
        assert!(matches!(
            read_send_answer(
                200,
                br#"{"error":{"error_code":9,"error_msg":"Flood control"}}"#
            ),
            Err(SendError::Transient { .. })
        ));
        assert!(matches!(
            read_send_answer(
                200,
                br#"{"error":{"error_code":901,"error_msg":"Can't send messages for users without permission"}}"#
            ),
            Err(SendError::Permanent(_))
        ));
        assert!(matches!(
            read_send_answer(502, b"bad gateway"),
            Err(SendError::Transient { .. })
        ));
    }
}
