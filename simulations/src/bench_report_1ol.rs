//! `bench report-1ol`: the national report 1-ОЛ (R32) at central over a store of national size.
//!
//! Central's own store (`central::server::open_central` on a scratch directory) is filled with
//! the appeals of [`REGIONS`] through `bench appeals`' hub fill (real appeal documents, imported
//! as every replicated document is: `Repo::import` → `CentralRepo::store_doc`), then with each
//! region's reception schedule and reception records (real `ReceptionDoc`s checked by
//! `sync::reception::prepare_booking` with the simulated day as field 4, then held, not held or
//! refused), imported the same way. Central's reception ledger (`CentralRepo::report_1ol`)
//! indexes them as they are stored.
//!
//! The partition: [`CUT_OFF_REGIONS`] regions are cut off from [`CUT_DAYS_BEFORE_MONTH_END`]
//! days before the reported month's end until after its due day (the 10th of the next month, or
//! the next working day). On the due day the ledger issues (`ReportLedger::issue_due`); then the
//! cut-off regions catch up — each held-back record arrives in its latest state, then its earlier
//! state again (a stale replay), then its latest again (a duplicate) — and the ledger issues
//! again. `exactly_once` holds when every period's first version was issued on its due day and
//! equals the report computed from scratch from what had arrived by then, the latest version
//! equals the report from scratch from every record's latest state, and each later version's
//! changes are exactly its difference from the one before.
//!
//! Timed on the filled store: the national report of the month and one region's (best and median
//! of [`TIMED_RUNS`]). RSS (VmRSS and the peak VmHWM) from `/proc/self/status`: the whole process.
//!
//! The simulated year is [`SIM_YEAR`], the last year of the embedded national calendar, so
//! central's own timer (which issues with the real clock) never issues its months while the
//! benchmark runs; the run refuses to start once the real clock has reached the simulated
//! month's due day.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sync::calendar::{embedded_years, Day, WorkCalendar, KZ_UTC_OFFSET_MIN};
use sync::protocol::Repo;
use sync::reception::schedule::{check_working_day, DEMO_SCHEDULE_JSON};
use sync::reception::{
    prepare_booking, BookingInput, Origin, ReceptionCommand, ReceptionDoc, ReceptionReference,
    ReceptionView, Region, Schedule, Via, SCHEDULE_DOC_ID,
};
use sync::report_1ol::{
    diff, due_day, report as report_from, section5, Body, IssuedReport, Period, ReceptionEntry,
    Section5,
};
use sync::{Ctx, DocId, DocKind, Document};

use crate::bench_appeals::{fill_hub, AppealsConfig};
use crate::bench_sync::REGIONS;
use crate::report::{self, goal_word, Report};

pub const NAME: &str = "report-1ol";

/// The national report of a month, best of the timed runs, in seconds.
const GOAL_NATIONAL_S_MAX: f64 = 2.0;
/// One region's report of a month, best of the timed runs, in milliseconds.
const GOAL_REGION_MS_MAX: f64 = 200.0;
/// Runs of each timed report.
const TIMED_RUNS: usize = 5;
/// The year simulated: the embedded calendar's last (it must also hold every due day used).
const SIM_YEAR: i32 = 2027;
/// The month reported on and cut across: its due day falls in [`SIM_YEAR`].
const SIM_MONTH: u32 = 10;
/// Regions cut off across the due day.
const CUT_OFF_REGIONS: usize = 3;
/// The cut starts this many days before the reported month's last day (its late data).
const CUT_DAYS_BEFORE_MONTH_END: i64 = 6;
/// The cut-off regions catch up this many days after the due day.
const CATCH_UP_DAYS_AFTER_DUE: i64 = 3;
/// Reception records made and imported per round (bounds the fill's memory).
const FILL_ROUND_RECORDS: usize = 2_000;
/// The furthest ahead a booking's reception date is, in days after the request.
const BOOKING_AHEAD_DAYS_MAX: i64 = 21;
/// The hour (local) a record's actions are written at.
const ACTION_HOUR_MS: i64 = 11 * 3_600_000;
const WRITER: &str = "reg.bench";

#[derive(Debug, Clone)]
pub struct Report1OlConfig {
    pub seed: u64,
    pub quick: bool,
    /// Appeals stored at central, spread over the regions.
    pub appeals: usize,
    /// Reception records stored at central, spread over the regions.
    pub records: usize,
}

impl Report1OlConfig {
    pub fn new(quick: bool, seed: u64, appeals: Option<usize>, records: Option<usize>) -> Self {
        Self {
            seed,
            quick,
            appeals: appeals.unwrap_or(if quick { 20_000 } else { 1_000_000 }),
            records: records.unwrap_or(if quick { 5_000 } else { 100_000 }),
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

/// One state of a record as replication carries it: the day it was written, the document's
/// bytes, and the report entry it gives.
struct State {
    written: Day,
    bytes: Vec<u8>,
    entry: ReceptionEntry,
}

/// A record's states, oldest first (one or two).
struct Record {
    doc_id: DocId,
    states: Vec<State>,
}

impl Record {
    /// The latest state written on or before `day` (strictly before when `before`).
    fn latest(&self, day: Day, before: bool) -> Option<usize> {
        self.states.iter().rposition(|s| {
            if before {
                s.written < day
            } else {
                s.written <= day
            }
        })
    }
}

/// The timeline of the simulated month.
struct Timeline {
    period: Period,
    /// The cut starts: states written on or after it wait for the catch-up.
    cut_from: Day,
    due: Day,
    catch_up: Day,
}

fn applicant(rng: &mut StdRng) -> BTreeMap<u8, String> {
    const SURNAMES: [&str; 6] = [
        "Ахметова",
        "Иванов",
        "Сейткали",
        "Нұрланов",
        "Ким",
        "Омарова",
    ];
    const NAMES: [&str; 6] = ["Айгуль", "Сергей", "Дана", "Ерлан", "Виктор", "Сәуле"];
    const STATUS: [&str; 3] = ["pensioner", "worker", "unemployed"];
    const NATURE: [&str; 4] = [
        "documents",
        "police_action",
        "public_order",
        "criminal_case",
    ];
    let female = rng.gen_bool(0.5);
    let iin = crate::appeal_gen::random_iin(rng, female);
    let (yy, mm, dd) = (&iin[0..2], &iin[2..4], &iin[4..6]);
    let century = if iin.as_bytes()[6] <= b'4' {
        "19"
    } else {
        "20"
    };
    BTreeMap::from([
        (7, "1".to_string()),
        (9, if female { "2" } else { "1" }.to_string()),
        (10, iin.clone()),
        (11, SURNAMES[rng.gen_range(0..SURNAMES.len())].to_string()),
        (12, NAMES[rng.gen_range(0..NAMES.len())].to_string()),
        (16, format!("{century}{yy}-{mm}-{dd}")),
        (18, STATUS[rng.gen_range(0..STATUS.len())].to_string()),
        (23, NATURE[rng.gen_range(0..NATURE.len())].to_string()),
    ])
}

/// The first working day on or after `from` on which `session` of `schedule` sits.
fn session_day(
    schedule: &Schedule,
    calendar: &WorkCalendar,
    session: &str,
    from: Day,
) -> Option<Day> {
    let s = schedule.session(session)?;
    (0..BOOKING_AHEAD_DAYS_MAX)
        .map(|k| from.plus_days(k))
        .find(|d| d.weekday() as u8 + 1 == s.weekday && check_working_day(calendar, *d).is_ok())
}

fn entry_of(
    doc: &ReceptionDoc,
    schedule: &Schedule,
    reference: &ReceptionReference,
) -> anyhow::Result<ReceptionEntry> {
    let ReceptionView::Booking(b) = doc.view()? else {
        bail!("a reception record reads as the schedule");
    };
    sync::reception::report::entry(&b, Some(schedule), reference, KZ_UTC_OFFSET_MIN)
        .context("a reception record gives no report entry")
}

/// One region's record `k`: booked at the desk on a day of the year up to the period's end, then
/// (mostly) held, not held or refused. `None` when no session sits within the booking horizon.
fn make_record(
    rng: &mut StdRng,
    region: &Region,
    actor: &automerge::ActorId,
    k: usize,
    year_start: Day,
    year_days: i64,
) -> anyhow::Result<Option<Record>> {
    let requested = year_start.plus_days(rng.gen_range(0..year_days));
    let session = ["mon-head", "wed-deputy"][rng.gen_range(0..2)];
    let Some(date) = session_day(
        region.schedule,
        region.calendar,
        session,
        requested.plus_days(1),
    ) else {
        return Ok(None);
    };
    let times = Schedule::slot_times(
        region
            .schedule
            .session(session)
            .context("the demo schedule lost a session")?,
    );
    let input = BookingInput {
        origin: Origin::Desk,
        date: date.to_string(),
        time: times[rng.gen_range(0..times.len())].clone(),
        session: Some(session.to_string()),
        out_of_schedule: None,
        fields: applicant(rng),
    };
    let id = format!("{}-r{k:06}", region.code.to_lowercase());
    let record = prepare_booking(&input, Via::Node, region, &id, requested, 0)
        .with_context(|| format!("booking {id}"))?;
    let at = |d: Day| d.start_ms(KZ_UTC_OFFSET_MIN) + ACTION_HOUR_MS;
    let mut doc = ReceptionDoc::create_booking(
        actor.clone(),
        &id,
        region.code,
        &record,
        &Ctx::new(WRITER, region.code, at(requested)),
    )?;
    let mut states = vec![State {
        written: requested,
        bytes: doc.automerge().save_nocompress(),
        entry: entry_of(&doc, region.schedule, region.reference)?,
    }];
    let roll = rng.gen_range(0..100);
    let outcome = if roll < 12 {
        let on = requested.plus_days(rng.gen_range(0..3));
        Some((
            on,
            ReceptionCommand::Refuse {
                reason: "вопрос не относится к компетенции органа".into(),
            },
        ))
    } else if roll < 22 {
        Some((
            date,
            ReceptionCommand::RecordNotHeld(BTreeMap::from([(
                36,
                "заявитель не явился".to_string(),
            )])),
        ))
    } else if roll < 95 {
        let decision = ["satisfied", "refused", "explained"][rng.gen_range(0..3)];
        let receiver = ["head", "deputy1"][rng.gen_range(0..2)];
        Some((
            date,
            ReceptionCommand::RecordHeld(BTreeMap::from([
                (25, decision.to_string()),
                (31, receiver.to_string()),
                (32, "Секретарь С.".to_string()),
                (33, "Заявитель".to_string()),
            ])),
        ))
    } else {
        None
    };
    if let Some((on, command)) = outcome {
        doc.apply(&command, &Ctx::new(WRITER, region.code, at(on)))?;
        states.push(State {
            written: on,
            bytes: doc.automerge().save_nocompress(),
            entry: entry_of(&doc, region.schedule, region.reference)?,
        });
    }
    Ok(Some(Record {
        doc_id: DocId::new(region.code, DocKind::Reception, &id)?,
        states,
    }))
}

fn import(
    central: &central::server::Central,
    region: &str,
    doc_id: &DocId,
    bytes: &[u8],
) -> anyhow::Result<()> {
    let repo = central.state.hub.repo(region);
    let mut repo = lock(&repo);
    repo.import(&doc_id.to_string(), bytes, None)
        .with_context(|| format!("importing {doc_id}"))?;
    Ok(())
}

/// Best and median of `runs` calls, in seconds.
fn time_runs<T>(
    runs: usize,
    mut f: impl FnMut() -> anyhow::Result<T>,
) -> anyhow::Result<(f64, f64, T)> {
    let mut samples: Vec<Duration> = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        last = Some(f()?);
        samples.push(t.elapsed());
    }
    samples.sort_unstable();
    let best = samples[0].as_secs_f64();
    let median = samples[samples.len() / 2].as_secs_f64();
    Ok((best, median, last.context("no run")?))
}

/// Checks the versions of one period against the reports from scratch; the failures, worded.
/// `first_issue`: the day its first version is due to be issued (the ledger's first
/// `issue_due` on or after the period's due day).
fn check_versions(
    period: Period,
    versions: &[IssuedReport],
    first_issue: Day,
    at_due: &Section5,
    latest: &Section5,
) -> Vec<String> {
    let mut failures = Vec::new();
    let (Some(first), Some(last)) = (versions.first(), versions.last()) else {
        return vec![format!("{period}: never issued")];
    };
    if first.issued_on != first_issue {
        failures.push(format!(
            "{period}: first issued on {}, not on {first_issue}",
            first.issued_on
        ));
    }
    if first.report.section5 != *at_due {
        failures.push(format!(
            "{period}: version 1 differs from the report from scratch of what had arrived by its due day"
        ));
    }
    if last.report.section5 != *latest {
        failures.push(format!(
            "{period}: version {} differs from the report from scratch",
            last.version
        ));
    }
    for pair in versions.windows(2) {
        let want = diff(&pair[0].report.section5, &pair[1].report.section5);
        if pair[1].changes != want || want.is_empty() {
            failures.push(format!(
                "{period} v{}: its changes are not its difference from v{}",
                pair[1].version, pair[0].version
            ));
        }
    }
    let want_versions = 1 + usize::from(at_due != latest);
    if versions.len() != want_versions {
        failures.push(format!(
            "{period}: {} versions, expected {want_versions}",
            versions.len()
        ));
    }
    failures
}

pub async fn run(config: Report1OlConfig) -> anyhow::Result<bool> {
    let mut report = Report::new(NAME);
    report.detail("seed", config.seed.to_string());
    report.detail("config", format!("{config:?}"));
    let calendar = WorkCalendar::new(&embedded_years().map_err(anyhow::Error::msg)?)
        .map_err(|e| anyhow::anyhow!("the embedded calendar: {e}"))?;
    let period = Period::new(SIM_YEAR, SIM_MONTH)?;
    let due = due_day(period, &calendar)?;
    let timeline = Timeline {
        period,
        cut_from: period.last_day().plus_days(-CUT_DAYS_BEFORE_MONTH_END),
        due,
        catch_up: due.plus_days(CATCH_UP_DAYS_AFTER_DUE),
    };
    let real_today = Day::from_ms(node::http::now_ms(), KZ_UTC_OFFSET_MIN);
    if real_today >= timeline.period.year_start() {
        bail!(
            "the real clock ({real_today}) has reached the simulated year {SIM_YEAR}: central's own timer would issue its reports; move SIM_YEAR to a later calendar year"
        );
    }

    let dir = report::scratch_dir("report-1ol-")?;
    let mut central_config = central::config::Config::load_layers(&[])?;
    central_config.accounts.argon2_memory_kib = 1024;
    let central = central::server::open_central(&central_config, dir.path(), None).await?;

    // (1) Appeals, through `bench appeals`' hub fill.
    let per_region = config.appeals.div_ceil(REGIONS.len());
    let appeals_config =
        AppealsConfig::new(config.quick, config.seed, Some(0), Some(per_region), 1);
    let now = node::http::now_ms();
    let appeals = fill_hub(&central, &calendar, &appeals_config, now).await?;
    println!(
        "stored {} appeals of {} regions through the import in {:.1} s ({:.0} appeals/s)",
        appeals.stored,
        REGIONS.len(),
        appeals.took.as_secs_f64(),
        appeals.stored as f64 / appeals.took.as_secs_f64()
    );

    // (2) Reception: each region's schedule, then its records, made region by region in
    // rounds; the states written before the cut (or by the due day, for the regions not cut
    // off) arrive now, the rest wait for the catch-up.
    let reference = ReceptionReference::demo();
    let schedule: Schedule =
        serde_json::from_str(DEMO_SCHEDULE_JSON).context("the demo schedule")?;
    let mut rng = StdRng::seed_from_u64(config.seed ^ 0x1_0e1);
    let mut cut: Vec<&str> = Vec::new();
    while cut.len() < CUT_OFF_REGIONS.min(REGIONS.len()) {
        let r = REGIONS[rng.gen_range(0..REGIONS.len())];
        if !cut.contains(&r) {
            cut.push(r);
        }
    }
    println!(
        "cut off from {} to {} (across the due day {due} of {period}): {}",
        timeline.cut_from,
        timeline.catch_up,
        cut.join(", ")
    );
    let year_start = period.year_start();
    let year_days = i64::from(period.last_day().days() - year_start.days()) + 1;
    let per_region_records = config.records.div_ceil(REGIONS.len());
    let fill_started = Instant::now();
    let mut stored_records = 0usize;
    let mut at_due: Vec<ReceptionEntry> = Vec::new();
    let mut latest: Vec<ReceptionEntry> = Vec::new();
    let mut held_back: Vec<(bool, Record, Option<usize>)> = Vec::new();
    let bar = report::progress(
        (per_region_records * REGIONS.len()) as u64,
        "reception records",
    );
    for code in REGIONS {
        let body = format!("ДП {code} (образец / үлгі)");
        let actor = automerge::ActorId::random();
        let sched_at = year_start.plus_days(-30).start_ms(KZ_UTC_OFFSET_MIN);
        let mut sched_doc = ReceptionDoc::create_schedule(
            actor.clone(),
            &schedule,
            &Ctx::new(WRITER, code, sched_at),
        )?;
        let sched_id = DocId::new(code, DocKind::Reception, SCHEDULE_DOC_ID)?;
        let sched_bytes = sched_doc.automerge().save_nocompress();
        tokio::task::block_in_place(|| import(&central, code, &sched_id, &sched_bytes))?;
        let region = Region {
            code,
            body: &body,
            schedule: &schedule,
            reference: &reference,
            calendar: &calendar,
        };
        let is_cut = cut.contains(&code);
        let mut k = 0usize;
        while k < per_region_records {
            let round = FILL_ROUND_RECORDS.min(per_region_records - k);
            let mut records = Vec::with_capacity(round);
            for j in 0..round {
                if let Some(r) =
                    make_record(&mut rng, &region, &actor, k + j, year_start, year_days)?
                {
                    records.push(r);
                }
            }
            tokio::task::block_in_place(|| -> anyhow::Result<()> {
                for record in records {
                    let now_state = if is_cut {
                        record.latest(timeline.cut_from, true)
                    } else {
                        record.latest(timeline.due, false)
                    };
                    if let Some(i) = now_state {
                        import(&central, code, &record.doc_id, &record.states[i].bytes)?;
                        at_due.push(record.states[i].entry.clone());
                        stored_records += 1;
                    }
                    let last = record
                        .latest(timeline.catch_up, false)
                        .context("a record with no state")?;
                    latest.push(record.states[last].entry.clone());
                    if now_state != Some(last) {
                        held_back.push((is_cut, record, now_state));
                    }
                }
                central.gc.wait_written()?;
                Ok(())
            })?;
            k += round;
            bar.set_position((stored_records + held_back.len()) as u64);
        }
    }
    bar.finish_and_clear();
    let fill = fill_started.elapsed();
    let (rss_filled, _) = rss_mib();
    println!(
        "stored {stored_records} reception records of {} regions through the import in {:.1} s; {} states held back; {:.0} MB on disk; RSS {rss_filled:.0} MiB",
        REGIONS.len(),
        fill.as_secs_f64(),
        held_back.len(),
        central.store.size_on_disk_bytes() as f64 / 1e6
    );

    // The ledger is shared by every handle of the store: one clone of it, no repo lock held.
    let ledger = lock(&central.state.hub.repo(sync::NATIONAL))
        .report_1ol()
        .clone();
    let mut failures: Vec<String> = Vec::new();

    // (3) The due day: the ledger issues every period due by then.
    let issued_at_due = tokio::task::block_in_place(|| ledger.issue_due(timeline.due, &calendar))
        .context("issuing on the due day")?;
    println!("{}: issued {} versions", timeline.due, issued_at_due.len());

    // (4) The catch-up: the cut-off regions' held-back records arrive latest, stale, latest;
    // the others' states of the days since the due day arrive once.
    let mut replays = 0usize;
    tokio::task::block_in_place(|| -> anyhow::Result<()> {
        for (was_cut, record, before) in &held_back {
            let last = record
                .latest(timeline.catch_up, false)
                .context("a record with no state")?;
            let region = record.doc_id.region().to_string();
            import(
                &central,
                &region,
                &record.doc_id,
                &record.states[last].bytes,
            )?;
            if *was_cut {
                let stale = before.unwrap_or(0);
                import(
                    &central,
                    &region,
                    &record.doc_id,
                    &record.states[stale].bytes,
                )?;
                import(
                    &central,
                    &region,
                    &record.doc_id,
                    &record.states[last].bytes,
                )?;
                replays += 2;
            }
        }
        central.gc.wait_written()?;
        Ok(())
    })?;
    let reissued = tokio::task::block_in_place(|| ledger.issue_due(timeline.catch_up, &calendar))
        .context("issuing after the catch-up")?;
    println!(
        "{}: {} held-back records arrived ({replays} replays); re-issued {} versions",
        timeline.catch_up,
        held_back.len(),
        reissued.len()
    );

    // (5) Every period of the year up to the month: its versions against the reports from
    // scratch.
    let ledger_report =
        tokio::task::block_in_place(|| ledger.national(period, timeline.catch_up, &calendar))?;
    let bodies: Vec<Body> = ledger_report
        .section5
        .rows
        .iter()
        .map(|r| r.body.clone())
        .collect();
    let mut versions_total = 0usize;
    for month in 1..=SIM_MONTH {
        let p = Period::new(SIM_YEAR, month)?;
        // The month reported on is issued on its due day; the earlier ones were due before the
        // ledger's first issue, which issues them all.
        let p_due = due_day(p, &calendar)?.max(timeline.due);
        let versions = tokio::task::block_in_place(|| ledger.versions(p))?;
        versions_total += versions.len();
        let scratch_at_due = section5(&at_due, &bodies, p);
        let scratch_latest = section5(&latest, &bodies, p);
        failures.extend(check_versions(
            p,
            &versions,
            p_due,
            &scratch_at_due,
            &scratch_latest,
        ));
    }
    let scratch = report_from(&latest, &bodies, period, timeline.catch_up, &calendar)?;
    if ledger_report.section5 != scratch.section5 {
        failures.push(format!(
            "{period}: the ledger's national report differs from the report from scratch"
        ));
    }
    let total = &ledger_report.section5.total;
    println!(
        "{period}: received {} booked {} refused {} held by the head {} by a deputy {}; {versions_total} versions of {SIM_MONTH} months",
        total.received, total.booked, total.refused, total.received_by_head, total.received_by_deputy
    );

    // (6) Timed: the national report and one region's.
    let (national_best, national_median, _) = tokio::task::block_in_place(|| {
        time_runs(TIMED_RUNS, || {
            Ok(ledger.national(period, timeline.catch_up, &calendar)?)
        })
    })?;
    let one = REGIONS[0];
    let (region_best, region_median, region_report) = tokio::task::block_in_place(|| {
        time_runs(TIMED_RUNS, || {
            Ok(ledger.region(one, period, timeline.catch_up, &calendar)?)
        })
    })?;
    let want_region = section5(
        latest.iter().filter(|e| e.region == one),
        &bodies
            .iter()
            .filter(|b| b.id == one)
            .cloned()
            .collect::<Vec<_>>(),
        period,
    );
    if region_report.section5.total != want_region.total {
        failures.push(format!(
            "{period}: region {one}'s report differs from its report from scratch"
        ));
    }
    let (rss_now, rss_peak) = rss_mib();
    let exactly_once = failures.is_empty();
    let national_s = national_best;
    let region_ms = region_best * 1e3;
    println!(
        "national report of {period}: best {:.4} s, median {:.4} s ({TIMED_RUNS} runs)",
        national_best, national_median
    );
    println!(
        "region {one}'s report of {period}: best {:.3} ms, median {:.3} ms ({TIMED_RUNS} runs)",
        region_best * 1e3,
        region_median * 1e3
    );
    println!("RSS {rss_now:.0} MiB, peak (VmHWM) {rss_peak:.0} MiB");
    let goal_national = national_s <= GOAL_NATIONAL_S_MAX;
    let goal_region = region_ms <= GOAL_REGION_MS_MAX;
    println!("goals:");
    println!(
        "  national report {national_s:.4} s ≤ {GOAL_NATIONAL_S_MAX} s: {}",
        goal_word(goal_national)
    );
    println!(
        "  one region's report {region_ms:.3} ms ≤ {GOAL_REGION_MS_MAX} ms: {}",
        goal_word(goal_region)
    );
    for f in &failures {
        println!("FAILED: {f}");
    }
    report.detail("appeals", appeals.stored as u64);
    report.detail("records", (stored_records + held_back.len()) as u64);
    report.kv_f("national_s", national_s, 4);
    report.kv_f("region_ms", region_ms, 3);
    report.kv("rss_mib", rss_peak.round() as u64);
    report.kv("exactly_once", exactly_once);
    report.detail("national_median_s", national_median);
    report.detail("region_median_ms", region_median * 1e3);
    report.detail("rss_now_mib", rss_now);
    report.detail("cut_off", cut.join(","));
    report.detail("versions", versions_total as u64);
    report.detail("goal_national_met", goal_national);
    report.detail("goal_region_met", goal_region);
    report.detail("failures", failures.clone());
    let _ = central.shutdown.send(true);
    report.finish()?;
    Ok(exactly_once)
}
