//! A unit (наряд) as an automerge document: call sign, kind, and a last-writer-wins status.
//!
//! Unit status cycles (available → assigned → … → available), so it is not a lattice: the last
//! writer wins, with the writer recorded. The card documents keep the per-card history.

use automerge::{transaction::Transactable, ActorId, AutoCommit, ObjType, ScalarValue, ROOT};

use crate::doc::{
    check_text, get_i64, get_obj, get_str, put_lww, require_str, Ctx, Document, WRITERS,
};
use crate::error::DomainError;
use crate::model::{limits, Unit, UnitKind, UnitStatus};
use crate::reference::Reference;

pub const UNIT_SCHEMA_VERSION: i64 = 1;

pub struct UnitDoc {
    doc: AutoCommit,
}

impl Document for UnitDoc {
    const SCHEMA_VERSION: i64 = UNIT_SCHEMA_VERSION;
    const KIND: &'static str = "unit";
    fn wrap(doc: AutoCommit) -> Self {
        UnitDoc { doc }
    }
    fn automerge(&mut self) -> &mut AutoCommit {
        &mut self.doc
    }
}

impl UnitDoc {
    pub fn create(
        actor: ActorId,
        id: &str,
        call_sign: &str,
        kind: UnitKind,
        ctx: &Ctx,
    ) -> Result<UnitDoc, DomainError> {
        check_text("id", id, limits::CODE_CHARS_MAX, true)?;
        check_text("call_sign", call_sign, limits::CODE_CHARS_MAX, true)?;
        let mut doc = AutoCommit::new().with_actor(actor);
        doc.put(ROOT, "v", UNIT_SCHEMA_VERSION)?;
        doc.put(ROOT, "id", id)?;
        doc.put(ROOT, "kind", kind.as_str())?;
        let writers = doc.put_object(ROOT, WRITERS, ObjType::Map)?;
        put_lww(&mut doc, &writers, "call_sign", call_sign, ctx)?;
        put_lww(
            &mut doc,
            &writers,
            "status",
            UnitStatus::Available.as_str(),
            ctx,
        )?;
        put_lww(&mut doc, &writers, "status_since", ctx.now_ms, ctx)?;
        doc.commit();
        Ok(UnitDoc { doc })
    }

    pub fn id(&self) -> Result<String, DomainError> {
        require_str(&self.doc, &ROOT, "id")
    }

    pub fn view(&self, reference: &Reference, now_ms: i64) -> Result<Unit, DomainError> {
        let d = &self.doc;
        let status = require_str(d, &ROOT, "status")?;
        let mut unit = Unit {
            id: require_str(d, &ROOT, "id")?,
            call_sign: require_str(d, &ROOT, "call_sign")?,
            kind: UnitKind::parse(&require_str(d, &ROOT, "kind")?)
                .ok_or_else(|| DomainError::CorruptDocument("unknown unit kind".into()))?,
            status: UnitStatus::parse(&status).ok_or_else(|| {
                DomainError::CorruptDocument(format!("unknown unit status {status}"))
            })?,
            status_since: get_i64(d, &ROOT, "status_since").unwrap_or(0),
            card_id: get_str(d, &ROOT, "card_id"),
            dispatched_at: get_i64(d, &ROOT, "dispatched_at"),
            overdue: false,
        };
        unit.overdue = unit.is_overdue(now_ms, reference.unit_overdue_after_ms());
        Ok(unit)
    }

    fn change(
        &mut self,
        f: impl FnOnce(&mut AutoCommit, &automerge::ObjId) -> Result<(), DomainError>,
    ) -> Result<(), DomainError> {
        let writers = get_obj(&self.doc, &ROOT, WRITERS)?;
        match f(&mut self.doc, &writers) {
            Ok(()) => {
                self.doc.commit();
                Ok(())
            }
            Err(e) => {
                self.doc.rollback();
                Err(e)
            }
        }
    }

    pub(crate) fn assign(&mut self, card_id: &str, ctx: &Ctx) -> Result<(), DomainError> {
        self.change(|d, w| {
            put_lww(d, w, "status", UnitStatus::Assigned.as_str(), ctx)?;
            put_lww(d, w, "status_since", ctx.now_ms, ctx)?;
            put_lww(d, w, "card_id", card_id, ctx)?;
            put_lww(d, w, "dispatched_at", ctx.now_ms, ctx)
        })
    }

    pub(crate) fn set_status(
        &mut self,
        status: UnitStatus,
        card_id: Option<&str>,
        ctx: &Ctx,
    ) -> Result<(), DomainError> {
        self.change(|d, w| {
            put_lww(d, w, "status", status.as_str(), ctx)?;
            put_lww(d, w, "status_since", ctx.now_ms, ctx)?;
            if let Some(c) = card_id {
                put_lww(d, w, "card_id", c, ctx)?;
            }
            Ok(())
        })
    }

    /// Frees the unit from `card_id` (only if it is still working on that card).
    pub(crate) fn release(&mut self, card_id: &str, ctx: &Ctx) -> Result<(), DomainError> {
        if get_str(&self.doc, &ROOT, "card_id").as_deref() != Some(card_id) {
            return Ok(());
        }
        self.change(|d, w| {
            put_lww(d, w, "status", UnitStatus::Available.as_str(), ctx)?;
            put_lww(d, w, "status_since", ctx.now_ms, ctx)?;
            put_lww(d, w, "card_id", ScalarValue::Null, ctx)?;
            put_lww(d, w, "dispatched_at", ScalarValue::Null, ctx)
        })
    }

    /// Going on or off duty; a unit working on a card cannot go off duty.
    pub fn set_duty(
        &mut self,
        on_duty: bool,
        reference: &Reference,
        ctx: &Ctx,
    ) -> Result<(), DomainError> {
        let u = self.view(reference, ctx.now_ms)?;
        let target = if on_duty {
            UnitStatus::Available
        } else {
            UnitStatus::OffDuty
        };
        match (u.status, on_duty) {
            (UnitStatus::Available, false) | (UnitStatus::OffDuty, true) => {
                self.set_status(target, None, ctx)
            }
            (s, _) if s == target => Ok(()),
            (s, _) => Err(DomainError::transition(format!(
                "unit {} is {} on card {}; clear it from the card first",
                u.call_sign,
                s.as_str(),
                u.card_id.unwrap_or_default()
            ))),
        }
    }
}
