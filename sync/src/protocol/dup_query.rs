//! R38: the national duplicate check — a node's query to the hub and the hub's answer.
//!
//! Before registration the registrar asks whether a new appeal repeats an earlier one. The node
//! checks its own region's appeals; the hub holds every region's and answers for the others.
//!
//! # Transport: one QUIC stream per query, on the replication connection
//!
//! A query does not travel in the replication stream's frames: that stream is a window of
//! document batches and acknowledgements in order, and a query would wait behind a cold sync's
//! backlog (seconds), while the registrar waits for an answer now. Instead the node opens a
//! **new bidirectional QUIC stream** on the connection it already holds (the same mutual TLS:
//! the hub takes the asking region from the node's certificate, as for documents), writes one
//! query and finishes its side; the hub writes one answer and finishes its side. Streams are
//! independent, so a query is never blocked by replication, and several registrars' queries run
//! side by side.
//!
//! **Versions.** The node opens query streams only when the replication session negotiated
//! version [`VERSION_DUPLICATE_QUERY`](super::VERSION_DUPLICATE_QUERY) or later: an older hub
//! accepts no second stream and is never sent one (the node then reports a region-only check
//! and re-checks later). Each message starts with its own codec version
//! ([`DUP_CODEC_VERSION`]); a hub that reads a version it does not know answers with a
//! refusal (`unsupported_version`) in the oldest layout, which every node reads.
//!
//! # Bytes
//!
//! ```text
//! message  := magic:"KDQ" codec_version:u8 kind:u8 body           one per stream direction, ended by FIN
//! kind 1   := query   body = JSON {appeal_id, fingerprint}         (node → hub, ≤ QUERY_BYTES_MAX)
//! kind 2   := answer  body = JSON {candidates:[candidate…]}        (hub → node, ≤ ANSWER_BYTES_MAX)
//! kind 3   := refusal body = JSON {code, message}                  (hub → node, ≤ ANSWER_BYTES_MAX)
//! candidate := {region, id, number?, received_at, registered_at?, similarity, reasons:[…]}
//! ```
//!
//! JSON, not the frame codec's hand-written binary: a query is rare (one per registration), its
//! body is the detector's [`Fingerprint`] (already serde), and a size limit on the whole message
//! bounds what decoding may allocate. The decoder is total: any bytes give a message or a
//! [`DupQueryError`], never a panic; every field is checked against a named limit (a
//! fingerprint's token lists are bounded and sorted, region codes are codes, a similarity is a
//! number in 0..1).
//!
//! # Personal data
//!
//! The query carries the asking appeal's fingerprint: its normalised identity (ИИН, phone,
//! e-mail, name, dwelling) and hashes of its text — what the hub needs to look candidates up;
//! the hub already holds every region's appeals. The answer carries only references: region,
//! document id, registration number, dates, similarity and the detector's reasons. The type
//! [`NationalCandidate`] has no field for a name, an ИИН, a phone, an address or any text, so no
//! answer can carry them.
//!
//! # Audit
//!
//! Both ends record every query: the node (`appeal.national_check`: the appeal, the number of
//! candidates, the outcome) and the hub (who asked — the region from the certificate — the
//! appeal and the number of candidates). The shells do it; this module is sans-IO.

use serde::{Deserialize, Serialize};

use crate::doc_id::{is_region_code, DOC_LOCAL_ID_BYTES_MAX};
use crate::duplicates::{DupReason, Fingerprint, IDENTITY_CHARS_MAX, TOKENS_MAX};

/// The bytes every query-stream message starts with.
pub const DUP_QUERY_MAGIC: [u8; 3] = *b"KDQ";
/// Layout version of query-stream messages this build writes and reads.
pub const DUP_CODEC_VERSION: u8 = 1;
/// Largest query message, in bytes: a fingerprint of the longest text (two lists of at most
/// [`TOKENS_MAX`] hashes, ~11 bytes each as JSON) and its identity fit in ~10 KB.
pub const QUERY_BYTES_MAX: usize = 32 * 1024;
/// Largest answer or refusal message, in bytes: [`ANSWER_CANDIDATES_MAX`] candidates of
/// ~250 bytes each.
pub const ANSWER_BYTES_MAX: usize = 16 * 1024;
/// Most candidates one answer carries (the most similar first).
pub const ANSWER_CANDIDATES_MAX: usize = 20;
/// Longest registration number in an answer, in bytes.
pub const NUMBER_BYTES_MAX: usize = 64;
/// Most reasons of one candidate (the detector has seven).
pub const REASONS_MAX: usize = 8;
/// Longest refusal code, in bytes.
pub const REFUSAL_CODE_BYTES_MAX: usize = 64;
/// Longest refusal message, in bytes.
pub const REFUSAL_MESSAGE_BYTES_MAX: usize = 512;
/// Most street words of a fingerprint's address.
pub const STREET_WORDS_MAX: usize = 16;
/// Longest phone number of a fingerprint, in digits.
pub const PHONE_DIGITS_MAX: usize = 20;

const KIND_QUERY: u8 = 1;
const KIND_ANSWER: u8 = 2;
const KIND_REFUSAL: u8 = 3;
const HEADER_BYTES: usize = DUP_QUERY_MAGIC.len() + 2;

/// Refusal codes the hub sends.
pub mod refusal {
    /// The query could not be decoded or broke a limit.
    pub const BAD_QUERY: &str = "bad_query";
    /// The message's codec version is newer than the hub's.
    pub const UNSUPPORTED_VERSION: &str = "unsupported_version";
    /// The fingerprint names another region than the asking node's certificate.
    pub const NOT_YOUR_REGION: &str = "not_your_region";
    /// The hub's store or audit log failed: nothing was answered.
    pub const UNAVAILABLE: &str = "unavailable";
}

/// A node's question: which earlier appeals of other regions may the appeal repeat?
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DupQuery {
    /// The asking appeal's document id in its region (audited at both ends).
    pub appeal_id: String,
    pub fingerprint: Fingerprint,
}

/// One earlier appeal of another region, as the hub tells it: references only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NationalCandidate {
    pub region: String,
    /// Its document id in its region.
    pub id: String,
    /// Its registration number, once registered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    pub received_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registered_at: Option<i64>,
    /// Text similarity, 0..1.
    pub similarity: f32,
    pub reasons: Vec<DupReason>,
}

/// The hub's reply to one query.
#[derive(Debug, Clone, PartialEq)]
pub enum DupAnswer {
    /// Candidates, most similar first (possibly none).
    Candidates(Vec<NationalCandidate>),
    /// Not answered; `code` is one of [`refusal`].
    Refused { code: String, message: String },
}

#[derive(Serialize, Deserialize)]
struct CandidatesBody {
    candidates: Vec<NationalCandidate>,
}

#[derive(Serialize, Deserialize)]
struct RefusalBody {
    code: String,
    message: String,
}

/// Why a query-stream message could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DupQueryError {
    #[error("message is {bytes} bytes; the limit is {max} bytes")]
    TooLarge { bytes: usize, max: usize },
    #[error("message ends before its header")]
    Truncated,
    #[error("message does not start with the query magic")]
    BadMagic,
    #[error("codec version {0} is not supported (this build reads {DUP_CODEC_VERSION})")]
    UnsupportedVersion(u8),
    #[error("unexpected message kind {0}")]
    UnexpectedKind(u8),
    #[error("malformed body: {0}")]
    Malformed(String),
    #[error("{what} breaks its limit: {why}")]
    OverLimit { what: &'static str, why: String },
}

impl DupQueryError {
    /// The refusal code a hub answers this error with.
    pub fn refusal_code(&self) -> &'static str {
        match self {
            DupQueryError::UnsupportedVersion(_) => refusal::UNSUPPORTED_VERSION,
            _ => refusal::BAD_QUERY,
        }
    }
}

fn over(what: &'static str, why: impl Into<String>) -> DupQueryError {
    DupQueryError::OverLimit {
        what,
        why: why.into(),
    }
}

fn encode(kind: u8, body: &impl Serialize, max: usize) -> Result<Vec<u8>, DupQueryError> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(&DUP_QUERY_MAGIC);
    out.push(DUP_CODEC_VERSION);
    out.push(kind);
    serde_json::to_writer(&mut out, body).map_err(|e| DupQueryError::Malformed(e.to_string()))?;
    if out.len() > max {
        return Err(DupQueryError::TooLarge {
            bytes: out.len(),
            max,
        });
    }
    Ok(out)
}

/// The header's kind and the body, after checking size, magic and version.
fn open(bytes: &[u8], max: usize) -> Result<(u8, &[u8]), DupQueryError> {
    if bytes.len() > max {
        return Err(DupQueryError::TooLarge {
            bytes: bytes.len(),
            max,
        });
    }
    if bytes.len() < HEADER_BYTES {
        return Err(DupQueryError::Truncated);
    }
    if bytes[..DUP_QUERY_MAGIC.len()] != DUP_QUERY_MAGIC {
        return Err(DupQueryError::BadMagic);
    }
    let version = bytes[DUP_QUERY_MAGIC.len()];
    if version != DUP_CODEC_VERSION {
        return Err(DupQueryError::UnsupportedVersion(version));
    }
    Ok((bytes[DUP_QUERY_MAGIC.len() + 1], &bytes[HEADER_BYTES..]))
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, DupQueryError> {
    serde_json::from_slice(body).map_err(|e| DupQueryError::Malformed(e.to_string()))
}

fn check_sorted(what: &'static str, v: &[u32]) -> Result<(), DupQueryError> {
    if v.len() > TOKENS_MAX {
        return Err(over(
            what,
            format!("{} hashes, at most {TOKENS_MAX}", v.len()),
        ));
    }
    if v.windows(2).any(|w| w[0] > w[1]) {
        return Err(over(what, "not sorted"));
    }
    Ok(())
}

fn check_chars(what: &'static str, s: &str, max: usize) -> Result<(), DupQueryError> {
    if s.chars().count() > max {
        return Err(over(what, format!("longer than {max} characters")));
    }
    Ok(())
}

fn check_id(what: &'static str, id: &str) -> Result<(), DupQueryError> {
    if id.is_empty() || id.len() > DOC_LOCAL_ID_BYTES_MAX || id.contains('/') {
        return Err(over(
            what,
            format!("empty, longer than {DOC_LOCAL_ID_BYTES_MAX} bytes or holds '/'"),
        ));
    }
    Ok(())
}

/// Checks a fingerprint received from a peer against the detector's own limits.
pub fn check_fingerprint(f: &Fingerprint) -> Result<(), DupQueryError> {
    if !is_region_code(&f.region) {
        return Err(over("fingerprint.region", "not a region code"));
    }
    if f.number.is_empty() || f.number.len() > NUMBER_BYTES_MAX {
        return Err(over(
            "fingerprint.number",
            format!("empty or longer than {NUMBER_BYTES_MAX} bytes"),
        ));
    }
    check_sorted("fingerprint.tokens", &f.tokens)?;
    check_sorted("fingerprint.evidence", &f.evidence)?;
    if let Some(iin) = &f.iin {
        if iin.len() != 12 || !iin.bytes().all(|b| b.is_ascii_digit()) {
            return Err(over("fingerprint.iin", "not 12 digits"));
        }
    }
    if let Some(p) = &f.phone {
        if p.is_empty() || p.len() > PHONE_DIGITS_MAX || !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err(over(
                "fingerprint.phone",
                format!("not 1–{PHONE_DIGITS_MAX} digits"),
            ));
        }
    }
    if let Some(e) = &f.email {
        check_chars("fingerprint.email", e, IDENTITY_CHARS_MAX)?;
    }
    if let Some(p) = &f.person {
        check_chars("fingerprint.person", &p.surname, IDENTITY_CHARS_MAX)?;
        check_chars("fingerprint.person", &p.name, IDENTITY_CHARS_MAX)?;
        if let Some(x) = &p.patronymic {
            check_chars("fingerprint.person", x, IDENTITY_CHARS_MAX)?;
        }
    }
    if let Some(a) = &f.address {
        check_chars("fingerprint.address", &a.house, IDENTITY_CHARS_MAX)?;
        if let Some(x) = &a.flat {
            check_chars("fingerprint.address", x, IDENTITY_CHARS_MAX)?;
        }
        if a.street.len() > STREET_WORDS_MAX {
            return Err(over(
                "fingerprint.address",
                format!("more than {STREET_WORDS_MAX} street words"),
            ));
        }
        for w in &a.street {
            check_chars("fingerprint.address", w, IDENTITY_CHARS_MAX)?;
        }
    }
    Ok(())
}

fn check_candidate(c: &NationalCandidate) -> Result<(), DupQueryError> {
    if !is_region_code(&c.region) {
        return Err(over("candidate.region", "not a region code"));
    }
    check_id("candidate.id", &c.id)?;
    if let Some(n) = &c.number {
        if n.is_empty() || n.len() > NUMBER_BYTES_MAX {
            return Err(over(
                "candidate.number",
                format!("empty or longer than {NUMBER_BYTES_MAX} bytes"),
            ));
        }
    }
    if !c.similarity.is_finite() || !(0.0..=1.0).contains(&c.similarity) {
        return Err(over("candidate.similarity", "not a number in 0..1"));
    }
    if c.reasons.len() > REASONS_MAX {
        return Err(over(
            "candidate.reasons",
            format!("more than {REASONS_MAX}"),
        ));
    }
    Ok(())
}

/// The query's bytes. Fails when it breaks a limit (then nothing is sent).
pub fn encode_query(q: &DupQuery) -> Result<Vec<u8>, DupQueryError> {
    check_id("appeal_id", &q.appeal_id)?;
    check_fingerprint(&q.fingerprint)?;
    encode(KIND_QUERY, q, QUERY_BYTES_MAX)
}

/// A query from its bytes, checked.
pub fn decode_query(bytes: &[u8]) -> Result<DupQuery, DupQueryError> {
    let (kind, body) = open(bytes, QUERY_BYTES_MAX)?;
    if kind != KIND_QUERY {
        return Err(DupQueryError::UnexpectedKind(kind));
    }
    let q: DupQuery = parse(body)?;
    check_id("appeal_id", &q.appeal_id)?;
    check_fingerprint(&q.fingerprint)?;
    Ok(q)
}

/// The answer's bytes: candidates beyond [`ANSWER_CANDIDATES_MAX`] are an error (the hub
/// truncates first), and a refusal's message is cut to [`REFUSAL_MESSAGE_BYTES_MAX`].
pub fn encode_answer(a: &DupAnswer) -> Result<Vec<u8>, DupQueryError> {
    match a {
        DupAnswer::Candidates(c) => {
            if c.len() > ANSWER_CANDIDATES_MAX {
                return Err(over(
                    "candidates",
                    format!("{} candidates, at most {ANSWER_CANDIDATES_MAX}", c.len()),
                ));
            }
            c.iter().try_for_each(check_candidate)?;
            encode(
                KIND_ANSWER,
                &CandidatesBody {
                    candidates: c.clone(),
                },
                ANSWER_BYTES_MAX,
            )
        }
        DupAnswer::Refused { code, message } => {
            if code.is_empty() || code.len() > REFUSAL_CODE_BYTES_MAX {
                return Err(over("refusal.code", "empty or too long"));
            }
            let mut message = message.clone();
            if message.len() > REFUSAL_MESSAGE_BYTES_MAX {
                let mut cut = REFUSAL_MESSAGE_BYTES_MAX;
                while !message.is_char_boundary(cut) {
                    cut -= 1;
                }
                message.truncate(cut);
            }
            encode(
                KIND_REFUSAL,
                &RefusalBody {
                    code: code.clone(),
                    message,
                },
                ANSWER_BYTES_MAX,
            )
        }
    }
}

/// An answer from its bytes, checked.
pub fn decode_answer(bytes: &[u8]) -> Result<DupAnswer, DupQueryError> {
    let (kind, body) = open(bytes, ANSWER_BYTES_MAX)?;
    match kind {
        KIND_ANSWER => {
            let b: CandidatesBody = parse(body)?;
            if b.candidates.len() > ANSWER_CANDIDATES_MAX {
                return Err(over(
                    "candidates",
                    format!("more than {ANSWER_CANDIDATES_MAX}"),
                ));
            }
            b.candidates.iter().try_for_each(check_candidate)?;
            Ok(DupAnswer::Candidates(b.candidates))
        }
        KIND_REFUSAL => {
            let b: RefusalBody = parse(body)?;
            if b.code.is_empty() || b.code.len() > REFUSAL_CODE_BYTES_MAX {
                return Err(over("refusal.code", "empty or too long"));
            }
            if b.message.len() > REFUSAL_MESSAGE_BYTES_MAX {
                return Err(over("refusal.message", "too long"));
            }
            Ok(DupAnswer::Refused {
                code: b.code,
                message: b.message,
            })
        }
        k => Err(DupQueryError::UnexpectedKind(k)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::duplicates::{fingerprint, DupSubject};
    use crate::model::Language;

    fn fp() -> Fingerprint {
        fingerprint(&DupSubject {
            region: "AST".into(),
            number: "0b7c6a2e-5a43-4c1e-9a59-3f1c1d2e4b5a".into(),
            received_at_ms: 1_772_427_600_000,
            iin: Some("900101300126".into()),
            phone: Some("+7 701 123 45 67".into()),
            email: Some("serik@example.kz".into()),
            surname: Some("Ахметов".into()),
            name: Some("Серік".into()),
            patronymic: None,
            address: Some("Астана, ул. Кенесары, 40, кв. 12".into()),
            language: Language::Ru,
            text: "Соседи из квартиры 13 шумят каждую ночь после 23 часов, прошу принять меры."
                .into(),
        })
    }

    fn query() -> DupQuery {
        DupQuery {
            appeal_id: "0b7c6a2e-5a43-4c1e-9a59-3f1c1d2e4b5a".into(),
            fingerprint: fp(),
        }
    }

    fn candidate(n: u32) -> NationalCandidate {
        NationalCandidate {
            region: "KRG".into(),
            id: format!("c{n}"),
            number: Some(format!("KRG-2026-{n:06}")),
            received_at: 1_772_000_000_000,
            registered_at: Some(1_772_000_600_000),
            similarity: 0.5,
            reasons: vec![DupReason::SameIin, DupReason::SimilarText],
        }
    }

    #[test]
    fn r38_query_and_answers_round_trip() {
        let q = query();
        let bytes = encode_query(&q).unwrap();
        assert!(bytes.starts_with(b"KDQ\x01\x01"));
        assert!(bytes.len() < QUERY_BYTES_MAX / 4, "{} bytes", bytes.len());
        assert_eq!(decode_query(&bytes).unwrap(), q);
        for a in [
            DupAnswer::Candidates(vec![]),
            DupAnswer::Candidates((0..ANSWER_CANDIDATES_MAX as u32).map(candidate).collect()),
            DupAnswer::Refused {
                code: refusal::NOT_YOUR_REGION.into(),
                message: "the fingerprint is of region KRG".into(),
            },
        ] {
            let bytes = encode_answer(&a).unwrap();
            assert!(bytes.len() <= ANSWER_BYTES_MAX);
            assert_eq!(decode_answer(&bytes).unwrap(), a);
        }
        // A long refusal message is cut on a character boundary, not refused.
        let long = DupAnswer::Refused {
            code: refusal::UNAVAILABLE.into(),
            message: "ә".repeat(REFUSAL_MESSAGE_BYTES_MAX),
        };
        let DupAnswer::Refused { message, .. } =
            decode_answer(&encode_answer(&long).unwrap()).unwrap()
        else {
            panic!("a refusal")
        };
        assert!(message.len() <= REFUSAL_MESSAGE_BYTES_MAX && message.starts_with('ә'));
    }

    #[test]
    fn r38_an_answer_has_no_field_for_personal_data() {
        let json = String::from_utf8(
            encode_answer(&DupAnswer::Candidates(vec![candidate(1)])).unwrap()[HEADER_BYTES..]
                .to_vec(),
        )
        .unwrap();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        let mut keys: Vec<&str> = v["candidates"][0]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "id",
                "number",
                "reasons",
                "received_at",
                "region",
                "registered_at",
                "similarity"
            ]
        );
    }

    #[test]
    fn r38_bad_bytes_are_an_error_never_a_panic() {
        let good = encode_query(&query()).unwrap();
        assert_eq!(decode_query(&[]), Err(DupQueryError::Truncated));
        assert_eq!(decode_query(b"KDQ"), Err(DupQueryError::Truncated));
        assert_eq!(decode_query(b"XYZ\x01\x01{}"), Err(DupQueryError::BadMagic));
        let mut newer = good.clone();
        newer[3] = DUP_CODEC_VERSION + 1;
        let e = decode_query(&newer).unwrap_err();
        assert_eq!(e, DupQueryError::UnsupportedVersion(DUP_CODEC_VERSION + 1));
        assert_eq!(e.refusal_code(), refusal::UNSUPPORTED_VERSION);
        let mut answer_kind = good.clone();
        answer_kind[4] = KIND_ANSWER;
        assert_eq!(
            decode_query(&answer_kind),
            Err(DupQueryError::UnexpectedKind(KIND_ANSWER))
        );
        assert!(matches!(
            decode_query(&vec![b'K'; QUERY_BYTES_MAX + 1]),
            Err(DupQueryError::TooLarge { .. })
        ));
        // Every prefix and every single-byte change of a good query: an error or a valid query.
        for n in 0..good.len() {
            assert!(decode_query(&good[..n]).is_err(), "prefix of {n} bytes");
        }
        for i in 0..good.len() {
            for b in [0u8, b'"', b'}', b'9', 0xff] {
                let mut m = good.clone();
                m[i] = b;
                if let Ok(q) = decode_query(&m) {
                    assert!(check_fingerprint(&q.fingerprint).is_ok());
                }
            }
        }
        // Limits inside a well-formed body.
        let mut q = query();
        q.fingerprint.tokens = vec![1; TOKENS_MAX + 1];
        assert!(matches!(
            encode_query(&q),
            Err(DupQueryError::OverLimit { .. })
        ));
        let mut q = query();
        q.fingerprint.tokens.reverse();
        let raw = encode(KIND_QUERY, &q, QUERY_BYTES_MAX).unwrap();
        assert!(matches!(
            decode_query(&raw),
            Err(DupQueryError::OverLimit { .. })
        ));
        let mut q = query();
        q.fingerprint.region = "ast".into();
        let raw = encode(KIND_QUERY, &q, QUERY_BYTES_MAX).unwrap();
        assert!(decode_query(&raw).is_err());
        let mut q = query();
        q.appeal_id = "../x".into();
        let raw = encode(KIND_QUERY, &q, QUERY_BYTES_MAX).unwrap();
        assert!(decode_query(&raw).is_err());
        // Answers: too many candidates, a similarity out of range, a bad region.
        let many = CandidatesBody {
            candidates: (0..ANSWER_CANDIDATES_MAX as u32 + 1)
                .map(candidate)
                .collect(),
        };
        let raw = encode(KIND_ANSWER, &many, usize::MAX).unwrap();
        assert!(decode_answer(&raw).is_err());
        let mut raw = b"KDQ\x01\x02".to_vec();
        raw.extend_from_slice(
            br#"{"candidates":[{"region":"KRG","id":"c","received_at":1,"similarity":7.0,"reasons":[]}]}"#,
        );
        assert!(decode_answer(&raw).is_err());
        let mut raw = b"KDQ\x01\x02".to_vec();
        raw.extend_from_slice(
            br#"{"candidates":[{"region":"KRG","id":"c","received_at":1,"similarity":0.5,"reasons":["same_iin"]}]}"#,
        );
        assert!(decode_answer(&raw).is_ok());
        let bad_region = String::from_utf8(raw.clone())
            .unwrap()
            .replace("KRG", "k/g");
        assert!(decode_answer(bad_region.as_bytes()).is_err());
        let unknown_reason = String::from_utf8(raw)
            .unwrap()
            .replace("same_iin", "gossip");
        assert!(decode_answer(unknown_reason.as_bytes()).is_err());
        assert!(decode_answer(b"KDQ\x01\x09{}").is_err());
        assert!(decode_answer(b"KDQ\x01\x03{\"code\":\"\",\"message\":\"\"}").is_err());
    }
}
