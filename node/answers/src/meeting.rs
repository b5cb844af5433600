//! The district inspector's report meeting as Word documents (seed 003 p.29–32): the draft
//! report the inspector prepares from the system's data, and the protocol of the meeting.
//!
//! Laid out as a [`Letter`] of [`Block`]s and packed by the same writer as appeal answers
//! ([`crate::package`]): Times New Roman 14 pt, `w:lang` of the meeting's language, fixed ZIP
//! timestamps, so the same input gives the same bytes.
//!
//! The input is plain data (this crate knows nothing of the replicated documents): the node
//! maps its meeting and report data onto [`MeetingReportInput`] and [`ProtocolInput`]
//! (`sync::meetings::documents`). Russian fixed texts take the seed's words; the Kazakh ones are
//! our translation of them (marked so at [`KK`]).

use std::borrow::Cow;

use serde::Deserialize;

use crate::model::{AnswerError, AnswerTable, Lang, FIELD_CHARS_MAX};
use crate::package;
use crate::templates::{date, fill, line, text, Block, Letter};

/// Most beats one (joint) meeting covers (as `sync::meetings::doc::MEETING_BEATS_MAX`).
pub const MEETING_BEATS_MAX: usize = 20;
/// Most characters of a free text: a protocol field, an item, a follow-up result (as
/// `sync::meetings::doc::MEETING_TEXT_CHARS_MAX`).
pub const MEETING_TEXT_CHARS_MAX: usize = 20_000;
/// Most complaints, proposals and remarks in a protocol (as `sync::meetings::doc::MEETING_ITEMS_MAX`).
pub const MEETING_ITEMS_MAX: usize = 2_000;
/// Longest online-meeting link, in characters (as `sync::meetings::doc::MEETING_LINK_CHARS_MAX`).
pub const MEETING_LINK_CHARS_MAX: usize = 2_000;
/// Most rows of one table of the draft report (categories, outcomes, follow-up items).
pub const MEETING_ROWS_MAX: usize = 2_000;
/// Hex digits of a SHA-256.
const SHA256_HEX_CHARS: usize = 64;

/// A complaint, proposal or remark (p.31–32).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    Complaint,
    Proposal,
    Remark,
}

/// Where the follow-up of a previous meeting's item stands (R25).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FollowUpState {
    Open,
    Checking,
    /// Sent to the competent body, the author notified.
    Forwarded,
    Closed,
}

/// Where an appeal ended up (as `sync::meetings::report::AppealOutcome`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppealOutcome {
    InReview,
    Satisfied,
    Explained,
    Refused,
    Redirected,
    OutsideCompetence,
    AnsweredUnrecorded,
    Transferred,
    NotConsidered,
}

/// Cards of one call category; `category` is its name in the document's language, `None` for
/// cards with no category.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CategoryRow {
    pub category: Option<String>,
    pub count: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OutcomeRow {
    pub outcome: AppealOutcome,
    pub count: u32,
}

/// A previous meeting's item not answered in full.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct FollowUpRow {
    /// The previous meeting's date, `YYYY-MM-DD`.
    pub meeting_date: String,
    pub kind: ItemKind,
    pub text: String,
    pub state: FollowUpState,
    /// The competent body it went to, in the document's language.
    #[serde(default)]
    pub forwarded_to: Option<String>,
    #[serde(default)]
    pub result: Option<String>,
}

/// The draft report (p.29–30). Names are in the document's language; dates `YYYY-MM-DD`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeetingReportInput {
    pub language: Lang,
    /// The beat office (участковый пункт полиции).
    pub authority: String,
    /// The beats reporting, by name.
    pub beats: Vec<String>,
    /// The reporting inspector (or inspectors of a joint meeting), as one line.
    pub inspector: String,
    pub period_from: String,
    pub period_to: String,
    /// The day the draft is made.
    pub date: String,
    pub cards: Vec<CategoryRow>,
    pub cards_total: u32,
    pub cards_without_place: u32,
    pub appeals: Vec<OutcomeRow>,
    pub appeals_total: u32,
    pub appeals_without_place: u32,
    pub follow_up: Vec<FollowUpRow>,
    pub follow_up_open: u32,
}

/// A complaint, proposal or remark as the protocol records it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ProtocolItemInput {
    pub kind: ItemKind,
    pub text: String,
    /// Answered in full at the meeting; otherwise it is checked (p.32).
    pub answered_fully: bool,
}

/// The signature of one version of the protocol (R24).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProtocolSignature {
    /// 1 for the protocol, 2, 3 … for its corrections.
    pub version: u32,
    pub signed_on: String,
    /// SHA-256 of the signed content, hex.
    pub sha256: String,
    /// Drawn up on the meeting's day.
    pub on_time: bool,
    /// Why the previous version was corrected (required from version 2).
    #[serde(default)]
    pub correction_reason: Option<String>,
}

/// The protocol (p.32). Names and the place are in the document's language.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProtocolInput {
    pub language: Lang,
    pub authority: String,
    pub beats: Vec<String>,
    /// The inspector who signs.
    pub inspector: String,
    pub date: String,
    /// `HH:MM`.
    pub time: String,
    pub place: String,
    pub participants: u32,
    /// The protocol's text fields: the report, the decisions taken, other remarks; empty when
    /// not written.
    #[serde(default)]
    pub report: String,
    #[serde(default)]
    pub decisions: String,
    #[serde(default)]
    pub remarks: String,
    pub items: Vec<ProtocolItemInput>,
    /// `None`: an unsigned draft.
    #[serde(default)]
    pub signature: Option<ProtocolSignature>,
}

/// The notice of a meeting (p.26–27, R37): what the page, the posts, the e-mails and the
/// printable sheet announce. Names and the place are in the notice's language.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoticeInput {
    pub language: Lang,
    pub authority: String,
    pub beats: Vec<String>,
    /// The inspector who reports.
    pub inspector: String,
    pub date: String,
    /// `HH:MM`.
    pub time: String,
    pub place: String,
    /// The online meeting's link.
    #[serde(default)]
    pub link: Option<String>,
    /// The day the notice was published.
    pub published_on: String,
}

/// The fixed texts of one language.
struct MeetingTexts {
    report_title: &'static str,
    report_draft: &'static str,
    beats: &'static str,
    inspector: &'static str,
    /// `{from}`, `{to}`.
    period: &'static str,
    /// The five sections of p.30, in order.
    sections: [&'static str; 5],
    /// An empty section or part: the inspector writes it.
    to_write: &'static str,
    measures: &'static str,
    category: &'static str,
    no_category: &'static str,
    cards: &'static str,
    total: &'static str,
    /// `{n}`.
    cards_without_place: &'static str,
    outcome: &'static str,
    appeals: &'static str,
    /// `{n}`.
    appeals_without_place: &'static str,
    outcomes: [&'static str; 9],
    previous: &'static str,
    no_previous: &'static str,
    meeting_date: &'static str,
    kind: &'static str,
    content: &'static str,
    state: &'static str,
    kinds: [&'static str; 3],
    states: [&'static str; 4],
    /// `{body}`.
    forwarded_to: &'static str,
    /// `{result}`.
    result: &'static str,
    /// `{n}`.
    follow_up_open: &'static str,
    protocol_title: &'static str,
    protocol_draft: &'static str,
    /// `{version}`, `{reason}`.
    correction: &'static str,
    date: &'static str,
    time: &'static str,
    place: &'static str,
    participants: &'static str,
    report: &'static str,
    decisions: &'static str,
    remarks: &'static str,
    none: &'static str,
    items: &'static str,
    no_items: &'static str,
    answered: &'static str,
    to_check: &'static str,
    position: &'static str,
    /// `{version}`, `{date}`, `{name}`.
    signed: &'static str,
    /// `{sha}`.
    sha: &'static str,
    late: &'static str,
    notice_title: &'static str,
    /// `{beats}`, `{name}`.
    notice_intro: &'static str,
    /// `{value}`.
    notice_link: &'static str,
    notice_welcome: &'static str,
}

const RU: MeetingTexts = MeetingTexts {
    report_title: "ОТЧЕТ участкового инспектора полиции перед населением",
    report_draft: "Проект, подготовлен по данным системы",
    beats: "Административный участок: {beats}",
    inspector: "Участковый инспектор полиции: {name}",
    period: "Период: с {from} по {to}",
    sections: [
        "1. О криминогенной ситуации на обслуживаемом административном участке и принимаемых \
         мерах по ее стабилизации",
        "2. О проводимой работе по профилактике правонарушений",
        "3. О вовлечении граждан в обеспечение охраны общественного порядка",
        "4. Об изменениях в законодательстве Республики Казахстан в сфере профилактической \
         деятельности полиции",
        "5. О принятых мерах по жалобам и обращениям, в том числе поступившим в ходе предыдущих \
         отчетов",
    ],
    to_write: "[Заполняет участковый инспектор полиции]",
    measures: "Принимаемые меры:",
    category: "Категория",
    no_category: "Без категории",
    cards: "Карточки «102»",
    total: "Всего",
    cards_without_place: "Карточки без координат места, не отнесенные ни к одному участку: {n}",
    outcome: "Результат рассмотрения",
    appeals: "Обращения",
    appeals_without_place: "Обращения без указания места, не отнесенные ни к одному участку: {n}",
    outcomes: [
        "На рассмотрении",
        "Удовлетворено",
        "Разъяснено",
        "Отказано",
        "Направлено в компетентное подразделение полиции",
        "Не входит в компетенцию полиции",
        "Дан ответ (решение еще не получено)",
        "Передано (форма ОЛ-2)",
        "Не рассмотрено",
    ],
    previous: "Жалобы, предложения и замечания предыдущих отчетов, на которые не даны ответы \
        в полном объеме:",
    no_previous: "Таких жалоб, предложений и замечаний нет.",
    meeting_date: "Дата отчета",
    kind: "Вид",
    content: "Содержание",
    state: "Результат проверки",
    kinds: ["Жалоба", "Предложение", "Замечание"],
    states: [
        "Подлежит проверке",
        "Проводится проверка",
        "Направлено по подведомственности, инициатор уведомлен",
        "Проверка завершена",
    ],
    forwarded_to: "Направлено: {body}",
    result: "Результат: {result}",
    follow_up_open: "Не завершено проверок: {n}",
    protocol_title: "ПРОТОКОЛ отчета участкового инспектора полиции перед населением",
    protocol_draft: "Проект протокола, не подписан",
    correction: "Исправление протокола версии {version}. Причина исправления: {reason}",
    date: "Дата: {value}",
    time: "Время: {value}",
    place: "Место проведения: {value}",
    participants: "Количество участников: {value}",
    report: "Отчет участкового инспектора полиции",
    decisions: "Принятые решения",
    remarks: "Иные сведения",
    none: "—",
    items: "Жалобы, предложения и замечания граждан, поступившие в ходе отчета",
    no_items: "Жалоб, предложений и замечаний не поступило.",
    answered: "ответы и разъяснения даны в полном объеме",
    to_check: "ответы и разъяснения не даны в полном объеме, проводится проверка",
    position: "Участковый инспектор полиции",
    signed: "Версия {version}, подписана {date} участковым инспектором полиции {name}.",
    sha: "SHA-256 подписанного содержания: {sha}",
    late: "Протокол оформлен не в день проведения отчета.",
    notice_title: "ОБЪЯВЛЕНИЕ об отчете участкового инспектора полиции перед населением",
    notice_intro: "Участковый инспектор полиции {name} отчитывается перед населением \
        административного участка: {beats}.",
    notice_link: "Ссылка для участия онлайн: {value}",
    notice_welcome: "Приглашаются жители участка, представители местных исполнительных \
        органов, организаций и средств массовой информации.",
};

/// Kazakh: our translation of the Russian texts above (the seed is in Russian).
const KK: MeetingTexts = MeetingTexts {
    report_title: "Учаскелік полиция инспекторының халық алдындағы ЕСЕБІ",
    report_draft: "Жоба, жүйе деректері бойынша дайындалды",
    beats: "Әкімшілік учаске: {beats}",
    inspector: "Учаскелік полиция инспекторы: {name}",
    period: "Кезең: {from} бастап {to} дейін",
    sections: [
        "1. Қызмет көрсетілетін әкімшілік учаскедегі криминогендік жағдай және оны \
         тұрақтандыру бойынша қабылданып жатқан шаралар туралы",
        "2. Құқық бұзушылықтардың профилактикасы бойынша жүргізіліп жатқан жұмыс туралы",
        "3. Азаматтарды қоғамдық тәртіпті қамтамасыз етуге тарту туралы",
        "4. Полицияның профилактикалық қызметі саласындағы Қазақстан Республикасы \
         заңнамасындағы өзгерістер туралы",
        "5. Шағымдар мен өтініштер, оның ішінде алдыңғы есептер барысында түскендері бойынша \
         қабылданған шаралар туралы",
    ],
    to_write: "[Учаскелік полиция инспекторы толтырады]",
    measures: "Қабылданып жатқан шаралар:",
    category: "Санат",
    no_category: "Санатсыз",
    cards: "«102» карточкалары",
    total: "Барлығы",
    cards_without_place: "Орын координаттары жоқ, ешбір учаскеге жатқызылмаған карточкалар: {n}",
    outcome: "Қарау нәтижесі",
    appeals: "Өтініштер",
    appeals_without_place: "Орны көрсетілмеген, ешбір учаскеге жатқызылмаған өтініштер: {n}",
    outcomes: [
        "Қаралуда",
        "Қанағаттандырылды",
        "Түсіндірілді",
        "Бас тартылды",
        "Полицияның құзыретті бөлімшесіне жіберілді",
        "Полиция құзыретіне жатпайды",
        "Жауап берілді (шешімі әлі алынбаған)",
        "Берілді (ОЛ-2 нысаны)",
        "Қаралмады",
    ],
    previous: "Алдыңғы есептердің толық көлемде жауап берілмеген шағымдары, ұсыныстары және \
        ескертпелері:",
    no_previous: "Мұндай шағымдар, ұсыныстар және ескертпелер жоқ.",
    meeting_date: "Есеп күні",
    kind: "Түрі",
    content: "Мазмұны",
    state: "Тексеру нәтижесі",
    kinds: ["Шағым", "Ұсыныс", "Ескертпе"],
    states: [
        "Тексерілуге тиіс",
        "Тексеру жүргізілуде",
        "Ведомстволық бағыныстылығы бойынша жіберілді, бастамашы хабардар етілді",
        "Тексеру аяқталды",
    ],
    forwarded_to: "Жіберілді: {body}",
    result: "Нәтижесі: {result}",
    follow_up_open: "Аяқталмаған тексерулер: {n}",
    protocol_title: "Учаскелік полиция инспекторының халық алдындағы есебінің ХАТТАМАСЫ",
    protocol_draft: "Хаттаманың жобасы, қол қойылмаған",
    correction: "Хаттаманың {version} нұсқасын түзету. Түзету себебі: {reason}",
    date: "Күні: {value}",
    time: "Уақыты: {value}",
    place: "Өткізілетін орны: {value}",
    participants: "Қатысушылар саны: {value}",
    report: "Учаскелік полиция инспекторының есебі",
    decisions: "Қабылданған шешімдер",
    remarks: "Өзге мәліметтер",
    none: "—",
    items: "Есеп барысында түскен азаматтардың шағымдары, ұсыныстары және ескертпелері",
    no_items: "Шағымдар, ұсыныстар және ескертпелер түскен жоқ.",
    answered: "жауаптар мен түсініктемелер толық көлемде берілді",
    to_check: "жауаптар мен түсініктемелер толық көлемде берілмеді, тексеру жүргізіледі",
    position: "Учаскелік полиция инспекторы",
    signed: "{version} нұсқа, {date} учаскелік полиция инспекторы {name} қол қойды.",
    sha: "Қол қойылған мазмұнның SHA-256: {sha}",
    late: "Хаттама есеп өткізілген күні ресімделмеген.",
    notice_title: "Учаскелік полиция инспекторының халық алдындағы есебі туралы ХАБАРЛАНДЫРУ",
    notice_intro: "Учаскелік полиция инспекторы {name} әкімшілік учаске тұрғындары алдында \
        есеп береді: {beats}.",
    notice_link: "Онлайн қатысуға арналған сілтеме: {value}",
    notice_welcome: "Учаске тұрғындары, жергілікті атқарушы органдардың, ұйымдардың және \
        бұқаралық ақпарат құралдарының өкілдері шақырылады.",
};

fn texts(lang: Lang) -> &'static MeetingTexts {
    match lang {
        Lang::Kk => &KK,
        Lang::Ru => &RU,
    }
}

fn kind_index(k: ItemKind) -> usize {
    match k {
        ItemKind::Complaint => 0,
        ItemKind::Proposal => 1,
        ItemKind::Remark => 2,
    }
}

fn state_index(s: FollowUpState) -> usize {
    match s {
        FollowUpState::Open => 0,
        FollowUpState::Checking => 1,
        FollowUpState::Forwarded => 2,
        FollowUpState::Closed => 3,
    }
}

fn outcome_index(o: AppealOutcome) -> usize {
    match o {
        AppealOutcome::InReview => 0,
        AppealOutcome::Satisfied => 1,
        AppealOutcome::Explained => 2,
        AppealOutcome::Refused => 3,
        AppealOutcome::Redirected => 4,
        AppealOutcome::OutsideCompetence => 5,
        AppealOutcome::AnsweredUnrecorded => 6,
        AppealOutcome::Transferred => 7,
        AppealOutcome::NotConsidered => 8,
    }
}

fn too_many(field: &str, len: usize, max: usize) -> Result<(), AnswerError> {
    if len > max {
        return Err(AnswerError::TooMany {
            field: field.into(),
            max,
        });
    }
    Ok(())
}

/// A one-line field from the meeting document, which allows tabs and line breaks in any text:
/// they become spaces, then the field is checked like the answer's.
fn mline(field: &str, value: &str, max: usize) -> Result<String, AnswerError> {
    line(field, &value.replace(['\t', '\n', '\r'], " "), max)
}

/// A free text from the meeting document: a tab becomes a space (the answer's texts allow none),
/// a one-line one has its line breaks as spaces too.
fn mtext(field: &str, value: &str, max: usize, multiline: bool) -> Result<String, AnswerError> {
    if multiline {
        text(field, &value.replace('\t', " "), max, true)
    } else {
        mline(field, value, max)
    }
}

/// The beats as one line, each checked.
fn beats_line(beats: &[String]) -> Result<String, AnswerError> {
    if beats.is_empty() {
        return Err(AnswerError::Required {
            field: "beats".into(),
        });
    }
    too_many("beats", beats.len(), MEETING_BEATS_MAX)?;
    let names = beats
        .iter()
        .enumerate()
        .map(|(i, b)| mline(&format!("beats[{i}]"), b, FIELD_CHARS_MAX))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(names.join("; "))
}

/// A free text that may be empty; checked like the answer's paragraphs, one block per line.
fn paragraphs(field: &str, value: &str) -> Result<Vec<String>, AnswerError> {
    if value.trim().is_empty() {
        return Ok(Vec::new());
    }
    let v = mtext(field, value, MEETING_TEXT_CHARS_MAX, true)?;
    Ok(v.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect())
}

fn table<'a>(header: Vec<String>, rows: Vec<Vec<String>>) -> Block<'a> {
    Block::Table(Cow::Owned(AnswerTable { header, rows }))
}

/// Validates the draft report's input and lays it out.
pub fn report_letter(input: &MeetingReportInput) -> Result<Letter<'static>, AnswerError> {
    let t = texts(input.language);
    let authority = mline("authority", &input.authority, FIELD_CHARS_MAX)?;
    let beats = beats_line(&input.beats)?;
    let inspector = mline("inspector", &input.inspector, FIELD_CHARS_MAX)?;
    let from = date("period_from", &input.period_from)?;
    let to = date("period_to", &input.period_to)?;
    let day = date("date", &input.date)?;
    too_many("cards", input.cards.len(), MEETING_ROWS_MAX)?;
    too_many("appeals", input.appeals.len(), MEETING_ROWS_MAX)?;
    too_many("follow_up", input.follow_up.len(), MEETING_ROWS_MAX)?;

    let mut blocks = vec![
        Block::Authority(authority),
        Block::Blank,
        Block::Authority(t.report_title.into()),
        Block::Line(t.report_draft.into()),
        Block::Blank,
        Block::Line(fill(t.beats, &[("beats", &beats)])),
        Block::Line(fill(t.inspector, &[("name", &inspector)])),
        Block::Line(fill(
            t.period,
            &[("from", &from.short()), ("to", &to.short())],
        )),
    ];

    // 1. The criminogenic situation: the cards by category, then the measures.
    blocks.push(Block::Heading(t.sections[0].into()));
    let mut rows = Vec::with_capacity(input.cards.len() + 1);
    for (i, c) in input.cards.iter().enumerate() {
        let name = match &c.category {
            Some(n) => mline(&format!("cards[{i}].category"), n, FIELD_CHARS_MAX)?,
            None => t.no_category.into(),
        };
        rows.push(vec![name, c.count.to_string()]);
    }
    rows.push(vec![t.total.into(), input.cards_total.to_string()]);
    blocks.push(table(vec![t.category.into(), t.cards.into()], rows));
    if input.cards_without_place > 0 {
        blocks.push(Block::Body(fill(
            t.cards_without_place,
            &[("n", &input.cards_without_place.to_string())],
        )));
    }
    blocks.push(Block::Body(t.measures.into()));
    blocks.push(Block::Body(t.to_write.into()));

    // 2–4: nothing the system knows.
    for s in &t.sections[1..4] {
        blocks.push(Block::Heading((*s).into()));
        blocks.push(Block::Body(t.to_write.into()));
    }

    // 5. Complaints and appeals: the appeals by outcome, the previous meetings' items.
    blocks.push(Block::Heading(t.sections[4].into()));
    let mut rows: Vec<Vec<String>> = input
        .appeals
        .iter()
        .map(|a| {
            vec![
                t.outcomes[outcome_index(a.outcome)].into(),
                a.count.to_string(),
            ]
        })
        .collect();
    rows.push(vec![t.total.into(), input.appeals_total.to_string()]);
    blocks.push(table(vec![t.outcome.into(), t.appeals.into()], rows));
    if input.appeals_without_place > 0 {
        blocks.push(Block::Body(fill(
            t.appeals_without_place,
            &[("n", &input.appeals_without_place.to_string())],
        )));
    }
    blocks.push(Block::Body(t.previous.into()));
    if input.follow_up.is_empty() {
        blocks.push(Block::Body(t.no_previous.into()));
    } else {
        let mut rows = Vec::with_capacity(input.follow_up.len());
        for (i, f) in input.follow_up.iter().enumerate() {
            let d = date(&format!("follow_up[{i}].meeting_date"), &f.meeting_date)?;
            let content = mtext(
                &format!("follow_up[{i}].text"),
                &f.text,
                MEETING_TEXT_CHARS_MAX,
                true,
            )?;
            let mut state = String::from(t.states[state_index(f.state)]);
            if let Some(body) = f.forwarded_to.as_deref().filter(|b| !b.trim().is_empty()) {
                let body = mline(
                    &format!("follow_up[{i}].forwarded_to"),
                    body,
                    FIELD_CHARS_MAX,
                )?;
                state.push('\n');
                state.push_str(&fill(t.forwarded_to, &[("body", &body)]));
            }
            if let Some(result) = f.result.as_deref().filter(|r| !r.trim().is_empty()) {
                let result = mtext(
                    &format!("follow_up[{i}].result"),
                    result,
                    MEETING_TEXT_CHARS_MAX,
                    true,
                )?;
                state.push('\n');
                state.push_str(&fill(t.result, &[("result", &result)]));
            }
            rows.push(vec![
                d.short(),
                t.kinds[kind_index(f.kind)].into(),
                content,
                state,
            ]);
        }
        blocks.push(table(
            vec![
                t.meeting_date.into(),
                t.kind.into(),
                t.content.into(),
                t.state.into(),
            ],
            rows,
        ));
        blocks.push(Block::Body(fill(
            t.follow_up_open,
            &[("n", &input.follow_up_open.to_string())],
        )));
    }
    blocks.push(Block::Body(t.measures.into()));
    blocks.push(Block::Body(t.to_write.into()));
    blocks.push(Block::Blank);
    blocks.push(Block::Signature {
        position: t.position.into(),
        name: inspector,
    });
    Ok(Letter { date: day, blocks })
}

/// Validates the protocol's input and lays it out.
pub fn protocol_letter(input: &ProtocolInput) -> Result<Letter<'static>, AnswerError> {
    let t = texts(input.language);
    let authority = mline("authority", &input.authority, FIELD_CHARS_MAX)?;
    let beats = beats_line(&input.beats)?;
    let inspector = mline("inspector", &input.inspector, FIELD_CHARS_MAX)?;
    let day = date("date", &input.date)?;
    let time = mline("time", &input.time, FIELD_CHARS_MAX)?;
    let place = mline("place", &input.place, FIELD_CHARS_MAX)?;
    too_many("items", input.items.len(), MEETING_ITEMS_MAX)?;
    let signature = match &input.signature {
        None => None,
        Some(s) => {
            if s.version == 0 {
                return Err(AnswerError::Required {
                    field: "signature.version".into(),
                });
            }
            let signed_on = date("signature.signed_on", &s.signed_on)?;
            let sha = mline("signature.sha256", &s.sha256, SHA256_HEX_CHARS)?;
            if sha.len() != SHA256_HEX_CHARS || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(AnswerError::InvalidCharacters {
                    field: "signature.sha256".into(),
                });
            }
            let reason = if s.version > 1 {
                Some(mtext(
                    "signature.correction_reason",
                    s.correction_reason.as_deref().unwrap_or(""),
                    MEETING_TEXT_CHARS_MAX,
                    false,
                )?)
            } else {
                None
            };
            Some((s, signed_on, sha, reason))
        }
    };

    let mut blocks = vec![
        Block::Authority(authority),
        Block::Blank,
        Block::Authority(t.protocol_title.into()),
    ];
    match &signature {
        None => blocks.push(Block::Line(t.protocol_draft.into())),
        Some((s, _, _, Some(reason))) => blocks.push(Block::Line(fill(
            t.correction,
            &[
                ("version", &(s.version - 1).to_string()),
                ("reason", reason),
            ],
        ))),
        Some(_) => {}
    }
    blocks.push(Block::Blank);
    let value = |template: &str, v: &str| Block::Line(fill(template, &[("value", v)]));
    blocks.push(value(t.date, &day.short()));
    blocks.push(value(t.time, &time));
    blocks.push(value(t.place, &place));
    blocks.push(Block::Line(fill(t.beats, &[("beats", &beats)])));
    blocks.push(value(t.participants, &input.participants.to_string()));

    for (field, heading, value) in [
        ("report", t.report, &input.report),
        ("decisions", t.decisions, &input.decisions),
        ("remarks", t.remarks, &input.remarks),
    ] {
        blocks.push(Block::Heading(heading.into()));
        let paras = paragraphs(field, value)?;
        if paras.is_empty() {
            blocks.push(Block::Body(t.none.into()));
        }
        blocks.extend(paras.into_iter().map(Block::Body));
    }

    blocks.push(Block::Heading(t.items.into()));
    if input.items.is_empty() {
        blocks.push(Block::Body(t.no_items.into()));
    }
    for (i, item) in input.items.iter().enumerate() {
        let field = format!("items[{i}].text");
        let paras = paragraphs(&field, &item.text)?;
        if paras.is_empty() {
            return Err(AnswerError::Required { field });
        }
        let answer = if item.answered_fully {
            t.answered
        } else {
            t.to_check
        };
        for (n, p) in paras.into_iter().enumerate() {
            blocks.push(Block::Body(if n == 0 {
                format!("{}. {}: {p}", i + 1, t.kinds[kind_index(item.kind)])
            } else {
                p
            }));
        }
        blocks.push(Block::Body(format!("({answer})")));
    }

    blocks.push(Block::Blank);
    blocks.push(Block::Signature {
        position: t.position.into(),
        name: inspector.clone(),
    });
    let mut doc_date = day;
    if let Some((s, signed_on, sha, _)) = &signature {
        doc_date = *signed_on;
        blocks.push(Block::Line(fill(
            t.signed,
            &[
                ("version", &s.version.to_string()),
                ("date", &signed_on.short()),
                ("name", &inspector),
            ],
        )));
        blocks.push(Block::Line(fill(t.sha, &[("sha", sha)])));
        if !s.on_time {
            blocks.push(Block::Line(t.late.into()));
        }
    }
    Ok(Letter {
        date: doc_date,
        blocks,
    })
}

/// Validates the notice's input and lays it out.
pub fn notice_letter(input: &NoticeInput) -> Result<Letter<'static>, AnswerError> {
    let t = texts(input.language);
    let authority = mline("authority", &input.authority, FIELD_CHARS_MAX)?;
    let beats = beats_line(&input.beats)?;
    let inspector = mline("inspector", &input.inspector, FIELD_CHARS_MAX)?;
    let day = date("date", &input.date)?;
    let published = date("published_on", &input.published_on)?;
    let time = mline("time", &input.time, FIELD_CHARS_MAX)?;
    let place = mline("place", &input.place, FIELD_CHARS_MAX)?;
    let value = |template: &str, v: &str| Block::Line(fill(template, &[("value", v)]));
    let mut blocks = vec![
        Block::Authority(authority),
        Block::Blank,
        Block::Authority(t.notice_title.into()),
        Block::Blank,
        Block::Body(fill(
            t.notice_intro,
            &[("name", &inspector), ("beats", &beats)],
        )),
        value(t.date, &day.short()),
        value(t.time, &time),
        value(t.place, &place),
    ];
    if let Some(link) = &input.link {
        let link = mline("link", link, MEETING_LINK_CHARS_MAX)?;
        blocks.push(value(t.notice_link, &link));
    }
    blocks.push(Block::Body(t.notice_welcome.into()));
    Ok(Letter {
        date: published,
        blocks,
    })
}

/// The printable notice as DOCX bytes.
pub fn render_notice(input: &NoticeInput) -> Result<Vec<u8>, AnswerError> {
    package::render(&notice_letter(input)?, input.language)
}

/// The notice as plain text (the posts and the e-mails), one block a line.
pub fn notice_text(input: &NoticeInput) -> Result<String, AnswerError> {
    Ok(notice_letter(input)?.plain_text().trim().to_string())
}

/// The draft report as DOCX bytes.
pub fn render_meeting_report(input: &MeetingReportInput) -> Result<Vec<u8>, AnswerError> {
    package::render(&report_letter(input)?, input.language)
}

/// The protocol (a signed version, a correction, or the unsigned draft) as DOCX bytes.
pub fn render_protocol(input: &ProtocolInput) -> Result<Vec<u8>, AnswerError> {
    package::render(&protocol_letter(input)?, input.language)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r24_kk_and_ru_texts_are_all_written() {
        for t in [&KK, &RU] {
            assert!(t.sections.iter().all(|s| !s.trim().is_empty()));
            assert!(t.outcomes.iter().all(|s| !s.trim().is_empty()));
            assert!(t.kinds.iter().all(|s| !s.trim().is_empty()));
            assert!(t.states.iter().all(|s| !s.trim().is_empty()));
        }
        assert_ne!(KK.sections, RU.sections);
    }
}
