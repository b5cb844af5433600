//! `node`: the regional ЦОУ node. Thin: parses arguments, installs tracing and a runtime, and
//! calls [`node::cli::run`].

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = node::cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                // The WebRTC stack logs every packet written before DTLS completes at WARN, and
                // every packet a slow track reader misses at ERROR, with the packet: under load
                // that is millions of lines. Its other errors still show; the media crate counts
                // drops (`media_rtp_dropped` in /metrics) and reports what matters.
                .unwrap_or_else(|_| {
                    "info,sled=warn,rtc=error,webrtc=error,webrtc::peer_connection::driver=off"
                        .into()
                }),
        )
        .with_writer(std::io::stderr)
        .init();
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(node::cli::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
