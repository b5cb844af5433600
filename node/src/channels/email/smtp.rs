//! The SMTP listener: the node's tokio listener drives `mailin`'s SMTP state machine, one task
//! per connection. The end of a message's data is answered only after the inbox said what it
//! did with it: `250` once stored (or a repeat of a stored one), `451` when the inbox cannot
//! store it now or the sender is over its rate (the sending server retries), `5xx` when the
//! message is not acceptable as it is ([`super::parse::Refusal`], [`IntakeError::Invalid`]).

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mailin::{Action, Handler, Response, SessionBuilder};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use super::parse::{parse_message, Refusal};
use super::{
    is_region_mailbox, EmailSection, LINE_BYTES_MAX, MESSAGE_BYTES_MAX, RECIPIENTS_MAX,
    SESSIONS_MAX, SESSION_IDLE_S,
};
use crate::channels::{Accepted, Intake, IntakeError};

/// A running listener: where it listens.
pub struct Listener {
    pub local_addr: SocketAddr,
}

/// Binds `section.listen` and serves SMTP into `intake` until `shutdown` turns `true`.
/// `tls` (the node's web certificate) enables STARTTLS when `section.starttls` is set.
pub async fn start(
    section: &EmailSection,
    intake: Arc<dyn Intake>,
    tls: Option<Arc<rustls::ServerConfig>>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<Listener> {
    use anyhow::Context;
    let listener = TcpListener::bind(section.listen)
        .await
        .with_context(|| format!("email.listen: cannot listen on {}", section.listen))?;
    let local_addr = listener.local_addr()?;
    let tls = match (section.starttls, tls) {
        (true, Some(server)) => {
            let mut config = (*server).clone();
            config.alpn_protocols.clear();
            Some(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
        }
        (true, None) => anyhow::bail!(
            "email.starttls is set, but the node has no certificate: configure [https] cert and key"
        ),
        (false, _) => None,
    };
    let shared = Arc::new(Shared {
        mailboxes: section.mailboxes.clone(),
        domain: section.domain(),
        intake,
        tls,
        sessions: Arc::new(tokio::sync::Semaphore::new(SESSIONS_MAX)),
    });
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                a = listener.accept() => a,
                _ = shutdown.changed() => break,
            };
            let (stream, peer) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "email: accept failed");
                    continue;
                }
            };
            let shared = shared.clone();
            tokio::spawn(async move {
                if let Err(e) = session(shared, stream, peer).await {
                    tracing::debug!(%peer, error = %e, "email: session ended with an error");
                }
            });
        }
    });
    Ok(Listener { local_addr })
}

struct Shared {
    mailboxes: Vec<String>,
    domain: String,
    intake: Arc<dyn Intake>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    sessions: Arc<tokio::sync::Semaphore>,
}

/// One message as the handler collects it for the shell.
#[derive(Default)]
struct Envelope {
    from: String,
    recipients: usize,
    data: Vec<u8>,
    /// Bytes received in this message's data, kept or not.
    data_bytes: usize,
    line_too_long: bool,
    /// Set at the end of the data: the shell answers it after the inbox did.
    finished: Option<Finished>,
}

struct Finished {
    from: String,
    data: Result<Vec<u8>, Refusal>,
}

/// `mailin`'s callbacks: they only collect; the shell decides the reply to the data's end.
struct Collector {
    mailboxes: Vec<String>,
    envelope: Arc<Mutex<Envelope>>,
}

impl Collector {
    fn envelope(&self) -> std::sync::MutexGuard<'_, Envelope> {
        self.envelope.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Handler for Collector {
    fn mail(&mut self, _ip: IpAddr, _domain: &str, from: &str) -> Response {
        let mut e = self.envelope();
        *e = Envelope {
            from: from.to_string(),
            ..Envelope::default()
        };
        mailin::response::OK
    }

    fn rcpt(&mut self, to: &str) -> Response {
        let mut e = self.envelope();
        if e.recipients >= RECIPIENTS_MAX {
            return Response::custom(452, "4.5.3 Too many recipients".into());
        }
        if !is_region_mailbox(&self.mailboxes, to) {
            return Response::custom(550, "5.1.1 No such mailbox here".into());
        }
        e.recipients += 1;
        mailin::response::OK
    }

    fn data_start(
        &mut self,
        _domain: &str,
        _from: &str,
        _is8bit: bool,
        _to: &[String],
    ) -> Response {
        let mut e = self.envelope();
        e.data.clear();
        e.data_bytes = 0;
        e.line_too_long = false;
        mailin::response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        let mut e = self.envelope();
        e.data_bytes = e.data_bytes.saturating_add(buf.len());
        // Past the limit nothing more is kept; the reading goes on to the end of the data.
        if e.data_bytes <= MESSAGE_BYTES_MAX {
            e.data.extend_from_slice(buf);
        }
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let mut e = self.envelope();
        let data = if e.data_bytes > MESSAGE_BYTES_MAX {
            Err(Refusal::TooLarge {
                bytes: e.data_bytes,
            })
        } else if e.line_too_long {
            Err(Refusal::LineTooLong)
        } else {
            Ok(std::mem::take(&mut e.data))
        };
        e.finished = Some(Finished {
            from: e.from.clone(),
            data,
        });
        // Always OK to `mailin` (its state machine goes back to "after HELO"); the shell
        // replaces this reply with the inbox's answer.
        mailin::response::OK
    }
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

async fn session(shared: Arc<Shared>, stream: TcpStream, peer: SocketAddr) -> anyhow::Result<()> {
    let _ = stream.set_nodelay(true);
    let mut stream: BufReader<Box<dyn Io>> = BufReader::new(Box::new(stream));
    let Ok(_permit) = shared.sessions.clone().try_acquire_owned() else {
        write_reply(&mut stream, 421, "4.3.2 Too many connections, try later").await?;
        return Ok(());
    };
    let envelope = Arc::new(Mutex::new(Envelope::default()));
    let mut builder = SessionBuilder::new(shared.domain.clone());
    if shared.tls.is_some() {
        builder.enable_start_tls();
    }
    let mut smtp = builder.build(
        peer.ip(),
        Collector {
            mailboxes: shared.mailboxes.clone(),
            envelope: envelope.clone(),
        },
    );
    write_response(&mut stream, &smtp.greeting()).await?;
    let mut line = Vec::with_capacity(LINE_BYTES_MAX);
    let mut in_data = false;
    loop {
        let read = tokio::time::timeout(
            Duration::from_secs(SESSION_IDLE_S),
            read_line(&mut stream, &mut line),
        )
        .await;
        let complete = match read {
            Err(_) => {
                write_reply(&mut stream, 421, "4.4.2 Idle too long, closing").await?;
                return Ok(());
            }
            Ok(Err(e)) => return Err(e.into()),
            Ok(Ok(None)) => return Ok(()),
            Ok(Ok(Some(complete))) => complete,
        };
        if !complete {
            if in_data {
                // The rest of the line is dropped; the message is refused at its end.
                envelope
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .line_too_long = true;
                line.extend_from_slice(b"\r\n");
            } else {
                write_reply(&mut stream, 500, "5.5.2 Line too long").await?;
                continue;
            }
        }
        let response = smtp.process(&line);
        let finished = envelope
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .finished
            .take();
        if let Some(finished) = finished {
            in_data = false;
            let (code, text) = deliver(&shared, finished).await;
            write_reply(&mut stream, code, &text).await?;
            continue;
        }
        if response.code == 354 {
            in_data = true;
        }
        match response.action {
            Action::NoReply => {}
            Action::Reply => write_response(&mut stream, &response).await?,
            Action::Close => {
                write_response(&mut stream, &response).await?;
                return Ok(());
            }
            Action::UpgradeTls => {
                let Some(acceptor) = shared.tls.clone() else {
                    write_reply(&mut stream, 454, "4.7.0 TLS not available").await?;
                    continue;
                };
                write_response(&mut stream, &response).await?;
                // Anything the client pipelined after STARTTLS is dropped with the buffer
                // (RFC 3207 §4.2: no plaintext command may be carried into the TLS session).
                let inner = stream.into_inner();
                let tls = acceptor.accept(inner).await?;
                stream = BufReader::new(Box::new(tls));
                smtp.tls_active();
            }
        }
    }
}

/// Parses a finished message and hands it to the inbox: the SMTP reply to the data's end.
async fn deliver(shared: &Shared, finished: Finished) -> (u16, String) {
    let received_at_ms = server_kit::clock::now_ms();
    let message = match finished
        .data
        .and_then(|raw| parse_message(&raw, &finished.from, received_at_ms))
    {
        Ok(m) => m,
        Err(refusal) => {
            tracing::info!(?refusal, "email: a message was refused");
            return refusal.smtp_reply();
        }
    };
    match shared.intake.receive(message).await {
        Ok(Accepted::Stored { message_id, .. }) => (250, format!("2.0.0 Stored as {message_id}")),
        Ok(Accepted::Duplicate { .. }) => (250, "2.0.0 Already stored".into()),
        Err(IntakeError::Invalid { code, .. }) => (554, format!("5.6.0 Refused ({code})")),
        Err(IntakeError::RateLimited { retry_after_s }) => (
            451,
            format!("4.7.1 Too many messages from this sender, retry after {retry_after_s} s"),
        ),
        Err(IntakeError::Unavailable(e)) => {
            tracing::warn!(error = %e, "email: the inbox cannot store a message now");
            (
                451,
                "4.3.0 Cannot store the message now, retry later".into(),
            )
        }
    }
}

/// Reads one line (with its line end, normalised to CRLF) into `line`: `Some(true)` when it
/// fit in [`LINE_BYTES_MAX`], `Some(false)` when it was longer (the rest of it is consumed and
/// dropped), `None` at the end of the stream.
async fn read_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    line: &mut Vec<u8>,
) -> std::io::Result<Option<bool>> {
    line.clear();
    let mut fits = true;
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(if line.is_empty() && fits {
                None
            } else {
                Some(fits)
            });
        }
        let (chunk, done) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (&available[..=i], true),
            None => (available, false),
        };
        let used = chunk.len();
        if fits && line.len() + chunk.len() <= LINE_BYTES_MAX {
            line.extend_from_slice(chunk);
        } else {
            fits = false;
            line.clear();
        }
        reader.consume(used);
        if done {
            if fits && !line.ends_with(b"\r\n") {
                line.pop();
                line.extend_from_slice(b"\r\n");
            }
            return Ok(Some(fits));
        }
    }
}

async fn write_response<W: AsyncWrite + Unpin>(out: &mut W, r: &Response) -> std::io::Result<()> {
    let mut buf = Vec::new();
    r.write_to(&mut buf)?;
    out.write_all(&buf).await?;
    out.flush().await
}

async fn write_reply<W: AsyncWrite + Unpin>(
    out: &mut W,
    code: u16,
    text: &str,
) -> std::io::Result<()> {
    out.write_all(format!("{code} {text}\r\n").as_bytes())
        .await?;
    out.flush().await
}
