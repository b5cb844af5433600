//! The text inbox (R01, R05) through the node: messages of every text channel through the
//! `Intake` contract into the operators' inbox (`/api/v1/inbox`), answers through the durable
//! outbox to the sender registered for the same channel, cards and appeals made of messages,
//! dedupe, the rate limit, and a restart with an answer still queued.
//!
//! The senders here are the tests' own recording [`ChannelSender`]s (no connector is on this
//! branch): each records what the outbox handed it, and can be told to fail.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use futures::future::BoxFuture;
use node::channels::{
    Accepted, ChannelSender, Delivered, IncomingAttachment, IncomingMessage, Intake, IntakeError,
    OutgoingMessage, SendError, SharedLocation,
};
use node::server::open_node;
use serde_json::{json, Value};
use sync::Channel;

use common::api_node::{test_config, TestNode, ADMIN_PASSWORD};
use common::until;

const DEADLINE: Duration = Duration::from_secs(20);
const PNG: &[u8] = include_bytes!("../answers/tests/fixtures/tiny.png");

/// A sender that records every answer; while `failing` it answers a transient error.
struct RecordingSender {
    channel: Channel,
    sent: Mutex<Vec<OutgoingMessage>>,
    failing: Mutex<bool>,
    /// What a failing send says about when to try again (`None`: the outbox's own back-off).
    retry_hint_ms: Mutex<Option<u64>>,
}

impl RecordingSender {
    fn new(channel: Channel) -> Arc<Self> {
        Arc::new(RecordingSender {
            channel,
            sent: Mutex::new(Vec::new()),
            failing: Mutex::new(false),
            retry_hint_ms: Mutex::new(Some(50)),
        })
    }
    fn sent(&self) -> Vec<OutgoingMessage> {
        self.sent.lock().unwrap().clone()
    }
}

impl ChannelSender for RecordingSender {
    fn channel(&self) -> Channel {
        self.channel
    }
    fn send<'a>(
        &'a self,
        message: &'a OutgoingMessage,
    ) -> BoxFuture<'a, Result<Delivered, SendError>> {
        Box::pin(async move {
            if *self.failing.lock().unwrap() {
                return Err(SendError::Transient {
                    reason: "no link".into(),
                    retry_after_ms: *self.retry_hint_ms.lock().unwrap(),
                });
            }
            self.sent.lock().unwrap().push(message.clone());
            Ok(Delivered {
                external_id: Some(format!("ext-{}", message.outbox_id)),
            })
        })
    }
}

struct World {
    node: node::server::Node,
    t: TestNode,
    ct: String,
}

async fn open(dir: &std::path::Path, first: bool) -> (node::server::Node, TestNode) {
    let data = dir.join("node");
    let node = open_node(
        &test_config(),
        &data,
        first.then(|| ADMIN_PASSWORD.to_string()),
    )
    .await
    .unwrap();
    let t = TestNode {
        app: node::http::app(node.state.clone()),
        _dir: tempfile::tempdir().unwrap(),
        data,
        admin: String::new(),
    };
    (node, t)
}

async fn world(dir: &std::path::Path) -> World {
    let (node, t) = open(dir, true).await;
    let admin = t.activate("admin", ADMIN_PASSWORD).await;
    let t = TestNode { admin, ..t };
    let ct = t.user("ct1", &["call_taker"], None).await;
    World { node, t, ct }
}

fn message(channel: Channel, address: &str, ext: &str, text: &str) -> IncomingMessage {
    IncomingMessage {
        channel,
        address: address.into(),
        external_id: ext.into(),
        in_reply_to: Vec::new(),
        sender_name: Some("Айгерим".into()),
        phone: None,
        email: None,
        text: text.into(),
        location: None,
        attachments: Vec::new(),
        sent_at_ms: Some(node::http::now_ms() - 1_000),
        received_at_ms: node::http::now_ms(),
    }
}

impl World {
    async fn receive(&self, m: IncomingMessage) -> (String, String) {
        match self.node.state.inbox.receive(m).await.unwrap() {
            Accepted::Stored {
                conversation_id,
                message_id,
            } => (conversation_id, message_id),
            other => panic!("not stored: {other:?}"),
        }
    }

    async fn inbox(&self, state: &str, token: &str) -> Vec<Value> {
        let v = self
            .t
            .ok("GET", &format!("/api/v1/inbox?state={state}"), token, None)
            .await;
        v["conversations"].as_array().unwrap().clone()
    }

    async fn conversation(&self, id: &str) -> Value {
        self.t
            .ok("GET", &format!("/api/v1/inbox/{id}"), &self.ct, None)
            .await
    }

    async fn delivery(&self, id: &str, message_id: &str) -> Value {
        let c = self.conversation(id).await;
        c["messages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == message_id)
            .unwrap()["delivery"]
            .clone()
    }
}

#[tokio::test]
async fn r01_a_message_of_each_text_channel_reaches_the_inbox_and_the_answer_leaves_through_the_same_channel(
) {
    let dir = tempfile::tempdir().unwrap();
    let w = world(dir.path()).await;
    let channels = [
        (Channel::Telegram, "100200300"),
        (Channel::Vkontakte, "2000000001"),
        (Channel::WebWidget, "session-7f3a"),
        (Channel::Email, "citizen@example.kz"),
    ];
    let senders: Vec<_> = channels
        .iter()
        .map(|(c, _)| {
            let s = RecordingSender::new(*c);
            w.node.state.inbox.outbox().register(s.clone());
            s
        })
        .collect();
    let mut ids = Vec::new();
    for (n, (channel, address)) in channels.iter().enumerate() {
        let mut m = message(
            *channel,
            address,
            &format!("ext-{n}"),
            "Здравствуйте, как получить справку о несудимости?",
        );
        if *channel == Channel::Email {
            m.email = Some("Citizen@Example.kz".into());
        }
        if *channel == Channel::Telegram {
            m.phone = Some("8 701 234 56 78".into());
            m.location = Some(SharedLocation {
                lat: 51.1283,
                lon: 71.4305,
            });
            m.attachments = vec![IncomingAttachment {
                file_name: "фото.png".into(),
                content_type: "text/html".into(),
                bytes: PNG.to_vec(),
            }];
        }
        ids.push(w.receive(m).await);
    }
    let list = w.inbox("unassigned", &w.ct).await;
    assert_eq!(list.len(), 4, "{list:?}");
    for ((channel, address), (id, _)) in channels.iter().zip(&ids) {
        let c = list.iter().find(|c| c["id"] == id.as_str()).unwrap();
        assert_eq!(c["channel"], json!(channel), "{c}");
        assert!(
            c["address_display"].as_str().unwrap().contains(address),
            "{c}"
        );
        assert_eq!(c["state"], "unassigned");
        assert_eq!(c["urgent"], false);
        assert_eq!(c["language"], "ru");
        assert_eq!(c["unread"], 1);
        assert_eq!(c["last_message"]["direction"], "in");
    }
    // The Telegram one: the phone as E.164, the location, the photo served as what it is.
    let tg = w.conversation(&ids[0].0).await;
    assert_eq!(tg["citizen"]["phone"], "+77012345678", "{tg}");
    assert_eq!(tg["messages"][0]["location"]["lat"], 51.1283);
    let url = tg["files"][&ids[0].1][0]["url"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, bytes) = w.t.bytes(&url, &w.ct).await;
    assert_eq!((s, bytes.as_slice()), (StatusCode::OK, PNG));
    let email = w.conversation(&ids[3].0).await;
    assert_eq!(email["citizen"]["email"], "citizen@example.kz");

    // Taking: the first operator wins, a second gets 409 err.inbox_taken.
    let ct2 = w.t.user("ct2", &["call_taker"], None).await;
    for (id, _) in &ids {
        w.t.ok("POST", &format!("/api/v1/inbox/{id}/take"), &w.ct, None)
            .await;
    }
    let (s, v) =
        w.t.call(
            "POST",
            &format!("/api/v1/inbox/{}/take", ids[0].0),
            &ct2,
            None,
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("inbox_taken"))
    );
    let (s, v) =
        w.t.call(
            "POST",
            &format!("/api/v1/inbox/{}/reply", ids[0].0),
            &ct2,
            Some(json!({"text": "не моё"})),
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("inbox_taken"))
    );
    assert_eq!(w.inbox("mine", &w.ct).await.len(), 4);
    assert!(w.inbox("mine", &ct2).await.is_empty());

    // Each answer leaves through its own channel's sender.
    let mut answers = Vec::new();
    for (id, _) in &ids {
        let (s, v) =
            w.t.call(
                "POST",
                &format!("/api/v1/inbox/{id}/reply"),
                &w.ct,
                Some(json!({"text": "Справку выдаёт ЦОН или портал eGov."})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        answers.push(v["message_id"].as_str().unwrap().to_string());
    }
    for (n, sender) in senders.iter().enumerate() {
        until(DEADLINE, "the answer is sent", || async {
            sender.sent().len() == 1
        })
        .await;
        let sent = &sender.sent()[0];
        assert_eq!(sent.channel, channels[n].0);
        assert_eq!(sent.address, channels[n].1);
        assert_eq!(sent.conversation_id, ids[n].0);
        assert_eq!(sent.outbox_id, answers[n]);
        assert_eq!(
            sent.in_reply_to.as_deref(),
            Some(format!("ext-{n}").as_str())
        );
        assert_eq!(sent.subject.is_some(), channels[n].0 == Channel::Email);
        let (id, mid) = (ids[n].0.clone(), answers[n].clone());
        until(DEADLINE, "the delivery is recorded", || {
            let (w, id, mid) = (&w, id.clone(), mid.clone());
            async move { w.delivery(&id, &mid).await == "sent" }
        })
        .await;
    }
    assert_eq!(w.inbox("waiting", &w.ct).await.len(), 4);
    // Closed: the next message of the same chat opens a new conversation.
    w.t.ok(
        "POST",
        &format!("/api/v1/inbox/{}/close", ids[1].0),
        &w.ct,
        None,
    )
    .await;
    assert_eq!(w.inbox("closed", &w.ct).await.len(), 1);
    let (again, _) = w
        .receive(message(
            channels[1].0,
            channels[1].1,
            "ext-again",
            "ещё вопрос",
        ))
        .await;
    assert_ne!(again, ids[1].0);
}

#[tokio::test]
async fn a_repeated_delivery_is_stored_once_and_bad_messages_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let w = world(dir.path()).await;
    let m = message(Channel::Telegram, "555", "update-1", "Добрый день");
    let (id, _) = w.receive(m.clone()).await;
    assert_eq!(
        w.node.state.inbox.receive(m).await.unwrap(),
        Accepted::Duplicate {
            conversation_id: id.clone()
        }
    );
    let c = w.conversation(&id).await;
    assert_eq!(c["messages"].as_array().unwrap().len(), 1);
    let empty = message(Channel::Telegram, "555", "update-2", "   ");
    match w.node.state.inbox.receive(empty).await {
        Err(IntakeError::Invalid { code, .. }) => assert_eq!(code, "message_empty"),
        other => panic!("{other:?}"),
    }
    let mut long = message(Channel::Email, "a@b.kz", "m3", "");
    long.text = "я".repeat(node::channels::MESSAGE_TEXT_CHARS_MAX + 1);
    assert!(matches!(
        w.node.state.inbox.receive(long).await,
        Err(IntakeError::Invalid {
            code: "message_too_long",
            ..
        })
    ));
    let mut big = message(Channel::Email, "a@b.kz", "m4", "файл");
    big.attachments = vec![IncomingAttachment {
        file_name: "big.bin".into(),
        content_type: "application/octet-stream".into(),
        bytes: vec![1; node::channels::ATTACHMENT_BYTES_MAX + 1],
    }];
    assert!(matches!(
        w.node.state.inbox.receive(big).await,
        Err(IntakeError::Invalid {
            code: "attachment_too_large",
            ..
        })
    ));
    assert_eq!(w.inbox("unassigned", &w.ct).await.len(), 1);
}

#[tokio::test]
async fn r01_a_flood_from_one_chat_is_refused_and_the_others_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let w = world(dir.path()).await;
    let burst = node::channels::inbox::RATE_BURST_MESSAGES as usize;
    let mut limited = None;
    for n in 0..burst + 5 {
        match w
            .node
            .state
            .inbox
            .receive(message(Channel::Telegram, "spam", &format!("s{n}"), "спам"))
            .await
        {
            Ok(_) => {}
            Err(IntakeError::RateLimited { retry_after_s }) => {
                limited = Some((n, retry_after_s));
                break;
            }
            Err(e) => panic!("{e}"),
        }
    }
    let (n, retry_after_s) = limited.expect("the flood was never limited");
    assert_eq!(n, burst);
    assert!(retry_after_s >= 1);
    w.receive(message(
        Channel::Telegram,
        "citizen",
        "c1",
        "подскажите, пожалуйста",
    ))
    .await;
    let c = w.inbox("unassigned", &w.ct).await;
    let spam = c
        .iter()
        .find(|c| c["address_display"].as_str().unwrap().contains("spam"))
        .unwrap();
    let detail = w.conversation(spam["id"].as_str().unwrap()).await;
    assert_eq!(detail["messages"].as_array().unwrap().len(), burst);
}

#[tokio::test]
async fn r05_an_urgent_message_opens_a_card_and_the_citizen_is_told_when_it_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let w = world(dir.path()).await;
    let sender = RecordingSender::new(Channel::Telegram);
    w.node.state.inbox.outbox().register(sender.clone());
    let disp = w.t.user("disp1", &["dispatcher"], None).await;
    let mut m = message(
        Channel::Telegram,
        "777",
        "u-1",
        "Подъезде біреу пышақпен жүр, адамдарға шабуыл жасап жатыр",
    );
    m.phone = Some("+77015550011".into());
    m.location = Some(SharedLocation {
        lat: 51.1283,
        lon: 71.4305,
    });
    let (id, _) = w.receive(m).await;
    // Opened by the node itself, with the message carried into it, and sent to processing.
    let c = w.conversation(&id).await;
    assert_eq!(c["urgent"], true, "{c}");
    assert_eq!(c["language"], "kk");
    let link = &c["links"][0];
    assert_eq!(
        (link["kind"].as_str(), link["automatic"].as_bool()),
        (Some("card"), Some(true)),
        "{c}"
    );
    let card_id = link["id"].as_str().unwrap().to_string();
    let card =
        w.t.ok("GET", &format!("/api/v1/cards/{card_id}"), &w.ct, None)
            .await;
    assert_eq!(card["channel"], "telegram", "{card}");
    assert_eq!(card["caller"]["phone"], "+77015550011");
    assert_eq!(card["caller"]["name"], "Айгерим");
    assert_eq!(card["caller"]["language"], "kk");
    assert_eq!(card["category"], "assault");
    assert_eq!(card["location"]["lat"], 51.1283);
    assert!(card["description"].as_str().unwrap().contains("пышақпен"));
    assert_eq!(card["status"], "sent_for_processing", "{card}");
    let list = w.inbox("unassigned", &w.ct).await;
    assert_eq!(list[0]["urgent"], true);
    // The operator sees why.
    assert!(c["messages"][0]["classification"]["matched"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k.as_str().unwrap().starts_with("пышақ")));
    // The patrol goes and reports; the card closes; the citizen is told, in Kazakh.
    w.t.ok(
        "POST",
        &format!("/api/v1/cards/{card_id}/dispatch"),
        &disp,
        Some(json!({"unit_id": "p01"})),
    )
    .await;
    let closed =
        w.t.ok(
            "POST",
            &format!("/api/v1/cards/{card_id}/close"),
            &disp,
            Some(json!({"report": "задержан, нож изъят"})),
        )
        .await;
    assert_eq!(closed["status"], "closed");
    until(DEADLINE, "the citizen is told", || async {
        !sender.sent().is_empty()
    })
    .await;
    let told = &sender.sent()[0];
    assert_eq!(
        (told.address.as_str(), told.conversation_id.as_str()),
        ("777", id.as_str())
    );
    assert!(
        told.text.contains(card["number"].as_str().unwrap()),
        "{}",
        told.text
    );
    assert!(told.text.contains("жабылды"), "{}", told.text);
    let c = w.conversation(&id).await;
    let last = c["messages"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["direction"].as_str(), last["automatic"].as_bool()),
        (Some("out"), Some(true))
    );
    assert_eq!(c["told_cards"], json!([card_id]));
}

#[tokio::test]
async fn r05_a_non_urgent_message_becomes_an_appeal_and_a_card_opens_by_one_click() {
    let dir = tempfile::tempdir().unwrap();
    let w = world(dir.path()).await;
    let mut m = message(
        Channel::Email,
        "citizen@example.kz",
        "<m1@example.kz>",
        "Жалоба на соседей\n\nСоседи каждую ночь шумят, прошу принять меры.",
    );
    m.email = Some("citizen@example.kz".into());
    let (id, mid) = w.receive(m).await;
    let c = w.conversation(&id).await;
    assert_eq!(c["urgent"], false);
    assert!(c["links"].as_array().unwrap().is_empty(), "{c}");
    w.t.ok("POST", &format!("/api/v1/inbox/{id}/take"), &w.ct, None)
        .await;
    let (s, appeal) =
        w.t.call(
            "POST",
            &format!("/api/v1/inbox/{id}/appeal"),
            &w.ct,
            Some(json!({})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{appeal}");
    assert_eq!(appeal["channel"], "email");
    assert!(appeal["text"].as_str().unwrap().contains("шумят"));
    let (s, again) =
        w.t.call(
            "POST",
            &format!("/api/v1/inbox/{id}/appeal"),
            &w.ct,
            Some(json!({})),
        )
        .await;
    assert_eq!(
        (s, again["code"].as_str()),
        (StatusCode::CONFLICT, Some("appeal_already_linked"))
    );
    let registrar = w.t.user("reg", &["registrar"], None).await;
    let a =
        w.t.ok(
            "GET",
            &format!("/api/v1/appeals/{}", appeal["id"].as_str().unwrap()),
            &registrar,
            None,
        )
        .await;
    assert_eq!(a["status"], "received");
    // One click: a card from the message, linked, not sent (no place known).
    let (s, card) =
        w.t.call(
            "POST",
            &format!("/api/v1/inbox/{id}/card"),
            &w.ct,
            Some(json!({"message_id": mid})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{card}");
    assert_eq!(card["channel"], "email");
    assert_eq!(card["category"], "noise");
    let c = w.conversation(&id).await;
    let kinds: Vec<_> = c["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["kind"].clone())
        .collect();
    assert_eq!(kinds, vec![json!("appeal"), json!("card")]);
}

#[tokio::test]
async fn r01_a_conversation_and_its_queued_answer_survive_a_restart_and_the_answer_leaves_once() {
    let dir = tempfile::tempdir().unwrap();
    let (id, answer) = {
        let w = world(dir.path()).await;
        // The link is down: the answer stays queued.
        let sender = RecordingSender::new(Channel::Vkontakte);
        *sender.failing.lock().unwrap() = true;
        w.node.state.inbox.outbox().register(sender.clone());
        let (id, _) = w
            .receive(message(
                Channel::Vkontakte,
                "2000000005",
                "ev-1",
                "Где моё обращение?",
            ))
            .await;
        w.t.ok("POST", &format!("/api/v1/inbox/{id}/take"), &w.ct, None)
            .await;
        let v =
            w.t.ok(
                "POST",
                &format!("/api/v1/inbox/{id}/reply"),
                &w.ct,
                Some(json!({"text": "Ваше обращение зарегистрировано."})),
            )
            .await;
        let answer = v["message_id"].as_str().unwrap().to_string();
        let outbox = w.node.state.inbox.outbox().clone();
        until(DEADLINE, "a try failed", || async {
            outbox.entries().unwrap().iter().any(|e| e.attempts > 0)
        })
        .await;
        assert!(sender.sent().is_empty());
        let _ = w.node.shutdown.send(true);
        (id, answer)
    };
    // Reopened on the same data: the conversation, the queued answer; the link is back.
    let (node, t) = open(dir.path(), false).await;
    let ct = t.login("ct1", common::api_node::OWN_PASSWORD).await;
    let w = World { node, t, ct };
    let c = w.conversation(&id).await;
    assert_eq!(c["messages"].as_array().unwrap().len(), 2, "{c}");
    assert_eq!(w.delivery(&id, &answer).await, "queued");
    let sender = RecordingSender::new(Channel::Vkontakte);
    w.node.state.inbox.outbox().register(sender.clone());
    until(DEADLINE, "the queued answer leaves", || {
        let (w, id, answer) = (&w, id.clone(), answer.clone());
        async move { w.delivery(&id, &answer).await == "sent" }
    })
    .await;
    let sent = sender.sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].outbox_id, answer);
    assert_eq!(sent[0].address, "2000000005");
    assert!(w.node.state.inbox.outbox().entries().unwrap().is_empty());
}

/// The hub's published demo articles (its first start), replicated into this node.
fn import_demo_articles(w: &World) {
    use sync::article::{demo::demo_articles, ArticleCommand, ArticleDoc};
    use sync::Document;
    let now = node::http::now_ms();
    let ctx = sync::Ctx::new("editor", "central", now - 60_000);
    for a in demo_articles().unwrap() {
        let mut doc = ArticleDoc::create(
            automerge::ActorId::from(vec![7u8; 16]),
            &a.id,
            &a.competence,
            a.content,
            &ctx,
        )
        .unwrap();
        doc.apply(&ArticleCommand::Publish, &ctx).unwrap();
        let doc_id = sync::DocId::parse(&format!("KZ/article/{}", a.id)).unwrap();
        w.node
            .state
            .service
            .replica_import(&doc_id, &doc.save(), "central", now)
            .unwrap();
    }
}

fn automatic_answers(w: &World, conversation: &str) -> Vec<String> {
    w.node
        .state
        .inbox
        .get(conversation)
        .unwrap()
        .messages
        .iter()
        .filter(|m| m.automatic && m.direction == sync::conversation::Direction::Out)
        .map(|m| m.text.clone())
        .collect()
}

/// R19: on a chat-bot channel the bot answers a consultation from the knowledge base by itself
/// when it is confident, through the same channel, says how to reach an operator, and leaves the
/// conversation in the operators' inbox; it does not repeat an article, does not answer what it
/// is not sure of, and does not answer e-mail (people do).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r19_the_bot_answers_a_consultation_from_the_knowledge_base_and_leaves_the_rest_to_operators(
) {
    let dir = tempfile::tempdir().unwrap();
    let w = world(dir.path()).await;
    let tg = RecordingSender::new(Channel::Telegram);
    let email = RecordingSender::new(Channel::Email);
    w.node.state.inbox.outbox().register(tg.clone());
    w.node.state.inbox.outbox().register(email.clone());
    import_demo_articles(&w);

    let question =
        "Здравствуйте, я утеряла удостоверение личности, нужно ли писать заявление в полицию?";
    let (conv, _) = w
        .receive(message(Channel::Telegram, "5001", "tg-u-1", question))
        .await;
    let answers = automatic_answers(&w, &conv);
    assert_eq!(answers.len(), 1, "the bot answered at once: {answers:?}");
    assert!(
        answers[0].starts_with("Утеряно удостоверение личности"),
        "{}",
        answers[0]
    );
    assert!(answers[0].contains("ЦОН"), "the article's body");
    assert!(
        answers[0].contains("вам ответит оператор"),
        "the way to an operator"
    );
    until(DEADLINE, "the bot's answer leaves through Telegram", || {
        let n = tg.sent().len();
        async move { n == 1 }
    })
    .await;
    assert_eq!(tg.sent()[0].address, "5001");
    // Still the operators' to take.
    let unassigned = w.inbox("unassigned", &w.ct).await;
    assert!(
        unassigned.iter().any(|c| c["id"] == conv.as_str()),
        "{unassigned:?}"
    );

    // The same question again: the article is not sent twice.
    w.receive(message(Channel::Telegram, "5001", "tg-u-2", question))
        .await;
    assert_eq!(automatic_answers(&w, &conv).len(), 1);
    // Something the knowledge base does not answer with confidence: left to an operator.
    let (other, _) = w
        .receive(message(
            Channel::Telegram,
            "5002",
            "tg-u-3",
            "добрый вечер подскажите пожалуйста",
        ))
        .await;
    assert!(automatic_answers(&w, &other).is_empty());
    // E-mail is answered by people, not by the bot.
    let (mail, _) = w
        .receive(message(
            Channel::Email,
            "a@example.kz",
            "m-1@example.kz",
            question,
        ))
        .await;
    assert!(automatic_answers(&w, &mail).is_empty());
    assert!(email.sent().is_empty());
}

/// R05: an urgent message always gets its card. A node that stopped after storing the message
/// and before opening its card opens it at the next start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r05_an_urgent_message_whose_card_a_crash_kept_from_opening_gets_it_at_the_next_start() {
    use sync::conversation::{classify, Citizen, ConversationCommand, IncomingInput};
    let dir = tempfile::tempdir().unwrap();
    let id = {
        let w = world(dir.path()).await;
        let text = "Помогите, сосед угрожает ножом, ул. Кенесары 10";
        let classification = classify(
            text,
            w.node
                .state
                .service
                .reference()
                .categories
                .iter()
                .map(|c| c.code.as_str()),
        );
        assert!(classification.urgent);
        // What `Intake::receive` writes before it opens the card, and nothing after: the crash.
        let docs = w.node.state.service.conversations();
        let staged = docs
            .stage(
                "crash-1",
                Some((Channel::Telegram, "7007")),
                "system",
                &[ConversationCommand::Receive(IncomingInput {
                    message_id: "m-crash-1".into(),
                    external_id: "tg-crash-1".into(),
                    text: text.into(),
                    attachments: Vec::new(),
                    location: None,
                    sent_at_ms: None,
                    citizen: Citizen::default(),
                    classification,
                })],
                node::conversations::AuditNote {
                    action: "conversation.message_received",
                    details: json!({}),
                },
                node::http::now_ms(),
                |_, _| Ok(()),
            )
            .unwrap();
        let c = docs.done(staged).await.unwrap();
        assert!(c.urgent && c.card_links().next().is_none());
        let _ = w.node.shutdown.send(true);
        c.id
    };
    let (node, t) = open(dir.path(), false).await;
    let ct = t.login("ct1", common::api_node::OWN_PASSWORD).await;
    let w = World { node, t, ct };
    until(DEADLINE, "the card is opened at start", || async {
        w.node
            .state
            .inbox
            .get(&id)
            .is_ok_and(|c| c.card_links().next().is_some())
    })
    .await;
    let c = w.conversation(&id).await;
    assert!(c.to_string().contains("ножом"), "{c}");
}

#[tokio::test]
async fn r01_a_channels_queued_answers_leave_at_once_when_the_way_opens_not_at_the_end_of_their_back_off(
) {
    let dir = tempfile::tempdir().unwrap();
    let w = world(dir.path()).await;
    // The link is down and the vendor gives no hint: the outbox's own back-off (1 s, doubling).
    let sender = RecordingSender::new(Channel::Vkontakte);
    *sender.failing.lock().unwrap() = true;
    *sender.retry_hint_ms.lock().unwrap() = None;
    w.node.state.inbox.outbox().register(sender.clone());
    let mut answers = Vec::new();
    for k in 0..3 {
        let (id, _) = w
            .receive(message(
                Channel::Vkontakte,
                &format!("20000007{k}"),
                &format!("ev-hurry-{k}"),
                "Когда принимает участковый?",
            ))
            .await;
        w.t.ok("POST", &format!("/api/v1/inbox/{id}/take"), &w.ct, None)
            .await;
        let v =
            w.t.ok(
                "POST",
                &format!("/api/v1/inbox/{id}/reply"),
                &w.ct,
                Some(json!({"text": "По вторникам с 18:00."})),
            )
            .await;
        answers.push(v["message_id"].as_str().unwrap().to_string());
    }
    let outbox = w.node.state.inbox.outbox().clone();
    until(DEADLINE, "each answer failed three times", || async {
        let e = outbox.entries().unwrap();
        e.len() == 3 && e.iter().all(|e| e.attempts >= 3)
    })
    .await;
    // Their next tries are seconds away.
    let earliest_retry = outbox
        .entries()
        .unwrap()
        .iter()
        .map(|e| e.next_at_ms)
        .min()
        .unwrap();
    assert!(sender.sent().is_empty());
    // The way opens (a widget page connects, or a send of the channel went through again).
    *sender.failing.lock().unwrap() = false;
    outbox.retry_now(Channel::Vkontakte, None);
    until(DEADLINE, "every queued answer leaves", || async {
        sender.sent().len() == 3
    })
    .await;
    let left_at = node::http::now_ms();
    assert!(
        left_at < earliest_retry,
        "left at {left_at}; the back-off alone would have waited until {earliest_retry}"
    );
    let mut sent: Vec<String> = sender.sent().into_iter().map(|m| m.outbox_id).collect();
    sent.sort();
    answers.sort();
    assert_eq!(sent, answers, "each answer once");
}
