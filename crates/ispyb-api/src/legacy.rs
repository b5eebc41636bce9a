//! Java ISPyB's REST routes for the clients written against it (EXI, py-ispyb-ui's java mode,
//! MXCuBE's `ISPyBRestClient`), served twice by the same handlers:
//!
//! - at Java's own prefix, [`JAVA_PREFIX`] (`/ispyb/ispyb-ws/rest/{token}/…`), with Java's
//!   conventions: dates as Gson wrote them, null keys dropped where Java dropped them, Java's
//!   shapes;
//! - at py-ISPyB's, `{API_ROOT}/legacy/{token}/…`, with py-ISPyB's conventions (ISO dates,
//!   nulls kept, py-ISPyB's shapes where it had the route), plus py-ISPyB's header-token twins
//!   (`/legacy/proposals`, `/legacy/sessions`, …). Only this mount is in the OpenAPI document.
//!
//! The token in the path is either a legacy token from `POST /authenticate` (a JWT with an id,
//! three hours, revocable: [`login`]) or, as py-ISPyB allowed, one of our bearer tokens. The
//! path segment after a legacy prefix is masked in traces ([`mask_token_path`]).
//!
//! Every `{proposal}` is resolved exactly (name in any case, or numeric id) and must be visible
//! to the caller ([`ispyb_db::legacy::LegacyAccess`]); every object fetched by id is read
//! through that proposal and the caller's sessions. Errors are real status codes with
//! `{"detail": …}` and CORS headers. Path parameter names are shared by every route at the
//! same position (the router requires it): `{token}`, `{proposal}`, `{sessionId}`,
//! `{dataCollectionId}`, `{dataCollectionGroupId}`, …

pub mod collections;
pub mod em;
pub mod files;
pub mod login;
pub mod logistics;
pub mod mx;
pub mod phasing;
pub mod proposals;
pub mod py;
pub mod sessions;

use std::borrow::Cow;

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::Method;
use axum::http::request::Parts;
use axum::response::IntoResponse;
use axum::{Extension, Json, Router};
use ispyb_db::legacy::{DateStyle, JsonArrayStream, JsonRow, LegacyAccess};
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;

use crate::AppState;
use crate::auth::CurrentUser;
use crate::config::Config;
use crate::error::{ApiError, ApiResult};

/// Java ISPyB's REST prefix (context root `/ispyb/ispyb-ws`, application path `rest`).
pub const JAVA_PREFIX: &str = "/ispyb/ispyb-ws/rest";

/// Most ids a comma-separated id list in a path may carry.
pub const MAX_IDS: usize = 500;

/// Which mount served the request; it decides the conventions of the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mount {
    /// `/ispyb/ispyb-ws/rest`: Java's conventions.
    Java,
    /// `{API_ROOT}/legacy`: py-ISPyB's conventions.
    Py,
}

impl Mount {
    /// How dates are written.
    pub fn dates(self) -> DateStyle {
        match self {
            Mount::Java => DateStyle::Java,
            Mount::Py => DateStyle::Iso,
        }
    }

    /// A list answer; `drop_nulls` for the routes where Java's Gson left null keys out (only
    /// applied on Java's mount: py-ISPyB kept them).
    pub fn rows(self, rows: Vec<JsonRow>, drop_nulls: bool) -> Json<Value> {
        Json(Value::Array(rows.into_iter().map(|r| self.row(r, drop_nulls)).collect()))
    }

    /// A list answer streamed as it is read (the lists that grow with an acquisition); the
    /// rows were asked for with this mount's dates and null rule.
    pub fn streamed(self, rows: JsonArrayStream) -> axum::response::Response {
        crate::metrics::count_detached(rows.sql());
        let body = axum::body::Body::new(StreamedRows(rows));
        ([(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response()
    }

    /// Whether null keys are left out of a route's rows: on Java's mount, for the routes where
    /// Java's Gson dropped them (`java_dropped`); py-ISPyB kept them.
    pub fn drops_nulls(self, java_dropped: bool) -> bool {
        java_dropped && self == Mount::Java
    }

    /// A list of lists (Java's per-id answers).
    pub fn lists(self, lists: Vec<Vec<JsonRow>>) -> Json<Value> {
        Json(Value::Array(
            lists.into_iter().map(|l| Value::Array(l.into_iter().map(Value::Object).collect())).collect(),
        ))
    }

    fn row(self, mut row: JsonRow, drop_nulls: bool) -> Value {
        if self.drops_nulls(drop_nulls) {
            row.retain(|_, v| !v.is_null());
        }
        Value::Object(row)
    }
}

/// The response body of [`Mount::streamed`]. A database error after the first piece can only
/// cut the response short: it is logged and the connection closed, so the client sees an
/// incomplete answer rather than a valid truncated list.
struct StreamedRows(JsonArrayStream);

impl http_body::Body for StreamedRows {
    type Data = axum::body::Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        self.get_mut().0.poll_chunk(cx).map(|chunk| match chunk {
            Some(Ok(bytes)) => Some(Ok(http_body::Frame::data(bytes.into()))),
            Some(Err(e)) => {
                tracing::error!(error = %e, "a streamed list was cut short");
                Some(Err(std::io::Error::other("the list was cut short")))
            }
            None => None,
        })
    }
}

/// The caller of a legacy route, from the token in the path (or, on py-ISPyB's header twins,
/// from the bearer token), with its live permissions and row filter.
#[derive(Debug, Clone)]
pub struct LegacyCaller {
    /// `Person.login`.
    pub login: String,
    /// `Person.personId`.
    pub person_id: u32,
    /// Permission types (read now for legacy tokens, from the token for bearer tokens).
    pub permissions: Vec<String>,
    /// What the caller may see.
    pub access: LegacyAccess,
    /// Beamlines of the caller's beamline groups.
    pub beamlines: Vec<String>,
    /// The mount that served the request.
    pub mount: Mount,
    /// Id and expiry of the legacy token in the path, when there was one.
    pub legacy_token: Option<(String, i64)>,
}

impl LegacyCaller {
    /// Java's role names for this caller: `Manager` with `all_proposals`, `Localcontact` with
    /// a beamline group's permission, and always `User`.
    pub fn roles(&self) -> Vec<&'static str> {
        roles(&self.permissions, !self.beamlines.is_empty())
    }

    /// Resolves `{proposal}` (a name in any case, or a numeric id) to a proposal the caller may
    /// see: 403 when it is unknown or hidden (the two are not told apart), except for callers
    /// who see every proposal, who get 404 for an unknown one.
    pub async fn proposal(&self, state: &AppState, text: &str) -> ApiResult<u32> {
        match ispyb_db::legacy::resolve_proposal(&state.db, text).await? {
            Some(id) if ispyb_db::legacy::can_see_proposal(&state.db, &self.access, id).await? => Ok(id),
            None if self.access.sees_all() => Err(ApiError::NotFound("No such proposal".into())),
            _ => {
                tracing::info!(login = %self.login, "legacy route refused: proposal not visible");
                Err(ApiError::Forbidden("Not Authorized".into()))
            }
        }
    }
}

/// Role names from permissions (see [`LegacyCaller::roles`]).
pub fn roles(permissions: &[String], local_contact: bool) -> Vec<&'static str> {
    let mut roles = Vec::new();
    if permissions.iter().any(|p| p == "all_proposals") {
        roles.push("Manager");
    }
    if local_contact {
        roles.push("Localcontact");
    }
    roles.push("User");
    roles
}

impl FromRequestParts<AppState> for LegacyCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let mount = parts.extensions.get::<Mount>().copied().unwrap_or(Mount::Java);
        let path_token = match RawPathParams::from_request_parts(parts, state).await {
            Ok(params) => params.iter().find(|(k, _)| *k == "token").map(|(_, v)| v.to_string()),
            Err(_) => None,
        };
        let (login, person_id, permissions, legacy_token) = match path_token {
            Some(token) => match login::verify(state, &token).await? {
                login::Verified::Legacy { login, person_id, permissions, jti, exp } => {
                    (login, person_id, permissions, Some((jti, exp)))
                }
                login::Verified::Bearer(user) => (user.login, user.person_id, user.permissions, None),
            },
            None => {
                let user = CurrentUser::from_request_parts(parts, state).await?;
                (user.login, user.person_id, user.permissions, None)
            }
        };
        let options = state.options(false).await?;
        let user = CurrentUser { login: login.clone(), person_id, permissions: permissions.clone() };
        let access = LegacyAccess { access: user.access(&options), person_id, login: login.clone() };
        let beamlines = options.beamlines_for(&permissions);
        Ok(Self { login, person_id, permissions, access, beamlines, mount, legacy_token })
    }
}

/// Replaces the token segment of a legacy path with `***`, for logs and traces: the segment
/// after [`JAVA_PREFIX`] and the segment after `/legacy/`, unless it is one of the literal
/// segments of routes without a token (`authenticate`, py-ISPyB's header routes).
pub fn mask_token_path(path: &str) -> Cow<'_, str> {
    const LITERALS: &[&str] = &["authenticate", "proposals", "sessions", "data_collections", "em", "proposal", ""];
    let start = if let Some(rest) = path.strip_prefix(JAVA_PREFIX) {
        rest.strip_prefix('/').map(|_| JAVA_PREFIX.len() + 1)
    } else {
        path.find("/legacy/").map(|i| i + "/legacy/".len())
    };
    let Some(start) = start else { return Cow::Borrowed(path) };
    let end = path[start..].find('/').map_or(path.len(), |i| start + i);
    if LITERALS.contains(&&path[start..end]) {
        return Cow::Borrowed(path);
    }
    Cow::Owned(format!("{}***{}", &path[..start], &path[end..]))
}

/// The path prefixes of the legacy mounts, for [`cors`].
#[derive(Debug, Clone)]
pub struct LegacyPrefixes {
    py: String,
}

impl LegacyPrefixes {
    /// `{API_ROOT}/legacy/` and [`JAVA_PREFIX`].
    pub fn new(api_root: &str) -> Self {
        Self { py: format!("{api_root}/legacy/") }
    }

    fn matches(&self, path: &str) -> bool {
        path.starts_with(&self.py) || path.strip_prefix(JAVA_PREFIX).is_some_and(|rest| rest.starts_with('/'))
    }
}

/// CORS for the legacy mounts, whatever `CORS` says: Java answered every request with
/// `Access-Control-Allow-Origin: *` (EXI is served from another origin), and here errors carry
/// it too. Tokens travel in paths, never in cookies, so no credentials are allowed. Preflights
/// are answered here, before routing. When `CORS` is on, the application's own (outer) layer
/// answers instead. Added in `app()` around the whole router, because the method router's
/// 405 fallback would otherwise answer a preflight first.
pub async fn cors(
    axum::extract::State(prefixes): axum::extract::State<LegacyPrefixes>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::{HeaderValue, header};
    if !prefixes.matches(req.uri().path()) {
        return next.run(req).await;
    }
    let origin = HeaderValue::from_static("*");
    let preflight = req.method() == Method::OPTIONS
        && req.headers().contains_key(header::ORIGIN)
        && req.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if preflight {
        let mut res = axum::response::IntoResponse::into_response(axum::http::StatusCode::OK);
        let h = res.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST, OPTIONS"));
        let asked = req.headers().get(header::ACCESS_CONTROL_REQUEST_HEADERS).cloned();
        h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked.unwrap_or_else(|| HeaderValue::from_static("*")));
        h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
        return res;
    }
    let mut res = next.run(req).await;
    res.headers_mut().entry(header::ACCESS_CONTROL_ALLOW_ORIGIN).or_insert(origin);
    res
}

/// Routes with the token in the path (both mounts).
fn token_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(login::router())
        .merge(proposals::router())
        .merge(sessions::router())
        .merge(collections::router())
        .merge(files::router())
        .merge(mx::router())
        .merge(phasing::router())
        .merge(logistics::router())
        .merge(em::router())
}

/// Both mounts, when `ISPYB_LEGACY_ROUTES` is on: py-ISPyB's under `{API_ROOT}/legacy` (in
/// the OpenAPI document) and Java's under [`JAVA_PREFIX`] (the same handlers, not documented
/// twice).
pub fn mount(config: &Config) -> OpenApiRouter<AppState> {
    if !config.legacy_routes {
        return OpenApiRouter::new();
    }
    let py_mount = token_routes().merge(py::router()).layer(Extension(Mount::Py));
    let (java, _) = token_routes().layer(Extension(Mount::Java)).split_for_parts();
    OpenApiRouter::new()
        .nest(&format!("{}/legacy", config.api_root), py_mount)
        .merge(OpenApiRouter::from(Router::new().nest(JAVA_PREFIX, java)))
}

/// Common OpenAPI description of `{token}`.
pub const TOKEN_DOC: &str = "Token from `POST /authenticate`, or a bearer token of this server";

/// Common OpenAPI description of `{proposal}`.
pub const PROPOSAL_DOC: &str = "Proposal name in any case (`MX415`, `mx415`) or numeric id";

/// Parses a comma-separated id list of a path (Java's `parseToInteger`); 422 when nothing in
/// it is an id.
pub fn ids(list: &str, name: &str) -> ApiResult<Vec<u32>> {
    let ids = ispyb_db::legacy::parse_ids(list, MAX_IDS);
    if ids.is_empty() {
        return Err(ApiError::invalid(&["path", name], "expected ids separated by commas", "type_error.integer"));
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_masked_on_both_mounts() {
        assert_eq!(
            mask_token_path("/ispyb/ispyb-ws/rest/abc.def.ghi/proposal/list"),
            "/ispyb/ispyb-ws/rest/***/proposal/list"
        );
        assert_eq!(mask_token_path("/ispyb/ispyb-ws/rest/abc"), "/ispyb/ispyb-ws/rest/***");
        assert_eq!(mask_token_path("/ispyb/ispyb-ws/rest/authenticate"), "/ispyb/ispyb-ws/rest/authenticate");
        assert_eq!(mask_token_path("/ispyb/api/v1/legacy/xyz/session/list"), "/ispyb/api/v1/legacy/***/session/list");
        assert_eq!(mask_token_path("/ispyb/api/v1/legacy/proposals/MX1"), "/ispyb/api/v1/legacy/proposals/MX1");
        assert_eq!(mask_token_path("/ispyb/api/v1/proposals"), "/ispyb/api/v1/proposals");
        assert_eq!(mask_token_path("/other/legacy/t0k3n"), "/other/legacy/***");
    }

    #[test]
    fn roles_follow_permissions() {
        assert_eq!(roles(&[], false), vec!["User"]);
        assert_eq!(roles(&["all_proposals".into()], true), vec!["Manager", "Localcontact", "User"]);
        assert_eq!(roles(&["bl_admin".into()], true), vec!["Localcontact", "User"]);
    }
}
