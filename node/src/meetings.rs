//! District inspectors' report meetings (R22–R26, R37) as stored documents: the node's shell
//! around [`sync::meetings`]. It keeps the region's beats reference (the node's
//! `[meetings] beats_file`, else the embedded demo file, sample data), plans meetings (checked
//! against the reference), applies every [`MeetingCommand`] as one group-committed batch with
//! the document's indexes ([`crate::kinds::meeting`]) and an audit entry (a refused input
//! writes nothing), and computes each beat's quarter coverage and its R22 warning.
//!
//! Who may do what (the HTTP layer asks [`MeetingService::access`]): the inspector and the
//! helpers of a beat work its meetings; the head of the beat's office controls them (p.33); the
//! region's head sees every beat. Only the inspector signs the protocol (p.32).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};

use automerge::ActorId;
use serde::Serialize;
use server_kit::docs::{self, Stored};
use sync::calendar::Day;
use sync::meetings::doc::Recording;
use sync::meetings::report::{AppealFact, CardFact, PreviousMeeting, REPORT_PERIOD_DAYS_MAX};
use sync::meetings::{
    beat_report, coverage, doc::check_plan, BeatReportInput, BeatsReference, Coverage, Meeting,
    MeetingCommand, MeetingDoc, MeetingFact, MeetingPlan, MeetingStage, Period, Quarter,
};
use sync::{Ctx, DocId, DocKind, Document, DomainError};
use tokio::sync::{broadcast, Notify};
use utoipa::ToSchema;

use sync::appeal::{
    AnswerDraft, AppealChannel, AppealKind, Applicant, ApplicantKind, Decision, Registration,
};
use sync::calendar::WorkCalendar;
use sync::{Language, Reference};

use crate::appeals::{AppealInput, AppealService, Staff};
use crate::audit::{AuditInput, AuditLog};
use crate::channels::outbox::{DeliveryOf, NoticeRecorder, Outbox, OutboxEntry};
use crate::channels::{OutgoingKind, OutgoingMessage};
use crate::kinds::meeting::{self as idx, MeetingRules, MeetingSummary, OpenItem};
use crate::kinds::{self, Imported};
use crate::live::LiveEvent;
use crate::service_error::{ServiceError, ServiceResult};
use crate::store::{GroupCommit, Store, StoreError, WriteBatch};
use sync::meetings::doc::{DeliveryState, NoticeChannel, NoticeDelivery};
use sync::Channel;

/// Most meetings one beat's list returns (a beat has a few a year).
pub const BEAT_MEETINGS_MAX: usize = 1_000;
/// Most entries a head's list (overdue protocols, open items) returns.
pub const HEAD_LIST_MAX: usize = 2_000;
/// Who the audit log and the meeting's log name for a notice's delivery results (R37).
pub const NOTICE_ACTOR: &str = "system.outbox";
/// Who the audit log and the meeting's log name for the retention sweep (R26).
pub const RETENTION_ACTOR: &str = "system.retention";
/// Largest video recording of a meeting, in bytes (a two-hour meeting as a browser records it
/// is about 1 GiB).
pub const MEETING_RECORDING_BYTES_MAX: u64 = 4 * 1024 * 1024 * 1024;
/// The content types of a meeting's video recording: what a browser's recorder produces.
pub const MEETING_RECORDING_TYPES: &[&str] = &["video/webm", "video/mp4"];
/// Most "102" cards, and most appeals, of the region one draft report reads for its period; a
/// period with more is refused (`too_many_records`) rather than miscounted.
pub const REPORT_FACTS_MAX: usize = 200_000;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What the caller is to a meeting or a beat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    /// The district inspector of the beat.
    Inspector,
    /// One of the inspector's helpers.
    Helper,
    /// The head of the beat's office (p.33).
    OfficeHead,
    /// The region's head (the `head` role): every beat.
    RegionHead,
}

/// One beat's quarter as its inspector and its office's head see it (R22).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BeatCoverage {
    pub beat: String,
    pub name_kk: String,
    pub name_ru: String,
    pub office: String,
    pub inspector: String,
    /// The closest relation the caller has to the beat.
    pub relation: Relation,
    /// `state`: held, noticed, planned, open, at_risk or missed, with its days.
    #[schema(value_type = Object)]
    pub coverage: Coverage,
    /// R22: no meeting in time and the quarter's last notice day is near or past: the inspector
    /// and the office's head are warned.
    pub warning: bool,
    pub meetings: Vec<MeetingSummary>,
}

pub struct MeetingService {
    store: Arc<dyn Store>,
    gc: Arc<GroupCommit>,
    audit: Arc<AuditLog>,
    region: String,
    actor: ActorId,
    chunks_max: usize,
    reference: RwLock<Arc<BeatsReference>>,
    /// Held from a write's load until its batch is staged: one command at a time per node
    /// (meetings are few and rarely written).
    write: Mutex<()>,
    /// Where durable local writes are announced to the replication.
    events: broadcast::Sender<LiveEvent>,
    /// Held through a whole forwarding of an item (R25): its steps in the appeals workflow and
    /// the meeting's record are taken one forwarding at a time (they are rare).
    forwarding: tokio::sync::Mutex<()>,
    /// Wakes the outbox's worker when a notice's deliveries are queued (set at server setup).
    outbox_wake: OnceLock<Arc<Notify>>,
}

/// One published upcoming meeting as the public page lists it (R37): no personal data.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicNotice {
    pub id: String,
    pub date: Day,
    pub time: String,
    pub format: sync::meetings::doc::MeetingFormat,
    pub place_kk: String,
    pub place_ru: String,
    pub link: Option<String>,
    /// The beats' names, `kk` and `ru`.
    pub beats_kk: Vec<String>,
    pub beats_ru: Vec<String>,
    pub published_on: Day,
}

/// Most upcoming meetings the public page lists.
pub const PUBLIC_NOTICES_MAX: usize = 500;

impl MeetingService {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: Arc<dyn Store>,
        gc: Arc<GroupCommit>,
        audit: Arc<AuditLog>,
        region: String,
        actor: ActorId,
        chunks_max: usize,
        reference: Arc<BeatsReference>,
        events: broadcast::Sender<LiveEvent>,
    ) -> Self {
        MeetingService {
            store,
            gc,
            audit,
            region,
            actor,
            chunks_max,
            reference: RwLock::new(reference),
            write: Mutex::new(()),
            events,
            forwarding: tokio::sync::Mutex::new(()),
            outbox_wake: OnceLock::new(),
        }
    }

    /// Tells the service how to wake the outbox's worker (server setup).
    pub fn set_outbox_wake(&self, wake: Arc<Notify>) {
        let _ = self.outbox_wake.set(wake);
    }

    /// Waits until a write is durable, then tells the replication which of this service's
    /// documents it changed (they reach the hub at once, not on the next connection).
    async fn durable(&self, ticket: u64, ids: &[&str]) -> ServiceResult<()> {
        self.gc.wait_async(ticket).await?;
        for id in ids {
            let _ = self.events.send(LiveEvent::Replicated {
                doc_id: self.doc_id(id)?.to_string(),
            });
        }
        Ok(())
    }

    /// The beats reference.
    pub fn reference(&self) -> Arc<BeatsReference> {
        self.reference
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Replaces the beats reference (the node's `[meetings] beats_file`, read at start).
    pub fn set_reference(&self, reference: BeatsReference) {
        *self
            .reference
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(reference);
    }

    /// The closest relation `login` (a region head when `region_head`) has to `beat`.
    pub fn relation(&self, login: &str, region_head: bool, beat: &str) -> Option<Relation> {
        let r = self.reference();
        let b = r.beat(beat)?;
        if b.inspector == login {
            Some(Relation::Inspector)
        } else if b.helpers.iter().any(|h| h == login) {
            Some(Relation::Helper)
        } else if r.office(&b.office).is_some_and(|o| o.head == login) {
            Some(Relation::OfficeHead)
        } else if region_head {
            Some(Relation::RegionHead)
        } else {
            None
        }
    }

    /// The beats the caller sees: theirs as inspector or helper, those of the offices they
    /// head, every beat for the region's head.
    pub fn visible_beats(&self, login: &str, region_head: bool) -> Vec<(String, Relation)> {
        let r = self.reference();
        r.beats
            .iter()
            .filter_map(|b| {
                self.relation(login, region_head, &b.code)
                    .map(|rel| (b.code.clone(), rel))
            })
            .collect()
    }

    fn doc_id(&self, id: &str) -> ServiceResult<DocId> {
        Ok(DocId::new(&self.region, DocKind::Meeting, id)?)
    }

    fn load(&self, id: &str) -> ServiceResult<Option<(MeetingDoc, Stored)>> {
        let doc_id = self.doc_id(id)?;
        let Some(bytes) = docs::load_bytes(&*self.store, &doc_id)? else {
            return Ok(None);
        };
        let mut doc = MeetingDoc::load(bytes.iter().map(|b| b.as_slice()))?;
        doc.set_actor(self.actor.clone());
        Ok(Some((doc, Stored::Chunks(bytes.len() - 1))))
    }

    fn rules(&self) -> MeetingRules<'_> {
        MeetingRules {
            region: &self.region,
        }
    }

    /// A meeting.
    pub fn get(&self, id: &str) -> ServiceResult<Meeting> {
        let (doc, _) = self
            .load(id)?
            .ok_or_else(|| ServiceError::NotFound(format!("meeting {id} does not exist")))?;
        Ok(doc.view()?)
    }

    /// A beat's meetings by date, those of `quarter` only when given.
    pub fn beat_meetings(
        &self,
        beat: &str,
        quarter: Option<Quarter>,
    ) -> ServiceResult<Vec<MeetingSummary>> {
        let all: Vec<MeetingSummary> =
            idx::scan(&*self.store, &idx::beat_prefix(beat), BEAT_MEETINGS_MAX)?;
        Ok(all
            .into_iter()
            .filter(|m| quarter.is_none_or(|q| q.contains(m.date)))
            .collect())
    }

    /// R22: the quarter of each of `beats` on `today`, with its warning.
    pub fn coverage(
        &self,
        quarter: Quarter,
        beats: &[(String, Relation)],
        today: Day,
    ) -> ServiceResult<Vec<BeatCoverage>> {
        let r = self.reference();
        let mut out = Vec::with_capacity(beats.len());
        for (code, relation) in beats {
            let Some(beat) = r.beat(code) else { continue };
            let meetings = self.beat_meetings(code, Some(quarter))?;
            let facts: Vec<MeetingFact> = meetings
                .iter()
                .map(|m| MeetingFact {
                    on: m.date,
                    stage: m.stage,
                })
                .collect();
            let c = coverage(quarter, &facts, today);
            out.push(BeatCoverage {
                beat: code.clone(),
                name_kk: beat.name_kk.clone(),
                name_ru: beat.name_ru.clone(),
                office: beat.office.clone(),
                inspector: beat.inspector.clone(),
                relation: *relation,
                coverage: c,
                warning: c.warns(),
                meetings,
            });
        }
        Ok(out)
    }

    /// Held meetings of `beats` whose protocol is unsigned and whose day is before `today`
    /// (R24: drawn up the same day; p.33: the office's head controls it).
    pub fn overdue_protocols(
        &self,
        beats: &[String],
        today: Day,
    ) -> ServiceResult<Vec<MeetingSummary>> {
        let mut out: Vec<MeetingSummary> = Vec::new();
        for beat in beats {
            let unsigned: Vec<MeetingSummary> =
                idx::scan(&*self.store, &idx::unsigned_prefix(beat), HEAD_LIST_MAX)?;
            for m in unsigned.into_iter().take_while(|m| m.date < today) {
                // A joint meeting is listed under each of its beats: once here.
                if out.len() < HEAD_LIST_MAX && !out.iter().any(|o| o.id == m.id) {
                    out.push(m);
                }
            }
        }
        out.sort_by(|a, b| (a.date, &a.id).cmp(&(b.date, &b.id)));
        Ok(out)
    }

    /// Complaints, proposals and remarks of `beats`' meetings still followed up (R25).
    pub fn open_items(&self, beats: &[String]) -> ServiceResult<Vec<OpenItem>> {
        let mut out: Vec<OpenItem> = Vec::new();
        for beat in beats {
            let open: Vec<OpenItem> =
                idx::scan(&*self.store, &idx::open_prefix(beat), HEAD_LIST_MAX)?;
            for i in open {
                // A joint meeting's items are listed under each of its beats: once here.
                if out.len() < HEAD_LIST_MAX
                    && !out
                        .iter()
                        .any(|o| o.meeting == i.meeting && o.item == i.item)
                {
                    out.push(i);
                }
            }
        }
        out.sort_by(|a, b| (a.date, &a.meeting, &a.item).cmp(&(b.date, &b.meeting, &b.item)));
        Ok(out)
    }

    /// Stages `doc` with its indexes and an audit entry (the write lock held by the caller),
    /// and returns the view and the ticket to wait for.
    #[allow(clippy::too_many_arguments)]
    fn commit(
        &self,
        id: &str,
        doc: &mut MeetingDoc,
        mut stored: Stored,
        before: Option<&Meeting>,
        by: &str,
        action: &str,
        details: serde_json::Value,
        now_ms: i64,
        extra: impl FnOnce(&mut WriteBatch) -> ServiceResult<()>,
    ) -> ServiceResult<(Meeting, u64)> {
        let doc_id = self.doc_id(id)?;
        let mut batch = WriteBatch::new();
        extra(&mut batch)?;
        let (view, _) = kinds::stage_write(
            &self.rules(),
            &mut batch,
            &doc_id,
            doc,
            &mut stored,
            before,
            self.chunks_max,
            now_ms,
        )?;
        let ticket = self.audit.record(
            &self.gc,
            batch,
            AuditInput::new(by, action, format!("meeting/{id}"), details),
            now_ms,
        )?;
        Ok((view, ticket))
    }

    fn check_plan(&self, plan: &MeetingPlan, today: Day) -> Result<(), DomainError> {
        let r = self.reference();
        check_plan(plan, today, &|b| r.beat(b).is_some())
    }

    /// Plans a meeting (checked against the beats reference); returns it once durable.
    pub async fn create(
        &self,
        plan: &MeetingPlan,
        today: Day,
        by: &str,
        now_ms: i64,
    ) -> ServiceResult<Meeting> {
        self.check_plan(plan, today)?;
        let id = uuid::Uuid::new_v4().to_string();
        let ctx = Ctx::new(by, self.region.as_str(), now_ms);
        let (view, ticket) = {
            let _g = lock(&self.write);
            let mut doc = MeetingDoc::create(self.actor.clone(), &id, &self.region, plan, &ctx)?;
            let details =
                serde_json::json!({"beats": plan.beats, "date": plan.date, "time": plan.time});
            self.commit(
                &id,
                &mut doc,
                Stored::New,
                None,
                by,
                "meeting.plan",
                details,
                now_ms,
                |_| Ok(()),
            )?
        };
        self.durable(ticket, &[&id]).await?;
        Ok(view)
    }

    /// Applies a command on `today` (the region's local date); returns the meeting once
    /// durable. A refused command writes nothing. A notice's posts and e-mails name the
    /// inspector by login; [`MeetingService::command_named`] gives their names.
    pub async fn command(
        &self,
        id: &str,
        cmd: &MeetingCommand,
        today: Day,
        by: &str,
        now_ms: i64,
    ) -> ServiceResult<Meeting> {
        self.command_named(id, cmd, today, by, now_ms, &|login: &str| login.to_string())
            .await
    }

    /// [`MeetingService::command`], with `full_name` giving a login's name. Publishing a notice
    /// (R37) also queues its deliveries, in the same batch as the notice: a post to the
    /// region's Telegram channel and VK wall and an e-mail to each invitee of the meeting's beats
    /// with an address, as the notice's channels ask, each recorded `queued` on the notice and
    /// staged in the outbox, which records `sent` or `failed` later.
    pub async fn command_named(
        &self,
        id: &str,
        cmd: &MeetingCommand,
        today: Day,
        by: &str,
        now_ms: i64,
        full_name: &(dyn Fn(&str) -> String + Sync),
    ) -> ServiceResult<Meeting> {
        if let MeetingCommand::Reschedule(plan) = cmd {
            self.check_plan(plan, today)?;
        }
        let ctx = Ctx::new(by, self.region.as_str(), now_ms);
        let mut queued = false;
        let (view, ticket) = {
            let _g = lock(&self.write);
            let (mut doc, stored) = self
                .load(id)?
                .ok_or_else(|| ServiceError::NotFound(format!("meeting {id} does not exist")))?;
            let before = doc.view()?;
            doc.apply(cmd, today, &ctx)?;
            let mut entries = Vec::new();
            if let MeetingCommand::PublishNotice(_) = cmd {
                entries = self.queue_notice(&mut doc, today, &ctx, full_name)?;
                queued = !entries.is_empty();
            }
            let (action, details) = audit_of(cmd);
            self.commit(
                id,
                &mut doc,
                stored,
                Some(&before),
                by,
                action,
                details,
                now_ms,
                |batch| {
                    for e in &entries {
                        Outbox::stage(batch, e)?;
                    }
                    Ok(())
                },
            )?
        };
        self.durable(ticket, &[id]).await?;
        if queued {
            if let Some(wake) = self.outbox_wake.get() {
                wake.notify_one();
            }
        }
        Ok(view)
    }

    /// R25: sends item `item` of meeting `id` — a complaint, proposal or remark not answered in
    /// full at the meeting and outside the police's competence — to the competent external
    /// body through the appeals workflow, the way a registrar does, and records it on the item.
    ///
    /// The appeal (channel `report_meeting`) is made from the item: its text, its author the
    /// registered participant (name, address, contact, given with their consent). Then, each
    /// step of the workflow with its own checks, terms and audit: registered with the region's
    /// number for the district inspectors' service ([`MEETING_APPEAL_SERVICE`]); the complaint
    /// sent to the body as part `…/1` (R29, due in 3 working days, R11); assigned to `staff`,
    /// who answers the author that it is outside the police's competence, naming the body
    /// (R15); the answer approved and stored as the letter to the author. The item then records
    /// `forwarded` with the appeal's id and whether the author's letter was stored.
    ///
    /// Idempotent and resumable: the appeal's id is derived from the meeting and the item
    /// ([`forward_appeal_id`]), each step is taken only where the appeal has not taken it yet,
    /// so a retry after a failure anywhere (the appeal stored, the meeting not) completes the
    /// same appeal; an item forwarded already is returned as it is. `full_name` gives a login's
    /// name for the letter.
    #[allow(clippy::too_many_arguments)]
    pub async fn forward_item(
        &self,
        appeals: &AppealService,
        id: &str,
        item: &str,
        staff: &Staff,
        calendar: &WorkCalendar,
        today: Day,
        now_ms: i64,
        full_name: impl Fn(&str) -> String,
    ) -> ServiceResult<Meeting> {
        use sync::appeal::{AppealCommand, AppealStatus as S};
        let _one = self.forwarding.lock().await;
        let meeting = self.get(id)?;
        let plan = forward_plan(&meeting, item, appeals.reference())?;
        let Some(plan) = plan else {
            // Forwarded already: nothing more to do.
            return Ok(meeting);
        };
        let appeal_id = forward_appeal_id(id, item);
        let (mut a, _) = appeals
            .intake_once(&staff.login, &appeal_id, plan.input.clone(), now_ms)
            .await?;
        if a.status == S::Received {
            a = appeals
                .register(&appeal_id, staff, plan.registration(), calendar, now_ms)
                .await?;
        }
        if a.status.is_open() && !a.parts.iter().any(|p| p.body == plan.body) {
            let cmd = AppealCommand::Split {
                parts: vec![sync::appeal::PartInput {
                    question: plan
                        .input
                        .text
                        .chars()
                        .take(sync::appeal::limits::QUESTION_CHARS_MAX)
                        .collect(),
                    body: plan.body.clone(),
                }],
            };
            a = appeals
                .command(&appeal_id, staff, cmd, calendar, now_ms)
                .await?;
        }
        if matches!(a.status, S::Registered | S::Routed)
            || (a.status == S::InWork && a.officer.as_deref() != Some(staff.login.as_str()))
        {
            let cmd = AppealCommand::Assign {
                officer: staff.login.clone(),
            };
            a = appeals
                .command(&appeal_id, staff, cmd, calendar, now_ms)
                .await?;
        }
        if a.status == S::InWork {
            let part = a
                .parts
                .iter()
                .find(|p| p.body == plan.body)
                .map(|p| p.number.clone())
                .unwrap_or_default();
            let cmd = AppealCommand::SubmitDraft {
                draft: plan.answer(&meeting, &part, appeals.reference()),
            };
            a = appeals
                .command(&appeal_id, staff, cmd, calendar, now_ms)
                .await?;
        }
        if a.status == S::OnApproval {
            a = appeals
                .approve(&appeal_id, staff, calendar, now_ms, |a| {
                    crate::appeals::answer::render_submitted(
                        appeals,
                        a,
                        &staff.name,
                        &full_name,
                        now_ms,
                    )
                })
                .await?;
        }
        if !a.parts.iter().any(|p| p.body == plan.body) {
            // Someone took the appeal another way (transferred it, say) before it was sent.
            return Err(DomainError::rule(
                "meeting_forward_stopped",
                format!(
                    "appeal {appeal_id} is {} and was not sent to {}: see the appeal",
                    a.status.as_str(),
                    plan.body
                ),
            )
            .into());
        }
        // The author's letter is the appeal's approved answer, stored with its step.
        let author_notified = a.answer.is_some();
        let step = sync::meetings::doc::FollowUpStep::Forwarded {
            body: plan.body,
            appeal: appeal_id,
            author_notified,
        };
        let cmd = MeetingCommand::FollowUp {
            item: item.to_string(),
            step,
        };
        self.command(id, &cmd, today, &staff.login, now_ms).await
    }

    /// The deliveries of the notice just published on `doc` (R37): each recorded `queued` on
    /// the notice (or `failed` when it has nowhere to go), and the outbox entries to stage.
    fn queue_notice(
        &self,
        doc: &mut MeetingDoc,
        today: Day,
        ctx: &Ctx,
        full_name: &(dyn Fn(&str) -> String + Sync),
    ) -> ServiceResult<Vec<OutboxEntry>> {
        let m = doc.view()?;
        let Some(notice) = m.notice.clone() else {
            return Ok(Vec::new());
        };
        let reference = self.reference();
        let inspector = m
            .plan
            .beats
            .first()
            .and_then(|b| reference.beat(b))
            .map(|b| full_name(&b.inspector))
            .unwrap_or_default();
        let (subject, text) =
            sync::meetings::documents::notice_post(&m, &reference, &inspector, notice.published_on)
                .map_err(answer_error)?;
        // (target, channel, kind, address)
        let mut targets: Vec<(String, Channel, OutgoingKind, String)> = Vec::new();
        let mut failed: Vec<(String, String)> = Vec::new();
        for channel in &notice.channels {
            match channel {
                NoticeChannel::Telegram => targets.push((
                    "telegram".into(),
                    Channel::Telegram,
                    OutgoingKind::Post,
                    String::new(),
                )),
                NoticeChannel::Vk => targets.push((
                    "vk".into(),
                    Channel::Vkontakte,
                    OutgoingKind::Post,
                    String::new(),
                )),
                NoticeChannel::Email => {
                    let beats: Vec<&str> = m.plan.beats.iter().map(String::as_str).collect();
                    let with_address: Vec<_> = reference
                        .invitees_for(&beats)
                        .into_iter()
                        .filter_map(|i| i.email.as_ref().map(|e| (i.code.clone(), e.clone())))
                        .collect();
                    if with_address.is_empty() {
                        failed.push((
                            "email".into(),
                            "no invitee of the meeting's beats has an e-mail address".into(),
                        ));
                    }
                    for (code, email) in with_address {
                        targets.push((
                            format!("email:{code}"),
                            Channel::Email,
                            OutgoingKind::Post,
                            email,
                        ));
                    }
                }
                // The public page reads the notice itself; the printable one is made on demand.
                NoticeChannel::Page | NoticeChannel::Print => {}
            }
        }
        let mut entries = Vec::with_capacity(targets.len());
        for (target, channel, kind, address) in targets {
            doc.apply(
                &MeetingCommand::NoticeDelivery(NoticeDelivery {
                    notice_at_ms: notice.at_ms,
                    target: target.clone(),
                    state: DeliveryState::Queued,
                    reason: None,
                    external_id: None,
                    at_ms: ctx.now_ms,
                }),
                today,
                ctx,
            )?;
            entries.push(OutboxEntry {
                message: OutgoingMessage {
                    outbox_id: format!("{}.notice.{}.{target}", m.id, notice.at_ms),
                    channel,
                    kind,
                    address,
                    conversation_id: String::new(),
                    text: text.clone(),
                    in_reply_to: None,
                    subject: Some(subject.clone()),
                },
                of: DeliveryOf::MeetingNotice {
                    meeting_id: m.id.clone(),
                    notice_at_ms: notice.at_ms,
                    target,
                },
                attempts: 0,
                next_at_ms: ctx.now_ms,
                queued_at_ms: ctx.now_ms,
            });
        }
        for (target, reason) in failed {
            doc.apply(
                &MeetingCommand::NoticeDelivery(NoticeDelivery {
                    notice_at_ms: notice.at_ms,
                    target,
                    state: DeliveryState::Failed,
                    reason: Some(reason),
                    external_id: None,
                    at_ms: ctx.now_ms,
                }),
                today,
                ctx,
            )?;
        }
        Ok(entries)
    }

    /// Records where a notice's delivery stands (the outbox, after a send) and removes its
    /// outbox entry `outbox_key` (when given: a result; `None`: a delivery still queued, with why
    /// it is retried), in one batch; a meeting gone, or a record it refuses, only removes the
    /// entry.
    pub async fn record_notice_delivery(
        &self,
        id: &str,
        delivery: &NoticeDelivery,
        attempts: u32,
        outbox_key: Option<&str>,
        now_ms: i64,
    ) -> ServiceResult<()> {
        let cmd = MeetingCommand::NoticeDelivery(delivery.clone());
        let ctx = Ctx::new(NOTICE_ACTOR, self.region.as_str(), now_ms);
        // The command does not read the day.
        let today = Day::from_ms(now_ms, 0);
        let recorded: ServiceResult<u64> = (|| {
            let _g = lock(&self.write);
            let (mut doc, stored) = self
                .load(id)?
                .ok_or_else(|| ServiceError::NotFound(format!("meeting {id} does not exist")))?;
            let before = doc.view()?;
            doc.apply(&cmd, today, &ctx)?;
            let action = match delivery.state {
                DeliveryState::Failed => "meeting.notice_failed",
                DeliveryState::Queued => "meeting.notice_retried",
                DeliveryState::Sent => "meeting.notice_sent",
            };
            let details = serde_json::json!({"target": delivery.target, "attempts": attempts});
            let (_, ticket) = self.commit(
                id,
                &mut doc,
                stored,
                Some(&before),
                NOTICE_ACTOR,
                action,
                details,
                now_ms,
                |batch| {
                    if let Some(key) = outbox_key {
                        batch.delete(key.to_string());
                    }
                    Ok(())
                },
            )?;
            Ok(ticket)
        })();
        match recorded {
            Ok(ticket) => self.durable(ticket, &[id]).await,
            Err(ServiceError::Domain(DomainError::Rule { .. } | DomainError::NotFound { .. }))
            | Err(ServiceError::NotFound(_)) => {
                if let Some(key) = outbox_key {
                    let mut batch = WriteBatch::new();
                    batch.delete(key.to_string());
                    self.gc.commit_async(batch).await?;
                }
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// The region's published upcoming meetings on `today` (the region's local date) whose
    /// notice goes to the public page (R37), by date and time.
    pub fn public_notices(&self, today: Day) -> ServiceResult<Vec<PublicNotice>> {
        let reference = self.reference();
        let mut out: Vec<PublicNotice> = Vec::new();
        for beat in &reference.beats {
            for summary in self.beat_meetings(&beat.code, None)? {
                if summary.stage != MeetingStage::Noticed
                    || summary.date < today
                    || out.iter().any(|p| p.id == summary.id)
                    || out.len() >= PUBLIC_NOTICES_MAX
                {
                    continue;
                }
                let m = self.get(&summary.id)?;
                let Some(notice) = m.notice.as_ref() else {
                    continue;
                };
                if !notice.channels.contains(&NoticeChannel::Page) {
                    continue;
                }
                let names = |kk: bool| {
                    m.plan
                        .beats
                        .iter()
                        .map(|c| match reference.beat(c) {
                            Some(b) if kk => b.name_kk.clone(),
                            Some(b) => b.name_ru.clone(),
                            None => c.clone(),
                        })
                        .collect()
                };
                out.push(PublicNotice {
                    id: m.id.clone(),
                    date: m.plan.date,
                    time: m.plan.time.clone(),
                    format: m.plan.format,
                    place_kk: m.plan.place_kk.clone(),
                    place_ru: m.plan.place_ru.clone(),
                    link: m.plan.link.clone(),
                    beats_kk: names(true),
                    beats_ru: names(false),
                    published_on: notice.published_on,
                });
            }
        }
        out.sort_by(|a, b| (a.date, &a.time, &a.id).cmp(&(b.date, &b.time, &b.id)));
        Ok(out)
    }

    /// The printable notice of `meeting` (R37, p.26) as a Word document in its language: the
    /// notice covering its plan; `full_name` gives the inspector's name.
    pub fn notice_docx(
        &self,
        meeting: &Meeting,
        full_name: impl Fn(&str) -> String,
    ) -> ServiceResult<Vec<u8>> {
        let notice = meeting.notice.as_ref().ok_or_else(|| {
            ServiceError::Domain(DomainError::rule(
                "meeting_not_noticed",
                "the meeting has no notice for its date and time",
            ))
        })?;
        let reference = self.reference();
        let inspector = meeting
            .plan
            .beats
            .first()
            .and_then(|b| reference.beat(b))
            .map(|b| full_name(&b.inspector))
            .unwrap_or_default();
        let input = sync::meetings::documents::notice_document(
            meeting,
            &reference,
            sync::meetings::documents::meeting_lang(&meeting.plan.language),
            &inspector,
            notice.published_on,
        );
        answers::meeting::render_notice(&input).map_err(answer_error)
    }

    /// The protocol of meeting `id` as a Word document (R24, p.32): signed version `version`,
    /// else the latest signed one, else the unsigned draft as it stands (marked so in the
    /// document). `full_name` gives a login's name as it is signed.
    pub fn protocol_docx(
        &self,
        meeting: &Meeting,
        version: Option<u32>,
        full_name: impl Fn(&str) -> String,
    ) -> ServiceResult<Vec<u8>> {
        let signature = match version {
            Some(v) => Some(
                meeting
                    .signatures
                    .iter()
                    .find(|s| s.version == v)
                    .ok_or_else(|| {
                        ServiceError::NotFound(format!(
                            "meeting {} has no signed protocol version {v}",
                            meeting.id
                        ))
                    })?,
            ),
            None => meeting.protocol(),
        };
        let reference = self.reference();
        // The signer's login as the document records it (`login@REGION`); the draft names the
        // inspector of the meeting's first beat.
        let login = match signature {
            Some(s) => s.by.split('@').next().unwrap_or(&s.by).to_string(),
            None => meeting
                .plan
                .beats
                .first()
                .and_then(|b| reference.beat(b))
                .map(|b| b.inspector.clone())
                .unwrap_or_default(),
        };
        let input = sync::meetings::documents::protocol_document(
            meeting,
            signature,
            &reference,
            &full_name(&login),
        );
        answers::render_protocol(&input).map_err(answer_error)
    }

    /// The previous meetings of `meeting`'s beats (held before its day, at most a report
    /// period back) with their items, for the draft report's follow-up (p.30).
    fn previous_meetings(&self, meeting: &Meeting) -> ServiceResult<Vec<PreviousMeeting>> {
        let since = meeting.plan.date.plus_days(-REPORT_PERIOD_DAYS_MAX);
        let mut out: Vec<PreviousMeeting> = Vec::new();
        for beat in &meeting.plan.beats {
            for m in self.beat_meetings(beat, None)? {
                if m.stage != MeetingStage::Held
                    || m.date >= meeting.plan.date
                    || m.date < since
                    || out.iter().any(|p| p.id == m.id)
                {
                    continue;
                }
                let view = self.get(&m.id)?;
                out.push(PreviousMeeting {
                    id: view.id,
                    date: m.date,
                    items: view.items,
                });
            }
        }
        Ok(out)
    }

    /// The inspector's draft report for the quarter of `meeting` as a Word document (p.29–30):
    /// `cards` and `appeals` of the region (any period around it: counted only in the quarter
    /// and the meeting's beats), the previous meetings' items, on `today`. `full_name` gives a
    /// login's name.
    pub fn report_docx(
        &self,
        meeting: &Meeting,
        cards: Vec<CardFact>,
        appeals: Vec<AppealFact>,
        calls: &sync::reference::Reference,
        today: Day,
        full_name: impl Fn(&str) -> String,
    ) -> ServiceResult<Vec<u8>> {
        let reference = self.reference();
        let input = BeatReportInput {
            beats: meeting.plan.beats.clone(),
            cards,
            appeals,
            previous: self.previous_meetings(meeting)?,
        };
        let period = Period::quarter(Quarter::of(meeting.plan.date));
        let report = beat_report(&input, &reference, period)?;
        let mut inspectors: Vec<String> = Vec::new();
        for b in &meeting.plan.beats {
            if let Some(beat) = reference.beat(b) {
                let name = full_name(&beat.inspector);
                if !inspectors.contains(&name) {
                    inspectors.push(name);
                }
            }
        }
        let doc = sync::meetings::documents::report_document(
            &report,
            &reference,
            calls,
            sync::meetings::documents::meeting_lang(&meeting.plan.language),
            &inspectors.join(", "),
            today,
        );
        answers::render_meeting_report(&doc).map_err(answer_error)
    }

    /// Where meeting `id`'s video recordings live: beside the call recordings, under
    /// `meetings/<id>/` of `recordings_dir` (ids are checked doc ids: no path separators).
    pub fn recordings_dir(recordings_dir: &Path, id: &str) -> PathBuf {
        recordings_dir.join("meetings").join(id)
    }

    /// Stores a video recording of held meeting `meeting` streamed from `body` (R24): written
    /// to a temporary file, hashed, fsynced and renamed, then recorded on the meeting with
    /// [`MeetingCommand::AddRecording`]; a refused upload or command leaves no file.
    #[allow(clippy::too_many_arguments)]
    pub async fn add_recording<S, E>(
        &self,
        recordings_dir: &Path,
        meeting: &Meeting,
        content_type: &str,
        mut body: S,
        today: Day,
        by: &str,
        now_ms: i64,
    ) -> ServiceResult<Meeting>
    where
        S: futures::Stream<Item = Result<axum::body::Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        use futures::StreamExt;
        use sha2::Digest;
        use tokio::io::AsyncWriteExt;
        if !MEETING_RECORDING_TYPES.contains(&content_type) {
            return Err(DomainError::rule_field(
                "meeting_recording_type",
                "content_type",
                format!("a recording is one of {MEETING_RECORDING_TYPES:?}, not {content_type}"),
            )
            .into());
        }
        if meeting.stage != MeetingStage::Held {
            return Err(DomainError::rule(
                "meeting_not_held",
                "a recording is added to a held meeting",
            )
            .into());
        }
        let io = |e: std::io::Error| ServiceError::from(StoreError::Io(e.to_string()));
        let dir = Self::recordings_dir(recordings_dir, &meeting.id);
        tokio::fs::create_dir_all(&dir).await.map_err(io)?;
        let rid = uuid::Uuid::new_v4().to_string();
        let part = dir.join(format!(".{rid}.part"));
        let path = dir.join(&rid);
        let written: ServiceResult<(String, u64)> = async {
            let mut file = tokio::fs::File::create(&part).await.map_err(io)?;
            let mut sha = sha2::Sha256::new();
            let mut bytes = 0u64;
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(|e| {
                    DomainError::rule_field(
                        "meeting_recording_interrupted",
                        "recording",
                        format!("the upload broke off: {e}"),
                    )
                })?;
                bytes += chunk.len() as u64;
                if bytes > MEETING_RECORDING_BYTES_MAX {
                    return Err(DomainError::rule_field(
                        "meeting_recording_too_large",
                        "recording",
                        format!("a recording is at most {MEETING_RECORDING_BYTES_MAX} bytes"),
                    )
                    .into());
                }
                sha.update(&chunk);
                file.write_all(&chunk).await.map_err(io)?;
            }
            if bytes == 0 {
                return Err(DomainError::rule_field(
                    "meeting_recording_empty",
                    "recording",
                    "the recording is empty",
                )
                .into());
            }
            file.sync_all().await.map_err(io)?;
            tokio::fs::rename(&part, &path).await.map_err(io)?;
            tokio::fs::File::open(&dir)
                .await
                .map_err(io)?
                .sync_all()
                .await
                .map_err(io)?;
            Ok((hex::encode(sha.finalize()), bytes))
        }
        .await;
        let (sha256, bytes) = match written {
            Ok(w) => w,
            Err(e) => {
                let _ = tokio::fs::remove_file(&part).await;
                return Err(e);
            }
        };
        let cmd = MeetingCommand::AddRecording(Recording {
            id: rid,
            sha256,
            bytes,
            content_type: content_type.to_string(),
            at_ms: now_ms,
            by: by.to_string(),
        });
        match self.command(&meeting.id, &cmd, today, by, now_ms).await {
            Ok(m) => Ok(m),
            Err(e) => {
                let _ = tokio::fs::remove_file(&path).await;
                Err(e)
            }
        }
    }

    /// Opens recording `rid` of `meeting` for `by` to watch, audited as call recordings'
    /// playback is; only a recording the meeting lists (no path comes from the request).
    pub async fn open_recording(
        &self,
        recordings_dir: &Path,
        meeting: &Meeting,
        rid: &str,
        by: &str,
        now_ms: i64,
    ) -> ServiceResult<(Recording, tokio::fs::File)> {
        let rec = meeting
            .recordings
            .iter()
            .find(|r| r.id == rid)
            .cloned()
            .ok_or_else(|| {
                ServiceError::NotFound(format!("meeting {} has no recording {rid}", meeting.id))
            })?;
        let path = Self::recordings_dir(recordings_dir, &meeting.id).join(&rec.id);
        let file = tokio::fs::File::open(&path)
            .await
            .map_err(|_| ServiceError::NotFound(format!("recording {rid} is not on this node")))?;
        let ticket = self.audit.record(
            &self.gc,
            WriteBatch::new(),
            AuditInput::new(
                by,
                "meeting.recording.play",
                format!("meeting/{}", meeting.id),
                serde_json::json!({"recording": rec.id}),
            ),
            now_ms,
        )?;
        self.gc.wait_async(ticket).await?;
        Ok((rec, file))
    }

    /// R26: erases the materials of every held meeting of the region's beats whose year has
    /// passed on `today` and that has no hold: its recordings' files first, then (a replicated
    /// [`MeetingCommand::EraseMaterials`]) the participants' personal data and the recordings'
    /// entries; a failure leaves the meeting for the next sweep. Returns how many were erased.
    pub async fn sweep_retention(
        &self,
        recordings_dir: &Path,
        today: Day,
        now_ms: i64,
    ) -> ServiceResult<usize> {
        let reference = self.reference();
        let mut seen: Vec<String> = Vec::new();
        let mut erased = 0;
        for beat in &reference.beats {
            for summary in self.beat_meetings(&beat.code, None)? {
                if summary.stage != MeetingStage::Held || seen.contains(&summary.id) {
                    continue;
                }
                seen.push(summary.id.clone());
                let m = self.get(&summary.id)?;
                let due = m
                    .held_on
                    .is_some_and(|held| sync::meetings::materials_expired(held, today, m.hold));
                if !due || (m.participants.is_empty() && m.recordings.is_empty()) {
                    continue;
                }
                let dir = Self::recordings_dir(recordings_dir, &m.id);
                match tokio::fs::remove_dir_all(&dir).await {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        tracing::warn!("meeting {}: recordings not deleted: {e}", m.id);
                        continue;
                    }
                }
                self.command(
                    &m.id,
                    &MeetingCommand::EraseMaterials,
                    today,
                    RETENTION_ACTOR,
                    now_ms,
                )
                .await?;
                erased += 1;
            }
        }
        Ok(erased)
    }

    /// Runs `f` on the automerge core of a stored document (replication export).
    pub fn with_doc<T>(
        &self,
        doc_id: &DocId,
        f: impl FnOnce(&mut automerge::AutoCommit) -> T,
    ) -> ServiceResult<T> {
        let (mut doc, _) = self
            .load(doc_id.id())?
            .ok_or_else(|| ServiceError::NotFound(format!("{doc_id} does not exist")))?;
        Ok(f(doc.automerge()))
    }

    /// Applies a peer's bytes with the indexes and an audit entry, and returns once durable.
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
        let (ticket, heads) = {
            let _g = lock(&self.write);
            let stored = self.load(id).map_err(|e| storage(e.to_string()))?;
            let (ticket, Imported { heads, .. }, _) = kinds::import_replica(
                &self.rules(),
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
                    target: format!("meeting/{id}"),
                },
                |_| Default::default(),
            )?;
            (ticket, heads)
        };
        self.gc
            .wait_durable(ticket)
            .map_err(|e| storage(e.to_string()))?;
        Ok(heads)
    }
}

/// Runs [`MeetingService::sweep_retention`] every `interval` (the call recordings' sweep
/// interval, `[calls] retention_sweep_interval_s`) with today in the region's local time,
/// until the service is gone.
pub async fn retention_loop(
    svc: std::sync::Weak<MeetingService>,
    recordings_dir: PathBuf,
    interval: std::time::Duration,
    utc_offset_min: i32,
) {
    loop {
        {
            let Some(s) = svc.upgrade() else { return };
            let now = server_kit::clock::now_ms();
            match s
                .sweep_retention(&recordings_dir, Day::from_ms(now, utc_offset_min), now)
                .await
            {
                Ok(0) => {}
                Ok(erased) => tracing::info!(erased, "meeting materials retention sweep"),
                Err(e) => tracing::error!(error = %e, "meeting materials retention sweep failed"),
            }
        }
        tokio::time::sleep(interval).await;
    }
}

/// The service of the district inspectors (местная полицейская служба) that registers the
/// appeals made of report meetings' complaints (R25): a code of the region's reference.
pub const MEETING_APPEAL_SERVICE: &str = "local-police";

/// The id of the appeal made of item `item` of meeting `meeting` (R25): derived from both, so
/// that a retry of the forwarding finds the appeal an earlier try stored.
pub fn forward_appeal_id(meeting: &str, item: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("{meeting}\n{item}").as_bytes());
    format!("meeting-{}", &hex::encode(digest)[..32])
}

/// What forwarding an item makes: the appeal's intake and the body.
struct ForwardPlan {
    input: AppealInput,
    kind: AppealKind,
    body: String,
}

impl ForwardPlan {
    fn registration(&self) -> Registration {
        Registration {
            kind: self.kind,
            tags: Vec::new(),
            collective: false,
            personal_reception: false,
            anonymous: false,
            crime_signs: false,
            service: MEETING_APPEAL_SERVICE.to_string(),
            duplicate_of: Vec::new(),
        }
    }

    /// The answer to the author (R15): outside the police's competence, sent to the body.
    fn answer(&self, meeting: &Meeting, part: &str, r: &Reference) -> AnswerDraft {
        let lang = self.input.language;
        let body = r.external_body(&self.body);
        let (name_kk, name_ru) = body
            .map(|b| (b.name_kk.as_str(), b.name_ru.as_str()))
            .unwrap_or((self.body.as_str(), self.body.as_str()));
        let date = meeting.plan.date.to_string();
        let text = match lang {
            Language::Kk => format!(
                "{date} учаскелік полиция инспекторының есепті кездесуінде айтылған өтінішіңіз полицияның құзыретіне жатпайды. Ол құзыреті бойынша {name_kk} жіберілді (№ {part})."
            ),
            Language::Ru => format!(
                "Ваше обращение, высказанное на отчетной встрече участкового инспектора полиции {date}, не относится к компетенции полиции. Оно направлено по компетенции: {name_ru} (№ {part})."
            ),
        };
        AnswerDraft {
            decision: Decision::OutsideCompetence,
            language: lang,
            paragraphs: vec![text],
            table: None,
            images: Vec::new(),
            competent_body: Some(self.body.clone()),
        }
    }
}

/// Checks that item `item` of `meeting` is to be forwarded (R25) and makes its appeal; `None`
/// where it is forwarded already. Refused: no such item; the protocol not signed; the item
/// closed, answered in full at the meeting, or within the police's competence; a body the
/// region's reference does not know; no registered author (the appeals workflow does not
/// consider an anonymous appeal, R11).
fn forward_plan(
    meeting: &Meeting,
    item: &str,
    r: &Reference,
) -> ServiceResult<Option<ForwardPlan>> {
    use sync::meetings::doc::{FollowUpStep, ItemKind, ItemState};
    let Some(it) = meeting.items.iter().find(|i| i.id == item) else {
        return Err(ServiceError::NotFound(format!(
            "item {item} is not in meeting {}",
            meeting.id
        )));
    };
    if it
        .follow_up
        .iter()
        .any(|f| matches!(f.step, FollowUpStep::Forwarded { .. }))
    {
        return Ok(None);
    }
    if meeting.signatures.is_empty() {
        return Err(DomainError::rule(
            "meeting_protocol_not_signed",
            "items are followed up once the protocol is signed",
        )
        .into());
    }
    if it.state == ItemState::Closed {
        return Err(
            DomainError::rule("meeting_item_closed", format!("item {item} is closed")).into(),
        );
    }
    if it.answered_fully {
        return Err(DomainError::rule(
            "meeting_item_answered",
            "the item was answered in full at the meeting: nothing to forward",
        )
        .into());
    }
    let Some(body) = it.outside_competence.clone() else {
        return Err(DomainError::rule(
            "meeting_item_within_competence",
            "the item is within the police's competence: it is checked, not forwarded",
        )
        .into());
    };
    if r.external_body(&body).is_none() {
        return Err(DomainError::rule_field(
            "meeting_body_unknown",
            "outside_competence",
            format!("{body:?} is not a competent body of the region's reference"),
        )
        .into());
    }
    if r.service(MEETING_APPEAL_SERVICE).is_none() {
        return Err(DomainError::rule(
            "meeting_appeal_service_missing",
            format!("the region's reference has no service {MEETING_APPEAL_SERVICE:?} to register the appeal with"),
        )
        .into());
    }
    let Some(author) = it.author.as_deref() else {
        return Err(DomainError::rule(
            "meeting_item_no_author",
            "the item has no registered author: the appeals workflow does not consider an anonymous appeal (R11)",
        )
        .into());
    };
    let Some(p) = meeting.participants.iter().find(|p| p.id == author) else {
        return Err(DomainError::rule(
            "meeting_participant_unknown",
            format!("participant {author} is not registered (or their data was erased, R26)"),
        )
        .into());
    };
    let contact = p.contact.trim();
    let email = contact.contains('@').then(|| contact.to_string());
    let phone = (!contact.is_empty() && email.is_none()).then(|| contact.to_string());
    let applicant = Applicant {
        kind: Some(ApplicantKind::Person),
        name: Some(p.name.trim().to_string()),
        address: Some(p.address.trim().to_string()).filter(|a| !a.is_empty()),
        phone,
        email,
        ..Applicant::default()
    };
    let kind = match it.kind {
        ItemKind::Proposal => AppealKind::Proposal,
        ItemKind::Complaint | ItemKind::Remark => AppealKind::Appeal,
    };
    let language = if meeting.plan.language == "kk" {
        Language::Kk
    } else {
        Language::Ru
    };
    Ok(Some(ForwardPlan {
        input: AppealInput {
            channel: AppealChannel::ReportMeeting,
            kind: Some(kind),
            language,
            text: it.text.clone(),
            applicant: Some(applicant),
            co_applicants: Vec::new(),
            location: None,
            attachments: Vec::new(),
            anonymous: false,
            card_id: None,
            card_number: None,
        },
        kind,
        body,
    }))
}

/// A document the generator refuses (a text too long for it, say) as the rule it breaks.
fn answer_error(e: answers::AnswerError) -> ServiceError {
    ServiceError::Domain(DomainError::Rule {
        code: e.code(),
        field: e.field().map(str::to_string),
        message: e.to_string(),
    })
}

/// The audit action and facts of a command (no personal data: participants by id only).
fn audit_of(cmd: &MeetingCommand) -> (&'static str, serde_json::Value) {
    use serde_json::json;
    match cmd {
        MeetingCommand::Reschedule(p) => (
            "meeting.reschedule",
            json!({"beats": p.beats, "date": p.date, "time": p.time}),
        ),
        MeetingCommand::PublishNotice(ch) => ("meeting.notice", json!({"channels": ch})),
        MeetingCommand::Invitation { invitee, state } => (
            "meeting.invitation",
            json!({"invitee": invitee, "state": state}),
        ),
        MeetingCommand::Register { id, .. } => ("meeting.register", json!({"participant": id})),
        MeetingCommand::MarkHeld => ("meeting.held", json!({})),
        MeetingCommand::EditProtocol(f) => (
            "meeting.protocol",
            json!({"fields": f.keys().collect::<Vec<_>>()}),
        ),
        MeetingCommand::AddItem { id, item } => (
            "meeting.item",
            json!({"item": id, "kind": item.kind, "answered_fully": item.answered_fully}),
        ),
        MeetingCommand::Sign => ("meeting.sign", json!({})),
        MeetingCommand::StartCorrection { .. } => ("meeting.correction", json!({})),
        MeetingCommand::FollowUp { item, step } => (
            "meeting.follow_up",
            json!({"item": item, "step": match step {
                sync::meetings::doc::FollowUpStep::Checking { .. } => "checking",
                sync::meetings::doc::FollowUpStep::Forwarded { .. } => "forwarded",
                sync::meetings::doc::FollowUpStep::Closed { .. } => "closed",
            }}),
        ),
        MeetingCommand::AddRecording(r) => ("meeting.recording", json!({"recording": r.id})),
        MeetingCommand::SetHold(h) => ("meeting.hold", json!({"hold": h})),
        MeetingCommand::Cancel { .. } => ("meeting.cancel", json!({})),
        MeetingCommand::EraseMaterials => ("meeting.materials_erased", json!({})),
        MeetingCommand::NoticeDelivery(d) => (
            "meeting.notice_delivery",
            json!({"target": d.target, "state": d.state}),
        ),
    }
}

impl NoticeRecorder for MeetingService {
    fn record_notice_delivery<'a>(
        &'a self,
        id: &'a str,
        delivery: &'a NoticeDelivery,
        attempts: u32,
        outbox_key: Option<&'a str>,
        now_ms: i64,
    ) -> futures::future::BoxFuture<'a, ServiceResult<()>> {
        Box::pin(MeetingService::record_notice_delivery(
            self, id, delivery, attempts, outbox_key, now_ms,
        ))
    }
}
