//! The node's health for its own administrators (the console's "node health" tab): the same
//! conditions the shipped Prometheus alerts watch (`provisioning/ops/prometheus/alerts.yml`),
//! judged here from what the node knows now, so a ЦОУ without a Prometheus server still sees
//! them. [`assess`] is pure: the HTTP shell gathers [`HealthInputs`] and the time.
//!
//! Each [`Check`] carries a code and parameters; the console renders them in Kazakh or Russian
//! (`health.<code>` texts).

use serde::Serialize;
use utoipa::ToSchema;

/// Below this share of free space on the data directory's filesystem, in percent: a warning.
pub const DISK_WARN_FREE_PERCENT: u64 = 10;
/// Below this share, in percent: critical (a full disk stops writes).
pub const DISK_CRITICAL_FREE_PERCENT: u64 = 3;
/// A node that had reached central and has had no link for this long, in ms: a warning (it
/// keeps working alone; HQ's picture of the region ages).
pub const CUT_OFF_WARN_AFTER_MS: i64 = 15 * 60_000;

/// How serious a check's finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Ok,
    /// For the working day: look at it.
    Warning,
    /// Now: a citizen or data is at risk.
    Critical,
}

/// One finding: `code` names the condition (its text is `health.<code>`), `params` the
/// figures the text shows.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Check {
    pub code: &'static str,
    pub level: Level,
    #[schema(value_type = Object)]
    pub params: serde_json::Value,
}

/// What the node knows now.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct HealthInputs {
    /// Where the node replicates to; `None`: stand-alone.
    pub central_address: Option<String>,
    pub replication_connected: bool,
    /// Last frame from central, ms since the epoch.
    pub replication_last_contact_ms: Option<i64>,
    pub replication_stalled: bool,
    pub replication_stalled_since_ms: Option<i64>,
    pub replication_last_error: Option<String>,
    /// The data directory's filesystem: space left and size, bytes.
    pub disk_available_bytes: Option<u64>,
    pub disk_size_bytes: Option<u64>,
    /// The database's size on disk, bytes.
    pub store_bytes: u64,
    pub live_calls: u64,
    /// Missed SOS calls still waiting for their callback.
    pub sos_callbacks_owed: u64,
    /// Recordings stopped early since the node started.
    pub recording_problems: u64,
    /// Open appeals past their deadline; `None` when they could not be counted.
    pub appeals_overdue: Option<u64>,
}

/// Judges `i` on `now_ms`: one check per condition, the worst first.
pub fn assess(i: &HealthInputs, now_ms: i64) -> Vec<Check> {
    let mut out = Vec::new();
    let check = |code, level, params| Check {
        code,
        level,
        params,
    };
    // Replication.
    out.push(match &i.central_address {
        None => check("standalone", Level::Ok, serde_json::json!({})),
        Some(address) if i.replication_stalled => check(
            "replication_stalled",
            Level::Critical,
            serde_json::json!({"central": address, "since_ms": i.replication_stalled_since_ms}),
        ),
        Some(address) if i.replication_connected => check(
            "replication_connected",
            Level::Ok,
            serde_json::json!({"central": address, "last_contact_ms": i.replication_last_contact_ms}),
        ),
        Some(address) => match i.replication_last_contact_ms {
            None => check(
                "replication_never_connected",
                Level::Warning,
                serde_json::json!({"central": address, "error": i.replication_last_error}),
            ),
            Some(last) => check(
                "replication_cut_off",
                if now_ms - last >= CUT_OFF_WARN_AFTER_MS {
                    Level::Warning
                } else {
                    Level::Ok
                },
                serde_json::json!({"central": address, "last_contact_ms": last,
                    "error": i.replication_last_error}),
            ),
        },
    });
    // The data disk.
    out.push(match (i.disk_available_bytes, i.disk_size_bytes) {
        (Some(available), Some(size)) if size > 0 => {
            let free_percent = available.saturating_mul(100) / size;
            let level = if free_percent < DISK_CRITICAL_FREE_PERCENT {
                Level::Critical
            } else if free_percent < DISK_WARN_FREE_PERCENT {
                Level::Warning
            } else {
                Level::Ok
            };
            check(
                "disk_space",
                level,
                serde_json::json!({"available_bytes": available, "size_bytes": size,
                    "free_percent": free_percent, "store_bytes": i.store_bytes}),
            )
        }
        _ => check(
            "disk_unknown",
            Level::Warning,
            serde_json::json!({"store_bytes": i.store_bytes}),
        ),
    });
    // Calls.
    out.push(check(
        "sos_callbacks",
        if i.sos_callbacks_owed > 0 {
            Level::Critical
        } else {
            Level::Ok
        },
        serde_json::json!({"owed": i.sos_callbacks_owed, "live_calls": i.live_calls}),
    ));
    out.push(check(
        "recordings",
        if i.recording_problems > 0 {
            Level::Warning
        } else {
            Level::Ok
        },
        serde_json::json!({"problems": i.recording_problems}),
    ));
    // Appeals.
    out.push(match i.appeals_overdue {
        Some(n) => check(
            "appeals_overdue",
            if n > 0 { Level::Warning } else { Level::Ok },
            serde_json::json!({"count": n}),
        ),
        None => check("appeals_unknown", Level::Warning, serde_json::json!({})),
    });
    out.sort_by_key(|c| std::cmp::Reverse(c.level));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_780_000_000_000;

    fn healthy() -> HealthInputs {
        HealthInputs {
            central_address: Some("central.mvd102:7443".into()),
            replication_connected: true,
            replication_last_contact_ms: Some(NOW - 1_000),
            disk_available_bytes: Some(600 << 30),
            disk_size_bytes: Some(1000 << 30),
            store_bytes: 5 << 30,
            appeals_overdue: Some(0),
            ..HealthInputs::default()
        }
    }

    fn level(checks: &[Check], code: &str) -> Level {
        checks
            .iter()
            .find(|c| c.code == code)
            .unwrap_or_else(|| panic!("no {code} in {checks:?}"))
            .level
    }

    #[test]
    fn a_healthy_node_has_every_check_ok() {
        let checks = assess(&healthy(), NOW);
        assert!(checks.iter().all(|c| c.level == Level::Ok), "{checks:?}");
        assert_eq!(checks.len(), 5);
    }

    #[test]
    fn the_disk_warns_under_10_percent_and_is_critical_under_3() {
        let mut i = healthy();
        i.disk_available_bytes = Some(95 << 30);
        assert_eq!(level(&assess(&i, NOW), "disk_space"), Level::Warning);
        i.disk_available_bytes = Some(29 << 30);
        let checks = assess(&i, NOW);
        assert_eq!(level(&checks, "disk_space"), Level::Critical);
        assert_eq!(checks[0].code, "disk_space", "the worst comes first");
        assert_eq!(checks[0].params["free_percent"], 2);
        i.disk_size_bytes = None;
        assert_eq!(level(&assess(&i, NOW), "disk_unknown"), Level::Warning);
    }

    #[test]
    fn a_node_cut_off_from_central_warns_after_15_minutes_and_a_stall_is_critical() {
        let mut i = healthy();
        i.replication_connected = false;
        i.replication_last_contact_ms = Some(NOW - CUT_OFF_WARN_AFTER_MS + 1);
        assert_eq!(level(&assess(&i, NOW), "replication_cut_off"), Level::Ok);
        i.replication_last_contact_ms = Some(NOW - CUT_OFF_WARN_AFTER_MS);
        assert_eq!(
            level(&assess(&i, NOW), "replication_cut_off"),
            Level::Warning
        );
        i.replication_last_contact_ms = None;
        assert_eq!(
            level(&assess(&i, NOW), "replication_never_connected"),
            Level::Warning
        );
        i.replication_connected = true;
        i.replication_stalled = true;
        assert_eq!(
            level(&assess(&i, NOW), "replication_stalled"),
            Level::Critical
        );
        i.central_address = None;
        assert_eq!(level(&assess(&i, NOW), "standalone"), Level::Ok);
    }

    #[test]
    fn an_owed_sos_callback_is_critical_recordings_and_overdue_appeals_warn() {
        let mut i = healthy();
        i.sos_callbacks_owed = 1;
        i.recording_problems = 2;
        i.appeals_overdue = Some(7);
        let checks = assess(&i, NOW);
        assert_eq!(level(&checks, "sos_callbacks"), Level::Critical);
        assert_eq!(level(&checks, "recordings"), Level::Warning);
        assert_eq!(level(&checks, "appeals_overdue"), Level::Warning);
        i.appeals_overdue = None;
        assert_eq!(level(&assess(&i, NOW), "appeals_unknown"), Level::Warning);
    }
}
