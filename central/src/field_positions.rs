//! Where every region's field units are, for HQ's map: the newest position of each unit, kept
//! in an index (`nat/unitpos/REGION/UNIT`) staged with the unit's track document as it arrives
//! from the region, so the map reads one prefix instead of every track.

use serde::Serialize;
use server_kit::store::{Store, StoreError, WriteBatch};
use sync::field::{decode_point, encode_point, FieldDocId, FieldPart, TrackDoc, UnitPosition};
use sync::Document;
use utoipa::ToSchema;

const PREFIX: &str = "nat/unitpos/";
/// Most units one map answer lists.
pub const MAP_UNITS_MAX: usize = 20_000;

fn key(region: &str, unit: &str) -> String {
    format!("{PREFIX}{region}/{unit}")
}

/// Stages the unit's newest position when `doc` is a track that moved it past what the index
/// holds. Anything else is left alone.
pub fn stage(
    store: &dyn Store,
    batch: &mut WriteBatch,
    doc_id: &str,
    doc: &automerge::AutoCommit,
) -> Result<(), StoreError> {
    let Some(f) = FieldDocId::parse(doc_id) else {
        return Ok(());
    };
    if !matches!(f.part, FieldPart::Track { .. }) {
        return Ok(());
    }
    let Some(latest) = TrackDoc::wrap(doc.clone()).latest() else {
        return Ok(());
    };
    let k = key(&f.region, &f.unit);
    let held = store.get(k.as_bytes())?.and_then(|v| decode_point(&v));
    if held.is_none_or(|h| h.at_ms < latest.at_ms) {
        batch.put(k, encode_point(&latest));
    }
    Ok(())
}

/// A unit on HQ's map.
#[derive(Debug, Serialize, ToSchema)]
pub struct NationalUnit {
    pub region: String,
    pub unit_id: String,
    pub position: UnitPosition,
}

/// Every unit's newest position, optionally of one region.
pub fn all(store: &dyn Store, region: Option<&str>) -> Result<Vec<NationalUnit>, StoreError> {
    let prefix = match region {
        Some(r) => format!("{PREFIX}{r}/"),
        None => PREFIX.to_string(),
    };
    let mut out = Vec::new();
    for (k, v) in store.scan_prefix(prefix.as_bytes())? {
        if out.len() >= MAP_UNITS_MAX {
            break;
        }
        let Ok(k) = std::str::from_utf8(&k[PREFIX.len()..]) else {
            continue;
        };
        let (Some((region, unit)), Some(position)) = (k.split_once('/'), decode_point(&v)) else {
            continue;
        };
        out.push(NationalUnit {
            region: region.to_string(),
            unit_id: unit.to_string(),
            position,
        });
    }
    Ok(out)
}
