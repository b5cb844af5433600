//! `bench central-query`: HQ's national queries over a central store holding many cards.
//!
//! The store is the hub's own (`central::server::open_central` on a scratch directory), filled
//! through the code path every replicated card takes: `CentralRepo::store_doc` of a real card
//! document (`CardDoc::create`, sent for processing; all but the open ones then cancelled), which
//! writes the snapshot, the heads index and the national index (`nat/…`: counters, queues,
//! calls per hour and day) in one batch. Only the wire and the `load_incremental` of an import
//! are skipped. Cards spread over the regions in [`REGIONS`].
//! The queries are the dashboard's (`/cards?limit=500`, `/summary`, `/regions`) plus the queue of
//! one status, through `central::http::app` with tower's `oneshot` (no socket), as an HQ
//! administrator; p99 over repeated calls. RSS from `/proc/self/status`: the whole process, so
//! the fill makes its cards in small rounds to leave the hub's own memory dominant.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{json, Value};
use sync::{CardStatus, Ctx, Document, Finish};
use tower::ServiceExt;

use crate::bench_sync::{demo_reference, make_cards, REGIONS};
use crate::report::{self, goal_word, Latency, Report};

pub const NAME: &str = "central-query";

/// Cards made and stored per round (bounds the memory of the fill: a card document being made
/// takes tens of KiB, and freed rounds stay in the allocator's arenas, counted in the RSS).
const FILL_ROUND_CARDS: usize = 2_000;
const GOAL_P99_MS_MAX: f64 = 50.0;
const GOAL_RSS_MIB_MAX: f64 = 1024.0;
const DAY_MS: i64 = 86_400_000;
const ADMIN_PASSWORD: &str = "bench-admin-password-1";

#[derive(Debug, Clone)]
pub struct CentralQueryConfig {
    pub seed: u64,
    pub cards_count: usize,
    pub open_count: usize,
    /// Calls of each query.
    pub calls_count: usize,
    /// Also time a reindex of the whole store from its documents (what a hub does on its first
    /// start after the national index's version changed). Not with --quick: it takes about as
    /// long as the fill.
    pub reindex: bool,
}

impl CentralQueryConfig {
    pub fn new(quick: bool, seed: u64, cards: Option<usize>, open: Option<usize>) -> Self {
        // The fill runs at ~650-850 cards/s on 2 cores (store_doc with the hub's 1 ms
        // group-commit window), so --quick stores 30,000 to stay within a minute.
        let cards_count = cards.unwrap_or(if quick { 30_000 } else { 1_000_000 });
        Self {
            seed,
            cards_count,
            open_count: open.unwrap_or(cards_count / 20).min(cards_count),
            calls_count: if quick { 30 } else { 200 },
            reindex: !quick,
        }
    }
}

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    kib("VmRSS:") / 1024.0
}

async fn call(
    app: &axum::Router,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> anyhow::Result<(StatusCode, Vec<u8>)> {
    let mut req = Request::builder()
        .method(if body.is_some() { "POST" } else { "GET" })
        .uri(path);
    if !token.is_empty() {
        req = req.header("authorization", format!("Bearer {token}"));
    }
    let body = match body {
        Some(v) => {
            req = req.header("content-type", "application/json");
            Body::from(serde_json::to_vec(&v)?)
        }
        None => Body::empty(),
    };
    let resp = app.clone().oneshot(req.body(body)?).await?;
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 256 << 20).await?;
    Ok((status, bytes.to_vec()))
}

/// Logs in with a temporary password and sets its own; returns the session token.
async fn activate(app: &axum::Router, login: &str, temporary: &str) -> anyhow::Result<String> {
    let (status, body) = call(
        app,
        "/api/v1/auth/login",
        "",
        Some(json!({"login": login, "password": temporary})),
    )
    .await?;
    if status != StatusCode::OK {
        bail!(
            "login as {login} failed: {status} {}",
            String::from_utf8_lossy(&body)
        );
    }
    let token = serde_json::from_slice::<Value>(&body)?["token"]
        .as_str()
        .context("no token in the login answer")?
        .to_string();
    let own = crate::client::own_password(temporary);
    let (status, body) = call(
        app,
        "/api/v1/auth/password",
        &token,
        Some(json!({"current_password": temporary, "new_password": own})),
    )
    .await?;
    if status != StatusCode::OK {
        bail!(
            "setting the password of {login} failed: {status} {}",
            String::from_utf8_lossy(&body)
        );
    }
    Ok(token)
}

pub async fn run(config: CentralQueryConfig) -> anyhow::Result<bool> {
    let mut report = Report::new(NAME);
    report.kv("seed", config.seed.to_string());
    report.detail("config", format!("{config:?}"));
    let dir = report::scratch_dir("central-query-")?;
    let mut central_config = central::config::Config::load_layers(&[])?;
    // One login; the default argon2 cost only slows the start.
    central_config.accounts.argon2_memory_kib = 1024;
    let central =
        central::server::open_central(&central_config, dir.path(), Some(ADMIN_PASSWORD.into()))
            .await?;
    let reference = Arc::new(demo_reference()?);

    // Fill: rounds of cards made on every core, stored one by one through the hub's catalogue.
    let fill_started = Instant::now();
    let open_every = config
        .cards_count
        .checked_div(config.open_count)
        .unwrap_or(usize::MAX)
        .max(1);
    let now = node::http::now_ms();
    let mut stored = 0usize;
    let mut open_stored = 0usize;
    let bar = report::progress(config.cards_count as u64, "stored");
    while stored < config.cards_count {
        let round = FILL_ROUND_CARDS.min(config.cards_count - stored);
        let base = stored;
        let reference_ref = &reference;
        let cards = tokio::task::block_in_place(|| {
            make_cards(
                round,
                config.seed.wrapping_add(base as u64),
                &REGIONS,
                reference_ref,
                // Open cards are from the last day; the others spread over a year, so the
                // summary's last-24-hours scan sees a realistic share of the store.
                |i| {
                    let k = (base + i) as i64;
                    if (base + i).is_multiple_of(open_every) {
                        now - (k * 7_919) % DAY_MS
                    } else {
                        now - 2 * DAY_MS - (k * 7_919_003) % (363 * DAY_MS)
                    }
                },
                |i, region, id, mut card| {
                    let open = (base + i).is_multiple_of(open_every);
                    if !open {
                        let at = node::http::now_ms();
                        sync::card::finish(
                            &mut card,
                            &mut [],
                            &Finish::Cancel {
                                reason: "ложный вызов".into(),
                            },
                            reference_ref,
                            &Ctx::new("disp1", region, at),
                        )?;
                    }
                    Ok((
                        region.to_string(),
                        id,
                        std::mem::take(card.automerge()),
                        open,
                    ))
                },
            )
        })?;
        tokio::task::block_in_place(|| -> anyhow::Result<()> {
            for (region, id, mut doc, open) in cards {
                let repo = central.state.hub.repo(&region);
                let mut repo = repo.lock().unwrap_or_else(|p| p.into_inner());
                // The bytes an import brings: a node exports whole documents uncompressed.
                let bytes = doc.save_nocompress();
                repo.store_doc(
                    &sync::DocId::new(&region, sync::DocKind::Card, &id)?,
                    &mut doc,
                    None,
                    &bytes,
                )
                .with_context(|| format!("storing {region}/card/{id}"))?;
                open_stored += open as usize;
            }
            central.gc.wait_written()?;
            Ok(())
        })?;
        stored += round;
        bar.set_position(stored as u64);
    }
    bar.finish_and_clear();
    let fill = fill_started.elapsed();
    let rss_filled = rss_mib();
    println!(
        "stored {stored} cards ({open_stored} open, {} regions) via CentralRepo::store_doc in {:.1} s ({:.0} cards/s); {:.0} MB on disk; RSS {rss_filled:.0} MiB",
        REGIONS.len(),
        fill.as_secs_f64(),
        stored as f64 / fill.as_secs_f64(),
        central.store.size_on_disk_bytes() as f64 / 1e6
    );

    let app = central::http::app(central.state.clone());
    // The administrator sets their own password and creates the HQ duty officer who reads the
    // national picture (the administrator reads no cards).
    let admin = activate(&app, "admin", ADMIN_PASSWORD).await?;
    let (status, body) = call(
        &app,
        "/api/v1/accounts",
        &admin,
        Some(json!({"login": "bench.duty", "full_name": "Bench HQ duty",
            "password": ADMIN_PASSWORD, "roles": ["hq_duty"]})),
    )
    .await?;
    if status != StatusCode::CREATED {
        bail!(
            "creating the HQ duty account failed: {status} {}",
            String::from_utf8_lossy(&body)
        );
    }
    let token = activate(&app, "bench.duty", ADMIN_PASSWORD).await?;

    // The dashboard's queries, and a year of one region's calls per day (the heaviest
    // statistics query the dashboard can ask for).
    let year_ago = node::http::now_ms() - 365 * DAY_MS;
    let queries: Vec<(&str, String)> = vec![
        (
            "queue",
            "/api/v1/cards?status=sent_for_processing&limit=500".into(),
        ),
        ("queue_all", "/api/v1/cards?limit=500".into()),
        ("summary", "/api/v1/summary".into()),
        ("regions", "/api/v1/regions".into()),
        (
            "calls_year",
            format!("/api/v1/stats/calls?period=day&region=AST&from={year_ago}"),
        ),
    ];
    let mut results = Vec::new();
    let mut all_ok = true;
    let mut rss_max = rss_filled;
    for (name, path) in &queries {
        let (name, path) = (*name, path.as_str());
        let mut samples: Vec<Duration> = Vec::with_capacity(config.calls_count);
        let mut body_bytes = 0usize;
        let mut check = Value::Null;
        for k in 0..config.calls_count {
            let t = Instant::now();
            let (status, body) = call(&app, path, &token, None).await?;
            samples.push(t.elapsed());
            if status != StatusCode::OK {
                bail!("{path}: {status} {}", String::from_utf8_lossy(&body));
            }
            body_bytes = body.len();
            if k == 0 {
                check = serde_json::from_slice(&body).unwrap_or(Value::Null);
            }
        }
        rss_max = rss_max.max(rss_mib());
        let latency = Latency::from_samples(&mut samples);
        // What the answer says, so a fast wrong answer is visible.
        let what = match name {
            "queue" | "queue_all" => {
                let n = check.as_array().map_or(0, Vec::len);
                let all_waiting = check.as_array().is_some_and(|a| {
                    a.iter()
                        .all(|c| c["status"] == CardStatus::SentForProcessing.as_str())
                });
                all_ok &= n == 500.min(open_stored) && all_waiting;
                format!("{n} cards")
            }
            "summary" => {
                let total = check["totals"]["sent_for_processing"].as_u64().unwrap_or(0);
                all_ok &= total as usize == open_stored;
                format!("{total} waiting")
            }
            "calls_year" => {
                let calls: u64 = check
                    .as_array()
                    .map_or(0, |a| a.iter().filter_map(|r| r["count"].as_u64()).sum());
                let rows = check.as_array().map_or(0, Vec::len);
                all_ok &= calls > 0;
                format!("{rows} rows, {calls} calls")
            }
            _ => {
                let docs: u64 = check
                    .as_array()
                    .map_or(0, |a| a.iter().filter_map(|r| r["docs"].as_u64()).sum());
                all_ok &= docs as usize == stored;
                format!(
                    "{} regions, {docs} docs",
                    check.as_array().map_or(0, Vec::len)
                )
            }
        };
        println!("GET {path}: {} ({what}, {body_bytes} B)", latency.human());
        results.push((name, latency, body_bytes));
    }
    let mut reindex_s = None;
    if config.reindex {
        let started = Instant::now();
        let found = tokio::task::block_in_place(|| {
            central
                .state
                .hub
                .repo(sync::NATIONAL)
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .reindex()
        })
        .context("reindexing the store")?;
        let took = started.elapsed().as_secs_f64();
        println!(
            "reindex from the documents: {} docs, {} cards in {took:.1} s ({:.0} cards/s)",
            found.docs,
            found.cards,
            found.cards as f64 / took
        );
        all_ok &= found.cards as usize == stored && found.unreadable_cards == 0;
        reindex_s = Some(took);
        rss_max = rss_max.max(rss_mib());
    }
    let p99 = results
        .iter()
        .map(|(_, l, _)| l.p99_ms)
        .fold(0.0f64, f64::max);
    let goal_p99 = p99 <= GOAL_P99_MS_MAX;
    let goal_rss = rss_max <= GOAL_RSS_MIB_MAX;
    println!("goals:");
    println!(
        "  p99 of the slowest query {p99:.1} ms ≤ {GOAL_P99_MS_MAX} ms: {}",
        goal_word(goal_p99)
    );
    println!(
        "  RSS {rss_max:.0} MiB ≤ {GOAL_RSS_MIB_MAX} MiB: {}",
        goal_word(goal_rss)
    );
    if !all_ok {
        println!("FAILED: an answer did not match what was stored (see the counts above)");
    }
    report.kv("cards", stored as u64);
    report.kv("open", open_stored as u64);
    report.kv_f("fill_s", fill.as_secs_f64(), 1);
    for (name, latency, _) in &results {
        report.kv_f(&format!("{name}_p99_ms"), latency.p99_ms, 2);
    }
    report.kv_f("p99_ms", p99, 2);
    if let Some(s) = reindex_s {
        report.kv_f("reindex_s", s, 1);
    }
    report.kv_f("rss_mib", rss_max, 0);
    report.kv("answers_ok", all_ok);
    report.kv("goal_p99_met", goal_p99);
    report.kv("goal_rss_met", goal_rss);
    report.kv("goal_met", goal_p99 && goal_rss);
    for (name, latency, bytes) in &results {
        report.detail(
            name,
            json!({"latency": latency.to_json(), "body_bytes": bytes}),
        );
    }
    report.detail(
        "fill",
        "CentralRepo::store_doc of real card documents (snapshot, heads index, national index); the wire and load_incremental of an import skipped",
    );
    let _ = central.shutdown.send(true);
    report.finish()?;
    Ok(all_ok)
}
