//! Citizen calls through a real node over real sockets: the citizen's WebSocket signalling, the
//! operators' HTTP API, WebRTC media relayed by the node between headless clients (the `media`
//! crate's own, sending media they generate), the card a call opens, recordings, their audit and
//! retention (R03, R09, R10).

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use futures::SinkExt;
use media::client::{HeadlessCitizen, HeadlessConfig, HeadlessOperator};
use node::config::Config;
use node::server::open_node;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

use common::{ice_greeting, json_or_text, next, send, until, Ws};

const ADMIN_PASSWORD: &str = "admin-password-1";
const PASSWORD: &str = "long-password-1";
/// What every account sets at its first login (the given passwords are temporary).
const OWN_PASSWORD: &str = "Own-Shift-Password-2026";
/// How long anything in these tests may take to happen.
const DEADLINE: Duration = Duration::from_secs(20);

struct TestNode {
    base: String,
    addr: SocketAddr,
    http: reqwest::Client,
    admin: String,
    node: node::server::Node,
    _dir: tempfile::TempDir,
}

/// A UDP port range of this test process's own, so tests running in parallel never collide.
fn port_range() -> (u16, u16) {
    let base = 41_000 + (std::process::id() % 200) as u16 * 100;
    (base, base + 99)
}

async fn start_with(tune: impl FnOnce(&mut Config)) -> TestNode {
    let mut c = Config::load(None).unwrap();
    c.accounts.argon2_memory_kib = 1024;
    let (min, max) = port_range();
    c.calls.udp_port_min = min;
    c.calls.udp_port_max = max;
    // Every test call comes from 127.0.0.1; the per-source limits have tests of their own
    // (tests/hardening.rs).
    c.calls.source_calls_per_min_max = 500;
    c.calls.source_live_calls_max = 100;
    c.calls.source_sockets_max = 100;
    tune(&mut c);
    let dir = tempfile::tempdir().unwrap();
    let node = open_node(&c, &dir.path().join("node"), Some(ADMIN_PASSWORD.into()))
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app =
        node::http::app(node.state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let mut t = TestNode {
        base: format!("http://{addr}"),
        addr,
        http: reqwest::Client::new(),
        admin: String::new(),
        node,
        _dir: dir,
    };
    t.admin = t.activate("admin", ADMIN_PASSWORD).await;
    t
}

async fn start() -> TestNode {
    start_with(|_| {}).await
}

impl TestNode {
    async fn call(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let url = format!("{}/api/v1{path}", self.base);
        let mut req = self
            .http
            .request(method.parse().unwrap(), url)
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.unwrap();
        (status, json_or_text(&bytes))
    }

    async fn login(&self, login: &str, password: &str) -> String {
        let (s, v) = self
            .call(
                "POST",
                "/auth/login",
                "",
                Some(json!({"login": login, "password": password})),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        v["token"].as_str().unwrap().to_string()
    }

    async fn user(&self, login: &str, roles: &[&str]) -> String {
        let (s, v) = self
            .call(
                "POST",
                "/accounts",
                &self.admin,
                Some(json!({"login": login, "full_name": format!("{login} test"),
                    "password": PASSWORD, "roles": roles})),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        self.activate(login, PASSWORD).await
    }

    /// First login with a temporary password: sets [`OWN_PASSWORD`] and returns the session.
    async fn activate(&self, login: &str, temporary: &str) -> String {
        let token = self.login(login, temporary).await;
        let (s, v) = self
            .call(
                "POST",
                "/auth/password",
                &token,
                Some(json!({"current_password": temporary, "new_password": OWN_PASSWORD})),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        token
    }

    async fn ws(&self) -> Ws {
        let (mut ws, _) =
            tokio_tungstenite::connect_async(format!("ws://{}/citizen/v1/ws", self.addr))
                .await
                .unwrap();
        ice_greeting(&mut ws, DEADLINE).await;
        ws
    }

    async fn calls(&self, token: &str) -> Vec<Value> {
        let (s, v) = self.call("GET", "/calls", token, None).await;
        assert_eq!(s, 200, "{v}");
        v.as_array().unwrap().clone()
    }
}

fn location() -> Value {
    json!({"lat": 51.1282, "lon": 71.4304, "accuracy_m": 12.0,
        "time_ms": node::http::now_ms(), "method": "gps"})
}

/// A citizen calls: returns the client, its signalling socket and the call id.
async fn ring(
    t: &TestNode,
    channel: &str,
    phone: &str,
    video: bool,
) -> (HeadlessCitizen, Ws, String) {
    let citizen = HeadlessCitizen::new(HeadlessConfig {
        video,
        ..HeadlessConfig::default()
    })
    .await
    .unwrap();
    let offer = citizen.offer().await.unwrap();
    let mut ws = t.ws().await;
    send(
        &mut ws,
        json!({"type": "call", "sdp": offer, "call": {"channel": channel, "video": video,
            "caller": {"phone": phone, "language": "kk"}, "app_version": "3.4.0", "location": location()}}),
    )
    .await;
    let answer = next(&mut ws, DEADLINE).await.expect("an answer");
    assert_eq!(answer["type"], "answer", "{answer}");
    citizen
        .accept_answer(answer["sdp"].as_str().unwrap())
        .await
        .unwrap();
    let id = answer["call_id"].as_str().unwrap().to_string();
    (citizen, ws, id)
}

/// An operator tries to accept `id` with a new headless console: the client, the status and
/// the response.
async fn try_accept(t: &TestNode, token: &str, id: &str) -> (HeadlessOperator, u16, Value) {
    let op = HeadlessOperator::new(HeadlessConfig::default())
        .await
        .unwrap();
    let offer = op.offer().await.unwrap();
    let (s, v) = t
        .call(
            "POST",
            &format!("/calls/{id}/accept"),
            token,
            Some(json!({"sdp": offer})),
        )
        .await;
    (op, s, v)
}

/// An operator accepts `id`: returns the client and the accept response.
async fn accept(t: &TestNode, token: &str, id: &str) -> (HeadlessOperator, Value) {
    let (op, s, v) = try_accept(t, token, id).await;
    assert_eq!(s, 200, "{v}");
    op.accept_answer(v["sdp"].as_str().unwrap()).await.unwrap();
    (op, v)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r03_call_rings_with_location_operator_accepts_media_flows_both_ways_card_prefilled() {
    let t = start().await;
    let op1 = t.user("op1", &["call_taker"]).await;
    let op2 = t.user("op2", &["call_taker"]).await;
    let (citizen, mut ws, id) = ring(&t, "app102_call", "+77015550101", true).await;
    // It rings in the queue with the caller's position and channel.
    let calls = t.calls(&op1).await;
    let c = calls.iter().find(|c| c["id"] == id.as_str()).unwrap();
    assert_eq!(c["phase"], "ringing");
    assert_eq!(c["channel"], "app102_call");
    assert_eq!(c["location"]["lat"], 51.1282);
    assert_eq!(c["caller"]["phone"], "+77015550101");
    let (operator, v) = accept(&t, &op1, &id).await;
    // R03: the card opens pre-filled with the caller and the location.
    let card = &v["card"];
    assert_eq!(card["channel"], "app102_call");
    assert_eq!(card["caller"]["phone"], "+77015550101");
    assert_eq!(card["location"]["lon"], 71.4304);
    // R35: the point says it came from the handset (the app's AML), nothing more.
    assert_eq!(card["location"]["source"], "app");
    assert_eq!(card["status"], "new");
    assert_eq!(v["call"]["card_id"], card["id"]);
    assert_eq!(next(&mut ws, DEADLINE).await.unwrap()["type"], "answered");
    // The first to accept takes it.
    let (other, s, e) = try_accept(&t, &op2, &id).await;
    assert_eq!((s, e["code"].as_str()), (409, Some("call_taken")), "{e}");
    other.close().await;
    // Media flows both ways through the node.
    until(
        DEADLINE,
        "the operator receives the caller's audio and video",
        || async {
            let s = operator.stats();
            s.audio_packets_received > 25 && s.video_frames_received > 10
        },
    )
    .await;
    until(
        DEADLINE,
        "the caller receives the operator's audio",
        || async { citizen.stats().audio_packets_received > 25 },
    )
    .await;
    // The operator hangs up: the app is told, the recording is kept with its duration.
    let (s, rec) = t
        .call("POST", &format!("/calls/{id}/hangup"), &op1, None)
        .await;
    assert_eq!(s, 200, "{rec}");
    assert_eq!(rec["call"]["phase"], "ended");
    assert_eq!(next(&mut ws, DEADLINE).await.unwrap()["type"], "ended");
    let files = rec["recording"]["files"].as_array().unwrap();
    for name in [
        "citizen-audio.ogg",
        "citizen-video.ivf",
        "operator-audio.ogg",
    ] {
        let f = files
            .iter()
            .find(|f| f["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {rec}"));
        assert!(f["duration_ms"].as_u64().unwrap() > 300, "{f}");
        let path = t.node.state.calls.recordings_dir().join(&id).join(name);
        assert!(
            media::recording_duration_ms(&path).unwrap() > 300,
            "{name} reads back"
        );
    }
    citizen.close().await;
    operator.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r10_sos_rings_first_and_opens_its_card_before_anyone_answers() {
    let t = start().await;
    let op = t.user("op1", &["call_taker"]).await;
    let (c1, _ws1, first) = ring(&t, "app102_call", "+77015550201", false).await;
    let (c2, _ws2, sos) = ring(&t, "sos_video", "+77015550202", true).await;
    let calls = t.calls(&op).await;
    assert_eq!(calls[0]["id"], sos.as_str(), "SOS rings first");
    assert_eq!(calls[1]["id"], first.as_str());
    let card_id = calls[0]["card_id"]
        .as_str()
        .expect("SOS has its card at once");
    let (s, card) = t.call("GET", &format!("/cards/{card_id}"), &op, None).await;
    assert_eq!(s, 200);
    assert_eq!(card["channel"], "sos_video");
    assert_eq!(card["caller"]["phone"], "+77015550202");
    assert_eq!(card["location"]["lat"], 51.1282);
    assert!(
        calls[1]["card_id"].is_null(),
        "an ordinary call opens its card on answer"
    );
    // Answering the SOS call keeps its card.
    let (operator, v) = accept(&t, &op, &sos).await;
    assert_eq!(v["card"]["id"], card_id);
    for c in [c1, c2] {
        c.close().await;
    }
    operator.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_hung_up_before_an_answer_is_abandoned_with_its_callback_number() {
    let t = start().await;
    let op = t.user("op1", &["call_taker"]).await;
    let sup = t.user("sup", &["supervisor"]).await;
    let (citizen, mut ws, id) = ring(&t, "zakon_poryadok_call", "+77015550301", false).await;
    send(&mut ws, json!({"type": "hangup"})).await;
    until(DEADLINE, "the call is abandoned", || async {
        t.calls(&op)
            .await
            .iter()
            .any(|c| c["id"] == id.as_str() && c["phase"] == "abandoned")
    })
    .await;
    let (_, rec) = t.call("GET", &format!("/calls/{id}"), &sup, None).await;
    assert_eq!(rec["call"]["caller"]["phone"], "+77015550301");
    assert_eq!(rec["call"]["end_reason"], "citizen_hung_up");
    // The record is written after the queue changes (the media leg is closed first).
    until(
        DEADLINE,
        "the abandoned call is in the audit log",
        || async {
            let (_, audit) = t.call("GET", "/audit?limit=50", &sup, None).await;
            audit
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["action"] == "call.abandon" && e["target"] == id.as_str())
        },
    )
    .await;
    citizen.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transferred_call_rings_for_the_chosen_operator_and_media_follows() {
    let t = start().await;
    let op1 = t.user("op1", &["call_taker"]).await;
    let op2 = t.user("op2", &["call_taker"]).await;
    let op3 = t.user("op3", &["call_taker"]).await;
    let (citizen, mut ws, id) = ring(&t, "app102_call", "+77015550401", false).await;
    let (first, _) = accept(&t, &op1, &id).await;
    assert_eq!(next(&mut ws, DEADLINE).await.unwrap()["type"], "answered");
    let (s, c) = t
        .call(
            "POST",
            &format!("/calls/{id}/transfer"),
            &op1,
            Some(json!({"to": "op2"})),
        )
        .await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(
        (c["phase"].as_str(), c["offered_to"].as_str()),
        (Some("ringing"), Some("op2"))
    );
    assert_eq!(
        next(&mut ws, DEADLINE).await.unwrap()["type"],
        "transferring"
    );
    first.close().await;
    let (probe, s, e) = try_accept(&t, &op3, &id).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (409, Some("call_offered_to_other")),
        "{e}"
    );
    probe.close().await;
    let (second, _) = accept(&t, &op2, &id).await;
    until(DEADLINE, "the second operator hears the caller", || async {
        second.stats().audio_packets_received > 25
    })
    .await;
    // Transfers to nobody or to oneself are refused.
    let (s, _) = t
        .call(
            "POST",
            &format!("/calls/{id}/transfer"),
            &op2,
            Some(json!({"to": "ghost"})),
        )
        .await;
    assert_eq!(s, 422);
    let (s, e) = t
        .call(
            "POST",
            &format!("/calls/{id}/transfer"),
            &op2,
            Some(json!({"to": "op2"})),
        )
        .await;
    assert_eq!((s, e["code"].as_str()), (422, Some("transfer_to_self")));
    citizen.close().await;
    second.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r09_recordings_play_by_role_are_audited_and_expire_unless_held_for_kui() {
    let t = start().await;
    let op = t.user("op1", &["call_taker"]).await;
    let disp = t.user("disp", &["dispatcher"]).await;
    let duty = t.user("duty", &["duty_officer"]).await;
    let sup = t.user("sup", &["supervisor"]).await;
    let mut ids = Vec::new();
    let mut cards = Vec::new();
    for phone in ["+77015550501", "+77015550502"] {
        let (citizen, _ws, id) = ring(&t, "app102_call", phone, false).await;
        let (operator, v) = accept(&t, &op, &id).await;
        until(DEADLINE, "media reaches the operator", || async {
            operator.stats().audio_packets_received > 25
        })
        .await;
        let (s, _) = t
            .call("POST", &format!("/calls/{id}/hangup"), &op, None)
            .await;
        assert_eq!(s, 200);
        cards.push(v["card"]["id"].as_str().unwrap().to_string());
        ids.push(id);
        citizen.close().await;
        operator.close().await;
    }
    // The second card goes to the duty unit and is registered in КУИ: its recording is held.
    let held_card = &cards[1];
    let steps = [
        (
            "PATCH",
            format!("/cards/{held_card}"),
            &op,
            Some(json!({"category": "assault"})),
        ),
        (
            "POST",
            format!("/cards/{held_card}/send-for-processing"),
            &op,
            None,
        ),
        (
            "POST",
            format!("/cards/{held_card}/forward"),
            &disp,
            Some(json!({"duty_unit": "du-saryarka"})),
        ),
        (
            "POST",
            format!("/cards/{held_card}/kui"),
            &duty,
            Some(json!({"number": "КУИ-2026-000123"})),
        ),
    ];
    for (method, path, token, body) in steps {
        let (s, e) = t.call(method, &path, token, body).await;
        assert_eq!(s, 200, "{method} {path}: {e}");
    }

    // Playback by role, audited.
    let file = format!("/recordings/{}/files/citizen-audio.ogg", ids[0]);
    let (s, _) = t.call("GET", &file, &op, None).await;
    assert_eq!(s, 403, "a call taker does not play recordings");
    let resp = t
        .http
        .get(format!("{}/api/v1{file}", t.base))
        .bearer_auth(&sup)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["content-type"], "audio/ogg");
    let bytes = resp.bytes().await.unwrap();
    assert_eq!(&bytes[..4], b"OggS");
    let (s, _) = t
        .call("GET", &format!("{file}?export=true"), &duty, None)
        .await;
    assert_eq!(s, 200);
    let (_, audit) = t.call("GET", "/audit?limit=100", &sup, None).await;
    let audit = audit.as_array().unwrap();
    assert!(audit.iter().any(|e| e["action"] == "recording.play"
        && e["actor"] == "sup"
        && e["target"] == ids[0].as_str()));
    assert!(audit
        .iter()
        .any(|e| e["action"] == "recording.export" && e["actor"] == "duty"));
    let (s, e) = t
        .call(
            "GET",
            &format!("/recordings/{}/files/..%2F..%2Fstore.id", ids[0]),
            &sup,
            None,
        )
        .await;
    assert_eq!(s, 404, "only listed files are served: {e}");
    let (_, list) = t
        .call("GET", &format!("/recordings?card={held_card}"), &duty, None)
        .await;
    assert_eq!(list.as_array().unwrap().len(), 1);

    // Nothing expires within the retention period.
    let calls = &t.node.state.calls;
    let now = node::http::now_ms();
    assert_eq!(calls.sweep_retention(now).await.unwrap(), (0, 0));
    // After it, the first recording is deleted; the КУИ one is held.
    let later = now + 30 * 86_400_000 + 60_000;
    assert_eq!(calls.sweep_retention(later).await.unwrap(), (1, 1));
    assert!(
        !calls.recordings_dir().join(&ids[0]).exists(),
        "files are gone"
    );
    assert!(calls
        .recordings_dir()
        .join(&ids[1])
        .join("citizen-audio.ogg")
        .exists());
    let (s, e) = t.call("GET", &file, &sup, None).await;
    assert_eq!((s, e["code"].as_str()), (410, Some("expired")), "{e}");
    let (_, rec) = t
        .call("GET", &format!("/calls/{}", ids[1]), &sup, None)
        .await;
    assert_eq!(rec["recording"]["held"], true);
    let (_, audit) = t.call("GET", "/audit?limit=100", &sup, None).await;
    let audit = audit.as_array().unwrap();
    assert!(audit
        .iter()
        .any(|e| e["action"] == "recording.expire" && e["target"] == ids[0].as_str()));
    assert!(audit
        .iter()
        .any(|e| e["action"] == "recording.hold" && e["target"] == ids[1].as_str()));
    // A second sweep changes nothing.
    assert_eq!(calls.sweep_retention(later).await.unwrap(), (0, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_signalling_gets_a_clear_error_and_a_clean_close() {
    let t = start_with(|c| {
        c.calls.citizen_messages_per_s = 5;
        c.calls.ice_connect_timeout_ms = 1_500;
    })
    .await;
    let op = t.user("op1", &["call_taker"]).await;
    let citizen = HeadlessCitizen::new(HeadlessConfig::default())
        .await
        .unwrap();
    let offer = citizen.offer().await.unwrap();
    let call = |channel: &str, sdp: &str| json!({"type": "call", "sdp": sdp, "call": {"channel": channel, "caller": {"phone": "+77015550601"}}});
    let cases: Vec<(Message, &str)> = vec![
        (Message::Text("not json".into()), "bad_message"),
        (Message::Binary(vec![1, 2, 3].into()), "bad_message"),
        (Message::Text(json!({"type": "hangup"}).to_string().into()), "call_expected"),
        (Message::Text(call("telegram", &offer).to_string().into()), "not_a_call_channel"),
        (Message::Text(call("app102_call", "v=0 garbage").to_string().into()), "malformed_sdp"),
        (
            Message::Text(json!({"type": "call", "sdp": offer, "call": {"channel": "app102_call", "extra": 1}}).to_string().into()),
            "bad_message",
        ),
    ];
    for (msg, code) in cases {
        let mut ws = t.ws().await;
        ws.send(msg).await.unwrap();
        let e = next(&mut ws, DEADLINE).await.unwrap();
        assert_eq!(
            (e["type"].as_str(), e["code"].as_str()),
            (Some("error"), Some(code)),
            "{e}"
        );
        assert!(
            next(&mut ws, DEADLINE).await.is_none(),
            "closed after {code}"
        );
    }
    // An offer without Opus.
    let pcmu = offer.replace("opus/48000/2", "PCMU/8000");
    let mut ws = t.ws().await;
    send(&mut ws, call("app102_call", &pcmu)).await;
    let e = next(&mut ws, DEADLINE).await.unwrap();
    assert_eq!(e["code"], "unsupported_codecs", "{e}");
    // An oversized message closes the socket.
    let mut ws = t.ws().await;
    let huge = "x".repeat(t.node.state.calls.settings().citizen_message_bytes_max + 1);
    let _ = ws.send(Message::Text(huge.into())).await;
    assert!(
        next(&mut ws, DEADLINE).await.is_none(),
        "an oversized message closes the socket"
    );
    assert!(t.calls(&op).await.is_empty(), "nothing rang");

    // An impossible location is dropped with a warning; the call still rings.
    let mut ws = t.ws().await;
    send(
        &mut ws,
        json!({"type": "call", "sdp": offer, "call": {"channel": "app102_call",
            "caller": {"phone": "+77015550602"}, "location": {"lat": 95.0, "lon": 71.4}}}),
    )
    .await;
    assert_eq!(next(&mut ws, DEADLINE).await.unwrap()["type"], "answer");
    let w = next(&mut ws, DEADLINE).await.unwrap();
    assert_eq!(
        (w["type"].as_str(), w["code"].as_str()),
        (Some("warning"), Some("location_invalid")),
        "{w}"
    );
    let calls = t.calls(&op).await;
    assert_eq!(calls.len(), 1);
    assert!(calls[0]["location"].is_null());
    // The answer was never applied, so ICE never completes: the call ends and frees its port.
    until(
        DEADLINE,
        "a call whose media never connects is ended",
        || async { t.calls(&op).await.iter().all(|c| c["phase"] == "abandoned") },
    )
    .await;
    assert_eq!(next(&mut ws, DEADLINE).await.unwrap()["type"], "ended");
    assert_eq!(t.node.state.calls.media().stats().active_calls, 0);

    // A flood of messages is cut off by the rate limit.
    let (flooder, mut ws, _) = ring(&t, "app102_call", "+77015550603", false).await;
    let mut closed = false;
    for _ in 0..100 {
        if ws
            .send(Message::Text(
                json!({"type": "location", "location": location()})
                    .to_string()
                    .into(),
            ))
            .await
            .is_err()
        {
            closed = true;
            break;
        }
    }
    loop {
        match next(&mut ws, DEADLINE).await {
            None => break,
            Some(m) if m["type"] == "error" => {
                assert_eq!(m["code"], "rate_limited", "{m}");
                closed = true;
            }
            Some(_) => {}
        }
    }
    assert!(closed, "the flood was refused");
    flooder.close().await;
    citizen.close().await;
}
