//! `field-terminal`: the patrol's field terminal. Thin: parses arguments and calls
//! [`field_terminal::server::run`] under `server_kit::process::main`.

use clap::Parser;

const LOG_FILTER_DEFAULT: &str = "info,sled=warn,automerge=warn";

fn main() -> std::process::ExitCode {
    let cli = field_terminal::server::Cli::parse();
    server_kit::process::main(LOG_FILTER_DEFAULT, field_terminal::server::run(cli))
}
