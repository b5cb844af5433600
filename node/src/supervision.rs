//! R36: the ЦОУ head controls the staff's timeliness — per operator and per dispatcher, per
//! shift: how long callers waited for an answer, how long a card took from opening to "send for
//! processing", and how long a card waited in the ГУСС queue for its first unit. Computed from
//! what is already stored (call records and cards); [`timeliness`] is a pure function of them.
//! Also the shift summary ([`shift_summary`]): cards of the shift by category and outcome, by
//! channel, and the units' utilisation.

use std::collections::BTreeMap;

use serde::Serialize;
use sync::{Card, CardStatus, Channel, Shift, Unit};
use utoipa::ToSchema;

use crate::calls::{Call, CallPhase};

/// Cards of one shift looked at, at most (a busy regional ЦОУ takes a few thousand a day).
pub const SHIFT_CARDS_MAX: usize = 20_000;
/// Calls of one shift looked at, at most.
pub const SHIFT_CALLS_MAX: usize = 50_000;
/// The slowest cases listed per kind of duration (answer, send for processing, dispatch).
pub const SLOWEST_CASES_MAX: usize = 5;
/// How long before the shift a card may have been opened and still keep a unit busy in the
/// shift, ms (a unit's work on one card does not last a day).
pub const UNIT_BUSY_LOOKBACK_MS: i64 = 24 * 60 * 60 * 1000;

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

/// One slow case: whose it was, what (a call or a card) and how long it took.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SlowCase {
    pub login: String,
    pub duration_ms: i64,
    /// The call (for the answer time).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card_number: Option<String>,
}

/// The slowest cases of the shift, slowest first, at most [`SLOWEST_CASES_MAX`] of each kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct SlowestCases {
    /// Ring → answer.
    pub answer: Vec<SlowCase>,
    /// Opened → sent for processing.
    pub send_for_processing: Vec<SlowCase>,
    /// Sent for processing → first unit dispatched.
    pub dispatch: Vec<SlowCase>,
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
    pub slowest: SlowestCases,
}

/// The `n` slowest of `cases`, slowest first; equal durations keep their input order.
fn slowest(mut cases: Vec<SlowCase>, n: usize) -> Vec<SlowCase> {
    cases.sort_by_key(|c| std::cmp::Reverse(c.duration_ms));
    cases.truncate(n);
    cases
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
    let mut slow = SlowestCases::default();
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
            slow.answer.push(SlowCase {
                login: op.clone(),
                duration_ms: answered - c.rang_at,
                call_id: Some(c.id.clone()),
                card_id: c.card_id.clone(),
                card_number: c.card_number.clone(),
            });
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
        let case = |login: &str, duration_ms: i64| SlowCase {
            login: login.to_string(),
            duration_ms,
            call_id: None,
            card_id: Some(card.id.clone()),
            card_number: Some(card.number.clone()),
        };
        slow.send_for_processing
            .push(case(&sender, sent_at - card.created_at));
        by.entry(sender)
            .or_default()
            .send
            .push(sent_at - card.created_at);
        if let Some(first) = card.units.iter().min_by_key(|u| u.assigned_at) {
            slow.dispatch
                .push(case(&first.assigned_by, first.assigned_at - sent_at));
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
        slowest: SlowestCases {
            answer: slowest(slow.answer, SLOWEST_CASES_MAX),
            send_for_processing: slowest(slow.send_for_processing, SLOWEST_CASES_MAX),
            dispatch: slowest(slow.dispatch, SLOWEST_CASES_MAX),
        },
    }
}

/* ------------------------------------------------------------------ shift summary */

/// Cards of one category (`None`: not yet categorised) by outcome.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct CategoryOutcomes {
    pub category: Option<String>,
    pub total: usize,
    pub closed: usize,
    pub cancelled: usize,
    /// Linked to an earlier card as its duplicate.
    pub duplicate: usize,
    /// Still open, any working status.
    pub open: usize,
    /// The open ones by status, in lifecycle order.
    pub open_by_status: Vec<StatusCount>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct StatusCount {
    pub status: CardStatus,
    pub count: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ChannelCount {
    pub channel: Channel,
    pub count: usize,
}

/// One unit's work in the shift.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct UnitUtilisation {
    pub unit_id: String,
    pub call_sign: String,
    /// Times the unit was sent to a card during the shift.
    pub dispatches: usize,
    /// Time between being sent and being cleared, clipped to the shift (and to now), ms;
    /// overlapping assignments count once.
    pub busy_ms: i64,
    /// `busy_ms` per thousand of the shift's elapsed time (the whole shift once it is over).
    pub busy_permille: i64,
}

/// What a shift did: its cards by category and outcome, by channel, and the units' work.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ShiftSummary {
    pub region: String,
    pub date: String,
    pub shift: Shift,
    pub from_ms: i64,
    pub to_ms: i64,
    /// Cards opened in the shift.
    pub cards_total: usize,
    /// Categories in code order, the uncategorised first.
    pub by_category: Vec<CategoryOutcomes>,
    /// Channels in their declared order, only those used.
    pub by_channel: Vec<ChannelCount>,
    /// Units known to the node and units seen on the cards, in call-sign order.
    pub units: Vec<UnitUtilisation>,
}

/// The summary of the shift `[from_ms, to_ms)` as of `now_ms`. `cards` may include cards opened
/// before the shift (their units may have worked in it); only those opened in the shift are
/// counted by category and channel.
pub fn shift_summary(
    (region, date, shift): (&str, &str, Shift),
    (from_ms, to_ms): (i64, i64),
    now_ms: i64,
    cards: &[Card],
    units: &[Unit],
) -> ShiftSummary {
    let in_shift = |t: i64| (from_ms..to_ms).contains(&t);
    let mut cats: BTreeMap<Option<String>, CategoryOutcomes> = BTreeMap::new();
    let mut open_by: BTreeMap<(Option<String>, CardStatus), usize> = BTreeMap::new();
    let mut channels: BTreeMap<Channel, usize> = BTreeMap::new();
    let mut cards_total = 0;
    for card in cards.iter().filter(|c| in_shift(c.created_at)) {
        cards_total += 1;
        *channels.entry(card.channel).or_default() += 1;
        let row = cats.entry(card.category.clone()).or_default();
        row.total += 1;
        match card.status {
            CardStatus::Closed => row.closed += 1,
            CardStatus::Cancelled => row.cancelled += 1,
            CardStatus::LinkedDuplicate => row.duplicate += 1,
            open => {
                row.open += 1;
                *open_by.entry((card.category.clone(), open)).or_default() += 1;
            }
        }
    }
    let by_category = cats
        .into_iter()
        .map(|(category, mut row)| {
            row.open_by_status = open_by
                .iter()
                .filter(|((c, _), _)| *c == category)
                .map(|((_, status), count)| StatusCount {
                    status: *status,
                    count: *count,
                })
                .collect();
            row.category = category;
            row
        })
        .collect();

    // Busy intervals per unit, clipped to the shift and to now.
    let end = now_ms.clamp(from_ms, to_ms);
    let mut busy: BTreeMap<String, UnitWork> = units
        .iter()
        .map(|u| (u.id.clone(), (u.call_sign.clone(), 0, Vec::new())))
        .collect();
    for card in cards {
        for cu in &card.units {
            let entry = busy
                .entry(cu.unit_id.clone())
                .or_insert_with(|| (cu.call_sign.clone(), 0, Vec::new()));
            if in_shift(cu.assigned_at) {
                entry.1 += 1;
            }
            let a = cu.assigned_at.max(from_ms);
            let b = cu.cleared_at.unwrap_or(now_ms).min(end);
            if b > a {
                entry.2.push((a, b));
            }
        }
    }
    let elapsed = end - from_ms;
    let mut units: Vec<UnitUtilisation> = busy
        .into_iter()
        .map(|(unit_id, (call_sign, dispatches, intervals))| {
            let busy_ms = union_length(intervals);
            UnitUtilisation {
                unit_id,
                call_sign,
                dispatches,
                busy_ms,
                busy_permille: if elapsed > 0 {
                    busy_ms * 1000 / elapsed
                } else {
                    0
                },
            }
        })
        .collect();
    units.sort_by(|a, b| {
        a.call_sign
            .cmp(&b.call_sign)
            .then_with(|| a.unit_id.cmp(&b.unit_id))
    });
    ShiftSummary {
        region: region.to_string(),
        date: date.to_string(),
        shift,
        from_ms,
        to_ms,
        cards_total,
        by_category,
        by_channel: channels
            .into_iter()
            .map(|(channel, count)| ChannelCount { channel, count })
            .collect(),
        units,
    }
}

/// A unit's call sign, dispatches in the shift and busy intervals `[from, to)`.
type UnitWork = (String, usize, Vec<(i64, i64)>);

/// Total length of the union of half-open intervals.
fn union_length(mut v: Vec<(i64, i64)>) -> i64 {
    v.sort_unstable();
    let mut total = 0;
    let mut cur: Option<(i64, i64)> = None;
    for (a, b) in v {
        match cur {
            Some((ca, cb)) if a <= cb => cur = Some((ca, cb.max(b))),
            Some((ca, cb)) => {
                total += cb - ca;
                cur = Some((a, b));
            }
            None => cur = Some((a, b)),
        }
    }
    total + cur.map_or(0, |(a, b)| b - a)
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

    const H: i64 = 3_600_000;

    fn card(n: u32, created_at: i64, status: &str, category: Option<&str>) -> Card {
        serde_json::from_value(serde_json::json!({
            "id": format!("c{n}"), "number": format!("AST-{n:06}"), "region": "AST",
            "district": null, "channel": "app102_text", "status": status, "status_since": created_at,
            "created_at": created_at, "updated_at": created_at, "created_by": "op1",
            "caller": {}, "location": null, "description": null, "seen": {},
            "category": category, "priority": null, "sent_for_processing_at": null,
            "timeline": [], "units": [], "dsog_dispatched_at": null, "forwarded_to": null,
            "forwarded_at": null, "kui": null, "duplicate_of": null, "patrol_report": null,
            "close_summary": null, "close_reason": null, "cancel_reason": null,
            "callback": null, "field_writers": {}
        }))
        .unwrap()
    }

    fn sent(mut c: Card, at: i64, by: &str) -> Card {
        c.sent_for_processing_at = Some(at);
        c.timeline.push(sync::TimelineEvent {
            at,
            by: by.into(),
            kind: "sent_for_processing".into(),
            text: String::new(),
        });
        c
    }

    fn with_unit(mut c: Card, unit: &str, at: i64, by: &str, cleared: Option<i64>) -> Card {
        c.units.push(sync::CardUnit {
            unit_id: unit.into(),
            call_sign: unit.to_uppercase(),
            kind: sync::UnitKind::Patrol,
            assigned_at: at,
            assigned_by: by.into(),
            en_route_at: None,
            on_scene_at: None,
            cleared_at: cleared,
        });
        c
    }

    #[test]
    fn r36_slowest_cases_name_the_card_and_login_slowest_first_capped() {
        let shift = (0, 12 * H);
        let mut cards = Vec::new();
        for n in 0..(SLOWEST_CASES_MAX as u32 + 3) {
            let c = sent(
                card(n, H, "dispatched", None),
                H + 1000 * i64::from(n + 1),
                "op1",
            );
            cards.push(with_unit(c, "p01", 2 * H + i64::from(n), "disp1", None));
        }
        // Opened before the shift: not this shift's case.
        cards.push(sent(
            card(99, -H, "sent_for_processing", None),
            5 * H,
            "op1",
        ));
        let t = timeliness("2026-01-01", Shift::Day, shift, &[], &cards);
        let send = &t.slowest.send_for_processing;
        assert_eq!(send.len(), SLOWEST_CASES_MAX);
        let n_last = SLOWEST_CASES_MAX + 2;
        assert_eq!(
            send[0].card_number.as_deref(),
            Some(format!("AST-{n_last:06}").as_str())
        );
        assert_eq!(send[0].duration_ms, 1000 * (n_last as i64 + 1));
        assert_eq!(send[0].login, "op1");
        assert!(send
            .windows(2)
            .all(|w| w[0].duration_ms >= w[1].duration_ms));
        let disp = &t.slowest.dispatch;
        assert_eq!(disp.len(), SLOWEST_CASES_MAX);
        assert_eq!(disp[0].login, "disp1");
        // Dispatch waits: 2h + n - (1h + 1000(n+1)); the smallest n waits longest.
        assert_eq!(disp[0].card_number.as_deref(), Some("AST-000000"));
        assert!(t.slowest.answer.is_empty());
    }

    #[test]
    fn r36_slowest_answers_name_the_call_and_its_card() {
        let call: Call = serde_json::from_value(serde_json::json!({
            "id": "call1", "channel": "app102_call", "video": false, "caller": {},
            "location_updates": 0, "rang_at": H, "phase": "ended", "operator": "op2",
            "answered_at": H + 7_000, "card_id": "c5", "card_number": "AST-000005"
        }))
        .unwrap();
        let t = timeliness("2026-01-01", Shift::Day, (0, 12 * H), &[call], &[]);
        assert_eq!(
            t.slowest.answer,
            vec![SlowCase {
                login: "op2".into(),
                duration_ms: 7_000,
                call_id: Some("call1".into()),
                card_id: Some("c5".into()),
                card_number: Some("AST-000005".into()),
            }]
        );
    }

    #[test]
    fn shift_summary_counts_cards_by_category_outcome_and_channel() {
        let mut cards = vec![
            card(1, H, "closed", Some("theft")),
            card(2, H, "cancelled", Some("theft")),
            card(3, H, "linked_duplicate", Some("theft")),
            card(4, H, "dispatched", Some("theft")),
            card(5, H, "new", None),
            card(6, -H, "closed", Some("theft")), // before the shift
        ];
        cards[4].channel = Channel::SosVideo;
        let s = shift_summary(
            ("AST", "2026-01-01", Shift::Day),
            (0, 12 * H),
            13 * H,
            &cards,
            &[],
        );
        assert_eq!(s.cards_total, 5);
        assert_eq!(s.by_category.len(), 2);
        assert_eq!(s.by_category[0].category, None);
        assert_eq!(s.by_category[0].open, 1);
        let theft = &s.by_category[1];
        assert_eq!(
            (
                theft.total,
                theft.closed,
                theft.cancelled,
                theft.duplicate,
                theft.open
            ),
            (4, 1, 1, 1, 1)
        );
        assert_eq!(
            theft.open_by_status,
            vec![StatusCount {
                status: CardStatus::Dispatched,
                count: 1
            }]
        );
        assert_eq!(
            s.by_channel,
            vec![
                ChannelCount {
                    channel: Channel::App102Text,
                    count: 4
                },
                ChannelCount {
                    channel: Channel::SosVideo,
                    count: 1
                }
            ]
        );
    }

    #[test]
    fn shift_summary_units_busy_time_is_clipped_to_the_shift_and_counted_once() {
        let cards = vec![
            // Sent before the shift, cleared 2 h into it: 2 h busy, not a dispatch of this shift.
            with_unit(
                card(1, -3 * H, "closed", None),
                "p01",
                -2 * H,
                "d",
                Some(2 * H),
            ),
            // Overlapping work on two cards: 3 h..5 h and 4 h..6 h is 3 h.
            with_unit(
                card(2, 3 * H, "closed", None),
                "p01",
                3 * H,
                "d",
                Some(5 * H),
            ),
            with_unit(
                card(3, 4 * H, "dispatched", None),
                "p01",
                4 * H,
                "d",
                Some(6 * H),
            ),
            // Still working: busy until now (8 h).
            with_unit(card(4, 7 * H, "dispatched", None), "p02", 7 * H, "d", None),
        ];
        let unit: Unit = serde_json::from_value(serde_json::json!({
            "id": "p03", "call_sign": "P03", "kind": "patrol", "status": "available",
            "status_since": 0, "card_id": null, "dispatched_at": null, "overdue": false
        }))
        .unwrap();
        let s = shift_summary(
            ("AST", "d", Shift::Day),
            (0, 12 * H),
            8 * H,
            &cards,
            &[unit],
        );
        let by: BTreeMap<&str, &UnitUtilisation> =
            s.units.iter().map(|u| (u.unit_id.as_str(), u)).collect();
        assert_eq!((by["p01"].dispatches, by["p01"].busy_ms), (2, 5 * H));
        assert_eq!(by["p01"].busy_permille, 625); // 5 h of the 8 h elapsed
        assert_eq!((by["p02"].dispatches, by["p02"].busy_ms), (1, H));
        assert_eq!((by["p03"].dispatches, by["p03"].busy_ms), (0, 0));
        assert_eq!(s.cards_total, 3);
        // Once the shift is over, the share is of the whole shift.
        let later = shift_summary(("AST", "d", Shift::Day), (0, 12 * H), 20 * H, &cards, &[]);
        let p02 = later.units.iter().find(|u| u.unit_id == "p02").unwrap();
        assert_eq!((p02.busy_ms, p02.busy_permille), (5 * H, 416));
    }
}
