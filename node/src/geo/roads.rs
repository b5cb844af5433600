//! The region's road graph (`[map] roads`): travel times for the closest-unit recommendation
//! and the route drawn for the selected card.
//!
//! ## File format
//!
//! CSV, UTF-8, one road segment per line, with this header:
//!
//! ```text
//! from_lat,from_lon,to_lat,to_lon,seconds,oneway
//! 51.12800,71.43000,51.12900,71.43100,9.5,0
//! ```
//!
//! - `from_lat,from_lon,to_lat,to_lon`: the segment's ends, degrees (WGS 84). Ends closer than
//!   about a metre are the same junction: coordinates are merged after rounding to
//!   [`NODE_MERGE_DEGREES`], so a road network exported as segments joins up by itself.
//! - `seconds`: time to drive the segment (an exporter computes it from length and the road's
//!   speed), more than 0 and at most [`ROAD_SEGMENT_SECONDS_MAX`].
//! - `oneway` (optional column; `0`/`1`, `false`/`true`, empty = `0`): `1` means the segment may
//!   be driven only from `from` to `to`.
//!
//! Lines that are empty or start with `#` are skipped. A bad line stops the node's start with
//! an error naming the file, the line and what is wrong; nothing is half-loaded.
//!
//! Shortest paths come from `fast_paths` (contraction hierarchies, prepared once at start). A
//! point is snapped to the nearest graph node within [`SNAP_DISTANCE_M_MAX`] through a grid
//! index; a point farther from every road gets no answer, and the ranking falls back to straight
//! line for that unit. The stretch between a point and its snapped node is driven at the average
//! speed, times the road-distance factor.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use fast_paths::{FastGraph, InputGraph, PathCalculator};
use sync::closest::{Travel, TravelTimes};
use sync::geo::haversine_m;

/// Junctions closer than this (in degrees of latitude and of longitude) are one node: 1e-5°
/// is about 1.1 m north–south and 0.7 m east–west at Kazakhstan's latitudes.
pub const NODE_MERGE_DEGREES: f64 = 1e-5;
/// The most road segments a file may hold (a large region's whole network is ~1–2 million).
pub const ROAD_SEGMENTS_MAX: usize = 5_000_000;
/// The longest one segment may take to drive, seconds: longer means a units mistake.
pub const ROAD_SEGMENT_SECONDS_MAX: f64 = 3_600.0;
/// The fastest a segment may imply (its length over its seconds), km/h: faster means a units
/// mistake or swapped columns.
pub const ROAD_SEGMENT_SPEED_KMH_MAX: f64 = 250.0;
/// A point farther than this from every graph node gets no road answer, metres.
pub const SNAP_DISTANCE_M_MAX: f64 = 500.0;
/// Side of a snapping grid cell, degrees (~550 m north–south).
const GRID_CELL_DEGREES: f64 = 0.005;
/// Graph weights are tenths of a second (`fast_paths` takes whole numbers, at least 1).
const WEIGHT_PER_SECOND: f64 = 10.0;

/// Why a road file cannot be used; every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum RoadsError {
    #[error("road graph {file}: cannot read it: {error}")]
    Read { file: String, error: String },
    #[error("road graph {file}, line {line}: {problem}")]
    Line {
        file: String,
        line: u64,
        problem: String,
    },
    #[error("road graph {file}: {problem}")]
    File { file: String, problem: String },
}

/// The prepared road graph.
pub struct RoadGraph {
    graph: FastGraph,
    /// One calculator reused by every query (it holds per-node scratch space); queries take
    /// well under a millisecond, so they queue here rather than allocate per query.
    calculator: Mutex<PathCalculator>,
    /// Node id → (lat, lon).
    nodes: Vec<(f64, f64)>,
    /// Grid cell → nodes in it.
    grid: HashMap<(i32, i32), Vec<usize>>,
    segments: usize,
    /// For the stretches between a point and its snapped node.
    road_distance_factor: f64,
    average_speed_kmh: f64,
}

impl std::fmt::Debug for RoadGraph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoadGraph")
            .field("nodes", &self.nodes.len())
            .field("segments", &self.segments)
            .finish_non_exhaustive()
    }
}

/// A route between two points.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    pub seconds: f64,
    pub distance_m: f64,
    /// From the start point through the road nodes to the end point, `(lat, lon)`.
    pub points: Vec<(f64, f64)>,
}

fn cell(lat: f64, lon: f64) -> (i32, i32) {
    // In range by construction: latitudes and longitudes are checked before they get here.
    (
        (lat / GRID_CELL_DEGREES).floor() as i32,
        (lon / GRID_CELL_DEGREES).floor() as i32,
    )
}

fn parse_flag(s: &str) -> Option<bool> {
    match s.trim() {
        "" | "0" | "false" | "no" => Some(false),
        "1" | "true" | "yes" => Some(true),
        _ => None,
    }
}

impl RoadGraph {
    /// Loads and prepares the graph of `path`.
    pub fn load(
        path: &Path,
        road_distance_factor: f64,
        average_speed_kmh: f64,
    ) -> Result<RoadGraph, RoadsError> {
        let file = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| RoadsError::Read {
            file: file.clone(),
            error: e.to_string(),
        })?;
        Self::parse(&file, &bytes, road_distance_factor, average_speed_kmh)
    }

    /// [`RoadGraph::load`] from bytes; `file` names them in errors.
    pub fn parse(
        file: &str,
        bytes: &[u8],
        road_distance_factor: f64,
        average_speed_kmh: f64,
    ) -> Result<RoadGraph, RoadsError> {
        let line_err = |line: u64, problem: String| RoadsError::Line {
            file: file.to_string(),
            line,
            problem,
        };
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .comment(Some(b'#'))
            .trim(csv::Trim::All)
            .from_reader(bytes);
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| line_err(1, format!("the header cannot be read: {e}")))?
            .iter()
            .map(str::to_string)
            .collect();
        let expected = ["from_lat", "from_lon", "to_lat", "to_lon", "seconds"];
        let with_oneway = header.len() == 6 && header[5] == "oneway";
        if header.len() < 5 || header[..5] != expected || !(header.len() == 5 || with_oneway) {
            return Err(line_err(
                1,
                format!(
                    "the header must be `{},oneway` (oneway optional), not `{}`",
                    expected.join(","),
                    header.join(",")
                ),
            ));
        }
        let mut ids: HashMap<(i64, i64), usize> = HashMap::new();
        let mut nodes: Vec<(f64, f64)> = Vec::new();
        let mut input = InputGraph::new();
        let mut segments = 0usize;
        for record in reader.records() {
            let record = record.map_err(|e| {
                let line = e.position().map_or(0, |p| p.line());
                line_err(line, format!("not CSV: {e}"))
            })?;
            let line = record.position().map_or(0, |p| p.line());
            if record.len() == 1 && record[0].is_empty() {
                continue;
            }
            if record.len() != header.len() {
                return Err(line_err(
                    line,
                    format!(
                        "{} fields where the header has {}",
                        record.len(),
                        header.len()
                    ),
                ));
            }
            let num = |i: usize| -> Result<f64, RoadsError> {
                record[i]
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| {
                        line_err(
                            line,
                            format!("{} `{}` is not a number", expected[i], &record[i]),
                        )
                    })
            };
            let (a_lat, a_lon, b_lat, b_lon, seconds) =
                (num(0)?, num(1)?, num(2)?, num(3)?, num(4)?);
            for (name, lat, lon) in [("from", a_lat, a_lon), ("to", b_lat, b_lon)] {
                if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
                    return Err(line_err(
                        line,
                        format!("the {name} point {lat},{lon} is not a latitude,longitude pair in degrees"),
                    ));
                }
            }
            if !(seconds > 0.0 && seconds <= ROAD_SEGMENT_SECONDS_MAX) {
                return Err(line_err(
                    line,
                    format!("seconds must be more than 0 and at most {ROAD_SEGMENT_SECONDS_MAX}, not {seconds}"),
                ));
            }
            let oneway = if with_oneway {
                parse_flag(&record[5]).ok_or_else(|| {
                    line_err(line, format!("oneway must be 0 or 1, not `{}`", &record[5]))
                })?
            } else {
                false
            };
            let length_m = haversine_m(a_lat, a_lon, b_lat, b_lon);
            let speed_kmh = length_m / seconds * 3.6;
            if speed_kmh > ROAD_SEGMENT_SPEED_KMH_MAX {
                return Err(line_err(
                    line,
                    format!(
                        "{length_m:.0} m in {seconds} s is {speed_kmh:.0} km/h, over {ROAD_SEGMENT_SPEED_KMH_MAX} km/h: are the seconds right?"
                    ),
                ));
            }
            let mut node = |lat: f64, lon: f64| {
                let key = (
                    (lat / NODE_MERGE_DEGREES).round() as i64,
                    (lon / NODE_MERGE_DEGREES).round() as i64,
                );
                *ids.entry(key).or_insert_with(|| {
                    nodes.push((lat, lon));
                    nodes.len() - 1
                })
            };
            let (a, b) = (node(a_lat, a_lon), node(b_lat, b_lon));
            if a == b {
                return Err(line_err(
                    line,
                    "both ends are the same point (closer than about a metre)".into(),
                ));
            }
            let weight = ((seconds * WEIGHT_PER_SECOND).round() as usize).max(1);
            if oneway {
                input.add_edge(a, b, weight);
            } else {
                input.add_edge_bidir(a, b, weight);
            }
            segments += 1;
            if segments > ROAD_SEGMENTS_MAX {
                return Err(line_err(
                    line,
                    format!("more than {ROAD_SEGMENTS_MAX} segments"),
                ));
            }
        }
        if segments == 0 {
            return Err(RoadsError::File {
                file: file.to_string(),
                problem: "no road segments".into(),
            });
        }
        input.freeze();
        let graph = fast_paths::prepare(&input);
        let calculator = Mutex::new(fast_paths::create_calculator(&graph));
        let mut grid: HashMap<(i32, i32), Vec<usize>> = HashMap::new();
        for (id, (lat, lon)) in nodes.iter().enumerate() {
            grid.entry(cell(*lat, *lon)).or_default().push(id);
        }
        Ok(RoadGraph {
            graph,
            calculator,
            nodes,
            grid,
            segments,
            road_distance_factor,
            average_speed_kmh,
        })
    }

    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    pub fn segment_count(&self) -> usize {
        self.segments
    }

    /// The nearest node within [`SNAP_DISTANCE_M_MAX`] and its distance, metres.
    pub fn snap(&self, lat: f64, lon: f64) -> Option<(usize, f64)> {
        // Not at the poles, where a grid cell of longitude degrees is no size at all.
        if !sync::geo::is_valid_point(lat, lon) || lat.abs() > 89.0 {
            return None;
        }
        let (cy, cx) = cell(lat, lon);
        let deg_lat = SNAP_DISTANCE_M_MAX / 111_000.0;
        let deg_lon = deg_lat / lat.to_radians().cos().max(0.01);
        let ry = (deg_lat / GRID_CELL_DEGREES).ceil() as i32;
        let rx = (deg_lon / GRID_CELL_DEGREES).ceil() as i32;
        let mut best: Option<(usize, f64)> = None;
        for y in cy - ry..=cy + ry {
            for x in cx - rx..=cx + rx {
                for &id in self.grid.get(&(y, x)).into_iter().flatten() {
                    let (nlat, nlon) = self.nodes[id];
                    let d = haversine_m(lat, lon, nlat, nlon);
                    if d <= SNAP_DISTANCE_M_MAX && best.is_none_or(|(_, bd)| d < bd) {
                        best = Some((id, d));
                    }
                }
            }
        }
        best
    }

    /// Seconds for a stretch off the graph (point ↔ snapped node).
    fn access_s(&self, distance_m: f64) -> f64 {
        distance_m * self.road_distance_factor / (self.average_speed_kmh.max(1.0) / 3.6)
    }

    /// The fastest route from `from` to `to` (`(lat, lon)`), or `None` when an end is too far
    /// from the roads or no road joins them.
    pub fn route(&self, from: (f64, f64), to: (f64, f64)) -> Option<Route> {
        let (a, da) = self.snap(from.0, from.1)?;
        let (b, db) = self.snap(to.0, to.1)?;
        let path = {
            let mut calc = self.calculator.lock().unwrap_or_else(|p| p.into_inner());
            calc.calc_path(&self.graph, a, b)?
        };
        let mut points = Vec::with_capacity(path.get_nodes().len() + 2);
        points.push(from);
        points.extend(path.get_nodes().iter().map(|&n| self.nodes[n]));
        points.push(to);
        let road_m: f64 = path
            .get_nodes()
            .windows(2)
            .map(|w| {
                let (p, q) = (self.nodes[w[0]], self.nodes[w[1]]);
                haversine_m(p.0, p.1, q.0, q.1)
            })
            .sum();
        let road_s = path.get_weight() as f64 / WEIGHT_PER_SECOND;
        Some(Route {
            seconds: road_s + self.access_s(da + db),
            distance_m: road_m + da + db,
            points,
        })
    }
}

impl TravelTimes for RoadGraph {
    fn travel(&self, from: (f64, f64), to: (f64, f64)) -> Option<Travel> {
        self.route(from, to).map(|r| Travel {
            seconds: r.seconds,
            distance_m: r.distance_m,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A ring road of `n` junctions around a centre, radius `r_deg` degrees, each segment
    /// `seg_s` seconds, as CSV. The ring is cut between the last and first junction, so going
    /// "backwards" means the long way round.
    pub(crate) fn ring_csv(
        centre: (f64, f64),
        r_deg: f64,
        n: usize,
        seg_s: f64,
        cut: bool,
    ) -> String {
        let mut s = String::from("from_lat,from_lon,to_lat,to_lon,seconds,oneway\n");
        let pt = |i: usize| {
            let a = std::f64::consts::TAU * i as f64 / n as f64;
            (
                centre.0 + r_deg * a.sin(),
                centre.1 + r_deg * a.cos() / centre.0.to_radians().cos(),
            )
        };
        let last = if cut { n - 1 } else { n };
        for i in 0..last {
            let (p, q) = (pt(i), pt((i + 1) % n));
            s.push_str(&format!(
                "{:.6},{:.6},{:.6},{:.6},{seg_s},0\n",
                p.0, p.1, q.0, q.1
            ));
        }
        s
    }

    fn check_err(csv: &str, expect: &str) {
        let e = RoadGraph::parse("roads.csv", csv.as_bytes(), 1.4, 40.0).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains(expect), "{msg}");
        assert!(msg.starts_with("road graph roads.csv"), "{msg}");
    }

    #[test]
    fn bad_road_files_are_refused_with_file_and_line() {
        let h = "from_lat,from_lon,to_lat,to_lon,seconds\n";
        check_err("a,b,c\n1,2,3\n", "line 1: the header must be");
        check_err(h, "no road segments");
        check_err(
            &format!("{h}51.1,71.4,51.2,71.4,600\n51.1,71.4,x,71.4,5\n"),
            "line 3: to_lat `x` is not a number",
        );
        check_err(
            &format!("{h}51.1,71.4,51.2\n"),
            "line 2: 3 fields where the header has 5",
        );
        check_err(
            &format!("{h}95,71.4,51.2,71.4,600\n"),
            "line 2: the from point 95,71.4",
        );
        check_err(
            &format!("{h}51.1,71.4,51.2,71.4,0\n"),
            "line 2: seconds must be more than 0",
        );
        check_err(
            &format!("{h}51.1,71.4,51.2,71.4,5\n"),
            "line 2: 11120 m in 5 s",
        );
        check_err(
            &format!("{h}51.1,71.4,51.100001,71.4,5\n"),
            "line 2: both ends are the same point",
        );
        check_err(
            "from_lat,from_lon,to_lat,to_lon,seconds,oneway\n51.1,71.4,51.2,71.4,600,maybe\n",
            "line 2: oneway must be 0 or 1",
        );
        let missing = RoadGraph::load(Path::new("/nonexistent/roads.csv"), 1.4, 40.0).unwrap_err();
        assert!(
            missing.to_string().contains("/nonexistent/roads.csv"),
            "{missing}"
        );
    }

    #[test]
    fn a_route_follows_the_roads_and_honours_one_way() {
        // Three junctions in a line, ~1.1 km apart, the second leg one-way northwards.
        let csv = "from_lat,from_lon,to_lat,to_lon,seconds,oneway\n\
                   # a comment\n\
                   51.10,71.40,51.11,71.40,100,0\n\
                   51.11,71.40,51.12,71.40,100,1\n";
        let g = RoadGraph::parse("r.csv", csv.as_bytes(), 1.4, 40.0).unwrap();
        assert_eq!((g.node_count(), g.segment_count()), (3, 2));
        let north = g.route((51.10, 71.40), (51.12, 71.40)).unwrap();
        assert!((north.seconds - 200.0).abs() < 1e-6, "{north:?}");
        assert!((north.distance_m - 2_223.9).abs() < 1.0, "{north:?}");
        assert_eq!(north.points.len(), 5);
        assert!(g.route((51.12, 71.40), (51.10, 71.40)).is_none(), "one-way");
        // 100 m off the road: snapped, the stretch driven at 40 km/h × 1.4.
        let off = g.route((51.10, 71.4014), (51.11, 71.40)).unwrap();
        assert!(off.seconds > 100.0 && off.seconds < 115.0, "{off:?}");
        // Farther than the snap limit: no answer.
        assert!(g.snap(51.10, 71.42).is_none());
        assert!(g.route((51.10, 71.42), (51.11, 71.40)).is_none());
    }

    #[test]
    fn r20_closest_road_graph_ranks_differently_from_straight_line() {
        use sync::closest::{rank, Candidate, ClosestSettings, RankMethod, UnitFix};
        use sync::UnitStatus;
        // A ring road of 36 junctions (~1.1 km radius), cut between junction 35 and 0: the
        // incident is at junction 0. Unit "across" stands at junction 34 (straight line ~390 m,
        // but by road it must go all the way round); unit "along" stands at junction 4 (~760 m
        // straight, four segments by road).
        let centre = (51.128, 71.430);
        let csv = ring_csv(centre, 0.01, 36, 20.0, true);
        let g = RoadGraph::parse("ring.csv", csv.as_bytes(), 1.4, 40.0).unwrap();
        let pt = |i: usize| {
            let a = std::f64::consts::TAU * i as f64 / 36.0;
            (
                centre.0 + 0.01 * a.sin(),
                centre.1 + 0.01 * a.cos() / centre.0.to_radians().cos(),
            )
        };
        let now = 1_800_000_000_000;
        let unit = |id: &str, p: (f64, f64)| Candidate {
            unit_id: id.into(),
            call_sign: id.into(),
            status: UnitStatus::Available,
            position: Some(UnitFix {
                lat: p.0,
                lon: p.1,
                at_ms: now,
            }),
        };
        let units = [unit("across", pt(34)), unit("along", pt(4))];
        let settings = ClosestSettings::new(1.4, 40.0);
        let straight = rank(&units, pt(0), now, &settings, None);
        assert_eq!(straight.units[0].unit_id, "across");
        let by_road = rank(&units, pt(0), now, &settings, Some(&g));
        assert_eq!(by_road.method, RankMethod::RoadGraph);
        assert_eq!(by_road.units[0].unit_id, "along");
        assert_eq!(by_road.units[0].eta_s.map(f64::round), Some(80.0));
        assert_eq!(by_road.units[1].eta_s.map(f64::round), Some(680.0));
    }
}
