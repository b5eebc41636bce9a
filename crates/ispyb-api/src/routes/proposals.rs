//! Proposals: `GET /proposals` and `GET /proposals/{proposal}`.

use axum::Json;
use axum::extract::State;
use ispyb_db::proposals::{self, ProposalFilter, ProposalRow};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, ApiQuery, PageParams};

/// Proposal routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_proposals)).routes(routes!(get_proposal))
}

/// Filters of `GET /proposals`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProposalQuery {
    /// Text to look for in the title, the beamline names and the proposal name.
    pub search: Option<String>,
    /// Rows to skip.
    #[param(minimum = 0, maximum = 2147483647, default = 0)]
    pub skip: Option<u64>,
    /// Rows to return (at most the configured maximum, 1000 by default).
    #[param(minimum = 1, maximum = 1000, default = 25)]
    pub limit: Option<u64>,
}

/// Path of one proposal.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ProposalPath {
    /// Proposal name: code and number, e.g. `MX1`.
    pub proposal: String,
}

/// Lists the proposals the caller may see, newest first, with session aggregates.
#[utoipa::path(get, path = "/proposals", tag = "Proposals", operation_id = "get_proposals",
    params(ProposalQuery), responses((status = 200, body = ispyb_db::Paged<ProposalRow>)), security(("HTTPBearer" = [])))]
pub async fn get_proposals(
    user: CurrentUser,
    State(state): State<AppState>,
    PageParams(page): PageParams,
    ApiQuery(query): ApiQuery<ProposalQuery>,
) -> ApiResult<Json<ispyb_db::Paged<ProposalRow>>> {
    let options = state.options(false).await?;
    let filter = ProposalFilter { search: query.search.filter(|s| !s.is_empty()), proposal: None };
    let mut paged = proposals::list(&state.db, &user.access(&options), &filter, page).await?;
    for row in &mut paged.results {
        row.metadata.ui_groups = options.ui_groups_for(&row.metadata.beam_lines.0);
    }
    Ok(Json(paged))
}

/// One proposal by name; 404 when it does not exist or the caller may not see it.
#[utoipa::path(get, path = "/proposals/{proposal}", tag = "Proposals", operation_id = "get_proposal",
    params(ProposalPath), responses((status = 200, body = ProposalRow)), security(("HTTPBearer" = [])))]
pub async fn get_proposal(
    user: CurrentUser,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<ProposalPath>,
) -> ApiResult<Json<ProposalRow>> {
    let options = state.options(false).await?;
    let mut row = proposals::find(&state.db, &user.access(&options), &path.proposal)
        .await?
        .ok_or_else(|| ApiError::not_found("Proposal"))?;
    row.metadata.ui_groups = options.ui_groups_for(&row.metadata.beam_lines.0);
    Ok(Json(row))
}
