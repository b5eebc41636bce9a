//! `POST /auth/login` and `GET /auth/config`, as py-ISPyB and py-ispyb-ui use them.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::plugins::{AuthError, Credentials};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;

/// Login routes (no authentication).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(login)).routes(routes!(get_auth_config))
}

/// Body of `POST /auth/login`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct Login {
    /// Name of an enabled plugin (see `GET /auth/config`).
    pub plugin: Option<String>,
    /// Login, for login/password plugins.
    pub login: Option<String>,
    /// Password, for login/password plugins.
    pub password: Option<String>,
    /// External token (e.g. a Keycloak access token), for token plugins.
    pub token: Option<String>,
}

/// A new token.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TokenResponse {
    /// The login the token belongs to.
    pub login: String,
    /// The JWT to send as `Authorization: Bearer <token>`.
    pub token: String,
    /// Permission types granted through user groups.
    pub permissions: Vec<String>,
    /// Seconds until the token expires (not in py-ISPyB), so clients can plan a refresh.
    #[serde(rename = "expiresIn")]
    pub expires_in: i64,
}

/// Public settings of one enabled plugin.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PluginConfig {
    /// Plugin name, as sent in `Login.plugin`.
    pub name: String,
    /// Settings the UI needs (never secrets).
    #[schema(value_type = Object)]
    pub config: serde_json::Map<String, serde_json::Value>,
}

/// The enabled plugins.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuthConfig {
    /// In configuration order.
    pub plugins: Vec<PluginConfig>,
}

/// Logs in with a plugin and returns a token (201).
#[utoipa::path(post, path = "/auth/login", tag = "Authentication", operation_id = "login",
    request_body = Login, responses((status = 201, body = TokenResponse)))]
pub async fn login(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<Login>,
) -> ApiResult<(StatusCode, Json<TokenResponse>)> {
    let unverified = || ApiError::Unauthorized("Could not verify".into());
    let plugin_name = body.plugin.as_deref().unwrap_or_default();
    let Some(plugin) = state.auth.get(plugin_name) else { return Err(unverified()) };
    let credentials = Credentials { login: body.login.clone(), password: body.password, token: body.token };
    let identity = match plugin.authenticate(&credentials).await {
        Ok(identity) => identity,
        Err(AuthError::InvalidCredentials) => {
            // The password is never logged; the login and plugin are, to trace abuse.
            tracing::warn!(plugin = plugin_name, login = body.login.as_deref().unwrap_or(""), "login refused");
            return Err(unverified());
        }
        Err(AuthError::Unavailable(e)) => {
            return Err(ApiError::Unavailable(format!("Authentication service unavailable: {e}").into()));
        }
    };
    let person = match ispyb_db::auth::find_person(&state.db, &identity.login).await? {
        Some(p) => p,
        None if state.options(true).await?.create_person_on_missing => {
            let id = ispyb_db::auth::create_person(
                &state.db,
                &identity.login,
                identity.given_name.as_deref(),
                identity.family_name.as_deref(),
                identity.email.as_deref(),
            )
            .await?;
            ispyb_db::auth::PersonIdentity {
                person_id: id,
                login: Some(identity.login.clone()),
                given_name: None,
                family_name: None,
            }
        }
        None => return Err(ApiError::Unauthorized("User does not exist in database.".into())),
    };
    let permissions = ispyb_db::auth::permissions(&state.db, person.person_id).await?;
    let (token, claims) = state.tokens.issue(&identity.login, person.person_id, permissions)?;
    Ok((
        StatusCode::CREATED,
        Json(TokenResponse {
            login: claims.login,
            token,
            permissions: claims.permissions,
            expires_in: state.tokens.lifetime_secs,
        }),
    ))
}

/// The enabled login plugins and what a UI needs to offer them.
#[utoipa::path(get, path = "/auth/config", tag = "Authentication", operation_id = "get_auth_config",
    responses((status = 200, body = AuthConfig)))]
pub async fn get_auth_config(State(state): State<AppState>) -> Json<AuthConfig> {
    Json(AuthConfig {
        plugins: state
            .auth
            .iter()
            .map(|(name, p)| PluginConfig { name: name.to_string(), config: p.exported_config() })
            .collect(),
    })
}
