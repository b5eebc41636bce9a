//! What hangs off a data collection: attachments, per-image quality indicators, workflow
//! steps, crystal snapshots and diffraction and quality thumbnails. Every file goes through
//! `files.rs` (data roots, `PATH_MAP`, no traversal, 404 when absent).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use ispyb_db::datacollections::{self, AttachmentFilter, DataCollectionFileAttachment, PerImageAnalysis, WorkflowStep};
use ispyb_db::events;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, ApiQuery, PageParams};
use crate::routes::events::servable;

/// Data collection routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_attachments))
        .routes(routes!(get_attachment))
        .routes(routes!(get_quality))
        .routes(routes!(get_workflow_steps))
        .routes(routes!(get_workflow_step_file))
        .routes(routes!(get_snapshot))
        .routes(routes!(get_diffraction_image))
        .routes(routes!(get_quality_image))
}

/// Adds `Content-Disposition: attachment` with a download name (quotes and control
/// characters dropped; the exact name also in RFC 5987 form).
pub(crate) fn with_download_name(mut res: Response, name: &str) -> Response {
    let plain: String =
        name.chars().filter(|c| c.is_ascii() && !c.is_ascii_control() && *c != '"' && *c != '\\').collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let value = format!("attachment; filename=\"{plain}\"; filename*=UTF-8''{encoded}");
    if let Ok(v) = HeaderValue::from_str(&value) {
        res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    res
}

/// Filters of the attachment and quality lists.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DataCollectionQuery {
    /// Data collection.
    #[serde(rename = "dataCollectionId")]
    #[param(rename = "dataCollectionId", maximum = 4294967295_u64)]
    pub data_collection_id: Option<u32>,
    /// Data collection group.
    #[serde(rename = "dataCollectionGroupId")]
    #[param(rename = "dataCollectionGroupId", maximum = 4294967295_u64)]
    pub data_collection_group_id: Option<u32>,
    /// Rows to skip.
    #[param(minimum = 0, maximum = 2147483647, default = 0)]
    pub skip: Option<u64>,
    /// Rows to return.
    #[param(minimum = 1, maximum = 1000, default = 25)]
    pub limit: Option<u64>,
}

/// Attachments (logs, plots) of the data collections the caller may see.
#[utoipa::path(get, path = "/datacollections/attachments", tag = "Data collections",
    operation_id = "get_datacollection_attachments", params(DataCollectionQuery),
    responses((status = 200, body = ispyb_db::Paged<DataCollectionFileAttachment>)), security(("HTTPBearer" = [])))]
pub async fn get_attachments(
    user: CurrentUser,
    State(state): State<AppState>,
    PageParams(page): PageParams,
    ApiQuery(q): ApiQuery<DataCollectionQuery>,
) -> ApiResult<Json<ispyb_db::Paged<DataCollectionFileAttachment>>> {
    let options = state.options(false).await?;
    let filter = AttachmentFilter {
        id: None,
        data_collection_id: q.data_collection_id,
        data_collection_group_id: q.data_collection_group_id,
    };
    let mut paged = datacollections::attachments(&state.db, &user.access(&options), &filter, page).await?;
    for r in &mut paged.results {
        r.metadata.url = format!(
            "{}/datacollections/attachments/{}",
            state.config.api_root, r.base.data_collection_file_attachment_id
        );
    }
    Ok(Json(paged))
}

/// Path of one attachment.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct AttachmentPath {
    /// `DataCollectionFileAttachment.dataCollectionFileAttachmentId`.
    #[serde(rename = "dataCollectionFileAttachmentId")]
    #[param(rename = "dataCollectionFileAttachmentId", maximum = 4294967295_u64)]
    pub id: u32,
}

const ATTACHMENT_NOT_FOUND: &str = "Data collection attachment not found";

/// Downloads an attachment (also with `?onetime=`).
#[utoipa::path(get, path = "/datacollections/attachments/{dataCollectionFileAttachmentId}", tag = "Data collections",
    operation_id = "get_datacollection_attachment", params(AttachmentPath),
    responses((status = 200, description = "The file", content_type = "application/octet-stream")),
    security(("HTTPBearer" = [])))]
pub async fn get_attachment(
    user: CurrentUser,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(path): ApiPath<AttachmentPath>,
) -> ApiResult<Response> {
    let options = state.options(false).await?;
    let filter = AttachmentFilter { id: Some(path.id), ..Default::default() };
    let page = ispyb_db::Page { skip: 0, limit: 1 };
    let row = datacollections::attachments(&state.db, &user.access(&options), &filter, page)
        .await?
        .results
        .pop()
        .ok_or(ApiError::NotFound(ATTACHMENT_NOT_FOUND.into()))?;
    let res = crate::files::serve_file(&state.config, &row.base.file_full_path, &headers, ATTACHMENT_NOT_FOUND).await?;
    Ok(with_download_name(res, &row.metadata.file_name))
}

/// Per-image quality indicators (spots, resolution) of a data collection, as lists; `total` is
/// the number of images with indicators.
#[utoipa::path(get, path = "/datacollections/quality", tag = "Data collections",
    operation_id = "get_per_image_analysis", params(DataCollectionQuery),
    responses((status = 200, body = ispyb_db::Paged<PerImageAnalysis>)), security(("HTTPBearer" = [])))]
pub async fn get_quality(
    user: CurrentUser,
    State(state): State<AppState>,
    PageParams(page): PageParams,
    ApiQuery(q): ApiQuery<DataCollectionQuery>,
) -> ApiResult<Json<ispyb_db::Paged<PerImageAnalysis>>> {
    let options = state.options(false).await?;
    let paged = datacollections::quality(
        &state.db,
        &user.access(&options),
        q.data_collection_id,
        q.data_collection_group_id,
        page,
    )
    .await?;
    Ok(Json(paged))
}

/// Filters of the workflow step list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WorkflowStepQuery {
    /// Workflow.
    #[serde(rename = "workflowId")]
    #[param(rename = "workflowId", maximum = 4294967295_u64)]
    pub workflow_id: Option<u32>,
    /// One step.
    #[serde(rename = "workflowStepId")]
    #[param(rename = "workflowStepId")]
    pub workflow_step_id: Option<i64>,
    /// Rows to skip.
    #[param(minimum = 0, maximum = 2147483647, default = 0)]
    pub skip: Option<u64>,
    /// Rows to return.
    #[param(minimum = 1, maximum = 1000, default = 25)]
    pub limit: Option<u64>,
}

const STEP_FILES: [&str; 3] = ["imageResultFilePath", "resultFilePath", "htmlResultFilePath"];

fn step_file<'a>(step: &'a ispyb_db::models::WorkflowStep, kind: &str) -> Option<&'a str> {
    match kind {
        "imageResultFilePath" => step.image_result_file_path.as_deref(),
        "resultFilePath" => step.result_file_path.as_deref(),
        "htmlResultFilePath" => step.html_result_file_path.as_deref(),
        _ => None,
    }
}

/// Steps of the workflows the caller may see, with which result files exist.
#[utoipa::path(get, path = "/datacollections/workflows/steps", tag = "Data collections",
    operation_id = "get_workflow_steps", params(WorkflowStepQuery),
    responses((status = 200, body = ispyb_db::Paged<WorkflowStep>)), security(("HTTPBearer" = [])))]
pub async fn get_workflow_steps(
    user: CurrentUser,
    State(state): State<AppState>,
    PageParams(page): PageParams,
    ApiQuery(q): ApiQuery<WorkflowStepQuery>,
) -> ApiResult<Json<ispyb_db::Paged<WorkflowStep>>> {
    let options = state.options(false).await?;
    let mut paged =
        datacollections::workflow_steps(&state.db, &user.access(&options), q.workflow_id, q.workflow_step_id, page)
            .await?;
    for step in &mut paged.results {
        for kind in STEP_FILES {
            let ok = servable(&state.config, step_file(&step.base, kind)).await;
            step.metadata.attachments.insert(kind.to_string(), ok);
        }
    }
    Ok(Json(paged))
}

/// Path of one workflow step.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct WorkflowStepPath {
    /// `WorkflowStep.workflowStepId`.
    #[serde(rename = "workflowStepId")]
    #[param(rename = "workflowStepId")]
    pub id: i64,
}

/// Which file of a workflow step.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
pub enum StepAttachmentType {
    /// The result image.
    #[serde(rename = "imageResultFilePath")]
    ImageResultFilePath,
    /// The result file.
    #[serde(rename = "resultFilePath")]
    ResultFilePath,
}

/// Query of the workflow step file.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WorkflowStepFileQuery {
    /// `imageResultFilePath` or `resultFilePath`.
    #[serde(rename = "attachmentType")]
    #[param(rename = "attachmentType", inline)]
    pub attachment_type: StepAttachmentType,
}

const STEP_NOT_FOUND: &str = "Workflow step attachment not found";

/// One file of a workflow step.
#[utoipa::path(get, path = "/datacollections/workflows/steps/{workflowStepId}", tag = "Data collections",
    operation_id = "get_workflow_step_attachment", params(WorkflowStepPath, WorkflowStepFileQuery),
    responses((status = 200, description = "The file", content_type = "application/octet-stream")),
    security(("HTTPBearer" = [])))]
pub async fn get_workflow_step_file(
    user: CurrentUser,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(path): ApiPath<WorkflowStepPath>,
    ApiQuery(q): ApiQuery<WorkflowStepFileQuery>,
) -> ApiResult<Response> {
    let options = state.options(false).await?;
    let page = ispyb_db::Page { skip: 0, limit: 1 };
    let step = datacollections::workflow_steps(&state.db, &user.access(&options), None, Some(path.id), page)
        .await?
        .results
        .pop()
        .ok_or(ApiError::NotFound(STEP_NOT_FOUND.into()))?;
    let kind = match q.attachment_type {
        StepAttachmentType::ImageResultFilePath => "imageResultFilePath",
        StepAttachmentType::ResultFilePath => "resultFilePath",
    };
    let file = step_file(&step.base, kind).ok_or(ApiError::NotFound(STEP_NOT_FOUND.into()))?;
    let res = crate::files::serve_file(&state.config, file, &headers, STEP_NOT_FOUND).await?;
    Ok(with_download_name(res, datacollections::base_name(file)))
}

/// Path naming a data collection.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct DataCollectionPath {
    /// `DataCollection.dataCollectionId`.
    #[serde(rename = "dataCollectionId")]
    #[param(rename = "dataCollectionId", maximum = 4294967295_u64)]
    pub data_collection_id: u32,
}

/// Query of the crystal snapshot.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SnapshotQuery {
    /// Which snapshot, 1 to 4.
    #[serde(rename = "imageId")]
    #[param(rename = "imageId", minimum = 1, maximum = 4, default = 1)]
    pub image_id: Option<u8>,
    /// The thumbnail (`x.png` → `xt.png`) when it exists.
    pub snapshot: Option<bool>,
}

const IMAGE_NOT_FOUND: &str = "Image not found";

/// `x.png` → `xt.png`.
fn thumbnail_of(path: &str) -> Option<String> {
    let name_start = path.rfind('/').map_or(0, |i| i + 1);
    let dot = path[name_start..].rfind('.')? + name_start;
    Some(format!("{}t{}", &path[..dot], &path[dot..]))
}

/// A crystal snapshot of a data collection.
#[utoipa::path(get, path = "/datacollections/images/{dataCollectionId}", tag = "Data collections",
    operation_id = "get_datacollection_snapshot", params(DataCollectionPath, SnapshotQuery),
    responses((status = 200, description = "The image", content_type = "image/png")), security(("HTTPBearer" = [])))]
pub async fn get_snapshot(
    user: CurrentUser,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(path): ApiPath<DataCollectionPath>,
    ApiQuery(q): ApiQuery<SnapshotQuery>,
) -> ApiResult<Response> {
    let image_id = q.image_id.unwrap_or(1);
    if !(1..=4).contains(&image_id) {
        return Err(ApiError::invalid(
            &["query", "imageId"],
            "ensure this value is between 1 and 4",
            "value_error.number.not_le",
        ));
    }
    let options = state.options(false).await?;
    let dc = events::find_data_collection(&state.db, &user.access(&options), path.data_collection_id)
        .await?
        .ok_or(ApiError::NotFound(IMAGE_NOT_FOUND.into()))?;
    let full = match image_id {
        1 => dc.xtal_snapshot_full_path1,
        2 => dc.xtal_snapshot_full_path2,
        3 => dc.xtal_snapshot_full_path3,
        _ => dc.xtal_snapshot_full_path4,
    }
    .filter(|p| !p.is_empty())
    .ok_or(ApiError::NotFound(IMAGE_NOT_FOUND.into()))?;
    let mut file = full.clone();
    if q.snapshot.unwrap_or(false)
        && let Some(thumb) = thumbnail_of(&full)
        && servable(&state.config, Some(&thumb)).await
    {
        file = thumb;
    }
    crate::files::serve_file(&state.config, &file, &headers, IMAGE_NOT_FOUND).await
}

/// Query of the diffraction thumbnail.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DiffractionQuery {
    /// The small thumbnail (`jpegThumbnailFileFullPath`) rather than the JPEG.
    pub snapshot: Option<bool>,
}

/// The JPEG of the first diffraction image of a data collection.
#[utoipa::path(get, path = "/datacollections/images/diffraction/{dataCollectionId}", tag = "Data collections",
    operation_id = "get_datacollection_diffraction_image", params(DataCollectionPath, DiffractionQuery),
    responses((status = 200, description = "The image", content_type = "image/jpeg")), security(("HTTPBearer" = [])))]
pub async fn get_diffraction_image(
    user: CurrentUser,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(path): ApiPath<DataCollectionPath>,
    ApiQuery(q): ApiQuery<DiffractionQuery>,
) -> ApiResult<Response> {
    let options = state.options(false).await?;
    let image = datacollections::first_image(&state.db, &user.access(&options), path.data_collection_id)
        .await?
        .ok_or(ApiError::NotFound(IMAGE_NOT_FOUND.into()))?;
    let file =
        if q.snapshot.unwrap_or(false) { image.jpeg_thumbnail_file_full_path } else { image.jpeg_file_full_path }
            .ok_or(ApiError::NotFound(IMAGE_NOT_FOUND.into()))?;
    crate::files::serve_file(&state.config, &file, &headers, IMAGE_NOT_FOUND).await
}

/// The per-image analysis plot of a data collection.
#[utoipa::path(get, path = "/datacollections/images/quality/{dataCollectionId}", tag = "Data collections",
    operation_id = "get_datacollection_analysis", params(DataCollectionPath),
    responses((status = 200, description = "The image", content_type = "image/png")), security(("HTTPBearer" = [])))]
pub async fn get_quality_image(
    user: CurrentUser,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(path): ApiPath<DataCollectionPath>,
) -> ApiResult<Response> {
    let options = state.options(false).await?;
    let dc = events::find_data_collection(&state.db, &user.access(&options), path.data_collection_id)
        .await?
        .ok_or(ApiError::NotFound(IMAGE_NOT_FOUND.into()))?;
    let file = dc.image_quality_indicators_plot_path.ok_or(ApiError::NotFound(IMAGE_NOT_FOUND.into()))?;
    crate::files::serve_file(&state.config, &file, &headers, IMAGE_NOT_FOUND).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbnails_insert_t_before_the_extension() {
        assert_eq!(thumbnail_of("/d/a.b/x.png").as_deref(), Some("/d/a.b/xt.png"));
        assert_eq!(thumbnail_of("/d/a.b/x"), None);
    }

    #[test]
    fn download_names_are_quoted_safely() {
        let res = with_download_name(Response::new(axum::body::Body::empty()), "a\"b é.log");
        let v = res.headers()[header::CONTENT_DISPOSITION].to_str().unwrap().to_string();
        assert_eq!(v, "attachment; filename=\"ab .log\"; filename*=UTF-8''a%22b%20%C3%A9.log");
    }
}
