//! The meeting's Word documents: maps the draft report's data ([`BeatReport`]) and a meeting's
//! protocol onto the plain inputs of the document generator (`answers`, the same writer as
//! appeal answers), with names from the region's references in the document's language.
//!
//! The node calls [`report_document`] / [`protocol_document`] and renders them with
//! `answers::render_meeting_report` / `answers::render_protocol`. Names the references do not
//! know (a category or a body removed since) are written as their codes.

use answers::meeting::{
    self as m, CategoryRow, FollowUpRow, MeetingReportInput, NoticeInput, OutcomeRow,
    ProtocolInput, ProtocolItemInput, ProtocolSignature,
};
use answers::Lang;

use super::doc::{ItemKind, ItemState, Meeting, Signature, PROTOCOL_FIELDS};
use super::reference::BeatsReference;
use super::report::{AppealOutcome, BeatReport};
use crate::calendar::Day;
use crate::reference::Reference;

/// The language a meeting is held in (`MeetingPlan::language`, checked to be `kk` or `ru`).
pub fn meeting_lang(language: &str) -> Lang {
    if language == "kk" {
        Lang::Kk
    } else {
        Lang::Ru
    }
}

fn pick<'a>(lang: Lang, kk: &'a str, ru: &'a str) -> &'a str {
    match lang {
        Lang::Kk => kk,
        Lang::Ru => ru,
    }
}

/// The beats' names and the beat office of the first one.
fn beats_and_office(
    beats: &[String],
    reference: &BeatsReference,
    lang: Lang,
) -> (Vec<String>, String) {
    let names = beats
        .iter()
        .map(|code| match reference.beat(code) {
            Some(b) => pick(lang, &b.name_kk, &b.name_ru).to_string(),
            None => code.clone(),
        })
        .collect();
    let office = beats
        .first()
        .and_then(|code| reference.beat(code))
        .and_then(|b| reference.office(&b.office))
        .map(|o| pick(lang, &o.name_kk, &o.name_ru).to_string())
        .unwrap_or_default();
    (names, office)
}

fn kind(k: ItemKind) -> m::ItemKind {
    match k {
        ItemKind::Complaint => m::ItemKind::Complaint,
        ItemKind::Proposal => m::ItemKind::Proposal,
        ItemKind::Remark => m::ItemKind::Remark,
    }
}

fn outcome(o: AppealOutcome) -> m::AppealOutcome {
    match o {
        AppealOutcome::InReview => m::AppealOutcome::InReview,
        AppealOutcome::Satisfied => m::AppealOutcome::Satisfied,
        AppealOutcome::Explained => m::AppealOutcome::Explained,
        AppealOutcome::Refused => m::AppealOutcome::Refused,
        AppealOutcome::Redirected => m::AppealOutcome::Redirected,
        AppealOutcome::OutsideCompetence => m::AppealOutcome::OutsideCompetence,
        AppealOutcome::AnsweredUnrecorded => m::AppealOutcome::AnsweredUnrecorded,
        AppealOutcome::Transferred => m::AppealOutcome::Transferred,
        AppealOutcome::NotConsidered => m::AppealOutcome::NotConsidered,
    }
}

/// The follow-up state of an item that was not answered in full (an answered one is not in
/// the report's follow-up).
fn follow_up_state(s: ItemState) -> m::FollowUpState {
    match s {
        ItemState::Open | ItemState::Answered => m::FollowUpState::Open,
        ItemState::Checking => m::FollowUpState::Checking,
        ItemState::Forwarded => m::FollowUpState::Forwarded,
        ItemState::Closed => m::FollowUpState::Closed,
    }
}

/// The draft report of `report` in `lang`, by `inspector` (the name as it is signed), made on
/// `today`; category and body names from the region's `calls` reference.
pub fn report_document(
    report: &BeatReport,
    beats: &BeatsReference,
    calls: &Reference,
    lang: Lang,
    inspector: &str,
    today: Day,
) -> MeetingReportInput {
    let (names, office) = beats_and_office(&report.beats, beats, lang);
    MeetingReportInput {
        language: lang,
        authority: office,
        beats: names,
        inspector: inspector.to_string(),
        period_from: report.period.from.to_string(),
        period_to: report.period.to.to_string(),
        date: today.to_string(),
        cards: report
            .cards_by_category
            .iter()
            .map(|c| CategoryRow {
                category: c.category.as_ref().map(|code| match calls.category(code) {
                    Some(cat) => pick(lang, &cat.name_kk, &cat.name_ru).to_string(),
                    None => code.clone(),
                }),
                count: c.count,
            })
            .collect(),
        cards_total: report.cards_total,
        cards_without_place: report.cards_without_place,
        appeals: report
            .appeals_by_outcome
            .iter()
            .map(|a| OutcomeRow {
                outcome: outcome(a.outcome),
                count: a.count,
            })
            .collect(),
        appeals_total: report.appeals_total,
        appeals_without_place: report.appeals_without_place,
        follow_up: report
            .follow_up
            .iter()
            .map(|f| FollowUpRow {
                meeting_date: f.meeting_date.to_string(),
                kind: kind(f.kind),
                text: f.text.clone(),
                state: follow_up_state(f.state),
                forwarded_to: f
                    .forwarded_to
                    .as_ref()
                    .map(|code| match calls.external_body(code) {
                        Some(b) => pick(lang, &b.name_kk, &b.name_ru).to_string(),
                        None => code.clone(),
                    }),
                result: f.result.clone(),
            })
            .collect(),
        follow_up_open: report.follow_up_open,
    }
}

/// The protocol of `meeting` in its language: the signed version `signature` (its content as
/// signed, never the draft), or with `None` the unsigned draft as it stands. `inspector` is the
/// signer's name.
pub fn protocol_document(
    meeting: &Meeting,
    signature: Option<&Signature>,
    beats: &BeatsReference,
    inspector: &str,
) -> ProtocolInput {
    let lang = meeting_lang(&meeting.plan.language);
    let (names, office) = beats_and_office(&meeting.plan.beats, beats, lang);
    let field = |fields: &std::collections::BTreeMap<String, String>, name: &str| {
        fields.get(name).cloned().unwrap_or_default()
    };
    let [report, decisions, remarks] = PROTOCOL_FIELDS;
    match signature {
        Some(s) => {
            let c = &s.content;
            ProtocolInput {
                language: lang,
                authority: office,
                beats: names,
                inspector: inspector.to_string(),
                date: c.date.to_string(),
                time: c.time.clone(),
                place: pick(lang, &c.place_kk, &c.place_ru).to_string(),
                participants: c.participants,
                report: field(&c.fields, report),
                decisions: field(&c.fields, decisions),
                remarks: field(&c.fields, remarks),
                items: c
                    .items
                    .iter()
                    .map(|i| ProtocolItemInput {
                        kind: kind(i.kind),
                        text: i.text.clone(),
                        answered_fully: i.answered_fully,
                    })
                    .collect(),
                signature: Some(ProtocolSignature {
                    version: s.version,
                    signed_on: s.signed_on.to_string(),
                    sha256: s.sha256.clone(),
                    on_time: s.on_time,
                    correction_reason: s.correction_reason.clone(),
                }),
            }
        }
        None => ProtocolInput {
            language: lang,
            authority: office,
            beats: names,
            inspector: inspector.to_string(),
            date: meeting.held_on.unwrap_or(meeting.plan.date).to_string(),
            time: meeting.plan.time.clone(),
            place: pick(lang, &meeting.plan.place_kk, &meeting.plan.place_ru).to_string(),
            participants: u32::try_from(meeting.participants.len()).unwrap_or(u32::MAX),
            report: field(&meeting.draft, report),
            decisions: field(&meeting.draft, decisions),
            remarks: field(&meeting.draft, remarks),
            items: meeting
                .items
                .iter()
                .map(|i| ProtocolItemInput {
                    kind: kind(i.kind),
                    text: i.text.clone(),
                    answered_fully: i.answered_fully,
                })
                .collect(),
            signature: None,
        },
    }
}

/// The notice of `meeting` (its current plan) in `lang`, published on `published_on`;
/// `inspector` is the reporting inspector's name (R37: the page, the posts, the e-mails and the
/// printable sheet all say this).
pub fn notice_document(
    meeting: &Meeting,
    beats: &BeatsReference,
    lang: Lang,
    inspector: &str,
    published_on: Day,
) -> NoticeInput {
    let (names, office) = beats_and_office(&meeting.plan.beats, beats, lang);
    NoticeInput {
        language: lang,
        authority: office,
        beats: names,
        inspector: inspector.to_string(),
        date: meeting.plan.date.to_string(),
        time: meeting.plan.time.clone(),
        place: pick(lang, &meeting.plan.place_kk, &meeting.plan.place_ru).to_string(),
        link: meeting.plan.link.clone(),
        published_on: published_on.to_string(),
    }
}

/// The notice as the posts and the e-mails carry it: its subject and its text, in Kazakh, then
/// in Russian (a post reaches every resident, whatever the meeting's language).
pub fn notice_post(
    meeting: &Meeting,
    beats: &BeatsReference,
    inspector: &str,
    published_on: Day,
) -> Result<(String, String), answers::AnswerError> {
    let mut parts = Vec::with_capacity(2);
    for lang in [Lang::Kk, Lang::Ru] {
        parts.push(m::notice_text(&notice_document(
            meeting,
            beats,
            lang,
            inspector,
            published_on,
        ))?);
    }
    let subject = format!(
        "Учаскелік полиция инспекторының есебі / Отчет участкового инспектора полиции: {} {}",
        meeting.plan.date, meeting.plan.time
    );
    Ok((subject, parts.join("\n\n")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meetings::doc::ItemKind;
    use crate::meetings::report::{
        CategoryCount, FollowUpLine, OutcomeCount, Period, ReportSection,
    };

    fn d(s: &str) -> Day {
        Day::parse(s).unwrap()
    }

    fn report() -> BeatReport {
        BeatReport {
            beats: vec!["saryarka-01".into()],
            period: Period::new(d("2026-10-01"), d("2026-12-31")).unwrap(),
            sections: ReportSection::ALL.to_vec(),
            cards_by_category: vec![
                CategoryCount {
                    category: Some("theft".into()),
                    count: 7,
                },
                CategoryCount {
                    category: Some("retired-code".into()),
                    count: 2,
                },
                CategoryCount {
                    category: None,
                    count: 1,
                },
            ],
            cards_total: 10,
            cards_without_place: 3,
            appeals_by_outcome: vec![OutcomeCount {
                outcome: AppealOutcome::Explained,
                count: 4,
            }],
            appeals_total: 4,
            appeals_without_place: 0,
            follow_up: vec![FollowUpLine {
                meeting: "m-sep".into(),
                meeting_date: d("2026-09-20"),
                item: "i4".into(),
                kind: ItemKind::Complaint,
                text: "Не горит фонарь во дворе дома 4".into(),
                state: ItemState::Forwarded,
                forwarded_to: Some("akimat".into()),
                result: None,
            }],
            follow_up_open: 1,
        }
    }

    #[test]
    fn r24_the_draft_report_names_beats_categories_and_bodies_in_the_meetings_language() {
        let r = report();
        for (lang, office, beat, theft, body, section) in [
            (
                Lang::Ru,
                "Участковый пункт полиции № 1 района Сарыарка",
                "Административный участок № 1 района Сарыарка",
                "Кража | 7",
                "Направлено: Акимат города Астаны",
                "2. О проводимой работе по профилактике правонарушений",
            ),
            (
                Lang::Kk,
                "Сарыарқа ауданының № 1 учаскелік полиция пункті",
                "Сарыарқа ауданының № 1 әкімшілік учаскесі",
                "Ұрлық | 7",
                "Жіберілді: Астана қаласының әкімдігі",
                "2. Құқық бұзушылықтардың профилактикасы бойынша жүргізіліп жатқан жұмыс туралы",
            ),
        ] {
            let input = report_document(
                &r,
                &BeatsReference::demo(),
                &Reference::demo(),
                lang,
                "Касымов Арман",
                d("2026-12-05"),
            );
            assert_eq!(input.authority, office);
            assert_eq!(input.beats, vec![beat.to_string()]);
            let text = answers::meeting::report_letter(&input)
                .unwrap()
                .plain_text();
            for want in [
                office,
                beat,
                theft,
                body,
                section,
                "01.10.2026",
                "31.12.2026",
            ] {
                assert!(text.contains(want), "{want} not in\n{text}");
            }
            // A category the reference no longer has keeps its code.
            assert!(text.contains("retired-code | 2"), "{text}");
            // Cards without coordinates are reported as such.
            assert!(text.contains(": 3"), "{text}");
            // The three sections the system knows nothing of, and the measures of the other
            // two, are left to the inspector.
            let to_write = match lang {
                Lang::Ru => "[Заполняет участковый инспектор полиции]",
                Lang::Kk => "[Учаскелік полиция инспекторы толтырады]",
            };
            assert_eq!(text.matches(to_write).count(), 5, "{text}");
            assert!(answers::render_meeting_report(&input).is_ok());
        }
    }
}
