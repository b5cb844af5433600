//! Media server configuration, validated once into the form the server uses.

use crate::error::MediaError;
use serde::Deserialize;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

/// How the media server binds, records and times out. Every field has a default, so a config
/// file only needs the keys it changes.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MediaConfig {
    /// The address every peer connection binds and announces as its only (host) candidate.
    pub bind_ip: IpAddr,
    /// The address browsers are told to reach instead of `bind_ip` (1:1 NAT: a firewall
    /// forwards it to `bind_ip`, port for port). `None` announces `bind_ip` itself.
    pub announced_ip: Option<IpAddr>,
    /// Lowest UDP port a peer connection may bind; each peer connection binds one port.
    pub udp_port_min: u16,
    /// Highest UDP port a peer connection may bind (inclusive).
    pub udp_port_max: u16,
    /// Recordings go to `{recordings_dir}/{call_id}/`; nothing is written anywhere else.
    pub recordings_dir: PathBuf,
    /// A leg whose ICE has not connected this long after its offer, or stays disconnected this
    /// long, is closed and reported with [`crate::MediaEvent::Failed`].
    pub ice_connect_timeout_ms: u64,
    /// Recording files are flushed and `fdatasync`ed at least this often, so a crash loses at
    /// most about this much media.
    pub recording_sync_interval_ms: u64,
}

impl Default for MediaConfig {
    fn default() -> Self {
        MediaConfig {
            bind_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            announced_ip: None,
            udp_port_min: 40_000,
            udp_port_max: 40_999,
            recordings_dir: PathBuf::from("data/recordings"),
            ice_connect_timeout_ms: 10_000,
            recording_sync_interval_ms: 1_000,
        }
    }
}

/// [`MediaConfig`] after validation.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub bind_ip: IpAddr,
    pub announced_ip: Option<IpAddr>,
    pub udp_port_min: u16,
    pub udp_port_max: u16,
    pub recordings_dir: PathBuf,
    pub ice_connect_timeout: Duration,
    pub recording_sync_interval: Duration,
}

impl MediaConfig {
    pub(crate) fn validate(&self) -> Result<Settings, MediaError> {
        if self.bind_ip.is_unspecified() {
            return Err(MediaError::InvalidConfig(
                "bind_ip must be a concrete address (it is announced to browsers), not 0.0.0.0 or ::"
                    .into(),
            ));
        }
        if let Some(announced) = self.announced_ip {
            if announced.is_unspecified() || announced.is_ipv4() != self.bind_ip.is_ipv4() {
                return Err(MediaError::InvalidConfig(format!(
                    "announced_ip {announced} must be a concrete address of the same family as bind_ip {}",
                    self.bind_ip
                )));
            }
        }
        if self.udp_port_min == 0 || self.udp_port_min > self.udp_port_max {
            return Err(MediaError::InvalidConfig(format!(
                "udp_port_min ({}) must be at least 1 and not above udp_port_max ({})",
                self.udp_port_min, self.udp_port_max
            )));
        }
        if self.ice_connect_timeout_ms == 0 {
            return Err(MediaError::InvalidConfig(
                "ice_connect_timeout_ms must be above 0".into(),
            ));
        }
        if self.recording_sync_interval_ms == 0 {
            return Err(MediaError::InvalidConfig(
                "recording_sync_interval_ms must be above 0".into(),
            ));
        }
        if self.recordings_dir.as_os_str().is_empty() {
            return Err(MediaError::InvalidConfig(
                "recordings_dir must not be empty".into(),
            ));
        }
        Ok(Settings {
            bind_ip: self.bind_ip,
            announced_ip: self.announced_ip,
            udp_port_min: self.udp_port_min,
            udp_port_max: self.udp_port_max,
            recordings_dir: self.recordings_dir.clone(),
            ice_connect_timeout: Duration::from_millis(self.ice_connect_timeout_ms),
            recording_sync_interval: Duration::from_millis(self.recording_sync_interval_ms),
        })
    }
}
