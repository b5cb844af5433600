//! The node as a real process (the `node` binary on a fresh data directory, spoken to over
//! loopback HTTP and WebSocket only) under abuse and the mistakes that once cost a shift its
//! calls: a flood of fake calls, phone numbers and names in every shape, fake SOS waves, a patrol
//! account acting for other units, event streams outliving their session, anonymous lockouts,
//! missing security headers, cross-site requests and sloppy JSON.
//!
//! Several source addresses are needed: Linux routes all of 127.0.0.0/8 to loopback, so a client
//! socket bound to 127.0.0.2 is "another citizen" to the node.

mod common;

use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::SinkExt;
use media::client::{HeadlessCitizen, HeadlessConfig, HeadlessOperator};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use common::{free_port, ice_greeting, json_or_text, next, send, until, Ws, POLL};

/// The bootstrap password the installer gives (`NODE_ADMIN_PASSWORD`): one-time.
const BOOTSTRAP_PASSWORD: &str = "Bootstrap-Once-102-Ast";
/// What the administrator sets at the first login.
const ADMIN_PASSWORD: &str = "Kenesary-40-Saryarka-Night";
/// Temporary password an administrator gives a new account.
const TEMP_PASSWORD: &str = "Temporary-Qalam-2026-Zhol";
/// What staff set at their first login.
const STAFF_PASSWORD: &str = "Berkut-Shift-Yesil-7791";
/// How long anything in these tests may take to happen.
const DEADLINE: Duration = Duration::from_secs(30);

/// A `node serve` child process on its own data directory and ports.
struct NodeProc {
    child: Child,
    base: String,
    addr: SocketAddr,
    dir: tempfile::TempDir,
    config: PathBuf,
    http: reqwest::Client,
    admin: String,
}

impl Drop for NodeProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A UDP port range of this test's own: tests of one binary run in parallel threads, and
/// several test binaries may run at once.
fn udp_ports(slot: u16) -> (u16, u16) {
    let base = 20_000 + (std::process::id() % 150) as u16 * 200 + slot * 40;
    (base, base + 39)
}

/// Config laid over the embedded default: cheap hashing, own ports, then `extra` (dotted keys).
fn config_text(slot: u16, extra: &str) -> String {
    let (min, max) = udp_ports(slot);
    // Dotted keys only, so `extra` can add to any table.
    format!(
        "node.sample_warnings = true\naccounts.argon2_memory_kib = 1024\n\
         calls.udp_port_min = {min}\ncalls.udp_port_max = {max}\ncalls.ice_connect_timeout_ms = 3000\n{extra}\n"
    )
}

impl NodeProc {
    async fn start(slot: u16, extra_config: &str) -> NodeProc {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("node.toml");
        std::fs::write(&config, config_text(slot, extra_config)).unwrap();
        let mut p = NodeProc::spawn(dir, config).await;
        p.admin = p
            .first_login("admin", BOOTSTRAP_PASSWORD, ADMIN_PASSWORD)
            .await;
        p
    }

    async fn spawn(dir: tempfile::TempDir, config: PathBuf) -> NodeProc {
        let (child, addr) = launch(dir.path(), &config);
        let p = NodeProc {
            child,
            base: format!("http://{addr}"),
            addr,
            dir,
            config,
            http: reqwest::Client::new(),
            admin: String::new(),
        };
        p.wait_healthy().await;
        p
    }

    async fn wait_healthy(&self) {
        let started = Instant::now();
        loop {
            if let Ok(r) = self.http.get(format!("{}/healthz", self.base)).send().await {
                if r.status() == 200 {
                    return;
                }
            }
            assert!(
                started.elapsed() < DEADLINE,
                "the node did not start: {}",
                self.log()
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// Stops the node politely (SIGTERM) and starts it again on the same data.
    async fn restart(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let started = Instant::now();
        while self.child.try_wait().unwrap().is_none() {
            assert!(started.elapsed() < DEADLINE, "the node did not stop");
            tokio::time::sleep(POLL).await;
        }
        let (child, addr) = launch(self.dir.path(), &self.config);
        self.child = child;
        self.addr = addr;
        self.base = format!("http://{addr}");
        self.wait_healthy().await;
    }

    fn log(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = std::fs::File::open(self.dir.path().join("node.log")) {
            let _ = f.read_to_string(&mut s);
        }
        let n = s.len().saturating_sub(4000);
        s[s.floor_char_boundary(n)..].to_string()
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.base)
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        self.call_with(&self.http, method, path, token, body).await
    }

    async fn call_with(
        &self,
        http: &reqwest::Client,
        method: &str,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = http.request(method.parse().unwrap(), self.url(path));
        if !token.is_empty() {
            req = req.bearer_auth(token);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.unwrap();
        (status, json_or_text(&bytes))
    }

    /// Logs in; on a first login (a temporary or bootstrap password) sets `new_password`.
    async fn first_login(&self, login: &str, password: &str, new_password: &str) -> String {
        let (s, v) = self
            .call(
                "POST",
                "/auth/login",
                "",
                Some(json!({"login": login, "password": password})),
            )
            .await;
        assert_eq!(s, 200, "login {login}: {v}");
        let token = v["token"].as_str().unwrap().to_string();
        if v["user"]["must_change_password"] == true {
            let (s, v) = self
                .call(
                    "POST",
                    "/auth/password",
                    &token,
                    Some(json!({"current_password": password, "new_password": new_password})),
                )
                .await;
            assert_eq!(s, 200, "password change of {login}: {v}");
        }
        token
    }

    /// Creates an account with a temporary password and logs in as it (setting its own password).
    async fn user(&self, login: &str, roles: &[&str]) -> String {
        let (s, v) = self
            .call(
                "POST",
                "/accounts",
                &self.admin,
                Some(
                    json!({"login": login, "full_name": format!("Тестов {login}"),
                    "password": TEMP_PASSWORD, "roles": roles}),
                ),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        self.first_login(login, TEMP_PASSWORD, STAFF_PASSWORD).await
    }

    /// A citizen's signalling socket from `source` (an address on loopback). `None` when the
    /// node refused the upgrade; the HTTP status is returned then.
    async fn citizen_ws(&self, source: Ipv4Addr) -> Result<Ws, u16> {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::new(IpAddr::V4(source), 0)).unwrap();
        let stream =
            tokio_tungstenite::MaybeTlsStream::Plain(socket.connect(self.addr).await.unwrap());
        match tokio_tungstenite::client_async(format!("ws://{}/citizen/v1/ws", self.addr), stream)
            .await
        {
            Ok((mut ws, _)) => {
                ice_greeting(&mut ws, DEADLINE).await;
                Ok(ws)
            }
            Err(tokio_tungstenite::tungstenite::Error::Http(r)) => Err(r.status().as_u16()),
            Err(e) => panic!("websocket: {e}"),
        }
    }
}

/// Starts `node serve` on `dir/data` with a free port; its log goes to `dir/node.log`.
fn launch(dir: &std::path::Path, config: &std::path::Path) -> (Child, SocketAddr) {
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("node.log"))
        .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_node"))
        .args(["serve", "--listen", &addr.to_string(), "--config"])
        .arg(config)
        .arg("--data")
        .arg(dir.join("data"))
        .env("NODE_ADMIN_PASSWORD", BOOTSTRAP_PASSWORD)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::from(log.try_clone().unwrap()))
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap();
    (child, addr)
}

/// A real offer SDP of a headless "102" app (audio + video). Many fake calls may reuse one.
async fn offer_sdp() -> String {
    let c = HeadlessCitizen::new(HeadlessConfig {
        video: true,
        ..HeadlessConfig::default()
    })
    .await
    .unwrap();
    let sdp = c.offer().await.unwrap();
    c.close().await;
    sdp
}

fn call_msg(sdp: &str, channel: &str, caller: Value) -> Value {
    json!({"type": "call", "sdp": sdp, "call": {"channel": channel, "video": channel == "sos_video",
        "caller": caller, "app_version": "3.4.0"}})
}

/// Rings from `source`: the node's first answer (`answer` when the call rings, `error` when it
/// was refused) and the open socket.
async fn ring_from(p: &NodeProc, source: Ipv4Addr, msg: &Value) -> (Value, Option<Ws>) {
    match p.citizen_ws(source).await {
        Err(status) => (json!({"type": "error", "http_status": status}), None),
        Ok(mut ws) => {
            send(&mut ws, msg.clone()).await;
            let first = next(&mut ws, DEADLINE)
                .await
                .unwrap_or(json!({"type": "closed"}));
            (first, Some(ws))
        }
    }
}

async fn hang_up(ws: Option<Ws>) {
    if let Some(mut ws) = ws {
        let _ = ws
            .send(Message::Text(json!({"type": "hangup"}).to_string().into()))
            .await;
        let _ = ws.close(None).await;
    }
}

const SOURCE_A: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);
const SOURCE_B: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
/// Configured as a mobile operator's carrier-grade NAT range in the flood test.
const SOURCE_CGNAT: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 3);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_fake_calls_from_one_source_does_not_stop_a_real_caller() {
    let p = NodeProc::start(
        0,
        "calls.carrier_nat_ranges = [\"127.0.0.3/32\"]\ncalls.carrier_nat_live_calls_max = 20\n",
    )
    .await;
    let op = p.user("op1", &["call_taker"]).await;
    let sdp = offer_sdp().await;

    // 1. A script makes 300 short calls from one address with one number: ring and hang up.
    let mut rang = 0;
    let mut refused = std::collections::BTreeMap::<String, usize>::new();
    for _ in 0..300 {
        let msg = call_msg(&sdp, "app102_call", json!({"phone": "+77015550001"}));
        let (first, ws) = ring_from(&p, SOURCE_A, &msg).await;
        if first["type"] == "answer" {
            rang += 1;
        } else {
            *refused
                .entry(first["code"].as_str().unwrap_or("http").to_string())
                .or_default() += 1;
        }
        hang_up(ws).await;
    }
    assert!(
        rang <= 20,
        "a single source rang {rang} of 300 calls within a minute; refused: {refused:?}"
    );

    // 2. It then holds 60 calls ringing at once (more than the node has media ports).
    let mut held = Vec::new();
    let mut ringing_from_a = 0;
    for i in 0..60 {
        let msg = call_msg(
            &sdp,
            "app102_call",
            json!({"phone": format!("+7701556{i:04}")}),
        );
        let (first, ws) = ring_from(&p, SOURCE_A, &msg).await;
        if first["type"] == "answer" {
            ringing_from_a += 1;
        }
        held.push(ws);
    }
    assert!(
        ringing_from_a <= 5,
        "one source holds {ringing_from_a} ringing calls"
    );

    // 3. A real caller from another address still rings.
    let msg = call_msg(
        &sdp,
        "app102_call",
        json!({"phone": "+77015559999", "name": "Айгерім"}),
    );
    let (first, real) = ring_from(&p, SOURCE_B, &msg).await;
    assert_eq!(
        first["type"], "answer",
        "the real caller was refused: {first}"
    );
    let real_id = first["call_id"].as_str().unwrap().to_string();

    // A carrier-grade NAT range gets higher limits (many subscribers share an address), not none.
    let mut cgnat_rang = 0;
    let mut cgnat_held = Vec::new();
    for i in 0..40 {
        let msg = call_msg(
            &sdp,
            "app102_call",
            json!({"phone": format!("+7702557{i:04}")}),
        );
        let (first, ws) = ring_from(&p, SOURCE_CGNAT, &msg).await;
        if first["type"] == "answer" {
            cgnat_rang += 1;
        }
        cgnat_held.push(ws);
    }
    assert!(
        cgnat_rang > 5 && cgnat_rang < 40,
        "a carrier NAT address rang {cgnat_rang} of 40 held calls"
    );

    // What operators see stays bounded and the real caller is in it.
    let resp = p
        .http
        .get(p.url("/calls"))
        .bearer_auth(&op)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let bytes = resp.bytes().await.unwrap();
    assert!(
        bytes.len() < 256 * 1024,
        "GET /calls returned {} bytes",
        bytes.len()
    );
    let calls: Vec<Value> = serde_json::from_slice(&bytes).unwrap();
    assert!(
        calls.len() <= 200,
        "GET /calls returned {} calls",
        calls.len()
    );
    assert!(
        calls
            .iter()
            .any(|c| c["id"] == real_id && c["phase"] == "ringing"),
        "the real call is not in the operators' list"
    );

    // Repeated abandoned calls from one number are one missed-call entry with a count.
    let (s, missed) = p.call("GET", "/calls/missed", &op, None).await;
    assert_eq!(s, 200, "{missed}");
    let from_script: Vec<&Value> = missed
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["phone"] == "+77015550001")
        .collect();
    assert_eq!(from_script.len(), 1, "{missed}");
    assert_eq!(from_script[0]["count"], rang, "{missed}");

    for ws in held.into_iter().chain(cgnat_held) {
        hang_up(ws).await;
    }
    hang_up(real).await;
}

/// Phones and names as apps and people really send them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_call_that_rings_has_a_card_whatever_its_phone_or_name_looks_like() {
    let p = NodeProc::start(1, "").await;
    let op = p.user("op1", &["call_taker"]).await;
    let sdp = offer_sdp().await;
    // (caller sent, expected normalised phone or null, expected raw)
    let cases = [
        (
            json!({"phone": "+7 701 234 56 78", "name": "Айгерім Серікқызы"}),
            json!("+77012345678"),
        ),
        (
            json!({"phone": "8(701)234-56-78", "name": "Ерлан\u{7} Қасымов"}),
            json!("+77012345678"),
        ),
        (
            json!({"phone": "87012345678", "name": "Ольга О'Брайен-Жұмабаева"}),
            json!("+77012345678"),
        ),
        (
            json!({"phone": "+77012345678", "name": "\u{1b}[31mИван"}),
            json!("+77012345678"),
        ),
        (json!({"phone": "", "name": ""}), Value::Null),
        (
            json!({"phone": "звоните на домашний ☎", "name": "Мария\r\nИванова"}),
            Value::Null,
        ),
        (json!({"phone": "12"}), Value::Null),
        (json!({}), Value::Null),
    ];
    for (caller, expected_phone) in cases {
        let msg = call_msg(&sdp, "app102_call", caller.clone());
        let (first, ws) = ring_from(&p, SOURCE_B, &msg).await;
        assert_eq!(first["type"], "answer", "{caller} did not ring: {first}");
        let id = first["call_id"].as_str().unwrap().to_string();
        let operator = HeadlessOperator::new(HeadlessConfig::default())
            .await
            .unwrap();
        let offer = operator.offer().await.unwrap();
        let (s, v) = p
            .call(
                "POST",
                &format!("/calls/{id}/accept"),
                &op,
                Some(json!({"sdp": offer})),
            )
            .await;
        assert_eq!(s, 200, "{caller}: {v}");
        let card = &v["card"];
        assert!(
            card["id"].is_string(),
            "no card for {caller}: {v}\n{}",
            p.log()
        );
        assert_eq!(card["caller"]["phone"], expected_phone, "{caller}: {card}");
        let sent = caller["phone"].as_str().unwrap_or("").trim();
        if !sent.is_empty() && expected_phone.is_null() {
            assert_eq!(
                card["caller"]["phone_raw"], sent,
                "the raw value is kept: {card}"
            );
        }
        if let Some(name) = card["caller"]["name"].as_str() {
            assert!(!name.chars().any(char::is_control), "{name:?}");
        }
        let (s, v) = p
            .call("POST", &format!("/calls/{id}/hangup"), &op, None)
            .await;
        assert_eq!(s, 200, "{v}");
        operator.close().await;
        hang_up(ws).await;
    }

    // SOS gets its card at ring, with a phone in the national format.
    let msg = call_msg(&sdp, "sos_video", json!({"phone": "8(701)234-56-78"}));
    let (first, sos) = ring_from(&p, SOURCE_B, &msg).await;
    assert_eq!(first["type"], "answer", "{first}");
    let sos_id = first["call_id"].as_str().unwrap().to_string();
    until(DEADLINE, "the SOS card", || async {
        let (_, v) = p.call("GET", &format!("/calls/{sos_id}"), &op, None).await;
        v["call"]["card_number"].is_string()
    })
    .await;

    // A non-SOS call abandoned before anyone answers stays in the missed list, persisted,
    // until an operator records the callback's outcome.
    let msg = call_msg(
        &sdp,
        "app102_call",
        json!({"phone": "+7 (702) 111-22-33", "name": "Сәуле"}),
    );
    let (first, ws) = ring_from(&p, SOURCE_B, &msg).await;
    assert_eq!(first["type"], "answer", "{first}");
    hang_up(ws).await;
    hang_up(sos).await;
    until(
        DEADLINE,
        "the abandoned call in the missed list",
        || async {
            let (_, v) = p.call("GET", "/calls/missed", &op, None).await;
            v.as_array()
                .is_some_and(|a| a.iter().any(|m| m["phone"] == "+77021112233"))
        },
    )
    .await;
    let mut p = p;
    p.restart().await;
    let op = p.first_login("op1", STAFF_PASSWORD, STAFF_PASSWORD).await;
    let (s, missed) = p.call("GET", "/calls/missed", &op, None).await;
    assert_eq!(s, 200, "{missed}");
    let entry = missed
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["phone"] == "+77021112233")
        .cloned()
        .unwrap_or_else(|| panic!("the missed call did not survive a restart: {missed}"));
    assert_eq!(entry["name"], "Сәуле");
    let path = format!("/calls/missed/{}/callback", entry["id"].as_str().unwrap());
    let (s, v) = p
        .call("POST", &path, &op, Some(json!({"outcome": "banana"})))
        .await;
    assert_eq!((s, v["field"].as_str()), (422, Some("outcome")), "{v}");
    let (s, v) = p
        .call(
            "POST",
            &path,
            &op,
            Some(json!({"outcome": "reached", "note": "ложный вызов, ребёнок"})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (_, missed) = p.call("GET", "/calls/missed", &op, None).await;
    assert!(
        !missed
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == entry["id"]),
        "{missed}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sos_that_ends_before_an_answer_is_a_missed_sos_to_call_back_not_an_open_card() {
    let p = NodeProc::start(2, "").await;
    let op = p.user("op1", &["call_taker"]).await;
    let sdp = offer_sdp().await;
    // Three waves of anonymous SOS calls from one address that hang up at once.
    let mut rang = 0;
    for _wave in 0..3 {
        for _ in 0..20 {
            let msg = call_msg(&sdp, "sos_video", json!({}));
            let (first, ws) = ring_from(&p, SOURCE_A, &msg).await;
            if first["type"] == "answer" {
                rang += 1;
            }
            hang_up(ws).await;
        }
    }
    assert!(rang <= 12, "one address made {rang} SOS calls ring");
    // A real SOS from a phone, three times, hanging up each time.
    for _ in 0..3 {
        let msg = call_msg(&sdp, "sos_video", json!({"phone": "+7 701 555 00 09"}));
        let (first, ws) = ring_from(&p, SOURCE_B, &msg).await;
        assert_eq!(first["type"], "answer", "{first}");
        hang_up(ws).await;
    }
    until(DEADLINE, "missed SOS entries", || async {
        let (_, v) = p.call("GET", "/calls/missed", &op, None).await;
        v.as_array().is_some_and(|a| {
            a.iter()
                .any(|m| m["phone"] == "+77015550009" && m["count"] == 3 && m["sos"] == true)
        })
    })
    .await;
    // No ordinary open card is left by the system for a missed SOS: each one is marked as
    // waiting for a callback.
    let (s, cards) = p.call("GET", "/cards?status=new", &op, None).await;
    assert_eq!(s, 200, "{cards}");
    let sos_cards: Vec<&Value> = cards
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["channel"] == "sos_video")
        .collect();
    assert!(!sos_cards.is_empty());
    assert!(
        sos_cards.iter().all(|c| c["callback_due"] == true),
        "{sos_cards:?}"
    );
    assert!(
        sos_cards.len() <= rang + 1,
        "{} open SOS cards for {} rung anonymous SOS and one caller",
        sos_cards.len(),
        rang
    );
    // The operator calls back (by telephone) and records a false alarm: the card is closed with
    // that outcome.
    let (_, missed) = p.call("GET", "/calls/missed", &op, None).await;
    let entry = missed
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["phone"] == "+77015550009")
        .unwrap()
        .clone();
    let card_id = entry["card_id"].as_str().unwrap().to_string();
    let (s, v) = p
        .call(
            "POST",
            &format!("/calls/missed/{}/callback", entry["id"].as_str().unwrap()),
            &op,
            Some(json!({"outcome": "false_alarm", "note": "кнопка нажата случайно"})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (_, card) = p.call("GET", &format!("/cards/{card_id}"), &op, None).await;
    assert_eq!(card["status"], "cancelled", "{card}");
    let metrics = p
        .http
        .get(format!("{}/metrics", p.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("node_calls_missed_sos_total") && !l.ends_with(" 0")),
        "missed SOS are counted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_patrol_account_acts_only_for_its_own_unit() {
    let p = NodeProc::start(3, "").await;
    let disp = p.user("disp1", &["dispatcher"]).await;
    let op = p.user("op1", &["call_taker"]).await;
    let sup = p.user("sup1", &["supervisor"]).await;
    let patrol = p.user("ksp11", &["patrol"]).await;
    // Without a roster entry or a binding the patrol acts for no unit.
    let (s, v) = p
        .call(
            "POST",
            "/units/p01/status",
            &patrol,
            Some(json!({"status": "off_duty"})),
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (403, Some("no_unit")), "{v}");
    // The dispatcher binds the account to Беркут-11.
    let (s, v) = p
        .call(
            "PUT",
            "/patrols/ksp11/unit",
            &disp,
            Some(json!({"unit_id": "p01"})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = p
        .call(
            "POST",
            "/units/p02/status",
            &patrol,
            Some(json!({"status": "off_duty"})),
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (403, Some("not_your_unit")), "{v}");
    for unit in ["p03", "p04", "p05", "dsog1"] {
        let (s, _) = p
            .call(
                "POST",
                &format!("/units/{unit}/status"),
                &patrol,
                Some(json!({"status": "off_duty"})),
            )
            .await;
        assert_eq!(s, 403, "{unit}");
    }
    let (s, v) = p
        .call(
            "POST",
            "/units/p01/status",
            &patrol,
            Some(json!({"status": "off_duty"})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = p
        .call(
            "POST",
            "/units/p01/status",
            &patrol,
            Some(json!({"status": "available"})),
        )
        .await;
    assert_eq!(s, 200, "{v}");

    // The roster for the current shift takes precedence over the binding.
    let (s, me) = p.call("GET", "/me", &patrol, None).await;
    assert_eq!(s, 200);
    let (s, shift) = p.call("GET", "/roster/current", &sup, None).await;
    assert_eq!(s, 200, "{shift}");
    let (s, v) = p
        .call(
            "POST",
            "/roster",
            &sup,
            Some(
                json!({"date": shift["date"], "shift": shift["shift"], "post": "Маршрут 3",
                "unit_id": "p03", "crew": [me["login"]]}),
            ),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let (s, _) = p
        .call(
            "POST",
            "/units/p01/status",
            &patrol,
            Some(json!({"status": "off_duty"})),
        )
        .await;
    assert_eq!(s, 403);

    // Reports only on cards its unit is assigned to.
    let mk = |desc: &'static str| {
        let p = &p;
        let op = op.clone();
        async move {
            let (s, c) = p
                .call(
                    "POST",
                    "/cards",
                    &op,
                    Some(json!({"channel": "app102_call", "description": desc, "category": "theft",
                        "location": {"address": "г. Астана, ул. Кенесары, 40"}, "district": "saryarka"})),
                )
                .await;
            assert_eq!(s, 201, "{c}");
            let id = c["id"].as_str().unwrap().to_string();
            let (s, v) = p
                .call(
                    "POST",
                    &format!("/cards/{id}/send-for-processing"),
                    &op,
                    None,
                )
                .await;
            assert_eq!(s, 200, "{v}");
            id
        }
    };
    let ours = mk("Кража велосипеда").await;
    let theirs = mk("Кража телефона").await;
    for (card, unit) in [(&ours, "p03"), (&theirs, "p04")] {
        let (s, v) = p
            .call(
                "POST",
                &format!("/cards/{card}/dispatch"),
                &disp,
                Some(json!({"unit_id": unit})),
            )
            .await;
        assert_eq!(s, 200, "{v}");
    }
    let (s, v) = p
        .call(
            "POST",
            &format!("/cards/{theirs}/units/p04/on-scene"),
            &patrol,
            None,
        )
        .await;
    assert_eq!(s, 403, "{v}");
    let (s, v) = p
        .call(
            "POST",
            &format!("/cards/{theirs}/report"),
            &patrol,
            Some(json!({"text": "чужой отчёт"})),
        )
        .await;
    assert_eq!(s, 403, "{v}");
    let (s, v) = p
        .call(
            "POST",
            &format!("/cards/{ours}/units/p03/on-scene"),
            &patrol,
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = p
        .call(
            "POST",
            &format!("/cards/{ours}/report"),
            &patrol,
            Some(json!({"text": "Велосипед найден"})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    // Dispatch still works for everyone: no unit was taken off duty by the patrol.
    let (_, units) = p.call("GET", "/units", &disp, None).await;
    let off: Vec<&Value> = units
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["status"] == "off_duty")
        .collect();
    assert!(off.is_empty(), "{off:?}");
}

/// Reads an SSE stream until it ends; true when it ended within the deadline.
async fn stream_ends(mut resp: reqwest::Response) -> bool {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        match tokio::time::timeout_at(deadline, resp.chunk()).await {
            Err(_) => return false,
            Ok(Ok(Some(_))) => continue,
            Ok(Ok(None)) | Ok(Err(_)) => return true,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_event_stream_ends_when_its_session_ends() {
    let p = NodeProc::start(4, "accounts.session_ttl_s = 20\n").await;
    let open = |token: String| {
        let p = &p;
        async move {
            let resp = p
                .http
                .get(p.url("/events"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 200);
            resp
        }
    };
    // Role change: a call-taker demoted to patrol stops receiving callers' data.
    let ct = p.user("op1", &["call_taker"]).await;
    let stream = open(ct.clone()).await;
    let (s, v) = p
        .call(
            "PATCH",
            "/accounts/op1",
            &p.admin,
            Some(json!({"roles": ["patrol"]})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert!(
        stream_ends(stream).await,
        "the stream outlived a role change"
    );

    // Logout.
    let t = p.user("op2", &["call_taker"]).await;
    let stream = open(t.clone()).await;
    let (s, _) = p.call("POST", "/auth/logout", &t, None).await;
    assert_eq!(s, 204);
    assert!(stream_ends(stream).await, "the stream outlived a logout");

    // Disable, then delete.
    let t = p.user("op3", &["dispatcher"]).await;
    let stream = open(t).await;
    let (s, _) = p
        .call(
            "PATCH",
            "/accounts/op3",
            &p.admin,
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!(s, 200);
    assert!(
        stream_ends(stream).await,
        "the stream outlived disabling the account"
    );
    let t = p.user("op4", &["dispatcher"]).await;
    let stream = open(t).await;
    let (s, _) = p.call("DELETE", "/accounts/op4", &p.admin, None).await;
    assert_eq!(s, 204);
    assert!(
        stream_ends(stream).await,
        "the stream outlived deleting the account"
    );

    // The user changes their own password: other sessions end.
    let t = p.user("op5", &["dispatcher"]).await;
    let other = p.first_login("op5", STAFF_PASSWORD, STAFF_PASSWORD).await;
    let stream = open(other).await;
    let (s, v) = p
        .call(
            "POST",
            "/auth/password",
            &t,
            Some(json!({"current_password": STAFF_PASSWORD, "new_password": "Another-Shift-Pass-9021"})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert!(
        stream_ends(stream).await,
        "the stream outlived a password change"
    );

    // Expiry (session_ttl_s = 20).
    let t = p.user("op6", &["dispatcher"]).await;
    let stream = open(t).await;
    let ended = tokio::time::timeout(Duration::from_secs(20) + DEADLINE, stream_ends(stream)).await;
    assert!(
        matches!(ended, Ok(true)),
        "the stream outlived its session's expiry"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_wrong_passwords_cannot_lock_out_an_account() {
    let p = NodeProc::start(5, "").await;
    let attacker = reqwest::Client::builder()
        .local_address(IpAddr::V4(SOURCE_B))
        .build()
        .unwrap();
    let mut throttled = 0;
    for i in 0..30 {
        let (s, v) = p
            .call_with(
                &attacker,
                "POST",
                "/auth/login",
                "",
                Some(json!({"login": "admin", "password": format!("guess-{i}-xxxxxx")})),
            )
            .await;
        assert!(s == 401 || s == 429, "{s} {v}");
        if s == 429 {
            throttled += 1;
            assert_eq!(v["code"], "login_throttled", "{v}");
        }
    }
    assert!(
        throttled > 0,
        "30 wrong passwords from one address were never slowed down"
    );
    // The real administrator, at another workstation, is not locked out.
    let (s, v) = p
        .call(
            "POST",
            "/auth/login",
            "",
            Some(json!({"login": "admin", "password": ADMIN_PASSWORD})),
        )
        .await;
    assert_eq!(
        s, 200,
        "the administrator was locked out by anonymous requests: {v}"
    );
    // Every lock is logged, and an administrator can lift it.
    let (s, audit) = p.call("GET", "/audit?limit=1000", &p.admin, None).await;
    assert_eq!(s, 200);
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "account.throttled" && e["target"] == "admin"),
        "{audit}"
    );
    let (s, v) = p
        .call("POST", "/accounts/admin/unlock", &p.admin, None)
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = p
        .call_with(
            &attacker,
            "POST",
            "/auth/login",
            "",
            Some(json!({"login": "admin", "password": "one-more-guess-xx"})),
        )
        .await;
    assert_eq!(s, 401, "after an unlock the address is not throttled: {v}");
}

fn header<'a>(r: &'a reqwest::Response, name: &str) -> &'a str {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_and_answer_carries_the_security_headers() {
    let p = NodeProc::start(6, "").await;
    let ct = p.user("op1", &["call_taker"]).await;
    for path in [
        "/",
        "/citizen",
        "/assets/app.js",
        "/assets/views/card_detail.js",
        "/kit/session.js",
        "/healthz",
        "/api/v1/me",
        "/api/v1/cards",
        "/api/v1/no-such-thing",
    ] {
        let r = p
            .http
            .get(format!("{}{path}", p.base))
            .bearer_auth(&ct)
            .send()
            .await
            .unwrap();
        let csp = header(&r, "content-security-policy");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp:?}");
        assert!(csp.contains("default-src 'self'"), "{path}: {csp:?}");
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
            "{path}: {csp:?}"
        );
        assert_eq!(header(&r, "x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header(&r, "x-frame-options"), "DENY", "{path}");
        assert!(!header(&r, "referrer-policy").is_empty(), "{path}");
        if path.starts_with("/api/") {
            assert!(header(&r, "cache-control").contains("no-store"), "{path}");
        }
        if path.ends_with(".js") {
            // Native ES modules: the browser runs them only with a JavaScript MIME type.
            assert_eq!(
                header(&r, "content-type"),
                "text/javascript; charset=utf-8",
                "{path}"
            );
        }
        let is_html = header(&r, "content-type").starts_with("text/html");
        let body = r.text().await.unwrap();
        if is_html {
            // No inline script or event handler: the policy would block it.
            for (i, _) in body.match_indices("<script") {
                let tag = &body[i..i + body[i..].find('>').unwrap()];
                assert!(tag.contains(" src="), "{path}: inline script {tag}");
            }
            assert!(
                !body.contains(" onclick=") && !body.contains(" onload="),
                "{path}"
            );
        }
    }
}

#[test]
fn every_console_file_is_embedded() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/console");
    let mut odd = server_kit::assets::unlisted(&dir, node::http::CONSOLE_ASSETS);
    odd.retain(|f| f != "index.html"); // served at `/`
    assert_eq!(odd, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_outside_the_console_and_kit_tables_is_a_json_404() {
    let p = NodeProc::start(10, "").await;
    for path in [
        "/assets/views%2F..%2Fapp.js",
        "/assets/..%2Fapp.js",
        "/assets/views/nope.js",
        "/assets/views/",
        "/kit/%2E%2E%2Fapp.js",
        "/kit/nope.js",
    ] {
        let r = p.http.get(format!("{}{path}", p.base)).send().await;
        let r = r.unwrap();
        assert_eq!(r.status(), 404, "{path}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["code"], "not_found", "{path}: {v}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cross_site_request_with_the_session_cookie_changes_nothing() {
    let p = NodeProc::start(7, "").await;
    p.user("op1", &["call_taker"]).await;
    let r = p
        .http
        .post(p.url("/auth/login"))
        .json(&json!({"login": "op1", "password": STAFF_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cookie = header(&r, "set-cookie")
        .split(';')
        .next()
        .unwrap()
        .to_string();
    assert!(cookie.starts_with("node_session="), "{cookie}");
    let token = r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let body = json!({"channel": "telegram", "description": "подделка"}).to_string();
    let count = || async {
        let (_, v) = p.call("GET", "/cards", &token, None).await;
        v.as_array().unwrap().len()
    };
    let before = count().await;
    // A form on another site posts text/plain with the cookie.
    for (ctype, origin) in [
        ("text/plain", Some("http://evil.example")),
        ("text/plain", None),
        (
            "application/x-www-form-urlencoded",
            Some("http://evil.example"),
        ),
        ("application/json", Some("http://evil.example")),
        ("application/json", None),
    ] {
        let mut req = p
            .http
            .post(p.url("/cards"))
            .header("cookie", &cookie)
            .header("content-type", ctype)
            .body(body.clone());
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        let r = req.send().await.unwrap();
        let s = r.status().as_u16();
        let v: Value = r.json().await.unwrap_or(Value::Null);
        assert!(s == 403 || s == 415, "{ctype} {origin:?}: {s} {v}");
        assert!(v["code"].is_string(), "{v}");
    }
    assert_eq!(count().await, before, "a cross-site request created a card");
    // The console itself: same origin, JSON, the cookie.
    let r = p
        .http
        .post(p.url("/cards"))
        .header("cookie", &cookie)
        .header("origin", &p.base)
        .json(&json!({"channel": "telegram", "description": "настоящая"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(count().await, before + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_with_trailing_bytes_or_unknown_fields_is_refused_and_every_error_is_json() {
    let p = NodeProc::start(8, "").await;
    let ct = p.user("op1", &["call_taker"]).await;
    let count = || async {
        let (_, v) = p.call("GET", "/cards", &ct, None).await;
        v.as_array().unwrap().len()
    };
    let raw = |method: &'static str, path: &'static str, body: &'static str| {
        let p = &p;
        let ct = ct.clone();
        async move {
            let r = p
                .http
                .request(method.parse().unwrap(), p.url(path))
                .bearer_auth(ct)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            let s = r.status().as_u16();
            let text = r.text().await.unwrap();
            let v: Value = serde_json::from_str(&text)
                .unwrap_or_else(|_| panic!("{method} {path}: not JSON: {s} {text:?}"));
            assert!(v["code"].is_string() && v["message"].is_string(), "{v}");
            (s, v)
        }
    };
    let before = count().await;
    let (s, v) = raw("POST", "/cards", "{\"channel\":\"telegram\"} xyz").await;
    assert_eq!(s, 400, "{v}");
    let (s, v) = raw(
        "POST",
        "/cards",
        "{\"channel\":\"telegram\"}{\"channel\":\"email\"}",
    )
    .await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(count().await, before, "trailing bytes created a card");
    let (s, v) = raw(
        "POST",
        "/accounts",
        "{\"login\":\"x1x\",\"full_name\":\"X\",\"password\":\"Long-Enough-Pass-771\",\"roles\":[\"patrol\"],\"superuser\":true}",
    )
    .await;
    assert!(s == 400 || s == 403, "{v}");
    let (s, v) = p
        .call(
            "POST",
            "/accounts",
            &p.admin,
            Some(
                json!({"login": "x1x", "full_name": "X", "password": "Long-Enough-Pass-771",
                "roles": ["patrol"], "superuser": true}),
            ),
        )
        .await;
    assert_eq!((s, v["code"].as_str()), (400, Some("unknown_field")), "{v}");
    // 405, a bad query string and a bad path are JSON errors too.
    let (s, v) = raw("DELETE", "/cards", "").await;
    assert_eq!(
        (s, v["code"].as_str()),
        (405, Some("method_not_allowed")),
        "{v}"
    );
    let (s, _) = raw("GET", "/cards?limit=many", "").await;
    assert_eq!(s, 400);
    let (s, _) = raw("GET", "/cards/%FF%FE", "").await;
    assert!(s == 400 || s == 404, "{s}");
    // A card may have an address and no coordinates.
    let (s, v) = p
        .call(
            "POST",
            "/cards",
            &ct,
            Some(json!({"channel": "app102_text", "location": {"address": "Астана, Сарайшық көшесі, 5"},
                "description": "Шум во дворе"})),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["location"]["address"], "Астана, Сарайшық көшесі, 5");
    // But not coordinates half given.
    let (s, v) = p
        .call(
            "POST",
            "/cards",
            &ct,
            Some(json!({"channel": "app102_text", "location": {"lat": 51.1}})),
        )
        .await;
    assert_eq!(s, 422, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bootstrap_password_is_one_time_and_admin_does_not_read_cards() {
    let p = NodeProc::start(9, "").await;
    // The bootstrap password no longer works once the administrator set their own.
    let (s, _) = p
        .call(
            "POST",
            "/auth/login",
            "",
            Some(json!({"login": "admin", "password": BOOTSTRAP_PASSWORD})),
        )
        .await;
    assert_eq!(s, 401);
    // A temporary password allows nothing but setting a new one.
    let (s, v) = p
        .call(
            "POST",
            "/accounts",
            &p.admin,
            Some(
                json!({"login": "disp9", "full_name": "Диспетчер", "password": TEMP_PASSWORD,
                "roles": ["dispatcher"]}),
            ),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = p
        .call(
            "POST",
            "/auth/login",
            "",
            Some(json!({"login": "disp9", "password": TEMP_PASSWORD})),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(v["user"]["must_change_password"], true, "{v}");
    let temp = v["token"].as_str().unwrap().to_string();
    let (s, v) = p.call("GET", "/cards", &temp, None).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (403, Some("password_change_required")),
        "{v}"
    );
    // Weak passwords and the login as password are refused.
    for weak in ["disp9disp9disp9", "password1234", "qwertyuiop123"] {
        let (s, v) = p
            .call(
                "POST",
                "/auth/password",
                &temp,
                Some(json!({"current_password": TEMP_PASSWORD, "new_password": weak})),
            )
            .await;
        assert_eq!(
            (s, v["code"].as_str()),
            (422, Some("weak_password")),
            "{weak}: {v}"
        );
    }
    let (s, v) = p
        .call(
            "POST",
            "/auth/password",
            &temp,
            Some(json!({"current_password": TEMP_PASSWORD, "new_password": STAFF_PASSWORD})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, _) = p.call("GET", "/cards", &temp, None).await;
    assert_eq!(s, 200);
    // The administrator manages accounts; it does not read cards, callers or recordings.
    for path in [
        "/cards",
        "/calls",
        "/recordings",
        "/warnings?address=Кенесары%2040",
    ] {
        let (s, v) = p.call("GET", path, &p.admin, None).await;
        assert_eq!(s, 403, "{path}: {v}");
    }
}
