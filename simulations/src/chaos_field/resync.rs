//! Resync after an hour offline: one more unit, on the same impaired link as the fleet and
//! during the fault phase (so under the fleet's load), is sent to a card, then its link goes
//! dark and the officer records an hour's worth of a busy unit's data — a position every 15 s
//! for the past hour (simulated time: old timestamps through the terminal's API), the card's
//! statuses, a report with photos. The link stays dark past the QUIC idle timeout, so the
//! terminal has to dial again, then comes back: the time from that moment until the node
//! holds all of it (every position in the unit's track, every status and the report on the
//! card, the photos) is the resync time.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use rand::rngs::StdRng;
use serde_json::{json, Value};

use super::ledger::{journal, now_ms, seen_on, Acked, Shared};
use super::terminal::{self, Client, Written};
use crate::cluster::Operators;
use crate::proxy::ProxyControl;

/// The goal for the resync time, seconds.
pub const RESYNC_GOAL_S: f64 = 5.0;
/// Pause between two checks while the node catches up.
const RESYNC_POLL_MS: u64 = 25;
/// How long the first sync (the assignment reaching the terminal) and the resync may take.
const RESYNC_DEADLINE_MS: u64 = 90_000;
const HOUR_MS: i64 = 3_600_000;

#[derive(Debug, Clone)]
pub struct ResyncPlan {
    /// A position every this often over the past hour (the terminal's moving interval).
    pub position_interval_ms: i64,
    pub photos: usize,
    pub photo_bytes: usize,
    /// The link stays dark at least this long: past the QUIC idle timeout, so that the terminal
    /// has to dial again rather than resume its connection.
    pub dark_ms_min: u64,
}

impl Default for ResyncPlan {
    fn default() -> Self {
        ResyncPlan {
            position_interval_ms: 15_000,
            photos: 2,
            photo_bytes: 150 * 1024,
            dark_ms_min: crate::cluster::QUIC_IDLE_TIMEOUT_MS + 5_000,
        }
    }
}

/// What the resync measured.
#[derive(Debug, Clone, Default)]
pub struct Resync {
    pub unit: String,
    pub positions: u64,
    pub entries: u64,
    pub photo_bytes: u64,
    pub dark_ms: u64,
    /// How long the terminal took to record the positions, and all of the offline hour.
    pub positions_write_ms: u64,
    pub offline_write_ms: u64,
    /// From the link's return to the terminal's first session with the node.
    pub reconnect_ms: Option<u64>,
    /// From the link's return to the node holding everything.
    pub total_ms: Option<u64>,
}

impl Resync {
    pub fn to_json(&self) -> Value {
        json!({
            "unit": self.unit,
            "positions": self.positions,
            "entries": self.entries,
            "photo_bytes": self.photo_bytes,
            "dark_ms": self.dark_ms,
            "positions_write_ms": self.positions_write_ms,
            "offline_write_ms": self.offline_write_ms,
            "reconnect_ms": self.reconnect_ms,
            "total_ms": self.total_ms,
        })
    }

    pub fn human(&self) -> String {
        match self.total_ms {
            Some(ms) => format!(
                "resync after an hour offline ({} positions, {} statuses and reports, {} KiB of photos, written in {} ms; dark {} s): the node held all of it {:.2} s after the link came back (the terminal dialled again in {} ms, then {} ms to hand it over) — goal ≤ {RESYNC_GOAL_S} s {}",
                self.positions,
                self.entries,
                self.photo_bytes / 1024,
                self.offline_write_ms,
                self.dark_ms / 1000,
                ms as f64 / 1e3,
                self.reconnect_ms.map_or("?".to_string(), |r| r.to_string()),
                self.reconnect_ms
                    .map_or("?".to_string(), |r| ms.saturating_sub(r).to_string()),
                crate::report::goal_word(ms as f64 / 1e3 <= RESYNC_GOAL_S)
            ),
            None => format!(
                "resync after an hour offline: the node did NOT hold all of it within {RESYNC_DEADLINE_MS} ms"
            ),
        }
    }
}

/// Runs the measurement; its statuses and report go to the fleet's journal too.
#[allow(clippy::too_many_arguments)]
pub async fn measure(
    t: Client,
    unit: String,
    proxy: ProxyControl,
    ops: Operators,
    https: reqwest::Client,
    plan: ResyncPlan,
    mut rng: StdRng,
    shared: Shared,
) -> anyhow::Result<Resync> {
    let mut out = Resync {
        unit: unit.clone(),
        ..Resync::default()
    };
    let card = ops.create_sent(&mut rng, 1).await?;
    if !ops.dispatch(&card, &unit).await? {
        bail!("the resync unit {unit} is busy before its first card");
    }
    let deadline = Instant::now() + Duration::from_millis(RESYNC_DEADLINE_MS);
    while !t.has_assignment(&card).await {
        if Instant::now() >= deadline {
            bail!("the resync unit's assignment did not reach its terminal");
        }
        tokio::time::sleep(Duration::from_millis(super::ledger::POLL_MS)).await;
    }

    // Offline: an hour of the unit's work.
    proxy.set_blackhole(true);
    let dark_from = Instant::now();
    let now = now_ms();
    let first_fix = now - HOUR_MS;
    let mut fixes = Vec::new();
    let mut at = first_fix;
    let mut step = 0;
    while at <= now {
        if t.position(terminal::fix(at, (51.16, 71.43), step)).await? {
            fixes.push(at);
        }
        at += plan.position_interval_ms;
        step += 1;
    }
    out.positions = fixes.len() as u64;
    out.positions_write_ms = dark_from.elapsed().as_millis() as u64;
    let mut acked = Vec::new();
    let mut write = |w: Written| -> anyhow::Result<()> {
        match w {
            Written::Entry(e) => {
                acked.push(Acked::from_entry(&e).context("the terminal's entry is unreadable")?)
            }
            Written::Refused(why) => bail!("the resync unit's terminal refused: {why}"),
        }
        Ok(())
    };
    for status in ["acknowledged", "en_route", "on_scene", "need_backup"] {
        write(t.status(&card, status).await?)?;
    }
    let mut photos = Vec::new();
    for _ in 0..plan.photos {
        let jpeg = terminal::photo_bytes(&mut rng, plan.photo_bytes);
        out.photo_bytes += jpeg.len() as u64;
        photos.push(t.photo(jpeg).await?);
    }
    write(t.report(&card, terminal::patrol_report(0, &photos)).await?)?;
    write(t.status(&card, "cleared").await?)?;
    out.entries = acked.len() as u64;
    out.offline_write_ms = dark_from.elapsed().as_millis() as u64;
    journal(&shared).acked.extend(acked.iter().cloned());
    let hold = Duration::from_millis(plan.dark_ms_min).saturating_sub(dark_from.elapsed());
    tokio::time::sleep(hold).await;
    out.dark_ms = dark_from.elapsed().as_millis() as u64;

    // The link comes back.
    proxy.set_blackhole(false);
    let back = Instant::now();
    let deadline = back + Duration::from_millis(RESYNC_DEADLINE_MS);
    let track = format!(
        "/api/v1/units/{unit}/track?from_ms={first_fix}&to_ms={}",
        now + 1
    );
    let (mut have_track, mut have_card) = (false, false);
    let mut have_photos = vec![false; photos.len()];
    loop {
        if out.reconnect_ms.is_none()
            && matches!(t.link().await, Some((banner, _)) if banner != "offline")
        {
            out.reconnect_ms = Some(back.elapsed().as_millis() as u64);
        }
        if !have_track {
            if let Ok(points) = ops.api.get(&track, &ops.dispatcher).await {
                let held = points.as_array().map_or(0, |p| p.len());
                have_track = held >= fixes.len();
            }
        }
        if !have_card {
            if let Ok(Some(c)) = ops.card(&card).await {
                have_card = acked.iter().all(|e| seen_on(&c, e).present(e));
            }
        }
        for (sha, have) in photos.iter().zip(have_photos.iter_mut()) {
            if !*have {
                let url = format!("{}/api/v1/units/{unit}/photos/{sha}", ops.api.base_url());
                let got = https
                    .get(&url)
                    .bearer_auth(&ops.dispatcher)
                    .send()
                    .await
                    .is_ok_and(|a| a.status().as_u16() == 200);
                *have = got;
            }
        }
        if have_track && have_card && have_photos.iter().all(|h| *h) {
            out.total_ms = Some(back.elapsed().as_millis() as u64);
            break;
        }
        if Instant::now() >= deadline {
            println!(
                "resync: by the deadline the node held the track: {have_track}, the card's entries: {have_card}, the photos: {have_photos:?}"
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(RESYNC_POLL_MS)).await;
    }
    Ok(out)
}
