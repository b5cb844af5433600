//! The web widget's WebSocket connector (R01) over a real socket on loopback, with a real
//! WebSocket client (tokio-tungstenite): frames become `WebWidget` messages handed to the
//! intake, acknowledged only after it said `Ok`; refusals name a code; the per-session and
//! per-source limits hold; an answer reaches every open page of the session and is delivered
//! when a page confirms it, and stays in the outbox (a transient error) while none is open.
//! The intake here is a recording one (what the connector hands on is the point); the whole
//! path through the node's inbox is the Chromium test `e2e/inbox.test.mjs`.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::{SinkExt, StreamExt};
use node::channels::widget::{WidgetChannel, WidgetSettings};
use node::channels::{
    Accepted, ChannelSender, Delivered, IncomingMessage, Intake, IntakeError, OutgoingMessage,
    SendError,
};
use serde_json::{json, Value};
use sync::Channel;
use tokio_tungstenite::tungstenite::Message;

const DEADLINE: Duration = Duration::from_secs(10);

/// An intake that records what it got, answers a repeat as `Duplicate`, and can be told to fail.
#[derive(Default)]
struct Recording {
    got: Mutex<Vec<IncomingMessage>>,
    fail: Mutex<Option<IntakeError>>,
}

impl Intake for Recording {
    fn receive(&self, message: IncomingMessage) -> BoxFuture<'_, Result<Accepted, IntakeError>> {
        Box::pin(async move {
            if let Some(e) = self.fail.lock().unwrap().clone() {
                return Err(e);
            }
            let mut got = self.got.lock().unwrap();
            let conversation_id = format!("TST/conv/{}", message.address);
            if got.iter().any(|m| m.external_id == message.external_id) {
                return Ok(Accepted::Duplicate { conversation_id });
            }
            got.push(message);
            Ok(Accepted::Stored {
                conversation_id,
                message_id: format!("m{}", got.len()),
            })
        })
    }
}

struct Rig {
    url: String,
    intake: Arc<Recording>,
    widget: Arc<WidgetChannel>,
}

async fn rig(settings: WidgetSettings) -> Rig {
    let intake = Arc::new(Recording::default());
    let widget = WidgetChannel::new(intake.clone(), None, settings);
    let app: axum::Router = widget.routes();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    Rig {
        url: format!("ws://{addr}/channels/widget/ws"),
        intake,
        widget,
    }
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(rig: &Rig, session: &str) -> Ws {
    let (mut ws, _) = tokio_tungstenite::connect_async(&rig.url).await.unwrap();
    send(
        &mut ws,
        json!({"type": "hello", "session": session, "lang": "ru"}),
    )
    .await;
    let ready = next(&mut ws).await;
    assert_eq!(ready["type"], "ready", "{ready}");
    assert_eq!(ready["session"], session);
    ws
}

async fn send(ws: &mut Ws, v: Value) {
    ws.send(Message::Text(v.to_string().into())).await.unwrap();
}

/// The next JSON frame (within the deadline).
async fn next(ws: &mut Ws) -> Value {
    loop {
        let m = tokio::time::timeout(DEADLINE, ws.next())
            .await
            .expect("a frame within the deadline")
            .expect("the socket is open")
            .unwrap();
        match m {
            Message::Text(t) => return serde_json::from_str(t.as_str()).unwrap(),
            Message::Close(c) => panic!("closed: {c:?}"),
            _ => continue,
        }
    }
}

fn session(n: u8) -> String {
    format!("session{n:02}-AbCdEfGhIjKlMnOpQr")
}

fn answer(to: &str, id: &str) -> OutgoingMessage {
    OutgoingMessage {
        kind: Default::default(),
        outbox_id: id.into(),
        channel: Channel::WebWidget,
        address: to.into(),
        conversation_id: format!("TST/conv/{to}"),
        text: "Наряд направлен, оставайтесь на месте".into(),
        in_reply_to: None,
        subject: None,
    }
}

#[tokio::test]
async fn r01_widget_message_reaches_the_intake_with_its_channel_and_is_acknowledged_once_stored() {
    let rig = rig(WidgetSettings::default()).await;
    let s = session(1);
    let mut ws = connect(&rig, &s).await;
    send(
        &mut ws,
        json!({"type": "message", "id": "c-1", "text": "У подъезда драка", "name": "Айгерим",
        "location": {"lat": 51.1694, "lon": 71.4491}}),
    )
    .await;
    let ack = next(&mut ws).await;
    assert_eq!(ack, json!({"type": "ack", "id": "c-1", "duplicate": false}));
    {
        let got = rig.intake.got.lock().unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].channel, Channel::WebWidget);
        assert_eq!(got[0].address, s);
        assert_eq!(got[0].external_id, "c-1");
        assert_eq!(got[0].text, "У подъезда драка");
        assert_eq!(got[0].sender_name.as_deref(), Some("Айгерим"));
        assert!(got[0].location.is_some());
    }
    // The page did not see the ack and sends again after a reconnect: stored once.
    drop(ws);
    let mut ws = connect(&rig, &s).await;
    send(
        &mut ws,
        json!({"type": "message", "id": "c-1", "text": "У подъезда драка"}),
    )
    .await;
    assert_eq!(
        next(&mut ws).await,
        json!({"type": "ack", "id": "c-1", "duplicate": true})
    );
    assert_eq!(rig.intake.got.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn r01_widget_refusals_name_a_code_and_store_nothing() {
    let rig = rig(WidgetSettings::default()).await;
    let mut ws = connect(&rig, &session(2)).await;
    send(
        &mut ws,
        json!({"type": "message", "id": "c-1", "text": "  "}),
    )
    .await;
    let r = next(&mut ws).await;
    assert_eq!(
        (r["type"].as_str(), r["code"].as_str()),
        (Some("refused"), Some("widget_message_empty"))
    );
    send(&mut ws, json!({"type": "message", "id": "c-2", "photos": [{"name": "x.jpg", "data": "PHNjcmlwdD4="}]})).await;
    assert_eq!(next(&mut ws).await["code"], "widget_not_a_photo");
    // The node cannot store now: the widget is told to retry, and the socket stays.
    *rig.intake.fail.lock().unwrap() = Some(IntakeError::Unavailable("disk".into()));
    send(
        &mut ws,
        json!({"type": "message", "id": "c-3", "text": "Алло"}),
    )
    .await;
    let r = next(&mut ws).await;
    assert_eq!(
        (r["code"].as_str(), r["retry_after_s"].as_u64()),
        (Some("widget_unavailable"), Some(5))
    );
    *rig.intake.fail.lock().unwrap() = None;
    send(
        &mut ws,
        json!({"type": "message", "id": "c-3", "text": "Алло"}),
    )
    .await;
    assert_eq!(next(&mut ws).await["type"], "ack");
    assert_eq!(rig.intake.got.lock().unwrap().len(), 1);

    // A first frame that is not hello, or a session id that could be guessed: an error, then the close.
    for first in [
        json!({"type": "message", "id": "c", "text": "a"}),
        json!({"type": "hello", "session": "123"}),
    ] {
        let (mut ws, _) = tokio_tungstenite::connect_async(&rig.url).await.unwrap();
        send(&mut ws, first).await;
        let e = next(&mut ws).await;
        assert_eq!(e["type"], "error", "{e}");
        let closed = tokio::time::timeout(DEADLINE, ws.next()).await.unwrap();
        assert!(
            matches!(closed, Some(Ok(Message::Close(_))) | None),
            "{closed:?}"
        );
    }
}

#[tokio::test]
async fn r01_widget_spam_from_one_session_or_source_is_refused_while_others_go_on() {
    let rig = rig(WidgetSettings {
        messages_per_min_per_session: 1,
        messages_burst_per_session: 3,
        messages_per_min_per_source: 1,
        messages_burst_per_source: 5,
        ..WidgetSettings::default()
    })
    .await;
    let mut spam = connect(&rig, &session(3)).await;
    for i in 0..3 {
        send(
            &mut spam,
            json!({"type": "message", "id": format!("s-{i}"), "text": "спам"}),
        )
        .await;
        assert_eq!(next(&mut spam).await["type"], "ack");
    }
    send(
        &mut spam,
        json!({"type": "message", "id": "s-3", "text": "спам"}),
    )
    .await;
    let r = next(&mut spam).await;
    assert_eq!(r["code"], "widget_rate_limited", "{r}");
    assert!(r["retry_after_s"].as_u64().unwrap() > 0);
    let mut other = connect(&rig, &session(4)).await;
    send(
        &mut other,
        json!({"type": "message", "id": "o-1", "text": "Помогите"}),
    )
    .await;
    assert_eq!(next(&mut other).await["type"], "ack");
    // One network source is bounded too, whatever sessions it makes up.
    let mut third = connect(&rig, &session(9)).await;
    send(
        &mut third,
        json!({"type": "message", "id": "t-1", "text": "ещё"}),
    )
    .await;
    assert_eq!(next(&mut third).await["type"], "ack");
    send(
        &mut third,
        json!({"type": "message", "id": "t-2", "text": "и ещё"}),
    )
    .await;
    assert_eq!(next(&mut third).await["code"], "widget_rate_limited");
    assert_eq!(rig.intake.got.lock().unwrap().len(), 5);
}

#[tokio::test]
async fn r01_widget_sockets_are_limited_per_source_and_per_session() {
    let rig = rig(WidgetSettings {
        sockets_per_source_max: 3,
        sockets_per_session_max: 2,
        ..WidgetSettings::default()
    })
    .await;
    let s = session(5);
    let a = connect(&rig, &s).await;
    let mut b = connect(&rig, &s).await;
    let (mut c, _) = tokio_tungstenite::connect_async(&rig.url).await.unwrap();
    send(&mut c, json!({"type": "hello", "session": s})).await;
    assert_eq!(next(&mut c).await["code"], "widget_too_many_sockets");
    drop(c);
    // The third socket from this address is closed; wait until it is released, then a fourth
    // is refused before the upgrade.
    let deadline = tokio::time::Instant::now() + DEADLINE;
    let held = connect(&rig, &session(6)).await;
    while rig.widget.open_sockets() != 3 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "sockets: {}",
            rig.widget.open_sockets()
        );
        tokio::time::sleep(Duration::from_millis(10)).await; // poll interval
    }
    let refused = tokio_tungstenite::connect_async(&rig.url)
        .await
        .unwrap_err();
    let tokio_tungstenite::tungstenite::Error::Http(resp) = refused else {
        panic!("{refused:?}")
    };
    assert_eq!(resp.status(), 429);
    drop((a, held));
    send(
        &mut b,
        json!({"type": "message", "id": "b-1", "text": "ещё здесь"}),
    )
    .await;
    assert_eq!(next(&mut b).await["type"], "ack");
}

#[tokio::test]
async fn r01_widget_answer_reaches_every_open_page_and_is_delivered_when_one_confirms() {
    let rig = rig(WidgetSettings {
        answer_ack_timeout_ms: 500,
        ..WidgetSettings::default()
    })
    .await;
    let s = session(7);
    // No page open: the outbox keeps it and retries.
    let offline = rig.widget.send(&answer(&s, "ob-1")).await;
    assert!(
        matches!(offline, Err(SendError::Transient { .. })),
        "{offline:?}"
    );

    let mut one = connect(&rig, &s).await;
    let mut two = connect(&rig, &s).await;
    let out = answer(&s, "ob-1");
    let widget = rig.widget.clone();
    let sending = tokio::spawn(async move { widget.send(&out).await });
    for ws in [&mut one, &mut two] {
        let a = next(ws).await;
        assert_eq!(
            (a["type"].as_str(), a["id"].as_str()),
            (Some("answer"), Some("ob-1"))
        );
        assert_eq!(a["text"], "Наряд направлен, оставайтесь на месте");
    }
    send(&mut two, json!({"type": "received", "id": "ob-1"})).await;
    assert_eq!(sending.await.unwrap(), Ok(Delivered { external_id: None }));

    // A page that gets the answer but never confirms it: transient, the outbox tries again.
    let silent = rig.widget.send(&answer(&s, "ob-2")).await;
    assert!(
        matches!(silent, Err(SendError::Transient { .. })),
        "{silent:?}"
    );
    assert_eq!(rig.widget.channel(), Channel::WebWidget);
}

#[tokio::test]
async fn r01_widget_opens_only_from_the_sites_the_region_lists() {
    let section = node::channels::widget::WidgetSection {
        allowed_origins: vec!["https://Police.gov.kz/".into()],
    };
    let rig = rig(WidgetSettings {
        allowed_origins: section.origins().unwrap(),
        ..WidgetSettings::default()
    })
    .await;
    let open = |origin: Option<&'static str>| {
        let url = rig.url.clone();
        async move {
            use tokio_tungstenite::tungstenite::client::IntoClientRequest;
            let mut req = url.as_str().into_client_request().unwrap();
            if let Some(o) = origin {
                req.headers_mut().insert("origin", o.parse().unwrap());
            }
            tokio_tungstenite::connect_async(req).await
        }
    };
    // The region's own site (the browser sends its origin in lower case, no slash).
    let (mut ws, _) = open(Some("https://police.gov.kz")).await.unwrap();
    send(&mut ws, json!({"type": "hello", "session": session(9)})).await;
    assert_eq!(next(&mut ws).await["type"], "ready");
    // Another site, and a client that names none, are refused before the upgrade, with a code.
    for origin in [Some("https://police.gov.kz.evil.example"), None] {
        let refused = open(origin).await.unwrap_err();
        let tokio_tungstenite::tungstenite::Error::Http(resp) = refused else {
            panic!("{refused:?}")
        };
        assert_eq!(resp.status(), 403, "{origin:?}");
        let body = String::from_utf8(resp.body().clone().unwrap_or_default()).unwrap();
        assert!(body.contains("widget_origin_refused"), "{body}");
    }
    assert!(rig.intake.got.lock().unwrap().is_empty());
    // A configured entry that is not an origin is named at start.
    let bad = node::channels::widget::WidgetSection {
        allowed_origins: vec!["police.gov.kz/chat".into()],
    };
    assert!(bad.origins().unwrap_err().contains("police.gov.kz/chat"));
}
