//! The ICE servers a citizen's app and an operator's console use to reach the node's media:
//! STUN, and TURN with short-lived credentials in the shared-secret "TURN REST" scheme that
//! coturn checks with `use-auth-secret`: the username is `<expiry unix seconds>:<user>`, the
//! password `base64(HMAC-SHA1(secret, username))`. Nothing here does I/O: the secret is read by
//! the shell at start, time is passed in.
//!
//! The node itself is reached at its media address, or at the address announced for it
//! (`calls.media_announced_ip`, 1:1 NAT); a caller behind carrier-grade NAT or on a network
//! that blocks UDP reaches it through TURN (`turn:` over UDP or TCP, `turns:` over TLS).

use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha1::Sha1;
use utoipa::ToSchema;

/// The shortest TURN secret accepted, bytes.
pub const TURN_SECRET_BYTES_MIN: usize = 16;
/// The longest TURN credential lifetime, seconds (a day).
pub const TURN_CREDENTIAL_TTL_S_MAX: u64 = 86_400;
/// The shortest TURN credential lifetime, seconds.
pub const TURN_CREDENTIAL_TTL_S_MIN: u64 = 60;
/// Most ICE server URLs in the config.
pub const ICE_URLS_MAX: usize = 16;

/// `[calls.turn]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TurnSection {
    /// `turn:host:3478?transport=udp`, `turn:host:3478?transport=tcp`, `turns:host:5349?transport=tcp`.
    pub urls: Vec<String>,
    /// A file holding coturn's `static-auth-secret` (one line).
    pub secret_file: std::path::PathBuf,
    /// How long a credential handed out at call set-up stays valid, seconds. It must cover the
    /// longest call: coturn checks it again when the allocation is refreshed.
    #[serde(default = "default_ttl_s")]
    pub credential_ttl_s: u64,
    /// Calls (legs) relayed through TURN at once; beyond it new legs get no TURN server and
    /// must connect directly.
    #[serde(default = "default_relayed_legs_max")]
    pub relayed_legs_max: u32,
}

fn default_ttl_s() -> u64 {
    43_200
}

fn default_relayed_legs_max() -> u32 {
    500
}

/// Which candidates a browser may use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IceTransportPolicy {
    /// Direct, reflexive and relayed.
    #[default]
    All,
    /// Only through TURN: the node never sees a caller's own address.
    Relay,
}

/// One entry of `RTCConfiguration.iceServers`, as browsers take it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IceServer {
    pub urls: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// What a browser needs for its `RTCPeerConnection`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IceConfig {
    pub ice_servers: Vec<IceServer>,
    pub ice_transport_policy: IceTransportPolicy,
    /// When the TURN credential expires (ms since the epoch); absent without TURN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
}

/// The checked ICE settings of a node.
#[derive(Clone)]
pub struct IcePlan {
    stun_urls: Vec<String>,
    turn: Option<TurnPlan>,
    policy: IceTransportPolicy,
}

#[derive(Clone)]
struct TurnPlan {
    urls: Vec<String>,
    secret: Vec<u8>,
    ttl_s: u64,
    relayed_legs_max: u32,
}

impl std::fmt::Debug for IcePlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IcePlan")
            .field("stun_urls", &self.stun_urls)
            .field("turn_urls", &self.turn.as_ref().map(|t| &t.urls))
            .field("policy", &self.policy)
            .finish()
    }
}

fn check_urls(key: &str, urls: &[String], schemes: &[&str]) -> Result<(), String> {
    if urls.len() > ICE_URLS_MAX {
        return Err(format!("{key}: at most {ICE_URLS_MAX} URLs"));
    }
    for u in urls {
        let scheme_ok = schemes.iter().any(|s| u.starts_with(&format!("{s}:")));
        let clean = u.len() <= 256 && u.bytes().all(|b| b.is_ascii_graphic());
        if !scheme_ok || !clean || u.split(':').nth(1).is_none_or(str::is_empty) {
            return Err(format!(
                "{key}: {u:?} is not a {} URL such as {}:turn.example.kz:3478",
                schemes.join("/"),
                schemes[0]
            ));
        }
    }
    Ok(())
}

impl IcePlan {
    /// Checks the settings; `secret` is the content of `turn.secret_file`, read by the caller
    /// (`None` when the file could not be read is the caller's error to report).
    pub fn new(
        stun_urls: &[String],
        turn: Option<(&TurnSection, &[u8])>,
        policy: IceTransportPolicy,
    ) -> Result<IcePlan, String> {
        check_urls("calls.stun_urls", stun_urls, &["stun"])?;
        let turn = match turn {
            None => None,
            Some((section, secret)) => {
                if section.urls.is_empty() {
                    return Err("calls.turn.urls: name at least one TURN server".into());
                }
                check_urls("calls.turn.urls", &section.urls, &["turn", "turns"])?;
                let secret = trim_ascii(secret);
                if secret.len() < TURN_SECRET_BYTES_MIN {
                    return Err(format!(
                        "calls.turn.secret_file {}: the secret must be at least {TURN_SECRET_BYTES_MIN} bytes (coturn's static-auth-secret)",
                        section.secret_file.display()
                    ));
                }
                if !(TURN_CREDENTIAL_TTL_S_MIN..=TURN_CREDENTIAL_TTL_S_MAX)
                    .contains(&section.credential_ttl_s)
                {
                    return Err(format!(
                        "calls.turn.credential_ttl_s must be {TURN_CREDENTIAL_TTL_S_MIN}..={TURN_CREDENTIAL_TTL_S_MAX} s, not {}",
                        section.credential_ttl_s
                    ));
                }
                Some(TurnPlan {
                    urls: section.urls.clone(),
                    secret: secret.to_vec(),
                    ttl_s: section.credential_ttl_s,
                    relayed_legs_max: section.relayed_legs_max,
                })
            }
        };
        if policy == IceTransportPolicy::Relay && turn.is_none() {
            return Err(
                "calls.ice_transport_policy = \"relay\" needs [calls.turn]: without a TURN server no call could connect"
                    .into(),
            );
        }
        Ok(IcePlan {
            stun_urls: stun_urls.to_vec(),
            turn,
            policy,
        })
    }

    /// Whether TURN is configured.
    pub fn has_turn(&self) -> bool {
        self.turn.is_some()
    }

    /// The most legs relayed at once, when TURN is configured.
    pub fn relayed_legs_max(&self) -> Option<u32> {
        self.turn.as_ref().map(|t| t.relayed_legs_max)
    }

    /// The ICE configuration for one leg of `user` (a call id or an operator's login) at
    /// `now_ms`. While `relayed_legs_live` is at the limit, TURN is left out (the leg must
    /// connect directly) unless the policy is relay-only, which then still gets it: a call is
    /// never refused for the limit, coturn's own quotas protect the relay.
    pub fn config_for(&self, user: &str, now_ms: i64, relayed_legs_live: u32) -> IceConfig {
        let mut ice_servers = Vec::new();
        if !self.stun_urls.is_empty() {
            ice_servers.push(IceServer {
                urls: self.stun_urls.clone(),
                username: None,
                credential: None,
            });
        }
        let mut expires_at = None;
        if let Some(turn) = &self.turn {
            let full = relayed_legs_live >= turn.relayed_legs_max;
            if !full || self.policy == IceTransportPolicy::Relay {
                let expiry_s = now_ms.div_euclid(1000) + turn.ttl_s as i64;
                let (username, credential) = turn_rest_credential(&turn.secret, expiry_s, user);
                ice_servers.push(IceServer {
                    urls: turn.urls.clone(),
                    username: Some(username),
                    credential: Some(credential),
                });
                expires_at = Some(expiry_s * 1000);
            }
        }
        IceConfig {
            ice_servers,
            ice_transport_policy: self.policy,
            expires_at,
        }
    }
}

fn trim_ascii(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    &bytes[start..end]
}

/// A TURN REST credential: `(username, password)` valid until `expiry_unix_s` for `user`.
/// Characters other than letters, digits, `-`, `_` and `.` in `user` become `_` (the username is
/// also coturn's log key).
pub fn turn_rest_credential(secret: &[u8], expiry_unix_s: i64, user: &str) -> (String, String) {
    let user: String = user
        .chars()
        .take(64)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let username = format!("{expiry_unix_s}:{user}");
    let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(secret).expect("HMAC takes keys of any size");
    mac.update(username.as_bytes());
    let password = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    (username, password)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(secret_file: &str) -> TurnSection {
        TurnSection {
            urls: vec!["turn:10.0.0.1:3478?transport=udp".into()],
            secret_file: secret_file.into(),
            credential_ttl_s: 3600,
            relayed_legs_max: 1,
        }
    }

    #[test]
    fn the_credential_is_the_turn_rest_scheme_coturn_checks() {
        // RFC 2202 test case 2 as a TURN REST check: HMAC-SHA1("Jefe", ...) is well known, so
        // compute it over a username with the same primitive and compare the encoding.
        let (user, pass) = turn_rest_credential(b"Jefe", 1_800_000_000, "call:ab/c");
        assert_eq!(user, "1800000000:call_ab_c");
        let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(b"Jefe").unwrap();
        mac.update(user.as_bytes());
        let expected =
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        assert_eq!(pass, expected);
        assert_eq!(pass.len(), 28, "20 bytes of SHA-1 in base64");
        // Known answer: HMAC-SHA1(key="Jefe", "what do ya want for nothing?") (RFC 2202).
        let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
    }

    #[test]
    fn credentials_expire_after_the_ttl_and_the_limit_leaves_turn_out() {
        let t = turn("/etc/turn.secret");
        let plan = IcePlan::new(
            &["stun:10.0.0.1:3478".into()],
            Some((&t, b"0123456789abcdef0123\n")),
            IceTransportPolicy::All,
        )
        .unwrap();
        let c = plan.config_for("op1", 1_000_000_500, 0);
        assert_eq!(c.ice_servers.len(), 2);
        assert_eq!(c.expires_at, Some((1_000_000 + 3600) * 1000));
        assert_eq!(
            c.ice_servers[1].username.as_deref(),
            Some("1003600:op1"),
            "the expiry is in the username"
        );
        let full = plan.config_for("op1", 1_000_000_500, 1);
        assert_eq!(
            full.ice_servers.len(),
            1,
            "at the relayed-leg limit: STUN only"
        );
        assert_eq!(full.expires_at, None);
    }

    #[test]
    fn bad_turn_settings_are_named() {
        let t = turn("/etc/turn.secret");
        let err = IcePlan::new(&[], Some((&t, b"short")), IceTransportPolicy::All).unwrap_err();
        assert!(
            err.contains("/etc/turn.secret") && err.contains("16 bytes"),
            "{err}"
        );
        let err = IcePlan::new(&[], None, IceTransportPolicy::Relay).unwrap_err();
        assert!(err.contains("calls.turn"), "{err}");
        let mut bad = turn("/s");
        bad.urls = vec!["http://x".into()];
        let err =
            IcePlan::new(&[], Some((&bad, &[b'x'; 20])), IceTransportPolicy::All).unwrap_err();
        assert!(err.contains("calls.turn.urls"), "{err}");
        let err = IcePlan::new(&["turn:x".into()], None, IceTransportPolicy::All).unwrap_err();
        assert!(err.contains("calls.stun_urls"), "{err}");
        let mut long = turn("/s");
        long.credential_ttl_s = 10 * 86_400;
        let err =
            IcePlan::new(&[], Some((&long, &[b'x'; 20])), IceTransportPolicy::All).unwrap_err();
        assert!(err.contains("credential_ttl_s"), "{err}");
    }
}
