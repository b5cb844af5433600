//! What order 170 keeps of a registered appeal, as this system exports it to the ИАС
//! «Электронные обращения» (or to a reviewer): one record per appeal, built from its view alone,
//! so that the accounting forms (ОЛ-1, ОЛ-2, report 1-ОЛ) can be computed from the same data.
//! The format is versioned ([`EXPORT_FORMAT`]) and documented in `node/API.md`.

use serde::Serialize;
use utoipa::ToSchema;

use super::model::*;
use crate::calendar::Day;

/// The export format's name and version.
pub const EXPORT_FORMAT: &str = "mvd102-appeals/1";

/// An applicant as the accounting record names them.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RecordApplicant {
    pub kind: Option<ApplicantKind>,
    pub iin_or_bin: Option<String>,
    pub name: String,
    pub address: Option<String>,
}

/// One appeal's accounting record.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AccountingRecord {
    pub format: &'static str,
    pub region: String,
    pub id: String,
    /// Registration number (ОЛ-1 field 1).
    pub number: Option<String>,
    #[schema(value_type = Option<String>)]
    pub registration_day: Option<Day>,
    pub registered_at: Option<i64>,
    pub registered_by: Option<String>,
    pub received_at: i64,
    pub kind: Option<AppealKind>,
    pub channel: AppealChannel,
    pub language: crate::model::Language,
    /// «ҰЖ», «ЖҚ».
    pub codes: Vec<String>,
    pub tags: Vec<String>,
    pub anonymous: bool,
    pub applicants: Vec<RecordApplicant>,
    pub service: Option<String>,
    pub status: AppealStatus,
    /// The review term (ОЛ-1 field 13), after extensions.
    #[schema(value_type = Option<String>)]
    pub deadline: Option<Day>,
    pub extensions: usize,
    pub decision: Option<Decision>,
    pub answered_at: Option<i64>,
    pub crime_signs: bool,
    pub kui_number: Option<String>,
    /// ОЛ-2 of a document not subject to accounting (R30), if transferred and not cancelled.
    pub transferred_to: Option<String>,
    pub transferred_at: Option<i64>,
    /// Parts sent to other bodies under `number/k` (R29).
    pub parts: Vec<(String, String)>,
    pub duplicate_of: Vec<String>,
    pub card_number: Option<String>,
}

impl AccountingRecord {
    pub fn of(a: &Appeal) -> AccountingRecord {
        let transfer = a.transfer.as_ref().filter(|t| t.cancelled_at.is_none());
        AccountingRecord {
            format: EXPORT_FORMAT,
            region: a.region.clone(),
            id: a.id.clone(),
            number: a.number.clone(),
            registration_day: a.registration_day,
            registered_at: a.registered_at,
            registered_by: a.registered_by.clone(),
            received_at: a.received_at,
            kind: a.kind,
            channel: a.channel,
            language: a.language,
            codes: a.codes.clone(),
            tags: a.tags.clone(),
            anonymous: a.anonymous,
            applicants: a
                .applicants
                .iter()
                .map(|p| RecordApplicant {
                    kind: p.kind,
                    iin_or_bin: p.iin.clone().or_else(|| p.bin.clone()),
                    name: p.display_name(),
                    address: p.address.clone(),
                })
                .collect(),
            service: a.service.clone(),
            status: a.status,
            deadline: a.deadline,
            extensions: a.extensions.len(),
            decision: a.answer.as_ref().map(|x| x.decision),
            answered_at: a.answer.as_ref().map(|x| x.sent_at),
            crime_signs: a.crime_signs,
            kui_number: a.kui.as_ref().map(|k| k.number.clone()),
            transferred_to: transfer.map(|t| t.system.clone()),
            transferred_at: transfer.map(|t| t.at),
            parts: a
                .parts
                .iter()
                .map(|p| (p.number.clone(), p.body.clone()))
                .collect(),
            duplicate_of: a.duplicate_of.iter().map(|d| d.number.clone()).collect(),
            card_number: a.card_number.clone(),
        }
    }
}
