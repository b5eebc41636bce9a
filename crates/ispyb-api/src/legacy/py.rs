//! py-ISPyB's header-token twins of its legacy routes (`{API_ROOT}/legacy/proposals`, …): the
//! same answers as the token-in-path routes, with `Authorization: Bearer` (or `?onetime=`).

use axum::Json;
use axum::extract::State;
use ispyb_db::legacy::collections::GroupsBy;
use ispyb_db::legacy::sessions::SessionQuery;
use serde::Deserialize;
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::sessions::{parse_day, run};
use super::{LegacyCaller, PROPOSAL_DOC};
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiPath;

/// py-ISPyB's header-token legacy routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_proposals))
        .routes(routes!(get_proposal))
        .routes(routes!(get_sessions))
        .routes(routes!(get_sessions_by_date))
        .routes(routes!(get_sessions_by_proposal))
        .routes(routes!(get_data_collection_groups))
}

/// `{proposal_id}`.
#[derive(Debug, Deserialize)]
pub struct ProposalIdPath {
    /// Name or id.
    pub proposal_id: String,
}

/// `{start_date}` and `{end_date}`.
#[derive(Debug, Deserialize)]
pub struct DatesPath {
    /// First day.
    pub start_date: String,
    /// Last day, included.
    pub end_date: String,
}

/// `{session_id}`.
#[derive(Debug, Deserialize)]
pub struct SessionIdPath {
    /// Session id.
    pub session_id: u32,
}

/// The proposals the caller may see, with Java's six `Proposal_*` keys.
#[utoipa::path(get, path = "/proposals", tag = "Legacy (Java ISPyB)", operation_id = "get_legacy_proposals",
    responses((status = 200, body = Vec<Object>)), security(("HTTPBearer" = [])))]
pub async fn get_proposals(caller: LegacyCaller, State(state): State<AppState>) -> ApiResult<Json<Value>> {
    super::proposals::proposal_list(caller, State(state)).await
}

/// One visible proposal: `{"proposal": <Proposal row>}`.
#[utoipa::path(get, path = "/proposals/{proposal_id}", tag = "Legacy (Java ISPyB)", operation_id = "get_legacy_proposal",
    params(("proposal_id" = String, Path, description = PROPOSAL_DOC)),
    responses((status = 200, body = Object)), security(("HTTPBearer" = [])))]
pub async fn get_proposal(
    caller: LegacyCaller,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<ProposalIdPath>,
) -> ApiResult<Json<Value>> {
    let id = caller.proposal(&state, &path.proposal_id).await?;
    super::proposals::info(&state, caller.mount, id).await
}

/// Every session the caller may see (`v_session` rows with Java's counts).
#[utoipa::path(get, path = "/sessions", tag = "Legacy (Java ISPyB)", operation_id = "get_legacy_sessions",
    responses((status = 200, body = Vec<Object>)), security(("HTTPBearer" = [])))]
pub async fn get_sessions(caller: LegacyCaller, State(state): State<AppState>) -> ApiResult<Json<Value>> {
    run(&state, &caller, SessionQuery::default(), false, false).await
}

/// Visible sessions overlapping `[start_date, end_date]`, newest first.
#[utoipa::path(get, path = "/sessions/date/{start_date}/{end_date}", tag = "Legacy (Java ISPyB)",
    operation_id = "get_legacy_sessions_by_date",
    params(("start_date" = String, Path, description = "First day, YYYYMMDD"),
        ("end_date" = String, Path, description = "Last day (included), YYYYMMDD")),
    responses((status = 200, body = Vec<Object>)), security(("HTTPBearer" = [])))]
pub async fn get_sessions_by_date(
    caller: LegacyCaller,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<DatesPath>,
) -> ApiResult<Json<Value>> {
    let dates = (parse_day(&path.start_date, "start_date")?, parse_day(&path.end_date, "end_date")?);
    run(&state, &caller, SessionQuery { dates: Some(dates), ..Default::default() }, false, true).await
}

/// The visible sessions of a visible proposal.
#[utoipa::path(get, path = "/sessions/proposal/{proposal_id}", tag = "Legacy (Java ISPyB)",
    operation_id = "get_legacy_sessions_by_proposal",
    params(("proposal_id" = String, Path, description = PROPOSAL_DOC)),
    responses((status = 200, body = Vec<Object>)), security(("HTTPBearer" = [])))]
pub async fn get_sessions_by_proposal(
    caller: LegacyCaller,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<ProposalIdPath>,
) -> ApiResult<Json<Value>> {
    let id = caller.proposal(&state, &path.proposal_id).await?;
    run(&state, &caller, SessionQuery { proposal_id: Some(id), ..Default::default() }, false, false).await
}

/// Java's DC-group rows of a visible session (py-ISPyB always answered 500 here).
#[utoipa::path(get, path = "/data_collections/groups/session/{session_id}", tag = "Legacy (Java ISPyB)",
    operation_id = "get_legacy_data_collection_groups",
    params(("session_id" = u32, Path, description = "Session id")),
    responses((status = 200, body = Vec<Object>)), security(("HTTPBearer" = [])))]
pub async fn get_data_collection_groups(
    caller: LegacyCaller,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<SessionIdPath>,
) -> ApiResult<Json<Value>> {
    let Some(proposal_id) =
        ispyb_db::legacy::visible_session_proposal(&state.db, &caller.access, path.session_id).await?
    else {
        return Err(ApiError::NotFound("Session not found".into()));
    };
    let by = GroupsBy::Sessions(vec![path.session_id]);
    let rows = ispyb_db::legacy::collections::groups(&state.db, &caller.access, proposal_id, &by, caller.mount.dates())
        .await?;
    Ok(caller.mount.rows(rows, true))
}
