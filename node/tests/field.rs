//! A field unit's terminal (FieldTerminal) and its region's node over real QUIC with mutual TLS:
//! what the officer tapped and wrote while cut off reaches the card with its original times,
//! the unit's offline safety pack reaches the terminal, positions reach the map, and a terminal
//! that died with its store is rebuilt from the node.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use node::config::Config;
use node::replication::{drive, DriveInputs};
use node::server::open_node;
use provisioning::progress::Silent;
use provisioning::settings::{NodeAddress, RegionId, UnitId, UnitSettings, ValidDays};
use rand::rngs::OsRng;
use sync::field::{
    field_day, FieldDocId, FieldEntry, FieldEntryBody, FieldLogDoc, FieldPart, FieldStatus,
    PatrolReport, PersonRole, ReportOutcome, ReportPerson, TrackDoc, UnitPackDoc, UnitPosition,
};
use sync::protocol::{Authority, Config as ProtocolConfig, MemRepo, Priority, Repo, Session};
use sync::Document;
use time::OffsetDateTime;
use tokio::sync::{mpsc, watch};

const DEADLINE: Duration = Duration::from_secs(30);

async fn until<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    tokio::time::timeout(DEADLINE, async {
        loop {
            if let Some(v) = f() {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{what}: not reached before the deadline"))
}

fn report() -> PatrolReport {
    PatrolReport {
        established: "Семейный конфликт в кв. 12, телесных повреждений нет".into(),
        measures: "Проведена профилактическая беседа, составлен протокол".into(),
        persons: vec![ReportPerson {
            role: PersonRole::Offender,
            surname: Some("Серіков".into()),
            name: Some("Ержан".into()),
            birth_year: Some(1990),
            iin: None,
            note: None,
        }],
        vehicles: vec![],
        outcome: ReportOutcome::ProtocolDrawn,
        photos: vec![],
    }
}

fn entry(id: &str, at_ms: i64, card_id: &str, body: FieldEntryBody) -> FieldEntry {
    FieldEntry {
        id: id.into(),
        at_ms,
        by: "patrol1".into(),
        card_id: Some(card_id.into()),
        body,
    }
}

/// A CA in `root`, region AST's bundle and unit p01's bundle from it.
fn bundles(root: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let ca = common::test_ca(root);
    let now = OffsetDateTime::now_utc();
    let region = root.join("ast");
    provisioning::add_region(
        &ca,
        &region,
        &common::ast_region_settings(),
        now,
        &mut OsRng,
        &mut Silent,
    )
    .unwrap();
    let unit_bundle = root.join("p01");
    provisioning::add_unit(
        &ca,
        &unit_bundle,
        &UnitSettings::new(
            RegionId::parse("AST").unwrap(),
            UnitId::parse("p01").unwrap(),
            NodeAddress::parse("127.0.0.1:7103").unwrap(),
            ValidDays::for_unit(30).unwrap(),
        ),
        now,
        &mut OsRng,
        &mut Silent,
    )
    .unwrap();
    (ca, region, unit_bundle)
}

/// Unit p01's terminal, holding `repo`, dials the node at `addr` and replicates in the
/// background; the connection.
async fn dial_terminal(
    client: &quinn::Endpoint,
    addr: std::net::SocketAddr,
    repo: &Arc<Mutex<MemRepo>>,
) -> quinn::Connection {
    let conn = client
        .connect(addr, "ast.region.mvd102")
        .unwrap()
        .await
        .unwrap();
    let (send, recv) = conn.open_bi().await.unwrap();
    let session = Session::new(
        ProtocolConfig::default(),
        Authority::Unit {
            region: "AST".into(),
            unit: "p01".into(),
        },
        Authority::Region("AST".into()),
        &mut *repo.lock().unwrap(),
        node::http::now_ms(),
    )
    .unwrap();
    let repo = repo.clone();
    tokio::spawn(async move {
        let (_tx, mut changes) = mpsc::channel::<String>(4);
        let (_stop, mut stop) = watch::channel(false);
        drive(
            (send, recv),
            session,
            &*repo,
            DriveInputs {
                local_changes: &mut changes,
                shutdown: &mut stop,
                frame_bytes_max: 4 << 20,
            },
            |_| {},
        )
        .await
    });
    conn
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r20_r34_what_a_terminal_wrote_offline_reaches_the_card_with_its_original_times() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let (_ca, region, unit_bundle) = bundles(root);

    let overlay = node::bundle::check_region_bundle(&region).unwrap();
    let mut config = Config::load_layers(&[overlay.as_path()]).unwrap();
    config.accounts.argon2_memory_kib = 1024;
    let node = open_node(&config, &root.join("data"), Some("admin-password-1".into()))
        .await
        .unwrap();
    let service = node.state.service.clone();
    let t_now = node::http::now_ms();
    let card = service
        .create_card(
            "op1",
            &serde_json::from_value(serde_json::json!({
                "channel": "app102_call", "location": {"lat": 51.128, "lon": 71.42, "address": "пр. Абая 52"},
                "description": "Шум, драка в квартире", "category": "assault"
            }))
            .unwrap(),
            t_now - 20 * 60_000,
        )
        .await
        .unwrap();
    service
        .apply(
            "op1",
            &card.id,
            sync::CardCommand::SendForProcessing,
            t_now - 19 * 60_000,
        )
        .await
        .unwrap();
    service
        .dispatch("disp1", &card.id, "p01", false, t_now - 15 * 60_000)
        .await
        .unwrap();

    // The node's field listener, checking the CA's revocation list.
    let identity = provisioning::load_identity(&region).unwrap();
    let endpoint = node::field::listener::bind(
        "127.0.0.1:0".parse().unwrap(),
        &identity,
        Some(&region.join("crl.pem")),
    )
    .unwrap();
    let addr = endpoint.local_addr().unwrap();
    let (_stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(node::field::listener::serve(
        endpoint,
        service.clone(),
        node.gc.clone(),
        stop_rx,
    ));

    // The terminal, cut off: the officer taps en route, on scene, files the report; the car
    // reports positions. All of it is written locally first, at the times it happened.
    let t0 = t_now - 10 * 60_000;
    let mut terminal = MemRepo::new([7; 16]);
    let day = field_day(t0);
    let mut log = FieldLogDoc::create(automerge::ActorId::random(), "p01", &day).unwrap();
    for e in [
        entry(
            "e1",
            t0,
            &card.id,
            FieldEntryBody::Status {
                status: FieldStatus::Acknowledged,
            },
        ),
        entry(
            "e2",
            t0 + 60_000,
            &card.id,
            FieldEntryBody::Status {
                status: FieldStatus::EnRoute,
            },
        ),
        entry(
            "e3",
            t0 + 300_000,
            &card.id,
            FieldEntryBody::Status {
                status: FieldStatus::OnScene,
            },
        ),
        entry(
            "e4",
            t0 + 500_000,
            &card.id,
            FieldEntryBody::Report { report: report() },
        ),
    ] {
        log.append(&e, t_now).unwrap();
    }
    let log_id = FieldDocId::new("AST", "p01", FieldPart::Log { date: day.clone() })
        .unwrap()
        .to_string();
    terminal.put(&log_id, std::mem::take(log.automerge()), Priority::Active);
    let mut track = TrackDoc::create(automerge::ActorId::random(), "p01", &day).unwrap();
    let fix = UnitPosition {
        at_ms: t0 + 290_000,
        lat: 51.1279,
        lon: 71.4198,
        accuracy_m: Some(5.0),
        speed_kmh: Some(0.0),
        heading_deg: None,
    };
    track.append(&[fix], t_now).unwrap();
    let track_id = FieldDocId::new("AST", "p01", FieldPart::Track { date: day })
        .unwrap()
        .to_string();
    terminal.put(
        &track_id,
        std::mem::take(track.automerge()),
        Priority::Normal,
    );

    // The link comes back: the terminal dials its node.
    let unit = provisioning::load_unit_identity(&unit_bundle).unwrap();
    let mut client = quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
    client.set_default_client_config(
        provisioning::tls::quinn_field_client_config(&unit.identity).unwrap(),
    );
    let terminal = Arc::new(Mutex::new(terminal));
    let conn = dial_terminal(&client, addr, &terminal).await;

    // The card says what the officer did, when the officer did it.
    let card = until("the entries applied to the card", || {
        let c = service.get_card(&card.id).ok()?;
        (c.patrol_reports.len() == 1 && c.units[0].on_scene_at.is_some()).then_some(c)
    })
    .await;
    let u = &card.units[0];
    assert_eq!(u.en_route_at, Some(t0 + 60_000));
    assert_eq!(u.on_scene_at, Some(t0 + 300_000));
    let r = &card.patrol_reports[0];
    assert_eq!(
        (r.at_ms, r.unit_id.as_str(), r.by.as_str()),
        (t0 + 500_000, "p01", "patrol1")
    );
    assert_eq!(r.report, report());
    assert!(card
        .timeline
        .iter()
        .any(|e| e.kind == "unit_acknowledged" && e.at == t0));
    assert!(card
        .timeline
        .iter()
        .any(|e| e.kind == "patrol_report" && e.at == t0 + 500_000));
    assert!(card
        .patrol_report
        .as_deref()
        .unwrap()
        .starts_with("Семейный конфликт"));
    // Applied once, however often the log arrives again.
    let before = card.timeline.len();
    for (u, e) in service
        .field()
        .recent_entries(node::http::now_ms())
        .unwrap()
    {
        service
            .apply_field_entry(&u, &e, node::http::now_ms())
            .await
            .unwrap();
    }
    assert_eq!(service.get_card(&card.id).unwrap().timeline.len(), before);

    // The map knows where the unit is.
    let latest = until("the unit's position", || {
        service.field().latest_positions().get("p01").copied()
    })
    .await;
    assert_eq!(latest.at_ms, fix.at_ms);

    // The terminal got its pack: its card with the address, the caller's details and status.
    let pack_id = FieldDocId::new("AST", "p01", FieldPart::Pack)
        .unwrap()
        .to_string();
    let pack = until("the pack on the terminal", || {
        let mut t = terminal.lock().unwrap();
        let bytes = t.export(&pack_id, &[]).ok()?;
        let pack = UnitPackDoc::load([bytes.as_slice()]).ok()?.view().ok()?;
        pack.assignments
            .first()
            .filter(|a| a.status == "on_scene")
            .cloned()
            .map(|_| pack)
    })
    .await;
    let a = &pack.assignments[0];
    assert_eq!(a.card_id, card.id);
    assert_eq!(
        a.location.as_ref().and_then(|l| l.address.as_deref()),
        Some("пр. Абая 52")
    );
    assert_eq!(
        pack.meta.as_ref().unwrap().call_sign,
        card.units[0].call_sign
    );
    // Nothing but p01's documents went to the terminal.
    assert!(terminal
        .lock()
        .unwrap()
        .docs
        .keys()
        .all(|k| k.starts_with("AST/field/p01~")));

    // The terminal dies with its store (a broken MDT replaced by a new one with the unit's
    // bundle): the new terminal, a fresh store of its own, is rebuilt from the node: the pack
    // and everything the old one wrote and the node acknowledged (its log, its track).
    conn.close(0u32.into(), b"terminal replaced");
    let rebuilt = Arc::new(Mutex::new(MemRepo::new([8; 16])));
    let _conn = dial_terminal(&client, addr, &rebuilt).await;
    let entries = until("the rebuilt terminal's log from the node", || {
        let mut t = rebuilt.lock().unwrap();
        let bytes = t.export(&log_id, &[]).ok()?;
        let entries = FieldLogDoc::load([bytes.as_slice()]).ok()?.entries().ok()?;
        (entries.len() == 4).then_some(entries)
    })
    .await;
    assert_eq!(
        entries.iter().map(|e| e.at_ms).collect::<Vec<_>>(),
        vec![t0, t0 + 60_000, t0 + 300_000, t0 + 500_000],
        "every entry the old terminal wrote, at its original time"
    );
    until("the rebuilt terminal's pack and track", || {
        let mut t = rebuilt.lock().unwrap();
        let pack = t.export(&pack_id, &[]).ok()?;
        let pack = UnitPackDoc::load([pack.as_slice()]).ok()?.view().ok()?;
        t.export(&track_id, &[]).ok()?;
        pack.assignments
            .first()
            .filter(|a| a.card_id == card.id)
            .map(|_| ())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r20_a_stolen_terminal_is_refused_once_hq_revokes_it_without_restarting_the_node() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let (ca, region, unit_bundle) = bundles(root);
    let crl = region.join("crl.pem");
    let identity = provisioning::load_identity(&region).unwrap();
    let endpoint =
        node::field::listener::bind("127.0.0.1:0".parse().unwrap(), &identity, Some(&crl)).unwrap();
    let addr = endpoint.local_addr().unwrap();
    let (_stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(node::field::listener::watch_crl(
        endpoint.clone(),
        provisioning::load_identity(&region).unwrap(),
        crl.clone(),
        Duration::from_millis(50),
        stop_rx,
    ));
    // The node side only accepts (the handshake is what is checked here).
    tokio::spawn(async move {
        while let Some(incoming) = endpoint.accept().await {
            tokio::spawn(async move {
                if let Ok(conn) = incoming.await {
                    conn.closed().await;
                }
            });
        }
    });
    let unit = provisioning::load_unit_identity(&unit_bundle).unwrap();
    let mut client = quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
    client.set_default_client_config(
        provisioning::tls::quinn_field_client_config(&unit.identity).unwrap(),
    );
    let dial = |client: quinn::Endpoint| async move {
        match client.connect(addr, "ast.region.mvd102").unwrap().await {
            Err(e) => Err(e),
            Ok(conn) => {
                // TLS 1.3: the node's verdict on the client certificate may come after.
                match tokio::time::timeout(Duration::from_millis(500), conn.closed()).await {
                    Ok(e) => Err(e),
                    Err(_) => Ok(()),
                }
            }
        }
    };
    assert!(
        dial(client.clone()).await.is_ok(),
        "the unit connects before it is revoked"
    );

    // HQ revokes the stolen terminal's certificate; the installer copies the new CRL over the
    // node's. The next handshake is refused, and the terminal can tell why (it wipes itself).
    provisioning::revoke(
        &ca,
        &provisioning::RevokeTarget::Unit {
            region: RegionId::parse("AST").unwrap(),
            unit: UnitId::parse("p01").unwrap(),
        },
        Some("terminal stolen"),
        OffsetDateTime::now_utc(),
        &mut Silent,
    )
    .unwrap();
    std::fs::copy(ca.join(provisioning::ca_files::CRL), &crl).unwrap();
    let err = tokio::time::timeout(DEADLINE, async {
        loop {
            if let Err(e) = dial(client.clone()).await {
                return e;
            }
        }
    })
    .await
    .expect("the revoked unit is refused before the deadline");
    assert!(provisioning::tls::is_certificate_revoked(&err), "{err:?}");
}
