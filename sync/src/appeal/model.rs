//! What an appeal looks like to readers and what people send: kinds, channels, applicants, the
//! intake, the registrar's classification, answer drafts, and the view materialised from the
//! document ([`super::AppealDoc::view`]).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::calendar::Day;
pub use crate::deadline::DeadlineState;
use crate::model::Language;

/// Limits of an appeal's fields, each with its unit. Named so tests can probe the edges.
pub mod limits {
    /// The appeal's text, in characters (about 25 pages).
    pub const TEXT_CHARS_MAX: usize = 50_000;
    pub const NAME_CHARS_MAX: usize = 200;
    pub const ADDRESS_CHARS_MAX: usize = 500;
    pub const PHONE_CHARS_MAX: usize = 200;
    pub const EMAIL_CHARS_MAX: usize = 254;
    /// Co-applicants of a collective appeal (R27 «ҰЖ»), besides the first applicant.
    pub const CO_APPLICANTS_MAX: usize = 500;
    pub const ATTACHMENTS_MAX: usize = 20;
    /// One attachment, in bytes.
    pub const ATTACHMENT_BYTES_MAX: usize = 10 * 1024 * 1024;
    pub const FILE_NAME_CHARS_MAX: usize = 200;
    pub const TAGS_MAX: usize = 20;
    pub const TAG_CHARS_MAX: usize = 100;
    pub const REASON_CHARS_MAX: usize = 2_000;
    pub const NOTE_CHARS_MAX: usize = 2_000;
    pub const KUI_NUMBER_CHARS_MAX: usize = 64;
    pub const SYSTEM_CHARS_MAX: usize = 200;
    /// Parts split off one appeal (R29: `…/1`, `…/2`).
    pub const PARTS_MAX: usize = 20;
    pub const QUESTION_CHARS_MAX: usize = 4_000;
    pub const DUPLICATE_LINKS_MAX: usize = 50;
    pub const PARAGRAPHS_MAX: usize = 100;
    pub const PARAGRAPH_CHARS_MAX: usize = 10_000;
    pub const TABLE_ROWS_MAX: usize = 200;
    pub const TABLE_COLS_MAX: usize = 12;
    pub const TABLE_CELL_CHARS_MAX: usize = 1_000;
    pub const ANSWER_IMAGES_MAX: usize = 10;
    /// History entries of one appeal; further steps are refused (a runaway client).
    pub const HISTORY_MAX: usize = 2_000;
    /// Answer drafts of one appeal.
    pub const DRAFTS_MAX: usize = 100;
    /// Longest id or number of a late-found duplicate (R38), in characters.
    pub const LATE_DUPLICATE_ID_CHARS_MAX: usize = 64;
    /// Reasons of one late-found duplicate.
    pub const LATE_DUPLICATE_REASONS_MAX: usize = 8;
}

macro_rules! code_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vm])* $v),+ }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$v),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$v => $s),+ }
            }
            pub fn parse(s: &str) -> Option<$name> {
                Self::ALL.iter().copied().find(|k| k.as_str() == s)
            }
        }
    };
}

code_enum!(
    /// The kinds order 170 registers (АППК art. 4): обращение, сообщение, запрос, отклик,
    /// предложение.
    AppealKind {
        /// Обращение (a statement or a complaint).
        Appeal = "appeal",
        /// Сообщение.
        Report = "report",
        /// Запрос.
        Request = "request",
        /// Отклик.
        Response = "response",
        /// Предложение.
        Proposal = "proposal",
    }
);

code_enum!(
    /// How an appeal arrived (R01).
    AppealChannel {
        App102Text = "app102_text",
        ZakonPoryadokText = "zakon_poryadok_text",
        Telegram = "telegram",
        Vkontakte = "vkontakte",
        WebWidget = "web_widget",
        Email = "email",
        /// A letter by post, typed in by the registrar.
        Post = "post",
        /// Handed in at the office, typed in by the registrar.
        Desk = "desk",
        /// Told on a "102" call that turned out not to be an emergency (R05): the card's
        /// content becomes an appeal.
        #[serde(rename = "call_102")]
        Call102 = "call_102",
        /// A complaint, proposal or remark raised at a district inspector's report meeting and
        /// not answered there, outside the police's competence (R25): the inspector enters it
        /// from the meeting's protocol, its author the registered participant.
        ReportMeeting = "report_meeting",
    }
);

impl AppealChannel {
    /// Channels of the citizens' apps, which answer through the same app.
    pub fn is_app(self) -> bool {
        matches!(
            self,
            AppealChannel::App102Text | AppealChannel::ZakonPoryadokText
        )
    }
}

code_enum!(
    /// Where an appeal stands. Terminal: `answered`, `transferred`, `not_considered`.
    AppealStatus {
        Received = "received",
        Registered = "registered",
        Routed = "routed",
        InWork = "in_work",
        OnApproval = "on_approval",
        Answered = "answered",
        /// Not subject to accounting: transferred to another system with form ОЛ-2 (R30).
        Transferred = "transferred",
        /// Anonymous, with no report of a crime or threat: not considered (R11, R27).
        NotConsidered = "not_considered",
    }
);

impl AppealStatus {
    pub fn is_open(self) -> bool {
        !matches!(
            self,
            AppealStatus::Answered | AppealStatus::Transferred | AppealStatus::NotConsidered
        )
    }
    /// Registered and not yet decided: the review term runs.
    pub fn term_runs(self) -> bool {
        matches!(
            self,
            AppealStatus::Registered
                | AppealStatus::Routed
                | AppealStatus::InWork
                | AppealStatus::OnApproval
        )
    }
}

code_enum!(
    /// The decision an answer carries (R12, R13, R15).
    Decision {
        Satisfied = "satisfied",
        Explained = "explained",
        Refused = "refused",
        /// Sent to the competent unit of the police (R13).
        Redirected = "redirected",
        /// Outside the police's competence: explains it and names the competent body (R15).
        OutsideCompetence = "outside_competence",
    }
);

code_enum!(
    ApplicantKind {
        Person = "person",
        LegalEntity = "legal_entity",
    }
);

/// A person or a legal entity who signs an appeal.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Applicant {
    #[serde(default)]
    pub kind: Option<ApplicantKind>,
    /// ИИН of a person (12 digits with its check digit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iin: Option<String>,
    /// БИН of a legal entity (12 digits with its check digit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bin: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub surname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patronymic: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_name: Option<String>,
    /// Postal address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl Applicant {
    /// "Surname Name Patronymic", or the organisation's name.
    pub fn display_name(&self) -> String {
        if let Some(org) = self.org_name.as_deref().filter(|s| !s.trim().is_empty()) {
            return org.trim().to_string();
        }
        [&self.surname, &self.name, &self.patronymic]
            .into_iter()
            .flatten()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    }
    /// Nothing that names the author: no name, organisation or identity number.
    pub fn is_unnamed(&self) -> bool {
        self.display_name().is_empty() && self.iin.is_none() && self.bin.is_none()
    }
}

/// A point the citizen's app sent.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GeoPoint {
    pub lat: f64,
    pub lon: f64,
}

/// A file attached to an appeal, stored by content (SHA-256) outside the document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachmentRef {
    /// Lower-case hex SHA-256 of the bytes.
    pub sha256: String,
    pub file_name: String,
    pub content_type: String,
    /// Bytes.
    pub size: u64,
}

/// A new appeal as it arrives (a citizen's app, or the registrar typing a letter in). The
/// attachments are already stored; their references come here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppealIntake {
    pub channel: AppealChannel,
    #[serde(default)]
    pub kind: Option<AppealKind>,
    pub language: Language,
    pub text: String,
    #[serde(default)]
    pub applicant: Option<Applicant>,
    #[serde(default)]
    pub co_applicants: Vec<Applicant>,
    #[serde(default)]
    pub location: Option<GeoPoint>,
    #[serde(default)]
    pub attachments: Vec<AttachmentRef>,
    /// The citizen chose not to name themselves.
    #[serde(default)]
    pub anonymous: bool,
    /// The "102" card this appeal was made from (R05), if any.
    #[serde(default)]
    pub card_id: Option<String>,
    /// That card's number.
    #[serde(default)]
    pub card_number: Option<String>,
}

/// The registrar's classification at registration (R27, R28).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Registration {
    pub kind: AppealKind,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Two or more persons, the same question, the same interest: code «ҰЖ».
    #[serde(default)]
    pub collective: bool,
    /// A request for a personal reception: code «ЖҚ».
    #[serde(default)]
    pub personal_reception: bool,
    /// No authorship, signature or postal address (R27).
    #[serde(default)]
    pub anonymous: bool,
    /// Signs of a criminal offence or a threat to public security (R14, R33).
    #[serde(default)]
    pub crime_signs: bool,
    /// The service it is routed to by competence.
    pub service: String,
    /// Earlier appeals this one repeats (R28: still registered and decided).
    #[serde(default)]
    pub duplicate_of: Vec<DuplicateLink>,
}

/// An earlier appeal, of this region or another, that an appeal repeats.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DuplicateLink {
    pub region: String,
    pub number: String,
}

/// R38: an earlier appeal of another region that the national check found only after the
/// link to the hub came back (the check before registration covered this region only). The
/// registrar and the manager decide whether it is a duplicate; nothing here is personal data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LateDuplicate {
    pub region: String,
    /// The earlier appeal's document id in its region.
    pub id: String,
    /// Its registration number, when registered.
    #[serde(default)]
    pub number: Option<String>,
    pub received_at: i64,
    #[serde(default)]
    pub registered_at: Option<i64>,
    /// Text similarity, 0..1.
    pub similarity: f32,
    /// The detector's reasons (`same_iin`, `similar_text`, …).
    #[serde(default)]
    pub reasons: Vec<String>,
    /// When the re-check found it (the step's time; set by the fold).
    #[serde(default)]
    pub found_at: i64,
}

/// A simple table in an answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerTable {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// The officer's draft of an answer (R12): written in the first person, from a template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerDraft {
    pub decision: Decision,
    pub language: Language,
    pub paragraphs: Vec<String>,
    #[serde(default)]
    pub table: Option<AnswerTable>,
    /// SHA-256 of JPEG attachments of the appeal to include.
    #[serde(default)]
    pub images: Vec<String>,
    /// The competent body (code of an external body, or a service) for `redirected` and
    /// `outside_competence` (R13, R15).
    #[serde(default)]
    pub competent_body: Option<String>,
}

/// An extension of the review term by the head (R11).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Extension {
    pub until: Day,
    pub reason: String,
    pub by: String,
    pub at: i64,
    /// The applicant must be told by this day (3 working days of the decision).
    pub notice_due: Day,
    pub notice_sent_at: Option<i64>,
}

/// A part of an appeal sent to another body under the main number and a slash (R29).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AppealPart {
    /// `AST-2026-000123/1`.
    pub number: String,
    pub question: String,
    /// Code of the external body it is sent to.
    pub body: String,
    pub sent_at: i64,
    pub by: String,
    /// Sent within this day (3 working days).
    pub due: Day,
}

/// The transfer of a document not subject to accounting to another system, form ОЛ-2 (R30).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Transfer {
    pub system: String,
    pub reason: String,
    pub at: i64,
    pub by: String,
    /// 3 working days of receipt.
    pub due: Day,
    /// Sent after `due`.
    pub late: bool,
    /// It can be cancelled until the end of this day (1 working day of the decision).
    pub cancel_until: Day,
    pub cancelled_at: Option<i64>,
    pub cancel_reason: Option<String>,
}

/// КУИ registration of an appeal with signs of a crime (R14).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct KuiRecord {
    pub number: String,
    pub at: i64,
    pub by: String,
}

code_enum!(
    DraftState {
        Submitted = "submitted",
        Returned = "returned",
        Approved = "approved",
    }
);

/// A submitted answer draft and what became of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DraftRecord {
    pub seq: u32,
    pub by: String,
    pub at: i64,
    pub state: DraftState,
    pub return_reason: Option<String>,
    pub draft: AnswerDraft,
}

/// The answer sent: the approved draft rendered as a Word document, stored immutably.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SentAnswer {
    pub seq: u32,
    pub decision: Decision,
    pub language: Language,
    pub sent_at: i64,
    pub approved_by: String,
    /// SHA-256 of the DOCX.
    pub sha256: String,
    /// Bytes of the DOCX.
    pub size: u64,
}

/// One step of an appeal's history: an action code and its parameters (the console renders them
/// in the reader's language).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HistoryEntry {
    pub at: i64,
    /// Login of who did it.
    pub by: String,
    /// `login@replica`.
    pub writer: String,
    /// `appeal.registered`, `appeal.assigned`, ...
    pub action: String,
    #[schema(value_type = Object)]
    pub params: serde_json::Value,
}

/// An appeal as readers see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Appeal {
    pub id: String,
    pub region: String,
    /// `REGION-YEAR-NNNNNN`, given at registration.
    pub number: Option<String>,
    pub status: AppealStatus,
    pub kind: Option<AppealKind>,
    pub channel: AppealChannel,
    pub language: Language,
    pub text: String,
    pub received_at: i64,
    pub applicants: Vec<Applicant>,
    pub anonymous: bool,
    pub collective: bool,
    pub personal_reception: bool,
    /// «ҰЖ» (collective), «ЖҚ» (personal reception).
    pub codes: Vec<String>,
    pub tags: Vec<String>,
    pub location: Option<GeoPoint>,
    pub attachments: Vec<AttachmentRef>,
    pub registered_at: Option<i64>,
    pub registered_by: Option<String>,
    pub registered_by_name: Option<String>,
    /// The working day registration counts from (the next working day for one received on a
    /// day off, R11).
    pub registration_day: Option<Day>,
    pub service: Option<String>,
    pub officer: Option<String>,
    /// The review deadline: 15 working days of registration, or the last extension.
    pub deadline: Option<Day>,
    pub deadline_state: Option<DeadlineState>,
    pub extensions: Vec<Extension>,
    pub crime_signs: bool,
    pub kui: Option<KuiRecord>,
    /// КУИ registration is due by then (24 hours of registration, R14).
    pub kui_due_at: Option<i64>,
    pub duplicate_of: Vec<DuplicateLink>,
    /// R38: duplicates in other regions found by the re-check after a partition.
    #[serde(default)]
    pub late_duplicates: Vec<LateDuplicate>,
    pub parts: Vec<AppealPart>,
    pub transfer: Option<Transfer>,
    pub drafts: Vec<DraftRecord>,
    pub answer: Option<SentAnswer>,
    pub not_considered_reason: Option<String>,
    /// The "102" card this appeal came from or opened (R05).
    pub card_id: Option<String>,
    pub card_number: Option<String>,
    pub history: Vec<HistoryEntry>,
    /// Last writer of the document.
    pub updated_at: i64,
}

impl Appeal {
    /// The first applicant's name, or empty for an anonymous appeal.
    pub fn applicant_name(&self) -> String {
        self.applicants
            .first()
            .map(Applicant::display_name)
            .unwrap_or_default()
    }

    pub fn summary(&self) -> AppealSummary {
        AppealSummary {
            id: self.id.clone(),
            region: self.region.clone(),
            number: self.number.clone(),
            status: self.status,
            kind: self.kind,
            channel: self.channel,
            received_at: self.received_at,
            registered_at: self.registered_at,
            applicant: self.applicant_name(),
            service: self.service.clone(),
            officer: self.officer.clone(),
            deadline: self.deadline,
            deadline_state: self.deadline_state,
            crime_signs: self.crime_signs,
            kui: self.kui.as_ref().map(|k| k.number.clone()),
            kui_due_at: self.kui_due_at,
            updated_at: self.updated_at,
        }
    }
}

/// A line of an appeals list or board.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AppealSummary {
    pub id: String,
    pub region: String,
    pub number: Option<String>,
    pub status: AppealStatus,
    pub kind: Option<AppealKind>,
    pub channel: AppealChannel,
    pub received_at: i64,
    pub registered_at: Option<i64>,
    /// The first applicant's name (empty when anonymous).
    pub applicant: String,
    pub service: Option<String>,
    pub officer: Option<String>,
    pub deadline: Option<Day>,
    pub deadline_state: Option<DeadlineState>,
    pub crime_signs: bool,
    pub kui: Option<String>,
    pub kui_due_at: Option<i64>,
    pub updated_at: i64,
}
