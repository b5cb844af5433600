//! Which position fixes a terminal records (sans-IO): a GNSS receiver gives a fix every second,
//! an AVL record every 15 s or 10 m is what a dispatcher needs while the car drives, and a
//! parked car needs one every couple of minutes to show it is alive.

use super::track::UnitPosition;
use crate::geo::haversine_m;

/// When to record a position. Units are in the names.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PositionPolicy {
    /// While moving, at most one point per this interval, ms.
    pub moving_interval_ms: i64,
    /// Moved at least this far since the last point: moving, metres.
    pub moving_distance_m: f64,
    /// While parked (moved less than `moving_distance_m`), one point per this interval, ms.
    pub parked_interval_ms: i64,
}

impl Default for PositionPolicy {
    fn default() -> Self {
        PositionPolicy {
            moving_interval_ms: 15_000,
            moving_distance_m: 10.0,
            parked_interval_ms: 120_000,
        }
    }
}

impl PositionPolicy {
    pub fn validate(&self) -> Result<(), String> {
        if self.moving_interval_ms < 1_000 || self.parked_interval_ms < self.moving_interval_ms {
            return Err(
                "moving_interval_ms must be at least 1000 and parked_interval_ms at least that"
                    .into(),
            );
        }
        if !(self.moving_distance_m.is_finite() && self.moving_distance_m >= 0.0) {
            return Err("moving_distance_m must be 0 or more".into());
        }
        Ok(())
    }
}

/// Remembers the last recorded point and decides about the next fix.
#[derive(Debug, Clone, Default)]
pub struct PositionThrottle {
    policy: PositionPolicy,
    last: Option<UnitPosition>,
}

impl PositionThrottle {
    pub fn new(policy: PositionPolicy) -> Self {
        PositionThrottle { policy, last: None }
    }

    /// The last point recorded (e.g. restored from the store after a restart).
    pub fn with_last(mut self, last: Option<UnitPosition>) -> Self {
        self.last = last;
        self
    }

    /// Whether to record `fix`; if so, it becomes the last point. The first fix is always
    /// recorded; a fix older than the last point never is.
    pub fn offer(&mut self, fix: &UnitPosition) -> bool {
        let record = match &self.last {
            None => true,
            Some(last) => {
                let dt = fix.at_ms - last.at_ms;
                let moved = haversine_m(last.lat, last.lon, fix.lat, fix.lon);
                if dt <= 0 {
                    false
                } else if moved >= self.policy.moving_distance_m {
                    dt >= self.policy.moving_interval_ms
                } else {
                    dt >= self.policy.parked_interval_ms
                }
            }
        };
        if record {
            self.last = Some(*fix);
        }
        record
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fix(t_s: i64, north_m: f64) -> UnitPosition {
        UnitPosition {
            at_ms: 1_800_000_000_000 + t_s * 1000,
            lat: 51.1 + north_m / 111_195.0,
            lon: 71.4,
            accuracy_m: Some(5.0),
            speed_kmh: None,
            heading_deg: None,
        }
    }

    #[test]
    fn driving_records_every_15_s_and_parked_every_2_min() {
        let mut t = PositionThrottle::new(PositionPolicy::default());
        // Driving at ~11 m/s, a fix every second for 2 minutes: 1 + 120/15 points.
        let driving = (0..=120)
            .filter(|s| t.offer(&fix(*s, *s as f64 * 11.0)))
            .count();
        assert_eq!(driving, 9);
        // Parked (GNSS jitter of a metre) for 10 minutes: one point every 2 minutes.
        let base = 120.0 * 11.0;
        let parked = (121..=720)
            .filter(|s| t.offer(&fix(*s, base + (*s % 2) as f64)))
            .count();
        assert_eq!(parked, 5);
        // An old fix arriving late is not recorded.
        assert!(!t.offer(&fix(100, 0.0)));
    }
}
