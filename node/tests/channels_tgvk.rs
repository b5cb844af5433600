//! R01: Telegram and VK messages reach the inbox through the node's webhook routes, over real
//! HTTP on loopback, with the official documentation's example bodies
//! (`tests/fixtures/telegram`, `tests/fixtures/vk`, sources in their READMEs); answers leave
//! through the connectors' senders to a stand-in for the vendors' APIs.
//!
//! The inbox here is [`Inbox`], a recording `Intake` (dedupe by channel and delivery id, and a
//! switch that makes it unavailable): these tests prove the connectors' side of the contract;
//! the inbox's own tests prove storage.

mod common;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use futures::future::BoxFuture;
use node::channels::messengers::Messengers;
use node::channels::{
    Accepted, ChannelSender, IncomingMessage, Intake, IntakeError, OutgoingMessage, SendError,
    ATTACHMENT_BYTES_MAX,
};
use node::config::{Config, TelegramSection, VkSection};
use node::store::{GroupCommit, SledStore};
use serde_json::{json, Value};
use sync::Channel;

use common::tgvk_stand_in::{serve, start_stand_in, StandIn, TOKEN, VK_TOKEN};
const VK_SECRET: &str = "aaQ13axAPQEcczQa";
const VK_CONFIRMATION: &str = "d8v2ve07";
const WITHIN: Duration = Duration::from_secs(10);

/// A recording inbox: stores each (channel, external_id) once; `unavailable` makes it answer
/// `Unavailable` as a node whose storage fails does.
#[derive(Default)]
struct Inbox {
    messages: Mutex<Vec<IncomingMessage>>,
    seen: Mutex<HashSet<(String, String)>>,
    unavailable: AtomicBool,
    /// Refuses every message as a flood from one chat (`RateLimited`).
    flooded: AtomicBool,
}

impl Intake for Inbox {
    fn receive(&self, m: IncomingMessage) -> BoxFuture<'_, Result<Accepted, IntakeError>> {
        Box::pin(async move {
            if self.unavailable.load(Ordering::SeqCst) {
                return Err(IntakeError::Unavailable("storage is failing".into()));
            }
            if self.flooded.load(Ordering::SeqCst) {
                return Err(IntakeError::RateLimited { retry_after_s: 60 });
            }
            let key = (format!("{:?}", m.channel), m.external_id.clone());
            let conversation_id = format!("AST/conv/{}", m.address);
            if !self.seen.lock().unwrap().insert(key) {
                return Ok(Accepted::Duplicate { conversation_id });
            }
            let mut all = self.messages.lock().unwrap();
            all.push(m);
            Ok(Accepted::Stored {
                conversation_id,
                message_id: all.len().to_string(),
            })
        })
    }
}

impl Inbox {
    fn all(&self) -> Vec<IncomingMessage> {
        self.messages.lock().unwrap().clone()
    }
}

struct Rig {
    _dir: tempfile::TempDir,
    inbox: Arc<Inbox>,
    messengers: Messengers,
    node: SocketAddr,
    stand_in: Arc<StandIn>,
    api: SocketAddr,
    http: reqwest::Client,
    gc: Arc<GroupCommit>,
    shutdown: tokio::sync::watch::Sender<bool>,
}

fn config(dir: &std::path::Path, api: SocketAddr, webhook: bool) -> Config {
    std::fs::write(dir.join("telegram.token"), format!("{TOKEN}\n")).unwrap();
    std::fs::write(dir.join("vk.token"), VK_TOKEN).unwrap();
    std::fs::write(dir.join("vk.secret"), VK_SECRET).unwrap();
    let mut c = Config::load(None).unwrap();
    c.telegram = Some(TelegramSection {
        token_file: Some(dir.join("telegram.token")),
        token_env: None,
        api_url: format!("http://{api}"),
        webhook_url: webhook.then(|| "https://102.example.kz/channels/telegram/webhook".into()),
        poll_timeout_s: 2,
        channel_chat_id: Some("@police102_ast".into()),
        ca_file: "/nonexistent".into(),
    });
    c.vk = Some(VkSection {
        group_id: 1,
        confirmation: VK_CONFIRMATION.into(),
        secret_file: Some(dir.join("vk.secret")),
        secret_env: None,
        token_file: Some(dir.join("vk.token")),
        token_env: None,
        api_url: format!("http://{api}"),
        api_version: "5.199".into(),
        ca_file: "/nonexistent".into(),
    });
    c.telegram.as_ref().unwrap().validate().unwrap();
    c.vk.as_ref().unwrap().validate().unwrap();
    c
}

async fn rig(webhook: bool) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let (stand_in, api) = start_stand_in().await;
    let store = Arc::new(SledStore::open(&dir.path().join("data"), 8 << 20).unwrap());
    let gc = Arc::new(GroupCommit::new(store));
    rig_on(dir, stand_in, api, gc, webhook).await
}

async fn rig_on(
    dir: tempfile::TempDir,
    stand_in: Arc<StandIn>,
    api: SocketAddr,
    gc: Arc<GroupCommit>,
    webhook: bool,
) -> Rig {
    let inbox = Arc::new(Inbox::default());
    let (shutdown, rx) = tokio::sync::watch::channel(false);
    let messengers = Messengers::start(
        &config(dir.path(), api, webhook),
        inbox.clone(),
        gc.clone(),
        rx,
    )
    .unwrap();
    let node = serve(messengers.routes()).await;
    Rig {
        _dir: dir,
        inbox,
        messengers,
        node,
        stand_in,
        api,
        http: reqwest::Client::new(),
        gc,
        shutdown,
    }
}

fn fixture(path: &str) -> Vec<u8> {
    let p = format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

impl Rig {
    /// The secret the node gave Telegram with `setWebhook`, as the stand-in recorded it.
    async fn webhook_secret(&self) -> String {
        let s = self.stand_in.clone();
        common::until(WITHIN, "setWebhook", || {
            let s = s.clone();
            async move { !s.recorded("/setWebhook").is_empty() }
        })
        .await;
        let set = &self.stand_in.recorded("/setWebhook")[0].body;
        assert_eq!(
            set["url"],
            "https://102.example.kz/channels/telegram/webhook"
        );
        set["secret_token"].as_str().unwrap().to_string()
    }

    async fn telegram(&self, secret: Option<&str>, body: Vec<u8>) -> (u16, String) {
        let mut req = self
            .http
            .post(format!("http://{}/channels/telegram/webhook", self.node))
            .header("content-type", "application/json")
            .body(body);
        if let Some(s) = secret {
            req = req.header("X-Telegram-Bot-Api-Secret-Token", s);
        }
        let resp = req.send().await.unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    async fn vk(&self, body: Vec<u8>) -> (u16, String) {
        let resp = self
            .http
            .post(format!("http://{}/channels/vk/callback", self.node))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    fn stand_in_addr(&self) -> String {
        self.api.to_string()
    }

    fn sender(&self, channel: Channel) -> Arc<dyn ChannelSender> {
        self.messengers
            .senders()
            .into_iter()
            .find(|s| s.channel() == channel)
            .unwrap()
    }
}

/// A VK fixture with the community's secret added (VK adds it to every event once one is set)
/// and photo links pointed at the stand-in.
fn vk_event(name: &str, secret: Option<&str>, api: &str) -> Vec<u8> {
    let text = String::from_utf8(fixture(&format!("vk/{name}")))
        .unwrap()
        .replace("https://sun9-1.userapi.com", &format!("http://{api}"));
    let mut v: Value = serde_json::from_str(&text).unwrap();
    if let Some(s) = secret {
        v["secret"] = json!(s);
    }
    serde_json::to_vec(&v).unwrap()
}

fn answer(channel: Channel, address: &str, outbox_id: &str, text: &str) -> OutgoingMessage {
    OutgoingMessage {
        kind: Default::default(),
        outbox_id: outbox_id.into(),
        channel,
        address: address.into(),
        conversation_id: format!("AST/conv/{address}"),
        text: text.into(),
        in_reply_to: None,
        subject: None,
    }
}

#[tokio::test]
async fn r01_telegram_webhook_takes_the_official_examples_once_and_refuses_forgeries() {
    let r = rig(true).await;
    let secret = r.webhook_secret().await;
    assert_eq!(
        r.stand_in.recorded("/setWebhook")[0].body["allowed_updates"],
        json!(["message"])
    );

    // Forged: no secret, a wrong one, a right one with a byte changed: refused, nothing stored.
    let body = fixture("telegram/message_text.json");
    assert_eq!(r.telegram(None, body.clone()).await.0, 401);
    assert_eq!(r.telegram(Some("guess"), body.clone()).await.0, 401);
    let mut near = secret.clone().into_bytes();
    near[0] = if near[0] == b'a' { b'b' } else { b'a' };
    assert_eq!(
        r.telegram(Some(std::str::from_utf8(&near).unwrap()), body.clone())
            .await
            .0,
        401
    );
    assert!(r.inbox.all().is_empty());

    // The official example: stored with its channel, chat, update id, sender and time.
    assert_eq!(r.telegram(Some(&secret), body.clone()).await.0, 200);
    let all = r.inbox.all();
    assert_eq!(all.len(), 1);
    let m = &all[0];
    assert_eq!(m.channel, Channel::Telegram);
    assert_eq!(m.address, "1111111");
    assert_eq!(m.external_id, "10000");
    assert_eq!(m.text, "/start");
    assert_eq!(
        m.sender_name.as_deref(),
        Some("Test Firstname Test Lastname")
    );
    assert_eq!(m.sent_at_ms, Some(1_441_645_532_000));

    // Replayed update_id (Telegram did not see our 200): acknowledged, stored once.
    assert_eq!(r.telegram(Some(&secret), body).await.0, 200);
    assert_eq!(
        r.telegram(
            Some(&secret),
            fixture("telegram/message_text_no_chat_type.json")
        )
        .await
        .0,
        200
    );
    assert_eq!(r.inbox.all().len(), 1);

    // Edits and button presses: acknowledged, not stored.
    for f in [
        "telegram/edited_message.json",
        "telegram/callback_query.json",
    ] {
        assert_eq!(r.telegram(Some(&secret), fixture(f)).await.0, 200, "{f}");
    }
    assert_eq!(r.inbox.all().len(), 1);

    // Malformed and oversized bodies: 400 and 413, never a panic, nothing stored.
    for bad in [&b"{"[..], b"[]", b"{\"update_id\":\"x\"}", b"\xff\xfe"] {
        assert_eq!(r.telegram(Some(&secret), bad.to_vec()).await.0, 400);
    }
    let huge = format!(
        "{{\"update_id\":1,\"message\":{{\"message_id\":1,\"date\":1,\"chat\":{{\"id\":1}},\"text\":\"{}\"}}}}",
        "a".repeat(node::channels::telegram::UPDATE_BYTES_MAX)
    );
    assert_eq!(r.telegram(Some(&secret), huge.into_bytes()).await.0, 413);
    assert_eq!(r.inbox.all().len(), 1);
}

#[tokio::test]
async fn r01_telegram_files_location_and_contact_reach_the_inbox() {
    let r = rig(true).await;
    let secret = r.webhook_secret().await;
    // The official document example: fetched through getFile and the file link.
    assert_eq!(
        r.telegram(Some(&secret), fixture("telegram/message_document.json"))
            .await
            .0,
        200
    );
    let gf = r.stand_in.recorded("/getFile");
    assert_eq!(gf[0].body["file_id"], "AwADBAADbXXXXXXXXXXXGBdhD2l6_XX");
    assert_eq!(r.stand_in.recorded("/documents/file_1.pdf").len(), 1);
    let m = &r.inbox.all()[0];
    assert_eq!(m.attachments.len(), 1);
    assert_eq!(m.attachments[0].file_name, "Testfile.pdf");
    assert_eq!(m.attachments[0].content_type, "application/pdf");
    assert_eq!(m.attachments[0].bytes, b"%PDF-1.4 test file");

    // Written from the Bot API reference (the guide has no such example): a photo larger than
    // the limit is left behind with a kk/ru note, the point and the citizen's own contact kept.
    let update = json!({"update_id": 10001, "message": {
        "message_id": 1366, "date": 1441645600,
        "chat": {"id": 1111111, "type": "private"},
        "from": {"id": 1111111, "is_bot": false, "first_name": "Test Firstname"},
        "caption": "фото",
        "photo": [{"file_id": "big", "file_unique_id": "b", "width": 8000, "height": 6000,
                   "file_size": ATTACHMENT_BYTES_MAX + 1}],
        "location": {"latitude": 51.1283, "longitude": 71.4305}
    }});
    assert_eq!(
        r.telegram(Some(&secret), serde_json::to_vec(&update).unwrap())
            .await
            .0,
        200
    );
    let m = &r.inbox.all()[1];
    assert!(m.attachments.is_empty());
    assert!(m.text.starts_with("фото\n[файл"), "{}", m.text);
    assert!(m.text.contains("қабылданбады"), "{}", m.text);
    let loc = m.location.unwrap();
    assert_eq!((loc.lat, loc.lon), (51.1283, 71.4305));
    assert_eq!(
        r.stand_in.recorded("/getFile").len(),
        1,
        "no getFile for a file over the limit"
    );

    let contact = json!({"update_id": 10002, "message": {
        "message_id": 1367, "date": 1441645700,
        "chat": {"id": 1111111, "type": "private"},
        "from": {"id": 1111111, "is_bot": false, "first_name": "Test Firstname"},
        "contact": {"phone_number": "+77011234567", "first_name": "Test Firstname", "user_id": 1111111}
    }});
    assert_eq!(
        r.telegram(Some(&secret), serde_json::to_vec(&contact).unwrap())
            .await
            .0,
        200
    );
    assert_eq!(r.inbox.all()[2].phone.as_deref(), Some("+77011234567"));
}

#[tokio::test]
async fn r01_telegram_is_answered_200_only_after_the_inbox_stored() {
    let r = rig(true).await;
    let secret = r.webhook_secret().await;
    r.inbox.unavailable.store(true, Ordering::SeqCst);
    let body = fixture("telegram/message_text.json");
    assert_eq!(r.telegram(Some(&secret), body.clone()).await.0, 503);
    assert!(r.inbox.all().is_empty());
    // Telegram sends it again once the node can store: now it is taken.
    r.inbox.unavailable.store(false, Ordering::SeqCst);
    assert_eq!(r.telegram(Some(&secret), body).await.0, 200);
    assert_eq!(r.inbox.all().len(), 1);
    // A flood refused by the inbox is acknowledged (Telegram must not send it again), not stored.
    r.inbox.flooded.store(true, Ordering::SeqCst);
    let spam = json!({"update_id": 20000, "message": {"message_id": 1, "date": 1,
        "chat": {"id": 1111111, "type": "private"}, "text": "spam"}});
    assert_eq!(
        r.telegram(Some(&secret), serde_json::to_vec(&spam).unwrap())
            .await
            .0,
        200
    );
    assert_eq!(r.inbox.all().len(), 1);
}

#[tokio::test]
async fn r01_telegram_answer_leaves_through_send_message() {
    let r = rig(true).await;
    let sender = r.sender(Channel::Telegram);
    let d = sender
        .send(&answer(
            Channel::Telegram,
            "1111111",
            "out-1",
            "Сәлеметсіз бе! Наряд выехал.",
        ))
        .await
        .unwrap();
    assert_eq!(d.external_id.as_deref(), Some("1"));
    let sent = r.stand_in.recorded("/sendMessage");
    assert_eq!(
        sent[0].body,
        json!({"chat_id": 1111111, "text": "Сәлеметсіз бе! Наряд выехал."})
    );
    assert_eq!(sent[0].path, format!("/bot{TOKEN}/sendMessage"));

    // A blocked bot is permanent; flood control is retried after what Telegram says.
    *r.stand_in.fail_next_send.lock().unwrap() = Some((
        403,
        json!({"ok": false, "error_code": 403,
        "description": "Forbidden: bot was blocked by the user"}),
    ));
    let e = sender
        .send(&answer(Channel::Telegram, "1111111", "out-2", "x"))
        .await;
    assert!(matches!(e, Err(SendError::Permanent(_))), "{e:?}");
    *r.stand_in.fail_next_send.lock().unwrap() = Some((
        429,
        json!({"ok": false, "error_code": 429,
        "description": "Too Many Requests: retry after 3", "parameters": {"retry_after": 3}}),
    ));
    let e = sender
        .send(&answer(Channel::Telegram, "1111111", "out-3", "x"))
        .await;
    assert!(
        matches!(
            e,
            Err(SendError::Transient {
                retry_after_ms: Some(3000),
                ..
            })
        ),
        "{e:?}"
    );
}

#[tokio::test]
async fn r01_telegram_long_polling_keeps_its_offset_across_restarts() {
    let r = rig(false).await;
    let s = r.stand_in.clone();
    common::until(WITHIN, "deleteWebhook then getUpdates", || {
        let s = s.clone();
        async move { !s.recorded("/deleteWebhook").is_empty() && !s.recorded("/getUpdates").is_empty() }
    })
    .await;
    assert!(r.stand_in.recorded("/setWebhook").is_empty());
    let update: Value = serde_json::from_slice(&fixture("telegram/message_text.json")).unwrap();
    r.stand_in.updates.lock().unwrap().push_back(update);
    r.stand_in.new_update.notify_waiters();
    let inbox = r.inbox.clone();
    common::until(WITHIN, "the polled update in the inbox", || {
        let inbox = inbox.clone();
        async move { inbox.all().len() == 1 }
    })
    .await;
    assert_eq!(r.inbox.all()[0].external_id, "10000");
    // The next poll confirms it to Telegram.
    common::until(WITHIN, "a poll with offset 10001", || {
        let s = s.clone();
        async move {
            s.recorded("/getUpdates")
                .iter()
                .any(|q| q.body["offset"] == 10001)
        }
    })
    .await;

    // Restart: the new poller starts from the stored offset, not from Telegram's oldest.
    let _ = r.shutdown.send(true);
    let before = r.stand_in.recorded("/getUpdates").len();
    let Rig {
        _dir,
        stand_in,
        gc,
        api,
        ..
    } = r;
    let r2 = rig_on(_dir, stand_in, api, gc, false).await;
    let s = r2.stand_in.clone();
    common::until(WITHIN, "the restarted poller's first poll", || {
        let s = s.clone();
        async move { s.recorded("/getUpdates").len() > before + 1 }
    })
    .await;
    let polls = r2.stand_in.recorded("/getUpdates");
    assert!(
        polls[before..].iter().all(|q| q.body["offset"] == 10001),
        "{polls:?}"
    );
}

#[tokio::test]
async fn r01_vk_callback_confirms_checks_the_secret_and_stores_once() {
    let r = rig(true).await;
    let api = r.stand_in_addr();
    // The server's registration: the configured string, as plain text.
    let (status, text) = r.vk(fixture("vk/confirmation.json")).await;
    assert_eq!((status, text.as_str()), (200, VK_CONFIRMATION));
    // Another community, a missing or wrong secret: refused, nothing stored.
    let mut other: Value =
        serde_json::from_slice(&vk_event("message_new.json", Some(VK_SECRET), &api)).unwrap();
    other["group_id"] = json!(2);
    assert_eq!(r.vk(serde_json::to_vec(&other).unwrap()).await.0, 403);
    assert_eq!(r.vk(vk_event("message_new.json", None, &api)).await.0, 403);
    assert_eq!(
        r.vk(vk_event("message_new.json", Some("aaQ13axAPQEcczQb"), &api))
            .await
            .0,
        403
    );
    assert!(r.inbox.all().is_empty());

    let body = vk_event("message_new.json", Some(VK_SECRET), &api);
    assert_eq!(r.vk(body.clone()).await, (200, "ok".to_string()));
    assert_eq!(
        r.vk(body).await,
        (200, "ok".to_string()),
        "a replayed event_id is acknowledged"
    );
    let all = r.inbox.all();
    assert_eq!(all.len(), 1, "stored once");
    assert_eq!(all[0].channel, Channel::Vkontakte);
    assert_eq!(all[0].address, "2000000066");
    assert_eq!(
        all[0].external_id,
        "da1b15e9f6d0c3c8a0c937e048cdd3e2b43794d0"
    );
    assert_eq!(all[0].text, "Ок");
    // The writer's name as VK shows it (`users.get`), asked once per writer.
    assert_eq!(all[0].sender_name.as_deref(), Some("Айгерим Серікова"));
    assert_eq!(
        r.stand_in.recorded("/method/users.get")[0].body["user_ids"],
        "612444319"
    );

    // Not a message: acknowledged, not stored.
    assert_eq!(
        r.vk(vk_event("group_join.json", Some(VK_SECRET), &api))
            .await
            .1,
        "ok"
    );
    assert_eq!(r.inbox.all().len(), 1);

    // Photo (largest size fetched) and point.
    assert_eq!(
        r.vk(vk_event(
            "message_new_photo_geo.json",
            Some(VK_SECRET),
            &api
        ))
        .await
        .1,
        "ok"
    );
    assert_eq!(r.stand_in.recorded("/photo-z.jpg").len(), 1);
    assert!(r.stand_in.recorded("/photo-s.jpg").is_empty());
    let m = &r.inbox.all()[1];
    assert_eq!(m.attachments.len(), 1);
    assert_eq!(m.attachments[0].content_type, "image/jpeg");
    assert_eq!(m.sender_name.as_deref(), Some("Айгерим Серікова"));
    assert_eq!(
        r.stand_in.recorded("/method/users.get").len(),
        1,
        "remembered"
    );
    assert_eq!(
        m.location.map(|l| (l.lat, l.lon)),
        Some((51.128207, 71.430411))
    );

    // The inbox cannot store: VK gets an error and sends the event again.
    r.inbox.unavailable.store(true, Ordering::SeqCst);
    let mut again: Value =
        serde_json::from_slice(&vk_event("message_new.json", Some(VK_SECRET), &api)).unwrap();
    again["event_id"] = json!("0000000000000000000000000000000000000001");
    assert_eq!(r.vk(serde_json::to_vec(&again).unwrap()).await.0, 503);
    r.inbox.unavailable.store(false, Ordering::SeqCst);
    assert_eq!(r.vk(serde_json::to_vec(&again).unwrap()).await.1, "ok");
    assert_eq!(r.inbox.all().len(), 3);

    // Malformed and oversized bodies.
    for bad in [&b"{"[..], b"[]", b"{\"type\":5}", b"\xff"] {
        assert_eq!(r.vk(bad.to_vec()).await.0, 400);
    }
    let huge = format!(
        "{{\"type\":\"message_new\",\"group_id\":1,\"pad\":\"{}\"}}",
        "a".repeat(node::channels::vk::EVENT_BYTES_MAX)
    );
    assert_eq!(r.vk(huge.into_bytes()).await.0, 413);
    assert_eq!(r.inbox.all().len(), 3);
}

#[tokio::test]
async fn r01_vk_answer_leaves_through_messages_send_with_a_stable_random_id() {
    let r = rig(true).await;
    let sender = r.sender(Channel::Vkontakte);
    let a = answer(
        Channel::Vkontakte,
        "2000000066",
        "out-7",
        "Ваше обращение принято",
    );
    assert_eq!(
        sender.send(&a).await.unwrap().external_id.as_deref(),
        Some("1")
    );
    // Sent again (a crash before the outbox recorded it): the same random_id, VK delivers once.
    sender.send(&a).await.unwrap();
    let sent = r.stand_in.recorded("/method/messages.send");
    assert_eq!(sent.len(), 2);
    for s in &sent {
        assert_eq!(s.body["peer_id"], "2000000066");
        assert_eq!(s.body["message"], "Ваше обращение принято");
        assert_eq!(s.body["v"], "5.199");
        assert_eq!(s.body["access_token"], VK_TOKEN);
    }
    assert_eq!(sent[0].body["random_id"], sent[1].body["random_id"]);
    assert_eq!(
        sent[0].body["random_id"],
        node::channels::vk::wire::random_id("out-7").to_string()
    );
    let b = answer(Channel::Vkontakte, "2000000066", "out-8", "x");
    sender.send(&b).await.unwrap();
    assert_ne!(
        r.stand_in.recorded("/method/messages.send")[2].body["random_id"],
        sent[0].body["random_id"]
    );

    *r.stand_in.fail_next_send.lock().unwrap() = Some((
        200,
        json!({"error": {"error_code": 9, "error_msg": "Flood control"}}),
    ));
    assert!(matches!(
        sender.send(&b).await,
        Err(SendError::Transient { .. })
    ));
    *r.stand_in.fail_next_send.lock().unwrap() = Some((
        200,
        json!({"error": {"error_code": 901,
        "error_msg": "Can't send messages for users without permission"}}),
    ));
    assert!(matches!(
        sender.send(&b).await,
        Err(SendError::Permanent(_))
    ));
}

/// The whole node: its HTTP app on a loopback socket with `[telegram]` (webhook) and `[vk]`
/// pointed at the stand-in.
async fn real_node() -> (
    node::server::Node,
    common::api_node::TestNode,
    SocketAddr,
    Arc<StandIn>,
    SocketAddr,
    String,
) {
    let dir = tempfile::tempdir().unwrap();
    let (stand_in, api) = start_stand_in().await;
    let mut c = config(dir.path(), api, true);
    c.accounts.argon2_memory_kib = 1024;
    let data = dir.path().join("node");
    let node = node::server::open_node(
        &c,
        &data,
        Some(common::api_node::ADMIN_PASSWORD.to_string()),
    )
    .await
    .unwrap();
    let addr = serve(node::http::app(node.state.clone())).await;
    let t = common::api_node::TestNode {
        app: node::http::app(node.state.clone()),
        _dir: dir,
        data,
        admin: String::new(),
    };
    let admin = t.activate("admin", common::api_node::ADMIN_PASSWORD).await;
    let t = common::api_node::TestNode { admin, ..t };
    let ct = t.user("ct1", &["call_taker"], None).await;
    (node, t, addr, stand_in, api, ct)
}

async fn conversation_of(t: &common::api_node::TestNode, ct: &str, channel: &str) -> Value {
    let list = t
        .ok("GET", "/api/v1/inbox?state=unassigned", ct, None)
        .await;
    list["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["channel"] == channel)
        .unwrap_or_else(|| panic!("no {channel} conversation in {list}"))
        .clone()
}

#[tokio::test]
async fn r01_telegram_and_vk_through_the_node_inbox_and_answers_back_through_the_same_channel() {
    let (_node, t, addr, stand_in, api, ct) = real_node().await;
    let http = reqwest::Client::new();

    // Telegram: the node set its webhook; the official example arrives there.
    let s = stand_in.clone();
    common::until(WITHIN, "setWebhook", || {
        let s = s.clone();
        async move { !s.recorded("/setWebhook").is_empty() }
    })
    .await;
    let secret = stand_in.recorded("/setWebhook")[0].body["secret_token"]
        .as_str()
        .unwrap()
        .to_string();
    let post_tg = |secret: Option<String>| {
        let mut req = http
            .post(format!("http://{addr}/channels/telegram/webhook"))
            .header("content-type", "application/json")
            .body(fixture("telegram/message_text.json"));
        if let Some(s) = secret {
            req = req.header("X-Telegram-Bot-Api-Secret-Token", s);
        }
        req.send()
    };
    assert_eq!(post_tg(Some("forged".into())).await.unwrap().status(), 401);
    let list = t
        .ok("GET", "/api/v1/inbox?state=unassigned", &ct, None)
        .await;
    assert_eq!(
        list["conversations"],
        json!([]),
        "a forged update stores nothing"
    );
    // The webhook's own body limit holds inside the node's app (not the API's larger one).
    let huge = http
        .post(format!("http://{addr}/channels/telegram/webhook"))
        .header("X-Telegram-Bot-Api-Secret-Token", secret.clone())
        .body(vec![b' '; node::channels::telegram::UPDATE_BYTES_MAX + 1])
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status(), 413);
    // Larger than the API's limit (`limits.http_body_bytes_max`, 64 KiB) but within the
    // webhook's: read (and refused as not an update), not cut off.
    let big = http
        .post(format!("http://{addr}/channels/telegram/webhook"))
        .header("X-Telegram-Bot-Api-Secret-Token", secret.clone())
        .body(vec![b' '; 100 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(big.status(), 400);
    assert_eq!(post_tg(Some(secret.clone())).await.unwrap().status(), 200);
    assert_eq!(post_tg(Some(secret)).await.unwrap().status(), 200);
    let tg = conversation_of(&t, &ct, "telegram").await;
    assert_eq!(tg["last_message"]["text"], "/start");
    assert_eq!(
        tg["citizen"]["name"], "Test Firstname Test Lastname",
        "{tg}"
    );
    let id = tg["id"].as_str().unwrap().to_string();
    let detail = t.ok("GET", &format!("/api/v1/inbox/{id}"), &ct, None).await;
    assert_eq!(
        detail["messages"].as_array().unwrap().len(),
        1,
        "the replayed update_id is stored once: {detail}"
    );

    // VK: the official confirmation, then a message.
    let post_vk = |body: Vec<u8>| {
        http.post(format!("http://{addr}/channels/vk/callback"))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let confirm = post_vk(fixture("vk/confirmation.json")).await.unwrap();
    assert_eq!(confirm.text().await.unwrap(), VK_CONFIRMATION);
    let body = vk_event("message_new.json", Some(VK_SECRET), &api.to_string());
    assert_eq!(post_vk(body).await.unwrap().text().await.unwrap(), "ok");
    let vk = conversation_of(&t, &ct, "vkontakte").await;
    assert_eq!(vk["last_message"]["text"], "Ок");
    assert_eq!(vk["citizen"]["name"], "Айгерим Серікова", "{vk}");
    let vk_id = vk["id"].as_str().unwrap().to_string();

    // The operator takes each and answers; the answers leave through the same channel.
    for (cid, text) in [
        (&id, "Сәлеметсіз бе! Чем помочь?"),
        (&vk_id, "Ваше сообщение получено"),
    ] {
        t.ok("POST", &format!("/api/v1/inbox/{cid}/take"), &ct, None)
            .await;
        let (status, v) = t
            .call(
                "POST",
                &format!("/api/v1/inbox/{cid}/reply"),
                &ct,
                Some(json!({ "text": text })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{v}");
    }
    let s = stand_in.clone();
    common::until(WITHIN, "both answers at the stand-in", || {
        let s = s.clone();
        async move {
            !s.recorded("/sendMessage").is_empty()
                && !s.recorded("/method/messages.send").is_empty()
        }
    })
    .await;
    let tg_sent = &stand_in.recorded("/sendMessage")[0].body;
    assert_eq!(
        tg_sent,
        &json!({"chat_id": 1111111, "text": "Сәлеметсіз бе! Чем помочь?"})
    );
    let vk_sent = &stand_in.recorded("/method/messages.send")[0].body;
    assert_eq!(vk_sent["peer_id"], "2000000066");
    assert_eq!(vk_sent["message"], "Ваше сообщение получено");
    assert!(
        vk_sent["random_id"]
            .as_str()
            .unwrap()
            .parse::<i32>()
            .unwrap()
            > 0
    );
}
