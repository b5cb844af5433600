//! The stored encodings of document heads, the same on the node and at the hub: the heads index
//! (`priority byte ‖ 32-byte hashes`, the catalogue the protocol lists) and per-peer knowledge
//! (`32-byte hashes`).

use automerge::ChangeHash;
use sync::protocol::Priority;

/// A heads-index value: the document's replication priority, then its heads.
pub fn encode_heads(priority: Priority, heads: &[ChangeHash]) -> Vec<u8> {
    let mut v = Vec::with_capacity(1 + 32 * heads.len());
    v.push(priority as u8);
    v.extend(heads.iter().flat_map(|h| h.0));
    v
}

/// Decodes a heads-index value; `None` when it is not one.
pub fn decode_heads(v: &[u8]) -> Option<(Priority, Vec<ChangeHash>)> {
    let (&p, rest) = v.split_first()?;
    let priority = match p {
        0 => Priority::Active,
        1 => Priority::Normal,
        2 => Priority::Archived,
        _ => return None,
    };
    Some((priority, decode_hashes(rest)?))
}

/// Heads as stored for per-peer knowledge.
pub fn encode_hashes(heads: &[ChangeHash]) -> Vec<u8> {
    heads.iter().flat_map(|h| h.0).collect()
}

/// Decodes [`encode_hashes`]; `None` unless the length is a multiple of 32.
pub fn decode_hashes(v: &[u8]) -> Option<Vec<ChangeHash>> {
    v.len().is_multiple_of(32).then(|| {
        v.chunks_exact(32)
            .map(|c| {
                let mut h = [0u8; 32];
                h.copy_from_slice(c);
                ChangeHash(h)
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_round_trip_and_bad_values_are_refused() {
        let heads = vec![ChangeHash([7; 32]), ChangeHash([9; 32])];
        let v = encode_heads(Priority::Archived, &heads);
        assert_eq!(v.len(), 65);
        assert_eq!(decode_heads(&v), Some((Priority::Archived, heads.clone())));
        assert_eq!(decode_hashes(&encode_hashes(&heads)), Some(heads));
        assert_eq!(decode_heads(&[]), None);
        assert_eq!(decode_heads(&[3]), None, "unknown priority");
        assert_eq!(decode_heads(&[0, 1, 2]), None, "not whole hashes");
    }
}
