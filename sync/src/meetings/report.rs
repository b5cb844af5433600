//! The data of the inspector's draft report to the population (seed 003 p.29–30), from what the
//! system itself holds about the beat.
//!
//! p.30 says what the inspector tells the meeting: the criminogenic situation on the beat and
//! the measures taken to stabilise it, the prevention work, involving citizens in keeping public
//! order, changes of the legislation on the police's prevention work, and the measures taken on
//! complaints and appeals, including those raised at previous reports. [`ReportSection`] lists
//! them in that order. The system knows three things that go into them:
//!
//! - the "102" cards whose place lies in the beat's territory, created in the period, counted by
//!   call category (the criminogenic situation);
//! - the appeals whose place lies in the beat's territory, received in the period, counted by
//!   outcome (complaints and appeals);
//! - the follow-up of the complaints, proposals and remarks of previous meetings that were not
//!   answered in full (R25).
//!
//! Everything else (the measures, prevention work, involving citizens, legislation changes, and
//! the sources p.29 names that the system does not hold: statistics, programmes, studies of
//! public opinion, publications) is the inspector's to write: those sections come out empty and
//! marked [`ReportSection::inspector_writes`].
//!
//! A card or an appeal without a point (no coordinates) cannot be placed in any beat: it is not
//! counted in the beat, and the report says how many of the facts given had no point
//! (`cards_without_place`, `appeals_without_place`), so the reader knows the counts are of
//! located cases only. Facts whose point lies in another beat are ignored. The node may so pass
//! the region's facts of the period, or any superset of the beat's.
//!
//! Pure: the node collects the facts; the period is calendar days in Kazakhstan time.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::dates::Quarter;
use super::doc::{FollowUpStep, Item, ItemKind, ItemState};
use super::reference::BeatsReference;
use crate::appeal::{Appeal, AppealStatus, Decision};
use crate::calendar::{Day, KZ_UTC_OFFSET_MIN};
use crate::error::DomainError;
use crate::model::Card;

/// Longest period one report covers, in calendar days (a year and a day: a report looks back
/// at most over the year since the previous meetings).
pub const REPORT_PERIOD_DAYS_MAX: i64 = 366;

/// The calendar days a report covers, both ends included, in Kazakhstan time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Period {
    pub from: Day,
    pub to: Day,
}

impl Period {
    /// Refuses an empty or reversed period, or one longer than [`REPORT_PERIOD_DAYS_MAX`].
    pub fn new(from: Day, to: Day) -> Result<Period, DomainError> {
        if to < from {
            return Err(DomainError::field(
                "to",
                format!("the period ends on {to}, before it starts on {from}"),
            ));
        }
        let days = i64::from(to.days()) - i64::from(from.days()) + 1;
        if days > REPORT_PERIOD_DAYS_MAX {
            return Err(DomainError::field(
                "from",
                format!(
                    "the period has {days} days; a report covers at most \
                     {REPORT_PERIOD_DAYS_MAX}"
                ),
            ));
        }
        Ok(Period { from, to })
    }

    /// The whole quarter.
    pub fn quarter(q: Quarter) -> Period {
        Period {
            from: q.first_day(),
            to: q.last_day(),
        }
    }

    /// Whether the instant `ms` falls on one of the period's days in Kazakhstan time.
    pub fn contains_ms(self, ms: i64) -> bool {
        let day = Day::from_ms(ms, KZ_UTC_OFFSET_MIN);
        self.from <= day && day <= self.to
    }
}

/// A point as `[lat, lon]` degrees.
pub type Point = [f64; 2];

/// What the report needs of a "102" card.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CardFact {
    pub id: String,
    pub created_at_ms: i64,
    /// Where it happened; `None` when the card has no coordinates.
    pub point: Option<Point>,
    /// The call category's code; `None` when the card was never categorised.
    pub category: Option<String>,
}

impl CardFact {
    pub fn of(card: &Card) -> CardFact {
        CardFact {
            id: card.id.clone(),
            created_at_ms: card.created_at,
            point: card.location.as_ref().and_then(|l| Some([l.lat?, l.lon?])),
            category: card.category.clone(),
        }
    }
}

/// Where an appeal ended up, as the report counts it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AppealOutcome {
    /// Received and not yet decided (any open status).
    InReview,
    Satisfied,
    Explained,
    Refused,
    /// Sent to the competent unit of the police (R13).
    Redirected,
    /// Outside the police's competence, the competent body named (R15).
    OutsideCompetence,
    /// Answered, with no answer record on this replica yet (it syncs later).
    AnsweredUnrecorded,
    /// Not subject to accounting: transferred with form ОЛ-2 (R30).
    Transferred,
    /// Anonymous with no report of a crime or threat: not considered (R11, R27).
    NotConsidered,
}

impl AppealOutcome {
    /// The order of the report's table.
    pub const ALL: [AppealOutcome; 9] = [
        AppealOutcome::InReview,
        AppealOutcome::Satisfied,
        AppealOutcome::Explained,
        AppealOutcome::Refused,
        AppealOutcome::Redirected,
        AppealOutcome::OutsideCompetence,
        AppealOutcome::AnsweredUnrecorded,
        AppealOutcome::Transferred,
        AppealOutcome::NotConsidered,
    ];

    /// The outcome of an appeal in `status` whose sent answer (if any) carries `decision`.
    pub fn of(status: AppealStatus, decision: Option<Decision>) -> AppealOutcome {
        match status {
            AppealStatus::Transferred => AppealOutcome::Transferred,
            AppealStatus::NotConsidered => AppealOutcome::NotConsidered,
            AppealStatus::Answered => match decision {
                Some(Decision::Satisfied) => AppealOutcome::Satisfied,
                Some(Decision::Explained) => AppealOutcome::Explained,
                Some(Decision::Refused) => AppealOutcome::Refused,
                Some(Decision::Redirected) => AppealOutcome::Redirected,
                Some(Decision::OutsideCompetence) => AppealOutcome::OutsideCompetence,
                None => AppealOutcome::AnsweredUnrecorded,
            },
            _ => AppealOutcome::InReview,
        }
    }
}

/// What the report needs of an appeal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppealFact {
    pub id: String,
    pub received_at_ms: i64,
    /// The place the appeal is about; `None` when it has none.
    pub point: Option<Point>,
    pub outcome: AppealOutcome,
}

impl AppealFact {
    pub fn of(appeal: &Appeal) -> AppealFact {
        AppealFact {
            id: appeal.id.clone(),
            received_at_ms: appeal.received_at,
            point: appeal.location.as_ref().map(|p| [p.lat, p.lon]),
            outcome: AppealOutcome::of(appeal.status, appeal.answer.as_ref().map(|a| a.decision)),
        }
    }
}

/// A previous meeting of the beat and its items (complaints, proposals, remarks).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PreviousMeeting {
    pub id: String,
    pub date: Day,
    pub items: Vec<Item>,
}

/// The plain facts the node collects for a report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BeatReportInput {
    /// The beats reporting (one, or the adjacent beats of a joint meeting).
    pub beats: Vec<String>,
    pub cards: Vec<CardFact>,
    pub appeals: Vec<AppealFact>,
    /// The beat's previous meetings whose items are reported on (p.30: "including those raised
    /// at previous reports").
    pub previous: Vec<PreviousMeeting>,
}

/// The sections of the report, in the order of p.30.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ReportSection {
    /// о криминогенной ситуации на обслуживаемом административном участке и принимаемых мерах
    /// по ее стабилизации: the cards by category, and the measures the inspector writes.
    CrimeSituation,
    /// о проводимой работе по профилактике правонарушений.
    Prevention,
    /// вовлечению граждан в обеспечение охраны общественного порядка.
    CitizenInvolvement,
    /// об изменениях в законодательстве Республики Казахстан в сфере профилактической
    /// деятельности полиции.
    Legislation,
    /// о принятых мерах по жалобам и обращениям, в том числе поступившим в ходе предыдущих
    /// отчетов: the appeals by outcome and the follow-up of previous meetings' items.
    ComplaintsAndAppeals,
}

impl ReportSection {
    pub const ALL: [ReportSection; 5] = [
        ReportSection::CrimeSituation,
        ReportSection::Prevention,
        ReportSection::CitizenInvolvement,
        ReportSection::Legislation,
        ReportSection::ComplaintsAndAppeals,
    ];

    /// Whether the system fills part of the section from its own data.
    pub fn from_system(self) -> bool {
        matches!(
            self,
            ReportSection::CrimeSituation | ReportSection::ComplaintsAndAppeals
        )
    }

    /// Whether the section has nothing from the system: the inspector writes all of it.
    pub fn inspector_writes(self) -> bool {
        !self.from_system()
    }
}

/// Cards of one call category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CategoryCount {
    /// `None`: cards with no category.
    pub category: Option<String>,
    pub count: u32,
}

/// Appeals of one outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OutcomeCount {
    pub outcome: AppealOutcome,
    pub count: u32,
}

/// A previous meeting's item that was not answered in full, and where its follow-up stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FollowUpLine {
    pub meeting: String,
    pub meeting_date: Day,
    pub item: String,
    pub kind: ItemKind,
    pub text: String,
    pub state: ItemState,
    /// The competent body it was sent to (forwarded).
    pub forwarded_to: Option<String>,
    /// The result it was closed with.
    pub result: Option<String>,
}

impl FollowUpLine {
    /// Not closed yet: open, being checked, or forwarded and awaiting the body's answer.
    pub fn still_open(&self) -> bool {
        matches!(
            self.state,
            ItemState::Open | ItemState::Checking | ItemState::Forwarded
        )
    }
}

/// The draft report's data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BeatReport {
    pub beats: Vec<String>,
    pub period: Period,
    /// p.30 order; see [`ReportSection::inspector_writes`].
    pub sections: Vec<ReportSection>,
    /// Cards placed in the beats in the period, by category (most first, then by code; the
    /// uncategorised last).
    pub cards_by_category: Vec<CategoryCount>,
    pub cards_total: u32,
    /// Cards of the period given with no point: counted in no beat.
    pub cards_without_place: u32,
    /// Appeals placed in the beats in the period, by outcome ([`AppealOutcome::ALL`] order,
    /// outcomes with none left out).
    pub appeals_by_outcome: Vec<OutcomeCount>,
    pub appeals_total: u32,
    /// Appeals of the period given with no point: counted in no beat.
    pub appeals_without_place: u32,
    /// Previous meetings' items not answered in full, oldest meeting first.
    pub follow_up: Vec<FollowUpLine>,
    /// How many of them are still open.
    pub follow_up_open: u32,
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Counts the facts of `input` that lie in its beats in `period`, and lists the previous
/// meetings' items that were not answered in full. A beat code the reference does not know is
/// refused (`beats`).
pub fn beat_report(
    input: &BeatReportInput,
    reference: &BeatsReference,
    period: Period,
) -> Result<BeatReport, DomainError> {
    if input.beats.is_empty() {
        return Err(DomainError::field(
            "beats",
            "a report needs at least one beat",
        ));
    }
    for b in &input.beats {
        if reference.beat(b).is_none() {
            return Err(DomainError::field(
                "beats",
                format!("the beat {b} is not in the region's beats reference"),
            ));
        }
    }
    let in_beats = |p: Point| {
        reference
            .beat_at(p[0], p[1])
            .is_some_and(|b| input.beats.contains(&b.code))
    };

    let mut by_category: BTreeMap<Option<String>, u32> = BTreeMap::new();
    let mut cards_without_place = 0usize;
    for c in input
        .cards
        .iter()
        .filter(|c| period.contains_ms(c.created_at_ms))
    {
        match c.point {
            None => cards_without_place += 1,
            Some(p) if in_beats(p) => *by_category.entry(c.category.clone()).or_default() += 1,
            Some(_) => {}
        }
    }
    let cards_total = by_category.values().sum();
    let mut cards_by_category: Vec<CategoryCount> = by_category
        .into_iter()
        .map(|(category, count)| CategoryCount { category, count })
        .collect();
    cards_by_category.sort_by(|a, b| {
        (
            a.category.is_none(),
            std::cmp::Reverse(a.count),
            &a.category,
        )
            .cmp(&(
                b.category.is_none(),
                std::cmp::Reverse(b.count),
                &b.category,
            ))
    });

    let mut by_outcome: BTreeMap<AppealOutcome, u32> = BTreeMap::new();
    let mut appeals_without_place = 0usize;
    for a in input
        .appeals
        .iter()
        .filter(|a| period.contains_ms(a.received_at_ms))
    {
        match a.point {
            None => appeals_without_place += 1,
            Some(p) if in_beats(p) => *by_outcome.entry(a.outcome).or_default() += 1,
            Some(_) => {}
        }
    }
    let appeals_total = by_outcome.values().sum();
    let appeals_by_outcome = AppealOutcome::ALL
        .iter()
        .filter_map(|o| {
            by_outcome
                .get(o)
                .map(|&count| OutcomeCount { outcome: *o, count })
        })
        .collect();

    let mut previous: Vec<&PreviousMeeting> = input.previous.iter().collect();
    previous.sort_by(|a, b| (a.date, &a.id).cmp(&(b.date, &b.id)));
    let follow_up: Vec<FollowUpLine> = previous
        .iter()
        .flat_map(|m| {
            m.items
                .iter()
                .filter(|i| i.state != ItemState::Answered)
                .map(|i| FollowUpLine {
                    meeting: m.id.clone(),
                    meeting_date: m.date,
                    item: i.id.clone(),
                    kind: i.kind,
                    text: i.text.clone(),
                    state: i.state,
                    forwarded_to: i.follow_up.iter().rev().find_map(|e| match &e.step {
                        FollowUpStep::Forwarded { body, .. } => Some(body.clone()),
                        _ => None,
                    }),
                    result: match i.follow_up.last().map(|e| &e.step) {
                        Some(FollowUpStep::Closed { result }) => Some(result.clone()),
                        _ => None,
                    },
                })
        })
        .collect();
    let follow_up_open = count(follow_up.iter().filter(|l| l.still_open()).count());

    Ok(BeatReport {
        beats: input.beats.clone(),
        period,
        sections: ReportSection::ALL.to_vec(),
        cards_by_category,
        cards_total,
        cards_without_place: count(cards_without_place),
        appeals_by_outcome,
        appeals_total,
        appeals_without_place: count(appeals_without_place),
        follow_up,
        follow_up_open,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meetings::doc::FollowUpEntry;

    const IN_01: Point = [51.20, 71.30];
    const IN_02: Point = [51.20, 71.40];
    const IN_ESIL: Point = [51.10, 71.30];

    fn d(s: &str) -> Day {
        Day::parse(s).unwrap()
    }

    /// `HH:MM` on `day`, Kazakhstan time, as Unix ms.
    fn at(day: &str, hh: i64, mm: i64) -> i64 {
        d(day).start_ms(KZ_UTC_OFFSET_MIN) + (hh * 60 + mm) * 60_000
    }

    fn card(id: &str, ms: i64, point: Option<Point>, category: Option<&str>) -> CardFact {
        CardFact {
            id: id.into(),
            created_at_ms: ms,
            point,
            category: category.map(String::from),
        }
    }

    fn appeal(id: &str, ms: i64, point: Option<Point>, outcome: AppealOutcome) -> AppealFact {
        AppealFact {
            id: id.into(),
            received_at_ms: ms,
            point,
            outcome,
        }
    }

    fn item(id: &str, kind: ItemKind, state: ItemState, steps: Vec<FollowUpStep>) -> Item {
        Item {
            id: id.into(),
            kind,
            text: format!("text of {id}"),
            author: None,
            answered_fully: state == ItemState::Answered,
            outside_competence: None,
            state,
            follow_up: steps
                .into_iter()
                .map(|step| FollowUpEntry {
                    step,
                    at_ms: 1,
                    by: "uip.saryarka01".into(),
                })
                .collect(),
        }
    }

    fn q4() -> Period {
        Period::quarter(Quarter::new(2026, 4).unwrap())
    }

    fn input(beats: &[&str]) -> BeatReportInput {
        BeatReportInput {
            beats: beats.iter().map(|b| b.to_string()).collect(),
            cards: vec![
                card("c1", at("2026-11-10", 14, 0), Some(IN_01), Some("theft")),
                // 00:30 on 1 October in Astana is still 30 September in UTC.
                card("c2", at("2026-10-01", 0, 30), Some(IN_01), Some("theft")),
                card("c3", at("2026-12-31", 23, 59), Some(IN_01), Some("noise")),
                card("c4", at("2026-11-11", 9, 0), Some(IN_01), None),
                card("c5", at("2026-11-12", 9, 0), Some(IN_02), Some("theft")),
                card("c6", at("2026-11-13", 9, 0), None, Some("theft")),
                // 00:30 on 1 January: the next quarter.
                card("c7", at("2027-01-01", 0, 30), Some(IN_01), Some("theft")),
                card("c8", at("2026-09-30", 23, 59), None, Some("theft")),
                card("c9", at("2026-11-14", 9, 0), Some(IN_ESIL), Some("noise")),
            ],
            appeals: vec![
                appeal(
                    "a1",
                    at("2026-10-05", 10, 0),
                    Some(IN_01),
                    AppealOutcome::InReview,
                ),
                appeal(
                    "a2",
                    at("2026-10-06", 10, 0),
                    Some(IN_01),
                    AppealOutcome::Explained,
                ),
                appeal(
                    "a3",
                    at("2026-10-07", 10, 0),
                    Some(IN_01),
                    AppealOutcome::Explained,
                ),
                appeal(
                    "a4",
                    at("2026-10-08", 10, 0),
                    Some(IN_01),
                    AppealOutcome::OutsideCompetence,
                ),
                appeal(
                    "a5",
                    at("2026-10-09", 10, 0),
                    None,
                    AppealOutcome::Satisfied,
                ),
                appeal(
                    "a6",
                    at("2026-10-10", 10, 0),
                    Some(IN_ESIL),
                    AppealOutcome::Refused,
                ),
                appeal(
                    "a7",
                    at("2026-10-11", 10, 0),
                    Some(IN_02),
                    AppealOutcome::Refused,
                ),
                appeal(
                    "a8",
                    at("2027-01-02", 10, 0),
                    Some(IN_01),
                    AppealOutcome::Refused,
                ),
            ],
            previous: vec![
                PreviousMeeting {
                    id: "m-sep".into(),
                    date: d("2026-09-20"),
                    items: vec![
                        item("i1", ItemKind::Complaint, ItemState::Open, vec![]),
                        item("i2", ItemKind::Proposal, ItemState::Answered, vec![]),
                        item(
                            "i3",
                            ItemKind::Remark,
                            ItemState::Closed,
                            vec![
                                FollowUpStep::Checking {
                                    note: "with the akimat".into(),
                                },
                                FollowUpStep::Closed {
                                    result: "the street lamp is repaired".into(),
                                },
                            ],
                        ),
                    ],
                },
                PreviousMeeting {
                    id: "m-jun".into(),
                    date: d("2026-06-15"),
                    items: vec![item(
                        "i4",
                        ItemKind::Complaint,
                        ItemState::Forwarded,
                        vec![FollowUpStep::Forwarded {
                            body: "akimat-saryarka".into(),
                            appeal: "ap-1".into(),
                            author_notified: true,
                        }],
                    )],
                },
            ],
        }
    }

    fn cat(category: Option<&str>, count: u32) -> CategoryCount {
        CategoryCount {
            category: category.map(String::from),
            count,
        }
    }

    fn out(outcome: AppealOutcome, count: u32) -> OutcomeCount {
        OutcomeCount { outcome, count }
    }

    #[test]
    fn r24_draft_report_counts_the_beats_cards_and_appeals_of_the_period() {
        let r = beat_report(&input(&["saryarka-01"]), &BeatsReference::demo(), q4()).unwrap();
        // c1, c2 theft; c3 noise; c4 uncategorised. c5 (other beat), c7 (next quarter), c8
        // (previous quarter) and c9 (other beat) are not counted; c6 has no point.
        assert_eq!(
            r.cards_by_category,
            vec![cat(Some("theft"), 2), cat(Some("noise"), 1), cat(None, 1)]
        );
        assert_eq!(r.cards_total, 4);
        assert_eq!(r.cards_without_place, 1);
        // a1 in review, a2 a3 explained, a4 outside competence; a5 has no point; a6 a7 lie in
        // other beats; a8 is of the next quarter.
        assert_eq!(
            r.appeals_by_outcome,
            vec![
                out(AppealOutcome::InReview, 1),
                out(AppealOutcome::Explained, 2),
                out(AppealOutcome::OutsideCompetence, 1),
            ]
        );
        assert_eq!(r.appeals_total, 4);
        assert_eq!(r.appeals_without_place, 1);
        assert_eq!(r.period, q4());
        assert_eq!(r.beats, vec!["saryarka-01".to_string()]);
    }

    #[test]
    fn r24_joint_meeting_report_counts_every_beat_reporting() {
        let r = beat_report(
            &input(&["saryarka-01", "saryarka-02"]),
            &BeatsReference::demo(),
            q4(),
        )
        .unwrap();
        assert_eq!(
            r.cards_by_category,
            vec![cat(Some("theft"), 3), cat(Some("noise"), 1), cat(None, 1)]
        );
        assert_eq!(r.cards_total, 5);
        assert_eq!(r.appeals_total, 5);
        assert_eq!(
            r.appeals_by_outcome,
            vec![
                out(AppealOutcome::InReview, 1),
                out(AppealOutcome::Explained, 2),
                out(AppealOutcome::Refused, 1),
                out(AppealOutcome::OutsideCompetence, 1),
            ]
        );
    }

    #[test]
    fn r24_draft_report_has_the_sections_of_p30_with_the_inspectors_marked() {
        let r = beat_report(&input(&["esil-01"]), &BeatsReference::demo(), q4()).unwrap();
        assert_eq!(r.sections, ReportSection::ALL.to_vec());
        let written: Vec<ReportSection> = r
            .sections
            .iter()
            .copied()
            .filter(|s| s.inspector_writes())
            .collect();
        assert_eq!(
            written,
            vec![
                ReportSection::Prevention,
                ReportSection::CitizenInvolvement,
                ReportSection::Legislation
            ]
        );
        assert_eq!(r.cards_by_category, vec![cat(Some("noise"), 1)]);
        assert_eq!(r.appeals_by_outcome, vec![out(AppealOutcome::Refused, 1)]);
    }

    #[test]
    fn r24_report_refuses_unknown_beats_and_bad_periods() {
        let demo = BeatsReference::demo();
        let e = beat_report(&input(&["nowhere-01"]), &demo, q4()).unwrap_err();
        assert!(e.to_string().contains("nowhere-01"), "{e}");
        assert!(beat_report(&input(&[]), &demo, q4()).is_err());
        assert!(Period::new(d("2026-10-02"), d("2026-10-01")).is_err());
        assert!(Period::new(d("2026-01-01"), d("2026-12-31")).is_ok());
        assert!(Period::new(d("2026-01-01"), d("2027-01-01")).is_ok());
        assert!(Period::new(d("2026-01-01"), d("2027-01-02")).is_err());
    }

    #[test]
    fn r25_draft_report_lists_previous_items_not_answered_and_their_follow_up() {
        let r = beat_report(&input(&["saryarka-01"]), &BeatsReference::demo(), q4()).unwrap();
        let lines: Vec<(&str, &str, ItemState)> = r
            .follow_up
            .iter()
            .map(|l| (l.meeting.as_str(), l.item.as_str(), l.state))
            .collect();
        // The June meeting first; i2 was answered in full at the meeting.
        assert_eq!(
            lines,
            vec![
                ("m-jun", "i4", ItemState::Forwarded),
                ("m-sep", "i1", ItemState::Open),
                ("m-sep", "i3", ItemState::Closed),
            ]
        );
        assert_eq!(r.follow_up_open, 2);
        assert_eq!(
            r.follow_up[0].forwarded_to.as_deref(),
            Some("akimat-saryarka")
        );
        assert_eq!(r.follow_up[0].meeting_date, d("2026-06-15"));
        assert_eq!(
            r.follow_up[2].result.as_deref(),
            Some("the street lamp is repaired")
        );
        assert_eq!(r.follow_up[1].result, None);
    }

    #[test]
    fn r25_appeal_outcome_follows_status_and_decision() {
        use AppealStatus as S;
        assert_eq!(AppealOutcome::of(S::InWork, None), AppealOutcome::InReview);
        assert_eq!(
            AppealOutcome::of(S::Received, None),
            AppealOutcome::InReview
        );
        assert_eq!(
            AppealOutcome::of(S::Answered, Some(Decision::OutsideCompetence)),
            AppealOutcome::OutsideCompetence
        );
        assert_eq!(
            AppealOutcome::of(S::Answered, None),
            AppealOutcome::AnsweredUnrecorded
        );
        assert_eq!(
            AppealOutcome::of(S::Transferred, Some(Decision::Satisfied)),
            AppealOutcome::Transferred
        );
        assert_eq!(
            AppealOutcome::of(S::NotConsidered, None),
            AppealOutcome::NotConsidered
        );
    }
}
