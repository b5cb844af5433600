//! Cards: create, read, edit, and the steps of a card's life that are not a unit's (send for
//! processing, report, notes, close, cancel, duplicate, forward, КУИ).

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use server_kit::clock::now_ms;
use server_kit::web::{ApiError, ApiErrorBody, ApiJson, ApiResult, Auth};
use sync::{Card, CardCommand, CardCreate, CardEdit, CardStatus, CardSummary, Finish, Role};
use utoipa::ToSchema;

use crate::accounts::User;
use crate::service::ServiceError;
use crate::warnings::FoundWarning;

use super::state::{SharedState, STAFF};
use super::units::patrol_unit;

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CreateQuery {
    /// `true`: send the new card for processing in the same step (R03). A card that cannot be
    /// sent (no category, place or district) is refused and nothing is stored.
    #[serde(default)]
    send_for_processing: bool,
}

#[utoipa::path(post, path = "/api/v1/cards", request_body = CardCreate,
    params(CreateQuery, ("Idempotency-Key" = Option<String>, Header, description = "8–64 characters [A-Za-z0-9_-], one per form submission: a repeated request answers with the card the first one created")),
    responses((status = 201, body = Card), (status = 400, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
async fn create_card(
    State(s): State<SharedState>,
    auth: Auth,
    Query(q): Query<CreateQuery>,
    headers: HeaderMap,
    ApiJson(mut input): ApiJson<CardCreate>,
) -> ApiResult<(StatusCode, Json<Card>)> {
    // The node says where the point came from, and an address-only card gets the register's.
    input.location = s.geo.settle_location(None, input.location.take());
    let key = match headers.get("idempotency-key") {
        None => None,
        Some(v) => Some(v.to_str().map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_field",
                "the Idempotency-Key header is not text",
            )
            .with_field(Some("idempotency_key".into()))
        })?),
    };
    if q.send_for_processing {
        auth.require(&[Role::CallTaker])?;
    } else {
        auth.require(&[Role::CallTaker, Role::Dispatcher])?;
    }
    let card = s
        .service
        .create_card_then(
            &auth.user.login,
            &input,
            q.send_for_processing,
            key,
            now_ms(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(card)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// One status (default: every open status).
    status: Option<String>,
    /// One district code.
    district: Option<String>,
    limit: Option<usize>,
}

#[utoipa::path(get, path = "/api/v1/cards", params(ListQuery), responses((status = 200, body = [CardSummary])))]
async fn list_cards(
    State(s): State<SharedState>,
    auth: Auth,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<Vec<CardSummary>>> {
    auth.require(STAFF)?;
    let status = match q.status.as_deref() {
        None | Some("") => None,
        Some(st) => Some(CardStatus::parse(st).ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_field",
                format!(
                    "unknown status '{}'",
                    st.chars().take(32).collect::<String>()
                ),
            )
            .with_field(Some("status".into()))
        })?),
    };
    let list = s.service.list_cards(
        status,
        q.district.as_deref().filter(|d| !d.is_empty()),
        q.limit.unwrap_or(500),
    )?;
    Ok(Json(list))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    /// A day, `YYYY-MM-DD` (UTC).
    date: Option<String>,
    /// A unit id: every card the unit was dispatched to.
    unit_id: Option<String>,
    limit: Option<usize>,
}

#[utoipa::path(get, path = "/api/v1/cards/history", params(HistoryQuery), responses((status = 200, body = [CardSummary])))]
async fn card_history(
    State(s): State<SharedState>,
    auth: Auth,
    Query(q): Query<HistoryQuery>,
) -> ApiResult<Json<Vec<CardSummary>>> {
    auth.require(&[Role::Dispatcher, Role::DutyOfficer, Role::Supervisor])?;
    Ok(Json(s.service.history(
        q.date.as_deref(),
        q.unit_id.as_deref(),
        q.limit.unwrap_or(200),
    )?))
}

#[derive(Serialize, ToSchema)]
pub struct CardWithWarnings {
    #[serde(flatten)]
    card: Card,
    /// Address warnings for the card's address (R08); only for roles that act on them.
    #[serde(skip_serializing_if = "Option::is_none")]
    warnings: Option<Vec<FoundWarning>>,
    /// The cards linked to this one as its duplicates (their `duplicate_of` is this card).
    linked_duplicates: Vec<crate::search::LinkedDuplicate>,
    /// The telephone operator's caller-location lookup for this card (R35): `not_configured`
    /// when none is connected to the node; absent when nothing is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    caller_location_lookup: Option<crate::caller_location::LookupState>,
}

fn sees_warnings(user: &User) -> bool {
    [Role::Dispatcher, Role::DutyOfficer, Role::Supervisor]
        .iter()
        .any(|r| user.has_role(*r))
}

#[utoipa::path(get, path = "/api/v1/cards/{id}", params(("id" = String, Path, description = "UUID or number such as AST-2026-000123")),
    responses((status = 200, body = CardWithWarnings), (status = 404, body = ApiErrorBody)))]
async fn get_card(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<CardWithWarnings>> {
    auth.require(STAFF)?;
    let card = s.service.get_card(&id)?;
    let address = card.location.as_ref().and_then(|l| l.address.as_deref());
    let warnings = if sees_warnings(&auth.user) {
        Some(
            address
                .map(|a| s.service.warnings_for(a))
                .transpose()?
                .unwrap_or_default(),
        )
    } else {
        None
    };
    // The caller's data was read (and the persons on record at the address, if shown).
    let mut subjects = crate::privacy::caller_subjects(&card.caller, Some(&card.id));
    for w in warnings.iter().flatten() {
        subjects.extend(crate::privacy::subject("person", &w.warning.person));
    }
    s.reads
        .record(
            &auth.user.login,
            "card.read",
            &card.number,
            subjects,
            serde_json::json!({"card": card.id, "warnings_shown": warnings.as_ref().map(Vec::len)}),
            now_ms(),
        )
        .await
        .map_err(ServiceError::from)?;
    let linked_duplicates = s
        .search
        .linked_duplicates(&card.number, &card.id)
        .map_err(ServiceError::from)?;
    let caller_location_lookup = s.geo.caller_location.state(&card.id);
    Ok(Json(CardWithWarnings {
        card,
        warnings,
        linked_duplicates,
        caller_location_lookup,
    }))
}

#[utoipa::path(patch, path = "/api/v1/cards/{id}", request_body = CardEdit, responses((status = 200, body = Card)))]
async fn edit_card(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(mut edit): ApiJson<CardEdit>,
) -> ApiResult<Json<Card>> {
    auth.require(&[Role::CallTaker, Role::Dispatcher])?;
    if edit.location.is_some() {
        let previous = s.service.get_card(&id)?.location;
        edit.location = s
            .geo
            .settle_location(previous.as_ref(), edit.location.take());
    }
    Ok(Json(
        s.service
            .apply(&auth.user.login, &id, CardCommand::Edit(edit), now_ms())
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/cards/{id}/send-for-processing", responses((status = 200, body = Card), (status = 409, body = ApiErrorBody)))]
async fn send_for_processing(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<Card>> {
    auth.require(&[Role::CallTaker])?;
    Ok(Json(
        s.service
            .apply(
                &auth.user.login,
                &id,
                CardCommand::SendForProcessing,
                now_ms(),
            )
            .await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TextRequest {
    /// A note (at most 2000 characters) or a patrol's report (at most 4000).
    #[schema(min_length = 1, max_length = 4000)]
    text: String,
}

#[utoipa::path(post, path = "/api/v1/cards/{id}/report", request_body = TextRequest, responses((status = 200, body = Card)))]
async fn report(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<TextRequest>,
) -> ApiResult<Json<Card>> {
    auth.require(&[Role::Dispatcher, Role::Patrol])?;
    if !auth.user.has_role(Role::Dispatcher) {
        // A patrol reports only on a card its unit was sent to.
        let own = patrol_unit(&s, &auth.user)?;
        if s.service.get_card(&id)?.unit(&own).is_none() {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "not_your_card",
                format!("unit {own} was not dispatched to this card"),
            ));
        }
    }
    Ok(Json(
        s.service
            .apply(
                &auth.user.login,
                &id,
                CardCommand::Report { text: req.text },
                now_ms(),
            )
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/cards/{id}/notes", request_body = TextRequest, responses((status = 200, body = Card)))]
async fn note(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<TextRequest>,
) -> ApiResult<Json<Card>> {
    auth.require(STAFF)?;
    Ok(Json(
        s.service
            .apply(
                &auth.user.login,
                &id,
                CardCommand::Note { text: req.text },
                now_ms(),
            )
            .await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseRequest {
    #[serde(default)]
    #[schema(max_length = 4000)]
    report: Option<String>,
    /// Needed when no unit worked the card.
    #[serde(default)]
    #[schema(max_length = 1000)]
    reason: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/cards/{id}/close", request_body = CloseRequest, responses((status = 200, body = Card), (status = 422, body = ApiErrorBody)))]
async fn close(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<CloseRequest>,
) -> ApiResult<Json<Card>> {
    auth.require(&[Role::Dispatcher])?;
    let how = Finish::Close {
        report: req.report.filter(|r| !r.trim().is_empty()),
        reason: req.reason.filter(|r| !r.trim().is_empty()),
    };
    Ok(Json(
        s.service
            .finish(&auth.user.login, &id, how, now_ms())
            .await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelRequest {
    #[schema(min_length = 1, max_length = 1000)]
    reason: String,
}

#[utoipa::path(post, path = "/api/v1/cards/{id}/cancel", request_body = CancelRequest, responses((status = 200, body = Card)))]
async fn cancel(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<CancelRequest>,
) -> ApiResult<Json<Card>> {
    auth.require(&[Role::CallTaker, Role::Dispatcher])?;
    Ok(Json(
        s.service
            .finish(
                &auth.user.login,
                &id,
                Finish::Cancel { reason: req.reason },
                now_ms(),
            )
            .await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DuplicateRequest {
    duplicate_of: String,
}

#[utoipa::path(post, path = "/api/v1/cards/{id}/link-duplicate", request_body = DuplicateRequest, responses((status = 200, body = Card)))]
async fn link_duplicate(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<DuplicateRequest>,
) -> ApiResult<Json<Card>> {
    auth.require(&[Role::CallTaker, Role::Dispatcher])?;
    // The target must exist on this node.
    let target = s.service.get_card(&req.duplicate_of)?;
    Ok(Json(
        s.service
            .apply(
                &auth.user.login,
                &id,
                CardCommand::LinkDuplicate {
                    duplicate_of: target.number,
                },
                now_ms(),
            )
            .await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ForwardRequest {
    duty_unit: String,
}

#[utoipa::path(post, path = "/api/v1/cards/{id}/forward", request_body = ForwardRequest, responses((status = 200, body = Card)))]
async fn forward(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ForwardRequest>,
) -> ApiResult<Json<Card>> {
    auth.require(&[Role::Dispatcher])?;
    Ok(Json(
        s.service
            .apply(
                &auth.user.login,
                &id,
                CardCommand::Forward {
                    duty_unit: req.duty_unit,
                },
                now_ms(),
            )
            .await?,
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KuiRequest {
    #[schema(min_length = 1, max_length = 64)]
    number: String,
}

#[utoipa::path(post, path = "/api/v1/cards/{id}/kui", request_body = KuiRequest, responses((status = 200, body = Card)))]
async fn register_kui(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<KuiRequest>,
) -> ApiResult<Json<Card>> {
    auth.require(&[Role::DutyOfficer])?;
    Ok(Json(
        s.service
            .apply(
                &auth.user.login,
                &id,
                CardCommand::RegisterKui { number: req.number },
                now_ms(),
            )
            .await?,
    ))
}

/// Routes under `/api/v1`.
pub(super) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/cards", post(create_card).get(list_cards))
        .route("/cards/history", get(card_history))
        .route("/cards/{id}", get(get_card).patch(edit_card))
        .route("/cards/{id}/send-for-processing", post(send_for_processing))
        .route("/cards/{id}/report", post(report))
        .route("/cards/{id}/notes", post(note))
        .route("/cards/{id}/close", post(close))
        .route("/cards/{id}/cancel", post(cancel))
        .route("/cards/{id}/link-duplicate", post(link_duplicate))
        .route("/cards/{id}/forward", post(forward))
        .route("/cards/{id}/kui", post(register_kui))
}
