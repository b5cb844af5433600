//! The region's mailbox (R01): e-mail into the operators' inbox and their answers back by e-mail.
//!
//! - [`smtp`]: an SMTP listener on the node (the `mailin` state machine driven by the node's
//!   tokio listener, STARTTLS with the node's web certificate when configured). It takes mail
//!   only for the configured region mailboxes and answers `250` to the end of the data only after
//!   the inbox ([`super::Intake`]) stored the message; `451` when the inbox cannot store it now
//!   (the sending server retries), `5xx` when the message is not acceptable as it is.
//! - [`parse`]: sans-IO: the raw message (RFC 5322, MIME) to an [`super::IncomingMessage`] with
//!   `mail-parser`, under the limits below (size, MIME nesting and part count, attachment size).
//! - [`sender`]: the [`super::ChannelSender`] of answers, with `lettre` through the configured
//!   relay; the `Message-ID` carries the outbox id, so a deduplicating relay sends it once.
//!
//! Polling an existing mailbox over IMAP is not built: the region's mail server relays the
//! mailbox's mail to this listener instead (see the README).

pub mod parse;
pub mod sender;
pub mod smtp;

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

/// Largest message the listener takes (the whole RFC 5322 text as it arrives), bytes: one
/// attachment of [`super::ATTACHMENT_BYTES_MAX`] in base64 and its text fit; more is refused
/// with `552` at the end of the data.
pub const MESSAGE_BYTES_MAX: usize = 16 * 1024 * 1024;
/// Most recipients of one message (RFC 5321 §4.5.3.1.8 asks servers to take at least 100); the
/// next `RCPT` gets `452`.
pub const RECIPIENTS_MAX: usize = 100;
/// Longest line, bytes with its CRLF: a command (RFC 5321 §4.5.3.1.4 allows 512) and a line of
/// the message (§4.5.3.1.6 allows 1,000). A longer command gets `500`; a message with a longer
/// line is refused at the end of its data.
pub const LINE_BYTES_MAX: usize = 1000;
/// Deepest nesting of MIME multiparts in one message (a MIME bomb nests thousands).
pub const MIME_DEPTH_MAX: usize = 8;
/// Most MIME parts in one message, multipart containers included.
pub const MIME_PARTS_MAX: usize = 64;
/// A client silent this long in one SMTP session is disconnected, seconds (RFC 5321 §4.5.3.2.7
/// asks for at least 5 minutes).
pub const SESSION_IDLE_S: u64 = 300;
/// Most SMTP sessions at once; a connection over it gets `421` and is closed.
pub const SESSIONS_MAX: usize = 64;
/// Longest time one answer may take at the relay (connect, TLS, the whole transaction), seconds.
pub const RELAY_TIMEOUT_S: u64 = 60;

/// `[email]`: the region's mailbox.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailSection {
    /// Where the SMTP listener listens (`0.0.0.0:25` behind the region's mail exchanger).
    pub listen: SocketAddr,
    /// The region mailbox addresses mail is taken for (e.g. `102@almaty.police.kz`); mail to any
    /// other recipient is refused with `550`. The first one is the `From:` of the answers.
    pub mailboxes: Vec<String>,
    /// The name of this mail host: the SMTP greeting and the domain of the answers'
    /// `Message-ID`s. Default: the domain of the first mailbox.
    #[serde(default)]
    pub domain: Option<String>,
    /// Offer STARTTLS with the node's web certificate (`[https] cert`/`key`).
    #[serde(default)]
    pub starttls: bool,
    /// The relay the answers leave through; without one, answers stay queued in the outbox.
    #[serde(default)]
    pub relay: Option<RelaySection>,
}

/// `[email.relay]`: the mail server that sends the answers on.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelaySection {
    pub host: String,
    /// Default: 587 for `starttls`, 465 for `tls`, 25 for `none`.
    #[serde(default)]
    pub port: Option<u16>,
    /// `starttls` (default), `tls` (implicit TLS, "SMTPS") or `none` (only on a trusted network).
    #[serde(default)]
    pub tls: RelayTls,
    /// The CA certificates (PEM) the relay's certificate is checked against (e.g. the МВД's own
    /// CA), instead of the system's CAs (`/etc/ssl/certs`), which are used when this is absent.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// The relay's login; its password is read from `password_file` (never from this file).
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password_file: Option<PathBuf>,
}

/// How the connection to the relay is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RelayTls {
    #[default]
    Starttls,
    Tls,
    None,
}

impl EmailSection {
    /// The checks a config load runs; the message names the key to fix.
    pub fn validate(&self) -> Result<(), String> {
        if self.mailboxes.is_empty() {
            return Err("email.mailboxes: name at least one region mailbox address".into());
        }
        for m in &self.mailboxes {
            if m.parse::<lettre::Address>().is_err() {
                return Err(format!("email.mailboxes: {m:?} is not an e-mail address"));
            }
        }
        if self.domain().is_empty() {
            return Err("email.domain: empty".into());
        }
        if let Some(r) = &self.relay {
            if r.host.trim().is_empty() {
                return Err("email.relay.host: empty".into());
            }
            if r.username.is_some() != r.password_file.is_some() {
                return Err(
                    "email.relay: username and password_file go together (both or neither)".into(),
                );
            }
        }
        Ok(())
    }

    /// The mail host's name: [`EmailSection::domain`], else the first mailbox's domain.
    pub fn domain(&self) -> String {
        match &self.domain {
            Some(d) => d.trim().to_string(),
            None => self
                .mailboxes
                .first()
                .and_then(|m| m.rsplit_once('@'))
                .map(|(_, d)| d.trim().to_string())
                .unwrap_or_default(),
        }
    }
}

/// Whether `address` is one of `mailboxes` (case-insensitive, as mail servers compare them).
pub fn is_region_mailbox(mailboxes: &[String], address: &str) -> bool {
    let address = address.trim().trim_start_matches('<').trim_end_matches('>');
    mailboxes.iter().any(|m| m.eq_ignore_ascii_case(address))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(toml_text: &str) -> Result<EmailSection, String> {
        let s: EmailSection = toml::from_str(toml_text).map_err(|e| e.to_string())?;
        s.validate().map(|()| s)
    }

    #[test]
    fn a_config_names_what_to_fix() {
        let s = section(
            "listen = \"127.0.0.1:2525\"\nmailboxes = [\"102@Almaty.police.kz\"]\n\
             [relay]\nhost = \"smtp.almaty.police.kz\"\n",
        )
        .unwrap();
        assert_eq!(s.domain(), "Almaty.police.kz");
        assert_eq!(s.relay.as_ref().unwrap().tls, RelayTls::Starttls);
        assert!(is_region_mailbox(&s.mailboxes, "<102@almaty.POLICE.kz>"));
        assert!(!is_region_mailbox(&s.mailboxes, "103@almaty.police.kz"));
        let e = section("listen = \"127.0.0.1:2525\"\nmailboxes = []\n").unwrap_err();
        assert!(e.contains("email.mailboxes"), "{e}");
        let e =
            section("listen = \"127.0.0.1:2525\"\nmailboxes = [\"not-an-address\"]\n").unwrap_err();
        assert!(e.contains("not-an-address"), "{e}");
        let e = section(
            "listen = \"127.0.0.1:2525\"\nmailboxes = [\"a@b.kz\"]\n\
             [relay]\nhost = \"h\"\nusername = \"u\"\n",
        )
        .unwrap_err();
        assert!(e.contains("password_file"), "{e}");
        let e = section(
            "listen = \"127.0.0.1:2525\"\nmailboxes = [\"a@b.kz\"]\n[relay]\nhost = \"h\"\ntls = \"ssl\"\n",
        )
        .unwrap_err();
        assert!(e.contains("ssl"), "{e}");
    }
}
