//! What the node knows of its region: the reference data (districts, categories, units' duty
//! rules, channels, roles) and the address-warnings registry (R08).

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use server_kit::clock::now_ms;
use server_kit::web::{ApiError, ApiResult, Auth};
use sync::Role;
use utoipa::ToSchema;

use super::state::SharedState;
use crate::service::ServiceError;
use crate::warnings::FoundWarning;

/// The region's reference data with the channels and the roles of this node, in one object.
#[derive(Serialize)]
pub struct ReferenceResponse {
    #[serde(flatten)]
    reference: sync::Reference,
    channels: Vec<sync::Channel>,
    roles: Vec<Role>,
}

// The derived schema of a flattened struct that forbids unknown fields (as `Reference` does for
// its config file) would forbid `channels` and `roles` too: the object is described as one.
impl utoipa::PartialSchema for ReferenceResponse {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ArrayBuilder, Object, Schema};
        use utoipa::openapi::{Ref, RefOr};
        let mut object = match <sync::Reference as utoipa::PartialSchema>::schema() {
            RefOr::T(Schema::Object(o)) => o,
            _ => Object::new(),
        };
        for (name, item) in [("channels", "Channel"), ("roles", "Role")] {
            object.properties.insert(
                name.to_string(),
                ArrayBuilder::new()
                    .items(Ref::from_schema_name(item))
                    .build()
                    .into(),
            );
            object.required.push(name.to_string());
        }
        RefOr::T(Schema::Object(object))
    }
}

impl utoipa::ToSchema for ReferenceResponse {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        use utoipa::PartialSchema;
        <sync::Reference as ToSchema>::schemas(schemas);
        schemas.push(("Channel".into(), sync::Channel::schema()));
        schemas.push(("Role".into(), Role::schema()));
    }
}

#[utoipa::path(get, path = "/api/v1/reference", responses((status = 200, body = ReferenceResponse)))]
async fn reference(State(s): State<SharedState>, auth: Auth) -> ApiResult<Json<ReferenceResponse>> {
    // No personal data: the administrator needs the districts and roles for accounts.
    auth.require(&Role::NODE)?;
    Ok(Json(ReferenceResponse {
        reference: s.service.reference().clone(),
        channels: sync::Channel::ALL.to_vec(),
        roles: Role::NODE.to_vec(),
    }))
}

/// The national working-day calendar years this node has received from the hub (statutory
/// deadlines count working days with them; a year missing here cannot be counted in).
#[utoipa::path(get, path = "/api/v1/calendar", responses((status = 200, body = [crate::published::HeldCalendarYear])))]
async fn calendar(
    State(s): State<SharedState>,
    auth: Auth,
) -> ApiResult<Json<Vec<crate::published::HeldCalendarYear>>> {
    auth.require(&Role::NODE)?;
    Ok(Json(s.service.calendar_years()?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct WarningsQuery {
    address: String,
}

#[utoipa::path(get, path = "/api/v1/warnings", params(WarningsQuery), responses((status = 200, body = [FoundWarning])))]
async fn warnings(
    State(s): State<SharedState>,
    auth: Auth,
    Query(q): Query<WarningsQuery>,
) -> ApiResult<Json<Vec<FoundWarning>>> {
    auth.require(&[Role::Dispatcher, Role::DutyOfficer, Role::Supervisor])?;
    if q.address.chars().count() > sync::model::limits::ADDRESS_CHARS_MAX {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            "address is too long",
        )
        .with_field(Some("address".into())));
    }
    let found = s.service.warnings_for(&q.address)?;
    if !found.is_empty() {
        let mut subjects: Vec<String> = crate::privacy::subject("address", &q.address)
            .into_iter()
            .collect();
        for w in &found {
            subjects.extend(crate::privacy::subject("person", &w.warning.person));
        }
        s.reads
            .record(
                &auth.user.login,
                "warnings.shown",
                &q.address,
                subjects,
                serde_json::json!({"records": found.len()}),
                now_ms(),
            )
            .await
            .map_err(ServiceError::from)?;
    }
    Ok(Json(found))
}

/// Routes under `/api/v1`.
pub(super) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/reference", get(reference))
        .route("/calendar", get(calendar))
        .route("/warnings", get(warnings))
}
