//! Field documents (FieldTerminal): a unit's log, track and photos, written by its terminal, and
//! the pack the node writes for it. Read when asked; no index and no live event here — the
//! field service keeps the latest positions in memory and applies log entries to cards.

use automerge::AutoCommit;
use sync::field::{
    field_priority, FieldDocId, FieldLogDoc, FieldPart, FieldPhotoDoc, TrackDoc, UnitPackDoc,
};
use sync::protocol::Priority;
use sync::{DocId, Document, DomainError};

use super::KindRules;

/// Schema version every field document writes under `v` (each part is version 1).
pub const FIELD_SCHEMA_VERSION: i64 = 1;

/// A field document of any part, as stored; typed by [`FieldDocId::part`] when read.
pub struct FieldDoc {
    doc: AutoCommit,
}

impl Document for FieldDoc {
    const SCHEMA_VERSION: i64 = FIELD_SCHEMA_VERSION;
    const KIND: &'static str = "field";
    fn wrap(doc: AutoCommit) -> Self {
        FieldDoc { doc }
    }
    fn automerge(&mut self) -> &mut AutoCommit {
        &mut self.doc
    }
}

/// What a field document holds, read by its part.
pub enum FieldView {
    Log(Vec<sync::field::FieldEntry>),
    Track(Vec<sync::field::UnitPosition>),
    Photo {
        sha256: Option<String>,
        intact: bool,
    },
    Pack(Box<sync::field::UnitPack>),
}

/// The unit a field document says it belongs to (its `unit` root key).
fn doc_unit(doc: &AutoCommit) -> Option<String> {
    use automerge::ReadDoc;
    match doc.get(automerge::ROOT, "unit") {
        Ok(Some((automerge::Value::Scalar(s), _))) => match s.as_ref() {
            automerge::ScalarValue::Str(t) => Some(t.to_string()),
            _ => None,
        },
        _ => None,
    }
}

pub struct FieldRules {
    pub part: FieldPart,
    pub unit: String,
    /// The receiver's clock: entries and positions dated ahead of it are refused.
    pub now_ms: i64,
}

impl FieldRules {
    pub fn for_id(id: &DocId, now_ms: i64) -> Result<FieldRules, String> {
        let f = FieldDocId::parse(&id.to_string())
            .ok_or_else(|| format!("{id} is not a field document id"))?;
        Ok(FieldRules {
            part: f.part,
            unit: f.unit,
            now_ms,
        })
    }
}

impl KindRules for FieldRules {
    type Doc = FieldDoc;
    type View = (Option<String>, FieldView);

    fn view(&self, doc: &mut FieldDoc, _now_ms: i64) -> Result<Self::View, DomainError> {
        let unit = doc_unit(&doc.doc);
        let copy = doc.doc.clone();
        let view = match &self.part {
            FieldPart::Log { .. } => FieldView::Log(FieldLogDoc::wrap(copy).entries()?),
            FieldPart::Track { .. } => FieldView::Track(TrackDoc::wrap(copy).points()),
            FieldPart::Photo { .. } => {
                let p = FieldPhotoDoc::wrap(copy);
                FieldView::Photo {
                    sha256: p.sha256(),
                    intact: p.bytes().is_some(),
                }
            }
            FieldPart::Pack => FieldView::Pack(Box::new(UnitPackDoc::wrap(copy).view()?)),
        };
        Ok((unit, view))
    }

    /// A field document must be its unit's (the `unit` it names is the id's), every entry and
    /// position in it valid (in range, not dated ahead of this node's clock, reports in the
    /// standard format and within their limits), and a photo the photo its id names. A
    /// document that is not is refused whole: nothing of it is stored.
    fn check(&self, id: &DocId, (unit, view): &Self::View) -> Result<(), String> {
        match view {
            FieldView::Log(entries) => {
                for e in entries {
                    e.validate(self.now_ms)
                        .map_err(|err| format!("{id}: entry {}: {err}", e.id))?;
                }
            }
            FieldView::Track(points) => {
                for p in points {
                    p.validate(self.now_ms)
                        .map_err(|err| format!("{id}: position at {}: {err}", p.at_ms))?;
                }
            }
            _ => {}
        }
        if unit.as_deref() != Some(self.unit.as_str()) {
            return Err(format!(
                "{id} names unit {:?} inside; the id says {}",
                unit.as_deref().unwrap_or(""),
                self.unit
            ));
        }
        if let (FieldPart::Photo { sha }, FieldView::Photo { sha256, intact }) = (&self.part, view)
        {
            if !intact
                || !sha256
                    .as_deref()
                    .is_some_and(|s| s.starts_with(sha.as_str()))
            {
                return Err(format!("{id}: the photo does not match its SHA-256"));
            }
        }
        Ok(())
    }

    fn priority(&self, _view: &Self::View) -> Priority {
        field_priority(&self.part)
    }
}
