//! `bench appeals`: citizens' appeals at the size of a region and of the nation (issue 12).
//!
//! (a) Region: a real node (`node::server::open_node` on a scratch directory) filled through the
//!     appeal service the HTTP API calls (`AppealService::intake`, `register`, and for the
//!     appeals older than [`OPEN_WINDOW_DAYS`] the answer: `Assign`, `SubmitDraft` and `approve`
//!     with the real DOCX rendering), every step group-committed as in production, by
//!     [`FILL_TASKS`] concurrent tasks so the group commit batches. The appeals come from
//!     [`crate::appeal_gen`] (Kazakh and Russian, ~8 % repeats), received over the last
//!     [`SPAN_DAYS`] days. Then, measured on the filled store:
//!     - registration: `registrars` concurrent registrars take new appeals in and register
//!       them; the latency of `register` (load, decide, index, audit, durable commit);
//!     - the manager's deadline board (`AppealService::board` of each service, R16);
//!     - the duplicate check (`get` + `AppealService::duplicates`, R28) of random stored
//!       appeals, with its recall: a repeat must find the appeal it repeats.
//! (b) Hub: the central's own store (`central::server::open_central`) holding the appeals of
//!     [`REGIONS`], each a real appeal document (`AppealDoc::create` + `Register`) brought in
//!     through the import every replicated document takes (`Repo::import` of the node's
//!     uncompressed export). The national duplicate check runs over it once
//!     [`NATIONAL_CHECK`] names the hub's check; until then the region's check is the figure
//!     reported, with `duplicate_check_scope=region`.
//! (c) Deadlines: `sync::deadline::deadline` (15 working days, R11) and
//!     `WorkCalendar::add_working_days` over random starts in the calendar's years, flat out.
//! RSS from `/proc/self/status` (node and hub in one process).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use node::appeals::{AppealService, Staff};
use node::store::Store;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use sync::appeal::{Actor, AnswerDraft, AppealCommand, AppealDoc, Decision, Env};
use sync::calendar::{Day, WorkCalendar, KZ_UTC_OFFSET_MIN};
use sync::deadline::{self, Term};
use sync::duplicates::Fingerprint;
use sync::protocol::Repo;
use sync::{Ctx, DocId, DocKind, Document};

use crate::appeal_gen::{AppealGen, GenAppeal};
use crate::bench_sync::{demo_reference, REGIONS};
use crate::report::{self, goal_word, Latency, Report};

pub const NAME: &str = "appeals";

const GOAL_DUPLICATE_P99_MS_MAX: f64 = 50.0;
const GOAL_REGISTRATION_P99_MS_MAX: f64 = 20.0;
const GOAL_BOARD_P99_MS_MAX: f64 = 50.0;
const GOAL_DEADLINES_PER_S_MIN: f64 = 1_000_000.0;
/// A full run fails when a figure misses its goal by more than this factor (quick runs on a
/// shared CI machine only report).
const GOAL_FAIL_FACTOR: f64 = 2.0;

/// Concurrent tasks of the fill (enough for the group commit to batch, as `bench node-commit`).
const FILL_TASKS: usize = 64;
/// The appeals are received over this many days before now.
const SPAN_DAYS: i64 = 365;
/// Appeals received within this many days are still being worked on; older ones are answered,
/// but for [`LEFT_OVERDUE_SHARE`] of them.
const OPEN_WINDOW_DAYS: i64 = 30;
/// Share of the older appeals left unanswered (overdue on the board).
const LEFT_OVERDUE_SHARE: f64 = 0.02;
/// Officers of each service the manager assigns to.
const OFFICERS_PER_SERVICE: usize = 6;
/// Hub appeals made per round before they are imported (bounds the fill's memory).
const HUB_ROUND: usize = 2_000;
/// Starts the deadline loop cycles through (a power of two).
const DEADLINE_STARTS: usize = 1 << 16;
const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;
const ADMIN_PASSWORD: &str = "bench-admin-password-1";
const REGISTRAR_LOGIN: &str = "reg.bench";
const CITIZEN_ACTOR: &str = "citizen";

/// The hub's national duplicate check of one fingerprint (its candidates, `exclude` left out).
pub type NationalCheck = fn(&dyn Store, &Fingerprint, &DocId) -> anyhow::Result<usize>;

/// The hub's national duplicate check ([`central::appeal_dups::candidates`]: the asking
/// appeal's region is the node's to check, so all of it is left out).
const NATIONAL_CHECK: Option<NationalCheck> = Some(|store, fp, exclude| {
    Ok(central::appeal_dups::candidates(store, fp, exclude.region())?.len())
});

#[derive(Debug, Clone)]
pub struct AppealsConfig {
    pub seed: u64,
    pub quick: bool,
    /// Appeals stored on the region's node.
    pub region_appeals: usize,
    /// Appeals of each of the [`REGIONS`] stored at the hub.
    pub hub_per_region: usize,
    /// New appeals registered in the measured window.
    pub registrations: usize,
    /// Concurrent registrars in the measured window.
    pub registrars: usize,
    /// Calls of each service's board.
    pub board_calls: usize,
    /// Duplicate checks of random stored appeals (region and, when available, national).
    pub duplicate_checks: usize,
    /// Deadline computations timed (each kind).
    pub deadline_ops: usize,
}

impl AppealsConfig {
    pub fn new(
        quick: bool,
        seed: u64,
        region_appeals: Option<usize>,
        hub_per_region: Option<usize>,
        registrars: usize,
    ) -> Self {
        Self {
            seed,
            quick,
            region_appeals: region_appeals.unwrap_or(if quick { 5_000 } else { 200_000 }),
            hub_per_region: hub_per_region.unwrap_or(if quick { 2_000 } else { 100_000 }),
            registrations: if quick { 500 } else { 5_000 },
            registrars,
            board_calls: if quick { 40 } else { 200 },
            duplicate_checks: if quick { 500 } else { 5_000 },
            deadline_ops: if quick { 2_000_000 } else { 20_000_000 },
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// VmRSS and VmHWM (peak) of this process, in MiB.
fn rss_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (kib("VmRSS:") / 1024.0, kib("VmHWM:") / 1024.0)
}

fn registrar() -> Staff {
    Staff {
        login: REGISTRAR_LOGIN.into(),
        name: "Ахметова Сәуле".into(),
        service: None,
    }
}

fn manager(service: &str) -> Staff {
    Staff {
        login: format!("mgr.{service}"),
        name: "Жұмабаев Ерлан".into(),
        service: Some(service.into()),
    }
}

fn officer(service: &str, k: usize) -> Staff {
    Staff {
        login: format!("off.{service}.{k}"),
        name: "Оспанов Нұрлан".into(),
        service: Some(service.into()),
    }
}

/// When appeal `seq` of `count` arrives: evenly over the span, with jitter, in order.
fn received_at(now: i64, seq: usize, count: usize, rng: &mut StdRng) -> i64 {
    let span = SPAN_DAYS * DAY_MS;
    let step = span / count.max(1) as i64;
    now - span + seq as i64 * step + rng.gen_range(0..step.max(1))
}

/// Intake and registration as the registrar does them (the app's appeals come in as the
/// citizen, the others as the registrar typing them); the answer too for the older ones.
/// Returns the appeal's id and, when it is left open, its service and deadline.
async fn fill_one(
    svc: &AppealService,
    cal: &WorkCalendar,
    g: GenAppeal,
    answer: bool,
    now: i64,
    rng_seed: u64,
) -> anyhow::Result<(String, Option<(String, Day)>)> {
    let mut rng = StdRng::seed_from_u64(rng_seed);
    let by = if g.input.channel.is_app() {
        CITIZEN_ACTOR
    } else {
        REGISTRAR_LOGIN
    };
    let language = g.input.language;
    let (a, _token) = svc
        .intake(by, g.input, g.received_at)
        .await
        .with_context(|| format!("intake of appeal {}", g.seq))?;
    let mut at = (g.received_at + rng.gen_range(HOUR_MS / 6..4 * HOUR_MS)).min(now);
    let service = g.registration.service.clone();
    let registered = svc
        .register(&a.id, &registrar(), g.registration, cal, at)
        .await
        .with_context(|| format!("registration of appeal {}", g.seq))?;
    if !answer {
        let open = registered.deadline.map(|due| (service, due));
        return Ok((a.id, open));
    }
    let mgr = manager(&service);
    let off = officer(&service, rng.gen_range(0..OFFICERS_PER_SERVICE));
    at += DAY_MS;
    svc.command(
        &a.id,
        &mgr,
        AppealCommand::Assign {
            officer: off.login.clone(),
        },
        cal,
        at,
    )
    .await
    .context("assignment")?;
    at += rng.gen_range(2..10) * DAY_MS;
    let paragraphs = match language {
        sync::Language::Kk => vec![
            "Сіздің өтінішіңіз бойынша тексеру жүргізілді.".to_string(),
            "Анықталған бұзушылықтар бойынша заңда көзделген шаралар қабылданды.".to_string(),
        ],
        sync::Language::Ru => vec![
            "По вашему обращению проведена проверка.".to_string(),
            "По выявленным нарушениям приняты меры, предусмотренные законом.".to_string(),
        ],
    };
    svc.command(
        &a.id,
        &off,
        AppealCommand::SubmitDraft {
            draft: AnswerDraft {
                decision: Decision::Explained,
                language,
                paragraphs,
                table: None,
                images: Vec::new(),
                competent_body: None,
            },
        },
        cal,
        at,
    )
    .await
    .context("the draft answer")?;
    at += DAY_MS;
    svc.approve(&a.id, &mgr, cal, at, |a| {
        node::appeals::answer::render_submitted(svc, a, &mgr.name, |login| login.to_string(), at)
    })
    .await
    .context("approval")?;
    Ok((a.id, None))
}

struct RegionFill {
    /// The id of each generated appeal, by its `seq`.
    ids: Vec<String>,
    /// The earlier appeal each repeat repeats, by `seq`.
    repeat_of: Vec<Option<usize>>,
    answered: usize,
    /// Appeals left open, by service: their deadlines.
    open_deadlines: BTreeMap<String, Vec<Day>>,
    took: Duration,
}

async fn fill_region(
    svc: Arc<node::service::CardService>,
    cal: Arc<WorkCalendar>,
    count: usize,
    seed: u64,
    now: i64,
) -> anyhow::Result<RegionFill> {
    struct Source {
        gen: AppealGen,
        rng: StdRng,
        next: usize,
    }
    let source = Arc::new(Mutex::new(Source {
        gen: AppealGen::new(seed),
        rng: StdRng::seed_from_u64(seed ^ 0x5eed),
        next: 0,
    }));
    let ids = Arc::new(Mutex::new(vec![String::new(); count]));
    let repeat_of = Arc::new(Mutex::new(vec![None; count]));
    let answered = Arc::new(AtomicUsize::new(0));
    let open_deadlines = Arc::new(Mutex::new(BTreeMap::<String, Vec<Day>>::new()));
    let bar = report::progress(count as u64, "region fill");
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..FILL_TASKS {
        let (svc, cal, source, ids, repeat_of, answered, open_deadlines, bar) = (
            svc.clone(),
            cal.clone(),
            source.clone(),
            ids.clone(),
            repeat_of.clone(),
            answered.clone(),
            open_deadlines.clone(),
            bar.clone(),
        );
        tasks.spawn(async move {
            loop {
                let (g, answer, step_seed) = {
                    let mut s = lock(&source);
                    if s.next >= count {
                        return anyhow::Ok(());
                    }
                    let seq = s.next;
                    s.next += 1;
                    let at = received_at(now, seq, count, &mut s.rng);
                    let old = at < now - OPEN_WINDOW_DAYS * DAY_MS;
                    let answer = old && !s.rng.gen_bool(LEFT_OVERDUE_SHARE);
                    let g = s.gen.next(at, !answer);
                    (g, answer, s.rng.gen::<u64>())
                };
                let seq = g.seq;
                lock(&repeat_of)[seq] = g.repeat_of;
                let (id, open) = fill_one(svc.appeals(), &cal, g, answer, now, step_seed).await?;
                if let Some((service, due)) = open {
                    lock(&open_deadlines).entry(service).or_default().push(due);
                }
                answered.fetch_add(answer as usize, Ordering::Relaxed);
                lock(&ids)[seq] = id;
                bar.inc(1);
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.context("a fill task panicked")??;
    }
    bar.finish_and_clear();
    let took = started.elapsed();
    let ids = std::mem::take(&mut *lock(&ids));
    let repeat_of = std::mem::take(&mut *lock(&repeat_of));
    let open_deadlines = std::mem::take(&mut *lock(&open_deadlines));
    Ok(RegionFill {
        ids,
        repeat_of,
        answered: answered.load(Ordering::Relaxed),
        open_deadlines,
        took,
    })
}

/// The measured window: `registrars` concurrent registrars each take a new appeal in and
/// register it; the latency of each registration.
async fn measure_registration(
    svc: Arc<node::service::CardService>,
    cal: Arc<WorkCalendar>,
    config: &AppealsConfig,
    now: i64,
) -> anyhow::Result<(Latency, Latency, f64)> {
    let source = Arc::new(Mutex::new((AppealGen::new(config.seed ^ 0x7e9), 0usize)));
    let samples = Arc::new(Mutex::new((Vec::new(), Vec::new())));
    let count = config.registrations;
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..config.registrars {
        let (svc, cal, source, samples) =
            (svc.clone(), cal.clone(), source.clone(), samples.clone());
        tasks.spawn(async move {
            loop {
                let g = {
                    let mut s = lock(&source);
                    if s.1 >= count {
                        return anyhow::Ok(());
                    }
                    s.1 += 1;
                    // Arriving today, in order, a second apart.
                    let at = now - count as i64 * 1_000 + s.1 as i64 * 1_000;
                    s.0.next(at, true)
                };
                let appeals = svc.appeals();
                let t = Instant::now();
                let (a, _) = appeals.intake(CITIZEN_ACTOR, g.input, now).await?;
                let intake = t.elapsed();
                let t = Instant::now();
                appeals
                    .register(&a.id, &registrar(), g.registration, &cal, now)
                    .await?;
                let register = t.elapsed();
                let mut s = lock(&samples);
                s.0.push(intake);
                s.1.push(register);
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.context("a registrar task panicked")??;
    }
    let per_s = count as f64 / started.elapsed().as_secs_f64();
    let mut s = std::mem::take(&mut *lock(&samples));
    Ok((
        Latency::from_samples(&mut s.0),
        Latency::from_samples(&mut s.1),
        per_s,
    ))
}

pub struct HubFill {
    pub stored: usize,
    pub took: Duration,
    /// Stored appeals to check nationally: the document and its fingerprint, repeats first.
    sample: Vec<(DocId, Fingerprint, bool)>,
}

/// The hub's store filled with `per_region` appeals of every region through the import of
/// replicated documents.
pub async fn fill_hub(
    central: &central::server::Central,
    cal: &WorkCalendar,
    config: &AppealsConfig,
    now: i64,
) -> anyhow::Result<HubFill> {
    let reference = demo_reference()?;
    let env = Env {
        reference: &reference,
        calendar: cal,
        utc_offset_min: KZ_UTC_OFFSET_MIN,
    };
    let mut rng = StdRng::seed_from_u64(config.seed ^ 0xc0de);
    let sample_every =
        (REGIONS.len() * config.hub_per_region / config.duplicate_checks.max(1)).max(1);
    let mut sample = Vec::new();
    let started = Instant::now();
    let mut stored = 0usize;
    let total = REGIONS.len() * config.hub_per_region;
    let bar = report::progress(total as u64, "hub fill");
    for (r, region) in REGIONS.iter().enumerate() {
        let mut gen = AppealGen::new(config.seed.wrapping_add(1 + r as u64));
        let mut seq_by_year: BTreeMap<i32, u64> = BTreeMap::new();
        let actor = automerge::ActorId::random();
        let mut done = 0usize;
        while done < config.hub_per_region {
            let round = HUB_ROUND.min(config.hub_per_region - done);
            // Made as the region's node makes them; the hub gets the node's export.
            let docs = tokio::task::block_in_place(|| -> anyhow::Result<Vec<_>> {
                let mut out = Vec::with_capacity(round);
                for k in 0..round {
                    let seq = done + k;
                    let at = received_at(now, seq, config.hub_per_region, &mut rng);
                    let g = gen.next(at, true);
                    let id = uuid_like(&mut rng);
                    let by = if g.input.channel.is_app() {
                        CITIZEN_ACTOR
                    } else {
                        REGISTRAR_LOGIN
                    };
                    let mut doc = AppealDoc::create(
                        actor.clone(),
                        &id,
                        &g.intake(),
                        &Ctx::new(by, *region, at),
                    )?;
                    let reg_at = (at + rng.gen_range(HOUR_MS / 6..4 * HOUR_MS)).min(now);
                    let year = Day::from_ms(reg_at, KZ_UTC_OFFSET_MIN).year();
                    let n = seq_by_year.entry(year).or_insert(0);
                    *n += 1;
                    doc.apply(
                        &AppealCommand::Register {
                            number: format!("{region}-{year}-{n:06}"),
                            registration: g.registration.clone(),
                        },
                        &Actor {
                            name: Some("Ахметова Сәуле".into()),
                            service: None,
                            hq: false,
                        },
                        &env,
                        &Ctx::new(REGISTRAR_LOGIN, *region, reg_at),
                    )?;
                    let fp = (g.repeat_of.is_some() || seq.is_multiple_of(sample_every))
                        .then(|| -> anyhow::Result<Fingerprint> {
                            let view = doc.view(None)?;
                            Ok(sync::duplicates::fingerprint(
                                &node::appeals::duplicates::subject(&view),
                            ))
                        })
                        .transpose()?;
                    let bytes = doc.automerge().save_nocompress();
                    let doc_id = DocId::new(region, DocKind::Appeal, &id)?;
                    out.push((doc_id, bytes, fp, g.repeat_of.is_some()));
                }
                Ok(out)
            })?;
            tokio::task::block_in_place(|| -> anyhow::Result<()> {
                let repo = central.state.hub.repo(region);
                let mut repo = lock(&repo);
                for (doc_id, bytes, fp, repeat) in docs {
                    repo.import(&doc_id.to_string(), &bytes, None)
                        .with_context(|| format!("importing {doc_id}"))?;
                    if let Some(fp) = fp {
                        sample.push((doc_id, fp, repeat));
                    }
                }
                central.gc.wait_written()?;
                Ok(())
            })?;
            done += round;
            stored += round;
            bar.set_position(stored as u64);
        }
    }
    bar.finish_and_clear();
    // Half repeats (they have a candidate to find), the rest others, up to the checks asked.
    let (repeats, others): (Vec<_>, Vec<_>) = sample.into_iter().partition(|s| s.2);
    let half = config.duplicate_checks / 2;
    let others_taken = (config.duplicate_checks - half.min(repeats.len())).min(others.len());
    let sample: Vec<_> = repeats
        .into_iter()
        .take(half)
        .chain(others.into_iter().take(others_taken))
        .collect();
    Ok(HubFill {
        stored,
        took: started.elapsed(),
        sample,
    })
}

/// A random UUID-shaped id (the node's ids are v4 UUIDs).
fn uuid_like(rng: &mut StdRng) -> String {
    let b: [u8; 16] = rng.gen();
    let h = hex::encode(b);
    format!(
        "{}-{}-4{}-a{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

/// Deadline arithmetic flat out: (deadlines/s, add_working_days/s).
fn measure_deadlines(cal: &WorkCalendar, ops: usize, seed: u64) -> anyhow::Result<(f64, f64)> {
    let years: Vec<i32> = cal.years().collect();
    let (Some(&first), Some(&last)) = (years.first(), years.last()) else {
        bail!("the working-day calendar has no years");
    };
    let from = Day::from_ymd(first, 1, 1)?.start_ms(KZ_UTC_OFFSET_MIN);
    // Starts late enough in the last year would run past the calendar: leave two months.
    let to = Day::from_ymd(last, 10, 31)?.start_ms(KZ_UTC_OFFSET_MIN);
    let mut rng = StdRng::seed_from_u64(seed ^ 0xdead);
    let starts: Vec<i64> = (0..DEADLINE_STARTS)
        .map(|_| rng.gen_range(from..to))
        .collect();
    let days: Vec<Day> = starts
        .iter()
        .map(|&ms| Day::from_ms(ms, KZ_UTC_OFFSET_MIN))
        .collect();
    let mask = DEADLINE_STARTS - 1;
    let started = Instant::now();
    let mut acc = 0i64;
    for i in 0..ops {
        let d = deadline::deadline(
            cal,
            starts[i & mask],
            Term::WorkingDays(deadline::REVIEW_TERM_WORKING_DAYS),
            KZ_UTC_OFFSET_MIN,
        )?;
        acc = acc.wrapping_add(d.due_at);
    }
    let deadlines_per_s = ops as f64 / started.elapsed().as_secs_f64();
    std::hint::black_box(acc);
    let started = Instant::now();
    let mut acc = 0i64;
    for i in 0..ops {
        let d = cal.add_working_days(days[i & mask], (i % 40) as u32 + 1)?;
        acc = acc.wrapping_add(i64::from(d.days()));
    }
    let add_per_s = ops as f64 / started.elapsed().as_secs_f64();
    std::hint::black_box(acc);
    Ok((deadlines_per_s, add_per_s))
}

pub async fn run(config: AppealsConfig) -> anyhow::Result<bool> {
    let mut report = Report::new(NAME);
    report.detail("config", format!("{config:?}"));
    let now = node::http::now_ms();

    // (a) The region.
    let dir = report::scratch_dir("appeals-")?;
    let mut node_config = node::config::Config::load(None).context("the node's embedded config")?;
    node_config.accounts.argon2_memory_kib = 1024;
    let node = node::server::open_node(
        &node_config,
        &dir.path().join("node"),
        Some(ADMIN_PASSWORD.into()),
    )
    .await?;
    let svc = node.state.service.clone();
    let cal = svc.work_calendar()?;
    let region = svc.reference().region.code.clone();
    let fill = fill_region(
        svc.clone(),
        cal.clone(),
        config.region_appeals,
        config.seed,
        now,
    )
    .await?;
    let (rss_region, _) = rss_mib();
    println!(
        "region {region}: {} appeals through intake + register ({} also assigned, drafted and approved with their DOCX) by {FILL_TASKS} tasks in {:.1} s ({:.0} appeals/s); {:.0} MB on disk; RSS {rss_region:.0} MiB",
        fill.ids.len(),
        fill.answered,
        fill.took.as_secs_f64(),
        fill.ids.len() as f64 / fill.took.as_secs_f64(),
        node.store.size_on_disk_bytes() as f64 / 1e6,
    );

    let (intake_lat, reg_lat, reg_per_s) =
        measure_registration(svc.clone(), cal.clone(), &config, now).await?;
    println!(
        "registration, {} registrars, {:.0}/s: register {} (intake {})",
        config.registrars,
        reg_per_s,
        reg_lat.human(),
        intake_lat.human()
    );

    // The manager's board of each service.
    let appeals = svc.appeals();
    let services: Vec<String> = appeals
        .reference()
        .services
        .iter()
        .map(|s| s.code.clone())
        .collect();
    let mut all_ok = true;
    let mut board_samples = Vec::new();
    let mut board_by_service = serde_json::Map::new();
    let mut board_faults: Vec<String> = Vec::new();
    for service in &services {
        let mut samples = Vec::with_capacity(config.board_calls);
        let mut shown = 0;
        let mut overdue = 0;
        for _ in 0..config.board_calls {
            let t = Instant::now();
            let board = appeals.board(Some(service), &cal, now)?;
            samples.push(t.elapsed());
            shown = board.len();
            overdue = board
                .iter()
                .filter(|a| a.deadline_state == Some(sync::appeal::DeadlineState::Overdue))
                .count();
            // Overdue first (R16).
            let ranks: Vec<u8> = board
                .iter()
                .map(|a| match a.deadline_state {
                    Some(sync::appeal::DeadlineState::Overdue) => 0,
                    Some(sync::appeal::DeadlineState::Near) => 1,
                    _ => 2,
                })
                .collect();
            if !ranks.windows(2).all(|w| w[0] <= w[1])
                || !board.iter().all(|a| a.status.term_runs())
            {
                all_ok = false;
                board_faults.push(format!(
                    "the {service} board is not open appeals, overdue first"
                ));
            }
        }
        board_samples.extend_from_slice(&samples);
        let latency = Latency::from_samples(&mut samples);
        // R16: every overdue appeal of the service heads the board (as many as it shows).
        let today = appeals.today(now);
        let expected_overdue = fill
            .open_deadlines
            .get(service)
            .map_or(0, |d| d.iter().filter(|&&due| due < today).count())
            .min(node::appeals::APPEAL_LIST_MAX);
        let overdue_ok = overdue == expected_overdue;
        all_ok &= overdue_ok;
        if !overdue_ok {
            board_faults.push(format!(
                "the {service} board shows {overdue} overdue appeals of {expected_overdue}"
            ));
        }
        println!(
            "board {service}: {} ({shown} shown, {overdue} overdue of {expected_overdue})",
            latency.human()
        );
        board_by_service.insert(
            service.clone(),
            json!({"latency": latency.to_json(), "shown": shown, "overdue": overdue,
                   "overdue_expected": expected_overdue}),
        );
    }
    let board_lat = Latency::from_samples(&mut board_samples);
    println!("board, every service: {}", board_lat.human());

    // The region's duplicate check of random stored appeals; a repeat must find its original.
    let mut rng = StdRng::seed_from_u64(config.seed ^ 0xd0b);
    let mut dup_samples = Vec::with_capacity(config.duplicate_checks);
    let (mut repeats, mut found, mut with_candidates) = (0usize, 0usize, 0usize);
    for _ in 0..config.duplicate_checks.min(fill.ids.len()) {
        let seq = rng.gen_range(0..fill.ids.len());
        let id = &fill.ids[seq];
        let t = Instant::now();
        let a = appeals.get(id, &cal, now)?;
        let dups = appeals.region_duplicates(&a)?;
        dup_samples.push(t.elapsed());
        with_candidates += !dups.candidates.is_empty() as usize;
        if let Some(of) = fill.repeat_of[seq] {
            repeats += 1;
            found += dups.candidates.iter().any(|c| c.id == fill.ids[of]) as usize;
        }
    }
    let region_dup_lat = Latency::from_samples(&mut dup_samples);
    let recall = if repeats == 0 {
        1.0
    } else {
        found as f64 / repeats as f64
    };
    println!(
        "duplicate check (region): {} ({with_candidates} with candidates; {found} of {repeats} repeats found their original)",
        region_dup_lat.human()
    );
    // Every repeat reuses its original's person and matter: the check must find nearly all.
    let recall_ok = recall >= 0.9;
    all_ok &= recall_ok;
    let _ = node.shutdown.send(true);

    // (b) The hub.
    let hub_dir = report::scratch_dir("appeals-hub-")?;
    let mut central_config = central::config::Config::load_layers(&[])?;
    central_config.accounts.argon2_memory_kib = 1024;
    let central =
        central::server::open_central(&central_config, hub_dir.path(), Some(ADMIN_PASSWORD.into()))
            .await?;
    let hub = fill_hub(&central, &cal, &config, now).await?;
    let (rss_hub, _) = rss_mib();
    println!(
        "hub: {} appeals of {} regions through Repo::import in {:.1} s ({:.0} appeals/s); {:.0} MB on disk; RSS {rss_hub:.0} MiB",
        hub.stored,
        REGIONS.len(),
        hub.took.as_secs_f64(),
        hub.stored as f64 / hub.took.as_secs_f64(),
        central.store.size_on_disk_bytes() as f64 / 1e6,
    );
    let mut national = None;
    if let Some(check) = NATIONAL_CHECK {
        let mut samples = Vec::with_capacity(hub.sample.len());
        let mut with_candidates = 0usize;
        for (doc_id, fp, _) in &hub.sample {
            let t = Instant::now();
            let n = check(&*central.store, fp, doc_id)?;
            samples.push(t.elapsed());
            with_candidates += (n > 0) as usize;
        }
        let latency = Latency::from_samples(&mut samples);
        println!(
            "duplicate check (national): {} ({with_candidates} with candidates)",
            latency.human()
        );
        national = Some(latency);
    } else {
        println!(
            "duplicate check (national): the hub has no national check yet; the region's is reported"
        );
    }
    let _ = central.shutdown.send(true);

    // (c) Deadlines.
    let (deadlines_per_s, add_per_s) =
        tokio::task::block_in_place(|| measure_deadlines(&cal, config.deadline_ops, config.seed))?;
    println!(
        "deadlines: {:.2} M/s (deadline, 15 working days); add_working_days {:.2} M/s",
        deadlines_per_s / 1e6,
        add_per_s / 1e6
    );
    let (rss, hwm) = rss_mib();

    let (dup_lat, scope) = match national {
        Some(l) => (l, "national"),
        None => (region_dup_lat, "region"),
    };
    let goals = [
        (
            "duplicate check p99",
            dup_lat.p99_ms,
            GOAL_DUPLICATE_P99_MS_MAX,
            true,
        ),
        (
            "registration p99",
            reg_lat.p99_ms,
            GOAL_REGISTRATION_P99_MS_MAX,
            true,
        ),
        ("board p99", board_lat.p99_ms, GOAL_BOARD_P99_MS_MAX, true),
        (
            "deadlines per second",
            deadlines_per_s,
            GOAL_DEADLINES_PER_S_MIN,
            false,
        ),
    ];
    println!("goals:");
    let mut goals_met = true;
    let mut wide_misses = Vec::new();
    for (what, value, goal, at_most) in goals {
        let met = if at_most {
            value <= goal
        } else {
            value >= goal
        };
        let wide = if at_most {
            value > goal * GOAL_FAIL_FACTOR
        } else {
            value < goal / GOAL_FAIL_FACTOR
        };
        goals_met &= met;
        if wide {
            wide_misses.push(format!("{what} {value:.2} (goal {goal})"));
        }
        println!(
            "  {what} {value:.2} {} {goal}: {}",
            if at_most { "≤" } else { "≥" },
            goal_word(met)
        );
    }
    println!("  RSS {rss:.0} MiB (peak {hwm:.0} MiB)");
    board_faults.dedup();
    for fault in &board_faults {
        println!("FAILED: {fault}");
    }
    if !recall_ok {
        println!("FAILED: the duplicate check found the original of {found} of {repeats} repeats");
    }
    let fail_goals = !config.quick && !wide_misses.is_empty();
    if fail_goals {
        println!(
            "FAILED: missed by more than {GOAL_FAIL_FACTOR}×: {}",
            wide_misses.join("; ")
        );
    }

    // The RESULT line carries exactly the keys, in its order.
    report.kv_f("duplicate_check_p99_ms", dup_lat.p99_ms, 2);
    report.kv_f("registration_p99_ms", reg_lat.p99_ms, 2);
    report.kv_f("board_p99_ms", board_lat.p99_ms, 2);
    report.kv("deadlines_per_s", deadlines_per_s.round() as u64);
    report.kv("rss_mib", rss.round() as u64);
    report.detail("seed", config.seed);
    report.detail("duplicate_check_scope", scope);
    report.detail("answers_ok", all_ok);
    report.detail("board_faults", board_faults.clone());
    report.detail("goal_met", goals_met);
    report.detail(
        "region_fill",
        json!({"appeals": fill.ids.len(), "answered": fill.answered, "tasks": FILL_TASKS,
               "seconds": report::round(fill.took.as_secs_f64(), 1),
               "path": "AppealService::intake + register (+ Assign, SubmitDraft, approve with the DOCX for answered ones)"}),
    );
    report.detail(
        "registration",
        json!({"registrars": config.registrars, "per_s": report::round(reg_per_s, 1),
               "register": reg_lat.to_json(), "intake": intake_lat.to_json()}),
    );
    report.detail(
        "board",
        json!({"all": board_lat.to_json(), "by_service": board_by_service}),
    );
    report.detail(
        "duplicate_check_region",
        json!({"latency": region_dup_lat.to_json(), "repeats": repeats, "found": found,
               "with_candidates": with_candidates, "recall": report::round(recall, 3)}),
    );
    if let Some(l) = national {
        report.detail("duplicate_check_national", l.to_json());
    }
    report.detail(
        "hub_fill",
        json!({"appeals": hub.stored, "regions": REGIONS.len(),
               "seconds": report::round(hub.took.as_secs_f64(), 1),
               "path": "AppealDoc::create + Register, the node's uncompressed export, Repo::import on the hub"}),
    );
    report.detail(
        "deadlines",
        json!({"deadline_per_s": report::round(deadlines_per_s, 0),
               "add_working_days_per_s": report::round(add_per_s, 0)}),
    );
    report.detail("rss", json!({"rss_mib": report::round(rss, 0), "peak_mib": report::round(hwm, 0),
        "after_region_fill_mib": report::round(rss_region, 0), "after_hub_fill_mib": report::round(rss_hub, 0)}));
    report.finish()?;
    drop(hub_dir);
    drop(dir);
    Ok(all_ok && !fail_goals)
}
