//! The terminal's running state: the vault, the logged-in officer's shift (the data key, the
//! open store and its sync), the link state the UI shows, and the wipes. The HTTP layer only
//! calls this.
//!
//! The data key exists only inside a [`Shift`]: logging out, the idle timeout, the end of the
//! shift and a revocation end the shift, which stops the sync and drops the key and the store.

use std::sync::{Arc, Mutex};

use serde::Serialize;
use server_kit::clock::now_ms;
use server_kit::store::{GroupCommit, Store};
use tokio::sync::{mpsc, watch};

use crate::online::{OnlineError, OnlineLogin};
use crate::repo::TerminalRepo;
use crate::settings::TerminalSettings;
use crate::shift::{Shift, UnitRef};
use crate::vault::{check_credentials, DataKey, SealedStore, Vault, VaultError, WipeReason};

/// How often the supervisor checks the idle timeout and the end of the shift, ms.
pub const SUPERVISOR_TICK_MS: u64 = 5_000;
/// Alarms (revocation, imports) queued for the supervisor before further ones are dropped; an
/// import alarm only asks it to read the pack again, so losing one is harmless.
pub const ALARMS_BUFFERED_MAX: usize = 64;
/// Local changes queued for the sync; past this the session catches up on reconnect.
pub const LOCAL_CHANGES_BUFFERED_MAX: usize = 1_024;

/// The link to the node as the UI shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum LinkPhase {
    /// No officer is logged in: nothing syncs (the key is needed).
    #[default]
    Idle,
    /// Not connected (no network, node down); the terminal keeps working.
    Offline,
    /// Connected and exchanging documents.
    Syncing,
    /// Connected, nothing left to send.
    Synced,
}

/// What the sync reports.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LinkState {
    pub phase: LinkPhase,
    /// Last time the node was heard from, ms.
    pub last_sync_ms: Option<i64>,
    /// Why the last connection ended (for the log and the service screen, not translated).
    pub last_error: Option<String>,
}

/// Something the sync tells the supervisor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Alarm {
    /// The node refused the unit's certificate as revoked.
    Revoked,
    /// The node refused the unit's certificate as expired.
    CertificateExpired,
    /// A document from the node arrived (the pack: read it again).
    Imported(String),
}

/// A message the UI shows until the next login (kk/ru by its code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Notice {
    /// "This terminal's certificate was revoked": the data were wiped.
    Revoked,
    /// The certificate expired: the terminal cannot sync until it gets a new bundle.
    CertificateExpired,
    /// The shift ended: the data were wiped.
    ShiftExpired,
    /// The terminal was assigned to another unit: the old unit's data were wiped.
    UnitChanged,
    /// Logged out after the idle timeout.
    IdleLogout,
}

/// What the sync of one shift gets.
pub struct UplinkContext {
    pub repo: Arc<Mutex<TerminalRepo>>,
    pub unit: UnitRef,
    pub changes: mpsc::Receiver<String>,
    pub stop: watch::Receiver<bool>,
    pub link: Arc<Mutex<LinkState>>,
    pub alarms: mpsc::Sender<Alarm>,
}

/// Starts the sync of a shift (QUIC to the node in the binary, nothing in some tests).
pub trait Uplink: Send + Sync + 'static {
    fn start(&self, ctx: UplinkContext) -> tokio::task::JoinHandle<()>;
}

/// No link: the terminal works offline only.
pub struct NoUplink;

impl Uplink for NoUplink {
    fn start(&self, ctx: UplinkContext) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut stop = ctx.stop;
            let _ = stop.wait_for(|s| *s).await;
        })
    }
}

/// Why a terminal action failed. `code()` is what the UI translates.
#[derive(Debug, thiserror::Error)]
pub enum TerminalError {
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error(transparent)]
    Online(#[from] OnlineError),
    /// Another crew's data are on the terminal; starting anew wipes them (`new_crew: true`).
    #[error("this terminal holds the data of another crew ({0:?}); confirm to start a new crew, which wipes them")]
    OtherCrew(Vec<String>),
    #[error("no officer is logged in")]
    NotLoggedIn,
    #[error("{0}")]
    Internal(String),
}

impl TerminalError {
    pub fn code(&self) -> &'static str {
        match self {
            TerminalError::Vault(e) => e.code(),
            TerminalError::Online(e) => e.code(),
            TerminalError::OtherCrew(_) => "other_crew",
            TerminalError::NotLoggedIn => "not_logged_in",
            TerminalError::Internal(_) => "internal",
        }
    }
}

/// A login as the UI sends it.
#[derive(Debug, Clone)]
pub struct LoginRequest {
    pub login: String,
    pub password: String,
    /// The officer confirmed that another crew's data on this terminal may be wiped.
    pub new_crew: bool,
}

/// How a login went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LoginMode {
    /// The password unwrapped the data key; the node was not asked.
    Offline,
    /// The node confirmed the officer.
    Online,
}

/// The terminal.
pub struct Terminal {
    pub unit: UnitRef,
    pub settings: TerminalSettings,
    vault: Arc<Mutex<Vault>>,
    shift: Mutex<Option<Arc<Shift>>>,
    online: Arc<dyn OnlineLogin>,
    uplink: Arc<dyn Uplink>,
    pub link: Arc<Mutex<LinkState>>,
    notice: Mutex<Option<Notice>>,
    alarms_tx: mpsc::Sender<Alarm>,
    alarms_rx: Mutex<Option<mpsc::Receiver<Alarm>>>,
    /// Serialises logins, logouts and wipes.
    gate: tokio::sync::Mutex<()>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Runs vault work (argon2id, disk) off the async threads.
async fn with_vault<T: Send + 'static>(
    vault: &Arc<Mutex<Vault>>,
    f: impl FnOnce(&mut Vault) -> T + Send + 'static,
) -> Result<T, TerminalError> {
    let vault = vault.clone();
    tokio::task::spawn_blocking(move || f(&mut lock(&vault)))
        .await
        .map_err(|e| TerminalError::Internal(e.to_string()))
}

impl Terminal {
    pub fn new(
        unit: UnitRef,
        settings: TerminalSettings,
        vault: Vault,
        online: Arc<dyn OnlineLogin>,
        uplink: Arc<dyn Uplink>,
        notice: Option<Notice>,
    ) -> Arc<Terminal> {
        let (alarms_tx, alarms_rx) = mpsc::channel(ALARMS_BUFFERED_MAX);
        Arc::new(Terminal {
            unit,
            settings,
            vault: Arc::new(Mutex::new(vault)),
            shift: Mutex::new(None),
            online,
            uplink,
            link: Arc::new(Mutex::new(LinkState::default())),
            notice: Mutex::new(notice),
            alarms_tx,
            alarms_rx: Mutex::new(Some(alarms_rx)),
            gate: tokio::sync::Mutex::new(()),
        })
    }

    /// The logged-in officer's shift, if any.
    pub fn shift(&self) -> Option<Arc<Shift>> {
        lock(&self.shift).clone()
    }

    pub fn notice(&self) -> Option<Notice> {
        *lock(&self.notice)
    }

    pub fn link_state(&self) -> LinkState {
        lock(&self.link).clone()
    }

    /// Officers whose key this terminal holds.
    pub fn officers(&self) -> Vec<String> {
        lock(&self.vault).officers()
    }

    pub fn expires_at_ms(&self) -> Option<i64> {
        lock(&self.vault).expires_at_ms()
    }

    /// Logs an officer in: offline when this terminal knows them (the password unwraps the
    /// data key), else confirmed by the node. With an officer already logged in, another crew
    /// member's login switches the shift to them (their key is wrapped from the one in memory).
    pub async fn login(self: &Arc<Self>, req: LoginRequest) -> Result<LoginMode, TerminalError> {
        let _gate = self.gate.lock().await;
        check_credentials(&req.login, &req.password)?;
        let now = now_ms();
        let (known, locked) = {
            let v = lock(&self.vault);
            (v.knows(&req.login), v.offline_locked(&req.login))
        };
        if known && !locked {
            let (login, password) = (req.login.clone(), req.password.clone());
            let opened = with_vault(&self.vault, move |v| v.unlock(&login, &password, now)).await?;
            match opened {
                Ok((key, store)) => {
                    self.begin(&req.login, key, store).await?;
                    return Ok(LoginMode::Offline);
                }
                Err(e) => return Err(e.into()),
            }
        }
        let officer = self.online.confirm(&req.login, &req.password).await?;
        let login = officer.login;
        if known {
            let (l, p) = (login.clone(), req.password.clone());
            match with_vault(&self.vault, move |v| v.unlock_confirmed(&l, &p, now)).await? {
                Ok((key, store)) => {
                    self.begin(&login, key, store).await?;
                    return Ok(LoginMode::Online);
                }
                // The password changed on the node since this terminal wrapped the key: the
                // officer is new to the data, as below.
                Err(VaultError::WrongPassword { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        if let Some(shift) = self.shift() {
            // A crew member joins the shift in progress: wrap the key in memory for them.
            let key = shift.key().clone();
            let (l, p) = (login.clone(), req.password.clone());
            with_vault(&self.vault, move |v| v.add_officer(&key, &l, &p, now)).await??;
            shift.set_officer(&login);
            shift.touch(now);
            return Ok(LoginMode::Online);
        }
        let others = self.officers();
        if !others.is_empty() && !req.new_crew {
            return Err(TerminalError::OtherCrew(others));
        }
        let expires = now + i64::from(self.settings.shift_hours) * 3_600_000;
        let (l, p) = (login.clone(), req.password.clone());
        let (key, store) =
            with_vault(&self.vault, move |v| v.create(&l, &p, Some(expires), now)).await??;
        self.begin(&login, key, store).await?;
        Ok(LoginMode::Online)
    }

    /// Opens the shift over an unlocked store and starts its sync.
    async fn begin(
        self: &Arc<Self>,
        login: &str,
        key: DataKey,
        store: SealedStore,
    ) -> Result<(), TerminalError> {
        let old = lock(&self.shift).take();
        if let Some(old) = old {
            old.end().await;
        }
        let store: Arc<dyn Store> = Arc::new(store);
        let gc = Arc::new(GroupCommit::new(store.clone()));
        let alarms = self.alarms_tx.clone();
        let repo = TerminalRepo::new(
            store,
            gc.clone(),
            &self.unit.region,
            &self.unit.unit,
            Box::new(move |doc_id| {
                let _ = alarms.try_send(Alarm::Imported(doc_id.to_string()));
            }),
        )
        .map_err(|e| TerminalError::Internal(e.to_string()))?;
        let repo = Arc::new(Mutex::new(repo));
        let (changes_tx, changes_rx) = mpsc::channel(LOCAL_CHANGES_BUFFERED_MAX);
        let (stop_tx, stop_rx) = watch::channel(false);
        lock(&self.link).phase = LinkPhase::Offline;
        let task = self.uplink.start(UplinkContext {
            repo: repo.clone(),
            unit: self.unit.clone(),
            changes: changes_rx,
            stop: stop_rx,
            link: self.link.clone(),
            alarms: self.alarms_tx.clone(),
        });
        let shift = Arc::new(Shift::new(
            login,
            key,
            repo,
            gc,
            changes_tx,
            stop_tx,
            task,
            now_ms(),
        ));
        *lock(&self.shift) = Some(shift);
        *lock(&self.notice) = None;
        tracing::info!(officer = login, unit = %self.unit.key(), "officer logged in");
        Ok(())
    }

    /// Ends the shift: the sync stops, the key and the store are dropped.
    pub async fn logout(&self) {
        let _gate = self.gate.lock().await;
        self.end_shift().await;
    }

    async fn end_shift(&self) {
        let shift = lock(&self.shift).take();
        if let Some(shift) = shift {
            shift.end().await;
            let ticket = shift.gc.written();
            let gc = shift.gc.clone();
            let _ = tokio::task::spawn_blocking(move || gc.wait_durable(ticket)).await;
            tracing::info!(officer = %shift.officer(), "shift ended; the data key left memory");
        }
        lock(&self.link).phase = LinkPhase::Idle;
    }

    /// Ends the shift and wipes every datum of the terminal.
    pub async fn wipe(&self, reason: WipeReason, notice: Notice) -> Result<(), TerminalError> {
        let _gate = self.gate.lock().await;
        self.end_shift().await;
        with_vault(&self.vault, move |v| v.wipe(reason)).await??;
        *lock(&self.notice) = Some(notice);
        Ok(())
    }

    /// Records the officer's activity (a tap or a key in the UI).
    pub fn touch(&self) {
        if let Some(s) = self.shift() {
            s.touch(now_ms());
        }
    }

    /// What the supervisor does on each tick: the idle timeout and the end of the shift.
    pub async fn tick(&self, now_ms: i64) {
        if let Some(at) = self.expires_at_ms() {
            if at <= now_ms {
                tracing::warn!("the shift ended: wiping the terminal's data");
                if let Err(e) = self
                    .wipe(WipeReason::ShiftExpired, Notice::ShiftExpired)
                    .await
                {
                    tracing::error!(error = %e, "wiping at the end of the shift failed");
                }
                return;
            }
        }
        if let Some(shift) = self.shift() {
            let idle = now_ms - shift.last_activity_ms();
            if idle >= self.settings.idle_logout_ms {
                tracing::info!(idle_ms = idle, "idle timeout: logging out");
                self.logout().await;
                *lock(&self.notice) = Some(Notice::IdleLogout);
            }
        }
    }

    /// Handles one alarm from the sync.
    pub async fn on_alarm(&self, alarm: Alarm) {
        match alarm {
            Alarm::Revoked => {
                tracing::error!(
                    "the node refused this terminal's certificate as revoked: wiping its data"
                );
                if let Err(e) = self.wipe(WipeReason::Revoked, Notice::Revoked).await {
                    tracing::error!(error = %e, "wiping after the revocation failed");
                }
            }
            Alarm::CertificateExpired => {
                *lock(&self.notice) = Some(Notice::CertificateExpired);
            }
            Alarm::Imported(doc_id) => self.on_import(&doc_id).await,
        }
    }

    /// A document from the node: the pack may carry a new shift end, or a revocation.
    async fn on_import(&self, doc_id: &str) {
        let Some(shift) = self.shift() else {
            return;
        };
        let Some(pack) = crate::journal::read_pack(&shift, &self.unit, doc_id) else {
            return;
        };
        if pack.revoked {
            self.on_alarm_revoked_by_pack().await;
            return;
        }
        if let Some(at) = pack.expires_at_ms {
            let store = lock(&shift.repo).store().clone();
            let vault = self.vault.clone();
            let set =
                tokio::task::spawn_blocking(move || lock(&vault).set_expiry(&*store, at)).await;
            if !matches!(set, Ok(Ok(()))) {
                tracing::error!("the shift end from the pack could not be stored");
            }
        }
    }

    async fn on_alarm_revoked_by_pack(&self) {
        tracing::error!("the node's pack says this unit was revoked: wiping the terminal's data");
        if let Err(e) = self.wipe(WipeReason::Revoked, Notice::Revoked).await {
            tracing::error!(error = %e, "wiping after the revocation failed");
        }
    }

    /// Runs the supervisor (alarms and ticks) until `shutdown`; call once.
    pub async fn supervise(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let Some(mut alarms) = lock(&self.alarms_rx).take() else {
            return;
        };
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(SUPERVISOR_TICK_MS));
        loop {
            tokio::select! {
                Some(alarm) = alarms.recv() => self.on_alarm(alarm).await,
                _ = tick.tick() => self.tick(now_ms()).await,
                _ = async { let _ = shutdown.wait_for(|s| *s).await; } => break,
            }
        }
        self.logout().await;
    }
}
