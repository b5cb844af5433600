//! Human registration numbers, `REGION-YEAR-NNNNNN`, unique without coordination: each kind
//! (cards, appeals) has its own per-year sequence of this region, kept in the store as the
//! number index (`{prefix}{year}/{seq:020}` → id) and continued after the highest number the
//! store or replication has shown.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};

use crate::store::{Store, StoreError};

/// `(region, year, sequence)` of a number such as `AST-2026-000123`.
pub fn number_parts(number: &str) -> Option<(&str, i32, u64)> {
    let mut parts = number.rsplitn(3, '-');
    let seq = parts.next()?.parse::<u64>().ok()?;
    let year = parts.next()?.parse::<i32>().ok()?;
    Some((parts.next()?, year, seq))
}

/// One kind's number sequence of a region.
pub struct NumberSequence {
    /// Key prefix of the kind's number index, ending in `/` (`meta/seq/`, `meta/ap/seq/`).
    prefix: &'static str,
    region: String,
    next: Mutex<BTreeMap<i32, u64>>,
}

impl NumberSequence {
    pub fn new(prefix: &'static str, region: &str) -> Self {
        NumberSequence {
            prefix,
            region: region.to_string(),
            next: Mutex::new(BTreeMap::new()),
        }
    }

    /// The number index key of `year`'s `seq`.
    pub fn key(&self, year: i32, seq: u64) -> String {
        format!("{}{year}/{seq:020}", self.prefix)
    }

    /// The next number of `year`: after the last one this process gave, else after the highest
    /// the store's index holds.
    pub fn next(&self, store: &dyn Store, year: i32) -> Result<String, StoreError> {
        let mut seqs = self.next.lock().unwrap_or_else(PoisonError::into_inner);
        let next = match seqs.get(&year) {
            Some(n) => n + 1,
            None => {
                let last = store
                    .last_with_prefix(format!("{}{year}/", self.prefix).as_bytes())?
                    .and_then(|(k, _)| {
                        String::from_utf8_lossy(&k)
                            .rsplit('/')
                            .next()
                            .and_then(|s| s.parse::<u64>().ok())
                    })
                    .unwrap_or(0);
                last + 1
            }
        };
        seqs.insert(year, next);
        Ok(format!("{}-{year}-{next:06}", self.region))
    }

    /// A number of this region arrived by replication: the sequence continues after it, so that
    /// a node restored from the hub never hands it out again.
    pub fn used(&self, number: &str) {
        if let Some((_, year, seq)) = number_parts(number) {
            let mut seqs = self.next.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(next) = seqs.get_mut(&year) {
                *next = (*next).max(seq);
            }
        }
    }
}
