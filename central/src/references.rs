//! Every region's reference data as the hub knows it, and the national calendar it publishes.
//!
//! A region's node publishes its reference data (districts, categories, duty units, timing
//! rules) as the document `{REGION}/reference/region`; the hub reads that region's cards with it.
//! Until a region's document has arrived, its cards are read with the statutory rules only
//! ([`statutory_reference`]: the КУИ deadline of 24 hours, codes without names), never with
//! another region's data.
//!
//! National documents are the hub's own: the working-day calendar years
//! (`KZ/calendar/{year}`), seeded from the embedded files on first start and replaced by an
//! administrator when a decree is published; they replicate to every node.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use server_kit::docs;
use server_kit::store::Store;
use sync::reference::{RegionInfo, ShiftRules};
use sync::{DocId, DocKind, Document, PublishedDoc, Reference};

/// The id of a region's one reference document, as the node writes it.
pub const REFERENCE_DOC_ID: &str = "region";

/// What a card of a region whose reference data has not arrived is read with: the statutory
/// timing rules (R07/R14: КУИ registration within 24 hours) and no names.
pub fn statutory_reference(region: &str) -> Reference {
    Reference {
        region: RegionInfo {
            code: region.to_string(),
            name_kk: region.to_string(),
            name_ru: region.to_string(),
        },
        districts: Vec::new(),
        categories: Vec::new(),
        duty_units: Vec::new(),
        unit_overdue_after_s: STATUTORY_UNIT_OVERDUE_AFTER_S,
        kui_deadline_h: STATUTORY_KUI_DEADLINE_H,
        street_aliases: Vec::new(),
        town_aliases: Vec::new(),
        shifts: ShiftRules::default(),
        services: Vec::new(),
        external_bodies: Vec::new(),
        posts: Vec::new(),
    }
}

/// КУИ registration deadline when a region's own rule is not known, in hours (R07/R14).
pub const STATUTORY_KUI_DEADLINE_H: u64 = 24;
/// A dispatched unit counts as overdue after this many seconds when its region's rule is not
/// known (the demo region's and the nodes' default).
pub const STATUTORY_UNIT_OVERDUE_AFTER_S: u64 = 600;

/// A region's reference data as received, with when its node published it.
#[derive(Debug, Clone)]
pub struct ReceivedReference {
    pub reference: Arc<Reference>,
    pub published_at: Option<i64>,
}

/// Every region's received reference data, shared by the catalogue (which updates it as the
/// documents arrive) and the readers.
#[derive(Debug, Clone, Default)]
pub struct RegionReferences {
    received: Arc<RwLock<BTreeMap<String, ReceivedReference>>>,
}

impl RegionReferences {
    /// Reads every region's stored reference document. An unreadable one is logged and left
    /// out: that region's cards are read with the statutory rules until a good one arrives.
    pub fn load(store: &dyn Store, regions: &[String]) -> RegionReferences {
        let refs = RegionReferences::default();
        for region in regions {
            let Ok(id) = DocId::new(region, DocKind::Reference, REFERENCE_DOC_ID) else {
                continue;
            };
            match read_reference(store, &id) {
                Ok(Some(r)) => refs.set(region, r),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(%region, error = %e, "the region's stored reference data cannot be read")
                }
            }
        }
        refs
    }

    /// The region's reference data, or the statutory rules when none has arrived.
    pub fn get(&self, region: &str) -> Arc<Reference> {
        self.received(region)
            .map(|r| r.reference)
            .unwrap_or_else(|| Arc::new(statutory_reference(region)))
    }

    /// The region's reference data, if it has arrived.
    pub fn received(&self, region: &str) -> Option<ReceivedReference> {
        self.received
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(region)
            .cloned()
    }

    /// The regions whose reference data has arrived, in order.
    pub fn regions(&self) -> Vec<String> {
        self.received
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .cloned()
            .collect()
    }

    pub fn set(&self, region: &str, received: ReceivedReference) {
        self.received
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(region.to_string(), received);
    }

    /// Milliseconds after which a region's dispatched unit is overdue.
    pub fn unit_overdue_after_ms(&self, region: &str) -> i64 {
        self.get(region).unit_overdue_after_ms()
    }
}

/// Reads and checks a published reference document: its value must be valid reference data of
/// the region the document belongs to.
pub fn check_reference(
    id: &DocId,
    doc: &PublishedDoc,
) -> Result<Option<ReceivedReference>, String> {
    let Some(reference) = doc.value::<Reference>().map_err(|e| format!("{id}: {e}"))? else {
        return Ok(None);
    };
    reference.validate().map_err(|e| format!("{id}: {e}"))?;
    if reference.region.code != id.region() {
        return Err(format!(
            "{id} holds the reference data of region {}",
            reference.region.code
        ));
    }
    Ok(Some(ReceivedReference {
        reference: Arc::new(reference),
        published_at: doc.published().map(|(at, _)| at),
    }))
}

fn read_reference(store: &dyn Store, id: &DocId) -> Result<Option<ReceivedReference>, String> {
    let Some((doc, _)) = docs::load(store, id).map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    check_reference(id, &PublishedDoc::wrap(doc))
}
