//! Staff accounts, roles, sessions and login lockout (R18).
//!
//! Accounts are created and changed only by an admin (ДЦИИ); every change, every successful login,
//! every counted failure and every lockout goes through the audit log in the same atomic batch as
//! the change itself, with the acting login as `actor`.
//!
//! Layout in the shared key space:
//! - `acct/u/{login}` → JSON [`AccountRecord`] (public fields + argon2 PHC hash + lockout state);
//! - `acct/s/{hex(sha256(token))}` → JSON session `{login, expires_at}`. Only the token's hash is
//!   stored, so a copy of the database does not hand out live sessions.
//!
//! `authenticate` runs on every HTTP request, so sessions are cached in memory; every write that
//! can change what a session may do (update, delete, logout) invalidates the cache *after* the
//! write is visible in the store, and a generation counter keeps a slow cache miss from
//! re-inserting a session that was invalidated while it was reading.

use std::collections::BTreeSet;
use std::fmt;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine as _;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use sync::Role;
use thiserror::Error;

use crate::audit::{AuditInput, AuditLog};
use crate::store::{GroupCommit, Store, StoreError, WriteBatch};

/// Key prefix of account records.
pub const ACCOUNT_KEY_PREFIX: &str = "acct/u/";
/// Key prefix of session records.
pub const SESSION_KEY_PREFIX: &str = "acct/s/";

pub const LOGIN_LEN_MIN_CHARS: usize = 3;
pub const LOGIN_LEN_MAX_CHARS: usize = 32;
pub const PASSWORD_LEN_MIN_CHARS: usize = 10;
/// Bounds the argon2 input and the request body an anonymous caller can make us hash.
pub const PASSWORD_LEN_MAX_CHARS: usize = 128;
pub const FULL_NAME_LEN_MAX_CHARS: usize = 200;
pub const DISTRICT_LEN_MAX_CHARS: usize = 200;
/// Random bytes in a session token (before base64url).
pub const SESSION_TOKEN_BYTES: usize = 32;
/// Length of a token in base64url without padding (32 bytes → 43 chars).
const SESSION_TOKEN_LEN_CHARS: usize = 43;
/// In-memory session cache size; least recently used sessions fall back to a store read.
pub const SESSION_CACHE_ENTRIES_MAX: usize = 50_000;
/// Length of the generated one-time admin password.
pub const GENERATED_PASSWORD_LEN_CHARS: usize = 16;
/// Login of the account created on first start.
pub const BOOTSTRAP_ADMIN_LOGIN: &str = "admin";
/// Actor recorded for actions the node takes on its own (bootstrap, housekeeping).
pub const SYSTEM_ACTOR: &str = "system";
/// Version of the stored account record layout.
const ACCOUNT_RECORD_FORMAT_VERSION: u32 = 1;
/// No `0/O/o/1/l/I`: the generated password is read off a console and typed by a person.
const GENERATED_PASSWORD_ALPHABET: &[u8] =
    b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";

/// Tunables of login protection and password hashing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountLimits {
    /// Consecutive failed logins after which the account is locked.
    pub failed_logins_max: u32,
    /// How long a lockout lasts.
    pub lockout_ms: i64,
    /// Lifetime of a session from login (one shift plus handover).
    pub session_ttl_ms: i64,
    /// argon2id memory cost for new hashes. Existing hashes keep the parameters they were made
    /// with (they are in the PHC string), so changing this never locks anybody out.
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub argon2_lanes: u32,
}

impl Default for AccountLimits {
    fn default() -> Self {
        Self {
            failed_logins_max: 5,
            lockout_ms: 15 * 60 * 1000,
            session_ttl_ms: 12 * 60 * 60 * 1000,
            argon2_memory_kib: Params::DEFAULT_M_COST,
            argon2_iterations: Params::DEFAULT_T_COST,
            argon2_lanes: Params::DEFAULT_P_COST,
        }
    }
}

/// An account as the API shows it. Never carries the password hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct User {
    pub login: String,
    pub full_name: String,
    /// Sorted and without duplicates.
    pub roles: Vec<Role>,
    /// District (район) the person works in, if bound to one.
    pub district: Option<String>,
    pub disabled: bool,
    /// ms since the Unix epoch.
    pub created_at: i64,
}

impl User {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

/// Request to create an account.
#[derive(Clone, Deserialize, utoipa::ToSchema)]
pub struct NewAccount {
    pub login: String,
    pub full_name: String,
    pub password: String,
    pub roles: Vec<Role>,
    #[serde(default)]
    pub district: Option<String>,
}

impl fmt::Debug for NewAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewAccount")
            .field("login", &self.login)
            .field("full_name", &self.full_name)
            .field("password", &"<redacted>")
            .field("roles", &self.roles)
            .field("district", &self.district)
            .finish()
    }
}

/// Partial update; absent fields stay as they are. `district: ""` removes the district.
/// Setting a password also lifts a lockout and ends the account's sessions.
#[derive(Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct AccountPatch {
    #[serde(default)]
    pub full_name: Option<String>,
    #[serde(default)]
    pub roles: Option<Vec<Role>>,
    #[serde(default)]
    pub disabled: Option<bool>,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub district: Option<String>,
}

impl fmt::Debug for AccountPatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountPatch")
            .field("full_name", &self.full_name)
            .field("roles", &self.roles)
            .field("disabled", &self.disabled)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("district", &self.district)
            .finish()
    }
}

#[derive(Debug, Error)]
pub enum AccountError {
    #[error("the login must be {LOGIN_LEN_MIN_CHARS} to {LOGIN_LEN_MAX_CHARS} characters of a-z, 0-9, '.', '_' or '-'")]
    InvalidLogin,
    #[error("the password {0}")]
    WeakPassword(&'static str),
    #[error("{field}: {reason}")]
    InvalidField { field: &'static str, reason: String },
    #[error("an account with this login already exists")]
    LoginTaken,
    #[error("no such account")]
    NotFound,
    #[error("wrong login or password")]
    BadCredentials,
    #[error("the account is locked after repeated failed logins; try again later or ask an administrator to set a new password")]
    AccountLocked { until_ms: i64 },
    #[error("the account is disabled; contact the administrator")]
    AccountDisabled,
    #[error("this is the last enabled administrator account; create or enable another administrator first")]
    LastAdmin,
    #[error("the session is unknown, has expired or was ended; log in again")]
    InvalidSession,
    #[error("stored account data is unreadable ({0}); restore it from a backup")]
    Corrupt(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl AccountError {
    /// Stable machine-readable code for API clients and the console.
    pub fn code(&self) -> &'static str {
        match self {
            AccountError::InvalidLogin => "invalid_login",
            AccountError::WeakPassword(_) => "weak_password",
            AccountError::InvalidField { .. } => "invalid_field",
            AccountError::LoginTaken => "login_taken",
            AccountError::NotFound => "not_found",
            AccountError::BadCredentials => "bad_credentials",
            AccountError::AccountLocked { .. } => "account_locked",
            AccountError::AccountDisabled => "account_disabled",
            AccountError::LastAdmin => "last_admin",
            AccountError::InvalidSession => "invalid_session",
            AccountError::Corrupt(_) | AccountError::Store(_) => "storage_error",
            AccountError::Internal(_) => "internal_error",
        }
    }

    /// The request field the error is about, for highlighting it in a form.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            AccountError::InvalidLogin | AccountError::LoginTaken => Some("login"),
            AccountError::WeakPassword(_) => Some("password"),
            AccountError::InvalidField { field, .. } => Some(field),
            _ => None,
        }
    }
}

pub type AccountResult<T> = Result<T, AccountError>;

/// Stored form of an account.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct AccountRecord {
    format_version: u32,
    login: String,
    full_name: String,
    roles: Vec<Role>,
    district: Option<String>,
    disabled: bool,
    created_at: i64,
    /// argon2id PHC string (algorithm, parameters, salt and hash).
    password_hash: String,
    /// Consecutive failures since the last success or lockout.
    failed_attempts: u32,
    /// Locked while `now_ms < locked_until_ms`.
    locked_until_ms: Option<i64>,
}

impl AccountRecord {
    fn user(&self) -> User {
        User {
            login: self.login.clone(),
            full_name: self.full_name.clone(),
            roles: self.roles.clone(),
            district: self.district.clone(),
            disabled: self.disabled,
            created_at: self.created_at,
        }
    }

    fn is_enabled_admin(&self) -> bool {
        !self.disabled && self.roles.contains(&Role::Admin)
    }

    fn locked_at(&self, now_ms: i64) -> Option<i64> {
        self.locked_until_ms.filter(|until| now_ms < *until)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct SessionRecord {
    login: String,
    expires_at: i64,
}

struct CachedSession {
    expires_at: i64,
    user: User,
}

struct SessionCache {
    entries: lru::LruCache<[u8; 32], CachedSession>,
    /// Bumped on every invalidation; a cache miss only inserts if it is unchanged.
    generation: u64,
}

/// The account service. Cheap to share behind an `Arc`.
pub struct Accounts {
    store: Arc<dyn Store>,
    gc: Arc<GroupCommit>,
    audit: Arc<AuditLog>,
    limits: AccountLimits,
    /// Serialises read-modify-write of account and session records (uniqueness of logins, the
    /// last-admin rule, failure counters). Held only while building and applying a batch — never
    /// across hashing or the wait for durability.
    write_lock: Mutex<()>,
    sessions: Mutex<SessionCache>,
    /// Hash verified against when the login does not exist, so that an unknown login takes as
    /// long as a wrong password and response times do not reveal which logins exist.
    dummy_hash: OnceLock<String>,
}

impl Accounts {
    pub fn new(
        store: Arc<dyn Store>,
        gc: Arc<GroupCommit>,
        audit: Arc<AuditLog>,
        limits: AccountLimits,
    ) -> Self {
        let cache_entries =
            NonZeroUsize::new(SESSION_CACHE_ENTRIES_MAX).unwrap_or(NonZeroUsize::MIN);
        Self {
            store,
            gc,
            audit,
            limits,
            write_lock: Mutex::new(()),
            sessions: Mutex::new(SessionCache {
                entries: lru::LruCache::new(cache_entries),
                generation: 0,
            }),
            dummy_hash: OnceLock::new(),
        }
    }

    pub fn limits(&self) -> &AccountLimits {
        &self.limits
    }

    // ---------------------------------------------------------------- reads

    /// All accounts in login order.
    pub fn list(&self) -> AccountResult<Vec<User>> {
        Ok(self
            .all_records()?
            .iter()
            .map(AccountRecord::user)
            .collect())
    }

    pub fn get(&self, login: &str) -> AccountResult<User> {
        self.load(login)?
            .map(|r| r.user())
            .ok_or(AccountError::NotFound)
    }

    // ---------------------------------------------------------------- admin operations

    /// Creates an account. Everything is validated before anything is hashed or written.
    pub async fn create(&self, actor: &str, req: NewAccount, now_ms: i64) -> AccountResult<User> {
        validate_login(&req.login)?;
        let full_name = validate_full_name(&req.full_name)?;
        validate_password(&req.password)?;
        let roles = validate_roles(req.roles)?;
        let district = validate_district(req.district.as_deref())?;
        if self.load(&req.login)?.is_some() {
            // Checked before hashing so that a taken login costs no argon2 run; checked again
            // under the lock below because another create may race us.
            return Err(AccountError::LoginTaken);
        }
        let password_hash = self.hash_password(req.password).await?;

        let record = AccountRecord {
            format_version: ACCOUNT_RECORD_FORMAT_VERSION,
            login: req.login,
            full_name,
            roles,
            district,
            disabled: false,
            created_at: now_ms,
            password_hash,
            failed_attempts: 0,
            locked_until_ms: None,
        };
        let ticket = {
            let _guard = self.lock_writes();
            if self.load(&record.login)?.is_some() {
                return Err(AccountError::LoginTaken);
            }
            let mut batch = WriteBatch::new();
            batch.put(account_key(&record.login), encode(&record)?);
            let details = json!({
                "full_name": record.full_name,
                "roles": role_names(&record.roles),
                "district": record.district,
            });
            self.audit.record(
                &self.gc,
                batch,
                AuditInput::new(actor, "account.create", record.login.clone(), details),
                now_ms,
            )?
        };
        self.gc.wait_async(ticket).await?;
        Ok(record.user())
    }

    /// Changes an account. Disabling it or setting a new password ends its sessions; role
    /// changes apply to existing sessions at their next request.
    pub async fn update(
        &self,
        actor: &str,
        login: &str,
        patch: AccountPatch,
        now_ms: i64,
    ) -> AccountResult<User> {
        let full_name = patch
            .full_name
            .as_deref()
            .map(validate_full_name)
            .transpose()?;
        let roles = patch.roles.map(validate_roles).transpose()?;
        let district = match patch.district.as_deref() {
            None => None,
            Some(d) if d.trim().is_empty() => Some(None),
            Some(d) => Some(validate_district(Some(d))?),
        };
        if let Some(password) = &patch.password {
            validate_password(password)?;
        }
        if self.load(login)?.is_none() {
            return Err(AccountError::NotFound);
        }
        let password_hash = match patch.password {
            Some(password) => Some(self.hash_password(password).await?),
            None => None,
        };

        let (ticket, user) = {
            let _guard = self.lock_writes();
            let old = self.load(login)?.ok_or(AccountError::NotFound)?;
            let mut new = old.clone();
            let mut changed: Vec<&'static str> = Vec::new();
            if let Some(full_name) = full_name.filter(|n| *n != old.full_name) {
                new.full_name = full_name;
                changed.push("full_name");
            }
            if let Some(roles) = roles.filter(|r| *r != old.roles) {
                new.roles = roles;
                changed.push("roles");
            }
            if let Some(district) = district.filter(|d| *d != old.district) {
                new.district = district;
                changed.push("district");
            }
            if let Some(disabled) = patch.disabled.filter(|d| *d != old.disabled) {
                new.disabled = disabled;
                changed.push("disabled");
            }
            if let Some(hash) = password_hash {
                new.password_hash = hash;
                new.failed_attempts = 0;
                new.locked_until_ms = None;
                changed.push("password");
            }
            if changed.is_empty() {
                return Ok(old.user());
            }
            if old.is_enabled_admin() && !new.is_enabled_admin() {
                self.ensure_other_enabled_admin(login)?;
            }

            let mut batch = WriteBatch::new();
            batch.put(account_key(login), encode(&new)?);
            let ends_sessions = (new.disabled && !old.disabled) || changed.contains(&"password");
            let mut sessions_ended = 0usize;
            if ends_sessions {
                for key in self.session_keys_of(login)? {
                    batch.delete(key);
                    sessions_ended += 1;
                }
            }
            let details = json!({
                "changed": changed,
                "full_name": new.full_name,
                "roles": role_names(&new.roles),
                "district": new.district,
                "disabled": new.disabled,
                "sessions_ended": sessions_ended,
            });
            let ticket = self.audit.record(
                &self.gc,
                batch,
                AuditInput::new(actor, "account.update", login, details),
                now_ms,
            )?;
            self.invalidate_login(login);
            (ticket, new.user())
        };
        self.gc.wait_async(ticket).await?;
        Ok(user)
    }

    /// Deletes an account and ends its sessions.
    pub async fn delete(&self, actor: &str, login: &str, now_ms: i64) -> AccountResult<()> {
        let ticket = {
            let _guard = self.lock_writes();
            let old = self.load(login)?.ok_or(AccountError::NotFound)?;
            if old.is_enabled_admin() {
                self.ensure_other_enabled_admin(login)?;
            }
            let mut batch = WriteBatch::new();
            batch.delete(account_key(login));
            let session_keys = self.session_keys_of(login)?;
            let sessions_ended = session_keys.len();
            for key in session_keys {
                batch.delete(key);
            }
            let details = json!({
                "full_name": old.full_name,
                "roles": role_names(&old.roles),
                "sessions_ended": sessions_ended,
            });
            let ticket = self.audit.record(
                &self.gc,
                batch,
                AuditInput::new(actor, "account.delete", login, details),
                now_ms,
            )?;
            self.invalidate_login(login);
            ticket
        };
        self.gc.wait_async(ticket).await?;
        Ok(())
    }

    /// On first start (no accounts at all) creates `admin` with the Admin role. With no password
    /// given, one is generated and returned so the shell can print it exactly once; with a
    /// password given, or when accounts already exist, returns `None`.
    pub async fn bootstrap_admin(
        &self,
        password: Option<String>,
        now_ms: i64,
    ) -> AccountResult<Option<String>> {
        if !self
            .store
            .scan_keys(ACCOUNT_KEY_PREFIX.as_bytes(), 1)?
            .is_empty()
        {
            return Ok(None);
        }
        let (password, generated) = match password {
            Some(p) => (p, None),
            None => {
                let p = generate_one_time_password();
                (p.clone(), Some(p))
            }
        };
        let req = NewAccount {
            login: BOOTSTRAP_ADMIN_LOGIN.to_string(),
            full_name: "Administrator".to_string(),
            password,
            roles: vec![Role::Admin],
            district: None,
        };
        match self.create(SYSTEM_ACTOR, req, now_ms).await {
            Ok(_) => Ok(generated),
            // Another bootstrap won the race; its password is the one that counts.
            Err(AccountError::LoginTaken) => Ok(None),
            Err(e) => Err(e),
        }
    }

    // ---------------------------------------------------------------- login and sessions

    /// Checks the password and opens a session. Unknown login and wrong password are the same
    /// error. Failures against an existing account are counted (and audited); the
    /// `failed_logins_max`-th consecutive failure locks the account for `lockout_ms`, during
    /// which even the right password gives `account_locked`. Because the counter resets on
    /// lockout, a guesser produces at most `failed_logins_max` audit entries per lockout period.
    pub async fn login(
        &self,
        login: &str,
        password: &str,
        now_ms: i64,
    ) -> AccountResult<(String, User)> {
        let plausible =
            validate_login(login).is_ok() && password.chars().count() <= PASSWORD_LEN_MAX_CHARS;
        let record = if plausible { self.load(login)? } else { None };
        let Some(record) = record else {
            if plausible {
                let dummy = self.dummy_hash().await?;
                let _ = self.verify_password(dummy, password.to_string()).await?;
            }
            return Err(AccountError::BadCredentials);
        };
        if let Some(until_ms) = record.locked_at(now_ms) {
            return Err(AccountError::AccountLocked { until_ms });
        }
        let verified_hash = record.password_hash;
        let password_ok = self
            .verify_password(verified_hash.clone(), password.to_string())
            .await?;

        let (ticket, outcome) = {
            let _guard = self.lock_writes();
            // Re-read: a concurrent attempt may have counted a failure or locked the account
            // while we were hashing.
            let mut record = self.load(login)?.ok_or(AccountError::BadCredentials)?;
            if let Some(until_ms) = record.locked_at(now_ms) {
                return Err(AccountError::AccountLocked { until_ms });
            }
            if record.password_hash != verified_hash {
                // The password was changed while we were verifying the old one.
                return Err(AccountError::BadCredentials);
            }
            let mut batch = WriteBatch::new();
            let (input, outcome) = if !password_ok {
                record.failed_attempts = record.failed_attempts.saturating_add(1);
                if record.failed_attempts >= self.limits.failed_logins_max {
                    let until_ms = now_ms.saturating_add(self.limits.lockout_ms);
                    record.failed_attempts = 0;
                    record.locked_until_ms = Some(until_ms);
                    (
                        AuditInput::new(
                            login,
                            "account.locked",
                            login,
                            json!({
                                "failed_attempts": self.limits.failed_logins_max,
                                "locked_until_ms": until_ms,
                            }),
                        ),
                        Err(AccountError::AccountLocked { until_ms }),
                    )
                } else {
                    (
                        AuditInput::new(
                            login,
                            "account.login_failed",
                            login,
                            json!({ "failed_attempts": record.failed_attempts }),
                        ),
                        Err(AccountError::BadCredentials),
                    )
                }
            } else if record.disabled {
                // Only told to someone who knows the password.
                return Err(AccountError::AccountDisabled);
            } else {
                record.failed_attempts = 0;
                record.locked_until_ms = None;
                let token = generate_session_token();
                let expires_at = now_ms.saturating_add(self.limits.session_ttl_ms);
                let session = SessionRecord {
                    login: login.to_string(),
                    expires_at,
                };
                batch.put(session_key(&token_digest(&token)), encode(&session)?);
                (
                    AuditInput::new(
                        login,
                        "account.login",
                        login,
                        json!({ "session_expires_at": expires_at }),
                    ),
                    Ok((token, record.user())),
                )
            };
            batch.put(account_key(login), encode(&record)?);
            let ticket = self.audit.record(&self.gc, batch, input, now_ms)?;
            (ticket, outcome)
        };
        self.gc.wait_async(ticket).await?;
        outcome
    }

    /// Resolves a session token to the account's *current* state (roles changed by an admin
    /// apply immediately). Served from memory after the first request of a session.
    pub fn authenticate(&self, token: &str, now_ms: i64) -> AccountResult<User> {
        let digest = parse_token(token)?;
        let generation = {
            let mut cache = self.lock_sessions();
            if let Some(hit) = cache.entries.get(&digest) {
                if now_ms >= hit.expires_at {
                    cache.entries.pop(&digest);
                    return Err(AccountError::InvalidSession);
                }
                return Ok(hit.user.clone());
            }
            cache.generation
        };

        let session: SessionRecord = match self.store.get(&session_key(&digest))? {
            Some(bytes) => decode(&bytes, "a session")?,
            None => return Err(AccountError::InvalidSession),
        };
        if now_ms >= session.expires_at {
            return Err(AccountError::InvalidSession);
        }
        let record = self
            .load(&session.login)?
            .ok_or(AccountError::InvalidSession)?;
        if record.disabled {
            // Disabling ends sessions; this only covers a session written concurrently.
            return Err(AccountError::AccountDisabled);
        }
        let user = record.user();
        let mut cache = self.lock_sessions();
        if cache.generation == generation {
            cache.entries.put(
                digest,
                CachedSession {
                    expires_at: session.expires_at,
                    user: user.clone(),
                },
            );
        }
        Ok(user)
    }

    /// Ends a session. Unknown or already ended tokens are not an error: logging out twice is
    /// harmless and must not tell a caller whether a token ever existed.
    pub async fn logout(&self, token: &str, now_ms: i64) -> AccountResult<()> {
        let Ok(digest) = parse_token(token) else {
            return Ok(());
        };
        let ticket = {
            let _guard = self.lock_writes();
            let key = session_key(&digest);
            let session: SessionRecord = match self.store.get(&key)? {
                Some(bytes) => decode(&bytes, "a session")?,
                None => return Ok(()),
            };
            let mut batch = WriteBatch::new();
            batch.delete(key);
            let ticket = self.audit.record(
                &self.gc,
                batch,
                AuditInput::new(
                    session.login.clone(),
                    "account.logout",
                    session.login,
                    serde_json::Value::Null,
                ),
                now_ms,
            )?;
            let mut cache = self.lock_sessions();
            cache.entries.pop(&digest);
            cache.generation += 1;
            ticket
        };
        self.gc.wait_async(ticket).await?;
        Ok(())
    }

    /// Deletes expired session records; the shell calls this periodically. Returns how many
    /// were removed.
    pub async fn purge_expired_sessions(&self, now_ms: i64) -> AccountResult<usize> {
        let ticket = {
            let _guard = self.lock_writes();
            let mut batch = WriteBatch::new();
            let mut removed = 0usize;
            for (key, value) in self.store.scan_prefix(SESSION_KEY_PREFIX.as_bytes())? {
                // An unreadable session record can never authenticate anyone; remove it too.
                let expired = serde_json::from_slice::<SessionRecord>(&value)
                    .map(|s| now_ms >= s.expires_at)
                    .unwrap_or(true);
                if expired {
                    batch.delete(key);
                    removed += 1;
                }
            }
            if removed == 0 {
                return Ok(0);
            }
            let ticket = self.audit.record(
                &self.gc,
                batch,
                AuditInput::new(
                    SYSTEM_ACTOR,
                    "session.purge_expired",
                    "sessions",
                    json!({ "removed": removed }),
                ),
                now_ms,
            )?;
            (ticket, removed)
        };
        self.gc.wait_async(ticket.0).await?;
        Ok(ticket.1)
    }

    // ---------------------------------------------------------------- internals

    fn lock_writes(&self) -> MutexGuard<'_, ()> {
        self.write_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn lock_sessions(&self) -> MutexGuard<'_, SessionCache> {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Drops every cached session of `login`. Called after the write is applied to the store.
    fn invalidate_login(&self, login: &str) {
        let mut cache = self.lock_sessions();
        let stale: Vec<[u8; 32]> = cache
            .entries
            .iter()
            .filter(|(_, s)| s.user.login == login)
            .map(|(k, _)| *k)
            .collect();
        for key in stale {
            cache.entries.pop(&key);
        }
        cache.generation += 1;
    }

    fn load(&self, login: &str) -> AccountResult<Option<AccountRecord>> {
        match self.store.get(&account_key(login))? {
            Some(bytes) => Ok(Some(decode(&bytes, "an account")?)),
            None => Ok(None),
        }
    }

    fn all_records(&self) -> AccountResult<Vec<AccountRecord>> {
        self.store
            .scan_prefix(ACCOUNT_KEY_PREFIX.as_bytes())?
            .iter()
            .map(|(_, v)| decode(v, "an account"))
            .collect()
    }

    fn ensure_other_enabled_admin(&self, login: &str) -> AccountResult<()> {
        let others = self
            .all_records()?
            .iter()
            .filter(|r| r.login != login && r.is_enabled_admin())
            .count();
        if others == 0 {
            return Err(AccountError::LastAdmin);
        }
        Ok(())
    }

    fn session_keys_of(&self, login: &str) -> AccountResult<Vec<Vec<u8>>> {
        Ok(self
            .store
            .scan_prefix(SESSION_KEY_PREFIX.as_bytes())?
            .into_iter()
            .filter(|(_, v)| {
                serde_json::from_slice::<SessionRecord>(v)
                    .map(|s| s.login == login)
                    .unwrap_or(false)
            })
            .map(|(k, _)| k)
            .collect())
    }

    fn argon2(&self) -> AccountResult<Argon2<'static>> {
        let params = Params::new(
            self.limits.argon2_memory_kib,
            self.limits.argon2_iterations,
            self.limits.argon2_lanes,
            None,
        )
        .map_err(|e| AccountError::Internal(format!("invalid argon2 parameters: {e}")))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }

    /// argon2 takes tens of milliseconds of CPU; it runs on the blocking pool so it never stalls
    /// the async workers that serve the hot path.
    async fn hash_password(&self, password: String) -> AccountResult<String> {
        let argon2 = self.argon2()?;
        tokio::task::spawn_blocking(move || {
            let mut salt_bytes = [0u8; 16];
            rand::rngs::OsRng.fill_bytes(&mut salt_bytes);
            let salt = SaltString::encode_b64(&salt_bytes)
                .map_err(|e| AccountError::Internal(format!("encoding a salt: {e}")))?;
            argon2
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| AccountError::Internal(format!("hashing a password: {e}")))
        })
        .await
        .map_err(|e| AccountError::Internal(format!("the hashing task failed: {e}")))?
    }

    /// Verifies with the parameters stored in the hash itself.
    async fn verify_password(&self, phc: String, password: String) -> AccountResult<bool> {
        tokio::task::spawn_blocking(move || {
            let parsed = PasswordHash::new(&phc)
                .map_err(|e| AccountError::Corrupt(format!("a password hash: {e}")))?;
            Ok(Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok())
        })
        .await
        .map_err(|e| AccountError::Internal(format!("the verification task failed: {e}")))?
    }

    async fn dummy_hash(&self) -> AccountResult<String> {
        if let Some(hash) = self.dummy_hash.get() {
            return Ok(hash.clone());
        }
        let hash = self.hash_password(generate_one_time_password()).await?;
        Ok(self.dummy_hash.get_or_init(|| hash).clone())
    }
}

// -------------------------------------------------------------------- validation

fn validate_login(login: &str) -> AccountResult<()> {
    let ok = (LOGIN_LEN_MIN_CHARS..=LOGIN_LEN_MAX_CHARS).contains(&login.len())
        && login.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        });
    if ok {
        Ok(())
    } else {
        Err(AccountError::InvalidLogin)
    }
}

fn validate_password(password: &str) -> AccountResult<()> {
    let len = password.chars().count();
    if len < PASSWORD_LEN_MIN_CHARS {
        return Err(AccountError::WeakPassword(
            "must be at least 10 characters long",
        ));
    }
    if len > PASSWORD_LEN_MAX_CHARS {
        return Err(AccountError::WeakPassword(
            "must be at most 128 characters long",
        ));
    }
    if password.trim().is_empty() {
        return Err(AccountError::WeakPassword("must not be only spaces"));
    }
    Ok(())
}

/// Trimmed, 1..=max chars, no control characters (they break logs, CSV exports and the console).
fn validate_text(field: &'static str, value: &str, max_chars: usize) -> AccountResult<String> {
    let value = value.trim();
    let invalid = |reason: String| AccountError::InvalidField { field, reason };
    if value.is_empty() {
        return Err(invalid("must not be empty".into()));
    }
    if value.chars().count() > max_chars {
        return Err(invalid(format!("must be at most {max_chars} characters")));
    }
    if value.chars().any(char::is_control) {
        return Err(invalid("must not contain control characters".into()));
    }
    Ok(value.to_string())
}

fn validate_full_name(full_name: &str) -> AccountResult<String> {
    validate_text("full_name", full_name, FULL_NAME_LEN_MAX_CHARS)
}

fn validate_district(district: Option<&str>) -> AccountResult<Option<String>> {
    district
        .map(|d| validate_text("district", d, DISTRICT_LEN_MAX_CHARS))
        .transpose()
}

fn validate_roles(roles: Vec<Role>) -> AccountResult<Vec<Role>> {
    let roles: Vec<Role> = roles
        .into_iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if roles.is_empty() {
        return Err(AccountError::InvalidField {
            field: "roles",
            reason: "at least one role is required".into(),
        });
    }
    Ok(roles)
}

// -------------------------------------------------------------------- encoding helpers

fn account_key(login: &str) -> Vec<u8> {
    format!("{ACCOUNT_KEY_PREFIX}{login}").into_bytes()
}

fn session_key(digest: &[u8; 32]) -> Vec<u8> {
    format!("{SESSION_KEY_PREFIX}{}", hex::encode(digest)).into_bytes()
}

fn token_digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Rejects anything that is not a well-formed token before hashing or touching storage.
fn parse_token(token: &str) -> AccountResult<[u8; 32]> {
    if token.len() != SESSION_TOKEN_LEN_CHARS
        || !token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(AccountError::InvalidSession);
    }
    Ok(token_digest(token))
}

fn encode<T: Serialize>(value: &T) -> AccountResult<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| AccountError::Internal(format!("encoding: {e}")))
}

fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8], what: &str) -> AccountResult<T> {
    serde_json::from_slice(bytes).map_err(|e| AccountError::Corrupt(format!("{what}: {e}")))
}

fn role_names(roles: &[Role]) -> Vec<&'static str> {
    roles.iter().map(|r| r.as_str()).collect()
}

/// 32 bytes from the OS CSPRNG, base64url without padding.
pub fn generate_session_token() -> String {
    let mut bytes = [0u8; SESSION_TOKEN_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A 16-character password from an unambiguous alphabet (~93 bits), from the OS CSPRNG.
pub fn generate_one_time_password() -> String {
    generate_password_with(&mut rand::rngs::OsRng)
}

fn generate_password_with(rng: &mut impl RngCore) -> String {
    use rand::Rng;
    (0..GENERATED_PASSWORD_LEN_CHARS)
        .map(|_| {
            GENERATED_PASSWORD_ALPHABET[rng.gen_range(0..GENERATED_PASSWORD_ALPHABET.len())] as char
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit;
    use crate::store::SledStore;

    const T0: i64 = 1_750_000_000_000;
    const GOOD_PASSWORD: &str = "correct horse 102";

    struct Fixture {
        _dir: tempfile::TempDir,
        store: Arc<dyn Store>,
        accounts: Accounts,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path(), 8 << 20).unwrap());
        let gc = Arc::new(GroupCommit::new(store.clone()));
        let audit = Arc::new(AuditLog::open(store.clone()).unwrap());
        let limits = AccountLimits {
            argon2_memory_kib: 1024,
            argon2_iterations: 1,
            failed_logins_max: 3,
            ..AccountLimits::default()
        };
        let accounts = Accounts::new(store.clone(), gc, audit, limits);
        Fixture {
            _dir: dir,
            store,
            accounts,
        }
    }

    async fn with_admin() -> Fixture {
        let f = fixture();
        f.accounts
            .bootstrap_admin(Some(GOOD_PASSWORD.into()), T0)
            .await
            .unwrap();
        f
    }

    fn new_account(login: &str, roles: Vec<Role>) -> NewAccount {
        NewAccount {
            login: login.into(),
            full_name: "Сынақов Ерлан".into(),
            password: GOOD_PASSWORD.into(),
            roles,
            district: Some("Алматинский район".into()),
        }
    }

    fn audit_actions(store: &Arc<dyn Store>) -> Vec<(String, String, String)> {
        let mut entries = audit::list_recent(store.as_ref(), 1000).unwrap();
        entries.reverse();
        entries
            .into_iter()
            .map(|e| (e.actor, e.action, e.target))
            .collect()
    }

    fn assert_code<T: fmt::Debug>(result: AccountResult<T>, code: &str) {
        match result {
            Err(e) => assert_eq!(e.code(), code, "{e}"),
            Ok(v) => panic!("expected {code}, got Ok({v:?})"),
        }
    }

    #[tokio::test]
    async fn r18_admin_creates_edits_disables_deletes_account() {
        let f = with_admin().await;
        let a = &f.accounts;
        let user = a
            .create(
                "admin",
                new_account("op.ivanova", vec![Role::CallTaker, Role::CallTaker]),
                T0,
            )
            .await
            .unwrap();
        assert_eq!(user.roles, vec![Role::CallTaker]);
        assert_code(
            a.create("admin", new_account("op.ivanova", vec![Role::Patrol]), T0)
                .await,
            "login_taken",
        );

        let (token, _) = a.login("op.ivanova", GOOD_PASSWORD, T0 + 1).await.unwrap();
        assert_eq!(
            a.authenticate(&token, T0 + 2).unwrap().roles,
            vec![Role::CallTaker]
        );

        let patch = AccountPatch {
            full_name: Some("  Сынақова Айгерім  ".into()),
            roles: Some(vec![Role::Dispatcher, Role::CallTaker]),
            district: Some(String::new()),
            ..AccountPatch::default()
        };
        let user = a
            .update("admin", "op.ivanova", patch, T0 + 3)
            .await
            .unwrap();
        assert_eq!(user.full_name, "Сынақова Айгерім");
        assert_eq!(user.district, None);
        // The role change applies to the open session at once, not at the next login.
        assert_eq!(
            a.authenticate(&token, T0 + 4).unwrap().roles,
            vec![Role::CallTaker, Role::Dispatcher]
        );

        let disable = AccountPatch {
            disabled: Some(true),
            ..AccountPatch::default()
        };
        assert!(
            a.update("admin", "op.ivanova", disable, T0 + 5)
                .await
                .unwrap()
                .disabled
        );
        assert_code(a.authenticate(&token, T0 + 6), "invalid_session");

        a.delete("admin", "op.ivanova", T0 + 7).await.unwrap();
        assert_code(a.get("op.ivanova"), "not_found");
        assert_code(a.delete("admin", "op.ivanova", T0 + 8).await, "not_found");
        let logins: Vec<String> = a.list().unwrap().into_iter().map(|u| u.login).collect();
        assert_eq!(logins, vec!["admin".to_string()]);
        assert!(audit::verify(f.store.as_ref()).unwrap().is_ok());
    }

    #[tokio::test]
    async fn r18_lockout_after_repeated_failures() {
        let f = with_admin().await;
        let a = &f.accounts;
        a.create("admin", new_account("disp.01", vec![Role::Dispatcher]), T0)
            .await
            .unwrap();
        // A success resets the counter: two failures, a success, two failures → not locked.
        for i in 0..2 {
            assert_code(
                a.login("disp.01", "wrong password!", T0 + i).await,
                "bad_credentials",
            );
        }
        a.login("disp.01", GOOD_PASSWORD, T0 + 2).await.unwrap();
        for i in 0..2 {
            assert_code(
                a.login("disp.01", "wrong password!", T0 + 3 + i).await,
                "bad_credentials",
            );
        }
        // Third consecutive failure (failed_logins_max = 3) locks.
        assert_code(
            a.login("disp.01", "wrong password!", T0 + 10).await,
            "account_locked",
        );
        // Locked: even the right password is refused.
        assert_code(
            a.login("disp.01", GOOD_PASSWORD, T0 + 11).await,
            "account_locked",
        );
        let lockout_ms = a.limits().lockout_ms;
        assert_code(
            a.login("disp.01", GOOD_PASSWORD, T0 + 10 + lockout_ms - 1)
                .await,
            "account_locked",
        );
        // After the lockout the right password works again.
        a.login("disp.01", GOOD_PASSWORD, T0 + 10 + lockout_ms)
            .await
            .unwrap();

        // An unknown login looks exactly like a wrong password.
        assert_code(
            a.login("nobody", GOOD_PASSWORD, T0).await,
            "bad_credentials",
        );
        assert_code(
            a.login("NOT VALID", GOOD_PASSWORD, T0).await,
            "bad_credentials",
        );

        // An admin setting a new password lifts a lockout.
        for i in 0..3 {
            let _ = a
                .login("disp.01", "wrong password!", T0 + lockout_ms + 100 + i)
                .await;
        }
        assert_code(
            a.login("disp.01", GOOD_PASSWORD, T0 + lockout_ms + 200)
                .await,
            "account_locked",
        );
        let reset = AccountPatch {
            password: Some("a new password 2".into()),
            ..AccountPatch::default()
        };
        a.update("admin", "disp.01", reset, T0 + lockout_ms + 300)
            .await
            .unwrap();
        a.login("disp.01", "a new password 2", T0 + lockout_ms + 301)
            .await
            .unwrap();

        let actions = audit_actions(&f.store);
        assert!(actions
            .iter()
            .any(|(_, act, t)| act == "account.locked" && t == "disp.01"));
    }

    #[tokio::test]
    async fn r18_disabled_account_cannot_log_in_and_sessions_are_revoked() {
        let f = with_admin().await;
        let a = &f.accounts;
        a.create("admin", new_account("ksp.12", vec![Role::Patrol]), T0)
            .await
            .unwrap();
        let (t1, _) = a.login("ksp.12", GOOD_PASSWORD, T0 + 1).await.unwrap();
        let (t2, _) = a.login("ksp.12", GOOD_PASSWORD, T0 + 2).await.unwrap();
        a.authenticate(&t1, T0 + 3).unwrap(); // cached
        let disable = AccountPatch {
            disabled: Some(true),
            ..AccountPatch::default()
        };
        a.update("admin", "ksp.12", disable, T0 + 4).await.unwrap();
        assert_code(a.authenticate(&t1, T0 + 5), "invalid_session");
        assert_code(a.authenticate(&t2, T0 + 5), "invalid_session");
        assert!(f
            .store
            .scan_prefix(SESSION_KEY_PREFIX.as_bytes())
            .unwrap()
            .is_empty());
        assert_code(
            a.login("ksp.12", GOOD_PASSWORD, T0 + 6).await,
            "account_disabled",
        );
        // A wrong password does not reveal that the account is disabled.
        assert_code(
            a.login("ksp.12", "wrong password!", T0 + 7).await,
            "bad_credentials",
        );

        let enable = AccountPatch {
            disabled: Some(false),
            ..AccountPatch::default()
        };
        a.update("admin", "ksp.12", enable, T0 + 8).await.unwrap();
        let (t3, _) = a.login("ksp.12", GOOD_PASSWORD, T0 + 9).await.unwrap();
        a.authenticate(&t3, T0 + 10).unwrap();

        // Expiry and logout.
        let ttl = a.limits().session_ttl_ms;
        assert_code(a.authenticate(&t3, T0 + 9 + ttl), "invalid_session");
        let (t4, _) = a.login("ksp.12", GOOD_PASSWORD, T0 + 20).await.unwrap();
        a.authenticate(&t4, T0 + 21).unwrap();
        a.logout(&t4, T0 + 22).await.unwrap();
        assert_code(a.authenticate(&t4, T0 + 23), "invalid_session");
        a.logout(&t4, T0 + 24).await.unwrap();
        assert_code(a.authenticate("garbage", T0), "invalid_session");

        assert_eq!(a.purge_expired_sessions(T0 + 9 + ttl).await.unwrap(), 1);

        // Deleting ends sessions as well.
        let (t5, _) = a.login("ksp.12", GOOD_PASSWORD, T0 + 30).await.unwrap();
        a.authenticate(&t5, T0 + 31).unwrap();
        a.delete("admin", "ksp.12", T0 + 32).await.unwrap();
        assert_code(a.authenticate(&t5, T0 + 33), "invalid_session");
        assert!(f
            .store
            .scan_prefix(SESSION_KEY_PREFIX.as_bytes())
            .unwrap()
            .is_empty());
    }

    #[tokio::test]
    async fn r18_last_admin_cannot_be_removed() {
        let f = with_admin().await;
        let a = &f.accounts;
        assert_code(a.delete("admin", "admin", T0).await, "last_admin");
        let disable = AccountPatch {
            disabled: Some(true),
            ..AccountPatch::default()
        };
        assert_code(
            a.update("admin", "admin", disable.clone(), T0).await,
            "last_admin",
        );
        let demote = AccountPatch {
            roles: Some(vec![Role::Supervisor]),
            ..AccountPatch::default()
        };
        assert_code(
            a.update("admin", "admin", demote.clone(), T0).await,
            "last_admin",
        );

        // A disabled second admin does not count.
        a.create("admin", new_account("dcii.admin2", vec![Role::Admin]), T0)
            .await
            .unwrap();
        a.update("admin", "dcii.admin2", disable.clone(), T0)
            .await
            .unwrap();
        assert_code(a.delete("admin", "admin", T0).await, "last_admin");

        // With another enabled admin the first one can go.
        let enable = AccountPatch {
            disabled: Some(false),
            ..AccountPatch::default()
        };
        a.update("admin", "dcii.admin2", enable, T0).await.unwrap();
        a.update("dcii.admin2", "admin", demote, T0).await.unwrap();
        assert_code(
            a.delete("dcii.admin2", "dcii.admin2", T0).await,
            "last_admin",
        );
        a.delete("dcii.admin2", "admin", T0).await.unwrap();
        assert_eq!(a.list().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn r18_weak_password_and_bad_login_are_rejected_and_nothing_stored() {
        let f = with_admin().await;
        let a = &f.accounts;
        let audit_before = audit::list_recent(f.store.as_ref(), 1000).unwrap().len();
        let accounts_before = a.list().unwrap();

        let check = |req: NewAccount, code: &'static str, field: Option<&'static str>| {
            let a = &f.accounts;
            async move {
                let err = a.create("admin", req, T0).await.unwrap_err();
                assert_eq!((err.code(), err.field()), (code, field), "{err}");
                assert!(!err.to_string().is_empty());
            }
        };
        let mut req = new_account("op.short", vec![Role::CallTaker]);
        req.password = "short".into();
        check(req, "weak_password", Some("password")).await;
        let mut req = new_account("op.long", vec![Role::CallTaker]);
        req.password = "x".repeat(PASSWORD_LEN_MAX_CHARS + 1);
        check(req, "weak_password", Some("password")).await;
        let mut req = new_account("op.space", vec![Role::CallTaker]);
        req.password = " ".repeat(12);
        check(req, "weak_password", Some("password")).await;
        let too_long = "a".repeat(33);
        for login in [
            "Op.Upper",
            "ab",
            too_long.as_str(),
            "op ivanova",
            "оператор",
            "op/x",
            "",
        ] {
            check(
                new_account(login, vec![Role::CallTaker]),
                "invalid_login",
                Some("login"),
            )
            .await;
        }
        check(
            new_account("op.noroles", vec![]),
            "invalid_field",
            Some("roles"),
        )
        .await;
        let mut req = new_account("op.noname", vec![Role::CallTaker]);
        req.full_name = "   ".into();
        check(req, "invalid_field", Some("full_name")).await;
        let mut req = new_account("op.longname", vec![Role::CallTaker]);
        req.full_name = "я".repeat(FULL_NAME_LEN_MAX_CHARS + 1);
        check(req, "invalid_field", Some("full_name")).await;
        let mut req = new_account("op.ctrl", vec![Role::CallTaker]);
        req.district = Some("a\u{0}b".into());
        check(req, "invalid_field", Some("district")).await;

        // Bad patches change nothing either.
        let weak = AccountPatch {
            password: Some("short".into()),
            full_name: Some("Valid Name".into()),
            ..AccountPatch::default()
        };
        assert_code(a.update("admin", "admin", weak, T0).await, "weak_password");
        assert_code(
            a.update("admin", "ghost", AccountPatch::default(), T0)
                .await,
            "not_found",
        );

        assert_eq!(a.list().unwrap(), accounts_before);
        assert_eq!(
            audit::list_recent(f.store.as_ref(), 1000).unwrap().len(),
            audit_before
        );
        // The boundary itself is accepted.
        let mut req = new_account("op.edge", vec![Role::CallTaker]);
        req.password = "x".repeat(PASSWORD_LEN_MIN_CHARS);
        a.create("admin", req, T0).await.unwrap();
    }

    #[tokio::test]
    async fn r18_every_account_change_is_audited() {
        let f = fixture();
        let a = &f.accounts;
        let generated = a.bootstrap_admin(None, T0).await.unwrap().unwrap();
        assert_eq!(generated.chars().count(), GENERATED_PASSWORD_LEN_CHARS);
        assert_eq!(a.bootstrap_admin(None, T0 + 1).await.unwrap(), None);

        let (admin_token, admin) = a.login("admin", &generated, T0 + 2).await.unwrap();
        assert_eq!(admin.roles, vec![Role::Admin]);
        a.create(
            "admin",
            new_account("duty.07", vec![Role::DutyOfficer]),
            T0 + 3,
        )
        .await
        .unwrap();
        let patch = AccountPatch {
            roles: Some(vec![Role::DutyOfficer, Role::Supervisor]),
            ..AccountPatch::default()
        };
        a.update("admin", "duty.07", patch, T0 + 4).await.unwrap();
        // A no-op patch writes nothing and records nothing.
        let same = AccountPatch {
            roles: Some(vec![Role::Supervisor, Role::DutyOfficer]),
            ..AccountPatch::default()
        };
        a.update("admin", "duty.07", same, T0 + 5).await.unwrap();
        let _ = a.login("duty.07", "wrong password!", T0 + 6).await;
        a.delete("admin", "duty.07", T0 + 7).await.unwrap();
        a.logout(&admin_token, T0 + 8).await.unwrap();

        let expected: Vec<(String, String, String)> = [
            ("system", "account.create", "admin"),
            ("admin", "account.login", "admin"),
            ("admin", "account.create", "duty.07"),
            ("admin", "account.update", "duty.07"),
            ("duty.07", "account.login_failed", "duty.07"),
            ("admin", "account.delete", "duty.07"),
            ("admin", "account.logout", "admin"),
        ]
        .into_iter()
        .map(|(x, y, z)| (x.to_string(), y.to_string(), z.to_string()))
        .collect();
        assert_eq!(audit_actions(&f.store), expected);

        // No password or hash ever reaches the audit log.
        for entry in audit::list_recent(f.store.as_ref(), 1000).unwrap() {
            let text = entry.details.to_string();
            assert!(
                !text.contains(&generated)
                    && !text.contains(GOOD_PASSWORD)
                    && !text.contains("argon2")
            );
        }
        let report = audit::verify(f.store.as_ref()).unwrap();
        assert!(report.is_ok(), "{:?}", report.problems);
    }

    #[test]
    fn generated_passwords_use_the_unambiguous_alphabet() {
        use rand::SeedableRng;
        let mut rng = rand::rngs::StdRng::seed_from_u64(102);
        let p = generate_password_with(&mut rng);
        assert_eq!(p.len(), GENERATED_PASSWORD_LEN_CHARS);
        assert!(p.bytes().all(|b| GENERATED_PASSWORD_ALPHABET.contains(&b)));
        assert!(validate_password(&p).is_ok());
        let token = generate_session_token();
        assert_eq!(token.len(), SESSION_TOKEN_LEN_CHARS);
        assert!(parse_token(&token).is_ok());
    }
}
