//! The "102" card ↔ appeal link (R05): a text that turns out to report an emergency opens a card
//! from the appeal, and a card whose content is not an emergency opens an appeal; both keep the
//! link (the appeal's `card_id`/`card_number`, the card's `appeal_linked` timeline entry).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use server_kit::clock::now_ms;
use server_kit::web::{ApiError, ApiErrorBody, ApiJson, ApiResult, Auth};
use sync::appeal::{Appeal, AppealChannel, AppealCommand, Applicant, GeoPoint};
use sync::{Caller, Card, CardCommand, CardCreate, Channel, Location, Role};
use utoipa::ToSchema;

use crate::appeals::{AppealInput, Staff};

use super::state::{SharedState, STAFF};

/// The card channel of an appeal's channel; letters by post or at the desk and complaints of a
/// report meeting have none (R01).
fn card_channel(c: AppealChannel) -> Option<Channel> {
    Some(match c {
        AppealChannel::App102Text => Channel::App102Text,
        AppealChannel::ZakonPoryadokText => Channel::ZakonPoryadokText,
        AppealChannel::Telegram => Channel::Telegram,
        AppealChannel::Vkontakte => Channel::Vkontakte,
        AppealChannel::WebWidget => Channel::WebWidget,
        AppealChannel::Email => Channel::Email,
        AppealChannel::Call102 => Channel::App102Call,
        AppealChannel::Post | AppealChannel::Desk | AppealChannel::ReportMeeting => return None,
    })
}

/// The appeal channel of a card's channel: a call becomes a "102" call appeal.
fn appeal_channel(c: Channel) -> AppealChannel {
    match c {
        Channel::App102Text => AppealChannel::App102Text,
        Channel::ZakonPoryadokText => AppealChannel::ZakonPoryadokText,
        Channel::Telegram => AppealChannel::Telegram,
        Channel::Vkontakte => AppealChannel::Vkontakte,
        Channel::WebWidget => AppealChannel::WebWidget,
        Channel::Email => AppealChannel::Email,
        Channel::App102Call | Channel::ZakonPoryadokCall | Channel::SosVideo => {
            AppealChannel::Call102
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenCardInput {
    /// The call category; with it and the appeal's point the card is sent for processing at
    /// once, otherwise the "102" operator completes and sends it.
    #[serde(default)]
    category: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/appeals/{id}/card", params(("id" = String, Path)), request_body = OpenCardInput,
    responses((status = 201, body = Card), (status = 409, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
async fn open_card_from_appeal(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<OpenCardInput>,
) -> ApiResult<(StatusCode, Json<Card>)> {
    auth.require(&[Role::Registrar, Role::AppealManager, Role::Head])?;
    let cal = s.service.work_calendar()?;
    let appeals = s.service.appeals();
    let a: Appeal = appeals.get(&id, &cal, now_ms())?;
    if a.card_id.is_some() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "card_already_linked",
            "a \"102\" card is already linked to this appeal",
        ));
    }
    let channel = card_channel(a.channel).ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            "no_card_channel",
            "a letter by post or at the desk is not a \"102\" channel: register the emergency by phone to the duty unit",
        )
    })?;
    let first = a.applicants.first().cloned().unwrap_or_default();
    let caller = sync::normalize_caller(&Caller {
        name: Some(first.display_name()).filter(|n| !n.is_empty()),
        phone: first.phone.clone(),
        language: Some(a.language),
        ..Caller::default()
    });
    let description: String = a
        .text
        .chars()
        .take(sync::model::limits::DESCRIPTION_CHARS_MAX)
        .collect();
    let location = a.location.map(|p| Location {
        lat: Some(p.lat),
        lon: Some(p.lon),
        accuracy_m: None,
        address: None,
        source: Some(sync::LocationSource::App),
    });
    let send = input.category.is_some() && location.is_some();
    let create = CardCreate {
        channel,
        caller,
        location,
        description: Some(description),
        seen: Default::default(),
        category: input.category,
        priority: None,
        district: None,
    };
    let card = s
        .service
        .create_card_then(&auth.user.login, &create, send, None, now_ms())
        .await?;
    let number = a.number.clone().unwrap_or_else(|| a.id.clone());
    let card = s
        .service
        .apply(
            &auth.user.login,
            &card.id,
            CardCommand::LinkAppeal { number },
            now_ms(),
        )
        .await?;
    let staff = Staff {
        login: auth.user.login.clone(),
        name: auth.user.full_name.clone(),
        service: auth.user.service.clone(),
    };
    appeals
        .command(
            &id,
            &staff,
            AppealCommand::LinkCard {
                card_id: card.id.clone(),
                card_number: card.number.clone(),
            },
            &cal,
            now_ms(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(card)))
}

#[utoipa::path(post, path = "/api/v1/cards/{id}/appeal", params(("id" = String, Path)),
    responses((status = 201, body = Appeal), (status = 409, body = ApiErrorBody), (status = 422, body = ApiErrorBody)))]
async fn open_appeal_from_card(
    State(s): State<SharedState>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<Appeal>)> {
    auth.require(STAFF)?;
    let card = s.service.get_card(&id)?;
    let text = card
        .description
        .clone()
        .filter(|d| !d.trim().is_empty())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "card_has_no_text",
                "write what the caller asks in the card's description first",
            )
            .with_field(Some("description".into()))
        })?;
    let applicant = Applicant {
        name: card.caller.name.clone(),
        phone: card.caller.phone.clone(),
        ..Applicant::default()
    };
    let location = card.location.as_ref().and_then(|l| {
        Some(GeoPoint {
            lat: l.lat?,
            lon: l.lon?,
        })
    });
    let input = AppealInput {
        channel: appeal_channel(card.channel),
        kind: None,
        language: card.caller.language.unwrap_or(sync::Language::Ru),
        text,
        anonymous: applicant.is_unnamed() && applicant.phone.is_none(),
        applicant: Some(applicant),
        co_applicants: Vec::new(),
        location,
        attachments: Vec::new(),
        card_id: Some(card.id.clone()),
        card_number: Some(card.number.clone()),
    };
    let (appeal, _token) = s
        .service
        .appeals()
        .intake(&auth.user.login, input, now_ms())
        .await?;
    s.service
        .apply(
            &auth.user.login,
            &card.id,
            CardCommand::LinkAppeal {
                number: appeal.id.clone(),
            },
            now_ms(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(appeal)))
}

pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/appeals/{id}/card", post(open_card_from_appeal))
        .route("/cards/{id}/appeal", post(open_appeal_from_card))
}
