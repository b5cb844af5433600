//! The state database of persons and legal entities as form З-1 uses it (004 p.23): by the
//! ИИН/БИН of field 4 it fills fields 3, 5–18 and 20–26; fields 12–18 are checked against the
//! postal address the appeal gives.
//!
//! The interface (node/API.md, "State register adapter"): the node asks `GET {url}?id=<ИИН or
//! БИН>`; the gateway answers `200 {"fields": {"3": "…", "12": "…"}}` — the values keyed by the
//! З-1 field number they fill (the gateway maps the register's own layout onto З-1, which the
//! seeds do not reproduce) — or `404` when the register has no such person or entity. This
//! module reads and checks the answer; the node's shell asks, caches and times out.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::model::FieldCheck;

/// The highest field number of З-1 p.23 mentions.
pub const Z1_FIELDS_MAX: u32 = 26;
/// З-1 fields the register fills (p.23).
pub const Z1_REGISTER_FIELDS: [u32; 22] = [
    3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 20, 21, 22, 23, 24, 25, 26,
];
/// З-1 fields checked against the appeal's postal address (p.23).
pub const Z1_ADDRESS_FIELDS: [u32; 7] = [12, 13, 14, 15, 16, 17, 18];
/// The largest register answer read, bytes.
pub const REGISTER_ANSWER_BYTES_MAX: usize = 16_384;
/// The longest value of one field, characters.
pub const REGISTER_VALUE_CHARS_MAX: usize = 500;

/// The register's values for one ИИН/БИН, by З-1 field number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RegisterAnswer {
    pub fields: BTreeMap<u32, String>,
}

/// Where the lookup for an applicant stands, as the forms show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum RegisterState {
    /// No state-register interface is connected to this node: З-1 is filled by hand.
    NotConfigured,
    /// The applicant gave no ИИН/БИН: nothing to look up.
    NoIdentityNumber,
    /// The register's answer; `cached`: from the node's offline cache (the register could not be
    /// reached now), fetched at `fetched_at`.
    Found {
        answer: RegisterAnswer,
        fetched_at: i64,
        cached: bool,
    },
    /// The register has no such person or entity.
    NotFound { fetched_at: i64 },
    /// The register could not be reached and nothing is cached; see the node's log.
    Unavailable { error: String },
}

impl RegisterState {
    /// The З-1 fields' `source`.
    pub fn source(&self) -> String {
        match self {
            RegisterState::Found { cached: false, .. } => "register".into(),
            RegisterState::Found { cached: true, .. } => "register (offline cache)".into(),
            RegisterState::NotConfigured => "manual (no register interface)".into(),
            RegisterState::NoIdentityNumber => "manual (no ИИН/БИН)".into(),
            RegisterState::NotFound { .. } => "manual (not in the register)".into(),
            RegisterState::Unavailable { .. } => "manual (register unavailable)".into(),
        }
    }
}

/// Reads and checks a register's 200 answer.
pub fn parse_answer(bytes: &[u8]) -> Result<RegisterAnswer, String> {
    if bytes.len() > REGISTER_ANSWER_BYTES_MAX {
        return Err(format!(
            "the answer is over {REGISTER_ANSWER_BYTES_MAX} bytes"
        ));
    }
    #[derive(Deserialize)]
    struct Wire {
        fields: BTreeMap<String, String>,
    }
    let wire: Wire = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let mut fields = BTreeMap::new();
    for (key, value) in wire.fields {
        let number: u32 = key
            .parse()
            .ok()
            .filter(|n| Z1_REGISTER_FIELDS.contains(n))
            .ok_or_else(|| {
                format!(
                    "`{}` is not a З-1 field the register fills",
                    key.chars().take(16).collect::<String>()
                )
            })?;
        if value.chars().count() > REGISTER_VALUE_CHARS_MAX {
            return Err(format!(
                "field {number} is over {REGISTER_VALUE_CHARS_MAX} characters"
            ));
        }
        let value = value.trim();
        if !value.is_empty() {
            fields.insert(number, value.to_string());
        }
    }
    Ok(RegisterAnswer { fields })
}

/// Lower case, letters and digits only, single spaces: addresses compared as words.
fn words(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_alphanumeric() {
                c.to_lowercase().next().unwrap_or(c)
            } else {
                ' '
            }
        })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// З-1 12–18 against the appeal's postal address (p.23): each register value the postal
/// address does not contain (as words) is a mismatch to bring in line. No postal address: no
/// check (nothing to compare).
pub fn address_mismatches(answer: &RegisterAnswer, postal: Option<&str>) -> Vec<FieldCheck> {
    let Some(postal) = postal.filter(|p| !p.trim().is_empty()) else {
        return Vec::new();
    };
    let postal_words = format!(" {} ", words(postal));
    Z1_ADDRESS_FIELDS
        .iter()
        .filter_map(|n| answer.fields.get(n).map(|v| (*n, v)))
        .filter(|(_, v)| {
            let w = words(v);
            !w.is_empty() && !postal_words.contains(&format!(" {w} "))
        })
        .map(|(field, v)| FieldCheck {
            field,
            code: "forms.address_mismatch".into(),
            params: serde_json::json!({"register": v, "postal": postal}),
        })
        .collect()
}
