//! `node`: the regional ЦОУ node. Thin: parses arguments and calls [`node::cli::run`] under
//! `server_kit::process::main` (tracing, a runtime, the exit status).

use clap::Parser;

/// The WebRTC stack logs every packet written before DTLS completes at WARN, and every packet a
/// slow track reader misses at ERROR, with the packet: under load that is millions of lines. Its
/// other errors still show; the media crate counts drops (`media_rtp_dropped` in /metrics) and
/// reports what matters. automerge instruments its loads and change encodings as INFO spans:
/// formatting them was over half the node's CPU while terminals sent positions (`perf` on
/// `bench avl`).
const LOG_FILTER_DEFAULT: &str =
    "info,sled=warn,automerge=warn,rtc=error,webrtc=error,webrtc::peer_connection::driver=off";

/// mimalloc instead of glibc malloc: under load glibc's arena locks and consolidation were about a
/// fifth of the process's CPU (measured with `perf` on `bench node-commit`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = node::cli::Cli::parse();
    server_kit::process::main(LOG_FILTER_DEFAULT, node::cli::run(cli))
}
