//! MX data collection lists (by sessions, by collections, by groups) and the three comment
//! writes.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use ispyb_db::legacy::collections::GroupsBy;
use ispyb_db::legacy::files::CommentOn;
use serde::Deserialize;
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{LegacyCaller, PROPOSAL_DOC, TOKEN_DOC, ids};
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiPath;

/// Data collection routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(groups_by_sessions))
        .routes(routes!(groups_by_collections))
        .routes(routes!(collections_by_groups))
        .routes(routes!(save_session_comments))
        .routes(routes!(save_collection_comments))
        .routes(routes!(save_group_comments))
}

/// `{proposal}` and `{sessionId}`, a session id or a comma-separated list of them.
#[derive(Debug, Deserialize)]
pub struct SessionsPath {
    /// Name or id.
    pub proposal: String,
    /// Session ids.
    #[serde(rename = "sessionId")]
    pub session_id: String,
}

/// `{proposal}` and `{dataCollectionId}`, an id or a comma-separated list of them.
#[derive(Debug, Deserialize)]
pub struct CollectionsPath {
    /// Name or id.
    pub proposal: String,
    /// Data collection ids.
    #[serde(rename = "dataCollectionId")]
    pub data_collection_id: String,
}

/// `{proposal}` and `{dataCollectionGroupId}`, an id or a comma-separated list of them.
#[derive(Debug, Deserialize)]
pub struct GroupsPath {
    /// Name or id.
    pub proposal: String,
    /// Data collection group ids.
    #[serde(rename = "dataCollectionGroupId")]
    pub data_collection_group_id: String,
}

/// Java's DC-group rows of these sessions of the proposal: one per data collection group,
/// with its latest collection, auto-processing, screening, workflow and the group's lists;
/// newest first within each session (null keys dropped on Java's mount, as Java did).
#[utoipa::path(get, path = "/{token}/proposal/{proposal}/mx/datacollection/session/{sessionId}/list",
    tag = "Legacy (Java ISPyB)", operation_id = "legacy_dc_groups_by_sessions",
    params(("token" = String, Path, description = TOKEN_DOC), ("proposal" = String, Path, description = PROPOSAL_DOC),
        ("sessionId" = String, Path, description = "Session ids, comma-separated")),
    responses((status = 200, body = Vec<Object>), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody)))]
pub async fn groups_by_sessions(
    caller: LegacyCaller,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<SessionsPath>,
) -> ApiResult<Json<Value>> {
    let id = caller.proposal(&state, &path.proposal).await?;
    let by = GroupsBy::Sessions(ids(&path.session_id, "sessionId")?);
    let rows = ispyb_db::legacy::collections::groups(&state.db, &caller.access, id, &by, caller.mount.dates()).await?;
    Ok(caller.mount.rows(rows, true))
}

/// Java's DC-group rows of these collections of the proposal, in the given order, each with
/// that collection's values (Java found a collection only if it was the latest of its group).
#[utoipa::path(get, path = "/{token}/proposal/{proposal}/mx/datacollection/{dataCollectionId}/list",
    tag = "Legacy (Java ISPyB)", operation_id = "legacy_dc_groups_by_collections",
    params(("token" = String, Path, description = TOKEN_DOC), ("proposal" = String, Path, description = PROPOSAL_DOC),
        ("dataCollectionId" = String, Path, description = "Data collection ids, comma-separated")),
    responses((status = 200, body = Vec<Object>), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody)))]
pub async fn groups_by_collections(
    caller: LegacyCaller,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<CollectionsPath>,
) -> ApiResult<Json<Value>> {
    let id = caller.proposal(&state, &path.proposal).await?;
    let by = GroupsBy::DataCollections(ids(&path.data_collection_id, "dataCollectionId")?);
    let rows = ispyb_db::legacy::collections::groups(&state.db, &caller.access, id, &by, caller.mount.dates()).await?;
    Ok(caller.mount.rows(rows, true))
}

/// Java's DC rows (`v_datacollection` with auto-processing lists, phasing and mesh values):
/// every collection of these groups of the proposal.
#[utoipa::path(get, path = "/{token}/proposal/{proposal}/mx/datacollection/datacollectiongroupid/{dataCollectionGroupId}/list",
    tag = "Legacy (Java ISPyB)", operation_id = "legacy_dcs_by_groups",
    params(("token" = String, Path, description = TOKEN_DOC), ("proposal" = String, Path, description = PROPOSAL_DOC),
        ("dataCollectionGroupId" = String, Path, description = "Data collection group ids, comma-separated")),
    responses((status = 200, body = Vec<Object>), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody)))]
pub async fn collections_by_groups(
    caller: LegacyCaller,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<GroupsPath>,
) -> ApiResult<Json<Value>> {
    let id = caller.proposal(&state, &path.proposal).await?;
    let groups = ids(&path.data_collection_group_id, "dataCollectionGroupId")?;
    let rows =
        ispyb_db::legacy::collections::by_groups(&state.db, &caller.access, id, &groups, caller.mount.dates()).await?;
    Ok(caller.mount.rows(rows, true))
}

/// `{proposal}` and one id of the object commented.
#[derive(Debug, Deserialize)]
pub struct CommentPath {
    /// Name or id.
    pub proposal: String,
    /// Session id (session comments).
    #[serde(rename = "sessionId")]
    pub session_id: Option<u32>,
    /// Data collection id (collection comments).
    #[serde(rename = "dataCollectionId")]
    pub data_collection_id: Option<u32>,
    /// Group id (group comments).
    #[serde(rename = "dataCollectionGroupId")]
    pub data_collection_group_id: Option<u32>,
}

/// Form of the comment writes.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CommentForm {
    /// The new comment (replaces the old one).
    pub comments: String,
}

async fn save(
    state: &AppState,
    caller: &LegacyCaller,
    proposal: &str,
    on: CommentOn,
    id: Option<u32>,
    body: &Bytes,
) -> ApiResult<Json<bool>> {
    let proposal_id = caller.proposal(state, proposal).await?;
    let Some(id) = id else { return Err(ApiError::invalid(&["path"], "missing id", "value_error.missing")) };
    let comments = url::form_urlencoded::parse(body)
        .find(|(k, _)| k == "comments")
        .map(|(_, v)| v.into_owned())
        .ok_or_else(|| ApiError::invalid(&["body", "comments"], "field required", "value_error.missing"))?;
    if comments.chars().count() > on.max_len() {
        return Err(ApiError::invalid(
            &["body", "comments"],
            format!("ensure this value has at most {} characters", on.max_len()),
            "value_error.any_str.max_length",
        ));
    }
    if !ispyb_db::legacy::files::save_comments(&state.db, &caller.access, proposal_id, on, id, &comments).await? {
        return Err(ApiError::NotFound("Not found".into()));
    }
    tracing::info!(login = %caller.login, ?on, id, "legacy comment saved");
    Ok(Json(true))
}

/// Replaces a session's comments (form field `comments`); answers `true`.
#[utoipa::path(post, path = "/{token}/proposal/{proposal}/mx/session/{sessionId}/comments/save", tag = "Legacy (Java ISPyB)",
    operation_id = "legacy_save_session_comments",
    params(("token" = String, Path, description = TOKEN_DOC), ("proposal" = String, Path, description = PROPOSAL_DOC),
        ("sessionId" = u32, Path, description = "Session id")),
    request_body(content = CommentForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, body = bool), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn save_session_comments(
    caller: LegacyCaller,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<CommentPath>,
    body: Bytes,
) -> ApiResult<Json<bool>> {
    save(&state, &caller, &path.proposal, CommentOn::Session, path.session_id, &body).await
}

/// Replaces a data collection's comments (form field `comments`); answers `true`.
#[utoipa::path(post, path = "/{token}/proposal/{proposal}/mx/datacollection/{dataCollectionId}/comments/save",
    tag = "Legacy (Java ISPyB)", operation_id = "legacy_save_dc_comments",
    params(("token" = String, Path, description = TOKEN_DOC), ("proposal" = String, Path, description = PROPOSAL_DOC),
        ("dataCollectionId" = u32, Path, description = "Data collection id")),
    request_body(content = CommentForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, body = bool), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn save_collection_comments(
    caller: LegacyCaller,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<CommentPath>,
    body: Bytes,
) -> ApiResult<Json<bool>> {
    save(&state, &caller, &path.proposal, CommentOn::DataCollection, path.data_collection_id, &body).await
}

/// Replaces a data collection group's comments (form field `comments`); answers `true`.
#[utoipa::path(post, path = "/{token}/proposal/{proposal}/mx/datacollectiongroup/{dataCollectionGroupId}/comments/save",
    tag = "Legacy (Java ISPyB)", operation_id = "legacy_save_dcg_comments",
    params(("token" = String, Path, description = TOKEN_DOC), ("proposal" = String, Path, description = PROPOSAL_DOC),
        ("dataCollectionGroupId" = u32, Path, description = "Data collection group id")),
    request_body(content = CommentForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, body = bool), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn save_group_comments(
    caller: LegacyCaller,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<CommentPath>,
    body: Bytes,
) -> ApiResult<Json<bool>> {
    save(&state, &caller, &path.proposal, CommentOn::DataCollectionGroup, path.data_collection_group_id, &body).await
}
