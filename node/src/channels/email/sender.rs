//! Answers by e-mail: the outbox's [`ChannelSender`] for [`Channel::Email`], with `lettre`
//! through the region's relay.
//!
//! The `Message-ID` is derived from the outbox id (`<outbox_id@domain>`), so every retry of one
//! answer carries the same id and a deduplicating relay delivers it once; `In-Reply-To` and
//! `References` name the citizen's message, and the subject is `Re: <their subject>`, so the
//! citizen's mail program shows the answer in the same thread. The body is the operator's text
//! as written (UTF-8, in the conversation's language). A post (a meeting's notice to an
//! invitee, R37) is a letter of its own: its subject as given, no threading headers.

use std::time::Duration;

use futures::future::BoxFuture;
use lettre::message::{header::ContentType, Mailbox};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sync::Channel;

use super::{EmailSection, RelaySection, RelayTls, RELAY_TIMEOUT_S};
use crate::channels::{ChannelSender, Delivered, OutgoingKind, OutgoingMessage, SendError};

/// Subject of an answer when the conversation has none (language-neutral: the line's number).
pub const DEFAULT_SUBJECT: &str = "102";
/// Longest subject of an answer, characters (a longer citizen's subject is cut).
pub const SUBJECT_CHARS_MAX: usize = 200;

/// Sends answers through the configured relay.
pub struct EmailSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    domain: String,
}

impl EmailSender {
    /// A sender for `section`'s relay; `None` when no relay is configured. Reads the relay's CA
    /// file and password file now, so a wrong path stops the start.
    pub fn from_config(section: &EmailSection) -> anyhow::Result<Option<EmailSender>> {
        let Some(relay) = &section.relay else {
            return Ok(None);
        };
        let domain = section.domain();
        let from = section.mailboxes[0]
            .parse::<Mailbox>()
            .map_err(|e| anyhow::anyhow!("email.mailboxes: {e}"))?;
        Ok(Some(EmailSender {
            transport: transport(relay, &domain)?,
            from,
            domain,
        }))
    }
}

fn transport(
    relay: &RelaySection,
    domain: &str,
) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
    use anyhow::Context;
    let tls_parameters = || -> anyhow::Result<TlsParameters> {
        let mut params = TlsParameters::builder(relay.host.clone());
        if let Some(path) = &relay.ca_file {
            // Only the CA named: the system's CAs are not trusted for this relay.
            params = params.certificate_store(CertificateStore::None);
            let pem = std::fs::read(path)
                .with_context(|| format!("email.relay.ca_file: cannot read {}", path.display()))?;
            let cert = Certificate::from_pem(&pem)
                .map_err(|e| anyhow::anyhow!("email.relay.ca_file {}: {e}", path.display()))?;
            params = params.add_root_certificate(cert);
        }
        params
            .build_rustls()
            .map_err(|e| anyhow::anyhow!("email.relay: TLS settings: {e}"))
    };
    let (tls, default_port) = match relay.tls {
        RelayTls::Starttls => (Tls::Required(tls_parameters()?), 587),
        RelayTls::Tls => (Tls::Wrapper(tls_parameters()?), 465),
        RelayTls::None => (Tls::None, 25),
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(relay.host.clone())
        .port(relay.port.unwrap_or(default_port))
        .tls(tls)
        .hello_name(ClientId::Domain(domain.to_string()))
        .timeout(Some(Duration::from_secs(RELAY_TIMEOUT_S)));
    if let (Some(user), Some(path)) = (&relay.username, &relay.password_file) {
        let password = std::fs::read_to_string(path).with_context(|| {
            format!("email.relay.password_file: cannot read {}", path.display())
        })?;
        builder = builder.credentials(Credentials::new(
            user.clone(),
            password.trim_end_matches(['\r', '\n']).to_string(),
        ));
    }
    Ok(builder.build())
}

/// The `Message-ID` of the answer with outbox id `outbox_id`: `<id@domain>`, the id's
/// characters that a message id cannot hold written as `=XX` (so two ids never collide).
pub fn message_id(outbox_id: &str, domain: &str) -> String {
    let mut local = String::with_capacity(outbox_id.len());
    for b in outbox_id.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'+') {
            local.push(b as char);
        } else {
            local.push_str(&format!("={b:02X}"));
        }
    }
    let local = local.trim_matches('.').replace("..", ".=2E");
    format!("<{local}@{domain}>")
}

/// The subject of an answer: `Re: ` and the citizen's subject (once), cut to
/// [`SUBJECT_CHARS_MAX`]; [`DEFAULT_SUBJECT`] when there is none.
pub fn reply_subject(subject: Option<&str>) -> String {
    let subject: String = subject
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control())
        .take(SUBJECT_CHARS_MAX)
        .collect();
    let subject = subject.trim();
    if subject.is_empty() {
        return format!("Re: {DEFAULT_SUBJECT}");
    }
    let lower = subject.to_lowercase();
    if lower.starts_with("re:") || lower.starts_with("ответ:") {
        subject.to_string()
    } else {
        format!("Re: {subject}")
    }
}

/// The answer as an RFC 5322 message (sans-IO: the transport only sends it).
pub fn reply_message(
    message: &OutgoingMessage,
    from: &Mailbox,
    domain: &str,
) -> Result<Message, SendError> {
    let to = message.address.parse::<Mailbox>().map_err(|e| {
        SendError::Permanent(format!(
            "{:?} is not an e-mail address: {e}",
            message.address
        ))
    })?;
    let subject = match message.kind {
        OutgoingKind::Answer => reply_subject(message.subject.as_deref()),
        // A letter of its own (a meeting's notice, R37): its subject as given, in no thread.
        OutgoingKind::Post => {
            let s: String = message
                .subject
                .as_deref()
                .unwrap_or(DEFAULT_SUBJECT)
                .chars()
                .filter(|c| !c.is_control())
                .take(SUBJECT_CHARS_MAX)
                .collect();
            s
        }
    };
    let mut builder = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(subject)
        .message_id(Some(message_id(&message.outbox_id, domain)));
    if let Some(id) = message
        .in_reply_to
        .as_deref()
        .map(|id| id.trim().trim_start_matches('<').trim_end_matches('>'))
        .filter(|id| !id.is_empty() && !id.chars().any(|c| c.is_control() || c == '<' || c == '>'))
    {
        builder = builder
            .in_reply_to(format!("<{id}>"))
            .references(format!("<{id}>"));
    }
    builder
        .header(ContentType::TEXT_PLAIN)
        .body(message.text.clone())
        .map_err(|e| SendError::Permanent(format!("the answer cannot be written as e-mail: {e}")))
}

impl ChannelSender for EmailSender {
    fn channel(&self) -> Channel {
        Channel::Email
    }

    fn send<'a>(
        &'a self,
        message: &'a OutgoingMessage,
    ) -> BoxFuture<'a, Result<Delivered, SendError>> {
        Box::pin(async move {
            let email = reply_message(message, &self.from, &self.domain)?;
            match self.transport.send(email).await {
                Ok(_) => Ok(Delivered {
                    external_id: Some(
                        message_id(&message.outbox_id, &self.domain)
                            .trim_matches(['<', '>'])
                            .to_string(),
                    ),
                }),
                Err(e) if e.is_permanent() => Err(SendError::Permanent(format!(
                    "the relay refused the answer: {e}"
                ))),
                Err(e) => Err(SendError::Transient {
                    reason: format!("the relay did not take the answer: {e}"),
                    retry_after_ms: None,
                }),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outgoing() -> OutgoingMessage {
        OutgoingMessage {
            kind: Default::default(),
            outbox_id: "AST/out/7f3a".into(),
            channel: Channel::Email,
            address: "aigerim@example.kz".into(),
            conversation_id: "AST/conv/1".into(),
            text: "Сәлеметсіз бе! Наряд выехал.".into(),
            in_reply_to: Some("abc@example.kz".into()),
            subject: Some("Кража".into()),
        }
    }

    #[test]
    fn message_id_is_stable_and_injective() {
        assert_eq!(
            message_id("AST/out/7f3a", "n.kz"),
            "<AST=2Fout=2F7f3a@n.kz>"
        );
        assert_ne!(message_id("a/b", "n.kz"), message_id("a=2Fb", "n.kz"));
        assert_eq!(message_id("x", "n.kz"), message_id("x", "n.kz"));
    }

    #[test]
    fn subject_gets_one_re() {
        assert_eq!(reply_subject(Some("Кража")), "Re: Кража");
        assert_eq!(reply_subject(Some("RE: Кража")), "RE: Кража");
        assert_eq!(reply_subject(None), "Re: 102");
        assert_eq!(reply_subject(Some(" \r\n")), "Re: 102");
    }

    #[test]
    fn reply_is_threaded_utf8_text() {
        let from: Mailbox = "102@almaty.police.kz".parse().unwrap();
        let m = reply_message(&outgoing(), &from, "almaty.police.kz").unwrap();
        let raw = String::from_utf8(m.formatted()).unwrap();
        assert!(
            raw.contains("Message-ID: <AST=2Fout=2F7f3a@almaty.police.kz>"),
            "{raw}"
        );
        assert!(raw.contains("In-Reply-To: <abc@example.kz>"), "{raw}");
        assert!(raw.contains("References: <abc@example.kz>"), "{raw}");
        // Parsed back: the body is the operator's text, the subject one `Re:`.
        let parsed = mail_parser::MessageParser::default()
            .parse(raw.as_bytes())
            .unwrap();
        assert_eq!(parsed.subject(), Some("Re: Кража"));
        assert_eq!(
            parsed.body_text(0).unwrap().trim(),
            "Сәлеметсіз бе! Наряд выехал."
        );
    }

    #[test]
    fn r37_a_post_is_a_letter_of_its_own_with_its_subject() {
        let from: Mailbox = "102@almaty.police.kz".parse().unwrap();
        let mut post = outgoing();
        post.kind = OutgoingKind::Post;
        post.in_reply_to = None;
        post.subject = Some("Отчет участкового инспектора полиции".into());
        let raw = String::from_utf8(reply_message(&post, &from, "d").unwrap().formatted()).unwrap();
        let parsed = mail_parser::MessageParser::default()
            .parse(raw.as_bytes())
            .unwrap();
        assert_eq!(
            parsed.subject(),
            Some("Отчет участкового инспектора полиции")
        );
        assert!(!raw.contains("In-Reply-To"), "{raw}");
    }

    #[test]
    fn a_bad_address_is_permanent() {
        let from: Mailbox = "102@almaty.police.kz".parse().unwrap();
        let mut m = outgoing();
        m.address = "not an address".into();
        assert!(matches!(
            reply_message(&m, &from, "d"),
            Err(SendError::Permanent(_))
        ));
    }
}
