//! What the terminals acknowledged (each status and report their local API answered 201), and
//! how it must show on a card, read as JSON from the node or the hub: a status as the unit's
//! step or a timeline event at the officer's original time, a report in `patrol_reports` under
//! its entry id with its original time. Pure: the harness fetches the cards, this counts.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

/// One entry a terminal acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acked {
    /// The log entry's id (uuid).
    pub id: String,
    pub card_id: String,
    /// The terminal's clock when the officer tapped: the original time.
    pub at_ms: i64,
    /// The officer's login.
    pub by: String,
    /// `acknowledged`, `en_route`, `on_scene`, `need_backup`, `cleared`, or `report`.
    pub kind: String,
}

impl Acked {
    /// From the entry a terminal answered with; `None` when it is not a status or a report.
    pub fn from_entry(entry: &Value) -> Option<Acked> {
        let kind = match entry["body"]["type"].as_str()? {
            "status" => entry["body"]["status"].as_str()?.to_string(),
            "report" => "report".to_string(),
            _ => return None,
        };
        Some(Acked {
            id: entry["id"].as_str()?.to_string(),
            card_id: entry["card_id"].as_str()?.to_string(),
            at_ms: entry["at_ms"].as_i64()?,
            by: entry["by"].as_str()?.to_string(),
            kind,
        })
    }
}

/// How often one entry shows on one copy of its card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Seen {
    /// Timeline events it produced (the step, the late status, the acknowledgement, the report).
    pub events: u32,
    /// `patrol_reports` under its entry id with its time (reports only).
    pub reports: u32,
}

impl Seen {
    /// On the card, with its original time.
    pub fn present(&self, e: &Acked) -> bool {
        self.events >= 1 && (e.kind != "report" || self.reports >= 1)
    }

    /// Copies beyond the first.
    pub fn duplicates(&self) -> u64 {
        u64::from(self.events.saturating_sub(1)) + u64::from(self.reports.saturating_sub(1))
    }
}

/// Counts `e` on `card` (the card JSON of `GET /api/v1/cards/{id}`, node or hub).
pub fn seen_on(card: &Value, e: &Acked) -> Seen {
    let events = card["timeline"]
        .as_array()
        .map(|events| {
            events
                .iter()
                .filter(|ev| ev["at"].as_i64() == Some(e.at_ms) && ev["by"] == e.by.as_str())
                .filter(|ev| event_matches(ev, &e.kind))
                .count() as u32
        })
        .unwrap_or(0);
    let reports = if e.kind == "report" {
        card["patrol_reports"]
            .as_array()
            .map(|list| {
                list.iter()
                    .filter(|r| {
                        r["entry_id"] == e.id.as_str() && r["at_ms"].as_i64() == Some(e.at_ms)
                    })
                    .count() as u32
            })
            .unwrap_or(0)
    } else {
        0
    };
    Seen { events, reports }
}

/// Whether a timeline event is what an entry of `kind` leaves on the card: a step the card took
/// (`en_route`, `on_scene`, `cleared`) or, when the card could not take it any more, the late
/// status (`unit_status_late`, "<call sign> <status>").
fn event_matches(ev: &Value, kind: &str) -> bool {
    let ev_kind = ev["kind"].as_str().unwrap_or("");
    match kind {
        "acknowledged" => ev_kind == "unit_acknowledged",
        "need_backup" => ev_kind == "unit_need_backup",
        "report" => ev_kind == "patrol_report",
        step => {
            ev_kind == step
                || (ev_kind == "unit_status_late"
                    && ev["text"]
                        .as_str()
                        .is_some_and(|t| t.ends_with(&format!(" {step}"))))
        }
    }
}

/// The check of every acknowledged entry on both copies of its card.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    pub checked: u64,
    pub missing_on_node: u64,
    pub missing_at_central: u64,
    /// Missing on either copy (each entry counted once).
    pub lost: u64,
    pub duplicated: u64,
    /// A few of the missing entries, for the log.
    pub examples: Vec<String>,
}

/// Most missing entries quoted in a report.
const EXAMPLES_MAX: usize = 5;

impl Tally {
    /// Adds one entry as seen on the node's card and the hub's (`None`: the card is not there).
    pub fn add(&mut self, e: &Acked, node: Option<&Value>, central: Option<&Value>) {
        self.checked += 1;
        let on_node = node.map(|c| seen_on(c, e)).unwrap_or_default();
        let at_central = central.map(|c| seen_on(c, e)).unwrap_or_default();
        let node_ok = on_node.present(e);
        let central_ok = at_central.present(e);
        if !node_ok {
            self.missing_on_node += 1;
        }
        if !central_ok {
            self.missing_at_central += 1;
        }
        if !(node_ok && central_ok) {
            self.lost += 1;
            if self.examples.len() < EXAMPLES_MAX {
                self.examples.push(format!(
                    "{} {} on card {} at {} by {} (node: {}, central: {})",
                    e.kind,
                    e.id,
                    e.card_id,
                    e.at_ms,
                    e.by,
                    if node_ok { "yes" } else { "no" },
                    if central_ok { "yes" } else { "no" }
                ));
            }
        }
        self.duplicated += on_node.duplicates().max(at_central.duplicates());
    }
}

/// The fleet's shared record of what happened.
#[derive(Default)]
pub(super) struct Journal {
    pub(super) acked: Vec<Acked>,
    /// Actions the terminal did not answer 201 (with why).
    pub(super) refused: Vec<String>,
    pub(super) dispatches: u64,
    /// Dispatch (node's 200) → the assignment shown on the terminal.
    pub(super) pack_latency: Vec<Duration>,
    pub(super) dark_periods: u64,
    pub(super) dark_ms_total: u64,
    pub(super) dark_ms_longest: u64,
}

pub(super) const POLL_MS: u64 = 250;

pub(super) type Shared = Arc<Mutex<Journal>>;

pub(super) fn journal(j: &Shared) -> std::sync::MutexGuard<'_, Journal> {
    j.lock().unwrap_or_else(|p| p.into_inner())
}

pub(super) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn acked(kind: &str, at_ms: i64) -> Acked {
        Acked {
            id: format!("e-{kind}"),
            card_id: "c1".into(),
            at_ms,
            by: "patrol_t001".into(),
            kind: kind.into(),
        }
    }

    fn card(timeline: Value, reports: Value) -> Value {
        json!({ "id": "c1", "timeline": timeline, "patrol_reports": reports })
    }

    #[test]
    fn an_entry_is_read_back_from_the_terminals_answer() {
        let entry = json!({"id": "u1", "at_ms": 5, "by": "o", "card_id": "c1",
            "body": {"type": "status", "status": "on_scene"}});
        assert_eq!(Acked::from_entry(&entry).unwrap().kind, "on_scene");
        let note =
            json!({"id": "u2", "at_ms": 5, "by": "o", "body": {"type": "note", "text": "x"}});
        assert!(Acked::from_entry(&note).is_none());
    }

    #[test]
    fn a_status_counts_as_its_step_or_as_a_late_status_at_its_own_time() {
        let c = card(
            json!([
                {"at": 10, "by": "patrol_t001", "kind": "en_route", "text": "Беркут-1001"},
                {"at": 20, "by": "patrol_t001", "kind": "unit_status_late", "text": "Беркут-1001 on_scene"},
                {"at": 30, "by": "disp", "kind": "cleared", "text": "Беркут-1001"},
            ]),
            json!([]),
        );
        assert!(seen_on(&c, &acked("en_route", 10)).present(&acked("en_route", 10)));
        assert!(seen_on(&c, &acked("on_scene", 20)).present(&acked("on_scene", 20)));
        // Another author, or another time, is not the officer's entry.
        assert!(!seen_on(&c, &acked("cleared", 30)).present(&acked("cleared", 30)));
        assert!(!seen_on(&c, &acked("en_route", 11)).present(&acked("en_route", 11)));
    }

    #[test]
    fn a_report_needs_its_entry_in_patrol_reports_and_twice_is_a_duplicate() {
        let e = acked("report", 40);
        let event =
            json!({"at": 40, "by": "patrol_t001", "kind": "patrol_report", "text": "Беркут-1001"});
        let report = json!({"entry_id": "e-report", "at_ms": 40});
        let only_event = card(json!([event.clone()]), json!([]));
        assert!(!seen_on(&only_event, &e).present(&e));
        let twice = card(
            json!([event.clone(), event]),
            json!([report.clone(), report]),
        );
        let seen = seen_on(&twice, &e);
        assert!(seen.present(&e));
        assert_eq!(seen.duplicates(), 2);
        let mut tally = Tally::default();
        tally.add(&e, Some(&twice), None);
        assert_eq!(
            (tally.lost, tally.missing_at_central, tally.duplicated),
            (1, 1, 2)
        );
    }
}
