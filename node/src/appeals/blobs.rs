//! Files of appeals (attachments, answers' Word documents) stored by content: `blob/{sha256}`
//! → bytes, written in the same batch as the document step that names them. They stay on the
//! region's node (the document replicates their references, name, type, size and hash).

use base64::Engine;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use sync::appeal::{limits, AttachmentRef};
use sync::DomainError;

use crate::store::{Store, StoreError, WriteBatch};

/// A file as a client sends it: its name, claimed type and bytes in base64.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FileUpload {
    pub file_name: String,
    pub content_type: String,
    /// The bytes, base64 (standard alphabet).
    pub data_base64: String,
}

/// Content types an appeal may carry, each recognised by its first bytes.
pub const ACCEPTED_TYPES: &[&str] = &[
    "image/jpeg",
    "image/png",
    "application/pdf",
    "text/plain",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
];

/// What the bytes are, by their signature; `None` when nothing accepted matches.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) && bytes.ends_with(&[0xFF, 0xD9]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if bytes.starts_with(b"PK\x03\x04") {
        Some("application/vnd.openxmlformats-officedocument.wordprocessingml.document")
    } else if std::str::from_utf8(bytes).is_ok() {
        Some("text/plain")
    } else {
        None
    }
}

pub fn blob_key(sha256: &str) -> String {
    format!("blob/{sha256}")
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Decodes and checks an upload: size within [`limits::ATTACHMENT_BYTES_MAX`], a type this
/// system accepts, and the bytes being what the type claims. Returns the reference and bytes.
pub fn check_upload(field: &str, f: &FileUpload) -> Result<(AttachmentRef, Vec<u8>), DomainError> {
    sync::doc::check_text(
        &format!("{field}.file_name"),
        &f.file_name,
        limits::FILE_NAME_CHARS_MAX,
        true,
    )?;
    // Base64 is 4/3 of the bytes: refuse an oversized upload before decoding it.
    if f.data_base64.len() > limits::ATTACHMENT_BYTES_MAX / 3 * 4 + 4 {
        return Err(too_large(field));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(f.data_base64.trim())
        .map_err(|_| {
            DomainError::field(&format!("{field}.data_base64"), "the file is not base64")
        })?;
    if bytes.is_empty() {
        return Err(DomainError::field(
            &format!("{field}.data_base64"),
            "the file is empty",
        ));
    }
    if bytes.len() > limits::ATTACHMENT_BYTES_MAX {
        return Err(too_large(field));
    }
    let claimed = f.content_type.trim().to_ascii_lowercase();
    if !ACCEPTED_TYPES.contains(&claimed.as_str()) {
        return Err(DomainError::rule_field(
            "attachment_type_not_accepted",
            &format!("{field}.content_type"),
            format!("{claimed:?} is not accepted: JPEG, PNG, PDF, DOCX or plain text"),
        ));
    }
    if sniff(&bytes) != Some(claimed.as_str()) {
        return Err(DomainError::rule_field(
            "attachment_not_what_it_claims",
            &format!("{field}.content_type"),
            format!("the file {:?} is not {claimed}", f.file_name),
        ));
    }
    let r = AttachmentRef {
        sha256: sha256_hex(&bytes),
        file_name: f.file_name.trim().to_string(),
        content_type: claimed,
        size: bytes.len() as u64,
    };
    Ok((r, bytes))
}

fn too_large(field: &str) -> DomainError {
    DomainError::rule_field(
        "attachment_too_large",
        field,
        format!(
            "a file may be at most {} bytes",
            limits::ATTACHMENT_BYTES_MAX
        ),
    )
}

/// Stages a blob (content-addressed: the same bytes are one key).
pub fn stage(batch: &mut WriteBatch, sha256: &str, bytes: Vec<u8>) {
    batch.put(blob_key(sha256), bytes);
}

pub fn load(store: &dyn Store, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
    if sha256.len() != 64 || !sha256.chars().all(|c| c.is_ascii_hexdigit()) {
        return Ok(None);
    }
    store.get(blob_key(sha256).as_bytes())
}
