//! Staff roles of a control centre (R18). The HTTP layer checks them on every endpoint.

use serde::{Deserialize, Serialize};

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// "102" operator (оператор "102").
    CallTaker,
    /// ГУСС senior inspector.
    Dispatcher,
    /// Duty unit officer (дежурная часть).
    DutyOfficer,
    /// Shift supervisor: sees everything, manages the post roster.
    Supervisor,
    /// Patrol crew member (КСП).
    Patrol,
    /// Digitalisation unit (ДЦИИ): accounts and roles. Reads no cards, callers or recordings.
    Admin,
    /// МВД HQ ЦОУ duty officer (central): watches the national picture, writes HQ notes.
    HqDuty,
    /// МВД HQ analyst (central): reads the national picture and statistics, writes nothing.
    HqAnalyst,
    /// Registrar of the document-control unit: registers appeals (order 170).
    Registrar,
    /// Head (начальник) of the police body or a deputy: extends review terms (R11).
    Head,
    /// Responsible manager of a service: assigns appeals, approves answers (R11, R16).
    AppealManager,
    /// Responsible officer of a service: examines an appeal and drafts the answer (R11, R12).
    AppealOfficer,
    /// Knowledge-base editor of a central unit (hub): writes and publishes the articles of
    /// their account's service (R19).
    KbEditor,
    /// District inspector (участковый инспектор полиции), their helpers and the beat offices'
    /// heads: report meetings with the population (R22–R26). Which beats a person sees comes
    /// from the region's beats reference.
    DistrictInspector,
}

impl Role {
    pub const ALL: [Role; 14] = [
        Role::CallTaker,
        Role::Dispatcher,
        Role::DutyOfficer,
        Role::Supervisor,
        Role::Patrol,
        Role::Admin,
        Role::HqDuty,
        Role::HqAnalyst,
        Role::Registrar,
        Role::Head,
        Role::AppealManager,
        Role::AppealOfficer,
        Role::KbEditor,
        Role::DistrictInspector,
    ];
    /// Roles of a regional node's staff.
    pub const NODE: [Role; 11] = [
        Role::CallTaker,
        Role::Dispatcher,
        Role::DutyOfficer,
        Role::Supervisor,
        Role::Patrol,
        Role::Admin,
        Role::Registrar,
        Role::Head,
        Role::AppealManager,
        Role::AppealOfficer,
        Role::DistrictInspector,
    ];
    /// Roles of the МВД HQ hub's staff.
    pub const HQ: [Role; 4] = [Role::HqDuty, Role::HqAnalyst, Role::Admin, Role::KbEditor];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::CallTaker => "call_taker",
            Role::Dispatcher => "dispatcher",
            Role::DutyOfficer => "duty_officer",
            Role::Supervisor => "supervisor",
            Role::Patrol => "patrol",
            Role::Admin => "admin",
            Role::HqDuty => "hq_duty",
            Role::HqAnalyst => "hq_analyst",
            Role::Registrar => "registrar",
            Role::Head => "head",
            Role::AppealManager => "appeal_manager",
            Role::AppealOfficer => "appeal_officer",
            Role::KbEditor => "kb_editor",
            Role::DistrictInspector => "district_inspector",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}
