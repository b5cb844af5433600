//! District inspectors' report meetings (R22–R26, [`crate::meetings`]): the caller's beats, the
//! quarter coverage with its R22 warnings and the head's control lists, a beat's meetings, the
//! plan, and one POST per step of a meeting.
//!
//! Who: the `district_inspector` role (inspectors, their helpers and the beat offices' heads;
//! which beats each sees comes from the beats reference) and the region's `head` (every beat).
//! The notice step records the notice and its channels (R23) and queues its deliveries (R37):
//! the posts to the region's Telegram channel and VK wall and the e-mails to the invitees, whose
//! states show on the meeting; `notice.docx` prints it. The region's upcoming notices are public:
//! `GET /api/v1/public/meetings` and the page `GET /citizen/meetings` (no login).

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use server_kit::clock::now_ms;
use server_kit::web::{ApiError, ApiErrorBody, ApiJson, ApiResult, Auth};
use sync::calendar::Day;
use sync::meetings::doc::{
    FollowUpStep, InvitationState, ItemInput, NoticeChannel, ParticipantInput,
};
use sync::meetings::{Beat, Invitee, Meeting, MeetingCommand, MeetingPlan, Office, Quarter};
use sync::Role;
use utoipa::ToSchema;

use super::state::SharedState;
use crate::appeals::Staff;
use crate::kinds::meeting::{MeetingSummary, OpenItem};
use crate::meetings::{BeatCoverage, PublicNotice, Relation, MEETING_APPEAL_SERVICE};

/// Who works report meetings.
const MEETING_STAFF: &[Role] = &[Role::DistrictInspector, Role::Head];

fn today(s: &SharedState) -> Day {
    Day::from_ms(now_ms(), s.service.reference().shifts.utc_offset_min)
}

fn region_head(auth: &Auth) -> bool {
    auth.user.has_role(Role::Head)
}

fn forbidden(code: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, code, message)
}

/// The closest relation the caller has to any beat of `beats`.
fn relation_to(s: &SharedState, auth: &Auth, beats: &[String]) -> Option<Relation> {
    let m = s.service.meetings();
    beats
        .iter()
        .filter_map(|b| m.relation(&auth.user.login, region_head(auth), b))
        .min()
}

/// The caller works the meeting: a relation to one of its beats, else 403.
fn require_meeting(s: &SharedState, auth: &Auth, meeting: &Meeting) -> ApiResult<Relation> {
    relation_to(s, auth, &meeting.plan.beats).ok_or_else(|| {
        forbidden(
            "meeting_not_your_beat",
            "this meeting is not of a beat you serve or control",
        )
    })
}

/// A plan's every known beat is the caller's as inspector or helper (or the caller is the
/// region's head); unknown beats are left to the plan's check (`meeting_beat_unknown`).
fn require_plan(s: &SharedState, auth: &Auth, plan: &MeetingPlan) -> ApiResult<()> {
    let m = s.service.meetings();
    let reference = m.reference();
    for b in &plan.beats {
        if reference.beat(b).is_none() {
            continue;
        }
        match m.relation(&auth.user.login, region_head(auth), b) {
            Some(Relation::Inspector | Relation::Helper | Relation::RegionHead) => {}
            _ => {
                return Err(forbidden(
                    "meeting_not_your_beat",
                    format!("beat {b} is not one you serve as its inspector or helper"),
                ))
            }
        }
    }
    Ok(())
}

/// A beat as the caller sees it (the beat as the reference gives it, and the caller's relation
/// to it).
#[derive(Serialize, ToSchema)]
pub struct VisibleBeat {
    pub beat: Beat,
    pub relation: Relation,
}

/// The caller's beats and the reference they come from.
#[derive(Serialize, ToSchema)]
pub struct BeatsAnswer {
    /// The beats reference is the embedded demo file (`[meetings] beats_file` unset).
    pub sample: bool,
    pub source: String,
    /// The beats the caller serves (inspector, helper), those of the offices they head, and
    /// for the region's head every beat.
    pub beats: Vec<VisibleBeat>,
    /// The offices of those beats.
    pub offices: Vec<Office>,
    /// The region's invitation list (p.26–28).
    pub invitees: Vec<Invitee>,
}

#[utoipa::path(get, path = "/api/v1/meetings/beats",
    responses((status = 200, description = "The caller's beats (`sample`: the demo beats reference)", body = BeatsAnswer)))]
async fn meetings_beats(State(s): State<SharedState>, auth: Auth) -> ApiResult<Json<BeatsAnswer>> {
    auth.require(MEETING_STAFF)?;
    let m = s.service.meetings();
    let reference = m.reference();
    let visible = m.visible_beats(&auth.user.login, region_head(&auth));
    let beats: Vec<VisibleBeat> = visible
        .iter()
        .filter_map(|(code, relation)| {
            reference.beat(code).map(|b| VisibleBeat {
                beat: b.clone(),
                relation: *relation,
            })
        })
        .collect();
    let offices = reference
        .offices
        .iter()
        .filter(|o| beats.iter().any(|b| b.beat.office == o.code))
        .cloned()
        .collect();
    Ok(Json(BeatsAnswer {
        sample: reference.sample,
        source: reference.source.clone(),
        beats,
        offices,
        invitees: reference.invitees.clone(),
    }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct QuarterQuery {
    /// `YYYY-QN` (e.g. `2026-Q4`); the current quarter (the region's local date) when absent.
    quarter: Option<String>,
}

fn quarter_of(s: &SharedState, q: Option<&str>) -> ApiResult<Quarter> {
    let bad = || {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "meeting_bad_quarter",
            "the quarter is YYYY-QN, N from 1 to 4",
        )
        .with_field(Some("quarter".into()))
    };
    match q {
        None | Some("") => Ok(Quarter::of(today(s))),
        Some(text) => Quarter::parse(text).map_err(|_| bad()),
    }
}

/// R22 for the caller's beats.
#[derive(Serialize, ToSchema)]
pub struct CoverageAnswer {
    /// `YYYY-QN`.
    pub quarter: String,
    pub today: Day,
    pub beats: Vec<BeatCoverage>,
    /// The beats whose quarter warns (R22): no meeting noticed in time and the quarter's last
    /// notice day near or past. The console raises them for the inspector and the office's head.
    pub warnings: Vec<String>,
    /// Held meetings of these beats dated before today with the protocol unsigned (R24; p.33).
    pub overdue_protocols: Vec<MeetingSummary>,
    /// Complaints, proposals and remarks of these beats still followed up (R25).
    pub open_items: Vec<OpenItem>,
}

#[utoipa::path(get, path = "/api/v1/meetings/coverage", params(QuarterQuery),
    responses((status = 200, description = "The quarter of each of the caller's beats, its warnings, overdue protocols and open items", body = CoverageAnswer),
        (status = 422, description = "Not a quarter (`meeting_bad_quarter`)", body = ApiErrorBody)))]
async fn meetings_coverage(
    State(s): State<SharedState>,
    auth: Auth,
    Query(q): Query<QuarterQuery>,
) -> ApiResult<Json<CoverageAnswer>> {
    auth.require(MEETING_STAFF)?;
    let quarter = quarter_of(&s, q.quarter.as_deref())?;
    let today = today(&s);
    let m = s.service.meetings();
    let visible = m.visible_beats(&auth.user.login, region_head(&auth));
    let codes: Vec<String> = visible.iter().map(|(c, _)| c.clone()).collect();
    let beats = m.coverage(quarter, &visible, today)?;
    let warnings = beats
        .iter()
        .filter(|b| b.warning)
        .map(|b| b.beat.clone())
        .collect();
    Ok(Json(CoverageAnswer {
        quarter: quarter.to_string(),
        today,
        beats,
        warnings,
        overdue_protocols: m.overdue_protocols(&codes, today)?,
        open_items: m.open_items(&codes)?,
    }))
}

#[utoipa::path(get, path = "/api/v1/meetings/beats/{beat}/meetings", params(QuarterQuery),
    responses((status = 200, description = "The beat's meetings of the quarter, by date", body = [MeetingSummary]),
        (status = 403, description = "Not a beat the caller serves or controls (`meeting_not_your_beat`)", body = ApiErrorBody),
        (status = 422, description = "Not a quarter (`meeting_bad_quarter`)", body = ApiErrorBody)))]
async fn meetings_of_beat(
    State(s): State<SharedState>,
    auth: Auth,
    Path(beat): Path<String>,
    Query(q): Query<QuarterQuery>,
) -> ApiResult<Json<Vec<MeetingSummary>>> {
    auth.require(MEETING_STAFF)?;
    let m = s.service.meetings();
    if m.reference().beat(&beat).is_none() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("beat {beat} is not in the region's beats"),
        ));
    }
    if m.relation(&auth.user.login, region_head(&auth), &beat)
        .is_none()
    {
        return Err(forbidden(
            "meeting_not_your_beat",
            format!("beat {beat} is not one you serve or control"),
        ));
    }
    let quarter = quarter_of(&s, q.quarter.as_deref())?;
    Ok(Json(m.beat_meetings(&beat, Some(quarter))?))
}

#[utoipa::path(post, path = "/api/v1/meetings", request_body = MeetingPlan,
    responses((status = 201, description = "Planned; durable", body = Meeting),
        (status = 403, description = "A beat the caller is not the inspector or a helper of (`meeting_not_your_beat`)", body = ApiErrorBody),
        (status = 422, description = "No or too many beats (`meeting_beats`), an unknown beat (`meeting_beat_unknown`), a past date (`meeting_date_past`), a bad time (`meeting_time`), an online meeting without its https link (`meeting_link_required`, `meeting_link_invalid`), a language other than kk/ru (`meeting_language`); nothing stored", body = ApiErrorBody)))]
async fn meetings_create(
    State(s): State<SharedState>,
    auth: Auth,
    ApiJson(plan): ApiJson<MeetingPlan>,
) -> ApiResult<(StatusCode, Json<Meeting>)> {
    auth.require(MEETING_STAFF)?;
    require_plan(&s, &auth, &plan)?;
    let m = s
        .service
        .meetings()
        .create(&plan, today(&s), &auth.user.login, now_ms())
        .await?;
    Ok((StatusCode::CREATED, Json(m)))
}

#[utoipa::path(get, path = "/api/v1/meetings/{id}",
    responses((status = 200, body = Meeting),
        (status = 403, description = "`meeting_not_your_beat`", body = ApiErrorBody),
        (status = 404, body = ApiErrorBody)))]
async fn meetings_get(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Meeting>> {
    auth.require(MEETING_STAFF)?;
    let meeting = s.service.meetings().get(&id)?;
    require_meeting(&s, &auth, &meeting)?;
    Ok(Json(meeting))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ProtocolQuery {
    /// A signed version (1 the protocol, 2… its corrections); the latest signed one when absent.
    version: Option<u32>,
}

/// A login's name as it is signed (the login itself when the account is gone).
fn full_name(s: &SharedState, login: &str) -> String {
    s.accounts
        .get(login)
        .map(|u| u.full_name)
        .unwrap_or_else(|_| login.to_string())
}

/// The meeting's id as a file name (the characters a file name may hold).
fn file_name(id: &str, what: &str) -> String {
    let id: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{what}-{id}")
}

#[utoipa::path(get, path = "/api/v1/meetings/{id}/protocol.docx", params(ProtocolQuery),
    responses((status = 200, description = "The protocol as a Word document (R24, p.32): the signed version asked for, else the latest signed one with its version, date and SHA-256; with nothing signed, the draft as it stands, marked unsigned"),
        (status = 403, description = "`meeting_not_your_beat`", body = ApiErrorBody),
        (status = 404, description = "No such meeting or signed version", body = ApiErrorBody),
        (status = 422, description = "A text the document cannot hold (`too_long`, `invalid_characters` …)", body = ApiErrorBody)))]
async fn meetings_protocol_docx(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
    Query(q): Query<ProtocolQuery>,
) -> ApiResult<Response> {
    auth.require(MEETING_STAFF)?;
    let m = s.service.meetings();
    let meeting = m.get(&id)?;
    require_meeting(&s, &auth, &meeting)?;
    let bytes = m.protocol_docx(&meeting, q.version, |login| full_name(&s, login))?;
    Ok(super::appeals::docx_response(
        bytes,
        &file_name(&meeting.id, "protocol"),
    ))
}

#[utoipa::path(get, path = "/api/v1/meetings/{id}/report.docx",
    responses((status = 200, description = "The inspector's draft report for the quarter of the meeting as a Word document (p.29–30): the \"102\" cards and the appeals of the meeting's beats in the quarter (by category, by outcome; those without a place counted apart), the previous meetings' items still followed up, and the sections only the inspector can write, left empty for them"),
        (status = 403, description = "`meeting_not_your_beat`", body = ApiErrorBody),
        (status = 404, body = ApiErrorBody),
        (status = 422, description = "More cards or appeals in the quarter than one report reads (`too_many_records`), or a text the document cannot hold (`too_long` …)", body = ApiErrorBody)))]
async fn meetings_report_docx(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    use crate::meetings::REPORT_FACTS_MAX;
    use sync::calendar::KZ_UTC_OFFSET_MIN;
    use sync::meetings::report::CardFact;
    auth.require(MEETING_STAFF)?;
    let m = s.service.meetings();
    let meeting = m.get(&id)?;
    require_meeting(&s, &auth, &meeting)?;
    let quarter = Quarter::of(meeting.plan.date);
    let (from, to) = (quarter.first_day(), quarter.last_day());
    let too_many = |what: &str| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "too_many_records",
            format!("more than {REPORT_FACTS_MAX} {what} in the quarter"),
        )
    };
    let cards = s.service.cards_created_between(
        from.start_ms(KZ_UTC_OFFSET_MIN),
        to.end_ms(KZ_UTC_OFFSET_MIN) + 1,
        REPORT_FACTS_MAX + 1,
    )?;
    if cards.len() > REPORT_FACTS_MAX {
        return Err(too_many("cards"));
    }
    let cards: Vec<CardFact> = cards.iter().map(CardFact::of).collect();
    // The appeals' day index is by UTC day: the quarter's local days begin the UTC day before.
    let appeals = s
        .service
        .appeals()
        .report_facts(from.plus_days(-1), to, REPORT_FACTS_MAX)?;
    let bytes = m.report_docx(
        &meeting,
        cards,
        appeals,
        s.service.reference(),
        today(&s),
        |login| full_name(&s, login),
    )?;
    Ok(super::appeals::docx_response(
        bytes,
        &file_name(&meeting.id, "report"),
    ))
}

#[utoipa::path(post, path = "/api/v1/meetings/{id}/recordings",
    request_body(content = Vec<u8>, content_type = "video/webm", description = "The video (`video/webm` or `video/mp4`), streamed"),
    responses((status = 200, description = "Stored (hashed, on disk) and listed on the meeting; durable", body = Meeting),
        (status = 403, description = "Not the meeting's inspector (`meeting_inspector_records`) or not a beat of the caller (`meeting_not_your_beat`)", body = ApiErrorBody),
        (status = 404, body = ApiErrorBody),
        (status = 409, description = "The meeting is not held (`meeting_not_held`)", body = ApiErrorBody),
        (status = 422, description = "Not a video a browser records (`meeting_recording_type`), empty (`meeting_recording_empty`), larger than the limit (`meeting_recording_too_large`), broken off (`meeting_recording_interrupted`); nothing stored", body = ApiErrorBody)))]
async fn meetings_add_recording(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
    body: axum::body::Body,
) -> ApiResult<Json<Meeting>> {
    auth.require(MEETING_STAFF)?;
    let m = s.service.meetings();
    let meeting = m.get(&id)?;
    if require_meeting(&s, &auth, &meeting)? != Relation::Inspector {
        return Err(forbidden(
            "meeting_inspector_records",
            "the meeting's video is added by the district inspector of its beat",
        ));
    }
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let meeting = m
        .add_recording(
            s.calls.recordings_dir(),
            &meeting,
            content_type,
            body.into_data_stream(),
            today(&s),
            &auth.user.login,
            now_ms(),
        )
        .await?;
    Ok(Json(meeting))
}

#[utoipa::path(get, path = "/api/v1/meetings/{id}/recordings/{rid}",
    responses((status = 200, description = "The video as stored (its content type); every viewing is audited"),
        (status = 403, description = "`meeting_not_your_beat`", body = ApiErrorBody),
        (status = 404, body = ApiErrorBody)))]
async fn meetings_recording(
    State(s): State<SharedState>,
    auth: Auth,
    Path((id, rid)): Path<(String, String)>,
) -> ApiResult<Response> {
    use axum::http::header;
    use axum::response::IntoResponse;
    auth.require(MEETING_STAFF)?;
    let m = s.service.meetings();
    let meeting = m.get(&id)?;
    require_meeting(&s, &auth, &meeting)?;
    let (rec, file) = m
        .open_recording(
            s.calls.recordings_dir(),
            &meeting,
            &rid,
            &auth.user.login,
            now_ms(),
        )
        .await?;
    let body = axum::body::Body::from_stream(tokio_util::io::ReaderStream::new(file));
    Ok((
        [
            (header::CONTENT_TYPE, rec.content_type.clone()),
            (header::CONTENT_LENGTH, rec.bytes.to_string()),
            (header::CONTENT_DISPOSITION, "inline".to_string()),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        body,
    )
        .into_response())
}

/// Runs `cmd` on meeting `id` for a caller allowed by `allowed` (given their relation).
async fn run(
    s: &SharedState,
    auth: &Auth,
    id: &str,
    cmd: MeetingCommand,
) -> ApiResult<Json<Meeting>> {
    auth.require(MEETING_STAFF)?;
    let m = s.service.meetings();
    let meeting = m.get(id)?;
    let relation = require_meeting(s, auth, &meeting)?;
    match &cmd {
        // p.32: the protocol is signed by the district inspector.
        MeetingCommand::Sign if relation != Relation::Inspector => {
            return Err(forbidden(
                "meeting_inspector_signs",
                "the protocol is signed by the district inspector of the meeting's beat",
            ));
        }
        // R26: keeping materials beyond the year is the office's head's or the region's.
        MeetingCommand::SetHold(_)
            if !matches!(relation, Relation::OfficeHead | Relation::RegionHead) =>
        {
            return Err(forbidden(
                "meeting_hold_by_head",
                "a hold is set by the beat office's head or the region's head",
            ));
        }
        MeetingCommand::Reschedule(plan) => require_plan(s, auth, plan)?,
        MeetingCommand::Invitation { invitee, .. }
            if !m.reference().invitees.iter().any(|i| &i.code == invitee) =>
        {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "meeting_invitee_unknown",
                format!("{invitee} is not on the region's invitation list"),
            )
            .with_field(Some("invitee".into())));
        }
        _ => {}
    }
    let meeting = m
        .command_named(id, &cmd, today(s), &auth.user.login, now_ms(), &|login| {
            full_name(s, login)
        })
        .await?;
    Ok(Json(meeting))
}

#[utoipa::path(post, path = "/api/v1/meetings/{id}/reschedule", request_body = MeetingPlan,
    responses((status = 200, description = "A new date or time needs a new notice", body = Meeting),
        (status = 409, description = "Held or cancelled (`meeting_held`, `meeting_cancelled`)", body = ApiErrorBody),
        (status = 422, description = "As the plan", body = ApiErrorBody)))]
async fn meetings_reschedule(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(plan): ApiJson<MeetingPlan>,
) -> ApiResult<Json<Meeting>> {
    run(&s, &auth, &id, MeetingCommand::Reschedule(plan)).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoticeInput {
    pub channels: Vec<NoticeChannel>,
}

#[utoipa::path(post, path = "/api/v1/meetings/{id}/notice", request_body = NoticeInput,
    responses((status = 200, description = "The notice is recorded with its channels (R23), and its deliveries are queued in the same write (R37): a post to the region's Telegram channel (`telegram`) and VK wall (`vk`), an e-mail to each invitee of the meeting's beats with an address (`email:<invitee>`); `notice.deliveries` says where each stands (queued, sent, failed with the reason). The page lists it at once; `notice.docx` prints it", body = Meeting),
        (status = 409, description = "Not planned (`meeting_not_planned`) or cancelled", body = ApiErrorBody),
        (status = 422, description = "Later than 10 calendar days before the meeting (`meeting_notice_too_late`), no channel (`meeting_notice_channels`); nothing stored", body = ApiErrorBody)))]
async fn meetings_notice(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<NoticeInput>,
) -> ApiResult<Json<Meeting>> {
    run(
        &s,
        &auth,
        &id,
        MeetingCommand::PublishNotice(input.channels),
    )
    .await
}

#[utoipa::path(get, path = "/api/v1/meetings/{id}/notice.docx",
    responses((status = 200, description = "The printable notice as a Word document in the meeting's language (R37, p.26): the beats, the inspector, the date, time and place, the online link"),
        (status = 403, description = "`meeting_not_your_beat`", body = ApiErrorBody),
        (status = 404, body = ApiErrorBody),
        (status = 409, description = "No notice covers the meeting's date and time (`meeting_not_noticed`)", body = ApiErrorBody),
        (status = 422, description = "A text the document cannot hold (`too_long` …)", body = ApiErrorBody)))]
async fn meetings_notice_docx(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    auth.require(MEETING_STAFF)?;
    let m = s.service.meetings();
    let meeting = m.get(&id)?;
    require_meeting(&s, &auth, &meeting)?;
    let bytes = m.notice_docx(&meeting, |login| full_name(&s, login))?;
    Ok(super::appeals::docx_response(
        bytes,
        &file_name(&meeting.id, "notice"),
    ))
}

/// The region's published upcoming meetings (R37).
#[derive(Serialize, ToSchema)]
pub struct PublicMeetings {
    pub meetings: Vec<PublicNotice>,
}

#[utoipa::path(get, path = "/api/v1/public/meetings",
    responses((status = 200, description = "The region's upcoming report meetings whose notice is published to the public page (R37), by date; no login, no personal data", body = PublicMeetings)))]
async fn public_meetings(State(s): State<SharedState>) -> ApiResult<Json<PublicMeetings>> {
    Ok(Json(PublicMeetings {
        meetings: s.service.meetings().public_notices(today(&s))?,
    }))
}

/// Text for HTML: `&`, `<`, `>`, `"` and `'` escaped.
fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The public page's list, both languages side by side (the region's residents read either).
pub fn public_page(meetings: &[PublicNotice]) -> String {
    let mut rows = String::new();
    for m in meetings {
        let date = {
            let d = m.date.to_string();
            // `YYYY-MM-DD` as `DD.MM.YYYY`.
            match (d.get(0..4), d.get(5..7), d.get(8..10)) {
                (Some(y), Some(mo), Some(da)) => format!("{da}.{mo}.{y}"),
                _ => d,
            }
        };
        let link = m
            .link
            .as_deref()
            .map(|l| {
                let l = html_escape(l);
                format!("<p><a href=\"{l}\" rel=\"noopener\">{l}</a></p>")
            })
            .unwrap_or_default();
        rows.push_str(&format!(
            "<article><h2>{date} {time}</h2>\
             <div lang=\"kk\"><p>{beats_kk}</p><p>Өтетін орны: {place_kk}</p></div>\
             <div lang=\"ru\"><p>{beats_ru}</p><p>Место проведения: {place_ru}</p></div>{link}</article>",
            time = html_escape(&m.time),
            beats_kk = html_escape(&m.beats_kk.join("; ")),
            place_kk = html_escape(&m.place_kk),
            beats_ru = html_escape(&m.beats_ru.join("; ")),
            place_ru = html_escape(&m.place_ru),
        ));
    }
    if meetings.is_empty() {
        rows.push_str(
            "<p lang=\"kk\">Жақын арада жоспарланған есептер жоқ.</p>\
            <p lang=\"ru\">Ближайших отчетов не запланировано.</p>",
        );
    }
    format!(
        "<!doctype html><html lang=\"kk\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Учаскелік полиция инспекторларының есептері / Отчеты участковых инспекторов</title>\
         <style>body{{font-family:sans-serif;max-width:48rem;margin:1rem auto;padding:0 1rem}}\
         article{{border-top:1px solid #ccc;padding:.5rem 0}}h2{{font-size:1.2rem}}</style></head><body>\
         <h1><span lang=\"kk\">Учаскелік полиция инспекторларының халық алдындағы есептері</span> / \
         <span lang=\"ru\">Отчеты участковых инспекторов полиции перед населением</span></h1>{rows}\
         <p><a href=\"/widget/demo\">102</a></p></body></html>"
    )
}

/// `GET /citizen/meetings`: the public page, beside the web widget's (no login).
async fn citizen_meetings(State(s): State<SharedState>) -> ApiResult<Html<String>> {
    let meetings = s.service.meetings().public_notices(today(&s))?;
    Ok(Html(public_page(&meetings)))
}

/// The public page's route, at the top level beside the citizen's pages.
pub(super) fn page_routes() -> Router<SharedState> {
    Router::new().route("/citizen/meetings", get(citizen_meetings))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvitationInput {
    /// An invitee's code from the beats reference.
    pub invitee: String,
    pub state: InvitationState,
}

#[utoipa::path(post, path = "/api/v1/meetings/{id}/invitation", request_body = InvitationInput,
    responses((status = 200, body = Meeting),
        (status = 422, description = "Not on the invitation list (`meeting_invitee_unknown`)", body = ApiErrorBody)))]
async fn meetings_invitation(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<InvitationInput>,
) -> ApiResult<Json<Meeting>> {
    let cmd = MeetingCommand::Invitation {
        invitee: input.invitee,
        state: input.state,
    };
    run(&s, &auth, &id, cmd).await
}

#[utoipa::path(post, path = "/api/v1/meetings/{id}/participants", request_body = ParticipantInput,
    responses((status = 200, description = "Registered (the participant's id is new in `participants`)", body = Meeting),
        (status = 409, description = "Not noticed, or the protocol signed (`meeting_registration_closed`); not the meeting's day (`meeting_not_today`)", body = ApiErrorBody),
        (status = 422, description = "Without consent (`meeting_consent_required`), a name, address or contact missing or too long", body = ApiErrorBody)))]
async fn meetings_register(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(participant): ApiJson<ParticipantInput>,
) -> ApiResult<Json<Meeting>> {
    let cmd = MeetingCommand::Register {
        id: uuid::Uuid::new_v4().to_string(),
        participant,
    };
    run(&s, &auth, &id, cmd).await
}

#[utoipa::path(post, path = "/api/v1/meetings/{id}/held",
    responses((status = 200, body = Meeting),
        (status = 409, description = "Not noticed (`meeting_not_noticed`) or before its day (`meeting_not_today`)", body = ApiErrorBody)))]
async fn meetings_held(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Meeting>> {
    run(&s, &auth, &id, MeetingCommand::MarkHeld).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProtocolInput {
    /// `report`, `decisions`, `remarks`.
    pub fields: BTreeMap<String, String>,
}

#[utoipa::path(post, path = "/api/v1/meetings/{id}/protocol", request_body = ProtocolInput,
    responses((status = 200, body = Meeting),
        (status = 409, description = "Not held (`meeting_not_held`); signed (`meeting_protocol_signed`: start a correction)", body = ApiErrorBody),
        (status = 422, description = "Not a protocol field or too long (`invalid_field`)", body = ApiErrorBody)))]
async fn meetings_protocol(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ProtocolInput>,
) -> ApiResult<Json<Meeting>> {
    run(&s, &auth, &id, MeetingCommand::EditProtocol(input.fields)).await
}

#[utoipa::path(post, path = "/api/v1/meetings/{id}/items", request_body = ItemInput,
    responses((status = 200, description = "Recorded (the item's id is new in `items`)", body = Meeting),
        (status = 409, description = "Not held (`meeting_not_held`); signed (`meeting_protocol_signed`)", body = ApiErrorBody),
        (status = 422, description = "No text, an unregistered author (`meeting_participant_unknown`)", body = ApiErrorBody)))]
async fn meetings_items(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(item): ApiJson<ItemInput>,
) -> ApiResult<Json<Meeting>> {
    let cmd = MeetingCommand::AddItem {
        id: uuid::Uuid::new_v4().to_string(),
        item,
    };
    run(&s, &auth, &id, cmd).await
}

#[utoipa::path(post, path = "/api/v1/meetings/{id}/sign",
    responses((status = 200, description = "The draft is signed as the next version: its content and SHA-256 are kept; `on_time` says whether it was the meeting's day (R24)", body = Meeting),
        (status = 403, description = "Not the beat's inspector (`meeting_inspector_signs`)", body = ApiErrorBody),
        (status = 409, description = "Not held; already signed (`meeting_protocol_signed`)", body = ApiErrorBody),
        (status = 422, description = "No decisions (`meeting_protocol_incomplete`)", body = ApiErrorBody)))]
async fn meetings_sign(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Meeting>> {
    run(&s, &auth, &id, MeetingCommand::Sign).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonInput {
    pub reason: String,
}

#[utoipa::path(post, path = "/api/v1/meetings/{id}/correction", request_body = ReasonInput,
    responses((status = 200, description = "The draft is open again; the next signature is a new, linked version", body = Meeting),
        (status = 409, description = "Not signed, or a correction is open (`meeting_protocol_not_signed`)", body = ApiErrorBody)))]
async fn meetings_correction(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ReasonInput>,
) -> ApiResult<Json<Meeting>> {
    let cmd = MeetingCommand::StartCorrection {
        reason: input.reason,
    };
    run(&s, &auth, &id, cmd).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FollowUpInput {
    pub item: String,
    /// `{"step": "checking", "note"}` or `{"step": "closed", "result"}`; `forwarded` is refused
    /// here (`meeting_forward_through_appeals`): it is the forward action's.
    pub step: FollowUpStep,
}

#[utoipa::path(post, path = "/api/v1/meetings/{id}/follow-up", request_body = FollowUpInput,
    responses((status = 200, body = Meeting),
        (status = 404, description = "No such item", body = ApiErrorBody),
        (status = 409, description = "The protocol not signed (`meeting_protocol_not_signed`); the item closed (`meeting_item_closed`); a `forwarded` step (`meeting_forward_through_appeals`)", body = ApiErrorBody)))]
async fn meetings_follow_up(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<FollowUpInput>,
) -> ApiResult<Json<Meeting>> {
    // R25: what `forwarded` records (the appeal, the author's notice) comes from the appeals
    // workflow, never from the client.
    if matches!(input.step, FollowUpStep::Forwarded { .. }) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "meeting_forward_through_appeals",
            "an item is forwarded with POST /api/v1/meetings/{id}/items/{item}/forward, which sends it through the appeals workflow",
        ));
    }
    let cmd = MeetingCommand::FollowUp {
        item: input.item,
        step: input.step,
    };
    run(&s, &auth, &id, cmd).await
}

#[utoipa::path(post, path = "/api/v1/meetings/{id}/items/{item}/forward",
    params(("id" = String, Path), ("item" = String, Path)),
    responses((status = 200, description = "R25: the item, outside the police's competence, is sent to the competent body through the appeals workflow — an appeal of channel `report_meeting` made of it (its author the registered participant), registered, sent to the body as part `…/1` (R29, due in 3 working days), and answered to the author as outside the police's competence naming the body (R15, the letter stored with the appeal) — and the item shows `forwarded` with the appeal's id and `author_notified`. A retry, or a second call, makes no second appeal: it completes the first or returns the item as it is", body = Meeting),
        (status = 403, description = "Not a meeting of a beat the caller serves or controls (`meeting_not_your_beat`)", body = ApiErrorBody),
        (status = 404, description = "No such meeting or item", body = ApiErrorBody),
        (status = 409, description = "The protocol not signed (`meeting_protocol_not_signed`); the item closed (`meeting_item_closed`), answered in full at the meeting (`meeting_item_answered`), within the police's competence (`meeting_item_within_competence`) or without a registered author (`meeting_item_no_author`, `meeting_participant_unknown`); a step of the appeals workflow refused (its code)", body = ApiErrorBody),
        (status = 422, description = "The item's body is not in the region's reference (`meeting_body_unknown`)", body = ApiErrorBody)))]
async fn meetings_forward_item(
    State(s): State<SharedState>,
    auth: Auth,
    Path((id, item)): Path<(String, String)>,
) -> ApiResult<Json<Meeting>> {
    auth.require(MEETING_STAFF)?;
    let m = s.service.meetings();
    let meeting = m.get(&id)?;
    require_meeting(&s, &auth, &meeting)?;
    let cal = s.service.work_calendar()?;
    // The inspector (or the office's head) acts in the appeals workflow for the district
    // inspectors' service the appeal is registered with.
    let staff = Staff {
        login: auth.user.login.clone(),
        name: auth.user.full_name.clone(),
        service: Some(MEETING_APPEAL_SERVICE.to_string()),
    };
    let meeting = m
        .forward_item(
            s.service.appeals(),
            &id,
            &item,
            &staff,
            &cal,
            today(&s),
            now_ms(),
            |login| super::appeals::full_name(&s, login),
        )
        .await?;
    Ok(Json(meeting))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoldInput {
    pub hold: bool,
}

#[utoipa::path(post, path = "/api/v1/meetings/{id}/hold", request_body = HoldInput,
    responses((status = 200, description = "R26: while held, the materials are kept beyond the year", body = Meeting),
        (status = 403, description = "Not the office's or the region's head (`meeting_hold_by_head`)", body = ApiErrorBody)))]
async fn meetings_hold(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<HoldInput>,
) -> ApiResult<Json<Meeting>> {
    run(&s, &auth, &id, MeetingCommand::SetHold(input.hold)).await
}

#[utoipa::path(post, path = "/api/v1/meetings/{id}/cancel", request_body = ReasonInput,
    responses((status = 200, body = Meeting),
        (status = 409, description = "Held (`meeting_held`) or cancelled (`meeting_cancelled`)", body = ApiErrorBody)))]
async fn meetings_cancel(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ReasonInput>,
) -> ApiResult<Json<Meeting>> {
    let cmd = MeetingCommand::Cancel {
        reason: input.reason,
    };
    run(&s, &auth, &id, cmd).await
}

pub(super) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/meetings", post(meetings_create))
        .route("/meetings/beats", get(meetings_beats))
        .route("/meetings/coverage", get(meetings_coverage))
        .route("/meetings/beats/{beat}/meetings", get(meetings_of_beat))
        .route("/meetings/{id}", get(meetings_get))
        .route("/meetings/{id}/protocol.docx", get(meetings_protocol_docx))
        .route("/meetings/{id}/report.docx", get(meetings_report_docx))
        .route(
            "/meetings/{id}/recordings",
            post(meetings_add_recording).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/meetings/{id}/recordings/{rid}", get(meetings_recording))
        .route("/meetings/{id}/reschedule", post(meetings_reschedule))
        .route("/meetings/{id}/notice", post(meetings_notice))
        .route("/meetings/{id}/notice.docx", get(meetings_notice_docx))
        .route("/public/meetings", get(public_meetings))
        .route("/meetings/{id}/invitation", post(meetings_invitation))
        .route("/meetings/{id}/participants", post(meetings_register))
        .route("/meetings/{id}/held", post(meetings_held))
        .route("/meetings/{id}/protocol", post(meetings_protocol))
        .route("/meetings/{id}/items", post(meetings_items))
        .route("/meetings/{id}/sign", post(meetings_sign))
        .route("/meetings/{id}/correction", post(meetings_correction))
        .route("/meetings/{id}/follow-up", post(meetings_follow_up))
        .route(
            "/meetings/{id}/items/{item}/forward",
            post(meetings_forward_item),
        )
        .route("/meetings/{id}/hold", post(meetings_hold))
        .route("/meetings/{id}/cancel", post(meetings_cancel))
}
