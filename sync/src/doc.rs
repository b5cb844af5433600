//! Small helpers over automerge shared by the card, unit and roster documents.
//!
//! Merge conventions used by every document:
//! - A last-writer-wins field is a root key; its writer (`login@replica`) is stored under the same
//!   key in the `w` map, written immediately after the value. Ops of one change get consecutive
//!   counters, so for two concurrent writes the value op and the writer op are ordered the same
//!   way and automerge picks the value and its writer from the same change.
//! - Values that must change together (a location's latitude and longitude) are one JSON scalar.
//! - Append-only logs are automerge lists of JSON strings: concurrent appends both survive, in
//!   an order every replica computes identically.

use automerge::{
    transaction::Transactable, AutoCommit, ObjId, ObjType, ReadDoc, ScalarValue, Value, ROOT,
};

use crate::error::DomainError;

/// Who does something, where, and when. Time is an input: the core never reads a clock.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// Login of the person (or `system`).
    pub by: String,
    /// Replica name: the node's region code, `central`, or a field unit id.
    pub replica: String,
    pub now_ms: i64,
}

impl Ctx {
    pub fn new(by: impl Into<String>, replica: impl Into<String>, now_ms: i64) -> Self {
        Ctx {
            by: by.into(),
            replica: replica.into(),
            now_ms,
        }
    }
    pub fn writer(&self) -> String {
        format!("{}@{}", self.by, self.replica)
    }
}

pub(crate) const WRITERS: &str = "w";

pub(crate) fn get_obj(doc: &AutoCommit, parent: &ObjId, key: &str) -> Result<ObjId, DomainError> {
    match doc.get(parent, key)? {
        Some((Value::Object(_), id)) => Ok(id),
        _ => Err(DomainError::CorruptDocument(format!(
            "object '{key}' is missing"
        ))),
    }
}

pub(crate) fn get_scalar(doc: &AutoCommit, obj: &ObjId, key: &str) -> Option<ScalarValue> {
    match doc.get(obj, key) {
        Ok(Some((Value::Scalar(s), _))) => Some(s.into_owned()),
        _ => None,
    }
}

pub(crate) fn get_str(doc: &AutoCommit, obj: &ObjId, key: &str) -> Option<String> {
    match get_scalar(doc, obj, key)? {
        ScalarValue::Str(s) => Some(s.to_string()),
        _ => None,
    }
}

pub(crate) fn get_i64(doc: &AutoCommit, obj: &ObjId, key: &str) -> Option<i64> {
    scalar_i64(get_scalar(doc, obj, key)?)
}

fn scalar_i64(v: ScalarValue) -> Option<i64> {
    match v {
        ScalarValue::Int(i) => Some(i),
        ScalarValue::Uint(u) => i64::try_from(u).ok(),
        ScalarValue::Timestamp(t) => Some(t),
        _ => None,
    }
}

pub(crate) fn require_str(doc: &AutoCommit, obj: &ObjId, key: &str) -> Result<String, DomainError> {
    get_str(doc, obj, key)
        .ok_or_else(|| DomainError::CorruptDocument(format!("field '{key}' is missing")))
}

/// Writes a last-writer-wins root field together with its writer.
pub(crate) fn put_lww(
    doc: &mut AutoCommit,
    writers: &ObjId,
    key: &str,
    value: impl Into<ScalarValue>,
    ctx: &Ctx,
) -> Result<(), DomainError> {
    doc.put(ROOT, key, value)?;
    doc.put(writers, key, ctx.writer())?;
    Ok(())
}

/// The writers map `w` (already looked up) as field → writer.
pub(crate) fn writers_in(
    doc: &AutoCommit,
    w: &ObjId,
) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    for item in doc.map_range(w, ..) {
        if let Some(s) = Value::from(item.value).as_str() {
            out.insert(item.key.to_string(), s.to_string());
        }
    }
    out
}

/// A map's visible keys read in one pass, for materialising many fields of it.
///
/// Each keyed `get` seeks through the op set on its own; a card view reads about thirty root
/// fields, and one range over the map costs about what two or three keyed lookups do. The
/// accessors return exactly what [`get_scalar`], [`get_str`], [`get_i64`] and [`get_obj`] would
/// (a range yields each key once, with the value a keyed `get` returns).
pub(crate) struct MapFields<'a> {
    /// Sorted by key.
    items: Vec<automerge::iter::MapRangeItem<'a>>,
}

impl<'a> MapFields<'a> {
    pub(crate) fn read(doc: &'a AutoCommit, obj: &ObjId) -> Self {
        let mut items: Vec<_> = doc.map_range(obj, ..).collect();
        // Ranges come in key order already; sorting keeps the lookup correct whatever it is.
        if !items.is_sorted_by(|a, b| a.key <= b.key) {
            items.sort_by(|a, b| a.key.cmp(&b.key));
        }
        MapFields { items }
    }

    pub(crate) fn keys(&self) -> impl Iterator<Item = &str> {
        self.items.iter().map(|i| i.key.as_ref())
    }

    fn item(&self, key: &str) -> Option<&automerge::iter::MapRangeItem<'a>> {
        self.items
            .binary_search_by(|i| i.key.as_ref().cmp(key))
            .ok()
            .map(|at| &self.items[at])
    }

    pub(crate) fn scalar(&self, key: &str) -> Option<ScalarValue> {
        match Value::from(self.item(key)?.value.clone()) {
            Value::Scalar(s) => Some(s.into_owned()),
            Value::Object(_) => None,
        }
    }

    pub(crate) fn str(&self, key: &str) -> Option<String> {
        match self.scalar(key)? {
            ScalarValue::Str(s) => Some(s.to_string()),
            _ => None,
        }
    }

    pub(crate) fn i64(&self, key: &str) -> Option<i64> {
        scalar_i64(self.scalar(key)?)
    }

    pub(crate) fn require_str(&self, key: &str) -> Result<String, DomainError> {
        self.str(key)
            .ok_or_else(|| DomainError::CorruptDocument(format!("field '{key}' is missing")))
    }

    /// The object under `key` and its type.
    pub(crate) fn obj_typed(&self, key: &str) -> Option<(ObjType, ObjId)> {
        let item = self.item(key)?;
        match Value::from(item.value.clone()) {
            Value::Object(t) => Some((t, item.id())),
            Value::Scalar(_) => None,
        }
    }

    pub(crate) fn obj(&self, key: &str) -> Result<ObjId, DomainError> {
        self.obj_typed(key)
            .map(|(_, id)| id)
            .ok_or_else(|| DomainError::CorruptDocument(format!("object '{key}' is missing")))
    }
}

/// Appends a JSON-encoded entry to a list.
pub(crate) fn append_json<T: serde::Serialize>(
    doc: &mut AutoCommit,
    list: &ObjId,
    entry: &T,
) -> Result<(), DomainError> {
    let len = doc.length(list);
    let json =
        serde_json::to_string(entry).map_err(|e| DomainError::CorruptDocument(e.to_string()))?;
    doc.insert(list, len, json)?;
    Ok(())
}

pub(crate) fn read_json_list<T: serde::de::DeserializeOwned>(
    doc: &AutoCommit,
    list: &ObjId,
) -> Result<Vec<T>, DomainError> {
    let mut out = Vec::with_capacity(doc.length(list));
    for item in doc.list_range(list, ..) {
        let v = automerge::Value::from(item.value);
        let s = v
            .as_str()
            .ok_or_else(|| DomainError::CorruptDocument("list entry is not text".into()))?;
        out.push(serde_json::from_str(s).map_err(|e| DomainError::CorruptDocument(e.to_string()))?);
    }
    Ok(out)
}

/// What every replicated document (card, unit, roster day) shares: its automerge core, its
/// storage form (a snapshot plus incremental chunks) and replica operations.
pub trait Document: Sized {
    /// Storage/wire schema version written under the root key `v`.
    const SCHEMA_VERSION: i64;
    /// What the document is, for error messages.
    const KIND: &'static str;

    fn wrap(doc: AutoCommit) -> Self;
    fn automerge(&mut self) -> &mut AutoCommit;

    /// Loads from a snapshot followed by incremental chunks, refusing another kind or version.
    fn load<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> Result<Self, DomainError> {
        let doc = load_chunks(chunks)?;
        match get_i64(&doc, &ROOT, "v") {
            Some(v) if v == Self::SCHEMA_VERSION => Ok(Self::wrap(doc)),
            Some(v) => Err(DomainError::CorruptDocument(format!(
                "{} schema version {v} is not supported (this build reads {})",
                Self::KIND,
                Self::SCHEMA_VERSION
            ))),
            None => Err(DomainError::CorruptDocument(format!(
                "not a {} document",
                Self::KIND
            ))),
        }
    }
    fn set_actor(&mut self, actor: automerge::ActorId) {
        self.automerge().set_actor(actor);
    }
    /// Full compacted snapshot.
    fn save(&mut self) -> Vec<u8> {
        self.automerge().save()
    }
    /// The changes made since the last save (or load), for appending to storage.
    fn save_incremental(&mut self) -> Vec<u8> {
        self.automerge().save_incremental()
    }
    fn heads(&mut self) -> Vec<automerge::ChangeHash> {
        self.automerge().get_heads()
    }
    /// Merges another replica's copy into this one.
    fn merge(&mut self, other: &mut Self) -> Result<(), DomainError> {
        self.automerge().merge(other.automerge())?;
        Ok(())
    }
    /// A copy acting as another replica.
    fn fork(&mut self, actor: automerge::ActorId) -> Self {
        Self::wrap(self.automerge().fork().with_actor(actor))
    }
}

/// Loads a document from a snapshot followed by incremental chunks.
pub fn load_chunks<'a>(
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> Result<AutoCommit, DomainError> {
    let mut iter = chunks.into_iter();
    let first = iter
        .next()
        .ok_or_else(|| DomainError::CorruptDocument("no stored bytes".into()))?;
    let mut doc = AutoCommit::load(first)?;
    for chunk in iter {
        doc.load_incremental(chunk)?;
    }
    Ok(doc)
}

/// Validates a text field: trimmed, non-empty when required, at most `max_chars` characters.
pub fn check_text(
    field: &str,
    value: &str,
    max_chars: usize,
    required: bool,
) -> Result<(), DomainError> {
    let trimmed = value.trim();
    if required && trimmed.is_empty() {
        return Err(DomainError::field(
            field,
            format!("{field} must not be empty"),
        ));
    }
    let n = value.chars().count();
    if n > max_chars {
        return Err(DomainError::field(
            field,
            format!("{field} is {n} characters long; the limit is {max_chars}"),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(DomainError::field(
            field,
            format!("{field} contains control characters"),
        ));
    }
    Ok(())
}
