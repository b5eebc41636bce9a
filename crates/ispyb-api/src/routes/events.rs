//! The session timeline: `GET /events` and `GET /events/types`.

use axum::Json;
use axum::extract::State;
use ispyb_db::events::{
    self, DataCollectionItem, Event, EventFilter, EventItem, EventStatus, EventType, EventTypeFilter,
};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::CurrentUser;
use crate::config::Config;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiQuery, PageParams};
use crate::routes::sessions::is_proposal_name;

/// Event routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_events)).routes(routes!(get_event_types))
}

/// Filters of `GET /events`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventQuery {
    /// Session name, e.g. `MX1-3`; an unknown name matches nothing.
    #[param(pattern = r"^(\w|-)+\d+-\d+$")]
    pub session: Option<String>,
    /// Session id.
    #[serde(rename = "sessionId")]
    #[param(rename = "sessionId", maximum = 4294967295_u64)]
    pub session_id: Option<u32>,
    /// Proposal name, e.g. `MX1`; an unknown name matches nothing.
    #[param(pattern = r"^(\w|-)+\d+$")]
    pub proposal: Option<String>,
    /// Proposal id.
    #[serde(rename = "proposalId")]
    #[param(rename = "proposalId", maximum = 4294967295_u64)]
    pub proposal_id: Option<u32>,
    /// Beamline.
    #[serde(rename = "beamLineName")]
    #[param(rename = "beamLineName")]
    pub beam_line_name: Option<String>,
    /// One data collection.
    #[serde(rename = "dataCollectionId")]
    #[param(rename = "dataCollectionId", maximum = 4294967295_u64)]
    pub data_collection_id: Option<u32>,
    /// The data collections of one group, one event each.
    #[serde(rename = "dataCollectionGroupId")]
    #[param(rename = "dataCollectionGroupId", maximum = 4294967295_u64)]
    pub data_collection_group_id: Option<u32>,
    /// Sample.
    #[serde(rename = "blSampleId")]
    #[param(rename = "blSampleId", maximum = 4294967295_u64)]
    pub bl_sample_id: Option<u32>,
    /// Sub-sample (data collections only).
    #[serde(rename = "blSubSampleId")]
    #[param(rename = "blSubSampleId", maximum = 4294967295_u64)]
    pub bl_sub_sample_id: Option<u32>,
    /// Protein.
    #[serde(rename = "proteinId")]
    #[param(rename = "proteinId", maximum = 4294967295_u64)]
    pub protein_id: Option<u32>,
    /// Outcome: `success`, `failed`, `processed` or `processerror`.
    #[param(inline)]
    pub status: Option<EventStatus>,
    /// `robot`, `xrf`, `es`, or a data collection group's experiment type (`Mesh`, `OSC`, …).
    #[serde(rename = "eventType")]
    #[param(rename = "eventType")]
    pub event_type: Option<String>,
    /// Rows to skip.
    #[param(minimum = 0, maximum = 2147483647, default = 0)]
    pub skip: Option<u64>,
    /// Rows to return.
    #[param(minimum = 1, maximum = 1000, default = 25)]
    pub limit: Option<u64>,
}

/// `^(\w|-)+\d+-\d+$`: a session name.
pub(crate) fn is_session_name(s: &str) -> bool {
    s.rsplit_once('-')
        .is_some_and(|(p, v)| is_proposal_name(p) && !v.is_empty() && v.chars().all(|c| c.is_ascii_digit()))
}

/// 422 unless the session and proposal names look like names.
pub(crate) fn check_names(session: Option<&str>, proposal: Option<&str>) -> ApiResult<()> {
    if let Some(s) = session
        && !is_session_name(s)
    {
        return Err(ApiError::invalid(&["query", "session"], "invalid session name", "value_error.str.regex"));
    }
    crate::routes::check_proposal_name(proposal)
}

/// Whether the file a database path names can be served (files.rs's rules: `PATH_MAP`, data
/// roots, no traversal); a path outside the data roots counts as absent.
pub(crate) async fn servable(config: &Config, path: Option<&str>) -> bool {
    match path {
        Some(p) if !p.is_empty() => crate::files::open(config, p).await.is_ok(),
        _ => false,
    }
}

/// Fills `_metadata.snapshots` of a data collection.
pub(crate) async fn fill_snapshots(config: &Config, item: &mut DataCollectionItem) {
    let dc = &item.base;
    let paths = [
        ("1", dc.xtal_snapshot_full_path1.clone()),
        ("2", dc.xtal_snapshot_full_path2.clone()),
        ("3", dc.xtal_snapshot_full_path3.clone()),
        ("4", dc.xtal_snapshot_full_path4.clone()),
        ("analysis", dc.image_quality_indicators_plot_path.clone()),
    ];
    for (key, path) in paths {
        let ok = servable(config, path.as_deref()).await;
        item.metadata.snapshots.insert(key.to_string(), ok);
    }
}

/// The timeline: data collection groups (or the data collections of one group), robot
/// actions, XRF spectra and energy scans the caller may see, latest first, each with its entity.
#[utoipa::path(get, path = "/events", tag = "Events", operation_id = "get_events",
    params(EventQuery), responses((status = 200, body = ispyb_db::Paged<Event>)), security(("HTTPBearer" = [])))]
pub async fn get_events(
    user: CurrentUser,
    State(state): State<AppState>,
    PageParams(page): PageParams,
    ApiQuery(q): ApiQuery<EventQuery>,
) -> ApiResult<Json<ispyb_db::Paged<Event>>> {
    check_names(q.session.as_deref(), q.proposal.as_deref())?;
    let options = state.options(false).await?;
    let filter = EventFilter {
        session: q.session,
        session_id: q.session_id,
        proposal: q.proposal,
        proposal_id: q.proposal_id,
        beam_line_name: q.beam_line_name,
        data_collection_id: q.data_collection_id,
        data_collection_group_id: q.data_collection_group_id,
        bl_sample_id: q.bl_sample_id,
        bl_sub_sample_id: q.bl_sub_sample_id,
        protein_id: q.protein_id,
        status: q.status,
        event_type: q.event_type,
    };
    let mut paged = events::list(&state.db, &user.access(&options), &filter, page).await?;
    for e in &mut paged.results {
        if let Some(EventItem::Dc(item)) = &mut e.item {
            fill_snapshots(&state.config, item).await;
        }
    }
    Ok(Json(paged))
}

/// Filters of `GET /events/types`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventTypeQuery {
    /// Session name; an unknown name matches nothing.
    #[param(pattern = r"^(\w|-)+\d+-\d+$")]
    pub session: Option<String>,
    /// Session id.
    #[serde(rename = "sessionId")]
    #[param(rename = "sessionId", maximum = 4294967295_u64)]
    pub session_id: Option<u32>,
    /// Sample.
    #[serde(rename = "blSampleId")]
    #[param(rename = "blSampleId", maximum = 4294967295_u64)]
    pub bl_sample_id: Option<u32>,
    /// Protein.
    #[serde(rename = "proteinId")]
    #[param(rename = "proteinId", maximum = 4294967295_u64)]
    pub protein_id: Option<u32>,
}

/// The kinds of event present: each experiment type of the data collection groups, then
/// `robot`, `xrf` and `es` when there are any. Not paged (`skip` 0, `limit` = `total`).
#[utoipa::path(get, path = "/events/types", tag = "Events", operation_id = "get_event_types",
    params(EventTypeQuery), responses((status = 200, body = ispyb_db::Paged<EventType>)), security(("HTTPBearer" = [])))]
pub async fn get_event_types(
    user: CurrentUser,
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<EventTypeQuery>,
) -> ApiResult<Json<ispyb_db::Paged<EventType>>> {
    check_names(q.session.as_deref(), None)?;
    let options = state.options(false).await?;
    let filter = EventTypeFilter {
        session: q.session,
        session_id: q.session_id,
        bl_sample_id: q.bl_sample_id,
        protein_id: q.protein_id,
    };
    let results = events::types(&state.db, &user.access(&options), &filter).await?;
    let n = results.len() as u64;
    Ok(Json(ispyb_db::Paged { total: n, results, skip: 0, limit: n }))
}
