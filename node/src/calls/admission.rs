//! Per-source limits on citizens' calls (sans-IO): how many signalling sockets, live calls and
//! call attempts per minute one network source may have. They are checked when the socket
//! opens and when a call arrives, **before** any media port is reserved, so a script on one
//! address can neither exhaust the ports nor push real callers out of the queue.
//!
//! A source is an IPv4 address, or an IPv6 /64 (one subscriber's prefix). Mobile operators put
//! many subscribers behind one carrier-grade NAT address: configured ranges get higher limits —
//! never none, so a compromised handset behind the NAT is still bounded.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv6Addr};

use ipnet::IpNet;

/// Sources tracked at once; idle ones are forgotten first beyond this.
pub const SOURCES_TRACKED_MAX: usize = 100_000;
/// The window of the per-minute limit, ms.
pub const CALL_RATE_WINDOW_MS: i64 = 60_000;

/// The limits of one kind of source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceLimits {
    /// Open citizen signalling sockets.
    pub sockets_max: u32,
    /// Calls ringing or answered at once.
    pub live_calls_max: u32,
    /// Calls started within any [`CALL_RATE_WINDOW_MS`].
    pub calls_per_min_max: u32,
}

impl SourceLimits {
    pub fn validate(&self, what: &str) -> Result<(), String> {
        if self.sockets_max == 0 || self.live_calls_max == 0 || self.calls_per_min_max == 0 {
            return Err(format!("{what}: every per-source limit must be positive"));
        }
        Ok(())
    }
}

/// Why a source was refused; the citizen's app is told the code and the limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("too many connections from your network ({max}); close other calls and try again")]
    Sockets { max: u32 },
    #[error("too many calls from your network at once ({max}); try again when one has ended")]
    LiveCalls { max: u32 },
    #[error("too many calls from your network within a minute ({max}); try again in a minute")]
    Rate { max: u32 },
}

impl Refusal {
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Sockets { .. } => "too_many_sockets_from_source",
            Refusal::LiveCalls { .. } => "too_many_calls_from_source",
            Refusal::Rate { .. } => "call_rate_limited",
        }
    }
}

#[derive(Debug, Default)]
struct SourceState {
    sockets: u32,
    live_calls: u32,
    /// Start times of recent calls, oldest first, at most `calls_per_min_max`.
    starts: VecDeque<i64>,
}

impl SourceState {
    fn is_idle(&self, now_ms: i64) -> bool {
        self.sockets == 0
            && self.live_calls == 0
            && self
                .starts
                .back()
                .is_none_or(|t| now_ms - t >= CALL_RATE_WINDOW_MS)
    }
}

/// The admission state of one node.
#[derive(Debug)]
pub struct Admission {
    normal: SourceLimits,
    carrier_nat: SourceLimits,
    carrier_nat_ranges: Vec<IpNet>,
    sources: HashMap<IpAddr, SourceState>,
}

/// The key a source is counted under: the address, or the /64 of an IPv6 address.
pub fn source_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

impl Admission {
    pub fn new(normal: SourceLimits, carrier_nat: SourceLimits, ranges: Vec<IpNet>) -> Self {
        Admission {
            normal,
            carrier_nat,
            carrier_nat_ranges: ranges,
            sources: HashMap::new(),
        }
    }

    /// The limits that apply to `ip`.
    pub fn limits_for(&self, ip: IpAddr) -> SourceLimits {
        let ip = source_key(ip);
        if self.carrier_nat_ranges.iter().any(|r| r.contains(&ip)) {
            self.carrier_nat
        } else {
            self.normal
        }
    }

    fn state(&mut self, ip: IpAddr, now_ms: i64) -> &mut SourceState {
        if self.sources.len() >= SOURCES_TRACKED_MAX && !self.sources.contains_key(&ip) {
            self.sources.retain(|_, s| !s.is_idle(now_ms));
        }
        self.sources.entry(ip).or_default()
    }

    /// A citizen's signalling socket opens.
    pub fn open_socket(&mut self, ip: IpAddr, now_ms: i64) -> Result<(), Refusal> {
        let limits = self.limits_for(ip);
        let s = self.state(source_key(ip), now_ms);
        if s.sockets >= limits.sockets_max {
            return Err(Refusal::Sockets {
                max: limits.sockets_max,
            });
        }
        s.sockets += 1;
        Ok(())
    }

    pub fn close_socket(&mut self, ip: IpAddr, now_ms: i64) {
        let key = source_key(ip);
        if let Some(s) = self.sources.get_mut(&key) {
            s.sockets = s.sockets.saturating_sub(1);
            if s.is_idle(now_ms) {
                self.sources.remove(&key);
            }
        }
    }

    /// A call arrives: counted against the live and per-minute limits, or refused.
    pub fn start_call(&mut self, ip: IpAddr, now_ms: i64) -> Result<(), Refusal> {
        let limits = self.limits_for(ip);
        let s = self.state(source_key(ip), now_ms);
        while s
            .starts
            .front()
            .is_some_and(|t| now_ms - t >= CALL_RATE_WINDOW_MS)
        {
            s.starts.pop_front();
        }
        if s.live_calls >= limits.live_calls_max {
            return Err(Refusal::LiveCalls {
                max: limits.live_calls_max,
            });
        }
        if s.starts.len() >= limits.calls_per_min_max as usize {
            return Err(Refusal::Rate {
                max: limits.calls_per_min_max,
            });
        }
        s.live_calls += 1;
        s.starts.push_back(now_ms);
        Ok(())
    }

    /// A call admitted by [`Admission::start_call`] ended (or never rang after all).
    pub fn end_call(&mut self, ip: IpAddr, now_ms: i64) {
        let key = source_key(ip);
        if let Some(s) = self.sources.get_mut(&key) {
            s.live_calls = s.live_calls.saturating_sub(1);
            if s.is_idle(now_ms) {
                self.sources.remove(&key);
            }
        }
    }

    /// Sources currently tracked (for tests and metrics).
    pub fn tracked(&self) -> usize {
        self.sources.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NORMAL: SourceLimits = SourceLimits {
        sockets_max: 3,
        live_calls_max: 2,
        calls_per_min_max: 4,
    };
    const CGNAT: SourceLimits = SourceLimits {
        sockets_max: 30,
        live_calls_max: 20,
        calls_per_min_max: 40,
    };

    fn admission() -> Admission {
        Admission::new(NORMAL, CGNAT, vec!["100.64.0.0/10".parse().unwrap()])
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn one_source_is_bounded_and_another_is_not_affected() {
        let mut a = admission();
        let script = ip("10.1.1.1");
        a.start_call(script, 0).unwrap();
        a.start_call(script, 1).unwrap();
        assert_eq!(a.start_call(script, 2), Err(Refusal::LiveCalls { max: 2 }));
        // Another citizen rings at once.
        a.start_call(ip("10.1.1.2"), 3).unwrap();
        // Short calls: the live limit frees, the per-minute one does not.
        a.end_call(script, 4);
        a.end_call(script, 5);
        a.start_call(script, 6).unwrap();
        a.end_call(script, 7);
        a.start_call(script, 8).unwrap();
        a.end_call(script, 9);
        assert_eq!(a.start_call(script, 10), Err(Refusal::Rate { max: 4 }));
        // A minute after the first two calls, two more are allowed, then none.
        a.start_call(script, CALL_RATE_WINDOW_MS).unwrap();
        a.end_call(script, CALL_RATE_WINDOW_MS);
        a.start_call(script, CALL_RATE_WINDOW_MS + 1).unwrap();
        a.end_call(script, CALL_RATE_WINDOW_MS + 1);
        assert_eq!(
            a.start_call(script, CALL_RATE_WINDOW_MS + 2)
                .unwrap_err()
                .code(),
            "call_rate_limited"
        );
    }

    #[test]
    fn sockets_are_bounded_per_source_and_released() {
        let mut a = admission();
        let s = ip("10.2.2.2");
        for t in 0..3 {
            a.open_socket(s, t).unwrap();
        }
        assert_eq!(a.open_socket(s, 3), Err(Refusal::Sockets { max: 3 }));
        a.close_socket(s, 4);
        a.open_socket(s, 5).unwrap();
        for t in 0..3 {
            a.close_socket(s, 10 + t);
        }
        assert_eq!(a.tracked(), 0, "an idle source is forgotten");
    }

    #[test]
    fn carrier_nat_ranges_get_higher_limits_not_none() {
        let mut a = admission();
        let nat = ip("100.64.7.9");
        assert_eq!(a.limits_for(nat), CGNAT);
        for t in 0..20 {
            a.start_call(nat, t).unwrap();
        }
        assert_eq!(a.start_call(nat, 20), Err(Refusal::LiveCalls { max: 20 }));
        assert_eq!(a.limits_for(ip("100.128.0.1")), NORMAL);
    }

    #[test]
    fn an_ipv6_subscriber_is_one_source_per_64() {
        let mut a = admission();
        a.start_call(ip("2a02:1:2:3::1"), 0).unwrap();
        a.start_call(ip("2a02:1:2:3::2"), 0).unwrap();
        assert!(a.start_call(ip("2a02:1:2:3:ffff::9"), 0).is_err());
        a.start_call(ip("2a02:1:2:4::1"), 0).unwrap();
        // An IPv4-mapped address is its IPv4 source.
        a.start_call(ip("10.9.9.9"), 0).unwrap();
        a.start_call(ip("::ffff:10.9.9.9"), 0).unwrap();
        assert!(a.start_call(ip("10.9.9.9"), 0).is_err());
    }
}
