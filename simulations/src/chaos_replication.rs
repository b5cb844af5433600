//! `chaos partition` and `chaos lossy-link`: real `central` and `node` processes replicating
//! over QUIC with mutual TLS through the in-process UDP impairment proxy, then a check that
//! every card converged on both sides.
//!
//! Each run provisions a fresh CA and bundles with the real `provisioning` binary, starts the
//! central and one node per region (each region dialling its own [`Proxy`] in front of the
//! central's QUIC port, so faults are per region), drives them over their HTTP APIs only, and
//! compares every card as its node returns it with the card as the central returns it:
//! same status, same unit ids, the same multiset of timeline events `(at, by, kind, text)`, every
//! note that either side acknowledged present on both, no event twice, the same open-card lists.
//!
//! - **partition**: two regions (AST, ALM) replicate; AST's link is black-holed while AST keeps
//!   creating cards, dispatching and writing notes, HQ writes notes on the same AST cards, and
//!   ALM keeps replicating (checked); then the link heals and everything must converge.
//! - **lossy-link**: one region behind a link with loss and delay; the node creates cards, both
//!   sides write notes, and everything must converge.
//!
//! Waiting is always on a condition polled over HTTP with an overall deadline. The only timed
//! pause is the partition's minimum length, which is the fault schedule itself.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::OpenOptions;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use tokio::process::{Child, Command};

use crate::client::{self, CallError};
use crate::node_proc;
use crate::proxy::{Impairment, Proxy, ProxyConfig, ProxyHandle};
use crate::report::{self, Report};

pub const PARTITION_NAME: &str = "partition";
pub const LOSSY_LINK_NAME: &str = "lossy-link";

/// How long a child may take to answer `/healthz` after it was started.
const HEALTH_DEADLINE_MS: u64 = 30_000;
/// Pause between two polls of a condition (health, arrival, convergence).
pub(crate) const POLL_INTERVAL_MS: u64 = 100;
/// How long a provisioning command may run.
const PROVISIONING_DEADLINE_MS: u64 = 30_000;
/// Password of the central's `admin` (≥ 10 characters).
const CENTRAL_ADMIN_PASSWORD: &str = "sim-central-admin-102";
const CALL_TAKER_LOGIN: &str = "sim_ct";
const DISPATCHER_LOGIN: &str = "sim_disp";
/// Lines of each child's log printed when a run fails.
const LOG_TAIL_LINES_SHOWN: usize = 40;
/// Problems of a failed convergence check kept in the report and printed.
const PROBLEMS_SHOWN_MAX: usize = 20;
/// The QUIC idle timeout both sides use (`provisioning::tls::QUIC_IDLE_TIMEOUT_S`). The
/// replication session's own `idle_timeout_ms` (20 s in `sync::protocol`) usually closes a
/// black-holed link first; past both, the node is in its reconnect backoff. The harness does not
/// link the provisioning crate, so the value is restated here.
pub(crate) const QUIC_IDLE_TIMEOUT_MS: u64 = 30_000;
/// Margin over the idle timeout for the central to notice and publish the disconnection.
const DISCONNECT_MARGIN_MS: u64 = 15_000;

// ---------------------------------------------------------------------------------------------
// Settings

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

impl ClusterArgs {
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

#[derive(Debug, Clone)]
pub struct PartitionConfig {
    pub seed: u64,
    pub quick: bool,
    pub bins: Binaries,
    /// Cards each region creates before the partition.
    pub cards_before_count: usize,
    /// Cards each region creates during the partition.
    pub cards_during_count: usize,
    /// The partition lasts at least this long (the fault schedule, not a wait).
    pub partition_ms_min: u64,
    /// Wait until the central reports AST disconnected before healing (needs the QUIC idle
    /// timeout to pass, so off with --quick where it is only recorded).
    pub require_disconnect: bool,
    /// Deadline for cards and notes to arrive on the healthy link.
    pub arrival_deadline_ms: u64,
    /// Deadline from the heal until everything converged.
    pub converge_deadline_ms: u64,
}

impl PartitionConfig {
    pub fn new(args: &ClusterArgs, seed: u64) -> anyhow::Result<Self> {
        let quick = args.quick;
        Ok(Self {
            seed,
            quick,
            bins: args.binaries()?,
            cards_before_count: if quick { 6 } else { 20 },
            cards_during_count: if quick { 4 } else { 20 },
            // Full runs outlast the QUIC idle timeout, so the heal goes through a reconnect.
            partition_ms_min: if quick {
                5_000
            } else {
                QUIC_IDLE_TIMEOUT_MS + 5_000
            },
            require_disconnect: !quick,
            arrival_deadline_ms: 20_000,
            converge_deadline_ms: if quick { 25_000 } else { 120_000 },
        })
    }
}

#[derive(Debug, Clone)]
pub struct LossyLinkConfig {
    pub seed: u64,
    pub quick: bool,
    pub bins: Binaries,
    pub impairment: Impairment,
    pub cards_count: usize,
    /// Deadline, from the node's start, for everything: the first connection over the impaired
    /// link (its handshake alone may take many seconds at 30 % loss), the cards reaching the
    /// central, the notes, and convergence.
    pub budget_ms: u64,
}

impl LossyLinkConfig {
    pub fn new(
        args: &ClusterArgs,
        seed: u64,
        loss_pct: f64,
        delay_ms: u64,
    ) -> anyhow::Result<Self> {
        let impairment = Impairment {
            loss_pct,
            delay_ms,
            ..Impairment::NONE
        };
        impairment.validate()?;
        let quick = args.quick;
        Ok(Self {
            seed,
            quick,
            bins: args.binaries()?,
            impairment,
            cards_count: if quick { 20 } else { 100 },
            budget_ms: if quick { 50_000 } else { 150_000 },
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Child processes

struct ChildProc {
    name: String,
    spawned: Instant,
    child: Child,
    log_path: PathBuf,
    base_url: String,
}

/// Every child of a run. Dropping it SIGKILLs them all, so an error or a panic anywhere in the
/// run leaves no process behind.
struct Children {
    procs: Vec<ChildProc>,
    /// Health checks; trusts the run's CA once it exists (the web listeners speak HTTPS).
    health: reqwest::Client,
}

impl Children {
    /// Spawns `bin args…` with stdout and stderr appended to `log_path`, then waits until
    /// `base_url/healthz` answers 200 (deadline [`HEALTH_DEADLINE_MS`]).
    async fn start(
        &mut self,
        name: &str,
        mut command: Command,
        log_path: PathBuf,
        base_url: String,
    ) -> anyhow::Result<usize> {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .with_context(|| format!("cannot open {}", log_path.display()))?;
        let log_err = log.try_clone().context("cannot duplicate a log handle")?;
        for var in [
            "NODE_CONFIG",
            "NODE_DATA",
            "NODE_BUNDLE",
            "CENTRAL_CONFIG",
            "CENTRAL_DATA",
            "CENTRAL_BUNDLE",
        ] {
            command.env_remove(var);
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {name}"))?;
        self.procs.push(ChildProc {
            name: name.to_string(),
            spawned: Instant::now(),
            child,
            log_path,
            base_url,
        });
        let index = self.procs.len() - 1;
        self.wait_healthy(index).await?;
        Ok(index)
    }

    async fn wait_healthy(&mut self, index: usize) -> anyhow::Result<()> {
        let http = self.health.clone();
        let proc = &mut self.procs[index];
        let url = format!("{}/healthz", proc.base_url);
        let deadline = Instant::now() + Duration::from_millis(HEALTH_DEADLINE_MS);
        loop {
            if let Some(status) = proc.child.try_wait().context("cannot poll a child")? {
                bail!(
                    "{} exited with {status} before it became healthy; log {}:\n{}",
                    proc.name,
                    proc.log_path.display(),
                    node_proc::log_tail(&proc.log_path)
                );
            }
            if let Ok(answer) = http.get(&url).send().await {
                if answer.status().as_u16() == 200 {
                    return Ok(());
                }
            }
            if Instant::now() >= deadline {
                bail!(
                    "{} not healthy within {HEALTH_DEADLINE_MS} ms; log {}:\n{}",
                    proc.name,
                    proc.log_path.display(),
                    node_proc::log_tail(&proc.log_path)
                );
            }
            tokio::time::sleep(Duration::from_millis(POLL_INTERVAL_MS)).await;
        }
    }

    /// Names of children that exited on their own.
    fn exited(&mut self) -> Vec<String> {
        self.procs
            .iter_mut()
            .filter_map(|p| match p.child.try_wait() {
                Ok(Some(status)) => Some(format!("{} ({status})", p.name)),
                _ => None,
            })
            .collect()
    }

    /// The tail of every child's log, for a failed run.
    fn print_log_tails(&self) {
        for p in &self.procs {
            let tail = node_proc::log_tail(&p.log_path);
            let lines: Vec<&str> = tail.lines().collect();
            let from = lines.len().saturating_sub(LOG_TAIL_LINES_SHOWN);
            println!("--- last lines of {} ({}):", p.name, p.log_path.display());
            for line in &lines[from..] {
                println!("    {line}");
            }
        }
    }

    /// SIGKILLs and reaps every child.
    async fn kill_all(&mut self) {
        for p in &mut self.procs {
            let _ = p.child.start_kill();
            let _ = p.child.wait().await;
        }
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        for p in &mut self.procs {
            let _ = p.child.start_kill();
        }
    }
}

fn free_tcp_port() -> anyhow::Result<u16> {
    let socket = std::net::TcpListener::bind("127.0.0.1:0").context("cannot find a free port")?;
    Ok(socket.local_addr()?.port())
}

fn free_udp_port() -> anyhow::Result<u16> {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").context("cannot find a free port")?;
    Ok(socket.local_addr()?.port())
}

async fn provision(bins: &Binaries, args: &[&str]) -> anyhow::Result<()> {
    let mut command = Command::new(&bins.provisioning);
    command.args(args).stdin(Stdio::null()).kill_on_drop(true);
    let output = tokio::time::timeout(
        Duration::from_millis(PROVISIONING_DEADLINE_MS),
        command.output(),
    )
    .await
    .with_context(|| format!("provisioning {args:?} took over {PROVISIONING_DEADLINE_MS} ms"))?
    .with_context(|| format!("cannot run {}", bins.provisioning.display()))?;
    if !output.status.success() {
        bail!(
            "provisioning {args:?} failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// HTTP

/// A JSON API (node or central) with one bearer token.
#[derive(Clone)]
pub(crate) struct Rest {
    http: reqwest::Client,
    base_url: String,
}

impl Rest {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        expect: &[u16],
    ) -> Result<Value, CallError> {
        let mut request = self
            .http
            .request(method, format!("{}{}", self.base_url, path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let answer = request
            .send()
            .await
            .map_err(|e| CallError::Transport(e.to_string()))?;
        let status = answer.status().as_u16();
        let bytes = answer
            .bytes()
            .await
            .map_err(|e| CallError::Transport(e.to_string()))?;
        if !expect.contains(&status) {
            let body = String::from_utf8_lossy(&bytes).chars().take(500).collect();
            return Err(CallError::Status { status, body });
        }
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes).map_err(|e| CallError::Status {
            status,
            body: format!("answer is not JSON ({e})"),
        })
    }

    pub(crate) async fn get(&self, path: &str, token: &str) -> Result<Value, CallError> {
        self.call(reqwest::Method::GET, path, Some(token), None, &[200])
            .await
    }

    /// `Ok(None)` for 404.
    async fn get_opt(&self, path: &str, token: &str) -> Result<Option<Value>, CallError> {
        match self.get(path, token).await {
            Ok(v) => Ok(Some(v)),
            Err(CallError::Status { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn post(
        &self,
        path: &str,
        token: &str,
        body: &Value,
        expect: &[u16],
    ) -> anyhow::Result<Value> {
        self.call(reqwest::Method::POST, path, Some(token), Some(body), expect)
            .await
            .with_context(|| format!("POST {}{path}", self.base_url))
    }

    /// The same process through the shared client helpers (logins, accounts, metrics).
    pub(crate) fn api(&self) -> client::Api {
        client::Api::new(self.http.clone(), &self.base_url)
    }

    async fn login(&self, login: &str, password: &str) -> anyhow::Result<String> {
        self.api()
            .login(login, password)
            .await
            .with_context(|| format!("at {}", self.base_url))
    }
}

/// A regional node as the harness drives it.
pub(crate) struct NodeSide {
    region: String,
    rest: Rest,
    call_taker: String,
    dispatcher: String,
    categories: Vec<String>,
    /// Units still free to dispatch, in the node's order.
    free_units: Vec<String>,
}

impl NodeSide {
    async fn open(region: &str, rest: Rest, admin_password: &str) -> anyhow::Result<Self> {
        let admin = rest.login("admin", admin_password).await?;
        for (login, role) in [
            (CALL_TAKER_LOGIN, "call_taker"),
            (DISPATCHER_LOGIN, "dispatcher"),
        ] {
            rest.api()
                .create_account(
                    &admin,
                    login,
                    "Simulation Operator",
                    client::OPERATOR_PASSWORD,
                    &[role],
                )
                .await
                .with_context(|| format!("on {region}"))?;
        }
        let call_taker = rest
            .login(CALL_TAKER_LOGIN, client::OPERATOR_PASSWORD)
            .await?;
        let dispatcher = rest
            .login(DISPATCHER_LOGIN, client::OPERATOR_PASSWORD)
            .await?;
        let reference = rest
            .get("/api/v1/reference", &call_taker)
            .await
            .context("cannot read the node's reference")?;
        let categories: Vec<String> = reference["categories"]
            .as_array()
            .map(|list| {
                list.iter()
                    .filter_map(|c| c["code"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        if categories.is_empty() {
            bail!("{region}: /api/v1/reference lists no categories");
        }
        let units = rest
            .get("/api/v1/units", &dispatcher)
            .await
            .context("cannot read the node's units")?;
        let free_units = units
            .as_array()
            .map(|list| {
                list.iter()
                    .filter(|u| u["status"] == "available" && u["kind"] == "patrol")
                    .filter_map(|u| u["id"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self {
            region: region.to_string(),
            rest,
            call_taker,
            dispatcher,
            categories,
            free_units,
        })
    }

    /// Creates a card and sends it for processing; returns its id.
    pub(crate) async fn create_sent(&self, rng: &mut StdRng, seq: u64) -> anyhow::Result<String> {
        let body = client::card_body(rng, &self.categories, seq);
        let card = self
            .rest
            .post("/api/v1/cards", &self.call_taker, &body, &[201])
            .await
            .with_context(|| format!("{}: cannot create a card", self.region))?;
        let id = card["id"]
            .as_str()
            .with_context(|| format!("201 without an id: {card}"))?
            .to_string();
        self.rest
            .post(
                &format!("/api/v1/cards/{id}/send-for-processing"),
                &self.call_taker,
                &json!({}),
                &[200],
            )
            .await?;
        Ok(id)
    }

    pub(crate) async fn note(&self, id: &str, text: &str) -> anyhow::Result<()> {
        self.rest
            .post(
                &format!("/api/v1/cards/{id}/notes"),
                &self.dispatcher,
                &json!({ "text": text }),
                &[200],
            )
            .await?;
        Ok(())
    }

    /// Dispatches the next free patrol; `None` when none is left.
    pub(crate) async fn dispatch(&mut self, id: &str) -> anyhow::Result<Option<String>> {
        let Some(unit) = self.free_units.first().cloned() else {
            return Ok(None);
        };
        self.rest
            .post(
                &format!("/api/v1/cards/{id}/dispatch"),
                &self.dispatcher,
                &json!({ "unit_id": unit }),
                &[200],
            )
            .await?;
        self.free_units.remove(0);
        Ok(Some(unit))
    }

    /// Closes a card with the patrol's report; its units are free again.
    pub(crate) async fn close(&mut self, id: &str, report: &str) -> anyhow::Result<()> {
        let card = self
            .rest
            .post(
                &format!("/api/v1/cards/{id}/close"),
                &self.dispatcher,
                &json!({ "report": report }),
                &[200],
            )
            .await?;
        for unit in unit_ids(&card) {
            if !self.free_units.contains(&unit) {
                self.free_units.push(unit);
            }
        }
        Ok(())
    }

    async fn card(&self, id: &str) -> Result<Option<Value>, CallError> {
        self.rest
            .get_opt(&format!("/api/v1/cards/{id}"), &self.call_taker)
            .await
    }

    /// The node's `/metrics` text.
    pub(crate) async fn metrics(&self) -> Result<String, CallError> {
        self.rest.api().metrics().await
    }

    async fn open_card_ids(&self) -> Result<Vec<String>, CallError> {
        let list = self.rest.get("/api/v1/cards", &self.call_taker).await?;
        Ok(ids_of(&list))
    }
}

/// The central as the harness drives it.
pub(crate) struct CentralSide {
    rest: Rest,
    token: String,
}

impl CentralSide {
    async fn card(&self, region: &str, id: &str) -> Result<Option<Value>, CallError> {
        self.rest
            .get_opt(&format!("/api/v1/cards/{region}/{id}"), &self.token)
            .await
    }

    async fn open_card_ids(&self, region: &str) -> Result<Vec<String>, CallError> {
        let list = self
            .rest
            .get(&format!("/api/v1/cards?region={region}"), &self.token)
            .await?;
        Ok(ids_of(&list))
    }

    pub(crate) async fn note(&self, region: &str, id: &str, text: &str) -> anyhow::Result<()> {
        self.rest
            .post(
                &format!("/api/v1/cards/{region}/{id}/notes"),
                &self.token,
                &json!({ "text": text }),
                &[200],
            )
            .await?;
        Ok(())
    }

    /// The central's `/metrics` text.
    pub(crate) async fn metrics(&self) -> Result<String, CallError> {
        self.rest.api().metrics().await
    }

    /// The region's link as `/api/v1/regions` shows it: its `state` code where the central
    /// sends one, else `connected` or `disconnected`.
    pub(crate) async fn region_state(&self, region: &str) -> Result<String, CallError> {
        let rows = self.rest.get("/api/v1/regions", &self.token).await?;
        let row = rows
            .as_array()
            .and_then(|rows| rows.iter().find(|r| r["region"] == region));
        Ok(match row {
            None => "unknown".to_string(),
            Some(r) => match r["state"].as_str() {
                Some(state) => state.to_string(),
                None if r["connected"].as_bool() == Some(true) => "connected".to_string(),
                None => "disconnected".to_string(),
            },
        })
    }

    /// `region → connected` from `/api/v1/regions`.
    pub(crate) async fn connected(&self) -> Result<BTreeMap<String, bool>, CallError> {
        let rows = self.rest.get("/api/v1/regions", &self.token).await?;
        Ok(rows
            .as_array()
            .map(|rows| {
                rows.iter()
                    .filter_map(|r| {
                        Some((
                            r["region"].as_str()?.to_string(),
                            r["connected"].as_bool().unwrap_or(false),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default())
    }
}

fn ids_of(list: &Value) -> Vec<String> {
    list.as_array()
        .map(|cards| {
            cards
                .iter()
                .filter_map(|c| c["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// The cluster

pub(crate) struct RegionPlan {
    id: &'static str,
    name_kk: &'static str,
    name_ru: &'static str,
    impairment: Impairment,
}

pub(crate) const AST: RegionPlan = RegionPlan {
    id: "AST",
    name_kk: "Астана қаласы ПД",
    name_ru: "ДП города Астаны",
    impairment: Impairment::NONE,
};
const ALM: RegionPlan = RegionPlan {
    id: "ALM",
    name_kk: "Алматы қаласы ПД",
    name_ru: "ДП города Алматы",
    impairment: Impairment::NONE,
};

/// A provisioned, running central with its nodes, each behind its own proxy.
pub(crate) struct Cluster {
    // Dropped first: the children die before the proxies and the scratch dir go away.
    children: Children,
    pub(crate) proxies: BTreeMap<String, ProxyHandle>,
    pub(crate) nodes: BTreeMap<String, NodeSide>,
    pub(crate) central: CentralSide,
    pub(crate) scratch: Option<tempfile::TempDir>,
}

impl Cluster {
    pub(crate) async fn start(
        prefix: &str,
        bins: &Binaries,
        seed: u64,
        regions: &[RegionPlan],
    ) -> anyhow::Result<Cluster> {
        let scratch = report::scratch_dir(prefix)?;
        let dir = scratch.path().to_path_buf();
        let mut children = Children {
            procs: Vec::new(),
            health: client::http_client()?,
        };
        match Self::start_in(&dir, &mut children, bins, seed, regions).await {
            Ok((proxies, nodes, central)) => Ok(Cluster {
                children,
                proxies,
                nodes,
                central,
                scratch: Some(scratch),
            }),
            Err(e) => {
                children.print_log_tails();
                children.kill_all().await;
                let kept = scratch.keep();
                println!("scratch dir kept for inspection: {}", kept.display());
                Err(e)
            }
        }
    }

    #[allow(clippy::type_complexity)]
    async fn start_in(
        dir: &Path,
        children: &mut Children,
        bins: &Binaries,
        seed: u64,
        regions: &[RegionPlan],
    ) -> anyhow::Result<(
        BTreeMap<String, ProxyHandle>,
        BTreeMap<String, NodeSide>,
        CentralSide,
    )> {
        let path = |name: &str| dir.join(name).display().to_string();
        let quic_port = free_udp_port()?;
        let quic: SocketAddr = format!("127.0.0.1:{quic_port}").parse()?;
        let mut proxies = BTreeMap::new();
        for (i, region) in regions.iter().enumerate() {
            let mut config = ProxyConfig::new(
                "127.0.0.1:0".parse()?,
                quic,
                seed ^ (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            );
            config.impairment = region.impairment;
            let proxy = Proxy::start(config).await?;
            proxies.insert(region.id.to_string(), proxy);
        }

        provision(bins, &["init-ca", "--dir", &path("ca")]).await?;
        provision(
            bins,
            &[
                "add-central",
                "--ca",
                &path("ca"),
                "--name",
                "central",
                "--dns",
                "localhost",
                "--web-ip",
                "127.0.0.1",
                "--out",
                &path("central-bundle"),
            ],
        )
        .await?;
        for region in regions {
            let proxy_port = proxies[region.id].local_addr().port();
            provision(
                bins,
                &[
                    "add-region",
                    "--ca",
                    &path("ca"),
                    "--id",
                    region.id,
                    "--name-kk",
                    region.name_kk,
                    "--name-ru",
                    region.name_ru,
                    "--central",
                    &format!("localhost:{proxy_port}"),
                    "--web-ip",
                    "127.0.0.1",
                    "--out",
                    &path(&region.id.to_lowercase()),
                ],
            )
            .await?;
        }

        // The bundles' web certificates name 127.0.0.1: every REST call below is HTTPS,
        // trusting the run's CA only.
        let ca_cert = dir.join("ca").join("ca.crt");
        let http = client::http_client_trusting(Some(&ca_cert))?;
        children.health = http.clone();
        let central_listen = format!("127.0.0.1:{}", free_tcp_port()?);
        let mut command = Command::new(&bins.central);
        command
            .arg("serve")
            .args(["--bundle", &path("central-bundle")])
            .args(["--data", &path("central-data")])
            .args(["--listen", &central_listen])
            .args(["--quic-listen", &quic.to_string()])
            .env("CENTRAL_ADMIN_PASSWORD", CENTRAL_ADMIN_PASSWORD);
        children
            .start(
                "central",
                command,
                dir.join("central.log"),
                format!("https://{central_listen}"),
            )
            .await?;
        let central_rest = Rest {
            http: http.clone(),
            base_url: format!("https://{central_listen}"),
        };

        let mut node_rests = Vec::new();
        for region in regions {
            let lower = region.id.to_lowercase();
            let listen = format!("127.0.0.1:{}", free_tcp_port()?);
            let mut command = Command::new(&bins.node);
            command
                .arg("serve")
                .args(["--bundle", &path(&lower)])
                .args(["--data", &path(&format!("{lower}-data"))])
                .args(["--listen", &listen])
                .env("NODE_ADMIN_PASSWORD", node_proc::ADMIN_PASSWORD);
            children
                .start(
                    &format!("node {}", region.id),
                    command,
                    dir.join(format!("node-{lower}.log")),
                    format!("https://{listen}"),
                )
                .await?;
            node_rests.push((
                region.id,
                Rest {
                    http: http.clone(),
                    base_url: format!("https://{listen}"),
                },
            ));
        }

        // Logins hash passwords (argon2): do every process's at once.
        let central_api = central_rest.api();
        let central_login = client::hq_duty_session(&central_api, CENTRAL_ADMIN_PASSWORD);
        let node_opens = async {
            let mut opened = BTreeMap::new();
            let mut tasks = Vec::new();
            for (id, rest) in node_rests {
                tasks.push((
                    id,
                    tokio::spawn(async move {
                        NodeSide::open(id, rest, node_proc::ADMIN_PASSWORD).await
                    }),
                ));
            }
            for (id, task) in tasks {
                opened.insert(
                    id.to_string(),
                    task.await.context("a login task panicked")??,
                );
            }
            anyhow::Ok(opened)
        };
        let (central_token, nodes) = tokio::join!(central_login, node_opens);
        let central = CentralSide {
            rest: central_rest,
            token: central_token?,
        };
        Ok((proxies, nodes?, central))
    }

    pub(crate) fn node(&self, region: &str) -> &NodeSide {
        &self.nodes[region]
    }

    /// When the node process of `region` was spawned.
    fn node_spawned(&self, region: &str) -> Option<Instant> {
        let name = format!("node {region}");
        self.children
            .procs
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.spawned)
    }

    /// Polls `/api/v1/regions` until `region` is (dis)connected; the elapsed ms, or `None` at
    /// the deadline.
    pub(crate) async fn await_link(
        &self,
        region: &str,
        connected: bool,
        deadline_ms: u64,
    ) -> anyhow::Result<Option<u64>> {
        let started = Instant::now();
        let deadline = started + Duration::from_millis(deadline_ms);
        loop {
            if let Ok(links) = self.central.connected().await {
                if links.get(region).copied().unwrap_or(false) == connected {
                    return Ok(Some(started.elapsed().as_millis() as u64));
                }
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            self.check_alive()?;
            tokio::time::sleep(Duration::from_millis(POLL_INTERVAL_MS)).await;
        }
    }

    /// Polls until the central's national queue for `region` holds every id of `ids`; the
    /// elapsed ms, or `None` at the deadline.
    pub(crate) async fn await_at_central(
        &self,
        region: &str,
        ids: &[String],
        deadline_ms: u64,
    ) -> anyhow::Result<Option<u64>> {
        let started = Instant::now();
        let deadline = started + Duration::from_millis(deadline_ms);
        loop {
            if let Ok(listed) = self.central.open_card_ids(region).await {
                let listed: BTreeSet<&String> = listed.iter().collect();
                if ids.iter().all(|id| listed.contains(id)) {
                    return Ok(Some(started.elapsed().as_millis() as u64));
                }
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            self.check_alive()?;
            tokio::time::sleep(Duration::from_millis(POLL_INTERVAL_MS)).await;
        }
    }

    /// Polls until the node of `region` shows every note text of `notes` on its card; the
    /// elapsed ms, or `None` at the deadline.
    async fn await_notes_on_node(
        &self,
        region: &str,
        notes: &[(String, String)],
        deadline_ms: u64,
    ) -> anyhow::Result<Option<u64>> {
        let started = Instant::now();
        let deadline = started + Duration::from_millis(deadline_ms);
        let node = self.node(region);
        loop {
            let mut all = true;
            for (id, text) in notes {
                let present = match node.card(id).await {
                    Ok(Some(card)) => timeline(&card).iter().any(|e| &e.3 == text),
                    _ => false,
                };
                if !present {
                    all = false;
                    break;
                }
            }
            if all {
                return Ok(Some(started.elapsed().as_millis() as u64));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            self.check_alive()?;
            tokio::time::sleep(Duration::from_millis(POLL_INTERVAL_MS)).await;
        }
    }

    /// A harness failure when a child died on its own.
    pub(crate) fn check_alive(&self) -> anyhow::Result<()> {
        // `try_wait` needs `&mut`; a cheap probe through /proc keeps the pollers `&self`.
        for p in &self.children.procs {
            if let Some(pid) = p.child.id() {
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
                let state = stat
                    .rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().next());
                if stat.is_empty() || state == Some("Z") {
                    bail!("{} exited on its own", p.name);
                }
            }
        }
        Ok(())
    }

    /// Polls [`check_convergence`] until it holds; the elapsed ms and the last check.
    pub(crate) async fn await_convergence(
        &self,
        expected: &Expected,
        deadline_ms: u64,
    ) -> anyhow::Result<(Option<u64>, Convergence)> {
        self.await_convergence_since(expected, Instant::now(), deadline_ms, POLL_INTERVAL_MS)
            .await
    }

    /// Polls [`check_convergence`] every `poll_ms` until it holds or `deadline_ms` after
    /// `since` passes; the ms from `since` to the end of the first check that held.
    pub(crate) async fn await_convergence_since(
        &self,
        expected: &Expected,
        since: Instant,
        deadline_ms: u64,
        poll_ms: u64,
    ) -> anyhow::Result<(Option<u64>, Convergence)> {
        let deadline = since + Duration::from_millis(deadline_ms);
        loop {
            let check = check_convergence(self, expected).await;
            if check.converged() {
                return Ok((Some(since.elapsed().as_millis() as u64), check));
            }
            if Instant::now() >= deadline {
                return Ok((None, check));
            }
            self.check_alive()?;
            tokio::time::sleep(Duration::from_millis(poll_ms)).await;
        }
    }

    /// Kills the children; keeps the scratch dir (and prints the logs) when the run failed.
    pub(crate) async fn finish(mut self, ok: bool, report: &mut Report) {
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
                let kept = scratch.keep();
                println!(
                    "scratch dir and logs kept for inspection: {}",
                    kept.display()
                );
                report.detail("kept_dir", kept.display().to_string());
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Expectations and the convergence check

/// `(at, by, kind, text)` of one timeline event.
type Event = (i64, String, String, String);

fn timeline(card: &Value) -> Vec<Event> {
    card["timeline"]
        .as_array()
        .map(|events| {
            events
                .iter()
                .map(|e| {
                    (
                        e["at"].as_i64().unwrap_or(i64::MIN),
                        e["by"].as_str().unwrap_or("").to_string(),
                        e["kind"].as_str().unwrap_or("").to_string(),
                        e["text"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn unit_ids(card: &Value) -> BTreeSet<String> {
    card["units"]
        .as_array()
        .map(|units| {
            units
                .iter()
                .filter_map(|u| u["unit_id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn multiset(events: &[Event]) -> BTreeMap<&Event, usize> {
    let mut counts = BTreeMap::new();
    for e in events {
        *counts.entry(e).or_insert(0) += 1;
    }
    counts
}

/// What was acknowledged to the harness and so must be on both sides.
#[derive(Debug, Default, Clone)]
pub(crate) struct Expected {
    /// `(region, card id)` → what the card must show.
    pub(crate) cards: BTreeMap<(String, String), CardExpect>,
}

#[derive(Debug, Default, Clone)]
pub(crate) struct CardExpect {
    /// Note texts acknowledged by the node or the central (each unique in the run).
    pub(crate) notes: BTreeSet<String>,
    /// Units the node acknowledged dispatching.
    pub(crate) units: BTreeSet<String>,
    /// The node acknowledged closing the card: it leaves the open lists.
    pub(crate) closed: bool,
}

impl Expected {
    pub(crate) fn card(&mut self, region: &str, id: &str) -> &mut CardExpect {
        self.cards
            .entry((region.to_string(), id.to_string()))
            .or_default()
    }

    fn regions(&self) -> BTreeSet<&str> {
        self.cards.keys().map(|(r, _)| r.as_str()).collect()
    }
}

#[derive(Debug, Default)]
pub(crate) struct Convergence {
    /// Acknowledged cards, notes or dispatches missing on a side.
    pub(crate) lost: u64,
    /// Timeline events present twice on a side, or a card listed twice.
    pub(crate) duplicated: u64,
    /// Everything that differs, lost and duplicated included.
    problems: Vec<String>,
    problems_count: u64,
    pub(crate) cards_checked: u64,
}

impl Convergence {
    pub(crate) fn converged(&self) -> bool {
        self.problems_count == 0
    }

    fn problem(&mut self, text: String) {
        self.problems_count += 1;
        if self.problems.len() < PROBLEMS_SHOWN_MAX {
            self.problems.push(text);
        }
    }
}

/// Compares every expected card on its node and at the central, and the open-card lists.
async fn check_convergence(cluster: &Cluster, expected: &Expected) -> Convergence {
    let mut out = Convergence::default();
    for region in expected.regions() {
        let node = cluster.node(region);
        let expected_ids: BTreeSet<&str> = expected
            .cards
            .iter()
            .filter(|((r, _), card)| r == region && !card.closed)
            .map(|((_, id), _)| id.as_str())
            .collect();
        match (
            node.open_card_ids().await,
            cluster.central.open_card_ids(region).await,
        ) {
            (Ok(at_node), Ok(at_central)) => {
                let node_set: BTreeSet<&str> = at_node.iter().map(String::as_str).collect();
                let central_set: BTreeSet<&str> = at_central.iter().map(String::as_str).collect();
                let twice = (at_central.len() - central_set.len()) as u64
                    + (at_node.len() - node_set.len()) as u64;
                if twice > 0 {
                    out.duplicated += twice;
                    out.problem(format!("{region}: {twice} cards listed twice"));
                }
                if node_set != central_set {
                    out.problem(format!(
                        "{region}: open cards differ: node {} central {} (only on node {:?}, only at central {:?})",
                        node_set.len(),
                        central_set.len(),
                        node_set.difference(&central_set).take(5).collect::<Vec<_>>(),
                        central_set.difference(&node_set).take(5).collect::<Vec<_>>(),
                    ));
                }
                if !expected_ids.is_subset(&node_set) {
                    out.problem(format!(
                        "{region}: the node's open list lacks {} acknowledged cards",
                        expected_ids.difference(&node_set).count()
                    ));
                }
            }
            (Err(e), _) | (_, Err(e)) => out.problem(format!("{region}: cannot list cards: {e}")),
        }
    }
    for ((region, id), expect) in &expected.cards {
        out.cards_checked += 1;
        let node = cluster.node(region);
        let (at_node, at_central) =
            match (node.card(id).await, cluster.central.card(region, id).await) {
                (Ok(a), Ok(b)) => (a, b),
                (Err(e), _) | (_, Err(e)) => {
                    out.problem(format!("{region}/{id}: cannot read: {e}"));
                    continue;
                }
            };
        compare_card(
            region,
            id,
            expect,
            at_node.as_ref(),
            at_central.as_ref(),
            &mut out,
        );
    }
    out
}

/// Compares one card as its node and the central return it (`None`: 404) against each other and
/// against what was acknowledged, adding what differs to `out`.
fn compare_card(
    region: &str,
    id: &str,
    expect: &CardExpect,
    at_node: Option<&Value>,
    at_central: Option<&Value>,
    out: &mut Convergence,
) {
    let (at_node, at_central) = match (at_node, at_central) {
        (Some(a), Some(b)) => (a, b),
        (a, b) => {
            for (side, card) in [("node", a), ("central", b)] {
                if card.is_none() {
                    out.lost += 1;
                    out.problem(format!("{region}/{id}: missing at {side}"));
                }
            }
            return;
        }
    };
    let (node_events, central_events) = (timeline(at_node), timeline(at_central));
    let (node_set, central_set) = (multiset(&node_events), multiset(&central_events));
    for (side, set) in [("node", &node_set), ("central", &central_set)] {
        for (event, n) in set.iter().filter(|(_, n)| **n > 1) {
            out.duplicated += (*n - 1) as u64;
            out.problem(format!(
                "{region}/{id}: event {event:?} {n} times at {side}"
            ));
        }
    }
    for (side, events) in [("node", &node_events), ("central", &central_events)] {
        for text in &expect.notes {
            if !events.iter().any(|e| &e.3 == text) {
                out.lost += 1;
                out.problem(format!("{region}/{id}: note {text:?} missing at {side}"));
            }
        }
    }
    let (node_units, central_units) = (unit_ids(at_node), unit_ids(at_central));
    for (side, units) in [("node", &node_units), ("central", &central_units)] {
        for unit in expect.units.difference(units) {
            out.lost += 1;
            out.problem(format!("{region}/{id}: unit {unit} missing at {side}"));
        }
    }
    if node_units != central_units {
        out.problem(format!(
            "{region}/{id}: units differ: node {node_units:?} central {central_units:?}"
        ));
    }
    if at_node["status"] != at_central["status"] {
        out.problem(format!(
            "{region}/{id}: status node {} central {}",
            at_node["status"], at_central["status"]
        ));
    }
    if node_set.keys().collect::<BTreeSet<_>>() != central_set.keys().collect::<BTreeSet<_>>() {
        let only_node: Vec<_> = node_set
            .keys()
            .filter(|e| !central_set.contains_key(*e))
            .collect();
        let only_central: Vec<_> = central_set
            .keys()
            .filter(|e| !node_set.contains_key(*e))
            .collect();
        out.problem(format!(
            "{region}/{id}: timelines differ: only on node {only_node:?}, only at central {only_central:?}"
        ));
    }
}

pub(crate) fn convergence_json(check: &Convergence) -> Value {
    json!({
        "converged": check.converged(),
        "lost": check.lost,
        "duplicated": check.duplicated,
        "problems_count": check.problems_count,
        "problems": check.problems,
        "cards_checked": check.cards_checked,
    })
}

pub(crate) fn print_problems(check: &Convergence) {
    println!(
        "NOT converged: {} problems ({} lost, {} duplicated); first ones:",
        check.problems_count, check.lost, check.duplicated
    );
    for p in &check.problems {
        println!("    {p}");
    }
}

// ---------------------------------------------------------------------------------------------
// chaos partition

/// Runs `chaos partition`; `Ok(false)` means an invariant was violated (the report is written).
pub async fn run_partition(config: PartitionConfig) -> anyhow::Result<bool> {
    let run_started = Instant::now();
    let mut rng = StdRng::seed_from_u64(config.seed);
    let mut cluster = Cluster::start("partition-", &config.bins, config.seed, &[AST, ALM]).await?;
    println!(
        "central and nodes AST, ALM up in {} ms (scratch {})",
        run_started.elapsed().as_millis(),
        cluster
            .scratch
            .as_ref()
            .map(|s| s.path().display().to_string())
            .unwrap_or_default()
    );
    let outcome = partition_phases(&mut cluster, &config, &mut rng).await;
    let mut report = Report::new(PARTITION_NAME);
    match outcome {
        Ok(outcome) => {
            let ok = outcome.ok();
            report.kv("seed", config.seed.to_string());
            report.kv("regions", 2u64);
            report.kv("cards", outcome.cards);
            report.kv("hq_notes", outcome.hq_notes);
            report.kv("node_edits", outcome.node_edits);
            report.kv(
                "converge_ms",
                outcome.converge_ms.map_or(Value::Null, Value::from),
            );
            report.kv("lost", outcome.check.lost);
            report.kv("duplicated", outcome.check.duplicated);
            report.kv(
                "alm_during_partition_ms",
                outcome.alm_arrival_ms.map_or(Value::Null, Value::from),
            );
            report.kv("ast_disconnected", outcome.ast_disconnected);
            report.kv("ok", ok);
            report.detail("config", format!("{config:?}"));
            report.detail("quick", config.quick);
            report.detail("phase1_arrival_ms", outcome.phase1_arrival_ms);
            report.detail(
                "hq_notes_to_alm_during_partition_ms",
                outcome.alm_notes_ms.map_or(Value::Null, Value::from),
            );
            report.detail(
                "ast_disconnected_after_ms",
                outcome
                    .ast_disconnected_after_ms
                    .map_or(Value::Null, Value::from),
            );
            report.detail("ast_cards_leaked_during_partition", outcome.ast_leaked);
            report.detail("partition_ms", outcome.partition_ms);
            report.detail("final_check", convergence_json(&outcome.check));
            report.detail("failures", outcome.failures.clone());
            report.detail("run_ms", run_started.elapsed().as_millis() as u64);
            if !ok {
                for f in &outcome.failures {
                    println!("FAILURE: {f}");
                }
            }
            cluster.finish(ok, &mut report).await;
            report.finish()?;
            Ok(ok)
        }
        Err(e) => {
            cluster.finish(false, &mut report).await;
            Err(e)
        }
    }
}

struct PartitionOutcome {
    cards: u64,
    hq_notes: u64,
    node_edits: u64,
    phase1_arrival_ms: u64,
    alm_arrival_ms: Option<u64>,
    alm_notes_ms: Option<u64>,
    ast_leaked: u64,
    ast_disconnected: bool,
    ast_disconnected_after_ms: Option<u64>,
    partition_ms: u64,
    converge_ms: Option<u64>,
    check: Convergence,
    failures: Vec<String>,
}

impl PartitionOutcome {
    fn ok(&self) -> bool {
        self.failures.is_empty() && self.check.converged() && self.converge_ms.is_some()
    }
}

async fn partition_phases(
    cluster: &mut Cluster,
    config: &PartitionConfig,
    rng: &mut StdRng,
) -> anyhow::Result<PartitionOutcome> {
    let mut expected = Expected::default();
    let mut failures = Vec::new();
    let mut seq = 0u64;
    let mut hq_notes = 0u64;
    let mut node_edits = 0u64;

    // Phase 1: both regions replicate on a healthy link.
    for region in ["AST", "ALM"] {
        let connected = cluster
            .await_link(region, true, config.arrival_deadline_ms)
            .await?;
        if connected.is_none() {
            bail!(
                "{region} did not connect to the central within {} ms",
                config.arrival_deadline_ms
            );
        }
    }
    let mut before: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let phase1_started = Instant::now();
    for region in ["AST", "ALM"] {
        let node = cluster.node(region);
        for _ in 0..config.cards_before_count {
            seq += 1;
            let id = node.create_sent(rng, seq).await?;
            expected.card(region, &id);
            before.entry(region).or_default().push(id);
        }
    }
    for region in ["AST", "ALM"] {
        if cluster
            .await_at_central(region, &before[region], config.arrival_deadline_ms)
            .await?
            .is_none()
        {
            bail!(
                "phase 1: {region}'s cards did not reach the central within {} ms on a healthy link",
                config.arrival_deadline_ms
            );
        }
    }
    let phase1_arrival_ms = phase1_started.elapsed().as_millis() as u64;
    println!(
        "phase 1: {} cards per region at the central {phase1_arrival_ms} ms after the first was created",
        config.cards_before_count
    );

    // Phase 2: AST is cut off; both sides keep writing.
    cluster.proxies["AST"].set_blackhole(true);
    let partition_started = Instant::now();
    let tag = config.seed % 100_000;
    // HQ notes first on AST's cards, so they are surely concurrent with AST's edits below.
    for (i, id) in before["AST"].iter().enumerate() {
        let text = format!("HQ directive {i} to AST (run {tag})");
        cluster.central.note("AST", id, &text).await?;
        expected.card("AST", id).notes.insert(text);
        hq_notes += 1;
    }
    let mut alm_hq_notes = Vec::new();
    for (i, id) in before["ALM"].iter().enumerate() {
        let text = format!("HQ directive {i} to ALM (run {tag})");
        cluster.central.note("ALM", id, &text).await?;
        expected.card("ALM", id).notes.insert(text.clone());
        alm_hq_notes.push((id.clone(), text));
        hq_notes += 1;
    }
    let mut during: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (i, id) in before["AST"].clone().iter().enumerate() {
        let text = format!("AST note {i} during the partition (run {tag})");
        cluster.node("AST").note(id, &text).await?;
        expected.card("AST", id).notes.insert(text);
        node_edits += 1;
        if i % 2 == 0 {
            let node = cluster.nodes.get_mut("AST").expect("AST is a region");
            if let Some(unit) = node.dispatch(id).await? {
                expected.card("AST", id).units.insert(unit);
                node_edits += 1;
            }
        }
    }
    for region in ["AST", "ALM"] {
        for _ in 0..config.cards_during_count {
            seq += 1;
            let id = cluster.node(region).create_sent(rng, seq).await?;
            expected.card(region, &id);
            during.entry(region).or_default().push(id);
        }
    }
    // ALM must keep replicating both ways while AST is cut off.
    let alm_arrival_ms = cluster
        .await_at_central("ALM", &during["ALM"], config.arrival_deadline_ms)
        .await?;
    let alm_notes_ms = cluster
        .await_notes_on_node("ALM", &alm_hq_notes, config.arrival_deadline_ms)
        .await?;
    match (alm_arrival_ms, alm_notes_ms) {
        (Some(a), Some(b)) => println!(
            "phase 2: ALM kept replicating during AST's partition: its new cards at the central in {a} ms, HQ notes on the node in {b} ms"
        ),
        _ => failures.push(format!(
            "ALM stalled while AST was partitioned: new cards at central {alm_arrival_ms:?} ms, HQ notes on ALM {alm_notes_ms:?} ms (deadline {} ms)",
            config.arrival_deadline_ms
        )),
    }
    let at_central: BTreeSet<String> = cluster
        .central
        .open_card_ids("AST")
        .await
        .map_err(anyhow::Error::from)?
        .into_iter()
        .collect();
    let ast_leaked = during["AST"]
        .iter()
        .filter(|id| at_central.contains(*id))
        .count() as u64;
    if ast_leaked > 0 {
        failures.push(format!(
            "{ast_leaked} of AST's cards created during the black-hole reached the central: the partition did not hold"
        ));
    }
    let mut ast_disconnected_after_ms = None;
    if config.require_disconnect {
        let deadline_ms = QUIC_IDLE_TIMEOUT_MS + DISCONNECT_MARGIN_MS;
        let waited = cluster.await_link("AST", false, deadline_ms).await?;
        ast_disconnected_after_ms = waited.map(|_| partition_started.elapsed().as_millis() as u64);
        if waited.is_none() {
            failures.push(format!(
                "the central still reports AST connected {deadline_ms} ms into its partition"
            ));
        }
    }
    let hold =
        Duration::from_millis(config.partition_ms_min).saturating_sub(partition_started.elapsed());
    tokio::time::sleep(hold).await;
    let links = cluster
        .central
        .connected()
        .await
        .map_err(anyhow::Error::from)?;
    let ast_disconnected = !links.get("AST").copied().unwrap_or(false);
    if ast_disconnected_after_ms.is_none() && ast_disconnected {
        ast_disconnected_after_ms = Some(partition_started.elapsed().as_millis() as u64);
    }
    let partition_ms = partition_started.elapsed().as_millis() as u64;
    println!(
        "phase 2: AST partitioned for {partition_ms} ms: {hq_notes} HQ notes, {node_edits} AST edits, {} new cards per region; central reports AST {}",
        config.cards_during_count,
        if ast_disconnected { "disconnected" } else { "still connected (QUIC idle timeout not reached)" }
    );

    // Phase 3: heal and converge.
    cluster.proxies["AST"].set_blackhole(false);
    let (converge_ms, check) = cluster
        .await_convergence(&expected, config.converge_deadline_ms)
        .await?;
    match converge_ms {
        Some(ms) => println!(
            "phase 3: converged {ms} ms after the heal: {} cards identical on nodes and central",
            check.cards_checked
        ),
        None => {
            println!(
                "phase 3: no convergence within {} ms of the heal",
                config.converge_deadline_ms
            );
            print_problems(&check);
        }
    }
    Ok(PartitionOutcome {
        cards: expected.cards.len() as u64,
        hq_notes,
        node_edits,
        phase1_arrival_ms,
        alm_arrival_ms,
        alm_notes_ms,
        ast_leaked,
        ast_disconnected,
        ast_disconnected_after_ms,
        partition_ms,
        converge_ms,
        check,
        failures,
    })
}

// ---------------------------------------------------------------------------------------------
// chaos lossy-link

/// Runs `chaos lossy-link`; `Ok(false)` means an invariant was violated (the report is written).
pub async fn run_lossy_link(config: LossyLinkConfig) -> anyhow::Result<bool> {
    let run_started = Instant::now();
    let mut rng = StdRng::seed_from_u64(config.seed);
    let region = RegionPlan {
        impairment: config.impairment,
        ..AST
    };
    let cluster = Cluster::start("lossy-link-", &config.bins, config.seed, &[region]).await?;
    println!(
        "central and node AST up in {} ms; link: {}",
        run_started.elapsed().as_millis(),
        config.impairment
    );
    let outcome = lossy_phases(&cluster, &config, &mut rng).await;
    let mut report = Report::new(LOSSY_LINK_NAME);
    match outcome {
        Ok(outcome) => {
            let ok = outcome.ok();
            report.kv("seed", config.seed.to_string());
            report.kv_f("loss_pct", config.impairment.loss_pct, 2);
            report.kv("rtt_ms", config.impairment.delay_ms * 2);
            report.kv("cards", outcome.cards);
            report.kv("hq_notes", outcome.hq_notes);
            report.kv(
                "connect_ms",
                outcome.connect_ms.map_or(Value::Null, Value::from),
            );
            report.kv(
                "arrival_ms",
                outcome.arrival_ms.map_or(Value::Null, Value::from),
            );
            report.kv(
                "converge_ms",
                outcome.converge_ms.map_or(Value::Null, Value::from),
            );
            report.kv("lost", outcome.check.lost);
            report.kv("duplicated", outcome.check.duplicated);
            report.kv("ok", ok);
            report.detail("config", format!("{config:?}"));
            report.detail("quick", config.quick);
            report.detail("node_notes", outcome.node_notes);
            report.detail("final_check", convergence_json(&outcome.check));
            report.detail("failures", outcome.failures.clone());
            report.detail("run_ms", run_started.elapsed().as_millis() as u64);
            for f in &outcome.failures {
                println!("FAILURE: {f}");
            }
            cluster.finish(ok, &mut report).await;
            report.finish()?;
            Ok(ok)
        }
        Err(e) => {
            cluster.finish(false, &mut report).await;
            Err(e)
        }
    }
}

struct LossyOutcome {
    cards: u64,
    hq_notes: u64,
    node_notes: u64,
    connect_ms: Option<u64>,
    arrival_ms: Option<u64>,
    converge_ms: Option<u64>,
    check: Convergence,
    failures: Vec<String>,
}

impl LossyOutcome {
    fn ok(&self) -> bool {
        self.failures.is_empty() && self.check.converged() && self.converge_ms.is_some()
    }
}

async fn lossy_phases(
    cluster: &Cluster,
    config: &LossyLinkConfig,
    rng: &mut StdRng,
) -> anyhow::Result<LossyOutcome> {
    let mut expected = Expected::default();
    let mut failures = Vec::new();
    let node = cluster.node("AST");
    let tag = config.seed % 100_000;

    // Counted from the node's start: it dials while the harness is still logging in.
    let spawned = cluster.node_spawned("AST").unwrap_or_else(Instant::now);
    let budget_end = spawned + Duration::from_millis(config.budget_ms);
    let remaining_ms = || {
        budget_end
            .saturating_duration_since(Instant::now())
            .as_millis() as u64
    };
    // The node writes at once, while its first handshake over the impaired link may still be
    // under way: the writes are local, and convergence is what counts.
    let writes_started = Instant::now();
    let mut ids = Vec::new();
    for seq in 0..config.cards_count as u64 {
        let id = node.create_sent(rng, seq).await?;
        expected.card("AST", &id);
        ids.push(id);
    }
    // Pipelined: as soon as a card is at the central, HQ writes a note on it and, for about
    // half of them, the node writes one too, so both sides edit concurrently over the link.
    let (mut hq_notes, mut node_notes) = (0u64, 0u64);
    let mut connect_ms = None;
    let mut arrival_ms = None;
    let mut noted: BTreeSet<String> = BTreeSet::new();
    loop {
        if connect_ms.is_none() {
            if let Ok(links) = cluster.central.connected().await {
                if links.get("AST").copied().unwrap_or(false) {
                    connect_ms = Some(spawned.elapsed().as_millis() as u64);
                }
            }
        }
        if let Ok(listed) = cluster.central.open_card_ids("AST").await {
            let listed: BTreeSet<String> = listed.into_iter().collect();
            for (i, id) in ids.iter().enumerate() {
                if !listed.contains(id) || noted.contains(id) {
                    continue;
                }
                let hq_text = format!("HQ directive {i} over a lossy link (run {tag})");
                cluster.central.note("AST", id, &hq_text).await?;
                expected.card("AST", id).notes.insert(hq_text);
                hq_notes += 1;
                if rng.gen_bool(0.5) {
                    let text = format!("AST note {i} over a lossy link (run {tag})");
                    node.note(id, &text).await?;
                    expected.card("AST", id).notes.insert(text);
                    node_notes += 1;
                }
                noted.insert(id.clone());
            }
            if arrival_ms.is_none() && ids.iter().all(|id| listed.contains(id)) {
                arrival_ms = Some(writes_started.elapsed().as_millis() as u64);
            }
        }
        if noted.len() == ids.len() || remaining_ms() == 0 {
            break;
        }
        cluster.check_alive()?;
        tokio::time::sleep(Duration::from_millis(POLL_INTERVAL_MS)).await;
    }
    match connect_ms {
        Some(ms) => println!("AST connected over the impaired link {ms} ms after the node started"),
        None => println!("AST never seen connected over the impaired link"),
    }
    match arrival_ms {
        Some(ms) => println!(
            "{} cards at the central {ms} ms after the first was created",
            ids.len()
        ),
        None => failures.push(format!(
            "the cards did not reach the central within {} ms of the node's start",
            config.budget_ms
        )),
    }
    let (converge_ms, check) = cluster.await_convergence(&expected, remaining_ms()).await?;
    let total_ms = writes_started.elapsed().as_millis() as u64;
    match converge_ms {
        Some(ms) => println!(
            "converged {ms} ms after the last write ({total_ms} ms after the first): {} cards, {hq_notes} HQ notes, {node_notes} node notes",
            check.cards_checked
        ),
        None => {
            println!(
                "no convergence within {} ms of the node's start",
                config.budget_ms
            );
            print_problems(&check);
        }
    }
    Ok(LossyOutcome {
        cards: ids.len() as u64,
        hq_notes,
        node_notes,
        connect_ms,
        arrival_ms,
        converge_ms,
        check,
        failures,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(at: i64, by: &str, kind: &str, text: &str) -> Value {
        json!({ "at": at, "by": by, "kind": kind, "text": text })
    }

    fn card(status: &str, events: &[Value], units: &[&str]) -> Value {
        let units: Vec<Value> = units.iter().map(|u| json!({ "unit_id": u })).collect();
        json!({ "status": status, "timeline": events, "units": units })
    }

    /// Compares `node` with `central` against a card expecting `notes` and `units`; expects
    /// `(lost, duplicated, converged)`.
    fn check(
        notes: &[&str],
        units: &[&str],
        node: Option<Value>,
        central: Option<Value>,
        expect: (u64, u64, bool),
    ) {
        let expected = CardExpect {
            notes: notes.iter().map(|n| n.to_string()).collect(),
            units: units.iter().map(|u| u.to_string()).collect(),
            closed: false,
        };
        let mut out = Convergence::default();
        compare_card(
            "AST",
            "c1",
            &expected,
            node.as_ref(),
            central.as_ref(),
            &mut out,
        );
        assert_eq!(
            (out.lost, out.duplicated, out.converged()),
            expect,
            "problems: {:?}",
            out.problems
        );
    }

    #[test]
    fn compare_card_finds_lost_duplicated_and_diverged_cards() {
        let created = event(1, "ct@AST", "created", "");
        let hq = event(5, "admin@central", "note", "HQ directive");
        let local = event(6, "disp@AST", "note", "node note");
        let both = || {
            card(
                "dispatched",
                &[created.clone(), hq.clone(), local.clone()],
                &["u1"],
            )
        };
        let notes = ["HQ directive", "node note"];
        // Converged, in any order of events.
        let reordered = card(
            "dispatched",
            &[local.clone(), created.clone(), hq.clone()],
            &["u1"],
        );
        check(&notes, &["u1"], Some(both()), Some(reordered), (0, 0, true));
        // The card never reached the central.
        check(&notes, &["u1"], Some(both()), None, (1, 0, false));
        // HQ's note did not come back to the node.
        let without_hq = card("dispatched", &[created.clone(), local.clone()], &["u1"]);
        check(
            &notes,
            &["u1"],
            Some(without_hq),
            Some(both()),
            (1, 0, false),
        );
        // A note applied twice at the central.
        let twice = card(
            "dispatched",
            &[created.clone(), hq.clone(), hq.clone(), local.clone()],
            &["u1"],
        );
        check(&notes, &["u1"], Some(both()), Some(twice), (0, 1, false));
        // The dispatch did not reach the central.
        let no_unit = card(
            "dispatched",
            &[created.clone(), hq.clone(), local.clone()],
            &[],
        );
        check(&notes, &["u1"], Some(both()), Some(no_unit), (1, 0, false));
        // Same events, different status: not converged, nothing lost.
        let other_status = card(
            "sent_for_processing",
            &[created.clone(), hq.clone(), local.clone()],
            &["u1"],
        );
        check(
            &notes,
            &["u1"],
            Some(both()),
            Some(other_status),
            (0, 0, false),
        );
    }
}
