//! `POST /auth/login`, `POST /auth/refresh` and `GET /auth/config`, as py-ISPyB and
//! py-ispyb-ui use them, plus the refresh that long-running clients such as MXCuBE need.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::bearer_token;
use crate::auth::plugins::{AuthError, Credentials};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;

/// Login routes (no authentication).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(login)).routes(routes!(refresh)).routes(routes!(get_auth_config))
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
    /// Seconds until `token` expires (not in py-ISPyB), so clients can refresh in time.
    #[serde(rename = "expiresIn")]
    pub expires_in: i64,
    /// Token for `POST /auth/refresh` (not in py-ISPyB); valid longer than `token`.
    #[serde(rename = "refreshToken")]
    pub refresh_token: String,
}

/// Body of `POST /auth/refresh`; without it, a still-valid bearer token is refreshed.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct RefreshRequest {
    /// A refresh token from login or an earlier refresh.
    #[serde(rename = "refreshToken")]
    pub refresh_token: Option<String>,
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

/// The client's address when the server knows it (not behind an in-process test client).
pub struct ClientAddr(pub Option<SocketAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0)))
    }
}

/// Logs in with a plugin and returns a token (201). Repeated failures from one address or for
/// one login are answered 429 with `Retry-After`.
#[utoipa::path(post, path = "/auth/login", tag = "Authentication", operation_id = "login",
    request_body = Login, responses((status = 201, body = TokenResponse), (status = 401, body = crate::error::ErrorBody),
        (status = 429, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiJson(body): ApiJson<Login>,
) -> ApiResult<(StatusCode, Json<TokenResponse>)> {
    let login_key = format!("login:{}", body.login.as_deref().unwrap_or_default().to_lowercase());
    let keys = [format!("ip:{}", addr.map(|a| a.ip().to_string()).unwrap_or_default()), login_key.clone()];
    if let Err(wait) = state.login_limiter.check(&keys) {
        return Err(ApiError::TooManyRequests(wait));
    }
    let unverified = || ApiError::Unauthorized("Could not verify".into());
    let plugin_name = body.plugin.as_deref().unwrap_or_default();
    let Some(plugin) = state.auth.get(plugin_name) else {
        state.login_limiter.record_failure(&keys);
        return Err(unverified());
    };
    let credentials = Credentials { login: body.login.clone(), password: body.password, token: body.token };
    let identity = match plugin.authenticate(&credentials).await {
        Ok(identity) => identity,
        Err(AuthError::InvalidCredentials) => {
            // The password is never logged; the login and address are, to trace abuse.
            tracing::warn!(plugin = plugin_name, login = body.login.as_deref().unwrap_or(""), client = ?addr, "login refused");
            state.login_limiter.record_failure(&keys);
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
            tracing::info!(login = %identity.login, person_id = id, "created a person at first login");
            ispyb_db::auth::PersonIdentity {
                person_id: id,
                login: Some(identity.login.clone()),
                given_name: None,
                family_name: None,
            }
        }
        None => {
            state.login_limiter.record_failure(&keys);
            return Err(ApiError::Unauthorized("User does not exist in database.".into()));
        }
    };
    state.login_limiter.clear(&login_key);
    let response = issue(&state, &identity.login, person.person_id).await?;
    Ok((StatusCode::CREATED, Json(response)))
}

/// Issues a new token with the person's current permissions, from a refresh token or from a
/// bearer token that has not expired yet. A person removed from the database cannot refresh.
#[utoipa::path(post, path = "/auth/refresh", tag = "Authentication", operation_id = "refresh",
    request_body(content = RefreshRequest, description = "optional when a valid bearer token is sent"),
    responses((status = 201, body = TokenResponse), (status = 401, body = crate::error::ErrorBody)))]
pub async fn refresh(
    State(state): State<AppState>,
    parts: Parts,
    body: axum::body::Bytes,
) -> ApiResult<(StatusCode, Json<TokenResponse>)> {
    let request: RefreshRequest = if body.iter().all(u8::is_ascii_whitespace) {
        RefreshRequest::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::invalid(&["body", "refreshToken"], e.to_string(), "value_error.jsondecode"))?
    };
    let (login, person_id) = match (&request.refresh_token, bearer_token(&parts)?) {
        (Some(token), _) => {
            let claims = state.tokens.verify_refresh(token)?;
            (claims.sub, claims.person_id)
        }
        (None, Some(token)) => {
            let claims = state.tokens.verify(token)?;
            (claims.login, claims.person_id)
        }
        (None, None) => return Err(ApiError::Unauthorized("No token provided.".into())),
    };
    match ispyb_db::auth::find_person(&state.db, &login).await? {
        Some(p) if p.person_id == person_id => {}
        _ => return Err(ApiError::Unauthorized("User does not exist in database.".into())),
    }
    Ok((StatusCode::CREATED, Json(issue(&state, &login, person_id).await?)))
}

/// Reads the permissions now and signs both tokens.
async fn issue(state: &AppState, login: &str, person_id: u32) -> ApiResult<TokenResponse> {
    let permissions = ispyb_db::auth::permissions(&state.db, person_id).await?;
    let (token, claims) = state.tokens.issue(login, person_id, permissions)?;
    Ok(TokenResponse {
        login: claims.login,
        token,
        permissions: claims.permissions,
        expires_in: state.tokens.lifetime_secs,
        refresh_token: state.tokens.issue_refresh(login, person_id)?,
    })
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
