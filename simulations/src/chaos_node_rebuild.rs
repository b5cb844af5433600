//! `chaos node-rebuild`: a region's server dies with its disk. The real central and node AST
//! replicate while operators create cards; under that load the node and the hub are backed up
//! with `node backup` / `central backup` (online, through their control sockets); more cards
//! follow; then the node is SIGKILLed with a request in flight and its data directory deleted.
//! The region is rebuilt the way its installers would: the old certificates revoked and a new
//! bundle issued, `node restore` of the latest backup into a new data directory (which prints
//! the loss bound: the backup's point in time), then the node started on its new bundle, which
//! pulls from central every document central holds.
//!
//! Checked: every card central held when the node died is back on the node; every acknowledged
//! card is back unless it was acknowledged after the printed bound (only those may be lost, and
//! they are counted); the hub's backup restores and its audit chain verifies with
//! `central audit-verify`. RESULT `lost_acknowledged` and `loss_bound_s` (from the bound to the
//! crash).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::{bail, Context};
use rand::rngs::StdRng;
use rand::SeedableRng;
use tokio::process::Command;

use crate::cluster::{Cluster, ClusterArgs, Run, AST};
use crate::process;
use crate::report::Report;

pub const NAME: &str = "node-rebuild";

/// How long one backup, restore or verify command may run, in ms.
const COMMAND_DEADLINE_MS: u64 = 120_000;

#[derive(Debug, Clone)]
pub struct RebuildConfig {
    pub run: Run,
    /// Cards created before the backups.
    pub cards_before_count: usize,
    /// Cards acknowledged after the backups before the node is killed.
    pub cards_after_count: usize,
    /// Deadline for the first cards to reach the central, in ms.
    pub arrival_deadline_ms: u64,
    /// Deadline from the restart until everything central held is back on the node, in ms.
    pub rebuild_deadline_ms: u64,
}

impl RebuildConfig {
    pub fn new(args: &ClusterArgs, seed: u64) -> anyhow::Result<Self> {
        let run = args.run(seed)?;
        let quick = run.quick;
        Ok(Self {
            run,
            cards_before_count: if quick { 10 } else { 100 },
            cards_after_count: if quick { 15 } else { 200 },
            arrival_deadline_ms: 20_000,
            rebuild_deadline_ms: if quick { 30_000 } else { 120_000 },
        })
    }
}

/// Runs `chaos node-rebuild`; `Ok(false)` means an invariant was violated (the report is written).
pub async fn run(config: RebuildConfig) -> anyhow::Result<bool> {
    let run_started = Instant::now();
    let mut rng = StdRng::seed_from_u64(config.run.seed);
    let mut cluster = Cluster::start("node-rebuild-", &config.run, &[AST]).await?;
    println!(
        "central and node AST up in {} ms (scratch {})",
        run_started.elapsed().as_millis(),
        cluster.scratch_path()
    );
    let outcome = phases(&mut cluster, &config, &mut rng).await;
    let summary = outcome.map(|o| move |report: &mut Report| o.report(&config, report));
    cluster.conclude(NAME, run_started, summary).await
}

struct Outcome {
    acknowledged: usize,
    central_held: usize,
    lost: Vec<(String, i64)>,
    missing_from_central: Vec<String>,
    lost_before_bound: Vec<(String, i64)>,
    bound_start_ms: i64,
    killed_at_ms: i64,
    node_backup_ms: u64,
    central_backup_ms: u64,
    central_restore_ok: bool,
    restore_ms: u64,
    restart_ms: u64,
    rebuilt_ms: Option<u64>,
}

impl Outcome {
    fn ok(&self) -> bool {
        self.missing_from_central.is_empty()
            && self.lost_before_bound.is_empty()
            && self.central_restore_ok
            && self.rebuilt_ms.is_some()
    }

    fn report(&self, config: &RebuildConfig, report: &mut Report) -> bool {
        let ok = self.ok();
        report.kv("lost_acknowledged", self.lost.len() as u64);
        report.kv_f(
            "loss_bound_s",
            (self.killed_at_ms - self.bound_start_ms) as f64 / 1000.0,
            3,
        );
        report.kv("seed", config.run.seed.to_string());
        report.kv("acknowledged", self.acknowledged as u64);
        report.kv("central_held", self.central_held as u64);
        report.kv("rebuild_ms", self.rebuilt_ms);
        report.kv("node_backup_ms", self.node_backup_ms);
        report.kv("ok", ok);
        report.detail("config", format!("{config:?}"));
        report.detail("bound_start_ms", self.bound_start_ms);
        report.detail("killed_at_ms", self.killed_at_ms);
        report.detail("central_backup_ms", self.central_backup_ms);
        report.detail("central_restore_and_audit_ok", self.central_restore_ok);
        report.detail("restore_ms", self.restore_ms);
        report.detail("restart_ms", self.restart_ms);
        report.detail(
            "lost",
            self.lost
                .iter()
                .map(|(id, at)| format!("{id} acknowledged at {at}"))
                .collect::<Vec<_>>(),
        );
        report.detail("missing_from_central", self.missing_from_central.clone());
        report.detail(
            "lost_before_bound",
            self.lost_before_bound
                .iter()
                .map(|(id, at)| format!("{id} acknowledged at {at}"))
                .collect::<Vec<_>>(),
        );
        ok
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Runs one of the binaries to its end; its standard output.
async fn run_cli(name: &str, bin: &Path, args: &[&str]) -> anyhow::Result<String> {
    let mut command = Command::new(bin);
    command.args(args);
    let output = process::run_to_end(name, command, COMMAND_DEADLINE_MS).await?;
    let text = String::from_utf8_lossy(&output.stdout).to_string();
    for line in text.lines() {
        println!("  {name}: {line}");
    }
    Ok(text)
}

/// The backup file a `backup` command reported writing.
fn backup_path(output: &str) -> anyhow::Result<PathBuf> {
    output
        .lines()
        .find_map(|l| {
            let (_, rest) = l.split_once(" taken at ")?;
            let (_, rest) = rest.split_once(": ")?;
            let (path, _) = rest.split_once(" (")?;
            Some(PathBuf::from(path))
        })
        .context("the backup command did not name the file it wrote")
}

async fn phases(
    cluster: &mut Cluster,
    config: &RebuildConfig,
    rng: &mut StdRng,
) -> anyhow::Result<Outcome> {
    let dir = cluster.dir().to_path_buf();
    let bins = config.run.bins.clone();
    let p = |name: &str| dir.join(name).display().to_string();
    if cluster
        .await_link("AST", true, config.arrival_deadline_ms)
        .await?
        .is_none()
    {
        bail!(
            "AST did not connect to the central within {} ms",
            config.arrival_deadline_ms
        );
    }
    run_cli(
        "node backup-key",
        &bins.node,
        &["backup-key", "--out", &p("backup.key")],
    )
    .await?;

    // Phase 1: cards on a healthy link.
    let mut acked: Vec<(String, i64)> = Vec::new();
    let mut seq = 0u64;
    for _ in 0..config.cards_before_count {
        seq += 1;
        let id = cluster.node("AST").create_sent(rng, seq).await?;
        acked.push((id, now_ms()));
    }
    let first: Vec<String> = acked.iter().map(|(id, _)| id.clone()).collect();
    if cluster
        .await_at_central("AST", &first, config.arrival_deadline_ms)
        .await?
        .is_none()
    {
        bail!("phase 1: AST's cards did not reach the central on a healthy link");
    }
    println!("phase 1: {} cards at the central", first.len());

    // Phase 2: the node and the hub are backed up while an operator goes on creating cards;
    // more cards follow; the node is SIGKILLed with a request in flight.
    let pid = cluster
        .node_pid("AST")
        .context("the node of AST is not running")?;
    let backups_done = AtomicBool::new(false);
    let mut load_rng = StdRng::seed_from_u64(config.run.seed ^ 0xB4C_0FF);
    let node = cluster.node("AST");
    let load = async {
        let mut mine: Vec<(String, i64)> = Vec::new();
        let mut after = 0usize;
        let mut n = seq;
        let killed_at = loop {
            n += 1;
            if backups_done.load(Ordering::SeqCst) && after >= config.cards_after_count {
                // The crash, with this request in flight.
                let create = node.create_sent(&mut load_rng, n);
                let kill = async {
                    tokio::task::yield_now().await;
                    // SAFETY: kill(2) on the pid of the harness's own child.
                    unsafe {
                        libc::kill(pid as libc::pid_t, libc::SIGKILL);
                    }
                    now_ms()
                };
                let (created, at) = tokio::join!(create, kill);
                if let Ok(id) = created {
                    mine.push((id, now_ms()));
                }
                break at;
            }
            match node.create_sent(&mut load_rng, n).await {
                Ok(id) => {
                    mine.push((id, now_ms()));
                    if backups_done.load(Ordering::SeqCst) {
                        after += 1;
                    }
                }
                Err(e) => return Err(e.context("a card during the backups")),
            }
        };
        Ok::<_, anyhow::Error>((mine, killed_at))
    };
    let backups = async {
        let started = Instant::now();
        let node_out = run_cli(
            "node backup",
            &bins.node,
            &[
                "backup",
                "--data",
                &p("ast-data"),
                "--to",
                &p("backups"),
                "--key-file",
                &p("backup.key"),
            ],
        )
        .await;
        let node_ms = started.elapsed().as_millis() as u64;
        let started = Instant::now();
        let central_out = run_cli(
            "central backup",
            &bins.central,
            &[
                "backup",
                "--data",
                &p("central-data"),
                "--to",
                &p("backups"),
                "--key-file",
                &p("backup.key"),
            ],
        )
        .await;
        let central_ms = started.elapsed().as_millis() as u64;
        backups_done.store(true, Ordering::SeqCst);
        (node_out, node_ms, central_out, central_ms)
    };
    let (loaded, (node_out, node_backup_ms, central_out, central_backup_ms)) =
        tokio::join!(load, backups);
    let (more, killed_at_ms) = loaded?;
    acked.extend(more);
    let node_backup = backup_path(&node_out?)?;
    let central_backup = backup_path(&central_out?)?;
    println!(
        "phase 2: {} cards acknowledged in all; node backup {node_backup_ms} ms, hub backup {central_backup_ms} ms (both under load); node SIGKILLed",
        acked.len()
    );

    // What the hub held when the node died: all of it must come back.
    let central_held: BTreeSet<String> = cluster
        .central
        .open_card_ids("AST")
        .await
        .map_err(|e| anyhow::anyhow!("the hub's list of AST's cards: {e:?}"))?
        .into_iter()
        .collect();
    cluster.forget_node("AST").await?;
    std::fs::remove_dir_all(dir.join("ast-data")).context("deleting the node's data")?;

    // The installers re-provision the region, as for a server that may have been stolen: the old
    // certificates revoked, a new bundle for the new machine, the new revocation list given to
    // the hub (which applies it without a restart).
    let proxy_port = cluster.proxies["AST"].local_addr().port();
    run_cli(
        "provisioning revoke",
        &bins.provisioning,
        &[
            "revoke",
            "--ca",
            &p("ca"),
            "--region",
            "AST",
            "--reason",
            "the region's server died",
        ],
    )
    .await?;
    std::fs::rename(dir.join("ast"), dir.join("ast-revoked"))
        .context("setting the old bundle aside")?;
    run_cli(
        "provisioning add-region",
        &bins.provisioning,
        &[
            "add-region",
            "--ca",
            &p("ca"),
            "--id",
            AST.id,
            "--name-kk",
            AST.name_kk,
            "--name-ru",
            AST.name_ru,
            "--central",
            &format!("localhost:{proxy_port}"),
            "--web-ip",
            "127.0.0.1",
            "--out",
            &p("ast"),
        ],
    )
    .await?;
    std::fs::copy(
        dir.join("ca").join("crl.pem"),
        dir.join("central-bundle").join("crl.pem"),
    )
    .context("giving the hub the new revocation list")?;

    // Phase 3: rebuild from the latest backup and central.
    let started = Instant::now();
    let restored = run_cli(
        "node restore",
        &bins.node,
        &[
            "restore",
            "--bundle",
            &p("ast"),
            "--data",
            &p("ast-data"),
            "--from",
            &node_backup.display().to_string(),
            "--key-file",
            &p("backup.key"),
        ],
    )
    .await?;
    let restore_ms = started.elapsed().as_millis() as u64;
    let bound_start_ms: i64 = restored
        .lines()
        .find_map(|l| {
            let (_, rest) = l.split_once("taken_at_ms=")?;
            rest.split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()
        })
        .context("node restore printed no LOSS BOUND with taken_at_ms")?;
    let restart_ms = cluster.restart_node("AST").await?;
    let expected: Vec<String> = central_held
        .iter()
        .cloned()
        .chain(
            acked
                .iter()
                .filter(|(_, at)| *at < bound_start_ms)
                .map(|(id, _)| id.clone()),
        )
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let rebuilt_ms = cluster
        .await_on_node("AST", &expected, config.rebuild_deadline_ms)
        .await?;
    let rebuilt_ms = rebuilt_ms.map(|ms| ms + restore_ms + restart_ms);
    let node = cluster.node("AST");
    let mut present = BTreeMap::new();
    for id in acked.iter().map(|(id, _)| id).chain(central_held.iter()) {
        let here = matches!(node.card(id).await, Ok(Some(_)));
        present.insert(id.clone(), here);
    }
    let lost: Vec<(String, i64)> = acked
        .iter()
        .filter(|(id, _)| !present[id])
        .cloned()
        .collect();
    let lost_before_bound: Vec<(String, i64)> = lost
        .iter()
        .filter(|(_, at)| *at < bound_start_ms)
        .cloned()
        .collect();
    let missing_from_central: Vec<String> = central_held
        .iter()
        .filter(|id| !present[*id])
        .cloned()
        .collect();
    println!(
        "phase 3: restored in {restore_ms} ms, restarted in {restart_ms} ms, everything central held back after {rebuilt_ms:?} ms; lost {} acknowledged card(s), all after the bound: {}",
        lost.len(),
        lost_before_bound.is_empty()
    );

    // The hub's backup: restore it beside the running hub and verify its audit chain.
    let central_restore_ok = {
        let restored = run_cli(
            "central restore",
            &bins.central,
            &[
                "restore",
                "--data",
                &p("central-restored"),
                "--from",
                &central_backup.display().to_string(),
                "--key-file",
                &p("backup.key"),
            ],
        )
        .await;
        let audit = match &restored {
            Ok(_) => run_cli(
                "central audit-verify",
                &bins.central,
                &["audit-verify", "--data", &p("central-restored")],
            )
            .await
            .map(|out| out.contains("hash chain intact")),
            Err(e) => Err(anyhow::anyhow!("{e:#}")),
        };
        match audit {
            Ok(ok) => ok,
            Err(e) => {
                println!("the hub's backup did not restore and verify: {e:#}");
                false
            }
        }
    };
    Ok(Outcome {
        acknowledged: acked.len(),
        central_held: central_held.len(),
        lost,
        missing_from_central,
        lost_before_bound,
        bound_start_ms,
        killed_at_ms,
        node_backup_ms,
        central_backup_ms,
        central_restore_ok,
        restore_ms,
        restart_ms,
        rebuilt_ms,
    })
}
