//! Bringing a cluster up: a fresh CA and bundles from the real `provisioning` binary, one UDP
//! proxy per region in front of the central's QUIC port, the central and the nodes as supervised
//! children, and the operators' and HQ's sessions.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use tokio::process::Command;

use super::sides::{CentralSide, NodeSide};
use super::{Binaries, Cluster, RegionPlan, Run, CENTRAL_ADMIN_PASSWORD, PROVISIONING_DEADLINE_MS};
use crate::client::{self, Api};
use crate::node_proc;
use crate::process::{self, Processes, Readiness, Spec};
use crate::proxy::{Proxy, ProxyConfig, ProxyHandle};
use crate::report;

impl Cluster {
    /// Provisions and starts the central and one node per region under a fresh scratch dir; on
    /// failure the children's logs are printed and the scratch dir is kept.
    pub(crate) async fn start(
        prefix: &str,
        run: &Run,
        regions: &[RegionPlan],
    ) -> anyhow::Result<Cluster> {
        Self::start_with(prefix, run, regions, None).await
    }

    /// [`Cluster::start`] with `node_overlay`, when given, laid over every node's bundle config
    /// (`--config`): a scenario's own settings, such as the field listener and its units.
    pub(crate) async fn start_with(
        prefix: &str,
        run: &Run,
        regions: &[RegionPlan],
        node_overlay: Option<&str>,
    ) -> anyhow::Result<Cluster> {
        let scratch = report::scratch_dir(prefix)?;
        let mut children = Processes::default();
        let started = start_in(
            scratch.path(),
            &mut children,
            &run.bins,
            run.seed,
            regions,
            node_overlay,
        )
        .await;
        match started {
            Ok((proxies, nodes, central, node_listen)) => Ok(Cluster {
                children,
                proxies,
                nodes,
                central,
                scratch: Some(scratch),
                bins: run.bins.clone(),
                node_listen,
                node_overlay: node_overlay.is_some(),
            }),
            Err(e) => {
                children.print_log_tails();
                children.kill_all().await;
                report::keep_for_inspection(scratch, "scratch dir", None);
                Err(e)
            }
        }
    }

    /// Starts the node of `region` again on its bundle, data directory and address, and logs its
    /// operators in again (their accounts are in the database it starts on).
    pub(crate) async fn restart_node(&mut self, region: &str) -> anyhow::Result<u64> {
        let started = Instant::now();
        let http = client::http_client_trusting(Some(&self.dir().join("ca").join("ca.crt")))?;
        let spec = node_spec(
            self.dir(),
            &self.bins,
            region,
            &self.node_listen[region],
            self.node_overlay,
            http.clone(),
        );
        let base_url = self.children.start(spec).await?.base_url.clone();
        let api = Api::new(http, &base_url);
        let side = NodeSide::reopen(region, api).await?;
        self.nodes.insert(region.to_string(), side);
        Ok(started.elapsed().as_millis() as u64)
    }
}

type Started = (
    BTreeMap<String, ProxyHandle>,
    BTreeMap<String, NodeSide>,
    CentralSide,
    BTreeMap<String, String>,
);

async fn start_in(
    dir: &Path,
    children: &mut Processes,
    bins: &Binaries,
    seed: u64,
    regions: &[RegionPlan],
    node_overlay: Option<&str>,
) -> anyhow::Result<Started> {
    let path = |name: &str| dir.join(name).display().to_string();
    if let Some(text) = node_overlay {
        std::fs::write(dir.join("node-overlay.toml"), text)
            .context("cannot write the nodes' config overlay")?;
    }
    let quic: SocketAddr = format!("127.0.0.1:{}", process::free_udp_port()?).parse()?;
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

    // The bundles' web certificates name 127.0.0.1: every REST call below is HTTPS, trusting
    // the run's CA only.
    let http = client::http_client_trusting(Some(&dir.join("ca").join("ca.crt")))?;
    let https = |listen: &str| Readiness::Healthz {
        client: http.clone(),
        base_url: format!("https://{listen}"),
    };
    let central_listen = format!("127.0.0.1:{}", process::free_tcp_port()?);
    let mut command = Command::new(&bins.central);
    command
        .arg("serve")
        .args(["--bundle", &path("central-bundle")])
        .args(["--data", &path("central-data")])
        .args(["--listen", &central_listen])
        .args(["--quic-listen", &quic.to_string()])
        .env("CENTRAL_ADMIN_PASSWORD", CENTRAL_ADMIN_PASSWORD);
    let central = children
        .start(Spec {
            name: "central".to_string(),
            command,
            log_path: dir.join("central.log"),
            ready: https(&central_listen),
        })
        .await?;
    let central_api = Api::new(http.clone(), &central.base_url);

    let mut node_apis = Vec::new();
    let mut node_listen = BTreeMap::new();
    for region in regions {
        let listen = format!("127.0.0.1:{}", process::free_tcp_port()?);
        let node = children
            .start(node_spec(
                dir,
                bins,
                region.id,
                &listen,
                node_overlay.is_some(),
                http.clone(),
            ))
            .await?;
        node_apis.push((region.id, Api::new(http.clone(), &node.base_url)));
        node_listen.insert(region.id.to_string(), listen);
    }

    // Logins hash passwords (argon2): do every process's at once.
    let central_login = client::hq_duty_session(&central_api, CENTRAL_ADMIN_PASSWORD);
    let node_opens = async {
        let mut tasks = Vec::new();
        for (id, api) in node_apis {
            let open = NodeSide::open(id, api, node_proc::ADMIN_PASSWORD);
            tasks.push((id, tokio::spawn(open)));
        }
        let mut opened = BTreeMap::new();
        for (id, task) in tasks {
            let node = task.await.context("a login task panicked")??;
            opened.insert(id.to_string(), node);
        }
        anyhow::Ok(opened)
    };
    let (central_token, nodes) = tokio::join!(central_login, node_opens);
    let central = CentralSide {
        api: central_api,
        token: central_token?,
    };
    Ok((proxies, nodes?, central, node_listen))
}

/// How the node of `region` is started (and started again after a crash): its bundle, its data
/// directory, its listen address, the scenario's overlay when there is one.
pub(super) fn node_spec(
    dir: &Path,
    bins: &Binaries,
    region: &str,
    listen: &str,
    overlay: bool,
    http: reqwest::Client,
) -> Spec {
    let path = |name: &str| dir.join(name).display().to_string();
    let lower = region.to_lowercase();
    let mut command = Command::new(&bins.node);
    command
        .arg("serve")
        .args(["--bundle", &path(&lower)])
        .args(["--data", &path(&format!("{lower}-data"))])
        .args(["--listen", listen])
        .env("NODE_ADMIN_PASSWORD", node_proc::ADMIN_PASSWORD);
    if overlay {
        command.args(["--config", &path("node-overlay.toml")]);
    }
    Spec {
        name: super::node_name(region),
        command,
        log_path: dir.join(format!("node-{lower}.log")),
        ready: Readiness::Healthz {
            client: http,
            base_url: format!("https://{listen}"),
        },
    }
}

async fn provision(bins: &Binaries, args: &[&str]) -> anyhow::Result<()> {
    let mut command = Command::new(&bins.provisioning);
    command.args(args);
    process::run_to_end(
        &format!("provisioning {args:?}"),
        command,
        PROVISIONING_DEADLINE_MS,
    )
    .await?;
    Ok(())
}
