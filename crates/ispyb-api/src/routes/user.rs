//! The caller: `GET /user/current`.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult};

/// Routes about the caller.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_current_user))
}

/// The caller as py-ispyb-ui reads it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = CurrentUser)]
pub struct CurrentUserView {
    /// Given name.
    #[serde(rename = "givenName")]
    pub given_name: Option<String>,
    /// Family name.
    #[serde(rename = "familyName")]
    pub family_name: Option<String>,
    /// Login.
    pub login: String,
    /// Permission types (capital P, as py-ISPyB).
    #[serde(rename = "Permissions")]
    pub permissions: Vec<String>,
    /// `Person.personId`.
    #[serde(rename = "personId")]
    pub person_id: u32,
    /// Beamline groups granted by the permissions.
    #[serde(rename = "beamLineGroups")]
    pub beam_line_groups: Vec<String>,
    /// Beamlines of those groups.
    #[serde(rename = "beamLines")]
    pub beam_lines: Vec<String>,
}

/// Who the token belongs to, with the beamline groups its permissions grant.
#[utoipa::path(get, path = "/user/current", tag = "User", operation_id = "current_user",
    responses((status = 200, body = CurrentUserView)), security(("HTTPBearer" = [])))]
pub async fn get_current_user(user: CurrentUser, State(state): State<AppState>) -> ApiResult<Json<CurrentUserView>> {
    let person = ispyb_db::auth::find_person(&state.db, &user.login)
        .await?
        .ok_or_else(|| ApiError::Unauthorized("User does not exist in database.".into()))?;
    let options = state.options(false).await?;
    Ok(Json(CurrentUserView {
        given_name: person.given_name,
        family_name: person.family_name,
        login: user.login.clone(),
        beam_line_groups: options.groups_for(&user.permissions),
        beam_lines: options.beamlines_for(&user.permissions),
        permissions: user.permissions,
        person_id: person.person_id,
    }))
}
