//! The headings of report 1-ОЛ section 5 as seed 004 (Приложение 2 к приказу № 170) writes them
//! in Russian, and in Kazakh. The Kazakh texts are our translation of the Russian (the seed has
//! no Kazakh form): replace them with the official Kazakh form when it is loaded.

use serde::Serialize;

/// One heading in both languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Text {
    pub kk: &'static str,
    pub ru: &'static str,
}

/// A number column of section 5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Column {
    /// The key the API and `CellChange` use.
    pub key: &'static str,
    /// The group heading above it («из них:», «Решение по личному приему»), if any.
    pub group: Option<Text>,
    pub title: Text,
}

/// The form's title.
pub const REPORT_TITLE: Text = Text {
    // Kazakh: our translation.
    kk: "№ 1-ОЛ «Өтініштерді, хабарламаларды, сұрау салуларды, үн қатуларды, ұсыныстарды қарау туралы» есеп",
    ru: "Отчет № 1-ОЛ \"О рассмотрении обращений, сообщений, запросов, откликов, предложений\"",
};

/// The section's title.
pub const SECTION5_TITLE: Text = Text {
    kk: "5-бөлім. Жеке қабылдау",
    ru: "Раздел 5. Личный прием",
};

/// The first column: the rows' names.
pub const ROW_NAMES: Text = Text {
    kk: "Көрсеткіштердің атауы",
    ru: "Наименование показателей",
};

/// The second column: the rows' codes (not in the seeds; empty until loaded).
pub const ROW_CODE: Text = Text {
    kk: "Жол коды",
    ru: "Код строки",
};

/// The heading of the rows: the bodies the section lists.
pub const ROWS_HEADING: Text = Text {
    kk: "Әкімшілік рәсімдік-процестік кодекстің 20-бабының 2-бөлігінде көзделген мемлекеттік органдардың, жергілікті өзін-өзі басқару органдарының, мемлекет жүз пайыз қатысатын заңды тұлғалардың тізбесі",
    ru: "Перечень государственных органов, органов местного самоуправления, юридических лиц со стопроцентным участием государства, предусмотренные частью 2 статьи 20 Административного процедурно-процессуального кодекса",
};

const OF_WHICH: Text = Text {
    kk: "оның ішінде:",
    ru: "из них:",
};

const DECISION: Text = Text {
    kk: "Жеке қабылдау бойынша шешім",
    ru: "Решение по личному приему",
};

/// The number columns, in the seed's order (the order of `Cells::values`).
pub const COLUMNS: [Column; super::section5::CELL_COLUMNS] = [
    Column {
        key: "pending_at_year_start",
        group: None,
        title: Text {
            kk: "Жыл басындағы жеке қабылдауға қаралмаған өтініштердің қалдығы",
            ru: "Остаток не рассмотренных заявлений на личный прием на начало года",
        },
    },
    Column {
        key: "received",
        group: None,
        title: Text {
            kk: "Жеке қабылдауға барлығы түскен өтініштер",
            ru: "Всего поступило заявлений на личный прием",
        },
    },
    Column {
        key: "booked",
        group: Some(OF_WHICH),
        title: Text {
            kk: "Жеке қабылдауға жазылды",
            ru: "Записано на личный прием",
        },
    },
    Column {
        key: "refused",
        group: Some(OF_WHICH),
        title: Text {
            kk: "Жеке қабылдаудан бас тартылды",
            ru: "Отказано в личном приеме",
        },
    },
    Column {
        key: "pending_at_end",
        group: None,
        title: Text {
            kk: "Есепті кезеңнің соңындағы қалдық",
            ru: "Остаток на конец отчетного периода",
        },
    },
    Column {
        key: "received_by_head",
        group: None,
        title: Text {
            kk: "Мемлекеттік органның, жергілікті өзін-өзі басқару органының басшысы қабылдады",
            ru: "Принят руководителем государственного органа, органа местного самоуправления",
        },
    },
    Column {
        key: "received_by_deputy",
        group: None,
        title: Text {
            kk: "Мемлекеттік органның, жергілікті өзін-өзі басқару органының басшысының орынбасары қабылдады",
            ru: "Принят заместителем руководителя государственного органа, органа местного самоуправления",
        },
    },
    Column {
        key: "decision_satisfied",
        group: Some(DECISION),
        title: Text {
            kk: "қанағаттандырылды",
            ru: "удовлетворено",
        },
    },
    Column {
        key: "decision_refused",
        group: Some(DECISION),
        title: Text {
            kk: "бас тартылды",
            ru: "отказано",
        },
    },
    Column {
        key: "decision_explained",
        group: Some(DECISION),
        title: Text {
            kk: "түсіндірілді",
            ru: "разъяснено",
        },
    },
];

/// Texts of the exports that are not the seed's headings (ours, in both languages).
pub const TOTAL_ROW: Text = Text {
    kk: "Барлығы",
    ru: "Всего",
};
/// The note on an incomplete report.
pub const NOT_IN_THE_SEEDS_NOTE: Text = Text {
    kk: "1–4-бөлімдер мен жол кодтары бастапқы құжаттарда жоқ (not in the seeds): есеп толық емес",
    ru: "Разделы 1–4 и коды строк в исходных документах не приведены (not in the seeds): отчет неполный",
};
/// The period line's label.
pub const PERIOD_LABEL: Text = Text {
    kk: "Кезең (жыл басынан өспелі жиынтықпен)",
    ru: "Период (нарастающим итогом с начала года)",
};
/// The version line's label.
pub const VERSION_LABEL: Text = Text {
    kk: "Нұсқа",
    ru: "Версия",
};
/// The heading of the changes from the previous version.
pub const CHANGES_LABEL: Text = Text {
    kk: "Алдыңғы нұсқадан өзгерістер",
    ru: "Изменения по сравнению с предыдущей версией",
};
