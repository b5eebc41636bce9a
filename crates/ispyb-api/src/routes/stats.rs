//! Statistics of sessions and runs: `/stats/breakdown`, `/stats/times`, `/stats/errors`,
//! `/stats/hourlies`, `/stats/parameters/histogram`, `/stats/runs`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ispyb_db::stats::{self, Breakdown, Hourlies, ParameterHistograms, Run, StatsFilter, Times};
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::CurrentUser;
use crate::config::Config;
use crate::error::ApiError;
use crate::extract::{ApiQuery, PageParams};
use crate::routes::events::check_names;

/// Statistics routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_breakdown))
        .routes(routes!(get_times))
        .routes(routes!(get_errors))
        .routes(routes!(get_hourlies))
        .routes(routes!(get_parameter_histogram))
        .routes(routes!(get_runs))
}

/// What the statistics are about.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// Beamline (with `runId`).
    #[serde(rename = "beamLineName")]
    #[param(rename = "beamLineName")]
    pub beam_line_name: Option<String>,
    /// Session name, e.g. `MX1-3`.
    #[param(pattern = r"^(\w|-)+\d+-\d+$")]
    pub session: Option<String>,
    /// Session id.
    #[serde(rename = "sessionId")]
    #[param(rename = "sessionId", maximum = 4294967295_u64)]
    pub session_id: Option<u32>,
    /// Proposal name (times and hourlies only).
    #[param(pattern = r"^(\w|-)+\d+$")]
    pub proposal: Option<String>,
    /// Run (`v_run.runId`; `dls` flavour).
    #[serde(rename = "runId")]
    #[param(rename = "runId")]
    pub run_id: Option<String>,
}

type StatsResult<T> = Result<Json<T>, Response>;

fn unprocessable(msg: &'static str) -> Response {
    (StatusCode::UNPROCESSABLE_ENTITY, Json(serde_json::json!({"detail": msg}))).into_response()
}

fn err(e: impl Into<ApiError>) -> Response {
    e.into().into_response()
}

impl StatsQuery {
    /// Checks the combination (py-ISPyB's 422 messages) and resolves the session name.
    async fn filter(
        &self,
        state: &AppState,
        access: &ispyb_db::Access,
        allow_proposal: bool,
        message: &'static str,
    ) -> Result<StatsFilter, Response> {
        check_names(self.session.as_deref(), self.proposal.as_deref()).map_err(err)?;
        let has_run = self.beam_line_name.is_some() && self.run_id.is_some();
        let has_proposal = allow_proposal && self.proposal.is_some();
        if self.session_id.is_none() && self.session.is_none() && !has_run && !has_proposal {
            return Err(unprocessable(message));
        }
        let run_id = match &self.run_id {
            None => None,
            Some(r) => match r.trim().parse::<i64>() {
                Ok(id) if stats::has_runs(&state.db) => Some(id),
                _ => return Err(err(ApiError::NotFound("Run not found".into()))),
            },
        };
        let mut session_id = self.session_id;
        if session_id.is_none()
            && let Some(name) = &self.session
        {
            // An unknown or invisible name matches nothing (no session has id 0).
            session_id = Some(stats::session_id_by_name(&state.db, access, name).await.map_err(err)?.unwrap_or(0));
        }
        Ok(StatsFilter {
            session_id,
            beam_line_name: self.beam_line_name.clone(),
            run_id,
            proposal: if allow_proposal { self.proposal.clone() } else { None },
        })
    }
}

const SESSION_OR_RUN: &str = "Please provide either `session` or (`beamLineName` and `runId`)";
const PROPOSAL_SESSION_OR_RUN: &str = "Please provide either `proposal` or `session` or (`beamLineName` and `runId`)";

/// What happened during a session or a run: counts, a history of data collections, robot
/// actions, scans, spectra, strategies and centrings (sessions of the run for a run), and
/// the beam parameters of each data collection.
#[utoipa::path(get, path = "/stats/breakdown", tag = "Stats", operation_id = "get_breakdown",
    params(StatsQuery), responses((status = 200, body = Breakdown)), security(("HTTPBearer" = [])))]
pub async fn get_breakdown(
    user: CurrentUser,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> StatsResult<Breakdown> {
    let options = state.options(false).await.map_err(err)?;
    let access = user.access(&options);
    let mut f = q.filter(&state, &access, false, SESSION_OR_RUN).await?;
    if f.session_id.is_some() {
        f.run_id = None;
    }
    let what = if f.session_id.is_some() { "Session not found" } else { "Run not found" };
    stats::breakdown(&state.db, &access, &f)
        .await
        .map_err(err)?
        .map(Json)
        .ok_or_else(|| err(ApiError::NotFound(what.into())))
}

/// Hours spent collecting, scanning, loading, waiting for strategies, centring and thinking,
/// per session with data collections, and their mean.
#[utoipa::path(get, path = "/stats/times", tag = "Stats", operation_id = "get_times",
    params(StatsQuery), responses((status = 200, body = Times)), security(("HTTPBearer" = [])))]
pub async fn get_times(
    user: CurrentUser,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> StatsResult<Times> {
    let options = state.options(false).await.map_err(err)?;
    let access = user.access(&options);
    let f = q.filter(&state, &access, true, PROPOSAL_SESSION_OR_RUN).await?;
    Ok(Json(stats::times(&state.db, &access, &f).await.map_err(err)?))
}

/// Failures of one experiment type.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct ExperimentTypeErrors {
    /// Experiment type.
    #[serde(rename = "experimentType")]
    pub experiment_type: Option<String>,
    /// Data collections.
    pub total: i64,
    /// Failed (not successful, not aborted).
    pub failed: i64,
    /// Percentage, one decimal.
    #[serde(rename = "failedPercent")]
    pub failed_percent: f64,
    /// Aborted.
    pub aborted: i64,
    /// Percentage, one decimal.
    #[serde(rename = "abortedPercent")]
    pub aborted_percent: f64,
    /// Last lines of the error logs, similar ones merged, least frequent first.
    pub messages: Vec<ErrorMessage>,
}

/// One error message and how often it appears.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
#[schema(as = ExperimentTypeMessage)]
pub struct ErrorMessage {
    /// Occurrences.
    pub count: i64,
    /// The message.
    pub message: String,
}

/// `GET /stats/errors`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Errors {
    /// By experiment type.
    pub totals: Vec<ExperimentTypeErrors>,
}

/// The last non-empty line of a log file (read through `files.rs`, so only inside the data
/// roots; only its last 8 KiB are read).
async fn last_line(config: &Config, path: &str) -> Option<String> {
    let (mut file, _, meta) = crate::files::open(config, path).await.ok()?;
    let len = meta.len();
    let start = len.saturating_sub(8192);
    file.seek(std::io::SeekFrom::Start(start)).await.ok()?;
    let mut buf = Vec::new();
    file.take(8192).read_to_end(&mut buf).await.ok()?;
    let text = String::from_utf8_lossy(&buf);
    text.lines().map(str::trim).rfind(|l| !l.is_empty()).map(|l| l.chars().take(500).collect())
}

/// Similarity of two strings, 0 to 1: twice the longest common subsequence over the total
/// length (close to Python's `SequenceMatcher.ratio`).
fn similarity(a: &str, b: &str) -> f64 {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let mut prev = vec![0usize; b.len() + 1];
    for x in &a {
        let mut cur = vec![0usize; b.len() + 1];
        for (j, y) in b.iter().enumerate() {
            cur[j + 1] = if x == y { prev[j] + 1 } else { cur[j].max(prev[j + 1]) };
        }
        prev = cur;
    }
    2.0 * prev[b.len()] as f64 / (a.len() + b.len()) as f64
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// Failed and aborted data collections by experiment type, with the last lines of their
/// error logs.
#[utoipa::path(get, path = "/stats/errors", tag = "Stats", operation_id = "get_errors",
    params(StatsQuery), responses((status = 200, body = Errors)), security(("HTTPBearer" = [])))]
pub async fn get_errors(
    user: CurrentUser,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> StatsResult<Errors> {
    let options = state.options(false).await.map_err(err)?;
    let access = user.access(&options);
    let f = q.filter(&state, &access, false, SESSION_OR_RUN).await?;
    let (totals, failed) = stats::errors(&state.db, &access, &f).await.map_err(err)?;
    let mut out: Vec<ExperimentTypeErrors> = totals
        .into_iter()
        .map(|(experiment_type, total)| ExperimentTypeErrors {
            experiment_type,
            total,
            failed: 0,
            failed_percent: 0.0,
            aborted: 0,
            aborted_percent: 0.0,
            messages: Vec::new(),
        })
        .collect();
    for dc in failed {
        let Some(group) = out.iter_mut().find(|g| g.experiment_type == dc.experiment_type) else { continue };
        if dc.run_status.as_deref().unwrap_or("").to_lowercase().contains("aborted") {
            group.aborted += 1;
            continue;
        }
        group.failed += 1;
        let Some(log) = &dc.log_file else { continue };
        let Some(line) = last_line(&state.config, log).await else { continue };
        match group.messages.iter_mut().find(|m| m.message == line || similarity(&m.message, &line) > 0.8) {
            Some(m) => m.count += 1,
            None => group.messages.push(ErrorMessage { count: 1, message: line }),
        }
    }
    for g in &mut out {
        if g.total > 0 {
            g.failed_percent = round1(g.failed as f64 / g.total as f64 * 100.0);
            g.aborted_percent = round1(g.aborted as f64 / g.total as f64 * 100.0);
        }
        g.messages.sort_by_key(|m| m.count);
    }
    Ok(Json(Errors { totals: out }))
}

/// Mean number of data collections and sample loads in each hour of the day.
#[utoipa::path(get, path = "/stats/hourlies", tag = "Stats", operation_id = "get_hourlies",
    params(StatsQuery), responses((status = 200, body = Hourlies)), security(("HTTPBearer" = [])))]
pub async fn get_hourlies(
    user: CurrentUser,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> StatsResult<Hourlies> {
    let options = state.options(false).await.map_err(err)?;
    let access = user.access(&options);
    let f = q.filter(&state, &access, true, PROPOSAL_SESSION_OR_RUN).await?;
    Ok(Json(stats::hourlies(&state.db, &access, &f).await.map_err(err)?))
}

/// Histogram of the data collections' energies (bins of 200 eV from 1000 to 25000 eV) per
/// beamline.
#[utoipa::path(get, path = "/stats/parameters/histogram", tag = "Stats", operation_id = "get_parameter_histogram",
    params(StatsQuery), responses((status = 200, body = ParameterHistograms)), security(("HTTPBearer" = [])))]
pub async fn get_parameter_histogram(
    user: CurrentUser,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> StatsResult<ParameterHistograms> {
    let options = state.options(false).await.map_err(err)?;
    let access = user.access(&options);
    let f = q.filter(&state, &access, false, "Please provide either `session` or `runId`").await?;
    Ok(Json(stats::energy_histogram(&state.db, &access, &f).await.map_err(err)?))
}

/// Paging of the run list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RunQuery {
    /// Rows to skip.
    #[param(minimum = 0, maximum = 2147483647, default = 0)]
    pub skip: Option<u64>,
    /// Rows to return.
    #[param(minimum = 1, maximum = 1000, default = 25)]
    pub limit: Option<u64>,
}

/// Runs (`v_run`), latest first; an empty page on databases without runs (`ispyb` flavour).
#[utoipa::path(get, path = "/stats/runs", tag = "Stats", operation_id = "get_runs",
    params(RunQuery), responses((status = 200, body = ispyb_db::Paged<Run>)), security(("HTTPBearer" = [])))]
pub async fn get_runs(
    _user: CurrentUser,
    State(state): State<AppState>,
    PageParams(page): PageParams,
) -> Result<Json<ispyb_db::Paged<Run>>, ApiError> {
    Ok(Json(stats::runs(&state.db, page).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similar_messages() {
        assert!(similarity("Detector error at image 12", "Detector error at image 13") > 0.8);
        assert!(similarity("Detector error", "Beam lost") < 0.5);
        assert_eq!(round1(100.0 / 3.0), 33.3);
    }
}
