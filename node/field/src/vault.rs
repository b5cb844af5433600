//! The terminal's data at rest: the kit's [`Store`] over sled with every value sealed
//! (ChaCha20-Poly1305), and the data key wrapped per officer by a key derived from the officer's
//! password (argon2id). The data key is never written in clear: a stolen terminal holds only
//! ciphertext and wrapped keys, each of which costs an argon2id derivation per password guess.
//!
//! Layout of the data directory:
//! - `keys.json` ([`KeyFile`]): the unit the data belong to, the data key wrapped once per crew
//!   officer, the expiry of the data, failed offline logins;
//! - `store/`: the kit's [`SledStore`], keys in clear (document ids, index names), values
//!   sealed by [`SealedStore`].
//!
//! Wiping ([`Vault::wipe`]) removes both: without `keys.json` the store is unreadable, and the
//! store goes with it. Revocation, the end of the shift and a bundle of another unit wipe.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use server_kit::store::{SledStore, Store, StoreError, StoreResult, WriteBatch};
use thiserror::Error;
use zeroize::Zeroizing;

use crate::login::{AttemptPolicy, Failures, LoginRefusal};

/// Bytes of the data key (ChaCha20-Poly1305 takes 256-bit keys).
pub const DATA_KEY_BYTES: usize = 32;
/// Bytes of a nonce: 96 bits, drawn at random for every sealed value. With one key per store and
/// far fewer than 2^32 writes per shift, a random nonce repeats with negligible probability.
pub const NONCE_BYTES: usize = 12;
/// Bytes of the Poly1305 tag after each ciphertext.
pub const TAG_BYTES: usize = 16;
/// Bytes of an officer's argon2id salt.
pub const SALT_BYTES: usize = 16;
/// Longest password accepted, in bytes (the node's own limit is lower; this only bounds work).
pub const PASSWORD_BYTES_MAX: usize = 1_024;
/// Longest officer login, in characters.
pub const LOGIN_CHARS_MAX: usize = 64;
/// Most officers whose key is wrapped on one terminal (a crew, plus replacements in a shift).
pub const OFFICERS_MAX: usize = 8;
/// Largest `keys.json` read, in bytes: a file larger than this is not one this terminal wrote.
pub const KEY_FILE_BYTES_MAX: usize = 64 * 1024;
/// sled's page cache for the terminal's store, in bytes: a tablet's memory is small and the
/// terminal's data are a few megabytes.
pub const STORE_CACHE_BYTES: u64 = 16 * 1024 * 1024;

/// First byte of a sealed value: nonce, then ciphertext and tag.
const SEALED_FORMAT: u8 = 1;
/// The `keys.json` layout.
pub const KEY_FILE_FORMAT: u32 = 1;
const KEY_FILE: &str = "keys.json";
const STORE_DIR: &str = "store";
/// The kit's `SledStore` writes its identity itself when it creates a store, in clear (a random
/// UUID, the replication protocol's repo id): the one value this store does not seal.
const CLEAR_KEYS: &[&[u8]] = &[b"meta/store_id"];
/// Inside the sealed store: when the data expire (ms since the epoch), so that an edited
/// `keys.json` cannot extend them.
const SEALED_EXPIRY_KEY: &[u8] = b"field/expires_at_ms";

/// The argon2id cost of deriving an officer's key-encryption key.
///
/// Default: 64 MiB, 3 passes, 1 lane — RFC 9106's second recommended setting (64 MiB, t = 3)
/// with one lane, because the `argon2` crate computes lanes one after another anyway. On a
/// rugged tablet (a 4-core ARM or Atom at ~2 GHz, 4 GB of memory) that is ~0.3–0.8 s per login,
/// once per login, and 64 MiB is free memory there; every offline password guess costs the same.
/// Tests shrink it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    pub memory_kib: u32,
    pub passes: u32,
    pub lanes: u32,
}

impl KdfParams {
    pub const DEFAULT: KdfParams = KdfParams {
        memory_kib: 64 * 1024,
        passes: 3,
        lanes: 1,
    };
    /// The lowest cost accepted from a key file or config (argon2's own minimum is lower): a
    /// tampered file must not make guessing cheap.
    pub const MIN: KdfParams = KdfParams {
        memory_kib: 8,
        passes: 1,
        lanes: 1,
    };
    /// The highest cost accepted: a tampered file must not exhaust the tablet's memory.
    pub const MAX: KdfParams = KdfParams {
        memory_kib: 1024 * 1024,
        passes: 16,
        lanes: 8,
    };

    fn check(&self) -> Result<Params, VaultError> {
        let in_range = |v: u32, lo: u32, hi: u32| (lo..=hi).contains(&v);
        if !in_range(self.memory_kib, Self::MIN.memory_kib, Self::MAX.memory_kib)
            || !in_range(self.passes, Self::MIN.passes, Self::MAX.passes)
            || !in_range(self.lanes, Self::MIN.lanes, Self::MAX.lanes)
        {
            return Err(VaultError::Corrupt(format!(
                "argon2id parameters {self:?} are outside {:?}..={:?}",
                Self::MIN,
                Self::MAX
            )));
        }
        Params::new(
            self.memory_kib.max(8 * self.lanes),
            self.passes,
            self.lanes,
            Some(DATA_KEY_BYTES),
        )
        .map_err(|e| VaultError::Corrupt(format!("argon2id parameters {self:?}: {e}")))
    }
}

impl Default for KdfParams {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Why the vault refused or failed. `code()` is what the UI translates.
#[derive(Debug, Error)]
pub enum VaultError {
    #[error("the password is wrong")]
    WrongPassword { failures: u32 },
    #[error("too many wrong passwords; try again in {retry_after_ms} ms")]
    TooSoon { retry_after_ms: i64 },
    #[error(
        "offline login is locked after too many wrong passwords; log in with the node reachable"
    )]
    Locked,
    #[error("officer {0} has never logged in on this terminal; the first login needs the node")]
    UnknownOfficer(String),
    #[error("the terminal's data expired at the end of the shift and were wiped")]
    Expired,
    #[error("the vault holds no data key yet")]
    Empty,
    #[error("{0}")]
    BadInput(String),
    #[error("the terminal's key file is damaged: {0}")]
    Corrupt(String),
    #[error("storage: {0}")]
    Io(String),
}

impl VaultError {
    /// A stable code for the UI's dictionaries.
    pub fn code(&self) -> &'static str {
        match self {
            VaultError::WrongPassword { .. } => "wrong_password",
            VaultError::TooSoon { .. } => "too_many_attempts",
            VaultError::Locked => "offline_login_locked",
            VaultError::UnknownOfficer(_) => "first_login_online",
            VaultError::Expired => "shift_expired",
            VaultError::Empty => "vault_empty",
            VaultError::BadInput(_) => "bad_input",
            VaultError::Corrupt(_) => "vault_corrupt",
            VaultError::Io(_) => "storage",
        }
    }
}

impl From<std::io::Error> for VaultError {
    fn from(e: std::io::Error) -> Self {
        VaultError::Io(e.to_string())
    }
}

impl From<StoreError> for VaultError {
    fn from(e: StoreError) -> Self {
        VaultError::Io(e.to_string())
    }
}

/// The 256-bit data key, only ever in memory (wiped from it when dropped).
#[derive(Clone)]
pub struct DataKey(Zeroizing<[u8; DATA_KEY_BYTES]>);

impl DataKey {
    /// A fresh random key from the operating system's generator.
    pub fn generate() -> Self {
        let mut k = Zeroizing::new([0u8; DATA_KEY_BYTES]);
        rand::rngs::OsRng.fill_bytes(&mut *k);
        DataKey(k)
    }

    /// A key from its bytes (tests; unwrapping).
    pub fn from_bytes(bytes: [u8; DATA_KEY_BYTES]) -> Self {
        DataKey(Zeroizing::new(bytes))
    }

    fn cipher(&self) -> ChaCha20Poly1305 {
        ChaCha20Poly1305::new(Key::from_slice(&*self.0))
    }
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(…)")
    }
}

fn random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b
}

/// Seals `msg` with a fresh random nonce: format byte, nonce, ciphertext and tag.
fn seal(cipher: &ChaCha20Poly1305, aad: &[u8], msg: &[u8]) -> Vec<u8> {
    let nonce = random::<NONCE_BYTES>();
    let sealed = cipher
        .encrypt(Nonce::from_slice(&nonce), Payload { msg, aad })
        // ChaCha20-Poly1305 fails only past 256 GiB per message.
        .unwrap_or_default();
    let mut out = Vec::with_capacity(1 + NONCE_BYTES + sealed.len());
    out.push(SEALED_FORMAT);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    out
}

/// Opens what [`seal`] made with the same key and `aad`; `None` when the key or `aad` differ or
/// the bytes were changed.
fn open(cipher: &ChaCha20Poly1305, aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
    if sealed.len() < 1 + NONCE_BYTES + TAG_BYTES || sealed[0] != SEALED_FORMAT {
        return None;
    }
    let (nonce, msg) = sealed[1..].split_at(NONCE_BYTES);
    cipher
        .decrypt(Nonce::from_slice(nonce), Payload { msg, aad })
        .ok()
}

/// The kit's [`Store`] with every value sealed by the data key, the value's own key as the
/// associated data: a value copied under another key no longer opens. Keys stay in clear (they
/// are document ids and index names), so the kit's documents, catalogue and peer knowledge work
/// unchanged over it; ordering and prefix scans are the inner store's.
pub struct SealedStore<S: Store = SledStore> {
    inner: S,
    cipher: ChaCha20Poly1305,
}

impl<S: Store> SealedStore<S> {
    pub fn new(inner: S, key: &DataKey) -> Self {
        SealedStore {
            inner,
            cipher: key.cipher(),
        }
    }

    /// The store underneath (what is on disk: sealed values).
    pub fn inner(&self) -> &S {
        &self.inner
    }

    fn is_clear(key: &[u8]) -> bool {
        CLEAR_KEYS.contains(&key)
    }

    fn seal_value(&self, key: &[u8], value: Vec<u8>) -> Vec<u8> {
        if Self::is_clear(key) {
            return value;
        }
        seal(&self.cipher, key, &value)
    }

    fn open_value(&self, key: &[u8], value: Vec<u8>) -> StoreResult<Vec<u8>> {
        if Self::is_clear(key) {
            return Ok(value);
        }
        open(&self.cipher, key, &value).ok_or_else(|| {
            StoreError::Io(format!(
                "the value of {} does not open with this terminal's key: it was changed, moved from another key, or sealed with another key",
                String::from_utf8_lossy(key)
            ))
        })
    }
}

impl<S: Store> std::fmt::Debug for SealedStore<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealedStore(…)")
    }
}

impl<S: Store> Store for SealedStore<S> {
    fn get(&self, key: &[u8]) -> StoreResult<Option<Vec<u8>>> {
        self.inner
            .get(key)?
            .map(|v| self.open_value(key, v))
            .transpose()
    }

    fn scan_prefix(&self, prefix: &[u8]) -> StoreResult<Vec<(Vec<u8>, Vec<u8>)>> {
        self.inner
            .scan_prefix(prefix)?
            .into_iter()
            .map(|(k, v)| {
                let v = self.open_value(&k, v)?;
                Ok((k, v))
            })
            .collect()
    }

    fn scan_keys(&self, prefix: &[u8], limit_count: usize) -> StoreResult<Vec<Vec<u8>>> {
        self.inner.scan_keys(prefix, limit_count)
    }

    fn last_with_prefix(&self, prefix: &[u8]) -> StoreResult<Option<(Vec<u8>, Vec<u8>)>> {
        match self.inner.last_with_prefix(prefix)? {
            Some((k, v)) => {
                let v = self.open_value(&k, v)?;
                Ok(Some((k, v)))
            }
            None => Ok(None),
        }
    }

    fn scan_keys_rev(
        &self,
        prefix: &[u8],
        before: Option<&[u8]>,
        limit_count: usize,
    ) -> StoreResult<Vec<Vec<u8>>> {
        self.inner.scan_keys_rev(prefix, before, limit_count)
    }

    fn apply(&self, batch: WriteBatch) -> StoreResult<()> {
        let ops = batch
            .ops
            .into_iter()
            .map(|(k, v)| {
                let v = v.map(|v| self.seal_value(&k, v));
                (k, v)
            })
            .collect();
        self.inner.apply(WriteBatch { ops })
    }

    fn flush(&self) -> StoreResult<()> {
        self.inner.flush()
    }

    fn settle(&self) -> StoreResult<()> {
        self.inner.settle()
    }

    fn size_on_disk_bytes(&self) -> u64 {
        self.inner.size_on_disk_bytes()
    }
}

/// The data key wrapped for one officer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WrappedKey {
    /// Hex of [`SALT_BYTES`] random bytes.
    pub salt: String,
    pub kdf: KdfParams,
    /// Hex of the sealed data key (format byte, nonce, ciphertext, tag).
    pub wrapped: String,
    pub added_at_ms: i64,
}

/// `keys.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyFile {
    pub format: u32,
    /// `REGION/unit` the data belong to.
    pub unit: String,
    /// When the data expire (the end of the shift), ms since the epoch. Also sealed inside the
    /// store, which wins once a login opens it.
    pub expires_at_ms: Option<i64>,
    pub officers: BTreeMap<String, WrappedKey>,
    /// Failed offline logins in a row, per login.
    #[serde(default)]
    pub failures: BTreeMap<String, Failures>,
}

/// Why the data were wiped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WipeReason {
    /// The node refused the unit's certificate as revoked.
    Revoked,
    /// The shift ended.
    ShiftExpired,
    /// The bundle names another unit than the data belong to.
    UnitChanged,
    /// A new crew started on a terminal that held another crew's data (confirmed by the officer).
    NewCrew,
}

/// The associated data of a wrapped key: it opens only for its unit and officer.
fn wrap_aad(unit: &str, login: &str) -> Vec<u8> {
    format!("mvd102-field-key/v1|{unit}|{login}").into_bytes()
}

/// Derives an officer's key-encryption key.
fn derive_kek(
    password: &str,
    salt: &[u8],
    kdf: KdfParams,
) -> Result<Zeroizing<[u8; DATA_KEY_BYTES]>, VaultError> {
    let params = kdf.check()?;
    let mut out = Zeroizing::new([0u8; DATA_KEY_BYTES]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(password.as_bytes(), salt, &mut *out)
        .map_err(|e| VaultError::Corrupt(format!("argon2id: {e}")))?;
    Ok(out)
}

/// Checks a login and password as typed (before any work is spent on them).
pub fn check_credentials(login: &str, password: &str) -> Result<(), VaultError> {
    let n = login.chars().count();
    if n == 0 || n > LOGIN_CHARS_MAX || login.chars().any(char::is_control) {
        return Err(VaultError::BadInput(format!(
            "a login has 1 to {LOGIN_CHARS_MAX} characters"
        )));
    }
    if password.is_empty() || password.len() > PASSWORD_BYTES_MAX {
        return Err(VaultError::BadInput(format!(
            "a password has 1 to {PASSWORD_BYTES_MAX} bytes"
        )));
    }
    Ok(())
}

/// Settings of the vault.
#[derive(Debug, Clone)]
pub struct VaultSettings {
    pub kdf: KdfParams,
    pub attempts: AttemptPolicy,
}

impl Default for VaultSettings {
    fn default() -> Self {
        VaultSettings {
            kdf: KdfParams::DEFAULT,
            attempts: AttemptPolicy::default(),
        }
    }
}

/// The data directory of one terminal: its key file and its sealed store.
pub struct Vault {
    dir: PathBuf,
    unit: String,
    settings: VaultSettings,
    keys: Option<KeyFile>,
}

/// What [`Vault::open`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opened {
    Empty,
    Existing,
    /// The data belonged to another unit, or expired, and were wiped.
    Wiped(WipeReason),
}

impl Vault {
    /// Opens the data directory for `unit` (`REGION/unit`): data of another unit, or expired
    /// at `now_ms`, are wiped before anything reads them.
    pub fn open(
        dir: &Path,
        unit: &str,
        settings: VaultSettings,
        now_ms: i64,
    ) -> Result<(Vault, Opened), VaultError> {
        std::fs::create_dir_all(dir)?;
        let mut vault = Vault {
            dir: dir.to_path_buf(),
            unit: unit.to_string(),
            settings,
            keys: None,
        };
        let keys = vault.read_keys()?;
        let opened = match keys {
            None => {
                if vault.dir.join(STORE_DIR).exists() {
                    // A store without the key file that opens it is unreadable: remove it.
                    vault.wipe(WipeReason::NewCrew)?;
                }
                Opened::Empty
            }
            Some(k) if k.unit != unit => {
                tracing::warn!(old = %k.unit, new = %unit, "the terminal was assigned to another unit: wiping the old unit's data");
                vault.wipe(WipeReason::UnitChanged)?;
                Opened::Wiped(WipeReason::UnitChanged)
            }
            Some(k) if k.expires_at_ms.is_some_and(|at| at <= now_ms) => {
                vault.wipe(WipeReason::ShiftExpired)?;
                Opened::Wiped(WipeReason::ShiftExpired)
            }
            Some(k) => {
                vault.keys = Some(k);
                Opened::Existing
            }
        };
        Ok((vault, opened))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn unit(&self) -> &str {
        &self.unit
    }

    /// Officers whose key is wrapped here, in order.
    pub fn officers(&self) -> Vec<String> {
        self.keys
            .as_ref()
            .map(|k| k.officers.keys().cloned().collect())
            .unwrap_or_default()
    }

    pub fn knows(&self, login: &str) -> bool {
        self.keys
            .as_ref()
            .is_some_and(|k| k.officers.contains_key(login))
    }

    pub fn expires_at_ms(&self) -> Option<i64> {
        self.keys.as_ref().and_then(|k| k.expires_at_ms)
    }

    /// Whether offline login is locked for `login` (too many wrong passwords).
    pub fn offline_locked(&self, login: &str) -> bool {
        self.failures(login).is_some_and(|f| {
            self.settings.attempts.check(&f, i64::MAX) == Err(LoginRefusal::Locked)
        })
    }

    fn failures(&self, login: &str) -> Option<Failures> {
        self.keys.as_ref()?.failures.get(login).cloned()
    }

    fn read_keys(&self) -> Result<Option<KeyFile>, VaultError> {
        let path = self.dir.join(KEY_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        if bytes.len() > KEY_FILE_BYTES_MAX {
            return Err(VaultError::Corrupt(format!(
                "{} is {} bytes, more than {KEY_FILE_BYTES_MAX}",
                path.display(),
                bytes.len()
            )));
        }
        let keys: KeyFile = serde_json::from_slice(&bytes)
            .map_err(|e| VaultError::Corrupt(format!("{}: {e}", path.display())))?;
        if keys.format != KEY_FILE_FORMAT {
            return Err(VaultError::Corrupt(format!(
                "{} has format {}, this terminal reads {KEY_FILE_FORMAT}",
                path.display(),
                keys.format
            )));
        }
        Ok(Some(keys))
    }

    fn write_keys(&mut self, keys: KeyFile) -> Result<(), VaultError> {
        let bytes = serde_json::to_vec_pretty(&keys)
            .map_err(|e| VaultError::Io(format!("encoding the key file: {e}")))?;
        write_synced(&self.dir.join(KEY_FILE), &bytes)?;
        self.keys = Some(keys);
        Ok(())
    }

    /// Starts a new vault for the first officer (after the node confirmed the login): a fresh
    /// data key wrapped for `login`, an empty store. Any earlier data are wiped first.
    pub fn create(
        &mut self,
        login: &str,
        password: &str,
        expires_at_ms: Option<i64>,
        now_ms: i64,
    ) -> Result<(DataKey, SealedStore), VaultError> {
        check_credentials(login, password)?;
        if self.keys.is_some() || self.dir.join(STORE_DIR).exists() {
            self.wipe(WipeReason::NewCrew)?;
        }
        let key = DataKey::generate();
        let wrapped = self.wrap(&key, login, password, now_ms)?;
        let keys = KeyFile {
            format: KEY_FILE_FORMAT,
            unit: self.unit.clone(),
            expires_at_ms,
            officers: BTreeMap::from([(login.to_string(), wrapped)]),
            failures: BTreeMap::new(),
        };
        self.write_keys(keys)?;
        let store = self.open_store(&key)?;
        if let Some(at) = expires_at_ms {
            seal_expiry(&store, at)?;
        }
        Ok((key, store))
    }

    fn wrap(
        &self,
        key: &DataKey,
        login: &str,
        password: &str,
        now_ms: i64,
    ) -> Result<WrappedKey, VaultError> {
        let salt = random::<SALT_BYTES>();
        let kek = derive_kek(password, &salt, self.settings.kdf)?;
        let cipher = ChaCha20Poly1305::new(Key::from_slice(&*kek));
        let wrapped = seal(&cipher, &wrap_aad(&self.unit, login), &*key.0);
        Ok(WrappedKey {
            salt: hex::encode(salt),
            kdf: self.settings.kdf,
            wrapped: hex::encode(wrapped),
            added_at_ms: now_ms,
        })
    }

    /// Wraps the data key (held by a logged-in officer) for another officer the node confirmed,
    /// or again for the same officer after a password change.
    pub fn add_officer(
        &mut self,
        key: &DataKey,
        login: &str,
        password: &str,
        now_ms: i64,
    ) -> Result<(), VaultError> {
        check_credentials(login, password)?;
        let mut keys = self.keys.clone().ok_or(VaultError::Empty)?;
        if !keys.officers.contains_key(login) && keys.officers.len() >= OFFICERS_MAX {
            return Err(VaultError::BadInput(format!(
                "at most {OFFICERS_MAX} officers per terminal"
            )));
        }
        let wrapped = self.wrap(key, login, password, now_ms)?;
        keys.officers.insert(login.to_string(), wrapped);
        keys.failures.remove(login);
        self.write_keys(keys)
    }

    /// Offline login: the password unwraps the data key (the AEAD tag is the password check).
    /// A wrong password counts towards the attempt policy, which can make the next try wait or
    /// lock offline login for this officer. Expired data are wiped and refused.
    pub fn unlock(
        &mut self,
        login: &str,
        password: &str,
        now_ms: i64,
    ) -> Result<(DataKey, SealedStore), VaultError> {
        self.unlock_with(login, password, now_ms, true)
    }

    /// [`Vault::unlock`] for an officer the node has just confirmed: the attempt policy does not
    /// apply (a lock is lifted by exactly this), and a success clears the failures.
    pub fn unlock_confirmed(
        &mut self,
        login: &str,
        password: &str,
        now_ms: i64,
    ) -> Result<(DataKey, SealedStore), VaultError> {
        self.unlock_with(login, password, now_ms, false)
    }

    fn unlock_with(
        &mut self,
        login: &str,
        password: &str,
        now_ms: i64,
        check_policy: bool,
    ) -> Result<(DataKey, SealedStore), VaultError> {
        check_credentials(login, password)?;
        let keys = self.keys.clone().ok_or(VaultError::Empty)?;
        if keys.expires_at_ms.is_some_and(|at| at <= now_ms) {
            self.wipe(WipeReason::ShiftExpired)?;
            return Err(VaultError::Expired);
        }
        let wrapped = keys
            .officers
            .get(login)
            .ok_or_else(|| VaultError::UnknownOfficer(login.to_string()))?;
        let failures = keys.failures.get(login).cloned().unwrap_or_default();
        match self.settings.attempts.check(&failures, now_ms) {
            _ if !check_policy => {}
            Ok(()) => {}
            Err(LoginRefusal::TooSoon { retry_after_ms }) => {
                return Err(VaultError::TooSoon { retry_after_ms })
            }
            Err(LoginRefusal::Locked) => return Err(VaultError::Locked),
        }
        let bad = |what: &str| VaultError::Corrupt(format!("the wrapped key of {login}: {what}"));
        let salt = hex::decode(&wrapped.salt).map_err(|_| bad("salt is not hex"))?;
        let sealed = hex::decode(&wrapped.wrapped).map_err(|_| bad("key is not hex"))?;
        let kek = derive_kek(password, &salt, wrapped.kdf)?;
        let cipher = ChaCha20Poly1305::new(Key::from_slice(&*kek));
        let Some(raw) = open(&cipher, &wrap_aad(&self.unit, login), &sealed).map(Zeroizing::new)
        else {
            let mut keys = keys;
            let entry = keys.failures.entry(login.to_string()).or_default();
            entry.record(now_ms);
            let failures = entry.count;
            self.write_keys(keys)?;
            return Err(VaultError::WrongPassword { failures });
        };
        let bytes: [u8; DATA_KEY_BYTES] = raw
            .as_slice()
            .try_into()
            .map_err(|_| bad("the key has the wrong length"))?;
        let key = DataKey::from_bytes(bytes);
        if keys.failures.contains_key(login) {
            let mut keys = keys;
            keys.failures.remove(login);
            self.write_keys(keys)?;
        }
        let store = self.open_store(&key)?;
        let sealed_expiry = store
            .get(SEALED_EXPIRY_KEY)?
            .and_then(|v| String::from_utf8(v).ok())
            .and_then(|v| v.parse::<i64>().ok());
        if sealed_expiry.is_some_and(|at| at <= now_ms) {
            drop(store);
            self.wipe(WipeReason::ShiftExpired)?;
            return Err(VaultError::Expired);
        }
        Ok((key, store))
    }

    /// Sets when the data expire (from the unit's pack, or login time + shift hours), in the
    /// key file and inside the store.
    pub fn set_expiry(&mut self, store: &dyn Store, at_ms: i64) -> Result<(), VaultError> {
        let mut keys = self.keys.clone().ok_or(VaultError::Empty)?;
        if keys.expires_at_ms != Some(at_ms) {
            keys.expires_at_ms = Some(at_ms);
            self.write_keys(keys)?;
        }
        seal_expiry(store, at_ms)
    }

    /// The sealed store, opened with the data key.
    fn open_store(&self, key: &DataKey) -> Result<SealedStore, VaultError> {
        let inner = SledStore::open(&self.dir.join(STORE_DIR), STORE_CACHE_BYTES)?;
        Ok(SealedStore::new(inner, key))
    }

    /// Removes everything of the data directory: the key file (overwritten first) and the store.
    /// Handles to the store must be dropped before.
    pub fn wipe(&mut self, reason: WipeReason) -> Result<(), VaultError> {
        tracing::warn!(?reason, dir = %self.dir.display(), "wiping the terminal's data");
        let key_file = self.dir.join(KEY_FILE);
        if let Ok(meta) = std::fs::metadata(&key_file) {
            // Crypto-erase: without the wrapped keys the store is ciphertext only. Overwriting
            // first keeps the old bytes out of the file's blocks where the file system reuses them.
            let _ = write_synced(&key_file, &vec![0u8; meta.len() as usize]);
        }
        for entry in std::fs::read_dir(&self.dir)? {
            let path = entry?.path();
            if path.is_dir() {
                std::fs::remove_dir_all(&path)?;
            } else {
                std::fs::remove_file(&path)?;
            }
        }
        sync_dir(&self.dir)?;
        self.keys = None;
        Ok(())
    }
}

fn seal_expiry(store: &dyn Store, at_ms: i64) -> Result<(), VaultError> {
    let mut b = WriteBatch::new();
    b.put(SEALED_EXPIRY_KEY.to_vec(), at_ms.to_string().into_bytes());
    store.apply(b)?;
    store.flush()?;
    Ok(())
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// Writes a file whole or not at all: a temporary file, synced, renamed into place.
fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Some(parent) = path.parent() {
        sync_dir(parent)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_value_opens_only_with_its_key_and_its_aad() {
        let key = DataKey::generate();
        let c = key.cipher();
        let sealed = seal(&c, b"doc/a", b"secret");
        assert_eq!(open(&c, b"doc/a", &sealed).as_deref(), Some(&b"secret"[..]));
        assert_eq!(open(&c, b"doc/b", &sealed), None);
        assert_eq!(open(&DataKey::generate().cipher(), b"doc/a", &sealed), None);
        for cut in 0..sealed.len() {
            assert_eq!(open(&c, b"doc/a", &sealed[..cut]), None);
        }
        // Same plaintext, fresh nonce: ciphertexts differ.
        assert_ne!(seal(&c, b"doc/a", b"secret"), sealed);
    }

    #[test]
    fn kdf_parameters_out_of_range_are_refused() {
        let mut p = KdfParams::MIN;
        p.memory_kib = KdfParams::MAX.memory_kib + 1;
        assert!(p.check().is_err());
        p = KdfParams::MIN;
        p.passes = 0;
        assert!(p.check().is_err());
        assert!(KdfParams::DEFAULT.check().is_ok());
    }
}
