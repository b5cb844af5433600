//! Citizens' appeals through the HTTP API (`http::app(state)` driven with tower's `oneshot`):
//! the app's intake and token, registration and the талон, routing, assignment, the answer as a
//! Word document back to the citizen, the duplicate check, and bad input.

mod common;

use axum::http::StatusCode;
use base64::Engine;
use serde_json::{json, Value};

use common::api_node::{start, TestNode};

const JPEG: &[u8] = include_bytes!("../answers/tests/fixtures/scene.jpg");
const PNG: &[u8] = include_bytes!("../answers/tests/fixtures/tiny.png");

/// The UTC day `YYYY-MM-DD` of a time in ms.
fn chrono_day(ms: i64) -> String {
    sync::calendar::Day::from_ms(ms, 0).to_string()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

struct World {
    t: TestNode,
    registrar: String,
    manager: String,
    officer: String,
    other_officer: String,
    head: String,
}

async fn world() -> World {
    let t = start().await;
    let registrar = t.user("reg", &["registrar"], None).await;
    let head = t.user("head", &["head"], None).await;
    let manager = t.user_in("mgr", &["appeal_manager"], "local-police").await;
    let officer = t.user_in("off", &["appeal_officer"], "local-police").await;
    let other_officer = t.user_in("off2", &["appeal_officer"], "local-police").await;
    World {
        t,
        registrar,
        manager,
        officer,
        other_officer,
        head,
    }
}

fn citizen_appeal(iin: &str, text: &str, lang: &str) -> Value {
    json!({
        "channel": "app102_text",
        "language": lang,
        "text": text,
        "applicant": {"kind": "person", "iin": iin, "surname": "Ахметов", "name": "Серік",
                      "address": "Астана, ул. Кенесары, 40, кв. 12", "phone": "+77011234567"},
        "location": {"lat": 51.16, "lon": 71.43},
        "attachments": [{"file_name": "двор.jpg", "content_type": "image/jpeg", "data_base64": b64(JPEG)}]
    })
}

impl World {
    /// A citizen's appeal through the app intake: (id, token).
    async fn submit(&self, body: Value) -> (String, String) {
        let (s, v) = self
            .t
            .call("POST", "/citizen/v1/appeals", "", Some(body))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        assert_eq!(v["status"], "received");
        (
            v["appeal_id"].as_str().unwrap().to_string(),
            v["access_token"].as_str().unwrap().to_string(),
        )
    }

    async fn register(&self, id: &str, service: &str) -> Value {
        self.t
            .ok(
                "POST",
                &format!("/api/v1/appeals/{id}/register"),
                &self.registrar,
                Some(json!({"kind": "appeal", "tags": ["шум"], "service": service})),
            )
            .await
    }
}

#[tokio::test]
async fn r11_r12_an_app_appeal_is_registered_assigned_answered_and_the_answer_reaches_the_citizen()
{
    let w = world().await;
    let (id, token) = w
        .submit(citizen_appeal(
            "900101300126",
            "Соседи из квартиры 13 шумят каждую ночь после 23 часов, прошу принять меры.",
            "kk",
        ))
        .await;
    let status = |token: String| {
        let t = &w.t;
        let id = id.clone();
        async move {
            t.call("GET", &format!("/citizen/v1/appeals/{id}"), &token, None)
                .await
        }
    };
    let (s, v) = status(token.clone()).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "received");
    assert!(v["talon"].is_null());
    // Another token, or none, learns nothing.
    assert_eq!(status("0".repeat(48)).await.0, StatusCode::NOT_FOUND);
    assert_eq!(status(String::new()).await.0, StatusCode::NOT_FOUND);

    // The registrar sees it in the incoming list with the suggestions.
    let incoming =
        w.t.ok("GET", "/api/v1/appeals?status=received", &w.registrar, None)
            .await;
    assert!(incoming
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["id"] == id.as_str()));
    let sug =
        w.t.ok(
            "GET",
            &format!("/api/v1/appeals/{id}/suggestions"),
            &w.registrar,
            None,
        )
        .await;
    assert_eq!(sug["service"], "local-police");
    let a = w.register(&id, "local-police").await;
    let number = a["number"].as_str().unwrap().to_string();
    assert!(
        number.starts_with("AST-2026-") || number.starts_with("AST-2027-"),
        "{number}"
    );
    assert_eq!(a["status"], "routed");
    assert!(a["deadline"].is_string());
    // The талон: number, date and time, who registered.
    let (_, v) = status(token.clone()).await;
    assert_eq!(v["talon"]["number"], number.as_str());
    assert_eq!(v["talon"]["registered_by_name"], "reg test");
    assert!(v["talon"]["registered_at"].as_i64().unwrap() > 0);

    // R11/R16: the manager's board shows it; the officer acts only once assigned.
    let board =
        w.t.ok("GET", "/api/v1/appeals/board", &w.manager, None)
            .await;
    assert!(board
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["id"] == id.as_str()));
    let jpeg_sha = a["attachments"][0]["sha256"].as_str().unwrap().to_string();
    let draft = json!({"decision": "explained", "language": "kk", "paragraphs": [
        "Сіздің өтінішіңіз бойынша учаскелік полиция инспекторы тексеру жүргізді."], "images": [jpeg_sha]});
    let (s, v) =
        w.t.call(
            "POST",
            &format!("/api/v1/appeals/{id}/draft"),
            &w.officer,
            Some(draft.clone()),
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("transition_not_allowed")),
        "{v}"
    );
    w.t.ok(
        "POST",
        &format!("/api/v1/appeals/{id}/assign"),
        &w.manager,
        Some(json!({"officer": "off"})),
    )
    .await;
    let (s, v) =
        w.t.call(
            "POST",
            &format!("/api/v1/appeals/{id}/draft"),
            &w.other_officer,
            Some(draft.clone()),
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("not_assigned_to_you")),
        "{v}"
    );
    let (s, _) =
        w.t.call(
            "GET",
            &format!("/api/v1/appeals/{id}"),
            &w.other_officer,
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "another officer does not read it");
    let mine =
        w.t.ok("GET", "/api/v1/appeals?mine=true", &w.officer, None)
            .await;
    assert_eq!(mine.as_array().unwrap().len(), 1);
    let a =
        w.t.ok(
            "POST",
            &format!("/api/v1/appeals/{id}/draft"),
            &w.officer,
            Some(draft),
        )
        .await;
    assert_eq!(a["status"], "on_approval");
    let (s, preview) =
        w.t.bytes(&format!("/api/v1/appeals/{id}/draft.docx"), &w.manager)
            .await;
    assert_eq!(s, StatusCode::OK);
    assert!(preview.starts_with(b"PK"));
    let a =
        w.t.ok(
            "POST",
            &format!("/api/v1/appeals/{id}/approve"),
            &w.manager,
            None,
        )
        .await;
    assert_eq!(a["status"], "answered");
    let sha = a["answer"]["sha256"].as_str().unwrap().to_string();

    // Back to the citizen, byte for byte as stored.
    let (_, v) = status(token.clone()).await;
    assert_eq!(v["status"], "answered");
    assert_eq!(v["answer"]["language"], "kk");
    let (s, docx) =
        w.t.bytes(&format!("/citizen/v1/appeals/{id}/answer.docx"), &token)
            .await;
    assert_eq!(s, StatusCode::OK);
    assert!(docx.starts_with(b"PK"));
    use sha2::Digest;
    assert_eq!(hex::encode(sha2::Sha256::digest(&docx)), sha);
    let (s, staff_copy) =
        w.t.bytes(&format!("/api/v1/appeals/{id}/answer.docx"), &w.registrar)
            .await;
    assert_eq!((s, staff_copy), (StatusCode::OK, docx));
    // The accounting export (for the ИАС) carries the registration and the decision.
    let today = chrono_day(a["received_at"].as_i64().unwrap());
    let export =
        w.t.ok(
            "GET",
            &format!("/api/v1/appeals/export?from={today}&to={today}"),
            &w.registrar,
            None,
        )
        .await;
    let rec = export
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id.as_str())
        .unwrap();
    assert_eq!(
        (
            rec["format"].as_str(),
            rec["number"].as_str(),
            rec["decision"].as_str()
        ),
        (
            Some("mvd102-appeals/1"),
            Some(number.as_str()),
            Some("explained")
        )
    );
    assert_eq!(rec["applicants"][0]["iin_or_bin"], "900101300126");
    // Every step is in the audit log.
    let supervisor = w.t.user("sup", &["supervisor"], None).await;
    let audit =
        w.t.ok("GET", "/api/v1/audit?limit=200", &supervisor, None)
            .await;
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for step in [
        "appeal.received",
        "appeal.registered",
        "appeal.assigned",
        "appeal.draft_submitted",
        "appeal.approved",
    ] {
        assert!(actions.contains(&step), "{step} audited: {actions:?}");
    }
}

#[tokio::test]
async fn r13_r14_r29_routing_crime_signs_and_parts_over_the_api() {
    let w = world().await;
    let (id, token) = w
        .submit(citizen_appeal(
            "900101300126",
            "Прошу проверить: мне угрожают, а во дворе не вывозят мусор.",
            "ru",
        ))
        .await;
    w.register(&id, "local-police").await;
    let (s, v) =
        w.t.call(
            "POST",
            &format!("/api/v1/appeals/{id}/route"),
            &w.manager,
            Some(json!({"service": "mars"})),
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str(), v["field"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("unknown_service"),
            Some("service")
        ),
        "{v}"
    );
    let a =
        w.t.ok(
            "POST",
            &format!("/api/v1/appeals/{id}/split"),
            &w.manager,
            Some(json!({"parts": [{"question": "Не вывозят мусор", "body": "akimat"}]})),
        )
        .await;
    assert!(a["parts"][0]["number"].as_str().unwrap().ends_with("/1"));
    let a =
        w.t.ok(
            "POST",
            &format!("/api/v1/appeals/{id}/crime-signs"),
            &w.manager,
            Some(json!({"flag": true, "reason": "угроза"})),
        )
        .await;
    assert!(a["kui_due_at"].as_i64().unwrap() > a["registered_at"].as_i64().unwrap());
    let flagged =
        w.t.ok("GET", "/api/v1/appeals?crime_signs=true", &w.head, None)
            .await;
    assert_eq!(flagged[0]["id"], id.as_str());
    assert!(flagged[0]["kui"].is_null());
    let a =
        w.t.ok(
            "POST",
            &format!("/api/v1/appeals/{id}/kui"),
            &w.manager,
            Some(json!({"number": "267510031000123"})),
        )
        .await;
    assert_eq!(a["kui"]["number"], "267510031000123");
    let a =
        w.t.ok(
            "POST",
            &format!("/api/v1/appeals/{id}/route"),
            &w.manager,
            Some(json!({"service": "criminal-police", "reason": "угроза"})),
        )
        .await;
    assert_eq!(
        (a["service"].as_str(), a["status"].as_str()),
        (Some("criminal-police"), Some("routed"))
    );
    // Only the head extends a term.
    let (s, _) =
        w.t.call(
            "POST",
            &format!("/api/v1/appeals/{id}/extend"),
            &w.manager,
            Some(json!({"until": "2027-01-29", "reason": "x"})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // R11: the head extends it with a reason, and the citizen's app shows the new term.
    let due = sync::calendar::Day::parse(a["deadline"].as_str().unwrap()).unwrap();
    let until = due.plus_days(10).to_string();
    let a =
        w.t.ok(
            "POST",
            &format!("/api/v1/appeals/{id}/extend"),
            &w.head,
            Some(json!({"until": until, "reason": "назначена экспертиза"})),
        )
        .await;
    assert_eq!(a["deadline"], until.as_str());
    let (_, v) =
        w.t.call("GET", &format!("/citizen/v1/appeals/{id}"), &token, None)
            .await;
    assert_eq!(v["deadline"], until.as_str());
    assert_eq!(v["extensions"][0]["reason"], "назначена экспертиза");
}

#[tokio::test]
async fn r28_a_reworded_repeat_of_the_same_person_is_shown_as_a_duplicate_candidate() {
    let w = world().await;
    let (first, _) = w
        .submit(citizen_appeal(
            "900101300126",
            "Соседи из квартиры 13 шумят каждую ночь после 23 часов, прошу принять меры.",
            "ru",
        ))
        .await;
    w.register(&first, "local-police").await;
    let (second, _) = w
        .submit(citizen_appeal(
            "900101300126",
            "Прошу принять меры: каждую ночь после 23:00 шумят соседи из кв. 13.",
            "ru",
        ))
        .await;
    let (other, _) = w
        .submit(citizen_appeal(
            "850505400127",
            "Прошу заменить удостоверение личности, утерял документы.",
            "ru",
        ))
        .await;
    let r =
        w.t.ok(
            "GET",
            &format!("/api/v1/appeals/{second}/duplicates"),
            &w.registrar,
            None,
        )
        .await;
    assert_eq!(
        r["scope"], "region",
        "the console must not imply a national check: {r}"
    );
    let c = &r["candidates"][0];
    assert_eq!(c["id"], first.as_str(), "{r}");
    assert!(c["number"].as_str().is_some());
    let reasons: Vec<&str> = c["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(reasons.contains(&"same_iin"), "{reasons:?}");
    let r =
        w.t.ok(
            "GET",
            &format!("/api/v1/appeals/{other}/duplicates"),
            &w.registrar,
            None,
        )
        .await;
    assert!(
        r["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["id"] != first.as_str()),
        "{r}"
    );
    // A duplicate is still registered (R28), with its link.
    let a = w.t.ok("POST", &format!("/api/v1/appeals/{second}/register"), &w.registrar,
        Some(json!({"kind": "appeal", "service": "local-police", "duplicate_of": [{"region": "AST", "number": c["number"]}]}))).await;
    assert_eq!(a["duplicate_of"][0]["number"], c["number"]);
}

#[tokio::test]
async fn bad_appeals_get_an_error_naming_the_field_and_store_nothing() {
    let w = world().await;
    let count = |v: Value| v.as_array().unwrap().len();
    let before = count(
        w.t.ok("GET", "/api/v1/appeals?status=received", &w.registrar, None)
            .await,
    );
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            citizen_appeal("900101300125", "текст", "ru"),
            "invalid_iin",
            "applicant.iin",
        ),
        (
            json!({"channel": "app102_text", "language": "ru", "text": "x".repeat(50_001)}),
            "text_too_long",
            "text",
        ),
        (
            json!({"channel": "app102_text", "language": "ru", "text": "фото", "attachments": [
            {"file_name": "a.jpg", "content_type": "image/jpeg", "data_base64": b64(PNG)}]}),
            "attachment_not_what_it_claims",
            "attachments[0].content_type",
        ),
        (
            json!({"channel": "app102_text", "language": "ru", "text": "фото", "attachments": [
            {"file_name": "a.exe", "content_type": "application/x-msdownload", "data_base64": b64(b"MZ")}]}),
            "attachment_type_not_accepted",
            "attachments[0].content_type",
        ),
        (
            json!({"channel": "post", "language": "ru", "text": "письмо"}),
            "channel_not_an_app",
            "channel",
        ),
    ];
    for (body, code, field) in cases {
        let (s, v) =
            w.t.call("POST", "/citizen/v1/appeals", "", Some(body))
                .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{code}: {v}");
        assert_eq!(
            (v["code"].as_str(), v["field"].as_str()),
            (Some(code), Some(field)),
            "{v}"
        );
    }
    // An unknown kind is refused by the JSON reader, naming the field.
    let (s, v) = w.t.call("POST", "/citizen/v1/appeals", "", Some(json!({"channel": "app102_text", "kind": "petition", "language": "ru", "text": "x"}))).await;
    assert!(s.is_client_error(), "{v}");
    assert_eq!(
        before,
        count(
            w.t.ok("GET", "/api/v1/appeals?status=received", &w.registrar, None)
                .await
        )
    );
    // Staff of the emergency line do not read appeals.
    let ct = w.t.user("taker", &["call_taker"], None).await;
    assert_eq!(
        w.t.call("GET", "/api/v1/appeals", &ct, None).await.0,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn r05_an_appeal_reporting_an_emergency_opens_a_card_and_a_card_opens_an_appeal_both_linked()
{
    let w = world().await;
    let (id, _) = w
        .submit(citizen_appeal(
            "900101300126",
            "Прямо сейчас во дворе дома 5 избивают человека!",
            "ru",
        ))
        .await;
    let (s, card) =
        w.t.call(
            "POST",
            &format!("/api/v1/appeals/{id}/card"),
            &w.registrar,
            Some(json!({"category": "assault"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{card}");
    assert_eq!(
        card["status"], "sent_for_processing",
        "a category and a point: sent to ГУСС at once: {card}"
    );
    assert!(
        card["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "appeal_linked"),
        "{card}"
    );
    let a =
        w.t.ok("GET", &format!("/api/v1/appeals/{id}"), &w.registrar, None)
            .await;
    assert_eq!(a["card_number"], card["number"]);
    let (s, v) =
        w.t.call(
            "POST",
            &format!("/api/v1/appeals/{id}/card"),
            &w.registrar,
            Some(json!({})),
        )
        .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("card_already_linked"))
    );

    // A call that is a question for the police, not an emergency: the operator opens an appeal.
    let ct = w.t.user("taker", &["call_taker"], None).await;
    let card =
        w.t.ok(
            "POST",
            "/api/v1/cards",
            &ct,
            Some(json!({"channel": "app102_call",
        "caller": {"name": "Жанар Омарова", "phone": "87015554433"},
        "description": "Просит разъяснить, как получить справку об отсутствии судимости"})),
        )
        .await;
    let cid = card["id"].as_str().unwrap();
    let (s, a) =
        w.t.call("POST", &format!("/api/v1/cards/{cid}/appeal"), &ct, None)
            .await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    assert_eq!(
        (a["channel"].as_str(), a["card_number"].as_str()),
        (Some("call_102"), card["number"].as_str())
    );
    assert_eq!(a["applicants"][0]["phone"], "+77015554433");
    let incoming =
        w.t.ok("GET", "/api/v1/appeals?status=received", &w.registrar, None)
            .await;
    assert!(incoming
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["id"] == a["id"]));
    let card =
        w.t.ok("GET", &format!("/api/v1/cards/{cid}"), &ct, None)
            .await;
    assert!(
        card["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "appeal_linked"),
        "{card}"
    );
}

#[tokio::test]
async fn r12_a_draft_that_makes_no_document_is_refused_at_submission_naming_the_field() {
    let w = world().await;
    let (id, _) = w
        .submit(citizen_appeal(
            "900101300126",
            "Во дворе по ночам шумят машины, прошу принять меры.",
            "ru",
        ))
        .await;
    w.register(&id, "local-police").await;
    w.t.ok(
        "POST",
        &format!("/api/v1/appeals/{id}/assign"),
        &w.manager,
        Some(json!({"officer": "off"})),
    )
    .await;
    // A table column without a heading: the answer could not be laid out, so the draft is
    // refused now rather than when the manager previews or approves it.
    let draft = json!({"decision": "explained", "language": "ru", "paragraphs": ["Проведена проверка."],
        "table": {"header": ["Дата", "Мера", ""], "rows": [["01.06.2026", "Рейд", ""]]}});
    let (s, v) =
        w.t.call(
            "POST",
            &format!("/api/v1/appeals/{id}/draft"),
            &w.officer,
            Some(draft),
        )
        .await;
    assert!(s.is_client_error(), "{v}");
    assert_eq!(
        (v["code"].as_str(), v["field"].as_str()),
        (Some("required"), Some("table.header[2]")),
        "{v}"
    );
    let a =
        w.t.ok("GET", &format!("/api/v1/appeals/{id}"), &w.officer, None)
            .await;
    assert_eq!(a["status"], "in_work");
    assert_eq!(a["drafts"].as_array().unwrap().len(), 0, "nothing stored");
}
