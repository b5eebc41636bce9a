//! Processing results: statuses (polled by py-ispyb-ui), programs, auto-integrations,
//! screenings, messages and attachments.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use ispyb_db::models::AutoProcProgramMessage;
use ispyb_db::processings::{
    self, MessageStatuses, ProcessingStatusesList, Program, ProgramAttachment, ProgramIntegration, Screening,
};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, ApiQuery, PageParams};
use crate::routes::datacollections::with_download_name;

/// Processing routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_processing_status))
        .routes(routes!(get_processing_message_status))
        .routes(routes!(get_processing_messages))
        .routes(routes!(get_processings))
        .routes(routes!(get_auto_integrations))
        .routes(routes!(get_screenings))
        .routes(routes!(get_processing_attachments))
        .routes(routes!(get_processing_attachment))
}

/// The most data collections one status request may name.
const MAX_IDS: usize = 1000;

/// Query of the status routes.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatusQuery {
    /// The data collection ids as a JSON array, e.g. `[1,2,3]` (URL-encoded), as py-ispyb-ui
    /// sends them.
    #[serde(rename = "dataCollectionIds")]
    #[param(rename = "dataCollectionIds", example = "[1,2,3]")]
    pub data_collection_ids: Option<String>,
}

impl StatusQuery {
    /// The ids; 422 as py-ISPyB: not JSON → "Invalid JSON" on the field, not a non-empty list
    /// of ids → `{"detail": "Couldn't parse dataCollectionIds"}`.
    fn ids(&self) -> Result<Vec<u32>, Box<Response>> {
        let couldnt = || {
            Box::new(
                (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Json(serde_json::json!({"detail": "Couldn't parse dataCollectionIds"})),
                )
                    .into_response(),
            )
        };
        let Some(raw) = &self.data_collection_ids else { return Err(couldnt()) };
        let value: serde_json::Value = serde_json::from_str(raw).map_err(|_| {
            Box::new(
                ApiError::invalid(&["query", "dataCollectionIds"], "Invalid JSON", "value_error.json").into_response(),
            )
        })?;
        let list = value.as_array().filter(|l| !l.is_empty()).ok_or_else(couldnt)?;
        let ids: Option<Vec<u32>> = list.iter().map(|v| v.as_u64().and_then(|n| u32::try_from(n).ok())).collect();
        let mut ids = ids.ok_or_else(couldnt)?;
        ids.sort_unstable();
        ids.dedup();
        if ids.len() > MAX_IDS {
            return Err(ApiError::invalid(
                &["query", "dataCollectionIds"],
                format!("at most {MAX_IDS} data collections at once"),
                "value_error.list.max_items",
            )
            .into_response()
            .into());
        }
        Ok(ids)
    }
}

/// Processing statuses (screenings, auto-integrations, automatic processings, cryo-EM
/// progress) of several data collections. A fixed number of statements whatever the number
/// of ids (py-ispyb-ui polls it every 10 s for a whole session page).
#[utoipa::path(get, path = "/processings/status", tag = "Processings", operation_id = "get_processing_status",
    params(StatusQuery), responses((status = 200, body = ProcessingStatusesList)), security(("HTTPBearer" = [])))]
pub async fn get_processing_status(
    user: CurrentUser,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<StatusQuery>,
) -> Result<Json<ProcessingStatusesList>, Response> {
    let ids = q.ids().map_err(|e| *e)?;
    let options = state.options(false).await.map_err(IntoResponse::into_response)?;
    let statuses = processings::statuses(&state.db, &user.access(&options), &ids)
        .await
        .map_err(|e| ApiError::from(e).into_response())?;
    Ok(Json(statuses))
}

/// Counts of processing messages (errors, warnings, info) of several data collections;
/// `{"statuses": {}}` on databases without processing messages (`ispyb` flavour).
#[utoipa::path(get, path = "/processings/messages/status", tag = "Processings",
    operation_id = "get_processing_message_status", params(StatusQuery),
    responses((status = 200, body = MessageStatuses)), security(("HTTPBearer" = [])))]
pub async fn get_processing_message_status(
    user: CurrentUser,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<StatusQuery>,
) -> Result<Json<MessageStatuses>, Response> {
    let ids = q.ids().map_err(|e| *e)?;
    let options = state.options(false).await.map_err(IntoResponse::into_response)?;
    let statuses = processings::message_statuses(&state.db, &user.access(&options), &ids)
        .await
        .map_err(|e| ApiError::from(e).into_response())?;
    Ok(Json(statuses))
}

/// Filter by data collection, with paging.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProcessingQuery {
    /// Data collection.
    #[serde(rename = "dataCollectionId")]
    #[param(rename = "dataCollectionId", maximum = 4294967295_u64)]
    pub data_collection_id: Option<u32>,
    /// Rows to skip.
    #[param(minimum = 0, maximum = 2147483647, default = 0)]
    pub skip: Option<u64>,
    /// Rows to return.
    #[param(minimum = 1, maximum = 1000, default = 25)]
    pub limit: Option<u64>,
}

/// Filters of the message list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessageQuery {
    /// Data collection.
    #[serde(rename = "dataCollectionId")]
    #[param(rename = "dataCollectionId", maximum = 4294967295_u64)]
    pub data_collection_id: Option<u32>,
    /// One message.
    #[serde(rename = "autoProcProgramMessageId")]
    #[param(rename = "autoProcProgramMessageId", maximum = 4294967295_u64)]
    pub message_id: Option<u32>,
    /// Rows to skip.
    #[param(minimum = 0, maximum = 2147483647, default = 0)]
    pub skip: Option<u64>,
    /// Rows to return.
    #[param(minimum = 1, maximum = 1000, default = 25)]
    pub limit: Option<u64>,
}

/// Processing messages (`dls` flavour; an empty page on databases without them).
#[utoipa::path(get, path = "/processings/messages", tag = "Processings", operation_id = "get_processing_messages",
    params(MessageQuery), responses((status = 200, body = ispyb_db::Paged<AutoProcProgramMessage>)),
    security(("HTTPBearer" = [])))]
pub async fn get_processing_messages(
    user: CurrentUser,
    State(state): State<AppState>,
    PageParams(page): PageParams,
    ApiQuery(q): ApiQuery<MessageQuery>,
) -> ApiResult<Json<ispyb_db::Paged<AutoProcProgramMessage>>> {
    let options = state.options(false).await?;
    let paged =
        processings::messages(&state.db, &user.access(&options), q.data_collection_id, q.message_id, page).await?;
    Ok(Json(paged))
}

/// Processing programs that are not auto-integrations (e.g. downstream pipelines), newest
/// first, with their processing job, attachment count and messages.
#[utoipa::path(get, path = "/processings", tag = "Processings", operation_id = "get_processings",
    params(ProcessingQuery), responses((status = 200, body = ispyb_db::Paged<Program>)), security(("HTTPBearer" = [])))]
pub async fn get_processings(
    user: CurrentUser,
    State(state): State<AppState>,
    PageParams(page): PageParams,
    ApiQuery(q): ApiQuery<ProcessingQuery>,
) -> ApiResult<Json<ispyb_db::Paged<Program>>> {
    let options = state.options(false).await?;
    Ok(Json(processings::programs(&state.db, &user.access(&options), q.data_collection_id, page).await?))
}

/// Auto-integration programs with their integrations, scalings, space groups, cells and
/// statistics, newest first.
#[utoipa::path(get, path = "/processings/auto-integrations", tag = "Processings",
    operation_id = "get_auto_integrations", params(ProcessingQuery),
    responses((status = 200, body = ispyb_db::Paged<ProgramIntegration>)), security(("HTTPBearer" = [])))]
pub async fn get_auto_integrations(
    user: CurrentUser,
    State(state): State<AppState>,
    PageParams(page): PageParams,
    ApiQuery(q): ApiQuery<ProcessingQuery>,
) -> ApiResult<Json<ispyb_db::Paged<ProgramIntegration>>> {
    let options = state.options(false).await?;
    Ok(Json(processings::auto_integrations(&state.db, &user.access(&options), q.data_collection_id, page).await?))
}

/// Screenings (characterisations) of a data collection with outputs, strategies, wedges and
/// lattices.
#[utoipa::path(get, path = "/processings/screenings", tag = "Processings", operation_id = "get_screenings",
    params(ProcessingQuery), responses((status = 200, body = ispyb_db::Paged<Screening>)), security(("HTTPBearer" = [])))]
pub async fn get_screenings(
    user: CurrentUser,
    State(state): State<AppState>,
    PageParams(page): PageParams,
    ApiQuery(q): ApiQuery<ProcessingQuery>,
) -> ApiResult<Json<ispyb_db::Paged<Screening>>> {
    let options = state.options(false).await?;
    Ok(Json(processings::screenings(&state.db, &user.access(&options), q.data_collection_id, page).await?))
}

/// Filters of the attachment list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AttachmentQuery {
    /// Program.
    #[serde(rename = "autoProcProgramId")]
    #[param(rename = "autoProcProgramId", maximum = 4294967295_u64)]
    pub program_id: Option<u32>,
    /// One attachment.
    #[serde(rename = "autoProcProgramAttachmentId")]
    #[param(rename = "autoProcProgramAttachmentId", maximum = 4294967295_u64)]
    pub attachment_id: Option<u32>,
    /// Rows to skip.
    #[param(minimum = 0, maximum = 2147483647, default = 0)]
    pub skip: Option<u64>,
    /// Rows to return.
    #[param(minimum = 1, maximum = 1000, default = 25)]
    pub limit: Option<u64>,
}

/// Files of processing programs (logs, reflection files, reports).
#[utoipa::path(get, path = "/processings/attachments", tag = "Processings",
    operation_id = "get_processing_attachments", params(AttachmentQuery),
    responses((status = 200, body = ispyb_db::Paged<ProgramAttachment>)), security(("HTTPBearer" = [])))]
pub async fn get_processing_attachments(
    user: CurrentUser,
    State(state): State<AppState>,
    PageParams(page): PageParams,
    ApiQuery(q): ApiQuery<AttachmentQuery>,
) -> ApiResult<Json<ispyb_db::Paged<ProgramAttachment>>> {
    let options = state.options(false).await?;
    let mut paged =
        processings::attachments(&state.db, &user.access(&options), q.program_id, q.attachment_id, page).await?;
    for a in &mut paged.results {
        a.metadata.url =
            format!("{}/processings/attachments/{}", state.config.api_root, a.base.auto_proc_program_attachment_id);
    }
    Ok(Json(paged))
}

/// Path of one processing attachment.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ProgramAttachmentPath {
    /// `AutoProcProgramAttachment.autoProcProgramAttachmentId`.
    #[serde(rename = "autoProcProgramAttachmentId")]
    #[param(rename = "autoProcProgramAttachmentId", maximum = 4294967295_u64)]
    pub id: u32,
}

const ATTACHMENT_NOT_FOUND: &str = "Autoproc program attachment not found";

/// Downloads a processing attachment (also with `?onetime=`).
#[utoipa::path(get, path = "/processings/attachments/{autoProcProgramAttachmentId}", tag = "Processings",
    operation_id = "get_processing_attachment", params(ProgramAttachmentPath),
    responses((status = 200, description = "The file", content_type = "application/octet-stream")),
    security(("HTTPBearer" = [])))]
pub async fn get_processing_attachment(
    user: CurrentUser,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(path): ApiPath<ProgramAttachmentPath>,
) -> ApiResult<Response> {
    let options = state.options(false).await?;
    let page = ispyb_db::Page { skip: 0, limit: 1 };
    let row = processings::attachments(&state.db, &user.access(&options), None, Some(path.id), page)
        .await?
        .results
        .pop()
        .ok_or(ApiError::NotFound(ATTACHMENT_NOT_FOUND.into()))?;
    let (Some(dir), Some(name)) = (row.base.file_path.as_deref(), row.base.file_name.as_deref()) else {
        return Err(ApiError::NotFound(ATTACHMENT_NOT_FOUND.into()));
    };
    // A file name is one component: a name with a separator is refused, not joined.
    if name.contains('/') || name.is_empty() {
        return Err(ApiError::NotFound(ATTACHMENT_NOT_FOUND.into()));
    }
    let full = format!("{}/{name}", dir.trim_end_matches('/'));
    let res = crate::files::serve_file(&state.config, &full, &headers, ATTACHMENT_NOT_FOUND).await?;
    Ok(with_download_name(res, name))
}
