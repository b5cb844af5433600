//! A seeded simulation of one reporting year at central (R32): regions write reception
//! records; replication delivers each state on the day it is written, repeats some later, and
//! cuts a few regions off across the 10th of several months (their states arrive in a burst,
//! shuffled and duplicated, when the link returns). Central issues each month's report on its
//! due day and re-issues it whenever its numbers change. At the end every period's latest
//! version must equal the report computed from scratch from each record's final state, and
//! every version must carry exactly its difference from the one before. Any failure names its
//! seed, so it replays. The tests run it; a benchmark may too.

use std::collections::BTreeMap;

use super::error::ReportError;
use super::form::report;
use super::national::{diff, issue, Applied, Contributions, Issue, IssuedReport};
use super::period::{due_day, Period};
use super::section5::{
    section5, Body, Receiver, ReceptionDecision, ReceptionEntry, ReceptionOutcome,
};
use crate::calendar::{Day, WorkCalendar};

/// The simulated year's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimConfig {
    /// The year reported on; the calendar must hold it and the next one.
    pub year: i32,
    pub regions: usize,
    pub records_per_region: usize,
    /// Regions cut off across each of the cut months' 10th.
    pub cut_off_regions: usize,
    /// Months whose 10th the cut-offs span.
    pub cut_months: &'static [u32],
    /// Percent of states replication delivers a second time, up to 60 days later.
    pub replay_percent: u64,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            year: 2026,
            regions: 20,
            records_per_region: 60,
            cut_off_regions: 3,
            cut_months: &[2, 5, 8, 11],
            replay_percent: 20,
        }
    }
}

/// What one seeded year did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimOutcome {
    pub seed: u64,
    /// States delivered to central, repeats included.
    pub deliveries: usize,
    /// Versions issued after a period's first (late data).
    pub reissued: usize,
}

/// A small seeded random source (xorshift64*), so a failing seed replays.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// Why a simulated year failed, naming its seed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    #[error("seed {seed}: {source}")]
    Report { seed: u64, source: ReportError },
    #[error("seed {seed}: {message}")]
    Mismatch { seed: u64, message: String },
}

fn day_of(year: i32, month: u32, day: u32) -> Result<Day, ReportError> {
    Day::from_ymd(year, month, day).map_err(ReportError::Calendar)
}

/// The next state of `e`: one more revision.
fn then(mut e: ReceptionEntry, change: impl FnOnce(&mut ReceptionEntry)) -> ReceptionEntry {
    change(&mut e);
    e.revision += 1;
    e
}

/// Every record's states with the day each is written, and each record's final state.
fn write_year(
    config: &SimConfig,
    regions: &[String],
    year_start: Day,
    rng: &mut Rng,
) -> (Vec<(Day, ReceptionEntry)>, Vec<ReceptionEntry>) {
    use ReceptionDecision::*;
    let mut writes = Vec::new();
    let mut finals = Vec::new();
    for region in regions {
        for k in 0..config.records_per_region {
            let requested = year_start.plus_days(rng.below(365) as i64);
            let mut e = ReceptionEntry {
                region: region.clone(),
                record_id: format!("{region}-{k}"),
                revision: 1,
                requested_on: requested,
                booked_on: None,
                outcome: None,
            };
            writes.push((requested, e.clone()));
            if rng.chance(15) {
                let on = requested.plus_days(rng.below(10) as i64);
                e = then(e, |e| e.outcome = Some(ReceptionOutcome::Refused { on }));
                writes.push((on, e.clone()));
            } else if rng.chance(90) {
                let booked = requested.plus_days(rng.below(5) as i64);
                e = then(e, |e| e.booked_on = Some(booked));
                writes.push((booked, e.clone()));
                if rng.chance(85) {
                    let on = booked.plus_days(rng.below(40) as i64);
                    let outcome = match rng.below(5) {
                        0 => ReceptionOutcome::NotHeld { on },
                        n => ReceptionOutcome::Held {
                            on,
                            by: [Receiver::Head, Receiver::Deputy, Receiver::Other]
                                [rng.below(3) as usize],
                            decision: [Some(Satisfied), Some(Refused), Some(Explained), None]
                                [n as usize - 1],
                        },
                    };
                    e = then(e, |e| e.outcome = Some(outcome));
                    writes.push((on, e.clone()));
                }
            }
            finals.push(e);
        }
    }
    (writes, finals)
}

/// Runs one seeded year; the error names the seed and what differed.
pub fn simulate_year(
    config: &SimConfig,
    calendar: &WorkCalendar,
    seed: u64,
) -> Result<SimOutcome, SimError> {
    let fail = |message: String| SimError::Mismatch { seed, message };
    let rep = |source: ReportError| SimError::Report { seed, source };
    let mut rng = Rng::new(seed);
    let year_start = day_of(config.year, 1, 1).map_err(rep)?;
    let regions: Vec<String> = (0..config.regions).map(|i| format!("R{i:02}")).collect();
    let bodies: Vec<Body> = regions
        .iter()
        .map(|r| Body {
            id: r.clone(),
            name_kk: r.clone(),
            name_ru: r.clone(),
            code: None,
        })
        .collect();
    let (writes, finals) = write_year(config, &regions, year_start, &mut rng);

    // Cut-offs across the 10th: (region, from, until), from some days before the period's end
    // (its late data) to after the due day.
    let mut cuts: Vec<(usize, Day, Day)> = Vec::new();
    for &m in config.cut_months {
        let tenth = day_of(config.year, m, 10).map_err(rep)?;
        for _ in 0..config.cut_off_regions {
            let region = rng.below(config.regions as u64) as usize;
            let from = tenth.plus_days(-15 - rng.below(20) as i64);
            let until = tenth.plus_days(5 + rng.below(20) as i64);
            cuts.push((region, from, until));
        }
    }
    let region_index: BTreeMap<&str, usize> = regions
        .iter()
        .enumerate()
        .map(|(i, r)| (r.as_str(), i))
        .collect();
    let cut_until = |region: usize, d: Day| {
        cuts.iter()
            .filter(|(r, from, until)| *r == region && *from <= d && d < *until)
            .map(|(_, _, until)| *until)
            .max()
    };

    // When each state reaches central: a cut-off delays it to the heal (a later cut again),
    // and some states arrive a second time.
    let mut arrivals: Vec<(Day, u64, ReceptionEntry)> = Vec::new();
    for (written, e) in &writes {
        let region = region_index[e.region.as_str()];
        let mut at = *written;
        while let Some(until) = cut_until(region, at) {
            at = until;
        }
        arrivals.push((at, rng.next(), e.clone()));
        if rng.chance(config.replay_percent) {
            arrivals.push((at.plus_days(rng.below(60) as i64), rng.next(), e.clone()));
        }
    }
    arrivals.sort_by_key(|a| (a.0, a.1));

    let periods: Vec<Period> = (1..=12)
        .map(|m| Period::new(config.year, m))
        .collect::<Result<_, _>>()
        .map_err(rep)?;
    let last_due = due_day(periods[11], calendar).map_err(rep)?;
    let end = arrivals.last().map_or(last_due, |a| a.0).max(last_due);
    let mut versions: BTreeMap<Period, Vec<IssuedReport>> = BTreeMap::new();
    let mut central = Contributions::new();
    let mut next = 0;
    let mut today = year_start;
    while today <= end {
        // The earliest request among today's changed records: no period ending before it can
        // change (an entry counts nowhere before its request).
        let mut changed_from: Option<Day> = None;
        while next < arrivals.len() && arrivals[next].0 <= today {
            let e = arrivals[next].2.clone();
            let requested = e.requested_on;
            if central.apply(e).map_err(rep)? != Applied::Ignored {
                changed_from = Some(changed_from.map_or(requested, |d| d.min(requested)));
            }
            next += 1;
        }
        for &p in &periods {
            let due = due_day(p, calendar).map_err(rep)?;
            let issued = versions.entry(p).or_default();
            // Issued on its due day, re-issued on any later day its numbers change.
            let changed = changed_from.is_some_and(|d| d <= p.last_day());
            if today == due || (today > due && changed) {
                let r = report(central.entries(), &bodies, p, today, calendar).map_err(rep)?;
                if let Issue::New(v) = issue(issued, r, today).map_err(rep)? {
                    issued.push(*v);
                }
            }
        }
        today = today.plus_days(1);
    }

    let mut reissued = 0;
    for p in periods {
        let issued = versions.get(&p).map(Vec::as_slice).unwrap_or_default();
        let (Some(first), Some(latest)) = (issued.first(), issued.last()) else {
            return Err(fail(format!("{p}: never issued")));
        };
        let due = due_day(p, calendar).map_err(rep)?;
        if first.issued_on != due {
            return Err(fail(format!(
                "{p}: first issued on {}, due {due}",
                first.issued_on
            )));
        }
        for pair in issued.windows(2) {
            let want = diff(&pair[0].report.section5, &pair[1].report.section5);
            if pair[1].changes != want || want.is_empty() {
                return Err(fail(format!(
                    "{p} v{}: its changes are not its difference from v{}",
                    pair[1].version, pair[0].version
                )));
            }
        }
        if latest.report.section5 != section5(&finals, &bodies, p) {
            return Err(fail(format!(
                "{p}: version {} differs from the report computed from scratch",
                latest.version
            )));
        }
        reissued += issued.len() - 1;
    }
    Ok(SimOutcome {
        seed,
        deliveries: arrivals.len(),
        reissued,
    })
}
