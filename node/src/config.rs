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
    /// Field terminals (patrol cars' MDTs): their QUIC listener, revocation list, AVL retention.
    #[serde(default)]
    pub field: FieldSection,
    /// The map: tile file, road graph, address register (all optional).
    #[serde(default)]
    pub map: MapSection,
    /// The telephone operator's caller-location lookup (R35); absent: none is connected.
    #[serde(default)]
    pub caller_location: Option<CallerLocationSection>,
    /// The state database of persons and legal entities for form З-1 (R31); absent: none is
    /// connected and З-1 is filled by hand.
    #[serde(default)]
    pub state_register: Option<crate::state_register::StateRegisterSection>,
    /// The region's Telegram bot; absent: none is connected.
    #[serde(default)]
    pub telegram: Option<TelegramSection>,
    /// The region's VKontakte community (Callback API); absent: none is connected.
    #[serde(default)]
    pub vk: Option<VkSection>,
    /// The region's mailbox: the SMTP listener and the relay answers leave through (R01).
    #[serde(default)]
    pub email: Option<crate::channels::email::EmailSection>,
    /// `[widget]`: the sites that may embed the chat widget.
    #[serde(default)]
    pub widget: crate::channels::widget::WidgetSection,
    /// Personal reception (R31): the ЛП-1 reference lists.
    #[serde(default)]
    pub reception: ReceptionSection,
    /// District inspectors' report meetings (R22–R26): the beats reference.
    #[serde(default)]
    pub meetings: MeetingsSection,
    /// `[backup]`: where `node backup` writes, with which key, and how long backups are kept.
    #[serde(default)]
    pub backup: server_kit::backup::BackupSection,
}

/// `[meetings]`: where the region's beats reference comes from.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MeetingsSection {
    /// The beat offices (with their heads), the administrative beats (territory, inspector,
    /// helpers) and the invitation list of p.26–28, in the TOML format of
    /// `sync::meetings::reference` (checked against the region's districts at start); `None`:
    /// the embedded demo beats, marked sample data.
    pub beats_file: Option<PathBuf>,
}

/// `[reception]`: where the ЛП-1 reference lists come from.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReceptionSection {
    /// The reference lists (КАТО, social status, nature of the question, decision, nationality,
    /// citizenship, language) in the format of `sync::reception::reference`; `None`: the
    /// embedded demo lists, marked sample data.
    pub reference_file: Option<PathBuf>,
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
    /// Training mode (staff training, seed 001 p.28.4): the node runs on its own data
    /// directory (`crate::training::training_data_dir`) seeded with the embedded demo data,
    /// never replicates, never connects a real channel or outside system, and marks every page
    /// it serves. See [`Config::for_training`]. `node --training` sets it too.
    #[serde(default)]
    pub training: bool,
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
pub const NODE_PATH_KEYS: [&str; 16] = [
    "https.cert",
    "https.key",
    "calls.turn.secret_file",
    "field.crl",
    "map.tiles",
    "map.roads",
    "map.addresses",
    "telegram.token_file",
    "telegram.ca_file",
    "vk.token_file",
    "vk.secret_file",
    "vk.ca_file",
    "email.relay.ca_file",
    "email.relay.password_file",
    "reception.reference_file",
    "meetings.beats_file",
];

impl Config {
    /// This configuration as a training node runs it: `node.training` set, and every link to
    /// the outside world removed, whatever the files said — the central hub (no replication),
    /// field terminals (real patrol cars), Telegram, VK and e-mail (real citizens' messages in
    /// and answers out), the caller-location lookup and the state register (real personal
    /// data). The demo address warnings are loaded on its first start instead of the real
    /// registry. The region's reference data, units and limits stay, so staff train on their
    /// own region. Idempotent.
    pub fn for_training(mut self) -> Config {
        self.node.training = true;
        self.node.sample_warnings = true;
        self.central = None;
        self.field.listen = None;
        self.telegram = None;
        self.vk = None;
        self.email = None;
        self.caller_location = None;
        self.state_register = None;
        self
    }

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
        config
            .field
            .validate()
            .map_err(|e| anyhow::anyhow!("config {name}: {e}"))?;
        config
            .map
            .validate()
            .map_err(|e| anyhow::anyhow!("config {name}: {e}"))?;
        config
            .widget
            .origins()
            .map_err(|e| anyhow::anyhow!("config {name}: {e}"))?;
        if let Some(e) = &config.email {
            e.validate()
                .map_err(|e| anyhow::anyhow!("config {name}: {e}"))?;
        }
        if let Some(c) = &config.caller_location {
            c.validate()
                .map_err(|e| anyhow::anyhow!("config {name}: {e}"))?;
        }
        if let Some(c) = &config.state_register {
            c.validate()
                .map_err(|e| anyhow::anyhow!("config {name}: {e}"))?;
        }
        if let Some(t) = &config.telegram {
            t.validate()
                .map_err(|e| anyhow::anyhow!("config {name}: {e}"))?;
        }
        if let Some(v) = &config.vk {
            v.validate()
                .map_err(|e| anyhow::anyhow!("config {name}: {e}"))?;
        }
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

/// `[field]`: field terminals (FieldTerminal) of this region's units.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FieldSection {
    /// QUIC address terminals dial (ALPN `mvd102-field`); `None` accepts no terminals. Needs the
    /// node's TLS identity (`[tls]`).
    pub listen: Option<SocketAddr>,
    /// The CA's revocation list (PEM), checked at every terminal's handshake; a bundle from
    /// `provisioning add-region` names its `crl.pem`.
    pub crl: Option<PathBuf>,
    /// Unit positions (AVL) are kept this long, days.
    pub position_retention_days: u32,
    /// A unit's offline safety pack expires this long after it is issued unless the roster says
    /// when the shift ends, hours.
    pub shift_hours: u32,
}

/// Longest accepted `field.position_retention_days` (5 years), days.
pub const POSITION_RETENTION_DAYS_MAX: u32 = 1_830;
/// Longest accepted `field.shift_hours`, hours.
pub const SHIFT_HOURS_MAX: u32 = 24;

impl Default for FieldSection {
    fn default() -> Self {
        FieldSection {
            listen: None,
            crl: None,
            position_retention_days: 365,
            shift_hours: 12,
        }
    }
}

impl FieldSection {
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=POSITION_RETENTION_DAYS_MAX).contains(&self.position_retention_days) {
            return Err(format!(
                "field.position_retention_days must be 1 to {POSITION_RETENTION_DAYS_MAX} days"
            ));
        }
        if !(1..=SHIFT_HOURS_MAX).contains(&self.shift_hours) {
            return Err(format!(
                "field.shift_hours must be 1 to {SHIFT_HOURS_MAX} hours"
            ));
        }
        Ok(())
    }
}

/// `[map]`: what the map and the closest-unit recommendation have to work with.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MapSection {
    /// A PMTiles file the node serves its map tiles from (the region's bundle has one); `None`:
    /// the map shows district outlines only.
    pub tiles: Option<PathBuf>,
    /// A road graph (CSV) for travel times; `None`: straight-line distance times
    /// `road_distance_factor` at `average_speed_kmh`.
    pub roads: Option<PathBuf>,
    /// The address register (CSV) typed addresses are geocoded against.
    pub addresses: Option<PathBuf>,
    /// Road distance per straight-line distance, when there is no road graph.
    pub road_distance_factor: f64,
    /// Average patrol speed for an estimated time without a road graph, km/h.
    pub average_speed_kmh: f64,
}

impl Default for MapSection {
    fn default() -> Self {
        MapSection {
            tiles: None,
            roads: None,
            addresses: None,
            road_distance_factor: 1.4,
            average_speed_kmh: 40.0,
        }
    }
}

impl MapSection {
    pub fn validate(&self) -> Result<(), String> {
        if !(1.0..=5.0).contains(&self.road_distance_factor) {
            return Err("map.road_distance_factor must be 1.0 to 5.0".into());
        }
        if !(5.0..=150.0).contains(&self.average_speed_kmh) {
            return Err("map.average_speed_kmh must be 5 to 150 km/h".into());
        }
        Ok(())
    }
}

/// `[caller_location]`: the telephone operator's location lookup (R35).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallerLocationSection {
    /// Base URL of the operator's gateway (see node/API.md, "Caller location adapter").
    pub url: String,
    /// Longest wait for an answer, ms.
    #[serde(default = "caller_location_timeout_ms")]
    pub timeout_ms: u64,
}

fn caller_location_timeout_ms() -> u64 {
    2_000
}

/// Longest accepted `caller_location.timeout_ms`: a lookup must not hold a card up, ms.
pub const CALLER_LOCATION_TIMEOUT_MS_MAX: u64 = 10_000;

impl CallerLocationSection {
    pub fn validate(&self) -> Result<(), String> {
        if !(self.url.starts_with("http://") || self.url.starts_with("https://")) {
            return Err("caller_location.url must be an http:// or https:// URL".into());
        }
        if !(1..=CALLER_LOCATION_TIMEOUT_MS_MAX).contains(&self.timeout_ms) {
            return Err(format!(
                "caller_location.timeout_ms must be 1 to {CALLER_LOCATION_TIMEOUT_MS_MAX} ms"
            ));
        }
        Ok(())
    }
}

/// `[telegram]`: the region's Telegram bot (README, "Connecting a Telegram bot").
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelegramSection {
    /// The bot's token (from @BotFather) is in this file...
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// ...or in this environment variable.
    #[serde(default)]
    pub token_env: Option<String>,
    /// The Bot API's base URL.
    #[serde(default = "telegram_api_url")]
    pub api_url: String,
    /// The public HTTPS address Telegram posts updates to (this node's
    /// `/channels/telegram/webhook`, as the region's reverse proxy publishes it); set with
    /// `setWebhook` at start. Absent: the node fetches updates by long polling (`getUpdates`).
    #[serde(default)]
    pub webhook_url: Option<String>,
    /// How long one long poll waits for updates, s.
    #[serde(default = "telegram_poll_timeout_s")]
    pub poll_timeout_s: u64,
    /// The region's public Telegram channel a meeting's notice is posted to (R37): its
    /// `@username` or numeric chat id (`-100…`); the bot must be one of its administrators.
    /// Absent: a notice's Telegram post fails with a reason the inspector sees.
    #[serde(default)]
    pub channel_chat_id: Option<String>,
    /// The CA certificates trusted for an HTTPS `api_url` (PEM bundle).
    #[serde(default = "system_ca_file")]
    pub ca_file: PathBuf,
}

/// `[vk]`: the region's VKontakte community, its Callback API server (README, "Connecting a VK
/// community").
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VkSection {
    /// The community's id: events for another community are refused.
    pub group_id: i64,
    /// The string the Callback API's `confirmation` request must be answered with.
    pub confirmation: String,
    /// The Callback API's secret key is in this file...
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
    /// ...or in this environment variable.
    #[serde(default)]
    pub secret_env: Option<String>,
    /// The community's access token (messages) is in this file...
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// ...or in this environment variable.
    #[serde(default)]
    pub token_env: Option<String>,
    /// The API's base URL (methods are under `/method/`).
    #[serde(default = "vk_api_url")]
    pub api_url: String,
    /// The API version `messages.send` is called with (5.103 or later: the Callback API's
    /// `message_new` shape this node reads).
    #[serde(default = "vk_api_version")]
    pub api_version: String,
    /// The CA certificates trusted for an HTTPS `api_url` (PEM bundle).
    #[serde(default = "system_ca_file")]
    pub ca_file: PathBuf,
}

fn telegram_api_url() -> String {
    "https://api.telegram.org".into()
}
fn telegram_poll_timeout_s() -> u64 {
    25
}
fn vk_api_url() -> String {
    "https://api.vk.com".into()
}
fn vk_api_version() -> String {
    "5.199".into()
}
fn system_ca_file() -> PathBuf {
    PathBuf::from("/etc/ssl/certs/ca-certificates.crt")
}

/// Longest accepted `telegram.poll_timeout_s` (Telegram's proxies cut longer polls), s.
pub const TELEGRAM_POLL_TIMEOUT_S_MAX: u64 = 50;
/// The oldest VK API version whose `message_new` this node reads (`object.message`).
pub const VK_API_VERSION_MIN: (u32, u32) = (5, 103);

fn check_api_url(key: &str, url: &str) -> Result<(), String> {
    if !(url.starts_with("http://") || url.starts_with("https://")) || url.ends_with('/') {
        return Err(format!(
            "{key} must be an http:// or https:// URL without a trailing slash"
        ));
    }
    Ok(())
}

impl TelegramSection {
    pub fn validate(&self) -> Result<(), String> {
        if self.token_file.is_some() == self.token_env.is_some() {
            return Err("telegram: give token_file or token_env (one of them)".into());
        }
        check_api_url("telegram.api_url", &self.api_url)?;
        if let Some(w) = &self.webhook_url {
            if !w.starts_with("https://") {
                return Err(
                    "telegram.webhook_url must be an https:// URL (Telegram posts only over HTTPS)"
                        .into(),
                );
            }
        }
        if let Some(c) = &self.channel_chat_id {
            let username = c.strip_prefix('@').is_some_and(|u| {
                !u.is_empty() && u.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            });
            if !username && c.parse::<i64>().is_err() {
                return Err(
                    "telegram.channel_chat_id must be the channel's @username or numeric chat id"
                        .into(),
                );
            }
        }
        if !(1..=TELEGRAM_POLL_TIMEOUT_S_MAX).contains(&self.poll_timeout_s) {
            return Err(format!(
                "telegram.poll_timeout_s must be 1 to {TELEGRAM_POLL_TIMEOUT_S_MAX} s"
            ));
        }
        Ok(())
    }
}

impl VkSection {
    pub fn validate(&self) -> Result<(), String> {
        if self.group_id <= 0 {
            return Err("vk.group_id must be the community's positive id".into());
        }
        if self.confirmation.trim().is_empty() {
            return Err("vk.confirmation must be the string the Callback API asks for".into());
        }
        if self.secret_file.is_some() == self.secret_env.is_some() {
            return Err("vk: give secret_file or secret_env (one of them)".into());
        }
        if self.token_file.is_some() == self.token_env.is_some() {
            return Err("vk: give token_file or token_env (one of them)".into());
        }
        check_api_url("vk.api_url", &self.api_url)?;
        let version = self
            .api_version
            .split_once('.')
            .and_then(|(a, b)| Some((a.parse::<u32>().ok()?, b.parse::<u32>().ok()?)));
        match version {
            Some(v) if v >= VK_API_VERSION_MIN => Ok(()),
            _ => Err(format!(
                "vk.api_version must be {}.{} or later, such as 5.199",
                VK_API_VERSION_MIN.0, VK_API_VERSION_MIN.1
            )),
        }
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

    #[test]
    fn r01_telegram_and_vk_sections_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("node.toml");
        std::fs::write(
            &f,
            "[telegram]\ntoken_file = \"tg.token\"\n[vk]\ngroup_id = 5\nconfirmation = \"abc\"\nsecret_env = \"VK_SECRET\"\ntoken_file = \"vk.token\"\n",
        )
        .unwrap();
        let c = Config::load(Some(&f)).unwrap();
        let t = c.telegram.unwrap();
        assert_eq!(
            t.token_file,
            Some(dir.path().join("tg.token")),
            "relative to the file"
        );
        assert_eq!(t.api_url, "https://api.telegram.org");
        assert_eq!(t.webhook_url, None);
        let v = c.vk.unwrap();
        assert_eq!((v.group_id, v.api_version.as_str()), (5, "5.199"));
        for (bad, says) in [
            ("[telegram]\n", "token_file or token_env"),
            ("[telegram]\ntoken_env = \"T\"\nwebhook_url = \"http://x\"\n", "https://"),
            ("[telegram]\ntoken_env = \"T\"\napi_url = \"https://x/\"\n", "trailing slash"),
            ("[telegram]\ntoken_env = \"T\"\nchannel_chat_id = \"my channel\"\n", "channel_chat_id"),
            ("[vk]\ngroup_id = 5\nconfirmation = \"a\"\nsecret_env = \"S\"\ntoken_env = \"T\"\napi_version = \"5.92\"\n", "5.103"),
            ("[vk]\ngroup_id = 5\nconfirmation = \"a\"\ntoken_env = \"T\"\n", "secret_file or secret_env"),
        ] {
            std::fs::write(&f, bad).unwrap();
            let err = Config::load(Some(&f)).unwrap_err().to_string();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }
}
