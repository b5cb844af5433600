//! The field worker: applies what units' terminals wrote to the cards (each log entry once, at
//! its own time), and keeps every unit's offline safety pack current — its card with the
//! address warnings (R08) and the earlier cards there, its post for the shift (R20), and when
//! the pack expires (the shift's end).

use std::sync::Arc;

use sync::field::PackMeta;
use tokio::sync::{broadcast, watch};

use super::pack::assignment;
use crate::live::LiveEvent;
use crate::search::CardSearch;
use crate::service::CardService;

/// Starts the worker; it ends when `shutdown` becomes true.
pub fn spawn(service: Arc<CardService>, search: Arc<CardSearch>, shutdown: watch::Receiver<bool>) {
    let Some(entries) = service.take_field_entries() else {
        return;
    };
    let events = service.subscribe();
    start(&service, &search);
    // The worker holds the service and the search only while it works on something: a node that
    // is dropped (closed, or reopened by a test) releases its store at once.
    tokio::spawn(run(
        Arc::downgrade(&service),
        Arc::downgrade(&search),
        entries,
        events,
        shutdown,
    ));
}

/// What the worker does once at start: queue the last days' log entries (a crash may have left
/// some unapplied), write every unit's pack, prune field documents past their retention.
fn start(service: &CardService, search: &CardSearch) {
    let now = server_kit::clock::now_ms();
    match service.requeue_field_entries(now) {
        Ok(n) if n > 0 => tracing::info!(
            entries = n,
            "field log entries of the last days queued for applying"
        ),
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, "field logs cannot be read for re-applying"),
    }
    if let Ok(units) = service.units(now) {
        for u in units {
            refresh_pack(service, search, &u.id);
        }
    }
    if let Err(e) = service.field().prune(now) {
        tracing::error!(error = %e, "old field documents cannot be pruned");
    }
}

async fn run(
    service: std::sync::Weak<CardService>,
    search: std::sync::Weak<CardSearch>,
    mut entries: tokio::sync::mpsc::UnboundedReceiver<(String, sync::field::FieldEntry)>,
    mut events: broadcast::Receiver<LiveEvent>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            Some((unit, entry)) = entries.recv() => {
                let Some(service) = service.upgrade() else { return };
                let now = server_kit::clock::now_ms();
                match service.apply_field_entry(&unit, &entry, now).await {
                    Ok(sync::card::FieldApplied::RecordedOnly(why)) => tracing::info!(
                        unit, entry = entry.id, why, "a unit's status was recorded on the card's timeline only"
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(unit, entry = entry.id, error = %e, "a field log entry cannot be applied to its card"),
                }
            }
            ev = events.recv() => {
                let (Some(service), Some(search)) = (service.upgrade(), search.upgrade()) else { return };
                match ev {
                Ok(LiveEvent::Unit(u)) => refresh_pack(&service, &search, &u.id),
                Ok(LiveEvent::Card(c)) if !c.units.is_empty() => {
                    // Units are named by call sign in a summary: refresh those working it.
                    if let Ok(units) = service.units(server_kit::clock::now_ms()) {
                        for u in units.iter().filter(|u| u.card_id.as_deref() == Some(c.id.as_str())) {
                            refresh_pack(&service, &search, &u.id);
                        }
                    }
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    if let Ok(units) = service.units(server_kit::clock::now_ms()) {
                        for u in units {
                            refresh_pack(&service, &search, &u.id);
                        }
                    }
                }
                Err(broadcast::error::RecvError::Closed) => return,
                }
            }
            r = shutdown.changed() => {
                if r.is_err() || *shutdown.borrow() {
                    return;
                }
            }
        }
    }
}

/// Rewrites a unit's pack from what the node holds now (nothing is written when nothing changed).
pub fn refresh_pack(service: &CardService, search: &CardSearch, unit_id: &str) {
    let now = server_kit::clock::now_ms();
    match write_pack(service, search, unit_id, now) {
        Ok(true) => {
            if let Some(id) = sync::field::FieldDocId::new(
                service.region(),
                unit_id,
                sync::field::FieldPart::Pack,
            ) {
                // The unit's terminal connection (and the hub's) sends it on.
                service.publish(LiveEvent::Field {
                    doc_id: id.to_string(),
                    unit_id: unit_id.to_string(),
                    position: None,
                });
            }
        }
        Ok(false) => {}
        Err(e) => tracing::warn!(unit = unit_id, error = %e, "the unit's pack cannot be written"),
    }
}

fn write_pack(
    service: &CardService,
    search: &CardSearch,
    unit_id: &str,
    now: i64,
) -> Result<bool, Box<dyn std::error::Error>> {
    let Some(unit) = service.units(now)?.into_iter().find(|u| u.id == unit_id) else {
        return Ok(false);
    };
    let reference = service.reference();
    let (date, shift) = reference.shift_at(now);
    let expires_at_ms = reference
        .shift_window(&date, shift)
        .map(|(_, end)| end)
        .unwrap_or(now + service.field().shift_ms());
    let post = service
        .roster(&date)?
        .into_iter()
        .find(|e| e.unit_id == unit_id && e.shift == shift)
        .and_then(|e| {
            reference
                .posts
                .iter()
                .find(|p| p.is_named(&e.post))
                .cloned()
        });
    let mut assignments = Vec::new();
    if let Some(card_id) = &unit.card_id {
        let card = service.get_card(card_id)?;
        let warnings = match card.location.as_ref().and_then(|l| l.address.as_deref()) {
            Some(a) => service.warnings_for(a).unwrap_or_default(),
            None => Vec::new(),
        };
        let earlier = match search.entry(&card.id)? {
            Some(e) => search.related(&e)?,
            None => Vec::new(),
        };
        assignments.extend(assignment(reference, &card, unit_id, &warnings, &earlier));
    }
    let meta = PackMeta {
        unit_id: unit.id.clone(),
        call_sign: unit.call_sign.clone(),
        region: service.region().to_string(),
        expires_at_ms,
        revoked: false,
        post,
    };
    Ok(service
        .field()
        .write_pack(unit_id, &meta, &assignments, now)?)
}
