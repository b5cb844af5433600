//! Distances on the Earth's surface. Pure arithmetic: no I/O.

/// Mean Earth radius (IUGG), metres.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Great-circle distance between two points given in degrees, metres (haversine formula; good
/// to about 0.5 % anywhere, far better than a patrol's GPS at city distances).
pub fn haversine_m(a_lat: f64, a_lon: f64, b_lat: f64, b_lon: f64) -> f64 {
    let (p1, p2) = (a_lat.to_radians(), b_lat.to_radians());
    let dp = p2 - p1;
    let dl = (b_lon - a_lon).to_radians();
    let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn haversine_known_distances() {
        // One degree of latitude is ~111.2 km.
        let d = haversine_m(51.0, 71.0, 52.0, 71.0);
        assert!((d - 111_195.0).abs() < 10.0, "{d}");
        assert_eq!(haversine_m(51.1, 71.4, 51.1, 71.4), 0.0);
        // Astana → Almaty, about 970 km.
        let d = haversine_m(51.1694, 71.4491, 43.2220, 76.8512);
        assert!((960_000.0..980_000.0).contains(&d), "{d}");
    }
}
