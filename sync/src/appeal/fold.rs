//! The appeal's log of steps and the fold that turns it into the view (merge rules: see the
//! module above).

use serde::{Deserialize, Serialize};

use super::model::*;
use crate::calendar::Day;

/// One entry of the log: who, when, from which replica, and the step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub at: i64,
    pub by: String,
    pub writer: String,
    #[serde(flatten)]
    pub event: Event,
}

/// A step of the workflow as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Event {
    Registered {
        number: String,
        registration: Registration,
        registration_day: Day,
        deadline: Day,
        by_name: Option<String>,
    },
    NotConsidered {
        reason: String,
    },
    Transferred {
        system: String,
        reason: String,
        due: Day,
        late: bool,
        cancel_until: Day,
    },
    TransferCancelled {
        reason: String,
    },
    Routed {
        service: String,
        reason: String,
    },
    Assigned {
        officer: String,
    },
    Split {
        parts: Vec<AppealPart>,
    },
    CrimeSigns {
        flag: bool,
        reason: String,
    },
    Kui {
        number: String,
    },
    Extended {
        until: Day,
        reason: String,
        notice_due: Day,
    },
    ExtensionNotice {},
    DraftSubmitted {
        seq: u32,
        draft: AnswerDraft,
    },
    DraftReturned {
        seq: u32,
        reason: String,
    },
    Approved {
        seq: u32,
        sha256: String,
        size: u64,
    },
    Note {
        text: String,
    },
    Attached {
        attachment: AttachmentRef,
    },
    CardLinked {
        card_id: String,
        card_number: String,
    },
    LateDuplicate {
        candidates: Vec<LateDuplicate>,
    },
    /// ОЛ-1 field 8 edited with a tag (004 p.4); last writer wins, the tag joins the tags.
    KindCorrected {
        kind: AppealKind,
        tag: String,
    },
    /// З-1 values typed by hand (the forms read them from the history: `sync::forms`). Keys are
    /// field numbers as text: an internally tagged enum cannot read integer map keys back.
    Z1Filled {
        applicant: usize,
        fields: std::collections::BTreeMap<String, String>,
    },
}

impl Event {
    /// The history's action code.
    pub fn action(&self) -> &'static str {
        match self {
            Event::Registered { .. } => "appeal.registered",
            Event::NotConsidered { .. } => "appeal.not_considered",
            Event::Transferred { .. } => "appeal.transferred",
            Event::TransferCancelled { .. } => "appeal.transfer_cancelled",
            Event::Routed { .. } => "appeal.routed",
            Event::Assigned { .. } => "appeal.assigned",
            Event::Split { .. } => "appeal.split",
            Event::CrimeSigns { .. } => "appeal.crime_signs",
            Event::Kui { .. } => "appeal.kui",
            Event::Extended { .. } => "appeal.extended",
            Event::ExtensionNotice {} => "appeal.extension_notice",
            Event::DraftSubmitted { .. } => "appeal.draft_submitted",
            Event::DraftReturned { .. } => "appeal.returned",
            Event::Approved { .. } => "appeal.approved",
            Event::Note { .. } => "appeal.note",
            Event::Attached { .. } => "appeal.attached",
            Event::CardLinked { .. } => "appeal.card_linked",
            Event::LateDuplicate { .. } => "appeal.late_duplicate",
            Event::KindCorrected { .. } => "appeal.kind_corrected",
            Event::Z1Filled { .. } => "appeal.z1_filled",
        }
    }

    /// The parameters the history shows (no draft bodies: those are in `drafts`).
    fn params(&self) -> serde_json::Value {
        use serde_json::json;
        match self {
            Event::Registered {
                number,
                registration: r,
                deadline,
                ..
            } => {
                json!({"number": number, "service": r.service, "kind": r.kind, "deadline": deadline})
            }
            Event::NotConsidered { reason } => json!({"reason": reason}),
            Event::Transferred { system, reason, .. } => {
                json!({"system": system, "reason": reason})
            }
            Event::TransferCancelled { reason } => json!({"reason": reason}),
            Event::Routed { service, reason } => json!({"service": service, "reason": reason}),
            Event::Assigned { officer } => json!({"officer": officer}),
            Event::Split { parts } => {
                json!({"parts": parts.iter().map(|p| json!({"number": p.number, "body": p.body})).collect::<Vec<_>>()})
            }
            Event::CrimeSigns { flag, reason } => json!({"flag": flag, "reason": reason}),
            Event::Kui { number } => json!({"number": number}),
            Event::Extended { until, reason, .. } => json!({"until": until, "reason": reason}),
            Event::ExtensionNotice {} => json!({}),
            Event::DraftSubmitted { seq, draft } => {
                json!({"seq": seq, "decision": draft.decision, "language": draft.language})
            }
            Event::DraftReturned { seq, reason } => json!({"seq": seq, "reason": reason}),
            Event::Approved { seq, sha256, .. } => json!({"seq": seq, "sha256": sha256}),
            Event::Note { text } => json!({"text": text}),
            Event::KindCorrected { kind, tag } => json!({"kind": kind, "tag": tag}),
            Event::Z1Filled { applicant, fields } => {
                json!({"applicant": applicant, "fields": fields})
            }
            Event::Attached { attachment } => {
                json!({"file_name": attachment.file_name, "sha256": attachment.sha256})
            }
            Event::CardLinked { card_number, .. } => json!({"card_number": card_number}),
            Event::LateDuplicate { candidates } => {
                json!({"candidates": candidates.iter().map(|c| json!({"region": c.region, "number": c.number})).collect::<Vec<_>>()})
            }
        }
    }
}

/// Rank of a terminal outcome in the lattice: the higher wins whatever the order.
fn terminal_rank(s: AppealStatus) -> u8 {
    match s {
        AppealStatus::Answered => 3,
        AppealStatus::NotConsidered => 2,
        AppealStatus::Transferred => 1,
        _ => 0,
    }
}

/// The view of an appeal from its intake and log.
pub(super) fn fold(
    id: String,
    region: String,
    received_at: i64,
    intake: AppealIntake,
    log: Vec<Entry>,
) -> Appeal {
    let mut applicants: Vec<Applicant> = intake.applicant.iter().cloned().collect();
    applicants.extend(intake.co_applicants.iter().cloned());
    let mut a = Appeal {
        id,
        region,
        number: None,
        status: AppealStatus::Received,
        kind: intake.kind,
        channel: intake.channel,
        language: intake.language,
        text: intake.text,
        received_at,
        collective: applicants.len() > 1,
        applicants,
        anonymous: intake.anonymous,
        personal_reception: false,
        codes: Vec::new(),
        tags: Vec::new(),
        location: intake.location,
        attachments: intake.attachments,
        registered_at: None,
        registered_by: None,
        registered_by_name: None,
        registration_day: None,
        service: None,
        officer: None,
        deadline: None,
        deadline_state: None,
        extensions: Vec::new(),
        crime_signs: false,
        kui: None,
        kui_due_at: None,
        duplicate_of: Vec::new(),
        late_duplicates: Vec::new(),
        parts: Vec::new(),
        transfer: None,
        drafts: Vec::new(),
        answer: None,
        not_considered_reason: None,
        card_id: intake.card_id,
        card_number: intake.card_number,
        history: Vec::with_capacity(log.len()),
        updated_at: received_at,
    };
    let mut terminal = AppealStatus::Received;
    for e in log {
        a.updated_at = a.updated_at.max(e.at);
        a.history.push(HistoryEntry {
            at: e.at,
            by: e.by.clone(),
            writer: e.writer.clone(),
            action: e.event.action().to_string(),
            params: e.event.params(),
        });
        match e.event {
            Event::Registered {
                number,
                registration: r,
                registration_day,
                deadline,
                by_name,
            } => {
                // Numbered once: a concurrent second registration (two registrars on two
                // replicas) keeps the first number in log order and only adds its links.
                if a.number.is_none() {
                    a.number = Some(number);
                    a.registered_at = Some(e.at);
                    a.registered_by = Some(e.by.clone());
                    a.registered_by_name = by_name;
                    a.registration_day = Some(registration_day);
                    a.deadline = Some(deadline);
                    a.kind = Some(r.kind);
                    a.anonymous = r.anonymous;
                    a.collective = a.collective || r.collective;
                    a.personal_reception = r.personal_reception;
                    a.crime_signs = a.crime_signs || r.crime_signs;
                    a.service = Some(r.service);
                }
                for t in r.tags {
                    if !a.tags.contains(&t) {
                        a.tags.push(t);
                    }
                }
                for d in r.duplicate_of {
                    if !a.duplicate_of.contains(&d) {
                        a.duplicate_of.push(d);
                    }
                }
            }
            Event::NotConsidered { reason } => {
                a.not_considered_reason = Some(reason);
                terminal = terminal.max_by_rank(AppealStatus::NotConsidered);
            }
            Event::Transferred {
                system,
                reason,
                due,
                late,
                cancel_until,
            } => {
                a.transfer = Some(Transfer {
                    system,
                    reason,
                    at: e.at,
                    by: e.by.clone(),
                    due,
                    late,
                    cancel_until,
                    cancelled_at: None,
                    cancel_reason: None,
                });
            }
            Event::TransferCancelled { reason } => {
                if let Some(t) = a.transfer.as_mut() {
                    t.cancelled_at.get_or_insert(e.at);
                    t.cancel_reason.get_or_insert(reason);
                }
            }
            Event::Routed { service, .. } => {
                a.service = Some(service);
                a.officer = None;
            }
            Event::Assigned { officer } => a.officer = Some(officer),
            Event::Split { parts } => {
                for p in parts {
                    if !a.parts.iter().any(|q| q.number == p.number) {
                        a.parts.push(p);
                    }
                }
            }
            Event::CrimeSigns { flag, .. } => a.crime_signs = flag || a.kui.is_some(),
            Event::Kui { number } => {
                if a.kui.is_none() {
                    a.kui = Some(KuiRecord {
                        number,
                        at: e.at,
                        by: e.by.clone(),
                    });
                }
            }
            Event::Extended {
                until,
                reason,
                notice_due,
            } => {
                a.extensions.push(Extension {
                    until,
                    reason,
                    by: e.by.clone(),
                    at: e.at,
                    notice_due,
                    notice_sent_at: None,
                });
                // Concurrent extensions: the later date holds.
                a.deadline = Some(a.deadline.map_or(until, |d| d.max(until)));
            }
            Event::ExtensionNotice {} => {
                if let Some(x) = a.extensions.last_mut() {
                    x.notice_sent_at.get_or_insert(e.at);
                }
            }
            Event::DraftSubmitted { seq, draft } => a.drafts.push(DraftRecord {
                seq,
                by: e.by.clone(),
                at: e.at,
                state: DraftState::Submitted,
                return_reason: None,
                draft,
            }),
            Event::DraftReturned { seq, reason } => {
                if let Some(d) = a.drafts.iter_mut().find(|d| d.seq == seq) {
                    if d.state == DraftState::Submitted {
                        d.state = DraftState::Returned;
                        d.return_reason = Some(reason);
                    }
                }
            }
            Event::Approved { seq, sha256, size } => {
                if a.answer.is_none() {
                    if let Some(d) = a.drafts.iter_mut().find(|d| d.seq == seq) {
                        d.state = DraftState::Approved;
                        a.answer = Some(SentAnswer {
                            seq,
                            decision: d.draft.decision,
                            language: d.draft.language,
                            sent_at: e.at,
                            approved_by: e.by.clone(),
                            sha256,
                            size,
                        });
                        terminal = terminal.max_by_rank(AppealStatus::Answered);
                    }
                }
            }
            Event::Note { .. } | Event::Z1Filled { .. } => {}
            Event::KindCorrected { kind, tag } => {
                a.kind = Some(kind);
                if !a.tags.contains(&tag) {
                    a.tags.push(tag);
                }
            }
            Event::CardLinked {
                card_id,
                card_number,
            } => {
                if a.card_number.is_none() {
                    a.card_id = Some(card_id);
                    a.card_number = Some(card_number);
                }
            }
            Event::Attached { attachment } => {
                if !a.attachments.iter().any(|x| x.sha256 == attachment.sha256) {
                    a.attachments.push(attachment);
                }
            }
            Event::LateDuplicate { candidates } => {
                // A set by (region, id): concurrent re-checks on two replicas add each once.
                for c in candidates {
                    if !a
                        .late_duplicates
                        .iter()
                        .any(|k| k.region == c.region && k.id == c.id)
                    {
                        a.late_duplicates.push(LateDuplicate {
                            found_at: e.at,
                            ..c
                        });
                    }
                }
            }
        }
    }
    if a.crime_signs {
        a.kui_due_at = a
            .registered_at
            .map(|r| r + crate::deadline::KUI_REGISTRATION_HOURS as i64 * 3_600_000);
    }
    if a.transfer
        .as_ref()
        .is_some_and(|t| t.cancelled_at.is_none())
    {
        terminal = terminal.max_by_rank(AppealStatus::Transferred);
    }
    let mut codes = Vec::new();
    if a.collective {
        codes.push("ҰЖ".to_string());
    }
    if a.personal_reception {
        codes.push("ЖҚ".to_string());
    }
    a.codes = codes;
    a.status = if terminal_rank(terminal) > 0 {
        terminal
    } else if a
        .drafts
        .last()
        .is_some_and(|d| d.state == DraftState::Submitted)
    {
        AppealStatus::OnApproval
    } else if a.officer.is_some() {
        AppealStatus::InWork
    } else if a.number.is_some() && a.service.is_some() {
        AppealStatus::Routed
    } else if a.number.is_some() {
        AppealStatus::Registered
    } else {
        AppealStatus::Received
    };
    a
}

trait RankMax {
    fn max_by_rank(self, other: AppealStatus) -> AppealStatus;
}

impl RankMax for AppealStatus {
    fn max_by_rank(self, other: AppealStatus) -> AppealStatus {
        if terminal_rank(other) > terminal_rank(self) {
            other
        } else {
            self
        }
    }
}
