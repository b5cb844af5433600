//! The appeals service: the node's shell around the sans-IO appeal workflow
//! ([`sync::appeal`]). It stores each appeal as a replicated document with its indexes
//! ([`crate::kinds::appeal`]), its files as content-addressed blobs ([`blobs`]), numbers
//! registrations with the region's own sequence, audits every step, and acknowledges a step only
//! once it is durable.
//!
//! Appeals are loaded from the store for every step (they are small: the intake and a few dozen
//! steps); a step holds its appeal's stripe lock from load until its batch is applied, so two
//! steps on one appeal never write the same chunk.

pub mod answer;
pub mod blobs;
pub mod duplicates;
pub mod national;

use std::sync::{Arc, Mutex, PoisonError};

use automerge::ActorId;
use serde::{Deserialize, Serialize};
use server_kit::docs::{self, Stored};
use sync::appeal::{
    Actor, Appeal, AppealCommand, AppealDoc, AppealIntake, AppealStatus, AppealSummary, Env,
    Registration,
};
use sync::calendar::{Day, WorkCalendar};
use sync::{Ctx, DocId, DocKind, Document, DomainError, Reference};
use tokio::sync::broadcast;

use crate::audit::{AuditInput, AuditLog};
use crate::kinds::appeal::AppealRules;
use crate::kinds::numbers::NumberSequence;
use crate::kinds::{self, Imported};
use crate::live::LiveEvent;
use crate::service_error::{ServiceError, ServiceResult};
use crate::store::{GroupCommit, Store, WriteBatch};
use blobs::FileUpload;

/// Stripes of the per-appeal write lock.
const WRITE_STRIPES: usize = 64;
/// Most appeals one list or board returns.
pub const APPEAL_LIST_MAX: usize = 1_000;
/// Largest request of the appeal intake and attachment uploads, in bytes: one attachment of
/// [`sync::appeal::limits::ATTACHMENT_BYTES_MAX`] in base64 with the appeal's text.
pub const APPEAL_REQUEST_BYTES_MAX: usize = 16 * 1024 * 1024;
/// Most appeals one export returns.
pub const EXPORT_RECORDS_MAX: usize = 100_000;
/// Longest range of one export, in days.
pub const EXPORT_DAYS_MAX: i32 = 366;
/// Length of a citizen's access token, in bytes of randomness (hex doubles it).
pub const ACCESS_TOKEN_BYTES: usize = 24;

/// A new appeal as a citizen's app or the registrar sends it: the intake with the files' bytes.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppealInput {
    pub channel: sync::appeal::AppealChannel,
    #[serde(default)]
    pub kind: Option<sync::appeal::AppealKind>,
    pub language: sync::Language,
    pub text: String,
    #[serde(default)]
    pub applicant: Option<sync::appeal::Applicant>,
    #[serde(default)]
    pub co_applicants: Vec<sync::appeal::Applicant>,
    #[serde(default)]
    pub location: Option<sync::appeal::GeoPoint>,
    #[serde(default)]
    pub attachments: Vec<FileUpload>,
    #[serde(default)]
    pub anonymous: bool,
    #[serde(default)]
    pub card_id: Option<String>,
    #[serde(default)]
    pub card_number: Option<String>,
}

/// What the citizen's app gets back: the appeal's id and the token to follow it with.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Receipt {
    pub appeal_id: String,
    /// Shown once; the node keeps only its hash.
    pub access_token: String,
    pub status: AppealStatus,
    pub received_at: i64,
}

/// Who acts, as the HTTP layer knows them.
#[derive(Debug, Clone)]
pub struct Staff {
    pub login: String,
    pub name: String,
    pub service: Option<String>,
}

impl Staff {
    fn actor(&self) -> Actor {
        Actor {
            name: Some(self.name.clone()),
            service: self.service.clone(),
            hq: false,
        }
    }
}

pub struct AppealService {
    store: Arc<dyn Store>,
    gc: Arc<GroupCommit>,
    audit: Arc<AuditLog>,
    reference: Arc<Reference>,
    region: String,
    actor: ActorId,
    chunks_max: usize,
    stripes: Vec<Mutex<()>>,
    seq: NumberSequence,
    events: broadcast::Sender<LiveEvent>,
    /// The link to the hub for the national duplicate check (R38).
    national: national::NationalLink,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl AppealService {
    pub fn new(
        store: Arc<dyn Store>,
        gc: Arc<GroupCommit>,
        audit: Arc<AuditLog>,
        reference: Arc<Reference>,
        actor: ActorId,
        chunks_max: usize,
        events: broadcast::Sender<LiveEvent>,
    ) -> Self {
        AppealService {
            seq: NumberSequence::new(crate::kinds::appeal::NUMBER_PREFIX, &reference.region.code),
            region: reference.region.code.clone(),
            store,
            gc,
            audit,
            reference,
            actor,
            chunks_max,
            stripes: (0..WRITE_STRIPES).map(|_| Mutex::new(())).collect(),
            events,
            national: national::NationalLink::default(),
        }
    }

    fn doc_id(&self, id: &str) -> ServiceResult<DocId> {
        Ok(DocId::new(&self.region, DocKind::Appeal, id)?)
    }

    fn stripe(&self, id: &str) -> &Mutex<()> {
        let h = id
            .bytes()
            .fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(b as usize));
        &self.stripes[h % WRITE_STRIPES]
    }

    fn env<'a>(&'a self, calendar: &'a WorkCalendar) -> Env<'a> {
        Env {
            reference: &self.reference,
            calendar,
            utc_offset_min: self.reference.shifts.utc_offset_min,
        }
    }

    /// Today in the region.
    pub fn today(&self, now_ms: i64) -> Day {
        Day::from_ms(now_ms, self.reference.shifts.utc_offset_min)
    }

    fn load(&self, id: &str) -> ServiceResult<(AppealDoc, Stored)> {
        let doc_id = self.doc_id(id)?;
        let bytes = docs::load_bytes(&*self.store, &doc_id)?
            .ok_or_else(|| ServiceError::NotFound(format!("appeal {id} does not exist")))?;
        let mut doc = AppealDoc::load(bytes.iter().map(|b| b.as_slice()))?;
        doc.set_actor(self.actor.clone());
        Ok((doc, Stored::Chunks(bytes.len() - 1)))
    }

    /// The appeal, its deadline coloured for `now_ms` (R16).
    pub fn get(&self, id: &str, calendar: &WorkCalendar, now_ms: i64) -> ServiceResult<Appeal> {
        let (doc, _) = self.load(id)?;
        Ok(doc.view(Some((calendar, self.today(now_ms))))?)
    }

    /// Takes a new appeal in: stores its files, the document, the citizen's token hash and the
    /// audit entry in one batch, and returns once it is durable.
    pub async fn intake(
        &self,
        by: &str,
        input: AppealInput,
        now_ms: i64,
    ) -> ServiceResult<(Appeal, String)> {
        let id = uuid::Uuid::new_v4().to_string();
        let token = hex::encode(rand::random::<[u8; ACCESS_TOKEN_BYTES]>());
        let (view, _) = self.intake_as(by, &id, input, Some(&token), now_ms).await?;
        Ok((view, token))
    }

    /// Takes in appeal `id` made by another workflow of the node (a report meeting's complaint,
    /// R25) unless it is stored already: its id is derived from its source, so a retry finds
    /// the appeal an earlier try stored instead of making a second one. Returns the appeal and
    /// whether this call created it.
    pub async fn intake_once(
        &self,
        by: &str,
        id: &str,
        input: AppealInput,
        now_ms: i64,
    ) -> ServiceResult<(Appeal, bool)> {
        self.intake_as(by, id, input, None, now_ms).await
    }

    /// The intake under id `id` (none written where it exists), with the hash of the citizen's
    /// `token` where one is given.
    async fn intake_as(
        &self,
        by: &str,
        id: &str,
        input: AppealInput,
        token: Option<&str>,
        now_ms: i64,
    ) -> ServiceResult<(Appeal, bool)> {
        let mut batch = WriteBatch::new();
        let mut attachments = Vec::with_capacity(input.attachments.len());
        if input.attachments.len() > sync::appeal::limits::ATTACHMENTS_MAX {
            return Err(DomainError::rule_field(
                "too_many_attachments",
                "attachments",
                format!(
                    "at most {} attachments",
                    sync::appeal::limits::ATTACHMENTS_MAX
                ),
            )
            .into());
        }
        for (n, f) in input.attachments.iter().enumerate() {
            let (r, bytes) = blobs::check_upload(&format!("attachments[{n}]"), f)?;
            blobs::stage(&mut batch, &r.sha256, bytes);
            attachments.push(r);
        }
        let intake = AppealIntake {
            channel: input.channel,
            kind: input.kind,
            language: input.language,
            text: input.text,
            applicant: input.applicant,
            co_applicants: input.co_applicants,
            location: input.location,
            attachments,
            anonymous: input.anonymous,
            card_id: input.card_id,
            card_number: input.card_number,
        };
        let ctx = Ctx::new(by, self.region.as_str(), now_ms);
        let mut doc = AppealDoc::create(self.actor.clone(), id, &intake, &ctx)?;
        if let Some(token) = token {
            batch.put(
                token_key(id),
                blobs::sha256_hex(token.as_bytes()).into_bytes(),
            );
        }
        let doc_id = self.doc_id(id)?;
        let (view, live, ticket) = {
            let _g = lock(self.stripe(id));
            if docs::load_bytes(&*self.store, &doc_id)?.is_some() {
                let (existing, _) = self.load(id)?;
                return Ok((existing.view(None)?, false));
            }
            let mut stored = Stored::New;
            let (view, live) = kinds::stage_write(
                &AppealRules {
                    region: &self.region,
                },
                &mut batch,
                &doc_id,
                &mut doc,
                &mut stored,
                None,
                self.chunks_max,
                now_ms,
            )?;
            let ticket = self.audit.record(
                &self.gc,
                batch,
                AuditInput::new(
                    by,
                    "appeal.received",
                    id,
                    serde_json::json!({"channel": intake.channel, "attachments": intake.attachments.len()}),
                ),
                now_ms,
            )?;
            (view, live, ticket)
        };
        self.gc.wait_async(ticket).await?;
        if let Some(ev) = live {
            let _ = self.events.send(ev);
        }
        Ok((view, true))
    }

    /// Whether `token` is the one the citizen got for appeal `id`.
    pub fn token_matches(&self, id: &str, token: &str) -> ServiceResult<bool> {
        let Some(stored) = self.store.get(token_key(id).as_bytes())? else {
            return Ok(false);
        };
        let given = blobs::sha256_hex(token.as_bytes());
        // Both are hex digests of equal length: compare without an early exit.
        Ok(stored.len() == given.len()
            && stored
                .iter()
                .zip(given.as_bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0)
    }

    /// The next registration number of the region for the year of `now_ms`.
    fn next_number(&self, now_ms: i64) -> ServiceResult<String> {
        Ok(self.seq.next(&*self.store, self.today(now_ms).year())?)
    }

    /// Registers a received appeal with the region's next number (R28: a duplicate too).
    pub async fn register(
        &self,
        id: &str,
        staff: &Staff,
        registration: Registration,
        calendar: &WorkCalendar,
        now_ms: i64,
    ) -> ServiceResult<Appeal> {
        self.step(id, staff, calendar, now_ms, |svc| {
            Ok(AppealCommand::Register {
                number: svc.next_number(now_ms)?,
                registration,
            })
        })
        .await
    }

    /// Applies one step and returns the appeal once the step is durable.
    pub async fn command(
        &self,
        id: &str,
        staff: &Staff,
        cmd: AppealCommand,
        calendar: &WorkCalendar,
        now_ms: i64,
    ) -> ServiceResult<Appeal> {
        self.step(id, staff, calendar, now_ms, |_| Ok(cmd)).await
    }

    /// Stores a file and adds it to the appeal.
    pub async fn attach(
        &self,
        id: &str,
        staff: &Staff,
        file: &FileUpload,
        calendar: &WorkCalendar,
        now_ms: i64,
    ) -> ServiceResult<Appeal> {
        let (r, bytes) = blobs::check_upload("file", file)?;
        let sha = r.sha256.clone();
        self.step_with(
            id,
            staff,
            calendar,
            now_ms,
            |_| Ok(AppealCommand::Attach { attachment: r }),
            |batch| blobs::stage(batch, &sha, bytes),
        )
        .await
    }

    /// Approves the submitted draft: `render` makes its Word document from the appeal, which is
    /// stored (immutably, by its hash) in the same batch as the step.
    pub async fn approve(
        &self,
        id: &str,
        staff: &Staff,
        calendar: &WorkCalendar,
        now_ms: i64,
        render: impl FnOnce(&Appeal) -> Result<Vec<u8>, ServiceError>,
    ) -> ServiceResult<Appeal> {
        let current = self.get(id, calendar, now_ms)?;
        if current.status != AppealStatus::OnApproval {
            return Err(DomainError::rule(
                "transition_not_allowed",
                format!(
                    "approval is not allowed while the appeal is {}",
                    current.status.as_str()
                ),
            )
            .into());
        }
        let docx = render(&current)?;
        let sha = blobs::sha256_hex(&docx);
        let size = docx.len() as u64;
        self.step_with(
            id,
            staff,
            calendar,
            now_ms,
            |_| {
                Ok(AppealCommand::Approve {
                    sha256: sha.clone(),
                    size,
                })
            },
            |batch| blobs::stage(batch, &sha, docx),
        )
        .await
    }

    async fn step(
        &self,
        id: &str,
        staff: &Staff,
        calendar: &WorkCalendar,
        now_ms: i64,
        make: impl FnOnce(&Self) -> ServiceResult<AppealCommand>,
    ) -> ServiceResult<Appeal> {
        self.step_with(id, staff, calendar, now_ms, make, |_| {})
            .await
    }

    async fn step_with(
        &self,
        id: &str,
        staff: &Staff,
        calendar: &WorkCalendar,
        now_ms: i64,
        make: impl FnOnce(&Self) -> ServiceResult<AppealCommand>,
        extra: impl FnOnce(&mut WriteBatch),
    ) -> ServiceResult<Appeal> {
        let doc_id = self.doc_id(id)?;
        let env = self.env(calendar);
        let (ticket, live) = {
            let _g = lock(self.stripe(id));
            let (mut doc, mut stored) = self.load(id)?;
            let before = doc.view(None)?;
            let cmd = make(self)?;
            let ctx = Ctx::new(staff.login.as_str(), self.region.as_str(), now_ms);
            doc.apply(&cmd, &staff.actor(), &env, &ctx)?;
            let mut batch = WriteBatch::new();
            extra(&mut batch);
            let (after, live) = kinds::stage_write(
                &AppealRules {
                    region: &self.region,
                },
                &mut batch,
                &doc_id,
                &mut doc,
                &mut stored,
                Some(&before),
                self.chunks_max,
                now_ms,
            )?;
            let last = after.history.last().cloned();
            let (action, details) = match last {
                Some(h) => (h.action, h.params),
                None => ("appeal.step".to_string(), serde_json::Value::Null),
            };
            let ticket = self.audit.record(
                &self.gc,
                batch,
                AuditInput::new(staff.login.as_str(), action, id, details),
                now_ms,
            )?;
            (ticket, live)
        };
        self.gc.wait_async(ticket).await?;
        if let Some(ev) = live {
            let _ = self.events.send(ev);
        }
        self.get(id, calendar, now_ms)
    }

    fn summaries(&self, prefix: &str, limit: usize) -> ServiceResult<Vec<AppealSummary>> {
        let mut out = Vec::new();
        for (_, v) in self.store.scan_prefix(prefix.as_bytes())? {
            if out.len() >= limit {
                break;
            }
            match serde_json::from_slice::<AppealSummary>(&v) {
                Ok(s) => out.push(s),
                Err(e) => tracing::warn!(prefix, error = %e, "an appeal index entry is unreadable"),
            }
        }
        Ok(out)
    }

    /// Appeals by status (newest first), by service or by officer.
    pub fn list(
        &self,
        filter: &ListFilter,
        calendar: &WorkCalendar,
        now_ms: i64,
    ) -> ServiceResult<Vec<AppealSummary>> {
        let limit = filter.limit.unwrap_or(APPEAL_LIST_MAX).min(APPEAL_LIST_MAX);
        let mut out = self.matching(filter, calendar, now_ms)?;
        out.sort_by(|a, b| b.received_at.cmp(&a.received_at).then(a.id.cmp(&b.id)));
        out.truncate(limit);
        Ok(out)
    }

    /// Every appeal the filter selects, its deadline coloured for `now_ms`, in no order.
    fn matching(
        &self,
        filter: &ListFilter,
        calendar: &WorkCalendar,
        now_ms: i64,
    ) -> ServiceResult<Vec<AppealSummary>> {
        let mut out = if let Some(o) = &filter.officer {
            self.summaries(&format!("idx/ap/off/{o}/"), usize::MAX)?
        } else if let Some(s) = &filter.service {
            self.summaries(&format!("idx/ap/svc/{s}/"), usize::MAX)?
        } else if filter.crime_signs {
            self.summaries("idx/ap/crime/", usize::MAX)?
        } else {
            let statuses: Vec<AppealStatus> = match filter.status {
                Some(s) => vec![s],
                None => AppealStatus::ALL
                    .iter()
                    .copied()
                    .filter(|s| s.is_open())
                    .collect(),
            };
            let mut all = Vec::new();
            for s in statuses {
                all.extend(self.summaries(&format!("idx/ap/st/{}/", s.as_str()), usize::MAX)?);
            }
            all
        };
        if let Some(s) = filter.status {
            out.retain(|a| a.status == s);
        }
        let today = self.today(now_ms);
        for a in &mut out {
            a.deadline_state = match a.deadline {
                Some(due) if a.status.term_runs() => {
                    Some(sync::appeal::deadline_state(calendar, due, today))
                }
                _ => None,
            };
        }
        Ok(out)
    }

    /// How many open appeals are past their deadline on `now_ms` (the "overdue deadlines piling
    /// up" alert; R11, R16).
    pub fn overdue_count(&self, calendar: &WorkCalendar, now_ms: i64) -> ServiceResult<usize> {
        Ok(self
            .matching(&ListFilter::default(), calendar, now_ms)?
            .iter()
            .filter(|a| a.deadline_state == Some(sync::appeal::DeadlineState::Overdue))
            .count())
    }

    /// The manager's control board (R16): open appeals of a service (or all), overdue first,
    /// then near the deadline, then by deadline.
    pub fn board(
        &self,
        service: Option<&str>,
        calendar: &WorkCalendar,
        now_ms: i64,
    ) -> ServiceResult<Vec<AppealSummary>> {
        let filter = ListFilter {
            service: service.map(str::to_string),
            ..ListFilter::default()
        };
        // Ranked over every open appeal before the cut: the overdue ones are the oldest, and
        // a newest-first cut would drop exactly them.
        Ok(board_order(self.matching(&filter, calendar, now_ms)?))
    }

    /// A stored file of appeal `id` (an attachment or its answer).
    pub fn file(&self, appeal: &Appeal, sha256: &str) -> ServiceResult<Option<Vec<u8>>> {
        let named = appeal.attachments.iter().any(|a| a.sha256 == sha256)
            || appeal.answer.as_ref().is_some_and(|a| a.sha256 == sha256);
        if !named {
            return Ok(None);
        }
        Ok(blobs::load(&*self.store, sha256)?)
    }

    /// Runs `f` on the automerge core of a stored appeal (replication export).
    pub fn with_doc<T>(
        &self,
        doc_id: &DocId,
        f: impl FnOnce(&mut automerge::AutoCommit) -> T,
    ) -> ServiceResult<T> {
        let (mut doc, _) = self.load(doc_id.id())?;
        Ok(f(doc.automerge()))
    }

    /// Applies a peer's bytes to an appeal (creating it if new here), with its indexes and an
    /// audit entry, and returns once durable.
    pub fn replica_import(
        &self,
        doc_id: &DocId,
        bytes: &[u8],
        by: &str,
        now_ms: i64,
    ) -> Result<Vec<automerge::ChangeHash>, sync::protocol::RepoError> {
        use sync::protocol::RepoError;
        let storage = |e: String| RepoError::Storage(e);
        let id = doc_id.id();
        let (ticket, heads, live) = {
            let _g = lock(self.stripe(id));
            let exists = docs::exists(&*self.store, doc_id).map_err(|e| storage(e.to_string()))?;
            let stored = if exists {
                Some(self.load(id).map_err(|e| storage(e.to_string()))?)
            } else {
                None
            };
            let (ticket, Imported { heads, live }, _) = kinds::import_replica(
                &AppealRules {
                    region: &self.region,
                },
                stored,
                doc_id,
                bytes,
                &self.actor,
                self.chunks_max,
                now_ms,
                kinds::ReplicaAudit {
                    audit: &self.audit,
                    gc: &self.gc,
                    by,
                    target: format!("appeal/{id}"),
                },
                |_| Default::default(),
            )?;
            if let Some(LiveEvent::Appeal(s)) = &live {
                if let Some(n) = &s.number {
                    self.seq.used(n);
                }
            }
            (ticket, heads, live)
        };
        self.gc
            .wait_durable(ticket)
            .map_err(|e| storage(e.to_string()))?;
        if let Some(ev) = live {
            let _ = self.events.send(ev);
        }
        Ok(heads)
    }

    pub fn reference(&self) -> &Reference {
        &self.reference
    }

    /// The link to the hub that the national duplicate check uses (the replication client
    /// sets it up and down).
    pub fn national(&self) -> &national::NationalLink {
        &self.national
    }

    /// The national part of the check: the hub's candidates of other regions, or why there are
    /// none. Never waits longer than [`national::NATIONAL_QUERY_TIMEOUT_MS`].
    async fn ask_national(
        &self,
        id: &str,
        fp: &sync::duplicates::Fingerprint,
    ) -> Result<Vec<sync::protocol::dup_query::NationalCandidate>, national::NationalError> {
        let conn = self
            .national
            .connection()
            .ok_or(national::NationalError::LinkDown)?;
        let mut found = national::ask(&conn, id, fp).await?;
        // The region's own appeals are checked here, with what this node holds now.
        found.retain(|c| c.region != self.region);
        Ok(found)
    }

    fn region_candidates(
        &self,
        a: &Appeal,
        fp: &sync::duplicates::Fingerprint,
    ) -> ServiceResult<Vec<duplicates::Candidate>> {
        Ok(duplicates::local_candidates(
            &*self.store,
            &a.id,
            fp,
            |id| self.load(id).ok().and_then(|(d, _)| d.view(None).ok()),
        )?)
    }

    /// The region's part of the duplicate check alone (R28): no hub, no audit, no mark
    /// (benchmarks; the registrar's check is [`Self::duplicates`]).
    pub fn region_duplicates(&self, a: &Appeal) -> ServiceResult<duplicates::DuplicateReport> {
        let fp = sync::duplicates::fingerprint(&duplicates::subject(a));
        Ok(duplicates::DuplicateReport {
            scope: "region".into(),
            candidates: self.region_candidates(a, &fp)?,
        })
    }

    /// The duplicate check of an appeal before registration (R28, R38): this region's appeals,
    /// and the hub's national register when the link is up. When the hub cannot be asked the
    /// report says `region` and the appeal is marked for a re-check when the link returns. The
    /// national query is audited (`appeal.national_check`), with the mark, before the report
    /// is returned.
    pub async fn duplicates(
        &self,
        a: &Appeal,
        by: &str,
        now_ms: i64,
    ) -> ServiceResult<duplicates::DuplicateReport> {
        let fp = sync::duplicates::fingerprint(&duplicates::subject(a));
        let mut candidates = self.region_candidates(a, &fp)?;
        let started = std::time::Instant::now();
        let asked = self.ask_national(&a.id, &fp).await;
        let ms = started.elapsed().as_millis() as u64;
        let mut batch = WriteBatch::new();
        let (scope, details) = match asked {
            Ok(found) => {
                batch.delete(national::recheck_key(&a.id));
                let details = serde_json::json!({
                    "scope": "national", "outcome": "answered", "candidates": found.len(), "ms": ms,
                });
                candidates.extend(found.into_iter().map(duplicates::Candidate::from));
                candidates.sort_by(|x, y| {
                    y.similarity
                        .total_cmp(&x.similarity)
                        .then(y.received_at.cmp(&x.received_at))
                });
                candidates.truncate(duplicates::CANDIDATES_SHOWN_MAX);
                ("national", details)
            }
            Err(e) => {
                tracing::debug!(id = a.id, error = %e, "national duplicate check not done: the appeal is marked for a re-check");
                if e.worth_retrying() {
                    batch.put_json(
                        national::recheck_key(&a.id),
                        &national::RecheckMark {
                            marked_at: now_ms,
                            reason: e.outcome().to_string(),
                        },
                    )?;
                }
                let details = serde_json::json!({
                    "scope": "region", "outcome": e.outcome(), "candidates": 0, "ms": ms,
                    "recheck": e.worth_retrying(),
                });
                ("region", details)
            }
        };
        let ticket = self.audit.record(
            &self.gc,
            batch,
            AuditInput::new(by, national::AUDIT_ACTION, a.id.as_str(), details),
            now_ms,
        )?;
        self.gc.wait_async(ticket).await?;
        Ok(duplicates::DuplicateReport {
            scope: scope.into(),
            candidates,
        })
    }

    /// The accounting records of the appeals received from `from` to `to` (UTC days, both
    /// included), oldest first; at most [`EXPORT_RECORDS_MAX`], then `too_many_records`.
    pub fn export(
        &self,
        from: Day,
        to: Day,
    ) -> ServiceResult<Vec<sync::appeal::accounting::AccountingRecord>> {
        if to < from || to.days() - from.days() > EXPORT_DAYS_MAX {
            return Err(DomainError::field(
                "to",
                format!("give a range of at most {EXPORT_DAYS_MAX} days, `to` not before `from`"),
            )
            .into());
        }
        let mut out = Vec::new();
        let mut day = from;
        while day <= to {
            let (y, m, d) = day.ymd();
            let prefix = format!("idx/ap/day/{y:04}{m:02}{d:02}/");
            for key in self
                .store
                .scan_keys(prefix.as_bytes(), EXPORT_RECORDS_MAX + 1)?
            {
                let Some(id) = std::str::from_utf8(&key)
                    .ok()
                    .and_then(|k| k.rsplit('/').next())
                else {
                    continue;
                };
                let (doc, _) = self.load(id)?;
                out.push(sync::appeal::accounting::AccountingRecord::of(
                    &doc.view(None)?,
                ));
                if out.len() > EXPORT_RECORDS_MAX {
                    return Err(DomainError::rule(
                        "too_many_records",
                        format!("more than {EXPORT_RECORDS_MAX} appeals: export a shorter range"),
                    )
                    .into());
                }
            }
            day = day.plus_days(1);
        }
        out.sort_by(|a, b| (a.received_at, &a.id).cmp(&(b.received_at, &b.id)));
        Ok(out)
    }

    /// What a report meeting's draft report needs of the appeals received from `from` to `to`
    /// (UTC days of the day index, both included; the caller filters its own local period), at
    /// most `limit` of them, then `too_many_records` (a partial count would misreport).
    pub fn report_facts(
        &self,
        from: Day,
        to: Day,
        limit: usize,
    ) -> ServiceResult<Vec<sync::meetings::report::AppealFact>> {
        let mut out = Vec::new();
        let mut day = from;
        while day <= to {
            let (y, m, d) = day.ymd();
            let prefix = format!("idx/ap/day/{y:04}{m:02}{d:02}/");
            for key in self.store.scan_keys(prefix.as_bytes(), limit + 1)? {
                let Some(id) = std::str::from_utf8(&key)
                    .ok()
                    .and_then(|k| k.rsplit('/').next())
                else {
                    continue;
                };
                let (doc, _) = self.load(id)?;
                out.push(sync::meetings::report::AppealFact::of(&doc.view(None)?));
                if out.len() > limit {
                    return Err(DomainError::rule(
                        "too_many_records",
                        format!("more than {limit} appeals in the period"),
                    )
                    .into());
                }
            }
            day = day.plus_days(1);
        }
        Ok(out)
    }

    /// Appeals marked for a national re-check, oldest id first, at most `limit`.
    pub fn marked_for_recheck(&self, limit: usize) -> ServiceResult<Vec<String>> {
        Ok(self
            .store
            .scan_keys(national::recheck_key("").as_bytes(), limit)?
            .into_iter()
            .filter_map(|k| {
                String::from_utf8(k)
                    .ok()
                    .and_then(|k| k.rsplit('/').next().map(str::to_string))
            })
            .collect())
    }

    /// One re-check pass (R38): asks the hub for every marked appeal (at most `limit`); an
    /// appeal with earlier appeals in other regions not yet recorded gets an
    /// `appeal.late_duplicate` step; the mark goes with the audited answer. Stops at the first
    /// query the link fails (the rest stay marked for the next time it is up).
    pub async fn recheck_pass(
        &self,
        calendar: &WorkCalendar,
        limit: usize,
    ) -> ServiceResult<national::RecheckReport> {
        let mut report = national::RecheckReport::default();
        let system = Staff {
            login: national::SYSTEM_LOGIN.into(),
            name: national::SYSTEM_LOGIN.into(),
            service: None,
        };
        for id in self.marked_for_recheck(limit)? {
            let now_ms = server_kit::clock::now_ms();
            let a = match self.get(&id, calendar, now_ms) {
                Ok(a) => a,
                Err(ServiceError::NotFound(_)) => {
                    let mut b = WriteBatch::new();
                    b.delete(national::recheck_key(&id));
                    self.gc.apply(b)?;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let fp = sync::duplicates::fingerprint(&duplicates::subject(&a));
            let started = std::time::Instant::now();
            let asked = self.ask_national(&id, &fp).await;
            let ms = started.elapsed().as_millis() as u64;
            let found = match asked {
                Ok(found) => found,
                Err(e) if e.worth_retrying() => {
                    tracing::info!(id, error = %e, "national re-check stopped: the link failed again");
                    break;
                }
                Err(e) => {
                    tracing::warn!(id, error = %e, "the hub refused a re-check: the mark is dropped");
                    let mut b = WriteBatch::new();
                    b.delete(national::recheck_key(&id));
                    let details = serde_json::json!({"scope": "region", "outcome": e.outcome(), "candidates": 0, "ms": ms, "recheck": true});
                    let t = self.audit.record(
                        &self.gc,
                        b,
                        AuditInput::new(
                            national::SYSTEM_LOGIN,
                            national::AUDIT_ACTION,
                            id.as_str(),
                            details,
                        ),
                        now_ms,
                    )?;
                    self.gc.wait_async(t).await?;
                    continue;
                }
            };
            report.checked += 1;
            let late: Vec<sync::appeal::LateDuplicate> = found
                .iter()
                .filter(|c| {
                    !a.late_duplicates
                        .iter()
                        .any(|k| k.region == c.region && k.id == c.id)
                        && !a
                            .duplicate_of
                            .iter()
                            .any(|d| d.region == c.region && Some(&d.number) == c.number.as_ref())
                })
                .map(|c| sync::appeal::LateDuplicate {
                    region: c.region.clone(),
                    id: c.id.clone(),
                    number: c.number.clone(),
                    received_at: c.received_at,
                    registered_at: c.registered_at,
                    similarity: c.similarity,
                    reasons: c.reasons.iter().map(|r| r.as_str().to_string()).collect(),
                    found_at: now_ms,
                })
                .collect();
            let mut b = WriteBatch::new();
            if late.is_empty() {
                b.delete(national::recheck_key(&id));
            }
            let details = serde_json::json!({
                "scope": "national", "outcome": "answered", "candidates": found.len(), "ms": ms,
                "recheck": true, "late": late.len(),
            });
            let t = self.audit.record(
                &self.gc,
                b,
                AuditInput::new(
                    national::SYSTEM_LOGIN,
                    national::AUDIT_ACTION,
                    id.as_str(),
                    details,
                ),
                now_ms,
            )?;
            self.gc.wait_async(t).await?;
            if late.is_empty() {
                continue;
            }
            let key = national::recheck_key(&id);
            let stepped = self
                .step_with(
                    &id,
                    &system,
                    calendar,
                    now_ms,
                    |_| Ok(AppealCommand::LateDuplicate { candidates: late }),
                    |batch| batch.delete(key.clone()),
                )
                .await;
            match stepped {
                Ok(_) => report.late += 1,
                Err(e) => {
                    // The record cannot be added (a full history, a concurrent identical
                    // step): the check was done and audited; the mark goes.
                    tracing::warn!(id, error = %e, "a late-found duplicate could not be recorded");
                    let mut b = WriteBatch::new();
                    b.delete(key);
                    self.gc.apply(b)?;
                }
            }
        }
        Ok(report)
    }

    /// A stored attachment's bytes by hash (for an answer's images).
    pub fn blob(&self, sha256: &str) -> ServiceResult<Option<Vec<u8>>> {
        Ok(blobs::load(&*self.store, sha256)?)
    }
}

/// The board's order (R16) over every open appeal, then the cut to [`APPEAL_LIST_MAX`]:
/// overdue first, then near the deadline, then by deadline. Ranked before the cut: the overdue
/// ones are the oldest, and a newest-first cut would drop exactly them.
fn board_order(mut out: Vec<AppealSummary>) -> Vec<AppealSummary> {
    out.retain(|a| a.status.term_runs());
    let rank = |a: &AppealSummary| match a.deadline_state {
        Some(sync::appeal::DeadlineState::Overdue) => 0,
        Some(sync::appeal::DeadlineState::Near) => 1,
        _ => 2,
    };
    out.sort_by(|a, b| (rank(a), a.deadline, &a.id).cmp(&(rank(b), b.deadline, &b.id)));
    out.truncate(APPEAL_LIST_MAX);
    out
}

fn token_key(id: &str) -> String {
    format!("meta/ap/token/{id}")
}

/// Which appeals a list shows.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub status: Option<AppealStatus>,
    pub service: Option<String>,
    pub officer: Option<String>,
    pub crime_signs: bool,
    pub limit: Option<usize>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use sync::appeal::{AppealChannel, DeadlineState};

    fn summary(n: usize, state: DeadlineState, received_at: i64) -> AppealSummary {
        AppealSummary {
            id: format!("{n:06}"),
            region: "AST".into(),
            number: Some(format!("AST-2026-{n:06}")),
            status: AppealStatus::InWork,
            kind: None,
            channel: AppealChannel::App102Text,
            received_at,
            registered_at: Some(received_at),
            applicant: String::new(),
            service: Some("local-police".into()),
            officer: None,
            deadline: Some(Day::from_ms(received_at, 300).plus_days(21)),
            deadline_state: Some(state),
            crime_signs: false,
            kui: None,
            kui_due_at: None,
            updated_at: received_at,
        }
    }

    #[test]
    fn r16_the_board_keeps_every_overdue_appeal_of_a_busy_service() {
        let day = 86_400_000;
        // 30 old overdue appeals among 2 000 newer ones that are not due.
        let mut all: Vec<_> = (0..30)
            .map(|n| summary(n, DeadlineState::Overdue, n as i64 * day))
            .collect();
        all.extend((30..2_030).map(|n| summary(n, DeadlineState::Ok, 400 * day + n as i64)));
        let board = board_order(all);
        assert_eq!(board.len(), APPEAL_LIST_MAX);
        assert!(board[..30]
            .iter()
            .all(|a| a.deadline_state == Some(DeadlineState::Overdue)));
        assert!(board[30..]
            .iter()
            .all(|a| a.deadline_state == Some(DeadlineState::Ok)));
    }
}
