//! Session routes: all of the caller's sessions, a proposal's, one session, a date range (of a
//! proposal, or of every visible proposal for managers' calendars) and a beamline operator's.
//! Every row is a `v_session` row with Java's 13 counts.

use axum::Json;
use axum::extract::State;
use chrono::NaiveDate;
use ispyb_db::legacy::sessions::SessionQuery;
use serde::Deserialize;
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{LegacyCaller, Mount, PROPOSAL_DOC, TOKEN_DOC};
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiPath;

/// Session routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(all_sessions))
        .routes(routes!(proposal_sessions))
        .routes(routes!(one_session))
        .routes(routes!(proposal_sessions_by_date))
        .routes(routes!(sessions_by_date))
        .routes(routes!(sessions_by_operator))
}

/// `{proposal}` and `{sessionId}`.
#[derive(Debug, Deserialize)]
pub struct ProposalSessionPath {
    /// Name or id.
    pub proposal: String,
    /// Session id.
    #[serde(rename = "sessionId")]
    pub session_id: u32,
}

/// `{startdate}` and `{enddate}`, plus `{proposal}` where the path has one.
#[derive(Debug, Deserialize)]
pub struct DatePath {
    /// Name or id.
    pub proposal: Option<String>,
    /// First day, `YYYYMMDD` (or `YYYY-MM-DD`).
    pub startdate: String,
    /// Last day, included.
    pub enddate: String,
}

/// `{operator}`.
#[derive(Debug, Deserialize)]
pub struct OperatorPath {
    /// Text the beamline operator's name contains.
    pub operator: String,
}

/// A day of a path: `20170512` or `2017-05-12`; 422 otherwise.
pub fn parse_day(text: &str, name: &str) -> ApiResult<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y%m%d")
        .or_else(|_| NaiveDate::parse_from_str(text, "%Y-%m-%d"))
        .map_err(|_| ApiError::invalid(&["path", name], "expected a date as YYYYMMDD", "value_error.date"))
}

/// Runs a session query with the mount's order and dates.
pub async fn run(
    state: &AppState,
    caller: &LegacyCaller,
    mut query: SessionQuery,
    drop_nulls: bool,
    py_order_desc: bool,
) -> ApiResult<Json<Value>> {
    // Java sorted every session list newest first; py-ISPyB only its date lists.
    query.newest_first = caller.mount == Mount::Java || py_order_desc;
    let rows = ispyb_db::legacy::sessions::list(&state.db, &caller.access, &query, caller.mount.dates()).await?;
    Ok(caller.mount.rows(rows, drop_nulls))
}

/// Every session the caller may see, on every proposal.
#[utoipa::path(get, path = "/{token}/session/list", tag = "Legacy (Java ISPyB)", operation_id = "legacy_session_list",
    params(("token" = String, Path, description = TOKEN_DOC)),
    responses((status = 200, body = Vec<Object>), (status = 401, body = crate::error::ErrorBody)))]
pub async fn all_sessions(caller: LegacyCaller, State(state): State<AppState>) -> ApiResult<Json<Value>> {
    run(&state, &caller, SessionQuery::default(), false, false).await
}

/// The sessions of a proposal the caller may see (Java dropped null keys here).
#[utoipa::path(get, path = "/{token}/proposal/{proposal}/session/list", tag = "Legacy (Java ISPyB)",
    operation_id = "legacy_proposal_session_list",
    params(("token" = String, Path, description = TOKEN_DOC), ("proposal" = String, Path, description = PROPOSAL_DOC)),
    responses((status = 200, body = Vec<Object>), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody)))]
pub async fn proposal_sessions(
    caller: LegacyCaller,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<super::proposals::ProposalPath>,
) -> ApiResult<Json<Value>> {
    let id = caller.proposal(&state, &path.proposal).await?;
    run(&state, &caller, SessionQuery { proposal_id: Some(id), ..Default::default() }, true, false).await
}

/// One session of the proposal, as a list (empty when it is not there or not visible).
#[utoipa::path(get, path = "/{token}/proposal/{proposal}/session/sessionId/{sessionId}/list", tag = "Legacy (Java ISPyB)",
    operation_id = "legacy_proposal_session",
    params(("token" = String, Path, description = TOKEN_DOC), ("proposal" = String, Path, description = PROPOSAL_DOC),
        ("sessionId" = u32, Path, description = "Session id")),
    responses((status = 200, body = Vec<Object>), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody)))]
pub async fn one_session(
    caller: LegacyCaller,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<ProposalSessionPath>,
) -> ApiResult<Json<Value>> {
    let id = caller.proposal(&state, &path.proposal).await?;
    let query = SessionQuery { proposal_id: Some(id), session_id: Some(path.session_id), ..Default::default() };
    run(&state, &caller, query, false, false).await
}

/// Sessions of the proposal overlapping `[startdate, enddate]`.
#[utoipa::path(get, path = "/{token}/proposal/{proposal}/session/date/{startdate}/{enddate}/list", tag = "Legacy (Java ISPyB)",
    operation_id = "legacy_proposal_session_dates",
    params(("token" = String, Path, description = TOKEN_DOC), ("proposal" = String, Path, description = PROPOSAL_DOC),
        ("startdate" = String, Path, description = "First day, YYYYMMDD"),
        ("enddate" = String, Path, description = "Last day (included), YYYYMMDD")),
    responses((status = 200, body = Vec<Object>), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody)))]
pub async fn proposal_sessions_by_date(
    caller: LegacyCaller,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<DatePath>,
) -> ApiResult<Json<Value>> {
    let id = caller.proposal(&state, path.proposal.as_deref().unwrap_or_default()).await?;
    let dates = (parse_day(&path.startdate, "startdate")?, parse_day(&path.enddate, "enddate")?);
    let query = SessionQuery { proposal_id: Some(id), dates: Some(dates), ..Default::default() };
    run(&state, &caller, query, false, true).await
}

/// Every visible session overlapping `[startdate, enddate]`: a manager's calendar (Java
/// allowed managers and local contacts only; here anyone, each seeing the sessions they may
/// see).
#[utoipa::path(get, path = "/{token}/proposal/session/date/{startdate}/{enddate}/list", tag = "Legacy (Java ISPyB)",
    operation_id = "legacy_session_dates",
    params(("token" = String, Path, description = TOKEN_DOC),
        ("startdate" = String, Path, description = "First day, YYYYMMDD"),
        ("enddate" = String, Path, description = "Last day (included), YYYYMMDD")),
    responses((status = 200, body = Vec<Object>), (status = 401, body = crate::error::ErrorBody)))]
pub async fn sessions_by_date(
    caller: LegacyCaller,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<DatePath>,
) -> ApiResult<Json<Value>> {
    let dates = (parse_day(&path.startdate, "startdate")?, parse_day(&path.enddate, "enddate")?);
    run(&state, &caller, SessionQuery { dates: Some(dates), ..Default::default() }, false, true).await
}

/// Visible sessions whose beamline operator's name contains the text (literally).
#[utoipa::path(get, path = "/{token}/proposal/session/beamlineoperator/{operator}/list", tag = "Legacy (Java ISPyB)",
    operation_id = "legacy_session_operator",
    params(("token" = String, Path, description = TOKEN_DOC), ("operator" = String, Path, description = "Part of the operator's name")),
    responses((status = 200, body = Vec<Object>), (status = 401, body = crate::error::ErrorBody)))]
pub async fn sessions_by_operator(
    caller: LegacyCaller,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<OperatorPath>,
) -> ApiResult<Json<Value>> {
    if path.operator.trim().is_empty() {
        return Err(ApiError::invalid(&["path", "operator"], "empty name", "value_error.any_str.min_length"));
    }
    run(&state, &caller, SessionQuery { operator: Some(path.operator), ..Default::default() }, false, true).await
}
