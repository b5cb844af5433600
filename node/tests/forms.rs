//! The accounting cards of an appeal through the HTTP API (R31, R39): ОЛ-1 with its automatic
//! fields and field 8 edited with a tag, ОЛ-2 per decision, З-1 from a state register (a local
//! gateway) and its offline cache, the CSV and the XLSX (read back with Python's openpyxl).

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;

use axum::extract::Query;
use axum::http::StatusCode;
use serde_json::{json, Value};

use common::api_node::{start, start_with, test_config, TestNode};

const IIN: &str = "900101300126";

struct World {
    t: TestNode,
    registrar: String,
    head: String,
    officer: String,
}

async fn world_on(t: TestNode) -> World {
    let registrar = t.user("reg", &["registrar"], None).await;
    let head = t.user("head", &["head"], None).await;
    let officer = t.user_in("off", &["appeal_officer"], "local-police").await;
    World {
        t,
        registrar,
        head,
        officer,
    }
}

impl World {
    /// A citizen's appeal, registered: its id.
    async fn registered_appeal(&self, iin: &str) -> String {
        let (s, v) = self
            .t
            .call(
                "POST",
                "/citizen/v1/appeals",
                "",
                Some(json!({
                    "channel": "app102_text",
                    "language": "ru",
                    "text": "Во дворе не работает освещение, прошу принять меры.",
                    "applicant": {"kind": "person", "iin": iin, "surname": "Ахметов", "name": "Серік",
                                  "address": "г. Астана, ул. Кенесары, 40, кв. 12"}
                })),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let id = v["appeal_id"].as_str().unwrap().to_string();
        self.t
            .ok(
                "POST",
                &format!("/api/v1/appeals/{id}/register"),
                &self.registrar,
                Some(json!({"kind": "appeal", "tags": ["освещение"], "service": "local-police"})),
            )
            .await;
        id
    }

    async fn forms(&self, id: &str) -> Value {
        self.t
            .ok(
                "GET",
                &format!("/api/v1/appeals/{id}/forms"),
                &self.registrar,
                None,
            )
            .await
    }
}

fn field(form: &Value, n: u64) -> &Value {
    form["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["number"] == n)
        .unwrap_or_else(|| panic!("field {n} in {form}"))
}

#[tokio::test]
async fn r31_r39_the_forms_of_an_appeal_as_json_csv_and_xlsx() {
    let w = world_on(start().await).await;
    let id = w.registered_appeal(IIN).await;
    let f = w.forms(&id).await;
    assert_eq!(f["format"], "mvd102-forms/1");
    let ol1 = &f["ol1"];
    let number = ol1["fields"][0]["value"]["text"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(number.starts_with("AST-"), "{ol1}");
    assert_eq!(ol1["layout_complete"], false);
    assert_eq!(ol1["layout_source"], "not in the seeds");
    assert_eq!(field(ol1, 8)["value"]["code"], "appeal");
    assert_eq!(field(ol1, 8)["name_ru"], "Вид документа");
    assert_eq!(field(ol1, 9)["value"]["code"], "appeal");
    assert!(field(ol1, 10)["value"]["ru"].as_str().unwrap().len() > 3);
    assert!(
        field(ol1, 13)["value"]["text"].is_string(),
        "the review term"
    );
    assert_eq!(ol1["missing"], json!([]));
    // No register connected: shown, and З-1's automatic fields are missing (to fill by hand).
    assert_eq!(f["register"]["state"], "not_configured");
    let z1 = &f["z1"][0];
    assert_eq!(field(z1, 1)["value"]["text"], number.as_str());
    assert_eq!(field(z1, 4)["value"]["text"], IIN);
    assert_eq!(z1["missing"][0], 3);
    assert_eq!(f["ol2"], json!([]));

    // ОЛ-1 field 8 edited with a tag; bad input changes nothing.
    let kind = |body: Value, token: String| {
        let (t, id) = (&w.t, id.clone());
        async move {
            t.call(
                "POST",
                &format!("/api/v1/appeals/{id}/kind"),
                &token,
                Some(body),
            )
            .await
        }
    };
    let steps = f["entries"].as_array().unwrap().len();
    for (body, token, status) in [
        (
            json!({"kind": "proposal", "tag": ""}),
            w.registrar.clone(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"kind": "letter", "tag": "x"}),
            w.registrar.clone(),
            StatusCode::BAD_REQUEST,
        ),
        (
            json!({"kind": "appeal", "tag": "x"}),
            w.registrar.clone(),
            StatusCode::CONFLICT,
        ),
        (
            json!({"kind": "proposal", "tag": "x"}),
            w.officer.clone(),
            StatusCode::FORBIDDEN,
        ),
    ] {
        let (s, v) = kind(body.clone(), token).await;
        assert_eq!(s, status, "{body}: {v}");
    }
    assert_eq!(
        w.forms(&id).await["entries"].as_array().unwrap().len(),
        steps
    );
    let (s, v) = kind(
        json!({"kind": "proposal", "tag": "благоустройство"}),
        w.registrar.clone(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // З-1 typed by hand where no register is connected; a field that is not typed is refused.
    let (s, v) =
        w.t.call(
            "POST",
            &format!("/api/v1/appeals/{id}/z1"),
            &w.registrar,
            Some(json!({"applicant": 0, "fields": {"4": "x"}})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let mut typed = serde_json::Map::new();
    for n in sync::forms::register::Z1_REGISTER_FIELDS {
        typed.insert(n.to_string(), json!(format!("m{n}")));
    }
    typed.insert("12".into(), json!("Астана"));
    w.t.ok(
        "POST",
        &format!("/api/v1/appeals/{id}/z1"),
        &w.registrar,
        Some(json!({"applicant": 0, "fields": typed})),
    )
    .await;
    let z1 = w.forms(&id).await["z1"][0].clone();
    assert_eq!(z1["missing"], json!([]));
    assert_eq!(field(&z1, 12)["source"], "manual");
    assert_eq!(
        z1["checks"][0]["field"], 13,
        "«m13» is not in the postal address"
    );
    // A decision: the head extends the term (ОЛ-2 №1).
    let due =
        sync::calendar::Day::parse(field(ol1, 13)["value"]["text"].as_str().unwrap()).unwrap();
    let until = due.plus_days(10).to_string();
    w.t.ok(
        "POST",
        &format!("/api/v1/appeals/{id}/extend"),
        &w.head,
        Some(json!({"until": until, "reason": "назначена экспертиза"})),
    )
    .await;
    let f = w.forms(&id).await;
    let ol1 = &f["ol1"];
    assert_eq!(field(ol1, 8)["value"]["code"], "proposal");
    assert_eq!(field(ol1, 8)["tag"], "благоустройство");
    assert_eq!(field(ol1, 9)["value"]["code"], "proposal");
    assert_eq!(field(ol1, 13)["value"]["text"], until.as_str());
    let ol2 = &f["ol2"][0];
    assert_eq!(f["ol2"].as_array().unwrap().len(), 1);
    assert_eq!(field(ol2, 1)["value"], field(ol1, 1)["value"]);
    assert_eq!(field(ol2, 4)["value"]["code"], "extended");
    // R39: one entry per step of the appeal's history.
    let a =
        w.t.ok("GET", &format!("/api/v1/appeals/{id}"), &w.registrar, None)
            .await;
    let history = a["history"].as_array().unwrap();
    let entries = f["entries"].as_array().unwrap();
    assert_eq!(entries.len(), history.len());
    for (e, h) in entries.iter().zip(history) {
        assert_eq!(e["action"], h["action"]);
    }
    assert_eq!(entries.last().unwrap()["form"], "ol2");

    // CSV: a header and one row per field.
    let (s, csv) =
        w.t.bytes(&format!("/api/v1/appeals/{id}/forms.csv"), &w.registrar)
            .await;
    assert_eq!(s, StatusCode::OK);
    let csv = String::from_utf8(csv).unwrap();
    let fields: usize = ["ol1"]
        .iter()
        .map(|k| f[k]["fields"].as_array().unwrap().len())
        .chain(
            ["z1", "ol2"]
                .iter()
                .flat_map(|k| f[k].as_array().unwrap().iter())
                .map(|x| x["fields"].as_array().unwrap().len()),
        )
        .sum();
    assert_eq!(csv.lines().count(), 1 + fields);
    assert!(csv.starts_with("format,region,appeal_id,appeal_number,form,"));
    assert!(csv.contains(",Вид документа,Құжат түрі,004 p.4,"), "{csv}");

    // XLSX, read back with openpyxl.
    let (s, xlsx) =
        w.t.bytes(&format!("/api/v1/appeals/{id}/forms.xlsx"), &w.registrar)
            .await;
    assert_eq!(s, StatusCode::OK);
    let book = common::read_xlsx(&xlsx);
    let names: Vec<&String> = book.as_object().unwrap().keys().collect();
    assert_eq!(names.len(), 3, "{names:?}");
    for name in ["ОЛ-1 (1)", "З-1 (1)", "ОЛ-2 (1)"] {
        assert!(book.get(name).is_some(), "{name} in {names:?}");
    }
    let sheet = book["ОЛ-1 (1)"].as_array().unwrap();
    assert_eq!(sheet[0][0], "ОЛ-1 нысаны / Форма ОЛ-1");
    assert!(sheet[2][0]
        .as_str()
        .unwrap()
        .contains("отсутствует в источниках"));
    assert_eq!(sheet[4][0], "№");
    assert_eq!(sheet[4][2], "Мәні / Значение");
    let row8 = sheet.iter().find(|r| r[0] == 8).unwrap();
    assert_eq!(row8[1], "Құжат түрі / Вид документа");
    assert_eq!(row8[2], "ұсыныс / предложение");
    assert_eq!(row8[7], "благоустройство");
    assert_eq!(row8[8], "Ереженің 4-т. / п. 4 Правил");
    let row1 = sheet.iter().find(|r| r[0] == 1).unwrap();
    assert_eq!(row1[6], "өтініштен / из обращения");

    let (s, _) =
        w.t.call("GET", "/api/v1/appeals/nope/forms", &w.registrar, None)
            .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

/// A state-register gateway on a local port: answers by `mode` (200, 404, or fails with 503).
async fn register_gateway(mode: Arc<AtomicU16>) -> String {
    let app = axum::Router::new().route(
        "/register",
        axum::routing::get(move |Query(q): Query<HashMap<String, String>>| {
            let mode = mode.clone();
            async move {
                let status = mode.load(Ordering::SeqCst);
                if status != 200 {
                    return (StatusCode::from_u16(status).unwrap(), String::new());
                }
                let mut fields = serde_json::Map::new();
                for n in sync::forms::register::Z1_REGISTER_FIELDS {
                    fields.insert(n.to_string(), format!("{}-{n}", q["id"]).into());
                }
                fields.insert("12".into(), "Астана".into());
                fields.insert("13".into(), "ул. Абая".into());
                (StatusCode::OK, json!({ "fields": fields }).to_string())
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/register")
}

#[tokio::test]
async fn r31_z1_is_filled_from_the_state_register_and_its_offline_cache() {
    let mode = Arc::new(AtomicU16::new(200));
    let url = register_gateway(mode.clone()).await;
    let mut config = test_config();
    config.state_register = Some(node::state_register::StateRegisterSection {
        url,
        timeout_ms: 5_000,
    });
    let w = world_on(start_with(tempfile::tempdir().unwrap(), config).await).await;
    let id = w.registered_appeal(IIN).await;
    let f = w.forms(&id).await;
    assert_eq!(f["register"]["state"], "found", "{}", f["register"]);
    assert_eq!(f["register"]["cached"], false);
    let fetched_at = f["register"]["fetched_at"].clone();
    let z1 = &f["z1"][0];
    assert_eq!(field(z1, 3)["value"]["text"], format!("{IIN}-3"));
    assert_eq!(field(z1, 3)["source"], "register");
    assert_eq!(z1["missing"], json!([]));
    // 12 («Астана») is in the postal address; 13 («ул. Абая») is not: to bring in line.
    let flagged: Vec<&Value> = z1["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["field"])
        .collect();
    assert!(
        flagged.contains(&&json!(13)) && !flagged.contains(&&json!(12)),
        "{flagged:?}"
    );

    // The register goes down: the cached answer, marked as such.
    mode.store(503, Ordering::SeqCst);
    let f = w.forms(&id).await;
    assert_eq!(f["register"]["state"], "found");
    assert_eq!(f["register"]["cached"], true);
    assert_eq!(f["register"]["fetched_at"], fetched_at);
    assert_eq!(field(&f["z1"][0], 3)["source"], "register (offline cache)");
    // Nothing cached for another applicant: unavailable, and the fields are missing.
    let other = w.registered_appeal("880202400214").await;
    let f = w.forms(&other).await;
    assert_eq!(f["register"]["state"], "unavailable", "{}", f["register"]);
    assert_eq!(f["z1"][0]["missing"][0], 3);
    // Not in the register.
    mode.store(404, Ordering::SeqCst);
    let f = w.forms(&other).await;
    assert_eq!(f["register"]["state"], "not_found");
}
