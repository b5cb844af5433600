//! What `chaos channels` and `bench channels` share: a real node process (release binary) with
//! its e-mail channel on (its SMTP listener, its answers through the in-process
//! [`RelaySink`]), citizens mailing it over real SMTP (`lettre`'s client connection, one
//! message after another on a kept connection), the operator's inbox API (take, reply), the
//! console's event stream (`conversation` events), and the check of the answers against what
//! the relay took.
//!
//! Telegram, VK and the widget join the mix once their connectors are on main.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use lettre::address::Envelope;
use lettre::message::header::ContentType;
use lettre::transport::smtp::client::AsyncSmtpConnection;
use lettre::transport::smtp::extension::ClientId;
use lettre::Message;
use serde_json::{json, Value};

use crate::client::{self, Api, CallError};
use crate::node_proc::{self, NodeConfig};
use crate::process::{self, Process};
use crate::relay_sink::RelaySink;

/// The region mailbox the simulated node takes mail for.
pub const MAILBOX: &str = "102@sim.police.kz";
/// The domain of the node's answers' `Message-ID`s.
pub const MAIL_DOMAIN: &str = "sim.police.kz";
/// The operator who answers.
pub const OPERATOR_LOGIN: &str = "sim.inbox";
/// Timeout of one SMTP exchange with the node, seconds.
const SMTP_TIMEOUT_S: u64 = 10;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The address of citizen `k`.
pub fn citizen_address(k: usize) -> String {
    format!("citizen{k}@mail.sim.invalid")
}

/// A citizen's text: its sequence number first (how the event stream's message is matched),
/// then words in Kazakh or Russian.
pub fn citizen_text(seq: u64, kazakh: bool) -> (String, String) {
    let subject = format!("m{seq} {}", if kazakh { "Сұрақ" } else { "Вопрос" });
    let body = if kazakh {
        "Сәлеметсіз бе, ауламызда түнде шу болады, учаскелік инспектор қашан қабылдайды?"
    } else {
        "Здравствуйте, во дворе ночью шумят, когда принимает участковый инспектор?"
    };
    (subject, body.to_string())
}

/// The sequence number a stored message's text starts with.
pub fn seq_of(text: &str) -> Option<u64> {
    text.split_whitespace()
        .next()?
        .strip_prefix('m')?
        .parse()
        .ok()
}

/// The node with its mailbox on, and the relay it answers through.
pub struct Rig {
    pub node: Process,
    pub node_config: NodeConfig,
    pub smtp_addr: SocketAddr,
    pub relay: Arc<RelaySink>,
    pub api: Api,
    pub token: String,
}

impl Rig {
    /// Starts the relay and the node (fresh data dir under `scratch`), and logs the operator in.
    pub async fn start(node_bin: &Path, scratch: &Path) -> anyhow::Result<Rig> {
        node_proc::check_node_bin(node_bin)?;
        let relay = RelaySink::start().await?;
        let smtp_addr: SocketAddr = format!("127.0.0.1:{}", process::free_tcp_port()?).parse()?;
        let config_path = scratch.join("node.toml");
        std::fs::write(
            &config_path,
            format!(
                "[email]\nlisten = \"{smtp_addr}\"\nmailboxes = [\"{MAILBOX}\"]\ndomain = \"{MAIL_DOMAIN}\"\n\n\
                 [email.relay]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\n",
                relay.addr.port()
            ),
        )?;
        let node_config = NodeConfig {
            bin: node_bin.to_path_buf(),
            data_dir: scratch.join("node-data"),
            admin_password: node_proc::ADMIN_PASSWORD.to_string(),
            log_path: scratch.join("node.log"),
            config: Some(config_path),
        };
        let node = node_proc::start(&node_config).await?;
        let api = Api::new(client::http_client()?, &node.base_url);
        let token = client::operator_session(
            &api,
            node_proc::ADMIN_PASSWORD,
            OPERATOR_LOGIN,
            &["call_taker"],
        )
        .await?;
        let mut rig = Rig {
            node,
            node_config,
            smtp_addr,
            relay,
            api,
            token,
        };
        rig.wait_smtp().await?;
        Ok(rig)
    }

    /// SIGKILLs the node and starts it again on the same data dir and ports.
    pub async fn crash_and_restart(&mut self) -> anyhow::Result<Duration> {
        self.node.kill().await?;
        let started = Instant::now();
        self.node = node_proc::start(&self.node_config).await?;
        self.api = Api::new(client::http_client()?, &self.node.base_url);
        self.token = self
            .api
            .login(OPERATOR_LOGIN, client::OPERATOR_PASSWORD)
            .await?;
        self.wait_smtp().await?;
        Ok(started.elapsed())
    }

    async fn wait_smtp(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(SMTP_TIMEOUT_S);
        loop {
            match CitizenMail::connect(self.smtp_addr).await {
                Ok(_) => return Ok(()),
                Err(e) if Instant::now() > deadline => {
                    return Err(e.context(format!(
                        "the node's SMTP listener on {} does not answer",
                        self.smtp_addr
                    )))
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    /// Takes conversation `id` (as the operator) and queues `text` as an answer: the answer's
    /// message id (its outbox id).
    pub async fn take(&self, id: &str) -> Result<(), CallError> {
        self.api
            .post(
                &format!("/api/v1/inbox/{id}/take"),
                &self.token,
                &json!({}),
                &[200, 201],
            )
            .await
            .map(|_| ())
    }

    pub async fn reply(&self, id: &str, text: &str) -> Result<String, CallError> {
        let answer = self
            .api
            .post(
                &format!("/api/v1/inbox/{id}/reply"),
                &self.token,
                &json!({ "text": text }),
                &[201],
            )
            .await?;
        answer["message_id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| CallError::Malformed {
                status: 201,
                reason: format!("no message_id: {answer}"),
            })
    }

    /// Conversation ids by the citizen's e-mail, from `GET /api/v1/inbox?state=…`.
    pub async fn conversations(&self, state: &str) -> anyhow::Result<HashMap<String, String>> {
        let list = self
            .api
            .get(&format!("/api/v1/inbox?state={state}"), &self.token)
            .await
            .context("GET /api/v1/inbox")?;
        let mut by_email = HashMap::new();
        for c in list["conversations"].as_array().into_iter().flatten() {
            if let (Some(id), Some(email)) = (c["id"].as_str(), c["citizen"]["email"].as_str()) {
                by_email.insert(email.to_string(), id.to_string());
            }
        }
        Ok(by_email)
    }
}

/// A citizen's mail client: one SMTP connection to the node, messages one after another.
pub struct CitizenMail {
    conn: AsyncSmtpConnection,
}

impl CitizenMail {
    pub async fn connect(addr: SocketAddr) -> anyhow::Result<CitizenMail> {
        // Our own socket with Nagle off: lettre writes the data's end as a small segment of its
        // own, which Nagle would hold for the server's delayed ACK (~40 ms on Linux), a delay
        // of the client and not of the node.
        let stream = tokio::time::timeout(
            Duration::from_secs(SMTP_TIMEOUT_S),
            tokio::net::TcpStream::connect(addr),
        )
        .await
        .map_err(|_| anyhow::anyhow!("connecting to {addr} timed out"))?
        .with_context(|| format!("cannot connect to the node's SMTP listener {addr}"))?;
        stream.set_nodelay(true)?;
        let conn = AsyncSmtpConnection::connect_with_transport(
            Box::new(stream),
            &ClientId::Domain("mail.sim.invalid".into()),
        )
        .await
        .with_context(|| format!("no SMTP greeting from the node's listener {addr}"))?;
        Ok(CitizenMail { conn })
    }

    pub fn is_broken(&self) -> bool {
        self.conn.has_broken()
    }

    /// Sends one message; `Ok` when the node answered `250` to its data (stored).
    pub async fn send(
        &mut self,
        from: &str,
        message_id: &str,
        subject: &str,
        body: &str,
    ) -> anyhow::Result<()> {
        let message = Message::builder()
            .from(from.parse()?)
            .to(MAILBOX.parse()?)
            .subject(subject)
            .message_id(Some(message_id.to_string()))
            .header(ContentType::TEXT_PLAIN)
            .body(body.to_string())?;
        let envelope = Envelope::new(Some(from.parse()?), vec![MAILBOX.parse()?])?;
        self.conn
            .send(&envelope, &message.formatted())
            .await
            .map(|_| ())
            .map_err(|e| anyhow::anyhow!("the node did not take the message: {e}"))
    }
}

/// What the console's event stream showed: when each citizen message (by its sequence number)
/// appeared, and the conversation of each citizen address.
#[derive(Default)]
pub struct Feed {
    pub seen: HashMap<u64, Instant>,
    pub conversation_of: HashMap<String, String>,
    pub resyncs: u64,
}

/// Follows `GET /api/v1/events` (opened before the first message) into `feed`.
pub async fn follow(mut resp: reqwest::Response, feed: Arc<Mutex<Feed>>) {
    let mut buf = String::new();
    while let Ok(Some(chunk)) = resp.chunk().await {
        let now = Instant::now();
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let event: String = buf.drain(..end + 2).collect();
            if event.lines().any(|l| l == "event: resync") {
                lock(&feed).resyncs += 1;
                continue;
            }
            if !event.lines().any(|l| l == "event: conversation") {
                continue;
            }
            let data: String = event
                .lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .map(str::trim)
                .collect();
            let Ok(v) = serde_json::from_str::<Value>(&data) else {
                continue;
            };
            let mut f = lock(&feed);
            if let (Some(id), Some(email)) = (v["id"].as_str(), v["citizen"]["email"].as_str()) {
                f.conversation_of
                    .entry(email.to_string())
                    .or_insert_with(|| id.to_string());
            }
            if v["last_message"]["direction"] == "in" {
                if let Some(seq) = v["last_message"]["text"].as_str().and_then(seq_of) {
                    f.seen.entry(seq).or_insert(now);
                }
            }
        }
    }
}

/// Opens the operator's event stream and follows it in a task.
pub async fn open_feed(
    rig: &Rig,
) -> anyhow::Result<(Arc<Mutex<Feed>>, tokio::task::JoinHandle<()>)> {
    let stream = Api::new(client::stream_client()?, &rig.node.base_url)
        .open_stream("/api/v1/events", &rig.token)
        .await
        .context("cannot open the operator's event stream")?;
    let feed = Arc::new(Mutex::new(Feed::default()));
    let task = tokio::spawn(follow(stream, feed.clone()));
    Ok((feed, task))
}

pub fn feed_lock(feed: &Mutex<Feed>) -> std::sync::MutexGuard<'_, Feed> {
    lock(feed)
}

/// One queued answer: its outbox id and where it must arrive.
#[derive(Debug, Clone)]
pub struct Answer {
    pub outbox_id: String,
    pub to: String,
}

/// How the answers arrived at the relay.
#[derive(Debug, Default, Clone, Copy)]
pub struct Delivery {
    /// Answers the relay took at least once.
    pub delivered: usize,
    /// Answers the relay never took.
    pub lost: usize,
    /// Extra copies the relay took (a deduplicating relay drops them by `Message-ID`).
    pub repeats: usize,
    /// The most copies of one answer.
    pub copies_max: usize,
    /// Answers that arrived for another recipient than their conversation's citizen.
    pub misrouted: usize,
    /// Messages the relay took that are no answer of this run.
    pub unexpected: usize,
    /// Answers without `In-Reply-To` naming a citizen's message (not threaded in their mail).
    pub unthreaded: usize,
}

/// Checks `answers` against the relay's ledger.
pub fn delivery(relay: &RelaySink, answers: &[Answer]) -> Delivery {
    relay.with(|ledger| {
        let mut d = Delivery::default();
        let mut expected = std::collections::HashSet::new();
        for a in answers {
            let id = node::channels::email::sender::message_id(&a.outbox_id, MAIL_DOMAIN);
            match ledger.by_message_id.get(&id) {
                None => d.lost += 1,
                Some(copies) => {
                    d.delivered += 1;
                    d.repeats += copies.len() - 1;
                    d.copies_max = d.copies_max.max(copies.len());
                    if copies
                        .iter()
                        .any(|c| c.recipients.iter().all(|r| !r.contains(&a.to)))
                    {
                        d.misrouted += 1;
                    }
                    if copies.iter().any(|c| {
                        !c.in_reply_to
                            .as_deref()
                            .is_some_and(|r| r.ends_with("@mail.sim.invalid>"))
                    }) {
                        d.unthreaded += 1;
                    }
                }
            }
            expected.insert(id);
        }
        d.unexpected = ledger
            .by_message_id
            .keys()
            .filter(|k| !expected.contains(*k))
            .count()
            + ledger.without_id as usize;
        d
    })
}

/// Waits until every answer reached the relay or `deadline` passed; the time it took.
pub async fn wait_delivered(
    relay: &RelaySink,
    answers: &[Answer],
    deadline: Instant,
) -> (Duration, Delivery) {
    let started = Instant::now();
    loop {
        let d = delivery(relay, answers);
        if d.lost == 0 || Instant::now() >= deadline {
            return (started.elapsed(), d);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Sends `count` citizens' messages, one per citizen address from `first_citizen`, over
/// `connections` kept SMTP connections: the sequence numbers sent.
pub async fn mail_citizens(
    rig: &Rig,
    first_citizen: usize,
    count: usize,
    connections: usize,
    seq_base: u64,
) -> anyhow::Result<Vec<u64>> {
    let mut tasks = Vec::new();
    for c in 0..connections.max(1) {
        let addr = rig.smtp_addr;
        tasks.push(tokio::spawn(async move {
            let mut mail = CitizenMail::connect(addr).await?;
            let mut sent = Vec::new();
            for i in (c..count).step_by(connections.max(1)) {
                let seq = seq_base + i as u64;
                let from = citizen_address(first_citizen + i);
                let (subject, body) = citizen_text(seq, i % 2 == 0);
                let id = format!("<m{seq}@mail.sim.invalid>");
                if mail.is_broken() {
                    mail = CitizenMail::connect(addr).await?;
                }
                mail.send(&from, &id, &subject, &body)
                    .await
                    .with_context(|| format!("message {seq} from {from}"))?;
                sent.push(seq);
            }
            anyhow::Ok(sent)
        }));
    }
    let mut sent = Vec::new();
    for t in tasks {
        sent.extend(t.await??);
    }
    if sent.len() != count {
        bail!("only {} of {count} messages were taken", sent.len());
    }
    Ok(sent)
}

/// Takes each conversation (`(id, citizen e-mail)`) and queues `per_conversation` answers in
/// it, `concurrency` operators at a time: the answers, in no particular order.
pub async fn queue_answers(
    rig: &Rig,
    conversations: &[(String, String)],
    per_conversation: usize,
    concurrency: usize,
) -> anyhow::Result<Vec<Answer>> {
    use futures::StreamExt;
    let results: Vec<anyhow::Result<Vec<Answer>>> =
        futures::stream::iter(conversations.iter().cloned())
            .map(|(id, email)| async move {
                rig.take(&id).await.with_context(|| format!("take {id}"))?;
                let mut out = Vec::new();
                for k in 0..per_conversation {
                    let text = format!(
                "Жауап {k} / Ответ {k}: участковый инспектор принимает по вторникам с 18:00."
            );
                    let outbox_id = rig
                        .reply(&id, &text)
                        .await
                        .with_context(|| format!("reply in {id}"))?;
                    out.push(Answer {
                        outbox_id,
                        to: email.clone(),
                    });
                }
                anyhow::Ok(out)
            })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
    let mut answers = Vec::new();
    for r in results {
        answers.extend(r?);
    }
    Ok(answers)
}
