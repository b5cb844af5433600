//! A real replication cluster for the chaos scenarios (`chaos partition`, `chaos flap`,
//! `chaos lossy-link`): the `central` and one `node` per region as supervised child processes,
//! replicating over QUIC with mutual TLS, each region dialling its own in-process UDP [`Proxy`]
//! in front of the central's QUIC port so faults are per region.
//!
//! - [`setup`] provisions a fresh CA and bundles with the real `provisioning` binary and starts
//!   the processes;
//! - [`sides`] drives a node and the central over their REST APIs only;
//! - [`convergence`] holds what was acknowledged and compares every card on both sides.
//!
//! This module holds the settings and the waiting: always on a condition polled over HTTP with a
//! deadline, failing the run as a harness error when a child dies on its own.
//!
//! [`Proxy`]: crate::proxy::Proxy

mod convergence;
mod setup;
mod sides;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::Value;

pub(crate) use convergence::{convergence_json, print_problems, Convergence, Expected, Verdict};
pub(crate) use sides::{CentralSide, NodeSide, Operators};

use crate::process::Processes;
use crate::proxy::{Impairment, ProxyHandle};
use crate::report::{self, Report};

/// Pause between two polls of a condition (arrival, link state, convergence).
pub(crate) const POLL_INTERVAL_MS: u64 = 100;
/// How long a provisioning command may run.
const PROVISIONING_DEADLINE_MS: u64 = 30_000;
/// Password of the central's `admin` (≥ 10 characters).
const CENTRAL_ADMIN_PASSWORD: &str = "sim-central-admin-102";
/// The QUIC idle timeout both sides use (`provisioning::tls::QUIC_IDLE_TIMEOUT_S`). The
/// replication session's own `idle_timeout_ms` (20 s in `sync::protocol`) usually closes a
/// black-holed link first; past both, the node is in its reconnect backoff. The harness does not
/// link the provisioning crate, so the value is restated here.
pub(crate) const QUIC_IDLE_TIMEOUT_MS: u64 = 30_000;

/// Arguments both replication commands take.
#[derive(clap::Args, Debug)]
pub struct ClusterArgs {
    /// Short run (≤ 60 s) for CI.
    #[arg(long)]
    pub quick: bool,
    /// RNG seed (default: random, printed at the start).
    #[arg(long)]
    pub seed: Option<u64>,
    /// The node binary (default: next to this executable).
    #[arg(long)]
    pub node_bin: Option<PathBuf>,
    /// The central binary (default: next to this executable).
    #[arg(long)]
    pub central_bin: Option<PathBuf>,
    /// The provisioning binary (default: next to this executable).
    #[arg(long)]
    pub provisioning_bin: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct Binaries {
    pub node: PathBuf,
    pub central: PathBuf,
    pub provisioning: PathBuf,
}

/// What every cluster scenario runs with: its seed, its length, the binaries.
#[derive(Debug, Clone)]
pub struct Run {
    pub seed: u64,
    pub quick: bool,
    pub bins: Binaries,
}

impl ClusterArgs {
    /// The run's settings for `seed`, the binaries checked to exist.
    pub fn run(&self, seed: u64) -> anyhow::Result<Run> {
        Ok(Run {
            seed,
            quick: self.quick,
            bins: self.binaries()?,
        })
    }

    /// The binaries, each defaulting to the directory of the running `simulations` executable
    /// (`<target>/<profile>/`), checked to exist.
    pub fn binaries(&self) -> anyhow::Result<Binaries> {
        let exe = std::env::current_exe().context("cannot find the running executable")?;
        let dir = exe
            .parent()
            .context("the running executable has no directory")?
            .to_path_buf();
        let pick = |given: &Option<PathBuf>, name: &str| -> anyhow::Result<PathBuf> {
            let path = given.clone().unwrap_or_else(|| dir.join(name));
            if !path.is_file() {
                bail!(
                    "{name} binary {} not found; build it with `cargo build -p {name}` (same profile as simulations) or pass --{name}-bin PATH",
                    path.display()
                );
            }
            Ok(path)
        };
        Ok(Binaries {
            node: pick(&self.node_bin, "node")?,
            central: pick(&self.central_bin, "central")?,
            provisioning: pick(&self.provisioning_bin, "provisioning")?,
        })
    }
}

pub(crate) struct RegionPlan {
    pub(crate) id: &'static str,
    pub(crate) name_kk: &'static str,
    pub(crate) name_ru: &'static str,
    pub(crate) impairment: Impairment,
}

pub(crate) const AST: RegionPlan = RegionPlan {
    id: "AST",
    name_kk: "Астана қаласы ПД",
    name_ru: "ДП города Астаны",
    impairment: Impairment::NONE,
};
pub(crate) const ALM: RegionPlan = RegionPlan {
    id: "ALM",
    name_kk: "Алматы қаласы ПД",
    name_ru: "ДП города Алматы",
    impairment: Impairment::NONE,
};

/// A provisioned, running central with its nodes, each behind its own proxy.
pub(crate) struct Cluster {
    // Dropped first: the children die before the proxies and the scratch dir go away.
    pub(super) children: Processes,
    pub(crate) proxies: BTreeMap<String, ProxyHandle>,
    pub(crate) nodes: BTreeMap<String, NodeSide>,
    pub(crate) central: CentralSide,
    pub(crate) scratch: Option<tempfile::TempDir>,
    pub(super) bins: Binaries,
    /// Each node's listen address, kept when it is started again.
    pub(super) node_listen: BTreeMap<String, String>,
    pub(super) node_overlay: bool,
}

/// The supervisor's name of a region's node process.
fn node_name(region: &str) -> String {
    format!("node {region}")
}

impl Cluster {
    pub(crate) fn node(&self, region: &str) -> &NodeSide {
        &self.nodes[region]
    }

    /// When the node process of `region` was spawned.
    pub(crate) fn node_spawned(&self, region: &str) -> Option<Instant> {
        self.children.get(&node_name(region)).map(|p| p.spawned())
    }

    /// The pid of the node process of `region`.
    pub(crate) fn node_pid(&self, region: &str) -> Option<u32> {
        self.children.get(&node_name(region)).map(|p| p.pid())
    }

    /// The scratch directory every file of the run lives in.
    pub(crate) fn dir(&self) -> &std::path::Path {
        self.scratch
            .as_ref()
            .map(|s| s.path())
            .unwrap_or(std::path::Path::new("."))
    }

    /// Forgets the node process of `region` after it was killed (reaping it).
    pub(crate) async fn forget_node(&mut self, region: &str) -> anyhow::Result<()> {
        self.children.kill_and_remove(&node_name(region)).await?;
        Ok(())
    }

    /// A harness failure when a child died on its own.
    pub(crate) fn check_alive(&self) -> anyhow::Result<()> {
        self.children.check_running()
    }

    /// Runs `probe` every `poll_ms` until it says done or `deadline_ms` after `since` passes,
    /// failing if a child dies meanwhile: the ms from `since` to the end of the first probe that
    /// said done (`None` at the deadline), and what the last probe saw.
    async fn poll<T, F, Fut>(
        &self,
        since: Instant,
        deadline_ms: u64,
        poll_ms: u64,
        mut probe: F,
    ) -> anyhow::Result<(Option<u64>, T)>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = (bool, T)>,
    {
        let deadline = since + Duration::from_millis(deadline_ms);
        loop {
            let (done, seen) = probe().await;
            if done {
                return Ok((Some(since.elapsed().as_millis() as u64), seen));
            }
            if Instant::now() >= deadline {
                return Ok((None, seen));
            }
            self.check_alive()?;
            tokio::time::sleep(Duration::from_millis(poll_ms)).await;
        }
    }

    /// [`Cluster::poll`] every [`POLL_INTERVAL_MS`] from now, for a probe that only says done.
    async fn poll_until<F, Fut>(
        &self,
        deadline_ms: u64,
        mut probe: F,
    ) -> anyhow::Result<Option<u64>>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = bool>,
    {
        let probe = || {
            let done = probe();
            async move { (done.await, ()) }
        };
        let (ms, ()) = self
            .poll(Instant::now(), deadline_ms, POLL_INTERVAL_MS, probe)
            .await?;
        Ok(ms)
    }

    /// Polls `/api/v1/regions` until `region` is (dis)connected; the elapsed ms, or `None` at
    /// the deadline.
    pub(crate) async fn await_link(
        &self,
        region: &str,
        connected: bool,
        deadline_ms: u64,
    ) -> anyhow::Result<Option<u64>> {
        let central = &self.central;
        self.poll_until(deadline_ms, || async move {
            let links = central.connected().await;
            links.is_ok_and(|l| l.get(region).copied().unwrap_or(false) == connected)
        })
        .await
    }

    /// Polls until the central's national queue for `region` holds every id of `ids`; the
    /// elapsed ms, or `None` at the deadline.
    pub(crate) async fn await_at_central(
        &self,
        region: &str,
        ids: &[String],
        deadline_ms: u64,
    ) -> anyhow::Result<Option<u64>> {
        let central = &self.central;
        self.poll_until(deadline_ms, || async move {
            let listed = central.open_card_ids(region).await;
            listed.is_ok_and(|listed| {
                let listed: BTreeSet<&String> = listed.iter().collect();
                ids.iter().all(|id| listed.contains(id))
            })
        })
        .await
    }

    /// Polls until the node of `region` holds every card of `ids`; the elapsed ms, or `None`
    /// at the deadline.
    pub(crate) async fn await_on_node(
        &self,
        region: &str,
        ids: &[String],
        deadline_ms: u64,
    ) -> anyhow::Result<Option<u64>> {
        let node = self.node(region);
        self.poll_until(deadline_ms, || async move {
            for id in ids {
                if !matches!(node.card(id).await, Ok(Some(_))) {
                    return false;
                }
            }
            true
        })
        .await
    }

    /// Polls until the node of `region` shows every `(card id, note text)` of `notes`; the
    /// elapsed ms, or `None` at the deadline.
    pub(crate) async fn await_notes_on_node(
        &self,
        region: &str,
        notes: &[(String, String)],
        deadline_ms: u64,
    ) -> anyhow::Result<Option<u64>> {
        let node = self.node(region);
        self.poll_until(deadline_ms, || async move {
            for (id, text) in notes {
                if !node.has_note(id, text).await {
                    return false;
                }
            }
            true
        })
        .await
    }

    /// Polls the convergence check until it holds; the elapsed ms and the last check.
    pub(crate) async fn await_convergence(
        &self,
        expected: &Expected,
        deadline_ms: u64,
    ) -> anyhow::Result<(Option<u64>, Convergence)> {
        self.await_convergence_since(expected, Instant::now(), deadline_ms, POLL_INTERVAL_MS)
            .await
    }

    /// Polls the convergence check every `poll_ms` until it holds or `deadline_ms` after `since`
    /// passes; the ms from `since` to the end of the first check that held, and the last check.
    pub(crate) async fn await_convergence_since(
        &self,
        expected: &Expected,
        since: Instant,
        deadline_ms: u64,
        poll_ms: u64,
    ) -> anyhow::Result<(Option<u64>, Convergence)> {
        let probe = || async move {
            let check = convergence::check_convergence(&self.nodes, &self.central, expected).await;
            (check.converged(), check)
        };
        self.poll(since, deadline_ms, poll_ms, probe).await
    }

    /// Ends a run named `name`: on `Ok(summary)` the scenario's `summary` fills the report and
    /// says whether the run passed, and the report is written with the run's length; on `Err` (a
    /// harness failure) no report is written. Either way the children are killed, and the logs
    /// printed and the scratch dir kept unless the run passed.
    pub(crate) async fn conclude<S>(
        self,
        name: &str,
        run_started: Instant,
        outcome: anyhow::Result<S>,
    ) -> anyhow::Result<bool>
    where
        S: FnOnce(&mut Report) -> bool,
    {
        let mut report = Report::new(name);
        match outcome {
            Ok(summary) => {
                let ok = summary(&mut report);
                report.detail("run_ms", run_started.elapsed().as_millis() as u64);
                self.finish(ok, &mut report).await;
                report.finish()?;
                Ok(ok)
            }
            Err(e) => {
                self.finish(false, &mut report).await;
                Err(e)
            }
        }
    }

    /// Kills the children; keeps the scratch dir (and prints the logs) when the run failed.
    async fn finish(mut self, ok: bool, report: &mut Report) {
        for (region, proxy) in &self.proxies {
            report.detail(
                &format!("proxy_{}", region.to_lowercase()),
                serde_json::to_value(proxy.stats()).unwrap_or(Value::Null),
            );
        }
        let exited = self.children.exited();
        if !exited.is_empty() {
            println!("children that exited on their own: {exited:?}");
            report.detail("exited_children", exited);
        }
        if !ok {
            self.children.print_log_tails();
        }
        self.children.kill_all().await;
        if let Some(scratch) = self.scratch.take() {
            if !ok {
                report::keep_for_inspection(scratch, "scratch dir and logs", Some(report));
            }
        }
    }

    /// The scratch dir's path, for the opening line of a run.
    pub(crate) fn scratch_path(&self) -> String {
        self.scratch
            .as_ref()
            .map(|s| s.path().display().to_string())
            .unwrap_or_default()
    }
}
