//! Proteins: `GET /proteins` and `GET /proteins/{proteinId}`.

use axum::Json;
use axum::extract::State;
use ispyb_db::proteins::{self, ProteinFilter, ProteinOrderBy, ProteinRow, SortOrder};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, ApiQuery, PageParams};

/// Schemas the query parameters refer to (utoipa does not collect them from parameters).
#[derive(utoipa::OpenApi)]
#[openapi(components(schemas(ProteinOrderBy, SortOrder)))]
struct ProteinSchemas;

/// Protein routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(<ProteinSchemas as utoipa::OpenApi>::openapi())
        .routes(routes!(get_proteins))
        .routes(routes!(get_protein))
}

/// Filters of `GET /proteins`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProteinQuery {
    /// One protein.
    #[serde(rename = "proteinId")]
    #[param(rename = "proteinId", maximum = 4294967295_u64)]
    pub protein_id: Option<u32>,
    /// Proposal name, e.g. `MX1` (an unknown name matches nothing).
    #[param(pattern = r"^(\w|-)+\d+$")]
    pub proposal: Option<String>,
    /// Text in the name or the acronym.
    pub search: Option<String>,
    /// Sort key (`proteinId` when not given).
    pub order_by: Option<ProteinOrderBy>,
    /// Sort direction (ascending when not given).
    pub order: Option<SortOrder>,
    /// Rows to skip.
    #[param(minimum = 0, maximum = 2147483647, default = 0)]
    pub skip: Option<u64>,
    /// Rows to return.
    #[param(minimum = 1, maximum = 1000, default = 25)]
    pub limit: Option<u64>,
}

/// Path of one protein.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ProteinPath {
    /// `Protein.proteinId`.
    #[serde(rename = "proteinId")]
    #[param(rename = "proteinId", maximum = 4294967295_u64)]
    pub protein_id: u32,
}

/// Lists the proteins of the proposals the caller may see, with sample and data counts.
#[utoipa::path(get, path = "/proteins", tag = "Proteins", operation_id = "get_proteins",
    params(ProteinQuery), responses((status = 200, body = ispyb_db::Paged<ProteinRow>)), security(("HTTPBearer" = [])))]
pub async fn get_proteins(
    user: CurrentUser,
    State(state): State<AppState>,
    PageParams(page): PageParams,
    ApiQuery(query): ApiQuery<ProteinQuery>,
) -> ApiResult<Json<ispyb_db::Paged<ProteinRow>>> {
    crate::routes::check_proposal_name(query.proposal.as_deref())?;
    let options = state.options(false).await?;
    let filter = ProteinFilter {
        protein_id: query.protein_id,
        proposal: query.proposal,
        search: query.search.filter(|s| !s.is_empty()),
        order_by: query.order_by,
        order: query.order,
    };
    Ok(Json(proteins::list(&state.db, &user.access(&options), &filter, page).await?))
}

/// One protein; 404 when it does not exist or the caller may not see it.
#[utoipa::path(get, path = "/proteins/{proteinId}", tag = "Proteins", operation_id = "get_protein",
    params(ProteinPath), responses((status = 200, body = ProteinRow)), security(("HTTPBearer" = [])))]
pub async fn get_protein(
    user: CurrentUser,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<ProteinPath>,
) -> ApiResult<Json<ProteinRow>> {
    let options = state.options(false).await?;
    let row = proteins::find(&state.db, &user.access(&options), path.protein_id)
        .await?
        .ok_or_else(|| ApiError::not_found("Protein"))?;
    Ok(Json(row))
}
