//! R22–R26, R37: district inspectors' report meetings through the node's API, on the demo beats
//! reference (sample data: Astana's beats `saryarka-01` with inspector `uip.saryarka01` and helper
//! `uip.saryarka01.helper`, `saryarka-02`, both of office `upp-saryarka-1` headed by
//! `upp.saryarka1.head`, and `esil-01` of inspector `uip.esil01`).
//!
//! The node's clock is real and a notice must go out 10 calendar days before the meeting, so a
//! meeting held *today* had its notice published ten days ago. That part of its history is
//! written the way it would be on another device of the region (the inspector's terminal): the
//! pure core takes the day as an argument, the document is created and noticed there with the
//! day ten days back, and arrives at the node by replication. Every step on the meeting's day
//! (registration, held, protocol, sign, correction, follow-up, hold) then goes through HTTP
//! with the node's own clock; nothing in the product is bent for the test.

mod common;

use axum::http::StatusCode;
use node::server::open_node;
use serde_json::{json, Value};
use sync::calendar::Day;
use sync::meetings::doc::NoticeChannel;
use sync::meetings::{MeetingCommand, MeetingDoc, MeetingPlan, Quarter};
use sync::{Ctx, DocId, Document};

use common::api_node::{test_config, TestNode, ADMIN_PASSWORD};

const DAY_MS: i64 = 86_400_000;

struct World {
    node: node::server::Node,
    t: TestNode,
    inspector: String,
    helper: String,
    office_head: String,
    other_inspector: String,
    region_head: String,
    today: Day,
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("node");
    let node = open_node(&test_config(), &data, Some(ADMIN_PASSWORD.to_string()))
        .await
        .unwrap();
    let mut t = TestNode {
        app: node::http::app(node.state.clone()),
        _dir: dir,
        data,
        admin: String::new(),
    };
    t.admin = t.activate("admin", ADMIN_PASSWORD).await;
    let inspector = t
        .user("uip.saryarka01", &["district_inspector"], None)
        .await;
    let helper = t
        .user("uip.saryarka01.helper", &["district_inspector"], None)
        .await;
    let office_head = t
        .user("upp.saryarka1.head", &["district_inspector"], None)
        .await;
    let other_inspector = t.user("uip.esil01", &["district_inspector"], None).await;
    let region_head = t.user("chief", &["head"], None).await;
    let offset = node.state.service.reference().shifts.utc_offset_min;
    let today = Day::from_ms(node::http::now_ms(), offset);
    World {
        node,
        t,
        inspector,
        helper,
        office_head,
        other_inspector,
        region_head,
        today,
    }
}

fn plan(beats: &[&str], date: Day) -> Value {
    json!({"beats": beats, "format": "gathering", "date": date.to_string(), "time": "18:00",
        "place_kk": "№ 12 мектеп, акт залы", "place_ru": "Школа № 12, актовый зал",
        "language": "ru"})
}

impl World {
    async fn call(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.t.call(method, path, token, body).await
    }

    async fn ok(&self, token: &str, method: &str, path: &str, body: Option<Value>) -> Value {
        self.t.ok(method, path, token, body).await
    }

    async fn coverage(&self, token: &str, quarter: Quarter) -> Value {
        self.ok(
            token,
            "GET",
            &format!("/api/v1/meetings/coverage?quarter={quarter}"),
            None,
        )
        .await
    }

    /// A meeting of `beat` on `date` whose notice went out ten days before it, written on the
    /// inspector's terminal and replicated to the node (see the module doc).
    fn noticed_elsewhere(&self, id: &str, beats: &[&str], date: Day) {
        let plan: MeetingPlan = serde_json::from_value(plan(beats, date)).unwrap();
        let notice_day = date.plus_days(-10);
        let then_ms =
            node::http::now_ms() - i64::from(self.today.days() - notice_day.days()) * DAY_MS;
        let ctx = Ctx::new("uip.saryarka01", "AST", then_ms);
        let mut doc = MeetingDoc::create(
            automerge::ActorId::from(vec![7u8; 16]),
            id,
            "AST",
            &plan,
            &ctx,
        )
        .unwrap();
        doc.apply(
            &MeetingCommand::PublishNotice(vec![NoticeChannel::Page, NoticeChannel::Print]),
            notice_day,
            &ctx,
        )
        .unwrap();
        let doc_id = DocId::parse(&format!("AST/meeting/{id}")).unwrap();
        self.node
            .state
            .service
            .replica_import(&doc_id, &doc.save(), "terminal", node::http::now_ms())
            .unwrap();
    }
}

fn beats_of(coverage: &Value) -> Vec<String> {
    coverage["beats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["beat"].as_str().unwrap().to_string())
        .collect()
}

fn warnings_of(coverage: &Value) -> Vec<&str> {
    coverage["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect()
}

fn beat<'a>(coverage: &'a Value, code: &str) -> &'a Value {
    coverage["beats"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["beat"] == code)
        .unwrap_or_else(|| panic!("{code} not in {coverage}"))
}

#[tokio::test]
async fn r22_a_quarter_without_a_meeting_warns_the_inspector_and_the_office_head_and_a_planned_one_does_not(
) {
    let w = world().await;
    // Each sees their own beats: the inspector and helper theirs, the office's head the
    // office's, the region's head all; the demo reference is marked sample.
    let v = w
        .ok(&w.inspector, "GET", "/api/v1/meetings/beats", None)
        .await;
    assert_eq!(v["sample"], true);
    assert_eq!(v["beats"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["beats"][0]["beat"]["code"], "saryarka-01");
    assert_eq!(v["beats"][0]["relation"], "inspector");
    let v = w.ok(&w.helper, "GET", "/api/v1/meetings/beats", None).await;
    assert_eq!(v["beats"][0]["relation"], "helper");
    let v = w
        .ok(&w.office_head, "GET", "/api/v1/meetings/beats", None)
        .await;
    assert_eq!(v["beats"].as_array().unwrap().len(), 2, "{v}");
    let v = w
        .ok(&w.region_head, "GET", "/api/v1/meetings/beats", None)
        .await;
    assert_eq!(v["beats"].as_array().unwrap().len(), 3, "{v}");
    // Other roles have no access.
    let desk = w.t.user("desk", &["registrar"], None).await;
    let (s, v) = w.call(&desk, "GET", "/api/v1/meetings/beats", None).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");

    // The last quarter passed without a meeting: missed, and it warns the beat's inspector and
    // the office's head (both beats), not the inspector of another office's beat.
    let past = Quarter::of(w.today).previous();
    let v = w.coverage(&w.inspector, past).await;
    assert_eq!(beats_of(&v), ["saryarka-01"]);
    assert_eq!(beat(&v, "saryarka-01")["coverage"]["state"], "missed");
    assert_eq!(warnings_of(&v), ["saryarka-01"]);
    let v = w.coverage(&w.office_head, past).await;
    assert_eq!(warnings_of(&v), ["saryarka-01", "saryarka-02"]);
    assert_eq!(beat(&v, "saryarka-01")["relation"], "office_head");
    let v = w.coverage(&w.other_inspector, past).await;
    assert_eq!(warnings_of(&v), ["esil-01"]);

    // Next quarter: a meeting planned in time covers the beat (planned, then noticed) and
    // nothing warns while there is time; the other beat is open with its warning day.
    let next = Quarter::of(w.today).next();
    let date = std::cmp::max(next.first_day(), w.today.plus_days(11));
    let (s, m) = w
        .call(
            &w.inspector,
            "POST",
            "/api/v1/meetings",
            Some(plan(&["saryarka-01"], date)),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{m}");
    assert_eq!(m["stage"], "planned");
    let id = m["id"].as_str().unwrap().to_string();
    let v = w.coverage(&w.office_head, next).await;
    assert_eq!(beat(&v, "saryarka-01")["coverage"]["state"], "planned");
    assert_eq!(
        beat(&v, "saryarka-01")["coverage"]["on"],
        date.to_string().as_str()
    );
    assert_eq!(beat(&v, "saryarka-02")["coverage"]["state"], "open");
    assert!(warnings_of(&v).is_empty(), "{v}");
    let m = w
        .ok(
            &w.inspector,
            "POST",
            &format!("/api/v1/meetings/{id}/notice"),
            Some(json!({"channels": ["page", "telegram", "vk", "email", "print"]})),
        )
        .await;
    assert_eq!(m["stage"], "noticed");
    let v = w.coverage(&w.inspector, next).await;
    assert_eq!(beat(&v, "saryarka-01")["coverage"]["state"], "noticed");
    // The beat's list reads it from the index.
    let list = w
        .ok(
            &w.office_head,
            "GET",
            &format!("/api/v1/meetings/beats/saryarka-01/meetings?quarter={next}"),
            None,
        )
        .await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["id"], id.as_str());

    // An inspector of another beat neither plans for this beat nor reads its meetings.
    let (s, v) = w
        .call(
            &w.other_inspector,
            "POST",
            "/api/v1/meetings",
            Some(plan(&["saryarka-01"], date)),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(v["code"], "meeting_not_your_beat");
    let (s, _) = w
        .call(
            &w.other_inspector,
            "GET",
            &format!("/api/v1/meetings/{id}"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = w
        .call(
            &w.inspector,
            "GET",
            "/api/v1/meetings/coverage?quarter=2026-Q5",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["code"], "meeting_bad_quarter");
    // A plan the reference does not know is refused with its field.
    let (s, v) = w
        .call(
            &w.region_head,
            "POST",
            "/api/v1/meetings",
            Some(plan(&["nowhere-9"], date)),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["code"], "meeting_beat_unknown");
    assert_eq!(v["field"], "beats");
}

#[tokio::test]
async fn r23_a_notice_later_than_10_calendar_days_before_the_meeting_is_refused_and_nothing_is_stored(
) {
    let w = world().await;
    let soon = w.today.plus_days(9);
    let m = w
        .ok(
            &w.inspector,
            "POST",
            "/api/v1/meetings",
            Some(plan(&["saryarka-01"], soon)),
        )
        .await;
    let id = m["id"].as_str().unwrap().to_string();
    let (s, v) = w
        .call(
            &w.inspector,
            "POST",
            &format!("/api/v1/meetings/{id}/notice"),
            Some(json!({"channels": ["page"]})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["code"], "meeting_notice_too_late");
    assert_eq!(v["field"], "date");
    let after = w
        .ok(&w.inspector, "GET", &format!("/api/v1/meetings/{id}"), None)
        .await;
    assert_eq!(after, m, "a refused notice wrote nothing");

    // Moved to exactly 10 days ahead, the notice goes out today.
    let m = w
        .ok(
            &w.inspector,
            "POST",
            &format!("/api/v1/meetings/{id}/reschedule"),
            Some(plan(&["saryarka-01"], w.today.plus_days(10))),
        )
        .await;
    assert_eq!(m["stage"], "planned");
    let m = w
        .ok(
            &w.helper,
            "POST",
            &format!("/api/v1/meetings/{id}/notice"),
            Some(json!({"channels": ["telegram", "page"]})),
        )
        .await;
    assert_eq!(m["stage"], "noticed");
    assert_eq!(m["notice"]["channels"], json!(["page", "telegram"]));
    assert_eq!(m["notice"]["published_on"], w.today.to_string().as_str());
}

#[tokio::test]
async fn r24_participants_registered_with_consent_on_the_day_the_protocol_signed_locks_and_a_correction_is_version_2(
) {
    let w = world().await;
    w.noticed_elsewhere("m-today", &["saryarka-01"], w.today);
    let base = "/api/v1/meetings/m-today";
    let m = w.ok(&w.inspector, "GET", base, None).await;
    assert_eq!(m["stage"], "noticed", "{m}");

    // Registration: consent is required; refused input writes nothing.
    let person = json!({"name": "Ахметов Ерлан", "address": "ул. Кенесары, 40",
        "contact": "+77011234567", "consent": false});
    let (s, v) = w
        .call(
            &w.helper,
            "POST",
            &format!("{base}/participants"),
            Some(person.clone()),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["code"], "meeting_consent_required");
    let mut person = person;
    person["consent"] = json!(true);
    let m = w
        .ok(
            &w.helper,
            "POST",
            &format!("{base}/participants"),
            Some(person),
        )
        .await;
    assert_eq!(m["participants"].as_array().unwrap().len(), 1);
    let author = m["participants"][0]["id"].as_str().unwrap().to_string();

    // Protocol before the meeting is held: refused.
    let (s, v) = w
        .call(
            &w.inspector,
            "POST",
            &format!("{base}/protocol"),
            Some(json!({"fields": {"report": "x"}})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["code"], "meeting_not_held");

    let m = w
        .ok(&w.inspector, "POST", &format!("{base}/held"), None)
        .await;
    assert_eq!(m["stage"], "held");
    assert_eq!(m["held_on"], w.today.to_string().as_str());
    // Held today and unsigned, it is not overdue yet.
    let v = w.coverage(&w.office_head, Quarter::of(w.today)).await;
    assert_eq!(beat(&v, "saryarka-01")["coverage"]["state"], "held");
    assert!(v["overdue_protocols"].as_array().unwrap().is_empty(), "{v}");

    w.ok(
        &w.inspector,
        "POST",
        &format!("{base}/protocol"),
        Some(json!({"fields": {"report": "Отчет за квартал", "decisions": "Усилить патрулирование"}})),
    )
    .await;
    let m = w
        .ok(
            &w.inspector,
            "POST",
            &format!("{base}/items"),
            Some(
                json!({"kind": "complaint", "text": "Не работает освещение во дворе",
                "author": author, "answered_fully": false}),
            ),
        )
        .await;
    assert_eq!(m["items"][0]["state"], "open");

    // Only the inspector signs (p.32).
    let (s, v) = w
        .call(&w.helper, "POST", &format!("{base}/sign"), None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(v["code"], "meeting_inspector_signs");
    let m = w
        .ok(&w.inspector, "POST", &format!("{base}/sign"), None)
        .await;
    let sig = &m["signatures"][0];
    assert_eq!(sig["version"], 1);
    assert_eq!(sig["on_time"], true, "signed on the meeting's day");
    assert_eq!(sig["by"], "uip.saryarka01@AST");
    assert_eq!(sig["content"]["participants"], 1);
    assert_eq!(sig["content"]["items"].as_array().unwrap().len(), 1);
    assert_eq!(sig["sha256"].as_str().unwrap().len(), 64);

    // Signed: the protocol is locked, and so is registration.
    let (s, v) = w
        .call(
            &w.inspector,
            "POST",
            &format!("{base}/protocol"),
            Some(json!({"fields": {"decisions": "другое"}})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["code"], "meeting_protocol_signed");
    let (s, v) = w
        .call(
            &w.helper,
            "POST",
            &format!("{base}/participants"),
            Some(json!({"name": "Поздний Участник", "address": "ул. Абая, 1",
                "contact": "+77010000000", "consent": true})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["code"], "meeting_registration_closed");

    // A correction makes version 2, linked by its reason; version 1 stays as signed.
    w.ok(
        &w.inspector,
        "POST",
        &format!("{base}/correction"),
        Some(json!({"reason": "Уточнено решение"})),
    )
    .await;
    w.ok(
        &w.inspector,
        "POST",
        &format!("{base}/protocol"),
        Some(json!({"fields": {"decisions": "Усилить патрулирование и установить освещение"}})),
    )
    .await;
    let m = w
        .ok(&w.inspector, "POST", &format!("{base}/sign"), None)
        .await;
    let sigs = m["signatures"].as_array().unwrap();
    assert_eq!(sigs.len(), 2);
    assert_eq!(sigs[1]["version"], 2);
    assert_eq!(sigs[1]["correction_reason"], "Уточнено решение");
    assert_eq!(
        sigs[0]["content"]["fields"]["decisions"],
        "Усилить патрулирование"
    );
    assert_eq!(
        sigs[1]["content"]["fields"]["decisions"],
        "Усилить патрулирование и установить освещение"
    );
    assert_eq!(m["unsigned_changes"], false);

    // Every step is in the audit log.
    let supervisor = w.t.user("sup", &["supervisor"], None).await;
    let audit = w
        .ok(
            &supervisor,
            "GET",
            "/api/v1/audit?action=meeting.&limit=200",
            None,
        )
        .await;
    let text = audit.to_string();
    for action in [
        "meeting.register",
        "meeting.held",
        "meeting.protocol",
        "meeting.item",
        "meeting.sign",
        "meeting.correction",
    ] {
        assert!(text.contains(action), "{action} not audited");
    }
}

#[tokio::test]
async fn r24_a_meeting_held_yesterday_with_no_signed_protocol_is_overdue_for_the_office_head() {
    let w = world().await;
    let yesterday = w.today.plus_days(-1);
    w.noticed_elsewhere("m-late", &["saryarka-02"], yesterday);
    // Marked held a day late; the protocol is still unsigned.
    w.ok(&w.office_head, "POST", "/api/v1/meetings/m-late/held", None)
        .await;
    let v = w.coverage(&w.office_head, Quarter::of(yesterday)).await;
    let overdue = v["overdue_protocols"].as_array().unwrap();
    assert_eq!(overdue.len(), 1, "{v}");
    assert_eq!(overdue[0]["id"], "m-late");
    // The region's head sees it too; the inspector of another office does not.
    let v = w.coverage(&w.region_head, Quarter::of(yesterday)).await;
    assert_eq!(v["overdue_protocols"].as_array().unwrap().len(), 1);
    let v = w.coverage(&w.other_inspector, Quarter::of(yesterday)).await;
    assert!(v["overdue_protocols"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn r25_a_complaint_not_answered_in_full_is_followed_up_to_closure_under_the_office_heads_control(
) {
    let w = world().await;
    w.noticed_elsewhere("m-fu", &["saryarka-01"], w.today);
    let base = "/api/v1/meetings/m-fu";
    w.ok(&w.inspector, "POST", &format!("{base}/held"), None)
        .await;
    w.ok(
        &w.inspector,
        "POST",
        &format!("{base}/protocol"),
        Some(json!({"fields": {"decisions": "Принять к сведению"}})),
    )
    .await;
    let m = w
        .ok(
            &w.inspector,
            "POST",
            &format!("{base}/items"),
            Some(json!({"kind": "complaint", "text": "Шум по ночам из кафе", "answered_fully": false})),
        )
        .await;
    let item = m["items"][0]["id"].as_str().unwrap().to_string();
    w.ok(
        &w.inspector,
        "POST",
        &format!("{base}/items"),
        Some(json!({"kind": "proposal", "text": "Поставить камеру", "answered_fully": true})),
    )
    .await;
    // Before the protocol is signed nothing is followed up.
    let (s, v) = w
        .call(
            &w.inspector,
            "POST",
            &format!("{base}/follow-up"),
            Some(json!({"item": item, "step": {"step": "checking", "note": "Проверка"}})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["code"], "meeting_protocol_not_signed");
    w.ok(&w.inspector, "POST", &format!("{base}/sign"), None)
        .await;

    // The open complaint is on the office head's list; the answered proposal is not.
    let q = Quarter::of(w.today);
    let v = w.coverage(&w.office_head, q).await;
    let open = v["open_items"].as_array().unwrap();
    assert_eq!(open.len(), 1, "{v}");
    assert_eq!(open[0]["item"], item.as_str());
    assert_eq!(open[0]["state"], "open");

    let m = w
        .ok(
            &w.inspector,
            "POST",
            &format!("{base}/follow-up"),
            Some(
                json!({"item": item, "step": {"step": "checking", "note": "Проверка участковым"}}),
            ),
        )
        .await;
    let it = m["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == item.as_str())
        .unwrap();
    assert_eq!(it["state"], "checking");
    let v = w.coverage(&w.office_head, q).await;
    assert_eq!(v["open_items"][0]["state"], "checking");

    let m = w
        .ok(
            &w.office_head,
            "POST",
            &format!("{base}/follow-up"),
            Some(json!({"item": item, "step": {"step": "closed", "result": "Владелец кафе предупрежден, нарушений нет"}})),
        )
        .await;
    let it = m["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == item.as_str())
        .unwrap();
    assert_eq!(it["state"], "closed");
    assert_eq!(it["follow_up"].as_array().unwrap().len(), 2);
    let v = w.coverage(&w.office_head, q).await;
    assert!(v["open_items"].as_array().unwrap().is_empty(), "{v}");
    // Closed stays closed.
    let (s, v) = w
        .call(
            &w.inspector,
            "POST",
            &format!("{base}/follow-up"),
            Some(json!({"item": item, "step": {"step": "checking", "note": "ещё"}})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["code"], "meeting_item_closed");
}

#[tokio::test]
async fn r26_only_the_office_head_or_the_region_head_holds_a_meetings_materials() {
    let w = world().await;
    let m = w
        .ok(
            &w.inspector,
            "POST",
            "/api/v1/meetings",
            Some(plan(&["saryarka-01"], w.today.plus_days(20))),
        )
        .await;
    let id = m["id"].as_str().unwrap().to_string();
    let (s, v) = w
        .call(
            &w.inspector,
            "POST",
            &format!("/api/v1/meetings/{id}/hold"),
            Some(json!({"hold": true})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(v["code"], "meeting_hold_by_head");
    let m = w
        .ok(
            &w.office_head,
            "POST",
            &format!("/api/v1/meetings/{id}/hold"),
            Some(json!({"hold": true})),
        )
        .await;
    assert_eq!(m["hold"], true);
    let m = w
        .ok(
            &w.region_head,
            "POST",
            &format!("/api/v1/meetings/{id}/hold"),
            Some(json!({"hold": false})),
        )
        .await;
    assert_eq!(m["hold"], false);
    let log: Vec<&str> = m["log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["action"].as_str().unwrap())
        .collect();
    assert!(
        log.contains(&"hold_set") && log.contains(&"hold_released"),
        "{log:?}"
    );
}

#[tokio::test]
async fn r37_invitations_come_from_the_regions_invitation_list() {
    let w = world().await;
    let beats = w
        .ok(&w.inspector, "GET", "/api/v1/meetings/beats", None)
        .await;
    let invitee = beats["invitees"][0]["code"].as_str().unwrap().to_string();
    let m = w
        .ok(
            &w.inspector,
            "POST",
            "/api/v1/meetings",
            Some(plan(&["saryarka-01"], w.today.plus_days(15))),
        )
        .await;
    let id = m["id"].as_str().unwrap().to_string();
    let m = w
        .ok(
            &w.inspector,
            "POST",
            &format!("/api/v1/meetings/{id}/invitation"),
            Some(json!({"invitee": invitee, "state": "sent"})),
        )
        .await;
    assert_eq!(m["invitations"][invitee.as_str()]["state"], "sent");
    let (s, v) = w
        .call(
            &w.inspector,
            "POST",
            &format!("/api/v1/meetings/{id}/invitation"),
            Some(json!({"invitee": "nobody", "state": "sent"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["code"], "meeting_invitee_unknown");
    // Documented in the node's OpenAPI.
    let (_, api) = w.t.call("GET", "/api/v1/openapi.json", "", None).await;
    for path in [
        "/api/v1/meetings",
        "/api/v1/meetings/coverage",
        "/api/v1/meetings/{id}/sign",
        "/api/v1/meetings/{id}/follow-up",
    ] {
        assert!(api["paths"][path].is_object(), "{path} not documented");
    }
}

#[tokio::test]
async fn r24_a_meeting_survives_a_restart_with_its_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("node");
    let id;
    let today;
    {
        let node = open_node(&test_config(), &data, Some(ADMIN_PASSWORD.to_string()))
            .await
            .unwrap();
        let mut t = TestNode {
            app: node::http::app(node.state.clone()),
            _dir: tempfile::tempdir().unwrap(),
            data: data.clone(),
            admin: String::new(),
        };
        t.admin = t.activate("admin", ADMIN_PASSWORD).await;
        let inspector = t.user("uip.esil01", &["district_inspector"], None).await;
        let offset = node.state.service.reference().shifts.utc_offset_min;
        today = Day::from_ms(node::http::now_ms(), offset);
        let m = t
            .ok(
                "POST",
                "/api/v1/meetings",
                &inspector,
                Some(plan(&["esil-01"], today.plus_days(12))),
            )
            .await;
        id = m["id"].as_str().unwrap().to_string();
        drop(node);
    }
    let node = open_node(&test_config(), &data, None).await.unwrap();
    let list = node
        .state
        .service
        .meetings()
        .beat_meetings("esil-01", None)
        .unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].id, id);
    assert_eq!(list[0].date, today.plus_days(12));
}

#[tokio::test]
async fn r22_the_beats_reference_comes_from_the_configured_file_and_a_bad_one_stops_the_node() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("beats.toml");
    let own = sync::meetings::DEMO_BEATS_TOML
        .replace("sample = true", "sample = false")
        .replace("uip.esil01", "uip.esil01.new");
    std::fs::write(&file, &own).unwrap();
    let mut config = test_config();
    config.meetings.beats_file = Some(file.clone());
    let node = open_node(
        &config,
        &dir.path().join("a"),
        Some(ADMIN_PASSWORD.to_string()),
    )
    .await
    .unwrap();
    let reference = node.state.service.meetings().reference();
    assert!(!reference.sample);
    assert_eq!(reference.beats_of("uip.esil01.new").len(), 1);
    assert!(reference.beats_of("uip.esil01").is_empty());
    drop(node);
    // An office in a district the region does not have: the node does not start, and says why.
    std::fs::write(
        &file,
        own.replace("district = \"esil\"", "district = \"nowhere\""),
    )
    .unwrap();
    let Err(e) = open_node(
        &config,
        &dir.path().join("b"),
        Some(ADMIN_PASSWORD.to_string()),
    )
    .await
    else {
        panic!("a beats file with an unknown district was accepted");
    };
    let e = format!("{e:#}");
    assert!(
        e.contains("beats reference") && e.contains("nowhere"),
        "{e}"
    );
}

#[tokio::test]
async fn r24_a_meeting_document_that_is_not_what_its_id_says_is_refused_on_arrival() {
    let w = world().await;
    let plan: MeetingPlan = serde_json::from_value(plan(&["saryarka-01"], w.today)).unwrap();
    let ctx = Ctx::new("uip.saryarka01", "KRG", node::http::now_ms());
    let mut doc = MeetingDoc::create(
        automerge::ActorId::from(vec![8u8; 16]),
        "m-other",
        "KRG",
        &plan,
        &ctx,
    )
    .unwrap();
    let doc_id = DocId::parse("AST/meeting/m-other").unwrap();
    let refused =
        w.node
            .state
            .service
            .replica_import(&doc_id, &doc.save(), "terminal", node::http::now_ms());
    assert!(refused.is_err(), "a meeting of another region was stored");
    let (s, _) = w
        .call(&w.region_head, "GET", "/api/v1/meetings/m-other", None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(w
        .node
        .state
        .service
        .meetings()
        .beat_meetings("saryarka-01", None)
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn r25_a_joint_meetings_open_item_is_listed_once_for_the_head_of_both_beats() {
    let w = world().await;
    w.noticed_elsewhere("m-joint", &["saryarka-01", "saryarka-02"], w.today);
    let base = "/api/v1/meetings/m-joint";
    w.ok(&w.inspector, "POST", &format!("{base}/held"), None)
        .await;
    w.ok(
        &w.inspector,
        "POST",
        &format!("{base}/protocol"),
        Some(json!({"fields": {"decisions": "Совместный отчет принят"}})),
    )
    .await;
    w.ok(
        &w.inspector,
        "POST",
        &format!("{base}/items"),
        Some(
            json!({"kind": "remark", "text": "Нет пешеходного перехода у школы",
            "answered_fully": false, "outside_competence": "akimat-saryarka"}),
        ),
    )
    .await;
    w.ok(&w.inspector, "POST", &format!("{base}/sign"), None)
        .await;
    let q = Quarter::of(w.today);
    // Both beats' quarters are covered by the one meeting.
    let v = w.coverage(&w.office_head, q).await;
    assert_eq!(beat(&v, "saryarka-01")["coverage"]["state"], "held");
    assert_eq!(beat(&v, "saryarka-02")["coverage"]["state"], "held");
    let open = v["open_items"].as_array().unwrap();
    assert_eq!(open.len(), 1, "{v}");
    assert_eq!(open[0]["outside_competence"], "akimat-saryarka");
    // The inspector of one of the beats sees it too; another office's inspector does not.
    let v = w.coverage(&w.inspector, q).await;
    assert_eq!(v["open_items"].as_array().unwrap().len(), 1);
    let v = w.coverage(&w.other_inspector, q).await;
    assert!(v["open_items"].as_array().unwrap().is_empty());
}

/// `word/document.xml` of a DOCX.
fn document_xml(docx: &[u8]) -> String {
    use std::io::Read;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(docx)).expect("a DOCX is a zip");
    let mut xml = String::new();
    zip.by_name("word/document.xml")
        .expect("word/document.xml in the package")
        .read_to_string(&mut xml)
        .unwrap();
    xml
}

#[tokio::test]
async fn r24_the_protocol_downloads_as_a_word_document_the_draft_marked_unsigned_the_signed_one_with_its_decisions(
) {
    let w = world().await;
    w.noticed_elsewhere("m-docx", &["saryarka-01"], w.today);
    let base = "/api/v1/meetings/m-docx";
    for name in ["Ахметов Ерлан", "Садыкова Айгуль"] {
        w.ok(
            &w.helper,
            "POST",
            &format!("{base}/participants"),
            Some(json!({"name": name, "address": "ул. Кенесары, 40",
                "contact": "+77011234567", "consent": true})),
        )
        .await;
    }
    w.ok(&w.inspector, "POST", &format!("{base}/held"), None)
        .await;
    w.ok(
        &w.inspector,
        "POST",
        &format!("{base}/protocol"),
        Some(json!({"fields": {"report": "Отчет за квартал", "decisions": "Усилить патрулирование у школы"}})),
    )
    .await;
    w.ok(
        &w.inspector,
        "POST",
        &format!("{base}/items"),
        Some(
            json!({"kind": "proposal", "text": "Установить камеру у остановки",
            "answered_fully": true}),
        ),
    )
    .await;

    // Nothing signed: the draft as it stands, marked unsigned.
    let (s, docx) = w.t.bytes(&format!("{base}/protocol.docx"), &w.helper).await;
    assert_eq!(s, StatusCode::OK);
    let xml = document_xml(&docx);
    for want in [
        "Проект протокола, не подписан",
        "Количество участников: 2",
        "Усилить патрулирование у школы",
    ] {
        assert!(xml.contains(want), "{want} not in the draft");
    }

    w.ok(&w.inspector, "POST", &format!("{base}/sign"), None)
        .await;
    let (s, docx) =
        w.t.bytes(&format!("{base}/protocol.docx"), &w.office_head)
            .await;
    assert_eq!(s, StatusCode::OK);
    let xml = document_xml(&docx);
    for want in [
        "Количество участников: 2",
        "Усилить патрулирование у школы",
        "Установить камеру у остановки",
    ] {
        assert!(xml.contains(want), "{want} not in the signed protocol");
    }
    assert!(
        !xml.contains("не подписан"),
        "the signed protocol is not a draft"
    );
    let m = w.ok(&w.inspector, "GET", base, None).await;
    let sha = m["signatures"][0]["sha256"].as_str().unwrap();
    assert!(
        xml.contains(sha),
        "the signature's SHA-256 is on the protocol"
    );
    // Version 1 asked by number: the same document; a version never signed: 404.
    let (s, again) =
        w.t.bytes(&format!("{base}/protocol.docx?version=1"), &w.inspector)
            .await;
    assert_eq!((s, again), (StatusCode::OK, docx));
    let (s, _) =
        w.t.bytes(&format!("{base}/protocol.docx?version=2"), &w.inspector)
            .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Same access as reading the meeting: another beat's inspector does not get it.
    let (s, _) =
        w.t.bytes(&format!("{base}/protocol.docx"), &w.other_inspector)
            .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

/// The texts (`<w:t>`) of a document's XML, in order.
fn runs(xml: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find("<w:t") {
        rest = &rest[i + 4..];
        // `<w:t>` or `<w:t xml:space="preserve">`, not `<w:tbl>` and the like.
        if !(rest.starts_with('>') || rest.starts_with(' ')) {
            continue;
        }
        let start = rest.find('>').unwrap() + 1;
        let end = rest.find("</w:t>").unwrap();
        out.push(rest[start..end].to_string());
        rest = &rest[end..];
    }
    out
}

#[tokio::test]
async fn r24_the_draft_report_counts_the_beats_cards_of_the_quarter_and_the_previous_meetings_open_items(
) {
    let w = world().await;
    // A meeting held 40 days ago with a complaint not answered in full (the terminal's part,
    // as `noticed_elsewhere`).
    let before = w.today.plus_days(-40);
    let plan_before: MeetingPlan = serde_json::from_value(plan(&["saryarka-01"], before)).unwrap();
    let then_ms = |day: Day| node::http::now_ms() - i64::from(w.today.days() - day.days()) * DAY_MS;
    let ctx = Ctx::new("uip.saryarka01", "AST", then_ms(before.plus_days(-10)));
    let mut doc = MeetingDoc::create(
        automerge::ActorId::from(vec![7u8; 16]),
        "m-before",
        "AST",
        &plan_before,
        &ctx,
    )
    .unwrap();
    doc.apply(
        &MeetingCommand::PublishNotice(vec![NoticeChannel::Page]),
        before.plus_days(-10),
        &ctx,
    )
    .unwrap();
    let ctx = Ctx::new("uip.saryarka01", "AST", then_ms(before));
    doc.apply(&MeetingCommand::MarkHeld, before, &ctx).unwrap();
    let item: sync::meetings::doc::ItemInput = serde_json::from_value(json!({
        "kind": "complaint", "text": "Не горит фонарь у дома 4", "answered_fully": false}))
    .unwrap();
    doc.apply(
        &MeetingCommand::AddItem {
            id: "i1".into(),
            item,
        },
        before,
        &ctx,
    )
    .unwrap();
    w.node
        .state
        .service
        .replica_import(
            &DocId::parse("AST/meeting/m-before").unwrap(),
            &doc.save(),
            "terminal",
            node::http::now_ms(),
        )
        .unwrap();

    // Today's meeting; two assault cards on the beat, a theft elsewhere in the city.
    w.noticed_elsewhere("m-now", &["saryarka-01"], w.today);
    let op = w.t.user("op1", &["call_taker"], None).await;
    for (lat, lon, category) in [
        (51.20, 71.30, "assault"),
        (51.25, 71.28, "assault"),
        (51.00, 71.00, "theft"),
    ] {
        let (s, v) = w
            .call(
                &op,
                "POST",
                "/api/v1/cards",
                Some(json!({
                    "channel": "app102_call",
                    "caller": {"name": "Айгерим Серікқызы", "phone": "+77011234567", "language": "kk"},
                    "location": {"lat": lat, "lon": lon, "accuracy_m": 15.0, "address": "г. Астана"},
                    "description": "Драка у подъезда",
                    "category": category
                })),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }

    let (s, docx) =
        w.t.bytes("/api/v1/meetings/m-now/report.docx", &w.inspector)
            .await;
    assert_eq!(s, StatusCode::OK);
    let text = runs(&document_xml(&docx));
    let after = |label: &str| {
        let i = text
            .iter()
            .position(|t| t == label)
            .unwrap_or_else(|| panic!("{label} not in {text:?}"));
        text[i + 1].clone()
    };
    assert_eq!(after("Нападение, телесные повреждения"), "2");
    assert_eq!(after("Всего"), "2", "the theft elsewhere is not the beat's");
    assert!(!text.iter().any(|t| t == "Кража"), "{text:?}");
    assert!(
        text.iter().any(|t| t == "Не горит фонарь у дома 4"),
        "the previous meeting's open complaint is followed up: {text:?}"
    );
    assert!(text.iter().any(|t| t.starts_with("Проект")), "{text:?}");

    // Same access as reading the meeting.
    let (s, _) =
        w.t.bytes("/api/v1/meetings/m-now/report.docx", &w.other_inspector)
            .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

impl World {
    /// Uploads `bytes` as `content_type` to meeting `id`'s recordings.
    async fn upload(
        &self,
        token: &str,
        id: &str,
        content_type: &str,
        bytes: &[u8],
    ) -> (StatusCode, Value) {
        let req = axum::http::Request::builder()
            .method("POST")
            .uri(format!("/api/v1/meetings/{id}/recordings"))
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", content_type)
            .body(axum::body::Body::from(bytes.to_vec()))
            .unwrap();
        self.t.raw(req).await
    }
}

/// The files under the node's meeting recordings.
fn recording_files(w: &World) -> Vec<std::path::PathBuf> {
    let dir = w.node.state.calls.recordings_dir().join("meetings");
    let mut out = Vec::new();
    for meeting in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        for f in std::fs::read_dir(meeting.path()).unwrap().flatten() {
            out.push(f.path());
        }
    }
    out
}

#[tokio::test]
async fn r24_the_inspector_stores_the_held_meetings_video_hashed_and_its_viewing_is_audited() {
    let w = world().await;
    w.noticed_elsewhere("m-video", &["saryarka-01"], w.today);
    let video: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();

    // Not held yet: refused, nothing kept.
    let (s, v) = w
        .upload(&w.inspector, "m-video", "video/webm", &video)
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["code"], "meeting_not_held");
    w.ok(&w.inspector, "POST", "/api/v1/meetings/m-video/held", None)
        .await;
    // Only the inspector adds it; only a video a browser records; never empty.
    let (s, v) = w.upload(&w.helper, "m-video", "video/webm", &video).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(v["code"], "meeting_inspector_records");
    let (s, v) = w
        .upload(&w.inspector, "m-video", "application/zip", &video)
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["code"], "meeting_recording_type");
    let (s, v) = w.upload(&w.inspector, "m-video", "video/mp4", &[]).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["code"], "meeting_recording_empty");
    assert!(recording_files(&w).is_empty(), "{:?}", recording_files(&w));

    let (s, m) = w
        .upload(&w.inspector, "m-video", "video/webm", &video)
        .await;
    assert_eq!(s, StatusCode::OK, "{m}");
    let rec = &m["recordings"][0];
    use sha2::Digest;
    assert_eq!(rec["sha256"], hex::encode(sha2::Sha256::digest(&video)));
    assert_eq!(rec["bytes"], video.len());
    assert_eq!(rec["content_type"], "video/webm");
    let files = recording_files(&w);
    assert_eq!(files.len(), 1, "one file, no temporary left: {files:?}");
    assert_eq!(std::fs::read(&files[0]).unwrap(), video);

    // The office's head watches it; another beat's inspector does not.
    let path = format!(
        "/api/v1/meetings/m-video/recordings/{}",
        rec["id"].as_str().unwrap()
    );
    let (s, got) = w.t.bytes(&path, &w.office_head).await;
    assert_eq!((s, got == video), (StatusCode::OK, true));
    let (s, _) = w.t.bytes(&path, &w.other_inspector).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) =
        w.t.bytes(
            "/api/v1/meetings/m-video/recordings/not-there",
            &w.office_head,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let sup = w.t.user("sup1", &["supervisor"], None).await;
    let log = w.ok(&sup, "GET", "/api/v1/audit?limit=50", None).await;
    let played: Vec<&Value> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "meeting.recording.play")
        .collect();
    assert_eq!(played.len(), 1, "{log}");
    assert_eq!(played[0]["actor"], "upp.saryarka1.head");
}

impl World {
    /// A meeting of saryarka-01 held `days_ago` with one registered participant and one
    /// recording (its file on disk), a hold on it when `hold`: the terminal's history,
    /// replicated to the node (see the module doc).
    fn held_long_ago(&self, id: &str, days_ago: i64, hold: bool) -> std::path::PathBuf {
        let date = self.today.plus_days(-days_ago);
        let plan: MeetingPlan = serde_json::from_value(plan(&["saryarka-01"], date)).unwrap();
        let at = |day: Day| {
            let ms = node::http::now_ms() - i64::from(self.today.days() - day.days()) * DAY_MS;
            Ctx::new("uip.saryarka01", "AST", ms)
        };
        let notice = date.plus_days(-10);
        let mut doc = MeetingDoc::create(
            automerge::ActorId::from(vec![7u8; 16]),
            id,
            "AST",
            &plan,
            &at(notice),
        )
        .unwrap();
        doc.apply(
            &MeetingCommand::PublishNotice(vec![NoticeChannel::Page]),
            notice,
            &at(notice),
        )
        .unwrap();
        let person = serde_json::from_value(json!({"name": "Ахметов Ерлан",
            "address": "ул. Кенесары, 40", "contact": "+77011234567", "consent": true}))
        .unwrap();
        doc.apply(
            &MeetingCommand::Register {
                id: "p1".into(),
                participant: person,
            },
            date,
            &at(date),
        )
        .unwrap();
        doc.apply(&MeetingCommand::MarkHeld, date, &at(date))
            .unwrap();
        let dir = w_recordings(self).join("meetings").join(id);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("r1"), b"webm").unwrap();
        let rec = serde_json::from_value(json!({"id": "r1", "sha256": "00", "bytes": 4,
            "content_type": "video/webm", "at_ms": 0, "by": "uip.saryarka01@AST"}))
        .unwrap();
        doc.apply(&MeetingCommand::AddRecording(rec), date, &at(date))
            .unwrap();
        if hold {
            doc.apply(&MeetingCommand::SetHold(true), date, &at(date))
                .unwrap();
        }
        self.node
            .state
            .service
            .replica_import(
                &DocId::parse(&format!("AST/meeting/{id}")).unwrap(),
                &doc.save(),
                "terminal",
                node::http::now_ms(),
            )
            .unwrap();
        dir
    }
}

fn w_recordings(w: &World) -> std::path::PathBuf {
    w.node.state.calls.recordings_dir().to_path_buf()
}

#[tokio::test]
async fn r26_a_year_after_the_meeting_its_recordings_and_participants_data_go_unless_held_and_the_coverage_facts_stay(
) {
    let w = world().await;
    let old = w.held_long_ago("m-old", 400, false);
    let kept = w.held_long_ago("m-kept", 400, true);
    let recent = w.held_long_ago("m-recent", 300, false);
    let meetings = w.node.state.service.meetings().clone();
    let dir = w_recordings(&w);

    // Swept as of a day before m-old's year is out: nothing goes.
    let held_on = w.today.plus_days(-400);
    let year_out = sync::meetings::retention_ends(held_on);
    let n = meetings
        .sweep_retention(&dir, year_out.plus_days(-1), node::http::now_ms())
        .await
        .unwrap();
    assert_eq!(n, 0);
    assert!(old.join("r1").exists());

    // On the day the year is out: m-old's materials go; the held one and the recent one stay.
    let n = meetings
        .sweep_retention(&dir, year_out, node::http::now_ms())
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert!(!old.exists(), "the recordings' files are deleted");
    assert!(kept.join("r1").exists() && recent.join("r1").exists());
    let m = w
        .ok(&w.office_head, "GET", "/api/v1/meetings/m-old", None)
        .await;
    assert_eq!(m["participants"], json!([]), "{m}");
    assert_eq!(m["recordings"], json!([]), "{m}");
    assert_eq!(m["stage"], "held");
    assert_eq!(m["held_on"], held_on.to_string().as_str());
    assert!(!m.to_string().contains("Ахметов"), "{m}");
    let m = w
        .ok(&w.office_head, "GET", "/api/v1/meetings/m-kept", None)
        .await;
    assert_eq!(m["participants"].as_array().unwrap().len(), 1);
    assert_eq!(m["recordings"].as_array().unwrap().len(), 1);
    // The erasure is a replicated change: a copy exported from the node has no participant.
    let export = meetings
        .with_doc(&DocId::parse("AST/meeting/m-old").unwrap(), |d| d.save())
        .unwrap();
    let copy = MeetingDoc::load([export.as_slice()])
        .unwrap()
        .view()
        .unwrap();
    assert!(copy.participants.is_empty() && copy.recordings.is_empty());
    // A second sweep finds nothing more to do.
    let n = meetings
        .sweep_retention(&dir, year_out, node::http::now_ms())
        .await
        .unwrap();
    assert_eq!(n, 0);
}

/// A held, signed meeting of `saryarka-01` today with one registered participant (their id)
/// and items `items` (`kind`, `text`, `author`, `answered_fully`, `outside_competence`; an
/// `author` of `"P"` is the participant); returns the participant's id and the items' ids.
async fn signed_meeting_with_items(w: &World, id: &str, items: &[Value]) -> (String, Vec<String>) {
    w.noticed_elsewhere(id, &["saryarka-01"], w.today);
    let base = format!("/api/v1/meetings/{id}");
    let m = w
        .ok(
            &w.helper,
            "POST",
            &format!("{base}/participants"),
            Some(
                json!({"name": "Ахметов Ерлан Серикович", "address": "ул. Кенесары, 40, кв. 5",
                "contact": "erlan@example.kz", "consent": true}),
            ),
        )
        .await;
    let author = m["participants"][0]["id"].as_str().unwrap().to_string();
    w.ok(&w.inspector, "POST", &format!("{base}/held"), None)
        .await;
    w.ok(
        &w.inspector,
        "POST",
        &format!("{base}/protocol"),
        Some(json!({"fields": {"decisions": "Принять к сведению"}})),
    )
    .await;
    let mut ids = Vec::new();
    for it in items {
        let mut it = it.clone();
        if it["author"] == "P" {
            it["author"] = json!(author);
        }
        let m = w
            .ok(&w.inspector, "POST", &format!("{base}/items"), Some(it))
            .await;
        let new = m["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_string())
            .find(|i| !ids.contains(i))
            .unwrap();
        ids.push(new);
    }
    w.ok(&w.inspector, "POST", &format!("{base}/sign"), None)
        .await;
    (author, ids)
}

/// Every appeal of the node, whatever its status (the list shows one status at a time, the
/// open ones by default).
async fn all_appeals(w: &World, token: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for st in sync::appeal::AppealStatus::ALL {
        let v = w
            .ok(
                token,
                "GET",
                &format!("/api/v1/appeals?status={}", st.as_str()),
                None,
            )
            .await;
        out.extend(v.as_array().unwrap().iter().cloned());
    }
    out
}

fn item_of<'a>(m: &'a Value, item: &str) -> &'a Value {
    m["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == item)
        .unwrap_or_else(|| panic!("{item} not in {m}"))
}

#[tokio::test]
async fn r25_a_complaint_outside_police_competence_is_forwarded_through_the_appeals_workflow_with_the_author_notified_once(
) {
    let w = world().await;
    let registrar = w.t.user("reg.fwd", &["registrar"], None).await;
    let text = "Во дворе дома по ул. Кенесары, 40 третий месяц не работает уличное освещение";
    let (_, ids) = signed_meeting_with_items(
        &w,
        "m-fwd",
        &[json!({"kind": "complaint", "text": text, "author": "P",
            "answered_fully": false, "outside_competence": "akimat"})],
    )
    .await;
    let item = &ids[0];
    let before = all_appeals(&w, &registrar).await;

    let path = format!("/api/v1/meetings/m-fwd/items/{item}/forward");
    let m = w.ok(&w.inspector, "POST", &path, None).await;
    let it = item_of(&m, item);
    assert_eq!(it["state"], "forwarded", "{it}");
    let fu = it["follow_up"].as_array().unwrap();
    assert_eq!(fu.len(), 1, "{it}");
    assert_eq!(fu[0]["step"], "forwarded");
    assert_eq!(fu[0]["body"], "akimat");
    assert_eq!(fu[0]["author_notified"], true, "{it}");
    let appeal_id = fu[0]["appeal"].as_str().unwrap().to_string();
    assert_eq!(appeal_id, node::meetings::forward_appeal_id("m-fwd", item));

    // The appeal is in the appeals list, made of the complaint and its registered author.
    let after = all_appeals(&w, &registrar).await;
    assert_eq!(after.len(), before.len() + 1, "{after:?}");
    assert!(
        after.iter().any(|a| a["id"] == appeal_id.as_str()),
        "{after:?}"
    );
    let a = w
        .ok(
            &registrar,
            "GET",
            &format!("/api/v1/appeals/{appeal_id}"),
            None,
        )
        .await;
    assert_eq!(a["channel"], "report_meeting", "{a}");
    assert_eq!(a["text"], text);
    assert_eq!(a["applicants"][0]["name"], "Ахметов Ерлан Серикович");
    assert_eq!(a["applicants"][0]["address"], "ул. Кенесары, 40, кв. 5");
    assert_eq!(a["applicants"][0]["email"], "erlan@example.kz");
    assert_eq!(a["service"], "local-police");
    let number = a["number"].as_str().expect("registered with a number");
    // Sent to the competent body under the main number and a slash (R29), within 3 working
    // days (R11).
    let parts = a["parts"].as_array().unwrap();
    assert_eq!(parts.len(), 1, "{a}");
    assert_eq!(parts[0]["body"], "akimat");
    assert_eq!(parts[0]["number"], format!("{number}/1").as_str());
    assert!(parts[0]["due"].as_str().unwrap() >= w.today.to_string().as_str());
    // The history shows each step; the author is answered that it is outside the police's
    // competence, naming the body (R15).
    let actions: Vec<&str> = a["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["action"].as_str().unwrap())
        .collect();
    for step in [
        "appeal.registered",
        "appeal.split",
        "appeal.draft_submitted",
        "appeal.approved",
    ] {
        assert!(actions.contains(&step), "{step} not in {actions:?}");
    }
    assert_eq!(a["status"], "answered", "{a}");
    assert_eq!(a["answer"]["decision"], "outside_competence", "{a}");
    // The author's letter is stored and names the body.
    let (s, docx) =
        w.t.bytes(
            &format!("/api/v1/appeals/{appeal_id}/answer.docx"),
            &registrar,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let xml = document_xml(&docx);
    assert!(xml.contains("Акимат города Астаны"), "{xml}");

    // A second call makes no second appeal and changes nothing.
    let again = w.ok(&w.inspector, "POST", &path, None).await;
    assert_eq!(item_of(&again, item), it);
    assert_eq!(all_appeals(&w, &registrar).await.len(), after.len());
    let a2 = w
        .ok(
            &registrar,
            "GET",
            &format!("/api/v1/appeals/{appeal_id}"),
            None,
        )
        .await;
    assert_eq!(a2["history"], a["history"]);

    // The follow-up endpoint no longer takes a `forwarded` step from the client.
    let (s, v) = w
        .call(
            &w.inspector,
            "POST",
            "/api/v1/meetings/m-fwd/follow-up",
            Some(
                json!({"item": item, "step": {"step": "forwarded", "body": "akimat",
                "appeal": "x", "author_notified": true}}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["code"], "meeting_forward_through_appeals");
}

#[tokio::test]
async fn r25_a_forwarding_stopped_after_the_appeal_was_stored_completes_the_same_appeal_on_retry() {
    let w = world().await;
    let registrar = w.t.user("reg.fwd2", &["registrar"], None).await;
    let text = "Нет пандуса у поликлиники";
    let (_, ids) = signed_meeting_with_items(
        &w,
        "m-fwd2",
        &[json!({"kind": "remark", "text": text, "author": "P",
            "answered_fully": false, "outside_competence": "health"})],
    )
    .await;
    let item = &ids[0];
    // A first try stored the appeal (received, not yet registered) and stopped: the meeting
    // has no record of it.
    let appeal_id = node::meetings::forward_appeal_id("m-fwd2", item);
    let input: node::appeals::AppealInput = serde_json::from_value(json!({
        "channel": "report_meeting", "language": "ru", "text": text,
        "applicant": {"name": "Ахметов Ерлан Серикович"}}))
    .unwrap();
    let (_, created) = w
        .node
        .state
        .service
        .appeals()
        .intake_once("uip.saryarka01", &appeal_id, input, node::http::now_ms())
        .await
        .unwrap();
    assert!(created);
    let m = w
        .ok(&w.inspector, "GET", "/api/v1/meetings/m-fwd2", None)
        .await;
    assert_eq!(item_of(&m, item)["state"], "open");
    let count = all_appeals(&w, &registrar).await.len();

    let m = w
        .ok(
            &w.inspector,
            "POST",
            &format!("/api/v1/meetings/m-fwd2/items/{item}/forward"),
            None,
        )
        .await;
    let it = item_of(&m, item);
    assert_eq!(it["state"], "forwarded");
    assert_eq!(it["follow_up"][0]["appeal"], appeal_id.as_str());
    assert_eq!(it["follow_up"][0]["author_notified"], true);
    assert_eq!(
        all_appeals(&w, &registrar).await.len(),
        count,
        "no second appeal"
    );
    let a = w
        .ok(
            &registrar,
            "GET",
            &format!("/api/v1/appeals/{appeal_id}"),
            None,
        )
        .await;
    assert_eq!(a["status"], "answered", "{a}");
    assert_eq!(a["parts"][0]["body"], "health");
}

#[tokio::test]
async fn r25_forwarding_is_refused_for_items_within_competence_answered_in_full_of_an_unknown_body_or_without_an_author(
) {
    let w = world().await;
    let registrar = w.t.user("reg.fwd3", &["registrar"], None).await;
    let (_, ids) = signed_meeting_with_items(
        &w,
        "m-fwd3",
        &[
            json!({"kind": "complaint", "text": "Шум из кафе", "author": "P",
                "answered_fully": false}),
            json!({"kind": "complaint", "text": "Яма на дороге", "author": "P",
                "answered_fully": true, "outside_competence": "akimat"}),
            json!({"kind": "complaint", "text": "Нет воды", "author": "P",
                "answered_fully": false, "outside_competence": "vodokanal"}),
            json!({"kind": "complaint", "text": "Нет света", "answered_fully": false,
                "outside_competence": "akimat"}),
        ],
    )
    .await;
    let count = all_appeals(&w, &registrar).await.len();
    for (item, status, code) in [
        (
            &ids[0],
            StatusCode::CONFLICT,
            "meeting_item_within_competence",
        ),
        (&ids[1], StatusCode::CONFLICT, "meeting_item_answered"),
        (
            &ids[2],
            StatusCode::UNPROCESSABLE_ENTITY,
            "meeting_body_unknown",
        ),
        (&ids[3], StatusCode::CONFLICT, "meeting_item_no_author"),
    ] {
        let (s, v) = w
            .call(
                &w.inspector,
                "POST",
                &format!("/api/v1/meetings/m-fwd3/items/{item}/forward"),
                None,
            )
            .await;
        assert_eq!((s, v["code"].as_str()), (status, Some(code)), "{v}");
    }
    let (s, v) = w
        .call(
            &w.inspector,
            "POST",
            "/api/v1/meetings/m-fwd3/items/nope/forward",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    // Another beat's inspector may not.
    let (s, v) = w
        .call(
            &w.other_inspector,
            "POST",
            &format!("/api/v1/meetings/m-fwd3/items/{}/forward", ids[0]),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    // Nothing was written: no appeal, every item still open.
    assert_eq!(all_appeals(&w, &registrar).await.len(), count);
    let m = w
        .ok(&w.inspector, "GET", "/api/v1/meetings/m-fwd3", None)
        .await;
    for item in [&ids[0], &ids[2], &ids[3]] {
        assert_eq!(item_of(&m, item)["state"], "open");
    }
}
