//! The offline safety pack the node writes for one unit (`AST/field/p01~pack`): only what this
//! unit needs to work cut off — its assignments with the address warnings (R08) and earlier
//! cards at each address, its post or route (R20), and when the pack stops being valid.
//! The terminal only reads it (the protocol refuses the unit's changes to it).

use automerge::{transaction::Transactable, ActorId, AutoCommit, ObjType, ReadDoc, ROOT};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::doc::{get_obj, get_str, Document};
use crate::error::DomainError;
use crate::model::Location;

pub const PACK_SCHEMA_VERSION: i64 = 1;
/// Most assignments a pack holds (a unit works one or two cards at a time).
pub const PACK_ASSIGNMENTS_MAX: usize = 32;
/// Most earlier cards listed per assignment.
pub const PACK_EARLIER_CARDS_MAX: usize = 10;
/// Most address warnings listed per assignment.
pub const PACK_WARNINGS_MAX: usize = 20;

/// A post or patrol route of the electronic roster (R20), as the reference has it.
pub use crate::reference::PatrolPost as PostView;

/// An address warning (R08) for an assignment's address, as the duty unit's registry has it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PackWarning {
    /// The address as the registry writes it.
    pub address: String,
    pub person: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_year: Option<u16>,
    /// Warning codes (`weapon_owner`, `violent`, …), rendered in the officer's language.
    pub flags: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
    /// Only perhaps this address (a near match).
    #[serde(default)]
    pub possible: bool,
}

/// A card at the same address before this one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EarlierCard {
    pub card_id: String,
    pub number: String,
    pub created_at_ms: i64,
    pub category: String,
    /// The category's names, so the terminal shows them in the officer's language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category_kk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category_ru: Option<String>,
}

/// A card the unit is dispatched to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Assignment {
    pub card_id: String,
    pub number: String,
    /// The call category's code, and its names for the officer's language.
    pub category: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category_kk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category_ru: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<u8>,
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_phone: Option<String>,
    pub dispatched_at_ms: i64,
    #[serde(default)]
    pub warnings: Vec<PackWarning>,
    #[serde(default)]
    pub earlier: Vec<EarlierCard>,
    /// The unit's step on the card as the node knows it (`assigned`, `en_route`, `on_scene`).
    pub status: String,
}

/// What the pack says about the unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PackMeta {
    pub unit_id: String,
    pub call_sign: String,
    pub region: String,
    /// After this the terminal refuses offline logins and wipes its data.
    pub expires_at_ms: i64,
    /// The unit was revoked: the terminal wipes its data at once.
    #[serde(default)]
    pub revoked: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post: Option<PostView>,
}

/// The pack as the terminal reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UnitPack {
    pub meta: Option<PackMeta>,
    pub assignments: Vec<Assignment>,
}

pub struct UnitPackDoc {
    doc: AutoCommit,
}

impl Document for UnitPackDoc {
    const SCHEMA_VERSION: i64 = PACK_SCHEMA_VERSION;
    const KIND: &'static str = "unit pack";
    fn wrap(doc: AutoCommit) -> Self {
        UnitPackDoc { doc }
    }
    fn automerge(&mut self) -> &mut AutoCommit {
        &mut self.doc
    }
}

fn to_json<T: Serialize>(v: &T) -> Result<String, DomainError> {
    serde_json::to_string(v).map_err(|e| DomainError::field("pack", e.to_string()))
}

impl UnitPackDoc {
    pub fn create(actor: ActorId, unit: &str) -> Result<UnitPackDoc, DomainError> {
        let mut doc = AutoCommit::new().with_actor(actor);
        doc.put(ROOT, "v", PACK_SCHEMA_VERSION)?;
        doc.put(ROOT, "unit", unit)?;
        doc.put_object(ROOT, "assignments", ObjType::Map)?;
        doc.commit();
        Ok(UnitPackDoc { doc })
    }

    /// Sets the meta; writes nothing (no history) when it is unchanged. Returns whether it changed.
    pub fn set_meta(&mut self, meta: &PackMeta) -> Result<bool, DomainError> {
        let json = to_json(meta)?;
        if get_str(&self.doc, &ROOT, "meta").as_deref() == Some(json.as_str()) {
            return Ok(false);
        }
        self.doc.put(ROOT, "meta", json)?;
        self.doc.commit();
        Ok(true)
    }

    /// Puts or replaces an assignment; writes nothing when unchanged. Returns whether it changed.
    pub fn put_assignment(&mut self, a: &Assignment) -> Result<bool, DomainError> {
        let map = get_obj(&self.doc, &ROOT, "assignments")?;
        let json = to_json(a)?;
        if get_str(&self.doc, &map, &a.card_id).as_deref() == Some(json.as_str()) {
            return Ok(false);
        }
        if get_str(&self.doc, &map, &a.card_id).is_none()
            && self.doc.length(&map) >= PACK_ASSIGNMENTS_MAX
        {
            return Err(DomainError::rule(
                "pack_full",
                format!("a unit holds at most {PACK_ASSIGNMENTS_MAX} assignments"),
            ));
        }
        self.doc.put(&map, a.card_id.as_str(), json)?;
        self.doc.commit();
        Ok(true)
    }

    /// Removes an assignment (the card was closed or the unit released). Returns whether it was there.
    pub fn remove_assignment(&mut self, card_id: &str) -> Result<bool, DomainError> {
        let map = get_obj(&self.doc, &ROOT, "assignments")?;
        if get_str(&self.doc, &map, card_id).is_none() {
            return Ok(false);
        }
        self.doc.delete(&map, card_id)?;
        self.doc.commit();
        Ok(true)
    }

    pub fn view(&self) -> Result<UnitPack, DomainError> {
        let meta = match get_str(&self.doc, &ROOT, "meta") {
            Some(s) => Some(
                serde_json::from_str(&s)
                    .map_err(|e| DomainError::CorruptDocument(e.to_string()))?,
            ),
            None => None,
        };
        let map = get_obj(&self.doc, &ROOT, "assignments")?;
        let mut assignments: Vec<Assignment> = Vec::new();
        for item in self.doc.map_range(&map, ..) {
            let v = automerge::Value::from(item.value);
            let s = v
                .as_str()
                .ok_or_else(|| DomainError::CorruptDocument("assignment is not text".into()))?;
            assignments.push(
                serde_json::from_str(s).map_err(|e| DomainError::CorruptDocument(e.to_string()))?,
            );
        }
        assignments.sort_by_key(|a| std::cmp::Reverse(a.dispatched_at_ms));
        Ok(UnitPack { meta, assignments })
    }
}
