//! The `node` command line: its arguments (clap) and what each command does — serve, account
//! administration, audit verification, warnings import. `main.rs` installs tracing and a runtime
//! and calls [`run`].

use std::path::PathBuf;

use crate::accounts::{AccountPatch, NewAccount};
use crate::config::Config;
use crate::server::{open_node, open_store, serve, ServeSettings};
use anyhow::Context;
use clap::{Parser, Subcommand};
use server_kit::backup::cli as backup_cli;
use sync::Role;

#[derive(Parser)]
#[command(
    name = "node",
    version,
    about = "Regional 102 control-centre node. With no command: serve on the embedded demo defaults."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(clap::Args, Clone, Default)]
struct Common {
    /// Config file (TOML); keys it omits keep the embedded defaults.
    #[arg(long, env = "NODE_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory (overrides the config's node.data_dir).
    #[arg(long, env = "NODE_DATA")]
    data: Option<PathBuf>,
    /// A region bundle from `provisioning add-region`: verified, then its node.toml applies
    /// (under --config) and its bootstrap.secret is the first administrator's password.
    #[arg(long, env = "NODE_BUNDLE")]
    bundle: Option<PathBuf>,
    /// Training mode (as `node.training = true`): the training data directory beside the
    /// live one (its name with "-training"), demo data, no replication, no real channels,
    /// every page marked. With `admin` and the other commands: act on the training data.
    #[arg(long)]
    training: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Run the node: HTTP API and console.
    Serve {
        #[command(flatten)]
        common: Common,
        /// Listen address (overrides node.listen).
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
    },
    /// Manage accounts from the command line (the node must not be running on the same data).
    Admin {
        #[command(flatten)]
        common: Common,
        #[command(subcommand)]
        action: AdminAction,
    },
    /// Audit log tools.
    Audit {
        #[command(flatten)]
        common: Common,
        #[command(subcommand)]
        action: AuditAction,
    },
    /// Back up the node's database: online through the running node's control socket (the
    /// node goes on serving), else directly; encrypted, verified by a restore into a scratch
    /// directory (audit chain, documents), then older backups pruned by `[backup] retention`.
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
    /// Restore a backup into the (empty) data directory as a new replica. Start the node with
    /// its bundle afterwards: central sends back what it holds that the backup lacks.
    Restore {
        #[command(flatten)]
        common: Common,
        #[command(flatten)]
        args: backup_cli::RestoreArgs,
    },
    /// Import the address-warnings registry (R08) from a .csv or .json file.
    ImportWarnings {
        #[command(flatten)]
        common: Common,
        /// The file; CSV header: address,person,birth_year,flags,note
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum AdminAction {
    /// List accounts.
    List,
    /// Create an account.
    Create {
        #[arg(long)]
        login: String,
        #[arg(long)]
        full_name: String,
        /// Roles, comma-separated: call_taker, dispatcher, duty_officer, supervisor, patrol, admin.
        #[arg(long, value_delimiter = ',')]
        roles: Vec<String>,
        /// Password (or env NODE_NEW_PASSWORD).
        #[arg(long, env = "NODE_NEW_PASSWORD", hide_env_values = true)]
        password: String,
        #[arg(long)]
        district: Option<String>,
    },
    /// Set a new password (also lifts every login throttle). The password is the account's
    /// own unless --temporary, which makes its owner set a new one at the next login.
    SetPassword {
        #[arg(long)]
        login: String,
        #[arg(long, env = "NODE_NEW_PASSWORD", hide_env_values = true)]
        password: String,
        #[arg(long)]
        temporary: bool,
    },
    /// Lift every login throttle of an account (after too many wrong passwords from an address).
    Unlock {
        #[arg(long)]
        login: String,
    },
    /// Disable or enable an account.
    Disable {
        #[arg(long)]
        login: String,
        #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
        disabled: bool,
    },
    /// Delete an account.
    Delete {
        #[arg(long)]
        login: String,
    },
}

#[derive(Subcommand)]
enum AuditAction {
    /// Check the hash chain: detects modified and removed entries.
    Verify,
}

fn load(common: &Common) -> anyhow::Result<(Config, PathBuf)> {
    let mut layers: Vec<PathBuf> = Vec::new();
    if let Some(bundle) = &common.bundle {
        layers.extend(crate::bundle::region_bundle_layers(bundle)?);
    }
    layers.extend(common.config.clone());
    let refs: Vec<&std::path::Path> = layers.iter().map(PathBuf::as_path).collect();
    let mut config = Config::load_layers(&refs)?;
    if let Some(bundle) = &common.bundle {
        crate::bundle::resolve_paths(&mut config, bundle);
    }
    let data = common
        .data
        .clone()
        .unwrap_or_else(|| config.node.data_dir.clone());
    if common.training || config.node.training {
        // Never the live directory, whichever of the two was given.
        return Ok((
            config.for_training(),
            crate::training::training_data_dir(&data),
        ));
    }
    Ok((config, data))
}

/// `NODE_ADMIN_PASSWORD`, else the bundle's one-time bootstrap secret.
fn first_admin_password(common: &Common) -> anyhow::Result<Option<String>> {
    if let Some(p) = admin_password_from_env() {
        return Ok(Some(p));
    }
    match &common.bundle {
        Some(b) => crate::bundle::bootstrap_secret(b),
        None => Ok(None),
    }
}

fn parse_roles(raw: &[String]) -> anyhow::Result<Vec<Role>> {
    raw.iter()
        .map(|r| {
            Role::parse(r.trim())
                .filter(|r| Role::NODE.contains(r))
                .ok_or_else(|| anyhow::anyhow!("unknown role '{r}'; roles are call_taker, dispatcher, duty_officer, supervisor, patrol, admin"))
        })
        .collect()
}

const CLI_ACTOR: &str = "cli";

fn admin_password_from_env() -> Option<String> {
    std::env::var("NODE_ADMIN_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty())
}

/// Opens the node's database for a CLI command. On a fresh data directory this is the first
/// start: the administrator is created exactly as `serve` would (NODE_ADMIN_PASSWORD, the
/// bundle's secret, or a generated one-time password, printed here).
async fn open_existing_or_new(
    config: &Config,
    data_dir: &std::path::Path,
    common: &Common,
) -> anyhow::Result<crate::server::Node> {
    let node = open_node(config, data_dir, first_admin_password(common)?).await?;
    if let Some(p) = &node.generated_admin_password {
        println!(
            "first start: administrator login 'admin', one-time password '{p}' (shown only now)"
        );
    }
    Ok(node)
}

/// Runs one command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let command = cli.command.unwrap_or(Command::Serve {
        common: Common::default(),
        listen: None,
    });
    match command {
        Command::Serve { common, listen } => {
            let (config, data_dir) = load(&common)?;
            let settings = ServeSettings {
                listen: listen.unwrap_or(config.node.listen),
                data_dir,
                admin_password: first_admin_password(&common)?,
                bundle: common.bundle.clone(),
            };
            serve(config, settings, crate::server::shutdown_signal()).await
        }
        Command::Admin { common, action } => {
            let (config, data_dir) = load(&common)?;
            let node = open_existing_or_new(&config, &data_dir, &common).await?;
            let accounts = node.state.accounts.clone();
            let now = server_kit::clock::now_ms();
            match action {
                AdminAction::List => {
                    for u in accounts.list()? {
                        let roles: Vec<&str> = u.roles.iter().map(|r| r.as_str()).collect();
                        println!(
                            "{:<24} {:<32} {:<40} {}",
                            u.login,
                            u.full_name,
                            roles.join(","),
                            if u.disabled { "disabled" } else { "enabled" }
                        );
                    }
                }
                AdminAction::Create {
                    login,
                    full_name,
                    roles,
                    password,
                    district,
                } => {
                    let roles = parse_roles(&roles)?;
                    let u = accounts
                        .create(
                            CLI_ACTOR,
                            NewAccount {
                                login,
                                full_name,
                                password,
                                roles,
                                district,
                                service: None,
                            },
                            now,
                        )
                        .await?;
                    println!("created account {}", u.login);
                }
                AdminAction::SetPassword {
                    login,
                    password,
                    temporary,
                } => {
                    accounts
                        .update_with(
                            CLI_ACTOR,
                            &login,
                            AccountPatch {
                                password: Some(password),
                                ..Default::default()
                            },
                            temporary,
                            now,
                        )
                        .await?;
                    println!(
                        "password of {login} changed{}",
                        if temporary {
                            " (temporary: to be changed at the next login)"
                        } else {
                            ""
                        }
                    );
                }
                AdminAction::Unlock { login } => {
                    accounts.unlock(CLI_ACTOR, &login, now).await?;
                    println!("login throttles of {login} lifted");
                }
                AdminAction::Disable { login, disabled } => {
                    accounts
                        .update(
                            CLI_ACTOR,
                            &login,
                            AccountPatch {
                                disabled: Some(disabled),
                                ..Default::default()
                            },
                            now,
                        )
                        .await?;
                    println!(
                        "account {login} {}",
                        if disabled { "disabled" } else { "enabled" }
                    );
                }
                AdminAction::Delete { login } => {
                    accounts.delete(CLI_ACTOR, &login, now).await?;
                    println!("account {login} deleted");
                }
            }
            node.store.flush()?;
            Ok(())
        }
        Command::Backup { common, args } => {
            let (config, data_dir) = load(&common)?;
            let region = config.reference.region.code.clone();
            let cache = config.limits.sled_cache_bytes;
            let offline = || {
                let store = open_store(&data_dir, &config).map_err(|e| {
                    format!("the node is not running (no control socket) and its database cannot be opened: {e:#}")
                })?;
                let hello = crate::server::export_hello(&*store, &region);
                Ok((store, hello))
            };
            backup_cli::backup("node", &data_dir, &args, &config.backup, cache, &offline)
        }
        Command::BackupKey(args) => backup_cli::new_key(&args.out),
        Command::VerifyBackup { common, args } => {
            let (config, _) = load(&common)?;
            backup_cli::verify(
                "node",
                &args,
                &config.backup,
                config.limits.sled_cache_bytes,
            )
        }
        Command::Restore { common, args } => {
            let (config, data_dir) = load(&common)?;
            backup_cli::restore(
                "node",
                &args,
                &config.backup,
                &data_dir,
                config.limits.sled_cache_bytes,
            )?;
            println!(
                "next: start the node with its bundle (`node serve --bundle ...`); it replicates with central and pulls every document of region {} that central holds",
                config.reference.region.code
            );
            Ok(())
        }
        Command::Audit {
            common,
            action: AuditAction::Verify,
        } => {
            let (config, data_dir) = load(&common)?;
            if !data_dir.exists() {
                anyhow::bail!("no node database at {}", data_dir.display());
            }
            let store = open_store(&data_dir, &config)?;
            backup_cli::audit_verify(&*store)
        }
        Command::ImportWarnings { common, file } => {
            let (config, data_dir) = load(&common)?;
            let format = crate::warnings::ImportFormat::from_path(&file)?;
            let meta = std::fs::metadata(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            if meta.len() as usize > crate::warnings::WARNINGS_IMPORT_BYTES_MAX {
                anyhow::bail!(
                    "{} is {} bytes; at most {} bytes can be imported at once",
                    file.display(),
                    meta.len(),
                    crate::warnings::WARNINGS_IMPORT_BYTES_MAX
                );
            }
            let bytes =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let year = crate::warnings::year_of(server_kit::clock::now_ms());
            let parsed = crate::warnings::parse_import(&bytes, format, year)
                .with_context(|| format!("{}", file.display()))?;
            for bad in &parsed.bad {
                eprintln!("{}:{}: {}", file.display(), bad.line, bad.message);
            }
            let node = open_existing_or_new(&config, &data_dir, &common).await?;
            let good = parsed.good.len();
            let stored = node
                .warnings
                .import(
                    &node.gc,
                    &node.audit,
                    CLI_ACTOR,
                    parsed.good,
                    server_kit::clock::now_ms(),
                )
                .await?;
            node.store.flush()?;
            println!(
                "imported {stored} of {good} good rows; {} bad row(s) reported above",
                parsed.bad.len()
            );
            Ok(())
        }
    }
}
