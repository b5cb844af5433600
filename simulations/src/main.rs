//! Seeded benchmarks and chaos runs against the node binary. `main` only parses arguments into
//! typed settings and hands them to the command's module.

mod appeal_gen;
mod bench_appeals;
mod bench_avl;
mod bench_central_query;
mod bench_channels;
mod bench_media_calls;
mod bench_node_commit;
mod bench_report_1ol;
mod bench_sync;
mod channels_rig;
mod chaos_channels;
mod chaos_field;
mod chaos_flap;
mod chaos_lossy_link;
mod chaos_node_crash;
mod chaos_node_rebuild;
mod chaos_partition;
mod client;
mod cluster;
mod field_setup;
mod messenger_standin;
mod node_proc;
mod process;
mod proxy;
mod relay_sink;
mod report;
mod sim_sync;
mod turn_proc;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "simulations",
    about = "Benchmarks and chaos runs for the 102 node"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Performance benchmarks.
    #[command(subcommand)]
    Bench(Bench),
    /// Fault injection with invariant checks.
    #[command(subcommand)]
    Chaos(Chaos),
    /// Deterministic simulations of the sans-IO cores.
    #[command(subcommand)]
    Sim(Sim),
    /// UDP relay that impairs traffic (loss, delay, jitter, reordering, duplication, black-hole).
    Proxy(proxy::ProxyArgs),
}

#[derive(Subcommand)]
enum Sim {
    /// The replication protocol: nodes + central under loss, duplication, reordering,
    /// partitions, crash-restart, clock drift and blips (late frames on a live connection while
    /// both sides write the same documents), then a fault-free phase that must converge.
    Sync {
        /// How many seeds to run.
        #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
        seeds: u64,
        /// First seed (default: random, printed).
        #[arg(long)]
        seed: Option<u64>,
    },
}

#[derive(Subcommand)]
enum Bench {
    /// Durable card creation through the node vs. a bare sled insert+flush; node memory at size.
    NodeCommit {
        #[command(flatten)]
        common: Common,
        /// Concurrent HTTP clients in the full-load phase (and the fill).
        #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=4096))]
        clients: u64,
        /// Only run the sled baseline (no node needed).
        #[arg(long)]
        baseline_only: bool,
    },
    /// Units reporting positions every 15 s into one node over the field QUIC link for a
    /// simulated shift: ingest latency, storage per unit-shift, the map query of all units.
    Avl(bench_avl::AvlArgs),
    /// Cold replication of N cards: our batched protocol vs. per-document automerge sync, over
    /// QUIC with mutual TLS in one process.
    SyncCold {
        #[command(flatten)]
        sync: SyncArgs,
        /// Central side is `CentralRepo` over a temporary sled store (default: in memory).
        #[arg(long)]
        central_store: bool,
    },
    /// Reconnect after 100 changes among N in-sync cards: bytes and time to converge.
    SyncWarm {
        #[command(flatten)]
        sync: SyncArgs,
    },
    /// Lag from a local change to the central at 500 changes/s, loopback and lossy (5 %, 200 ms RTT).
    SyncLag {
        #[command(flatten)]
        sync: SyncArgs,
    },
    /// Concurrent citizen calls one node relays and records (audio, then video) within one core.
    MediaCalls {
        #[command(flatten)]
        common: Common,
        /// Also every call through a real TURN server (coturn on loopback, the browsers'
        /// relay-only policy), after the direct calls in the same run: the node's CPU per call
        /// in both modes, and coturn's.
        #[arg(long)]
        relay: bool,
    },
    /// National queue, summary and regions queries over a central store of many cards; RSS.
    CentralQuery {
        #[command(flatten)]
        common: Common,
        /// Stored cards (default 1,000,000; 100,000 with --quick).
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
        cards: Option<u64>,
        /// Open cards among them (default 5 %).
        #[arg(long, value_parser = clap::value_parser!(u64).range(0..=10_000_000))]
        open: Option<u64>,
    },
    /// National report 1-ОЛ at central over a store of national size (appeals and reception
    /// records of 20 regions): the national and one region's report timed, RSS, and three
    /// regions cut off across the due day catching up (re-issued, exactly once).
    #[command(name = "report-1ol")]
    Report1ol {
        #[command(flatten)]
        common: Common,
        /// Appeals stored at central (default 1,000,000; 20,000 with --quick).
        #[arg(long, value_parser = clap::value_parser!(u64).range(0..=10_000_000))]
        appeals: Option<u64>,
        /// Reception records stored at central (default 100,000; 5,000 with --quick).
        #[arg(long, value_parser = clap::value_parser!(u64).range(20..=10_000_000))]
        records: Option<u64>,
    },
    /// Citizens' appeals: a region's node and the hub filled through the real intake,
    /// registration and import; registration, the manager's board, the duplicate check,
    /// deadline arithmetic; RSS.
    Appeals {
        /// Short run (about a minute) for CI.
        #[arg(long)]
        quick: bool,
        /// RNG seed (default: random, printed at the start).
        #[arg(long)]
        seed: Option<u64>,
        /// Appeals on the region's node (default 200,000; 5,000 with --quick).
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
        region_appeals: Option<u64>,
        /// Appeals of each of the 20 regions at the hub (default 100,000; 2,000 with --quick).
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
        hub_per_region: Option<u64>,
        /// Concurrent registrars in the measured registration window.
        #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=1024))]
        registrars: u64,
    },
    /// Citizens' text messages into one node at a target rate (e-mail over SMTP until the
    /// messengers' connectors land): the channel's answer and the inbox latency, the knowledge
    /// base search, the outbox drain after a cut-off with lost and duplicated answers.
    Channels {
        #[command(flatten)]
        common: Common,
    },
}

/// Options of the replication benchmarks.
#[derive(Args)]
struct SyncArgs {
    /// Short run (≤ 60 s) for CI.
    #[arg(long)]
    quick: bool,
    /// RNG seed (default: random, printed at the start).
    #[arg(long)]
    seed: Option<u64>,
    /// Cards on the node (default 100,000; 10,000 with --quick).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    docs: Option<u64>,
}

#[derive(Subcommand)]
enum Chaos {
    /// A node cut off from its outgoing channel (the mail relay down): citizens' messages still
    /// stored, answers queued, the link restored, the node SIGKILLed once while they drain;
    /// every answer must arrive, none beyond one repeat per crash.
    Channels {
        #[command(flatten)]
        common: Common,
    },
    /// SIGKILL the node under write load and check that every acknowledged card survived.
    NodeCrash {
        #[command(flatten)]
        common: Common,
        /// Crash runs (default 20, 5 with --quick).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        runs: Option<u32>,
        /// Concurrent HTTP clients creating cards.
        #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=1024))]
        clients: u64,
    },
    /// A region's server dies with its disk under load: the node and the hub are backed up
    /// online, the node SIGKILLed and its data deleted, then rebuilt from its latest backup and
    /// central; prints how many acknowledged cards were lost and the loss bound it promised.
    NodeRebuild {
        #[command(flatten)]
        cluster: cluster::ClusterArgs,
    },
    /// Real central + two nodes over QUIC: black-hole one region's link while both sides write,
    /// heal, and check that every card converged with nothing lost or duplicated.
    Partition {
        #[command(flatten)]
        cluster: cluster::ClusterArgs,
    },
    /// Real central + one node whose link is black-holed many times (0.5–10 s; one partition
    /// past the QUIC idle timeout in the full run) while the node and HQ work the same cards;
    /// prints the time to converge after every heal against the 2 s goal.
    Flap {
        #[command(flatten)]
        cluster: cluster::ClusterArgs,
    },
    /// A node (replicating to the real central) and a fleet of field terminals as processes,
    /// each through its own lossy, slow proxy (5 %, 500 ms RTT) that goes dark at random while
    /// dispatches, statuses and reports flow: every status and report a terminal acknowledged
    /// must be on its card at the node and at the central, once, at its original time; and the
    /// resync time after an hour offline.
    Field(chaos_field::FieldArgs),
    /// Real central + one node over a lossy, slow link: every card and note must converge.
    LossyLink {
        #[command(flatten)]
        cluster: cluster::ClusterArgs,
        /// Drop probability in percent, per direction.
        #[arg(long, default_value_t = 30.0)]
        loss_pct: f64,
        /// One-way delay (the round trip costs twice this).
        #[arg(long, default_value_t = 250)]
        delay_ms: u64,
    },
}

#[derive(Args)]
struct Common {
    /// Short run (≤ 60 s) for CI.
    #[arg(long)]
    quick: bool,
    /// RNG seed (default: random, printed at the start).
    #[arg(long)]
    seed: Option<u64>,
    /// The node binary (default: <target>/release/node).
    #[arg(long)]
    node_bin: Option<PathBuf>,
}

/// mimalloc instead of glibc malloc: under load glibc's arena locks and consolidation were about a
/// fifth of the process's CPU (measured with `perf` on `bench node-commit`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("error: an invariant was violated (see the report above)");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// `Ok(false)` when an invariant was violated; `Err` on a harness failure.
async fn run(command: Command) -> anyhow::Result<bool> {
    match command {
        Command::Proxy(args) => proxy::run(args).await,
        Command::Sim(Sim::Sync { seeds, seed }) => {
            let first_seed = report::choose_seed(sim_sync::NAME, seed);
            tokio::task::spawn_blocking(move || {
                sim_sync::run(sim_sync::SimSyncConfig { first_seed, seeds })
            })
            .await?
        }
        Command::Bench(Bench::NodeCommit {
            common,
            clients,
            baseline_only,
        }) => {
            let seed = report::choose_seed(bench_node_commit::NAME, common.seed);
            let node_bin = common.node_bin.unwrap_or_else(node_proc::default_node_bin);
            let config = bench_node_commit::NodeCommitConfig::new(
                common.quick,
                seed,
                node_bin,
                clients as usize,
                baseline_only,
            );
            bench_node_commit::run(config).await?;
            Ok(true)
        }
        Command::Bench(Bench::MediaCalls { common, relay }) => {
            let seed = report::choose_seed(bench_media_calls::NAME, common.seed);
            let node_bin = common.node_bin.unwrap_or_else(node_proc::default_node_bin);
            let mut config = bench_media_calls::MediaCallsConfig::new(common.quick, seed, node_bin);
            config.relay = relay;
            bench_media_calls::run(config).await?;
            Ok(true)
        }
        Command::Bench(Bench::SyncCold {
            sync,
            central_store,
        }) => {
            let seed = report::choose_seed(bench_sync::NAME_COLD, sync.seed);
            let config = bench_sync::SyncBenchConfig::new(
                sync.quick,
                seed,
                sync.docs.map(|d| d as usize),
                central_store,
            );
            bench_sync::run_cold(config).await
        }
        Command::Bench(Bench::SyncWarm { sync }) => {
            let seed = report::choose_seed(bench_sync::NAME_WARM, sync.seed);
            let config = bench_sync::SyncBenchConfig::new(
                sync.quick,
                seed,
                sync.docs.map(|d| d as usize),
                false,
            );
            bench_sync::run_warm(config).await
        }
        Command::Bench(Bench::SyncLag { sync }) => {
            let seed = report::choose_seed(bench_sync::NAME_LAG, sync.seed);
            let config = bench_sync::SyncBenchConfig::new(
                sync.quick,
                seed,
                sync.docs.map(|d| d as usize),
                false,
            );
            bench_sync::run_lag(config).await
        }
        Command::Bench(Bench::CentralQuery {
            common,
            cards,
            open,
        }) => {
            let seed = report::choose_seed(bench_central_query::NAME, common.seed);
            let config = bench_central_query::CentralQueryConfig::new(
                common.quick,
                seed,
                cards.map(|c| c as usize),
                open.map(|o| o as usize),
            );
            bench_central_query::run(config).await
        }
        Command::Bench(Bench::Report1ol {
            common,
            appeals,
            records,
        }) => {
            let seed = report::choose_seed(bench_report_1ol::NAME, common.seed);
            let config = bench_report_1ol::Report1OlConfig::new(
                common.quick,
                seed,
                appeals.map(|n| n as usize),
                records.map(|n| n as usize),
            );
            bench_report_1ol::run(config).await
        }
        Command::Bench(Bench::Appeals {
            quick,
            seed,
            region_appeals,
            hub_per_region,
            registrars,
        }) => {
            let seed = report::choose_seed(bench_appeals::NAME, seed);
            let config = bench_appeals::AppealsConfig::new(
                quick,
                seed,
                region_appeals.map(|n| n as usize),
                hub_per_region.map(|n| n as usize),
                registrars as usize,
            );
            bench_appeals::run(config).await
        }
        Command::Bench(Bench::Channels { common }) => {
            let seed = report::choose_seed(bench_channels::NAME, common.seed);
            let node_bin = common.node_bin.unwrap_or_else(node_proc::default_node_bin);
            bench_channels::run(bench_channels::ChannelsBenchConfig::new(
                common.quick,
                seed,
                node_bin,
            ))
            .await
        }
        Command::Chaos(Chaos::Channels { common }) => {
            let seed = report::choose_seed(chaos_channels::NAME, common.seed);
            let node_bin = common.node_bin.unwrap_or_else(node_proc::default_node_bin);
            chaos_channels::run(chaos_channels::ChannelsChaosConfig::new(
                common.quick,
                seed,
                node_bin,
            ))
            .await
        }
        Command::Chaos(Chaos::NodeCrash {
            common,
            runs,
            clients,
        }) => {
            let seed = report::choose_seed(chaos_node_crash::NAME, common.seed);
            let node_bin = common.node_bin.unwrap_or_else(node_proc::default_node_bin);
            let config = chaos_node_crash::NodeCrashConfig::new(
                common.quick,
                seed,
                node_bin,
                runs,
                clients as usize,
            );
            chaos_node_crash::run(config).await
        }
        Command::Chaos(Chaos::Partition { cluster }) => {
            let seed = report::choose_seed(chaos_partition::NAME, cluster.seed);
            let config = chaos_partition::PartitionConfig::new(&cluster, seed)?;
            chaos_partition::run(config).await
        }
        Command::Chaos(Chaos::NodeRebuild { cluster }) => {
            let seed = report::choose_seed(chaos_node_rebuild::NAME, cluster.seed);
            let config = chaos_node_rebuild::RebuildConfig::new(&cluster, seed)?;
            chaos_node_rebuild::run(config).await
        }
        Command::Chaos(Chaos::Flap { cluster }) => {
            let seed = report::choose_seed(chaos_flap::NAME, cluster.seed);
            let config = chaos_flap::FlapConfig::new(&cluster, seed)?;
            chaos_flap::run(config).await
        }
        Command::Bench(Bench::Avl(args)) => {
            let seed = report::choose_seed(bench_avl::NAME, args.cluster.seed);
            let config = bench_avl::AvlConfig::new(&args, seed)?;
            bench_avl::run(config).await
        }
        Command::Chaos(Chaos::Field(args)) => {
            let seed = report::choose_seed(chaos_field::NAME, args.cluster.seed);
            let config = chaos_field::FieldConfig::new(&args, seed)?;
            chaos_field::run(config).await
        }
        Command::Chaos(Chaos::LossyLink {
            cluster,
            loss_pct,
            delay_ms,
        }) => {
            let seed = report::choose_seed(chaos_lossy_link::NAME, cluster.seed);
            let config =
                chaos_lossy_link::LossyLinkConfig::new(&cluster, seed, loss_pct, delay_ms)?;
            chaos_lossy_link::run(config).await
        }
    }
}
