//! Typed settings: raw command-line values are validated once, here, and everything after works
//! with these types (a `RegionId` is always 2–8 upper-case latin letters, and so on).

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use crate::error::{Error, Result};
use crate::limits::*;

/// A region's id: 2–8 upper-case latin letters (`AST`, `ALA`, `SHY`, `TRANS`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RegionId(String);

/// The code under which the central hub writes national documents (`sync::NATIONAL`; the hub's
/// tests check the two agree): no region may be provisioned under it.
pub const NATIONAL_REGION_ID: &str = "KZ";

impl RegionId {
    /// Validates a region id.
    pub fn parse(raw: &str) -> Result<Self> {
        let chars = raw.chars().count();
        if !(REGION_ID_CHARS_MIN..=REGION_ID_CHARS_MAX).contains(&chars) {
            return Err(Error::invalid(
                "region id",
                format!(
                    "{raw:?} has {chars} characters; a region id has \
                     {REGION_ID_CHARS_MIN}–{REGION_ID_CHARS_MAX} upper-case latin letters (e.g. AST)"
                ),
            ));
        }
        if !raw.chars().all(|c| c.is_ascii_uppercase()) {
            return Err(Error::invalid(
                "region id",
                format!("{raw:?} may contain only upper-case latin letters A–Z (e.g. AST)"),
            ));
        }
        if raw == NATIONAL_REGION_ID {
            return Err(Error::invalid(
                "region id",
                format!(
                    "{raw:?} names the national documents the central hub writes (the working-day \
                     calendar); choose the region's own code (e.g. AST)"
                ),
            ));
        }
        Ok(RegionId(raw.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RegionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for RegionId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        RegionId::parse(s)
    }
}

/// The TLS server name a node's certificate carries (`ast.region.mvd102`), so a peer that dials
/// a node by IP address can still check its certificate by name. The `.mvd102` suffix is not a
/// public DNS zone on purpose: it is a name in the certificate, never looked up.
pub fn region_server_name(region: &str) -> String {
    format!("{}.region.mvd102", region.to_ascii_lowercase())
}

/// Checks a free-text name: not blank, at most `chars_max` characters, no control characters.
fn check_text(field: &'static str, raw: &str, chars_max: usize) -> Result<String> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    let chars = trimmed.chars().count();
    if chars > chars_max {
        return Err(Error::invalid(
            field,
            format!("has {chars} characters, more than the {chars_max} allowed"),
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(Error::invalid(
            field,
            "must not contain control characters (line breaks, tabs)",
        ));
    }
    Ok(trimmed.to_owned())
}

/// A region's name in one language: not blank, at most `REGION_NAME_CHARS_MAX` characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionName(String);

impl RegionName {
    /// Validates a name; `field` names the argument in the error (`name-kk`, `name-ru`).
    pub fn parse(field: &'static str, raw: &str) -> Result<Self> {
        check_text(field, raw, REGION_NAME_CHARS_MAX).map(RegionName)
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The CA's display name (its certificate's common name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaName(String);

impl CaName {
    /// Validates a CA name.
    pub fn parse(raw: &str) -> Result<Self> {
        check_text("name", raw, SUBJECT_NAME_CHARS_MAX).map(CaName)
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The central's name: lower-case latin letters, digits and `-`, as it appears in
/// `urn:mvd102:central:NAME`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CentralName(String);

impl CentralName {
    /// Validates a central name.
    pub fn parse(raw: &str) -> Result<Self> {
        let chars = raw.chars().count();
        if chars == 0 || chars > SUBJECT_NAME_CHARS_MAX {
            return Err(Error::invalid(
                "name",
                format!("{raw:?}: a central name has 1–{SUBJECT_NAME_CHARS_MAX} characters"),
            ));
        }
        let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
        if !raw.chars().all(allowed) {
            return Err(Error::invalid(
                "name",
                format!("{raw:?} may contain only a–z, 0–9 and '-' (e.g. central)"),
            ));
        }
        Ok(CentralName(raw.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A DNS name for a certificate: labels of latin letters, digits and `-`, lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct DnsName(String);

impl DnsName {
    /// Validates a DNS name (RFC 1035 lengths, LDH labels) given with `--dns`.
    pub fn parse(raw: &str) -> Result<Self> {
        Self::parse_for("dns", raw)
    }

    /// [`DnsName::parse`] for a value of the option `field` (e.g. `web-dns`), which errors name.
    pub fn parse_for(field: &'static str, raw: &str) -> Result<Self> {
        let name = raw.trim_end_matches('.').to_ascii_lowercase();
        if name.is_empty() || name.len() > DNS_NAME_BYTES_MAX {
            return Err(Error::invalid(
                field,
                format!("{raw:?}: a DNS name has 1–{DNS_NAME_BYTES_MAX} bytes"),
            ));
        }
        for label in name.split('.') {
            let ldh = label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if label.is_empty()
                || label.len() > DNS_LABEL_BYTES_MAX
                || !ldh
                || label.starts_with('-')
                || label.ends_with('-')
            {
                return Err(Error::invalid(
                    field,
                    format!(
                        "{raw:?}: label {label:?} must have 1–{DNS_LABEL_BYTES_MAX} latin letters, \
                         digits or inner '-'"
                    ),
                ));
            }
        }
        Ok(DnsName(name))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where a node reaches the central: `host:port`, `ip:port` or `[ipv6]:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CentralAddress {
    host: String,
    port: u16,
}

impl CentralAddress {
    /// Validates an address.
    pub fn parse(raw: &str) -> Result<Self> {
        Self::parse_for("central", "central.mvd.kz:7102", raw)
    }

    /// [`CentralAddress::parse`] for the option `field`, whose errors show `example`.
    fn parse_for(field: &'static str, example: &str, raw: &str) -> Result<Self> {
        let bad = |why: &str| Error::invalid(field, format!("{raw:?}: {why}"));
        let (host, port) = raw
            .rsplit_once(':')
            .ok_or_else(|| bad(&format!("expected HOST:PORT, e.g. {example}")))?;
        let port: u16 = port
            .parse()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| bad("the port must be a number from 1 to 65535"))?;
        let host = if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            match inner.parse::<IpAddr>() {
                Ok(IpAddr::V6(ip)) => format!("[{ip}]"),
                _ => return Err(bad("the part in brackets must be an IPv6 address")),
            }
        } else if let Ok(ip) = host.parse::<IpAddr>() {
            match ip {
                IpAddr::V4(ip) => ip.to_string(),
                IpAddr::V6(_) => return Err(bad("write an IPv6 address in brackets: [::1]:7102")),
            }
        } else {
            DnsName::parse(host)
                .map_err(|_| bad("the host must be a DNS name or an IP address"))?
                .0
        };
        Ok(CentralAddress { host, port })
    }
}

impl fmt::Display for CentralAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// Where a unit's terminal reaches its region's node for field sync (the node's `[field] listen`
/// as the terminal sees it): `host:port`, `ip:port` or `[ipv6]:port`, checked as a
/// [`CentralAddress`] is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeAddress(CentralAddress);

impl NodeAddress {
    /// Validates an address given with `--node`.
    pub fn parse(raw: &str) -> Result<Self> {
        CentralAddress::parse_for("node", "10.20.0.5:7103", raw).map(NodeAddress)
    }
}

impl fmt::Display for NodeAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A field unit's id as the region's reference lists it (`p01`): 1–`UNIT_ID_CHARS_MAX`
/// characters of `a–z`, `0–9` and `-`. It becomes part of certificate names
/// (`urn:mvd102:unit:AST:p01`) and of document ids (`AST/field/p01~log`), so `/`, `~`, `:` and
/// anything else are refused.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnitId(String);

impl UnitId {
    /// Validates a unit id.
    pub fn parse(raw: &str) -> Result<Self> {
        let chars = raw.chars().count();
        if chars == 0 || chars > UNIT_ID_CHARS_MAX {
            return Err(Error::invalid(
                "unit",
                format!(
                    "{raw:?} has {chars} characters; a unit id has 1–{UNIT_ID_CHARS_MAX} \
                     characters a–z, 0–9 or '-' (e.g. p01)"
                ),
            ));
        }
        let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
        if !raw.chars().all(allowed) {
            return Err(Error::invalid(
                "unit",
                format!("{raw:?} may contain only a–z, 0–9 and '-' (e.g. p01)"),
            ));
        }
        Ok(UnitId(raw.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UnitId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The node console's HTTPS address a terminal uses for an officer's first, online login
/// (`--node-web https://console.ast.mvd.kz`): an `https` URL with a host, no user name or
/// password, at most `URL_CHARS_MAX` characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeWebUrl(String);

impl NodeWebUrl {
    /// Validates a URL given with `--node-web`.
    pub fn parse(raw: &str) -> Result<Self> {
        let bad = |why: &str| Error::invalid("node-web", format!("{raw:?}: {why}"));
        if raw.chars().count() > URL_CHARS_MAX {
            return Err(bad(&format!("longer than {URL_CHARS_MAX} characters")));
        }
        let url = url::Url::parse(raw).map_err(|e| bad(&format!("not a URL ({e})")))?;
        if url.scheme() != "https" {
            return Err(bad(
                "must start with https:// (the console is served over HTTPS)",
            ));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(bad("names no host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad("must not carry a user name or password"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(bad("must not carry a query (?) or fragment (#)"));
        }
        Ok(NodeWebUrl(url.to_string()))
    }

    /// The URL as text (normalised: `https://console.ast.mvd.kz/`).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How long a certificate is valid, in days, checked against its kind's limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidDays(u32);

impl ValidDays {
    /// Validity of the CA certificate: 1..=`CA_VALID_DAYS_MAX`.
    pub fn for_ca(days: u32) -> Result<Self> {
        Self::within(days, CA_VALID_DAYS_MAX)
    }

    /// Validity of a node or central certificate: 1..=`PEER_VALID_DAYS_MAX`.
    pub fn for_peer(days: u32) -> Result<Self> {
        Self::within(days, PEER_VALID_DAYS_MAX)
    }

    /// Validity of a unit (field terminal) certificate: 1..=`UNIT_VALID_DAYS_MAX`.
    pub fn for_unit(days: u32) -> Result<Self> {
        Self::within(days, UNIT_VALID_DAYS_MAX)
    }

    fn within(days: u32, days_max: u32) -> Result<Self> {
        if days == 0 || days > days_max {
            return Err(Error::invalid(
                "valid-days",
                format!("{days}: must be from 1 to {days_max} days"),
            ));
        }
        Ok(ValidDays(days))
    }

    /// The number of days.
    pub fn days(self) -> u32 {
        self.0
    }
}

/// Settings of `init-ca`.
#[derive(Debug, Clone)]
pub struct CaSettings {
    /// The CA's common name.
    pub name: CaName,
    /// Validity of the CA certificate.
    pub valid_days: ValidDays,
}

/// Settings of `add-region`.
#[derive(Debug, Clone)]
pub struct RegionSettings {
    /// The region's id, carried by its certificate.
    pub id: RegionId,
    /// The region's name in Kazakh.
    pub name_kk: RegionName,
    /// The region's name in Russian.
    pub name_ru: RegionName,
    /// Where the node reaches the central.
    pub central: CentralAddress,
    /// Validity of the node certificate.
    pub valid_days: ValidDays,
}

/// Settings of `add-unit`.
#[derive(Debug, Clone)]
pub struct UnitSettings {
    /// The unit's region; the CA must have issued it an unrevoked node certificate.
    pub region: RegionId,
    /// The unit's id, carried by its certificate.
    pub unit: UnitId,
    /// Where the terminal dials the region's node (QUIC, ALPN `mvd102-field`).
    pub node: NodeAddress,
    /// The name the terminal checks on the node's certificate; `add-unit` defaults it to the
    /// region's server name ([`region_server_name`], `ast.region.mvd102`), the DNS name every
    /// node certificate carries.
    pub node_name: DnsName,
    /// The node console's HTTPS address for the first, online login, if the terminal has one.
    pub node_web: Option<NodeWebUrl>,
    /// Validity of the unit certificate.
    pub valid_days: ValidDays,
}

impl UnitSettings {
    /// Settings with the node's default server name ([`region_server_name`]) and no web address.
    pub fn new(region: RegionId, unit: UnitId, node: NodeAddress, valid_days: ValidDays) -> Self {
        let node_name = DnsName(region_server_name(region.as_str()));
        UnitSettings {
            region,
            unit,
            node,
            node_name,
            node_web: None,
            valid_days,
        }
    }
}

/// Settings of `add-central`.
#[derive(Debug, Clone)]
pub struct CentralSettings {
    /// The central's name, carried by its certificate.
    pub name: CentralName,
    /// DNS names the nodes dial.
    pub dns: Vec<DnsName>,
    /// IP addresses the nodes dial.
    pub ip: Vec<IpAddr>,
    /// Validity of the central certificate (and of its web certificate).
    pub valid_days: ValidDays,
    /// Names on the web (HTTPS) certificate of HQ's dashboard; [`CentralSettings::new`] sets the
    /// central's own `dns` and `ip`, [`CentralSettings::with_web`] replaces them.
    pub web: WebNames,
}

/// Sorts and dedupes a list of DNS names and addresses, then checks that it holds at least one
/// and at most `CENTRAL_NAMES_MAX` names. `field` and `empty_hint` go into the errors.
fn check_names(
    field: &'static str,
    dns: &mut Vec<DnsName>,
    ip: &mut Vec<IpAddr>,
    empty_hint: &str,
) -> Result<()> {
    dns.sort();
    dns.dedup();
    ip.sort();
    ip.dedup();
    let names = dns.len() + ip.len();
    if names == 0 {
        return Err(Error::invalid(field, empty_hint.to_owned()));
    }
    if names > CENTRAL_NAMES_MAX {
        return Err(Error::invalid(
            field,
            format!("{names} names, more than the {CENTRAL_NAMES_MAX} allowed"),
        ));
    }
    Ok(())
}

impl CentralSettings {
    /// Checks the combination: at least one name, at most `CENTRAL_NAMES_MAX`, no duplicates.
    /// The web certificate gets the same names until [`CentralSettings::with_web`].
    pub fn new(
        name: CentralName,
        mut dns: Vec<DnsName>,
        mut ip: Vec<IpAddr>,
        valid_days: ValidDays,
    ) -> Result<Self> {
        check_names(
            "dns",
            &mut dns,
            &mut ip,
            "give at least one --dns or --ip that the nodes dial",
        )?;
        let web = WebNames {
            dns: dns.clone(),
            ip: ip.clone(),
        };
        Ok(CentralSettings {
            name,
            dns,
            ip,
            valid_days,
            web,
        })
    }

    /// The same settings with other names on the dashboard's web certificate (`--web-dns`,
    /// `--web-ip`).
    pub fn with_web(self, web: WebNames) -> Self {
        CentralSettings { web, ..self }
    }
}

/// The DNS names and IP addresses on a web (HTTPS) certificate: the names operators' browsers
/// use to open a node's console or HQ's dashboard. Always 1..=`CENTRAL_NAMES_MAX` names, sorted,
/// without duplicates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebNames {
    dns: Vec<DnsName>,
    ip: Vec<IpAddr>,
}

impl WebNames {
    /// Checks names given with `--web-dns` and `--web-ip`: at least one, at most
    /// `CENTRAL_NAMES_MAX`; duplicates are dropped.
    pub fn new(mut dns: Vec<DnsName>, mut ip: Vec<IpAddr>) -> Result<Self> {
        check_names(
            "web-dns",
            &mut dns,
            &mut ip,
            "give at least one --web-dns or --web-ip that operators' browsers open",
        )?;
        Ok(WebNames { dns, ip })
    }

    /// The web names of a region given no `--web-dns`/`--web-ip`: its server name only
    /// ([`region_server_name`](crate::region_server_name), `ast.region.mvd102`).
    pub fn for_region(id: &RegionId) -> Self {
        WebNames {
            dns: vec![DnsName(region_server_name(id.as_str()))],
            ip: Vec::new(),
        }
    }

    /// The DNS names.
    pub fn dns(&self) -> &[DnsName] {
        &self.dns
    }

    /// The IP addresses.
    pub fn ip(&self) -> &[IpAddr] {
        &self.ip
    }

    /// Every name as text, DNS names first (as `VerifiedBundle::web_names` lists them).
    pub fn names(&self) -> Vec<String> {
        self.dns
            .iter()
            .map(|d| d.as_str().to_owned())
            .chain(self.ip.iter().map(IpAddr::to_string))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(raw: &str, expect_ok: bool) {
        assert_eq!(RegionId::parse(raw).is_ok(), expect_ok, "{raw:?}");
    }

    #[test]
    fn region_ids() {
        for ok in ["AST", "AL", "TRANSPOR"] {
            check(ok, true);
        }
        for bad in [
            "",
            "A",
            "ast",
            "AS1",
            "ASTANACIT",
            "АСТ",
            "A T",
            "AST\n",
            "KZ",
        ] {
            check(bad, false);
        }
    }

    #[test]
    fn central_addresses() {
        let ok = |raw: &str, shown: &str| {
            assert_eq!(CentralAddress::parse(raw).unwrap().to_string(), shown)
        };
        ok("central.mvd.kz:7102", "central.mvd.kz:7102");
        ok("Central.MVD.kz:7102", "central.mvd.kz:7102");
        ok("10.0.0.1:443", "10.0.0.1:443");
        ok("[::1]:7102", "[::1]:7102");
        for bad in [
            "central",
            "central:0",
            "central:70000",
            ":7102",
            "::1:7102",
            "a b:1",
        ] {
            assert!(CentralAddress::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn names_are_bounded() {
        assert!(RegionName::parse("name-kk", "  ").is_err());
        assert!(RegionName::parse("name-kk", &"ж".repeat(REGION_NAME_CHARS_MAX)).is_ok());
        assert!(RegionName::parse("name-kk", &"ж".repeat(REGION_NAME_CHARS_MAX + 1)).is_err());
        assert!(RegionName::parse("name-ru", "ДП\nАстаны").is_err());
        assert!(CentralName::parse("central-1").is_ok());
        assert!(CentralName::parse("Central").is_err());
        assert!(DnsName::parse("-bad.kz").is_err());
        assert!(ValidDays::for_peer(0).is_err());
        assert!(ValidDays::for_peer(PEER_VALID_DAYS_MAX + 1).is_err());
        assert!(ValidDays::for_ca(CA_VALID_DAYS_MAX).is_ok());
    }

    #[test]
    fn unit_ids_and_node_addresses() {
        for ok in ["p01", "a", "dsog-7", &"x".repeat(UNIT_ID_CHARS_MAX)] {
            assert_eq!(UnitId::parse(ok).unwrap().as_str(), ok);
        }
        for bad in [
            "",
            "P01",
            "p/01",
            "p01~log",
            "p:1",
            "п01",
            "p 1",
            &"x".repeat(UNIT_ID_CHARS_MAX + 1),
        ] {
            let err = UnitId::parse(bad).unwrap_err().to_string();
            assert!(err.starts_with("invalid unit:"), "{bad:?}: {err}");
        }
        assert_eq!(
            NodeAddress::parse("10.20.0.5:7103").unwrap().to_string(),
            "10.20.0.5:7103"
        );
        let err = NodeAddress::parse("10.20.0.5").unwrap_err().to_string();
        assert!(err.starts_with("invalid node:"), "{err}");
        assert!(ValidDays::for_unit(UNIT_VALID_DAYS_MAX).is_ok());
        assert!(ValidDays::for_unit(UNIT_VALID_DAYS_MAX + 1).is_err());
    }

    #[test]
    fn node_web_urls() {
        let ok =
            |raw: &str, shown: &str| assert_eq!(NodeWebUrl::parse(raw).unwrap().as_str(), shown);
        ok("https://console.ast.mvd.kz", "https://console.ast.mvd.kz/");
        ok("https://10.20.0.5:8443/", "https://10.20.0.5:8443/");
        for bad in [
            "http://console.ast.mvd.kz",
            "console.ast.mvd.kz",
            "https://user:pw@console.ast.mvd.kz",
            "https://console.ast.mvd.kz/?a=1",
            "https://",
        ] {
            let err = NodeWebUrl::parse(bad).unwrap_err().to_string();
            assert!(err.starts_with("invalid node-web:"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn web_names_are_checked_and_deduped() {
        let dns = |raw: &str| DnsName::parse_for("web-dns", raw).unwrap();
        let ip = |raw: &str| raw.parse::<IpAddr>().unwrap();
        let web = WebNames::new(
            vec![dns("Console.AST.mvd.kz"), dns("console.ast.mvd.kz.")],
            vec![ip("10.0.0.5"), ip("10.0.0.5")],
        )
        .unwrap();
        assert_eq!(web.names(), ["console.ast.mvd.kz", "10.0.0.5"]);

        let err = WebNames::new(Vec::new(), Vec::new()).unwrap_err();
        assert!(err.to_string().contains("--web-dns or --web-ip"), "{err}");
        let many = (0..=CENTRAL_NAMES_MAX)
            .map(|i| dns(&format!("n{i}.mvd.kz")))
            .collect();
        let err = WebNames::new(many, Vec::new()).unwrap_err();
        assert!(err.to_string().starts_with("invalid web-dns:"), "{err}");
        let err = DnsName::parse_for("web-dns", "bad_name.kz").unwrap_err();
        assert!(err.to_string().starts_with("invalid web-dns:"), "{err}");

        let ast = WebNames::for_region(&RegionId::parse("AST").unwrap());
        assert_eq!(ast.names(), ["ast.region.mvd102"]);
        // The default is itself a valid DNS name.
        assert!(DnsName::parse("ast.region.mvd102").is_ok());

        let central = CentralSettings::new(
            CentralName::parse("central").unwrap(),
            vec![dns("central.mvd.kz")],
            vec![ip("10.1.2.3")],
            ValidDays::for_peer(30).unwrap(),
        )
        .unwrap();
        assert_eq!(central.web.names(), ["central.mvd.kz", "10.1.2.3"]);
        let central = central.with_web(WebNames::new(vec![dns("hq.mvd.kz")], Vec::new()).unwrap());
        assert_eq!(central.web.names(), ["hq.mvd.kz"]);
    }
}
