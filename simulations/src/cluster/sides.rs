//! A regional node and the central as the harness drives them, over their REST APIs only
//! ([`client::Api`]): the operators' writes (create, note, dispatch, close), HQ's notes, and
//! the reads the convergence check compares.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{bail, Context};
use rand::rngs::StdRng;
use serde_json::{json, Value};

use crate::client::{self, Api, CallError};

const CALL_TAKER_LOGIN: &str = "sim_ct";
const DISPATCHER_LOGIN: &str = "sim_disp";

/// A regional node as the harness drives it.
pub(crate) struct NodeSide {
    region: String,
    api: Api,
    call_taker: String,
    dispatcher: String,
    categories: Vec<String>,
    /// Units still free to dispatch, in the node's order.
    free_units: Vec<String>,
}

impl NodeSide {
    pub(super) async fn open(region: &str, api: Api, admin_password: &str) -> anyhow::Result<Self> {
        let admin = api.login("admin", admin_password).await?;
        for (login, role) in [
            (CALL_TAKER_LOGIN, "call_taker"),
            (DISPATCHER_LOGIN, "dispatcher"),
        ] {
            api.create_account(
                &admin,
                login,
                "Simulation Operator",
                client::OPERATOR_PASSWORD,
                &[role],
            )
            .await
            .with_context(|| format!("on {region}"))?;
        }
        Self::reopen(region, api).await
    }

    /// The operators of a node whose accounts exist (a node started again on its database).
    pub(super) async fn reopen(region: &str, api: Api) -> anyhow::Result<Self> {
        let call_taker = api
            .login(CALL_TAKER_LOGIN, client::OPERATOR_PASSWORD)
            .await?;
        let dispatcher = api
            .login(DISPATCHER_LOGIN, client::OPERATOR_PASSWORD)
            .await?;
        let reference = api
            .get("/api/v1/reference", &call_taker)
            .await
            .context("cannot read the node's reference")?;
        let categories: Vec<String> = reference["categories"]
            .as_array()
            .map(|list| {
                list.iter()
                    .filter_map(|c| c["code"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        if categories.is_empty() {
            bail!("{region}: /api/v1/reference lists no categories");
        }
        let units = api
            .get("/api/v1/units", &dispatcher)
            .await
            .context("cannot read the node's units")?;
        let free_units = units
            .as_array()
            .map(|list| {
                list.iter()
                    .filter(|u| u["status"] == "available" && u["kind"] == "patrol")
                    .filter_map(|u| u["id"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self {
            region: region.to_string(),
            api,
            call_taker,
            dispatcher,
            categories,
            free_units,
        })
    }

    /// Creates a card and sends it for processing; returns its id.
    pub(crate) async fn create_sent(&self, rng: &mut StdRng, seq: u64) -> anyhow::Result<String> {
        let body = client::card_body(rng, &self.categories, seq);
        let card = self
            .api
            .post("/api/v1/cards", &self.call_taker, &body, &[201])
            .await
            .with_context(|| format!("{}: cannot create a card", self.region))?;
        let id = card["id"]
            .as_str()
            .with_context(|| format!("201 without an id: {card}"))?
            .to_string();
        let sent = json!({});
        command(
            &self.api,
            &self.call_taker,
            &node_card(&id),
            "send-for-processing",
            sent,
        )
        .await?;
        Ok(id)
    }

    pub(crate) async fn note(&self, id: &str, text: &str) -> anyhow::Result<()> {
        let note = json!({ "text": text });
        command(&self.api, &self.dispatcher, &node_card(id), "notes", note).await?;
        Ok(())
    }

    /// Dispatches the next free patrol; `None` when none is left.
    pub(crate) async fn dispatch(&mut self, id: &str) -> anyhow::Result<Option<String>> {
        let Some(unit) = self.free_units.first().cloned() else {
            return Ok(None);
        };
        let dispatch = json!({ "unit_id": unit });
        command(
            &self.api,
            &self.dispatcher,
            &node_card(id),
            "dispatch",
            dispatch,
        )
        .await?;
        self.free_units.remove(0);
        Ok(Some(unit))
    }

    /// Closes a card with the patrol's report; its units are free again.
    pub(crate) async fn close(&mut self, id: &str, report: &str) -> anyhow::Result<()> {
        let close = json!({ "report": report });
        let card = command(&self.api, &self.dispatcher, &node_card(id), "close", close).await?;
        for unit in unit_ids(&card) {
            if !self.free_units.contains(&unit) {
                self.free_units.push(unit);
            }
        }
        Ok(())
    }

    pub(crate) async fn card(&self, id: &str) -> Result<Option<Value>, CallError> {
        self.api.get_opt(&node_card(id), &self.call_taker).await
    }

    /// The node's operators as a handle tasks can own (scenarios with their own calls).
    pub(crate) fn operators(&self) -> Operators {
        Operators {
            api: self.api.clone(),
            call_taker: self.call_taker.clone(),
            dispatcher: self.dispatcher.clone(),
            categories: self.categories.clone(),
        }
    }

    /// Whether the card `id` shows a timeline event with `text` (false when unreadable).
    pub(super) async fn has_note(&self, id: &str, text: &str) -> bool {
        match self.card(id).await {
            Ok(Some(card)) => timeline(&card).iter().any(|e| e.3 == text),
            _ => false,
        }
    }

    /// The node's `/metrics` text.
    pub(crate) async fn metrics(&self) -> Result<String, CallError> {
        self.api.metrics().await
    }

    pub(super) async fn open_card_ids(&self) -> Result<Vec<String>, CallError> {
        let list = self.api.get("/api/v1/cards", &self.call_taker).await?;
        Ok(ids_of(&list))
    }
}

/// A node's call-taker and dispatcher sessions, owned (cloned into a scenario's tasks).
#[derive(Clone)]
pub(crate) struct Operators {
    pub(crate) api: Api,
    pub(crate) call_taker: String,
    pub(crate) dispatcher: String,
    categories: Vec<String>,
}

impl Operators {
    /// Creates a card and sends it for processing; returns its id.
    pub(crate) async fn create_sent(&self, rng: &mut StdRng, seq: u64) -> anyhow::Result<String> {
        let body = client::card_body(rng, &self.categories, seq);
        let card = self
            .api
            .post("/api/v1/cards", &self.call_taker, &body, &[201])
            .await
            .context("cannot create a card")?;
        let id = card["id"]
            .as_str()
            .with_context(|| format!("201 without an id: {card}"))?
            .to_string();
        command(
            &self.api,
            &self.call_taker,
            &node_card(&id),
            "send-for-processing",
            json!({}),
        )
        .await?;
        Ok(id)
    }

    /// Dispatches `unit` to the card; `Ok(false)` when the node refuses because the unit is busy
    /// (409).
    pub(crate) async fn dispatch(&self, id: &str, unit: &str) -> anyhow::Result<bool> {
        let path = format!("{}/dispatch", node_card(id));
        let body = json!({ "unit_id": unit });
        match self.api.post(&path, &self.dispatcher, &body, &[200]).await {
            Ok(_) => Ok(true),
            Err(CallError::Status { status: 409, .. }) => Ok(false),
            Err(e) => Err(e).with_context(|| format!("POST {path}")),
        }
    }

    pub(crate) async fn card(&self, id: &str) -> Result<Option<Value>, CallError> {
        self.api.get_opt(&node_card(id), &self.call_taker).await
    }
}

/// The central as the harness drives it.
pub(crate) struct CentralSide {
    pub(super) api: Api,
    pub(super) token: String,
}

impl CentralSide {
    pub(crate) async fn card(&self, region: &str, id: &str) -> Result<Option<Value>, CallError> {
        self.api
            .get_opt(&format!("/api/v1/cards/{region}/{id}"), &self.token)
            .await
    }

    pub(crate) async fn open_card_ids(&self, region: &str) -> Result<Vec<String>, CallError> {
        let list = self
            .api
            .get(&format!("/api/v1/cards?region={region}"), &self.token)
            .await?;
        Ok(ids_of(&list))
    }

    pub(crate) async fn note(&self, region: &str, id: &str, text: &str) -> anyhow::Result<()> {
        let note = json!({ "text": text });
        command(
            &self.api,
            &self.token,
            &central_card(region, id),
            "notes",
            note,
        )
        .await?;
        Ok(())
    }

    /// The central's `/metrics` text.
    pub(crate) async fn metrics(&self) -> Result<String, CallError> {
        self.api.metrics().await
    }

    /// The region's link as `/api/v1/regions` shows it: its `state` code where the central
    /// sends one, else `connected` or `disconnected`.
    pub(crate) async fn region_state(&self, region: &str) -> Result<String, CallError> {
        let rows = self.api.get("/api/v1/regions", &self.token).await?;
        let row = rows
            .as_array()
            .and_then(|rows| rows.iter().find(|r| r["region"] == region));
        Ok(match row {
            None => "unknown".to_string(),
            Some(r) => match r["state"].as_str() {
                Some(state) => state.to_string(),
                None if r["connected"].as_bool() == Some(true) => "connected".to_string(),
                None => "disconnected".to_string(),
            },
        })
    }

    /// `region → connected` from `/api/v1/regions`.
    pub(crate) async fn connected(&self) -> Result<BTreeMap<String, bool>, CallError> {
        let rows = self.api.get("/api/v1/regions", &self.token).await?;
        Ok(rows
            .as_array()
            .map(|rows| {
                rows.iter()
                    .filter_map(|r| {
                        Some((
                            r["region"].as_str()?.to_string(),
                            r["connected"].as_bool().unwrap_or(false),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default())
    }
}

/// A card's path on its node.
fn node_card(id: &str) -> String {
    format!("/api/v1/cards/{id}")
}

/// A region's card's path at the central.
fn central_card(region: &str, id: &str) -> String {
    format!("/api/v1/cards/{region}/{id}")
}

/// `POST {card}/{action}`: a command on a card, answered 200 with the card; the error names the
/// request.
async fn command(
    api: &Api,
    token: &str,
    card: &str,
    action: &str,
    body: Value,
) -> anyhow::Result<Value> {
    let path = format!("{card}/{action}");
    api.post(&path, token, &body, &[200])
        .await
        .with_context(|| format!("POST {}{path}", api.base_url()))
}

fn ids_of(list: &Value) -> Vec<String> {
    list.as_array()
        .map(|cards| {
            cards
                .iter()
                .filter_map(|c| c["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// `(at, by, kind, text)` of one timeline event.
pub(super) type Event = (i64, String, String, String);

pub(super) fn timeline(card: &Value) -> Vec<Event> {
    card["timeline"]
        .as_array()
        .map(|events| {
            events
                .iter()
                .map(|e| {
                    (
                        e["at"].as_i64().unwrap_or(i64::MIN),
                        e["by"].as_str().unwrap_or("").to_string(),
                        e["kind"].as_str().unwrap_or("").to_string(),
                        e["text"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

pub(super) fn unit_ids(card: &Value) -> BTreeSet<String> {
    card["units"]
        .as_array()
        .map(|units| {
            units
                .iter()
                .filter_map(|u| u["unit_id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}
