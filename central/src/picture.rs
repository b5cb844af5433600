//! The national picture HQ reads: regions with their links and holdings, the national queue of
//! open cards, the one-screen summary and the calls statistics. Every query reads the national
//! index ([`crate::national`]) in O(regions + answer); the HTTP handlers only check roles and
//! call here. This module knows no routes.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use server_kit::store::{Store, StoreError};
use sync::{CardStatus, Channel};
use thiserror::Error;
use utoipa::ToSchema;

use crate::hub::{Hub, RegionLink};
use crate::national::{self, By, DelayKind, DelayStats, DispatchedIndex, NationalCard, Period};
use crate::references::RegionReferences;

/// Cards one national queue request returns when it names no limit.
pub const NATIONAL_CARDS_DEFAULT: usize = 500;
/// Most cards one national queue request returns.
pub const NATIONAL_CARDS_MAX: usize = 2_000;
/// Longest-waiting cards shown on the summary.
pub const LONGEST_WAITING_MAX: usize = 10;
/// Hours of "calls per hour" on the summary, the current hour included.
pub const SUMMARY_HOURS: i64 = 24;
/// Days of "calls per day" on the summary, today (Kazakhstan time) included.
pub const SUMMARY_DAYS: i64 = 7;
/// Most hours one calls-statistics request spans (31 days).
pub const STATS_HOURS_MAX: i64 = 744;
/// Most days one calls-statistics request spans.
pub const STATS_DAYS_MAX: i64 = 366;
/// Most rows one calls-statistics answer holds.
pub const STATS_ROWS_MAX: usize = 20_000;

/// Why a query of the national picture has no answer.
#[derive(Debug, Error)]
pub enum PictureError {
    /// A parameter a person can correct (the message says how).
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Storage(#[from] StoreError),
}

type PictureResult<T> = Result<T, PictureError>;

/// A region as HQ sees it: its link and what the hub holds of it.
#[derive(Serialize, ToSchema)]
pub struct RegionRow {
    #[serde(flatten)]
    link: RegionLink,
    /// ms since the link dropped (absent while connected or never connected).
    disconnected_for_ms: Option<i64>,
    /// Not connected for longer than `disconnect_alert_after_s`, or never connected.
    alert: bool,
    /// Documents held (cards, units, rosters).
    docs: u64,
    /// Cards held.
    cards: u64,
    /// Open cards held.
    open_cards: u64,
}

/// Open cards of one region by status.
#[derive(Serialize, ToSchema)]
pub struct RegionOpenCards {
    region: String,
    /// Open cards by status (statuses with none are absent).
    by_status: BTreeMap<String, u64>,
}

/// Calls created in one period (hour or day) in one region.
#[derive(Serialize, ToSchema)]
pub struct RegionCalls {
    /// Start of the hour, or of the Kazakhstan day (UTC+5).
    start_ms: i64,
    region: String,
    count: u64,
}

/// Calls created in one period (hour or day) on one channel.
#[derive(Serialize, ToSchema)]
pub struct ChannelCalls {
    /// Start of the hour, or of the Kazakhstan day (UTC+5).
    start_ms: i64,
    channel: Channel,
    count: u64,
}

/// Calls per period, all regions, broken down by region and (separately) by channel; periods
/// and keys without calls are absent. The full breakdown by region, channel and category is
/// `GET /api/v1/stats/calls`.
#[derive(Serialize, ToSchema)]
pub struct CallSeries {
    by_region: Vec<RegionCalls>,
    by_channel: Vec<ChannelCalls>,
}

/// The national picture on one screen.
#[derive(Serialize, ToSchema)]
pub struct Summary {
    /// The hub's clock when the summary was made (ms since the epoch).
    generated_at: i64,
    /// Regions with open cards.
    regions: Vec<RegionOpenCards>,
    /// Open cards by status, all regions.
    totals: BTreeMap<String, u64>,
    /// Dispatched cards with no update for longer than their region's unit-overdue time.
    overdue_units: usize,
    /// The cards waiting longest in `sent_for_processing` (at most 10).
    waiting_longest: Vec<NationalCard>,
    /// Calls per hour over the last 24 hours (by card creation time).
    calls_per_hour: CallSeries,
    /// Calls per day over the last 7 days (Kazakhstan days, today included).
    calls_per_day: CallSeries,
    /// Sent for processing → first unit dispatched, over every card.
    dispatch_delay_ms: DelayStats,
    /// First unit dispatched → first unit on scene, over every card.
    arrival_delay_ms: DelayStats,
}

/// Calls created in one period, region, channel and category.
#[derive(Serialize, ToSchema)]
pub struct CallRow {
    /// Start of the hour, or of the Kazakhstan day (UTC+5).
    start_ms: i64,
    /// `YYYY-MM-DD` for days.
    #[serde(skip_serializing_if = "Option::is_none")]
    day: Option<String>,
    region: String,
    channel: Channel,
    /// `null`: not categorised.
    category: Option<String>,
    count: u64,
}

/// What the national picture is read from.
pub struct NationalPicture {
    pub store: Arc<dyn Store>,
    pub hub: Arc<Hub>,
    pub dispatched: Arc<DispatchedIndex>,
    pub references: RegionReferences,
    /// A region not connected for longer than this raises the alert.
    pub disconnect_alert_after_ms: i64,
}

fn check_region(region: Option<&str>) -> PictureResult<Option<&str>> {
    let region = region.filter(|r| !r.is_empty());
    if region.is_some_and(|r| !crate::repo::is_region_code(r)) {
        return Err(PictureError::Invalid(
            "region is 1–8 upper-case latin letters".into(),
        ));
    }
    Ok(region)
}

impl NationalPicture {
    /// Every region the hub has heard from or holds documents of, by code.
    pub fn regions(&self, now: i64) -> PictureResult<Vec<RegionRow>> {
        let counts = national::region_counts(&*self.store)?;
        let mut links: BTreeMap<String, RegionLink> = self
            .hub
            .links()
            .into_iter()
            .map(|l| (l.region.clone(), l))
            .collect();
        for region in counts.keys() {
            links.entry(region.clone()).or_insert_with(|| RegionLink {
                region: region.clone(),
                ..Default::default()
            });
        }
        Ok(links
            .into_values()
            .map(|link| {
                let disconnected_for_ms = (!link.connected)
                    .then(|| link.disconnected_since_ms.map(|t| now - t))
                    .flatten();
                let alert = !link.connected
                    && disconnected_for_ms.is_none_or(|d| d > self.disconnect_alert_after_ms);
                let c = counts.get(&link.region).cloned().unwrap_or_default();
                RegionRow {
                    docs: c.docs,
                    cards: c.cards,
                    open_cards: c.open_total(),
                    disconnected_for_ms,
                    alert,
                    link,
                }
            })
            .collect())
    }

    /// The national queue: open cards (of one region, in one open status, or all), longest in
    /// the queue first; at most `limit` (default [`NATIONAL_CARDS_DEFAULT`], capped at
    /// [`NATIONAL_CARDS_MAX`]).
    pub fn queue(
        &self,
        region: Option<&str>,
        status: Option<&str>,
        limit: Option<usize>,
    ) -> PictureResult<Vec<NationalCard>> {
        let open = || CardStatus::ALL.into_iter().filter(|st| st.is_open());
        let statuses: Vec<CardStatus> = match status.filter(|x| !x.is_empty()) {
            None => open().collect(),
            Some(x) => match CardStatus::parse(x) {
                Some(st) if st.is_open() => vec![st],
                _ => {
                    let names: Vec<&str> = open().map(CardStatus::as_str).collect();
                    return Err(PictureError::Invalid(format!(
                        "status '{}' is not an open status; use one of: {}",
                        x.chars().take(32).collect::<String>(),
                        names.join(", ")
                    )));
                }
            },
        };
        let region = check_region(region)?;
        let limit = limit
            .unwrap_or(NATIONAL_CARDS_DEFAULT)
            .min(NATIONAL_CARDS_MAX);
        Ok(national::queue(&*self.store, region, &statuses, limit)?)
    }

    fn call_series(&self, period: Period, periods: (i64, i64)) -> PictureResult<CallSeries> {
        let store = &*self.store;
        let by_region = national::calls_by(store, period, By::Region, periods)?
            .into_iter()
            .map(|c| RegionCalls {
                start_ms: c.period_start_ms,
                region: c.key,
                count: c.count,
            })
            .collect();
        let by_channel = national::calls_by(store, period, By::Channel, periods)?
            .into_iter()
            .filter_map(|c| {
                Some(ChannelCalls {
                    start_ms: c.period_start_ms,
                    channel: Channel::parse(&c.key)?,
                    count: c.count,
                })
            })
            .collect();
        Ok(CallSeries {
            by_region,
            by_channel,
        })
    }

    /// The one-screen summary at `now`.
    pub fn summary(&self, now: i64) -> PictureResult<Summary> {
        let store = &*self.store;
        let counts = national::region_counts(store)?;
        let mut totals: BTreeMap<String, u64> = BTreeMap::new();
        let mut regions = Vec::new();
        for (region, c) in counts {
            if c.open.is_empty() {
                continue;
            }
            let by_status: BTreeMap<String, u64> = c
                .open
                .iter()
                .map(|(st, n)| (st.as_str().to_string(), *n))
                .collect();
            for (st, n) in &by_status {
                *totals.entry(st.clone()).or_insert(0) += n;
            }
            regions.push(RegionOpenCards { region, by_status });
        }
        let waiting_longest = national::queue(
            store,
            None,
            &[CardStatus::SentForProcessing],
            LONGEST_WAITING_MAX,
        )?;
        let hour = Period::Hour.of(now);
        let day = Period::Day.of(now);
        Ok(Summary {
            generated_at: now,
            regions,
            totals,
            overdue_units: self
                .dispatched
                .count_overdue(now, |region| self.references.unit_overdue_after_ms(region)),
            waiting_longest,
            calls_per_hour: self.call_series(Period::Hour, (hour - (SUMMARY_HOURS - 1), hour))?,
            calls_per_day: self.call_series(Period::Day, (day - (SUMMARY_DAYS - 1), day))?,
            dispatch_delay_ms: national::delays(store, DelayKind::Dispatch)?,
            arrival_delay_ms: national::delays(store, DelayKind::Arrival)?,
        })
    }

    /// Calls created per `period` (`hour` or `day`, Kazakhstan days) from the period holding
    /// `from` to the one holding `to` (default: now, and 23 hours or 6 days before `to`), by
    /// region, channel and category, in period order.
    pub fn calls(
        &self,
        period: &str,
        from: Option<i64>,
        to: Option<i64>,
        region: Option<&str>,
        now: i64,
    ) -> PictureResult<Vec<CallRow>> {
        let invalid = |m: String| PictureError::Invalid(m);
        let (p, periods_max, default_span) = match period {
            "hour" => (Period::Hour, STATS_HOURS_MAX, SUMMARY_HOURS),
            "day" => (Period::Day, STATS_DAYS_MAX, SUMMARY_DAYS),
            other => {
                return Err(invalid(format!(
                    "period '{}' is neither 'hour' nor 'day'",
                    other.chars().take(16).collect::<String>()
                )))
            }
        };
        let last = p.of(to.unwrap_or(now));
        let first = match from {
            Some(from) => p.of(from),
            None => last - (default_span - 1),
        };
        if first > last {
            return Err(invalid("'from' is after 'to'".into()));
        }
        if last - first >= periods_max {
            return Err(invalid(format!(
                "at most {periods_max} {period}s per request: narrow 'from'..'to'"
            )));
        }
        let region = check_region(region)?;
        let rows = national::calls(&*self.store, p, (first, last), region, STATS_ROWS_MAX)?;
        if rows.len() > STATS_ROWS_MAX {
            return Err(invalid(format!(
                "more than {STATS_ROWS_MAX} rows: ask for fewer {period}s or one region"
            )));
        }
        Ok(rows
            .into_iter()
            .map(|c| CallRow {
                day: (p == Period::Day).then(|| day_name(c.period_start_ms)),
                start_ms: c.period_start_ms,
                region: c.region,
                channel: c.channel,
                category: c.category,
                count: c.count,
            })
            .collect())
    }
}

/// `YYYY-MM-DD` of a day starting at `start_ms` (Kazakhstan time).
fn day_name(start_ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(start_ms + national::STATS_DAY_UTC_OFFSET_MS)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}
