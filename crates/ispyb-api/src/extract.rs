//! Extractors that turn every malformed input into a 422 with FastAPI's `{"detail": [...]}`
//! shape, instead of axum's plain-text rejections, and the paging parameters.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::error::{ApiError, FieldError};

/// Query-string parameters, rejected as 422 when they do not parse.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

/// Path parameters, rejected as 422 when they do not parse.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiPath<T>(pub T);

/// A JSON body, rejected as 422 (or 413 when too large) when it does not parse.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

/// Splits axum's "…: field.sub: message" into a located field error; serde's "missing field
/// `x`" names the field inside the message, so it is moved into the location too.
fn located(place: &str, text: &str, kind: &str) -> FieldError {
    // axum reports serde's path before the message, e.g. "Failed to deserialize query string: limit: invalid digit".
    let detail = text.split_once(": ").map(|(_, rest)| rest).unwrap_or(text);
    let (mut loc, msg) = match detail.split_once(": ") {
        Some((path, msg)) if !path.contains(' ') => {
            let mut loc = vec![place];
            loc.extend(path.split('.').filter(|p| !p.is_empty()));
            (loc, msg)
        }
        _ => (vec![place], detail),
    };
    let msg = msg.split(" at line ").next().unwrap_or(msg);
    let missing = msg.strip_prefix("missing field `").and_then(|rest| rest.split_once('`')).map(|(field, _)| field);
    if let Some(field) = missing {
        loc.push(field);
        return FieldError::new(&loc, "field required", "value_error.missing");
    }
    FieldError::new(&loc, msg, kind)
}

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Self(v)),
            Err(e @ QueryRejection::FailedToDeserializeQueryString(_)) => {
                Err(ApiError::Validation(vec![located("query", &e.body_text(), "value_error")]))
            }
            Err(e) => Err(ApiError::Validation(vec![FieldError::new(&["query"], e.body_text(), "value_error")])),
        }
    }
}

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Self(v)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => {
                let text = e.body_text();
                Err(ApiError::Validation(vec![located("path", &text, "type_error")]))
            }
            Err(e) => Err(ApiError::Internal(e.body_text())),
        }
    }
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Self(v)),
            Err(JsonRejection::JsonDataError(e)) => {
                // serde's message ends with " at line L column C"; the path comes first.
                let text = e.body_text();
                Err(ApiError::Validation(vec![located("body", &text, "value_error")]))
            }
            Err(JsonRejection::BytesRejection(e)) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::PayloadTooLarge)
            }
            Err(e) => {
                Err(ApiError::Validation(vec![FieldError::new(&["body"], e.body_text(), "value_error.jsondecode")]))
            }
        }
    }
}

/// `skip` and `limit` of a list, checked against the configured maximum page size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageParams(pub ispyb_db::Page);

#[derive(serde::Deserialize)]
struct RawPage {
    skip: Option<String>,
    limit: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for PageParams
where
    AppState: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let max = AppState::from_ref(state).config.max_limit;
        let ApiQuery(raw) = ApiQuery::<RawPage>::from_request_parts(parts, state).await?;
        let mut errors = Vec::new();
        let skip = parse_bounded(raw.skip.as_deref(), "skip", 0, 0, i64::from(i32::MAX) as u64, &mut errors);
        let limit = parse_bounded(raw.limit.as_deref(), "limit", 25, 1, max, &mut errors);
        if errors.is_empty() { Ok(Self(ispyb_db::Page { skip, limit })) } else { Err(ApiError::Validation(errors)) }
    }
}

fn parse_bounded(raw: Option<&str>, name: &str, default: u64, min: u64, max: u64, errors: &mut Vec<FieldError>) -> u64 {
    let Some(raw) = raw else { return default };
    match raw.trim().parse::<i64>() {
        Ok(v) if v < min as i64 => {
            errors.push(FieldError::new(
                &["query", name],
                format!("ensure this value is greater than or equal to {min}"),
                "value_error.number.not_ge",
            ));
            default
        }
        Ok(v) if v as u64 > max => {
            errors.push(FieldError::new(
                &["query", name],
                format!("ensure this value is less than or equal to {max}"),
                "value_error.number.not_le",
            ));
            default
        }
        Ok(v) => v as u64,
        Err(_) => {
            errors.push(FieldError::new(&["query", name], "value is not a valid integer", "type_error.integer"));
            default
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_missing_and_nested_fields() {
        let e = located(
            "body",
            "Failed to deserialize the JSON body into the target type: missing field `cardName` at line 1 column 2",
            "v",
        );
        assert_eq!((e.loc, e.kind.as_str()), (vec!["body".to_string(), "cardName".to_string()], "value_error.missing"));
        let e = located(
            "body",
            "Failed to deserialize the JSON body into the target type: Person: missing field `givenName` at line 1 column 9",
            "v",
        );
        assert_eq!(e.loc, vec!["body", "Person", "givenName"]);
        let e = located(
            "body",
            "Failed to deserialize the JSON body into the target type: Person.emailAddress: invalid type: integer `5`, expected a string at line 1 column 30",
            "v",
        );
        assert_eq!(e.loc, vec!["body", "Person", "emailAddress"]);
        assert_eq!(e.msg, "invalid type: integer `5`, expected a string");
    }

    #[test]
    fn locates_fields_in_axum_messages() {
        let e = located("query", "Failed to deserialize query string: limit: invalid digit found in string", "v");
        assert_eq!(e.loc, vec!["query", "limit"]);
        assert_eq!(e.msg, "invalid digit found in string");
    }

    #[test]
    fn pages_are_bounded() {
        let mut errors = Vec::new();
        assert_eq!(parse_bounded(None, "limit", 25, 1, 100, &mut errors), 25);
        assert_eq!(parse_bounded(Some("100"), "limit", 25, 1, 100, &mut errors), 100);
        assert!(errors.is_empty());
        parse_bounded(Some("101"), "limit", 25, 1, 100, &mut errors);
        parse_bounded(Some("0"), "limit", 25, 1, 100, &mut errors);
        parse_bounded(Some("x"), "skip", 0, 0, 100, &mut errors);
        let kinds: Vec<_> = errors.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["value_error.number.not_le", "value_error.number.not_ge", "type_error.integer"]);
    }
}
