//! The region's beats reference (seed 003 p.22, p.26–28): beat offices (участковые пункты
//! полиции) with their heads, administrative beats (административные участки) with their
//! territory, inspector and helpers, and the invitation list of report meetings.
//!
//! # File format
//!
//! One TOML file. Top-level keys:
//! - `sample` (bool, required): `true` when the file is demo data, not the region's real beats;
//!   every screen and export that uses it says so.
//! - `source` (string, required): where the data comes from (the order that set the beats, or
//!   "sample data").
//!
//! `[[offices]]`: `code`, `name_kk`, `name_ru`, `district` (a district code of the region's
//! reference), `address_kk`, `address_ru`, `head` (the login of the office's head, who controls
//! the execution of meeting protocols: p.33).
//!
//! `[[beats]]`: `code`, `name_kk`, `name_ru`, `office` (an office code), `inspector` (the login of
//! the district inspector), `helpers` (logins of the inspector's helpers, may be empty),
//! `polygon` (the territory: at least 3 `[lat, lon]` vertices).
//!
//! `[[invitees]]` (p.26, p.28): `code`, `kind` (one of [`InviteeKind`]), `name_kk`, `name_ru`,
//! `email` (optional: where the invitation and the notice for posting go), `districts`
//! (district codes the invitee serves; empty: the whole region).
//!
//! Codes are 1 to [`BEAT_CODE_CHARS_MAX`] characters, unique within their list; names 1 to
//! [`BEAT_NAME_CHARS_MAX`]. Unknown keys are refused, naming them. The demo file
//! [`DEMO_BEATS_TOML`] is `sample = true`.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::geo::is_valid_point;
use crate::reference::point_in_polygon;

/// The demo region's beats (sample data).
pub const DEMO_BEATS_TOML: &str = include_str!("demo_beats.toml");
/// Longest code of an office, beat or invitee, in characters.
pub const BEAT_CODE_CHARS_MAX: usize = 64;
/// Longest name or address, in characters.
pub const BEAT_NAME_CHARS_MAX: usize = 300;
/// Most entries one list may hold (a large region has about 1,500 beats).
pub const BEAT_ENTRIES_MAX: usize = 20_000;
/// Most vertices of a beat's territory.
pub const BEAT_POLYGON_POINTS_MAX: usize = 5_000;

/// Who is invited to a report meeting (p.26: police leadership and the local executive body
/// take part; p.28: the others are invited by agreement; p.27: the mass media inform).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum InviteeKind {
    /// руководство территориального органа полиции (p.26)
    PoliceLeadership,
    /// представители местного исполнительного органа (p.26)
    LocalExecutive,
    /// депутаты маслихатов (p.28)
    Maslikhat,
    /// представители общественности (p.28)
    Public,
    /// органы здравоохранения (p.28)
    Health,
    /// органы труда и социальной защиты населения (p.28)
    Social,
    /// органы образования и науки (p.28)
    Education,
    /// органы сельского и жилищно-коммунального хозяйств (p.28)
    Housing,
    /// организации и предприятия всех форм собственности (p.27, p.28)
    Enterprise,
    /// средства массовой информации (p.27, p.28)
    Media,
}

impl InviteeKind {
    /// p.26: these take part in every meeting; the others are invited by agreement (p.28).
    pub fn attends(self) -> bool {
        matches!(
            self,
            InviteeKind::PoliceLeadership | InviteeKind::LocalExecutive
        )
    }
}

/// A beat office (участковый пункт полиции).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Office {
    pub code: String,
    pub name_kk: String,
    pub name_ru: String,
    pub district: String,
    pub address_kk: String,
    pub address_ru: String,
    /// Login of the office's head (p.33: controls the execution of protocols).
    pub head: String,
}

/// An administrative beat (административный участок).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Beat {
    pub code: String,
    pub name_kk: String,
    pub name_ru: String,
    pub office: String,
    /// Login of the district inspector (участковый инспектор полиции).
    pub inspector: String,
    /// Logins of the inspector's helpers.
    #[serde(default)]
    pub helpers: Vec<String>,
    /// The territory, `[lat, lon]` vertices.
    pub polygon: Vec<[f64; 2]>,
}

/// One entry of the invitation list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Invitee {
    pub code: String,
    pub kind: InviteeKind,
    pub name_kk: String,
    pub name_ru: String,
    #[serde(default)]
    pub email: Option<String>,
    /// Districts served; empty: the whole region.
    #[serde(default)]
    pub districts: Vec<String>,
}

/// The region's beats reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BeatsReference {
    pub sample: bool,
    pub source: String,
    pub offices: Vec<Office>,
    pub beats: Vec<Beat>,
    #[serde(default)]
    pub invitees: Vec<Invitee>,
}

/// The id of a region's beats register (`{REGION}/reference/beats`): what its node publishes of
/// its beats reference for HQ's national table of beats covered (R22).
pub const BEATS_DOC_ID: &str = "beats";

/// One beat as HQ sees it: no territory, no logins, no invitees' addresses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisteredBeat {
    pub code: String,
    pub name_kk: String,
    pub name_ru: String,
    /// The beat office's code and names.
    pub office: String,
    pub office_name_kk: String,
    pub office_name_ru: String,
    /// The district code (the region's reference).
    pub district: String,
}

/// A region's beats as its node publishes them to the hub (from the beats reference, every
/// start, when they changed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BeatsRegister {
    pub region: String,
    /// The beats reference is demo data ([`BeatsReference::sample`]).
    pub sample: bool,
    pub beats: Vec<RegisteredBeat>,
}

impl BeatsRegister {
    /// Checks what arrived at the hub: the region the id says, codes unique, names and the
    /// count within their limits.
    pub fn validate(&self, region: &str) -> Result<(), String> {
        if self.region != region {
            return Err(format!(
                "holds the beats of region {:?}, not {region:?}",
                self.region
            ));
        }
        if self.beats.len() > BEAT_ENTRIES_MAX {
            return Err(format!(
                "beats: {} entries, more than {BEAT_ENTRIES_MAX}",
                self.beats.len()
            ));
        }
        let mut seen = BTreeSet::new();
        for b in &self.beats {
            check_code("beats", &b.code, &mut seen)?;
            for (what, name) in [
                ("name_kk", &b.name_kk),
                ("name_ru", &b.name_ru),
                ("office_name_kk", &b.office_name_kk),
                ("office_name_ru", &b.office_name_ru),
            ] {
                check_name("beats", &b.code, what, name)?;
            }
        }
        Ok(())
    }
}

fn check_code(list: &str, code: &str, seen: &mut BTreeSet<String>) -> Result<(), String> {
    let n = code.chars().count();
    if n == 0 || n > BEAT_CODE_CHARS_MAX || code.trim() != code {
        return Err(format!(
            "{list}: code {code:?} is not 1 to {BEAT_CODE_CHARS_MAX} characters without surrounding spaces"
        ));
    }
    if !seen.insert(code.to_string()) {
        return Err(format!("{list}: code {code:?} is given twice"));
    }
    Ok(())
}

fn check_name(list: &str, code: &str, what: &str, name: &str) -> Result<(), String> {
    if name.trim().is_empty() || name.chars().count() > BEAT_NAME_CHARS_MAX {
        return Err(format!(
            "{list}: {code:?} has no {what} or one longer than {BEAT_NAME_CHARS_MAX} characters"
        ));
    }
    Ok(())
}

fn check_login(list: &str, code: &str, what: &str, login: &str) -> Result<(), String> {
    if login.trim().is_empty()
        || login.trim() != login
        || login.chars().count() > BEAT_CODE_CHARS_MAX
    {
        return Err(format!(
            "{list}: {code:?} has no {what} login, or one with spaces or longer than {BEAT_CODE_CHARS_MAX} characters"
        ));
    }
    Ok(())
}

impl BeatsReference {
    /// Parses and checks a beats file against the region's district codes; the error names
    /// the list and the entry.
    pub fn from_toml(text: &str, districts: &[&str]) -> Result<BeatsReference, String> {
        let r: BeatsReference = toml::from_str(text).map_err(|e| e.to_string())?;
        r.validate(districts)?;
        Ok(r)
    }

    /// The demo region's beats (sample data), checked against the demo region's districts.
    pub fn demo() -> BeatsReference {
        let reference = crate::reference::Reference::demo();
        let districts: Vec<&str> = reference
            .districts
            .iter()
            .map(|d| d.code.as_str())
            .collect();
        BeatsReference::from_toml(DEMO_BEATS_TOML, &districts)
            .expect("the embedded demo beats are valid")
    }

    /// Codes unique, names within their limits, every office in a known district, every beat
    /// in a known office with a valid territory, every invitee's district known.
    pub fn validate(&self, districts: &[&str]) -> Result<(), String> {
        if self.source.trim().is_empty() {
            return Err("source is empty".into());
        }
        for (list, n) in [
            ("offices", self.offices.len()),
            ("beats", self.beats.len()),
            ("invitees", self.invitees.len()),
        ] {
            if n > BEAT_ENTRIES_MAX {
                return Err(format!("{list}: {n} entries, more than {BEAT_ENTRIES_MAX}"));
            }
        }
        let mut seen = BTreeSet::new();
        for o in &self.offices {
            check_code("offices", &o.code, &mut seen)?;
            for (what, name) in [
                ("name_kk", &o.name_kk),
                ("name_ru", &o.name_ru),
                ("address_kk", &o.address_kk),
                ("address_ru", &o.address_ru),
            ] {
                check_name("offices", &o.code, what, name)?;
            }
            if !districts.contains(&o.district.as_str()) {
                return Err(format!(
                    "offices: {:?} is in district {:?}, which the region's reference does not have",
                    o.code, o.district
                ));
            }
            check_login("offices", &o.code, "head", &o.head)?;
        }
        let mut seen = BTreeSet::new();
        for b in &self.beats {
            check_code("beats", &b.code, &mut seen)?;
            check_name("beats", &b.code, "name_kk", &b.name_kk)?;
            check_name("beats", &b.code, "name_ru", &b.name_ru)?;
            if self.office(&b.office).is_none() {
                return Err(format!(
                    "beats: {:?} belongs to office {:?}, which is not in [[offices]]",
                    b.code, b.office
                ));
            }
            check_login("beats", &b.code, "inspector", &b.inspector)?;
            for h in &b.helpers {
                check_login("beats", &b.code, "helper", h)?;
            }
            if b.polygon.len() < 3 || b.polygon.len() > BEAT_POLYGON_POINTS_MAX {
                return Err(format!(
                    "beats: {:?} territory needs 3 to {BEAT_POLYGON_POINTS_MAX} vertices",
                    b.code
                ));
            }
            if let Some(p) = b.polygon.iter().find(|p| !is_valid_point(p[0], p[1])) {
                return Err(format!(
                    "beats: {:?} territory has a vertex {p:?} that is not a [lat, lon] point",
                    b.code
                ));
            }
        }
        let mut seen = BTreeSet::new();
        for i in &self.invitees {
            check_code("invitees", &i.code, &mut seen)?;
            check_name("invitees", &i.code, "name_kk", &i.name_kk)?;
            check_name("invitees", &i.code, "name_ru", &i.name_ru)?;
            if let Some(e) = &i.email {
                let parts: Vec<&str> = e.split('@').collect();
                if parts.len() != 2
                    || parts[0].is_empty()
                    || !parts[1].contains('.')
                    || e.chars().any(char::is_whitespace)
                    || e.chars().count() > BEAT_NAME_CHARS_MAX
                {
                    return Err(format!(
                        "invitees: {:?} has e-mail {e:?}, which is not an address",
                        i.code
                    ));
                }
            }
            if let Some(d) = i
                .districts
                .iter()
                .find(|d| !districts.contains(&d.as_str()))
            {
                return Err(format!(
                    "invitees: {:?} serves district {d:?}, which the region's reference does not have",
                    i.code
                ));
            }
        }
        Ok(())
    }

    /// What the node publishes of its beats for `region` (see [`BeatsRegister`]).
    pub fn register(&self, region: &str) -> BeatsRegister {
        BeatsRegister {
            region: region.to_string(),
            sample: self.sample,
            beats: self
                .beats
                .iter()
                .map(|b| {
                    let office = self.office(&b.office);
                    RegisteredBeat {
                        code: b.code.clone(),
                        name_kk: b.name_kk.clone(),
                        name_ru: b.name_ru.clone(),
                        office: b.office.clone(),
                        office_name_kk: office
                            .map_or_else(|| b.office.clone(), |o| o.name_kk.clone()),
                        office_name_ru: office
                            .map_or_else(|| b.office.clone(), |o| o.name_ru.clone()),
                        district: office.map(|o| o.district.clone()).unwrap_or_default(),
                    }
                })
                .collect(),
        }
    }

    pub fn office(&self, code: &str) -> Option<&Office> {
        self.offices.iter().find(|o| o.code == code)
    }

    pub fn beat(&self, code: &str) -> Option<&Beat> {
        self.beats.iter().find(|b| b.code == code)
    }

    /// The beats `login` serves as inspector or helper.
    pub fn beats_of(&self, login: &str) -> Vec<&Beat> {
        self.beats
            .iter()
            .filter(|b| b.inspector == login || b.helpers.iter().any(|h| h == login))
            .collect()
    }

    /// The beats of the offices `login` heads.
    pub fn beats_headed_by(&self, login: &str) -> Vec<&Beat> {
        self.beats
            .iter()
            .filter(|b| self.office(&b.office).is_some_and(|o| o.head == login))
            .collect()
    }

    /// The beat whose territory holds the point.
    pub fn beat_at(&self, lat: f64, lon: f64) -> Option<&Beat> {
        self.beats
            .iter()
            .find(|b| point_in_polygon(lat, lon, &b.polygon))
    }

    /// The district of a beat (through its office).
    pub fn district_of(&self, beat: &Beat) -> Option<&str> {
        self.office(&beat.office).map(|o| o.district.as_str())
    }

    /// Who is invited to a meeting of `beats` (a joint meeting: several): every invitee serving
    /// the whole region or one of the beats' districts, in the list's order.
    pub fn invitees_for(&self, beats: &[&str]) -> Vec<&Invitee> {
        let districts: BTreeSet<&str> = beats
            .iter()
            .filter_map(|c| self.beat(c))
            .filter_map(|b| self.district_of(b))
            .collect();
        self.invitees
            .iter()
            .filter(|i| {
                i.districts.is_empty() || i.districts.iter().any(|d| districts.contains(d.as_str()))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DISTRICTS: [&str; 2] = ["saryarka", "almaty"];

    fn file(extra_beat: &str, invitee: &str) -> String {
        format!(
            r#"
sample = true
source = "sample data"

[[offices]]
code = "upp-1"
name_kk = "1-учаскелік полиция пункті"
name_ru = "Участковый пункт полиции № 1"
district = "saryarka"
address_kk = "Сарыарқа даңғылы, 1"
address_ru = "проспект Сарыарка, 1"
head = "upp1.head"

[[beats]]
code = "b-1"
name_kk = "1-әкімшілік учаске"
name_ru = "Административный участок № 1"
office = "upp-1"
inspector = "insp.one"
helpers = ["helper.one"]
polygon = [[51.16, 71.25], [51.20, 71.25], [51.20, 71.30], [51.16, 71.30]]
{extra_beat}
[[invitees]]
code = "akimat"
kind = "local_executive"
name_kk = "Аудан әкімдігі"
name_ru = "Акимат района"
email = "akimat@example.kz"
districts = ["saryarka"]

[[invitees]]
code = "tv"
kind = "media"
name_kk = "Телеарна"
name_ru = "Телеканал"
{invitee}
"#
        )
    }

    #[test]
    fn r22_the_demo_beats_load_and_every_beat_has_an_inspector_and_an_office() {
        let r = BeatsReference::demo();
        assert!(r.sample, "the demo file is marked as sample data");
        assert!(!r.beats.is_empty());
        for b in &r.beats {
            assert!(r.office(&b.office).is_some(), "{}", b.code);
            assert!(!r.beats_of(&b.inspector).is_empty());
        }
        // Both kinds p.26 requires take part.
        assert!(r
            .invitees
            .iter()
            .any(|i| i.kind == InviteeKind::PoliceLeadership));
        assert!(r
            .invitees
            .iter()
            .any(|i| i.kind == InviteeKind::LocalExecutive));
    }

    #[test]
    fn r37_a_meeting_invites_the_whole_regions_invitees_and_its_districts_own() {
        let extra = r#"
[[offices]]
code = "upp-2"
name_kk = "2-учаскелік полиция пункті"
name_ru = "Участковый пункт полиции № 2"
district = "almaty"
address_kk = "Абай даңғылы, 2"
address_ru = "проспект Абая, 2"
head = "upp2.head"

[[beats]]
code = "b-2"
name_kk = "2-әкімшілік учаске"
name_ru = "Административный участок № 2"
office = "upp-2"
inspector = "insp.two"
polygon = [[51.20, 71.43], [51.25, 71.43], [51.25, 71.50]]
"#;
        let r = BeatsReference::from_toml(&file(extra, ""), &DISTRICTS).unwrap();
        let codes = |beats: &[&str]| -> Vec<String> {
            r.invitees_for(beats)
                .iter()
                .map(|i| i.code.clone())
                .collect()
        };
        assert_eq!(codes(&["b-1"]), ["akimat", "tv"]);
        assert_eq!(codes(&["b-2"]), ["tv"]);
        assert_eq!(codes(&["b-1", "b-2"]), ["akimat", "tv"]);
        assert_eq!(
            r.beat_at(51.18, 71.27).map(|b| b.code.as_str()),
            Some("b-1")
        );
        assert_eq!(r.beat_at(51.40, 71.27), None);
        assert_eq!(r.beats_of("helper.one")[0].code, "b-1");
        assert_eq!(r.beats_headed_by("upp2.head")[0].code, "b-2");
        assert!(InviteeKind::PoliceLeadership.attends() && !InviteeKind::Media.attends());
    }

    #[test]
    fn r22_a_bad_beats_file_is_refused_naming_the_entry() {
        let bad_office = "[[beats]]\ncode = \"b-9\"\nname_kk = \"9\"\nname_ru = \"9\"\noffice = \"nowhere\"\ninspector = \"x\"\npolygon = [[51.0, 71.0], [51.1, 71.0], [51.1, 71.1]]\n";
        let e = BeatsReference::from_toml(&file(bad_office, ""), &DISTRICTS).unwrap_err();
        assert!(e.contains("\"b-9\"") && e.contains("nowhere"), "{e}");
        let dup = "[[beats]]\ncode = \"b-1\"\nname_kk = \"9\"\nname_ru = \"9\"\noffice = \"upp-1\"\ninspector = \"x\"\npolygon = [[51.0, 71.0], [51.1, 71.0], [51.1, 71.1]]\n";
        let e = BeatsReference::from_toml(&file(dup, ""), &DISTRICTS).unwrap_err();
        assert!(e.contains("given twice"), "{e}");
        let flat = "[[beats]]\ncode = \"b-8\"\nname_kk = \"8\"\nname_ru = \"8\"\noffice = \"upp-1\"\ninspector = \"x\"\npolygon = [[51.0, 71.0], [51.1, 71.0]]\n";
        let e = BeatsReference::from_toml(&file(flat, ""), &DISTRICTS).unwrap_err();
        assert!(e.contains("3 to"), "{e}");
        let e = BeatsReference::from_toml(&file("", "email = \"not an address\""), &DISTRICTS)
            .unwrap_err();
        assert!(e.contains("\"tv\"") && e.contains("not an address"), "{e}");
        let e = BeatsReference::from_toml(&file("", "kind2 = \"x\""), &DISTRICTS).unwrap_err();
        assert!(e.contains("kind2"), "{e}");
        let e = BeatsReference::from_toml(&file("", ""), &["almaty"]).unwrap_err();
        assert!(e.contains("saryarka"), "{e}");
    }
}
