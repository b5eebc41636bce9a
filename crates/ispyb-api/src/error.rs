//! The one error type of the HTTP layer: every failure becomes a status code and a JSON body
//! `{"detail": ...}`, as py-ISPyB (FastAPI) answers. Internal details are logged, never sent.

use std::borrow::Cow;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;

/// One problem with one input, in FastAPI's shape.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// Where: `["query", "limit"]`, `["body", "login"]`, `["path", "sessionId"]`.
    pub loc: Vec<String>,
    /// What is wrong.
    pub msg: String,
    /// Machine-readable kind, e.g. `value_error.number.not_ge`.
    #[serde(rename = "type")]
    pub kind: String,
}

impl FieldError {
    /// A problem with one field.
    pub fn new(loc: &[&str], msg: impl Into<String>, kind: &str) -> Self {
        Self { loc: loc.iter().map(|s| s.to_string()).collect(), msg: msg.into(), kind: kind.into() }
    }
}

/// Every error a request can end with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 401: no, bad or expired credentials.
    #[error("{0}")]
    Unauthorized(Cow<'static, str>),
    /// 403: authenticated but not allowed.
    #[error("{0}")]
    Forbidden(Cow<'static, str>),
    /// 404: not there, or not visible to the caller (never 403, as py-ISPyB).
    #[error("{0}")]
    NotFound(Cow<'static, str>),
    /// 405.
    #[error("Method Not Allowed")]
    MethodNotAllowed,
    /// 400: a request that is well-formed but cannot be carried out.
    #[error("{0}")]
    BadRequest(Cow<'static, str>),
    /// 422: inputs that fail validation.
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// 413: body too large.
    #[error("Request body too large")]
    PayloadTooLarge,
    /// 429: too many attempts; retry after the given seconds.
    #[error("Too many requests")]
    TooManyRequests(u64),
    /// 503: a service the request needs (database, LDAP) is unreachable.
    #[error("{0}")]
    Unavailable(Cow<'static, str>),
    /// 500: a bug or an unexpected database error; logged, not described to the client.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The JSON body of every error (documented in OpenAPI as `HTTPError`).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = HTTPError)]
pub struct ErrorBody {
    /// A message, or for 422 a list of field errors.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

impl ApiError {
    /// 404 with py-ISPyB's message, e.g. `not_found("Proposal")` → "Proposal not found".
    pub fn not_found(what: &str) -> Self {
        Self::NotFound(format!("{what} not found").into())
    }

    /// 422 for one field.
    pub fn invalid(loc: &[&str], msg: impl Into<String>, kind: &str) -> Self {
        Self::Validation(vec![FieldError::new(loc, msg, kind)])
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<ispyb_db::Error> for ApiError {
    fn from(e: ispyb_db::Error) -> Self {
        match e {
            ispyb_db::Error::Sqlx(e) => e.into(),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<ispyb_db::SqlxError> for ApiError {
    fn from(e: ispyb_db::SqlxError) -> Self {
        use ispyb_db::SqlxError as E;
        match e {
            E::PoolTimedOut | E::PoolClosed | E::Io(_) | E::Tls(_) => {
                ApiError::Unavailable("The database is unavailable, try again later".into())
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let detail = match &self {
            ApiError::Validation(errors) => serde_json::to_value(errors).unwrap_or_default(),
            ApiError::Internal(msg) => {
                // Logged inside the request span (with its request id); the client learns nothing.
                tracing::error!(error = %msg, "internal error");
                serde_json::Value::String("Internal Server Error".into())
            }
            ApiError::Unavailable(msg) => {
                tracing::warn!(error = %msg, "dependency unavailable");
                serde_json::Value::String(msg.to_string())
            }
            other => serde_json::Value::String(other.to_string()),
        };
        let mut res = (status, axum::Json(ErrorBody { detail })).into_response();
        match self {
            ApiError::Unauthorized(_) => {
                res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            ApiError::TooManyRequests(secs) => {
                res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            _ => {}
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_match_py_ispyb() {
        assert_eq!(ApiError::not_found("Proposal").status(), StatusCode::NOT_FOUND);
        assert_eq!(ApiError::not_found("Proposal").to_string(), "Proposal not found");
        assert_eq!(ApiError::invalid(&["query", "limit"], "x", "y").status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(ApiError::from(ispyb_db::SqlxError::PoolTimedOut).status(), StatusCode::SERVICE_UNAVAILABLE);
    }
}
