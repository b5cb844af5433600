//! `chaos field`: a region's node (replicating to the real central) and a fleet of field
//! terminals (`field-terminal` processes), each dialling the node's field QUIC listener through
//! its own UDP impairment proxy (5 % loss, 500 ms RTT). During the fault phase every terminal
//! goes dark (its proxy black-holed) for seeded random periods while the dispatcher sends its
//! unit to cards over the node's API and its officer works them through the terminal's local
//! API: acknowledged, en route, on scene, sometimes backup, a report (R34, sometimes with a
//! photo), cleared — each answered 201 once the terminal has it on disk. After the fault phase
//! every link heals, and in the quiet phase every acknowledged status and report must show on
//! its card at the node and at the central, at its original time, exactly once ([`ledger`]).
//!
//! Alongside, one more unit measures the **resync after an hour offline** ([`resync`]).
//!
//! The only timed pauses are the fault schedule (dark and lit periods) and the officers' pace.

mod ledger;
mod resync;
mod terminal;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::client::{self, OPERATOR_PASSWORD};
use crate::cluster::{Cluster, ClusterArgs, Operators, Run, AST};
use crate::field_setup::{self, FieldUnit};
use crate::node_proc;
use crate::process;
use crate::proxy::{Impairment, Proxy, ProxyConfig, ProxyControl, ProxyHandle};
use crate::report::{Latency, Report};

use ledger::{journal, now_ms, Acked, Journal, Shared, Tally, POLL_MS};
use terminal::{Terminal, Written};

pub const NAME: &str = "field";

/// Terminals in a full run (the fleet) and with `--quick`.
pub const TERMINALS_DEFAULT: usize = 50;
pub const TERMINALS_QUICK: usize = 12;
/// The field link: 5 % loss each way, 250 ms each way (500 ms RTT).
const LOSS_PCT: f64 = 5.0;
const ONE_WAY_DELAY_MS: u64 = 250;
/// Pause between two polls of a condition.
/// From the terminals' start until every one has synced once over its impaired link.
const FIRST_SYNC_DEADLINE_MS: u64 = 90_000;
/// Photo size range of a field report, bytes (a phone JPEG sent at reduced size).
const PHOTO_BYTES_MIN: usize = 20 * 1024;
const PHOTO_BYTES_MAX: usize = 80 * 1024;
/// Chance that a report carries a photo, and that a unit asks for backup, per mille.
const PHOTO_PER_MILLE: u32 = 300;
const BACKUP_PER_MILLE: u32 = 150;
/// The officers' logins on the node: `patrol_<unit>`.
const OFFICER_PREFIX: &str = "patrol_";

/// `chaos field` arguments.
#[derive(clap::Args, Debug)]
pub struct FieldArgs {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Field terminals (processes); default 50, 12 with --quick.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=500))]
    pub terminals: Option<u64>,
    /// The field-terminal binary (default: next to this executable).
    #[arg(long)]
    pub field_terminal_bin: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct FieldConfig {
    pub run: Run,
    pub terminal_bin: PathBuf,
    pub terminals: usize,
    pub impairment: Impairment,
    pub fault_phase_ms: u64,
    /// Lit and dark periods of a terminal's link, ms.
    pub lit_ms: (u64, u64),
    pub dark_ms: (u64, u64),
    /// Chance, per mille, that a dark period outlasts the QUIC idle timeout (`long_dark_ms`),
    /// so that the terminal reconnects afterwards rather than resuming its connection.
    pub long_dark_per_mille: u32,
    pub long_dark_ms: u64,
    /// The officer's pause between two actions, ms.
    pub pace_ms: (u64, u64),
    /// From the end of the fault phase until every acknowledged entry must be on both copies.
    pub quiet_deadline_ms: u64,
    pub resync: resync::ResyncPlan,
}

impl FieldConfig {
    pub fn new(args: &FieldArgs, seed: u64) -> anyhow::Result<Self> {
        let run = args.cluster.run(seed)?;
        let quick = run.quick;
        let terminal_bin = match &args.field_terminal_bin {
            Some(p) => p.clone(),
            None => run
                .bins
                .node
                .parent()
                .context("the node binary has no directory")?
                .join("field-terminal"),
        };
        if !terminal_bin.is_file() {
            bail!(
                "field-terminal binary {} not found; build it with `cargo build -p field-terminal` (same profile as simulations) or pass --field-terminal-bin PATH",
                terminal_bin.display()
            );
        }
        let impairment = Impairment {
            loss_pct: LOSS_PCT,
            delay_ms: ONE_WAY_DELAY_MS,
            ..Impairment::NONE
        };
        impairment.validate()?;
        let terminals = args.terminals.map(|n| n as usize).unwrap_or(if quick {
            TERMINALS_QUICK
        } else {
            TERMINALS_DEFAULT
        });
        Ok(Self {
            run,
            terminal_bin,
            terminals,
            impairment,
            fault_phase_ms: if quick { 60_000 } else { 180_000 },
            lit_ms: (4_000, 15_000),
            dark_ms: (1_000, 20_000),
            long_dark_per_mille: if quick { 0 } else { 150 },
            long_dark_ms: crate::cluster::QUIC_IDLE_TIMEOUT_MS + 5_000,
            pace_ms: (300, 2_500),
            quiet_deadline_ms: if quick { 60_000 } else { 120_000 },
            resync: resync::ResyncPlan::default(),
        })
    }
}

/// Runs `chaos field`; `Ok(false)` means an invariant was violated (the report is written).
pub async fn run(config: FieldConfig) -> anyhow::Result<bool> {
    let run_started = Instant::now();
    // The fleet plus the resync unit, which comes last.
    let units = field_setup::fleet("t", config.terminals + 1);
    let field_port = process::free_udp_port()?;
    let field_addr: std::net::SocketAddr = format!("127.0.0.1:{field_port}").parse()?;
    let overlay = field_setup::node_overlay(field_addr, &units);
    let cluster = Cluster::start_with("field-", &config.run, &[AST], Some(&overlay)).await?;
    println!(
        "central and node AST up in {} ms (scratch {}); field listener on {field_addr}",
        run_started.elapsed().as_millis(),
        cluster.scratch_path()
    );
    let mut fleet = Vec::new();
    let outcome = match start_fleet(&cluster, &config, &units, field_addr, &mut fleet).await {
        Ok(()) => phases(&cluster, &config, &units, &fleet).await,
        Err(e) => Err(e),
    };
    let failed = !matches!(&outcome, Ok(o) if o.ok());
    let mut proxies = Vec::new();
    for (terminal, proxy) in fleet.iter_mut() {
        if failed {
            println!("--- last lines of terminal {}:", terminal.unit);
            let tail = terminal.process.log_tail();
            let lines: Vec<&str> = tail.lines().collect();
            for line in &lines[lines.len().saturating_sub(8)..] {
                println!("    {line}");
            }
        }
        let _ = terminal.process.stop().await;
        proxies.push(proxy.stats());
    }
    drop(fleet);
    let summary = outcome.map(|o| {
        move |report: &mut Report| {
            report.detail(
                "proxy_datagrams_dropped",
                proxies
                    .iter()
                    .map(|s| {
                        s.client_to_upstream.dropped_total() + s.upstream_to_client.dropped_total()
                    })
                    .sum::<u64>(),
            );
            o.report(&config, report)
        }
    });
    cluster.conclude(NAME, run_started, summary).await
}

/// Proxies, unit bundles, officers' accounts, terminal processes and their first logins.
async fn start_fleet(
    cluster: &Cluster,
    config: &FieldConfig,
    units: &[FieldUnit],
    field_addr: std::net::SocketAddr,
    fleet: &mut Vec<(Terminal, ProxyHandle)>,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let scratch = PathBuf::from(cluster.scratch_path());
    let mut proxies = Vec::new();
    for i in 0..units.len() {
        let mut proxy = ProxyConfig::new(
            "127.0.0.1:0".parse()?,
            field_addr,
            config.run.seed ^ (1_000 + i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
        );
        proxy.impairment = config.impairment;
        proxies.push(Proxy::start(proxy).await?);
    }
    let ops = cluster.node("AST").operators();
    let web = ops.api.base_url().to_string();
    let bundles = field_setup::add_unit_bundles(
        &scratch.join("ca"),
        &scratch.join("units"),
        "AST",
        units,
        |i| format!("127.0.0.1:{}", proxies[i].local_addr().port()),
        Some(&web),
    )?;
    // Officers' accounts: created by the admin, each logged in once on the node with its
    // temporary password to set its own (`Api::login` tries the own one first, and a fleet's
    // worth of such misses from one address gets the address throttled).
    let admin = ops.api.login("admin", node_proc::ADMIN_PASSWORD).await?;
    let mut tasks = Vec::new();
    for u in units {
        let (api, admin, login) = (ops.api.clone(), admin.clone(), officer(&u.id));
        tasks.push(tokio::spawn(async move {
            api.create_account(&admin, &login, "Патрульный", OPERATOR_PASSWORD, &["patrol"])
                .await?;
            first_login(&api, &login).await
        }));
    }
    for t in tasks {
        t.await.context("an account task panicked")??;
    }
    let dir = scratch.join("terminals");
    std::fs::create_dir_all(&dir)?;
    let mut starts = Vec::new();
    for (u, bundle) in units.iter().zip(&bundles) {
        let (bin, unit, bundle, dir) = (
            config.terminal_bin.clone(),
            u.id.clone(),
            bundle.clone(),
            dir.clone(),
        );
        starts.push(tokio::spawn(async move {
            let t = Terminal::start(&bin, &unit, &bundle, &dir).await?;
            t.login(&officer(&unit), &client::own_password(OPERATOR_PASSWORD))
                .await?;
            anyhow::Ok(t)
        }));
    }
    for (start, proxy) in starts.into_iter().zip(proxies) {
        let t = start.await.context("a terminal task panicked")??;
        fleet.push((t, proxy));
    }
    // Every terminal syncs once over its impaired link before the faults start.
    let deadline = Instant::now() + Duration::from_millis(FIRST_SYNC_DEADLINE_MS);
    for (t, _) in fleet.iter() {
        loop {
            if matches!(t.link().await, Some((banner, _)) if banner == "synced") {
                break;
            }
            if Instant::now() >= deadline {
                bail!(
                    "terminal {} did not sync with the node within {FIRST_SYNC_DEADLINE_MS} ms of the fleet's start",
                    t.unit
                );
            }
            cluster.check_alive()?;
            tokio::time::sleep(Duration::from_millis(POLL_MS)).await;
        }
    }
    println!(
        "{} terminals up, logged in online and synced over their impaired links ({}) in {} ms",
        fleet.len(),
        config.impairment,
        started.elapsed().as_millis()
    );
    Ok(())
}

/// The officer's first login on the node: the temporary password, then their own.
async fn first_login(api: &client::Api, login: &str) -> anyhow::Result<()> {
    let body = serde_json::json!({ "login": login, "password": OPERATOR_PASSWORD });
    let answer = api
        .request(
            reqwest::Method::POST,
            "/api/v1/auth/login",
            None,
            Some(&body),
            &[200],
        )
        .await
        .with_context(|| format!("first login of {login}"))?;
    let token = answer["token"]
        .as_str()
        .with_context(|| format!("login answer without a token: {answer}"))?;
    if answer["user"]["must_change_password"] == true {
        let body = serde_json::json!({
            "current_password": OPERATOR_PASSWORD,
            "new_password": client::own_password(OPERATOR_PASSWORD),
        });
        api.post("/api/v1/auth/password", token, &body, &[200])
            .await
            .with_context(|| format!("setting the password of {login}"))?;
    }
    Ok(())
}

fn officer(unit: &str) -> String {
    format!("{OFFICER_PREFIX}{unit}")
}

struct Outcome {
    journal: Journal,
    quiet_ms: Option<u64>,
    tally: Tally,
    resync: resync::Resync,
}

impl Outcome {
    fn ok(&self) -> bool {
        self.tally.lost == 0
            && self.tally.duplicated == 0
            && self.quiet_ms.is_some()
            && self.resync.total_ms.is_some()
    }

    fn report(&self, config: &FieldConfig, report: &mut Report) -> bool {
        let ok = self.ok();
        let j = &self.journal;
        let resync_s = self.resync.total_ms.map(|ms| ms as f64 / 1e3);
        report.kv("lost", self.tally.lost);
        report.kv("duplicated", self.tally.duplicated);
        match resync_s {
            Some(s) => report.kv_f("resync_s", s, 2),
            None => report.kv("resync_s", serde_json::Value::Null),
        }
        report.kv("seed", config.run.seed.to_string());
        report.kv("terminals", config.terminals as u64);
        report.kv("acknowledged", j.acked.len() as u64);
        report.kv("dispatches", j.dispatches);
        report.kv("quiet_ms", self.quiet_ms);
        report.kv(
            "resync_goal_met",
            resync_s.is_some_and(|s| s <= resync::RESYNC_GOAL_S),
        );
        report.kv("ok", ok);
        report.detail("config", format!("{config:?}"));
        report.detail("checked", self.tally.checked);
        report.detail("missing_on_node", self.tally.missing_on_node);
        report.detail("missing_at_central", self.tally.missing_at_central);
        report.detail("missing_examples", self.tally.examples.clone());
        report.detail("refused", j.refused.len() as u64);
        report.detail(
            "refused_examples",
            j.refused.iter().take(5).cloned().collect::<Vec<_>>(),
        );
        let mut pack = j.pack_latency.clone();
        report.detail(
            "dispatch_to_terminal",
            Latency::from_samples(&mut pack).to_json(),
        );
        report.detail("dark_periods", j.dark_periods);
        report.detail("dark_ms_total", j.dark_ms_total);
        report.detail("dark_ms_longest", j.dark_ms_longest);
        report.detail("resync", self.resync.to_json());
        ok
    }
}

async fn phases(
    cluster: &Cluster,
    config: &FieldConfig,
    units: &[FieldUnit],
    fleet: &[(Terminal, ProxyHandle)],
) -> anyhow::Result<Outcome> {
    let shared: Shared = Arc::new(Mutex::new(Journal::default()));
    let ops = cluster.node("AST").operators();
    let fault_end = Instant::now() + Duration::from_millis(config.fault_phase_ms);
    let fleet_len = fleet.len() - 1;
    println!(
        "fault phase: {} s, links dark {}–{} ms at a time (lit {}–{} ms){}",
        config.fault_phase_ms / 1000,
        config.dark_ms.0,
        config.dark_ms.1,
        config.lit_ms.0,
        config.lit_ms.1,
        if config.long_dark_per_mille > 0 {
            format!(
                ", {}‰ of them {} ms (past the QUIC idle timeout)",
                config.long_dark_per_mille, config.long_dark_ms
            )
        } else {
            String::new()
        }
    );
    // Terminals are shared with the tasks through Arcs of their clients; the processes stay here.
    let mut tasks = Vec::new();
    for (i, (t, proxy)) in fleet.iter().enumerate().take(fleet_len) {
        let rng = StdRng::seed_from_u64(config.run.seed ^ (7_919 * (i as u64 + 1)));
        let dark_rng = StdRng::seed_from_u64(config.run.seed ^ (104_729 * (i as u64 + 1)));
        tasks.push(tokio::spawn(darkness(
            proxy.control(),
            dark_rng,
            config.clone(),
            fault_end,
            shared.clone(),
        )));
        tasks.push(tokio::spawn(officer_loop(
            t.client(),
            units[i].id.clone(),
            ops.clone(),
            rng,
            config.pace_ms,
            fault_end,
            shared.clone(),
        )));
    }
    let (busy, busy_proxy) = &fleet[fleet_len];
    let resync_task = tokio::spawn(resync::measure(
        busy.client(),
        units[fleet_len].id.clone(),
        busy_proxy.control(),
        ops.clone(),
        cluster_https(cluster)?,
        config.resync.clone(),
        StdRng::seed_from_u64(config.run.seed ^ 0x5EED),
        shared.clone(),
    ));
    let mut harness_error = None;
    for t in tasks {
        match t.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                harness_error.get_or_insert(e);
            }
            Err(e) => {
                harness_error.get_or_insert(anyhow::anyhow!("a fleet task panicked: {e}"));
            }
        }
    }
    // Every link of the fleet lit (the resync unit's link is its own task's).
    for (_, proxy) in &fleet[..fleet_len] {
        proxy.set_blackhole(false);
    }
    let resync = resync_task.await.context("the resync task panicked")??;
    if let Some(e) = harness_error {
        return Err(e);
    }
    cluster.check_alive()?;
    {
        let j = journal(&shared);
        println!(
            "fault phase over: {} dispatches, {} statuses and reports acknowledged by the terminals ({} refused), {} dark periods ({} s dark in all, longest {} ms); all links lit",
            j.dispatches,
            j.acked.len(),
            j.refused.len(),
            j.dark_periods,
            j.dark_ms_total / 1000,
            j.dark_ms_longest
        );
    }
    println!("{}", resync.human());

    // Quiet phase: every acknowledged entry on the node's card and the central's.
    let quiet_started = Instant::now();
    let acked = journal(&shared).acked.clone();
    let mut by_card: BTreeMap<String, Vec<Acked>> = BTreeMap::new();
    for e in &acked {
        by_card
            .entry(e.card_id.clone())
            .or_default()
            .push(e.clone());
    }
    let deadline = quiet_started + Duration::from_millis(config.quiet_deadline_ms);
    let mut pending: Vec<String> = by_card.keys().cloned().collect();
    let mut quiet_ms = None;
    loop {
        let mut still = Vec::new();
        for card_id in &pending {
            let (node, central) = copies(cluster, &ops, card_id).await;
            let mut t = Tally::default();
            for e in &by_card[card_id] {
                t.add(e, node.as_ref(), central.as_ref());
            }
            if t.lost > 0 {
                still.push(card_id.clone());
            }
        }
        pending = still;
        if pending.is_empty() {
            quiet_ms = Some(quiet_started.elapsed().as_millis() as u64);
            break;
        }
        if Instant::now() >= deadline {
            break;
        }
        cluster.check_alive()?;
        tokio::time::sleep(Duration::from_millis(POLL_MS * 2)).await;
    }
    // The final count over every card, duplicates included.
    let mut tally = Tally::default();
    for (card_id, entries) in &by_card {
        let (node, central) = copies(cluster, &ops, card_id).await;
        for e in entries {
            tally.add(e, node.as_ref(), central.as_ref());
        }
    }
    match quiet_ms {
        Some(ms) => println!(
            "quiet phase: every acknowledged status and report on its card at the node and the central {ms} ms after the links healed ({} entries on {} cards; lost {}, duplicated {})",
            tally.checked,
            by_card.len(),
            tally.lost,
            tally.duplicated
        ),
        None => {
            println!(
                "quiet phase: NOT converged within {} ms: {} of {} entries missing ({} on the node, {} at the central); duplicated {}",
                config.quiet_deadline_ms,
                tally.lost,
                tally.checked,
                tally.missing_on_node,
                tally.missing_at_central,
                tally.duplicated
            );
            for e in &tally.examples {
                println!("  missing: {e}");
            }
        }
    }
    let journal = std::mem::take(&mut *journal(&shared));
    Ok(Outcome {
        journal,
        quiet_ms,
        tally,
        resync,
    })
}

/// The card's copy on the node and at the central (`None` where it is not, or not readable).
async fn copies(
    cluster: &Cluster,
    ops: &Operators,
    card_id: &str,
) -> (Option<serde_json::Value>, Option<serde_json::Value>) {
    let node = ops.card(card_id).await.ok().flatten();
    let central = cluster.central.card("AST", card_id).await.ok().flatten();
    (node, central)
}

/// An HTTPS client trusting the run's CA (photos are not JSON, so not through `client::Api`).
fn cluster_https(cluster: &Cluster) -> anyhow::Result<reqwest::Client> {
    let ca = PathBuf::from(cluster.scratch_path())
        .join("ca")
        .join("ca.crt");
    client::http_client_trusting(Some(&ca))
}

/// A terminal's link through the fault phase: lit, dark, lit, … on the seeded schedule; lit at
/// the end.
async fn darkness(
    proxy: ProxyControl,
    mut rng: StdRng,
    config: FieldConfig,
    fault_end: Instant,
    shared: Shared,
) -> anyhow::Result<()> {
    let left = || fault_end.saturating_duration_since(Instant::now());
    loop {
        let lit = Duration::from_millis(rng.gen_range(config.lit_ms.0..=config.lit_ms.1));
        tokio::time::sleep(lit.min(left())).await;
        if left().is_zero() {
            break;
        }
        let dark_ms = if rng.gen_range(0..1000) < config.long_dark_per_mille {
            config.long_dark_ms
        } else {
            rng.gen_range(config.dark_ms.0..=config.dark_ms.1)
        };
        let dark = Duration::from_millis(dark_ms).min(left());
        proxy.set_blackhole(true);
        tokio::time::sleep(dark).await;
        proxy.set_blackhole(false);
        let mut j = journal(&shared);
        j.dark_periods += 1;
        j.dark_ms_total += dark.as_millis() as u64;
        j.dark_ms_longest = j.dark_ms_longest.max(dark.as_millis() as u64);
    }
    proxy.set_blackhole(false);
    Ok(())
}

/// A pause at the officer's pace, during which the car reports where it is.
async fn pace(
    t: &terminal::Client,
    rng: &mut StdRng,
    pace_ms: (u64, u64),
    step: &mut u64,
) -> anyhow::Result<()> {
    tokio::time::sleep(Duration::from_millis(rng.gen_range(pace_ms.0..=pace_ms.1))).await;
    *step += 1;
    t.position(terminal::fix(now_ms(), (51.10, 71.40), *step))
        .await?;
    Ok(())
}

/// Records what the terminal answered.
fn note(shared: &Shared, written: Written) {
    let mut j = journal(shared);
    match written {
        Written::Entry(entry) => match Acked::from_entry(&entry) {
            Some(a) => j.acked.push(a),
            None => j.refused.push(format!("unreadable entry {entry}")),
        },
        Written::Refused(why) => j.refused.push(why),
    }
}

/// One unit's shift in the fault phase: the dispatcher sends it to a card, the officer waits for
/// the assignment on the terminal and works the card, then the next card once the node shows the
/// unit cleared.
async fn officer_loop(
    t: terminal::Client,
    unit: String,
    ops: Operators,
    mut rng: StdRng,
    pace_ms: (u64, u64),
    fault_end: Instant,
    shared: Shared,
) -> anyhow::Result<()> {
    let over = || Instant::now() >= fault_end;
    let mut step = 0u64;
    let mut seq = 0u64;
    while !over() {
        seq += 1;
        let card = ops.create_sent(&mut rng, seq).await?;
        // The unit is free once the node applied its last `cleared`; until then the node
        // refuses the dispatch as busy.
        let mut sent = false;
        while !over() {
            if ops.dispatch(&card, &unit).await? {
                sent = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(POLL_MS)).await;
        }
        if !sent {
            break;
        }
        let dispatched = Instant::now();
        journal(&shared).dispatches += 1;
        let mut delivered = false;
        while !over() {
            if t.has_assignment(&card).await {
                delivered = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(POLL_MS)).await;
        }
        if !delivered {
            break;
        }
        journal(&shared).pack_latency.push(dispatched.elapsed());
        let mut statuses = vec!["acknowledged", "en_route", "on_scene"];
        if rng.gen_range(0..1000) < BACKUP_PER_MILLE {
            statuses.push("need_backup");
        }
        for status in statuses {
            if over() {
                return Ok(());
            }
            pace(&t, &mut rng, pace_ms, &mut step).await?;
            note(&shared, t.status(&card, status).await?);
        }
        let mut photos = Vec::new();
        if rng.gen_range(0..1000) < PHOTO_PER_MILLE {
            let bytes = rng.gen_range(PHOTO_BYTES_MIN..=PHOTO_BYTES_MAX);
            photos.push(t.photo(terminal::photo_bytes(&mut rng, bytes)).await?);
        }
        pace(&t, &mut rng, pace_ms, &mut step).await?;
        if over() {
            return Ok(());
        }
        note(
            &shared,
            t.report(&card, terminal::patrol_report(seq, &photos))
                .await?,
        );
        pace(&t, &mut rng, pace_ms, &mut step).await?;
        if over() {
            return Ok(());
        }
        note(&shared, t.status(&card, "cleared").await?);
    }
    Ok(())
}
