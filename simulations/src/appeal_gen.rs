//! A seeded generator of realistic citizens' appeals for `bench appeals`: Kazakh and Russian texts
//! from a few dozen templates (noise, parking, theft, fraud, documents, complaints about staff),
//! persons with varied names, Astana addresses, ИИНs with valid check digits and mobile phones,
//! and a share of repeats — the same person writing again about the same matter some days later,
//! in other words — so that the duplicate check (R28, R38) has real candidates to find.
//!
//! Pure: the same seed gives the same appeals in the same order; time comes in as arguments.

use std::collections::VecDeque;

use node::appeals::AppealInput;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sync::appeal::{
    AppealChannel, AppealIntake, AppealKind, Applicant, ApplicantKind, Registration,
};
use sync::Language;

/// Share of appeals that repeat an earlier one (same applicant, same matter, other words).
pub const REPEAT_SHARE: f64 = 0.08;
/// Share of anonymous reports of a crime (registered for the criminal police, R11).
pub const ANONYMOUS_SHARE: f64 = 0.02;
/// Share of appeals in Kazakh (the rest in Russian).
pub const KAZAKH_SHARE: f64 = 0.45;
/// How many of the latest appeals a repeat may go back to.
pub const REPEAT_WINDOW: usize = 20_000;
/// A repeat arrives at least this long after the appeal it repeats, in ms (one hour).
pub const REPEAT_GAP_MIN_MS: i64 = 3_600_000;

/// Service code of the anonymous crime reports (it takes crime reports in the demo reference).
pub const CRIME_SERVICE: &str = "criminal-police";

/// A template: its language, the service it is for by competence, its registration tags and
/// its text with slots `{street}`, `{house}`, `{flat}`, `{time}`, `{plate}`, `{sum}`, `{days}`.
struct Template {
    lang: Language,
    service: &'static str,
    tags: &'static [&'static str],
    text: &'static str,
}

const fn t(
    lang: Language,
    service: &'static str,
    tags: &'static [&'static str],
    text: &'static str,
) -> Template {
    Template {
        lang,
        service,
        tags,
        text,
    }
}

use Language::{Kk, Ru};

const TEMPLATES: &[Template] = &[
    // Russian.
    t(Ru, "local-police", &["шум", "соседи"], "Соседи из квартиры {flat2} по адресу ул. {street}, д. {house} каждую ночь шумят после {time}, громко включают музыку и кричат. На замечания не реагируют. Прошу принять меры."),
    t(Ru, "local-police", &["шум"], "В кафе на первом этаже дома {house} по ул. {street} до {time} играет громкая музыка, жильцы не могут спать уже {days} дней подряд."),
    t(Ru, "local-police", &["собаки"], "Во дворе дома {house} по ул. {street} бегает стая бездомных собак, вчера они напали на ребёнка. Прошу принять меры к отлову."),
    t(Ru, "local-police", &["порядок"], "Возле подъезда дома {house} по ул. {street} каждый вечер после {time} собирается компания, распивают спиртное, оставляют мусор и бутылки."),
    t(Ru, "local-police", &["бытовой", "участковый"], "Мой сосед из квартиры {flat2} систематически угрожает мне и моей семье, на прошлой неделе повредил дверь. Участковый на вызовы не приходит уже {days} дней."),
    t(Ru, "road-police", &["парковка"], "Автомобиль с номером {plate} постоянно паркуется на тротуаре у дома {house} по ул. {street}, мешает проходу детей и колясок. Прошу привлечь водителя к ответственности."),
    t(Ru, "road-police", &["светофор", "дорога"], "На перекрёстке ул. {street} и ул. {street2} уже {days} дней не работает светофор, водители не пропускают пешеходов. Прошу принять меры."),
    t(Ru, "road-police", &["штраф"], "Мне пришёл штраф за превышение скорости на автомобиль {plate}, однако в указанное время автомобиль находился на стоянке у дома {house} по ул. {street}. Прошу пересмотреть постановление."),
    t(Ru, "road-police", &["дтп"], "{days} дней назад произошло ДТП на ул. {street} возле дома {house} с участием автомобиля {plate}. Прошу сообщить, на какой стадии рассмотрение материала."),
    t(Ru, "criminal-police", &["кража"], "Из подвала дома {house} по ул. {street}, кв. {flat}, украли велосипед и зимние шины. Заявление подал {days} дней назад, результатов нет."),
    t(Ru, "criminal-police", &["мошенничество"], "Мне позвонили, представились сотрудниками банка и под предлогом защиты счёта сняли с карты {sum} тенге. Прошу найти мошенников и вернуть деньги."),
    t(Ru, "criminal-police", &["мошенничество"], "Я перевёл {sum} тенге продавцу на сайте объявлений за телефон, товар так и не получил, продавец перестал отвечать. Прошу провести проверку."),
    t(Ru, "criminal-police", &["угроза"], "Неизвестные пишут мне угрозы в мессенджере уже {days} дней, требуют {sum} тенге. Прошу защитить меня и мою семью."),
    t(Ru, "migration", &["паспорт", "удостоверение"], "Я подал документы на получение паспорта {days} дней назад, срок изготовления прошёл, но паспорт не выдан. Прошу разобраться."),
    t(Ru, "migration", &["прописка"], "В моей квартире по ул. {street}, д. {house}, кв. {flat} прописаны посторонние люди, которых я не знаю. Прошу снять их с регистрации."),
    t(Ru, "internal-security", &["грубость", "жалоба на сотрудника"], "Сотрудник полиции при остановке автомобиля {plate} на ул. {street} вёл себя грубо, не представился и не объяснил причину остановки. Прошу провести проверку."),
    // Kazakh.
    t(Kk, "local-police", &["шу", "көршілер"], "{street} көшесі, {house} үйдің {flat2} пәтеріндегі көршілер күнде түнде сағат {time}-ден кейін шу шығарады, музыканы қатты қояды. Ескертуге құлақ аспайды. Шара қолдануды сұраймын."),
    t(Kk, "local-police", &["шу"], "{street} көшесі, {house} үйдің бірінші қабатындағы кафеде сағат {time}-ге дейін қатты музыка ойнайды, тұрғындар {days} күн бойы ұйықтай алмай жүр."),
    t(Kk, "local-police", &["иттер"], "{street} көшесі, {house} үйдің ауласында қаңғыбас иттер жүреді, кеше олар балаға шабуыл жасады. Иттерді аулауға шара қолдануды сұраймын."),
    t(Kk, "local-police", &["тәртіп"], "{street} көшесі, {house} үйдің кіреберісінде күнде кешке сағат {time}-ден кейін жастар жиналып, ішімдік ішеді, қоқыс тастайды."),
    t(Kk, "local-police", &["тұрмыстық", "учаскелік"], "{flat2} пәтердегі көршім маған және отбасыма үнемі қорқытып сөйлейді, өткен аптада есікті сындырды. Учаскелік инспектор {days} күннен бері келмей жүр."),
    t(Kk, "road-police", &["тұрақ"], "{plate} нөмірлі көлік {street} көшесі, {house} үйдің жанындағы жаяу жүргіншілер жолына үнемі тұрады, балалар мен арбаларға кедергі жасайды. Жүргізушіні жауапқа тартуды сұраймын."),
    t(Kk, "road-police", &["бағдаршам", "жол"], "{street} және {street2} көшелерінің қиылысында {days} күннен бері бағдаршам жұмыс істемейді, жүргізушілер жаяу жүргіншілерді өткізбейді."),
    t(Kk, "road-police", &["айыппұл"], "{plate} көлігіне жылдамдықты асырғаны үшін айыппұл келді, бірақ сол уақытта көлік {street} көшесі, {house} үйдің тұрағында тұрған. Қаулыны қайта қарауды сұраймын."),
    t(Kk, "road-police", &["жпж"], "{days} күн бұрын {street} көшесінде, {house} үйдің жанында {plate} көлігінің қатысуымен жол-көлік оқиғасы болды. Материалдың қай сатыда екенін хабарлауыңызды сұраймын."),
    t(Kk, "criminal-police", &["ұрлық"], "{street} көшесі, {house} үйдің жертөлесінен велосипед пен қысқы дөңгелектер ұрланды. {days} күн бұрын арыз бердім, нәтиже жоқ."),
    t(Kk, "criminal-police", &["алаяқтық"], "Маған банк қызметкеріміз деп телефон соғып, шотты қорғау сылтауымен картамнан {sum} теңге шешіп алды. Алаяқтарды тауып, ақшамды қайтаруды сұраймын."),
    t(Kk, "criminal-police", &["алаяқтық"], "Хабарландыру сайтындағы сатушыға телефон үшін {sum} теңге аудардым, тауарды алмадым, сатушы жауап бермейді. Тексеру жүргізуді сұраймын."),
    t(Kk, "criminal-police", &["қорқыту"], "Белгісіз адамдар {days} күннен бері мессенджерде маған қорқытып жазып, {sum} теңге талап етеді. Мені және отбасымды қорғауды сұраймын."),
    t(Kk, "migration", &["төлқұжат", "куәлік"], "{days} күн бұрын төлқұжат алуға құжат тапсырдым, дайындау мерзімі өтті, бірақ төлқұжат әлі берілмеді. Мән-жайын анықтауды сұраймын."),
    t(Kk, "migration", &["тіркеу"], "{street} көшесі, {house} үй, {flat} пәтердегі пәтеріме мен танымайтын бөгде адамдар тіркелген. Оларды тіркеуден шығаруды сұраймын."),
    t(Kk, "internal-security", &["дөрекілік", "қызметкерге шағым"], "{street} көшесінде {plate} көлігін тоқтатқан полиция қызметкері дөрекі сөйледі, өзін таныстырмады, тоқтату себебін түсіндірмеді. Тексеру жүргізуді сұраймын."),
];

const INTROS_RU: &[&str] = &[
    "",
    "Здравствуйте!",
    "Уважаемый начальник!",
    "Добрый день.",
    "Обращаюсь к вам с просьбой.",
];
const OUTROS_RU: &[&str] = &[
    "",
    "Прошу сообщить о принятых мерах.",
    "Заранее благодарю.",
    "Ответ прошу направить на мой адрес.",
    "Прошу разобраться как можно скорее.",
];
const INTROS_KK: &[&str] = &[
    "",
    "Сәлеметсіз бе!",
    "Құрметті бастық!",
    "Қайырлы күн.",
    "Сізге өтінішпен жүгініп отырмын.",
];
const OUTROS_KK: &[&str] = &[
    "",
    "Қабылданған шаралар туралы хабарлауыңызды сұраймын.",
    "Алдын ала рахмет.",
    "Жауапты мекенжайыма жіберуіңізді сұраймын.",
    "Тезірек шешуіңізді сұраймын.",
];
const REPEAT_RU: &[&str] = &[
    "Повторно обращаюсь, так как ответа до сих пор нет.",
    "Пишу ещё раз по тому же вопросу.",
    "Ранее уже обращался, ничего не изменилось.",
];
const REPEAT_KK: &[&str] = &[
    "Жауап болмағандықтан қайта жүгініп отырмын.",
    "Осы мәселе бойынша тағы да жазып отырмын.",
    "Бұрын да жүгіндім, ештеңе өзгерген жоқ.",
];

const STREETS: &[&str] = &[
    "Кенесары",
    "Абая",
    "Сарыарқа",
    "Бейбітшілік",
    "Мәңгілік Ел",
    "Тұран",
    "Сығанақ",
    "Қабанбай батыр",
    "Жансүгірова",
    "Сейфуллина",
    "Иманова",
    "Күйші Дина",
    "Петрова",
    "Победы",
    "Бөгенбай батыр",
    "Жубанова",
    "Акмешит",
    "Сауран",
    "Кабанбай батыра",
    "Туркестан",
];

/// Male surnames; the female form adds "а" to -ов, -ев, -ин.
const SURNAMES: &[&str] = &[
    "Ахметов",
    "Жұмабаев",
    "Нұрланов",
    "Оспанов",
    "Сейтқали",
    "Бекмұхамбетов",
    "Тоқтаров",
    "Әбдірахманов",
    "Иванов",
    "Петров",
    "Ким",
    "Смагулов",
    "Кузнецов",
    "Исмаилов",
    "Байжанов",
    "Мұқанов",
    "Ермеков",
    "Сидоренко",
    "Шевченко",
    "Құдайбергенов",
    "Есенов",
    "Тлеубаев",
    "Попов",
    "Қасымов",
];
const MALE_NAMES: &[&str] = &[
    "Серік",
    "Асхат",
    "Ерлан",
    "Нұрлан",
    "Дәурен",
    "Бауыржан",
    "Сергей",
    "Андрей",
    "Алексей",
    "Арман",
    "Ержан",
    "Тимур",
    "Қайрат",
    "Марат",
    "Дмитрий",
    "Руслан",
];
const FEMALE_NAMES: &[&str] = &[
    "Айгүл",
    "Гүлнар",
    "Сәуле",
    "Жанар",
    "Айгерім",
    "Динара",
    "Елена",
    "Ольга",
    "Наталья",
    "Мадина",
    "Әсел",
    "Татьяна",
    "Ләззат",
    "Ирина",
    "Камила",
    "Назерке",
];
/// A father's name with the patronymic of a son and of a daughter.
const FATHERS: &[(&str, &str)] = &[
    ("Серікұлы", "Серікқызы"),
    ("Асханұлы", "Асханқызы"),
    ("Ерланұлы", "Ерланқызы"),
    ("Маратұлы", "Маратқызы"),
    ("Қайратұлы", "Қайратқызы"),
    ("Сергеевич", "Сергеевна"),
    ("Александрович", "Александровна"),
    ("Маратович", "Маратовна"),
    ("Ерланович", "Ерлановна"),
    ("Викторович", "Викторовна"),
    ("Нурланович", "Нурлановна"),
    ("Болатұлы", "Болатқызы"),
];
const PLATE_LETTERS: &[&str] = &["ABC", "KZA", "BEK", "NUR", "AAA", "TYR", "ZZT", "MKE"];
const EMAIL_DOMAINS: &[&str] = &["mail.ru", "gmail.com", "inbox.kz", "yandex.kz"];

/// One generated appeal: what arrives at intake and how the registrar classifies it.
#[derive(Debug, Clone)]
pub struct GenAppeal {
    /// Its place in the generated order.
    pub seq: usize,
    pub received_at: i64,
    pub input: AppealInput,
    pub registration: Registration,
    /// The earlier appeal (by `seq`) it repeats.
    pub repeat_of: Option<usize>,
}

impl GenAppeal {
    /// The intake as a document holds it (the same fields, no files).
    pub fn intake(&self) -> AppealIntake {
        let i = &self.input;
        AppealIntake {
            channel: i.channel,
            kind: i.kind,
            language: i.language,
            text: i.text.clone(),
            applicant: i.applicant.clone(),
            co_applicants: i.co_applicants.clone(),
            location: i.location,
            attachments: Vec::new(),
            anonymous: i.anonymous,
            card_id: None,
            card_number: None,
        }
    }
}

/// What a repeat needs of an earlier appeal.
#[derive(Clone)]
struct Earlier {
    seq: usize,
    received_at: i64,
    template: usize,
    slots: Slots,
    applicant: Applicant,
    channel: AppealChannel,
}

#[derive(Clone)]
struct Slots {
    street: &'static str,
    street2: &'static str,
    house: u32,
    flat: u32,
    flat2: u32,
    time: u32,
    plate: String,
    sum: u32,
    days: u32,
}

pub struct AppealGen {
    rng: StdRng,
    next_seq: usize,
    recent: VecDeque<Earlier>,
}

/// A 12-digit ИИН with a valid check digit: birth date, century-and-sex digit, serial, check.
pub fn random_iin(rng: &mut impl Rng, female: bool) -> String {
    loop {
        let year = rng.gen_range(1945..=2007);
        let month = rng.gen_range(1..=12);
        let day = rng.gen_range(1..=28);
        let century = match (year >= 2000, female) {
            (false, false) => 3,
            (false, true) => 4,
            (true, false) => 5,
            (true, true) => 6,
        };
        let serial: u32 = rng.gen_range(0..10_000);
        let head = format!("{:02}{month:02}{day:02}{century}{serial:04}", year % 100);
        let d: Vec<u32> = head.chars().filter_map(|c| c.to_digit(10)).collect();
        let sum = |w: &[u32]| d.iter().zip(w).map(|(a, b)| a * b).sum::<u32>() % 11;
        let mut check = sum(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
        if check == 10 {
            check = sum(&[3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2]);
        }
        if check < 10 {
            return format!("{head}{check}");
        }
    }
}

fn pick<'a, T>(rng: &mut impl Rng, items: &'a [T]) -> &'a T {
    &items[rng.gen_range(0..items.len())]
}

fn feminine(surname: &str) -> String {
    if surname.ends_with("ов") || surname.ends_with("ев") || surname.ends_with("ин") {
        format!("{surname}а")
    } else {
        surname.to_string()
    }
}

impl AppealGen {
    pub fn new(seed: u64) -> Self {
        AppealGen {
            rng: StdRng::seed_from_u64(seed),
            next_seq: 0,
            recent: VecDeque::new(),
        }
    }

    fn slots(&mut self) -> Slots {
        let r = &mut self.rng;
        Slots {
            street: STREETS[r.gen_range(0..STREETS.len())],
            street2: STREETS[r.gen_range(0..STREETS.len())],
            house: r.gen_range(1..=120),
            flat: r.gen_range(1..=240),
            flat2: r.gen_range(1..=240),
            time: r.gen_range(21..=24),
            plate: format!(
                "{:03} {} {:02}",
                r.gen_range(1..1000),
                pick(r, PLATE_LETTERS),
                r.gen_range(1..=20)
            ),
            sum: r.gen_range(5..=900) * 1_000,
            days: r.gen_range(2..=40),
        }
    }

    fn person(&mut self, lang: Language, slots: &Slots) -> Applicant {
        let r = &mut self.rng;
        let female = r.gen_bool(0.5);
        let surname = *pick(r, SURNAMES);
        let (surname, name) = if female {
            (feminine(surname), *pick(r, FEMALE_NAMES))
        } else {
            (surname.to_string(), *pick(r, MALE_NAMES))
        };
        let father = pick(r, FATHERS);
        let patronymic = if female { father.1 } else { father.0 };
        let address = match lang {
            Kk => format!(
                "Астана қ., {} көшесі, {}-үй, {}-пәтер",
                slots.street, slots.house, slots.flat
            ),
            Ru => format!(
                "г. Астана, ул. {}, д. {}, кв. {}",
                slots.street, slots.house, slots.flat
            ),
        };
        let phone = format!(
            "+7 70{} {:03} {:02} {:02}",
            r.gen_range(0..=8),
            r.gen_range(0..1000),
            r.gen_range(0..100),
            r.gen_range(0..100)
        );
        let with_iin = r.gen_bool(0.85);
        let with_email = r.gen_bool(0.3);
        Applicant {
            kind: Some(ApplicantKind::Person),
            iin: with_iin.then(|| random_iin(r, female)),
            surname: Some(surname),
            name: Some(name.to_string()),
            patronymic: Some(patronymic.to_string()),
            address: Some(address),
            phone: Some(phone),
            email: with_email.then(|| {
                format!(
                    "user{}@{}",
                    r.gen_range(1..1_000_000),
                    pick(r, EMAIL_DOMAINS)
                )
            }),
            ..Applicant::default()
        }
    }

    fn text(&mut self, template: usize, slots: &Slots, repeat: bool) -> String {
        let tpl = &TEMPLATES[template];
        let body = tpl
            .text
            .replace("{street2}", slots.street2)
            .replace("{street}", slots.street)
            .replace("{house}", &slots.house.to_string())
            .replace("{flat2}", &slots.flat2.to_string())
            .replace("{flat}", &slots.flat.to_string())
            .replace("{time}", &slots.time.to_string())
            .replace("{plate}", &slots.plate)
            .replace("{sum}", &slots.sum.to_string())
            .replace("{days}", &slots.days.to_string());
        let r = &mut self.rng;
        let (intros, outros, repeats) = match tpl.lang {
            Kk => (INTROS_KK, OUTROS_KK, REPEAT_KK),
            Ru => (INTROS_RU, OUTROS_RU, REPEAT_RU),
        };
        let intro = if repeat {
            *pick(r, repeats)
        } else {
            *pick(r, intros)
        };
        let outro = *pick(r, outros);
        [intro, body.as_str(), outro]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn template_for(&mut self) -> usize {
        let kk = self.rng.gen_bool(KAZAKH_SHARE);
        let lang = if kk { Kk } else { Ru };
        let of_lang: Vec<usize> = (0..TEMPLATES.len())
            .filter(|&i| TEMPLATES[i].lang == lang)
            .collect();
        *pick(&mut self.rng, &of_lang)
    }

    /// The next appeal, received at `received_at` (ms); anonymous ones (which nobody can be
    /// answered) only when `anonymous_allowed`.
    pub fn next(&mut self, received_at: i64, anonymous_allowed: bool) -> GenAppeal {
        let seq = self.next_seq;
        self.next_seq += 1;
        let repeat_from = if self.rng.gen_bool(REPEAT_SHARE) {
            let eligible: Vec<usize> = (0..self.recent.len())
                .filter(|&i| self.recent[i].received_at + REPEAT_GAP_MIN_MS <= received_at)
                .collect();
            (!eligible.is_empty()).then(|| self.recent[*pick(&mut self.rng, &eligible)].clone())
        } else {
            None
        };
        let anonymous =
            anonymous_allowed && repeat_from.is_none() && self.rng.gen_bool(ANONYMOUS_SHARE);
        let (template, slots, applicant, channel, repeat_of) = match repeat_from {
            // The same person and matter, the same facts (a new number would be a new
            // circumstance, and so not a repeat: R28), in other words around them.
            Some(e) => (e.template, e.slots, e.applicant, e.channel, Some(e.seq)),
            None => {
                let template = self.template_for();
                let slots = self.slots();
                let applicant = self.person(TEMPLATES[template].lang, &slots);
                let channel = *pick(&mut self.rng, AppealChannel::ALL);
                (template, slots, applicant, channel, None)
            }
        };
        let tpl = &TEMPLATES[template];
        let text = self.text(template, &slots, repeat_of.is_some());
        let location =
            (channel.is_app() && self.rng.gen_bool(0.6)).then(|| sync::appeal::GeoPoint {
                lat: 51.10 + self.rng.gen_range(0.0..0.12),
                lon: 71.35 + self.rng.gen_range(0.0..0.20),
            });
        let input = AppealInput {
            channel,
            kind: None,
            language: tpl.lang,
            text,
            applicant: (!anonymous).then(|| applicant.clone()),
            co_applicants: Vec::new(),
            location,
            attachments: Vec::new(),
            anonymous,
            card_id: None,
            card_number: None,
        };
        let registration = Registration {
            kind: if anonymous {
                AppealKind::Report
            } else {
                *pick(
                    &mut self.rng,
                    &[
                        AppealKind::Appeal,
                        AppealKind::Appeal,
                        AppealKind::Report,
                        AppealKind::Request,
                    ],
                )
            },
            tags: tpl.tags.iter().map(|s| s.to_string()).collect(),
            collective: false,
            personal_reception: self.rng.gen_bool(0.03),
            anonymous,
            crime_signs: anonymous,
            service: if anonymous {
                CRIME_SERVICE
            } else {
                tpl.service
            }
            .to_string(),
            duplicate_of: Vec::new(),
        };
        if !anonymous {
            self.recent.push_back(Earlier {
                seq,
                received_at,
                template,
                slots,
                applicant,
                channel,
            });
            if self.recent.len() > REPEAT_WINDOW {
                self.recent.pop_front();
            }
        }
        GenAppeal {
            seq,
            received_at,
            input,
            registration,
            repeat_of,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iins_have_valid_check_digits() {
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..2_000 {
            let female = rng.gen_bool(0.5);
            let iin = random_iin(&mut rng, female);
            assert!(sync::duplicates::iin_is_valid(&iin), "{iin}");
        }
    }

    #[test]
    fn every_generated_appeal_passes_intake_validation_and_names_a_known_service() {
        let reference = crate::bench_sync::demo_reference().unwrap();
        let mut g = AppealGen::new(3);
        let mut repeats = 0;
        for k in 0..3_000 {
            let a = g.next(1_700_000_000_000 + k * 600_000, true);
            sync::appeal::validate_intake(&a.intake()).unwrap();
            assert!(reference.service(&a.registration.service).is_some());
            if let Some(of) = a.repeat_of {
                assert!(of < a.seq);
                repeats += 1;
            }
        }
        assert!((150..350).contains(&repeats), "{repeats} repeats");
    }

    #[test]
    fn the_same_seed_gives_the_same_appeals() {
        let (mut a, mut b) = (AppealGen::new(11), AppealGen::new(11));
        for k in 0..200 {
            assert_eq!(a.next(k, true).input.text, b.next(k, true).input.text);
        }
    }
}
