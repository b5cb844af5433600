//! A unit's positions (AVL) of one day, written by its terminal.
//!
//! # Why a list of small binary points
//!
//! Every automerge operation stays in the document's history, so a "latest position" field
//! overwritten every 15 s would keep each old value anyway, and a JSON point costs ~90 bytes.
//! A point here is one list element holding ~20 bytes (time, microdegrees as zigzag varints,
//! optional accuracy/speed/heading), appended by the one writer the document has, so automerge
//! stores the run of inserts compactly; the latest position is the point with the greatest
//! time. `track_bytes_per_unit_shift` in this module's tests and `bench avl` measure it:
//! see the README. Positions go after statuses over a bad link (priority `Normal`), and the
//! node keeps the latest per unit in memory for the map.

use automerge::{transaction::Transactable, ActorId, AutoCommit, ObjType, ReadDoc, ROOT};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::log::check_field_time;
use crate::doc::{get_obj, get_str, Document};
use crate::error::DomainError;
use crate::geo::is_valid_point;

pub const TRACK_SCHEMA_VERSION: i64 = 1;
/// Most points in one unit's track of one day (one every 5 s).
pub const TRACK_POINTS_PER_DAY_MAX: usize = 17_280;
/// Most points appended in one change.
pub const TRACK_POINTS_PER_APPEND_MAX: usize = 256;
/// Largest accepted accuracy radius, metres.
pub const POSITION_ACCURACY_M_MAX: f32 = 100_000.0;
/// Largest accepted speed, km/h.
pub const POSITION_SPEED_KMH_MAX: f32 = 400.0;

/// One position report of a unit (UnitPosition).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UnitPosition {
    /// When the fix was taken, ms since the epoch.
    pub at_ms: i64,
    pub lat: f64,
    pub lon: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy_m: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed_kmh: Option<f32>,
    /// 0–359, clockwise from north.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heading_deg: Option<u16>,
}

impl UnitPosition {
    /// A point on the Earth, not dated in the future or before 2020, plausible extras.
    pub fn validate(&self, now_ms: i64) -> Result<(), DomainError> {
        if !is_valid_point(self.lat, self.lon) {
            return Err(DomainError::rule_field(
                "position_out_of_range",
                "lat",
                "latitude must be −90…90 and longitude −180…180",
            ));
        }
        check_field_time("at_ms", self.at_ms, now_ms)?;
        if let Some(a) = self.accuracy_m {
            if !(a.is_finite() && (0.0..=POSITION_ACCURACY_M_MAX).contains(&a)) {
                return Err(DomainError::field("accuracy_m", "accuracy is out of range"));
            }
        }
        if let Some(s) = self.speed_kmh {
            if !(s.is_finite() && (0.0..=POSITION_SPEED_KMH_MAX).contains(&s)) {
                return Err(DomainError::field("speed_kmh", "speed is out of range"));
            }
        }
        if self.heading_deg.is_some_and(|h| h >= 360) {
            return Err(DomainError::field("heading_deg", "heading must be 0…359"));
        }
        Ok(())
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(b: &[u8], i: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*i)?;
        *i += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Some(v);
        }
    }
    None
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

const FLAG_ACCURACY: u8 = 1;
const FLAG_SPEED: u8 = 2;
const FLAG_HEADING: u8 = 4;

/// `flags:u8 at_ms:varint lat_µdeg:zigzag lon_µdeg:zigzag [accuracy_dm] [speed_0.1kmh] [heading]`.
pub fn encode_point(p: &UnitPosition) -> Vec<u8> {
    let mut out = Vec::with_capacity(24);
    let mut flags = 0;
    if p.accuracy_m.is_some() {
        flags |= FLAG_ACCURACY;
    }
    if p.speed_kmh.is_some() {
        flags |= FLAG_SPEED;
    }
    if p.heading_deg.is_some() {
        flags |= FLAG_HEADING;
    }
    out.push(flags);
    put_varint(&mut out, p.at_ms.max(0) as u64);
    put_varint(&mut out, zigzag((p.lat * 1e6).round() as i64));
    put_varint(&mut out, zigzag((p.lon * 1e6).round() as i64));
    if let Some(a) = p.accuracy_m {
        put_varint(&mut out, (a * 10.0).round() as u64);
    }
    if let Some(s) = p.speed_kmh {
        put_varint(&mut out, (s * 10.0).round() as u64);
    }
    if let Some(h) = p.heading_deg {
        put_varint(&mut out, u64::from(h));
    }
    out
}

pub fn decode_point(b: &[u8]) -> Option<UnitPosition> {
    let flags = *b.first()?;
    let mut i = 1;
    let at_ms = i64::try_from(get_varint(b, &mut i)?).ok()?;
    let lat = unzigzag(get_varint(b, &mut i)?) as f64 / 1e6;
    let lon = unzigzag(get_varint(b, &mut i)?) as f64 / 1e6;
    let mut opt = |flag: u8| -> Option<Option<u64>> {
        if flags & flag != 0 {
            get_varint(b, &mut i).map(Some)
        } else {
            Some(None)
        }
    };
    let accuracy_m = opt(FLAG_ACCURACY)?.map(|v| v as f32 / 10.0);
    let speed_kmh = opt(FLAG_SPEED)?.map(|v| v as f32 / 10.0);
    let heading_deg = opt(FLAG_HEADING)?.and_then(|v| u16::try_from(v).ok());
    Some(UnitPosition {
        at_ms,
        lat,
        lon,
        accuracy_m,
        speed_kmh,
        heading_deg,
    })
}

/// A unit's track of one day.
pub struct TrackDoc {
    doc: AutoCommit,
}

impl Document for TrackDoc {
    const SCHEMA_VERSION: i64 = TRACK_SCHEMA_VERSION;
    const KIND: &'static str = "unit track";
    fn wrap(doc: AutoCommit) -> Self {
        TrackDoc { doc }
    }
    fn automerge(&mut self) -> &mut AutoCommit {
        &mut self.doc
    }
}

impl TrackDoc {
    pub fn create(actor: ActorId, unit: &str, date: &str) -> Result<TrackDoc, DomainError> {
        let mut doc = AutoCommit::new().with_actor(actor);
        doc.put(ROOT, "v", TRACK_SCHEMA_VERSION)?;
        doc.put(ROOT, "unit", unit)?;
        doc.put(ROOT, "date", date)?;
        doc.put_object(ROOT, "points", ObjType::List)?;
        doc.commit();
        Ok(TrackDoc { doc })
    }

    pub fn unit(&self) -> Option<String> {
        get_str(&self.doc, &ROOT, "unit")
    }

    /// Number of points held.
    pub fn len(&self) -> usize {
        get_obj(&self.doc, &ROOT, "points").map_or(0, |l| self.doc.length(&l))
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends validated points as one change.
    pub fn append(&mut self, points: &[UnitPosition], now_ms: i64) -> Result<(), DomainError> {
        if points.len() > TRACK_POINTS_PER_APPEND_MAX {
            return Err(DomainError::field(
                "points",
                format!("at most {TRACK_POINTS_PER_APPEND_MAX} points at once"),
            ));
        }
        for p in points {
            p.validate(now_ms)?;
        }
        let list = get_obj(&self.doc, &ROOT, "points")?;
        let start = self.doc.length(&list);
        if start + points.len() > TRACK_POINTS_PER_DAY_MAX {
            return Err(DomainError::rule(
                "track_full",
                format!("a unit's track holds at most {TRACK_POINTS_PER_DAY_MAX} points a day"),
            ));
        }
        for (at, p) in (start..).zip(points) {
            self.doc
                .insert(&list, at, automerge::ScalarValue::Bytes(encode_point(p)))?;
        }
        self.doc.commit();
        Ok(())
    }

    /// Every point, by time; an undecodable point is skipped (it cannot be shown anyway).
    pub fn points(&self) -> Vec<UnitPosition> {
        let Ok(list) = get_obj(&self.doc, &ROOT, "points") else {
            return Vec::new();
        };
        let mut out: Vec<UnitPosition> = self
            .doc
            .list_range(&list, ..)
            .filter_map(|item| match automerge::Value::from(item.value) {
                automerge::Value::Scalar(s) => match s.as_ref() {
                    automerge::ScalarValue::Bytes(b) => decode_point(b),
                    _ => None,
                },
                _ => None,
            })
            .collect();
        out.sort_by_key(|p| p.at_ms);
        out
    }

    /// The newest point.
    pub fn latest(&self) -> Option<UnitPosition> {
        self.points().into_iter().max_by_key(|p| p.at_ms)
    }
}
