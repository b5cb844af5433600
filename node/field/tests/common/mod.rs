//! A terminal with a stand-in for the node's first-login check and no link, behind its HTTP
//! router.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use field_terminal::app::{NoUplink, Terminal};
use field_terminal::login::AttemptPolicy;
use field_terminal::online::{Officer, OnlineError, OnlineLogin};
use field_terminal::settings::TerminalSettings;
use field_terminal::shift::UnitRef;
use field_terminal::vault::{KdfParams, Vault, VaultSettings};
use serde_json::{json, Value};
use server_kit::clock::now_ms;
use tower::ServiceExt;

/// The node as the first login sees it: logins, passwords and roles; `down` when unreachable.
pub struct StandInNode {
    pub accounts: BTreeMap<String, (String, &'static str)>,
    pub down: std::sync::atomic::AtomicBool,
}

impl OnlineLogin for StandInNode {
    fn confirm<'a>(
        &'a self,
        login: &'a str,
        password: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<Officer, OnlineError>> + Send + 'a>> {
        Box::pin(async move {
            if self.down.load(std::sync::atomic::Ordering::Relaxed) {
                return Err(OnlineError::Unreachable("connection refused".into()));
            }
            match self.accounts.get(login) {
                Some((p, role)) if p == password => {
                    if *role != "patrol" {
                        return Err(OnlineError::NotPatrol);
                    }
                    Ok(Officer {
                        login: login.to_string(),
                        full_name: login.to_string(),
                    })
                }
                _ => Err(OnlineError::BadCredentials),
            }
        })
    }
}

pub struct Rig {
    pub dir: tempfile::TempDir,
    pub terminal: Arc<Terminal>,
    pub node: Arc<StandInNode>,
    pub app: axum::Router,
}

const SMALL_KDF: KdfParams = KdfParams {
    memory_kib: 64,
    passes: 1,
    lanes: 1,
};

pub fn rig() -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let node = Arc::new(StandInNode {
        accounts: BTreeMap::from([
            ("ivanov".to_string(), ("pass-ivanov".to_string(), "patrol")),
            ("petrov".to_string(), ("pass-petrov".to_string(), "patrol")),
            (
                "sidorov".to_string(),
                ("pass-sidorov".to_string(), "patrol"),
            ),
            ("disp".to_string(), ("pass-disp".to_string(), "dispatcher")),
        ]),
        down: false.into(),
    });
    let unit = UnitRef {
        region: "AST".into(),
        unit: "p01".into(),
    };
    let settings = TerminalSettings {
        kdf: SMALL_KDF,
        ..TerminalSettings::default()
    };
    let (vault, _) = Vault::open(
        dir.path(),
        &unit.key(),
        VaultSettings {
            kdf: SMALL_KDF,
            attempts: AttemptPolicy::default(),
        },
        now_ms(),
    )
    .unwrap();
    let terminal = Terminal::new(
        unit,
        settings,
        vault,
        node.clone(),
        Arc::new(NoUplink),
        None,
    );
    let app = field_terminal::http::app(terminal.clone());
    Rig {
        dir,
        terminal,
        node,
        app,
    }
}

impl Rig {
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, "127.0.0.1:8088");
        let body = match body {
            Some(v) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Body::from(serde_json::to_vec(&v).unwrap())
            }
            None => Body::empty(),
        };
        self.send(req.body(body).unwrap()).await
    }

    pub async fn send(&self, req: Request<Body>) -> (StatusCode, Value) {
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 22)
            .await
            .unwrap();
        let v = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, v)
    }

    pub async fn login(&self, login: &str, password: &str) -> (StatusCode, Value) {
        self.call(
            "POST",
            "/field/v1/login",
            Some(json!({"login": login, "password": password})),
        )
        .await
    }

    pub fn node_down(&self) {
        self.node
            .down
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }
}
