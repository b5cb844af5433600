//! HQ's national table of district inspectors' report meetings (R22): which beats of each
//! region had a meeting this quarter.
//!
//! Two inputs arrive by replication: each region's beats register (`{REGION}/reference/beats`,
//! published by its node from its beats reference) and its meeting documents. Each meeting is
//! indexed as it is stored, once per beat it covers, under
//! `nat/mtg/beat/{region}/{beat}/{date}/{id}` → [`HubMeeting`]; `nat/mtg/doc/{region}/{id}` lists
//! the keys a meeting holds so that a changed plan (another date, other beats) moves them. The
//! table reads a region's register and one prefix per beat, and decides each beat's state with
//! the same [`sync::meetings::coverage`] the inspector's console uses.

use automerge::AutoCommit;
use server_kit::docs;
use server_kit::store::{Store, StoreError, WriteBatch};
use sync::meetings::national::{region_quarter, HubMeeting, RegionQuarter};
use sync::meetings::{BeatsRegister, MeetingDoc, Quarter, BEATS_DOC_ID};
use sync::{DocId, DocKind, Document, PublishedDoc};

use sync::calendar::Day;

const BEAT_PREFIX: &str = "nat/mtg/beat/";
const DOC_PREFIX: &str = "nat/mtg/doc/";
/// Most meetings of one beat the table reads (a beat has a few a year).
pub const BEAT_MEETINGS_MAX: usize = 1_000;

fn beat_prefix(region: &str, beat: &str) -> String {
    format!("{BEAT_PREFIX}{region}/{beat}/")
}

fn doc_key(region: &str, id: &str) -> String {
    format!("{DOC_PREFIX}{region}/{id}")
}

/// Whether `id` is a region's beats register (a published document, not reference data).
pub fn is_register(id: &DocId) -> bool {
    id.kind() == DocKind::Reference && id.id() == BEATS_DOC_ID
}

/// Checks a beats register that arrived (the region its id says, codes unique).
pub fn check_register(id: &DocId, doc: &AutoCommit) -> Result<(), String> {
    let published = PublishedDoc::wrap(doc.clone());
    let Some(register) = published
        .value::<BeatsRegister>()
        .map_err(|e| format!("{id}: {e}"))?
    else {
        return Ok(());
    };
    register
        .validate(id.region())
        .map_err(|e| format!("{id}: {e}"))
}

/// Stages the index of a meeting document being stored: its earlier entries go, one entry per
/// beat it covers comes. A document that is not a meeting of its id's region is refused.
pub fn stage(
    store: &dyn Store,
    batch: &mut WriteBatch,
    id: &DocId,
    doc: &AutoCommit,
) -> Result<(), String> {
    let meeting = MeetingDoc::wrap(doc.clone())
        .view()
        .map_err(|e| format!("{id}: not a valid meeting: {e}"))?;
    if meeting.region != id.region() || meeting.id != id.id() {
        return Err(format!(
            "meeting {} of region {} stored as {id}",
            meeting.id, meeting.region
        ));
    }
    let dk = doc_key(id.region(), id.id());
    let held: Vec<String> = store
        .get(dk.as_bytes())
        .map_err(|e| e.to_string())?
        .and_then(|v| serde_json::from_slice(&v).ok())
        .unwrap_or_default();
    for k in held {
        batch.delete(k);
    }
    let entry = HubMeeting::of(&meeting);
    let mut keys = Vec::with_capacity(meeting.plan.beats.len());
    for beat in &meeting.plan.beats {
        let k = format!(
            "{}{}/{}",
            beat_prefix(id.region(), beat),
            meeting.plan.date,
            meeting.id
        );
        batch
            .put_json(k.clone(), &entry)
            .map_err(|e| e.to_string())?;
        keys.push(k);
    }
    batch.put_json(dk, &keys).map_err(|e| e.to_string())?;
    Ok(())
}

/// A region's beats register, when its node published one.
pub fn register(store: &dyn Store, region: &str) -> Result<Option<BeatsRegister>, String> {
    let id = DocId::new(region, DocKind::Reference, BEATS_DOC_ID).map_err(|e| e.to_string())?;
    let Some((doc, _)) = docs::load(store, &id).map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    PublishedDoc::wrap(doc)
        .value::<BeatsRegister>()
        .map_err(|e| format!("{id}: {e}"))
}

fn beat_meetings(
    store: &dyn Store,
    region: &str,
    beat: &str,
) -> Result<Vec<HubMeeting>, StoreError> {
    let mut out = Vec::new();
    for (k, v) in store.scan_prefix(beat_prefix(region, beat).as_bytes())? {
        if out.len() >= BEAT_MEETINGS_MAX {
            break;
        }
        match serde_json::from_slice::<HubMeeting>(&v) {
            Ok(m) => out.push(m),
            Err(e) => {
                tracing::warn!(key = %String::from_utf8_lossy(&k), error = %e, "a meeting index entry is unreadable")
            }
        }
    }
    Ok(out)
}

/// A region's quarter on `today`; `None` when its node has not published a beats register.
pub fn region(
    store: &dyn Store,
    region: &str,
    quarter: Quarter,
    today: Day,
) -> Result<Option<RegionQuarter>, String> {
    let Some(register) = register(store, region)? else {
        return Ok(None);
    };
    let mut failed = None;
    let table = region_quarter(&register, quarter, today, |beat| {
        beat_meetings(store, region, beat).unwrap_or_else(|e| {
            failed = Some(e.to_string());
            Vec::new()
        })
    });
    match failed {
        Some(e) => Err(e),
        None => Ok(Some(table)),
    }
}
