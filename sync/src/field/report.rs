//! The patrol's report after working a call, in the standard format (R34): what was established,
//! the measures taken, the persons and vehicles involved, and the outcome — structured fields,
//! not free text only.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::doc::check_text;
use crate::error::DomainError;

/// Most persons in one report.
pub const REPORT_PERSONS_MAX: usize = 30;
/// Most vehicles in one report.
pub const REPORT_VEHICLES_MAX: usize = 20;
/// Most photos attached to one report.
pub const REPORT_PHOTOS_MAX: usize = 10;
/// Largest report as JSON, bytes (the texts' own limits allow more in total).
pub const PATROL_REPORT_BYTES_MAX: usize = 32 * 1024;
/// Longest vehicle plate, characters.
pub const PLATE_CHARS_MAX: usize = 16;
/// Longest "established" or "measures" text, characters.
pub const REPORT_TEXT_CHARS_MAX: usize = 4_000;
/// Longest name, make or colour, characters.
pub const REPORT_NAME_CHARS_MAX: usize = 200;
/// Longest note on a person or vehicle, characters.
pub const REPORT_NOTE_CHARS_MAX: usize = 2_000;
/// Earliest birth year accepted.
pub const BIRTH_YEAR_MIN: u16 = 1900;

/// A person's part in the incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PersonRole {
    Applicant,
    Victim,
    Witness,
    Suspect,
    Offender,
}

/// How the call ended for the patrol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReportOutcome {
    /// Settled on the scene (explained, warned, reconciled).
    ResolvedOnScene,
    /// Persons delivered to the police station.
    DeliveredToPolice,
    /// An administrative offence protocol was drawn up.
    ProtocolDrawn,
    /// Handed to the duty unit for registration in КУИ (signs of a crime).
    KuiRegistered,
    /// Injured persons handed to the ambulance.
    HandedToAmbulance,
    /// Nothing of what was reported was found.
    NotConfirmed,
    /// A knowingly false call.
    FalseCall,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReportPerson {
    pub role: PersonRole,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub surname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_year: Option<u16>,
    /// 12 digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iin: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReportVehicle {
    pub plate: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub make: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The patrol's report (рапорт наряда, R34).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PatrolReport {
    /// What was established on the scene.
    pub established: String,
    /// Measures taken.
    pub measures: String,
    #[serde(default)]
    pub persons: Vec<ReportPerson>,
    #[serde(default)]
    pub vehicles: Vec<ReportVehicle>,
    pub outcome: ReportOutcome,
    /// SHA-256 (hex) of the photos, each in its own field document.
    #[serde(default)]
    pub photos: Vec<String>,
}

fn opt_text(field: &str, v: &Option<String>, max: usize) -> Result<(), DomainError> {
    match v {
        Some(s) => check_text(field, s, max, false),
        None => Ok(()),
    }
}

impl PatrolReport {
    /// Checks the standard format: both texts present, persons and vehicles well-formed, limits.
    pub fn validate(&self) -> Result<(), DomainError> {
        check_text(
            "report.established",
            &self.established,
            REPORT_TEXT_CHARS_MAX,
            true,
        )?;
        check_text(
            "report.measures",
            &self.measures,
            REPORT_TEXT_CHARS_MAX,
            true,
        )?;
        if self.persons.len() > REPORT_PERSONS_MAX {
            return Err(DomainError::rule_field(
                "report_too_many_persons",
                "report.persons",
                format!("a report lists at most {REPORT_PERSONS_MAX} persons"),
            ));
        }
        for (i, p) in self.persons.iter().enumerate() {
            let f = |k: &str| format!("report.persons[{i}].{k}");
            opt_text(&f("surname"), &p.surname, REPORT_NAME_CHARS_MAX)?;
            opt_text(&f("name"), &p.name, REPORT_NAME_CHARS_MAX)?;
            opt_text(&f("note"), &p.note, REPORT_NOTE_CHARS_MAX)?;
            if p.surname.as_deref().unwrap_or("").trim().is_empty()
                && p.name.as_deref().unwrap_or("").trim().is_empty()
                && p.iin.is_none()
                && p.note.as_deref().unwrap_or("").trim().is_empty()
            {
                return Err(DomainError::rule_field(
                    "report_person_empty",
                    &f("surname"),
                    "a person needs a name, an IIN or a description",
                ));
            }
            if let Some(y) = p.birth_year {
                if !(BIRTH_YEAR_MIN..=2100).contains(&y) {
                    return Err(DomainError::field(
                        &f("birth_year"),
                        "birth year is not plausible",
                    ));
                }
            }
            if let Some(iin) = &p.iin {
                if iin.len() != 12 || !iin.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(DomainError::rule_field(
                        "iin_invalid",
                        &f("iin"),
                        "an IIN is 12 digits",
                    ));
                }
            }
        }
        if self.vehicles.len() > REPORT_VEHICLES_MAX {
            return Err(DomainError::rule_field(
                "report_too_many_vehicles",
                "report.vehicles",
                format!("a report lists at most {REPORT_VEHICLES_MAX} vehicles"),
            ));
        }
        for (i, v) in self.vehicles.iter().enumerate() {
            let f = |k: &str| format!("report.vehicles[{i}].{k}");
            check_text(&f("plate"), &v.plate, PLATE_CHARS_MAX, true)?;
            opt_text(&f("make"), &v.make, REPORT_NAME_CHARS_MAX)?;
            opt_text(&f("color"), &v.color, REPORT_NAME_CHARS_MAX)?;
            opt_text(&f("note"), &v.note, REPORT_NOTE_CHARS_MAX)?;
        }
        if self.photos.len() > REPORT_PHOTOS_MAX {
            return Err(DomainError::rule_field(
                "report_too_many_photos",
                "report.photos",
                format!("a report carries at most {REPORT_PHOTOS_MAX} photos"),
            ));
        }
        for p in &self.photos {
            if p.len() != 64 || !p.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(DomainError::field(
                    "report.photos",
                    "a photo is named by its SHA-256 in hex",
                ));
            }
        }
        let bytes = serde_json::to_vec(self)
            .map(|v| v.len())
            .unwrap_or(usize::MAX);
        if bytes > PATROL_REPORT_BYTES_MAX {
            return Err(DomainError::rule_field(
                "report_too_large",
                "report",
                format!("the report is {bytes} bytes; the limit is {PATROL_REPORT_BYTES_MAX}"),
            ));
        }
        Ok(())
    }
}

/// A patrol report as the card holds it: who filed it, from which unit, when (the terminal's
/// time of writing), and the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CardPatrolReport {
    /// The field log entry it came in (applied once).
    pub entry_id: String,
    pub unit_id: String,
    pub call_sign: String,
    /// The officer's login.
    pub by: String,
    /// When the officer filed it, ms since the epoch.
    pub at_ms: i64,
    pub report: PatrolReport,
}
