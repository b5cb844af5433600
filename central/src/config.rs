//! Central configuration: embedded defaults, optionally overlaid by files (the central bundle's
//! `central.toml`, then the operator's).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub const DEFAULT_CONFIG_TOML: &str = include_str!("../config/default.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub central: CentralSection,
    pub accounts: AccountsSection,
    /// From the central bundle's `central.toml`; paths relative to the bundle.
    #[serde(default)]
    pub tls: Option<TlsSection>,
    /// HTTPS for HQ's dashboard and API; plain HTTP is served only on a loopback address.
    #[serde(default)]
    pub https: Option<server_kit::https::HttpsSection>,
    /// HQ's map: a national PMTiles file; absent, the dashboard's map shows outlines only.
    #[serde(default)]
    pub map: MapSection,
    /// Personal reception (R31): the ЛП-1 reference lists reception records are read with.
    #[serde(default)]
    pub reception: ReceptionSection,
    /// `[backup]`: where `central backup` writes, with which key, and how long backups are kept.
    #[serde(default)]
    pub backup: server_kit::backup::BackupSection,
}

/// `[reception]`: the ЛП-1 reference lists (as the regions' nodes have them; report 1-ОЛ maps
/// field 25's decisions to section 5's columns with them).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReceptionSection {
    /// In the format of `sync::reception::reference` (relative to the config file that names
    /// it); `None`: the embedded demo lists, marked sample data. Records already in the report
    /// ledger keep what they were read with until the store is reindexed.
    pub reference_file: Option<PathBuf>,
}

/// `[map]`: the tile file HQ's dashboard draws the national map from.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MapSection {
    /// A PMTiles file (relative to the config file that names it), validated at start.
    #[serde(default)]
    pub tiles: Option<PathBuf>,
}

/// Config keys (dotted) that name files, relative to the file that sets them.
pub const CENTRAL_PATH_KEYS: [&str; 4] = [
    "https.cert",
    "https.key",
    "map.tiles",
    "reception.reference_file",
];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CentralSection {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    pub quic_listen: SocketAddr,
    pub disconnect_alert_after_s: u64,
    /// How often the hub looks whether its bundle's crl.pem was replaced, seconds: a region
    /// revoked at HQ is refused at its next handshake without restarting the hub.
    #[serde(default = "crl_recheck_s_default")]
    pub crl_recheck_s: u64,
    pub sled_cache_bytes: u64,
    pub http_body_bytes_max: usize,
    /// Incremental chunks per stored document before it is compacted into one snapshot.
    #[serde(default = "doc_chunks_max_default")]
    pub doc_chunks_max: usize,
    /// The hub's name in its certificate (from the bundle).
    #[serde(default)]
    pub name: Option<String>,
    /// Reverse proxies (CIDR) whose X-Forwarded-For names the real client.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// Mark the session cookie Secure (the dashboard is served over HTTPS).
    #[serde(default)]
    pub secure_cookies: bool,
}

fn crl_recheck_s_default() -> u64 {
    30
}

fn doc_chunks_max_default() -> usize {
    server_kit::docs::DOC_CHUNKS_MAX_DEFAULT
}

/// HQ accounts: the node's account rules and settings.
pub use server_kit::config::AccountsSection;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSection {
    pub ca_cert: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
    #[serde(default)]
    pub crl: Option<PathBuf>,
}

impl Config {
    /// The embedded default overlaid by each file in turn. Errors name the file.
    pub fn load_layers(files: &[&Path]) -> anyhow::Result<Config> {
        let (value, name) =
            server_kit::config::layered(&[DEFAULT_CONFIG_TOML], files, &CENTRAL_PATH_KEYS)?;
        let config: Config = value
            .try_into()
            .map_err(|e| anyhow::anyhow!("config {name}: {e}"))?;
        if config.central.http_body_bytes_max < 1024 {
            anyhow::bail!("config {name}: central.http_body_bytes_max must be at least 1024 bytes");
        }
        if config.central.doc_chunks_max == 0 {
            anyhow::bail!("config {name}: central.doc_chunks_max must be positive");
        }
        Ok(config)
    }
}
