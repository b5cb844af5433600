//! District inspectors' quarterly report meetings with the population (seed 003, chapter 3,
//! p.25–34; R22–R26, R37).
//!
//! - [`dates`]: quarters in Kazakhstan time, the 10-calendar-day notice, the same-day protocol,
//!   the one-year retention, and a beat's quarter coverage that drives the plan and its warning;
//! - [`doc`]: one meeting as a replicated document (plan, notice, invitations, participants,
//!   protocol with its signed versions, complaints and their follow-up, recordings, hold), with
//!   its merge rules;
//! - [`reference`]: the region's beat offices, beats and invitation list (a documented TOML file;
//!   the demo file is sample data);
//! - [`documents`]: the draft report and the protocol as inputs of the Word document generator;
//! - [`report`]: the data of the inspector's draft report (p.29–30) from the beat's cards,
//!   appeals and the follow-up of previous meetings.

pub mod dates;
pub mod doc;
pub mod documents;
pub mod national;
pub mod reference;
pub mod report;
#[cfg(test)]
mod tests;

pub use dates::{
    check_notice, coverage, materials_expired, notice_deadline, protocol_on_time, retention_ends,
    Coverage, MeetingFact, MeetingStage, Quarter, NOTICE_CALENDAR_DAYS, PLAN_WARNING_LEAD_DAYS,
    RETENTION_MONTHS,
};
pub use doc::{Meeting, MeetingCommand, MeetingDoc, MeetingPlan, MEETING_SCHEMA_VERSION};
pub use reference::{
    Beat, BeatsReference, BeatsRegister, Invitee, InviteeKind, Office, RegisteredBeat,
    BEATS_DOC_ID, DEMO_BEATS_TOML,
};
pub use report::{beat_report, AppealOutcome, BeatReport, BeatReportInput, Period, ReportSection};
