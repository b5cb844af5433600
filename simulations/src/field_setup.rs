//! What the field scenarios (`chaos field`, `bench avl`) add to a region's node: its field
//! listener and a fleet of patrol units in a config overlay, and one unit bundle per unit from
//! the run's CA (`provisioning::add_unit`, in process: hundreds of bundles take a second).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use provisioning::progress::Silent;
use provisioning::settings::{NodeAddress, NodeWebUrl, RegionId, UnitId, UnitSettings, ValidDays};

/// Validity of the units' certificates in a run, days.
const UNIT_CERT_VALID_DAYS: u32 = 2;
/// Memory of the node's password hashing in field runs, KiB: every officer of the fleet logs
/// in at once, and the run measures the field link, not argon2.
const ACCOUNTS_ARGON2_MEMORY_KIB: u32 = 1_024;

/// A patrol unit of the run: its id (`t001`) and call sign.
#[derive(Debug, Clone)]
pub struct FieldUnit {
    pub id: String,
    pub call_sign: String,
}

/// `count` units named `{prefix}{n:03}` (ids of at most 16 characters a–z, 0–9).
pub fn fleet(prefix: &str, count: usize) -> Vec<FieldUnit> {
    (1..=count)
        .map(|n| FieldUnit {
            id: format!("{prefix}{n:03}"),
            call_sign: format!("Беркут-{}", 1_000 + n),
        })
        .collect()
}

/// The node's config overlay: the field listener on `listen` (UDP) and exactly `units` as its
/// patrols (`[[units]]` replaces the default list).
pub fn node_overlay(listen: SocketAddr, units: &[FieldUnit]) -> String {
    let mut text = format!(
        "[field]\nlisten = \"{listen}\"\n\n[accounts]\nargon2_memory_kib = {ACCOUNTS_ARGON2_MEMORY_KIB}\n"
    );
    for u in units {
        text.push_str(&format!(
            "\n[[units]]\nid = \"{}\"\ncall_sign = \"{}\"\nkind = \"patrol\"\n",
            u.id, u.call_sign
        ));
    }
    text
}

/// Writes a unit bundle for every unit under `out_root/<unit id>`; `node_address(i)` is where
/// unit `i`'s terminal dials (its proxy), `node_web` the node's HTTPS for first logins.
pub fn add_unit_bundles(
    ca_dir: &Path,
    out_root: &Path,
    region: &str,
    units: &[FieldUnit],
    node_address: impl Fn(usize) -> String,
    node_web: Option<&str>,
) -> anyhow::Result<Vec<PathBuf>> {
    let now = time::OffsetDateTime::now_utc();
    std::fs::create_dir_all(out_root)
        .with_context(|| format!("cannot create {}", out_root.display()))?;
    let mut dirs = Vec::with_capacity(units.len());
    for (i, unit) in units.iter().enumerate() {
        let out = out_root.join(&unit.id);
        let mut settings = UnitSettings::new(
            RegionId::parse(region)?,
            UnitId::parse(&unit.id)?,
            NodeAddress::parse(&node_address(i))?,
            ValidDays::for_unit(UNIT_CERT_VALID_DAYS)?,
        );
        settings.node_web = node_web.map(NodeWebUrl::parse).transpose()?;
        provisioning::add_unit(
            ca_dir,
            &out,
            &settings,
            now,
            &mut rand::rngs::OsRng,
            &mut Silent,
        )
        .with_context(|| format!("add-unit {region} {}", unit.id))?;
        dirs.push(out);
    }
    Ok(dirs)
}
