//! The caller: `GET /user/current`.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;

/// Routes about the caller.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_current_user)).routes(routes!(sign_url))
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

/// A URL to sign, and the one-time token for it.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OneTimeToken {
    /// The URL (absolute, or a path; a query string is ignored) the token will be valid for.
    #[schema(max_length = 1024)]
    pub validity: String,
    /// The one-time token (ignored in the request).
    pub token: Option<String>,
}

/// Signs a URL: the token lets one request to exactly that path through, once, within a few
/// seconds, with the caller's permissions at that moment (for downloads in a browser, which
/// cannot send a header). Use it as `?onetime=<token>`.
#[utoipa::path(post, path = "/user/sign", tag = "User", operation_id = "sign_url",
    request_body = OneTimeToken, responses((status = 200, body = OneTimeToken)), security(("HTTPBearer" = [])))]
pub async fn sign_url(
    user: CurrentUser,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<OneTimeToken>,
) -> ApiResult<Json<OneTimeToken>> {
    if body.validity.is_empty() || body.validity.len() > 1024 {
        return Err(ApiError::invalid(&["body", "validity"], "a URL or path of 1 to 1024 characters", "value_error"));
    }
    let path = match url::Url::parse(&body.validity) {
        Ok(u) => u.path().to_string(),
        Err(_) => body.validity.split(['?', '#']).next().unwrap_or_default().to_string(),
    };
    // As py-ISPyB: the stored path is relative to API_ROOT.
    let validity = path.strip_prefix(state.config.api_root.as_str()).unwrap_or(&path).to_string();
    if validity.len() > 200 {
        return Err(ApiError::invalid(&["body", "validity"], "the path must not exceed 200 characters", "value_error"));
    }
    let token = url_safe_token();
    ispyb_db::auth::create_once_token(&state.db, &token, user.person_id, &validity).await?;
    Ok(Json(OneTimeToken { validity: body.validity, token: Some(token) }))
}

/// 96 random bytes, base64url: 128 characters, as py-ISPyB (and `SW_onceToken.token`'s size).
fn url_safe_token() -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bytes = Vec::with_capacity(96);
    for _ in 0..3 {
        bytes.extend_from_slice(&ispyb_db::random_bytes());
    }
    bytes
        .chunks(3)
        .flat_map(|c| {
            let n = (u32::from(c[0]) << 16) | (u32::from(c[1]) << 8) | u32::from(c[2]);
            [18, 12, 6, 0].map(|s| ALPHABET[((n >> s) & 63) as usize] as char)
        })
        .collect()
}
