//! Distances on the Earth's surface, for unit positions, posts and the closest-unit ranking.

/// Mean Earth radius (IUGG), metres.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Great-circle distance between two points given in degrees, metres (haversine formula; the
/// error against the ellipsoid is below 0.5 %, far below a GPS fix's in a city).
pub fn haversine_m(a_lat: f64, a_lon: f64, b_lat: f64, b_lon: f64) -> f64 {
    let (p1, p2) = (a_lat.to_radians(), b_lat.to_radians());
    let dp = (b_lat - a_lat).to_radians();
    let dl = (b_lon - a_lon).to_radians();
    let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

/// Whether a latitude/longitude pair is a point on the Earth (finite, in range).
pub fn is_valid_point(lat: f64, lon: f64) -> bool {
    lat.is_finite()
        && lon.is_finite()
        && (-90.0..=90.0).contains(&lat)
        && (-180.0..=180.0).contains(&lon)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn astana_to_almaty_is_about_970_km() {
        let d = haversine_m(51.1282, 71.4304, 43.2380, 76.9458);
        assert!((d - 970_000.0).abs() < 10_000.0, "{d}");
    }

    #[test]
    fn a_hundredth_of_a_degree_of_latitude_is_about_1_1_km() {
        let d = haversine_m(51.0, 71.0, 51.01, 71.0);
        assert!((d - 1_112.0).abs() < 5.0, "{d}");
        assert_eq!(haversine_m(51.0, 71.0, 51.0, 71.0), 0.0);
    }

    #[test]
    fn points_out_of_range_are_not_points() {
        assert!(is_valid_point(51.1, 71.4));
        assert!(!is_valid_point(91.0, 71.4));
        assert!(!is_valid_point(51.0, f64::NAN));
        assert!(!is_valid_point(51.0, -181.0));
    }
}
