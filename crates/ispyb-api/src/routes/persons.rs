//! Persons: `GET /persons`.

use axum::Json;
use axum::extract::State;
use ispyb_db::persons::{self, PersonFilter, PersonRow};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiQuery, PageParams};

/// Person routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_persons))
}

/// Filters of `GET /persons`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PersonQuery {
    /// Persons on this session, with their role.
    #[serde(rename = "sessionId")]
    #[param(rename = "sessionId", maximum = 4294967295_u64)]
    pub session_id: Option<u32>,
    /// Persons of this proposal (on it, on its sessions, or its lab contacts).
    #[param(pattern = r"^(\w|-)+\d+$")]
    pub proposal: Option<String>,
    /// Everyone with a login (needs `manage_persons`).
    #[serde(rename = "showAll")]
    #[param(rename = "showAll")]
    pub show_all: Option<bool>,
    /// Rows to skip.
    #[param(minimum = 0, maximum = 2147483647, default = 0)]
    pub skip: Option<u64>,
    /// Rows to return.
    #[param(minimum = 1, maximum = 1000, default = 25)]
    pub limit: Option<u64>,
}

/// Lists the persons of the proposals and sessions the caller may see.
#[utoipa::path(get, path = "/persons", tag = "Persons", operation_id = "get_persons",
    params(PersonQuery), responses((status = 200, body = ispyb_db::Paged<PersonRow>)), security(("HTTPBearer" = [])))]
pub async fn get_persons(
    user: CurrentUser,
    State(state): State<AppState>,
    PageParams(page): PageParams,
    ApiQuery(query): ApiQuery<PersonQuery>,
) -> ApiResult<Json<ispyb_db::Paged<PersonRow>>> {
    crate::routes::check_proposal_name(query.proposal.as_deref())?;
    let show_all = query.show_all.unwrap_or(false);
    if show_all && !user.has("manage_persons") {
        return Err(ApiError::Forbidden("Not Authorized".into()));
    }
    let options = state.options(false).await?;
    let filter = PersonFilter { session_id: query.session_id, proposal: query.proposal, show_all };
    Ok(Json(persons::list(&state.db, &user.access(&options), &filter, page).await?))
}
