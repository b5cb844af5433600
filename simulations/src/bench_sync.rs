//! `bench sync-cold`, `bench sync-warm`, `bench sync-lag`: the replication protocol in one
//! process, both peers real — `sync::protocol::Session` driven by `node::replication::drive` over
//! quinn endpoints on 127.0.0.1 with mutual TLS from bundles made by the provisioning library.
//! Documents are real cards (`sync::CardDoc::create`, then sent for processing, a third with a
//! note), ids `AST/card/<uuid>`.
//!
//! - **cold**: N cards from an in-memory node catalogue (`MemRepo`) to an empty central catalogue
//!   (`MemRepo`, or `CentralRepo` over a temporary sled store with `--central-store`), against
//!   the baseline of plain per-document automerge sync over the same kind of connection: one bi
//!   stream, frames `[doc index u32 BE][length u32 BE][automerge sync message]`, at most
//!   [`BASELINE_DOCS_IN_FLIGHT_MAX`] documents in flight. The baseline's node side drives every
//!   document (first message, then one more after each reply) until its
//!   `generate_sync_message` returns `None`; the central side answers every message (an empty
//!   payload when it has nothing to say). Bytes on the wire are UDP payload bytes both ways
//!   (quinn's connection stats), so QUIC and TLS overhead count the same for both.
//! - **warm**: N cards in sync (a cold sync first; knowledge persists in the catalogues across
//!   connections), disconnect, change [`WARM_CHANGED_DOCS`] cards on the node, connect anew; bytes
//!   of the new connection and time from dialling until the central holds every changed head.
//! - **lag**: edits and notes at [`LAG_CHANGES_PER_S`] through `handle_local_change`; lag is the
//!   time from the change to the central's `DocChanged` for a state that contains it. Loopback,
//!   then through the in-process UDP proxy with loss and delay.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use automerge::sync::{Message as SyncMessage, State as SyncState, SyncDoc};
use automerge::{ActorId, AutoCommit, ChangeHash};
use node::replication::{drive, DriveInputs, DriveOutcome, DurableRepo};
use provisioning::progress::Silent;
use provisioning::settings::{
    CaName, CaSettings, CentralAddress, CentralName, CentralSettings, DnsName, RegionId,
    RegionName, RegionSettings, ValidDays,
};
use rand::rngs::{OsRng, StdRng};
use rand::{Rng, SeedableRng};
use serde_json::json;
use sync::protocol::{
    normalize_heads, Authority, Config as ProtocolConfig, Event, MemRepo, Priority, Repo, Session,
};
use sync::{
    Caller, CardCommand, CardCreate, CardDoc, CardEdit, Channel, Ctx, Document, Language, Location,
    Reference, Seen,
};
use tokio::sync::{mpsc, watch, Notify};

use crate::proxy::{Impairment, Proxy, ProxyConfig};
use crate::report::{self, goal_word, Latency, Report};

pub const NAME_COLD: &str = "sync-cold";
pub const NAME_WARM: &str = "sync-warm";
pub const NAME_LAG: &str = "sync-lag";

/// The region of every benchmark document.
pub const REGION: &str = "AST";
/// Documents the baseline keeps in flight on its one stream.
pub const BASELINE_DOCS_IN_FLIGHT_MAX: usize = 64;
/// Cards changed on the node between the two connections of `sync-warm`.
pub const WARM_CHANGED_DOCS: usize = 100;
/// Pace of the node's local changes in `sync-lag`.
pub const LAG_CHANGES_PER_S: u64 = 500;
/// Longest a cold sync may take before the run is a harness failure.
const SYNC_DEADLINE: Duration = Duration::from_secs(30 * 60);
/// The server name the central bundle is issued for and the node dials.
const CENTRAL_SERVER_NAME: &str = "localhost";

const GOAL_SPEEDUP_MIN: f64 = 10.0;
const GOAL_BYTES_RATIO_MAX: f64 = 0.5;
const GOAL_WIRE_VS_SAVED_MAX: f64 = 1.2;
const GOAL_WARM_WIRE_KB_MAX: f64 = 200.0;
const GOAL_WARM_CONVERGE_MS_MAX: f64 = 1_000.0;
const GOAL_LAG_P99_MS_MAX: f64 = 50.0;
const GOAL_LAG_P99_LOSSY_MS_MAX: f64 = 2_000.0;
/// The lossy link of `sync-lag`: 5 % loss each way, 100 ms one way (200 ms round trip).
const LOSSY_LOSS_PCT: f64 = 5.0;
const LOSSY_DELAY_MS: u64 = 100;

fn now_ms() -> i64 {
    node::http::now_ms()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

// ---------------------------------------------------------------------------------------------
// Settings

#[derive(Debug, Clone)]
pub struct SyncBenchConfig {
    pub seed: u64,
    /// Cards on the node (cold and warm).
    pub docs_count: usize,
    /// `sync-cold`: the central side is `CentralRepo` over a temporary sled store.
    pub central_store: bool,
    /// `sync-lag`: cards edited, and how long each phase writes.
    pub lag_docs_count: usize,
    pub lag_phase: Duration,
    /// `sync-lag`: how long to wait for the last changes after writing stops.
    pub lag_drain: Duration,
}

impl SyncBenchConfig {
    pub fn new(quick: bool, seed: u64, docs: Option<usize>, central_store: bool) -> Self {
        Self {
            seed,
            docs_count: docs.unwrap_or(if quick { 10_000 } else { 100_000 }),
            central_store,
            lag_docs_count: if quick { 2_000 } else { 10_000 },
            lag_phase: Duration::from_secs(if quick { 4 } else { 20 }),
            lag_drain: Duration::from_secs(if quick { 15 } else { 60 }),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Mutual TLS from provisioning bundles

/// A CA, the central's bundle and the region's bundle in a scratch directory, as quinn configs.
pub struct Pki {
    _dir: tempfile::TempDir,
    pub server: quinn::ServerConfig,
    pub client: quinn::ClientConfig,
}

impl Pki {
    pub fn new() -> anyhow::Result<Pki> {
        let dir = report::scratch_dir("sync-pki-")?;
        let now = time::OffsetDateTime::now_utc();
        let ca = dir.path().join("ca");
        let ca_settings = CaSettings {
            name: CaName::parse("bench CA")?,
            valid_days: ValidDays::for_ca(3650)?,
        };
        provisioning::init_ca(&ca, &ca_settings, now, &mut OsRng, &mut Silent)?;
        let central_bundle = dir.path().join("central");
        let cs = CentralSettings::new(
            CentralName::parse("central")?,
            vec![DnsName::parse(CENTRAL_SERVER_NAME)?],
            vec![],
            ValidDays::for_peer(730)?,
        )?;
        provisioning::add_central(&ca, &central_bundle, &cs, now, &mut OsRng, &mut Silent)?;
        let region_bundle = dir.path().join("ast");
        let rs = RegionSettings {
            id: RegionId::parse(REGION)?,
            name_kk: RegionName::parse("name-kk", "Астана қаласы ПД")?,
            name_ru: RegionName::parse("name-ru", "ДП города Астаны")?,
            central: CentralAddress::parse(&format!("{CENTRAL_SERVER_NAME}:7102"))?,
            valid_days: ValidDays::for_peer(730)?,
        };
        provisioning::add_region(&ca, &region_bundle, &rs, now, &mut OsRng, &mut Silent)?;
        let central_id = provisioning::load_identity(&central_bundle)?;
        let crl =
            provisioning::tls::read_crl(&central_bundle.join(provisioning::bundle_files::CRL))?;
        let server = provisioning::tls::quinn_server_config(&central_id, Some(&crl))?;
        let client =
            provisioning::tls::quinn_client_config(&provisioning::load_identity(&region_bundle)?)?;
        Ok(Pki {
            _dir: dir,
            server,
            client,
        })
    }

    /// A central endpoint and a node endpoint on 127.0.0.1.
    fn endpoints(&self) -> anyhow::Result<(quinn::Endpoint, quinn::Endpoint)> {
        let any: SocketAddr = "127.0.0.1:0".parse().expect("a constant address");
        let server =
            quinn::Endpoint::server(self.server.clone(), any).context("central endpoint")?;
        let mut client = quinn::Endpoint::client(any).context("node endpoint")?;
        client.set_default_client_config(self.client.clone());
        Ok((server, client))
    }
}

// ---------------------------------------------------------------------------------------------
// Cards

const NAMES: [&str; 8] = [
    "Айгерим Сапарова",
    "Ерлан Жумабеков",
    "Наталья Иванова",
    "Бауыржан Касымов",
    "Дина Ахметова",
    "Сергей Ким",
    "Гульнара Омарова",
    "Асхат Нурланов",
];
const STREETS: [&str; 8] = [
    "пр. Кабанбай батыра",
    "ул. Кенесары",
    "пр. Республики",
    "ул. Сыганак",
    "пр. Мангилик Ел",
    "ул. Бейбитшилик",
    "ул. Ауэзова",
    "пр. Туран",
];
const DESCRIPTIONS: [&str; 8] = [
    "Драка у подъезда, двое мужчин, один с разбитой головой, соседи пытаются разнять",
    "Сосед сверху шумит после 23:00, громкая музыка, на звонки в дверь не реагирует",
    "ДТП на перекрёстке, столкнулись два легковых автомобиля, есть пострадавший, водитель зажат",
    "Из припаркованного автомобиля украли сумку с документами и ноутбуком, разбито стекло",
    "Пропал ребёнок 9 лет, ушёл из школы в 14:30, одет в синюю куртку и красную шапку",
    "Мужчина в состоянии опьянения пристаёт к прохожим у входа в торговый центр, ведёт себя агрессивно",
    "Звонили якобы из банка, просили продиктовать код из SMS, списали 450 000 тенге с карты",
    "Семейный конфликт, муж угрожает жене, слышны крики и звук бьющейся посуды, в квартире дети",
];
const NOTES: [&str; 6] = [
    "Заявитель перезвонил: мужчины ушли в сторону парка, один в чёрной куртке",
    "Уточнён подъезд: второй, код домофона 45К, этаж пятый",
    "Со слов заявителя пострадавшему вызвана скорая помощь 103",
    "Повторный звонок от соседей, конфликт продолжается",
    "Заявитель просит не называть его данные при визите наряда",
    "Дежурный ДЧ проинформирован, ждём прибытия наряда",
];

/// A realistic card of `region`: an operator's intake with caller, address, description and
/// category, sent for processing; every third also carries a note. Returns its uuid and document.
fn make_card(
    rng: &mut StdRng,
    region: &str,
    index: usize,
    reference: &Reference,
    actor: &ActorId,
    created_ms: i64,
) -> anyhow::Result<(String, CardDoc)> {
    let id = format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        rng.gen::<u32>(),
        rng.gen::<u16>(),
        rng.gen::<u16>() & 0xfff,
        (rng.gen::<u16>() & 0x3fff) | 0x8000,
        rng.gen::<u64>() & 0xffff_ffff_ffff
    );
    let categories = &reference.categories;
    let input = CardCreate {
        channel: [
            Channel::App102Call,
            Channel::App102Text,
            Channel::ZakonPoryadokCall,
            Channel::Telegram,
        ][rng.gen_range(0..4)],
        caller: Caller {
            name: Some(NAMES[rng.gen_range(0..NAMES.len())].into()),
            phone: Some(format!("+7701{:07}", rng.gen_range(0..10_000_000))),
            phone_raw: None,
            user_id: None,
            language: Some(if rng.gen_bool(0.5) {
                Language::Kk
            } else {
                Language::Ru
            }),
        },
        location: Some(Location {
            lat: Some(rng.gen_range(51.08..51.20)),
            lon: Some(rng.gen_range(71.35..71.55)),
            accuracy_m: Some(rng.gen_range(5.0..50.0)),
            address: Some(format!(
                "Астана, {} {}, кв. {}",
                STREETS[rng.gen_range(0..STREETS.len())],
                rng.gen_range(1..200),
                rng.gen_range(1..300)
            )),
            source: None,
        }),
        description: Some(DESCRIPTIONS[rng.gen_range(0..DESCRIPTIONS.len())].into()),
        seen: Seen {
            persons: rng
                .gen_bool(0.3)
                .then(|| "двое мужчин 25–30 лет, тёмная одежда".into()),
            vehicles: rng
                .gen_bool(0.15)
                .then(|| "белая Toyota Camry, номер 123ABC01".into()),
            buildings: None,
        },
        category: (!categories.is_empty())
            .then(|| categories[rng.gen_range(0..categories.len())].code.clone()),
        priority: None,
        district: None,
    };
    let number = format!("{region}-2026-{index:07}");
    let ctx = Ctx::new("op1", region, created_ms);
    let mut card = CardDoc::create(actor.clone(), &id, &number, region, &input, reference, &ctx)
        .with_context(|| format!("card {number}"))?;
    let ctx = Ctx::new("op1", region, created_ms + rng.gen_range(20_000..120_000));
    card.apply(&CardCommand::SendForProcessing, reference, &ctx)?;
    if index.is_multiple_of(3) {
        let ctx = Ctx::new("disp1", region, ctx.now_ms + rng.gen_range(10_000..60_000));
        let text = NOTES[rng.gen_range(0..NOTES.len())].to_string();
        card.apply(&CardCommand::Note { text }, reference, &ctx)?;
    }
    Ok((id, card))
}

/// `count` cards made on every core, in index order; `finish` may change each further (e.g.
/// cancel it) before it is returned. Each worker has its own actor, as one node process would.
pub fn make_cards<T: Send>(
    count: usize,
    seed: u64,
    regions: &[&str],
    reference: &Reference,
    created_ms: impl Fn(usize) -> i64 + Sync,
    finish: impl Fn(usize, &str, String, CardDoc) -> anyhow::Result<T> + Sync,
) -> anyhow::Result<Vec<T>> {
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(count.max(1));
    let per_worker = count.div_ceil(workers);
    let bar = report::progress(count as u64, "cards");
    let results: Vec<anyhow::Result<Vec<T>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                let (finish, created_ms, bar) = (&finish, &created_ms, &bar);
                scope.spawn(move || -> anyhow::Result<Vec<T>> {
                    let mut rng = StdRng::seed_from_u64(seed ^ (w as u64).wrapping_mul(0x9e37));
                    let actor = ActorId::from(rng.gen::<[u8; 16]>().to_vec());
                    let range = (w * per_worker)..((w + 1) * per_worker).min(count);
                    let mut out = Vec::with_capacity(range.len());
                    for i in range {
                        let region = regions[i % regions.len()];
                        let (id, card) =
                            make_card(&mut rng, region, i, reference, &actor, created_ms(i))?;
                        out.push(finish(i, region, id, card)?);
                        if i % 1024 == 0 {
                            bar.inc(1024);
                        }
                    }
                    Ok(out)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| bail!("a card worker panicked")))
            .collect()
    });
    bar.finish_and_clear();
    let mut all = Vec::with_capacity(count);
    for r in results {
        all.extend(r?);
    }
    Ok(all)
}

/// The demo region's reference (categories, districts), as the node embeds it.
pub fn demo_reference() -> anyhow::Result<Reference> {
    Ok(node::config::Config::load(None)
        .context("the node's embedded config")?
        .reference)
}

/// A node catalogue holding `count` fresh cards, and the ids in order.
fn node_repo_with_cards(
    count: usize,
    seed: u64,
    reference: &Reference,
) -> anyhow::Result<(MemRepo, Vec<String>)> {
    let base_ms = now_ms() - 3_600_000;
    let cards = make_cards(
        count,
        seed,
        &[REGION],
        reference,
        |i| base_ms + (i as i64 % 3_000_000),
        |_, region, id, mut card| {
            Ok((
                format!("{region}/card/{id}"),
                std::mem::take(card.automerge()),
            ))
        },
    )?;
    let mut repo = MemRepo::new(rand::random());
    let mut ids = Vec::with_capacity(cards.len());
    for (doc_id, doc) in cards {
        repo.put(&doc_id, doc, Priority::Active);
        ids.push(doc_id);
    }
    Ok((repo, ids))
}

/// Applies a note or a description edit to a card held by `repo`; returns its new heads.
fn edit_card(
    repo: &mut MemRepo,
    doc_id: &str,
    k: usize,
    reference: &Reference,
) -> anyhow::Result<Vec<ChangeHash>> {
    let d = repo
        .doc_mut(doc_id)
        .with_context(|| format!("{doc_id} is not on the node"))?;
    let mut card = CardDoc::wrap(std::mem::take(&mut d.doc));
    let ctx = Ctx::new("disp1", REGION, now_ms());
    let cmd = if k.is_multiple_of(2) {
        CardCommand::Note {
            text: format!("{} ({k})", NOTES[k % NOTES.len()]),
        }
    } else {
        CardCommand::Edit(CardEdit {
            description: Some(format!(
                "{}; уточнение {k}",
                DESCRIPTIONS[k % DESCRIPTIONS.len()]
            )),
            ..CardEdit::default()
        })
    };
    let result = card.apply(&cmd, reference, &ctx);
    d.doc = std::mem::take(card.automerge());
    result.with_context(|| format!("editing {doc_id}"))?;
    Ok(normalize_heads(d.doc.get_heads()))
}

// ---------------------------------------------------------------------------------------------
// Both ends of the protocol

type OnEvent = Arc<dyn Fn(&Event) + Send + Sync>;

fn no_events() -> OnEvent {
    Arc::new(|_| {})
}

/// Accepts node connections on `endpoint` and drives one central `Session` per connection over
/// `repo`, exactly as the hub does (region from the client certificate).
fn spawn_central<R: DurableRepo + Send + 'static>(
    endpoint: quinn::Endpoint,
    repo: Arc<Mutex<R>>,
    protocol: ProtocolConfig,
    on_event: OnEvent,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        while let Some(incoming) = endpoint.accept().await {
            let (repo, protocol, on_event) = (repo.clone(), protocol.clone(), on_event.clone());
            tokio::spawn(async move {
                let Ok(conn) = incoming.await else { return };
                let Ok(Some(region)) = provisioning::tls::peer_region(&conn) else {
                    conn.close(1u32.into(), b"not a region");
                    return;
                };
                let Ok(streams) = conn.accept_bi().await else {
                    return;
                };
                let session = tokio::task::block_in_place(|| {
                    let mut guard = repo.lock().unwrap_or_else(|p| p.into_inner());
                    Session::new(
                        protocol.clone(),
                        Authority::Central,
                        Authority::Region(region),
                        &mut *guard,
                        now_ms(),
                    )
                });
                let Ok(session) = session else { return };
                // The central writes nothing of its own here; the sender stays open.
                let (_changes_tx, mut changes_rx) = mpsc::channel::<String>(1);
                let (_stop_tx, mut stop_rx) = watch::channel(false);
                drive(
                    streams,
                    session,
                    &repo,
                    DriveInputs {
                        local_changes: &mut changes_rx,
                        shutdown: &mut stop_rx,
                        frame_bytes_max: protocol.frame_bytes_max,
                    },
                    |e| on_event(e),
                )
                .await;
                conn.close(0u32.into(), b"done");
            });
        }
    })
}

/// One node connection driven by `node::replication::drive`.
struct NodeLink {
    conn: quinn::Connection,
    task: tokio::task::JoinHandle<DriveOutcome>,
    stop: watch::Sender<bool>,
    changes: mpsc::Sender<String>,
}

impl NodeLink {
    async fn connect(
        client: &quinn::Endpoint,
        central: SocketAddr,
        repo: Arc<Mutex<MemRepo>>,
        protocol: ProtocolConfig,
        on_event: OnEvent,
    ) -> anyhow::Result<NodeLink> {
        let conn = client
            .connect(central, CENTRAL_SERVER_NAME)
            .context("dialling the central")?
            .await
            .context("QUIC handshake with the central")?;
        let streams = conn.open_bi().await.context("opening the stream")?;
        let session = tokio::task::block_in_place(|| {
            let mut guard = repo.lock().unwrap_or_else(|p| p.into_inner());
            Session::new(
                protocol.clone(),
                Authority::Region(REGION.into()),
                Authority::Central,
                &mut *guard,
                now_ms(),
            )
        })?;
        let (stop, mut stop_rx) = watch::channel(false);
        let (changes, mut changes_rx) =
            mpsc::channel(node::replication::LOCAL_CHANGES_BUFFERED_MAX);
        let task = tokio::spawn(async move {
            drive(
                streams,
                session,
                &repo,
                DriveInputs {
                    local_changes: &mut changes_rx,
                    shutdown: &mut stop_rx,
                    frame_bytes_max: protocol.frame_bytes_max,
                },
                |e| on_event(e),
            )
            .await
        });
        Ok(NodeLink {
            conn,
            task,
            stop,
            changes,
        })
    }

    /// UDP payload bytes sent plus received on this connection so far.
    fn wire_bytes(&self) -> u64 {
        let s = self.conn.stats();
        s.udp_tx.bytes + s.udp_rx.bytes
    }

    async fn close(self) -> DriveOutcome {
        let _ = self.stop.send(true);
        let outcome = self.task.await.unwrap_or_default();
        self.conn.close(0u32.into(), b"bye");
        outcome
    }
}

/// A notifier for one kind of node event.
fn notify_on(kind: fn(&Event) -> bool) -> (OnEvent, Arc<Notify>) {
    let notify = Arc::new(Notify::new());
    let n = notify.clone();
    (
        Arc::new(move |e: &Event| {
            if kind(e) {
                n.notify_one();
            }
        }),
        notify,
    )
}

struct ColdRun {
    elapsed: Duration,
    wire_bytes: u64,
}

/// Pushes everything the node holds to the central over one new connection; returns when the
/// node's session reports every document acknowledged.
async fn push_all<R: DurableRepo + Send + 'static>(
    pki: &Pki,
    node: Arc<Mutex<MemRepo>>,
    central: Arc<Mutex<R>>,
) -> anyhow::Result<ColdRun> {
    let protocol = node::replication::network_protocol_config();
    let (server, client) = pki.endpoints()?;
    let addr = server.local_addr()?;
    let acceptor = spawn_central(server.clone(), central, protocol.clone(), no_events());
    let (on_event, complete) = notify_on(|e| matches!(e, Event::PushComplete));
    let started = Instant::now();
    let link = NodeLink::connect(&client, addr, node, protocol, on_event).await?;
    tokio::time::timeout(SYNC_DEADLINE, complete.notified())
        .await
        .context("the node never finished pushing")?;
    let elapsed = started.elapsed();
    let wire_bytes = link.wire_bytes();
    let outcome = link.close().await;
    if let Some(e) = outcome.error.filter(|e| !e.is_peer_close()) {
        println!("  note: the node's connection ended with: {e}");
    }
    acceptor.abort();
    server.close(0u32.into(), b"done");
    client.wait_idle().await;
    Ok(ColdRun {
        elapsed,
        wire_bytes,
    })
}

/// Documents whose heads at the central differ from the node's.
fn mismatched(node: &mut MemRepo, central: &mut impl Repo) -> Vec<String> {
    let mut bad = Vec::new();
    for (id, d) in node.docs.iter_mut() {
        let heads = normalize_heads(d.doc.get_heads());
        if central.heads(id).as_ref() != Some(&heads) {
            bad.push(id.clone());
        }
    }
    bad
}

// ---------------------------------------------------------------------------------------------
// Baseline: per-document automerge sync

struct BaselineRun {
    elapsed: Duration,
    wire_bytes: u64,
    app_bytes: u64,
    messages: u64,
    central_docs: Vec<Option<AutoCommit>>,
}

async fn write_frame(
    send: &mut quinn::SendStream,
    index: u32,
    payload: &[u8],
) -> anyhow::Result<()> {
    let mut buf = Vec::with_capacity(8 + payload.len());
    buf.extend_from_slice(&index.to_be_bytes());
    buf.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    buf.extend_from_slice(payload);
    send.write_all(&buf).await.context("baseline write")?;
    Ok(())
}

async fn read_frame(recv: &mut quinn::RecvStream) -> Option<(u32, Vec<u8>)> {
    let mut head = [0u8; 8];
    recv.read_exact(&mut head).await.ok()?;
    let index = u32::from_be_bytes(head[..4].try_into().ok()?);
    let len = u32::from_be_bytes(head[4..].try_into().ok()?) as usize;
    let mut payload = vec![0u8; len];
    recv.read_exact(&mut payload).await.ok()?;
    Some((index, payload))
}

async fn baseline_sync(pki: &Pki, docs: &mut [AutoCommit]) -> anyhow::Result<BaselineRun> {
    let count = docs.len();
    let (server, client) = pki.endpoints()?;
    let addr = server.local_addr()?;
    // Central: answers every message of every document.
    let central = tokio::spawn(async move {
        let conn = server
            .accept()
            .await
            .context("no baseline connection")?
            .await?;
        let (mut send, mut recv) = conn.accept_bi().await?;
        let mut docs: Vec<Option<(AutoCommit, SyncState)>> = (0..count).map(|_| None).collect();
        let mut app_bytes = 0u64;
        while let Some((index, payload)) = read_frame(&mut recv).await {
            app_bytes += 8 + payload.len() as u64;
            let slot = docs
                .get_mut(index as usize)
                .with_context(|| format!("document index {index}"))?;
            let (doc, state) = slot.get_or_insert_with(|| (AutoCommit::new(), SyncState::new()));
            if !payload.is_empty() {
                let message = SyncMessage::decode(&payload)?;
                doc.sync().receive_sync_message(state, message)?;
            }
            let reply = doc
                .sync()
                .generate_sync_message(state)
                .map(|m| m.encode())
                .unwrap_or_default();
            app_bytes += 8 + reply.len() as u64;
            write_frame(&mut send, index, &reply).await?;
        }
        // The node finished its side: everything is here. The node closes the connection.
        let _ = send.finish();
        drop(server);
        anyhow::Ok((
            app_bytes,
            docs.into_iter()
                .map(|d| d.map(|(doc, _)| doc))
                .collect::<Vec<_>>(),
        ))
    });

    let started = Instant::now();
    let conn = client.connect(addr, CENTRAL_SERVER_NAME)?.await?;
    let (mut send, recv) = conn.open_bi().await?;
    let (reply_tx, mut replies) = mpsc::channel::<(u32, Vec<u8>)>(BASELINE_DOCS_IN_FLIGHT_MAX * 2);
    tokio::spawn(async move {
        let mut recv = recv;
        while let Some(frame) = read_frame(&mut recv).await {
            if reply_tx.send(frame).await.is_err() {
                return;
            }
        }
    });
    let mut states: Vec<SyncState> = (0..count).map(|_| SyncState::new()).collect();
    let (mut next, mut done, mut messages) = (0usize, 0usize, 0u64);
    while done < count {
        // Open documents while the window has room.
        while next < count && next - done < BASELINE_DOCS_IN_FLIGHT_MAX {
            let i = next;
            next += 1;
            match docs[i].sync().generate_sync_message(&mut states[i]) {
                Some(m) => {
                    messages += 1;
                    write_frame(&mut send, i as u32, &m.encode()).await?;
                }
                None => done += 1,
            }
        }
        if done >= count {
            break;
        }
        let (index, payload) = tokio::time::timeout(SYNC_DEADLINE, replies.recv())
            .await
            .context("baseline stalled")?
            .context("the baseline central closed early")?;
        let i = index as usize;
        if !payload.is_empty() {
            docs[i]
                .sync()
                .receive_sync_message(&mut states[i], SyncMessage::decode(&payload)?)?;
        }
        match docs[i].sync().generate_sync_message(&mut states[i]) {
            Some(m) => {
                messages += 1;
                write_frame(&mut send, index, &m.encode()).await?;
            }
            None => done += 1,
        }
    }
    let elapsed = started.elapsed();
    let s = conn.stats();
    let wire_bytes = s.udp_tx.bytes + s.udp_rx.bytes;
    send.finish()?;
    let (app_bytes, central_docs) = central.await??;
    conn.close(0u32.into(), b"bye");
    client.wait_idle().await;
    Ok(BaselineRun {
        elapsed,
        wire_bytes,
        app_bytes,
        messages,
        central_docs,
    })
}

// ---------------------------------------------------------------------------------------------
// sync-cold

/// Region codes the benchmarks' cards belong to (17 oblasts and 3 cities of republican
/// significance).
pub const REGIONS: [&str; 20] = [
    "AST", "ALA", "SHY", "AKM", "AKT", "ALM", "ATY", "VKO", "ZHA", "ZKO", "KAR", "KOS", "KZY",
    "MAN", "PAV", "SKO", "TUR", "ABA", "ZHE", "ULY",
];

/// A cold sync's time may be at most this many times the receiver floor (parsing every
/// document once).
const GOAL_VS_FLOOR_MAX: f64 = 1.5;
/// Documents the isolated central ingest imports between flushes.
const INGEST_FLUSH_DOCS: usize = 256;

/// A hub catalogue over a fresh sled store in a scratch folder (kept while the guard lives), with
/// the hub's 1 ms group-commit window.
fn scratch_central(
    prefix: &str,
) -> anyhow::Result<(tempfile::TempDir, central::repo::CentralRepo)> {
    let dir = report::scratch_dir(prefix)?;
    let store: Arc<dyn node::store::Store> =
        Arc::new(node::store::SledStore::open(dir.path(), 64 << 20)?);
    store.apply({
        let mut b = node::store::WriteBatch::new();
        b.put("meta/store_id", uuid_like());
        b
    })?;
    let gc = Arc::new(node::store::GroupCommit::with_window(
        store.clone(),
        Duration::from_micros(1000),
    ));
    Ok((dir, central::repo::CentralRepo::new(store, gc)?))
}

/// The hub's ingest measured alone.
struct Ingest {
    elapsed: Duration,
    cpu: Duration,
    cards: usize,
}

impl Ingest {
    fn cards_per_s(&self) -> f64 {
        self.cards as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
    fn cpu_us_per_card(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / self.cards.max(1) as f64
    }
    fn cores_busy(&self) -> f64 {
        self.cpu.as_secs_f64() / self.elapsed.as_secs_f64().max(1e-9)
    }
    fn cards_per_s_per_core(&self) -> f64 {
        self.cards as f64 / self.cpu.as_secs_f64().max(1e-9)
    }
}

/// Imports documents into a fresh `CentralRepo` over sled, one thread per group (a region's
/// session, through its own handle), flushing every [`INGEST_FLUSH_DOCS`] of a group, and
/// measures wall time and the process's CPU time.
fn central_ingest(groups: &[Vec<(String, Vec<u8>)>]) -> anyhow::Result<Ingest> {
    use sync::protocol::Repo;
    let (_dir, base) = scratch_central("sync-cold-ingest-")?;
    let pid = std::process::id();
    let cpu_before = crate::process::cpu_time(pid)?;
    let started = Instant::now();
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let workers: Vec<_> = groups
            .iter()
            .map(|group| {
                let mut repo = base.handle();
                scope.spawn(move || -> anyhow::Result<()> {
                    for (n, (id, b)) in group.iter().enumerate() {
                        repo.import(id, b, None)
                            .map_err(|e| anyhow::anyhow!("importing {id}: {e}"))?;
                        if (n + 1) % INGEST_FLUSH_DOCS == 0 {
                            repo.group_commit().wait_written()?;
                        }
                    }
                    repo.group_commit().wait_written()?;
                    Ok(())
                })
            })
            .collect();
        for w in workers {
            w.join()
                .unwrap_or_else(|_| bail!("an ingest thread panicked"))?;
        }
        Ok(())
    })?;
    let elapsed = started.elapsed();
    let cpu = crate::process::cpu_time(pid)?.saturating_sub(cpu_before);
    Ok(Ingest {
        elapsed,
        cpu,
        cards: groups.iter().map(Vec::len).sum(),
    })
}

/// Returns `Ok(false)` when the central does not hold every document with the node's heads.
pub async fn run_cold(config: SyncBenchConfig) -> anyhow::Result<bool> {
    let mut report = Report::new(NAME_COLD);
    report.kv("seed", config.seed.to_string());
    report.kv("docs", config.docs_count as u64);
    report.detail("config", format!("{config:?}"));
    let reference = demo_reference()?;
    let t = Instant::now();
    let (mut node, _ids) = tokio::task::block_in_place(|| {
        node_repo_with_cards(config.docs_count, config.seed, &reference)
    })?;
    let saved_bytes = node.saved_bytes_total() as u64;
    println!(
        "made {} cards in {:.1} s; save() total {:.1} MB ({} B/card)",
        config.docs_count,
        t.elapsed().as_secs_f64(),
        saved_bytes as f64 / 1e6,
        saved_bytes / config.docs_count.max(1) as u64
    );
    let pki = Pki::new()?;
    let node = Arc::new(Mutex::new(node));

    // (a) our protocol
    let (ours, bad, central_kind) = if config.central_store {
        let (_dir, repo) = scratch_central("sync-cold-central-")?;
        let central = Arc::new(Mutex::new(repo));
        let run = push_all(&pki, node.clone(), central.clone()).await?;
        let bad = tokio::task::block_in_place(|| {
            mismatched(&mut node.lock().unwrap(), &mut *central.lock().unwrap())
        });
        (run, bad, "CentralRepo over sled")
    } else {
        let central = Arc::new(Mutex::new(MemRepo::new(rand::random())));
        let run = push_all(&pki, node.clone(), central.clone()).await?;
        let bad = tokio::task::block_in_place(|| {
            mismatched(&mut node.lock().unwrap(), &mut *central.lock().unwrap())
        });
        (run, bad, "MemRepo")
    };
    println!(
        "(a) ours, node MemRepo → central {central_kind}: {:.2} s, {:.1} MB on the wire ({:.0} docs/s)",
        ours.elapsed.as_secs_f64(),
        ours.wire_bytes as f64 / 1e6,
        config.docs_count as f64 / ours.elapsed.as_secs_f64()
    );
    if !bad.is_empty() {
        println!(
            "FAILED: {} documents differ at the central after our sync, e.g. {}",
            bad.len(),
            bad[0]
        );
    }

    // (b) baseline, over the node's documents themselves.
    let (ids, mut docs): (Vec<String>, Vec<AutoCommit>) =
        std::mem::take(&mut node.lock().unwrap().docs)
            .into_iter()
            .map(|(id, d)| (id, d.doc))
            .unzip();
    let base = baseline_sync(&pki, &mut docs).await?;
    let mut base_bad = 0usize;
    for (doc, got) in docs.iter_mut().zip(base.central_docs) {
        let same = got.is_some_and(|mut c| {
            normalize_heads(c.get_heads()) == normalize_heads(doc.get_heads())
        });
        base_bad += (!same) as usize;
    }
    println!(
        "(b) baseline, automerge sync per document ({} in flight): {:.2} s, {:.1} MB on the wire ({:.1} MB of sync frames, {} node messages)",
        BASELINE_DOCS_IN_FLIGHT_MAX,
        base.elapsed.as_secs_f64(),
        base.wire_bytes as f64 / 1e6,
        base.app_bytes as f64 / 1e6,
        base.messages
    );
    if base_bad > 0 {
        println!("FAILED: {base_bad} documents differ at the baseline's central");
    }

    // What any receiver that checks what it stores must pay at least: parsing every document
    // once (automerge `load`, one thread, no network, no storage). Both protocols pay it at the
    // central, so baseline_s / this bounds the speedup any protocol could show here.
    let floor = tokio::task::block_in_place(|| -> anyhow::Result<Duration> {
        let bytes: Vec<Vec<u8>> = docs.iter_mut().map(|d| d.save_nocompress()).collect();
        let started = Instant::now();
        for b in &bytes {
            std::hint::black_box(AutoCommit::load(b).context("reloading a saved card")?);
        }
        Ok(started.elapsed())
    })?;
    let speedup_ceiling = base.elapsed.as_secs_f64() / floor.as_secs_f64().max(1e-9);
    println!(
        "(c) receiver floor, automerge load of every document once: {:.2} s ({:.0} µs/doc): no protocol can beat the baseline by more than {speedup_ceiling:.1}× here",
        floor.as_secs_f64(),
        floor.as_secs_f64() * 1e6 / config.docs_count.max(1) as f64
    );

    // (d) the hub's ingest alone, with its CPU: every document imported into a fresh
    // CentralRepo on one thread, one flush per batch as the drive loop does. The process CPU
    // over the phase includes sled's threads; nothing else runs meanwhile.
    // (e) the same number of cards from as many regions as the machine has cores (at least 2),
    // each region on its own thread through its own catalogue handle, as the hub's sessions run.
    let (ingest, ingest_parallel) = if config.central_store {
        let one: Vec<(String, Vec<u8>)> = ids
            .iter()
            .cloned()
            .zip(docs.iter_mut().map(|d| d.save_nocompress()))
            .collect();
        let single = tokio::task::block_in_place(|| central_ingest(&[one]))?;
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let all = &REGIONS;
        let regions: Vec<&str> = all
            .iter()
            .copied()
            .take(cores.clamp(2, all.len()))
            .collect();
        let cards = tokio::task::block_in_place(|| {
            make_cards(
                config.docs_count,
                config.seed ^ 0xE,
                &regions,
                &reference,
                |i| 1_700_000_000_000 + i as i64,
                |_, region, id, mut card| {
                    Ok((
                        region.to_string(),
                        format!("{region}/card/{id}"),
                        card.automerge().save_nocompress(),
                    ))
                },
            )
        })?;
        let mut groups: Vec<Vec<(String, Vec<u8>)>> = vec![Vec::new(); regions.len()];
        for (region, id, bytes) in cards {
            let k = regions.iter().position(|r| *r == region).unwrap_or(0);
            groups[k].push((id, bytes));
        }
        let parallel = tokio::task::block_in_place(|| central_ingest(&groups))?;
        (Some(single), Some((regions.len(), parallel)))
    } else {
        (None, None)
    };
    if let Some(i) = &ingest {
        println!(
            "(d) central ingest alone (CentralRepo::import on one thread, a flush per {INGEST_FLUSH_DOCS} docs): {:.2} s, {:.0} cards/s, {:.0} µs CPU/card, {:.2} cores busy ({:.0} cards/s per core)",
            i.elapsed.as_secs_f64(),
            i.cards_per_s(),
            i.cpu_us_per_card(),
            i.cores_busy(),
            i.cards_per_s_per_core()
        );
    }
    if let Some((regions, i)) = &ingest_parallel {
        println!(
            "(e) central ingest, {regions} regions in parallel (a thread and a catalogue handle each): {:.2} s, {:.0} cards/s, {:.0} µs CPU/card, {:.2} cores busy ({:.0} cards/s per core)",
            i.elapsed.as_secs_f64(),
            i.cards_per_s(),
            i.cpu_us_per_card(),
            i.cores_busy(),
            i.cards_per_s_per_core()
        );
    }

    let speedup = base.elapsed.as_secs_f64() / ours.elapsed.as_secs_f64().max(1e-9);
    let vs_floor = ours.elapsed.as_secs_f64() / floor.as_secs_f64().max(1e-9);
    let goal_floor = vs_floor <= GOAL_VS_FLOOR_MAX;
    let bytes_ratio = ours.wire_bytes as f64 / base.wire_bytes.max(1) as f64;
    let wire_vs_saved = ours.wire_bytes as f64 / saved_bytes.max(1) as f64;
    let goal_speedup = speedup >= GOAL_SPEEDUP_MIN;
    let goal_bytes = bytes_ratio <= GOAL_BYTES_RATIO_MAX;
    let goal_saved = wire_vs_saved <= GOAL_WIRE_VS_SAVED_MAX;
    println!("goals:");
    println!(
        "  speedup {speedup:.1}× ≥ {GOAL_SPEEDUP_MIN}×: {}",
        goal_word(goal_speedup)
    );
    println!(
        "  bytes ours/baseline {bytes_ratio:.3} ≤ {GOAL_BYTES_RATIO_MAX}: {}",
        goal_word(goal_bytes)
    );
    println!(
        "  bytes ours/saved {wire_vs_saved:.3} ≤ {GOAL_WIRE_VS_SAVED_MAX}: {}",
        goal_word(goal_saved)
    );
    println!(
        "  time ours/receiver floor {vs_floor:.2} ≤ {GOAL_VS_FLOOR_MAX}: {}",
        goal_word(goal_floor)
    );
    let converged = bad.is_empty() && base_bad == 0;
    println!(
        "verify: central holds every document with the node's heads: {}",
        if converged { "yes" } else { "NO" }
    );
    report.kv("central", central_kind);
    report.kv_f("ours_s", ours.elapsed.as_secs_f64(), 3);
    report.kv_f("baseline_s", base.elapsed.as_secs_f64(), 3);
    report.kv("ours_bytes", ours.wire_bytes);
    report.kv("baseline_bytes", base.wire_bytes);
    report.kv("saved_bytes", saved_bytes);
    report.kv_f("load_floor_s", floor.as_secs_f64(), 3);
    report.kv_f("speedup", speedup, 2);
    report.kv_f("speedup_ceiling", speedup_ceiling, 2);
    report.kv_f("bytes_ratio", bytes_ratio, 3);
    report.kv_f("wire_vs_saved", wire_vs_saved, 3);
    report.kv("converged", converged);
    report.kv("goal_speedup_met", goal_speedup);
    report.kv("goal_bytes_ratio_met", goal_bytes);
    report.kv("goal_wire_vs_saved_met", goal_saved);
    report.kv_f("vs_floor", vs_floor, 2);
    report.kv("goal_vs_floor_met", goal_floor);
    if let Some(i) = &ingest {
        report.kv_f("central_ingest_cards_per_s", i.cards_per_s(), 0);
        report.kv_f("central_cpu_us_per_card", i.cpu_us_per_card(), 1);
        report.kv_f("central_cards_per_s_per_core", i.cards_per_s_per_core(), 0);
    }
    if let Some((regions, i)) = &ingest_parallel {
        report.kv("central_parallel_regions", *regions as u64);
        report.kv_f("central_parallel_cards_per_s", i.cards_per_s(), 0);
        report.kv_f("central_parallel_cpu_us_per_card", i.cpu_us_per_card(), 1);
    }
    report.kv("goal_met", goal_speedup && goal_bytes && goal_saved);
    report.detail(
        "baseline",
        json!({
            "docs_in_flight_max": BASELINE_DOCS_IN_FLIGHT_MAX,
            "sync_frame_bytes": base.app_bytes,
            "node_messages": base.messages,
            "framing": "one bi stream; [doc index u32 BE][len u32 BE][automerge sync message]",
        }),
    );
    report.detail(
        "bytes",
        "UDP payload bytes both directions from quinn connection stats (QUIC + TLS overhead included for both)",
    );
    report.finish()?;
    Ok(converged)
}

fn uuid_like() -> String {
    let b: [u8; 16] = rand::random();
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

// ---------------------------------------------------------------------------------------------
// sync-warm

pub async fn run_warm(config: SyncBenchConfig) -> anyhow::Result<bool> {
    let mut report = Report::new(NAME_WARM);
    report.kv("seed", config.seed.to_string());
    report.kv("docs", config.docs_count as u64);
    report.kv("changed", WARM_CHANGED_DOCS as u64);
    let reference = demo_reference()?;
    let (node, ids) = tokio::task::block_in_place(|| {
        node_repo_with_cards(config.docs_count, config.seed, &reference)
    })?;
    let node = Arc::new(Mutex::new(node));
    let central = Arc::new(Mutex::new(MemRepo::new(rand::random())));
    let pki = Pki::new()?;
    let first = push_all(&pki, node.clone(), central.clone()).await?;
    println!(
        "in sync: {} cards in {:.2} s over the first connection; disconnected",
        config.docs_count,
        first.elapsed.as_secs_f64()
    );

    // Change cards on the node while disconnected.
    let mut rng = StdRng::seed_from_u64(config.seed ^ 0x5741_524d);
    let mut expected: HashMap<String, Vec<ChangeHash>> = HashMap::new();
    {
        let mut repo = node.lock().unwrap();
        while expected.len() < WARM_CHANGED_DOCS.min(ids.len()) {
            let id = &ids[rng.gen_range(0..ids.len())];
            if expected.contains_key(id) {
                continue;
            }
            let heads = edit_card(&mut repo, id, expected.len(), &reference)?;
            expected.insert(id.clone(), heads);
        }
    }

    // Reconnect: the central reports each import; done when every changed head is there.
    let protocol = node::replication::network_protocol_config();
    let (server, client) = pki.endpoints()?;
    let addr = server.local_addr()?;
    let waiting = Arc::new(Mutex::new(expected.clone()));
    let converged = Arc::new(Notify::new());
    let on_central: OnEvent = {
        let (waiting, converged) = (waiting.clone(), converged.clone());
        Arc::new(move |e: &Event| {
            if let Event::DocChanged { doc_id, heads, .. } = e {
                let mut w = waiting.lock().unwrap();
                if w.get(doc_id) == Some(heads) {
                    w.remove(doc_id);
                    if w.is_empty() {
                        converged.notify_one();
                    }
                }
            }
        })
    };
    let acceptor = spawn_central(
        server.clone(),
        central.clone(),
        protocol.clone(),
        on_central,
    );
    let started = Instant::now();
    let link = NodeLink::connect(&client, addr, node.clone(), protocol, no_events()).await?;
    let in_time = tokio::time::timeout(Duration::from_secs(60), converged.notified())
        .await
        .is_ok();
    let converge = started.elapsed();
    // Let the last acknowledgements land so the byte count holds the whole exchange.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let wire_bytes = link.wire_bytes();
    link.close().await;
    acceptor.abort();
    server.close(0u32.into(), b"done");

    let bad = tokio::task::block_in_place(|| {
        mismatched(&mut node.lock().unwrap(), &mut *central.lock().unwrap())
    });
    let ok = in_time && bad.is_empty();
    let wire_kb = wire_bytes as f64 / 1024.0;
    let converge_ms = ms(converge);
    println!(
        "reconnect after {WARM_CHANGED_DOCS} changes among {} cards: converged in {converge_ms:.1} ms, {wire_kb:.1} KB on the wire (UDP both ways, TLS handshake included)",
        config.docs_count
    );
    if !ok {
        println!(
            "FAILED: converged in time: {in_time}; documents differing at the central: {}",
            bad.len()
        );
    }
    let goal_kb = wire_kb <= GOAL_WARM_WIRE_KB_MAX;
    let goal_ms = converge_ms <= GOAL_WARM_CONVERGE_MS_MAX;
    println!("goals:");
    println!(
        "  wire {wire_kb:.1} KB ≤ {GOAL_WARM_WIRE_KB_MAX} KB: {}",
        goal_word(goal_kb)
    );
    println!(
        "  converge {converge_ms:.1} ms ≤ {GOAL_WARM_CONVERGE_MS_MAX} ms: {}",
        goal_word(goal_ms)
    );
    report.kv_f("wire_kb", wire_kb, 1);
    report.kv_f("converge_ms", converge_ms, 1);
    report.kv_f("first_sync_s", first.elapsed.as_secs_f64(), 2);
    report.kv("converged", ok);
    report.kv("goal_wire_kb_met", goal_kb);
    report.kv("goal_converge_ms_met", goal_ms);
    report.kv("goal_met", goal_kb && goal_ms);
    report.detail(
        "knowledge",
        "both catalogues are MemRepo; peer knowledge persists in them across the two connections",
    );
    report.finish()?;
    Ok(ok)
}

// ---------------------------------------------------------------------------------------------
// sync-lag

/// Changes made on the node and not yet seen at the central, per document.
type Pending = Arc<Mutex<HashMap<String, Vec<(Vec<ChangeHash>, Instant)>>>>;

struct LagPhase {
    latency: Latency,
    changes: usize,
    undelivered: usize,
    wire_bytes: u64,
}

#[allow(clippy::too_many_arguments)]
async fn lag_phase(
    client: &quinn::Endpoint,
    dial: SocketAddr,
    node: Arc<Mutex<MemRepo>>,
    ids: &[String],
    reference: &Reference,
    pending: &Pending,
    samples: &Arc<Mutex<Vec<Duration>>>,
    config: &SyncBenchConfig,
    seed: u64,
) -> anyhow::Result<LagPhase> {
    let (on_event, opened) = notify_on(|e| matches!(e, Event::Opened { .. }));
    let link = NodeLink::connect(
        client,
        dial,
        node.clone(),
        node::replication::network_protocol_config(),
        on_event,
    )
    .await?;
    tokio::time::timeout(Duration::from_secs(60), opened.notified())
        .await
        .context("the session never opened")?;
    samples.lock().unwrap().clear();
    let bytes_before = link.wire_bytes();
    let mut rng = StdRng::seed_from_u64(seed);
    let changes = (LAG_CHANGES_PER_S as f64 * config.lag_phase.as_secs_f64()) as usize;
    let mut ticks = tokio::time::interval(Duration::from_micros(1_000_000 / LAG_CHANGES_PER_S));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    for k in 0..changes {
        ticks.tick().await;
        let doc_id = ids[rng.gen_range(0..ids.len())].clone();
        let (heads, at) = tokio::task::block_in_place(|| {
            let mut repo = node.lock().unwrap();
            let heads = edit_card(&mut repo, &doc_id, k, reference)?;
            anyhow::Ok((heads, Instant::now()))
        })?;
        pending
            .lock()
            .unwrap()
            .entry(doc_id.clone())
            .or_default()
            .push((heads, at));
        link.changes
            .send(doc_id)
            .await
            .context("the node's session stopped")?;
    }
    // Drain: wait for the last changes, up to the deadline.
    let drain_until = Instant::now() + config.lag_drain;
    loop {
        let left: usize = pending.lock().unwrap().values().map(Vec::len).sum();
        if left == 0 || Instant::now() >= drain_until {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let undelivered: usize = {
        let mut p = pending.lock().unwrap();
        let n = p.values().map(Vec::len).sum();
        p.clear();
        n
    };
    let wire_bytes = link.wire_bytes() - bytes_before;
    let outcome = link.close().await;
    if let Some(e) = outcome.error.filter(|e| !e.is_peer_close()) {
        println!("  note: the node's connection ended with: {e}");
    }
    let mut s = std::mem::take(&mut *samples.lock().unwrap());
    Ok(LagPhase {
        latency: Latency::from_samples(&mut s),
        changes,
        undelivered,
        wire_bytes,
    })
}

pub async fn run_lag(config: SyncBenchConfig) -> anyhow::Result<bool> {
    let mut report = Report::new(NAME_LAG);
    report.kv("seed", config.seed.to_string());
    report.kv("rate_per_s", LAG_CHANGES_PER_S);
    let reference = demo_reference()?;
    let (node, ids) = tokio::task::block_in_place(|| {
        node_repo_with_cards(config.lag_docs_count, config.seed, &reference)
    })?;
    let node = Arc::new(Mutex::new(node));
    let central = Arc::new(Mutex::new(MemRepo::new(rand::random())));
    let pki = Pki::new()?;
    let first = push_all(&pki, node.clone(), central.clone()).await?;
    println!(
        "in sync: {} cards in {:.2} s; now {LAG_CHANGES_PER_S} changes/s for {:.0} s per link",
        ids.len(),
        first.elapsed.as_secs_f64(),
        config.lag_phase.as_secs_f64()
    );

    let pending: Pending = Arc::new(Mutex::new(HashMap::new()));
    let samples: Arc<Mutex<Vec<Duration>>> = Arc::new(Mutex::new(Vec::new()));
    // The central reports an import: every pending change its new state contains is visible.
    let on_central: OnEvent = {
        let (pending, samples, central) = (pending.clone(), samples.clone(), central.clone());
        Arc::new(move |e: &Event| {
            let Event::DocChanged { doc_id, .. } = e else {
                return;
            };
            let now = Instant::now();
            let mut p = pending.lock().unwrap();
            let Some(list) = p.get_mut(doc_id) else {
                return;
            };
            let mut c = central.lock().unwrap();
            let mut s = samples.lock().unwrap();
            list.retain(|(heads, at)| {
                if c.has_changes(doc_id, heads) {
                    s.push(now - *at);
                    false
                } else {
                    true
                }
            });
            if list.is_empty() {
                p.remove(doc_id);
            }
        })
    };
    let (server, client) = pki.endpoints()?;
    let addr = server.local_addr()?;
    let acceptor = spawn_central(
        server.clone(),
        central.clone(),
        node::replication::network_protocol_config(),
        on_central,
    );

    let loopback = lag_phase(
        &client,
        addr,
        node.clone(),
        &ids,
        &reference,
        &pending,
        &samples,
        &config,
        config.seed,
    )
    .await?;
    println!(
        "loopback: {} changes, {} ({} undelivered), {:.1} KB on the wire",
        loopback.changes,
        loopback.latency.human(),
        loopback.undelivered,
        loopback.wire_bytes as f64 / 1024.0
    );

    let mut proxy_config = ProxyConfig::new("127.0.0.1:0".parse()?, addr, config.seed);
    proxy_config.impairment = Impairment {
        loss_pct: LOSSY_LOSS_PCT,
        delay_ms: LOSSY_DELAY_MS,
        ..Impairment::NONE
    };
    let proxy = Proxy::start(proxy_config).await?;
    let lossy = lag_phase(
        &client,
        proxy.local_addr(),
        node.clone(),
        &ids,
        &reference,
        &pending,
        &samples,
        &config,
        config.seed ^ 0x4c4f_5353,
    )
    .await?;
    let proxy_stats = proxy.control().stats();
    println!(
        "lossy ({LOSSY_LOSS_PCT}% loss, {LOSSY_DELAY_MS} ms one way): {} changes, {} ({} undelivered), {:.1} KB on the wire",
        lossy.changes,
        lossy.latency.human(),
        lossy.undelivered,
        lossy.wire_bytes as f64 / 1024.0
    );
    proxy.shutdown().await?;
    acceptor.abort();
    server.close(0u32.into(), b"done");

    let bad = tokio::task::block_in_place(|| {
        mismatched(&mut node.lock().unwrap(), &mut *central.lock().unwrap())
    });
    let goal_p99 = loopback.undelivered == 0 && loopback.latency.p99_ms <= GOAL_LAG_P99_MS_MAX;
    let goal_lossy = lossy.undelivered == 0 && lossy.latency.p99_ms <= GOAL_LAG_P99_LOSSY_MS_MAX;
    println!("goals:");
    println!(
        "  loopback p99 {:.1} ms ≤ {GOAL_LAG_P99_MS_MAX} ms: {}",
        loopback.latency.p99_ms,
        goal_word(goal_p99)
    );
    println!(
        "  lossy p99 {:.1} ms ≤ {GOAL_LAG_P99_LOSSY_MS_MAX} ms: {}",
        lossy.latency.p99_ms,
        goal_word(goal_lossy)
    );
    // Changes still undelivered after the drain are a measurement, not an invariant: the link
    // may be too slow. Divergence after both phases with nothing pending would be one, but the
    // lossy phase may legitimately end with changes in flight.
    println!(
        "after both phases: {} documents differ at the central (in flight when the link closed)",
        bad.len()
    );
    report.kv_f("p50_ms", loopback.latency.p50_ms, 2);
    report.kv_f("p99_ms", loopback.latency.p99_ms, 2);
    report.kv_f("p50_lossy_ms", lossy.latency.p50_ms, 1);
    report.kv_f("p99_lossy_ms", lossy.latency.p99_ms, 1);
    report.kv("changes", loopback.changes as u64);
    report.kv("changes_lossy", lossy.changes as u64);
    report.kv("undelivered", loopback.undelivered as u64);
    report.kv("undelivered_lossy", lossy.undelivered as u64);
    report.kv("goal_p99_met", goal_p99);
    report.kv("goal_p99_lossy_met", goal_lossy);
    report.kv("goal_met", goal_p99 && goal_lossy);
    report.detail("loopback", loopback.latency.to_json());
    report.detail("lossy", lossy.latency.to_json());
    report.detail(
        "proxy",
        json!({"loss_pct": LOSSY_LOSS_PCT, "delay_ms": LOSSY_DELAY_MS, "stats": format!("{proxy_stats:?}")}),
    );
    report.detail("docs", ids.len() as u64);
    report.finish()?;
    Ok(true)
}
