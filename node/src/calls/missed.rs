//! Missed calls: calls that ended before anyone answered. Each stays, persisted, in the
//! operators' missed-calls list with its callback data until an operator records what the
//! callback found (R03, R10). Repeated abandoned calls from one number are one entry with a
//! count, so a caller who tries five times is one callback, and a script is one line.
//!
//! An SOS that ends before an answer already has its card (R10: opened at ring). The first one
//! from a number becomes a *missed SOS*: its card waits for the callback
//! ([`sync::CardCommand::CallbackDue`]) and is not an ordinary open card; later ones from the
//! same number while the callback is still due are linked to it as duplicates.
//!
//! Keys: `missed/{id}` (the entry, JSON), `idx/missed/open/{id}` (open entries),
//! `idx/missed/key/{collapse key}` → id of the open entry for that caller.

use serde::{Deserialize, Serialize};
use sync::{CallbackOutcome, Caller, Channel};
use utoipa::ToSchema;

use super::queue::{Call, CallerLocation};

/// Call ids kept per entry (the count goes on).
pub const MISSED_CALL_IDS_KEPT_MAX: usize = 20;
/// Open entries one list request returns, newest first.
pub const MISSED_LIST_MAX: usize = 500;
/// Longest note on a callback, characters.
pub const CALLBACK_NOTE_CHARS_MAX: usize = 1_000;

pub const MISSED_KEY_PREFIX: &str = "missed/";
pub const MISSED_OPEN_PREFIX: &str = "idx/missed/open/";
pub const MISSED_BY_CALLER_PREFIX: &str = "idx/missed/key/";

/// What an operator's callback found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MissedCallback {
    pub outcome: CallbackOutcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub by: String,
    pub at: i64,
}

/// One caller's unanswered calls, waiting for a callback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MissedCall {
    pub id: String,
    /// E.164, when the caller's phone could be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// The phone as sent, when it differs (or could not be read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_raw: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Channel of the latest call.
    pub channel: Channel,
    /// At least one of the calls was an SOS.
    pub sos: bool,
    /// Unanswered calls collapsed into this entry.
    pub count: u32,
    pub first_at: i64,
    pub last_at: i64,
    /// Ids of the latest calls (at most [`MISSED_CALL_IDS_KEPT_MAX`]).
    pub call_ids: Vec<String>,
    /// The card of the first missed SOS, waiting for the callback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_number: Option<String>,
    /// Latest known position of the caller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<CallerLocation>,
    /// Set when an operator recorded the callback; the entry then leaves the open list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback: Option<MissedCallback>,
}

/// Which entry repeated calls collapse into: the same phone, else the same app account. A
/// caller with neither gets an entry of their own per call.
pub fn collapse_key(caller: &Caller) -> Option<String> {
    if let Some(p) = &caller.phone {
        return Some(format!("phone:{p}"));
    }
    if let Some(r) = &caller.phone_raw {
        return Some(format!("raw:{r}"));
    }
    caller.user_id.as_ref().map(|u| format!("user:{u}"))
}

impl MissedCall {
    pub fn new(id: String, call: &Call) -> Self {
        let at = call.ended_at.unwrap_or(call.rang_at);
        MissedCall {
            id,
            phone: call.caller.phone.clone(),
            phone_raw: call.caller.phone_raw.clone(),
            name: call.caller.name.clone(),
            user_id: call.caller.user_id.clone(),
            channel: call.channel,
            sos: false,
            count: 0,
            first_at: call.rang_at,
            last_at: at,
            call_ids: Vec::new(),
            card_id: None,
            card_number: None,
            location: None,
            callback: None,
        }
    }

    /// Counts one more unanswered call of this caller.
    pub fn add(&mut self, call: &Call) {
        self.count = self.count.saturating_add(1);
        self.channel = call.channel;
        self.sos |= call.channel == Channel::SosVideo;
        self.first_at = self.first_at.min(call.rang_at);
        self.last_at = self.last_at.max(call.ended_at.unwrap_or(call.rang_at));
        if call.caller.name.is_some() {
            self.name = call.caller.name.clone();
        }
        if call.location.is_some() {
            self.location = call.location.clone();
        }
        self.call_ids.push(call.id.clone());
        if self.call_ids.len() > MISSED_CALL_IDS_KEPT_MAX {
            let extra = self.call_ids.len() - MISSED_CALL_IDS_KEPT_MAX;
            self.call_ids.drain(..extra);
        }
    }

    pub fn is_open(&self) -> bool {
        self.callback.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::super::queue::{CallOffer, CallQueue, EndReason};
    use super::*;

    fn call(q: &mut CallQueue, id: &str, channel: Channel, phone: Option<&str>, at: i64) -> Call {
        q.ring(
            id,
            CallOffer {
                channel,
                caller: Caller {
                    phone: phone.map(str::to_string),
                    ..Caller::default()
                },
                app_version: None,
                video: false,
                location: None,
            },
            at,
        )
        .unwrap();
        q.end(id, EndReason::CitizenHungUp, at + 1_000)
            .unwrap()
            .clone()
    }

    #[test]
    fn repeated_calls_of_one_number_collapse_into_one_entry() {
        let mut q = CallQueue::new();
        let a = call(
            &mut q,
            "a",
            Channel::App102Call,
            Some("8 701 234 56 78"),
            1_000,
        );
        let b = call(&mut q, "b", Channel::SosVideo, Some("+77012345678"), 5_000);
        let c = call(&mut q, "c", Channel::App102Call, None, 6_000);
        assert_eq!(collapse_key(&a.caller), collapse_key(&b.caller));
        assert_eq!(collapse_key(&c.caller), None);
        let mut m = MissedCall::new("m1".into(), &a);
        m.add(&a);
        m.add(&b);
        assert_eq!(
            (m.count, m.sos, m.first_at, m.last_at),
            (2, true, 1_000, 6_000)
        );
        assert_eq!(m.call_ids, ["a", "b"]);
        for i in 0..(2 * MISSED_CALL_IDS_KEPT_MAX) {
            m.add(&call(
                &mut q,
                &format!("x{i}"),
                Channel::App102Call,
                Some("+77012345678"),
                10_000,
            ));
        }
        assert_eq!(m.call_ids.len(), MISSED_CALL_IDS_KEPT_MAX);
        assert_eq!(m.count as usize, 2 + 2 * MISSED_CALL_IDS_KEPT_MAX);
    }
}
