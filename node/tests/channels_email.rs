//! The e-mail channel with real protocol peers (R01): Python's `smtplib` (a subprocess) sends
//! to the node's SMTP listener, and the answers leave through `lettre` to a real SMTP server,
//! Python's `aiosmtpd` writing a maildir. Nothing here is a mock of SMTP.
//!
//! The inbox side is [`Recorder`], an [`Intake`] that keeps what it was given and can be told
//! to refuse, so the listener's replies to each inbox answer are checked.

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use node::channels::email::parse::NO_TEXT_NOTE;
use node::channels::email::sender::EmailSender;
use node::channels::email::{smtp, EmailSection, RelaySection, RelayTls, MESSAGE_BYTES_MAX};
use node::channels::{
    Accepted, ChannelSender, IncomingMessage, Intake, IntakeError, OutgoingMessage,
};
use serde_json::Value;
use sync::Channel;

const MAILBOX: &str = "102@ast.police.kz";
const DEADLINE: Duration = Duration::from_secs(30);

use common::smtp_sink::{python, Sink};

/// An inbox that records each message it stores (once per `external_id`, as the real one
/// dedupes) and answers `refuse` instead while it is set.
#[derive(Default)]
struct Recorder {
    stored: Mutex<Vec<IncomingMessage>>,
    refuse: Mutex<Option<IntakeError>>,
}

impl Recorder {
    fn stored(&self) -> Vec<IncomingMessage> {
        self.stored.lock().unwrap().clone()
    }
}

impl Intake for Recorder {
    fn receive(&self, message: IncomingMessage) -> BoxFuture<'_, Result<Accepted, IntakeError>> {
        Box::pin(async move {
            if let Some(e) = self.refuse.lock().unwrap().clone() {
                return Err(e);
            }
            let mut stored = self.stored.lock().unwrap();
            let conversation_id = format!("AST/conv/{}", message.address);
            if stored.iter().any(|m| m.external_id == message.external_id) {
                return Ok(Accepted::Duplicate { conversation_id });
            }
            stored.push(message);
            Ok(Accepted::Stored {
                conversation_id,
                message_id: format!("m{}", stored.len()),
            })
        })
    }
}

fn section(relay: Option<RelaySection>, starttls: bool) -> EmailSection {
    EmailSection {
        listen: "127.0.0.1:0".parse().unwrap(),
        mailboxes: vec![MAILBOX.into()],
        domain: Some("node.ast.police.kz".into()),
        starttls,
        relay,
    }
}

async fn listen(
    intake: Arc<Recorder>,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> (std::net::SocketAddr, tokio::sync::watch::Sender<bool>) {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let listener = smtp::start(&section(None, tls.is_some()), intake, tls, stopped)
        .await
        .unwrap();
    (listener.local_addr, stop)
}

/// Sends `raw` with `smtplib` to `addr`; the client's JSON verdict (`ok`, `stage`, `code`).
async fn smtplib_send(
    addr: std::net::SocketAddr,
    rcpt: &str,
    raw: &[u8],
    starttls_ca: Option<&Path>,
) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("message.eml");
    std::fs::write(&file, raw).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/email/smtp_send.py");
    let mut cmd = tokio::process::Command::new(python());
    cmd.arg(script)
        .arg(addr.ip().to_string())
        .arg(addr.port().to_string())
        .arg("citizen@example.kz")
        .arg(rcpt)
        .arg(&file);
    if let Some(ca) = starttls_ca {
        cmd.arg("--starttls").arg(ca);
    }
    let out = tokio::time::timeout(DEADLINE, cmd.kill_on_drop(true).output())
        .await
        .expect("smtplib finished")
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.trim()).unwrap_or_else(|_| {
        panic!(
            "smtplib said: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn crlf(s: &str) -> Vec<u8> {
    s.replace('\n', "\r\n").into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r01_email_from_smtplib_reaches_the_inbox_and_the_answer_reaches_a_real_smtp_server() {
    let inbox = Arc::new(Recorder::default());
    let (addr, _stop) = listen(inbox.clone(), None).await;
    let raw = crlf(
        "From: =?UTF-8?B?0JDQudCz0LXRgNGW0Lwg0KHSr9GA0YHQtdC90L7QstCw?= <Aigerim@Example.KZ>\n\
         To: 102@ast.police.kz\n\
         Subject: =?UTF-8?B?0JrRgNCw0LbQsCDQstC10LvQvtGB0LjQv9C10LTQsA==?=\n\
         Message-ID: <first-1@example.kz>\n\
         References: <older@example.kz>\n\
         Date: Tue, 1 Jul 2025 10:00:00 +0500\n\
         MIME-Version: 1.0\n\
         Content-Type: multipart/mixed; boundary=\"B\"\n\
         \n\
         --B\n\
         Content-Type: text/plain; charset=utf-8\n\
         Content-Transfer-Encoding: 8bit\n\
         \n\
         Украли велосипед у подъезда, ул. Кенесары 10.\n\
         --B\n\
         Content-Type: image/jpeg\n\
         Content-Disposition: attachment; filename=\"bike.jpg\"\n\
         Content-Transfer-Encoding: base64\n\
         \n\
         /9j/4AAQSkZJRg==\n\
         --B--\n",
    );
    let verdict = smtplib_send(addr, MAILBOX, &raw, None).await;
    assert_eq!(verdict["ok"], true, "{verdict}");
    let stored = inbox.stored();
    assert_eq!(stored.len(), 1, "stored before the 250");
    let m = &stored[0];
    assert_eq!(m.channel, Channel::Email);
    assert_eq!(m.address, "aigerim@example.kz");
    assert_eq!(m.email.as_deref(), Some("aigerim@example.kz"));
    assert_eq!(m.sender_name.as_deref(), Some("Айгерім Сүрсенова"));
    assert_eq!(m.external_id, "first-1@example.kz");
    assert_eq!(m.in_reply_to, vec!["older@example.kz".to_string()]);
    assert_eq!(
        m.text,
        "Кража велосипеда\n\nУкрали велосипед у подъезда, ул. Кенесары 10."
    );
    assert_eq!(m.attachments.len(), 1);
    assert_eq!(m.attachments[0].file_name, "bike.jpg");
    assert_eq!(m.attachments[0].content_type, "image/jpeg");
    assert_eq!(&m.attachments[0].bytes[..3], &[0xff, 0xd8, 0xff]);

    // The mail server retransmits (it did not see our 250): stored once, 250 again.
    let verdict = smtplib_send(addr, MAILBOX, &raw, None).await;
    assert_eq!(verdict["ok"], true, "{verdict}");
    assert_eq!(inbox.stored().len(), 1);

    // The operator's answer leaves through the relay: a real SMTP server receives it.
    let sink = Sink::start(None).await;
    let relay = RelaySection {
        host: "127.0.0.1".into(),
        port: Some(sink.port),
        tls: RelayTls::None,
        ca_file: None,
        username: None,
        password_file: None,
    };
    let sender = EmailSender::from_config(&section(Some(relay), false))
        .unwrap()
        .expect("a relay is configured");
    assert_eq!(sender.channel(), Channel::Email);
    let answer = OutgoingMessage {
        kind: Default::default(),
        outbox_id: "AST/out/42".into(),
        channel: Channel::Email,
        address: m.address.clone(),
        conversation_id: "AST/conv/1".into(),
        text: "Сәлеметсіз бе! Заявление принято, наряд направлен.".into(),
        in_reply_to: Some(m.external_id.clone()),
        subject: Some("Кража велосипеда".into()),
    };
    let delivered = sender.send(&answer).await.expect("the relay took it");
    assert_eq!(
        delivered.external_id.as_deref(),
        Some("AST=2Fout=2F42@node.ast.police.kz")
    );
    common::until(DEADLINE, "the answer is in the maildir", || {
        let n = sink.messages().len();
        async move { n == 1 }
    })
    .await;
    let raw = sink.messages().remove(0);
    let got = mail_parser::MessageParser::default().parse(&raw).unwrap();
    assert_eq!(got.message_id(), Some("AST=2Fout=2F42@node.ast.police.kz"));
    assert_eq!(
        got.in_reply_to().as_text(),
        Some("first-1@example.kz"),
        "threaded"
    );
    assert_eq!(got.subject(), Some("Re: Кража велосипеда"));
    assert_eq!(
        got.from().and_then(|a| a.first()).and_then(|a| a.address()),
        Some(MAILBOX)
    );
    assert_eq!(
        got.body_text(0).unwrap().trim(),
        "Сәлеметсіз бе! Заявление принято, наряд направлен."
    );
    // aiosmtpd's handler records the envelope recipient.
    let text = String::from_utf8_lossy(&raw);
    assert!(text.contains("X-RcptTo: aigerim@example.kz"), "{text}");

    // A retry of the same answer carries the same Message-ID (a deduplicating relay drops it).
    sender.send(&answer).await.unwrap();
    common::until(DEADLINE, "the retry is in the maildir", || {
        let n = sink.messages().len();
        async move { n == 2 }
    })
    .await;
    let again = sink.messages().remove(1);
    let again = mail_parser::MessageParser::default().parse(&again).unwrap();
    assert_eq!(again.message_id(), got.message_id());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r01_email_bad_input_is_refused_with_the_right_reply_or_stored_safely() {
    let inbox = Arc::new(Recorder::default());
    let (addr, _stop) = listen(inbox.clone(), None).await;

    // Unknown recipient: 550 at RCPT, nothing stored.
    let plain = crlf("From: a@example.kz\nSubject: x\nMessage-ID: <u@x>\n\nhello\n");
    let v = smtplib_send(addr, "someone@ast.police.kz", &plain, None).await;
    assert_eq!(
        (v["stage"].as_str(), v["code"].as_u64()),
        (Some("rcpt"), Some(550)),
        "{v}"
    );

    // Oversized: 552 at the end of the data.
    let mut big = crlf("From: a@example.kz\nMessage-ID: <big@x>\n\n");
    let line = format!("{}\r\n", "x".repeat(76));
    while big.len() <= MESSAGE_BYTES_MAX {
        big.extend_from_slice(line.as_bytes());
    }
    let v = smtplib_send(addr, MAILBOX, &big, None).await;
    assert_eq!(
        (v["stage"].as_str(), v["code"].as_u64()),
        (Some("data"), Some(552)),
        "{v}"
    );

    // A huge attachment: 552.
    let mut att = crlf(
        "From: a@example.kz\nMessage-ID: <att@x>\nMIME-Version: 1.0\n\
         Content-Type: multipart/mixed; boundary=\"B\"\n\n--B\nContent-Type: text/plain\n\nсм.\n\
         --B\nContent-Type: application/octet-stream\nContent-Disposition: attachment; filename=\"a.bin\"\n\
         Content-Transfer-Encoding: base64\n\n",
    );
    let b64_line = format!("{}\r\n", "A".repeat(76));
    // 11 MiB decoded, over the 10 MiB attachment limit, under the message limit.
    for _ in 0..(11 * 1024 * 1024 / 57 + 1) {
        att.extend_from_slice(b64_line.as_bytes());
    }
    att.extend_from_slice(b"--B--\r\n");
    let v = smtplib_send(addr, MAILBOX, &att, None).await;
    assert_eq!(
        (v["stage"].as_str(), v["code"].as_u64()),
        (Some("data"), Some(552)),
        "{v}"
    );

    // A MIME bomb: 554.
    let mut bomb = String::from("From: a@example.kz\nMessage-ID: <bomb@x>\nMIME-Version: 1.0\n");
    for i in 0..500 {
        bomb.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=\"b{i}\"\n\n--b{i}\n"
        ));
    }
    bomb.push_str("Content-Type: text/plain\n\nx\n");
    let v = smtplib_send(addr, MAILBOX, &crlf(&bomb), None).await;
    assert_eq!(
        (v["stage"].as_str(), v["code"].as_u64()),
        (Some("data"), Some(554)),
        "{v}"
    );

    // A line over RFC 5321's 1,000 bytes: 554.
    let long = crlf(&format!(
        "From: a@example.kz\nMessage-ID: <long@x>\n\n{}\n",
        "я".repeat(600)
    ));
    let v = smtplib_send(addr, MAILBOX, &long, None).await;
    assert_eq!(
        (v["stage"].as_str(), v["code"].as_u64()),
        (Some("data"), Some(554)),
        "{v}"
    );
    assert!(inbox.stored().is_empty(), "nothing refused was stored");

    // Stored safely: an unknown charset with bad bytes, HTML with scripts, an empty body.
    let mut bad = crlf(
        "From: a@example.kz\nMessage-ID: <cs@x>\nContent-Type: text/plain; charset=x-klingon\n\n",
    );
    bad.extend_from_slice(b"\xff\xfe\x80 help\r\n");
    let v = smtplib_send(addr, MAILBOX, &bad, None).await;
    assert_eq!(v["ok"], true, "{v}");
    let html = crlf(
        "From: b@example.kz\nMessage-ID: <html@x>\nSubject: SOS\nContent-Type: text/html; charset=utf-8\n\n\
         <html><head><script>fetch('/api/v1/inbox')</script></head>\
         <body onload=\"alert(1)\"><p>Шумят соседи</p><script>alert(2)</script></body></html>\n",
    );
    let v = smtplib_send(addr, MAILBOX, &html, None).await;
    assert_eq!(v["ok"], true, "{v}");
    let empty = crlf("From: c@example.kz\nMessage-ID: <empty@x>\n\n\n");
    let v = smtplib_send(addr, MAILBOX, &empty, None).await;
    assert_eq!(v["ok"], true, "{v}");

    let stored = inbox.stored();
    assert_eq!(stored.len(), 3, "{stored:?}");
    assert!(stored[0].text.contains("help"), "{}", stored[0].text);
    assert!(
        stored[0].text.contains('\u{fffd}'),
        "bad bytes replaced: {}",
        stored[0].text
    );
    assert_eq!(
        stored[1].text, "SOS\n\nШумят соседи",
        "no markup, no script"
    );
    assert_eq!(stored[2].text, NO_TEXT_NOTE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r01_email_is_answered_250_only_once_stored_else_451_and_the_retry_is_stored_once() {
    let inbox = Arc::new(Recorder::default());
    let (addr, _stop) = listen(inbox.clone(), None).await;
    let raw = crlf("From: a@example.kz\nMessage-ID: <retry@x>\nSubject: Помогите\n\nтекст\n");

    *inbox.refuse.lock().unwrap() = Some(IntakeError::Unavailable("disk".into()));
    let v = smtplib_send(addr, MAILBOX, &raw, None).await;
    assert_eq!(
        (v["stage"].as_str(), v["code"].as_u64()),
        (Some("data"), Some(451)),
        "{v}"
    );

    *inbox.refuse.lock().unwrap() = Some(IntakeError::RateLimited { retry_after_s: 60 });
    let v = smtplib_send(addr, MAILBOX, &raw, None).await;
    assert_eq!(
        (v["stage"].as_str(), v["code"].as_u64()),
        (Some("data"), Some(451)),
        "{v}"
    );

    *inbox.refuse.lock().unwrap() = Some(IntakeError::Invalid {
        code: "err.message_empty",
        detail: "nothing".into(),
    });
    let v = smtplib_send(addr, MAILBOX, &raw, None).await;
    assert_eq!(
        (v["stage"].as_str(), v["code"].as_u64()),
        (Some("data"), Some(554)),
        "{v}"
    );
    assert!(inbox.stored().is_empty());

    // The sending server retries once the inbox can store again.
    *inbox.refuse.lock().unwrap() = None;
    for _ in 0..2 {
        let v = smtplib_send(addr, MAILBOX, &raw, None).await;
        assert_eq!(v["ok"], true, "{v}");
    }
    assert_eq!(inbox.stored().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r01_email_starttls_with_the_node_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let generated = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
    let (cert, key) = (dir.path().join("web.crt"), dir.path().join("web.key"));
    std::fs::write(&cert, generated.cert.pem()).unwrap();
    std::fs::write(&key, generated.signing_key.serialize_pem()).unwrap();
    let server = Arc::new(node::https::server_config(&cert, &key).unwrap());
    let inbox = Arc::new(Recorder::default());
    let (addr, _stop) = listen(inbox.clone(), Some(server)).await;
    let raw = crlf("From: a@example.kz\nMessage-ID: <tls@x>\n\nсообщение\n");
    let v = smtplib_send(addr, MAILBOX, &raw, Some(&cert)).await;
    assert_eq!(v["ok"], true, "{v}");
    assert!(v["tls"].as_str().unwrap_or("").starts_with("TLS"), "{v}");
    assert_eq!(inbox.stored()[0].text, "сообщение");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r01_email_answer_through_a_starttls_relay_checked_against_its_ca() {
    let dir = tempfile::tempdir().unwrap();
    let generated = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
    let (cert, key) = (dir.path().join("relay.crt"), dir.path().join("relay.key"));
    std::fs::write(&cert, generated.cert.pem()).unwrap();
    std::fs::write(&key, generated.signing_key.serialize_pem()).unwrap();
    let sink = Sink::start(Some((&cert, &key))).await;
    let relay = |ca_file: Option<PathBuf>| RelaySection {
        host: "127.0.0.1".into(),
        port: Some(sink.port),
        tls: RelayTls::Starttls,
        ca_file,
        username: None,
        password_file: None,
    };
    let answer = OutgoingMessage {
        kind: Default::default(),
        outbox_id: "AST/out/tls".into(),
        channel: Channel::Email,
        address: "citizen@example.kz".into(),
        conversation_id: "AST/conv/2".into(),
        text: "Жауап".into(),
        in_reply_to: None,
        subject: None,
    };
    // A relay whose certificate no trusted CA signed: not delivered, and worth retrying (the
    // outbox keeps the answer) rather than sent in clear.
    let untrusted = EmailSender::from_config(&section(Some(relay(None)), false))
        .unwrap()
        .unwrap();
    let refused = untrusted.send(&answer).await.unwrap_err();
    assert!(
        matches!(refused, node::channels::SendError::Transient { .. }),
        "{refused:?}"
    );
    assert!(sink.messages().is_empty());

    let trusted = EmailSender::from_config(&section(Some(relay(Some(cert.clone()))), false))
        .unwrap()
        .unwrap();
    trusted
        .send(&answer)
        .await
        .expect("delivered over STARTTLS");
    common::until(DEADLINE, "the answer is in the maildir", || {
        let n = sink.messages().len();
        async move { n == 1 }
    })
    .await;
    let raw = sink.messages().remove(0);
    let got = mail_parser::MessageParser::default().parse(&raw).unwrap();
    assert_eq!(got.subject(), Some("Re: 102"));
    assert_eq!(got.body_text(0).unwrap().trim(), "Жауап");
}

/// The whole way through the node (R01): `smtplib` → the node's SMTP listener → the real inbox
/// (`/api/v1/inbox`) → an operator takes it and answers → the durable outbox → `lettre` → a real
/// SMTP server, threaded to the citizen's message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r01_email_through_the_node_inbox_and_the_operators_answer_back_to_a_real_smtp_server() {
    use common::api_node::{test_config, TestNode, ADMIN_PASSWORD};
    let sink = Sink::start(None).await;
    let mut config = test_config();
    config.email = Some(section(
        Some(RelaySection {
            host: "127.0.0.1".into(),
            port: Some(sink.port),
            tls: RelayTls::None,
            ca_file: None,
            username: None,
            password_file: None,
        }),
        false,
    ));
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("node");
    let node = node::server::open_node(&config, &data, Some(ADMIN_PASSWORD.into()))
        .await
        .unwrap();
    let intake: Arc<dyn Intake> = node.state.inbox.clone();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let listener = smtp::start(config.email.as_ref().unwrap(), intake, None, stopped)
        .await
        .unwrap();
    let t = TestNode {
        app: node::http::app(node.state.clone()),
        _dir: tempfile::tempdir().unwrap(),
        data,
        admin: String::new(),
    };
    let admin = t.activate("admin", ADMIN_PASSWORD).await;
    let t = TestNode { admin, ..t };
    let ct = t.user("ct1", &["call_taker"], None).await;

    let raw = crlf(
        "From: Ерлан Абенов <erlan@example.kz>\n\
         To: 102@ast.police.kz\n\
         Subject: =?UTF-8?B?0KjRg9C8INC90L7Rh9GM0Y4=?=\n\
         Message-ID: <noise-7@example.kz>\n\
         Date: Tue, 1 Jul 2025 23:40:00 +0500\n\
         MIME-Version: 1.0\n\
         Content-Type: text/plain; charset=utf-8\n\
         Content-Transfer-Encoding: 8bit\n\
         \n\
         Соседи сверху каждую ночь шумят после 23:00, ул. Сыганак 5, кв. 41.\n",
    );
    let verdict = smtplib_send(listener.local_addr, MAILBOX, &raw, None).await;
    assert_eq!(verdict["ok"], true, "{verdict}");

    // Durable before the 250: the conversation is in the inbox at once, channel recorded.
    let list = t
        .ok("GET", "/api/v1/inbox?state=unassigned", &ct, None)
        .await;
    let convs = list["conversations"].as_array().unwrap();
    assert_eq!(convs.len(), 1, "{list}");
    assert_eq!(convs[0]["channel"], "email");
    assert_eq!(convs[0]["citizen"]["email"], "erlan@example.kz");
    let id = convs[0]["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/inbox/{}", id.replace('/', "%2F"));
    let conv = t.ok("GET", &path, &ct, None).await;
    let text = conv.to_string();
    assert!(text.contains("Соседи сверху"), "{conv}");

    t.ok(
        "POST",
        &format!("{path}/take"),
        &ct,
        Some(serde_json::json!({})),
    )
    .await;
    let answer = "Здравствуйте! Участковый инспектор проверит сообщение сегодня вечером.";
    t.ok(
        "POST",
        &format!("{path}/reply"),
        &ct,
        Some(serde_json::json!({ "text": answer })),
    )
    .await;
    common::until(DEADLINE, "the answer reaches the SMTP server", || {
        let n = sink.messages().len();
        async move { n == 1 }
    })
    .await;
    let raw = sink.messages().remove(0);
    let got = mail_parser::MessageParser::default().parse(&raw).unwrap();
    assert_eq!(got.in_reply_to().as_text(), Some("noise-7@example.kz"));
    assert_eq!(got.body_text(0).unwrap().trim(), answer);
    assert!(
        String::from_utf8_lossy(&raw).contains("X-RcptTo: erlan@example.kz"),
        "to the citizen's address"
    );
    let subject = got.subject().unwrap_or_default();
    assert!(
        subject.starts_with("Re: ") && !subject.starts_with("Re: Re:"),
        "{subject}"
    );
    // The outbox recorded the delivery on the conversation.
    common::until(DEADLINE, "the answer is recorded as sent", || {
        let (t, ct, path) = (&t, &ct, &path);
        async move {
            let conv = t.ok("GET", path, ct, None).await;
            conv["messages"].as_array().is_some_and(|ms| {
                ms.iter()
                    .any(|m| m["direction"] == "out" && m["delivery"] == "sent")
            })
        }
    })
    .await;
    let _ = stop.send(true);
}
