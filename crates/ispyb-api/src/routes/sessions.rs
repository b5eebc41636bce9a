//! Sessions (visits): `GET /sessions`, `GET /sessions/group`, `GET /sessions/{sessionId}`.

use axum::Json;
use axum::extract::State;
use ispyb_db::sessions::{self, SessionFilter, SessionRow};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult, FieldError};
use crate::extract::{ApiPath, ApiQuery, PageParams};

/// Session routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_sessions))
        .routes(routes!(get_sessions_for_beamline_group))
        .routes(routes!(get_session))
}

/// Filters of `GET /sessions`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SessionQuery {
    /// Proposal name, e.g. `MX1`.
    #[param(pattern = r"^(\w|-)+\d+$")]
    pub proposal: Option<String>,
    /// Session name, e.g. `MX1-3` (py-ISPyB ignored this filter).
    #[param(pattern = r"^(\w|-)+\d+-\d+$")]
    pub session: Option<String>,
    /// Beamline name.
    #[serde(rename = "beamLineName")]
    #[param(rename = "beamLineName")]
    pub beam_line_name: Option<String>,
    /// Sessions on the beamlines of this beamline group (`groupName`).
    #[serde(rename = "beamLineGroup")]
    #[param(rename = "beamLineGroup")]
    pub beam_line_group: Option<String>,
    /// Only scheduled sessions.
    pub scheduled: Option<bool>,
    /// Only sessions that have not ended.
    pub upcoming: Option<bool>,
    /// Only sessions that have ended.
    pub previous: Option<bool>,
    /// Session type (`SessionType.typeName`).
    #[serde(rename = "sessionType")]
    #[param(rename = "sessionType")]
    pub session_type: Option<String>,
    /// Month (1 to 12) in which sessions start or end.
    #[param(pattern = r"^\d\d?$")]
    pub month: Option<String>,
    /// Year (four digits) in which sessions start or end.
    #[param(pattern = r"^\d{4}$")]
    pub year: Option<String>,
    /// Rows to skip.
    #[param(minimum = 0, maximum = 2147483647, default = 0)]
    pub skip: Option<u64>,
    /// Rows to return.
    #[param(minimum = 1, maximum = 1000, default = 25)]
    pub limit: Option<u64>,
}

/// Path of one session.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SessionPath {
    /// `BLSession.sessionId`.
    #[serde(rename = "sessionId")]
    #[param(rename = "sessionId", maximum = 4294967295_u64)]
    pub session_id: u32,
}

/// Checks a filter value against py-ISPyB's pattern (written without a regex engine).
fn check(field: &str, value: &Option<String>, ok: impl Fn(&str) -> bool, errors: &mut Vec<FieldError>) {
    if let Some(v) = value
        && !ok(v)
    {
        errors.push(FieldError::new(&["query", field], format!("invalid value for {field}"), "value_error.str.regex"));
    }
}

/// `^(\w|-)+\d+$`: a name ending in digits.
pub(crate) fn is_proposal_name(s: &str) -> bool {
    let trimmed = s.trim_end_matches(|c: char| c.is_ascii_digit());
    trimmed.len() < s.len()
        && !trimmed.is_empty()
        && trimmed.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-')
}

impl SessionQuery {
    /// Validates the query and turns it into a data-layer filter.
    fn filter(&self, options: &ispyb_db::options::Options) -> ApiResult<SessionFilter> {
        let mut errors = Vec::new();
        check("proposal", &self.proposal, is_proposal_name, &mut errors);
        check(
            "session",
            &self.session,
            |s| {
                s.rsplit_once('-')
                    .is_some_and(|(p, v)| is_proposal_name(p) && !v.is_empty() && v.chars().all(|c| c.is_ascii_digit()))
            },
            &mut errors,
        );
        check(
            "month",
            &self.month,
            |m| m.parse::<u32>().is_ok_and(|m| (1..=12).contains(&m)) && m.len() <= 2,
            &mut errors,
        );
        check("year", &self.year, |y| y.len() == 4 && y.chars().all(|c| c.is_ascii_digit()), &mut errors);
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        let beam_lines = self.beam_line_group.as_ref().map(|name| {
            options
                .beam_line_groups
                .iter()
                .find(|g| &g.group_name == name)
                .map(|g| g.beam_lines.iter().map(|b| b.beam_line_name.clone()).collect())
                .unwrap_or_default()
        });
        Ok(SessionFilter {
            session_id: None,
            proposal: self.proposal.clone(),
            session: self.session.clone(),
            beam_line_name: self.beam_line_name.clone(),
            beam_lines,
            scheduled: self.scheduled.unwrap_or(false),
            upcoming: self.upcoming.unwrap_or(false),
            previous: self.previous.unwrap_or(false),
            session_type: self.session_type.clone(),
            month: self.month.as_deref().and_then(|m| m.parse().ok()),
            year: self.year.as_deref().and_then(|y| y.parse().ok()),
        })
    }
}

fn add_ui_groups(rows: &mut [SessionRow], options: &ispyb_db::options::Options) {
    for row in rows {
        let bl: Vec<String> = row.base.beam_line_name.iter().cloned().collect();
        row.metadata.ui_groups = options.ui_groups_for(&bl);
    }
}

/// Lists the sessions the caller may see, latest first.
#[utoipa::path(get, path = "/sessions", tag = "Sessions", operation_id = "get_sessions",
    params(SessionQuery), responses((status = 200, body = ispyb_db::Paged<SessionRow>)), security(("HTTPBearer" = [])))]
pub async fn get_sessions(
    user: CurrentUser,
    State(state): State<AppState>,
    PageParams(page): PageParams,
    ApiQuery(query): ApiQuery<SessionQuery>,
) -> ApiResult<Json<ispyb_db::Paged<SessionRow>>> {
    let options = state.options(false).await?;
    let filter = query.filter(&options)?;
    let mut paged = sessions::list(&state.db, &user.access(&options), &filter, page).await?;
    add_ui_groups(&mut paged.results, &options);
    Ok(Json(paged))
}

/// Query of `GET /sessions/group`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SessionGroupQuery {
    /// Beamline group (`groupName`); unknown or missing gives an empty list.
    #[serde(rename = "beamLineGroup")]
    #[param(rename = "beamLineGroup")]
    pub beam_line_group: Option<String>,
    /// Only sessions that have not ended.
    pub upcoming: Option<bool>,
    /// Only sessions that have ended.
    pub previous: Option<bool>,
    /// Session type.
    #[serde(rename = "sessionType")]
    #[param(rename = "sessionType")]
    pub session_type: Option<String>,
}

/// The latest visible session on each beamline of a group, in the group's order.
#[utoipa::path(get, path = "/sessions/group", tag = "Sessions", operation_id = "get_sessions_for_beamline_group",
    params(SessionGroupQuery), responses((status = 200, body = ispyb_db::Paged<SessionRow>)), security(("HTTPBearer" = [])))]
pub async fn get_sessions_for_beamline_group(
    user: CurrentUser,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<SessionGroupQuery>,
) -> ApiResult<Json<ispyb_db::Paged<SessionRow>>> {
    let options = state.options(false).await?;
    let access = user.access(&options);
    let beamlines: Vec<String> = query
        .beam_line_group
        .as_ref()
        .and_then(|name| options.beam_line_groups.iter().find(|g| &g.group_name == name))
        .map(|g| g.beam_lines.iter().map(|b| b.beam_line_name.clone()).collect())
        .unwrap_or_default();
    let mut results = Vec::new();
    // One bounded query per beamline of the group (a handful), each an index lookup.
    for bl in beamlines {
        let filter = SessionFilter {
            beam_line_name: Some(bl),
            upcoming: query.upcoming.unwrap_or(false),
            previous: query.previous.unwrap_or(false),
            session_type: query.session_type.clone(),
            ..Default::default()
        };
        results.extend(sessions::page_rows(&state.db, &access, &filter, ispyb_db::Page { skip: 0, limit: 1 }).await?);
    }
    add_ui_groups(&mut results, &options);
    let n = results.len() as u64;
    Ok(Json(ispyb_db::Paged { total: n, results, skip: 0, limit: n }))
}

/// One session; 404 when it does not exist or the caller may not see it.
#[utoipa::path(get, path = "/sessions/{sessionId}", tag = "Sessions", operation_id = "get_session",
    params(SessionPath), responses((status = 200, body = SessionRow)), security(("HTTPBearer" = [])))]
pub async fn get_session(
    user: CurrentUser,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<SessionPath>,
) -> ApiResult<Json<SessionRow>> {
    let options = state.options(false).await?;
    let mut row = sessions::find(&state.db, &user.access(&options), path.session_id)
        .await?
        .ok_or_else(|| ApiError::not_found("Session"))?;
    add_ui_groups(std::slice::from_mut(&mut row), &options);
    Ok(Json(row))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proposal_names() {
        assert!(is_proposal_name("MX1"));
        assert!(is_proposal_name("blc00001"));
        assert!(is_proposal_name("mx-2_3"));
        assert!(!is_proposal_name("MX"));
        assert!(!is_proposal_name("1"));
        assert!(!is_proposal_name("MX 1"));
    }
}
