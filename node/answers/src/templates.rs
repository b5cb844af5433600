//! The fixed frame of an answer letter, per language × decision kind (R12, R13, R15).
//!
//! A letter is: the answering body; the outgoing date and number and the reference to the
//! appeal; the addressee; the opening in the first person ("Рассмотрев Ваше обращение …,
//! сообщаю следующее." / "… өтінішіңізді қарап, мынаны хабарлаймын."); the officer's own
//! paragraphs; an optional table; JPEG images with captions; the decision sentences of the
//! template (for a refusal the right to appeal under АППК; for a redirection the competent unit;
//! outside competence the lack of authority and the competent body); the signature block; the
//! executor line.
//!
//! Templates are constant strings with `{name}` slots filled in one pass from the input, so text
//! that the officer typed is never read as a slot; every slot a template names must be given
//! (the tests render every language × decision and look for leftovers).

use std::borrow::Cow;

use crate::jpeg::{self, JpegError, JpegInfo};
use crate::model::{
    AnswerError, AnswerInput, AnswerTable, Decision, Lang, FIELD_CHARS_MAX, IMAGES_MAX,
    IMAGE_BYTES_MAX, PARAGRAPHS_MAX, PARAGRAPH_CHARS_MAX, TABLE_CELL_CHARS_MAX, TABLE_COLS_MAX,
    TABLE_ROWS_MAX,
};

/// The letter laid out as blocks, before it becomes DOCX or plain text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Letter<'a> {
    /// The date of the answer.
    pub date: Date,
    pub blocks: Vec<Block<'a>>,
}

/// One block of the letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block<'a> {
    /// The answering body, centred, bold.
    Authority(String),
    /// A line flush left without indent (outgoing number, reference to the appeal).
    Line(String),
    /// The addressee block, on the right half of the page.
    Addressee(Vec<String>),
    /// A paragraph of the body: justified, first-line indent.
    Body(String),
    /// An empty line.
    Blank,
    /// A section heading: flush left, bold, kept with what follows.
    Heading(String),
    /// A table (the answer's own, borrowed; a meeting document's, built from its data).
    Table(Cow<'a, AnswerTable>),
    /// A JPEG image and its caption.
    Image {
        bytes: &'a [u8],
        info: JpegInfo,
        caption: String,
    },
    /// The signer's position on the left and name on the right.
    Signature { position: String, name: String },
    /// The executor line at the foot.
    Executor(String),
}

impl Letter<'_> {
    /// The letter as plain text, one block a line.
    pub fn plain_text(&self) -> String {
        let mut out = String::new();
        for block in &self.blocks {
            match block {
                Block::Authority(s)
                | Block::Heading(s)
                | Block::Line(s)
                | Block::Body(s)
                | Block::Executor(s) => {
                    out.push_str(s);
                    out.push('\n');
                }
                Block::Addressee(lines) => {
                    for l in lines {
                        out.push_str(l);
                        out.push('\n');
                    }
                }
                Block::Blank => out.push('\n'),
                Block::Table(t) => {
                    out.push_str(&t.header.join(" | "));
                    out.push('\n');
                    for row in &t.rows {
                        out.push_str(&row.join(" | "));
                        out.push('\n');
                    }
                }
                Block::Image { info, caption, .. } => {
                    out.push_str(&format!(
                        "[JPEG {}×{}] {caption}\n",
                        info.width, info.height
                    ));
                }
                Block::Signature { position, name } => {
                    out.push_str(position);
                    out.push_str("    ");
                    out.push_str(name);
                    out.push('\n');
                }
            }
        }
        out
    }
}

/// The constant texts of one language.
struct Texts {
    /// The outgoing date with its number: `{date}`, `{number}`. A no-break space follows "№".
    outgoing: &'static str,
    /// The reference to the appeal: `{number}`, `{date}`.
    reference: &'static str,
    /// Opening, appeal registered the day it is dated: `{date}`, `{number}`.
    opening: &'static str,
    /// Opening, registered on another day: `{date}`, `{number}`, `{registered}`.
    opening_registered: &'static str,
    satisfied: &'static str,
    explained: &'static str,
    refused: &'static str,
    /// After an explanation: how to contest the answer.
    appeal_right_answer: &'static str,
    /// After a refusal: how to contest the decision (АППК, administrative or judicial order).
    appeal_right_decision: &'static str,
    /// `{body}`: the competent unit of the police (R13).
    redirected: &'static str,
    /// `{body}`: the competent body outside the police (R15).
    outside_competence: &'static str,
    /// `{n}`, `{caption}`.
    figure: &'static str,
    /// `{n}`.
    figure_bare: &'static str,
    /// `{name}`, `{position}`.
    executor: &'static str,
    /// `{phone}`, appended to the executor line.
    executor_phone: &'static str,
    /// Dates in running text: `{day}`, `{month}`, `{year}`; month names in the case the text needs.
    date_long: &'static str,
    months: [&'static str; 12],
    /// The locative form for "registered on" (Kazakh), same as `months` in Russian.
    months_on: [&'static str; 12],
    date_on: &'static str,
}

const RU: Texts = Texts {
    outgoing: "{date} №\u{a0}{number}",
    reference: "На №\u{a0}{number} от {date}",
    opening: "Рассмотрев Ваше обращение от {date} №\u{a0}{number}, сообщаю следующее.",
    opening_registered: "Рассмотрев Ваше обращение от {date} №\u{a0}{number} \
        (зарегистрировано {registered}), сообщаю следующее.",
    satisfied: "С учётом изложенного Ваше обращение удовлетворено.",
    explained: "Таким образом, по поставленным Вами вопросам даны разъяснения.",
    refused: "На основании изложенного в удовлетворении Вашего обращения отказано.",
    appeal_right_answer: "В случае несогласия с данным ответом Вы вправе обжаловать его \
        в административном (досудебном) порядке в вышестоящий государственный орган либо \
        в судебном порядке в соответствии с Административным процедурно-процессуальным \
        кодексом Республики Казахстан.",
    appeal_right_decision: "В случае несогласия с принятым решением Вы вправе обжаловать его \
        в административном (досудебном) порядке в вышестоящий государственный орган либо \
        в судебном порядке в соответствии с Административным процедурно-процессуальным \
        кодексом Республики Казахстан.",
    redirected: "Поскольку разрешение поставленных Вами вопросов относится к компетенции \
        другого подразделения – {body}, Ваше обращение направлено в указанное подразделение \
        для рассмотрения по существу. О результатах рассмотрения Вам будет сообщено \
        в установленный законом срок.",
    outside_competence: "Разрешение поставленных Вами вопросов не входит в компетенцию органов \
        внутренних дел, и полномочиями по их рассмотрению по существу полиция не наделена. \
        Рекомендую по данному вопросу обратиться в компетентный государственный орган – {body}.",
    figure: "Рисунок {n}. {caption}",
    figure_bare: "Рисунок {n}",
    executor: "Исп.: {name}, {position}",
    executor_phone: ", тел. {phone}",
    date_long: "{day} {month} {year} года",
    months: [
        "января",
        "февраля",
        "марта",
        "апреля",
        "мая",
        "июня",
        "июля",
        "августа",
        "сентября",
        "октября",
        "ноября",
        "декабря",
    ],
    months_on: [
        "января",
        "февраля",
        "марта",
        "апреля",
        "мая",
        "июня",
        "июля",
        "августа",
        "сентября",
        "октября",
        "ноября",
        "декабря",
    ],
    date_on: "{day} {month} {year} года",
};

const KK: Texts = Texts {
    outgoing: "{date} №\u{a0}{number}",
    reference: "{date} №\u{a0}{number} өтінішке",
    opening: "Сіздің {date} №\u{a0}{number} өтінішіңізді қарап, мынаны хабарлаймын.",
    opening_registered: "Сіздің {date} №\u{a0}{number} өтінішіңізді ({registered} тіркелген) \
        қарап, мынаны хабарлаймын.",
    satisfied: "Баяндалғанды ескере отырып, Сіздің өтінішіңіз қанағаттандырылды.",
    explained: "Осылайша, Сіз қойған мәселелер бойынша түсініктеме берілді.",
    refused: "Баяндалғанның негізінде Сіздің өтінішіңізді қанағаттандырудан бас тартылды.",
    appeal_right_answer: "Осы жауаппен келіспеген жағдайда, Сіз оған Қазақстан Республикасының \
        Әкімшілік рәсімдік-процестік кодексіне сәйкес әкімшілік (сотқа дейінгі) тәртіппен \
        жоғары тұрған мемлекеттік органға не сот тәртібімен шағым жасауға құқылысыз.",
    appeal_right_decision: "Қабылданған шешіммен келіспеген жағдайда, Сіз оған Қазақстан \
        Республикасының Әкімшілік рәсімдік-процестік кодексіне сәйкес әкімшілік (сотқа дейінгі) \
        тәртіппен жоғары тұрған мемлекеттік органға не сот тәртібімен шағым жасауға құқылысыз.",
    redirected: "Сіз қойған мәселелерді шешу басқа бөлімшенің – {body} – құзыретіне \
        жататындықтан, Сіздің өтінішіңіз мәні бойынша қарау үшін аталған бөлімшеге жіберілді. \
        Қарау нәтижелері туралы Сізге заңда белгіленген мерзімде хабарланады.",
    outside_competence: "Сіз қойған мәселелерді шешу ішкі істер органдарының құзыретіне \
        кірмейді, полицияның оларды мәні бойынша қарауға өкілеттігі жоқ. Осы мәселе бойынша \
        құзыретті мемлекеттік органға – {body} жүгінуді ұсынамын.",
    figure: "Сурет {n}. {caption}",
    figure_bare: "Сурет {n}",
    executor: "Орынд.: {name}, {position}",
    executor_phone: ", тел. {phone}",
    date_long: "{year} жылғы {day} {month}",
    months: [
        "қаңтардағы",
        "ақпандағы",
        "наурыздағы",
        "сәуірдегі",
        "мамырдағы",
        "маусымдағы",
        "шілдедегі",
        "тамыздағы",
        "қыркүйектегі",
        "қазандағы",
        "қарашадағы",
        "желтоқсандағы",
    ],
    months_on: [
        "қаңтарда",
        "ақпанда",
        "наурызда",
        "сәуірде",
        "мамырда",
        "маусымда",
        "шілдеде",
        "тамызда",
        "қыркүйекте",
        "қазанда",
        "қарашада",
        "желтоқсанда",
    ],
    date_on: "{year} жылғы {day} {month}",
};

fn texts(lang: Lang) -> &'static Texts {
    match lang {
        Lang::Kk => &KK,
        Lang::Ru => &RU,
    }
}

/// Fills `{name}` slots in one pass. A slot with no value is kept as it is, so that the tests
/// that look for `{` in the output catch it.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let key = &after[..close];
                match values.iter().find(|(k, _)| *k == key) {
                    Some((_, v)) => out.push_str(v),
                    None => out.push_str(&rest[open..open + close + 2]),
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// A calendar date from `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Date {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

impl Date {
    pub fn parse(s: &str) -> Option<Date> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<u16> {
            let part = &s[r];
            if part.bytes().all(|c| c.is_ascii_digit()) {
                part.parse().ok()
            } else {
                None
            }
        };
        let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        if year < 1900 || day == 0 || day > days {
            return None;
        }
        Some(Date {
            year,
            month: month as u8,
            day: day as u8,
        })
    }

    /// `10.03.2026`.
    pub fn short(self) -> String {
        format!("{:02}.{:02}.{}", self.day, self.month, self.year)
    }

    pub(crate) fn long(self, template: &str, months: &[&str; 12]) -> String {
        fill(
            template,
            &[
                ("day", &self.day.to_string()),
                ("month", months[usize::from(self.month - 1)]),
                ("year", &self.year.to_string()),
            ],
        )
    }
}

pub(crate) fn date(field: &str, value: &str) -> Result<Date, AnswerError> {
    Date::parse(value).ok_or_else(|| AnswerError::DateInvalid {
        field: field.to_string(),
    })
}

/// Control characters and the two non-characters XML 1.0 does not allow.
fn forbidden(c: char) -> bool {
    c.is_control() || c == '\u{FFFE}' || c == '\u{FFFF}'
}

/// A one-line field: trimmed, required, at most `max` characters, no control characters.
pub(crate) fn line(field: &str, value: &str, max: usize) -> Result<String, AnswerError> {
    text(field, value, max, false)
}

pub(crate) fn text(
    field: &str,
    value: &str,
    max: usize,
    multiline: bool,
) -> Result<String, AnswerError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(AnswerError::Required {
            field: field.to_string(),
        });
    }
    if v.chars().count() > max {
        return Err(AnswerError::TooLong {
            field: field.to_string(),
            max,
        });
    }
    if v.chars()
        .any(|c| forbidden(c) && !(multiline && (c == '\n' || c == '\r')))
    {
        return Err(AnswerError::InvalidCharacters {
            field: field.to_string(),
        });
    }
    Ok(v.to_string())
}

fn optional_line(field: &str, value: &Option<String>) -> Result<Option<String>, AnswerError> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => line(field, v, FIELD_CHARS_MAX).map(Some),
    }
}

fn check_table(table: &AnswerTable) -> Result<(), AnswerError> {
    let cols = table.header.len();
    if cols == 0 {
        return Err(AnswerError::Required {
            field: "table.header".into(),
        });
    }
    if cols > TABLE_COLS_MAX {
        return Err(AnswerError::TooMany {
            field: "table.header".into(),
            max: TABLE_COLS_MAX,
        });
    }
    if table.rows.is_empty() {
        return Err(AnswerError::Required {
            field: "table.rows".into(),
        });
    }
    if table.rows.len() > TABLE_ROWS_MAX {
        return Err(AnswerError::TooMany {
            field: "table.rows".into(),
            max: TABLE_ROWS_MAX,
        });
    }
    for (i, h) in table.header.iter().enumerate() {
        line(&format!("table.header[{i}]"), h, TABLE_CELL_CHARS_MAX)?;
    }
    for (r, row) in table.rows.iter().enumerate() {
        if row.len() != cols {
            return Err(AnswerError::TableRowWidth {
                field: format!("table.rows[{r}]"),
                expected: cols,
                got: row.len(),
            });
        }
        for (c, cell) in row.iter().enumerate() {
            // An empty cell is allowed; a cell with text follows the cell rules.
            if !cell.trim().is_empty() {
                text(
                    &format!("table.rows[{r}][{c}]"),
                    cell,
                    TABLE_CELL_CHARS_MAX,
                    true,
                )?;
            }
        }
    }
    Ok(())
}

/// Validates the input and lays the letter out from the template of its language and decision.
pub fn letter(input: &AnswerInput) -> Result<Letter<'_>, AnswerError> {
    let t = texts(input.language);
    let authority = line("authority", &input.authority, FIELD_CHARS_MAX)?;
    let applicant = line("applicant.name", &input.applicant.name, FIELD_CHARS_MAX)?;
    let address = optional_line("applicant.address", &input.applicant.address)?;
    let number = line("appeal_number", &input.appeal_number, FIELD_CHARS_MAX)?;
    let appeal_date = date("appeal_date", &input.appeal_date)?;
    let registered = date("registered_at", &input.registered_at)?;
    let answer_date = date("answer_date", &input.answer_date)?;
    let outgoing = optional_line("outgoing_number", &input.outgoing_number)?;
    let officer_name = line("officer.name", &input.officer.name, FIELD_CHARS_MAX)?;
    let officer_position = line("officer.position", &input.officer.position, FIELD_CHARS_MAX)?;
    let officer_phone = optional_line("officer.phone", &input.officer.phone)?;
    let signer_name = line("signer.name", &input.signer.name, FIELD_CHARS_MAX)?;
    let signer_position = line("signer.position", &input.signer.position, FIELD_CHARS_MAX)?;
    let competent_body = if input.decision.needs_competent_body() {
        Some(line(
            "competent_body",
            input.competent_body.as_deref().unwrap_or(""),
            FIELD_CHARS_MAX,
        )?)
    } else {
        None
    };

    if input.paragraphs.len() > PARAGRAPHS_MAX {
        return Err(AnswerError::TooMany {
            field: "paragraphs".into(),
            max: PARAGRAPHS_MAX,
        });
    }
    let mut paragraphs = Vec::new();
    for (i, p) in input.paragraphs.iter().enumerate() {
        let p = text(&format!("paragraphs[{i}]"), p, PARAGRAPH_CHARS_MAX, true)?;
        // A line break inside an entry starts a new paragraph of the letter.
        paragraphs.extend(
            p.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(String::from),
        );
    }
    if input.decision.needs_paragraphs() && paragraphs.is_empty() {
        return Err(AnswerError::Required {
            field: "paragraphs".into(),
        });
    }
    if let Some(table) = &input.table {
        check_table(table)?;
    }
    if input.images.len() > IMAGES_MAX {
        return Err(AnswerError::TooMany {
            field: "images".into(),
            max: IMAGES_MAX,
        });
    }
    let mut images = Vec::new();
    for (i, image) in input.images.iter().enumerate() {
        let field = format!("images[{i}].bytes");
        if image.bytes.len() > IMAGE_BYTES_MAX {
            return Err(AnswerError::ImageTooLarge {
                field,
                max: IMAGE_BYTES_MAX,
            });
        }
        let info = jpeg::inspect(&image.bytes).map_err(|e| match e {
            JpegError::NotJpeg => AnswerError::ImageNotJpeg {
                field: field.clone(),
            },
            JpegError::Corrupt => AnswerError::ImageCorrupt {
                field: field.clone(),
            },
        })?;
        let n = (i + 1).to_string();
        let caption = match image.caption.trim() {
            "" => fill(t.figure_bare, &[("n", &n)]),
            c => fill(
                t.figure,
                &[
                    ("n", &n),
                    (
                        "caption",
                        &line(&format!("images[{i}].caption"), c, FIELD_CHARS_MAX)?,
                    ),
                ],
            ),
        };
        images.push(Block::Image {
            bytes: &image.bytes,
            info,
            caption,
        });
    }

    let mut blocks = vec![Block::Authority(authority), Block::Blank];
    let answer_short = answer_date.short();
    blocks.push(Block::Line(match &outgoing {
        Some(n) => fill(t.outgoing, &[("date", &answer_short), ("number", n)]),
        None => answer_short,
    }));
    blocks.push(Block::Line(fill(
        t.reference,
        &[("number", &number), ("date", &appeal_date.short())],
    )));
    blocks.push(Block::Blank);
    let mut addressee = vec![applicant];
    addressee.extend(address);
    blocks.push(Block::Addressee(addressee));
    blocks.push(Block::Blank);

    let appeal_long = appeal_date.long(t.date_long, &t.months);
    blocks.push(Block::Body(if registered == appeal_date {
        fill(t.opening, &[("date", &appeal_long), ("number", &number)])
    } else {
        fill(
            t.opening_registered,
            &[
                ("date", &appeal_long),
                ("number", &number),
                ("registered", &registered.long(t.date_on, &t.months_on)),
            ],
        )
    }));
    blocks.extend(paragraphs.into_iter().map(Block::Body));
    // The table and the pictures stand apart from the text by an empty line.
    let figures = input.table.is_some() || !images.is_empty();
    if figures {
        blocks.push(Block::Blank);
    }
    if let Some(table) = &input.table {
        blocks.push(Block::Table(Cow::Borrowed(table)));
    }
    blocks.extend(images);
    if figures {
        blocks.push(Block::Blank);
    }

    let body = competent_body.as_deref().unwrap_or("");
    match input.decision {
        Decision::Satisfied => blocks.push(Block::Body(t.satisfied.into())),
        Decision::Explained => {
            blocks.push(Block::Body(t.explained.into()));
            blocks.push(Block::Body(t.appeal_right_answer.into()));
        }
        Decision::Refused => {
            blocks.push(Block::Body(t.refused.into()));
            blocks.push(Block::Body(t.appeal_right_decision.into()));
        }
        Decision::Redirected => blocks.push(Block::Body(fill(t.redirected, &[("body", body)]))),
        Decision::OutsideCompetence => {
            blocks.push(Block::Body(fill(t.outside_competence, &[("body", body)])))
        }
    }

    blocks.push(Block::Blank);
    blocks.push(Block::Signature {
        position: signer_position,
        name: signer_name,
    });
    blocks.push(Block::Blank);
    let mut executor = fill(
        t.executor,
        &[("name", &officer_name), ("position", &officer_position)],
    );
    if let Some(phone) = officer_phone {
        executor.push_str(&fill(t.executor_phone, &[("phone", &phone)]));
    }
    blocks.push(Block::Executor(executor));
    Ok(Letter {
        date: answer_date,
        blocks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r12_fill_is_one_pass() {
        assert_eq!(
            fill("a {x} b {y}", &[("x", "{y}"), ("y", "2")]),
            "a {y} b 2"
        );
        assert_eq!(fill("{missing} {", &[]), "{missing} {");
    }

    #[test]
    fn r12_dates_parse_and_format() {
        let d = Date::parse("2026-03-10").unwrap();
        assert_eq!(d.short(), "10.03.2026");
        assert_eq!(d.long(KK.date_long, &KK.months), "2026 жылғы 10 наурыздағы");
        assert_eq!(d.long(RU.date_long, &RU.months), "10 марта 2026 года");
        assert_eq!(d.long(KK.date_on, &KK.months_on), "2026 жылғы 10 наурызда");
        assert!(Date::parse("2025-02-29").is_none());
        assert!(Date::parse("2024-02-29").is_some());
        for bad in [
            "2026-13-01",
            "2026-00-10",
            "2026-04-31",
            "26-03-10",
            "2026/03/10",
            "+026-03-10",
        ] {
            assert!(Date::parse(bad).is_none(), "{bad}");
        }
    }
}
