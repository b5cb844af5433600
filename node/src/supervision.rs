//! R36: the ЦОУ head controls the staff's timeliness — per operator and per dispatcher, per
//! shift: how long callers waited for an answer, how long a card took from opening to "send for
//! processing", and how long a card waited in the ГУСС queue for its first unit. Computed from
//! what is already stored (call records and cards); [`timeliness`] is a pure function of them.

use std::collections::BTreeMap;

use serde::Serialize;
use sync::{Card, Shift};
use utoipa::ToSchema;

use crate::calls::{Call, CallPhase};

/// Cards of one shift looked at, at most (a busy regional ЦОУ takes a few thousand a day).
pub const SHIFT_CARDS_MAX: usize = 20_000;
/// Calls of one shift looked at, at most.
pub const SHIFT_CALLS_MAX: usize = 50_000;

/// Durations of one kind, ms.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DurationStats {
    pub count: usize,
    pub avg_ms: i64,
    pub p50_ms: i64,
    pub p90_ms: i64,
    pub max_ms: i64,
}

impl DurationStats {
    fn of(mut v: Vec<i64>) -> Option<DurationStats> {
        if v.is_empty() {
            return None;
        }
        v.sort_unstable();
        let pct = |p: usize| v[((v.len() - 1) * p).div_ceil(100)];
        Some(DurationStats {
            count: v.len(),
            avg_ms: v.iter().sum::<i64>() / v.len() as i64,
            p50_ms: pct(50),
            p90_ms: pct(90),
            max_ms: v[v.len() - 1],
        })
    }
}

/// One person's timeliness in a shift.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct StaffTimeliness {
    pub login: String,
    /// Calls this operator answered: ring → answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer: Option<DurationStats>,
    /// Cards this operator sent to ГУСС: opened → sent for processing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub send_for_processing: Option<DurationStats>,
    /// Cards this dispatcher sent a first unit to: sent for processing → first unit dispatched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dispatch: Option<DurationStats>,
}

/// The shift's timeliness, staff in login order.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ShiftTimeliness {
    pub date: String,
    pub shift: Shift,
    pub from_ms: i64,
    pub to_ms: i64,
    pub calls_rung: usize,
    /// Calls that ended before anyone answered.
    pub calls_missed: usize,
    pub staff: Vec<StaffTimeliness>,
}

#[derive(Default)]
struct Acc {
    answer: Vec<i64>,
    send: Vec<i64>,
    dispatch: Vec<i64>,
}

/// Timeliness of the calls that rang and the cards opened in `[from_ms, to_ms)`.
pub fn timeliness(
    date: &str,
    shift: Shift,
    (from_ms, to_ms): (i64, i64),
    calls: &[Call],
    cards: &[Card],
) -> ShiftTimeliness {
    let in_shift = |t: i64| (from_ms..to_ms).contains(&t);
    let mut by: BTreeMap<String, Acc> = BTreeMap::new();
    let mut calls_rung = 0;
    let mut calls_missed = 0;
    for c in calls.iter().filter(|c| in_shift(c.rang_at)) {
        calls_rung += 1;
        if c.phase == CallPhase::Abandoned {
            calls_missed += 1;
        }
        if let (Some(answered), Some(op)) = (c.answered_at, &c.operator) {
            by.entry(op.clone())
                .or_default()
                .answer
                .push(answered - c.rang_at);
        }
    }
    for card in cards.iter().filter(|c| in_shift(c.created_at)) {
        let Some(sent_at) = card.sent_for_processing_at else {
            continue;
        };
        // Who pressed "send for processing" is on the timeline.
        let sender = card
            .timeline
            .iter()
            .find(|e| e.kind == "sent_for_processing")
            .map(|e| e.by.clone())
            .unwrap_or_else(|| card.created_by.clone());
        by.entry(sender)
            .or_default()
            .send
            .push(sent_at - card.created_at);
        if let Some(first) = card.units.iter().min_by_key(|u| u.assigned_at) {
            by.entry(first.assigned_by.clone())
                .or_default()
                .dispatch
                .push(first.assigned_at - sent_at);
        }
    }
    ShiftTimeliness {
        date: date.to_string(),
        shift,
        from_ms,
        to_ms,
        calls_rung,
        calls_missed,
        staff: by
            .into_iter()
            .map(|(login, a)| StaffTimeliness {
                login,
                answer: DurationStats::of(a.answer),
                send_for_processing: DurationStats::of(a.send),
                dispatch: DurationStats::of(a.dispatch),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r36_percentiles_of_a_small_sample() {
        let s = DurationStats::of(vec![5, 1, 4, 2, 3]).unwrap();
        assert_eq!(
            (s.count, s.avg_ms, s.p50_ms, s.p90_ms, s.max_ms),
            (5, 3, 3, 5, 5)
        );
        assert!(DurationStats::of(Vec::new()).is_none());
        let one = DurationStats::of(vec![7]).unwrap();
        assert_eq!((one.p50_ms, one.p90_ms), (7, 7));
    }
}
