//! One e-mail (RFC 5322 with MIME, as the SMTP listener received it) to an [`IncomingMessage`]:
//! sans-IO and deterministic (the receive time is passed in).
//!
//! - The text is the subject and the plain body; an HTML-only body is converted to text by
//!   `mail-parser` (tags dropped, `<script>`/`<style>` contents never kept), so no markup is
//!   stored for rendering. Control characters are removed; badly encoded bytes and unknown
//!   charsets come out as replacement characters, never as a refusal or a panic.
//! - Attachments are kept as files; a type a browser would run (HTML, SVG, XML) is stored as
//!   `application/octet-stream`, so serving it can never render it.
//! - MIME bombs (deep nesting, thousands of parts) and huge attachments are refused with the
//!   SMTP reply the sending server should see ([`Refusal::smtp_reply`]).

use mail_parser::{HeaderValue, Message, MessageParser, MimeHeaders, PartType};
use sha2::{Digest, Sha256};

use super::{MESSAGE_BYTES_MAX, MIME_DEPTH_MAX, MIME_PARTS_MAX};
use crate::channels::{
    IncomingAttachment, IncomingMessage, ATTACHMENTS_PER_MESSAGE_MAX, ATTACHMENT_BYTES_MAX,
    MESSAGE_TEXT_CHARS_MAX,
};
use sync::Channel;

/// The text of an e-mail with neither a subject, nor a text body, nor an attachment: a note
/// code the consoles render in kk/ru (the message is stored, so the operator sees that the
/// citizen wrote and can answer).
pub const NO_TEXT_NOTE: &str = "note.email_no_text";
/// Appended to a text cut at [`MESSAGE_TEXT_CHARS_MAX`] (language-neutral).
pub const CUT_MARK: &str = "\n[…]";
/// Longest `Message-ID` used as the delivery id as it is, bytes; a longer one is replaced by
/// its SHA-256 (still stable across retransmissions).
pub const MESSAGE_ID_BYTES_MAX: usize = 255;

/// Why a message is refused; each maps to the SMTP reply the sending server gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Larger than [`MESSAGE_BYTES_MAX`].
    TooLarge { bytes: usize },
    /// A line longer than [`super::LINE_BYTES_MAX`].
    LineTooLong,
    /// An attachment larger than [`ATTACHMENT_BYTES_MAX`].
    AttachmentTooLarge { name: String, bytes: usize },
    /// More than [`ATTACHMENTS_PER_MESSAGE_MAX`] attachments.
    TooManyAttachments { count: usize },
    /// MIME nested deeper than [`MIME_DEPTH_MAX`].
    TooDeep,
    /// More than [`MIME_PARTS_MAX`] MIME parts.
    TooManyParts,
    /// Not an RFC 5322 message at all.
    Unparsable,
    /// No address to answer to: no `Reply-To:`, no `From:`, a null envelope sender.
    NoSender,
}

impl Refusal {
    /// The SMTP reply code (RFC 5321) and its text with an enhanced status code (RFC 3463).
    /// SMTP replies are US-ASCII protocol text for the sending server, not for a person.
    pub fn smtp_reply(&self) -> (u16, String) {
        match self {
            Refusal::TooLarge { bytes } => (
                552,
                format!("5.3.4 Message of {bytes} bytes exceeds the limit of {MESSAGE_BYTES_MAX} bytes"),
            ),
            Refusal::LineTooLong => (
                554,
                format!("5.6.0 A line is longer than {} bytes", super::LINE_BYTES_MAX),
            ),
            Refusal::AttachmentTooLarge { bytes, .. } => (
                552,
                format!("5.3.4 An attachment of {bytes} bytes exceeds the limit of {ATTACHMENT_BYTES_MAX} bytes"),
            ),
            Refusal::TooManyAttachments { count } => (
                552,
                format!("5.3.4 {count} attachments; at most {ATTACHMENTS_PER_MESSAGE_MAX} are taken"),
            ),
            Refusal::TooDeep => (
                554,
                format!("5.6.0 MIME nested deeper than {MIME_DEPTH_MAX} levels"),
            ),
            Refusal::TooManyParts => (
                554,
                format!("5.6.0 More than {MIME_PARTS_MAX} MIME parts"),
            ),
            Refusal::Unparsable => (554, "5.6.0 Not an RFC 5322 message".into()),
            Refusal::NoSender => (
                550,
                "5.1.7 No sender address to answer to (From:, Reply-To: or the envelope)".into(),
            ),
        }
    }
}

/// Parses `raw` (the message data, dot-unstuffed, CRLF line ends) that arrived with envelope
/// sender `envelope_from` (`MAIL FROM`, empty for `<>`) at `received_at_ms`.
pub fn parse_message(
    raw: &[u8],
    envelope_from: &str,
    received_at_ms: i64,
) -> Result<IncomingMessage, Refusal> {
    if raw.len() > MESSAGE_BYTES_MAX {
        return Err(Refusal::TooLarge { bytes: raw.len() });
    }
    // A cheap bound before the parse: every MIME part has (at most) one Content-Type header.
    if count_content_type_lines(raw) > MIME_PARTS_MAX {
        return Err(Refusal::TooManyParts);
    }
    let message = MessageParser::default()
        .parse(raw)
        .ok_or(Refusal::Unparsable)?;
    let (parts, depth) = mime_shape(&message);
    if depth > MIME_DEPTH_MAX {
        return Err(Refusal::TooDeep);
    }
    if parts > MIME_PARTS_MAX {
        return Err(Refusal::TooManyParts);
    }

    let from = message.from().and_then(|a| a.first());
    let reply_to = message
        .reply_to()
        .and_then(|a| a.first())
        .and_then(|a| a.address());
    let address = reply_to
        .or_else(|| from.and_then(|a| a.address()))
        .or(Some(envelope_from).filter(|e| !e.trim().is_empty()))
        .map(|a| {
            a.trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_lowercase()
        })
        .filter(|a| a.contains('@'))
        .ok_or(Refusal::NoSender)?;
    let sender_name = from
        .and_then(|a| a.name())
        .map(clean_line)
        .filter(|n| !n.is_empty());
    let external_id = match message.message_id().map(str::trim) {
        Some(id) if !id.is_empty() && id.len() <= MESSAGE_ID_BYTES_MAX => id.to_string(),
        _ => format!("sha256:{}", hex::encode(Sha256::digest(raw))),
    };
    let mut in_reply_to = Vec::new();
    for id in ids(message.in_reply_to())
        .into_iter()
        .chain(ids(message.references()).into_iter().rev())
    {
        if !in_reply_to.contains(&id) {
            in_reply_to.push(id);
        }
    }

    let attachments = attachments(&message)?;
    let subject = message.subject().map(clean_line).unwrap_or_default();
    let body = (0..message.text_body_count())
        .filter_map(|i| message.body_text(i))
        .map(|t| clean_text(&t))
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n");
    let text = match (subject.is_empty(), body.is_empty()) {
        (false, false) => format!("{subject}\n\n{body}"),
        (false, true) => subject,
        (true, false) => body,
        (true, true) if attachments.is_empty() => NO_TEXT_NOTE.to_string(),
        (true, true) => String::new(),
    };
    Ok(IncomingMessage {
        channel: Channel::Email,
        email: Some(address.clone()),
        address,
        external_id,
        in_reply_to,
        sender_name,
        phone: None,
        text: cut(text),
        location: None,
        attachments,
        sent_at_ms: message.date().map(|d| d.to_timestamp() * 1000),
        received_at_ms,
    })
}

/// The ids of a `Message-ID` list header (`In-Reply-To`, `References`), in header order.
fn ids(value: &HeaderValue<'_>) -> Vec<String> {
    value
        .as_text_list()
        .unwrap_or_default()
        .iter()
        .map(|id| id.trim().to_string())
        .filter(|id| !id.is_empty() && id.len() <= MESSAGE_ID_BYTES_MAX)
        .collect()
}

fn attachments(message: &Message<'_>) -> Result<Vec<IncomingAttachment>, Refusal> {
    let count = message.attachment_count();
    if count > ATTACHMENTS_PER_MESSAGE_MAX {
        return Err(Refusal::TooManyAttachments { count });
    }
    let mut out = Vec::with_capacity(count);
    for (i, part) in message.attachments().enumerate() {
        let name = part
            .attachment_name()
            .map(clean_line)
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| format!("attachment-{}", i + 1));
        let bytes = part.contents();
        if bytes.len() > ATTACHMENT_BYTES_MAX {
            return Err(Refusal::AttachmentTooLarge {
                name,
                bytes: bytes.len(),
            });
        }
        let content_type = part
            .content_type()
            .map(|ct| match ct.subtype() {
                Some(sub) => format!("{}/{}", ct.ctype(), sub),
                None => ct.ctype().to_string(),
            })
            .unwrap_or_else(|| "application/octet-stream".into())
            .to_ascii_lowercase();
        out.push(IncomingAttachment {
            file_name: name,
            content_type: safe_content_type(content_type),
            bytes: bytes.to_vec(),
        });
    }
    Ok(out)
}

/// A type a browser would render as a document with scripts becomes an opaque download.
fn safe_content_type(content_type: String) -> String {
    let active = content_type.contains("html")
        || content_type.contains("xml")
        || content_type.contains("svg")
        || content_type.contains("javascript");
    if active {
        "application/octet-stream".into()
    } else {
        content_type
    }
}

/// The number of MIME parts (nested messages' parts included) and the deepest nesting.
fn mime_shape(message: &Message<'_>) -> (usize, usize) {
    let mut parts = 0;
    let mut deepest = 0;
    // (message, part index, depth); iterative, so no nesting can exhaust the stack.
    let mut stack: Vec<(&Message<'_>, usize, usize)> = vec![(message, 0, 1)];
    while let Some((msg, index, depth)) = stack.pop() {
        let Some(part) = msg.parts.get(index) else {
            continue;
        };
        parts += 1;
        deepest = deepest.max(depth);
        if parts > MIME_PARTS_MAX || deepest > MIME_DEPTH_MAX {
            break;
        }
        match &part.body {
            PartType::Multipart(children) => {
                for &child in children {
                    // A child that points back at an ancestor would loop: parts only nest forward.
                    if (child as usize) > index {
                        stack.push((msg, child as usize, depth + 1));
                    }
                }
            }
            PartType::Message(inner) => stack.push((inner, 0, depth + 1)),
            _ => {}
        }
    }
    (parts, deepest)
}

fn count_content_type_lines(raw: &[u8]) -> usize {
    const NAME: &[u8] = b"content-type:";
    raw.split(|&b| b == b'\n')
        .filter(|line| line.len() >= NAME.len() && line[..NAME.len()].eq_ignore_ascii_case(NAME))
        .count()
}

/// One line of text (a subject, a name): whitespace runs to one space, control characters out.
fn clean_line(s: &str) -> String {
    s.split_whitespace()
        .map(|w| w.chars().filter(|c| !c.is_control()).collect::<String>())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A body: line ends to `\n`, control characters (but tab and newline) out, trailing blank
/// lines trimmed.
fn clean_text(s: &str) -> String {
    let s = s.replace("\r\n", "\n").replace('\r', "\n");
    let s: String = s
        .chars()
        .filter(|&c| c == '\n' || c == '\t' || !c.is_control())
        .collect();
    s.trim().to_string()
}

/// `text` cut at [`MESSAGE_TEXT_CHARS_MAX`] characters, the cut marked with [`CUT_MARK`].
fn cut(text: String) -> String {
    if text.chars().count() <= MESSAGE_TEXT_CHARS_MAX {
        return text;
    }
    let keep = MESSAGE_TEXT_CHARS_MAX - CUT_MARK.chars().count();
    let mut out: String = text.chars().take(keep).collect();
    out.push_str(CUT_MARK);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crlf(s: &str) -> Vec<u8> {
        s.replace('\n', "\r\n").into_bytes()
    }

    #[test]
    fn plain_message_with_threading() {
        let raw = crlf(
            "From: Айгерім Сәрсенова <Aigerim@Example.KZ>\n\
             To: 102@almaty.police.kz\n\
             Subject: =?UTF-8?B?0JrRgNCw0LbQsA==?=\n\
             Message-ID: <abc@example.kz>\n\
             In-Reply-To: <r2@node>\n\
             References: <r1@node> <r2@node>\n\
             Date: Tue, 1 Jul 2025 10:00:00 +0500\n\
             Content-Type: text/plain; charset=utf-8\n\
             \n\
             Украли велосипед у подъезда.\n",
        );
        let m = parse_message(&raw, "bounce@example.kz", 7).unwrap();
        assert_eq!(m.channel, Channel::Email);
        assert_eq!(m.address, "aigerim@example.kz");
        assert_eq!(m.email.as_deref(), Some("aigerim@example.kz"));
        assert_eq!(m.sender_name.as_deref(), Some("Айгерім Сәрсенова"));
        assert_eq!(m.external_id, "abc@example.kz");
        assert_eq!(m.in_reply_to, vec!["r2@node".to_string(), "r1@node".into()]);
        assert_eq!(m.text, "Кража\n\nУкрали велосипед у подъезда.");
        assert_eq!(m.sent_at_ms, Some(1_751_346_000_000));
        assert_eq!(m.received_at_ms, 7);
    }

    #[test]
    fn html_only_body_becomes_text_without_script() {
        let raw = crlf(
            "From: a@b.kz\nSubject: x\nContent-Type: text/html; charset=utf-8\n\n\
             <html><head><script>alert('x')</script></head><body><p>Помогите</p>\
             <script>document.cookie</script><b>срочно</b></body></html>\n",
        );
        let m = parse_message(&raw, "", 0).unwrap();
        assert!(m.text.contains("Помогите"), "{}", m.text);
        assert!(m.text.contains("срочно"), "{}", m.text);
        assert!(!m.text.contains("alert"), "{}", m.text);
        assert!(!m.text.contains("cookie"), "{}", m.text);
        assert!(!m.text.contains('<'), "{}", m.text);
    }

    #[test]
    fn bad_charset_and_bytes_are_replaced_not_refused() {
        let mut raw =
            crlf("From: a@b.kz\nSubject: x\nContent-Type: text/plain; charset=x-unknown-9\n\n");
        raw.extend_from_slice(b"\xff\xfe\x80 abc\r\n");
        let m = parse_message(&raw, "", 0).unwrap();
        assert!(m.text.contains("abc"), "{}", m.text);
        // windows-1251, as older Russian mail clients send it.
        let mut raw = crlf("From: a@b.kz\nContent-Type: text/plain; charset=windows-1251\n\n");
        raw.extend_from_slice(&[0xcf, 0xee, 0xec, 0xee, 0xe3, 0xe8, 0xf2, 0xe5]);
        let m = parse_message(&raw, "", 0).unwrap();
        assert_eq!(m.text, "Помогите");
    }

    #[test]
    fn no_text_is_stored_with_the_note() {
        let raw = crlf("From: a@b.kz\nMessage-ID: <e@b.kz>\n\n\n");
        let m = parse_message(&raw, "", 0).unwrap();
        assert_eq!(m.text, NO_TEXT_NOTE);
    }

    #[test]
    fn missing_message_id_is_a_stable_hash() {
        let raw = crlf("From: a@b.kz\n\nhello\n");
        let a = parse_message(&raw, "", 1).unwrap();
        let b = parse_message(&raw, "", 2).unwrap();
        assert!(a.external_id.starts_with("sha256:"));
        assert_eq!(a.external_id, b.external_id);
    }

    #[test]
    fn mime_bomb_is_refused() {
        let mut raw = String::from("From: a@b.kz\nMIME-Version: 1.0\n");
        for i in 0..200 {
            raw.push_str(&format!(
                "Content-Type: multipart/mixed; boundary=\"b{i}\"\n\n--b{i}\n"
            ));
        }
        raw.push_str("Content-Type: text/plain\n\nx\n");
        let r = parse_message(&crlf(&raw), "", 0).unwrap_err();
        assert_eq!(r, Refusal::TooManyParts);
        // Deep but few: nesting is checked on its own.
        let mut raw = String::from("From: a@b.kz\nMIME-Version: 1.0\n");
        for i in 0..(MIME_DEPTH_MAX + 2) {
            raw.push_str(&format!(
                "Content-Type: multipart/mixed; boundary=\"b{i}\"\n\n--b{i}\n"
            ));
        }
        raw.push_str("Content-Type: text/plain\n\nx\n");
        let r = parse_message(&crlf(&raw), "", 0).unwrap_err();
        assert_eq!(r, Refusal::TooDeep);
        assert_eq!(r.smtp_reply().0, 554);
    }

    #[test]
    fn active_attachment_types_become_downloads() {
        let raw = crlf(
            "From: a@b.kz\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"B\"\n\n\
             --B\nContent-Type: text/plain\n\nсм. файл\n\
             --B\nContent-Type: image/svg+xml\nContent-Disposition: attachment; filename=\"x.svg\"\n\n\
             <svg onload=\"alert(1)\"/>\n\
             --B--\n",
        );
        let m = parse_message(&raw, "", 0).unwrap();
        assert_eq!(m.attachments.len(), 1);
        assert_eq!(m.attachments[0].file_name, "x.svg");
        assert_eq!(m.attachments[0].content_type, "application/octet-stream");
    }

    #[test]
    fn long_text_is_cut_and_marked() {
        let raw = crlf(&format!(
            "From: a@b.kz\n\n{}\n",
            "а ".repeat(MESSAGE_TEXT_CHARS_MAX)
        ));
        let m = parse_message(&raw, "", 0).unwrap();
        assert_eq!(m.text.chars().count(), MESSAGE_TEXT_CHARS_MAX);
        assert!(m.text.ends_with(CUT_MARK));
    }

    #[test]
    fn no_sender_is_refused() {
        let raw = crlf("Subject: x\n\nhello\n");
        assert_eq!(parse_message(&raw, "", 0).unwrap_err(), Refusal::NoSender);
        assert_eq!(
            parse_message(&raw, "bob@b.kz", 0).unwrap().address,
            "bob@b.kz"
        );
    }
}
