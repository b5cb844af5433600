//! Deterministic simulation of nodes and the central hub replicating over a faulty network.
//!
//! In the style of iroh-gossip's `proto::sim` and TigerBeetle's VOPR: one seed drives everything
//! (per-peer and network RNGs derived from it), time is virtual, events sit in an ordered queue.
//! A fault phase (loss, duplication, reordering, delay, partitions, crash-restart of nodes and
//! the hub, drifting clocks, a compromised node writing another region's cards, a node on an
//! older protocol version) is followed by a fault-free phase after which every replica must
//! hold identical documents. Invariants checked by [`run_seed`]:
//! - convergence: for each region, the node and the hub hold the same documents with the same
//!   heads;
//! - no lost write: every change any peer made is in the hub's copy and the region's node's;
//! - quiescence: at the end every open session has nothing queued and nothing in flight, so
//!   converged documents are not sent back and forth for ever;
//! - write authority: the hub never accepts a document of region X from the node of region Y,
//!   nor a national document from any node, and a node never accepts another region's document;
//! - national documents: every national document the hub writes (the working-day calendar) reaches
//!   every node speaking protocol v4, a node cut off while the hub changed them included, and a
//!   node on an older version is never offered one;
//! - no stall: no session ever leaves a link for a stall (changes pending, the peer's frames
//!   arriving, and no documents or acknowledgements moving): every fault here either breaks the
//!   connection or only delays it;
//! - field units: a unit's terminal (FieldTerminal) linked to its region's node under the same
//!   faults (and partitions of its own) writes its field documents (status log, track, photos)
//!   and a few forged ones (another unit's log, a card); the node writes the unit's pack and
//!   another unit's. At the end the terminal holds exactly its unit's documents, the same as the
//!   node; the node and the hub hold everything the terminal wrote; nothing of another unit
//!   reaches the terminal, and no forged document lands on the node or the hub.
//!
//! The network models a QUIC connection per node: frames of one connection are meant to arrive
//! in order, so any loss, duplicate or reordering the simulation injects breaks the connection
//! (the session reports it) and the node reconnects; frames of a dead connection are dropped.
//!
//! Real QUIC does not turn a short outage into a broken connection: it retransmits, and a
//! partition shorter than its idle timeout only makes frames late. So the network also injects
//! **blips**: a link's frames, both ways, are held until the blip ends and then delivered in
//! order, on the same connection, while the node and the hub both write on the same documents
//! (twice, so that each side's second write waits behind its first batch). Blips are shorter
//! than the sessions' acknowledgement and idle timeouts, so they never cause a reconnect, and
//! they also happen after the fault phase, on the fault-free connections that must converge.

use std::collections::{BTreeMap, BTreeSet};

use automerge::{ActorId, AutoCommit, ChangeHash};

use crate::card::{CardCommand, CardDoc};
use crate::doc::{Ctx, Document};
use crate::doc_id::NATIONAL;
use crate::field::{
    field_day, field_doc_prefix, FieldDocId, FieldEntry, FieldEntryBody, FieldLogDoc, FieldPart,
    FieldPhotoDoc, FieldStatus, PackMeta, TrackDoc, UnitPackDoc, UnitPosition,
};
use crate::model::{Caller, CardCreate, CardEdit, Channel, Seen};
use crate::protocol::wire::{Frame, Message};
use crate::protocol::{
    region_prefix, Authority, Config, Event, MemRepo, Priority, Repo, Session,
    VERSION_NATIONAL_DOCS,
};
use crate::reference::{CallCategory, Reference, RegionInfo};

/// Small deterministic RNG (SplitMix64): no dependency, identical on every platform.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1).max(1) as u64) as i64
    }
    pub fn chance_per_mille(&mut self, per_mille: u32) -> bool {
        self.below(1000) < u64::from(per_mille)
    }
    /// An independent stream for a sub-component.
    pub fn fork(&mut self, salt: u64) -> Rng {
        Rng(self.next_u64() ^ salt.wrapping_mul(0xD6E8_FEB8_6659_FD93))
    }
}

/// Parameters of one simulated run. Probabilities are per mille, times are virtual ms.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// One node per region, plus the hub.
    pub regions: Vec<String>,
    /// Local writes (cards created or edited on nodes, notes added at the hub) in the fault phase.
    pub writes: usize,
    pub fault_phase_ms: i64,
    pub liveness_phase_ms: i64,
    pub latency_ms_min: i64,
    pub latency_ms_max: i64,
    pub loss_per_mille: u32,
    pub duplicate_per_mille: u32,
    pub reorder_per_mille: u32,
    /// Partitions of one node from the hub during the fault phase.
    pub partitions: usize,
    pub partition_ms_max: i64,
    /// Blips (frames held, then delivered on the same connection) during the fault phase.
    pub blips: usize,
    /// Blips per link after the fault phase, on its fault-free connection.
    pub blips_after_faults_per_link: usize,
    pub blip_ms_min: i64,
    /// Must stay below the sessions' `ack_timeout_ms` and `idle_timeout_ms` by two latencies:
    /// a blip delays, it never breaks a connection.
    pub blip_ms_max: i64,
    /// Rounds of writes on the same documents by both the node and the hub during a blip.
    pub blip_write_rounds: usize,
    /// Documents both sides write on in each round.
    pub blip_docs: usize,
    /// Crash-restarts (of a random node or the hub) during the fault phase.
    pub crashes: usize,
    pub downtime_ms_max: i64,
    pub clock_offset_ms_max: i64,
    pub clock_skew_ppm_max: i64,
    /// The last region's node has a tampered catalogue and writes the first region's cards.
    pub rogue_node: bool,
    /// The first region's node is an older build speaking protocol v1 only.
    pub old_version_node: bool,
    /// Writes at the hub on national documents (created or changed) in the fault phase.
    pub national_writes: usize,
    /// One node (not the old-version one) is partitioned for `partition_ms_max` in the middle of
    /// the fault phase while the hub writes this many more national changes.
    pub national_writes_while_cut_off: usize,
    /// Field units' terminals, each linked to the node of the first region that is neither the
    /// old-version nor the compromised one (0: none).
    pub unit_terminals: usize,
    /// Writes of each terminal on its unit's documents in the fault phase.
    pub unit_writes: usize,
    /// Forged writes of each terminal (another unit's log, a card): the node must refuse them.
    pub unit_forged_writes: usize,
    /// Partitions of each terminal's link during the fault phase.
    pub unit_partitions: usize,
    /// Pack writes of the node for each terminal's unit (and once for another unit).
    pub unit_pack_writes: usize,
    pub session: Config,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            regions: vec!["AST".into(), "ALM".into(), "SHY".into()],
            writes: 30,
            fault_phase_ms: 20_000,
            liveness_phase_ms: 30_000,
            latency_ms_min: 2,
            latency_ms_max: 60,
            loss_per_mille: 8,
            duplicate_per_mille: 5,
            reorder_per_mille: 10,
            partitions: 2,
            partition_ms_max: 4_000,
            blips: 3,
            blips_after_faults_per_link: 1,
            blip_ms_min: 500,
            blip_ms_max: 2_000,
            blip_write_rounds: 2,
            blip_docs: 2,
            crashes: 2,
            downtime_ms_max: 3_000,
            clock_offset_ms_max: 3_600_000,
            clock_skew_ppm_max: 2_000,
            rogue_node: true,
            old_version_node: true,
            national_writes: 8,
            national_writes_while_cut_off: 3,
            unit_terminals: 1,
            unit_writes: 12,
            unit_forged_writes: 2,
            unit_partitions: 1,
            unit_pack_writes: 3,
            session: Config {
                batch_bytes_max: 4 * 1024,
                messages_in_flight_max: 2,
                frame_bytes_max: 64 * 1024,
                handshake_timeout_ms: 2_000,
                ack_timeout_ms: 3_000,
                keepalive_interval_ms: 1_000,
                idle_timeout_ms: 4_000,
                probe_interval_ms: 300,
                stall_detect_ms: 2_500,
                ..Config::default()
            },
        }
    }
}

/// What a run did, for the report line and for tuning.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimReport {
    pub seed: u64,
    pub writes: u64,
    pub docs_at_central: u64,
    pub frames_delivered: u64,
    pub frames_dropped: u64,
    pub bytes_delivered: u64,
    pub connections: u64,
    /// Connection errors by kind (close code), e.g. out-of-order after an injected fault.
    pub connection_errors: BTreeMap<u8, u64>,
    pub crashes: u64,
    pub partitions: u64,
    /// Blips that held a live connection's frames.
    pub blips: u64,
    /// Writes made by both sides on the same documents during blips.
    pub blip_writes: u64,
    /// Documents the hub refused from the compromised node.
    pub rejected_at_central: u64,
    /// National documents the hub wrote, and of them while a node was cut off.
    pub national_writes: u64,
    pub national_writes_while_cut_off: u64,
    /// Stalls sessions reported (silent links during partitions; never a teardown).
    pub stalls_reported: u64,
    /// Writes of units' terminals on their documents, and forged ones.
    pub unit_writes: u64,
    pub unit_forged_writes: u64,
    /// Documents the nodes refused from units' terminals.
    pub rejected_from_units: u64,
    /// Connections of units' terminals to their nodes.
    pub unit_connections: u64,
    pub end_ms: i64,
}

#[derive(Debug, Clone)]
enum Ev {
    Deliver {
        link: usize,
        conn: u64,
        to_central: bool,
        bytes: Vec<u8>,
    },
    Timer {
        link: usize,
        conn: u64,
        central_side: bool,
    },
    Connect {
        link: usize,
    },
    Write {
        peer: usize,
    },
    /// The hub writes a national document.
    NationalWrite {
        /// Counted as written while this link is cut off, if it still is.
        cut_off: Option<usize>,
    },
    Crash {
        peer: usize,
    },
    Restart {
        peer: usize,
    },
    Partition {
        link: usize,
        until_ms: i64,
    },
    Heal {
        link: usize,
    },
    Blip {
        link: usize,
        until_ms: i64,
    },
    /// Both sides of a link write on the same documents during the blip that ends at
    /// `until_ms` (nothing if that blip did not happen).
    BlipWrite {
        link: usize,
        until_ms: i64,
    },
    FaultPhaseEnd,
    UnitDeliver {
        term: usize,
        conn: u64,
        to_node: bool,
        bytes: Vec<u8>,
    },
    UnitTimer {
        term: usize,
        conn: u64,
        node_side: bool,
    },
    UnitConnect {
        term: usize,
    },
    UnitWrite {
        term: usize,
        forged: bool,
    },
    UnitPartition {
        term: usize,
        until_ms: i64,
    },
    UnitHeal {
        term: usize,
    },
    PackWrite {
        term: usize,
    },
}

struct Peer {
    authority: Authority,
    repo: MemRepo,
    up: bool,
    incarnation: u32,
    clock_offset_ms: i64,
    clock_skew_ppm: i64,
    rng: Rng,
    config: Config,
    cards_created: u64,
}

impl Peer {
    /// Whether this peer's sessions may carry national documents.
    fn speaks_national(&self) -> bool {
        self.config.version_max >= VERSION_NATIONAL_DOCS
    }
    fn local_ms(&self, t: i64) -> i64 {
        t + self.clock_offset_ms + t * self.clock_skew_ppm / 1_000_000
    }
    fn actor(&self, index: usize) -> ActorId {
        let mut bytes = vec![0u8; 16];
        bytes[0] = 0xA0;
        bytes[1..9].copy_from_slice(&(index as u64).to_be_bytes());
        bytes[9..13].copy_from_slice(&self.incarnation.to_be_bytes());
        ActorId::from(bytes)
    }
}

/// One node's connection to the hub: the node is peer `link + 1`, the hub is peer 0.
struct Link {
    region: String,
    conn: u64,
    node: Option<Session>,
    central: Option<Session>,
    partitioned_until_ms: Option<i64>,
    /// Frames sent before this time are delivered at it, in order (a blip).
    held_until_ms: i64,
    /// No blip starts before this: the previous one's frames and their answers have long
    /// arrived, so blips never add up to a hold longer than the timeouts.
    blip_quiet_until_ms: i64,
    /// The documents the current blip's writes go to.
    blip_docs: Vec<String>,
    /// Latest delivery time scheduled per direction, so a fault-free phase keeps order.
    last_delivery_ms: [i64; 2],
    connect_scheduled: bool,
}

/// A unit's terminal and its link to its region's node. It has its own RNGs, so the nodes' and
/// the hub's draws (and so the seeds' other faults) are as without it.
struct Terminal {
    region: String,
    unit: String,
    /// The node's peer index.
    node: usize,
    repo: MemRepo,
    rng: Rng,
    net: Rng,
    conn: u64,
    node_session: Option<Session>,
    session: Option<Session>,
    partitioned_until_ms: Option<i64>,
    last_delivery_ms: [i64; 2],
    connect_scheduled: bool,
    /// Its writes on its unit's documents: `(doc id, heads)`.
    writes: Vec<(String, Vec<ChangeHash>)>,
    /// Documents it forged (not its unit's, or not its to write).
    forged: Vec<String>,
    /// Forged documents waiting to be slipped into its next batch to the node: an honest
    /// session never offers them, so the compromised terminal adds them on the wire.
    forge_queue: Vec<String>,
    /// Forged entries on the wire: `(connection, batch, index, doc id)`; the node's answer to
    /// each is taken out of its acknowledgement before the terminal's session reads it.
    injected: Vec<(u64, u64, usize, String)>,
    /// Forged entries the node answered.
    forged_answered: u64,
    steps: u64,
}

/// Field documents are dated: the terminal's writes happen at this time plus the virtual time.
const FIELD_EPOCH_MS: i64 = 1_796_000_000_000;

struct WriteRecord {
    peer: usize,
    doc_id: String,
    heads: Vec<ChangeHash>,
    rogue: bool,
}

struct World {
    cfg: SimConfig,
    now_ms: i64,
    seq: u64,
    queue: BTreeMap<(i64, u64), Ev>,
    peers: Vec<Peer>,
    links: Vec<Link>,
    net_rng: Rng,
    faults: bool,
    next_conn: u64,
    /// Connections from this number on were opened without faults: they must never break.
    first_clean_conn: u64,
    reference: Reference,
    writes: Vec<WriteRecord>,
    violations: Vec<String>,
    report: SimReport,
    terminals: Vec<Terminal>,
}

const CENTRAL: usize = 0;

fn reference(region: &str) -> Reference {
    Reference {
        region: RegionInfo {
            code: region.into(),
            name_kk: region.into(),
            name_ru: region.into(),
        },
        districts: vec![],
        categories: vec![CallCategory {
            code: "theft".into(),
            name_kk: "Ұрлық".into(),
            name_ru: "Кража".into(),
            priority: 2,
        }],
        duty_units: vec![],
        unit_overdue_after_s: 600,
        kui_deadline_h: 24,
        shifts: Default::default(),
        services: Vec::new(),
        external_bodies: Vec::new(),
        posts: Vec::new(),
        street_aliases: Vec::new(),
        town_aliases: Vec::new(),
    }
}

/// Runs one seed; `Err` names the seed and the broken invariant.
pub fn run_seed(seed: u64, cfg: &SimConfig) -> Result<SimReport, String> {
    let mut world = World::new(seed, cfg.clone());
    world
        .run()
        .map_err(|e| format!("seed {seed}: {e} (replay: run_seed({seed}, &cfg))"))?;
    Ok(world.report)
}

impl World {
    fn new(seed: u64, cfg: SimConfig) -> World {
        let mut root = Rng::new(seed);
        let mut peers = Vec::new();
        let n = cfg.regions.len();
        for i in 0..=n {
            let mut rng = root.fork(i as u64);
            let authority = if i == CENTRAL {
                Authority::Central
            } else {
                Authority::Region(cfg.regions[i - 1].clone())
            };
            let mut repo_id = [0u8; 16];
            repo_id[..8].copy_from_slice(&rng.next_u64().to_be_bytes());
            repo_id[8..].copy_from_slice(&rng.next_u64().to_be_bytes());
            let mut repo = MemRepo::new(repo_id);
            let mut config = cfg.session.clone();
            if cfg.rogue_node && n >= 2 && i == n {
                repo.claim_region = Some(cfg.regions[n - 1].clone());
            }
            if cfg.old_version_node && i == 1 {
                config.version_min = 1;
                config.version_max = 1;
            }
            let clock_offset_ms = rng.range(-cfg.clock_offset_ms_max, cfg.clock_offset_ms_max);
            let clock_skew_ppm = rng.range(-cfg.clock_skew_ppm_max, cfg.clock_skew_ppm_max);
            peers.push(Peer {
                authority,
                repo,
                up: true,
                incarnation: 0,
                clock_offset_ms,
                clock_skew_ppm,
                rng,
                config,
                cards_created: 0,
            });
        }
        let links = cfg
            .regions
            .iter()
            .map(|r| Link {
                region: r.clone(),
                conn: 0,
                node: None,
                central: None,
                partitioned_until_ms: None,
                held_until_ms: 0,
                blip_quiet_until_ms: 0,
                blip_docs: Vec::new(),
                last_delivery_ms: [0, 0],
                connect_scheduled: false,
            })
            .collect();
        let net_rng = root.fork(1_000_003);
        let unit_node = (1..=n)
            .find(|&i| !((cfg.old_version_node && i == 1) || (cfg.rogue_node && n >= 2 && i == n)));
        let mut terminals = Vec::new();
        if let Some(node) = unit_node {
            for u in 0..cfg.unit_terminals {
                let mut rng = root.fork(2_000_003 + u as u64);
                let net = rng.fork(3);
                let mut repo_id = [0u8; 16];
                repo_id[..8].copy_from_slice(&rng.next_u64().to_be_bytes());
                repo_id[8] = 0xF1;
                terminals.push(Terminal {
                    region: cfg.regions[node - 1].clone(),
                    unit: format!("p{:02}", u + 1),
                    node,
                    repo: MemRepo::new(repo_id),
                    rng,
                    net,
                    conn: 0,
                    node_session: None,
                    session: None,
                    partitioned_until_ms: None,
                    last_delivery_ms: [0, 0],
                    connect_scheduled: false,
                    writes: Vec::new(),
                    forged: Vec::new(),
                    forge_queue: Vec::new(),
                    injected: Vec::new(),
                    forged_answered: 0,
                    steps: 0,
                });
            }
        }
        World {
            terminals,
            reference: reference("ANY"),
            report: SimReport {
                seed,
                ..SimReport::default()
            },
            cfg,
            now_ms: 0,
            seq: 0,
            queue: BTreeMap::new(),
            peers,
            links,
            net_rng,
            faults: true,
            next_conn: 1,
            first_clean_conn: u64::MAX,
            writes: Vec::new(),
            violations: Vec::new(),
        }
    }

    fn schedule(&mut self, at_ms: i64, ev: Ev) {
        self.seq += 1;
        self.queue.insert((at_ms.max(self.now_ms), self.seq), ev);
    }

    fn run(&mut self) -> Result<(), String> {
        let fault_end = self.cfg.fault_phase_ms;
        let end = fault_end + self.cfg.liveness_phase_ms;
        let s = &self.cfg.session;
        let blip_room_ms = s.ack_timeout_ms.min(s.idle_timeout_ms) - 2 * self.cfg.latency_ms_max;
        if self.cfg.blip_ms_min > self.cfg.blip_ms_max || self.cfg.blip_ms_max >= blip_room_ms {
            return Err(format!(
                "blips of {}..={} ms would break connections: they must stay under {blip_room_ms} ms",
                self.cfg.blip_ms_min, self.cfg.blip_ms_max
            ));
        }
        let mut plan = self.net_rng.fork(7);
        for link in 0..self.links.len() {
            let at = plan.range(0, 500);
            self.links[link].connect_scheduled = true;
            self.schedule(at, Ev::Connect { link });
        }
        for _ in 0..self.cfg.writes {
            let at = plan.range(0, fault_end - 1);
            let peer = plan.below(self.peers.len() as u64) as usize;
            self.schedule(at, Ev::Write { peer });
        }
        for _ in 0..self.cfg.partitions {
            let at = plan.range(0, fault_end - 1);
            let link = plan.below(self.links.len() as u64) as usize;
            let until_ms = at + plan.range(500, self.cfg.partition_ms_max.max(500));
            self.schedule(at, Ev::Partition { link, until_ms });
        }
        for _ in 0..self.cfg.crashes {
            let at = plan.range(0, fault_end - 1);
            let peer = plan.below(self.peers.len() as u64) as usize;
            self.schedule(at, Ev::Crash { peer });
        }
        let mut blips = Vec::new();
        for _ in 0..self.cfg.blips {
            let at = plan.range(0, fault_end - 1);
            blips.push((at, plan.below(self.links.len() as u64) as usize));
        }
        // After the faults, once the clean connections are open, with time left to converge.
        for link in 0..self.links.len() {
            for _ in 0..self.cfg.blips_after_faults_per_link {
                let after = plan.range(2_000, (self.cfg.liveness_phase_ms / 3).max(2_000));
                blips.push((fault_end + after, link));
            }
        }
        for (at, link) in blips {
            let until_ms = at + plan.range(self.cfg.blip_ms_min, self.cfg.blip_ms_max);
            self.schedule(at, Ev::Blip { link, until_ms });
            let rounds = self.cfg.blip_write_rounds as i64;
            for round in 0..rounds {
                // Spread over the blip's first half, so that every write is held.
                let offset = (until_ms - at) / 2 * round / rounds.max(1);
                self.schedule(at + offset, Ev::BlipWrite { link, until_ms });
            }
        }
        for _ in 0..self.cfg.national_writes {
            let at = plan.range(0, fault_end - 1);
            self.schedule(at, Ev::NationalWrite { cut_off: None });
        }
        // A node cut off while the hub changes national data: it must catch up after.
        let cut_link = (0..self.links.len()).find(|&l| self.peers[l + 1].speaks_national());
        if let (Some(link), true) = (cut_link, self.cfg.national_writes_while_cut_off > 0) {
            let at = fault_end / 3;
            let until_ms = at + self.cfg.partition_ms_max.max(500);
            self.schedule(at, Ev::Partition { link, until_ms });
            let n = self.cfg.national_writes_while_cut_off as i64;
            for i in 0..n {
                let when = at + 100 + (until_ms - at - 200) * i / n.max(1);
                self.schedule(
                    when,
                    Ev::NationalWrite {
                        cut_off: Some(link),
                    },
                );
            }
        }
        for term in 0..self.terminals.len() {
            let mut plan = self.terminals[term].net.fork(11);
            self.terminals[term].connect_scheduled = true;
            self.schedule(plan.range(0, 500), Ev::UnitConnect { term });
            for _ in 0..self.cfg.unit_writes {
                let at = plan.range(0, fault_end - 1);
                self.schedule(
                    at,
                    Ev::UnitWrite {
                        term,
                        forged: false,
                    },
                );
            }
            for _ in 0..self.cfg.unit_forged_writes {
                let at = plan.range(0, fault_end - 1);
                self.schedule(at, Ev::UnitWrite { term, forged: true });
            }
            for _ in 0..self.cfg.unit_partitions {
                let at = plan.range(0, fault_end - 1);
                let until_ms = at + plan.range(500, self.cfg.partition_ms_max.max(500));
                self.schedule(at, Ev::UnitPartition { term, until_ms });
            }
            for _ in 0..self.cfg.unit_pack_writes {
                let at = plan.range(0, fault_end - 1);
                self.schedule(at, Ev::PackWrite { term });
            }
        }
        self.schedule(fault_end, Ev::FaultPhaseEnd);

        while let Some((&(at, seq), _)) = self.queue.first_key_value() {
            if at > end {
                break;
            }
            let Some(ev) = self.queue.remove(&(at, seq)) else {
                break;
            };
            self.now_ms = at;
            self.step(ev)?;
        }
        self.report.end_ms = self.now_ms;
        self.check()
    }

    fn step(&mut self, ev: Ev) -> Result<(), String> {
        match ev {
            Ev::Deliver {
                link,
                conn,
                to_central,
                bytes,
            } => {
                let l = &self.links[link];
                let side_up = self.peers[if to_central { CENTRAL } else { link + 1 }].up;
                if l.conn != conn || !side_up || self.partitioned(link) {
                    self.report.frames_dropped += 1;
                    return Ok(());
                }
                self.report.frames_delivered += 1;
                self.report.bytes_delivered += bytes.len() as u64;
                self.with_session(link, to_central, |s, repo, now| {
                    s.handle_frame(repo, &bytes, now)
                });
            }
            Ev::Timer {
                link,
                conn,
                central_side,
            } => {
                if self.links[link].conn == conn {
                    self.with_session(link, central_side, |s, _, now| s.handle_timeout(now));
                }
            }
            Ev::Connect { link } => self.connect(link),
            Ev::Write { peer } => self.write(peer)?,
            Ev::NationalWrite { cut_off } => self.national_write(cut_off)?,
            Ev::Crash { peer } => {
                if self.peers[peer].up {
                    self.report.crashes += 1;
                    self.crash(peer);
                    let down = self.peers[peer]
                        .rng
                        .range(100, self.cfg.downtime_ms_max.max(100));
                    self.schedule(self.now_ms + down, Ev::Restart { peer });
                }
            }
            Ev::Restart { peer } => self.restart(peer),
            Ev::Partition { link, until_ms } => {
                self.report.partitions += 1;
                self.links[link].partitioned_until_ms = Some(until_ms);
                self.schedule(until_ms, Ev::Heal { link });
            }
            Ev::Heal { link } => {
                if self.links[link]
                    .partitioned_until_ms
                    .is_some_and(|u| u <= self.now_ms)
                {
                    self.links[link].partitioned_until_ms = None;
                }
            }
            Ev::Blip { link, until_ms } => self.blip(link, until_ms),
            Ev::BlipWrite { link, until_ms } => {
                if self.links[link].held_until_ms == until_ms {
                    self.blip_write(link)?;
                }
            }
            Ev::UnitDeliver {
                term,
                conn,
                to_node,
                bytes,
            } => {
                let t = &self.terminals[term];
                if t.conn != conn || !self.peers[t.node].up || t.partitioned_until_ms.is_some() {
                    self.report.frames_dropped += 1;
                    return Ok(());
                }
                self.unit_with_session(term, to_node, |s, repo, now| {
                    s.handle_frame(repo, &bytes, now)
                });
            }
            Ev::UnitTimer {
                term,
                conn,
                node_side,
            } => {
                if self.terminals[term].conn == conn {
                    self.unit_with_session(term, node_side, |s, _, now| s.handle_timeout(now));
                }
            }
            Ev::UnitConnect { term } => self.unit_connect(term),
            Ev::UnitWrite { term, forged } => self.unit_write(term, forged)?,
            Ev::UnitPartition { term, until_ms } => {
                self.terminals[term].partitioned_until_ms = Some(until_ms);
                self.schedule(until_ms, Ev::UnitHeal { term });
            }
            Ev::UnitHeal { term } => {
                let t = &mut self.terminals[term];
                if t.partitioned_until_ms.is_some_and(|u| u <= self.now_ms) {
                    t.partitioned_until_ms = None;
                }
            }
            Ev::PackWrite { term } => self.pack_write(term)?,
            Ev::FaultPhaseEnd => {
                self.faults = false;
                self.first_clean_conn = self.next_conn;
                for l in &mut self.links {
                    l.partitioned_until_ms = None;
                }
                for t in &mut self.terminals {
                    t.partitioned_until_ms = None;
                }
                for peer in 0..self.peers.len() {
                    if !self.peers[peer].up {
                        self.restart(peer);
                    }
                }
            }
        }
        Ok(())
    }

    fn partitioned(&self, link: usize) -> bool {
        self.links[link].partitioned_until_ms.is_some()
    }

    /// Drops the connection of a link on both sides; the node reconnects after a backoff.
    fn teardown(&mut self, link: usize) {
        let l = &mut self.links[link];
        l.conn = 0;
        l.node = None;
        l.central = None;
        self.schedule_connect(link);
    }

    fn schedule_connect(&mut self, link: usize) {
        if self.links[link].connect_scheduled {
            return;
        }
        self.links[link].connect_scheduled = true;
        let backoff = self.net_rng.range(200, 1_500);
        self.schedule(self.now_ms + backoff, Ev::Connect { link });
    }

    fn connect(&mut self, link: usize) {
        self.links[link].connect_scheduled = false;
        let node = link + 1;
        if self.links[link].conn != 0 {
            return;
        }
        if !self.peers[node].up {
            return; // the restart schedules the next attempt
        }
        if !self.peers[CENTRAL].up || self.partitioned(link) {
            self.schedule_connect(link);
            return;
        }
        let conn = self.next_conn;
        self.next_conn += 1;
        self.report.connections += 1;
        let region = Authority::Region(self.links[link].region.clone());
        let t = self.now_ms;
        let (head, tail) = self.peers.split_at_mut(node);
        let c = &mut head[CENTRAL];
        let n = &mut tail[0];
        let (c_now, n_now) = (c.local_ms(t), n.local_ms(t));
        let central = Session::new(
            c.config.clone(),
            Authority::Central,
            region.clone(),
            &mut c.repo,
            c_now,
        );
        let node_session = Session::new(
            n.config.clone(),
            n.authority.clone(),
            Authority::Central,
            &mut n.repo,
            n_now,
        );
        match (central, node_session) {
            (Ok(cs), Ok(ns)) => {
                let l = &mut self.links[link];
                l.conn = conn;
                l.central = Some(cs);
                l.node = Some(ns);
                l.last_delivery_ms = [t, t];
                self.drain(link, true);
                self.drain(link, false);
            }
            (c, n) => self.violations.push(format!(
                "session could not start: central {:?}, node {:?}",
                c.err(),
                n.err()
            )),
        }
    }

    /// Runs `f` on one side's session, then drains its output; an error tears the link down.
    fn with_session(
        &mut self,
        link: usize,
        central_side: bool,
        f: impl FnOnce(&mut Session, &mut MemRepo, i64) -> Result<(), crate::protocol::ProtocolError>,
    ) {
        let peer = if central_side { CENTRAL } else { link + 1 };
        let now = self.peers[peer].local_ms(self.now_ms);
        let l = &mut self.links[link];
        let session = if central_side {
            l.central.as_mut()
        } else {
            l.node.as_mut()
        };
        let Some(session) = session else {
            return;
        };
        let result = f(session, &mut self.peers[peer].repo, now);
        self.drain(link, central_side);
        if let Err(e) = result {
            *self
                .report
                .connection_errors
                .entry(e.close_code())
                .or_default() += 1;
            if matches!(e, crate::protocol::ProtocolError::Stalled { .. }) {
                self.violations.push(format!(
                    "{} left a stalled link at {} ms: its peer was heard but no documents moved: {e}",
                    self.peers[peer].authority, self.now_ms
                ));
            }
            if self.links[link].conn >= self.first_clean_conn {
                // A connection opened after the faults stopped must never break.
                {
                    self.violations.push(format!(
                        "connection error in the fault-free phase at {} ms on {}: {e}",
                        self.now_ms, self.peers[peer].authority
                    ));
                }
            }
            self.teardown(link);
        }
    }

    /// Moves a session's frames onto the network, handles its events and arms its timer.
    fn drain(&mut self, link: usize, central_side: bool) {
        let conn = self.links[link].conn;
        let mut frames = Vec::new();
        let mut events = Vec::new();
        let mut deadline = None;
        {
            let l = &mut self.links[link];
            let s = if central_side {
                l.central.as_mut()
            } else {
                l.node.as_mut()
            };
            let Some(s) = s else { return };
            while let Some(f) = s.poll_transmit() {
                frames.push(f);
            }
            while let Some(e) = s.poll_event() {
                events.push(e);
            }
            deadline = deadline.or(s.poll_timeout());
        }
        for bytes in frames {
            self.send(link, conn, !central_side, bytes);
        }
        for e in events {
            self.on_event(link, central_side, e);
        }
        if let Some(local_deadline) = deadline {
            // Local deadline back to virtual time through this peer's clock (rounded up).
            let peer = &self.peers[if central_side { CENTRAL } else { link + 1 }];
            let local_now = peer.local_ms(self.now_ms);
            let wait_local = (local_deadline - local_now).max(0);
            let wait = wait_local * 1_000_000 / (1_000_000 + peer.clock_skew_ppm) + 1;
            self.schedule(
                self.now_ms + wait,
                Ev::Timer {
                    link,
                    conn,
                    central_side,
                },
            );
        }
    }

    fn send(&mut self, link: usize, conn: u64, to_central: bool, bytes: Vec<u8>) {
        let dir = usize::from(to_central);
        let mut at = self.now_ms
            + self
                .net_rng
                .range(self.cfg.latency_ms_min, self.cfg.latency_ms_max);
        at = at.max(self.links[link].held_until_ms);
        let mut copies = 1;
        if self.faults {
            if self.net_rng.chance_per_mille(self.cfg.loss_per_mille) {
                self.report.frames_dropped += 1;
                return;
            }
            if self.net_rng.chance_per_mille(self.cfg.duplicate_per_mille) {
                copies = 2;
            }
            if !self.net_rng.chance_per_mille(self.cfg.reorder_per_mille) {
                at = at.max(self.links[link].last_delivery_ms[dir]);
            }
        } else {
            // A stream delivers in order.
            at = at.max(self.links[link].last_delivery_ms[dir]);
        }
        self.links[link].last_delivery_ms[dir] = self.links[link].last_delivery_ms[dir].max(at);
        for _ in 0..copies {
            self.schedule(
                at,
                Ev::Deliver {
                    link,
                    conn,
                    to_central,
                    bytes: bytes.clone(),
                },
            );
        }
    }

    fn on_event(&mut self, link: usize, central_side: bool, e: Event) {
        let region = self.links[link].region.clone();
        match e {
            Event::DocChanged { doc_id, .. }
                if region_prefix(&doc_id) == Some(NATIONAL) && !central_side =>
            {
                self.check_national_receiver(link, &doc_id);
            }
            Event::DocChanged { doc_id, .. } if region_prefix(&doc_id) != Some(region.as_str()) => {
                self.violations.push(format!(
                    "{} accepted {doc_id} over the link of region {region}",
                    if central_side { "central" } else { "node" }
                ));
            }
            Event::RejectedIncoming { .. } if central_side => {
                self.report.rejected_at_central += 1;
            }
            Event::Stalled { .. } => self.report.stalls_reported += 1,
            _ => {}
        }
    }

    /// A node got a national document: only one on protocol v4 may.
    fn check_national_receiver(&mut self, link: usize, doc_id: &str) {
        if !self.peers[link + 1].speaks_national() {
            let region = &self.links[link].region;
            self.violations.push(format!(
                "the node of region {region} on an old protocol version got {doc_id}"
            ));
        }
    }

    /// Holds every frame of the link, both ways, until `until_ms`: the ones already on the way
    /// and the ones sent meanwhile arrive then, in the order they were sent, on the same
    /// connection.
    fn blip(&mut self, link: usize, until_ms: i64) {
        let quiet_ms = self.cfg.blip_ms_max + 2 * self.cfg.latency_ms_max;
        let l = &mut self.links[link];
        if self.now_ms < l.blip_quiet_until_ms {
            return;
        }
        self.report.blips += 1;
        l.blip_quiet_until_ms = until_ms + quiet_ms;
        l.held_until_ms = until_ms;
        l.blip_docs.clear();
        for dir in 0..2 {
            l.last_delivery_ms[dir] = l.last_delivery_ms[dir].max(until_ms);
        }
        let held: Vec<(i64, u64)> = self
            .queue
            .iter()
            .filter(|((at, _), ev)| {
                *at <= until_ms && matches!(ev, Ev::Deliver { link: l, .. } if *l == link)
            })
            .map(|(k, _)| *k)
            .collect();
        // Re-queued in their order: same delivery time, increasing sequence numbers.
        for key in held {
            if let Some(ev) = self.queue.remove(&key) {
                self.schedule(until_ms, ev);
            }
        }
    }

    /// The node and the hub both write on the same documents of the link's region (the ones
    /// both hold), as a dispatcher and HQ working the same card.
    fn blip_write(&mut self, link: usize) -> Result<(), String> {
        let node = link + 1;
        if !self.peers[node].up || !self.peers[CENTRAL].up {
            return Ok(());
        }
        if self.links[link].blip_docs.is_empty() {
            let region = self.links[link].region.clone();
            let mut shared: Vec<String> = Vec::new();
            let (head, tail) = self.peers.split_at_mut(node);
            let (central, node_peer) = (&mut head[CENTRAL], &mut tail[0]);
            for (id, d) in node_peer.repo.docs.iter_mut() {
                if region_prefix(id) != Some(region.as_str())
                    || is_field_doc(id)
                    || d.doc.get_heads().is_empty()
                {
                    continue;
                }
                if central
                    .repo
                    .docs
                    .get_mut(id)
                    .is_some_and(|c| !c.doc.get_heads().is_empty())
                {
                    shared.push(id.clone());
                }
            }
            for _ in 0..self.cfg.blip_docs.min(shared.len()) {
                let i = self.net_rng.below(shared.len() as u64) as usize;
                let id = shared.swap_remove(i);
                self.links[link].blip_docs.push(id);
            }
        }
        for id in self.links[link].blip_docs.clone() {
            for peer in [node, CENTRAL] {
                if self.edit(peer, &id)? {
                    self.report.blip_writes += 1;
                }
            }
        }
        Ok(())
    }

    fn unit_schedule_connect(&mut self, term: usize) {
        let t = &mut self.terminals[term];
        if t.connect_scheduled {
            return;
        }
        t.connect_scheduled = true;
        let backoff = t.net.range(200, 1_500);
        self.schedule(self.now_ms + backoff, Ev::UnitConnect { term });
    }

    fn unit_teardown(&mut self, term: usize) {
        let t = &mut self.terminals[term];
        // Forged entries whose answer never came go again on the next connection.
        for (_, _, _, id) in std::mem::take(&mut t.injected) {
            t.forge_queue.push(id);
        }
        t.conn = 0;
        t.node_session = None;
        t.session = None;
        self.unit_schedule_connect(term);
    }

    /// The terminal dials its node: the node's session with `Authority::Unit` beside its link
    /// to the hub, over the same repository.
    fn unit_connect(&mut self, term: usize) {
        self.terminals[term].connect_scheduled = false;
        let node = self.terminals[term].node;
        if self.terminals[term].conn != 0 || !self.peers[node].up {
            return; // a restart schedules the next attempt
        }
        if self.terminals[term].partitioned_until_ms.is_some() {
            self.unit_schedule_connect(term);
            return;
        }
        let conn = self.next_conn;
        self.next_conn += 1;
        self.report.unit_connections += 1;
        let t_now = FIELD_EPOCH_MS + self.now_ms;
        let n_now = self.peers[node].local_ms(self.now_ms);
        let t = &mut self.terminals[term];
        let unit = Authority::Unit {
            region: t.region.clone(),
            unit: t.unit.clone(),
        };
        let region = Authority::Region(t.region.clone());
        let p = &mut self.peers[node];
        let node_session = Session::new(
            p.config.clone(),
            region.clone(),
            unit.clone(),
            &mut p.repo,
            n_now,
        );
        let session = Session::new(self.cfg.session.clone(), unit, region, &mut t.repo, t_now);
        match (node_session, session) {
            (Ok(ns), Ok(ts)) => {
                t.conn = conn;
                t.node_session = Some(ns);
                t.session = Some(ts);
                t.last_delivery_ms = [self.now_ms, self.now_ms];
                self.unit_drain(term, true);
                self.unit_drain(term, false);
            }
            (n, s) => self.violations.push(format!(
                "a unit session could not start: node {:?}, terminal {:?}",
                n.err(),
                s.err()
            )),
        }
    }

    /// Runs `f` on one side of a terminal's link, then drains it; an error tears the link down.
    fn unit_with_session(
        &mut self,
        term: usize,
        node_side: bool,
        f: impl FnOnce(&mut Session, &mut MemRepo, i64) -> Result<(), crate::protocol::ProtocolError>,
    ) {
        let node = self.terminals[term].node;
        let now = if node_side {
            self.peers[node].local_ms(self.now_ms)
        } else {
            FIELD_EPOCH_MS + self.now_ms
        };
        let t = &mut self.terminals[term];
        let (session, repo) = if node_side {
            (t.node_session.as_mut(), &mut self.peers[node].repo)
        } else {
            (t.session.as_mut(), &mut t.repo)
        };
        let Some(session) = session else {
            return;
        };
        let result = f(session, repo, now);
        self.unit_drain(term, node_side);
        if let Err(e) = result {
            *self
                .report
                .connection_errors
                .entry(e.close_code())
                .or_default() += 1;
            if matches!(e, crate::protocol::ProtocolError::Stalled { .. }) {
                self.violations.push(format!(
                    "the link of unit {} left a stalled link at {} ms: {e}",
                    self.terminals[term].unit, self.now_ms
                ));
            }
            if self.terminals[term].conn >= self.first_clean_conn {
                self.violations.push(format!(
                    "connection error in the fault-free phase at {} ms on unit {}'s link: {e}",
                    self.now_ms, self.terminals[term].unit
                ));
            }
            self.unit_teardown(term);
        }
    }

    fn unit_drain(&mut self, term: usize, node_side: bool) {
        let (mut frames, mut events, deadline);
        {
            let t = &mut self.terminals[term];
            let s = if node_side {
                t.node_session.as_mut()
            } else {
                t.session.as_mut()
            };
            let Some(s) = s else { return };
            frames = Vec::new();
            events = Vec::new();
            while let Some(f) = s.poll_transmit() {
                frames.push(f);
            }
            while let Some(e) = s.poll_event() {
                events.push(e);
            }
            deadline = s.poll_timeout();
        }
        let conn = self.terminals[term].conn;
        for bytes in frames {
            self.unit_send(term, conn, !node_side, bytes);
        }
        for e in events {
            self.unit_on_event(term, node_side, e);
        }
        if let Some(local_deadline) = deadline {
            let wait = if node_side {
                let peer = &self.peers[self.terminals[term].node];
                let wait_local = (local_deadline - peer.local_ms(self.now_ms)).max(0);
                wait_local * 1_000_000 / (1_000_000 + peer.clock_skew_ppm) + 1
            } else {
                (local_deadline - FIELD_EPOCH_MS - self.now_ms).max(0) + 1
            };
            self.schedule(
                self.now_ms + wait,
                Ev::UnitTimer {
                    term,
                    conn,
                    node_side,
                },
            );
        }
    }

    /// The terminal's link: the same latency and faults as the hub links, its own RNG.
    fn unit_send(&mut self, term: usize, conn: u64, to_node: bool, bytes: Vec<u8>) {
        let bytes = if to_node {
            self.forge(term, conn, bytes)
        } else {
            self.strip_forged_acks(term, conn, bytes)
        };
        let dir = usize::from(to_node);
        let (lo, hi) = (self.cfg.latency_ms_min, self.cfg.latency_ms_max);
        let (loss, dup, reorder) = (
            self.cfg.loss_per_mille,
            self.cfg.duplicate_per_mille,
            self.cfg.reorder_per_mille,
        );
        let faults = self.faults;
        let now = self.now_ms;
        let t = &mut self.terminals[term];
        let mut at = now + t.net.range(lo, hi);
        let mut copies = 1;
        if faults {
            if t.net.chance_per_mille(loss) {
                self.report.frames_dropped += 1;
                return;
            }
            if t.net.chance_per_mille(dup) {
                copies = 2;
            }
            if !t.net.chance_per_mille(reorder) {
                at = at.max(t.last_delivery_ms[dir]);
            }
        } else {
            at = at.max(t.last_delivery_ms[dir]);
        }
        t.last_delivery_ms[dir] = t.last_delivery_ms[dir].max(at);
        for _ in 0..copies {
            self.schedule(
                at,
                Ev::UnitDeliver {
                    term,
                    conn,
                    to_node,
                    bytes: bytes.clone(),
                },
            );
        }
    }

    /// The compromised terminal adds its queued forged documents to a batch going to the node.
    fn forge(&mut self, term: usize, conn: u64, bytes: Vec<u8>) -> Vec<u8> {
        use crate::protocol::wire::{decode_frame, encode_docs_deflated, encode_frame, DocEntry};
        let t = &mut self.terminals[term];
        if t.forge_queue.is_empty() {
            return bytes;
        }
        let Ok(Frame {
            seq,
            message: Message::Docs(mut batch),
        }) = decode_frame(&bytes)
        else {
            return bytes;
        };
        let deflated = encode_frame(&Frame {
            seq,
            message: Message::Docs(batch.clone()),
        }) != bytes;
        for id in std::mem::take(&mut t.forge_queue) {
            let Some(md) = t.repo.docs.get_mut(&id) else {
                continue;
            };
            t.injected
                .push((conn, batch.batch, batch.entries.len(), id.clone()));
            batch.entries.push(DocEntry {
                doc_id: id,
                heads: crate::protocol::normalize_heads(md.doc.get_heads()),
                bytes: md.doc.save(),
                priority: Some(Priority::Active),
            });
        }
        if deflated {
            encode_docs_deflated(seq, &batch)
        } else {
            encode_frame(&Frame {
                seq,
                message: Message::Docs(batch),
            })
        }
    }

    /// Takes the node's answers to forged entries out of its acknowledgement, so the terminal's
    /// own session sees only what it sent.
    fn strip_forged_acks(&mut self, term: usize, conn: u64, bytes: Vec<u8>) -> Vec<u8> {
        use crate::protocol::wire::{decode_frame, encode_frame};
        let t = &mut self.terminals[term];
        if t.injected.is_empty() {
            return bytes;
        }
        let Ok(Frame {
            seq,
            message: Message::Ack(mut ack),
        }) = decode_frame(&bytes)
        else {
            return bytes;
        };
        let mut mine: Vec<usize> = t
            .injected
            .iter()
            .filter(|(c, b, _, _)| *c == conn && *b == ack.batch)
            .map(|(_, _, i, _)| *i)
            .collect();
        if mine.is_empty() {
            return bytes;
        }
        t.injected
            .retain(|(c, b, _, _)| !(*c == conn && *b == ack.batch));
        t.forged_answered += mine.len() as u64;
        mine.sort_unstable();
        for i in mine.into_iter().rev() {
            if i < ack.results.len() {
                ack.results.remove(i);
            }
        }
        encode_frame(&Frame {
            seq,
            message: Message::Ack(ack),
        })
    }

    fn unit_on_event(&mut self, term: usize, node_side: bool, e: Event) {
        let t = &self.terminals[term];
        let prefix = field_doc_prefix(&t.region, &t.unit);
        let (unit, node) = (t.unit.clone(), t.node);
        match e {
            Event::DocChanged { doc_id, .. } if !doc_id.starts_with(&prefix) => {
                self.violations.push(format!(
                    "the {} accepted {doc_id} over unit {unit}'s link",
                    if node_side { "node" } else { "terminal" }
                ));
            }
            // What the terminal wrote goes on from the node to the hub.
            Event::DocChanged { doc_id, .. } if node_side => {
                self.with_session(node - 1, false, |s, repo, now| {
                    s.handle_local_change(repo, &doc_id, now)
                });
            }
            Event::RejectedIncoming { .. } if node_side => self.report.rejected_from_units += 1,
            Event::Stalled { .. } => self.report.stalls_reported += 1,
            _ => {}
        }
    }

    /// The terminal writes: a status in the day's log, a point in the day's track or a report
    /// photo; or, forged, another unit's log or a card.
    fn unit_write(&mut self, term: usize, forged: bool) -> Result<(), String> {
        let now = FIELD_EPOCH_MS + self.now_ms;
        let t = &mut self.terminals[term];
        t.steps += 1;
        let step = t.steps;
        let actor = ActorId::from(vec![0xF0, (term % 256) as u8, 1, 2, 3, 4, 5, 6]);
        let date = field_day(now);
        let field_id = |unit: &str, part: FieldPart| {
            FieldDocId::new(&t.region, unit, part)
                .map(|f| f.to_string())
                .ok_or_else(|| format!("unit {unit} has no field documents"))
        };
        let err = |e: crate::error::DomainError| format!("unit write failed: {e}");
        if forged {
            let id = if t.rng.below(2) == 0 {
                let other = format!("{}x", t.unit);
                let id = field_id(&other, FieldPart::Log { date: date.clone() })?;
                let mut log = FieldLogDoc::create(actor, &other, &date).map_err(err)?;
                log.append(&status_entry(step, now, FieldStatus::Cleared), now)
                    .map_err(err)?;
                t.repo
                    .put(&id, std::mem::take(log.automerge()), Priority::Active);
                id
            } else {
                let id = format!("{}/card/forged-{}-{step}", t.region, t.unit);
                let mut doc = AutoCommit::new().with_actor(actor);
                use automerge::transaction::Transactable;
                doc.put(automerge::ROOT, "status", "closed")
                    .map_err(|e| format!("forged card: {e}"))?;
                t.repo.put(&id, doc, Priority::Active);
                id
            };
            t.forged.push(id.clone());
            t.forge_queue.push(id);
            self.report.unit_forged_writes += 1;
            return Ok(());
        }
        let (id, priority) = match t.rng.below(3) {
            0 => {
                let id = field_id(&t.unit, FieldPart::Log { date: date.clone() })?;
                let status = [
                    FieldStatus::EnRoute,
                    FieldStatus::OnScene,
                    FieldStatus::Cleared,
                ][t.rng.below(3) as usize];
                let entry = status_entry(step, now, status);
                let mut log = match t.repo.doc_mut(&id) {
                    Some(md) => FieldLogDoc::wrap(std::mem::take(&mut md.doc)),
                    None => FieldLogDoc::create(actor.clone(), &t.unit, &date).map_err(err)?,
                };
                log.automerge().set_actor(actor);
                let appended = log.append(&entry, now).map_err(err);
                t.repo
                    .put(&id, std::mem::take(log.automerge()), Priority::Active);
                appended?;
                (id, Priority::Active)
            }
            1 => {
                let id = field_id(&t.unit, FieldPart::Track { date: date.clone() })?;
                let point = UnitPosition {
                    at_ms: now,
                    lat: 51.1 + step as f64 * 0.0003,
                    lon: 71.4,
                    accuracy_m: Some(5.0),
                    speed_kmh: None,
                    heading_deg: None,
                };
                let mut track = match t.repo.doc_mut(&id) {
                    Some(md) => TrackDoc::wrap(std::mem::take(&mut md.doc)),
                    None => TrackDoc::create(actor.clone(), &t.unit, &date).map_err(err)?,
                };
                track.automerge().set_actor(actor);
                let appended = track.append(&[point], now).map_err(err);
                t.repo
                    .put(&id, std::mem::take(track.automerge()), Priority::Normal);
                appended?;
                (id, Priority::Normal)
            }
            _ => {
                let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0];
                jpeg.extend((0..64).map(|_| t.rng.below(256) as u8));
                let (mut photo, sha) = FieldPhotoDoc::create(actor, &t.unit, &jpeg).map_err(err)?;
                let id = field_id(
                    &t.unit,
                    FieldPart::Photo {
                        sha: crate::field::photo_id(&sha).to_string(),
                    },
                )?;
                t.repo
                    .put(&id, std::mem::take(photo.automerge()), Priority::Archived);
                (id, Priority::Archived)
            }
        };
        let _ = priority;
        let heads = t.repo.heads(&id).unwrap_or_default();
        t.writes.push((id.clone(), heads));
        self.report.unit_writes += 1;
        self.unit_with_session(term, false, |s, repo, now| {
            s.handle_local_change(repo, &id, now)
        });
        Ok(())
    }

    /// The node writes the unit's pack (its shift end moves) and once another unit's: both go
    /// to the hub, only the first to the terminal.
    fn pack_write(&mut self, term: usize) -> Result<(), String> {
        let node = self.terminals[term].node;
        if !self.peers[node].up {
            return Ok(());
        }
        let (region, unit) = (
            self.terminals[term].region.clone(),
            self.terminals[term].unit.clone(),
        );
        let other = format!("{unit}y");
        let now = FIELD_EPOCH_MS + self.now_ms;
        let actor = self.peers[node].actor(node);
        let mut ids = vec![unit.clone()];
        let other_id = FieldDocId::new(&region, &other, FieldPart::Pack)
            .map(|f| f.to_string())
            .ok_or("no pack id")?;
        if !self.peers[node].repo.docs.contains_key(&other_id) {
            ids.push(other);
        }
        for u in ids {
            let id = FieldDocId::new(&region, &u, FieldPart::Pack)
                .map(|f| f.to_string())
                .ok_or("no pack id")?;
            let p = &mut self.peers[node];
            let mut pack = match p.repo.doc_mut(&id) {
                Some(md) => UnitPackDoc::wrap(std::mem::take(&mut md.doc)),
                None => UnitPackDoc::create(actor.clone(), &u)
                    .map_err(|e| format!("pack create failed: {e}"))?,
            };
            pack.automerge().set_actor(actor.clone());
            let changed = pack.set_meta(&PackMeta {
                unit_id: u.clone(),
                call_sign: "Беркут-11".into(),
                region: region.clone(),
                expires_at_ms: now + 12 * 3_600_000,
                revoked: false,
                post: None,
            });
            p.repo
                .put(&id, std::mem::take(pack.automerge()), Priority::Active);
            changed.map_err(|e| format!("pack write failed: {e}"))?;
            self.record_write(node, id.clone(), false);
            if u == unit {
                self.unit_with_session(term, true, |s, repo, now| {
                    s.handle_local_change(repo, &id, now)
                });
            }
        }
        Ok(())
    }

    /// The field units' invariants (see the module's documentation).
    fn check_units(&mut self) -> Result<(), String> {
        for term in 0..self.terminals.len() {
            let (node, prefix, unit) = {
                let t = &self.terminals[term];
                (t.node, field_doc_prefix(&t.region, &t.unit), t.unit.clone())
            };
            for (side, s) in [
                ("node", &self.terminals[term].node_session),
                ("terminal", &self.terminals[term].session),
            ] {
                if s.as_ref().is_some_and(|s| s.is_open() && !s.is_idle()) {
                    return Err(format!(
                        "the {side} session of unit {unit}'s link still busy at the end"
                    ));
                }
            }
            let t = &mut self.terminals[term];
            let forged = t.forged.clone();
            let mut at_terminal = BTreeMap::new();
            for (id, d) in t.repo.docs.iter_mut() {
                if forged.contains(id) {
                    continue;
                }
                if !id.starts_with(&prefix) {
                    return Err(format!("unit {unit}'s terminal holds {id}"));
                }
                at_terminal.insert(
                    id.clone(),
                    crate::protocol::normalize_heads(d.doc.get_heads()),
                );
            }
            let mut at_node = BTreeMap::new();
            for (id, d) in self.peers[node].repo.docs.iter_mut() {
                if id.starts_with(&prefix) {
                    at_node.insert(
                        id.clone(),
                        crate::protocol::normalize_heads(d.doc.get_heads()),
                    );
                }
            }
            if at_terminal != at_node {
                return Err(format!(
                    "unit {unit}'s documents differ: terminal {:?}, node {:?}",
                    at_terminal.keys().collect::<Vec<_>>(),
                    at_node.keys().collect::<Vec<_>>()
                ));
            }
            let t = &self.terminals[term];
            for (id, heads) in &t.writes {
                for holder in [node, CENTRAL] {
                    if heads.is_empty() || !self.peers[holder].repo.has_changes(id, heads) {
                        return Err(format!(
                            "unit {unit}'s write to {id} lost at {}",
                            self.peers[holder].authority
                        ));
                    }
                }
            }
            for id in &t.forged {
                for holder in [node, CENTRAL] {
                    if self.peers[holder].repo.docs.contains_key(id) {
                        return Err(format!(
                            "{id}, forged by unit {unit}'s terminal, landed at {}",
                            self.peers[holder].authority
                        ));
                    }
                }
            }
            if t.forged_answered > 0 && self.report.rejected_from_units == 0 {
                return Err(format!(
                    "unit {unit}'s forged documents were never offered to its node"
                ));
            }
        }
        Ok(())
    }

    fn crash(&mut self, peer: usize) {
        self.peers[peer].up = false;
        for t in &mut self.terminals {
            if t.node == peer {
                t.conn = 0;
                t.node_session = None;
                t.session = None;
            }
        }
        for link in 0..self.links.len() {
            if peer == CENTRAL || link + 1 == peer {
                let l = &mut self.links[link];
                l.conn = 0;
                l.node = None;
                l.central = None;
            }
        }
    }

    fn restart(&mut self, peer: usize) {
        if self.peers[peer].up {
            return;
        }
        let p = &mut self.peers[peer];
        p.up = true;
        // A fresh actor per process start; documents come back from their saved bytes.
        p.incarnation += 1;
        for d in p.repo.docs.values_mut() {
            let bytes = d.doc.save();
            if let Ok(doc) = AutoCommit::load(&bytes) {
                d.doc = doc;
            }
        }
        for link in 0..self.links.len() {
            if peer == CENTRAL || link + 1 == peer {
                self.schedule_connect(link);
            }
        }
        for term in 0..self.terminals.len() {
            if self.terminals[term].node == peer {
                self.unit_schedule_connect(term);
            }
        }
    }

    fn write(&mut self, peer: usize) -> Result<(), String> {
        if !self.peers[peer].up {
            return Ok(());
        }
        let n = self.links.len();
        let rogue = self.cfg.rogue_node && n >= 2 && peer == n;
        let now_local = self.peers[peer].local_ms(self.now_ms);
        let actor = self.peers[peer].actor(peer);
        let p = &mut self.peers[peer];
        let existing: Vec<String> = p
            .repo
            .docs
            .keys()
            .filter(|id| !is_field_doc(id))
            .filter(|id| {
                if peer == CENTRAL {
                    region_prefix(id) != Some(NATIONAL)
                } else {
                    region_prefix(id) == Some(&self.cfg.regions[peer - 1])
                }
            })
            .cloned()
            .collect();
        let create = peer != CENTRAL && (existing.is_empty() || p.rng.chance_per_mille(400));
        let (doc_id, is_rogue) = if create {
            let own = &self.cfg.regions[peer - 1];
            p.cards_created += 1;
            if rogue && p.rng.chance_per_mille(150) {
                // A compromised node writing the national calendar: the hub must refuse it.
                let id = format!("{NATIONAL}/calendar/rogue-{own}-{}", p.cards_created);
                let mut doc = AutoCommit::new();
                doc.set_actor(actor);
                use automerge::transaction::Transactable;
                doc.put(automerge::ROOT, "2026-01-01", "working")
                    .map_err(|e| format!("rogue national write failed: {e}"))?;
                p.repo.put(&id, doc, Priority::Normal);
                self.record_write(peer, id, true);
                return Ok(());
            }
            let (region, id, is_rogue) = if rogue && p.rng.chance_per_mille(300) {
                let victim = &self.cfg.regions[0];
                (
                    victim.clone(),
                    format!("{victim}/card/rogue-{own}-{}", p.cards_created),
                    true,
                )
            } else {
                (
                    own.clone(),
                    format!("{own}/card/{peer}-{}-{}", p.incarnation, p.cards_created),
                    false,
                )
            };
            let ctx = Ctx::new("op", region.as_str(), now_local);
            let card = CardDoc::create(
                actor,
                &id,
                &format!("{region}-{:06}", p.cards_created),
                &region,
                &CardCreate {
                    channel: Channel::App102Call,
                    caller: Caller {
                        name: Some("Айгерим".into()),
                        phone: Some("+77011234567".into()),
                        ..Caller::default()
                    },
                    location: None,
                    description: Some("Драка у подъезда".into()),
                    seen: Seen::default(),
                    category: Some("theft".into()),
                    priority: None,
                    district: None,
                },
                &self.reference,
                &ctx,
            )
            .map_err(|e| format!("card create failed: {e}"))?;
            let mut card = card;
            let doc = std::mem::take(card.automerge());
            p.repo.put(&id, doc, Priority::Active);
            (id, is_rogue)
        } else {
            if existing.is_empty() {
                return Ok(());
            }
            let id = existing[p.rng.below(existing.len() as u64) as usize].clone();
            self.edit(peer, &id)?;
            return Ok(());
        };
        self.record_write(peer, doc_id, is_rogue);
        Ok(())
    }

    /// The hub creates or changes a national document (a calendar year: a holiday added) and
    /// offers it on every link.
    fn national_write(&mut self, cut_off: Option<usize>) -> Result<(), String> {
        if !self.peers[CENTRAL].up {
            return Ok(());
        }
        let actor = self.peers[CENTRAL].actor(CENTRAL);
        let p = &mut self.peers[CENTRAL];
        let year = 2025 + p.rng.below(3);
        let id = format!("{NATIONAL}/calendar/{year}");
        let day = format!(
            "{year}-{:02}-{:02}",
            1 + p.rng.below(12),
            1 + p.rng.below(28)
        );
        let doc = match p.repo.doc_mut(&id) {
            Some(md) => &mut md.doc,
            None => {
                p.repo.put(&id, AutoCommit::new(), Priority::Normal);
                &mut p
                    .repo
                    .doc_mut(&id)
                    .ok_or("a document just put is missing")?
                    .doc
            }
        };
        doc.set_actor(actor);
        use automerge::transaction::Transactable;
        doc.put(automerge::ROOT, day.as_str(), "holiday")
            .map_err(|e| format!("national write failed: {e}"))?;
        self.report.national_writes += 1;
        if cut_off.is_some_and(|l| self.partitioned(l)) {
            self.report.national_writes_while_cut_off += 1;
        }
        self.record_write(CENTRAL, id, false);
        Ok(())
    }

    /// Edits a document `peer` holds (a note at the hub; a note or a description edit on a
    /// node) and hands it to its session. `Ok(false)` when nothing was written.
    fn edit(&mut self, peer: usize, id: &str) -> Result<bool, String> {
        if !self.peers[peer].up {
            return Ok(false);
        }
        let now_local = self.peers[peer].local_ms(self.now_ms);
        let actor = self.peers[peer].actor(peer);
        let replica = if peer == CENTRAL {
            "central".to_string()
        } else {
            self.cfg.regions[peer - 1].clone()
        };
        let ctx = Ctx::new(
            if peer == CENTRAL { "hq" } else { "op" },
            replica,
            now_local,
        );
        let p = &mut self.peers[peer];
        let cmd = if peer == CENTRAL || p.rng.chance_per_mille(500) {
            CardCommand::Note {
                text: format!("note {}", p.rng.below(1_000_000)),
            }
        } else {
            CardCommand::Edit(CardEdit {
                description: Some(format!("edit {}", p.rng.below(1_000_000))),
                ..CardEdit::default()
            })
        };
        let priority = match p.rng.below(3) {
            0 => Priority::Active,
            1 => Priority::Normal,
            _ => Priority::Archived,
        };
        let Some(md) = p.repo.doc_mut(id) else {
            return Ok(false);
        };
        // A document only partly received (missing dependencies) is not edited.
        if md.doc.get_heads().is_empty() {
            return Ok(false);
        }
        md.doc.set_actor(actor);
        let mut card = CardDoc::wrap(std::mem::take(&mut md.doc));
        let applied = card.apply(&cmd, &self.reference, &ctx);
        md.doc = std::mem::take(card.automerge());
        md.priority = priority;
        if applied.is_err() {
            return Ok(false);
        }
        self.record_write(peer, id.to_string(), id.contains("/rogue-"));
        Ok(true)
    }

    /// Records a write for the final check and tells the session that carries the document.
    fn record_write(&mut self, peer: usize, doc_id: String, is_rogue: bool) {
        let heads = self.peers[peer].repo.heads(&doc_id).unwrap_or_default();
        self.report.writes += 1;
        self.writes.push(WriteRecord {
            peer,
            doc_id: doc_id.clone(),
            heads,
            rogue: is_rogue,
        });
        // Tell the session that carries this document: every link for a national one at the hub.
        if peer == CENTRAL && region_prefix(&doc_id) == Some(NATIONAL) {
            for link in 0..self.links.len() {
                self.with_session(link, true, |s, repo, now| {
                    s.handle_local_change(repo, &doc_id, now)
                });
            }
            return;
        }
        let link = if peer == CENTRAL {
            match region_prefix(&doc_id).and_then(|r| self.cfg.regions.iter().position(|x| x == r))
            {
                Some(l) => l,
                None => return,
            }
        } else {
            peer - 1
        };
        let central_side = peer == CENTRAL;
        self.with_session(link, central_side, |s, repo, now| {
            s.handle_local_change(repo, &doc_id, now)
        });
    }

    fn check(&mut self) -> Result<(), String> {
        if let Some(v) = self.violations.first() {
            return Err(format!(
                "{} invariant violation(s), first: {v}",
                self.violations.len()
            ));
        }
        for (i, l) in self.links.iter().enumerate() {
            for (side, s) in [("node", &l.node), ("central", &l.central)] {
                if s.as_ref().is_some_and(|s| s.is_open() && !s.is_idle()) {
                    return Err(format!(
                        "{side} session of region {} still busy at the end: documents keep going back and forth",
                        self.cfg.regions[i]
                    ));
                }
            }
        }
        let regions = self.cfg.regions.clone();
        // Convergence, region by region.
        for (i, region) in regions.iter().enumerate() {
            let node = i + 1;
            let mut at_node = BTreeMap::new();
            for (id, d) in self.peers[node].repo.docs.iter_mut() {
                if region_prefix(id) == Some(region.as_str()) {
                    at_node.insert(
                        id.clone(),
                        crate::protocol::normalize_heads(d.doc.get_heads()),
                    );
                }
            }
            let mut at_central = BTreeMap::new();
            for (id, d) in self.peers[CENTRAL].repo.docs.iter_mut() {
                if region_prefix(id) == Some(region.as_str()) {
                    at_central.insert(
                        id.clone(),
                        crate::protocol::normalize_heads(d.doc.get_heads()),
                    );
                }
            }
            if at_node != at_central {
                let only_node: BTreeSet<_> = at_node
                    .keys()
                    .filter(|k| !at_central.contains_key(*k))
                    .collect();
                let only_central: BTreeSet<_> = at_central
                    .keys()
                    .filter(|k| !at_node.contains_key(*k))
                    .collect();
                let differ: BTreeSet<_> = at_node
                    .iter()
                    .filter(|(k, h)| at_central.get(*k).is_some_and(|c| c != *h))
                    .map(|(k, _)| k)
                    .collect();
                return Err(format!(
                    "region {region} did not converge: only at node {only_node:?}, only at central {only_central:?}, different heads {differ:?}"
                ));
            }
        }
        // National documents: the hub's copy at every node that speaks them, none at the others.
        let mut national = BTreeMap::new();
        for (id, d) in self.peers[CENTRAL].repo.docs.iter_mut() {
            if region_prefix(id) == Some(NATIONAL) {
                national.insert(
                    id.clone(),
                    crate::protocol::normalize_heads(d.doc.get_heads()),
                );
            }
        }
        for (i, region) in regions.iter().enumerate() {
            let node = &mut self.peers[i + 1];
            let mut at_node = BTreeMap::new();
            for (id, d) in node.repo.docs.iter_mut() {
                if region_prefix(id) == Some(NATIONAL) && !id.contains("/rogue-") {
                    at_node.insert(
                        id.clone(),
                        crate::protocol::normalize_heads(d.doc.get_heads()),
                    );
                }
            }
            let expected = if node.speaks_national() {
                national.clone()
            } else {
                BTreeMap::new()
            };
            if at_node != expected {
                return Err(format!(
                    "the node of region {region} holds national documents {:?}, the hub {:?}",
                    at_node.keys().collect::<Vec<_>>(),
                    expected.keys().collect::<Vec<_>>()
                ));
            }
        }
        // No lost write, and no rogue write accepted.
        for w in &self.writes {
            let holders: Vec<usize> = if region_prefix(&w.doc_id) == Some(NATIONAL) {
                std::iter::once(CENTRAL)
                    .chain((1..self.peers.len()).filter(|&p| self.peers[p].speaks_national()))
                    .collect()
            } else {
                std::iter::once(CENTRAL)
                    .chain(
                        regions
                            .iter()
                            .position(|r| region_prefix(&w.doc_id) == Some(r.as_str()))
                            .map(|i| i + 1),
                    )
                    .collect()
            };
            if w.rogue {
                if self.peers[CENTRAL].repo.docs.contains_key(&w.doc_id) {
                    return Err(format!(
                        "central accepted {} written by the compromised node {}",
                        w.doc_id, self.peers[w.peer].authority
                    ));
                }
                continue;
            }
            for holder in holders {
                if !self.peers[holder].repo.has_changes(&w.doc_id, &w.heads) || w.heads.is_empty() {
                    return Err(format!(
                        "write to {} by {} lost at {}",
                        w.doc_id, self.peers[w.peer].authority, self.peers[holder].authority
                    ));
                }
            }
        }
        if self.cfg.rogue_node
            && self.writes.iter().any(|w| w.rogue)
            && self.report.rejected_at_central == 0
        {
            return Err("the compromised node's cards were never offered to central".into());
        }
        self.check_units()?;
        self.report.docs_at_central = self.peers[CENTRAL].repo.docs.len() as u64;
        Ok(())
    }
}

/// A field document (a unit's log, track, photo or pack): the nodes' and the hub's card edits
/// leave them alone.
fn is_field_doc(id: &str) -> bool {
    id.contains("/field/")
}

/// A status of the unit's log at `at_ms`.
fn status_entry(step: u64, at_ms: i64, status: FieldStatus) -> FieldEntry {
    FieldEntry {
        id: format!("e-{step}-{at_ms}"),
        at_ms,
        by: "officer".into(),
        card_id: Some("c1".into()),
        body: FieldEntryBody::Status { status },
    }
}
