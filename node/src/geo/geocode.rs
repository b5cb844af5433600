//! Geocoding typed addresses against the region's address register (`[map] addresses`), so an
//! address-only card gets a point on the map and in the closest-unit recommendation.
//!
//! Matching is the address warnings' (R08): the same [`AddressMatcher`] with the region's
//! street and town aliases reads both sides, and a query is compared only with the register's
//! addresses of its own house number, exactly as [`crate::warnings::AddressWarnings`] does. A
//! `match` is taken; a `possible` match is taken only when it is the only candidate and its
//! reasons say "the same building, written differently" (a typo, part of the street's name,
//! another flat, a литера or корпус on one side only). A street type that differs ("мкр Самал"
//! / "ул. Самал") or a transliteration may be another place, so those give no point.
//!
//! ## File format
//!
//! CSV, UTF-8, header `address,lat,lon`, one building (or entrance) a line:
//!
//! ```text
//! address,lat,lon
//! "ул. Кенесары, 40",51.16870,71.42360
//! ```
//!
//! A bad line stops the node's start with an error naming the file and the line.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use sync::address::{AddressMatch, AddressMatcher, ParsedAddress, PossibleReason};
use utoipa::ToSchema;

/// The most addresses a register may hold (a city of a million has ~100 000 buildings).
pub const REGISTER_ADDRESSES_MAX: usize = 1_000_000;
/// The longest address in the register or in a query, characters (the card's limit).
pub const GEOCODE_ADDRESS_CHARS_MAX: usize = sync::model::limits::ADDRESS_CHARS_MAX;

#[derive(Debug, thiserror::Error)]
pub enum GeocodeError {
    #[error("address register {file}: cannot read it: {error}")]
    Read { file: String, error: String },
    #[error("address register {file}, line {line}: {problem}")]
    Line {
        file: String,
        line: u64,
        problem: String,
    },
}

/// How sure the point is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GeocodeMatch {
    /// The same building by the address warnings' rules.
    Match,
    /// The only candidate, and the same building written differently (see the module docs).
    Possible,
}

/// A geocoded address.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Geocoded {
    pub lat: f64,
    pub lon: f64,
    /// The register's address the point belongs to: the operator sees what was matched.
    pub matched_address: String,
    #[serde(rename = "match")]
    pub match_kind: GeocodeMatch,
}

struct Entry {
    parsed: ParsedAddress,
    address: String,
    lat: f64,
    lon: f64,
}

/// The register, indexed by house number.
pub struct AddressRegister {
    matcher: AddressMatcher,
    /// House key → entries (in file order).
    by_house: BTreeMap<String, Vec<Entry>>,
    addresses: usize,
}

impl std::fmt::Debug for AddressRegister {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AddressRegister")
            .field("addresses", &self.addresses)
            .finish_non_exhaustive()
    }
}

/// Reasons that still mean "this building" for a point on the map.
fn same_building(reasons: &[PossibleReason]) -> bool {
    reasons.iter().all(|r| {
        matches!(
            r,
            PossibleReason::StreetSpelling
                | PossibleReason::StreetNamePartial
                | PossibleReason::OtherFlat
                | PossibleReason::HouseLetter
                | PossibleReason::Korpus
        )
    })
}

impl AddressRegister {
    pub fn load(path: &Path, matcher: AddressMatcher) -> Result<AddressRegister, GeocodeError> {
        let file = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| GeocodeError::Read {
            file: file.clone(),
            error: e.to_string(),
        })?;
        Self::parse(&file, &bytes, matcher)
    }

    /// [`AddressRegister::load`] from bytes; `file` names them in errors.
    pub fn parse(
        file: &str,
        bytes: &[u8],
        matcher: AddressMatcher,
    ) -> Result<AddressRegister, GeocodeError> {
        let err = |line: u64, problem: String| GeocodeError::Line {
            file: file.to_string(),
            line,
            problem,
        };
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(bytes);
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| err(1, format!("the header cannot be read: {e}")))?
            .iter()
            .map(str::to_string)
            .collect();
        if header != ["address", "lat", "lon"] {
            return Err(err(
                1,
                format!(
                    "the header must be `address,lat,lon`, not `{}`",
                    header.join(",")
                ),
            ));
        }
        let mut register = AddressRegister {
            matcher,
            by_house: BTreeMap::new(),
            addresses: 0,
        };
        for record in reader.records() {
            let record = record.map_err(|e| {
                let line = e.position().map_or(0, |p| p.line());
                err(line, format!("not CSV: {e}"))
            })?;
            let line = record.position().map_or(0, |p| p.line());
            if record.len() != 3 {
                return Err(err(
                    line,
                    format!("{} fields where the header has 3", record.len()),
                ));
            }
            let address = &record[0];
            if address.is_empty() {
                return Err(err(line, "the address is empty".into()));
            }
            if address.chars().count() > GEOCODE_ADDRESS_CHARS_MAX {
                return Err(err(
                    line,
                    format!("the address is longer than {GEOCODE_ADDRESS_CHARS_MAX} characters"),
                ));
            }
            let coord = |i: usize, name: &str, max: f64| {
                record[i]
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite() && (-max..=max).contains(v))
                    .ok_or_else(|| {
                        err(
                            line,
                            format!(
                                "{name} `{}` is not a number from -{max} to {max}",
                                &record[i]
                            ),
                        )
                    })
            };
            let (lat, lon) = (coord(1, "lat", 90.0)?, coord(2, "lon", 180.0)?);
            let parsed = register.matcher.parse(address);
            if parsed.key().is_empty() {
                return Err(err(
                    line,
                    format!("`{address}` cannot be read as an address"),
                ));
            }
            register.addresses += 1;
            if register.addresses > REGISTER_ADDRESSES_MAX {
                return Err(err(
                    line,
                    format!("more than {REGISTER_ADDRESSES_MAX} addresses"),
                ));
            }
            register
                .by_house
                .entry(parsed.house_key())
                .or_default()
                .push(Entry {
                    parsed,
                    address: address.to_string(),
                    lat,
                    lon,
                });
        }
        Ok(register)
    }

    pub fn len(&self) -> usize {
        self.addresses
    }

    pub fn is_empty(&self) -> bool {
        self.addresses == 0
    }

    /// The point of a typed address, or `None` when the register has no building it surely is.
    pub fn geocode(&self, text: &str) -> Option<Geocoded> {
        if text.chars().count() > GEOCODE_ADDRESS_CHARS_MAX {
            return None;
        }
        let query = self.matcher.parse(text);
        if query.key().is_empty() {
            return None;
        }
        let same_house = self.by_house.get(&query.house_key())?;
        let hit = |e: &Entry, match_kind| Geocoded {
            lat: e.lat,
            lon: e.lon,
            matched_address: e.address.clone(),
            match_kind,
        };
        // The warnings' order: the same key, then another match, then possible ones.
        if let Some(e) = same_house.iter().find(|e| e.parsed.key() == query.key()) {
            return Some(hit(e, GeocodeMatch::Match));
        }
        let mut possible = Vec::new();
        for e in same_house {
            match self.matcher.compare(&e.parsed, &query) {
                AddressMatch::Match => return Some(hit(e, GeocodeMatch::Match)),
                AddressMatch::Possible { reasons } => possible.push((e, reasons)),
                AddressMatch::NoMatch => {}
            }
        }
        match possible.as_slice() {
            [(e, reasons)] if same_building(reasons) => Some(hit(e, GeocodeMatch::Possible)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn demo_matcher() -> AddressMatcher {
        let config = crate::config::Config::load(None).unwrap();
        AddressMatcher::new(
            config.reference.street_aliases().unwrap(),
            &config.node.city_names,
        )
        .with_town_aliases(config.reference.town_aliases().unwrap())
    }

    const REGISTER: &str = "address,lat,lon\n\
        \"ул. Кенесары, 40\",51.1687,71.4236\n\
        \"пр. Абая, 52\",51.1600,71.4300\n\
        \"мкр Самал-2, 58\",51.1500,71.4400\n\
        \"ул. Сарайшык, 5\",51.1300,71.4200\n";

    fn register() -> AddressRegister {
        AddressRegister::parse("addresses.csv", REGISTER.as_bytes(), demo_matcher()).unwrap()
    }

    fn check(query: &str, expect: Option<(&str, GeocodeMatch)>) {
        let got = register().geocode(query);
        let got = got
            .as_ref()
            .map(|g| (g.matched_address.as_str(), g.match_kind));
        assert_eq!(got, expect, "{query}");
    }

    #[test]
    fn geocode_finds_the_building_however_it_is_written() {
        use GeocodeMatch::*;
        check("ул. Кенесары, 40", Some(("ул. Кенесары, 40", Match)));
        check("Кенесары 40", Some(("ул. Кенесары, 40", Match)));
        check(
            "г. Астана, Кенесары көшесі, 40",
            Some(("ул. Кенесары, 40", Match)),
        );
        check("ул.Кенесары40", Some(("ул. Кенесары, 40", Match)));
        check("Абай даңғылы 52", Some(("пр. Абая, 52", Match)));
        check("Сарайшық 5", Some(("ул. Сарайшык, 5", Match)));
        check("Кенесары 40, кв. 12", Some(("ул. Кенесары, 40", Match)));
        // A typo is the same building, marked possible.
        check("Кенесыры 40", Some(("ул. Кенесары, 40", Possible)));
        // Another house number, another street, or nothing to read: no point.
        check("Кенесары 42", None);
        check("Сейфуллина 40", None);
        check("", None);
        check("возле рынка", None);
        let g = register().geocode("Кенесары 40").unwrap();
        assert_eq!((g.lat, g.lon), (51.1687, 71.4236));
    }

    #[test]
    fn bad_register_files_are_refused_with_file_and_line() {
        let bad = |csv: &str, expect: &str| {
            let e = AddressRegister::parse("addresses.csv", csv.as_bytes(), demo_matcher())
                .unwrap_err()
                .to_string();
            assert!(e.contains(expect), "{e}");
            assert!(e.starts_with("address register addresses.csv"), "{e}");
        };
        bad("addr,lat\n", "line 1: the header must be `address,lat,lon`");
        bad(
            "address,lat,lon\n\"Кенесары 40\",91,71\n",
            "line 2: lat `91` is not a number",
        );
        bad(
            "address,lat,lon\n\"Кенесары 40\",51.1,x\n",
            "line 2: lon `x`",
        );
        bad(
            "address,lat,lon\n\"Кенесары 40\",51.1,71.4\n,51.1,71.4\n",
            "line 3: the address is empty",
        );
        bad(
            "address,lat,lon\n\"Кенесары 40\",51.1\n",
            "line 2: 2 fields",
        );
        let e = AddressRegister::load(Path::new("/nonexistent/a.csv"), demo_matcher()).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/a.csv"), "{e}");
    }
}
