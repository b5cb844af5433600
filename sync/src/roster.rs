//! The electronic post roster (R20, бекеттік ведомость): one automerge document per date, a map
//! of entries keyed by entry id. Concurrent additions on different replicas both survive;
//! removing an entry is a map delete.

use automerge::{transaction::Transactable, ActorId, AutoCommit, ObjType, ReadDoc, ROOT};

use crate::doc::{check_text, get_obj, Ctx, Document};
use crate::error::DomainError;
use crate::model::{limits, RosterCreate, RosterEntry, Unit, UnitStatus};

pub const ROSTER_SCHEMA_VERSION: i64 = 1;
/// At most this many roster entries per day.
pub const ROSTER_ENTRIES_PER_DAY_MAX: usize = 2_000;
/// At most this many patrol accounts in one unit's crew.
pub const ROSTER_CREW_MAX: usize = 8;

pub struct RosterDoc {
    doc: AutoCommit,
}

impl Document for RosterDoc {
    const SCHEMA_VERSION: i64 = ROSTER_SCHEMA_VERSION;
    const KIND: &'static str = "roster";
    fn wrap(doc: AutoCommit) -> Self {
        RosterDoc { doc }
    }
    fn automerge(&mut self) -> &mut AutoCommit {
        &mut self.doc
    }
}

/// `YYYY-MM-DD` with a plausible month and day.
pub fn validate_date(date: &str) -> Result<(), DomainError> {
    let b = date.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(|c| c.is_ascii_digit());
    let ok = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && digits(0..4)
        && digits(5..7)
        && digits(8..10)
        && (1..=12).contains(&date[5..7].parse::<u32>().unwrap_or(0))
        && (1..=31).contains(&date[8..10].parse::<u32>().unwrap_or(0));
    if ok {
        Ok(())
    } else {
        Err(DomainError::field("date", "date must be YYYY-MM-DD"))
    }
}

impl RosterDoc {
    pub fn create(actor: ActorId, date: &str) -> Result<RosterDoc, DomainError> {
        validate_date(date)?;
        let mut doc = AutoCommit::new().with_actor(actor);
        doc.put(ROOT, "v", ROSTER_SCHEMA_VERSION)?;
        doc.put(ROOT, "date", date)?;
        doc.put_object(ROOT, "entries", ObjType::Map)?;
        doc.commit();
        Ok(RosterDoc { doc })
    }

    /// Entries ordered by shift, post, then id.
    pub fn entries(&self) -> Result<Vec<RosterEntry>, DomainError> {
        let entries = get_obj(&self.doc, &ROOT, "entries")?;
        let mut out: Vec<RosterEntry> = Vec::new();
        for item in self.doc.map_range(&entries, ..) {
            let v = automerge::Value::from(item.value);
            let s = v
                .as_str()
                .ok_or_else(|| DomainError::CorruptDocument("roster entry is not text".into()))?;
            out.push(
                serde_json::from_str(s).map_err(|e| DomainError::CorruptDocument(e.to_string()))?,
            );
        }
        out.sort_by(|a, b| (a.shift, &a.post, &a.id).cmp(&(b.shift, &b.post, &b.id)));
        Ok(out)
    }

    /// Puts a unit on a post for a shift. One unit holds one post per shift.
    pub fn add(
        &mut self,
        entry_id: &str,
        input: &RosterCreate,
        unit: &Unit,
        ctx: &Ctx,
    ) -> Result<RosterEntry, DomainError> {
        validate_date(&input.date)?;
        check_text("post", &input.post, limits::NAME_CHARS_MAX, true)?;
        let date = crate::doc::get_str(&self.doc, &ROOT, "date").unwrap_or_default();
        if date != input.date {
            return Err(DomainError::field(
                "date",
                "entry date does not match the roster day",
            ));
        }
        if unit.status == UnitStatus::OffDuty {
            return Err(DomainError::transition(format!(
                "unit {} is off duty; put it on duty before assigning a post",
                unit.call_sign
            )));
        }
        let existing = self.entries()?;
        if existing.len() >= ROSTER_ENTRIES_PER_DAY_MAX {
            return Err(DomainError::transition(format!(
                "a roster day holds at most {ROSTER_ENTRIES_PER_DAY_MAX} entries"
            )));
        }
        if existing
            .iter()
            .any(|e| e.unit_id == unit.id && e.shift == input.shift)
        {
            return Err(DomainError::transition(format!(
                "unit {} already holds a post in this shift",
                unit.call_sign
            )));
        }
        let mut crew: Vec<String> = Vec::new();
        for login in &input.crew {
            let login = login.trim();
            check_text("crew", login, limits::CODE_CHARS_MAX, true)?;
            if !crew.iter().any(|c| c == login) {
                crew.push(login.to_string());
            }
        }
        if crew.len() > ROSTER_CREW_MAX {
            return Err(DomainError::field(
                "crew",
                format!("a crew has at most {ROSTER_CREW_MAX} people"),
            ));
        }
        if let Some((e, login)) = existing
            .iter()
            .filter(|e| e.shift == input.shift)
            .find_map(|e| {
                e.crew
                    .iter()
                    .find(|l| crew.contains(l))
                    .map(|l| (e, l.clone()))
            })
        {
            return Err(DomainError::field(
                "crew",
                format!(
                    "{login} is already in the crew of {} in this shift",
                    e.call_sign
                ),
            ));
        }
        let entry = RosterEntry {
            id: entry_id.to_string(),
            date: input.date.clone(),
            shift: input.shift,
            post: input.post.trim().to_string(),
            unit_id: unit.id.clone(),
            call_sign: unit.call_sign.clone(),
            crew,
            assigned_by: ctx.by.clone(),
            assigned_at: ctx.now_ms,
        };
        let entries = get_obj(&self.doc, &ROOT, "entries")?;
        let json = serde_json::to_string(&entry)
            .map_err(|e| DomainError::CorruptDocument(e.to_string()))?;
        self.doc.put(&entries, entry_id, json)?;
        self.doc.commit();
        Ok(entry)
    }

    pub fn remove(&mut self, entry_id: &str) -> Result<(), DomainError> {
        let entries = get_obj(&self.doc, &ROOT, "entries")?;
        if self.doc.get(&entries, entry_id)?.is_none() {
            return Err(DomainError::not_found(format!(
                "roster entry {entry_id} does not exist"
            )));
        }
        self.doc.delete(&entries, entry_id)?;
        self.doc.commit();
        Ok(())
    }
}
