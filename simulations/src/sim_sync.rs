//! `sim sync`: the deterministic simulation of the replication protocol (`sync::protocol::sim`)
//! over many seeds — N nodes and the hub with loss, duplication, reordering, partitions,
//! crash-restart and clock drift, and blips (a live connection's frames held, then delivered,
//! while both sides write on the same documents), a field unit's terminal on its node (forging
//! documents now and then), then a fault-free phase that must converge. Any failing seed is
//! printed so it replays (`--seed S --seeds 1`).

use std::time::Instant;

use sync::protocol::sim::{run_seed, SimConfig};

use crate::report::{self, Report};

pub const NAME: &str = "sync";

pub struct SimSyncConfig {
    /// First seed; `seeds` consecutive seeds (wrapping) run.
    pub first_seed: u64,
    pub seeds: u64,
}

/// Returns `Ok(false)` when any seed violated an invariant.
pub fn run(config: SimSyncConfig) -> anyhow::Result<bool> {
    let sim = SimConfig::default();
    println!(
        "sim sync: {} seeds from {} ({} regions + central, {} writes per seed; replay one with --seed S --seeds 1)",
        config.seeds,
        config.first_seed,
        sim.regions.len(),
        sim.writes
    );
    let bar = report::progress(config.seeds, "seeds");
    let started = Instant::now();
    let mut failures: Vec<String> = Vec::new();
    let (mut writes, mut frames, mut dropped, mut crashes, mut partitions, mut rejected, mut bytes) =
        (0u64, 0u64, 0u64, 0u64, 0u64, 0u64, 0u64);
    let (mut blips, mut blip_writes, mut stalls) = (0u64, 0u64, 0u64);
    let (mut national, mut national_cut_off) = (0u64, 0u64);
    let (mut unit_writes, mut unit_forged, mut unit_rejected) = (0u64, 0u64, 0u64);
    for seed in (0..config.seeds).map(|i| config.first_seed.wrapping_add(i)) {
        match run_seed(seed, &sim) {
            Ok(r) => {
                writes += r.writes;
                frames += r.frames_delivered;
                dropped += r.frames_dropped;
                crashes += r.crashes;
                partitions += r.partitions;
                rejected += r.rejected_at_central;
                bytes += r.bytes_delivered;
                blips += r.blips;
                blip_writes += r.blip_writes;
                stalls += r.stalls_reported;
                national += r.national_writes;
                national_cut_off += r.national_writes_while_cut_off;
                unit_writes += r.unit_writes;
                unit_forged += r.unit_forged_writes;
                unit_rejected += r.rejected_from_units;
            }
            Err(e) => {
                bar.suspend(|| println!("FAILED {e}"));
                failures.push(e);
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    let elapsed = started.elapsed();
    println!(
        "{} seeds in {:.1} s: {writes} writes, {frames} frames delivered ({bytes} bytes), {dropped} dropped, {crashes} crash-restarts, {partitions} partitions, {blips} blips on live connections ({blip_writes} writes by both sides during them), {stalls} stalls reported on silent links (none left: a stall on a heard link fails the seed), {rejected} other-region or national documents from a node refused at central, {national} national documents written at central ({national_cut_off} while a node was cut off), {unit_writes} writes of units' terminals over their own links ({unit_forged} forged, {unit_rejected} refused by the nodes)",
        config.seeds,
        elapsed.as_secs_f64()
    );
    let mut report = Report::new(NAME);
    report.kv("seeds", config.seeds);
    report.kv("failures", failures.len() as u64);
    report.kv("first_seed", config.first_seed.to_string());
    report.kv("writes", writes);
    report.kv("frames_dropped", dropped);
    report.kv("crashes", crashes);
    report.kv("partitions", partitions);
    report.kv("blips", blips);
    report.kv("blip_writes", blip_writes);
    report.kv("stalls_reported", stalls);
    report.kv("rejected_other_region", rejected);
    report.kv("national_writes", national);
    report.kv("national_writes_while_cut_off", national_cut_off);
    report.kv("unit_writes", unit_writes);
    report.kv("unit_forged_writes", unit_forged);
    report.kv("rejected_from_units", unit_rejected);
    report.kv_f("seconds", elapsed.as_secs_f64(), 1);
    report.detail("failing", serde_json::json!(failures));
    report.finish()?;
    Ok(failures.is_empty())
}
