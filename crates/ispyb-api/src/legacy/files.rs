//! File routes: diffraction images and thumbnails, crystal snapshots, quality-indicator and
//! Wilson plots, workflow results and logs, auto-processing attachments, energy-scan and XRF
//! files. Each path is read from the database through the proposal in the URL and the
//! caller's sessions (Java checked none of these against the proposal), then served by
//! [`crate::files::serve_file`] (data roots, `PATH_MAP`, ranges). An object that is not there,
//! not visible, without a path or whose file is missing answers 404 (Java mixed 404, 204 and
//! 200 with an error text).

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use ispyb_db::legacy::files::{self as db_files, DcFile, ScanFile, StepFile};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{LegacyCaller, PROPOSAL_DOC, TOKEN_DOC};
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiPath;

/// File routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(image_get))
        .routes(routes!(image_thumbnail))
        .routes(routes!(quality_indicator_plot))
        .routes(routes!(wilson_plot))
        .routes(routes!(crystal_snapshot))
        .routes(routes!(group_snapshot))
        .routes(routes!(workflow_step_result))
        .routes(routes!(workflow_step_image))
        .routes(routes!(workflow_step_html))
        .routes(routes!(workflow_log))
        .routes(routes!(attachment_download))
        .routes(routes!(attachment_get))
        .routes(routes!(attachment_pdf))
        .routes(routes!(attachment_html))
        .routes(routes!(energy_scan_jpeg))
        .routes(routes!(energy_scan_chooch))
        .routes(routes!(energy_scan_file))
        .routes(routes!(xrf_image))
        .routes(routes!(xrf_file))
        .routes(routes!(xrf_csv))
        .routes(routes!(attachments_zip))
}

/// Most bytes a zip of several files may hold (it is built in memory).
const MAX_ZIP_BYTES: u64 = 1 << 30;

/// A zip (deflated) of the files that exist among `files` (`(directory, name)` pairs, read
/// through the data roots like every file); 404 when none does.
pub(super) async fn zip(
    state: &AppState,
    files: Vec<(Option<String>, Option<String>)>,
    filename: &str,
) -> ApiResult<Response> {
    use tokio::io::AsyncReadExt;
    let mut entries: Vec<(String, Vec<u8>)> = Vec::new();
    let mut total = 0u64;
    for (dir, name) in files {
        let (Some(dir), Some(name)) = (dir, name) else { continue };
        let path = format!("{}/{}", dir.trim_end_matches('/'), name);
        let Ok((mut file, _, meta)) = crate::files::open(&state.config, &path).await else {
            tracing::debug!(path = %path, "not in the zip");
            continue;
        };
        total += meta.len();
        if total > MAX_ZIP_BYTES {
            return Err(ApiError::BadRequest("The files are too large for one download; fetch them one by one".into()));
        }
        let mut bytes = Vec::with_capacity(meta.len() as usize);
        file.read_to_end(&mut bytes).await.map_err(|e| ApiError::Internal(format!("read {path}: {e}")))?;
        let mut entry = name.replace(['/', '\\'], "_");
        if entries.iter().any(|(n, _)| *n == entry) {
            entry = format!("{}_{entry}", entries.len());
        }
        entries.push((entry, bytes));
    }
    if entries.is_empty() {
        return Err(ApiError::NotFound("File not found".into()));
    }
    let archive = tokio::task::spawn_blocking(move || -> zip::result::ZipResult<Vec<u8>> {
        use std::io::Write;
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(true);
        for (name, bytes) in entries {
            writer.start_file(name, options)?;
            writer.write_all(&bytes)?;
        }
        Ok(writer.finish()?.into_inner())
    })
    .await
    .map_err(|e| ApiError::Internal(format!("zip task: {e}")))?
    .map_err(|e| ApiError::Internal(format!("zip: {e}")))?;
    let name: String = filename.chars().filter(|c| c.is_ascii_alphanumeric() || "._-".contains(*c)).collect();
    let name = if name.is_empty() { "download.zip".to_string() } else { name };
    let mut res = axum::response::IntoResponse::into_response(archive);
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/zip"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}

/// `{proposal}` and `{autoProcProgramId}` (a comma-separated list).
#[derive(Debug, Deserialize)]
pub struct ProgramsPath {
    /// Name or id.
    pub proposal: String,
    /// Program ids.
    #[serde(rename = "autoProcProgramId")]
    pub auto_proc_program_id: String,
}

/// `?forceFilename=`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ZipQuery {
    /// Name of the zip file (default `<programs>.zip`).
    #[serde(rename = "forceFilename")]
    #[param(rename = "forceFilename")]
    pub force_filename: Option<String>,
}

/// A zip of the attachments of these auto-processing programs (of collections of the
/// proposal) whose files exist.
#[utoipa::path(get, path = "/{token}/proposal/{proposal}/mx/autoprocintegration/attachment/autoprocprogramid/{autoProcProgramId}/download",
    tag = "Legacy (Java ISPyB)", operation_id = "legacy_autoproc_attachments_zip",
    params(("token" = String, Path, description = TOKEN_DOC), ("proposal" = String, Path, description = PROPOSAL_DOC),
        ("autoProcProgramId" = String, Path, description = "Program ids, comma-separated"), ZipQuery),
    responses((status = 200, description = "The zip", content_type = "application/zip"),
        (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
pub async fn attachments_zip(
    caller: LegacyCaller,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<ProgramsPath>,
    crate::extract::ApiQuery(query): crate::extract::ApiQuery<ZipQuery>,
) -> ApiResult<Response> {
    let id = caller.proposal(&state, &path.proposal).await?;
    let programs = super::ids(&path.auto_proc_program_id, "autoProcProgramId")?;
    let lists = db_files::attachments(&state.db, &caller.access, id, &programs, caller.mount.dates()).await?;
    let files = lists
        .into_iter()
        .flatten()
        .map(|r| (r["filePath"].as_str().map(String::from), r["fileName"].as_str().map(String::from)))
        .collect();
    let name = query.force_filename.unwrap_or_else(|| format!("{}.zip", path.auto_proc_program_id.replace(',', "_")));
    zip(&state, files, &name).await
}

/// How the file is offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Disposition {
    /// `attachment; filename=…` (Java's images and downloads; MXCuBE reads the name).
    Attachment,
    /// `inline; filename=…` (shown in the browser).
    Inline,
}

/// Serves the path a lookup found; 404 with `not_found` when there is no row, no path or no
/// file.
pub(super) async fn send(
    state: &AppState,
    headers: &HeaderMap,
    found: Option<Option<String>>,
    not_found: &'static str,
    disposition: Disposition,
) -> ApiResult<Response> {
    let Some(path) = found.flatten().filter(|p| !p.trim().is_empty()) else {
        return Err(ApiError::NotFound(not_found.into()));
    };
    let mut res = crate::files::serve_file(&state.config, &path, headers, not_found).await?;
    let name: String = std::path::Path::new(&path)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("file")
        .chars()
        .filter(|c| !c.is_control() && *c != '"' && *c != '\\')
        .collect();
    let kind = match disposition {
        Disposition::Attachment => "attachment",
        Disposition::Inline => "inline",
    };
    if let Ok(v) = HeaderValue::from_str(&format!("{kind}; filename=\"{name}\"")) {
        res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}

/// `{proposal}` and `{imageId}`.
#[derive(Debug, Deserialize)]
pub struct ImagePath {
    /// Name or id.
    pub proposal: String,
    /// `Image.imageId`.
    #[serde(rename = "imageId")]
    pub image_id: u32,
}

/// A diffraction image (JPEG) of a collection of the proposal.
#[utoipa::path(get, path = "/{token}/proposal/{proposal}/mx/image/{imageId}/get", tag = "Legacy (Java ISPyB)",
    operation_id = "legacy_image",
    params(("token" = String, Path, description = TOKEN_DOC), ("proposal" = String, Path, description = PROPOSAL_DOC),
        ("imageId" = u32, Path, description = "Image id")),
    responses((status = 200, description = "The image", content_type = "image/jpeg"),
        (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
pub async fn image_get(
    caller: LegacyCaller,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(path): ApiPath<ImagePath>,
) -> ApiResult<Response> {
    let id = caller.proposal(&state, &path.proposal).await?;
    let found = db_files::image(&state.db, &caller.access, id, path.image_id, false).await?;
    send(&state, &headers, found, "Image not found", Disposition::Attachment).await
}

/// The thumbnail of a diffraction image.
#[utoipa::path(get, path = "/{token}/proposal/{proposal}/mx/image/{imageId}/thumbnail", tag = "Legacy (Java ISPyB)",
    operation_id = "legacy_image_thumbnail",
    params(("token" = String, Path, description = TOKEN_DOC), ("proposal" = String, Path, description = PROPOSAL_DOC),
        ("imageId" = u32, Path, description = "Image id")),
    responses((status = 200, description = "The thumbnail", content_type = "image/jpeg"),
        (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
pub async fn image_thumbnail(
    caller: LegacyCaller,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(path): ApiPath<ImagePath>,
) -> ApiResult<Response> {
    let id = caller.proposal(&state, &path.proposal).await?;
    let found = db_files::image(&state.db, &caller.access, id, path.image_id, true).await?;
    send(&state, &headers, found, "Image not found", Disposition::Attachment).await
}

/// `{proposal}` and `{dataCollectionId}`.
#[derive(Debug, Deserialize)]
pub struct CollectionPath {
    /// Name or id.
    pub proposal: String,
    /// Data collection id.
    #[serde(rename = "dataCollectionId")]
    pub data_collection_id: u32,
}

async fn dc_file(
    state: &AppState,
    caller: &LegacyCaller,
    headers: &HeaderMap,
    proposal: &str,
    dc: u32,
    file: DcFile,
) -> ApiResult<Response> {
    let id = caller.proposal(state, proposal).await?;
    let found = db_files::dc_file(&state.db, &caller.access, id, dc, file).await?;
    send(state, headers, found, "File not found", Disposition::Attachment).await
}

/// The image-quality-indicators plot of a collection (`imageQualityIndicatorsPlotPath`).
#[utoipa::path(get, path = "/{token}/proposal/{proposal}/mx/datacollection/{dataCollectionId}/qualityindicatorplot",
    tag = "Legacy (Java ISPyB)", operation_id = "legacy_quality_indicator_plot",
    params(("token" = String, Path, description = TOKEN_DOC), ("proposal" = String, Path, description = PROPOSAL_DOC),
        ("dataCollectionId" = u32, Path, description = "Data collection id")),
    responses((status = 200, description = "The plot", content_type = "image/png"),
        (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
pub async fn quality_indicator_plot(
    caller: LegacyCaller,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(path): ApiPath<CollectionPath>,
) -> ApiResult<Response> {
    dc_file(&state, &caller, &headers, &path.proposal, path.data_collection_id, DcFile::QualityIndicatorPlot).await
}

/// The Wilson plot of a collection (`bestWilsonPlotPath`).
#[utoipa::path(get, path = "/{token}/proposal/{proposal}/mx/datacollection/{dataCollectionId}/wilson",
    tag = "Legacy (Java ISPyB)", operation_id = "legacy_wilson_plot",
    params(("token" = String, Path, description = TOKEN_DOC), ("proposal" = String, Path, description = PROPOSAL_DOC),
        ("dataCollectionId" = u32, Path, description = "Data collection id")),
    responses((status = 200, description = "The plot", content_type = "image/png"),
        (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
pub async fn wilson_plot(
    caller: LegacyCaller,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(path): ApiPath<CollectionPath>,
) -> ApiResult<Response> {
    dc_file(&state, &caller, &headers, &path.proposal, path.data_collection_id, DcFile::WilsonPlot).await
}

/// `{proposal}`, `{dataCollectionId}` and the snapshot number.
#[derive(Debug, Deserialize)]
pub struct SnapshotPath {
    /// Name or id.
    pub proposal: String,
    /// Data collection id.
    #[serde(rename = "dataCollectionId")]
    pub data_collection_id: u32,
    /// 1 to 4.
    pub snapshot: u8,
}

/// Crystal snapshot 1 to 4 of a collection (`xtalSnapshotFullPath1..4`; EM clients use 1 for
/// the grid-square snapshot). The path keeps Java's spelling, `crystalsnaphot`.
#[utoipa::path(get, path = "/{token}/proposal/{proposal}/mx/datacollection/{dataCollectionId}/crystalsnaphot/{snapshot}/get",
    tag = "Legacy (Java ISPyB)", operation_id = "legacy_crystal_snapshot",
    params(("token" = String, Path, description = TOKEN_DOC), ("proposal" = String, Path, description = PROPOSAL_DOC),
        ("dataCollectionId" = u32, Path, description = "Data collection id"),
        ("snapshot" = u8, Path, minimum = 1, maximum = 4, description = "Snapshot number")),
    responses((status = 200, description = "The snapshot", content_type = "image/png"),
        (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
pub async fn crystal_snapshot(
    caller: LegacyCaller,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(path): ApiPath<SnapshotPath>,
) -> ApiResult<Response> {
    if !(1..=4).contains(&path.snapshot) {
        return Err(ApiError::invalid(&["path", "snapshot"], "between 1 and 4", "value_error.number.not_le"));
    }
    dc_file(&state, &caller, &headers, &path.proposal, path.data_collection_id, DcFile::Snapshot(path.snapshot)).await
}

/// `{proposal}` and `{dataCollectionGroupId}`.
#[derive(Debug, Deserialize)]
pub struct GroupPath {
    /// Name or id.
    pub proposal: String,
    /// Group id.
    #[serde(rename = "dataCollectionGroupId")]
    pub data_collection_group_id: u32,
}

/// The crystal snapshot of a data collection group (`DataCollectionGroup.xtalSnapshotFullPath`).
#[utoipa::path(get, path = "/{token}/proposal/{proposal}/mx/datacollectiongroup/{dataCollectionGroupId}/xtal/thumbnail",
    tag = "Legacy (Java ISPyB)", operation_id = "legacy_group_snapshot",
    params(("token" = String, Path, description = TOKEN_DOC), ("proposal" = String, Path, description = PROPOSAL_DOC),
        ("dataCollectionGroupId" = u32, Path, description = "Data collection group id")),
    responses((status = 200, description = "The snapshot", content_type = "image/png"),
        (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
pub async fn group_snapshot(
    caller: LegacyCaller,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(path): ApiPath<GroupPath>,
) -> ApiResult<Response> {
    let id = caller.proposal(&state, &path.proposal).await?;
    let found = db_files::group_snapshot(&state.db, &caller.access, id, path.data_collection_group_id).await?;
    send(&state, &headers, found, "File not found", Disposition::Attachment).await
}

/// `{proposal}` and `{workflowStepId}`.
#[derive(Debug, Deserialize)]
pub struct StepPath {
    /// Name or id.
    pub proposal: String,
    /// Workflow step id.
    #[serde(rename = "workflowStepId")]
    pub workflow_step_id: String,
}

async fn step_file(
    state: &AppState,
    caller: &LegacyCaller,
    headers: &HeaderMap,
    path: &StepPath,
    file: StepFile,
) -> ApiResult<Response> {
    let id = caller.proposal(state, &path.proposal).await?;
    let step: u32 = path.workflow_step_id.parse().map_err(|_| {
        ApiError::invalid(&["path", "workflowStepId"], "value is not a valid integer", "type_error.integer")
    })?;
    let found = db_files::workflow_step(&state.db, &caller.access, id, step, file).await?;
    send(state, headers, found, "File not found", Disposition::Inline).await
}

/// The result file (JSON) of a workflow step (MXCuBE reads it).
#[utoipa::path(get, path = "/{token}/proposal/{proposal}/mx/workflow/step/{workflowStepId}/result",
    tag = "Legacy (Java ISPyB)", operation_id = "legacy_workflow_step_result",
    params(("token" = String, Path, description = TOKEN_DOC), ("proposal" = String, Path, description = PROPOSAL_DOC),
        ("workflowStepId" = u32, Path, description = "Workflow step id")),
    responses((status = 200, description = "The file"), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn workflow_step_result(
    caller: LegacyCaller,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(path): ApiPath<StepPath>,
) -> ApiResult<Response> {
    step_file(&state, &caller, &headers, &path, StepFile::Result).await
}

/// The result image of a workflow step.
#[utoipa::path(get, path = "/{token}/proposal/{proposal}/mx/workflow/step/{workflowStepId}/image",
    tag = "Legacy (Java ISPyB)", operation_id = "legacy_workflow_step_image",
    params(("token" = String, Path, description = TOKEN_DOC), ("proposal" = String, Path, description = PROPOSAL_DOC),
        ("workflowStepId" = u32, Path, description = "Workflow step id")),
    responses((status = 200, description = "The image"), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn workflow_step_image(
    caller: LegacyCaller,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(path): ApiPath<StepPath>,
) -> ApiResult<Response> {
    step_file(&state, &caller, &headers, &path, StepFile::Image).await
}

/// The HTML report of a workflow step.
#[utoipa::path(get, path = "/{token}/proposal/{proposal}/mx/workflow/step/{workflowStepId}/html",
    tag = "Legacy (Java ISPyB)", operation_id = "legacy_workflow_step_html",
    params(("token" = String, Path, description = TOKEN_DOC), ("proposal" = String, Path, description = PROPOSAL_DOC),
        ("workflowStepId" = u32, Path, description = "Workflow step id")),
    responses((status = 200, description = "The report"), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn workflow_step_html(
    caller: LegacyCaller,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(path): ApiPath<StepPath>,
) -> ApiResult<Response> {
    step_file(&state, &caller, &headers, &path, StepFile::Html).await
}

/// `{workflowId}`.
#[derive(Debug, Deserialize)]
pub struct WorkflowPath {
    /// Workflow id.
    #[serde(rename = "workflowId")]
    pub workflow_id: u32,
}

/// The log of a workflow that ran in a session the caller may see (the path has no proposal;
/// Java checked nothing).
#[utoipa::path(get, path = "/{token}/mx/workflow/{workflowId}/log", tag = "Legacy (Java ISPyB)",
    operation_id = "legacy_workflow_log",
    params(("token" = String, Path, description = TOKEN_DOC), ("workflowId" = u32, Path, description = "Workflow id")),
    responses((status = 200, description = "The log"), (status = 401, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
pub async fn workflow_log(
    caller: LegacyCaller,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(path): ApiPath<WorkflowPath>,
) -> ApiResult<Response> {
    let found = db_files::workflow_log(&state.db, &caller.access, path.workflow_id).await?;
    send(&state, &headers, found, "File not found", Disposition::Inline).await
}

/// `{proposal}` and `{autoProcAttachmentId}`.
#[derive(Debug, Deserialize)]
pub struct AttachmentPath {
    /// Name or id.
    pub proposal: String,
    /// `AutoProcProgramAttachment.autoProcProgramAttachmentId`.
    #[serde(rename = "autoProcAttachmentId")]
    pub attachment_id: u32,
}

async fn attachment(
    state: &AppState,
    caller: &LegacyCaller,
    headers: &HeaderMap,
    path: &AttachmentPath,
    disposition: Disposition,
) -> ApiResult<Response> {
    let id = caller.proposal(state, &path.proposal).await?;
    let found = db_files::attachment(&state.db, &caller.access, id, path.attachment_id).await?;
    let full = found.map(|(dir, name)| match (dir, name) {
        (Some(dir), Some(name)) => Some(format!("{}/{}", dir.trim_end_matches('/'), name)),
        _ => None,
    });
    send(state, headers, full, "Attachment not found", disposition).await
}

macro_rules! attachment_route {
    ($name:ident, $path:literal, $op:literal, $disposition:expr, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(get, path = $path,
            tag = "Legacy (Java ISPyB)", operation_id = $op,
            params(("token" = String, Path, description = TOKEN_DOC), ("proposal" = String, Path, description = PROPOSAL_DOC),
                ("autoProcAttachmentId" = u32, Path, description = "Attachment id")),
            responses((status = 200, description = "The file"), (status = 401, body = crate::error::ErrorBody),
                (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
        pub async fn $name(
            caller: LegacyCaller,
            State(state): State<AppState>,
            headers: HeaderMap,
            ApiPath(path): ApiPath<AttachmentPath>,
        ) -> ApiResult<Response> {
            attachment(&state, &caller, &headers, &path, $disposition).await
        }
    };
}

attachment_route!(
    attachment_download,
    "/{token}/proposal/{proposal}/mx/autoprocintegration/autoprocattachmentid/{autoProcAttachmentId}/download",
    "legacy_attachment_download",
    Disposition::Attachment,
    "An auto-processing attachment of a collection of the proposal, as a download."
);
attachment_route!(
    attachment_get,
    "/{token}/proposal/{proposal}/mx/autoprocintegration/autoprocattachmentid/{autoProcAttachmentId}/get",
    "legacy_attachment_get",
    Disposition::Inline,
    "An auto-processing attachment, shown inline."
);
attachment_route!(
    attachment_pdf,
    "/{token}/proposal/{proposal}/mx/autoprocintegration/autoprocattachmentid/{autoProcAttachmentId}/getPdf",
    "legacy_attachment_pdf",
    Disposition::Inline,
    "An auto-processing attachment (a PDF), shown inline."
);
attachment_route!(
    attachment_html,
    "/{token}/proposal/{proposal}/mx/autoprocintegration/autoprocattachmentid/{autoProcAttachmentId}/getHtml",
    "legacy_attachment_html",
    Disposition::Inline,
    "An auto-processing attachment (an HTML report), shown inline."
);

/// `{proposal}` and `{energyScanId}`.
#[derive(Debug, Deserialize)]
pub struct EnergyScanPath {
    /// Name or id.
    pub proposal: String,
    /// Energy scan id.
    #[serde(rename = "energyScanId")]
    pub energy_scan_id: u32,
}

macro_rules! energy_scan_route {
    ($name:ident, $path:literal, $op:literal, $file:expr, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(get, path = $path,
            tag = "Legacy (Java ISPyB)", operation_id = $op,
            params(("token" = String, Path, description = TOKEN_DOC), ("proposal" = String, Path, description = PROPOSAL_DOC),
                ("energyScanId" = u32, Path, description = "Energy scan id")),
            responses((status = 200, description = "The file"), (status = 401, body = crate::error::ErrorBody),
                (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
        pub async fn $name(
            caller: LegacyCaller,
            State(state): State<AppState>,
            headers: HeaderMap,
            ApiPath(path): ApiPath<EnergyScanPath>,
        ) -> ApiResult<Response> {
            let id = caller.proposal(&state, &path.proposal).await?;
            let found = db_files::energy_scan(&state.db, &caller.access, id, path.energy_scan_id, $file).await?;
            send(&state, &headers, found, "File not found", Disposition::Attachment).await
        }
    };
}

energy_scan_route!(
    energy_scan_jpeg,
    "/{token}/proposal/{proposal}/mx/energyscan/energyscanId/{energyScanId}/jpegchooch",
    "legacy_energy_scan_jpeg",
    ScanFile::JpegChooch,
    "The Chooch plot (JPEG) of an energy scan of the proposal."
);
energy_scan_route!(
    energy_scan_chooch,
    "/{token}/proposal/{proposal}/mx/energyscan/energyscanId/{energyScanId}/chooch",
    "legacy_energy_scan_chooch",
    ScanFile::Chooch,
    "The Chooch output of an energy scan."
);
energy_scan_route!(
    energy_scan_file,
    "/{token}/proposal/{proposal}/mx/energyscan/energyscanId/{energyScanId}/scanfile",
    "legacy_energy_scan_file",
    ScanFile::Scan,
    "The raw file of an energy scan."
);

/// `{proposal}`, `{xrfScanId}` and the column naming the file.
#[derive(Debug, Deserialize)]
pub struct XrfPath {
    /// Name or id.
    pub proposal: String,
    /// `XFEFluorescenceSpectrum.xfeFluorescenceSpectrumId`.
    #[serde(rename = "xrfScanId")]
    pub xrf_scan_id: u32,
    /// One of `jpegScanFileFullPath`, `scanFileFullPath`, `fittedDataFileFullPath`,
    /// `annotatedPymcaXfeSpectrum`.
    pub column: Option<String>,
}

async fn xrf(state: &AppState, caller: &LegacyCaller, headers: &HeaderMap, path: &XrfPath) -> ApiResult<Response> {
    let id = caller.proposal(state, &path.proposal).await?;
    let column = path.column.as_deref().unwrap_or_default();
    if !db_files::XRF_FILE_COLUMNS.iter().any(|c| c.eq_ignore_ascii_case(column)) {
        return Err(ApiError::invalid(
            &["path", "column"],
            format!("one of {}", db_files::XRF_FILE_COLUMNS.join(", ")),
            "type_error.enum",
        ));
    }
    let found = db_files::xrf_file(&state.db, &caller.access, id, path.xrf_scan_id, column).await?;
    send(state, headers, found, "File not found", Disposition::Attachment).await
}

/// An image file of an XRF spectrum; `{column}` names which (Java served any column of the
/// row; only the file columns are accepted here).
#[utoipa::path(get, path = "/{token}/proposal/{proposal}/mx/xrfscan/xrfscanId/{xrfScanId}/image/{column}/get",
    tag = "Legacy (Java ISPyB)", operation_id = "legacy_xrf_image",
    params(("token" = String, Path, description = TOKEN_DOC), ("proposal" = String, Path, description = PROPOSAL_DOC),
        ("xrfScanId" = u32, Path, description = "XRF spectrum id"),
        ("column" = String, Path, description = "jpegScanFileFullPath, scanFileFullPath, fittedDataFileFullPath or annotatedPymcaXfeSpectrum")),
    responses((status = 200, description = "The file"), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn xrf_image(
    caller: LegacyCaller,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(path): ApiPath<XrfPath>,
) -> ApiResult<Response> {
    xrf(&state, &caller, &headers, &path).await
}

/// A file of an XRF spectrum; `{column}` names which.
#[utoipa::path(get, path = "/{token}/proposal/{proposal}/mx/xrfscan/xrfscanId/{xrfScanId}/file/{column}/get",
    tag = "Legacy (Java ISPyB)", operation_id = "legacy_xrf_file",
    params(("token" = String, Path, description = TOKEN_DOC), ("proposal" = String, Path, description = PROPOSAL_DOC),
        ("xrfScanId" = u32, Path, description = "XRF spectrum id"),
        ("column" = String, Path, description = "jpegScanFileFullPath, scanFileFullPath, fittedDataFileFullPath or annotatedPymcaXfeSpectrum")),
    responses((status = 200, description = "The file"), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn xrf_file(
    caller: LegacyCaller,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(path): ApiPath<XrfPath>,
) -> ApiResult<Response> {
    xrf(&state, &caller, &headers, &path).await
}

/// The peaks CSV of an XRF spectrum: `<annotatedPymcaXfeSpectrum without .html>_peaks.csv`.
#[utoipa::path(get, path = "/{token}/proposal/{proposal}/mx/xrfscan/xrfscanId/{xrfScanId}/csv",
    tag = "Legacy (Java ISPyB)", operation_id = "legacy_xrf_csv",
    params(("token" = String, Path, description = TOKEN_DOC), ("proposal" = String, Path, description = PROPOSAL_DOC),
        ("xrfScanId" = u32, Path, description = "XRF spectrum id")),
    responses((status = 200, description = "The CSV", content_type = "text/csv"),
        (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
pub async fn xrf_csv(
    caller: LegacyCaller,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(path): ApiPath<XrfPath>,
) -> ApiResult<Response> {
    let id = caller.proposal(&state, &path.proposal).await?;
    let found =
        db_files::xrf_file(&state.db, &caller.access, id, path.xrf_scan_id, "annotatedPymcaXfeSpectrum").await?;
    let csv = found.map(|p| p.map(|p| format!("{}_peaks.csv", p.strip_suffix(".html").unwrap_or(&p))));
    send(&state, &headers, csv, "File not found", Disposition::Inline).await
}
