//! Starting a node from a provisioning bundle (`node serve --bundle DIR`).
//!
//! The bundle is verified with the `provisioning` library before anything else happens: a
//! modified, foreign-CA, expired or central bundle is refused with the file and the problem
//! named. The region is the one in the node certificate, and the bundle's `node.toml` must agree
//! with it.

use std::path::{Path, PathBuf};

use anyhow::Context;
use provisioning::{bundle_files, Role};

use crate::config::Config;

/// Verifies the bundle and returns its config layers in order: `node.toml`, then the region's
/// `reference.toml` when the bundle has one.
pub fn region_bundle_layers(bundle: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut layers = vec![check_region_bundle(bundle)?];
    let reference = bundle.join(bundle_files::REFERENCE);
    if reference.exists() {
        let text = std::fs::read_to_string(&reference)
            .with_context(|| format!("cannot read {}", reference.display()))?;
        provisioning::reference::RegionReference::parse(&text)
            .map_err(|e| anyhow::anyhow!("{}: {e}", reference.display()))?;
        layers.push(reference);
    }
    Ok(layers)
}

/// Verifies the bundle and returns the path of its `node.toml` to use as a config layer.
pub fn check_region_bundle(bundle: &Path) -> anyhow::Result<PathBuf> {
    let identity = provisioning::load_identity(bundle)
        .with_context(|| format!("the bundle {} cannot be used", bundle.display()))?;
    let region = match identity.role {
        Role::Region(r) => r,
        Role::Central => anyhow::bail!(
            "{} is the central's bundle; a node needs a region bundle (provisioning add-region)",
            bundle.display()
        ),
        Role::Unit { .. } => anyhow::bail!(
            "{} is a field unit's bundle; a node needs a region bundle (provisioning add-region)",
            bundle.display()
        ),
    };
    let overlay = bundle.join(bundle_files::NODE_CONFIG);
    let text = std::fs::read_to_string(&overlay)
        .with_context(|| format!("cannot read {}", overlay.display()))?;
    let value: toml::Value = toml::from_str(&text)
        .with_context(|| format!("{} is not valid TOML", overlay.display()))?;
    let claimed = value
        .get("reference")
        .and_then(|r| r.get("region"))
        .and_then(|r| r.get("code"))
        .and_then(|c| c.as_str());
    if claimed != Some(region.as_str()) {
        anyhow::bail!(
            "{}: reference.region.code {:?} does not match the certificate's region {region}",
            overlay.display(),
            claimed
        );
    }
    Ok(overlay)
}

/// Makes the bundle's relative TLS paths absolute.
pub fn resolve_paths(config: &mut Config, bundle: &Path) {
    if let Some(tls) = &mut config.tls {
        for p in [&mut tls.ca_cert, &mut tls.cert, &mut tls.key] {
            if p.is_relative() {
                *p = bundle.join(&*p);
            }
        }
        if let Some(crl) = &mut tls.crl {
            if crl.is_relative() {
                *crl = bundle.join(&*crl);
            }
        }
    }
}

/// The one-time first-administrator password, if the bundle still has it.
pub fn bootstrap_secret(bundle: &Path) -> anyhow::Result<Option<String>> {
    let path = bundle.join(bundle_files::BOOTSTRAP_SECRET);
    match std::fs::read_to_string(&path) {
        Ok(s) => Ok(Some(s.trim().to_string()).filter(|s| !s.is_empty())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}
