//! R20/R21 end to end in one process: a region's node replicates to the central hub over QUIC
//! with mutual TLS; HQ sees the card in the national queue and its note flows back to the node.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use central::hub::HubEvent;
use provisioning::progress::Silent;
use provisioning::settings::{CentralAddress, RegionId, RegionName, RegionSettings, ValidDays};
use rand::rngs::OsRng;
use serde_json::{json, Value};
use time::OffsetDateTime;

const DEADLINE: Duration = Duration::from_secs(30);

/// [`common::call`] with the body parsed as JSON (`null` when it is not).
async fn call(
    app: &axum::Router,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let (status, text) = common::call(app, method, path, token, body).await;
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// A running hub for these tests: a CA, the central's bundle and store under one temporary
/// folder, its QUIC endpoint serving on a free port, its HTTP app, and an HQ duty session.
struct RunningHub {
    hub: central::server::Central,
    app: axum::Router,
    hq: String,
    admin: String,
    port: u16,
    ca: std::path::PathBuf,
    now: OffsetDateTime,
}

async fn start_hub(root: &std::path::Path) -> RunningHub {
    let common::ServingHub {
        hub, port, ca, now, ..
    } = common::start_hub(root).await;
    let app = central::http::app(hub.state.clone());
    let (admin, hq) = common::hq_duty_session(&app, "hq-admin-password").await;
    RunningHub {
        hub,
        app,
        hq,
        admin,
        port,
        ca,
        now,
    }
}

impl RunningHub {
    /// Provisions region AST for this hub; returns its bundle.
    fn add_ast_region(&self, root: &std::path::Path) -> std::path::PathBuf {
        let region_bundle = root.join("ast");
        let rs = RegionSettings {
            id: RegionId::parse("AST").unwrap(),
            name_kk: RegionName::parse("name-kk", "Астана қаласы ПД").unwrap(),
            name_ru: RegionName::parse("name-ru", "ДП города Астаны").unwrap(),
            central: CentralAddress::parse(&format!("localhost:{}", self.port)).unwrap(),
            valid_days: ValidDays::for_peer(730).unwrap(),
        };
        provisioning::add_region(
            &self.ca,
            &region_bundle,
            &rs,
            self.now,
            &mut OsRng,
            &mut Silent,
        )
        .unwrap();
        region_bundle
    }
}

/// Awaits `condition` until `DEADLINE`, checking it again every 20 ms (no event reports it).
async fn until(what: &str, mut condition: impl FnMut() -> bool) {
    tokio::time::timeout(DEADLINE, async {
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        while !condition() {
            tick.tick().await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{what} within {DEADLINE:?}"));
}

/// A node provisioned for `running`'s hub as region AST, replicating to it.
async fn start_ast_node(
    running: &RunningHub,
    root: &std::path::Path,
) -> (node::server::Node, tokio::sync::watch::Sender<bool>) {
    start_ast_node_with(running, root, sync::protocol::Config::default()).await
}

/// [`start_ast_node`] with the node's protocol settings.
async fn start_ast_node_with(
    running: &RunningHub,
    root: &std::path::Path,
    protocol: sync::protocol::Config,
) -> (node::server::Node, tokio::sync::watch::Sender<bool>) {
    let region_bundle = running.add_ast_region(root);
    let overlay = node::bundle::check_region_bundle(&region_bundle).unwrap();
    let mut node_config = node::config::Config::load_layers(&[overlay.as_path()]).unwrap();
    node_config.accounts.argon2_memory_kib = 1024;
    let node = node::server::open_node(
        &node_config,
        &root.join("node-data"),
        Some("admin-password-1".into()),
    )
    .await
    .unwrap();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(node::replication::run_client(
        node.state.service.clone(),
        node.gc.clone(),
        provisioning::load_identity(&region_bundle).unwrap(),
        node::replication::ClientSettings {
            central_address: node_config.central.as_ref().unwrap().address.clone(),
            protocol,
        },
        Arc::new(Mutex::new(node::replication::ReplicationStatus::default())),
        stop_rx,
    ));
    (node, stop_tx)
}

/// Rolling upgrades: the hub's regions table shows the software version each region's node
/// named when it connected (what `node --version` prints) and the protocol version they agreed,
/// and keeps showing it after the node disconnects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_regions_table_shows_the_software_version_each_node_connected_with() {
    let dir = tempfile::tempdir().unwrap();
    let running = start_hub(dir.path()).await;
    let (app, hq) = (&running.app, &running.hq);
    let ast = || async {
        let (s, regions) = call(app, "GET", "/api/v1/regions", hq, None).await;
        assert_eq!(s, StatusCode::OK, "{regions}");
        regions
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["region"] == "AST")
            .cloned()
            .unwrap_or(Value::Null)
    };
    // The settings the node runs with (`node serve` replicates with them).
    let (_node, stop) = start_ast_node_with(
        &running,
        dir.path(),
        node::replication::network_protocol_config(),
    )
    .await;
    let deadline = tokio::time::Instant::now() + DEADLINE;
    let row = loop {
        let row = ast().await;
        if row["connected"] == true {
            break row;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "AST connected within {DEADLINE:?}: {row}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(row["software_version"], env!("CARGO_PKG_VERSION"), "{row}");
    assert_eq!(
        row["software_version"],
        server_kit::replication::SOFTWARE_VERSION,
        "{row}"
    );
    assert_eq!(
        row["protocol_version"],
        sync::protocol::VERSION_MAX,
        "{row}"
    );
    let (s, metrics) = common::call(app, "GET", "/metrics", "", None).await;
    assert_eq!(s, StatusCode::OK);
    let series = format!(
        "central_region_software_info{{region=\"AST\",version=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION")
    );
    assert!(
        metrics.lines().any(|l| l == series),
        "{series} in\n{metrics}"
    );

    // Disconnected, the region still shows the version it last ran.
    stop.send(true).unwrap();
    let deadline = tokio::time::Instant::now() + DEADLINE;
    let row = loop {
        let row = ast().await;
        if row["connected"] == false {
            break row;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "AST disconnected within {DEADLINE:?}: {row}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(row["software_version"], env!("CARGO_PKG_VERSION"), "{row}");
}

/// Reference data replicates both ways: the region's own (districts, categories, timing rules)
/// up to the hub, which then shows that region's cards with it; the national working-day
/// calendar, written at the hub only, down to the node, a year replaced by HQ's administrator
/// included. Bad calendar input is refused with the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_data_replicates_the_regions_up_and_the_national_calendar_down() {
    let dir = tempfile::tempdir().unwrap();
    let running = start_hub(dir.path()).await;
    let RunningHub {
        hub,
        app,
        hq,
        admin,
        ..
    } = &running;
    // Before the region's node publishes, the hub knows nothing of its reference data.
    let (s, before) = call(app, "GET", "/api/v1/regions/AST/reference", hq, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(before["received"], false);
    assert!(before["reference"].is_null());
    let mut hub_events = hub.state.hub.events.subscribe();
    let (node, _stop) = start_ast_node(&running, dir.path()).await;
    let service = node.state.service.clone();

    tokio::time::timeout(DEADLINE, async {
        loop {
            if let Ok(HubEvent::Reference { region }) = hub_events.recv().await {
                if region == "AST" {
                    return;
                }
            }
        }
    })
    .await
    .expect("the region's reference data reached HQ");
    let (s, got) = call(app, "GET", "/api/v1/regions/AST/reference", hq, None).await;
    assert_eq!(s, StatusCode::OK, "{got}");
    assert_eq!(got["received"], true);
    let at_hub: sync::Reference = serde_json::from_value(got["reference"].clone()).unwrap();
    assert_eq!(&at_hub, service.reference());
    assert!(!at_hub.districts.is_empty() && !at_hub.categories.is_empty());
    let (s, _) = call(app, "GET", "/api/v1/regions/kz/reference", hq, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // The hub published the embedded calendar years on its first start; the node gets them.
    let (s, years) = call(app, "GET", "/api/v1/calendar", hq, None).await;
    assert_eq!(s, StatusCode::OK, "{years}");
    let published: Vec<i64> = years
        .as_array()
        .unwrap()
        .iter()
        .map(|y| y["calendar"]["year"].as_i64().unwrap())
        .collect();
    assert_eq!(published, vec![2025, 2026, 2027]);
    until("the calendar years reached the node", || {
        service.calendar_years().map(|y| y.len()).unwrap_or(0) == 3
    })
    .await;

    // The decree for 2027 is out: the administrator replaces the computed year.
    let mut y2027 = years[2]["calendar"].clone();
    assert_eq!(y2027["status"], "computed");
    y2027["status"] = json!("official");
    y2027["source"] = json!("Постановление Правительства РК о переносе выходных дней в 2027 году");
    y2027["holidays"]
        .as_array_mut()
        .unwrap()
        .push(json!("2027-05-16"));
    let (s, body) = call(app, "PUT", "/api/v1/calendar/2027", hq, Some(y2027.clone())).await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "only the administrator publishes: {body}"
    );
    let (s, body) = call(
        app,
        "PUT",
        "/api/v1/calendar/2026",
        admin,
        Some(y2027.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let mut bad = y2027.clone();
    bad["moved_days_off"]
        .as_array_mut()
        .unwrap()
        .push(json!("2027-05-15"));
    let (s, body) = call(app, "PUT", "/api/v1/calendar/2027", admin, Some(bad)).await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a Saturday as a moved day off: {body}"
    );
    assert!(
        body["message"].as_str().unwrap().contains("2027-05-15"),
        "{body}"
    );
    let (s, body) = call(
        app,
        "PUT",
        "/api/v1/calendar/2027",
        admin,
        Some(y2027.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["changed"], true);
    let (s, body) = call(app, "PUT", "/api/v1/calendar/2027", admin, Some(y2027)).await;
    assert_eq!((s, body["changed"].clone()), (StatusCode::OK, json!(false)));
    until("the official 2027 calendar reached the node", || {
        service.calendar_years().is_ok_and(|years| {
            years.iter().any(|y| {
                y.calendar.year == 2027
                    && y.calendar.status == sync::calendar::CalendarStatus::Official
                    && y.calendar.is_working_day("2027-05-16") == Ok(false)
            })
        })
    })
    .await;
    // The node serves it to its consoles.
    let node_app = node::http::app(node.state.clone());
    let node_admin = common::activate(&node_app, "admin", "admin-password-1").await;
    let (s, on_node) = call(&node_app, "GET", "/api/v1/calendar", &node_admin, None).await;
    assert_eq!(s, StatusCode::OK, "{on_node}");
    assert_eq!(on_node[2]["calendar"]["status"], "official");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r21_hq_sees_the_region_card_and_its_note_flows_back() {
    let dir = tempfile::tempdir().unwrap();
    let running = start_hub(dir.path()).await;
    let RunningHub { hub, app, hq, .. } = &running;
    let mut hub_events = hub.state.hub.events.subscribe();

    // A region's node, provisioned for this hub.
    let region_bundle = running.add_ast_region(dir.path());
    let overlay = node::bundle::check_region_bundle(&region_bundle).unwrap();
    let mut node_config = node::config::Config::load_layers(&[overlay.as_path()]).unwrap();
    node_config.accounts.argon2_memory_kib = 1024;
    let node = node::server::open_node(
        &node_config,
        &dir.path().join("node-data"),
        Some("admin-password-1".into()),
    )
    .await
    .unwrap();
    let service = node.state.service.clone();
    let mut node_events = service.subscribe();
    let (_stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(node::replication::run_client(
        service.clone(),
        node.gc.clone(),
        provisioning::load_identity(&region_bundle).unwrap(),
        node::replication::ClientSettings {
            central_address: node_config.central.as_ref().unwrap().address.clone(),
            protocol: sync::protocol::Config::default(),
        },
        Arc::new(Mutex::new(node::replication::ReplicationStatus::default())),
        stop_rx,
    ));

    let input: sync::CardCreate = serde_json::from_value(json!({
        "channel": "app102_call", "location": {"lat": 51.128, "lon": 71.42, "address": "ул. Кенесары 40"},
        "description": "Драка", "category": "assault"
    }))
    .unwrap();
    let card = service
        .create_card("op1", &input, server_kit::clock::now_ms())
        .await
        .unwrap();
    service
        .apply(
            "op1",
            &card.id,
            sync::CardCommand::SendForProcessing,
            server_kit::clock::now_ms(),
        )
        .await
        .unwrap();

    // HQ sees the card waiting in the national queue: wait for the hub's live event.
    tokio::time::timeout(DEADLINE, async {
        loop {
            if let Ok(HubEvent::Card(c)) = hub_events.recv().await {
                if c.summary.id == card.id
                    && c.summary.status == sync::CardStatus::SentForProcessing
                {
                    return;
                }
            }
        }
    })
    .await
    .expect("the card reached HQ");
    let (_, queue) = call(
        app,
        "GET",
        "/api/v1/cards?status=sent_for_processing",
        hq,
        None,
    )
    .await;
    assert_eq!(queue[0]["region"], "AST");
    assert_eq!(queue[0]["number"], card.number.as_str());
    let (s, regions) = call(app, "GET", "/api/v1/regions", hq, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(regions[0]["region"], "AST");
    assert_eq!(regions[0]["connected"], true);
    assert!(
        regions[0]["docs"].as_u64().unwrap() >= 12,
        "the card and 11 units: {regions}"
    );
    let (s, summary) = call(app, "GET", "/api/v1/summary", hq, None).await;
    assert_eq!(s, StatusCode::OK, "{summary}");
    assert_eq!(summary["totals"]["sent_for_processing"], 1);
    assert_eq!(summary["waiting_longest"][0]["region"], "AST");

    // HQ's note replicates back into the region's card: wait for the node's live event.
    let note = "ДЧ МВД: доложить о результатах";
    let (s, noted) = call(
        app,
        "POST",
        &format!("/api/v1/cards/AST/{}/notes", card.id),
        hq,
        Some(json!({ "text": note })),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{noted}");
    tokio::time::timeout(DEADLINE, async {
        loop {
            let has_note = service
                .get_card(&card.id)
                // Shown at the region as written by that HQ person, not by "admin".
                .map(|c| {
                    c.timeline
                        .iter()
                        .any(|e| e.text == note && e.kind == "hq_note" && e.by == "Сейткали Нурлан")
                })
                .unwrap_or(false);
            if has_note {
                return;
            }
            let _ = node_events.recv().await;
        }
    })
    .await
    .expect("the HQ note reached the node");

    // Bad input at HQ: unknown card, empty note, no token.
    let (s, _) = call(app, "GET", "/api/v1/cards/AST/nope", hq, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = call(
        app,
        "POST",
        &format!("/api/v1/cards/AST/{}/notes", card.id),
        hq,
        Some(json!({"text": " "})),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = call(app, "GET", "/api/v1/regions", "", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

/// Writes one length-prefixed replication frame.
async fn write_frame(send: &mut quinn::SendStream, frame: &[u8]) {
    send.write_all(&(frame.len() as u32).to_be_bytes())
        .await
        .unwrap();
    send.write_all(frame).await.unwrap();
}

async fn read_frame(recv: &mut quinn::RecvStream) -> Vec<u8> {
    let mut len = [0u8; 4];
    recv.read_exact(&mut len).await.unwrap();
    let mut buf = vec![0u8; u32::from_be_bytes(len) as usize];
    recv.read_exact(&mut buf).await.unwrap();
    buf
}

/// The HQ side: a region whose link goes silent while HQ has a note pending for it is
/// shown as `stalled` (not `connected`) by the regions API, and in `/metrics`, within 10 s.
/// The region here is a scripted node: it replicates one card, then falls silent (its QUIC
/// connection stays up, as through a partition shorter than the idle timeout).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hq_shows_a_region_stalled_within_10_s_when_its_link_stops_moving() {
    const SHOWN_WITHIN: Duration = Duration::from_secs(10);
    let dir = tempfile::tempdir().unwrap();
    let running = start_hub(dir.path()).await;
    let RunningHub { app, hq, port, .. } = &running;
    let hub_addr = std::net::SocketAddr::from(([127, 0, 0, 1], *port));

    // The scripted node: one card, replicated through a real session over QUIC.
    let region_bundle = running.add_ast_region(dir.path());
    let region_id = provisioning::load_identity(&region_bundle).unwrap();
    let mut client = quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
    client.set_default_client_config(provisioning::tls::quinn_client_config(&region_id).unwrap());
    let conn = client
        .connect(hub_addr, "localhost")
        .unwrap()
        .await
        .unwrap();
    let (mut send, mut recv) = conn.open_bi().await.unwrap();
    let mut card = common::TestCard::new(
        &common::reference(),
        "AST",
        1,
        sync::Channel::App102Call,
        "assault",
        server_kit::clock::now_ms(),
    );
    card.send(server_kit::clock::now_ms());
    let doc_id = format!("AST/card/{}", card.id);
    let mut repo = sync::protocol::MemRepo::new([5; 16]);
    repo.put(
        &doc_id,
        std::mem::take(sync::Document::automerge(&mut card.doc)),
        sync::protocol::Priority::Active,
    );
    let mut session = sync::protocol::Session::new(
        sync::protocol::Config::default(),
        sync::protocol::Authority::Region("AST".into()),
        sync::protocol::Authority::Central,
        &mut repo,
        server_kit::clock::now_ms(),
    )
    .unwrap();
    tokio::time::timeout(DEADLINE, async {
        loop {
            while let Some(f) = session.poll_transmit() {
                write_frame(&mut send, &f).await;
            }
            if session.is_idle() {
                return;
            }
            let frame = read_frame(&mut recv).await;
            session
                .handle_frame(&mut repo, &frame, server_kit::clock::now_ms())
                .unwrap();
        }
    })
    .await
    .expect("the scripted node's card was acknowledged");
    let region_row = |rows: &Value| {
        rows.as_array()
            .and_then(|r| r.iter().find(|r| r["region"] == "AST"))
            .cloned()
            .unwrap_or(Value::Null)
    };
    // The hub records the link's state beside the session: wait for it, with a deadline.
    tokio::time::timeout(DEADLINE, async {
        loop {
            let (_, rows) = call(app, "GET", "/api/v1/regions", hq, None).await;
            if region_row(&rows)["state"] == "connected" {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("HQ shows AST connected once its card was acknowledged");

    // From now on the node is silent. HQ writes a note: the hub has a change pending for it.
    let noted = std::time::Instant::now();
    let (s, body) = call(
        app,
        "POST",
        &format!("/api/v1/cards/AST/{}/notes", card.id),
        hq,
        Some(json!({ "text": "ДЧ МВД: доложить" })),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let row = tokio::time::timeout(SHOWN_WITHIN, async {
        loop {
            let (_, rows) = call(app, "GET", "/api/v1/regions", hq, None).await;
            let row = region_row(&rows);
            if row["state"] == "stalled" {
                return row;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("HQ shows the region stalled within 10 s of its note");
    println!(
        "HQ shows AST stalled {} ms after its note",
        noted.elapsed().as_millis()
    );
    assert_eq!(row["connected"], true, "{row}");
    assert_eq!(row["stalled"], true, "{row}");
    assert_eq!(row["stalls"], 1, "{row}");
    assert!(row["stalled_since_ms"].is_i64(), "{row}");
    let (s, metrics) = common::call(app, "GET", "/metrics", "", None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        metrics.contains("central_replication_stalled{region=\"AST\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("central_replication_stalls_total{region=\"AST\"} 1"),
        "{metrics}"
    );
    drop(session);
    conn.close(0u32.into(), b"done");
}

/// R31 bookings through the hub, end to end over QUIC: a request the hub takes while the
/// region is connected is confirmed by the region's node and then holds its slot against the
/// desk; a request the hub takes while the region is cut off, for a slot the desk booked
/// meanwhile, is moved by the node to the first free slot when the link returns. Each
/// settlement flows back to the hub, whose report 1-ОЛ ledger then counts the record booked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r31_a_booking_through_the_hub_is_settled_by_the_region_in_both_orders_of_arrival() {
    use sync::reception::{BookingInput, BookingStatus};
    let dir = tempfile::tempdir().unwrap();
    let running = start_hub(dir.path()).await;
    let region_bundle = running.add_ast_region(dir.path());
    let overlay = node::bundle::check_region_bundle(&region_bundle).unwrap();
    let mut node_config = node::config::Config::load_layers(&[overlay.as_path()]).unwrap();
    node_config.accounts.argon2_memory_kib = 1024;
    let node = node::server::open_node(
        &node_config,
        &dir.path().join("node-data"),
        Some("admin-password-1".into()),
    )
    .await
    .unwrap();
    let service = node.state.service.clone();
    let replicate = || {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(node::replication::run_client(
            service.clone(),
            node.gc.clone(),
            provisioning::load_identity(&region_bundle).unwrap(),
            node::replication::ClientSettings {
                central_address: node_config.central.as_ref().unwrap().address.clone(),
                protocol: sync::protocol::Config::default(),
            },
            Arc::new(Mutex::new(node::replication::ReplicationStatus::default())),
            stop_rx,
        ));
        stop_tx
    };
    let stop = replicate();
    let state = running.hub.state.clone();
    let schedule_id = sync::DocId::parse("AST/reception/schedule").unwrap();
    until("the region's schedule reached the hub", || {
        server_kit::docs::exists(&*state.store, &schedule_id).unwrap_or(false)
    })
    .await;

    let calendar = state.hq.work_calendar().unwrap();
    let today = central::service::HqService::today(server_kit::clock::now_ms());
    let monday = (1..60)
        .map(|n| today.plus_days(n))
        .find(|d| {
            d.weekday() == sync::calendar::Weekday::Monday
                && calendar.is_working_day(*d).unwrap_or(false)
        })
        .unwrap()
        .to_string();
    let booking = |origin: &str, time: &str| {
        json!({"origin": origin, "date": monday, "time": time, "session": "mon-head",
            "fields": {"7": "1", "9": "2", "10": "600705451316", "11": "Ахметова",
            "12": "Айгуль", "16": "1960-07-05", "18": "pensioner", "23": "documents"}})
    };
    let desk =
        |time: &str| -> BookingInput { serde_json::from_value(booking("desk", time)).unwrap() };
    let offset = service.reference().shifts.utc_offset_min;
    let reception = service.reception();
    let status_at_node = |id: &str| reception.get(id).ok().map(|b| (b.status, b.slot.time));
    let ledger = state.hub.report_1ol();
    let booked_at_hub = |id: &str| {
        ledger
            .records("AST")
            .iter()
            .any(|(e, _)| e.record_id == id && e.booked_on.is_some())
    };

    // 1. The request arrives first: the node confirms it, and the desk cannot take its slot.
    let (s, b) = call(
        &running.app,
        "POST",
        "/api/v1/reception/AST/bookings",
        &running.hq,
        Some(booking("app", "10:00")),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let first = b["id"].as_str().unwrap().to_string();
    until("the node confirmed the request", || {
        status_at_node(&first) == Some((BookingStatus::Booked, "10:00".into()))
    })
    .await;
    let err = reception
        .book(
            &desk("10:00"),
            &calendar,
            offset,
            "desk",
            server_kit::clock::now_ms(),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("already booked"), "{err}");
    until("the confirmation reached the hub", || booked_at_hub(&first)).await;

    // 2. Cut off: the desk books 10:20, the hub takes a request for 10:20; when the link
    // returns the node moves the request to the next free slot.
    stop.send(true).unwrap();
    until("the region's session ended", || {
        state
            .hub
            .sessions
            .lock()
            .unwrap()
            .get("AST")
            .is_none_or(|tx| tx.is_closed())
    })
    .await;
    let at_desk = reception
        .book(
            &desk("10:20"),
            &calendar,
            offset,
            "desk",
            server_kit::clock::now_ms(),
        )
        .await
        .unwrap();
    let (s, b) = call(
        &running.app,
        "POST",
        "/api/v1/reception/AST/bookings",
        &running.hq,
        Some(booking("bot", "10:20")),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(b["status"], "requested");
    let second = b["id"].as_str().unwrap().to_string();
    assert!(status_at_node(&second).is_none());
    let _stop = replicate();
    until("the node moved the request to the next free slot", || {
        status_at_node(&second) == Some((BookingStatus::Booked, "10:40".into()))
    })
    .await;
    assert_eq!(
        status_at_node(&at_desk.id),
        Some((BookingStatus::Booked, "10:20".into()))
    );
    until("the move and the desk booking reached the hub", || {
        booked_at_hub(&second) && booked_at_hub(&at_desk.id)
    })
    .await;
    let moved = reception.get(&second).unwrap();
    assert_eq!(moved.moved_from.unwrap().time, "10:20");
}

/// R22 at HQ: the region's node publishes its beats register and replicates its meetings; the
/// hub's national table counts each region's beats by the same quarter coverage the inspector
/// sees, and a region's drill-down lists each beat with its meetings.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r22_hq_counts_each_regions_beats_covered_this_quarter_from_what_its_node_replicates() {
    let dir = tempfile::tempdir().unwrap();
    let running = start_hub(dir.path()).await;
    let (node, _stop) = start_ast_node(&running, dir.path()).await;
    let (app, hq) = (&running.app, &running.hq);
    let beats = sync::meetings::BeatsReference::demo().beats.len() as u64;

    // An inspector of the demo region plans a meeting and publishes its notice on the node.
    let node_app = node::http::app(node.state.clone());
    let node_admin = common::activate(&node_app, "admin", "admin-password-1").await;
    let (s, body) = call(
        &node_app,
        "POST",
        "/api/v1/accounts",
        &node_admin,
        Some(
            json!({"login": "uip.saryarka01", "full_name": "Касымов Арман",
            "password": "long-password-1", "roles": ["district_inspector"]}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let inspector = common::activate(&node_app, "uip.saryarka01", "long-password-1").await;
    let offset = node.state.service.reference().shifts.utc_offset_min;
    let date = sync::calendar::Day::from_ms(server_kit::clock::now_ms(), offset).plus_days(12);
    let quarter = sync::meetings::Quarter::of(date).to_string();
    let (s, created) = call(
        &node_app,
        "POST",
        "/api/v1/meetings",
        &inspector,
        Some(
            json!({"beats": ["saryarka-01"], "format": "gathering", "date": date.to_string(),
            "time": "18:00", "place_kk": "№ 12 мектеп, акт залы",
            "place_ru": "Школа № 12, актовый зал", "language": "ru"}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    let (s, body) = call(
        &node_app,
        "POST",
        &format!("/api/v1/meetings/{id}/notice"),
        &inspector,
        Some(json!({"channels": ["page", "print"]})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");

    // The hub's table: AST with every beat of its register, one of them noticed.
    let path = format!("/api/v1/meetings/coverage?quarter={quarter}");
    let table = tokio::time::timeout(DEADLINE, async {
        loop {
            let (s, table) = call(app, "GET", &path, hq, None).await;
            assert_eq!(s, StatusCode::OK, "{table}");
            let ast = table["regions"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["region"] == "AST")
                .cloned();
            if ast
                .as_ref()
                .is_some_and(|r| r["registered"] == true && r["counts"]["noticed"] == 1)
            {
                return table;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the beats register and the meeting reached HQ");
    assert_eq!(table["quarter"], quarter.as_str());
    let ast = &table["regions"][0];
    assert_eq!(ast["region"], "AST");
    assert_eq!(ast["sample"], true, "the demo beats are sample data");
    assert_eq!(ast["counts"]["beats"], beats);
    assert_eq!(table["total"]["beats"], beats);
    assert_eq!(table["total"]["noticed"], 1);
    assert_eq!(table["total"]["held"], 0);

    let (s, region) = call(
        app,
        "GET",
        &format!("/api/v1/meetings/coverage/AST?quarter={quarter}"),
        hq,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{region}");
    assert_eq!(region["beats"].as_array().unwrap().len() as u64, beats);
    let b = region["beats"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["code"] == "saryarka-01")
        .unwrap();
    assert_eq!(b["coverage"]["state"], "noticed", "{b}");
    assert_eq!(b["meetings"][0]["id"], id.as_str());
    assert_eq!(b["meetings"][0]["stage"], "noticed");

    // Bad input gets a code a person can act on.
    let (s, body) = call(
        app,
        "GET",
        "/api/v1/meetings/coverage?quarter=2026-Q5",
        hq,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["code"], "meeting_bad_quarter");
    let (s, body) = call(app, "GET", "/api/v1/meetings/coverage/ZZZ", hq, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["code"], "region_unknown");
    let (s, _) = call(app, "GET", "/api/v1/meetings/coverage", "", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

/// A region whose server was stolen or died is revoked at HQ: once the hub's bundle holds the
/// new revocation list, the region's old certificate is refused at its next handshake, without
/// restarting the hub, while the region's re-issued certificate is accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_region_revoked_at_hq_is_refused_without_restarting_the_hub_and_its_new_bundle_is_accepted(
) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let serving = common::start_hub(root).await;
    let crl_path = serving.bundle.join(provisioning::bundle_files::CRL);
    let identity = provisioning::load_identity(&serving.bundle).unwrap();
    let (_stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(server_kit::replication::watch_crl(
        serving.endpoint.clone(),
        crl_path.clone(),
        Duration::from_millis(20),
        stop_rx,
        "regions",
        move |path| central::server::regions_tls_config(&identity, Some(path)),
    ));
    let region_settings = |port: u16| RegionSettings {
        id: RegionId::parse("AST").unwrap(),
        name_kk: RegionName::parse("name-kk", "Астана қаласы ПД").unwrap(),
        name_ru: RegionName::parse("name-ru", "ДП города Астаны").unwrap(),
        central: CentralAddress::parse(&format!("localhost:{port}")).unwrap(),
        valid_days: ValidDays::for_peer(730).unwrap(),
    };
    let old = root.join("ast-old");
    provisioning::add_region(
        &serving.ca,
        &old,
        &region_settings(serving.port),
        serving.now,
        &mut OsRng,
        &mut Silent,
    )
    .unwrap();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{}", serving.port).parse().unwrap();
    // Refused: the handshake fails, or the hub's TLS alert closes the connection right after
    // the client's side of it completed. An accepted connection stays open, waiting for a Hello.
    let refused = |bundle: std::path::PathBuf| async move {
        let identity = provisioning::load_identity(&bundle).unwrap();
        let mut client = quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
        client
            .set_default_client_config(provisioning::tls::quinn_client_config(&identity).unwrap());
        match client.connect(addr, "localhost").unwrap().await {
            Err(_) => true,
            Ok(conn) => tokio::time::timeout(Duration::from_secs(1), conn.closed())
                .await
                .is_ok(),
        }
    };
    assert!(
        !refused(old.clone()).await,
        "the region's certificate is accepted before it is revoked"
    );

    provisioning::revoke(
        &serving.ca,
        &provisioning::RevokeTarget::Region(RegionId::parse("AST").unwrap()),
        Some("the region's server was stolen"),
        time::OffsetDateTime::now_utc(),
        &mut Silent,
    )
    .unwrap();
    std::fs::copy(serving.ca.join("crl.pem"), &crl_path).unwrap();
    let new = root.join("ast-new");
    provisioning::add_region(
        &serving.ca,
        &new,
        &region_settings(serving.port),
        time::OffsetDateTime::now_utc(),
        &mut OsRng,
        &mut Silent,
    )
    .unwrap();
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while !refused(old.clone()).await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the revoked certificate is still accepted after {DEADLINE:?}"
        );
    }
    assert!(!refused(new).await, "the region's new bundle is accepted");
}
