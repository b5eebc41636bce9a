//! Proposal routes: `/{token}/proposal/list`, `~/info/get` and
//! `/{token}/proposal/session/{sessionId}/list`.

use axum::Json;
use axum::extract::State;
use ispyb_db::legacy::collections::GroupsBy;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{LegacyCaller, Mount, PROPOSAL_DOC, TOKEN_DOC};
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiPath;

/// Proposal routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(proposal_list)).routes(routes!(proposal_info)).routes(routes!(session_proposal))
}

/// `{proposal}`.
#[derive(Debug, Deserialize)]
pub struct ProposalPath {
    /// Name or id.
    pub proposal: String,
}

/// `{sessionId}`.
#[derive(Debug, Deserialize)]
pub struct SessionPath {
    /// Session id.
    #[serde(rename = "sessionId")]
    pub session_id: u32,
}

/// The proposals the caller may see (every proposal with `all_proposals`), with Java's six
/// `Proposal_*` keys.
#[utoipa::path(get, path = "/{token}/proposal/list", tag = "Legacy (Java ISPyB)", operation_id = "legacy_proposal_list",
    params(("token" = String, Path, description = TOKEN_DOC)),
    responses((status = 200, body = Vec<Object>), (status = 401, body = crate::error::ErrorBody)))]
pub async fn proposal_list(caller: LegacyCaller, State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let rows = ispyb_db::legacy::proposals::list(&state.db, &caller.access).await?;
    Ok(caller.mount.rows(rows, false))
}

/// Java's proposal bundle: an array with one object holding `proposal`, `proteins`,
/// `crystals` and `labcontacts` (Java's value-object field names). On py-ISPyB's mount, py-ISPyB's
/// shape instead: `{"proposal": <Proposal row>}`.
#[utoipa::path(get, path = "/{token}/proposal/{proposal}/info/get", tag = "Legacy (Java ISPyB)",
    operation_id = "legacy_proposal_info",
    params(("token" = String, Path, description = TOKEN_DOC), ("proposal" = String, Path, description = PROPOSAL_DOC)),
    responses((status = 200, body = Object), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody)))]
pub async fn proposal_info(
    caller: LegacyCaller,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<ProposalPath>,
) -> ApiResult<Json<Value>> {
    let id = caller.proposal(&state, &path.proposal).await?;
    info(&state, caller.mount, id).await
}

/// The info answer of a visible proposal in the mount's shape.
pub async fn info(state: &AppState, mount: Mount, proposal_id: u32) -> ApiResult<Json<Value>> {
    match mount {
        Mount::Java => Ok(Json(ispyb_db::legacy::proposals::info(&state.db, proposal_id, mount.dates()).await?)),
        Mount::Py => {
            let row = ispyb_db::legacy::proposals::row(&state.db, proposal_id).await?;
            Ok(Json(json!({ "proposal": row })))
        }
    }
}

/// Java: the proposal of a session, as a one-element array with the six `Proposal_*` keys
/// (EXI's EM pages read it); 404 when the session is not visible. py-ISPyB's mount answers
/// what py-ISPyB meant this path to answer: the session's data collection groups.
#[utoipa::path(get, path = "/{token}/proposal/session/{sessionId}/list", tag = "Legacy (Java ISPyB)",
    operation_id = "legacy_session_proposal",
    params(("token" = String, Path, description = TOKEN_DOC), ("sessionId" = u32, Path, description = "Session id")),
    responses((status = 200, body = Vec<Object>), (status = 401, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody)))]
pub async fn session_proposal(
    caller: LegacyCaller,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<SessionPath>,
) -> ApiResult<Json<Value>> {
    let Some(proposal_id) =
        ispyb_db::legacy::visible_session_proposal(&state.db, &caller.access, path.session_id).await?
    else {
        return Err(ApiError::NotFound("Session not found".into()));
    };
    match caller.mount {
        Mount::Java => {
            let rows = ispyb_db::legacy::proposals::of_session(&state.db, &caller.access, path.session_id).await?;
            Ok(caller.mount.rows(rows, false))
        }
        Mount::Py => {
            let by = GroupsBy::Sessions(vec![path.session_id]);
            let rows = ispyb_db::legacy::collections::groups(
                &state.db,
                &caller.access,
                proposal_id,
                &by,
                caller.mount.dates(),
            )
            .await?;
            Ok(caller.mount.rows(rows, true))
        }
    }
}
