//! What `chaos channels` and `bench channels` share: a real node process (release binary) with
//! its four text channels on — e-mail (its SMTP listener, its answers through the in-process
//! [`RelaySink`]), Telegram and VK (their webhook routes, answers through the
//! [`MessengerStandIn`] for the vendors' APIs) and the web widget (its WebSocket, the node told
//! that loopback is the region's reverse proxy so that each simulated page has its own
//! `X-Forwarded-For` source) — citizens writing through each as their clients do (`lettre`'s SMTP
//! client on a kept connection; the vendors' webhook posts in their documented JSON; a page's
//! `hello`/`message`/`received` frames), the operator's inbox API (take, reply), the console's
//! event stream (`conversation` events), and the check of the answers against what each
//! channel's far end took.

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
use crate::messenger_standin::{self as standin, MessengerStandIn, Vendor};
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
    pub messengers: Arc<MessengerStandIn>,
    /// The `secret_token` the node set with `setWebhook`: Telegram sends it with each update.
    pub telegram_secret: String,
    pub api: Api,
    pub token: String,
}

impl Rig {
    /// Starts the relay and the node (fresh data dir under `scratch`), and logs the operator in.
    pub async fn start(node_bin: &Path, scratch: &Path) -> anyhow::Result<Rig> {
        node_proc::check_node_bin(node_bin)?;
        let relay = RelaySink::start().await?;
        let messengers = MessengerStandIn::start().await?;
        let smtp_addr: SocketAddr = format!("127.0.0.1:{}", process::free_tcp_port()?).parse()?;
        let config_path = scratch.join("node.toml");
        let secret_file = |name: &str, value: &str| -> anyhow::Result<String> {
            let path = scratch.join(name);
            std::fs::write(&path, value)?;
            Ok(path.display().to_string())
        };
        std::fs::write(
            &config_path,
            format!(
                "[node]\ntrusted_proxies = [\"127.0.0.0/8\"]\n\n\
                 [email]\nlisten = \"{smtp_addr}\"\nmailboxes = [\"{MAILBOX}\"]\ndomain = \"{MAIL_DOMAIN}\"\n\n\
                 [email.relay]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\n\n\
                 [telegram]\ntoken_file = {:?}\napi_url = \"{api}\"\nwebhook_url = \"https://102.sim.police.kz/channels/telegram/webhook\"\n\n\
                 [vk]\ngroup_id = {}\nconfirmation = \"{}\"\nsecret_file = {:?}\ntoken_file = {:?}\napi_url = \"{api}\"\n",
                relay.addr.port(),
                secret_file("telegram.token", standin::TELEGRAM_TOKEN)?,
                standin::VK_GROUP_ID,
                standin::VK_CONFIRMATION,
                secret_file("vk.secret", standin::VK_SECRET)?,
                secret_file("vk.token", standin::VK_TOKEN)?,
                api = messengers.base_url(),
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
            messengers,
            telegram_secret: String::new(),
            api,
            token,
        };
        rig.wait_smtp().await?;
        rig.telegram_secret = rig.wait_webhook_secret().await?;
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

    /// The secret the node gave `setWebhook` at its start.
    async fn wait_webhook_secret(&self) -> anyhow::Result<String> {
        let deadline = Instant::now() + Duration::from_secs(SMTP_TIMEOUT_S);
        loop {
            if let Some(secret) = self.messengers.webhook_secret() {
                return Ok(secret);
            }
            if Instant::now() > deadline {
                bail!("the node did not call setWebhook within {SMTP_TIMEOUT_S} s");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
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

    /// Every conversation id listed in `GET /api/v1/inbox?state=…`.
    pub async fn conversation_ids(
        &self,
        state: &str,
    ) -> anyhow::Result<std::collections::HashSet<String>> {
        let list = self
            .api
            .get(&format!("/api/v1/inbox?state={state}"), &self.token)
            .await
            .context("GET /api/v1/inbox")?;
        Ok(list["conversations"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["id"].as_str().map(str::to_string))
            .collect())
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
    /// The conversation each citizen message (by sequence number) landed in.
    pub conversation_of_seq: HashMap<u64, String>,
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
                    if let Some(id) = v["id"].as_str() {
                        f.conversation_of_seq
                            .entry(seq)
                            .or_insert_with(|| id.to_string());
                    }
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

/// One queued answer: its outbox id, the channel and address it must arrive at, and the mark
/// in its text (`№n`) by which the messengers' far end tells the answers apart.
#[derive(Debug, Clone)]
pub struct Answer {
    pub outbox_id: String,
    pub channel: Ch,
    pub to: String,
    pub mark: u64,
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
        for a in answers.iter().filter(|a| a.channel == Ch::Email) {
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

/// Sends one message from each citizen `(channel, k)` of `citizens` (message `seq_base + i`
/// from the i-th) — e-mail over kept SMTP connections, Telegram and VK as their webhook posts —
/// `connections` at a time: the sequence numbers taken, with the citizen of each.
pub async fn write_citizens(
    rig: &Arc<Rig>,
    citizens: &[(Ch, usize)],
    connections: usize,
    seq_base: u64,
) -> anyhow::Result<Vec<(u64, Ch, usize)>> {
    let mut tasks = Vec::new();
    let connections = connections.max(1);
    for c in 0..connections {
        let rig = rig.clone();
        let mine: Vec<(usize, Ch, usize)> = citizens
            .iter()
            .enumerate()
            .skip(c)
            .step_by(connections)
            .map(|(i, (ch, k))| (i, *ch, *k))
            .collect();
        tasks.push(tokio::spawn(async move {
            let http = client::http_client()?;
            let mut mail: Option<CitizenMail> = None;
            let mut sent = Vec::new();
            for (i, ch, k) in mine {
                let seq = seq_base + i as u64;
                let (subject, body) = citizen_text(seq, i % 2 == 0);
                match ch {
                    Ch::Email => {
                        let m = match mail.take() {
                            Some(m) if !m.is_broken() => m,
                            _ => CitizenMail::connect(rig.smtp_addr).await?,
                        };
                        let m = mail.insert(m);
                        let from = citizen_address(k);
                        m.send(
                            &from,
                            &format!("<m{seq}@mail.sim.invalid>"),
                            &subject,
                            &body,
                        )
                        .await
                        .with_context(|| format!("message {seq} from {from}"))?;
                    }
                    Ch::Telegram | Ch::Vk => {
                        messenger_post(&http, &rig, ch, k, seq, &format!("{subject}. {body}"))
                            .await
                            .with_context(|| format!("message {seq}"))?;
                    }
                    Ch::Widget => bail!("a widget citizen writes from a page (WidgetPage)"),
                }
                sent.push((seq, ch, k));
            }
            anyhow::Ok(sent)
        }));
    }
    let mut sent = Vec::new();
    for t in tasks {
        sent.extend(t.await??);
    }
    if sent.len() != citizens.len() {
        bail!(
            "only {} of {} messages were taken",
            sent.len(),
            citizens.len()
        );
    }
    Ok(sent)
}

/// A conversation an operator answers, and where its answers must arrive.
#[derive(Debug, Clone)]
pub struct Target {
    pub conversation: String,
    pub channel: Ch,
    pub address: String,
}

/// Takes each conversation and queues `per_conversation` answers in it, `concurrency`
/// operators at a time: the answers, in no particular order.
pub async fn queue_answers_to(
    rig: &Rig,
    targets: &[Target],
    per_conversation: usize,
    concurrency: usize,
) -> anyhow::Result<Vec<Answer>> {
    use futures::StreamExt;
    let results: Vec<anyhow::Result<Vec<Answer>>> =
        futures::stream::iter(targets.iter().cloned().enumerate())
            .map(|(n, t)| async move {
                let id = &t.conversation;
                rig.take(id).await.with_context(|| format!("take {id}"))?;
                let mut out = Vec::new();
                for k in 0..per_conversation {
                    let mark = (n * per_conversation + k) as u64;
                    let text = format!(
                        "Жауап №{mark} / Ответ №{mark}: участковый инспектор принимает по вторникам с 18:00."
                    );
                    let outbox_id = rig
                        .reply(id, &text)
                        .await
                        .with_context(|| format!("reply in {id}"))?;
                    out.push(Answer {
                        outbox_id,
                        channel: t.channel,
                        to: t.address.clone(),
                        mark,
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

/// The four channels a citizen writes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ch {
    Email,
    Telegram,
    Vk,
    Widget,
}

/// Telegram chat ids of the simulated citizens start here.
const TELEGRAM_CHAT_BASE: i64 = 500_000_000;
/// VK user ids of the simulated citizens start here.
const VK_USER_BASE: i64 = 600_000_000;
/// The simulated pages' sources: `10.x.y.z` behind the region's proxy.
fn widget_source(k: usize) -> std::net::Ipv4Addr {
    let k = k as u32;
    std::net::Ipv4Addr::new(10, (k >> 16) as u8, (k >> 8) as u8, k as u8)
}

impl Ch {
    pub const ALL: [Ch; 4] = [Ch::Email, Ch::Telegram, Ch::Vk, Ch::Widget];

    pub fn name(self) -> &'static str {
        match self {
            Ch::Email => "email",
            Ch::Telegram => "telegram",
            Ch::Vk => "vk",
            Ch::Widget => "web_widget",
        }
    }

    /// Where the node answers citizen `k` of this channel (the conversation's address).
    pub fn address(self, k: usize) -> String {
        match self {
            Ch::Email => citizen_address(k),
            Ch::Telegram => (TELEGRAM_CHAT_BASE + k as i64).to_string(),
            Ch::Vk => (VK_USER_BASE + k as i64).to_string(),
            Ch::Widget => format!("simwidget-{k:016}"),
        }
    }
}

/// A messenger's webhook post, as the vendor sends it: a Telegram update (with the webhook's
/// secret header) or a VK Callback API `message_new` event (with the community's secret).
/// `Ok` when the node answered `200` (stored).
pub async fn messenger_post(
    http: &reqwest::Client,
    rig: &Rig,
    channel: Ch,
    k: usize,
    seq: u64,
    text: &str,
) -> anyhow::Result<()> {
    let now = chrono::Utc::now().timestamp();
    let (path, body, secret) = match channel {
        Ch::Telegram => {
            let chat = TELEGRAM_CHAT_BASE + k as i64;
            (
                "/channels/telegram/webhook",
                json!({
                    "update_id": seq + 1,
                    "message": {
                        "message_id": seq + 1,
                        "from": {"id": chat, "is_bot": false, "first_name": "Азамат", "language_code": "ru"},
                        "chat": {"id": chat, "first_name": "Азамат", "type": "private"},
                        "date": now,
                        "text": text
                    }
                }),
                Some(rig.telegram_secret.as_str()),
            )
        }
        Ch::Vk => {
            let user = VK_USER_BASE + k as i64;
            (
                "/channels/vk/callback",
                json!({
                    "group_id": standin::VK_GROUP_ID,
                    "type": "message_new",
                    "event_id": format!("{:040x}", seq + 1),
                    "v": "5.199",
                    "object": {
                        "message": {
                            "date": now, "from_id": user, "id": seq + 1, "out": 0,
                            "attachments": [], "conversation_message_id": seq + 1,
                            "fwd_messages": [], "important": false, "is_hidden": false,
                            "peer_id": user, "random_id": 0, "text": text
                        },
                        "client_info": {"button_actions": ["text"], "keyboard": true,
                            "inline_keyboard": true, "carousel": true, "lang_id": 0}
                    },
                    "secret": standin::VK_SECRET
                }),
                None,
            )
        }
        _ => bail!("{} is not a messenger", channel.name()),
    };
    let mut req = http
        .post(format!("{}{path}", rig.node.base_url))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(secret) = secret {
        req = req.header("X-Telegram-Bot-Api-Secret-Token", secret);
    }
    let resp = req
        .timeout(Duration::from_secs(SMTP_TIMEOUT_S))
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("{}: {e}", channel.name()))?;
    let status = resp.status().as_u16();
    let answer = resp.text().await.unwrap_or_default();
    if status != 200 || (channel == Ch::Vk && answer != "ok") {
        bail!("{} webhook answered {status}: {answer}", channel.name());
    }
    Ok(())
}

type WidgetSocket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A citizen's page with the widget open: one WebSocket in session `Ch::Widget.address(k)`,
/// from its own network source behind the region's proxy.
pub struct WidgetPage {
    ws: WidgetSocket,
    /// Answer frames by outbox id (how many times each came), and the answers the page's
    /// history (`ready`) showed.
    pub answer_frames: HashMap<String, usize>,
    pub history_answers: std::collections::HashSet<String>,
}

impl WidgetPage {
    /// Connects, says `hello` and waits for `ready`.
    pub async fn open(rig: &Rig, k: usize) -> anyhow::Result<WidgetPage> {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let url = format!(
            "{}{}",
            rig.node.base_url.replacen("http", "ws", 1),
            node::channels::widget::WIDGET_WS_PATH
        );
        let mut request = url.as_str().into_client_request()?;
        request
            .headers_mut()
            .insert("x-forwarded-for", widget_source(k).to_string().parse()?);
        let (ws, _) = tokio::time::timeout(
            Duration::from_secs(SMTP_TIMEOUT_S),
            tokio_tungstenite::connect_async(request),
        )
        .await
        .map_err(|_| anyhow::anyhow!("widget: connecting timed out"))?
        .context("widget: the node refused the WebSocket")?;
        let mut page = WidgetPage {
            ws,
            answer_frames: HashMap::new(),
            history_answers: Default::default(),
        };
        page.send(json!({"type": "hello", "session": Ch::Widget.address(k), "lang": "ru"}))
            .await?;
        page.until(|f| f["type"] == "ready").await?;
        Ok(page)
    }

    async fn send(&mut self, frame: Value) -> anyhow::Result<()> {
        use futures::SinkExt;
        self.ws
            .send(tokio_tungstenite::tungstenite::Message::Text(
                frame.to_string().into(),
            ))
            .await
            .context("widget: the socket closed")
    }

    /// Reads frames (noting answers, and saying `received` for each) until `done` holds for
    /// one; an `error` frame, a refusal or a closed socket is an error.
    async fn until(&mut self, mut done: impl FnMut(&Value) -> bool) -> anyhow::Result<Value> {
        use futures::StreamExt;
        let deadline = Instant::now() + Duration::from_secs(SMTP_TIMEOUT_S);
        loop {
            let next = tokio::time::timeout_at(deadline.into(), self.ws.next())
                .await
                .map_err(|_| anyhow::anyhow!("widget: no frame within {SMTP_TIMEOUT_S} s"))?;
            let frame = match next {
                Some(Ok(tokio_tungstenite::tungstenite::Message::Text(t))) => {
                    serde_json::from_str::<Value>(&t).context("widget: a frame is not JSON")?
                }
                Some(Ok(tokio_tungstenite::tungstenite::Message::Close(c))) => {
                    bail!("widget: the node closed the socket: {c:?}")
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => bail!("widget: {e}"),
                None => bail!("widget: the node closed the socket"),
            };
            match frame["type"].as_str() {
                Some("ready") => {
                    for line in frame["history"].as_array().into_iter().flatten() {
                        if line["direction"] == "out" {
                            if let Some(id) = line["id"].as_str() {
                                self.history_answers.insert(id.to_string());
                            }
                        }
                    }
                }
                Some("answer") => {
                    if let Some(id) = frame["id"].as_str() {
                        *self.answer_frames.entry(id.to_string()).or_default() += 1;
                        let id = id.to_string();
                        self.send(json!({"type": "received", "id": id})).await?;
                    }
                }
                Some("refused") | Some("error") => bail!("widget: {frame}"),
                _ => {}
            }
            if done(&frame) {
                return Ok(frame);
            }
        }
    }

    /// Sends one message and waits for its `ack` (stored).
    pub async fn message(&mut self, id: &str, text: &str) -> anyhow::Result<()> {
        self.send(json!({"type": "message", "id": id, "text": text}))
            .await?;
        let id = id.to_string();
        self.until(|f| f["type"] == "ack" && f["id"] == id.as_str())
            .await
            .map(|_| ())
    }

    /// Waits until every one of `ids` came as an answer frame (each acknowledged), or
    /// `deadline`.
    pub async fn answers(&mut self, ids: &[String], deadline: Instant) {
        while ids.iter().any(|i| !self.answer_frames.contains_key(i)) && Instant::now() < deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            let got = tokio::time::timeout(left, self.until(|f| f["type"] == "answer")).await;
            if !matches!(got, Ok(Ok(_))) {
                break;
            }
        }
    }

    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}

/// What the widget pages saw of the answers, by outbox id: answer frames (raw count) and
/// answers shown in a reconnecting page's history.
#[derive(Debug, Default)]
pub struct WidgetLedger {
    pub frames: HashMap<String, usize>,
    pub history: std::collections::HashSet<String>,
}

/// How every channel's answers arrived: e-mail at the relay (by `Message-ID`), Telegram and VK
/// at the stand-in (by the `№` mark in their text, and the chat/peer they went to), the widget
/// at its pages (by outbox id).
pub fn delivery_all(rig: &Rig, widget: &WidgetLedger, answers: &[Answer]) -> Delivery {
    let mut d = delivery(&rig.relay, answers);
    rig.messengers.with_sent(|sent| {
        for (vendor, ch) in [(Vendor::Telegram, Ch::Telegram), (Vendor::Vk, Ch::Vk)] {
            let mut by_mark: HashMap<u64, Vec<&str>> = HashMap::new();
            for s in sent.get(&vendor).into_iter().flatten() {
                match mark_of(&s.text) {
                    Some(m) => by_mark.entry(m).or_default().push(&s.to),
                    None => d.unexpected += 1,
                }
            }
            let mut expected = std::collections::HashSet::new();
            for a in answers.iter().filter(|a| a.channel == ch) {
                expected.insert(a.mark);
                match by_mark.get(&a.mark) {
                    None => d.lost += 1,
                    Some(copies) => {
                        d.delivered += 1;
                        d.repeats += copies.len() - 1;
                        d.copies_max = d.copies_max.max(copies.len());
                        if copies.iter().any(|to| *to != a.to) {
                            d.misrouted += 1;
                        }
                    }
                }
            }
            d.unexpected += by_mark.keys().filter(|m| !expected.contains(m)).count();
        }
    });
    for a in answers.iter().filter(|a| a.channel == Ch::Widget) {
        match widget.frames.get(&a.outbox_id) {
            Some(&n) => {
                d.delivered += 1;
                d.repeats += n - 1;
                d.copies_max = d.copies_max.max(n);
            }
            None if widget.history.contains(&a.outbox_id) => d.delivered += 1,
            None => d.lost += 1,
        }
    }
    d
}

/// The `№n` mark in an answer's text.
fn mark_of(text: &str) -> Option<u64> {
    let rest = &text[text.find('№')? + '№'.len_utf8()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}
