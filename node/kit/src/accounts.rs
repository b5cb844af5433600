//! Staff accounts, roles, sessions and login throttling (R18).
//!
//! Accounts are created and changed only by an admin (ДЦИИ); every change, every successful login,
//! every counted failure and every throttle goes through the audit log in the same atomic batch as
//! the change itself, with the acting login as `actor`.
//!
//! Passwords an administrator sets (and the bootstrap password) are temporary: the first login
//! must set a new one ([`Accounts::change_password`]); until then the session can do nothing
//! else. New passwords must pass a strength estimate (zxcvbn) and differ from the login.
//!
//! Wrong passwords are throttled per *source and account*: after `failed_logins_max` failures
//! from one address the next attempts from that address wait an exponential back-off (up to
//! `lockout_ms`), while the account's owner at their own workstation logs in as usual — an
//! anonymous script cannot lock anybody out. A source that fails across many logins is throttled
//! as a whole. Every throttle is audited and an administrator can lift it ([`Accounts::unlock`]).
//!
//! Layout in the shared key space:
//! - `acct/u/{login}` → JSON [`AccountRecord`] (public fields + argon2 PHC hash + throttles);
//! - `acct/s/{hex(sha256(token))}` → JSON session `{login, expires_at}`. Only the token's hash is
//!   stored, so a copy of the database does not hand out live sessions.
//!
//! `authenticate` runs on every HTTP request, so sessions are cached in memory; every write that
//! can change what a session may do (update, delete, logout) invalidates the cache *after* the
//! write is visible in the store, and a generation counter keeps a slow cache miss from
//! re-inserting a session that was invalidated while it was reading.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::IpAddr;
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

/// Lowest zxcvbn score (0–4) a new password must reach: 3 is "safely unguessable" against an
/// online attack and a slowed offline one.
pub const PASSWORD_STRENGTH_SCORE_MIN: u8 = 3;
/// Sources whose failures are remembered per account; the oldest is forgotten beyond this.
pub const THROTTLED_SOURCES_PER_ACCOUNT_MAX: usize = 64;
/// Sources whose failures across all logins are remembered in memory.
pub const THROTTLED_SOURCES_MAX: usize = 100_000;
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
    /// Failed logins from one source for one account before that source must wait.
    pub failed_logins_max: u32,
    /// The longest wait (back-off) imposed on a source.
    pub lockout_ms: i64,
    /// The first wait; each further failure doubles it, up to `lockout_ms`.
    pub backoff_initial_ms: i64,
    /// Failed logins from one source across all logins before the whole source must wait.
    pub source_failed_logins_max: u32,
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
            backoff_initial_ms: 30 * 1000,
            source_failed_logins_max: 20,
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
    /// The password was set by an administrator (or is the bootstrap one): the next step is to
    /// set a new one; nothing else is allowed until then.
    #[serde(default)]
    pub must_change_password: bool,
    /// A patrol account's unit when no roster entry names it (set by an admin or dispatcher).
    #[serde(default)]
    pub unit_id: Option<String>,
    /// The service (appeals' competence unit, reference `services`) an appeals manager or
    /// officer works for.
    #[serde(default)]
    pub service: Option<String>,
}

impl User {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

/// Request to create an account. The password is temporary: its owner sets their own at the
/// first login.
#[derive(Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    #[schema(min_length = 3, max_length = 32, pattern = r"^[a-z0-9._-]{3,32}$")]
    pub login: String,
    #[schema(min_length = 1, max_length = 200)]
    pub full_name: String,
    #[schema(min_length = 10, max_length = 128)]
    pub password: String,
    pub roles: Vec<Role>,
    #[serde(default)]
    pub district: Option<String>,
    /// The service an appeals manager or officer works for.
    #[serde(default)]
    pub service: Option<String>,
}

impl fmt::Debug for NewAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewAccount")
            .field("login", &self.login)
            .field("full_name", &self.full_name)
            .field("password", &"<redacted>")
            .field("roles", &self.roles)
            .field("district", &self.district)
            .field("service", &self.service)
            .finish()
    }
}

/// Partial update; absent fields stay as they are. `district: ""` removes the district.
/// Setting a password (a temporary one, set again by its owner at the next login) also lifts
/// every throttle and ends the account's sessions.
#[derive(Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountPatch {
    #[serde(default)]
    #[schema(min_length = 1, max_length = 200)]
    pub full_name: Option<String>,
    #[serde(default)]
    pub roles: Option<Vec<Role>>,
    #[serde(default)]
    pub disabled: Option<bool>,
    #[serde(default)]
    #[schema(min_length = 10, max_length = 128)]
    pub password: Option<String>,
    #[serde(default)]
    pub district: Option<String>,
    /// `""` removes the service.
    #[serde(default)]
    pub service: Option<String>,
}

impl fmt::Debug for AccountPatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountPatch")
            .field("full_name", &self.full_name)
            .field("roles", &self.roles)
            .field("disabled", &self.disabled)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("district", &self.district)
            .field("service", &self.service)
            .finish()
    }
}

#[derive(Debug, Error)]
pub enum AccountError {
    #[error("the login must be {LOGIN_LEN_MIN_CHARS} to {LOGIN_LEN_MAX_CHARS} characters of a-z, 0-9, '.', '_' or '-'")]
    InvalidLogin,
    #[error("the password {0}")]
    WeakPassword(String),
    #[error("{field}: {reason}")]
    InvalidField { field: &'static str, reason: String },
    #[error("an account with this login already exists")]
    LoginTaken,
    #[error("no such account")]
    NotFound,
    #[error("wrong login or password")]
    BadCredentials,
    #[error("too many failed logins from this address; try again in {} s or ask an administrator to unlock the account", (retry_after_ms + 999) / 1000)]
    Throttled { retry_after_ms: i64 },
    #[error("set a new password first: the current one was set by an administrator")]
    PasswordChangeRequired,
    #[error("the current password is wrong")]
    WrongCurrentPassword,
    #[error("the role {0} cannot be given on this server")]
    RoleNotHere(&'static str),
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
            AccountError::Throttled { .. } => "login_throttled",
            AccountError::PasswordChangeRequired => "password_change_required",
            AccountError::WrongCurrentPassword => "wrong_password",
            AccountError::RoleNotHere(_) => "invalid_field",
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
            AccountError::WrongCurrentPassword => Some("current_password"),
            AccountError::RoleNotHere(_) => Some("roles"),
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
    /// The password was set by an administrator or is the bootstrap one.
    #[serde(default)]
    must_change_password: bool,
    /// A patrol account's unit when no roster entry names it.
    #[serde(default)]
    unit_id: Option<String>,
    /// The appeals service the person works for.
    #[serde(default)]
    service: Option<String>,
    /// Failed logins by source address (at most [`THROTTLED_SOURCES_PER_ACCOUNT_MAX`]).
    #[serde(default)]
    throttles: BTreeMap<String, Throttle>,
}

/// Failed logins from one source (against one account, or across all of them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Throttle {
    failures: u32,
    last_failure_at: i64,
    /// Attempts are refused without a password check until then.
    blocked_until: i64,
}

impl Throttle {
    fn blocked(&self, now_ms: i64) -> Option<i64> {
        (now_ms < self.blocked_until).then_some(self.blocked_until - now_ms)
    }

    /// Counts a failure; returns the wait it starts, if it starts one. Failures older than the
    /// longest wait are forgotten first, so a typo once a week never adds up.
    fn fail(&mut self, now_ms: i64, free: u32, limits: &AccountLimits) -> Option<i64> {
        if now_ms - self.last_failure_at > limits.lockout_ms.saturating_mul(2) {
            self.failures = 0;
        }
        self.failures = self.failures.saturating_add(1);
        self.last_failure_at = now_ms;
        if self.failures <= free {
            return None;
        }
        let doublings = (self.failures - free - 1).min(30);
        let wait = limits
            .backoff_initial_ms
            .saturating_mul(1i64 << doublings)
            .min(limits.lockout_ms)
            .max(1);
        self.blocked_until = now_ms + wait;
        Some(wait)
    }
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
            must_change_password: self.must_change_password,
            unit_id: self.unit_id.clone(),
            service: self.service.clone(),
        }
    }

    fn is_enabled_admin(&self) -> bool {
        !self.disabled && self.roles.contains(&Role::Admin)
    }

    /// Remembers a failure from `source`; returns the wait it starts, if any.
    fn fail_from(&mut self, source: &str, now_ms: i64, limits: &AccountLimits) -> Option<i64> {
        if !self.throttles.contains_key(source)
            && self.throttles.len() >= THROTTLED_SOURCES_PER_ACCOUNT_MAX
        {
            if let Some(oldest) = self
                .throttles
                .iter()
                .min_by_key(|(_, t)| t.last_failure_at)
                .map(|(k, _)| k.clone())
            {
                self.throttles.remove(&oldest);
            }
        }
        self.throttles.entry(source.to_string()).or_default().fail(
            now_ms,
            limits.failed_logins_max,
            limits,
        )
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

/// A resolved session: who, and until when.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    pub expires_at: i64,
}

struct SessionCache {
    entries: lru::LruCache<[u8; 32], CachedSession>,
    /// Bumped on every invalidation; a cache miss only inserts if it is unchanged.
    generation: u64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
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
    /// Roles this server gives (a node's staff, or HQ's).
    assignable: &'static [Role],
    /// Failures per source across all logins (unknown logins included), in memory.
    sources: Mutex<lru::LruCache<IpAddr, Throttle>>,
    /// Bumped whenever sessions may have ended or changed (logout, disable, delete, password
    /// or role change): live streams re-check their session.
    session_changes: tokio::sync::watch::Sender<u64>,
}

impl Accounts {
    pub fn new(
        store: Arc<dyn Store>,
        gc: Arc<GroupCommit>,
        audit: Arc<AuditLog>,
        limits: AccountLimits,
        assignable: &'static [Role],
    ) -> Self {
        let cache_entries =
            NonZeroUsize::new(SESSION_CACHE_ENTRIES_MAX).unwrap_or(NonZeroUsize::MIN);
        let sources = NonZeroUsize::new(THROTTLED_SOURCES_MAX).unwrap_or(NonZeroUsize::MIN);
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
            assignable,
            sources: Mutex::new(lru::LruCache::new(sources)),
            session_changes: tokio::sync::watch::channel(0).0,
        }
    }

    /// Changes whenever a session may have ended or changed what it may do.
    pub fn session_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.session_changes.subscribe()
    }

    /// Roles this server gives.
    pub fn assignable_roles(&self) -> &'static [Role] {
        self.assignable
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
        validate_password(&req.password, &req.login, &full_name)?;
        let roles = self.validate_roles(req.roles)?;
        let district = validate_district(req.district.as_deref())?;
        let service =
            validate_district(req.service.as_deref()).map_err(|e| rename_field(e, "service"))?;
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
            must_change_password: true,
            unit_id: None,
            service,
            throttles: BTreeMap::new(),
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
                "service": record.service,
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
        // A password an administrator sets for someone else is temporary.
        let temporary = actor != login;
        self.update_with(actor, login, patch, temporary, now_ms)
            .await
    }

    /// [`Accounts::update`] choosing whether a new password is temporary (the server's own
    /// administrator at the command line may set a permanent one).
    pub async fn update_with(
        &self,
        actor: &str,
        login: &str,
        patch: AccountPatch,
        temporary_password: bool,
        now_ms: i64,
    ) -> AccountResult<User> {
        let full_name = patch
            .full_name
            .as_deref()
            .map(validate_full_name)
            .transpose()?;
        let roles = patch.roles.map(|r| self.validate_roles(r)).transpose()?;
        let district = match patch.district.as_deref() {
            None => None,
            Some(d) if d.trim().is_empty() => Some(None),
            Some(d) => Some(validate_district(Some(d))?),
        };
        let service = match patch.service.as_deref() {
            None => None,
            Some(d) if d.trim().is_empty() => Some(None),
            Some(d) => Some(validate_district(Some(d)).map_err(|e| rename_field(e, "service"))?),
        };
        let Some(current) = self.load(login)? else {
            return Err(AccountError::NotFound);
        };
        if let Some(password) = &patch.password {
            validate_password(
                password,
                login,
                full_name.as_deref().unwrap_or(&current.full_name),
            )?;
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
            if let Some(service) = service.filter(|d| *d != old.service) {
                new.service = service;
                changed.push("service");
            }
            if let Some(disabled) = patch.disabled.filter(|d| *d != old.disabled) {
                new.disabled = disabled;
                changed.push("disabled");
            }
            if let Some(hash) = password_hash {
                new.password_hash = hash;
                new.throttles.clear();
                new.must_change_password = temporary_password;
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
                "service": new.service,
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
            service: None,
        };
        // The bootstrap password is temporary like any other an administrator hands out: the
        // first login sets the administrator's own.
        match self.create(SYSTEM_ACTOR, req, now_ms).await {
            Ok(_) => Ok(generated),
            // Another bootstrap won the race; its password is the one that counts.
            Err(AccountError::LoginTaken) => Ok(None),
            Err(e) => Err(e),
        }
    }

    // ---------------------------------------------------------------- login and sessions

    /// Checks the password and opens a session. Unknown login and wrong password are the same
    /// error. Failures are counted per `source` and account (and per source across accounts):
    /// past the free allowance the source waits an exponential back-off, refused without a
    /// password check, while other sources log in as usual. A session opened with a temporary
    /// password can only set a new one (`User::must_change_password`).
    pub async fn login(
        &self,
        login: &str,
        password: &str,
        source: IpAddr,
        now_ms: i64,
    ) -> AccountResult<(String, User)> {
        if let Some(wait) = self.source_blocked(source, now_ms) {
            return Err(AccountError::Throttled {
                retry_after_ms: wait,
            });
        }
        let source_key = source.to_string();
        let plausible =
            validate_login(login).is_ok() && password.chars().count() <= PASSWORD_LEN_MAX_CHARS;
        let record = if plausible { self.load(login)? } else { None };
        let Some(record) = record else {
            if plausible {
                let dummy = self.dummy_hash().await?;
                let _ = self.verify_password(dummy, password.to_string()).await?;
            }
            self.source_failed(source, login, now_ms);
            return Err(AccountError::BadCredentials);
        };
        if let Some(wait) = record
            .throttles
            .get(&source_key)
            .and_then(|t| t.blocked(now_ms))
        {
            return Err(AccountError::Throttled {
                retry_after_ms: wait,
            });
        }
        let verified_hash = record.password_hash;
        let password_ok = self
            .verify_password(verified_hash.clone(), password.to_string())
            .await?;
        if !password_ok {
            self.source_failed(source, login, now_ms);
        }

        let (ticket, outcome) = {
            let _guard = self.lock_writes();
            // Re-read: a concurrent attempt may have counted a failure while we were hashing.
            let mut record = self.load(login)?.ok_or(AccountError::BadCredentials)?;
            if let Some(wait) = record
                .throttles
                .get(&source_key)
                .and_then(|t| t.blocked(now_ms))
            {
                return Err(AccountError::Throttled {
                    retry_after_ms: wait,
                });
            }
            if record.password_hash != verified_hash {
                // The password was changed while we were verifying the old one.
                return Err(AccountError::BadCredentials);
            }
            let mut batch = WriteBatch::new();
            let (input, outcome) = if !password_ok {
                match record.fail_from(&source_key, now_ms, &self.limits) {
                    Some(wait) => {
                        let failures = record.throttles.get(&source_key).map_or(0, |t| t.failures);
                        tracing::warn!(%login, %source, failures, wait_ms = wait, "login throttled");
                        (
                            AuditInput::new(
                                login,
                                "account.throttled",
                                login,
                                json!({
                                    "source": source_key,
                                    "failures": failures,
                                    "blocked_until_ms": now_ms + wait,
                                }),
                            ),
                            Err(AccountError::Throttled {
                                retry_after_ms: wait,
                            }),
                        )
                    }
                    None => (
                        AuditInput::new(
                            login,
                            "account.login_failed",
                            login,
                            json!({
                                "source": source_key,
                                "failures": record.throttles.get(&source_key).map_or(0, |t| t.failures),
                            }),
                        ),
                        Err(AccountError::BadCredentials),
                    ),
                }
            } else if record.disabled {
                // Only told to someone who knows the password.
                return Err(AccountError::AccountDisabled);
            } else {
                record.throttles.remove(&source_key);
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
                        json!({
                            "session_expires_at": expires_at,
                            "source": source_key,
                            "must_change_password": record.must_change_password,
                        }),
                    ),
                    Ok((token, record.user())),
                )
            };
            batch.put(account_key(login), encode(&record)?);
            let ticket = self.audit.record(&self.gc, batch, input, now_ms)?;
            (ticket, outcome)
        };
        self.gc.wait_async(ticket).await?;
        if outcome.is_ok() {
            lock(&self.sources).pop(&source);
        }
        outcome
    }

    /// The wait still imposed on `source` as a whole, if any.
    fn source_blocked(&self, source: IpAddr, now_ms: i64) -> Option<i64> {
        lock(&self.sources)
            .peek(&source)
            .and_then(|t| t.blocked(now_ms))
    }

    fn source_failed(&self, source: IpAddr, login: &str, now_ms: i64) {
        let mut sources = lock(&self.sources);
        let throttle = sources.get_or_insert_mut(source, Throttle::default);
        if let Some(wait) =
            throttle.fail(now_ms, self.limits.source_failed_logins_max, &self.limits)
        {
            // Only a well-formed login goes to the log: anything else is an attacker's text.
            let last_login = if validate_login(login).is_ok() {
                login
            } else {
                "<not a login>"
            };
            tracing::warn!(%source, %last_login, failures = throttle.failures, wait_ms = wait,
                "source throttled after failed logins across accounts");
        }
    }

    /// The owner changes their own password (`token` is their session). Needs the current
    /// password; wrong guesses count like failed logins. Every other session of the account
    /// ends; this one goes on, now without the temporary-password restriction.
    pub async fn change_password(
        &self,
        token: &str,
        current: &str,
        new: &str,
        source: IpAddr,
        now_ms: i64,
    ) -> AccountResult<User> {
        let digest = parse_token(token)?;
        let session = self.authenticate_session(token, now_ms)?;
        let login = session.user.login.clone();
        let record = self.load(&login)?.ok_or(AccountError::InvalidSession)?;
        let source_key = source.to_string();
        if let Some(wait) = record
            .throttles
            .get(&source_key)
            .and_then(|t| t.blocked(now_ms))
        {
            return Err(AccountError::Throttled {
                retry_after_ms: wait,
            });
        }
        if current.chars().count() > PASSWORD_LEN_MAX_CHARS
            || !self
                .verify_password(record.password_hash.clone(), current.to_string())
                .await?
        {
            let ticket = {
                let _guard = self.lock_writes();
                let mut record = self.load(&login)?.ok_or(AccountError::InvalidSession)?;
                let wait = record.fail_from(&source_key, now_ms, &self.limits);
                let mut batch = WriteBatch::new();
                batch.put(account_key(&login), encode(&record)?);
                let action = if wait.is_some() {
                    "account.throttled"
                } else {
                    "account.password_change_failed"
                };
                self.audit.record(
                    &self.gc,
                    batch,
                    AuditInput::new(&login, action, &login, json!({ "source": source_key })),
                    now_ms,
                )?
            };
            self.gc.wait_async(ticket).await?;
            return Err(AccountError::WrongCurrentPassword);
        }
        validate_password(new, &login, &record.full_name)?;
        if new == current {
            return Err(AccountError::WeakPassword(
                "must differ from the current one".into(),
            ));
        }
        let hash = self.hash_password(new.to_string()).await?;
        let (ticket, user) = {
            let _guard = self.lock_writes();
            let mut record = self.load(&login)?.ok_or(AccountError::InvalidSession)?;
            record.password_hash = hash;
            record.must_change_password = false;
            record.throttles.clear();
            let mut batch = WriteBatch::new();
            batch.put(account_key(&login), encode(&record)?);
            let own = session_key(&digest);
            let mut sessions_ended = 0usize;
            for key in self.session_keys_of(&login)? {
                if key != own {
                    batch.delete(key);
                    sessions_ended += 1;
                }
            }
            let ticket = self.audit.record(
                &self.gc,
                batch,
                AuditInput::new(
                    &login,
                    "account.password_changed",
                    &login,
                    json!({ "sessions_ended": sessions_ended, "source": source_key }),
                ),
                now_ms,
            )?;
            self.invalidate_login(&login);
            (ticket, record.user())
        };
        self.gc.wait_async(ticket).await?;
        Ok(user)
    }

    /// Lifts every throttle of an account (an administrator, after checking who was guessing).
    pub async fn unlock(&self, actor: &str, login: &str, now_ms: i64) -> AccountResult<User> {
        let (ticket, user) = {
            let _guard = self.lock_writes();
            let mut record = self.load(login)?.ok_or(AccountError::NotFound)?;
            let sources: Vec<String> = record.throttles.keys().cloned().collect();
            record.throttles.clear();
            let mut batch = WriteBatch::new();
            batch.put(account_key(login), encode(&record)?);
            let ticket = self.audit.record(
                &self.gc,
                batch,
                AuditInput::new(
                    actor,
                    "account.unlock",
                    login,
                    json!({ "sources": sources }),
                ),
                now_ms,
            )?;
            // The addresses that were throttled for this account are forgiven as a whole too.
            let mut throttled = lock(&self.sources);
            for ip in sources.iter().filter_map(|s| s.parse::<IpAddr>().ok()) {
                throttled.pop(&ip);
            }
            (ticket, record.user())
        };
        self.gc.wait_async(ticket).await?;
        Ok(user)
    }

    /// Binds a patrol account to a unit (or unbinds it with `None`) for when no roster entry
    /// names it. The caller checks that the unit exists.
    pub async fn bind_unit(
        &self,
        actor: &str,
        login: &str,
        unit_id: Option<&str>,
        now_ms: i64,
    ) -> AccountResult<User> {
        let unit_id = unit_id
            .map(|u| validate_text("unit_id", u, DISTRICT_LEN_MAX_CHARS))
            .transpose()?;
        let (ticket, user) = {
            let _guard = self.lock_writes();
            let mut record = self.load(login)?.ok_or(AccountError::NotFound)?;
            if !record.roles.contains(&Role::Patrol) {
                return Err(AccountError::InvalidField {
                    field: "login",
                    reason: format!("{login} is not a patrol account"),
                });
            }
            if record.unit_id == unit_id {
                return Ok(record.user());
            }
            record.unit_id = unit_id.clone();
            let mut batch = WriteBatch::new();
            batch.put(account_key(login), encode(&record)?);
            let ticket = self.audit.record(
                &self.gc,
                batch,
                AuditInput::new(actor, "account.unit", login, json!({ "unit_id": unit_id })),
                now_ms,
            )?;
            self.invalidate_login(login);
            (ticket, record.user())
        };
        self.gc.wait_async(ticket).await?;
        Ok(user)
    }

    /// Resolves a session token to the account's *current* state (roles changed by an admin
    /// apply immediately). Served from memory after the first request of a session.
    pub fn authenticate(&self, token: &str, now_ms: i64) -> AccountResult<User> {
        self.authenticate_session(token, now_ms).map(|s| s.user)
    }

    /// [`Accounts::authenticate`] with the session's expiry.
    pub fn authenticate_session(&self, token: &str, now_ms: i64) -> AccountResult<Session> {
        let digest = parse_token(token)?;
        let generation = {
            let mut cache = self.lock_sessions();
            if let Some(hit) = cache.entries.get(&digest) {
                if now_ms >= hit.expires_at {
                    cache.entries.pop(&digest);
                    return Err(AccountError::InvalidSession);
                }
                return Ok(Session {
                    user: hit.user.clone(),
                    expires_at: hit.expires_at,
                });
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
        Ok(Session {
            user,
            expires_at: session.expires_at,
        })
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
                    json!({ "session_ended": true }),
                ),
                now_ms,
            )?;
            let mut cache = self.lock_sessions();
            cache.entries.pop(&digest);
            cache.generation += 1;
            self.session_changes.send_modify(|g| *g += 1);
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
        self.session_changes.send_modify(|g| *g += 1);
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

/// Length, not the login, and a strength estimate (zxcvbn, with the login and the name as the
/// words an attacker tries first) of at least [`PASSWORD_STRENGTH_SCORE_MIN`].
pub fn validate_password(password: &str, login: &str, full_name: &str) -> AccountResult<()> {
    let weak = |reason: &str| Err(AccountError::WeakPassword(reason.to_string()));
    let len = password.chars().count();
    if len < PASSWORD_LEN_MIN_CHARS {
        return weak("must be at least 10 characters long");
    }
    if len > PASSWORD_LEN_MAX_CHARS {
        return weak("must be at most 128 characters long");
    }
    if password.trim().is_empty() {
        return weak("must not be only spaces");
    }
    if password.trim().eq_ignore_ascii_case(login.trim()) {
        return weak("must not be the login");
    }
    let mut inputs: Vec<&str> = vec![login];
    inputs.extend(full_name.split_whitespace());
    let score = u8::from(zxcvbn::zxcvbn(password, &inputs).score());
    if score < PASSWORD_STRENGTH_SCORE_MIN {
        return weak(
            "is too easy to guess (a common word, a keyboard pattern, a date or the name); \
             use three or four unrelated words, or more characters",
        );
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

/// The same check under another field's name (a service code is checked like a district code).
fn rename_field(e: AccountError, field: &'static str) -> AccountError {
    match e {
        AccountError::InvalidField { reason, .. } => AccountError::InvalidField { field, reason },
        other => other,
    }
}

fn validate_district(district: Option<&str>) -> AccountResult<Option<String>> {
    district
        .map(|d| validate_text("district", d, DISTRICT_LEN_MAX_CHARS))
        .transpose()
}

impl Accounts {
    fn validate_roles(&self, roles: Vec<Role>) -> AccountResult<Vec<Role>> {
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
        if let Some(r) = roles.iter().find(|r| !self.assignable.contains(r)) {
            return Err(AccountError::RoleNotHere(r.as_str()));
        }
        Ok(roles)
    }
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
    /// The workstation a person logs in from.
    const WS: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 7));
    /// Somewhere else.
    const OTHER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 66));

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
        let accounts = Accounts::new(store.clone(), gc, audit, limits, &Role::NODE);
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
            service: None,
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

        let (token, _) = a
            .login("op.ivanova", GOOD_PASSWORD, WS, T0 + 1)
            .await
            .unwrap();
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
    async fn r18_wrong_passwords_throttle_the_source_not_the_account() {
        let f = with_admin().await;
        let a = &f.accounts;
        a.create("admin", new_account("disp.01", vec![Role::Dispatcher]), T0)
            .await
            .unwrap();
        // A success resets the source's count: two failures, a success, two failures → free.
        for i in 0..2 {
            assert_code(
                a.login("disp.01", "wrong password!", WS, T0 + i).await,
                "bad_credentials",
            );
        }
        a.login("disp.01", GOOD_PASSWORD, WS, T0 + 2).await.unwrap();
        for i in 0..2 {
            assert_code(
                a.login("disp.01", "wrong password!", WS, T0 + 3 + i).await,
                "bad_credentials",
            );
        }
        // Someone else guesses from another address: the fourth failure (failed_logins_max = 3)
        // makes that address wait; its further attempts are refused without a password check.
        for i in 0..3 {
            assert_code(
                a.login("disp.01", "wrong password!", OTHER, T0 + 10 + i)
                    .await,
                "bad_credentials",
            );
        }
        let err = a
            .login("disp.01", "wrong password!", OTHER, T0 + 20)
            .await
            .unwrap_err();
        let AccountError::Throttled { retry_after_ms } = err else {
            panic!("expected a throttle, got {err}")
        };
        assert_eq!(retry_after_ms, a.limits().backoff_initial_ms);
        assert_code(
            a.login("disp.01", GOOD_PASSWORD, OTHER, T0 + 21).await,
            "login_throttled",
        );
        // The owner at their workstation is not locked out.
        a.login("disp.01", GOOD_PASSWORD, WS, T0 + 22)
            .await
            .unwrap();
        // After the wait one more guess is allowed, and the next wait is twice as long.
        let after = T0 + 20 + a.limits().backoff_initial_ms;
        let AccountError::Throttled { retry_after_ms } = a
            .login("disp.01", "wrong password!", OTHER, after)
            .await
            .unwrap_err()
        else {
            panic!("expected a longer throttle")
        };
        assert_eq!(retry_after_ms, 2 * a.limits().backoff_initial_ms);
        // Waits never exceed lockout_ms.
        let mut now = after;
        for _ in 0..40 {
            now += a.limits().lockout_ms;
            if let Err(AccountError::Throttled { retry_after_ms }) =
                a.login("disp.01", "wrong password!", OTHER, now).await
            {
                assert!(retry_after_ms <= a.limits().lockout_ms);
            }
        }
        // An administrator lifts it, and every throttle is in the audit log.
        a.unlock("admin", "disp.01", now + 1).await.unwrap();
        assert_code(
            a.login("disp.01", "wrong password!", OTHER, now + 2).await,
            "bad_credentials",
        );
        let actions = audit_actions(&f.store);
        assert!(actions
            .iter()
            .any(|(_, act, t)| act == "account.throttled" && t == "disp.01"));
        assert!(actions
            .iter()
            .any(|(who, act, t)| who == "admin" && act == "account.unlock" && t == "disp.01"));

        // An unknown login looks exactly like a wrong password.
        assert_code(
            a.login("nobody", GOOD_PASSWORD, WS, T0).await,
            "bad_credentials",
        );
        assert_code(
            a.login("NOT VALID", GOOD_PASSWORD, WS, T0).await,
            "bad_credentials",
        );
        // An address guessing across many logins waits as a whole.
        let spray = IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, 9));
        let mut throttled = false;
        for i in 0..(a.limits().source_failed_logins_max + 2) {
            if let Err(AccountError::Throttled { .. }) = a
                .login(&format!("user{i}"), "whatever-guess", spray, T0 + i as i64)
                .await
            {
                throttled = true;
            }
        }
        assert!(
            throttled,
            "a password spray from one address is slowed down"
        );
    }

    #[tokio::test]
    async fn r18_a_temporary_password_allows_only_setting_a_new_one() {
        let f = with_admin().await;
        let a = &f.accounts;
        a.create("admin", new_account("op.s", vec![Role::CallTaker]), T0)
            .await
            .unwrap();
        let (token, user) = a.login("op.s", GOOD_PASSWORD, WS, T0 + 1).await.unwrap();
        assert!(user.must_change_password);
        // Wrong current password, weak new ones, the login in the password: refused.
        assert_code(
            a.change_password(
                &token,
                "not it at all!",
                "Alatau-Tulpar-Shyny-88",
                WS,
                T0 + 2,
            )
            .await,
            "wrong_password",
        );
        for weak in ["password123", "qwertyuiop", "op.s.op.s.op.s", "short"] {
            assert_code(
                a.change_password(&token, GOOD_PASSWORD, weak, WS, T0 + 3)
                    .await,
                "weak_password",
            );
        }
        let (other, _) = a.login("op.s", GOOD_PASSWORD, WS, T0 + 4).await.unwrap();
        let user = a
            .change_password(&token, GOOD_PASSWORD, "Alatau-Tulpar-Shyny-88", WS, T0 + 5)
            .await
            .unwrap();
        assert!(!user.must_change_password);
        // This session goes on; the other one ended; the old password is gone.
        assert!(!a.authenticate(&token, T0 + 6).unwrap().must_change_password);
        assert_code(a.authenticate(&other, T0 + 6), "invalid_session");
        assert_code(
            a.login("op.s", GOOD_PASSWORD, WS, T0 + 7).await,
            "bad_credentials",
        );
        a.login("op.s", "Alatau-Tulpar-Shyny-88", WS, T0 + 8)
            .await
            .unwrap();
        // An administrator resetting it makes it temporary again.
        let reset = AccountPatch {
            password: Some("Reset-By-Admin-4471".into()),
            ..AccountPatch::default()
        };
        assert!(
            a.update("admin", "op.s", reset, T0 + 9)
                .await
                .unwrap()
                .must_change_password
        );
        // The bootstrap administrator's password is temporary too.
        assert!(a.get("admin").unwrap().must_change_password);
    }

    #[tokio::test]
    async fn r18_disabled_account_cannot_log_in_and_sessions_are_revoked() {
        let f = with_admin().await;
        let a = &f.accounts;
        a.create("admin", new_account("ksp.12", vec![Role::Patrol]), T0)
            .await
            .unwrap();
        let (t1, _) = a.login("ksp.12", GOOD_PASSWORD, WS, T0 + 1).await.unwrap();
        let (t2, _) = a.login("ksp.12", GOOD_PASSWORD, WS, T0 + 2).await.unwrap();
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
            a.login("ksp.12", GOOD_PASSWORD, WS, T0 + 6).await,
            "account_disabled",
        );
        // A wrong password does not reveal that the account is disabled.
        assert_code(
            a.login("ksp.12", "wrong password!", WS, T0 + 7).await,
            "bad_credentials",
        );

        let enable = AccountPatch {
            disabled: Some(false),
            ..AccountPatch::default()
        };
        a.update("admin", "ksp.12", enable, T0 + 8).await.unwrap();
        let (t3, _) = a.login("ksp.12", GOOD_PASSWORD, WS, T0 + 9).await.unwrap();
        a.authenticate(&t3, T0 + 10).unwrap();

        // Expiry and logout.
        let ttl = a.limits().session_ttl_ms;
        assert_code(a.authenticate(&t3, T0 + 9 + ttl), "invalid_session");
        let (t4, _) = a.login("ksp.12", GOOD_PASSWORD, WS, T0 + 20).await.unwrap();
        a.authenticate(&t4, T0 + 21).unwrap();
        a.logout(&t4, T0 + 22).await.unwrap();
        assert_code(a.authenticate(&t4, T0 + 23), "invalid_session");
        a.logout(&t4, T0 + 24).await.unwrap();
        assert_code(a.authenticate("garbage", T0), "invalid_session");

        assert_eq!(a.purge_expired_sessions(T0 + 9 + ttl).await.unwrap(), 1);

        // Deleting ends sessions as well.
        let (t5, _) = a.login("ksp.12", GOOD_PASSWORD, WS, T0 + 30).await.unwrap();
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
        req.password = "k7Rq!v2Zp9".into();
        assert_eq!(req.password.chars().count(), PASSWORD_LEN_MIN_CHARS);
        a.create("admin", req, T0).await.unwrap();
    }

    #[tokio::test]
    async fn r18_every_account_change_is_audited() {
        let f = fixture();
        let a = &f.accounts;
        let generated = a.bootstrap_admin(None, T0).await.unwrap().unwrap();
        assert_eq!(generated.chars().count(), GENERATED_PASSWORD_LEN_CHARS);
        assert_eq!(a.bootstrap_admin(None, T0 + 1).await.unwrap(), None);

        let (admin_token, admin) = a.login("admin", &generated, WS, T0 + 2).await.unwrap();
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
        let _ = a.login("duty.07", "wrong password!", WS, T0 + 6).await;
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
        assert!(validate_password(&p, "admin", "Administrator").is_ok());
        let token = generate_session_token();
        assert_eq!(token.len(), SESSION_TOKEN_LEN_CHARS);
        assert!(parse_token(&token).is_ok());
    }
}
