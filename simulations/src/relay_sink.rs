//! The mail relay the node's answers leave through, run in process: a real SMTP server (the
//! `mailin` state machine on a tokio listener) that records every message it takes by its
//! `Message-ID` and recipient, like a deduplicating relay would see them. It can be cut off
//! ([`RelaySink::set_online`]`(false)`: the port is closed, so the node's connections are
//! refused, and a session still open gets `421` to its next command) and restored on the same
//! port.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::Context;
use mailin::{Action, Handler, Response, SessionBuilder};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::JoinHandle;

/// Longest line the sink reads, bytes (RFC 5321 allows 1,000 in the data).
const LINE_BYTES_MAX: usize = 4_096;

/// One message the sink took.
#[derive(Debug, Clone)]
pub struct Received {
    pub recipients: Vec<String>,
    pub in_reply_to: Option<String>,
}

/// What the sink took, by `Message-ID`; a repeat appends to the same entry.
#[derive(Default)]
pub struct Ledger {
    pub by_message_id: HashMap<String, Vec<Received>>,
    /// Messages without a `Message-ID` header.
    pub without_id: u64,
}

pub struct RelaySink {
    pub addr: SocketAddr,
    ledger: Arc<Mutex<Ledger>>,
    online: Arc<std::sync::atomic::AtomicBool>,
    accept: Mutex<Option<JoinHandle<()>>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl RelaySink {
    /// Listens on a free loopback port, online.
    pub async fn start() -> anyhow::Result<Arc<RelaySink>> {
        let listener = bind("127.0.0.1:0".parse()?)?;
        let sink = Arc::new(RelaySink {
            addr: listener.local_addr()?,
            ledger: Arc::default(),
            online: Arc::new(true.into()),
            accept: Mutex::new(None),
        });
        sink.serve(listener);
        Ok(sink)
    }

    fn serve(self: &Arc<Self>, listener: TcpListener) {
        let (ledger, online) = (self.ledger.clone(), self.online.clone());
        let task = tokio::spawn(async move {
            while let Ok((stream, peer)) = listener.accept().await {
                let (ledger, online) = (ledger.clone(), online.clone());
                tokio::spawn(async move {
                    let _ = session(stream, peer.ip(), ledger, online).await;
                });
            }
        });
        *lock(&self.accept) = Some(task);
    }

    /// Cuts the link (`false`: the port closes) or restores it on the same port (`true`).
    pub async fn set_online(self: &Arc<Self>, online: bool) -> anyhow::Result<()> {
        self.online
            .store(online, std::sync::atomic::Ordering::SeqCst);
        if online {
            let listener = bind(self.addr)?;
            self.serve(listener);
        } else {
            let task = lock(&self.accept).take();
            if let Some(task) = task {
                task.abort();
                let _ = task.await;
            }
        }
        Ok(())
    }

    /// Reads the ledger.
    pub fn with<R>(&self, f: impl FnOnce(&Ledger) -> R) -> R {
        f(&lock(&self.ledger))
    }

    /// Messages taken, repeats included.
    pub fn received_total(&self) -> u64 {
        self.with(|l| {
            l.by_message_id
                .values()
                .map(|v| v.len() as u64)
                .sum::<u64>()
                + l.without_id
        })
    }
}

fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket
        .bind(addr)
        .with_context(|| format!("the relay sink cannot listen on {addr}"))?;
    Ok(socket.listen(1_024)?)
}

/// `mailin`'s callbacks: collect one message's recipients and data.
/// A finished message: its recipients and data.
type Done = Arc<Mutex<Option<(Vec<String>, Vec<u8>)>>>;

#[derive(Default)]
struct Collect {
    recipients: Vec<String>,
    data: Vec<u8>,
    done: Done,
}

impl Handler for Collect {
    fn rcpt(&mut self, to: &str) -> Response {
        self.recipients.push(to.to_string());
        mailin::response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        *lock(&self.done) = Some((
            std::mem::take(&mut self.recipients),
            std::mem::take(&mut self.data),
        ));
        mailin::response::OK
    }
}

async fn session(
    stream: TcpStream,
    ip: IpAddr,
    ledger: Arc<Mutex<Ledger>>,
    online: Arc<std::sync::atomic::AtomicBool>,
) -> anyhow::Result<()> {
    let _ = stream.set_nodelay(true);
    let mut stream = BufReader::new(stream);
    let done = Done::default();
    let collect = Collect {
        done: done.clone(),
        ..Collect::default()
    };
    let mut smtp = SessionBuilder::new("relay.sim.invalid").build(ip, collect);
    write(&mut stream, &smtp.greeting()).await?;
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = AsyncReadExt::take(&mut stream, LINE_BYTES_MAX as u64)
            .read_until(b'\n', &mut line)
            .await?;
        if n == 0 {
            return Ok(());
        }
        if !online.load(std::sync::atomic::Ordering::SeqCst) {
            stream
                .get_mut()
                .write_all(b"421 4.3.2 Relay offline\r\n")
                .await?;
            return Ok(());
        }
        let response = smtp.process(&line);
        let finished = lock(&done).take();
        if let Some((recipients, data)) = finished {
            let headers = headers(&data);
            let received = Received {
                recipients,
                in_reply_to: headers.get("in-reply-to").cloned(),
            };
            let mut l = lock(&ledger);
            match headers.get("message-id") {
                Some(id) => l
                    .by_message_id
                    .entry(id.clone())
                    .or_default()
                    .push(received),
                None => l.without_id += 1,
            }
        }
        match response.action {
            Action::NoReply => {}
            Action::Reply => write(&mut stream, &response).await?,
            Action::Close | Action::UpgradeTls => {
                write(&mut stream, &response).await?;
                return Ok(());
            }
        }
    }
}

async fn write(stream: &mut BufReader<TcpStream>, r: &Response) -> std::io::Result<()> {
    let mut buf = Vec::new();
    r.write_to(&mut buf)?;
    stream.get_mut().write_all(&buf).await
}

/// The header fields of a message (names lower-cased, folded lines joined), up to the blank
/// line.
fn headers(data: &[u8]) -> HashMap<String, String> {
    let text = String::from_utf8_lossy(data);
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in text.split("\r\n").flat_map(|l| l.split('\n')) {
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if let Some(last) = fields.last_mut() {
                last.1.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            fields.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    fields.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_unfolded_and_stop_at_the_body() {
        let h = headers(b"Message-ID: <a@b>\r\nSubject: x\r\n y\r\n\r\nMessage-ID: <body@c>\r\n");
        assert_eq!(h.get("message-id").map(String::as_str), Some("<a@b>"));
        assert_eq!(h.get("subject").map(String::as_str), Some("xy"));
    }
}
