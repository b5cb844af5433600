//! Durable key-value storage behind a small trait, and group commit on top of it.
//!
//! Everything the node keeps (automerge documents, indexes, accounts, sessions, the audit chain,
//! address warnings) lives in one ordered key space. A [`WriteBatch`] is applied atomically, so a
//! card change, its index updates and its audit entry are either all on disk or none of them are.
//!
//! Durability: sled only flushes on its own every 500 ms, so a write is acknowledged only after an
//! explicit flush. [`GroupCommit`] lets many concurrent writers share one flush: each writer applies
//! its batch, takes a ticket, and waits until a flush that started after its write has finished.
//! `central` reuses this module for its own store.
//!
//! Applied batches first land in [`SledStore`]'s in-memory overlay, where every read sees them.
//! A flush writes the whole overlay as **one** record into a write-ahead tree (`wal`), syncs, and
//! only then copies the record's keys into the main tree (synced by the next flush) and removes
//! the record; opening the store replays a record a crash left behind. sled's own atomic batch
//! seals and writes its I/O buffer twice per `apply_batch` (its batch manifest), so a sled batch
//! per card cost two `pwrite` + `sync_file_range` calls and two wake-ups of sled's I/O pool per
//! card; a record costs one write per flush, shared by every batch in it. This relies on sled
//! recovering a prefix of its log (it stops at the first torn message): a record's removal is
//! logged after its keys, so whenever the removal survives a crash, so do the keys. Nothing is
//! acknowledged before its flush, so a crash loses only unacknowledged batches, and a batch is
//! never split: it is in one record, and a record is one sled value.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};

use thiserror::Error;

/// Errors from the storage layer. They never carry user input back as-is.
#[derive(Debug, Clone, Error)]
pub enum StoreError {
    #[error("the database at {path} cannot be opened: {reason}. It may be corrupted or used by another process; the node will not start on a fresh database in its place. Restore it from a backup or move it aside deliberately.")]
    Open { path: String, reason: String },
    #[error("storage I/O failed: {0}")]
    Io(String),
    #[error("a flush to disk failed: {0}")]
    Flush(String),
    /// A value could not be encoded for storage; nothing of the batch was written.
    #[error("a value could not be encoded for storage: {0}")]
    Encode(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Receives the pairs of an export ([`Store::export`]), one at a time, in key order.
pub type PairSink<'a> = dyn FnMut(&[u8], &[u8]) -> StoreResult<()> + 'a;

/// One atomic group of writes.
#[derive(Debug, Default, Clone)]
pub struct WriteBatch {
    pub ops: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

impl WriteBatch {
    /// Puts `value` as JSON; an encoding failure is an error, never an empty value.
    pub fn put_json<T: serde::Serialize + ?Sized>(
        &mut self,
        key: impl Into<Vec<u8>>,
        value: &T,
    ) -> StoreResult<()> {
        let bytes = serde_json::to_vec(value).map_err(|e| StoreError::Encode(e.to_string()))?;
        self.put(key, bytes);
        Ok(())
    }

    pub fn new() -> Self {
        Self::default()
    }
    pub fn put(&mut self, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.ops.push((key.into(), Some(value.into())));
    }
    pub fn delete(&mut self, key: impl Into<Vec<u8>>) {
        self.ops.push((key.into(), None));
    }
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
    pub fn extend(&mut self, other: WriteBatch) {
        self.ops.extend(other.ops);
    }
}

/// The small storage trait. Implementations must make `apply` atomic and `flush` durable.
pub trait Store: Send + Sync + 'static {
    fn get(&self, key: &[u8]) -> StoreResult<Option<Vec<u8>>>;
    /// All pairs whose key starts with `prefix`, in key order.
    fn scan_prefix(&self, prefix: &[u8]) -> StoreResult<Vec<(Vec<u8>, Vec<u8>)>>;
    /// Keys only, in key order, at most `limit_count` of them.
    fn scan_keys(&self, prefix: &[u8], limit_count: usize) -> StoreResult<Vec<Vec<u8>>>;
    /// The last pair (in key order) whose key starts with `prefix`.
    fn last_with_prefix(&self, prefix: &[u8]) -> StoreResult<Option<(Vec<u8>, Vec<u8>)>>;
    /// Keys that start with `prefix` and sort before `before` (all of them when `None`), in
    /// reverse key order, at most `limit_count`: the newest entries of a time-ordered index.
    fn scan_keys_rev(
        &self,
        prefix: &[u8],
        before: Option<&[u8]>,
        limit_count: usize,
    ) -> StoreResult<Vec<Vec<u8>>>;
    /// Applies all writes of the batch atomically (not yet durable).
    fn apply(&self, batch: WriteBatch) -> StoreResult<()>;
    /// Makes every applied write durable.
    fn flush(&self) -> StoreResult<()>;
    /// Work a flush may leave for after its writers are told (see [`SledStore`]); a store
    /// stays correct if it is never called, and the next flush does it first.
    fn settle(&self) -> StoreResult<()> {
        Ok(())
    }
    /// Approximate bytes on disk.
    fn size_on_disk_bytes(&self) -> u64;
    /// Hands `each` every pair of one point in time: the writes durable when the export began
    /// (every acknowledged batch, whole), none of the later ones, while writers go on. Returns
    /// the number of pairs. An online backup reads the store through this.
    fn export(&self, each: &mut PairSink<'_>) -> StoreResult<u64> {
        let all = self.scan_prefix(b"")?;
        for (k, v) in &all {
            each(k, v)?;
        }
        Ok(all.len() as u64)
    }
}

/// sled 0.34.7 implementation: one tree, so that a batch is atomic across documents and indexes.
///
/// Applied writes wait in an in-memory overlay (newest value per key, `None` for a removal) that
/// every read consults first; [`Store::flush`] moves the overlay into sled as one sled batch and
/// then syncs. See the module documentation for why.
pub struct SledStore {
    db: sled::Db,
    tree: sled::Tree,
    /// Write-ahead records (see the module documentation), keyed by sequence number.
    wal: sled::Tree,
    overlay: RwLock<Overlay>,
    /// One flush at a time, so that records reach sled in order.
    flushing: Mutex<Records>,
    /// Tests drop a store as a crash would: without its last flush and copy.
    #[cfg(test)]
    crashed: std::sync::atomic::AtomicBool,
}

/// Write-ahead bookkeeping, under `SledStore::flushing`.
struct Records {
    next: u64,
    /// The record holding `in_sled` when it is synced but not yet copied into the main tree
    /// (while `pinned`, the last of the records holding it).
    synced: Option<u64>,
    /// An export is reading the main tree: flushes leave it as it is and write each group as a
    /// record of its own, which `in_sled` accumulates until the export ends.
    pinned: bool,
    /// While pinned, a record failed to reach the write-ahead tree: `in_sled` holds keys no
    /// record holds, so the next record carries all of `in_sled` again.
    unrecorded: bool,
}

/// Pending writes: `newest` since the last flush began, `in_sled` being written into sled by a
/// flush (readers still see it until the main tree holds it).
#[derive(Default)]
struct Overlay {
    newest: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    newest_bytes: usize,
    in_sled: Arc<BTreeMap<Vec<u8>, Option<Vec<u8>>>>,
}

/// Past this many bytes of keys and values in the overlay, `apply` flushes at once instead of
/// waiting for the group commit: bulk writers that flush rarely (an import, a migration) keep
/// memory bounded.
const OVERLAY_FLUSH_BYTES: usize = 16 << 20;

/// The sled tree of write-ahead records.
const WAL_TREE: &str = "wal";
/// First byte of a write-ahead record: the layout below.
const WAL_RECORD_FORMAT: u8 = 1;

/// A write-ahead record: the format byte, then per key `u32` key length, key, and either `0` (a
/// removal) or `1`, `u32` value length, value. Lengths are big-endian.
fn encode_record(group: &BTreeMap<Vec<u8>, Option<Vec<u8>>>) -> Vec<u8> {
    let bytes: usize = group
        .iter()
        .map(|(k, v)| 9 + k.len() + v.as_ref().map_or(0, Vec::len))
        .sum();
    let mut out = Vec::with_capacity(1 + bytes);
    out.push(WAL_RECORD_FORMAT);
    for (k, v) in group {
        out.extend_from_slice(&(k.len() as u32).to_be_bytes());
        out.extend_from_slice(k);
        match v {
            None => out.push(0),
            Some(v) => {
                out.push(1);
                out.extend_from_slice(&(v.len() as u32).to_be_bytes());
                out.extend_from_slice(v);
            }
        }
    }
    out
}

fn decode_record(bytes: &[u8]) -> Result<Vec<Pending>, String> {
    fn take<'a>(bytes: &mut &'a [u8], n: usize) -> Result<&'a [u8], String> {
        if bytes.len() < n {
            return Err("a write-ahead record ends in the middle of an entry".into());
        }
        let (head, rest) = bytes.split_at(n);
        *bytes = rest;
        Ok(head)
    }
    fn length(bytes: &mut &[u8]) -> Result<usize, String> {
        let raw = take(bytes, 4)?;
        Ok(u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]) as usize)
    }
    let mut rest = bytes;
    match take(&mut rest, 1)?[0] {
        WAL_RECORD_FORMAT => {}
        other => return Err(format!("write-ahead record format {other} is unknown")),
    }
    let mut entries = Vec::new();
    while !rest.is_empty() {
        let key_len = length(&mut rest)?;
        let key = take(&mut rest, key_len)?.to_vec();
        let value = match take(&mut rest, 1)?[0] {
            0 => None,
            1 => {
                let value_len = length(&mut rest)?;
                Some(take(&mut rest, value_len)?.to_vec())
            }
            other => return Err(format!("write-ahead entry kind {other} is unknown")),
        };
        entries.push((key, value));
    }
    Ok(entries)
}

/// Copies entries into the main tree, one sled write each: their atomicity comes from the
/// record that holds them.
fn copy_into<'a>(
    tree: &sled::Tree,
    entries: impl Iterator<Item = (&'a Vec<u8>, &'a Option<Vec<u8>>)>,
) -> sled::Result<()> {
    for (k, v) in entries {
        match v {
            Some(v) => tree.insert(k.as_slice(), v.as_slice())?,
            None => tree.remove(k.as_slice())?,
        };
    }
    Ok(())
}

/// Replays the records a crash left between their sync and their removal, oldest first, then
/// syncs. Returns the next record number.
fn replay_records(db: &sled::Db, tree: &sled::Tree, wal: &sled::Tree) -> Result<u64, String> {
    let mut replayed = Vec::new();
    for record in wal.iter() {
        let (seq, bytes) = record.map_err(|e| e.to_string())?;
        let entries = decode_record(&bytes)?;
        copy_into(tree, entries.iter().map(|(k, v)| (k, v))).map_err(|e| e.to_string())?;
        replayed.push(seq);
    }
    let next = replayed
        .last()
        .and_then(|seq| <[u8; 8]>::try_from(seq.as_ref()).ok())
        .map_or(0, |seq| u64::from_be_bytes(seq) + 1);
    if !replayed.is_empty() {
        tracing::warn!(
            records = replayed.len(),
            "replayed write-ahead records that the last run synced but had not copied"
        );
        for seq in replayed {
            wal.remove(seq).map_err(|e| e.to_string())?;
        }
        db.flush().map_err(|e| e.to_string())?;
    }
    Ok(next)
}

/// An overlay entry as a read sees it.
type Pending = (Vec<u8>, Option<Vec<u8>>);

impl Overlay {
    fn get(&self, key: &[u8]) -> Option<Option<Vec<u8>>> {
        self.newest
            .get(key)
            .or_else(|| self.in_sled.get(key))
            .cloned()
    }

    /// Entries whose key starts with `prefix` (and sorts before `before`), newest value per key,
    /// in key order.
    fn range(&self, prefix: &[u8], before: Option<&[u8]>) -> Vec<Pending> {
        let in_range =
            |k: &Vec<u8>| k.starts_with(prefix) && before.is_none_or(|b| k.as_slice() < b);
        let mut merged: BTreeMap<Vec<u8>, Option<Vec<u8>>> = BTreeMap::new();
        for map in [&*self.in_sled, &self.newest] {
            for (k, v) in map
                .range(prefix.to_vec()..)
                .take_while(|(k, _)| k.starts_with(prefix))
            {
                if in_range(k) {
                    merged.insert(k.clone(), v.clone());
                }
            }
        }
        merged.into_iter().collect()
    }
}

/// Merges sled's pairs with the overlay's entries for the same range, both in the same order
/// (`descending` or not): an overlay entry replaces sled's pair for its key, and a removal hides it.
struct Merged<I: Iterator<Item = sled::Result<(sled::IVec, sled::IVec)>>> {
    sled: std::iter::Peekable<I>,
    overlay: std::iter::Peekable<std::vec::IntoIter<Pending>>,
    descending: bool,
}

impl<I: Iterator<Item = sled::Result<(sled::IVec, sled::IVec)>>> Merged<I> {
    fn new(sled: I, mut overlay: Vec<Pending>, descending: bool) -> Self {
        if descending {
            overlay.reverse();
        }
        Self {
            sled: sled.peekable(),
            overlay: overlay.into_iter().peekable(),
            descending,
        }
    }
}

impl<I: Iterator<Item = sled::Result<(sled::IVec, sled::IVec)>>> Iterator for Merged<I> {
    type Item = StoreResult<(Vec<u8>, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let take_overlay = match (self.sled.peek(), self.overlay.peek()) {
                (None, None) => return None,
                (Some(Err(_)), _) => {
                    return match self.sled.next() {
                        Some(Err(e)) => Some(Err(io(e))),
                        _ => None,
                    }
                }
                (None, Some(_)) => true,
                (Some(_), None) => false,
                (Some(Ok((sk, _))), Some((ok, _))) => {
                    let order = ok.as_slice().cmp(sk.as_ref());
                    if order == std::cmp::Ordering::Equal {
                        // The overlay is newer than sled for this key.
                        self.sled.next();
                        true
                    } else {
                        (order == std::cmp::Ordering::Less) != self.descending
                    }
                }
            };
            if take_overlay {
                match self.overlay.next() {
                    Some((k, Some(v))) => return Some(Ok((k, v))),
                    // A removal not yet in sled.
                    Some((_, None)) => continue,
                    None => return None,
                }
            }
            return self
                .sled
                .next()
                .map(|r| r.map(|(k, v)| (k.to_vec(), v.to_vec())).map_err(io));
        }
    }
}

/// File next to the database naming the database's identity. It is written only after the
/// identity key is durable, so "marker present, key missing" means the database lost data.
const STORE_ID_FILE: &str = "store.id";
const STORE_ID_KEY: &[u8] = b"meta/store_id";

/// The store's identity (its `meta/store_id`, a UUID), as the replication protocol's repo id.
/// A store without one (a memory store in tests) is all zeroes; a stored value that is not a
/// UUID is an error, since a peer would otherwise mistake this store for another.
pub fn store_identity(store: &dyn Store) -> StoreResult<[u8; 16]> {
    match store.get(STORE_ID_KEY)? {
        None => Ok([0; 16]),
        Some(raw) => uuid::Uuid::parse_str(&String::from_utf8_lossy(&raw))
            .map(|u| *u.as_bytes())
            .map_err(|e| StoreError::Io(format!("meta/store_id is not a UUID: {e}"))),
    }
}

impl SledStore {
    /// Opens (or creates, when `create_if_missing`) the database in `dir`.
    ///
    /// An existing directory that sled cannot read is an error, never a silent fresh start.
    pub fn open(dir: &Path, cache_capacity_bytes: u64) -> StoreResult<Self> {
        let path = dir.display().to_string();
        let open_err = |reason: String| StoreError::Open {
            path: path.clone(),
            reason,
        };
        let existed = dir.join("db").exists() || dir.join("conf").exists();
        if dir.exists() && !existed {
            let non_empty = std::fs::read_dir(dir)
                .map_err(|e| open_err(e.to_string()))?
                .next()
                .is_some();
            if non_empty {
                return Err(open_err(
                    "the directory is not empty but holds no node database".into(),
                ));
            }
        }
        if existed && !dir.join("db").exists() {
            return Err(open_err("the database file 'db' is missing".into()));
        }
        let config = sled::Config::new()
            .path(dir)
            .cache_capacity(cache_capacity_bytes)
            .mode(sled::Mode::HighThroughput)
            // Durability comes from our explicit, group-committed flushes.
            .flush_every_ms(None);
        let db = open_when_unlocked(&config).map_err(|e| open_err(e.to_string()))?;
        let tree = db.open_tree("main").map_err(|e| open_err(e.to_string()))?;
        let wal = db
            .open_tree(WAL_TREE)
            .map_err(|e| open_err(e.to_string()))?;
        let next_record = replay_records(&db, &tree, &wal).map_err(open_err)?;
        // Touch the tree so that structural corruption surfaces now rather than on first use.
        if let Some(Err(e)) = tree.iter().next() {
            return Err(open_err(e.to_string()));
        }
        let marker = dir.join(STORE_ID_FILE);
        let stored_id = tree
            .get(STORE_ID_KEY)
            .map_err(|e| open_err(e.to_string()))?;
        match std::fs::read_to_string(&marker) {
            Ok(expected) => {
                if stored_id.as_deref() != Some(expected.trim().as_bytes()) {
                    return Err(open_err(format!(
                        "{} names database {} but the database does not carry that identity: its contents were lost or replaced",
                        marker.display(),
                        expected.trim()
                    )));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if existed && stored_id.is_none() && tree.iter().next().is_some() {
                    return Err(open_err(format!("{} is missing", marker.display())));
                }
                let id = match stored_id {
                    Some(id) => String::from_utf8_lossy(&id).to_string(),
                    None => {
                        let id = uuid::Uuid::new_v4().to_string();
                        tree.insert(STORE_ID_KEY, id.as_bytes())
                            .map_err(|e| open_err(e.to_string()))?;
                        db.flush().map_err(|e| open_err(e.to_string()))?;
                        id
                    }
                };
                write_synced(&marker, id.as_bytes()).map_err(|e| open_err(e.to_string()))?;
            }
            Err(e) => return Err(open_err(format!("cannot read {}: {e}", marker.display()))),
        }
        Ok(Self {
            db,
            tree,
            wal,
            overlay: RwLock::new(Overlay::default()),
            flushing: Mutex::new(Records {
                next: next_record,
                synced: None,
                pinned: false,
                unrecorded: false,
            }),
            #[cfg(test)]
            crashed: std::sync::atomic::AtomicBool::new(false),
        })
    }

    fn overlay(&self) -> std::sync::RwLockReadGuard<'_, Overlay> {
        self.overlay.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes the overlay durable as one write-ahead record (first copying the previous one into
    /// the main tree, if `settle` has not). The new record's keys stay in `in_sled`, where readers
    /// see them, until `settle` copies them; if sled fails, they stay there and go into the next
    /// record.
    fn write_through(&self) -> StoreResult<()> {
        let flush_err = |e: sled::Error| StoreError::Flush(e.to_string());
        let mut records = self.flushing.lock().unwrap_or_else(|p| p.into_inner());
        if !records.pinned {
            self.copy_synced(&mut records)?;
        }
        // While an export reads the main tree, each record holds only its own group: the groups
        // accumulate in `in_sled` (where readers see them) and would otherwise be written again
        // by every flush until the export ends.
        let delta_only = records.pinned && !records.unrecorded;
        let group = {
            let mut o = self.overlay.write().unwrap_or_else(|p| p.into_inner());
            if o.newest.is_empty() && (o.in_sled.is_empty() || delta_only) {
                None
            } else if delta_only {
                let newest = Arc::new(std::mem::take(&mut o.newest));
                o.newest_bytes = 0;
                Arc::make_mut(&mut o.in_sled)
                    .extend(newest.iter().map(|(k, v)| (k.clone(), v.clone())));
                Some(newest)
            } else {
                let newest = std::mem::take(&mut o.newest);
                o.newest_bytes = 0;
                let mut next = (*o.in_sled).clone();
                next.extend(newest);
                o.in_sled = Arc::new(next);
                Some(o.in_sled.clone())
            }
        };
        let Some(group) = group else {
            return self.db.flush().map(|_| ()).map_err(flush_err);
        };
        let seq = records.next;
        records.next += 1;
        let written = self
            .wal
            .insert(seq.to_be_bytes(), encode_record(&group))
            .map_err(flush_err)
            .and_then(|_| self.db.flush().map_err(flush_err));
        if let Err(e) = written {
            if records.pinned {
                records.unrecorded = true;
            }
            return Err(e);
        }
        records.synced = Some(seq);
        if records.pinned && !delta_only {
            records.unrecorded = false;
        }
        Ok(())
    }

    /// Copies a synced record's keys into the main tree and removes the record (and any earlier
    /// one, whose keys it contains); the next sync makes that durable. sled logs the removal
    /// after the keys, so a crash never keeps the one without the other.
    fn copy_synced(&self, records: &mut Records) -> StoreResult<()> {
        let Some(seq) = records.synced else {
            return Ok(());
        };
        let flush_err = |e: sled::Error| StoreError::Flush(e.to_string());
        let group = self.overlay().in_sled.clone();
        copy_into(&self.tree, group.iter()).map_err(flush_err)?;
        for earlier in self.wal.range(..=seq.to_be_bytes()).keys() {
            self.wal
                .remove(earlier.map_err(flush_err)?)
                .map_err(flush_err)?;
        }
        records.synced = None;
        records.unrecorded = false;
        let mut o = self.overlay.write().unwrap_or_else(|p| p.into_inner());
        o.in_sled = Arc::new(BTreeMap::new());
        Ok(())
    }
}

impl Drop for SledStore {
    /// Writes what is still in the overlay into the main tree and syncs, as sled does on its
    /// own drop.
    fn drop(&mut self) {
        #[cfg(test)]
        if self.crashed.load(Ordering::Relaxed) {
            return;
        }
        if let Err(e) = self.flush().and_then(|()| self.settle()).and_then(|()| {
            self.db
                .flush()
                .map(|_| ())
                .map_err(|e| StoreError::Flush(e.to_string()))
        }) {
            tracing::error!(error = %e, "the store could not write its last batches on close");
        }
    }
}

/// How long `SledStore::open` waits for the database's file lock, in ms. A store closed in this
/// process releases it only when sled's I/O threads drop their last handle, a moment after the
/// close returns; another process holding it still fails the open after this long.
const OPEN_LOCK_WAIT_MS: u64 = 2_000;
/// Between two attempts to take the lock, in ms.
const OPEN_LOCK_RETRY_MS: u64 = 10;

fn open_when_unlocked(config: &sled::Config) -> sled::Result<sled::Db> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(OPEN_LOCK_WAIT_MS);
    loop {
        match config.open() {
            // sled reports the lock as ErrorKind::Other, naming it in the message.
            Err(sled::Error::Io(e))
                if e.to_string().contains("could not acquire lock")
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(OPEN_LOCK_RETRY_MS));
            }
            other => return other,
        }
    }
}

fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Some(parent) = path.parent() {
        std::fs::File::open(parent)?.sync_all()?;
    }
    Ok(())
}

fn io(e: sled::Error) -> StoreError {
    StoreError::Io(e.to_string())
}

impl Store for SledStore {
    fn get(&self, key: &[u8]) -> StoreResult<Option<Vec<u8>>> {
        if let Some(pending) = self.overlay().get(key) {
            return Ok(pending);
        }
        Ok(self.tree.get(key).map_err(io)?.map(|v| v.to_vec()))
    }

    fn scan_prefix(&self, prefix: &[u8]) -> StoreResult<Vec<(Vec<u8>, Vec<u8>)>> {
        let pending = self.overlay().range(prefix, None);
        Merged::new(self.tree.scan_prefix(prefix), pending, false).collect()
    }

    fn scan_keys(&self, prefix: &[u8], limit_count: usize) -> StoreResult<Vec<Vec<u8>>> {
        let pending = self.overlay().range(prefix, None);
        Merged::new(self.tree.scan_prefix(prefix), pending, false)
            .take(limit_count)
            .map(|r| r.map(|(k, _)| k))
            .collect()
    }

    fn scan_keys_rev(
        &self,
        prefix: &[u8],
        before: Option<&[u8]>,
        limit_count: usize,
    ) -> StoreResult<Vec<Vec<u8>>> {
        let pending = self.overlay().range(prefix, before);
        let iter = match before {
            Some(b) => self.tree.range(prefix.to_vec()..b.to_vec()),
            None => self.tree.scan_prefix(prefix),
        };
        let in_prefix = iter
            .rev()
            .filter(|r| r.as_ref().map_or(true, |(k, _)| k.starts_with(prefix)));
        Merged::new(in_prefix, pending, true)
            .take(limit_count)
            .map(|r| r.map(|(k, _)| k))
            .collect()
    }

    fn last_with_prefix(&self, prefix: &[u8]) -> StoreResult<Option<(Vec<u8>, Vec<u8>)>> {
        let pending = self.overlay().range(prefix, None);
        Merged::new(self.tree.scan_prefix(prefix).rev(), pending, true)
            .next()
            .transpose()
    }

    fn apply(&self, batch: WriteBatch) -> StoreResult<()> {
        let full = {
            let mut o = self.overlay.write().unwrap_or_else(|p| p.into_inner());
            for (k, v) in batch.ops {
                o.newest_bytes += k.len() + v.as_ref().map_or(0, Vec::len);
                o.newest.insert(k, v);
            }
            o.newest_bytes > OVERLAY_FLUSH_BYTES
        };
        if full {
            self.write_through()?;
        }
        Ok(())
    }

    fn flush(&self) -> StoreResult<()> {
        self.write_through()
    }

    fn settle(&self) -> StoreResult<()> {
        let mut records = self.flushing.lock().unwrap_or_else(|p| p.into_inner());
        if records.pinned {
            // The export reading the main tree ends with a copy of its own.
            return Ok(());
        }
        self.copy_synced(&mut records)
    }

    fn export(&self, each: &mut PairSink<'_>) -> StoreResult<u64> {
        {
            let mut records = self.flushing.lock().unwrap_or_else(|p| p.into_inner());
            if records.pinned {
                return Err(StoreError::Io(
                    "another export of this database is running; try again when it ends".into(),
                ));
            }
            // Every synced record into the main tree: it then holds exactly the durable writes.
            self.copy_synced(&mut records)?;
            records.pinned = true;
        }
        struct Unpin<'a>(&'a SledStore);
        impl Drop for Unpin<'_> {
            fn drop(&mut self) {
                let mut records = self.0.flushing.lock().unwrap_or_else(|p| p.into_inner());
                records.pinned = false;
                // The groups flushed meanwhile are copied by the next flush or settle.
            }
        }
        let _unpin = Unpin(self);
        let mut pairs = 0u64;
        for item in self.tree.iter() {
            let (k, v) = item.map_err(io)?;
            each(&k, &v)?;
            pairs += 1;
        }
        Ok(pairs)
    }

    fn size_on_disk_bytes(&self) -> u64 {
        self.db.size_on_disk().unwrap_or(0)
    }
}

/// Group commit: many writers, one flush.
///
/// `commit` applies a batch and then blocks (on a blocking thread, see [`GroupCommit::commit`])
/// until a flush that started after the write has completed. One flusher thread runs flushes
/// back to back while there are waiters, so throughput scales with concurrency while a lone
/// writer waits for exactly one flush.
pub struct GroupCommit {
    store: Arc<dyn Store>,
    state: Arc<FlushState>,
    /// Number of flushes performed, for /metrics.
    pub flushes: Arc<AtomicU64>,
    flusher: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// `(durable, failed_upto)` published for async waiters, so that waiting for a flush costs
    /// no thread.
    durable_rx: tokio::sync::watch::Receiver<(u64, u64)>,
}

struct FlushState {
    inner: Mutex<FlushInner>,
    changed: Condvar,
}

struct FlushInner {
    /// Ticket of the latest applied write.
    written: u64,
    /// Every write with a ticket ≤ this is durable.
    durable: u64,
    /// The last flush failed: waiters of that generation get an error.
    failed_upto: u64,
    shutdown: bool,
}

impl GroupCommit {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self::with_window(store, std::time::Duration::ZERO)
    }

    /// `window` is the shortest time between the starts of two flushes. Under load, writes that
    /// arrive during the window share the next flush (less CPU and I/O per write); a write that
    /// arrives after a quiet period is flushed at once, so light-load latency does not grow.
    pub fn with_window(store: Arc<dyn Store>, window: std::time::Duration) -> Self {
        let state = Arc::new(FlushState {
            inner: Mutex::new(FlushInner {
                written: 0,
                durable: 0,
                failed_upto: 0,
                shutdown: false,
            }),
            changed: Condvar::new(),
        });
        let flushes = Arc::new(AtomicU64::new(0));
        let (s, st, fl) = (store.clone(), state.clone(), flushes.clone());
        let (durable_tx, durable_rx) = tokio::sync::watch::channel((0u64, 0u64));
        let handle = std::thread::Builder::new()
            .name("group-commit".into())
            .spawn(move || flusher(s, st, fl, durable_tx, window))
            .expect("spawning the flusher thread");
        Self {
            store,
            state,
            flushes,
            flusher: Mutex::new(Some(handle)),
            durable_rx,
        }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Applies `batch` atomically and returns once it is durable. Blocking: call from
    /// `spawn_blocking` or use [`GroupCommit::commit_async`].
    pub fn commit(&self, batch: WriteBatch) -> StoreResult<()> {
        let ticket = {
            // Apply under the state lock so that tickets are ordered like the writes.
            let mut g = self.state.inner.lock().unwrap_or_else(|p| p.into_inner());
            self.store.apply(batch)?;
            g.written += 1;
            self.state.changed.notify_all();
            g.written
        };
        self.wait_durable(ticket)
    }

    /// Applies the batch now (visible to readers immediately) and returns the ticket to wait for.
    pub fn apply(&self, batch: WriteBatch) -> StoreResult<u64> {
        let mut g = self.state.inner.lock().unwrap_or_else(|p| p.into_inner());
        self.store.apply(batch)?;
        g.written += 1;
        self.state.changed.notify_all();
        Ok(g.written)
    }

    /// Ticket of the latest applied write: waiting for it covers every write applied so far.
    pub fn written(&self) -> u64 {
        self.state
            .inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .written
    }

    /// Blocks until every write applied so far is durable.
    pub fn wait_written(&self) -> StoreResult<()> {
        self.wait_durable(self.written())
    }

    /// Blocks until every write up to `ticket` is durable.
    pub fn wait_durable(&self, ticket: u64) -> StoreResult<()> {
        let mut g = self.state.inner.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if g.durable >= ticket {
                return Ok(());
            }
            if g.failed_upto >= ticket {
                return Err(StoreError::Flush(
                    "the write could not be made durable".into(),
                ));
            }
            g = self
                .state
                .changed
                .wait(g)
                .unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Async form of [`GroupCommit::commit`]: the batch is applied on the calling task (fast,
    /// in memory) and the wait for durability happens on a blocking thread.
    pub async fn commit_async(self: &Arc<Self>, batch: WriteBatch) -> StoreResult<()> {
        let ticket = self.apply(batch)?;
        self.wait_async(ticket).await
    }

    /// Waits for durability of `ticket` without holding a thread.
    pub async fn wait_async(self: &Arc<Self>, ticket: u64) -> StoreResult<()> {
        let mut rx = self.durable_rx.clone();
        let state = rx
            .wait_for(|(durable, failed)| *durable >= ticket || *failed >= ticket)
            .await
            .map_err(|_| StoreError::Flush("the flusher has stopped".into()))?;
        if state.0 >= ticket {
            Ok(())
        } else {
            Err(StoreError::Flush(
                "the write could not be made durable".into(),
            ))
        }
    }
}

impl Drop for GroupCommit {
    /// Stops the flusher after its last flush and waits for it, so the store (and sled's file
    /// lock) is released when the last handle goes away.
    fn drop(&mut self) {
        {
            let mut g = self.state.inner.lock().unwrap_or_else(|p| p.into_inner());
            g.shutdown = true;
            self.state.changed.notify_all();
        }
        if let Some(h) = self
            .flusher
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            let _ = h.join();
        }
    }
}

fn flusher(
    store: Arc<dyn Store>,
    state: Arc<FlushState>,
    flushes: Arc<AtomicU64>,
    durable_tx: tokio::sync::watch::Sender<(u64, u64)>,
    window: std::time::Duration,
) {
    let mut last_start: Option<std::time::Instant> = None;
    loop {
        {
            let mut g = state.inner.lock().unwrap_or_else(|p| p.into_inner());
            while g.written == g.durable.max(g.failed_upto) && !g.shutdown {
                g = state.changed.wait(g).unwrap_or_else(|p| p.into_inner());
            }
        }
        // Let the writes of this window gather before flushing them together.
        if let Some(started) = last_start {
            let since = started.elapsed();
            if since < window {
                std::thread::sleep(window - since);
            }
        }
        last_start = Some(std::time::Instant::now());
        let target = {
            let mut g = state.inner.lock().unwrap_or_else(|p| p.into_inner());
            while g.written == g.durable.max(g.failed_upto) && !g.shutdown {
                g = state.changed.wait(g).unwrap_or_else(|p| p.into_inner());
            }
            if g.shutdown && g.written == g.durable.max(g.failed_upto) {
                return;
            }
            g.written
        };
        let result = store.flush();
        flushes.fetch_add(1, Ordering::Relaxed);
        let mut g = state.inner.lock().unwrap_or_else(|p| p.into_inner());
        match result {
            Ok(()) => g.durable = target,
            Err(e) => {
                tracing::error!(error = %e, "flush to disk failed; pending writes are not acknowledged");
                g.failed_upto = target;
            }
        }
        durable_tx.send_replace((g.durable, g.failed_upto));
        state.changed.notify_all();
        drop(g);
        // After the writers are told: what the store left for later (SledStore copies the
        // record it synced into its main tree).
        if let Err(e) = store.settle() {
            tracing::error!(error = %e, "settling the store after a flush failed; the next flush retries");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_is_atomic_and_reads_back_after_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path(), 8 << 20).unwrap());
            let gc = GroupCommit::new(store);
            let mut b = WriteBatch::new();
            b.put(b"a/1".to_vec(), b"one".to_vec());
            b.put(b"a/2".to_vec(), b"two".to_vec());
            gc.commit(b).unwrap();
        }
        let store = SledStore::open(dir.path(), 8 << 20).unwrap();
        let all = store.scan_prefix(b"a/").unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(
            store.last_with_prefix(b"a/").unwrap().unwrap().1,
            b"two".to_vec()
        );
    }

    #[test]
    fn refuses_a_directory_that_is_not_a_database() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("something.txt"), b"x").unwrap();
        let err = SledStore::open(dir.path(), 8 << 20).err().unwrap();
        assert!(err.to_string().contains("cannot be opened"), "{err}");
    }

    #[test]
    fn refuses_a_corrupted_database() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = SledStore::open(dir.path(), 8 << 20).unwrap();
            let mut b = WriteBatch::new();
            for i in 0..1000u32 {
                b.put(format!("k/{i:08}").into_bytes(), vec![7u8; 512]);
            }
            store.apply(b).unwrap();
            store.flush().unwrap();
        }
        // Overwrite the data file's body with garbage, as a failing disk would.
        let db_file = dir.path().join("db");
        let len = std::fs::metadata(&db_file).unwrap().len() as usize;
        std::fs::write(&db_file, vec![0xA5u8; len]).unwrap();
        let res = SledStore::open(dir.path(), 8 << 20);
        assert!(res.is_err(), "a corrupted database must not open");
    }

    /// Every read sees applied writes whether they are still in the overlay, being drained, or in
    /// sled: random puts, removals, flushes and reopenings against an ordered map as the model.
    #[test]
    fn reads_see_applied_writes_before_and_after_flushes_and_reopening() {
        use rand::{Rng, SeedableRng};
        let dir = tempfile::tempdir().unwrap();
        let seed = 0x5eed_u64;
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        let mut store = SledStore::open(dir.path(), 8 << 20).unwrap();
        let model_id = store.get(STORE_ID_KEY).unwrap().unwrap();
        model.insert(STORE_ID_KEY.to_vec(), model_id);
        let key = |rng: &mut rand::rngs::StdRng| {
            let family = ["a/", "b/", "ab/"][rng.gen_range(0..3)];
            format!("{family}{:02}", rng.gen_range(0..24)).into_bytes()
        };
        for step in 0..1_500 {
            match rng.gen_range(0..100) {
                0..=59 => {
                    let mut b = WriteBatch::new();
                    for _ in 0..rng.gen_range(1..4) {
                        let k = key(&mut rng);
                        if rng.gen_bool(0.3) {
                            model.remove(&k);
                            b.delete(k);
                        } else {
                            let v = format!("v{step}").into_bytes();
                            model.insert(k.clone(), v.clone());
                            b.put(k, v);
                        }
                    }
                    store.apply(b).unwrap();
                }
                60..=89 => store.flush().unwrap(),
                90..=94 => {
                    drop(store);
                    store = SledStore::open(dir.path(), 8 << 20).unwrap();
                }
                _ => {}
            }
            for prefix in [&b"a/"[..], b"b/", b"ab/", b""] {
                let expected: Vec<(Vec<u8>, Vec<u8>)> = model
                    .iter()
                    .filter(|(k, _)| k.starts_with(prefix))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                assert_eq!(
                    store.scan_prefix(prefix).unwrap(),
                    expected,
                    "seed {seed} step {step}"
                );
                let keys: Vec<Vec<u8>> = expected.iter().map(|(k, _)| k.clone()).collect();
                assert_eq!(
                    store.scan_keys(prefix, 5).unwrap(),
                    keys.iter().take(5).cloned().collect::<Vec<_>>()
                );
                assert_eq!(
                    store.last_with_prefix(prefix).unwrap(),
                    expected.last().cloned()
                );
                let before = key(&mut rng);
                let rev: Vec<Vec<u8>> = keys
                    .iter()
                    .rev()
                    .filter(|k| k.as_slice() < before.as_slice())
                    .take(4)
                    .cloned()
                    .collect();
                assert_eq!(
                    store.scan_keys_rev(prefix, Some(&before), 4).unwrap(),
                    rev,
                    "seed {seed} step {step}"
                );
                let rev_all: Vec<Vec<u8>> = keys.iter().rev().take(7).cloned().collect();
                assert_eq!(store.scan_keys_rev(prefix, None, 7).unwrap(), rev_all);
            }
            let k = key(&mut rng);
            assert_eq!(
                store.get(&k).unwrap(),
                model.get(&k).cloned(),
                "seed {seed} step {step}"
            );
        }
    }

    /// A crash after a flush synced its write-ahead record but before the record's keys reached
    /// the main tree: the next open copies them, and later records continue after it.
    #[test]
    fn a_record_synced_but_not_copied_is_replayed_on_open() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = SledStore::open(dir.path(), 8 << 20).unwrap();
            let mut b = WriteBatch::new();
            b.put(b"c/1".to_vec(), b"one".to_vec());
            b.put(b"c/2".to_vec(), b"two".to_vec());
            store.apply(b).unwrap();
            store.flush().unwrap();
            assert_eq!(
                store.tree.get(b"c/1").unwrap(),
                None,
                "only the record holds it"
            );
            assert_eq!(store.wal.len(), 1);
            // The process dies here, before `settle`: what it held in memory is gone.
            store.crashed.store(true, Ordering::Relaxed);
        }
        let store = SledStore::open(dir.path(), 8 << 20).unwrap();
        assert_eq!(store.get(b"c/1").unwrap(), Some(b"one".to_vec()));
        assert_eq!(
            store.tree.get(b"c/2").unwrap().as_deref(),
            Some(&b"two"[..])
        );
        assert_eq!(store.wal.len(), 0, "a replayed record is removed");
        let mut b = WriteBatch::new();
        b.put(b"c/3".to_vec(), b"three".to_vec());
        b.delete(b"c/1".to_vec());
        store.apply(b).unwrap();
        store.flush().unwrap();
        drop(store);
        let store = SledStore::open(dir.path(), 8 << 20).unwrap();
        let keys: Vec<Vec<u8>> = store.scan_keys(b"c/", 10).unwrap();
        assert_eq!(keys, vec![b"c/2".to_vec(), b"c/3".to_vec()]);
    }

    /// While an export reads the main tree, each flush writes a record of its own group and
    /// leaves the main tree alone; a crash in the middle replays those records in order, later
    /// values over earlier ones and removals included.
    #[test]
    fn writes_flushed_during_an_export_survive_a_crash_in_the_middle_of_it() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = SledStore::open(dir.path(), 8 << 20).unwrap();
            let mut b = WriteBatch::new();
            for i in 0..20u32 {
                b.put(format!("e/{i:02}").into_bytes(), b"old".to_vec());
            }
            store.apply(b).unwrap();
            store.flush().unwrap();
            let mut step = 0u32;
            store
                .export(&mut |_, _| {
                    let mut b = WriteBatch::new();
                    b.put(
                        format!("e/{:02}", step % 5).into_bytes(),
                        format!("v{step}").into_bytes(),
                    );
                    if step == 3 {
                        b.delete(b"e/19".to_vec());
                    }
                    step += 1;
                    store.apply(b)?;
                    store.flush()
                })
                .unwrap();
            assert!(store.wal.len() >= 20, "one record per flush while pinned");
            assert_eq!(
                store.tree.get(b"e/00").unwrap().as_deref(),
                Some(&b"old"[..])
            );
            store.crashed.store(true, Ordering::Relaxed);
        }
        let store = SledStore::open(dir.path(), 8 << 20).unwrap();
        assert_eq!(store.wal.len(), 0);
        // The last of the 21 steps (0..=20) wrote e/00 at step 20.
        assert_eq!(store.get(b"e/00").unwrap(), Some(b"v20".to_vec()));
        assert_eq!(store.get(b"e/04").unwrap(), Some(b"v19".to_vec()));
        assert_eq!(store.get(b"e/19").unwrap(), None);
        assert_eq!(store.get(b"e/10").unwrap(), Some(b"old".to_vec()));
    }

    #[test]
    fn a_damaged_write_ahead_record_is_an_error_not_a_panic() {
        let mut group = BTreeMap::new();
        group.insert(b"k".to_vec(), Some(b"value".to_vec()));
        group.insert(b"gone".to_vec(), None);
        let record = encode_record(&group);
        let entries = decode_record(&record).unwrap();
        assert_eq!(entries.len(), 2);
        // A cut inside an entry is an error; one between entries reads as a shorter record
        // (sled stores a value whole, so only damage could cut one at all).
        let mut errors = 0;
        for cut in 1..record.len() {
            match decode_record(&record[..cut]) {
                Ok(shorter) => assert!(shorter.len() < entries.len(), "cut at {cut}"),
                Err(_) => errors += 1,
            }
        }
        // 24 cuts from 1 to the end: only those after the format byte and after the first
        // entry fall between entries.
        assert_eq!(
            errors,
            record.len() - 3,
            "every cut but the two between entries"
        );
        assert!(decode_record(&[9]).is_err());
        assert!(decode_record(&[]).is_err());
    }

    #[test]
    fn many_concurrent_writers_share_flushes() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path(), 8 << 20).unwrap());
        let gc = Arc::new(GroupCommit::new(store.clone()));
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let gc = gc.clone();
                std::thread::spawn(move || {
                    for i in 0..50 {
                        let mut b = WriteBatch::new();
                        b.put(format!("w/{t}/{i:04}").into_bytes(), vec![1u8; 64]);
                        gc.commit(b).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(store.scan_prefix(b"w/").unwrap().len(), 400);
        assert!(gc.flushes.load(Ordering::Relaxed) <= 400);
    }
}
