//! Java ISPyB's cryo-EM routes (E1 to E11 of the spec), on both legacy mounts, with py-ISPyB's
//! header-token twins (`{API_ROOT}/legacy/em/…`, served on py-ISPyB's mount only).
//!
//! Java's keys, from explicit joins (no `v_em_*` view), on both schema flavours
//! (`ispyb_db::em::legacy`). py-ISPyB's broken routes work here: the classification, the CTF
//! thumbnail (a file, not its path as JSON), the multi-id stats (every id counted, bound one
//! by one) and the group list (500 in py-ISPyB). Java's class thumbnail, which py-ISPyB lacked
//! although its UI calls it, is here too, checked against the proposal.
//!
//! Differences from Java: a reprocessed movie is one row (its latest motion correction and
//! CTF), not one row per result; a missing file or row answers 404 (Java: 204); on Diamond's
//! schema a JSON drift file is drawn as a PNG.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use ispyb_db::em::MovieFile;
use ispyb_db::em::legacy::{self as db_em, StatsOf};
use serde::Deserialize;
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{LegacyCaller, Mount, PROPOSAL_DOC, TOKEN_DOC, ids};
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiPath;

/// EM routes: Java's (token in the path) and py-ISPyB's header-token twins.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(movies))
        .routes(routes!(movie_thumbnail))
        .routes(routes!(motion_correction_thumbnail))
        .routes(routes!(ctf_thumbnail))
        .routes(routes!(motion_correction_drift))
        .routes(routes!(session_stats))
        .routes(routes!(collection_stats))
        .routes(routes!(session_groups))
        .routes(routes!(classification))
        .routes(routes!(class_thumbnail))
        .routes(routes!(py_movies))
        .routes(routes!(py_movie_thumbnail))
        .routes(routes!(py_motion_correction_thumbnail))
        .routes(routes!(py_ctf_thumbnail))
        .routes(routes!(py_drift))
        .routes(routes!(py_session_stats))
        .routes(routes!(py_collection_stats))
        .routes(routes!(py_group_stats))
        .routes(routes!(py_session_groups))
        .routes(routes!(py_classification))
        .routes(routes!(py_class_thumbnail))
}

/// `{proposal}` and `{dataCollectionId}` (an id, or ids separated by commas for the stats).
#[derive(Debug, Deserialize)]
pub struct CollectionPath {
    /// Name or id.
    pub proposal: String,
    /// Data collection id(s).
    #[serde(rename = "dataCollectionId")]
    pub data_collection_id: String,
}

/// `{proposal}`, `{dataCollectionId}` and `{movieId}`.
#[derive(Debug, Deserialize)]
pub struct MoviePath {
    /// Name or id.
    pub proposal: String,
    /// The movie's data collection.
    #[serde(rename = "dataCollectionId")]
    pub data_collection_id: u32,
    /// `Movie.movieId`.
    #[serde(rename = "movieId")]
    pub movie_id: u32,
}

/// `{proposal}` and `{movieId}` (py-ISPyB's twins, without the data collection).
#[derive(Debug, Deserialize)]
pub struct PyMoviePath {
    /// Name or id.
    pub proposal: String,
    /// `Movie.movieId`.
    #[serde(rename = "movieId")]
    pub movie_id: u32,
}

/// `{proposal}` and `{sessionId}` (an id, or ids separated by commas for the group list).
#[derive(Debug, Deserialize)]
pub struct SessionPath {
    /// Name or id.
    pub proposal: String,
    /// Session id(s).
    #[serde(rename = "sessionId")]
    pub session_id: String,
}

/// `{sessionId}` alone (py-ISPyB's twins).
#[derive(Debug, Deserialize)]
pub struct PySessionPath {
    /// Session id.
    #[serde(rename = "sessionId")]
    pub session_id: u32,
}

/// `{proposal}` and `{dataCollectionGroupId}`.
#[derive(Debug, Deserialize)]
pub struct GroupPath {
    /// Name or id.
    pub proposal: String,
    /// Data collection group id.
    #[serde(rename = "dataCollectionGroupId")]
    pub data_collection_group_id: u32,
}

/// `{proposal}` and `{particleClassificationId}`.
#[derive(Debug, Deserialize)]
pub struct ClassPath {
    /// Name or id.
    pub proposal: String,
    /// `ParticleClassification.particleClassificationId`.
    #[serde(rename = "particleClassificationId")]
    pub class_id: u32,
}

fn one_id(text: &str, name: &str) -> ApiResult<u32> {
    text.trim()
        .parse()
        .map_err(|_| ApiError::invalid(&["path", name], "value is not a valid integer", "type_error.integer"))
}

/// py-ISPyB's twins exist on its mount only.
fn py_only(caller: &LegacyCaller) -> ApiResult<()> {
    if caller.mount == Mount::Py { Ok(()) } else { Err(ApiError::NotFound("Not Found".into())) }
}

const NOT_FOUND: &str = "Image not found";

/// Serves a movie's or class's file as Java did (`attachment`, the file's name), through
/// `files.rs`; a JSON drift file (Diamond's schema) is drawn as a PNG (`drift`).
async fn send(
    state: &AppState,
    headers: &HeaderMap,
    found: Option<Option<String>>,
    drift: bool,
) -> ApiResult<Response> {
    let Some(path) = found.flatten().filter(|p| !p.trim().is_empty()) else {
        return Err(ApiError::NotFound(NOT_FOUND.into()));
    };
    let mut res = if drift && path.to_ascii_lowercase().ends_with(".json") {
        let points = crate::routes::em::read_drift(state, &path).await?;
        let mut res = crate::routes::em::plot::drift_png(&points).into_response();
        res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("image/png"));
        res
    } else {
        crate::files::serve_file(&state.config, &path, headers, NOT_FOUND).await?
    };
    let name: String = std::path::Path::new(&path)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("image")
        .chars()
        .filter(|c| !c.is_control() && *c != '"' && *c != '\\')
        .collect();
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}

async fn movie_file(
    caller: &LegacyCaller,
    state: &AppState,
    headers: &HeaderMap,
    proposal: &str,
    dc: Option<u32>,
    movie: u32,
    file: MovieFile,
) -> ApiResult<Response> {
    let id = caller.proposal(state, proposal).await?;
    let found = db_em::movie_file(&state.db, &caller.access, id, dc, movie, file).await?;
    send(state, headers, found, file == MovieFile::Drift).await
}

// ---------------------------------------------------------------------------------------
// Java's routes (token in the path)

/// E1: the movies of a data collection, each with its latest motion correction and CTF
/// (`v_em_movie`'s keys; Java left null keys out).
#[utoipa::path(get, path = "/{token}/proposal/{proposal}/em/datacollection/{dataCollectionId}/movie/all",
    tag = "Legacy (Java ISPyB)", operation_id = "legacy_em_movies",
    params(("token" = String, Path, description = TOKEN_DOC), ("proposal" = String, Path, description = PROPOSAL_DOC),
        ("dataCollectionId" = u32, Path, description = "Data collection id")),
    responses((status = 200, body = Vec<Object>), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody)))]
pub async fn movies(
    caller: LegacyCaller,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<CollectionPath>,
) -> ApiResult<Response> {
    let dc = one_id(&path.data_collection_id, "dataCollectionId")?;
    let id = caller.proposal(&state, &path.proposal).await?;
    let mount = caller.mount;
    let rows = db_em::movies(&state.db, &caller.access, id, dc, mount.dates(), mount.drops_nulls(true)).await?;
    Ok(mount.streamed(rows))
}

/// E2: the movie's thumbnail (`Movie.micrographSnapshotFullPath`), served as soon as the movie
/// exists.
#[utoipa::path(get, path = "/{token}/proposal/{proposal}/em/datacollection/{dataCollectionId}/movie/{movieId}/thumbnail",
    tag = "Legacy (Java ISPyB)", operation_id = "legacy_em_movie_thumbnail",
    params(("token" = String, Path, description = TOKEN_DOC), ("proposal" = String, Path, description = PROPOSAL_DOC),
        ("dataCollectionId" = u32, Path, description = "Data collection id"), ("movieId" = u32, Path, description = "Movie id")),
    responses((status = 200, description = "The image", content_type = "image/*"),
        (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn movie_thumbnail(
    caller: LegacyCaller,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(p): ApiPath<MoviePath>,
) -> ApiResult<Response> {
    movie_file(&caller, &state, &headers, &p.proposal, Some(p.data_collection_id), p.movie_id, MovieFile::Thumbnail)
        .await
}

/// E3: the latest motion correction's micrograph thumbnail.
#[utoipa::path(get,
    path = "/{token}/proposal/{proposal}/em/datacollection/{dataCollectionId}/movie/{movieId}/motioncorrection/thumbnail",
    tag = "Legacy (Java ISPyB)", operation_id = "legacy_em_motion_correction_thumbnail",
    params(("token" = String, Path, description = TOKEN_DOC), ("proposal" = String, Path, description = PROPOSAL_DOC),
        ("dataCollectionId" = u32, Path, description = "Data collection id"), ("movieId" = u32, Path, description = "Movie id")),
    responses((status = 200, description = "The image", content_type = "image/*"),
        (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn motion_correction_thumbnail(
    caller: LegacyCaller,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(p): ApiPath<MoviePath>,
) -> ApiResult<Response> {
    movie_file(&caller, &state, &headers, &p.proposal, Some(p.data_collection_id), p.movie_id, MovieFile::Micrograph)
        .await
}

/// E4: the latest CTF's power spectrum thumbnail, as a file (py-ISPyB returned its path).
#[utoipa::path(get, path = "/{token}/proposal/{proposal}/em/datacollection/{dataCollectionId}/movie/{movieId}/ctf/thumbnail",
    tag = "Legacy (Java ISPyB)", operation_id = "legacy_em_ctf_thumbnail",
    params(("token" = String, Path, description = TOKEN_DOC), ("proposal" = String, Path, description = PROPOSAL_DOC),
        ("dataCollectionId" = u32, Path, description = "Data collection id"), ("movieId" = u32, Path, description = "Movie id")),
    responses((status = 200, description = "The image", content_type = "image/*"),
        (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn ctf_thumbnail(
    caller: LegacyCaller,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(p): ApiPath<MoviePath>,
) -> ApiResult<Response> {
    movie_file(&caller, &state, &headers, &p.proposal, Some(p.data_collection_id), p.movie_id, MovieFile::CtfSpectrum)
        .await
}

/// E5: the latest motion correction's drift plot.
#[utoipa::path(get,
    path = "/{token}/proposal/{proposal}/em/datacollection/{dataCollectionId}/movie/{movieId}/motioncorrection/drift",
    tag = "Legacy (Java ISPyB)", operation_id = "legacy_em_drift",
    params(("token" = String, Path, description = TOKEN_DOC), ("proposal" = String, Path, description = PROPOSAL_DOC),
        ("dataCollectionId" = u32, Path, description = "Data collection id"), ("movieId" = u32, Path, description = "Movie id")),
    responses((status = 200, description = "The plot", content_type = "image/png"),
        (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn motion_correction_drift(
    caller: LegacyCaller,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(p): ApiPath<MoviePath>,
) -> ApiResult<Response> {
    movie_file(&caller, &state, &headers, &p.proposal, Some(p.data_collection_id), p.movie_id, MovieFile::Drift).await
}

/// E6: one row per movie of the session with a motion correction and a CTF (`v_em_stats`'s
/// keys), latest results; empty when the session is not the proposal's.
#[utoipa::path(get, path = "/{token}/proposal/{proposal}/em/session/{sessionId}/stats", tag = "Legacy (Java ISPyB)",
    operation_id = "legacy_em_session_stats",
    params(("token" = String, Path, description = TOKEN_DOC), ("proposal" = String, Path, description = PROPOSAL_DOC),
        ("sessionId" = u32, Path, description = "Session id")),
    responses((status = 200, body = Vec<Object>), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody)))]
pub async fn session_stats(
    caller: LegacyCaller,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<SessionPath>,
) -> ApiResult<Response> {
    let session = one_id(&path.session_id, "sessionId")?;
    let id = caller.proposal(&state, &path.proposal).await?;
    let rows = db_em::session_stats(&state.db, &caller.access, Some(id), session, caller.mount.dates()).await?;
    Ok(caller.mount.streamed(rows))
}

/// E7: movie, motion correction and CTF counts of each data collection of the list (every id
/// counted: py-ISPyB counted only the first).
#[utoipa::path(get, path = "/{token}/proposal/{proposal}/em/datacollection/{dataCollectionId}/stats",
    tag = "Legacy (Java ISPyB)", operation_id = "legacy_em_collection_stats",
    params(("token" = String, Path, description = TOKEN_DOC), ("proposal" = String, Path, description = PROPOSAL_DOC),
        ("dataCollectionId" = String, Path, description = "Data collection ids, comma-separated")),
    responses((status = 200, body = Vec<Object>), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn collection_stats(
    caller: LegacyCaller,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<CollectionPath>,
) -> ApiResult<Json<Value>> {
    let list = ids(&path.data_collection_id, "dataCollectionId")?;
    let id = caller.proposal(&state, &path.proposal).await?;
    let rows = db_em::stats(&state.db, &caller.access, id, &StatsOf::DataCollections(list)).await?;
    Ok(caller.mount.rows(rows, false))
}

/// E9: the DC-group rows of the sessions (Java's DC-group query), each with `stats`, the EM
/// counts of every data collection of the group (py-ISPyB answered 500).
#[utoipa::path(get, path = "/{token}/proposal/{proposal}/em/datacollection/session/{sessionId}/list",
    tag = "Legacy (Java ISPyB)", operation_id = "legacy_em_session_groups",
    params(("token" = String, Path, description = TOKEN_DOC), ("proposal" = String, Path, description = PROPOSAL_DOC),
        ("sessionId" = String, Path, description = "Session ids, comma-separated")),
    responses((status = 200, body = Vec<Object>), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody), (status = 422, body = crate::error::ErrorBody)))]
pub async fn session_groups(
    caller: LegacyCaller,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<SessionPath>,
) -> ApiResult<Json<Value>> {
    let sessions = ids(&path.session_id, "sessionId")?;
    let id = caller.proposal(&state, &path.proposal).await?;
    let rows = db_em::session_groups(&state.db, &caller.access, id, &sessions, caller.mount.dates()).await?;
    Ok(caller.mount.rows(rows, true))
}

/// E10: the 2D/3D classes of the session (`v_em_classification`'s keys).
#[utoipa::path(get, path = "/{token}/proposal/{proposal}/em/session/{sessionId}/classification", tag = "Legacy (Java ISPyB)",
    operation_id = "legacy_em_classification",
    params(("token" = String, Path, description = TOKEN_DOC), ("proposal" = String, Path, description = PROPOSAL_DOC),
        ("sessionId" = u32, Path, description = "Session id")),
    responses((status = 200, body = Vec<Object>), (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody)))]
pub async fn classification(
    caller: LegacyCaller,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<SessionPath>,
) -> ApiResult<Json<Value>> {
    let session = one_id(&path.session_id, "sessionId")?;
    let id = caller.proposal(&state, &path.proposal).await?;
    let rows = db_em::classification(&state.db, &caller.access, Some(id), session, caller.mount.dates()).await?;
    Ok(caller.mount.rows(rows, false))
}

/// E11: a class image (`classImageFullPath`), of a class of the proposal.
#[utoipa::path(get, path = "/{token}/proposal/{proposal}/em/classification/{particleClassificationId}/thumbnail",
    tag = "Legacy (Java ISPyB)", operation_id = "legacy_em_class_thumbnail",
    params(("token" = String, Path, description = TOKEN_DOC), ("proposal" = String, Path, description = PROPOSAL_DOC),
        ("particleClassificationId" = u32, Path, description = "Class id")),
    responses((status = 200, description = "The image", content_type = "image/*"),
        (status = 403, body = crate::error::ErrorBody), (status = 404, body = crate::error::ErrorBody)))]
pub async fn class_thumbnail(
    caller: LegacyCaller,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(path): ApiPath<ClassPath>,
) -> ApiResult<Response> {
    let id = caller.proposal(&state, &path.proposal).await?;
    let found = db_em::class_image(&state.db, &caller.access, id, path.class_id).await?;
    send(&state, &headers, found, false).await
}

// ---------------------------------------------------------------------------------------
// py-ISPyB's header-token twins

/// E1 (py-ISPyB's twin).
#[utoipa::path(get, path = "/em/proposal/{proposal}/datacollection/{dataCollectionId}/movies", tag = "Legacy (Java ISPyB)",
    operation_id = "get_legacy_em_movies",
    params(("proposal" = String, Path, description = PROPOSAL_DOC), ("dataCollectionId" = u32, Path, description = "Data collection id")),
    responses((status = 200, body = Vec<Object>), (status = 403, body = crate::error::ErrorBody)),
    security(("HTTPBearer" = [])))]
pub async fn py_movies(
    caller: LegacyCaller,
    state: State<AppState>,
    path: ApiPath<CollectionPath>,
) -> ApiResult<Response> {
    py_only(&caller)?;
    movies(caller, state, path).await
}

/// E2 (py-ISPyB's twin; the data collection is not in the path).
#[utoipa::path(get, path = "/em/proposal/{proposal}/movie/{movieId}/thumbnail", tag = "Legacy (Java ISPyB)",
    operation_id = "get_legacy_em_movie_thumbnail",
    params(("proposal" = String, Path, description = PROPOSAL_DOC), ("movieId" = u32, Path, description = "Movie id")),
    responses((status = 200, description = "The image", content_type = "image/*"), (status = 404, body = crate::error::ErrorBody)),
    security(("HTTPBearer" = [])))]
pub async fn py_movie_thumbnail(
    caller: LegacyCaller,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(p): ApiPath<PyMoviePath>,
) -> ApiResult<Response> {
    py_only(&caller)?;
    movie_file(&caller, &state, &headers, &p.proposal, None, p.movie_id, MovieFile::Thumbnail).await
}

/// E3 (py-ISPyB's twin).
#[utoipa::path(get, path = "/em/proposal/{proposal}/movie/{movieId}/thumbnail/motioncorrection", tag = "Legacy (Java ISPyB)",
    operation_id = "get_legacy_em_motion_correction_thumbnail",
    params(("proposal" = String, Path, description = PROPOSAL_DOC), ("movieId" = u32, Path, description = "Movie id")),
    responses((status = 200, description = "The image", content_type = "image/*"), (status = 404, body = crate::error::ErrorBody)),
    security(("HTTPBearer" = [])))]
pub async fn py_motion_correction_thumbnail(
    caller: LegacyCaller,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(p): ApiPath<PyMoviePath>,
) -> ApiResult<Response> {
    py_only(&caller)?;
    movie_file(&caller, &state, &headers, &p.proposal, None, p.movie_id, MovieFile::Micrograph).await
}

/// E4 (py-ISPyB's twin), as a file.
#[utoipa::path(get, path = "/em/proposal/{proposal}/movie/{movieId}/thumbnail/ctf", tag = "Legacy (Java ISPyB)",
    operation_id = "get_legacy_em_ctf_thumbnail",
    params(("proposal" = String, Path, description = PROPOSAL_DOC), ("movieId" = u32, Path, description = "Movie id")),
    responses((status = 200, description = "The image", content_type = "image/*"), (status = 404, body = crate::error::ErrorBody)),
    security(("HTTPBearer" = [])))]
pub async fn py_ctf_thumbnail(
    caller: LegacyCaller,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(p): ApiPath<PyMoviePath>,
) -> ApiResult<Response> {
    py_only(&caller)?;
    movie_file(&caller, &state, &headers, &p.proposal, None, p.movie_id, MovieFile::CtfSpectrum).await
}

/// E5 (py-ISPyB's twin).
#[utoipa::path(get, path = "/em/proposal/{proposal}/movie/{movieId}/plot/motioncorrectiondrift", tag = "Legacy (Java ISPyB)",
    operation_id = "get_legacy_em_drift",
    params(("proposal" = String, Path, description = PROPOSAL_DOC), ("movieId" = u32, Path, description = "Movie id")),
    responses((status = 200, description = "The plot", content_type = "image/png"), (status = 404, body = crate::error::ErrorBody)),
    security(("HTTPBearer" = [])))]
pub async fn py_drift(
    caller: LegacyCaller,
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiPath(p): ApiPath<PyMoviePath>,
) -> ApiResult<Response> {
    py_only(&caller)?;
    movie_file(&caller, &state, &headers, &p.proposal, None, p.movie_id, MovieFile::Drift).await
}

/// E6 (py-ISPyB's twin): the session decides (404 when it is not visible).
#[utoipa::path(get, path = "/em/session/{sessionId}/stats", tag = "Legacy (Java ISPyB)", operation_id = "get_legacy_em_session_stats",
    params(("sessionId" = u32, Path, description = "Session id")),
    responses((status = 200, body = Vec<Object>), (status = 404, body = crate::error::ErrorBody)),
    security(("HTTPBearer" = [])))]
pub async fn py_session_stats(
    caller: LegacyCaller,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<PySessionPath>,
) -> ApiResult<Response> {
    py_only(&caller)?;
    if ispyb_db::legacy::visible_session_proposal(&state.db, &caller.access, path.session_id).await?.is_none() {
        return Err(ApiError::NotFound("Session not found".into()));
    }
    let rows = db_em::session_stats(&state.db, &caller.access, None, path.session_id, caller.mount.dates()).await?;
    Ok(caller.mount.streamed(rows))
}

/// E7 (py-ISPyB's path, with every id counted).
#[utoipa::path(get, path = "/em/proposal/{proposal}/data_collections/{dataCollectionId}/stats", tag = "Legacy (Java ISPyB)",
    operation_id = "get_legacy_em_collection_stats",
    params(("proposal" = String, Path, description = PROPOSAL_DOC),
        ("dataCollectionId" = String, Path, description = "Data collection ids, comma-separated")),
    responses((status = 200, body = Vec<Object>), (status = 403, body = crate::error::ErrorBody)),
    security(("HTTPBearer" = [])))]
pub async fn py_collection_stats(
    caller: LegacyCaller,
    state: State<AppState>,
    path: ApiPath<CollectionPath>,
) -> ApiResult<Json<Value>> {
    py_only(&caller)?;
    collection_stats(caller, state, path).await
}

/// E8: the EM counts of every data collection of a group (py-ISPyB only).
#[utoipa::path(get, path = "/em/proposal/{proposal}/data_collections_group/{dataCollectionGroupId}/stats",
    tag = "Legacy (Java ISPyB)", operation_id = "get_legacy_em_group_stats",
    params(("proposal" = String, Path, description = PROPOSAL_DOC),
        ("dataCollectionGroupId" = u32, Path, description = "Data collection group id")),
    responses((status = 200, body = Vec<Object>), (status = 403, body = crate::error::ErrorBody)),
    security(("HTTPBearer" = [])))]
pub async fn py_group_stats(
    caller: LegacyCaller,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<GroupPath>,
) -> ApiResult<Json<Value>> {
    py_only(&caller)?;
    let id = caller.proposal(&state, &path.proposal).await?;
    let rows =
        db_em::stats(&state.db, &caller.access, id, &StatsOf::Groups(vec![path.data_collection_group_id])).await?;
    Ok(caller.mount.rows(rows, false))
}

/// E9 (py-ISPyB's twin, one session).
#[utoipa::path(get, path = "/em/proposal/{proposal}/session/{sessionId}/data_collections/groups", tag = "Legacy (Java ISPyB)",
    operation_id = "get_legacy_em_session_groups",
    params(("proposal" = String, Path, description = PROPOSAL_DOC), ("sessionId" = u32, Path, description = "Session id")),
    responses((status = 200, body = Vec<Object>), (status = 403, body = crate::error::ErrorBody)),
    security(("HTTPBearer" = [])))]
pub async fn py_session_groups(
    caller: LegacyCaller,
    state: State<AppState>,
    path: ApiPath<SessionPath>,
) -> ApiResult<Json<Value>> {
    py_only(&caller)?;
    session_groups(caller, state, path).await
}

/// E10 (py-ISPyB's twin): the session decides (404 when it is not visible).
#[utoipa::path(get, path = "/em/session/{sessionId}/classification", tag = "Legacy (Java ISPyB)",
    operation_id = "get_legacy_em_classification",
    params(("sessionId" = u32, Path, description = "Session id")),
    responses((status = 200, body = Vec<Object>), (status = 404, body = crate::error::ErrorBody)),
    security(("HTTPBearer" = [])))]
pub async fn py_classification(
    caller: LegacyCaller,
    State(state): State<AppState>,
    ApiPath(path): ApiPath<PySessionPath>,
) -> ApiResult<Json<Value>> {
    py_only(&caller)?;
    if ispyb_db::legacy::visible_session_proposal(&state.db, &caller.access, path.session_id).await?.is_none() {
        return Err(ApiError::NotFound("Session not found".into()));
    }
    let rows = db_em::classification(&state.db, &caller.access, None, path.session_id, caller.mount.dates()).await?;
    Ok(caller.mount.rows(rows, false))
}

/// E11 (a header-token form; py-ISPyB had none).
#[utoipa::path(get, path = "/em/proposal/{proposal}/classification/{particleClassificationId}/thumbnail",
    tag = "Legacy (Java ISPyB)", operation_id = "get_legacy_em_class_thumbnail",
    params(("proposal" = String, Path, description = PROPOSAL_DOC), ("particleClassificationId" = u32, Path, description = "Class id")),
    responses((status = 200, description = "The image", content_type = "image/*"), (status = 404, body = crate::error::ErrorBody)),
    security(("HTTPBearer" = [])))]
pub async fn py_class_thumbnail(
    caller: LegacyCaller,
    state: State<AppState>,
    headers: HeaderMap,
    path: ApiPath<ClassPath>,
) -> ApiResult<Response> {
    py_only(&caller)?;
    class_thumbnail(caller, state, headers, path).await
}
