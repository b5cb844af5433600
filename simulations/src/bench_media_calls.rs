//! `bench media-calls`: how many citizen calls one node relays and records.
//!
//! Runs the real node binary and, in this process, headless citizens and synthetic operators
//! (the `media` crate's clients, sending media they generate). Each call goes the whole way: the
//! citizen signals over the node's WebSocket, the call rings (seen by a supervisor's SSE stream:
//! that is the ring → queue latency), an operator accepts over the HTTP API, and media flows
//! citizen ⇄ node ⇄ operator while the node records it.
//!
//! Calls are added in steps, audio-only first, then with video. After each step the calls settle,
//! then a window measures the node process's CPU (from `/proc/<pid>/stat`, the node alone; the
//! load generator shares the machine and its own CPU is reported too) and the relay loss from RTP
//! sequence numbers at the receivers (every direction, audio and video). A phase stops at its
//! target, or when the node uses more than one core, or when loss exceeds the goal. The figure
//! reported per phase is the largest step that held within both limits.
//!
//! `--relay` runs the same phases a second time in the same node with every call relayed by a
//! real TURN server (coturn on loopback): the clients take the node's TURN credentials from the
//! signalling and use only relayed candidates, as browsers with `iceTransportPolicy: "relay"`
//! do. It reports the node's CPU per call in both modes (the node's work should not change:
//! it terminates media either way) and coturn's own CPU.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use futures::{SinkExt, StreamExt};
use media::client::{ClientStats, HeadlessCitizen, HeadlessConfig, HeadlessOperator};
use reqwest::Method;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use crate::client::{self, Api};
use crate::node_proc::{self, NodeConfig};
use crate::process::{self, Process};
use crate::report::{self, Latency, Report};
use crate::turn_proc::TurnProcess;

pub const NAME: &str = "media-calls";

/// Goal: node CPU at the reported call count, in cores.
const CPU_CORES_MAX: f64 = 1.0;
/// Goal: relay loss, percent.
const LOSS_PCT_MAX: f64 = 0.1;
/// Goal: concurrent audio calls.
const AUDIO_CALLS_GOAL: usize = 300;
/// Goal: concurrent video calls.
const VIDEO_CALLS_GOAL: usize = 100;
/// Goal: ring → operator queue, p99 ms.
const QUEUE_P99_MS_GOAL: f64 = 300.0;
/// A call's legs must connect within this.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// A whole call setup (signalling, accept, both legs connected) must finish within this.
const SETUP_TIMEOUT: Duration = Duration::from_secs(45);
/// Calls set up at once while ramping.
const SETUP_CONCURRENCY: usize = 8;
/// Media UDP ports the node may use (two per call).
const UDP_PORT_MIN: u16 = 30_000;
const UDP_PORT_MAX: u16 = 31_999;

#[derive(Debug, Clone)]
pub struct MediaCallsConfig {
    pub quick: bool,
    pub seed: u64,
    pub node_bin: PathBuf,
    /// Upper bound of the audio phase.
    pub audio_target: usize,
    /// Upper bound of the video phase.
    pub video_target: usize,
    /// Calls added per step (audio, video).
    pub audio_step: usize,
    pub video_step: usize,
    /// Settling time after a step, before the window.
    pub settle: Duration,
    /// Measurement window per step.
    pub window: Duration,
    /// Also run every phase through coturn (see the module docs).
    pub relay: bool,
}

impl MediaCallsConfig {
    pub fn new(quick: bool, seed: u64, node_bin: PathBuf) -> Self {
        if quick {
            MediaCallsConfig {
                quick,
                seed,
                node_bin,
                audio_target: 24,
                video_target: 8,
                audio_step: 8,
                video_step: 4,
                settle: Duration::from_secs(2),
                window: Duration::from_secs(3),
                relay: false,
            }
        } else {
            MediaCallsConfig {
                quick,
                seed,
                node_bin,
                audio_target: 400,
                video_target: 150,
                audio_step: 25,
                video_step: 10,
                settle: Duration::from_secs(3),
                window: Duration::from_secs(5),
                relay: false,
            }
        }
    }
}

/// One call in progress, kept alive until the phase ends.
struct LiveCall {
    id: String,
    operator_token: String,
    citizen: HeadlessCitizen,
    operator: HeadlessOperator,
    /// Keeps the citizen's signalling open.
    _socket: tokio::task::JoinHandle<()>,
}

/// Sums of the receivers' sequence-number counters.
#[derive(Debug, Default, Clone, Copy)]
struct Flow {
    expected: u64,
    received: u64,
}

impl Flow {
    fn add(&mut self, s: &ClientStats, video: bool) {
        self.expected += s.audio_packets_expected;
        self.received += s.audio_packets_received;
        if video {
            self.expected += s.video_packets_expected;
            self.received += s.video_packets_received;
        }
    }
}

fn flows(calls: &[LiveCall]) -> Flow {
    let mut f = Flow::default();
    for c in calls {
        // The operator receives the citizen's audio and video; the citizen the operator's audio.
        f.add(&c.operator.stats(), true);
        f.add(&c.citizen.stats(), false);
    }
    f
}

/// What a step measured.
#[derive(Debug, Clone)]
struct Step {
    calls: usize,
    node_cores: f64,
    /// coturn's CPU in the relay pass (0 without it).
    turn_cores: f64,
    generator_cores: f64,
    loss_pct: f64,
    node_rss_mib: f64,
    packets: u64,
}

impl Step {
    /// The node's CPU per call: milliseconds of CPU per second of a call.
    fn cpu_ms_per_call(&self) -> f64 {
        if self.calls == 0 {
            0.0
        } else {
            self.node_cores * 1000.0 / self.calls as f64
        }
    }

    fn within_goal(&self) -> bool {
        self.node_cores <= CPU_CORES_MAX && self.loss_pct <= LOSS_PCT_MAX
    }
    fn to_json(&self) -> Value {
        json!({
            "calls": self.calls,
            "node_cores": report::round(self.node_cores, 3),
            "node_cpu_ms_per_s_per_call": report::round(self.cpu_ms_per_call(), 3),
            "turn_cores": report::round(self.turn_cores, 3),
            "generator_cores": report::round(self.generator_cores, 3),
            "loss_pct": report::round(self.loss_pct, 4),
            "node_rss_mib": report::round(self.node_rss_mib, 1),
            "packets": self.packets,
        })
    }
}

/// Phone numbers of calls sent, and when the supervisor's stream first showed them ringing.
#[derive(Default)]
struct Latencies {
    sent: HashMap<String, Instant>,
    seen: HashMap<String, Instant>,
}

struct Bench {
    api: Api,
    ws_base: String,
    operators: Vec<String>,
    latencies: Arc<Mutex<Latencies>>,
    next_call: usize,
    /// This pass relays every call through TURN.
    relayed: bool,
}

/// The node's next JSON message on a citizen's signalling socket (`what` names it in errors).
async fn next_json<S>(ws: &mut S, what: &str) -> anyhow::Result<Value>
where
    S: futures::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => return Ok(serde_json::from_str(t.as_str())?),
            Some(Ok(_)) => continue,
            other => bail!("signalling closed before {what}: {other:?}"),
        }
    }
}

/// The TURN servers of an `ice_config` (the node's signalling greeting or
/// `/api/v1/calls/ice-config`), as the headless clients take them, relay-only.
fn relay_only_ice(config: &Value) -> anyhow::Result<media::IceSettings> {
    let servers: Vec<media::IceServerEntry> = config["ice_servers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["username"].is_string())
        .map(|s| media::IceServerEntry {
            urls: s["urls"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|u| u.as_str().map(str::to_string))
                .collect(),
            username: s["username"].as_str().unwrap_or_default().to_string(),
            credential: s["credential"].as_str().unwrap_or_default().to_string(),
        })
        .collect();
    if servers.is_empty() {
        bail!("the node handed out no TURN server: {config}");
    }
    Ok(media::IceSettings {
        servers,
        relay_only: true,
    })
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Bench {
    /// Sets up one call end to end; returns it when both legs are connected.
    async fn call(&self, n: usize, video: bool, operator_token: &str) -> anyhow::Result<LiveCall> {
        // The node speaks first: its STUN/TURN servers, with fresh TURN credentials.
        let (mut ws, _) =
            tokio_tungstenite::connect_async(format!("{}/citizen/v1/ws", self.ws_base))
                .await
                .context("citizen signalling socket")?;
        let greeting = next_json(&mut ws, "the ice_config greeting").await?;
        if greeting["type"] != "ice_config" {
            bail!("the node's first message is not ice_config: {greeting}");
        }
        let citizen = HeadlessCitizen::new(HeadlessConfig {
            video,
            seed: n as u64,
            ice: if self.relayed {
                relay_only_ice(&greeting)?
            } else {
                media::IceSettings::default()
            },
            ..HeadlessConfig::default()
        })
        .await
        .context("citizen peer")?;
        let offer = citizen.offer().await.context("citizen offer")?;
        let phone = format!("+7700{n:07}");
        let message = json!({"type": "call", "sdp": offer, "call": {
            "channel": if video { "sos_video" } else { "app102_call" }, "video": video,
            "caller": {"phone": phone}, "app_version": "bench",
            "location": {"lat": 51.1282, "lon": 71.4304, "accuracy_m": 20.0}}});
        lock(&self.latencies)
            .sent
            .insert(phone.clone(), Instant::now());
        ws.send(Message::Text(message.to_string().into())).await?;
        let answer = next_json(&mut ws, "the answer").await?;
        if answer["type"] != "answer" {
            bail!("the node refused the call: {answer}");
        }
        citizen
            .accept_answer(answer["sdp"].as_str().unwrap_or_default())
            .await?;
        let id = answer["call_id"].as_str().unwrap_or_default().to_string();
        let socket = tokio::spawn(async move {
            while let Some(Ok(m)) = ws.next().await {
                if matches!(m, Message::Close(_)) {
                    break;
                }
            }
        });
        let operator_ice = if self.relayed {
            let config = self
                .api
                .get("/api/v1/calls/ice-config", operator_token)
                .await
                .context("cannot read the operator's ICE settings")?;
            relay_only_ice(&config)?
        } else {
            media::IceSettings::default()
        };
        let operator = HeadlessOperator::new(HeadlessConfig {
            seed: 1_000_000 + n as u64,
            ice: operator_ice,
            ..HeadlessConfig::default()
        })
        .await
        .context("operator peer")?;
        let offer = operator.offer().await?;
        let body = self
            .api
            .post(
                &format!("/api/v1/calls/{id}/accept"),
                operator_token,
                &json!({"sdp": offer}),
                &[200],
            )
            .await
            .with_context(|| format!("accept of call {id} failed"))?;
        operator
            .accept_answer(body["sdp"].as_str().unwrap_or_default())
            .await?;
        if !citizen.wait_connected(CONNECT_TIMEOUT).await
            || !operator.wait_connected(CONNECT_TIMEOUT).await
        {
            bail!("call {id}: media did not connect within {CONNECT_TIMEOUT:?}");
        }
        Ok(LiveCall {
            id,
            operator_token: operator_token.to_string(),
            citizen,
            operator,
            _socket: socket,
        })
    }

    /// Adds calls until `calls` holds `target`, a few at a time.
    async fn grow(
        &mut self,
        calls: &mut Vec<LiveCall>,
        target: usize,
        video: bool,
    ) -> anyhow::Result<()> {
        while calls.len() < target {
            let batch = (target - calls.len()).min(SETUP_CONCURRENCY);
            let first = self.next_call;
            self.next_call += batch;
            let base = calls.len();
            let this = &*self;
            let started = (0..batch).map(|k| async move {
                let n = first + k;
                match tokio::time::timeout(
                    SETUP_TIMEOUT,
                    this.call(n, video, &this.operators[base + k]),
                )
                .await
                {
                    Ok(r) => r,
                    Err(_) => bail!("call {n} was not set up within {SETUP_TIMEOUT:?}"),
                }
            });
            for r in futures::future::join_all(started).await {
                calls.push(r?);
            }
        }
        Ok(())
    }
}

/// The relayed pass's phases, and how many legs the node counted as relayed.
struct Pass {
    audio: (Vec<Step>, usize, String),
    video: (Vec<Step>, usize, String),
    relayed_legs: u64,
}

/// `node_media_legs_connected_total{path="relayed"}` from the node's metrics.
async fn relayed_legs_connected(bench: &Bench) -> anyhow::Result<u64> {
    let text = bench.api.metrics().await?;
    Ok(text
        .lines()
        .find_map(|l| l.strip_prefix("node_media_legs_connected_total{path=\"relayed\"} "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0))
}

/// Reads the supervisor's SSE stream (already open, so subscribed) and notes when each caller's
/// call first rang there.
async fn follow_queue(mut resp: reqwest::Response, lat: Arc<Mutex<Latencies>>) {
    let mut buf = String::new();
    while let Ok(Some(chunk)) = resp.chunk().await {
        let now = Instant::now();
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let event: String = buf.drain(..end + 2).collect();
            if !event.lines().any(|l| l == "event: call") {
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
            if v["phase"] == "ringing" {
                if let Some(phone) = v["caller"]["phone"].as_str() {
                    lock(&lat).seen.entry(phone.to_string()).or_insert(now);
                }
            }
        }
    }
}

fn own_cpu() -> anyhow::Result<Duration> {
    process::cpu_time(std::process::id())
}

async fn measure(
    node: &Process,
    turn: Option<u32>,
    calls: &[LiveCall],
    settle: Duration,
    window: Duration,
) -> anyhow::Result<Step> {
    let turn_cpu = || match turn {
        Some(pid) => process::cpu_time(pid),
        None => Ok(Duration::ZERO),
    };
    tokio::time::sleep(settle).await; // let new calls' media reach a steady state
    let (n0, g0, c0, f0, t0) = (
        node.cpu_time()?,
        own_cpu()?,
        turn_cpu()?,
        flows(calls),
        Instant::now(),
    );
    tokio::time::sleep(window).await; // the measurement window itself
    let (n1, g1, c1, f1, t1) = (
        node.cpu_time()?,
        own_cpu()?,
        turn_cpu()?,
        flows(calls),
        Instant::now(),
    );
    let wall = (t1 - t0).as_secs_f64();
    let expected = f1.expected.saturating_sub(f0.expected);
    let received = f1.received.saturating_sub(f0.received);
    let lost = expected.saturating_sub(received);
    Ok(Step {
        calls: calls.len(),
        node_cores: (n1 - n0).as_secs_f64() / wall,
        turn_cores: (c1 - c0).as_secs_f64() / wall,
        generator_cores: (g1 - g0).as_secs_f64() / wall,
        loss_pct: if expected == 0 {
            100.0
        } else {
            lost as f64 * 100.0 / expected as f64
        },
        node_rss_mib: node.rss_kib()? as f64 / 1024.0,
        packets: expected,
    })
}

/// One phase (audio or video): ramps and returns the steps and the largest within the goal.
async fn phase(
    bench: &mut Bench,
    node: &Process,
    turn: Option<u32>,
    config: &MediaCallsConfig,
    video: bool,
) -> anyhow::Result<(Vec<Step>, usize, String)> {
    let (target, step) = if video {
        (config.video_target, config.video_step)
    } else {
        (config.audio_target, config.audio_step)
    };
    let what = if video { "video" } else { "audio" };
    let mut calls = Vec::new();
    let mut steps = Vec::new();
    let mut held = 0;
    let mut stop = format!("reached the target of {target} calls");
    let mut n = 0;
    while n < target {
        n = (n + step).min(target);
        if let Err(e) = bench.grow(&mut calls, n, video).await {
            stop = format!("setting up call {} failed: {e:#}", calls.len() + 1);
            break;
        }
        let s = measure(node, turn, &calls, config.settle, config.window).await?;
        let relay = if turn.is_some() {
            format!(", coturn {:.2} cores", s.turn_cores)
        } else {
            String::new()
        };
        println!(
            "  {what} {:>4} calls: node {:.2} cores ({:.2} ms/s per call){relay}, generator {:.2} cores, loss {:.3} % of {} packets, node RSS {:.0} MiB",
            s.calls, s.node_cores, s.cpu_ms_per_call(), s.generator_cores, s.loss_pct, s.packets, s.node_rss_mib
        );
        let ok = s.within_goal();
        steps.push(s.clone());
        if !ok {
            stop = if s.node_cores > CPU_CORES_MAX {
                format!("node above {CPU_CORES_MAX} core at {} calls", s.calls)
            } else {
                format!("loss above {LOSS_PCT_MAX} % at {} calls", s.calls)
            };
            break;
        }
        held = s.calls;
        if s.generator_cores + s.node_cores + s.turn_cores > 1.9 {
            stop = format!(
                "the machine's two cores are saturated at {} calls (load generator {:.2} cores)",
                s.calls, s.generator_cores
            );
            break;
        }
    }
    // Operators hang up, as they would, so they are free for the next phase.
    for c in &calls {
        let hangup = format!("/api/v1/calls/{}/hangup", c.id);
        let _ = bench
            .api
            .request(Method::POST, &hangup, Some(&c.operator_token), None, &[200])
            .await;
        c.citizen.close().await;
        c.operator.close().await;
    }
    Ok((steps, held, stop))
}

pub async fn run(config: MediaCallsConfig) -> anyhow::Result<()> {
    node_proc::check_node_bin(&config.node_bin)?;
    println!(
        "{NAME}: seed {} ({}), audio up to {} calls, video up to {} calls",
        config.seed,
        if config.quick { "quick" } else { "full" },
        config.audio_target,
        config.video_target
    );
    let scratch = report::scratch_dir("media-calls")?;
    let turn = if config.relay {
        let turn = TurnProcess::start(scratch.path()).await?;
        println!("  coturn on {} (log {})", turn.url, turn.log_path.display());
        Some(turn)
    } else {
        None
    };
    let node_toml = scratch.path().join("node.toml");
    // With --relay the node hands out TURN credentials for coturn; its policy stays "all",
    // and each pass's clients choose (direct: no TURN; relay: relayed candidates only).
    let turn_section = match &turn {
        Some(t) => format!(
            "\n[calls.turn]\nurls = [\"{}\"]\nsecret_file = \"{}\"\nrelayed_legs_max = 10000\n",
            t.url,
            t.secret_file.display()
        ),
        None => String::new(),
    };
    std::fs::write(
        &node_toml,
        format!(
            // Every simulated caller comes from loopback: it is declared a carrier-grade NAT
            // range (many subscribers behind one address) with limits above the load.
            "[accounts]\nargon2_memory_kib = 1024\n\n[calls]\nudp_port_min = {UDP_PORT_MIN}\nudp_port_max = {UDP_PORT_MAX}\ncitizen_sockets_max = 4000\n\
             carrier_nat_ranges = [\"127.0.0.0/8\"]\ncarrier_nat_sockets_max = 4000\n\
             carrier_nat_live_calls_max = 2000\ncarrier_nat_calls_per_min_max = 20000\n{turn_section}"
        ),
    )?;
    let node = node_proc::start(&NodeConfig {
        bin: config.node_bin.clone(),
        data_dir: scratch.path().join("data"),
        admin_password: node_proc::ADMIN_PASSWORD.to_string(),
        log_path: scratch.path().join("node.log"),
        config: Some(node_toml),
    })
    .await?;
    let api = Api::new(client::http_client()?, &node.base_url);
    let admin = api.login("admin", node_proc::ADMIN_PASSWORD).await?;
    let operators_needed = config.audio_target.max(config.video_target);
    let bar = report::progress(operators_needed as u64 + 1, "accounts");
    api.create_account(
        &admin,
        "bench_sup",
        "Bench supervisor",
        node_proc::ADMIN_PASSWORD,
        &["supervisor"],
    )
    .await?;
    let mut operators = Vec::new();
    for i in 0..operators_needed {
        let login = format!("bench_op{i}");
        api.create_account(
            &admin,
            &login,
            "Bench operator",
            node_proc::ADMIN_PASSWORD,
            &["call_taker"],
        )
        .await?;
        operators.push(api.login(&login, node_proc::ADMIN_PASSWORD).await?);
        bar.inc(1);
    }
    bar.finish_and_clear();
    let latencies = Arc::new(Mutex::new(Latencies::default()));
    let sup = api.login("bench_sup", node_proc::ADMIN_PASSWORD).await?;
    // Opened here, so the stream is subscribed before the first call rings.
    let events = Api::new(client::stream_client()?, &node.base_url)
        .open_stream("/api/v1/events", &sup)
        .await
        .context("cannot open the supervisor's event stream")?;
    let follower = tokio::spawn(follow_queue(events, latencies.clone()));
    let mut bench = Bench {
        api,
        ws_base: node.base_url.replacen("http://", "ws://", 1),
        operators,
        latencies: latencies.clone(),
        next_call: 0,
        relayed: false,
    };
    println!("  direct (the node's own address):");
    let (audio_steps, audio_calls, audio_stop) =
        phase(&mut bench, &node, None, &config, false).await?;
    println!("  audio: {audio_stop}");
    let (video_steps, video_calls, video_stop) =
        phase(&mut bench, &node, None, &config, true).await?;
    println!("  video: {video_stop}");
    let relayed = match &turn {
        Some(t) => {
            println!("  relayed (every call through coturn, relay-only clients):");
            bench.relayed = true;
            let (a_steps, a_calls, a_stop) =
                phase(&mut bench, &node, Some(t.pid()), &config, false).await?;
            println!("  audio: {a_stop}");
            let (v_steps, v_calls, v_stop) =
                phase(&mut bench, &node, Some(t.pid()), &config, true).await?;
            println!("  video: {v_stop}");
            let connected = relayed_legs_connected(&bench).await?;
            let legs = 2 * [&a_steps, &v_steps]
                .iter()
                .filter_map(|steps| steps.last().map(|s| s.calls as u64))
                .sum::<u64>();
            println!("  the node counted {connected} of {legs} legs connected through the relay");
            if connected < legs {
                bail!("relay pass: only {connected} of {legs} legs went through coturn");
            }
            Some(Pass {
                audio: (a_steps, a_calls, a_stop),
                video: (v_steps, v_calls, v_stop),
                relayed_legs: connected,
            })
        }
        None => None,
    };
    follower.abort();

    let mut samples: Vec<Duration> = {
        let l = lock(&latencies);
        l.sent
            .iter()
            .filter_map(|(phone, sent)| {
                l.seen
                    .get(phone)
                    .map(|seen| seen.saturating_duration_since(*sent))
            })
            .collect()
    };
    let calls_made = lock(&latencies).sent.len();
    let queue = Latency::from_samples(&mut samples);
    let loss_at = |steps: &[Step], held: usize| {
        steps
            .iter()
            .find(|s| s.calls == held)
            .map(|s| s.loss_pct)
            .unwrap_or(0.0)
    };
    let loss_pct = loss_at(&audio_steps, audio_calls).max(loss_at(&video_steps, video_calls));
    println!(
        "  ring → operator queue: {} ({} of {calls_made} calls seen)",
        queue.human(),
        queue.count
    );
    let goal_met = (audio_calls >= AUDIO_CALLS_GOAL || video_calls >= VIDEO_CALLS_GOAL)
        && queue.p99_ms <= QUEUE_P99_MS_GOAL
        && queue.count == calls_made;
    println!(
        "  goal (≥ {AUDIO_CALLS_GOAL} audio or ≥ {VIDEO_CALLS_GOAL} video calls at ≤ {CPU_CORES_MAX} core, loss ≤ {LOSS_PCT_MAX} %, queue p99 ≤ {QUEUE_P99_MS_GOAL} ms): {}",
        report::goal_word(goal_met)
    );

    let mut r = Report::new(NAME);
    r.kv("seed", config.seed);
    r.kv("quick", config.quick);
    r.kv("audio_calls", audio_calls as u64);
    r.kv("video_calls", video_calls as u64);
    r.kv_f("loss_pct", loss_pct, 4);
    r.kv_f("queue_p99_ms", queue.p99_ms, 1);
    r.kv("goal_met", goal_met);
    r.detail(
        "audio_steps",
        audio_steps.iter().map(Step::to_json).collect::<Vec<_>>(),
    );
    r.detail(
        "video_steps",
        video_steps.iter().map(Step::to_json).collect::<Vec<_>>(),
    );
    r.detail("audio_stop", audio_stop);
    r.detail("video_stop", video_stop);
    r.detail("queue_latency", queue.to_json());
    r.detail("calls_made", calls_made as u64);
    r.detail(
        "goals",
        json!({"audio_calls": AUDIO_CALLS_GOAL, "video_calls": VIDEO_CALLS_GOAL,
            "node_cores_max": CPU_CORES_MAX, "loss_pct_max": LOSS_PCT_MAX, "queue_p99_ms": QUEUE_P99_MS_GOAL}),
    );
    let per_call = |steps: &[Step], held: usize| {
        steps
            .iter()
            .find(|s| s.calls == held)
            .map(Step::cpu_ms_per_call)
            .unwrap_or(0.0)
    };
    let direct_audio_ms = per_call(&audio_steps, audio_calls);
    let direct_video_ms = per_call(&video_steps, video_calls);
    r.kv_f("cpu_ms_per_audio_call", direct_audio_ms, 3);
    r.kv_f("cpu_ms_per_video_call", direct_video_ms, 3);
    if let Some(p) = &relayed {
        let (a_steps, a_calls, a_stop) = &p.audio;
        let (v_steps, v_calls, v_stop) = &p.video;
        let relay_audio_ms = per_call(a_steps, *a_calls);
        let relay_video_ms = per_call(v_steps, *v_calls);
        println!(
            "  node CPU per call, ms/s: audio {direct_audio_ms:.2} direct, {relay_audio_ms:.2} relayed; video {direct_video_ms:.2} direct, {relay_video_ms:.2} relayed"
        );
        r.kv("relay_audio_calls", *a_calls as u64);
        r.kv("relay_video_calls", *v_calls as u64);
        r.kv_f("relay_cpu_ms_per_audio_call", relay_audio_ms, 3);
        r.kv_f("relay_cpu_ms_per_video_call", relay_video_ms, 3);
        r.kv("relayed_legs", p.relayed_legs);
        r.detail(
            "relay",
            json!({
                "audio_steps": a_steps.iter().map(Step::to_json).collect::<Vec<_>>(),
                "video_steps": v_steps.iter().map(Step::to_json).collect::<Vec<_>>(),
                "audio_stop": a_stop,
                "video_stop": v_stop,
            }),
        );
    }
    let mut node = node;
    node.stop().await.ok();
    drop(turn);
    r.finish()?;
    Ok(())
}
