//! Dewars: `GET/POST /dewars`, `GET/PATCH /dewars/{dewarId}`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use ispyb_db::dewars::{self, DewarFilter, DewarRow};
use ispyb_db::write::{Changes, Patch};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery, PageParams};
use crate::validate::Checks;

/// Dewar routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_dewars, create_dewar)).routes(routes!(get_dewar, update_dewar))
}

const DEWAR_TYPES: &[&str] = &["Dewar", "Toolbox"];

/// Filters of `GET /dewars`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DewarQuery {
    /// Dewars of a shipment.
    #[serde(rename = "shippingId")]
    #[param(rename = "shippingId", maximum = 4294967295_u64)]
    pub shipping_id: Option<u32>,
    /// Proposal name, e.g. `MX1`.
    #[param(pattern = r"^(\w|-)+\d+$")]
    pub proposal: Option<String>,
    /// Proposal id.
    #[serde(rename = "proposalId")]
    #[param(rename = "proposalId", maximum = 4294967295_u64)]
    pub proposal_id: Option<u32>,
    /// Rows to skip.
    #[param(minimum = 0, maximum = 2147483647, default = 0)]
    pub skip: Option<u64>,
    /// Rows to return.
    #[param(minimum = 1, maximum = 1000, default = 25)]
    pub limit: Option<u64>,
}

/// Path of one dewar.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct DewarPath {
    /// `Dewar.dewarId`.
    #[serde(rename = "dewarId")]
    #[param(rename = "dewarId", maximum = 4294967295_u64)]
    pub dewar_id: u32,
}

/// Body of `POST /dewars`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = DewarCreate)]
pub struct NewDewar {
    /// Shipment the dewar travels in.
    #[serde(rename = "shippingId")]
    pub shipping_id: u32,
    /// Label of the dewar.
    #[schema(max_length = 45, min_length = 1)]
    pub code: String,
    /// `Dewar` (default) or `Toolbox`.
    #[serde(rename = "dewarType")]
    #[schema(example = "Dewar")]
    pub dewar_type: Option<String>,
}

/// Body of `PATCH /dewars/{dewarId}`: any subset.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[schema(as = DewarUpdate)]
pub struct DewarUpdate {
    /// Label of the dewar.
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 45, min_length = 1)]
    pub code: Patch<String>,
    /// `Dewar` or `Toolbox`.
    #[serde(rename = "dewarType", default)]
    #[schema(value_type = Option<String>)]
    pub dewar_type: Patch<String>,
}

/// Lists the dewars of the proposals the caller may see.
#[utoipa::path(get, path = "/dewars", tag = "Shipping", operation_id = "get_dewars",
    params(DewarQuery), responses((status = 200, body = ispyb_db::Paged<DewarRow>)), security(("HTTPBearer" = [])))]
pub async fn get_dewars(
    user: CurrentUser,
    State(state): State<AppState>,
    PageParams(page): PageParams,
    ApiQuery(query): ApiQuery<DewarQuery>,
) -> ApiResult<Json<ispyb_db::Paged<DewarRow>>> {
    crate::routes::check_proposal_name(query.proposal.as_deref())?;
    let options = state.options(false).await?;
    let filter = DewarFilter {
        dewar_id: None,
        shipping_id: query.shipping_id,
        proposal: query.proposal,
        proposal_id: query.proposal_id,
    };
    Ok(Json(dewars::list(&state.db, &user.access(&options), &filter, page).await?))
}

/// One dewar; 404 when it does not exist or the caller may not see it.
#[utoipa::path(get, path = "/dewars/{dewarId}", tag = "Shipping", operation_id = "get_dewar",
    params(DewarPath), responses((status = 200, body = DewarRow)), security(("HTTPBearer" = [])))]
pub async fn get_dewar(
    user: CurrentUser,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<DewarPath>,
) -> ApiResult<Json<DewarRow>> {
    let options = state.options(false).await?;
    let row = dewars::find(&state.db, &user.access(&options), path.dewar_id).await?;
    row.map(Json).ok_or_else(|| ApiError::not_found("Dewar"))
}

/// Creates a dewar in a shipment the caller may see (201).
#[utoipa::path(post, path = "/dewars", tag = "Shipping", operation_id = "create_dewar",
    request_body = NewDewar, responses((status = 201, body = DewarRow)), security(("HTTPBearer" = [])))]
pub async fn create_dewar(
    user: CurrentUser,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewDewar>,
) -> ApiResult<(StatusCode, Json<DewarRow>)> {
    let options = state.options(false).await?;
    let access = user.access(&options);
    let visible = match ispyb_db::shippings::proposal_of(&state.db, body.shipping_id).await? {
        Some(p) => access.can_see_proposal(&state.db, p).await?,
        None => false,
    };
    if !visible {
        return Err(ApiError::NotFound("No such shipment".into()));
    }
    let mut c = Checks::default();
    c.text(&["code"], Some(&body.code), 45, true);
    c.one_of(&["dewarType"], body.dewar_type.as_deref(), DEWAR_TYPES);
    c.finish()?;
    let mut values = Changes::default();
    values.set("shippingId", body.shipping_id);
    values.set("code", body.code.clone());
    values.set("type", body.dewar_type.clone().unwrap_or_else(|| "Dewar".into()));
    let id = dewars::create(&state.db, &values).await?;
    let row = dewars::find(&state.db, &access, id)
        .await?
        .ok_or_else(|| ApiError::Internal("created dewar not found".into()))?;
    Ok((StatusCode::CREATED, Json(row)))
}

/// Updates the fields sent.
#[utoipa::path(patch, path = "/dewars/{dewarId}", tag = "Shipping", operation_id = "update_dewar",
    params(DewarPath), request_body = DewarUpdate, responses((status = 200, body = DewarRow)), security(("HTTPBearer" = [])))]
pub async fn update_dewar(
    user: CurrentUser,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<DewarPath>,
    ApiJson(body): ApiJson<DewarUpdate>,
) -> ApiResult<Json<DewarRow>> {
    let options = state.options(false).await?;
    let access = user.access(&options);
    dewars::find(&state.db, &access, path.dewar_id).await?.ok_or_else(|| ApiError::not_found("Dewar"))?;
    let mut c = Checks::default();
    c.patch_text(&["code"], &body.code, 45, true);
    c.patch_text(&["dewarType"], &body.dewar_type, 10, true);
    c.one_of(&["dewarType"], body.dewar_type.value().map(String::as_str), DEWAR_TYPES);
    c.finish()?;
    let mut changes = Changes::default();
    changes.add("code", &body.code);
    changes.add("type", &body.dewar_type);
    dewars::update(&state.db, path.dewar_id, &changes).await?;
    let row = dewars::find(&state.db, &access, path.dewar_id).await?.ok_or_else(|| ApiError::not_found("Dewar"))?;
    Ok(Json(row))
}
