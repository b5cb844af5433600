//! A region's reference data for its bundle (`add-region --reference FILE`): districts with their
//! territories, call categories, duty units, timing rules, street and town aliases and the units
//! on duty. Without it a new region's node would start with the embedded demo data (Astana's
//! districts).
//!
//! This crate does not know the node's types; it checks the file's shape (TOML, only the tables a
//! node takes from it, no `reference.region`, which comes from `--id/--name-*`), and the node
//! validates the content when it starts, naming the bundle file on any problem.

use std::path::Path;

use crate::error::{Error, Result};
use crate::fsio;

/// Keys allowed in `[reference]` of a reference file.
pub const REFERENCE_KEYS: &[&str] = &[
    "districts",
    "categories",
    "duty_units",
    "unit_overdue_after_s",
    "kui_deadline_h",
    "street_aliases",
    "town_aliases",
];

/// Top-level keys allowed in a reference file.
pub const TOP_KEYS: &[&str] = &["reference", "units"];

/// Checked reference data, kept as the installer wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionReference {
    text: String,
}

impl RegionReference {
    /// Reads and checks a reference file.
    pub fn read(path: &Path) -> Result<Self> {
        let text = fsio::read_text(path)?;
        Self::parse(&text).map_err(|reason| Error::BadFile {
            path: path.to_owned(),
            reason,
        })
    }

    /// Checks the text of a reference file.
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        let value: toml::Table =
            toml::from_str(text).map_err(|e| format!("is not valid TOML: {e}"))?;
        for key in value.keys() {
            if !TOP_KEYS.contains(&key.as_str()) {
                return Err(format!(
                    "unknown table {key:?}; a reference file holds only [reference] and [[units]]"
                ));
            }
        }
        let Some(reference) = value.get("reference") else {
            return Err("has no [reference] table".into());
        };
        let reference = reference
            .as_table()
            .ok_or_else(|| "reference must be a table".to_string())?;
        for key in reference.keys() {
            if key == "region" {
                return Err(
                    "must not set [reference.region]: the region's id and names come from \
                     add-region --id, --name-kk and --name-ru"
                        .into(),
                );
            }
            if !REFERENCE_KEYS.contains(&key.as_str()) {
                return Err(format!(
                    "unknown key reference.{key}; allowed: {}",
                    REFERENCE_KEYS.join(", ")
                ));
            }
        }
        for list in [
            "districts",
            "categories",
            "duty_units",
            "street_aliases",
            "town_aliases",
        ] {
            if let Some(v) = reference.get(list) {
                let ok = v
                    .as_array()
                    .is_some_and(|a| !a.is_empty() && a.iter().all(|x| x.is_table()));
                if !ok {
                    return Err(format!(
                        "reference.{list} must be a non-empty list of tables ([[reference.{list}]])"
                    ));
                }
            }
        }
        if let Some(units) = value.get("units") {
            if !units
                .as_array()
                .is_some_and(|a| a.iter().all(|x| x.is_table()))
            {
                return Err("units must be a list of tables ([[units]])".into());
            }
        }
        Ok(RegionReference {
            text: text.to_owned(),
        })
    }

    /// The file as written into the bundle.
    pub fn bundle_text(&self, region: &str) -> String {
        format!(
            "# Region {region}: reference data written by `provisioning add-region --reference`.\n\
             # The node merges it over its embedded defaults after node.toml.\n\n{}",
            self.text
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_districts_categories_and_units() {
        let t = "[reference]\nkui_deadline_h = 24\n[[reference.districts]]\ncode = \"MED\"\n\
                 [[units]]\nid = \"u1\"\ncall_sign = \"Беркут-1\"\nkind = \"patrol\"\n";
        RegionReference::parse(t).unwrap();
    }

    #[test]
    fn r08_accepts_street_and_town_aliases() {
        let t = "[[reference.street_aliases]]\nnames = [\"Победы\", \"Жеңіс\"]\n";
        RegionReference::parse(t).unwrap();
        let t = "[[reference.town_aliases]]\nnames = [\"Алматы\", \"Алма-Ата\"]\n";
        RegionReference::parse(t).unwrap();
        let e = RegionReference::parse("[reference]\nstreet_aliases = 5\n").unwrap_err();
        assert!(e.contains("street_aliases"), "{e}");
    }

    #[test]
    fn refuses_what_a_node_must_not_take_from_it() {
        for (t, why) in [
            ("[reference.region]\ncode = \"ALA\"\n", "reference.region"),
            ("[tls]\ncert = \"x\"\n", "unknown table"),
            ("[reference]\nfoo = 1\n", "unknown key"),
            ("[reference]\ndistricts = []\n", "non-empty"),
            ("[reference\n", "not valid TOML"),
            ("units = 5\n", "no [reference]"),
        ] {
            let e = RegionReference::parse(t).unwrap_err();
            assert!(e.contains(why), "{t:?}: {e}");
        }
    }
}
