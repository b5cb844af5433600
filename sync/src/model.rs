//! Plain domain types: what a card, a unit and a roster entry look like to readers (the HTTP
//! API, the console, reports). They are materialised from automerge documents by
//! [`crate::card::CardDoc::view`] and friends; the documents stay the source of truth.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Text length limits, in characters. Named so tests can probe the edges.
pub mod limits {
    pub const NAME_CHARS_MAX: usize = 200;
    /// A normalised phone number (E.164: `+` and at most 15 digits).
    pub const PHONE_CHARS_MAX: usize = 20;
    /// A phone number as the caller's app or the operator sent it, before normalisation.
    pub const PHONE_RAW_CHARS_MAX: usize = 200;
    pub const ADDRESS_CHARS_MAX: usize = 500;
    pub const DESCRIPTION_CHARS_MAX: usize = 4_000;
    pub const SEEN_CHARS_MAX: usize = 1_000;
    pub const REPORT_CHARS_MAX: usize = 4_000;
    pub const REASON_CHARS_MAX: usize = 1_000;
    pub const NOTE_CHARS_MAX: usize = 2_000;
    pub const KUI_NUMBER_CHARS_MAX: usize = 64;
    pub const CODE_CHARS_MAX: usize = 64;
    pub const ACCURACY_M_MAX: f64 = 100_000.0;
    pub const PRIORITY_MIN: u8 = 1;
    pub const PRIORITY_MAX: u8 = 4;
    /// A card with more timeline events than this refuses further notes (a runaway client).
    pub const TIMELINE_EVENTS_MAX: usize = 2_000;
    /// At most this many units on one card.
    pub const UNITS_PER_CARD_MAX: usize = 64;
}

/// Where a message came from (R01). Every card records it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Audio/video call through the "102" app.
    App102Call,
    /// Text appeal through the "102" app.
    App102Text,
    /// Audio/video call through "Закон и Порядок".
    ZakonPoryadokCall,
    /// Text appeal through "Закон и Порядок".
    ZakonPoryadokText,
    /// "Тревожная кнопка SOS": a video call (R10).
    SosVideo,
    Telegram,
    Vkontakte,
    /// Chat widget on the МВД web site.
    WebWidget,
    Email,
}

impl Channel {
    pub const ALL: [Channel; 9] = [
        Channel::App102Call,
        Channel::App102Text,
        Channel::ZakonPoryadokCall,
        Channel::ZakonPoryadokText,
        Channel::SosVideo,
        Channel::Telegram,
        Channel::Vkontakte,
        Channel::WebWidget,
        Channel::Email,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::App102Call => "app102_call",
            Channel::App102Text => "app102_text",
            Channel::ZakonPoryadokCall => "zakon_poryadok_call",
            Channel::ZakonPoryadokText => "zakon_poryadok_text",
            Channel::SosVideo => "sos_video",
            Channel::Telegram => "telegram",
            Channel::Vkontakte => "vkontakte",
            Channel::WebWidget => "web_widget",
            Channel::Email => "email",
        }
    }
    pub fn parse(s: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// Card lifecycle. The order of the variants is the merge lattice: when replicas disagree, the
/// status furthest along wins. Terminal states sit above every working state; among them
/// `Closed` (work was done and reported) beats `LinkedDuplicate`, which beats `Cancelled`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum CardStatus {
    New,
    SentForProcessing,
    Dispatched,
    OnScene,
    Reported,
    Cancelled,
    LinkedDuplicate,
    Closed,
}

impl CardStatus {
    pub const ALL: [CardStatus; 8] = [
        CardStatus::New,
        CardStatus::SentForProcessing,
        CardStatus::Dispatched,
        CardStatus::OnScene,
        CardStatus::Reported,
        CardStatus::Cancelled,
        CardStatus::LinkedDuplicate,
        CardStatus::Closed,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            CardStatus::New => "new",
            CardStatus::SentForProcessing => "sent_for_processing",
            CardStatus::Dispatched => "dispatched",
            CardStatus::OnScene => "on_scene",
            CardStatus::Reported => "reported",
            CardStatus::Cancelled => "cancelled",
            CardStatus::LinkedDuplicate => "linked_duplicate",
            CardStatus::Closed => "closed",
        }
    }
    pub fn parse(s: &str) -> Option<CardStatus> {
        CardStatus::ALL.into_iter().find(|c| c.as_str() == s)
    }
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            CardStatus::Closed | CardStatus::Cancelled | CardStatus::LinkedDuplicate
        )
    }
    pub fn is_open(self) -> bool {
        !self.is_terminal()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    Kk,
    Ru,
}

impl Language {
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Kk => "kk",
            Language::Ru => "ru",
        }
    }
    pub fn parse(s: &str) -> Option<Language> {
        match s {
            "kk" => Some(Language::Kk),
            "ru" => Some(Language::Ru),
            _ => None,
        }
    }
}

/// Who called or wrote. Apps and people send phones and names in every shape; the core keeps
/// what it can use (see [`crate::caller::normalize_caller`]) and never refuses a caller for it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Caller {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 200)]
    pub name: Option<String>,
    /// The phone number in E.164 (`+77012345678`), when what was sent reads as a valid number
    /// (Kazakhstan is the default country, so `8 (701) 234-56-78` is understood).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 20, pattern = r"^\+[0-9]{1,19}$")]
    pub phone: Option<String>,
    /// The phone as sent, kept when it differs from `phone`. A `phone_raw` without `phone` could
    /// not be read as a phone number: the console flags it for the operator to check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 200)]
    pub phone_raw: Option<String>,
    /// Id of the registered app user, when the call came from a registered account (R04).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 64)]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<Language>,
}

/// Where something happened: a point, an address, or both. A text caller or a person who does
/// not know their coordinates gives an address; a handset gives a point.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Location {
    /// Latitude in degrees (−90…90); given together with `lon`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = -90.0, maximum = 90.0)]
    pub lat: Option<f64>,
    /// Longitude in degrees (−180…180); given together with `lat`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = -180.0, maximum = 180.0)]
    pub lon: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy_m: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 500)]
    pub address: Option<String>,
    /// Where the point came from (R35), so the card never implies more than it knows. Set by
    /// the node, not taken from a client; absent on cards written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<LocationSource>,
}

/// Where a card's point came from (R35).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LocationSource {
    /// The caller's handset: the app's location or the phone's AML.
    App,
    /// Typed or picked on the map by the operator.
    Operator,
    /// Found from the typed address in the address register.
    Geocoded,
    /// The telephone operator's network location of the phone (cell or better).
    TelcoNetwork,
    /// The telephone operator's registered location of the line (a fixed line's address).
    TelcoRegistered,
}

impl LocationSource {
    pub fn as_str(self) -> &'static str {
        match self {
            LocationSource::App => "app",
            LocationSource::Operator => "operator",
            LocationSource::Geocoded => "geocoded",
            LocationSource::TelcoNetwork => "telco_network",
            LocationSource::TelcoRegistered => "telco_registered",
        }
    }
}

impl Location {
    /// The point, when both coordinates are given.
    pub fn point(&self) -> Option<(f64, f64)> {
        self.lat.zip(self.lon)
    }
}

/// What the operator sees on the caller's video (R03).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Seen {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 1000)]
    pub persons: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 1000)]
    pub vehicles: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 1000)]
    pub buildings: Option<String>,
}

/// A new card as the operator (or an automatic text intake) submits it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CardCreate {
    pub channel: Channel,
    #[serde(default)]
    pub caller: Caller,
    #[serde(default)]
    pub location: Option<Location>,
    #[serde(default)]
    #[schema(max_length = 4000)]
    pub description: Option<String>,
    #[serde(default)]
    pub seen: Seen,
    #[serde(default)]
    #[schema(max_length = 64)]
    pub category: Option<String>,
    #[serde(default)]
    #[schema(minimum = 1, maximum = 4)]
    pub priority: Option<u8>,
    /// Territorial police unit; derived from the location when absent (R02).
    #[serde(default)]
    #[schema(max_length = 64)]
    pub district: Option<String>,
}

/// A partial edit: every present field replaces the current value (last writer wins per field).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CardEdit {
    #[serde(default)]
    pub caller: Option<Caller>,
    #[serde(default)]
    pub location: Option<Location>,
    #[serde(default)]
    #[schema(max_length = 4000)]
    pub description: Option<String>,
    #[serde(default)]
    pub seen: Option<Seen>,
    #[serde(default)]
    #[schema(max_length = 64)]
    pub category: Option<String>,
    #[serde(default)]
    #[schema(minimum = 1, maximum = 4)]
    pub priority: Option<u8>,
    #[serde(default)]
    #[schema(max_length = 64)]
    pub district: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TimelineEvent {
    pub at: i64,
    pub by: String,
    pub kind: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UnitKind {
    /// КСП / ПКК patrol crew.
    Patrol,
    /// ДСОГ duty investigative-operational group.
    InvestigativeGroup,
    Other,
}

impl UnitKind {
    pub fn as_str(self) -> &'static str {
        match self {
            UnitKind::Patrol => "patrol",
            UnitKind::InvestigativeGroup => "investigative_group",
            UnitKind::Other => "other",
        }
    }
    pub fn parse(s: &str) -> Option<UnitKind> {
        match s {
            "patrol" => Some(UnitKind::Patrol),
            "investigative_group" => Some(UnitKind::InvestigativeGroup),
            "other" => Some(UnitKind::Other),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UnitStatus {
    Available,
    Assigned,
    EnRoute,
    OnScene,
    OffDuty,
}

impl UnitStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            UnitStatus::Available => "available",
            UnitStatus::Assigned => "assigned",
            UnitStatus::EnRoute => "en_route",
            UnitStatus::OnScene => "on_scene",
            UnitStatus::OffDuty => "off_duty",
        }
    }
    pub fn parse(s: &str) -> Option<UnitStatus> {
        [
            UnitStatus::Available,
            UnitStatus::Assigned,
            UnitStatus::EnRoute,
            UnitStatus::OnScene,
            UnitStatus::OffDuty,
        ]
        .into_iter()
        .find(|u| u.as_str() == s)
    }
}

/// A unit's part in one card, with its own times (R20: dispatch and arrival control).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CardUnit {
    pub unit_id: String,
    pub call_sign: String,
    pub kind: UnitKind,
    pub assigned_at: i64,
    pub assigned_by: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub en_route_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_scene_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cleared_at: Option<i64>,
}

impl CardUnit {
    pub fn is_active(&self) -> bool {
        self.cleared_at.is_none()
    }
}

/// КУИ registration of a crime report (R07), with its 24-hour deadline clock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct KuiEntry {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registered_at: Option<i64>,
    pub deadline_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registered_by: Option<String>,
}

/// What the operator's callback of a missed call found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CallbackOutcome {
    /// The operator spoke with the caller.
    Reached,
    /// Nobody answered the callback.
    NoAnswer,
    /// The caller confirmed there was no emergency (pressed by mistake, a child, a test).
    FalseAlarm,
}

impl CallbackOutcome {
    pub const ALL: [CallbackOutcome; 3] = [
        CallbackOutcome::Reached,
        CallbackOutcome::NoAnswer,
        CallbackOutcome::FalseAlarm,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            CallbackOutcome::Reached => "reached",
            CallbackOutcome::NoAnswer => "no_answer",
            CallbackOutcome::FalseAlarm => "false_alarm",
        }
    }
    pub fn parse(s: &str) -> Option<CallbackOutcome> {
        CallbackOutcome::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

/// The callback a missed SOS needs, and what it found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Callback {
    /// When the call ended unanswered.
    pub due_since: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<CallbackOutcome>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Callback {
    pub fn is_due(&self) -> bool {
        self.outcome.is_none()
    }
}

/// The "102" card as readers see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Card {
    pub id: String,
    /// Human number, unique without coordination: region code, year, per-node sequence.
    pub number: String,
    pub region: String,
    pub district: Option<String>,
    pub channel: Channel,
    pub status: CardStatus,
    /// When the card reached its current status, ms (the status timer; a note does not reset it).
    pub status_since: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub created_by: String,
    pub caller: Caller,
    pub location: Option<Location>,
    pub description: Option<String>,
    pub seen: Seen,
    pub category: Option<String>,
    pub priority: Option<u8>,
    pub sent_for_processing_at: Option<i64>,
    pub timeline: Vec<TimelineEvent>,
    pub units: Vec<CardUnit>,
    pub dsog_dispatched_at: Option<i64>,
    pub forwarded_to: Option<String>,
    pub forwarded_at: Option<i64>,
    pub kui: Option<KuiEntry>,
    pub duplicate_of: Option<String>,
    pub patrol_report: Option<String>,
    /// Reports the units filed from their terminals in the standard format (R34), oldest first.
    #[serde(default)]
    pub patrol_reports: Vec<crate::field::report::CardPatrolReport>,
    /// The dispatcher's closing text when the patrol had already reported.
    pub close_summary: Option<String>,
    pub close_reason: Option<String>,
    pub cancel_reason: Option<String>,
    /// An SOS that ended before anyone answered: the operator must call back (R10).
    pub callback: Option<Callback>,
    /// Who last wrote each last-writer-wins field, as `login@replica`.
    pub field_writers: std::collections::BTreeMap<String, String>,
}

impl Card {
    pub fn active_units(&self) -> impl Iterator<Item = &CardUnit> {
        self.units.iter().filter(|u| u.is_active())
    }
    pub fn unit(&self, unit_id: &str) -> Option<&CardUnit> {
        self.units.iter().find(|u| u.unit_id == unit_id)
    }
}

/// The short form of a card used by queues, lists and live events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CardSummary {
    pub id: String,
    pub number: String,
    pub status: CardStatus,
    /// When the card reached its current status, ms.
    #[serde(default)]
    pub status_since: i64,
    pub channel: Channel,
    pub district: Option<String>,
    pub category: Option<String>,
    pub priority: Option<u8>,
    pub address: Option<String>,
    pub created_at: i64,
    pub created_by: String,
    pub updated_at: i64,
    pub sent_for_processing_at: Option<i64>,
    pub forwarded_to: Option<String>,
    pub units: Vec<String>,
    /// A missed SOS waiting for the operator's callback: not an ordinary open card.
    #[serde(default)]
    pub callback_due: bool,
}

impl From<&Card> for CardSummary {
    fn from(c: &Card) -> Self {
        CardSummary {
            id: c.id.clone(),
            number: c.number.clone(),
            status: c.status,
            status_since: c.status_since,
            channel: c.channel,
            district: c.district.clone(),
            category: c.category.clone(),
            priority: c.priority,
            address: c.location.as_ref().and_then(|l| l.address.clone()),
            created_at: c.created_at,
            created_by: c.created_by.clone(),
            updated_at: c.updated_at,
            sent_for_processing_at: c.sent_for_processing_at,
            forwarded_to: c.forwarded_to.clone(),
            units: c.active_units().map(|u| u.call_sign.clone()).collect(),
            callback_due: c.callback.as_ref().is_some_and(Callback::is_due),
        }
    }
}

/// A unit (наряд) as readers see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Unit {
    pub id: String,
    pub call_sign: String,
    pub kind: UnitKind,
    pub status: UnitStatus,
    pub status_since: i64,
    /// The card the unit is working on.
    pub card_id: Option<String>,
    /// When it was dispatched to that card.
    pub dispatched_at: Option<i64>,
    /// Dispatched and not on scene within the configured time.
    pub overdue: bool,
}

impl Unit {
    /// Overdue alert: dispatched (assigned or en route) and not on scene after `overdue_after_ms`.
    pub fn is_overdue(&self, now_ms: i64, overdue_after_ms: i64) -> bool {
        matches!(self.status, UnitStatus::Assigned | UnitStatus::EnRoute)
            && self
                .dispatched_at
                .is_some_and(|t| now_ms.saturating_sub(t) > overdue_after_ms)
    }
}

/// Shift of the post roster.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Shift {
    Day,
    Night,
}

/// One line of the electronic post roster (R20): which unit holds which post or route in a shift.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RosterEntry {
    pub id: String,
    /// `YYYY-MM-DD`.
    pub date: String,
    pub shift: Shift,
    /// Post or route name.
    pub post: String,
    pub unit_id: String,
    pub call_sign: String,
    /// Logins of the crew (patrol accounts): a patrol account acts for the unit of its current
    /// shift (R20).
    #[serde(default)]
    pub crew: Vec<String>,
    pub assigned_by: String,
    pub assigned_at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RosterCreate {
    pub date: String,
    pub shift: Shift,
    #[schema(min_length = 1, max_length = 200)]
    pub post: String,
    pub unit_id: String,
    /// Logins of the crew's patrol accounts.
    #[serde(default)]
    #[schema(max_items = 8)]
    pub crew: Vec<String>,
}
