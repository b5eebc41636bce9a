//! Authentication: our JWTs (issue and verify), the `CurrentUser` extractor every protected
//! handler takes, and the login plugins behind `POST /auth/login`.

pub mod dummy;
pub mod ldap;
pub mod oidc;
pub mod plugins;
pub mod ratelimit;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::config::{Config, ConfigError};
use crate::error::ApiError;

/// Claims of the tokens this server issues; the same as py-ISPyB's, so tokens carry over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// `Person.login`.
    pub login: String,
    /// `Person.personId`.
    #[serde(rename = "personId")]
    pub person_id: u32,
    /// Permission types at the time the token was issued.
    pub permissions: Vec<String>,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Expires at (seconds since the epoch).
    pub exp: i64,
}

/// Keys and algorithm for our tokens. The algorithm is fixed by configuration: a token's own
/// header never chooses it (no `none`, no HS/RS confusion).
#[derive(Clone)]
pub struct TokenKeys {
    algorithm: Algorithm,
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// Lifetime of a token in seconds.
    pub lifetime_secs: i64,
    /// Lifetime of a refresh token in seconds.
    pub refresh_lifetime_secs: i64,
}

/// Claims of a refresh token. It carries no permissions and its `typ` differs, so it can never
/// pass as an access token (and an access token never as a refresh token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshClaims {
    /// Login.
    pub sub: String,
    /// `Person.personId`.
    #[serde(rename = "personId")]
    pub person_id: u32,
    /// Always `refresh`.
    pub typ: String,
    /// Issued at.
    pub iat: i64,
    /// Expires at.
    pub exp: i64,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKeys").field("algorithm", &self.algorithm).finish_non_exhaustive()
    }
}

impl TokenKeys {
    /// Builds the keys from `SECRET_KEY`, `JWT_CODING_ALGORITHM` and `TOKEN_EXP_TIME`.
    pub fn from_config(config: &Config) -> Result<Self, ConfigError> {
        let secret = config.secret_key()?.expose_secret().as_bytes();
        let algorithm = match config.jwt_coding_algorithm.as_str() {
            "HS384" => Algorithm::HS384,
            "HS512" => Algorithm::HS512,
            _ => Algorithm::HS256,
        };
        Ok(Self {
            algorithm,
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            lifetime_secs: config.token_exp_time as i64 * 60,
            refresh_lifetime_secs: config.refresh_exp_time as i64 * 60,
        })
    }

    /// Issues a token for a person with these permissions.
    pub fn issue(&self, login: &str, person_id: u32, permissions: Vec<String>) -> Result<(String, Claims), ApiError> {
        let now = chrono::Utc::now().timestamp();
        let claims =
            Claims { login: login.to_string(), person_id, permissions, iat: now, exp: now + self.lifetime_secs };
        let token = jsonwebtoken::encode(&Header::new(self.algorithm), &claims, &self.encoding)
            .map_err(|e| ApiError::Internal(format!("cannot sign token: {e}")))?;
        Ok((token, claims))
    }

    /// Issues a refresh token.
    pub fn issue_refresh(&self, login: &str, person_id: u32) -> Result<String, ApiError> {
        let now = chrono::Utc::now().timestamp();
        let claims = RefreshClaims {
            sub: login.to_string(),
            person_id,
            typ: "refresh".into(),
            iat: now,
            exp: now + self.refresh_lifetime_secs,
        };
        jsonwebtoken::encode(&Header::new(self.algorithm), &claims, &self.encoding)
            .map_err(|e| ApiError::Internal(format!("cannot sign token: {e}")))
    }

    /// Verifies a token: signature, algorithm and expiry (no leeway, as py-ISPyB).
    pub fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        let claims: Claims = self.decode(token)?;
        Ok(claims)
    }

    /// Verifies a refresh token.
    pub fn verify_refresh(&self, token: &str) -> Result<RefreshClaims, ApiError> {
        let claims: RefreshClaims = self.decode(token)?;
        if claims.typ != "refresh" {
            return Err(ApiError::Unauthorized("Invalid token".into()));
        }
        Ok(claims)
    }

    fn decode<T: serde::de::DeserializeOwned>(&self, token: &str) -> Result<T, ApiError> {
        let mut validation = Validation::new(self.algorithm);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp"]);
        match jsonwebtoken::decode::<T>(token, &self.decoding, &validation) {
            Ok(data) => Ok(data.claims),
            Err(e) if matches!(e.kind(), jsonwebtoken::errors::ErrorKind::ExpiredSignature) => {
                Err(ApiError::Unauthorized("Token expired. Please log in again".into()))
            }
            Err(_) => Err(ApiError::Unauthorized("Invalid token".into())),
        }
    }
}

/// The authenticated caller, from `Authorization: Bearer <token>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentUser {
    /// `Person.login`.
    pub login: String,
    /// `Person.personId`.
    pub person_id: u32,
    /// Permission types.
    pub permissions: Vec<String>,
}

impl CurrentUser {
    /// Whether the caller holds a permission.
    pub fn has(&self, permission: &str) -> bool {
        self.permissions.iter().any(|p| p == permission)
    }

    /// 403 unless the caller holds the permission.
    pub fn require(&self, permission: &str) -> Result<(), ApiError> {
        if self.has(permission) {
            Ok(())
        } else {
            tracing::info!(login = %self.login, permission, "route refused: missing permission");
            Err(ApiError::Forbidden("Not Authorized".into()))
        }
    }

    /// The row filter for this caller's data queries.
    pub fn access(&self, options: &ispyb_db::options::Options) -> ispyb_db::Access {
        if self.has("all_proposals") {
            ispyb_db::Access::All
        } else {
            ispyb_db::Access::Restricted {
                person_id: self.person_id,
                beamlines: options.beamlines_for(&self.permissions),
            }
        }
    }
}

/// Reads the bearer token as py-ISPyB does: only the exact scheme `Bearer` is accepted;
/// another spelling of it is an error, any other scheme counts as no credentials.
pub fn bearer_token(parts: &Parts) -> Result<Option<&str>, ApiError> {
    let Some(value) = parts.headers.get(AUTHORIZATION) else { return Ok(None) };
    let Ok(value) = value.to_str() else { return Err(ApiError::Unauthorized("Invalid token".into())) };
    let Some((scheme, credentials)) = value.trim().split_once(' ') else { return Ok(None) };
    let credentials = credentials.trim();
    if credentials.is_empty() || !scheme.eq_ignore_ascii_case("bearer") {
        return Ok(None);
    }
    if scheme != "Bearer" {
        return Err(ApiError::Unauthorized("Invalid authentication scheme.".into()));
    }
    Ok(Some(credentials))
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser
where
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        if let Some(token) = bearer_token(parts)? {
            let claims = state.tokens.verify(token)?;
            return Ok(CurrentUser {
                login: claims.login,
                person_id: claims.person_id,
                permissions: claims.permissions,
            });
        }
        match onetime_param(parts)? {
            Some(token) => one_time_user(&state, parts, &token).await,
            None => Err(ApiError::Unauthorized("No token provided.".into())),
        }
    }
}

/// The `onetime` query parameter, checked like py-ISPyB (`^[\\w-]+$`, else 422).
fn onetime_param(parts: &Parts) -> Result<Option<String>, ApiError> {
    let Some(query) = parts.uri.query() else { return Ok(None) };
    let Some((_, value)) = url::form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "onetime") else {
        return Ok(None);
    };
    if value.is_empty() || !value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        return Err(ApiError::invalid(
            &["query", "onetime"],
            "string does not match regex \"^([\\w\\-_])+$\"",
            "value_error.str.regex",
        ));
    }
    Ok(Some(value.into_owned()))
}

/// Consumes a one-time token bound to this request's path; the owner's permissions are read
/// from the database now, not from a token snapshot.
async fn one_time_user(state: &AppState, parts: &Parts, token: &str) -> Result<CurrentUser, ApiError> {
    let invalid = || ApiError::Unauthorized("Invalid one time token.".into());
    // Nested routers see a shortened URI; the original one is what the token was signed for.
    let path = parts
        .extensions
        .get::<axum::extract::OriginalUri>()
        .map_or_else(|| parts.uri.path().to_string(), |u| u.0.path().to_string());
    let Some(validity) = path.strip_prefix(state.config.api_root.as_str()) else { return Err(invalid()) };
    let person = ispyb_db::auth::use_once_token(&state.db, token, validity).await?.ok_or_else(invalid)?;
    let login = person.login.ok_or_else(invalid)?;
    let permissions = ispyb_db::auth::permissions(&state.db, person.person_id).await?;
    Ok(CurrentUser { login, person_id: person.person_id, permissions })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(minutes: u64) -> TokenKeys {
        let figment = Config::figment(None)
            .unwrap()
            .merge(("secret_key", "0123456789abcdef0123"))
            .merge(("token_exp_time", minutes));
        TokenKeys::from_config(&Config::from_figment(figment).unwrap()).unwrap()
    }

    #[test]
    fn issued_tokens_verify_and_tampered_ones_do_not() {
        let k = keys(5);
        let (token, claims) = k.issue("abcd", 1, vec!["own_proposals".into()]).unwrap();
        assert_eq!(k.verify(&token).unwrap(), claims);
        let mut tampered = token.clone();
        tampered.pop();
        assert_eq!(k.verify(&tampered).unwrap_err().to_string(), "Invalid token");
        assert_eq!(k.verify("asda.asda.asda").unwrap_err().to_string(), "Invalid token");
    }

    #[test]
    fn alg_none_and_other_keys_are_rejected() {
        let k = keys(5);
        // {"alg":"none"} with valid-looking claims and no signature.
        let none = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJsb2dpbiI6ImFiY2QiLCJwZXJzb25JZCI6MSwicGVybWlzc2lvbnMiOltdLCJpYXQiOjAsImV4cCI6OTk5OTk5OTk5OX0.";
        assert!(k.verify(none).is_err());
        let figment = Config::figment(None).unwrap().merge(("secret_key", "another-secret-key-0000"));
        let other = TokenKeys::from_config(&Config::from_figment(figment).unwrap()).unwrap();
        let (token, _) = other.issue("abcd", 1, vec![]).unwrap();
        assert!(k.verify(&token).is_err());
    }

    #[test]
    fn expired_tokens_say_so() {
        let k = keys(5);
        let claims = Claims { login: "abcd".into(), person_id: 1, permissions: vec![], iat: 0, exp: 1 };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &k.encoding).unwrap();
        assert_eq!(k.verify(&token).unwrap_err().to_string(), "Token expired. Please log in again");
    }
}
