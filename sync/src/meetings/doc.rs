//! One report meeting as a replicated document (`AST/meeting/<id>`), written by its region's node
//! (the inspector's console and terminal, the beat office's head) and read at the hub.
//!
//! # Merge rules
//!
//! - The plan (beats, format, date, time, place, online link, language) is one JSON value, last
//!   writer wins: its parts never mix. Changing the date or time after a notice makes the notice
//!   stale: the meeting is planned again and needs a new notice (R23).
//! - Notices, recordings, signatures and the action log are append-only lists: concurrent
//!   appends all survive.
//! - Invitations (by invitee code), participants (by registration id) and items (by item id) are
//!   maps: two devices registering participants at once both keep theirs. An invitation's state
//!   is last writer wins.
//! - The protocol's draft is a map of text fields, last writer wins per field, editable until
//!   the inspector signs (R24). **A signature carries the whole content the signer saw** and the
//!   signed protocol is read from it, never from the draft: an edit made on another device
//!   concurrently with the signature cannot slip into the signed text. It shows as an unsigned
//!   change, and a correction makes a new, linked version with its own signature.
//! - Notice deliveries (R37: the posts to the Telegram channel and the VK wall, the e-mails to
//!   the invitees) are an append-only list of state changes, one entry per change, each naming
//!   its notice (by the notice's `at_ms`) and its target (`telegram`, `vk`, `email:<invitee>`).
//!   A target's state is folded from its entries: a `sent` entry wins over every other (a post
//!   that went out stays out, whatever device wrote later), otherwise the entry with the latest
//!   `at_ms` (on a tie `failed` over `queued`). Concurrent appends all survive.
//! - Follow-up of an item (R25) is an append-only list per item; its state is its last entry's.
//! - The stage is computed from the log, not stored: cancelled when cancelled, held when marked
//!   held, noticed when a notice covers the current plan's date and time, planned otherwise.

use std::collections::BTreeMap;

use automerge::{transaction::Transactable, AutoCommit, ObjType, ReadDoc, ROOT};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::dates::{check_notice, materials_expired, protocol_on_time, MeetingStage};
use crate::calendar::Day;
use crate::doc::{
    append_json, check_text, get_i64, get_obj, get_scalar, get_str, read_json_list, Ctx, Document,
};
use crate::error::DomainError;

/// Schema version of meeting documents.
pub const MEETING_SCHEMA_VERSION: i64 = 1;
/// Most beats one (joint) meeting covers.
pub const MEETING_BEATS_MAX: usize = 20;
/// Longest place, name, address or contact, in characters.
pub const MEETING_LINE_CHARS_MAX: usize = 300;
/// Longest free text (a protocol field, a complaint, a follow-up result), in characters.
pub const MEETING_TEXT_CHARS_MAX: usize = 20_000;
/// Longest online-meeting link, in characters.
pub const MEETING_LINK_CHARS_MAX: usize = 2_000;
/// Most participants one meeting registers.
pub const MEETING_PARTICIPANTS_MAX: usize = 5_000;
/// Most complaints, proposals and remarks one meeting records.
pub const MEETING_ITEMS_MAX: usize = 2_000;

/// Where and how a meeting is held (seed 003 p.26–27).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MeetingFormat {
    /// сход местного сообщества (p.26)
    Gathering,
    /// собрание местного сообщества, созываемое акимом (p.27)
    AkimMeeting,
    /// на открытой местности (p.27)
    Outdoor,
    /// в онлайн формате (p.27): held on the police's platform; the system keeps its link.
    Online,
}

/// A meeting's plan: what the inspector proposes and the notice announces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeetingPlan {
    /// The beats reporting: one, or several adjacent ones for a joint meeting (p.27).
    pub beats: Vec<String>,
    pub format: MeetingFormat,
    pub date: Day,
    /// `HH:MM`, Kazakhstan time.
    pub time: String,
    /// The place in Kazakh and Russian (for an online meeting: where the link is announced).
    pub place_kk: String,
    pub place_ru: String,
    /// The online meeting's link (`https://…`), required for [`MeetingFormat::Online`].
    #[serde(default)]
    pub link: Option<String>,
    /// The meeting's language (`kk` or `ru`): the report and the protocol are drawn up in it.
    pub language: String,
}

/// A channel a notice goes out through (p.27: mass media, social networks, administrations of
/// enterprises).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NoticeChannel {
    /// The region's public page next to the web widget.
    Page,
    /// The region's Telegram channel.
    Telegram,
    /// The region's VK community wall.
    Vk,
    /// E-mail to the akimat and the enterprises' administrations for posting.
    Email,
    /// The printable notice.
    Print,
}

/// A published notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Notice {
    pub published_on: Day,
    pub at_ms: i64,
    pub by: String,
    /// The date and time it announces.
    pub date: Day,
    pub time: String,
    pub channels: Vec<NoticeChannel>,
    /// Where each delivery of the notice stands (R37), one per target, folded from the
    /// document's delivery entries (never stored with the notice itself).
    #[serde(default, skip_deserializing)]
    pub deliveries: Vec<NoticeDelivery>,
}

/// Longest delivery target name (`email:<invitee code>`), in characters.
pub const NOTICE_TARGET_CHARS_MAX: usize = 120;
/// Longest reason or external id a delivery records, in characters.
pub const NOTICE_DELIVERY_TEXT_CHARS_MAX: usize = 1_000;
/// Most delivery entries one meeting records (a notice has a few targets, each a few changes).
pub const NOTICE_DELIVERY_ENTRIES_MAX: usize = 10_000;

/// Where one delivery of a notice stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// In the node's outbox, not delivered yet (being retried when `reason` says why).
    Queued,
    Sent,
    /// Will not go: `reason` says why.
    Failed,
}

/// One delivery of a notice to one target (R37): the Telegram channel (`telegram`), the VK wall
/// (`vk`), an invitee's e-mail (`email:<invitee code>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoticeDelivery {
    /// The notice it delivers: its `at_ms`.
    pub notice_at_ms: i64,
    pub target: String,
    pub state: DeliveryState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The channel's id of the post (Telegram `message_id`, VK `post_id`, the e-mail's
    /// `Message-ID`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    pub at_ms: i64,
}

/// The state of each (notice, target) from the delivery entries (see the merge rules): `sent`
/// wins, else the latest entry (`failed` over `queued` on a tie). Sorted by notice and target.
pub fn fold_deliveries(entries: &[NoticeDelivery]) -> Vec<NoticeDelivery> {
    let mut out: BTreeMap<(i64, String), NoticeDelivery> = BTreeMap::new();
    for e in entries {
        let key = (e.notice_at_ms, e.target.clone());
        let replace = match out.get(&key) {
            None => true,
            Some(cur) => {
                let rank = |d: &NoticeDelivery| (d.state == DeliveryState::Sent, d.at_ms, d.state);
                rank(e) > rank(cur)
            }
        };
        if replace {
            out.insert(key, e.clone());
        }
    }
    out.into_values().collect()
}

/// Where an invitation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvitationState {
    Pending,
    Sent,
    Accepted,
    Declined,
    Attended,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Invitation {
    pub state: InvitationState,
    pub at_ms: i64,
    pub by: String,
}

/// A registered participant (p.32; with consent to the processing of their data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ParticipantInput {
    pub name: String,
    /// Address or place of residence.
    pub address: String,
    /// Phone or e-mail.
    pub contact: String,
    /// Consent to the processing of personal data: registration is refused without it.
    pub consent: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Participant {
    pub id: String,
    pub name: String,
    pub address: String,
    pub contact: String,
    pub registered_at_ms: i64,
    pub by: String,
}

/// What a citizen brought to the meeting (p.31–32).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    Complaint,
    Proposal,
    Remark,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemInput {
    pub kind: ItemKind,
    pub text: String,
    /// The participant who raised it (their registration id), when registered.
    #[serde(default)]
    pub author: Option<String>,
    /// Answered in full at the meeting: nothing to follow up (p.32).
    pub answered_fully: bool,
    /// `None`: within the police's competence; otherwise the external body's code (the region's
    /// reference) it belongs to (p.32: sent there, the author notified).
    #[serde(default)]
    pub outside_competence: Option<String>,
}

/// One step of an item's follow-up (R25).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum FollowUpStep {
    /// Being checked; `note` says by whom or how.
    Checking { note: String },
    /// Sent to the competent body through the appeals workflow: the appeal's id; the author
    /// was notified (`author_notified`).
    Forwarded {
        body: String,
        appeal: String,
        author_notified: bool,
    },
    /// Closed with its result.
    Closed { result: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FollowUpEntry {
    #[serde(flatten)]
    pub step: FollowUpStep,
    pub at_ms: i64,
    pub by: String,
}

/// Where an item's follow-up stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ItemState {
    /// Answered in full at the meeting.
    Answered,
    /// To be checked, nothing done yet.
    Open,
    Checking,
    /// Sent to the competent body, the author notified.
    Forwarded,
    Closed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Item {
    pub id: String,
    pub kind: ItemKind,
    pub text: String,
    pub author: Option<String>,
    pub answered_fully: bool,
    pub outside_competence: Option<String>,
    pub state: ItemState,
    pub follow_up: Vec<FollowUpEntry>,
}

/// The protocol's text fields (p.32; time, date, place and the number of participants come
/// from the meeting itself).
pub const PROTOCOL_FIELDS: [&str; 3] = ["report", "decisions", "remarks"];

/// What a signature covers: the protocol as the signer saw it (p.32).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProtocolContent {
    pub date: Day,
    pub time: String,
    pub place_kk: String,
    pub place_ru: String,
    pub participants: u32,
    /// `report`, `decisions`, `remarks` ([`PROTOCOL_FIELDS`]).
    pub fields: BTreeMap<String, String>,
    /// Every complaint, proposal and remark.
    pub items: Vec<ProtocolItem>,
}

/// A complaint, proposal or remark as the signed protocol records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProtocolItem {
    pub id: String,
    pub kind: ItemKind,
    pub text: String,
    pub answered_fully: bool,
}

/// One signed version of the protocol.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Signature {
    /// 1 for the protocol, 2, 3 … for its corrections.
    pub version: u32,
    pub signed_on: Day,
    pub at_ms: i64,
    pub by: String,
    /// Drawn up on the meeting's day (R24); a late protocol is kept and shown as late.
    pub on_time: bool,
    /// Why a correction was made (versions after the first).
    #[serde(default)]
    pub correction_reason: Option<String>,
    /// SHA-256 of the content's JSON, hex.
    pub sha256: String,
    pub content: ProtocolContent,
}

/// A stored video recording of the meeting (the node keeps the bytes like call recordings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Recording {
    pub id: String,
    pub sha256: String,
    pub bytes: u64,
    pub content_type: String,
    pub at_ms: i64,
    pub by: String,
}

/// One action on the meeting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MeetingLogEntry {
    pub at_ms: i64,
    pub by: String,
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The meeting as readers see it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Meeting {
    pub id: String,
    pub region: String,
    pub stage: MeetingStage,
    pub plan: MeetingPlan,
    /// The notice covering the current plan, if any.
    pub notice: Option<Notice>,
    pub notices: Vec<Notice>,
    pub invitations: BTreeMap<String, Invitation>,
    pub participants: Vec<Participant>,
    pub items: Vec<Item>,
    /// The draft's fields.
    pub draft: BTreeMap<String, String>,
    pub signatures: Vec<Signature>,
    /// A correction is open: the draft may be edited and signed as the next version.
    pub correcting: bool,
    /// The draft differs from the latest signed content: a change made on another device after
    /// (or concurrently with) the signature; it needs a correction to count.
    pub unsigned_changes: bool,
    pub recordings: Vec<Recording>,
    /// R26: kept beyond the year while held.
    pub hold: bool,
    pub held_on: Option<Day>,
    pub cancelled: Option<String>,
    pub created_at_ms: i64,
    pub log: Vec<MeetingLogEntry>,
}

impl Meeting {
    pub fn protocol(&self) -> Option<&Signature> {
        self.signatures.last()
    }

    /// The protocol has a signed version and no correction is open (R24).
    pub fn signed(&self) -> bool {
        !self.signatures.is_empty() && !self.correcting
    }

    /// Complaints, proposals and remarks not answered in full and not yet closed (R25).
    pub fn open_items(&self) -> impl Iterator<Item = &Item> {
        self.items.iter().filter(|i| {
            matches!(
                i.state,
                ItemState::Open | ItemState::Checking | ItemState::Forwarded
            )
        })
    }
}

/// A change to a meeting.
#[derive(Debug, Clone, PartialEq)]
pub enum MeetingCommand {
    Reschedule(MeetingPlan),
    PublishNotice(Vec<NoticeChannel>),
    Invitation {
        invitee: String,
        state: InvitationState,
    },
    Register {
        id: String,
        participant: ParticipantInput,
    },
    MarkHeld,
    EditProtocol(BTreeMap<String, String>),
    AddItem {
        id: String,
        item: ItemInput,
    },
    Sign,
    StartCorrection {
        reason: String,
    },
    FollowUp {
        item: String,
        step: FollowUpStep,
    },
    AddRecording(Recording),
    SetHold(bool),
    Cancel {
        reason: String,
    },
    /// R37: where the delivery of a notice to one target stands (the node's outbox writes
    /// `queued` with the notice and `sent` or `failed` once it knows).
    NoticeDelivery(NoticeDelivery),
    /// R26: a year after the meeting was held and with no hold on it, its materials go: the
    /// participants' personal data and the recordings' entries (the node deletes their files).
    /// The facts the quarter coverage counts (date, stage, held day), the items and the signed
    /// protocols stay. Replicated like any command, so every copy (central's too) loses them.
    EraseMaterials,
}

/// A meeting document.
pub struct MeetingDoc {
    doc: AutoCommit,
}

impl Document for MeetingDoc {
    const SCHEMA_VERSION: i64 = MEETING_SCHEMA_VERSION;
    const KIND: &'static str = "meeting";
    fn wrap(doc: AutoCommit) -> Self {
        MeetingDoc { doc }
    }
    fn automerge(&mut self) -> &mut AutoCommit {
        &mut self.doc
    }
}

fn json<T: Serialize>(v: &T) -> Result<String, DomainError> {
    serde_json::to_string(v).map_err(|e| DomainError::CorruptDocument(e.to_string()))
}

fn parse_json<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, DomainError> {
    serde_json::from_str(s).map_err(|e| DomainError::CorruptDocument(e.to_string()))
}

fn time_of_day(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 5
        && b[2] == b':'
        && s[..2].parse::<u32>().is_ok_and(|h| h < 24)
        && s[3..].parse::<u32>().is_ok_and(|m| m < 60)
        && b[..2].iter().chain(&b[3..]).all(u8::is_ascii_digit)
}

/// Checks a plan made or changed on `today`; `known_beat` says whether a beat code exists.
pub fn check_plan(
    plan: &MeetingPlan,
    today: Day,
    known_beat: &dyn Fn(&str) -> bool,
) -> Result<(), DomainError> {
    if plan.beats.is_empty() || plan.beats.len() > MEETING_BEATS_MAX {
        return Err(DomainError::rule_field(
            "meeting_beats",
            "beats",
            format!("a meeting covers 1 to {MEETING_BEATS_MAX} beats"),
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    for b in &plan.beats {
        if !known_beat(b) {
            return Err(DomainError::rule_field(
                "meeting_beat_unknown",
                "beats",
                format!("beat {b:?} is not in the region's beats"),
            ));
        }
        if !seen.insert(b) {
            return Err(DomainError::rule_field(
                "meeting_beats",
                "beats",
                format!("beat {b:?} is listed twice"),
            ));
        }
    }
    if plan.date < today {
        return Err(DomainError::rule_field(
            "meeting_date_past",
            "date",
            format!("{} is in the past", plan.date),
        ));
    }
    if !time_of_day(&plan.time) {
        return Err(DomainError::rule_field(
            "meeting_time",
            "time",
            "the time is HH:MM",
        ));
    }
    check_text("place_kk", &plan.place_kk, MEETING_LINE_CHARS_MAX, true)?;
    check_text("place_ru", &plan.place_ru, MEETING_LINE_CHARS_MAX, true)?;
    match (&plan.format, &plan.link) {
        (MeetingFormat::Online, None) => {
            return Err(DomainError::rule_field(
                "meeting_link_required",
                "link",
                "an online meeting needs its link",
            ))
        }
        (_, Some(link)) => {
            check_text("link", link, MEETING_LINK_CHARS_MAX, true)?;
            if !link.starts_with("https://") || link.chars().any(char::is_whitespace) {
                return Err(DomainError::rule_field(
                    "meeting_link_invalid",
                    "link",
                    "the link is an https:// address without spaces",
                ));
            }
        }
        _ => {}
    }
    if !matches!(plan.language.as_str(), "kk" | "ru") {
        return Err(DomainError::rule_field(
            "meeting_language",
            "language",
            "the meeting's language is kk or ru",
        ));
    }
    Ok(())
}

impl MeetingDoc {
    /// A new meeting of `region` with a plan the caller checked ([`check_plan`]).
    pub fn create(
        actor: automerge::ActorId,
        id: &str,
        region: &str,
        plan: &MeetingPlan,
        ctx: &Ctx,
    ) -> Result<MeetingDoc, DomainError> {
        let mut doc = AutoCommit::new().with_actor(actor);
        doc.put(ROOT, "v", MEETING_SCHEMA_VERSION)?;
        doc.put(ROOT, "id", id)?;
        doc.put(ROOT, "region", region)?;
        doc.put(ROOT, "created_at", ctx.now_ms)?;
        doc.put(ROOT, "updated_at", ctx.now_ms)?;
        doc.put(ROOT, "plan", json(plan)?)?;
        doc.put(ROOT, "hold", false)?;
        for list in ["notices", "nd", "sig", "rec", "log"] {
            doc.put_object(ROOT, list, ObjType::List)?;
        }
        for map in ["inv", "ppl", "items", "fu", "draft"] {
            doc.put_object(ROOT, map, ObjType::Map)?;
        }
        let mut m = MeetingDoc { doc };
        m.log("planned", Some(format!("{} {}", plan.date, plan.time)), ctx)?;
        Ok(m)
    }

    fn log(&mut self, action: &str, detail: Option<String>, ctx: &Ctx) -> Result<(), DomainError> {
        let log = get_obj(&self.doc, &ROOT, "log")?;
        append_json(
            &mut self.doc,
            &log,
            &MeetingLogEntry {
                at_ms: ctx.now_ms,
                by: ctx.writer(),
                action: action.to_string(),
                detail,
            },
        )?;
        self.doc.put(ROOT, "updated_at", ctx.now_ms)?;
        Ok(())
    }

    fn json_map<T: serde::de::DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<BTreeMap<String, T>, DomainError> {
        let obj = get_obj(&self.doc, &ROOT, key)?;
        let mut out = BTreeMap::new();
        for item in self.doc.map_range(&obj, ..) {
            let v = automerge::Value::from(item.value);
            let s = v
                .as_str()
                .ok_or_else(|| DomainError::CorruptDocument(format!("{key} entry is not text")))?;
            out.insert(item.key.to_string(), parse_json(s)?);
        }
        Ok(out)
    }

    /// The meeting as readers see it.
    pub fn view(&self) -> Result<Meeting, DomainError> {
        let d = &self.doc;
        let corrupt =
            |what: &str| DomainError::CorruptDocument(format!("meeting {what} is missing"));
        let plan: MeetingPlan =
            parse_json(&get_str(d, &ROOT, "plan").ok_or_else(|| corrupt("plan"))?)?;
        let mut notices: Vec<Notice> = read_json_list(d, &get_obj(d, &ROOT, "notices")?)?;
        // Documents written before notice deliveries were recorded have no list: none yet.
        let deliveries: Vec<NoticeDelivery> = match d.get(ROOT, "nd")? {
            Some((automerge::Value::Object(_), list)) => read_json_list(d, &list)?,
            _ => Vec::new(),
        };
        for delivery in fold_deliveries(&deliveries) {
            if let Some(n) = notices
                .iter_mut()
                .find(|n| n.at_ms == delivery.notice_at_ms)
            {
                n.deliveries.push(delivery);
            }
        }
        let signatures: Vec<Signature> = read_json_list(d, &get_obj(d, &ROOT, "sig")?)?;
        let recordings: Vec<Recording> = read_json_list(d, &get_obj(d, &ROOT, "rec")?)?;
        let log: Vec<MeetingLogEntry> = read_json_list(d, &get_obj(d, &ROOT, "log")?)?;
        let invitations: BTreeMap<String, Invitation> = self.json_map("inv")?;
        let participants: Vec<Participant> = self.json_map("ppl")?.into_values().collect();
        let inputs: BTreeMap<String, ItemInput> = self.json_map("items")?;
        let fu_obj = get_obj(d, &ROOT, "fu")?;
        let mut items = Vec::with_capacity(inputs.len());
        for (id, input) in inputs {
            let follow_up: Vec<FollowUpEntry> = match d.get(&fu_obj, id.as_str())? {
                Some((automerge::Value::Object(_), list)) => read_json_list(d, &list)?,
                _ => Vec::new(),
            };
            let state = match follow_up.last().map(|e| &e.step) {
                Some(FollowUpStep::Closed { .. }) => ItemState::Closed,
                Some(FollowUpStep::Forwarded { .. }) => ItemState::Forwarded,
                Some(FollowUpStep::Checking { .. }) => ItemState::Checking,
                None if input.answered_fully => ItemState::Answered,
                None => ItemState::Open,
            };
            items.push(Item {
                id,
                kind: input.kind,
                text: input.text,
                author: input.author,
                answered_fully: input.answered_fully,
                outside_competence: input.outside_competence,
                state,
                follow_up,
            });
        }
        let draft_obj = get_obj(d, &ROOT, "draft")?;
        let mut draft = BTreeMap::new();
        for item in d.map_range(&draft_obj, ..) {
            if let Some(s) = automerge::Value::from(item.value).as_str() {
                draft.insert(item.key.to_string(), s.to_string());
            }
        }
        let cancelled = log
            .iter()
            .find(|l| l.action == "cancelled")
            .map(|l| l.detail.clone().unwrap_or_default());
        let held_on = log
            .iter()
            .find(|l| l.action == "held")
            .and_then(|l| l.detail.as_deref().and_then(|s| Day::parse(s).ok()));
        let notice = notices
            .iter()
            .rev()
            .find(|n| n.date == plan.date && n.time == plan.time)
            .cloned();
        let stage = if cancelled.is_some() {
            MeetingStage::Cancelled
        } else if held_on.is_some() {
            MeetingStage::Held
        } else if notice.is_some() {
            MeetingStage::Noticed
        } else {
            MeetingStage::Planned
        };
        let corrections_started = log
            .iter()
            .filter(|l| l.action == "correction_started")
            .count();
        let correcting = !signatures.is_empty() && corrections_started >= signatures.len();
        let unsigned_changes = match signatures.last() {
            Some(s) if !correcting => {
                PROTOCOL_FIELDS.iter().any(|f| {
                    draft.get(*f).map(String::as_str).unwrap_or("")
                        != s.content.fields.get(*f).map(String::as_str).unwrap_or("")
                }) || items
                    .iter()
                    .any(|i| !s.content.items.iter().any(|p| p.id == i.id))
            }
            _ => false,
        };
        Ok(Meeting {
            id: get_str(d, &ROOT, "id").ok_or_else(|| corrupt("id"))?,
            region: get_str(d, &ROOT, "region").ok_or_else(|| corrupt("region"))?,
            stage,
            plan,
            notice,
            notices,
            invitations,
            participants,
            items,
            draft,
            signatures,
            correcting,
            unsigned_changes,
            recordings,
            hold: matches!(
                get_scalar(d, &ROOT, "hold"),
                Some(automerge::ScalarValue::Boolean(true))
            ),
            held_on,
            cancelled,
            created_at_ms: get_i64(d, &ROOT, "created_at").unwrap_or(0),
            log,
        })
    }

    /// Applies a command on `today` (the caller's clock, Kazakhstan time); refuses a step the
    /// meeting's stage does not allow, with a code a person can act on.
    pub fn apply(
        &mut self,
        cmd: &MeetingCommand,
        today: Day,
        ctx: &Ctx,
    ) -> Result<(), DomainError> {
        let m = self.view()?;
        let stage_refused = |code: &'static str, what: &str| {
            Err(DomainError::rule(
                code,
                format!("a meeting that is {:?} cannot {what}", m.stage).to_lowercase(),
            ))
        };
        // A hold, and the result of a notice's delivery that was under way, still go on a
        // cancelled meeting.
        if m.stage == MeetingStage::Cancelled
            && !matches!(
                cmd,
                MeetingCommand::SetHold(_) | MeetingCommand::NoticeDelivery(_)
            )
        {
            return stage_refused("meeting_cancelled", "change");
        }
        let signed = !m.signatures.is_empty();
        match cmd {
            MeetingCommand::Reschedule(plan) => {
                if m.stage == MeetingStage::Held {
                    return stage_refused("meeting_held", "be rescheduled");
                }
                let moved = plan.date != m.plan.date || plan.time != m.plan.time;
                self.doc.put(ROOT, "plan", json(plan)?)?;
                self.log(
                    "rescheduled",
                    Some(format!(
                        "{} {}{}",
                        plan.date,
                        plan.time,
                        if moved && m.notice.is_some() {
                            " (a new notice is needed)"
                        } else {
                            ""
                        }
                    )),
                    ctx,
                )
            }
            MeetingCommand::PublishNotice(channels) => {
                if m.stage != MeetingStage::Planned {
                    return stage_refused("meeting_not_planned", "be noticed");
                }
                if channels.is_empty() {
                    return Err(DomainError::rule_field(
                        "meeting_notice_channels",
                        "channels",
                        "a notice goes out through at least one channel",
                    ));
                }
                check_notice(today, m.plan.date)?;
                let mut channels = channels.clone();
                channels.sort();
                channels.dedup();
                let notices = get_obj(&self.doc, &ROOT, "notices")?;
                append_json(
                    &mut self.doc,
                    &notices,
                    &Notice {
                        published_on: today,
                        at_ms: ctx.now_ms,
                        by: ctx.writer(),
                        date: m.plan.date,
                        time: m.plan.time.clone(),
                        channels,
                        deliveries: Vec::new(),
                    },
                )?;
                self.log("noticed", Some(format!("{}", m.plan.date)), ctx)
            }
            MeetingCommand::NoticeDelivery(delivery) => {
                if !m.notices.iter().any(|n| n.at_ms == delivery.notice_at_ms) {
                    return Err(DomainError::rule_field(
                        "meeting_notice_unknown",
                        "notice_at_ms",
                        "the delivery names a notice this meeting does not have",
                    ));
                }
                check_text("target", &delivery.target, NOTICE_TARGET_CHARS_MAX, true)?;
                for (field, v) in [
                    ("reason", &delivery.reason),
                    ("external_id", &delivery.external_id),
                ] {
                    if let Some(v) = v {
                        check_text(field, v, NOTICE_DELIVERY_TEXT_CHARS_MAX, false)?;
                    }
                }
                let list = match self.doc.get(ROOT, "nd")? {
                    Some((automerge::Value::Object(ObjType::List), list)) => list,
                    // An older document: its list is made by the first delivery (only the
                    // region's node writes deliveries, one at a time).
                    _ => self.doc.put_object(ROOT, "nd", ObjType::List)?,
                };
                if self.doc.length(&list) >= NOTICE_DELIVERY_ENTRIES_MAX {
                    return Err(DomainError::rule(
                        "meeting_notice_deliveries_limit",
                        format!(
                            "a meeting records at most {NOTICE_DELIVERY_ENTRIES_MAX} notice deliveries"
                        ),
                    ));
                }
                append_json(&mut self.doc, &list, delivery)?;
                match delivery.state {
                    // Queued with the notice: its own log entry says enough.
                    DeliveryState::Queued => {
                        self.doc.put(ROOT, "updated_at", ctx.now_ms)?;
                        Ok(())
                    }
                    DeliveryState::Sent => {
                        self.log("notice_sent", Some(delivery.target.clone()), ctx)
                    }
                    DeliveryState::Failed => self.log(
                        "notice_failed",
                        Some(format!(
                            "{}: {}",
                            delivery.target,
                            delivery.reason.as_deref().unwrap_or("")
                        )),
                        ctx,
                    ),
                }
            }
            MeetingCommand::Invitation { invitee, state } => {
                let inv = get_obj(&self.doc, &ROOT, "inv")?;
                self.doc.put(
                    &inv,
                    invitee.as_str(),
                    json(&Invitation {
                        state: *state,
                        at_ms: ctx.now_ms,
                        by: ctx.writer(),
                    })?,
                )?;
                self.log(
                    "invitation",
                    Some(format!("{invitee}: {}", json(state)?.trim_matches('"'))),
                    ctx,
                )
            }
            MeetingCommand::Register { id, participant } => {
                if !matches!(m.stage, MeetingStage::Noticed | MeetingStage::Held) || signed {
                    return stage_refused("meeting_registration_closed", "register participants");
                }
                if today != m.plan.date {
                    return Err(DomainError::rule(
                        "meeting_not_today",
                        format!(
                            "participants register on the meeting's day, {}",
                            m.plan.date
                        ),
                    ));
                }
                if !participant.consent {
                    return Err(DomainError::rule_field(
                        "meeting_consent_required",
                        "consent",
                        "a participant is registered only with their consent to the processing of their data",
                    ));
                }
                check_text("name", &participant.name, MEETING_LINE_CHARS_MAX, true)?;
                check_text(
                    "address",
                    &participant.address,
                    MEETING_LINE_CHARS_MAX,
                    true,
                )?;
                check_text(
                    "contact",
                    &participant.contact,
                    MEETING_LINE_CHARS_MAX,
                    true,
                )?;
                check_text("id", id, MEETING_LINE_CHARS_MAX, true)?;
                if m.participants.len() >= MEETING_PARTICIPANTS_MAX {
                    return Err(DomainError::rule(
                        "meeting_participants_limit",
                        format!(
                            "a meeting registers at most {MEETING_PARTICIPANTS_MAX} participants"
                        ),
                    ));
                }
                if m.participants.iter().any(|p| &p.id == id) {
                    return Err(DomainError::rule_field(
                        "meeting_participant_exists",
                        "id",
                        format!("participant {id} is already registered"),
                    ));
                }
                let ppl = get_obj(&self.doc, &ROOT, "ppl")?;
                self.doc.put(
                    &ppl,
                    id.as_str(),
                    json(&Participant {
                        id: id.clone(),
                        name: participant.name.trim().to_string(),
                        address: participant.address.trim().to_string(),
                        contact: participant.contact.trim().to_string(),
                        registered_at_ms: ctx.now_ms,
                        by: ctx.writer(),
                    })?,
                )?;
                self.log("registered", Some(id.clone()), ctx)
            }
            MeetingCommand::MarkHeld => {
                if m.stage != MeetingStage::Noticed {
                    return stage_refused("meeting_not_noticed", "be held");
                }
                if today < m.plan.date {
                    return Err(DomainError::rule(
                        "meeting_not_today",
                        format!("the meeting is on {}", m.plan.date),
                    ));
                }
                self.log("held", Some(m.plan.date.to_string()), ctx)
            }
            MeetingCommand::EditProtocol(fields) => {
                if m.stage != MeetingStage::Held {
                    return stage_refused("meeting_not_held", "have a protocol");
                }
                if signed && !m.correcting {
                    return Err(DomainError::rule(
                        "meeting_protocol_signed",
                        "the protocol is signed; start a correction to change it",
                    ));
                }
                for (k, v) in fields {
                    if !PROTOCOL_FIELDS.contains(&k.as_str()) {
                        return Err(DomainError::field(
                            k,
                            format!("the protocol has no field {k:?}"),
                        ));
                    }
                    check_text(k, v, MEETING_TEXT_CHARS_MAX, false)?;
                }
                let draft = get_obj(&self.doc, &ROOT, "draft")?;
                for (k, v) in fields {
                    self.doc.put(&draft, k.as_str(), v.as_str())?;
                }
                self.log("protocol_edited", None, ctx)
            }
            MeetingCommand::AddItem { id, item } => {
                if m.stage != MeetingStage::Held {
                    return stage_refused("meeting_not_held", "record complaints");
                }
                if signed && !m.correcting {
                    return Err(DomainError::rule(
                        "meeting_protocol_signed",
                        "the protocol is signed; start a correction to add to it",
                    ));
                }
                check_text("id", id, MEETING_LINE_CHARS_MAX, true)?;
                check_text("text", &item.text, MEETING_TEXT_CHARS_MAX, true)?;
                if m.items.len() >= MEETING_ITEMS_MAX || m.items.iter().any(|i| &i.id == id) {
                    return Err(DomainError::rule_field(
                        "meeting_item_exists",
                        "id",
                        format!("item {id} exists, or the meeting has {MEETING_ITEMS_MAX} items"),
                    ));
                }
                if let Some(a) = &item.author {
                    if !m.participants.iter().any(|p| &p.id == a) {
                        return Err(DomainError::rule_field(
                            "meeting_participant_unknown",
                            "author",
                            format!("participant {a} is not registered"),
                        ));
                    }
                }
                let items = get_obj(&self.doc, &ROOT, "items")?;
                self.doc.put(&items, id.as_str(), json(item)?)?;
                let fu = get_obj(&self.doc, &ROOT, "fu")?;
                self.doc.put_object(&fu, id.as_str(), ObjType::List)?;
                self.log("item_added", Some(id.clone()), ctx)
            }
            MeetingCommand::Sign => {
                if m.stage != MeetingStage::Held {
                    return stage_refused("meeting_not_held", "be signed");
                }
                if signed && !m.correcting {
                    return Err(DomainError::rule(
                        "meeting_protocol_signed",
                        "the protocol is already signed",
                    ));
                }
                let content = ProtocolContent {
                    date: m.plan.date,
                    time: m.plan.time.clone(),
                    place_kk: m.plan.place_kk.clone(),
                    place_ru: m.plan.place_ru.clone(),
                    participants: m.participants.len() as u32,
                    fields: PROTOCOL_FIELDS
                        .iter()
                        .map(|f| (f.to_string(), m.draft.get(*f).cloned().unwrap_or_default()))
                        .collect(),
                    items: m
                        .items
                        .iter()
                        .map(|i| ProtocolItem {
                            id: i.id.clone(),
                            kind: i.kind,
                            text: i.text.clone(),
                            answered_fully: i.answered_fully,
                        })
                        .collect(),
                };
                if content
                    .fields
                    .get("decisions")
                    .is_none_or(|s| s.trim().is_empty())
                {
                    return Err(DomainError::rule_field(
                        "meeting_protocol_incomplete",
                        "decisions",
                        "the protocol states the decisions taken (p.32)",
                    ));
                }
                let version = m.signatures.len() as u32 + 1;
                let correction_reason = if version > 1 {
                    m.log
                        .iter()
                        .rev()
                        .find(|l| l.action == "correction_started")
                        .and_then(|l| l.detail.clone())
                } else {
                    None
                };
                let sha256 = hex::encode(Sha256::digest(json(&content)?.as_bytes()));
                let sig = get_obj(&self.doc, &ROOT, "sig")?;
                append_json(
                    &mut self.doc,
                    &sig,
                    &Signature {
                        version,
                        signed_on: today,
                        at_ms: ctx.now_ms,
                        by: ctx.writer(),
                        on_time: protocol_on_time(m.plan.date, today),
                        correction_reason,
                        sha256,
                        content,
                    },
                )?;
                self.log("signed", Some(format!("version {version}")), ctx)
            }
            MeetingCommand::StartCorrection { reason } => {
                if !signed || m.correcting {
                    return Err(DomainError::rule(
                        "meeting_protocol_not_signed",
                        "only a signed protocol is corrected, one correction at a time",
                    ));
                }
                check_text("reason", reason, MEETING_LINE_CHARS_MAX, true)?;
                self.log("correction_started", Some(reason.clone()), ctx)
            }
            MeetingCommand::FollowUp { item, step } => {
                let Some(it) = m.items.iter().find(|i| &i.id == item) else {
                    return Err(DomainError::not_found(format!(
                        "item {item} is not in this meeting"
                    )));
                };
                if !signed {
                    return Err(DomainError::rule(
                        "meeting_protocol_not_signed",
                        "items are followed up once the protocol is signed",
                    ));
                }
                if it.state == ItemState::Closed {
                    return Err(DomainError::rule(
                        "meeting_item_closed",
                        format!("item {item} is closed"),
                    ));
                }
                match step {
                    FollowUpStep::Checking { note } => {
                        check_text("note", note, MEETING_TEXT_CHARS_MAX, true)?
                    }
                    FollowUpStep::Closed { result } => {
                        check_text("result", result, MEETING_TEXT_CHARS_MAX, true)?
                    }
                    FollowUpStep::Forwarded {
                        body,
                        appeal,
                        author_notified: _,
                    } => {
                        check_text("body", body, MEETING_LINE_CHARS_MAX, true)?;
                        check_text("appeal", appeal, MEETING_LINE_CHARS_MAX, true)?;
                    }
                }
                let fu = get_obj(&self.doc, &ROOT, "fu")?;
                let list = get_obj(&self.doc, &fu, item)?;
                append_json(
                    &mut self.doc,
                    &list,
                    &FollowUpEntry {
                        step: step.clone(),
                        at_ms: ctx.now_ms,
                        by: ctx.writer(),
                    },
                )?;
                let action = match step {
                    FollowUpStep::Checking { .. } => "item_checking",
                    FollowUpStep::Forwarded { .. } => "item_forwarded",
                    FollowUpStep::Closed { .. } => "item_closed",
                };
                self.log(action, Some(item.clone()), ctx)
            }
            MeetingCommand::AddRecording(r) => {
                if m.stage != MeetingStage::Held {
                    return stage_refused("meeting_not_held", "have a recording");
                }
                let rec = get_obj(&self.doc, &ROOT, "rec")?;
                append_json(&mut self.doc, &rec, r)?;
                self.log("recording_added", Some(r.id.clone()), ctx)
            }
            MeetingCommand::EraseMaterials => {
                let due = m
                    .held_on
                    .is_some_and(|held| materials_expired(held, today, m.hold));
                if !due {
                    return Err(DomainError::rule(
                        "meeting_materials_kept",
                        "a meeting's materials are kept a year after it was held, and while a hold is on them",
                    ));
                }
                let ppl = get_obj(&self.doc, &ROOT, "ppl")?;
                let keys: Vec<String> = self.doc.keys(&ppl).collect();
                for k in keys {
                    self.doc.delete(&ppl, k.as_str())?;
                }
                let rec = get_obj(&self.doc, &ROOT, "rec")?;
                for i in (0..self.doc.length(&rec)).rev() {
                    self.doc.delete(&rec, i)?;
                }
                self.log("materials_erased", None, ctx)
            }
            MeetingCommand::SetHold(hold) => {
                self.doc.put(ROOT, "hold", *hold)?;
                self.log(if *hold { "hold_set" } else { "hold_released" }, None, ctx)
            }
            MeetingCommand::Cancel { reason } => {
                if m.stage == MeetingStage::Held {
                    return stage_refused("meeting_held", "be cancelled");
                }
                check_text("reason", reason, MEETING_LINE_CHARS_MAX, true)?;
                self.log("cancelled", Some(reason.clone()), ctx)
            }
        }
    }
}
