//! Closest-unit recommendation (R20): which available units can reach an incident first.
//!
//! Advisory only — the dispatcher decides. The method, in two steps:
//! 1. **Straight-line pre-filter**: every available unit with a known position is measured to the
//!    incident along the great circle ([`haversine_m`]); only the nearest
//!    [`CLOSEST_PREFILTER_UNITS_MAX`] go on, so a region with hundreds of patrols asks the road
//!    graph a handful of questions, not hundreds.
//! 2. **Travel time**: from the road graph ([`TravelTimes`]) when the node has one and it can
//!    answer for that unit (both ends snapped to a road), else the straight-line distance times
//!    the road-distance factor at the average patrol speed. Each unit says which it got.
//!
//! Units that are not available (dispatched, on scene, off duty) are left out. Available units
//! with no position at all are listed after the ranked ones, without distance, so the dispatcher
//! still sees them. A position older than [`POSITION_STALE_AFTER_MS`] is ranked but marked
//! `stale`: the unit may have moved since.
//!
//! Pure: positions, the incident point, the clock reading and the oracle come in as arguments.

use serde::Serialize;
use utoipa::ToSchema;

use crate::geo::{haversine_m, is_valid_point};
use crate::model::UnitStatus;

/// How many units, nearest by straight line, are ranked by travel time.
pub const CLOSEST_PREFILTER_UNITS_MAX: usize = 10;
/// A position older than this is ranked but flagged `stale`, ms (10 minutes: a parked terminal
/// reports every 2 minutes, a moving one every 15 s, so 10 minutes of silence means a dead link
/// or a switched-off terminal).
pub const POSITION_STALE_AFTER_MS: i64 = 10 * 60 * 1000;

/// A unit's last known position.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UnitFix {
    pub lat: f64,
    pub lon: f64,
    /// When the terminal took it, ms since the epoch.
    pub at_ms: i64,
}

/// A unit that may be recommended.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub unit_id: String,
    pub call_sign: String,
    pub status: UnitStatus,
    pub position: Option<UnitFix>,
}

/// How the ranking is computed; built once from `[map]` config.
#[derive(Debug, Clone, PartialEq)]
pub struct ClosestSettings {
    /// Road distance per straight-line distance, used when there is no road travel time.
    pub road_distance_factor: f64,
    /// Average patrol speed for an estimate without a road graph, km/h.
    pub average_speed_kmh: f64,
    /// See [`POSITION_STALE_AFTER_MS`], ms.
    pub stale_after_ms: i64,
    /// See [`CLOSEST_PREFILTER_UNITS_MAX`].
    pub prefilter_units_max: usize,
}

impl ClosestSettings {
    /// Settings with the named defaults for staleness and the pre-filter.
    pub fn new(road_distance_factor: f64, average_speed_kmh: f64) -> ClosestSettings {
        ClosestSettings {
            road_distance_factor,
            average_speed_kmh,
            stale_after_ms: POSITION_STALE_AFTER_MS,
            prefilter_units_max: CLOSEST_PREFILTER_UNITS_MAX,
        }
    }

    /// Estimated seconds to drive a straight-line distance: `distance × factor` at the average
    /// speed.
    pub fn straight_line_eta_s(&self, distance_m: f64) -> f64 {
        let speed_m_per_s = self.average_speed_kmh.max(1.0) / 3.6;
        distance_m * self.road_distance_factor / speed_m_per_s
    }
}

/// A trip along the roads.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Travel {
    pub seconds: f64,
    /// Metres driven (what the dispatcher reads as the distance).
    pub distance_m: f64,
}

/// A travel-time oracle (the node's road graph). `None`: it cannot say for this pair (an end
/// too far from any road, or no road between them), and that unit falls back to straight line.
/// Points are `(lat, lon)` in degrees.
pub trait TravelTimes {
    fn travel(&self, from: (f64, f64), to: (f64, f64)) -> Option<Travel>;
}

/// How a unit's distance and time were found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RankMethod {
    /// Straight-line distance; time = distance × road factor at the average speed.
    StraightLine,
    /// Shortest travel time over the region's road graph.
    RoadGraph,
}

/// One recommended unit.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ClosestUnit {
    pub unit_id: String,
    pub call_sign: String,
    pub status: UnitStatus,
    /// Straight-line metres (method `straight_line`) or metres along the roads (`road_graph`);
    /// absent for a unit with no position.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance_m: Option<f64>,
    /// Estimated seconds to the incident; absent for a unit with no position.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eta_s: Option<f64>,
    /// When the position was taken, ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position_at_ms: Option<i64>,
    /// Absent for a unit with no position.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<RankMethod>,
    /// The position is older than the staleness limit: the unit may have moved.
    pub stale: bool,
}

/// The recommendation for one incident.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Ranking {
    /// `road_graph` when at least one unit was ranked over the road graph.
    pub method: RankMethod,
    /// Ranked units by estimated time, then distance; then units with no position.
    pub units: Vec<ClosestUnit>,
}

/// Ranks the available units for an incident at `incident` (`(lat, lon)`), at clock reading
/// `now_ms`. See the module docs for the method.
pub fn rank(
    candidates: &[Candidate],
    incident: (f64, f64),
    now_ms: i64,
    settings: &ClosestSettings,
    oracle: Option<&dyn TravelTimes>,
) -> Ranking {
    let available = candidates
        .iter()
        .filter(|c| c.status == UnitStatus::Available);
    let mut placed: Vec<(f64, &Candidate, UnitFix)> = Vec::new();
    let mut unplaced: Vec<&Candidate> = Vec::new();
    for c in available {
        match c.position.filter(|p| is_valid_point(p.lat, p.lon)) {
            Some(p) => placed.push((haversine_m(p.lat, p.lon, incident.0, incident.1), c, p)),
            None => unplaced.push(c),
        }
    }
    placed.sort_by(|a, b| {
        a.0.total_cmp(&b.0)
            .then_with(|| a.1.unit_id.cmp(&b.1.unit_id))
    });
    placed.truncate(settings.prefilter_units_max);

    let mut units: Vec<ClosestUnit> = placed
        .into_iter()
        .map(|(straight_m, c, p)| {
            let road = oracle.and_then(|o| o.travel((p.lat, p.lon), incident));
            let (distance_m, eta_s, method) = match road {
                Some(t) if t.seconds.is_finite() && t.distance_m.is_finite() => {
                    (t.distance_m, t.seconds, RankMethod::RoadGraph)
                }
                _ => (
                    straight_m,
                    settings.straight_line_eta_s(straight_m),
                    RankMethod::StraightLine,
                ),
            };
            ClosestUnit {
                unit_id: c.unit_id.clone(),
                call_sign: c.call_sign.clone(),
                status: c.status,
                distance_m: Some(distance_m),
                eta_s: Some(eta_s),
                position_at_ms: Some(p.at_ms),
                method: Some(method),
                stale: now_ms.saturating_sub(p.at_ms) > settings.stale_after_ms,
            }
        })
        .collect();
    units.sort_by(|a, b| {
        let key = |u: &ClosestUnit| {
            (
                u.eta_s.unwrap_or(f64::MAX),
                u.distance_m.unwrap_or(f64::MAX),
            )
        };
        let (ae, ad) = key(a);
        let (be, bd) = key(b);
        ae.total_cmp(&be)
            .then(ad.total_cmp(&bd))
            .then_with(|| a.unit_id.cmp(&b.unit_id))
    });
    let method = if units
        .iter()
        .any(|u| u.method == Some(RankMethod::RoadGraph))
    {
        RankMethod::RoadGraph
    } else {
        RankMethod::StraightLine
    };
    unplaced.sort_by(|a, b| a.unit_id.cmp(&b.unit_id));
    units.extend(unplaced.into_iter().map(|c| ClosestUnit {
        unit_id: c.unit_id.clone(),
        call_sign: c.call_sign.clone(),
        status: c.status,
        distance_m: None,
        eta_s: None,
        position_at_ms: None,
        method: None,
        stale: false,
    }));
    Ranking { method, units }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NOW: i64 = 1_800_000_000_000;
    const INCIDENT: (f64, f64) = (51.128, 71.430);

    fn unit(id: &str, status: UnitStatus, pos: Option<(f64, f64, i64)>) -> Candidate {
        Candidate {
            unit_id: id.into(),
            call_sign: id.to_uppercase(),
            status,
            position: pos.map(|(lat, lon, at_ms)| UnitFix { lat, lon, at_ms }),
        }
    }

    fn settings() -> ClosestSettings {
        ClosestSettings::new(1.4, 40.0)
    }

    fn ids(r: &Ranking) -> Vec<&str> {
        r.units.iter().map(|u| u.unit_id.as_str()).collect()
    }

    #[test]
    fn r20_closest_straight_line_ranks_by_distance_and_estimates_time() {
        let units = [
            unit("p03", UnitStatus::Available, Some((51.150, 71.430, NOW))),
            unit("p01", UnitStatus::Available, Some((51.130, 71.430, NOW))),
            unit("p02", UnitStatus::Available, Some((51.138, 71.430, NOW))),
        ];
        let r = rank(&units, INCIDENT, NOW, &settings(), None);
        assert_eq!(r.method, RankMethod::StraightLine);
        assert_eq!(ids(&r), ["p01", "p02", "p03"]);
        let first = &r.units[0];
        let d = first.distance_m.unwrap();
        assert!((d - 222.4).abs() < 1.0, "{d}");
        // 222 m × 1.4 at 40 km/h (11.1 m/s) ≈ 28 s.
        let eta = first.eta_s.unwrap();
        assert!((eta - d * 1.4 / (40.0 / 3.6)).abs() < 1e-9, "{eta}");
        assert_eq!(first.method, Some(RankMethod::StraightLine));
        assert!(!first.stale);
    }

    #[test]
    fn r20_closest_leaves_out_busy_and_off_duty_units_and_lists_unplaced_last() {
        let units = [
            unit("p01", UnitStatus::EnRoute, Some((51.1281, 71.430, NOW))),
            unit("p02", UnitStatus::OffDuty, Some((51.1281, 71.430, NOW))),
            unit("p03", UnitStatus::OnScene, Some((51.1281, 71.430, NOW))),
            unit("p04", UnitStatus::Assigned, Some((51.1281, 71.430, NOW))),
            unit("p06", UnitStatus::Available, None),
            unit("p05", UnitStatus::Available, Some((51.2, 71.5, NOW))),
            // A broken position counts as none.
            unit("p07", UnitStatus::Available, Some((f64::NAN, 71.5, NOW))),
        ];
        let r = rank(&units, INCIDENT, NOW, &settings(), None);
        assert_eq!(ids(&r), ["p05", "p06", "p07"]);
        assert!(r.units[1].distance_m.is_none() && r.units[1].eta_s.is_none());
        assert!(r.units[1].method.is_none());
    }

    #[test]
    fn r20_closest_marks_an_old_position_stale_but_ranks_it() {
        let old = NOW - POSITION_STALE_AFTER_MS - 1;
        let units = [
            unit("p01", UnitStatus::Available, Some((51.129, 71.430, old))),
            unit(
                "p02",
                UnitStatus::Available,
                Some((51.140, 71.430, NOW - POSITION_STALE_AFTER_MS)),
            ),
        ];
        let r = rank(&units, INCIDENT, NOW, &settings(), None);
        assert_eq!(ids(&r), ["p01", "p02"]);
        assert!(r.units[0].stale);
        assert!(!r.units[1].stale, "exactly at the limit is not stale yet");
    }

    #[test]
    fn r20_closest_prefilter_keeps_the_nearest_by_straight_line() {
        let units: Vec<Candidate> = (0..25)
            .map(|i| {
                unit(
                    &format!("p{i:02}"),
                    UnitStatus::Available,
                    Some((51.128 + 0.001 * f64::from(25 - i), 71.430, NOW)),
                )
            })
            .collect();
        let r = rank(&units, INCIDENT, NOW, &settings(), None);
        assert_eq!(r.units.len(), CLOSEST_PREFILTER_UNITS_MAX);
        assert_eq!(r.units[0].unit_id, "p24");
        assert_eq!(r.units[9].unit_id, "p15");
    }

    /// An oracle that answers from a table by the unit's latitude, and not at all for others.
    struct Table(Vec<(f64, Travel)>);
    impl TravelTimes for Table {
        fn travel(&self, from: (f64, f64), _to: (f64, f64)) -> Option<Travel> {
            self.0
                .iter()
                .find(|(lat, _)| (*lat - from.0).abs() < 1e-9)
                .map(|(_, t)| *t)
        }
    }

    #[test]
    fn r20_closest_road_times_reorder_and_unknown_pairs_fall_back() {
        let units = [
            unit("near", UnitStatus::Available, Some((51.130, 71.430, NOW))),
            unit("far", UnitStatus::Available, Some((51.140, 71.430, NOW))),
            unit(
                "offroad",
                UnitStatus::Available,
                Some((51.160, 71.430, NOW)),
            ),
        ];
        // The near unit is across a river: 9 minutes by road; the far one 2 minutes.
        let oracle = Table(vec![
            (
                51.130,
                Travel {
                    seconds: 540.0,
                    distance_m: 6_000.0,
                },
            ),
            (
                51.140,
                Travel {
                    seconds: 120.0,
                    distance_m: 1_500.0,
                },
            ),
        ]);
        let r = rank(&units, INCIDENT, NOW, &settings(), Some(&oracle));
        assert_eq!(r.method, RankMethod::RoadGraph);
        assert_eq!(ids(&r), ["far", "offroad", "near"]);
        assert_eq!(r.units[0].method, Some(RankMethod::RoadGraph));
        assert_eq!(r.units[0].distance_m, Some(1_500.0));
        assert_eq!(r.units[1].method, Some(RankMethod::StraightLine));
    }

    fn arb_candidates() -> impl Strategy<Value = Vec<Candidate>> {
        prop::collection::vec(
            (
                0u8..5,
                prop::option::weighted(0.85, (51.0f64..51.3, 71.2f64..71.7, 0i64..3_600_000)),
            ),
            0..30,
        )
        .prop_map(|v| {
            v.into_iter()
                .enumerate()
                .map(|(i, (s, pos))| {
                    let status = match s {
                        0 | 1 => UnitStatus::Available,
                        2 => UnitStatus::EnRoute,
                        3 => UnitStatus::OnScene,
                        _ => UnitStatus::OffDuty,
                    };
                    unit(
                        &format!("u{i:02}"),
                        status,
                        pos.map(|(lat, lon, age)| (lat, lon, NOW - age)),
                    )
                })
                .collect()
        })
    }

    /// A road graph stand-in: some units get a time (a random multiple of their straight line),
    /// the others none.
    struct Scrambled;
    impl TravelTimes for Scrambled {
        fn travel(&self, from: (f64, f64), to: (f64, f64)) -> Option<Travel> {
            let d = haversine_m(from.0, from.1, to.0, to.1);
            let k = (from.0 * 1e4).fract().abs();
            (k > 0.3).then(|| Travel {
                seconds: d * (1.0 + 3.0 * k) / 10.0,
                distance_m: d * (1.0 + k),
            })
        }
    }

    proptest! {
        #[test]
        fn r20_closest_without_an_oracle_ranks_by_distance(cands in arb_candidates()) {
            let r = rank(&cands, INCIDENT, NOW, &settings(), None);
            let available = cands.iter().filter(|c| c.status == UnitStatus::Available).count();
            let placed = cands.iter().filter(|c| c.status == UnitStatus::Available && c.position.is_some()).count();
            prop_assert_eq!(r.units.len(), available - placed + placed.min(CLOSEST_PREFILTER_UNITS_MAX));
            let ranked: Vec<&ClosestUnit> = r.units.iter().take_while(|u| u.distance_m.is_some()).collect();
            prop_assert_eq!(ranked.len(), placed.min(CLOSEST_PREFILTER_UNITS_MAX));
            prop_assert!(r.units[ranked.len()..].iter().all(|u| u.distance_m.is_none()));
            for w in ranked.windows(2) {
                prop_assert!(w[0].distance_m <= w[1].distance_m);
            }
            prop_assert_eq!(r.method, RankMethod::StraightLine);
            // Nothing ranked was left out by the pre-filter that is nearer than a ranked unit.
            if let Some(last) = ranked.last() {
                for c in cands.iter().filter(|c| c.status == UnitStatus::Available) {
                    if let Some(p) = c.position {
                        let d = haversine_m(p.lat, p.lon, INCIDENT.0, INCIDENT.1);
                        if d < last.distance_m.unwrap() {
                            prop_assert!(ranked.iter().any(|u| u.unit_id == c.unit_id));
                        }
                    }
                }
            }
        }

        #[test]
        fn r20_closest_a_closer_unit_never_ranks_after_a_farther_one_with_the_same_method(cands in arb_candidates()) {
            let r = rank(&cands, INCIDENT, NOW, &settings(), Some(&Scrambled));
            for (i, a) in r.units.iter().enumerate() {
                for b in &r.units[i + 1..] {
                    if a.method.is_some() && a.method == b.method {
                        if a.method == Some(RankMethod::StraightLine) {
                            prop_assert!(a.distance_m <= b.distance_m);
                        }
                        prop_assert!(a.eta_s <= b.eta_s);
                    }
                }
            }
        }
    }
}
