//! MX result lists: auto-processing views and attachment lists, energy scans, XRF spectra and
//! workflow steps.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{LegacyCaller, PROPOSAL_DOC, TOKEN_DOC, ids};
use crate::AppState;
use crate::error::ApiResult;
use crate::extract::ApiPath;

/// MX result routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(autoproc_view))
        .routes(routes!(attachment_list))
        .routes(routes!(energy_scans))
        .routes(routes!(xrf_spectra))
        .routes(routes!(workflow_steps))
}

/// `{proposal}` and `{dataCollectionId}` (a comma-separated list).
#[derive(Debug, Deserialize)]
pub struct CollectionsPath {
    /// Name or id.
    pub proposal: String,
    /// Data collection ids.
    #[serde(rename = "dataCollectionId")]
    pub data_collection_id: String,
}

/// Java's auto-processing view: for each collection id, the list of its integrations (with
/// scaling statistics as comma lists), an array of arrays in the order of the ids.
#[utoipa::path(get, path = "/{token}/proposal/{proposal}/mx/autoprocintegration/datacollection/{dataCollectionId}/view",
    tag = "Legacy (Java ISPyB)", operation_id = "legacy_autoproc_view",
    params(("token" = String, Path, description = TOKEN_DOC), ("proposal" = String, Path, description = PROPOSAL_DOC),
        ("dataCollectionId" = String, Path, description = "Data collection ids, comma-separated")),
    responses((status = 200, body = Vec<Vec<Object>>), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody)))]
pub async fn autoproc_view(
    caller: LegacyCaller,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<CollectionsPath>,
) -> ApiResult<Json<Value>> {
    let id = caller.proposal(&state, &path.proposal).await?;
    let dcs = ids(&path.data_collection_id, "dataCollectionId")?;
    let lists =
        ispyb_db::legacy::scans::autoproc_view(&state.db, &caller.access, id, &dcs, caller.mount.dates()).await?;
    Ok(caller.mount.lists(lists))
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

/// The attachments of these auto-processing programs (of collections of the proposal), one
/// list per program id.
#[utoipa::path(get, path = "/{token}/proposal/{proposal}/mx/autoprocintegration/attachment/autoprocprogramid/{autoProcProgramId}/list",
    tag = "Legacy (Java ISPyB)", operation_id = "legacy_autoproc_attachments",
    params(("token" = String, Path, description = TOKEN_DOC), ("proposal" = String, Path, description = PROPOSAL_DOC),
        ("autoProcProgramId" = String, Path, description = "Program ids, comma-separated")),
    responses((status = 200, body = Vec<Vec<Object>>), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody)))]
pub async fn attachment_list(
    caller: LegacyCaller,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<ProgramsPath>,
) -> ApiResult<Json<Value>> {
    let id = caller.proposal(&state, &path.proposal).await?;
    let programs = ids(&path.auto_proc_program_id, "autoProcProgramId")?;
    let lists =
        ispyb_db::legacy::files::attachments(&state.db, &caller.access, id, &programs, caller.mount.dates()).await?;
    Ok(caller.mount.lists(lists))
}

/// `{proposal}` and `{sessionId}` (a comma-separated list).
#[derive(Debug, Deserialize)]
pub struct SessionsPath {
    /// Name or id.
    pub proposal: String,
    /// Session ids.
    #[serde(rename = "sessionId")]
    pub session_id: String,
}

/// Energy scans of these sessions of the proposal (`v_energyScan` rows), newest first.
#[utoipa::path(get, path = "/{token}/proposal/{proposal}/mx/energyscan/session/{sessionId}/list",
    tag = "Legacy (Java ISPyB)", operation_id = "legacy_energy_scans",
    params(("token" = String, Path, description = TOKEN_DOC), ("proposal" = String, Path, description = PROPOSAL_DOC),
        ("sessionId" = String, Path, description = "Session ids, comma-separated")),
    responses((status = 200, body = Vec<Object>), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody)))]
pub async fn energy_scans(
    caller: LegacyCaller,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<SessionsPath>,
) -> ApiResult<Json<Value>> {
    let id = caller.proposal(&state, &path.proposal).await?;
    let sessions = ids(&path.session_id, "sessionId")?;
    let rows =
        ispyb_db::legacy::scans::energy_scans(&state.db, &caller.access, id, &sessions, caller.mount.dates()).await?;
    Ok(caller.mount.rows(rows, false))
}

/// XRF spectra of these sessions of the proposal (`v_xfeFluorescenceSpectrum` rows), newest
/// first.
#[utoipa::path(get, path = "/{token}/proposal/{proposal}/mx/xrfscan/session/{sessionId}/list",
    tag = "Legacy (Java ISPyB)", operation_id = "legacy_xrf_spectra",
    params(("token" = String, Path, description = TOKEN_DOC), ("proposal" = String, Path, description = PROPOSAL_DOC),
        ("sessionId" = String, Path, description = "Session ids, comma-separated")),
    responses((status = 200, body = Vec<Object>), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody)))]
pub async fn xrf_spectra(
    caller: LegacyCaller,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<SessionsPath>,
) -> ApiResult<Json<Value>> {
    let id = caller.proposal(&state, &path.proposal).await?;
    let sessions = ids(&path.session_id, "sessionId")?;
    let rows =
        ispyb_db::legacy::scans::xrf_spectra(&state.db, &caller.access, id, &sessions, caller.mount.dates()).await?;
    Ok(caller.mount.rows(rows, false))
}

/// `{proposal}` and `{workflowStepId}` (a comma-separated list).
#[derive(Debug, Deserialize)]
pub struct StepsPath {
    /// Name or id.
    pub proposal: String,
    /// Workflow step ids.
    #[serde(rename = "workflowStepId")]
    pub workflow_step_id: String,
}

/// These workflow steps (of workflows of the proposal), with `WorkflowStep3VO`'s fields.
#[utoipa::path(get, path = "/{token}/proposal/{proposal}/mx/workflow/step/{workflowStepId}/list",
    tag = "Legacy (Java ISPyB)", operation_id = "legacy_workflow_steps",
    params(("token" = String, Path, description = TOKEN_DOC), ("proposal" = String, Path, description = PROPOSAL_DOC),
        ("workflowStepId" = String, Path, description = "Workflow step ids, comma-separated")),
    responses((status = 200, body = Vec<Object>), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody)))]
pub async fn workflow_steps(
    caller: LegacyCaller,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<StepsPath>,
) -> ApiResult<Json<Value>> {
    let id = caller.proposal(&state, &path.proposal).await?;
    let steps = ids(&path.workflow_step_id, "workflowStepId")?;
    let rows =
        ispyb_db::legacy::files::workflow_steps(&state.db, &caller.access, id, &steps, caller.mount.dates()).await?;
    Ok(caller.mount.rows(rows, false))
}
