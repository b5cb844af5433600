//! What goes into a unit's offline safety pack: for each card the unit works, the card's
//! address, caller, description, the address warnings (R08) and the earlier cards at that
//! address — only what this unit needs.

use sync::field::{
    Assignment, EarlierCard, PackWarning, PACK_EARLIER_CARDS_MAX, PACK_WARNINGS_MAX,
};
use sync::{Card, Reference};

use crate::search::CardHit;

use crate::warnings::{FoundWarning, MatchKind};

/// The assignment of `unit_id` on `card`, if the unit is still active on it.
pub fn assignment(
    reference: &Reference,
    card: &Card,
    unit_id: &str,
    warnings: &[FoundWarning],
    earlier: &[CardHit],
) -> Option<Assignment> {
    let on_card = card.unit(unit_id).filter(|u| u.is_active())?;
    let status = if on_card.on_scene_at.is_some() {
        "on_scene"
    } else if on_card.en_route_at.is_some() {
        "en_route"
    } else {
        "assigned"
    };
    let names = |code: Option<&str>| {
        reference
            .categories
            .iter()
            .find(|c| Some(c.code.as_str()) == code)
            .map(|c| (c.name_kk.clone(), c.name_ru.clone()))
            .unzip()
    };
    let (category_kk, category_ru) = names(card.category.as_deref());
    Some(Assignment {
        card_id: card.id.clone(),
        number: card.number.clone(),
        category: card.category.clone().unwrap_or_default(),
        category_kk,
        category_ru,
        priority: card.priority,
        description: card.description.clone().unwrap_or_default(),
        location: card.location.clone(),
        caller_name: card.caller.name.clone(),
        caller_phone: card
            .caller
            .phone
            .clone()
            .or_else(|| card.caller.phone_raw.clone()),
        dispatched_at_ms: on_card.assigned_at,
        warnings: warnings
            .iter()
            .take(PACK_WARNINGS_MAX)
            .map(|w| PackWarning {
                address: w.warning.address.clone(),
                person: w.warning.person.clone(),
                birth_year: w.warning.birth_year,
                flags: w
                    .warning
                    .flags
                    .iter()
                    .filter_map(|f| serde_json::to_value(f).ok())
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect(),
                note: w.warning.note.clone(),
                possible: w.match_kind != MatchKind::Match,
            })
            .collect(),
        earlier: earlier
            .iter()
            .filter(|c| c.id != card.id)
            .take(PACK_EARLIER_CARDS_MAX)
            .map(|c| {
                let (category_kk, category_ru) = names(c.category.as_deref());
                EarlierCard {
                    card_id: c.id.clone(),
                    number: c.number.clone(),
                    created_at_ms: c.created_at,
                    category: c.category.clone().unwrap_or_default(),
                    category_kk,
                    category_ru,
                }
            })
            .collect(),
        status: status.into(),
    })
}
