//! The terminal's own settings (`[terminal]` of the file `--config` names; every key optional),
//! validated once into [`TerminalSettings`].

use std::net::SocketAddr;
use std::path::Path;

use serde::Deserialize;

use crate::vault::KdfParams;

/// Where the UI is served by default: the local browser (or kiosk window) only.
pub const LISTEN_DEFAULT: &str = "127.0.0.1:8088";
/// How long the data of a shift live when the pack names no end, hours (the node's `[field]
/// shift_hours` default).
pub const SHIFT_HOURS_DEFAULT: u32 = 12;
/// The longest shift accepted, hours.
pub const SHIFT_HOURS_MAX: u32 = 24;
/// An officer idle this long is logged out and the data key dropped from memory, minutes. 30
/// minutes is the session lock of the CJIS Security Policy (5.5.5) that in-car terminals follow;
/// the UI's taps and keys count as activity, its own polling does not.
pub const IDLE_LOGOUT_MINUTES_DEFAULT: u32 = 30;
/// The longest idle time that may be configured, minutes.
pub const IDLE_LOGOUT_MINUTES_MAX: u32 = 12 * 60;
/// Largest config file read, bytes.
pub const CONFIG_BYTES_MAX: usize = 64 * 1024;

/// Where and how often positions are recorded (the policy of `sync::field::PositionThrottle`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PositionSettings {
    pub moving_interval_ms: i64,
    pub moving_distance_m: f64,
    pub parked_interval_ms: i64,
}

impl Default for PositionSettings {
    fn default() -> Self {
        PositionSettings {
            moving_interval_ms: 15_000,
            moving_distance_m: 10.0,
            parked_interval_ms: 120_000,
        }
    }
}

/// Validated settings.
#[derive(Debug, Clone)]
pub struct TerminalSettings {
    pub listen: SocketAddr,
    pub shift_hours: u32,
    pub idle_logout_ms: i64,
    pub position: PositionSettings,
    pub kdf: KdfParams,
}

impl Default for TerminalSettings {
    fn default() -> Self {
        TerminalSettings {
            listen: LISTEN_DEFAULT.parse().expect("a constant address"),
            shift_hours: SHIFT_HOURS_DEFAULT,
            idle_logout_ms: i64::from(IDLE_LOGOUT_MINUTES_DEFAULT) * 60_000,
            position: PositionSettings::default(),
            kdf: KdfParams::DEFAULT,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    terminal: RawTerminal,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTerminal {
    listen: Option<String>,
    shift_hours: Option<u32>,
    idle_logout_minutes: Option<u32>,
    position_moving_interval_ms: Option<i64>,
    position_moving_distance_m: Option<f64>,
    position_parked_interval_ms: Option<i64>,
    kdf_memory_kib: Option<u32>,
    kdf_passes: Option<u32>,
}

impl TerminalSettings {
    /// Reads `[terminal]` of `path` over the defaults. Errors name the file and the key.
    pub fn from_file(path: &Path) -> Result<TerminalSettings, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if text.len() > CONFIG_BYTES_MAX {
            return Err(format!(
                "{} is larger than {CONFIG_BYTES_MAX} bytes",
                path.display()
            ));
        }
        Self::from_toml(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn from_toml(text: &str) -> Result<TerminalSettings, String> {
        let file: File = toml::from_str(text).map_err(|e| e.to_string())?;
        let raw = file.terminal;
        let mut s = TerminalSettings::default();
        if let Some(l) = raw.listen {
            s.listen = l
                .parse()
                .map_err(|_| format!("[terminal] listen = {l:?} is not an address:port"))?;
        }
        if let Some(h) = raw.shift_hours {
            if !(1..=SHIFT_HOURS_MAX).contains(&h) {
                return Err(format!(
                    "[terminal] shift_hours = {h}: 1 to {SHIFT_HOURS_MAX}"
                ));
            }
            s.shift_hours = h;
        }
        if let Some(m) = raw.idle_logout_minutes {
            if !(1..=IDLE_LOGOUT_MINUTES_MAX).contains(&m) {
                return Err(format!(
                    "[terminal] idle_logout_minutes = {m}: 1 to {IDLE_LOGOUT_MINUTES_MAX}"
                ));
            }
            s.idle_logout_ms = i64::from(m) * 60_000;
        }
        if let Some(v) = raw.position_moving_interval_ms {
            s.position.moving_interval_ms = v;
        }
        if let Some(v) = raw.position_moving_distance_m {
            s.position.moving_distance_m = v;
        }
        if let Some(v) = raw.position_parked_interval_ms {
            s.position.parked_interval_ms = v;
        }
        let p = s.position;
        if p.moving_interval_ms < 1_000
            || p.parked_interval_ms < p.moving_interval_ms
            || !(p.moving_distance_m.is_finite() && p.moving_distance_m >= 0.0)
        {
            return Err("[terminal] position_moving_interval_ms must be at least 1000, position_parked_interval_ms at least that, position_moving_distance_m 0 or more".into());
        }
        if let Some(m) = raw.kdf_memory_kib {
            s.kdf.memory_kib = m;
        }
        if let Some(p) = raw.kdf_passes {
            s.kdf.passes = p;
        }
        if s.kdf.memory_kib < 8 * 1024 || s.kdf.memory_kib > KdfParams::MAX.memory_kib {
            return Err(format!(
                "[terminal] kdf_memory_kib = {}: 8192 to {}",
                s.kdf.memory_kib,
                KdfParams::MAX.memory_kib
            ));
        }
        if s.kdf.passes < 1 || s.kdf.passes > KdfParams::MAX.passes {
            return Err(format!(
                "[terminal] kdf_passes = {}: 1 to {}",
                s.kdf.passes,
                KdfParams::MAX.passes
            ));
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bad_values_name_the_key() {
        let s = TerminalSettings::from_toml("").unwrap();
        assert_eq!(s.listen.to_string(), LISTEN_DEFAULT);
        assert_eq!(s.shift_hours, SHIFT_HOURS_DEFAULT);
        let s = TerminalSettings::from_toml(
            "[terminal]\nlisten = \"127.0.0.1:9000\"\nposition_moving_interval_ms = 5000\n",
        )
        .unwrap();
        assert_eq!(s.listen.port(), 9000);
        assert_eq!(s.position.moving_interval_ms, 5000);
        for (bad, key) in [
            ("[terminal]\nshift_hours = 0", "shift_hours"),
            ("[terminal]\nlisten = \"x\"", "listen"),
            ("[terminal]\nkdf_memory_kib = 64", "kdf_memory_kib"),
            ("[terminal]\nposition_parked_interval_ms = 10", "position_"),
            ("[terminal]\nwhat = 1", "what"),
        ] {
            let e = TerminalSettings::from_toml(bad).unwrap_err();
            assert!(e.contains(key), "{bad}: {e}");
        }
    }
}
