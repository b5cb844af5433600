//! Helpers shared by the central's tests: real card documents made with the domain code, stored
//! through the hub's import path.

#![allow(dead_code)]

use std::sync::Arc;

use automerge::ActorId;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use central::repo::CentralRepo;
use serde_json::Value;
use sync::protocol::Repo;
use sync::{
    CardCommand, CardCreate, CardDoc, CardEdit, Channel, Ctx, Document, Finish, Location,
    Reference, UnitDoc, UnitKind, UnitStep,
};
use tower::ServiceExt;

/// One request to the hub's router without a socket; the body as text (only the head of an
/// event stream, which never ends).
pub async fn call(
    app: &axum::Router,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, String) {
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
    let resp = app.clone().oneshot(req.body(body).unwrap()).await.unwrap();
    let status = resp.status();
    // An event stream never ends: its head is enough.
    if resp
        .headers()
        .get("content-type")
        .is_some_and(|v| v.to_str().unwrap_or("").starts_with("text/event-stream"))
    {
        return (status, String::new());
    }
    let bytes = axum::body::to_bytes(resp.into_body(), 10 << 20)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&bytes).to_string())
}

/// 2026-03-02 10:00 in Astana (05:00 UTC): the tests' "now".
pub const NOW_MS: i64 = 1_772_427_600_000;
pub const MINUTE_MS: i64 = 60_000;
pub const HOUR_MS: i64 = 3_600_000;
pub const DAY_MS: i64 = 86_400_000;

pub fn reference() -> Arc<Reference> {
    Arc::new(node::config::Config::load(None).unwrap().reference)
}

/// A card document being built by a test, as a region's node would.
pub struct TestCard {
    pub region: String,
    pub id: String,
    pub doc: CardDoc,
    reference: Arc<Reference>,
}

impl TestCard {
    pub fn new(
        reference: &Arc<Reference>,
        region: &str,
        n: u32,
        channel: Channel,
        category: &str,
        created_ms: i64,
    ) -> TestCard {
        let id = format!("00000000-0000-4000-8000-{n:012}");
        let input = CardCreate {
            channel,
            caller: Default::default(),
            location: Some(Location {
                lat: Some(51.128),
                lon: Some(71.43),
                accuracy_m: None,
                address: Some("ул. Кенесары 40".into()),
                source: None,
            }),
            description: Some("Драка во дворе".into()),
            seen: Default::default(),
            category: Some(category.into()),
            priority: None,
            district: None,
        };
        let actor = ActorId::from(format!("{region}-node-{n}").into_bytes());
        let doc = CardDoc::create(
            actor,
            &id,
            &format!("{region}-2026-{n:06}"),
            region,
            &input,
            reference,
            &Ctx::new("op1", region, created_ms),
        )
        .unwrap();
        TestCard {
            region: region.into(),
            id,
            doc,
            reference: reference.clone(),
        }
    }

    fn ctx(&self, at: i64) -> Ctx {
        Ctx::new("disp1", self.region.as_str(), at)
    }

    pub fn send(&mut self, at: i64) -> &mut Self {
        let ctx = self.ctx(at);
        self.doc
            .apply(&CardCommand::SendForProcessing, &self.reference, &ctx)
            .unwrap();
        self
    }

    pub fn set_category(&mut self, category: &str, at: i64) -> &mut Self {
        let ctx = self.ctx(at);
        let edit = CardEdit {
            category: Some(category.into()),
            ..Default::default()
        };
        self.doc
            .apply(&CardCommand::Edit(edit), &self.reference, &ctx)
            .unwrap();
        self
    }

    /// Dispatches a new patrol `unit_id` at `at`, and if `on_scene_at` is given it arrives then.
    pub fn dispatch(&mut self, unit_id: &str, at: i64, on_scene_at: Option<i64>) -> UnitDoc {
        let ctx = self.ctx(at);
        let actor = ActorId::from(format!("{}-unit-{unit_id}", self.region).into_bytes());
        let mut unit = UnitDoc::create(actor, unit_id, unit_id, UnitKind::Patrol, &ctx).unwrap();
        sync::card::dispatch(&mut self.doc, &mut unit, false, &self.reference, &ctx).unwrap();
        if let Some(t) = on_scene_at {
            let ctx = self.ctx(t);
            sync::card::unit_step(
                &mut self.doc,
                &mut unit,
                UnitStep::OnScene,
                &self.reference,
                &ctx,
            )
            .unwrap();
        }
        unit
    }

    /// Forwards the (sent) card to the reference's first duty unit at `at`.
    pub fn forward(&mut self, at: i64) -> &mut Self {
        let ctx = self.ctx(at);
        let duty_unit = self.reference.duty_units[0].code.clone();
        self.doc
            .apply(&CardCommand::Forward { duty_unit }, &self.reference, &ctx)
            .unwrap();
        self
    }

    pub fn cancel(&mut self, at: i64) -> &mut Self {
        let ctx = self.ctx(at);
        sync::card::finish(
            &mut self.doc,
            &mut [],
            &Finish::Cancel {
                reason: "ложный вызов".into(),
            },
            &self.reference,
            &ctx,
        )
        .unwrap();
        self
    }

    /// Replicates the card's current state into the hub, as an import from its region.
    pub fn store(&mut self, repo: &mut CentralRepo) {
        let bytes = self.doc.automerge().save();
        repo.import(&format!("{}/card/{}", self.region, self.id), &bytes, None)
            .unwrap();
        repo.group_commit().wait_written().unwrap();
    }
}

/// Replicates a unit document into the hub.
pub fn store_unit(repo: &mut CentralRepo, region: &str, unit: &mut UnitDoc) {
    let id = unit.id().unwrap();
    let bytes = unit.automerge().save();
    repo.import(&format!("{region}/unit/{id}"), &bytes, None)
        .unwrap();
    repo.group_commit().wait_written().unwrap();
}

/// The password every test account sets at its first login.
pub const OWN_PASSWORD: &str = "Own-HQ-Password-2026";

/// Logs in with a temporary password and sets [`OWN_PASSWORD`]; returns the session token.
pub async fn activate(app: &axum::Router, login: &str, temporary: &str) -> String {
    let (s, body) = call(
        app,
        "POST",
        "/api/v1/auth/login",
        "",
        Some(serde_json::json!({"login": login, "password": temporary})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let token = serde_json::from_str::<Value>(&body).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, body) = call(
        app,
        "POST",
        "/api/v1/auth/password",
        &token,
        Some(serde_json::json!({"current_password": temporary, "new_password": OWN_PASSWORD})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    token
}

/// An HQ duty officer's session on a fresh hub whose administrator's bootstrap password is
/// `admin_password`: the administrator sets their own, creates the account, its owner sets
/// theirs. Returns (admin token, duty token).
pub async fn hq_duty_session(app: &axum::Router, admin_password: &str) -> (String, String) {
    let admin = activate(app, "admin", admin_password).await;
    let (s, body) = call(
        app,
        "POST",
        "/api/v1/accounts",
        &admin,
        Some(
            serde_json::json!({"login": "hq.duty", "full_name": "Сейткали Нурлан",
            "password": "Temporary-HQ-Pass-41", "roles": ["hq_duty"]}),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let duty = activate(app, "hq.duty", "Temporary-HQ-Pass-41").await;
    (admin, duty)
}

/// A region's reference document as its node publishes it (`{region}/reference/region`), as
/// bytes to import.
pub fn reference_doc(reference: &Reference, at: i64) -> Vec<u8> {
    let mut doc = sync::PublishedDoc::new(ActorId::from(
        format!("{}-node", reference.region.code).into_bytes(),
    ))
    .unwrap();
    doc.publish(
        reference,
        &Ctx::new("system", reference.region.code.as_str(), at),
    )
    .unwrap();
    doc.save()
}

/// A hub serving QUIC on a free port: a CA, the central's bundle and store under `root`.
pub struct ServingHub {
    pub hub: central::server::Central,
    /// The regions' QUIC listener (a test replaces its revocation list).
    pub endpoint: quinn::Endpoint,
    /// The hub's bundle.
    pub bundle: std::path::PathBuf,
    pub port: u16,
    pub ca: std::path::PathBuf,
    pub now: time::OffsetDateTime,
}

pub async fn start_hub(root: &std::path::Path) -> ServingHub {
    let now = time::OffsetDateTime::now_utc();
    let ca = root.join("ca");
    let ca_settings = provisioning::settings::CaSettings {
        name: provisioning::settings::CaName::parse("test CA").unwrap(),
        valid_days: provisioning::settings::ValidDays::for_ca(3650).unwrap(),
    };
    provisioning::init_ca(
        &ca,
        &ca_settings,
        now,
        &mut rand::rngs::OsRng,
        &mut provisioning::progress::Silent,
    )
    .unwrap();
    let central_bundle = root.join("central");
    let cs = provisioning::settings::CentralSettings::new(
        provisioning::settings::CentralName::parse("central").unwrap(),
        vec![provisioning::settings::DnsName::parse("localhost").unwrap()],
        vec![],
        provisioning::settings::ValidDays::for_peer(730).unwrap(),
    )
    .unwrap();
    provisioning::add_central(
        &ca,
        &central_bundle,
        &cs,
        now,
        &mut rand::rngs::OsRng,
        &mut provisioning::progress::Silent,
    )
    .unwrap();
    let mut config = central::config::Config::load_layers(&[]).unwrap();
    config.accounts.argon2_memory_kib = 1024;
    let hub = central::server::open_central(
        &config,
        &root.join("central-data"),
        Some("hq-admin-password".into()),
    )
    .await
    .unwrap();
    let identity = provisioning::load_identity(&central_bundle).unwrap();
    let endpoint = quinn::Endpoint::server(
        provisioning::tls::quinn_server_config(&identity, None).unwrap(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .unwrap();
    let port = endpoint.local_addr().unwrap().port();
    tokio::spawn(
        hub.state
            .hub
            .clone()
            .serve(endpoint.clone(), hub.shutdown.subscribe()),
    );
    ServingHub {
        hub,
        endpoint,
        bundle: central_bundle,
        port,
        ca,
        now,
    }
}
