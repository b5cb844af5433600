//! Form ЛП-1 "Личный прием" (seed 004, Приложение 2-1): its 36 fields, numbered and named as the
//! seed writes them, and the card built from a reception record.
//!
//! The Russian names are the seed's, verbatim (the blanks and the "(по справочнику)" notes left
//! out of the name and kept as the field's [`Lp1Value`] kind). **The Kazakh names are our
//! translation** (the seed reproduces the form in Russian only).

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use super::reference::{ReceptionReference, RefList};

/// Fields of the form.
pub const LP1_FIELDS: usize = 36;

/// What a field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Lp1Value {
    /// Free text.
    Text,
    /// A date, `YYYY-MM-DD`.
    Date,
    /// A time, `HH:MM`.
    Time,
    /// One of the numbered options the seed prints (`1`, `2`).
    Options,
    /// A code of a reference list.
    Reference(RefList),
    /// An entry of the reception schedule (its officials).
    Official,
    /// The reporting body (the region's own name).
    Body,
}

/// One field of the form.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct Lp1Field {
    pub number: u8,
    /// The seed's name.
    pub ru: &'static str,
    /// Our translation.
    pub kk: &'static str,
    /// Marked `*` (обязательный реквизит) in the seed.
    pub mandatory: bool,
    pub value: Lp1Value,
    /// The numbered options (`(kk, ru)` of option 1, 2) for [`Lp1Value::Options`].
    #[schema(value_type = Vec<Vec<String>>)]
    pub options: &'static [(&'static str, &'static str)],
}

const YES_NO: &[(&str, &str)] = &[("иә", "да"), ("жоқ", "нет")];

const fn f(
    number: u8,
    ru: &'static str,
    kk: &'static str,
    mandatory: bool,
    value: Lp1Value,
) -> Lp1Field {
    Lp1Field {
        number,
        ru,
        kk,
        mandatory,
        value,
        options: &[],
    }
}

const fn o(
    number: u8,
    ru: &'static str,
    kk: &'static str,
    options: &'static [(&'static str, &'static str)],
) -> Lp1Field {
    Lp1Field {
        number,
        ru,
        kk,
        mandatory: false,
        value: Lp1Value::Options,
        options,
    }
}

use Lp1Value::{Date, Text, Time};

/// The form's fields, 1 to 36, in order.
pub const LP1: [Lp1Field; LP1_FIELDS] = [
    f(
        1,
        "Наименование субъекта",
        "Субъектінің атауы",
        false,
        Lp1Value::Body,
    ),
    f(
        2,
        "Регистрационный номер карточки приема",
        "Қабылдау карточкасының тіркеу нөмірі",
        false,
        Text,
    ),
    f(3, "Номер очереди", "Кезек нөмірі", false, Text),
    f(
        4,
        "Дата постановки на очередь",
        "Кезекке қойылған күні",
        false,
        Date,
    ),
    o(5, "Вне графика", "Кестеден тыс", YES_NO),
    o(
        6,
        "Вид приема",
        "Қабылдау түрі",
        &[("онлайн", "онлайн"), ("оффлайн", "оффлайн")],
    ),
    o(
        7,
        "Категория лица",
        "Тұлға санаты",
        &[("жеке", "физическое"), ("заңды", "юридическое")],
    ),
    o(
        8,
        "Статус",
        "Мәртебесі",
        &[("резидент", "резидент"), ("резидент емес", "не резидент")],
    ),
    o(
        9,
        "Пол",
        "Жынысы",
        &[("ер", "мужской"), ("әйел", "женский")],
    ),
    f(
        10,
        "Индивидуальный идентификационный номер",
        "Жеке сәйкестендіру нөмірі",
        true,
        Text,
    ),
    f(11, "Фамилия", "Тегі", true, Text),
    f(12, "Имя", "Аты", true, Text),
    f(
        13,
        "Род занятий (место работы)",
        "Қызмет түрі (жұмыс орны)",
        false,
        Text,
    ),
    f(
        14,
        "Национальность",
        "Ұлты",
        false,
        Lp1Value::Reference(RefList::Nationality),
    ),
    f(
        15,
        "Гражданство",
        "Азаматтығы",
        false,
        Lp1Value::Reference(RefList::Citizenship),
    ),
    f(16, "Дата рождения", "Туған күні", false, Date),
    f(17, "Возраст", "Жасы", false, Text),
    f(
        18,
        "Социальный статус",
        "Әлеуметтік мәртебесі",
        true,
        Lp1Value::Reference(RefList::SocialStatus),
    ),
    f(19, "Адрес регистрации", "Тіркелген мекенжайы", false, Text),
    f(
        20,
        "Адрес фактического проживания",
        "Нақты тұратын мекенжайы",
        false,
        Text,
    ),
    f(
        21,
        "Домашний/рабочий телефон",
        "Үй/жұмыс телефоны",
        false,
        Text,
    ),
    f(22, "Мобильный телефон", "Ұялы телефоны", false, Text),
    f(
        23,
        "Характер вопроса",
        "Мәселенің сипаты",
        false,
        Lp1Value::Reference(RefList::QuestionNature),
    ),
    f(
        24,
        "Должностное лицо, председательствующий проведение прием граждан",
        "Азаматтарды қабылдауға төрағалық ететін лауазымды тұлға",
        false,
        Lp1Value::Official,
    ),
    f(
        25,
        "Решение по личному приему",
        "Жеке қабылдау бойынша шешім",
        false,
        Lp1Value::Reference(RefList::Decision),
    ),
    f(26, "Дата приема", "Қабылдау күні", true, Date),
    f(27, "Время приема", "Қабылдау уақыты", true, Time),
    f(
        28,
        "Место приема/город",
        "Қабылдау орны/қала",
        true,
        Lp1Value::Reference(RefList::Kato),
    ),
    f(
        29,
        "Место приема/адресат",
        "Қабылдау орны/адресат",
        true,
        Text,
    ),
    f(
        30,
        "Комментарий для заявителя",
        "Өтініш берушіге түсініктеме",
        false,
        Text,
    ),
    f(
        31,
        "Должностное лицо, который провел прием граждан",
        "Азаматтарды қабылдауды жүргізген лауазымды тұлға",
        true,
        Lp1Value::Official,
    ),
    f(32, "Секретарь заседания", "Отырыс хатшысы", true, Text),
    f(
        33,
        "На приеме присутствовал",
        "Қабылдауға қатысқан",
        true,
        Text,
    ),
    f(
        34,
        "Язык формирования протокола",
        "Хаттаманы жасау тілі",
        false,
        Lp1Value::Reference(RefList::Language),
    ),
    f(35, "Комментарий", "Түсініктеме", false, Text),
    f(
        36,
        "Прием не проведен (комментарий причина не проведения приема)",
        "Қабылдау өткізілмеді (өткізілмеу себебі туралы түсініктеме)",
        false,
        Text,
    ),
];

/// The field numbered `n` (1 to 36).
pub fn field(n: u8) -> Option<&'static Lp1Field> {
    LP1.get(usize::from(n).checked_sub(1)?)
}

/// Fields known when a reception is booked and mandatory then (the applicant and the slot).
pub const MANDATORY_AT_BOOKING: [u8; 8] = [10, 11, 12, 18, 26, 27, 28, 29];
/// Fields mandatory once a reception is recorded as held (all the seed's `*` fields).
pub const MANDATORY_WHEN_HELD: [u8; 11] = [10, 11, 12, 18, 26, 27, 28, 29, 31, 32, 33];
/// Fields mandatory when a reception is recorded as not held: the booking's, and field 36 (the
/// reason, p.18). Fields 31–33 (who received, the secretary, who attended) describe a reception
/// that took place; for one that did not they stay as filled, not required.
pub const MANDATORY_WHEN_NOT_HELD: [u8; 9] = [10, 11, 12, 18, 26, 27, 28, 29, 36];

/// One field of a filled card.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Lp1Entry {
    pub number: u8,
    pub ru: &'static str,
    pub kk: &'static str,
    pub mandatory: bool,
    /// The stored value (an option number, a reference code, text); `None` when not filled.
    pub value: Option<String>,
    /// The value's name in kk and ru where it is a code (an option, a reference entry).
    pub value_kk: Option<String>,
    pub value_ru: Option<String>,
    /// Filled by the system (from the schedule, the booking or another field), not typed.
    pub automatic: bool,
}

/// A filled ЛП-1 card.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Lp1Card {
    pub form: &'static str,
    /// The record's id.
    pub id: String,
    /// The 36 fields in order.
    pub fields: Vec<Lp1Entry>,
    /// Mandatory fields not filled for the record's state (empty when complete).
    pub missing: Vec<u8>,
    /// The reference lists are sample data (see [`ReceptionReference::sample`]).
    pub sample_reference: bool,
}

/// Fields the system fills (seed p.23 leaves ЛП-1 to the official; these come from data the
/// node already holds: the schedule, the booking and field 16).
pub const AUTOMATIC: [u8; 13] = [1, 2, 3, 4, 5, 6, 17, 24, 26, 27, 28, 29, 31];

/// Builds the card from the stored values (`values`: field number → value).
pub fn card(
    id: &str,
    values: &BTreeMap<u8, String>,
    missing: Vec<u8>,
    reference: &ReceptionReference,
    officials: &dyn Fn(&str) -> Option<String>,
) -> Lp1Card {
    let fields = LP1
        .iter()
        .map(|d| {
            let value = values.get(&d.number).cloned();
            let (value_kk, value_ru) = match (&value, d.value) {
                (Some(v), Lp1Value::Options) => v
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| d.options.get(i.checked_sub(1)?))
                    .map(|(kk, ru)| (Some(kk.to_string()), Some(ru.to_string())))
                    .unwrap_or((None, None)),
                (Some(v), Lp1Value::Reference(list)) => reference
                    .lookup(list, v)
                    .map(|(kk, ru)| (Some(kk.to_string()), Some(ru.to_string())))
                    .unwrap_or((None, None)),
                (Some(v), Lp1Value::Official) => {
                    let name = officials(v);
                    (name.clone(), name)
                }
                _ => (None, None),
            };
            Lp1Entry {
                number: d.number,
                ru: d.ru,
                kk: d.kk,
                mandatory: d.mandatory,
                value,
                value_kk,
                value_ru,
                automatic: AUTOMATIC.contains(&d.number),
            }
        })
        .collect();
    Lp1Card {
        form: "ЛП-1",
        id: id.to_string(),
        fields,
        missing,
        sample_reference: reference.sample,
    }
}
