//! A node opened on a temporary directory and driven through `http::app(state)` with tower's
//! `oneshot` (no socket): the API tests' node, accounts and requests.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use node::config::Config;
use node::server::open_node;
use serde_json::{json, Value};
use tower::ServiceExt;

use super::json_or_text;

pub struct TestNode {
    pub app: axum::Router,
    pub _dir: tempfile::TempDir,
    pub data: std::path::PathBuf,
    pub admin: String,
}

pub const ADMIN_PASSWORD: &str = "admin-password-1";
/// What every account sets at its first login (the given passwords are temporary).
pub const OWN_PASSWORD: &str = "Own-Shift-Password-2026";

pub fn test_config() -> Config {
    let mut c = Config::load(None).unwrap();
    // Cheap hashing keeps the tests fast; production keeps the default.
    c.accounts.argon2_memory_kib = 1024;
    c
}

pub async fn start() -> TestNode {
    start_at(tempfile::tempdir().unwrap()).await
}

/// A node on `dir` (a test may reopen the store it leaves).
pub async fn start_at(dir: tempfile::TempDir) -> TestNode {
    start_with(dir, test_config()).await
}

/// A node on `dir` with its own configuration.
pub async fn start_with(dir: tempfile::TempDir, config: Config) -> TestNode {
    let data = dir.path().join("node");
    let node = open_node(&config, &data, Some(ADMIN_PASSWORD.into()))
        .await
        .unwrap();
    let app = node::http::app(node.state.clone());
    let mut t = TestNode {
        app,
        _dir: dir,
        data,
        admin: String::new(),
    };
    t.admin = t.activate("admin", ADMIN_PASSWORD).await;
    t
}

impl TestNode {
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder().method(method).uri(path);
        if !token.is_empty() {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        let body = match body {
            Some(v) => {
                req = req.header("content-type", "application/json");
                Body::from(serde_json::to_vec(&v).unwrap())
            }
            None => Body::empty(),
        };
        self.raw(req.body(body).unwrap()).await
    }

    pub async fn raw(&self, req: Request<Body>) -> (StatusCode, Value) {
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), 10 << 20)
            .await
            .unwrap();
        (status, json_or_text(&bytes))
    }

    pub async fn login(&self, login: &str, password: &str) -> String {
        let (s, v) = self
            .call(
                "POST",
                "/api/v1/auth/login",
                "",
                Some(json!({"login": login, "password": password})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v["token"].as_str().unwrap().to_string()
    }

    /// First login with a temporary password: sets [`OWN_PASSWORD`] and returns the session.
    pub async fn activate(&self, login: &str, temporary: &str) -> String {
        let token = self.login(login, temporary).await;
        let (s, v) = self
            .call(
                "POST",
                "/api/v1/auth/password",
                &token,
                Some(json!({"current_password": temporary, "new_password": OWN_PASSWORD})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        token
    }

    pub async fn user(&self, login: &str, roles: &[&str], district: Option<&str>) -> String {
        let (s, v) = self
            .call("POST", "/api/v1/accounts", &self.admin, Some(json!({
                "login": login, "full_name": format!("{login} test"), "password": "long-password-1",
                "roles": roles, "district": district,
            })))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        self.activate(login, "long-password-1").await
    }

    /// An account of an appeals service (`service` from the reference's `services`).
    pub async fn user_in(&self, login: &str, roles: &[&str], service: &str) -> String {
        let (s, v) = self
            .call("POST", "/api/v1/accounts", &self.admin, Some(json!({
                "login": login, "full_name": format!("{login} test"), "password": "long-password-1",
                "roles": roles, "service": service,
            })))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        self.activate(login, "long-password-1").await
    }

    /// The bytes of an answer (a file download), with its status.
    pub async fn bytes(&self, path: &str, token: &str) -> (StatusCode, Vec<u8>) {
        let mut req = Request::builder().method("GET").uri(path);
        if !token.is_empty() {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        let resp = self
            .app
            .clone()
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), 64 << 20)
            .await
            .unwrap();
        (status, bytes.to_vec())
    }

    /// A successful answer's body.
    pub async fn ok(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> Value {
        let (s, v) = self.call(method, path, token, body).await;
        assert!(s.is_success(), "{method} {path}: {s} {v}");
        v
    }
}
