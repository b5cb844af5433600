//! What a replication run expects on both sides, and the check that a region's node and the
//! central show the same cards: same status, same unit ids, the same multiset of timeline events
//! `(at, by, kind, text)`, every acknowledged note on both, no event twice, the same open-card
//! lists.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::sides::{timeline, unit_ids, CentralSide, Event, NodeSide};
use crate::report::Report;

/// Problems of a failed convergence check kept in the report and printed.
const PROBLEMS_SHOWN_MAX: usize = 20;

fn multiset(events: &[Event]) -> BTreeMap<&Event, usize> {
    let mut counts = BTreeMap::new();
    for e in events {
        *counts.entry(e).or_insert(0) += 1;
    }
    counts
}

/// What was acknowledged to the harness and so must be on both sides.
#[derive(Debug, Default, Clone)]
pub(crate) struct Expected {
    /// `(region, card id)` → what the card must show.
    pub(crate) cards: BTreeMap<(String, String), CardExpect>,
}

#[derive(Debug, Default, Clone)]
pub(crate) struct CardExpect {
    /// Note texts acknowledged by the node or the central (each unique in the run).
    pub(crate) notes: BTreeSet<String>,
    /// Units the node acknowledged dispatching.
    pub(crate) units: BTreeSet<String>,
    /// The node acknowledged closing the card: it leaves the open lists.
    pub(crate) closed: bool,
}

impl Expected {
    pub(crate) fn card(&mut self, region: &str, id: &str) -> &mut CardExpect {
        self.cards
            .entry((region.to_string(), id.to_string()))
            .or_default()
    }

    fn regions(&self) -> BTreeSet<&str> {
        self.cards.keys().map(|(r, _)| r.as_str()).collect()
    }
}

#[derive(Debug, Default)]
pub(crate) struct Convergence {
    /// Acknowledged cards, notes or dispatches missing on a side.
    pub(crate) lost: u64,
    /// Timeline events present twice on a side, or a card listed twice.
    pub(crate) duplicated: u64,
    /// Everything that differs, lost and duplicated included.
    problems: Vec<String>,
    problems_count: u64,
    pub(crate) cards_checked: u64,
}

impl Convergence {
    pub(crate) fn converged(&self) -> bool {
        self.problems_count == 0
    }

    fn problem(&mut self, text: String) {
        self.problems_count += 1;
        if self.problems.len() < PROBLEMS_SHOWN_MAX {
            self.problems.push(text);
        }
    }
}

/// Compares every expected card on its node and at the central, and the open-card lists.
pub(super) async fn check_convergence(
    nodes: &BTreeMap<String, NodeSide>,
    central: &CentralSide,
    expected: &Expected,
) -> Convergence {
    let mut out = Convergence::default();
    for region in expected.regions() {
        let node = &nodes[region];
        let expected_ids: BTreeSet<&str> = expected
            .cards
            .iter()
            .filter(|((r, _), card)| r == region && !card.closed)
            .map(|((_, id), _)| id.as_str())
            .collect();
        match (
            node.open_card_ids().await,
            central.open_card_ids(region).await,
        ) {
            (Ok(at_node), Ok(at_central)) => {
                let node_set: BTreeSet<&str> = at_node.iter().map(String::as_str).collect();
                let central_set: BTreeSet<&str> = at_central.iter().map(String::as_str).collect();
                let twice = (at_central.len() - central_set.len()) as u64
                    + (at_node.len() - node_set.len()) as u64;
                if twice > 0 {
                    out.duplicated += twice;
                    out.problem(format!("{region}: {twice} cards listed twice"));
                }
                if node_set != central_set {
                    out.problem(format!(
                        "{region}: open cards differ: node {} central {} (only on node {:?}, only at central {:?})",
                        node_set.len(),
                        central_set.len(),
                        node_set.difference(&central_set).take(5).collect::<Vec<_>>(),
                        central_set.difference(&node_set).take(5).collect::<Vec<_>>(),
                    ));
                }
                if !expected_ids.is_subset(&node_set) {
                    out.problem(format!(
                        "{region}: the node's open list lacks {} acknowledged cards",
                        expected_ids.difference(&node_set).count()
                    ));
                }
            }
            (Err(e), _) | (_, Err(e)) => out.problem(format!("{region}: cannot list cards: {e}")),
        }
    }
    for ((region, id), expect) in &expected.cards {
        out.cards_checked += 1;
        let node = &nodes[region];
        let (at_node, at_central) = match (node.card(id).await, central.card(region, id).await) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(e), _) | (_, Err(e)) => {
                out.problem(format!("{region}/{id}: cannot read: {e}"));
                continue;
            }
        };
        compare_card(
            region,
            id,
            expect,
            at_node.as_ref(),
            at_central.as_ref(),
            &mut out,
        );
    }
    out
}

/// Compares one card as its node and the central return it (`None`: 404) against each other and
/// against what was acknowledged, adding what differs to `out`.
fn compare_card(
    region: &str,
    id: &str,
    expect: &CardExpect,
    at_node: Option<&Value>,
    at_central: Option<&Value>,
    out: &mut Convergence,
) {
    let (at_node, at_central) = match (at_node, at_central) {
        (Some(a), Some(b)) => (a, b),
        (a, b) => {
            for (side, card) in [("node", a), ("central", b)] {
                if card.is_none() {
                    out.lost += 1;
                    out.problem(format!("{region}/{id}: missing at {side}"));
                }
            }
            return;
        }
    };
    let (node_events, central_events) = (timeline(at_node), timeline(at_central));
    let (node_set, central_set) = (multiset(&node_events), multiset(&central_events));
    for (side, set) in [("node", &node_set), ("central", &central_set)] {
        for (event, n) in set.iter().filter(|(_, n)| **n > 1) {
            out.duplicated += (*n - 1) as u64;
            out.problem(format!(
                "{region}/{id}: event {event:?} {n} times at {side}"
            ));
        }
    }
    for (side, events) in [("node", &node_events), ("central", &central_events)] {
        for text in &expect.notes {
            if !events.iter().any(|e| &e.3 == text) {
                out.lost += 1;
                out.problem(format!("{region}/{id}: note {text:?} missing at {side}"));
            }
        }
    }
    let (node_units, central_units) = (unit_ids(at_node), unit_ids(at_central));
    for (side, units) in [("node", &node_units), ("central", &central_units)] {
        for unit in expect.units.difference(units) {
            out.lost += 1;
            out.problem(format!("{region}/{id}: unit {unit} missing at {side}"));
        }
    }
    if node_units != central_units {
        out.problem(format!(
            "{region}/{id}: units differ: node {node_units:?} central {central_units:?}"
        ));
    }
    if at_node["status"] != at_central["status"] {
        out.problem(format!(
            "{region}/{id}: status node {} central {}",
            at_node["status"], at_central["status"]
        ));
    }
    if node_set.keys().collect::<BTreeSet<_>>() != central_set.keys().collect::<BTreeSet<_>>() {
        let only_node: Vec<_> = node_set
            .keys()
            .filter(|e| !central_set.contains_key(*e))
            .collect();
        let only_central: Vec<_> = central_set
            .keys()
            .filter(|e| !node_set.contains_key(*e))
            .collect();
        out.problem(format!(
            "{region}/{id}: timelines differ: only on node {only_node:?}, only at central {only_central:?}"
        ));
    }
}

/// How a convergence scenario ended: its convergence figure, the last check, and the failures
/// it recorded on the way.
pub(crate) struct Verdict {
    /// Ms to converge; `None`: not within the deadline.
    pub(crate) converge_ms: Option<u64>,
    pub(crate) check: Convergence,
    pub(crate) failures: Vec<String>,
}

impl Verdict {
    pub(crate) fn ok(&self) -> bool {
        self.failures.is_empty() && self.check.converged() && self.converge_ms.is_some()
    }

    /// The report details every convergence scenario gives (its settings, the final check, the
    /// failures), and the failures printed.
    pub(crate) fn report_details(&self, config: String, quick: bool, report: &mut Report) {
        report.detail("config", config);
        report.detail("quick", quick);
        report.detail("final_check", convergence_json(&self.check));
        report.detail("failures", self.failures.clone());
        for f in &self.failures {
            println!("FAILURE: {f}");
        }
    }
}

pub(crate) fn convergence_json(check: &Convergence) -> Value {
    json!({
        "converged": check.converged(),
        "lost": check.lost,
        "duplicated": check.duplicated,
        "problems_count": check.problems_count,
        "problems": check.problems,
        "cards_checked": check.cards_checked,
    })
}

pub(crate) fn print_problems(check: &Convergence) {
    println!(
        "NOT converged: {} problems ({} lost, {} duplicated); first ones:",
        check.problems_count, check.lost, check.duplicated
    );
    for p in &check.problems {
        println!("    {p}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(at: i64, by: &str, kind: &str, text: &str) -> Value {
        json!({ "at": at, "by": by, "kind": kind, "text": text })
    }

    fn card(status: &str, events: &[Value], units: &[&str]) -> Value {
        let units: Vec<Value> = units.iter().map(|u| json!({ "unit_id": u })).collect();
        json!({ "status": status, "timeline": events, "units": units })
    }

    /// Compares `node` with `central` against a card expecting `notes` and `units`; expects
    /// `(lost, duplicated, converged)`.
    fn check(
        notes: &[&str],
        units: &[&str],
        node: Option<Value>,
        central: Option<Value>,
        expect: (u64, u64, bool),
    ) {
        let expected = CardExpect {
            notes: notes.iter().map(|n| n.to_string()).collect(),
            units: units.iter().map(|u| u.to_string()).collect(),
            closed: false,
        };
        let mut out = Convergence::default();
        compare_card(
            "AST",
            "c1",
            &expected,
            node.as_ref(),
            central.as_ref(),
            &mut out,
        );
        assert_eq!(
            (out.lost, out.duplicated, out.converged()),
            expect,
            "problems: {:?}",
            out.problems
        );
    }

    #[test]
    fn compare_card_finds_lost_duplicated_and_diverged_cards() {
        let created = event(1, "ct@AST", "created", "");
        let hq = event(5, "admin@central", "note", "HQ directive");
        let local = event(6, "disp@AST", "note", "node note");
        let both = || {
            card(
                "dispatched",
                &[created.clone(), hq.clone(), local.clone()],
                &["u1"],
            )
        };
        let notes = ["HQ directive", "node note"];
        // Converged, in any order of events.
        let reordered = card(
            "dispatched",
            &[local.clone(), created.clone(), hq.clone()],
            &["u1"],
        );
        check(&notes, &["u1"], Some(both()), Some(reordered), (0, 0, true));
        // The card never reached the central.
        check(&notes, &["u1"], Some(both()), None, (1, 0, false));
        // HQ's note did not come back to the node.
        let without_hq = card("dispatched", &[created.clone(), local.clone()], &["u1"]);
        check(
            &notes,
            &["u1"],
            Some(without_hq),
            Some(both()),
            (1, 0, false),
        );
        // A note applied twice at the central.
        let twice = card(
            "dispatched",
            &[created.clone(), hq.clone(), hq.clone(), local.clone()],
            &["u1"],
        );
        check(&notes, &["u1"], Some(both()), Some(twice), (0, 1, false));
        // The dispatch did not reach the central.
        let no_unit = card(
            "dispatched",
            &[created.clone(), hq.clone(), local.clone()],
            &[],
        );
        check(&notes, &["u1"], Some(both()), Some(no_unit), (1, 0, false));
        // Same events, different status: not converged, nothing lost.
        let other_status = card(
            "sent_for_processing",
            &[created.clone(), hq.clone(), local.clone()],
            &["u1"],
        );
        check(
            &notes,
            &["u1"],
            Some(both()),
            Some(other_status),
            (0, 0, false),
        );
    }
}
