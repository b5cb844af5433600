//! Measures what the media server costs per call: N calls (citizen + operator, audio, or audio
//! and video with `--video`) between headless clients in a child process and the server in this
//! one, over loopback. Prints the server process's CPU and memory and the relay loss.
//!
//! ```sh
//! cargo run --release -p media --example media_load -- --calls 50 --seconds 10 [--video]
//! ```
//!
//! The clients run in a second process so that the numbers are the server's alone; the two talk
//! SDP over the child's stdin/stdout, one JSON object per line.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use media::client::{ClientStats, HeadlessCitizen, HeadlessConfig, HeadlessOperator};
use media::{MediaConfig, MediaServer};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// How long calls run before the measurement window opens, so setup is not measured.
const WARMUP: Duration = Duration::from_secs(3);
/// How long each client waits to connect.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Line {
    Offer {
        call: usize,
        role: String,
        sdp: String,
    },
    Answer {
        call: usize,
        role: String,
        sdp: String,
    },
    Ready,
    Snapshot,
    Stats {
        totals: Totals,
    },
    Stop,
}

#[derive(Debug, Default, Clone, Copy, Serialize, Deserialize)]
struct Totals {
    /// Audio packets lost on their way to the operators / citizens, by sequence number.
    audio_expected_at_operators: u64,
    audio_expected_at_citizens: u64,
    video_expected_at_operators: u64,
    video_received_at_operators: u64,
    citizen_audio_sent: u64,
    operator_audio_received: u64,
    operator_audio_sent: u64,
    citizen_audio_received: u64,
    citizen_video_frames_sent: u64,
    operator_video_frames_received: u64,
}

struct Args {
    calls: usize,
    seconds: u64,
    video: bool,
    clients_mode: bool,
}

fn args() -> Args {
    let mut args = Args {
        calls: 50,
        seconds: 10,
        video: false,
        clients_mode: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--calls" => args.calls = it.next().and_then(|v| v.parse().ok()).unwrap_or(args.calls),
            "--seconds" => {
                args.seconds = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(args.seconds)
            }
            "--video" => args.video = true,
            "--clients-mode" => args.clients_mode = true,
            other => eprintln!("ignoring argument {other}"),
        }
    }
    args
}

fn main() -> anyhow::Result<()> {
    let args = args();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    if args.clients_mode {
        runtime.block_on(clients(args))
    } else {
        runtime.block_on(server(args))
    }
}

/// CPU time (user + system) of this process so far, in clock ticks, and resident memory in KiB.
fn process_usage() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which is in parentheses and may contain spaces.
    let after = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .unwrap_or_default();
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let cpu = ticks(11) + ticks(12); // utime, stime (fields 14 and 15 of stat)
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let rss = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    (cpu, rss)
}

/// Clock ticks per second of `/proc` CPU times (USER_HZ, 100 on Linux).
const TICKS_PER_SECOND: f64 = 100.0;

async fn server(args: Args) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let server = MediaServer::start(MediaConfig {
        udp_port_min: 25_000,
        udp_port_max: 25_000 + (args.calls as u16) * 2 + 10,
        recordings_dir: dir.path().to_owned(),
        ice_connect_timeout_ms: 30_000,
        ..MediaConfig::default()
    })
    .await?;
    let (_, rss_before) = process_usage();

    let mut child = tokio::process::Command::new(std::env::current_exe()?)
        .args(["--clients-mode", "--calls", &args.calls.to_string()])
        .args(args.video.then_some("--video"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let mut to_child = child.stdin.take().expect("piped stdin");
    let mut from_child = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    let mut send = async |line: &Line| -> anyhow::Result<()> {
        let mut text = serde_json::to_string(line)?;
        text.push('\n');
        to_child.write_all(text.as_bytes()).await?;
        Ok(to_child.flush().await?)
    };

    let setup_started = Instant::now();
    let mut offer_ms: Vec<u128> = Vec::new();
    loop {
        let Some(text) = from_child.next_line().await? else {
            anyhow::bail!("clients exited during setup");
        };
        match serde_json::from_str::<Line>(&text)? {
            Line::Offer { call, role, sdp } => {
                let id = format!("load-{call}");
                let asked = Instant::now();
                let answer = if role == "citizen" {
                    server.citizen_offer(&id, &sdp).await?
                } else {
                    server.operator_offer(&id, &sdp).await?
                };
                offer_ms.push(asked.elapsed().as_millis());
                send(&Line::Answer {
                    call,
                    role,
                    sdp: answer,
                })
                .await?;
            }
            Line::Ready => break,
            other => anyhow::bail!("unexpected {other:?}"),
        }
    }
    offer_ms.sort_unstable();
    let percentile = |p: usize| offer_ms.get(offer_ms.len() * p / 100).copied().unwrap_or(0);
    eprintln!(
        "{} calls set up in {:?}; answer latency p50 {} ms, p99 {} ms, max {} ms",
        args.calls,
        setup_started.elapsed(),
        percentile(50),
        percentile(99),
        offer_ms.last().copied().unwrap_or(0)
    );
    tokio::time::sleep(WARMUP).await;

    let mut snapshot = async || -> anyhow::Result<Totals> {
        send(&Line::Snapshot).await?;
        loop {
            let Some(text) = from_child.next_line().await? else {
                anyhow::bail!("clients exited");
            };
            if let Line::Stats { totals } = serde_json::from_str::<Line>(&text)? {
                return Ok(totals);
            }
        }
    };
    let before = snapshot().await?;
    let stats_before = server.stats();
    let (cpu_before, _) = process_usage();
    let window_started = Instant::now();
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    let (cpu_after, rss_after) = process_usage();
    let window = window_started.elapsed().as_secs_f64();
    let stats_after = server.stats();
    let after = snapshot().await?;
    send(&Line::Stop).await?;

    let cpu_cores = (cpu_after - cpu_before) as f64 / TICKS_PER_SECOND / window;
    let loss = |sent: u64, received: u64| {
        if sent == 0 {
            0.0
        } else {
            100.0 * (1.0 - received as f64 / sent as f64)
        }
    };
    // Loss by sequence numbers over the whole run, which in-flight packets cannot skew.
    let _ = before;
    let c2o = loss(
        after.audio_expected_at_operators,
        after.operator_audio_received,
    );
    let o2c = loss(
        after.audio_expected_at_citizens,
        after.citizen_audio_received,
    );
    let video = loss(
        after.video_expected_at_operators,
        after.video_received_at_operators,
    );
    let relayed = stats_after.rtp_packets_relayed - stats_before.rtp_packets_relayed;
    let dropped = stats_after.rtp_packets_dropped - stats_before.rtp_packets_dropped;
    println!(
        "RESULT media_load calls={} video={} cpu_cores={:.3} cpu_per_call_pct={:.3} rss_mib={:.1} \
         rss_per_call_kib={:.0} relayed_pps={:.0} relay_write_drops={} loss_audio_c2o_pct={:.3} \
         loss_audio_o2c_pct={:.3} loss_video_pct={:.3} recording_drops={} recorded_mib={:.1}",
        args.calls,
        args.video,
        cpu_cores,
        100.0 * cpu_cores / args.calls as f64,
        rss_after as f64 / 1024.0,
        (rss_after.saturating_sub(rss_before)) as f64 / args.calls as f64,
        relayed as f64 / window,
        dropped,
        c2o,
        o2c,
        video,
        stats_after.recording_packets_dropped,
        stats_after.bytes_recorded as f64 / (1024.0 * 1024.0),
    );
    server.shutdown().await;
    let _ = child.wait().await;
    Ok(())
}

async fn clients(args: Args) -> anyhow::Result<()> {
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    let mut stdout = tokio::io::stdout();
    let mut citizens = BTreeMap::new();
    let mut operators = BTreeMap::new();
    async fn write(stdout: &mut tokio::io::Stdout, line: &Line) -> anyhow::Result<()> {
        let mut text = serde_json::to_string(line)?;
        text.push('\n');
        stdout.write_all(text.as_bytes()).await?;
        Ok(stdout.flush().await?)
    }
    async fn answer(
        lines: &mut tokio::io::Lines<BufReader<tokio::io::Stdin>>,
    ) -> anyhow::Result<String> {
        let text = lines
            .next_line()
            .await?
            .ok_or_else(|| anyhow::anyhow!("server gone"))?;
        match serde_json::from_str::<Line>(&text)? {
            Line::Answer { sdp, .. } => Ok(sdp),
            other => anyhow::bail!("unexpected {other:?}"),
        }
    }
    for call in 0..args.calls {
        let config = HeadlessConfig {
            video: args.video,
            seed: call as u64 + 1,
            ..HeadlessConfig::default()
        };
        let citizen = HeadlessCitizen::new(config.clone()).await?;
        let sdp = citizen.offer().await?;
        write(
            &mut stdout,
            &Line::Offer {
                call,
                role: "citizen".into(),
                sdp,
            },
        )
        .await?;
        citizen.accept_answer(&answer(&mut stdin).await?).await?;
        let operator = HeadlessOperator::new(HeadlessConfig {
            video: false,
            ..config
        })
        .await?;
        let sdp = operator.offer().await?;
        write(
            &mut stdout,
            &Line::Offer {
                call,
                role: "operator".into(),
                sdp,
            },
        )
        .await?;
        operator.accept_answer(&answer(&mut stdin).await?).await?;
        citizens.insert(call, citizen);
        operators.insert(call, operator);
    }
    for (citizen, operator) in citizens.values().zip(operators.values()) {
        anyhow::ensure!(
            citizen.wait_connected(CONNECT_TIMEOUT).await,
            "citizen did not connect"
        );
        anyhow::ensure!(
            operator.wait_connected(CONNECT_TIMEOUT).await,
            "operator did not connect"
        );
    }
    write(&mut stdout, &Line::Ready).await?;
    while let Some(text) = stdin.next_line().await? {
        match serde_json::from_str::<Line>(&text)? {
            Line::Snapshot => {
                let mut totals = Totals::default();
                for (citizen, operator) in citizens.values().zip(operators.values()) {
                    let (c, o): (ClientStats, ClientStats) = (citizen.stats(), operator.stats());
                    totals.citizen_audio_sent += c.audio_packets_sent;
                    totals.citizen_audio_received += c.audio_packets_received;
                    totals.citizen_video_frames_sent += c.video_frames_sent;
                    totals.operator_audio_sent += o.audio_packets_sent;
                    totals.operator_audio_received += o.audio_packets_received;
                    totals.operator_video_frames_received += o.video_frames_received;
                    totals.audio_expected_at_operators += o.audio_packets_expected;
                    totals.audio_expected_at_citizens += c.audio_packets_expected;
                    totals.video_expected_at_operators += o.video_packets_expected;
                    totals.video_received_at_operators += o.video_packets_received;
                }
                write(&mut stdout, &Line::Stats { totals }).await?;
            }
            Line::Stop => break,
            other => anyhow::bail!("unexpected {other:?}"),
        }
    }
    for citizen in citizens.values() {
        citizen.close().await;
    }
    for operator in operators.values() {
        operator.close().await;
    }
    Ok(())
}
