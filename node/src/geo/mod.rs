//! Where things are: the closest-unit recommendation (R20) over the road graph, geocoding of
//! typed addresses against the address register, each card point's source (R35), and the
//! caller-location lookup's state. Built once at start from `[map]` and `[caller_location]`.
//!
//! Unit positions come through [`UnitPositions`], which the AVL part of the node implements;
//! until it is wired every unit is "position unknown" and is listed without a distance.

pub mod geocode;
pub mod roads;

use std::sync::{Arc, RwLock};

use anyhow::Context;
use serde::Serialize;
use sync::address::AddressMatcher;
use sync::closest::{rank, Candidate, ClosestSettings, RankMethod, Ranking, TravelTimes, UnitFix};
use sync::field::UnitPosition;
use sync::{Location, LocationSource};
use utoipa::ToSchema;

use crate::caller_location::CallerLocation;
use crate::config::{CallerLocationSection, MapSection};
use geocode::{AddressRegister, Geocoded};
use roads::RoadGraph;

/// The latest position of every unit that has one, by unit id. Implemented by the node's AVL
/// (field terminals' positions).
pub trait UnitPositions: Send + Sync {
    fn latest(&self) -> Vec<(String, UnitPosition)>;
}

/// No positions known (no AVL wired yet).
pub struct NoUnitPositions;

impl UnitPositions for NoUnitPositions {
    fn latest(&self) -> Vec<(String, UnitPosition)> {
        Vec::new()
    }
}

/// A route from a unit to an incident, as the map draws it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RouteAnswer {
    pub method: RankMethod,
    /// `[lat, lon]` pairs from the unit to the incident (two for a straight line).
    pub points: Vec<[f64; 2]>,
    /// Metres along the roads, or the straight-line metres.
    pub distance_m: f64,
    pub eta_s: f64,
}

/// The map's data and rules, shared by the HTTP handlers.
pub struct Geo {
    settings: ClosestSettings,
    roads: Option<RoadGraph>,
    register: Option<AddressRegister>,
    positions: RwLock<Arc<dyn UnitPositions>>,
    pub caller_location: Arc<CallerLocation>,
}

/// Two coordinates closer than this are the same point (the console echoes the card's point
/// back through a text field), degrees (~1 cm).
const SAME_POINT_DEGREES: f64 = 1e-7;

fn same_point(a: (f64, f64), b: (f64, f64)) -> bool {
    (a.0 - b.0).abs() < SAME_POINT_DEGREES && (a.1 - b.1).abs() < SAME_POINT_DEGREES
}

impl Geo {
    /// Loads the road graph and the address register named in `map` (errors name the file)
    /// and the caller-location client.
    pub fn open(
        map: &MapSection,
        caller_location: Option<&CallerLocationSection>,
        matcher: AddressMatcher,
    ) -> anyhow::Result<Geo> {
        let roads = map
            .roads
            .as_deref()
            .map(|p| RoadGraph::load(p, map.road_distance_factor, map.average_speed_kmh))
            .transpose()
            .context("[map] roads")?;
        if let Some(g) = &roads {
            tracing::info!(
                nodes = g.node_count(),
                segments = g.segment_count(),
                "road graph loaded"
            );
        }
        let register = map
            .addresses
            .as_deref()
            .map(|p| AddressRegister::load(p, matcher))
            .transpose()
            .context("[map] addresses")?;
        if let Some(r) = &register {
            tracing::info!(addresses = r.len(), "address register loaded");
        }
        Ok(Geo {
            settings: ClosestSettings::new(map.road_distance_factor, map.average_speed_kmh),
            roads,
            register,
            positions: RwLock::new(Arc::new(NoUnitPositions)),
            caller_location: Arc::new(CallerLocation::new(caller_location)?),
        })
    }

    /// Plugs in the units' positions (the AVL).
    pub fn set_unit_positions(&self, positions: Arc<dyn UnitPositions>) {
        *self.positions.write().unwrap_or_else(|p| p.into_inner()) = positions;
    }

    fn latest_positions(&self) -> Vec<(String, UnitFix)> {
        let p = self
            .positions
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let fix = |p: UnitPosition| UnitFix {
            lat: p.lat,
            lon: p.lon,
            at_ms: p.at_ms,
        };
        p.latest().into_iter().map(|(id, p)| (id, fix(p))).collect()
    }

    pub fn has_address_register(&self) -> bool {
        self.register.is_some()
    }

    pub fn geocode(&self, address: &str) -> Option<Geocoded> {
        self.register.as_ref()?.geocode(address)
    }

    fn oracle(&self) -> Option<&dyn TravelTimes> {
        self.roads.as_ref().map(|g| g as &dyn TravelTimes)
    }

    /// The available units ranked for an incident at `incident` (`(lat, lon)`).
    pub fn closest(&self, units: &[sync::Unit], incident: (f64, f64), now_ms: i64) -> Ranking {
        let positions: std::collections::BTreeMap<String, UnitFix> =
            self.latest_positions().into_iter().collect();
        let candidates: Vec<Candidate> = units
            .iter()
            .map(|u| Candidate {
                unit_id: u.id.clone(),
                call_sign: u.call_sign.clone(),
                status: u.status,
                position: positions.get(&u.id).copied(),
            })
            .collect();
        rank(&candidates, incident, now_ms, &self.settings, self.oracle())
    }

    /// The unit's last known position.
    pub fn unit_position(&self, unit_id: &str) -> Option<UnitFix> {
        self.latest_positions()
            .into_iter()
            .find(|(id, _)| id == unit_id)
            .map(|(_, p)| p)
    }

    /// The route from `from` to `to`: over the roads when the graph can answer, else a straight
    /// line with the estimated time.
    pub fn route(&self, from: (f64, f64), to: (f64, f64)) -> RouteAnswer {
        if let Some(r) = self.roads.as_ref().and_then(|g| g.route(from, to)) {
            return RouteAnswer {
                method: RankMethod::RoadGraph,
                points: r.points.iter().map(|p| [p.0, p.1]).collect(),
                distance_m: r.distance_m,
                eta_s: r.seconds,
            };
        }
        let d = sync::geo::haversine_m(from.0, from.1, to.0, to.1);
        RouteAnswer {
            method: RankMethod::StraightLine,
            points: vec![[from.0, from.1], [to.0, to.1]],
            distance_m: d,
            eta_s: self.settings.straight_line_eta_s(d),
        }
    }

    /// The location a card gets from what a client sent (`given`) over what it had
    /// (`previous`). The node, not the client, says where a point came from:
    /// - the same point as before keeps its source (the console sends the card's point back
    ///   with every save) — except a geocoded point whose address was changed, which is
    ///   geocoded again from the new address;
    /// - a new point is the operator's;
    /// - no point and an address the register knows: the register's point, `geocoded`.
    pub fn settle_location(
        &self,
        previous: Option<&Location>,
        given: Option<Location>,
    ) -> Option<Location> {
        let mut loc = given?;
        loc.source = None;
        if let Some(point) = loc.point() {
            let before = previous.and_then(|p| p.point().map(|pt| (pt, p)));
            match before {
                Some((pt, prev)) if same_point(pt, point) => {
                    let readdressed = prev.source == Some(LocationSource::Geocoded)
                        && prev.address.as_deref().map(str::trim)
                            != loc.address.as_deref().map(str::trim);
                    if !readdressed {
                        loc.source = prev.source;
                        return Some(loc);
                    }
                    loc.lat = None;
                    loc.lon = None;
                    loc.accuracy_m = None;
                }
                _ => {
                    loc.source = Some(LocationSource::Operator);
                    return Some(loc);
                }
            }
        }
        if let Some(hit) = loc.address.as_deref().and_then(|a| self.geocode(a)) {
            loc.lat = Some(hit.lat);
            loc.lon = Some(hit.lon);
            loc.accuracy_m = None;
            loc.source = Some(LocationSource::Geocoded);
        }
        Some(loc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geo_with_register() -> (Geo, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("addresses.csv");
        std::fs::write(
            &path,
            "address,lat,lon\n\"ул. Кенесары, 40\",51.1687,71.4236\n\"пр. Абая, 52\",51.16,71.43\n",
        )
        .unwrap();
        let map = MapSection {
            addresses: Some(path),
            ..MapSection::default()
        };
        let config = crate::config::Config::load(None).unwrap();
        let matcher = AddressMatcher::new(
            config.reference.street_aliases().unwrap(),
            &config.node.city_names,
        );
        (Geo::open(&map, None, matcher).unwrap(), dir)
    }

    fn loc(
        point: Option<(f64, f64)>,
        address: Option<&str>,
        source: Option<LocationSource>,
    ) -> Location {
        Location {
            lat: point.map(|p| p.0),
            lon: point.map(|p| p.1),
            accuracy_m: None,
            address: address.map(str::to_string),
            source,
        }
    }

    #[test]
    fn the_node_decides_where_a_point_came_from() {
        use LocationSource::*;
        let (geo, _dir) = geo_with_register();
        let settle = |prev: Option<Location>, given: Location| {
            let l = geo.settle_location(prev.as_ref(), Some(given)).unwrap();
            (l.point(), l.source)
        };
        let kenesary = Some((51.1687, 71.4236));
        // Address only, known: geocoded. Unknown: no point, no source.
        assert_eq!(
            settle(None, loc(None, Some("Кенесары 40"), None)),
            (kenesary, Some(Geocoded))
        );
        assert_eq!(
            settle(None, loc(None, Some("Луговая 3"), None)),
            (None, None)
        );
        // A typed point is the operator's, whatever the client claims.
        assert_eq!(
            settle(None, loc(Some((51.2, 71.5)), None, Some(App))),
            (Some((51.2, 71.5)), Some(Operator))
        );
        // Saving the card again keeps the app's point as the app's.
        let app = loc(Some((51.2, 71.5)), None, Some(App));
        assert_eq!(
            settle(
                Some(app.clone()),
                loc(Some((51.2, 71.5)), Some("Кенесары 40"), None)
            ),
            (Some((51.2, 71.5)), Some(App))
        );
        // A geocoded point follows its address when the address changes.
        let geocoded = loc(kenesary, Some("Кенесары 40"), Some(Geocoded));
        assert_eq!(
            settle(Some(geocoded.clone()), loc(kenesary, Some("Абая 52"), None)),
            (Some((51.16, 71.43)), Some(Geocoded))
        );
        assert_eq!(
            settle(
                Some(geocoded.clone()),
                loc(kenesary, Some("Луговая 3"), None)
            ),
            (None, None)
        );
        assert_eq!(
            settle(Some(geocoded), loc(kenesary, Some("Кенесары 40"), None)),
            (kenesary, Some(Geocoded))
        );
        assert!(geo.settle_location(None, None).is_none());
    }
}
