//! R23, R37: a district inspector's meeting notice is delivered through the channels the node
//! has: a post to the region's Telegram channel and VK wall (the vendors' stand-ins, speaking
//! their documented wire formats over loopback), an e-mail to each invitee with an address (a
//! real SMTP server, `aiosmtpd`), the public page beside the web widget, and a printable Word
//! notice. Deliveries go through the node's one durable outbox, are retried, and their states
//! are recorded on the meeting.

mod common;

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use node::channels::email::{EmailSection, RelaySection, RelayTls};
use node::config::{Config, TelegramSection, VkSection};
use node::server::open_node;
use serde_json::{json, Value};
use sync::calendar::Day;

use common::api_node::{test_config, TestNode, ADMIN_PASSWORD};
use common::smtp_sink::Sink;
use common::tgvk_stand_in::{start_stand_in, StandIn, TOKEN, VK_TOKEN};

const WITHIN: Duration = Duration::from_secs(30);
const CHANNEL: &str = "@police102_ast";
const VK_GROUP: i64 = 4242;
const PLACE_RU: &str = "Школа № 12, актовый зал";
const PLACE_KK: &str = "№ 12 мектеп, акт залы";
/// The demo reference's invitees of beat `saryarka-01` that have an e-mail address.
const INVITEE_ADDRESSES: [&str; 9] = [
    "akimat.saryarka@example.kz",
    "maslikhat@example.kz",
    "council@example.kz",
    "health@example.kz",
    "social@example.kz",
    "education@example.kz",
    "housing@example.kz",
    "enterprises.saryarka@example.kz",
    "press@example.kz",
];

struct World {
    node: node::server::Node,
    t: TestNode,
    inspector: String,
    stand_in: Arc<StandIn>,
    sink: Sink,
    today: Day,
}

fn config(dir: &std::path::Path, api: std::net::SocketAddr, smtp_port: u16) -> Config {
    std::fs::write(dir.join("telegram.token"), TOKEN).unwrap();
    std::fs::write(dir.join("vk.token"), VK_TOKEN).unwrap();
    std::fs::write(dir.join("vk.secret"), "secret").unwrap();
    let mut c = test_config();
    c.telegram = Some(TelegramSection {
        token_file: Some(dir.join("telegram.token")),
        token_env: None,
        api_url: format!("http://{api}"),
        webhook_url: None,
        poll_timeout_s: 1,
        channel_chat_id: Some(CHANNEL.into()),
        ca_file: "/nonexistent".into(),
    });
    c.vk = Some(VkSection {
        group_id: VK_GROUP,
        confirmation: "d8v2ve07".into(),
        secret_file: Some(dir.join("vk.secret")),
        secret_env: None,
        token_file: Some(dir.join("vk.token")),
        token_env: None,
        api_url: format!("http://{api}"),
        api_version: "5.199".into(),
        ca_file: "/nonexistent".into(),
    });
    c.email = Some(EmailSection {
        listen: "127.0.0.1:0".parse().unwrap(),
        mailboxes: vec!["102@ast.police.kz".into()],
        domain: Some("node.ast.police.kz".into()),
        starttls: false,
        relay: Some(RelaySection {
            host: "127.0.0.1".into(),
            port: Some(smtp_port),
            tls: RelayTls::None,
            ca_file: None,
            username: None,
            password_file: None,
        }),
    });
    c
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let (stand_in, api) = start_stand_in().await;
    let sink = Sink::start(None).await;
    let data = dir.path().join("node");
    let node = open_node(
        &config(dir.path(), api, sink.port),
        &data,
        Some(ADMIN_PASSWORD.to_string()),
    )
    .await
    .unwrap();
    let mut t = TestNode {
        app: node::http::app(node.state.clone()),
        _dir: dir,
        data,
        admin: String::new(),
    };
    t.admin = t.activate("admin", ADMIN_PASSWORD).await;
    let inspector = t
        .user("uip.saryarka01", &["district_inspector"], None)
        .await;
    let offset = node.state.service.reference().shifts.utc_offset_min;
    let today = Day::from_ms(node::http::now_ms(), offset);
    World {
        node,
        t,
        inspector,
        stand_in,
        sink,
        today,
    }
}

impl World {
    /// A meeting of `saryarka-01` planned `days` ahead.
    async fn plan(&self, days: i64) -> String {
        let date = self.today.plus_days(days);
        let m = self
            .t
            .ok(
                "POST",
                "/api/v1/meetings",
                &self.inspector,
                Some(json!({"beats": ["saryarka-01"], "format": "gathering",
                    "date": date.to_string(), "time": "18:00",
                    "place_kk": PLACE_KK, "place_ru": PLACE_RU, "language": "ru"})),
            )
            .await;
        m["id"].as_str().unwrap().to_string()
    }

    async fn meeting(&self, id: &str) -> Value {
        self.t
            .ok(
                "GET",
                &format!("/api/v1/meetings/{id}"),
                &self.inspector,
                None,
            )
            .await
    }

    /// Waits until every delivery of the meeting's notice is `sent`; returns the meeting.
    async fn all_sent(&self, id: &str, targets: usize) -> Value {
        common::until(WITHIN, "every delivery of the notice is sent", || async {
            let m = self.meeting(id).await;
            let d = m["notice"]["deliveries"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            d.len() == targets && d.iter().all(|d| d["state"] == "sent")
        })
        .await;
        self.meeting(id).await
    }
}

/// `YYYY-MM-DD` as the notice writes it, `DD.MM.YYYY`.
fn short(day: Day) -> String {
    let s = day.to_string();
    format!("{}.{}.{}", &s[8..10], &s[5..7], &s[0..4])
}

fn document_xml(docx: &[u8]) -> String {
    use std::io::Read;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(docx)).expect("a DOCX is a zip");
    let mut xml = String::new();
    zip.by_name("word/document.xml")
        .expect("word/document.xml in the package")
        .read_to_string(&mut xml)
        .unwrap();
    xml
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r37_a_published_notice_reaches_the_telegram_channel_the_vk_wall_the_invitees_and_the_page()
{
    let w = world().await;
    let id = w.plan(12).await;
    let date = w.today.plus_days(12);
    let m =
        w.t.ok(
            "POST",
            &format!("/api/v1/meetings/{id}/notice"),
            &w.inspector,
            Some(json!({"channels": ["page", "telegram", "vk", "email", "print"]})),
        )
        .await;
    // Queued with the notice, in the same write: one per target.
    let queued = m["notice"]["deliveries"].as_array().unwrap();
    assert_eq!(queued.len(), 2 + INVITEE_ADDRESSES.len(), "{m}");
    assert!(queued
        .iter()
        .any(|d| d["target"] == "email:akimat-saryarka"));

    let m = w.all_sent(&id, 2 + INVITEE_ADDRESSES.len()).await;
    let deliveries = m["notice"]["deliveries"].as_array().unwrap();
    assert!(
        deliveries.iter().all(|d| d["external_id"].is_string()),
        "{deliveries:?}"
    );
    let (day, time) = (short(date), "18:00");

    // Telegram: one post to the region's channel, with the date, the time and the place.
    let posts = w.stand_in.recorded("/sendMessage");
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert_eq!(posts[0].body["chat_id"], CHANNEL);
    let text = posts[0].body["text"].as_str().unwrap();
    for want in [day.as_str(), time, PLACE_RU, PLACE_KK] {
        assert!(
            text.contains(want),
            "{want} not in the Telegram post: {text}"
        );
    }
    // VK: one post on the community's own wall, its guid the delivery's idempotency key.
    let walls = w.stand_in.recorded("/wall.post");
    assert_eq!(walls.len(), 1, "{walls:?}");
    assert_eq!(walls[0].body["owner_id"], format!("-{VK_GROUP}"));
    assert_eq!(walls[0].body["from_group"], "1");
    assert!(!walls[0].body["guid"].as_str().unwrap().is_empty());
    let text = walls[0].body["message"].as_str().unwrap();
    for want in [day.as_str(), time, PLACE_RU] {
        assert!(text.contains(want), "{want} not in the VK post: {text}");
    }
    // E-mail: one letter to each invitee with an address, at the SMTP server.
    let letters = w.sink.messages();
    assert_eq!(letters.len(), INVITEE_ADDRESSES.len());
    let mut to: Vec<String> = Vec::new();
    for raw in &letters {
        let parsed = mail_parser::MessageParser::default().parse(raw).unwrap();
        let body = parsed.body_text(0).unwrap().to_string();
        for want in [day.as_str(), time, PLACE_RU, PLACE_KK] {
            assert!(body.contains(want), "{want} not in the e-mail: {body}");
        }
        assert!(!parsed.subject().unwrap().starts_with("Re:"));
        to.push(
            parsed
                .to()
                .and_then(|a| a.first())
                .and_then(|a| a.address())
                .unwrap()
                .to_string(),
        );
    }
    to.sort();
    let mut want: Vec<String> = INVITEE_ADDRESSES.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(to, want);
    assert!(w.node.state.inbox.outbox().entries().unwrap().is_empty());

    // The public page and its JSON, without a login.
    let (s, v) = w.t.call("GET", "/api/v1/public/meetings", "", None).await;
    assert_eq!(s, StatusCode::OK);
    let listed = v["meetings"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{v}");
    assert_eq!(listed[0]["id"], id.as_str());
    assert_eq!(listed[0]["place_ru"], PLACE_RU);
    let (s, page) = w.t.bytes("/citizen/meetings", "").await;
    assert_eq!(s, StatusCode::OK);
    let page = String::from_utf8(page).unwrap();
    for want in [day.as_str(), time, PLACE_RU, PLACE_KK] {
        assert!(page.contains(want), "{want} not on the page");
    }

    // Documented in the node's OpenAPI.
    let (_, api) = w.t.call("GET", "/api/v1/openapi.json", "", None).await;
    for path in [
        "/api/v1/public/meetings",
        "/api/v1/meetings/{id}/notice.docx",
    ] {
        assert!(api["paths"][path].is_object(), "{path} not documented");
    }
    // Every schema of the notices that the document refers to is in it.
    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(o) => {
                if let Some(Value::String(r)) = o.get("$ref") {
                    out.push(r.clone());
                }
                o.values().for_each(|v| refs(v, out));
            }
            Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&api, &mut all);
    for r in all {
        let name = r.trim_start_matches("#/components/schemas/");
        if ![
            "Notice",
            "NoticeDelivery",
            "DeliveryState",
            "PublicNotice",
            "PublicMeetings",
        ]
        .contains(&name)
        {
            continue;
        }
        assert!(
            api["components"]["schemas"][name].is_object(),
            "{r} is not in the document"
        );
    }

    // The printable notice opens as a Word document with the place.
    let (s, docx) =
        w.t.bytes(&format!("/api/v1/meetings/{id}/notice.docx"), &w.inspector)
            .await;
    assert_eq!(s, StatusCode::OK);
    let xml = document_xml(&docx);
    for want in [day.as_str(), PLACE_RU] {
        assert!(xml.contains(want), "{want} not in the printable notice");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r23_a_notice_too_late_is_refused_and_nothing_is_queued_or_sent() {
    let w = world().await;
    let id = w.plan(5).await;
    let (s, v) =
        w.t.call(
            "POST",
            &format!("/api/v1/meetings/{id}/notice"),
            &w.inspector,
            Some(json!({"channels": ["page", "telegram", "vk", "email"]})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["code"], "meeting_notice_too_late");
    // Nothing was staged, so nothing can leave later either.
    assert!(w.node.state.inbox.outbox().entries().unwrap().is_empty());
    let m = w.meeting(&id).await;
    assert!(m["notices"].as_array().unwrap().is_empty(), "{m}");
    assert!(m["notice"].is_null());
    assert!(w.stand_in.recorded("/sendMessage").is_empty());
    assert!(w.stand_in.recorded("/wall.post").is_empty());
    assert!(w.sink.messages().is_empty());
    let v = w.t.ok("GET", "/api/v1/public/meetings", "", None).await;
    assert!(v["meetings"].as_array().unwrap().is_empty(), "{v}");
    let (s, _) =
        w.t.bytes(&format!("/api/v1/meetings/{id}/notice.docx"), &w.inspector)
            .await;
    assert_eq!(s, StatusCode::CONFLICT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r37_a_post_the_channel_fails_for_a_while_is_retried_and_recorded_sent() {
    let w = world().await;
    let id = w.plan(14).await;
    // Telegram answers the first try: too many requests, try again in 2 s.
    *w.stand_in.fail_next_send.lock().unwrap() = Some((
        429,
        json!({"ok": false, "error_code": 429,
            "description": "Too Many Requests: retry after 2", "parameters": {"retry_after": 2}}),
    ));
    w.t.ok(
        "POST",
        &format!("/api/v1/meetings/{id}/notice"),
        &w.inspector,
        Some(json!({"channels": ["telegram"]})),
    )
    .await;
    // Meanwhile the meeting shows it queued, and why.
    common::until(WITHIN, "the notice shows why it is retried", || async {
        let m = w.meeting(&id).await;
        let d = &m["notice"]["deliveries"][0];
        d["state"] == "queued"
            && d["reason"]
                .as_str()
                .is_some_and(|r| r.contains("Too Many Requests"))
    })
    .await;
    let m = w.all_sent(&id, 1).await;
    let tries = w.stand_in.recorded("/sendMessage");
    assert_eq!(
        tries.len(),
        2,
        "one failed try and one that went: {tries:?}"
    );
    let d = &m["notice"]["deliveries"][0];
    assert_eq!(d["target"], "telegram");
    assert!(d["external_id"].is_string(), "{d}");
    assert!(m["log"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["action"] == "notice_sent" && l["detail"] == "telegram"));
}
