//! A region's node and a unit's terminal over a perfect in-memory stream: authority by
//! document. The terminal writes only its unit's field documents, never the pack; the node
//! offers a unit only that unit's documents.

use automerge::{ActorId, AutoCommit};
use sync::field::{
    FieldDocId, FieldEntry, FieldEntryBody, FieldLogDoc, FieldPart, FieldStatus, PackMeta,
    TrackDoc, UnitPackDoc, UnitPosition,
};
use sync::protocol::{
    Authority, Config, Event, MemRepo, Priority, ProtocolError, RejectReason, Repo, Session,
};
use sync::Document;

const NOW: i64 = 1_796_000_000_000;

fn unit(u: &str) -> Authority {
    Authority::Unit {
        region: "AST".into(),
        unit: u.into(),
    }
}

fn id(u: &str, part: FieldPart) -> String {
    FieldDocId::new("AST", u, part).unwrap().to_string()
}

fn log_with_status(u: &str, actor: u8) -> AutoCommit {
    let mut log = FieldLogDoc::create(ActorId::from(vec![actor; 16]), u, "2026-12-05").unwrap();
    log.append(
        &FieldEntry {
            id: format!("e-{u}-1"),
            at_ms: NOW - 60_000,
            by: "officer1".into(),
            card_id: Some("c1".into()),
            body: FieldEntryBody::Status {
                status: FieldStatus::OnScene,
            },
        },
        NOW,
    )
    .unwrap();
    std::mem::take(log.automerge())
}

fn pack(u: &str) -> AutoCommit {
    let mut p = UnitPackDoc::create(ActorId::from(vec![9; 16]), u).unwrap();
    p.set_meta(&PackMeta {
        unit_id: u.into(),
        call_sign: "Беркут-11".into(),
        region: "AST".into(),
        expires_at_ms: NOW + 3_600_000,
        revoked: false,
        post: None,
    })
    .unwrap();
    std::mem::take(p.automerge())
}

struct Pair {
    node_repo: MemRepo,
    unit_repo: MemRepo,
    node: Session,
    terminal: Session,
    node_events: Vec<Event>,
    terminal_events: Vec<Event>,
}

impl Pair {
    fn new(node_repo: MemRepo, unit_repo: MemRepo, terminal_unit: &str) -> Pair {
        let (mut node_repo, mut unit_repo) = (node_repo, unit_repo);
        let node = Session::new(
            Config::default(),
            Authority::Region("AST".into()),
            unit(terminal_unit),
            &mut node_repo,
            0,
        )
        .unwrap();
        let terminal = Session::new(
            Config::default(),
            unit(terminal_unit),
            Authority::Region("AST".into()),
            &mut unit_repo,
            0,
        )
        .unwrap();
        Pair {
            node_repo,
            unit_repo,
            node,
            terminal,
            node_events: vec![],
            terminal_events: vec![],
        }
    }

    fn run(&mut self) -> Result<(), ProtocolError> {
        let mut now = 0;
        loop {
            now += 1;
            let mut moved = false;
            while let Some(f) = self.terminal.poll_transmit() {
                moved = true;
                self.node.handle_frame(&mut self.node_repo, &f, now)?;
            }
            while let Some(f) = self.node.poll_transmit() {
                moved = true;
                self.terminal.handle_frame(&mut self.unit_repo, &f, now)?;
            }
            while let Some(e) = self.node.poll_event() {
                self.node_events.push(e);
            }
            while let Some(e) = self.terminal.poll_event() {
                self.terminal_events.push(e);
            }
            if !moved {
                return Ok(());
            }
        }
    }
}

fn node_repo() -> MemRepo {
    let mut repo = MemRepo::new([1; 16]);
    repo.put(&id("p01", FieldPart::Pack), pack("p01"), Priority::Active);
    repo.put(&id("p02", FieldPart::Pack), pack("p02"), Priority::Active);
    repo.put(
        &id(
            "p02",
            FieldPart::Log {
                date: "2026-12-05".into(),
            },
        ),
        log_with_status("p02", 2),
        Priority::Active,
    );
    // A card of the region: never a unit's to receive whole.
    repo.put("AST/card/c1", AutoCommit::new(), Priority::Active);
    repo
}

#[test]
fn r20_a_units_log_and_track_reach_the_node_and_its_pack_reaches_the_terminal_only() {
    let mut terminal = MemRepo::new([7; 16]);
    let log_id = id(
        "p01",
        FieldPart::Log {
            date: "2026-12-05".into(),
        },
    );
    terminal.put(&log_id, log_with_status("p01", 7), Priority::Active);
    let mut track = TrackDoc::create(ActorId::from(vec![7; 16]), "p01", "2026-12-05").unwrap();
    track
        .append(
            &[UnitPosition {
                at_ms: NOW - 1000,
                lat: 51.128,
                lon: 71.43,
                accuracy_m: Some(8.0),
                speed_kmh: Some(35.0),
                heading_deg: Some(90),
            }],
            NOW,
        )
        .unwrap();
    let track_id = id(
        "p01",
        FieldPart::Track {
            date: "2026-12-05".into(),
        },
    );
    terminal.put(
        &track_id,
        std::mem::take(track.automerge()),
        Priority::Normal,
    );

    let mut p = Pair::new(node_repo(), terminal, "p01");
    p.run().unwrap();
    assert!(p.node_repo.docs.contains_key(&log_id));
    assert!(p.node_repo.docs.contains_key(&track_id));
    assert!(p.unit_repo.docs.contains_key(&id("p01", FieldPart::Pack)));
    // Nothing of another unit, and no card, reaches this terminal.
    let got: Vec<&String> = p.unit_repo.docs.keys().collect();
    assert!(
        got.iter().all(|d| d.starts_with("AST/field/p01~")),
        "{got:?}"
    );
    assert!(p
        .node_events
        .iter()
        .all(|e| !matches!(e, Event::RejectedIncoming { .. })));
}

#[test]
fn r20_the_node_refuses_a_units_changes_to_its_pack_and_another_units_documents() {
    let mut terminal = MemRepo::new([7; 16]);
    // A tampered terminal: edits its pack and forges another unit's log.
    terminal.put(&id("p01", FieldPart::Pack), pack("p01"), Priority::Active);
    let forged = id(
        "p02",
        FieldPart::Log {
            date: "2026-12-05".into(),
        },
    );
    terminal.put(&forged, log_with_status("p02", 66), Priority::Active);
    let before_pack = p_heads(&mut node_repo(), &id("p01", FieldPart::Pack));

    // The session itself never offers them (authority by document) ...
    let mut p = Pair::new(node_repo(), terminal, "p01");
    p.run().unwrap();
    assert_eq!(
        p_heads(&mut p.node_repo, &id("p01", FieldPart::Pack)),
        before_pack
    );
    // ... and when a tampered build sends them anyway, the node refuses and says why.
    let mut terminal = MemRepo::new([8; 16]);
    terminal.put(&id("p01", FieldPart::Pack), pack("p01"), Priority::Active);
    terminal.put(&forged, log_with_status("p02", 66), Priority::Active);
    let mut node = node_repo();
    let mut s = Session::new(
        Config::default(),
        Authority::Region("AST".into()),
        unit("p01"),
        &mut node,
        0,
    )
    .unwrap();
    // A tampered terminal's frames: a proper Hello, then a Docs batch its own session would
    // never send.
    let hello = Session::new(
        Config::default(),
        unit("p01"),
        Authority::Region("AST".into()),
        &mut MemRepo::new([8; 16]),
        0,
    )
    .unwrap()
    .poll_transmit()
    .unwrap();
    s.handle_frame(&mut node, &hello, 1).unwrap();
    while s.poll_transmit().is_some() {}
    let docs = sync::protocol::wire::Message::Docs(sync::protocol::wire::DocBatch {
        batch: 0,
        entries: vec![
            entry(&mut terminal, &id("p01", FieldPart::Pack)),
            entry(&mut terminal, &forged),
        ],
    });
    let frame = sync::protocol::encode_frame(&sync::protocol::Frame {
        seq: 1,
        message: docs,
    });
    s.handle_frame(&mut node, &frame, 3).unwrap();
    let mut rejected = Vec::new();
    while let Some(e) = s.poll_event() {
        if let Event::RejectedIncoming { doc_id, reason, .. } = e {
            rejected.push((doc_id, reason));
        }
    }
    assert_eq!(
        rejected,
        vec![
            (id("p01", FieldPart::Pack), RejectReason::NotYourDocument),
            (forged.clone(), RejectReason::NotYourDocument)
        ]
    );
    assert_eq!(p_heads(&mut node, &id("p01", FieldPart::Pack)), before_pack);
    let forged_heads = p_heads(&mut node, &forged);
    assert_eq!(
        forged_heads,
        p_heads(&mut node_repo(), &forged),
        "p02's log untouched"
    );
}

fn entry(repo: &mut MemRepo, doc_id: &str) -> sync::protocol::wire::DocEntry {
    sync::protocol::wire::DocEntry {
        doc_id: doc_id.into(),
        heads: repo.heads(doc_id).unwrap(),
        bytes: repo.export(doc_id, &[]).unwrap(),
        priority: Some(Priority::Active),
    }
}

fn p_heads(repo: &mut MemRepo, doc_id: &str) -> Option<Vec<automerge::ChangeHash>> {
    repo.heads(doc_id)
}

#[test]
fn r20_a_terminal_reassigned_to_another_unit_gets_only_the_new_units_data() {
    let mut p = Pair::new(node_repo(), MemRepo::new([7; 16]), "p02");
    p.run().unwrap();
    let got: Vec<&String> = p.unit_repo.docs.keys().collect();
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(
        got.iter().all(|d| d.starts_with("AST/field/p02~")),
        "{got:?}"
    );
}

#[test]
fn a_unit_pairs_only_with_its_own_regions_node() {
    let mut repo = MemRepo::new([1; 16]);
    for (a, b) in [
        (Authority::Region("ALM".into()), unit("p01")),
        (Authority::Central, unit("p01")),
        (unit("p01"), Authority::Central),
        (unit("p01"), unit("p02")),
    ] {
        let err = Session::new(Config::default(), a, b, &mut repo, 0).unwrap_err();
        assert!(matches!(err, ProtocolError::InvalidPairing(_)), "{err}");
    }
}
