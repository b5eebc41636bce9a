//! Phasing: Java's lists by integration, collection, group, sample, protein, session or step
//! (an array per id), a step's files, a zip of a step's files and single attachments.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use ispyb_db::legacy::phasing::{self as db_phasing, PhasingBy};
use serde::Deserialize;
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::files::{Disposition, send, zip};
use super::{LegacyCaller, PROPOSAL_DOC, TOKEN_DOC, ids};
use crate::AppState;
use crate::error::ApiResult;
use crate::extract::ApiPath;

/// Phasing routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(by_integrations))
        .routes(routes!(by_collections))
        .routes(routes!(by_groups))
        .routes(routes!(by_samples))
        .routes(routes!(by_proteins))
        .routes(routes!(by_sessions))
        .routes(routes!(by_steps))
        .routes(routes!(step_files))
        .routes(routes!(steps_zip))
        .routes(routes!(attachment_image))
        .routes(routes!(attachment_download))
        .routes(routes!(attachment_csv))
}

/// `{proposal}` and the id list, whatever its name.
#[derive(Debug, Deserialize)]
pub struct ListPath {
    /// Name or id.
    pub proposal: String,
    /// Ids, comma-separated (the last path parameter).
    #[serde(alias = "autoProcIntegrationId", alias = "dataCollectionId", alias = "dataCollectionGroupId")]
    #[serde(alias = "blSampleId", alias = "proteinId", alias = "sessionId", alias = "phasingStepId")]
    pub ids: String,
}

async fn list(state: &AppState, caller: &LegacyCaller, path: &ListPath, by: PhasingBy) -> ApiResult<Json<Value>> {
    let id = caller.proposal(state, &path.proposal).await?;
    let wanted = ids(&path.ids, "ids")?;
    let lists = db_phasing::list(&state.db, &caller.access, id, by, &wanted, caller.mount.dates()).await?;
    Ok(caller.mount.lists(lists))
}

macro_rules! phasing_list {
    ($name:ident, $path:literal, $param:literal, $op:literal, $by:expr, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(get, path = $path, tag = "Legacy (Java ISPyB)", operation_id = $op,
            params(("token" = String, Path, description = TOKEN_DOC), ("proposal" = String, Path, description = PROPOSAL_DOC),
                ($param = String, Path, description = "Ids, comma-separated")),
            responses((status = 200, body = Vec<Vec<Object>>), (status = 401, body = crate::error::ErrorBody),
                (status = 403, body = crate::error::ErrorBody)))]
        pub async fn $name(
            caller: LegacyCaller,
            State(state): State<AppState>,
            ApiPath(path): ApiPath<ListPath>,
        ) -> ApiResult<Json<Value>> {
            list(&state, &caller, &path, $by).await
        }
    };
}

phasing_list!(
    by_integrations,
    "/{token}/proposal/{proposal}/mx/phasing/autoprocintegrationid/{autoProcIntegrationId}/list",
    "autoProcIntegrationId",
    "legacy_phasing_by_integrations",
    PhasingBy::AutoProcIntegration,
    "Phasing steps of these auto-processing integrations."
);
phasing_list!(
    by_collections,
    "/{token}/proposal/{proposal}/mx/phasing/datacollectionid/{dataCollectionId}/list",
    "dataCollectionId",
    "legacy_phasing_by_collections",
    PhasingBy::DataCollection,
    "Phasing steps of these data collections."
);
phasing_list!(
    by_groups,
    "/{token}/proposal/{proposal}/mx/phasing/datacollectiongroupid/{dataCollectionGroupId}/list",
    "dataCollectionGroupId",
    "legacy_phasing_by_groups",
    PhasingBy::DataCollectionGroup,
    "Phasing steps of the collections of these groups (EXI's and py-ispyb-ui's phasing tab)."
);
phasing_list!(
    by_samples,
    "/{token}/proposal/{proposal}/mx/phasing/sampleid/{blSampleId}/list",
    "blSampleId",
    "legacy_phasing_by_samples",
    PhasingBy::Sample,
    "Phasing steps of the collections of these samples."
);
phasing_list!(
    by_proteins,
    "/{token}/proposal/{proposal}/mx/phasing/proteinid/{proteinId}/list",
    "proteinId",
    "legacy_phasing_by_proteins",
    PhasingBy::Protein,
    "Phasing steps of the collections of these proteins' samples."
);
phasing_list!(
    by_sessions,
    "/{token}/proposal/{proposal}/mx/phasing/sessionid/{sessionId}/list",
    "sessionId",
    "legacy_phasing_by_sessions",
    PhasingBy::Session,
    "Phasing steps of the collections of these sessions."
);
phasing_list!(
    by_steps,
    "/{token}/proposal/{proposal}/mx/phasing/phasingstepid/{phasingStepId}/list",
    "phasingStepId",
    "legacy_phasing_by_steps",
    PhasingBy::PhasingStep,
    "These phasing steps."
);

/// The files of these phasing steps (`v_datacollection_phasing_program_run` rows), an array per
/// step.
#[utoipa::path(get, path = "/{token}/proposal/{proposal}/mx/phasing/phasingstepid/{phasingStepId}/files",
    tag = "Legacy (Java ISPyB)", operation_id = "legacy_phasing_step_files",
    params(("token" = String, Path, description = TOKEN_DOC), ("proposal" = String, Path, description = PROPOSAL_DOC),
        ("phasingStepId" = String, Path, description = "Phasing step ids, comma-separated")),
    responses((status = 200, body = Vec<Vec<Object>>), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody)))]
pub async fn step_files(
    caller: LegacyCaller,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<ListPath>,
) -> ApiResult<Json<Value>> {
    let id = caller.proposal(&state, &path.proposal).await?;
    let steps = ids(&path.ids, "phasingStepId")?;
    let lists = db_phasing::step_files(&state.db, &caller.access, id, &steps, caller.mount.dates()).await?;
    Ok(caller.mount.lists(lists))
}

/// A zip of the files of these phasing steps that exist.
#[utoipa::path(get, path = "/{token}/proposal/{proposal}/mx/phasing/phasingstepid/{phasingStepId}/download",
    tag = "Legacy (Java ISPyB)", operation_id = "legacy_phasing_steps_zip",
    params(("token" = String, Path, description = TOKEN_DOC), ("proposal" = String, Path, description = PROPOSAL_DOC),
        ("phasingStepId" = String, Path, description = "Phasing step ids, comma-separated")),
    responses((status = 200, description = "The zip", content_type = "application/zip"),
        (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
pub async fn steps_zip(
    caller: LegacyCaller,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<ListPath>,
) -> ApiResult<Response> {
    let id = caller.proposal(&state, &path.proposal).await?;
    let steps = ids(&path.ids, "phasingStepId")?;
    let files = db_phasing::step_attachments(&state.db, &caller.access, id, &steps).await?;
    zip(&state, files, &format!("phasing_{}.zip", path.ids.replace(',', "_"))).await
}

/// `{proposal}` and `{phasingProgramAttachmentId}`.
#[derive(Debug, Deserialize)]
pub struct AttachmentPath {
    /// Name or id.
    pub proposal: String,
    /// Attachment id.
    #[serde(rename = "phasingProgramAttachmentId")]
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
    let found = db_phasing::attachment(&state.db, &caller.access, id, path.attachment_id).await?;
    let full = found.map(|(dir, name)| match (dir, name) {
        (Some(dir), Some(name)) => Some(format!("{}/{}", dir.trim_end_matches('/'), name)),
        _ => None,
    });
    send(state, headers, full, "Attachment not found", disposition).await
}

macro_rules! attachment_route {
    ($name:ident, $path:literal, $op:literal, $disposition:expr, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(get, path = $path, tag = "Legacy (Java ISPyB)", operation_id = $op,
            params(("token" = String, Path, description = TOKEN_DOC), ("proposal" = String, Path, description = PROPOSAL_DOC),
                ("phasingProgramAttachmentId" = u32, Path, description = "Attachment id")),
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
    attachment_image,
    "/{token}/proposal/{proposal}/mx/phasing/phasingprogramattachmentid/{phasingProgramAttachmentId}/image",
    "legacy_phasing_attachment_image",
    Disposition::Inline,
    "A phasing program attachment (an image), shown inline."
);
attachment_route!(
    attachment_download,
    "/{token}/proposal/{proposal}/mx/phasing/phasingprogramattachmentid/{phasingProgramAttachmentId}/download",
    "legacy_phasing_attachment_download",
    Disposition::Attachment,
    "A phasing program attachment, as a download."
);
attachment_route!(
    attachment_csv,
    "/{token}/proposal/{proposal}/mx/phasing/phasingprogramattachmentid/{phasingProgramAttachmentId}/csv",
    "legacy_phasing_attachment_csv",
    Disposition::Inline,
    "A phasing program attachment (a CSV), shown inline."
);
