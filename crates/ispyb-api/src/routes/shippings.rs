//! Shipments: `GET/POST /shippings`, `GET/PATCH /shippings/{shippingId}`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use ispyb_db::shippings::{self, ShippingFilter, ShippingRow};
use ispyb_db::write::{Changes, Patch};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery, PageParams};
use crate::routes::ProposalQuery;
use crate::routes::labcontacts::opt;
use crate::validate::Checks;

/// Shipment routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_shippings, create_shipping)).routes(routes!(get_shipping, update_shipping))
}

/// Safety level of a shipment's content.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize, utoipa::ToSchema)]
pub enum SafetyLevel {
    /// No hazard.
    #[default]
    #[serde(rename = "GREEN")]
    Green,
    /// Some hazard.
    #[serde(rename = "YELLOW")]
    Yellow,
    /// Hazardous.
    #[serde(rename = "RED")]
    Red,
}

impl SafetyLevel {
    fn as_str(self) -> &'static str {
        match self {
            SafetyLevel::Green => "GREEN",
            SafetyLevel::Yellow => "YELLOW",
            SafetyLevel::Red => "RED",
        }
    }
}

/// Path of one shipment.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ShippingPath {
    /// `Shipping.shippingId`.
    #[serde(rename = "shippingId")]
    #[param(rename = "shippingId", maximum = 4294967295_u64)]
    pub shipping_id: u32,
}

/// Body of `POST /shippings`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = ShippingCreate)]
pub struct NewShipping {
    /// Proposal the shipment belongs to.
    #[serde(rename = "proposalId")]
    pub proposal_id: u32,
    /// Name of the shipment.
    #[serde(rename = "shippingName")]
    #[schema(max_length = 45, min_length = 1)]
    pub shipping_name: String,
    /// Lab contact who sends it (of the same proposal).
    #[serde(rename = "sendingLabContactId")]
    pub sending_lab_contact_id: u32,
    /// Lab contact it returns to (of the same proposal).
    #[serde(rename = "returnLabContactId")]
    pub return_lab_contact_id: u32,
    /// Safety level (default GREEN).
    #[serde(rename = "safetyLevel", default)]
    pub safety_level: SafetyLevel,
    /// Comments.
    #[schema(max_length = 255)]
    pub comments: Option<String>,
}

/// Body of `PATCH /shippings/{shippingId}`: any subset.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[schema(as = ShippingUpdate)]
pub struct ShippingUpdate {
    /// Name of the shipment.
    #[serde(rename = "shippingName", default)]
    #[schema(value_type = Option<String>, max_length = 45, min_length = 1)]
    pub shipping_name: Patch<String>,
    /// Lab contact who sends it.
    #[serde(rename = "sendingLabContactId", default)]
    #[schema(value_type = Option<u32>)]
    pub sending_lab_contact_id: Patch<u32>,
    /// Lab contact it returns to.
    #[serde(rename = "returnLabContactId", default)]
    #[schema(value_type = Option<u32>)]
    pub return_lab_contact_id: Patch<u32>,
    /// Safety level.
    #[serde(rename = "safetyLevel", default)]
    #[schema(value_type = Option<SafetyLevel>)]
    pub safety_level: Patch<SafetyLevel>,
    /// Comments.
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 255)]
    pub comments: Patch<String>,
}

/// Lists the shipments of the proposals the caller may see, newest first.
#[utoipa::path(get, path = "/shippings", tag = "Shipping", operation_id = "get_shippings",
    params(ProposalQuery), responses((status = 200, body = ispyb_db::Paged<ShippingRow>)), security(("HTTPBearer" = [])))]
pub async fn get_shippings(
    user: CurrentUser,
    State(state): State<AppState>,
    PageParams(page): PageParams,
    ApiQuery(query): ApiQuery<ProposalQuery>,
) -> ApiResult<Json<ispyb_db::Paged<ShippingRow>>> {
    query.check()?;
    let options = state.options(false).await?;
    let filter = ShippingFilter { shipping_id: None, proposal: query.proposal, proposal_id: query.proposal_id };
    Ok(Json(shippings::list(&state.db, &user.access(&options), &filter, page).await?))
}

/// One shipment; 404 when it does not exist or the caller may not see it.
#[utoipa::path(get, path = "/shippings/{shippingId}", tag = "Shipping", operation_id = "get_shipping",
    params(ShippingPath), responses((status = 200, body = ShippingRow)), security(("HTTPBearer" = [])))]
pub async fn get_shipping(
    user: CurrentUser,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<ShippingPath>,
) -> ApiResult<Json<ShippingRow>> {
    let options = state.options(false).await?;
    let row = shippings::find(&state.db, &user.access(&options), path.shipping_id).await?;
    row.map(Json).ok_or_else(|| ApiError::not_found("Shipment"))
}

/// Checks that lab contacts belong to the shipment's proposal.
async fn check_contacts(
    state: &AppState,
    proposal_id: u32,
    contacts: &[(&str, Option<u32>)],
    c: &mut Checks,
) -> ApiResult<()> {
    for (field, id) in contacts {
        if let Some(id) = id
            && !shippings::contact_in_proposal(&state.db, *id, proposal_id).await?
        {
            c.fail(&[field], "no such lab contact in this proposal", "value_error.not_found");
        }
    }
    Ok(())
}

/// Creates a shipment (201). The proposal must be visible to the caller and the lab contacts
/// must be its own; nothing is written otherwise.
#[utoipa::path(post, path = "/shippings", tag = "Shipping", operation_id = "create_shipping",
    request_body = NewShipping, responses((status = 201, body = ShippingRow)), security(("HTTPBearer" = [])))]
pub async fn create_shipping(
    user: CurrentUser,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewShipping>,
) -> ApiResult<(StatusCode, Json<ShippingRow>)> {
    let options = state.options(false).await?;
    let access = user.access(&options);
    if !access.can_see_proposal(&state.db, body.proposal_id).await? {
        return Err(ApiError::NotFound("No such proposal".into()));
    }
    let mut c = Checks::default();
    c.text(&["shippingName"], Some(&body.shipping_name), 45, true);
    c.text(&["comments"], body.comments.as_deref(), 255, false);
    check_contacts(
        &state,
        body.proposal_id,
        &[
            ("sendingLabContactId", Some(body.sending_lab_contact_id)),
            ("returnLabContactId", Some(body.return_lab_contact_id)),
        ],
        &mut c,
    )
    .await?;
    c.finish()?;
    let mut values = Changes::default();
    values.set("proposalId", body.proposal_id);
    values.set("shippingName", body.shipping_name.clone());
    values.set("sendingLabContactId", body.sending_lab_contact_id);
    values.set("returnLabContactId", body.return_lab_contact_id);
    values.set("safetyLevel", body.safety_level.as_str().to_string());
    values.add("comments", &opt(&body.comments));
    let id = shippings::create(&state.db, &values).await?;
    let row = shippings::find(&state.db, &access, id)
        .await?
        .ok_or_else(|| ApiError::Internal("created shipment not found".into()))?;
    Ok((StatusCode::CREATED, Json(row)))
}

/// Updates the fields sent.
#[utoipa::path(patch, path = "/shippings/{shippingId}", tag = "Shipping", operation_id = "update_shipping",
    params(ShippingPath), request_body = ShippingUpdate, responses((status = 200, body = ShippingRow)), security(("HTTPBearer" = [])))]
pub async fn update_shipping(
    user: CurrentUser,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<ShippingPath>,
    ApiJson(body): ApiJson<ShippingUpdate>,
) -> ApiResult<Json<ShippingRow>> {
    let options = state.options(false).await?;
    let access = user.access(&options);
    let existing =
        shippings::find(&state.db, &access, path.shipping_id).await?.ok_or_else(|| ApiError::not_found("Shipment"))?;
    let mut c = Checks::default();
    c.patch_text(&["shippingName"], &body.shipping_name, 45, true);
    c.patch_text(&["comments"], &body.comments, 255, false);
    check_contacts(
        &state,
        existing.base.proposal_id,
        &[
            ("sendingLabContactId", body.sending_lab_contact_id.value().copied()),
            ("returnLabContactId", body.return_lab_contact_id.value().copied()),
        ],
        &mut c,
    )
    .await?;
    c.finish()?;
    let mut changes = Changes::default();
    changes.add("shippingName", &body.shipping_name);
    changes.add("sendingLabContactId", &body.sending_lab_contact_id);
    changes.add("returnLabContactId", &body.return_lab_contact_id);
    match &body.safety_level {
        Patch::Value(v) => changes.set("safetyLevel", v.as_str().to_string()),
        Patch::Null => changes.add::<String>("safetyLevel", &Patch::Null),
        Patch::Absent => {}
    }
    changes.add("comments", &body.comments);
    shippings::update(&state.db, path.shipping_id, &changes).await?;
    let row =
        shippings::find(&state.db, &access, path.shipping_id).await?.ok_or_else(|| ApiError::not_found("Shipment"))?;
    Ok(Json(row))
}
