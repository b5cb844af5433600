//! What a server binary's `main` does before and after its own work: logs to stderr with the
//! `RUST_LOG` filter (or the binary's default), a tokio runtime, and an exit status with the
//! error chain printed. The binaries' `main.rs` only parse arguments and call this.

use std::future::Future;
use std::process::ExitCode;

/// Runs `work` on a new multi-threaded runtime with tracing installed; `default_filter` applies
/// when `RUST_LOG` is unset. A failure prints `error: …` with its causes and exits with 1.
pub fn main<F>(default_filter: &str, work: F) -> ExitCode
where
    F: Future<Output = anyhow::Result<()>>,
{
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| default_filter.into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(work) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
