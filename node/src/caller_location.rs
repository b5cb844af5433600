//! The telephone operator's caller-location lookup (R35): where the phone of a caller is, from
//! the operator's data, when the call brought no location of its own.
//!
//! The interface (node/API.md, "Caller location adapter"): the node asks
//! `GET {url}?msisdn=%2B77011234567` and waits at most `[caller_location] timeout_ms`; the
//! gateway answers `200 {"lat", "lon", "accuracy_m", "kind": "network"|"registered", "at"}`
//! (`at`: ms since the epoch, when the operator fixed the position) or `404` when it has no
//! location for the number. Anything else — a timeout, another status, a malformed or oversized
//! answer, a point out of range, a network fix older than [`TELCO_NETWORK_FIX_AGE_MS_MAX`] — is
//! logged and the card goes on without it: the lookup never holds a card up, since it runs
//! after the card is stored.
//!
//! When it runs: for a card this node creates with the caller's phone and **no point**, on the
//! channels where that phone is the handset in the caller's hand now (the "102" and "Закон и
//! Порядок" apps, SOS). A handset's own fix (AML / the app's GNSS, metres) is far better than
//! the operator's (a cell: hundreds of metres to kilometres; a fixed line's registered
//! address), so a card that has one gets no second, coarser point that would only compete with
//! it on the map, and no lookup is spent on it (operators answer such queries for emergencies
//! and count them). A phone given in a messenger, a web chat or an e-mail is a contact number,
//! not where the person is: no lookup. The answer is written as the card's point with source
//! `telco_network` or `telco_registered` only if the card still has no point by then (the
//! operator may have typed one meanwhile).
//!
//! With no `[caller_location]` configured every card view says `not_configured`, so the console
//! shows that the operator's location data is not connected rather than implying it was asked.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sync::{Card, CardCommand, CardEdit, Channel, Location, LocationSource};
use utoipa::ToSchema;

use crate::config::CallerLocationSection;
use crate::service::CardService;

/// The largest answer read from the gateway, bytes (the JSON is ~120 bytes).
pub const CALLER_LOCATION_ANSWER_BYTES_MAX: usize = 4_096;
/// A network fix older than this is not the caller's position now, ms.
pub const TELCO_NETWORK_FIX_AGE_MS_MAX: i64 = 15 * 60 * 1000;
/// A fix dated further ahead than this is a clock error on the gateway's side, ms.
pub const TELCO_FIX_FUTURE_MS_MAX: i64 = 5 * 60 * 1000;
/// How many cards' lookup outcomes are remembered for their views (newest kept), cards.
pub const CALLER_LOOKUPS_REMEMBERED_MAX: usize = 10_000;
/// Who writes the operator's point into a card (the audit's actor).
pub const CALLER_LOCATION_ACTOR: &str = "system";

/// Where a card's lookup stands, as its view says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LookupState {
    /// No operator lookup is connected to this node.
    NotConfigured,
    /// Asked; no answer yet.
    Pending,
    /// The operator's point was written into the card.
    Found,
    /// The operator has no location for the number.
    NotFound,
    /// The lookup failed (timeout, error, malformed answer); see the node's log.
    Failed,
}

/// A position from the operator.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TelcoFix {
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: Option<f64>,
    pub source: LocationSource,
    pub at_ms: i64,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum LookupError {
    #[error("no answer within {0} ms")]
    Timeout(u64),
    #[error("the gateway answered HTTP {0}")]
    Status(u16),
    #[error("the gateway cannot be reached: {0}")]
    Transport(String),
    #[error("malformed answer: {0}")]
    Malformed(String),
}

#[derive(Deserialize)]
struct Answer {
    lat: f64,
    lon: f64,
    #[serde(default)]
    accuracy_m: Option<f64>,
    kind: String,
    at: i64,
}

/// Reads and checks a gateway's 200 answer. Pure: `now_ms` is the clock reading.
pub fn parse_answer(bytes: &[u8], now_ms: i64) -> Result<TelcoFix, LookupError> {
    let bad = |m: String| LookupError::Malformed(m);
    let a: Answer = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
    if !sync::geo::is_valid_point(a.lat, a.lon) {
        return Err(bad(format!("{},{} is not a point", a.lat, a.lon)));
    }
    if let Some(acc) = a.accuracy_m {
        if !(acc.is_finite() && (0.0..=sync::model::limits::ACCURACY_M_MAX).contains(&acc)) {
            return Err(bad(format!("accuracy {acc} m is out of range")));
        }
    }
    let source = match a.kind.as_str() {
        "network" => LocationSource::TelcoNetwork,
        "registered" => LocationSource::TelcoRegistered,
        other => {
            return Err(bad(format!(
                "kind `{}` is neither network nor registered",
                other.chars().take(32).collect::<String>()
            )))
        }
    };
    if a.at > now_ms.saturating_add(TELCO_FIX_FUTURE_MS_MAX) {
        return Err(bad(format!("the fix is dated {} ms ahead", a.at - now_ms)));
    }
    if source == LocationSource::TelcoNetwork
        && now_ms.saturating_sub(a.at) > TELCO_NETWORK_FIX_AGE_MS_MAX
    {
        return Err(bad(format!(
            "the network fix is {} s old",
            now_ms.saturating_sub(a.at) / 1000
        )));
    }
    Ok(TelcoFix {
        lat: a.lat,
        lon: a.lon,
        accuracy_m: a.accuracy_m,
        source,
        at_ms: a.at,
    })
}

/// The phone to look up for a new card, if the card wants a lookup (see the module docs).
pub fn lookup_phone(card: &Card) -> Option<&str> {
    let handset = matches!(
        card.channel,
        Channel::App102Call
            | Channel::App102Text
            | Channel::ZakonPoryadokCall
            | Channel::ZakonPoryadokText
            | Channel::SosVideo
    );
    let has_point = card.location.as_ref().and_then(Location::point).is_some();
    card.caller
        .phone
        .as_deref()
        .filter(|p| handset && !has_point && !p.is_empty())
}

/// The HTTP client of the operator's gateway.
struct Client {
    url: String,
    timeout_ms: u64,
    http: reqwest::Client,
}

impl Client {
    async fn lookup(&self, msisdn: &str, now_ms: i64) -> Result<Option<TelcoFix>, LookupError> {
        let ask = async {
            let mut resp = self
                .http
                .get(&self.url)
                .query(&[("msisdn", msisdn)])
                .send()
                .await
                .map_err(|e| LookupError::Transport(e.without_url().to_string()))?;
            match resp.status().as_u16() {
                200 => {}
                404 => return Ok(None),
                s => return Err(LookupError::Status(s)),
            }
            let mut body = Vec::new();
            while let Some(chunk) = resp
                .chunk()
                .await
                .map_err(|e| LookupError::Transport(e.without_url().to_string()))?
            {
                body.extend_from_slice(&chunk);
                if body.len() > CALLER_LOCATION_ANSWER_BYTES_MAX {
                    return Err(LookupError::Malformed(format!(
                        "the answer is over {CALLER_LOCATION_ANSWER_BYTES_MAX} bytes"
                    )));
                }
            }
            parse_answer(&body, now_ms).map(Some)
        };
        tokio::time::timeout(Duration::from_millis(self.timeout_ms), ask)
            .await
            .map_err(|_| LookupError::Timeout(self.timeout_ms))?
    }
}

/// The lookup as the node runs it: the client (if configured) and each card's outcome.
pub struct CallerLocation {
    client: Option<Client>,
    states: Mutex<lru::LruCache<String, LookupState>>,
}

impl CallerLocation {
    /// `None`: no operator lookup is connected.
    pub fn new(section: Option<&CallerLocationSection>) -> anyhow::Result<CallerLocation> {
        let client = match section {
            None => None,
            Some(s) => Some(Client {
                url: s.url.clone(),
                timeout_ms: s.timeout_ms,
                http: reqwest::Client::builder()
                    .timeout(Duration::from_millis(s.timeout_ms))
                    .build()
                    .map_err(|e| anyhow::anyhow!("caller_location: the HTTP client: {e}"))?,
            }),
        };
        Ok(CallerLocation {
            client,
            states: Mutex::new(lru::LruCache::new(
                NonZeroUsize::new(CALLER_LOOKUPS_REMEMBERED_MAX).unwrap_or(NonZeroUsize::MIN),
            )),
        })
    }

    pub fn is_configured(&self) -> bool {
        self.client.is_some()
    }

    /// What a card's view says about the lookup: `not_configured` for every card when none is
    /// connected; else this card's outcome if the node still remembers one.
    pub fn state(&self, card_id: &str) -> Option<LookupState> {
        if self.client.is_none() {
            return Some(LookupState::NotConfigured);
        }
        self.lock().get(card_id).copied()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, lru::LruCache<String, LookupState>> {
        self.states.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set(&self, card_id: &str, state: LookupState) {
        self.lock().put(card_id.to_string(), state);
    }

    /// Looks up a new card's caller in the background when the card wants it; returns at once.
    pub fn after_create(self: &Arc<Self>, service: Weak<CardService>, card: &Card) {
        if self.client.is_none() {
            return;
        }
        let Some(phone) = lookup_phone(card) else {
            return;
        };
        self.set(&card.id, LookupState::Pending);
        let (me, id, phone) = (self.clone(), card.id.clone(), phone.to_string());
        tokio::spawn(async move {
            let state = me.run(&service, &id, &phone).await;
            me.set(&id, state);
        });
    }

    async fn run(&self, service: &Weak<CardService>, card_id: &str, phone: &str) -> LookupState {
        let Some(client) = &self.client else {
            return LookupState::NotConfigured;
        };
        let fix = match client.lookup(phone, server_kit::clock::now_ms()).await {
            Ok(Some(fix)) => fix,
            Ok(None) => {
                tracing::info!(card = %card_id, "caller location: the operator has no location for the number");
                return LookupState::NotFound;
            }
            Err(e) => {
                tracing::warn!(card = %card_id, error = %e, "caller location lookup failed; the card goes on without it");
                return LookupState::Failed;
            }
        };
        let Some(service) = service.upgrade() else {
            return LookupState::Failed;
        };
        match write_fix(&service, card_id, fix).await {
            Ok(true) => LookupState::Found,
            Ok(false) => LookupState::NotFound,
            Err(e) => {
                tracing::warn!(card = %card_id, error = %e, "caller location: the card could not take the operator's point");
                LookupState::Failed
            }
        }
    }
}

/// Writes the operator's point into the card unless it has a point by now. `Ok(false)`: it had.
async fn write_fix(
    service: &CardService,
    card_id: &str,
    fix: TelcoFix,
) -> Result<bool, crate::service::ServiceError> {
    let card = service.get_card(card_id)?;
    if card.location.as_ref().and_then(Location::point).is_some() {
        return Ok(false);
    }
    let location = Location {
        lat: Some(fix.lat),
        lon: Some(fix.lon),
        accuracy_m: fix.accuracy_m,
        address: card.location.and_then(|l| l.address),
        source: Some(fix.source),
    };
    let edit = CardEdit {
        location: Some(location),
        ..CardEdit::default()
    };
    service
        .apply(
            CALLER_LOCATION_ACTOR,
            card_id,
            CardCommand::Edit(edit),
            server_kit::clock::now_ms(),
        )
        .await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000_000;

    #[test]
    fn r35_answers_are_checked() {
        let ok = parse_answer(
            br#"{"lat":51.13,"lon":71.43,"accuracy_m":350,"kind":"network","at":1799999990000,"extra":1}"#,
            NOW,
        )
        .unwrap();
        assert_eq!(ok.source, LocationSource::TelcoNetwork);
        assert_eq!((ok.lat, ok.lon, ok.accuracy_m), (51.13, 71.43, Some(350.0)));
        let reg = parse_answer(
            br#"{"lat":51.13,"lon":71.43,"kind":"registered","at":1000}"#,
            NOW,
        )
        .unwrap();
        assert_eq!(
            reg.source,
            LocationSource::TelcoRegistered,
            "a registered address does not age"
        );
        for (body, expect) in [
            (&b"not json"[..], "malformed answer"),
            (
                br#"{"lat":91,"lon":71.43,"kind":"network","at":1800000000000}"#,
                "is not a point",
            ),
            (
                br#"{"lat":51,"lon":71.43,"kind":"satellite","at":1800000000000}"#,
                "kind `satellite`",
            ),
            (
                br#"{"lat":51,"lon":71.43,"kind":"network","at":1000}"#,
                "network fix is",
            ),
            (
                br#"{"lat":51,"lon":71.43,"kind":"network","at":1900000000000}"#,
                "ms ahead",
            ),
            (
                br#"{"lat":51,"lon":71.43,"accuracy_m":-5,"kind":"network","at":1800000000000}"#,
                "accuracy",
            ),
            (
                br#"{"lon":71.43,"kind":"network","at":1800000000000}"#,
                "missing field `lat`",
            ),
        ] {
            let e = parse_answer(body, NOW).unwrap_err().to_string();
            assert!(e.contains(expect), "{e}");
        }
    }
}
