//! Helpers shared by the node's integration tests: the citizen's signalling socket, waiting for
//! a condition with a deadline, reading an answer body, a free port, and a test CA with region
//! AST's settings for bundles.

#![allow(dead_code)]

pub mod api_node;
pub mod smtp_sink;
pub mod tgvk_stand_in;

use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

/// A citizen's signalling WebSocket to the node.
pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Pause between two polls of a condition.
pub const POLL: Duration = Duration::from_millis(50);

pub async fn send(ws: &mut Ws, v: Value) {
    ws.send(Message::Text(v.to_string().into())).await.unwrap();
}

/// The next JSON message from the node, or `None` when the socket closed; fails when the node
/// says nothing `within`.
pub async fn next(ws: &mut Ws, within: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let m = tokio::time::timeout_at(deadline, ws.next())
            .await
            .expect("the node said nothing within the deadline");
        match m {
            None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return None,
            Some(Ok(Message::Text(t))) => return Some(serde_json::from_str(t.as_str()).unwrap()),
            Some(Ok(_)) => continue,
        }
    }
}

/// Reads the node's greeting on a new citizen socket: `ice_config`, the STUN/TURN servers for
/// the app's peer connection (no TURN in these tests: an empty list, policy `all`).
pub async fn ice_greeting(ws: &mut Ws, within: Duration) -> Value {
    let greeting = next(ws, within)
        .await
        .expect("the node's ice_config greeting");
    assert_eq!(greeting["type"], "ice_config", "{greeting}");
    assert!(greeting["ice_servers"].is_array(), "{greeting}");
    assert_eq!(greeting["ice_transport_policy"], "all", "{greeting}");
    greeting
}

/// Waits for `check` to hold, polling every [`POLL`]; fails with `what` after `within`.
pub async fn until<F, Fut>(within: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < within, "{what}: not within {within:?}");
        tokio::time::sleep(POLL).await;
    }
}

/// An answer body as JSON, or as a JSON string when it is not JSON.
pub fn json_or_text(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap_or(Value::String(String::from_utf8_lossy(bytes).into()))
}

/// A TCP port free on loopback now (closed again before it is returned).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A provisioning CA in `root/ca` (valid ten years from now).
pub fn test_ca(root: &std::path::Path) -> std::path::PathBuf {
    use provisioning::settings::{CaName, CaSettings, ValidDays};
    let ca = root.join("ca");
    let settings = CaSettings {
        name: CaName::parse("test CA").unwrap(),
        valid_days: ValidDays::for_ca(3650).unwrap(),
    };
    provisioning::init_ca(
        &ca,
        &settings,
        time::OffsetDateTime::now_utc(),
        &mut rand::rngs::OsRng,
        &mut provisioning::progress::Silent,
    )
    .unwrap();
    ca
}

/// Region AST's settings for `add-region`, replicating to `localhost:7102`.
pub fn ast_region_settings() -> provisioning::settings::RegionSettings {
    use provisioning::settings::{CentralAddress, RegionId, RegionName, ValidDays};
    provisioning::settings::RegionSettings {
        id: RegionId::parse("AST").unwrap(),
        name_kk: RegionName::parse("name-kk", "Астана қаласы ПД").unwrap(),
        name_ru: RegionName::parse("name-ru", "ДП города Астаны").unwrap(),
        central: CentralAddress::parse("localhost:7102").unwrap(),
        valid_days: ValidDays::for_peer(730).unwrap(),
    }
}

/// A workbook the node wrote, read back with Python's openpyxl (Debian `python3-openpyxl`, what
/// `.ci/run` installs): `{sheet name: [[cell values]]}`.
pub fn read_xlsx(bytes: &[u8]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("book.xlsx");
    std::fs::write(&path, bytes).unwrap();
    let out = std::process::Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(
            r#"
import json, sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
print(json.dumps({ws.title: [[c for c in row] for row in ws.iter_rows(values_only=True)] for ws in wb.worksheets}, ensure_ascii=False, default=str))
"#,
        )
        .arg(&path)
        .output()
        .expect("python3 with openpyxl (Debian python3-openpyxl)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}
