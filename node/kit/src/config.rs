//! Layered TOML config, as the node and the hub read it: an embedded default, overlaid by each
//! file in turn (a bundle's overlay, then the operator's own). Tables merge key by key; anything
//! else, arrays too, is replaced. File paths in a layer are relative to that layer's file.

use std::path::Path;

use serde::Deserialize;

/// The embedded `defaults` (merged in order) overlaid by each of `files`; the relative paths at
/// `path_keys` (dotted) of each file are made relative to that file's directory first. Also
/// returns the name errors should give: the last file, or "embedded default".
pub fn layered(
    defaults: &[&str],
    files: &[&Path],
    path_keys: &[&str],
) -> anyhow::Result<(toml::Value, String)> {
    let mut value = toml::Value::Table(Default::default());
    for default in defaults {
        let layer: toml::Value = toml::from_str(default)
            .map_err(|e| anyhow::anyhow!("embedded default config is invalid: {e}"))?;
        merge_toml(&mut value, layer);
    }
    for path in files {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read config file {}: {e}", path.display()))?;
        let mut over: toml::Value = toml::from_str(&text).map_err(|e| {
            anyhow::anyhow!("config file {} is not valid TOML: {e}", path.display())
        })?;
        resolve_layer_paths(&mut over, path, path_keys);
        merge_toml(&mut value, over);
    }
    let name = match files.last() {
        Some(p) => p.display().to_string(),
        None => "embedded default".into(),
    };
    Ok((value, name))
}

/// Makes the relative paths at `keys` (dotted) of one config layer relative to `layer_file`'s
/// directory.
pub fn resolve_layer_paths(layer: &mut toml::Value, layer_file: &Path, keys: &[&str]) {
    let Some(dir) = layer_file.parent() else {
        return;
    };
    for key in keys {
        let mut at = Some(&mut *layer);
        for part in key.split('.') {
            at = at.and_then(|v| v.get_mut(part));
        }
        if let Some(toml::Value::String(p)) = at {
            if Path::new(p.as_str()).is_relative() {
                *p = dir.join(p.as_str()).display().to_string();
            }
        }
    }
}

/// Overlays `over` on `base`: tables merge key by key, anything else (arrays too) is replaced.
pub fn merge_toml(base: &mut toml::Value, over: toml::Value) {
    match (base, over) {
        (toml::Value::Table(b), toml::Value::Table(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(bv) => merge_toml(bv, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, o) => *b = o,
    }
}

/// `[accounts]`: the same rules on the node and at HQ.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountsSection {
    /// Failed logins from one address for one account before that address must wait.
    pub failed_logins_max: u32,
    /// The longest wait imposed on an address, seconds.
    pub lockout_s: u64,
    /// The first wait, seconds; each further failure doubles it up to `lockout_s`.
    #[serde(default = "default_login_backoff_initial_s")]
    pub login_backoff_initial_s: u64,
    /// Failed logins from one address across all accounts before the whole address waits.
    #[serde(default = "default_source_failed_logins_max")]
    pub source_failed_logins_max: u32,
    pub session_ttl_s: u64,
    pub argon2_memory_kib: u32,
}

fn default_login_backoff_initial_s() -> u64 {
    30
}

fn default_source_failed_logins_max() -> u32 {
    20
}

impl AccountsSection {
    /// The account service's limits from this section.
    pub fn limits(&self) -> crate::accounts::AccountLimits {
        crate::accounts::AccountLimits {
            failed_logins_max: self.failed_logins_max,
            lockout_ms: (self.lockout_s as i64).saturating_mul(1000),
            backoff_initial_ms: (self.login_backoff_initial_s as i64).saturating_mul(1000),
            source_failed_logins_max: self.source_failed_logins_max,
            session_ttl_ms: (self.session_ttl_s as i64).saturating_mul(1000),
            argon2_memory_kib: self.argon2_memory_kib,
            ..crate::accounts::AccountLimits::default()
        }
    }
}
