//! `central`: the МВД HQ hub. Thin: arguments, config, tracing, then the library.

use std::path::PathBuf;

use central::config::Config;
use central::server::{serve, ServeSettings};
use clap::{Parser, Subcommand};
use server_kit::backup::cli as backup_cli;

/// mimalloc instead of glibc malloc: under load glibc's arena locks and consolidation were about a
/// fifth of the process's CPU (measured with `perf` on `bench node-commit`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "central",
    version,
    about = "МВД central hub of the 102 system. With no command: serve on the embedded defaults."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(clap::Args, Clone, Default)]
struct Common {
    /// Config file (TOML); keys it omits keep the embedded defaults.
    #[arg(long, env = "CENTRAL_CONFIG")]
    config: Option<PathBuf>,
    /// The central's bundle from `provisioning add-central` (TLS identity, CRL).
    #[arg(long, env = "CENTRAL_BUNDLE")]
    bundle: Option<PathBuf>,
    #[arg(long, env = "CENTRAL_DATA")]
    data: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the hub: QUIC for regions, HTTP for the HQ dashboard.
    Serve {
        #[command(flatten)]
        common: Common,
        /// HTTP listen address (dashboard, API).
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
        /// QUIC listen address for regional nodes.
        #[arg(long)]
        quic_listen: Option<std::net::SocketAddr>,
    },
    /// Back up the hub's database: online through the running hub's control socket, else
    /// directly; encrypted, verified by a restore into a scratch directory, then pruned by
    /// `[backup] retention`.
    Backup {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        args: backup_cli::BackupArgs,
    },
    /// Create a new backup key file (never overwrites one); keep a copy off this machine.
    BackupKey(backup_cli::KeyArgs),
    /// Check a backup: restore it into a scratch directory, verify the audit chain and every
    /// document, remove the scratch copy.
    VerifyBackup {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        args: backup_cli::VerifyArgs,
    },
    /// Restore a backup into the (empty) data directory as a new replica; the regions' nodes
    /// send it what they hold that the backup lacks.
    Restore {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        args: backup_cli::RestoreArgs,
    },
    /// Check the audit log's hash chain (the hub must not be running on the same data).
    AuditVerify {
        #[command(flatten)]
        common: Common,
    },
}

fn load(common: &Common) -> anyhow::Result<(Config, PathBuf)> {
    let mut layers: Vec<PathBuf> = Vec::new();
    if let Some(b) = &common.bundle {
        layers.push(b.join(provisioning::bundle_files::CENTRAL_CONFIG));
    }
    layers.extend(common.config.clone());
    let refs: Vec<&std::path::Path> = layers.iter().map(PathBuf::as_path).collect();
    let config = Config::load_layers(&refs)?;
    let data = common
        .data
        .clone()
        .unwrap_or_else(|| config.central.data_dir.clone());
    Ok((config, data))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let command = cli.command.unwrap_or(Command::Serve {
        common: Common::default(),
        listen: None,
        quic_listen: None,
    });
    match command {
        Command::Serve {
            common,
            listen,
            quic_listen,
        } => {
            let (config, data_dir) = load(&common)?;
            let settings = ServeSettings {
                data_dir,
                listen: listen.unwrap_or(config.central.listen),
                quic_listen: quic_listen.unwrap_or(config.central.quic_listen),
                bundle: common.bundle,
                admin_password: std::env::var("CENTRAL_ADMIN_PASSWORD")
                    .ok()
                    .filter(|p| !p.is_empty()),
            };
            serve(config, settings, server_kit::shutdown::shutdown_signal()).await
        }
        Command::Backup { common, args } => {
            let (config, data_dir) = load(&common)?;
            let cache = config.central.sled_cache_bytes;
            let offline = || {
                let store = open_store(&data_dir, cache).map_err(|e| {
                    format!("the hub is not running (no control socket) and its database cannot be opened: {e:#}")
                })?;
                let hello = central::server::export_hello(&*store);
                Ok((store, hello))
            };
            backup_cli::backup("central", &data_dir, &args, &config.backup, cache, &offline)
        }
        Command::BackupKey(args) => backup_cli::new_key(&args.out),
        Command::VerifyBackup { common, args } => {
            let (config, _) = load(&common)?;
            backup_cli::verify(
                "central",
                &args,
                &config.backup,
                config.central.sled_cache_bytes,
            )
        }
        Command::Restore { common, args } => {
            let (config, data_dir) = load(&common)?;
            backup_cli::restore(
                "central",
                &args,
                &config.backup,
                &data_dir,
                config.central.sled_cache_bytes,
            )?;
            println!("next: start the hub; each region's node sends it what the backup lacks when it reconnects");
            Ok(())
        }
        Command::AuditVerify { common } => {
            let (config, data_dir) = load(&common)?;
            if !data_dir.exists() {
                anyhow::bail!("no hub database at {}", data_dir.display());
            }
            let store = open_store(&data_dir, config.central.sled_cache_bytes)?;
            backup_cli::audit_verify(&*store)
        }
    }
}

fn open_store(
    data_dir: &std::path::Path,
    cache_bytes: u64,
) -> anyhow::Result<std::sync::Arc<dyn server_kit::store::Store>> {
    Ok(std::sync::Arc::new(central::server::open_store(
        data_dir,
        cache_bytes,
    )?))
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    server_kit::process::main("info,sled=warn,automerge=warn", run(cli))
}
