//! The wire format: one frame per transport message, a hand-written binary codec.
//!
//! Why hand-written: every byte of a frame is specified here, the decoder is total (any input
//! gives a frame or a [`DecodeError`], never a panic, never an allocation larger than the input),
//! and no serde format can silently change the bytes under us on a dependency upgrade.
//!
//! ```text
//! frame      := type:u8 seq:varint body            (the shell adds the length prefix on the stream)
//! HELLO 0x01 := magic:"K102" version_min:u16le version_max:u16le authority
//!               frame_bytes_max:varint repo_id:[16] extensions
//!   (Hello extension 1 = the sender's software version, UTF-8 text)
//! DOCS  0x02 := batch:varint count:varint entry*count
//!   entry    := doc_id:str heads bytes:blob extensions        (extension 1 = priority, v2)
//! DOCZ  0x06 := batch:varint raw_bytes:varint deflate(count:varint entry*count)          (v3)
//! ACK   0x03 := batch:varint count:varint result*count
//!   result   := 0 (same heads as sent) | 1 heads (the receiver's heads) | 2 reason:u8 (rejected)
//! PING  0x04 := (nothing)
//! CLOSE 0x05 := code:u8 reason:str
//! authority  := 0 (central) | 1 region:str | 2 region:str unit:str     (a field unit's terminal)
//! heads      := count:varint [32]*count
//! str, blob  := len:varint bytes
//! extensions := count:varint (tag:varint value:blob)*count     unknown tags are skipped
//! ```
//!
//! DOCZ carries the same batch as DOCS with its entries compressed as one raw deflate stream
//! (RFC 1951): cards of one region share their keys, actor and much of their text, so a batch
//! compresses several times better than each document on its own (`bench sync-cold`). It is
//! sent only at protocol version 3 and only when it is smaller than the DOCS frame; a decoder
//! inflates at most `raw_bytes`, itself within the frame limit, so a small frame cannot make it
//! allocate more than an uncompressed frame could.
//!
//! The Hello layout up to its extensions is frozen for every protocol version, so two builds can
//! always read each other's Hello and agree on a version (or refuse with a clear reason). Fields
//! added later go into extensions, which older decoders skip.

use automerge::ChangeHash;

use super::error::DecodeError;
use super::types::{Authority, Priority};

/// The bytes every Hello starts with.
pub const MAGIC: [u8; 4] = *b"K102";
/// No frame larger than this is ever decoded, whatever the session's configured limit.
pub const FRAME_BYTES_HARD_MAX: usize = 64 * 1024 * 1024;
/// Longest document id, in bytes of UTF-8.
pub const DOC_ID_BYTES_MAX: usize = 128;
/// Longest region code, in bytes of UTF-8.
pub const REGION_BYTES_MAX: usize = 32;
/// Longest unit id in a unit's Hello, in bytes of UTF-8.
pub const UNIT_BYTES_MAX: usize = 32;
/// Most heads one document may advertise (concurrent branches not yet merged).
pub const HEADS_PER_DOC_MAX: usize = 256;
/// Most extensions on one Hello or entry.
pub const EXTENSIONS_MAX: usize = 16;
/// Longest Close reason, in bytes of UTF-8.
pub const CLOSE_REASON_BYTES_MAX: usize = 512;
/// Longest software version in a Hello, in bytes of UTF-8 (`0.1.0`, perhaps with a build's
/// commit: `0.1.0+3115871`).
pub const SOFTWARE_VERSION_BYTES_MAX: usize = 64;

const TYPE_HELLO: u8 = 0x01;
const TYPE_DOCS: u8 = 0x02;
const TYPE_ACK: u8 = 0x03;
const TYPE_PING: u8 = 0x04;
const TYPE_CLOSE: u8 = 0x05;
const TYPE_DOCS_DEFLATED: u8 = 0x06;

/// Deflate level of DOCZ frames: the fastest. Higher levels cost ~3x the CPU for ~15 % fewer
/// bytes on card batches.
pub const DOCS_DEFLATE_LEVEL: u32 = 1;

/// Extension tag on a document entry: the sender's priority for the document (protocol v2).
const EXT_ENTRY_PRIORITY: u64 = 1;
/// Extension tag on a Hello: the sender's software version, so that the hub shows which
/// release each region runs during a rolling upgrade. Not tied to a protocol version: every
/// build that knows the tag sends it, and older builds skip it as an unknown tag.
const EXT_HELLO_SOFTWARE_VERSION: u64 = 1;

/// One decoded frame: its position on the connection and its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Per-connection sequence number, from 0 (the Hello). Checked by the session.
    pub seq: u64,
    pub message: Message,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Hello(Hello),
    Docs(DocBatch),
    Ack(Ack),
    Ping,
    Close { code: u8, reason: String },
}

impl Message {
    pub fn name(&self) -> &'static str {
        match self {
            Message::Hello(_) => "hello",
            Message::Docs(_) => "docs",
            Message::Ack(_) => "ack",
            Message::Ping => "ping",
            Message::Close { .. } => "close",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    pub version_min: u16,
    pub version_max: u16,
    /// Who the sender says it is; must match what the certificate says.
    pub authority: Authority,
    /// Largest frame the sender accepts; the other side never sends more.
    pub frame_bytes_max: u64,
    /// Identity of the sender's store. Knowledge about a peer is dropped when it changes
    /// (the peer's store was replaced or restored and may have lost changes).
    pub repo_id: [u8; 16],
    /// The sender's software version (an extension; absent from builds before it). Printable
    /// text of at most [`SOFTWARE_VERSION_BYTES_MAX`] bytes; a longer one is cut on encoding.
    pub software_version: Option<String>,
}

/// Documents pushed by the sender; the receiver answers with one [`Ack`] per batch, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocBatch {
    pub batch: u64,
    pub entries: Vec<DocEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocEntry {
    pub doc_id: String,
    /// The sender's heads: after importing `bytes` the receiver has at least these.
    pub heads: Vec<ChangeHash>,
    /// `save()` of the document when the receiver is not known to have it, else
    /// `save_after(heads the receiver is known to have)`.
    pub bytes: Vec<u8>,
    /// v2: the sender's priority for the document. Absent from v1 senders.
    pub priority: Option<Priority>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    pub batch: u64,
    /// One result per entry of the batch, in the same order.
    pub results: Vec<AckResult>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AckResult {
    /// Applied; the receiver's heads are now exactly the heads that were sent.
    Same,
    /// Applied; the receiver's heads are these (it had changes of its own, or lacks dependencies).
    Heads(Vec<ChangeHash>),
    /// Not applied.
    Rejected(RejectReason),
}

/// Why a receiver did not apply a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RejectReason {
    /// The document belongs to another region than the sending node's.
    NotYourRegion,
    /// The receiver's catalogue cannot tell which region the document belongs to.
    UnknownRegion,
    /// The receiver's host refused the content.
    Refused,
    /// A field unit sent a document that is not its own to write (another unit's, or the
    /// safety pack the node writes for it).
    NotYourDocument,
    /// A reason code from a newer peer.
    Other(u8),
}

impl RejectReason {
    fn code(self) -> u8 {
        match self {
            RejectReason::NotYourRegion => 1,
            RejectReason::UnknownRegion => 2,
            RejectReason::Refused => 3,
            RejectReason::NotYourDocument => 4,
            RejectReason::Other(c) => c,
        }
    }
    fn from_code(c: u8) -> Self {
        match c {
            1 => RejectReason::NotYourRegion,
            2 => RejectReason::UnknownRegion,
            3 => RejectReason::Refused,
            4 => RejectReason::NotYourDocument,
            c => RejectReason::Other(c),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Encoding

struct Writer(Vec<u8>);

impl Writer {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }
    fn blob(&mut self, b: &[u8]) {
        self.varint(b.len() as u64);
        self.0.extend_from_slice(b);
    }
    fn heads(&mut self, heads: &[ChangeHash]) {
        self.varint(heads.len() as u64);
        for h in heads {
            self.0.extend_from_slice(&h.0);
        }
    }
    fn authority(&mut self, a: &Authority) {
        match a {
            Authority::Central => self.u8(0),
            Authority::Region(r) => {
                self.u8(1);
                self.blob(r.as_bytes());
            }
            Authority::Unit { region, unit } => {
                self.u8(2);
                self.blob(region.as_bytes());
                self.blob(unit.as_bytes());
            }
        }
    }
}

/// Encodes a frame. Encoding never fails; limits are the session's business.
pub fn encode_frame(frame: &Frame) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(64));
    match &frame.message {
        Message::Hello(h) => {
            w.u8(TYPE_HELLO);
            w.varint(frame.seq);
            w.0.extend_from_slice(&MAGIC);
            w.0.extend_from_slice(&h.version_min.to_le_bytes());
            w.0.extend_from_slice(&h.version_max.to_le_bytes());
            w.authority(&h.authority);
            w.varint(h.frame_bytes_max);
            w.0.extend_from_slice(&h.repo_id);
            match &h.software_version {
                Some(v) => {
                    w.varint(1);
                    w.varint(EXT_HELLO_SOFTWARE_VERSION);
                    w.blob(truncate_utf8(v, SOFTWARE_VERSION_BYTES_MAX).as_bytes());
                }
                None => w.varint(0),
            }
        }
        Message::Docs(b) => {
            w.u8(TYPE_DOCS);
            w.varint(frame.seq);
            w.varint(b.batch);
            encode_entries(&mut w, &b.entries);
        }
        Message::Ack(a) => {
            w.u8(TYPE_ACK);
            w.varint(frame.seq);
            w.varint(a.batch);
            w.varint(a.results.len() as u64);
            for r in &a.results {
                match r {
                    AckResult::Same => w.u8(0),
                    AckResult::Heads(h) => {
                        w.u8(1);
                        w.heads(h);
                    }
                    AckResult::Rejected(reason) => {
                        w.u8(2);
                        w.u8(reason.code());
                    }
                }
            }
        }
        Message::Ping => {
            w.u8(TYPE_PING);
            w.varint(frame.seq);
        }
        Message::Close { code, reason } => {
            w.u8(TYPE_CLOSE);
            w.varint(frame.seq);
            w.u8(*code);
            w.blob(truncate_utf8(reason, CLOSE_REASON_BYTES_MAX).as_bytes());
        }
    }
    w.0
}

fn encode_entries(w: &mut Writer, entries: &[DocEntry]) {
    w.varint(entries.len() as u64);
    for e in entries {
        encode_entry(w, e);
    }
}

/// Encodes a Docs frame as DOCZ (entries deflated, protocol v3), or as plain DOCS when
/// compression would not make it smaller.
pub fn encode_docs_deflated(seq: u64, batch: &DocBatch) -> Vec<u8> {
    use std::io::Write as _;
    let mut body = Writer(Vec::with_capacity(1024));
    encode_entries(&mut body, &batch.entries);
    let mut w = Writer(Vec::with_capacity(body.0.len() / 2 + 32));
    w.u8(TYPE_DOCS_DEFLATED);
    w.varint(seq);
    w.varint(batch.batch);
    w.varint(body.0.len() as u64);
    let header_bytes = w.0.len();
    let mut encoder =
        flate2::write::DeflateEncoder::new(w.0, flate2::Compression::new(DOCS_DEFLATE_LEVEL));
    // Writing into a Vec cannot fail.
    let deflated = encoder
        .write_all(&body.0)
        .and_then(|()| encoder.finish())
        .unwrap_or_default();
    let plain_bytes = 1 + varint_len(seq) + varint_len(batch.batch) + body.0.len();
    if deflated.len() <= header_bytes || deflated.len() >= plain_bytes {
        let mut w = Writer(Vec::with_capacity(plain_bytes));
        w.u8(TYPE_DOCS);
        w.varint(seq);
        w.varint(batch.batch);
        w.0.extend_from_slice(&body.0);
        return w.0;
    }
    deflated
}

/// Inflates a DOCZ body: exactly `raw_bytes` out of exactly all of `deflated`.
fn inflate_exact(deflated: &[u8], raw_bytes: usize) -> Result<Vec<u8>, DecodeError> {
    use std::io::Read as _;
    const WHAT: &str = "compressed documents";
    let mut decoder = flate2::bufread::DeflateDecoder::new(deflated);
    // Grows with what really inflates (never reserved up front from the declared size).
    let mut out = Vec::with_capacity(raw_bytes.min(deflated.len().saturating_mul(4)));
    (&mut decoder)
        .take(raw_bytes as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|_| DecodeError::Malformed { what: WHAT })?;
    if out.len() != raw_bytes {
        return Err(DecodeError::Malformed { what: WHAT });
    }
    let unread = decoder.get_ref().len();
    if unread != 0 {
        return Err(DecodeError::TrailingBytes(unread));
    }
    Ok(out)
}

fn encode_entry(w: &mut Writer, e: &DocEntry) {
    w.blob(e.doc_id.as_bytes());
    w.heads(&e.heads);
    w.blob(&e.bytes);
    match e.priority {
        Some(p) => {
            w.varint(1);
            w.varint(EXT_ENTRY_PRIORITY);
            w.blob(&[p as u8]);
        }
        None => w.varint(0),
    }
}

/// Encoded size of one entry, to fill batches without encoding twice.
pub fn entry_encoded_bytes(e: &DocEntry) -> usize {
    let mut w = Writer(Vec::new());
    encode_entry(
        &mut w,
        &DocEntry {
            doc_id: e.doc_id.clone(),
            heads: e.heads.clone(),
            bytes: Vec::new(),
            priority: e.priority,
        },
    );
    w.0.len() - 1 + varint_len(e.bytes.len() as u64) + e.bytes.len()
}

fn varint_len(mut v: u64) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}

fn truncate_utf8(s: &str, max_bytes: usize) -> &str {
    if s.len() <= max_bytes {
        return s;
    }
    let mut end = max_bytes;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

// ---------------------------------------------------------------------------------------------
// Decoding

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        if self.remaining() < n {
            return Err(DecodeError::Truncated { what });
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }
    fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(self.take(1, what)?[0])
    }
    fn u16le(&mut self, what: &'static str) -> Result<u16, DecodeError> {
        let b = self.take(2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn varint(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        let mut v: u64 = 0;
        for i in 0..10 {
            let b = self.u8(what)?;
            let part = u64::from(b & 0x7f);
            if i == 9 && part > 1 {
                return Err(DecodeError::Malformed { what });
            }
            v |= part << (7 * i);
            if b & 0x80 == 0 {
                // Refuse non-minimal encodings so every value has exactly one encoding.
                if i > 0 && b == 0 {
                    return Err(DecodeError::Malformed { what });
                }
                return Ok(v);
            }
        }
        Err(DecodeError::Malformed { what })
    }
    /// A count of items each at least `item_bytes_min` long: refused before any allocation if
    /// the rest of the frame cannot hold them.
    fn count(
        &mut self,
        what: &'static str,
        item_bytes_min: usize,
        max: usize,
    ) -> Result<usize, DecodeError> {
        let n = self.varint(what)?;
        if n > max as u64 {
            return Err(DecodeError::OverLimit {
                what,
                value: n,
                max: max as u64,
            });
        }
        let n = n as usize;
        if n.saturating_mul(item_bytes_min) > self.remaining() {
            return Err(DecodeError::Truncated { what });
        }
        Ok(n)
    }
    fn blob(&mut self, what: &'static str, max: usize) -> Result<&'a [u8], DecodeError> {
        let n = self.varint(what)?;
        if n > max as u64 {
            return Err(DecodeError::OverLimit {
                what,
                value: n,
                max: max as u64,
            });
        }
        self.take(n as usize, what)
    }
    fn str(&mut self, what: &'static str, max: usize) -> Result<&'a str, DecodeError> {
        let b = self.blob(what, max)?;
        std::str::from_utf8(b).map_err(|_| DecodeError::Malformed { what })
    }
    fn heads(&mut self) -> Result<Vec<ChangeHash>, DecodeError> {
        let n = self.count("heads", 32, HEADS_PER_DOC_MAX)?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let b = self.take(32, "change hash")?;
            let mut h = [0u8; 32];
            h.copy_from_slice(b);
            out.push(ChangeHash(h));
        }
        Ok(out)
    }
    fn authority(&mut self) -> Result<Authority, DecodeError> {
        match self.u8("authority")? {
            0 => Ok(Authority::Central),
            1 => {
                let r = self.str("region", REGION_BYTES_MAX)?;
                if r.is_empty() {
                    return Err(DecodeError::Malformed { what: "region" });
                }
                Ok(Authority::Region(r.to_string()))
            }
            2 => {
                let region = self.str("region", REGION_BYTES_MAX)?.to_string();
                let unit = self.str("unit", UNIT_BYTES_MAX)?.to_string();
                if region.is_empty() || unit.is_empty() {
                    return Err(DecodeError::Malformed { what: "unit" });
                }
                Ok(Authority::Unit { region, unit })
            }
            _ => Err(DecodeError::Malformed { what: "authority" }),
        }
    }
    /// `count:varint entry*count` of a Docs frame (plain or inflated).
    fn doc_entries(&mut self) -> Result<Vec<DocEntry>, DecodeError> {
        // An entry is at least: id len, heads count, bytes len, extension count.
        let n = self.count("entries", 4, usize::MAX)?;
        if n == 0 {
            return Err(DecodeError::Malformed {
                what: "empty batch",
            });
        }
        let mut entries = Vec::with_capacity(n);
        for _ in 0..n {
            let doc_id = self.str("doc id", DOC_ID_BYTES_MAX)?;
            if doc_id.is_empty() {
                return Err(DecodeError::Malformed { what: "doc id" });
            }
            let heads = self.heads()?;
            let bytes = self.blob("document bytes", FRAME_BYTES_HARD_MAX)?;
            if bytes.is_empty() {
                return Err(DecodeError::Malformed {
                    what: "document bytes",
                });
            }
            let mut priority = None;
            self.extensions(|tag, value| {
                if tag == EXT_ENTRY_PRIORITY {
                    priority = match value {
                        [p] => Some(
                            Priority::from_u8(*p)
                                .ok_or(DecodeError::Malformed { what: "priority" })?,
                        ),
                        _ => return Err(DecodeError::Malformed { what: "priority" }),
                    };
                }
                Ok(())
            })?;
            entries.push(DocEntry {
                doc_id: doc_id.to_string(),
                heads,
                bytes: bytes.to_vec(),
                priority,
            });
        }
        Ok(entries)
    }
    /// Reads extensions, handing known tags to `known` and skipping the others.
    fn extensions(
        &mut self,
        mut known: impl FnMut(u64, &'a [u8]) -> Result<(), DecodeError>,
    ) -> Result<(), DecodeError> {
        let n = self.count("extensions", 2, EXTENSIONS_MAX)?;
        let mut last_tag = None;
        for _ in 0..n {
            let tag = self.varint("extension tag")?;
            // Ascending tags: one encoding per value, no repeated fields.
            if last_tag.is_some_and(|t| tag <= t) {
                return Err(DecodeError::Malformed {
                    what: "extension order",
                });
            }
            last_tag = Some(tag);
            let value = self.blob("extension value", FRAME_BYTES_HARD_MAX)?;
            known(tag, value)?;
        }
        Ok(())
    }
}

/// The Hello's software version extension: printable UTF-8 within its limit. It is shown on
/// the hub's dashboard and written to logs, so control characters are refused.
fn decode_software_version(value: &[u8]) -> Result<String, DecodeError> {
    const WHAT: &str = "software version";
    if value.len() > SOFTWARE_VERSION_BYTES_MAX {
        return Err(DecodeError::OverLimit {
            what: WHAT,
            value: value.len() as u64,
            max: SOFTWARE_VERSION_BYTES_MAX as u64,
        });
    }
    let text = std::str::from_utf8(value).map_err(|_| DecodeError::Malformed { what: WHAT })?;
    if text.is_empty() || text.chars().any(char::is_control) {
        return Err(DecodeError::Malformed { what: WHAT });
    }
    Ok(text.to_string())
}

/// Decodes one frame. Total: garbage, truncated, oversized or otherwise malformed input gives
/// an error and never a panic. Sequence numbers and message order are checked by the session.
pub fn decode_frame(bytes: &[u8]) -> Result<Frame, DecodeError> {
    decode_frame_limited(bytes, FRAME_BYTES_HARD_MAX)
}

/// [`decode_frame`] with a smaller size limit (the session's `frame_bytes_max`).
pub fn decode_frame_limited(bytes: &[u8], frame_bytes_max: usize) -> Result<Frame, DecodeError> {
    let max = frame_bytes_max.min(FRAME_BYTES_HARD_MAX);
    if bytes.len() > max {
        return Err(DecodeError::TooLarge {
            bytes: bytes.len(),
            max,
        });
    }
    let mut r = Reader { buf: bytes, pos: 0 };
    let kind = match r.u8("frame type") {
        Ok(k) => k,
        Err(_) => return Err(DecodeError::Empty),
    };
    if !(TYPE_HELLO..=TYPE_DOCS_DEFLATED).contains(&kind) {
        return Err(DecodeError::UnknownType(kind));
    }
    let seq = r.varint("sequence number")?;
    let message = match kind {
        TYPE_HELLO => {
            if r.take(4, "magic")? != MAGIC {
                return Err(DecodeError::BadMagic);
            }
            let version_min = r.u16le("version")?;
            let version_max = r.u16le("version")?;
            if version_min > version_max || version_min == 0 {
                return Err(DecodeError::Malformed {
                    what: "version range",
                });
            }
            let authority = r.authority()?;
            let frame_bytes_max = r.varint("frame_bytes_max")?;
            let id = r.take(16, "repo id")?;
            let mut repo_id = [0u8; 16];
            repo_id.copy_from_slice(id);
            let mut software_version = None;
            r.extensions(|tag, value| {
                if tag == EXT_HELLO_SOFTWARE_VERSION {
                    software_version = Some(decode_software_version(value)?);
                }
                Ok(())
            })?;
            Message::Hello(Hello {
                version_min,
                version_max,
                authority,
                frame_bytes_max,
                repo_id,
                software_version,
            })
        }
        TYPE_DOCS => {
            let batch = r.varint("batch number")?;
            let entries = r.doc_entries()?;
            Message::Docs(DocBatch { batch, entries })
        }
        TYPE_DOCS_DEFLATED => {
            let batch = r.varint("batch number")?;
            let raw_bytes = r.varint("inflated size")?;
            if raw_bytes > max as u64 {
                return Err(DecodeError::OverLimit {
                    what: "inflated size",
                    value: raw_bytes,
                    max: max as u64,
                });
            }
            let rest = r.take(r.remaining(), "compressed documents")?;
            let raw = inflate_exact(rest, raw_bytes as usize)?;
            let mut inner = Reader { buf: &raw, pos: 0 };
            let entries = inner.doc_entries()?;
            if inner.remaining() != 0 {
                return Err(DecodeError::TrailingBytes(inner.remaining()));
            }
            Message::Docs(DocBatch { batch, entries })
        }
        TYPE_ACK => {
            let batch = r.varint("batch number")?;
            let n = r.count("ack results", 1, usize::MAX)?;
            let mut results = Vec::with_capacity(n);
            for _ in 0..n {
                results.push(match r.u8("ack result")? {
                    0 => AckResult::Same,
                    1 => AckResult::Heads(r.heads()?),
                    2 => AckResult::Rejected(RejectReason::from_code(r.u8("reject reason")?)),
                    _ => return Err(DecodeError::Malformed { what: "ack result" }),
                });
            }
            Message::Ack(Ack { batch, results })
        }
        TYPE_PING => Message::Ping,
        TYPE_CLOSE => {
            let code = r.u8("close code")?;
            let reason = r.str("close reason", CLOSE_REASON_BYTES_MAX)?.to_string();
            Message::Close { code, reason }
        }
        other => return Err(DecodeError::UnknownType(other)),
    };
    if r.remaining() != 0 {
        return Err(DecodeError::TrailingBytes(r.remaining()));
    }
    Ok(Frame { seq, message })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_roundtrip(frame: Frame) {
        let bytes = encode_frame(&frame);
        assert_eq!(decode_frame(&bytes), Ok(frame));
    }

    #[test]
    fn frames_roundtrip() {
        check_roundtrip(Frame {
            seq: 0,
            message: Message::Hello(Hello {
                version_min: 1,
                version_max: 2,
                authority: Authority::Region("AST".into()),
                frame_bytes_max: 1 << 20,
                repo_id: [7; 16],
                software_version: None,
            }),
        });
        check_roundtrip(Frame {
            seq: 0,
            message: Message::Hello(Hello {
                version_min: 1,
                version_max: 3,
                authority: Authority::Central,
                frame_bytes_max: 4 << 20,
                repo_id: [8; 16],
                software_version: Some("0.1.0+3115871".into()),
            }),
        });
        check_roundtrip(Frame {
            seq: 300,
            message: Message::Docs(DocBatch {
                batch: 9,
                entries: vec![DocEntry {
                    doc_id: "AST/card/1".into(),
                    heads: vec![ChangeHash([1; 32]), ChangeHash([2; 32])],
                    bytes: vec![1, 2, 3],
                    priority: Some(Priority::Active),
                }],
            }),
        });
        check_roundtrip(Frame {
            seq: u64::MAX,
            message: Message::Ack(Ack {
                batch: 1,
                results: vec![
                    AckResult::Same,
                    AckResult::Heads(vec![ChangeHash([3; 32])]),
                    AckResult::Rejected(RejectReason::NotYourRegion),
                    AckResult::Rejected(RejectReason::Other(77)),
                ],
            }),
        });
        check_roundtrip(Frame {
            seq: 5,
            message: Message::Ping,
        });
        check_roundtrip(Frame {
            seq: 6,
            message: Message::Close {
                code: 4,
                reason: "versions".into(),
            },
        });
    }

    #[test]
    fn entry_size_matches_encoding() {
        let e = DocEntry {
            doc_id: "ALM/card/xyz".into(),
            heads: vec![ChangeHash([9; 32])],
            bytes: vec![0; 300],
            priority: Some(Priority::Archived),
        };
        let mut w = Writer(Vec::new());
        encode_entry(&mut w, &e);
        assert_eq!(entry_encoded_bytes(&e), w.0.len());
    }

    #[test]
    fn unknown_extension_is_skipped() {
        // A v1 entry followed by an extension a newer peer might add (tag 9).
        let mut w = Writer(Vec::new());
        w.u8(TYPE_DOCS);
        w.varint(1);
        w.varint(0);
        w.varint(1);
        w.blob(b"AST/card/1");
        w.heads(&[]);
        w.blob(&[1]);
        w.varint(1);
        w.varint(9);
        w.blob(b"future");
        let f = decode_frame(&w.0).expect("decodes");
        let Message::Docs(b) = f.message else {
            panic!("not docs")
        };
        assert_eq!(b.entries[0].priority, None);
    }

    /// A Hello up to its extensions (the frozen layout), followed by `extensions`.
    fn hello_bytes(extensions: &[(u64, &[u8])]) -> Vec<u8> {
        let mut w = Writer(Vec::new());
        w.u8(TYPE_HELLO);
        w.varint(0);
        w.0.extend_from_slice(&MAGIC);
        w.0.extend_from_slice(&1u16.to_le_bytes());
        w.0.extend_from_slice(&3u16.to_le_bytes());
        w.authority(&Authority::Region("AST".into()));
        w.varint(1 << 20);
        w.0.extend_from_slice(&[7; 16]);
        w.varint(extensions.len() as u64);
        for (tag, value) in extensions {
            w.varint(*tag);
            w.blob(value);
        }
        w.0
    }

    /// Decodes a Hello carrying one software version extension: `Ok(version)` or the error.
    fn check_software_version(value: &[u8], expect: Result<&str, DecodeError>) {
        let got =
            decode_frame(&hello_bytes(&[(EXT_HELLO_SOFTWARE_VERSION, value)])).map(|f| {
                match f.message {
                    Message::Hello(h) => h.software_version.expect("a software version"),
                    other => panic!("not a hello: {other:?}"),
                }
            });
        assert_eq!(got, expect.map(str::to_string), "value {value:02x?}");
    }

    #[test]
    fn hello_software_version_is_checked() {
        let what = "software version";
        check_software_version(b"0.1.0", Ok("0.1.0"));
        check_software_version("0.2.0-қаз".as_bytes(), Ok("0.2.0-қаз"));
        let longest = "9".repeat(SOFTWARE_VERSION_BYTES_MAX);
        check_software_version(longest.as_bytes(), Ok(&longest));
        check_software_version(
            "9".repeat(SOFTWARE_VERSION_BYTES_MAX + 1).as_bytes(),
            Err(DecodeError::OverLimit {
                what,
                value: SOFTWARE_VERSION_BYTES_MAX as u64 + 1,
                max: SOFTWARE_VERSION_BYTES_MAX as u64,
            }),
        );
        check_software_version(&[0x30, 0xff, 0xfe], Err(DecodeError::Malformed { what }));
        check_software_version(b"", Err(DecodeError::Malformed { what }));
        check_software_version(b"0.1\n0", Err(DecodeError::Malformed { what }));
        check_software_version(b"0.1\x1b[31m", Err(DecodeError::Malformed { what }));
    }

    #[test]
    fn hello_software_version_is_cut_to_its_limit_on_encoding() {
        let hello = |v: &str| Frame {
            seq: 0,
            message: Message::Hello(Hello {
                version_min: 1,
                version_max: 3,
                authority: Authority::Central,
                frame_bytes_max: 1 << 20,
                repo_id: [1; 16],
                software_version: Some(v.into()),
            }),
        };
        // 'қ' is two bytes: the cut falls inside the last one and goes back to its start.
        let long = format!("{}қ", "1".repeat(SOFTWARE_VERSION_BYTES_MAX - 1));
        let decoded = decode_frame(&encode_frame(&hello(&long))).expect("decodes");
        assert_eq!(decoded, hello(&"1".repeat(SOFTWARE_VERSION_BYTES_MAX - 1)));
    }

    /// The decoder of every build before the software version extension: the frozen layout,
    /// then extensions with every tag unknown. It must read a current Hello to its end.
    fn decode_hello_skipping_extensions(
        bytes: &[u8],
    ) -> Result<(u16, u16, Authority), DecodeError> {
        let mut r = Reader { buf: bytes, pos: 0 };
        assert_eq!(r.u8("frame type")?, TYPE_HELLO);
        r.varint("sequence number")?;
        if r.take(4, "magic")? != MAGIC {
            return Err(DecodeError::BadMagic);
        }
        let (min, max) = (r.u16le("version")?, r.u16le("version")?);
        let authority = r.authority()?;
        r.varint("frame_bytes_max")?;
        r.take(16, "repo id")?;
        r.extensions(|_, _| Ok(()))?;
        if r.remaining() != 0 {
            return Err(DecodeError::TrailingBytes(r.remaining()));
        }
        Ok((min, max, authority))
    }

    #[test]
    fn a_decoder_without_the_software_version_skips_it() {
        let bytes = encode_frame(&Frame {
            seq: 0,
            message: Message::Hello(Hello {
                version_min: 1,
                version_max: 3,
                authority: Authority::Region("AST".into()),
                frame_bytes_max: 1 << 20,
                repo_id: [7; 16],
                software_version: Some("0.1.0".into()),
            }),
        });
        assert_eq!(
            decode_hello_skipping_extensions(&bytes),
            Ok((1, 3, Authority::Region("AST".into())))
        );
        // The same bytes as the earlier encoder's up to the extension count.
        let before = hello_bytes(&[]);
        assert_eq!(bytes[..before.len() - 1], before[..before.len() - 1]);
    }

    #[test]
    fn unknown_hello_extension_is_skipped() {
        // The software version next to a tag a newer peer might add.
        let f = decode_frame(&hello_bytes(&[
            (EXT_HELLO_SOFTWARE_VERSION, b"0.3.0"),
            (9, b"future"),
        ]))
        .expect("decodes");
        let Message::Hello(h) = f.message else {
            panic!("not a hello")
        };
        assert_eq!(h.software_version.as_deref(), Some("0.3.0"));
        let f = decode_frame(&hello_bytes(&[(9, b"future")])).expect("decodes");
        let Message::Hello(h) = f.message else {
            panic!("not a hello")
        };
        assert_eq!(h.software_version, None);
    }

    #[test]
    fn non_minimal_varint_is_refused() {
        assert!(decode_frame(&[TYPE_PING, 0x80, 0x00]).is_err());
    }
}
