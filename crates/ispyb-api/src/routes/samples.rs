//! Samples, sub-samples, sample images and the sample editor's lookups:
//! `GET/POST /samples`, `GET/PATCH/DELETE /samples/{blSampleId}`, `GET /samples/sub`,
//! `GET /samples/sub/{blSubSampleId}`, `GET /samples/images`, `GET /samples/images/{blSampleImageId}`
//! (the image file), `GET /samples/components`, `GET /samples/components/types` and
//! `GET /samples/concentration/types`.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use ispyb_db::models::{ComponentType, ConcentrationType};
use ispyb_db::proteins::SortOrder;
use ispyb_db::samples::{
    self, ComponentRow, SampleCreate, SampleFilter, SampleImageRow, SampleOrderBy, SampleRow, SampleStatus,
    SampleUpdate, SubSampleFilter, SubSampleOrderBy, SubSampleRow, WriteError,
};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::extract::{ApiJson, ApiPath, ApiQuery, PageParams};
use crate::routes::check_proposal_name;

/// Schemas the query parameters refer to (utoipa does not collect them from parameters); the
/// UI builds its status filter from `SampleStatus`.
#[derive(utoipa::OpenApi)]
#[openapi(components(schemas(SampleStatus, SampleOrderBy, SubSampleOrderBy, SortOrder)))]
struct SampleSchemas;

/// Sample routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(<SampleSchemas as utoipa::OpenApi>::openapi())
        .routes(routes!(get_samples, create_sample))
        .routes(routes!(get_sample, update_sample, delete_sample))
        .routes(routes!(get_subsamples))
        .routes(routes!(get_subsample))
        .routes(routes!(get_sample_images))
        .routes(routes!(get_sample_image))
        .routes(routes!(get_components))
        .routes(routes!(get_component_types))
        .routes(routes!(get_concentration_types))
}

/// Filters of `GET /samples`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SampleQuery {
    /// Text in the sample name.
    pub search: Option<String>,
    /// Samples of this protein.
    #[serde(rename = "proteinId")]
    #[param(rename = "proteinId", maximum = 4294967295_u64)]
    pub protein_id: Option<u32>,
    /// Proposal name, e.g. `MX1` (an unknown name matches nothing).
    #[param(pattern = r"^(\w|-)+\d+$")]
    pub proposal: Option<String>,
    /// Samples in this container.
    #[serde(rename = "containerId")]
    #[param(rename = "containerId", maximum = 4294967295_u64)]
    pub container_id: Option<u32>,
    /// Samples loaded in this beamline's sample changer (dewar `processing`, container at the
    /// beamline with a sample changer position).
    #[serde(rename = "beamLineName")]
    #[param(rename = "beamLineName")]
    pub beam_line_name: Option<String>,
    /// Samples with this kind of activity.
    pub status: Option<SampleStatus>,
    /// Sort key (`blSampleId` when not given).
    pub order_by: Option<SampleOrderBy>,
    /// Sort direction (descending when not given).
    pub order: Option<SortOrder>,
    /// Rows to skip.
    #[param(minimum = 0, maximum = 2147483647, default = 0)]
    pub skip: Option<u64>,
    /// Rows to return.
    #[param(minimum = 1, maximum = 1000, default = 25)]
    pub limit: Option<u64>,
}

/// Path of one sample.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SamplePath {
    /// `BLSample.blSampleId`.
    #[serde(rename = "blSampleId")]
    #[param(rename = "blSampleId", maximum = 4294967295_u64)]
    pub bl_sample_id: u32,
}

/// Filters of `GET /samples/sub`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SubSampleQuery {
    /// Sub-samples of this sample.
    #[serde(rename = "blSampleId")]
    #[param(rename = "blSampleId", maximum = 4294967295_u64)]
    pub bl_sample_id: Option<u32>,
    /// Of samples of this protein.
    #[serde(rename = "proteinId")]
    #[param(rename = "proteinId", maximum = 4294967295_u64)]
    pub protein_id: Option<u32>,
    /// Proposal name (an unknown name matches nothing).
    #[param(pattern = r"^(\w|-)+\d+$")]
    pub proposal: Option<String>,
    /// Of samples in this container.
    #[serde(rename = "containerId")]
    #[param(rename = "containerId", maximum = 4294967295_u64)]
    pub container_id: Option<u32>,
    /// Sort key (`blSubSampleId` when not given).
    pub order_by: Option<SubSampleOrderBy>,
    /// Sort direction (ascending when not given).
    pub order: Option<SortOrder>,
    /// Rows to skip.
    #[param(minimum = 0, maximum = 2147483647, default = 0)]
    pub skip: Option<u64>,
    /// Rows to return.
    #[param(minimum = 1, maximum = 1000, default = 25)]
    pub limit: Option<u64>,
}

/// Path of one sub-sample.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SubSamplePath {
    /// `BLSubSample.blSubSampleId`.
    #[serde(rename = "blSubSampleId")]
    #[param(rename = "blSubSampleId", maximum = 4294967295_u64)]
    pub bl_sub_sample_id: u32,
}

/// Filters of `GET /samples/images`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SampleImageQuery {
    /// Images of this sample.
    #[serde(rename = "blSampleId")]
    #[param(rename = "blSampleId", maximum = 4294967295_u64)]
    pub bl_sample_id: Option<u32>,
    /// Rows to skip.
    #[param(minimum = 0, maximum = 2147483647, default = 0)]
    pub skip: Option<u64>,
    /// Rows to return.
    #[param(minimum = 1, maximum = 1000, default = 25)]
    pub limit: Option<u64>,
}

/// Path of one sample image.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SampleImagePath {
    /// `BLSampleImage.blSampleImageId`.
    #[serde(rename = "blSampleImageId")]
    #[param(rename = "blSampleImageId", maximum = 4294967295_u64)]
    pub bl_sample_image_id: u32,
}

/// Filters of `GET /samples/components`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ComponentQuery {
    /// Site-wide components and this proposal's (nothing when it is unknown).
    #[param(pattern = r"^(\w|-)+\d+$")]
    pub proposal: Option<String>,
    /// Rows to skip.
    #[param(minimum = 0, maximum = 2147483647, default = 0)]
    pub skip: Option<u64>,
    /// Rows to return.
    #[param(minimum = 1, maximum = 1000, default = 25)]
    pub limit: Option<u64>,
}

/// Lists the samples the caller may see, newest first, with their crystal, protein,
/// container, compositions and activity counts.
#[utoipa::path(get, path = "/samples", tag = "Samples", operation_id = "get_samples",
    params(SampleQuery), responses((status = 200, body = ispyb_db::Paged<SampleRow>)), security(("HTTPBearer" = [])))]
pub async fn get_samples(
    user: CurrentUser,
    State(state): State<AppState>,
    PageParams(page): PageParams,
    ApiQuery(query): ApiQuery<SampleQuery>,
) -> ApiResult<Json<ispyb_db::Paged<SampleRow>>> {
    check_proposal_name(query.proposal.as_deref())?;
    let options = state.options(false).await?;
    let filter = SampleFilter {
        bl_sample_id: None,
        search: query.search.filter(|s| !s.is_empty()),
        protein_id: query.protein_id,
        container_id: query.container_id,
        proposal: query.proposal,
        beam_line_name: query.beam_line_name,
        status: query.status,
        order_by: query.order_by,
        order: query.order,
    };
    Ok(Json(samples::list(&state.db, &user.access(&options), &filter, page).await?))
}

/// One sample; 404 when it does not exist or the caller may not see it.
#[utoipa::path(get, path = "/samples/{blSampleId}", tag = "Samples", operation_id = "get_sample",
    params(SamplePath), responses((status = 200, body = SampleRow)), security(("HTTPBearer" = [])))]
pub async fn get_sample(
    user: CurrentUser,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<SamplePath>,
) -> ApiResult<Json<SampleRow>> {
    let options = state.options(false).await?;
    let row = samples::find(&state.db, &user.access(&options), path.bl_sample_id)
        .await?
        .ok_or_else(|| ApiError::not_found("Sample"))?;
    Ok(Json(row))
}

/// Error of the sample writes: an [`ApiError`], or 409 when the sample is still in use.
pub enum WriteFailure {
    /// Any error the other routes give.
    Api(ApiError),
    /// 409 with a detail naming what refers to the sample.
    Conflict(String),
}

impl From<ApiError> for WriteFailure {
    fn from(e: ApiError) -> Self {
        WriteFailure::Api(e)
    }
}

impl From<ispyb_db::Error> for WriteFailure {
    fn from(e: ispyb_db::Error) -> Self {
        WriteFailure::Api(e.into())
    }
}

impl From<WriteError> for WriteFailure {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::NotFound(what) => WriteFailure::Api(ApiError::not_found(what)),
            WriteError::Invalid(list) => WriteFailure::Api(ApiError::Validation(
                list.into_iter().map(|i| FieldError { loc: i.loc, msg: i.msg, kind: i.kind.to_string() }).collect(),
            )),
            WriteError::Conflict(detail) => WriteFailure::Conflict(detail),
            WriteError::Db(e) => WriteFailure::Api(e.into()),
        }
    }
}

impl IntoResponse for WriteFailure {
    fn into_response(self) -> Response {
        match self {
            WriteFailure::Api(e) => e.into_response(),
            WriteFailure::Conflict(detail) => {
                (StatusCode::CONFLICT, Json(serde_json::json!({ "detail": detail }))).into_response()
            }
        }
    }
}

/// Turns serde's dotted paths (`Crystal.cell_a`) and "missing field" messages into FastAPI
/// locations (`["body", "Crystal", "cell_a"]`, "field required").
fn relocate(e: ApiError) -> ApiError {
    let ApiError::Validation(errors) = e else { return e };
    let errors = errors
        .into_iter()
        .map(|mut f| {
            if f.loc.len() == 2 && f.loc[0] == "body" && f.loc[1].contains('.') {
                let parts: Vec<String> = f.loc[1].split('.').filter(|p| !p.is_empty()).map(String::from).collect();
                f.loc.truncate(1);
                f.loc.extend(parts);
            }
            // serde adds " at line L column C"; the location says where.
            if let Some(i) = f.msg.find(" at line ") {
                f.msg.truncate(i);
            }
            if let Some(field) = f.msg.strip_prefix("missing field `").and_then(|r| r.strip_suffix('`')) {
                f.loc.push(field.to_string());
                f.msg = "field required".into();
                f.kind = "value_error.missing".into();
            } else if f.msg.starts_with("invalid type") || f.msg.starts_with("invalid value") {
                f.kind = "type_error".into();
            }
            f
        })
        .collect();
    ApiError::Validation(errors)
}

/// Creates a sample (201) in a proposal the caller may see: an existing crystal or a new one
/// of a visible protein, optionally in a container of the same proposal, with its
/// compositions. Atomic: on any error nothing is written.
#[utoipa::path(post, path = "/samples", tag = "Samples", operation_id = "create_sample",
    request_body = SampleCreate,
    responses((status = 201, body = SampleRow),
        (status = 404, description = "The crystal, protein, container or component is not visible", body = crate::error::ErrorBody)),
    security(("HTTPBearer" = [])))]
pub async fn create_sample(
    user: CurrentUser,
    State(state): State<AppState>,
    body: Result<ApiJson<SampleCreate>, ApiError>,
) -> Result<(StatusCode, Json<SampleRow>), WriteFailure> {
    let ApiJson(body) = body.map_err(relocate)?;
    let options = state.options(false).await?;
    let access = user.access(&options);
    let id = samples::create(&state.db, &access, &body).await?;
    let row = samples::find(&state.db, &access, id)
        .await?
        .ok_or_else(|| ApiError::Internal(format!("sample {id} not readable after its creation")))?;
    tracing::info!(login = %user.login, bl_sample_id = id, "sample created");
    Ok((StatusCode::CREATED, Json(row)))
}

/// Changes the fields the body gives (`null` clears one); 404 when the sample is not visible.
/// Atomic.
#[utoipa::path(patch, path = "/samples/{blSampleId}", tag = "Samples", operation_id = "update_sample",
    params(SamplePath), request_body = SampleUpdate,
    responses((status = 200, body = SampleRow)), security(("HTTPBearer" = [])))]
pub async fn update_sample(
    user: CurrentUser,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<SamplePath>,
    body: Result<ApiJson<SampleUpdate>, ApiError>,
) -> Result<Json<SampleRow>, WriteFailure> {
    let ApiJson(body) = body.map_err(relocate)?;
    let options = state.options(false).await?;
    let access = user.access(&options);
    samples::update(&state.db, &access, path.bl_sample_id, &body).await?;
    let row =
        samples::find(&state.db, &access, path.bl_sample_id).await?.ok_or_else(|| ApiError::not_found("Sample"))?;
    tracing::info!(login = %user.login, bl_sample_id = path.bl_sample_id, "sample updated");
    Ok(Json(row))
}

/// Deletes a sample and its compositions (204); 409 when data collections, sub-samples or
/// other experiment records refer to it; 404 when it is not visible.
#[utoipa::path(delete, path = "/samples/{blSampleId}", tag = "Samples", operation_id = "delete_sample",
    params(SamplePath),
    responses((status = 204, description = "Deleted"),
        (status = 409, description = "Data collections or other records refer to the sample", body = crate::error::ErrorBody)),
    security(("HTTPBearer" = [])))]
pub async fn delete_sample(
    user: CurrentUser,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<SamplePath>,
) -> Result<StatusCode, WriteFailure> {
    let options = state.options(false).await?;
    samples::delete(&state.db, &user.access(&options), path.bl_sample_id).await?;
    tracing::info!(login = %user.login, bl_sample_id = path.bl_sample_id, "sample deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// Lists the sub-samples (points and regions of samples) the caller may see.
#[utoipa::path(get, path = "/samples/sub", tag = "Samples", operation_id = "get_subsamples",
    params(SubSampleQuery), responses((status = 200, body = ispyb_db::Paged<SubSampleRow>)), security(("HTTPBearer" = [])))]
pub async fn get_subsamples(
    user: CurrentUser,
    State(state): State<AppState>,
    PageParams(page): PageParams,
    ApiQuery(query): ApiQuery<SubSampleQuery>,
) -> ApiResult<Json<ispyb_db::Paged<SubSampleRow>>> {
    check_proposal_name(query.proposal.as_deref())?;
    let options = state.options(false).await?;
    let filter = SubSampleFilter {
        bl_sub_sample_id: None,
        bl_sample_id: query.bl_sample_id,
        protein_id: query.protein_id,
        container_id: query.container_id,
        proposal: query.proposal,
        order_by: query.order_by,
        order: query.order,
    };
    Ok(Json(samples::list_subsamples(&state.db, &user.access(&options), &filter, page).await?))
}

/// One sub-sample; 404 when it does not exist or the caller may not see it.
#[utoipa::path(get, path = "/samples/sub/{blSubSampleId}", tag = "Samples", operation_id = "get_subsample",
    params(SubSamplePath), responses((status = 200, body = SubSampleRow)), security(("HTTPBearer" = [])))]
pub async fn get_subsample(
    user: CurrentUser,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<SubSamplePath>,
) -> ApiResult<Json<SubSampleRow>> {
    let options = state.options(false).await?;
    let row = samples::find_subsample(&state.db, &user.access(&options), path.bl_sub_sample_id)
        .await?
        .ok_or_else(|| ApiError::not_found("Sub sample"))?;
    Ok(Json(row))
}

/// Lists the images of the samples the caller may see; `_metadata.url` serves each file.
#[utoipa::path(get, path = "/samples/images", tag = "Samples", operation_id = "get_sample_images",
    params(SampleImageQuery), responses((status = 200, body = ispyb_db::Paged<SampleImageRow>)), security(("HTTPBearer" = [])))]
pub async fn get_sample_images(
    user: CurrentUser,
    State(state): State<AppState>,
    PageParams(page): PageParams,
    ApiQuery(query): ApiQuery<SampleImageQuery>,
) -> ApiResult<Json<ispyb_db::Paged<SampleImageRow>>> {
    let options = state.options(false).await?;
    let mut paged = samples::list_images(&state.db, &user.access(&options), query.bl_sample_id, None, page).await?;
    for row in &mut paged.results {
        row.metadata.url = format!("{}/samples/images/{}", state.config.api_root, row.base.bl_sample_image_id);
    }
    Ok(Json(paged))
}

/// The image file (content type from its extension; one `Range` honoured). Also with a
/// one-time token (`?onetime=`). 404 "Sample image not found" when the image is not visible,
/// or its file is missing or outside the data roots.
#[utoipa::path(get, path = "/samples/images/{blSampleImageId}", tag = "Samples", operation_id = "get_sample_image",
    params(SampleImagePath),
    responses((status = 200, description = "The image file", content_type = "application/octet-stream"),
        (status = 206, description = "The requested byte range of the file"),
        (status = 416, description = "The requested range is outside the file")),
    security(("HTTPBearer" = [])))]
pub async fn get_sample_image(
    user: CurrentUser,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<SampleImagePath>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    const NOT_FOUND: &str = "Sample image not found";
    let options = state.options(false).await?;
    let image = samples::find_image(&state.db, &user.access(&options), path.bl_sample_image_id)
        .await?
        .ok_or(ApiError::NotFound(NOT_FOUND.into()))?;
    let file = image.base.image_full_path.ok_or(ApiError::NotFound(NOT_FOUND.into()))?;
    crate::files::serve_file(&state.config, &file, &headers, NOT_FOUND).await
}

/// Components (buffers, ligands, …) for sample and crystal compositions: site-wide ones and
/// those of the proposals the caller may see.
#[utoipa::path(get, path = "/samples/components", tag = "Samples", operation_id = "get_components",
    params(ComponentQuery), responses((status = 200, body = ispyb_db::Paged<ComponentRow>)), security(("HTTPBearer" = [])))]
pub async fn get_components(
    user: CurrentUser,
    State(state): State<AppState>,
    PageParams(page): PageParams,
    ApiQuery(query): ApiQuery<ComponentQuery>,
) -> ApiResult<Json<ispyb_db::Paged<ComponentRow>>> {
    check_proposal_name(query.proposal.as_deref())?;
    let options = state.options(false).await?;
    Ok(Json(samples::list_components(&state.db, &user.access(&options), query.proposal.as_deref(), page).await?))
}

/// The component types (`ComponentType`).
#[utoipa::path(get, path = "/samples/components/types", tag = "Samples", operation_id = "get_components_types",
    responses((status = 200, body = Vec<ComponentType>)), security(("HTTPBearer" = [])))]
pub async fn get_component_types(
    _user: CurrentUser,
    State(state): State<AppState>,
) -> ApiResult<Json<Vec<ComponentType>>> {
    Ok(Json(samples::component_types(&state.db).await?))
}

/// The concentration units (`ConcentrationType`) of composition abundances.
#[utoipa::path(get, path = "/samples/concentration/types", tag = "Samples", operation_id = "get_concentration_types",
    responses((status = 200, body = Vec<ConcentrationType>)), security(("HTTPBearer" = [])))]
pub async fn get_concentration_types(
    _user: CurrentUser,
    State(state): State<AppState>,
) -> ApiResult<Json<Vec<ConcentrationType>>> {
    Ok(Json(samples::concentration_types(&state.db).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_paths_become_locations() {
        let e = relocate(ApiError::Validation(vec![
            FieldError::new(
                &["body", "Crystal.cell_a"],
                "invalid type: string \"x\", expected f64 at line 1 column 9",
                "value_error",
            ),
            FieldError::new(&["body"], "missing field `name` at line 1 column 2", "value_error"),
            FieldError::new(
                &["body", "Crystal.Protein"],
                "missing field `proteinId` at line 1 column 30",
                "value_error",
            ),
        ]));
        let ApiError::Validation(errors) = e else { panic!() };
        let locs: Vec<String> = errors.iter().map(|e| e.loc.join(".")).collect();
        assert_eq!(locs, ["body.Crystal.cell_a", "body.name", "body.Crystal.Protein.proteinId"]);
        assert_eq!(errors[0].msg, "invalid type: string \"x\", expected f64");
        assert_eq!(errors[1].msg, "field required");
        assert_eq!(errors[1].kind, "value_error.missing");
    }
}
