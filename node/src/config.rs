//! Node configuration: an embedded default (a demo region that runs as is) with an optional file
//! on top. Raw values are validated once here into typed settings.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sync::{Reference, UnitKind};

pub const DEFAULT_CONFIG_TOML: &str = include_str!("../config/default.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub node: NodeSection,
    pub limits: LimitsSection,
    pub accounts: AccountsSection,
    pub reference: Reference,
    pub units: Vec<UnitConfig>,
    /// Citizen calls, media and recordings.
    pub calls: crate::calls::CallsSection,
    /// Where the МВД central hub is. Replication to it arrives with the replication spine; until
    /// then the node records the address and works stand-alone, as it must when cut off.
    #[serde(default)]
    pub central: Option<CentralSection>,
    /// This node's TLS identity (from a provisioning bundle). Paths are relative to the bundle.
    #[serde(default)]
    pub tls: Option<TlsSection>,
    /// HTTPS for the console, the API and the citizen signalling; plain HTTP is served only on
    /// a loopback address.
    #[serde(default)]
    pub https: Option<crate::https::HttpsSection>,
    /// Duplicate suggestions while a card is filled (same address, nearby, same phone).
    #[serde(default)]
    pub duplicates: DuplicatesSection,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CentralSection {
    /// `host:port` of the central hub.
    pub address: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSection {
    pub ca_cert: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
    #[serde(default)]
    pub crl: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSection {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    pub sample_warnings: bool,
    /// City names that never distinguish two addresses in this region (address warnings).
    #[serde(default)]
    pub city_names: Vec<String>,
    /// Reverse proxies (CIDR) whose `X-Forwarded-For` names the real client; empty when the node
    /// faces clients directly. Per-source limits and login throttling use the real client.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// Mark the session cookie `Secure` (the console is served over HTTPS, directly or by a
    /// TLS-terminating proxy).
    #[serde(default)]
    pub secure_cookies: bool,
}

impl NodeSection {
    /// The trusted proxies, parsed; an entry that is not CIDR is named.
    pub fn trusted_proxy_networks(&self) -> anyhow::Result<Vec<ipnet::IpNet>> {
        self.trusted_proxies
            .iter()
            .map(|r| {
                r.trim().parse::<ipnet::IpNet>().map_err(|e| {
                    anyhow::anyhow!(
                        "node.trusted_proxies: {r:?} is not a CIDR range such as 10.0.0.0/8 ({e})"
                    )
                })
            })
            .collect()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsSection {
    pub http_body_bytes_max: usize,
    pub card_cache_docs_max: usize,
    pub doc_chunks_max: usize,
    pub sled_cache_bytes: u64,
    pub live_events_buffer_max: usize,
    pub list_cards_max: usize,
    pub group_commit_window_us: u64,
}

/// `[accounts]`, shared with the hub.
pub use server_kit::config::{merge_toml, resolve_layer_paths, AccountsSection};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitConfig {
    pub id: String,
    pub call_sign: String,
    pub kind: UnitKind,
}

/// Config keys (dotted) that name files: in a config file they are relative to that file's
/// directory (a bundle's `node.toml` names its own `web.crt`), resolved before layers merge.
pub const NODE_PATH_KEYS: [&str; 3] = ["https.cert", "https.key", "calls.turn.secret_file"];

impl Config {
    /// The embedded default, optionally overlaid by `file`. Errors name the file and the problem.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Config> {
        Self::load_layers(&file.into_iter().collect::<Vec<_>>())
    }

    /// The embedded default overlaid by each file in turn (e.g. a bundle's `node.toml`, then the
    /// operator's own config).
    pub fn load_layers(files: &[&Path]) -> anyhow::Result<Config> {
        let (value, name) = server_kit::config::layered(
            &[DEFAULT_CONFIG_TOML, sync::reference::DEMO_REFERENCE_TOML],
            files,
            &NODE_PATH_KEYS,
        )?;
        let config: Config = value
            .try_into()
            .map_err(|e| anyhow::anyhow!("config {name}: {e}"))?;
        config
            .reference
            .validate()
            .map_err(|e| anyhow::anyhow!("config {name}: reference: {e}"))?;
        if config.limits.http_body_bytes_max < 1024 {
            anyhow::bail!("config {name}: limits.http_body_bytes_max must be at least 1024 bytes");
        }
        if config.limits.group_commit_window_us > 100_000 {
            anyhow::bail!("config {name}: limits.group_commit_window_us must be at most 100000 µs");
        }
        if config.limits.doc_chunks_max == 0 {
            anyhow::bail!("config {name}: limits.doc_chunks_max must be positive");
        }
        config
            .calls
            .validate()
            .map_err(|e| anyhow::anyhow!("config {name}: {e}"))?;
        config
            .duplicates
            .validate()
            .map_err(|e| anyhow::anyhow!("config {name}: {e}"))?;
        let mut ids = std::collections::BTreeSet::new();
        for u in &config.units {
            if !ids.insert(&u.id) {
                anyhow::bail!("config {name}: unit id {} is listed twice", u.id);
            }
        }
        Ok(config)
    }
}

/// `[duplicates]`: what a duplicate suggestion is, while a card is filled.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DuplicatesSection {
    /// Open cards within this distance of the new card's point are suggested, metres.
    pub radius_m: f64,
    /// Open cards from the same phone created within this many minutes are suggested, minutes.
    pub phone_window_min: i64,
}

/// Largest accepted `duplicates.radius_m`, metres.
pub const DUPLICATES_RADIUS_M_MAX: f64 = 5_000.0;
/// Largest accepted `duplicates.phone_window_min`, minutes (a day).
pub const DUPLICATES_PHONE_WINDOW_MIN_MAX: i64 = 1_440;

impl Default for DuplicatesSection {
    fn default() -> Self {
        DuplicatesSection {
            radius_m: 150.0,
            phone_window_min: 30,
        }
    }
}

impl DuplicatesSection {
    pub fn validate(&self) -> Result<(), String> {
        if !(self.radius_m > 0.0 && self.radius_m <= DUPLICATES_RADIUS_M_MAX) {
            return Err(format!(
                "duplicates.radius_m must be above 0 and at most {DUPLICATES_RADIUS_M_MAX} m"
            ));
        }
        if !(1..=DUPLICATES_PHONE_WINDOW_MIN_MAX).contains(&self.phone_window_min) {
            return Err(format!(
                "duplicates.phone_window_min must be 1 to {DUPLICATES_PHONE_WINDOW_MIN_MAX} minutes"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_default_is_valid_and_has_the_demo_region() {
        let c = Config::load(None).unwrap();
        assert_eq!(c.reference.region.code, "AST");
        assert_eq!(
            c.units
                .iter()
                .filter(|u| u.kind == UnitKind::Patrol)
                .count(),
            10
        );
        assert_eq!(
            c.units
                .iter()
                .filter(|u| u.kind == UnitKind::InvestigativeGroup)
                .count(),
            1
        );
    }

    #[test]
    fn r08_demo_region_has_street_aliases() {
        let value: toml::Value = toml::from_str(sync::reference::DEMO_REFERENCE_TOML).unwrap();
        let groups = value["reference"]
            .get("street_aliases")
            .and_then(|v| v.as_array())
            .map_or(0, Vec::len);
        assert!(groups > 0, "the demo region lists street aliases");
    }

    #[test]
    fn r08_street_aliases_in_a_config_file_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("reference.toml");
        std::fs::write(
            &f,
            "[[reference.street_aliases]]\nnames = [\"Победы\", \"Жеңіс\"]\n",
        )
        .unwrap();
        Config::load(Some(&f)).unwrap();
        std::fs::write(&f, "[[reference.street_aliases]]\nnames = [\"Победы\"]\n").unwrap();
        let err = Config::load(Some(&f)).unwrap_err().to_string();
        assert!(
            err.contains("reference.toml") && err.contains("street-alias group 1"),
            "{err}"
        );
    }

    #[test]
    fn a_file_overrides_only_what_it_names_and_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("node.toml");
        std::fs::write(&f, "[node]\nlisten = \"127.0.0.1:9999\"\n").unwrap();
        let c = Config::load(Some(&f)).unwrap();
        assert_eq!(c.node.listen.port(), 9999);
        assert_eq!(c.node.data_dir, PathBuf::from("data/node"));
        std::fs::write(&f, "[node]\nlisten = 5\n").unwrap();
        let err = Config::load(Some(&f)).unwrap_err().to_string();
        assert!(err.contains("node.toml"), "{err}");
        std::fs::write(&f, "[node]\nlisen = \"x\"\n").unwrap();
        assert!(Config::load(Some(&f)).is_err(), "unknown keys are refused");
    }
}
