//! Reference data of a region: districts with their territory (for routing by territorial
//! affiliation, R02), call categories, duty units, the timing rules that are configuration, and
//! street aliases (old and new names, for address warnings, R08).
//! The node loads it from its config file; the defaults describe a demo region.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::address::StreetAliases;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegionInfo {
    /// Short code used in card numbers, e.g. `AST`.
    pub code: String,
    pub name_kk: String,
    pub name_ru: String,
}

/// A district police unit and its territory, as a polygon of `[lat, lon]` vertices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct District {
    pub code: String,
    pub name_kk: String,
    pub name_ru: String,
    #[serde(default)]
    pub polygon: Vec<[f64; 2]>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallCategory {
    pub code: String,
    pub name_kk: String,
    pub name_ru: String,
    /// 1 is the most urgent.
    pub priority: u8,
}

/// Duty unit (дежурная часть) of a city/district police body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DutyUnitRef {
    pub code: String,
    pub name_kk: String,
    pub name_ru: String,
}

/// One street under all its names: old and new, or Kazakh and Russian when they are
/// translations ("Победы" / "Жеңіс"). Address warnings (R08) treat them as the same street.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StreetAliasGroup {
    /// At least two names, without the street type ("Победы", not "пр. Победы").
    pub names: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reference {
    pub region: RegionInfo,
    pub districts: Vec<District>,
    pub categories: Vec<CallCategory>,
    pub duty_units: Vec<DutyUnitRef>,
    /// A dispatched unit not on scene after this many seconds raises the overdue alert.
    pub unit_overdue_after_s: u64,
    /// КУИ registration deadline after the card reaches the duty unit (R07/R14: 24 hours).
    pub kui_deadline_h: u64,
    /// Streets known under several names, for matching addresses to the warnings registry.
    #[serde(default)]
    pub street_aliases: Vec<StreetAliasGroup>,
}

impl Reference {
    pub fn category(&self, code: &str) -> Option<&CallCategory> {
        self.categories.iter().find(|c| c.code == code)
    }
    pub fn district(&self, code: &str) -> Option<&District> {
        self.districts.iter().find(|d| d.code == code)
    }
    pub fn duty_unit(&self, code: &str) -> Option<&DutyUnitRef> {
        self.duty_units.iter().find(|d| d.code == code)
    }
    /// The district whose territory contains the point (R02: territorial affiliation).
    pub fn district_at(&self, lat: f64, lon: f64) -> Option<&District> {
        self.districts
            .iter()
            .find(|d| point_in_polygon(lat, lon, &d.polygon))
    }
    pub fn unit_overdue_after_ms(&self) -> i64 {
        (self.unit_overdue_after_s as i64).saturating_mul(1000)
    }
    pub fn kui_deadline_ms(&self) -> i64 {
        (self.kui_deadline_h as i64).saturating_mul(3_600_000)
    }
    /// The street aliases, checked, for [`crate::address::AddressMatcher`].
    pub fn street_aliases(&self) -> Result<StreetAliases, String> {
        StreetAliases::new(self.street_aliases.iter().map(|g| g.names.as_slice()))
    }

    /// Checks the reference data itself, so a bad config file is refused at start.
    pub fn validate(&self) -> Result<(), String> {
        let mut seen = std::collections::BTreeSet::new();
        if self.region.code.is_empty()
            || !self.region.code.chars().all(|c| c.is_ascii_uppercase())
            || self.region.code.len() > 8
        {
            return Err("region.code must be 1–8 upper-case latin letters".into());
        }
        for d in &self.districts {
            if !seen.insert(("district", d.code.clone())) {
                return Err(format!("district code {} is listed twice", d.code));
            }
            if !d.polygon.is_empty() && d.polygon.len() < 3 {
                return Err(format!(
                    "district {} polygon needs at least 3 points",
                    d.code
                ));
            }
        }
        for c in &self.categories {
            if !seen.insert(("category", c.code.clone())) {
                return Err(format!("category code {} is listed twice", c.code));
            }
            if !(crate::model::limits::PRIORITY_MIN..=crate::model::limits::PRIORITY_MAX)
                .contains(&c.priority)
            {
                return Err(format!("category {} priority must be 1–4", c.code));
            }
        }
        if self.categories.is_empty() {
            return Err("at least one call category is required".into());
        }
        if self.unit_overdue_after_s == 0 {
            return Err("unit_overdue_after_s must be positive".into());
        }
        self.street_aliases()
            .map_err(|e| format!("street_aliases: {e}"))?;
        Ok(())
    }
}

/// Ray casting; vertices are `[lat, lon]`.
fn point_in_polygon(lat: f64, lon: f64, polygon: &[[f64; 2]]) -> bool {
    if polygon.len() < 3 {
        return false;
    }
    let mut inside = false;
    let mut j = polygon.len() - 1;
    for i in 0..polygon.len() {
        let (yi, xi) = (polygon[i][0], polygon[i][1]);
        let (yj, xj) = (polygon[j][0], polygon[j][1]);
        if ((yi > lat) != (yj > lat)) && (lon < (xj - xi) * (lat - yi) / (yj - yi) + xi) {
            inside = !inside;
        }
        j = i;
    }
    inside
}
