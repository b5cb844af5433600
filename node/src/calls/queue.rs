//! The operators' call queue as a deterministic state machine (sans-IO): no sockets, media or
//! clocks. The shell ([`super::CallService`]) feeds it what happened with the time it happened,
//! and applies what it decides (media legs, cards, the citizen's WebSocket).
//!
//! Rules it keeps:
//! - a call rings for every free operator of the region; the first to accept takes it, a second
//!   accept is refused naming who has it;
//! - an operator holds one call at a time;
//! - "Тревожная кнопка SOS" calls ring before all others (R10), then the longest waiting first;
//! - a transferred call rings only for the chosen operator until they accept or hand it back;
//! - a call that ends before anyone answered is *abandoned* and keeps the callback data;
//! - an impossible location never stops a call: it is dropped with a warning the caller's app
//!   shows, and the operator asks for the address.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sync::{Caller, Channel, Language};
use utoipa::ToSchema;

/// Named limits of the call queue.
pub mod limits {
    /// Ringing calls at once; a flood beyond this is refused with "busy, call again". Only
    /// ringing calls count: ended ones never take a live caller's place.
    pub const CALLS_RINGING_MAX: usize = 2_000;
    /// Ended calls kept in memory for the operators' list, newest first; older ones are in the
    /// store (call history) and unanswered ones in the missed-calls list.
    pub const ENDED_CALLS_KEPT_MAX: usize = 50;
    /// How long an ended call stays in the operators' list, ms.
    pub const ENDED_VISIBLE_MS: i64 = 60 * 60 * 1000;
    /// Location updates kept per call (older ones are dropped, the latest is always kept).
    pub const LOCATION_UPDATES_MAX: u32 = 10_000;
    /// A reported position may be at most this far in the future (handset clock skew), ms.
    pub const LOCATION_FUTURE_SKEW_MS: i64 = 5 * 60 * 1000;
    /// A reported position older than this is refused as stale, ms.
    pub const LOCATION_AGE_MAX_MS: i64 = 24 * 60 * 60 * 1000;
    /// Largest believable accuracy radius, metres.
    pub const LOCATION_ACCURACY_MAX_M: f64 = 100_000.0;
    /// App version, characters (longer is cut).
    pub const APP_VERSION_CHARS_MAX: usize = 64;
    /// Call ids, characters.
    pub const CALL_ID_CHARS_MAX: usize = 64;
}

/// The caller's position as an AML handset reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallerLocation {
    pub lat: f64,
    pub lon: f64,
    /// Radius of the 68 % confidence circle, metres.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy_m: Option<f64>,
    /// When the handset took the fix, ms since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_ms: Option<i64>,
    /// Positioning method as AML names it: `gps`, `wifi`, `cell`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
}

/// Why a reported location was not used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LocationProblem {
    #[error("latitude {0} is outside -90..90")]
    Latitude(f64),
    #[error("longitude {0} is outside -180..180")]
    Longitude(f64),
    #[error("accuracy {0} m is not between 0 and {max} m", max = limits::LOCATION_ACCURACY_MAX_M)]
    Accuracy(f64),
    #[error("the position was taken in the future ({0} ms ahead of the node's clock)")]
    Future(i64),
    #[error("the position is stale ({0} ms old)")]
    Stale(i64),
    #[error("the positioning method is too long")]
    Method,
}

impl LocationProblem {
    pub fn code(&self) -> &'static str {
        "location_invalid"
    }
}

/// Checks a reported position; a call never fails because of it.
pub fn validate_location(loc: &CallerLocation, now_ms: i64) -> Result<(), LocationProblem> {
    if !loc.lat.is_finite() || !(-90.0..=90.0).contains(&loc.lat) {
        return Err(LocationProblem::Latitude(loc.lat));
    }
    if !loc.lon.is_finite() || !(-180.0..=180.0).contains(&loc.lon) {
        return Err(LocationProblem::Longitude(loc.lon));
    }
    if let Some(a) = loc.accuracy_m {
        if !a.is_finite() || !(0.0..=limits::LOCATION_ACCURACY_MAX_M).contains(&a) {
            return Err(LocationProblem::Accuracy(a));
        }
    }
    if let Some(t) = loc.time_ms {
        if t > now_ms + limits::LOCATION_FUTURE_SKEW_MS {
            return Err(LocationProblem::Future(t - now_ms));
        }
        if now_ms - t > limits::LOCATION_AGE_MAX_MS {
            return Err(LocationProblem::Stale(now_ms - t));
        }
    }
    if loc.method.as_ref().is_some_and(|m| m.chars().count() > 32) {
        return Err(LocationProblem::Method);
    }
    Ok(())
}

/// What a citizen's app sends when it calls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallOffer {
    /// `app102_call`, `zakon_poryadok_call` or `sos_video`.
    pub channel: Channel,
    #[serde(default)]
    pub caller: Caller,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_version: Option<String>,
    /// The call carries the caller's camera.
    #[serde(default)]
    pub video: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<CallerLocation>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CallPhase {
    /// Waiting for an operator.
    Ringing,
    /// An operator talks with the caller.
    Answered,
    /// Finished after an answer.
    Ended,
    /// Finished before anyone answered: a callback is due.
    Abandoned,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    CitizenHungUp,
    OperatorHungUp,
    /// The citizen's media or signalling connection was lost.
    ConnectionLost,
    /// The node stopped.
    NodeStopped,
}

/// A call as operators see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Call {
    pub id: String,
    pub channel: Channel,
    pub video: bool,
    pub caller: Caller,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_version: Option<String>,
    /// Latest valid position.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<CallerLocation>,
    /// Valid position updates received during the call.
    pub location_updates: u32,
    pub rang_at: i64,
    pub phase: CallPhase,
    /// Operator who has (or had) the call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    /// A transferred call rings only for this operator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offered_to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_reason: Option<EndReason>,
    /// The "102" card of this call (opened at once for SOS, on answer otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_number: Option<String>,
    /// Recording stopped early (for example a full disk); the call goes on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recording_problem: Option<String>,
}

impl Call {
    pub fn is_live(&self) -> bool {
        matches!(self.phase, CallPhase::Ringing | CallPhase::Answered)
    }
    /// Ms the caller has waited (until answered, or until now).
    pub fn wait_ms(&self, now_ms: i64) -> i64 {
        let until = self.answered_at.or(self.ended_at).unwrap_or(now_ms);
        (until - self.rang_at).max(0)
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallError {
    #[error("channel {0} is not a call channel; calls come from app102_call, zakon_poryadok_call or sos_video")]
    NotACallChannel(&'static str),
    #[error(
        "call id must be 1..={} characters of A-Z, a-z, 0-9, - or _",
        limits::CALL_ID_CHARS_MAX
    )]
    InvalidCallId,
    #[error("a call with id {0} already exists")]
    Exists(String),
    #[error("call {0} does not exist or has been archived")]
    NotFound(String),
    #[error("call {id} has already been answered by {by}")]
    AlreadyTaken { id: String, by: String },
    #[error("call {0} has ended")]
    Ended(String),
    #[error("finish your current call {0} first")]
    OperatorBusy(String),
    #[error("call {id} is being transferred to {to}")]
    OfferedToOther { id: String, to: String },
    #[error("call {0} is not yours")]
    NotYours(String),
    #[error("you cannot transfer a call to yourself")]
    TransferToSelf,
    #[error("too many calls are ringing ({max}); the caller should try again", max = limits::CALLS_RINGING_MAX)]
    QueueFull,
}

impl CallError {
    pub fn code(&self) -> &'static str {
        match self {
            CallError::NotACallChannel(_) => "not_a_call_channel",
            CallError::InvalidCallId => "invalid_call_id",
            CallError::Exists(_) => "call_exists",
            CallError::NotFound(_) => "not_found",
            CallError::AlreadyTaken { .. } => "call_taken",
            CallError::Ended(_) => "call_ended",
            CallError::OperatorBusy(_) => "operator_busy",
            CallError::OfferedToOther { .. } => "call_offered_to_other",
            CallError::NotYours(_) => "not_your_call",
            CallError::TransferToSelf => "transfer_to_self",
            CallError::QueueFull => "queue_full",
        }
    }
}

pub fn validate_call_id(id: &str) -> Result<(), CallError> {
    let ok = !id.is_empty()
        && id.len() <= limits::CALL_ID_CHARS_MAX
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(CallError::InvalidCallId)
    }
}

/// Channels a call can come from.
pub fn is_call_channel(c: Channel) -> bool {
    matches!(
        c,
        Channel::App102Call | Channel::ZakonPoryadokCall | Channel::SosVideo
    )
}

/// What ringing decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Rang {
    pub call: Call,
    /// The offered location was dropped for this reason (the call goes on without it).
    pub location_problem: Option<LocationProblem>,
}

/// The queue of one node.
#[derive(Debug, Default)]
pub struct CallQueue {
    calls: BTreeMap<String, Call>,
}

impl CallQueue {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn get(&self, id: &str) -> Option<&Call> {
        self.calls.get(id)
    }

    /// A new call rings.
    pub fn ring(&mut self, id: &str, offer: CallOffer, now_ms: i64) -> Result<Rang, CallError> {
        validate_call_id(id)?;
        if !is_call_channel(offer.channel) {
            return Err(CallError::NotACallChannel(offer.channel.as_str()));
        }
        if self.calls.contains_key(id) {
            return Err(CallError::Exists(id.to_string()));
        }
        self.prune(now_ms);
        let ringing = self
            .calls
            .values()
            .filter(|c| c.phase == CallPhase::Ringing)
            .count();
        if ringing >= limits::CALLS_RINGING_MAX {
            return Err(CallError::QueueFull);
        }
        // Whatever the app sent about the caller is made usable, never a reason to refuse: a
        // call that rings must get its card.
        let caller = sync::normalize_caller(&offer.caller);
        let app_version = offer
            .app_version
            .as_deref()
            .and_then(|v| sync::clean_text(v, limits::APP_VERSION_CHARS_MAX));
        let (location, location_problem) = match offer.location {
            None => (None, None),
            Some(l) => match validate_location(&l, now_ms) {
                Ok(()) => (Some(l), None),
                Err(p) => (None, Some(p)),
            },
        };
        let call = Call {
            id: id.to_string(),
            channel: offer.channel,
            // The panic button always opens the camera (R10); the app decides for other calls.
            video: offer.video,
            caller,
            app_version,
            location,
            location_updates: 0,
            rang_at: now_ms,
            phase: CallPhase::Ringing,
            operator: None,
            offered_to: None,
            answered_at: None,
            ended_at: None,
            end_reason: None,
            card_id: None,
            card_number: None,
            recording_problem: None,
        };
        self.calls.insert(id.to_string(), call.clone());
        Ok(Rang {
            call,
            location_problem,
        })
    }

    /// The live call an operator holds, if any.
    pub fn held_by(&self, operator: &str) -> Option<&Call> {
        self.calls
            .values()
            .find(|c| c.phase == CallPhase::Answered && c.operator.as_deref() == Some(operator))
    }

    /// Checks that `operator` may accept call `id` now, without changing anything.
    pub fn check_accept(&self, id: &str, operator: &str) -> Result<&Call, CallError> {
        let call = self
            .calls
            .get(id)
            .ok_or_else(|| CallError::NotFound(id.to_string()))?;
        match call.phase {
            CallPhase::Ringing => {}
            CallPhase::Answered => {
                return Err(CallError::AlreadyTaken {
                    id: id.to_string(),
                    by: call.operator.clone().unwrap_or_default(),
                })
            }
            CallPhase::Ended | CallPhase::Abandoned => {
                return Err(CallError::Ended(id.to_string()))
            }
        }
        if let Some(to) = &call.offered_to {
            if to != operator {
                return Err(CallError::OfferedToOther {
                    id: id.to_string(),
                    to: to.clone(),
                });
            }
        }
        if let Some(other) = self.held_by(operator) {
            return Err(CallError::OperatorBusy(other.id.clone()));
        }
        Ok(call)
    }

    /// The first operator to accept takes the call.
    pub fn accept(&mut self, id: &str, operator: &str, now_ms: i64) -> Result<&Call, CallError> {
        self.check_accept(id, operator)?;
        let call = self.calls.get_mut(id).expect("checked above");
        call.phase = CallPhase::Answered;
        call.operator = Some(operator.to_string());
        call.offered_to = None;
        call.answered_at.get_or_insert(now_ms);
        Ok(call)
    }

    /// Hands an answered call to another operator: it rings for them alone.
    pub fn transfer(&mut self, id: &str, from: &str, to: &str) -> Result<&Call, CallError> {
        if from == to {
            return Err(CallError::TransferToSelf);
        }
        let call = self.owned_live(id, from)?;
        call.phase = CallPhase::Ringing;
        call.operator = None;
        call.offered_to = Some(to.to_string());
        Ok(call)
    }

    /// The chosen operator of a transfer declines it: it rings for everyone again.
    pub fn decline_transfer(&mut self, id: &str, operator: &str) -> Result<&Call, CallError> {
        let call = self
            .calls
            .get_mut(id)
            .ok_or_else(|| CallError::NotFound(id.to_string()))?;
        if call.phase != CallPhase::Ringing || call.offered_to.as_deref() != Some(operator) {
            return Err(CallError::NotYours(id.to_string()));
        }
        call.offered_to = None;
        Ok(call)
    }

    fn owned_live(&mut self, id: &str, operator: &str) -> Result<&mut Call, CallError> {
        let call = self
            .calls
            .get_mut(id)
            .ok_or_else(|| CallError::NotFound(id.to_string()))?;
        if !call.is_live() {
            return Err(CallError::Ended(id.to_string()));
        }
        if call.phase != CallPhase::Answered || call.operator.as_deref() != Some(operator) {
            return Err(CallError::NotYours(id.to_string()));
        }
        Ok(call)
    }

    /// Checks that `operator` holds call `id`.
    pub fn check_owner(&mut self, id: &str, operator: &str) -> Result<&Call, CallError> {
        self.owned_live(id, operator).map(|c| &*c)
    }

    /// The call ends. Before an answer it is abandoned. Ending twice is a no-op (`None`).
    pub fn end(&mut self, id: &str, reason: EndReason, now_ms: i64) -> Option<&Call> {
        let call = self.calls.get_mut(id)?;
        if !call.is_live() {
            return None;
        }
        call.phase = if call.answered_at.is_some() {
            CallPhase::Ended
        } else {
            CallPhase::Abandoned
        };
        call.ended_at = Some(now_ms);
        call.end_reason = Some(reason);
        call.offered_to = None;
        self.bound_ended(Some(id));
        self.calls.get(id)
    }

    /// A position update during the call; the latest valid one wins.
    pub fn update_location(
        &mut self,
        id: &str,
        loc: CallerLocation,
        now_ms: i64,
    ) -> Result<Result<&Call, LocationProblem>, CallError> {
        let call = self
            .calls
            .get_mut(id)
            .ok_or_else(|| CallError::NotFound(id.to_string()))?;
        if !call.is_live() {
            return Err(CallError::Ended(id.to_string()));
        }
        if let Err(p) = validate_location(&loc, now_ms) {
            return Ok(Err(p));
        }
        // An older fix arriving late never replaces a newer one.
        let newer = match (loc.time_ms, call.location.as_ref().and_then(|l| l.time_ms)) {
            (Some(new), Some(old)) => new >= old,
            _ => true,
        };
        if newer {
            call.location = Some(loc);
        }
        call.location_updates = call
            .location_updates
            .saturating_add(1)
            .min(limits::LOCATION_UPDATES_MAX);
        Ok(Ok(call))
    }

    /// Links the call to its card.
    pub fn set_card(&mut self, id: &str, card_id: &str, number: &str) {
        if let Some(c) = self.calls.get_mut(id) {
            c.card_id = Some(card_id.to_string());
            c.card_number = Some(number.to_string());
        }
    }

    /// Puts back a call as it was (an accept whose media failed).
    pub fn restore(&mut self, call: Call) {
        self.calls.insert(call.id.clone(), call);
    }

    pub fn set_recording_problem(&mut self, id: &str, reason: &str) {
        if let Some(c) = self.calls.get_mut(id) {
            c.recording_problem = Some(reason.to_string());
        }
    }

    /// Live calls first (SOS before others, then longest waiting), then ended ones newest first.
    pub fn list(&self) -> Vec<&Call> {
        let mut v: Vec<&Call> = self.calls.values().collect();
        v.sort_by(|a, b| queue_order(a, b));
        v
    }

    /// Live calls, for a clean stop.
    pub fn live_ids(&self) -> Vec<String> {
        self.calls
            .values()
            .filter(|c| c.is_live())
            .map(|c| c.id.clone())
            .collect()
    }

    /// Forgets calls that ended long enough ago, and all but the newest
    /// [`limits::ENDED_CALLS_KEPT_MAX`] ended ones (they stay in the store).
    pub fn prune(&mut self, now_ms: i64) {
        self.calls.retain(|_, c| {
            c.is_live() || c.ended_at.unwrap_or(now_ms) + limits::ENDED_VISIBLE_MS > now_ms
        });
        self.bound_ended(None);
    }

    /// Keeps at most [`limits::ENDED_CALLS_KEPT_MAX`] ended calls, the newest, and never
    /// `keep` (the call that just ended, whose record the shell is about to write).
    fn bound_ended(&mut self, keep: Option<&str>) {
        let ended = self.calls.values().filter(|c| !c.is_live()).count();
        if ended > limits::ENDED_CALLS_KEPT_MAX {
            let mut by_end: Vec<(i64, String)> = self
                .calls
                .values()
                .filter(|c| !c.is_live() && Some(c.id.as_str()) != keep)
                .map(|c| (c.ended_at.unwrap_or(0), c.id.clone()))
                .collect();
            by_end.sort();
            for (_, id) in by_end
                .into_iter()
                .take(ended - limits::ENDED_CALLS_KEPT_MAX)
            {
                self.calls.remove(&id);
            }
        }
    }
}

/// Priority order of the queue (R10: SOS rings first).
pub fn queue_order(a: &Call, b: &Call) -> std::cmp::Ordering {
    let rank = |c: &Call| match c.phase {
        CallPhase::Ringing => 0,
        CallPhase::Answered => 1,
        CallPhase::Abandoned | CallPhase::Ended => 2,
    };
    let sos = |c: &Call| u8::from(c.channel != Channel::SosVideo);
    rank(a)
        .cmp(&rank(b))
        .then_with(|| {
            if rank(a) == 2 {
                b.ended_at.cmp(&a.ended_at)
            } else {
                sos(a).cmp(&sos(b)).then(a.rang_at.cmp(&b.rang_at))
            }
        })
        .then_with(|| a.id.cmp(&b.id))
}

/// Language the citizen's app asked for, if any.
pub fn caller_language(call: &Call) -> Option<Language> {
    call.caller.language
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(channel: Channel) -> CallOffer {
        CallOffer {
            channel,
            caller: Caller {
                phone: Some("+77011234567".into()),
                ..Caller::default()
            },
            app_version: Some("3.2.1".into()),
            video: channel == Channel::SosVideo,
            location: Some(CallerLocation {
                lat: 51.128,
                lon: 71.43,
                accuracy_m: Some(15.0),
                time_ms: Some(1_000),
                method: Some("gps".into()),
            }),
        }
    }

    #[test]
    fn first_operator_to_accept_takes_the_call() {
        let mut q = CallQueue::new();
        q.ring("c1", offer(Channel::App102Call), 1_000).unwrap();
        q.accept("c1", "op1", 2_000).unwrap();
        let e = q.accept("c1", "op2", 2_001).unwrap_err();
        assert_eq!(
            e,
            CallError::AlreadyTaken {
                id: "c1".into(),
                by: "op1".into()
            }
        );
        assert_eq!(q.get("c1").unwrap().wait_ms(9_999), 1_000);
    }

    #[test]
    fn r10_sos_calls_ring_before_older_calls() {
        let mut q = CallQueue::new();
        q.ring("a", offer(Channel::App102Call), 1_000).unwrap();
        q.ring("z", offer(Channel::ZakonPoryadokCall), 1_500)
            .unwrap();
        q.ring("s", offer(Channel::SosVideo), 2_000).unwrap();
        let order: Vec<&str> = q.list().iter().map(|c| c.id.as_str()).collect();
        assert_eq!(order, ["s", "a", "z"]);
    }

    #[test]
    fn an_operator_holds_one_call_and_transfer_rings_for_the_chosen_one() {
        let mut q = CallQueue::new();
        q.ring("c1", offer(Channel::App102Call), 1_000).unwrap();
        q.ring("c2", offer(Channel::App102Call), 1_100).unwrap();
        q.accept("c1", "op1", 2_000).unwrap();
        assert_eq!(
            q.accept("c2", "op1", 2_100).unwrap_err(),
            CallError::OperatorBusy("c1".into())
        );
        assert_eq!(
            q.transfer("c1", "op2", "op3").unwrap_err(),
            CallError::NotYours("c1".into())
        );
        q.transfer("c1", "op1", "op2").unwrap();
        assert_eq!(q.get("c1").unwrap().phase, CallPhase::Ringing);
        assert!(matches!(
            q.accept("c1", "op3", 2_200),
            Err(CallError::OfferedToOther { .. })
        ));
        q.accept("c1", "op2", 2_300).unwrap();
        // The wait is counted to the first answer.
        assert_eq!(q.get("c1").unwrap().wait_ms(9_000), 1_000);
        // op1 is free again.
        q.accept("c2", "op1", 2_400).unwrap();
    }

    #[test]
    fn hang_up_before_answer_is_abandoned_with_callback_data() {
        let mut q = CallQueue::new();
        q.ring("c1", offer(Channel::App102Call), 1_000).unwrap();
        let c = q.end("c1", EndReason::CitizenHungUp, 5_000).unwrap();
        assert_eq!(c.phase, CallPhase::Abandoned);
        assert_eq!(c.caller.phone.as_deref(), Some("+77011234567"));
        assert_eq!(c.wait_ms(99_000), 4_000);
        assert!(q.end("c1", EndReason::CitizenHungUp, 6_000).is_none());
        assert!(matches!(
            q.accept("c1", "op1", 7_000),
            Err(CallError::Ended(_))
        ));
    }

    #[test]
    fn impossible_location_is_dropped_but_the_call_rings() {
        let mut q = CallQueue::new();
        let mut o = offer(Channel::App102Call);
        o.location.as_mut().unwrap().lat = 123.0;
        let r = q.ring("c1", o, 1_000).unwrap();
        assert_eq!(r.location_problem, Some(LocationProblem::Latitude(123.0)));
        assert!(r.call.location.is_none());
        let mut o = offer(Channel::App102Call);
        o.location.as_mut().unwrap().time_ms = Some(10_000_000);
        let r = q.ring("c2", o, 1_000).unwrap();
        assert!(matches!(
            r.location_problem,
            Some(LocationProblem::Future(_))
        ));
        let mut o = offer(Channel::App102Call);
        o.location.as_mut().unwrap().accuracy_m = Some(f64::NAN);
        assert!(q.ring("c3", o, 1_000).unwrap().location_problem.is_some());
        let mut o = offer(Channel::App102Call);
        o.location = None;
        let r = q.ring("c4", o, 1_000).unwrap();
        assert!(r.location_problem.is_none() && r.call.location.is_none());
    }

    #[test]
    fn location_updates_keep_the_newest_fix() {
        let mut q = CallQueue::new();
        q.ring("c1", offer(Channel::App102Call), 1_000).unwrap();
        let newer = CallerLocation {
            lat: 51.2,
            lon: 71.5,
            accuracy_m: Some(5.0),
            time_ms: Some(3_000),
            method: None,
        };
        q.update_location("c1", newer.clone(), 3_000)
            .unwrap()
            .unwrap();
        let older = CallerLocation {
            time_ms: Some(2_000),
            lat: 50.0,
            ..newer.clone()
        };
        q.update_location("c1", older, 3_100).unwrap().unwrap();
        let c = q.get("c1").unwrap();
        assert_eq!(c.location.as_ref().unwrap().lat, 51.2);
        assert_eq!(c.location_updates, 2);
        let bad = CallerLocation {
            lon: 500.0,
            ..newer
        };
        assert!(q.update_location("c1", bad, 3_200).unwrap().is_err());
    }

    #[test]
    fn bad_offers_are_refused_before_ringing() {
        let mut q = CallQueue::new();
        assert_eq!(
            q.ring("c1", offer(Channel::Telegram), 1).unwrap_err(),
            CallError::NotACallChannel("telegram")
        );
        assert_eq!(
            q.ring("../x", offer(Channel::App102Call), 1).unwrap_err(),
            CallError::InvalidCallId
        );
        q.ring("c1", offer(Channel::App102Call), 1).unwrap();
        assert_eq!(
            q.ring("c1", offer(Channel::App102Call), 2).unwrap_err(),
            CallError::Exists("c1".into())
        );
        assert!(q.list().len() == 1);
    }

    #[test]
    fn odd_callers_ring_with_a_usable_caller() {
        let mut q = CallQueue::new();
        let mut o = offer(Channel::SosVideo);
        o.caller.phone = Some("8(701)234-56-78".into());
        o.caller.name = Some("Ерлан\u{7}\r\nҚасымов".into());
        o.app_version = Some("9".repeat(1_000));
        let c = q.ring("c1", o, 1).unwrap().call;
        assert_eq!(c.caller.phone.as_deref(), Some("+77012345678"));
        assert_eq!(c.caller.phone_raw.as_deref(), Some("8(701)234-56-78"));
        assert_eq!(c.caller.name.as_deref(), Some("Ерлан Қасымов"));
        assert_eq!(
            c.app_version.map(|v| v.len()),
            Some(limits::APP_VERSION_CHARS_MAX)
        );
        let mut o = offer(Channel::App102Call);
        o.caller.phone = Some("9".repeat(10_000));
        let c = q.ring("c2", o, 1).unwrap().call;
        assert_eq!(c.caller.phone, None);
        assert!(c.caller.phone_raw.is_some());
    }

    #[test]
    fn ended_calls_never_take_a_ringing_callers_place() {
        let mut q = CallQueue::new();
        for i in 0..(limits::CALLS_RINGING_MAX * 2) {
            let id = format!("f{i}");
            q.ring(&id, offer(Channel::App102Call), i as i64).unwrap();
            q.end(&id, EndReason::CitizenHungUp, i as i64).unwrap();
        }
        assert!(q.list().len() <= limits::ENDED_CALLS_KEPT_MAX);
        q.ring("real", offer(Channel::App102Call), 10_000).unwrap();
        assert_eq!(q.list()[0].id, "real");
    }

    #[test]
    fn ended_calls_are_pruned_after_they_stop_being_useful() {
        let mut q = CallQueue::new();
        q.ring("c1", offer(Channel::App102Call), 0).unwrap();
        q.end("c1", EndReason::CitizenHungUp, 10).unwrap();
        q.prune(10 + limits::ENDED_VISIBLE_MS - 1);
        assert!(q.get("c1").is_some());
        q.prune(10 + limits::ENDED_VISIBLE_MS);
        assert!(q.get("c1").is_none());
    }
}
