//! Backups of a node's or the hub's database: online, consistent, encrypted, verified.
//!
//! A backup is one file, `{what}-{name}-{YYYYMMDDTHHMMSSZ}.r102bak`:
//!
//! ```text
//! magic "R102BAK1" · header length u32 BE · header (JSON, [`BackupHeader`]) · chunks
//! chunk := last:u8 (0 or 1) · length u32 BE · ciphertext
//! ```
//!
//! The chunks are the STREAM construction (ChaCha20-Poly1305, big-endian 32-bit counter) over the
//! deflated records, each chunk authenticated together with the header, so that a changed header,
//! a reordered, dropped or truncated chunk or a wrong key is an error, never a silently shorter
//! database. The records are every key and value of one point in time of the store
//! ([`Store::export`]: the writes durable when the backup began, while the service goes on),
//! then an end mark with their count.
//!
//! The key is 32 random bytes in a file of its own (hex). It must be kept off the machine the
//! backups protect: a region whose server was stolen or whose disk died restores with it.
//!
//! Restoring writes the records into an empty directory as a **new replica**: the restored store
//! gets an identity of its own and forgets what it knew about its peers, so that each peer sends it
//! everything it lacks (a peer that remembered the old identity would believe it holds what the
//! backup does not).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::stream::{DecryptorBE32, EncryptorBE32};
use chacha20poly1305::aead::{KeyInit, Payload};
use chacha20poly1305::ChaCha20Poly1305;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::Digest;
use thiserror::Error;

use crate::store::{PairSink, SledStore, Store, StoreError, WriteBatch};

/// The file's first bytes.
const MAGIC: &[u8; 8] = b"R102BAK1";
/// The header's format; a reader refuses others.
pub const BACKUP_FORMAT: u32 = 1;
/// File name extension of a finished backup.
pub const BACKUP_EXTENSION: &str = "r102bak";
/// Plaintext bytes per encrypted chunk.
const CHUNK_BYTES: usize = 64 * 1024;
/// Authentication tag bytes per chunk.
const TAG_BYTES: usize = 16;
/// Longest header a reader accepts, in bytes.
const HEADER_BYTES_MAX: usize = 64 * 1024;
/// Longest key in a record, in bytes (store keys are short paths).
const RECORD_KEY_BYTES_MAX: usize = 64 * 1024;
/// Longest value in a record, in bytes (a document snapshot; far above any real one).
const RECORD_VALUE_BYTES_MAX: usize = 512 * 1024 * 1024;
/// A key length that marks the end of the records.
const END_MARK: u32 = u32::MAX;
/// Pairs per atomic batch while a restore writes the store.
const RESTORE_BATCH_PAIRS: usize = 2_000;
/// Length of the backup key, in bytes.
pub const BACKUP_KEY_BYTES: usize = 32;
/// Keys a restore leaves out: the store's identity (a restored store is a new replica) and what
/// the old store knew about its peers.
const NOT_RESTORED_PREFIXES: [&[u8]; 2] = [b"meta/store_id", b"repl/"];

#[derive(Debug, Error)]
pub enum BackupError {
    #[error("{0}")]
    Io(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("backup key {path}: {reason}")]
    Key { path: String, reason: String },
    #[error("{path} is not a backup of this system: {reason}")]
    NotABackup { path: String, reason: String },
    #[error("{path} was encrypted with key {expected}, not with the key given ({given})")]
    WrongKey {
        path: String,
        expected: String,
        given: String,
    },
    #[error("{path} is damaged or was changed after it was written: {reason}")]
    Damaged { path: String, reason: String },
    #[error("cannot restore into {path}: {reason}")]
    Target { path: String, reason: String },
}

fn io_err(what: impl std::fmt::Display) -> impl Fn(std::io::Error) -> BackupError {
    move |e| BackupError::Io(format!("{what}: {e}"))
}

/// The symmetric key backups are encrypted with.
#[derive(Clone)]
pub struct BackupKey([u8; BACKUP_KEY_BYTES]);

impl BackupKey {
    pub fn generate() -> Self {
        let mut key = [0u8; BACKUP_KEY_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut key);
        Self(key)
    }

    /// Reads a key file: 64 hex digits (whitespace around them is ignored).
    pub fn load(path: &Path) -> Result<Self, BackupError> {
        let key_err = |reason: String| BackupError::Key {
            path: path.display().to_string(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| key_err(e.to_string()))?;
        let bytes = hex::decode(text.trim())
            .map_err(|_| key_err("the file does not hold hex digits".into()))?;
        let key: [u8; BACKUP_KEY_BYTES] = bytes
            .try_into()
            .map_err(|_| key_err(format!("a key is {} hex digits long", BACKUP_KEY_BYTES * 2)))?;
        Ok(Self(key))
    }

    /// Writes a new key file readable by its owner only; an existing file is never replaced
    /// (the backups made with it would become unreadable).
    pub fn save_new(&self, path: &Path) -> Result<(), BackupError> {
        let key_err = |reason: String| BackupError::Key {
            path: path.display().to_string(),
            reason,
        };
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                key_err("the file exists; a key is never overwritten".into())
            } else {
                key_err(e.to_string())
            }
        })?;
        file.write_all(format!("{}\n", hex::encode(self.0)).as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| key_err(e.to_string()))
    }

    /// A short fingerprint that names the key in headers and messages without revealing it.
    pub fn id(&self) -> String {
        let mut h = sha2::Sha256::new();
        h.update(b"r102 backup key");
        h.update(self.0);
        hex::encode(&h.finalize()[..8])
    }

    fn cipher(&self) -> ChaCha20Poly1305 {
        ChaCha20Poly1305::new(&self.0.into())
    }
}

/// What a backup says about itself, in clear text (and authenticated with every chunk).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BackupHeader {
    pub format: u32,
    /// `node` or `central`.
    pub what: String,
    /// The region code for a node, `central` for the hub.
    pub name: String,
    /// The identity of the store it was taken from.
    pub store_id: String,
    /// When the point in time it holds began, in ms since the Unix epoch.
    pub taken_at_ms: i64,
    /// The software that wrote it (`CARGO_PKG_VERSION`).
    pub software: String,
    /// [`BackupKey::id`] of the key it is encrypted with.
    pub key_id: String,
    /// The STREAM nonce prefix, hex.
    pub nonce: String,
}

/// What writing a backup did.
#[derive(Debug, Clone, Serialize)]
pub struct BackupWritten {
    pub path: PathBuf,
    pub header: BackupHeader,
    pub pairs: u64,
    pub bytes: u64,
    /// How long the store was read for, in ms (writers went on meanwhile).
    pub export_ms: u64,
}

/// The file name of a backup taken at `taken_at_ms`.
pub fn file_name(what: &str, name: &str, taken_at_ms: i64) -> String {
    let stamp = chrono_like_stamp(taken_at_ms);
    format!("{what}-{name}-{stamp}.{BACKUP_EXTENSION}")
}

/// `YYYYMMDDTHHMMSSZ` (UTC) for a time in ms since the epoch.
fn chrono_like_stamp(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Encrypts what is written to it in chunks, then writes the last chunk on `finish`.
struct ChunkWriter<W: Write> {
    out: W,
    encryptor: Option<EncryptorBE32<ChaCha20Poly1305>>,
    aad: Vec<u8>,
    buf: Vec<u8>,
    written: u64,
}

impl<W: Write> ChunkWriter<W> {
    fn emit(&mut self, last: bool, ciphertext: &[u8]) -> std::io::Result<()> {
        self.out.write_all(&[u8::from(last)])?;
        self.out
            .write_all(&(ciphertext.len() as u32).to_be_bytes())?;
        self.out.write_all(ciphertext)?;
        self.written += 5 + ciphertext.len() as u64;
        Ok(())
    }

    fn finish(mut self) -> std::io::Result<(W, u64)> {
        let encryptor = self
            .encryptor
            .take()
            .ok_or_else(|| std::io::Error::other("the backup stream was already finished"))?;
        let ct = encryptor
            .encrypt_last(Payload {
                msg: &self.buf,
                aad: &self.aad,
            })
            .map_err(|_| std::io::Error::other("encryption failed"))?;
        self.emit(true, &ct)?;
        Ok((self.out, self.written))
    }
}

impl<W: Write> Write for ChunkWriter<W> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let take = data.len().min(CHUNK_BYTES - self.buf.len());
        self.buf.extend_from_slice(&data[..take]);
        if self.buf.len() == CHUNK_BYTES {
            let encryptor = self
                .encryptor
                .as_mut()
                .ok_or_else(|| std::io::Error::other("the backup stream was already finished"))?;
            let ct = encryptor
                .encrypt_next(Payload {
                    msg: &self.buf,
                    aad: &self.aad,
                })
                .map_err(|_| std::io::Error::other("encryption failed"))?;
            self.buf.clear();
            self.emit(false, &ct)?;
        }
        Ok(take)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// Decrypts chunk by chunk; an error for anything but the exact stream that was written.
struct ChunkReader<R: Read> {
    input: R,
    decryptor: Option<DecryptorBE32<ChaCha20Poly1305>>,
    aad: Vec<u8>,
    plain: Vec<u8>,
    pos: usize,
    done: bool,
}

impl<R: Read> ChunkReader<R> {
    fn next_chunk(&mut self) -> std::io::Result<()> {
        let bad = |why: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, why.to_string());
        let mut head = [0u8; 5];
        self.input.read_exact(&mut head).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                bad("the file ends before its last chunk (truncated)")
            } else {
                e
            }
        })?;
        let last = match head[0] {
            0 => false,
            1 => true,
            _ => return Err(bad("a chunk mark is neither 0 nor 1")),
        };
        let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
        if !(TAG_BYTES..=CHUNK_BYTES + TAG_BYTES).contains(&len) {
            return Err(bad("a chunk has an impossible length"));
        }
        let mut ct = vec![0u8; len];
        self.input.read_exact(&mut ct).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                bad("the file ends inside a chunk (truncated)")
            } else {
                e
            }
        })?;
        let payload = Payload {
            msg: &ct,
            aad: &self.aad,
        };
        let plain = if last {
            let d = self
                .decryptor
                .take()
                .ok_or_else(|| bad("data after the last chunk"))?;
            self.done = true;
            d.decrypt_last(payload)
        } else {
            self.decryptor
                .as_mut()
                .ok_or_else(|| bad("data after the last chunk"))?
                .decrypt_next(payload)
        }
        .map_err(|_| bad("a chunk fails authentication (changed, reordered or another key)"))?;
        self.plain = plain;
        self.pos = 0;
        Ok(())
    }
}

impl<R: Read> Read for ChunkReader<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.pos == self.plain.len() {
            if self.done {
                return Ok(0);
            }
            self.next_chunk()?;
        }
        let n = out.len().min(self.plain.len() - self.pos);
        out[..n].copy_from_slice(&self.plain[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// The stream a backup is being written into.
struct Open {
    final_path: PathBuf,
    partial: PathBuf,
    header: BackupHeader,
    header_len: u64,
    records: flate2::write::DeflateEncoder<ChunkWriter<std::io::BufWriter<std::fs::File>>>,
}

impl Open {
    fn create(dir: &Path, hello: &ExportHello, key: &BackupKey) -> Result<Self, BackupError> {
        let mut nonce = [0u8; 7];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let header = BackupHeader {
            format: BACKUP_FORMAT,
            what: hello.what.clone(),
            name: hello.name.clone(),
            store_id: hello.store_id.clone(),
            taken_at_ms: hello.taken_at_ms,
            software: hello.software.clone(),
            key_id: key.id(),
            nonce: hex::encode(nonce),
        };
        let header_bytes =
            serde_json::to_vec(&header).map_err(|e| BackupError::Io(e.to_string()))?;
        let final_path = dir.join(file_name(&hello.what, &hello.name, hello.taken_at_ms));
        let partial = final_path.with_extension(format!("{BACKUP_EXTENSION}.partial"));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        // Encrypted, but still the region's data: readable by the service's user only.
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options
            .open(&partial)
            .map_err(io_err(format!("cannot create {}", partial.display())))?;
        let mut out = std::io::BufWriter::new(file);
        out.write_all(MAGIC)
            .and_then(|()| out.write_all(&(header_bytes.len() as u32).to_be_bytes()))
            .and_then(|()| out.write_all(&header_bytes))
            .map_err(io_err(format!("cannot write {}", partial.display())))?;
        let chunks = ChunkWriter {
            out,
            encryptor: Some(EncryptorBE32::from_aead(key.cipher(), (&nonce).into())),
            aad: header_bytes.clone(),
            buf: Vec::with_capacity(CHUNK_BYTES),
            written: 0,
        };
        Ok(Self {
            final_path,
            partial,
            header,
            header_len: 12 + header_bytes.len() as u64,
            records: flate2::write::DeflateEncoder::new(chunks, flate2::Compression::fast()),
        })
    }

    fn pair(&mut self, k: &[u8], v: &[u8]) -> std::io::Result<()> {
        self.records.write_all(&(k.len() as u32).to_be_bytes())?;
        self.records.write_all(k)?;
        self.records.write_all(&(v.len() as u32).to_be_bytes())?;
        self.records.write_all(v)
    }

    /// Writes the end mark, syncs, and gives the file its final name.
    fn finish(mut self, pairs: u64) -> std::io::Result<(PathBuf, BackupHeader, u64)> {
        self.records.write_all(&END_MARK.to_be_bytes())?;
        self.records.write_all(&pairs.to_be_bytes())?;
        let chunks = self.records.finish()?;
        let (mut out, written) = chunks.finish()?;
        out.flush()?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&self.partial, &self.final_path)?;
        if let Some(dir) = self.final_path.parent() {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok((self.final_path, self.header, written + self.header_len))
    }
}

/// Writes a backup of what `source` exports into `dir` and makes it durable; returns where and
/// what. The file appears under its final name only once complete (`.partial` before), and a
/// failed backup removes its partial file.
pub fn write_backup(
    source: &BackupSource<'_>,
    dir: &Path,
    key: &BackupKey,
) -> Result<BackupWritten, BackupError> {
    std::fs::create_dir_all(dir).map_err(io_err(format!("cannot create {}", dir.display())))?;
    let open: std::cell::RefCell<Option<Open>> = std::cell::RefCell::new(None);
    let failed: std::cell::RefCell<Option<std::io::Error>> = std::cell::RefCell::new(None);
    let started = std::time::Instant::now();
    let exported = source.run(
        &mut |hello| {
            *open.borrow_mut() = Some(Open::create(dir, hello, key)?);
            Ok(())
        },
        &mut |k, v| {
            let mut open = open.borrow_mut();
            let Some(open) = open.as_mut() else {
                return Err(StoreError::Io("pairs before the export's header".into()));
            };
            open.pair(k, v).map_err(|e| {
                let msg = e.to_string();
                *failed.borrow_mut() = Some(e);
                StoreError::Io(msg)
            })
        },
    );
    let export_ms = started.elapsed().as_millis() as u64;
    let open = open.into_inner();
    let outcome = match (exported, open) {
        (Ok(pairs), Some(open)) => {
            let partial = open.partial.clone();
            open.finish(pairs)
                .map(|(path, header, bytes)| BackupWritten {
                    path,
                    header,
                    pairs,
                    bytes,
                    export_ms,
                })
                .map_err(|e| (Some(partial), BackupError::Io(e.to_string())))
        }
        (Ok(_), None) => Err((None, BackupError::Io("the export named no store".into()))),
        (Err(e), open) => {
            let e = match failed.into_inner() {
                Some(io) => BackupError::Io(io.to_string()),
                None => e,
            };
            Err((open.map(|o| o.partial), e))
        }
    };
    outcome.map_err(|(partial, e)| {
        if let Some(partial) = partial {
            let _ = std::fs::remove_file(partial);
        }
        BackupError::Io(format!(
            "the backup into {} failed and was removed: {e}",
            dir.display()
        ))
    })
}

/// Reads a backup's header without its key.
pub fn read_header(path: &Path) -> Result<BackupHeader, BackupError> {
    let mut file =
        std::fs::File::open(path).map_err(io_err(format!("cannot open {}", path.display())))?;
    Ok(read_header_from(&mut file, path)?.0)
}

fn read_header_from(
    input: &mut impl Read,
    path: &Path,
) -> Result<(BackupHeader, Vec<u8>), BackupError> {
    let not = |reason: &str| BackupError::NotABackup {
        path: path.display().to_string(),
        reason: reason.to_string(),
    };
    let mut magic = [0u8; 12];
    input
        .read_exact(&mut magic)
        .map_err(|_| not("the file is shorter than a backup's header"))?;
    if &magic[..8] != MAGIC {
        return Err(not("it does not start with a backup's mark"));
    }
    let len = u32::from_be_bytes([magic[8], magic[9], magic[10], magic[11]]) as usize;
    if len > HEADER_BYTES_MAX {
        return Err(not("its header is longer than any backup's"));
    }
    let mut header_bytes = vec![0u8; len];
    input
        .read_exact(&mut header_bytes)
        .map_err(|_| not("the file ends inside its header"))?;
    let header: BackupHeader =
        serde_json::from_slice(&header_bytes).map_err(|_| not("its header cannot be read"))?;
    if header.format != BACKUP_FORMAT {
        return Err(not(&format!(
            "its format {} is not {BACKUP_FORMAT}; use the software that wrote it ({})",
            header.format, header.software
        )));
    }
    Ok((header, header_bytes))
}

/// Reads every record of a backup, in order, into `each`; an error for a wrong key or any damage.
pub fn read_backup(
    path: &Path,
    key: &BackupKey,
    each: &mut dyn FnMut(Vec<u8>, Vec<u8>) -> Result<(), BackupError>,
) -> Result<(BackupHeader, u64), BackupError> {
    let file =
        std::fs::File::open(path).map_err(io_err(format!("cannot open {}", path.display())))?;
    let mut input = std::io::BufReader::new(file);
    let (header, header_bytes) = read_header_from(&mut input, path)?;
    if header.key_id != key.id() {
        return Err(BackupError::WrongKey {
            path: path.display().to_string(),
            expected: header.key_id,
            given: key.id(),
        });
    }
    let damaged = |reason: String| BackupError::Damaged {
        path: path.display().to_string(),
        reason,
    };
    let nonce: [u8; 7] = hex::decode(&header.nonce)
        .ok()
        .and_then(|n| n.try_into().ok())
        .ok_or_else(|| damaged("its nonce is not 7 bytes of hex".into()))?;
    let chunks = ChunkReader {
        input,
        decryptor: Some(DecryptorBE32::from_aead(key.cipher(), (&nonce).into())),
        aad: header_bytes,
        plain: Vec::new(),
        pos: 0,
        done: false,
    };
    let mut records = flate2::read::DeflateDecoder::new(chunks);
    let mut pairs = 0u64;
    loop {
        let mut raw = [0u8; 4];
        records
            .read_exact(&mut raw)
            .map_err(|e| damaged(format!("reading a record: {e}")))?;
        let key_len = u32::from_be_bytes(raw);
        if key_len == END_MARK {
            let mut count = [0u8; 8];
            records
                .read_exact(&mut count)
                .map_err(|e| damaged(format!("reading the end mark: {e}")))?;
            let expected = u64::from_be_bytes(count);
            if expected != pairs {
                return Err(damaged(format!(
                    "it names {expected} records but holds {pairs}"
                )));
            }
            let mut rest = Vec::new();
            records
                .read_to_end(&mut rest)
                .map_err(|e| damaged(format!("after the end mark: {e}")))?;
            if !rest.is_empty() {
                return Err(damaged("data follows the end mark".into()));
            }
            return Ok((header, pairs));
        }
        let key_len = key_len as usize;
        if key_len > RECORD_KEY_BYTES_MAX {
            return Err(damaged(
                "a record's key is longer than any store key".into(),
            ));
        }
        let mut k = vec![0u8; key_len];
        records
            .read_exact(&mut k)
            .map_err(|e| damaged(format!("reading a key: {e}")))?;
        records
            .read_exact(&mut raw)
            .map_err(|e| damaged(format!("reading a value's length: {e}")))?;
        let value_len = u32::from_be_bytes(raw) as usize;
        if value_len > RECORD_VALUE_BYTES_MAX {
            return Err(damaged(
                "a record's value is longer than any stored value".into(),
            ));
        }
        let mut v = vec![0u8; value_len];
        records
            .read_exact(&mut v)
            .map_err(|e| damaged(format!("reading a value: {e}")))?;
        pairs += 1;
        each(k, v)?;
    }
}

/// What a restore wrote.
#[derive(Debug, Clone, Serialize)]
pub struct Restored {
    pub header: BackupHeader,
    /// Records read from the backup.
    pub pairs: u64,
    /// Records written (the others are the old identity and peer knowledge).
    pub written: u64,
    /// The restored store's own, new identity.
    pub store_id: String,
}

/// Restores a backup into `data_dir`, which must not exist or be empty, as a new replica (see the
/// module documentation). On any error the directory is removed again, so a failed restore
/// never leaves a half database a node could start on.
pub fn restore_into(
    path: &Path,
    key: &BackupKey,
    data_dir: &Path,
    cache_bytes: u64,
) -> Result<Restored, BackupError> {
    let target = |reason: String| BackupError::Target {
        path: data_dir.display().to_string(),
        reason,
    };
    if data_dir.exists() {
        let non_empty = std::fs::read_dir(data_dir)
            .map_err(|e| target(e.to_string()))?
            .next()
            .is_some();
        if non_empty {
            return Err(target(
                "the directory is not empty; restore into a new directory and point the service at it"
                    .into(),
            ));
        }
    }
    // Read the header first, so a wrong key fails before anything is created.
    let header = read_header(path)?;
    if header.key_id != key.id() {
        return Err(BackupError::WrongKey {
            path: path.display().to_string(),
            expected: header.key_id,
            given: key.id(),
        });
    }
    let result = (|| {
        let store = SledStore::open(data_dir, cache_bytes)?;
        let mut batch = WriteBatch::new();
        let mut written = 0u64;
        let (header, pairs) = read_backup(path, key, &mut |k, v| {
            if NOT_RESTORED_PREFIXES.iter().any(|p| k.starts_with(p)) {
                return Ok(());
            }
            batch.put(k, v);
            written += 1;
            if batch.ops.len() >= RESTORE_BATCH_PAIRS {
                store.apply(std::mem::take(&mut batch))?;
            }
            Ok(())
        })?;
        store.apply(batch)?;
        store.flush()?;
        store.settle()?;
        store.flush()?;
        let store_id = uuid::Uuid::from_bytes(crate::store::store_identity(&store)?).to_string();
        Ok::<_, BackupError>(Restored {
            header,
            pairs,
            written,
            store_id,
        })
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(data_dir);
    }
    result
}

/// What checking a restored store found.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub audit_entries: u64,
    pub documents: u64,
    pub problems: Vec<String>,
}

impl VerifyReport {
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Checks a store the way a restored backup must hold: the audit chain intact, every document
/// whole with the heads its catalogue names.
pub fn verify_store(store: &dyn Store) -> Result<VerifyReport, BackupError> {
    let audit =
        crate::audit::verify(store).map_err(|e| BackupError::Io(format!("audit chain: {e}")))?;
    let docs = crate::docs::check_all(store)?;
    let mut problems: Vec<String> = audit
        .problems
        .iter()
        .map(|p| format!("audit: {p}"))
        .collect();
    problems.extend(docs.problems);
    Ok(VerifyReport {
        audit_entries: audit.entries,
        documents: docs.documents,
        problems,
    })
}

/// Restores `path` into a scratch directory under `scratch_parent`, checks it with
/// [`verify_store`] and removes the scratch directory again.
pub fn verify_backup(
    path: &Path,
    key: &BackupKey,
    scratch_parent: &Path,
    cache_bytes: u64,
) -> Result<(Restored, VerifyReport), BackupError> {
    std::fs::create_dir_all(scratch_parent).map_err(io_err(format!(
        "cannot create {}",
        scratch_parent.display()
    )))?;
    let scratch = tempfile_dir(scratch_parent)?;
    let result = (|| {
        let restored = restore_into(path, key, &scratch, cache_bytes)?;
        let store = SledStore::open(&scratch, cache_bytes)?;
        let report = verify_store(&store)?;
        Ok((restored, report))
    })();
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

fn tempfile_dir(parent: &Path) -> Result<PathBuf, BackupError> {
    let mut suffix = [0u8; 6];
    rand::rngs::OsRng.fill_bytes(&mut suffix);
    let dir = parent.join(format!(".verify-{}", hex::encode(suffix)));
    std::fs::create_dir(&dir).map_err(io_err(format!("cannot create {}", dir.display())))?;
    Ok(dir)
}

/// The finished backups in `dir`, oldest first, with their headers; files that are not backups
/// are skipped.
pub fn list_backups(dir: &Path) -> Result<Vec<(PathBuf, BackupHeader)>, BackupError> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => {
            return Err(BackupError::Io(format!(
                "cannot list {}: {e}",
                dir.display()
            )))
        }
    };
    for entry in entries {
        let path = entry
            .map_err(io_err(format!("cannot list {}", dir.display())))?
            .path();
        if path.extension().and_then(|e| e.to_str()) != Some(BACKUP_EXTENSION) {
            continue;
        }
        if let Ok(header) = read_header(&path) {
            out.push((path, header));
        }
    }
    out.sort_by_key(|(p, h)| (h.taken_at_ms, p.clone()));
    Ok(out)
}

/// How many backups to keep: every backup of the last `keep_all_hours`, then the newest backup
/// of each day for `keep_daily_days` days, then the newest of each ISO week for
/// `keep_weekly_weeks` weeks. The newest backup is always kept.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Retention {
    pub keep_all_hours: u32,
    pub keep_daily_days: u32,
    pub keep_weekly_weeks: u32,
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            keep_all_hours: 48,
            keep_daily_days: 14,
            keep_weekly_weeks: 8,
        }
    }
}

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
const WEEK_MS: i64 = 7 * DAY_MS;

/// The backups (given by `taken_at_ms`, any order) that `retention` no longer keeps at `now_ms`:
/// their indexes into `taken`. Pure, so that the schedule is tested without files.
pub fn expired(taken: &[i64], now_ms: i64, retention: &Retention) -> Vec<usize> {
    let mut order: Vec<usize> = (0..taken.len()).collect();
    // Newest first, so that the first backup seen in a day or week is that period's newest.
    order.sort_by_key(|&i| std::cmp::Reverse(taken[i]));
    let mut days = std::collections::BTreeSet::new();
    let mut weeks = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for (rank, &i) in order.iter().enumerate() {
        let t = taken[i];
        let age = now_ms - t;
        // Every rule sees every backup, so that each period's set holds its newest backup.
        let recent = age <= i64::from(retention.keep_all_hours) * HOUR_MS;
        let daily = age <= i64::from(retention.keep_daily_days) * DAY_MS
            && days.insert(t.div_euclid(DAY_MS));
        // 1970-01-01 was a Thursday: shift so that weeks start on Monday.
        let weekly = age <= i64::from(retention.keep_weekly_weeks) * WEEK_MS
            && weeks.insert((t + 3 * DAY_MS).div_euclid(WEEK_MS));
        let keep = rank == 0 || recent || daily || weekly;
        if !keep {
            out.push(i);
        }
    }
    out.sort_unstable();
    out
}

/// Deletes the backups of `name` in `dir` that `retention` no longer keeps; returns their paths.
pub fn apply_retention(
    dir: &Path,
    what: &str,
    name: &str,
    retention: &Retention,
    now_ms: i64,
) -> Result<Vec<PathBuf>, BackupError> {
    let mine: Vec<(PathBuf, BackupHeader)> = list_backups(dir)?
        .into_iter()
        .filter(|(_, h)| h.what == what && h.name == name)
        .collect();
    let taken: Vec<i64> = mine.iter().map(|(_, h)| h.taken_at_ms).collect();
    let mut removed = Vec::new();
    for i in expired(&taken, now_ms, retention) {
        let path = &mine[i].0;
        std::fs::remove_file(path).map_err(io_err(format!("cannot remove {}", path.display())))?;
        removed.push(path.clone());
    }
    Ok(removed)
}

/// The `[backup]` section of a node's or the hub's config.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct BackupSection {
    /// Where backups are written: another disk or a mounted backup host, never the data disk.
    pub dir: Option<PathBuf>,
    /// The key file ([`BackupKey`]); keep a copy off this machine.
    pub key_file: Option<PathBuf>,
    pub retention: Retention,
}

/// The control socket a running service serves exports on, in its data directory: a backup of a
/// running node or hub reads the store through it (sled lets one process open a database).
/// Readable by the service's own user only.
pub const CONTROL_SOCKET: &str = "control.sock";
/// The request for an export on the control socket.
const EXPORT_REQUEST: &[u8] = b"export\n";

/// What a service says before the pairs of an export.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExportHello {
    pub what: String,
    pub name: String,
    pub software: String,
    pub store_id: String,
    /// When the export's point in time began, by the service's clock.
    pub taken_at_ms: i64,
}

/// Serves exports of `store` on `data_dir`/[`CONTROL_SOCKET`] from a thread of its own, one at a
/// time, until the process ends. `hello` gives the subject and the service's clock.
#[cfg(unix)]
pub fn serve_control_socket(
    data_dir: &Path,
    store: std::sync::Arc<dyn Store>,
    hello: impl Fn() -> ExportHello + Send + 'static,
) -> Result<PathBuf, BackupError> {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::net::UnixListener;
    let path = data_dir.join(CONTROL_SOCKET);
    // A socket file left by a process that ended; a live one means another process serves this
    // data directory, which the store's lock has already refused.
    if path.exists() {
        std::fs::remove_file(&path).map_err(io_err(format!("cannot remove {}", path.display())))?;
    }
    let listener = UnixListener::bind(&path)
        .map_err(io_err(format!("cannot listen on {}", path.display())))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
        .map_err(io_err(format!("cannot restrict {}", path.display())))?;
    std::thread::Builder::new()
        .name("backup-export".into())
        .spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                if let Err(e) = answer_export(&mut conn, &*store, &hello) {
                    tracing::warn!(error = %e, "a backup export over the control socket failed");
                }
            }
        })
        .map_err(io_err("cannot start the backup export thread"))?;
    Ok(path)
}

#[cfg(unix)]
fn answer_export(
    conn: &mut std::os::unix::net::UnixStream,
    store: &dyn Store,
    hello: &dyn Fn() -> ExportHello,
) -> std::io::Result<()> {
    let mut request = [0u8; EXPORT_REQUEST.len()];
    conn.read_exact(&mut request)?;
    if request != EXPORT_REQUEST {
        return Err(std::io::Error::other(
            "an unknown request on the control socket",
        ));
    }
    let mut out = std::io::BufWriter::new(conn.try_clone()?);
    let hello = serde_json::to_vec(&hello()).map_err(std::io::Error::other)?;
    out.write_all(&(hello.len() as u32).to_be_bytes())?;
    out.write_all(&hello)?;
    let mut failed: Option<std::io::Error> = None;
    let exported = store.export(&mut |k, v| {
        let r = (|| {
            out.write_all(&(k.len() as u32).to_be_bytes())?;
            out.write_all(k)?;
            out.write_all(&(v.len() as u32).to_be_bytes())?;
            out.write_all(v)
        })();
        r.map_err(|e| {
            let msg = e.to_string();
            failed = Some(e);
            StoreError::Io(msg)
        })
    });
    match exported {
        Ok(pairs) => {
            out.write_all(&END_MARK.to_be_bytes())?;
            out.write_all(&pairs.to_be_bytes())?;
        }
        Err(e) => {
            if let Some(io) = failed {
                return Err(io);
            }
            // Tell the client why, instead of an end mark.
            let why = e.to_string();
            out.write_all(&(END_MARK - 1).to_be_bytes())?;
            out.write_all(&(why.len() as u32).to_be_bytes())?;
            out.write_all(why.as_bytes())?;
        }
    }
    out.flush()
}

/// Where a backup reads its pairs from: a store this process opened, or a running service's
/// control socket.
pub enum BackupSource<'a> {
    Store {
        store: &'a dyn Store,
        what: &'a str,
        name: &'a str,
        software: &'a str,
        now_ms: i64,
    },
    #[cfg(unix)]
    Socket(PathBuf),
}

impl BackupSource<'_> {
    /// Says who is exported, then streams the pairs into `each`.
    fn run(
        &self,
        start: &mut dyn FnMut(&ExportHello) -> Result<(), BackupError>,
        each: &mut PairSink<'_>,
    ) -> Result<u64, BackupError> {
        match self {
            BackupSource::Store {
                store,
                what,
                name,
                software,
                now_ms,
            } => {
                let store_id = crate::store::store_identity(*store)?;
                start(&ExportHello {
                    what: what.to_string(),
                    name: name.to_string(),
                    software: software.to_string(),
                    store_id: uuid::Uuid::from_bytes(store_id).to_string(),
                    taken_at_ms: *now_ms,
                })?;
                Ok(store.export(each)?)
            }
            #[cfg(unix)]
            BackupSource::Socket(path) => {
                let failed = |e: std::io::Error| {
                    BackupError::Io(format!("the export over {} broke off: {e}", path.display()))
                };
                let mut conn = std::os::unix::net::UnixStream::connect(path)
                    .map_err(io_err(format!("cannot connect to {}", path.display())))?;
                conn.write_all(EXPORT_REQUEST).map_err(failed)?;
                let mut input = std::io::BufReader::new(conn);
                let read_blob = |input: &mut std::io::BufReader<_>, max: usize| {
                    let mut raw = [0u8; 4];
                    input.read_exact(&mut raw)?;
                    let len = u32::from_be_bytes(raw);
                    if len == END_MARK || len == END_MARK - 1 {
                        return Ok(Err(len));
                    }
                    if len as usize > max {
                        return Err(std::io::Error::other("a record longer than any stored one"));
                    }
                    let mut blob = vec![0u8; len as usize];
                    input.read_exact(&mut blob)?;
                    Ok(Ok(blob))
                };
                let hello = match read_blob(&mut input, HEADER_BYTES_MAX).map_err(failed)? {
                    Ok(h) => h,
                    Err(_) => return Err(BackupError::Io("the service sent no export".into())),
                };
                let hello: ExportHello = serde_json::from_slice(&hello)
                    .map_err(|e| BackupError::Io(format!("the service's export: {e}")))?;
                start(&hello)?;
                let mut pairs = 0u64;
                loop {
                    let k = match read_blob(&mut input, RECORD_KEY_BYTES_MAX).map_err(failed)? {
                        Ok(k) => k,
                        Err(END_MARK) => {
                            let mut count = [0u8; 8];
                            input.read_exact(&mut count).map_err(failed)?;
                            if u64::from_be_bytes(count) != pairs {
                                return Err(BackupError::Io(
                                    "the service's export ended with a different count".into(),
                                ));
                            }
                            return Ok(pairs);
                        }
                        Err(_) => {
                            let why = read_blob(&mut input, HEADER_BYTES_MAX)
                                .map_err(failed)?
                                .unwrap_or_default();
                            return Err(BackupError::Io(format!(
                                "the service could not export: {}",
                                String::from_utf8_lossy(&why)
                            )));
                        }
                    };
                    let v = match read_blob(&mut input, RECORD_VALUE_BYTES_MAX).map_err(failed)? {
                        Ok(v) => v,
                        Err(_) => return Err(BackupError::Io("a record without its value".into())),
                    };
                    each(&k, &v)?;
                    pairs += 1;
                }
            }
        }
    }
}

/// What `node backup` / `central backup` did.
#[derive(Debug, Clone, Serialize)]
pub struct BackupReport {
    pub written: BackupWritten,
    pub verified: VerifyReport,
    /// Older backups the retention schedule removed.
    pub removed: Vec<PathBuf>,
}

/// Takes a backup of a service's database: over its control socket when it runs (the service
/// goes on), else from the store `open_offline` opens; verifies it by restoring it into a scratch
/// directory next to it (audit chain, every document's heads); then applies `retention`. A
/// backup that fails verification is renamed `*.failed` and is an error; retention never removes
/// anything then.
pub fn take_backup(
    data_dir: &Path,
    dir: &Path,
    key: &BackupKey,
    retention: &Retention,
    cache_bytes: u64,
    open_offline: &dyn Fn() -> anyhow_like::Result<(std::sync::Arc<dyn Store>, ExportHello)>,
) -> Result<BackupReport, BackupError> {
    let socket = data_dir.join(CONTROL_SOCKET);
    #[cfg(unix)]
    let live = std::os::unix::net::UnixStream::connect(&socket).is_ok();
    #[cfg(not(unix))]
    let live = false;
    let written = if live {
        #[cfg(unix)]
        {
            write_backup(&BackupSource::Socket(socket), dir, key)?
        }
        #[cfg(not(unix))]
        unreachable!()
    } else {
        let (store, hello) = open_offline().map_err(BackupError::Io)?;
        write_backup(
            &BackupSource::Store {
                store: &*store,
                what: &hello.what,
                name: &hello.name,
                software: &hello.software,
                now_ms: hello.taken_at_ms,
            },
            dir,
            key,
        )?
    };
    let (_, verified) = verify_backup(&written.path, key, dir, cache_bytes)?;
    if !verified.is_ok() {
        let failed = written
            .path
            .with_extension(format!("{BACKUP_EXTENSION}.failed"));
        let _ = std::fs::rename(&written.path, &failed);
        return Err(BackupError::Damaged {
            path: failed.display().to_string(),
            reason: format!(
                "the restored copy fails its checks: {}",
                verified.problems.join("; ")
            ),
        });
    }
    let removed = apply_retention(
        dir,
        &written.header.what,
        &written.header.name,
        retention,
        written.header.taken_at_ms,
    )?;
    Ok(BackupReport {
        written,
        verified,
        removed,
    })
}

/// Errors as text for [`take_backup`]'s opener, so that callers keep their own error types.
pub mod anyhow_like {
    pub type Result<T> = std::result::Result<T, String>;
}

/// UTC date and time of a backup for people: `2026-12-06 07:56:09 UTC`.
pub fn human_time(ms: i64) -> String {
    let s = chrono_like_stamp(ms);
    format!(
        "{}-{}-{} {}:{}:{} UTC",
        &s[0..4],
        &s[4..6],
        &s[6..8],
        &s[9..11],
        &s[11..13],
        &s[13..15]
    )
}

/// The backup commands of `node` and `central`, which differ only in what they open.
pub mod cli {
    use super::*;
    use anyhow::{bail, Context};

    /// `backup`'s own arguments.
    #[derive(clap::Args, Debug, Clone)]
    pub struct BackupArgs {
        /// Directory for the backup (overrides [backup] dir); not on the data disk.
        #[arg(long)]
        pub to: Option<PathBuf>,
        /// The backup key (overrides [backup] key_file).
        #[arg(long)]
        pub key_file: Option<PathBuf>,
    }

    /// `backup-key`'s arguments.
    #[derive(clap::Args, Debug, Clone)]
    pub struct KeyArgs {
        /// Where to write the new key (never over an existing file).
        #[arg(long)]
        pub out: PathBuf,
    }

    /// `verify-backup`'s own arguments.
    #[derive(clap::Args, Debug, Clone)]
    pub struct VerifyArgs {
        /// The backup file.
        pub file: PathBuf,
        #[arg(long)]
        pub key_file: Option<PathBuf>,
    }

    /// `restore`'s own arguments.
    #[derive(clap::Args, Debug, Clone)]
    pub struct RestoreArgs {
        /// The backup file.
        #[arg(long)]
        pub from: PathBuf,
        #[arg(long)]
        pub key_file: Option<PathBuf>,
    }

    /// `audit verify` for a store: prints the result, an error when the chain is broken.
    pub fn audit_verify(store: &dyn Store) -> anyhow::Result<()> {
        let report = crate::audit::verify(store)?;
        if report.is_ok() {
            println!(
                "audit log OK: {} entries, hash chain intact",
                report.entries
            );
            return Ok(());
        }
        for p in &report.problems {
            println!("PROBLEM: {p}");
        }
        bail!(
            "audit log verification FAILED: {} problem(s) in {} entries",
            report.problems.len(),
            report.entries
        )
    }

    fn key_path(
        program: &str,
        flag: Option<&Path>,
        section: &BackupSection,
    ) -> anyhow::Result<PathBuf> {
        match flag.map(Path::to_path_buf).or_else(|| section.key_file.clone()) {
            Some(p) => Ok(p),
            None => bail!(
                "no backup key: pass --key-file or set [backup] key_file. Create one with `{program} backup-key --out FILE` and keep a copy off this machine: restoring needs it"
            ),
        }
    }

    /// `backup-key --out FILE`.
    pub fn new_key(out: &Path) -> anyhow::Result<()> {
        let key = BackupKey::generate();
        key.save_new(out)?;
        println!("backup key {} written to {}", key.id(), out.display());
        println!("keep a copy off this machine (a safe, the region's key escrow): without it no backup can be restored");
        Ok(())
    }

    /// `backup [--to DIR] [--key-file FILE]`.
    #[allow(clippy::too_many_arguments)]
    pub fn backup(
        program: &str,
        data_dir: &Path,
        args: &BackupArgs,
        section: &BackupSection,
        cache_bytes: u64,
        open_offline: &dyn Fn() -> anyhow_like::Result<(std::sync::Arc<dyn Store>, ExportHello)>,
    ) -> anyhow::Result<()> {
        let dir = match args.to.clone().or_else(|| section.dir.clone()) {
            Some(d) => d,
            None => bail!("no backup directory: pass --to DIR or set [backup] dir (another disk or the backup host, never the data disk)"),
        };
        let key = BackupKey::load(&key_path(program, args.key_file.as_deref(), section)?)?;
        let report = take_backup(
            data_dir,
            &dir,
            &key,
            &section.retention,
            cache_bytes,
            open_offline,
        )?;
        let h = &report.written.header;
        println!(
            "backup of {} {} taken at {}: {} ({} records, {} bytes, store read in {} ms)",
            h.what,
            h.name,
            human_time(h.taken_at_ms),
            report.written.path.display(),
            report.written.pairs,
            report.written.bytes,
            report.written.export_ms
        );
        println!(
            "verified: restored into a scratch directory, audit chain intact ({} entries), {} documents whole",
            report.verified.audit_entries, report.verified.documents
        );
        for r in &report.removed {
            println!("retention: removed {}", r.display());
        }
        Ok(())
    }

    /// `verify-backup FILE --key-file F`.
    pub fn verify(
        program: &str,
        args: &VerifyArgs,
        section: &BackupSection,
        cache_bytes: u64,
    ) -> anyhow::Result<()> {
        let file = args.file.as_path();
        let key = BackupKey::load(&key_path(program, args.key_file.as_deref(), section)?)?;
        let scratch = file
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let (restored, report) = verify_backup(file, &key, scratch, cache_bytes)?;
        if !report.is_ok() {
            for p in &report.problems {
                println!("PROBLEM: {p}");
            }
            bail!("backup {} FAILED verification", file.display());
        }
        println!(
            "backup of {} {} taken at {}: OK ({} records, audit chain intact with {} entries, {} documents whole)",
            restored.header.what,
            restored.header.name,
            human_time(restored.header.taken_at_ms),
            restored.pairs,
            report.audit_entries,
            report.documents
        );
        Ok(())
    }

    /// `restore --from FILE --key-file F` into `data_dir`, then checks what it wrote. Prints the
    /// point in time restored and what may be lost after it.
    pub fn restore(
        program: &str,
        args: &RestoreArgs,
        section: &BackupSection,
        data_dir: &Path,
        cache_bytes: u64,
    ) -> anyhow::Result<Restored> {
        let from = args.from.as_path();
        let what = program;
        let key = BackupKey::load(&key_path(program, args.key_file.as_deref(), section)?)?;
        let header = read_header(from)?;
        if header.what != what {
            bail!(
                "{} is a backup of {} {}, not of a {what}",
                from.display(),
                header.what,
                header.name
            );
        }
        let restored = restore_into(from, &key, data_dir, cache_bytes)?;
        let report = {
            let store = SledStore::open(data_dir, cache_bytes)
                .with_context(|| format!("reopening {}", data_dir.display()))?;
            verify_store(&store)?
        };
        if !report.is_ok() {
            for p in &report.problems {
                println!("PROBLEM: {p}");
            }
            bail!(
                "the restored database in {} fails its checks; do not start on it",
                data_dir.display()
            );
        }
        println!(
            "restored {} {} as of {} into {} ({} records; audit chain intact with {} entries; {} documents whole)",
            restored.header.what,
            restored.header.name,
            human_time(restored.header.taken_at_ms),
            data_dir.display(),
            restored.written,
            report.audit_entries,
            report.documents
        );
        println!(
            "the restored database is a new replica ({}): its peers send it everything it lacks",
            restored.store_id
        );
        println!(
            "LOSS BOUND: changes made after {} (taken_at_ms={}) are not in this backup; those that did not reach a peer before the failure are lost",
            human_time(restored.header.taken_at_ms),
            restored.header.taken_at_ms
        );
        Ok(restored)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::GroupCommit;
    use std::sync::Arc;

    fn source(store: &dyn Store, now_ms: i64) -> BackupSource<'_> {
        BackupSource::Store {
            store,
            what: "node",
            name: "AST",
            software: "test",
            now_ms,
        }
    }

    fn filled_store(dir: &Path, n: u32) -> Arc<dyn Store> {
        let store: Arc<dyn Store> = Arc::new(SledStore::open(dir, 8 << 20).unwrap());
        let mut b = WriteBatch::new();
        for i in 0..n {
            // Values that do not compress to nothing, and some larger than a chunk.
            let len = if i % 50 == 0 { 100_000 } else { 300 };
            let v: Vec<u8> = (0..len).map(|j| ((i * 31 + j) % 251) as u8).collect();
            b.put(format!("k/{i:06}").into_bytes(), v);
        }
        store.apply(b).unwrap();
        store.flush().unwrap();
        store
    }

    #[test]
    fn a_backup_restores_every_pair_into_a_new_replica() {
        let dir = tempfile::tempdir().unwrap();
        let store = filled_store(&dir.path().join("db"), 500);
        let key = BackupKey::generate();
        let written = write_backup(
            &source(&*store, 1_765_000_000_000),
            &dir.path().join("b"),
            &key,
        )
        .unwrap();
        assert!(written
            .path
            .to_string_lossy()
            .ends_with("node-AST-20251206T054640Z.r102bak"));
        let restored = restore_into(&written.path, &key, &dir.path().join("r"), 8 << 20).unwrap();
        assert_eq!(restored.pairs, written.pairs);
        let back = SledStore::open(&dir.path().join("r"), 8 << 20).unwrap();
        assert_eq!(
            back.scan_prefix(b"k/").unwrap(),
            store.scan_prefix(b"k/").unwrap()
        );
        assert_ne!(restored.store_id, written.header.store_id);
    }

    #[test]
    fn a_wrong_key_a_changed_byte_or_a_truncation_is_an_error_and_leaves_no_database() {
        let dir = tempfile::tempdir().unwrap();
        let store = filled_store(&dir.path().join("db"), 300);
        let key = BackupKey::generate();
        let written = write_backup(&source(&*store, 0), &dir.path().join("b"), &key).unwrap();
        let target = dir.path().join("r");
        let err = restore_into(&written.path, &BackupKey::generate(), &target, 8 << 20)
            .err()
            .unwrap();
        assert!(matches!(err, BackupError::WrongKey { .. }), "{err}");
        assert!(!target.exists());

        let bytes = std::fs::read(&written.path).unwrap();
        let mut changed = bytes.clone();
        let at = bytes.len() / 2;
        changed[at] ^= 0x40;
        let bad = dir.path().join("changed.r102bak");
        std::fs::write(&bad, &changed).unwrap();
        let err = restore_into(&bad, &key, &target, 8 << 20).err().unwrap();
        assert!(matches!(err, BackupError::Damaged { .. }), "{err}");
        assert!(!target.exists(), "a failed restore leaves nothing behind");

        let short = dir.path().join("short.r102bak");
        std::fs::write(&short, &bytes[..bytes.len() - 100]).unwrap();
        let err = restore_into(&short, &key, &target, 8 << 20).err().unwrap();
        assert!(matches!(err, BackupError::Damaged { .. }), "{err}");

        let mut header_changed = bytes.clone();
        let pos = bytes.windows(4).position(|w| w == b"\"AST").unwrap();
        header_changed[pos + 1] = b'B';
        let hc = dir.path().join("header.r102bak");
        std::fs::write(&hc, &header_changed).unwrap();
        let err = restore_into(&hc, &key, &target, 8 << 20).err().unwrap();
        assert!(matches!(err, BackupError::Damaged { .. }), "{err}");

        let not = dir.path().join("not.r102bak");
        std::fs::write(&not, b"hello").unwrap();
        let err = restore_into(&not, &key, &target, 8 << 20).err().unwrap();
        assert!(matches!(err, BackupError::NotABackup { .. }), "{err}");
    }

    #[test]
    fn a_restore_refuses_a_directory_that_is_not_empty() {
        let dir = tempfile::tempdir().unwrap();
        let store = filled_store(&dir.path().join("db"), 10);
        let key = BackupKey::generate();
        let written = write_backup(&source(&*store, 0), &dir.path().join("b"), &key).unwrap();
        let err = restore_into(&written.path, &key, &dir.path().join("db"), 8 << 20)
            .err()
            .unwrap();
        assert!(matches!(err, BackupError::Target { .. }), "{err}");
        // The live database is untouched.
        assert_eq!(store.scan_prefix(b"k/").unwrap().len(), 10);
    }

    /// The backup holds exactly the writes durable when it began, while writers go on: the
    /// writes committed during the export are not in it, are durable, and survive a reopening.
    #[test]
    fn an_online_backup_is_one_point_in_time_while_writers_go_on() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("db");
        let store = filled_store(&db, 200);
        let gc = Arc::new(GroupCommit::new(store.clone()));
        let before = store.scan_prefix(b"").unwrap();
        let mut during = 0u32;
        // Export through the trait while committing a write (and flushing) per exported pair.
        let mut seen = Vec::new();
        let n = store
            .export(&mut |k, v| {
                seen.push((k.to_vec(), v.to_vec()));
                let mut b = WriteBatch::new();
                b.put(
                    format!("k/{:06}", during % 300).into_bytes(),
                    b"new".to_vec(),
                );
                b.put(format!("late/{during:06}").into_bytes(), b"x".to_vec());
                during += 1;
                gc.commit(b).unwrap();
                Ok(())
            })
            .unwrap();
        assert_eq!(n as usize, seen.len());
        assert_eq!(seen, before, "the export is the state when it began");
        assert!(during > 0);
        // Reads saw the new writes during the export, and they are durable after it.
        assert_eq!(store.scan_prefix(b"late/").unwrap().len() as u32, during);
        drop(gc);
        drop(store);
        let reopened = SledStore::open(&db, 8 << 20).unwrap();
        assert_eq!(reopened.scan_prefix(b"late/").unwrap().len() as u32, during);
        assert_eq!(reopened.get(b"k/000000").unwrap().unwrap(), b"new".to_vec());
    }

    #[test]
    fn retention_keeps_recent_then_daily_then_weekly() {
        let now = 100 * DAY_MS;
        let r = Retention {
            keep_all_hours: 24,
            keep_daily_days: 7,
            keep_weekly_weeks: 4,
        };
        // Hourly backups for 60 days.
        let taken: Vec<i64> = (0..60 * 24).map(|h| now - h * HOUR_MS).collect();
        let gone: std::collections::BTreeSet<usize> =
            expired(&taken, now, &r).into_iter().collect();
        let kept: Vec<i64> = (0..taken.len())
            .filter(|i| !gone.contains(i))
            .map(|i| taken[i])
            .collect();
        // 25 of the last day (0..=24 h), then one per day to day 7, then one per week to week 4.
        let recent = kept.iter().filter(|&&t| now - t <= DAY_MS).count();
        assert_eq!(recent, 25);
        assert!(kept.iter().all(|&t| now - t <= 4 * WEEK_MS));
        let older_days: std::collections::BTreeSet<i64> = kept
            .iter()
            .filter(|&&t| now - t > DAY_MS && now - t <= 7 * DAY_MS)
            .map(|t| t.div_euclid(DAY_MS))
            .collect();
        assert_eq!(
            older_days.len(),
            kept.iter()
                .filter(|&&t| now - t > DAY_MS && now - t <= 7 * DAY_MS)
                .count()
        );
        assert!(kept.len() < 25 + 7 + 5);
        // The newest is kept even when everything is old.
        assert_eq!(expired(&[0, 1], 1_000 * WEEK_MS, &r), vec![0]);
    }
}
