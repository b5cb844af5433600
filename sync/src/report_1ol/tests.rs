use proptest::prelude::*;

use super::period::latest_due_period;
use super::*;
use crate::calendar::{embedded_years, CalendarError, Day, WorkCalendar};

fn calendar() -> WorkCalendar {
    let years = embedded_years().unwrap();
    WorkCalendar::new(&years).unwrap()
}

fn day(s: &str) -> Day {
    Day::parse(s).unwrap()
}

fn month(y: i32, m: u32) -> Period {
    Period::new(y, m).unwrap()
}

fn body(id: &str) -> Body {
    Body {
        id: id.into(),
        name_kk: format!("{id} ПД"),
        name_ru: format!("ДП {id}"),
        code: None,
    }
}

/// An entry of region `region`, put in the queue on `requested`.
fn entry(region: &str, id: &str, requested: &str) -> ReceptionEntry {
    ReceptionEntry {
        region: region.into(),
        record_id: id.into(),
        revision: 1,
        requested_on: day(requested),
        booked_on: None,
        outcome: None,
    }
}

fn booked(mut e: ReceptionEntry, on: &str) -> ReceptionEntry {
    e.booked_on = Some(day(on));
    e.revision += 1;
    e
}

fn held(
    mut e: ReceptionEntry,
    on: &str,
    by: Receiver,
    decision: Option<ReceptionDecision>,
) -> ReceptionEntry {
    e.outcome = Some(ReceptionOutcome::Held {
        on: day(on),
        by,
        decision,
    });
    e.revision += 1;
    e
}

fn refused(mut e: ReceptionEntry, on: &str) -> ReceptionEntry {
    e.outcome = Some(ReceptionOutcome::Refused { on: day(on) });
    e.revision += 1;
    e
}

fn not_held(mut e: ReceptionEntry, on: &str) -> ReceptionEntry {
    e.outcome = Some(ReceptionOutcome::NotHeld { on: day(on) });
    e.revision += 1;
    e
}

/// The due day of each period, in the calendar of 2025–2027 (CALENDAR.md).
fn check_due(cases: &[((i32, u32), &str)]) {
    let cal = calendar();
    for &((y, m), want) in cases {
        assert_eq!(
            due_day(month(y, m), &cal).unwrap(),
            day(want),
            "the report for {y}-{m:02}"
        );
    }
}

#[test]
fn r32_due_on_the_10th_of_the_next_month_when_it_is_a_working_day() {
    check_due(&[
        ((2026, 1), "2026-02-10"), // Tuesday
        ((2026, 2), "2026-03-10"), // Tuesday (9 March is the day off moved from 8 March)
        ((2026, 5), "2026-06-10"), // Wednesday
        ((2026, 6), "2026-07-10"), // Friday
    ]);
}

#[test]
fn r32_due_on_the_next_working_day_when_the_10th_is_a_weekend() {
    check_due(&[
        ((2025, 12), "2026-01-12"), // 10 January 2026 is a Saturday
        ((2026, 9), "2026-10-12"),  // 10 October 2026 is a Saturday
        ((2026, 12), "2027-01-11"), // 10 January 2027 is a Sunday
    ]);
}

#[test]
fn r32_due_on_the_next_working_day_when_the_10th_is_a_holiday() {
    check_due(&[
        // 10 May 2027 (Monday) is the day off moved from Victory Day, a Sunday.
        ((2027, 4), "2027-05-11"),
        // 10 May 2026 is a Sunday and 11 May the day off moved from 9 May (a Saturday).
        ((2026, 4), "2026-05-12"),
    ]);
}

#[test]
fn r32_due_day_in_a_year_without_a_calendar_is_an_error() {
    let err = due_day(month(2027, 12), &calendar()).unwrap_err();
    assert_eq!(err, ReportError::Calendar(CalendarError::NoYear(2028)));
    assert_eq!(err.code(), "no_calendar_for_year");
}

#[test]
fn r32_latest_due_period_turns_on_the_due_day() {
    let cal = calendar();
    for (today, want) in [
        ("2026-02-09", (2025, 12)),
        ("2026-02-10", (2026, 1)),
        ("2026-05-11", (2026, 3)), // the April report is due on 12 May 2026
        ("2026-05-12", (2026, 4)),
        ("2026-01-11", (2025, 11)), // Sunday before the December report's due day
    ] {
        assert_eq!(
            latest_due_period(day(today), &cal).unwrap(),
            month(want.0, want.1),
            "{today}"
        );
    }
}

#[test]
fn r32_a_future_or_not_yet_closed_period_is_an_error() {
    let cal = calendar();
    let today = day("2026-03-15");
    let err = report([], &[], month(2026, 4), today, &cal).unwrap_err();
    assert!(matches!(err, ReportError::Future { .. }), "{err}");
    assert_eq!(err.code(), "report_period_future");
    let err = report([], &[], month(2026, 3), today, &cal).unwrap_err();
    assert!(matches!(err, ReportError::NotClosed { .. }), "{err}");
    assert_eq!(err.code(), "report_period_not_closed");
    // On its last day a month is still open; the day after, it is closed.
    assert!(month(2026, 2).check_closed(day("2026-02-28")).is_err());
    assert!(month(2026, 2).check_closed(day("2026-03-01")).is_ok());
    assert!(report([], &[], month(2026, 2), today, &cal).is_ok());
}

#[test]
fn r32_a_period_that_is_not_a_month_is_refused() {
    for (y, m) in [(2026, 0), (2026, 13), (0, 5), (9_999, 1)] {
        let err = Period::new(y, m).unwrap_err();
        assert_eq!(err.code(), "report_bad_period", "{y}-{m}");
    }
    let wire: Result<Period, _> = serde_json::from_str(r#"{"year":2026,"month":13}"#);
    assert!(wire.is_err());
    let p: Period = serde_json::from_str(r#"{"year":2026,"month":3}"#).unwrap();
    assert_eq!(
        (p.to_string(), p.last_day()),
        ("2026-03".into(), day("2026-03-31"))
    );
    assert_eq!(month(2024, 2).last_day(), day("2024-02-29"));
    assert_eq!(month(2026, 12).next(), month(2027, 1));
    assert_eq!(month(2026, 1).previous(), month(2025, 12));
}

/// The records of one region over the turn of a year, with the section 5 each month must show.
fn year_of_receptions() -> Vec<ReceptionEntry> {
    use Receiver::*;
    use ReceptionDecision::*;
    vec![
        // From 2025: pending at the start of 2026, held in February.
        held(
            entry("AST", "r1", "2025-12-20"),
            "2026-02-03",
            Head,
            Some(Satisfied),
        ),
        // From 2025 and finished in 2025: in no 2026 column.
        held(
            entry("AST", "r0", "2025-11-03"),
            "2025-12-01",
            Deputy,
            Some(Explained),
        ),
        // From 2025, still waiting at the end of March.
        entry("AST", "r2", "2025-12-29"),
        // January: booked, held by a deputy in March.
        held(
            booked(entry("AST", "r3", "2026-01-14"), "2026-01-15"),
            "2026-03-02",
            Deputy,
            Some(Refused),
        ),
        // January: refused in February.
        refused(entry("AST", "r4", "2026-01-20"), "2026-02-02"),
        // February: booked in February, not held in March (field 36).
        not_held(
            booked(entry("AST", "r5", "2026-02-10"), "2026-02-11"),
            "2026-03-05",
        ),
        // March: booked in April (after the period), held by the head in April.
        held(
            booked(entry("AST", "r6", "2026-03-30"), "2026-04-01"),
            "2026-04-06",
            Head,
            Some(Explained),
        ),
        // March: held on the day by someone other than the head or a deputy.
        held(entry("AST", "r7", "2026-03-31"), "2026-03-31", Other, None),
    ]
}

/// Section 5 of region AST for each month, against the expected row (the seed's column order).
fn check_section5(entries: &[ReceptionEntry], cases: &[(Period, [u64; 10])]) {
    for (period, want) in cases {
        let s = section5(entries, &[body("AST")], *period);
        assert_eq!(s.rows.len(), 1);
        assert_eq!(s.rows[0].cells.values(), *want, "{period}");
        assert_eq!(s.total, s.rows[0].cells, "{period}");
    }
}

#[test]
fn r32_section5_is_cumulative_from_january() {
    let entries = year_of_receptions();
    //   start received booked refused end head deputy satisfied refused explained
    check_section5(
        &entries,
        &[
            (month(2026, 1), [2, 2, 1, 0, 4, 0, 0, 0, 0, 0]),
            (month(2026, 2), [2, 3, 2, 1, 3, 1, 0, 1, 0, 0]),
            (month(2026, 3), [2, 5, 2, 1, 2, 1, 1, 1, 1, 0]),
            (month(2026, 4), [2, 5, 3, 1, 1, 2, 1, 1, 1, 1]),
            // December 2025: its own year, from 1 January 2025.
            (month(2025, 12), [0, 3, 0, 0, 2, 0, 1, 0, 0, 1]),
        ],
    );
}

#[test]
fn r32_section5_rows_follow_the_bodies_and_add_unknown_regions() {
    let entries = vec![
        entry("ALA", "a1", "2026-01-05"),
        entry("AST", "b1", "2026-01-06"),
        entry("SHY", "c1", "2026-01-07"),
    ];
    let s = section5(
        &entries,
        &[body("AST"), body("ALA"), body("AST")],
        month(2026, 1),
    );
    let ids: Vec<&str> = s.rows.iter().map(|r| r.body.id.as_str()).collect();
    assert_eq!(ids, ["AST", "ALA", "SHY"]);
    assert_eq!(s.total.received, 3);
    assert_eq!(s.total.pending_at_end, 3);
}

#[test]
fn r32_report_lists_sections_1_to_4_as_not_in_the_seeds() {
    let r = report(
        [],
        &[body("AST")],
        month(2026, 1),
        day("2026-02-10"),
        &calendar(),
    )
    .unwrap();
    assert!(r.incomplete);
    let missing: Vec<u8> = r
        .sections
        .iter()
        .filter(|s| s.source == NOT_IN_THE_SEEDS)
        .map(|s| s.number)
        .collect();
    assert_eq!(missing, [1, 2, 3, 4]);
    assert_eq!(
        (r.from, r.to, r.due_on),
        (day("2026-01-01"), day("2026-01-31"), day("2026-02-10"))
    );
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(
        json["period"],
        serde_json::json!({"year": 2026, "month": 1})
    );
    assert_eq!(
        json["section5"]["rows"][0]["cells"]["pending_at_year_start"],
        0
    );
}

#[test]
fn r32_an_inconsistent_entry_is_refused_and_nothing_changes() {
    let mut c = Contributions::new();
    c.apply(entry("AST", "r1", "2026-01-10")).unwrap();
    let before = c.clone();
    let bad = [
        booked(entry("AST", "r1", "2026-01-10"), "2026-01-09"),
        refused(entry("AST", "r1", "2026-01-10"), "2025-12-31"),
        entry("", "r9", "2026-01-10"),
        entry("AST", " ", "2026-01-10"),
    ];
    for e in bad {
        let err = c.apply(e).unwrap_err();
        assert_eq!(err.code(), "report_bad_entry");
    }
    assert_eq!(c, before);
}

/// States of many records of several regions, each record's states in the order written.
fn histories() -> Vec<Vec<ReceptionEntry>> {
    use Receiver::*;
    use ReceptionDecision::*;
    let mut out = Vec::new();
    for (r, region) in ["AST", "ALA", "SHY"].into_iter().enumerate() {
        for i in 0..12 {
            let requested = format!("2026-0{}-{:02}", 1 + i % 3, 3 + i + r);
            let first = entry(region, &format!("{region}-{i}"), &requested);
            let second = booked(first.clone(), &requested);
            let third = match i % 4 {
                0 => held(second.clone(), "2026-04-02", Head, Some(Satisfied)),
                1 => held(second.clone(), "2026-03-31", Deputy, Some(Explained)),
                // Refused without a slot: its second state is the refusal, repeated.
                2 => {
                    let refusal = refused(first.clone(), "2026-03-30");
                    out.push(vec![first, refusal.clone(), refusal]);
                    continue;
                }
                _ => not_held(second.clone(), "2026-04-01"),
            };
            out.push(vec![first, second, third]);
        }
    }
    out
}

proptest! {
    /// Every state of every record delivered any number of times, in any order: the national
    /// section 5 equals the one counted from each record's final state once.
    #[test]
    fn r32_exactly_once_under_duplicates_and_any_order(
        deliveries in prop::collection::vec((0usize..36, 0usize..3), 0..200),
        order_seed in any::<u64>(),
    ) {
        let all = histories();
        let finals: Vec<ReceptionEntry> = all.iter().map(|h| h[2].clone()).collect();
        // Each record's every state at least once, plus the random repeats, shuffled.
        let mut stream: Vec<ReceptionEntry> = all.iter().flatten().cloned().collect();
        stream.extend(deliveries.iter().map(|&(r, s)| all[r][s].clone()));
        let mut x = order_seed | 1;
        for i in (1..stream.len()).rev() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            stream.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let mut c = Contributions::new();
        for e in stream {
            c.apply(e).unwrap();
        }
        prop_assert_eq!(c.len(), finals.len());
        let bodies = [body("AST"), body("ALA"), body("SHY")];
        for m in 1..=4 {
            let national = section5(c.entries(), &bodies, month(2026, m));
            prop_assert_eq!(&national, &section5(&finals, &bodies, month(2026, m)));
            let ala = section5(c.region("ALA"), &bodies[1..2], month(2026, m));
            prop_assert_eq!(ala.rows[0].cells, national.rows[1].cells);
        }
    }
}

#[test]
fn r32_replaying_the_same_state_changes_nothing() {
    let mut c = Contributions::new();
    let e = booked(entry("AST", "r1", "2026-01-10"), "2026-01-11");
    assert_eq!(c.apply(e.clone()).unwrap(), Applied::New);
    assert_eq!(c.apply(e.clone()).unwrap(), Applied::Ignored);
    // An older state arriving late does not undo the newer one.
    assert_eq!(
        c.apply(entry("AST", "r1", "2026-01-10")).unwrap(),
        Applied::Ignored
    );
    let later = held(e.clone(), "2026-01-20", Receiver::Head, None);
    assert_eq!(c.apply(later.clone()).unwrap(), Applied::Updated);
    assert_eq!(c.entries().collect::<Vec<_>>(), [&later]);
    // The same record id in another region is another record.
    assert_eq!(
        c.apply(entry("ALA", "r1", "2026-01-10")).unwrap(),
        Applied::New
    );
    assert_eq!(c.len(), 2);
}

/// Three regions of five cut off across the 10th: the report issued on the due day lacks their
/// late records; when they arrive it is re-issued as version 2 with the difference, equal to the
/// report computed from scratch on the merged data; version 1 stays as it was.
#[test]
fn r32_late_arrival_after_the_10th_is_a_new_version_with_the_difference() {
    let cal = calendar();
    let regions = ["AST", "ALA", "SHY", "KAR", "PAV"];
    let bodies: Vec<Body> = regions.iter().map(|r| body(r)).collect();
    let cut_off = ["ALA", "KAR", "PAV"];
    let period = month(2026, 4);
    let due = due_day(period, &cal).unwrap();
    assert_eq!(due, day("2026-05-12"));

    let mut on_time = Vec::new();
    let mut late = Vec::new();
    for (i, region) in regions.iter().enumerate() {
        for k in 0..4 {
            let e = entry(
                region,
                &format!("{region}-{k}"),
                &format!("2026-04-{:02}", 6 + k + i),
            );
            let e = held(
                booked(e.clone(), &format!("2026-04-{:02}", 6 + k + i)),
                "2026-04-28",
                Receiver::Deputy,
                Some(ReceptionDecision::Satisfied),
            );
            // The cut-off regions' last two records reach central only after the due day.
            if cut_off.contains(region) && k >= 2 {
                late.push(e);
            } else {
                on_time.push(e);
            }
        }
    }
    let mut central = Contributions::new();
    for e in &on_time {
        central.apply(e.clone()).unwrap();
    }
    let first = report(central.entries(), &bodies, period, due, &cal).unwrap();
    let Issue::New(v1) = issue(&[], first, due).unwrap() else {
        panic!("the first issue is a version")
    };
    assert_eq!((v1.version, v1.changes.len()), (1, 0));
    assert_eq!(v1.report.section5.total.received, 14);
    let mut versions = vec![(*v1).clone()];

    // Replication replays what central had, then the late records, twice.
    for e in on_time.iter().chain(&late).chain(&late) {
        central.apply(e.clone()).unwrap();
    }
    let later_day = day("2026-05-20");
    let second = report(central.entries(), &bodies, period, later_day, &cal).unwrap();
    let Issue::New(v2) = issue(&versions, second, later_day).unwrap() else {
        panic!("late data makes a new version")
    };
    assert_eq!((v2.version, v2.issued_on), (2, later_day));
    let from_scratch = report(
        on_time.iter().chain(&late),
        &bodies,
        period,
        later_day,
        &cal,
    )
    .unwrap();
    assert_eq!(v2.report, from_scratch);
    assert_eq!(v2.report.section5.total.received, 20);
    // Every change names the old and the new number right, and nothing else differs.
    let cell = |s: &Section5, body: &Option<String>, column: &str| {
        let cells = match body {
            Some(id) => s.rows.iter().find(|r| &r.body.id == id).unwrap().cells,
            None => s.total,
        };
        let i = headings::COLUMNS
            .iter()
            .position(|c| c.key == column)
            .unwrap();
        cells.values()[i]
    };
    for c in &v2.changes {
        assert_eq!(
            cell(&v1.report.section5, &c.body, &c.column),
            c.before,
            "{c:?}"
        );
        assert_eq!(
            cell(&v2.report.section5, &c.body, &c.column),
            c.after,
            "{c:?}"
        );
    }
    assert_eq!(diff(&v1.report.section5, &v2.report.section5), v2.changes);
    // The difference names each changed number: 2 records in each of 3 regions, and the total.
    let received: Vec<(Option<&str>, u64, u64)> = v2
        .changes
        .iter()
        .filter(|c| c.column == "received")
        .map(|c| (c.body.as_deref(), c.before, c.after))
        .collect();
    assert_eq!(
        received,
        [
            (Some("ALA"), 2, 4),
            (Some("KAR"), 2, 4),
            (Some("PAV"), 2, 4),
            (None, 14, 20)
        ]
    );
    versions.push(*v2);
    assert_eq!(versions[0], *v1, "version 1 is never changed");

    // Nothing new: no third version.
    let again = report(central.entries(), &bodies, period, day("2026-05-21"), &cal).unwrap();
    assert_eq!(
        issue(&versions, again, day("2026-05-21")).unwrap(),
        Issue::Unchanged { version: 2 }
    );
}

#[test]
fn r32_versions_out_of_order_or_of_another_period_are_refused() {
    let cal = calendar();
    let jan = report([], &[], month(2026, 1), day("2026-02-10"), &cal).unwrap();
    let feb = report([], &[], month(2026, 2), day("2026-03-10"), &cal).unwrap();
    let v = |version, report: &Report1Ol| IssuedReport {
        version,
        issued_on: day("2026-03-10"),
        report: report.clone(),
        changes: Vec::new(),
    };
    let err = issue(&[v(1, &jan)], feb.clone(), day("2026-03-10")).unwrap_err();
    assert_eq!(err.code(), "report_bad_versions");
    let err = issue(&[v(2, &feb)], feb.clone(), day("2026-03-10")).unwrap_err();
    assert_eq!(err.code(), "report_bad_versions");
}

#[test]
fn r32_an_issued_version_is_stored_and_read_back_with_its_format() {
    let cal = calendar();
    let entries = year_of_receptions();
    let r = report(
        &entries,
        &[body("AST")],
        month(2026, 3),
        day("2026-04-10"),
        &cal,
    )
    .unwrap();
    let Issue::New(v1) = issue(&[], r, day("2026-04-10")).unwrap() else {
        panic!("version 1")
    };
    let stored = serde_json::to_string(&v1).unwrap();
    let read: IssuedReport = serde_json::from_str(&stored).unwrap();
    assert_eq!(read, *v1);
    let other = stored.replace(REPORT_FORMAT, "mvd102-report-1ol/0");
    let err = serde_json::from_str::<IssuedReport>(&other).unwrap_err();
    assert!(err.to_string().contains("mvd102-report-1ol/0"), "{err}");
}

#[test]
fn r32_sim_year_with_regions_cut_off_across_the_10th_counts_exactly_once() {
    let cal = calendar();
    let config = sim::SimConfig::default();
    let mut reissued = 0;
    for seed in 0..12 {
        let outcome = sim::simulate_year(&config, &cal, seed).unwrap_or_else(|e| panic!("{e}"));
        reissued += outcome.reissued;
    }
    // The cut-offs must have made late data, or the test proves nothing.
    assert!(reissued > 0, "no period was re-issued in any seed");
}
