//! R32: the region's own report 1-ОЛ through the node's API — for a closed month, due on the
//! 10th of the next month or the next working day, cumulative from January, section 5 with the
//! region's row, the sections not in the seeds marked; a month not over, not begun or not a
//! month refused with a code; the XLSX read back with Python's openpyxl. How section 5 counts
//! is proved on the pure function (`sync/src/report_1ol/tests.rs`).

mod common;

use axum::http::StatusCode;
use sync::calendar::{Day, KZ_UTC_OFFSET_MIN};
use sync::report_1ol::Period;

use common::api_node::start;

#[tokio::test]
async fn r32_the_regions_report_1ol_for_a_month_with_its_due_day_and_refusals() {
    let t = start().await;
    let head = t.user("head1", &["head"], None).await;
    let ct = t.user("ct1", &["call_taker"], None).await;

    // November 2026: due on Thursday 10 December.
    let r = t
        .ok(
            "GET",
            "/api/v1/reports/1-ol?year=2026&month=11",
            &head,
            None,
        )
        .await;
    assert_eq!(r["format"], "mvd102-report-1ol/1");
    assert_eq!(r["from"], "2026-01-01", "cumulative from January");
    assert_eq!(r["to"], "2026-11-30");
    assert_eq!(r["due_on"], "2026-12-10");
    assert_eq!(r["incomplete"], true, "sections 1–4 are not in the seeds");
    let rows = r["section5"]["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{r}");
    assert_eq!(rows[0]["body"]["id"], "AST");
    // April 2026: 10 May is a Sunday and 11 May a day off moved by the calendar: 12 May.
    let r = t
        .ok("GET", "/api/v1/reports/1-ol?year=2026&month=4", &head, None)
        .await;
    assert_eq!(r["due_on"], "2026-05-12");

    // Refusals, each with a code.
    let today = Day::from_ms(node::http::now_ms(), KZ_UTC_OFFSET_MIN);
    let open = Period::of_day(today);
    for (query, status, code) in [
        (
            format!("year={}&month={}", open.year(), open.month()),
            StatusCode::UNPROCESSABLE_ENTITY,
            "report_period_not_closed",
        ),
        (
            "year=2099&month=1".to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "report_period_future",
        ),
        (
            "year=2026&month=13".to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "report_bad_period",
        ),
    ] {
        let (s, v) = t
            .call("GET", &format!("/api/v1/reports/1-ol?{query}"), &head, None)
            .await;
        assert_eq!(
            (s, v["code"].as_str()),
            (status, Some(code)),
            "{query}: {v}"
        );
    }
    let (s, _) = t
        .call("GET", "/api/v1/reports/1-ol?year=2026&month=11", &ct, None)
        .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "a call-taker does not read the report"
    );

    // XLSX, read back with openpyxl: a sheet in each language with the seed's headings.
    let (s, xlsx) = t
        .bytes("/api/v1/reports/1-ol.xlsx?year=2026&month=11", &head)
        .await;
    assert_eq!(s, StatusCode::OK);
    let book = common::read_xlsx(&xlsx);
    let sheets = book.as_object().unwrap();
    assert_eq!(sheets.len(), 2, "{:?}", sheets.keys().collect::<Vec<_>>());
    let text = book.to_string();
    assert!(text.contains("Раздел 5. Личный прием"), "{text}");
    assert!(text.contains("Записано на личный прием"), "{text}");
    assert!(
        text.contains("2026-01-01") || text.contains("01.01.2026"),
        "{text}"
    );
}

#[tokio::test]
async fn r32_the_section5_headings_for_the_console_are_the_seeds_in_ru_and_kk() {
    let t = start().await;
    let reg = t.user("reg1", &["registrar"], None).await;
    let ct = t.user("ct1", &["call_taker"], None).await;
    let h = t
        .ok("GET", "/api/v1/reports/1-ol/headings", &reg, None)
        .await;
    assert_eq!(h["section5"]["ru"], "Раздел 5. Личный прием");
    assert_eq!(h["row_names"]["ru"], "Наименование показателей");
    let cols = h["columns"].as_array().unwrap();
    let keys: Vec<&str> = cols.iter().map(|c| c["key"].as_str().unwrap()).collect();
    assert_eq!(
        keys,
        sync::report_1ol::headings::COLUMNS
            .iter()
            .map(|c| c.key)
            .collect::<Vec<_>>(),
        "the columns in the order of the report's cells"
    );
    assert_eq!(cols[9]["title"]["ru"], "разъяснено");
    assert_eq!(cols[9]["group"]["ru"], "Решение по личному приему");
    assert!(cols
        .iter()
        .all(|c| !c["title"]["kk"].as_str().unwrap().is_empty()));
    let (s, _) = t
        .call("GET", "/api/v1/reports/1-ol/headings", &ct, None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}
