//! The "102" card as an automerge document, and the rules for changing it.
//!
//! Every command is validated against the materialised card *before* any operation is written, so
//! a refused command leaves the document untouched. Merge rules (see the crate docs):
//! - status is the maximum of the lifecycle stages ever reached (`stages` map, a grow-only set);
//! - the timeline is an append-only list;
//! - unit assignments are a map keyed by unit id (add-wins against a concurrent removal);
//! - every other field is last-writer-wins with the writer recorded.

use automerge::{
    hydrate, transaction::Transactable, ActorId, AutoCommit, ObjType, ReadDoc, ScalarValue, ROOT,
};

use crate::caller::normalize_caller;
use crate::doc::{
    append_json, check_text, get_i64, get_obj, put_lww, read_json_list, require_str, writers_in,
    Ctx, Document, MapFields, WRITERS,
};
use crate::error::DomainError;
use crate::field::report::CardPatrolReport;
use crate::model::{
    limits, Callback, CallbackOutcome, Caller, Card, CardCreate, CardEdit, CardStatus, CardUnit,
    Channel, KuiEntry, Language, Location, Seen, TimelineEvent, Unit, UnitKind, UnitStatus,
};
use crate::reference::Reference;

/// Storage/wire schema version of card documents.
pub const CARD_SCHEMA_VERSION: i64 = 1;

/// A command against one card that needs no other document.
// Commands live for one call; boxing the edit would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum CardCommand {
    Edit(CardEdit),
    SendForProcessing,
    Report {
        text: String,
    },
    LinkDuplicate {
        duplicate_of: String,
    },
    Forward {
        duty_unit: String,
    },
    RegisterKui {
        number: String,
    },
    Note {
        text: String,
    },
    /// The card and a citizen's appeal were linked (R05): an appeal opened from the card, or
    /// the card opened from an appeal. `number` is the appeal's registration number (or its id
    /// before registration).
    LinkAppeal {
        number: String,
    },
    /// A note or directive from the МВД HQ ЦОУ (R21); the context's `by` is the HQ person's
    /// name, shown at the region as "ЦОУ МВД: name".
    HqNote {
        text: String,
    },
    /// An SOS ended before anyone answered: the operator must call back (R10).
    CallbackDue,
    /// The operator's callback of a missed SOS, and what it found.
    CallbackDone {
        outcome: CallbackOutcome,
        note: Option<String>,
    },
}

/// Ending a card: closing after the report, or cancelling. Active units are released.
#[derive(Debug, Clone, PartialEq)]
pub enum Finish {
    Close {
        report: Option<String>,
        reason: Option<String>,
    },
    Cancel {
        reason: String,
    },
}

/// A unit's progress on a card (R20: arrival control).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitStep {
    EnRoute,
    OnScene,
    Clear,
}

pub struct CardDoc {
    doc: AutoCommit,
}

impl Document for CardDoc {
    const SCHEMA_VERSION: i64 = CARD_SCHEMA_VERSION;
    const KIND: &'static str = "card";
    fn wrap(doc: AutoCommit) -> Self {
        CardDoc { doc }
    }
    fn automerge(&mut self) -> &mut AutoCommit {
        &mut self.doc
    }
}

impl std::fmt::Debug for CardDoc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardDoc").finish_non_exhaustive()
    }
}

pub(crate) fn validate_location(loc: &Location) -> Result<(), DomainError> {
    match (loc.lat, loc.lon) {
        (Some(_), None) => {
            return Err(DomainError::field(
                "location.lon",
                "give the longitude together with the latitude, or neither",
            ))
        }
        (None, Some(_)) => {
            return Err(DomainError::field(
                "location.lat",
                "give the latitude together with the longitude, or neither",
            ))
        }
        (None, None) if loc.address.as_deref().is_none_or(|a| a.trim().is_empty()) => {
            return Err(DomainError::field(
                "location",
                "a location needs an address, a point (lat and lon), or both",
            ))
        }
        _ => {}
    }
    if let Some(lat) = loc.lat {
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            return Err(DomainError::field(
                "location.lat",
                format!("latitude {lat} is outside −90…90 degrees"),
            ));
        }
    }
    if let Some(lon) = loc.lon {
        if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
            return Err(DomainError::field(
                "location.lon",
                format!("longitude {lon} is outside −180…180 degrees"),
            ));
        }
    }
    if let Some(a) = loc.accuracy_m {
        if !a.is_finite() || !(0.0..=limits::ACCURACY_M_MAX).contains(&a) {
            return Err(DomainError::field(
                "location.accuracy_m",
                format!("accuracy must be 0…{} metres", limits::ACCURACY_M_MAX),
            ));
        }
    }
    if let Some(addr) = &loc.address {
        check_text("location.address", addr, limits::ADDRESS_CHARS_MAX, false)?;
    }
    Ok(())
}

fn validate_caller(c: &Caller) -> Result<(), DomainError> {
    if let Some(n) = &c.name {
        check_text("caller.name", n, limits::NAME_CHARS_MAX, false)?;
    }
    // `c` is normalised (see `normalize_caller`): these hold for anything a client sends.
    if let Some(p) = &c.phone {
        let ok = p.starts_with('+')
            && p.len() > 1
            && p.chars().count() <= limits::PHONE_CHARS_MAX
            && p[1..].chars().all(|ch| ch.is_ascii_digit());
        if !ok {
            return Err(DomainError::field(
                "caller.phone",
                "the phone number is not in E.164 form",
            ));
        }
    }
    if let Some(r) = &c.phone_raw {
        check_text("caller.phone_raw", r, limits::PHONE_RAW_CHARS_MAX, false)?;
    }
    if let Some(u) = &c.user_id {
        check_text("caller.user_id", u, limits::CODE_CHARS_MAX, true)?;
    }
    Ok(())
}

fn validate_seen(s: &Seen) -> Result<(), DomainError> {
    for (field, v) in [
        ("seen.persons", &s.persons),
        ("seen.vehicles", &s.vehicles),
        ("seen.buildings", &s.buildings),
    ] {
        if let Some(v) = v {
            check_text(field, v, limits::SEEN_CHARS_MAX, false)?;
        }
    }
    Ok(())
}

fn validate_priority(p: Option<u8>) -> Result<(), DomainError> {
    if let Some(p) = p {
        if !(limits::PRIORITY_MIN..=limits::PRIORITY_MAX).contains(&p) {
            return Err(DomainError::field(
                "priority",
                format!(
                    "priority must be {}…{} (1 is the most urgent)",
                    limits::PRIORITY_MIN,
                    limits::PRIORITY_MAX
                ),
            ));
        }
    }
    Ok(())
}

fn validate_category(reference: &Reference, c: &Option<String>) -> Result<(), DomainError> {
    if let Some(code) = c {
        if reference.category(code).is_none() {
            return Err(DomainError::field(
                "category",
                format!("unknown call category '{}'", truncate(code, 64)),
            ));
        }
    }
    Ok(())
}

fn validate_district(reference: &Reference, d: &Option<String>) -> Result<(), DomainError> {
    if let Some(code) = d {
        if reference.district(code).is_none() {
            return Err(DomainError::field(
                "district",
                format!("unknown district '{}'", truncate(code, 64)),
            ));
        }
    }
    Ok(())
}

fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}

/// The root fields an edit writes, in writing order: every field of each given group, `Null`
/// for an absent one.
fn field_values(e: &CardEdit) -> Result<Vec<(&'static str, ScalarValue)>, DomainError> {
    let opt = |v: &Option<String>| {
        v.as_deref()
            .map(ScalarValue::from)
            .unwrap_or(ScalarValue::Null)
    };
    let mut out = Vec::with_capacity(16);
    if let Some(c) = &e.caller {
        out.push(("caller_name", opt(&c.name)));
        out.push(("caller_phone", opt(&c.phone)));
        out.push(("caller_phone_raw", opt(&c.phone_raw)));
        out.push(("caller_user_id", opt(&c.user_id)));
        out.push((
            "caller_language",
            c.language
                .map(|l| ScalarValue::from(l.as_str()))
                .unwrap_or(ScalarValue::Null),
        ));
    }
    if let Some(l) = &e.location {
        let json =
            serde_json::to_string(l).map_err(|e| DomainError::CorruptDocument(e.to_string()))?;
        out.push(("location", json.into()));
    }
    if let Some(v) = &e.description {
        out.push(("description", v.as_str().into()));
    }
    if let Some(s) = &e.seen {
        out.push(("seen_persons", opt(&s.persons)));
        out.push(("seen_vehicles", opt(&s.vehicles)));
        out.push(("seen_buildings", opt(&s.buildings)));
    }
    if let Some(v) = &e.category {
        out.push(("category", v.as_str().into()));
    }
    if let Some(p) = e.priority {
        out.push(("priority", (p as i64).into()));
    }
    if let Some(v) = &e.district {
        out.push(("district", v.as_str().into()));
    }
    Ok(out)
}

/// The units assigned to a card, in a deterministic order.
fn units_in(d: &AutoCommit, units_obj: &automerge::ObjId) -> Vec<CardUnit> {
    let mut out = Vec::new();
    for item in d.map_range(units_obj, ..) {
        let u = MapFields::read(d, &item.id());
        let kind = u
            .str("kind")
            .and_then(|k| UnitKind::parse(&k))
            .unwrap_or(UnitKind::Other);
        out.push(CardUnit {
            unit_id: item.key.to_string(),
            call_sign: u.str("call_sign").unwrap_or_default(),
            kind,
            assigned_at: u.i64("assigned_at").unwrap_or(0),
            assigned_by: u.str("assigned_by").unwrap_or_default(),
            en_route_at: u.i64("en_route_at"),
            on_scene_at: u.i64("on_scene_at"),
            cleared_at: u.i64("cleared_at"),
        });
    }
    // Deterministic order for readers: by assignment time, then id.
    out.sort_by(|a, b| (a.assigned_at, &a.unit_id).cmp(&(b.assigned_at, &b.unit_id)));
    out
}

/// The furthest stage among the keys of a card's `stages` map.
fn status_of<K: AsRef<str>>(stage_keys: impl Iterator<Item = K>) -> CardStatus {
    stage_keys
        .filter_map(|k| CardStatus::parse(k.as_ref()))
        .max()
        .unwrap_or(CardStatus::New)
}

/// A new card validated against the reference data: the caller normalised once (a phone as
/// people write it becomes E.164, the raw form kept) and the district resolved: the one given,
/// else the one whose territory contains the location (R02). The node checks before it takes a
/// number, then builds the card from this without normalising again.
#[derive(Debug, Clone)]
pub struct CheckedCreate {
    input: CardCreate,
    district: Option<String>,
}

impl CheckedCreate {
    pub fn new(input: &CardCreate, reference: &Reference) -> Result<Self, DomainError> {
        // As the card will hold it: a phone typed as people write it is normalised, not refused.
        let input = CardCreate {
            caller: normalize_caller(&input.caller),
            ..input.clone()
        };
        validate_caller(&input.caller)?;
        if let Some(l) = &input.location {
            validate_location(l)?;
        }
        if let Some(d) = &input.description {
            check_text("description", d, limits::DESCRIPTION_CHARS_MAX, false)?;
        }
        validate_seen(&input.seen)?;
        validate_category(reference, &input.category)?;
        validate_priority(input.priority)?;
        validate_district(reference, &input.district)?;
        let district = input.district.clone().or_else(|| {
            input
                .location
                .as_ref()
                .and_then(Location::point)
                .and_then(|(lat, lon)| reference.district_at(lat, lon))
                .map(|d| d.code.clone())
        });
        Ok(Self { input, district })
    }

    /// Refuses a new card that could not be sent for processing at once (a card created and sent
    /// in one step is checked before it takes a number, so a refused send leaves no card).
    pub fn require_sendable(&self) -> Result<(), DomainError> {
        sendable(
            self.input.category.as_deref(),
            self.input.location.as_ref(),
            self.district.as_deref(),
        )
    }
}

impl CardDoc {
    /// Creates a card document. `id` is a UUID, `number` the human number.
    pub fn create(
        actor: ActorId,
        id: &str,
        number: &str,
        region: &str,
        input: &CardCreate,
        reference: &Reference,
        ctx: &Ctx,
    ) -> Result<CardDoc, DomainError> {
        let checked = CheckedCreate::new(input, reference)?;
        Self::create_checked(actor, id, number, region, &checked, reference, ctx)
    }

    /// [`CardDoc::create`] for an input already checked with [`CheckedCreate::new`].
    pub fn create_checked(
        actor: ActorId,
        id: &str,
        number: &str,
        region: &str,
        checked: &CheckedCreate,
        reference: &Reference,
        ctx: &Ctx,
    ) -> Result<CardDoc, DomainError> {
        let input = &checked.input;
        let district = checked.district.clone();
        // Creation writes only the fields that were given; absent means "not set".
        let priority = input.priority.or_else(|| {
            input
                .category
                .as_deref()
                .and_then(|c| reference.category(c))
                .map(|c| c.priority)
        });
        let fields = field_values(&CardEdit {
            caller: Some(input.caller.clone()),
            location: input.location.clone(),
            description: input.description.clone(),
            seen: Some(input.seen.clone()),
            category: input.category.clone(),
            priority,
            district,
        })?;
        let created = serde_json::to_string(&TimelineEvent {
            at: ctx.now_ms,
            by: ctx.by.clone(),
            kind: "created".to_string(),
            text: input.channel.as_str().to_string(),
        })
        .map_err(|e| DomainError::CorruptDocument(e.to_string()))?;
        let mut root = hydrate::Map::default();
        let mut put = |key: &str, value: hydrate::Value| {
            root.insert(
                key.to_string(),
                hydrate::MapValue {
                    value,
                    conflict: false,
                },
            );
        };
        let scalar = |v: ScalarValue| hydrate::Value::Scalar(v);
        put("v", scalar(CARD_SCHEMA_VERSION.into()));
        put("id", scalar(id.into()));
        put("number", scalar(number.into()));
        put("region", scalar(region.into()));
        put("channel", scalar(input.channel.as_str().into()));
        put("created_at", scalar(ctx.now_ms.into()));
        put("created_by", scalar(ctx.by.as_str().into()));
        // The writers map starts empty: the creator (`created_by`) wrote every field that has
        // no writer entry, which saves two ops per field on the hottest path.
        put(WRITERS, hydrate::Value::map());
        let mut stages = hydrate::Map::default();
        stages.insert(
            CardStatus::New.as_str().to_string(),
            hydrate::MapValue {
                value: scalar(ctx.now_ms.into()),
                conflict: false,
            },
        );
        put("stages", stages.into());
        put("timeline", vec![scalar(created.into())].into());
        put("units", hydrate::Value::map());
        for (key, v) in fields {
            if !v.is_null() {
                put(key, scalar(v));
            }
        }
        // The whole tree in one batch: one op-set splice instead of one per field, several
        // times cheaper than a `put` per key on the hottest write path. The document is the
        // same (one change, the same keys and values); only its op order follows the keys.
        let mut doc = AutoCommit::new().with_actor(actor);
        doc.init_root_from_hydrate(&root)?;
        doc.commit();
        Ok(CardDoc { doc })
    }

    pub fn id(&self) -> Result<String, DomainError> {
        require_str(&self.doc, &ROOT, "id")
    }

    /// Status from the lifecycle lattice: the furthest stage ever reached.
    pub fn status(&self) -> Result<CardStatus, DomainError> {
        let stages = get_obj(&self.doc, &ROOT, "stages")?;
        Ok(status_of(
            self.doc.map_range(&stages, ..).map(|item| item.key),
        ))
    }

    /// Materialises the card.
    pub fn view(&self, reference: &Reference) -> Result<Card, DomainError> {
        Self::view_of(&self.doc, reference)
    }

    /// Materialises a card from a document that is not (yet) wrapped as a `CardDoc`, such as
    /// one a repository is about to store: no copy of the document is needed to read it.
    pub fn view_of(d: &AutoCommit, reference: &Reference) -> Result<Card, DomainError> {
        // One pass over the root map instead of a keyed lookup per field (see `MapFields`).
        let f = MapFields::read(d, &ROOT);
        let channel = f.require_str("channel")?;
        let channel = Channel::parse(&channel)
            .ok_or_else(|| DomainError::CorruptDocument(format!("unknown channel {channel}")))?;
        let timeline_obj = f.obj("timeline")?;
        let timeline: Vec<TimelineEvent> = read_json_list(d, &timeline_obj)?;
        let created_at = f.i64("created_at").unwrap_or(0);
        let updated_at = timeline.iter().map(|e| e.at).max().unwrap_or(created_at);
        let units = units_in(d, &f.obj("units")?);
        let location = f
            .str("location")
            .and_then(|s| serde_json::from_str(&s).ok());
        let forwarded_at = f.i64("forwarded_at");
        let kui_number = f.str("kui_number");
        let kui = forwarded_at.map(|fwd| KuiEntry {
            number: kui_number.clone(),
            registered_at: f.i64("kui_registered_at"),
            deadline_at: fwd.saturating_add(reference.kui_deadline_ms()),
            registered_by: f.str("kui_registered_by"),
        });
        let stages = MapFields::read(d, &f.obj("stages")?);
        let field_writers = match f.obj_typed(WRITERS) {
            Some((ObjType::Map, w)) => writers_in(d, &w),
            _ => Default::default(),
        };
        let status = status_of(stages.keys());
        Ok(Card {
            id: f.require_str("id")?,
            number: f.require_str("number")?,
            region: f.require_str("region")?,
            district: f.str("district"),
            channel,
            status,
            status_since: stages.i64(status.as_str()).unwrap_or(created_at),
            created_at,
            updated_at,
            created_by: f.str("created_by").unwrap_or_default(),
            caller: Caller {
                name: f.str("caller_name"),
                phone: f.str("caller_phone"),
                phone_raw: f.str("caller_phone_raw"),
                user_id: f.str("caller_user_id"),
                language: f.str("caller_language").and_then(|s| Language::parse(&s)),
            },
            location,
            description: f.str("description"),
            seen: Seen {
                persons: f.str("seen_persons"),
                vehicles: f.str("seen_vehicles"),
                buildings: f.str("seen_buildings"),
            },
            category: f.str("category"),
            priority: f.i64("priority").and_then(|p| u8::try_from(p).ok()),
            sent_for_processing_at: stages.i64(CardStatus::SentForProcessing.as_str()),
            timeline,
            units,
            dsog_dispatched_at: f.i64("dsog_dispatched_at"),
            forwarded_to: f.str("forwarded_to"),
            forwarded_at,
            kui,
            duplicate_of: f.str("duplicate_of"),
            patrol_report: f.str("patrol_report"),
            patrol_reports: match f.obj_typed(FIELD_ENTRIES) {
                Some((ObjType::Map, m)) => patrol_reports_in(d, &m),
                _ => Vec::new(),
            },
            close_summary: f.str("close_summary"),
            close_reason: f.str("close_reason"),
            cancel_reason: f.str("cancel_reason"),
            callback: f
                .str("callback")
                .and_then(|s| serde_json::from_str(&s).ok()),
            field_writers,
        })
    }

    fn writers(&self) -> Result<automerge::ObjId, DomainError> {
        get_obj(&self.doc, &ROOT, WRITERS)
    }

    fn event(&mut self, ctx: &Ctx, kind: &str, text: &str) -> Result<(), DomainError> {
        let tl = get_obj(&self.doc, &ROOT, "timeline")?;
        append_json(
            &mut self.doc,
            &tl,
            &TimelineEvent {
                at: ctx.now_ms,
                by: ctx.by.clone(),
                kind: kind.to_string(),
                text: text.to_string(),
            },
        )
    }

    fn reach(&mut self, stage: CardStatus, ctx: &Ctx) -> Result<(), DomainError> {
        let stages = get_obj(&self.doc, &ROOT, "stages")?;
        if get_i64(&self.doc, &stages, stage.as_str()).is_none() {
            self.doc.put(&stages, stage.as_str(), ctx.now_ms)?;
        }
        Ok(())
    }

    /// An edit writes every field of a given group, clearing absent ones, each with its writer.
    fn write_fields(
        &mut self,
        writers: &automerge::ObjId,
        e: &CardEdit,
        ctx: &Ctx,
    ) -> Result<(), DomainError> {
        for (key, v) in field_values(e)? {
            put_lww(&mut self.doc, writers, key, v, ctx)?;
        }
        Ok(())
    }

    /// Runs `f` as one change: commits on success, rolls back every pending op on error.
    fn change<T>(
        &mut self,
        f: impl FnOnce(&mut CardDoc) -> Result<T, DomainError>,
    ) -> Result<T, DomainError> {
        match f(self) {
            Ok(v) => {
                self.doc.commit();
                Ok(v)
            }
            Err(e) => {
                self.doc.rollback();
                Err(e)
            }
        }
    }

    /// Applies a single-card command after validating it.
    pub fn apply(
        &mut self,
        cmd: &CardCommand,
        reference: &Reference,
        ctx: &Ctx,
    ) -> Result<(), DomainError> {
        let normalized;
        let cmd = match cmd {
            CardCommand::Edit(e) if e.caller.is_some() => {
                normalized = CardCommand::Edit(CardEdit {
                    caller: e.caller.as_ref().map(normalize_caller),
                    ..e.clone()
                });
                &normalized
            }
            _ => cmd,
        };
        let card = self.view(reference)?;
        validate_command(&card, cmd, reference)?;
        self.change(|c| {
            let writers = c.writers()?;
            match cmd {
                CardCommand::Edit(e) => {
                    c.write_fields(&writers, e, ctx)?;
                    let mut changed: Vec<&str> = Vec::new();
                    if e.caller.is_some() {
                        changed.push("caller");
                    }
                    if e.location.is_some() {
                        changed.push("location");
                    }
                    if e.description.is_some() {
                        changed.push("description");
                    }
                    if e.seen.is_some() {
                        changed.push("seen");
                    }
                    if e.category.is_some() {
                        changed.push("category");
                    }
                    if e.priority.is_some() {
                        changed.push("priority");
                    }
                    if e.district.is_some() {
                        changed.push("district");
                    }
                    c.event(ctx, "edited", &changed.join(","))
                }
                CardCommand::SendForProcessing => {
                    c.reach(CardStatus::SentForProcessing, ctx)?;
                    c.event(
                        ctx,
                        "sent_for_processing",
                        card.district.as_deref().unwrap_or(""),
                    )
                }
                CardCommand::Report { text } => {
                    put_lww(&mut c.doc, &writers, "patrol_report", text.as_str(), ctx)?;
                    c.reach(CardStatus::Reported, ctx)?;
                    c.event(ctx, "report", text)
                }
                CardCommand::LinkDuplicate { duplicate_of } => {
                    put_lww(
                        &mut c.doc,
                        &writers,
                        "duplicate_of",
                        duplicate_of.as_str(),
                        ctx,
                    )?;
                    c.reach(CardStatus::LinkedDuplicate, ctx)?;
                    c.event(ctx, "linked_duplicate", duplicate_of)
                }
                CardCommand::Forward { duty_unit } => {
                    put_lww(
                        &mut c.doc,
                        &writers,
                        "forwarded_to",
                        duty_unit.as_str(),
                        ctx,
                    )?;
                    if card.forwarded_at.is_none() {
                        put_lww(&mut c.doc, &writers, "forwarded_at", ctx.now_ms, ctx)?;
                    }
                    c.event(ctx, "forwarded", duty_unit)
                }
                CardCommand::RegisterKui { number } => {
                    put_lww(&mut c.doc, &writers, "kui_number", number.as_str(), ctx)?;
                    put_lww(&mut c.doc, &writers, "kui_registered_at", ctx.now_ms, ctx)?;
                    put_lww(
                        &mut c.doc,
                        &writers,
                        "kui_registered_by",
                        ctx.by.as_str(),
                        ctx,
                    )?;
                    c.event(ctx, "kui_registered", number)
                }
                CardCommand::Note { text } => c.event(ctx, "note", text),
                CardCommand::LinkAppeal { number } => c.event(ctx, "appeal_linked", number),
                CardCommand::HqNote { text } => c.event(ctx, "hq_note", text),
                CardCommand::CallbackDue => {
                    let callback = Callback {
                        due_since: ctx.now_ms,
                        outcome: None,
                        outcome_at: None,
                        outcome_by: None,
                        note: None,
                    };
                    c.put_callback(&writers, &callback, ctx)?;
                    c.event(ctx, "callback_due", "")
                }
                CardCommand::CallbackDone { outcome, note } => {
                    let due_since = card.callback.as_ref().map_or(ctx.now_ms, |b| b.due_since);
                    let callback = Callback {
                        due_since,
                        outcome: Some(*outcome),
                        outcome_at: Some(ctx.now_ms),
                        outcome_by: Some(ctx.by.clone()),
                        note: note.clone(),
                    };
                    c.put_callback(&writers, &callback, ctx)?;
                    c.event(ctx, "callback", outcome.as_str())
                }
            }
        })
    }

    fn put_callback(
        &mut self,
        writers: &automerge::ObjId,
        callback: &Callback,
        ctx: &Ctx,
    ) -> Result<(), DomainError> {
        let json = serde_json::to_string(callback)
            .map_err(|e| DomainError::CorruptDocument(e.to_string()))?;
        put_lww(&mut self.doc, writers, "callback", json.as_str(), ctx)
    }

    /// Records a warning handed to a patrol (R08) on the timeline.
    pub fn record_warning(&mut self, ctx: &Ctx, text: &str) -> Result<(), DomainError> {
        self.change(|c| c.event(ctx, "warning_issued", text))
    }
}

/// What "send for processing" needs (R03): a call category, the place, and the district the
/// card goes to (R02).
fn sendable(
    category: Option<&str>,
    location: Option<&Location>,
    district: Option<&str>,
) -> Result<(), DomainError> {
    if category.is_none() {
        return Err(DomainError::field(
            "category",
            "choose a call category before sending the card for processing",
        ));
    }
    if location.is_none() {
        return Err(DomainError::field(
            "location",
            "enter the place of the incident before sending the card for processing",
        ));
    }
    if district.is_none() {
        return Err(DomainError::field(
            "district",
            "the location is outside every district of the region: choose the district",
        ));
    }
    Ok(())
}

fn require_open(card: &Card) -> Result<(), DomainError> {
    if card.status.is_terminal() {
        return Err(DomainError::transition(format!(
            "card {} is {} and can no longer be changed",
            card.number,
            card.status.as_str()
        )));
    }
    Ok(())
}

fn validate_command(
    card: &Card,
    cmd: &CardCommand,
    reference: &Reference,
) -> Result<(), DomainError> {
    if card.timeline.len() >= limits::TIMELINE_EVENTS_MAX {
        return Err(DomainError::transition(format!(
            "card {} has reached {} timeline events; open a new card",
            card.number,
            limits::TIMELINE_EVENTS_MAX
        )));
    }
    match cmd {
        CardCommand::Edit(e) => {
            require_open(card)?;
            if let Some(c) = &e.caller {
                validate_caller(c)?;
            }
            if let Some(l) = &e.location {
                validate_location(l)?;
            }
            if let Some(d) = &e.description {
                check_text("description", d, limits::DESCRIPTION_CHARS_MAX, false)?;
            }
            if let Some(s) = &e.seen {
                validate_seen(s)?;
            }
            validate_category(reference, &e.category)?;
            validate_priority(e.priority)?;
            validate_district(reference, &e.district)?;
            if e == &CardEdit::default() {
                return Err(DomainError::field("", "the edit changes no field"));
            }
            Ok(())
        }
        CardCommand::SendForProcessing => {
            if card.status != CardStatus::New {
                return Err(DomainError::transition(format!(
                    "card {} was already sent for processing (status {})",
                    card.number,
                    card.status.as_str()
                )));
            }
            sendable(
                card.category.as_deref(),
                card.location.as_ref(),
                card.district.as_deref(),
            )?;
            Ok(())
        }
        CardCommand::Report { text } => {
            require_open(card)?;
            check_text("text", text, limits::REPORT_CHARS_MAX, true)?;
            if card.units.is_empty() {
                return Err(DomainError::transition(
                    "no unit was dispatched to this card, so there is no patrol report to record",
                ));
            }
            Ok(())
        }
        CardCommand::LinkDuplicate { duplicate_of } => {
            require_open(card)?;
            check_text("duplicate_of", duplicate_of, limits::CODE_CHARS_MAX, true)?;
            if duplicate_of == &card.id || duplicate_of == &card.number {
                return Err(DomainError::field(
                    "duplicate_of",
                    "a card cannot be a duplicate of itself",
                ));
            }
            Ok(())
        }
        CardCommand::Forward { duty_unit } => {
            if matches!(
                card.status,
                CardStatus::Cancelled | CardStatus::LinkedDuplicate
            ) {
                return Err(DomainError::transition(format!(
                    "card {} is {}; nothing to forward",
                    card.number,
                    card.status.as_str()
                )));
            }
            if card.status == CardStatus::New {
                return Err(DomainError::transition(
                    "send the card for processing before forwarding it to a duty unit",
                ));
            }
            if reference.duty_unit(duty_unit).is_none() {
                return Err(DomainError::field(
                    "duty_unit",
                    format!("unknown duty unit '{}'", truncate(duty_unit, 64)),
                ));
            }
            Ok(())
        }
        CardCommand::RegisterKui { number } => {
            check_text("number", number, limits::KUI_NUMBER_CHARS_MAX, true)?;
            if card.forwarded_to.is_none() {
                return Err(DomainError::transition(
                    "the card has not been forwarded to a duty unit; КУИ registration is done by the duty unit",
                ));
            }
            if card.kui.as_ref().and_then(|k| k.number.as_ref()).is_some() {
                return Err(DomainError::transition(format!(
                    "card {} is already registered in КУИ",
                    card.number
                )));
            }
            Ok(())
        }
        CardCommand::Note { text } | CardCommand::HqNote { text } => {
            check_text("text", text, limits::NOTE_CHARS_MAX, true)
        }
        CardCommand::LinkAppeal { number } => {
            check_text("number", number, limits::CODE_CHARS_MAX, true)
        }
        CardCommand::CallbackDue => {
            require_open(card)?;
            if card.callback.as_ref().is_some_and(Callback::is_due) {
                return Err(DomainError::transition(format!(
                    "card {} is already waiting for a callback",
                    card.number
                )));
            }
            Ok(())
        }
        CardCommand::CallbackDone { note, .. } => {
            require_open(card)?;
            if let Some(n) = note {
                check_text("note", n, limits::NOTE_CHARS_MAX, false)?;
            }
            if !card.callback.as_ref().is_some_and(Callback::is_due) {
                return Err(DomainError::transition(format!(
                    "card {} is not waiting for a callback",
                    card.number
                )));
            }
            Ok(())
        }
    }
}

// ---- commands that touch a card and its units together -------------------------------------

use crate::unit::UnitDoc;

/// Dispatches a unit to the card (R04/R06; `investigative` = ДСОГ sent after a confirmed crime).
/// Both documents are validated before either is changed.
pub fn dispatch(
    card: &mut CardDoc,
    unit: &mut UnitDoc,
    investigative: bool,
    reference: &Reference,
    ctx: &Ctx,
) -> Result<(), DomainError> {
    let c = card.view(reference)?;
    let u = unit.view(reference, ctx.now_ms)?;
    require_open(&c)?;
    if c.status == CardStatus::New {
        return Err(DomainError::transition(
            "the card has not been sent for processing yet",
        ));
    }
    if c.units.len() >= limits::UNITS_PER_CARD_MAX {
        return Err(DomainError::transition(format!(
            "a card can have at most {} units",
            limits::UNITS_PER_CARD_MAX
        )));
    }
    if c.unit(&u.id).is_some_and(|x| x.is_active()) {
        return Err(DomainError::transition(format!(
            "unit {} is already dispatched to this card",
            u.call_sign
        )));
    }
    check_unit_available(&u)?;
    if investigative && u.kind != UnitKind::InvestigativeGroup {
        return Err(DomainError::field(
            "unit_id",
            format!("unit {} is not a ДСОГ investigative group", u.call_sign),
        ));
    }
    if !investigative && u.kind == UnitKind::InvestigativeGroup {
        return Err(DomainError::transition(
            "ДСОГ is sent when a crime is confirmed: use the ДСОГ action",
        ));
    }
    if investigative && c.units.is_empty() {
        return Err(DomainError::transition(
            "send a patrol to check first; ДСОГ goes when the crime is confirmed (R06)",
        ));
    }
    card.change(|cd| {
        let units_obj = get_obj(&cd.doc, &ROOT, "units")?;
        let entry = cd.doc.put_object(&units_obj, u.id.as_str(), ObjType::Map)?;
        cd.doc.put(&entry, "call_sign", u.call_sign.as_str())?;
        cd.doc.put(&entry, "kind", u.kind.as_str())?;
        cd.doc.put(&entry, "assigned_at", ctx.now_ms)?;
        cd.doc.put(&entry, "assigned_by", ctx.by.as_str())?;
        cd.reach(CardStatus::Dispatched, ctx)?;
        if investigative {
            let writers = cd.writers()?;
            put_lww(&mut cd.doc, &writers, "dsog_dispatched_at", ctx.now_ms, ctx)?;
            cd.event(ctx, "dsog_dispatched", &u.call_sign)
        } else {
            cd.event(ctx, "dispatched", &u.call_sign)
        }
    })?;
    unit.assign(&c.id, ctx)
}

pub(crate) fn check_unit_available(u: &Unit) -> Result<(), DomainError> {
    match u.status {
        UnitStatus::Available => Ok(()),
        UnitStatus::OffDuty => Err(DomainError::transition(format!(
            "unit {} is off duty and cannot be dispatched",
            u.call_sign
        ))),
        _ => Err(DomainError::transition(format!(
            "unit {} is busy ({}) on another card",
            u.call_sign,
            u.status.as_str()
        ))),
    }
}

/// A unit reports progress on a card: en route, on scene (arrival control), cleared.
pub fn unit_step(
    card: &mut CardDoc,
    unit: &mut UnitDoc,
    step: UnitStep,
    reference: &Reference,
    ctx: &Ctx,
) -> Result<(), DomainError> {
    let c = card.view(reference)?;
    let u = unit.view(reference, ctx.now_ms)?;
    let on_card = c.unit(&u.id).ok_or_else(|| {
        DomainError::not_found(format!(
            "unit {} is not dispatched to card {}",
            u.call_sign, c.number
        ))
    })?;
    if !on_card.is_active() {
        return Err(DomainError::transition(format!(
            "unit {} has already cleared from card {}",
            u.call_sign, c.number
        )));
    }
    let (key, kind) = match step {
        UnitStep::EnRoute => {
            if on_card.en_route_at.is_some() || on_card.on_scene_at.is_some() {
                return Err(DomainError::transition(format!(
                    "unit {} is already en route or on scene",
                    u.call_sign
                )));
            }
            ("en_route_at", "en_route")
        }
        UnitStep::OnScene => {
            if on_card.on_scene_at.is_some() {
                return Err(DomainError::transition(format!(
                    "unit {} is already on scene",
                    u.call_sign
                )));
            }
            ("on_scene_at", "on_scene")
        }
        UnitStep::Clear => ("cleared_at", "cleared"),
    };
    card.change(|cd| {
        let units_obj = get_obj(&cd.doc, &ROOT, "units")?;
        let entry = get_obj(&cd.doc, &units_obj, &u.id)?;
        cd.doc.put(&entry, key, ctx.now_ms)?;
        if step == UnitStep::OnScene {
            cd.reach(CardStatus::OnScene, ctx)?;
        }
        cd.event(ctx, kind, &u.call_sign)
    })?;
    match step {
        UnitStep::EnRoute => unit.set_status(UnitStatus::EnRoute, Some(&c.id), ctx),
        UnitStep::OnScene => unit.set_status(UnitStatus::OnScene, Some(&c.id), ctx),
        UnitStep::Clear => unit.release(&c.id, ctx),
    }
}

/// Map of the field log entries applied to the card (entry id → what it was), so an entry that
/// arrives again (a resend, a node restart mid-apply) is applied once; reports keep their
/// content here ([`CardPatrolReport`]).
const FIELD_ENTRIES: &str = "field_entries";

#[derive(serde::Serialize, serde::Deserialize)]
struct AppliedEntry {
    kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    report: Option<CardPatrolReport>,
}

fn patrol_reports_in(d: &AutoCommit, m: &automerge::ObjId) -> Vec<CardPatrolReport> {
    let mut out: Vec<CardPatrolReport> = d
        .map_range(m, ..)
        .filter_map(|item| {
            let v = automerge::Value::from(item.value);
            serde_json::from_str::<AppliedEntry>(v.as_str()?)
                .ok()?
                .report
        })
        .collect();
    out.sort_by(|a, b| (a.at_ms, &a.entry_id).cmp(&(b.at_ms, &b.entry_id)));
    out
}

/// What applying a unit's field log entry to a card did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldApplied {
    /// The card (and the unit) now say what the entry says, at the entry's time.
    Applied,
    /// The entry was applied before.
    AlreadyApplied,
    /// The step could not change the card (the dispatcher recorded it already, or the unit was
    /// released): it is on the timeline at its time, and the reason is given.
    RecordedOnly(String),
}

/// Applies an entry of a unit's field log (FieldTerminal) to the card it names: a status is
/// the unit's step on the card (en route, on scene, cleared) or a timeline event
/// (acknowledged, backup needed), a report (R34) is kept in the standard format and becomes the
/// card's patrol report, a note goes on the timeline. `ctx` carries the officer, the unit as
/// the replica and the entry's own time, so everything is recorded at the time the officer
/// tapped it, however late it arrives. Each entry is applied once.
pub fn apply_field_entry(
    card: &mut CardDoc,
    unit: &mut UnitDoc,
    entry: &crate::field::FieldEntry,
    reference: &Reference,
    ctx: &Ctx,
) -> Result<FieldApplied, DomainError> {
    use crate::field::{FieldEntryBody, FieldStatus};
    if let Some((ObjType::Map, m)) = match card.doc.get(ROOT, FIELD_ENTRIES)? {
        Some((automerge::Value::Object(t), id)) => Some((t, id)),
        _ => None,
    } {
        if card.doc.get(&m, entry.id.as_str())?.is_some() {
            return Ok(FieldApplied::AlreadyApplied);
        }
    }
    let u = unit.view(reference, ctx.now_ms)?;
    let step = match &entry.body {
        FieldEntryBody::Status { status } => match status {
            FieldStatus::EnRoute => Some(UnitStep::EnRoute),
            FieldStatus::OnScene => Some(UnitStep::OnScene),
            FieldStatus::Cleared => Some(UnitStep::Clear),
            FieldStatus::Acknowledged | FieldStatus::NeedBackup => None,
        },
        _ => None,
    };
    let mut outcome = FieldApplied::Applied;
    if let Some(step) = step {
        if let Err(e) = unit_step(card, unit, step, reference, ctx) {
            outcome = FieldApplied::RecordedOnly(e.to_string());
        }
    }
    let (kind, report) = match &entry.body {
        FieldEntryBody::Status { status } => (status.as_str().to_string(), None),
        FieldEntryBody::Report { report } => (
            "report".to_string(),
            Some(CardPatrolReport {
                entry_id: entry.id.clone(),
                unit_id: u.id.clone(),
                call_sign: u.call_sign.clone(),
                by: entry.by.clone(),
                at_ms: entry.at_ms,
                report: report.clone(),
            }),
        ),
        FieldEntryBody::Note { .. } => ("note".to_string(), None),
    };
    let applied = serde_json::to_string(&AppliedEntry {
        kind,
        report: report.clone(),
    })
    .map_err(|e| DomainError::field("entry", e.to_string()))?;
    let timeline: Option<(&str, String)> = match (&entry.body, &outcome) {
        (FieldEntryBody::Status { status }, FieldApplied::RecordedOnly(_)) => Some((
            "unit_status_late",
            format!("{} {}", u.call_sign, status.as_str()),
        )),
        (
            FieldEntryBody::Status {
                status: FieldStatus::Acknowledged,
            },
            _,
        ) => Some(("unit_acknowledged", u.call_sign.clone())),
        (
            FieldEntryBody::Status {
                status: FieldStatus::NeedBackup,
            },
            _,
        ) => Some(("unit_need_backup", u.call_sign.clone())),
        (FieldEntryBody::Status { .. }, _) => None,
        (FieldEntryBody::Report { .. }, _) => Some(("patrol_report", u.call_sign.clone())),
        (FieldEntryBody::Note { text }, _) => {
            Some(("field_note", format!("{}: {}", u.call_sign, text)))
        }
    };
    card.change(|cd| {
        let m = match cd.doc.get(ROOT, FIELD_ENTRIES)? {
            Some((automerge::Value::Object(ObjType::Map), id)) => id,
            _ => cd.doc.put_object(ROOT, FIELD_ENTRIES, ObjType::Map)?,
        };
        cd.doc.put(&m, entry.id.as_str(), applied.as_str())?;
        if let Some(r) = &report {
            let text = format!(
                "{} — {}",
                r.report.established.trim(),
                r.report.measures.trim()
            );
            let writers = cd.writers()?;
            put_lww(&mut cd.doc, &writers, "patrol_report", text.as_str(), ctx)?;
        }
        if let Some((kind, text)) = &timeline {
            cd.event(ctx, kind, text)?;
        }
        Ok(())
    })?;
    Ok(outcome)
}

/// Closes or cancels a card, releasing every unit still on it.
///
/// Closing needs the patrol's report: either one was recorded, or `report` carries it. A card
/// that no unit was ever sent to can be closed only with a reason (e.g. a consultation).
pub fn finish(
    card: &mut CardDoc,
    units: &mut [&mut UnitDoc],
    how: &Finish,
    reference: &Reference,
    ctx: &Ctx,
) -> Result<(), DomainError> {
    let c = card.view(reference)?;
    require_open(&c)?;
    let active: Vec<&CardUnit> = c.active_units().collect();
    for a in &active {
        if !units
            .iter()
            .any(|u| u.id().ok().as_deref() == Some(a.unit_id.as_str()))
        {
            return Err(DomainError::not_found(format!(
                "unit {} on the card could not be loaded to release it",
                a.call_sign
            )));
        }
    }
    match how {
        Finish::Close { report, reason } => {
            if let Some(r) = report {
                check_text("report", r, limits::REPORT_CHARS_MAX, true)?;
            }
            if let Some(r) = reason {
                check_text("reason", r, limits::REASON_CHARS_MAX, true)?;
            }
            if c.units.is_empty() && reason.is_none() {
                return Err(DomainError::field(
                    "reason",
                    "no unit was dispatched to this card: give a reason to close it",
                ));
            }
            if !c.units.is_empty() && c.patrol_report.is_none() && report.is_none() {
                return Err(DomainError::field(
                    "report",
                    "the card closes after the patrol's report: enter the report",
                ));
            }
        }
        Finish::Cancel { reason } => {
            check_text("reason", reason, limits::REASON_CHARS_MAX, true)?;
        }
    }
    card.change(|cd| {
        let writers = cd.writers()?;
        let units_obj = get_obj(&cd.doc, &ROOT, "units")?;
        for a in &active {
            let entry = get_obj(&cd.doc, &units_obj, &a.unit_id)?;
            cd.doc.put(&entry, "cleared_at", ctx.now_ms)?;
        }
        match how {
            Finish::Close { report, reason } => {
                match (report, &c.patrol_report) {
                    // The patrol's own report stays; the dispatcher's text is a closing summary.
                    (Some(r), Some(_)) => {
                        put_lww(&mut cd.doc, &writers, "close_summary", r.as_str(), ctx)?;
                        cd.event(ctx, "closing_summary", r)?;
                    }
                    (Some(r), None) => {
                        put_lww(&mut cd.doc, &writers, "patrol_report", r.as_str(), ctx)?;
                        cd.reach(CardStatus::Reported, ctx)?;
                        cd.event(ctx, "report", r)?;
                    }
                    (None, _) => {}
                }
                if let Some(r) = reason {
                    put_lww(&mut cd.doc, &writers, "close_reason", r.as_str(), ctx)?;
                }
                cd.reach(CardStatus::Closed, ctx)?;
                cd.event(ctx, "closed", reason.as_deref().unwrap_or(""))
            }
            Finish::Cancel { reason } => {
                put_lww(&mut cd.doc, &writers, "cancel_reason", reason.as_str(), ctx)?;
                cd.reach(CardStatus::Cancelled, ctx)?;
                cd.event(ctx, "cancelled", reason)
            }
        }
    })?;
    for u in units.iter_mut() {
        if active
            .iter()
            .any(|a| u.id().ok().as_deref() == Some(a.unit_id.as_str()))
        {
            u.release(&c.id, ctx)?;
        }
    }
    Ok(())
}

/// Removes a unit from the card (a mistaken dispatch). Removal is a map delete, so a concurrent
/// re-dispatch of the same unit on another replica wins (add-wins set).
pub fn unassign(
    card: &mut CardDoc,
    unit: &mut UnitDoc,
    reference: &Reference,
    ctx: &Ctx,
) -> Result<(), DomainError> {
    let c = card.view(reference)?;
    require_open(&c)?;
    let uid = unit.id()?;
    let on_card = c
        .unit(&uid)
        .ok_or_else(|| DomainError::not_found(format!("unit {uid} is not on card {}", c.number)))?;
    if on_card.on_scene_at.is_some() {
        return Err(DomainError::transition(
            "the unit has arrived on scene; clear it instead of removing it",
        ));
    }
    let call_sign = on_card.call_sign.clone();
    card.change(|cd| {
        let units_obj = get_obj(&cd.doc, &ROOT, "units")?;
        cd.doc.delete(&units_obj, uid.as_str())?;
        cd.event(ctx, "unassigned", &call_sign)
    })?;
    unit.release(&c.id, ctx)
}
