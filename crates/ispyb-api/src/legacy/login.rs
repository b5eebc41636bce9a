//! `POST /authenticate?site=…` as Java ISPyB answers it (`{token, roles}`), the token it
//! issues, and `POST /{token}/logout`, which revokes one.
//!
//! A legacy token is a JWT signed with `SECRET_KEY` (the configured algorithm) whose claims are
//! `sub` (login), `personId`, `typ = "legacy"`, a random `jti`, `iat` and `exp`
//! (`ISPYB_LEGACY_TOKEN_EXP_TIME`, Java's three hours by default). It cannot pass as a bearer
//! token (its claims differ) and a bearer token cannot pass as one. Every request re-reads the
//! person and their permissions, so a person removed from the database or from a group loses
//! access at once; a revoked `jti` is refused by every server instance (see
//! `ispyb_db::legacy::tokens`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{LegacyCaller, TOKEN_DOC};
use crate::AppState;
use crate::auth::CurrentUser;
use crate::auth::plugins::{AuthError, Credentials, Identity};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiQuery;
use crate::routes::auth::ClientAddr;

/// Login and logout.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(authenticate)).routes(routes!(logout))
}

/// Claims of a legacy token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegacyClaims {
    /// Login.
    pub sub: String,
    /// `Person.personId`.
    #[serde(rename = "personId")]
    pub person_id: u32,
    /// Always `legacy`.
    pub typ: String,
    /// Random id, the handle of revocation.
    pub jti: String,
    /// Issued at.
    pub iat: i64,
    /// Expires at.
    pub exp: i64,
}

fn algorithm(state: &AppState) -> Algorithm {
    match state.config.jwt_coding_algorithm.as_str() {
        "HS384" => Algorithm::HS384,
        "HS512" => Algorithm::HS512,
        _ => Algorithm::HS256,
    }
}

fn secret(state: &AppState) -> ApiResult<Vec<u8>> {
    let key = state.config.secret_key().map_err(|e| ApiError::Internal(e.0))?;
    Ok(key.expose_secret().as_bytes().to_vec())
}

/// Signs a legacy token for a person; returns it with its claims.
pub fn issue(state: &AppState, login: &str, person_id: u32) -> ApiResult<(String, LegacyClaims)> {
    let now = chrono::Utc::now().timestamp();
    let jti: String = ispyb_db::random_bytes()[..16].iter().map(|b| format!("{b:02x}")).collect();
    let claims = LegacyClaims {
        sub: login.to_string(),
        person_id,
        typ: "legacy".into(),
        jti,
        iat: now,
        exp: now + state.config.legacy_token_exp_time as i64 * 60,
    };
    let token =
        jsonwebtoken::encode(&Header::new(algorithm(state)), &claims, &EncodingKey::from_secret(&secret(state)?))
            .map_err(|e| ApiError::Internal(format!("cannot sign token: {e}")))?;
    Ok((token, claims))
}

/// A verified token from a path.
#[derive(Debug)]
pub enum Verified {
    /// A legacy token, with the person's current permissions.
    Legacy {
        /// Login.
        login: String,
        /// `Person.personId`.
        person_id: u32,
        /// Permissions read now.
        permissions: Vec<String>,
        /// Token id.
        jti: String,
        /// Expiry.
        exp: i64,
    },
    /// One of our bearer tokens (py-ISPyB put its JWT in legacy paths).
    Bearer(CurrentUser),
}

/// Verifies a token from a legacy path: a legacy token (signature, expiry, not revoked, person
/// still there) or a bearer token. 401 otherwise, saying whether it expired or was revoked.
pub async fn verify(state: &AppState, token: &str) -> ApiResult<Verified> {
    let mut validation = Validation::new(algorithm(state));
    validation.leeway = 0;
    validation.set_required_spec_claims(&["exp", "sub", "jti"]);
    match jsonwebtoken::decode::<LegacyClaims>(token, &DecodingKey::from_secret(&secret(state)?), &validation) {
        Ok(data) if data.claims.typ == "legacy" => {
            let c = data.claims;
            let (login, revoked) = ispyb_db::legacy::tokens::check(&state.db, c.person_id, &c.jti).await?;
            if revoked {
                return Err(ApiError::Unauthorized("Token revoked. Please log in again".into()));
            }
            if login.as_deref() != Some(c.sub.as_str()) {
                return Err(ApiError::Unauthorized("Invalid token".into()));
            }
            let permissions = ispyb_db::auth::permissions(&state.db, c.person_id).await?;
            Ok(Verified::Legacy { login: c.sub, person_id: c.person_id, permissions, jti: c.jti, exp: c.exp })
        }
        Err(e) if matches!(e.kind(), jsonwebtoken::errors::ErrorKind::ExpiredSignature) => {
            Err(ApiError::Unauthorized("Token expired. Please log in again".into()))
        }
        _ => {
            let claims = state.tokens.verify(token)?;
            Ok(Verified::Bearer(CurrentUser {
                login: claims.login,
                person_id: claims.person_id,
                permissions: claims.permissions,
            }))
        }
    }
}

/// `?site=` of `POST /authenticate`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SiteQuery {
    /// Java's site name (`ESRF`, `EMBL`, `MAXIV`, `GENERIC`, …); accepted and ignored: the
    /// login plugins of `AUTH_CONFIG` decide.
    pub site: Option<String>,
}

/// Form of `POST /authenticate`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct LegacyLogin {
    /// Login.
    pub login: String,
    /// Password (never empty).
    pub password: String,
}

/// Java's login answer.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LegacyToken {
    /// Token to put in paths (`/{token}/proposal/list`); valid `ISPYB_LEGACY_TOKEN_EXP_TIME`
    /// minutes (Java: 3 hours).
    pub token: String,
    /// `User`, plus `Manager` (permission `all_proposals`) and `Localcontact` (a beamline
    /// group's permission): the strings clients switch their menus on.
    pub roles: Vec<String>,
}

/// Logs in as Java ISPyB does: form fields `login` and `password`, checked by the login
/// plugins of `AUTH_CONFIG` (`ISPYB_LEGACY_AUTH_PLUGIN`, else each plugin in order until one
/// accepts). Java answered a failure with 200 and a text; this is 401 `{"detail": …}`, which
/// EXI and py-ispyb-ui both treat as a failed login. Repeated failures: 429.
#[utoipa::path(post, path = "/authenticate", tag = "Legacy (Java ISPyB)", operation_id = "legacy_authenticate",
    params(SiteQuery),
    request_body(content = LegacyLogin, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, body = LegacyToken), (status = 401, body = crate::error::ErrorBody),
        (status = 429, body = crate::error::ErrorBody), (status = 503, body = crate::error::ErrorBody)))]
pub async fn authenticate(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    ApiQuery(_site): ApiQuery<SiteQuery>,
    body: Bytes,
) -> ApiResult<Json<LegacyToken>> {
    let form: std::collections::HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let login = form.get("login").map(|s| s.trim().to_string()).unwrap_or_default();
    let password = form.get("password").cloned().unwrap_or_default();
    let login_key = format!("login:{}", login.to_lowercase());
    let keys = [format!("ip:{}", addr.map(|a| a.ip().to_string()).unwrap_or_default()), login_key.clone()];
    if let Err(wait) = state.login_limiter.check(&keys) {
        return Err(ApiError::TooManyRequests(wait));
    }
    let unverified = || ApiError::Unauthorized("Could not verify".into());
    // Java refuses empty passwords (an LDAP bind with one is anonymous).
    if login.is_empty() || password.is_empty() {
        state.login_limiter.record_failure(&keys);
        return Err(unverified());
    }
    let identity = match check_password(&state, &login, password).await? {
        Some(identity) => identity,
        None => {
            tracing::warn!(login = %login, client = ?addr, "legacy login refused");
            state.login_limiter.record_failure(&keys);
            return Err(unverified());
        }
    };
    let person = match ispyb_db::auth::find_person(&state.db, &identity.login).await? {
        Some(p) => p.person_id,
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
            id
        }
        None => {
            state.login_limiter.record_failure(&keys);
            return Err(ApiError::Unauthorized("User does not exist in database.".into()));
        }
    };
    state.login_limiter.clear(&login_key);
    let permissions = ispyb_db::auth::permissions(&state.db, person).await?;
    let options = state.options(false).await?;
    let roles = super::roles(&permissions, !options.beamlines_for(&permissions).is_empty());
    let (token, _) = issue(&state, &identity.login, person)?;
    Ok(Json(LegacyToken { token, roles: roles.into_iter().map(String::from).collect() }))
}

/// Asks the configured plugin, or each plugin in order, to check a login and password.
async fn check_password(state: &AppState, login: &str, password: String) -> ApiResult<Option<Identity>> {
    let credentials = Credentials { login: Some(login.to_string()), password: Some(password), token: None };
    let plugins: Vec<_> = match &state.config.legacy_auth_plugin {
        Some(name) => state.auth.get(name).into_iter().cloned().collect(),
        None => state.auth.iter().map(|(_, p)| p.clone()).collect(),
    };
    for plugin in plugins {
        match plugin.authenticate(&credentials).await {
            Ok(identity) => return Ok(Some(identity)),
            Err(AuthError::InvalidCredentials) => continue,
            Err(AuthError::Unavailable(e)) => {
                return Err(ApiError::Unavailable(format!("Authentication service unavailable: {e}").into()));
            }
        }
    }
    Ok(None)
}

/// Revokes the legacy token in the path on every server instance (not in Java ISPyB, which had
/// no logout). 400 for a bearer token, which cannot be revoked.
#[utoipa::path(post, path = "/{token}/logout", tag = "Legacy (Java ISPyB)", operation_id = "legacy_logout",
    params(("token" = String, Path, description = TOKEN_DOC)),
    responses((status = 204, description = "Revoked"), (status = 400, body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody)))]
pub async fn logout(caller: LegacyCaller, State(state): State<AppState>) -> ApiResult<StatusCode> {
    let Some((jti, exp)) = &caller.legacy_token else {
        return Err(ApiError::BadRequest("Only tokens from /authenticate can be revoked".into()));
    };
    ispyb_db::legacy::tokens::revoke(&state.db, jti, caller.person_id, *exp).await?;
    tracing::info!(login = %caller.login, "legacy token revoked");
    Ok(StatusCode::NO_CONTENT)
}
