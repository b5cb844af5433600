//! Reference data of a region: districts with their territory (for routing by territorial
//! affiliation, R02), call categories, duty units, the timing rules that are configuration, and
//! street and town aliases (old and new names, for address warnings, R08).
//! The node loads it from its config file; the defaults describe a demo region.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::address::{StreetAliases, TownAliases};

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

/// A service (unit) of the police body that examines appeals in its competence (R11, R13): its
/// key words and call categories, and the districts it serves (empty: the whole region).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppealService {
    pub code: String,
    pub name_kk: String,
    pub name_ru: String,
    /// Key words (tags, R27) of the questions in its competence, lower case.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Call categories in its competence.
    #[serde(default)]
    pub categories: Vec<String>,
    /// Districts it serves; empty for the whole region.
    #[serde(default)]
    pub districts: Vec<String>,
    /// Takes reports of crimes and threats to public security at once (R14: anonymous ones
    /// too); the service an appeal with signs of a crime is suggested to.
    #[serde(default)]
    pub crime_reports: bool,
}

/// A competent body outside the police (akimat, prosecutor's office, health department ...):
/// where an appeal or a part of it outside the police's competence is sent (R15, R29).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExternalBody {
    pub code: String,
    pub name_kk: String,
    pub name_ru: String,
    /// Key words of the questions in its competence, lower case.
    #[serde(default)]
    pub tags: Vec<String>,
}

/// A post or patrol route of the electronic roster (R20), with where it is: a fixed post's
/// point, a route's polyline, and how far from it a unit may be and still be on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatrolPost {
    pub code: String,
    pub name_kk: String,
    pub name_ru: String,
    /// `[lat, lon]` of a fixed post.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub point: Option<[f64; 2]>,
    /// The route's polyline, `[lat, lon]` each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub route: Vec<[f64; 2]>,
    /// A unit farther than this from its post or route is off post, metres.
    #[serde(default = "post_radius_m_default")]
    pub radius_m: f64,
}

fn post_radius_m_default() -> f64 {
    300.0
}

/// Largest `radius_m` of a post, metres.
pub const POST_RADIUS_M_MAX: f64 = 20_000.0;
/// Most points in a route's polyline.
pub const POST_ROUTE_POINTS_MAX: usize = 500;

impl PatrolPost {
    /// Whether a roster entry's post (free text: the code or a name) names this post.
    pub fn is_named(&self, post: &str) -> bool {
        let p = post.trim();
        p.eq_ignore_ascii_case(&self.code) || p == self.name_kk || p == self.name_ru
    }

    /// Distance from a point to the post (its point) or route (the nearest segment), metres;
    /// `None` when it has neither.
    pub fn distance_m(&self, lat: f64, lon: f64) -> Option<f64> {
        use crate::geo::haversine_m;
        let mut best: Option<f64> = self.point.map(|[a, b]| haversine_m(lat, lon, a, b));
        for w in self.route.windows(2) {
            // Project on the segment in a local flat frame (metres), good within a city.
            let k = lat.to_radians().cos();
            let (ax, ay) = ((w[0][1] - lon) * k, w[0][0] - lat);
            let (bx, by) = ((w[1][1] - lon) * k, w[1][0] - lat);
            let (dx, dy) = (bx - ax, by - ay);
            let len2 = dx * dx + dy * dy;
            let t = if len2 == 0.0 {
                0.0
            } else {
                (-(ax * dx + ay * dy) / len2).clamp(0.0, 1.0)
            };
            let (px, py) = (ax + t * dx, ay + t * dy);
            let d = haversine_m(lat, lon, lat + py, lon + px / k);
            best = Some(best.map_or(d, |b: f64| b.min(d)));
        }
        if self.route.len() == 1 {
            let d = haversine_m(lat, lon, self.route[0][0], self.route[0][1]);
            best = Some(best.map_or(d, |b: f64| b.min(d)));
        }
        best
    }

    fn validate(&self) -> Result<(), String> {
        let ok = |p: &[f64; 2]| crate::geo::is_valid_point(p[0], p[1]);
        if self.code.trim().is_empty()
            || self.name_kk.trim().is_empty()
            || self.name_ru.trim().is_empty()
        {
            return Err("a post needs a code and names in Kazakh and Russian".into());
        }
        if self.point.is_none() && self.route.len() < 2 {
            return Err(format!(
                "post {} needs a point or a route of at least 2 points",
                self.code
            ));
        }
        if self.point.iter().chain(self.route.iter()).any(|p| !ok(p)) {
            return Err(format!(
                "post {}: a point is not [lat, lon] on the Earth",
                self.code
            ));
        }
        if self.route.len() > POST_ROUTE_POINTS_MAX {
            return Err(format!(
                "post {}: a route has at most {POST_ROUTE_POINTS_MAX} points",
                self.code
            ));
        }
        if !(self.radius_m > 0.0 && self.radius_m <= POST_RADIUS_M_MAX) {
            return Err(format!(
                "post {}: radius_m must be above 0 and at most {POST_RADIUS_M_MAX} m",
                self.code
            ));
        }
        Ok(())
    }
}

/// One street under all its names: old and new, or Kazakh and Russian when they are
/// translations ("Победы" / "Жеңіс"). Address warnings (R08) treat them as the same street.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StreetAliasGroup {
    /// At least two names, without the street type ("Победы", not "пр. Победы").
    pub names: Vec<String>,
}

/// One town under all its names, old and new ("Алматы" / "Алма-Ата"). Address warnings (R08)
/// treat them as the same town. The region's own city is not listed here: all its names, old
/// ones included, are the node's `city_names`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TownAliasGroup {
    /// At least two names, without "г." or "қаласы" ("Алма-Ата", not "г. Алма-Ата").
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
    /// Towns known under several names, for matching addresses to the warnings registry.
    #[serde(default)]
    pub town_aliases: Vec<TownAliasGroup>,
    /// When the roster's shifts run (R20).
    #[serde(default)]
    pub shifts: ShiftRules,
    /// Services that examine appeals, by competence (R11, R13).
    #[serde(default)]
    pub services: Vec<AppealService>,
    /// Competent bodies outside the police (R15, R29).
    #[serde(default)]
    pub external_bodies: Vec<ExternalBody>,
    /// Posts and patrol routes of the roster, with their geometry (R20).
    #[serde(default)]
    pub posts: Vec<PatrolPost>,
}

/// The hours of the post roster's two shifts, in the region's local time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ShiftRules {
    /// Local hour (0–23) the day shift starts.
    pub day_starts_h: u8,
    /// Local hour (0–23) the night shift starts; it ends when the next day shift starts.
    pub night_starts_h: u8,
    /// The region's offset from UTC in minutes (Kazakhstan: UTC+5 since 1 March 2024).
    pub utc_offset_min: i32,
}

impl Default for ShiftRules {
    fn default() -> Self {
        ShiftRules {
            day_starts_h: 8,
            night_starts_h: 20,
            utc_offset_min: 300,
        }
    }
}

/// The demo region's `[reference]` (TOML), embedded in the node's default config and the hub.
pub const DEMO_REFERENCE_TOML: &str = include_str!("demo_reference.toml");

impl Reference {
    /// The embedded demo region (Astana), [`DEMO_REFERENCE_TOML`].
    pub fn demo() -> Reference {
        #[derive(Deserialize)]
        struct File {
            reference: Reference,
        }
        let file: File =
            toml::from_str(DEMO_REFERENCE_TOML).expect("the embedded demo reference parses");
        file.reference
    }

    pub fn category(&self, code: &str) -> Option<&CallCategory> {
        self.categories.iter().find(|c| c.code == code)
    }
    pub fn district(&self, code: &str) -> Option<&District> {
        self.districts.iter().find(|d| d.code == code)
    }
    pub fn service(&self, code: &str) -> Option<&AppealService> {
        self.services.iter().find(|s| s.code == code)
    }
    pub fn external_body(&self, code: &str) -> Option<&ExternalBody> {
        self.external_bodies.iter().find(|b| b.code == code)
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

    /// The town aliases, checked, for [`crate::address::AddressMatcher::with_town_aliases`].
    pub fn town_aliases(&self) -> Result<TownAliases, String> {
        TownAliases::new(self.town_aliases.iter().map(|g| g.names.as_slice()))
    }

    /// The roster shift running at `now_ms`: its roster date (`YYYY-MM-DD`, the day the shift
    /// started, local time) and which shift. A night shift after midnight belongs to the
    /// previous date.
    pub fn shift_at(&self, now_ms: i64) -> (String, crate::model::Shift) {
        use crate::model::Shift;
        let rules = &self.shifts;
        let local_ms = now_ms.saturating_add(i64::from(rules.utc_offset_min) * 60_000);
        let day = local_ms.div_euclid(86_400_000);
        let hour = (local_ms.rem_euclid(86_400_000) / 3_600_000) as u8;
        let (day, shift) = if hour >= rules.night_starts_h {
            (day, Shift::Night)
        } else if hour >= rules.day_starts_h {
            (day, Shift::Day)
        } else {
            (day - 1, Shift::Night)
        };
        (date_of_day(day), shift)
    }

    /// When a roster shift runs, `[start, end)` in ms since the Unix epoch; `None` for a date
    /// that is not `YYYY-MM-DD`.
    pub fn shift_window(&self, date: &str, shift: crate::model::Shift) -> Option<(i64, i64)> {
        use crate::model::Shift;
        crate::roster::validate_date(date).ok()?;
        let y: i64 = date[0..4].parse().ok()?;
        let m: i64 = date[5..7].parse().ok()?;
        let d: i64 = date[8..10].parse().ok()?;
        let day_start_local = day_of_date(y, m, d) * 86_400_000;
        let rules = &self.shifts;
        let offset = i64::from(rules.utc_offset_min) * 60_000;
        let h = |hour: u8| i64::from(hour) * 3_600_000;
        let (from, to) = match shift {
            Shift::Day => (h(rules.day_starts_h), h(rules.night_starts_h)),
            Shift::Night => (h(rules.night_starts_h), 86_400_000 + h(rules.day_starts_h)),
        };
        Some((
            day_start_local + from - offset,
            day_start_local + to - offset,
        ))
    }

    /// Checks the reference data itself, so a bad config file is refused at start.
    pub fn validate(&self) -> Result<(), String> {
        let mut post_codes = std::collections::BTreeSet::new();
        for p in &self.posts {
            p.validate()?;
            if !post_codes.insert(p.code.as_str()) {
                return Err(format!("post {} is listed twice", p.code));
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        if self.region.code.is_empty()
            || !self.region.code.chars().all(|c| c.is_ascii_uppercase())
            || self.region.code.len() > 8
        {
            return Err("region.code must be 1–8 upper-case latin letters".into());
        }
        if self.region.code == crate::doc_id::NATIONAL {
            return Err(format!(
                "region.code {} names the national documents of the central hub; use the region's own code",
                crate::doc_id::NATIONAL
            ));
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
        for sv in &self.services {
            if !seen.insert(("service", sv.code.clone())) {
                return Err(format!("service code {} is listed twice", sv.code));
            }
            for c in &sv.categories {
                if self.category(c).is_none() {
                    return Err(format!("service {}: unknown category {c}", sv.code));
                }
            }
            for d in &sv.districts {
                if self.district(d).is_none() {
                    return Err(format!("service {}: unknown district {d}", sv.code));
                }
            }
        }
        for b in &self.external_bodies {
            if !seen.insert(("external_body", b.code.clone())) {
                return Err(format!("external body code {} is listed twice", b.code));
            }
        }
        if self.categories.is_empty() {
            return Err("at least one call category is required".into());
        }
        if self.unit_overdue_after_s == 0 {
            return Err("unit_overdue_after_s must be positive".into());
        }
        if self.shifts.day_starts_h >= self.shifts.night_starts_h || self.shifts.night_starts_h > 23
        {
            return Err(
                "shifts.day_starts_h must be before shifts.night_starts_h, both hours 0–23".into(),
            );
        }
        if !(-12 * 60..=14 * 60).contains(&self.shifts.utc_offset_min) {
            return Err("shifts.utc_offset_min must be between −720 and 840 minutes".into());
        }
        self.street_aliases()
            .map_err(|e| format!("street_aliases: {e}"))?;
        self.town_aliases()
            .map_err(|e| format!("town_aliases: {e}"))?;
        Ok(())
    }
}

/// Ray casting; vertices are `[lat, lon]`.
pub(crate) fn point_in_polygon(lat: f64, lon: f64, polygon: &[[f64; 2]]) -> bool {
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

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar (Howard Hinnant's
/// days_from_civil).
pub fn day_of_date(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DD` of a day counted from 1970-01-01 (the proleptic Gregorian calendar).
pub fn date_of_day(days: i64) -> String {
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}
