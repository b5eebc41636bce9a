//! Containers: `GET/POST /containers`, `GET/PATCH /containers/{containerId}`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use ispyb_db::containers::{self, ContainerFilter, ContainerRow};
use ispyb_db::write::{Changes, Patch};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery, PageParams};
use crate::routes::labcontacts::opt;
use crate::validate::Checks;

/// Container routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_containers, create_container))
        .routes(routes!(get_container, update_container))
}

/// Filters of `GET /containers`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ContainerQuery {
    /// Containers of a dewar.
    #[serde(rename = "dewarId")]
    #[param(rename = "dewarId", maximum = 4294967295_u64)]
    pub dewar_id: Option<u32>,
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

/// Path of one container.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ContainerPath {
    /// `Container.containerId`.
    #[serde(rename = "containerId")]
    #[param(rename = "containerId", maximum = 4294967295_u64)]
    pub container_id: u32,
}

/// Body of `POST /containers`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = ContainerCreate)]
pub struct NewContainer {
    /// Label of the container.
    #[schema(max_length = 45, min_length = 1)]
    pub code: String,
    /// Dewar it travels in.
    #[serde(rename = "dewarId")]
    pub dewar_id: u32,
    /// Kind of container (`Puck`, `Plate`, …).
    #[serde(rename = "containerType")]
    #[schema(max_length = 20, min_length = 1)]
    pub container_type: String,
    /// Position in the sample changer.
    #[serde(rename = "sampleChangerLocation")]
    #[schema(max_length = 20)]
    pub sample_changer_location: Option<String>,
    /// Beamline it is on.
    #[serde(rename = "beamlineLocation")]
    #[schema(max_length = 20)]
    pub beamline_location: Option<String>,
}

/// Body of `PATCH /containers/{containerId}`: any subset.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[schema(as = ContainerUpdate)]
pub struct ContainerUpdate {
    /// Label.
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 45, min_length = 1)]
    pub code: Patch<String>,
    /// Kind of container.
    #[serde(rename = "containerType", default)]
    #[schema(value_type = Option<String>, max_length = 20)]
    pub container_type: Patch<String>,
    /// Position in the sample changer.
    #[serde(rename = "sampleChangerLocation", default)]
    #[schema(value_type = Option<String>, max_length = 20)]
    pub sample_changer_location: Patch<String>,
    /// Beamline it is on.
    #[serde(rename = "beamlineLocation", default)]
    #[schema(value_type = Option<String>, max_length = 20)]
    pub beamline_location: Patch<String>,
}

/// Lists the containers of the proposals the caller may see.
#[utoipa::path(get, path = "/containers", tag = "Shipping", operation_id = "get_containers",
    params(ContainerQuery), responses((status = 200, body = ispyb_db::Paged<ContainerRow>)), security(("HTTPBearer" = [])))]
pub async fn get_containers(
    user: CurrentUser,
    State(state): State<AppState>,
    PageParams(page): PageParams,
    ApiQuery(query): ApiQuery<ContainerQuery>,
) -> ApiResult<Json<ispyb_db::Paged<ContainerRow>>> {
    crate::routes::check_proposal_name(query.proposal.as_deref())?;
    let options = state.options(false).await?;
    let filter = ContainerFilter {
        container_id: None,
        dewar_id: query.dewar_id,
        proposal: query.proposal,
        proposal_id: query.proposal_id,
    };
    Ok(Json(containers::list(&state.db, &user.access(&options), &filter, page).await?))
}

/// One container; 404 when it does not exist or the caller may not see it.
#[utoipa::path(get, path = "/containers/{containerId}", tag = "Shipping", operation_id = "get_container",
    params(ContainerPath), responses((status = 200, body = ContainerRow)), security(("HTTPBearer" = [])))]
pub async fn get_container(
    user: CurrentUser,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<ContainerPath>,
) -> ApiResult<Json<ContainerRow>> {
    let options = state.options(false).await?;
    let row = containers::find(&state.db, &user.access(&options), path.container_id).await?;
    row.map(Json).ok_or_else(|| ApiError::not_found("Container"))
}

/// Creates a container in a dewar the caller may see (201).
#[utoipa::path(post, path = "/containers", tag = "Shipping", operation_id = "create_container",
    request_body = NewContainer, responses((status = 201, body = ContainerRow)), security(("HTTPBearer" = [])))]
pub async fn create_container(
    user: CurrentUser,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<NewContainer>,
) -> ApiResult<(StatusCode, Json<ContainerRow>)> {
    let options = state.options(false).await?;
    let access = user.access(&options);
    let visible = match ispyb_db::dewars::proposal_of(&state.db, body.dewar_id).await? {
        Some(p) => access.can_see_proposal(&state.db, p).await?,
        None => false,
    };
    if !visible {
        return Err(ApiError::NotFound("No such dewar".into()));
    }
    let mut c = Checks::default();
    c.text(&["code"], Some(&body.code), 45, true);
    c.text(&["containerType"], Some(&body.container_type), 20, true);
    c.text(&["sampleChangerLocation"], body.sample_changer_location.as_deref(), 20, false);
    c.text(&["beamlineLocation"], body.beamline_location.as_deref(), 20, false);
    c.finish()?;
    let mut values = Changes::default();
    values.set("dewarId", body.dewar_id);
    values.set("code", body.code.clone());
    values.set("containerType", body.container_type.clone());
    values.add("sampleChangerLocation", &opt(&body.sample_changer_location));
    values.add("beamlineLocation", &opt(&body.beamline_location));
    let id = containers::create(&state.db, &values).await?;
    let row = containers::find(&state.db, &access, id)
        .await?
        .ok_or_else(|| ApiError::Internal("created container not found".into()))?;
    Ok((StatusCode::CREATED, Json(row)))
}

/// Updates the fields sent.
#[utoipa::path(patch, path = "/containers/{containerId}", tag = "Shipping", operation_id = "update_container",
    params(ContainerPath), request_body = ContainerUpdate, responses((status = 200, body = ContainerRow)), security(("HTTPBearer" = [])))]
pub async fn update_container(
    user: CurrentUser,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<ContainerPath>,
    ApiJson(body): ApiJson<ContainerUpdate>,
) -> ApiResult<Json<ContainerRow>> {
    let options = state.options(false).await?;
    let access = user.access(&options);
    containers::find(&state.db, &access, path.container_id).await?.ok_or_else(|| ApiError::not_found("Container"))?;
    let mut c = Checks::default();
    c.patch_text(&["code"], &body.code, 45, true);
    c.patch_text(&["containerType"], &body.container_type, 20, false);
    c.patch_text(&["sampleChangerLocation"], &body.sample_changer_location, 20, false);
    c.patch_text(&["beamlineLocation"], &body.beamline_location, 20, false);
    c.finish()?;
    let mut changes = Changes::default();
    changes.add("code", &body.code);
    changes.add("containerType", &body.container_type);
    changes.add("sampleChangerLocation", &body.sample_changer_location);
    changes.add("beamlineLocation", &body.beamline_location);
    containers::update(&state.db, path.container_id, &changes).await?;
    let row = containers::find(&state.db, &access, path.container_id)
        .await?
        .ok_or_else(|| ApiError::not_found("Container"))?;
    Ok(Json(row))
}
