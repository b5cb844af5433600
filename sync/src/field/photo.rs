//! A report photo taken on the terminal: one document per photo, named by its SHA-256, so a
//! photo crosses a bad link once and last (priority `Archived`), after statuses and positions.

use automerge::{transaction::Transactable, ActorId, AutoCommit, ROOT};
use sha2::{Digest, Sha256};

use super::id::PHOTO_ID_HEX_CHARS;
use crate::doc::{get_scalar, get_str, Document};
use crate::error::DomainError;

pub const PHOTO_SCHEMA_VERSION: i64 = 1;
/// Largest photo, bytes (a phone camera JPEG at moderate quality).
pub const FIELD_PHOTO_BYTES_MAX: usize = 2 * 1024 * 1024;

/// SHA-256 of the bytes, hex.
pub fn photo_sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The part of the SHA-256 in the photo's document id.
pub fn photo_id(sha256_hex: &str) -> &str {
    &sha256_hex[..PHOTO_ID_HEX_CHARS.min(sha256_hex.len())]
}

pub struct FieldPhotoDoc {
    doc: AutoCommit,
}

impl Document for FieldPhotoDoc {
    const SCHEMA_VERSION: i64 = PHOTO_SCHEMA_VERSION;
    const KIND: &'static str = "field photo";
    fn wrap(doc: AutoCommit) -> Self {
        FieldPhotoDoc { doc }
    }
    fn automerge(&mut self) -> &mut AutoCommit {
        &mut self.doc
    }
}

impl FieldPhotoDoc {
    /// A JPEG up to [`FIELD_PHOTO_BYTES_MAX`]; returns the document and the photo's SHA-256.
    pub fn create(
        actor: ActorId,
        unit: &str,
        jpeg: &[u8],
    ) -> Result<(FieldPhotoDoc, String), DomainError> {
        if jpeg.len() > FIELD_PHOTO_BYTES_MAX {
            return Err(DomainError::rule_field(
                "photo_too_large",
                "photo",
                format!(
                    "the photo is {} bytes; the limit is {FIELD_PHOTO_BYTES_MAX}",
                    jpeg.len()
                ),
            ));
        }
        if !jpeg.starts_with(&[0xFF, 0xD8, 0xFF]) {
            return Err(DomainError::rule_field(
                "image_not_jpeg",
                "photo",
                "the photo is not a JPEG image",
            ));
        }
        let sha = photo_sha256(jpeg);
        let mut doc = AutoCommit::new().with_actor(actor);
        doc.put(ROOT, "v", PHOTO_SCHEMA_VERSION)?;
        doc.put(ROOT, "unit", unit)?;
        doc.put(ROOT, "sha256", sha.as_str())?;
        doc.put(ROOT, "content_type", "image/jpeg")?;
        doc.put(ROOT, "data", automerge::ScalarValue::Bytes(jpeg.to_vec()))?;
        doc.commit();
        Ok((FieldPhotoDoc { doc }, sha))
    }

    pub fn sha256(&self) -> Option<String> {
        get_str(&self.doc, &ROOT, "sha256")
    }

    /// The photo's bytes, if they match the SHA-256 the document names.
    pub fn bytes(&self) -> Option<Vec<u8>> {
        let data = match get_scalar(&self.doc, &ROOT, "data")? {
            automerge::ScalarValue::Bytes(b) => b,
            _ => return None,
        };
        (Some(photo_sha256(&data)) == self.sha256()).then_some(data)
    }
}
