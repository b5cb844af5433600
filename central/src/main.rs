//! `central`: the МВД HQ hub. Thin: arguments, config, tracing, then the library.

use std::path::PathBuf;

use central::config::Config;
use central::server::{serve, ServeSettings};
use clap::{Parser, Subcommand};

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

#[derive(Subcommand)]
enum Command {
    /// Run the hub: QUIC for regions, HTTP for the HQ dashboard.
    Serve {
        /// Config file (TOML); keys it omits keep the embedded defaults.
        #[arg(long, env = "CENTRAL_CONFIG")]
        config: Option<PathBuf>,
        /// The central's bundle from `provisioning add-central` (TLS identity, CRL).
        #[arg(long, env = "CENTRAL_BUNDLE")]
        bundle: Option<PathBuf>,
        #[arg(long, env = "CENTRAL_DATA")]
        data: Option<PathBuf>,
        /// HTTP listen address (dashboard, API).
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
        /// QUIC listen address for regional nodes.
        #[arg(long)]
        quic_listen: Option<std::net::SocketAddr>,
    },
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let Command::Serve {
        config,
        bundle,
        data,
        listen,
        quic_listen,
    } = cli.command.unwrap_or(Command::Serve {
        config: None,
        bundle: None,
        data: None,
        listen: None,
        quic_listen: None,
    });
    let mut layers: Vec<PathBuf> = Vec::new();
    if let Some(b) = &bundle {
        layers.push(b.join(provisioning::bundle_files::CENTRAL_CONFIG));
    }
    layers.extend(config);
    let refs: Vec<&std::path::Path> = layers.iter().map(PathBuf::as_path).collect();
    let config = Config::load_layers(&refs)?;
    let settings = ServeSettings {
        data_dir: data.unwrap_or_else(|| config.central.data_dir.clone()),
        listen: listen.unwrap_or(config.central.listen),
        quic_listen: quic_listen.unwrap_or(config.central.quic_listen),
        bundle,
        admin_password: std::env::var("CENTRAL_ADMIN_PASSWORD")
            .ok()
            .filter(|p| !p.is_empty()),
    };
    serve(config, settings, server_kit::shutdown::shutdown_signal()).await
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    server_kit::process::main("info,sled=warn,automerge=warn", run(cli))
}
